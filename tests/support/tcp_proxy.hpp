// A TCP proxy for fault tests: it stands between two endpoints on 127.0.0.1 and, on command,
// delays, cuts, resets, blackholes or refuses their connections.
//
// The proxy listens on 127.0.0.1 (never any other address) on a port of its own, and forwards
// each connection it accepts to 127.0.0.1:<target port>. It runs on its own thread; every
// member function may be called from any other thread at any time. It holds at most
// `max_connections` connections and, per connection and direction, at most `buffer_bytes`
// read but not yet forwarded (then it stops reading, and TCP pushes back on the sender). The
// destructor closes everything and joins the thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace revenant::test {

class tcp_proxy {
 public:
  struct limits {
    std::size_t max_connections = 64;     // more are closed as soon as they are accepted
    std::size_t buffer_bytes = 256 * 1024;  // held per connection and direction, at most
  };

  // Starts listening at once; throws std::system_error if it cannot.
  explicit tcp_proxy(std::uint16_t target_port);
  tcp_proxy(std::uint16_t target_port, limits bounds);
  ~tcp_proxy();
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  // The 127.0.0.1 port clients connect to instead of the target's.
  std::uint16_t port() const;

  // Every chunk read from now on, in either direction, is forwarded `d` after it was read;
  // order is kept (a chunk never overtakes one read before it). Zero forwards at once.
  void delay(std::chrono::milliseconds d);

  // Closes every open connection on both sides at once (each side reads EOF, or a reset if
  // the proxy had bytes from it still unread), dropping what was held. New connections are
  // still accepted. Returns once they are closed.
  void cut();

  // As cut(), but with a TCP reset (SO_LINGER 0): each side reads "connection reset".
  void reset();

  // While on, connections stay up and are read from, but nothing is forwarded in either
  // direction: what is read meanwhile, or was held and comes due, is dropped (a partition
  // that TCP does not notice). New connections are accepted and connected to the target.
  void blackhole(bool on);

  // While on, each new connection is reset as soon as it is accepted (what a peer sees of a
  // node that is down, short of a refused SYN). Open connections are left alone.
  void refuse(bool on);

  // Connections accepted and forwarded to the target (not those refused or over the limit).
  std::uint64_t connections_accepted() const;
  // Connections closed at once: while refusing, or over max_connections.
  std::uint64_t connections_refused() const;
  // Connections currently open.
  std::size_t open_connections() const;
  // Bytes written to the target (client to target) and to clients (target to client).
  std::uint64_t bytes_to_target() const;
  std::uint64_t bytes_to_client() const;
  // Bytes read and held, not yet forwarded nor dropped, over all connections and directions.
  std::size_t bytes_held() const;
  // Bytes read and dropped: while blackholed, or held by a connection when it was closed.
  std::uint64_t bytes_dropped() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace revenant::test
