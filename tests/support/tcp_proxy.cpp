#include "tcp_proxy.hpp"

#include <asio.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <vector>

namespace revenant::test {
namespace {

using asio::ip::tcp;
using steady = std::chrono::steady_clock;

constexpr std::size_t max_read_bytes = 16 * 1024;  // one read, at most
constexpr auto control_timeout = std::chrono::seconds(10);

}  // namespace

struct tcp_proxy::impl {
  // Bytes read from one side, to be written to the other at `due`.
  struct chunk {
    std::vector<char> bytes;
    steady::time_point due;
  };

  // One direction of one connection: reads `from`, holds, writes `to`.
  struct pump {
    pump(asio::io_context& io, tcp::socket& source, tcp::socket& sink, std::atomic<std::uint64_t>& forwarded)
        : from(source), to(sink), counter(forwarded), timer(io) {}
    tcp::socket& from;
    tcp::socket& to;
    std::atomic<std::uint64_t>& counter;
    asio::steady_timer timer;
    std::deque<chunk> queue;  // in the order read; the front is written first
    std::size_t queued_bytes = 0;
    bool reading = false;
    bool writing = false;  // a write or the wait for the front's due time is pending
    bool eof = false;      // `from` has closed its side
    bool shut = false;     // `to` has been told (shutdown of our sending side)
  };

  struct connection {
    explicit connection(asio::io_context& io, tcp::socket accepted, impl& owner)
        : client(std::move(accepted)),
          target(io),
          up(io, client, target, owner.to_target),
          down(io, target, client, owner.to_client) {}
    tcp::socket client;
    tcp::socket target;
    pump up;    // client to target
    pump down;  // target to client
    bool closed = false;
  };
  using connection_ptr = std::shared_ptr<connection>;

  impl(std::uint16_t port, limits bounds)
      : target_port(port),
        bounds_(bounds),
        acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)),
        listening_port(acceptor.local_endpoint().port()) {}

  // ---- on the proxy's thread ----

  void accept() {
    acceptor.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
      if (stopping) return;
      if (!ec) admit(std::move(socket));
      accept();
    });
  }

  void admit(tcp::socket socket) {
    asio::error_code ignored;
    if (refusing.load() || connections.size() >= bounds_.max_connections) {
      ++refused;  // before the client can see it
      socket.set_option(asio::socket_base::linger(true, 0), ignored);
      socket.close(ignored);
      return;
    }
    socket.set_option(tcp::no_delay(true), ignored);
    auto c = std::make_shared<connection>(io, std::move(socket), *this);
    connections.insert(c);
    ++accepted;
    open.store(connections.size());
    c->target.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), target_port),
                            [this, c](const asio::error_code& connect_error) {
                              if (c->closed) return;
                              // A target that is not there looks, from the client, like a
                              // connection the target reset.
                              if (connect_error) return close(c, true);
                              asio::error_code ignore;
                              c->target.set_option(tcp::no_delay(true), ignore);
                              read(c, c->up);
                              read(c, c->down);
                            });
  }

  void read(const connection_ptr& c, pump& p) {
    if (c->closed || p.reading || p.eof || p.queued_bytes >= bounds_.buffer_bytes) return;
    const std::size_t size = std::min(max_read_bytes, bounds_.buffer_bytes - p.queued_bytes);
    auto buffer = std::make_shared<std::vector<char>>(size);
    p.reading = true;
    p.from.async_read_some(asio::buffer(*buffer), [this, c, &p, buffer](const asio::error_code& ec, std::size_t n) {
      p.reading = false;
      if (c->closed) return;
      if (ec == asio::error::eof) {
        p.eof = true;
        return finish(c, p);
      }
      if (ec) return close(c, ec == asio::error::connection_reset);
      if (blackholed.load()) {
        dropped += n;
      } else {
        buffer->resize(n);
        p.queue.push_back(chunk{std::move(*buffer), steady::now() + std::chrono::milliseconds(delay_ms.load())});
        p.queued_bytes += n;
        held += n;
        write(c, p);
      }
      read(c, p);
    });
  }

  void write(const connection_ptr& c, pump& p) {
    if (c->closed || p.writing) return;
    if (!p.queue.empty() && blackholed.load()) {
      while (!p.queue.empty()) {
        dropped += p.queue.front().bytes.size();
        drop_front(p);
      }
      read(c, p);  // it may have stopped on a full buffer
    }
    if (p.queue.empty()) return finish(c, p);
    chunk& front = p.queue.front();
    p.writing = true;
    if (front.due > steady::now()) {
      p.timer.expires_at(front.due);
      p.timer.async_wait([this, c, &p](const asio::error_code&) {
        p.writing = false;
        if (!c->closed) write(c, p);
      });
      return;
    }
    asio::async_write(p.to, asio::buffer(front.bytes), [this, c, &p](const asio::error_code& ec, std::size_t n) {
      p.writing = false;
      if (c->closed) return;
      if (ec) return close(c, ec == asio::error::connection_reset);
      p.counter += n;
      drop_front(p);
      write(c, p);
      read(c, p);  // it may have stopped on a full buffer
    });
  }

  void drop_front(pump& p) {
    const std::size_t n = p.queue.front().bytes.size();
    p.queue.pop_front();
    p.queued_bytes -= n;
    held -= n;
  }

  // Passes an EOF on once everything read before it is forwarded; closes the connection once
  // both sides have closed theirs.
  void finish(const connection_ptr& c, pump& p) {
    if (!p.eof || p.shut || p.writing || !p.queue.empty()) return;
    p.shut = true;
    asio::error_code ignored;
    p.to.shutdown(tcp::socket::shutdown_send, ignored);
    if (c->up.shut && c->down.shut) close(c, false);
  }

  // Closes both sides, with a reset when `rst`, and drops what was held.
  void close(const connection_ptr& c, bool rst) {
    if (c->closed) return;
    c->closed = true;
    asio::error_code ignored;
    for (tcp::socket* s : {&c->client, &c->target}) {
      if (rst) s->set_option(asio::socket_base::linger(true, 0), ignored);
      s->close(ignored);
    }
    for (pump* p : {&c->up, &c->down}) {
      p->timer.cancel();
      held -= p->queued_bytes;
      dropped += p->queued_bytes;
      p->queue.clear();
      p->queued_bytes = 0;
    }
    connections.erase(c);
    open.store(connections.size());
  }

  void close_all(bool rst) {
    const std::vector<connection_ptr> all(connections.begin(), connections.end());
    for (const auto& c : all) close(c, rst);
  }

  // ---- from any thread ----

  // Runs `fn` on the proxy's thread and waits for it (10 s at most: the thread never blocks).
  void run_here(std::function<void()> fn) {
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    asio::post(io, [fn = std::move(fn), done] {
      fn();
      done->set_value();
    });
    if (finished.wait_for(control_timeout) != std::future_status::ready) {
      throw std::runtime_error("tcp_proxy: its thread did not answer within 10 s");
    }
  }

  asio::io_context io{1};
  const std::uint16_t target_port;
  const limits bounds_;
  tcp::acceptor acceptor;
  const std::uint16_t listening_port;
  std::thread thread;

  std::atomic<std::int64_t> delay_ms{0};
  std::atomic<bool> blackholed{false};
  std::atomic<bool> refusing{false};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> to_target{0};
  std::atomic<std::uint64_t> to_client{0};
  std::atomic<std::size_t> open{0};
  std::atomic<std::size_t> held{0};
  std::atomic<std::uint64_t> dropped{0};

  // The proxy's thread only.
  std::unordered_set<connection_ptr> connections;
  bool stopping = false;
};

tcp_proxy::tcp_proxy(std::uint16_t target_port) : tcp_proxy(target_port, limits{}) {}

tcp_proxy::tcp_proxy(std::uint16_t target_port, limits bounds) : impl_(std::make_unique<impl>(target_port, bounds)) {
  impl_->accept();
  impl_->thread = std::thread([i = impl_.get()] { i->io.run(); });
}

tcp_proxy::~tcp_proxy() {
  // Once the acceptor and every connection are closed, no operation is left and run() returns.
  asio::post(impl_->io, [i = impl_.get()] {
    i->stopping = true;
    asio::error_code ignored;
    i->acceptor.close(ignored);
    i->close_all(false);
  });
  impl_->thread.join();
}

std::uint16_t tcp_proxy::port() const { return impl_->listening_port; }

void tcp_proxy::delay(std::chrono::milliseconds d) { impl_->delay_ms.store(d.count()); }

void tcp_proxy::cut() {
  impl_->run_here([i = impl_.get()] { i->close_all(false); });
}

void tcp_proxy::reset() {
  impl_->run_here([i = impl_.get()] { i->close_all(true); });
}

void tcp_proxy::blackhole(bool on) { impl_->blackholed.store(on); }

void tcp_proxy::refuse(bool on) { impl_->refusing.store(on); }

std::uint64_t tcp_proxy::connections_accepted() const { return impl_->accepted.load(); }
std::uint64_t tcp_proxy::connections_refused() const { return impl_->refused.load(); }
std::size_t tcp_proxy::open_connections() const { return impl_->open.load(); }
std::uint64_t tcp_proxy::bytes_to_target() const { return impl_->to_target.load(); }
std::uint64_t tcp_proxy::bytes_to_client() const { return impl_->to_client.load(); }
std::size_t tcp_proxy::bytes_held() const { return impl_->held.load(); }
std::uint64_t tcp_proxy::bytes_dropped() const { return impl_->dropped.load(); }

}  // namespace revenant::test
