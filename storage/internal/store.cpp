#include "storage/store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

#include "storage/internal/crc32c.hpp"
#include "storage/internal/store_env.hpp"
#include "storage/internal/wal_check.hpp"

namespace revenant {
namespace {

// Actor record header (docs/format.md, "Actor record"): little-endian.
constexpr char record_magic[4] = {'R', 'V', 'N', 'A'};
constexpr std::uint16_t record_version = 1;
constexpr std::size_t record_fixed = 26;  // up to and including the behavior name's length

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
T get_at(std::string_view bytes, std::size_t at) {
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}

[[noreturn]] void io_failure(const std::string& path, const std::string& what, const rocksdb::Status& s) {
  throw store_error("revenant: store \"" + path + "\": " + what + ": " + s.ToString());
}

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
std::string keep_damaged_logs(const std::string& path, const storage_internal::wal_damage& damage) {
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

std::string describe(const storage_internal::wal_damage& d) {
  return "the write-ahead log " + d.file + " is damaged at offset " + std::to_string(d.offset) + " (" + d.what +
         "); " + std::to_string(d.batches_after) + " intact group commits (" + std::to_string(d.writes_after) +
         " writes, " + std::to_string(d.bytes_after) + " bytes) follow the damage";
}

}  // namespace

rocksdb::Env*& storage_internal::store_test_env() noexcept {
  static rocksdb::Env* env = nullptr;
  return env;
}

std::string encode_actor_record(const actor_record_info& info, std::string_view snapshot) {
  const std::size_t name_length = std::min<std::size_t>(info.behavior.size(), 0xffff);
  std::string out;
  out.reserve(record_fixed + name_length + 4 + snapshot.size());
  out.append(record_magic, sizeof record_magic);
  put<std::uint16_t>(out, record_version);
  put<std::uint16_t>(out, 0);
  put<std::uint32_t>(out, info.pending_asks);
  put<std::uint32_t>(out, info.timers);
  put<std::uint64_t>(out, info.steps);
  put<std::uint16_t>(out, static_cast<std::uint16_t>(name_length));
  out.append(info.behavior.data(), name_length);
  put<std::uint32_t>(out, storage_internal::crc32c(out.data(), out.size()));
  out.append(snapshot);
  return out;
}

actor_record_view decode_actor_record(std::string_view bytes, const std::string& subject) {
  auto fail = [&](snapshot_errc code, std::size_t at, std::string detail) {
    throw snapshot_error(code, at, "actor record: " + std::move(detail), subject);
  };
  if (bytes.size() < record_fixed + 4)
    fail(snapshot_errc::truncated, bytes.size(), "record is " + std::to_string(bytes.size()) + " bytes, shorter than its header");
  if (std::memcmp(bytes.data(), record_magic, sizeof record_magic) != 0)
    fail(snapshot_errc::bad_magic, 0, "does not start with \"RVNA\"");
  const auto name_length = get_at<std::uint16_t>(bytes, 24);
  const std::size_t crc_at = record_fixed + name_length;
  if (bytes.size() < crc_at + 4)
    fail(snapshot_errc::truncated, bytes.size(), "header announces a " + std::to_string(name_length) + "-byte behavior name");
  const auto stored = get_at<std::uint32_t>(bytes, crc_at);
  if (stored != storage_internal::crc32c(bytes.data(), crc_at))
    fail(snapshot_errc::checksum_mismatch, crc_at, "record header CRC32C does not match");
  if (const auto version = get_at<std::uint16_t>(bytes, 4); version != record_version)
    fail(snapshot_errc::unsupported_version, 4,
         "record version " + std::to_string(version) + ", this build reads " + std::to_string(record_version));
  if (const auto flags = get_at<std::uint16_t>(bytes, 6); flags != 0)
    fail(snapshot_errc::malformed, 6, "record flags are " + std::to_string(flags) + ", expected 0");
  actor_record_view view;
  view.pending_asks = get_at<std::uint32_t>(bytes, 8);
  view.timers = get_at<std::uint32_t>(bytes, 12);
  view.steps = get_at<std::uint64_t>(bytes, 16);
  view.behavior = bytes.substr(record_fixed, name_length);
  view.snapshot = bytes.substr(crc_at + 4);
  return view;
}

store::store(const std::string& path, store_options opts) : path_(path) {
  std::string refused;
  const directory_state state = classify(path, refused);
  if (state == directory_state::refuse) throw store_error("revenant: store \"" + path + "\" " + refused);
  if (state == directory_state::create) {
    // Made here, so that RocksDB's creation finds it (it reports a missing one as an error).
    std::error_code error;
    std::filesystem::create_directories(path, error);
    if (error) throw store_error("revenant: store \"" + path + "\" cannot be created: " + error.message());
  }
  rocksdb::Options options;
  options.create_if_missing = state == directory_state::create;
  options.create_missing_column_families = true;
  if (rocksdb::Env* env = storage_internal::store_test_env()) options.env = env;
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
      {"wake", family}, {"quarantine", family}, {"journal", family}};
  // An existing database must be a revenant store, or one whose creation was cut short (a
  // process killed while creating it leaves a database with some of the families and no
  // data): adopting someone else's RocksDB would write into it.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(options), path, &existing).ok()) {
    for (const auto& name : existing)
      if (std::none_of(families.begin(), families.end(), [&](const auto& f) { return f.name == name; }))
        throw store_error("revenant: \"" + path + "\" is a RocksDB database but not a revenant store (it has a \"" +
                          name + "\" column family)");
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
    if (auto damage = storage_internal::find_wal_damage(path)) {
      wal_loss_.emplace(wal_loss_report{damage->file, damage->offset, damage->what, damage->bytes_after,
                                           damage->batches_after, damage->writes_after, keep_damaged_logs(path, *damage)});
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(options, path, families, &handles, &db_);
  if (!s.ok()) {
    if (s.IsCorruption() && !opts.accept_wal_loss)
      if (auto damage = storage_internal::find_wal_damage(path))
        throw store_error("revenant: store \"" + path + "\": " + describe(*damage) +
                          ". Nothing was changed. Keep a copy of the directory; to open it anyway and lose what follows " +
                          "the damage, set durable_config::accept_wal_loss (RocksDB: " + s.ToString() + ")");
    io_failure(path, "cannot open", s);
  }
  meta_ = handles[0];
  actors_ = handles[1];
  mailbox_ = handles[2];
  wake_ = handles[3];
  quarantine_ = handles[4];
  journal_ = handles[5];

  try {
    if (auto format = get(meta_, "format")) {
      if (format->size() != 4 || get_at<std::uint32_t>(*format, 0) != store_format_version)
        throw store_error("revenant: store \"" + path + "\" has store format " +
                          (format->size() == 4 ? std::to_string(get_at<std::uint32_t>(*format, 0)) : "(unreadable)") +
                          ", this build reads format " + std::to_string(store_format_version));
    } else {
      // Only a store that holds nothing is stamped: one with data and no format key is damaged
      // or not a revenant store, and re-stamping it would hide that.
      for (auto* checked : {meta_, actors_, mailbox_, wake_, quarantine_, journal_}) {
        auto it = scan(checked);
        it->SeekToFirst();
        check_scan(*it, "the " + checked->GetName() + " family");
        if (it->Valid())
          throw store_error("revenant: store \"" + path + "\" holds data (key \"" + it->key().ToString() +
                            "\" in the " + checked->GetName() + " family) but no \"format\" meta key: it is damaged " +
                            "or not a revenant store; refusing to stamp it");
      }
      rocksdb::WriteBatch batch;
      std::string v;
      put<std::uint32_t>(v, store_format_version);
      batch.Put(meta_, "format", v);
      write(batch, true);
    }
    if (auto seq = get(meta_, next_seq_key)) {
      if (seq->size() != 8) throw store_error("revenant: store \"" + path + "\": meta key next_seq is not 8 bytes");
      next_seq_ = get_at<std::uint64_t>(*seq, 0);
    }
  } catch (...) {
    for (auto* h : {meta_, actors_, mailbox_, wake_, quarantine_, journal_}) db_->DestroyColumnFamilyHandle(h);
    delete db_;
    throw;
  }
}

store::~store() {
  for (auto* h : {meta_, actors_, mailbox_, wake_, quarantine_, journal_}) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
  delete db_;
}

void store::repair_next_seq(std::uint64_t seq) {
  rocksdb::WriteBatch batch;
  batch.Put(meta_, rocksdb::Slice(next_seq_key.data(), next_seq_key.size()),
            rocksdb::Slice(reinterpret_cast<const char*>(&seq), sizeof seq));
  write(batch, true);
  next_seq_ = seq;
}

void store::write(rocksdb::WriteBatch& batch, bool sync) {
  rocksdb::WriteOptions options;
  options.sync = sync;
  rocksdb::Status s = db_->Write(options, &batch);
  if (!s.ok()) io_failure(path_, "write failed", s);
}

std::optional<std::string> store::get(rocksdb::ColumnFamilyHandle* family, std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), family, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) io_failure(path_, "read of \"" + std::string(key) + "\" failed", s);
  return value;
}

std::unique_ptr<rocksdb::Iterator> store::scan(rocksdb::ColumnFamilyHandle* family) const {
  return scan(family, nullptr, nullptr);
}

std::unique_ptr<rocksdb::Iterator> store::scan(rocksdb::ColumnFamilyHandle* family, const rocksdb::Slice* from,
                                               const rocksdb::Slice* to) const {
  rocksdb::ReadOptions options;
  options.fill_cache = false;            // a full scan would only evict what point lookups need
  options.readahead_size = 1u << 20;     // a scan of a million records: 10% faster than the default
  options.iterate_lower_bound = from;
  options.iterate_upper_bound = to;
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(options, family));
}

namespace {

// A key between a and b (a < b), reading the 8 bytes after their common prefix as big-endian
// numbers (missing bytes are 0) and halving the distance; may equal a when none fits between.
std::string midpoint(std::string_view a, std::string_view b) {
  const std::size_t common =
      static_cast<std::size_t>(std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin());
  auto number = [&](std::string_view k) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i)
      v = (v << 8) | (common + i < k.size() ? static_cast<unsigned char>(k[common + i]) : 0u);
    return v;
  };
  const std::uint64_t x = number(a), y = number(b);
  const std::uint64_t m = x + (y - x) / 2;
  std::string key(a.substr(0, common));
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((m >> shift) & 0xff));
  while (key.size() > common && key.back() == '\0') key.pop_back();
  return key;
}

}  // namespace

std::vector<std::string> store::split_keys(rocksdb::ColumnFamilyHandle* family, unsigned parts,
                                           std::uint64_t min_bytes) const {
  std::vector<std::string> splits;
  if (parts < 2) return splits;
  std::string first, last;
  {
    auto it = scan(family);
    it->SeekToFirst();
    if (!it->Valid()) return splits;
    first = it->key().ToString();
    it->SeekToLast();
    if (!it->Valid()) return splits;
    last = it->key().ToString();
  }
  rocksdb::SizeApproximationOptions approximation;
  approximation.include_memtables = true;
  approximation.include_files = true;
  auto size_below = [&](const std::string& key) {  // stored bytes of the keys in [first, key)
    const rocksdb::Range range(first, key);
    std::uint64_t size = 0;
    if (!db_->GetApproximateSizes(approximation, family, &range, 1, &size).ok()) return std::uint64_t{0};
    return size;
  };
  const std::uint64_t total = size_below(last + '\0');
  if (total < min_bytes) return splits;
  for (unsigned part = 1; part < parts; ++part) {
    const std::uint64_t target = total / parts * part;
    std::string low = first, high = last;
    for (int step = 0; step < 48; ++step) {  // bisection; a step halves a 64-bit distance at least
      std::string middle = midpoint(low, high);
      if (middle <= low || middle >= high) break;
      (size_below(middle) < target ? low : high) = std::move(middle);
    }
    splits.push_back(std::move(high));
  }
  std::sort(splits.begin(), splits.end());
  splits.erase(std::unique(splits.begin(), splits.end()), splits.end());
  return splits;
}

void store::check_scan(const rocksdb::Iterator& it, const std::string& what) const {
  if (const rocksdb::Status s = it.status(); !s.ok()) io_failure(path_, "scan of " + what + " failed", s);
}

std::uint64_t store::estimate_keys(rocksdb::ColumnFamilyHandle* family) const {
  std::uint64_t n = 0;
  db_->GetIntProperty(family, "rocksdb.estimate-num-keys", &n);
  return n;
}

std::string store::mailbox_key(std::string_view actor, std::uint64_t seq) {
  std::string key;
  key.reserve(actor.size() + 9);
  key.append(actor);
  key.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((seq >> shift) & 0xff));
  return key;
}

bool store::parse_mailbox_key(std::string_view key, std::string_view& actor, std::uint64_t& seq) noexcept {
  // At least one byte of name: no actor is named "" (spawn_durable refuses it).
  if (key.size() < 10 || key[key.size() - 9] != '\0') return false;
  actor = key.substr(0, key.size() - 9);
  seq = 0;
  for (std::size_t i = key.size() - 8; i < key.size(); ++i) seq = (seq << 8) | static_cast<unsigned char>(key[i]);
  return true;
}

}  // namespace revenant
