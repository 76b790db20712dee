// The actor system's shared state: what every part reaches through its system pointer — the
// threads, the names of running actors, the store and its committer, and the parts with state
// of their own (dead letters, outside asks). The parts are in the files named after them:
//   actor_cell.*   an actor: run loop, context, become/stop, watchers, failures
//   mailbox.hpp    its lock-free inbox and bound        clock.*       its timers and asks
//   supervisor.hpp its restart policy                   durable_cell.* its durability
//   state_image.*  live state <-> stored image          recovery.cpp  bringing a store back
//   quarantine.cpp lift and discard                     directory.cpp names -> actors
//   dead_letters.* undeliverable messages               outside_asks.* asks from outside
//   committer.*    group commit                         actor_system.cpp the public API
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <atomic>
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
#include <utility>
#include <vector>

#include "runtime/actor_system.hpp"
#include "runtime/internal/committer.hpp"
#include "runtime/internal/dead_letters.hpp"
#include "runtime/internal/directory.hpp"
#include "runtime/internal/outside_asks.hpp"
#include "runtime/internal/scheduler.hpp"
#include "storage/store.hpp"

namespace revenant::detail {

class actor_cell;
class node;

struct system final : detail::actor_resolver, std::enable_shared_from_this<system> {
  explicit system(actor_system_config c) : config(c) {}
  ~system() = default;

  actor_system_config config;
  // Lives as long as this state: a push racing with shutdown may still post to it. Queued
  // handlers hold their actor weakly (live actors are owned by `live`), so no cycle keeps
  // this state alive through them.
  std::optional<asio::io_context> io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> workers;
  std::atomic<std::uint64_t> next_id{1};
  std::atomic<bool> accepting{true};  // outside messages
  std::atomic<bool> spinner{false};   // a worker is polling for work (spin_before_sleep)
  // Made with io; hands runs to the workers (scheduler.hpp).
  std::optional<scheduler> runs;
  dead_letters letters;
  // Made with io, destroyed before it (its clock is an Asio timer).
  std::shared_ptr<outside_asks> outside;

  // Which actor a name stands for: running here, in transition, quarantined (directory.hpp).
  // Its lock comes before this system's mutex.
  directory actors;
  // Guards what the parts share that is not the directory's: watcher lists and moves of actors
  // (actor_cell), the committer's lifetime (shutdown closes it under this), repairs.
  mutable std::mutex mutex;

  // ---- durability (absent for a transient-only system); the store outlives the committer ----
  std::optional<durable_config> durable;
  std::optional<store> db;
  std::unique_ptr<committer> commits;
  // Actors with journal entries in the store at open (journal mode); read-only after open.
  std::unordered_set<std::string> journaled;
  std::vector<std::string> repairs;                              // guarded by mutex (recovery_report)
  std::optional<wal_loss_report> wal_dropped;                    // set once, at open
  struct counters {
    std::atomic<std::uint64_t> activated{0}, requeued{0}, continuations{0}, timers{0}, quarantined{0};
  } recovered;
  // Gaps in a sender's numbers given up after durable_config::order_timeout (message_order.hpp).
  std::atomic<std::uint64_t> order_gaps{0};

  // ---- nodes (node.hpp): set when the system is a node, stopped before the workers ----
  std::shared_ptr<node> net;

  // ---- directory.cpp ----
  std::shared_ptr<detail::actor_base> resolve(const std::string& name) override;
  std::string name_of(const std::shared_ptr<detail::actor_base>& actor) override;
  // The running actor named name; a durable one in the store is brought in (not yet decoded).
  std::shared_ptr<actor_cell> resolve_cell(const std::string& name);
  // The sender a stored message (a mailbox entry, a journal entry) names: an actor of another
  // node (its remote actor: the sender of a message taken from a peer), or the actor here
  // (resolve_cell); null if neither, as for a transient sender gone with its process.
  std::shared_ptr<detail::actor_base> resolve_sender(const std::string& name);
  actor_ref spawn(std::string name, behavior initial, supervision policy,
                  const std::shared_ptr<detail::actor_base>& parent);
  // The actor has finished: it leaves the directory.
  void forget(const actor_cell& cell);
  // Why name resolves to no actor: actor_quarantined if it is quarantined, else
  // std::invalid_argument ("no actor named").
  std::exception_ptr no_actor(const std::string& name);
  // Throws std::invalid_argument unless name can name a durable actor.
  static void check_durable_name(const std::string& name);
  // Whether the store holds a record for name (read outside the mutex).
  bool stored(const std::string& name) const;

  // ---- durable_cell.cpp ----
  // A durable actor's cell; loaded: made with its behavior (spawn_durable), else its record is
  // decoded on its first run.
  std::shared_ptr<actor_cell> make_durable_cell(std::string name, behavior initial, supervision policy, bool loaded);
  // Makes cell, a new durable actor, visible and submits its first record; the future is ready
  // once that is committed. Throws as check_durable_name_free, or what encoding throws.
  std::future<void> start_durable(const std::shared_ptr<actor_cell>& cell);
  // Queues a step for commit; returns its last sequence number, or nothing once the store is
  // closed (after shutdown).
  std::optional<std::uint64_t> submit(step s);
  // Keeps name out of service with its record and mailbox as they are; reason is stored.
  // on_commit runs once that is committed.
  void quarantine(const std::string& name, const std::string& reason, std::function<void()> on_commit = {});
  // Records a quarantine this process decided (the committer stores it with the actor's step).
  void note_quarantined(const std::string& name, const std::string& reason);
  // Deletes a durable mailbox entry whose message will never be handled (a dead letter).
  void discard(const std::string& name, std::uint64_t seq);

  // ---- recovery.cpp ----
  void recover();
  void recover_all();
  // The message stored as envelope under seq in actor's mailbox, its sender resolved. Throws
  // snapshot_error (naming the entry) if it cannot be decoded.
  message_ptr stored_message(std::string_view envelope, std::uint64_t seq, const std::string& actor);

  // ---- quarantine.cpp ----
  // What the store holds of a quarantined actor.
  quarantined_actor describe_quarantined(const std::string& name, const std::string& reason) const;
  // The mailbox (or journal) entries of actor, in sequence order: raw key seq and envelope.
  std::vector<std::pair<std::uint64_t, std::string>> stored_entries(bool journal, const std::string& actor) const;
  // Claims name, which must be quarantined, for a lift or a discard: waits until its failed
  // incarnation (if it failed in this process) has left the table, so that its quarantine step
  // is submitted before anything the caller submits. Returns the reason. Throws
  // std::invalid_argument if name is not quarantined or is claimed already, std::logic_error
  // after shutdown.
  std::string claim_quarantined(const std::string& name);
  actor_ref lift(const std::string& name);
  std::uint64_t discard_all(const std::string& name);

  // ---- actor_system.cpp ----
  void dead(std::string recipient, message_ptr m, dead_letter_reason reason) noexcept {
    letters.add(std::move(recipient), std::move(m), reason);
  }
  // Hands a line to the configured log sink, if any (runtime/log.hpp).
  void log(log_level level, const std::string& text) const noexcept;
  // Where a line about a durable actor says it is: ` (store "<path>")`, or nothing.
  std::string store_context() const;
};

}  // namespace revenant::detail
