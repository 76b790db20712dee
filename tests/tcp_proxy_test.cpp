// The fault proxy does what the fault tests rely on: each control, shown with a plain Asio echo
// server behind it and clients in front of it, all on 127.0.0.1.
#include <catch2/catch.hpp>

#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/tcp_proxy.hpp"

namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;
using revenant::test::tcp_proxy;
using steady = std::chrono::steady_clock;

constexpr auto patience = 5s;  // the longest any step waits for something that should happen

// True once `condition` holds, false if it still does not after `timeout`.
bool eventually(const std::function<bool()>& condition, steady::duration timeout = patience) {
  const auto deadline = steady::now() + timeout;
  while (!condition()) {
    if (steady::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// An echo server on 127.0.0.1 with its own thread. Closes a connection when its client does,
// and records how each connection ended.
class echo_server {
 public:
  echo_server() : acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~echo_server() {
    asio::post(io_, [this] {
      stopping_ = true;
      asio::error_code ignored;
      acceptor_.close(ignored);
      for (auto& s : sockets_) s->close(ignored);
    });
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::size_t connections() const { return accepted_.load(); }
  // How the connections that ended did end (eof, connection_reset, ...), in order.
  std::vector<asio::error_code> endings() const {
    std::lock_guard lock(mutex_);
    return endings_;
  }

 private:
  void accept() {
    acceptor_.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
      if (stopping_ || ec) return;
      ++accepted_;
      auto s = std::make_shared<tcp::socket>(std::move(socket));
      sockets_.push_back(s);
      echo(s, std::make_shared<std::array<char, 4096>>());
      accept();
    });
  }
  void echo(const std::shared_ptr<tcp::socket>& s, const std::shared_ptr<std::array<char, 4096>>& buf) {
    s->async_read_some(asio::buffer(*buf), [this, s, buf](const asio::error_code& ec, std::size_t n) {
      if (ec) return ended(*s, ec);
      asio::async_write(*s, asio::buffer(buf->data(), n), [this, s, buf](const asio::error_code& wec, std::size_t) {
        if (wec) return ended(*s, wec);
        echo(s, buf);
      });
    });
  }
  // Closes a connection its client ended (or that failed), and records how it ended.
  void ended(tcp::socket& s, const asio::error_code& ec) {
    if (stopping_) return;
    asio::error_code ignored;
    s.close(ignored);
    std::lock_guard lock(mutex_);
    endings_.push_back(ec);
  }

  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<std::size_t> accepted_{0};
  bool stopping_ = false;                           // the server's thread only
  std::vector<std::shared_ptr<tcp::socket>> sockets_;  // the server's thread only
  mutable std::mutex mutex_;
  std::vector<asio::error_code> endings_;  // guarded by mutex_
};

// A client whose every wait has a deadline.
class client {
 public:
  struct outcome {
    std::string bytes;     // what arrived
    asio::error_code ec;   // how the read ended, if it did
    bool timed_out = false;
  };

  explicit client(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  }

  // Writes `bytes`, or as much of it as the connection takes within `timeout`; returns that.
  std::size_t send(const std::string& bytes, steady::duration timeout = patience) {
    std::size_t written = 0;
    asio::async_write(socket_, asio::buffer(bytes), [&](const asio::error_code&, std::size_t n) { written = n; });
    run_for(timeout);
    return written;
  }

  // Reads `n` bytes, or what arrives until the connection ends or `timeout` passes.
  outcome read(std::size_t n, steady::duration timeout = patience) {
    outcome result;
    std::string buffer(n, '\0');
    bool done = false;
    asio::async_read(socket_, asio::buffer(buffer), [&](const asio::error_code& ec, std::size_t got) {
      done = true;
      result.ec = ec;
      buffer.resize(got);
    });
    run_for(timeout);
    result.timed_out = !done || result.ec == asio::error::operation_aborted;
    if (result.timed_out) result.ec = {};
    result.bytes = buffer;
    return result;
  }

  // Sends `bytes` and reads the echo.
  std::string exchange(const std::string& bytes) {
    send(bytes);
    return read(bytes.size()).bytes;
  }

  void close() { socket_.close(); }

 private:
  // Runs the pending operation for at most `timeout`, then cancels it and lets it complete.
  void run_for(steady::duration timeout) {
    io_.restart();
    io_.run_for(timeout);
    if (!io_.stopped()) {
      socket_.cancel();
      io_.restart();
      io_.run();
    }
  }

  asio::io_context io_{1};
  tcp::socket socket_;
};

bool ended_with(const client::outcome& o, const asio::error_code& ec) { return !o.timed_out && o.ec == ec; }

}  // namespace

TEST_CASE("the proxy forwards bytes both ways between 127.0.0.1 endpoints and counts connections and bytes") {
  echo_server server;
  tcp_proxy proxy(server.port());
  REQUIRE(proxy.port() != 0);
  REQUIRE(proxy.port() != server.port());

  client c(proxy.port());
  REQUIRE(c.exchange("hello") == "hello");
  REQUIRE(c.exchange(std::string(100'000, 'x')) == std::string(100'000, 'x'));
  REQUIRE(eventually([&] { return proxy.bytes_to_target() == 100'005 && proxy.bytes_to_client() == 100'005; }));
  REQUIRE(proxy.connections_accepted() == 1);
  REQUIRE(proxy.open_connections() == 1);
  REQUIRE(server.connections() == 1);

  // A client that closes is seen closing by the server, and the proxy lets the connection go.
  c.close();
  REQUIRE(eventually([&] { return server.endings().size() == 1; }));
  REQUIRE(server.endings()[0] == asio::error::eof);
  REQUIRE(eventually([&] { return proxy.open_connections() == 0; }));
  REQUIRE(proxy.bytes_held() == 0);
}

TEST_CASE("a proxy delay holds every chunk that long in both directions") {
  echo_server server;
  tcp_proxy proxy(server.port());
  client c(proxy.port());
  REQUIRE(c.exchange("warm") == "warm");

  proxy.delay(200ms);
  auto start = steady::now();
  REQUIRE(c.exchange("ping") == "ping");
  REQUIRE(steady::now() - start >= 400ms);  // 200 ms each way

  proxy.delay(0ms);
  start = steady::now();
  REQUIRE(c.exchange("pong") == "pong");
  REQUIRE(steady::now() - start < 400ms);
}

TEST_CASE("a proxy delay keeps the order of chunks even when it is shortened") {
  echo_server server;
  tcp_proxy proxy(server.port());
  client c(proxy.port());
  REQUIRE(c.exchange("warm") == "warm");

  proxy.delay(300ms);
  c.send("a");
  REQUIRE(eventually([&] { return proxy.bytes_held() == 1; }));  // "a" is held for 300 ms
  proxy.delay(0ms);
  c.send("b");  // due at once, but behind "a"
  const auto echoed = c.read(2);
  REQUIRE(echoed.bytes == "ab");
}

TEST_CASE("cutting the proxy closes every open connection on both sides, and new connections still go through") {
  echo_server server;
  tcp_proxy proxy(server.port());
  client first(proxy.port());
  client second(proxy.port());
  REQUIRE(first.exchange("1") == "1");
  REQUIRE(second.exchange("2") == "2");

  proxy.cut();
  REQUIRE(proxy.open_connections() == 0);
  REQUIRE(ended_with(first.read(1), asio::error::eof));
  REQUIRE(ended_with(second.read(1), asio::error::eof));
  REQUIRE(eventually([&] { return server.endings().size() == 2; }));
  for (const auto& ec : server.endings()) REQUIRE(ec == asio::error::eof);

  client third(proxy.port());
  REQUIRE(third.exchange("3") == "3");
  REQUIRE(proxy.connections_accepted() == 3);
}

TEST_CASE("resetting the proxy's connections makes both sides read a connection reset") {
  echo_server server;
  tcp_proxy proxy(server.port());
  client c(proxy.port());
  REQUIRE(c.exchange("hello") == "hello");

  proxy.reset();
  REQUIRE(ended_with(c.read(1), asio::error::connection_reset));
  REQUIRE(eventually([&] { return server.endings().size() == 1; }));
  REQUIRE(server.endings()[0] == asio::error::connection_reset);

  client again(proxy.port());
  REQUIRE(again.exchange("again") == "again");
}

TEST_CASE("a blackholed proxy keeps connections open but forwards nothing until it is lifted") {
  echo_server server;
  tcp_proxy proxy(server.port());
  client c(proxy.port());
  REQUIRE(c.exchange("hello") == "hello");

  proxy.blackhole(true);
  REQUIRE(c.send("lost") == 4);
  const auto silence = c.read(4, 300ms);
  REQUIRE(silence.timed_out);
  REQUIRE(silence.bytes.empty());

  client newcomer(proxy.port());  // accepted, and as silent
  REQUIRE(newcomer.send("also lost") == 9);
  REQUIRE(newcomer.read(1, 300ms).timed_out);
  REQUIRE(eventually([&] { return server.connections() == 2; }));
  REQUIRE(eventually([&] { return proxy.bytes_dropped() == 4 + 9; }));
  REQUIRE(proxy.bytes_to_target() == 5);
  REQUIRE(server.endings().empty());

  proxy.blackhole(false);
  REQUIRE(c.exchange("back") == "back");  // "lost" never reached the server
  REQUIRE(newcomer.exchange("here") == "here");
}

TEST_CASE("a refusing proxy resets new connections at once and leaves open ones alone") {
  echo_server server;
  tcp_proxy proxy(server.port());
  client established(proxy.port());
  REQUIRE(established.exchange("hello") == "hello");

  proxy.refuse(true);
  client refused(proxy.port());
  const auto outcome = refused.read(1);
  REQUIRE_FALSE(outcome.timed_out);
  REQUIRE(outcome.ec == asio::error::connection_reset);
  REQUIRE(proxy.connections_refused() == 1);
  REQUIRE(established.exchange("still") == "still");

  proxy.refuse(false);
  client later(proxy.port());
  REQUIRE(later.exchange("later") == "later");
  REQUIRE(proxy.connections_accepted() == 2);
  REQUIRE(server.connections() == 2);
}

TEST_CASE("the proxy closes connections beyond its limit at once") {
  echo_server server;
  tcp_proxy proxy(server.port(), tcp_proxy::limits{2, 256 * 1024});
  client first(proxy.port());
  client second(proxy.port());
  REQUIRE(first.exchange("1") == "1");
  REQUIRE(second.exchange("2") == "2");

  client third(proxy.port());
  REQUIRE(ended_with(third.read(1), asio::error::connection_reset));
  REQUIRE(proxy.connections_refused() == 1);

  first.close();
  REQUIRE(eventually([&] { return proxy.open_connections() == 1; }));
  client fourth(proxy.port());
  REQUIRE(fourth.exchange("4") == "4");
}

TEST_CASE("the proxy holds at most its buffer per direction, and TCP pushes back on the sender") {
  constexpr std::size_t buffer = 64 * 1024;
  echo_server server;
  auto proxy = std::make_unique<tcp_proxy>(server.port(), tcp_proxy::limits{4, buffer});
  client c(proxy->port());
  REQUIRE(c.exchange("hello") == "hello");

  proxy->delay(10s);  // everything read from now on is held
  const std::string flood(32 * 1024 * 1024, 'f');
  const std::size_t written = c.send(flood, 1s);
  REQUIRE(written < flood.size());  // the sender was held back
  REQUIRE(eventually([&] { return proxy->bytes_held() == buffer; }));
  std::this_thread::sleep_for(100ms);
  REQUIRE(proxy->bytes_held() == buffer);  // and stays there
  REQUIRE(proxy->bytes_to_target() == 5);

  // Held bytes and their timers do not keep the proxy from stopping.
  const auto start = steady::now();
  proxy.reset();
  REQUIRE(steady::now() - start < 2s);
}

TEST_CASE("a proxy destroyed with connections open closes them") {
  echo_server server;
  auto proxy = std::make_unique<tcp_proxy>(server.port());
  client c(proxy->port());
  REQUIRE(c.exchange("hello") == "hello");

  proxy.reset();
  REQUIRE(ended_with(c.read(1), asio::error::eof));
  REQUIRE(eventually([&] { return server.endings().size() == 1; }));
}
