// Whole-graph operations on closures and cells.
#pragma once

#include "actors/closure.hpp"

namespace revenant {

// Tears down the graph reachable from root: every closure and cell it reaches (following
// captures, cell values, and closures held inside captured objects) is emptied, so every
// cycle among them is broken and the whole graph is freed once the last outside handle goes.
// Use it when a graph is dead — the runtime calls it when an actor stops. Anything else that
// shares a node of this graph sees that node emptied (its closures throw bad_closure_call,
// its cells hold default values), so do not share nodes between graphs that outlive each
// other. A cycle made only of user objects (shared_ptr to shared_ptr, no closure or cell on
// it) is not revenant's and is not broken. Not thread-safe with respect to the graph.
template <class T>
void release(const T& root) {
  // A graph of closures, cells and plain values needs no encoder to walk (the common case for
  // knots and state machines); anything else is walked by the encoder, which sees everything.
  if constexpr (detail::edge_traits<T>::handle)
    if (detail::release_direct(detail::edge_traits<T>::node(root))) return;
  detail::graph_output_archive walk(nullptr);
  walk(root);
  walk.drain();
  walk.clear_all();
}

}  // namespace revenant
