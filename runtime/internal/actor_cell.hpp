// An actor: its mailbox, its current behavior and the context a behavior runs in — become,
// stop, spawn, watch, send, ask, timers — and what happens when a behavior throws. Timers and
// asks are its clock's (clock.hpp), the restart policy its supervisor's (supervisor.hpp), and a
// durable actor's commits its durability's (durability.hpp), each made only when needed.
//
// Invariant: at most one worker runs an actor at a time (mailbox.hpp); everything marked
// "worker side" is touched only by that worker, or by the actor's owner while no worker can run
// it (before it is visible, or after shutdown has joined the workers).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/actor.hpp"
#include "runtime/internal/clock.hpp"
#include "runtime/internal/durability.hpp"
#include "runtime/internal/mailbox.hpp"
#include "runtime/internal/recipient.hpp"
#include "runtime/internal/supervisor.hpp"
#include "runtime/internal/system.hpp"

namespace revenant::detail {

// What an actor's image holds while it runs (image.hpp converts between the two).
struct live_state {
  behavior current;
  std::unique_ptr<supervisor> supervised;  // null: stop on the first failure
  std::unique_ptr<actor_clock> clock;      // null: no timer or ask yet
};

class actor_cell : public recipient, public context, public std::enable_shared_from_this<actor_cell> {
 public:
  using system_ptr = std::shared_ptr<detail::system>;

  // A transient actor. With restart_policy::restart, the initial behavior is snapshotted now.
  actor_cell(system_ptr system, std::uint64_t id, std::string name, behavior initial, supervision policy);
  ~actor_cell() override;

  // A durable actor's cell (durable_cell.hpp).
  bool durable() const noexcept { return durable_; }
  bool named_everywhere() const noexcept override { return durable_; }
  // Queues m (any thread): refused if the system no longer accepts outside messages or the
  // mailbox is full (m goes to the dead letters, ack fails); a durable actor admits it first.
  void enqueue(message_ptr m) override { enqueue(std::move(m), std::nullopt); }
  // With ack: fulfilled once the message is queued (a transient actor) or committed (a durable
  // one), or failed with why not.
  void enqueue(message_ptr m, std::optional<completion> ack);
  void deliver_acknowledged(message_ptr m, completion ack) override { enqueue(std::move(m), std::move(ack)); }
  void add_watcher(const std::shared_ptr<detail::actor_base>& watcher) override;
  // Queued, unless this actor came here by a move and m, forwarded, would overtake a message its
  // origin's node sent here directly: then a dead letter (reordered, docs/migration.md 4).
  void take_from_node(message_ptr m, const std::string& origin, bool forwarded) override;
  // This cell is an actor arriving by a move: take_from_node keeps each origin's transient
  // messages in order from now on. peers: the nodes known now (their messages take no lock).
  // Any thread, once, before the first message from a link.
  void arriving(const std::vector<std::string>& peers);

  // Worker side: handles up to the system's throughput of messages, then yields. A durable
  // actor commits what it did (one step) before anyone else may run it.
  void run();
  // Posts a run of this actor to the workers.
  void schedule();
  // Closes the mailbox, turns what is queued into dead letters (a durable actor commits its end
  // first), releases the behavior graph, leaves the directory and tells the watchers. Worker
  // side, or at shutdown when no worker runs.
  void finish(dead_letter_reason reason);

  // ---- context ----
  actor_ref self() const override;
  actor_ref sender() const override;
  reply_address reply_later() const override;
  void become(behavior next) override;
  void stop() override { stop_requested_ = true; }
  bool cancel(timer_id id) override { return state_.clock && state_.clock->cancel(id); }
  actor_ref spawn(behavior initial, supervision policy) override;
  actor_ref spawn(std::string name, behavior initial, supervision policy) override;
  actor_ref spawn_durable(std::string name, behavior initial, supervision policy) override;
  void watch(const actor_ref& target) override;

  detail::system& system() const noexcept { return *system_; }
  const system_ptr& system_handle() const noexcept { return system_; }

 protected:
  // A durable actor's cell (durable_cell): durability is its own other half, which
  // durability() returns.
  struct durable_tag {};
  actor_cell(system_ptr system, std::uint64_t id, std::string name, behavior initial, supervision policy,
             durable_tag);
  // The durable half; called only when durable_ is set (a transient cell has none).
  virtual cell_durability& durability() noexcept;

  void send(const actor_ref& to, message_ptr m) override;
  void send_reply(message_ptr m) override;
  void send_reply_to(const reply_address& to, message_ptr m) override;
  void send_request(const actor_ref& to, message_ptr m, continuation then, std::chrono::nanoseconds timeout) override;
  timer_id start_timer(std::chrono::nanoseconds delay, std::chrono::nanoseconds period,
                       std::unique_ptr<detail::timer_payload> payload) override;

  // ---- for the durable half (worker side) ----
  live_state& state() noexcept { return state_; }
  const live_state& state() const noexcept { return state_; }
  mailbox& box() noexcept { return mailbox_; }
  actor_clock& clock();
  // Handles one message: a timer firing, an ask's reply or timeout, a timer action, or the
  // behavior's call. A throw is the failure supervision handles.
  void handle(const message& m);
  // The timer fired: its message is handled, if it is still pending.
  void fire(timer_id id);
  // Whether the last handle() threw (and forgets it).
  bool take_call_failed() noexcept { return std::exchange(call_failed_, false); }
  // The behavior failed for good: it stops once the current call returns.
  void fail(const std::string& detail);
  bool has_failed() const noexcept { return exit_ == exit_reason::failed; }
  // Why it failed (empty: it has not).
  const std::string& failure() const noexcept;
  // Marks the actor failed without stopping it yet (a record that cannot be used).
  void mark_failed(const std::string& detail);
  // Releases the behavior graph and everything else it holds (timers, pending asks).
  void release_graph();
  // The actor moved to another node: what still reaches this object goes to `to` (any thread
  // may ask moved_to() from now on), its watchers included. Once, by the migration, while no
  // worker runs it.
  void set_moved(std::shared_ptr<detail::actor_base> to);
  // Whether it has moved. Any thread.
  bool moved() const noexcept {
    const extras* x = extras_.load(std::memory_order_acquire);
    return x != nullptr && x->moved.load(std::memory_order_acquire);
  }
  // Its forwarder once it has moved, else null. Any thread.
  std::shared_ptr<detail::actor_base> moved_to() const noexcept {
    return moved() ? extras_.load(std::memory_order_acquire)->moved_to : nullptr;
  }
  // What no worker will take any more: every message still queued, oldest first (a parked
  // actor's, whose stored messages moved with it).
  message* take_queued() noexcept { return mailbox_.drain(); }
  // Hands every message of the list (oldest first) to the dead letters, runtime signals aside.
  void drop_list(message* fifo, dead_letter_reason reason) noexcept;

 private:
  // A behavior threw while handling m: apply the actor's supervision.
  void on_failure(const message& m, const std::string& what);
  // Replaces the failed incarnation with a fresh one decoded from the snapshot taken at spawn;
  // the old graph, its timers and its pending asks are dropped and released.
  void restart();
  void resume(std::uint64_t request, const message& m);
  void time_out_asks();
  void send_down(detail::actor_base& watcher, const down& notice);

  // What few actors need, made the first time one does (from any thread: add_watcher).
  struct extras {
    behavior next;        // worker side: what become() asked for, taken after the call
    std::string failure;  // worker side: why it failed (empty: it has not)
    // Guarded by the system's mutex (watching is rare: no lock of the actor's own).
    std::vector<std::weak_ptr<detail::actor_base>> watchers;
    std::optional<down> finished;  // set once the actor has stopped
    // A durable actor that moved to another node (docs/migration.md): its forwarder, set once
    // before `moved` is (release), never changed after.
    std::shared_ptr<detail::actor_base> moved_to;
    std::atomic<bool> moved{false};
    // An actor that arrived by a move: for each node, whether it has sent this actor a transient
    // message directly since (set once, never cleared). The nodes known at arrival are fixed in
    // `origins` (written before `arrived` is set, release; only the flags change after), so
    // their messages take no lock; a node unknown then is kept in direct_from (guarded by the
    // system's mutex).
    struct origin {
      std::string node;
      std::atomic<bool> direct{false};
    };
    std::atomic<bool> arrived{false};
    std::vector<origin> origins;  // sized once (an atomic cannot move), never resized
    std::vector<std::string> direct_from;
  };
  extras& more();
  void start(behavior initial, supervision policy);

  // Every recovered actor is one of these: bytes here are bytes times a million at an eager
  // open (docs/benchmarks.md, "Eager recovery and the size of a cell"). Rare state lives in
  // extras; the flags sit last, where a derived class's members may use the tail padding.
  system_ptr system_;
  mailbox mailbox_;
  // Worker side.
  live_state state_;
  const message* current_ = nullptr;
  std::atomic<extras*> extras_{nullptr};  // owned; published once, never replaced
  const bool durable_;                    // this object is a durable_cell: durability() is its other half
  bool become_pending_ = false;
  bool stop_requested_ = false;
  bool call_failed_ = false;  // the last handle() threw
  exit_reason exit_ = exit_reason::normal;
  // Guarded by the system's mutex: it finished while it had no extras (notice in extras else).
  bool finished_plainly_ = false;
  exit_reason finished_reason_ = exit_reason::normal;
};

}  // namespace revenant::detail
