// The durable store: one RocksDB database holding every durable actor's record, its mailbox,
// and what recovery needs to find. Layout (column families, keys, values) in docs/format.md,
// "Store layout".
//
// Thread-safety: RocksDB's — reads and writes may come from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "actors/snapshot_error.hpp"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
class Iterator;
class Slice;
}  // namespace rocksdb

namespace revenant {

// The store layout version this build writes and reads (meta key "format").
inline constexpr std::uint32_t store_format_version = 1;

// A store could not be opened, read or written: the message names the path and what RocksDB
// said.
class store_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a record says about its actor without decoding the snapshot (for listings).
struct actor_record_info {
  std::string behavior;              // registered name of the current behavior's function
  std::uint32_t pending_asks = 0;    // continuations waiting for a reply
  std::uint32_t timers = 0;          // armed timers
  std::uint64_t steps = 0;           // checkpoints committed so far
};

// Builds a record: the info, checksummed, followed by the actor's snapshot.
std::string encode_actor_record(const actor_record_info& info, std::string_view snapshot);

// A record split into its parts, pointing into the decoded bytes (no copy: recovery decodes a
// million of these).
struct actor_record_view {
  std::string_view behavior;
  std::uint32_t pending_asks = 0;
  std::uint32_t timers = 0;
  std::uint64_t steps = 0;
  std::string_view snapshot;
  // The header's fields, copied out.
  actor_record_info info() const { return actor_record_info{std::string(behavior), pending_asks, timers, steps}; }
};
// Checks a record's header and checksum. Throws snapshot_error naming subject; the snapshot
// itself is checked when it is decoded.
actor_record_view decode_actor_record(std::string_view bytes, const std::string& subject);

// How a store is opened.
struct store_options {
  // false: a write-ahead log damaged anywhere but at its torn tail (where a crash mid-write
  // leaves it) fails the open with a store_error naming the file and the offset, and nothing in
  // the directory is changed. true: the open keeps what precedes the damage and drops the rest
  // (wal_loss() says what), after copying the damaged logs into <path>/damaged-wal/.
  bool accept_wal_loss = false;
  // Receives RocksDB's own warnings and errors, one line each (null: they are dropped; RocksDB
  // writes no LOG file of its own). Called on RocksDB's threads: must be thread-safe.
  std::function<void(std::string_view)> log;
};

// What an open with store_options::accept_wal_loss dropped from a damaged write-ahead log.
struct wal_loss_report {
  std::string file;                 // the damaged log
  std::uint64_t offset = 0;         // where in it the damage starts
  std::string what;                 // what is wrong there
  std::uint64_t bytes_dropped = 0;  // from the damage to the end of the logs
  std::uint64_t batches_dropped = 0;  // intact group commits after the damage
  std::uint64_t writes_dropped = 0;   // the writes (puts and deletes) they held
  std::string evidence;             // directory the damaged logs were copied to
};

class store {
 public:
  // Opens the store in directory path, creating it only if the directory is missing or holds
  // no RocksDB data: a directory with table or log files but no CURRENT is refused, never
  // created over. Throws store_error if RocksDB cannot open it, its write-ahead log is damaged
  // (see store_options), its metadata contradicts its data, or it was written by another store
  // format version.
  explicit store(const std::string& path, store_options options = {});
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // The column families (docs/format.md): actor records, mailboxes, actors to wake at open
  // (timers, asks), quarantined actors, journals, and store metadata.
  rocksdb::ColumnFamilyHandle* actors() const noexcept { return actors_; }
  rocksdb::ColumnFamilyHandle* mailbox() const noexcept { return mailbox_; }
  rocksdb::ColumnFamilyHandle* wake() const noexcept { return wake_; }
  rocksdb::ColumnFamilyHandle* quarantine() const noexcept { return quarantine_; }
  // Steps taken since an actor's record was written (durable_config::snapshot_every > 1):
  // keyed like the mailbox, valued like it (envelopes of the messages handled).
  rocksdb::ColumnFamilyHandle* journal() const noexcept { return journal_; }
  rocksdb::ColumnFamilyHandle* meta() const noexcept { return meta_; }

  // Applies batch atomically; with sync, returns only once it is on stable storage. Throws
  // store_error.
  void write(rocksdb::WriteBatch& batch, bool sync);
  // The value under key in family, if any. Throws store_error on an I/O error.
  std::optional<std::string> get(rocksdb::ColumnFamilyHandle* family, std::string_view key) const;
  // An iterator over family (caller owns it), read ahead for a full scan.
  std::unique_ptr<rocksdb::Iterator> scan(rocksdb::ColumnFamilyHandle* family) const;
  // The same over the keys in [from, to); a null bound is open. The bounds (the Slice objects
  // and their bytes) must outlive the iterator: RocksDB keeps pointers to them.
  std::unique_ptr<rocksdb::Iterator> scan(rocksdb::ColumnFamilyHandle* family, const rocksdb::Slice* from,
                                          const rocksdb::Slice* to) const;
  // Up to parts − 1 ascending keys that cut family into parts of about equal stored size (from
  // RocksDB's size estimates, not a scan); none when family holds less than min_bytes. Any
  // keys cut a family into ranges that together cover it; these only balance them.
  std::vector<std::string> split_keys(rocksdb::ColumnFamilyHandle* family, unsigned parts,
                                      std::uint64_t min_bytes = std::uint64_t{64} << 10) const;
  // Throws store_error, naming what was being read, if it stopped on an I/O error or damage in
  // RocksDB's files instead of at its end.
  void check_scan(const rocksdb::Iterator& it, const std::string& what) const;
  // RocksDB's estimate of the keys in family (for progress reports).
  std::uint64_t estimate_keys(rocksdb::ColumnFamilyHandle* family) const;

  // The first mailbox sequence number not yet used by any committed message, as stored.
  std::uint64_t next_seq() const noexcept { return next_seq_; }
  // Writes next_seq = seq (synced): recovery's repair of a counter found at or below a stored
  // entry's number. Throws store_error.
  void repair_next_seq(std::uint64_t seq);
  // What the open dropped from a damaged write-ahead log (store_options::accept_wal_loss).
  const std::optional<wal_loss_report>& wal_loss() const noexcept { return wal_loss_; }
  const std::string& path() const noexcept { return path_; }
  rocksdb::DB& db() noexcept { return *db_; }

  // Key of message seq in the mailbox of actor: name, a zero byte, seq as 8 bytes big-endian
  // (so a prefix scan returns one actor's messages in sending order).
  static std::string mailbox_key(std::string_view actor, std::uint64_t seq);
  // The actor and seq of a mailbox key; false if key is not one.
  static bool parse_mailbox_key(std::string_view key, std::string_view& actor, std::uint64_t& seq) noexcept;
  // Meta key holding next_seq (u64 little-endian); written with every commit that uses seqs.
  static constexpr std::string_view next_seq_key = "next_seq";

 private:
  std::string path_;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* actors_ = nullptr;
  rocksdb::ColumnFamilyHandle* mailbox_ = nullptr;
  rocksdb::ColumnFamilyHandle* wake_ = nullptr;
  rocksdb::ColumnFamilyHandle* quarantine_ = nullptr;
  rocksdb::ColumnFamilyHandle* journal_ = nullptr;
  std::uint64_t next_seq_ = 1;
  std::optional<wal_loss_report> wal_loss_;
};

}  // namespace revenant
