// The actor record (docs/format.md 8.3): a checksummed header saying what the actor is doing,
// then its snapshot.
#include <algorithm>
#include <cstring>

#include "storage/internal/crc32c.hpp"
#include "storage/snapshot.hpp"
#include "storage/store.hpp"

namespace revenant {
namespace {


// Actor record header (docs/format.md, "Actor record"): little-endian.
constexpr char record_magic[4] = {'R', 'V', 'N', 'A'};
constexpr std::uint16_t record_version = 2;  // 1 is read too: no order tables
constexpr std::size_t record_fixed = 26;  // up to and including the behavior name's length

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
T get_at(std::string_view bytes, std::size_t at) {
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}

}  // namespace

std::string encode_actor_record(const actor_record_info& info, std::string_view snapshot, std::string_view order) {
  const std::size_t name_length = std::min<std::size_t>(info.behavior.size(), 0xffff);
  std::string out;
  out.reserve(record_fixed + name_length + 4 + snapshot.size() + order.size());
  out.append(record_magic, sizeof record_magic);
  put<std::uint16_t>(out, order.empty() ? 1 : record_version);
  put<std::uint16_t>(out, 0);
  put<std::uint32_t>(out, info.pending_asks);
  put<std::uint32_t>(out, info.timers);
  put<std::uint64_t>(out, info.steps);
  put<std::uint16_t>(out, static_cast<std::uint16_t>(name_length));
  out.append(info.behavior.data(), name_length);
  put<std::uint32_t>(out, detail::crc32c(out.data(), out.size()));
  out.append(snapshot);
  out.append(order);
  return out;
}

actor_record_view decode_actor_record(std::string_view bytes, const std::string& subject) {
  auto fail = [&](snapshot_errc code, std::size_t at, std::string detail) {
    throw snapshot_error(code, at, "actor record: " + std::move(detail), subject);
  };
  if (bytes.size() < record_fixed + 4)
    fail(snapshot_errc::truncated, bytes.size(), "record is " + std::to_string(bytes.size()) + " bytes, shorter than its header");
  if (std::memcmp(bytes.data(), record_magic, sizeof record_magic) != 0)
    fail(snapshot_errc::bad_magic, 0, "does not start with \"RVNA\"");
  const auto name_length = get_at<std::uint16_t>(bytes, 24);
  const std::size_t crc_at = record_fixed + name_length;
  if (bytes.size() < crc_at + 4)
    fail(snapshot_errc::truncated, bytes.size(), "header announces a " + std::to_string(name_length) + "-byte behavior name");
  const auto stored = get_at<std::uint32_t>(bytes, crc_at);
  if (stored != detail::crc32c(bytes.data(), crc_at))
    fail(snapshot_errc::checksum_mismatch, crc_at, "record header CRC32C does not match");
  const auto version = get_at<std::uint16_t>(bytes, 4);
  if (version != 1 && version != record_version)
    fail(snapshot_errc::unsupported_version, 4,
         "record version " + std::to_string(version) + ", this build reads 1 and " + std::to_string(record_version));
  if (const auto flags = get_at<std::uint16_t>(bytes, 6); flags != 0)
    fail(snapshot_errc::malformed, 6, "record flags are " + std::to_string(flags) + ", expected 0");
  actor_record_view view;
  view.pending_asks = get_at<std::uint32_t>(bytes, 8);
  view.timers = get_at<std::uint32_t>(bytes, 12);
  view.steps = get_at<std::uint64_t>(bytes, 16);
  view.behavior = bytes.substr(record_fixed, name_length);
  view.snapshot = bytes.substr(crc_at + 4);
  if (version == 2) {
    // The image snapshot ends where its own header says; the order tables follow.
    const std::string_view rest = view.snapshot;
    if (rest.size() < snapshot_header_size)
      fail(snapshot_errc::truncated, bytes.size(), "a version-2 record ends inside its image snapshot's header");
    const auto length = get_at<std::uint64_t>(rest, 8);
    if (length > rest.size() - snapshot_header_size)
      fail(snapshot_errc::truncated, bytes.size(),
           "the image snapshot announces " + std::to_string(length) + " payload bytes, " +
               std::to_string(rest.size() - snapshot_header_size) + " follow");
    view.snapshot = rest.substr(0, snapshot_header_size + length);
    view.order = rest.substr(snapshot_header_size + length);
    if (view.order.empty())
      fail(snapshot_errc::truncated, bytes.size(), "a version-2 record ends after its image snapshot, before its order tables");
  }
  return view;
}

}  // namespace revenant
