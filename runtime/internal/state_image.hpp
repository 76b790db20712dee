// The one converter between an actor's live state (actor_cell.hpp, live_state) and its image
// (image.hpp; docs/format.md, "Actor image"): used to checkpoint, to recover, and by the tools
// that read what an actor holds.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "runtime/internal/actor_cell.hpp"
#include "runtime/internal/image.hpp"

namespace revenant::detail {

// The image of state (capacity: the mailbox bound). name: the actor's, as the sender of the
// messages its timers deliver. Throws what encoding a timer's message throws.
actor_image capture_image(const live_state& state, std::uint32_t capacity, const std::string& name);

// What restore_image took up.
struct restored_state {
  std::uint32_t capacity = 0;       // the mailbox bound
  std::size_t continuations = 0;    // pending asks re-attached
  std::size_t timers = 0;           // timers re-armed
};
// Takes image up into state, which holds nothing yet: behavior, supervision, pending asks and
// timers (re-armed through clock(), late ones fire at once). resolver: turns the names in a
// timer's stored message back into actors when it fires. Throws std::runtime_error for a
// record naming no restart policy.
restored_state restore_image(actor_image&& image, live_state& state, const std::function<actor_clock&()>& clock,
                             detail::actor_resolver* resolver, const std::string& name);

}  // namespace revenant::detail
