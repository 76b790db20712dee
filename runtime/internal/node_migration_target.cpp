// Live migration (docs/migration.md), the target's side: hold an offered package, activate it
// when the source commits, drop it when the source aborts; and what a restart finds of either
// side's records (markers, packages, tombstones).
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

using wire::encoded;

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
  const bool quarantined = sys_.actors.lock().quarantined(actor);
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
  std::shared_ptr<remote_actor> forwarder;  // its tombstone's, if it lived here before
  {
    std::lock_guard lock(mutex_);
    auto it = moves_in_.find(actor);
    // Not yet stored: its write answers nothing more once it is; the age check asks the source.
    if (it == moves_in_.end() || it->second.id != id || it->second.source != source || !it->second.stored ||
        it->second.activating)
      return;
    cell = std::move(it->second.cell);
    moves_in_.erase(it);
    if (auto m = moved_.find(actor); m != moved_.end()) forwarder = std::static_pointer_cast<remote_actor>(m->second);
  }
  if (cell) {
    // Its queue is in its stored mailbox: forwarded below.
    message* rest = cell->take_queued();
    while (rest != nullptr) {
      message_ptr m(rest);
      rest = std::exchange(message_fields::next(*m), nullptr);
    }
    sys_.forget(*cell);
  }
  // Messages taken here for it while the move was open (sent to this node by its placement) are
  // durable: the actor stays where it is, so they go there, in the order they were taken — one
  // batch deletes them from the mailbox and writes them to the outbox. (They were dropped as dead
  // letters before.) Exclusive: every step that wrote for it before is in the store when this
  // reads its mailbox.
  auto moved_on = std::make_shared<std::vector<relayed>>();
  const std::string to = forwarder ? forwarder->route() : source;
  step s;
  s.actor = actor;
  s.exclusive = true;
  s.write = [this, actor, to, moved_on](commit_batch& batch) -> std::uint64_t {
    batch.clear_incoming(actor);
    return relay_mailbox(batch, actor, to, 0, *moved_on);
  };
  s.on_commit = [self = shared_from_this(), actor, to, moved_on] { self->ship_relayed(actor, to, *moved_on); };
  sys_.submit(std::move(s));
}

std::shared_ptr<actor_cell> node::incoming_cell(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = moves_in_.find(name);
  if (it == moves_in_.end()) return nullptr;
  if (it->second.cell) return it->second.cell;
  auto cell = std::static_pointer_cast<durable_cell>(sys_.make_durable_cell(name, behavior{}, supervision{}, false));
  cell->hold();  // not runnable until activated
  std::vector<std::string> peers;
  for (const auto& [peer, where] : config_.peers) peers.push_back(peer);
  cell->arriving(peers);
  if (!sys_.actors.lock().add(cell)) return nullptr;  // cannot be: the name is neither hosted nor stored here
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
  // In the order they were sent: the package's, then what arrived for the actor here since. The
  // package goes in front of the held queue in one step: deliveries to the held cell go on
  // meanwhile (the committer's, a link's), and each lands behind it, in its own order. (Taking
  // the queue out and putting it back let one delivered between the two overtake the rest.)
  message* first = nullptr;
  message** tail = &first;
  auto append = [&](message_ptr m) {
    *tail = m.release();
    tail = &message_fields::next(**tail);
  };
  for (const auto& e : held.package.mailbox) {
    try {
      append(sys_.stored_message(e.envelope, e.seq, actor));
    } catch (const std::exception&) {
      continue;  // activation finds it again in the store and quarantines the actor
    }
  }
  if (held.package.wake) append(make_message<wake_up>());
  cell->queue_first(first);
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
      moving_[name] = note.id;
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
