// An actor's closure graph as the inspect tool shows it (tools/inspect.hpp says what is drawn):
// vertices for closures, cells and shared objects, edges between them, the actor's own references
// as roots, shared vertices and cycle-closing edges marked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace revenant::detail {

enum class vertex_kind { closure, cell, shared_object };

struct graph_vertex {
  vertex_kind kind;
  std::uint32_t number;  // node id (closures, cells) or shared object number, from 1
  std::string label;
  std::uint32_t incoming = 0;  // distinct vertices referencing this one
  // "n<id>" for a node, "s<number>" for a shared object: unique in its graph.
  std::string name() const { return (kind == vertex_kind::shared_object ? "s" : "n") + std::to_string(number); }
  // Referenced by two or more vertices.
  bool shared() const noexcept { return incoming >= 2; }
};
struct graph_edge {
  std::size_t from;  // vertex indices
  std::size_t to;
  bool closes_cycle = false;
};
// One of the actor's own references into its graph.
struct graph_root {
  std::string role;      // "behavior" or "continuation"
  std::uint64_t request; // the ask, for a continuation
  std::size_t vertex;
};
struct closure_graph {
  std::vector<graph_vertex> vertices;  // nodes in id order, shared objects where first met
  std::vector<graph_edge> edges;       // in payload order, each (from, to) pair once
  std::vector<graph_root> roots;
  std::set<std::string> referenced_actors;
};

// Rebuilds the actor image in snapshot (this needs its functions registered) and records its
// graph; subject names the actor in errors. Throws snapshot_error. The rebuilt image is released
// before returning (its cycles freed).
closure_graph trace_graph(std::string_view snapshot, const std::string& subject);

}  // namespace revenant::detail
