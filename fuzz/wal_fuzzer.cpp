// libFuzzer target: the write-ahead log reader (storage/internal/wal_check.hpp), which reads
// RocksDB's log files when a store refuses to open or accepts a loss.
// Property: any bytes are scanned without a crash, a sanitizer report or a read past them; a
// reported damage lies inside the bytes and what it counts after itself fits in them; and a log
// written by the format's rules (first input byte 1: the rest cut into batches and framed by
// the writer below, as RocksDB frames them) is never reported damaged, even cut short at any
// point (a torn tail). Input byte 0 != 1: the rest is taken as a stored log.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/property.hpp"
#include "storage/internal/crc32c.hpp"
#include "storage/internal/wal_check.hpp"

namespace {

constexpr std::size_t block_size = 32768;
constexpr std::size_t header_size = 7;

void put_fragment(std::string& log, std::uint8_t type, std::string_view payload) {
  std::uint32_t crc = revenant::detail::crc32c(&type, 1);
  crc = revenant::detail::crc32c(payload.data(), payload.size(), crc);
  const std::uint32_t masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
  for (int i = 0; i < 4; ++i) log.push_back(static_cast<char>((masked >> (8 * i)) & 0xff));
  log.push_back(static_cast<char>(payload.size() & 0xff));
  log.push_back(static_cast<char>((payload.size() >> 8) & 0xff));
  log.push_back(static_cast<char>(type));
  log.append(payload);
}

// Appends one batch as RocksDB's log writer does: zero padding where no header fits, and a
// full record, or a first, middles and a last fragment across blocks.
void put_batch(std::string& log, std::string_view batch) {
  bool first = true;
  do {
    std::size_t left = block_size - log.size() % block_size;
    if (left < header_size) {
      log.append(left, '\0');
      left = block_size;
    }
    const std::size_t room = left - header_size;
    const std::size_t n = std::min(room, batch.size());
    const bool last = n == batch.size();
    const std::uint8_t type = first && last ? 1 : first ? 2 : last ? 4 : 3;
    put_fragment(log, type, batch.substr(0, n));
    batch.remove_prefix(n);
    first = false;
  } while (!batch.empty());
}

void check(const std::string& bytes) {
  const auto damage = revenant::detail::find_log_damage(bytes, "fuzz.log");
  if (!damage) return;
  if (damage->offset >= bytes.size()) revenant::fuzz::property_broken("damage reported past the end of the log");
  if (damage->bytes_after != bytes.size() - damage->offset)
    revenant::fuzz::property_broken("bytes after the damage do not add up");
  if (damage->batches_after * header_size > damage->bytes_after)
    revenant::fuzz::property_broken("more batches after the damage than its bytes can hold");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] != 1) {
    check(std::string(rest));
    return 0;
  }
  // Batches of the lengths the input's bytes say (up to about 1 MiB of log: the target's own
  // allocations stay under the malloc limit), crossing block boundaries.
  std::string log;
  for (std::size_t i = 0; i < rest.size() && log.size() < (std::size_t{1} << 20); ++i) {
    const std::size_t length = 1 + static_cast<unsigned char>(rest[i]) * 97;
    put_batch(log, std::string(length, rest[i]));
  }
  if (auto damage = revenant::detail::find_log_damage(log, "fuzz.log"))
    revenant::fuzz::property_broken("a well-formed log was reported damaged:", damage->what);
  for (std::size_t cut = 0; cut < log.size(); cut += 1 + log.size() / 64)
    if (auto damage = revenant::detail::find_log_damage(std::string_view(log).substr(0, cut), "fuzz.log"))
      revenant::fuzz::property_broken("a torn tail was reported damaged:", damage->what);
  return 0;
}
