// Whoever waits to hear that a message, or a step, is committed: a caller's future (a promise),
// or a callback (a peer node's send, answered with a send_result frame). Fulfilled at most once;
// the callback runs on the thread that fulfils it (the committer's, or the sender's).
#pragma once

#include <exception>
#include <functional>
#include <future>
#include <utility>
#include <variant>

namespace revenant::detail {

class completion {
 public:
  using callback = std::function<void(std::exception_ptr)>;  // null: done

  completion(std::promise<void> p) : target_(std::move(p)) {}  // NOLINT: a promise is a completion
  explicit completion(callback f) : target_(std::move(f)) {}

  void set_value() { finish(nullptr); }
  void set_exception(std::exception_ptr e) { finish(std::move(e)); }

 private:
  void finish(std::exception_ptr e) {
    if (auto* p = std::get_if<std::promise<void>>(&target_)) {
      if (e)
        p->set_exception(std::move(e));
      else
        p->set_value();
    } else {
      std::get<callback>(target_)(std::move(e));
    }
  }

  std::variant<std::promise<void>, callback> target_;
};

}  // namespace revenant::detail
