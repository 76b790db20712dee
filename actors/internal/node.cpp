#include "actors/detail/node.hpp"

#include "actors/detail/pointer_map.hpp"

namespace revenant::detail {

void dispose_slow(std::shared_ptr<node_base>&& node) noexcept {
  // Outermost disposal on this thread: nested releases (from the destructors run below) land
  // in this worklist instead of recursing, and are destroyed here one at a time.
  disposal_stack worklist;
  disposal_worklist = &worklist;
  node.reset();
  while (!worklist.empty()) worklist.pop().reset();
  disposal_worklist = nullptr;
}

bool release_direct(node_base* root) {
  if (root == nullptr) return true;
  pointer_map<char> seen;
  small_vector<node_base*, 16> order;  // discovery order: each node after the one that led to it
  child_list children;
  seen.try_emplace(root, 0);
  order.push_back(root);
  for (std::size_t i = 0; i < order.size(); ++i) {
    children.clear();
    if (!order[i]->direct_children(children)) return false;
    for (std::size_t c = 0; c < children.size(); ++c)
      if (seen.try_emplace(children[c], 0).second) order.push_back(children[c]);
  }
  // Last discovered first: every node is still held by the one that led to it (or by the
  // caller's root) when it is emptied — the same argument as graph_output_archive::clear_all.
  for (std::size_t i = order.size(); i > 0; --i) order[i - 1]->clear_contents();
  return true;
}

}  // namespace revenant::detail
