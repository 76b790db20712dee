// Durable actors: checkpoints in RocksDB, recovery after SIGKILL, exactly-once delivery between
// durable actors, quarantine of damaged records, schema evolution, the crash torture.
#include <catch2/catch.hpp>

#include <rocksdb/db.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "actors/actor.hpp"
#include "actors/message_type.hpp"
#include "examples/bank_model.hpp"
#include "runtime/actor_system.hpp"
#include "storage/store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/durable_actors.hpp"
#include "tests/support/fault_fs.hpp"
#include "tests/support/messages.hpp"
#include "tests/support/raw_store.hpp"

using namespace revenant;
using namespace revenant::test;
using namespace std::chrono_literals;

namespace {

// ---- messages and behaviors of the small tests ------------------------------------------------

struct go {
  template <class A>
  void serialize(A&) {}
};
struct ring {
  std::int64_t n = 0;
  template <class A>
  void serialize(A& a) {
    a(n);
  }
};
struct unregistered_note {
  int x = 0;
};
const message_type<go> go_type{"test.durable.go"};
const message_type<ring> ring_type{"test.durable.ring"};

// Holds every get until a go arrives, then answers them all with 42: a continuation of whoever
// asked stays pending until then.
struct held {
  std::vector<reply_address> askers;
  template <class A>
  void serialize(A& a) {
    a(askers);
  }
};
void holder_body(context& ctx, const message& m, const std::shared_ptr<held>& h) {
  if (m.is<get>()) {
    h->askers.push_back(ctx.reply_later());
  } else if (m.is<go>()) {
    for (auto& who : h->askers) ctx.reply_to(who, value_is{42});
    h->askers.clear();
  }
}
const revenant::function<void(context&, const message&), holder_body> holder_fn{"test.durable.holder"};

// On add, sets a timer that rings after n ms; counts rings.
void sleeper_body(context& ctx, const message& m, const tally_ptr& t) {
  if (const auto* a = m.get_if<add>()) {
    ctx.after(std::chrono::milliseconds(a->n), ring{a->n});
  } else if (m.is<ring>()) {
    ++t->messages;
  } else if (m.is<get>()) {
    ctx.reply(value_is{t->messages});
  }
}
const revenant::function<void(context&, const message&), sleeper_body> sleeper_fn{"test.durable.sleeper"};

// ---- children (separate processes, so that dying is real) -------------------------------------

// Spawns a holder and an asker whose ask is pending, commits, and dies by SIGKILL.
int pending_then_die(const std::vector<std::string>& args) {
  actor_system system(store_at(args.at(0)), actor_system_config{2});
  actor_ref holder = system.spawn_durable("holder", holder_fn.bind(std::make_shared<held>()));
  system.spawn_durable("flipper", make_flipper());
  system.spawn_durable("asker", asker_fn.bind(std::make_shared<tally>(), holder));
  system.send("flipper", add{1}).get();  // now odd
  system.send("asker", add{}).get();
  // Let the request reach the holder and its step commit (its answer is what the dead process
  // owes); whether it got there or is still in the holder's mailbox, recovery must finish it.
  std::this_thread::sleep_for(50ms);
  system.sync();
  ::kill(::getpid(), SIGKILL);
  return 99;  // not reached
}
const bool pending_then_die_registered = register_child("durable.pending_then_die", pending_then_die);

int timer_then_die(const std::vector<std::string>& args) {
  actor_system system(store_at(args.at(0)), actor_system_config{2});
  system.spawn_durable("sleeper", sleeper_fn.bind(std::make_shared<tally>()));
  system.send("sleeper", add{300}).get();
  std::this_thread::sleep_for(50ms);  // the add is handled and its timer checkpointed
  system.sync();
  ::kill(::getpid(), SIGKILL);
  return 99;
}
const bool timer_then_die_registered = register_child("durable.timer_then_die", timer_then_die);

// Journal mode: 100 adds, never a full record after the first; then SIGKILL.
int journal_then_die(const std::vector<std::string>& args) {
  actor_system system(store_at(args.at(0), recovery_mode::lazy, 1000), actor_system_config{2});
  system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>()));
  system.spawn_durable("flipper", make_flipper());
  for (int i = 1; i <= 100; ++i) system.send("counter", add{i}).get();
  system.send("flipper", add{1}).get();
  std::this_thread::sleep_for(50ms);
  system.sync();
  ::kill(::getpid(), SIGKILL);
  return 99;
}
const bool journal_then_die_registered = register_child("durable.journal_then_die", journal_then_die);

// Tells (no acknowledgement) a flood of adds from outside, waits for sync(), dies by SIGKILL.
int tell_sync_then_die(const std::vector<std::string>& args) {
  actor_system system(store_at(args.at(0)), actor_system_config{2});
  actor_ref counter = system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>()));
  for (int i = 0; i < 20000; ++i) counter.tell(add{1});
  system.sync();  // everything told so far is durable: handled, or in the mailbox
  ::kill(::getpid(), SIGKILL);
  return 99;
}
const bool tell_sync_then_die_registered = register_child("durable.tell_sync_then_die", tell_sync_then_die);

// A behavior whose function only the child registers: the parent cannot rebuild it.
void child_only_body(context&, const message&, const tally_ptr&) {}
int spawn_unknown(const std::vector<std::string>& args) {
  static const revenant::function<void(context&, const message&), child_only_body> child_only{"test.durable.child_only"};
  actor_system system(store_at(args.at(0)), actor_system_config{1});
  system.spawn_durable("stranger", child_only.bind(std::make_shared<tally>()));
  return 0;
}
const bool spawn_unknown_registered = register_child("durable.spawn_unknown", spawn_unknown);

// ---- schema evolution: the same registered function, two builds of its state type ------------

// The state as an older build had it. Types that may evolve take Cereal's version argument from
// their first release on: that is what lets a later build tell old snapshots apart.
struct profile_v0 {
  std::int64_t balance = 0;
  template <class A>
  void serialize(A& a, std::uint32_t /*version*/) {
    a(balance);
  }
};
// The state as this build has it: version 1 added a nickname. A version-0 snapshot has none.
struct profile_v1 {
  std::int64_t balance = 0;
  std::string nickname = "(none)";
  template <class A>
  void serialize(A& a, std::uint32_t version) {
    a(balance);
    if (version >= 1) a(nickname);
  }
};

template <class Profile>
void profile_body(context& ctx, const message& m, const std::shared_ptr<Profile>& p) {
  if (const auto* a = m.get_if<add>()) {
    p->balance += a->n;
  } else if (m.is<get>()) {
    if constexpr (requires { p->nickname; })
      ctx.reply(value_is{p->balance * 1000 + static_cast<std::int64_t>(p->nickname.size())});
    else
      ctx.reply(value_is{p->balance * 1000});
  }
}

// The older build: registers its version of the function (only in this child process) and
// leaves a durable actor behind.
int write_old_profile(const std::vector<std::string>& args) {
  static const revenant::function<void(context&, const message&), profile_body<profile_v0>> old_profile_fn{
      "test.durable.profile"};
  actor_system system(store_at(args.at(0)), actor_system_config{1});
  system.spawn_durable("profile", old_profile_fn.bind(std::make_shared<profile_v0>(profile_v0{5})));
  system.send("profile", add{2}).get();
  return 0;
}
const bool write_old_profile_registered = register_child("durable.write_old_profile", write_old_profile);

// ---- the bank torture -------------------------------------------------------------------------

constexpr std::uint32_t bank_accounts = 8;
constexpr std::int64_t bank_balance = 1000;
constexpr std::int64_t bank_cap = 1150;  // deposits past it are refused: sagas refund

// The client: opens the bank (creating it the first time), submits transfers from where the
// teller's book stops up to `total`, and waits until every saga is finished.
// With a fourth argument, the store runs with fsync on a fault-injecting file system, and the
// power is cut that many microseconds in (every unsynced write thrown away, then SIGKILL).
int bank_client(const std::vector<std::string>& args) {
  const std::uint64_t total = std::stoull(args.at(1));
  const auto snapshot_every = static_cast<std::uint32_t>(std::stoul(args.at(2)));
  durable_config config = store_at(args.at(0), recovery_mode::lazy, snapshot_every);
  std::optional<fault_env_scope> power;
  if (args.size() > 3) {
    auto disk = std::make_shared<fault_file_system>();
    power.emplace(disk);
    config.fsync = true;
    cut_power_later(disk, std::chrono::microseconds(std::stoll(args.at(3))));
  }
  actor_system system(config, actor_system_config{2});
  bank::open_bank(system, bank_accounts, bank_balance, bank_cap);
  std::uint64_t next = bank::run_audit(system, bank_accounts).book.received() + 1;
  while (next <= total) {
    std::vector<std::future<void>> acks;
    for (int i = 0; i < 32 && next <= total; ++i, ++next)
      acks.push_back(system.send(bank::teller_name, bank::make_transfer(next, bank_accounts)));
    for (auto& a : acks) a.get();
  }
  for (;;) {
    const auto audit = bank::run_audit(system, bank_accounts);
    if (bank::open_sagas(audit.book) == 0) break;
    std::this_thread::sleep_for(5ms);
  }
  std::cout << "client done" << std::endl;
  return 0;
}
const bool bank_client_registered = register_child("durable.bank_client", bank_client);

// Reopens the bank after a crash, lets every saga in flight finish, and checks the invariants.
bank::audit_result reopen_and_check(const std::string& path, recovery_mode mode, std::uint32_t snapshot_every) {
  actor_system system(store_at(path, mode, snapshot_every), actor_system_config{2});
  if (!system.find(bank::teller_name)) return {};  // killed before the bank was created
  bank::audit_result audit;
  for (int i = 0;; ++i) {
    audit = bank::run_audit(system, bank_accounts);
    if (bank::open_sagas(audit.book) == 0) break;
    REQUIRE(i < 4000);  // 20 s
    std::this_thread::sleep_for(5ms);
  }
  const auto problems = bank::check_invariants(audit, bank_accounts * bank_balance);
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
  CHECK(system.quarantined().empty());
  return audit;
}

// kills runs of the bank client, each ended at a random instant by SIGKILL — or, with
// power_cuts, by a power cut (fsync on; unsynced writes thrown away) and then SIGKILL.
void run_torture(int kills, bool power_cuts = false) {
  temp_dir dir;
  const std::string path = dir.path("bank");
  const std::uint64_t total = 300 + 150 * static_cast<std::uint64_t>(kills);
  std::mt19937_64 rng(std::random_device{}());
  int crashed = 0;
  for (int k = 0; k < kills; ++k) {
    // Uniform over the first 60 ms of the child's life (release build): open, recovery, creating
    // the bank, submitting, the sagas themselves (a run has about 150 new transfers to do).
    const auto delay = std::chrono::microseconds(
        std::uniform_int_distribution<int>(2000 * sanitizer_slowdown, 60000 * sanitizer_slowdown)(rng));
    // Records every step, or every 8 steps with journals replayed in between; a store written
    // one way is recovered the other way too.
    const std::uint32_t every = k % 3 == 1 ? 1 : 8;
    std::vector<std::string> args{"durable.bank_client", path, std::to_string(total), std::to_string(every)};
    if (power_cuts) args.push_back(std::to_string(delay.count()));
    const auto r = power_cuts ? run_child(args) : run_child(args, delay);
    INFO("kill " << k << " after " << delay.count() << " us, snapshot every " << every << "; child said: " << r.output);
    REQUIRE((r.signal == SIGKILL || r.exit_code == 0));
    crashed += r.signal == SIGKILL;
    reopen_and_check(path, k % 2 == 0 ? recovery_mode::lazy : recovery_mode::eager, k % 4 == 0 ? 8 : 1);
  }
  // The last run is not killed: every transfer is submitted and every saga finishes.
  const auto r = run_child({"durable.bank_client", path, std::to_string(total), "1"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto audit = reopen_and_check(path, recovery_mode::eager, 1);
  CHECK(audit.book.received() == total);
  CHECK(audit.book.sagas.size() == total);
  // The cap makes some deposits fail: the refund path ran too.
  std::size_t refunded = 0;
  for (auto s : audit.book.sagas) refunded += s == bank::saga::refunded;
  CHECK(refunded > 0);
  WARN(crashed << " of " << kills << " runs were killed mid-flight; " << total << " transfers, " << refunded
               << " refunded");
}

}  // namespace

CEREAL_CLASS_VERSION(profile_v1, 1);

TEST_CASE("a state type that gained a field still loads its old snapshots", "[durable][evolution]") {
  temp_dir dir;
  const auto r = run_child({"durable.write_old_profile", dir.path("db")});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // This build registers the same name with the new state type (registered only here, so the
  // child above never saw it).
  static const revenant::function<void(context&, const message&), profile_body<profile_v1>> profile_fn{
      "test.durable.profile"};
  {
    actor_system system(store_at(dir.path("db")), actor_system_config{2});
    CHECK(query(system, "profile") == 7 * 1000 + 6);  // old balance, nickname defaulted ("(none)")
    CHECK(system.quarantined().empty());
    system.send("profile", add{1}).get();  // written back as version 1
  }
  actor_system system(store_at(dir.path("db"), recovery_mode::eager), actor_system_config{2});
  CHECK(query(system, "profile") == 8 * 1000 + 6);
}

TEST_CASE("a durable actor's state survives closing and reopening the store", "[durable]") {
  temp_dir dir;
  {
    actor_system system(store_at(dir.path("db")), actor_system_config{2});
    system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>()));
    for (int i = 1; i <= 100; ++i) system.send("counter", add{i}).get();
    CHECK(query(system, "counter") == 5050);
    CHECK_THROWS_AS(system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>())), std::invalid_argument);
  }
  for (auto mode : {recovery_mode::lazy, recovery_mode::eager}) {
    actor_system system(store_at(dir.path("db"), mode), actor_system_config{2});
    CHECK(query(system, "counter") == 5050);
    system.send("counter", add{1}).get();
    CHECK(query(system, "counter") == 5051);
    // It is still there, so spawning it again is refused.
    CHECK_THROWS_AS(system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>())), std::invalid_argument);
    system.send("counter", add{-1}).get();
  }
}

TEST_CASE("eager recovery cut into key ranges brings every actor up once, references across ranges included",
          "[durable]") {
  // Askers (names "a/…") hold references to counters (names "n/…"), so a split of the actors
  // family between them puts each reference in another range than its target.
  constexpr int pairs = 1500;
  auto counter_name = [](int i) { return "n/" + std::to_string(10000 + i); };
  auto asker_name = [](int i) { return "a/" + std::to_string(10000 + i); };
  temp_dir dir;
  const std::string path = dir.path("db");
  {
    actor_system system(store_at(path), actor_system_config{2});
    for (int i = 0; i < pairs; ++i) {
      actor_ref counter = system.spawn_durable(counter_name(i), counter_fn.bind(std::make_shared<tally>(tally{i, 0})));
      system.spawn_durable(asker_name(i), asker_fn.bind(std::make_shared<tally>(), counter));
    }
  }
  {
    store db(path);
    REQUIRE(!db.split_record_names(2).empty());  // what recovery with two workers does
  }
  std::vector<std::uint64_t> progress;
  durable_config config = store_at(path, recovery_mode::eager);
  const auto constructing = std::this_thread::get_id();
  config.on_progress = [&](std::uint64_t done, std::uint64_t) {
    CHECK(std::this_thread::get_id() == constructing);
    progress.push_back(done);
  };
  actor_system system(config, actor_system_config{2});
  CHECK(system.recovery().actors_activated == 2 * pairs);
  CHECK(system.live_actors() == 2 * pairs);
  REQUIRE(!progress.empty());
  CHECK(progress.back() == 2 * pairs);
  CHECK(std::is_sorted(progress.begin(), progress.end()));
  // Each asker's reference leads to its own counter, the one recovery activated.
  for (int i = 0; i < pairs; i += 97) {
    system.send(asker_name(i), add{1}).get();
    std::optional<std::int64_t> total;
    for (int tries = 0; tries < 2000 && total != i; ++tries) {
      total = query(system, asker_name(i));
      if (total != i) std::this_thread::sleep_for(1ms);
    }
    CHECK(total == i);
  }
  CHECK(system.recovery().actors_activated == 2 * pairs);  // nothing was brought up twice
  CHECK(system.quarantined().empty());
}

TEST_CASE("a message a bounded durable mailbox refuses to store does not use up its bound", "[durable]") {
  temp_dir dir;
  actor_system system(store_at(dir.path("db")), actor_system_config{2});
  supervision bounded;
  bounded.mailbox_capacity = 2;
  system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>()), bounded);
  for (int i = 0; i < 3; ++i) {
    CHECK_THROWS_WITH(system.find("counter").tell(unregistered_note{1}), Catch::Contains("not registered"));
    CHECK_THROWS_WITH(system.send("counter", unregistered_note{1}).get(), Catch::Contains("not registered"));
  }
  // Six refusals later, the bound still has both places: a message (acknowledged once stored,
  // maybe not handled yet) and the query behind it.
  system.send("counter", add{5}).get();
  CHECK(query(system, "counter") == 5);
  system.send("counter", add{6}).get();
  CHECK(query(system, "counter") == 11);
  CHECK(system.dead_letters() == 0);
}

TEST_CASE("outside sends to durable actors are acknowledged once committed, or fail clearly", "[durable]") {
  temp_dir dir;
  actor_system system(store_at(dir.path("db")), actor_system_config{2});
  system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>()));
  auto ack = system.send("counter", add{5});
  REQUIRE(ack.wait_for(10s) == std::future_status::ready);
  ack.get();
  CHECK_THROWS_AS(system.send("nobody", add{1}).get(), std::invalid_argument);
  CHECK_THROWS_WITH(system.send("counter", unregistered_note{1}).get(),
                    Catch::Contains("unregistered_note") && Catch::Contains("not registered"));
  CHECK_THROWS_WITH(system.find("counter").tell(unregistered_note{1}), Catch::Contains("not registered"));
  CHECK_THROWS_AS(system.spawn_durable("", counter_fn.bind(std::make_shared<tally>())), std::invalid_argument);
  CHECK_THROWS_AS(system.spawn_durable(std::string("a\0b", 3), counter_fn.bind(std::make_shared<tally>())),
                  std::invalid_argument);
  actor_system transient_only(actor_system_config{1});
  CHECK_THROWS_AS(transient_only.spawn_durable("x", counter_fn.bind(std::make_shared<tally>())), std::logic_error);
  CHECK(query(system, "counter") == 5);
}

TEST_CASE("a stopped durable actor is erased from the store with its mailbox", "[durable]") {
  temp_dir dir;
  std::atomic<int> dead{0};
  {
    actor_system system(store_at(dir.path("db")), actor_system_config{2});
    system.on_dead_letter([&](const dead_letter&) { ++dead; });
    actor_ref counter = system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>()));
    system.spawn_durable("stays", counter_fn.bind(std::make_shared<tally>()));
    system.send("counter", add{1}).get();
    system.send("counter", quit{}).get();
    counter.tell(add{2});  // queued behind quit, or sent to the stopped actor: a dead letter either way
    for (int i = 0; i < 2000 && system.find("counter"); ++i) std::this_thread::sleep_for(1ms);
    system.sync();
    CHECK_FALSE(system.find("counter"));
  }
  CHECK(dead == 1);
  store db(dir.path("db"));
  CHECK_FALSE(db.record("counter"));
  CHECK(db.record("stays"));
  bool mailbox_empty = true;
  db.for_each_message([&](std::string_view, std::uint64_t, std::string_view) { mailbox_empty = false; });
  CHECK(mailbox_empty);  // nothing left for the stopped actor
}

TEST_CASE("a cyclic behavior graph, shared state and a pending continuation survive SIGKILL", "[durable][crash]") {
  temp_dir dir;
  const auto r = run_child({"durable.pending_then_die", dir.path("db")});
  INFO(r.output);
  REQUIRE(r.signal == SIGKILL);

  actor_system system(store_at(dir.path("db")), actor_system_config{2});
  // The flipper is in its odd state (one add before the crash): get answers total*100 + 1.
  CHECK(query(system, "flipper") == 101);
  system.send("flipper", add{2}).get();  // odd adds 10n and flips back to even
  CHECK(query(system, "flipper") == 2100);
  // The asker's continuation is pending on the holder's answer, which the dead process owed.
  CHECK(query(system, "asker") == 0);
  CHECK(system.recovery().continuations_restored >= 1);
  system.send("holder", go{}).get();
  std::optional<std::int64_t> v;
  for (int i = 0; i < 1000 && v != 42; ++i) {
    v = query(system, "asker");
    if (v != 42) std::this_thread::sleep_for(5ms);
  }
  CHECK(v == 42);
}

TEST_CASE("a durable timer set before SIGKILL fires after recovery", "[durable][crash]") {
  temp_dir dir;
  const auto r = run_child({"durable.timer_then_die", dir.path("db")});
  INFO(r.output);
  REQUIRE(r.signal == SIGKILL);
  std::this_thread::sleep_for(400ms);  // past its due time: it fires late, at once
  actor_system system(store_at(dir.path("db")), actor_system_config{2});
  std::optional<std::int64_t> rings;
  for (int i = 0; i < 1000 && rings != 1; ++i) {
    rings = query(system, "sleeper");
    if (rings != 1) std::this_thread::sleep_for(5ms);
  }
  CHECK(rings == 1);
  CHECK(system.recovery().timers_rearmed == 1);
}

TEST_CASE("damage inside RocksDB's own files fails an eager open with an error naming the scan",
          "[durable][corruption]") {
  // Not one record's bytes (that quarantines the actor) but a data block of the table file:
  // RocksDB's block checksum fails mid-scan. The open must say so, not come up short.
  temp_dir dir;
  const std::string path = dir.path("db");
  {
    actor_system system(store_at(path), actor_system_config{2});
    system.spawn_durable("a/100000", counter_fn.bind(std::make_shared<tally>()));
  }
  {
    store db(path);  // the record copied under 20,000 names: a table file of many blocks
    const std::string record = *db.record("a/100000");
    commit_batch batch(db);
    for (int i = 1; i < 20000; ++i) batch.put_record("a/" + std::to_string(100000 + i), record);
    db.commit(batch, true);
    db.flush();
  }
  std::vector<rocksdb::LiveFileMetaData> files;
  {
    raw_store raw(path);  // where RocksDB keeps the table files
    raw.db->GetLiveFilesMetaData(&files);
  }
  std::string table;  // the largest table file of the actors family: the copies
  std::uint64_t largest = 0;
  for (const auto& f : files)
    if (f.column_family_name == "actors" && f.size > largest) {
      largest = f.size;
      table = f.db_path + f.name;
    }
  REQUIRE(!table.empty());
  {
    std::fstream file(table, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(std::filesystem::file_size(table) / 3));
    file.write("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
  }
  try {
    actor_system system(store_at(path, recovery_mode::eager), actor_system_config{2});
    FAIL("the open did not notice the damaged block");
  } catch (const store_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("scan of the actors family failed"));
    CHECK_THAT(e.what(), Catch::Contains(path));
  }
}

TEST_CASE("a damaged record quarantines that actor only", "[durable][corruption]") {
  enum class damage { bit_flip, truncation, unknown_function };
  const auto kind = GENERATE(damage::bit_flip, damage::truncation, damage::unknown_function);
  const auto mode = GENERATE(recovery_mode::lazy, recovery_mode::eager);
  temp_dir dir;
  const std::string path = dir.path("db");
  std::string victim = "b";
  {
    actor_system system(store_at(path), actor_system_config{2});
    for (const char* name : {"a", "b", "c"}) {
      system.spawn_durable(name, counter_fn.bind(std::make_shared<tally>()));
      system.send(name, add{7}).get();
    }
    system.send("b", add{1}).get();  // stays queued in the store if b cannot run
  }
  if (kind == damage::unknown_function) {
    const auto r = run_child({"durable.spawn_unknown", path});
    REQUIRE(r.exit_code == 0);
    victim = "stranger";
  } else {
    store db(path);
    std::string record = *db.record("b");
    if (kind == damage::bit_flip)
      record[record.size() - 5] ^= 0x10;
    else
      record.resize(record.size() - 9);
    commit_batch batch(db);
    batch.put_record("b", record);
    db.commit(batch, true);
  }
  actor_system system(store_at(path, mode), actor_system_config{2});
  CHECK(query(system, "a") == 7);
  CHECK(query(system, "c") == 7);
  CHECK_FALSE(query(system, victim));  // refused, not crashed
  const auto q = system.quarantined();
  REQUIRE(q.size() == 1);
  CHECK(q[0].name == victim);
  CHECK_THAT(q[0].reason, Catch::Contains("actor \"" + victim + "\""));
  switch (kind) {
    case damage::bit_flip: CHECK_THAT(q[0].reason, Catch::Contains("checksum_mismatch")); break;
    case damage::truncation: CHECK_THAT(q[0].reason, Catch::Contains("truncated")); break;
    case damage::unknown_function: CHECK_THAT(q[0].reason, Catch::Contains("test.durable.child_only")); break;
  }
  CHECK_THROWS_AS(system.send(victim, add{1}).get(), std::invalid_argument);
  system.shutdown();
  // Quarantine is remembered, and nothing of the damaged actor was deleted.
  store db(path);
  CHECK(db.quarantine_reason(victim));
  CHECK(db.record(victim));
}

TEST_CASE("journal mode: steps between records are replayed after SIGKILL", "[durable][crash][journal]") {
  temp_dir dir;
  const auto r = run_child({"durable.journal_then_die", dir.path("db")});
  INFO(r.output);
  REQUIRE(r.signal == SIGKILL);
  {
    store db(dir.path("db"));
    std::size_t entries = 0;
    db.for_each_journal_key([&](std::string_view, std::uint64_t) { ++entries; });
    CHECK(entries >= 100);  // every add since the first record, none written as a record
  }
  for (auto mode : {recovery_mode::lazy, recovery_mode::eager}) {
    actor_system system(store_at(dir.path("db"), mode, 1000), actor_system_config{2});
    CHECK(query(system, "counter") == 5050);
    CHECK(query(system, "flipper") == 101);  // an odd number of adds: odd state, replayed become
  }
  // Written as a record from now on: the journal goes with the first record.
  {
    actor_system system(store_at(dir.path("db"), recovery_mode::eager, 1), actor_system_config{2});
    system.send("counter", add{1}).get();
    system.send("flipper", add{0}).get();
    CHECK(query(system, "counter") == 5051);
  }
  store db(dir.path("db"));
  bool journal_empty = true;
  db.for_each_journal_key([&](std::string_view, std::uint64_t) { journal_empty = false; });
  CHECK(journal_empty);
}

TEST_CASE("a reference to an actor that is not running keeps its name through checkpoints", "[durable]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  {
    actor_system system(store_at(path), actor_system_config{2});
    actor_ref holder = system.spawn_durable("holder", holder_fn.bind(std::make_shared<held>()));
    system.spawn_durable("asker", asker_fn.bind(std::make_shared<tally>(), holder));
  }
  {
    store db(path);  // the holder's record is damaged: it will be quarantined
    std::string record = *db.record("holder");
    record[record.size() - 3] ^= 0x01;
    commit_batch batch(db);
    batch.put_record("holder", record);
    db.commit(batch, true);
  }
  {
    actor_system system(store_at(path), actor_system_config{2});
    CHECK_FALSE(query(system, "holder"));  // found damaged: quarantined, remembered in the store
    REQUIRE(system.quarantined().size() == 1);
  }
  {
    // The asker is rebuilt knowing the holder is quarantined: its reference cannot resolve.
    actor_system system(store_at(path), actor_system_config{2});
    system.send("asker", add{1}).get();  // the asker runs (its ask is refused) and checkpoints
    CHECK(query(system, "asker") == 0);
    system.sync();
  }
  store db(path);
  const std::string record = *db.record("asker");
  CHECK(record.find("holder") != std::string::npos);  // still names the holder
}

TEST_CASE("sync() makes every message told from outside durable, whatever the group commit held back",
          "[durable][crash]") {
  temp_dir dir;
  const auto r = run_child({"durable.tell_sync_then_die", dir.path("db")});
  INFO(r.output);
  REQUIRE(r.signal == SIGKILL);
  actor_system system(store_at(dir.path("db")), actor_system_config{2});
  std::optional<std::int64_t> total;
  for (int i = 0; i < 2000 && total != 20000; ++i) {
    total = query(system, "counter");
    if (total != 20000) std::this_thread::sleep_for(5ms);
  }
  CHECK(total == 20000);
}

TEST_CASE("bank sagas conserve money across SIGKILLs at random instants", "[durable][crash]") { run_torture(5); }

TEST_CASE("bank torture: REVENANT_TORTURE_KILLS random SIGKILLs", "[.torture]") {
  const char* env = std::getenv("REVENANT_TORTURE_KILLS");
  run_torture(env != nullptr ? std::max(1, std::atoi(env)) : 200);
}

TEST_CASE("bank sagas with fsync conserve money across power cuts at random instants", "[durable][crash]") {
  run_torture(3, true);
}

TEST_CASE("bank power-cut torture: REVENANT_TORTURE_KILLS / 4 random power cuts", "[.torture]") {
  const char* env = std::getenv("REVENANT_TORTURE_KILLS");
  run_torture(std::max(1, (env != nullptr ? std::atoi(env) : 200) / 4), true);
}
