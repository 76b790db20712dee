// A durable actor: a cell whose other half is its durability (durability.hpp) — where it stands
// with the store, and the step its current run is collecting (the messages it consumed, sent and
// journaled, the durable actors it spawned), committed at the end of each run.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/internal/actor_cell.hpp"
#include "runtime/internal/message_order.hpp"

namespace revenant::detail {

class durable_cell final : public actor_cell, private cell_durability {
 public:
  // loaded: spawned with its behavior (spawn_durable); otherwise its record is decoded on
  // activation (recovery).
  durable_cell(system_ptr system, std::uint64_t id, std::string name, behavior initial, supervision policy,
               bool loaded);

  // The step that makes a newly spawned durable actor exist in the store.
  step first_step();
  // Decodes this actor's record and takes up its state: behavior, supervision, pending asks,
  // timers (re-armed; late ones fire at once). On any damage the actor is quarantined and
  // finished (its record and mailbox stay in the store); returns false then. The caller counts
  // the activation (recovered.activated). record: the stored bytes if the caller has them
  // (eager recovery), else they are read.
  bool activate(std::optional<std::string_view> record = std::nullopt);
  // Takes a durable actor whose stored state cannot be used out of service: the reason is
  // stored, its record and mailbox are left as they are, and it finishes in memory.
  void quarantine_now(const std::string& reason);
  // A lifted quarantine (before anyone can reach this actor): the next run starts with the
  // kept messages (oldest first), then reports through waiter; the store's journal is replayed.
  void lift(std::vector<message_ptr> kept, std::shared_ptr<std::promise<void>> waiter);
  // Releases the behavior graph of an actor that never became visible.
  void release_unborn() { release_graph(); }
  // Keeps pushes from scheduling this actor until start() does: called before it is visible.
  void hold() noexcept { box().hold(); }
  void start() { schedule(); }

  // ---- live migration (docs/migration.md) ----
  // A parked actor (migrate_probe) runs again: the migration aborted. Any thread.
  void resume_parked() { schedule(); }
  // A parked actor moved to another node: from now on forwarder takes what reaches this object;
  // its queue is dropped (stored, it moved), its graph released, and it leaves the directory.
  // Once, while no worker runs it.
  void moved_away(std::shared_ptr<detail::actor_base> forwarder);
  // Every message a held (not yet activated) actor has queued, oldest first.
  using actor_cell::take_queued;
  // Puts fifo (oldest first, linked) in front of whatever a held actor has queued, and of what
  // others push meanwhile. Only while no worker runs it (before start()).
  void queue_first(message* fifo) noexcept { box().put_first(fifo); }

 private:
  // What a run collects for its step; made by the actor's first run (a million recovered actors
  // that never run do without).
  struct run_buffers {
    std::vector<std::uint64_t> consumed;
    std::vector<outgoing> outbox;
    std::vector<outgoing> journal;  // journal mode: entries of the current step
    bool lift_reached = false;      // this run handled the lift_probe
    std::int64_t wall = 0;          // wall-clock ns when the run started: "now" for the order tables
    // The numbers the current message's call gave what it sent (recipient, number): withdrawn
    // if the call throws.
    std::vector<std::pair<std::string, std::uint64_t>> numbered;
    std::function<void(bool)> park;  // a migrate_probe was taken: park after this message
    // Lifted quarantine: fulfilled once the kept messages are handled and committed, or failed
    // if the actor is quarantined again (or the system shuts down) first.
    std::shared_ptr<std::promise<void>> lift_waiter;
    // Durable actors spawned by this step (context::spawn_durable): their names are reserved,
    // and they come to exist when the step is written.
    struct child {
      std::shared_ptr<durable_cell> cell;
      step::spawned stored;
    };
    std::vector<child> children;
  };

  // ---- cell_durability ----
  cell_durability& durability() noexcept override { return *this; }
  bool admit(message_ptr& m, std::optional<completion>& ack) override;
  void refused(const message& m) override;
  bool run_starts() override;
  bool take_signal(const message& m) override;
  bool hold_back(message_ptr& m) override;
  mark message_starts() override;
  void message_done(const message& m, mark before, bool call_failed, bool kept) override;
  bool stage(const actor_ref& to, message_ptr& m) override;
  // ---- recipient: a durable actor's messages are written to its mailbox with the step ----
  outgoing staged(std::shared_ptr<detail::actor_base> self, message_ptr m, const std::string& sender) override;
  void timer_set(const detail::timer_payload& payload) override;
  actor_ref spawn_child(std::string name, behavior initial, supervision policy) override;
  bool parks() override;
  bool run_ends() override;
  void failing(const std::string& detail) override;
  message* finishing(dead_letter_reason reason, message* rest) override;

  run_buffers& run_state() {
    if (!buffers_) buffers_ = std::make_unique<run_buffers>();
    return *buffers_;
  }
  bool journaling() const noexcept;
  // The record this actor's current state encodes to (docs/format.md, "Actor record").
  std::string encode_record();
  // Appends what handling m did to the current step's journal: the message itself, or for the
  // runtime's signals what they delivered (one ask_error per ask timed out).
  void journal(const message& m);
  // Re-handles the journal written since the record, in order, with sends dropped.
  void replay_journal();
  // Commits what this actor did since its last step. False if the state could not be encoded:
  // the actor is then quarantined (nothing of the step is committed or sent) and finished.
  // full_record: a record even in journal mode (the journal folds into it).
  bool checkpoint(bool full_record = false);
  // The last step of a durable actor that stops: erased (stopped) or quarantined (failed).
  // `rest` are the messages still queued; a stopped actor's are deleted (they become dead
  // letters), a quarantined actor's stay.
  void commit_end(message* rest);
  // Drops the children spawned by this run from the from-th on: their step will not commit.
  void abandon_children(std::size_t from);
  // Moves this run's children into s: written with it, visible once it is.
  void commit_children(step& s);
  // What the step that quarantines a lifted actor again does once committed: tells the lift.
  std::function<void()> lift_failed(const std::string& reason);
  bool has_waiting() const noexcept { return state().clock && state().clock->waiting(); }
  message_order& order() {
    if (!order_) order_ = std::make_unique<message_order>();
    return *order_;
  }
  // Gives back the numbers what the current call sent took from the (mark) on: the call threw.
  void withdraw_numbers(std::size_t from);
  // The held message of m's sender that is next in line once m is handled goes in front.
  void release_next(const message& m);

  // Worker side, all of them (one byte of bits: a recovered actor costs what its cell weighs).
  bool loaded_ : 1 = false;        // the record is decoded (or this incarnation was spawned)
  bool ended_ : 1 = false;         // quarantined from its stored state: nothing more to commit
  bool wake_stored_ : 1 = false;   // the store has a wake entry (timers or asks pending)
  // Journal mode (snapshot_every > 1).
  bool replaying_ : 1 = false;              // re-handling journal entries: sends are dropped
  bool journal_stored_ : 1 = false;         // the store may hold journal entries of this actor
  bool replay_stored_journal_ : 1 = false;  // activation replays the journal (lifted quarantine)
  std::uint32_t since_snapshot_ = 0;        // journaled steps since the record was written
  std::uint64_t steps_ = 0;                 // records committed, as stored in the record
  std::unique_ptr<run_buffers> buffers_;
  std::unique_ptr<message_order> order_;  // made on the first numbered send or message
};

// The durable half of cell, if it is a durable actor's.
inline durable_cell* durable_of(actor_cell& cell) noexcept {
  return cell.durable() ? static_cast<durable_cell*>(&cell) : nullptr;
}

}  // namespace revenant::detail
