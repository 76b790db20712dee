#include "remote_harness.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <system_error>

namespace remote_bench {
namespace {

std::map<std::string, server_main>& servers() {
  static std::map<std::string, server_main> registry;
  return registry;
}

// The descriptor the child reports its port on (fixed, so that the command line can name it).
constexpr int child_report_fd = 3;
constexpr auto startup_timeout = std::chrono::seconds(10);

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

// Reads the child's "<port>\n" from `fd`, waiting at most startup_timeout. Returns 0 on EOF,
// on a timeout or on anything that is not a port.
std::uint16_t read_port(int fd) {
  const auto deadline = std::chrono::steady_clock::now() + startup_timeout;
  std::string line;
  while (line.find('\n') == std::string::npos && line.size() < 16) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return 0;
    char buf[16];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    line.append(buf, static_cast<std::size_t>(n));
  }
  const unsigned long port = std::strtoul(line.c_str(), nullptr, 10);
  return port > 0 && port <= 65535 ? static_cast<std::uint16_t>(port) : 0;
}

}  // namespace

bool register_server(const std::string& name, server_main serve) {
  return servers().emplace(name, serve).second;
}

void report_port(int report_fd, std::uint16_t port) {
  const std::string line = std::to_string(port) + "\n";
  // A short write of a few bytes to a pipe does not happen; a failed one shows as a timeout in
  // the parent.
  [[maybe_unused]] const ssize_t n = ::write(report_fd, line.data(), line.size());
  ::close(report_fd);
}

peer_process::peer_process(const std::string& server, const std::vector<std::string>& args,
                           std::chrono::seconds lifetime) {
  if (servers().count(server) == 0) throw std::runtime_error("remote_bench: no server named " + server);
  char exe[4096];
  const ssize_t len = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) throw std::runtime_error("remote_bench: cannot find its own executable");
  exe[len] = '\0';

  std::vector<std::string> argv_storage{exe, "--serve", server, "--report-fd", std::to_string(child_report_fd)};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("remote_bench: pipe2 failed");
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw std::runtime_error("remote_bench: fork failed");
  }
  if (pid_ == 0) {
    // The child: only async-signal-safe calls until exec. It dies with the parent (strictly, with
    // the thread that forked it: benchmarks run on the main thread).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (pipe_fds[1] == child_report_fd) {
      ::fcntl(child_report_fd, F_SETFD, 0);
    } else if (::dup2(pipe_fds[1], child_report_fd) < 0) {
      ::_exit(127);
    }
    ::execv(exe, argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  port_ = read_port(pipe_fds[0]);
  ::close(pipe_fds[0]);
  if (port_ == 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    throw std::runtime_error("remote_bench: server " + server + " did not report a port within 10 s (" +
                             describe_status(status) + ")");
  }
  watchdog_ = std::thread([this, lifetime] {
    std::unique_lock lock(mutex_);
    if (!wake_.wait_for(lock, lifetime, [this] { return stopping_; })) {
      expired_ = true;
      ::kill(pid_, SIGKILL);
    }
  });
}

peer_process::~peer_process() { stop(); }

bool peer_process::expired() const {
  std::lock_guard lock(mutex_);
  return expired_;
}

void peer_process::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

std::uint64_t peer_process::peak_rss_bytes() const { return remote_bench::peak_rss_bytes(pid_); }

std::uint64_t peak_rss_bytes(pid_t pid) {
  std::ifstream status(pid == 0 ? std::string("/proc/self/status") : "/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;  // "<n> kB"
  }
  return 0;
}

bool reset_peak_rss() {
  // What earlier benchmarks freed goes back to the kernel first, so that it does not count.
  ::malloc_trim(0);
  // Writing 5 to clear_refs resets the peak to the current resident set (proc(5)).
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

void report_peak_rss(benchmark::State& state, std::uint64_t sender_bytes, std::uint64_t receiver_bytes) {
  constexpr double mib = 1024.0 * 1024.0;
  state.counters["sender_peak_rss_MiB"] = static_cast<double>(sender_bytes) / mib;
  state.counters["receiver_peak_rss_MiB"] = static_cast<double>(receiver_bytes) / mib;
}

run_certificates::run_certificates() {
  std::string pattern = (std::filesystem::temp_directory_path() / "remote_bench_tls.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "remote_bench: mkdtemp " + pattern);
  }
  dir_ = pattern;
  try {
    ca_ = std::make_unique<revenant::test::test_ca>(dir_, "remote_bench-ca");
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

run_certificates::~run_certificates() {
  ca_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void latency_recorder::report(benchmark::State& state) {
  if (samples_.empty()) return;
  const auto at = [this](double q) {
    const auto k = static_cast<std::size_t>(q * static_cast<double>(samples_.size() - 1));
    std::nth_element(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(k), samples_.end());
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::duration(samples_[k])).count();
  };
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
}

void done_signal::raise(bool ok) {
  {
    std::lock_guard lock(mutex_);
    if (done_) return;
    done_ = true;
    ok_ = ok;
  }
  raised_.notify_all();
}

bool done_signal::wait_for(std::chrono::steady_clock::duration timeout) {
  std::unique_lock lock(mutex_);
  return raised_.wait_for(lock, timeout, [this] { return done_; }) && ok_;
}

}  // namespace remote_bench

// `remote_bench --serve <server> --report-fd <fd> [args...]` runs a server (the child side of a
// benchmark); anything else runs the benchmarks.
int main(int argc, char** argv) {
  if (argc >= 5 && std::strcmp(argv[1], "--serve") == 0 && std::strcmp(argv[3], "--report-fd") == 0) {
    const auto found = remote_bench::servers().find(argv[2]);
    if (found == remote_bench::servers().end()) {
      std::fprintf(stderr, "remote_bench: no server named %s\n", argv[2]);
      return 64;
    }
    const int report_fd = std::atoi(argv[4]);
    return found->second(std::vector<std::string>(argv + 5, argv + argc), report_fd);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
