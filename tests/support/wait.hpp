// Polling for a condition another thread (or process) makes true, with a deadline.
#pragma once

#include <chrono>
#include <thread>

namespace revenant::test {

// Calls done() until it returns true (then true) or timeout has passed (then false), sleeping
// `step` between calls.
template <class F>
bool wait_until(F&& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = std::chrono::milliseconds(5)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(step);
  }
}

}  // namespace revenant::test
