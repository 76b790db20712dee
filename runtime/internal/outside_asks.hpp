// Asks from outside the system (actor_system::ask): the sender their requests carry, the futures
// waiting for replies, and one clock for their deadlines, armed only while an ask is pending (so
// an answered one does not hold a draining shutdown). Thread-safe.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/actor.hpp"
#include "runtime/errors.hpp"

namespace revenant::detail {

class outside_asks : public std::enable_shared_from_this<outside_asks> {
 public:
  // not_a_reply: where a message sent to the outside sender that answers no ask goes (the dead
  // letters).
  // sender_id: the id of the sender (an actor id no actor has: a node names it "$<id>@<node>").
  outside_asks(asio::io_context& io, std::uint64_t sender_id, std::function<void(message_ptr)> not_a_reply);

  // The sender every outside ask carries: not an actor (no mailbox, never scheduled, never
  // stops), just where replies are routed to the futures waiting for them. Made on first use.
  std::shared_ptr<detail::actor_base> sender();
  // Registers an ask due at deadline; returns its request id. After close(), fails reply
  // (std::logic_error) and returns 0.
  std::uint64_t add(std::unique_ptr<detail::outside_reply> reply, std::chrono::steady_clock::time_point deadline);
  // Completes an ask with reply (or error, if reply is null); nothing if it has completed
  // already (a late reply).
  void complete(std::uint64_t request, const message* reply, std::exception_ptr error);
  // At shutdown: answers every ask still pending with target_stopped, and takes no new ones.
  void close();

 private:
  using deadline_entry = std::pair<std::chrono::steady_clock::time_point, std::uint64_t>;
  // The clock fired: times out every ask past its deadline.
  void time_out();
  // Under mutex_.
  void arm(std::chrono::steady_clock::time_point at);

  asio::io_context& io_;
  const std::uint64_t sender_id_;
  const std::function<void(message_ptr)> not_a_reply_;
  std::mutex mutex_;
  std::shared_ptr<detail::actor_base> sender_;                                          // guarded by mutex_
  std::unordered_map<std::uint64_t, std::unique_ptr<detail::outside_reply>> pending_;  // guarded by mutex_
  // Earliest first; answered ones removed lazily. Guarded by mutex_.
  std::priority_queue<deadline_entry, std::vector<deadline_entry>, std::greater<>> deadlines_;
  std::optional<asio::steady_timer> clock_;                 // guarded by mutex_
  std::chrono::steady_clock::time_point clock_at_{};        // guarded by mutex_
  bool clock_armed_ = false;                                // guarded by mutex_
  bool closed_ = false;                                     // guarded by mutex_
  std::uint64_t last_request_ = 0;                          // guarded by mutex_
};

}  // namespace revenant::detail
