// A durable actor's state on its way to the store and back: its record (encoded, and taken up
// again at activation), journal mode, and the steps that commit a run's work (checkpoints, the
// end, the children it spawned). Admission and the run loop's hooks are durable_cell.cpp's.
#include <stdexcept>

#include "actors/internal/access.hpp"
#include "runtime/internal/durable_cell.hpp"
#include "runtime/internal/state_image.hpp"
#include "storage/envelope.hpp"

namespace revenant::detail {

// ---- records ------------------------------------------------------------------------------------

std::string durable_cell::encode_record() {
  const actor_image image = capture_image(state(), box().capacity(), name());
  const std::string snapshot = encode_snapshot(image);
  std::string order;  // none: a version-1 record
  if (order_ && !order_->empty()) {
    const std::int64_t now = buffers_ ? buffers_->wall : to_wall(std::chrono::steady_clock::now());
    const order_image tables = order_->image(now, system().durable->order_forget_after);
    if (!tables.sent.empty() || !tables.handled.empty() || tables.moved != 0) order = encode_snapshot(tables);
  }
  actor_record_info info;
  info.behavior = std::string(state().current.function_name());
  info.pending_asks = static_cast<std::uint32_t>(image.pending.size());
  info.timers = static_cast<std::uint32_t>(image.timers.size());
  info.steps = ++steps_;
  return encode_actor_record(info, snapshot, order);
}

step durable_cell::first_step() {
  step s;
  s.actor = name();
  s.record = step::record_op::put;
  s.record_bytes = encode_record();
  const bool waiting = has_waiting();
  if (waiting) s.wake = 1;
  wake_stored_ = waiting;
  return s;
}

bool durable_cell::activate(std::optional<std::string_view> record_bytes) {
  // The subject an error names is composed only when there is an error (this runs a million
  // times in an eager open).
  auto subject = [&] { return "actor \"" + name() + "\""; };
  try {
    std::optional<std::string> read;
    if (!record_bytes) {
      read = system().db->record(name());
      if (!read) throw std::runtime_error("its record is missing from the store");
      record_bytes = *read;
    }
    actor_record_view record;
    auto decode = [&] {
      try {
        record = decode_actor_record(*record_bytes, {});
        return decode_snapshot<actor_image>(record.snapshot, {}, &system());
      } catch (const snapshot_error& e) {
        throw e.with_subject(subject());
      }
    };
    actor_image image = decode();  // built in place: no default image to assign over
    for (const auto& t : image.timers) (void)decode_envelope(t.payload, "timer payload of " + subject(), &system());
    if (!record.order.empty()) order().restore(read_order_tables(record.order, subject()));
    loaded_ = true;
    steps_ = record.steps;
    const restored_state restored =
        restore_image(std::move(image), state(), [this]() -> actor_clock& { return clock(); }, &system(), given_name());
    box().set_capacity(restored.capacity);
    // Only when there is something to add: these counters are shared by every recovering thread.
    if (restored.continuations != 0)
      system().recovered.continuations.fetch_add(restored.continuations, std::memory_order_relaxed);
    if (restored.timers != 0) system().recovered.timers.fetch_add(restored.timers, std::memory_order_relaxed);
    wake_stored_ = has_waiting();
    if (replay_stored_journal_ || (!system().journaled.empty() && system().journaled.contains(given_name())))
      replay_journal();
  } catch (const std::exception& e) {
    quarantine_now(e.what());
    return false;
  }
  return true;
}

void durable_cell::quarantine_now(const std::string& reason) {
  ended_ = true;
  system().quarantine(name(), reason, lift_failed(reason));
  mark_failed(reason);
  finish(dead_letter_reason::stopped);
}

void durable_cell::lift(std::vector<message_ptr> kept, std::shared_ptr<std::promise<void>> waiter) {
  kept.push_back(make_message<lift_probe>());
  run_state().lift_waiter = std::move(waiter);
  replay_stored_journal_ = true;
  message* fifo = nullptr;
  for (auto it = kept.rbegin(); it != kept.rend(); ++it) {
    detail::message_fields::next(**it) = fifo;
    fifo = it->release();
  }
  box().put_first(fifo);  // worker side, but no worker runs this actor before start()
}

// ---- journal mode -------------------------------------------------------------------------------

void durable_cell::journal(const message& m) {
  auto add_entry = [&](const message& entry) {
    const auto& sender = detail::message_fields::sender(entry);
    run_state().journal.push_back(outgoing{nullptr, nullptr, encode_envelope(entry, sender ? sender->name() : ""), 0});
  };
  if (m.is<ask_check>()) {
    if (!state().clock) return;
    for (std::uint64_t request : state().clock->timed_out()) {
      message_ptr e = make_message<ask_error>(ask_error{ask_errc::timeout});
      detail::message_fields::response_to(*e) = request;
      add_entry(*e);
    }
  } else if (!m.is<wake_up>() && !m.is<lift_probe>() && !m.is<migrate_probe>() && !m.is<order_check>()) {
    add_entry(m);
  }
}

void durable_cell::replay_journal() {
  // An eager open replays outside any run: the sends numbered again are as recent as now.
  if (run_state().wall == 0) run_state().wall = to_wall(std::chrono::steady_clock::now());
  system().db->for_each_journal_entry_of(name(), [&](std::uint64_t seq, std::string_view envelope) {
    decoded_envelope d =
        decode_envelope(envelope, "journal entry " + std::to_string(seq) + " of actor \"" + name() + "\"", &system());
    if (!d.header.sender.empty()) detail::message_fields::sender(*d.value) = system().resolve_sender(d.header.sender);
    if (d.header.order != 0 && !d.header.sender.empty())
      order().replayed(d.header.sender, d.header.order, to_wall(std::chrono::steady_clock::now()));
    replaying_ = true;
    const std::size_t numbered = run_state().numbered.size();
    if (const auto* t = d.value->get_if<timer_fired>())
      fire(t->id);
    else
      handle(*d.value);
    replaying_ = false;
    // As when the step was first taken: a call that threw sent nothing (and a failure must not
    // carry over to the first message the actor handles after its activation).
    if (take_call_failed())
      withdraw_numbers(numbered);
    else
      run_state().numbered.resize(numbered);
    // A failure supervision did not get past leaves the state half-changed: replaying more
    // entries on it would only compound the damage (and fail again for each).
    if (has_failed())
      throw std::runtime_error("journal replay stopped at entry " + std::to_string(seq) + ": " +
                               (failure().empty() ? std::string("its behavior failed") : failure()));
    ++since_snapshot_;
    journal_stored_ = true;
  });
}

// ---- steps --------------------------------------------------------------------------------------

bool durable_cell::checkpoint(bool full_record) {
  step s;
  s.actor = name();
  const bool full = full_record || !journaling() || ++since_snapshot_ >= system().durable->snapshot_every;
  try {
    if (full) s.record_bytes = encode_record();
  } catch (const std::exception& e) {
    run_state().outbox.clear();
    run_state().consumed.clear();
    run_state().journal.clear();
    abandon_children(0);
    fail(std::string("its state could not be checkpointed: ") + e.what());
    finish(dead_letter_reason::stopped);
    return false;
  }
  if (full) {
    s.record = step::record_op::put;
    s.clear_journal = journal_stored_;
    journal_stored_ = false;
    since_snapshot_ = 0;
    run_state().journal.clear();
  } else {
    journal_stored_ = journal_stored_ || !run_state().journal.empty();
    s.journal.swap(run_state().journal);
  }
  s.consumed.swap(run_state().consumed);
  s.outbox.swap(run_state().outbox);
  commit_children(s);
  if (const bool waiting = has_waiting(); waiting != wake_stored_) {
    s.wake = waiting ? 1 : 0;
    wake_stored_ = waiting;
  }
  if (run_buffers& run = run_state(); std::exchange(run.lift_reached, false) && run.lift_waiter)
    s.on_commit = [waiter = std::exchange(run.lift_waiter, nullptr)] { waiter->set_value(); };
  system().submit(std::move(s));
  return true;
}

void durable_cell::commit_end(message* rest) {
  step s;
  s.actor = name();
  s.consumed.swap(run_state().consumed);
  if (has_failed()) {
    // The failed call may have changed the state halfway. Roll the whole unfinished step back
    // instead: the last committed record stays, every message of this run stays in the mailbox,
    // and nothing the run sent is released (the state that sent it is gone). Lifting the
    // quarantine would replay the run from the last record.
    s.consumed.clear();
    run_state().outbox.clear();
    run_state().journal.clear();
    abandon_children(0);
    s.quarantine = failure().empty() ? std::string("failed") : failure();
    s.on_commit = lift_failed(s.quarantine);
    system().note_quarantined(name(), s.quarantine);
  } else {
    s.record = step::record_op::erase;
    system().actors.lock().begin_erase(name());
    // A lifted actor that stops while handling what it kept has handled it.
    s.on_commit = [system = system_handle(), erased = name(),
                   waiter = buffers_ ? std::exchange(buffers_->lift_waiter, nullptr) : nullptr] {
      system->actors.lock().end_erase(erased);
      if (waiter) waiter->set_value();
    };
    s.outbox.swap(run_state().outbox);
    commit_children(s);
    if (wake_stored_) s.wake = 0;
    for (message* m = rest; m != nullptr; m = detail::message_fields::next(*m))
      if (const std::uint64_t seq = detail::message_fields::durable_seq(*m)) s.consumed.push_back(seq);
  }
  system().submit(std::move(s));
}

void durable_cell::abandon_children(std::size_t from) {
  if (!buffers_) return;
  auto& children = buffers_->children;
  if (children.size() <= from) return;
  {
    auto d = system().actors.lock();
    for (std::size_t i = from; i < children.size(); ++i) d.end_spawn(children[i].stored.actor);
  }
  for (std::size_t i = from; i < children.size(); ++i) children[i].cell->release_unborn();
  children.resize(from);
}

void durable_cell::commit_children(step& s) {
  if (!buffers_ || buffers_->children.empty()) return;
  std::vector<std::shared_ptr<actor_cell>> cells;
  for (auto& child : buffers_->children) {
    s.spawned_actors.push_back(std::move(child.stored));
    cells.push_back(std::move(child.cell));
  }
  buffers_->children.clear();
  s.on_written = [system = system_handle(), cells = std::move(cells)] {
    auto d = system->actors.lock();
    for (const auto& cell : cells) {
      d.end_spawn(cell->given_name());
      if (!d.finished()) d.add(cell);
    }
  };
}

std::function<void()> durable_cell::lift_failed(const std::string& reason) {
  if (!buffers_ || !buffers_->lift_waiter) return {};
  return [waiter = std::exchange(buffers_->lift_waiter, nullptr), name = name(), reason] {
    waiter->set_exception(std::make_exception_ptr(actor_quarantined(name, reason)));
  };
}

}  // namespace revenant::detail
