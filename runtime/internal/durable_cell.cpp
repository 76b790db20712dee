// A durable actor's cell: admission of its messages (any thread), the hooks its run loop calls
// (a run, a message, a send, parking for a move), and the system's durable side (making,
// starting and quarantining durable actors). Records, journal and steps: durable_cell_steps.cpp.
#include "runtime/internal/durable_cell.hpp"

#include <stdexcept>

#include "actors/internal/access.hpp"
#include "runtime/internal/state_image.hpp"
#include "storage/envelope.hpp"

namespace revenant::detail {

durable_cell::durable_cell(system_ptr system, std::uint64_t id, std::string name, behavior initial,
                           supervision policy, bool loaded)
    : actor_cell(std::move(system), id, std::move(name), std::move(initial), policy, durable_tag{}), loaded_(loaded) {}

bool durable_cell::journaling() const noexcept { return system().durable->snapshot_every > 1; }

// ---- admission (any thread) ---------------------------------------------------------------------

bool durable_cell::admit(message_ptr& m, std::optional<completion>& ack) {
  if (moved()) [[unlikely]] {
    // Moved to another node. A stored message (a durable sender's, released by the committer)
    // went with the actor or was forwarded by the committer; anything else is forwarded now.
    if (detail::message_fields::durable_seq(*m) != 0) {
      if (ack) ack->set_value();
      return false;
    }
    auto to = moved_to();
    if (ack)
      recipient_of(to).deliver_acknowledged(std::move(m), std::move(*ack));
    else
      to->enqueue(std::move(m));
    return false;
  }
  if (detail::message_fields::durable_seq(*m) != 0) {  // from a durable actor: written with its step
    if (ack) ack->set_value();
    return true;
  }
  // From outside, or from a transient actor: written to the mailbox before it is queued, so the
  // step that consumes it commits after it (same or later group). It may be handled before that
  // commit: nobody's rolled-back state can depend on it.
  const auto& sender = detail::message_fields::sender(*m);
  std::string envelope;
  try {
    // An unnamed sender (an outside asker, a transient actor) is named as a link names it, so
    // that a reply reaches it from wherever this message is handled (another node, after a move).
    envelope = encode_envelope(*m, sender ? system().name_of(sender) : "");
  } catch (...) {
    if (!ack) throw;  // to whoever sent it (tell)
    ack->set_exception(std::current_exception());
    return false;
  }
  step s;
  s.actor = name();
  s.outbox.push_back(outgoing{shared_from_this(), nullptr, std::move(envelope), 0, !ack && !sender});
  s.ack = std::move(ack);
  const auto seq = system().submit(std::move(s));
  if (!seq) {  // the store is closed: the system has shut down
    system().dead(name(), std::move(m), dead_letter_reason::shutdown);
    return false;
  }
  detail::message_fields::durable_seq(*m) = *seq;
  return true;
}

void durable_cell::refused(const message& m) {
  if (const std::uint64_t seq = detail::message_fields::durable_seq(m)) system().discard(name(), seq);
}

// ---- a run ----------------------------------------------------------------------------------------

bool durable_cell::run_starts() {
  run_state().wall = to_wall(std::chrono::steady_clock::now());  // before a journal replay numbers sends
  if (!loaded_) {
    if (!activate()) return false;
    system().recovered.activated.fetch_add(1, std::memory_order_relaxed);
  }
  return !ended_;
}

bool durable_cell::take_signal(const message& m) {
  if (m.is<lift_probe>()) {
    run_state().lift_reached = true;
    return true;
  }
  if (const auto* probe = m.get_if<migrate_probe>()) {
    run_state().park = probe->parked;
    return true;
  }
  if (m.is<order_check>()) {
    if (!order_) return true;
    const auto timeout = system().durable->order_timeout;
    for (auto& late : order_->take_overdue(timeout)) {
      system().order_gaps.fetch_add(1, std::memory_order_relaxed);
      system().log(log_level::warning,
                   "revenant: actor \"" + name() + "\"" + system().store_context() + " gave up waiting " +
                       std::to_string(timeout.count()) + " ms for messages " + std::to_string(late.missing_from) +
                       (late.missing_to == late.missing_from ? "" : " to " + std::to_string(late.missing_to)) +
                       " of \"" + late.sender + "\" and handles the next one");
      box().put_back(std::move(late.m));
    }
    order_->arm(*system().io, weak_from_this(), timeout);
    return true;
  }
  return m.is<wake_up>();
}

bool durable_cell::hold_back(message_ptr& m) {
  const std::uint64_t n = detail::message_fields::order(*m);
  if (n == 0) return false;  // unnumbered: from outside, or from a transient actor
  const auto& sender = detail::message_fields::sender(*m);
  if (!sender) return false;  // its sender is gone: nothing to order it with
  const auto timeout = system().durable->order_timeout;
  if (!order().hold(m, sender->name(), n, run_state().wall, timeout)) return false;
  order_->arm(*system().io, weak_from_this(), timeout);
  return true;
}

cell_durability::mark durable_cell::message_starts() {
  run_buffers& run = run_state();
  return mark{run.outbox.size(), run.children.size(), run.numbered.size()};
}

void durable_cell::message_done(const message& m, mark before, bool call_failed, bool kept) {
  // What a failed call sent is not sent. A message that made the actor fail for good stays in
  // the store with the quarantined actor; one that supervision got past is consumed.
  if (call_failed) {
    run_state().outbox.resize(before.sent);
    abandon_children(before.spawned);
    withdraw_numbers(before.numbered);
  }
  run_state().numbered.clear();
  if (const std::uint64_t seq = detail::message_fields::durable_seq(m); seq != 0 && !kept) run_state().consumed.push_back(seq);
  if (journaling() && !kept) journal(m);
  if (order_) release_next(m);
}

void durable_cell::withdraw_numbers(std::size_t from) {
  auto& numbered = run_state().numbered;
  // Latest first: each is the last number its recipient was given when it is withdrawn.
  for (std::size_t i = numbered.size(); i > from; --i) order().withdraw(numbered[i - 1].first, numbered[i - 1].second);
  numbered.resize(from);
}

void durable_cell::release_next(const message& m) {
  if (detail::message_fields::order(m) == 0) return;
  const auto& sender = detail::message_fields::sender(m);
  if (!sender) return;
  if (message_ptr next = order_->next_in_line(sender->name())) box().put_back(std::move(next));
}

bool durable_cell::stage(const actor_ref& to, message_ptr& m) {
  const auto& target = detail::ref_access::base(to);
  // Numbered per durable recipient (docs/migration.md 9), in a replay too: the counter must come
  // out as it did when the step was first taken.
  if (recipient_of(target).named_everywhere() && !target->name().starts_with('$')) {
    const std::uint64_t n = order().number(target->name(), run_state().wall);
    detail::message_fields::order(*m) = n;
    run_state().numbered.emplace_back(target->name(), n);
  }
  if (replaying_) return true;  // sent when the step was first taken, and committed
  // Released once this step is committed, the way the recipient says.
  run_state().outbox.push_back(recipient_of(target).staged(target, std::move(m), name()));
  return true;
}

bool durable_cell::parks() {
  if (!buffers_ || !buffers_->park) return false;
  auto parked = std::exchange(buffers_->park, nullptr);
  // Messages of a sender new to this actor may take a longer path than its later ones for a
  // while: the record that moves says since when (docs/migration.md 9).
  order().set_moved(run_state().wall);
  // A full record: the journal folds into it, so the package carries none (migration.md 3).
  const bool checkpointed = checkpoint(true);
  parked(checkpointed);
  return true;
}

void durable_cell::moved_away(std::shared_ptr<detail::actor_base> forwarder) {
  set_moved(std::move(forwarder));
  // What was queued or held is in the package or was forwarded with the commit (runtime signals
  // aside: the record re-arms its timers and asks at the target).
  if (order_) (void)order_->take_held();
  message* rest = take_queued();
  while (rest != nullptr) {
    message_ptr m(rest);
    rest = std::exchange(detail::message_fields::next(*m), nullptr);
  }
  release_graph();
  system().forget(*this);
}

outgoing durable_cell::staged(std::shared_ptr<detail::actor_base> self, message_ptr m, const std::string& sender) {
  if (moved()) [[unlikely]] {
    auto to = moved_to();
    return recipient_of(to).staged(to, std::move(m), sender);
  }
  // std::logic_error if the type is not registered
  std::string envelope = encode_envelope(*m, sender, &system());
  return outgoing{std::move(self), std::move(m), std::move(envelope), 0};
}

void durable_cell::timer_set(const detail::timer_payload& payload) {
  const message_ptr sample = payload.make();
  if (sample->registration() == nullptr)
    throw std::logic_error("revenant: durable actor \"" + name() + "\" set a timer delivering " +
                           std::string(sample->type_name()) +
                           ", which is not a registered message type (revenant::message_type)");
}

actor_ref durable_cell::spawn_child(std::string child_name, behavior initial, supervision policy) {
  // Committed when the step replayed was first taken: that child is the one to return.
  if (replaying_) return actor_ref(system().resolve(child_name));
  auto child = std::static_pointer_cast<durable_cell>(
      system().make_durable_cell(child_name, std::move(initial), policy, true));
  try {
    step first = child->first_step();
    const bool was_stored = system().stored(child_name);
    auto d = system().actors.lock();
    d.check_free(child_name, was_stored);
    d.begin_spawn(child_name);
    run_state().children.push_back(
        run_buffers::child{child, step::spawned{child_name, std::move(first.record_bytes), first.wake == 1}});
  } catch (...) {
    child->release_unborn();
    throw;
  }
  return actor_ref(std::move(child));
}

bool durable_cell::run_ends() { return checkpoint(); }

void durable_cell::failing(const std::string& detail) {
  system().log(log_level::error,
               "revenant: actor \"" + name() + "\"" + system().store_context() + " quarantined: " + detail);
}

message* durable_cell::finishing(dead_letter_reason reason, message* rest) {
  if (order_)  // held messages are queued ones as far as the end is concerned
    for (auto& held : order_->take_held()) {
      detail::message_fields::next(*held) = rest;
      rest = held.release();
    }
  if (reason != dead_letter_reason::shutdown && !ended_) commit_end(rest);
  abandon_children(0);  // a run that ended without a step (shutdown)
  if (buffers_ && buffers_->lift_waiter) {
    // Lifted, and shut down before it handled what it kept (a failure answered it above).
    std::exchange(buffers_->lift_waiter, nullptr)
        ->set_exception(std::make_exception_ptr(std::logic_error(
            "revenant: the actor system shut down before \"" + name() + "\" handled its kept messages")));
  }
  if (reason != dead_letter_reason::shutdown) return rest;
  // Still in the store: handled by the next process, not dead.
  while (rest != nullptr) {
    message_ptr m(rest);
    rest = std::exchange(detail::message_fields::next(*m), nullptr);
    if (detail::message_fields::durable_seq(*m) == 0 && !is_runtime_signal(*m)) system().dead(name(), std::move(m), reason);
  }
  return nullptr;
}

}  // namespace revenant::detail

// ---- the system's durable side --------------------------------------------------------------------

namespace revenant {

using detail::durable_cell;
using detail::step;

std::shared_ptr<detail::actor_cell> detail::system::make_durable_cell(std::string name, behavior initial,
                                                                                  supervision policy, bool loaded) {
  return std::make_shared<durable_cell>(shared_from_this(), next_id.fetch_add(1, std::memory_order_relaxed),
                                        std::move(name), std::move(initial), policy, loaded);
}

std::future<void> detail::system::start_durable(const std::shared_ptr<actor_cell>& cell) {
  durable_cell& made = *detail::durable_of(*cell);
  try {
    // Encoded before the actor is visible: nobody can run it meanwhile.
    step first = made.first_step();
    std::promise<void> committed;
    std::future<void> done = committed.get_future();
    first.ack.emplace(std::move(committed));
    const bool was_stored = stored(cell->given_name());
    auto d = actors.lock();
    d.check_free(cell->given_name(), was_stored);  // throws after shutdown: commits is still open
    d.add(cell);
    // Submitted under the directory's lock, so its record precedes any step the actor itself
    // commits.
    commits->submit(std::move(first));
    return done;
  } catch (...) {
    made.release_unborn();
    throw;
  }
}

std::optional<std::uint64_t> detail::system::submit(step s) {
  // Under the mutex: shutdown closes the store under it, and a closed cell can still be sent to.
  std::lock_guard lock(mutex);
  if (!commits) return std::nullopt;
  return commits->submit(std::move(s));
}

void detail::system::note_quarantined(const std::string& name, const std::string& reason) {
  recovered.quarantined.fetch_add(1, std::memory_order_relaxed);
  actors.lock().quarantine(name, reason);
}

void detail::system::quarantine(const std::string& name, const std::string& reason,
                                    std::function<void()> on_commit) {
  log(log_level::error, "revenant: actor \"" + name + "\"" + store_context() + " quarantined: " + reason);
  note_quarantined(name, reason);
  step s;
  s.actor = name;
  s.quarantine = reason;
  s.on_commit = std::move(on_commit);
  submit(std::move(s));
}

void detail::system::discard(const std::string& name, std::uint64_t seq) {
  if (actors.lock().quarantined(name)) return;  // kept with the actor
  step s;
  s.actor = name;
  s.consumed.push_back(seq);
  submit(std::move(s));
}

}  // namespace revenant
