// A node's messages: frames out for messages, watches and outside sends to peers' actors; the
// frames a link brings in, dispatched (on_frame); and names, as this node resolves and writes
// them (proxies of peers' actors, "$<id>@<node>" for its own transient ones). The links that
// carry them are node.cpp's; migration frames are node_migration*.cpp's.
#include <algorithm>
#include <limits>
#include <optional>
#include <stdexcept>

#include "actors/internal/access.hpp"
#include "runtime/errors.hpp"
#include "runtime/internal/actor_cell.hpp"
#include "runtime/internal/node.hpp"
#include "runtime/internal/remote_actor.hpp"
#include "storage/envelope.hpp"

namespace revenant::detail {
namespace {

// "$<id>" (digits only): an anonymous actor of the node that says it.
std::optional<std::uint64_t> anonymous_id(std::string_view name) {
  if (name.size() < 2 || name.size() > 21 || name[0] != '$') return std::nullopt;
  std::uint64_t id = 0;
  for (char c : name.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (id > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    id = id * 10 + digit;
  }
  return id;
}

}  // namespace

// ---- messages out ------------------------------------------------------------------------------

bool node::queue(const std::string& peer, std::string_view frame) {
  std::lock_guard lock(mutex_);
  if (stopped_) return false;
  peer_state& state = peers_.at(peer);
  if (state.up && state.out) return state.out->send(frame, config_.max_queued_bytes);
  if (state.backlog.size() + frame.size() > config_.max_queued_bytes) return false;
  state.backlog.append(frame);
  dial(peer, state);
  return true;
}

void node::send_message(const std::string& peer, const std::string& recipient, message_ptr m, const std::string* origin) {
  std::string frame;
  try {
    const auto& sender = message_fields::sender(*m);
    const std::string_view to = wire::name_for_peer(recipient, peer);
    if (const down* d = m->get_if<down>()) {
      // A watched actor here stopped: its watcher's node hears it as a down frame, under the
      // name it watched (a transient watched actor's, as "$<id>@<node>").
      std::string watched = d->name;
      if (anonymous_id(watched)) watched = sender ? name_of(sender) : watched + "@" + config_.name;
      {
        std::lock_guard lock(mutex_);
        if (auto held = watchers_.find(recipient); held != watchers_.end() && --held->second.second == 0)
          watchers_.erase(held);
      }
      wire::encode(frame, wire::down_frame{d->reason, watched, to, d->detail});
    } else {
      const std::string envelope = encode_envelope(*m, sender ? name_of(sender) : std::string(), &sys_);
      if (origin != nullptr)
        wire::encode(frame, wire::forwarded_frame{*origin, to, envelope});
      else
        wire::encode(frame, wire::message_frame{to, envelope});
    }
  } catch (const std::exception& e) {
    sys_.log(log_level::warning, "revenant: node \"" + config_.name + "\": a " + std::string(m->type_name()) +
                                     " to \"" + recipient + "\" on node \"" + peer + "\" cannot be sent: " + e.what());
    sys_.dead(recipient, std::move(m), dead_letter_reason::not_encodable);
    return;
  }
  if (!queue(peer, frame)) sys_.dead(recipient, std::move(m), dead_letter_reason::unreachable);
}

void node::send_watch(const std::string& peer, const std::string& watched, const std::shared_ptr<actor_base>& watcher) {
  std::string frame;
  const std::string watcher_name = name_of(watcher);
  wire::encode(frame, wire::watch_frame{watcher_name, wire::name_for_peer(watched, peer)});
  if (dynamic_cast<const remote_actor*>(watcher.get()) != nullptr) {
    // A peer's watch of an actor that moved from here, passed on to where it went: the down goes
    // from there to the watcher's node, which takes it for the watch it asked here
    // (take_down). This node keeps nothing of it, and lets go of the watcher it held for it.
    if (!queue(peer, frame)) return watcher->enqueue(make_message<down>(down{
                                 watched, exit_reason::unreachable, "its node \"" + peer + "\" cannot be told (no link, queue full)"}));
    std::lock_guard lock(mutex_);
    if (auto held = watchers_.find(watcher_name); held != watchers_.end() && --held->second.second == 0)
      watchers_.erase(held);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    watching_[peer].push_back(remote_watch{watched, watcher_name, watcher});
  }
  if (!queue(peer, frame)) {
    // The watched actor's node cannot be told: the watch ends as if its link were lost.
    {
      std::lock_guard lock(mutex_);
      auto& list = watching_[peer];
      if (!list.empty() && list.back().watcher == watcher_name && list.back().watched == watched) list.pop_back();
    }
    message_ptr m = make_message<down>(
        down{watched, exit_reason::unreachable, "its node \"" + peer + "\" cannot be told (no link, queue full)"});
    watcher->enqueue(std::move(m));
  }
}

void node::send_outside(const std::string& peer, const std::string& recipient, message_ptr m, completion ack) {
  std::string frame;
  try {
    const std::string envelope = encode_envelope(*m, std::string(), &sys_);
    const std::uint64_t correlation = next_correlation_.fetch_add(1, std::memory_order_relaxed) + 1;
    wire::encode(frame, wire::send_frame{correlation, wire::name_for_peer(recipient, peer), envelope});
    std::lock_guard lock(mutex_);
    if (stopped_) throw std::logic_error("revenant: the actor system is shut down");
    peer_state& state = peers_.at(peer);
    const connection* on = nullptr;
    if (state.up && state.out) {
      // Refused: the link is closing (its node was lost, and this node has not heard yet), or
      // over its bound. Nothing went out; the caller sends again, as after a lost link.
      if (!state.out->send(frame, config_.max_queued_bytes))
        throw send_unconfirmed(recipient, peer,
                               "its link is closing, or " + std::to_string(config_.max_queued_bytes) +
                                   " bytes already wait for it: not sent");
      on = state.out.get();
    } else {
      if (state.backlog.size() + frame.size() > config_.max_queued_bytes)
        throw std::runtime_error("revenant: node \"" + peer + "\" is not reached, and " +
                                 std::to_string(state.backlog.size()) + " bytes already wait for its link");
      state.backlog.append(frame);
      dial(peer, state);
    }
    // ack moves only once nothing more can throw: the handler below still holds it otherwise.
    sends_.emplace(correlation, pending_send{peer, recipient, std::move(ack),
                                             std::chrono::steady_clock::now() + config_.send_timeout, on});
  } catch (...) {
    ack.set_exception(std::current_exception());  // nothing was sent
  }
}

void node::answer_send(connection& c, const wire::send_frame& f) {
  const std::string to(f.recipient);
  const std::uint64_t correlation = f.correlation;
  auto answer = [link = std::weak_ptr<connection>(c.shared_from_this()), correlation](wire::send_status status,
                                                                                      std::string_view text) {
    std::string out;
    wire::encode(out, wire::send_result_frame{correlation, status, text});
    if (auto on = link.lock()) on->send(out);
  };
  decoded_envelope d = decode_from(c, f.recipient, f.envelope);  // bad bytes end the connection
  if (!d.value)
    return answer(wire::send_status::unregistered_type,
                  "the message type is not registered on node \"" + config_.name + "\"");
  std::shared_ptr<actor_base> target = local_recipient(to, &c);
  const bool durable = [&] {
    auto cell = std::dynamic_pointer_cast<actor_cell>(target);
    return cell && cell->durable();
  }();
  auto outcome = [self = shared_from_this(), answer, durable](std::exception_ptr e) {
    if (!e) return answer(durable ? wire::send_status::durable : wire::send_status::queued, {});
    try {
      std::rethrow_exception(e);
    } catch (const actor_quarantined& q) {
      answer(wire::send_status::quarantined, q.reason());
    } catch (const std::invalid_argument& x) {
      answer(wire::send_status::unknown_actor, x.what());
    } catch (const mailbox_full_error& x) {
      answer(wire::send_status::mailbox_full, x.what());
    } catch (const send_unconfirmed& x) {
      answer(wire::send_status::unconfirmed, x.what());  // forwarded (it moved), and the answer lost
    } catch (const std::exception& x) {
      if (!self->sys_.accepting.load(std::memory_order_relaxed))
        answer(wire::send_status::shutting_down, x.what());
      else if (dynamic_cast<const std::logic_error*>(&x))
        answer(wire::send_status::unregistered_type, x.what());
      else
        answer(wire::send_status::store_error, x.what());
    }
  };
  if (!target) return outcome(sys_.no_actor(to));
  try {
    recipient_of(target).deliver_acknowledged(std::move(d.value), completion(completion::callback(outcome)));
  } catch (...) {
    outcome(std::current_exception());
  }
}

void node::send_answered(connection& c, const wire::send_result_frame& f) {
  std::optional<pending_send> done;
  {
    std::lock_guard lock(mutex_);
    auto it = sends_.find(f.correlation);
    if (it == sends_.end() || it->second.peer != c.peer()) return;  // given up on already
    done.emplace(std::move(it->second));
    sends_.erase(it);
  }
  const std::string text = std::string(f.text) + " (answered by node \"" + c.peer() + "\")";
  switch (f.status) {
    case wire::send_status::durable:
    case wire::send_status::queued:
      return done->ack.set_value();
    case wire::send_status::unknown_actor:
      return done->ack.set_exception(std::make_exception_ptr(std::invalid_argument(text)));
    case wire::send_status::quarantined:
      return done->ack.set_exception(std::make_exception_ptr(actor_quarantined(done->recipient, text)));
    case wire::send_status::mailbox_full:
      return done->ack.set_exception(std::make_exception_ptr(mailbox_full_error(done->recipient)));
    case wire::send_status::store_error:
      return done->ack.set_exception(std::make_exception_ptr(store_error(text)));
    case wire::send_status::unregistered_type:
    case wire::send_status::shutting_down:
      return done->ack.set_exception(std::make_exception_ptr(std::logic_error(text)));
    case wire::send_status::unconfirmed:
      return done->ack.set_exception(std::make_exception_ptr(send_unconfirmed(done->recipient, c.peer(), text)));
  }
  done->ack.set_exception(std::make_exception_ptr(send_unconfirmed(
      done->recipient, c.peer(), "the node answered status " + std::to_string(static_cast<int>(f.status)) +
                                     ", which this version does not know: " + std::string(f.text))));
}

// ---- messages in -------------------------------------------------------------------------------

std::shared_ptr<actor_base> node::local_recipient(std::string_view recipient, connection* from) {
  if (auto id = anonymous_id(recipient)) {
    std::lock_guard lock(mutex_);
    auto it = exports_.find(*id);
    return it == exports_.end() ? nullptr : it->second.lock();
  }
  const std::string name(recipient);
  if (auto forwarder = moved_from_here(name)) {
    if (from != nullptr) tell_moved(*from, name, static_cast<const remote_actor&>(*forwarder));
    return forwarder;
  }
  if (auto cell = sys_.resolve_cell(name)) return cell;
  return incoming_cell(name);  // moving here: it takes messages, and runs once activated
}

decoded_envelope node::decode_from(connection& c, std::string_view recipient, std::string_view envelope) {
  decoded_envelope d;
  try {
    d = decode_envelope(envelope, {}, &sys_);
  } catch (const snapshot_error& plain) {
    // The subject is named only when something is wrong: building it costs as much as a small
    // message's decoding.
    const snapshot_error e =
        plain.with_subject("message from node \"" + c.peer() + "\" to \"" + std::string(recipient) + "\"");
    if (e.code() == snapshot_errc::unknown_type) {
      sys_.log(log_level::warning, std::string("revenant: ") + e.what());
      return {};
    }
    throw wire::wire_error(wire::wire_errc::bad_envelope, 0, e.what());
  }
  if (!d.header.sender.empty()) {
    // Most frames on a link come from the sender of the one before: remembered per connection.
    connection::sender_memo& memo = c.last_sender();
    if (memo.name != d.header.sender || !memo.actor) {
      std::shared_ptr<actor_base> actor = sys_.resolve(wire::name_from_peer(d.header.sender, c.peer(), config_.name));
      // Only an actor of another node is remembered: it is a name, never stale. A local one may
      // stop and its name be taken again.
      const bool remote = dynamic_cast<remote_actor*>(actor.get()) != nullptr;
      memo.name = remote ? d.header.sender : std::string();
      memo.actor = remote ? actor : nullptr;
      message_fields::sender(*d.value) = std::move(actor);
    } else {
      message_fields::sender(*d.value) = memo.actor;
    }
  }
  return d;
}

void node::deliver(connection& c, std::string_view recipient, std::string_view envelope, std::string_view origin) {
  const std::string to(recipient);
  decoded_envelope d = decode_from(c, recipient, envelope);
  if (!d.value) return sys_.letters.count_unshown();  // a type this program does not register
  auto target = local_recipient(to, &c);
  if (!target) return sys_.dead(to, std::move(d.value), dead_letter_reason::stopped);
  // A forwarded message names the node its sender is on; one this node does not list counts as
  // coming from c's node directly (it can only lose its place, never overtake).
  const std::string* from = origin.empty() ? nullptr : listed_node(origin);
  recipient_of(target).take_from_node(std::move(d.value), from != nullptr ? *from : c.peer(), from != nullptr);
}

void node::on_frame(connection& c, const wire::frame& f) {
  switch (f.kind) {
    case wire::frame_kind::durable_message:
      return take_durable(c, wire::decode_durable_message(f));
    case wire::frame_kind::ack:
      return acknowledged(c.peer(), wire::decode_ack(f).seq);
    case wire::frame_kind::message: {
      const wire::message_frame m = wire::decode_message(f);
      return deliver(c, m.recipient, m.envelope);
    }
    case wire::frame_kind::forwarded: {
      const wire::forwarded_frame m = wire::decode_forwarded(f);
      return deliver(c, m.recipient, m.envelope, m.origin);
    }
    case wire::frame_kind::watch: {
      const wire::watch_frame w = wire::decode_watch(f);
      const std::string watcher_name = wire::name_from_peer(w.watcher, c.peer(), config_.name);
      const std::shared_ptr<actor_base> watcher = sys_.resolve(watcher_name);
      if (!watcher) return;  // a watcher of this node that is gone already
      if (auto target = local_recipient(w.watched, &c)) {
        if (dynamic_cast<const remote_actor*>(watcher.get()) != nullptr) {
          // An actor holds its watchers weakly; a remote one is held here until its down is sent
          // (or its watch is passed on: send_watch). A watcher of this node (a watch that came
          // back here behind its actor) holds itself.
          std::lock_guard lock(mutex_);
          auto& held = watchers_[watcher_name];
          held.first = watcher;
          ++held.second;
        }
        target->add_watcher(watcher);
      }
      else
        watcher->enqueue(make_message<down>(down{std::string(w.watched), exit_reason::normal, "not running in this process"}));
      return;
    }
    case wire::frame_kind::send:
      return answer_send(c, wire::decode_send(f));
    case wire::frame_kind::send_result:
      return send_answered(c, wire::decode_send_result(f));
    case wire::frame_kind::down: {
      const wire::down_frame d = wire::decode_down(f);
      const std::string watched = wire::name_from_peer(d.watched, c.peer(), config_.name);
      {
        // Only for a watch still open: one that ended with the link's loss was told already. The
        // watcher is a name on this node ("$<id>" unqualified); kept as name_of wrote it.
        std::string watcher(d.watcher);
        if (anonymous_id(watcher)) watcher += "@" + config_.name;
        std::lock_guard lock(mutex_);
        if (!end_watch(c.peer(), watched, watcher)) return;
      }
      message_ptr m = make_message<down>(down{watched, d.reason, std::string(d.detail)});
      message_fields::sender(*m) = sys_.resolve(watched);
      if (auto target = local_recipient(d.watcher))
        target->enqueue(std::move(m));
      else
        sys_.dead(std::string(d.watcher), std::move(m), dead_letter_reason::stopped);
      return;
    }
    case wire::frame_kind::ping: {
      std::string out;
      wire::encode(out, wire::pong_frame{wire::decode_ping(f).nonce});
      c.send(out);
      return;
    }
    case wire::frame_kind::pong: {
      const std::uint64_t nonce = wire::decode_pong(f).nonce;
      std::lock_guard lock(mutex_);
      auto it = peers_.find(c.peer());
      if (it == peers_.end() || it->second.out.get() != &c || it->second.ping_sent != nonce) return;
      const auto now = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
      it->second.round_trip = std::chrono::nanoseconds(now - nonce);
      it->second.ping_sent = 0;
      return;
    }
    case wire::frame_kind::unwatch:
      return;  // no watch is ever taken back yet
    case wire::frame_kind::migrate_offer:
      return take_offer(c, wire::decode_migrate_offer(f));
    case wire::frame_kind::migrate_accept:
      return offer_answered(wire::decode_migrate_accept(f));
    case wire::frame_kind::migrate_commit:
      return take_commit(c, wire::decode_migrate_commit(f));
    case wire::frame_kind::migrate_done:
      return move_done(wire::decode_migrate_done(f).id);
    case wire::frame_kind::migrate_abort: {
      const wire::migrate_abort_frame a = wire::decode_migrate_abort(f);
      return take_abort(c.peer(), a.id, wire::name_from_peer(a.actor, c.peer(), config_.name));
    }
    case wire::frame_kind::migrate_query:
      return answer_query(c, wire::decode_migrate_query(f));
    case wire::frame_kind::migrate_outcome:
      return take_outcome(wire::decode_migrate_outcome(f));
    case wire::frame_kind::migrate_request:
      return take_move_request(c, wire::decode_migrate_request(f));
    case wire::frame_kind::migrate_result:
      return take_move_result(wire::decode_migrate_result(f));
    case wire::frame_kind::moved:
      return take_moved(c, wire::decode_moved(f));
    default:
      throw wire::wire_error(wire::wire_errc::unexpected_kind, f.offset,
                             "frame kind " + std::string(wire::to_string(f.kind)) + " is not served by this node yet");
  }
}

// ---- names -------------------------------------------------------------------------------------

std::shared_ptr<actor_base> node::proxy(const std::string& name, const std::string& home) {
  std::lock_guard lock(mutex_);
  std::weak_ptr<actor_base>& slot = proxies_[name];
  if (auto existing = slot.lock()) return existing;
  auto learned = learned_.find(name);
  auto made = std::make_shared<remote_actor>(weak_from_this(), name, home,
                                             learned == learned_.end() ? nullptr : learned->second);
  slot = made;
  return made;
}

std::shared_ptr<actor_base> node::route(const std::string& name) {
  if (auto forwarder = moved_from_here(name)) return forwarder;
  const std::string& home = placement_.home_of(name);
  if (auto id = anonymous_id(name.substr(0, name.find('@'))); id && name.find('@') != std::string::npos) {
    if (home != config_.name) return proxy(name, home);
    // One of this node's own transient actors, as its peers name it.
    std::lock_guard lock(mutex_);
    auto it = exports_.find(*id);
    if (it != exports_.end())
      if (auto actor = it->second.lock()) return actor;
    return nullptr;
  }
  if (home == config_.name || anonymous_id(name)) return nullptr;
  // Hosted here all the same (a transient actor named so, or a durable one spawned before the
  // node list changed): the local directory has it.
  if (sys_.resolve_cell(name)) return nullptr;
  return proxy(name, home);
}

std::string node::name_of(const std::shared_ptr<actor_base>& actor) {
  // A virtual call, not dynamic_casts: this runs for every message a node sends, and a failed
  // cast through the cell's several bases compared type names with strcmp (~6% of a stream).
  if (recipient_of(actor).named_everywhere()) return actor->name();
  if (actor->id() == 0) return actor->name();  // a detached reference: its name
  // The actor a thread named last, by this node: exported already (its entry is swept only once
  // the actor is gone, and a live actor is asking). Ids are never reused within a system.
  struct last_named {
    std::uint64_t node = 0;  // serial_: a node made later at the same address is another node
    std::uint64_t id = 0;
    std::string name;
  };
  thread_local last_named last;
  if (last.node == serial_ && last.id == actor->id()) return last.name;
  std::string name = "$" + std::to_string(actor->id()) + "@" + config_.name;
  {
    std::lock_guard lock(mutex_);
    exports_[actor->id()] = actor;
    if (exports_.size() >= exports_swept_at_) {
      std::erase_if(exports_, [](const auto& entry) { return entry.second.expired(); });
      exports_swept_at_ = std::max<std::size_t>(64, exports_.size() * 2);
    }
  }
  last = last_named{serial_, actor->id(), name};
  return name;
}

}  // namespace revenant::detail
