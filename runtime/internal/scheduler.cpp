#include "runtime/internal/scheduler.hpp"

#include <asio/defer.hpp>
#include <asio/post.hpp>

#include "runtime/internal/actor_cell.hpp"
#include "runtime/internal/send_batch.hpp"

namespace revenant::detail {

void scheduler::schedule(const std::shared_ptr<actor_cell>& cell) {
  if (io_.get_executor().running_in_this_thread()) {
    // defer, not post: the run continues the current one on this worker's private queue
    // instead of waking another thread — a request/reply pair then runs on one core, as in a
    // work-stealing scheduler.
    asio::defer(io_, [weak = std::weak_ptr<actor_cell>(cell)] {
      if (auto c = weak.lock()) {
        send_batch sends;  // what the run sends to other nodes leaves at its end, together
        c->run();
      }
    });
    return;
  }
  bool post;
  {
    std::lock_guard lock(mutex_);
    waiting_.emplace_back(cell);
    post = !std::exchange(drain_posted_, true);
  }
  if (post) asio::post(io_, [this] { drain(); });
}

void scheduler::drain() {
  std::vector<std::weak_ptr<actor_cell>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(waiting_);
    drain_posted_ = false;
  }
  // Deferred from this worker, not run here: they go to its own queue, which Asio shares out
  // (waking one more worker when more than one run waits), so a batch of actors spawned from
  // outside still runs on every worker.
  for (auto& weak : batch)
    asio::defer(io_, [weak = std::move(weak)] {
      if (auto c = weak.lock()) {
        send_batch sends;  // what the run sends to other nodes leaves at its end, together
        c->run();
      }
    });
}

}  // namespace revenant::detail
