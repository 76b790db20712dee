// The actor runtime against CAF 0.17, same scenario, same worker count (2), in one run.
//
//   pingpong/revenant, pingpong/caf   1,000,000 round trips between two actors
//
// items_per_second counts round trips. Each iteration spawns a fresh pair and waits until the
// last reply has arrived; the system itself is started once per benchmark.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <latch>
#include <memory>

#include "actors/actor.hpp"
#include "runtime/actor_system.hpp"

#ifdef REVENANT_HAVE_CAF
#include <caf/all.hpp>
#endif

namespace {

constexpr std::int64_t round_trips = 1'000'000;
constexpr unsigned workers = 2;

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
  revenant::actor_system_config config;
  config.workers = workers;
  revenant::actor_system system(config);
  for (auto _ : state) {
    auto finish = std::make_shared<finish_line>();
    revenant::actor_ref pong = system.spawn(pong_fn.bind());
    system.spawn(ping_fn.bind(finish)).tell(serve{pong});
    finish->done.wait();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * round_trips);
}
BENCHMARK(pingpong_revenant)->Name("pingpong/revenant")->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- CAF -----------------------------------------------------------------------------------
#ifdef REVENANT_HAVE_CAF

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
  config.set("scheduler.max-threads", workers);
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

#endif

}  // namespace

BENCHMARK_MAIN();
