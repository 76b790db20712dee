// An actor's clock: its timers and the asks it waits on, with the one Asio timer per actor that
// watches their deadlines. Made on an actor's first timer or ask (an idle actor has none).
//
// Worker side: used only by the worker running the actor (or its owner while none can), except
// for the wait handlers, which only enqueue a signal to the actor.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/actor.hpp"

namespace revenant::detail {

// Wall-clock nanoseconds since the epoch: what a durable deadline is stored as, since a steady
// clock's time points mean nothing in the next process.
std::int64_t to_wall(std::chrono::steady_clock::time_point t);
std::chrono::steady_clock::time_point from_wall(std::int64_t wall_ns);

class actor_clock {
 public:
  // owner: the actor its signals (timer_fired, ask_check) are sent to, from itself.
  actor_clock(asio::io_context& io, std::weak_ptr<detail::actor_base> owner);
  ~actor_clock();
  actor_clock(const actor_clock&) = delete;
  actor_clock& operator=(const actor_clock&) = delete;

  // ---- timers ----

  // Arms a new timer; returns its id.
  timer_id start(std::chrono::nanoseconds delay, std::chrono::nanoseconds period,
                 std::unique_ptr<detail::timer_payload> payload);
  // Re-arms a timer read from a record, under its stored id (late ones fire at once). stored:
  // the bytes its message was stored as, owned by payload (so a checkpoint writes them back
  // instead of encoding the message again).
  void restore_timer(timer_id id, std::chrono::steady_clock::time_point due, std::chrono::nanoseconds period,
                     std::unique_ptr<detail::timer_payload> payload, const std::string* stored);
  bool cancel(timer_id id) { return timers_.erase(id) > 0; }
  // A timer_fired arrived: the message the timer delivers, re-arming a periodic one; null if it
  // was cancelled after it expired. Throws what making the payload throws (the timer is then
  // forgotten).
  message_ptr fire(timer_id id);
  // What a timer's entry in a record holds.
  struct timer_view {
    timer_id id;
    std::chrono::steady_clock::time_point due;
    std::chrono::nanoseconds period;
    const detail::timer_payload& payload;
    const std::string* stored;  // null: set in this process, encode payload.make()
  };
  template <class F>
  void for_each_timer(F&& f) const {
    for (const auto& [id, t] : timers_) f(timer_view{id, t.clock->expiry(), t.period, *t.payload, t.stored});
  }
  timer_id last_timer() const noexcept { return last_timer_; }
  void set_last_timer(timer_id id) noexcept { last_timer_ = id; }

  // ---- asks ----

  // Registers an ask waiting for then until deadline; returns its request id.
  std::uint64_t add_ask(continuation then, std::chrono::steady_clock::time_point deadline);
  // Re-attaches an ask read from a record (call arm_asks() once all are in).
  void restore_ask(std::uint64_t request, continuation then, std::chrono::steady_clock::time_point deadline);
  void arm_asks();
  // The continuation waiting for request, taken out; nothing if it was answered or timed out.
  std::optional<continuation> take_waiting(std::uint64_t request);
  // The ask clock fired: takes out every ask past its deadline (their ids: timed_out()), and
  // waits for the next deadline.
  std::vector<continuation> take_expired();
  // The requests the last take_expired() timed out.
  const std::vector<std::uint64_t>& timed_out() const noexcept { return timed_out_; }
  // Every pending continuation, taken out (the asks are dropped).
  std::vector<continuation> take_all_pending();
  struct ask_view {
    std::uint64_t request;
    std::chrono::steady_clock::time_point deadline;
    const continuation& then;
  };
  template <class F>
  void for_each_ask(F&& f) const {
    for (const auto& [request, ask] : pending_) f(ask_view{request, ask.deadline, ask.then});
  }
  std::uint64_t last_request() const noexcept { return last_request_; }
  void set_last_request(std::uint64_t request) noexcept { last_request_ = request; }
  // Once no ask is pending, the actor no longer keeps the io_context running.
  void release_hold_if_idle() noexcept {
    if (pending_.empty()) ask_hold_.reset();
  }

  // Timers or asks are pending.
  bool waiting() const noexcept { return !timers_.empty() || !pending_.empty(); }
  // Drops every timer and ask (their continuations: take_all_pending() first).
  void clear();

 private:
  struct timer {
    std::optional<asio::steady_timer> clock;
    std::chrono::nanoseconds period{0};
    std::unique_ptr<detail::timer_payload> payload;
    const std::string* stored = nullptr;  // restored: what its message was stored as (in payload)
  };
  // An ask awaiting its reply: the continuation, and when the ask times out (kept here too, so
  // a checkpoint need not search the deadline heap for it).
  struct pending_ask {
    continuation then;
    std::chrono::steady_clock::time_point deadline;
  };
  using deadline_entry = std::pair<std::chrono::steady_clock::time_point, std::uint64_t>;

  void arm(timer_id id, asio::steady_timer& clock);
  void arm_ask_clock(std::chrono::steady_clock::time_point deadline);
  void drop_answered_deadlines();

  asio::io_context& io_;
  std::weak_ptr<detail::actor_base> owner_;
  std::unordered_map<timer_id, timer> timers_;
  timer_id last_timer_ = 0;
  std::unordered_map<std::uint64_t, pending_ask> pending_;  // by request id
  std::uint64_t last_request_ = 0;
  std::vector<std::uint64_t> timed_out_;
  // Deadlines of pending asks, earliest first. Entries of asks already answered are removed
  // lazily, when they reach the top.
  std::priority_queue<deadline_entry, std::vector<deadline_entry>, std::greater<>> deadlines_;
  std::optional<asio::steady_timer> ask_clock_;  // set for the earliest deadline
  std::chrono::steady_clock::time_point clock_deadline_{};
  bool clock_armed_ = false;
  // What keeps the io_context running for this actor's asks: held while any ask is pending,
  // released once none is (the clock's own wait never counts: see arm_ask_clock). So an
  // answered ask does not hold a draining shutdown until its deadline.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> ask_hold_;
};

}  // namespace revenant::detail
