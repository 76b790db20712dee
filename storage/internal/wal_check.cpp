#include "storage/internal/wal_check.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

#include "storage/internal/crc32c.hpp"

namespace revenant::detail {
namespace {

// RocksDB's log format (db/log_format.h in its sources; frozen because logs outlive builds).
constexpr std::size_t block_size = 32768;
constexpr std::size_t header_size = 7;             // crc u32, length u16, type u8
constexpr std::size_t recyclable_header_size = 11; // the same and a u32 log number
constexpr std::uint32_t crc_mask_delta = 0xa282ead8u;

enum record_type : std::uint8_t {
  zero = 0,
  full = 1,
  first = 2,
  middle = 3,
  last = 4,
  recyclable_full = 5,
  recyclable_first = 6,
  recyclable_middle = 7,
  recyclable_last = 8,
  set_compression = 9,          // metadata of the log, not a batch
  timestamp_size = 10,          // metadata of the log, not a batch
  recyclable_timestamp_size = 11,
};

std::uint32_t unmask(std::uint32_t masked) noexcept {
  const std::uint32_t rotated = masked - crc_mask_delta;
  return (rotated >> 17) | (rotated << 15);
}

template <class T>
T little_endian_at(std::string_view bytes, std::size_t at) noexcept {
  T v{};
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<T>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return v;
}

// Counts a logical record (one WriteBatch) found intact after the damage.
void count_batch(std::string_view payload, wal_damage& d) noexcept {
  ++d.batches_after;
  if (payload.size() >= 12) d.writes_after += little_endian_at<std::uint32_t>(payload, 8);
}

// Scans one log. With `earlier` (damage found in an earlier log), every intact batch of this
// one is counted into it; otherwise the first damage here starts the count.
std::optional<wal_damage> scan_log(std::string_view bytes, const std::string& file, wal_damage* earlier) {
  std::optional<wal_damage> damage;
  wal_damage* counting = earlier;
  auto note = [&](std::size_t at, std::string what) {
    if (damage || earlier) return;
    damage.emplace();
    damage->file = file;
    damage->offset = at;
    damage->what = std::move(what);
    damage->bytes_after = bytes.size() - at;
    counting = &*damage;
  };
  std::string batch;       // fragments of the logical record being assembled
  bool assembling = false;
  std::size_t pos = 0;
  // After damage the rest of its block cannot be trusted: reading resumes at the next block.
  auto skip_block = [&] {
    pos = (pos / block_size + 1) * block_size;
    batch.clear();
    assembling = false;
  };
  while (pos < bytes.size()) {
    const std::size_t left_in_block = block_size - pos % block_size;
    if (left_in_block < header_size) {  // zero padding up to the next block
      pos += left_in_block;
      continue;
    }
    if (bytes.size() - pos < header_size) break;  // a header cut short by the end: torn tail
    const auto stored_crc = little_endian_at<std::uint32_t>(bytes, pos);
    const auto length = little_endian_at<std::uint16_t>(bytes, pos + 4);
    const auto type = static_cast<std::uint8_t>(bytes[pos + 6]);
    if (type == zero && length == 0) {
      // Preallocated space that was never written. Zero to the end of the file is a torn tail;
      // RocksDB skips the rest of such a block and so does this reader.
      if (std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(pos), bytes.end(), [](char c) { return c == 0; }))
        break;
      skip_block();
      continue;
    }
    const bool recyclable = (type >= recyclable_full && type <= recyclable_last) || type == recyclable_timestamp_size;
    const std::size_t header = recyclable ? recyclable_header_size : header_size;
    if (header + length > left_in_block) {
      if (pos + header + length > bytes.size() && bytes.size() - pos <= left_in_block) break;  // torn tail
      note(pos, "record of " + std::to_string(length) + " bytes runs past the end of its 32 KiB block");
      skip_block();
      continue;
    }
    if (pos + header + length > bytes.size()) break;  // the last record, cut short: torn tail
    // The CRC covers the type byte, the log number of a recyclable record, and the payload.
    const std::uint32_t actual = crc32c(bytes.data() + pos + 6, header - 6 + length);
    if (actual != unmask(stored_crc)) {
      note(pos, "checksum mismatch");
      skip_block();
      continue;
    }
    const std::string_view payload = bytes.substr(pos + header, length);
    const std::size_t at = pos;
    pos += header + length;
    switch (type) {
      case full:
      case recyclable_full:
        if (assembling) note(at, "a full record where the last fragment of a batch was expected");
        assembling = false;
        if (counting) count_batch(payload, *counting);
        break;
      case first:
      case recyclable_first:
        if (assembling) note(at, "a first fragment where the last fragment of a batch was expected");
        batch.assign(payload);
        assembling = true;
        break;
      case middle:
      case recyclable_middle:
        if (!assembling) {
          note(at, "a middle fragment without a first one");
          break;
        }
        batch.append(payload);
        break;
      case last:
      case recyclable_last:
        if (!assembling) {
          note(at, "a last fragment without a first one");
          break;
        }
        batch.append(payload);
        assembling = false;
        if (counting) count_batch(batch, *counting);
        break;
      case set_compression:
      case timestamp_size:
      case recyclable_timestamp_size:
        break;
      default:
        note(at, "unknown record type " + std::to_string(type));
        skip_block();
        break;
    }
  }
  return damage;
}

}  // namespace

std::optional<wal_damage> find_log_damage(std::string_view bytes, const std::string& file) {
  return scan_log(bytes, file, nullptr);
}

std::optional<wal_damage> find_wal_damage(const std::string& directory) {
  namespace fs = std::filesystem;
  std::vector<std::pair<std::uint64_t, fs::path>> logs;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= 4 || !name.ends_with(".log")) continue;
    const std::string number = name.substr(0, name.size() - 4);
    if (number.size() > 19 || !std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    logs.emplace_back(std::stoull(number), entry.path());
  }
  std::sort(logs.begin(), logs.end());
  std::optional<wal_damage> damage;
  for (const auto& [number, path] : logs) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad() || !in.is_open()) {
      if (!damage) {
        damage.emplace();
        damage->file = path.string();
        damage->what = "the file cannot be read";
      }
      continue;
    }
    if (damage) {
      damage->bytes_after += bytes.size();  // a later log: all of it is after the damage
      scan_log(bytes, path.string(), &*damage);
    } else {
      damage = scan_log(bytes, path.string(), nullptr);
    }
  }
  return damage;
}

}  // namespace revenant::detail
