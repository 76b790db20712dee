// Senders learning where an actor went (docs/migration.md 4): a node that forwards a peer's
// messages for an actor that moved from it tells that peer where the actor is (`moved`, docs/
// wire.md 6.6), and the peer's proxies of the actor send there from then on. Order per durable
// sender does not depend on this (the recipient restores it, docs/migration.md 9): a switch
// only shortens the path, and lets the old node go away. Also here: the watches that follow a
// moved actor, and what a proxy whose route leads back to this node hands to the actor here.
#include <algorithm>
#include <chrono>
#include <vector>

#include "runtime/internal/node.hpp"
#include "runtime/internal/remote_actor.hpp"
#include "runtime/internal/system.hpp"

namespace revenant::detail {

namespace {
// How often a link is told again about one actor while its messages still come this way (the
// peer may have forgotten: a restart, a proxy made after it dropped its learned routes).
constexpr std::chrono::seconds notice_repeat{1};
// The memo of one link is forgotten as a whole past this many actors (notices are only hints).
constexpr std::size_t max_notices_remembered = 4096;
}  // namespace

const std::string* node::listed_node(std::string_view name) const noexcept {
  if (name == config_.name) return &config_.name;
  auto it = peers_.find(std::string(name));
  return it == peers_.end() ? nullptr : &it->first;
}

void node::tell_moved(connection& c, const std::string& actor, const remote_actor& forwarder) {
  const std::string& target = forwarder.route();
  if (is_self(target)) return;
  connection::notice_memo& told = c.told_moved();
  const auto now = std::chrono::steady_clock::now();
  auto it = told.find(actor);
  if (it != told.end() && now - it->second < notice_repeat) return;
  if (it == told.end() && told.size() >= max_notices_remembered) told.clear();
  told[actor] = now;
  std::string frame;
  wire::encode(frame, wire::moved_frame{wire::name_for_peer(actor, c.peer()), target});
  c.send(frame);
}

void node::take_moved(connection& c, const wire::moved_frame& f) {
  const std::string* to = listed_node(f.target);
  if (to == nullptr) return;  // a node this one does not list: it could not send there
  const std::string actor = wire::name_from_peer(f.actor, c.peer(), config_.name);
  std::shared_ptr<actor_base> proxy_now, forwarder;
  {
    std::lock_guard lock(mutex_);
    // Proxies made later start where this one would lead, if the notice's node is on the way.
    auto known = learned_.find(actor);
    const std::string& before = known != learned_.end() ? *known->second : placement_.home_of(actor);
    if (before == c.peer()) {
      if (known == learned_.end() && learned_.size() >= max_learned_routes) learned_.clear();
      learned_[actor] = to;
    }
    if (auto p = proxies_.find(actor); p != proxies_.end()) proxy_now = p->second.lock();
    // This node's own forwarder (the actor moved on from where it went from here) is shortened
    // too; it never leads back here (the actor's activation here ends it).
    if (auto m = moved_.find(actor); m != moved_.end() && !is_self(*to)) forwarder = m->second;
    // Watches of the actor asked of the notice's node were passed on to where it went
    // (actor_cell::set_moved): they end with that node's link from now on, not the old one's.
    if (auto w = watching_.find(c.peer()); w != watching_.end()) {
      std::vector<remote_watch> kept, refiled;
      for (auto& x : w->second) (x.watched == actor ? refiled : kept).push_back(std::move(x));
      w->second = std::move(kept);
      // Back here: the actor's own cell tells its watchers.
      if (!is_self(*to))
        for (auto& x : refiled) watching_[*to].push_back(std::move(x));
    }
  }
  bool learned = false;
  if (proxy_now) learned = static_cast<remote_actor&>(*proxy_now).switch_route(c.peer(), *to) || learned;
  if (forwarder) learned = static_cast<remote_actor&>(*forwarder).switch_route(c.peer(), *to) || learned;
  if (!learned) return;
  std::lock_guard lock(mutex_);
  if (auto p = peers_.find(c.peer()); p != peers_.end()) ++p->second.routes_learned;
}

bool node::end_watch(const std::string& from, const std::string& watched, const std::string& watcher) {
  const auto end_in = [&](std::vector<remote_watch>& list) {
    auto w = std::find_if(list.begin(), list.end(),
                          [&](const remote_watch& x) { return x.watched == watched && x.watcher == watcher; });
    if (w == list.end()) return false;
    list.erase(w);
    return true;
  };
  if (auto it = watching_.find(from); it != watching_.end() && end_in(it->second)) return true;
  for (auto& [peer, list] : watching_)
    if (peer != from && end_in(list)) return true;
  return false;
}

void node::enqueue_here(const std::string& name, message_ptr m) {
  if (auto target = local_recipient(name))
    target->enqueue(std::move(m));
  else
    sys_.dead(name, std::move(m), dead_letter_reason::stopped);
}

void node::take_here(const std::string& name, message_ptr m, const std::string& origin, bool forwarded) {
  if (auto target = local_recipient(name)) return recipient_of(target).take_from_node(std::move(m), origin, forwarded);
  sys_.dead(name, std::move(m), dead_letter_reason::stopped);
}

void node::deliver_here(const std::string& name, message_ptr m, completion ack) {
  if (auto target = local_recipient(name)) return recipient_of(target).deliver_acknowledged(std::move(m), std::move(ack));
  ack.set_exception(sys_.no_actor(name));
}

void node::watch_here(const std::string& name, const std::shared_ptr<actor_base>& watcher) {
  if (auto target = local_recipient(name)) return target->add_watcher(watcher);
  watcher->enqueue(make_message<down>(down{name, exit_reason::normal, "not running in this process"}));
}

outgoing node::stage_here(std::shared_ptr<actor_base> self, const std::string& name, message_ptr m,
                          const std::string& sender) {
  if (auto target = local_recipient(name)) return recipient_of(target).staged(target, std::move(m), sender);
  // Released to self, whose route leads here still: a dead letter then, as to any stopped actor.
  return outgoing{std::move(self), std::move(m), {}, 0};
}

}  // namespace revenant::detail
