// What remote_bench's benchmarks share: the peer process each of them talks to over 127.0.0.1,
// the servers such a process can run, and the latency percentiles they report.
//
// remote_bench runs in two roles. Run plainly, it is a Google Benchmark program. Run as
// `remote_bench --serve <server> --report-fd <fd> [args...]`, it is the other end of one
// benchmark: it starts the server registered under that name, which listens on 127.0.0.1 port 0
// and writes the port it got to the descriptor, then serves until it is killed.
#pragma once

#include <sys/types.h>

#include <benchmark/benchmark.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace remote_bench {

// A server's entry point in the child process: listens on 127.0.0.1 port 0, calls
// report_port(report_fd, port) once it accepts connections, then serves until killed. Its
// return value (on a failure to start) becomes the child's exit code.
using server_main = int (*)(const std::vector<std::string>& args, int report_fd);

// Registers a server under `name` (unique); call from a static initializer.
bool register_server(const std::string& name, server_main serve);

// Tells the parent which port the server listens on. Call once, from the server.
void report_port(int report_fd, std::uint16_t port);

// The other end of a benchmark: `remote_bench --serve <server> ...` as a child process, started
// by the constructor and killed (SIGKILL) and reaped by the destructor, whatever happened in
// between. The child dies with its parent too (PR_SET_PDEATHSIG), so a crashed benchmark
// leaves nothing behind. A watchdog kills the child once `lifetime` has passed, so that a
// benchmark blocked on it sees its connection end instead of waiting for ever.
class peer_process {
 public:
  // Throws std::runtime_error (with the child's exit status) if the child does not report its
  // port within 10 s.
  peer_process(const std::string& server, const std::vector<std::string>& args,
               std::chrono::seconds lifetime = std::chrono::seconds(300));
  ~peer_process();
  peer_process(const peer_process&) = delete;
  peer_process& operator=(const peer_process&) = delete;

  // The 127.0.0.1 port the child's server listens on.
  std::uint16_t port() const { return port_; }
  // True once the watchdog has killed the child for outliving `lifetime`.
  bool expired() const;

 private:
  void stop();

  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  bool expired_ = false;   // guarded by mutex_
  std::thread watchdog_;
};

// Latencies of one benchmark run; report() publishes p50 and p99 in microseconds as the
// counters p50_us and p99_us. Not thread-safe: one recorder per thread, or handed over under a
// lock.
class latency_recorder {
 public:
  void reserve(std::size_t n) { samples_.reserve(n); }
  void record(std::chrono::steady_clock::duration d) { samples_.push_back(d.count()); }
  void merge(const latency_recorder& other) {
    samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
  }
  void report(benchmark::State& state);

 private:
  std::vector<std::chrono::steady_clock::rep> samples_;
};

// A completion flag one thread raises and another awaits with a deadline (the benchmark thread
// waiting for actors it started).
class done_signal {
 public:
  void raise(bool ok = true);
  // False if the deadline passed first, or if raise(false) was called.
  bool wait_for(std::chrono::steady_clock::duration timeout);

 private:
  std::mutex mutex_;
  std::condition_variable raised_;
  bool done_ = false;  // guarded by mutex_
  bool ok_ = false;    // guarded by mutex_
};

// The message every ping-pong and ask carries: a small actor-sized payload (with its 4-byte
// length prefix on raw sockets, 32 bytes).
inline constexpr std::size_t payload_bytes = 28;
inline const std::string& payload() {
  static const std::string bytes(payload_bytes, 'p');
  return bytes;
}

}  // namespace remote_bench
