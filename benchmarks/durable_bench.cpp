// Durability against raw RocksDB, same machine, same run.
//
//   durable_steps/revenant/fsync:F   1,000 durable actors; every message changes the actor's
//                                    256-byte state, and is handled and committed (fsynced if F)
//   durable_steps/rocksdb/fsync:F    WriteBatches of 100 puts of 256-byte values over 1,000 keys
//                                    ("actor/<i>"), db->Write with WriteOptions::sync = F
//   recovery_eager/revenant          open a store of 1,000,000 small durable actors and rebuild
//                                    them all (recovery_mode::eager)
//   recovery_eager/rocksdb           open a database of 1,000,000 values (the same small state,
//                                    Cereal BinaryOutputArchive), scan it, decode every value
//   lazy_first_message/revenant      open that store with recovery_mode::lazy until one message
//                                    sent to one actor has been handled (counter
//                                    first_message_ms, the mean over the iterations)
//   long_run/revenant                1,000 durable actors with 4 KiB states take 200 waves of one
//                                    message each (about 800 MB of records committed) while one
//                                    more actor keeps a timer armed (a wake entry, written once);
//                                    then the store is closed and reopened (eager) until one
//                                    message is handled. Timed: the reopen. Counters: the store's
//                                    size and its write-ahead logs' after the run (MB)
//   long_run/rocksdb                 the same write pattern on raw RocksDB with its default
//                                    options: six column families, batches of 1,000 4 KiB puts
//                                    into one plus a counter into another, one put into a third
//                                    at the start; then close and reopen
//
// items_per_second counts messages handled (revenant) or puts written (rocksdb) for
// durable_steps, actors rebuilt or values decoded for recovery_eager. A durable_steps iteration
// ends once every message was handled and actor_system::sync() returned: all of it is committed.
// Recovery times the open and the rebuild only; closing (releasing a million actors) is outside
// the timed region for both sides, and so is malloc_trim after it: glibc defers consolidating
// the million freed chunks to the next large allocation, which would bill ~250 ms of the
// previous iteration's teardown to the next open. Stores live under a fresh directory in /tmp,
// removed at exit.
#include <benchmark/benchmark.h>

#include <cereal/archives/binary.hpp>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <malloc.h>
#include <stdlib.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <istream>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

#include "actors/actor.hpp"
#include "actors/message_type.hpp"
#include "runtime/actor_system.hpp"
#include "storage/store.hpp"

namespace {

constexpr std::uint32_t stepping_actors = 1'000;
constexpr std::uint32_t puts_per_batch = 100;
constexpr std::uint32_t recovery_actors = 1'000'000;
constexpr std::uint32_t setup_batch = 10'000;
constexpr unsigned workers = 2;

// ---- plumbing ------------------------------------------------------------------------------

// A directory made with mkdtemp under /tmp, removed with everything in it on destruction.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = "/tmp/revenant-durable-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("durable_bench: mkdtemp failed in /tmp");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string actor_name(std::uint32_t i) { return "actor/" + std::to_string(i); }

revenant::actor_system_config system_config() {
  revenant::actor_system_config config;
  config.workers = workers;
  return config;
}

revenant::durable_config store_at(const std::string& path, bool fsync, revenant::recovery_mode mode) {
  revenant::durable_config config;
  config.path = path;
  config.fsync = fsync;
  config.recovery = mode;
  return config;
}

// Messages handled by the benchmark's actors, and a wait for a count. Benchmark plumbing, not
// actor state: it is a global so that actors rebuilt from a store count here too.
class handled_counter {
 public:
  void bump() {
    if (count_.fetch_add(1, std::memory_order_acq_rel) + 1 == target_.load(std::memory_order_acquire)) {
      std::lock_guard lock(mutex_);
      reached_.notify_all();
    }
  }
  std::int64_t now() const { return count_.load(std::memory_order_acquire); }
  void wait_for(std::int64_t n) {
    target_.store(n, std::memory_order_release);
    std::unique_lock lock(mutex_);
    reached_.wait(lock, [&] { return now() >= n; });
  }

 private:
  std::atomic<std::int64_t> count_{0};
  std::atomic<std::int64_t> target_{std::numeric_limits<std::int64_t>::max()};
  std::mutex mutex_;
  std::condition_variable reached_;
};
handled_counter handled;

// ---- the actors ----------------------------------------------------------------------------

// Sets one byte of the recipient's state.
struct poke {
  std::uint32_t at = 0;
  std::uint8_t value = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(at, value);
  }
};
const revenant::message_type<poke> poke_type{"bench.durable.poke"};

// durable_steps: a 256-byte state, checkpointed with every step.
struct wide_state {
  std::array<std::uint8_t, 256> bytes{};
  std::uint64_t messages = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(bytes, messages);
  }
};

void stepper_body(revenant::context&, const revenant::message& m, const std::shared_ptr<wide_state>& s) {
  if (const auto* p = m.get_if<poke>()) {
    s->bytes[p->at % s->bytes.size()] = p->value;
    ++s->messages;
    handled.bump();
  }
}
const revenant::function<void(revenant::context&, const revenant::message&), stepper_body> stepper_fn{
    "bench.durable.stepper"};

// recovery: a small state, the same struct the raw peer decodes.
struct small_state {
  std::uint64_t messages = 0;
  std::uint32_t tag = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(messages, tag);
  }
};

void small_body(revenant::context&, const revenant::message& m, const std::shared_ptr<small_state>& s) {
  if (m.is<poke>()) {
    ++s->messages;
    handled.bump();
  }
}
const revenant::function<void(revenant::context&, const revenant::message&), small_body> small_fn{
    "bench.durable.small"};

// ---- durable_steps -------------------------------------------------------------------------

// Messages per iteration: enough for groups of thousands of steps per commit.
std::int64_t step_messages(bool fsync) { return fsync ? 20'000 : 100'000; }

void durable_steps_revenant(benchmark::State& state) {
  const bool fsync = state.range(0) != 0;
  const std::int64_t messages = step_messages(fsync);
  temp_dir dir;
  const std::string path = dir.path("store");
  {
    // Spawned without fsync (each spawn waits for its own commit), then reopened as measured.
    revenant::actor_system setup(store_at(path, false, revenant::recovery_mode::lazy), system_config());
    for (std::uint32_t i = 0; i < stepping_actors; ++i)
      setup.spawn_durable(actor_name(i), stepper_fn.bind(std::make_shared<wide_state>()));
  }
  revenant::actor_system system(store_at(path, fsync, revenant::recovery_mode::eager), system_config());
  std::vector<revenant::actor_ref> actors;
  for (std::uint32_t i = 0; i < stepping_actors; ++i) actors.push_back(system.find(actor_name(i)));
  // One untimed round, so every actor has run once in this system.
  const std::int64_t warm = handled.now() + stepping_actors;
  for (auto& a : actors) a.tell(poke{0, 1});
  handled.wait_for(warm);
  system.sync();

  std::uint32_t next = 0;
  for (auto _ : state) {
    const std::int64_t target = handled.now() + messages;
    for (std::int64_t i = 0; i < messages; ++i, next = (next + 1) % stepping_actors)
      actors[next].tell(poke{static_cast<std::uint32_t>(i), static_cast<std::uint8_t>(i)});
    handled.wait_for(target);
    system.sync();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * messages);
}

void durable_steps_rocksdb(benchmark::State& state) {
  const bool fsync = state.range(0) != 0;
  const std::int64_t messages = step_messages(fsync);
  temp_dir dir;
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (const auto s = rocksdb::DB::Open(options, dir.path("raw"), &raw); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  std::vector<std::string> keys;
  for (std::uint32_t i = 0; i < stepping_actors; ++i) keys.push_back(actor_name(i));
  rocksdb::WriteOptions write;
  write.sync = fsync;
  std::string value(256, '\0');
  std::uint32_t next = 0;
  for (auto _ : state) {
    for (std::int64_t done = 0; done < messages; done += puts_per_batch) {
      rocksdb::WriteBatch batch;
      for (std::uint32_t j = 0; j < puts_per_batch; ++j, next = (next + 1) % stepping_actors) {
        value[j] = static_cast<char>(done + j);
        batch.Put(keys[next], value);
      }
      if (const auto s = db->Write(write, &batch); !s.ok()) {
        state.SkipWithError(s.ToString().c_str());
        return;
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * messages);
}

// Each pair runs back to back: the disk's fsync latency drifts over minutes on a shared machine.
void durable_steps_options(benchmark::internal::Benchmark* b) {
  b->ArgName("fsync")->Iterations(5)->Unit(benchmark::kMillisecond)->UseRealTime();
}
BENCHMARK(durable_steps_revenant)->Name("durable_steps/revenant")->Apply(durable_steps_options)->Arg(0);
BENCHMARK(durable_steps_rocksdb)->Name("durable_steps/rocksdb")->Apply(durable_steps_options)->Arg(0);
BENCHMARK(durable_steps_revenant)->Name("durable_steps/revenant")->Apply(durable_steps_options)->Arg(1);
BENCHMARK(durable_steps_rocksdb)->Name("durable_steps/rocksdb")->Apply(durable_steps_options)->Arg(1);

// ---- recovery ------------------------------------------------------------------------------

// Throws, naming what was being done, unless s is ok.
void check(const rocksdb::Status& s, const std::string& what) {
  if (!s.ok()) throw std::runtime_error("durable_bench: " + what + ": " + s.ToString());
}

// Compacts a whole column family into its last level, as a store that has been running a while.
void settle(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family, const std::string& path) {
  check(db.Flush(rocksdb::FlushOptions(), family), "flush of " + path);
  check(db.CompactRange(rocksdb::CompactRangeOptions(), family, nullptr, nullptr), "compaction of " + path);
}

// The two stores of 1,000,000 actors, built once and shared by the recovery benchmarks.
struct recovery_stores {
  temp_dir dir;
  std::string runtime = dir.path("runtime");
  std::string raw = dir.path("raw");

  recovery_stores() {
    // One actor spawned through the runtime; its record, copied under a million names (a record
    // does not hold its actor's name).
    {
      revenant::actor_system system(store_at(runtime, false, revenant::recovery_mode::lazy), system_config());
      system.spawn_durable(actor_name(0), small_fn.bind(std::make_shared<small_state>(small_state{0, 7})));
    }
    {
      revenant::store db(runtime);
      const std::string record = *db.record(actor_name(0));
      revenant::commit_batch batch(db);
      for (std::uint32_t base = 0; base < recovery_actors; base += setup_batch) {
        batch.clear();
        for (std::uint32_t i = base; i < base + setup_batch; ++i) batch.put_record(actor_name(i), record);
        db.commit(batch, false);
      }
      db.compact();  // as settle() below does for the raw database
    }
    // The same state, as plain Cereal, under the same keys.
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw_db = nullptr;
    check(rocksdb::DB::Open(options, raw, &raw_db), "cannot create " + raw);
    std::unique_ptr<rocksdb::DB> db(raw_db);
    std::ostringstream out;
    {
      cereal::BinaryOutputArchive ar(out);
      small_state s{0, 7};
      ar(s);
    }
    const std::string value = out.str();
    for (std::uint32_t base = 0; base < recovery_actors; base += setup_batch) {
      rocksdb::WriteBatch batch;
      for (std::uint32_t i = base; i < base + setup_batch; ++i) batch.Put(actor_name(i), value);
      check(db->Write(rocksdb::WriteOptions(), &batch), "write to " + raw);
    }
    settle(*db, db->DefaultColumnFamily(), raw);
    check(db->Close(), "close of " + raw);
  }
};
const recovery_stores& stores() {
  static recovery_stores built;
  return built;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void recovery_eager_revenant(benchmark::State& state) {
  const std::string& path = stores().runtime;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto system = std::make_unique<revenant::actor_system>(store_at(path, false, revenant::recovery_mode::eager),
                                                           system_config());
    state.SetIterationTime(seconds_since(start));
    if (system->recovery().actors_activated != recovery_actors || !system->quarantined().empty()) {
      state.SkipWithError("not every actor was rebuilt");
      return;
    }
    system.reset();
    ::malloc_trim(0);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * recovery_actors);
}
BENCHMARK(recovery_eager_revenant)
    ->Name("recovery_eager/revenant")
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

// Reads an in-memory value as a std::istream, without copying it.
class view_buffer : public std::streambuf {
 public:
  void reset(const rocksdb::Slice& bytes) {
    char* begin = const_cast<char*>(bytes.data());
    setg(begin, begin, begin + bytes.size());
  }
};

void recovery_eager_rocksdb(benchmark::State& state) {
  const std::string& path = stores().raw;
  std::uint64_t total = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    rocksdb::DB* raw = nullptr;
    if (const auto s = rocksdb::DB::Open(rocksdb::Options(), path, &raw); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    std::unique_ptr<rocksdb::DB> db(raw);
    std::uint32_t decoded = 0;
    {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
      view_buffer buffer;
      std::istream in(&buffer);
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        buffer.reset(it->value());
        in.clear();
        cereal::BinaryInputArchive ar(in);
        small_state s;
        ar(s);
        total += s.messages + s.tag;
        ++decoded;
      }
    }
    state.SetIterationTime(seconds_since(start));
    if (decoded != recovery_actors) {
      state.SkipWithError("the scan did not see every value");
      return;
    }
    db->Close();
    ::malloc_trim(0);
  }
  benchmark::DoNotOptimize(total);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * recovery_actors);
}
BENCHMARK(recovery_eager_rocksdb)
    ->Name("recovery_eager/rocksdb")
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

void lazy_first_message_revenant(benchmark::State& state) {
  const std::string& path = stores().runtime;
  double total_ms = 0;
  std::uint32_t round = 0;
  for (auto _ : state) {
    const std::string name = actor_name((++round * 100'003u) % recovery_actors);
    const std::int64_t target = handled.now() + 1;
    const auto start = std::chrono::steady_clock::now();
    auto system = std::make_unique<revenant::actor_system>(store_at(path, false, revenant::recovery_mode::lazy),
                                                           system_config());
    auto committed = system->send(name, poke{});
    handled.wait_for(target);
    const double elapsed = seconds_since(start);
    state.SetIterationTime(elapsed);
    total_ms += elapsed * 1e3;
    committed.get();
    system.reset();
  }
  state.counters["first_message_ms"] = total_ms / static_cast<double>(state.iterations());
}
BENCHMARK(lazy_first_message_revenant)
    ->Name("lazy_first_message/revenant")
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

// ---- long_run ------------------------------------------------------------------------------

constexpr std::uint32_t long_run_actors = 1'000;
constexpr std::uint32_t long_run_waves = 200;
constexpr std::size_t long_run_state_bytes = 4096;

struct thick_state {
  std::vector<std::uint8_t> bytes = std::vector<std::uint8_t>(long_run_state_bytes);
  template <class Archive>
  void serialize(Archive& ar) {
    ar(bytes);
  }
};
void thick_body(revenant::context&, const revenant::message& m, const std::shared_ptr<thick_state>& s) {
  if (const auto* p = m.get_if<poke>()) {
    s->bytes[p->at % s->bytes.size()] = p->value;
    handled.bump();
  }
}
const revenant::function<void(revenant::context&, const revenant::message&), thick_body> thick_fn{
    "bench.durable.thick"};
// Arms a day-long timer on its first message: a wake entry that stays.
void alarm_body(revenant::context& ctx, const revenant::message& m) {
  if (m.is<poke>()) {
    ctx.after(std::chrono::hours(24), poke{});
    handled.bump();
  }
}
const revenant::function<void(revenant::context&, const revenant::message&), alarm_body> alarm_fn{
    "bench.durable.alarm"};

// Bytes of the files in path whose names end with suffix (all with "").
double megabytes(const std::string& path, const std::string& suffix) {
  std::uint64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(path))
    if (entry.is_regular_file() && entry.path().filename().string().ends_with(suffix)) total += entry.file_size();
  return static_cast<double>(total) / 1e6;
}

void long_run_revenant(benchmark::State& state) {
  for (auto _ : state) {
    temp_dir dir;
    const std::string path = dir.path("store");
    {
      revenant::actor_system system(store_at(path, false, revenant::recovery_mode::eager), system_config());
      std::vector<revenant::actor_ref> actors;
      for (std::uint32_t i = 0; i < long_run_actors; ++i)
        actors.push_back(system.spawn_durable(actor_name(i), thick_fn.bind(std::make_shared<thick_state>())));
      std::int64_t target = handled.now() + 1;
      system.spawn_durable("alarm", alarm_fn.bind()).tell(poke{});
      handled.wait_for(target);
      for (std::uint32_t wave = 0; wave < long_run_waves; ++wave) {
        target = handled.now() + long_run_actors;
        for (auto& a : actors) a.tell(poke{wave, static_cast<std::uint8_t>(wave)});
        handled.wait_for(target);
      }
      system.sync();
    }
    state.counters["store_mb"] = megabytes(path, "");
    state.counters["wal_mb"] = megabytes(path, ".log");
    const std::int64_t target = handled.now() + 1;
    const auto start = std::chrono::steady_clock::now();
    revenant::actor_system reopened(store_at(path, false, revenant::recovery_mode::eager), system_config());
    reopened.find(actor_name(0)).tell(poke{});
    handled.wait_for(target);
    state.SetIterationTime(seconds_since(start));
  }
}
BENCHMARK(long_run_revenant)->Name("long_run/revenant")->Iterations(1)->Unit(benchmark::kMillisecond)->UseManualTime();

void long_run_rocksdb(benchmark::State& state) {
  const std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, "actors", "mailbox", "wake",
                                          "quarantine", "journal"};
  for (auto _ : state) {
    temp_dir dir;
    const std::string path = dir.path("raw");
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
    auto open = [&](std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
      rocksdb::DB* raw = nullptr;
      check(rocksdb::DB::Open(options, path, families, &handles, &raw), "cannot open " + path);
      return std::unique_ptr<rocksdb::DB>(raw);
    };
    auto close = [](std::unique_ptr<rocksdb::DB>& db, std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
      for (auto* h : handles) check(db->DestroyColumnFamilyHandle(h), "close");
      check(db->Close(), "close");
      db.reset();
      handles.clear();
    };
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    auto db = open(handles);
    check(db->Put(rocksdb::WriteOptions(), handles[3], "alarm", ""), "put");
    std::string value(long_run_state_bytes + 64, 'v');
    std::uint64_t counter = 0;
    for (std::uint32_t wave = 0; wave < long_run_waves; ++wave) {
      rocksdb::WriteBatch batch;
      for (std::uint32_t i = 0; i < long_run_actors; ++i) {
        value[i % value.size()] = static_cast<char>(wave);
        batch.Put(handles[1], actor_name(i), value);
      }
      ++counter;
      batch.Put(handles[0], "next_seq", rocksdb::Slice(reinterpret_cast<const char*>(&counter), sizeof counter));
      check(db->Write(rocksdb::WriteOptions(), &batch), "write");
    }
    close(db, handles);
    state.counters["store_mb"] = megabytes(path, "");
    state.counters["wal_mb"] = megabytes(path, ".log");
    const auto start = std::chrono::steady_clock::now();
    db = open(handles);
    std::string first;
    check(db->Get(rocksdb::ReadOptions(), handles[1], actor_name(0), &first), "get");
    state.SetIterationTime(seconds_since(start));
    close(db, handles);
  }
}
BENCHMARK(long_run_rocksdb)->Name("long_run/rocksdb")->Iterations(1)->Unit(benchmark::kMillisecond)->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
