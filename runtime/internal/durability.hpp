// What a durable actor adds to its cell, seen from the cell: the few points of a message's and a
// run's life where the cell hands over to it (runtime/internal/durable_cell.hpp implements it).
// A transient cell has none, and its paths test for durability no further than one null
// pointer at each of these points.
#pragma once

#include <cstddef>
#include <future>
#include <optional>
#include <string>

#include "actors/actor.hpp"
#include "runtime/actor_system.hpp"
#include "runtime/internal/completion.hpp"

namespace revenant::detail {

class cell_durability {
 public:
  // ---- producers (any thread) ----

  // m (not a runtime signal) is about to be queued, past the mailbox bound. One not yet in the
  // store (from outside, or from a transient actor) is written to the mailbox first; ack (an
  // outside send's) is fulfilled once that is committed. False: refused — m went to the dead
  // letters, or the error to ack (or, for a tell, it was thrown).
  virtual bool admit(message_ptr& m, std::optional<completion>& ack) = 0;
  // m reached a closed mailbox: its stored entry will never be handled.
  virtual void refused(const message& m) = 0;

  // ---- worker side ----

  // A run starts. False: the actor cannot run (its record could not be taken up: it is
  // quarantined and finished, or it has ended).
  virtual bool run_starts() = 0;
  // The signals only durable actors get (wake_up, lift_probe), which no behavior sees: true if
  // m is one (and has been taken note of).
  virtual bool take_signal(const message& m) = 0;
  // m was taken from the queue: true if it came before an earlier message of its sender and is
  // held (taken) until that one is handled (docs/migration.md 9).
  virtual bool hold_back(message_ptr& m) = 0;
  // Where the step stands before m is handled: given back to message_done().
  struct mark {
    std::size_t sent = 0;
    std::size_t spawned = 0;
    std::size_t numbered = 0;
  };
  virtual mark message_starts() = 0;
  // m was handled. call_failed: the call threw, so what it sent or spawned is withdrawn. kept:
  // it made the actor fail for good, so it stays in the store with the quarantined actor.
  virtual void message_done(const message& m, mark before, bool call_failed, bool kept) = 0;
  // The behavior sends m (sender set) to `to`: true if the step took it, to be released once
  // committed.
  virtual bool stage(const actor_ref& to, message_ptr& m) = 0;
  // The behavior sets a timer delivering payload's messages. Throws std::logic_error unless
  // they can be stored.
  virtual void timer_set(const detail::timer_payload& payload) = 0;
  // The behavior spawns a durable actor: its first record goes with this step.
  virtual actor_ref spawn_child(std::string name, behavior initial, supervision policy) = 0;
  // After a message: true if the actor parks now (a migration's probe was taken). Its step is
  // submitted, and the run ends without giving the actor up: nothing schedules it until the
  // migration resumes it or moves it away.
  virtual bool parks() = 0;
  // The run ends (the inbox is empty, or the actor yields): its step is submitted. False: the
  // state could not be encoded, and the actor is quarantined and finished.
  virtual bool run_ends() = 0;
  // The behavior failed for good (the cell stops it): says so in the log.
  virtual void failing(const std::string& detail) = 0;
  // The actor finishes for reason with rest still queued (oldest first): commits its end.
  // Returns what of rest goes to the dead letters.
  virtual message* finishing(dead_letter_reason reason, message* rest) = 0;

 protected:
  ~cell_durability() = default;
};

}  // namespace revenant::detail
