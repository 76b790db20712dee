// Envelopes: one message as bytes, for durable mailboxes. Layout in docs/format.md, "Envelope".
//
// Thread-safety: like the snapshot codec, every call is independent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "actors/message.hpp"
#include "actors/message_type.hpp"
#include "storage/snapshot.hpp"

namespace revenant {

// Encodes m's registered type name, its sender's name (empty: none), its ask fields, its order
// number (if nonzero) and its value, framed as a snapshot (checksummed). Throws std::logic_error if m's type is not
// registered (message_type<T>), naming the type; rethrows what the value's serialize throws.
// Actor references in the value are written as resolver names them (null: their own names).
std::string encode_envelope(const message& m, std::string_view sender, detail::actor_resolver* resolver = nullptr);

// The fields of an envelope in front of its value.
struct envelope_header {
  std::string type;    // registered message type name
  std::string sender;  // empty: sent from outside the system
  std::uint64_t request_id = 0;
  std::uint64_t response_to = 0;
  std::uint64_t order = 0;  // nonzero: the sender's number for this message (docs/migration.md 9)
};

// A decoded envelope: the message (request_id, response_to and order set, sender not: the caller
// resolves header.sender) and its header.
struct decoded_envelope {
  message_ptr value;
  envelope_header header;
};

// Decodes an envelope. Values holding actor_refs need resolver (the actor system's). Throws
// snapshot_error naming subject: unknown_type for an unregistered type name, and the snapshot
// codec's errors for damaged bytes.
decoded_envelope decode_envelope(std::string_view bytes, std::string subject = {},
                                 detail::actor_resolver* resolver = nullptr);

// Reads only the header (no value decoded, no registration needed). Throws snapshot_error.
envelope_header peek_envelope(std::string_view bytes, std::string subject = {});

}  // namespace revenant
