// The ordering rules of docs/migration.md 9, on message_order alone: what is handled at once,
// what is held, what a handled message lets through, and what the record keeps.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <csignal>
#include <cstring>
#include <future>
#include <memory>
#include <thread>

#include <unistd.h>

#include "actors/actor.hpp"
#include "actors/internal/access.hpp"
#include "actors/message.hpp"
#include "actors/message_type.hpp"
#include "runtime/actor_system.hpp"
#include "runtime/internal/message_order.hpp"
#include "storage/envelope.hpp"
#include "storage/internal/keys.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/durable_actors.hpp"
#include "tests/support/raw_store.hpp"
#include "tests/support/wait.hpp"

using namespace revenant;
using namespace revenant::detail;
using namespace revenant::test;
using namespace std::chrono_literals;

namespace {

constexpr std::chrono::nanoseconds timeout = 30s;
constexpr std::int64_t second = 1'000'000'000;

struct probe {
  std::uint64_t n = 0;
};

message_ptr numbered(std::uint64_t n) {
  message_ptr m = make_message<probe>(probe{n});
  message_fields::order(*m) = n;
  return m;
}

// Offers the message numbered n of sender; returns whether it is handled now (and so counted).
bool offer(message_order& order, const std::string& sender, std::uint64_t n, std::int64_t now = 100 * second) {
  message_ptr m = numbered(n);
  return !order.hold(m, sender, n, now, timeout);
}

std::uint64_t number_of(const message_ptr& m) { return m ? m->get_if<probe>()->n : 0; }

}  // namespace

TEST_CASE("a sender's numbers are handled in order: early ones wait, and each handled one lets the next through",
          "[order]") {
  message_order order;
  CHECK(offer(order, "p", 1));
  CHECK_FALSE(offer(order, "p", 3));  // 2 is missing
  CHECK_FALSE(offer(order, "p", 4));
  CHECK(order.next_in_line("p") == nullptr);  // still waiting for 2
  CHECK(offer(order, "q", 1));                // another sender is not held up
  CHECK(offer(order, "p", 2));
  message_ptr next = order.next_in_line("p");
  CHECK(number_of(next) == 3);
  CHECK(order.next_in_line("p") == nullptr);  // 3 is not handled yet
  CHECK(offer(order, "p", 3));                // as the run takes it again
  CHECK(number_of(order.next_in_line("p")) == 4);
  CHECK(offer(order, "p", 4));
  CHECK(order.next_in_line("p") == nullptr);
}

TEST_CASE("late and restarted numbers are handled, never dropped", "[order]") {
  message_order order;
  for (std::uint64_t n = 1; n <= 5; ++n) REQUIRE(offer(order, "p", n));
  CHECK(offer(order, "p", 3));  // late: handled, the count stays at 5
  CHECK_FALSE(offer(order, "p", 7));
  CHECK(offer(order, "p", 6));
  CHECK(number_of(order.next_in_line("p")) == 7);
  CHECK(offer(order, "p", 1));  // the sender forgot this actor and starts again
  CHECK(offer(order, "p", 2));
}

TEST_CASE("a sender with no count starts one at its first number, unless the actor moved lately", "[order]") {
  message_order order;
  CHECK(offer(order, "stranger", 17, 100 * second));  // stopped and spawned again, or dead letters before
  CHECK(offer(order, "stranger", 18, 100 * second));

  message_order moved;
  moved.set_moved(90 * second);
  CHECK_FALSE(offer(moved, "new", 2, 100 * second));  // 1 may be on the longer path
  CHECK(offer(moved, "new", 1, 100 * second));
  CHECK(number_of(moved.next_in_line("new")) == 2);
  // Long after the move, a stranger's first number starts its count again.
  CHECK(offer(moved, "later", 9, 90 * second + timeout.count()));
}

TEST_CASE("a held message that waited past the timeout is handed back, the gap given up", "[order]") {
  message_order order;
  REQUIRE(offer(order, "p", 1));
  REQUIRE_FALSE(offer(order, "p", 4));
  REQUIRE_FALSE(offer(order, "p", 6));
  CHECK(order.take_overdue(1h).empty());
  auto overdue = order.take_overdue(0ns);
  REQUIRE(overdue.size() == 1);
  CHECK(overdue[0].sender == "p");
  CHECK(overdue[0].missing_from == 2);
  CHECK(overdue[0].missing_to == 3);
  CHECK(number_of(overdue[0].m) == 4);
  CHECK(offer(order, "p", 4));  // next in line now
  CHECK(order.next_in_line("p") == nullptr);
  // What is still held goes back whole when the actor finishes or moves.
  const auto held = order.take_held();
  REQUIRE(held.size() == 1);
  CHECK(number_of(held[0]) == 6);
}

TEST_CASE("numbers per recipient: a withdrawn send gives its number back", "[order]") {
  message_order order;
  CHECK(order.number("x", 0) == 1);
  CHECK(order.number("x", 0) == 2);
  CHECK(order.number("y", 0) == 1);
  order.withdraw("x", 2);
  CHECK(order.number("x", 0) == 2);
  order.withdraw("x", 1);  // not the last number given: kept
  CHECK(order.number("x", 0) == 3);
}

TEST_CASE("the record keeps recent correspondents and those with held messages, and restores them", "[order]") {
  message_order order;
  (void)order.number("old-recipient", 1 * second);
  (void)order.number("recipient", 5000 * second);
  REQUIRE(offer(order, "old-sender", 1, 1 * second));
  order.set_moved(1 * second);
  REQUIRE_FALSE(offer(order, "waiting", 5, 1 * second));  // nothing handled, but a message held
  REQUIRE(offer(order, "sender", 1, 5000 * second));
  REQUIRE(offer(order, "sender", 2, 5000 * second));
  order.set_moved(4000 * second);
  const order_image image = order.image(5000 * second, 3600s);
  CHECK(image.moved == 4000 * second);
  REQUIRE(image.sent.size() == 1);
  CHECK(image.sent[0].name == "recipient");
  CHECK(image.sent[0].last == 1);
  std::vector<std::string> handled;
  for (const auto& e : image.handled) handled.push_back(e.name);
  CHECK(handled.size() == 1);
  CHECK(handled[0] == "sender");

  message_order restored;
  restored.restore(order_image{image});
  CHECK(restored.number("recipient", 0) == 2);
  CHECK(restored.number("old-recipient", 0) == 1);  // forgotten: starts again
  CHECK(offer(restored, "sender", 3, 5000 * second));
  CHECK_FALSE(offer(restored, "sender", 5, 5000 * second));
}

// ---- a real crash with a held message ------------------------------------------------------------

namespace {

struct entry {
  std::int64_t n = 0;
  template <class A>
  void serialize(A& a) {
    a(n);
  }
};
struct send_entries {
  std::int64_t count = 0;
  template <class A>
  void serialize(A& a) {
    a(count);
  }
};
struct get_log {
  template <class A>
  void serialize(A&) {}
};
struct order_log {
  std::vector<std::int64_t> got;
  std::int64_t sent = 0;
  template <class A>
  void serialize(A& a) {
    a(got, sent);
  }
};
const message_type<entry> entry_type{"test.order.entry"};
const message_type<send_entries> send_entries_type{"test.order.send_entries"};
const message_type<get_log> get_log_type{"test.order.get_log"};
const message_type<order_log> order_log_type{"test.order.log"};

// "log" notes every entry in the order it handles them; "p" sends it the next entries.
void log_body(context& ctx, const message& m, const std::shared_ptr<order_log>& s) {
  if (const auto* e = m.get_if<entry>()) s->got.push_back(e->n);
  if (m.is<get_log>()) ctx.reply(*s);
}
const revenant::function<void(context&, const message&), log_body> log_fn{"test.order.log"};
struct sender_state {
  actor_ref to;
  std::int64_t sent = 0;
  template <class A>
  void serialize(A& a) {
    a(to, sent);
  }
};
void sender_body(context& ctx, const message& m, const std::shared_ptr<sender_state>& s) {
  if (const auto* k = m.get_if<send_entries>())
    for (std::int64_t i = 0; i < k->count; ++i) ctx.tell(s->to, entry{++s->sent});
}
const revenant::function<void(context&, const message&), sender_body> sender_fn{"test.order.sender"};
// A sender of entries to the log (spawned after it).
void spawn_sender(actor_system& system) {
  auto state = std::make_shared<sender_state>();
  state->to = system.find("log");
  system.spawn_durable("p", sender_fn.bind(state));
}

std::vector<std::int64_t> log_of(actor_system& system) {
  return system.ask<order_log>("log", get_log{}, 5s).get().got;
}

// A store where p has sent the log its first `count` entries, all handled.
void log_with_entries(const std::string& path, std::int64_t count) {
  actor_system system(store_at(path), actor_system_config{1});
  system.spawn_durable("log", log_fn.bind(std::make_shared<order_log>()));
  spawn_sender(system);
  system.send("p", send_entries{count}).get();
  REQUIRE(wait_until([&] { return log_of(system).size() == static_cast<std::size_t>(count); }, 5s));
  system.shutdown(shutdown_policy::drain);
}

// Writes entry{n}, numbered n by "p", to the log's stored mailbox, as a link or a forwarding
// node would have committed it.
void store_entry(const std::string& path, std::int64_t n) {
  raw_store db(path);
  const auto next = db.get("default", "next_seq");
  REQUIRE(next);
  std::uint64_t seq;
  std::memcpy(&seq, next->data(), 8);
  message_ptr m = make_message<entry>(entry{n});
  message_fields::order(*m) = static_cast<std::uint64_t>(n);
  db.put("mailbox", mailbox_key("log", seq), encode_envelope(*m, "p"));
  const std::uint64_t after = seq + 1;
  db.put("default", "next_seq", std::string(reinterpret_cast<const char*>(&after), 8));
}

// Opens the store, lets the log take what its mailbox holds, and dies with SIGKILL.
int open_then_die(const std::vector<std::string>& args) {
  actor_system system(store_at(args.at(0), recovery_mode::eager), actor_system_config{1});
  const auto got = log_of(system);  // the log's run took the stored entry before this ask
  write_file(args.at(1), std::to_string(got.size()));
  system.sync();
  ::kill(::getpid(), SIGKILL);
  return 99;  // not reached
}
const bool open_then_die_registered = register_child("order.open_then_die", open_then_die);

}  // namespace

TEST_CASE("a message held for an earlier one stays stored through a crash, and is handled after it", "[order][crash]") {
  temp_dir dir;
  const std::string path = dir.path("store");
  log_with_entries(path, 2);
  // p's fourth message reached the log before its third (it took a shorter path).
  store_entry(path, 4);
  const child_result child = run_child({"order.open_then_die", path, dir.path("seen")});
  REQUIRE(child.signal == SIGKILL);
  CHECK(read_file(dir.path("seen")) == "2");  // 4 was held, not handled
  {
    raw_store db(path);
    CHECK(db.keys("mailbox").size() == 1);  // and not consumed
  }
  store_entry(path, 3);
  actor_system system(store_at(path), actor_system_config{1});
  REQUIRE(wait_until([&] { return log_of(system).size() == 4; }, 5s));
  CHECK(log_of(system) == std::vector<std::int64_t>{1, 2, 3, 4});
  CHECK(system.order_gaps() == 0);
}

TEST_CASE("a held message whose predecessor never comes is handled after order_timeout, the gap counted",
          "[order]") {
  temp_dir dir;
  const std::string path = dir.path("store");
  log_with_entries(path, 1);
  store_entry(path, 3);  // 2 became a dead letter somewhere, say
  durable_config config = store_at(path);
  config.order_timeout = 300ms;
  actor_system system(config, actor_system_config{1});
  CHECK(log_of(system) == std::vector<std::int64_t>{1});
  REQUIRE(wait_until([&] { return log_of(system).size() == 2; }, 5s));
  CHECK(log_of(system) == std::vector<std::int64_t>{1, 3});
  CHECK(system.order_gaps() == 1);
  // The count went on from 3: p's next message is handled at once.
  system.send("p", send_entries{1}).get();
  REQUIRE(wait_until([&] { return log_of(system).size() == 3; }, 5s));
  CHECK(log_of(system) == std::vector<std::int64_t>{1, 3, 2});  // p's own counter says 2: taken as late
}
