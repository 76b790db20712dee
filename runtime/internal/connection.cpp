#include "runtime/internal/connection.hpp"

#include <sys/socket.h>

#include <asio/bind_executor.hpp>
#include <asio/defer.hpp>
#include <asio/post.hpp>
#include <asio/ssl/error.hpp>
#include <asio/write.hpp>

namespace revenant::detail {
namespace {

using any_stream = std::variant<asio::ip::tcp::socket, asio::ssl::stream<asio::ip::tcp::socket>>;

any_stream stream_over(asio::ip::tcp::socket socket, tls_context* tls) {
  if (tls == nullptr) return any_stream(std::in_place_index<0>, std::move(socket));
  return any_stream(std::in_place_index<1>, std::move(socket), tls->native());
}

}  // namespace

connection::connection(asio::ip::tcp::socket socket, wire::role side, std::shared_ptr<connection_owner> owner,
                       std::uint32_t max_frame_size, std::string peer, std::chrono::milliseconds handshake_timeout,
                       std::shared_ptr<tls_context> tls)
    : strand_(asio::make_strand(static_cast<asio::io_context&>(socket.get_executor().context()))),
      tls_(std::move(tls)),
      stream_(stream_over(std::move(socket), tls_.get())),
      handshake_timer_(strand_),
      side_(side),
      owner_(std::move(owner)),
      reader_(side, max_frame_size),
      peer_(std::move(peer)),
      handshake_timeout_(handshake_timeout) {
  std::error_code ec;
  const auto remote = tcp().remote_endpoint(ec);
  if (!ec) remote_ = remote.address().to_string() + ":" + std::to_string(remote.port());
  if (tls_) {
    if (side_ == wire::role::dialer) tls_peer_.dialed = peer_;
    tls_->prepare(std::get<tls_stream>(stream_).native_handle(), tls_peer_);
  }
}

connection::~connection() = default;

asio::ip::tcp::socket& connection::tcp() noexcept {
  if (auto* s = std::get_if<tls_stream>(&stream_)) return s->next_layer();
  return std::get<asio::ip::tcp::socket>(stream_);
}

bool connection::established() const noexcept {
  std::lock_guard lock(mutex_);
  return established_;
}

std::string connection::describe() const {
  std::string who = peer_.empty() ? std::string("an unidentified node") : "node \"" + peer_ + "\"";
  if (!remote_.empty()) who += " (" + remote_ + ")";
  return who;
}

void connection::start() {
  asio::post(strand_, [self = shared_from_this()] {
    self->handshake_timer_.expires_after(self->handshake_timeout_);
    self->handshake_timer_.async_wait([self](std::error_code ec) {
      if (!ec && !self->established())
        self->finish("no handshake within " + std::to_string(self->handshake_timeout_.count()) + " ms");
    });
    if (self->tls_)
      self->secure();
    else
      self->begin();
  });
}

void connection::secure() {
  tls_stream& stream = std::get<tls_stream>(stream_);
  const auto as = side_ == wire::role::dialer ? asio::ssl::stream_base::client : asio::ssl::stream_base::server;
  stream.async_handshake(as, asio::bind_executor(strand_, [self = shared_from_this()](std::error_code ec) {
    SSL* ssl = std::get<tls_stream>(self->stream_).native_handle();
    if (ec) return self->finish("TLS handshake failed: " + self->tls_->explain(ssl, self->tls_peer_, ec));
    self->authenticated_ = self->tls_->identity(ssl, self->tls_peer_, self->side_);
    // The dialer talks only to the node it dialed: nothing of the protocol is sent to another.
    if (self->side_ == wire::role::dialer && self->authenticated_ != self->peer_) {
      if (self->authenticated_.empty())
        return self->finish("TLS: the listener proved no node name (not_authenticated)");
      return self->finish("TLS: the listener's certificate names node \"" + self->authenticated_ + "\", not \"" +
                          self->peer_ + "\" (wrong_node)");
    }
    self->begin();
  }));
}

void connection::begin() {
  std::string preface;
  wire::encode_preface(preface);
  send(preface);
  read();
}

bool connection::send(std::string_view frame, std::size_t bound) {
  std::lock_guard lock(mutex_);
  if (over_ || closing_) return false;
  if (bound != 0 && queued_.size() + frame.size() > bound) return false;
  if (!write_pending_ && (flush_deferred_ || send_batch::open())) {
    // In an actor's run: the frame waits for the run's other frames, and they leave together.
    queued_.append(frame);
    if (!flush_deferred_) {
      flush_deferred_ = true;
      send_batch::defer(shared_from_this());
    }
    return true;
  }
  if (!tls_ && !write_pending_) {
    // Nothing is on the wire or waiting: the frame goes to the kernel from this thread, without
    // a hand-over to the strand (a thread wake-up per message, most of a round trip's latency).
    // Safe beside the strand's reads: the socket is closed only after over_ is set under this
    // mutex, and no other write can be running (write_pending_ is false).
    const ssize_t n = ::send(tcp().native_handle(), frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(frame.size())) return true;
    if (n > 0) frame.remove_prefix(static_cast<std::size_t>(n));  // the rest goes the usual way
    // n < 0 (EAGAIN, or an error the strand's next write reports): the usual way too.
  }
  queued_.append(frame);
  if (!write_pending_) {
    write_pending_ = true;
    // Deferred: from a worker, it runs on this thread once the current handler returns, not on
    // a woken one.
    asio::defer(strand_, [self = shared_from_this()] { self->write_more(); });
  }
  return true;
}

void connection::flush() {
  std::lock_guard lock(mutex_);
  flush_deferred_ = false;
  if (over_ || write_pending_ || queued_.empty()) return;
  if (!tls_) {
    // As in send(): nothing else writes now.
    const ssize_t n = ::send(tcp().native_handle(), queued_.data(), queued_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(queued_.size())) {
      queued_.clear();
      return;
    }
    if (n > 0) queued_.erase(0, static_cast<std::size_t>(n));
  }
  write_pending_ = true;
  asio::defer(strand_, [self = shared_from_this()] { self->write_more(); });  // as in send()
}

void connection::close(wire::wire_errc code, std::string text) {
  std::lock_guard lock(mutex_);
  if (over_ || closing_) return;
  closing_ = true;
  if (established_) wire::encode(queued_, wire::goodbye_frame{code, text});
  if (!write_pending_) {
    write_pending_ = true;
    asio::post(strand_, [self = shared_from_this()] { self->write_more(); });
  }
}

void connection::write_more() {
  {
    std::lock_guard lock(mutex_);
    if (over_) return;
    if (queued_.empty()) {
      write_pending_ = false;
      if (!closing_) return;
    } else {
      writing_.clear();
      writing_.swap(queued_);
    }
  }
  if (writing_.empty()) return finish(reason_.empty() ? std::string("closed by this node") : reason_);
  std::visit(
      [&](auto& stream) {
        asio::async_write(stream, asio::buffer(writing_),
                          asio::bind_executor(strand_, [self = shared_from_this()](std::error_code ec, std::size_t) {
                            if (ec) return self->finish("write failed: " + ec.message());
                            self->writing_.clear();
                            self->write_more();
                          }));
      },
      stream_);
}

void connection::read() {
  const std::span<char> room = reader_.prepare();
  std::visit(
      [&](auto& stream) {
        stream.async_read_some(
            asio::buffer(room.data(), room.size()),
            asio::bind_executor(strand_, [self = shared_from_this()](std::error_code ec, std::size_t n) {
              if (ec) {
                // Over TLS, a peer that closes without TLS's own close_notify (as nodes do: goodbye
                // is the protocol's) reads as a truncated stream.
                const bool closed = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
                if (closed) return self->finish("the peer closed the connection");
                // TLS 1.3: a dialer's handshake is over before the listener has checked its
                // certificate; the listener's verdict is an alert read here.
                if (self->tls_ && !self->established() && ec.category() == asio::error::get_ssl_category())
                  return self->finish("TLS handshake failed: " +
                                      self->tls_->explain(std::get<tls_stream>(self->stream_).native_handle(),
                                                          self->tls_peer_, ec));
                return self->finish("read failed: " + ec.message());
              }
              self->handle(n);
            }));
      },
      stream_);
}

void connection::handle(std::size_t n) {
  reader_.commit(n);
  heard_.store(true, std::memory_order_relaxed);
  try {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (over_) return;
      }
      const wire::read_event e = reader_.next();
      if (e.status == wire::read_status::need_bytes) break;
      if (e.status == wire::read_status::preface) {
        if (side_ == wire::role::dialer) {
          std::string hello;
          owner_->encode_hello(*this, hello, reader_.version());
          send(hello);
        }
        continue;
      }
      if (!reader_.handshake_done() || e.got.kind == wire::frame_kind::welcome ||
          e.got.kind == wire::frame_kind::hello || e.got.kind == wire::frame_kind::refuse) {
        on_handshake_frame(e.got);
      } else if (e.got.kind == wire::frame_kind::goodbye) {
        const wire::goodbye_frame bye = wire::decode_goodbye(e.got);
        return finish("the peer said goodbye (" + std::string(wire::to_string(bye.code)) + ": " + std::string(bye.text) +
                      ")");
      } else {
        owner_->on_frame(*this, e.got);
      }
    }
  } catch (const wire::wire_error& e) {
    // Bad bytes from the peer end this connection, never the process; the peer hears why (if
    // it still reads), and nothing more of what it sends is read.
    reason_ = e.with_subject(describe()).what();
    return close(e.code(), e.what());
  } catch (const std::exception& e) {
    reason_ = std::string("a frame from ") + describe() + " could not be handled: " + e.what();
    return close(wire::wire_errc::malformed_frame, e.what());
  }
  read();
}

void connection::on_handshake_frame(const wire::frame& f) {
  if (side_ == wire::role::listener) {
    const wire::hello_frame hello = wire::decode_hello(f);
    auto answer = owner_->on_hello(*this, hello);
    if (auto* refused = std::get_if<refusal>(&answer)) {
      reason_ = "its hello was refused (" + std::string(wire::to_string(refused->code)) + ": " + refused->text + ")";
      std::string out;
      wire::encode(out, wire::refuse_frame{refused->code, refused->text});
      send(out);
      std::lock_guard lock(mutex_);
      closing_ = true;  // the refusal is written, then the socket closed
      return;
    }
    peer_ = std::string(hello.node);
    peer_id_ = hello.id;
    peer_incarnation_ = hello.incarnation;
    peer_max_frame_ = hello.max_frame_size;
    std::string out;
    wire::encode(out, std::get<wire::welcome_frame>(answer));
    send(out);
    {
      std::lock_guard lock(mutex_);
      established_ = true;
    }
    handshake_timer_.cancel();
    return;
  }
  if (f.kind == wire::frame_kind::refuse) {
    const wire::refuse_frame refused = wire::decode_refuse(f);
    return finish("refused by " + describe() + ": " + std::string(wire::to_string(refused.code)) + ": " +
                  std::string(refused.text));
  }
  const wire::welcome_frame welcome = wire::decode_welcome(f);
  peer_id_ = welcome.id;
  peer_incarnation_ = welcome.incarnation;
  peer_max_frame_ = welcome.max_frame_size;
  {
    std::lock_guard lock(mutex_);
    established_ = true;
  }
  handshake_timer_.cancel();
  if (const auto refused = owner_->on_welcome(*this, welcome)) close(*refused, std::string(wire::to_string(*refused)));
}

void connection::finish(const std::string& why) {
  {
    std::lock_guard lock(mutex_);
    if (over_) return;
    over_ = true;
    queued_.clear();
  }
  handshake_timer_.cancel();
  std::error_code ignored;
  tcp().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  tcp().close(ignored);
  owner_->on_closed(*this, why);
}

}  // namespace revenant::detail
