// libFuzzer target: decode_migration_package (storage/migration.hpp, docs/format.md 8.15), as a
// target reads a package from a migrate_offer frame or its incoming family.
// Property: any bytes either decode or throw snapshot_error; an accepted package re-encodes to
// exactly the same bytes (one encoding per package); no crash, no sanitizer report, no leak, no
// allocation sized by a forged count or length (run with -malloc_limit_mb).
// Input: the first byte's bit 0 asks to recompute the trailing CRC32C, so that mutations reach
// the fields behind the checksum; the rest is the package.
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz/property.hpp"
#include "storage/internal/crc32c.hpp"
#include "storage/migration.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) != 0 && bytes.size() >= 4) {
    const std::uint32_t crc = revenant::detail::crc32c(bytes.data(), bytes.size() - 4);
    std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
  }
  revenant::migration_package p;
  try {
    p = revenant::decode_migration_package(bytes, "fuzzed package");
  } catch (const revenant::snapshot_error&) {
    return 0;
  }
  if (revenant::encode_migration_package(p) != bytes)
    revenant::fuzz::property_broken("an accepted package does not re-encode to its bytes");
  return 0;
}
