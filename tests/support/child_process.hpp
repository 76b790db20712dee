// Runs this test executable again as a child process, for tests that need a second process
// (save here, load there) or a real crash.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace revenant::test {

struct child_result {
  int exit_code = -1;  // -1 if the child did not exit normally
  int signal = 0;      // the signal that ended it, or 0
  std::string output;  // everything it wrote to stdout and stderr
};

// Runs `<this executable> --child <args...>` and waits for it. With kill_after, the child is
// sent SIGKILL that long after it started, unless it has exited by then: a real crash, at
// whatever instruction it happens to be executing. The child inherits no descriptor of this
// process but its stdout and stderr (a pipe this process reads): not a socket this process may
// close meanwhile (a copy in the child would keep that connection open).
child_result run_child(const std::vector<std::string>& args,
                       std::optional<std::chrono::microseconds> kill_after = std::nullopt);

// A child entry point: main() dispatches `--child <name> args...` to the function registered
// under name, whose return value becomes the exit code.
using child_main = int (*)(const std::vector<std::string>& args);
bool register_child(const std::string& name, child_main fn);
int dispatch_child(int argc, char** argv);

// How many times slower a child runs in a sanitized build (a 450-transfer bank run: 50 ms in
// release, 140 ms under ASan, 170 ms under TSan): crash tests stretch their kill windows by it,
// to hit the same part of a run.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int sanitizer_slowdown = 3;
#else
inline constexpr int sanitizer_slowdown = 1;
#endif

// A fresh temporary directory, removed by the destructor.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);

}  // namespace revenant::test
