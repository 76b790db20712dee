// Opening a store (docs/format.md 8.1): what a directory may hold, RocksDB's options, the
// checks of an existing store's metadata.
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

#include "storage/internal/keys.hpp"
#include "storage/internal/store_env.hpp"
#include "storage/internal/store_state.hpp"
#include "storage/internal/wal_check.hpp"
#include "storage/store.hpp"

namespace revenant {
namespace {

// RocksDB's info log, routed to store_options::log instead of a LOG file in the store. (Its
// own file logger also asserts when a write to a full disk failed before: the process
// aborted where the store should have reported the error.)
class sink_logger final : public rocksdb::Logger {
 public:
  explicit sink_logger(std::function<void(std::string_view)> sink)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), sink_(std::move(sink)) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    if (!sink_) return;
    char line[1024];
    const int n = std::vsnprintf(line, sizeof line, format, ap);
    if (n < 0) return;
    try {
      sink_(std::string_view(line, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof line - 1)));
    } catch (...) {
      // A log sink must not fail RocksDB's write or compaction.
    }
  }

 private:
  std::function<void(std::string_view)> sink_;
};

// What a directory holds, before anything is opened in it.
enum class directory_state { create, open, refuse };

// Only a missing or empty directory, or one a killed creation left without data, is created:
// creating a database where RocksDB's data files lie without their CURRENT file would make
// RocksDB delete them as obsolete at the next open.
directory_state classify(const std::string& path, std::string& why) {
  namespace fs = std::filesystem;
  std::error_code error;
  const auto status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) return directory_state::create;
  if (error) {
    why = "cannot be examined: " + error.message();
    return directory_state::refuse;
  }
  if (!fs::is_directory(status)) {
    why = "is not a directory";
    return directory_state::refuse;
  }
  if (fs::exists(fs::path(path) / "CURRENT", error)) return directory_state::open;
  std::vector<std::string> data;
  for (const auto& entry : fs::directory_iterator(path, error)) {
    const std::string name = entry.path().filename().string();
    const bool table = name.ends_with(".sst") || name.ends_with(".blob");
    const bool log = name.ends_with(".log") && name != "LOG" && entry.is_regular_file() && entry.file_size() > 0;
    // A MANIFEST without CURRENT is what a creation killed before its first commit leaves: it
    // describes no data, so creating over it loses nothing.
    if (table || log) data.push_back(name);
  }
  if (error) {
    why = "cannot be listed: " + error.message();
    return directory_state::refuse;
  }
  if (data.empty()) {
    // Empty logs hold nothing, and RocksDB refuses to create a database beside any log.
    for (const auto& entry : fs::directory_iterator(path, error))
      if (entry.path().filename().string().ends_with(".log") && entry.is_regular_file() && entry.file_size() == 0)
        fs::remove(entry.path(), error);
    return directory_state::create;
  }
  std::sort(data.begin(), data.end());
  why = "holds RocksDB data files (" + data.front() + (data.size() > 1 ? " and " + std::to_string(data.size() - 1) + " more" : "") +
        ") but no CURRENT file naming its manifest; refusing to create a new store over them (that would delete " +
        "them). Restore CURRENT (one line: the name of the newest MANIFEST-* file) or move the directory away";
  return directory_state::refuse;
}

// Copies the logs from the damaged one on into <path>/damaged-wal/, before an open that
// accepts the loss lets RocksDB drop and then delete them.
std::string keep_damaged_logs(const std::string& path, const detail::wal_damage& damage) {
  namespace fs = std::filesystem;
  const fs::path evidence = fs::path(path) / "damaged-wal";
  std::error_code error;
  fs::create_directories(evidence, error);
  if (error) throw store_error("revenant: store \"" + path + "\": cannot keep the damaged write-ahead log: " + error.message());
  // Log numbers are decimal, zero-padded to at least six digits: compared as numbers.
  auto number = [](const std::string& name) -> std::optional<std::uint64_t> {
    if (name.size() <= 4 || !name.ends_with(".log")) return std::nullopt;
    const std::string digits = name.substr(0, name.size() - 4);
    if (digits.size() > 19 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    return std::stoull(digits);
  };
  const auto damaged = number(fs::path(damage.file).filename().string());
  for (const auto& entry : fs::directory_iterator(path)) {
    const std::string name = entry.path().filename().string();
    const auto n = number(name);
    if (!n || (damaged && *n < *damaged)) continue;
    fs::copy_file(entry.path(), evidence / name, fs::copy_options::overwrite_existing, error);
    if (error) throw store_error("revenant: store \"" + path + "\": cannot keep " + name + ": " + error.message());
  }
  return evidence.string();
}

std::string describe(const detail::wal_damage& d) {
  return "the write-ahead log " + d.file + " is damaged at offset " + std::to_string(d.offset) + " (" + d.what +
         "); " + std::to_string(d.batches_after) + " intact group commits (" + std::to_string(d.writes_after) +
         " writes, " + std::to_string(d.bytes_after) + " bytes) follow the damage";
}

}  // namespace

rocksdb::Env*& detail::store_test_env() noexcept {
  static rocksdb::Env* env = nullptr;
  return env;
}


store::store(const std::string& path, store_options opts) : state_(std::make_unique<detail::store_state>()) {
  detail::store_state& st = *state_;
  st.path = path;
  std::string refused;
  const directory_state state = classify(path, refused);
  if (state == directory_state::refuse) throw store_error("revenant: store \"" + path + "\" " + refused);
  if (opts.must_exist && state == directory_state::create)
    throw store_error("revenant: store \"" + path + "\" does not exist (" +
                      (std::filesystem::exists(path) ? "the directory holds no store" : "no such directory") + ")");
  if (state == directory_state::create) {
    // Made here, so that RocksDB's creation finds it (it reports a missing one as an error).
    std::error_code error;
    std::filesystem::create_directories(path, error);
    if (error) throw store_error("revenant: store \"" + path + "\" cannot be created: " + error.message());
  }
  rocksdb::Options options;
  options.create_if_missing = state == directory_state::create;
  options.create_missing_column_families = !opts.must_exist;
  if (rocksdb::Env* env = detail::store_test_env()) options.env = env;
  options.info_log = std::make_shared<sink_logger>(std::move(opts.log));
  // A log can be deleted only once every family with writes in it is flushed; the rarely
  // written families (wake, quarantine, meta) would otherwise pin every log since their last
  // flush (1.5 GB of logs for 2.9 MB of data seen, 12 s to reopen). Past this total RocksDB
  // flushes the families that pin the oldest log (docs/benchmarks.md, "Store size").
  options.max_total_wal_size = std::uint64_t{64} << 20;
  // Damage inside a log is refused, not skipped: RocksDB's default recovers up to the damage
  // and silently drops every later commit. A torn tail (a crash mid-write) is tolerated.
  options.wal_recovery_mode = opts.accept_wal_loss ? rocksdb::WALRecoveryMode::kPointInTimeRecovery
                                                   : rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // Opening is on the path of the first message after a restart: open table files on this
  // thread instead of starting a pool of 16 threads per column family for it.
  options.max_file_opening_threads = 1;
  // Point lookups by actor name (lazy activation) skip files with a bloom filter.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions family;
  family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Records are read whole by eager recovery's scan, where per-block costs dominate: 16 KB
  // blocks scan a million records 16% faster than the default 4 KB, and cost a lazy
  // activation's uncached point lookup about 1.4 us more (docs/benchmarks.md, "Durability").
  rocksdb::BlockBasedTableOptions record_table = table;
  record_table.block_size = 16 << 10;
  rocksdb::ColumnFamilyOptions records;
  records.table_factory.reset(rocksdb::NewBlockBasedTableFactory(record_table));
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, family}, {"actors", records}, {"mailbox", family},
      {"wake", family},    {"quarantine", family}, {"journal", family}, {"outbox", family}, {"inbox", family},
      {"migrating", family}, {"moved", family},  {"incoming", family}};
  // An existing database must be a revenant store, or one whose creation was cut short (a
  // process killed while creating it leaves a database with some of the families and no
  // data): adopting someone else's RocksDB would write into it.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(options), path, &existing).ok()) {
    for (const auto& name : existing)
      if (std::none_of(families.begin(), families.end(), [&](const auto& f) { return f.name == name; }))
        throw store_error("revenant: \"" + path + "\" is a RocksDB database but not a revenant store (it has a \"" +
                          name + "\" column family)");
    if (opts.must_exist && std::find(existing.begin(), existing.end(), "actors") == existing.end())
      throw store_error("revenant: \"" + path + "\" is a RocksDB database but not a revenant store (no \"actors\" column family)");
    if (std::find(existing.begin(), existing.end(), "actors") == existing.end()) {
      rocksdb::DB* probe = nullptr;
      if (rocksdb::DB::OpenForReadOnly(options, path, &probe).ok()) {
        std::unique_ptr<rocksdb::DB> owned(probe);
        std::unique_ptr<rocksdb::Iterator> it(probe->NewIterator(rocksdb::ReadOptions()));
        it->SeekToFirst();
        if (it->Valid())
          throw store_error("revenant: \"" + path + "\" is a RocksDB database but not a revenant store (it holds data " +
                            "and no store format)");
      }
    }
  }
  if (opts.accept_wal_loss && state == directory_state::open) {
    if (auto damage = detail::find_wal_damage(path)) {
      st.wal_loss.emplace(wal_loss_report{damage->file, damage->offset, damage->what, damage->bytes_after,
                                           damage->batches_after, damage->writes_after, keep_damaged_logs(path, *damage)});
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(options, path, families, &handles, &st.db);
  if (!s.ok()) {
    if (s.IsCorruption() && !opts.accept_wal_loss)
      if (auto damage = detail::find_wal_damage(path))
        throw store_error("revenant: store \"" + path + "\": " + describe(*damage) +
                          ". Nothing was changed. Keep a copy of the directory; to open it anyway and lose what follows " +
                          "the damage, set durable_config::accept_wal_loss (RocksDB: " + s.ToString() + ")");
    st.fail("cannot open", s);
  }
  st.meta = handles[0];
  st.actors = handles[1];
  st.mailbox = handles[2];
  st.wake = handles[3];
  st.quarantine = handles[4];
  st.journal = handles[5];
  st.outbox = handles[6];
  st.inbox = handles[7];
  st.migrating = handles[8];
  st.moved = handles[9];
  st.incoming = handles[10];
  // From here on a failure closes the database with the state.

  if (auto format = st.get(st.meta, detail::format_key, "\"format\"")) {
    const std::optional<std::uint32_t> version = detail::decode_format_version(*format);
    if (version == 1 || version == 2) {
      // Format 2 is format 1 and the outbox and inbox families, format 3 format 2 and the
      // migration families; the open above made those the store lacked: it is format 3 from
      // now on (an older build refuses it, naming a family it does not know).
      rocksdb::WriteBatch upgrade;
      const std::string stamped = detail::encode_format_version(store_format_version);
      upgrade.Put(st.meta, rocksdb::Slice(detail::format_key.data(), detail::format_key.size()), stamped);
      st.write(upgrade, true);
    } else if (version != store_format_version)
      throw store_error("revenant: store \"" + path + "\" has store format " +
                        (version ? std::to_string(*version) : "(unreadable)") +
                        ", this build reads format " + std::to_string(store_format_version));
  } else if (!opts.must_exist) {
    // Only a store that holds nothing is stamped: one with data and no format key is damaged
    // or not a revenant store, and re-stamping it would hide that.
    for (auto* checked : {st.meta, st.actors, st.mailbox, st.wake, st.quarantine, st.journal, st.outbox, st.inbox,
                          st.migrating, st.moved, st.incoming}) {
      rocksdb::ReadOptions read;
      read.fill_cache = false;
      std::unique_ptr<rocksdb::Iterator> it(st.db->NewIterator(read, checked));
      it->SeekToFirst();
      if (!it->status().ok()) st.fail("scan of the " + checked->GetName() + " family failed", it->status());
      if (it->Valid())
        throw store_error("revenant: store \"" + path + "\" holds data (key \"" + it->key().ToString() +
                          "\" in the " + checked->GetName() + " family) but no \"format\" meta key: it is damaged " +
                          "or not a revenant store; refusing to stamp it");
    }
    rocksdb::WriteBatch batch;
    const std::string version = detail::encode_format_version(store_format_version);
    batch.Put(st.meta, rocksdb::Slice(detail::format_key.data(), detail::format_key.size()), version);
    st.write(batch, true);
  }
  if (auto seq = st.get(st.meta, detail::next_seq_key, "\"next_seq\"")) {
    const std::optional<std::uint64_t> next = detail::decode_next_seq(*seq);
    if (!next) throw store_error("revenant: store \"" + path + "\": meta key next_seq is not 8 bytes");
    st.next_seq = *next;
  }
}

store::~store() = default;

detail::store_state::~store_state() {
  if (db == nullptr) return;
  for (auto* h : {meta, actors, mailbox, wake, quarantine, journal, outbox, inbox, migrating, moved, incoming})
    if (h != nullptr) db->DestroyColumnFamilyHandle(h);
  db->Close();
  delete db;
}

}  // namespace revenant
