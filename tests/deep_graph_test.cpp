// Graphs of a million nodes: wide ones round-trip with their sharing, and long chains save,
// load and are destroyed without recursion (docs/design.md, "Depth").
#include <catch2/catch.hpp>

#include <pthread.h>

#include <functional>
#include <unordered_set>

#include "storage/snapshot.hpp"
#include "tests/support/fixtures.hpp"

using namespace revenant;
using namespace revenant::test;

namespace {

constexpr std::uint32_t million = 1'000'000;

// Runs fn on a thread with a small stack: code that recursed once per node would overflow it
// long before a million nodes. fn must not use Catch assertions (they are not thread-safe):
// it records results for the caller to check after this returns.
void on_small_stack(std::function<void()> fn, std::size_t stack_bytes = 1 << 20) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_bytes);
  std::exception_ptr error;
  struct job {
    std::function<void()>* fn;
    std::exception_ptr* error;
  } j{&fn, &error};
  pthread_t thread;
  const int rc = pthread_create(
      &thread, &attr,
      [](void* p) -> void* {
        auto* jj = static_cast<job*>(p);
        try {
          (*jj->fn)();
        } catch (...) {
          *jj->error = std::current_exception();
        }
        return nullptr;
      },
      &j);
  pthread_attr_destroy(&attr);
  if (rc == 0) pthread_join(thread, nullptr);
  REQUIRE(rc == 0);
  if (error) std::rethrow_exception(error);
}

// Follows links until it is back at head; returns how many it visited.
std::uint64_t walk_ring_once(const chain_link& head) {
  chain_walker walker;
  chain_link at = head;
  do {
    at(walker);
    at = std::exchange(walker.next, chain_link{});
  } while (at && !(at == head));
  return walker.visited;
}

// A link whose next link is read from a cell: the way a chain is closed into a ring.
void slot_link_body(chain_walker& walker, const cell<chain_link>& next, std::uint32_t index) {
  link_body(walker, next.get(), index);
}
const revenant::function<void(chain_walker&), slot_link_body> slot_link_fn{"test.chain_slot_link"};

}  // namespace

TEST_CASE("a million closures sharing state objects ten by ten round-trip with their sharing") {
  std::vector<closure<member_report()>> graph;
  graph.reserve(million);
  std::shared_ptr<group_state> state;
  for (std::uint32_t i = 0; i < million; ++i) {
    if (i % 10 == 0) state = std::make_shared<group_state>();
    graph.push_back(member_fn.bind(state, i));
  }
  const auto restored = decode_snapshot<std::vector<closure<member_report()>>>(encode_snapshot(graph));
  REQUIRE(restored.size() == million);
  std::unordered_set<const group_state*> states;
  bool all_right = true;
  for (std::uint32_t i = 0; i < million; ++i) {
    const auto [where, index] = restored[i]();
    all_right = all_right && index == i && where == restored[i - i % 10]().first;
    states.insert(where);
  }
  CHECK(all_right);
  CHECK(states.size() == million / 10);
}

TEST_CASE("a chain of a million closures saves, loads and is destroyed without recursion") {
  std::uint64_t visited = 0, index_sum = 0;
  on_small_stack([&] {
    std::string bytes;
    {
      const chain_link head = make_chain(million);
      bytes = encode_snapshot(head);
    }  // the original chain is destroyed here
    const chain_link restored = decode_snapshot<chain_link>(bytes);
    const chain_walker walked = walk_chain(restored);
    visited = walked.visited;
    index_sum = walked.index_sum;
  });  // and the restored one here, still on the small stack
  CHECK(visited == million);
  CHECK(index_sum == std::uint64_t(million) * (million - 1) / 2);
}

TEST_CASE("a list of a million cells, linked through a user struct, round-trips without recursion") {
  std::uint64_t length = 0, sum = 0;
  on_small_stack([&] {
    cell<cons> head;
    for (std::uint32_t i = 0; i < million; ++i) head = make_cell<cons>(cons{i, head});
    const auto restored = decode_snapshot<cell<cons>>(encode_snapshot(head));
    for (cell<cons> at = restored; at; at = cell<cons>(at.get().next)) {
      ++length;
      sum += at.get().value;
    }
  });
  CHECK(length == million);
  CHECK(sum == std::uint64_t(million) * (million - 1) / 2);
}

TEST_CASE("releasing a million-node cyclic graph breaks every cycle without recursion") {
  bool slot_emptied = false, walked_once_round = false;
  on_small_stack([&] {
    // A ring: the last link reads its next link from a slot, and the slot holds the head.
    auto slot = make_cell<chain_link>();
    chain_link head = slot_link_fn.bind(slot, 0);
    for (std::uint32_t i = 1; i < million; ++i) head = link_fn.bind(head, i);
    slot.set(head);
    walked_once_round = walk_ring_once(head) == million;
    release(head);
    slot_emptied = !slot.get();
  });
  CHECK(walked_once_round);
  CHECK(slot_emptied);  // under the asan preset, leak checking proves the ring was freed
}
