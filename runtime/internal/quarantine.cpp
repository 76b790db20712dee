// Quarantine: what the store keeps of an actor kept out of service, and the two ways out —
// lifting it (rebuilt, its kept messages handled first) or discarding it for good.
#include <chrono>
#include <stdexcept>
#include <thread>

#include "runtime/internal/durable_cell.hpp"
#include "storage/envelope.hpp"

namespace revenant {

using detail::durable_cell;
using detail::step;

std::vector<std::pair<std::uint64_t, std::string>> detail::system::stored_entries(
    bool journal, const std::string& actor) const {
  std::vector<std::pair<std::uint64_t, std::string>> entries;
  auto keep = [&](std::uint64_t seq, std::string_view envelope) { entries.emplace_back(seq, std::string(envelope)); };
  if (journal)
    db->for_each_journal_entry_of(actor, keep);
  else
    db->for_each_message_of(actor, keep);
  return entries;
}

quarantined_actor detail::system::describe_quarantined(const std::string& name, const std::string& reason) const {
  quarantined_actor q{name, reason};
  if (!db) return q;
  q.record_stored = db->has_record(name);
  db->for_each_message_of(name, [&](std::uint64_t, std::string_view) { ++q.mailbox_entries; });
  db->for_each_journal_entry_of(name, [&](std::uint64_t, std::string_view) { ++q.journal_entries; });
  return q;
}

std::string detail::system::claim_quarantined(const std::string& name) {
  if (!db) throw std::logic_error("revenant: quarantines exist only in an actor system opened on a store");
  for (int waited_ms = 0;; ++waited_ms) {
    {
      auto d = actors.lock();
      if (d.shutting_down()) throw std::logic_error("revenant: the actor system is shut down");
      std::optional<std::string> reason = d.quarantine_reason(name);
      if (!reason) throw std::invalid_argument("revenant: actor \"" + name + "\" is not quarantined");
      if (d.claimed(name))
        throw std::invalid_argument("revenant: the quarantine of actor \"" + name +
                                    "\" is being lifted or discarded already");
      // The incarnation that failed leaves the table only after submitting its quarantine step.
      if (!d.is_running(name)) {
        d.claim_quarantined(name);
        return *reason;
      }
    }
    if (waited_ms == 10'000)
      throw std::logic_error("revenant: actor \"" + name + "\" is still stopping after its quarantine");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

actor_ref detail::system::lift(const std::string& name) {
  claim_quarantined(name);
  auto release_claim = [&] { actors.lock().release_claim(name); };
  // 1. The store: no quarantine entry, and the wake entry the record calls for (it is not kept
  // while quarantined, docs/format.md 8.8).
  try {
    step lifted;
    lifted.actor = name;
    lifted.lift_quarantine = true;
    lifted.wake = 0;
    if (auto record = db->record(name)) {
      try {
        const actor_record_view header = decode_actor_record(*record, "actor \"" + name + "\"");
        if (header.pending_asks + header.timers > 0) lifted.wake = 1;
      } catch (const snapshot_error&) {
        // Activation reports it (and quarantines the actor again).
      }
    }
    std::promise<void> committed;
    std::future<void> done = committed.get_future();
    lifted.ack.emplace(std::move(committed));
    if (!submit(std::move(lifted))) throw std::logic_error("revenant: the actor system is shut down");
    done.get();
  } catch (...) {
    release_claim();
    throw;
  }
  // 2. In memory: a new incarnation takes the name, held until it has what its mailbox kept.
  // The mailbox is read just before the lock that ends the quarantine (never under it): a
  // message that reaches the old incarnation after that lock is discarded as sent to a stopped
  // actor; one whose entry was committed between the read and the lock stays in the store and
  // is delivered at the next open, as one still being committed at the read always was.
  const std::shared_ptr<actor_cell> made = make_durable_cell(name, behavior{}, supervision{}, false);
  durable_cell* cell = detail::durable_of(*made);
  cell->hold();
  std::vector<std::pair<std::uint64_t, std::string>> kept;
  try {
    kept = stored_entries(false, name);
  } catch (...) {
    release_claim();
    cell->release_unborn();
    throw;
  }
  {
    auto d = actors.lock();
    d.release_claim(name);
    d.end_quarantine(name);
    d.add(made);
  }
  std::vector<message_ptr> messages;
  messages.reserve(kept.size());
  try {
    for (auto& [seq, envelope] : kept) messages.push_back(stored_message(envelope, seq, name));
  } catch (const std::exception& e) {
    // No worker runs it (held): quarantined again from here, its messages kept in the store.
    const std::string reason = e.what();
    messages.clear();
    cell->quarantine_now(reason);
    commits->sync();
    throw actor_quarantined(name, reason);
  }
  auto waiter = std::make_shared<std::promise<void>>();
  std::future<void> handled = waiter->get_future();
  cell->lift(std::move(messages), std::move(waiter));
  cell->start();
  handled.get();
  return actor_ref(made);
}

std::uint64_t detail::system::discard_all(const std::string& name) {
  claim_quarantined(name);
  std::vector<std::pair<std::uint64_t, std::string>> kept;
  std::future<void> done;
  try {
    kept = stored_entries(false, name);
    step erasure;
    erasure.actor = name;
    erasure.record = step::record_op::erase;  // with its journal
    erasure.wake = 0;
    erasure.lift_quarantine = true;
    erasure.erase_mailbox = true;
    std::promise<void> committed;
    done = committed.get_future();
    erasure.ack.emplace(std::move(committed));
    // Out of the quarantine list, but not to be brought back from its record until it is erased.
    // A message reaching the old incarnation from now on is discarded like any to a stopped one.
    // Under the directory's lock (then the system's mutex, which guards the committer's
    // lifetime): no lookup sees the name free before the erasure is queued.
    auto d = actors.lock();
    std::lock_guard lock(mutex);
    if (!commits) throw std::logic_error("revenant: the actor system is shut down");
    d.release_claim(name);
    d.end_quarantine(name);
    d.begin_erase(name);
    commits->submit(std::move(erasure));
  } catch (...) {
    actors.lock().release_claim(name);
    throw;
  }
  done.get();  // on failure the name stays out of use: nothing more is committed anyway
  actors.lock().end_erase(name);
  for (auto& [seq, envelope] : kept) {
    message_ptr m;
    try {
      m = stored_message(envelope, seq, name);
    } catch (const std::exception&) {
      letters.count_unshown();  // cannot be shown
      continue;
    }
    dead(name, std::move(m), dead_letter_reason::discarded);
  }
  return kept.size();
}

}  // namespace revenant
