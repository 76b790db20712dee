#include "storage/internal/keys.hpp"

#include <cstring>

namespace revenant::storage_internal {

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

std::string encode_next_seq(std::uint64_t next) {
  std::string bytes(sizeof next, '\0');
  std::memcpy(bytes.data(), &next, sizeof next);  // the host is little-endian (actors/detail/archive.hpp)
  return bytes;
}

}  // namespace revenant::storage_internal
