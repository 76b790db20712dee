// Live migration: how long a moving actor is out of service, against the floor of copying the
// same bytes over the same kind of link.
//
//   migration_pause/revenant   two nodes over 127.0.0.1 (one process, two actor systems with
//                              their own stores and links); a small idle durable actor moves
//                              from one to the other and back, one move per iteration. Timed:
//                              migrate() until its future is ready — the actor is parked for
//                              all of it (a bound on the pause: first message at the target
//                              minus last at the source). Counters p50_us, p99_us.
//   migration_pause/raw_copy   the floor: the same number of bytes (one package's) sent over a
//                              127.0.0.1 TCP connection and echoed back, one round trip per
//                              iteration, with Asio.
//   migration_large/revenant   an actor with 1 MiB of state and 10,000 messages queued in its
//                              stored mailbox (it is busy while they arrive, after the move's
//                              probe) moves, back and forth. Timed: from the end of the busy
//                              message (the actor parks) until migrate()'s future is ready.
//   migration_large/raw_copy   the floor: the same bytes (the record and the queued envelopes
//                              with their sequence numbers) written over a 127.0.0.1 TCP
//                              connection, answered with one byte once all are read.
//   migration_drain/revenant   drain(): 100,000 small idle durable actors move from one node to
//                              the other. items_per_second: actors moved a second.
//   migration_drain/raw_copy   the floor: 100,000 times the bytes of a small actor's package,
//                              written and answered with one byte as above.
//   migration_sender_latency/steady    three nodes: an outside sender on c asks an actor on a,
//                              one ask at a time; nothing moves. p50_us, p99_us, max_us.
//   migration_sender_latency/revenant  the same while the actor moves between a and b, a move
//                              every 50 ms.
//
// Stores live under a fresh directory in /tmp, removed at exit.
#include <benchmark/benchmark.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "actors/actor.hpp"
#include "actors/message_type.hpp"
#include "runtime/actor_system.hpp"
#include "storage/envelope.hpp"

using namespace revenant;
using namespace std::chrono_literals;

namespace {

struct bump {
  template <class A>
  void serialize(A&) {}
};
const message_type<bump> bump_type{"bench.migration.bump"};

struct small_state {
  std::int64_t count = 0;
  std::string payload = std::string(64, 'x');
  template <class A>
  void serialize(A& a) {
    a(count, payload);
  }
};
void small_body(context&, const message& m, const std::shared_ptr<small_state>& s) {
  if (m.is<bump>()) ++s->count;
}
const revenant::function<void(context&, const message&), small_body> small_fn{"bench.migration.small"};

std::string scratch_dir() {
  static const std::string dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "revenant-migration-bench-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    std::atexit([] { std::filesystem::remove_all(scratch_dir()); });
    return pattern;
  }();
  return dir;
}

actor_system_config node_of(const std::string& self, const std::string& peer, std::uint16_t port) {
  node_config node;
  node.name = self;
  node.cluster = "bench";
  node.plaintext = true;
  node.peers[peer] = endpoint{"127.0.0.1", port};
  actor_system_config config;
  config.workers = 2;
  config.node = node;
  config.spin_before_sleep = 50us;
  return config;
}

durable_config store_in(const std::string& name) {
  durable_config c;
  c.path = scratch_dir() + "/" + name + "-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  return c;
}

void report_percentiles(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

void migration_pause_revenant(benchmark::State& state) {
  actor_system b(store_in("b"), node_of("b", "a", 0));
  actor_system a(store_in("a"), node_of("a", "b", b.node_port()));
  b.set_peer_address("a", endpoint{"127.0.0.1", a.node_port()});
  while (a.links_up() == 0 || b.links_up() == 0) std::this_thread::sleep_for(1ms);
  a.spawn_durable("mover", small_fn.bind(std::make_shared<small_state>())).tell(bump{});
  a.sync();
  actor_system* here = &a;
  actor_system* there = &b;
  std::vector<double> us;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    here->migrate("mover", there == &a ? "a" : "b").get();
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    std::swap(here, there);
  }
  report_percentiles(state, us);
}

void migration_pause_raw_copy(benchmark::State& state) {
  // About one small actor's package: its record, a marker and the frame heads.
  const std::size_t bytes = 300;
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::thread echo([&] {
    asio::ip::tcp::socket peer = acceptor.accept();
    peer.set_option(asio::ip::tcp::no_delay(true));
    std::string buffer(bytes, '\0');
    std::error_code ec;
    while (asio::read(peer, asio::buffer(buffer), ec) == bytes && !ec) asio::write(peer, asio::buffer(buffer), ec);
  });
  asio::ip::tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  client.set_option(asio::ip::tcp::no_delay(true));
  std::string out(bytes, 'p'), in(bytes, '\0');
  std::vector<double> us;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    asio::write(client, asio::buffer(out));
    asio::read(client, asio::buffer(in));
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  client.close();
  echo.join();
  report_percentiles(state, us);
}

// ---- migration_large ----

struct nap {
  template <class A>
  void serialize(A&) {}
};
const message_type<nap> nap_type{"bench.migration.nap"};
struct ping {
  template <class A>
  void serialize(A&) {}
};
const message_type<ping> ping_type{"bench.migration.ping"};
struct pong {
  std::int64_t count = 0;
  template <class A>
  void serialize(A& a) {
    a(count);
  }
};
const message_type<pong> pong_type{"bench.migration.pong"};

// The big actor's nap holds its worker until the gate opens: its mailbox fills meanwhile.
std::atomic<bool> gate_open{false};
std::atomic<bool> napping{false};

struct big_state {
  std::int64_t count = 0;
  std::string payload = std::string(std::size_t{1} << 20, 'b');
  template <class A>
  void serialize(A& a) {
    a(count, payload);
  }
};
void big_body(context& ctx, const message& m, const std::shared_ptr<big_state>& s) {
  if (m.is<bump>()) {
    ++s->count;
  } else if (m.is<nap>()) {
    napping.store(true);
    while (!gate_open.load()) std::this_thread::sleep_for(20us);
    napping.store(false);
  } else if (m.is<ping>()) {
    ctx.reply(pong{s->count});
  }
}
const revenant::function<void(context&, const message&), big_body> big_fn{"bench.migration.big"};

constexpr int large_queue = 10000;

// The bytes a move of the big actor carries that a copy would carry too: its state, and each
// queued message's envelope with its sequence number and length.
std::size_t large_bytes() {
  const std::string envelope = encode_envelope(*make_message<bump>(), "");
  return (std::size_t{1} << 20) + large_queue * (envelope.size() + 12);
}

void migration_large_revenant(benchmark::State& state) {
  actor_system b(store_in("b"), node_of("b", "a", 0));
  actor_system a(store_in("a"), node_of("a", "b", b.node_port()));
  b.set_peer_address("a", endpoint{"127.0.0.1", a.node_port()});
  while (a.links_up() == 0 || b.links_up() == 0) std::this_thread::sleep_for(1ms);
  a.spawn_durable("big", big_fn.bind(std::make_shared<big_state>()));
  a.sync();
  actor_system* here = &a;
  actor_system* there = &b;
  std::int64_t sent = 0;
  for (auto _ : state) {
    gate_open.store(false);
    here->find("big").tell(nap{});
    while (!napping.load()) std::this_thread::sleep_for(50us);
    // The move parks the actor at a probe queued now, behind the nap: the 10,000 messages sent
    // next queue behind the probe, so they are in its stored mailbox when it parks.
    std::future<void> moved = here->migrate("big", there == &a ? "a" : "b");
    actor_ref big = here->find("big");
    for (int i = 0; i < large_queue; ++i) big.tell(bump{});
    sent += large_queue;
    here->sync();  // all 10,000 are in its stored mailbox
    const auto start = std::chrono::steady_clock::now();
    gate_open.store(true);  // its nap ends, and it parks at the probe
    moved.get();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    std::swap(here, there);
  }
  // Every message was handled once, at one place or the other.
  const pong last = here->ask<pong>("big", ping{}, 30s).get();
  if (last.count != sent)
    state.SkipWithError(("the big actor counted " + std::to_string(last.count) + " of " + std::to_string(sent)).c_str());
  state.counters["bytes"] = static_cast<double>(large_bytes());
}

// Writes total bytes over a 127.0.0.1 connection in pieces of at most piece; the reader answers
// one byte once it has them all. One iteration: one whole copy.
void raw_copy(benchmark::State& state, std::size_t total, std::size_t piece) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::thread sink([&] {
    asio::ip::tcp::socket peer = acceptor.accept();
    peer.set_option(asio::ip::tcp::no_delay(true));
    std::string buffer(std::size_t{1} << 16, '\0');
    std::error_code ec;
    for (;;) {
      std::size_t got = 0;
      while (got < total && !ec) got += peer.read_some(asio::buffer(buffer.data(), std::min(buffer.size(), total - got)), ec);
      if (ec) return;
      asio::write(peer, asio::buffer("k", 1), ec);
    }
  });
  asio::ip::tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  client.set_option(asio::ip::tcp::no_delay(true));
  const std::string bytes(total, 'p');
  char answer = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t at = 0; at < total; at += piece)
      asio::write(client, asio::buffer(bytes.data() + at, std::min(piece, total - at)));
    asio::read(client, asio::buffer(&answer, 1));
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  client.close();
  sink.join();
  state.counters["bytes"] = static_cast<double>(total);
}

void migration_large_raw_copy(benchmark::State& state) { raw_copy(state, large_bytes(), large_bytes()); }

// ---- migration_drain ----

void migration_drain_revenant(benchmark::State& state) {
  const auto drain_actors = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    actor_system b(store_in("b"), node_of("b", "a", 0));
    actor_system a(store_in("a"), node_of("a", "b", b.node_port()));
    b.set_peer_address("a", endpoint{"127.0.0.1", a.node_port()});
    for (std::size_t i = 0; i < drain_actors; ++i)
      a.spawn_durable("small/" + std::to_string(i), small_fn.bind(std::make_shared<small_state>()));
    a.sync();
    while (a.links_up() == 0 || b.links_up() == 0) std::this_thread::sleep_for(1ms);
    const auto start = std::chrono::steady_clock::now();
    const migration_report report = a.drain("b").get();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (report.moved.size() != drain_actors || !report.failed.empty())
      state.SkipWithError(("moved " + std::to_string(report.moved.size()) + ", failed " +
                           std::to_string(report.failed.size()) +
                           (report.failed.empty() ? std::string() : ": " + std::string(report.failed.front().what())))
                              .c_str());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(drain_actors));
}

void migration_drain_raw_copy(benchmark::State& state) {
  raw_copy(state, static_cast<std::size_t>(state.range(0)) * 300, 64 << 10);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// ---- migration_sender_latency ----

// c asks "target" (at a, or moving between a and b) one ask at a time for a while; moves every
// move_every if it is not zero.
void sender_latency(benchmark::State& state, std::chrono::milliseconds move_every) {
  // Every node lists the same three names (the placement needs it).
  actor_system_config ca = node_of("a", "b", 0), cb = node_of("b", "a", 0), cc = node_of("c", "a", 0);
  cc.node->peers["b"] = endpoint{"127.0.0.1", 0};
  // Three systems of two workers share the two cores: none polls (six pollers would take turns
  // holding them).
  for (auto* config : {&ca, &cb, &cc}) config->spin_before_sleep = 0us;
  actor_system c(store_in("c"), cc);
  cb.node->peers["c"] = endpoint{"127.0.0.1", c.node_port()};
  actor_system b(store_in("b"), cb);
  ca.node->peers["b"] = endpoint{"127.0.0.1", b.node_port()};
  ca.node->peers["c"] = endpoint{"127.0.0.1", c.node_port()};
  actor_system a(store_in("a"), ca);
  c.set_peer_address("a", endpoint{"127.0.0.1", a.node_port()});
  c.set_peer_address("b", endpoint{"127.0.0.1", b.node_port()});
  b.set_peer_address("a", endpoint{"127.0.0.1", a.node_port()});
  std::string name;
  for (int i = 0;; ++i)
    if (a.home_of(name = "target/" + std::to_string(i)) == "a") break;
  a.spawn_durable(name, big_fn.bind(std::make_shared<big_state>(big_state{0, std::string(64, 's')})));
  while (a.links_up() < 1 || b.links_up() < 1 || c.links_up() < 1) std::this_thread::sleep_for(1ms);
  c.ask<pong>(name, ping{}, 10s).get();
  std::atomic<bool> done{false};
  std::thread mover;
  int moves = 0;
  if (move_every.count() > 0)
    mover = std::thread([&] {
      actor_system* here = &a;
      actor_system* there = &b;
      while (!done.load()) {
        std::this_thread::sleep_for(move_every);
        here->migrate(name, there == &a ? "a" : "b").get();
        ++moves;
        std::swap(here, there);
      }
    });
  std::vector<double> us;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    c.ask<pong>(name, ping{}, 10s).get();
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  done.store(true);
  if (mover.joinable()) mover.join();
  report_percentiles(state, us);
  state.counters["max_us"] = us.empty() ? 0 : us.back();
  state.counters["moves"] = moves;
}

void migration_sender_latency_steady(benchmark::State& state) { sender_latency(state, 0ms); }
void migration_sender_latency_revenant(benchmark::State& state) { sender_latency(state, 50ms); }

}  // namespace

BENCHMARK(migration_pause_revenant)->Name("migration_pause/revenant")->Unit(benchmark::kMicrosecond)->Iterations(500)->UseRealTime();
BENCHMARK(migration_pause_raw_copy)->Name("migration_pause/raw_copy")->Unit(benchmark::kMicrosecond)->Iterations(500)->UseRealTime();
BENCHMARK(migration_large_revenant)->Name("migration_large/revenant")->Unit(benchmark::kMillisecond)->Iterations(20)->UseManualTime();
BENCHMARK(migration_large_raw_copy)->Name("migration_large/raw_copy")->Unit(benchmark::kMillisecond)->Iterations(20)->UseManualTime();
BENCHMARK(migration_drain_revenant)->Name("migration_drain/revenant")->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(1)->UseManualTime();
BENCHMARK(migration_drain_raw_copy)->Name("migration_drain/raw_copy")->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(5)->UseManualTime();
BENCHMARK(migration_sender_latency_steady)->Name("migration_sender_latency/steady")->Unit(benchmark::kMicrosecond)->Iterations(20000)->UseRealTime();
BENCHMARK(migration_sender_latency_revenant)->Name("migration_sender_latency/revenant")->Unit(benchmark::kMicrosecond)->Iterations(20000)->UseRealTime();

BENCHMARK_MAIN();
