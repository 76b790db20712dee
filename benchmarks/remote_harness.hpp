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
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_pki.hpp"

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
  // The child's peak resident set size so far, in bytes (peak_rss_bytes of its pid).
  std::uint64_t peak_rss_bytes() const;

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

// The peak resident set size (VmHWM in /proc/<pid>/status) of process pid, or of this process
// for 0, in bytes; 0 if it cannot be read.
std::uint64_t peak_rss_bytes(pid_t pid = 0);

// Lowers this process's peak resident set size to what it holds now, once the heap has given
// back what is free (so that a benchmark reports its own peak, not an earlier one's). False if
// the kernel does not allow it.
bool reset_peak_rss();

// Certificates for one benchmark run: a CA made for it (tests/support/test_pki.hpp) and the
// certificates it signs, as PEM files in a fresh temporary directory that the destructor removes.
class run_certificates {
 public:
  // Throws std::system_error if the directory cannot be made, std::runtime_error (with
  // OpenSSL's reason) if the CA cannot.
  run_certificates();
  ~run_certificates();
  run_certificates(const run_certificates&) = delete;
  run_certificates& operator=(const run_certificates&) = delete;

  // The CA's certificate file.
  const std::string& ca_file() const { return ca_->ca_file(); }
  // A certificate for common_name (a node's name, for a node), signed by the run's CA, for a
  // client and a server; with ip_address, it also names that address (test_ca::issue).
  revenant::test::issued_files issue(const std::string& common_name, const std::string& ip_address = {}) const {
    return ca_->issue(common_name, common_name, ip_address);
  }

 private:
  std::string dir_;
  std::unique_ptr<revenant::test::test_ca> ca_;
};

// The one-way stream's flow control, the same for every peer: the receiver acknowledges every
// stream_ack_every messages (with the count it has received), the sender keeps at most
// stream_window messages unacknowledged. A stream's length is a multiple of stream_ack_every,
// so that its last message is acknowledged too.
inline constexpr std::int64_t stream_window = 4096;
inline constexpr std::int64_t stream_ack_every = 256;
static_assert(stream_window % stream_ack_every == 0 && stream_window >= 2 * stream_ack_every);

// Publishes the peak resident set sizes of a stream's two processes, in MiB, as the counters
// sender_peak_rss_MiB and receiver_peak_rss_MiB.
void report_peak_rss(benchmark::State& state, std::uint64_t sender_bytes, std::uint64_t receiver_bytes);

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
