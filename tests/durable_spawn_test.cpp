// Spawning durable actors from inside a behavior (context::spawn_durable): committed with the
// spawning step, exactly once, whatever instant the process dies.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <random>
#include <set>
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

std::string child_name(std::int64_t k) { return "child/" + std::to_string(k); }

// On add{n}: spawns child/<count+1> (a counter) and tells it add{count+1}, n times in one step;
// with n < 0, spawns one child and then throws (the call is rolled back). Answers get with the
// number of children it has spawned.
void spawner_body(context& ctx, const message& m, const tally_ptr& t) {
  if (const auto* a = m.get_if<add>()) {
    for (std::int64_t i = 0; i < std::max<std::int64_t>(a->n, 1); ++i) {
      const std::int64_t k = ++t->total;
      actor_ref child = ctx.spawn_durable(child_name(k), counter_fn.bind(std::make_shared<tally>()));
      ctx.tell(child, add{k});
    }
    if (a->n < 0) throw std::runtime_error("changed my mind");
  } else if (m.is<get>()) {
    ctx.reply(value_is{t->total});
  }
}
const revenant::function<void(context&, const message&), spawner_body> spawner_fn{"test.spawn.spawner"};

// Tries to spawn a durable actor under the name it is sent; answers with what happened.
struct try_name {
  std::string name;
  bool twice = false;  // spawn it twice in the same step
  template <class A>
  void serialize(A& a) {
    a(name, twice);
  }
};
const message_type<try_name> try_name_type{"test.spawn.try_name"};
struct outcome {
  std::string text;
};
void namer_body(context& ctx, const message& m) {
  if (const auto* n = m.get_if<try_name>()) {
    try {
      ctx.spawn_durable(n->name, counter_fn.bind(std::make_shared<tally>()));
      if (n->twice) ctx.spawn_durable(n->name, counter_fn.bind(std::make_shared<tally>()));
      ctx.reply(outcome{"spawned"});
    } catch (const actor_quarantined& e) {
      ctx.reply(outcome{std::string("quarantined: ") + e.what()});
    } catch (const std::invalid_argument& e) {
      ctx.reply(outcome{std::string("invalid_argument: ") + e.what()});
    }
  }
}
const revenant::function<void(context&, const message&), namer_body> namer_fn{"test.spawn.namer"};

void fragile_body(context&, const message& m) {
  if (m.is<quit>()) throw std::runtime_error("fragile");
}
const revenant::function<void(context&, const message&), fragile_body> fragile_fn{"test.spawn.fragile"};

std::int64_t total_of(actor_system& system, const std::string& name) {
  return system.ask<value_is>(name, get{}, 20s).get().value;
}

// The names of the children in the store (read with the store closed by everyone else).
std::set<std::string> stored_children(const std::string& path) {
  store db(path);
  std::set<std::string> names;
  db.for_each_record({"child/", "child0"}, [&](std::string_view name, std::string_view) {  // '0' follows '/'
    names.emplace(name);
    return true;
  });
  return names;
}

}  // namespace

TEST_CASE("a durable actor spawns durable children that exist once its step is committed", "[durable][spawn]") {
  const std::uint32_t every = GENERATE(1u, 4u);  // a record per step, or journals replayed
  temp_dir dir;
  const std::string path = dir.path("db");
  {
    actor_system system(store_at(path, recovery_mode::lazy, every), actor_system_config{2});
    system.spawn_durable("spawner", spawner_fn.bind(std::make_shared<tally>()));
    for (int i = 0; i < 3; ++i) system.send("spawner", add{2}).get();
    CHECK(total_of(system, "spawner") == 6);  // answered after its steps: they are committed
    for (int k = 1; k <= 6; ++k) CHECK(total_of(system, child_name(k)) == k);
    CHECK_FALSE(system.find(child_name(7)));
  }
  CHECK(stored_children(path).size() == 6);
  for (auto mode : {recovery_mode::lazy, recovery_mode::eager}) {
    // Replaying the journal does not spawn them again (which would fail: the names are taken).
    actor_system system(store_at(path, mode, every), actor_system_config{2});
    CHECK(total_of(system, "spawner") == 6);
    for (int k = 1; k <= 6; ++k) CHECK(total_of(system, child_name(k)) == k);
    CHECK(system.quarantined().empty());
  }
}

TEST_CASE("a child spawned in a call that fails is never created, and its name stays free", "[durable][spawn]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  actor_system system(store_at(path), actor_system_config{2});
  system.spawn_durable("spawner", spawner_fn.bind(std::make_shared<tally>()), {restart_policy::resume, 5, 10s});
  system.send("spawner", add{-1}).get();  // spawns child/1, then throws: the spawn is rolled back
  system.send("spawner", add{1}).get();   // resumed with the state the failure left: child/2
  CHECK(total_of(system, "spawner") == 2);
  CHECK(total_of(system, child_name(2)) == 2);
  system.sync();
  CHECK_FALSE(system.find(child_name(1)));
  CHECK(system.quarantined().empty());
  system.spawn_durable(child_name(1), counter_fn.bind(std::make_shared<tally>()));  // the name is free
  system.shutdown();
  CHECK(stored_children(path) == std::set<std::string>{child_name(1), child_name(2)});
}

TEST_CASE("a behavior spawning a durable actor under a taken name gets invalid_argument", "[durable][spawn]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  {
    actor_system system(store_at(path), actor_system_config{2});
    system.spawn_durable("stored", counter_fn.bind(std::make_shared<tally>()));
    system.spawn_durable("broken", fragile_fn.bind());
  }
  actor_system system(store_at(path), actor_system_config{2});
  system.send("broken", quit{}).get();
  for (int i = 0; i < 10'000 && !system.quarantine_of("broken"); ++i) std::this_thread::sleep_for(1ms);
  REQUIRE(system.quarantine_of("broken"));
  system.spawn("transient", counter_fn.bind(std::make_shared<tally>()));
  for (const bool durable_namer : {true, false}) {
    INFO((durable_namer ? "from a durable actor" : "from a transient actor"));
    const std::string namer = durable_namer ? "durable namer" : "transient namer";
    if (durable_namer)
      system.spawn_durable(namer, namer_fn.bind());
    else
      system.spawn(namer, namer_fn.bind());
    auto attempt = [&](const std::string& name, bool twice = false) {
      return system.ask<outcome>(namer, try_name{name, twice}, 20s).get().text;
    };
    CHECK_THAT(attempt("stored"), Catch::StartsWith("invalid_argument") && Catch::Contains("already exists"));
    CHECK_THAT(attempt("transient"), Catch::StartsWith("invalid_argument"));
    CHECK_THAT(attempt("broken"), Catch::StartsWith("quarantined") && Catch::Contains("fragile"));
    CHECK_THAT(attempt(""), Catch::StartsWith("invalid_argument"));
    CHECK_THAT(attempt(namer + " child", true), Catch::StartsWith("invalid_argument"));  // taken by the first
    CHECK(attempt(namer + " fresh") == "spawned");
    system.sync();
    CHECK(total_of(system, namer + " fresh") == 0);
  }
  // A transient actor's child is committed on its own: it outlives the process.
  system.shutdown();
  const auto children = stored_children(path);
  CHECK(children.empty());  // (none is named child/…)
  store db(path);
  CHECK(db.record("transient namer fresh"));
  CHECK(db.record("durable namer fresh"));
  CHECK(db.record("durable namer child"));  // the first of the two, same step: committed
}

// ---- SIGKILL while spawning ----------------------------------------------------------------------

namespace {

// Opens the store, makes the spawner if there is none, and has it spawn children until killed.
int spawn_loop(const std::vector<std::string>& args) {
  const auto every = static_cast<std::uint32_t>(std::stoul(args.at(1)));
  actor_system system(store_at(args.at(0), recovery_mode::lazy, every), actor_system_config{2});
  if (!system.find("spawner")) system.spawn_durable("spawner", spawner_fn.bind(std::make_shared<tally>()));
  for (std::int64_t i = 0;; ++i) system.send("spawner", add{1 + i % 3}).get();
}
const bool spawn_loop_registered = register_child("spawn.loop", spawn_loop);

}  // namespace

TEST_CASE("a durable actor killed while spawning leaves every committed child exactly once and no other",
          "[durable][spawn][crash]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  std::mt19937_64 rng(std::random_device{}());
  for (int run = 0; run < 8; ++run) {
    const std::uint32_t every = run % 2 == 0 ? 1 : 4;
    const auto delay = std::chrono::microseconds(std::uniform_int_distribution<int>(10000, 150000 * sanitizer_slowdown)(rng));
    const auto r = run_child({"spawn.loop", path, std::to_string(every)}, delay);
    INFO("run " << run << " (snapshot every " << every << ") killed after " << delay.count()
                << " us; child said: " << r.output);
    REQUIRE(r.signal == SIGKILL);
    std::int64_t spawned = 0;
    {
      // Reopened, it first handles what its mailbox kept (a committed add whose step was not):
      // those children are made now, once.
      actor_system system(store_at(path, recovery_mode::lazy, every), actor_system_config{2});
      if (system.find("spawner")) {
        spawned = total_of(system, "spawner");
        // Each child's first message handled once: the latest (those near the kill) and a sample.
        for (std::int64_t k = 1; k <= spawned; ++k)
          if (k > spawned - 300 || k % 97 == 0) CHECK(total_of(system, child_name(k)) == k);
      }
      CHECK(system.quarantined().empty());
    }
    const std::set<std::string> stored = stored_children(path);
    std::set<std::string> expected;
    for (std::int64_t k = 1; k <= spawned; ++k) expected.insert(child_name(k));
    // The children of its committed steps, and no other.
    std::vector<std::string> missing, extra;
    std::set_difference(expected.begin(), expected.end(), stored.begin(), stored.end(), std::back_inserter(missing));
    std::set_difference(stored.begin(), stored.end(), expected.begin(), expected.end(), std::back_inserter(extra));
    INFO(spawned << " spawned, " << stored.size() << " stored; missing: " << Catch::Detail::stringify(missing)
                 << "; extra: " << Catch::Detail::stringify(extra));
    CHECK(missing.empty());
    CHECK(extra.empty());
  }
}
