// Live migration (docs/migration.md): a durable actor moves from node a to node b whole — state,
// stored mailbox, pending asks, timers — and what reaches a for it afterwards is forwarded.
// In one process here; the kill-point matrix runs the two nodes as child processes.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "actors/actor.hpp"
#include "runtime/actor_system.hpp"
#include "runtime/errors.hpp"
#include "storage/store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/durable_actors.hpp"
#include "tests/support/messages.hpp"
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
const message_type<numbered> numbered_type{"test.mig.numbered"};
const message_type<arm> arm_type{"test.mig.arm"};
const message_type<ring_once> ring_once_type{"test.mig.ring_once"};
const message_type<ring_periodic> ring_periodic_type{"test.mig.ring_periodic"};
const message_type<release> release_type{"test.mig.release"};
const message_type<report> report_type{"test.mig.report"};
const message_type<get_report> get_report_type{"test.mig.get_report"};

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
  }
}
const revenant::function<void(context&, const message&), mover_body> mover_fn{"test.mig.mover"};

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
  node.heartbeat_timeout = 400ms;
  node.migration_timeout = 3000ms;
  actor_system_config config;
  config.workers = 2;
  config.node = node;
  if (std::getenv("REVENANT_NODE_TEST_LOG"))
    config.log = [self](log_level, std::string_view line) {
      std::fprintf(stderr, "[%s] %.*s\n", self.c_str(), static_cast<int>(line.size()), line.data());
    };
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
  CHECK(code_of(n.a.migrate(mover, "a")) == migration_errc::unknown_node);
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
