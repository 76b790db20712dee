// What both halves of the archive pair (actors/detail/archive.hpp) share: the Cereal types every
// closure may capture, the nesting bound and the byte order.
#pragma once

#include <cereal/cereal.hpp>
// Captures are often standard types: support for them comes with every closure.
#include <cereal/types/array.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <bit>
#include <cstdint>
#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/detail/node.hpp"
#include "actors/detail/pointer_map.hpp"
#include "actors/detail/registry.hpp"
#include "actors/detail/small_vector.hpp"
#include "actors/snapshot_error.hpp"

namespace revenant::detail {

// How deeply values may nest inside one another (a struct in a vector in a struct ...: each
// Cereal-visible value is a level). Closures and cells do not count: their contents are encoded
// from a loop, not from inside the value that references them. The limit keeps forged or
// runaway nesting from exhausting the stack: 1000 levels need well under 2 MB even in
// sanitizer builds.
inline constexpr int max_nesting = 1000;

static_assert(std::endian::native == std::endian::little,
              "the snapshot format is little-endian; big-endian hosts need byte swapping here");

class actor_resolver;

}  // namespace revenant::detail
