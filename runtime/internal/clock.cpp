#include "runtime/internal/clock.hpp"

#include "actors/internal/access.hpp"
#include "runtime/internal/signals.hpp"

namespace revenant::detail {
namespace {

// Sends actor `signal` from itself (so it is not an outside message, even during shutdown); a
// gone actor gets nothing.
template <class Signal>
void signal_actor(const std::weak_ptr<detail::actor_base>& owner, const Signal& signal) {
  if (auto self = owner.lock()) {
    message_ptr m = make_message<Signal>(signal);
    detail::message_fields::sender(*m) = self;
    self->enqueue(std::move(m));
  }
}

}  // namespace

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

actor_clock::actor_clock(asio::io_context& io, std::weak_ptr<detail::actor_base> owner)
    : io_(io), owner_(std::move(owner)) {}

actor_clock::~actor_clock() = default;  // destroying the timers cancels their waits

timer_id actor_clock::start(std::chrono::nanoseconds delay, std::chrono::nanoseconds period,
                            std::unique_ptr<detail::timer_payload> payload) {
  const timer_id id = ++last_timer_;
  auto& t = timers_[id];
  t.clock.emplace(io_, delay);
  t.period = period;
  t.payload = std::move(payload);
  arm(id, *t.clock);
  return id;
}

void actor_clock::restore_timer(timer_id id, std::chrono::steady_clock::time_point due,
                                std::chrono::nanoseconds period, std::unique_ptr<detail::timer_payload> payload,
                                const std::string* stored) {
  auto& t = timers_[id];
  t.clock.emplace(io_, due);
  t.period = period;
  t.payload = std::move(payload);
  t.stored = stored;
  arm(id, *t.clock);
}

message_ptr actor_clock::fire(timer_id id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return nullptr;  // cancelled after it expired
  message_ptr m;
  try {
    m = it->second.payload->make();
  } catch (...) {
    timers_.erase(it);
    throw;
  }
  if (it->second.period.count() > 0) {
    it->second.clock->expires_at(it->second.clock->expiry() + it->second.period);
    arm(id, *it->second.clock);
  } else {
    timers_.erase(it);
  }
  return m;
}

void actor_clock::arm(timer_id id, asio::steady_timer& clock) {
  clock.async_wait([owner = owner_, id](const asio::error_code& error) {
    if (!error) signal_actor(owner, timer_fired{id});
  });
}

std::uint64_t actor_clock::add_ask(continuation then, std::chrono::steady_clock::time_point deadline) {
  const std::uint64_t id = ++last_request_;
  pending_.emplace(id, pending_ask{std::move(then), deadline});
  deadlines_.emplace(deadline, id);
  // The clock only ever waits for the earliest deadline; later ones cost no Asio call.
  if (!clock_armed_ || deadline < clock_deadline_) arm_ask_clock(deadline);
  if (!ask_hold_) ask_hold_.emplace(io_.get_executor());
  return id;
}

void actor_clock::restore_ask(std::uint64_t request, continuation then, std::chrono::steady_clock::time_point deadline) {
  pending_.emplace(request, pending_ask{std::move(then), deadline});
  deadlines_.emplace(deadline, request);
}

void actor_clock::arm_asks() {
  if (deadlines_.empty()) return;
  arm_ask_clock(deadlines_.top().first);
  ask_hold_.emplace(io_.get_executor());
}

// Arms the clock for deadline. It stays armed when its asks are answered (re-arming per ask
// would cost a timer-queue update, often a system call, on the ask path), so its wait must not
// keep the io_context running: Asio counts a pending wait as one unit of outstanding work, and
// this gives that unit back at once (the handler takes it again before Asio releases it). What
// keeps the system running for a pending ask is ask_hold_. The count cannot reach zero here:
// the caller runs in a handler (which is counted work itself) or before the workers start,
// while the system's own work guard is held.
void actor_clock::arm_ask_clock(std::chrono::steady_clock::time_point deadline) {
  if (!ask_clock_) ask_clock_.emplace(io_);
  ask_clock_->expires_at(deadline);  // cancels an earlier wait, whose handler then does nothing
  ask_clock_->async_wait([owner = owner_, work = io_.get_executor()](const asio::error_code& error) {
    // Whether it expired or was cancelled, the unit arm_ask_clock gave back is taken again,
    // since Asio takes one away when a handler returns.
    work.on_work_started();
    if (!error) signal_actor(owner, ask_check{});
  });
  io_.get_executor().on_work_finished();
  clock_deadline_ = deadline;
  clock_armed_ = true;
}

void actor_clock::drop_answered_deadlines() {
  while (!deadlines_.empty() && !pending_.contains(deadlines_.top().second)) deadlines_.pop();
}

std::optional<continuation> actor_clock::take_waiting(std::uint64_t request) {
  auto it = pending_.find(request);
  if (it == pending_.end()) return std::nullopt;  // answered already, or timed out: a late reply is dropped
  continuation then = std::move(it->second.then);
  pending_.erase(it);
  drop_answered_deadlines();
  return then;
}

std::vector<continuation> actor_clock::take_expired() {
  clock_armed_ = false;
  timed_out_.clear();
  const auto now = std::chrono::steady_clock::now();
  std::vector<continuation> expired;
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    if (auto it = pending_.find(deadlines_.top().second); it != pending_.end()) {
      expired.push_back(std::move(it->second.then));
      timed_out_.push_back(it->first);
      pending_.erase(it);
    }
    deadlines_.pop();
  }
  drop_answered_deadlines();
  if (!deadlines_.empty()) arm_ask_clock(deadlines_.top().first);
  return expired;
}

std::vector<continuation> actor_clock::take_all_pending() {
  std::vector<continuation> waiting;
  for (auto& [_, ask] : pending_) waiting.push_back(std::move(ask.then));
  pending_.clear();
  return waiting;
}

void actor_clock::clear() {
  pending_.clear();
  deadlines_ = {};
  timers_.clear();
  ask_hold_.reset();
}

}  // namespace revenant::detail
