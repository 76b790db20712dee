// Recovery: bringing a store's actors back at open — the quarantined ones kept out, every actor
// rebuilt at once (eager) or on its first message (lazy), the actors with timers or asks woken,
// and every stored message queued again in sending order.
#include <algorithm>
#include <condition_variable>
#include <functional>
#include <thread>

#include "actors/internal/access.hpp"
#include "runtime/internal/durable_cell.hpp"
#include "runtime/internal/node.hpp"
#include "storage/commit_batch.hpp"
#include "storage/envelope.hpp"

namespace revenant {

using detail::actor_cell;
using detail::durable_cell;
using detail::durable_of;
using detail::directory;

namespace {

// Actor records read by the eager scan, names and bytes copied into one reused buffer (a scan's
// views die at its next step).
class record_batch {
 public:
  static constexpr std::size_t max_entries = 1024;
  static constexpr std::size_t max_bytes = std::size_t{1} << 20;

  void add(std::string_view name, std::string_view record) {
    entries_.push_back(entry{bytes_.size(), name.size(), bytes_.size() + name.size(), record.size()});
    bytes_.append(name);
    bytes_.append(record);
  }
  bool full() const noexcept { return entries_.size() >= max_entries || bytes_.size() >= max_bytes; }
  std::size_t size() const noexcept { return entries_.size(); }
  std::string_view name(std::size_t i) const noexcept { return view(entries_[i].name_at, entries_[i].name_size); }
  std::string_view record(std::size_t i) const noexcept { return view(entries_[i].record_at, entries_[i].record_size); }
  void clear() noexcept {
    bytes_.clear();
    entries_.clear();
  }

 private:
  struct entry {
    std::size_t name_at, name_size, record_at, record_size;
  };
  std::string_view view(std::size_t at, std::size_t n) const noexcept { return std::string_view(bytes_).substr(at, n); }
  std::string bytes_;
  std::vector<entry> entries_;
};

}  // namespace

// Eager recovery. The actors family is cut into key ranges; as many threads as the system has
// workers (which are not started yet), this one included, take the ranges in turn and scan each a
// batch at a time: create the batch's actors, register them under one lock, then decode them.
void detail::system::recover_all() {
  const std::uint64_t total = db->estimate_record_count();
  std::unordered_set<std::string> kept_out;
  {
    auto d = actors.lock();
    d.reserve(d.running_count() + static_cast<std::size_t>(total + total / 8));
    // Quarantined at an earlier open: not brought up (read now; decoding may add to the list).
    for (auto& [name, reason] : d.quarantine_list()) kept_out.insert(std::move(name));
  }

  // handle: the recovering thread's own reference to this system, which its cells copy (below).
  auto bring_up = [&](const record_batch& batch, const std::shared_ptr<system>& handle) {
    const std::size_t n = batch.size();
    std::vector<directory::hash_type> hashes(n);
    std::vector<std::shared_ptr<actor_cell>> cells(n);
    // The batch's ids in one step: a counter every recovering thread bumps per actor would be
    // one more cache line they pass back and forth.
    const std::uint64_t first_id = next_id.fetch_add(n, std::memory_order_relaxed);
    for (std::size_t i = 0; i < n; ++i) {
      hashes[i] = directory::hash(batch.name(i));
      cells[i] = std::make_shared<durable_cell>(handle, first_id + i, std::string(batch.name(i)), behavior{},
                                                supervision{}, false);
    }
    {
      auto d = actors.lock();
      for (auto h : hashes) d.prefetch(h);
      // An actor referenced by one decoded earlier is already there, created but not decoded:
      // that cell is the actor (the one made above is dropped).
      for (std::size_t i = 0; i < n; ++i) cells[i] = d.add_or_found(std::move(cells[i]), hashes[i]);
    }
    std::uint64_t activated = 0;
    for (std::size_t i = 0; i < n; ++i) activated += durable_of(*cells[i])->activate(batch.record(i));
    recovered.activated.fetch_add(activated, std::memory_order_relaxed);
  };

  // Sixteen ranges a thread, taken in turn: a thread whose ranges went faster takes more, so the
  // threads finish together.
  const unsigned threads = std::max(1u, config.workers);
  const std::vector<std::string> bounds = db->split_record_names(threads * 16);
  std::atomic<std::size_t> next_range{0};
  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> stopping{false};  // a range failed: the others stop early
  // Range i is [bounds[i - 1], bounds[i]), open at both ends.
  auto recover_range = [&](std::size_t i, const std::function<void()>& after_batch, const std::shared_ptr<system>& handle) {
    name_range range;
    if (i > 0) range.from = bounds[i - 1];
    if (i < bounds.size()) range.to = bounds[i];
    record_batch batch;
    auto flush = [&] {
      bring_up(batch, handle);
      done.fetch_add(batch.size(), std::memory_order_relaxed);
      batch.clear();
      after_batch();
    };
    db->for_each_record(range, [&](std::string_view name, std::string_view record) {
      if (stopping.load(std::memory_order_relaxed)) return false;
      if (!kept_out.empty() && kept_out.contains(std::string(name))) return true;
      batch.add(name, record);
      if (batch.full()) flush();
      return true;
    });
    if (batch.size() > 0) flush();
  };
  auto recover_ranges = [&](const std::function<void()>& after_batch) {
    // Every cell holds the system. Copying one std::shared_ptr for a million cells from several
    // threads makes its reference count the hottest cache line of the open; so each thread's
    // cells share a count of their own, which holds one reference to the system (the system
    // lives as long as it did: until its last cell is gone).
    const std::shared_ptr<system> handle(std::make_shared<std::shared_ptr<system>>(shared_from_this()), this);
    for (std::size_t i; (i = next_range.fetch_add(1)) <= bounds.size();) recover_range(i, after_batch, handle);
  };

  std::uint64_t reported = 0;
  auto report = [&] {
    const std::uint64_t now = done.load(std::memory_order_relaxed);
    if (durable->on_progress && now / 65536 > reported / 65536) durable->on_progress(now, total);
    reported = now;
  };
  std::mutex helpers_mutex;
  std::condition_variable helper_finished;
  const std::size_t helper_count = std::min<std::size_t>(threads - 1, bounds.size());
  std::size_t helpers_running = helper_count;   // guarded by helpers_mutex
  std::exception_ptr failure;                   // the first failure, guarded by helpers_mutex
  auto fail = [&](std::exception_ptr e) {       // std::bad_alloc: activation reports damage itself
    std::lock_guard lock(helpers_mutex);
    if (!failure) failure = std::move(e);
    stopping = true;
  };
  std::vector<std::thread> helpers;
  for (std::size_t i = 0; i < helper_count; ++i)
    helpers.emplace_back([&] {
      try {
        recover_ranges([] {});
      } catch (...) {
        fail(std::current_exception());
      }
      std::lock_guard lock(helpers_mutex);
      --helpers_running;
      helper_finished.notify_all();
    });
  try {
    recover_ranges(report);
  } catch (...) {
    fail(std::current_exception());
  }
  {
    // This thread may run out of ranges first: it reports the helpers' progress meanwhile.
    std::unique_lock lock(helpers_mutex);
    while (!helper_finished.wait_for(lock, std::chrono::milliseconds(100), [&] { return helpers_running == 0; })) {
      lock.unlock();
      report();
      lock.lock();
    }
  }
  for (auto& h : helpers) h.join();
  if (failure) std::rethrow_exception(failure);
  if (durable->on_progress) durable->on_progress(done.load(), total);
}

// Runs before the workers start, so every stored message is queued before any actor runs: a
// recipient sees its stored messages before anything sent in this process (which has higher
// sequence numbers), in the order they were sent.
void detail::system::recover() {
  std::vector<std::pair<std::string, std::string>> quarantined;  // read before the lock
  db->for_each_quarantined([&](std::string_view actor, std::string_view reason) {
    quarantined.emplace_back(actor, reason);
  });
  {
    auto d = actors.lock();
    for (const auto& [actor, reason] : quarantined) d.quarantine(actor, reason);
  }
  // The largest sequence number of a stored entry: next_seq must be above it (format.md 8.8,
  // invariant 6), or new messages would reuse the numbers of unconsumed ones.
  std::uint64_t max_seq = 0;
  db->for_each_journal_key([&](std::string_view actor, std::uint64_t seq) {
    journaled.emplace(actor);
    max_seq = std::max(max_seq, seq);
  });
  // Outbox entries take numbers from the same counter (format.md 8.14): one reused after a
  // crash would be dropped by the peer as a message it has taken.
  db->for_each_outbox_entry([&](std::string_view, std::uint64_t seq, std::string_view, std::string_view) {
    max_seq = std::max(max_seq, seq);
  });
  if (durable->recovery == recovery_mode::eager) recover_all();
  db->for_each_wake([&](std::string_view actor) {
    if (auto cell = resolve_cell(std::string(actor))) cell->enqueue(make_message<detail::wake_up>());
  });
  commit_batch orphans(*db);
  db->for_each_message([&](std::string_view actor, std::uint64_t seq, std::string_view envelope) {
    max_seq = std::max(max_seq, seq);
    const std::string name(actor);
    auto cell = resolve_cell(name);
    // Messages for an actor whose migration package is held here: kept for it (migration.md 6).
    if (!cell && net && net->holds_incoming(name)) cell = net->incoming_cell(name);
    if (!cell) {
      // Sent to an actor that no longer exists (it stopped while this was being committed):
      // a dead letter, deleted. A quarantined actor keeps its messages.
      if (!actors.lock().quarantined(name)) {
        orphans.consume(actor, seq);
        letters.count_unshown();
      }
      return;
    }
    message_ptr m;
    try {
      m = stored_message(envelope, seq, name);
    } catch (const std::exception& e) {
      durable_of(*cell)->quarantine_now(e.what());
      return;
    }
    recovered.requeued.fetch_add(1, std::memory_order_relaxed);
    cell->enqueue(std::move(m));
  });
  if (!orphans.empty()) db->commit(orphans, durable->fsync);
  // Repaired before any number is assigned (nothing above assigns one: replays drop sends).
  if (max_seq >= db->next_seq()) {
    const std::uint64_t stored = db->next_seq();
    db->repair_next_seq(max_seq + 1);
    commits->raise_next_seq(max_seq + 1);
    std::string repair = "meta key next_seq was " + std::to_string(stored) + " but the store holds an entry numbered " +
                         std::to_string(max_seq) + "; raised to " + std::to_string(max_seq + 1);
    log(log_level::warning, "revenant: store \"" + durable->path + "\": repaired: " + repair);
    std::lock_guard lock(mutex);
    repairs.push_back(std::move(repair));
  }
}

message_ptr detail::system::stored_message(std::string_view envelope, std::uint64_t seq, const std::string& actor) {
  decoded_envelope d =
      decode_envelope(envelope, "message " + std::to_string(seq) + " in the mailbox of actor \"" + actor + "\"", this);
  if (!d.header.sender.empty()) detail::message_fields::sender(*d.value) = resolve_sender(d.header.sender);
  detail::message_fields::durable_seq(*d.value) = seq;
  return std::move(d.value);
}

}  // namespace revenant
