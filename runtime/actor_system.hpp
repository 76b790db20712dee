// The actor system: owns the worker threads (an Asio io_context) and every actor spawned in it.
//
// Thread-safety: every member function may be called from any thread, including from inside
// behaviors, except shutdown() and the destructor, which must not be called from a behavior.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "actors/actor.hpp"
#include "storage/snapshot.hpp"

namespace revenant {

struct actor_system_config {
  // Worker threads running behaviors.
  unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  // Messages an actor handles before it yields its worker to other actors.
  std::size_t throughput = 256;
};

// Why a message could not be delivered.
enum class dead_letter_reason : std::uint8_t {
  stopped = 1,      // the recipient had stopped (or stopped with the message still queued)
  no_recipient = 2, // sent to an empty actor_ref (e.g. a reply to a message from outside)
  shutdown = 3,     // the system was shutting down
  mailbox_full = 4, // the recipient's mailbox was at its capacity (supervision::mailbox_capacity)
};

// A message that reached no behavior. Valid only during the dead-letter handler's call.
struct dead_letter {
  std::string recipient;  // the intended recipient's name, empty if there was none
  const message& value;
  dead_letter_reason reason;
};

// What happens to queued messages when the system shuts down.
enum class shutdown_policy : std::uint8_t {
  drain = 1,  // keep running until no actor has a message or an armed timer left (or the
              // deadline passes), then stop. An actor's ask clock counts as armed until the
              // deadline of its last ask, even once that ask is answered.
  drop = 2,   // stop now; queued messages become dead letters
};

class actor_system {
 public:
  explicit actor_system(actor_system_config config = {});
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
  // The running actor with this name, or an empty reference.
  actor_ref find(std::string_view name) const;

  // Decodes a snapshot (storage/snapshot.hpp) whose graph may hold actor references: each is
  // resolved to the actor of that name running in this system. Throws snapshot_error.
  template <class T>
  T restore(std::string_view bytes, std::string subject = {}) {
    detail::resolver_scope scope(resolver());
    return decode_snapshot<T>(bytes, std::move(subject));
  }

  // Called for every dead letter, on whichever thread produced it; must be thread-safe and
  // must not block. Replaces any earlier handler.
  void on_dead_letter(std::function<void(const dead_letter&)> handler);
  // Dead letters so far.
  std::uint64_t dead_letters() const noexcept;
  // Actors spawned and not yet stopped.
  std::size_t live_actors() const;

  // Stops accepting new actors and outside messages, finishes by policy, joins the workers and
  // releases every remaining actor's behavior graph. Idempotent. With drain, the deadline
  // bounds the wait for actors that never go quiet; past it, drop applies.
  void shutdown(shutdown_policy policy = shutdown_policy::drain,
                std::chrono::milliseconds drain_deadline = std::chrono::seconds(10));

  struct impl;

 private:
  detail::actor_resolver* resolver() const noexcept;
  std::shared_ptr<impl> impl_;
};

}  // namespace revenant
