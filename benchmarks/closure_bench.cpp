// Snapshot round trips (encode + decode) of closure graphs, against hand-written Cereal.
//
//   closure_graph_1m/revenant         1,000,000 closures, each capturing a shared State (one per
//                                     10 closures) and its own index, through encode_snapshot/
//                                     decode_snapshot
//   closure_graph_1m/revenant_decode  the decode half of the above alone
//   closure_graph_1m/cereal           the same shape as plain structs through Cereal's binary
//                                     archives
//   seed_self_ref/revenant            the seed's self-referencing closure g2 (compare with
//                                     benchmarks/cloudpickle_seed.py)
//
// Graphs are built outside the timed region, and so is tearing down what a round trip
// restored: the round trips time exactly one encode and one decode per iteration.
#include <benchmark/benchmark.h>

#include <cereal/archives/binary.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/vector.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "actors/closure.hpp"
#include "actors/graph.hpp"
#include "storage/snapshot.hpp"

namespace {

constexpr std::uint32_t graph_size = 1'000'000;
constexpr std::uint32_t group_size = 10;  // consecutive members sharing one State
constexpr int graph_iterations = 5;

struct State {
  std::uint32_t group = 0;
  std::uint64_t value = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(group, value);
  }
};

// ---- revenant ------------------------------------------------------------------------------

std::uint64_t member_body(const std::shared_ptr<State>& state, std::uint32_t index) { return state->value + index; }
inline const revenant::function<std::uint64_t(), member_body> member_fn{"bench.member"};

using member = revenant::closure<std::uint64_t()>;
using member_graph = std::vector<member>;

member_graph make_member_graph() {
  member_graph graph;
  graph.reserve(graph_size);
  std::shared_ptr<State> state;
  for (std::uint32_t i = 0; i < graph_size; ++i) {
    if (i % group_size == 0) state = std::make_shared<State>(State{i / group_size, i});
    graph.push_back(member_fn.bind(state, i));
  }
  return graph;
}

void closure_graph_revenant(benchmark::State& state) {
  const member_graph graph = make_member_graph();
  {
    // Checked once, untimed: the round trip restores every member and the State sharing.
    const auto restored = revenant::decode_snapshot<member_graph>(revenant::encode_snapshot(graph));
    if (restored.size() != graph_size || restored.back()() != graph.back()() ||
        restored[0]() != graph[0]() || restored[1]() != graph[1]()) {
      state.SkipWithError("revenant round trip restored a different graph");
      return;
    }
  }
  for (auto _ : state) {
    const std::string bytes = revenant::encode_snapshot(graph);
    member_graph restored = revenant::decode_snapshot<member_graph>(bytes);
    benchmark::DoNotOptimize(restored.data());
    state.PauseTiming();
    restored = member_graph{};
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * graph_size);
  state.counters["bytes"] = static_cast<double>(revenant::encode_snapshot(graph).size());
}
BENCHMARK(closure_graph_revenant)
    ->Name("closure_graph_1m/revenant")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(graph_iterations);

// The decode half alone: the bytes are encoded once, outside the timed region.
void closure_graph_revenant_decode(benchmark::State& state) {
  const std::string bytes = revenant::encode_snapshot(make_member_graph());
  for (auto _ : state) {
    member_graph restored = revenant::decode_snapshot<member_graph>(bytes);
    benchmark::DoNotOptimize(restored.data());
    state.PauseTiming();
    restored = member_graph{};
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * graph_size);
}
BENCHMARK(closure_graph_revenant_decode)
    ->Name("closure_graph_1m/revenant_decode")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(graph_iterations);

// ---- Cereal, by hand -----------------------------------------------------------------------

struct Node {
  std::shared_ptr<State> state;
  std::uint32_t index = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(state, index);
  }
};
using node_graph = std::vector<std::shared_ptr<Node>>;

node_graph make_node_graph() {
  node_graph graph;
  graph.reserve(graph_size);
  std::shared_ptr<State> state;
  for (std::uint32_t i = 0; i < graph_size; ++i) {
    if (i % group_size == 0) state = std::make_shared<State>(State{i / group_size, i});
    graph.push_back(std::make_shared<Node>(Node{state, i}));
  }
  return graph;
}

std::string cereal_save(const node_graph& graph) {
  std::ostringstream out;
  {
    cereal::BinaryOutputArchive ar(out);
    ar(graph);
  }
  return std::move(out).str();
}

node_graph cereal_load(const std::string& bytes) {
  std::istringstream in(bytes);
  cereal::BinaryInputArchive ar(in);
  node_graph graph;
  ar(graph);
  return graph;
}

void closure_graph_cereal(benchmark::State& state) {
  const node_graph graph = make_node_graph();
  {
    const node_graph restored = cereal_load(cereal_save(graph));
    if (restored.size() != graph_size || restored.back()->index != graph_size - 1 ||
        restored[0]->state != restored[group_size - 1]->state || restored[0]->state == restored[group_size]->state) {
      state.SkipWithError("Cereal round trip restored a different graph");
      return;
    }
  }
  for (auto _ : state) {
    const std::string bytes = cereal_save(graph);
    node_graph restored = cereal_load(bytes);
    benchmark::DoNotOptimize(restored.data());
    state.PauseTiming();
    restored = node_graph{};
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * graph_size);
  state.counters["bytes"] = static_cast<double>(cereal_save(graph).size());
}
BENCHMARK(closure_graph_cereal)
    ->Name("closure_graph_1m/cereal")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(graph_iterations);

// ---- the seed's self-referencing closure ---------------------------------------------------

using g2_closure = revenant::closure<const void*()>;

// g2 reaches itself through its first capture and reports the identity of what it holds.
const void* g2_body(const revenant::self_ref<const void*()>& self) { return self.get().identity(); }
inline const revenant::function<const void*(), g2_body> g2_fn{"bench.g2"};

void seed_self_ref_revenant(benchmark::State& state) {
  const g2_closure g2 = g2_fn.bind_recursive();
  {
    const auto restored = revenant::decode_snapshot<g2_closure>(revenant::encode_snapshot(g2));
    const bool same_shape = restored() == restored.identity() && restored.identity() != g2.identity();
    revenant::release(restored);
    if (!same_shape) {
      state.SkipWithError("restored g2 does not hold itself");
      revenant::release(g2);
      return;
    }
  }
  for (auto _ : state) {
    const std::string bytes = revenant::encode_snapshot(g2);
    const g2_closure restored = revenant::decode_snapshot<g2_closure>(bytes);
    benchmark::DoNotOptimize(restored.identity());
    // The restored g2 holds itself; without release it would never be freed.
    revenant::release(restored);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["bytes"] = static_cast<double>(revenant::encode_snapshot(g2).size());
  revenant::release(g2);
}
BENCHMARK(seed_self_ref_revenant)->Name("seed_self_ref/revenant")->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
