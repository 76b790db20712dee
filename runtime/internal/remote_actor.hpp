// An actor that lives on another node, as this node holds it: a name and the node it lives on.
// Its messages become frames on that node's link (node::send_message), at most once; watching it
// asks that node to say when it stops. References to it are written by its name, so a snapshot
// or a message that holds one means the same actor on every node.
#pragma once

#include <memory>
#include <string>

#include "runtime/internal/node.hpp"
#include "runtime/internal/recipient.hpp"

namespace revenant::detail {

class remote_actor final : public recipient {
 public:
  // name: as this node names it (a plain name, or "$<id>@<home>"); home: the node it lives on.
  remote_actor(std::weak_ptr<node> owner, std::string name, std::string home)
      : recipient(0, std::move(name)), owner_(std::move(owner)), home_(std::move(home)) {}

  void enqueue(message_ptr m) override {
    if (auto n = owner_.lock()) n->send_message(home_, given_name(), std::move(m));
  }
  void deliver_acknowledged(message_ptr m, completion ack) override {
    if (auto n = owner_.lock())
      n->send_outside(home_, given_name(), std::move(m), std::move(ack));
    else
      ack.set_exception(std::make_exception_ptr(std::logic_error("revenant: the actor system is shut down")));
  }
  void add_watcher(const std::shared_ptr<actor_base>& watcher) override {
    if (auto n = owner_.lock()) n->send_watch(home_, given_name(), watcher);
  }
  // From a durable actor's step: the message goes through the outbox, exactly once (format.md
  // 8.14). Throws what encoding throws (an unregistered type: std::logic_error).
  outgoing staged(std::shared_ptr<actor_base> self, message_ptr m, const std::string& sender) override {
    auto n = owner_.lock();
    if (!n) return outgoing{std::move(self), std::move(m), {}, 0};  // the node is gone: dropped at release
    return n->stage_durable(std::move(self), home_, given_name(), std::move(m), sender);
  }
  void committed_remote(outgoing& out) override {
    if (auto n = owner_.lock()) n->ship_durable(home_, out.seq, std::move(out.recipient), std::move(out.envelope));
  }
  bool named_everywhere() const noexcept override { return true; }
  const std::string& home() const noexcept { return home_; }

 private:
  std::weak_ptr<node> owner_;
  const std::string home_;
};

}  // namespace revenant::detail
