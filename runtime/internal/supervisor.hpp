// An actor's supervision: what its policy says to do when its behavior throws, counting failures
// within the policy's window. Made only for actors whose policy is not the default (stop on the
// first failure). Worker side.
#pragma once

#include <chrono>
#include <deque>
#include <string>

#include "actors/actor.hpp"

namespace revenant::detail {

class supervisor {
 public:
  // initial: the snapshot of the initial behavior a restart starts from (restart_policy::restart).
  supervisor(supervision policy, std::string initial) : policy_(policy), initial_(std::move(initial)) {}

  enum class verdict { resume, restart, give_up };
  // The behavior threw now. give_up: more failures within the window than the policy allows;
  // detail then says so.
  verdict failed(std::string& detail) {
    const auto now = std::chrono::steady_clock::now();
    failures_.push_back(now);
    while (now - failures_.front() > policy_.window) failures_.pop_front();
    if (failures_.size() > policy_.max_restarts) {
      detail += " (" + std::to_string(failures_.size()) + " failures within " + std::to_string(policy_.window.count()) +
                " ms, limit " + std::to_string(policy_.max_restarts) + ")";
      return verdict::give_up;
    }
    return policy_.policy == restart_policy::restart ? verdict::restart : verdict::resume;
  }

  const supervision& policy() const noexcept { return policy_; }
  const std::string& initial() const noexcept { return initial_; }

 private:
  supervision policy_;
  std::string initial_;
  std::deque<std::chrono::steady_clock::time_point> failures_;  // within the policy's window
};

}  // namespace revenant::detail
