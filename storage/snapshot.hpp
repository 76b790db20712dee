// The snapshot codec: a closure graph (or any Cereal-serializable value holding closures and
// cells) to bytes and back. Layout in docs/format.md, "Snapshot encoding".
//
// Thread-safety: encode and decode share no state; any number may run at once on different
// graphs. A graph itself must not be mutated while it is being encoded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "actors/detail/archive.hpp"
#include "actors/snapshot_error.hpp"

namespace revenant {

// The format version this build writes; it reads exactly this version. Frozen per release.
inline constexpr std::uint16_t snapshot_format_version = 1;
// Size of the fixed header in front of every payload.
inline constexpr std::size_t snapshot_header_size = 24;

namespace detail {
// Writes the header into the first snapshot_header_size bytes of snapshot, which the payload
// follows. flags: 0, except for an envelope that carries an order number (docs/format.md 8.6).
void seal_snapshot(std::string& snapshot, std::uint16_t flags = 0);
// Checks header and checksums; returns the payload. Flags outside allowed_flags are malformed;
// the flags found are stored in *flags if given. Throws snapshot_error.
std::string_view open_snapshot(std::string_view snapshot, const std::string& subject, std::uint16_t allowed_flags = 0,
                               std::uint16_t* flags = nullptr);
}  // namespace detail

// Encodes the graph reachable from root. Closures and cells at any depth are encoded without
// recursion; values nested inside one another (user structs in containers in structs ...) may
// nest detail::max_nesting levels, past which std::length_error is thrown (docs/design.md).
// A cycle of strong std::shared_ptrs (an object holding a std::shared_ptr to itself or to an
// object that holds it) throws std::invalid_argument: no decoder accepts it (docs/format.md,
// 4.2); tie such cycles through cells or std::weak_ptr. Also throws whatever root's own
// serialize functions throw; never snapshot_error.
// Actor references are written as resolver names them (null: their own names).
template <class T>
std::string encode_snapshot(const T& root, detail::actor_resolver* resolver = nullptr) {
  std::string snapshot;
  snapshot.reserve(256);  // one allocation for typical actor snapshots
  snapshot.resize(snapshot_header_size);
  detail::encode_payload(snapshot, root, resolver);
  detail::seal_snapshot(snapshot);
  return snapshot;
}

// Rebuilds a T from bytes made by encode_snapshot<T>. Throws snapshot_error on any damage
// (truncation, flipped bits, unknown function, wrong version, hostile lengths, forged
// references); no input can make it touch memory it does not own or leak; subject
// (e.g. "actor \"account/42\"") is named in its message. No length field is trusted beyond the
// bytes that remain (docs/format.md, "Limits and trust", states the allocation bounds).
// Actor references in the graph need resolver (actor_system::restore passes the system's);
// without one, a graph holding one is reported malformed.
template <class T>
T decode_snapshot(std::string_view bytes, std::string subject = {}, detail::actor_resolver* resolver = nullptr) {
  const std::string_view payload = detail::open_snapshot(bytes, subject);
  return detail::decode_payload<T>(payload, snapshot_header_size, std::move(subject), resolver);
}

}  // namespace revenant
