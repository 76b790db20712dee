// The snapshot root of a durable actor's record (docs/format.md, "Actor image"): what the runtime
// stores besides the mailbox. The one grammar of the image: the runtime writes and reads it as
// actor_image, the inspect tool (tools/internal/outline.hpp) reads it with its own closure type,
// which reads a closure reference without needing the function registered.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actors/actor.hpp"

namespace revenant::detail {

// A pending ask: its request id, deadline and the continuation waiting for the answer.
template <class Continuation>
struct basic_pending_image {
  std::uint64_t request = 0;
  std::int64_t deadline = 0;  // wall-clock ns
  Continuation then;
  template <class A>
  void serialize(A& a) {
    a(request, deadline, then);
  }
};
// An armed timer.
struct timer_image {
  timer_id id = 0;
  std::int64_t due = 0;     // wall-clock ns of the next expiry
  std::int64_t period = 0;  // ns; 0: once
  std::string payload;      // envelope of the message it delivers
  template <class A>
  void serialize(A& a) {
    a(id, due, period, payload);
  }
};
// Everything a durable actor's next incarnation needs besides its mailbox. Behavior and
// Continuation are how its closures are held: behavior and continuation in the runtime.
template <class Behavior, class Continuation>
struct basic_actor_image {
  Behavior current;
  std::uint8_t policy = static_cast<std::uint8_t>(restart_policy::stop);
  std::uint32_t max_restarts = 0;
  std::int64_t window_ms = 0;
  std::uint32_t capacity = 0;
  std::string initial;  // snapshot of the initial behavior, for restart_policy::restart
  std::uint64_t last_request = 0;
  timer_id last_timer = 0;
  std::vector<basic_pending_image<Continuation>> pending;
  std::vector<timer_image> timers;
  template <class A>
  void serialize(A& a) {
    a(current, policy, max_restarts, window_ms, capacity, initial, last_request, last_timer, pending, timers);
  }
};

using pending_image = basic_pending_image<continuation>;
using actor_image = basic_actor_image<behavior, continuation>;

}  // namespace revenant::detail
