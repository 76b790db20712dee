// The actor system: owns the worker threads (an Asio io_context) and every actor spawned in it.
//
// Thread-safety: every member function may be called from any thread, including from inside
// behaviors, except shutdown(), lift_quarantine() and the destructor, which must not be called
// from a behavior.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "actors/actor.hpp"
#include "actors/message_type.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"
#include "storage/snapshot.hpp"
#include "storage/store.hpp"

namespace revenant {

namespace detail {
struct system;
}

struct actor_system_config {
  // Worker threads running behaviors.
  unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  // Messages an actor handles before it yields its worker to other actors.
  std::size_t throughput = 256;
  // How long a worker that runs out of work keeps polling (messages, sockets, timers) before it
  // sleeps; one worker polls at a time. A message that arrives meanwhile is taken without a
  // thread wake-up — on a VM most of a remote round trip (docs/benchmarks.md, "Remote
  // messaging") — at the price of up to this much CPU after each burst of work. 0 (the
  // default): workers sleep at once.
  std::chrono::microseconds spin_before_sleep{0};
  // Where the library's log lines go (runtime/log.hpp): a quarantine, a behavior's failure, a
  // failed commit, each naming the actor and the store. Empty (the default): nothing is
  // written anywhere.
  log_sink log = nullptr;
  // Makes this system a node that reaches actors in other processes (runtime/node.hpp): named
  // actors whose home is another node are reached there, by the same name. Empty: one process.
  std::optional<node_config> node = std::nullopt;
};

// When durable actors are rebuilt from the store.
enum class recovery_mode : std::uint8_t {
  lazy = 1,   // on first message (or at open, if it has queued messages, timers or asks): opening
              // a store of any size costs only the scan of pending mailboxes
  eager = 2,  // all at open, before the constructor returns (progress via on_progress)
};

// A store of durable actors (docs/format.md, "Store layout"; docs/design.md, "Durability").
struct durable_config {
  // The RocksDB directory; created if missing or empty. A directory holding RocksDB data files
  // without the CURRENT file that names them is refused, never created over.
  std::string path;
  // true: every group commit is fsynced, so a commit survives power loss and OS crashes.
  // false: a commit survives the process being killed at any instant (the write-ahead log is in
  // the OS page cache), not a power loss.
  bool fsync = false;
  // How long the committer waits for more steps to join a group before writing it (0: it
  // writes what is queued, and steps arriving meanwhile form the next group).
  std::chrono::microseconds max_commit_delay{0};
  // Steps per WriteBatch at most.
  std::size_t max_group = 4096;
  // Every how many steps an actor's whole record is written. 1: every step (recovery decodes
  // the record). N > 1: the steps in between append the messages they handled to the actor's
  // journal, and recovery replays them against the last record — fewer bytes per step for
  // large states, but behaviors must then be deterministic (same state and message, same
  // effect: no clocks, no randomness, no transient spawns). Replayed sends are not sent again,
  // nor are durable actors spawned again (context::spawn_durable).
  std::uint32_t snapshot_every = 1;
  recovery_mode recovery = recovery_mode::lazy;
  // Eager recovery: called on the constructing thread every 65,536 actors and at the end, with
  // the actors rebuilt so far and RocksDB's estimate of the total.
  std::function<void(std::uint64_t done, std::uint64_t estimated_total)> on_progress;
  // false: a write-ahead log damaged anywhere but at its torn tail (where a crash mid-write
  // leaves it) fails the open with a store_error naming the log file and the offset, and the
  // store is left untouched. true: the open accepts losing every commit after the damage;
  // recovery().wal_loss says what was dropped, and the damaged logs are copied into
  // <path>/damaged-wal/ first.
  bool accept_wal_loss = false;
  // Order per sender across moves (docs/migration.md 9): how long a message that came before an
  // earlier one of its sender waits for it before it is handled anyway (the gap is counted in
  // order_gaps() and logged).
  std::chrono::milliseconds order_timeout{30'000};
  // How long an actor remembers a correspondent it has not exchanged a message with; after
  // that a sender numbers its messages to it from 1 again.
  std::chrono::milliseconds order_forget_after{3'600'000};
};

// What opening the store found and did (counts since the system started).
struct recovery_report {
  std::uint64_t actors_activated = 0;        // durable actors rebuilt from their records
  std::uint64_t messages_requeued = 0;       // mailbox entries delivered again at open
  std::uint64_t continuations_restored = 0;  // pending ask continuations re-attached
  std::uint64_t timers_rearmed = 0;          // durable timers armed again (late ones fire at once)
  std::uint64_t quarantined = 0;             // actors whose records could not be rebuilt
  // Set when durable_config::accept_wal_loss let the open drop commits after damage in the
  // write-ahead log: which log, where, and how much was dropped.
  std::optional<wal_loss_report> wal_loss;
  // Store metadata found contradicting the data and repaired at open, one sentence each (e.g.
  // a next_seq at or below a stored message's sequence number, raised above it).
  std::vector<std::string> repairs;
};

// A durable actor that is kept out of service, with its record and mailbox left in the store
// (docs/design.md, "Quarantine"). What is stored is read when the value is made.
struct quarantined_actor {
  std::string name;
  std::string reason;                 // the decode error (naming the actor), or why its behavior failed
  bool record_stored = false;         // its record is in the store: lift_quarantine rebuilds it from there
  std::uint64_t mailbox_entries = 0;  // messages kept in its mailbox: handled first once lifted
  std::uint64_t journal_entries = 0;  // steps kept in its journal (snapshot_every > 1): replayed once lifted
};

// Why a message could not be delivered.
enum class dead_letter_reason : std::uint8_t {
  stopped = 1,      // the recipient had stopped (or stopped with the message still queued)
  no_recipient = 2, // sent to an empty actor_ref (e.g. a reply to a message from outside)
  shutdown = 3,     // the system was shutting down
  mailbox_full = 4, // the recipient's mailbox was at its capacity (supervision::mailbox_capacity)
  discarded = 5,    // kept in a quarantined actor's mailbox, then discarded (discard_quarantined)
  unreachable = 6,  // for an actor on another node whose link could not take it (its queue was full, or the
                    // node stopped)
  not_encodable = 7,  // for an actor on another node, but its type is not registered or its value failed to
                      // encode
  reordered = 8,      // a transient message forwarded by a node the recipient left, which arrived after one
                      // its sender's node sent it directly: dropped to keep FIFO per sender (migration.md 4)
};

// A message that reached no behavior. Valid only during the dead-letter handler's call.
struct dead_letter {
  std::string recipient;  // the intended recipient's name, empty if there was none
  const message& value;
  dead_letter_reason reason;
};

// What happens to queued messages when the system shuts down.
enum class shutdown_policy : std::uint8_t {
  drain = 1,  // keep running until no actor has a message, an armed timer or a pending ask
              // left (or the deadline passes), then stop. A pending ask counts until it is
              // answered or times out; an answered ask does not keep the system running.
  drop = 2,   // stop now; queued messages become dead letters
};

class actor_system {
 public:
  explicit actor_system(actor_system_config config = {});
  // A system with durable actors stored at store.path. Recovers what the store holds (lazily
  // or eagerly, as configured) before returning. Throws store_error if the store cannot be
  // opened; a damaged actor does not fail the open: it is quarantined.
  explicit actor_system(durable_config store, actor_system_config config = {});
  // Shuts down with shutdown_policy::drop if shutdown() was not called.
  ~actor_system();
  actor_system(const actor_system&) = delete;
  actor_system& operator=(const actor_system&) = delete;

  // Starts an actor with a generated name ("$<id>"). Throws std::logic_error after shutdown.
  // With restart_policy::restart, the initial behavior is snapshotted now (it must encode).
  actor_ref spawn(behavior initial, supervision policy = {});
  // Starts an actor under a stable name. Throws std::invalid_argument if the name is in use,
  // std::logic_error after shutdown.
  actor_ref spawn(std::string name, behavior initial, supervision policy = {});
  // The running actor with this name, or an empty reference. A durable actor that is in the
  // store but not yet active is activated (rebuilt on its first message). A quarantined actor
  // is not running: its reference is empty too (quarantine_of tells that case apart).
  actor_ref find(std::string_view name) const;

  // Starts a durable actor: its behavior graph, pending continuations, timers and mailbox are
  // checkpointed into the store with every step (docs/design.md, "Durability"), and it lives
  // until it stops, across process restarts. Returns once its first record is committed.
  // Throws std::logic_error without a store or after shutdown; std::invalid_argument if the
  // name is empty, holds a zero byte, or is taken (running or stored), actor_quarantined (an
  // invalid_argument) if it is quarantined; whatever encoding the behavior throws (every
  // captured type must be serializable).
  actor_ref spawn_durable(std::string name, behavior initial, supervision policy = {});

  // Sends value to the actor named name from outside the system. For a durable actor the
  // future is ready once the message is committed (it will then be handled even if the process
  // dies); for a transient one, once it is queued. The future holds std::invalid_argument if no
  // such actor exists, actor_quarantined if it is quarantined, std::logic_error if T is not a
  // registered message type (durable recipients only) or the system is shut down, store_error
  // if the commit failed, mailbox_full_error if its mailbox is full.
  // An actor on another node: the future is ready once that node has committed it (durable) or
  // queued it (transient), and holds the same errors as they happened there, or send_unconfirmed
  // if the link was lost before the answer (or refused it, closing), or none came within
  // node_config::send_timeout.
  template <class T>
  std::future<void> send(std::string_view name, T&& value) {
    return send_message(name, make_message<std::remove_cvref_t<T>>(std::forward<T>(value)));
  }

  // Asks the actor named name from outside the system: sends value, with a sender the
  // recipient can reply to (context::reply, reply_later), and returns a future for the reply,
  // which must be an R (copied out of the message). No actor is created for it, and nothing of
  // it is left once it is answered or timed out: an answered ask does not keep a draining
  // shutdown waiting (a pending one does, until its timeout). The future holds the R, or
  // ask_failed (code timeout: no reply within timeout; target_stopped: not delivered, or the
  // recipient stopped or the system shut down before replying; mailbox_full), unexpected_reply
  // if the reply is not an R, std::invalid_argument if no such actor exists or timeout is
  // negative, actor_quarantined, std::logic_error if T is not a registered message type
  // (durable recipients) or the system is shut down.
  // A durable recipient: the request is written to its mailbox as a send's is, and the reply
  // is released once the step that made it is committed (if the store has failed, it never is:
  // the ask times out). The answer is at most once: the
  // asker is not durable, so a reply due after a crash (the request handled in the next
  // process, or a reply_address kept in the recipient's state) has nowhere to go and is a
  // dead letter, and this future then times out or breaks with the process.
  // Inside a behavior, use context::ask instead: waiting on this future there blocks a worker.
  template <class R, class T>
  std::future<R> ask(std::string_view name, T&& value, std::chrono::nanoseconds timeout) {
    auto reply = std::make_unique<detail::outside_reply_of<R>>(name);
    std::future<R> result = reply->get_future();
    ask_message(name, make_message<std::remove_cvref_t<T>>(std::forward<T>(value)), timeout, std::move(reply));
    return result;
  }

  // ---- as a node (actor_system_config::node) ----

  // The port this node listens on (the one it picked, if its config said 0); 0 if not a node.
  std::uint16_t node_port() const noexcept;
  // Where the configured peer named peer is reached (its port may be 0 in the config until it is
  // known). Throws std::invalid_argument for a name that is not a peer, std::logic_error if this
  // system is not a node.
  void set_peer_address(const std::string& peer, endpoint address);
  // The node an actor named name lives on (docs/design.md, "Placement"): its home by the node
  // list, or the node a "$<id>@<node>" name says. Empty if this system is not a node.
  std::string home_of(std::string_view name) const;
  // How many peers this node has an established link to now (0 if not a node).
  std::size_t links_up() const;
  // Every configured peer as this node sees it now, by name (empty if not a node).
  std::vector<peer_status> peers() const;
  // Moves the durable actor name to node (docs/migration.md): its record, stored mailbox,
  // pending asks and timers. Called on any node: one that does not host the actor passes the
  // request to the one that does. The future is ready once the actor runs at node (at once if
  // it runs there already); messages that reach its old node afterwards are forwarded. It fails
  // with migration_error (the actor then runs on where it was) if the actor or node is unknown,
  // the actor is transient or quarantined, the node refuses, or it does not answer in time. The
  // move is crash-safe: killed at any instant, the actor ends up runnable in exactly one place.
  // Throws std::logic_error if this system is not a node.
  std::future<void> migrate(std::string_view name, std::string_view node);
  // Moves many actors to node, node_config::migration_window at a time (their store writes and
  // frames are shared). The report lists each name as moved or failed; the future never holds
  // an exception. Throws std::logic_error if this system is not a node.
  std::future<migration_report> migrate(std::vector<std::string> names, std::string_view node);
  // Moves every durable actor this node hosts to node or, if node is empty, each to the peer the
  // placement picks for it among this node's peers (for taking this node out of service). Actors
  // spawned meanwhile stay. Throws std::logic_error if this system is not a node.
  std::future<migration_report> drain(std::string_view node = {});
  // This process's incarnation as a node: one above the last process on the same store (1
  // without a store); 0 if not a node.
  std::uint64_t node_incarnation() const noexcept;

  // Blocks until every step and message submitted to the store so far is committed.
  // Throws store_error if a commit failed. No-op without a store.
  void sync();
  // Durable actors kept out of service (this run's and earlier runs'), by name.
  std::vector<quarantined_actor> quarantined() const;
  // The quarantine of the actor named name, if it is quarantined (else nothing: it is running,
  // stored, or does not exist). Throws store_error if the store cannot be read.
  std::optional<quarantined_actor> quarantine_of(std::string_view name) const;
  // Puts a quarantined actor back in service, once what made it fail is fixed: commits the
  // removal of its quarantine entry, rebuilds it from its record (replaying its journal) and
  // has it handle the messages its mailbox kept, oldest first, before anything sent later.
  // Returns once it has handled them and committed that step. If it fails again (its record
  // or a kept message still cannot be decoded, or its behavior fails for good on a kept
  // message), it is quarantined again, and this throws actor_quarantined with the new reason.
  // References taken before the quarantine still name the old incarnation (their messages
  // are dead letters): find() it again. Crash-safe: killed at any instant, the store is as
  // before the call (quarantined) or after it (in service, its kept messages not yet handled
  // or handled exactly once). Throws std::invalid_argument if name is not quarantined,
  // std::logic_error without a store or after shutdown, store_error if the commit failed.
  actor_ref lift_quarantine(std::string_view name);
  // Removes a quarantined actor for good: its record, mailbox, journal, wake and quarantine
  // entries are erased in one commit (a crash leaves all of them or none). Its kept messages
  // become dead letters (reason discarded; one that cannot be decoded is counted, not shown to
  // the handler). Returns how many there were. Its name is free again once this returns.
  // Throws as lift_quarantine does.
  std::uint64_t discard_quarantined(std::string_view name);
  // What recovery has done so far.
  recovery_report recovery() const;

  // Decodes a snapshot (storage/snapshot.hpp) whose graph may hold actor references: each is
  // resolved to the actor of that name running in this system. Throws snapshot_error.
  template <class T>
  T restore(std::string_view bytes, std::string subject = {}) {
    return decode_snapshot<T>(bytes, std::move(subject), resolver());
  }

  // Called for every dead letter, on whichever thread produced it; must be thread-safe and
  // must not block. Replaces any earlier handler.
  void on_dead_letter(std::function<void(const dead_letter&)> handler);
  // Dead letters so far.
  std::uint64_t dead_letters() const noexcept;
  // Messages a durable actor handled after giving up waiting (order_timeout) for an earlier
  // message of the same sender, since the system started (docs/migration.md 9).
  std::uint64_t order_gaps() const noexcept;
  // Actors spawned and not yet stopped.
  std::size_t live_actors() const;

  // Stops accepting new actors and outside messages, finishes by policy, joins the workers and
  // releases every remaining actor's behavior graph. Idempotent. With drain, the deadline
  // bounds the wait for actors that never go quiet; past it, drop applies.
  void shutdown(shutdown_policy policy = shutdown_policy::drain,
                std::chrono::milliseconds drain_deadline = std::chrono::seconds(10));

 private:
  detail::actor_resolver* resolver() const noexcept;
  std::future<void> send_message(std::string_view name, message_ptr m);
  void ask_message(std::string_view name, message_ptr m, std::chrono::nanoseconds timeout,
                   std::unique_ptr<detail::outside_reply> reply);
  void start_workers();
  std::shared_ptr<detail::system> impl_;
};

}  // namespace revenant
