// The errors the actor system reports about actors (as opposed to the store: store_error, and
// to bytes: snapshot_error). Copying one never throws.
#pragma once

#include <exception>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "actors/actor.hpp"

namespace revenant {

// The named durable actor is quarantined: kept out of service, with its record and mailbox left
// in the store (actor_system::quarantine_of, lift_quarantine, discard_quarantined). Thrown by
// spawn_durable for its name, and held by the futures of send() and ask() to it. An
// invalid_argument, like any other name that cannot be used.
class actor_quarantined : public std::invalid_argument {
 public:
  actor_quarantined(std::string name, std::string reason)
      : std::invalid_argument("revenant: actor \"" + name + "\" is quarantined: " + reason),
        detail_(std::make_shared<const detail>(detail{std::move(name), std::move(reason)})) {}
  // The actor's name.
  const std::string& name() const noexcept { return detail_->name; }
  // Why it was taken out of service (a decode error naming it, or its behavior's failure).
  const std::string& reason() const noexcept { return detail_->reason; }

 private:
  struct detail {
    std::string name;
    std::string reason;
  };
  std::shared_ptr<const detail> detail_;
};

// send() found the actor's mailbox at its capacity (spawn_options::mailbox_capacity): the
// message was not delivered (it went to the dead letters).
class mailbox_full_error : public std::runtime_error {
 public:
  explicit mailbox_full_error(const std::string& name)
      : std::runtime_error("revenant: mailbox of \"" + name + "\" is full") {}
};

// A send() to an actor on another node was not answered: the link to its node was lost after
// the message went out on it (or, closing, did not take it), or no answer came within
// node_config::send_timeout. The message may or may not have been taken there; sending it again
// is at least once, as for any send.
class send_unconfirmed : public std::runtime_error {
 public:
  send_unconfirmed(std::string name, std::string node, const std::string& why)
      : std::runtime_error("revenant: send to actor \"" + name + "\" on node \"" + node + "\" is unconfirmed: " + why),
        detail_(std::make_shared<const detail>(detail{std::move(name), std::move(node)})) {}
  // The recipient's name, and the node it lives on.
  const std::string& name() const noexcept { return detail_->name; }
  const std::string& node() const noexcept { return detail_->node; }

 private:
  struct detail {
    std::string name;
    std::string node;
  };
  std::shared_ptr<const detail> detail_;
};

// Why a live migration (actor_system::migrate, docs/migration.md) failed. Values are stable.
enum class migration_errc {
  unknown_node = 1,    // the target is not a configured peer (or is this node)
  unknown_actor = 2,   // no durable actor of that name runs here
  quarantined = 3,     // the actor is quarantined (or was while it was being moved)
  not_durable = 4,     // a transient actor: its in-memory state and messages cannot move
  refused = 5,         // the target refused the package (the reason says why)
  timed_out = 6,       // no answer within node_config::migration_timeout, before the commit point
  busy = 7,            // the actor is being moved already
  shutting_down = 8,   // this system is stopping
  no_store = 9,        // this system keeps no durable actors
  // Asked on a node that does not host the actor: the node that does gave no answer in time (the
  // move may have happened or not; asking again says which: an actor at its target is not moved).
  unconfirmed = 10,
};

// A live migration failed. For every code but unconfirmed (and shutting_down after the commit
// point, which the reason says), it failed before its commit point: the actor still runs where
// it was. what() names the actor, the target node and the reason.
class migration_error : public std::runtime_error {
 public:
  migration_error(migration_errc code, std::string actor, std::string node, const std::string& why)
      : std::runtime_error("revenant: moving actor \"" + actor + "\" to node \"" + node + "\" failed: " + why),
        detail_(std::make_shared<const detail>(detail{code, std::move(actor), std::move(node), why})) {}
  migration_errc code() const noexcept { return detail_->code; }
  // The actor that was to move, and the node it was to move to.
  const std::string& actor() const noexcept { return detail_->actor; }
  const std::string& node() const noexcept { return detail_->node; }
  // Why, without the actor and node (the end of what()).
  const std::string& reason() const noexcept { return detail_->reason; }

 private:
  struct detail {
    migration_errc code;
    std::string actor;
    std::string node;
    std::string reason;
  };
  std::shared_ptr<const detail> detail_;
};

// An ask from outside the system (actor_system::ask) completed without a reply: the ask_error
// an actor's continuation would have received, as an exception.
class ask_failed : public std::runtime_error {
 public:
  ask_failed(const std::string& name, ask_errc code)
      : std::runtime_error("revenant: ask of actor \"" + name + "\" failed: " + describe(code)), code_(code) {}
  // Why: timeout, target_stopped (not delivered, or the recipient stopped or the system shut
  // down before it replied) or mailbox_full.
  ask_errc code() const noexcept { return code_; }

 private:
  static std::string describe(ask_errc code) {
    switch (code) {
      case ask_errc::timeout: return "no reply within the timeout";
      case ask_errc::target_stopped: return "the actor stopped (or the system shut down) before it replied";
      case ask_errc::mailbox_full: return "its mailbox is full";
    }
    return "ask_errc " + std::to_string(static_cast<int>(code));
  }
  ask_errc code_;
};

// An ask from outside the system (actor_system::ask<R>) was answered with a value that is not
// an R. Names both types.
class unexpected_reply : public std::runtime_error {
 public:
  unexpected_reply(const std::string& name, std::string_view expected, std::string_view received)
      : std::runtime_error("revenant: ask of actor \"" + name + "\" expected a reply of type " +
                           std::string(expected) + ", got " + std::string(received)) {}
};

namespace detail {

// Where the answer to one outside ask goes; completed exactly once, by the actor system.
class outside_reply {
 public:
  virtual ~outside_reply() = default;
  // The reply, or the ask_error that stands for it.
  virtual void answer(const message& reply) = 0;
  virtual void fail(std::exception_ptr error) = 0;
};
template <class R>
class outside_reply_of final : public outside_reply {
 public:
  explicit outside_reply_of(std::string_view name) : name_(name) {}
  std::future<R> get_future() { return promise_.get_future(); }
  void answer(const message& reply) override {
    if (const R* value = reply.get_if<R>())
      promise_.set_value(*value);
    else if (const ask_error* error = reply.get_if<ask_error>())
      promise_.set_exception(std::make_exception_ptr(ask_failed(name_, error->code)));
    else
      promise_.set_exception(std::make_exception_ptr(unexpected_reply(name_, type_name<R>(), reply.type_name())));
  }
  void fail(std::exception_ptr error) override { promise_.set_exception(std::move(error)); }

 private:
  std::string name_;
  std::promise<R> promise_;
};

}  // namespace detail

}  // namespace revenant
