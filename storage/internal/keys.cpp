#include "storage/internal/keys.hpp"

#include <cstring>

#include "storage/internal/crc32c.hpp"
#include "storage/wire.hpp"

namespace revenant::detail {

std::string mailbox_key(std::string_view actor, std::uint64_t seq) {
  std::string key;
  key.reserve(actor.size() + 9);
  key.append(actor);
  key.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((seq >> shift) & 0xff));
  return key;
}

bool parse_mailbox_key(std::string_view key, std::string_view& actor, std::uint64_t& seq) noexcept {
  // At least one byte of name: no actor is named "" (spawn_durable refuses it).
  if (key.size() < 10 || key[key.size() - 9] != '\0') return false;
  actor = key.substr(0, key.size() - 9);
  seq = 0;
  for (std::size_t i = key.size() - 8; i < key.size(); ++i) seq = (seq << 8) | static_cast<unsigned char>(key[i]);
  return true;
}

entry_range entries_of(std::string_view actor) {
  entry_range range{std::string(actor), std::string(actor)};
  range.from.push_back('\0');
  range.to.push_back('\1');
  return range;
}

namespace {

// Integers in meta values are little-endian, as the host is (actors/detail/archive.hpp checks).
template <class T>
std::string encode_le(T v) {
  std::string bytes(sizeof v, '\0');
  std::memcpy(bytes.data(), &v, sizeof v);
  return bytes;
}
template <class T>
std::optional<T> decode_le(std::string_view bytes) noexcept {
  if (bytes.size() != sizeof(T)) return std::nullopt;
  T v;
  std::memcpy(&v, bytes.data(), sizeof v);
  return v;
}

}  // namespace

std::string encode_next_seq(std::uint64_t next) { return encode_le(next); }

std::string encode_outbox_value(std::string_view recipient, std::string_view envelope) {
  std::string out = encode_le(static_cast<std::uint16_t>(recipient.size()));
  out.reserve(2 + recipient.size() + envelope.size());
  out.append(recipient);
  out.append(envelope);
  return out;
}

bool decode_outbox_value(std::string_view value, std::string_view& recipient, std::string_view& envelope) noexcept {
  const std::optional<std::uint16_t> size = value.size() >= 2 ? decode_le<std::uint16_t>(value.substr(0, 2)) : std::nullopt;
  if (!size || *size == 0 || *size > wire::max_actor_name_size || value.size() - 2 < *size) return false;
  recipient = value.substr(2, *size);
  envelope = value.substr(2 + *size);
  return true;
}

std::string encode_migration_head(std::string_view magic, std::uint64_t id, std::string_view node) {
  std::string out(magic);
  out += encode_le(std::uint16_t{1});
  out += encode_le(std::uint16_t{0});
  out += encode_le(id);
  out += static_cast<char>(static_cast<std::uint8_t>(node.size()));
  out.append(node);
  out += encode_le(crc32c(out.data(), out.size()));
  return out;
}

std::string decode_migration_head(std::string_view value, std::string_view magic, std::uint64_t& id, std::string_view& node,
                                  std::string_view& rest) {
  constexpr std::size_t fixed = 4 + 2 + 2 + 8 + 1;  // up to and including the node name's length
  if (value.size() < fixed + 4) return "it is " + std::to_string(value.size()) + " bytes, shorter than its head";
  if (value.substr(0, 4) != magic) return "it does not start with \"" + std::string(magic) + "\"";
  const std::size_t crc_at = fixed + static_cast<std::uint8_t>(value[fixed - 1]);
  if (value.size() < crc_at + 4) return "it ends inside its node name";
  if (decode_le<std::uint32_t>(value.substr(crc_at, 4)) != crc32c(value.data(), crc_at)) return "its CRC32C does not match";
  if (decode_le<std::uint16_t>(value.substr(4, 2)) != 1) return "its version is not 1";
  if (decode_le<std::uint16_t>(value.substr(6, 2)) != 0) return "its flags are not 0";
  id = *decode_le<std::uint64_t>(value.substr(8, 8));
  if (id == 0) return "its migration id is 0";
  node = value.substr(fixed, crc_at - fixed);
  if (!wire::is_valid_node_name(node)) return "its node name is not a node name";
  rest = value.substr(crc_at + 4);
  return {};
}

std::string printable_key(std::string_view key) {
  std::string out = "\"";
  for (unsigned char c : key) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + "\"";
}
std::optional<std::uint64_t> decode_next_seq(std::string_view value) noexcept { return decode_le<std::uint64_t>(value); }
std::string encode_format_version(std::uint32_t version) { return encode_le(version); }
std::optional<std::uint32_t> decode_format_version(std::string_view value) noexcept {
  return decode_le<std::uint32_t>(value);
}

}  // namespace revenant::detail
