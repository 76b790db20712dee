// libFuzzer target: decode_actor_record (storage/store.hpp), then the actor image its snapshot
// holds and the order tables of a version-2 record, as recovery reads a record from the store.
// Property: any bytes either decode (record, image, timers' envelopes, restart snapshot) or throw
// snapshot_error; an accepted record's view lies inside the input and re-encodes to the same
// bytes; no crash, no sanitizer report, no leak, no allocation sized by a forged length (run
// with -malloc_limit_mb).
// Input: the first byte's bit 0 asks to recompute the record header's CRC32C and bit 1 to
// reframe the snapshot after it (valid header and checksums), so that mutations reach the fields
// behind the checksums; the rest is the record.
#include "fuzz/registrations.hpp"
#include "storage/internal/crc32c.hpp"
#include "runtime/internal/message_order.hpp"
#include "storage/store.hpp"

#include <cstring>

namespace {

constexpr std::size_t record_fixed = 26;  // docs/format.md 8.3: up to the behavior name

std::string as_record(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {};
  std::string record(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (record.size() < record_fixed + 4) return record;
  std::uint16_t name_length;
  std::memcpy(&name_length, record.data() + 24, 2);
  const std::size_t crc_at = record_fixed + name_length;
  if (record.size() < crc_at + 4) return record;
  if ((data[0] & 2) != 0 && record.size() >= crc_at + 4 + revenant::snapshot_header_size) {
    std::string snapshot = record.substr(crc_at + 4);
    revenant::detail::seal_snapshot(snapshot);
    record.replace(crc_at + 4, std::string::npos, snapshot);
  }
  if ((data[0] & 1) != 0) {
    const std::uint32_t crc = revenant::detail::crc32c(record.data(), crc_at);
    std::memcpy(record.data() + crc_at, &crc, 4);
  }
  return record;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string record = as_record(data, size);
  revenant::actor_record_view view;
  try {
    view = revenant::decode_actor_record(record, "actor \"fuzz\"");
  } catch (const revenant::snapshot_error&) {
    return 0;
  }
  const auto inside = [&](std::string_view part) {
    return part.data() >= record.data() && part.data() + part.size() <= record.data() + record.size();
  };
  // A version-1 record has no order tables: an empty view, pointing nowhere.
  if (!inside(view.behavior) || !inside(view.snapshot) || (!view.order.empty() && !inside(view.order)))
    revenant::fuzz::property_broken("a record view points outside the record");
  if (revenant::encode_actor_record(view.info(), view.snapshot, view.order) != record)
    revenant::fuzz::property_broken("an accepted record does not re-encode to the same bytes");
  try {
    revenant::fuzz::exercise_image(view.snapshot);
  } catch (const revenant::snapshot_error&) {
  }
  if (!view.order.empty()) {
    try {
      (void)revenant::decode_snapshot<revenant::detail::order_image>(view.order, "order tables");
    } catch (const revenant::snapshot_error&) {
    }
  }
  return 0;
}
