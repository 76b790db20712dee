// Live migration between two processes, under load. Node a (this process) and node b (a child
// process) run the durable bank of bank_model.hpp, its accounts spread over both by placement.
// A client keeps submitting transfers while two actors move back and forth between the nodes:
// the teller, whose open sagas are pending asks (continuations with deadlines) in its state, and
// a watchman, whose periodic timer asks an account for its balance at every tick. When the
// client stops, every saga runs to its end, and the books must balance: money conserved, every
// transfer applied once; the watchman's timer fired at both places and every ask it made was
// answered once.
//
//   migration_demo demo <dir>     runs it (stores in <dir>/a and <dir>/b, links on 127.0.0.1)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "examples/bank_model.hpp"
#include "examples/example_nodes.hpp"
#include "runtime/actor_system.hpp"

namespace {

using namespace std::chrono_literals;
using revenant::context;
using revenant::message;

constexpr std::uint32_t accounts = 6;
constexpr std::int64_t balance = 1000;
constexpr std::int64_t cap = 1200;

// ---- the watchman: a periodic timer, and an ask at every tick -------------------------------

struct start_watch {
  template <class A>
  void serialize(A&) {}
};
struct tick {
  template <class A>
  void serialize(A&) {}
};
struct watch_report {
  std::int64_t ticks = 0;     // timer firings
  std::int64_t asked = 0;     // asks made (one per tick)
  std::int64_t answered = 0;  // answers taken (each once)
  std::int64_t failed = 0;    // asks that timed out
  template <class A>
  void serialize(A& a) {
    a(ticks, asked, answered, failed);
  }
};
struct how_is_it {
  template <class A>
  void serialize(A&) {}
};
const revenant::message_type<start_watch> start_watch_type{"migration_demo.start_watch"};
const revenant::message_type<tick> tick_type{"migration_demo.tick"};
const revenant::message_type<watch_report> watch_report_type{"migration_demo.watch_report"};
const revenant::message_type<how_is_it> how_is_it_type{"migration_demo.how_is_it"};

struct watch_state {
  revenant::actor_ref account;
  watch_report r;
  template <class A>
  void serialize(A& a) {
    a(account, r);
  }
};
using watch_ptr = std::shared_ptr<watch_state>;

void watch_answered(context&, const message& m, const watch_ptr& s) {
  if (m.is<bank::account_state>())
    ++s->r.answered;
  else
    ++s->r.failed;
}
const revenant::function<void(context&, const message&), watch_answered> watch_answered_fn{"migration_demo.answered"};

void watchman_body(context& ctx, const message& m, const watch_ptr& s) {
  if (m.is<start_watch>()) {
    ctx.every(50ms, tick{});
  } else if (m.is<tick>()) {
    ++s->r.ticks;
    ++s->r.asked;
    ctx.ask(s->account, bank::audit{}, watch_answered_fn.bind(s), 10s);
  } else if (m.is<how_is_it>()) {
    ctx.reply(s->r);
  }
}
const revenant::function<void(context&, const message&), watchman_body> watchman_fn{"migration_demo.watchman"};

// ---- the nodes ------------------------------------------------------------------------------

revenant::actor_system_config node(const std::string& self, const std::string& peer, std::uint16_t port,
                                   std::uint16_t peer_port) {
  return examples::two_node_config("migration_demo", self, peer, port, peer_port);
}

revenant::durable_config store_in(const std::string& path) {
  revenant::durable_config store;
  store.path = path;
  return store;
}

// Makes the accounts whose home is node self, if its store does not have them.
void open_accounts(revenant::actor_system& system, const std::string& self) {
  for (std::uint32_t i = 0; i < accounts; ++i) {
    const std::string name = bank::account_name(i);
    if (system.home_of(name) == self && !system.find(name))
      system.spawn_durable(name, bank::make_account(balance, cap));
  }
}

// Node b, in a child process: its accounts, then it serves until its standard input closes.
int serve_b(const std::string& dir, std::uint16_t port, std::uint16_t a_port) {
  revenant::actor_system b(store_in(dir + "/b"), node("b", "a", port, a_port));
  open_accounts(b, "b");
  std::cout << "up" << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
  }
  return 0;
}

// The teller's book, or nothing if no answer came in time (an ask that reaches the teller while
// it moves is answered from its new node, after the move): asked again, then.
std::atomic<int> unanswered_asks{0};
std::optional<bank::ledger> book_of(revenant::actor_system& a) {
  try {
    return a.ask<bank::ledger>(bank::teller_name, bank::audit{}, 300ms).get();
  } catch (const std::exception&) {
    ++unanswered_asks;
    return std::nullopt;
  }
}

// Sends transfer id until a node says it is in the teller's mailbox (a send that a moved
// teller's link lost is sent again: the teller ignores an id it has).
void submit(revenant::actor_system& a, std::uint64_t id) {
  for (;;) {
    try {
      a.send(bank::teller_name, bank::make_transfer(id, accounts)).get();
      return;
    } catch (const revenant::send_unconfirmed&) {
      std::this_thread::sleep_for(10ms);
    }
  }
}

int demo(const std::string& self, const std::string& dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::uint16_t a_port = examples::free_port(), b_port = examples::free_port();
  revenant::actor_system a(store_in(dir + "/a"), node("a", "b", a_port, b_port));
  open_accounts(a, "a");
  examples::child b = examples::start_node(self, {"serve-b", dir, std::to_string(b_port), std::to_string(a_port)});
  std::cout << "1. Node a (this process) and node b (a child process) on 127.0.0.1, the bank's " << accounts
            << " accounts spread over both by placement.\n";
  std::vector<revenant::actor_ref> refs;
  for (std::uint32_t i = 0; i < accounts; ++i) {
    const std::string name = bank::account_name(i);
    while (true) {  // its node may still be starting
      try {
        a.ask<bank::account_state>(name, bank::audit{}, 1s).get();
        break;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(20ms);
      }
    }
    refs.push_back(a.find(name));
  }
  const std::string teller_home = a.home_of(bank::teller_name);
  a.spawn_durable(bank::teller_name, bank::make_teller(refs));
  auto watch = std::make_shared<watch_state>();
  watch->account = refs.back();
  a.spawn_durable("watchman", watchman_fn.bind(watch)).tell(start_watch{});
  std::cout << "2. The teller runs on a (its placement's home is " << teller_home
            << "); the watchman on a, its timer firing every 50 ms, asking " << bank::account_name(accounts - 1)
            << " (on " << a.home_of(bank::account_name(accounts - 1)) << ") at every tick.\n";

  // The client: transfers in order, 16 at a time, at most 32 sagas open at once. The teller takes
  // ids in order only (a gap is ignored, and so is an id it has): a client that finds the book
  // behind what it sent sends again from where the book stands. Across a move, sends from outside
  // can arrive out of order (docs/migration.md 8: only durable senders' messages are numbered).
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> submitted{0}, sent_again{0};
  std::thread client([&] {
    std::uint64_t next = 1;
    while (!stop.load()) {
      for (std::uint64_t id = next; id < next + 16; ++id) submit(a, id);
      next += 16;
      submitted.store(next - 1);
      std::optional<bank::ledger> book;
      while (!stop.load() && (!(book = book_of(a)) || bank::open_sagas(*book) > 32)) std::this_thread::sleep_for(2ms);
      if (book && book->received() + 1 < next) {
        std::this_thread::sleep_for(20ms);  // what is on its way arrives
        if ((book = book_of(a)) && book->received() + 1 < next) {
          sent_again += next - 1 - book->received();
          next = book->received() + 1;
        }
      }
    }
  });
  std::cout << "3. A client submits transfers without pause; the teller and the watchman move back and forth:\n";
  const char* where[] = {"b", "a"};
  for (int move = 0; move < 8; ++move) {
    std::this_thread::sleep_for(250ms);
    const std::string to = where[move % 2];
    const std::optional<bank::ledger> before = book_of(a);
    const auto started = std::chrono::steady_clock::now();
    a.migrate(bank::teller_name, to).get();
    const auto teller_took = std::chrono::steady_clock::now() - started;
    a.migrate("watchman", to).get();
    std::cout << "   the teller to " << to << " with "
              << (before ? std::to_string(bank::open_sagas(*before)) : std::string("(its book did not answer in time)"))
              << " sagas open (its pending asks) in "
              << std::chrono::duration_cast<std::chrono::microseconds>(teller_took).count() << " us; the watchman too ("
              << submitted.load() << " transfers submitted so far)\n";
    if (move == 7)
      std::cout << "   The client sent " << sent_again.load() << " transfers again (ids that reached the teller out of "
                << "order across a move and were ignored), and asked for the book again " << unanswered_asks.load()
                << " times (asks not answered within 300 ms, while the teller moved).\n";
  }
  stop.store(true);
  client.join();

  const auto until = std::chrono::steady_clock::now() + 60s;
  std::optional<bank::ledger> book;
  while ((!(book = book_of(a)) || bank::open_sagas(*book) != 0) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  const watch_report watched = a.ask<watch_report>("watchman", how_is_it{}, 5s).get();
  const bank::audit_result audit = bank::run_audit(a, accounts);
  close(b.to);  // node b stops
  waitpid(b.pid, nullptr, 0);
  std::size_t completed = 0, refused = 0, refunded = 0;
  for (auto s : audit.book.sagas) {
    completed += s == bank::saga::completed;
    refused += s == bank::saga::refused;
    refunded += s == bank::saga::refunded;
  }
  std::cout << "4. The client stopped; every saga ran to its end: " << audit.book.received() << " transfers, "
            << completed << " completed, " << refused << " refused, " << refunded << " refunded.\n";
  std::cout << "   The watchman's timer fired " << watched.ticks << " times; " << watched.answered << " of its "
            << watched.asked << " asks answered (" << watched.failed << " timed out, the rest on their way).\n";
  const auto problems = bank::check_invariants(audit, accounts * balance);
  for (const auto& p : problems) std::cout << "   PROBLEM: " << p << "\n";
  const bool watch_ok = watched.ticks > 0 && watched.failed == 0 && watched.answered <= watched.asked &&
                        watched.answered + 2 >= watched.asked;
  if (!watch_ok) std::cout << "   PROBLEM: the watchman's asks were not answered once each\n";
  if (!problems.empty() || !watch_ok) return 1;
  std::cout << "5. The books balance: " << accounts * balance << " in all, every transfer applied once.\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return examples::run_two_node_example(argc, argv, "migration_demo", demo, serve_b); }
