// What the node tests share: free loopback ports, and the log sink they turn on with
// REVENANT_NODE_TEST_LOG.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/log.hpp"

namespace revenant::test {

// A port of 127.0.0.1 free now (a node, here or in a child, will listen on it).
inline std::uint16_t free_port() {
  asio::io_context io;
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
