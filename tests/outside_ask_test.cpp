// Asking an actor from outside the system (actor_system::ask): a future for the reply, and an
// exception for each way an ask can end without one.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "actors/actor.hpp"
#include "runtime/actor_system.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/durable_actors.hpp"
#include "tests/support/messages.hpp"

using namespace revenant;
using namespace revenant::test;
using namespace std::chrono_literals;

namespace {

struct plus {
  int a = 0, b = 0;
};
struct sum {
  int value = 0;
};
struct unregistered {};

void plus_body(context& ctx, const message& m) {
  if (const auto* p = m.get_if<plus>()) ctx.reply(sum{p->a + p->b});
}
const revenant::function<void(context&, const message&), plus_body> plus_fn{"test.outside.plus"};

void silent_body(context&, const message&) {}
const revenant::function<void(context&, const message&), silent_body> silent_fn{"test.outside.silent"};

// Holds its first message until the gate opens; then stops (if told to) or carries on.
struct gate {
  std::mutex mutex;
  std::condition_variable changed;
  bool holding = false, open = false;
  template <class A>
  void serialize(A&) {}
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    changed.notify_all();
  }
  bool wait_holding() {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 20s, [&] { return holding; });
  }
};
void gated_body(context& ctx, const message&, const std::shared_ptr<gate>& g, bool stop_after) {
  std::unique_lock lock(g->mutex);
  g->holding = true;
  g->changed.notify_all();
  g->changed.wait(lock, [&] { return g->open; });
  if (stop_after) ctx.stop();
}
const revenant::function<void(context&, const message&), gated_body> gated_fn{"test.outside.gated"};

// A durable actor that keeps where to answer each get, and answers them all on add.
struct waiting_list {
  std::vector<reply_address> askers;
  std::int64_t total = 0;
  template <class A>
  void serialize(A& a) {
    a(askers, total);
  }
};
void later_body(context& ctx, const message& m, const std::shared_ptr<waiting_list>& w) {
  if (m.is<get>()) {
    if (!ctx.sender()) throw std::logic_error("an outside ask came without a sender to reply to");
    w->askers.push_back(ctx.reply_later());
  } else if (const auto* a = m.get_if<add>()) {
    w->total += a->n;
    for (const auto& who : w->askers) ctx.reply_to(who, value_is{w->total});
    w->askers.clear();
  }
}
const revenant::function<void(context&, const message&), later_body> later_fn{"test.outside.later"};

void fragile_body(context& ctx, const message& m) {
  if (m.is<quit>()) throw std::runtime_error("cannot quit");
  if (m.is<get>()) ctx.reply(value_is{0});
}
const revenant::function<void(context&, const message&), fragile_body> fragile_fn{"test.outside.fragile"};

actor_system_config two_workers() { return actor_system_config{2}; }

template <class R>
bool ready_within(std::future<R>& f, std::chrono::milliseconds bound) {
  return f.wait_for(bound) == std::future_status::ready;
}

}  // namespace

TEST_CASE("an ask from outside the system returns the reply through a future") {
  actor_system system(two_workers());
  system.spawn("plus", plus_fn.bind());
  std::future<sum> answer = system.ask<sum>("plus", plus{2, 3}, 5s);
  REQUIRE(ready_within(answer, 10s));
  CHECK(answer.get().value == 5);
  // Many at once, each to its own future.
  std::vector<std::future<sum>> answers;
  for (int i = 0; i < 1000; ++i) answers.push_back(system.ask<sum>("plus", plus{i, 1}, 5s));
  for (int i = 0; i < 1000; ++i) CHECK(answers[i].get().value == i + 1);
  CHECK(system.live_actors() == 1);  // no actor was made for them
}

TEST_CASE("an outside ask without a reply fails with ask_failed timeout at its deadline") {
  actor_system system(two_workers());
  system.spawn("silent", silent_fn.bind());
  const auto asked = std::chrono::steady_clock::now();
  std::future<sum> answer = system.ask<sum>("silent", plus{1, 1}, 50ms);
  REQUIRE(ready_within(answer, 10s));
  CHECK(std::chrono::steady_clock::now() - asked >= 50ms);
  try {
    answer.get();
    FAIL("a silent actor answered");
  } catch (const ask_failed& e) {
    CHECK(e.code() == ask_errc::timeout);
    CHECK_THAT(e.what(), Catch::Contains("\"silent\"") && Catch::Contains("no reply within the timeout"));
  }
}

TEST_CASE("outside asks that time out leave nothing behind, and answered ones do not hold shutdown") {
  actor_system system(two_workers());
  system.spawn("silent", silent_fn.bind());
  system.spawn("plus", plus_fn.bind());
  std::vector<std::future<sum>> lost;
  for (int i = 0; i < 2000; ++i) lost.push_back(system.ask<sum>("silent", plus{}, 1ms));
  for (auto& f : lost) CHECK_THROWS_AS(f.get(), ask_failed);
  CHECK(system.live_actors() == 2);
  CHECK(system.ask<sum>("plus", plus{1, 2}, 10s).get().value == 3);  // would time out in 10 s
  const auto started = std::chrono::steady_clock::now();
  system.shutdown(shutdown_policy::drain);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("an outside ask to an actor that stops before replying fails with target_stopped") {
  actor_system system(two_workers());
  auto g = std::make_shared<gate>();
  actor_ref stopper = system.spawn("stopper", gated_fn.bind(g, true));
  stopper.tell(plus{});
  REQUIRE(g->wait_holding());
  std::future<sum> answer = system.ask<sum>("stopper", plus{1, 1}, 60s);  // queued behind it
  g->release();
  REQUIRE(ready_within(answer, 10s));  // at once, not at the timeout
  try {
    answer.get();
    FAIL("a stopped actor answered");
  } catch (const ask_failed& e) {
    CHECK(e.code() == ask_errc::target_stopped);
  }
}

TEST_CASE("an outside ask refused by a full mailbox fails with mailbox_full") {
  actor_system system(two_workers());
  auto g = std::make_shared<gate>();
  supervision bounded;
  bounded.mailbox_capacity = 1;
  actor_ref sink = system.spawn("sink", gated_fn.bind(g, false), bounded);
  sink.tell(plus{});
  REQUIRE(g->wait_holding());
  sink.tell(plus{});  // the one slot
  std::future<sum> answer = system.ask<sum>("sink", plus{}, 60s);
  REQUIRE(ready_within(answer, 10s));
  try {
    answer.get();
    FAIL("an ask got past a full mailbox");
  } catch (const ask_failed& e) {
    CHECK(e.code() == ask_errc::mailbox_full);
  }
  g->release();
}

TEST_CASE("an outside ask answered with another type fails with unexpected_reply naming both types") {
  actor_system system(two_workers());
  system.spawn("plus", plus_fn.bind());
  std::future<int> answer = system.ask<int>("plus", plus{1, 1}, 5s);
  try {
    answer.get();
    FAIL("a sum was taken for an int");
  } catch (const unexpected_reply& e) {
    CHECK_THAT(e.what(), Catch::Contains("\"plus\"") && Catch::Contains("expected a reply of type int") &&
                             Catch::Contains("sum"));
  }
}

TEST_CASE("an outside ask to no actor, with a negative timeout or after shutdown fails at once") {
  actor_system system(two_workers());
  system.spawn("plus", plus_fn.bind());
  CHECK_THROWS_WITH(system.ask<sum>("nobody", plus{}, 1s).get(), Catch::Contains("no actor named \"nobody\""));
  CHECK_THROWS_AS(system.ask<sum>("nobody", plus{}, 1s).get(), std::invalid_argument);
  CHECK_THROWS_AS(system.ask<sum>("plus", plus{}, -1s).get(), std::invalid_argument);
  system.shutdown();
  CHECK_THROWS_AS(system.ask<sum>("plus", plus{}, 1s).get(), std::logic_error);
}

TEST_CASE("a pending outside ask is answered when the system shuts down") {
  std::future<sum> answer;
  {
    actor_system system(two_workers());
    system.spawn("silent", silent_fn.bind());
    answer = system.ask<sum>("silent", plus{}, 60s);
    system.shutdown(shutdown_policy::drop);
  }
  REQUIRE(ready_within(answer, 10s));
  try {
    answer.get();
    FAIL("answered by an actor that never replied");
  } catch (const ask_failed& e) {
    CHECK(e.code() == ask_errc::target_stopped);
  }
}

TEST_CASE("a durable actor answers an outside ask, at once or later through a kept reply address", "[durable]") {
  temp_dir dir;
  actor_system system(store_at(dir.path("db")), two_workers());
  system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>()));
  system.spawn_durable("later", later_fn.bind(std::make_shared<waiting_list>()));
  system.send("counter", add{5}).get();
  CHECK(system.ask<value_is>("counter", get{}, 10s).get().value == 5);
  std::future<value_is> first = system.ask<value_is>("later", get{}, 10s);
  std::future<value_is> second = system.ask<value_is>("later", get{}, 10s);
  system.sync();
  CHECK(first.wait_for(50ms) == std::future_status::timeout);  // kept, not answered yet
  system.send("later", add{7}).get();
  CHECK(first.get().value == 7);
  CHECK(second.get().value == 7);
  CHECK(system.quarantined().empty());
  // A type that cannot be written to a durable mailbox is refused.
  CHECK_THROWS_WITH(system.ask<value_is>("counter", unregistered{}, 1s).get(), Catch::Contains("not registered"));
}

TEST_CASE("an outside ask to a quarantined actor fails with actor_quarantined", "[durable][quarantine]") {
  temp_dir dir;
  actor_system system(store_at(dir.path("db")), two_workers());
  system.spawn_durable("fragile", fragile_fn.bind());
  system.send("fragile", quit{}).get();  // its behavior throws: quarantined
  for (int i = 0; i < 10'000 && !system.quarantine_of("fragile"); ++i) std::this_thread::sleep_for(1ms);
  try {
    system.ask<value_is>("fragile", get{}, 10s).get();
    FAIL("a quarantined actor was asked");
  } catch (const actor_quarantined& e) {
    CHECK(e.name() == "fragile");
    CHECK_THAT(e.reason(), Catch::Contains("cannot quit"));
  }
}
