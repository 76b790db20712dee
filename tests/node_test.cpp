// Nodes: actor systems in one process linked over 127.0.0.1 (docs/wire.md), reaching each
// other's actors by name — tell, ask from outside and from actors, replies to anonymous actors,
// watches — and refusing links that must not be (another cluster, an unknown node, a stale
// incarnation, bytes that are not the protocol) without harm to anything else.
#include <catch2/catch.hpp>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/actor.hpp"
#include "runtime/actor_system.hpp"
#include "storage/wire.hpp"
#include "tests/support/event_log.hpp"
#include "tests/support/messages.hpp"
#include "tests/support/wait.hpp"
#include "tests/support/wire_peer.hpp"

using namespace revenant;
using namespace std::chrono_literals;
using namespace revenant::test;

namespace {


struct relay_to {
  actor_ref target;
  std::int64_t n = 0;
  template <class A>
  void serialize(A& a) {
    a(target, n);
  }
};
struct watch_it {
  actor_ref target;
  template <class A>
  void serialize(A& a) {
    a(target);
  }
};
const message_type<relay_to> relay_to_type{"test.node.relay_to"};
const message_type<watch_it> watch_it_type{"test.node.watch_it"};

// Answers add{n} with value_is{n + 1}; records what it got and from whom; stops on quit.
void echo_body(context& ctx, const message& m, const event_log_ptr& s) {
  if (const auto* a = m.get_if<add>()) {
    s->record("add " + std::to_string(a->n) + " from " + (ctx.sender() ? ctx.sender().name() : std::string("outside")));
    ctx.reply(value_is{a->n + 1});
  } else if (m.is<quit>()) {
    ctx.stop();
  }
}
const revenant::function<void(context&, const message&), echo_body> echo_fn{"test.node.echo"};

void answer_body(context&, const message& reply, const event_log_ptr& s) {
  if (const auto* v = reply.get_if<value_is>())
    s->record("answer " + std::to_string(v->value));
  else
    s->record("ask failed");
}
const revenant::function<void(context&, const message&), answer_body> answer_fn{"test.node.answer"};

// Asks relay_to's target for n + 1 and records the answer (or the ask's error); watches on
// watch_it and records the down.
void asker_body(context& ctx, const message& m, const event_log_ptr& s) {
  if (const auto* r = m.get_if<relay_to>()) {
    ctx.ask(r->target, add{r->n}, answer_fn.bind(s), 5s);
  } else if (const auto* w = m.get_if<watch_it>()) {
    ctx.watch(w->target);
  } else if (const auto* d = m.get_if<down>()) {
    s->record("down " + d->name);
  }
}
const revenant::function<void(context&, const message&), asker_body> asker_fn{"test.node.asker"};

// Two or three nodes of one cluster on 127.0.0.1, each listening on a free port and told the
// others' ports once all listen.
struct cluster_of {
  std::vector<std::unique_ptr<actor_system>> nodes;

  explicit cluster_of(std::vector<std::string> names, std::string cluster = "test") {
    for (const auto& name : names) {
      node_config config;
      config.name = name;
      config.cluster = cluster;
      config.plaintext = true;
      for (const auto& other : names)
        if (other != name) config.peers[other] = endpoint{"127.0.0.1", 0};
      actor_system_config sc;
      sc.workers = 2;
      sc.node = config;
      if (std::getenv("REVENANT_NODE_TEST_LOG"))
        sc.log = [name](log_level, std::string_view line) { std::fprintf(stderr, "[%s] %.*s\n", name.c_str(), int(line.size()), line.data()); };
      nodes.push_back(std::make_unique<actor_system>(sc));
    }
    for (std::size_t i = 0; i < nodes.size(); ++i)
      for (std::size_t j = 0; j < nodes.size(); ++j)
        if (i != j) nodes[i]->set_peer_address(names[j], endpoint{"127.0.0.1", nodes[j]->node_port()});
  }
  actor_system& operator[](std::size_t i) { return *nodes[i]; }
  bool all_linked(std::chrono::milliseconds timeout = 10s) {
    return wait_until(
        [&] {
          for (auto& n : nodes)
            if (n->links_up() != nodes.size() - 1) return false;
          return true;
        },
        timeout);
  }
};

// A name whose home (docs/design.md, "Placement") is the node named home.
std::string name_at(actor_system& system, const std::string& prefix, const std::string& home) {
  for (int i = 0;; ++i) {
    std::string name = prefix + std::to_string(i);
    if (system.home_of(name) == home) return name;
  }
}

}  // namespace

TEST_CASE("every node computes the same home for a name, and the homes spread over the nodes", "[node]") {
  cluster_of c({"a", "b", "c"});
  std::map<std::string, int> per_node;
  for (int i = 0; i < 3000; ++i) {
    const std::string name = "account/" + std::to_string(i);
    const std::string home = c[0].home_of(name);
    CHECK(c[1].home_of(name) == home);
    CHECK(c[2].home_of(name) == home);
    ++per_node[home];
  }
  REQUIRE(per_node.size() == 3);
  for (const auto& [node, n] : per_node) CHECK(n > 800);  // 1000 each, give or take
  CHECK(c[0].home_of("$12@b") == "b");
}

TEST_CASE("an ask from outside reaches a named actor on another node by name, and its answer comes back", "[node]") {
  cluster_of c({"a", "b"});
  REQUIRE(c.all_linked());
  auto s = std::make_shared<event_log>();
  const std::string name = name_at(c[0], "echo/", "b");
  c[1].spawn(name, echo_fn.bind(s));
  const actor_ref there = c[0].find(name);
  REQUIRE(there);
  CHECK(there.name() == name);
  CHECK(c[0].ask<value_is>(name, add{41}, 5s).get().value == 42);
  REQUIRE(s->wait_for_count(1));
  CHECK(s->events[0].rfind("add 41 from $", 0) == 0);
  CHECK(s->events[0].find("@a") != std::string::npos);  // the outside asker, as node b names it
  // Tells keep their order from one sender.
  for (int i = 0; i < 200; ++i) there.tell(add{i});
  REQUIRE(s->wait_for_count(201));
  for (int i = 0; i < 200; ++i) CHECK(s->events[1 + i].rfind("add " + std::to_string(i) + " from", 0) == 0);
}

TEST_CASE("an actor asks an actor on another node and its continuation gets the answer", "[node]") {
  cluster_of c({"a", "b"});
  REQUIRE(c.all_linked());
  auto on_b = std::make_shared<event_log>();
  auto on_a = std::make_shared<event_log>();
  const std::string name = name_at(c[0], "echo/", "b");
  c[1].spawn(name, echo_fn.bind(on_b));
  const actor_ref asker = c[0].spawn(asker_fn.bind(on_a));  // anonymous: replied to as "$<id>@a"
  asker.tell(relay_to{c[0].find(name), 9});
  REQUIRE(on_a->wait_for_count(1));
  CHECK(on_a->events[0] == "answer 10");
  REQUIRE(on_b->wait_for_count(1));
  CHECK(on_b->events[0] == "add 9 from " + asker.name() + "@a");
}

TEST_CASE("a watcher hears down when an actor on another node stops, named as it watched it", "[node]") {
  cluster_of c({"a", "b"});
  REQUIRE(c.all_linked());
  auto on_b = std::make_shared<event_log>();
  auto on_a = std::make_shared<event_log>();
  const std::string name = name_at(c[0], "watched/", "b");
  c[1].spawn(name, echo_fn.bind(on_b));
  const actor_ref watcher = c[0].spawn(asker_fn.bind(on_a));
  watcher.tell(watch_it{c[0].find(name)});
  // The watch travels on a's link, the quit on the same link after it.
  c[0].find(name).tell(quit{});
  REQUIRE(on_a->wait_for_count(1));
  CHECK(on_a->events[0] == "down " + name);
  // Watching a name nothing runs under on b: down at once, from b.
  watcher.tell(watch_it{c[0].find(name_at(c[0], "nobody/", "b"))});
  REQUIRE(on_a->wait_for_count(2));
  CHECK(on_a->events[1].rfind("down nobody/", 0) == 0);
}

TEST_CASE("nodes of another cluster are refused, and the refusal leaves each node serving its own", "[node]") {
  cluster_of ours({"a", "b"});
  REQUIRE(ours.all_linked());
  // A node "a" of another cluster dials our b: refused (wrong_cluster), it never links up.
  node_config config;
  config.name = "a";
  config.cluster = "other";
  config.plaintext = true;
  config.peers["b"] = endpoint{"127.0.0.1", ours[1].node_port()};
  actor_system_config sc;
  sc.workers = 1;
  sc.node = config;
  std::vector<std::string> lines;
  std::mutex lines_mutex;
  sc.log = [&](log_level, std::string_view line) {
    std::lock_guard lock(lines_mutex);
    lines.emplace_back(line);
  };
  actor_system stranger(sc);
  std::this_thread::sleep_for(300ms);
  CHECK(stranger.links_up() == 0);
  {
    std::lock_guard lock(lines_mutex);
    bool refused = false;
    for (const auto& l : lines) refused = refused || l.find("wrong_cluster") != std::string::npos;
    CHECK(refused);
  }
  CHECK(ours.all_linked(1s));
  auto s = std::make_shared<event_log>();
  const std::string name = name_at(ours[0], "echo/", "b");
  ours[1].spawn(name, echo_fn.bind(s));
  CHECK(ours[0].ask<value_is>(name, add{1}, 5s).get().value == 2);
}

namespace {

// A raw TCP client speaking (or not) the protocol to a node.
struct raw_client {
  asio::io_context io;
  asio::ip::tcp::socket socket{io};
  explicit raw_client(std::uint16_t port) { socket.connect({asio::ip::make_address("127.0.0.1"), port}); }
  void write(const std::string& bytes) { asio::write(socket, asio::buffer(bytes)); }
  // Everything the node sends until it closes the connection (bounded by a timeout).
  std::string read_until_closed(std::chrono::milliseconds timeout = 5s) {
    std::string got;
    const auto until = std::chrono::steady_clock::now() + timeout;
    socket.non_blocking(true);
    char buffer[4096];
    while (std::chrono::steady_clock::now() < until) {
      std::error_code ec;
      const std::size_t n = socket.read_some(asio::buffer(buffer), ec);
      if (ec == asio::error::would_block) {
        std::this_thread::sleep_for(2ms);
        continue;
      }
      if (ec) return got;
      got.append(buffer, n);
    }
    FAIL("the node did not close the connection");
    return got;
  }
};

}  // namespace

TEST_CASE("a hello from an older incarnation of a node than one already seen is refused as stale", "[node]") {
  cluster_of c({"a", "b"});
  {
    raw_client newer(c[1].node_port());
    newer.write(hello_bytes("test", "a", "b", 7, 0x42));
    std::vector<std::string> keep;
    std::string got;
    // The welcome arrives; then we hang up.
    const auto until = std::chrono::steady_clock::now() + 5s;
    char buffer[512];
    while (got.size() < wire::preface_size + wire::frame_header_size && std::chrono::steady_clock::now() < until)
      got.append(buffer, newer.socket.read_some(asio::buffer(buffer)));
    std::this_thread::sleep_for(50ms);
    std::error_code ec;
    newer.socket.non_blocking(true);
    for (std::size_t n; (n = newer.socket.read_some(asio::buffer(buffer), ec)) > 0 && !ec;) got.append(buffer, n);
    const auto frames = frames_of(got, keep);
    REQUIRE(frames.size() == 1);
    CHECK(std::holds_alternative<wire::welcome_frame>(frames[0]));
  }
  raw_client older(c[1].node_port());
  older.write(hello_bytes("test", "a", "b", 6, 0x42));
  std::vector<std::string> keep;
  const auto frames = frames_of(older.read_until_closed(), keep);
  REQUIRE(frames.size() == 1);
  REQUIRE(std::holds_alternative<wire::refuse_frame>(frames[0]));
  CHECK(std::get<wire::refuse_frame>(frames[0]).code == wire::wire_errc::stale_incarnation);
}

TEST_CASE("a hello naming a node that is not a peer, or another node than the listener, is refused with its own code",
          "[node]") {
  cluster_of c({"a", "b"});
  auto refusal_for = [&](const std::string& bytes) {
    raw_client client(c[1].node_port());
    client.write(bytes);
    std::vector<std::string> keep;
    const auto frames = frames_of(client.read_until_closed(), keep);
    REQUIRE(frames.size() == 1);
    REQUIRE(std::holds_alternative<wire::refuse_frame>(frames[0]));
    return std::get<wire::refuse_frame>(frames[0]).code;
  };
  CHECK(refusal_for(hello_bytes("test", "z", "b", 1, 0x11)) == wire::wire_errc::unknown_node);
  CHECK(refusal_for(hello_bytes("test", "a", "c", 1, 0x11)) == wire::wire_errc::wrong_node);
  CHECK(refusal_for(hello_bytes("prod", "a", "b", 1, 0x11)) == wire::wire_errc::wrong_cluster);
}

TEST_CASE("bytes that are not the protocol end that connection only, and the node goes on serving", "[node]") {
  cluster_of c({"a", "b"});
  REQUIRE(c.all_linked());
  for (const std::string& garbage : {std::string("GET / HTTP/1.1\r\n\r\n"), std::string(64, '\xff'),
                                    hello_bytes("test", "a", "b", 1, 0x11).substr(0, 8) + std::string("\xff\xff\xff\xff\x10", 5)}) {
    raw_client client(c[1].node_port());
    client.write(garbage);
    client.read_until_closed();  // closed by the node, whatever it said first
  }
  auto s = std::make_shared<event_log>();
  const std::string name = name_at(c[0], "echo/", "b");
  c[1].spawn(name, echo_fn.bind(s));
  CHECK(c[0].ask<value_is>(name, add{5}, 5s).get().value == 6);
  CHECK(c.all_linked(1s));
}

TEST_CASE("messages for a node that cannot be reached become dead letters past the queue's bound, never a blocked sender",
          "[node]") {
  node_config config;
  config.name = "a";
  config.cluster = "test";
  config.plaintext = true;
  config.peers["b"] = endpoint{"127.0.0.1", 0};  // never told where b is
  config.max_queued_bytes = 64 << 10;
  actor_system_config sc;
  sc.workers = 1;
  sc.node = config;
  actor_system a(sc);
  std::atomic<int> unreachable{0};
  a.on_dead_letter([&](const dead_letter& d) {
    if (d.reason == dead_letter_reason::unreachable) ++unreachable;
  });
  const std::string name = name_at(a, "far/", "b");
  const actor_ref there = a.find(name);
  for (int i = 0; i < 10000; ++i) there.tell(add{i});
  CHECK(unreachable.load() > 5000);  // about 64 KiB of them are queued, the rest refused
  CHECK(unreachable.load() < 10000);
}

namespace {

// A test's node "c", speaking the protocol by hand as the listener of the link a node dials to
// it: it takes the dialer's hello, welcomes it, and may then send the listener's frames.
struct raw_listener {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
  asio::ip::tcp::socket socket{io};
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  // Accepts the first dial and answers its hello with a welcome as node `self`; false if no node
  // dialled, or said hello, within the timeout.
  bool accept_as(const std::string& self, std::chrono::milliseconds timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    acceptor.non_blocking(true);
    for (std::error_code ec;; std::this_thread::sleep_for(2ms)) {
      acceptor.accept(socket, ec);
      if (!ec) break;
      if (std::chrono::steady_clock::now() > until) return false;
    }
    // Both prefaces first (the dialer's hello names the version they chose), then the hello.
    std::string preface;
    wire::encode_preface(preface);
    write(preface);
    socket.non_blocking(true);
    wire::frame_reader reader(wire::role::listener);
    char buffer[4096];
    for (bool hello = false; !hello;) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::error_code ec;
      const std::size_t n = socket.read_some(asio::buffer(buffer), ec);
      if (ec == asio::error::would_block) {
        std::this_thread::sleep_for(2ms);
        continue;
      }
      if (ec) return false;
      reader.feed(std::string_view(buffer, n));
      for (auto e = reader.next(); e.status != wire::read_status::need_bytes; e = reader.next())
        hello = hello || e.status == wire::read_status::frame;
    }
    std::string out;
    wire::welcome_frame w;
    w.id.fill(0x3c);
    w.incarnation = 1;
    w.node = self;
    wire::encode(out, w);
    write(out);
    return true;
  }
  void write(const std::string& bytes) {
    socket.non_blocking(false);
    asio::write(socket, asio::buffer(bytes));
  }
};

std::uint64_t routes_learned_from(actor_system& system, const std::string& peer) {
  for (const auto& p : system.peers())
    if (p.name == peer) return p.routes_learned;
  return 0;
}

}  // namespace

TEST_CASE("a moved notice only turns a route that leads through the node that sent it, and only to a listed node",
          "[node]") {
  raw_listener c;
  auto config_of = [](const std::string& self, std::map<std::string, std::uint16_t> peers) {
    node_config config;
    config.name = self;
    config.cluster = "test";
    config.plaintext = true;
    for (const auto& [name, port] : peers) config.peers[name] = endpoint{"127.0.0.1", port};
    actor_system_config sc;
    sc.workers = 1;
    sc.node = config;
    if (std::getenv("REVENANT_NODE_TEST_LOG"))
      sc.log = [self](log_level, std::string_view line) { std::fprintf(stderr, "[%s] %.*s\n", self.c_str(), int(line.size()), line.data()); };
    return sc;
  };
  actor_system a(config_of("a", {{"b", 0}}));
  actor_system b(config_of("b", {{"a", a.node_port()}, {"c", c.port()}}));
  a.set_peer_address("b", endpoint{"127.0.0.1", b.node_port()});
  REQUIRE(c.accept_as("c"));
  REQUIRE(wait_until([&] { return a.links_up() == 1 && b.links_up() == 2; }, 10s));
  // x is placed at c but runs at a (where c could say it went); y is placed at a and runs there.
  auto on_a = std::make_shared<event_log>();
  const std::string x = name_at(b, "x/", "c"), y = name_at(b, "y/", "a");
  a.spawn(x, echo_fn.bind(on_a));
  a.spawn(y, echo_fn.bind(on_a));
  const actor_ref x_from_b = b.find(x), y_from_b = b.find(y);
  REQUIRE(x_from_b);
  REQUIRE(y_from_b);
  // Not on y's route (it leads to a): ignored. Naming a node b does not list: ignored. Frames of
  // one link are taken in order, so once the last notice counts the first two were weighed.
  std::string notices;
  wire::encode(notices, wire::moved_frame{y, "c"});
  wire::encode(notices, wire::moved_frame{x, "z"});
  wire::encode(notices, wire::moved_frame{x, "a"});
  c.write(notices);
  REQUIRE(wait_until([&] { return routes_learned_from(b, "c") == 1; }, 10s, 5ms));
  // Both reach a: x by the route c pointed to, y by the one it had.
  CHECK(b.ask<value_is>(x, add{1}, 5s).get().value == 2);
  CHECK(b.ask<value_is>(y, add{2}, 5s).get().value == 3);
  x_from_b.tell(add{3});
  REQUIRE(on_a->wait_for_count(3));
  CHECK(on_a->events[2].rfind("add 3 from outside", 0) == 0);
  // The same notice again switches nothing more.
  std::string again;
  wire::encode(again, wire::moved_frame{x, "a"});
  wire::encode(again, wire::moved_frame{y, "a"});  // y: from a node not on its route
  c.write(again);
  std::this_thread::sleep_for(100ms);
  CHECK(routes_learned_from(b, "c") == 1);
  CHECK(routes_learned_from(b, "a") == 0);
}
