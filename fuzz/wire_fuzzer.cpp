// libFuzzer target: the wire codec (storage/wire.hpp, docs/wire.md) — the frame reader and every
// frame decoder, on bytes a peer could send.
// Property: any bytes, cut into pieces of any sizes and given to a frame_reader (in place through
// prepare/commit, or copied in with feed), yield exactly the events and the error that the same
// bytes given at once yield, and the only exception is wire_error; the reader's memory stays
// within read_chunk + frame header + its frame limit; every frame decodes by its kind or fails
// with malformed_frame inside its body, and what decodes encodes again to the very same bytes
// (the encoding is canonical); anonymous names round-trip through qualification. No crash, no
// sanitizer report, no leak, no allocation sized by a forged length (run with -malloc_limit_mb).
// The reader speaks every specified version (1 and 2: the migration frames).
// Input: byte 0 bit 0 chooses the reader's side (0: a listener reading a dialer's bytes, 1: a
// dialer reading a listener's), bit 1 how pieces arrive (0: prepare/commit, 1: feed); byte 1
// seeds the piece sizes; the rest is the stream.
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz/property.hpp"
#include "storage/wire.hpp"

namespace {

using namespace revenant::wire;
using revenant::fuzz::property_broken;

// The reader's limit here: the smallest a node may choose, so that forged lengths reach it.
constexpr std::uint32_t limit = lowest_max_frame_size;
// Every version the codec specifies, so that the preface chooses which kinds are known.
constexpr version_range versions{1, highest_specified_version};

struct seen {
  read_status status;
  frame_kind kind;
  std::string body;
  std::uint64_t offset;
  bool operator==(const seen&) const = default;
};

struct outcome {
  std::vector<seen> events;
  bool failed = false;
  wire_errc code{};
  std::uint64_t offset = 0;
};

void check_name(std::string_view name) {
  if (!is_anonymous_name(name)) return;
  const std::string qualified = name_from_peer(name, "a", "b");
  if (home_node(qualified) != "a") property_broken("a qualified anonymous name does not name its node", qualified);
  if (name_for_peer(qualified, "a") != name) property_broken("a qualified name does not strip back to itself", name);
  if (name_from_peer(qualified, "c", "a") != name) property_broken("a qualified name does not come home", name);
}

void check_frame(const frame& f) {
  any_frame decoded;
  try {
    decoded = decode(f);
  } catch (const wire_error& e) {
    if (e.code() != wire_errc::malformed_frame) property_broken("a body failed with another code than malformed_frame");
    const std::uint64_t body_at = f.offset + frame_header_size;
    if (e.offset() < body_at || e.offset() > body_at + f.body.size())
      property_broken("a body error is reported outside the body");
    return;
  }
  std::string again;
  encode(again, decoded);
  if (again.size() != frame_header_size + f.body.size() || std::string_view(again).substr(frame_header_size) != f.body)
    property_broken("a decoded frame does not encode to the same bytes");
  if (body_size(decoded) != f.body.size()) property_broken("body_size differs from the body encode wrote");
  std::visit(
      [](const auto& one) {
        if constexpr (requires { one.recipient; }) check_name(one.recipient);
        if constexpr (requires { one.watcher; }) {
          check_name(one.watcher);
          check_name(one.watched);
        }
      },
      decoded);
}

// Takes every event the reader has; records an error instead of throwing it.
void drain(frame_reader& reader, outcome& out) {
  if (out.failed) return;
  try {
    for (read_event e = reader.next(); e.status != read_status::need_bytes; e = reader.next()) {
      out.events.push_back({e.status, e.got.kind, std::string(e.got.body), e.got.offset});
      if (e.status == read_status::frame) check_frame(e.got);
    }
  } catch (const wire_error& e) {
    out.failed = true;
    out.code = e.code();
    out.offset = e.offset();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const role side = (data[0] & 1) != 0 ? role::dialer : role::listener;
  const bool in_place = (data[0] & 2) == 0;
  std::minstd_rand pieces(data[1] + 1u);
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

  outcome whole;
  {
    frame_reader reader(side, limit, versions);
    reader.feed(stream);
    drain(reader, whole);
  }

  outcome cut;
  frame_reader reader(side, limit, versions);
  const std::size_t bound = frame_reader::read_chunk + frame_header_size + limit;
  std::size_t at = 0;
  while (at < stream.size() && !cut.failed) {
    std::size_t n = 1 + pieces() % 300;
    n = std::min(n, stream.size() - at);
    if (in_place) {
      const std::span<char> room = reader.prepare();
      if (room.size() < frame_reader::read_chunk) property_broken("prepare offered less than a read's worth");
      n = std::min(n, room.size());
      std::memcpy(room.data(), stream.data() + at, n);
      reader.commit(n);
    } else {
      reader.feed(stream.substr(at, n));
    }
    at += n;
    if (reader.buffer_capacity() > bound) property_broken("the reader holds more than a read and a frame");
    drain(reader, cut);
  }

  if (cut.events != whole.events) property_broken("pieces yield other events than the whole stream");
  if (cut.failed != whole.failed || cut.code != whole.code || cut.offset != whole.offset)
    property_broken("pieces end with another error than the whole stream");
  if (whole.failed && whole.offset > stream.size()) property_broken("an error is reported past the bytes received");
  return 0;
}
