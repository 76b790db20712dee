// Quarantined durable actors: one consistent answer to every caller, a look at what is kept,
// lifting a quarantine once the cause is fixed, discarding the actor; both crash-safe.
#include <catch2/catch.hpp>

#include <cereal/types/vector.hpp>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <numeric>
#include <random>
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

// Whether the "bug" is fixed: while it is not, a picky actor's behavior throws on an odd add.
std::atomic<bool> picky_fixed{false};

// Every add the actor took, in order.
struct picky_state {
  std::vector<std::int64_t> handled;
  template <class A>
  void serialize(A& a) {
    a(handled);
  }
};
struct history {
  std::vector<std::int64_t> handled;
};
void picky_body(context& ctx, const message& m, const std::shared_ptr<picky_state>& st) {
  if (const auto* a = m.get_if<add>()) {
    if (a->n % 2 != 0 && !picky_fixed) throw std::runtime_error("unlucky " + std::to_string(a->n));
    st->handled.push_back(a->n);
  } else if (m.is<get>()) {
    ctx.reply(history{st->handled});
  }
}
const revenant::function<void(context&, const message&), picky_body> picky_fn{"test.quarantine.picky"};
behavior make_picky() { return picky_fn.bind(std::make_shared<picky_state>()); }

// What the actor named name has handled, asked from a transient actor; nothing if it does not
// answer within 20 s (not running, quarantined).
struct history_box {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<std::vector<std::int64_t>> handled;
  bool failed = false;
  template <class A>
  void serialize(A&) {}
};
void box_history(context& ctx, const message& answer, const std::shared_ptr<history_box>& box) {
  {
    std::lock_guard lock(box->mutex);
    if (const auto* h = answer.get_if<history>())
      box->handled = h->handled;
    else
      box->failed = true;
  }
  box->changed.notify_all();
  ctx.stop();
}
const revenant::function<void(context&, const message&), box_history> box_history_fn{"test.quarantine.box_history"};
void history_asker(context& ctx, const message& m, const std::shared_ptr<history_box>& box) {
  if (const auto* target = m.get_if<actor_ref>()) ctx.ask(*target, get{}, box_history_fn.bind(box), 20s);
}
const revenant::function<void(context&, const message&), history_asker> history_asker_fn{
    "test.quarantine.history_asker"};
std::optional<std::vector<std::int64_t>> handled_by(actor_system& system, const std::string& name) {
  actor_ref target = system.find(name);
  if (!target) return std::nullopt;
  auto box = std::make_shared<history_box>();
  system.spawn(history_asker_fn.bind(box)).tell(target);
  std::unique_lock lock(box->mutex);
  box->changed.wait_for(lock, 20s, [&] { return box->handled || box->failed; });
  return box->handled;
}

// Waits until name is quarantined (its failing step is processed asynchronously).
bool wait_quarantined(actor_system& system, const std::string& name) {
  for (int i = 0; i < 10'000; ++i) {
    if (system.quarantine_of(name)) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

// A store holding "picky", quarantined by add{13} after add{2}, and a healthy "counter".
void make_quarantined_store(const std::string& path, std::uint32_t snapshot_every = 1) {
  picky_fixed = false;
  actor_system system(store_at(path, recovery_mode::lazy, snapshot_every), actor_system_config{2});
  system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>()));
  system.spawn_durable("picky", make_picky());
  system.send("picky", add{2}).get();
  system.send("picky", add{4}).get();
  // Answered once the step that handled add{4} is committed: add{13} is handled in a later run,
  // which its failure rolls back alone (a failed run keeps every message it handled).
  REQUIRE(handled_by(system, "picky") == std::vector<std::int64_t>{2, 4});
  system.send("picky", add{13}).get();  // kept in the mailbox: the failed step is rolled back
  REQUIRE(wait_quarantined(system, "picky"));
}

// Every trace of actor in the store: record, quarantine, wake, mailbox and journal entries.
struct traces {
  bool record = false, quarantine = false, wake = false;
  std::size_t mailbox = 0, journal = 0;
};
traces traces_of(const std::string& path, const std::string& actor) {
  store db(path);
  traces t;
  t.record = db.has_record(actor);
  t.quarantine = db.quarantine_reason(actor).has_value();
  t.wake = db.has_wake(actor);
  db.for_each_message_of(actor, [&](std::uint64_t, std::string_view) { ++t.mailbox; });
  db.for_each_journal_entry_of(actor, [&](std::uint64_t, std::string_view) { ++t.journal; });
  return t;
}

}  // namespace

TEST_CASE("a quarantined actor gets one answer from every call: quarantined, and why", "[durable][quarantine]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  make_quarantined_store(path);
  for (int open = 0; open < 2; ++open) {  // in the process that quarantined it, then read from the store
    actor_system system(store_at(path), actor_system_config{2});
    CHECK_FALSE(system.find("picky"));
    try {
      system.send("picky", add{2}).get();
      FAIL("a send to a quarantined actor was accepted");
    } catch (const actor_quarantined& e) {
      CHECK(e.name() == "picky");
      CHECK_THAT(e.reason(), Catch::Contains("unlucky 13"));
      CHECK_THAT(e.what(), Catch::Contains("\"picky\" is quarantined") && Catch::Contains("unlucky 13"));
    }
    CHECK_THROWS_AS(system.spawn_durable("picky", make_picky()), actor_quarantined);
    CHECK_THROWS_AS(system.spawn_durable("picky", make_picky()), std::invalid_argument);  // as any taken name
    const auto q = system.quarantine_of("picky");
    REQUIRE(q);
    CHECK(q->name == "picky");
    CHECK_THAT(q->reason, Catch::Contains("behavior threw on a") && Catch::Contains("unlucky 13"));
    CHECK(q->record_stored);
    CHECK(q->mailbox_entries == 1);  // add{13}
    CHECK(q->journal_entries == 0);
    CHECK_FALSE(system.quarantine_of("counter"));  // in service
    CHECK_FALSE(system.quarantine_of("nobody"));   // does not exist
    const auto all = system.quarantined();
    REQUIRE(all.size() == 1);
    CHECK(all[0].name == "picky");
    CHECK(all[0].mailbox_entries == 1);
    CHECK(all[0].record_stored);
    CHECK_THROWS_WITH(system.send("nobody", add{1}).get(), Catch::Contains("no actor named \"nobody\""));
  }
}

TEST_CASE("lifting a quarantine once the cause is fixed brings the actor back to handle what it kept",
          "[durable][quarantine]") {
  const std::uint32_t every = GENERATE(1u, 1000u);  // a record per step, or a journal replayed on lift
  temp_dir dir;
  const std::string path = dir.path("db");
  make_quarantined_store(path, every);
  {
    actor_system system(store_at(path, recovery_mode::lazy, every), actor_system_config{2});
    picky_fixed = true;
    actor_ref back = system.lift_quarantine("picky");
    CHECK(back);
    CHECK(system.find("picky") == back);
    CHECK_FALSE(system.quarantine_of("picky"));
    CHECK(system.quarantined().empty());
    // Its state from before, then what its mailbox kept, then what is sent now.
    system.send("picky", add{6}).get();
    CHECK(handled_by(system, "picky") == std::vector<std::int64_t>{2, 4, 13, 6});
  }
  const traces t = traces_of(path, "picky");
  CHECK(t.record);
  CHECK_FALSE(t.quarantine);
  CHECK(t.mailbox == 0);
  actor_system system(store_at(path, recovery_mode::eager, every), actor_system_config{2});
  CHECK(system.quarantined().empty());
  CHECK(handled_by(system, "picky") == std::vector<std::int64_t>{2, 4, 13, 6});
  picky_fixed = false;
}

TEST_CASE("lifting a quarantine whose cause is not fixed quarantines the actor again and says why",
          "[durable][quarantine]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  make_quarantined_store(path);
  actor_system system(store_at(path), actor_system_config{2});
  picky_fixed = false;
  try {
    system.lift_quarantine("picky");
    FAIL("the lift succeeded although the behavior still fails");
  } catch (const actor_quarantined& e) {
    CHECK(e.name() == "picky");
    CHECK_THAT(e.reason(), Catch::Contains("unlucky 13"));
  }
  const auto q = system.quarantine_of("picky");
  REQUIRE(q);
  CHECK(q->record_stored);
  CHECK(q->mailbox_entries == 1);  // the message is still kept
  CHECK_THROWS_AS(system.send("picky", add{2}).get(), actor_quarantined);
  // And once it is fixed, a second lift works.
  picky_fixed = true;
  system.lift_quarantine("picky");
  CHECK(handled_by(system, "picky") == std::vector<std::int64_t>{2, 4, 13});
  picky_fixed = false;
}

TEST_CASE("lifting the quarantine of a damaged record fails until the record is repaired", "[durable][quarantine]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  std::string good;
  {
    actor_system system(store_at(path), actor_system_config{2});
    system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>()));
    system.send("counter", add{7}).get();
    REQUIRE(query(system, "counter") == 7);  // handled and committed: nothing left in its mailbox
  }
  {
    store db(path);
    good = *db.record("counter");
    std::string bad = good;
    bad[bad.size() - 5] ^= 0x10;
    commit_batch batch(db);
    batch.put_record("counter", bad);
    db.commit(batch, true);
  }
  {
    actor_system system(store_at(path), actor_system_config{2});
    system.send("counter", add{1}).get();  // committed; the actor is quarantined when it activates
    REQUIRE(wait_quarantined(system, "counter"));
    try {
      system.send("counter", add{1}).get();
      FAIL("a send to a quarantined actor was accepted");
    } catch (const actor_quarantined& e) {
      CHECK_THAT(e.reason(), Catch::Contains("checksum_mismatch"));
    }
  }
  {
    actor_system system(store_at(path), actor_system_config{2});
    CHECK_THROWS_WITH(system.lift_quarantine("counter"), Catch::Contains("checksum_mismatch"));
    CHECK(system.quarantine_of("counter"));
  }
  {
    store db(path);  // the repair
    commit_batch batch(db);
    batch.put_record("counter", good);
    db.commit(batch, true);
  }
  actor_system system(store_at(path), actor_system_config{2});
  system.lift_quarantine("counter");
  CHECK(query(system, "counter") == 8);  // the add that reached it while damaged was kept
}

TEST_CASE("discarding a quarantined actor erases all of it at once, and its kept messages are dead letters",
          "[durable][quarantine]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  make_quarantined_store(path);
  {
    actor_system system(store_at(path), actor_system_config{2});
    std::mutex m;
    std::vector<std::string> dead;
    system.on_dead_letter([&](const dead_letter& d) {
      std::lock_guard lock(m);
      if (const auto* a = d.value.get_if<add>())
        dead.push_back(d.recipient + " add " + std::to_string(a->n) + " " + std::to_string(static_cast<int>(d.reason)));
    });
    CHECK(system.discard_quarantined("picky") == 1);
    {
      std::lock_guard lock(m);
      CHECK(dead == std::vector<std::string>{"picky add 13 5"});
    }
    CHECK(system.dead_letters() == 1);
    CHECK_FALSE(system.quarantine_of("picky"));
    CHECK_THROWS_WITH(system.send("picky", add{1}).get(), Catch::Contains("no actor named"));
    CHECK_THROWS_AS(system.discard_quarantined("picky"), std::invalid_argument);
    CHECK_THROWS_AS(system.lift_quarantine("picky"), std::invalid_argument);
    CHECK(query(system, "counter") == 0);  // the others are untouched
  }
  const traces t = traces_of(path, "picky");
  CHECK_FALSE(t.record);
  CHECK_FALSE(t.quarantine);
  CHECK_FALSE(t.wake);
  CHECK(t.mailbox == 0);
  CHECK(t.journal == 0);
  // The name is free.
  actor_system system(store_at(path), actor_system_config{2});
  system.spawn_durable("picky", make_picky());
  system.send("picky", add{2}).get();
  CHECK(handled_by(system, "picky") == std::vector<std::int64_t>{2});
}

TEST_CASE("lifting or discarding needs a quarantined name in a system with a store", "[durable][quarantine]") {
  temp_dir dir;
  actor_system system(store_at(dir.path("db")), actor_system_config{2});
  system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>()));
  CHECK_THROWS_WITH(system.lift_quarantine("counter"), Catch::Contains("\"counter\" is not quarantined"));
  CHECK_THROWS_AS(system.discard_quarantined("nobody"), std::invalid_argument);
  actor_system transient_only(actor_system_config{1});
  CHECK_THROWS_AS(transient_only.lift_quarantine("counter"), std::logic_error);
  CHECK_FALSE(transient_only.quarantine_of("counter"));
}

// ---- SIGKILL during a lift or a discard ---------------------------------------------------------

namespace {

// Lifts a quarantine of "picky" left by a killed run, then cycles: an odd add quarantines it
// (the bug), the fix lifts it, an even add goes through. Prints each acknowledged add.
int lift_loop(const std::vector<std::string>& args) {
  picky_fixed = true;  // an odd add a killed run left in the mailbox is handled at open
  actor_system system(store_at(args.at(0)), actor_system_config{2});
  if (system.quarantine_of("picky")) system.lift_quarantine("picky");
  if (!system.find("picky")) system.spawn_durable("picky", make_picky());
  const auto done = handled_by(system, "picky");
  if (!done) return 2;
  for (std::int64_t n = done->empty() ? 1 : done->back() + 1;; ++n) {
    picky_fixed = false;
    system.send("picky", add{n}).get();
    std::cout << "acked " << n << std::endl;
    if (n % 2 == 0) continue;
    if (!wait_quarantined(system, "picky")) return 3;
    picky_fixed = true;
    system.lift_quarantine("picky");
  }
}
const bool lift_loop_registered = register_child("quarantine.lift_loop", lift_loop);

// Cycles: spawn "victim", quarantine it with an odd add, discard it.
int discard_loop(const std::vector<std::string>& args) {
  actor_system system(store_at(args.at(0)), actor_system_config{2});
  picky_fixed = false;
  for (;;) {
    if (system.quarantine_of("victim")) system.discard_quarantined("victim");
    try {
      if (!system.find("victim")) system.spawn_durable("victim", make_picky());
      system.send("victim", add{1}).get();
    } catch (const actor_quarantined&) {
      // An add a killed run left in the mailbox quarantined it meanwhile.
    }
    if (!wait_quarantined(system, "victim")) return 3;
  }
}
const bool discard_loop_registered = register_child("quarantine.discard_loop", discard_loop);

std::int64_t last_acked(const std::string& output) {
  std::int64_t last = 0;
  for (std::size_t at = output.find("acked "); at != std::string::npos; at = output.find("acked ", at + 1))
    last = std::stoll(output.substr(at + 6));
  return last;
}

}  // namespace

TEST_CASE("a lift killed at any instant leaves the actor quarantined or in service, each message handled once",
          "[durable][quarantine][crash]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  std::mt19937_64 rng(std::random_device{}());
  std::int64_t acked = 0;
  for (int run = 0; run < 8; ++run) {
    const auto delay = std::chrono::microseconds(std::uniform_int_distribution<int>(10000, 150000 * sanitizer_slowdown)(rng));
    const auto r = run_child({"quarantine.lift_loop", path}, delay);
    INFO("run " << run << " killed after " << delay.count() << " us; child said: " << r.output);
    REQUIRE(r.signal == SIGKILL);
    acked = std::max(acked, last_acked(r.output));
    const traces t = traces_of(path, "picky");
    if (t.quarantine) {
      CHECK(t.record);       // quarantined with what it had: record and the odd add kept
      CHECK(t.mailbox >= 1);
    }
    picky_fixed = true;
    actor_system system(store_at(path), actor_system_config{2});
    if (system.quarantine_of("picky")) system.lift_quarantine("picky");
    const auto handled = handled_by(system, "picky");
    if (!handled) {
      CHECK(acked == 0);  // killed before the actor was spawned
      continue;
    }
    // 1, 2, 3, ... each once, in order, and every acknowledged one is there.
    std::vector<std::int64_t> expected(handled->size());
    std::iota(expected.begin(), expected.end(), 1);
    CHECK(*handled == expected);
    CHECK(static_cast<std::int64_t>(handled->size()) >= acked);
    CHECK(system.quarantined().empty());
  }
  picky_fixed = false;
}

TEST_CASE("a discard killed at any instant leaves all of the actor or none of it", "[durable][quarantine][crash]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  std::mt19937_64 rng(std::random_device{}());
  for (int run = 0; run < 8; ++run) {
    const auto delay = std::chrono::microseconds(std::uniform_int_distribution<int>(10000, 150000 * sanitizer_slowdown)(rng));
    const auto r = run_child({"quarantine.discard_loop", path}, delay);
    INFO("run " << run << " killed after " << delay.count() << " us; child said: " << r.output);
    REQUIRE(r.signal == SIGKILL);
    const traces t = traces_of(path, "victim");
    if (t.quarantine) {
      CHECK(t.record);  // before the discard: everything kept (its add, and one a reopen may
      CHECK(t.mailbox >= 1);  // have sent while a kept add was quarantining it again)
    } else if (!t.record) {
      CHECK(t.mailbox == 0);  // after it (or before the spawn): nothing at all
      CHECK(t.journal == 0);
      CHECK_FALSE(t.wake);
    }
  }
}
