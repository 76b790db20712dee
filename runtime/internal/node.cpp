// A node: made from its config (checked here), its lifecycle (start, the heartbeat tick, stop),
// and its links (accept, dial, the handshake's checks, loss). What the links carry is
// node_messages.cpp's; the outbox, routes and migration have their own files.
#include "runtime/internal/node.hpp"

#include <asio/connect.hpp>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>

#include <stdexcept>

#include "actors/internal/access.hpp"
#include "runtime/errors.hpp"
#include "runtime/internal/system.hpp"

namespace revenant::detail {
namespace {

void check_node_name(const std::string& name, const char* what) {
  const bool ok = !name.empty() && name.size() <= wire::max_node_name_size &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                           c == '-' || c == '_';
                  });
  if (!ok)
    throw std::invalid_argument(std::string("revenant: ") + what + " \"" + name +
                                "\" is not a node name (1 to 255 ASCII letters, digits, '.', '-' or '_')");
}

std::vector<std::string> node_names(const node_config& config) {
  std::vector<std::string> names;
  for (const auto& [peer, _] : config.peers) names.push_back(peer);
  return names;
}

std::atomic<std::uint64_t> next_serial{1};  // node::serial_

}  // namespace

node::node(system& sys, node_config config, store::node_identity identity)
    : sys_(sys),
      config_(std::move(config)),
      identity_(identity),
      placement_(config_.name, node_names(config_)),
      acceptor_(*sys.io),
      ticker_(*sys.io),
      serial_(next_serial.fetch_add(1, std::memory_order_relaxed)) {
  check_node_name(config_.name, "node name");
  check_node_name(config_.cluster, "cluster name");
  for (const auto& [peer, address] : config_.peers) {
    check_node_name(peer, "peer name");
    if (peer == config_.name) throw std::invalid_argument("revenant: node \"" + peer + "\" lists itself as a peer");
    peers_[peer].address = address;
  }
  if (config_.tls && config_.plaintext)
    throw std::invalid_argument("revenant: node \"" + config_.name +
                                "\" has both a TLS configuration and node_config::plaintext; links are one or the "
                                "other (unset plaintext to use TLS)");
  if (config_.tls) tls_ = std::make_shared<tls_context>(config_);
  if (!config_.tls && !config_.plaintext)
    throw std::invalid_argument("revenant: node \"" + config_.name +
                                "\" has no TLS configuration: links without it must be asked for "
                                "(node_config::plaintext = true)");
  if (config_.max_frame_size < wire::lowest_max_frame_size || config_.max_frame_size > wire::highest_max_frame_size)
    throw std::invalid_argument("revenant: node \"" + config_.name + "\": max_frame_size " +
                                std::to_string(config_.max_frame_size) + " is outside [64 KiB, 1 GiB]");
  if (config_.heartbeat_interval.count() <= 0 || config_.heartbeat_timeout <= config_.heartbeat_interval)
    throw std::invalid_argument("revenant: node \"" + config_.name + "\": heartbeat_timeout (" +
                                std::to_string(config_.heartbeat_timeout.count()) +
                                " ms) must be longer than a positive heartbeat_interval (" +
                                std::to_string(config_.heartbeat_interval.count()) + " ms)");
  if (config_.max_outbox_memory < 64 * 1024)
    throw std::invalid_argument("revenant: node \"" + config_.name + "\": max_outbox_memory " +
                                std::to_string(config_.max_outbox_memory) + " is below 64 KiB");
}

node::~node() = default;

void node::start() {
  const asio::ip::tcp::endpoint at(asio::ip::make_address(config_.listen.host), config_.listen.port);
  acceptor_.open(at.protocol());
  acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  acceptor_.bind(at);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  accept();
  {
    std::lock_guard lock(mutex_);
    for (auto& [peer, state] : peers_) dial(peer, state);
  }
  ticker_.expires_after(config_.heartbeat_interval);
  ticker_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) self->tick();
  });
}

void node::tick() {
  std::vector<std::shared_ptr<connection>> silent;
  std::vector<pending_send> expired;
  std::vector<std::string> read_back;
  const auto now = std::chrono::steady_clock::now();
  // Ticks in a row with nothing read that make a link silent.
  const auto limit = static_cast<std::uint32_t>(
      (config_.heartbeat_timeout + config_.heartbeat_interval - std::chrono::milliseconds(1)) / config_.heartbeat_interval);
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    for (auto& [peer, state] : peers_) {
      // Outbox entries left in the store with room for them in memory (a read-back that failed,
      // or nothing in flight whose acknowledgement would start one): read them back now.
      if (state.in_store_only && !state.refilling && state.durable_bytes <= config_.max_outbox_memory / 2) {
        state.refilling = true;
        read_back.push_back(peer);
      }
      if (!state.up || !state.out) continue;
      if (state.out->quiet_ticks() >= limit) {
        silent.push_back(state.out);
        continue;
      }
      if (state.ping_sent != 0) continue;  // one unanswered ping at a time
      state.ping_sent = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
      std::string ping;
      wire::encode(ping, wire::ping_frame{state.ping_sent});
      state.out->send(ping);
    }
    for (const auto& c : inbound_)
      if (c->established() && c->quiet_ticks() >= limit) silent.push_back(c);
    for (auto it = sends_.begin(); it != sends_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second));
        it = sends_.erase(it);
      } else {
        ++it;
      }
    }
    ticker_.expires_after(config_.heartbeat_interval);
    ticker_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec) self->tick();
    });
  }
  tick_migrations(now);
  for (auto& peer : read_back) asio::post(*sys_.io, [self = shared_from_this(), peer = std::move(peer)] { self->refill(peer); });
  const std::string silence = "nothing came from the peer for " + std::to_string(config_.heartbeat_timeout.count()) + " ms";
  for (const auto& c : silent) c->close(wire::wire_errc::peer_silent, silence);
  for (auto& s : expired)
    s.ack.set_exception(std::make_exception_ptr(send_unconfirmed(
        s.recipient, s.peer,
        "no answer within " + std::to_string(config_.send_timeout.count()) + " ms" +
            (s.on ? std::string() : " (the node was not reached; the message still waits for its link and may arrive)"))));
}

void node::stop() {
  std::set<std::shared_ptr<connection>> inbound;
  std::vector<std::shared_ptr<connection>> outbound;
  std::unordered_map<std::uint64_t, pending_send> sends;
  std::vector<std::pair<move_out, bool>> moves;
  std::unordered_map<std::uint64_t, move_request> requests;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [_, m] : moves_out_)
      if (m.done) {
        const bool committed = m.at == move_out::phase::committed;
        moves.emplace_back(std::move(m), committed);
      }
    moves_out_.clear();
    moving_.clear();
    requests.swap(requests_out_);
    ticker_.cancel();
    sends.swap(sends_);
    inbound.swap(inbound_);
    for (auto& [_, state] : peers_) {
      if (state.out) outbound.push_back(std::move(state.out));
      if (state.retry) state.retry->cancel();
      if (auto socket = std::move(state.connecting))
        asio::post(socket->get_executor(), [socket] {
          std::error_code ignored;
          socket->close(ignored);
        });
      state.backlog.clear();
    }
  }
  std::error_code ignored;
  acceptor_.close(ignored);
  for (auto& c : inbound) c->close(wire::wire_errc::shutting_down, "the node is shutting down");
  for (auto& c : outbound) c->close(wire::wire_errc::shutting_down, "the node is shutting down");
  for (auto& [_, s] : sends)
    s.ack.set_exception(std::make_exception_ptr(send_unconfirmed(s.recipient, s.peer, "this node shut down first")));
  for (auto& [m, committed] : moves)
    m.done(std::make_exception_ptr(migration_error(
        migration_errc::shutting_down, m.actor, m.target,
        committed ? "this node shut down after the commit point: the move completes when it is started again"
                  : "this node shut down first: the actor stays here")));
  for (auto& [_, r] : requests)
    r.done(std::make_exception_ptr(migration_error(
        migration_errc::unconfirmed, r.actor, r.target,
        "this node shut down before node \"" + r.peer + "\" answered; the move may or may not have happened")));
}

void node::set_peer_address(const std::string& peer, endpoint address) {
  std::lock_guard lock(mutex_);
  auto it = peers_.find(peer);
  if (it == peers_.end())
    throw std::invalid_argument("revenant: \"" + peer + "\" is not a peer of node \"" + config_.name + "\"");
  it->second.address = std::move(address);
  if (!it->second.out) dial(peer, it->second);
}

std::size_t node::links_up() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [_, state] : peers_) n += state.up ? 1 : 0;
  return n;
}

std::vector<peer_status> node::peers() const {
  std::lock_guard lock(mutex_);
  std::vector<peer_status> out;
  for (const auto& [name, state] : peers_) {
    peer_status p;
    p.name = name;
    p.address = state.address;
    p.linked = state.up;
    p.incarnation = state.incarnation;
    p.round_trip = state.round_trip;
    p.queued_bytes = state.backlog.size();
    p.outbox_in_memory = state.durable.size();
    p.outbox_in_store_only = state.in_store_only;
    for (const auto& [_, s] : sends_) p.pending_sends += s.peer == name ? 1 : 0;
    for (const auto& [_, m] : moves_out_) p.migrations_out += m.target == name ? 1 : 0;
    for (const auto& [_, m] : moves_in_) p.migrations_in += m.source == name ? 1 : 0;
    p.routes_learned = state.routes_learned;
    out.push_back(std::move(p));
  }
  return out;
}

// ---- links -------------------------------------------------------------------------------------

void node::accept() {
  acceptor_.async_accept(asio::make_strand(*sys_.io), [self = shared_from_this()](std::error_code ec,
                                                                                   asio::ip::tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      return self->accept();  // e.g. out of descriptors for a moment: keep serving
    }
    std::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    auto c = std::make_shared<connection>(std::move(socket), wire::role::listener, self, self->config_.max_frame_size,
                                          std::string(), self->config_.connect_timeout, self->tls_);
    {
      std::lock_guard lock(self->mutex_);
      if (self->stopped_) return;
      self->inbound_.insert(c);
    }
    c->start();
    self->accept();
  });
}

void node::dial(const std::string& peer, peer_state& state) {
  if (stopped_ || state.out || state.connecting || state.address.port == 0) return;
  auto socket = std::make_shared<asio::ip::tcp::socket>(asio::make_strand(*sys_.io));
  asio::ip::tcp::endpoint at;
  try {
    at = asio::ip::tcp::endpoint(asio::ip::make_address(state.address.host), state.address.port);
  } catch (const std::exception& e) {
    sys_.log(log_level::error, "revenant: node \"" + config_.name + "\": peer \"" + peer + "\" has address \"" +
                                   state.address.host + "\": " + e.what());
    return;
  }
  // The connection is made once connected; until then `out` holds a placeholder of none, and
  // the retry timer marks the attempt.
  // On the socket's strand, as the connect's own handler.
  state.retry = std::make_unique<asio::steady_timer>(socket->get_executor());
  state.connecting = socket;
  state.retry->expires_after(config_.connect_timeout);
  state.retry->async_wait([socket](std::error_code ec) {
    if (!ec) {
      std::error_code ignored;
      socket->close(ignored);  // the connect gives up with operation_aborted
    }
  });
  socket->async_connect(at, [self = shared_from_this(), socket, peer](std::error_code ec) {
    std::shared_ptr<connection> c;
    std::string why;
    {
      std::lock_guard lock(self->mutex_);
      peer_state& now = self->peers_.at(peer);
      if (now.retry) now.retry->cancel();
      now.connecting.reset();
      if (self->stopped_) return;
      if (ec) {
        self->sys_.log(log_level::info, "revenant: node \"" + self->config_.name + "\": cannot reach peer \"" + peer +
                                            "\": " + ec.message());
        why = "cannot reach it: " + ec.message();
      } else {
        std::error_code ignored;
        socket->set_option(asio::ip::tcp::no_delay(true), ignored);
        c = std::make_shared<connection>(std::move(*socket), wire::role::dialer, self, self->config_.max_frame_size,
                                         peer, self->config_.connect_timeout, self->tls_);
        now.out = c;
      }
    }
    if (c) {
      c->start();
    } else {
      self->lost(peer, why);
      self->redial_later(peer);
    }
  });
}

void node::redial_later(const std::string& peer) {
  std::lock_guard lock(mutex_);
  if (stopped_) return;
  peer_state& state = peers_.at(peer);
  state.backoff = std::clamp(state.backoff * 2, config_.reconnect_min, config_.reconnect_max);
  state.retry = std::make_unique<asio::steady_timer>(*sys_.io);
  state.retry->expires_after(state.backoff);
  state.retry->async_wait([self = shared_from_this(), peer](std::error_code ec) {
    if (ec) return;
    std::lock_guard relock(self->mutex_);
    self->dial(peer, self->peers_.at(peer));
  });
}

std::variant<wire::welcome_frame, refusal> node::on_hello(connection& c, const wire::hello_frame& h) {
  auto refuse = [](wire::wire_errc code, std::string text) { return refusal{code, std::move(text)}; };
  if (h.version != c.version())
    return refuse(wire::wire_errc::version_unsupported,
                  "the hello says version " + std::to_string(h.version) + ", the prefaces chose " + std::to_string(c.version()));
  if (h.cluster != config_.cluster)
    return refuse(wire::wire_errc::wrong_cluster, "node \"" + config_.name + "\" is in cluster \"" + config_.cluster + "\"");
  if (h.peer != config_.name)
    return refuse(wire::wire_errc::wrong_node, "this is node \"" + config_.name + "\", not \"" + std::string(h.peer) + "\"");
  std::lock_guard lock(mutex_);
  if (!peers_.contains(std::string(h.node)))
    return refuse(wire::wire_errc::unknown_node, "\"" + std::string(h.node) + "\" is not a peer of node \"" + config_.name + "\"");
  if (c.secured() && c.authenticated_as().empty())
    return refuse(wire::wire_errc::not_authenticated, "the TLS handshake proved no node name for \"" + std::string(h.node) + "\"");
  if (c.secured() && c.authenticated_as() != h.node)
    return refuse(wire::wire_errc::wrong_node, "the TLS handshake proved node \"" + c.authenticated_as() +
                                                   "\", not \"" + std::string(h.node) + "\"");
  if (h.id == identity_.id) return refuse(wire::wire_errc::wrong_node, "the dialer has this node's own id");
  if (stopped_) return refuse(wire::wire_errc::shutting_down, "node \"" + config_.name + "\" is shutting down");
  std::uint64_t& seen = incarnations_[h.id];
  if (h.incarnation < seen)
    return refuse(wire::wire_errc::stale_incarnation, "incarnation " + std::to_string(h.incarnation) + " of node \"" +
                                                          std::string(h.node) + "\" is older than " + std::to_string(seen));
  seen = h.incarnation;
  wire::welcome_frame w;
  if (auto mark = inbox_.find(h.id); mark != inbox_.end()) w.inbox_high_water = mark->second.durable;
  w.max_frame_size = config_.max_frame_size;
  w.id = identity_.id;
  w.incarnation = identity_.incarnation;
  w.node = config_.name;
  return w;
}

void node::encode_hello(connection& c, std::string& out, std::uint16_t version) {
  wire::hello_frame h;
  h.version = version;
  h.max_frame_size = config_.max_frame_size;
  h.id = identity_.id;
  h.incarnation = identity_.incarnation;
  h.cluster = config_.cluster;
  h.node = config_.name;
  h.peer = c.peer();
  wire::encode(out, h);
}

std::optional<wire::wire_errc> node::on_welcome(connection& c, const wire::welcome_frame& w) {
  if (w.node != c.peer() || w.id == identity_.id) return wire::wire_errc::wrong_node;
  std::lock_guard lock(mutex_);
  std::uint64_t& seen = incarnations_[w.id];
  if (w.incarnation < seen) return wire::wire_errc::stale_incarnation;
  seen = w.incarnation;
  peer_state& state = peers_.at(c.peer());
  if (state.out.get() != &c) return wire::wire_errc::connection_replaced;
  state.up = true;
  state.backoff = std::chrono::milliseconds(0);
  state.incarnation = w.incarnation;
  state.ping_sent = 0;
  // The peer has taken everything up to its mark; the rest is sent again, in order, before
  // anything newer (ship_durable waits for this lock).
  std::vector<std::uint64_t> taken;
  if (forget_through(state, w.inbox_high_water, taken))
    asio::post(*sys_.io, [self = shared_from_this(), peer = c.peer()] { self->refill(peer); });
  if (!taken.empty()) remove_outbox(c.peer(), taken);
  for (const auto& entry : state.durable) c.send(entry.frame);
  if (!state.backlog.empty()) {
    c.send(state.backlog);
    state.backlog.clear();
    for (auto& [_, s] : sends_)
      if (s.peer == c.peer() && s.on == nullptr) s.on = &c;  // its send frame was in the backlog
  }
  return std::nullopt;
}

void node::on_closed(connection& c, const std::string& why) {
  bool redial = false;
  bool stopped = false;
  std::vector<pending_send> unconfirmed;
  {
    std::lock_guard lock(mutex_);
    stopped = stopped_;
    if (c.side() == wire::role::listener) {
      for (auto it = inbound_.begin(); it != inbound_.end(); ++it)
        if (it->get() == &c) {
          inbound_.erase(it);
          break;
        }
    } else if (auto it = peers_.find(c.peer()); it != peers_.end() && it->second.out.get() == &c) {
      it->second.out.reset();
      it->second.up = false;
      it->second.ping_sent = 0;
      redial = !stopped;
      for (auto s = sends_.begin(); s != sends_.end();) {
        if (s->second.on == &c) {
          unconfirmed.push_back(std::move(s->second));
          s = sends_.erase(s);
        } else {
          ++s;
        }
      }
    }
  }
  for (auto& s : unconfirmed)
    s.ack.set_exception(std::make_exception_ptr(send_unconfirmed(s.recipient, s.peer, "the link was lost: " + why)));
  if (!stopped)
    sys_.log(log_level::info, "revenant: node \"" + config_.name + "\": link " +
                                  (c.side() == wire::role::dialer ? "to " : "from ") + c.describe() + " closed: " + why);
  if (redial) {
    lost(c.peer(), why);
    redial_later(c.peer());
  }
}

void node::lost(const std::string& peer, const std::string& why) {
  std::vector<remote_watch> ended;
  {
    std::lock_guard lock(mutex_);
    auto it = watching_.find(peer);
    if (it == watching_.end()) return;
    ended.swap(it->second);
    watching_.erase(it);
  }
  for (auto& w : ended)
    if (auto target = w.target.lock()) {
      message_ptr m = make_message<down>(
          down{w.watched, exit_reason::unreachable, "the link to its node \"" + peer + "\" was lost: " + why});
      message_fields::sender(*m) = sys_.resolve(w.watched);
      target->enqueue(std::move(m));
    }
}

}  // namespace revenant::detail
