// Exactly once between durable actors of two nodes (docs/format.md 8.14, docs/wire.md 6.2): a
// sender's step writes its message to its outbox, the link ships it, the receiver takes it into
// the recipient's mailbox with its inbox mark. Shown in one process, and with the sending or
// the receiving process killed (SIGKILL) at random instants and started again.
#include <catch2/catch.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "actors/actor.hpp"
#include "runtime/actor_system.hpp"
#include "runtime/errors.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/durable_actors.hpp"
#include "tests/support/messages.hpp"
#include "tests/support/node_support.hpp"

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
struct go_on {
  template <class A>
  void serialize(A&) {}
};
// Tells the sender to send nothing more; it answers with how many it has sent.
struct stop_sending {
  template <class A>
  void serialize(A&) {}
};
const message_type<stop_sending> stop_sending_type{"test.nd.stop_sending"};
const message_type<numbered> numbered_type{"test.nd.numbered"};
const message_type<go_on> go_on_type{"test.nd.go_on"};

// The receiver's tally: how many arrived, the last one, and how many broke the sequence 1, 2, 3...
struct tally_state {
  std::int64_t count = 0;
  std::int64_t last = 0;
  std::int64_t broken = 0;
  template <class A>
  void serialize(A& a) {
    a(count, last, broken);
  }
};
void tally_body(context& ctx, const message& m, const std::shared_ptr<tally_state>& s) {
  if (const auto* n = m.get_if<numbered>()) {
    ++s->count;
    if (n->n != s->last + 1) ++s->broken;
    s->last = n->n;
  } else if (m.is<get>()) {
    // count if every number came once and in order so far; else minus the breaks.
    ctx.reply(value_is{s->broken == 0 ? s->count : -s->broken});
  }
}
const revenant::function<void(context&, const message&), tally_body> tally_fn{"test.nd.tally"};

// The sender: one numbered message to the tally per step, 1 to total, each step telling itself
// to go on.
struct sender_state {
  std::int64_t next = 1;
  std::int64_t total = 0;
  actor_ref tally;
  template <class A>
  void serialize(A& a) {
    a(next, total, tally);
  }
};
void sender_body(context& ctx, const message& m, const std::shared_ptr<sender_state>& s) {
  if (m.is<stop_sending>()) {
    s->total = s->next - 1;
    ctx.reply(value_is{s->total});
    return;
  }
  if (m.is<get>()) {
    ctx.reply(value_is{s->next - 1});  // how many it has sent
    return;
  }
  if (!m.is<go_on>() || s->next > s->total) return;
  ctx.tell(s->tally, numbered{s->next++});
  ctx.tell(ctx.self(), go_on{});
}
const revenant::function<void(context&, const message&), sender_body> sender_fn{"test.nd.sender"};

actor_system_config node_of(const std::string& self, const std::string& other, std::uint16_t other_port,
                            std::uint16_t listen_port = 0) {
  node_config node;
  node.name = self;
  node.listen.port = listen_port;
  node.cluster = "nd";
  node.plaintext = true;
  node.peers[other] = endpoint{"127.0.0.1", other_port};
  actor_system_config config;
  config.workers = 2;
  config.node = node;
  config.log = node_test_log(self);
  return config;
}

std::string name_at(actor_system& system, const std::string& prefix, const std::string& home) {
  for (int i = 0;; ++i) {
    std::string name = prefix + std::to_string(i);
    if (system.home_of(name) == home) return name;
  }
}

// Asks the tally (wherever it is) until it has total, or the deadline passes; returns what it
// said last.
std::int64_t wait_for_tally(actor_system& system, const std::string& tally, std::int64_t total,
                            std::chrono::seconds deadline = 30s) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::int64_t said = 0;
  do {
    try {
      said = system.ask<value_is>(tally, get{}, 2s).get().value;
      if (said == total || said < 0) return said;
    } catch (const std::exception&) {
      // not reachable yet
    }
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < until);
  return said;
}

// Node a, on its store: makes the sender if it is not there, sets it going, and waits until the
// tally on b has every message. args: store, b's port, sender name, tally name, total, a's port.
int sending_node(const std::vector<std::string>& args) {
  actor_system a(store_at(args[0]), node_of("a", "b", static_cast<std::uint16_t>(std::stoi(args[1])),
                                            static_cast<std::uint16_t>(std::stoi(args[5]))));
  const std::int64_t total = std::stoll(args[4]);
  actor_ref sender = a.find(args[2]);
  if (!sender) {
    auto state = std::make_shared<sender_state>();
    state->total = total;
    state->tally = a.find(args[3]);
    sender = a.spawn_durable(args[2], sender_fn.bind(state));
  }
  std::int64_t expected = total;
  if (args.size() > 6 && args[6] == "drain") {
    // Sends nothing more: the tally must come to exactly what the sender's steps sent.
    expected = a.ask<value_is>(args[2], stop_sending{}, 10s).get().value;
  } else {
    sender.tell(go_on{});
  }
  const std::int64_t said = wait_for_tally(a, args[3], expected);
  std::printf("sent %lld, tally says %lld\n", static_cast<long long>(expected), static_cast<long long>(said));
  return said == expected ? 0 : 1;
}

// Node b, on its store, listening on the given port: makes the tally if it is not there and
// serves until it has total, then a little longer (so that its last acknowledgements are sent).
// args: store, listening port, tally name, total.
int receiving_node(const std::vector<std::string>& args) {
  actor_system b(store_at(args[0]), node_of("b", "a", 0, static_cast<std::uint16_t>(std::stoi(args[1]))));
  if (!b.find(args[2])) b.spawn_durable(args[2], tally_fn.bind(std::make_shared<tally_state>()));
  const std::int64_t said = wait_for_tally(b, args[2], std::stoll(args[3]));
  std::this_thread::sleep_for(200ms);
  std::printf("tally says %lld\n", static_cast<long long>(said));
  return said == std::stoll(args[3]) ? 0 : 1;
}

std::vector<std::string> with(std::vector<std::string> head, const std::vector<std::string>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}


// The keeper: numbers sent to it from outside, one at a time and each until acknowledged, so
// each comes once or more (at least once), never out of order. It keeps the highest, the
// repeats, and the numbers that came out of order (a lost acknowledged message shows as one).
struct keeper_state {
  std::int64_t last = 0;
  std::int64_t repeats = 0;
  std::int64_t out_of_order = 0;
  template <class A>
  void serialize(A& a) {
    a(last, repeats, out_of_order);
  }
};
void keeper_body(context& ctx, const message& m, const std::shared_ptr<keeper_state>& s) {
  if (const auto* n = m.get_if<numbered>()) {
    if (n->n == s->last + 1)
      s->last = n->n;
    else if (n->n <= s->last)
      ++s->repeats;
    else
      ++s->out_of_order;
  } else if (m.is<get>()) {
    ctx.reply(value_is{s->out_of_order == 0 ? s->last : -s->out_of_order});
  }
}
const revenant::function<void(context&, const message&), keeper_body> keeper_fn{"test.nd.keeper"};

// Node b with the keeper, listening on the given port, until the keeper has `total` or more.
// args: store, listening port, keeper name, total.
int keeping_node(const std::vector<std::string>& args) {
  actor_system_config config = node_of("b", "a", 0, static_cast<std::uint16_t>(std::stoi(args[1])));
  actor_system b(store_at(args[0]), config);
  if (!b.find(args[2])) b.spawn_durable(args[2], keeper_fn.bind(std::make_shared<keeper_state>()));
  const std::int64_t total = std::stoll(args[3]);
  std::int64_t said = 0;
  for (const auto until = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < until;) {
    said = b.ask<value_is>(args[2], get{}, 2s).get().value;
    if (said >= total || said < 0) break;
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(200ms);  // the last answers go out
  std::printf("keeper says %lld\n", static_cast<long long>(said));
  return said >= total ? 0 : 1;
}

const bool registered = register_child("node.sending", sending_node) && register_child("node.receiving", receiving_node) &&
                        register_child("node.keeping", keeping_node);

}  // namespace

TEST_CASE("a durable actor's messages to a durable actor on another node arrive once each, in order, and leave the "
          "outbox", "[node]") {
  temp_dir dir;
  actor_system b(store_at(dir.path("b")), node_of("b", "a", 0));
  actor_system a(store_at(dir.path("a")), node_of("a", "b", b.node_port()));
  b.set_peer_address("a", endpoint{"127.0.0.1", a.node_port()});
  const std::string tally = name_at(a, "tally/", "b");
  const std::string sender = name_at(a, "sender/", "a");
  b.spawn_durable(tally, tally_fn.bind(std::make_shared<tally_state>()));
  auto state = std::make_shared<sender_state>();
  state->total = 500;
  state->tally = a.find(tally);
  a.spawn_durable(sender, sender_fn.bind(state)).tell(go_on{});
  CHECK(wait_for_tally(a, tally, 500) == 500);
}

TEST_CASE("killing the sending node at random instants loses and duplicates no durable message to another node",
          "[node]") {
  temp_dir dir;
  // b, the receiver, runs here; a runs in a child process on a port chosen here (b answers its
  // asks over b's own link to a), killed and started again.
  const std::uint16_t a_port = free_port();
  actor_system b(store_at(dir.path("b")), node_of("b", "a", a_port));
  const std::string tally = name_at(b, "tally/", "b");
  const std::string sender = name_at(b, "sender/", "a");
  b.spawn_durable(tally, tally_fn.bind(std::make_shared<tally_state>()));
  const std::int64_t total = 10'000'000;  // more than any run sends: every run is killed sending
  const std::vector<std::string> args{dir.path("a"), std::to_string(b.node_port()), sender, tally, std::to_string(total),
                                      std::to_string(a_port)};
  std::mt19937 random(std::random_device{}());
  int killed = 0;
  std::vector<std::int64_t> progress;
  for (int round = 0; round < 6; ++round) {
    const auto after = std::chrono::microseconds(std::uniform_int_distribution<int>(100'000, 600'000)(random) *
                                                 sanitizer_slowdown);
    const child_result r = run_child(with({"node.sending"}, args), after);
    killed += r.signal != 0;
    if (r.signal != 0) {
      // Killed mid-way: what reached b so far is a prefix of 1, 2, 3..., each once.
      const std::int64_t so_far = wait_for_tally(b, tally, -1, 0s);
      CHECK(so_far >= 0);
      progress.push_back(so_far);
    }
  }
  std::string seen;
  for (auto p : progress) seen += std::to_string(p) + " ";
  INFO("sending node killed " << killed << " times; tally after each kill: " << seen);
  CHECK(killed == 6);
  // The sender stops; every message its committed steps sent reaches the tally, once, in order.
  const child_result last = run_child(with(with({"node.sending"}, args), {"drain"}));
  INFO(last.output);
  CHECK(last.exit_code == 0);
  CHECK(last.output.find("tally says") != std::string::npos);
  CHECK(progress.back() > 0);
}

TEST_CASE("killing the receiving node at random instants loses and duplicates no durable message from another node",
          "[node]") {
  temp_dir dir;
  // a, the sender, runs here; b runs in a child process on a port chosen here, killed and
  // started again; a's link to b comes and goes with it.
  const std::uint16_t b_port = free_port();
  actor_system a(store_at(dir.path("a")), node_of("a", "b", b_port));
  const std::string tally = name_at(a, "tally/", "b");
  const std::string sender = name_at(a, "sender/", "a");
  const std::int64_t total = 30000;  // more than a receiving run takes before it is killed
  // The tally exists before anything is sent to it.
  const child_result made = run_child({"node.receiving", dir.path("b"), std::to_string(b_port), tally, "0"});
  INFO(made.output);
  REQUIRE(made.exit_code == 0);
  auto state = std::make_shared<sender_state>();
  state->total = total;
  state->tally = a.find(tally);
  a.spawn_durable(sender, sender_fn.bind(state)).tell(go_on{});
  std::mt19937 random(std::random_device{}());
  int killed = 0;
  for (int round = 0; round < 6; ++round) {
    const auto after = std::chrono::microseconds(std::uniform_int_distribution<int>(100'000, 600'000)(random) *
                                                 sanitizer_slowdown);
    const child_result r =
        run_child({"node.receiving", dir.path("b"), std::to_string(b_port), tally, std::to_string(total)}, after);
    killed += r.signal != 0;
  }
  CHECK(killed >= 4);  // most runs end in the middle of taking messages
  const child_result last = run_child({"node.receiving", dir.path("b"), std::to_string(b_port), tally, std::to_string(total)});
  INFO(last.output);
  CHECK(last.exit_code == 0);
  CHECK(last.output.find("tally says " + std::to_string(total)) != std::string::npos);
}

TEST_CASE("send to a durable actor on another node completes once it is committed there: a node killed after it keeps it",
          "[node]") {
  temp_dir dir;
  // a sends from outside, here; b, with the keeper, runs in a child process killed at random
  // instants and started again. a sends 1, 2, 3... each again until it is acknowledged.
  const std::uint16_t b_port = free_port();
  actor_system_config config = node_of("a", "b", b_port);
  config.node->heartbeat_interval = 50ms;
  config.node->heartbeat_timeout = 300ms * sanitizer_slowdown;
  config.node->send_timeout = 500ms;
  config.node->reconnect_max = 50ms;
  actor_system a(config);
  const std::string keeper = name_at(a, "keeper/", "b");
  const std::int64_t total = 100000;  // more than the killed runs take
  std::atomic<bool> done{false};
  std::atomic<std::int64_t> acknowledged{0};
  std::atomic<int> unconfirmed{0};
  std::thread sender([&] {
    for (std::int64_t n = 1; n <= total && !done.load();) {
      try {
        a.send(keeper, numbered{n}).get();
        acknowledged = n++;
      } catch (const send_unconfirmed&) {
        ++unconfirmed;  // b was killed, or is starting: sent again
      } catch (const std::invalid_argument&) {
        std::this_thread::sleep_for(5ms);  // b is up, its keeper not yet
      }
    }
  });
  std::mt19937 random(std::random_device{}());
  int killed = 0;
  std::vector<std::int64_t> acknowledged_at_kill;
  for (int round = 0; round < 6; ++round) {
    const auto after = std::chrono::microseconds(std::uniform_int_distribution<int>(300'000, 800'000)(random) *
                                                 sanitizer_slowdown);
    const child_result r = run_child({"node.keeping", dir.path("b"), std::to_string(b_port), keeper, std::to_string(total)}, after);
    killed += r.signal != 0;
    acknowledged_at_kill.push_back(acknowledged.load());
  }
  done = true;
  sender.join();
  // Every number acknowledged is in b's store: the keeper, started again, has them all, in order
  // (and maybe the one after: committed, but its answer lost with the process).
  const std::int64_t last = acknowledged.load();
  const child_result r = run_child({"node.keeping", dir.path("b"), std::to_string(b_port), keeper, std::to_string(last)});
  const auto at = r.output.find("keeper says ");
  const std::int64_t kept = at == std::string::npos ? -1 : std::stoll(r.output.substr(at + 12));
  std::string seen;
  for (auto n : acknowledged_at_kill) seen += std::to_string(n) + " ";
  INFO("b killed " << killed << " times; acknowledged at each kill: " << seen << "; unconfirmed sends: "
                   << unconfirmed.load() << "; child said: " << r.output);
  CHECK(killed >= 5);
  CHECK(last > 0);
  CHECK(r.exit_code == 0);
  CHECK(kept >= last);
  CHECK(kept <= last + 1);
}

TEST_CASE("durable messages to a node that is down wait in the store past the outbox's memory, and all arrive once, in "
          "order, when it is back",
          "[node]") {
  temp_dir dir;
  actor_system_config a_config = node_of("a", "b", 0);
  a_config.node->max_outbox_memory = 64 << 10;
  actor_system a(store_at(dir.path("a")), a_config);
  const std::string tally = name_at(a, "tally/", "b");
  const std::string sender = name_at(a, "sender/", "a");
  auto state = std::make_shared<sender_state>();
  const std::int64_t sent = 5000;  // about 570 KB of frames: nine times what memory may hold
  state->total = sent;
  state->tally = a.find(tally);
  a.spawn_durable(sender, sender_fn.bind(state)).tell(go_on{});
  // b is not there yet: everything past 64 KiB stays in the store only.
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (a.ask<value_is>(sender, get{}, 10s).get().value < sent && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  const peer_status waiting = a.peers()[0];
  INFO("in memory " << waiting.outbox_in_memory);
  CHECK(waiting.outbox_in_store_only);
  CHECK(waiting.outbox_in_memory < 1000);
  CHECK(waiting.outbox_in_memory > 100);

  actor_system b(store_at(dir.path("b")), node_of("b", "a", a.node_port()));
  b.spawn_durable(tally, tally_fn.bind(std::make_shared<tally_state>()));
  a.set_peer_address("b", endpoint{"127.0.0.1", b.node_port()});
  CHECK(wait_for_tally(a, tally, sent, 60s) == sent);
  // All acknowledged: nothing left in memory or in the store.
  const auto drained_by = std::chrono::steady_clock::now() + 10s;
  while ((a.peers()[0].outbox_in_memory != 0 || a.peers()[0].outbox_in_store_only) &&
         std::chrono::steady_clock::now() < drained_by)
    std::this_thread::sleep_for(5ms);
  CHECK(a.peers()[0].outbox_in_memory == 0);
  CHECK_FALSE(a.peers()[0].outbox_in_store_only);
}
