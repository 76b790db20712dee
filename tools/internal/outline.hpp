// The outline of an actor image: its record read through the runtime's own grammar
// (runtime/internal/image.hpp), each closure read as the name of its registered function. Reading
// it needs no registered function, so the tool shows an actor whose code it does not have.
#pragma once

#include <string>
#include <string_view>

#include "runtime/internal/image.hpp"

namespace revenant::detail {
class graph_input_archive;
}  // namespace revenant::detail

namespace revenant::detail {

// A closure of the image as the tool reads it: the name of its registered function (empty for
// an empty closure), from the closure's reference alone. The root holds closures only as
// references (their captured values follow later in the payload: docs/format.md, section 3), so
// the image reads without any registered function. Only read_outline can load one; a load from
// any other archive throws std::logic_error.
struct closure_name {
  std::string function;
  void load(detail::graph_input_archive& ar);
};

// The actor image through the runtime's own grammar, closures read as names.
using image_outline = detail::basic_actor_image<closure_name, closure_name>;

// Reads the outline of the actor image in snapshot; subject names the actor in errors. Throws
// snapshot_error. Checks the framing and checksums, not what follows the root (the closures'
// contents).
image_outline read_outline(std::string_view snapshot, const std::string& subject);

}  // namespace revenant::detail
