// revenant's own links, beside the peers of remote_peers.cpp, between two processes over
// 127.0.0.1 (remote_harness.hpp): this benchmark is node "a", the child it starts is node "b".
//
//   remote_pingpong/revenant   an actor on a sends a small message to a named actor on b, which
//                              replies; the next one leaves when the reply is in (plaintext links)
//   remote_ask/revenant/<n>    an actor on a keeps n asks in flight to the actor on b (each
//                              answered ask sends the next)
//
// items_per_second counts round trips or answered asks; p50_us and p99_us are single round trips.
// Both nodes run two workers, as CAF runs two scheduler threads on each side.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "benchmarks/remote_harness.hpp"
#include "runtime/actor_system.hpp"

namespace {

using steady = std::chrono::steady_clock;

struct bench_ping {
  std::string payload;
  template <class A>
  void serialize(A& a) {
    a(payload);
  }
};
const revenant::message_type<bench_ping> bench_ping_type{"bench.remote.ping"};

// The node config of one side: plaintext, listening on a free port of 127.0.0.1.
revenant::actor_system_config node_side(const std::string& self, const std::string& other, std::uint16_t other_port) {
  revenant::node_config node;
  node.name = self;
  node.cluster = "bench";
  node.plaintext = true;
  node.peers[other] = revenant::endpoint{"127.0.0.1", other_port};
  revenant::actor_system_config config;
  config.workers = 2;
  config.node = node;
  return config;
}

// The name of b's responder: one whose home is b.
std::string responder_name(revenant::actor_system& system) {
  for (int i = 0;; ++i) {
    std::string name = "pong/" + std::to_string(i);
    if (system.home_of(name) == "b") return name;
  }
}

void pong_body(revenant::context& ctx, const revenant::message& m) {
  if (const auto* p = m.get_if<bench_ping>()) ctx.reply(*p);
}
const revenant::function<void(revenant::context&, const revenant::message&), pong_body> pong_fn{"bench.remote.pong"};

// The child: node b, serving until killed. args[0]: a's port.
int serve_revenant(const std::vector<std::string>& args, int report_fd) {
  if (args.empty()) return 2;
  revenant::actor_system b(node_side("b", "a", static_cast<std::uint16_t>(std::stoi(args[0]))));
  b.spawn(responder_name(b), pong_fn.bind());
  remote_bench::report_port(report_fd, b.node_port());
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}
const bool registered = remote_bench::register_server("revenant", serve_revenant);

// The pinger's state: benchmark plumbing (nothing to keep), so its serialize is empty.
struct run_state {
  std::int64_t total = 0;     // round trips in this run
  std::int64_t left = 0;      // not sent yet
  std::int64_t answered = 0;
  std::vector<steady::time_point> sent;  // by slot (one per ask in flight)
  remote_bench::latency_recorder latencies;
  remote_bench::done_signal done;
  revenant::actor_ref target;
  template <class A>
  void serialize(A&) {}
};
using run_ptr = std::shared_ptr<run_state>;

struct go {
  std::int64_t in_flight = 1;
  template <class A>
  void serialize(A&) {}
};

void answer_body(revenant::context& ctx, const revenant::message& m, const run_ptr& run, const std::int64_t& slot);
const revenant::function<void(revenant::context&, const revenant::message&), answer_body> answer_fn{
    "bench.remote.answer"};

void send_one(revenant::context& ctx, const run_ptr& run, std::int64_t slot) {
  --run->left;
  run->sent[static_cast<std::size_t>(slot)] = steady::now();
  ctx.ask(run->target, bench_ping{remote_bench::payload()}, answer_fn.bind(run, slot), std::chrono::seconds(10));
}

void answer_body(revenant::context& ctx, const revenant::message& m, const run_ptr& run, const std::int64_t& slot) {
  if (!m.is<bench_ping>()) return run->done.raise(false);  // an ask_error: the run failed
  run->latencies.record(steady::now() - run->sent[static_cast<std::size_t>(slot)]);
  if (++run->answered == run->total) return run->done.raise(true);
  if (run->left > 0) send_one(ctx, run, slot);
}

void ping_body(revenant::context& ctx, const revenant::message& m, const run_ptr& run) {
  if (const auto* g = m.get_if<go>())
    for (std::int64_t slot = 0; slot < g->in_flight && run->left > 0; ++slot) send_one(ctx, run, slot);
}
const revenant::function<void(revenant::context&, const revenant::message&), ping_body> ping_fn{"bench.remote.ping"};

// Runs batches of round trips with in_flight asks outstanding from one actor on a to b.
void round_trips(benchmark::State& state, std::int64_t in_flight, std::int64_t batch) {
  try {
    revenant::actor_system a(node_side("a", "b", 0));  // b's port is known once it runs
    remote_bench::peer_process peer("revenant", {std::to_string(a.node_port())});
    a.set_peer_address("b", revenant::endpoint{"127.0.0.1", peer.port()});
    const std::string target = responder_name(a);
    // The first ask waits for the links: b dials a as it starts, a dials b now.
    a.ask<bench_ping>(target, bench_ping{remote_bench::payload()}, std::chrono::seconds(10)).get();
    remote_bench::latency_recorder all;
    for (auto _ : state) {
      auto run = std::make_shared<run_state>();
      run->total = run->left = batch;
      run->sent.resize(static_cast<std::size_t>(in_flight));
      run->target = a.find(target);
      run->latencies.reserve(static_cast<std::size_t>(batch));
      a.spawn(ping_fn.bind(run)).tell(go{in_flight});
      if (!run->done.wait_for(std::chrono::seconds(60))) {
        state.SkipWithError("a run did not complete: an ask failed or timed out");
        return;
      }
      all.merge(run->latencies);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * batch);
    all.report(state);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void remote_pingpong_revenant(benchmark::State& state) { round_trips(state, 1, 20'000); }
BENCHMARK(remote_pingpong_revenant)->Name("remote_pingpong/revenant")->UseRealTime()->Iterations(3)->Unit(benchmark::kMillisecond);

void remote_ask_revenant(benchmark::State& state) { round_trips(state, state.range(0), 50'000); }
BENCHMARK(remote_ask_revenant)->Name("remote_ask/revenant")->Arg(1)->Arg(100)->UseRealTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
