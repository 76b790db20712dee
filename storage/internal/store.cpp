// The store's typed writes and reads (storage/store.hpp, storage/commit_batch.hpp): every key,
// range and value encoding they use comes from storage/internal/keys.hpp. The migration
// records' are store_migration.cpp's.
#include "storage/store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>

#include "storage/internal/keys.hpp"
#include "storage/internal/store_state.hpp"
#include "storage/wire.hpp"

namespace revenant {
namespace {

using detail::actor_subject;
using detail::open_scan;
using detail::scan_range;
using detail::slice;
using detail::store_state;
using detail::view;

// The same over the entries (mailbox or journal) of one actor, in sequence order.
template <class F>
void scan_entries_of(const store_state& st, rocksdb::ColumnFamilyHandle* family, std::string_view actor,
                     const std::string& what, F&& fn, std::uint64_t after = 0) {
  detail::entry_range range = detail::entries_of(actor);
  if (after != 0) range.from = detail::mailbox_key(actor, after + 1);
  const rocksdb::Slice from(range.from), to(range.to);
  scan_range(st, family, &from, &to, what, [&](std::string_view key, std::string_view value) {
    std::string_view name;
    std::uint64_t seq = 0;
    if (detail::parse_mailbox_key(key, name, seq) && name == actor) fn(seq, value);
    return true;
  });
}

// Turns RocksDB's per-thread performance counters off for a bulk scan, and back to what they were
// after: counting costs a thread-local lookup at every step, 3% of a scan of a million records
// (and RocksDB counts by default).
class perf_counting_off {
 public:
  perf_counting_off() : was_(rocksdb::GetPerfLevel()) { rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable); }
  ~perf_counting_off() { rocksdb::SetPerfLevel(was_); }
  perf_counting_off(const perf_counting_off&) = delete;
  perf_counting_off& operator=(const perf_counting_off&) = delete;

 private:
  rocksdb::PerfLevel was_;
};


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


std::vector<std::string> split(const detail::store_state& st, rocksdb::ColumnFamilyHandle* family, unsigned parts,
                               std::uint64_t min_bytes) {
  std::vector<std::string> splits;
  if (parts < 2) return splits;
  std::string first, last;
  {
    const std::unique_ptr<rocksdb::Iterator> it(open_scan(st, family, nullptr, nullptr));
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
    if (!st.db->GetApproximateSizes(approximation, family, &range, 1, &size).ok()) return std::uint64_t{0};
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

}  // namespace

// ---- store_state -------------------------------------------------------------------------------

void store_state::fail(const std::string& what, const rocksdb::Status& s) const {
  throw store_error("revenant: store \"" + path + "\": " + what + ": " + s.ToString());
}

void store_state::write(rocksdb::WriteBatch& batch, bool sync) const {
  rocksdb::WriteOptions options;
  options.sync = sync;
  if (const rocksdb::Status s = db->Write(options, &batch); !s.ok()) fail("write failed", s);
}

std::optional<std::string> store_state::get(rocksdb::ColumnFamilyHandle* family, std::string_view key,
                                            const std::string& what) const {
  std::string value;
  const rocksdb::Status s = db->Get(rocksdb::ReadOptions(), family, slice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) fail("read of " + what + " failed", s);
  return value;
}

// ---- commit_batch ------------------------------------------------------------------------------

commit_batch::commit_batch(store& target) : rep_(std::make_unique<detail::batch_rep>()) {
  rep_->target = target.state_.get();
}
commit_batch::~commit_batch() = default;
commit_batch::commit_batch(commit_batch&&) noexcept = default;
commit_batch& commit_batch::operator=(commit_batch&&) noexcept = default;

void commit_batch::put_record(std::string_view actor, std::string_view record) {
  rep_->batch.Put(rep_->target->actors, slice(actor), slice(record));
}

void commit_batch::erase_record(std::string_view actor) {
  rep_->batch.Delete(rep_->target->actors, slice(actor));
  clear_journal(actor);
}

void commit_batch::erase_record_alone(std::string_view actor) { rep_->batch.Delete(rep_->target->actors, slice(actor)); }

void commit_batch::erase_journal_entry(std::string_view actor, std::uint64_t seq) {
  rep_->batch.Delete(rep_->target->journal, detail::mailbox_key(actor, seq));
}

void commit_batch::enqueue(std::string_view actor, std::uint64_t seq, std::string_view envelope) {
  rep_->batch.Put(rep_->target->mailbox, detail::mailbox_key(actor, seq), slice(envelope));
}

void commit_batch::put_outbox(std::string_view peer, std::uint64_t seq, std::string_view recipient,
                              std::string_view envelope) {
  rep_->batch.Put(rep_->target->outbox, detail::mailbox_key(peer, seq), detail::encode_outbox_value(recipient, envelope));
}

void commit_batch::remove_outbox(std::string_view peer, std::uint64_t seq) {
  rep_->batch.Delete(rep_->target->outbox, detail::mailbox_key(peer, seq));
}

void commit_batch::set_inbox_mark(const std::array<std::uint8_t, 16>& node, std::uint64_t seq) {
  const std::string value = detail::encode_next_seq(seq);
  rep_->batch.Put(rep_->target->inbox, rocksdb::Slice(reinterpret_cast<const char*>(node.data()), node.size()), value);
}

void commit_batch::consume(std::string_view actor, std::uint64_t seq) {
  rep_->batch.Delete(rep_->target->mailbox, detail::mailbox_key(actor, seq));
}

void commit_batch::clear_mailbox(std::string_view actor) {
  const detail::entry_range range = detail::entries_of(actor);
  rep_->batch.DeleteRange(rep_->target->mailbox, range.from, range.to);
}

void commit_batch::append_journal(std::string_view actor, std::uint64_t seq, std::string_view envelope) {
  rep_->batch.Put(rep_->target->journal, detail::mailbox_key(actor, seq), slice(envelope));
}

void commit_batch::clear_journal(std::string_view actor) {
  const detail::entry_range range = detail::entries_of(actor);
  rep_->batch.DeleteRange(rep_->target->journal, range.from, range.to);
}

void commit_batch::set_wake(std::string_view actor) { rep_->batch.Put(rep_->target->wake, slice(actor), rocksdb::Slice()); }
void commit_batch::clear_wake(std::string_view actor) { rep_->batch.Delete(rep_->target->wake, slice(actor)); }

void commit_batch::quarantine(std::string_view actor, std::string_view reason) {
  rep_->batch.Put(rep_->target->quarantine, slice(actor), slice(reason));
}
void commit_batch::lift_quarantine(std::string_view actor) { rep_->batch.Delete(rep_->target->quarantine, slice(actor)); }

void commit_batch::advance_next_seq(std::uint64_t next) {
  rep_->batch.Put(rep_->target->meta, slice(detail::next_seq_key), detail::encode_next_seq(next));
}

std::size_t commit_batch::size() const noexcept { return static_cast<std::size_t>(rep_->batch.Count()); }
void commit_batch::clear() noexcept { rep_->batch.Clear(); }

// ---- store: writes -----------------------------------------------------------------------------

void store::commit(const commit_batch& batch, bool sync) {
  // A batch names its store's column families: applied to another store, it would write into
  // families of a database that is not open there.
  if (batch.rep_->target != state_.get())
    throw std::invalid_argument("revenant: store \"" + state_->path +
                                "\": a commit_batch made for another store was committed to it (nothing written)");
  state_->write(batch.rep_->batch, sync);
}

void store::repair_next_seq(std::uint64_t seq) {
  commit_batch batch(*this);
  batch.advance_next_seq(seq);
  commit(batch, true);
  state_->next_seq = seq;
}

store::node_identity store::claim_incarnation() {
  std::lock_guard lock(state_->identity_mutex);
  node_identity identity;
  if (auto id = state_->get(state_->meta, detail::node_id_key, "meta key \"node_id\"")) {
    if (id->size() != identity.id.size())
      throw store_error("revenant: store \"" + state_->path + "\": meta key node_id is " + std::to_string(id->size()) +
                        " bytes, not " + std::to_string(identity.id.size()));
    std::memcpy(identity.id.data(), id->data(), identity.id.size());
  } else {
    std::random_device random;
    for (std::size_t i = 0; i < identity.id.size(); i += 4) {
      const std::uint32_t bits = random();
      std::memcpy(identity.id.data() + i, &bits, 4);
    }
    if (identity.id == decltype(identity.id){}) identity.id[0] = 1;  // all zero is never an id
  }
  std::uint64_t last = 0;
  if (auto stored = state_->get(state_->meta, detail::incarnation_key, "meta key \"incarnation\"")) {
    const std::optional<std::uint64_t> value = detail::decode_next_seq(*stored);
    if (!value) throw store_error("revenant: store \"" + state_->path + "\": meta key incarnation is not 8 bytes");
    last = *value;
  }
  if (last == std::numeric_limits<std::uint64_t>::max())
    throw store_error("revenant: store \"" + state_->path + "\": meta key incarnation is at its largest value");
  identity.incarnation = last + 1;
  rocksdb::WriteBatch batch;
  batch.Put(state_->meta, rocksdb::Slice(detail::node_id_key.data(), detail::node_id_key.size()),
            rocksdb::Slice(reinterpret_cast<const char*>(identity.id.data()), identity.id.size()));
  const std::string incarnation = detail::encode_next_seq(identity.incarnation);
  batch.Put(state_->meta, rocksdb::Slice(detail::incarnation_key.data(), detail::incarnation_key.size()), incarnation);
  state_->write(batch, true);
  return identity;
}

// ---- store: reads ------------------------------------------------------------------------------

std::optional<std::string> store::record(std::string_view name) const {
  return state_->get(state_->actors, name, "the record of " + actor_subject(name));
}

bool store::has_record(std::string_view name) const { return record(name).has_value(); }

std::optional<std::string> store::quarantine_reason(std::string_view name) const {
  return state_->get(state_->quarantine, name, "the quarantine entry of " + actor_subject(name));
}

bool store::has_wake(std::string_view name) const {
  return state_->get(state_->wake, name, "the wake entry of " + actor_subject(name)).has_value();
}

void store::for_each_record(const name_range& range,
                            detail::function_ref<bool(std::string_view, std::string_view)> fn) const {
  const perf_counting_off quiet;
  std::optional<rocksdb::Slice> from, to;
  if (range.from) from.emplace(slice(*range.from));
  if (range.to) to.emplace(slice(*range.to));
  scan_range(*state_, state_->actors, from ? &*from : nullptr, to ? &*to : nullptr, "the actors family", fn);
}

void store::for_each_quarantined(detail::function_ref<void(std::string_view, std::string_view)> fn) const {
  scan_range(*state_, state_->quarantine, nullptr, nullptr, "the quarantine family",
             [&](std::string_view actor, std::string_view reason) {
               fn(actor, reason);
               return true;
             });
}

void store::for_each_wake(detail::function_ref<void(std::string_view)> fn) const {
  scan_range(*state_, state_->wake, nullptr, nullptr, "the wake family", [&](std::string_view actor, std::string_view) {
    fn(actor);
    return true;
  });
}

void store::for_each_outbox_entry(
    detail::function_ref<void(std::string_view, std::uint64_t, std::string_view, std::string_view)> fn) const {
  scan_range(*state_, state_->outbox, nullptr, nullptr, "the outbox family", [&](std::string_view key, std::string_view value) {
    std::string_view peer, recipient, envelope;
    std::uint64_t seq = 0;
    if (!detail::parse_mailbox_key(key, peer, seq) || !detail::decode_outbox_value(value, recipient, envelope))
      throw store_error("revenant: store \"" + state_->path + "\": outbox entry " + detail::printable_key(key) +
                        " is damaged (docs/format.md 8.14)");
    fn(peer, seq, recipient, envelope);
    return true;
  });
}

void store::for_each_outbox_entry_of(std::string_view peer, std::uint64_t after,
                                     detail::function_ref<bool(std::uint64_t, std::string_view, std::string_view)> fn) const {
  if (after == std::numeric_limits<std::uint64_t>::max()) return;
  const std::string first = detail::mailbox_key(peer, after + 1);
  const detail::entry_range range = detail::entries_of(peer);
  const rocksdb::Slice from(first), to(range.to);
  scan_range(*state_, state_->outbox, &from, &to, "the outbox to \"" + std::string(peer) + "\"",
             [&](std::string_view key, std::string_view value) {
               std::string_view name, recipient, envelope;
               std::uint64_t seq = 0;
               if (!detail::parse_mailbox_key(key, name, seq) || name != peer ||
                   !detail::decode_outbox_value(value, recipient, envelope))
                 throw store_error("revenant: store \"" + state_->path + "\": outbox entry " + detail::printable_key(key) +
                                   " is damaged (docs/format.md 8.14)");
               return fn(seq, recipient, envelope);
             });
}

void store::for_each_inbox_mark(detail::function_ref<void(const std::array<std::uint8_t, 16>&, std::uint64_t)> fn) const {
  scan_range(*state_, state_->inbox, nullptr, nullptr, "the inbox family", [&](std::string_view key, std::string_view value) {
    const std::optional<std::uint64_t> seq = detail::decode_next_seq(value);
    std::array<std::uint8_t, 16> node{};
    if (key.size() != node.size() || !seq)
      throw store_error("revenant: store \"" + state_->path + "\": inbox entry " + detail::printable_key(key) +
                        " is damaged (docs/format.md 8.14)");
    std::memcpy(node.data(), key.data(), node.size());
    fn(node, *seq);
    return true;
  });
}

void store::for_each_message(
    detail::function_ref<void(std::string_view, std::uint64_t, std::string_view)> fn) const {
  scan_range(*state_, state_->mailbox, nullptr, nullptr, "the mailbox family",
             [&](std::string_view key, std::string_view envelope) {
               std::string_view actor;
               std::uint64_t seq = 0;
               if (detail::parse_mailbox_key(key, actor, seq)) fn(actor, seq, envelope);
               return true;
             });
}

void store::for_each_message_of(std::string_view actor, detail::function_ref<void(std::uint64_t, std::string_view)> fn,
                                std::uint64_t after) const {
  scan_entries_of(*state_, state_->mailbox, actor, "the mailbox of " + actor_subject(actor), fn, after);
}

void store::for_each_journal_entry_of(std::string_view actor,
                                      detail::function_ref<void(std::uint64_t, std::string_view)> fn) const {
  scan_entries_of(*state_, state_->journal, actor, "the journal of " + actor_subject(actor), fn);
}

void store::for_each_journal_key(detail::function_ref<void(std::string_view, std::uint64_t)> fn) const {
  scan_range(*state_, state_->journal, nullptr, nullptr, "the journal family", [&](std::string_view key, std::string_view) {
    std::string_view actor;
    std::uint64_t seq = 0;
    if (detail::parse_mailbox_key(key, actor, seq)) fn(actor, seq);
    return true;
  });
}

std::uint64_t store::estimate_record_count() const {
  std::uint64_t n = 0;
  state_->db->GetIntProperty(state_->actors, "rocksdb.estimate-num-keys", &n);
  return n;
}

std::vector<std::string> store::split_record_names(unsigned parts, std::uint64_t min_bytes) const {
  return split(*state_, state_->actors, parts, min_bytes);
}

void store::flush() {
  const std::vector<rocksdb::ColumnFamilyHandle*> families = {state_->meta, state_->actors, state_->mailbox,
                                                              state_->wake, state_->quarantine, state_->journal};
  if (const rocksdb::Status s = state_->db->Flush(rocksdb::FlushOptions(), families); !s.ok())
    state_->fail("flush failed", s);
}

void store::compact() {
  flush();
  for (auto* family : {state_->meta, state_->actors, state_->mailbox, state_->wake, state_->quarantine, state_->journal})
    if (const rocksdb::Status s = state_->db->CompactRange(rocksdb::CompactRangeOptions(), family, nullptr, nullptr); !s.ok())
      state_->fail("compaction of the " + family->GetName() + " family failed", s);
}

std::uint64_t store::next_seq() const noexcept { return state_->next_seq; }
const std::optional<wal_loss_report>& store::wal_loss() const noexcept { return state_->wal_loss; }
const std::string& store::path() const noexcept { return state_->path; }

}  // namespace revenant
