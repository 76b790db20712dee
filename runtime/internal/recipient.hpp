// What every actor of a running system is: a recipient that decides how a message sent by a
// durable actor's step reaches it — in memory once the step commits, or written to its own
// durable mailbox with the step (and, with nodes, over a link). The sender only asks.
#pragma once

#include <memory>
#include <string>

#include "actors/actor.hpp"
#include "runtime/internal/committer.hpp"

namespace revenant::detail {

class recipient : public detail::actor_base {
 public:
  using actor_base::actor_base;

  // m, from the step of the actor named sender, staged for delivery to this actor (self: the
  // owning pointer to it). Here: delivered in memory once the step is committed. Throws
  // std::logic_error if m must be stored and its type is not registered.
  virtual outgoing staged(std::shared_ptr<detail::actor_base> self, message_ptr m, const std::string& sender) {
    (void)sender;
    return outgoing{std::move(self), std::move(m), {}, 0};
  }
  // A staged message for another node (outgoing::peer) is committed to the outbox: ship it.
  virtual void committed_remote(outgoing& out) { (void)out; }
  // m from outside the actors (actor_system::send): ack is fulfilled once m is as safe as this
  // actor keeps its messages — queued (here), committed to its mailbox (a durable actor's), or
  // either, as its node answers (an actor on another node) — or with why not. May throw before
  // ack is taken (then nothing was delivered).
  virtual void deliver_acknowledged(message_ptr m, completion ack) {
    enqueue(std::move(m));
    ack.set_value();
  }
  // True if this actor's name means it on every node and for as long as it exists: a durable
  // actor's, or an actor's of another node (a transient actor here is "$<id>" only here).
  virtual bool named_everywhere() const noexcept { return false; }
  // A transient message a link brought from a peer: origin is the node its sender is on, and
  // forwarded says it came by way of a node this actor left (docs/migration.md 4). Here: queued.
  virtual void take_from_node(message_ptr m, const std::string& origin, bool forwarded) {
    (void)origin;
    (void)forwarded;
    enqueue(std::move(m));
  }
};

// The recipient behind a reference a running system handed out (every actor_base it makes is
// one: cells, detached references, the outside reply point).
inline recipient& recipient_of(const std::shared_ptr<detail::actor_base>& actor) noexcept {
  return static_cast<recipient&>(*actor);
}

}  // namespace revenant::detail
