// What one atomic change of a store says it does: records put and erased, messages enqueued and
// consumed, journal entries appended and cleared, wake and quarantine entries set and cleared,
// the sequence counter advanced. Built up, then applied as a whole by store::commit (all or
// nothing). How each operation is written (keys, families, value encodings) is the store's:
// docs/format.md, sections 8.2 to 8.9.
//
// Operations apply in the order they are added; on the same key the later one wins.
// Thread-safety: one batch, one thread at a time; batches of one store are independent.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

namespace revenant {

class store;
namespace detail {
struct batch_rep;
}  // namespace detail

class commit_batch {
 public:
  // An empty batch for target, which must outlive it.
  explicit commit_batch(store& target);
  ~commit_batch();
  commit_batch(commit_batch&&) noexcept;
  commit_batch& operator=(commit_batch&&) noexcept;

  // Stores record (an encode_actor_record) as actor's record, replacing any.
  void put_record(std::string_view actor, std::string_view record);
  // Deletes actor's record and its whole journal (entries added to this batch before included).
  void erase_record(std::string_view actor);
  // Deletes actor's record alone; its journal entries are the caller's to delete, one by one
  // (erase_journal_entry). For many actors at once: a range deletion per actor slows every later
  // scan of the journal until the store compacts them away.
  void erase_record_alone(std::string_view actor);
  // Deletes entry seq of actor's journal.
  void erase_journal_entry(std::string_view actor, std::uint64_t seq);
  // Stores envelope as message seq in actor's mailbox.
  void enqueue(std::string_view actor, std::uint64_t seq, std::string_view envelope);
  // Deletes message seq from actor's mailbox.
  void consume(std::string_view actor, std::uint64_t seq);
  // Deletes every message in actor's mailbox (entries added to this batch before included).
  void clear_mailbox(std::string_view actor);
  // Appends envelope to actor's journal as entry seq (a step taken since its record).
  void append_journal(std::string_view actor, std::uint64_t seq, std::string_view envelope);
  // Deletes every entry of actor's journal (entries added to this batch before included).
  void clear_journal(std::string_view actor);
  // Marks actor to be woken at the next open (it has timers or pending asks), or unmarks it.
  void set_wake(std::string_view actor);
  void clear_wake(std::string_view actor);
  // Records actor as quarantined, saying why; lift_quarantine deletes that entry.
  void quarantine(std::string_view actor, std::string_view reason);
  void lift_quarantine(std::string_view actor);
  // Stores envelope for recipient (a name on node peer) in the outbox to peer, as entry seq
  // (a number from the same counter as mailbox entries).
  void put_outbox(std::string_view peer, std::uint64_t seq, std::string_view recipient, std::string_view envelope);
  // Deletes outbox entry seq to peer (the peer has taken it). One key at a time, not a range:
  // RocksDB reads and recovers thousands of overlapping range deletions slowly (a store
  // acknowledging every few messages took seconds to reopen).
  void remove_outbox(std::string_view peer, std::uint64_t seq);
  // Records that every message of the node with id `node` numbered up to seq has been taken.
  void set_inbox_mark(const std::array<std::uint8_t, 16>& node, std::uint64_t seq);
  // Migration records (docs/format.md 8.15), each replacing any of its kind for actor. The
  // marker: actor is moving to target under id (held from running). The tombstone: it has
  // moved there (forward what comes for it). The package record: package (an
  // encode_migration_package) received from source under id. Node names as in docs/wire.md
  // 5.2; throws std::invalid_argument for an id of 0 or a node name that is not one.
  void put_migration_marker(std::string_view actor, std::uint64_t id, std::string_view target);
  void clear_migration_marker(std::string_view actor);
  void put_tombstone(std::string_view actor, std::uint64_t id, std::string_view target);
  void clear_tombstone(std::string_view actor);
  void put_incoming(std::string_view actor, std::uint64_t id, std::string_view source, std::string_view package);
  void clear_incoming(std::string_view actor);
  // Stores next as the first sequence number not yet used (one more than the largest seq the
  // batch, or any earlier one, used).
  void advance_next_seq(std::uint64_t next);

  // The number of operations added since the batch was made or cleared.
  std::size_t size() const noexcept;
  bool empty() const noexcept { return size() == 0; }
  // Drops every operation, keeping the memory for the next batch.
  void clear() noexcept;

 private:
  friend class store;
  std::unique_ptr<detail::batch_rep> rep_;
};

}  // namespace revenant
