// An actor that lives on another node, as this node holds it: a name and the node its messages
// go to. Its messages become frames on that node's link (node::send_message), at most once;
// watching it asks that node to say when it stops. References to it are written by its name, so
// a snapshot or a message that holds one means the same actor on every node.
//
// The route starts at the name's home (or where this node last learned the actor is) and moves
// when a node the route leads to says the actor went on (a `moved` notice, docs/migration.md 4).
// It may lead back to this node: the actor came here while senders still held this object.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "runtime/internal/node.hpp"
#include "runtime/internal/recipient.hpp"

namespace revenant::detail {

class remote_actor final : public recipient {
 public:
  // name: as this node names it (a plain name, or "$<id>@<home>"); home: the node it lives on.
  // route, if given, is where its messages go instead: a node name the owner keeps for its life
  // (node::listed_node).
  remote_actor(std::weak_ptr<node> owner, std::string name, std::string home, const std::string* route = nullptr)
      : recipient(0, std::move(name)), owner_(std::move(owner)), home_(std::move(home)), route_(route) {}

  void enqueue(message_ptr m) override {
    auto n = owner_.lock();
    if (!n) return;
    const std::string& to = route();
    if (n->is_self(to)) return n->enqueue_here(given_name(), std::move(m));
    n->send_message(to, given_name(), std::move(m));
  }
  void deliver_acknowledged(message_ptr m, completion ack) override {
    auto n = owner_.lock();
    if (!n)
      return ack.set_exception(std::make_exception_ptr(std::logic_error("revenant: the actor system is shut down")));
    const std::string& to = route();
    if (n->is_self(to)) return n->deliver_here(given_name(), std::move(m), std::move(ack));
    n->send_outside(to, given_name(), std::move(m), std::move(ack));
  }
  void add_watcher(const std::shared_ptr<actor_base>& watcher) override {
    auto n = owner_.lock();
    if (!n) return;
    const std::string& to = route();
    if (n->is_self(to)) return n->watch_here(given_name(), watcher);
    n->send_watch(to, given_name(), watcher);
  }
  // From a durable actor's step: the message goes through the outbox to the node the route
  // leads to now, exactly once (format.md 8.14); a later switch does not move it (that node
  // forwards it). Throws what encoding throws (an unregistered type: std::logic_error).
  outgoing staged(std::shared_ptr<actor_base> self, message_ptr m, const std::string& sender) override {
    auto n = owner_.lock();
    if (!n) return outgoing{std::move(self), std::move(m), {}, 0};  // the node is gone: dropped at release
    const std::string& to = route();
    if (n->is_self(to)) return n->stage_here(std::move(self), given_name(), std::move(m), sender);
    return n->stage_durable(std::move(self), to, given_name(), std::move(m), sender);
  }
  // out.peer is the node it was staged for, whatever the route is now.
  void committed_remote(outgoing& out) override {
    if (auto n = owner_.lock()) n->ship_durable(out.peer, out.seq, std::move(out.recipient), std::move(out.envelope));
  }
  bool named_everywhere() const noexcept override { return true; }
  // This is the forwarder of an actor that moved from here: the message goes on where it went,
  // still saying which node it came from.
  void take_from_node(message_ptr m, const std::string& origin, bool forwarded) override {
    auto n = owner_.lock();
    if (!n) return;
    const std::string& to = route();
    if (n->is_self(to)) return n->take_here(given_name(), std::move(m), origin, forwarded);
    n->send_message(to, given_name(), std::move(m), &origin);
  }
  // The node its messages go to now (this node's own name: the actor is here).
  const std::string& route() const noexcept {
    const std::string* to = route_.load(std::memory_order_acquire);
    return to != nullptr ? *to : home_;
  }
  // The route becomes to (a name that outlives this object) if it is from now: a notice from a
  // node the route no longer leads to changes nothing. Thread-safe. Returns whether it switched.
  bool switch_route(const std::string& from, const std::string& to) noexcept {
    const std::string* now = route_.load(std::memory_order_acquire);
    do {
      if ((now != nullptr ? *now : home_) != from) return false;
    } while (!route_.compare_exchange_weak(now, &to, std::memory_order_acq_rel, std::memory_order_acquire));
    return true;
  }

 private:
  std::weak_ptr<node> owner_;
  const std::string home_;
  std::atomic<const std::string*> route_;  // null: home_
};

}  // namespace revenant::detail
