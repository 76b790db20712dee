// Order per sender across moves (docs/migration.md 9): the numbers a durable actor gives what it
// sends to each durable actor, the last number it handled from each sender, and the messages that
// came early, held until those before them are handled.
//
// Worker side, all of it (the actor's own run, or its owner while no worker runs it), except the
// timer's handler, which only enqueues an order_check signal to the actor.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/actor.hpp"
#include "runtime/internal/order_image.hpp"

namespace revenant::detail {

class message_order {
 public:
  message_order() = default;
  message_order(const message_order&) = delete;
  message_order& operator=(const message_order&) = delete;

  // ---- sending ----

  // The number of the next message to recipient (a durable actor's name). now: wall-clock ns.
  std::uint64_t number(const std::string& recipient, std::int64_t now);
  // Gives back n, the last number given to recipient: its message was withdrawn (the call that
  // sent it threw).
  void withdraw(const std::string& recipient, std::uint64_t n) noexcept;

  // ---- taking ----

  // m, numbered n by sender, was taken from the queue. True: it came early and is held here (m is
  // taken); false: handle it now (the sender's count has moved on). now_wall: wall-clock ns.
  bool hold(message_ptr& m, const std::string& sender, std::uint64_t n, std::int64_t now_wall,
            std::chrono::nanoseconds timeout);
  // The held message of sender that is next in line now, if there is one.
  message_ptr next_in_line(const std::string& sender);
  // A journal entry numbered n by sender was handled again (replay): the count moves as it did.
  void replayed(const std::string& sender, std::uint64_t n, std::int64_t now);
  // A held message that waited timeout or longer: the gap before it is given up (the count is
  // set just below it), and it is handed back to be handled.
  struct overdue {
    message_ptr m;
    std::string sender;
    std::uint64_t missing_from = 0, missing_to = 0;  // the numbers given up, inclusive
  };
  std::vector<overdue> take_overdue(std::chrono::nanoseconds timeout);
  // Every held message, for an actor that finishes or moves (they are still in its stored
  // mailbox).
  std::vector<message_ptr> take_held();
  // Arms the timer for the oldest held message, if any and not armed for it already: when it
  // expires, owner is sent an order_check.
  void arm(asio::io_context& io, const std::weak_ptr<actor_base>& owner, std::chrono::nanoseconds timeout);

  // ---- the record ----

  // The tables to store: correspondents not heard from within forget_after and with nothing
  // held are left out (and forgotten). now: wall-clock ns.
  order_image image(std::int64_t now, std::chrono::nanoseconds forget_after);
  void restore(order_image&& image);
  // The actor parks for a move now (wall-clock ns): a sender it has no count for may have
  // messages on a longer path for a while.
  void set_moved(std::int64_t now) noexcept { moved_ = now; }
  // Nothing to store: no correspondent and never moved.
  bool empty() const noexcept { return sent_.empty() && handled_.empty() && moved_ == 0; }

 private:
  struct count {
    std::uint64_t last = 0;
    std::int64_t seen = 0;
  };
  struct held_message {
    std::chrono::steady_clock::time_point since;
    message_ptr m;
  };

  std::unordered_map<std::string, count> sent_;
  std::unordered_map<std::string, count> handled_;
  // By sender, then number. Invariant: every number here is above the sender's handled count + 1
  // when it was put here.
  std::unordered_map<std::string, std::map<std::uint64_t, held_message>> held_;
  std::int64_t moved_ = 0;
  std::optional<asio::steady_timer> timer_;
  std::chrono::steady_clock::time_point armed_for_{};  // the expiry timer_ waits for, if armed
  bool armed_ = false;
};

}  // namespace revenant::detail
