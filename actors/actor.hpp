// Actors as the programming model sees them: references to send to, the context a behavior
// runs in, and behaviors themselves — closures, so that an actor's state is always data.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "actors/closure.hpp"
#include "actors/message.hpp"

namespace revenant {

class context;

// What an actor does with one message. A closure: its captures are the actor's state, and it
// is checkpointed, restored and released with the actor.
using behavior = closure<void(context&, const message&)>;

// What runs when an ask completes: with the reply, or with an ask_error.
using continuation = closure<void(context&, const message&)>;

// Why an ask completed without a reply. Delivered to the continuation as the message.
enum class ask_errc : std::uint8_t {
  timeout = 1,         // no reply within the timeout
  target_stopped = 2,  // the request could not be delivered (stopped actor, empty reference)
  mailbox_full = 3,    // the target's bounded mailbox refused the request
};
struct ask_error {
  ask_errc code;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(code);
  }
};

// What happens when a behavior throws (chosen at spawn).
enum class restart_policy : std::uint8_t {
  stop = 1,     // the actor stops; watchers see exit_reason::failed
  resume = 2,   // the failing message is dropped; behavior and state stay as they are
  restart = 3,  // the actor starts over from its initial behavior, restored from a snapshot
                // taken at spawn — fresh state, not the state the failure left behind
};
// The restart policy plus a cap: more than max_restarts failures within window stop the actor.
struct supervision {
  restart_policy policy = restart_policy::stop;
  unsigned max_restarts = 3;
  std::chrono::milliseconds window{1000};
  // Back-pressure: at most this many messages wait in the mailbox (0: unbounded). A message
  // that would exceed it is not queued: it becomes a dead letter (reason mailbox_full), so a
  // flood of senders costs bounded memory and never blocks a worker. The runtime's own
  // signals (timers, ask timeouts) are never refused.
  std::uint32_t mailbox_capacity = 0;
};

// Why an actor stopped.
enum class exit_reason : std::uint8_t {
  normal = 1,    // it called stop()
  failed = 2,    // its behavior threw and supervision did not (or could no longer) recover it
  shutdown = 3,  // the system shut down
  // Its node was lost: the link to it closed, or brought nothing past node_config's heartbeat
  // timeout. It may still be running there. Said by the watcher's own node, never on the wire.
  unreachable = 4,
};
// Delivered to every watcher when a watched actor stops (or at once, if it already had).
struct down {
  std::string name;
  exit_reason reason;
  std::string detail;  // what the failure said, for exit_reason::failed
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, reason, detail);
  }
};

// Identifies a timer of one actor; 0 is never used.
using timer_id = std::uint64_t;

namespace detail {

struct ref_access;

// What a timer delivers each time it fires: a fresh message, made from a stored value.
class timer_payload {
 public:
  virtual ~timer_payload() = default;
  virtual message_ptr make() const = 0;
};
template <class T>
class timer_value final : public timer_payload {
 public:
  explicit timer_value(T value) : value_(std::move(value)) {}
  message_ptr make() const override { return make_message<T>(value_); }

 private:
  T value_;
};

// The message a timer carrying a closure delivers: the actor runs the closure, not its behavior.
struct timer_action {
  closure<void(context&)> action;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(action);
  }
};

// An actor as the model needs it; the runtime implements it. Thread-safe.
class actor_base {
 public:
  actor_base(std::uint64_t id, std::string name) : id_(id), name_(std::move(name)) {}
  actor_base(const actor_base&) = delete;
  actor_base& operator=(const actor_base&) = delete;
  virtual ~actor_base() = default;

  // Takes m and delivers it, or hands it to the dead letters if this actor has stopped.
  virtual void enqueue(message_ptr m) = 0;
  // Sends `down` to watcher when this actor stops; at once if it already has.
  virtual void add_watcher(const std::shared_ptr<actor_base>& watcher) = 0;

  std::uint64_t id() const noexcept { return id_; }
  // The stable name, or "$<id>" for an anonymous actor.
  std::string name() const {
    if (!name_.empty()) return name_;
    // Appended, not `"$" + std::to_string(...)`: GCC 12 at -O3 reports a bogus -Wrestrict
    // overlap for that in every program that inlines it (GCC bug 105651).
    std::string anonymous = "$";
    anonymous += std::to_string(id_);
    return anonymous;
  }
  // The name it was spawned with: empty for an anonymous actor. Lives as long as the actor.
  const std::string& given_name() const noexcept { return name_; }

 private:
  std::uint64_t id_;
  std::string name_;
};

// Turns names read from a snapshot back into actors. An actor system is one; it travels in the
// input archive of the decode it is given to (decode_snapshot, decode_envelope).
class actor_resolver {
 public:
  virtual std::shared_ptr<actor_base> resolve(const std::string& name) = 0;
  // The name a reference to actor is written under: its own name, unless the system says more
  // (a transient actor of a node is "$<id>@<node>" beyond it, docs/wire.md 7). It travels in the
  // output archive (encode_snapshot, encode_envelope).
  virtual std::string name_of(const std::shared_ptr<actor_base>& actor) { return actor->name(); }

 protected:
  ~actor_resolver() = default;
};

}  // namespace detail

// A handle to an actor, valid for as long as any handle exists; copies are cheap. Sending to an
// actor that has stopped routes the message to the system's dead letters. Thread-safe.
class actor_ref {
 public:
  actor_ref() noexcept = default;
  explicit actor_ref(std::shared_ptr<detail::actor_base> actor) noexcept : actor_(std::move(actor)) {}

  // Sends value from outside any actor (the receiver sees no sender). Throws std::logic_error
  // on an empty handle.
  template <class T>
  void tell(T&& value) const {
    if (!actor_) throw std::logic_error("revenant: tell() on an empty actor_ref");
    actor_->enqueue(make_message<std::remove_cvref_t<T>>(std::forward<T>(value)));
  }

  // The actor's stable name ("$<id>" if it was spawned anonymously).
  std::string name() const { return actor_->name(); }
  explicit operator bool() const noexcept { return actor_ != nullptr; }
  friend bool operator==(const actor_ref& a, const actor_ref& b) noexcept { return a.actor_ == b.actor_; }


  // Cereal hooks. A reference is saved as the actor's name — its identity in every process —
  // and resolved by name when an actor system restores the snapshot; restoring it anywhere
  // else fails (as a malformed snapshot, saying so). A name with no running actor restores as
  // a detached reference: it keeps the name (saving it again writes the same reference) and
  // its messages become dead letters.
  void save(detail::graph_output_archive& ar) const {
    ar(!actor_ ? std::string() : ar.resolver() != nullptr ? ar.resolver()->name_of(actor_) : actor_->name());
  }
  void load(detail::graph_input_archive& ar) {
    std::string name;
    ar(name);
    if (name.empty()) {
      actor_.reset();
      return;
    }
    if (ar.resolver() == nullptr)
      throw std::runtime_error("actor reference \"" + name +
                               "\" can only be restored by an actor system (actor_system::restore)");
    actor_ = ar.resolver()->resolve(name);
  }

 private:
  friend struct detail::ref_access;  // the runtime's way to the actor (actors/internal/access.hpp)
  std::shared_ptr<detail::actor_base> actor_;
};

// Where the answer to one ask goes: the asker and its request. Taken with context::reply_later(),
// kept as state (it serializes: a durable actor may answer after a restart), used with
// context::reply_to(). Answering twice, or an ask that timed out, delivers nothing.
struct reply_address {
  actor_ref to;
  std::uint64_t request = 0;  // 0: the message was not an ask; reply_to() then just tells `to`
  template <class Archive>
  void serialize(Archive& ar) {
    ar(to, request);
  }
};

// What a behavior can do while it handles a message. Only valid during that call, on the
// thread running it; never store it.
class context {
 public:
  // This actor.
  virtual actor_ref self() const = 0;
  // The sender of the message being handled; empty if it came from outside the system, except
  // for an outside ask (actor_system::ask), whose sender is where its reply goes.
  virtual actor_ref sender() const = 0;
  // Makes next the behavior for every later message (the current call finishes first).
  virtual void become(behavior next) = 0;
  // Stops this actor once the current call returns: later messages go to the dead letters,
  // and the behavior graph is released (its cycles broken).
  virtual void stop() = 0;
  // Starts a new actor in the same system, watched by this one (it receives the child's
  // `down`). Throws std::invalid_argument if name is taken.
  virtual actor_ref spawn(behavior initial, supervision policy = {}) = 0;
  virtual actor_ref spawn(std::string name, behavior initial, supervision policy = {}) = 0;
  // Starts a durable actor (actor_system::spawn_durable). From a durable actor, the child's
  // first record is committed with the current step, like a message it sends: the child can
  // be found and runs only once that step commits, and if the step never commits (a crash,
  // or a failure that rolls the call back) neither does the child. Messages sent to it now
  // are released with the step. From a transient actor, the child's record is committed on its
  // own, and the child is visible at once. Not watched (watches are not durable): watch() it
  // if wanted. During journal replay (durable_config::snapshot_every > 1) nothing is spawned
  // again: it returns the child the original step committed. Throws std::invalid_argument if
  // the name is empty, holds a zero byte or is taken (running, stored, being spawned, or
  // quarantined: actor_quarantined), std::logic_error without a store; whatever encoding the
  // behavior throws (every captured type must be serializable).
  virtual actor_ref spawn_durable(std::string name, behavior initial, supervision policy = {}) = 0;
  // Asks to receive a `down` message when target stops (at once if it already has).
  virtual void watch(const actor_ref& target) = 0;

  // Delivers value to this actor once, after delay (a copy, as a message from itself). Timers
  // belong to the actor: they stop with it. T must be copyable.
  template <class T>
  timer_id after(std::chrono::nanoseconds delay, T value) {
    return start_timer(delay, std::chrono::nanoseconds::zero(),
                       std::make_unique<detail::timer_value<T>>(std::move(value)));
  }
  // Delivers a copy of value to this actor every period, the first time after one period.
  template <class T>
  timer_id every(std::chrono::nanoseconds period, T value) {
    return start_timer(period, period, std::make_unique<detail::timer_value<T>>(std::move(value)));
  }
  // Runs action in this actor, once, after delay (instead of delivering a message).
  timer_id run_after(std::chrono::nanoseconds delay, closure<void(context&)> action) {
    return after(delay, detail::timer_action{std::move(action)});
  }
  // Cancels a timer of this actor: it will not fire again (not even if it was due already).
  // Returns false if no such timer is pending.
  virtual bool cancel(timer_id id) = 0;

  // Sends value to `to`, with this actor as the sender. Messages from one actor to another
  // arrive in the order they were sent.
  template <class T>
  void tell(const actor_ref& to, T&& value) {
    send(to, make_message<std::remove_cvref_t<T>>(std::forward<T>(value)));
  }
  // Sends value to the sender of the current message — as the reply, if that message was an
  // ask (a dead letter if there is no sender).
  template <class T>
  void reply(T&& value) {
    send_reply(make_message<std::remove_cvref_t<T>>(std::forward<T>(value)));
  }
  // Where reply() would answer the current message: keep it to answer later with reply_to().
  virtual reply_address reply_later() const = 0;
  // Answers the ask `to` was taken from, as reply() would have then.
  template <class T>
  void reply_to(const reply_address& to, T&& value) {
    send_reply_to(to, make_message<std::remove_cvref_t<T>>(std::forward<T>(value)));
  }

  // Sends request to target and runs then in this actor — one message at a time, like any
  // other — with the reply, or with an ask_error if none comes within timeout or the request
  // cannot be delivered. A reply after the timeout is dropped. The continuation is part of
  // this actor's state until it runs; if the actor stops first, it never runs.
  template <class T>
  void ask(const actor_ref& target, T&& request, continuation then, std::chrono::nanoseconds timeout) {
    send_request(target, make_message<std::remove_cvref_t<T>>(std::forward<T>(request)), std::move(then), timeout);
  }

 protected:
  context() = default;
  ~context() = default;
  virtual void send(const actor_ref& to, message_ptr m) = 0;
  virtual void send_reply(message_ptr m) = 0;
  virtual void send_reply_to(const reply_address& to, message_ptr m) = 0;
  virtual void send_request(const actor_ref& to, message_ptr m, continuation then, std::chrono::nanoseconds timeout) = 0;
  // period zero: once. Throws std::invalid_argument for a negative delay or period.
  virtual timer_id start_timer(std::chrono::nanoseconds delay, std::chrono::nanoseconds period,
                               std::unique_ptr<detail::timer_payload> payload) = 0;
};

}  // namespace revenant
