// Live migration (docs/migration.md): the source's side — park the actor, prepare (marker and
// package in one exclusive batch), offer, commit (tombstone, rows deleted, late messages to the
// outbox: the commit point), retire — and the target's — hold the package, activate it — with
// what a restart finds of either, and the forwarding of what still reaches the source.
#include <algorithm>
#include <unordered_map>

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

template <class Frame>
std::string encoded(const Frame& f) {
  std::string out;
  wire::encode(out, f);
  return out;
}

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

// ---- the source -----------------------------------------------------------------------------

std::future<void> node::migrate(std::string name, std::string target) {
  auto failed = [&](migration_errc code, const std::string& why) {
    std::promise<void> p;
    p.set_exception(std::make_exception_ptr(migration_error(code, name, target, why)));
    return p.get_future();
  };
  if (!sys_.db) return failed(migration_errc::no_store, "this node keeps no durable actors");
  auto busy = [&]() -> std::optional<std::future<void>> {
    if (stopped_) return failed(migration_errc::shutting_down, "this node is shutting down");
    if (target == config_.name || !peers_.contains(target))
      return failed(migration_errc::unknown_node, "it is not a peer of node \"" + config_.name + "\"");
    for (const auto& [_, m] : moves_out_)
      if (m.actor == name) return failed(migration_errc::busy, "it is being moved to \"" + m.target + "\" already");
    if (moved_.contains(name)) return failed(migration_errc::unknown_actor, "it has moved from this node");
    if (moves_in_.contains(name)) return failed(migration_errc::unknown_actor, "it is moving to this node");
    return std::nullopt;
  };
  {
    std::lock_guard lock(mutex_);
    if (auto refused = busy()) return std::move(*refused);
  }
  const std::shared_ptr<actor_cell> cell = sys_.resolve_cell(name);
  if (!cell) {
    try {
      std::rethrow_exception(sys_.no_actor(name));
    } catch (const actor_quarantined& e) {
      return failed(migration_errc::quarantined, e.what());
    } catch (const std::exception& e) {
      return failed(migration_errc::unknown_actor, "no actor of that name runs here");
    }
  }
  if (!cell->durable())
    return failed(migration_errc::not_durable,
                  "it is a transient actor: its state and messages live in this process's memory only");
  const std::uint64_t id = sys_.commits->reserve(1);
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> result = done->get_future();
  {
    std::lock_guard lock(mutex_);
    if (auto refused = busy()) return std::move(*refused);
    move_out& m = moves_out_[id];
    m.actor = name;
    m.target = target;
    m.cell = std::static_pointer_cast<durable_cell>(cell);
    m.deadline = std::chrono::steady_clock::now() + config_.migration_timeout;
    m.done = done;
  }
  // Step 1: the actor's run ends at the probe, with a full checkpoint; it stays parked.
  cell->enqueue(make_message<migrate_probe>(migrate_probe{[self = shared_from_this(), id](bool checkpointed) {
    self->parked(id, checkpointed);
  }}));
  return result;
}

void node::parked(std::uint64_t id, bool checkpointed) {
  std::string actor, target;
  std::shared_ptr<durable_cell> cell;
  std::shared_ptr<std::promise<void>> done;
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
      moves_out_.erase(it);
    }
  }
  if (aborted) {
    if (cell && checkpointed) cell->resume_parked();
    return;  // the caller was told when it was given up
  }
  if (!checkpointed) {
    if (done)
      done->set_exception(std::make_exception_ptr(migration_error(
          migration_errc::quarantined, actor, target, "its state could not be checkpointed: it is quarantined")));
    return;
  }
  // Step 2: the marker and the package, read from the store once everything before is in it.
  struct prepared {
    std::string frame;
    std::uint64_t through = 0;
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
  {
    std::lock_guard lock(mutex_);
    auto it = moves_out_.find(id);
    if (it == moves_out_.end()) return;
    actor = it->second.actor;
    target = it->second.target;
    through = it->second.through;
  }
  auto forwarder = std::make_shared<remote_actor>(weak_from_this(), actor, target);
  struct late_entry {
    std::uint64_t seq;
    std::string envelope;
  };
  auto late = std::make_shared<std::vector<late_entry>>();
  step s;
  s.actor = actor;
  s.exclusive = true;
  s.write = [this, actor, target, id, through, late, forwarder](commit_batch& batch) -> std::uint64_t {
    std::vector<late_entry> found;
    sys_.db->for_each_message_of(actor, [&](std::uint64_t seq, std::string_view envelope) {
      batch.consume(actor, seq);
      if (seq > through) found.push_back(late_entry{seq, std::string(envelope)});
    });
    batch.erase_record(actor);  // and its journal
    batch.clear_wake(actor);
    batch.put_tombstone(actor, id, target);
    std::uint64_t last = 0;
    if (!found.empty()) {
      const std::uint64_t first = sys_.commits->reserve(found.size());
      for (std::size_t i = 0; i < found.size(); ++i) {
        found[i].seq = first + i;
        batch.put_outbox(target, found[i].seq, wire::name_for_peer(actor, target), found[i].envelope);
      }
      last = first + found.size() - 1;
    }
    *late = std::move(found);
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
    for (auto& e : *late) self->ship_durable(target, e.seq, std::string(wire::name_for_peer(actor, target)), std::move(e.envelope));
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
    std::shared_ptr<std::promise<void>> done;
    {
      std::lock_guard lock(self->mutex_);
      auto it = self->moves_out_.find(id);
      if (it == self->moves_out_.end()) return;
      done = std::move(it->second.done);
      self->moves_out_.erase(it);
    }
    kill_point("migration.source.retired");
    if (done) done->set_value();
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
      moves_out_.erase(it);
    }
  }
  auto tell = [m, code, why] {
    if (m.done) m.done->set_exception(std::make_exception_ptr(migration_error(code, m.actor, m.target, why)));
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

// ---- the target -----------------------------------------------------------------------------

void node::take_offer(connection& c, const wire::migrate_offer_frame& f) {
  auto answer = [&](wire::migrate_status status, std::string_view reason = {}) {
    c.send(encoded(wire::migrate_accept_frame{f.id, status, reason}));
  };
  if (!sys_.db) return answer(wire::migrate_status::no_store);
  migration_package p;
  try {
    p = decode_migration_package(f.package, "migration package " + std::to_string(f.id) + " from node \"" + c.peer() + "\"");
  } catch (const snapshot_error& e) {
    return answer(wire::migrate_status::bad_package, e.what());
  }
  if (!p.journal.empty())
    return answer(wire::migrate_status::bad_package,
                  "it carries journal entries; this node takes packages whose journal is folded into the record");
  const std::string actor = wire::name_from_peer(p.actor, c.peer(), config_.name);
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return answer(wire::migrate_status::shutting_down);
    if (auto it = moves_in_.find(actor); it != moves_in_.end()) {
      if (it->second.id != f.id) return answer(wire::migrate_status::busy);
      it->second.answer_on = c.weak_from_this();
      if (it->second.stored) answer(wire::migrate_status::accepted);  // a lost answer: said again
      return;
    }
  }
  bool quarantined = false;
  {
    std::lock_guard lock(sys_.mutex);
    quarantined = sys_.quarantine_list.contains(actor);
  }
  if (quarantined || sys_.resolve_cell(actor)) return answer(wire::migrate_status::exists);
  // Numbers of this node's own for the package's messages: below any later message's.
  const std::uint64_t first = p.mailbox.empty() ? 0 : sys_.commits->reserve(p.mailbox.size());
  for (std::size_t i = 0; i < p.mailbox.size(); ++i) p.mailbox[i].seq = first + i;
  p.actor = actor;
  const std::uint64_t reserved_through = p.mailbox.empty() ? 0 : first + p.mailbox.size() - 1;
  std::string bytes = encode_migration_package(p);
  {
    std::lock_guard lock(mutex_);
    if (moves_in_.contains(actor)) return answer(wire::migrate_status::busy);  // raced with another offer
    move_in& in = moves_in_[actor];
    in.id = f.id;
    in.source = c.peer();
    in.package = std::move(p);
    in.answer_on = c.weak_from_this();
  }
  step s;
  s.actor = actor;
  s.reserved_through = reserved_through;
  s.write = [actor, id = f.id, source = c.peer(), bytes = std::move(bytes)](commit_batch& batch) -> std::uint64_t {
    batch.put_incoming(actor, id, source, bytes);
    return 0;
  };
  s.on_commit = [self = shared_from_this(), actor, id = f.id] {
    std::shared_ptr<connection> on;
    {
      std::lock_guard lock(self->mutex_);
      auto it = self->moves_in_.find(actor);
      if (it == self->moves_in_.end() || it->second.id != id) return;
      it->second.stored = true;
      it->second.since = std::chrono::steady_clock::now();
      on = it->second.answer_on.lock();
    }
    kill_point("migration.target.accepted");
    if (on) on->send(encoded(wire::migrate_accept_frame{id, wire::migrate_status::accepted, {}}));
    kill_point("migration.target.accept_sent");
  };
  if (!sys_.submit(std::move(s))) {
    std::lock_guard lock(mutex_);
    moves_in_.erase(actor);
    return answer(wire::migrate_status::shutting_down);
  }
}

void node::take_commit(connection& c, const wire::migrate_commit_frame& f) {
  const std::string actor = wire::name_from_peer(f.actor, c.peer(), config_.name);
  {
    std::lock_guard lock(mutex_);
    auto it = moves_in_.find(actor);
    if (it != moves_in_.end() && it->second.id == f.id) {
      it->second.answer_on = c.weak_from_this();
      if (!it->second.stored || it->second.activating) return;  // answered once that is done
    } else {
      // Activated already (the answer was lost), or never held here: the target's part is done.
      c.send(encoded(wire::migrate_done_frame{f.id}));
      return;
    }
  }
  activate(actor, c.weak_from_this());
}

void node::take_outcome(const wire::migrate_outcome_frame& f) {
  std::string actor, source;
  {
    std::lock_guard lock(mutex_);
    for (auto& [name, in] : moves_in_)
      if (in.id == f.id && in.stored && !in.activating) {
        actor = name;
        source = in.source;
      }
  }
  if (actor.empty()) return;
  if (f.outcome == wire::migrate_outcome::committed) return activate(actor, {});
  if (f.outcome == wire::migrate_outcome::aborted) take_abort(source, f.id, actor);
}

void node::take_abort(const std::string& source, std::uint64_t id, const std::string& actor) {
  std::shared_ptr<durable_cell> cell;
  {
    std::lock_guard lock(mutex_);
    auto it = moves_in_.find(actor);
    // Not yet stored: its write answers nothing more once it is; the age check asks the source.
    if (it == moves_in_.end() || it->second.id != id || it->second.source != source || !it->second.stored ||
        it->second.activating)
      return;
    cell = std::move(it->second.cell);
    moves_in_.erase(it);
  }
  step s;
  s.actor = actor;
  s.write = [actor](commit_batch& batch) -> std::uint64_t {
    batch.clear_incoming(actor);
    return 0;
  };
  if (cell) {
    // Messages reached it here before the move was decided (sent to this node by its placement,
    // not forwarded): the actor stays at its source, so they are dead letters.
    s.erase_mailbox = true;
    message* rest = cell->take_queued();
    while (rest != nullptr) {
      message_ptr m(rest);
      rest = std::exchange(message_fields::next(*m), nullptr);
      if (!is_runtime_signal(*m)) sys_.dead(actor, std::move(m), dead_letter_reason::stopped);
    }
    sys_.forget(*cell);
  }
  sys_.submit(std::move(s));
}

std::shared_ptr<actor_cell> node::incoming_cell(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = moves_in_.find(name);
  if (it == moves_in_.end()) return nullptr;
  if (it->second.cell) return it->second.cell;
  auto cell = std::static_pointer_cast<durable_cell>(sys_.make_durable_cell(name, behavior{}, supervision{}, false));
  cell->hold();  // not runnable until activated
  {
    std::lock_guard directory(sys_.mutex);
    if (!sys_.named.insert(cell)) return nullptr;  // cannot be: the name is neither hosted nor stored here
  }
  it->second.cell = cell;
  return cell;
}

bool node::holds_incoming(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return moves_in_.contains(name);
}

// Step 5: the package becomes the actor's rows (one batch, which deletes the package record),
// and the actor runs: its package's messages first, then what came for it since.
void node::activate(const std::string& actor, std::weak_ptr<connection> answer) {
  move_in held;
  {
    std::lock_guard lock(mutex_);
    auto it = moves_in_.find(actor);
    if (it == moves_in_.end() || it->second.activating) return;
    it->second.activating = true;
    if (auto on = answer.lock()) it->second.answer_on = answer;
    held.id = it->second.id;
    held.source = it->second.source;
    held.package = it->second.package;
  }
  std::shared_ptr<durable_cell> cell = std::static_pointer_cast<durable_cell>(incoming_cell(actor));
  if (!cell) return;  // shut down
  // In the order they were sent: the package's, then what arrived for the actor here since.
  message* later = cell->take_queued();
  for (const auto& e : held.package.mailbox) {
    message_ptr m;
    try {
      m = sys_.stored_message(e.envelope, e.seq, actor);
    } catch (const std::exception&) {
      continue;  // activation finds it again in the store and quarantines the actor
    }
    cell->enqueue(std::move(m));
  }
  if (held.package.wake) cell->enqueue(make_message<wake_up>());
  while (later != nullptr) {
    message_ptr m(later);
    later = std::exchange(message_fields::next(*m), nullptr);
    cell->enqueue(std::move(m));
  }
  step s;
  s.actor = actor;
  s.write = [this, actor, package = std::move(held.package)](commit_batch& batch) -> std::uint64_t {
    batch.put_record(actor, package.record);
    if (package.wake) batch.set_wake(actor);
    for (const auto& e : package.mailbox) batch.enqueue(actor, e.seq, e.envelope);
    batch.clear_incoming(actor);
    batch.clear_tombstone(actor);  // it may have lived here before
    sys_.commits->redirect(actor, {}, nullptr);
    return 0;
  };
  s.on_written = [self = shared_from_this(), actor, cell] {
    {
      std::lock_guard lock(self->mutex_);
      self->moves_in_.erase(actor);
      self->moved_.erase(actor);
    }
    cell->start();
  };
  s.on_commit = [self = shared_from_this(), id = held.id, source = held.source, answer] {
    kill_point("migration.target.activated");
    std::shared_ptr<connection> on = answer.lock();
    if (!on) {
      // The link the commit came on is gone (or the outcome came on this node's own): the
      // source's next migrate_commit is answered done at once.
      return;
    }
    on->send(encoded(wire::migrate_done_frame{id}));
    kill_point("migration.target.done_sent");
  };
  sys_.submit(std::move(s));
}

// ---- both -----------------------------------------------------------------------------------

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
}

void node::load_migrations() {
  if (!sys_.db) return;
  // Tombstones: forwarders, and the committer forwards what is still written for them here.
  std::unordered_map<std::string, std::uint64_t> tombstones;  // actor -> the id it moved under
  sys_.db->for_each_tombstone([&](std::string_view actor, const migration_note& note) {
    tombstones.emplace(std::string(actor), note.id);
    if (!peers_.contains(note.node)) {
      sys_.log(log_level::warning, "revenant: node \"" + config_.name + "\": actor \"" + std::string(actor) +
                                       "\" moved to \"" + note.node + "\", which is not a peer: not forwarded");
      return;
    }
    auto forwarder = std::make_shared<remote_actor>(weak_from_this(), std::string(actor), note.node);
    sys_.commits->redirect(std::string(actor), note.node, forwarder);
    moved_[std::string(actor)] = std::move(forwarder);
  });
  any_moved_.store(!moved_.empty(), std::memory_order_release);
  // Markers: a committed move (its tombstone has the same id) is finished (the commit is sent
  // again until the target answers); one that was not is aborted here (docs/migration.md 5).
  commit_batch aborted(*sys_.db);
  sys_.db->for_each_migration_marker([&](std::string_view actor, const migration_note& note) {
    const std::string name(actor);
    if (auto t = tombstones.find(name); t != tombstones.end() && t->second == note.id) {
      move_out& m = moves_out_[note.id];
      m.actor = name;
      m.target = note.node;
      m.at = move_out::phase::committed;
      m.frame = encoded(wire::migrate_commit_frame{note.id, wire::name_for_peer(name, note.node)});
      return;
    }
    aborted.clear_migration_marker(actor);
    if (peers_.contains(note.node))
      aborts_.push_back(abort_notice{note.node, encoded(wire::migrate_abort_frame{note.id, wire::name_for_peer(name, note.node)})});
  });
  if (!aborted.empty()) sys_.db->commit(aborted, sys_.durable->fsync);
  // Packages held here: asked about at once (the epoch is long past).
  sys_.db->for_each_incoming([&](std::string_view actor, const incoming_package& in) {
    move_in& held = moves_in_[std::string(actor)];
    held.id = in.id;
    held.source = in.source;
    held.stored = true;
    try {
      held.package = decode_migration_package(in.package, "held migration package of actor \"" + std::string(actor) + "\"");
    } catch (const snapshot_error& e) {
      // The store's checksum passed, so this is not expected; the package stays, not runnable.
      sys_.log(log_level::error, std::string("revenant: ") + e.what() + "; it is kept and not activated");
      held.activating = true;
    }
  });
}

}  // namespace revenant::detail
