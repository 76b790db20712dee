// Two nodes in two processes, exactly once between them: a durable clerk on node a (this
// process) writes numbered entries, one per step, to a durable ledger that lives on node b (a
// child process). Node b is killed with SIGKILL while entries are flowing and started again; the
// ledger ends with every entry once, in order. Nothing in the actors' code says where the other
// lives: `find` by name, and placement (`home_of`), decide.
//
//   node_pair demo <dir>     runs it (stores in <dir>/a and <dir>/b, links on 127.0.0.1)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "examples/example_nodes.hpp"
#include "runtime/actor_system.hpp"

namespace {

using namespace std::chrono_literals;
using revenant::context;
using revenant::message;

struct entry {
  std::int64_t n = 0;
  template <class A>
  void serialize(A& a) {
    a(n);
  }
};
struct write_entries {
  std::int64_t total = 0;
  template <class A>
  void serialize(A& a) {
    a(total);
  }
};
struct how_many {
  template <class A>
  void serialize(A&) {}
};
struct count_is {
  std::int64_t taken = 0;   // entries taken, 1, 2, 3... each once
  std::int64_t broken = 0;  // entries that came twice or out of order (none, ever)
  template <class A>
  void serialize(A& a) {
    a(taken, broken);
  }
};
const revenant::message_type<entry> entry_type{"node_pair.entry"};
const revenant::message_type<write_entries> write_entries_type{"node_pair.write_entries"};
const revenant::message_type<how_many> how_many_type{"node_pair.how_many"};
const revenant::message_type<count_is> count_is_type{"node_pair.count_is"};

// The ledger (on b): takes entries in order and counts them.
void ledger_body(context& ctx, const message& m, const std::shared_ptr<count_is>& s) {
  if (const auto* e = m.get_if<entry>()) {
    if (e->n == s->taken + 1)
      ++s->taken;
    else
      ++s->broken;
  } else if (m.is<how_many>()) {
    ctx.reply(*s);
  }
}
const revenant::function<void(context&, const message&), ledger_body> ledger_fn{"node_pair.ledger"};

// The clerk (on a): one entry to the ledger per step, then it tells itself to go on.
struct clerk_state {
  revenant::actor_ref ledger;
  std::int64_t next = 1;
  std::int64_t total = 0;
  template <class A>
  void serialize(A& a) {
    a(ledger, next, total);
  }
};
void clerk_body(context& ctx, const message& m, const std::shared_ptr<clerk_state>& s) {
  if (const auto* w = m.get_if<write_entries>()) s->total = w->total;
  if (s->next > s->total) return;
  ctx.tell(s->ledger, entry{s->next++});
  ctx.tell(ctx.self(), write_entries{s->total});
}
const revenant::function<void(context&, const message&), clerk_body> clerk_fn{"node_pair.clerk"};

revenant::actor_system_config node(const std::string& self, const std::string& peer, std::uint16_t port,
                                   std::uint16_t peer_port) {
  return examples::two_node_config("node_pair", self, peer, port, peer_port);
}

// The first of prefix0, prefix1, ... whose home is node `home`.
std::string name_on(revenant::actor_system& system, const std::string& prefix, const std::string& home) {
  for (int i = 0;; ++i)
    if (system.home_of(prefix + std::to_string(i)) == home) return prefix + std::to_string(i);
}

// Node b, in a child process: makes the ledger if its store has none, says "up", and serves
// until its standard input closes.
int serve_b(const std::string& dir, std::uint16_t port, std::uint16_t a_port) {
  revenant::durable_config store;
  store.path = dir + "/b";
  revenant::actor_system b(store, node("b", "a", port, a_port));
  const std::string ledger = name_on(b, "ledger/", "b");
  if (!b.find(ledger)) b.spawn_durable(ledger, ledger_fn.bind(std::make_shared<count_is>()));
  std::cout << "up" << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
  }
  return 0;
}

// Asks the ledger (on b, over the link) how far it is; nothing while b is down.
std::optional<count_is> ask_ledger(revenant::actor_system& a, const std::string& ledger) {
  try {
    return a.ask<count_is>(ledger, how_many{}, 1s).get();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

int demo(const std::string& self, const std::string& dir) {
  constexpr std::int64_t total = 3000;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::uint16_t a_port = examples::free_port(), b_port = examples::free_port();
  revenant::durable_config store;
  store.path = dir + "/a";
  revenant::actor_system a(store, node("a", "b", a_port, b_port));
  const std::string ledger = name_on(a, "ledger/", "b");
  const std::string clerk = name_on(a, "clerk/", "a");
  std::cout << "1. Node a (this process) and node b (a child process) on 127.0.0.1. By placement, \"" << ledger
            << "\" lives on b, \"" << clerk << "\" on a.\n";
  examples::child b = examples::start_node(self, {"serve-b", dir, std::to_string(b_port), std::to_string(a_port)});

  auto state = std::make_shared<clerk_state>();
  state->ledger = a.find(ledger);
  a.spawn_durable(clerk, clerk_fn.bind(state)).tell(write_entries{total});
  std::cout << "2. The clerk writes " << total << " entries to the ledger, one per step, each committed to a's outbox "
            << "with the step.\n";
  std::optional<count_is> seen;
  const auto started_by = std::chrono::steady_clock::now() + 30s;
  while ((!(seen = ask_ledger(a, ledger)) || seen->taken < total / 3) && std::chrono::steady_clock::now() < started_by)
    std::this_thread::sleep_for(2ms);
  kill(b.pid, SIGKILL);
  waitpid(b.pid, nullptr, 0);
  close(b.to);
  std::cout << "3. Node b killed with SIGKILL once its ledger had taken " << seen->taken << " (entries still flowing).\n";

  b = examples::start_node(self, {"serve-b", dir, std::to_string(b_port), std::to_string(a_port)});
  std::cout << "4. Node b started again on its store: the link comes back, a sends again what b had not "
               "acknowledged, b drops what it had taken.\n";
  const auto until = std::chrono::steady_clock::now() + 60s;
  while ((!(seen = ask_ledger(a, ledger)) || seen->taken + seen->broken < total) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  close(b.to);  // node b stops
  waitpid(b.pid, nullptr, 0);
  if (!seen || seen->taken != total || seen->broken != 0) {
    std::cout << "   PROBLEM: the ledger took " << (seen ? seen->taken : -1) << " of " << total << " in order, "
              << (seen ? seen->broken : -1) << " twice or out of order\n";
    return 1;
  }
  std::cout << "5. The ledger took all " << total << " entries, each once, in order.\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return examples::run_two_node_example(argc, argv, "node_pair", demo, serve_b); }
