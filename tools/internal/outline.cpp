// Reads an actor image's outline (outline.hpp). The snapshot payload layout is docs/format.md.
#include "tools/internal/outline.hpp"

#include <cstdint>
#include <exception>
#include <string>
#include <stdexcept>
#include <vector>

#include "actors/detail/archive.hpp"
#include "storage/snapshot.hpp"

namespace revenant::detail {
namespace {

// Reads closure references (node-ref, and fn-ref for a new node) and names their functions.
// Node and function numbers count from the start of one snapshot: one reader per image.
class closure_reference_reader {
 public:
  // The function of the closure referenced next in ar; empty for an empty closure.
  std::string read(detail::graph_input_archive& ar) {
    const std::size_t at = ar.position();
    const std::uint32_t ref = ar.read_u32();
    if (ref == 0) return {};
    if (ref <= nodes_.size()) return nodes_[ref - 1];
    if (ref != nodes_.size() + 1)
      ar.fail_at(at, snapshot_errc::bad_reference,
                 "node reference " + std::to_string(ref) + " but only " + std::to_string(nodes_.size()) +
                     " nodes are defined so far");
    const std::size_t index_at = ar.position();
    const std::uint32_t index = ar.read_u32();
    if (index == functions_.size()) {
      functions_.emplace_back(ar.read_view(ar.read_length()));
      (void)ar.read_u32();  // capture count: checked when the graph is rebuilt
    } else if (index > functions_.size()) {
      ar.fail_at(index_at, snapshot_errc::bad_reference,
                 "function reference " + std::to_string(index) + " but only " + std::to_string(functions_.size()) +
                     " functions are defined so far");
    }
    nodes_.push_back(functions_[index]);
    return nodes_.back();
  }

 private:
  std::vector<std::string> functions_;  // by function-table index
  std::vector<std::string> nodes_;      // function of each node, by id - 1
};

// The archive an outline is read with: the snapshot's input archive, and beside it the reader of
// that snapshot's closure references (one per archive, as their numbering is per snapshot).
class outline_archive final : public detail::graph_input_archive {
 public:
  outline_archive(std::string_view payload, const std::string& subject)
      : detail::graph_input_archive(payload, snapshot_header_size, subject) {}

  closure_reference_reader closures;
};

}  // namespace

void closure_name::load(detail::graph_input_archive& ar) {
  // Cereal hands a load the archive's base type; read_outline, the only reader of an outline,
  // reads it with an outline_archive. Any other archive is a misuse of this type, not bad bytes.
  auto* outline = dynamic_cast<outline_archive*>(&ar);
  if (outline == nullptr)
    throw std::logic_error("revenant: a closure_name is read only by read_outline (it needs the outline's closure table)");
  function = outline->closures.read(ar);
}

image_outline read_outline(std::string_view snapshot, const std::string& subject) {
  const std::string_view payload = detail::open_snapshot(snapshot, subject);
  outline_archive ar(payload, subject);
  image_outline o;
  try {
    ar(o);
  } catch (const snapshot_error&) {
    throw;
  } catch (const std::exception& e) {
    ar.fail(snapshot_errc::malformed, e.what());
  }
  return o;
}

}  // namespace revenant::detail
