// The durable store: one RocksDB database holding every durable actor's record, its mailbox,
// and what recovery needs to find. Layout (column families, keys, values) in docs/format.md,
// "Store layout"; the store owns it: changes go through commit_batch (storage/commit_batch.hpp),
// reads through the typed reads of class store, and no RocksDB type is part of the interface.
//
// Thread-safety: reads and commits may come from any thread, at the same time.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "actors/snapshot_error.hpp"
#include "storage/commit_batch.hpp"
#include "storage/detail/function_ref.hpp"

namespace revenant::detail {
struct store_state;
}  // namespace revenant::detail

namespace revenant {

// The store layout version this build writes and reads (meta key "format").
inline constexpr std::uint32_t store_format_version = 3;

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

// Builds a record: the info, checksummed, followed by the actor's snapshot and, if order is not
// empty, its order tables' snapshot (a version-2 record; version 1 without).
std::string encode_actor_record(const actor_record_info& info, std::string_view snapshot, std::string_view order = {});

// A record split into its parts, pointing into the decoded bytes (no copy: recovery decodes a
// million of these).
struct actor_record_view {
  std::string_view behavior;
  std::uint32_t pending_asks = 0;
  std::uint32_t timers = 0;
  std::uint64_t steps = 0;
  std::string_view snapshot;
  std::string_view order;  // version 2: the order tables' snapshot (format.md 8.3.1); else empty
  // The header's fields, copied out.
  actor_record_info info() const { return actor_record_info{std::string(behavior), pending_asks, timers, steps}; }
};
// Checks a record's header and checksum. Throws snapshot_error naming subject; the snapshot
// itself is checked when it is decoded.
actor_record_view decode_actor_record(std::string_view bytes, const std::string& subject);

// How a store is opened.
// A migration marker or a forwarding tombstone (docs/format.md 8.15): the migration's id and
// the node the actor is moving to (marker) or has moved to (tombstone).
struct migration_note {
  std::uint64_t id = 0;
  std::string node;
};

// A package record (docs/format.md 8.15): a package received from source under id, not
// runnable until the source says the migration committed. Decode package with
// decode_migration_package (storage/migration.hpp).
struct incoming_package {
  std::uint64_t id = 0;
  std::string source;
  std::string package;
};

struct store_options {
  // false: a write-ahead log damaged anywhere but at its torn tail (where a crash mid-write
  // leaves it) fails the open with a store_error naming the file and the offset, and nothing in
  // the directory is changed. true: the open keeps what precedes the damage and drops the rest
  // (wal_loss() says what), after copying the damaged logs into <path>/damaged-wal/.
  bool accept_wal_loss = false;
  // Receives RocksDB's own warnings and errors, one line each (null: they are dropped; RocksDB
  // writes no LOG file of its own). Called on RocksDB's threads: must be thread-safe.
  std::function<void(std::string_view)> log;
  // true: only an existing store is opened (a missing directory, or one without a store, is
  // refused with a store_error instead of created), and the open itself writes no key (an
  // empty store is not stamped with its format). For tools that only read.
  bool must_exist = false;
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

// Names in [from, to), compared bytewise; an absent bound is open.
struct name_range {
  std::optional<std::string_view> from;
  std::optional<std::string_view> to;
};

// The store's key layout, column families and value encodings are its own (storage/internal/,
// docs/format.md): users change it through commit_batch and read it through the typed reads
// below. Every read checks its own status: an I/O error or damage in RocksDB's files throws
// store_error naming the store's path and what was being read. Scans hand their callback views
// of the stored bytes, valid only during the call (no copy: recovery reads a million records).
class store {
 public:
  // Opens the store in directory path, creating it only if the directory is missing or holds
  // no RocksDB data (unless options.must_exist): a directory with table or log files but no
  // CURRENT is refused, never created over. Throws store_error if RocksDB cannot open it, its
  // write-ahead log is damaged (see store_options), its metadata contradicts its data, or it
  // was written by another store format version.
  explicit store(const std::string& path, store_options options = {});
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // ---- writing --------------------------------------------------------------------------------

  // Applies batch (made for this store) atomically: all of it or none. With sync, returns only
  // once it is on stable storage; without, a power cut may lose it (a process crash does not).
  // Throws store_error, or std::invalid_argument (writing nothing) for a batch made for another
  // store; the batch is left as it was.
  void commit(const commit_batch& batch, bool sync);
  // Writes next_seq = seq (synced): recovery's repair of a counter found at or below a stored
  // entry's number. Throws store_error.
  void repair_next_seq(std::uint64_t seq);

  // The identity of the node this store serves (docs/format.md 8.1, "Node identity"): its id
  // (16 random bytes, made at the first claim and kept) and an incarnation one above the last
  // claimed. Written synced before it returns, so every process that claims gets a number no
  // earlier process had, whatever instant one was killed. Throws store_error.
  struct node_identity {
    std::array<std::uint8_t, 16> id{};
    std::uint64_t incarnation = 0;
  };
  node_identity claim_incarnation();

  // ---- point reads ----------------------------------------------------------------------------

  // The record of actor name (decode it with decode_actor_record), if one is stored.
  std::optional<std::string> record(std::string_view name) const;
  // Whether a record of actor name is stored.
  bool has_record(std::string_view name) const;
  // Why actor name is quarantined, if it is.
  std::optional<std::string> quarantine_reason(std::string_view name) const;
  // Whether actor name has a wake entry (it is woken at open: timers or asks pending).
  bool has_wake(std::string_view name) const;
  // Actor name's migration marker, tombstone or package record (docs/format.md 8.15), if it
  // has one. Throws store_error naming the family and the key if the value is damaged.
  std::optional<migration_note> migration_marker(std::string_view name) const;
  std::optional<migration_note> tombstone(std::string_view name) const;
  std::optional<incoming_package> incoming(std::string_view name) const;

  // ---- scans, in key order --------------------------------------------------------------------

  // Every actor record whose name is in range, in name order, until fn returns false.
  void for_each_record(const name_range& range,
                       detail::function_ref<bool(std::string_view name, std::string_view record)> fn) const;
  // Every quarantined actor, with its reason, in name order.
  void for_each_quarantined(detail::function_ref<void(std::string_view actor, std::string_view reason)> fn) const;
  // Every actor with a wake entry, in name order.
  void for_each_wake(detail::function_ref<void(std::string_view actor)> fn) const;
  // Every migration marker, tombstone and package record (docs/format.md 8.15), in name order.
  // Throws store_error naming the family and the key of a damaged value.
  void for_each_migration_marker(detail::function_ref<void(std::string_view actor, const migration_note& note)> fn) const;
  void for_each_tombstone(detail::function_ref<void(std::string_view actor, const migration_note& note)> fn) const;
  void for_each_incoming(detail::function_ref<void(std::string_view actor, const incoming_package& in)> fn) const;
  // Every outbox entry (docs/format.md 8.14): by peer node name, then in sequence order: the
  // recipient (as the peer names it) and the envelope. Throws store_error naming the entry if
  // its value is damaged.
  void for_each_outbox_entry(detail::function_ref<void(std::string_view peer, std::uint64_t seq,
                                                       std::string_view recipient, std::string_view envelope)>
                                 fn) const;
  // The outbox entries to peer with a sequence number above after, in order, while fn returns
  // true: read back when they no longer fit in memory. Throws store_error as above.
  void for_each_outbox_entry_of(std::string_view peer, std::uint64_t after,
                                detail::function_ref<bool(std::uint64_t seq, std::string_view recipient,
                                                          std::string_view envelope)>
                                    fn) const;
  // Every inbox high-water mark (docs/format.md 8.14): the sending node's id and the highest
  // outbox sequence number of it this store has taken. Throws store_error for a damaged entry.
  void for_each_inbox_mark(detail::function_ref<void(const std::array<std::uint8_t, 16>& node, std::uint64_t seq)> fn) const;
  // Every mailbox entry: by recipient name, then in sequence order. A key that is not a mailbox
  // key (docs/format.md 8.5) is skipped.
  void for_each_message(
      detail::function_ref<void(std::string_view actor, std::uint64_t seq, std::string_view envelope)> fn) const;
  // The mailbox entries of actor, in sequence order; only those above seq after, if it is not 0
  // (the scan then starts there, past whatever lies below).
  void for_each_message_of(std::string_view actor, detail::function_ref<void(std::uint64_t seq, std::string_view envelope)> fn,
                           std::uint64_t after = 0) const;
  // The journal entries of actor (steps taken since its record was written), in sequence order.
  void for_each_journal_entry_of(std::string_view actor,
                                 detail::function_ref<void(std::uint64_t seq, std::string_view envelope)> fn) const;
  // Every journal entry's actor and sequence number, in key order (the envelopes are not read).
  void for_each_journal_key(detail::function_ref<void(std::string_view actor, std::uint64_t seq)> fn) const;

  // ---- sizes ----------------------------------------------------------------------------------

  // RocksDB's estimate of the number of actor records (for progress reports).
  std::uint64_t estimate_record_count() const;
  // Up to parts − 1 ascending names that cut the records into ranges of about equal stored size
  // (from RocksDB's size estimates, not a scan); none when the records take less than min_bytes.
  // Any names cut the records into ranges that together cover them; these only balance them.
  std::vector<std::string> split_record_names(unsigned parts, std::uint64_t min_bytes = std::uint64_t{64} << 10) const;

  // ---- the store itself -----------------------------------------------------------------------

  // Writes what every family holds in memory to table files, and returns once it is (for tests
  // and tools that examine the files; nothing else needs it). Throws store_error.
  void flush();
  // Flushes, then compacts every family into its last level, as in a store that has been
  // running a while (for benchmarks and tools that measure a settled store; slow). Throws
  // store_error.
  void compact();

  // The first mailbox sequence number not yet used by any committed message, as read at the
  // open (or set by repair_next_seq): the committer counts on from it.
  std::uint64_t next_seq() const noexcept;
  // What the open dropped from a damaged write-ahead log (store_options::accept_wal_loss).
  const std::optional<wal_loss_report>& wal_loss() const noexcept;
  // The directory the store was opened in.
  const std::string& path() const noexcept;

 private:
  friend class commit_batch;
  std::unique_ptr<detail::store_state> state_;
};

}  // namespace revenant
