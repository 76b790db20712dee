// Group commit: one thread turns the steps of many durable actors into one commit_batch per group
// and releases each step's messages only after the batch holding it is written.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/actor.hpp"
#include "runtime/internal/completion.hpp"
#include "runtime/log.hpp"
#include "storage/store.hpp"

namespace revenant::detail {

// A message a step sends.
struct outgoing {
  outgoing() = default;
  outgoing(std::shared_ptr<detail::actor_base> to_, message_ptr value_, std::string envelope_ = {}, std::uint64_t seq_ = 0,
           bool deferrable_ = false)
      : to(std::move(to_)), value(std::move(value_)), envelope(std::move(envelope_)), seq(seq_), deferrable(deferrable_) {}

  std::shared_ptr<detail::actor_base> to;
  message_ptr value;     // delivered once committed; null if already delivered (outside messages)
  std::string envelope;  // non-empty: `to` is durable and this is written to its mailbox
  std::uint64_t seq = 0; // assigned by submit() for durable recipients
  // A message from outside the system that nobody waits for (tell): its mailbox entry may wait
  // one group for the step that consumes it, and is then written by neither.
  bool deferrable = false;
  // Non-empty: `to` lives on node `peer`, and the envelope goes to that node's outbox (format.md
  // 8.14) under seq, for `recipient` (the name the peer knows it by); once committed, `to` ships it.
  std::string peer;
  std::string recipient;
};

// What one run of a durable actor (or one outside message) commits.
struct step {
  enum class record_op : std::uint8_t { keep, put, erase };
  std::string actor;  // the actor whose record and mailbox this step touches
  record_op record = record_op::keep;
  std::string record_bytes;             // for put
  std::vector<std::uint64_t> consumed;  // mailbox entries of `actor` to delete
  std::vector<outgoing> outbox;
  std::int8_t wake = -1;                // -1: unchanged, 0: remove the wake entry, 1: set it
  std::string quarantine;               // non-empty: record `actor` as quarantined, saying this
  bool lift_quarantine = false;         // delete `actor`'s quarantine entry (after any put above)
  bool erase_mailbox = false;           // delete every mailbox entry of `actor` (a discard)
  std::vector<outgoing> journal;        // entries appended to `actor`'s journal (envelope; seq by submit)
  // Durable actors the step spawned (context::spawn_durable): their first records, and wake
  // entries if they need one, written with it.
  struct spawned {
    std::string actor;
    std::string record_bytes;
    bool wake = false;
  };
  std::vector<spawned> spawned_actors;
  bool clear_journal = false;           // the record written here includes every journal entry
  std::optional<completion> ack;  // fulfilled once committed (or failed)
  std::function<void()> on_commit;        // run on the committer thread once committed
  // Run on the committer thread once the batch is written, before any message of its group is
  // delivered (so what it makes visible is there for them).
  std::function<void()> on_written;
  std::uint64_t index = 0;                // submission number, set by submit()
  // Messages of another node taken with this step (format.md 8.14): that node's id and its
  // highest outbox seq now taken.
  std::optional<std::pair<std::array<std::uint8_t, 16>, std::uint64_t>> inbox_mark;
  // More writes of this step (migration records, docs/migration.md), on the committer thread,
  // after the group's own, in step order. Returns the highest sequence number it took with
  // committer::reserve (0: none), which the batch's next_seq covers. Throws to fail the batch
  // (and every later commit, as a store failure does).
  std::function<std::uint64_t(commit_batch&)> write;
  // Written after every step submitted before it is in the store (held entries included): its
  // `write` may read the store and see them all. Consecutive exclusive steps of different actors
  // share a batch (no other step is in it), so an exclusive `write` reads only its own actor's
  // rows, which no other step of that batch writes.
  bool exclusive = false;
  // The highest sequence number the step took with committer::reserve before it was
  // submitted (0: none): the batch advances next_seq past it.
  std::uint64_t reserved_through = 0;
};

// Thread-safe: submit() and sync() may be called from any thread.
class committer {
 public:
  // log: where a failed commit is reported (may be empty).
  committer(store& db, asio::io_context& io, bool fsync, std::chrono::microseconds max_delay,
            std::size_t max_group, log_sink log = {});
  // Commits everything submitted, then stops the thread.
  ~committer();
  committer(const committer&) = delete;
  committer& operator=(const committer&) = delete;

  // Assigns mailbox sequence numbers to s's durable outgoing messages (in submission order,
  // so per-sender FIFO holds in the store too) and queues it. Outbox entries to other nodes
  // are numbered when their batch is built instead: a node's entries then reach its peer in
  // the order of their numbers, which the peer's inbox mark relies on (docs/wire.md 6.2). Until it is committed and its
  // messages delivered, the io_context counts as busy (a draining shutdown waits for it).
  // Returns the last sequence number assigned (0 if none).
  std::uint64_t submit(step s);
  // Makes the next sequence number assigned at least next (recovery's repair of a rewound
  // next_seq; called before any number is assigned).
  void raise_next_seq(std::uint64_t next);
  // Takes n sequence numbers (n >= 1) from the counter mailbox entries use; returns the first.
  // Any thread, the committer's own included (from a step's write). The step that writes them
  // sets reserved_through, so that they stay taken after a restart.
  std::uint64_t reserve(std::uint64_t n);
  // From now on, mailbox entries for actor (which moved to node peer) become outbox entries to
  // peer for it, released through `to` (its forwarder), in every batch built after the call.
  // Any thread. A null `to` ends the redirection (the actor is back here).
  void redirect(const std::string& actor, const std::string& peer, std::shared_ptr<detail::actor_base> to);
  // Waits until everything submitted before the call is committed. Throws the commit failure.
  void sync();
  // Commits what is queued and stops the thread. Idempotent.
  void stop();

 private:
  // An outside message's mailbox entry held back from the group that was its own (see
  // outgoing::deferrable). Committer thread only.
  struct held_put {
    std::string actor;
    std::uint64_t seq;
    std::string envelope;
    std::uint64_t index;  // of its step
  };

  void loop();
  // defer: more steps are queued behind this group, so an entry may be held for the next one.
  void commit(std::vector<step>& group, bool defer);

  store& db_;
  asio::io_context& io_;
  const bool fsync_;
  const std::chrono::microseconds max_delay_;
  const std::size_t max_group_;
  const log_sink log_;

  std::mutex mutex_;
  std::condition_variable wake_;       // the committer: steps queued, or stop
  std::condition_variable committed_;  // sync(): a group was committed
  std::deque<step> queue_;             // guarded by mutex_
  std::uint64_t next_seq_;             // guarded by mutex_
  std::uint64_t submitted_ = 0;        // guarded by mutex_
  std::uint64_t done_ = 0;             // guarded by mutex_
  bool stopping_ = false;              // guarded by mutex_
  std::exception_ptr failure_;         // guarded by mutex_; once set, nothing more is written
  // Held while any step is queued or being committed: the io_context is not idle until its
  // messages are delivered. Guarded by mutex_.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> busy_;
  // Actors that moved to another node: their entries are forwarded (redirect()). Guarded by
  // mutex_; redirecting_ says whether it is empty without the lock.
  struct forward_rule {
    std::string peer;
    std::shared_ptr<detail::actor_base> to;
  };
  std::unordered_map<std::string, forward_rule> redirects_;
  std::atomic<bool> redirecting_{false};
  commit_batch batch_;                 // committer thread only: reused group after group
  std::vector<held_put> held_;         // committer thread only
  std::unordered_set<std::string_view> exclusive_actors_;  // committer thread only: a group's
  std::uint64_t held_from_ = 0;        // guarded by mutex_: oldest step index in held_, 0 if none
  std::thread thread_;
};

}  // namespace revenant::detail
