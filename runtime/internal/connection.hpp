// One TCP connection between two nodes (docs/wire.md 2 to 5, 9): TLS if the node has it, the
// preface, the handshake, then frames both ways. It reads the peer's bytes through a wire::frame_reader and hands each frame
// to its owner (the node); it writes what it is given, in order, batching whatever queued while
// the previous write was on the wire. Any bad byte from the peer, a timeout or an I/O error ends
// this connection only. Thread-safe: send() and close() from any thread; everything that touches
// the socket runs on the connection's strand.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

#include "actors/actor.hpp"
#include "runtime/internal/send_batch.hpp"
#include "runtime/internal/tls.hpp"
#include "storage/wire.hpp"

namespace revenant::detail {

class connection;

// Why a listener refuses a hello: the refuse frame's code and text (docs/wire.md 4.3).
struct refusal {
  wire::wire_errc code;
  std::string text;
};

// What a connection reports to, and asks of, the node it belongs to. Called on the connection's
// strand.
class connection_owner {
 public:
  // Listener: the dialer's hello; the welcome to answer with, or why it is refused.
  virtual std::variant<wire::welcome_frame, refusal> on_hello(connection& c, const wire::hello_frame& h) = 0;
  // Dialer: appends its hello, in the version the prefaces chose.
  virtual void encode_hello(connection& c, std::string& out, std::uint16_t version) = 0;
  // Dialer: the listener's welcome; nothing if it is accepted, else why not (sent as goodbye).
  virtual std::optional<wire::wire_errc> on_welcome(connection& c, const wire::welcome_frame& w) = 0;
  // A frame after the handshake (goodbye and refuse are the connection's own).
  virtual void on_frame(connection& c, const wire::frame& f) = 0;
  // The connection is over (once): why, for the log.
  virtual void on_closed(connection& c, const std::string& why) = 0;

 protected:
  ~connection_owner() = default;
};

class connection final : public std::enable_shared_from_this<connection>, public send_batch::flusher {
 public:
  using strand = asio::strand<asio::io_context::executor_type>;

  // socket: connected, made on its own strand (strand_of). peer: the node a dialer dialed
  // (empty for the listener, which learns it from the hello). tls: the node's, or null for a
  // plaintext link. handshake_timeout bounds the TLS handshake and the wire handshake together.
  connection(asio::ip::tcp::socket socket, wire::role side, std::shared_ptr<connection_owner> owner,
             std::uint32_t max_frame_size, std::string peer, std::chrono::milliseconds handshake_timeout,
             std::shared_ptr<tls_context> tls = nullptr);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Runs the TLS handshake (if any; a dialer then checks that the listener proved to be the node
  // it dialed), sends the preface and starts reading.
  void start();
  // Queues an encoded frame; false (nothing queued) if the connection is over, or if bound is
  // set and the bytes waiting would pass it.
  bool send(std::string_view frame, std::size_t bound = 0);
  // Sends goodbye(code, text) if the handshake is done, then closes. Idempotent.
  void close(wire::wire_errc code, std::string text);

  wire::role side() const noexcept { return side_; }
  // The protocol version the prefaces chose (set on the strand before the first frame is read).
  std::uint16_t version() const noexcept { return reader_.version(); }
  // The peer's node name, once its hello or welcome arrived (set on the strand before
  // established() is true).
  const std::string& peer() const noexcept { return peer_; }
  // Whether the link runs over TLS, and the node name the peer's TLS handshake proved (its
  // certificate's, or its pre-shared key's; empty if none). Set on the strand before the first
  // frame is read.
  bool secured() const noexcept { return tls_ != nullptr; }
  const std::string& authenticated_as() const noexcept { return authenticated_; }
  bool established() const noexcept;
  // The largest frame body the peer accepts (from its handshake frame).
  std::uint32_t peer_max_frame_size() const noexcept { return peer_max_frame_; }
  std::uint64_t peer_incarnation() const noexcept { return peer_incarnation_; }
  const wire::node_id& peer_id() const noexcept { return peer_id_; }
  std::string describe() const;
  // send_batch::flusher: writes what queued during the batch.
  void flush() override;
  // The owner's memo of the last sender named in a frame on this connection (touched on the
  // strand only, while handling a frame).
  struct sender_memo {
    std::string name;
    std::shared_ptr<actor_base> actor;
  };
  sender_memo& last_sender() noexcept { return last_sender_; }
  // The owner's memo of the `moved` notices it sent on this connection (strand only): when it
  // last told the peer where each actor went.
  using notice_memo = std::unordered_map<std::string, std::chrono::steady_clock::time_point>;
  notice_memo& told_moved() noexcept { return told_moved_; }
  // For the node's heartbeat, called once per tick (by one thread at a time): how many calls in
  // a row, this one included, came with nothing read from the peer since the call before.
  std::uint32_t quiet_ticks() noexcept {
    if (heard_.exchange(false, std::memory_order_relaxed)) {
      quiet_.store(0, std::memory_order_relaxed);
      return 0;
    }
    const std::uint32_t n = quiet_.load(std::memory_order_relaxed) + 1;
    quiet_.store(n, std::memory_order_relaxed);
    return n;
  }

 private:
  using tls_stream = asio::ssl::stream<asio::ip::tcp::socket>;

  void secure();  // on the strand: the TLS handshake, then begin()
  void begin();   // on the strand: the preface out, reading in
  asio::ip::tcp::socket& tcp() noexcept;
  void read();
  void handle(std::size_t n);
  void on_handshake_frame(const wire::frame& f);
  void write_more();  // on the strand: takes what queued and writes it
  void finish(const std::string& why);  // on the strand: closes at once, tells the owner

  strand strand_;
  const std::shared_ptr<tls_context> tls_;
  // A plain socket, or TLS over it: one of the two for the connection's life.
  std::variant<asio::ip::tcp::socket, tls_stream> stream_;
  tls_peer tls_peer_;          // strand: what the TLS handshake learned
  std::string authenticated_;  // strand, then read-only: the node name the TLS peer proved
  std::string remote_;         // the peer's address and port, kept for logs after the socket closes
  asio::steady_timer handshake_timer_;
  const wire::role side_;
  const std::shared_ptr<connection_owner> owner_;
  wire::frame_reader reader_;
  std::string peer_;
  std::uint32_t peer_max_frame_ = wire::lowest_max_frame_size;
  std::uint64_t peer_incarnation_ = 0;
  wire::node_id peer_id_{};
  std::chrono::milliseconds handshake_timeout_;
  std::string reason_;  // strand: why this node closed it (a protocol error), for on_closed
  sender_memo last_sender_;             // strand
  notice_memo told_moved_;              // strand
  std::atomic<bool> heard_{false};     // bytes were read since the last quiet_ticks()
  std::atomic<std::uint32_t> quiet_{0};  // quiet_ticks()'s count

  mutable std::mutex mutex_;
  std::string queued_;    // guarded by mutex_: frames waiting for the next write
  std::string writing_;   // strand: the bytes on the wire now
  bool write_pending_ = false;  // guarded by mutex_: a write is on the wire or posted
  bool flush_deferred_ = false; // guarded by mutex_: a send_batch of some thread will flush
  bool established_ = false;    // guarded by mutex_
  bool over_ = false;           // guarded by mutex_: nothing more is queued or written
  bool closing_ = false;        // guarded by mutex_: close() asked, goodbye queued
};

}  // namespace revenant::detail
