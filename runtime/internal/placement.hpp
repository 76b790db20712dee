// Placement with a static list of nodes: where a durable actor lives, decided alike on every node
// from its name and the node names alone (docs/design.md, "Placement"), so routing needs no
// directory service. Immutable after construction: thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace revenant::detail {

class static_placement {
 public:
  // nodes: every node's name, self included (any order; duplicates are ignored).
  static_placement(std::string self, std::vector<std::string> nodes);

  // The node an actor named name lives on: for "$<id>@<node>" (a transient actor of that node),
  // that node; for any other name, its home: the node with the highest score(node, name).
  const std::string& home_of(std::string_view name) const noexcept;
  const std::string& self() const noexcept { return self_; }
  const std::vector<std::string>& nodes() const noexcept { return nodes_; }

  // Rendezvous score: FNV-1a 64 over node, one 00 byte and name, then a 64-bit finalizer
  // (docs/design.md gives it exactly: every node must compute the same).
  static std::uint64_t score(std::string_view node, std::string_view name) noexcept;

 private:
  std::string self_;
  std::vector<std::string> nodes_;  // sorted: ties go to the first
};

}  // namespace revenant::detail
