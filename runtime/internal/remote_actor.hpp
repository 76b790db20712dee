// An actor that lives on another node, as this node holds it: a name and the node its messages
// go to. Its messages become frames on that node's link (node::send_message), at most once;
// watching it asks that node to say when it stops. References to it are written by its name, so
// a snapshot or a message that holds one means the same actor on every node.
//
// A node holds one per name (node::proxy): every sender here that reaches the actor through
// another node shares it, so that they all switch together when the node learns where the actor
// went (a `moved` notice, docs/migration.md 4). The route starts at the name's home (or the node
// the actor moved to from here) and changes only on the committer's thread, between two batches
// (node::switch_route): a durable message takes the route its batch was built under.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "runtime/internal/node.hpp"
#include "runtime/internal/recipient.hpp"

namespace revenant::detail {

class remote_actor final : public recipient {
 public:
  // name: as this node names it (a plain name, or "$<id>@<home>"); home: the node it lives on.
  remote_actor(std::weak_ptr<node> owner, std::string name, std::string home)
      : recipient(0, std::move(name)), owner_(std::move(owner)), home_(std::move(home)),
        route_(std::make_shared<const actor_route>(actor_route{home_, nullptr})) {}

  void enqueue(message_ptr m) override {
    const auto to = current();
    if (to->local) return to->local->enqueue(std::move(m));
    if (auto n = owner_.lock()) n->send_message(to->peer, given_name(), std::move(m));
  }
  void deliver_acknowledged(message_ptr m, completion ack) override {
    const auto to = current();
    if (to->local) return recipient_of(to->local).deliver_acknowledged(std::move(m), std::move(ack));
    if (auto n = owner_.lock())
      n->send_outside(to->peer, given_name(), std::move(m), std::move(ack));
    else
      ack.set_exception(std::make_exception_ptr(std::logic_error("revenant: the actor system is shut down")));
  }
  void add_watcher(const std::shared_ptr<actor_base>& watcher) override {
    const auto to = current();
    if (to->local) return to->local->add_watcher(watcher);
    if (auto n = owner_.lock()) n->send_watch(to->peer, given_name(), watcher);
  }
  // From a durable actor's step: the message goes through the outbox, exactly once (format.md
  // 8.14), by the route its batch is built under (committer, route_now). Throws what encoding
  // throws (an unregistered type: std::logic_error).
  outgoing staged(std::shared_ptr<actor_base> self, message_ptr m, const std::string& sender) override {
    auto n = owner_.lock();
    if (!n) return outgoing{std::move(self), std::move(m), {}, 0};  // the node is gone: dropped at release
    const auto to = current();
    if (to->local) return recipient_of(to->local).staged(to->local, std::move(m), sender);
    return n->stage_durable(std::move(self), to->peer, given_name(), std::move(m), sender);
  }
  void committed_remote(outgoing& out) override {
    std::uint64_t& last = sent_[out.peer];
    last = std::max(last, out.seq);
    if (auto n = owner_.lock()) n->ship_durable(out.peer, out.seq, std::move(out.recipient), std::move(out.envelope));
  }
  // Committer thread: the highest outbox seq of a message for this actor committed to peer's
  // outbox by this node since this object was made.
  std::uint64_t sent_via(const std::string& peer) const {
    auto it = sent_.find(peer);
    return it == sent_.end() ? 0 : it->second;
  }
  // On the committer's thread, as a batch is built: points out (an outbox entry staged for this
  // actor) at the current route: another peer, or this node's actor (a mailbox entry).
  void route_now(outgoing& out) override {
    if (!switched_.load(std::memory_order_acquire)) return;
    const auto to = current();
    if (auto n = owner_.lock()) n->reroute(out, given_name(), *to);
  }
  bool named_everywhere() const noexcept override { return true; }
  // The node the messages go to now; empty if this node (the actor came back here).
  std::string home() const { return current()->peer; }
  // The actor here, if the route leads back to this node; else null.
  std::shared_ptr<actor_base> local() const { return current()->local; }
  // Committer thread only (node::switch_route), or before anyone holds this.
  void set_route(actor_route to) {
    route_.store(std::make_shared<const actor_route>(std::move(to)), std::memory_order_release);
    switched_.store(true, std::memory_order_release);
  }

 private:
  std::shared_ptr<const actor_route> current() const { return route_.load(std::memory_order_acquire); }

  std::weak_ptr<node> owner_;
  const std::string home_;
  std::atomic<std::shared_ptr<const actor_route>> route_;
  std::atomic<bool> switched_{false};  // the route ever changed: batches must look at it
  std::map<std::string, std::uint64_t> sent_;  // committer thread only: see sent_via
};

}  // namespace revenant::detail
