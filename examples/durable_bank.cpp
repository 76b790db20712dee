// The durable bank, killed and recovered. The demo runs the bank in a child process, kills it
// with SIGKILL while transfers are in flight, reopens the store in this process, lets the
// recovered sagas finish, submits the rest, and checks that not a cent was lost or doubled.
//
//   durable_bank demo <store-dir>      the whole story (what `bash dev.sh demo` runs)
//   durable_bank run <store-dir> <n>   the bank application: submit transfers 1..n, finish them
//   durable_bank inspect list|dump|dot <store-dir> [actor]
//                                      the inspect tool, linked with the bank's registrations
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "examples/bank_model.hpp"
#include "runtime/actor_system.hpp"
#include "tools/inspect.hpp"

extern char** environ;

namespace {

constexpr std::uint32_t accounts = 8;
constexpr std::int64_t opening_balance = 1000;
constexpr std::int64_t cap = 1150;  // deposits past it are refused, and the saga refunds
constexpr std::uint64_t transfers = 3000;

revenant::durable_config store_at(const std::string& path) {
  revenant::durable_config config;
  config.path = path;
  config.recovery = revenant::recovery_mode::eager;
  return config;
}

// Submits transfers from where the teller's book stops up to `total`, acknowledged in batches.
void submit(revenant::actor_system& system, std::uint64_t total, bool report) {
  std::uint64_t next = bank::run_audit(system, accounts).book.received() + 1;
  while (next <= total) {
    std::vector<std::future<void>> acks;
    for (int i = 0; i < 50 && next <= total; ++i, ++next)
      acks.push_back(system.send(bank::teller_name, bank::make_transfer(next, accounts)));
    for (auto& a : acks) a.get();  // durable from here on
    if (report) std::cout << "submitted " << next - 1 << std::endl;
  }
}

bank::audit_result wait_until_settled(revenant::actor_system& system) {
  for (;;) {
    auto audit = bank::run_audit(system, accounts);
    if (bank::open_sagas(audit.book) == 0) return audit;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int run(const std::string& path, std::uint64_t total) {
  revenant::actor_system system(store_at(path));
  bank::open_bank(system, accounts, opening_balance, cap);
  submit(system, total, true);
  wait_until_settled(system);
  std::cout << "all settled" << std::endl;
  return 0;
}

// Starts `self run path total` and kills it with SIGKILL once it has acknowledged `kill_at`
// transfers: whatever it is doing at that instant is cut short.
int run_and_kill(const std::string& self, const std::string& path, std::uint64_t total, std::uint64_t kill_at) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<std::string> args{self, "run", path, std::to_string(total)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  const int rc = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) return -1;
  FILE* in = fdopen(fds[0], "r");
  char line[256];
  std::uint64_t acknowledged = 0;
  bool killed = false;
  while (fgets(line, sizeof line, in) != nullptr) {
    if (std::sscanf(line, "submitted %lu", &acknowledged) == 1 && acknowledged >= kill_at && !killed) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  fclose(in);
  int status = 0;
  waitpid(pid, &status, 0);
  std::cout << "  the bank acknowledged " << acknowledged << " of " << total << " transfers, then was "
            << (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? "killed with SIGKILL" : "not killed (it finished first)")
            << '\n';
  return 0;
}

int demo(const std::string& self, const std::string& path) {
  std::filesystem::remove_all(path);
  std::cout << "1. The bank: " << accounts << " durable accounts of " << opening_balance << " each and a teller; "
            << transfers << " transfers, each a saga (withdraw, then deposit; refund if the deposit is refused).\n"
            << "   Running it in a child process, killing it mid-flight...\n";
  if (run_and_kill(self, path, transfers, transfers / 3) != 0) {
    std::cerr << "could not start the bank process\n";
    return 1;
  }

  std::cout << "2. Reopening the store in a new process (eager recovery).\n";
  revenant::actor_system system(store_at(path));
  const auto report = system.recovery();
  const auto at_restart = bank::run_audit(system, accounts);
  std::cout << "   actors recovered: " << report.actors_activated << ", unconsumed messages re-queued: "
            << report.messages_requeued << ", pending continuations re-attached: " << report.continuations_restored
            << ", quarantined: " << report.quarantined << '\n'
            << "   the teller's book: " << at_restart.book.received() << " transfers received, "
            << bank::open_sagas(at_restart.book) << " sagas still in flight\n";

  std::cout << "3. Finishing the open sagas and submitting the rest.\n";
  submit(system, transfers, false);
  const auto audit = wait_until_settled(system);
  std::size_t completed = 0, refused = 0, refunded = 0;
  for (auto s : audit.book.sagas) {
    completed += s == bank::saga::completed;
    refused += s == bank::saga::refused;
    refunded += s == bank::saga::refunded;
  }
  std::int64_t money = 0;
  for (const auto& a : audit.accounts) money += a.balance;
  std::cout << "   " << completed << " completed, " << refused << " refused (insufficient funds), " << refunded
            << " refunded (deposit refused)\n";

  const auto problems = bank::check_invariants(audit, accounts * opening_balance);
  std::cout << "4. Checking the books: total money " << money << " (expected " << accounts * opening_balance << ")\n";
  for (const auto& p : problems) std::cout << "   PROBLEM: " << p << '\n';
  if (!problems.empty() || audit.book.received() != transfers) {
    std::cout << "   invariant violated\n";
    return 1;
  }
  std::cout << "   money conserved; every transfer applied exactly once (withdrawn once, deposited or refunded once)\n"
            << "   look inside: durable_bank inspect list " << path << "  (or dump/dot " << path << " teller)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string self = std::filesystem::canonical("/proc/self/exe").string();
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "demo" && argc == 3) return demo(self, argv[2]);
    if (command == "run" && argc == 4) return run(argv[2], std::stoull(argv[3]));
    if (command == "inspect") return revenant::inspect_main(argc - 1, argv + 1, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "durable_bank: " << e.what() << '\n';
    return 1;
  }
  std::cerr << "usage: durable_bank demo <store-dir> | durable_bank run <store-dir> <transfers> |\n"
               "       durable_bank inspect list|dump|dot <store-dir> [actor]\n";
  return 2;
}
