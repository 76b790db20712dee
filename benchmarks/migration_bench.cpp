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
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "actors/actor.hpp"
#include "actors/message_type.hpp"
#include "runtime/actor_system.hpp"

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

}  // namespace

BENCHMARK(migration_pause_revenant)->Name("migration_pause/revenant")->Unit(benchmark::kMicrosecond)->Iterations(500)->UseRealTime();
BENCHMARK(migration_pause_raw_copy)->Name("migration_pause/raw_copy")->Unit(benchmark::kMicrosecond)->Iterations(500)->UseRealTime();

BENCHMARK_MAIN();
