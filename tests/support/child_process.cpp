#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace revenant::test {
namespace {

std::map<std::string, child_main>& children() {
  static std::map<std::string, child_main> m;
  return m;
}

[[noreturn]] void fail(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

}  // namespace

bool register_child(const std::string& name, child_main fn) { return children().emplace(name, fn).second; }

int dispatch_child(int argc, char** argv) {
  auto it = children().find(argv[2]);
  if (it == children().end()) return 127;
  return it->second(std::vector<std::string>(argv + 3, argv + argc));
}

child_result run_child(const std::vector<std::string>& args, std::optional<std::chrono::microseconds> kill_after) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  std::vector<std::string> argv_storage{self, "--child"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) fail("pipe2");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // Nothing else of this process reaches the child: Asio opens its sockets without
  // close-on-exec, and a child holding a copy of a socket this process closes keeps that
  // connection open (no FIN, no reset reaches the peer), so a test's cut link would stay up.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
  pid_t pid;
  const int rc = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    errno = rc;
    fail("posix_spawn " + self);
  }
  std::mutex mutex;
  std::condition_variable exited;
  bool reaped = false;
  std::thread killer;
  if (kill_after)
    killer = std::thread([&] {
      std::unique_lock lock(mutex);
      // The pid stays valid until waitpid below reaps it, which happens only after `reaped`.
      if (!exited.wait_for(lock, *kill_after, [&] { return reaped; })) ::kill(pid, SIGKILL);
    });
  child_result result;
  char buf[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    result.output.append(buf, static_cast<std::size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  // Wait for the child to end without reaping it, so the killer never signals a reused pid.
  siginfo_t info;
  while (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) < 0)
    if (errno != EINTR) fail("waitid");
  if (killer.joinable()) {
    {
      std::lock_guard lock(mutex);
      reaped = true;
    }
    exited.notify_one();
    killer.join();
  }
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) fail("waitpid");
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

temp_dir::temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "revenant-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) fail("mkdtemp");
  dir_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace revenant::test
