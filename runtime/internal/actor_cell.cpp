#include "runtime/internal/actor_cell.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <tuple>

#include "actors/graph.hpp"
#include "actors/internal/access.hpp"
#include "runtime/errors.hpp"
#include "storage/snapshot.hpp"

namespace revenant::detail {
namespace {

const std::string no_failure;

}  // namespace

actor_cell::actor_cell(system_ptr system, std::uint64_t id, std::string name, behavior initial, supervision policy)
    : recipient(id, std::move(name)), system_(std::move(system)), mailbox_(policy.mailbox_capacity), durable_(false) {
  start(std::move(initial), policy);
}

actor_cell::actor_cell(system_ptr system, std::uint64_t id, std::string name, behavior initial, supervision policy,
                       durable_tag)
    : recipient(id, std::move(name)), system_(std::move(system)), mailbox_(policy.mailbox_capacity), durable_(true) {
  start(std::move(initial), policy);
}

void actor_cell::start(behavior initial, supervision policy) {
  state_.current = std::move(initial);
  if (policy.policy != restart_policy::stop)
    // A restart starts from this snapshot: fresh state, not what a failure left behind.
    state_.supervised = std::make_unique<supervisor>(
        policy, policy.policy == restart_policy::restart ? encode_snapshot(state_.current) : std::string());
}

actor_cell::~actor_cell() {
  drop_list(mailbox_.drain(), dead_letter_reason::stopped);
  delete extras_.load(std::memory_order_relaxed);
}

cell_durability& actor_cell::durability() noexcept {
  std::terminate();  // only a durable_cell (which overrides this) has durable_ set
}

actor_cell::extras& actor_cell::more() {
  extras* x = extras_.load(std::memory_order_acquire);
  if (x != nullptr) return *x;
  auto made = std::make_unique<extras>();
  if (extras_.compare_exchange_strong(x, made.get(), std::memory_order_acq_rel)) return *made.release();
  return *x;  // another thread published its own first
}

void actor_cell::enqueue(message_ptr m, std::optional<completion> ack) {
  if (!detail::message_fields::sender(*m) && !system_->accepting.load(std::memory_order_relaxed)) {
    if (ack) ack->set_exception(std::make_exception_ptr(std::logic_error("revenant: the actor system is shut down")));
    system_->dead(name(), std::move(m), dead_letter_reason::shutdown);
    return;
  }
  if (!mailbox_.reserve(*m)) {
    if (ack) ack->set_exception(std::make_exception_ptr(mailbox_full_error(name())));
    system_->dead(name(), std::move(m), dead_letter_reason::mailbox_full);
    return;
  }
  if (durable_ && !is_runtime_signal(*m)) {
    // A message admission refuses (it cannot be stored, or the store is closed) gives its place
    // under the bound back.
    bool admitted = false;
    try {
      admitted = durability().admit(m, ack);
    } catch (...) {
      mailbox_.unreserve();
      throw;
    }
    if (!admitted) {
      mailbox_.unreserve();
      return;
    }
  } else if (ack) {
    ack->set_value();
  }
  switch (mailbox_.push(m)) {
    case mailbox::push_result::queued:
      return;
    case mailbox::push_result::schedule:
      schedule();
      return;
    case mailbox::push_result::closed:
      if (durable_) durability().refused(*m);
      system_->dead(name(), std::move(m), dead_letter_reason::stopped);
      return;
  }
}

void actor_cell::schedule() { system_->runs->schedule(shared_from_this()); }

void actor_cell::run() {
  if (durable_ && !durability().run_starts()) return;
  for (std::size_t handled = 0;;) {
    if (!mailbox_.fill()) {
      if (durable_ && handled > 0 && !durability().run_ends()) return;
      handled = 0;
      if (mailbox_.block()) return;
      continue;  // a message arrived meanwhile
    }
    if (handled == system_->config.throughput) {
      if (durable_ && !durability().run_ends()) return;
      schedule();  // still scheduled: the inbox is not blocked
      return;
    }
    message_ptr m = mailbox_.take();
    ++handled;
    if (!durable_) {
      if (const auto* t = m->get_if<timer_fired>())
        fire(t->id);
      else
        handle(*m);
    } else {
      if (durability().hold_back(m)) continue;
      const cell_durability::mark before = durability().message_starts();
      const bool failed_before = has_failed();
      if (const auto* t = m->get_if<timer_fired>())
        fire(t->id);
      else if (!durability().take_signal(*m))
        handle(*m);
      durability().message_done(*m, before, std::exchange(call_failed_, false), has_failed() && !failed_before);
      if (durability().parks()) return;
    }
    if (stop_requested_) {
      finish(dead_letter_reason::stopped);
      return;
    }
  }
}

void actor_cell::finish(dead_letter_reason reason) {
  message* rest = mailbox_.close();
  if (durable_) rest = durability().finishing(reason, rest);
  drop_list(rest, reason);
  down notice{name(), reason == dead_letter_reason::shutdown ? exit_reason::shutdown : exit_, {}};
  if (extras* x = extras_.load(std::memory_order_acquire)) notice.detail = std::move(x->failure);
  release_graph();
  system_->forget(*this);
  // From here on add_watcher answers at once; everyone who asked before hears it now.
  std::vector<std::weak_ptr<detail::actor_base>> watchers;
  {
    std::lock_guard lock(system_->mutex);
    if (extras* x = extras_.load(std::memory_order_acquire)) {
      x->finished = notice;
      watchers.swap(x->watchers);
    } else {
      // Nobody watches and it did not fail: the notice is its name and reason (add_watcher).
      finished_reason_ = notice.reason;
      finished_plainly_ = true;
    }
  }
  for (auto& w : watchers)
    if (auto watcher = w.lock()) send_down(*watcher, notice);
}

void actor_cell::add_watcher(const std::shared_ptr<detail::actor_base>& watcher) {
  std::optional<down> already;
  std::shared_ptr<detail::actor_base> moved_to;
  {
    std::lock_guard lock(system_->mutex);
    if (finished_plainly_) {
      already = down{name(), finished_reason_, {}};
    } else if (extras& x = more(); x.finished) {
      already = x.finished;
    } else if (x.moved.load(std::memory_order_relaxed)) {
      moved_to = x.moved_to;
    } else {
      x.watchers.push_back(watcher);
      return;
    }
  }
  if (moved_to) return moved_to->add_watcher(watcher);
  send_down(*watcher, *already);
}

void actor_cell::take_from_node(message_ptr m, const std::string& origin, bool forwarded) {
  if (extras* x = extras_.load(std::memory_order_acquire); x != nullptr && x->arrived.load(std::memory_order_acquire))
      [[unlikely]] {
    bool overtaken = false;
    extras::origin* known = nullptr;
    for (auto& o : x->origins)
      if (o.node == origin) {
        known = &o;
        break;
      }
    if (known != nullptr) {
      // A direct message marks its node (the first one writes the flag, the rest only read it);
      // a forwarded one that finds the mark would overtake it.
      if (forwarded)
        overtaken = known->direct.load(std::memory_order_acquire);
      else if (!known->direct.load(std::memory_order_relaxed))
        known->direct.store(true, std::memory_order_release);
    } else {
      std::lock_guard lock(system_->mutex);
      const bool direct_before =
          std::find(x->direct_from.begin(), x->direct_from.end(), origin) != x->direct_from.end();
      if (forwarded)
        overtaken = direct_before;
      else if (!direct_before)
        x->direct_from.push_back(origin);
    }
    if (overtaken) return system_->dead(name(), std::move(m), dead_letter_reason::reordered);
  }
  enqueue(std::move(m), std::nullopt);
}

void actor_cell::arriving(const std::vector<std::string>& peers) {
  extras& x = more();
  x.origins = std::vector<extras::origin>(peers.size());
  for (std::size_t i = 0; i < peers.size(); ++i) x.origins[i].node = peers[i];
  x.arrived.store(true, std::memory_order_release);
}

void actor_cell::send_down(detail::actor_base& watcher, const down& notice) {
  message_ptr m = make_message<down>(notice);
  detail::message_fields::sender(*m) = shared_from_this();
  watcher.enqueue(std::move(m));
}

// ---- context ----------------------------------------------------------------------------------

actor_ref actor_cell::self() const { return actor_ref(std::const_pointer_cast<actor_cell>(shared_from_this())); }

actor_ref actor_cell::sender() const { return current_ ? actor_ref(detail::message_fields::sender(*current_)) : actor_ref(); }

reply_address actor_cell::reply_later() const {
  return current_ ? reply_address{sender(), detail::message_fields::request_id(*current_)} : reply_address{};
}

void actor_cell::become(behavior next) {
  more().next = std::move(next);
  become_pending_ = true;
}

actor_ref actor_cell::spawn(behavior initial, supervision policy) {
  return system_->spawn({}, std::move(initial), policy, shared_from_this());
}

actor_ref actor_cell::spawn(std::string name, behavior initial, supervision policy) {
  return system_->spawn(std::move(name), std::move(initial), policy, shared_from_this());
}

actor_ref actor_cell::spawn_durable(std::string name, behavior initial, supervision policy) {
  if (!system_->db) throw std::logic_error("revenant: spawn_durable needs an actor system opened on a store");
  detail::system::check_durable_name(name);
  if (durable_) return durability().spawn_child(std::move(name), std::move(initial), policy);
  // From a transient actor: committed on its own; no need to wait.
  std::shared_ptr<actor_cell> child = system_->make_durable_cell(name, std::move(initial), policy, true);
  (void)system_->start_durable(child);
  return actor_ref(std::move(child));
}

void actor_cell::watch(const actor_ref& target) {
  if (target) detail::ref_access::base(target)->add_watcher(shared_from_this());
}

void actor_cell::send(const actor_ref& to, message_ptr m) {
  detail::message_fields::sender(*m) = shared_from_this();
  if (!to) {
    system_->dead({}, std::move(m), dead_letter_reason::no_recipient);
    return;
  }
  if (durable_ && durability().stage(to, m)) return;
  detail::ref_access::base(to)->enqueue(std::move(m));
}

void actor_cell::send_reply(message_ptr m) {
  if (current_ != nullptr) detail::message_fields::response_to(*m) = detail::message_fields::request_id(*current_);
  send(sender(), std::move(m));
}

void actor_cell::send_reply_to(const reply_address& to, message_ptr m) {
  detail::message_fields::response_to(*m) = to.request;
  send(to.to, std::move(m));
}

void actor_cell::send_request(const actor_ref& to, message_ptr m, continuation then, std::chrono::nanoseconds timeout) {
  if (timeout.count() < 0) throw std::invalid_argument("revenant: negative ask timeout");
  detail::message_fields::request_id(*m) = clock().add_ask(std::move(then), std::chrono::steady_clock::now() + timeout);
  send(to, std::move(m));
}

timer_id actor_cell::start_timer(std::chrono::nanoseconds delay, std::chrono::nanoseconds period,
                                 std::unique_ptr<detail::timer_payload> payload) {
  if (delay.count() < 0 || period.count() < 0) throw std::invalid_argument("revenant: negative timer delay");
  if (durable_) durability().timer_set(*payload);
  return clock().start(delay, period, std::move(payload));
}

actor_clock& actor_cell::clock() {
  if (!state_.clock) state_.clock = std::make_unique<actor_clock>(*system_->io, weak_from_this());
  return *state_.clock;
}

// ---- handling -----------------------------------------------------------------------------------

void actor_cell::fire(timer_id id) {
  if (!state_.clock) return;
  message_ptr m;
  try {
    m = state_.clock->fire(id);
  } catch (const std::exception& e) {
    return fail(std::string("timer payload could not be restored: ") + e.what());
  }
  if (!m) return;  // cancelled after it expired
  detail::message_fields::sender(*m) = shared_from_this();
  handle(*m);
}

void actor_cell::handle(const message& m) {
  current_ = &m;
  try {
    if (const std::uint64_t request = detail::message_fields::response_to(m)) {
      resume(request, m);
    } else if (m.is<ask_check>()) {
      time_out_asks();
    } else if (const auto* t = m.get_if<detail::timer_action>()) {
      t->action(*this);
    } else {
      state_.current(*this, m);
    }
  } catch (const std::exception& e) {
    on_failure(m, e.what());
  } catch (...) {
    on_failure(m, "a non-standard exception");
  }
  current_ = nullptr;
  if (become_pending_) {
    // Swapped only now: the old behavior may have been the last owner of the code running.
    extras& x = more();
    state_.current = std::move(x.next);
    x.next = behavior{};
    become_pending_ = false;
  }
}

namespace {
// Once no ask is pending, the actor no longer keeps the io_context running: checked when it goes
// out of scope (after a continuation, which may ask again and so keep the hold, ran or threw).
struct ask_hold_check {
  actor_clock& clock;
  ~ask_hold_check() { clock.release_hold_if_idle(); }
};
}  // namespace

void actor_cell::resume(std::uint64_t request, const message& m) {
  if (!state_.clock) return;
  std::optional<continuation> then = state_.clock->take_waiting(request);
  if (!then) return;  // answered already, or timed out: a late reply is dropped
  ask_hold_check check{*state_.clock};
  (*then)(*this, m);
}

void actor_cell::time_out_asks() {
  if (!state_.clock) return;
  std::vector<continuation> expired = state_.clock->take_expired();
  ask_hold_check check{*state_.clock};
  const auto error = make_message<ask_error>(ask_error{ask_errc::timeout});
  for (auto& then : expired) then(*this, *error);
}

void actor_cell::on_failure(const message& m, const std::string& what) {
  call_failed_ = true;
  std::string detail = "behavior threw on a " + std::string(m.type_name()) + ": " + what;
  if (std::exchange(become_pending_, false)) more().next = behavior{};  // what the failed call asked for does not happen
  if (!state_.supervised) return fail(detail);
  switch (state_.supervised->failed(detail)) {
    case supervisor::verdict::give_up:
      return fail(detail);
    case supervisor::verdict::restart:
      return restart();
    case supervisor::verdict::resume:
      return;
  }
}

void actor_cell::fail(const std::string& detail) {
  if (durable_)
    durability().failing(detail);
  else
    system_->log(log_level::warning, "revenant: actor \"" + name() + "\" stopped: " + detail);
  mark_failed(detail);
  stop_requested_ = true;
}

void actor_cell::mark_failed(const std::string& detail) {
  exit_ = exit_reason::failed;
  more().failure = detail;
}

const std::string& actor_cell::failure() const noexcept {
  const extras* x = extras_.load(std::memory_order_acquire);
  return x != nullptr ? x->failure : no_failure;
}

void actor_cell::restart() {
  behavior fresh;
  try {
    fresh = decode_snapshot<behavior>(state_.supervised->initial(), "initial behavior of actor \"" + name() + "\"",
                                      system_.get());
  } catch (const std::exception& e) {
    return fail(std::string("restart failed: ") + e.what());
  }
  std::vector<continuation> waiting;
  if (state_.clock) {
    waiting = state_.clock->take_all_pending();
    state_.clock->clear();
  }
  release(std::tuple{state_.current, waiting});
  state_.current = std::move(fresh);
}

void actor_cell::release_graph() {
  std::vector<continuation> waiting;
  if (state_.clock) {
    waiting = state_.clock->take_all_pending();
    state_.clock.reset();  // destroying its timers cancels their waits
  }
  state_.supervised.reset();
  behavior next;
  if (extras* x = extras_.load(std::memory_order_acquire)) next = std::move(x->next);
  release(std::tuple{state_.current, next, waiting});
  state_.current = behavior{};
}

void actor_cell::set_moved(std::shared_ptr<detail::actor_base> to) {
  // The watchers go with the actor: each watches it where it went (the forwarder passes the
  // watch on), and add_watcher sends later ones the same way. One lock with add_watcher, so no
  // watch is left behind on this object.
  std::vector<std::weak_ptr<detail::actor_base>> watchers;
  {
    std::lock_guard lock(system_->mutex);
    extras& x = more();
    x.moved_to = to;
    x.moved.store(true, std::memory_order_release);
    watchers.swap(x.watchers);
  }
  for (auto& w : watchers)
    if (auto watcher = w.lock()) to->add_watcher(watcher);
}

void actor_cell::drop_list(message* fifo, dead_letter_reason reason) noexcept {
  while (fifo != nullptr) {
    message_ptr m(fifo);
    fifo = std::exchange(detail::message_fields::next(*m), nullptr);
    if (is_runtime_signal(*m)) continue;  // dies with the actor
    system_->dead(name(), std::move(m), reason);
  }
}

}  // namespace revenant::detail
