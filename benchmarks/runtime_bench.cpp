// The actor runtime against CAF 0.17, same scenario, same worker count (2), in one run.
//
//   pingpong/revenant, pingpong/caf   1,000,000 round trips between two actors
//   fanin/revenant, fanin/caf         100 senders x 100,000 messages to one receiver
//   spawn/revenant, spawn/caf         spawn 1,000,000 actors, each stops on its first message
//   ask/revenant, ask/caf             1,000,000 sequential asks, each continuation asking the next
//   idle_actor_bytes/...              heap bytes per idle actor (100,000 of them), as a counter
//
// items_per_second counts round trips, messages received, or actors spawned and stopped. Each
// iteration spawns fresh actors and waits until the work is done; the system itself is
// started once per benchmark.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <latch>
#include <malloc.h>
#include <vector>
#include <memory>

#include "actors/actor.hpp"
#include "runtime/actor_system.hpp"

#ifdef REVENANT_HAVE_CAF
#include <caf/all.hpp>
#endif

namespace {

constexpr std::int64_t round_trips = 1'000'000;
constexpr std::int64_t fanin_senders = 100;
constexpr std::int64_t fanin_messages = 100'000;  // per sender
constexpr std::int64_t spawn_count = 1'000'000;
constexpr std::int64_t idle_count = 100'000;
constexpr std::int64_t asks = 1'000'000;

// Heap bytes in use (glibc's allocator; both systems allocate actors on the heap).
double heap_in_use() { return static_cast<double>(mallinfo2().uordblks); }

constexpr unsigned workers = 2;  // for both systems

revenant::actor_system_config revenant_config() {
  revenant::actor_system_config config;
  config.workers = workers;
  return config;
}

// ---- revenant ------------------------------------------------------------------------------

struct ball {
  std::int64_t left = 0;
};
struct serve {
  revenant::actor_ref partner;
};

// Completion signal captured by the ping behavior. Not state worth keeping: empty serialize.
struct finish_line {
  std::latch done{1};
  template <class Archive>
  void serialize(Archive&) {}
};

void pong_body(revenant::context& ctx, const revenant::message& m) {
  if (const auto* b = m.get_if<ball>()) ctx.reply(ball{b->left});
}
const revenant::function<void(revenant::context&, const revenant::message&), pong_body> pong_fn{"bench.pong"};

void ping_body(revenant::context& ctx, const revenant::message& m, const std::shared_ptr<finish_line>& finish) {
  if (const auto* b = m.get_if<ball>()) {
    if (b->left == 0) {
      finish->done.count_down();
      ctx.stop();
    } else {
      ctx.reply(ball{b->left - 1});
    }
  } else if (const auto* s = m.get_if<serve>()) {
    ctx.tell(s->partner, ball{round_trips - 1});
  }
}
const revenant::function<void(revenant::context&, const revenant::message&), ping_body> ping_fn{"bench.ping"};

void pingpong_revenant(benchmark::State& state) {
  revenant::actor_system system(revenant_config());
  for (auto _ : state) {
    auto finish = std::make_shared<finish_line>();
    revenant::actor_ref pong = system.spawn(pong_fn.bind());
    system.spawn(ping_fn.bind(finish)).tell(serve{pong});
    finish->done.wait();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * round_trips);
}
BENCHMARK(pingpong_revenant)->Name("pingpong/revenant")->Unit(benchmark::kMillisecond)->UseRealTime();

struct burst {
  revenant::actor_ref target;
  std::int64_t count = 0;
};
struct countdown {
  std::int64_t left = 0;
  std::latch done{1};
  template <class Archive>
  void serialize(Archive&) {}
};

void burst_body(revenant::context& ctx, const revenant::message& m) {
  if (const auto* b = m.get_if<burst>())
    for (std::int64_t i = 0; i < b->count; ++i) ctx.tell(b->target, ball{i});
}
const revenant::function<void(revenant::context&, const revenant::message&), burst_body> burst_fn{"bench.burst"};

void sink_body(revenant::context&, const revenant::message&, const std::shared_ptr<countdown>& c) {
  if (--c->left == 0) c->done.count_down();
}
const revenant::function<void(revenant::context&, const revenant::message&), sink_body> sink_fn{"bench.sink"};

void fanin_revenant(benchmark::State& state) {
  revenant::actor_system system(revenant_config());
  for (auto _ : state) {
    auto c = std::make_shared<countdown>();
    c->left = fanin_senders * fanin_messages;
    revenant::actor_ref sink = system.spawn(sink_fn.bind(c));
    for (std::int64_t i = 0; i < fanin_senders; ++i) system.spawn(burst_fn.bind()).tell(burst{sink, fanin_messages});
    c->done.wait();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * fanin_senders * fanin_messages);
}
BENCHMARK(fanin_revenant)->Name("fanin/revenant")->Unit(benchmark::kMillisecond)->UseRealTime();

struct spawned {
  std::latch done{spawn_count};
  template <class Archive>
  void serialize(Archive&) {}
};
void one_shot_body(revenant::context& ctx, const revenant::message&, const std::shared_ptr<spawned>& s) {
  ctx.stop();
  s->done.count_down();
}
const revenant::function<void(revenant::context&, const revenant::message&), one_shot_body> one_shot_fn{
    "bench.one_shot"};

void spawn_revenant(benchmark::State& state) {
  revenant::actor_system system(revenant_config());
  for (auto _ : state) {
    auto s = std::make_shared<spawned>();
    for (std::int64_t i = 0; i < spawn_count; ++i) system.spawn(one_shot_fn.bind(s)).tell(ball{});
    s->done.wait();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * spawn_count);
}
BENCHMARK(spawn_revenant)->Name("spawn/revenant")->Unit(benchmark::kMillisecond)->UseRealTime();

// ask: the continuation asks again until the count is used up.
void answer_body(revenant::context& ctx, const revenant::message& m) {
  if (const auto* b = m.get_if<ball>()) ctx.reply(ball{b->left});
}
const revenant::function<void(revenant::context&, const revenant::message&), answer_body> answer_fn{"bench.answer"};

void next_ask_body(revenant::context& ctx, const revenant::message& reply, const revenant::actor_ref& target,
                   const std::shared_ptr<finish_line>& finish);
const revenant::function<void(revenant::context&, const revenant::message&), next_ask_body> next_ask_fn{
    "bench.next_ask"};
void next_ask_body(revenant::context& ctx, const revenant::message& reply, const revenant::actor_ref& target,
                   const std::shared_ptr<finish_line>& finish) {
  const auto* b = reply.get_if<ball>();
  if (b == nullptr || b->left == 0) {
    finish->done.count_down();
    ctx.stop();
    return;
  }
  ctx.ask(target, ball{b->left - 1}, next_ask_fn.bind(target, finish), std::chrono::seconds(10));
}

void asker_body(revenant::context& ctx, const revenant::message& m, const std::shared_ptr<finish_line>& finish) {
  if (const auto* s = m.get_if<serve>())
    ctx.ask(s->partner, ball{asks - 1}, next_ask_fn.bind(s->partner, finish), std::chrono::seconds(10));
}
const revenant::function<void(revenant::context&, const revenant::message&), asker_body> bench_asker_fn{
    "bench.asker"};

void ask_revenant(benchmark::State& state) {
  revenant::actor_system system(revenant_config());
  for (auto _ : state) {
    auto finish = std::make_shared<finish_line>();
    revenant::actor_ref answerer = system.spawn(answer_fn.bind());
    system.spawn(bench_asker_fn.bind(finish)).tell(serve{answerer});
    finish->done.wait();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * asks);
}
BENCHMARK(ask_revenant)->Name("ask/revenant")->Unit(benchmark::kMillisecond)->UseRealTime();

void idle_actor_bytes_revenant(benchmark::State& state) {
  revenant::actor_system system(revenant_config());
  for (auto _ : state) {
    const double before = heap_in_use();
    std::vector<revenant::actor_ref> actors;
    actors.reserve(idle_count);
    const double after_reserve = heap_in_use();
    for (std::int64_t i = 0; i < idle_count; ++i) actors.push_back(system.spawn(pong_fn.bind()));
    state.counters["bytes_per_actor"] = (heap_in_use() - after_reserve) / idle_count;
    benchmark::DoNotOptimize(before);
  }
}
BENCHMARK(idle_actor_bytes_revenant)->Name("idle_actor_bytes/revenant")->Iterations(1)->Unit(benchmark::kMillisecond);

// ---- CAF -----------------------------------------------------------------------------------
#ifdef REVENANT_HAVE_CAF

// The same number of workers as revenant's.
void configure(caf::actor_system_config& config) { config.set("scheduler.max-threads", workers); }

caf::behavior caf_pong(caf::event_based_actor*) {
  return {[](std::int64_t left) { return left; }};
}

caf::behavior caf_ping(caf::event_based_actor* self, std::latch* done) {
  return {
      [=](caf::actor partner) { self->send(partner, round_trips - 1); },
      [=](std::int64_t left) -> caf::result<std::int64_t> {
        if (left == 0) {
          done->count_down();
          self->quit();
          return caf::skip();
        }
        return left - 1;
      },
  };
}

void pingpong_caf(benchmark::State& state) {
  caf::actor_system_config config;
  configure(config);
  caf::actor_system system(config);
  for (auto _ : state) {
    std::latch done(1);
    auto pong = system.spawn(caf_pong);
    auto ping = system.spawn(caf_ping, &done);
    caf::anon_send(ping, pong);
    done.wait();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * round_trips);
}
BENCHMARK(pingpong_caf)->Name("pingpong/caf")->Unit(benchmark::kMillisecond)->UseRealTime();

caf::behavior caf_sink(caf::event_based_actor*, std::int64_t* left, std::latch* done) {
  return {[=](std::int64_t) {
    if (--*left == 0) done->count_down();
  }};
}

caf::behavior caf_burst(caf::event_based_actor* self) {
  return {[=](caf::actor target, std::int64_t count) {
    for (std::int64_t i = 0; i < count; ++i) self->send(target, i);
  }};
}

void fanin_caf(benchmark::State& state) {
  caf::actor_system_config config;
  configure(config);
  caf::actor_system system(config);
  for (auto _ : state) {
    std::latch done(1);
    std::int64_t left = fanin_senders * fanin_messages;  // touched only by the sink
    auto sink = system.spawn(caf_sink, &left, &done);
    for (std::int64_t i = 0; i < fanin_senders; ++i) caf::anon_send(system.spawn(caf_burst), sink, fanin_messages);
    done.wait();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * fanin_senders * fanin_messages);
}
BENCHMARK(fanin_caf)->Name("fanin/caf")->Unit(benchmark::kMillisecond)->UseRealTime();

caf::behavior caf_one_shot(caf::event_based_actor* self, std::latch* done) {
  return {[=](std::int64_t) {
    self->quit();
    done->count_down();
  }};
}

void spawn_caf(benchmark::State& state) {
  caf::actor_system_config config;
  configure(config);
  caf::actor_system system(config);
  for (auto _ : state) {
    std::latch done(spawn_count);
    for (std::int64_t i = 0; i < spawn_count; ++i) caf::anon_send(system.spawn(caf_one_shot, &done), std::int64_t{0});
    done.wait();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * spawn_count);
}
BENCHMARK(spawn_caf)->Name("spawn/caf")->Unit(benchmark::kMillisecond)->UseRealTime();

caf::behavior caf_answer(caf::event_based_actor*) {
  return {[](std::int64_t left) { return left; }};
}

void caf_next_ask(caf::event_based_actor* self, caf::actor target, std::int64_t left, std::latch* done) {
  self->request(target, std::chrono::seconds(10), left).then([=](std::int64_t answer) {
    if (answer == 0) {
      done->count_down();
      self->quit();
    } else {
      caf_next_ask(self, target, answer - 1, done);
    }
  });
}

caf::behavior caf_asker(caf::event_based_actor* self, std::latch* done) {
  return {[=](caf::actor target) { caf_next_ask(self, target, asks - 1, done); }};
}

void ask_caf(benchmark::State& state) {
  caf::actor_system_config config;
  configure(config);
  caf::actor_system system(config);
  for (auto _ : state) {
    std::latch done(1);
    auto answerer = system.spawn(caf_answer);
    caf::anon_send(system.spawn(caf_asker, &done), answerer);
    done.wait();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * asks);
}
BENCHMARK(ask_caf)->Name("ask/caf")->Unit(benchmark::kMillisecond)->UseRealTime();

void idle_actor_bytes_caf(benchmark::State& state) {
  caf::actor_system_config config;
  configure(config);
  caf::actor_system system(config);
  for (auto _ : state) {
    std::vector<caf::actor> actors;
    actors.reserve(idle_count);
    const double after_reserve = heap_in_use();
    for (std::int64_t i = 0; i < idle_count; ++i) actors.push_back(system.spawn(caf_pong));
    state.counters["bytes_per_actor"] = (heap_in_use() - after_reserve) / idle_count;
    for (auto& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
}
BENCHMARK(idle_actor_bytes_caf)->Name("idle_actor_bytes/caf")->Iterations(1)->Unit(benchmark::kMillisecond);

#endif

}  // namespace

BENCHMARK_MAIN();
