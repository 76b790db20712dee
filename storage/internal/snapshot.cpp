#include "storage/snapshot.hpp"

#include <cstdio>
#include <cstring>

#include "storage/internal/crc32c.hpp"

namespace revenant::detail {
namespace {

// Header layout (docs/format.md): all integers little-endian.
constexpr char magic[4] = {'R', 'V', 'N', 'S'};
constexpr std::size_t version_at = 4;         // u16 format version
constexpr std::size_t flags_at = 6;           // u16 flags: 0 but for an envelope's order bit
constexpr std::size_t length_at = 8;          // u64 payload length
constexpr std::size_t payload_crc_at = 16;    // u32 CRC32C of the payload
constexpr std::size_t header_crc_at = 20;     // u32 CRC32C of bytes [0, 20)
static_assert(header_crc_at + 4 == snapshot_header_size);

template <class T>
T load(std::string_view bytes, std::size_t at) {
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}
template <class T>
void store(std::string& bytes, std::size_t at, T v) {
  std::memcpy(bytes.data() + at, &v, sizeof v);
}

std::string hex(std::uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace

void seal_snapshot(std::string& snapshot, std::uint16_t flags) {
  const std::uint64_t length = snapshot.size() - snapshot_header_size;
  std::memcpy(snapshot.data(), magic, sizeof magic);
  store<std::uint16_t>(snapshot, version_at, snapshot_format_version);
  store<std::uint16_t>(snapshot, flags_at, flags);
  store<std::uint64_t>(snapshot, length_at, length);
  store<std::uint32_t>(snapshot, payload_crc_at, crc32c(snapshot.data() + snapshot_header_size, length));
  store<std::uint32_t>(snapshot, header_crc_at, crc32c(snapshot.data(), header_crc_at));
}

std::string_view open_snapshot(std::string_view s, const std::string& subject, std::uint16_t allowed_flags,
                               std::uint16_t* flags_found) {
  auto fail = [&](snapshot_errc code, std::size_t offset, std::string detail) {
    throw snapshot_error(code, offset, std::move(detail), subject);
  };
  if (s.size() < snapshot_header_size)
    fail(snapshot_errc::truncated, s.size(),
         "snapshot is " + std::to_string(s.size()) + " bytes, shorter than its " +
             std::to_string(snapshot_header_size) + "-byte header");
  if (std::memcmp(s.data(), magic, sizeof magic) != 0)
    fail(snapshot_errc::bad_magic, 0, "does not start with the magic bytes \"RVNS\"");
  const auto header_crc = load<std::uint32_t>(s, header_crc_at);
  const auto header_actual = crc32c(s.data(), header_crc_at);
  if (header_crc != header_actual)
    fail(snapshot_errc::checksum_mismatch, header_crc_at,
         "header CRC32C is " + hex(header_actual) + ", header says " + hex(header_crc));
  // The header is intact from here on: its fields are what the writer wrote.
  const auto version = load<std::uint16_t>(s, version_at);
  if (version != snapshot_format_version)
    fail(snapshot_errc::unsupported_version, version_at,
         "format version " + std::to_string(version) + ", this build reads version " +
             std::to_string(snapshot_format_version));
  const auto flags = load<std::uint16_t>(s, flags_at);
  if ((flags & ~allowed_flags) != 0)
    fail(snapshot_errc::malformed, flags_at,
         "flags are " + std::to_string(flags) + ", expected " + (allowed_flags == 0 ? "0" : "0 to " + std::to_string(allowed_flags)));
  if (flags_found != nullptr) *flags_found = flags;
  const auto length = load<std::uint64_t>(s, length_at);
  const std::size_t available = s.size() - snapshot_header_size;
  if (length > available)
    fail(snapshot_errc::truncated, s.size(),
         "payload is " + std::to_string(available) + " bytes, header says " + std::to_string(length));
  if (length < available)
    fail(snapshot_errc::malformed, snapshot_header_size + length,
         std::to_string(available - length) + " bytes follow the " + std::to_string(length) + "-byte payload");
  const std::string_view payload = s.substr(snapshot_header_size);
  const auto payload_crc = load<std::uint32_t>(s, payload_crc_at);
  const auto payload_actual = crc32c(payload.data(), payload.size());
  if (payload_crc != payload_actual)
    fail(snapshot_errc::checksum_mismatch, snapshot_header_size,
         "payload CRC32C is " + hex(payload_actual) + ", header says " + hex(payload_crc));
  return payload;
}

}  // namespace revenant::detail
