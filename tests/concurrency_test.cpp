// Snapshots encoded and decoded on several threads at once (the runtime will do this).
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "storage/snapshot.hpp"
#include "tests/support/fixtures.hpp"

using namespace revenant;
using namespace revenant::test;

TEST_CASE("threads encode and decode independent graphs at the same time") {
  std::atomic<int> failures{0};
  auto work = [&failures](int seed) {
    for (int i = 0; i < 200; ++i) {
      auto graph = std::tuple{f1(std::to_string(seed + i)), make_parity(), make_traffic_light()};
      auto [f3, parity, machine] = decode_snapshot<decltype(graph)>(encode_snapshot(graph));
      const std::string expected = "f3:" + std::to_string(seed + i) + " f2:" + std::to_string(seed + i);
      if (f3() != expected || !parity.first(6) || machine.get()().first != "red") ++failures;
      release(graph);
      release(std::tuple{f3, parity, machine});
    }
  };
  std::thread a(work, 0), b(work, 1000);
  work(2000);
  a.join();
  b.join();
  CHECK(failures == 0);
}
