// revenant's own links, beside the peers of remote_peers.cpp, between two processes over
// 127.0.0.1 (remote_harness.hpp): this benchmark is node "a", the child it starts is node "b".
//
//   remote_pingpong/revenant       an actor on a sends a small message to a named actor on b,
//                                  which replies; the next one leaves when the reply is in
//   remote_ask/revenant/<n>        an actor on a keeps n asks in flight to the actor on b (each
//                                  answered ask sends the next)
//   remote_stream/revenant         an actor on a tells a named actor on b a stream of small
//                                  messages (a sequence number each), with the flow control of
//                                  remote_harness.hpp: b acknowledges every stream_ack_every, a
//                                  keeps at most stream_window unacknowledged
//   remote_pingpong/revenant_tls,  the same over mutual TLS 1.3 (node_config::tls, certificates
//   remote_stream/revenant_tls     made for the run); the others run over plaintext links
//   remote_pingpong/revenant_sleep the same with workers that sleep as soon as they run out of
//   remote_ask/revenant_sleep/1    work (the default); the others let them poll for
//                                  spin_before_sleep first (actor_system_config)
//
// items_per_second counts round trips, answered asks, or messages the receiving actor handled;
// p50_us and p99_us are single round trips; the streams report both processes' peak resident
// set sizes. Both nodes run two workers, as CAF runs two scheduler threads on each side.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
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

// A node's TLS files: the run's CA, and the node's certificate (naming it) and key.
// How the benchmarks that do not say otherwise run both nodes' workers: polling this long for
// work before they sleep, which spares most round trips a thread wake-up.
constexpr std::chrono::microseconds bench_spin{50};

struct tls_files {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

// The node config of one side, listening on a free port of 127.0.0.1: over mutual TLS with
// tls, else plaintext.
revenant::actor_system_config node_side(const std::string& self, const std::string& other, std::uint16_t other_port,
                                        const std::optional<tls_files>& tls, std::chrono::microseconds spin) {
  revenant::node_config node;
  node.name = self;
  node.cluster = "bench";
  if (tls) {
    node.tls = revenant::tls_config{tls->ca_file, tls->cert_file, tls->key_file, std::nullopt};
  } else {
    node.plaintext = true;
  }
  node.peers[other] = revenant::endpoint{"127.0.0.1", other_port};
  revenant::actor_system_config config;
  config.workers = 2;
  config.spin_before_sleep = spin;
  config.node = node;
  return config;
}

// The name of one of b's actors: the first prefix/<i> whose home is b.
std::string name_on_b(revenant::actor_system& system, const std::string& prefix) {
  for (int i = 0;; ++i) {
    std::string name = prefix + "/" + std::to_string(i);
    if (system.home_of(name) == "b") return name;
  }
}

void pong_body(revenant::context& ctx, const revenant::message& m) {
  if (const auto* p = m.get_if<bench_ping>()) ctx.reply(*p);
}
const revenant::function<void(revenant::context&, const revenant::message&), pong_body> pong_fn{"bench.remote.pong"};

// The stream's messages: an item (its sequence number is its payload), and the receiver's
// acknowledgement (how many items it has handled, and whether each came in its turn).
struct stream_item {
  std::uint64_t seq = 0;
  template <class A>
  void serialize(A& a) {
    a(seq);
  }
};
const revenant::message_type<stream_item> stream_item_type{"bench.remote.stream_item"};

struct stream_ack {
  std::int64_t received = 0;
  bool in_order = true;
  template <class A>
  void serialize(A& a) {
    a(received, in_order);
  }
};
const revenant::message_type<stream_ack> stream_ack_type{"bench.remote.stream_ack"};

// The receiver's count (benchmark plumbing, kept outside the behavior: nothing to serialize).
struct sink_state {
  std::int64_t seen = 0;
  bool in_order = true;
  template <class A>
  void serialize(A&) {}
};

// Counts the stream: sequence number 0 starts a new one; every stream_ack_every items it tells
// the sender how many it has handled.
void sink_body(revenant::context& ctx, const revenant::message& m, const std::shared_ptr<sink_state>& s) {
  const auto* item = m.get_if<stream_item>();
  if (item == nullptr) return;
  if (item->seq == 0) *s = sink_state{};
  s->in_order = s->in_order && item->seq == static_cast<std::uint64_t>(s->seen);
  if (++s->seen % remote_bench::stream_ack_every == 0) ctx.reply(stream_ack{s->seen, s->in_order});
}
const revenant::function<void(revenant::context&, const revenant::message&), sink_body> sink_fn{"bench.remote.sink"};

// The child: node b, serving until killed. args: a's port, the workers' spin in microseconds,
// then `--tls CA CERT KEY` for TLS.
int serve_revenant(const std::vector<std::string>& args, int report_fd) {
  if (args.size() != 2 && !(args.size() == 6 && args[2] == "--tls")) return 2;
  std::optional<tls_files> tls;
  if (args.size() == 6) tls = tls_files{args[3], args[4], args[5]};
  revenant::actor_system b(node_side("b", "a", static_cast<std::uint16_t>(std::stoi(args[0])), tls,
                                     std::chrono::microseconds(std::stol(args[1]))));
  b.spawn(name_on_b(b, "pong"), pong_fn.bind());
  b.spawn(name_on_b(b, "sink"), sink_fn.bind(std::make_shared<sink_state>()));
  remote_bench::report_port(report_fd, b.node_port());
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}
const bool registered = remote_bench::register_server("revenant", serve_revenant);

// How a benchmark links its two nodes.
struct link_options {
  bool tls = false;
  std::chrono::microseconds spin = bench_spin;  // both nodes' actor_system_config::spin_before_sleep
};

// Node a in this process and node b in a child, linked as `options` say: the first ask waits
// for the links (b dials a as it starts, a dials b once it knows b's port).
struct node_pair {
  std::unique_ptr<remote_bench::run_certificates> certificates;
  std::unique_ptr<revenant::actor_system> a;
  std::unique_ptr<remote_bench::peer_process> b;  // destroyed (killed) before a

  explicit node_pair(link_options options) {
    std::optional<tls_files> a_tls;
    std::vector<std::string> b_args;
    if (options.tls) {
      certificates = std::make_unique<remote_bench::run_certificates>();
      const auto a_files = certificates->issue("a");
      const auto b_files = certificates->issue("b");
      a_tls = tls_files{certificates->ca_file(), a_files.cert_file, a_files.key_file};
      b_args = {"--tls", certificates->ca_file(), b_files.cert_file, b_files.key_file};
    }
    a = std::make_unique<revenant::actor_system>(node_side("a", "b", 0, a_tls, options.spin));  // b's port: once it runs
    b_args.insert(b_args.begin(), {std::to_string(a->node_port()), std::to_string(options.spin.count())});
    b = std::make_unique<remote_bench::peer_process>("revenant", b_args);
    a->set_peer_address("b", revenant::endpoint{"127.0.0.1", b->port()});
    a->ask<bench_ping>(name_on_b(*a, "pong"), bench_ping{remote_bench::payload()}, std::chrono::seconds(10)).get();
  }
};

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
void round_trips(benchmark::State& state, std::int64_t in_flight, std::int64_t batch, link_options options) {
  try {
    node_pair nodes(options);
    const std::string target = name_on_b(*nodes.a, "pong");
    remote_bench::latency_recorder all;
    for (auto _ : state) {
      auto run = std::make_shared<run_state>();
      run->total = run->left = batch;
      run->sent.resize(static_cast<std::size_t>(in_flight));
      run->target = nodes.a->find(target);
      run->latencies.reserve(static_cast<std::size_t>(batch));
      nodes.a->spawn(ping_fn.bind(run)).tell(go{in_flight});
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

constexpr link_options sleeping{false, std::chrono::microseconds(0)};

void remote_pingpong_revenant(benchmark::State& state) { round_trips(state, 1, 20'000, {}); }
BENCHMARK(remote_pingpong_revenant)->Name("remote_pingpong/revenant")->UseRealTime()->Iterations(3)->Unit(benchmark::kMillisecond);

void remote_pingpong_revenant_sleep(benchmark::State& state) { round_trips(state, 1, 20'000, sleeping); }
BENCHMARK(remote_pingpong_revenant_sleep)->Name("remote_pingpong/revenant_sleep")->UseRealTime()->Iterations(3)->Unit(benchmark::kMillisecond);

void remote_ask_revenant(benchmark::State& state) { round_trips(state, state.range(0), 50'000, {}); }
BENCHMARK(remote_ask_revenant)->Name("remote_ask/revenant")->Arg(1)->Arg(100)->UseRealTime()->Iterations(3)->Unit(benchmark::kMillisecond);

void remote_ask_revenant_sleep(benchmark::State& state) { round_trips(state, state.range(0), 50'000, sleeping); }
BENCHMARK(remote_ask_revenant_sleep)->Name("remote_ask/revenant_sleep")->Arg(1)->UseRealTime()->Iterations(3)->Unit(benchmark::kMillisecond);

void remote_pingpong_revenant_tls(benchmark::State& state) { round_trips(state, 1, 20'000, {.tls = true}); }
BENCHMARK(remote_pingpong_revenant_tls)->Name("remote_pingpong/revenant_tls")->UseRealTime()->Iterations(3)->Unit(benchmark::kMillisecond);

// One stream: its sender's progress (benchmark plumbing, nothing to serialize).
struct stream_run {
  std::int64_t length = 0;
  std::int64_t sent = 0;
  revenant::actor_ref target;
  remote_bench::done_signal done;
  template <class A>
  void serialize(A&) {}
};
using stream_ptr = std::shared_ptr<stream_run>;

// Sends what the window allows: on `go`, the first stream_window items; on each
// acknowledgement, as many as it frees. The last acknowledgement (all handled, in order) ends it.
void streamer_body(revenant::context& ctx, const revenant::message& m, const stream_ptr& run) {
  std::int64_t acked = 0;
  if (const auto* ack = m.get_if<stream_ack>()) {
    if (!ack->in_order || ack->received > run->sent) return run->done.raise(false);
    if (ack->received == run->length) return run->done.raise(true);
    acked = ack->received;
  } else if (!m.is<go>()) {
    return;
  }
  for (; run->sent < run->length && run->sent - acked < remote_bench::stream_window; ++run->sent)
    ctx.tell(run->target, stream_item{static_cast<std::uint64_t>(run->sent)});
}
const revenant::function<void(revenant::context&, const revenant::message&), streamer_body> streamer_fn{
    "bench.remote.streamer"};

constexpr std::int64_t revenant_stream_length = 1 << 20;
static_assert(revenant_stream_length % remote_bench::stream_ack_every == 0);

// Streams revenant_stream_length items per iteration from an actor on a to b's sink.
void stream(benchmark::State& state, link_options options) {
  try {
    remote_bench::reset_peak_rss();
    node_pair nodes(options);
    const std::string target = name_on_b(*nodes.a, "sink");
    const std::uint64_t dead_before = nodes.a->dead_letters();
    for (auto _ : state) {
      auto run = std::make_shared<stream_run>();
      run->length = revenant_stream_length;
      run->target = nodes.a->find(target);
      nodes.a->spawn(streamer_fn.bind(run)).tell(go{});
      if (!run->done.wait_for(std::chrono::seconds(60))) {
        state.SkipWithError(nodes.b->expired() ? "the peer outlived its lifetime and was killed"
                                               : "a stream did not complete: messages were lost or came out of order");
        return;
      }
    }
    if (nodes.a->dead_letters() != dead_before) {
      state.SkipWithError("the sending node had dead letters");
      return;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * revenant_stream_length);
    remote_bench::report_peak_rss(state, remote_bench::peak_rss_bytes(), nodes.b->peak_rss_bytes());
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void remote_stream_revenant(benchmark::State& state) { stream(state, {}); }
BENCHMARK(remote_stream_revenant)->Name("remote_stream/revenant")->UseRealTime()->Iterations(3)->Unit(benchmark::kMillisecond);

void remote_stream_revenant_tls(benchmark::State& state) { stream(state, {.tls = true}); }
BENCHMARK(remote_stream_revenant_tls)->Name("remote_stream/revenant_tls")->UseRealTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
