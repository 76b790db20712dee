#include "runtime/actor_system.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/defer.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <algorithm>
#include <deque>
#include <optional>
#include <queue>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include "actors/graph.hpp"
#include "runtime/internal/committer.hpp"
#include "runtime/internal/image.hpp"
#include "runtime/internal/name_table.hpp"
#include "storage/envelope.hpp"
#include "storage/store.hpp"

namespace revenant {
namespace {

class actor_cell;

// Sent by Asio when a timer expires; the actor decides, in its own run, whether it still counts.
struct timer_fired {
  timer_id id;
  template <class A>
  void serialize(A& a) {
    a(id);
  }
};
// Journaled like any message (snapshot_every > 1): replaying it fires the timer again.
const message_type<timer_fired> timer_fired_type{"revenant.timer_fired"};
// Sent by an actor's ask deadline clock: some pending ask may have timed out.
struct ask_check {};
// Sent at open to a durable actor that has timers or asks waiting: it activates (re-arming them).
struct wake_up {};
// Queued behind the messages a lifted quarantine kept: once the actor reaches it and commits,
// lift_quarantine() returns.
struct lift_probe {};

// The runtime's own signals to an actor: never refused by a mailbox bound, never counted in it,
// never shown as dead letters, never written to a durable mailbox.
bool is_runtime_signal(const message& m) noexcept {
  return m.is<timer_fired>() || m.is<ask_check>() || m.is<wake_up>() || m.is<lift_probe>();
}

// Wall-clock nanoseconds since the epoch: what a durable deadline is stored as, since a steady
// clock's time points mean nothing in the next process.
std::int64_t to_wall(std::chrono::steady_clock::time_point t) {
  const auto left = t - std::chrono::steady_clock::now();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             (std::chrono::system_clock::now() + left).time_since_epoch())
      .count();
}
std::chrono::steady_clock::time_point from_wall(std::int64_t wall_ns) {
  const auto at = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(wall_ns)));
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(at - std::chrono::system_clock::now());
}

// A restored timer's payload: the envelope it was stored as, decoded each time it fires.
class stored_payload final : public detail::timer_payload {
 public:
  stored_payload(std::string envelope, std::string subject)
      : envelope_(std::move(envelope)), subject_(std::move(subject)) {}
  message_ptr make() const override { return decode_envelope(envelope_, subject_).value; }
  const std::string& envelope() const noexcept { return envelope_; }

 private:
  std::string envelope_;
  std::string subject_;
};

using runtime_internal::actor_image;
using runtime_internal::committer;
using runtime_internal::name_table;
using runtime_internal::pending_image;
using runtime_internal::timer_image;
using runtime_internal::outgoing;
using runtime_internal::step;

// Inbox states besides "a stack of messages" (or nullptr: empty while the actor is scheduled).
// blocked: empty and not scheduled — whoever pushes next must schedule the actor.
// closed: the actor has stopped — pushes become dead letters.
message* const blocked_marker = reinterpret_cast<message*>(std::uintptr_t{1});
message* const closed_marker = reinterpret_cast<message*>(std::uintptr_t{2});

}  // namespace

struct actor_system::impl final : detail::actor_resolver, std::enable_shared_from_this<actor_system::impl> {
  explicit impl(actor_system_config c) : config(c) {}
  ~impl() = default;

  std::shared_ptr<detail::actor_base> resolve(const std::string& name) override;
  // The running actor named name; a durable one in the store is brought in (not yet decoded).
  std::shared_ptr<actor_cell> resolve_cell(const std::string& name);

  actor_system_config config;
  // Lives as long as this state: a push racing with shutdown may still post to it. Queued
  // handlers hold their actor weakly (live actors are owned by `live`), so no cycle keeps
  // this state alive through them.
  std::optional<asio::io_context> io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> workers;
  std::atomic<std::uint64_t> next_id{1};
  std::atomic<bool> accepting{true};  // new actors and outside messages

  mutable std::mutex mutex;
  bool shut_down = false;                                              // guarded by mutex
  // Set once shutdown has taken the last actors: no actor is created after it. (Until then a
  // draining worker may still bring a stored actor in, e.g. one its state refers to.)
  bool finished = false;                                               // guarded by mutex
  // Every running actor is in exactly one of these: anonymous ones in `live`, named ones in
  // `named` (keyed by the actor's own name).
  std::unordered_map<const actor_cell*, std::shared_ptr<actor_cell>> live;  // guarded by mutex
  name_table<actor_cell> named;                                             // guarded by mutex
  // Actors with journal entries in the store at open (journal mode); read-only after open.
  std::unordered_set<std::string> journaled;
  std::function<void(const dead_letter&)> dead_letter_handler;          // guarded by mutex
  std::atomic<std::uint64_t> dead_letter_count{0};

  // Durability (absent for a transient-only system). The store outlives the committer.
  std::optional<durable_config> durable;
  std::optional<store> db;
  std::unique_ptr<committer> commits;
  std::unordered_map<std::string, std::string> quarantine_list;  // guarded by mutex
  std::vector<std::string> repairs;                              // guarded by mutex (recovery_report)
  std::optional<wal_loss_report> wal_dropped;                    // set once, at open
  // Quarantined names a lift_quarantine or discard_quarantined is working on. Guarded by mutex.
  std::unordered_set<std::string> quarantine_busy;
  // Durable actors spawned by a durable actor's step that is not committed yet: their names are
  // taken, but they do not exist until the step is written. Guarded by mutex.
  std::unordered_set<std::string> spawning;
  // Durable actors that stopped and whose erasure is not committed yet: their records are still
  // in the store, but they must not be brought back. Guarded by mutex.
  std::unordered_set<std::string> erasing;
  struct counters {
    std::atomic<std::uint64_t> activated{0}, requeued{0}, continuations{0}, timers{0}, quarantined{0};
  } recovered;

  // Asks from outside the system (actor_system::ask): the sender their requests carry, what
  // each waits for, and one clock for their deadlines, armed only while an ask is pending (so
  // an answered one does not hold a draining shutdown). Declared after `io`: the clock must go
  // first. Made on the first outside ask.
  using deadline_entry = std::pair<std::chrono::steady_clock::time_point, std::uint64_t>;
  std::mutex outside_mutex;
  std::shared_ptr<detail::actor_base> outside_asker;                                    // guarded by outside_mutex
  std::unordered_map<std::uint64_t, std::unique_ptr<detail::outside_reply>> outside_pending;  // guarded by outside_mutex
  std::priority_queue<deadline_entry, std::vector<deadline_entry>, std::greater<>> outside_deadlines;  // likewise;
                                                                                        // answered ones removed lazily
  std::optional<asio::steady_timer> outside_clock;                                      // guarded by outside_mutex
  std::chrono::steady_clock::time_point outside_clock_at{};                             // guarded by outside_mutex
  bool outside_clock_armed = false;                                                     // guarded by outside_mutex
  bool outside_closed = false;       // shutdown has answered every outside ask; guarded by outside_mutex
  std::uint64_t outside_last_request = 0;                                               // guarded by outside_mutex

  void recover();
  void recover_all();
  // Keeps name out of service with its record and mailbox as they are; reason is stored.
  // on_commit runs once that is committed.
  void quarantine(const std::string& name, const std::string& reason, std::function<void()> on_commit = {});
  // Queues a step for commit; returns its last sequence number, or nothing once the store is
  // closed (after shutdown).
  std::optional<std::uint64_t> submit(step s);
  // Records a quarantine this process decided (the committer stores it with the actor's step).
  void note_quarantined(const std::string& name, const std::string& reason);
  // Deletes a durable mailbox entry whose message will never be handled (a dead letter).
  void discard(const std::string& name, std::uint64_t seq);

  void schedule(std::shared_ptr<actor_cell> cell);
  actor_ref spawn(std::shared_ptr<impl> self, std::string name, behavior initial, supervision policy,
                  const std::shared_ptr<detail::actor_base>& parent);
  void forget(const actor_cell& cell);
  void dead(std::string recipient, message_ptr m, dead_letter_reason reason) noexcept;
  // Hands a line to the configured log sink, if any (runtime/log.hpp).
  void log(log_level level, const std::string& text) const noexcept;
  // Where a line about a durable actor says it is: ` (store "<path>")`, or nothing.
  std::string store_context() const;

  // Why name resolves to no actor: actor_quarantined if it is quarantined, else
  // std::invalid_argument ("no actor named").
  std::exception_ptr no_actor(const std::string& name) const;
  // What the store holds of a quarantined actor.
  quarantined_actor describe_quarantined(const std::string& name, const std::string& reason) const;
  // The mailbox (or journal) entries of actor, in sequence order: raw key seq and envelope.
  std::vector<std::pair<std::uint64_t, std::string>> stored_entries(rocksdb::ColumnFamilyHandle* family,
                                                                    const std::string& actor) const;
  // Throws std::invalid_argument unless name can name a durable actor.
  static void check_durable_name(const std::string& name);
  // Under mutex: throws unless name is free for a new durable actor (actor_quarantined if it
  // is quarantined, std::invalid_argument if it is running, stored or being spawned), or
  // std::logic_error after shutdown.
  void check_durable_name_free(const std::string& name) const;

  // The sender of outside asks (made on first use).
  std::shared_ptr<detail::actor_base> outside_sender();
  // Registers an outside ask due at deadline; returns its request id. After shutdown, fails
  // reply (std::logic_error) and returns 0.
  std::uint64_t add_outside_ask(std::unique_ptr<detail::outside_reply> reply,
                                std::chrono::steady_clock::time_point deadline);
  // Completes an outside ask with reply (or error, if reply is null); nothing if it has
  // completed already (a late reply).
  void complete_outside_ask(std::uint64_t request, const message* reply, std::exception_ptr error);
  // The clock fired: times out every outside ask past its deadline.
  void time_out_outside_asks();
  // At shutdown: answers every outside ask still pending with target_stopped, and stops taking
  // new ones.
  void close_outside_asks();
  // Under outside_mutex.
  void arm_outside_clock(std::chrono::steady_clock::time_point at);

  // Makes cell, a new durable actor, visible and submits its first record; the future is ready
  // once that is committed. Throws as check_durable_name_free, or what encoding throws.
  std::future<void> start_durable(const std::shared_ptr<actor_cell>& cell);
  // Claims name, which must be quarantined, for a lift or a discard: waits until its failed
  // incarnation (if it failed in this process) has left the table, so that its quarantine step
  // is submitted before anything the caller submits. Returns the reason. Throws
  // std::invalid_argument if name is not quarantined or is claimed already, std::logic_error
  // after shutdown.
  std::string claim_quarantined(const std::string& name);
};

namespace {

// An actor: a lock-free multi-producer inbox, the worker-side FIFO of messages taken from it,
// and the current behavior. Invariant: at most one worker runs an actor at a time — the one
// that found the inbox blocked and scheduled it; everything below "worker side" is touched
// only by that worker.
class actor_cell : public detail::actor_base, public context, public std::enable_shared_from_this<actor_cell> {
 protected:
  // What a durable actor's run collects for its step; made by the actor's first run (a million
  // recovered actors that never run do without).
  struct run_buffers {
    std::vector<std::uint64_t> consumed;
    std::vector<outgoing> outbox;
    std::vector<outgoing> journal;          // journal mode: entries of the current step
    std::vector<std::uint64_t> timed_out;   // journal mode: asks the last ask_check timed out
    bool lift_reached = false;              // this run handled the lift_probe
    // Durable actors spawned by this step (context::spawn_durable): their names are reserved,
    // and they come to exist when the step is written.
    struct child {
      std::shared_ptr<actor_cell> cell;
      step::spawned stored;
    };
    std::vector<child> children;
  };
  // Durable actors only: where the actor stands with the store.
  struct durable_part {
    bool loaded = false;        // the record is decoded (or this incarnation was spawned)
    bool ended = false;         // quarantined from its stored state: nothing more to commit
    bool wake_stored = false;   // the store has a wake entry (timers or asks pending)
    // Journal mode (snapshot_every > 1).
    bool replaying = false;                 // re-handling journal entries: sends are dropped
    bool journal_stored = false;            // the store may hold journal entries of this actor
    bool replay_stored_journal = false;     // activation replays the journal (lifted quarantine)
    // Lifted quarantine: fulfilled once the kept messages are handled and committed, or failed
    // if the actor is quarantined again (or the system shuts down) first.
    std::shared_ptr<std::promise<void>> lift_waiter;
    std::uint32_t since_snapshot = 0;       // journaled steps since the record was written
    std::uint64_t steps = 0;    // records committed, as stored in the record
    std::unique_ptr<run_buffers> buffers;
    run_buffers& run() {
      if (!buffers) buffers = std::make_unique<run_buffers>();
      return *buffers;
    }
  };

  // A durable actor (durable_cell): durable points to its durable part, which this constructor
  // must not touch (it is constructed after this base).
  actor_cell(std::shared_ptr<actor_system::impl> system, std::uint64_t id, std::string name, behavior initial,
             supervision policy, durable_part* durable)
      : actor_cell(std::move(system), id, std::move(name), std::move(initial), policy) {
    durable_ = durable;
  }

 public:
  // A transient actor.
  actor_cell(std::shared_ptr<actor_system::impl> system, std::uint64_t id, std::string name, behavior initial,
             supervision policy)
      : actor_base(id, std::move(name)),
        system_(std::move(system)),
        capacity_(policy.mailbox_capacity),
        behavior_(std::move(initial)) {
    if (policy.policy != restart_policy::stop) {
      extras& x = more();
      x.supervised = policy;
      // A restart starts from this snapshot: fresh state, not what a failure left behind.
      if (policy.policy == restart_policy::restart) x.initial = encode_snapshot(behavior_);
    }
  }

  ~actor_cell() override {
    drop_list(take_inbox(nullptr), dead_letter_reason::stopped);
    drop_list(cache_, dead_letter_reason::stopped);
  }

  bool durable() const noexcept override { return durable_ != nullptr; }

  void enqueue(message_ptr m) override { enqueue(std::move(m), std::nullopt); }

  // With ack (durable actors only), the promise is fulfilled once the message is committed.
  void enqueue(message_ptr m, std::optional<std::promise<void>> ack) {
    if (!sender_of(*m) && !system_->accepting.load(std::memory_order_relaxed)) {
      if (ack) ack->set_exception(std::make_exception_ptr(std::logic_error("revenant: the actor system is shut down")));
      system_->dead(name(), std::move(m), dead_letter_reason::shutdown);
      return;
    }
    const std::uint32_t capacity = capacity_.load(std::memory_order_relaxed);
    if (capacity != 0 && !is_runtime_signal(*m) && queued_.fetch_add(1, std::memory_order_relaxed) >= capacity) {
      queued_.fetch_sub(1, std::memory_order_relaxed);
      if (ack) ack->set_exception(std::make_exception_ptr(std::runtime_error("revenant: mailbox of \"" + name() + "\" is full")));
      system_->dead(name(), std::move(m), dead_letter_reason::mailbox_full);
      return;
    }
    if (durable_ && message_access::durable_seq(*m) == 0 && !is_runtime_signal(*m)) {
      // From outside, or from a transient actor: written to the mailbox before it is queued, so
      // the step that consumes it commits after it (same or later group). It may be handled
      // before that commit: nobody's rolled-back state can depend on it.
      const auto& sender = sender_of(*m);
      std::string envelope;
      try {
        envelope = encode_envelope(*m, sender ? sender->name() : "");
      } catch (...) {
        if (!ack) throw;  // to whoever sent it (tell)
        ack->set_exception(std::current_exception());
        return;
      }
      step s;
      s.actor = name();
      s.outbox.push_back(outgoing{shared_from_this(), nullptr, std::move(envelope), 0, !ack && !sender});
      s.ack = std::move(ack);
      const auto seq = system_->submit(std::move(s));
      if (!seq) {  // the store is closed: the system has shut down
        system_->dead(name(), std::move(m), dead_letter_reason::shutdown);
        return;
      }
      message_access::durable_seq(*m) = *seq;
    } else if (ack) {
      ack->set_value();
    }
    message* raw = m.get();
    message* old = inbox_.load(std::memory_order_relaxed);
    do {
      if (old == closed_marker) {
        if (durable_ && message_access::durable_seq(*m) != 0) system_->discard(name(), message_access::durable_seq(*m));
        system_->dead(name(), std::move(m), dead_letter_reason::stopped);
        return;
      }
      next_of(*raw) = old == blocked_marker ? nullptr : old;
      // acq_rel: a push that finds the inbox blocked must see everything the last run did.
    } while (!inbox_.compare_exchange_weak(old, raw, std::memory_order_acq_rel, std::memory_order_relaxed));
    m.release();  // the inbox owns it now
    if (old == blocked_marker) system_->schedule(shared_from_this());
  }

  // Worker side: handles up to `throughput` messages, then yields. A durable actor commits what
  // it did (one step) before anyone else may run it: before it yields, blocks or stops.
  void run() {
    if (durable_ && !durable_->loaded) {
      if (!activate()) return;
      system_->recovered.activated.fetch_add(1, std::memory_order_relaxed);
    }
    if (durable_ && durable_->ended) return;
    std::optional<detail::resolver_scope> scope;
    if (durable_) scope.emplace(system_.get());  // stored timer payloads may name actors
    for (std::size_t handled = 0;;) {
      if (cache_ == nullptr) {
        message* batch = inbox_.exchange(nullptr, std::memory_order_acquire);
        if (batch == nullptr) {
          if (durable_ && handled > 0 && !checkpoint()) return;
          handled = 0;
          message* expected = nullptr;
          if (inbox_.compare_exchange_strong(expected, blocked_marker, std::memory_order_acq_rel)) return;
          continue;  // a message arrived meanwhile
        }
        cache_ = reversed(batch);
      }
      if (handled == system_->config.throughput) {
        if (durable_ && !checkpoint()) return;
        system_->schedule(shared_from_this());  // still scheduled: the inbox is not blocked
        return;
      }
      message_ptr m(cache_);
      cache_ = std::exchange(next_of(*m), nullptr);
      ++handled;
      if (capacity_.load(std::memory_order_relaxed) != 0 && !is_runtime_signal(*m))
        queued_.fetch_sub(1, std::memory_order_relaxed);
      const std::size_t sent_before = durable_ ? durable_->run().outbox.size() : 0;
      const std::size_t spawned_before = durable_ ? durable_->run().children.size() : 0;
      const bool failed_before = exit_ == exit_reason::failed;
      if (const auto* t = m->get_if<timer_fired>())
        fire(t->id);
      else if (m->is<lift_probe>())
        durable_->run().lift_reached = true;
      else if (!m->is<wake_up>())
        handle(*m);
      if (durable_) {
        // What a failed call sent is not sent. A message that made the actor fail for good stays
        // in the store with the quarantined actor; one that supervision got past is consumed.
        if (std::exchange(call_failed_, false)) {
          durable_->run().outbox.resize(sent_before);
          abandon_children(spawned_before);
        }
        const bool kept = exit_ == exit_reason::failed && !failed_before;
        if (const std::uint64_t seq = message_access::durable_seq(*m); seq != 0 && !kept)
          durable_->run().consumed.push_back(seq);
        if (journaling() && !kept) journal(*m);
      }
      if (stop_requested_) {
        finish(dead_letter_reason::stopped);
        return;
      }
    }
  }

  // Closes the inbox, turns what is queued into dead letters and releases the behavior graph.
  // Called by the worker running the actor, or at shutdown when no worker runs. A durable
  // actor that stops commits its end: its record and mailbox are erased — or, if it failed,
  // it is quarantined and both are kept.
  void finish(dead_letter_reason reason) {
    message* rest = take_inbox(closed_marker);
    if (message* cached = std::exchange(cache_, nullptr)) {
      message* tail = cached;
      while (next_of(*tail) != nullptr) tail = next_of(*tail);
      next_of(*tail) = rest;
      rest = cached;
    }
    if (durable_ && reason != dead_letter_reason::shutdown && !durable_->ended) commit_end(rest);
    if (durable_) abandon_children(0);  // a run that ended without a step (shutdown)
    if (durable_ && durable_->lift_waiter) {
      // Lifted, and shut down before it handled what it kept (a failure answered it above).
      durable_->lift_waiter->set_exception(std::make_exception_ptr(
          std::logic_error("revenant: the actor system shut down before \"" + name() + "\" handled its kept messages")));
      durable_->lift_waiter.reset();
    }
    if (durable_ && reason == dead_letter_reason::shutdown) {
      // Still in the store: handled by the next process, not dead.
      while (rest != nullptr) {
        message_ptr m(rest);
        rest = std::exchange(next_of(*m), nullptr);
        if (message_access::durable_seq(*m) == 0 && !is_runtime_signal(*m)) system_->dead(name(), std::move(m), reason);
      }
    }
    drop_list(rest, reason);
    down notice{name(), reason == dead_letter_reason::shutdown ? exit_reason::shutdown : exit_, {}};
    if (extras_) notice.detail = std::move(extras_->exit_detail);
    release_graph();
    system_->forget(*this);
    // From here on add_watcher answers at once; everyone who asked before hears it now.
    std::vector<std::weak_ptr<detail::actor_base>> watchers;
    {
      std::lock_guard lock(system_->mutex);
      finished_ = std::make_unique<down>(notice);
      watchers.swap(watchers_);
    }
    for (auto& w : watchers)
      if (auto watcher = w.lock()) send_down(*watcher, notice);
  }

  void add_watcher(const std::shared_ptr<detail::actor_base>& watcher) override {
    std::unique_ptr<down> already;
    {
      std::lock_guard lock(system_->mutex);
      if (!finished_) {
        watchers_.push_back(watcher);
        return;
      }
      already = std::make_unique<down>(*finished_);
    }
    send_down(*watcher, *already);
  }

  // context
  actor_ref self() const override { return actor_ref(std::const_pointer_cast<actor_cell>(shared_from_this())); }
  actor_ref sender() const override { return current_ ? actor_ref(sender_of(*current_)) : actor_ref(); }
  reply_address reply_later() const override {
    return current_ ? reply_address{sender(), request_id_of(*current_)} : reply_address{};
  }
  void become(behavior next) override {
    next_behavior_ = std::move(next);
    become_pending_ = true;
  }
  void stop() override { stop_requested_ = true; }
  bool cancel(timer_id id) override { return extras_ && extras_->timers.erase(id) > 0; }
  actor_ref spawn(behavior initial, supervision policy) override {
    return system_->spawn(system_, {}, std::move(initial), policy, shared_from_this());
  }
  actor_ref spawn(std::string name, behavior initial, supervision policy) override {
    return system_->spawn(system_, std::move(name), std::move(initial), policy, shared_from_this());
  }
  void watch(const actor_ref& target) override {
    if (target) target.base()->add_watcher(shared_from_this());
  }
  actor_ref spawn_durable(std::string name, behavior initial, supervision policy) override;

 protected:
  void send(const actor_ref& to, message_ptr m) override {
    sender_of(*m) = shared_from_this();
    if (!to) {
      system_->dead({}, std::move(m), dead_letter_reason::no_recipient);
      return;
    }
    if (durable_) {
      if (durable_->replaying) return;  // sent when the step was first taken, and committed
      // Released once this step is committed; written to the recipient's mailbox with it if
      // the recipient is durable too (std::logic_error here if the type is not registered).
      std::string envelope = to.base()->durable() ? encode_envelope(*m, name()) : std::string();
      durable_->run().outbox.push_back(outgoing{to.base(), std::move(m), std::move(envelope), 0});
      return;
    }
    to.base()->enqueue(std::move(m));
  }

  void send_reply(message_ptr m) override {
    if (current_ != nullptr) response_to_of(*m) = request_id_of(*current_);
    send(sender(), std::move(m));
  }

  void send_request(const actor_ref& to, message_ptr m, continuation then, std::chrono::nanoseconds timeout) override {
    if (timeout.count() < 0) throw std::invalid_argument("revenant: negative ask timeout");
    extras& x = more();
    const std::uint64_t id = ++x.last_request;
    request_id_of(*m) = id;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    x.pending.emplace(id, pending_ask{std::move(then), deadline});
    x.deadlines.emplace(deadline, id);
    // The clock only ever waits for the earliest deadline; later ones cost no Asio call.
    if (!x.clock_armed || deadline < x.clock_deadline) arm_ask_clock(deadline);
    if (!x.ask_hold) x.ask_hold.emplace(system_->io->get_executor());
    send(to, std::move(m));
  }

  timer_id start_timer(std::chrono::nanoseconds delay, std::chrono::nanoseconds period,
                       std::unique_ptr<detail::timer_payload> payload) override {
    if (delay.count() < 0 || period.count() < 0) throw std::invalid_argument("revenant: negative timer delay");
    if (durable_) {
      const message_ptr sample = payload->make();
      if (sample->registration() == nullptr)
        throw std::logic_error("revenant: durable actor \"" + name() + "\" set a timer delivering " +
                               std::string(sample->type_name()) +
                               ", which is not a registered message type (revenant::message_type)");
    }
    extras& x = more();
    const timer_id id = ++x.last_timer;
    auto& t = x.timers[id];
    t.clock.emplace(*system_->io, delay);
    t.period = period;
    t.payload = std::move(payload);
    arm(id, *t.clock);
    return id;
  }

 private:
  struct timer {
    std::optional<asio::steady_timer> clock;
    std::chrono::nanoseconds period{0};
    std::unique_ptr<detail::timer_payload> payload;
  };
  using deadline_entry = std::pair<std::chrono::steady_clock::time_point, std::uint64_t>;

  // State only actors that use timers or asks need; allocated on first use, so an idle actor
  // stays small.
  // An ask awaiting its reply: the continuation, and when the ask times out (kept here too, so
  // a checkpoint need not search the deadline heap for it).
  struct pending_ask {
    continuation then;
    std::chrono::steady_clock::time_point deadline;
  };
  struct extras {
    std::unordered_map<timer_id, timer> timers;
    timer_id last_timer = 0;
    std::unordered_map<std::uint64_t, pending_ask> pending;  // by request id
    std::uint64_t last_request = 0;
    // Deadlines of pending asks, earliest first. Entries of asks already answered are removed
    // lazily, when they reach the top.
    std::priority_queue<deadline_entry, std::vector<deadline_entry>, std::greater<>> deadlines;
    std::optional<asio::steady_timer> ask_clock;  // one per actor, set for the earliest deadline
    std::chrono::steady_clock::time_point clock_deadline{};
    bool clock_armed = false;
    // What keeps the io_context running for this actor's asks: held while any ask is pending,
    // released once none is (the clock's own wait never counts: see arm_ask_clock). So an
    // answered ask does not hold a draining shutdown until its deadline.
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> ask_hold;
    // Supervision other than the default (stop on the first failure).
    std::optional<supervision> supervised;
    std::string initial;                                      // snapshot, for restart_policy::restart
    std::deque<std::chrono::steady_clock::time_point> failures;  // within the policy's window
    std::string exit_detail;                                  // why it failed, for watchers
  };

  // A wait handler that, when its clock expires, sends this actor `signal` from itself (so it
  // is not an outside message, even during shutdown). A cancelled wait, or an actor that is
  // gone, sends nothing.
  template <class Signal>
  auto signal_on_expiry(Signal signal) {
    return [weak = weak_from_this(), signal](const asio::error_code& error) {
      if (error) return;
      if (auto self = weak.lock()) {
        message_ptr m = make_message<Signal>(signal);
        sender_of(*m) = self;
        self->enqueue(std::move(m));
      }
    };
  }

  // The ask clock's wait handler: signal_on_expiry(ask_check), for a wait that arm_ask_clock
  // took out of the io_context's work count. Whether it runs (expired or cancelled), it first
  // gives that unit back, since Asio takes one away when a handler returns.
  auto ask_clock_handler() {
    return [weak = weak_from_this(), work = system_->io->get_executor()](const asio::error_code& error) {
      work.on_work_started();
      if (error) return;
      if (auto self = weak.lock()) {
        message_ptr m = make_message<ask_check>();
        sender_of(*m) = self;
        self->enqueue(std::move(m));
      }
    };
  }

  extras& more() {
    if (!extras_) extras_ = std::make_unique<extras>();
    return *extras_;
  }

  // Arms the clock for deadline. It stays armed when its asks are answered (re-arming per ask
  // would cost a timer-queue update, often a system call, on the ask path), so its wait must
  // not keep the io_context running: Asio counts a pending wait as one unit of outstanding
  // work, and this gives that unit back at once (ask_clock_handler takes it again before
  // Asio releases it). What keeps the system running for a pending ask is ask_hold.
  // The count cannot reach zero here: the caller runs in a handler (which is counted work
  // itself) or before the workers start, while the system's own work guard is held.
  void arm_ask_clock(std::chrono::steady_clock::time_point deadline) {
    extras& x = *extras_;
    if (!x.ask_clock) x.ask_clock.emplace(*system_->io);
    x.ask_clock->expires_at(deadline);  // cancels an earlier wait, whose handler then does nothing
    x.ask_clock->async_wait(ask_clock_handler());
    system_->io->get_executor().on_work_finished();
    x.clock_deadline = deadline;
    x.clock_armed = true;
  }

  // Once no ask is pending, this actor no longer keeps the io_context running.
  void release_ask_hold_if_idle() noexcept {
    if (extras_ && extras_->pending.empty()) extras_->ask_hold.reset();
  }
  // Calls release_ask_hold_if_idle() when it goes out of scope (after a continuation, which
  // may ask again and so keep the hold, has run or thrown).
  struct ask_hold_check {
    actor_cell& cell;
    ~ask_hold_check() { cell.release_ask_hold_if_idle(); }
  };

  void drop_answered_deadlines() {
    extras& x = *extras_;
    while (!x.deadlines.empty() && !x.pending.contains(x.deadlines.top().second)) x.deadlines.pop();
  }

  // Runs the continuation waiting for request, if it still waits, with m (a reply or an error).
  void resume(std::uint64_t request, const message& m) {
    if (!extras_) return;
    auto it = extras_->pending.find(request);
    if (it == extras_->pending.end()) return;  // answered already, or timed out: a late reply is dropped
    continuation then = std::move(it->second.then);
    extras_->pending.erase(it);
    drop_answered_deadlines();
    ask_hold_check check{*this};
    then(*this, m);
  }

  // The ask clock fired: time out every ask past its deadline, then wait for the next one.
  void time_out_asks() {
    if (!extras_) return;
    extras& x = *extras_;
    x.clock_armed = false;
    const auto now = std::chrono::steady_clock::now();
    std::vector<continuation> expired;
    while (!x.deadlines.empty() && x.deadlines.top().first <= now) {
      if (auto it = x.pending.find(x.deadlines.top().second); it != x.pending.end()) {
        expired.push_back(std::move(it->second.then));
        if (durable_) durable_->run().timed_out.push_back(it->first);
        x.pending.erase(it);
      }
      x.deadlines.pop();
    }
    drop_answered_deadlines();
    if (!x.deadlines.empty()) arm_ask_clock(x.deadlines.top().first);
    ask_hold_check check{*this};
    const auto error = make_message<ask_error>(ask_error{ask_errc::timeout});
    for (auto& then : expired) then(*this, *error);
  }

  void arm(timer_id id, asio::steady_timer& clock) { clock.async_wait(signal_on_expiry(timer_fired{id})); }


  // A timer_fired message: deliver the timer's payload if it is still pending, re-arm or forget.
  void fire(timer_id id) {
    if (!extras_) return;
    auto& timers = extras_->timers;
    auto it = timers.find(id);
    if (it == timers.end()) return;  // cancelled after it expired
    message_ptr m;
    try {
      m = it->second.payload->make();
    } catch (const std::exception& e) {
      timers.erase(it);
      return fail(std::string("timer payload could not be restored: ") + e.what());
    }
    sender_of(*m) = shared_from_this();
    if (it->second.period.count() > 0) {
      it->second.clock->expires_at(it->second.clock->expiry() + it->second.period);
      arm(id, *it->second.clock);
    } else {
      timers.erase(it);
    }
    handle(*m);
  }

  void handle(const message& m) {
    current_ = &m;
    try {
      if (const std::uint64_t request = response_to_of(m)) {
        resume(request, m);
      } else if (m.is<ask_check>()) {
        time_out_asks();
      } else if (const auto* t = m.get_if<detail::timer_action>()) {
        t->action(*this);
      } else {
        behavior_(*this, m);
      }
    } catch (const std::exception& e) {
      on_failure(m, e.what());
    } catch (...) {
      on_failure(m, "a non-standard exception");
    }
    current_ = nullptr;
    if (become_pending_) {
      // Swapped only now: the old behavior may have been the last owner of the code running.
      behavior_ = std::move(next_behavior_);
      next_behavior_ = behavior{};
      become_pending_ = false;
    }
  }

  // A behavior threw while handling m: apply the actor's supervision.
  void on_failure(const message& m, const std::string& what) {
    call_failed_ = true;
    const std::string detail = "behavior threw on a " + std::string(m.type_name()) + ": " + what;
    become_pending_ = false;  // what the failed call asked for does not happen
    next_behavior_ = behavior{};
    if (!extras_ || !extras_->supervised) return fail(detail);
    extras& x = *extras_;
    const auto now = std::chrono::steady_clock::now();
    x.failures.push_back(now);
    while (now - x.failures.front() > x.supervised->window) x.failures.pop_front();
    if (x.failures.size() > x.supervised->max_restarts)
      return fail(detail + " (" + std::to_string(x.failures.size()) + " failures within " +
                  std::to_string(x.supervised->window.count()) + " ms, limit " +
                  std::to_string(x.supervised->max_restarts) + ")");
    if (x.supervised->policy == restart_policy::restart) restart();
  }

  void fail(const std::string& detail) {
    if (durable_)
      system_->log(log_level::error, "revenant: actor \"" + name() + "\"" + system_->store_context() +
                                         " quarantined: " + detail);
    else
      system_->log(log_level::warning, "revenant: actor \"" + name() + "\" stopped: " + detail);
    exit_ = exit_reason::failed;
    more().exit_detail = detail;
    stop_requested_ = true;
  }

  // Replaces the failed incarnation with a fresh one decoded from the snapshot taken at spawn;
  // the old graph, its timers and its pending asks are dropped and released.
  void restart() {
    behavior fresh;
    try {
      detail::resolver_scope scope(system_.get());
      fresh = decode_snapshot<behavior>(extras_->initial, "initial behavior of actor \"" + name() + "\"");
    } catch (const std::exception& e) {
      return fail(std::string("restart failed: ") + e.what());
    }
    std::vector<continuation> waiting = take_pending();
    extras_->deadlines = {};
    extras_->timers.clear();
    extras_->ask_hold.reset();
    release(std::tuple{behavior_, waiting});
    behavior_ = std::move(fresh);
  }

  // Moves every pending ask's continuation out (to be released with the graph).
  std::vector<continuation> take_pending() {
    std::vector<continuation> waiting;
    for (auto& [_, ask] : extras_->pending) waiting.push_back(std::move(ask.then));
    extras_->pending.clear();
    return waiting;
  }

  // Releases the behavior graph and everything else the actor holds (timers, pending asks).
  void release_graph() {
    std::vector<continuation> waiting;
    if (extras_) {
      waiting = take_pending();
      extras_.reset();  // destroying its timers cancels their waits
    }
    release(std::tuple{behavior_, next_behavior_, waiting});
    behavior_ = behavior{};
    next_behavior_ = behavior{};
  }

  // ---- durability ----------------------------------------------------------------------

 public:
  // The record this actor's current state encodes to (docs/format.md, "Actor record").
  // Worker side (or before the actor is visible).
  std::string encode_record() {
    actor_image image;
    image.current = behavior_;
    image.capacity = capacity_.load(std::memory_order_relaxed);
    if (extras_) {
      extras& x = *extras_;
      if (x.supervised) {
        image.policy = static_cast<std::uint8_t>(x.supervised->policy);
        image.max_restarts = x.supervised->max_restarts;
        image.window_ms = x.supervised->window.count();
      }
      image.initial = x.initial;
      image.last_request = x.last_request;
      image.last_timer = x.last_timer;
      for (const auto& [request, ask] : x.pending)
        image.pending.push_back(pending_image{request, to_wall(ask.deadline), ask.then});
      for (const auto& [id, t] : x.timers) {
        const auto* stored = dynamic_cast<const stored_payload*>(t.payload.get());
        image.timers.push_back(timer_image{id, to_wall(t.clock->expiry()), t.period.count(),
                                           stored ? stored->envelope() : encode_envelope(*t.payload->make(), name())});
      }
    }
    const std::string snapshot = encode_snapshot(image);
    actor_record_info info;
    info.behavior = std::string(behavior_.function_name());
    info.pending_asks = static_cast<std::uint32_t>(image.pending.size());
    info.timers = static_cast<std::uint32_t>(image.timers.size());
    info.steps = ++durable_->steps;
    return encode_actor_record(info, snapshot);
  }

  // The step that makes a newly spawned durable actor exist in the store.
  step first_step() {
    step s;
    s.actor = name();
    s.record = step::record_op::put;
    s.record_bytes = encode_record();
    const bool waiting = has_waiting();
    if (waiting) s.wake = 1;
    durable_->wake_stored = waiting;
    return s;
  }

  // Decodes this actor's record and takes up its state: behavior, supervision, pending asks,
  // timers (re-armed; late ones fire at once). On any damage the actor is quarantined and
  // finished (its record and mailbox stay in the store); returns false then. The caller counts
  // the activation (recovered.activated).
  // record: the stored bytes if the caller has them (eager recovery), else they are read.
  bool activate(std::optional<std::string_view> record_bytes = std::nullopt) {
    // The subject an error names is composed only when there is an error (this runs a million
    // times in an eager open).
    auto subject = [&] { return "actor \"" + name() + "\""; };
    try {
      std::optional<std::string> read;
      if (!record_bytes) {
        read = system_->db->get(system_->db->actors(), name());
        if (!read) throw std::runtime_error("its record is missing from the store");
        record_bytes = *read;
      }
      actor_record_view record;
      actor_image image;
      try {
        record = decode_actor_record(*record_bytes, {});
        detail::resolver_scope scope(system_.get());
        image = decode_snapshot<actor_image>(record.snapshot);
      } catch (const snapshot_error& e) {
        throw e.with_subject(subject());
      }
      if (!image.timers.empty()) {
        detail::resolver_scope scope(system_.get());
        for (const auto& t : image.timers) (void)decode_envelope(t.payload, "timer payload of " + subject());
      }
      take_up(std::move(image), record.steps);
      if (durable_->replay_stored_journal || (!system_->journaled.empty() && system_->journaled.contains(given_name())))
        replay_journal();
    } catch (const std::exception& e) {
      quarantine_now(e.what());
      return false;
    }
    return true;
  }

  // Takes a durable actor whose stored state cannot be used out of service: the reason is
  // stored, its record and mailbox are left as they are, and it finishes in memory.
  void quarantine_now(const std::string& reason) {
    durable_->ended = true;
    system_->quarantine(name(), reason, lift_failed(reason));
    exit_ = exit_reason::failed;
    more().exit_detail = reason;
    finish(dead_letter_reason::stopped);
  }

  // A lifted quarantine (before anyone can reach this actor): the next run starts with the
  // kept messages (oldest first), then reports through waiter; replay_journal says whether
  // the store may hold journal entries to replay.
  void lift(std::vector<message_ptr> kept, std::shared_ptr<std::promise<void>> waiter) {
    kept.push_back(make_message<lift_probe>());
    durable_->lift_waiter = std::move(waiter);
    durable_->replay_stored_journal = true;
    message* fifo = nullptr;
    for (auto it = kept.rbegin(); it != kept.rend(); ++it) {
      next_of(**it) = fifo;
      fifo = it->release();
    }
    cache_ = fifo;  // worker side, but no worker runs this actor before schedule() below
  }
  // Releases the behavior graph of an actor that never became visible.
  void release_unborn() { release_graph(); }
  // Keeps pushes from scheduling this actor (they see it as scheduled) until start() does:
  // called before it is visible.
  void hold() noexcept { inbox_.store(nullptr, std::memory_order_relaxed); }
  void start() { system_->schedule(shared_from_this()); }

 private:
  // Drops the children spawned by this run from the from-th on: their step will not commit.
  void abandon_children(std::size_t from) {
    if (!durable_->buffers) return;
    auto& children = durable_->buffers->children;
    if (children.size() <= from) return;
    {
      std::lock_guard lock(system_->mutex);
      for (std::size_t i = from; i < children.size(); ++i) system_->spawning.erase(children[i].stored.actor);
    }
    for (std::size_t i = from; i < children.size(); ++i) children[i].cell->release_unborn();
    children.resize(from);
  }
  // Moves this run's children into s: written with it, visible once it is.
  void commit_children(step& s) {
    if (!durable_->buffers || durable_->buffers->children.empty()) return;
    std::vector<std::shared_ptr<actor_cell>> cells;
    for (auto& child : durable_->buffers->children) {
      s.spawned_actors.push_back(std::move(child.stored));
      cells.push_back(std::move(child.cell));
    }
    durable_->buffers->children.clear();
    s.on_written = [system = system_, cells = std::move(cells)] {
      std::lock_guard lock(system->mutex);
      for (const auto& cell : cells) {
        system->spawning.erase(cell->given_name());
        if (!system->finished) system->named.insert(cell);
      }
    };
  }

  // What the step that quarantines a lifted actor again does once committed: tells the lift.
  std::function<void()> lift_failed(const std::string& reason) {
    if (!durable_->lift_waiter) return {};
    return [waiter = std::exchange(durable_->lift_waiter, nullptr), name = name(), reason] {
      waiter->set_exception(std::make_exception_ptr(actor_quarantined(name, reason)));
    };
  }

  void take_up(actor_image image, std::uint64_t steps) {
    durable_->loaded = true;
    durable_->steps = steps;
    behavior_ = std::move(image.current);
    capacity_.store(image.capacity, std::memory_order_relaxed);
    if (image.policy < static_cast<std::uint8_t>(restart_policy::stop) ||
        image.policy > static_cast<std::uint8_t>(restart_policy::restart))
      throw std::runtime_error("its record names restart policy " + std::to_string(image.policy) +
                               ", expected 1 (stop), 2 (resume) or 3 (restart)");
    const auto policy = static_cast<restart_policy>(image.policy);
    if (policy == restart_policy::resume || policy == restart_policy::restart) {
      extras& x = more();
      x.supervised = supervision{policy, image.max_restarts, std::chrono::milliseconds(image.window_ms),
                                 image.capacity};
      x.initial = std::move(image.initial);
    }
    if (image.last_request != 0 || image.last_timer != 0 || !image.pending.empty() || !image.timers.empty()) {
      extras& x = more();
      x.last_request = image.last_request;
      x.last_timer = image.last_timer;
      for (auto& p : image.pending) {
        const auto deadline = from_wall(p.deadline);
        x.pending.emplace(p.request, pending_ask{std::move(p.then), deadline});
        x.deadlines.emplace(deadline, p.request);
      }
      if (!x.deadlines.empty()) {
        arm_ask_clock(x.deadlines.top().first);
        x.ask_hold.emplace(system_->io->get_executor());
      }
      system_->recovered.continuations.fetch_add(image.pending.size(), std::memory_order_relaxed);
      const std::string subject = "timer payload of actor \"" + name() + "\"";
      for (auto& t : image.timers) {
        auto& slot = x.timers[t.id];
        slot.clock.emplace(*system_->io, from_wall(t.due));
        slot.period = std::chrono::nanoseconds(t.period);
        slot.payload = std::make_unique<stored_payload>(std::move(t.payload), subject);
        arm(t.id, *slot.clock);
      }
      system_->recovered.timers.fetch_add(image.timers.size(), std::memory_order_relaxed);
    }
    durable_->wake_stored = has_waiting();
  }

  bool journaling() const noexcept { return system_->durable->snapshot_every > 1; }

  // Appends what handling m did to the current step's journal: the message itself, or for the
  // runtime's signals what they delivered (a timer's firing; one ask_error per ask timed out).
  void journal(const message& m) {
    auto add_entry = [&](const message& entry) {
      const auto& sender = sender_of(entry);
      durable_->run().journal.push_back(outgoing{nullptr, nullptr, encode_envelope(entry, sender ? sender->name() : ""), 0});
    };
    if (m.is<ask_check>()) {
      for (std::uint64_t request : durable_->run().timed_out) {
        message_ptr e = make_message<ask_error>(ask_error{ask_errc::timeout});
        response_to_of(*e) = request;
        add_entry(*e);
      }
    } else if (!m.is<wake_up>() && !m.is<lift_probe>()) {
      add_entry(m);
    }
    durable_->run().timed_out.clear();
  }

  // Re-handles the journal written since the record, in order, with sends dropped.
  void replay_journal() {
    const std::string prefix = name() + std::string(1, '\0');
    auto it = system_->db->scan(system_->db->journal());
    detail::resolver_scope scope(system_.get());
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      std::string_view actor;
      std::uint64_t seq = 0;
      store::parse_mailbox_key(key, actor, seq);
      decoded_envelope d = decode_envelope(std::string_view(it->value().data(), it->value().size()),
                                           "journal entry " + std::to_string(seq) + " of actor \"" + name() + "\"");
      if (!d.header.sender.empty()) sender_of(*d.value) = system_->resolve_cell(d.header.sender);
      durable_->replaying = true;
      if (const auto* t = d.value->get_if<timer_fired>())
        fire(t->id);
      else
        handle(*d.value);
      durable_->replaying = false;
      // A failure supervision did not get past leaves the state half-changed: replaying more
      // entries on it would only compound the damage (and fail again for each).
      if (exit_ == exit_reason::failed)
        throw std::runtime_error("journal replay stopped at entry " + std::to_string(seq) + ": " +
                                 (extras_ ? extras_->exit_detail : std::string("its behavior failed")));
      ++durable_->since_snapshot;
      durable_->journal_stored = true;
    }
    system_->db->check_scan(*it, "the journal of actor \"" + name() + "\"");
  }

  bool has_waiting() const noexcept { return extras_ && (!extras_->timers.empty() || !extras_->pending.empty()); }

  // Commits what this actor did since its last step: its new record, the messages it consumed
  // and sent. Returns false if the state could not be encoded: the actor is then quarantined
  // (nothing of the step is committed or sent) and finished.
  bool checkpoint() {
    step s;
    s.actor = name();
    const bool full = !journaling() || ++durable_->since_snapshot >= system_->durable->snapshot_every;
    try {
      if (full) s.record_bytes = encode_record();
    } catch (const std::exception& e) {
      durable_->run().outbox.clear();
      durable_->run().consumed.clear();
      durable_->run().journal.clear();
      abandon_children(0);
      fail(std::string("its state could not be checkpointed: ") + e.what());
      finish(dead_letter_reason::stopped);
      return false;
    }
    if (full) {
      s.record = step::record_op::put;
      s.clear_journal = std::exchange(durable_->journal_stored, false);
      durable_->since_snapshot = 0;
      durable_->run().journal.clear();
    } else {
      durable_->journal_stored = durable_->journal_stored || !durable_->run().journal.empty();
      s.journal.swap(durable_->run().journal);
    }
    s.consumed.swap(durable_->run().consumed);
    s.outbox.swap(durable_->run().outbox);
    commit_children(s);
    if (const bool waiting = has_waiting(); waiting != durable_->wake_stored) {
      s.wake = waiting ? 1 : 0;
      durable_->wake_stored = waiting;
    }
    if (std::exchange(durable_->run().lift_reached, false) && durable_->lift_waiter)
      s.on_commit = [waiter = std::exchange(durable_->lift_waiter, nullptr)] { waiter->set_value(); };
    system_->submit(std::move(s));
    return true;
  }

  // The last step of a durable actor that stops: erased (stopped) or quarantined (failed).
  // `rest` are the messages still queued; a stopped actor's are deleted (they become dead
  // letters), a quarantined actor's stay.
  void commit_end(message* rest) {
    step s;
    s.actor = name();
    s.consumed.swap(durable_->run().consumed);
    if (exit_ == exit_reason::failed) {
      // The failed call may have changed the state halfway. Roll the whole unfinished step
      // back instead: the last committed record stays, every message of this run stays in the
      // mailbox, and nothing the run sent is released (the state that sent it is gone). Lifting
      // the quarantine would replay the run from the last record.
      s.consumed.clear();
      durable_->run().outbox.clear();
      durable_->run().journal.clear();
      abandon_children(0);
      s.quarantine = extras_ ? extras_->exit_detail : std::string("failed");
      s.on_commit = lift_failed(s.quarantine);
      system_->note_quarantined(name(), s.quarantine);
    } else {
      s.record = step::record_op::erase;
      {
        std::lock_guard lock(system_->mutex);
        system_->erasing.insert(name());
      }
      // A lifted actor that stops while handling what it kept has handled it.
      s.on_commit = [system = system_, erased = name(), waiter = std::exchange(durable_->lift_waiter, nullptr)] {
        {
          std::lock_guard lock(system->mutex);
          system->erasing.erase(erased);
        }
        if (waiter) waiter->set_value();
      };
      s.outbox.swap(durable_->run().outbox);
      commit_children(s);
      if (durable_->wake_stored) s.wake = 0;
      for (message* m = rest; m != nullptr; m = next_of(*m))
        if (const std::uint64_t seq = message_access::durable_seq(*m)) s.consumed.push_back(seq);
    }
    system_->submit(std::move(s));
  }

 public:
  void send_down(detail::actor_base& watcher, const down& notice) {
    message_ptr m = make_message<down>(notice);
    sender_of(*m) = shared_from_this();
    watcher.enqueue(std::move(m));
  }

  message* take_inbox(message* replacement) {
    message* list = inbox_.exchange(replacement, std::memory_order_acq_rel);
    return list == blocked_marker || list == closed_marker ? nullptr : reversed(list);
  }

  static message* reversed(message* stack) noexcept {
    message* fifo = nullptr;
    while (stack != nullptr) fifo = std::exchange(stack, std::exchange(next_of(*stack), fifo));
    return fifo;
  }

  void drop_list(message* fifo, dead_letter_reason reason) noexcept {
    while (fifo != nullptr) {
      message_ptr m(fifo);
      fifo = std::exchange(next_of(*m), nullptr);
      if (is_runtime_signal(*m)) continue;  // dies with the actor
      system_->dead(name(), std::move(m), reason);
    }
  }

  std::shared_ptr<actor_system::impl> system_;
  std::atomic<std::uint32_t> capacity_;     // 0: unbounded, queued_ unused (set once, before use)
  std::atomic<std::uint32_t> queued_{0};    // messages in the mailbox, for the bound
  std::atomic<message*> inbox_{blocked_marker};  // a LIFO stack; producers push, the worker takes all
  // Worker side.
  message* cache_ = nullptr;  // messages taken from the inbox, oldest first
  behavior behavior_;
  behavior next_behavior_;
  bool become_pending_ = false;
  bool stop_requested_ = false;
  const message* current_ = nullptr;
  std::unique_ptr<extras> extras_;
  exit_reason exit_ = exit_reason::normal;
  bool call_failed_ = false;  // the last handle() threw
  durable_part* durable_ = nullptr;  // durable actors only: durable_cell's, which outlives every use
  // Guarded by the system's mutex (watching is rare; no lock of the actor's own).
  std::vector<std::weak_ptr<detail::actor_base>> watchers_;
  std::unique_ptr<down> finished_;  // set once the actor has stopped

  friend struct actor_system::impl;
};

// A durable actor: the cell and its durable part in one allocation. Loaded: spawned with its
// behavior (spawn_durable); otherwise its record is decoded on activation (recovery).
class durable_cell final : public actor_cell {
 public:
  durable_cell(std::shared_ptr<actor_system::impl> system, std::uint64_t id, std::string name, behavior initial,
               supervision policy, bool loaded)
      : actor_cell(std::move(system), id, std::move(name), std::move(initial), policy, &part_) {
    part_.loaded = loaded;
  }

 private:
  durable_part part_;
};

actor_ref actor_cell::spawn_durable(std::string name, behavior initial, supervision policy) {
  if (!system_->db) throw std::logic_error("revenant: spawn_durable needs an actor system opened on a store");
  actor_system::impl::check_durable_name(name);
  // Committed when the step replayed was first taken: that child is the one to return.
  if (durable_ && durable_->replaying) return actor_ref(system_->resolve(name));
  std::shared_ptr<actor_cell> child = std::make_shared<durable_cell>(
      system_, system_->next_id.fetch_add(1, std::memory_order_relaxed), name, std::move(initial), policy, true);
  if (!durable_) {
    (void)system_->start_durable(child);  // committed on its own; no need to wait
    return actor_ref(std::move(child));
  }
  try {
    step first = child->first_step();
    std::lock_guard lock(system_->mutex);
    system_->check_durable_name_free(name);
    system_->spawning.insert(name);
    durable_->run().children.push_back(run_buffers::child{child, step::spawned{name, std::move(first.record_bytes), first.wake == 1}});
  } catch (...) {
    child->release_unborn();
    throw;
  }
  return actor_ref(std::move(child));
}

}  // namespace

namespace {

// What a decoded reference to an actor that is not running (stopped, quarantined, not yet
// spawned, or the system is shutting down) points to: it keeps the name — so the next
// checkpoint writes the reference back unchanged instead of losing it — and turns messages into
// dead letters.
class detached_actor final : public detail::actor_base {
 public:
  detached_actor(std::weak_ptr<actor_system::impl> system, std::string name)
      : actor_base(0, std::move(name)), system_(std::move(system)) {}
  void enqueue(message_ptr m) override {
    if (auto system = system_.lock()) system->dead(name(), std::move(m), dead_letter_reason::stopped);
  }
  void add_watcher(const std::shared_ptr<detail::actor_base>& watcher) override {
    message_ptr m = make_message<down>(down{name(), exit_reason::normal, "not running in this process"});
    watcher->enqueue(std::move(m));
  }

 private:
  std::weak_ptr<actor_system::impl> system_;
};

}  // namespace

namespace {

// The sender of every ask from outside the system: not an actor (it has no mailbox, is never
// scheduled and never stops), just where replies are routed to the futures waiting for them.
class outside_reply_point final : public detail::actor_base {
 public:
  explicit outside_reply_point(std::weak_ptr<actor_system::impl> system) : actor_base(0, {}), system_(std::move(system)) {}
  void enqueue(message_ptr m) override {
    auto system = system_.lock();
    if (!system) return;
    if (const std::uint64_t request = message_access::response_to(*m)) {
      system->complete_outside_ask(request, m.get(), nullptr);
      return;
    }
    system->dead({}, std::move(m), dead_letter_reason::no_recipient);  // not a reply: nobody reads it
  }
  void add_watcher(const std::shared_ptr<detail::actor_base>&) override {}  // never stops

 private:
  std::weak_ptr<actor_system::impl> system_;
};

}  // namespace

std::shared_ptr<detail::actor_base> actor_system::impl::outside_sender() {
  std::lock_guard lock(outside_mutex);
  if (!outside_asker) outside_asker = std::make_shared<outside_reply_point>(weak_from_this());
  return outside_asker;
}

std::uint64_t actor_system::impl::add_outside_ask(std::unique_ptr<detail::outside_reply> reply,
                                                  std::chrono::steady_clock::time_point deadline) {
  std::lock_guard lock(outside_mutex);
  if (outside_closed) {
    reply->fail(std::make_exception_ptr(std::logic_error("revenant: the actor system is shut down")));
    return 0;
  }
  const std::uint64_t request = ++outside_last_request;
  outside_pending.emplace(request, std::move(reply));
  outside_deadlines.emplace(deadline, request);
  if (!outside_clock_armed || deadline < outside_clock_at) arm_outside_clock(deadline);
  return request;
}

void actor_system::impl::arm_outside_clock(std::chrono::steady_clock::time_point at) {
  if (!outside_clock) outside_clock.emplace(*io);
  outside_clock->expires_at(at);  // cancels an earlier wait, whose handler then does nothing
  outside_clock->async_wait([weak = weak_from_this()](const asio::error_code& error) {
    if (error) return;
    if (auto system = weak.lock()) system->time_out_outside_asks();
  });
  outside_clock_at = at;
  outside_clock_armed = true;
}

void actor_system::impl::complete_outside_ask(std::uint64_t request, const message* reply, std::exception_ptr error) {
  std::unique_ptr<detail::outside_reply> waiting;
  {
    std::lock_guard lock(outside_mutex);
    auto it = outside_pending.find(request);
    if (it == outside_pending.end()) return;  // answered already, or timed out
    waiting = std::move(it->second);
    outside_pending.erase(it);
    if (outside_pending.empty()) {
      // Nothing left to time out: the clock must not keep the system running.
      outside_deadlines = {};
      if (outside_clock_armed) outside_clock->cancel();
      outside_clock_armed = false;
    }
  }
  if (reply != nullptr)
    waiting->answer(*reply);
  else
    waiting->fail(std::move(error));
}

void actor_system::impl::time_out_outside_asks() {
  std::vector<std::unique_ptr<detail::outside_reply>> expired;
  {
    std::lock_guard lock(outside_mutex);
    outside_clock_armed = false;
    const auto now = std::chrono::steady_clock::now();
    while (!outside_deadlines.empty() && outside_deadlines.top().first <= now) {
      if (auto it = outside_pending.find(outside_deadlines.top().second); it != outside_pending.end()) {
        expired.push_back(std::move(it->second));
        outside_pending.erase(it);
      }
      outside_deadlines.pop();
    }
    while (!outside_deadlines.empty() && !outside_pending.contains(outside_deadlines.top().second))
      outside_deadlines.pop();
    if (!outside_deadlines.empty()) arm_outside_clock(outside_deadlines.top().first);
  }
  const message_ptr timeout = make_message<ask_error>(ask_error{ask_errc::timeout});
  for (auto& reply : expired) reply->answer(*timeout);
}

void actor_system::impl::close_outside_asks() {
  std::unordered_map<std::uint64_t, std::unique_ptr<detail::outside_reply>> left;
  {
    std::lock_guard lock(outside_mutex);
    outside_closed = true;
    left.swap(outside_pending);
    outside_deadlines = {};
    outside_clock.reset();
    outside_clock_armed = false;
  }
  const message_ptr stopped = make_message<ask_error>(ask_error{ask_errc::target_stopped});
  for (auto& [_, reply] : left) reply->answer(*stopped);
}

std::shared_ptr<detail::actor_base> actor_system::impl::resolve(const std::string& name) {
  if (auto cell = resolve_cell(name)) return cell;
  return std::make_shared<detached_actor>(weak_from_this(), name);
}

std::shared_ptr<actor_cell> actor_system::impl::resolve_cell(const std::string& name) {
  std::lock_guard lock(mutex);
  // Quarantined first: an actor quarantined by its own run is still registered until its run
  // has finished, and a message sent meanwhile must get the same answer as one sent after.
  if (!quarantine_list.empty() && quarantine_list.contains(name)) return nullptr;
  if (auto found = named.find(name)) return *found;
  if (!db || finished || erasing.contains(name) || spawning.contains(name)) return nullptr;
  // A point lookup (bloom-filtered): the actor exists if its record does. Its record is decoded
  // by its first run, on a worker.
  if (!db->get(db->actors(), name)) return nullptr;
  std::shared_ptr<actor_cell> cell = std::make_shared<durable_cell>(
      shared_from_this(), next_id.fetch_add(1, std::memory_order_relaxed), name, behavior{}, supervision{}, false);
  named.insert(cell);
  return cell;
}

std::optional<std::uint64_t> actor_system::impl::submit(step s) {
  // Under the mutex: shutdown closes the store under it, and a closed cell can still be sent to.
  std::lock_guard lock(mutex);
  if (!commits) return std::nullopt;
  return commits->submit(std::move(s));
}

void actor_system::impl::note_quarantined(const std::string& name, const std::string& reason) {
  recovered.quarantined.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mutex);
  quarantine_list[name] = reason;
}

void actor_system::impl::quarantine(const std::string& name, const std::string& reason,
                                    std::function<void()> on_commit) {
  log(log_level::error, "revenant: actor \"" + name + "\"" + store_context() + " quarantined: " + reason);
  note_quarantined(name, reason);
  step s;
  s.actor = name;
  s.quarantine = reason;
  s.on_commit = std::move(on_commit);
  submit(std::move(s));
}

void actor_system::impl::discard(const std::string& name, std::uint64_t seq) {
  {
    std::lock_guard lock(mutex);
    if (quarantine_list.contains(name)) return;  // kept with the actor
  }
  step s;
  s.actor = name;
  s.consumed.push_back(seq);
  submit(std::move(s));
}

void actor_system::impl::check_durable_name(const std::string& name) {
  if (name.empty()) throw std::invalid_argument("revenant: an actor name must not be empty");
  if (name.find('\0') != std::string::npos)
    throw std::invalid_argument("revenant: a durable actor name must not contain a zero byte");
}

void actor_system::impl::check_durable_name_free(const std::string& name) const {
  if (shut_down) throw std::logic_error("revenant: spawn after the actor system shut down");
  if (auto q = quarantine_list.find(name); q != quarantine_list.end()) throw actor_quarantined(name, q->second);
  if (named.contains(name) || erasing.contains(name) || spawning.contains(name) || db->get(db->actors(), name))
    throw std::invalid_argument("revenant: a durable actor named \"" + name +
                                "\" already exists (running, stored or being spawned)");
}

void actor_system::impl::log(log_level level, const std::string& text) const noexcept {
  if (!config.log) return;
  try {
    config.log(level, text);
  } catch (...) {
    // A sink that throws must not take down the thread that reported.
  }
}

std::string actor_system::impl::store_context() const {
  return durable ? " (store \"" + durable->path + "\")" : std::string();
}

std::exception_ptr actor_system::impl::no_actor(const std::string& name) const {
  {
    std::lock_guard lock(mutex);
    if (auto it = quarantine_list.find(name); it != quarantine_list.end())
      return std::make_exception_ptr(actor_quarantined(name, it->second));
  }
  return std::make_exception_ptr(std::invalid_argument("revenant: no actor named \"" + name + "\""));
}

std::vector<std::pair<std::uint64_t, std::string>> actor_system::impl::stored_entries(
    rocksdb::ColumnFamilyHandle* family, const std::string& actor) const {
  std::vector<std::pair<std::uint64_t, std::string>> entries;
  const std::string prefix = actor + std::string(1, '\0');
  auto it = db->scan(family);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view name;
    std::uint64_t seq = 0;
    if (store::parse_mailbox_key(std::string_view(it->key().data(), it->key().size()), name, seq))
      entries.emplace_back(seq, it->value().ToString());
  }
  db->check_scan(*it, "the entries of actor \"" + actor + "\"");
  return entries;
}

quarantined_actor actor_system::impl::describe_quarantined(const std::string& name, const std::string& reason) const {
  quarantined_actor q{name, reason};
  if (!db) return q;
  q.record_stored = db->get(db->actors(), name).has_value();
  q.mailbox_entries = stored_entries(db->mailbox(), name).size();
  q.journal_entries = stored_entries(db->journal(), name).size();
  return q;
}

std::string actor_system::impl::claim_quarantined(const std::string& name) {
  if (!db) throw std::logic_error("revenant: quarantines exist only in an actor system opened on a store");
  for (int waited_ms = 0;; ++waited_ms) {
    {
      std::lock_guard lock(mutex);
      if (shut_down) throw std::logic_error("revenant: the actor system is shut down");
      auto it = quarantine_list.find(name);
      if (it == quarantine_list.end())
        throw std::invalid_argument("revenant: actor \"" + name + "\" is not quarantined");
      if (quarantine_busy.contains(name))
        throw std::invalid_argument("revenant: the quarantine of actor \"" + name +
                                    "\" is being lifted or discarded already");
      // The incarnation that failed leaves the table only after submitting its quarantine step.
      if (!named.contains(name)) {
        quarantine_busy.insert(name);
        return it->second;
      }
    }
    if (waited_ms == 10'000)
      throw std::logic_error("revenant: actor \"" + name + "\" is still stopping after its quarantine");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

namespace {

// Actor records read by the eager scan, names and bytes copied into one reused buffer (an
// iterator's slices die at its next step).
class record_batch {
 public:
  static constexpr std::size_t max_entries = 1024;
  static constexpr std::size_t max_bytes = std::size_t{1} << 20;

  void add(const rocksdb::Slice& name, const rocksdb::Slice& record) {
    entries_.push_back(entry{bytes_.size(), name.size(), bytes_.size() + name.size(), record.size()});
    bytes_.append(name.data(), name.size());
    bytes_.append(record.data(), record.size());
  }
  bool full() const noexcept { return entries_.size() >= max_entries || bytes_.size() >= max_bytes; }
  std::size_t size() const noexcept { return entries_.size(); }
  std::string_view name(std::size_t i) const noexcept { return view(entries_[i].name_at, entries_[i].name_size); }
  std::string_view record(std::size_t i) const noexcept { return view(entries_[i].record_at, entries_[i].record_size); }
  void clear() noexcept {
    bytes_.clear();
    entries_.clear();
  }

 private:
  struct entry {
    std::size_t name_at, name_size, record_at, record_size;
  };
  std::string_view view(std::size_t at, std::size_t n) const noexcept { return std::string_view(bytes_).substr(at, n); }
  std::string bytes_;
  std::vector<entry> entries_;
};

}  // namespace

// Eager recovery. The actors family is cut into key ranges; as many threads as the system has
// workers (which are not started yet), this one included, take the ranges in turn and scan each a
// batch at a time: create the batch's actors, register them under one lock, then decode them.
void actor_system::impl::recover_all() {
  const std::uint64_t total = db->estimate_keys(db->actors());
  {
    std::lock_guard lock(mutex);
    named.reserve(named.size() + static_cast<std::size_t>(total + total / 8));
  }
  // Quarantined at an earlier open: not brought up (read now; decoding may add to the list).
  std::unordered_set<std::string> kept_out;
  for (const auto& [name, reason] : quarantine_list) kept_out.insert(name);

  auto bring_up = [&](const record_batch& batch) {
    const std::size_t n = batch.size();
    std::vector<name_table<actor_cell>::hash_type> hashes(n);
    std::vector<std::shared_ptr<actor_cell>> cells(n);
    const std::shared_ptr<impl> self = shared_from_this();
    const std::uint64_t first_id = next_id.fetch_add(n, std::memory_order_relaxed);
    for (std::size_t i = 0; i < n; ++i) {
      hashes[i] = name_table<actor_cell>::hash(batch.name(i));
      cells[i] = std::make_shared<durable_cell>(self, first_id + i, std::string(batch.name(i)), behavior{},
                                                supervision{}, false);
    }
    {
      std::lock_guard lock(mutex);
      for (auto h : hashes) named.prefetch(h);
      // An actor referenced by one decoded earlier is already there, created but not decoded:
      // that cell is the actor (the one made above is dropped).
      for (std::size_t i = 0; i < n; ++i) cells[i] = named.find_or_insert(std::move(cells[i]), hashes[i]);
    }
    std::uint64_t activated = 0;
    for (std::size_t i = 0; i < n; ++i) activated += cells[i]->activate(batch.record(i));
    recovered.activated.fetch_add(activated, std::memory_order_relaxed);
  };

  // Sixteen ranges a thread, taken in turn: a thread whose ranges went faster takes more, so the
  // threads finish together.
  const unsigned threads = std::max(1u, config.workers);
  std::vector<std::string> splits = db->split_keys(db->actors(), threads * 16);
  const std::vector<rocksdb::Slice> bounds(splits.begin(), splits.end());
  std::atomic<std::size_t> next_range{0};
  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> stopping{false};  // a range failed: the others stop early
  // Range i is [bounds[i - 1], bounds[i]), open at both ends.
  auto recover_range = [&](std::size_t i, const std::function<void()>& after_batch) {
    auto it = db->scan(db->actors(), i == 0 ? nullptr : &bounds[i - 1], i == bounds.size() ? nullptr : &bounds[i]);
    record_batch batch;
    auto flush = [&] {
      bring_up(batch);
      done.fetch_add(batch.size(), std::memory_order_relaxed);
      batch.clear();
      after_batch();
    };
    for (it->SeekToFirst(); it->Valid() && !stopping.load(std::memory_order_relaxed); it->Next()) {
      if (!kept_out.empty() && kept_out.contains(it->key().ToString())) continue;
      batch.add(it->key(), it->value());
      if (batch.full()) flush();
    }
    db->check_scan(*it, "the actors family");
    if (batch.size() > 0) flush();
  };
  auto recover_ranges = [&](const std::function<void()>& after_batch) {
    for (std::size_t i; (i = next_range.fetch_add(1)) <= bounds.size();) recover_range(i, after_batch);
  };

  std::uint64_t reported = 0;
  auto report = [&] {
    const std::uint64_t now = done.load(std::memory_order_relaxed);
    if (durable->on_progress && now / 65536 > reported / 65536) durable->on_progress(now, total);
    reported = now;
  };
  std::mutex helpers_mutex;
  std::condition_variable helper_finished;
  const std::size_t helper_count = std::min<std::size_t>(threads - 1, bounds.size());
  std::size_t helpers_running = helper_count;   // guarded by helpers_mutex
  std::exception_ptr failure;                   // the first failure, guarded by helpers_mutex
  auto fail = [&](std::exception_ptr e) {       // std::bad_alloc: activation reports damage itself
    std::lock_guard lock(helpers_mutex);
    if (!failure) failure = std::move(e);
    stopping = true;
  };
  std::vector<std::thread> helpers;
  for (std::size_t i = 0; i < helper_count; ++i)
    helpers.emplace_back([&] {
      try {
        recover_ranges([] {});
      } catch (...) {
        fail(std::current_exception());
      }
      std::lock_guard lock(helpers_mutex);
      --helpers_running;
      helper_finished.notify_all();
    });
  try {
    recover_ranges(report);
  } catch (...) {
    fail(std::current_exception());
  }
  {
    // This thread may run out of ranges first: it reports the helpers' progress meanwhile.
    std::unique_lock lock(helpers_mutex);
    while (!helper_finished.wait_for(lock, std::chrono::milliseconds(100), [&] { return helpers_running == 0; })) {
      lock.unlock();
      report();
      lock.lock();
    }
  }
  for (auto& h : helpers) h.join();
  if (failure) std::rethrow_exception(failure);
  if (durable->on_progress) durable->on_progress(done.load(), total);
}

// Runs before the workers start, so every stored message is queued before any actor runs: a
// recipient sees its stored messages before anything sent in this process (which has higher
// sequence numbers), in the order they were sent.
void actor_system::impl::recover() {
  {
    auto it = db->scan(db->quarantine());
    for (it->SeekToFirst(); it->Valid(); it->Next()) quarantine_list.emplace(it->key().ToString(), it->value().ToString());
    db->check_scan(*it, "the quarantine family");
  }
  // The largest sequence number of a stored entry: next_seq must be above it (format.md 8.8,
  // invariant 6), or new messages would reuse the numbers of unconsumed ones.
  std::uint64_t max_seq = 0;
  {
    auto it = db->scan(db->journal());
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string_view actor;
      std::uint64_t seq;
      if (store::parse_mailbox_key(std::string_view(it->key().data(), it->key().size()), actor, seq)) {
        journaled.emplace(actor);
        max_seq = std::max(max_seq, seq);
      }
    }
    db->check_scan(*it, "the journal family");
  }
  if (durable->recovery == recovery_mode::eager) recover_all();
  {
    auto it = db->scan(db->wake());
    for (it->SeekToFirst(); it->Valid(); it->Next())
      if (auto cell = resolve_cell(it->key().ToString())) cell->enqueue(make_message<wake_up>());
    db->check_scan(*it, "the wake family");
  }
  rocksdb::WriteBatch orphans;
  auto it = db->scan(db->mailbox());
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view actor;
    std::uint64_t seq;
    const std::string_view key(it->key().data(), it->key().size());
    if (!store::parse_mailbox_key(key, actor, seq)) continue;
    max_seq = std::max(max_seq, seq);
    const std::string name(actor);
    auto cell = resolve_cell(name);
    if (!cell) {
      // Sent to an actor that no longer exists (it stopped while this was being committed):
      // a dead letter, deleted. A quarantined actor keeps its messages.
      if (!quarantine_list.contains(name)) {
        orphans.Delete(db->mailbox(), it->key());
        dead_letter_count.fetch_add(1, std::memory_order_relaxed);
      }
      continue;
    }
    decoded_envelope d;
    try {
      detail::resolver_scope scope(this);
      d = decode_envelope(std::string_view(it->value().data(), it->value().size()),
                          "message " + std::to_string(seq) + " in the mailbox of actor \"" + name + "\"");
    } catch (const std::exception& e) {
      cell->quarantine_now(e.what());
      continue;
    }
    if (!d.header.sender.empty()) actor_cell::sender_of(*d.value) = resolve_cell(d.header.sender);
    message_access::durable_seq(*d.value) = seq;
    recovered.requeued.fetch_add(1, std::memory_order_relaxed);
    cell->enqueue(std::move(d.value));
  }
  db->check_scan(*it, "the mailbox family");
  if (orphans.Count() > 0) db->write(orphans, durable->fsync);
  // Repaired before any number is assigned (nothing above assigns one: replays drop sends).
  if (max_seq >= db->next_seq()) {
    const std::uint64_t stored = db->next_seq();
    db->repair_next_seq(max_seq + 1);
    commits->raise_next_seq(max_seq + 1);
    std::string repair = "meta key next_seq was " + std::to_string(stored) + " but the store holds an entry numbered " +
                         std::to_string(max_seq) + "; raised to " + std::to_string(max_seq + 1);
    log(log_level::warning, "revenant: store \"" + durable->path + "\": repaired: " + repair);
    std::lock_guard lock(mutex);
    repairs.push_back(std::move(repair));
  }
}

void actor_system::impl::schedule(std::shared_ptr<actor_cell> cell) {
  // defer, not post: when a worker schedules an actor (it sent it a message), the run is a
  // continuation of the current one and stays on this worker's private queue instead of waking
  // another thread — a request/reply pair then runs on one core, as in a work-stealing
  // scheduler. From any other thread defer behaves like post.
  asio::defer(*io, [weak = std::weak_ptr<actor_cell>(cell)] {
    if (auto c = weak.lock()) c->run();
  });
}

actor_ref actor_system::impl::spawn(std::shared_ptr<impl> self, std::string name, behavior initial,
                                    supervision policy, const std::shared_ptr<detail::actor_base>& parent) {
  const std::uint64_t id = next_id.fetch_add(1, std::memory_order_relaxed);
  auto cell = std::make_shared<actor_cell>(std::move(self), id, name, std::move(initial), policy);
  {
    std::lock_guard lock(mutex);
    if (shut_down) throw std::logic_error("revenant: spawn after the actor system shut down");
    if (name.empty())
      live.emplace(cell.get(), cell);
    else if (!named.insert(cell))
      throw std::invalid_argument("revenant: an actor named \"" + name + "\" is already running");
  }
  if (parent) cell->add_watcher(parent);
  return actor_ref(std::move(cell));
}

void actor_system::impl::forget(const actor_cell& cell) {
  std::shared_ptr<actor_cell> last;  // destroyed after the lock is released
  std::lock_guard lock(mutex);
  if (auto it = live.find(&cell); it != live.end()) {
    last = std::move(it->second);
    live.erase(it);
  }
  if (auto removed = named.erase(cell.given_name(), &cell)) last = std::move(removed);
}

void actor_system::impl::dead(std::string recipient, message_ptr m, dead_letter_reason reason) noexcept {
  // The runtime's own signals die with their actor: a timer that expired while its actor was
  // stopping posts one to a closed inbox, and that is no letter anyone sent.
  if (is_runtime_signal(*m)) return;
  dead_letter_count.fetch_add(1, std::memory_order_relaxed);
  // An undeliverable ask is answered at once instead of leaving the asker to its timeout.
  if (const std::uint64_t request = actor_cell::request_id_of(*m); request != 0 && actor_cell::sender_of(*m)) {
    try {
      message_ptr error = make_message<ask_error>(ask_error{
          reason == dead_letter_reason::mailbox_full ? ask_errc::mailbox_full : ask_errc::target_stopped});
      actor_cell::response_to_of(*error) = request;
      actor_cell::sender_of(*error) = actor_cell::sender_of(*m);  // not an outside message
      auto asker = actor_cell::sender_of(*m);
      asker->enqueue(std::move(error));
    } catch (...) {
      // Out of memory: the asker falls back on its timeout.
    }
  }
  std::function<void(const dead_letter&)> handler;
  {
    std::lock_guard lock(mutex);
    handler = dead_letter_handler;
  }
  if (!handler) return;
  try {
    handler(dead_letter{std::move(recipient), *m, reason});
  } catch (...) {
    // A dead-letter observer must not take down the sender.
  }
}

actor_system::actor_system(actor_system_config config) : impl_(std::make_shared<impl>(config)) {
  if (impl_->config.workers == 0) throw std::invalid_argument("revenant: an actor system needs at least one worker");
  if (impl_->config.throughput == 0) throw std::invalid_argument("revenant: throughput must be at least 1");
  impl_->io.emplace(static_cast<int>(impl_->config.workers));
  impl_->work.emplace(impl_->io->get_executor());
  start_workers();
}

actor_system::actor_system(durable_config store_config, actor_system_config config)
    : impl_(std::make_shared<impl>(config)) {
  if (impl_->config.workers == 0) throw std::invalid_argument("revenant: an actor system needs at least one worker");
  if (impl_->config.throughput == 0) throw std::invalid_argument("revenant: throughput must be at least 1");
  impl_->io.emplace(static_cast<int>(impl_->config.workers));
  impl_->work.emplace(impl_->io->get_executor());
  impl_->durable = std::move(store_config);
  store_options opening{impl_->durable->accept_wal_loss, {}};
  if (impl_->config.log)
    opening.log = [sink = impl_->config.log, path = impl_->durable->path](std::string_view line) {
      sink(log_level::warning, "revenant: store \"" + path + "\": rocksdb: " + std::string(line));
    };
  impl_->db.emplace(impl_->durable->path, std::move(opening));
  impl_->wal_dropped = impl_->db->wal_loss();
  if (const auto& lost = impl_->wal_dropped)
    impl_->log(log_level::error, "revenant: store \"" + impl_->durable->path + "\": opened past damage in " +
                                     lost->file + " at offset " + std::to_string(lost->offset) + " (" + lost->what +
                                     "), dropping " + std::to_string(lost->batches_dropped) +
                                     " group commits; the damaged logs are kept in " + lost->evidence);
  impl_->commits = std::make_unique<committer>(*impl_->db, *impl_->io, impl_->durable->fsync,
                                               impl_->durable->max_commit_delay, impl_->durable->max_group,
                                               impl_->config.log);
  try {
    impl_->recover();
  } catch (...) {
    impl_->commits->stop();
    shutdown(shutdown_policy::drop);
    throw;
  }
  start_workers();
}

void actor_system::start_workers() {
  for (unsigned i = 0; i < impl_->config.workers; ++i) impl_->workers.emplace_back([io = &*impl_->io] { io->run(); });
}

actor_ref actor_system::spawn_durable(std::string name, behavior initial, supervision policy) {
  if (!impl_->db) throw std::logic_error("revenant: spawn_durable needs an actor system opened on a store");
  impl::check_durable_name(name);
  std::shared_ptr<actor_cell> cell = std::make_shared<durable_cell>(
      impl_, impl_->next_id.fetch_add(1, std::memory_order_relaxed), name, std::move(initial), policy, true);
  std::future<void> done = impl_->start_durable(cell);
  done.get();
  return actor_ref(std::move(cell));
}

std::future<void> actor_system::impl::start_durable(const std::shared_ptr<actor_cell>& cell) {
  try {
    // Encoded before the actor is visible: nobody can run it meanwhile.
    step first = cell->first_step();
    std::promise<void> committed;
    std::future<void> done = committed.get_future();
    first.ack.emplace(std::move(committed));
    std::lock_guard lock(mutex);
    check_durable_name_free(cell->given_name());
    named.insert(cell);
    // Submitted under the lock, so its record precedes any step the actor itself commits.
    commits->submit(std::move(first));
    return done;
  } catch (...) {
    cell->release_unborn();
    throw;
  }
}

std::future<void> actor_system::send_message(std::string_view name, message_ptr m) {
  std::promise<void> ack;
  std::future<void> result = ack.get_future();
  try {
    std::shared_ptr<actor_cell> cell = impl_->resolve_cell(std::string(name));
    if (!cell) std::rethrow_exception(impl_->no_actor(std::string(name)));
    if (!cell->durable()) {
      cell->enqueue(std::move(m));
      ack.set_value();
    } else {
      cell->enqueue(std::move(m), std::move(ack));
    }
  } catch (...) {
    try {
      ack.set_exception(std::current_exception());
    } catch (const std::future_error&) {
      throw;  // the promise was moved on: the error came after the message was handed over
    }
  }
  return result;
}

void actor_system::ask_message(std::string_view name_view, message_ptr m, std::chrono::nanoseconds timeout,
                               std::unique_ptr<detail::outside_reply> reply) {
  const std::string name(name_view);
  std::shared_ptr<actor_cell> cell;
  try {
    if (timeout.count() < 0) throw std::invalid_argument("revenant: negative ask timeout");
    if (!impl_->accepting.load(std::memory_order_relaxed)) throw std::logic_error("revenant: the actor system is shut down");
    cell = impl_->resolve_cell(name);
    if (!cell) std::rethrow_exception(impl_->no_actor(name));
  } catch (...) {
    reply->fail(std::current_exception());
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = timeout >= std::chrono::steady_clock::time_point::max() - now
                            ? std::chrono::steady_clock::time_point::max()
                            : now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  message_access::sender(*m) = impl_->outside_sender();
  const std::uint64_t request = impl_->add_outside_ask(std::move(reply), deadline);
  if (request == 0) return;  // shut down meanwhile: answered
  message_access::request_id(*m) = request;
  try {
    // Undeliverable (stopped, mailbox full, store closed): answered at once with an ask_error.
    cell->enqueue(std::move(m));
  } catch (...) {
    impl_->complete_outside_ask(request, nullptr, std::current_exception());  // e.g. not registered
  }
}

void actor_system::sync() {
  if (impl_->commits) impl_->commits->sync();
}

std::vector<quarantined_actor> actor_system::quarantined() const {
  std::vector<std::pair<std::string, std::string>> listed;
  {
    std::lock_guard lock(impl_->mutex);
    listed.assign(impl_->quarantine_list.begin(), impl_->quarantine_list.end());
  }
  std::sort(listed.begin(), listed.end());
  std::vector<quarantined_actor> out;
  for (const auto& [name, reason] : listed) out.push_back(impl_->describe_quarantined(name, reason));
  return out;
}

std::optional<quarantined_actor> actor_system::quarantine_of(std::string_view name_view) const {
  const std::string name(name_view);
  std::string reason;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->quarantine_list.find(name);
    if (it == impl_->quarantine_list.end()) return std::nullopt;
    reason = it->second;
  }
  return impl_->describe_quarantined(name, reason);
}

actor_ref actor_system::lift_quarantine(std::string_view name_view) {
  const std::string name(name_view);
  impl_->claim_quarantined(name);
  auto release_claim = [&] {
    std::lock_guard lock(impl_->mutex);
    impl_->quarantine_busy.erase(name);
  };
  // 1. The store: no quarantine entry, and the wake entry the record calls for (it is not kept
  // while quarantined, docs/format.md 8.8).
  try {
    step lifted;
    lifted.actor = name;
    lifted.lift_quarantine = true;
    lifted.wake = 0;
    if (auto record = impl_->db->get(impl_->db->actors(), name)) {
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
    if (!impl_->submit(std::move(lifted))) throw std::logic_error("revenant: the actor system is shut down");
    done.get();
  } catch (...) {
    release_claim();
    throw;
  }
  // 2. In memory: a new incarnation takes the name, held until it has what its mailbox kept.
  // The mailbox is read under the lock that ends the quarantine: a message that reaches the old
  // incarnation before is in it; one that arrives after is discarded as sent to a stopped actor.
  std::shared_ptr<actor_cell> cell = std::make_shared<durable_cell>(
      impl_, impl_->next_id.fetch_add(1, std::memory_order_relaxed), name, behavior{}, supervision{}, false);
  cell->hold();
  std::vector<std::pair<std::uint64_t, std::string>> kept;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->quarantine_busy.erase(name);
    impl_->quarantine_list.erase(name);
    kept = impl_->stored_entries(impl_->db->mailbox(), name);
    impl_->named.insert(cell);
  }
  std::vector<message_ptr> messages;
  messages.reserve(kept.size());
  try {
    detail::resolver_scope scope(impl_.get());
    for (auto& [seq, envelope] : kept) {
      decoded_envelope d = decode_envelope(envelope, "message " + std::to_string(seq) + " in the mailbox of actor \"" + name + "\"");
      if (!d.header.sender.empty()) message_access::sender(*d.value) = impl_->resolve_cell(d.header.sender);
      message_access::durable_seq(*d.value) = seq;
      messages.push_back(std::move(d.value));
    }
  } catch (const std::exception& e) {
    // No worker runs it (held): quarantined again from here, its messages kept in the store.
    const std::string reason = e.what();
    messages.clear();
    cell->quarantine_now(reason);
    impl_->commits->sync();
    throw actor_quarantined(name, reason);
  }
  auto waiter = std::make_shared<std::promise<void>>();
  std::future<void> handled = waiter->get_future();
  cell->lift(std::move(messages), std::move(waiter));
  cell->start();
  handled.get();
  return actor_ref(std::move(cell));
}

std::uint64_t actor_system::discard_quarantined(std::string_view name_view) {
  const std::string name(name_view);
  impl_->claim_quarantined(name);
  std::vector<std::pair<std::uint64_t, std::string>> kept;
  std::future<void> done;
  try {
    kept = impl_->stored_entries(impl_->db->mailbox(), name);
    step erased;
    erased.actor = name;
    erased.record = step::record_op::erase;  // with its journal
    erased.wake = 0;
    erased.lift_quarantine = true;
    erased.erase_mailbox = true;
    std::promise<void> committed;
    done = committed.get_future();
    erased.ack.emplace(std::move(committed));
    // Out of the quarantine list, but not to be brought back from its record until it is erased.
    // A message reaching the old incarnation from now on is discarded like any to a stopped one.
    std::lock_guard lock(impl_->mutex);
    if (!impl_->commits) throw std::logic_error("revenant: the actor system is shut down");
    impl_->quarantine_busy.erase(name);
    impl_->quarantine_list.erase(name);
    impl_->erasing.insert(name);
    impl_->commits->submit(std::move(erased));
  } catch (...) {
    std::lock_guard lock(impl_->mutex);
    impl_->quarantine_busy.erase(name);
    throw;
  }
  done.get();  // on failure the name stays out of use: nothing more is committed anyway
  {
    std::lock_guard lock(impl_->mutex);
    impl_->erasing.erase(name);
  }
  detail::resolver_scope scope(impl_.get());
  for (auto& [seq, envelope] : kept) {
    message_ptr m;
    try {
      decoded_envelope d = decode_envelope(envelope, "message " + std::to_string(seq) + " in the mailbox of actor \"" + name + "\"");
      if (!d.header.sender.empty()) message_access::sender(*d.value) = impl_->resolve_cell(d.header.sender);
      m = std::move(d.value);
    } catch (const std::exception&) {
      impl_->dead_letter_count.fetch_add(1, std::memory_order_relaxed);  // cannot be shown
      continue;
    }
    impl_->dead(name, std::move(m), dead_letter_reason::discarded);
  }
  return kept.size();
}

recovery_report actor_system::recovery() const {
  const auto& r = impl_->recovered;
  recovery_report report{r.activated.load(), r.requeued.load(), r.continuations.load(), r.timers.load(),
                         r.quarantined.load(), {}, {}};
  std::lock_guard lock(impl_->mutex);
  report.wal_loss = impl_->wal_dropped;
  report.repairs = impl_->repairs;
  return report;
}

actor_system::~actor_system() { shutdown(shutdown_policy::drop); }

actor_ref actor_system::spawn(behavior initial, supervision policy) {
  return impl_->spawn(impl_, {}, std::move(initial), policy, nullptr);
}

actor_ref actor_system::spawn(std::string name, behavior initial, supervision policy) {
  if (name.empty()) throw std::invalid_argument("revenant: an actor name must not be empty");
  return impl_->spawn(impl_, std::move(name), std::move(initial), policy, nullptr);
}

detail::actor_resolver* actor_system::resolver() const noexcept { return impl_.get(); }

actor_ref actor_system::find(std::string_view name) const { return actor_ref(impl_->resolve_cell(std::string(name))); }

void actor_system::on_dead_letter(std::function<void(const dead_letter&)> handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->dead_letter_handler = std::move(handler);
}

std::uint64_t actor_system::dead_letters() const noexcept {
  return impl_->dead_letter_count.load(std::memory_order_relaxed);
}

std::size_t actor_system::live_actors() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->live.size() + impl_->named.size();
}

void actor_system::shutdown(shutdown_policy policy, std::chrono::milliseconds drain_deadline) {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->shut_down) return;
    impl_->shut_down = true;
  }
  impl_->accepting.store(false);
  // Every queued message has a scheduled run (the inbox invariant), so once the work guard is
  // gone the workers return exactly when no actor has anything left to do.
  impl_->work.reset();
  if (policy == shutdown_policy::drop) impl_->io->stop();
  std::mutex m;
  std::condition_variable done;
  bool finished = false;
  std::thread watchdog([&] {
    std::unique_lock lock(m);
    if (!done.wait_for(lock, drain_deadline, [&] { return finished; })) impl_->io->stop();
  });
  for (auto& t : impl_->workers) t.join();
  {
    std::lock_guard lock(m);
    finished = true;
  }
  done.notify_one();
  watchdog.join();
  // Every step the actors submitted is committed (and its messages delivered, to queues no
  // worker will run now) before anything is released.
  if (impl_->commits) impl_->commits->stop();
  // No worker runs now: finish every actor still alive (their queues become dead letters, their
  // behavior graphs are released).
  std::vector<std::shared_ptr<actor_cell>> remaining;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->finished = true;
    remaining.reserve(impl_->live.size() + impl_->named.size());
    for (auto& [_, cell] : impl_->live) remaining.push_back(std::move(cell));
    impl_->live.clear();
    impl_->named.drain([&](std::shared_ptr<actor_cell> cell) { remaining.push_back(std::move(cell)); });
  }
  for (auto& cell : remaining) cell->finish(dead_letter_reason::shutdown);
  // Their queued requests are answered above (dead letters); asks still pending never will be.
  impl_->close_outside_asks();
  // Close the store (its lock too): another system may open it now.
  std::unique_ptr<runtime_internal::committer> commits;
  {
    std::lock_guard lock(impl_->mutex);
    commits = std::move(impl_->commits);
  }
  commits.reset();
  impl_->db.reset();
}

}  // namespace revenant
