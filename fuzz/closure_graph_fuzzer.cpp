// libFuzzer target: decode_snapshot of a closure graph with every kind of edge (fuzz::graph_root:
// nested closures, self-reference, mutual recursion through cells, a ring of cells around shared
// state, std::shared_ptr sharing with std::weak_ptr back-edges, polymorphic and
// load_and_construct objects, containers).
// Property: any bytes either decode into a graph or throw snapshot_error; an accepted graph
// encodes again and round-trips stably, and release() frees it; no crash, no sanitizer report,
// no leak, no allocation sized by a forged length (run with -malloc_limit_mb). Input:
// fuzz::as_snapshot.
#include "fuzz/registrations.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using revenant::fuzz::graph_root;
  graph_root root;
  try {
    root = revenant::decode_snapshot<graph_root>(revenant::fuzz::as_snapshot(data, size), "fuzz");
  } catch (const revenant::snapshot_error&) {
    return 0;
  }
  revenant::fuzz::check_round_trip(root, "fuzz");
  revenant::release(root);
  return 0;
}
