// Live migration (docs/migration.md), the source's side: park the actor, prepare (marker and
// package in one exclusive batch), offer, commit (tombstone, rows deleted, late messages to the
// outbox: the commit point), retire; the retries and timeouts of both sides; and the forwarding
// of what still reaches this node for an actor that left. The target's side is
// node_migration_target.cpp.
#include <algorithm>

#include "actors/internal/access.hpp"
#include "runtime/internal/durable_cell.hpp"
#include "runtime/internal/kill_point.hpp"
#include "runtime/internal/node.hpp"
#include "runtime/internal/remote_actor.hpp"
#include "runtime/internal/signals.hpp"
#include "runtime/internal/system.hpp"
#include "storage/commit_batch.hpp"

namespace revenant::detail {
namespace {

using wire::encoded;

std::string reason_of(wire::migrate_status status) {
  switch (status) {
    case wire::migrate_status::exists: return "an actor of that name is hosted, stored or quarantined there";
    case wire::migrate_status::busy: return "another move of that actor to it is under way";
    case wire::migrate_status::no_store: return "it keeps no durable actors";
    case wire::migrate_status::store_error: return "its store failed";
    case wire::migrate_status::shutting_down: return "it is shutting down";
    case wire::migrate_status::bad_package: return "it found the package damaged";
    default: return "status " + std::string(wire::to_string(status));
  }
}

}  // namespace

void node::move_from_here(std::string name, std::string target, move_callback done) {
  auto fail = [&](migration_errc code, const std::string& why) {
    done(std::make_exception_ptr(migration_error(code, name, target, why)));
  };
  if (!sys_.db) return fail(migration_errc::no_store, "this node keeps no durable actors");
  // Under mutex_: why the move cannot start now, if it cannot.
  auto refusal = [&]() -> std::optional<std::pair<migration_errc, std::string>> {
    if (stopped_) return std::pair{migration_errc::shutting_down, std::string("this node is shutting down")};
    if (target == config_.name || !peers_.contains(target))
      return std::pair{migration_errc::unknown_node, "it is not a peer of node \"" + config_.name + "\""};
    if (auto it = moving_.find(name); it != moving_.end())
      return std::pair{migration_errc::busy, "it is being moved to \"" + moves_out_.at(it->second).target + "\" already"};
    if (moved_.contains(name)) return std::pair{migration_errc::unknown_actor, std::string("it has moved from this node")};
    if (moves_in_.contains(name)) return std::pair{migration_errc::unknown_actor, std::string("it is moving to this node")};
    return std::nullopt;
  };
  // done runs with no lock held: a caller's callback may take mutex_ (a request from a peer
  // answers on its link). Calling it under the lock deadlocked a node of the bank torture.
  std::optional<std::pair<migration_errc, std::string>> refused;
  {
    std::lock_guard lock(mutex_);
    refused = refusal();
  }
  if (refused) return fail(refused->first, refused->second);
  const std::shared_ptr<actor_cell> cell = sys_.resolve_cell(name);
  if (!cell) {
    try {
      std::rethrow_exception(sys_.no_actor(name));
    } catch (const actor_quarantined& e) {
      return fail(migration_errc::quarantined, e.what());
    } catch (const std::exception& e) {
      return fail(migration_errc::unknown_actor, "no actor of that name runs here");
    }
  }
  if (!cell->durable())
    return fail(migration_errc::not_durable,
                "it is a transient actor: its state and messages live in this process's memory only");
  const std::uint64_t id = sys_.commits->reserve(1);
  {
    std::unique_lock lock(mutex_);
    if ((refused = refusal())) {
      lock.unlock();
      return fail(refused->first, refused->second);
    }
    move_out& m = moves_out_[id];
    m.actor = name;
    m.target = target;
    m.cell = std::static_pointer_cast<durable_cell>(cell);
    m.deadline = std::chrono::steady_clock::now() + config_.migration_timeout;
    m.done = std::move(done);
    moving_[name] = id;
  }
  // Step 1: the actor's run ends at the probe, with a full checkpoint; it stays parked. The probe
  // is queued behind what is queued already, which the actor handles here first; what arrives
  // after it is stored and moves in the package (docs/migration.md 8).
  cell->enqueue(make_message<migrate_probe>(migrate_probe{[self = shared_from_this(), id](bool checkpointed) {
    self->parked(id, checkpointed);
  }}));
}

void node::parked(std::uint64_t id, bool checkpointed) {
  std::string actor, target;
  std::shared_ptr<durable_cell> cell;
  move_callback done;
  bool aborted = false;
  {
    std::lock_guard lock(mutex_);
    auto it = moves_out_.find(id);
    if (it == moves_out_.end()) return;
    actor = it->second.actor;
    target = it->second.target;
    cell = it->second.cell.lock();
    aborted = it->second.aborted;
    if (aborted || !checkpointed) {
      done = std::move(it->second.done);
      moving_.erase(it->second.actor);
      moves_out_.erase(it);
    }
  }
  if (aborted) {
    if (cell && checkpointed) cell->resume_parked();
    return;  // the caller was told when it was given up
  }
  if (!checkpointed) {
    if (done)
      done(std::make_exception_ptr(migration_error(migration_errc::quarantined, actor, target,
                                                   "its state could not be checkpointed: it is quarantined")));
    return;
  }
  // Step 2: the marker and the package, read from the store once everything before is in it.
  struct prepared {
    std::string frame;
    std::uint64_t through = 0;
    std::size_t queued = 0;
    std::string failure;
  };
  auto out = std::make_shared<prepared>();
  step s;
  s.actor = actor;
  s.exclusive = true;
  s.reserved_through = id;
  s.write = [this, actor, target, id, out](commit_batch& batch) -> std::uint64_t {
    migration_package p;
    p.actor = actor;
    std::optional<std::string> record = sys_.db->record(actor);
    if (!record) {
      out->failure = "its record is not in the store";
      return 0;
    }
    p.record = std::move(*record);
    p.wake = sys_.db->has_wake(actor);
    sys_.db->for_each_journal_entry_of(actor, [&](std::uint64_t seq, std::string_view envelope) {
      p.journal.push_back(package_entry{seq, std::string(envelope)});
    });
    sys_.db->for_each_message_of(actor, [&](std::uint64_t seq, std::string_view envelope) {
      p.mailbox.push_back(package_entry{seq, std::string(envelope)});
      out->through = seq;
    });
    out->queued = p.mailbox.size();
    try {
      out->frame = encoded(wire::migrate_offer_frame{id, encode_migration_package(p)});
    } catch (const std::exception& e) {
      out->failure = std::string("its package cannot be made: ") + e.what();
      return 0;
    }
    batch.put_migration_marker(actor, id, target);
    return 0;
  };
  s.on_commit = [self = shared_from_this(), id, out] {
    if (!out->failure.empty()) {
      {
        std::lock_guard lock(self->mutex_);
        if (auto it = self->moves_out_.find(id); it != self->moves_out_.end()) it->second.at = move_out::phase::offered;
      }
      return self->abort_move(id, migration_errc::refused, out->failure);  // resumes the actor
    }
    kill_point("migration.source.prepared");
    {
      std::lock_guard lock(self->mutex_);
      auto it = self->moves_out_.find(id);
      if (it == self->moves_out_.end()) return;
      move_out& m = it->second;
      m.at = move_out::phase::offered;
      m.through = out->through;
      m.queued = out->queued;
      m.frame = std::move(out->frame);
      self->send_now(m.target, m.frame, m.sent_on, m.sent_at);
    }
    kill_point("migration.source.offered");
  };
  if (!sys_.submit(std::move(s))) abort_move(id, migration_errc::shutting_down, "this node is shutting down");
}

void node::offer_answered(const wire::migrate_accept_frame& f) {
  {
    std::lock_guard lock(mutex_);
    auto it = moves_out_.find(f.id);
    if (it == moves_out_.end() || it->second.at != move_out::phase::offered) return;  // answered already
    if (f.status == wire::migrate_status::accepted) it->second.at = move_out::phase::committing;
  }
  if (f.status == wire::migrate_status::accepted) return commit_move(f.id);
  std::string why = "the target refused it: " + reason_of(f.status);
  if (!f.reason.empty()) why += " (" + std::string(f.reason) + ")";
  abort_move(f.id, migration_errc::refused, why);
}

// Step 4, the commit point: one batch writes the tombstone, deletes the actor's rows, and makes
// the messages that came after the package outbox entries to the target.
void node::commit_move(std::uint64_t id) {
  std::string actor, target;
  std::uint64_t through = 0;
  std::size_t queued = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = moves_out_.find(id);
    if (it == moves_out_.end()) return;
    actor = it->second.actor;
    target = it->second.target;
    through = it->second.through;
    queued = it->second.queued;
  }
  auto forwarder = std::make_shared<remote_actor>(weak_from_this(), actor, target);
  auto late = std::make_shared<std::vector<relayed>>();
  step s;
  s.actor = actor;
  s.exclusive = true;
  s.write = [this, actor, target, id, through, queued, late, forwarder](commit_batch& batch) -> std::uint64_t {
    // The package holds the messages up to `through`; those after it go to the target's outbox.
    const std::uint64_t last = relay_mailbox(batch, actor, target, through, *late, queued);
    // The record and its journal (empty: parking folded it in), without a range deletion per
    // move (a drain makes thousands).
    batch.erase_record_alone(actor);
    sys_.db->for_each_journal_entry_of(actor, [&](std::uint64_t seq, std::string_view) { batch.erase_journal_entry(actor, seq); });
    batch.clear_wake(actor);
    batch.put_tombstone(actor, id, target);
    // Every later batch forwards what is still written for the actor here.
    sys_.commits->redirect(actor, target, forwarder);
    return last;
  };
  s.on_written = [self = shared_from_this(), id, actor, forwarder] {
    std::shared_ptr<durable_cell> cell;
    {
      std::lock_guard lock(self->mutex_);
      self->moved_[actor] = forwarder;
      self->any_moved_.store(true, std::memory_order_release);
      auto it = self->moves_out_.find(id);
      if (it != self->moves_out_.end()) {
        it->second.at = move_out::phase::committed;
        cell = it->second.cell.lock();
        it->second.cell.reset();
        it->second.frame = encoded(wire::migrate_commit_frame{id, wire::name_for_peer(actor, it->second.target)});
        it->second.sent_on = nullptr;
      }
    }
    if (cell) cell->moved_away(forwarder);
  };
  s.on_commit = [self = shared_from_this(), id, target, actor, late] {
    kill_point("migration.source.committed");
    self->ship_relayed(actor, target, *late);
    {
      std::lock_guard lock(self->mutex_);
      auto it = self->moves_out_.find(id);
      if (it != self->moves_out_.end()) self->send_now(target, it->second.frame, it->second.sent_on, it->second.sent_at);
    }
    kill_point("migration.source.commit_sent");
  };
  sys_.submit(std::move(s));  // a closed store: the marker stays, and the next open aborts
}

// Step 6: the target runs the actor; the marker goes (the tombstone stays, for forwarding).
void node::move_done(std::uint64_t id) {
  std::string actor;
  {
    std::lock_guard lock(mutex_);
    auto it = moves_out_.find(id);
    if (it == moves_out_.end() || it->second.at != move_out::phase::committed || it->second.frame.empty()) return;
    actor = it->second.actor;
    it->second.frame.clear();  // retiring: nothing more to send
  }
  step s;
  s.actor = actor;
  s.write = [actor](commit_batch& batch) -> std::uint64_t {
    batch.clear_migration_marker(actor);
    return 0;
  };
  s.on_commit = [self = shared_from_this(), id] {
    move_callback done;
    {
      std::lock_guard lock(self->mutex_);
      auto it = self->moves_out_.find(id);
      if (it == self->moves_out_.end()) return;
      done = std::move(it->second.done);
      self->moving_.erase(it->second.actor);
      self->moves_out_.erase(it);
    }
    kill_point("migration.source.retired");
    if (done) done(nullptr);
  };
  sys_.submit(std::move(s));
}

void node::abort_move(std::uint64_t id, migration_errc code, const std::string& why) {
  move_out m;
  {
    std::lock_guard lock(mutex_);
    auto it = moves_out_.find(id);
    if (it == moves_out_.end()) return;
    if (it->second.at == move_out::phase::committing || it->second.at == move_out::phase::committed) return;
    if (it->second.at == move_out::phase::parking) {
      // Not parked yet: resumed when it is (parked()).
      it->second.aborted = true;
      m.done = std::move(it->second.done);
      m.actor = it->second.actor;
      m.target = it->second.target;
    } else {
      m = std::move(it->second);
      moving_.erase(m.actor);
      moves_out_.erase(it);
    }
  }
  auto tell = [m, code, why] {
    if (m.done) m.done(std::make_exception_ptr(migration_error(code, m.actor, m.target, why)));
  };
  if (m.at == move_out::phase::parking) return tell();
  // The marker goes; the target hears it (best effort: a target that does not asks later).
  step s;
  s.actor = m.actor;
  s.write = [actor = m.actor](commit_batch& batch) -> std::uint64_t {
    batch.clear_migration_marker(actor);
    return 0;
  };
  s.on_commit = [self = shared_from_this(), m, id, tell] {
    if (auto cell = m.cell.lock()) cell->resume_parked();
    {
      std::lock_guard lock(self->mutex_);
      const connection* sent_on = nullptr;
      std::chrono::steady_clock::time_point sent_at;
      self->send_now(m.target, encoded(wire::migrate_abort_frame{id, wire::name_for_peer(m.actor, m.target)}), sent_on,
                     sent_at);
    }
    tell();
  };
  if (!sys_.submit(std::move(s))) tell();  // shut down: the next open aborts it (its marker)
}

void node::answer_query(connection& c, const wire::migrate_query_frame& f) {
  const std::string actor = wire::name_from_peer(f.actor, c.peer(), config_.name);
  wire::migrate_outcome outcome = wire::migrate_outcome::aborted;
  bool known = false;
  {
    std::lock_guard lock(mutex_);
    if (auto it = moves_out_.find(f.id); it != moves_out_.end()) {
      known = true;
      outcome = it->second.at == move_out::phase::committed ? wire::migrate_outcome::committed
                                                            : wire::migrate_outcome::pending;
    }
  }
  if (!known && sys_.db)
    if (auto t = sys_.db->tombstone(actor); t && t->id == f.id) outcome = wire::migrate_outcome::committed;
  c.send(encoded(wire::migrate_outcome_frame{f.id, outcome}));
}

// ---- both -----------------------------------------------------------------------------------

std::uint64_t node::relay_mailbox(commit_batch& batch, const std::string& actor, const std::string& to,
                                  std::uint64_t above, std::vector<relayed>& out, std::size_t held) {
  const bool at_once = held >= long_mailbox;
  if (at_once) batch.clear_mailbox(actor);  // the whole range, those above `above` included
  sys_.db->for_each_message_of(
      actor,
      [&](std::uint64_t seq, std::string_view envelope) {
        if (!at_once) batch.consume(actor, seq);
        if (seq > above) out.push_back(relayed{seq, std::string(envelope)});
      },
      at_once ? above : 0);
  if (out.empty()) return 0;
  const std::uint64_t first = sys_.commits->reserve(out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].seq = first + i;
    batch.put_outbox(to, out[i].seq, wire::name_for_peer(actor, to), out[i].envelope);
  }
  return first + out.size() - 1;
}

void node::ship_relayed(const std::string& actor, const std::string& to, std::vector<relayed>& entries) {
  for (auto& e : entries) ship_durable(to, e.seq, std::string(wire::name_for_peer(actor, to)), std::move(e.envelope));
}

std::shared_ptr<actor_base> node::moved_from_here(const std::string& name) {
  if (!any_moved_.load(std::memory_order_acquire)) return nullptr;
  std::lock_guard lock(mutex_);
  auto it = moved_.find(name);
  return it == moved_.end() ? nullptr : it->second;
}

void node::send_now(const std::string& peer, const std::string& frame, const connection*& sent_on,
                    std::chrono::steady_clock::time_point& sent_at) {
  if (stopped_) return;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  peer_state& state = it->second;
  if (state.up && state.out) {
    state.out->send(frame);
    sent_on = state.out.get();
    sent_at = std::chrono::steady_clock::now();
  } else {
    dial(peer, state);
  }
}

void node::tick_migrations(std::chrono::steady_clock::time_point now) {
  std::vector<std::uint64_t> late;
  std::vector<move_request> unanswered;
  {
    std::lock_guard lock(mutex_);
    // A frame sent on a link that is still up and was answered by nothing for this long is sent
    // again (each is idempotent by id at the other end).
    const auto again = config_.heartbeat_timeout;
    auto due = [&](const std::string& peer, const connection* sent_on, std::chrono::steady_clock::time_point sent_at) {
      auto it = peers_.find(peer);
      if (it == peers_.end() || !it->second.up || !it->second.out) return false;
      return it->second.out.get() != sent_on || now - sent_at >= again;
    };
    for (auto& [id, m] : moves_out_) {
      if ((m.at == move_out::phase::parking || m.at == move_out::phase::offered) && now >= m.deadline) {
        late.push_back(id);
        continue;
      }
      if ((m.at == move_out::phase::offered || m.at == move_out::phase::committed) && !m.frame.empty() &&
          due(m.target, m.sent_on, m.sent_at))
        send_now(m.target, m.frame, m.sent_on, m.sent_at);
    }
    for (auto it = requests_out_.begin(); it != requests_out_.end();) {
      move_request& r = it->second;
      if (now >= r.deadline) {
        unanswered.push_back(std::move(r));
        it = requests_out_.erase(it);
        continue;
      }
      if (!r.sent_on || due(r.peer, r.sent_on, r.sent_at)) send_now(r.peer, r.frame, r.sent_on, r.sent_at);
      ++it;
    }
    for (auto it = aborts_.begin(); it != aborts_.end();) {
      const connection* sent_on = nullptr;
      std::chrono::steady_clock::time_point sent_at;
      send_now(it->target, it->frame, sent_on, sent_at);
      it = sent_on ? aborts_.erase(it) : std::next(it);
    }
    // A package held past the migration timeout (or found at open): its source is asked.
    for (auto& [actor, in] : moves_in_) {
      if (!in.stored || in.activating || now - in.since < config_.migration_timeout) continue;
      if (!due(in.source, in.asked_on, in.asked_at)) continue;
      send_now(in.source, encoded(wire::migrate_query_frame{in.id, wire::name_for_peer(actor, in.source)}), in.asked_on,
               in.asked_at);
    }
  }
  for (std::uint64_t id : late)
    abort_move(id, migration_errc::timed_out,
               "no answer from it within " + std::to_string(config_.migration_timeout.count()) + " ms");
  for (move_request& r : unanswered)
    r.done(std::make_exception_ptr(migration_error(
        migration_errc::unconfirmed, r.actor, r.target,
        "node \"" + r.peer + "\", which hosts it as far as this node knows, did not answer within " +
            std::to_string(2 * config_.migration_timeout.count()) + " ms; the move may or may not have happened")));
}

}  // namespace revenant::detail
