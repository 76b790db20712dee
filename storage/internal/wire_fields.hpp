// Little-endian fields and the node-name alphabet of the wire format (docs/wire.md, section 5.2),
// shared by the frame codec (wire.cpp), the reader (wire_reader.cpp) and the names (wire_names.cpp).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

namespace revenant::wire::detail {

static_assert(std::endian::native == std::endian::little, "the wire codec copies little-endian integers as they are");

// The preface's first 4 bytes.
inline constexpr char preface_magic[4] = {'R', 'V', 'N', 'W'};

// A byte of a node or cluster name: an ASCII letter, digit, '.', '-' or '_'.
inline bool is_node_name_byte(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

template <class T>
T load(const char* at) noexcept {
  T v;
  std::memcpy(&v, at, sizeof v);
  return v;
}

template <class T>
void append(std::string& out, T v) {
  char bytes[sizeof v];
  std::memcpy(bytes, &v, sizeof v);
  out.append(bytes, sizeof v);
}

}  // namespace revenant::wire::detail
