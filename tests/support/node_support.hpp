// What the node tests share: free loopback ports, and the log sink they turn on with
// REVENANT_NODE_TEST_LOG.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>

#include "runtime/log.hpp"

namespace revenant::test {

// A port of 127.0.0.1 free now (a node, here or in a child, will listen on it — often again and
// again, as the crash tests restart it). Below the kernel's ephemeral range (32768 and up on
// Linux): a port from that range, free between two starts of a node, can be taken meanwhile as
// the source port of any outgoing connection on the machine (the tests' proxies make many), and
// the node's next start then fails with "address in use". Picked at random, so that tests run in
// parallel rarely try the same one; a port in use is skipped.
inline std::uint16_t free_port() {
  static std::mt19937 pick(std::random_device{}());
  asio::io_context io;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(20000 + pick() % 12000);
    asio::ip::tcp::acceptor probe(io);
    asio::error_code ec;
    probe.open(asio::ip::tcp::v4(), ec);
    if (!ec) probe.bind(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    if (!ec) return port;
  }
  asio::ip::tcp::acceptor probe(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return probe.local_endpoint().port();
}

// A log sink that writes node `self`'s lines to stderr if REVENANT_NODE_TEST_LOG is set, else
// none (the tests stay quiet).
inline log_sink node_test_log(const std::string& self) {
  if (!std::getenv("REVENANT_NODE_TEST_LOG")) return {};
  return [self](log_level, std::string_view line) {
    std::fprintf(stderr, "[%s %lld] %.*s\n", self.c_str(),
                 static_cast<long long>(std::chrono::steady_clock::now().time_since_epoch().count() / 1000000),
                 static_cast<int>(line.size()), line.data());
  };
}

}  // namespace revenant::test
