// Closures saved by one process, restored and called by another: the same registered names
// must rebuild the same graph, cycles and all.
#include <catch2/catch.hpp>

#include <iostream>

#include "storage/snapshot.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/fixtures.hpp"

using namespace revenant;
using namespace revenant::test;

namespace {

using seed_roots = std::tuple<closure<std::string()>, closure<const void*()>,
                              std::pair<closure<bool(int)>, closure<bool(int)>>>;

int save_seeds(const std::vector<std::string>& args) {
  seed_roots roots{f1("hello"), g1(), make_parity()};
  write_file(args.at(0), encode_snapshot(roots));
  release(roots);
  return 0;
}

int load_seeds(const std::vector<std::string>& args) {
  auto [f3, g2, parity] = decode_snapshot<seed_roots>(read_file(args.at(0)));
  std::cout << "f3() = " << f3() << '\n';
  std::cout << "g2 captured itself: " << (g2() == g2.identity() ? "yes" : "no") << '\n';
  std::cout << "is_even(10) = " << parity.first(10) << ", is_odd(7) = " << parity.second(7) << '\n';
  release(std::tuple{f3, g2, parity});
  return 0;
}

// Registered only when this child runs: the parent process has never heard of it.
int child_only_body(int x) { return x; }
int save_unknown(const std::vector<std::string>& args) {
  static const revenant::function<int(int), child_only_body> child_only_fn{"test.child_only"};
  write_file(args.at(0), encode_snapshot(child_only_fn.bind()));
  return 0;
}

const bool registered = register_child("save-seeds", save_seeds) && register_child("load-seeds", load_seeds) &&
                        register_child("save-unknown", save_unknown);

}  // namespace

TEST_CASE("seed shapes saved in one process are restored and called correctly in another") {
  REQUIRE(registered);
  temp_dir dir;
  const std::string file = dir.path("seeds.snapshot");
  const child_result saved = run_child({"save-seeds", file});
  INFO(saved.output);
  REQUIRE(saved.exit_code == 0);

  const child_result loaded = run_child({"load-seeds", file});
  INFO(loaded.output);
  REQUIRE(loaded.exit_code == 0);
  CHECK_THAT(loaded.output, Catch::Contains("f3() = f3:hello f2:hello\n"));
  CHECK_THAT(loaded.output, Catch::Contains("g2 captured itself: yes\n"));
  CHECK_THAT(loaded.output, Catch::Contains("is_even(10) = 1, is_odd(7) = 1\n"));

  // And this process, which did neither, reads the same bytes to the same graph.
  auto [f3, g2, parity] = decode_snapshot<seed_roots>(read_file(file));
  CHECK(f3() == "f3:hello f2:hello");
  CHECK(g2() == g2.identity());
  release(std::tuple{f3, g2, parity});
}

TEST_CASE("a closure of a function this process never registered fails to load, naming it") {
  temp_dir dir;
  const std::string file = dir.path("unknown.snapshot");
  const child_result saved = run_child({"save-unknown", file});
  INFO(saved.output);
  REQUIRE(saved.exit_code == 0);
  try {
    decode_snapshot<closure<int(int)>>(read_file(file), "file " + file);
    FAIL("loaded a closure of an unregistered function");
  } catch (const snapshot_error& e) {
    CHECK(e.code() == snapshot_errc::unknown_function);
    CHECK_THAT(e.what(), Catch::Contains("unknown function \"test.child_only\""));
    CHECK_THAT(e.what(), Catch::Contains(file));
  }
}
