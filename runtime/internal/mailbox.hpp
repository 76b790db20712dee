// An actor's mailbox: a lock-free multi-producer inbox, the worker-side FIFO of messages taken
// from it, and the optional bound on how many may wait.
//
// Invariant: at most one worker runs an actor at a time — the one that found the inbox blocked
// and scheduled it. Producers only push(); everything marked "worker side" is touched only by
// that worker (or by whoever owns the actor while no worker can run it).
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

#include "actors/internal/access.hpp"
#include "actors/message.hpp"
#include "runtime/internal/signals.hpp"

namespace revenant::detail {

class mailbox {
 public:
  // capacity 0: unbounded.
  explicit mailbox(std::uint32_t capacity) noexcept : capacity_(capacity) {}
  ~mailbox() = default;
  mailbox(const mailbox&) = delete;
  mailbox& operator=(const mailbox&) = delete;

  // ---- producers (any thread) ----

  // Takes a place for m under the bound; false if the mailbox is full. Runtime signals always
  // get one (and are not counted).
  bool reserve(const message& m) noexcept {
    const std::uint32_t capacity = capacity_.load(std::memory_order_relaxed);
    if (capacity == 0 || is_runtime_signal(m)) return true;
    if (queued_.fetch_add(1, std::memory_order_relaxed) < capacity) return true;
    queued_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }

  // Gives back the place reserve() took for a message (not a runtime signal) that was then not
  // pushed.
  void unreserve() noexcept {
    if (capacity_.load(std::memory_order_relaxed) != 0) queued_.fetch_sub(1, std::memory_order_relaxed);
  }

  enum class push_result { queued, schedule, closed };
  // Pushes m. schedule: the inbox was blocked, and the caller must schedule the actor now.
  // closed: the actor has stopped; m is left with the caller.
  push_result push(message_ptr& m) noexcept {
    message* raw = m.get();
    message* old = inbox_.load(std::memory_order_relaxed);
    do {
      if (old == closed_marker) return push_result::closed;
      detail::message_fields::next(*raw) = old == blocked_marker ? nullptr : old;
      // acq_rel: a push that finds the inbox blocked must see everything the last run did.
    } while (!inbox_.compare_exchange_weak(old, raw, std::memory_order_acq_rel, std::memory_order_relaxed));
    (void)m.release();  // the inbox owns it now
    return old == blocked_marker ? push_result::schedule : push_result::queued;
  }

  // ---- worker side ----

  // True if a message is ready for take(); takes what the inbox holds if the worker-side
  // queue is empty. False: the inbox is empty (the actor stays scheduled: block() gives it up).
  bool fill() noexcept {
    if (cache_ != nullptr) return true;
    message* batch = inbox_.exchange(nullptr, std::memory_order_acquire);
    if (batch == nullptr) return false;
    cache_ = reversed(batch);
    return true;
  }
  // The oldest message; only after fill() returned true.
  message_ptr take() noexcept {
    message_ptr m(cache_);
    cache_ = std::exchange(detail::message_fields::next(*m), nullptr);
    if (capacity_.load(std::memory_order_relaxed) != 0 && !is_runtime_signal(*m))
      queued_.fetch_sub(1, std::memory_order_relaxed);
    return m;
  }
  // Marks the empty inbox blocked: the next push schedules the actor. False if a message
  // arrived meanwhile (the actor is still scheduled and must go on).
  bool block() noexcept {
    message* expected = nullptr;
    return inbox_.compare_exchange_strong(expected, blocked_marker, std::memory_order_acq_rel);
  }
  // Closes the mailbox: later pushes are refused. Returns every message still in it, oldest
  // first, as a list linked through detail::message_fields::next.
  message* close() noexcept { return take_all(closed_marker); }
  // Keeps pushes from scheduling the actor (they see it as scheduled) until the owner does:
  // for an actor not yet visible.
  void hold() noexcept { inbox_.store(nullptr, std::memory_order_relaxed); }
  // Puts fifo (oldest first, linked) in front of everything else; for an actor no worker runs.
  // Producers may push meanwhile: what they push lands behind.
  void put_first(message* fifo) noexcept {
    if (fifo == nullptr) return;
    message* tail = fifo;
    while (detail::message_fields::next(*tail) != nullptr) tail = detail::message_fields::next(*tail);
    detail::message_fields::next(*tail) = cache_;
    cache_ = fifo;
  }

  // Puts m, taken before, back in front of everything else (counted again under the bound).
  void put_back(message_ptr m) noexcept {
    if (capacity_.load(std::memory_order_relaxed) != 0 && !is_runtime_signal(*m))
      queued_.fetch_add(1, std::memory_order_relaxed);
    detail::message_fields::next(*m) = cache_;
    cache_ = m.release();
  }

  std::uint32_t capacity() const noexcept { return capacity_.load(std::memory_order_relaxed); }
  // Set before the actor runs (its record is decoded on its first run).
  void set_capacity(std::uint32_t capacity) noexcept { capacity_.store(capacity, std::memory_order_relaxed); }

  // Whatever is still queued, oldest first (for the destructor of an actor that never ran).
  message* drain() noexcept { return take_all(nullptr); }

 private:
  // Inbox states besides "a stack of messages" (or nullptr: empty while the actor is
  // scheduled). blocked: empty and not scheduled — whoever pushes next must schedule the actor.
  // closed: the actor has stopped — pushes are refused.
  static inline message* const blocked_marker = reinterpret_cast<message*>(std::uintptr_t{1});
  static inline message* const closed_marker = reinterpret_cast<message*>(std::uintptr_t{2});

  // Everything queued, worker-side queue first, oldest first; the inbox is left as replacement.
  message* take_all(message* replacement) noexcept {
    message* list = inbox_.exchange(replacement, std::memory_order_acq_rel);
    message* rest = list == blocked_marker || list == closed_marker ? nullptr : reversed(list);
    if (message* cached = std::exchange(cache_, nullptr)) {
      message* tail = cached;
      while (detail::message_fields::next(*tail) != nullptr) tail = detail::message_fields::next(*tail);
      detail::message_fields::next(*tail) = rest;
      rest = cached;
    }
    return rest;
  }
  static message* reversed(message* stack) noexcept {
    message* fifo = nullptr;
    while (stack != nullptr) fifo = std::exchange(stack, std::exchange(detail::message_fields::next(*stack), fifo));
    return fifo;
  }

  std::atomic<std::uint32_t> capacity_;        // 0: unbounded, queued_ unused
  std::atomic<std::uint32_t> queued_{0};       // messages waiting, for the bound
  std::atomic<message*> inbox_{blocked_marker};  // a LIFO stack; producers push, the worker takes all
  message* cache_ = nullptr;                   // worker side: taken from the inbox, oldest first
};

}  // namespace revenant::detail
