// The link between two nodes under faults (docs/wire.md 6.3 to 6.5): actor_system::send across
// nodes and its answers, heartbeats that find a silent link, a watch that ends with its node's
// loss, and a send whose outcome cannot be known. The two nodes talk through fault proxies on
// 127.0.0.1 (tests/support/tcp_proxy.hpp), so that a test can cut, reset or blackhole a link.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/actor.hpp"
#include "runtime/actor_system.hpp"
#include "runtime/errors.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/event_log.hpp"
#include "tests/support/messages.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/wait.hpp"

using namespace revenant;
using namespace revenant::test;
using namespace std::chrono_literals;

namespace {


struct watch_this {
  actor_ref target;
  template <class A>
  void serialize(A& a) {
    a(target);
  }
};
const message_type<watch_this> watch_this_type{"test.link.watch_this"};

// Records every add and every down (with its reason), watches on watch_this, stops on quit.
void recorder_body(context& ctx, const message& m, const event_log_ptr& j) {
  if (const auto* a = m.get_if<add>()) {
    j->record("add " + std::to_string(a->n));
  } else if (const auto* w = m.get_if<watch_this>()) {
    ctx.watch(w->target);
  } else if (const auto* d = m.get_if<down>()) {
    j->record("down " + d->name + " reason " + std::to_string(static_cast<int>(d->reason)) + ": " + d->detail);
  } else if (m.is<quit>()) {
    ctx.stop();
  }
}
const revenant::function<void(context&, const message&), recorder_body> recorder_fn{"test.link.recorder"};

// Blocks its worker on the first add until released: its mailbox then fills.
struct gate {
  std::mutex mutex;
  std::condition_variable opened;
  bool open = false;
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    opened.notify_all();
  }
  template <class A>
  void serialize(A&) {}
};
void gated_body(context&, const message& m, const std::shared_ptr<gate>& g) {
  if (m.is<add>()) {
    std::unique_lock lock(g->mutex);
    g->opened.wait(lock, [&] { return g->open; });
  }
}
const revenant::function<void(context&, const message&), gated_body> gated_fn{"test.link.gated"};

// Keeps the reply address of each add and answers them all (n + 100) when told get.
struct deferred_state {
  std::vector<std::pair<reply_address, std::int64_t>> kept;
  template <class A>
  void serialize(A& a) {
    a(kept);
  }
};
void deferred_body(context& ctx, const message& m, const std::shared_ptr<deferred_state>& s) {
  if (const auto* a = m.get_if<add>()) {
    s->kept.emplace_back(ctx.reply_later(), a->n);
  } else if (m.is<get>()) {
    for (const auto& [to, n] : s->kept) ctx.reply_to(to, value_is{n + 100});
    s->kept.clear();
  }
}
const revenant::function<void(context&, const message&), deferred_body> deferred_fn{"test.link.deferred"};

// Nodes a and b, each reaching the other through its own proxy (a → proxy_to_b → b, and b →
// proxy_to_a → a), with short heartbeats.
struct proxied_pair {
  std::unique_ptr<actor_system> a, b;
  std::unique_ptr<tcp_proxy> to_a, to_b;

  static actor_system_config config_of(const std::string& self, const std::string& other) {
    node_config node;
    node.name = self;
    node.cluster = "link";
    node.plaintext = true;
    node.peers[other] = endpoint{"127.0.0.1", 0};
    node.heartbeat_interval = 50ms;
    node.heartbeat_timeout = 400ms * sanitizer_slowdown;  // a sanitized process may pause that long
    node.send_timeout = 1500ms;
    node.reconnect_max = 100ms;
    actor_system_config config;
    config.workers = 2;
    config.node = node;
    if (std::getenv("REVENANT_NODE_TEST_LOG"))
      config.log = [self](log_level, std::string_view line) {
        std::fprintf(stderr, "[%s] %.*s\n", self.c_str(), static_cast<int>(line.size()), line.data());
      };
    return config;
  }

  proxied_pair() {
    a = std::make_unique<actor_system>(config_of("a", "b"));
    b = std::make_unique<actor_system>(config_of("b", "a"));
    to_a = std::make_unique<tcp_proxy>(a->node_port());
    to_b = std::make_unique<tcp_proxy>(b->node_port());
    a->set_peer_address("b", endpoint{"127.0.0.1", to_b->port()});
    b->set_peer_address("a", endpoint{"127.0.0.1", to_a->port()});
  }
  bool linked(std::size_t want = 1, std::chrono::milliseconds timeout = 10s) const {
    return wait_until([&] { return a->links_up() == want && b->links_up() == want; }, timeout);
  }
};

std::string name_at(actor_system& system, const std::string& prefix, const std::string& home) {
  for (int i = 0;; ++i) {
    std::string name = prefix + std::to_string(i);
    if (system.home_of(name) == home) return name;
  }
}

// An actor on a (watcher, recording into on_a) watching a named actor on b (watched, recording
// into on_b); made once the watch is registered on b (a tell sent after it on the same link has
// arrived).
struct watch_across {
  event_log_ptr on_a = std::make_shared<event_log>();
  event_log_ptr on_b = std::make_shared<event_log>();
  std::string watched;
  actor_ref watcher;

  explicit watch_across(proxied_pair& p) : watched(name_at(*p.a, "watched/", "b")) {
    p.b->spawn(watched, recorder_fn.bind(on_b));
    watcher = p.a->spawn(recorder_fn.bind(on_a));
    watcher.tell(watch_this{p.a->find(watched)});
    p.a->find(watched).tell(add{1});
    REQUIRE(on_b->wait_for_count(1));
  }
};

template <class E, class F>
std::string fails_with(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("another exception: ") + e.what();
  }
  return "no exception";
}

}  // namespace

TEST_CASE("send to a transient actor on another node completes once it is queued there, in order", "[node]") {
  proxied_pair p;
  REQUIRE(p.linked());
  auto j = std::make_shared<event_log>();
  const std::string name = name_at(*p.a, "recorder/", "b");
  p.b->spawn(name, recorder_fn.bind(j));
  std::vector<std::future<void>> sent;
  for (int i = 0; i < 100; ++i) sent.push_back(p.a->send(name, add{i}));
  for (auto& f : sent) REQUIRE_NOTHROW(f.get());
  REQUIRE(j->wait_for_count(100));
  for (int i = 0; i < 100; ++i) CHECK(j->at(i) == "add " + std::to_string(i));
}

TEST_CASE("an actor answers asks from another node later, through the reply addresses it kept", "[node]") {
  proxied_pair p;
  REQUIRE(p.linked());
  const std::string name = name_at(*p.a, "deferred/", "b");
  p.b->spawn(name, deferred_fn.bind(std::make_shared<deferred_state>()));
  std::vector<std::future<value_is>> answers;
  for (int i = 0; i < 3; ++i) answers.push_back(p.a->ask<value_is>(name, add{i}, 10s));
  std::this_thread::sleep_for(50ms);
  for (auto& f : answers) CHECK(f.wait_for(0s) == std::future_status::timeout);  // kept, not answered yet
  p.a->send(name, get{}).get();
  for (int i = 0; i < 3; ++i) CHECK(answers[i].get().value == i + 100);
}

TEST_CASE("send to another node fails as a local send would: no such actor, a full mailbox", "[node]") {
  proxied_pair p;
  REQUIRE(p.linked());
  const std::string nobody = name_at(*p.a, "nobody/", "b");
  const std::string unknown = fails_with<std::invalid_argument>([&] { p.a->send(nobody, add{1}).get(); });
  INFO(unknown);
  CHECK(unknown.find(nobody) != std::string::npos);
  CHECK(unknown.find("node \"b\"") != std::string::npos);

  auto g = std::make_shared<gate>();
  const std::string gated = name_at(*p.a, "gated/", "b");
  supervision bounded;
  bounded.mailbox_capacity = 2;
  p.b->spawn(gated, gated_fn.bind(g), bounded);
  p.a->send(gated, add{0}).get();  // taken: the actor blocks on it
  std::vector<std::future<void>> more;
  for (int i = 0; i < 4; ++i) more.push_back(p.a->send(gated, add{i + 1}));
  int full = 0;
  for (auto& f : more) {
    try {
      f.get();
    } catch (const mailbox_full_error& e) {
      ++full;
      CHECK(std::string(e.what()).find(gated) != std::string::npos);
    }
  }
  g->release();
  CHECK(full >= 2);  // at most two of the four fit (three if the first was taken out already)
}

TEST_CASE("a link that falls silent is closed within the heartbeat timeout: watches end with down unreachable, an "
          "unanswered send is unconfirmed, and the link comes back",
          "[node]") {
  proxied_pair p;
  REQUIRE(p.linked());
  const watch_across w(p);
  const auto& [on_a, on_b, watched, watcher] = w;

  const std::vector<peer_status> before = p.a->peers();
  REQUIRE(before.size() == 1);
  CHECK(before[0].name == "b");
  CHECK(before[0].linked);
  CHECK(before[0].incarnation == p.b->node_incarnation());

  // A partition TCP does not notice: the connections stay open, nothing gets through.
  p.to_a->blackhole(true);
  p.to_b->blackhole(true);
  const auto cut_at = std::chrono::steady_clock::now();
  std::future<void> lost = p.a->send(watched, add{2});
  REQUIRE(on_a->wait_for_count(1, 5s));
  const auto heard_after = std::chrono::steady_clock::now() - cut_at;
  CHECK(on_a->at(0).rfind("down " + watched + " reason 4: the link to its node \"b\" was lost", 0) == 0);
  CHECK(heard_after < 2s * sanitizer_slowdown);  // the timeout is 400 ms
  const std::string unconfirmed = fails_with<send_unconfirmed>([&] { lost.get(); });
  INFO(unconfirmed);
  CHECK(unconfirmed.find("link was lost") != std::string::npos);
  CHECK(p.a->links_up() == 0);

  p.to_a->blackhole(false);
  p.to_b->blackhole(false);
  REQUIRE(p.linked());
  p.a->send(watched, add{3}).get();
  // The round trip of a ping answered after the link came back.
  CHECK(wait_until([&] { return p.a->peers()[0].round_trip.count() > 0; }, 5s));
  // b's actor never stopped: the down that ended the watch is the only one a hears of it.
  p.b->find(watched).tell(quit{});
  std::this_thread::sleep_for(200ms);
  CHECK(on_a->size() == 1);
}

TEST_CASE("a watch of an actor on a node that is cut off ends with down unreachable; a later down of it is dropped",
          "[node]") {
  proxied_pair p;
  REQUIRE(p.linked());
  const watch_across w(p);
  const auto& [on_a, on_b, watched, watcher] = w;
  p.to_b->reset();  // a's link: reset at once, dialed again
  REQUIRE(on_a->wait_for_count(1));
  CHECK(on_a->at(0).rfind("down " + watched + " reason 4:", 0) == 0);
  REQUIRE(p.linked());
  // The actor stops now: b sends its down, a drops it (the watch ended already).
  p.b->find(watched).tell(quit{});
  std::this_thread::sleep_for(300ms);
  CHECK(on_a->size() == 1);
  // A new watch of the same actor: it has stopped, so the down comes at once (reason normal).
  watcher.tell(watch_this{p.a->find(watched)});
  REQUIRE(on_a->wait_for_count(2));
  CHECK(on_a->at(1).rfind("down " + watched + " reason 1:", 0) == 0);
}

TEST_CASE("a send to a node that cannot be reached fails unconfirmed after the send timeout", "[node]") {
  proxied_pair p;
  REQUIRE(p.linked());
  p.to_b->refuse(true);
  p.to_b->reset();
  REQUIRE(wait_until([&] { return p.a->links_up() == 0; }, 5s));  // a's link to b (b's own link to a stays up)
  const auto started = std::chrono::steady_clock::now();
  const std::string unconfirmed =
      fails_with<send_unconfirmed>([&] { p.a->send(name_at(*p.a, "anyone/", "b"), add{1}).get(); });
  INFO(unconfirmed);
  CHECK(unconfirmed.find("no answer within 1500 ms") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started >= 1500ms);
  CHECK(p.a->peers()[0].pending_sends == 0);
}

TEST_CASE("a node refuses heartbeat settings that cannot work", "[node]") {
  actor_system_config config = proxied_pair::config_of("a", "b");
  config.node->heartbeat_timeout = config.node->heartbeat_interval;
  CHECK_THROWS_AS(actor_system(config), std::invalid_argument);
  config = proxied_pair::config_of("a", "b");
  config.node->max_outbox_memory = 1000;
  CHECK_THROWS_AS(actor_system(config), std::invalid_argument);
}
