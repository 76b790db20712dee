// What one actor run sends to other nodes, gathered: a link's frames leave in one system call at
// the end of the run instead of one each (a run that answers 100 asks writes once). The scheduler
// opens a batch around each run; a connection with nothing on the wire defers its write to the
// batch's end. Thread-local; batches nest, and the outermost flushes.
#pragma once

#include <memory>
#include <vector>

namespace revenant::detail {

class send_batch {
 public:
  // Something whose writes wait for the end of the batch.
  class flusher {
   public:
    virtual void flush() = 0;

   protected:
    ~flusher() = default;
  };

  send_batch() noexcept { ++state().depth; }
  ~send_batch() {
    thread_state& s = state();
    if (--s.depth == 0 && !s.pending.empty()) flush_all(s);
  }
  send_batch(const send_batch&) = delete;
  send_batch& operator=(const send_batch&) = delete;

  // Whether this thread is in a batch.
  static bool open() noexcept { return state().depth > 0; }
  // f is flushed when this thread's batch ends (the caller adds it once per batch).
  static void defer(std::shared_ptr<flusher> f) { state().pending.push_back(std::move(f)); }

 private:
  struct thread_state {
    int depth = 0;
    std::vector<std::shared_ptr<flusher>> pending;
  };
  static thread_state& state() noexcept {
    thread_local thread_state s;
    return s;
  }
  static void flush_all(thread_state& s) {
    std::vector<std::shared_ptr<flusher>> now;
    now.swap(s.pending);
    for (auto& f : now) f->flush();
  }
};

}  // namespace revenant::detail
