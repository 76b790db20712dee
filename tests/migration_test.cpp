// Live migration (docs/migration.md): a durable actor moves from node a to node b whole — state,
// stored mailbox, pending asks, timers — and what reaches a for it afterwards is forwarded.
// In one process here; the kill-point matrix runs the two nodes as child processes.
#include <catch2/catch.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "actors/actor.hpp"
#include "runtime/actor_system.hpp"
#include "runtime/errors.hpp"
#include "runtime/internal/kill_point.hpp"
#include "storage/store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/durable_actors.hpp"
#include "tests/support/event_log.hpp"
#include "tests/support/messages.hpp"
#include "tests/support/node_support.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/wait.hpp"

using namespace revenant;
using namespace revenant::test;
using namespace std::chrono_literals;

namespace {

struct numbered {
  std::int64_t n = 0;
  template <class A>
  void serialize(A& a) {
    a(n);
  }
};
struct arm {
  template <class A>
  void serialize(A&) {}
};
struct ring_once {
  template <class A>
  void serialize(A&) {}
};
struct ring_periodic {
  template <class A>
  void serialize(A&) {}
};
struct release {
  template <class A>
  void serialize(A&) {}
};
struct report {
  std::int64_t last = 0, count = 0, repeats = 0, gaps = 0;
  std::int64_t answered = 0, answer = 0, timed_out = 0, once = 0, periodic = 0;
  template <class A>
  void serialize(A& a) {
    a(last, count, repeats, gaps, answered, answer, timed_out, once, periodic);
  }
};
struct get_report {
  template <class A>
  void serialize(A&) {}
};
// Keeps the actor busy for ms (so that what comes meanwhile waits in its mailbox).
struct pause_for {
  std::int64_t ms = 0;
  template <class A>
  void serialize(A& a) {
    a(ms);
  }
};
const message_type<numbered> numbered_type{"test.mig.numbered"};
const message_type<arm> arm_type{"test.mig.arm"};
const message_type<ring_once> ring_once_type{"test.mig.ring_once"};
const message_type<ring_periodic> ring_periodic_type{"test.mig.ring_periodic"};
const message_type<release> release_type{"test.mig.release"};
const message_type<report> report_type{"test.mig.report"};
const message_type<get_report> get_report_type{"test.mig.get_report"};
const message_type<pause_for> pause_for_type{"test.mig.pause_for"};

// The actor that moves. It checks the numbers a sender sends it (1, 2, 3...: repeats and gaps
// counted), and on `arm` starts what must survive a move: an ask the holder answers later, an
// ask nobody answers (it times out), a one-shot timer and a periodic one.
struct mover_state {
  report r;
  actor_ref holder;
  actor_ref silent;
  std::int64_t once_ms = 0, period_ms = 0, timeout_ms = 0;
  template <class A>
  void serialize(A& a) {
    a(r, holder, silent, once_ms, period_ms, timeout_ms);
  }
};
using mover_ptr = std::shared_ptr<mover_state>;
void mover_answered(context&, const message& m, const mover_ptr& s) {
  if (const auto* v = m.get_if<value_is>()) {
    ++s->r.answered;
    s->r.answer = v->value;
  } else if (const auto* e = m.get_if<ask_error>(); e && e->code == ask_errc::timeout) {
    ++s->r.timed_out;
  }
}
const revenant::function<void(context&, const message&), mover_answered> mover_answered_fn{"test.mig.answered"};
void mover_body(context& ctx, const message& m, const mover_ptr& s) {
  if (const auto* n = m.get_if<numbered>()) {
    if (n->n == s->r.last + 1) {
      s->r.last = n->n;
      ++s->r.count;
    } else if (n->n <= s->r.last) {
      ++s->r.repeats;
    } else {
      ++s->r.gaps;
      s->r.last = n->n;
    }
  } else if (m.is<arm>()) {
    ctx.ask(s->holder, get{}, mover_answered_fn.bind(s), std::chrono::hours(1));
    ctx.ask(s->silent, get{}, mover_answered_fn.bind(s), std::chrono::milliseconds(s->timeout_ms));
    ctx.after(std::chrono::milliseconds(s->once_ms), ring_once{});
    ctx.every(std::chrono::milliseconds(s->period_ms), ring_periodic{});
  } else if (m.is<ring_once>()) {
    ++s->r.once;
  } else if (m.is<ring_periodic>()) {
    ++s->r.periodic;
  } else if (m.is<get_report>()) {
    ctx.reply(s->r);
  } else if (const auto* p = m.get_if<pause_for>()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(p->ms));
  } else if (m.is<quit>()) {
    ctx.stop();
  }
}
const revenant::function<void(context&, const message&), mover_body> mover_fn{"test.mig.mover"};

// A transient watcher: on watch_this it watches the target and records "watching"; it records
// each down it hears as "down <name> <reason>".
struct watch_this {
  actor_ref target;
  template <class A>
  void serialize(A& a) {
    a(target);
  }
};
const message_type<watch_this> watch_this_type{"test.mig.watch_this"};
void watcher_body(context& ctx, const message& m, const event_log_ptr& log) {
  if (const auto* w = m.get_if<watch_this>()) {
    ctx.watch(w->target);
    log->record("watching");
  } else if (const auto* d = m.get_if<down>()) {
    log->record("down " + d->name + " " + std::to_string(static_cast<int>(d->reason)));
  }
}
const revenant::function<void(context&, const message&), watcher_body> watcher_fn{"test.mig.watcher"};

// Answers a get later: when it is told to release (with 42).
struct holder_state {
  std::vector<reply_address> waiting;
  template <class A>
  void serialize(A& a) {
    a(waiting);
  }
};
void holder_body(context& ctx, const message& m, const std::shared_ptr<holder_state>& s) {
  if (m.is<get>()) {
    s->waiting.push_back(ctx.reply_later());
  } else if (m.is<release>()) {
    for (const auto& to : s->waiting) ctx.reply_to(to, value_is{42});
    s->waiting.clear();
  }
}
const revenant::function<void(context&, const message&), holder_body> holder_fn{"test.mig.holder"};
// A durable sender: on send_some{n} it sends the next n numbers to `to` (a reference it holds
// across moves of `to`, as a real sender would).
struct send_some {
  std::int64_t n = 0;
  template <class A>
  void serialize(A& a) {
    a(n);
  }
};
const message_type<send_some> send_some_type{"test.mig.send_some"};
struct pump_state {
  actor_ref to;
  std::int64_t sent = 0;
  template <class A>
  void serialize(A& a) {
    a(to, sent);
  }
};
void pump_body(context& ctx, const message& m, const std::shared_ptr<pump_state>& s) {
  if (const auto* k = m.get_if<send_some>())
    for (std::int64_t i = 0; i < k->n; ++i) ctx.tell(s->to, numbered{++s->sent});
}
const revenant::function<void(context&, const message&), pump_body> pump_fn{"test.mig.pump"};

// Counts numbers per sender (named durable senders): each sender's must come 1, 2, 3...
struct sender_tally {
  std::int64_t count = 0;          // messages taken
  std::int64_t late = 0;           // taken after a higher number of the same sender
  std::set<std::int64_t> seen;     // distinct numbers
  std::int64_t last = 0;
  template <class A>
  void serialize(A& a) {
    a(count, late, seen, last);
  }
};
struct tallies {
  std::map<std::string, sender_tally> by_sender;
  template <class A>
  void serialize(A& a) {
    a(by_sender);
  }
};
struct get_tallies {
  template <class A>
  void serialize(A&) {}
};
const message_type<tallies> tallies_type{"test.mig.tallies"};
const message_type<get_tallies> get_tallies_type{"test.mig.get_tallies"};
void tally_body(context& ctx, const message& m, const std::shared_ptr<tallies>& s) {
  if (const auto* n = m.get_if<numbered>()) {
    sender_tally& t = s->by_sender[ctx.sender().name()];
    ++t.count;
    if (n->n < t.last) ++t.late;
    t.seen.insert(n->n);
    t.last = std::max(t.last, n->n);
  } else if (m.is<get_tallies>()) {
    ctx.reply(*s);
  }
}
const revenant::function<void(context&, const message&), tally_body> tally_fn{"test.mig.tally"};
// Takes asks and never answers.
void silent_body(context&, const message&, const std::shared_ptr<holder_state>&) {}
const revenant::function<void(context&, const message&), silent_body> silent_fn{"test.mig.silent"};

actor_system_config node_config_of(const std::string& self, std::map<std::string, std::uint16_t> peers,
                                   std::uint16_t listen_port = 0) {
  node_config node;
  node.name = self;
  node.listen.port = listen_port;
  node.cluster = "mig";
  node.plaintext = true;
  for (const auto& [name, port] : peers) node.peers[name] = endpoint{"127.0.0.1", port};
  node.heartbeat_interval = 50ms;
  node.heartbeat_timeout = 400ms * sanitizer_slowdown;  // a sanitized process may pause that long
  node.migration_timeout = 3000ms * sanitizer_slowdown;
  actor_system_config config;
  config.workers = 2;
  config.node = node;
  config.log = node_test_log(self);
  return config;
}

// A name whose home by placement is `home` (so that the placement does not decide the test).
std::string name_at(actor_system& system, const std::string& prefix, const std::string& home) {
  for (int i = 0;; ++i) {
    std::string name = prefix + std::to_string(i);
    if (system.home_of(name) == home) return name;
  }
}

std::optional<report> report_of(actor_system& system, const std::string& name) {
  try {
    return system.ask<report>(name, get_report{}, 2s).get();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Two nodes a and b in this process, each with its store.
struct two_nodes {
  temp_dir dir;
  actor_system b{store_at(dir.path("b")), node_config_of("b", {{"a", 0}})};
  actor_system a{store_at(dir.path("a")), node_config_of("a", {{"b", b.node_port()}})};
  two_nodes() { b.set_peer_address("a", endpoint{"127.0.0.1", a.node_port()}); }
};

}  // namespace

TEST_CASE("a durable actor moves to another node with its state, mailbox, pending asks and timers", "[migration]") {
  two_nodes n;
  const std::string mover = name_at(n.a, "mover/", "a");
  auto holder_state_ptr = std::make_shared<holder_state>();
  n.a.spawn_durable("holder", holder_fn.bind(holder_state_ptr));
  n.a.spawn_durable("silent", silent_fn.bind(std::make_shared<holder_state>()));
  auto state = std::make_shared<mover_state>();
  state->holder = n.a.find("holder");
  state->silent = n.a.find("silent");
  state->once_ms = 600;
  state->period_ms = 200;
  state->timeout_ms = 900;
  actor_ref at_a = n.a.spawn_durable(mover, mover_fn.bind(state));
  for (int i = 1; i <= 100; ++i) n.a.send(mover, numbered{i}).get();
  at_a.tell(arm{});
  REQUIRE(report_of(n.a, mover));  // handled after arm: the asks and timers are pending when it moves
  REQUIRE(wait_until([&] { return n.a.links_up() == 1 && n.b.links_up() == 1; }, 5s));

  n.a.migrate(mover, "b").get();

  // It runs at b, whole: its state came with it.
  const auto at_b = report_of(n.b, mover);
  REQUIRE(at_b);
  CHECK(at_b->last == 100);
  CHECK(at_b->count == 100);
  // Messages sent to it at a after the move are forwarded, once each, in order.
  for (int i = 101; i <= 200; ++i) n.a.send(mover, numbered{i}).get();
  at_a.tell(numbered{201});  // through a reference taken before the move
  // The holder answers the ask the mover made at a: the reply reaches it at b.
  n.a.find("holder").tell(release{});
  // The silent ask times out at b; the one-shot timer fires once; the periodic one goes on.
  REQUIRE(wait_until(
      [&] {
        const auto r = report_of(n.b, mover);
        return r && r->last == 201 && r->answered == 1 && r->timed_out == 1 && r->once == 1 && r->periodic >= 3;
      },
      10s, 20ms));
  const auto r = report_of(n.b, mover);
  REQUIRE(r);
  CHECK(r->count == 201);
  CHECK(r->repeats == 0);
  CHECK(r->gaps == 0);
  CHECK(r->answer == 42);
  CHECK(r->answered == 1);
  CHECK(r->timed_out == 1);
  CHECK(r->once == 1);
  // One runnable copy: a no longer has its record; b has it and no package is left.
  n.a.sync();
  n.b.sync();
  const auto peers_a = n.a.peers();
  REQUIRE(peers_a.size() == 1);
  CHECK(peers_a[0].migrations_out == 0);
  CHECK(n.b.peers()[0].migrations_in == 0);
}

TEST_CASE("a move that cannot be made fails with its reason and leaves the actor running where it was",
          "[migration]") {
  two_nodes n;
  const std::string mover = name_at(n.a, "mover/", "a");
  auto state = std::make_shared<mover_state>();
  n.a.spawn_durable(mover, mover_fn.bind(state));
  n.a.send(mover, numbered{1}).get();
  auto code_of = [](std::future<void> f) {
    try {
      f.get();
    } catch (const migration_error& e) {
      return e.code();
    }
    return migration_errc{};
  };
  CHECK(code_of(n.a.migrate(mover, "nowhere")) == migration_errc::unknown_node);
  n.a.migrate(mover, "a").get();  // it runs there already: nothing to do
  CHECK(code_of(n.a.migrate(mover, "")) == migration_errc::unknown_node);
  CHECK(code_of(n.a.migrate("no-such-actor", "b")) == migration_errc::unknown_actor);
  n.a.spawn("transient", mover_fn.bind(std::make_shared<mover_state>()));
  CHECK(code_of(n.a.migrate("transient", "b")) == migration_errc::not_durable);
  // b has an actor of that name already: it refuses, and the actor runs on at a.
  n.b.spawn_durable(mover, mover_fn.bind(std::make_shared<mover_state>()));
  REQUIRE(wait_until([&] { return n.a.links_up() == 1; }, 5s));
  CHECK(code_of(n.a.migrate(mover, "b")) == migration_errc::refused);
  n.a.send(mover, numbered{2}).get();
  const auto r = report_of(n.a, mover);
  REQUIRE(r);
  CHECK(r->last == 2);
  CHECK(r->count == 2);
}

TEST_CASE("a move to a node that does not answer times out and the actor runs on", "[migration]") {
  temp_dir dir;
  // b is configured but never started.
  actor_system a{store_at(dir.path("a")), node_config_of("a", {{"b", 1}})};
  const std::string mover = name_at(a, "mover/", "a");
  a.spawn_durable(mover, mover_fn.bind(std::make_shared<mover_state>()));
  a.send(mover, numbered{1}).get();
  auto f = a.migrate(mover, "b");
  try {
    f.get();
    FAIL("the move succeeded");
  } catch (const migration_error& e) {
    CHECK(e.code() == migration_errc::timed_out);
    CHECK(e.actor() == mover);
    CHECK(e.node() == "b");
  }
  a.send(mover, numbered{2}).get();
  const auto r = report_of(a, mover);
  REQUIRE(r);
  CHECK(r->last == 2);
}

namespace {

// Three nodes a, b and c in this process, each with its store, all linked.
struct three_nodes {
  temp_dir dir;
  actor_system c{store_at(dir.path("c")), node_config_of("c", {{"a", 0}, {"b", 0}})};
  actor_system b{store_at(dir.path("b")), node_config_of("b", {{"a", 0}, {"c", c.node_port()}})};
  actor_system a{store_at(dir.path("a")), node_config_of("a", {{"b", b.node_port()}, {"c", c.node_port()}})};
  three_nodes() {
    c.set_peer_address("a", endpoint{"127.0.0.1", a.node_port()});
    c.set_peer_address("b", endpoint{"127.0.0.1", b.node_port()});
    b.set_peer_address("a", endpoint{"127.0.0.1", a.node_port()});
  }
  bool linked() { return a.links_up() == 2 && b.links_up() == 2 && c.links_up() == 2; }
};

// Three nodes where a reaches b through a proxy that can hold a's frames back (c reaches both
// directly); heartbeats allow for the slow link.
struct nodes_behind_proxy {
  temp_dir dir;
  const std::uint16_t a_port = free_port(), b_port = free_port(), c_port = free_port();
  tcp_proxy to_b{b_port};
  const std::chrono::milliseconds migration_timeout;
  actor_system b{store_at(dir.path("b")), config_of(node_config_of("b", {{"a", a_port}, {"c", c_port}}, b_port))};
  actor_system a{store_at(dir.path("a")), config_of(node_config_of("a", {{"b", to_b.port()}, {"c", c_port}}, a_port))};
  actor_system c{store_at(dir.path("c")), config_of(node_config_of("c", {{"a", a_port}, {"b", b_port}}, c_port))};
  explicit nodes_behind_proxy(std::chrono::milliseconds move_timeout = 3000ms * sanitizer_slowdown)
      : migration_timeout(move_timeout) {}
  actor_system_config config_of(actor_system_config config) const {
    config.node->heartbeat_timeout = 20s;  // a delayed link is not silent, only slow
    config.node->migration_timeout = migration_timeout;
    return config;
  }
  bool linked() { return a.links_up() == 2 && b.links_up() == 2 && c.links_up() == 2; }
  std::tuple<actor_system&, actor_system&, actor_system&, tcp_proxy&> parts() { return {a, b, c, to_b}; }
};

migration_errc failure_of(std::future<void> f) {
  try {
    f.get();
  } catch (const migration_error& e) {
    return e.code();
  }
  return migration_errc{};
}

}  // namespace

TEST_CASE("a move asked for on any node is carried out by the node that hosts the actor", "[migration]") {
  three_nodes n;
  REQUIRE(wait_until([&] { return n.linked(); }, 5s));
  const std::string mover = name_at(n.a, "mover/", "a");
  n.a.spawn_durable(mover, mover_fn.bind(std::make_shared<mover_state>()));
  std::int64_t sent = 0;
  auto send_some = [&](actor_system& from) {
    for (int i = 0; i < 20; ++i) from.send(mover, numbered{++sent}).get();
  };
  send_some(n.c);
  // c neither hosts it nor is its target: a does the move.
  n.c.migrate(mover, "b").get();
  REQUIRE(report_of(n.b, mover));
  send_some(n.c);
  // c asks a (the placement's answer), which passes it to b, where it runs now.
  n.c.migrate(mover, "a").get();
  send_some(n.a);
  // Asked on the node it is moving to: b passes it to a.
  n.b.migrate(mover, "b").get();
  send_some(n.c);
  // It runs at b: a move there is done at once, wherever it is asked for.
  n.a.migrate(mover, "b").get();
  n.c.migrate(mover, "b").get();
  REQUIRE(wait_until([&] { auto r = report_of(n.b, mover); return r && r->count == sent; }, 10s, 20ms));
  const auto r = report_of(n.b, mover);
  REQUIRE(r);
  CHECK(r->last == sent);
  CHECK(r->repeats == 0);
  CHECK(r->gaps == 0);
  // Failures come back to the node that asked, with the host's code.
  CHECK(failure_of(n.c.migrate("nobody", "b")) == migration_errc::unknown_actor);
  CHECK(failure_of(n.c.migrate(mover, "nowhere")) == migration_errc::unknown_node);
  n.b.spawn("transient", mover_fn.bind(std::make_shared<mover_state>()));
  CHECK(failure_of(n.b.migrate("transient", "c")) == migration_errc::not_durable);
  n.c.spawn_durable(mover + "-twin", mover_fn.bind(std::make_shared<mover_state>()));
  n.a.spawn_durable(mover + "-twin", mover_fn.bind(std::make_shared<mover_state>()));
  const std::string twin_home = n.a.home_of(mover + "-twin");
  if (twin_home == "a") CHECK(failure_of(n.b.migrate(mover + "-twin", "c")) == migration_errc::refused);
  for (auto* node : {&n.a, &n.b, &n.c})
    for (const auto& p : node->peers()) CHECK(p.migrations_out == 0);
}

TEST_CASE("watchers of an actor that moved hear its down once, from where it went", "[migration]") {
  three_nodes n;
  REQUIRE(wait_until([&] { return n.linked(); }, 5s));
  const std::string mover = name_at(n.a, "mover/", "a");
  n.a.spawn_durable(mover, mover_fn.bind(std::make_shared<mover_state>()));
  // Watches taken before the move: one at the actor's node, one at a third node.
  auto at_a = std::make_shared<event_log>(), at_c = std::make_shared<event_log>(),
       late_at_c = std::make_shared<event_log>();
  n.a.spawn(watcher_fn.bind(at_a)).tell(watch_this{n.a.find(mover)});
  n.c.spawn(watcher_fn.bind(at_c)).tell(watch_this{n.c.find(mover)});
  REQUIRE(at_a->wait_for_count(1));
  REQUIRE(at_c->wait_for_count(1));
  // c's watch frame left on the link before this send, which a has committed once it returns.
  n.c.send(mover, numbered{1}).get();
  n.a.migrate(mover, "b").get();
  // One taken after the move by a reference that still leads to a: a passes it on.
  n.c.spawn(watcher_fn.bind(late_at_c)).tell(watch_this{n.c.find(mover)});
  REQUIRE(late_at_c->wait_for_count(1));
  n.c.send(mover, numbered{2}).get();  // behind the watch on c's link to a, and forwarded after it
  REQUIRE(wait_until([&] { auto r = report_of(n.b, mover); return r && r->last == 2; }, 10s * sanitizer_slowdown, 10ms));
  n.b.send(mover, quit{}).get();
  const std::string stopped = "down " + mover + " " + std::to_string(static_cast<int>(exit_reason::normal));
  for (const auto& log : {at_a, at_c, late_at_c}) {
    REQUIRE(log->wait_for_count(2, 10s * sanitizer_slowdown));
    CHECK(log->at(1) == stopped);
  }
  // Once each: nothing more comes, from b or from a (whose links stay up).
  std::this_thread::sleep_for(300ms);
  for (const auto& log : {at_a, at_c, late_at_c}) CHECK(log->size() == 2);
}

TEST_CASE("a move asked for by a peer while one is under way is refused as busy, and both nodes go on",
          "[migration]") {
  three_nodes n;
  REQUIRE(wait_until([&] { return n.linked(); }, 5s));
  const std::string mover = name_at(n.a, "mover/", "a");
  n.a.spawn_durable(mover, mover_fn.bind(std::make_shared<mover_state>()));
  // Busy: the first move waits to park it while c's request reaches a, which refuses it at once
  // (that answer, sent from under a's lock, once deadlocked a).
  n.a.send(mover, pause_for{500 * sanitizer_slowdown}).get();
  auto first = n.a.migrate(mover, "b");
  auto second = n.c.migrate(mover, "c");
  REQUIRE(second.wait_for(10s * sanitizer_slowdown) == std::future_status::ready);
  CHECK(failure_of(std::move(second)) == migration_errc::busy);
  REQUIRE(first.wait_for(10s * sanitizer_slowdown) == std::future_status::ready);
  first.get();
  n.c.migrate(mover, "c").get();  // a forwards the request to b, where it runs now
  CHECK(report_of(n.c, mover));
}

TEST_CASE("messages a target took for an actor whose move then aborted reach the actor where it stayed",
          "[migration]") {
  // The proxy will hold every byte back long enough for a's move to time out after b has stored
  // the package; c sends to the actor by its placement, which names b.
  nodes_behind_proxy n(1s * sanitizer_slowdown);
  auto [a, b, c, to_b] = n.parts();
  REQUIRE(wait_until([&] { return n.linked(); }, 10s));
  const std::string mover = name_at(a, "mover/", "b");  // lives at a, placed at b
  a.spawn_durable(mover, mover_fn.bind(std::make_shared<mover_state>()));
  to_b.delay(2500ms * sanitizer_slowdown);
  auto moved = a.migrate(mover, "b");
  const auto held_at_b = [&] {
    for (const auto& p : b.peers())
      if (p.name == "a" && p.migrations_in == 1) return true;
    return false;
  };
  REQUIRE(wait_until(held_at_b, 20s * sanitizer_slowdown, 5ms));
  // While b holds the package: c's messages go to b (the placement), which takes them for it.
  constexpr std::int64_t sent = 20;
  for (std::int64_t i = 1; i <= sent; ++i) c.send(mover, numbered{i}).get();
  CHECK(failure_of(std::move(moved)) == migration_errc::timed_out);
  // The abort reaches b, which forwards what it took to a, where the actor stayed.
  REQUIRE(wait_until([&] { return !held_at_b(); }, 30s * sanitizer_slowdown, 10ms));
  to_b.delay(0ms);
  REQUIRE(wait_until([&] { auto r = report_of(a, mover); return r && r->count == sent; }, 20s * sanitizer_slowdown, 20ms));
  const auto r = report_of(a, mover);
  REQUIRE(r);
  CHECK(r->last == sent);
  CHECK(r->repeats == 0);
  CHECK(r->gaps == 0);
}

TEST_CASE("a sender told where the actor went stops going through the old node, in order", "[migration]") {
  temp_dir dir;
  actor_system c{store_at(dir.path("c")), node_config_of("c", {{"a", 0}, {"b", 0}})};
  actor_system b{store_at(dir.path("b")), node_config_of("b", {{"a", 0}, {"c", c.node_port()}})};
  auto a = std::make_unique<actor_system>(store_at(dir.path("a")),
                                          node_config_of("a", {{"b", b.node_port()}, {"c", c.node_port()}}));
  c.set_peer_address("a", endpoint{"127.0.0.1", a->node_port()});
  c.set_peer_address("b", endpoint{"127.0.0.1", b.node_port()});
  b.set_peer_address("a", endpoint{"127.0.0.1", a->node_port()});
  REQUIRE(wait_until([&] { return a->links_up() == 2 && b.links_up() == 2 && c.links_up() == 2; }, 5s));
  const std::string mover = name_at(*a, "mover/", "a");
  const std::string pump = name_at(c, "pump/", "c");
  a->spawn_durable(mover, mover_fn.bind(std::make_shared<mover_state>()));
  auto state = std::make_shared<pump_state>();
  state->to = c.find(mover);  // held across the move, as a real sender would
  c.spawn_durable(pump, pump_fn.bind(state));
  c.send(pump, send_some{20}).get();
  // All 20 in before the move: none is forwarded, so c has nothing to learn yet.
  REQUIRE(wait_until([&] { auto r = report_of(*a, mover); return r && r->last == 20; }, 10s * sanitizer_slowdown, 10ms));
  a->migrate(mover, "b").get();
  const auto learned_from_a = [&] {
    for (const auto& p : c.peers())
      if (p.name == "a") return p.routes_learned;
    return std::uint64_t{0};
  };
  CHECK(learned_from_a() == 0);
  // c's next messages go by a, which forwards them to b and tells c where the actor is.
  c.send(pump, send_some{50}).get();
  REQUIRE(wait_until([&] { return learned_from_a() == 1; }, 10s * sanitizer_slowdown, 10ms));
  REQUIRE(wait_until([&] { auto r = report_of(b, mover); return r && r->last == 70; }, 10s * sanitizer_slowdown, 20ms));
  // a is gone for good: what c sends now must not need it, and a name c resolves again leads
  // the same way.
  a.reset();
  c.send(pump, send_some{50}).get();
  REQUIRE(wait_until([&] { auto r = report_of(b, mover); return r && r->last == 120; }, 10s * sanitizer_slowdown, 20ms));
  c.send(mover, numbered{121}).get();
  REQUIRE(wait_until([&] { auto r = report_of(b, mover); return r && r->last == 121; }, 10s * sanitizer_slowdown, 20ms));
  const auto r = report_of(b, mover);
  REQUIRE(r);
  CHECK(r->count == 121);
  CHECK(r->repeats == 0);
  CHECK(r->gaps == 0);
  CHECK(learned_from_a() == 1);  // one notice switched the one proxy; repeats changed nothing
}

TEST_CASE("a transient sender's forwarded message that a direct one overtook is dropped, not taken out of order",
          "[migration]") {
  nodes_behind_proxy n;  // the proxy will hold a's forwarded message back
  auto [a, b, c, to_b] = n.parts();
  REQUIRE(wait_until([&] { return n.linked(); }, 10s));
  std::atomic<int> reordered{0};
  b.on_dead_letter([&](const dead_letter& d) {
    if (d.reason == dead_letter_reason::reordered) ++reordered;
  });
  const std::string mover = name_at(a, "mover/", "a");
  a.spawn_durable(mover, mover_fn.bind(std::make_shared<mover_state>()));
  auto state = std::make_shared<pump_state>();
  state->to = c.find(mover);
  const actor_ref pump = c.spawn(pump_fn.bind(state));  // transient: its messages are not numbered
  a.migrate(mover, "b").get();
  to_b.delay(500ms);
  // 1 goes by a, which forwards it to b (held back on the way) and tells c where the actor is.
  pump.tell(send_some{1});
  const auto learned_from_a = [&] {
    for (const auto& p : c.peers())
      if (p.name == "a") return p.routes_learned;
    return std::uint64_t{0};
  };
  REQUIRE(wait_until([&] { return learned_from_a() == 1; }, 10s * sanitizer_slowdown, 5ms));
  // 2 to 10 go straight to b and arrive first; 1 arrives after them.
  pump.tell(send_some{9});
  REQUIRE(wait_until([&] { return reordered.load() == 1; }, 10s * sanitizer_slowdown, 5ms));
  const auto r = report_of(b, mover);
  REQUIRE(r);
  CHECK(r->last == 10);
  CHECK(r->gaps == 1);     // 2 came with 1 missing (lost: at most once)
  CHECK(r->count == 8);    // 3 to 10, each the next
  CHECK(r->repeats == 0);  // never taken after a later one
}

TEST_CASE("durable senders' messages arrive exactly once and in order while their recipient moves back and forth",
          "[migration]") {
  three_nodes n;
  REQUIRE(wait_until([&] { return n.linked(); }, 5s));
  const std::string mover = name_at(n.a, "tally/", "a");
  n.a.spawn_durable(mover, tally_fn.bind(std::make_shared<tallies>()));
  // One sender on each node, each holding its reference through every move.
  std::map<std::string, actor_system*> pumps;  // pump name -> its node
  for (auto [node, at] : {std::pair{&n.a, "a"}, std::pair{&n.b, "b"}, std::pair{&n.c, "c"}}) {
    const std::string pump = name_at(*node, "pump/", at);
    auto state = std::make_shared<pump_state>();
    state->to = node->find(mover);
    node->spawn_durable(pump, pump_fn.bind(state));
    pumps[pump] = node;
  }
  // Each pump sends a burst, and the actor moves while the bursts are on their way; then one more
  // burst once it is back at a.
  const int moves = 10, burst = 40;
  for (int move = 0; move <= moves; ++move) {
    for (auto& [pump, node] : pumps) node->send(pump, send_some{burst}).get();
    if (move < moves) n.a.migrate(mover, move % 2 == 0 ? "b" : "a").get();
  }
  const std::int64_t each = (moves + 1) * burst;
  std::optional<tallies> t;
  const auto all_in = [&] {
    try {
      t = n.a.ask<tallies>(mover, get_tallies{}, 2s).get();
    } catch (const std::exception&) {
      return false;
    }
    for (const auto& [pump, _] : pumps)
      if (t->by_sender[pump].count < each) return false;
    return true;
  };
  REQUIRE(wait_until(all_in, 20s * sanitizer_slowdown, 20ms));
  for (const auto& [pump, node] : pumps) {
    INFO(pump);
    const sender_tally& s = t->by_sender[pump];
    CHECK(s.count == each);  // nothing twice
    CHECK(s.seen.size() == static_cast<std::size_t>(each));  // nothing lost
    // Messages of one sender take several paths (forwarded by the node the actor left, or
    // straight to where it is); the numbers in their envelopes put them back in order.
    CHECK(s.late == 0);
  }
  // No gap was given up on: every early message waited for the ones before it.
  CHECK(n.a.order_gaps() + n.b.order_gaps() + n.c.order_gaps() == 0);
}

TEST_CASE("asks from outside on either node are answered while the actor moves back and forth", "[migration]") {
  two_nodes n;
  REQUIRE(wait_until([&] { return n.a.links_up() == 1 && n.b.links_up() == 1; }, 5s));
  const std::string mover = name_at(n.a, "mover/", "a");
  n.a.spawn_durable(mover, mover_fn.bind(std::make_shared<mover_state>()));
  std::int64_t sent = 0;
  for (int move = 0; move < 6; ++move) {
    n.a.send(mover, numbered{++sent}).get();
    for (auto* asker : {&n.a, &n.b}) {
      const auto r = report_of(*asker, mover);
      INFO("move " << move << ", asked on " << (asker == &n.a ? "a" : "b"));
      REQUIRE(r);
      CHECK(r->last == sent);
    }
    n.a.migrate(mover, move % 2 == 0 ? "b" : "a").get();
  }
}

TEST_CASE("asks that reach the actor while it is parked for a move are answered from its new node", "[migration]") {
  two_nodes n;
  REQUIRE(wait_until([&] { return n.a.links_up() == 1 && n.b.links_up() == 1; }, 5s));
  const std::string mover = name_at(n.a, "mover/", "a");
  n.a.spawn_durable(mover, mover_fn.bind(std::make_shared<mover_state>()));
  n.a.send(mover, numbered{1}).get();
  // Busy while the move starts: its probe, and every ask after it, wait in its mailbox; the asks
  // move in the package, and their answers must find the askers (outside, on either node).
  n.a.send(mover, pause_for{300 * sanitizer_slowdown}).get();
  auto moved = n.a.migrate(mover, "b");
  std::vector<std::future<report>> asks;
  for (int i = 0; i < 8; ++i)
    for (auto* asker : {&n.a, &n.b}) asks.push_back(asker->ask<report>(mover, get_report{}, 10s * sanitizer_slowdown));
  moved.get();
  REQUIRE(report_of(n.b, mover));  // it runs at b
  for (auto& ask : asks) {
    const report r = ask.get();  // throws ask_error (timeout) if the answer was lost
    CHECK(r.last == 1);
  }
}

// Node a, whose process asks an actor of node b from outside and dies before the answer comes:
// args are a's store, a's port, b's port, the actor's name.
int dies_asking(const std::vector<std::string>& args) {
  actor_system a(store_at(args.at(0)), node_config_of("a", {{"b", static_cast<std::uint16_t>(std::stoi(args.at(2)))}},
                                                      static_cast<std::uint16_t>(std::stoi(args.at(1)))));
  auto asked = a.ask<report>(args.at(3), get_report{}, 60s);  // waits at b behind a pause
  std::this_thread::sleep_for(500ms * sanitizer_slowdown);     // it is in b's store by now
  std::raise(SIGKILL);
  return 1;
}
const bool dies_asking_registered = register_child("migration.dies_asking", dies_asking);

TEST_CASE("an answer to an ask from a node's last start reaches no ask of its new start", "[migration][crash]") {
  temp_dir dir;
  const std::uint16_t a_port = free_port();
  actor_system b(store_at(dir.path("b")), node_config_of("b", {{"a", a_port}}));
  const std::string busy = name_at(b, "busy/", "b");
  b.spawn_durable(busy, mover_fn.bind(std::make_shared<mover_state>()));
  b.send(busy, pause_for{2000 * sanitizer_slowdown}).get();
  const auto died = run_child({"migration.dies_asking", dir.path("a"), std::to_string(a_port),
                               std::to_string(b.node_port()), busy},
                              30s);
  INFO(died.output);
  REQUIRE(died.signal == SIGKILL);
  // a again, at the same address: its first ask waits while b's actor answers the ask of a's
  // last start, addressed to that start's asker. The same request id must not make that answer
  // this ask's.
  actor_system a(store_at(dir.path("a")), node_config_of("a", {{"b", b.node_port()}}, a_port));
  const std::string holder = name_at(a, "holder/", "a");
  a.spawn_durable(holder, holder_fn.bind(std::make_shared<holder_state>()));
  auto waiting = a.ask<value_is>(holder, get{}, 60s);
  REQUIRE(wait_until([&] { auto r = report_of(b, busy); return r.has_value(); }, 10s * sanitizer_slowdown));
  CHECK(waiting.wait_for(500ms) == std::future_status::timeout);
  a.send(holder, release{}).get();
  CHECK(waiting.get().value == 42);
}

TEST_CASE("many actors move in one batch, and a drain moves every durable actor a node hosts", "[migration]") {
  temp_dir dir;
  auto b_config = node_config_of("b", {{"a", 0}});
  b_config.node->migration_window = 16;  // several windows' worth
  actor_system b{store_at(dir.path("b")), b_config};
  actor_system a{store_at(dir.path("a")), node_config_of("a", {{"b", b.node_port()}})};
  b.set_peer_address("a", endpoint{"127.0.0.1", a.node_port()});
  REQUIRE(wait_until([&] { return a.links_up() == 1 && b.links_up() == 1; }, 5s));
  std::vector<std::string> names;
  for (int i = 0; names.size() < 120; ++i)
    if (a.home_of("acct/" + std::to_string(i)) == "a") names.push_back("acct/" + std::to_string(i));
  for (std::size_t i = 0; i < names.size(); ++i) {
    a.spawn_durable(names[i], mover_fn.bind(std::make_shared<mover_state>()));
    for (std::size_t k = 0; k <= i % 3; ++k) a.send(names[i], numbered{static_cast<std::int64_t>(k + 1)}).get();
  }
  a.spawn("transient", mover_fn.bind(std::make_shared<mover_state>()));
  std::vector<std::string> asked = names;
  asked.push_back("ghost");
  asked.push_back("transient");
  const migration_report moved = a.migrate(asked, "b").get();
  CHECK(moved.moved.size() == names.size());
  REQUIRE(moved.failed.size() == 2);
  for (const auto& e : moved.failed) {
    if (e.actor() == "ghost") CHECK(e.code() == migration_errc::unknown_actor);
    else CHECK((e.actor() == "transient" && e.code() == migration_errc::not_durable));
  }
  auto all_at = [&](actor_system& node) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      const auto r = report_of(node, names[i]);
      if (!r || r->count != static_cast<std::int64_t>(i % 3 + 1) || r->gaps != 0) return false;
    }
    return true;
  };
  CHECK(all_at(b));
  // b drains to its only peer: every durable actor it hosts goes, with its state.
  b.spawn_durable("b-own", mover_fn.bind(std::make_shared<mover_state>()));
  const migration_report drained = b.drain().get();
  CHECK(drained.failed.empty());
  CHECK(drained.moved.size() == names.size() + 1);
  CHECK(all_at(a));
  CHECK(report_of(a, "b-own"));
  // Nothing is left at b but forwarding: its store holds no record.
  b.sync();
  CHECK(b.drain().get().moved.empty());
  for (auto* node : {&a, &b})
    for (const auto& p : node->peers()) {
      CHECK(p.migrations_out == 0);
      CHECK(p.migrations_in == 0);
    }
}

// ---- the kill-point matrix ------------------------------------------------------------------

namespace {

// Sends the mover numbers 1..total, one per timer tick: from a third node, throughout a move.
struct feeder_state {
  actor_ref mover;
  std::int64_t next = 1;
  std::int64_t total = 0;
  template <class A>
  void serialize(A& a) {
    a(mover, next, total);
  }
};
void feeder_body(context& ctx, const message& m, const std::shared_ptr<feeder_state>& s) {
  if (m.is<arm>()) {
    ctx.every(4ms, ring_periodic{});
  } else if (m.is<ring_periodic>() && s->next <= s->total) {
    ctx.tell(s->mover, numbered{s->next++});
  }
}
const revenant::function<void(context&, const message&), feeder_body> feeder_fn{"test.mig.feeder"};


bool exists(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  std::fclose(f);
  return true;
}

// A node of the matrix, in a child process: a (the source) or b (the target). args: role,
// store, a's port, b's port, p's port, mover, holder, silent, kill point ("-": none), stop
// file. On its first start a makes the mover, arms it and moves it to b. Both serve until the
// stop file exists and no migration of theirs is under way.
int matrix_node(const std::vector<std::string>& args) {
  const std::string& role = args[0];
  const std::string other = role == "a" ? "b" : "a";
  std::map<std::string, std::uint16_t> peers{{other, static_cast<std::uint16_t>(std::stoi(role == "a" ? args[3] : args[2]))},
                                             {"p", static_cast<std::uint16_t>(std::stoi(args[4]))}};
  const auto own_port = static_cast<std::uint16_t>(std::stoi(role == "a" ? args[2] : args[3]));
  const std::string& mover = args[5];
  const std::string& point = args[8];
  const std::string& stop_file = args[9];
  if (point != "-") revenant::detail::kill_at(point);
  actor_system node(store_at(args[1]), node_config_of(role, peers, own_port));
  const bool first = role == "a" && !node.find(mover) && node.home_of(mover) == "a" && !exists(stop_file + ".started");
  if (first) {
    write_file(stop_file + ".started", "");
    auto state = std::make_shared<mover_state>();
    state->holder = node.find(args[6]);
    state->silent = node.find(args[7]);
    state->once_ms = 1000;
    state->period_ms = 250;
    state->timeout_ms = 1500;
    node.spawn_durable(mover, mover_fn.bind(state)).tell(arm{});
    wait_until([&] { return node.links_up() == 2; }, 10s);
    std::this_thread::sleep_for(200ms);  // numbers from p arrive meanwhile
    try {
      node.migrate(mover, "b").get();
      std::printf("moved\n");
    } catch (const migration_error& e) {
      std::printf("not moved: %s\n", e.what());
    }
  }
  wait_until([&] { return exists(stop_file); }, 120s, 20ms);
  wait_until(
      [&] {
        for (const auto& p : node.peers())
          if (p.migrations_out != 0 || p.migrations_in != 0) return false;
        return true;
      },
      10s, 20ms);
  node.sync();
  std::this_thread::sleep_for(100ms);  // the last acknowledgements
  return 0;
}
const bool matrix_registered = register_child("migration.node", matrix_node);

// Runs node role in a child until it exits by itself, starting it again each time it is
// killed; the first start arms point. Returns how many times it was killed.
int run_until_done(const std::vector<std::string>& args, const std::string& point) {
  int killed = 0;
  for (std::string armed = point;; armed = "-") {
    std::vector<std::string> full{"migration.node"};
    full.insert(full.end(), args.begin(), args.end());
    full[1 + 8] = armed;
    const child_result r = run_child(full);
    if (std::getenv("REVENANT_NODE_TEST_LOG")) std::fprintf(stderr, "--- %s (signal %d):\n%s", args[0].c_str(), r.signal, r.output.c_str());
    if (r.signal == 0) {
      if (r.exit_code != 0) std::fprintf(stderr, "%s", r.output.c_str());
      return killed;
    }
    ++killed;
  }
}

struct matrix_result {
  int killed = 0;
  std::chrono::milliseconds elapsed{0};  // from p's start to the last report
  std::optional<report> final;
  int records = 0;  // stores holding the mover's record
  bool leftovers = false;
};

matrix_result run_matrix_case(const std::string& point) {
  temp_dir dir;
  const auto started = std::chrono::steady_clock::now();
  const std::uint16_t a_port = free_port(), b_port = free_port(), p_port = free_port();
  actor_system p(store_at(dir.path("p")), node_config_of("p", {{"a", a_port}, {"b", b_port}}, p_port));
  const std::string mover = name_at(p, "mover/", "a");
  const std::string holder = name_at(p, "holder/", "p");
  const std::string silent = name_at(p, "silent/", "p");
  p.spawn_durable(holder, holder_fn.bind(std::make_shared<holder_state>()));
  p.spawn_durable(silent, silent_fn.bind(std::make_shared<holder_state>()));
  constexpr std::int64_t total = 400;
  auto feeder = std::make_shared<feeder_state>();
  feeder->mover = p.find(mover);
  feeder->total = total;
  const std::string stop_file = dir.path("stop");
  auto args_of = [&](const std::string& role) {
    return std::vector<std::string>{role,   dir.path(role), std::to_string(a_port), std::to_string(b_port),
                                    std::to_string(p_port), mover, holder, silent, "-", stop_file};
  };
  const bool source_point = point.starts_with("migration.source");
  matrix_result result;
  std::atomic<int> killed{0};
  std::thread b_thread([&] { killed += run_until_done(args_of("b"), source_point ? "-" : point); });
  std::thread a_thread([&] { killed += run_until_done(args_of("a"), source_point ? point : "-"); });
  REQUIRE(wait_until([&] { return p.links_up() == 2; }, 20s));
  p.spawn_durable("feeder", feeder_fn.bind(feeder)).tell(arm{});
  // The holder answers the mover's ask once the move is decided (or while it is under way).
  std::this_thread::sleep_for(1500ms);
  p.find(holder).tell(release{});
  wait_until(
      [&] {
        result.final = report_of(p, mover);
        return result.final && result.final->last == total && result.final->answered == 1 &&
               result.final->timed_out == 1 && result.final->once == 1;
      },
      40s, 50ms);
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  write_file(stop_file, "");
  a_thread.join();
  b_thread.join();
  result.killed = killed;
  for (const char* role : {"a", "b"}) {
    store s(dir.path(role));
    result.records += s.has_record(mover);
    result.leftovers = result.leftovers || s.migration_marker(mover) || s.incoming(mover);
  }
  return result;
}

}  // namespace

TEST_CASE("killed at any step of a move, source or target, the mover ends up in one place with every message once",
          "[migration][migration_kill]") {
  const auto point = GENERATE(as<std::string>{}, "migration.source.prepared", "migration.source.offered",
                              "migration.source.committed", "migration.source.commit_sent", "migration.source.retired",
                              "migration.target.accepted", "migration.target.accept_sent",
                              "migration.target.activated", "migration.target.done_sent");
  INFO("kill point " << point);
  const matrix_result r = run_matrix_case(point);
  CHECK(r.killed == 1);
  REQUIRE(r.final);
  CHECK(r.final->last == 400);
  CHECK(r.final->count == 400);  // every number once, in order
  CHECK(r.final->repeats == 0);
  CHECK(r.final->gaps == 0);
  CHECK(r.final->answered == 1);
  CHECK(r.final->answer == 42);
  CHECK(r.final->timed_out == 1);
  CHECK(r.final->once == 1);
  // Once per due time (every 250 ms): never twice, as it would if both nodes ran it.
  CHECK(r.final->periodic >= 1);
  CHECK(r.final->periodic <= r.elapsed.count() / 250 + 1);
  CHECK(r.records == 1);  // one runnable copy
  CHECK_FALSE(r.leftovers);
}

TEST_CASE("moves over links that are reset at random instants end with one copy and every message once, in order",
          "[migration]") {
  temp_dir dir;
  const std::uint16_t a_port = free_port(), b_port = free_port(), p_port = free_port();
  // a and b dial each other through proxies that reset their links at random instants; p, a
  // third node, sends every mover numbered messages throughout (through a, their home).
  tcp_proxy to_b(b_port), to_a(a_port);
  std::optional<actor_system> a, b;
  b.emplace(store_at(dir.path("b")), node_config_of("b", {{"a", to_a.port()}, {"p", p_port}}, b_port));
  a.emplace(store_at(dir.path("a")), node_config_of("a", {{"b", to_b.port()}, {"p", p_port}}, a_port));
  actor_system p(store_at(dir.path("p")), node_config_of("p", {{"a", a_port}, {"b", b_port}}, p_port));
  constexpr int movers = 4;
  constexpr std::int64_t total = 600;
  std::vector<std::string> names;
  for (int i = 0; i < movers; ++i) {
    names.push_back(name_at(*a, "mover/" + std::to_string(i) + "/", "a"));
    a->spawn_durable(names.back(), mover_fn.bind(std::make_shared<mover_state>()));
  }
  REQUIRE(wait_until([&] { return p.links_up() == 2 && a->links_up() == 2 && b->links_up() == 2; }, 10s));
  for (int i = 0; i < movers; ++i) {
    auto feeder = std::make_shared<feeder_state>();
    feeder->mover = p.find(names[i]);
    feeder->total = total;
    p.spawn_durable("feeder/" + std::to_string(i), feeder_fn.bind(feeder)).tell(arm{});
  }

  std::atomic<bool> cutting{true};
  std::atomic<int> resets{0};
  std::thread cutter([&] {
    std::mt19937 random(std::random_device{}());
    while (cutting) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(2, 40)(random)));
      (random() % 2 ? to_a : to_b).reset();
      ++resets;
    }
  });
  std::mt19937 random(std::random_device{}());
  int moved = 0, failed = 0;
  for (const auto& name : names)
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 200)(random)));
      try {
        a->migrate(name, "b").get();
        ++moved;
        break;
      } catch (const migration_error& e) {
        INFO(e.what());
        CHECK((e.code() == migration_errc::timed_out || e.code() == migration_errc::refused));
        ++failed;
      }
    }
  cutting = false;
  cutter.join();
  INFO("moved " << moved << ", failed attempts " << failed << ", resets " << resets);
  CHECK(moved >= 1);
  // Everything the feeders sent arrives, once each, in order, wherever each mover is now.
  for (const auto& name : names) {
    std::optional<report> r;
    wait_until(
        [&] {
          r = report_of(p, name);
          return r && r->last == total;
        },
        30s, 20ms);
    REQUIRE(r);
    CHECK(r->last == total);
    CHECK(r->count == total);
    CHECK(r->repeats == 0);
    CHECK(r->gaps == 0);
  }
  // Both sides finish what they started, and then exactly one store holds each mover.
  CHECK(wait_until(
      [&] {
        for (auto* n : {&*a, &*b})
          for (const auto& peer : n->peers())
            if (peer.migrations_out != 0 || peer.migrations_in != 0) return false;
        return true;
      },
      20s, 20ms));
  a.reset();
  b.reset();
  for (const auto& name : names) {
    int records = 0;
    for (const char* role : {"a", "b"}) {
      store s(dir.path(role));
      records += s.has_record(name);
      CHECK_FALSE(s.migration_marker(name));
      CHECK_FALSE(s.incoming(name));
    }
    CHECK(records == 1);
  }
}
