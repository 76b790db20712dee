// The migration package: a durable actor's store rows as one checksummed unit that moves from
// one node to another (docs/format.md 8.15, docs/migration.md). Part of the codec library: it
// needs no database, so a transport can carry and check it.
//
// Thread-safety: every call is independent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actors/snapshot_error.hpp"

namespace revenant {

// One journal or mailbox entry of a package: its sequence number (the source's in an offer,
// the target's once stored there) and its envelope (docs/format.md 8.6), carried as bytes.
struct package_entry {
  std::uint64_t seq = 0;
  std::string envelope;

  friend bool operator==(const package_entry&, const package_entry&) = default;
};

// What moves with an actor: its name, its record (docs/format.md 8.3) byte for byte, whether
// it had a wake entry, and its journal and mailbox in order.
struct migration_package {
  std::string actor;
  bool wake = false;
  std::string record;
  std::vector<package_entry> journal;
  std::vector<package_entry> mailbox;

  friend bool operator==(const migration_package&, const migration_package&) = default;
};

// Encodes p. Throws std::invalid_argument if it cannot be a valid package: an actor name that
// is empty, longer than 65,535 bytes or holds a 00 byte; a record shorter than a record header
// (30 bytes) or longer than 4 GiB; an entry of seq 0 or out of order; an envelope over 4 GiB.
std::string encode_migration_package(const migration_package& p);

// Decodes and checks a package (docs/format.md 8.15, the checks in their order). Throws
// snapshot_error naming subject, with the offset of the first failure; allocates nothing a
// length field announces before checking it against the bytes that remain. The record and the
// envelopes are not decoded here (activation checks them, as recovery does).
migration_package decode_migration_package(std::string_view bytes, const std::string& subject = {});

}  // namespace revenant
