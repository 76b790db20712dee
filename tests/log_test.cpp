// The library's log: every line goes to the configured sink, with the actor and the store it is
// about, and nothing is ever written to stderr.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "actors/actor.hpp"
#include "runtime/actor_system.hpp"
#include "storage/store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/durable_actors.hpp"
#include "tests/support/messages.hpp"

using namespace revenant;
using namespace revenant::test;
using namespace std::chrono_literals;

namespace {

// What a sink received.
struct log_lines {
  std::mutex mutex;
  std::vector<std::pair<log_level, std::string>> lines;
  log_sink sink() {
    return [this](log_level level, std::string_view text) {
      std::lock_guard lock(mutex);
      lines.emplace_back(level, std::string(text));
    };
  }
  // The lines that contain every one of the given pieces.
  std::vector<std::pair<log_level, std::string>> matching(std::initializer_list<std::string> pieces) {
    std::lock_guard lock(mutex);
    std::vector<std::pair<log_level, std::string>> found;
    for (const auto& line : lines) {
      bool all = true;
      for (const auto& piece : pieces) all = all && line.second.find(piece) != std::string::npos;
      if (all) found.push_back(line);
    }
    return found;
  }
};

// Sends whatever this process writes to stderr (file descriptor 2) to a file while it lives.
class stderr_capture {
 public:
  explicit stderr_capture(std::string path) : path_(std::move(path)) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    const int fd = ::open(path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    ::dup2(fd, 2);
    ::close(fd);
  }
  stderr_capture(const stderr_capture&) = delete;
  stderr_capture& operator=(const stderr_capture&) = delete;
  ~stderr_capture() { restore(); }
  // Everything written to stderr so far.
  std::string restore() {
    if (saved_ >= 0) {
      std::fflush(stderr);
      ::dup2(saved_, 2);
      ::close(saved_);
      saved_ = -1;
    }
    return read_file(path_);
  }

 private:
  std::string path_;
  int saved_ = -1;
};

void fragile_body(context& ctx, const message& m) {
  if (m.is<quit>()) throw std::runtime_error("cannot quit");
  if (m.is<get>()) ctx.reply(value_is{0});
}
const revenant::function<void(context&, const message&), fragile_body> fragile_fn{"test.log.fragile"};

bool wait_quarantined(actor_system& system, const std::string& name) {
  for (int i = 0; i < 10'000; ++i) {
    if (system.quarantine_of(name)) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

struct blob {
  std::string bytes;
  template <class A>
  void serialize(A& a) {
    a(bytes);
  }
};
const message_type<blob> blob_type{"test.log.blob"};

// Keeps the last blob it got in its state, so that every step writes a record that size (a
// mailbox entry may be elided when its consumer commits in the same group; a record is not).
void hoard_body(context&, const message& m, const std::shared_ptr<std::string>& kept) {
  if (const auto* b = m.get_if<blob>()) *kept = b->bytes;
}
const revenant::function<void(context&, const message&), hoard_body> hoard_fn{"test.log.hoard"};

// Sends megabyte messages to a durable actor with the file size limited, until a commit fails
// (the write-ahead log cannot grow). Prints what the send said and what the sink received;
// stderr goes to <store>.stderr.
int commit_fails(const std::vector<std::string>& args) {
  const std::string path = args.at(0);
  const int fd = ::open((path + ".stderr").c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  ::dup2(fd, 2);
  ::close(fd);
  log_lines log;
  actor_system_config config{2};
  config.log = log.sink();
  actor_system system(store_at(path), config);
  system.spawn_durable("sink", hoard_fn.bind(std::make_shared<std::string>()));
  ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit then fails with EFBIG instead
  const rlimit limit{8u << 20, 8u << 20};
  if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 2;
  std::string failure;
  for (int i = 0; i < 64 && failure.empty(); ++i) {
    try {
      system.send("sink", blob{std::string(std::size_t{1} << 20, 'x')}).get();
    } catch (const store_error& e) {
      failure = e.what();
    }
  }
  std::cout << "send failed: " << failure << '\n';
  {
    std::lock_guard lock(log.mutex);
    for (const auto& [level, text] : log.lines) std::cout << "log " << static_cast<int>(level) << ": " << text << '\n';
  }
  std::cout << std::flush;
  return failure.empty() ? 3 : 0;
}
const bool commit_fails_registered = register_child("log.commit_fails", commit_fails);

}  // namespace

TEST_CASE("a quarantine and a failing behavior reach the log sink with their actor and store, not stderr",
          "[durable][log]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  log_lines log;
  stderr_capture captured(dir.path("stderr"));
  {
    actor_system_config config{2};
    config.log = log.sink();
    actor_system system(store_at(path), config);
    system.spawn_durable("fragile", fragile_fn.bind());
    system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>()));
    system.send("fragile", quit{}).get();  // its behavior throws: quarantined
    REQUIRE(wait_quarantined(system, "fragile"));
    system.spawn("brittle", fragile_fn.bind()).tell(quit{});  // a transient actor: it stops
    for (int i = 0; i < 10'000 && system.find("brittle"); ++i) std::this_thread::sleep_for(1ms);
  }
  {
    store db(path);  // damage the counter's record: quarantined when it activates
    std::string record = *db.record("counter");
    record[record.size() - 5] ^= 0x10;
    commit_batch batch(db);
    batch.put_record("counter", record);
    db.commit(batch, true);
  }
  {
    actor_system_config config{2};
    config.log = log.sink();
    actor_system system(store_at(path), config);
    system.send("counter", add{1}).get();
    REQUIRE(wait_quarantined(system, "counter"));
  }
  {
    // Without a sink, the same events are written nowhere.
    actor_system system(store_at(dir.path("quiet")), actor_system_config{2});
    system.spawn_durable("fragile", fragile_fn.bind());
    system.send("fragile", quit{}).get();
    REQUIRE(wait_quarantined(system, "fragile"));
    system.spawn("brittle", fragile_fn.bind()).tell(quit{});
    for (int i = 0; i < 10'000 && system.find("brittle"); ++i) std::this_thread::sleep_for(1ms);
  }
  CHECK(captured.restore().empty());
  const auto behavior_failed = log.matching({"\"fragile\"", path, "quarantined", "cannot quit"});
  REQUIRE(behavior_failed.size() == 1);
  CHECK(behavior_failed[0].first == log_level::error);
  const auto damaged = log.matching({"\"counter\"", path, "quarantined", "checksum_mismatch"});
  REQUIRE(damaged.size() == 1);
  CHECK(damaged[0].first == log_level::error);
  const auto stopped = log.matching({"\"brittle\"", "stopped", "cannot quit"});
  REQUIRE(stopped.size() == 1);
  CHECK(stopped[0].first == log_level::warning);
  std::lock_guard lock(log.mutex);
  CHECK(log.lines.size() == 3);
}

TEST_CASE("a failed commit reaches the log sink with its store, not stderr", "[durable][log]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  const auto r = run_child({"log.commit_fails", path});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("send failed: revenant: store \"" + path + "\""));
  CHECK_THAT(r.output, Catch::Contains("log 3: revenant: store \"" + path +
                                       "\": commit failed; no further step will be committed: "));
  CHECK(read_file(path + ".stderr").empty());
}
