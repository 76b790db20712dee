// The store's key and value encodings (docs/format.md, sections 8.2 and 8.5): the only place
// that builds or parses them. Keys are compared bytewise (RocksDB's default comparator).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace revenant::detail {

// Key of message (or journal entry) seq of actor: the name, a zero byte, seq as 8 bytes
// big-endian, so that one actor's keys are adjacent and sort by seq (section 8.5).
std::string mailbox_key(std::string_view actor, std::uint64_t seq);
// The actor and seq of a mailbox or journal key; false if key is not one (shorter than 10
// bytes, or no zero byte 9 bytes from the end).
bool parse_mailbox_key(std::string_view key, std::string_view& actor, std::uint64_t& seq) noexcept;

// The keys of every entry of actor, mailbox or journal: [name 00, name 01).
struct entry_range {
  std::string from;
  std::string to;
};
entry_range entries_of(std::string_view actor);

// Meta keys (the default column family): the store format version (u32 little-endian) and the
// next sequence number (u64 little-endian).
inline constexpr std::string_view format_key = "format";
inline constexpr std::string_view next_seq_key = "next_seq";
// The head of a migration record (format.md 8.15): a 4-byte magic ("RVMK" marker, "RVMT"
// tombstone, "RVMI" package record), version 1, flags 0, the migration id, a node name, and a
// CRC32C of the head. A package record's package follows the head.
std::string encode_migration_head(std::string_view magic, std::uint64_t id, std::string_view node);
// Decodes a head written with magic; rest is what follows it. Returns why it is damaged, or an
// empty string if it is not.
std::string decode_migration_head(std::string_view value, std::string_view magic, std::uint64_t& id, std::string_view& node,
                                  std::string_view& rest);
// An outbox value (format.md 8.14): u16 LE recipient size, the recipient, then the envelope.
std::string encode_outbox_value(std::string_view recipient, std::string_view envelope);
bool decode_outbox_value(std::string_view value, std::string_view& recipient, std::string_view& envelope) noexcept;
// A key as text for an error message: printable bytes as they are, others as \xNN.
std::string printable_key(std::string_view key);
// A node's identity (format.md 8.1): 16 random bytes, and its incarnation (u64 little-endian).
inline constexpr std::string_view node_id_key = "node_id";
inline constexpr std::string_view incarnation_key = "incarnation";
// The 8 bytes of a next_seq value, and the number they hold (none unless exactly 8 bytes).
std::string encode_next_seq(std::uint64_t next);
std::optional<std::uint64_t> decode_next_seq(std::string_view value) noexcept;
// The 4 bytes of a format value, and the version they hold (none unless exactly 4 bytes).
std::string encode_format_version(std::uint32_t version);
std::optional<std::uint32_t> decode_format_version(std::string_view value) noexcept;

}  // namespace revenant::detail
