// The node's exactly-once path between durable actors (docs/format.md 8.14, docs/wire.md 6.2):
// the outbox side (stage with the step, ship once committed, resend after every handshake,
// forget what the peer acknowledged) and the inbox side (take a durable_message once, with the
// sending node's mark, and acknowledge it once that is committed).
#include <asio/post.hpp>

#include <stdexcept>

#include "runtime/internal/actor_cell.hpp"
#include "runtime/internal/node.hpp"
#include "runtime/internal/remote_actor.hpp"
#include "storage/commit_batch.hpp"
#include "storage/envelope.hpp"

namespace revenant::detail {

void node::take_durable(connection& c, const wire::durable_message_frame& f) {
  const std::string to(f.recipient);
  decoded_envelope d = decode_from(c, f.recipient, f.envelope);  // bad bytes: nothing taken
  const wire::node_id from = c.peer_id();
  std::uint64_t durable = 0;
  bool duplicate = false;
  {
    std::lock_guard lock(mutex_);
    inbox_mark& mark = inbox_[from];
    duplicate = f.seq <= mark.accepted;
    if (!duplicate) mark.accepted = f.seq;
    durable = mark.durable;
  }
  auto ack = [](connection& on, std::uint64_t seq) {
    std::string out;
    wire::encode(out, wire::ack_frame{seq});
    on.send(out);
  };
  if (duplicate) {
    // Sent again after a cut link or a restart: taken already. Acknowledged again if its commit
    // is done; else that commit's acknowledgement covers it.
    if (durable >= f.seq) ack(c, durable);
    return;
  }
  std::shared_ptr<actor_base> target = d.value ? local_recipient(to, &c) : nullptr;
  auto cell = std::dynamic_pointer_cast<actor_cell>(target);
  auto committed = [self = shared_from_this(), link = std::weak_ptr<connection>(c.shared_from_this()), from,
                    seq = f.seq, ack] {
    {
      std::lock_guard lock(self->mutex_);
      inbox_mark& mark = self->inbox_[from];
      mark.durable = std::max(mark.durable, seq);
    }
    if (auto on = link.lock()) ack(*on, seq);
  };
  if (!sys_.db) {
    // No store: nothing can be taken durably; delivered at once, at most once.
    if (target)
      target->enqueue(std::move(d.value));
    else if (d.value)
      sys_.dead(to, std::move(d.value), dead_letter_reason::stopped);
    return committed();
  }
  step s;
  s.inbox_mark.emplace(from, f.seq);
  if (target) {
    // A durable recipient's mailbox entry is the envelope as it came; a transient one gets the
    // message once the mark is committed.
    std::string envelope = cell && cell->durable() ? std::string(f.envelope) : std::string();
    const auto* forwarder = cell ? nullptr : dynamic_cast<const remote_actor*>(target.get());
    if (forwarder) {
      // It moved from here (docs/migration.md 4): to its new node's outbox, in the same batch as
      // the mark, exactly once; the envelope as it came (a durable sender is named everywhere).
      outgoing out{std::move(target), nullptr, std::string(f.envelope), 0};
      out.peer = forwarder->route();
      out.recipient = std::string(wire::name_for_peer(to, out.peer));
      s.outbox.push_back(std::move(out));
    } else {
      s.outbox.push_back(outgoing{std::move(target), std::move(d.value), std::move(envelope), 0});
    }
  } else if (d.value) {
    auto letter = std::make_shared<message_ptr>(std::move(d.value));
    s.on_written = [self = shared_from_this(), to, letter] {
      self->sys_.dead(to, std::move(*letter), dead_letter_reason::stopped);
    };
  }
  s.on_commit = std::move(committed);
  sys_.submit(std::move(s));
}

void node::acknowledged(const std::string& peer, std::uint64_t seq) {
  std::vector<std::uint64_t> taken;
  bool read_back = false;
  {
    std::lock_guard lock(mutex_);
    auto it = peers_.find(peer);
    if (it == peers_.end()) return;
    read_back = forget_through(it->second, seq, taken);
  }
  if (!taken.empty()) remove_outbox(peer, taken);
  if (read_back) asio::post(*sys_.io, [self = shared_from_this(), peer] { self->refill(peer); });
}

bool node::forget_through(peer_state& state, std::uint64_t seq, std::vector<std::uint64_t>& taken) {
  while (!state.durable.empty() && state.durable.front().seq <= seq) {
    taken.push_back(state.durable.front().seq);
    state.durable_bytes -= state.durable.front().frame.size();
    state.durable.pop_front();
  }
  // Half the room is free again: read the next entries back from the store.
  if (!state.in_store_only || state.refilling || state.durable_bytes > config_.max_outbox_memory / 2) return false;
  state.refilling = true;
  return true;
}

void node::hold_durable(peer_state& state, std::uint64_t seq, std::string frame) {
  if (seq <= state.resident_through) return;  // held already (read back while it was shipped)
  if (state.in_store_only ||
      (!state.durable.empty() && state.durable_bytes + frame.size() > config_.max_outbox_memory)) {
    state.in_store_only = true;  // it waits in the store; refill() reads it back in order
    return;
  }
  if (state.up && state.out) state.out->send(frame);
  state.durable_bytes += frame.size();
  state.resident_through = seq;
  state.durable.push_back(unacked{seq, std::move(frame)});
}

void node::refill(const std::string& peer) {
  std::uint64_t after = 0;
  std::uint64_t passed_over = 0;
  std::size_t room = 0;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    peer_state& state = peers_.at(peer);
    after = state.resident_through;
    passed_over = state.passed_over;
    room = config_.max_outbox_memory - std::min(config_.max_outbox_memory, state.durable_bytes);
  }
  // Read outside the lock: links and senders go on meanwhile. Entries shipped meanwhile are
  // counted in passed_over, so that a read that ended before seeing them does not clear
  // in_store_only.
  std::vector<unacked> read;
  bool to_the_end = true;
  std::size_t bytes = 0;
  try {
    sys_.db->for_each_outbox_entry_of(peer, after, [&](std::uint64_t seq, std::string_view recipient,
                                                       std::string_view envelope) {
      std::string frame;
      wire::encode(frame, wire::durable_message_frame{seq, recipient, envelope});
      if (!read.empty() && bytes + frame.size() > room) {
        to_the_end = false;
        return false;
      }
      bytes += frame.size();
      read.push_back(unacked{seq, std::move(frame)});
      return true;
    });
  } catch (const std::exception& e) {
    sys_.log(log_level::error, "revenant: node \"" + config_.name + "\": the outbox to \"" + peer +
                                   "\" cannot be read back: " + e.what() + "; tried again at the next heartbeat");
    std::lock_guard lock(mutex_);
    peers_.at(peer).refilling = false;
    return;
  }
  bool again = false;
  {
    std::lock_guard lock(mutex_);
    peer_state& state = peers_.at(peer);
    state.in_store_only = false;  // for hold_durable: the entries read are next in order
    for (auto& entry : read) hold_durable(state, entry.seq, std::move(entry.frame));
    // Everything is here only if the read went to the end and nothing was shipped since it began
    // (or all that was fit in memory above).
    state.in_store_only = state.in_store_only || !to_the_end || state.passed_over != passed_over;
    state.passed_over = 0;
    state.refilling = state.in_store_only && state.durable_bytes <= config_.max_outbox_memory / 2;
    again = state.refilling;
  }
  if (again) asio::post(*sys_.io, [self = shared_from_this(), peer] { self->refill(peer); });
}

void node::remove_outbox(const std::string& peer, const std::vector<std::uint64_t>& seqs) {
  if (!sys_.db) return;
  try {
    commit_batch batch(*sys_.db);
    for (std::uint64_t seq : seqs) batch.remove_outbox(peer, seq);
    sys_.db->commit(batch, false);
  } catch (const std::exception& e) {
    // Kept: sent again after the next handshake, and dropped by the peer as taken.
    sys_.log(log_level::warning, "revenant: node \"" + config_.name + "\": acknowledged outbox entries to \"" + peer +
                                     "\" are kept: " + e.what());
  }
}

outgoing node::stage_durable(std::shared_ptr<actor_base> to, const std::string& peer, const std::string& recipient,
                             message_ptr m, const std::string& sender) {
  outgoing out{std::move(to), nullptr, encode_envelope(*m, sender, &sys_), 0};
  out.peer = peer;
  out.recipient = std::string(wire::name_for_peer(recipient, peer));
  return out;
}

void node::ship_durable(const std::string& peer, std::uint64_t seq, std::string recipient, std::string envelope) {
  std::string frame;
  wire::encode(frame, wire::durable_message_frame{seq, recipient, envelope});
  std::lock_guard lock(mutex_);
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;  // kept in the store for a node this one no longer lists
  peer_state& state = it->second;
  if (state.refilling) ++state.passed_over;
  hold_durable(state, seq, std::move(frame));
  if (!state.up) dial(peer, state);
}

void node::load_store() {
  if (!sys_.db) return;
  load_migrations();
  sys_.db->for_each_outbox_entry([&](std::string_view peer, std::uint64_t seq, std::string_view recipient,
                                     std::string_view envelope) {
    auto it = peers_.find(std::string(peer));
    if (it == peers_.end()) {
      sys_.log(log_level::warning, "revenant: node \"" + config_.name + "\": outbox entry " + std::to_string(seq) +
                                       " is for \"" + std::string(peer) + "\", which is not a peer: kept, not sent");
      return;
    }
    if (it->second.in_store_only) return;  // past what memory holds: read back as acknowledgements come
    std::string frame;
    wire::encode(frame, wire::durable_message_frame{seq, recipient, envelope});
    hold_durable(it->second, seq, std::move(frame));
  });
  sys_.db->for_each_inbox_mark([&](const wire::node_id& from, std::uint64_t seq) { inbox_[from] = inbox_mark{seq, seq}; });
}

}  // namespace revenant::detail
