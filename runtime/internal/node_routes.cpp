// Senders learning where an actor went (docs/migration.md 4). A node that forwards a peer's
// durable messages for an actor that moved tells that peer, with a `moved` notice, once every
// message it forwarded is at the actor's new node; the peer's proxy for the actor then switches
// to the new node between two batches, if it sent nothing by the old route that the notice does
// not cover. Every message a sender sent by the old route is therefore in the actor's mailbox
// before its first message by the new one is written: order per sender is kept.
#include "runtime/internal/actor_cell.hpp"
#include "runtime/internal/node.hpp"
#include "runtime/internal/remote_actor.hpp"
#include "runtime/internal/system.hpp"

namespace revenant::detail {

std::shared_ptr<remote_actor> node::forwarder_to(const std::string& actor, const std::string& target) {
  auto forwarder = std::static_pointer_cast<remote_actor>(proxy(actor, target));
  if (forwarder->home() != target) forwarder->set_route(actor_route{target, nullptr});
  return forwarder;
}

void node::note_forwarded(connection& c, const std::string& actor, std::uint64_t seq) {
  owed_notice& owed = forwarding_[actor].owed[c.peer()];
  owed.id = c.peer_id();
  owed.link = c.weak_from_this();
  owed.last = std::max(owed.last, seq);
}

std::vector<std::pair<std::shared_ptr<connection>, std::string>> node::notices_due() {
  std::vector<std::pair<std::shared_ptr<connection>, std::string>> due;
  for (auto it = forwarding_.begin(); it != forwarding_.end();) {
    forwarding& f = it->second;
    bool all_there = true;  // every entry forwarded for the actor is acknowledged by its node
    for (const auto& [peer, seq] : f.shipped)
      if (auto p = peers_.find(peer); p == peers_.end() || p->second.acked < seq) all_there = false;
    if (!all_there) {
      ++it;
      continue;
    }
    std::string target;  // where it is now, as this node forwards
    if (auto m = moved_.find(it->first); m != moved_.end()) target = static_cast<const remote_actor&>(*m->second).home();
    for (auto o = f.owed.begin(); o != f.owed.end() && !target.empty();) {
      auto mark = inbox_.find(o->second.id);
      // Taken here, and so forwarded: its mark covers the last message forwarded for it.
      if (mark == inbox_.end() || mark->second.durable < o->second.last) {
        ++o;
        continue;
      }
      if (auto link = o->second.link.lock())
        due.emplace_back(std::move(link), encoded(wire::moved_frame{wire::name_for_peer(it->first, o->first), target,
                                                                    mark->second.durable}));
      o = f.owed.erase(o);
    }
    if (target.empty()) f.owed.clear();  // it came back here: there is nothing to tell
    it = f.owed.empty() ? forwarding_.erase(it) : std::next(it);
  }
  return due;
}

void node::send_notices(std::vector<std::pair<std::shared_ptr<connection>, std::string>> due) {
  for (auto& [link, frame] : due) link->send(frame);
}

void node::take_moved(connection& c, const wire::moved_frame& f) {
  const std::string actor = wire::name_from_peer(f.actor, c.peer(), config_.name);
  const std::string target(f.target);
  const std::string via = c.peer();
  if (target != config_.name && !peers_.contains(target)) return;  // a node this one does not know: keeps its route
  {
    std::lock_guard lock(mutex_);
    auto it = proxies_.find(actor);
    auto proxy = it == proxies_.end() ? nullptr : it->second.lock();
    if (!proxy || static_cast<const remote_actor&>(*proxy).home() != via) return;  // not routed through via (any more)
  }
  if (!sys_.db) return switch_route(actor, via, target, f.through);  // no outbox: nothing to order
  // Between two batches: every step submitted before is committed and shipped by its route.
  step s;
  s.actor = actor;
  s.exclusive = true;
  s.write = [self = shared_from_this(), actor, via, target, through = f.through](commit_batch&) -> std::uint64_t {
    self->switch_route(actor, via, target, through);
    return 0;
  };
  sys_.submit(std::move(s));
}

void node::switch_route(const std::string& actor, const std::string& via, const std::string& target,
                        std::uint64_t through) {
  std::shared_ptr<actor_base> here;
  if (target == config_.name) {
    here = sys_.resolve_cell(actor);
    if (!here) return;  // not here after all (it moved on, or is not activated yet): a later notice
  }
  std::lock_guard lock(mutex_);
  auto it = proxies_.find(actor);
  auto proxy = it == proxies_.end() ? nullptr : std::static_pointer_cast<remote_actor>(it->second.lock());
  if (!proxy || proxy->home() != via) return;
  std::uint64_t sent = proxy->sent_via(via);
  if (auto last = outbox_last_.find(actor); last != outbox_last_.end())
    if (auto p = last->second.find(via); p != last->second.end()) sent = std::max(sent, p->second);
  // Something sent via that node is not covered: it may still be on its way through it. The
  // node forwards it and tells again.
  if (sent > through) return;
  proxy->set_route(actor_route{here ? std::string() : target, here});
  if (auto p = peers_.find(via); p != peers_.end()) ++p->second.routes_learned;
}

void node::reroute(outgoing& out, const std::string& actor, const actor_route& to) {
  if (!to.local) {
    if (out.peer == to.peer) return;
    out.peer = to.peer;
    out.recipient = std::string(wire::name_for_peer(actor, to.peer));
    return;
  }
  // Back here: a mailbox entry of the actor, numbered as a local one, and delivered from memory
  // once committed like any.
  out.peer.clear();
  out.recipient.clear();
  out.to = to.local;
  out.seq = sys_.commits->reserve(1);
  try {
    out.value = sys_.stored_message(out.envelope, out.seq, actor);
  } catch (const std::exception&) {
    out.value = nullptr;  // its first run finds it in the store (and quarantines it)
  }
}

}  // namespace revenant::detail
