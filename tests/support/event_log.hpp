// What test actors saw, in order, as lines of text: actors append from their workers, the test
// waits for a count and reads them. Serializable as nothing, so durable behaviors may bind one
// (it is not part of what they store). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace revenant::test {

struct event_log {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> events;  // read under mutex, or once the writers are done

  void record(std::string e) {
    std::lock_guard lock(mutex);
    events.push_back(std::move(e));
    changed.notify_all();
  }
  // True once n events are recorded; false if timeout passes first.
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return events.size() >= n; });
  }
  // Event i, or empty if there are not that many yet.
  std::string at(std::size_t i) {
    std::lock_guard lock(mutex);
    return i < events.size() ? events[i] : std::string();
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return events.size();
  }
  template <class Archive>
  void serialize(Archive&) {}
};
using event_log_ptr = std::shared_ptr<event_log>;

}  // namespace revenant::test
