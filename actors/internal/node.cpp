#include "actors/detail/node.hpp"

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

}  // namespace revenant::detail
