// How an actor gets a worker. From a worker, its run is deferred onto that worker's own queue (a
// message sent inside the system wakes nobody). From any other thread — an application spawning
// or telling from outside — runs are handed over in batches: the first run of a batch posts one
// drain to the workers (one wake-up), and the runs that arrive before the drain takes them join
// it. Thread-safe.
#pragma once

#include <asio/io_context.hpp>

#include <memory>
#include <mutex>
#include <vector>

namespace revenant::detail {

class actor_cell;

class scheduler {
 public:
  explicit scheduler(asio::io_context& io) : io_(io) {}

  // Has cell run once on a worker; cell is held weakly meanwhile (a gone actor is skipped).
  void schedule(const std::shared_ptr<actor_cell>& cell);

 private:
  // On a worker: schedules every actor handed over so far there.
  void drain();

  asio::io_context& io_;
  std::mutex mutex_;
  std::vector<std::weak_ptr<actor_cell>> waiting_;  // guarded by mutex_; handed over from outside
  bool drain_posted_ = false;                       // guarded by mutex_; a drain will take waiting_
};

}  // namespace revenant::detail
