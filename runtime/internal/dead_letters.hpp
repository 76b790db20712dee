// Dead letters: messages that reached no behavior. Counted, shown to the application's handler,
// and, for an undeliverable ask, answered at once with an ask_error instead of leaving the asker
// to its timeout. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "actors/message.hpp"
#include "runtime/actor_system.hpp"

namespace revenant::detail {

class dead_letters {
 public:
  // m reached no behavior, for reason. The runtime's own signals are dropped silently: they die
  // with their actor.
  void add(std::string recipient, message_ptr m, dead_letter_reason reason) noexcept;
  // One that cannot be shown (its bytes could not be decoded): counted only.
  void count_unshown() noexcept { count_.fetch_add(1, std::memory_order_relaxed); }
  // Replaces the handler (actor_system::on_dead_letter).
  void set_handler(std::function<void(const dead_letter&)> handler);
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::mutex mutex_;
  std::function<void(const dead_letter&)> handler_;  // guarded by mutex_
  std::atomic<std::uint64_t> count_{0};
};

}  // namespace revenant::detail
