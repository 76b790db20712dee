#include "runtime/actor_system.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/defer.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <deque>
#include <optional>
#include <queue>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "actors/graph.hpp"

namespace revenant {
namespace {

class actor_cell;

// Sent by Asio when a timer expires; the actor decides, in its own run, whether it still counts.
struct timer_fired {
  timer_id id;
};
// Sent by an actor's ask deadline clock: some pending ask may have timed out.
struct ask_check {};

// The runtime's own signals to an actor: never refused by a mailbox bound, never counted in it,
// never shown as dead letters.
bool is_runtime_signal(const message& m) noexcept { return m.is<timer_fired>() || m.is<ask_check>(); }

// Inbox states besides "a stack of messages" (or nullptr: empty while the actor is scheduled).
// blocked: empty and not scheduled — whoever pushes next must schedule the actor.
// closed: the actor has stopped — pushes become dead letters.
message* const blocked_marker = reinterpret_cast<message*>(std::uintptr_t{1});
message* const closed_marker = reinterpret_cast<message*>(std::uintptr_t{2});

}  // namespace

struct actor_system::impl final : detail::actor_resolver {
  explicit impl(actor_system_config c) : config(c) {}
  ~impl() = default;

  std::shared_ptr<detail::actor_base> resolve(const std::string& name) override;

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
  std::unordered_map<const actor_cell*, std::shared_ptr<actor_cell>> live;  // guarded by mutex
  std::unordered_map<std::string, std::shared_ptr<actor_cell>> named;    // guarded by mutex
  std::function<void(const dead_letter&)> dead_letter_handler;          // guarded by mutex
  std::atomic<std::uint64_t> dead_letter_count{0};

  void schedule(std::shared_ptr<actor_cell> cell);
  actor_ref spawn(std::shared_ptr<impl> self, std::string name, behavior initial, supervision policy,
                  const std::shared_ptr<detail::actor_base>& parent);
  void forget(const actor_cell& cell, const std::string& name);
  void dead(std::string recipient, message_ptr m, dead_letter_reason reason) noexcept;
};

namespace {

// An actor: a lock-free multi-producer inbox, the worker-side FIFO of messages taken from it,
// and the current behavior. Invariant: at most one worker runs an actor at a time — the one
// that found the inbox blocked and scheduled it; everything below "worker side" is touched
// only by that worker.
class actor_cell final : public detail::actor_base, public context, public std::enable_shared_from_this<actor_cell> {
 public:
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

  void enqueue(message_ptr m) override {
    if (!sender_of(*m) && !system_->accepting.load(std::memory_order_relaxed)) {
      system_->dead(name(), std::move(m), dead_letter_reason::shutdown);
      return;
    }
    if (capacity_ != 0 && !is_runtime_signal(*m) && queued_.fetch_add(1, std::memory_order_relaxed) >= capacity_) {
      queued_.fetch_sub(1, std::memory_order_relaxed);
      system_->dead(name(), std::move(m), dead_letter_reason::mailbox_full);
      return;
    }
    message* raw = m.get();
    message* old = inbox_.load(std::memory_order_relaxed);
    do {
      if (old == closed_marker) {
        system_->dead(name(), std::move(m), dead_letter_reason::stopped);
        return;
      }
      next_of(*raw) = old == blocked_marker ? nullptr : old;
      // acq_rel: a push that finds the inbox blocked must see everything the last run did.
    } while (!inbox_.compare_exchange_weak(old, raw, std::memory_order_acq_rel, std::memory_order_relaxed));
    m.release();  // the inbox owns it now
    if (old == blocked_marker) system_->schedule(shared_from_this());
  }

  // Worker side: handles up to `throughput` messages, then yields.
  void run() {
    for (std::size_t handled = 0;;) {
      if (cache_ == nullptr) {
        message* batch = inbox_.exchange(nullptr, std::memory_order_acquire);
        if (batch == nullptr) {
          message* expected = nullptr;
          if (inbox_.compare_exchange_strong(expected, blocked_marker, std::memory_order_acq_rel)) return;
          continue;  // a message arrived meanwhile
        }
        cache_ = reversed(batch);
      }
      if (handled == system_->config.throughput) {
        system_->schedule(shared_from_this());  // still scheduled: the inbox is not blocked
        return;
      }
      message_ptr m(cache_);
      cache_ = std::exchange(next_of(*m), nullptr);
      ++handled;
      if (capacity_ != 0 && !is_runtime_signal(*m)) queued_.fetch_sub(1, std::memory_order_relaxed);
      if (const auto* t = m->get_if<timer_fired>())
        fire(t->id);
      else
        handle(*m);
      if (stop_requested_) {
        finish(dead_letter_reason::stopped);
        return;
      }
    }
  }

  // Closes the inbox, turns what is queued into dead letters and releases the behavior graph.
  // Called by the worker running the actor, or at shutdown when no worker runs.
  void finish(dead_letter_reason reason) {
    drop_list(take_inbox(closed_marker), reason);
    drop_list(std::exchange(cache_, nullptr), reason);
    down notice{name(), reason == dead_letter_reason::shutdown ? exit_reason::shutdown : exit_, {}};
    if (extras_) notice.detail = std::move(extras_->exit_detail);
    release_graph();
    system_->forget(*this, name());
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

 protected:
  void send(const actor_ref& to, message_ptr m) override {
    sender_of(*m) = shared_from_this();
    if (!to) {
      system_->dead({}, std::move(m), dead_letter_reason::no_recipient);
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
    x.pending.emplace(id, std::move(then));
    x.deadlines.emplace(deadline, id);
    // The clock only ever waits for the earliest deadline; later ones cost no Asio call.
    if (!x.clock_armed || deadline < x.clock_deadline) arm_ask_clock(deadline);
    send(to, std::move(m));
  }

  timer_id start_timer(std::chrono::nanoseconds delay, std::chrono::nanoseconds period,
                       std::unique_ptr<detail::timer_payload> payload) override {
    if (delay.count() < 0 || period.count() < 0) throw std::invalid_argument("revenant: negative timer delay");
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
  struct extras {
    std::unordered_map<timer_id, timer> timers;
    timer_id last_timer = 0;
    std::unordered_map<std::uint64_t, continuation> pending;  // asks awaiting their reply
    std::uint64_t last_request = 0;
    // Deadlines of pending asks, earliest first. Entries of asks already answered are removed
    // lazily, when they reach the top.
    std::priority_queue<deadline_entry, std::vector<deadline_entry>, std::greater<>> deadlines;
    std::optional<asio::steady_timer> ask_clock;  // one per actor, set for the earliest deadline
    std::chrono::steady_clock::time_point clock_deadline{};
    bool clock_armed = false;
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

  extras& more() {
    if (!extras_) extras_ = std::make_unique<extras>();
    return *extras_;
  }

  void arm_ask_clock(std::chrono::steady_clock::time_point deadline) {
    extras& x = *extras_;
    if (!x.ask_clock) x.ask_clock.emplace(*system_->io);
    x.ask_clock->expires_at(deadline);  // cancels an earlier wait, whose handler then does nothing
    x.ask_clock->async_wait(signal_on_expiry(ask_check{}));
    x.clock_deadline = deadline;
    x.clock_armed = true;
  }

  void drop_answered_deadlines() {
    extras& x = *extras_;
    while (!x.deadlines.empty() && !x.pending.contains(x.deadlines.top().second)) x.deadlines.pop();
  }

  // Runs the continuation waiting for request, if it still waits, with m (a reply or an error).
  void resume(std::uint64_t request, const message& m) {
    if (!extras_) return;
    auto it = extras_->pending.find(request);
    if (it == extras_->pending.end()) return;  // answered already, or timed out: a late reply is dropped
    continuation then = std::move(it->second);
    extras_->pending.erase(it);
    drop_answered_deadlines();
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
        expired.push_back(std::move(it->second));
        x.pending.erase(it);
      }
      x.deadlines.pop();
    }
    drop_answered_deadlines();
    if (!x.deadlines.empty()) arm_ask_clock(x.deadlines.top().first);
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
    message_ptr m = it->second.payload->make();
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
    std::fprintf(stderr, "revenant: actor \"%s\" stopped: %s\n", name().c_str(), detail.c_str());
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
    release(std::tuple{behavior_, waiting});
    behavior_ = std::move(fresh);
  }

  // Moves every pending ask's continuation out (to be released with the graph).
  std::vector<continuation> take_pending() {
    std::vector<continuation> waiting;
    for (auto& [_, then] : extras_->pending) waiting.push_back(std::move(then));
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
  const std::uint32_t capacity_;            // 0: unbounded, queued_ unused
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
  // Guarded by the system's mutex (watching is rare; no lock of the actor's own).
  std::vector<std::weak_ptr<detail::actor_base>> watchers_;
  std::unique_ptr<down> finished_;  // set once the actor has stopped

  friend struct actor_system::impl;
};

}  // namespace

std::shared_ptr<detail::actor_base> actor_system::impl::resolve(const std::string& name) {
  std::lock_guard lock(mutex);
  auto it = named.find(name);
  if (it == named.end()) return nullptr;
  return it->second;
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
    if (!name.empty() && !named.emplace(name, cell).second)
      throw std::invalid_argument("revenant: an actor named \"" + name + "\" is already running");
    live.emplace(cell.get(), cell);
  }
  if (parent) cell->add_watcher(parent);
  return actor_ref(std::move(cell));
}

void actor_system::impl::forget(const actor_cell& cell, const std::string& name) {
  std::shared_ptr<actor_cell> last;  // destroyed after the lock is released
  std::lock_guard lock(mutex);
  if (auto it = live.find(&cell); it != live.end()) {
    last = std::move(it->second);
    live.erase(it);
  }
  if (auto it = named.find(name); it != named.end() && it->second.get() == &cell) named.erase(it);
}

void actor_system::impl::dead(std::string recipient, message_ptr m, dead_letter_reason reason) noexcept {
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
  for (unsigned i = 0; i < impl_->config.workers; ++i) impl_->workers.emplace_back([io = &*impl_->io] { io->run(); });
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

actor_ref actor_system::find(std::string_view name) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->named.find(std::string(name));
  return it == impl_->named.end() ? actor_ref() : actor_ref(it->second);
}

void actor_system::on_dead_letter(std::function<void(const dead_letter&)> handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->dead_letter_handler = std::move(handler);
}

std::uint64_t actor_system::dead_letters() const noexcept {
  return impl_->dead_letter_count.load(std::memory_order_relaxed);
}

std::size_t actor_system::live_actors() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->live.size();
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
  // No worker runs now: finish every actor still alive (their queues become dead letters, their
  // behavior graphs are released).
  std::unordered_map<const actor_cell*, std::shared_ptr<actor_cell>> remaining;
  {
    std::lock_guard lock(impl_->mutex);
    remaining.swap(impl_->live);
    impl_->named.clear();
  }
  for (auto& [_, cell] : remaining) cell->finish(dead_letter_reason::shutdown);
}

}  // namespace revenant
