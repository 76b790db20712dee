// What an open store holds (storage/store.hpp), shared by the files that implement it.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <optional>
#include <string>

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

}  // namespace revenant::detail
