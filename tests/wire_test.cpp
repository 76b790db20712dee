// The wire codec (storage/wire.hpp) against docs/wire.md: the worked example byte for byte,
// every kind round-tripped, streams cut anywhere, and hostile bytes — every failure a wire_error
// with its code and stream offset, never a crash or an allocation sized by a forged length.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "storage/wire.hpp"

using namespace revenant;
using namespace revenant::wire;

namespace {

std::string from_hex(std::string_view hex) {
  std::string bytes;
  unsigned value = 0;
  int digits = 0;
  for (char c : hex) {
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (d < 0) continue;
    value = value * 16 + static_cast<unsigned>(d);
    if (++digits == 2) {
      bytes.push_back(static_cast<char>(value));
      value = 0;
      digits = 0;
    }
  }
  return bytes;
}

node_id id_from(std::uint8_t first) {
  node_id id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(first + i);
  return id;
}

// ---- the worked example of docs/wire.md, section 10 (bytes copied from the document) --------

const std::string example_envelope = from_hex(
    "52 56 4e 53 01 00 00 00 37 00 00 00 00 00 00 00  b0 c4 1c dc 00 2a 06 12"
    "0f 00 00 00 00 00 00 00 74 65 73 74 2e 66 6f 72 6d 61 74 2e 61 64 64"
    "00 00 00 00 00 00 00 00"
    "00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00"
    "05 00 00 00 00 00 00 00");

const std::string example_from_a = from_hex(R"(
52 56 4e 57 01 00 01 00  2a 00 00 00 01 01 00 00
00 00 01 10 11 12 13 14  15 16 17 18 19 1a 1b 1c
1d 1e 1f 03 00 00 00 00  00 00 00 04 00 62 61 6e
6b 01 00 61 01 00 62 67  00 00 00 11 2a 00 00 00
00 00 00 00 0a 00 61 63  63 6f 75 6e 74 2f 34 32
4f 00 00 00 52 56 4e 53  01 00 00 00 37 00 00 00
00 00 00 00 b0 c4 1c dc  00 2a 06 12 0f 00 00 00
00 00 00 00 74 65 73 74  2e 66 6f 72 6d 61 74 2e
61 64 64 00 00 00 00 00  00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00  00 00 00 05 00 00 00 00
00 00 00
)");

const std::string example_from_b = from_hex(R"(
52 56 4e 57 01 00 01 00  27 00 00 00 02 00 00 00
01 20 21 22 23 24 25 26  27 28 29 2a 2b 2c 2d 2e
2f 07 00 00 00 00 00 00  00 29 00 00 00 00 00 00
00 01 00 62 08 00 00 00  12 2a 00 00 00 00 00 00
00
)");

hello_frame example_hello() {
  hello_frame h;
  h.version = 1;
  h.max_frame_size = 16u << 20;
  h.id = id_from(0x10);
  h.incarnation = 3;
  h.cluster = "bank";
  h.node = "a";
  h.peer = "b";
  return h;
}

welcome_frame example_welcome() {
  welcome_frame w;
  w.max_frame_size = 16u << 20;
  w.id = id_from(0x20);
  w.incarnation = 7;
  w.inbox_high_water = 41;
  w.node = "b";
  return w;
}

// ---- reading helpers ---------------------------------------------------------------------

// A frame as the reader returned it, copied out so it outlives the reader's buffer.
struct seen {
  read_status status = read_status::need_bytes;
  frame_kind kind{};
  std::string body;
  std::uint64_t offset = 0;
  bool operator==(const seen&) const = default;
};

seen copy(const read_event& e) {
  return {e.status, e.got.kind, std::string(e.got.body), e.got.offset};
}

// Everything the reader yields from what it holds now.
void drain(frame_reader& reader, std::vector<seen>& out) {
  for (read_event e = reader.next(); e.status != read_status::need_bytes; e = reader.next()) out.push_back(copy(e));
}

// Reads stream through prepare()/commit(), in pieces whose sizes come from cut.
std::vector<seen> read_in_place(role side, std::string_view stream, const std::function<std::size_t()>& cut) {
  frame_reader reader(side);
  std::vector<seen> out;
  std::size_t at = 0;
  while (at < stream.size()) {
    const std::span<char> room = reader.prepare();
    const std::size_t n = std::min({cut(), room.size(), stream.size() - at});
    std::memcpy(room.data(), stream.data() + at, n);
    reader.commit(n);
    at += n;
    drain(reader, out);
  }
  return out;
}

std::vector<seen> read_whole(role side, std::string_view stream) {
  frame_reader reader(side);
  reader.feed(stream);
  std::vector<seen> out;
  drain(reader, out);
  return out;
}

// The error reading stream ends with; fails the test if it ends without one.
wire_error read_error(role side, std::string_view stream, std::uint32_t max_frame_size = default_max_frame_size) {
  frame_reader reader(side, max_frame_size);
  reader.feed(stream);
  try {
    std::vector<seen> ignored;
    drain(reader, ignored);
  } catch (const wire_error& e) {
    return e;
  }
  FAIL("the stream was read without a wire_error");
  throw std::logic_error("unreachable");
}

// Streams a listener reads (what a dialer sends) and a dialer reads, up to the handshake.
std::string dialer_opening() {
  std::string s;
  encode_preface(s, version_range{1, 1});
  encode(s, example_hello());
  return s;
}
std::string listener_opening() {
  std::string s;
  encode_preface(s, version_range{1, 1});
  encode(s, example_welcome());
  return s;
}

// One frame of every kind a dialer sends after the handshake, then every kind a listener sends.
std::vector<any_frame> dialer_frames() {
  return {message_frame{"account/42", example_envelope},
          durable_message_frame{42, "account/7", example_envelope},
          send_frame{9, "counter", example_envelope},
          watch_frame{"$17", "account/42"},
          unwatch_frame{"$17", "account/42"},
          down_frame{exit_reason::failed, "$3", "teller", "negative amount -2"},
          ping_frame{0},
          ping_frame{~std::uint64_t{0}},
          goodbye_frame{wire_errc::shutting_down, "stopping"}};
}
std::vector<any_frame> listener_frames() {
  return {ack_frame{42}, send_result_frame{9, send_status::durable, ""},
          send_result_frame{10, send_status::quarantined, "behavior threw"}, pong_frame{77},
          goodbye_frame{wire_errc::connection_replaced, ""}};
}

std::string stream_of(role sender, const std::vector<any_frame>& frames) {
  std::string s = sender == role::dialer ? dialer_opening() : listener_opening();
  for (const any_frame& f : frames) encode(s, f);
  return s;
}

// Reads stream (a preface, the handshake frame, then frames) as side, speaking versions: the
// link chooses version, and every frame comes back equal, sized and encoded as it was sent.
void check_read_back(const std::string& stream, role side, version_range versions, std::uint16_t version,
                     const std::vector<any_frame>& frames) {
  frame_reader reader(side, default_max_frame_size, versions);
  reader.feed(stream);
  REQUIRE(reader.next().status == read_status::preface);
  CHECK(reader.version() == version);
  REQUIRE(reader.next().status == read_status::frame);  // hello or welcome
  for (const any_frame& sent : frames) {
    const read_event e = reader.next();
    REQUIRE(e.status == read_status::frame);
    CHECK(e.got.body.size() == body_size(sent));
    const any_frame got = decode(e.got);
    CHECK(got == sent);
    std::string again;
    encode(again, got);
    CHECK(again.substr(frame_header_size) == e.got.body);
  }
  CHECK(reader.next().status == read_status::need_bytes);
}

// A frame of kind with body, as the reader would return it at offset.
frame raw_frame(frame_kind kind, std::string_view body, std::uint64_t offset = 100) { return {kind, body, offset}; }

// A body built field by field, in the encoding of docs/wire.md, section 5.2.
struct body_writer {
  std::string bytes;
  body_writer& u8(std::uint8_t v) { return raw(&v, 1); }
  body_writer& u16(std::uint16_t v) { return raw(&v, 2); }
  body_writer& u32(std::uint32_t v) { return raw(&v, 4); }
  body_writer& u64(std::uint64_t v) { return raw(&v, 8); }
  body_writer& str16(std::string_view s) {
    u16(static_cast<std::uint16_t>(s.size()));
    bytes.append(s);
    return *this;
  }
  body_writer& raw(const void* p, std::size_t n) {
    bytes.append(static_cast<const char*>(p), n);
    return *this;
  }
};

wire_error decode_error(frame_kind kind, std::string_view body) {
  try {
    decode(raw_frame(kind, body));
  } catch (const wire_error& e) {
    return e;
  }
  FAIL("the body decoded");
  throw std::logic_error("unreachable");
}

}  // namespace

// ---- pinned values -------------------------------------------------------------------------

TEST_CASE("frame kinds, error codes and send statuses have the numbers docs/wire.md pins") {
  const std::pair<frame_kind, int> kinds[] = {
      {frame_kind::hello, 1},  {frame_kind::welcome, 2},          {frame_kind::refuse, 3},   {frame_kind::goodbye, 4},
      {frame_kind::ping, 5},   {frame_kind::pong, 6},             {frame_kind::message, 16}, {frame_kind::durable_message, 17},
      {frame_kind::ack, 18},   {frame_kind::send, 19},            {frame_kind::send_result, 20},
      {frame_kind::watch, 21}, {frame_kind::unwatch, 22},         {frame_kind::down, 23}};
  for (const auto& [kind, number] : kinds) CHECK(static_cast<int>(kind) == number);
  int known = 0;
  for (int k = 0; k < 256; ++k) known += is_known_kind(static_cast<std::uint8_t>(k)) ? 1 : 0;
  CHECK(known == 14);
  CHECK(to_string(frame_kind::durable_message) == "durable_message");

  const std::pair<wire_errc, std::string_view> codes[] = {
      {wire_errc::bad_preface, "bad_preface"},
      {wire_errc::version_unsupported, "version_unsupported"},
      {wire_errc::wrong_cluster, "wrong_cluster"},
      {wire_errc::wrong_node, "wrong_node"},
      {wire_errc::stale_incarnation, "stale_incarnation"},
      {wire_errc::frame_too_large, "frame_too_large"},
      {wire_errc::malformed_frame, "malformed_frame"},
      {wire_errc::unknown_kind, "unknown_kind"},
      {wire_errc::handshake_expected, "handshake_expected"},
      {wire_errc::not_authenticated, "not_authenticated"},
      {wire_errc::shutting_down, "shutting_down"},
      {wire_errc::unexpected_kind, "unexpected_kind"},
      {wire_errc::unknown_node, "unknown_node"},
      {wire_errc::bad_envelope, "bad_envelope"},
      {wire_errc::connection_replaced, "connection_replaced"}, {wire_errc::peer_silent, "peer_silent"}};
  int number = 1;
  for (const auto& [code, name] : codes) {
    CHECK(static_cast<int>(code) == number++);
    CHECK(to_string(code) == name);
  }
  CHECK(to_string(static_cast<wire_errc>(99)) == "unknown");

  const std::pair<send_status, std::string_view> statuses[] = {
      {send_status::durable, "durable"},         {send_status::queued, "queued"},
      {send_status::unknown_actor, "unknown_actor"}, {send_status::unregistered_type, "unregistered_type"},
      {send_status::quarantined, "quarantined"}, {send_status::store_error, "store_error"},
      {send_status::shutting_down, "shutting_down"}, {send_status::mailbox_full, "mailbox_full"},
      {send_status::unconfirmed, "unconfirmed"}};
  number = 1;
  for (const auto& [status, name] : statuses) {
    CHECK(static_cast<int>(status) == number++);
    CHECK(to_string(status) == name);
  }
}

// ---- the worked example --------------------------------------------------------------------

TEST_CASE("the worked example of docs/wire.md is encoded byte for byte") {
  // A version-1 link: its prefaces announce version 1 only.
  std::string from_a;
  encode_preface(from_a, version_range{1, 1});
  encode(from_a, example_hello());
  encode(from_a, durable_message_frame{42, "account/42", example_envelope});
  CHECK(example_envelope.size() == 79);
  CHECK(from_a.size() == 163);
  CHECK(from_a == example_from_a);

  std::string from_b;
  encode_preface(from_b, version_range{1, 1});
  encode(from_b, example_welcome());
  encode(from_b, ack_frame{42});
  CHECK(from_b.size() == 65);
  CHECK(from_b == example_from_b);
}

TEST_CASE("the worked example of docs/wire.md reads back as the frames it describes") {
  frame_reader at_b(role::listener);
  at_b.feed(example_from_a);
  read_event e = at_b.next();
  CHECK(e.status == read_status::preface);
  CHECK(at_b.version() == 1);
  CHECK(at_b.peer_versions() == version_range{1, 1});
  CHECK_FALSE(at_b.handshake_done());
  CHECK(at_b.frame_limit() == handshake_max_frame_size);

  e = at_b.next();
  REQUIRE(e.status == read_status::frame);
  CHECK(e.got.kind == frame_kind::hello);
  CHECK(e.got.offset == 8);
  CHECK(decode_hello(e.got) == example_hello());
  CHECK(at_b.handshake_done());
  CHECK(at_b.frame_limit() == default_max_frame_size);

  e = at_b.next();
  REQUIRE(e.status == read_status::frame);
  CHECK(e.got.offset == 55);
  const durable_message_frame m = decode_durable_message(e.got);
  CHECK(m.seq == 42);
  CHECK(m.recipient == "account/42");
  CHECK(m.envelope == example_envelope);
  // The envelope is a view into the frame, not a copy.
  CHECK(m.envelope.data() == e.got.body.data() + 8 + 2 + 10 + 4);
  CHECK(at_b.next().status == read_status::need_bytes);
  CHECK(at_b.offset() == 163);

  frame_reader at_a(role::dialer);
  at_a.feed(example_from_b);
  CHECK(at_a.next().status == read_status::preface);
  e = at_a.next();
  REQUIRE(e.status == read_status::frame);
  CHECK(decode_welcome(e.got) == example_welcome());
  e = at_a.next();
  REQUIRE(e.status == read_status::frame);
  CHECK(e.got.offset == 52);
  CHECK(decode_ack(e.got).seq == 42);
}

TEST_CASE("the damaged variants of the worked example fail as docs/wire.md says") {
  std::string stream = example_from_a;
  stream[12] = '\x10';
  wire_error e = read_error(role::listener, stream);
  CHECK(e.code() == wire_errc::handshake_expected);
  CHECK(e.offset() == 12);

  stream = example_from_a;
  std::memset(stream.data() + 8, 0xff, 4);
  e = read_error(role::listener, stream.substr(0, 13));  // the header is enough
  CHECK(e.code() == wire_errc::frame_too_large);
  CHECK(e.offset() == 8);

  stream = example_from_a;
  stream[43] = '\x05';
  frame_reader reader(role::listener);
  reader.feed(stream);
  REQUIRE(reader.next().status == read_status::preface);
  const read_event hello = reader.next();
  REQUIRE(hello.status == read_status::frame);
  try {
    decode_hello(hello.got);
    FAIL("a hello whose cluster runs into the next field decoded");
  } catch (const wire_error& err) {
    CHECK(err.code() == wire_errc::malformed_frame);
    CHECK(err.offset() == 43);
    CHECK_THAT(err.what(), Catch::Contains("cluster holds byte 0x01 at position 4"));
  }
}

// ---- round trips ---------------------------------------------------------------------------

TEST_CASE("every frame kind encodes and decodes back to the same fields") {
  const auto check_side = [](role sender, const std::vector<any_frame>& frames) {
    const std::string stream = stream_of(sender, frames);
    const role reading = sender == role::dialer ? role::listener : role::dialer;
    check_read_back(stream, reading, supported_versions, 1, frames);
  };
  check_side(role::dialer, dialer_frames());
  check_side(role::listener, listener_frames());

  // The handshake kinds, and a refuse in place of a welcome.
  CHECK(decode(raw_frame(frame_kind::hello, dialer_opening().substr(8 + 5))) == any_frame(example_hello()));
  std::string refused;
  encode(refused, refuse_frame{wire_errc::wrong_cluster, "cluster \"bank\" is not \"shop\""});
  CHECK(decode_refuse(raw_frame(frame_kind::refuse, std::string_view(refused).substr(5))) ==
        refuse_frame{wire_errc::wrong_cluster, "cluster \"bank\" is not \"shop\""});
}

TEST_CASE("codes and statuses a node does not know are decoded as numbers, not refused") {
  std::string bytes;
  encode(bytes, goodbye_frame{static_cast<wire_errc>(999), "from a later release"});
  CHECK(static_cast<int>(decode_goodbye(raw_frame(frame_kind::goodbye, std::string_view(bytes).substr(5))).code) == 999);
  bytes.clear();
  encode(bytes, send_result_frame{1, static_cast<send_status>(42), ""});
  CHECK(static_cast<int>(decode_send_result(raw_frame(frame_kind::send_result, std::string_view(bytes).substr(5))).status) == 42);
}

// ---- streams cut anywhere ------------------------------------------------------------------

TEST_CASE("a stream split at every byte boundary yields the same frames as the whole stream") {
  for (role sender : {role::dialer, role::listener}) {
    const std::string stream = stream_of(sender, sender == role::dialer ? dialer_frames() : listener_frames());
    const role reading = sender == role::dialer ? role::listener : role::dialer;
    const std::vector<seen> whole = read_whole(reading, stream);
    REQUIRE(whole.size() == 2 + (sender == role::dialer ? dialer_frames() : listener_frames()).size());
    for (std::size_t split = 1; split < stream.size(); ++split) {
      frame_reader reader(reading);
      std::vector<seen> got;
      reader.feed(std::string_view(stream).substr(0, split));
      drain(reader, got);
      reader.feed(std::string_view(stream).substr(split));
      drain(reader, got);
      REQUIRE(got == whole);
    }
  }
}

TEST_CASE("a stream read in place one byte at a time, or in random pieces, yields the same frames") {
  const std::string stream = stream_of(role::dialer, dialer_frames());
  const std::vector<seen> whole = read_whole(role::listener, stream);
  CHECK(read_in_place(role::listener, stream, [] { return std::size_t{1}; }) == whole);
  std::mt19937 random(11);
  for (int round = 0; round < 50; ++round) {
    std::uniform_int_distribution<std::size_t> piece(1, 1 + static_cast<std::size_t>(round) * 7);
    CHECK(read_in_place(role::listener, stream, [&] { return piece(random); }) == whole);
  }
}

TEST_CASE("every prefix of a stream yields only the complete frames in it, and no error") {
  const std::string stream = stream_of(role::dialer, dialer_frames());
  const std::vector<seen> whole = read_whole(role::listener, stream);
  for (std::size_t n = 0; n < stream.size(); ++n) {
    const std::vector<seen> got = read_whole(role::listener, std::string_view(stream).substr(0, n));
    REQUIRE(got.size() <= whole.size());
    REQUIRE(std::equal(got.begin(), got.end(), whole.begin()));
    if (!got.empty() && got.back().status == read_status::frame)
      REQUIRE(got.back().offset + frame_header_size + got.back().body.size() <= n);
  }
}

TEST_CASE("frame bodies stay valid until the next prepare or feed") {
  const std::string stream = stream_of(role::dialer, dialer_frames());
  frame_reader reader(role::listener);
  reader.feed(stream);
  std::vector<std::pair<std::string_view, std::string>> bodies;
  for (read_event e = reader.next(); e.status != read_status::need_bytes; e = reader.next())
    if (e.status == read_status::frame) bodies.emplace_back(e.got.body, std::string(e.got.body));
  for (const auto& [view, copied] : bodies) CHECK(view == copied);
}

// ---- hostile lengths and memory ------------------------------------------------------------

TEST_CASE("a header claiming 4 GiB is refused as frame_too_large after five bytes, allocating nothing for it") {
  std::string stream = dialer_opening();
  const std::uint64_t header_at = stream.size();
  stream += from_hex("ff ff ff ff 10");  // a message of 4 GiB - 1, and nothing of its body
  frame_reader reader(role::listener);
  reader.feed(stream);
  std::vector<seen> got;
  try {
    drain(reader, got);
    FAIL("the header was accepted");
  } catch (const wire_error& e) {
    CHECK(e.code() == wire_errc::frame_too_large);
    CHECK(e.offset() == header_at);
    CHECK_THAT(e.what(), Catch::Contains("a message frame body of 4294967295 bytes exceeds this node's limit of 16777216"));
  }
  CHECK(got.size() == 2);
  CHECK(reader.buffer_capacity() <= frame_reader::read_chunk);
  // Asking for room afterwards does not size it by the forged length either.
  CHECK(reader.prepare().size() <= 2 * frame_reader::read_chunk);
  CHECK(reader.buffer_capacity() <= 2 * frame_reader::read_chunk);
}

TEST_CASE("before the handshake a frame longer than 8 KiB is refused, whatever the node's limit") {
  std::string stream;
  encode_preface(stream);
  stream += from_hex("01 20 00 00 01");  // a hello of 8193 bytes
  const wire_error e = read_error(role::listener, stream);
  CHECK(e.code() == wire_errc::frame_too_large);
  CHECK(e.offset() == 8);
  CHECK_THAT(e.what(), Catch::Contains("limit of 8192 bytes before the handshake"));
}

TEST_CASE("a frame one byte over the node's own limit is refused and one at the limit is read") {
  const std::uint32_t limit = lowest_max_frame_size;
  const std::string envelope_at_limit(limit - (2 + 1 + 4), 'e');  // recipient "x", u32 length
  std::string stream = dialer_opening();
  encode(stream, message_frame{"x", envelope_at_limit});
  frame_reader reader(role::listener, limit);
  reader.feed(stream);
  std::vector<seen> got;
  drain(reader, got);
  REQUIRE(got.size() == 3);
  CHECK(got.back().body.size() == limit);

  std::string over = dialer_opening();
  encode(over, message_frame{"xy", envelope_at_limit});
  const wire_error e = read_error(role::listener, over, limit);
  CHECK(e.code() == wire_errc::frame_too_large);
  CHECK(e.offset() == dialer_opening().size());
}

TEST_CASE("a large frame is read in place: prepare offers room for all of it once its header is in") {
  const std::string big(4u << 20, 'b');
  std::string stream = dialer_opening();
  const std::size_t header_at = stream.size();
  encode(stream, message_frame{"sink", big});
  frame_reader reader(role::listener);
  std::size_t at = 0;
  const auto deliver = [&](std::size_t n) {
    const std::span<char> room = reader.prepare();
    n = std::min({n, room.size(), stream.size() - at});
    std::memcpy(room.data(), stream.data() + at, n);
    reader.commit(n);
    at += n;
  };
  deliver(header_at + frame_header_size + 10);  // the opening, the header, a little of the body
  std::vector<seen> got;
  drain(reader, got);
  CHECK(got.size() == 2);
  const std::size_t rest = stream.size() - at;
  CHECK(reader.prepare().size() >= rest);
  deliver(rest);
  drain(reader, got);
  REQUIRE(got.size() == 3);
  CHECK(decode_message(raw_frame(frame_kind::message, got.back().body)).envelope == big);
  CHECK(reader.buffer_capacity() <= frame_reader::read_chunk + frame_header_size + default_max_frame_size);
  // Once the large frame is consumed, its room is given back.
  reader.prepare();
  CHECK(reader.buffer_capacity() <= 2 * frame_reader::read_chunk);
}

TEST_CASE("the reader's memory stays bounded however the peer's bytes are cut") {
  std::string stream = dialer_opening();
  for (int i = 0; i < 200; ++i) encode(stream, message_frame{"account/" + std::to_string(i), example_envelope});
  encode(stream, message_frame{"big", std::string(300'000, 'x')});
  for (int i = 0; i < 50; ++i) encode(stream, ping_frame{static_cast<std::uint64_t>(i)});
  const std::size_t bound = frame_reader::read_chunk + frame_header_size + default_max_frame_size;
  std::size_t most = 0;
  std::size_t frames = 0;
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{100'000}}) {
    frame_reader reader(role::listener);
    std::vector<seen> got;
    for (std::size_t at = 0; at < stream.size(); at += piece) {
      reader.feed(std::string_view(stream).substr(at, piece));
      most = std::max(most, reader.buffer_capacity());
      drain(reader, got);
    }
    frames = got.size();
    reader.prepare();  // the room of the large frame is given back
    CHECK(reader.buffer_capacity() <= 2 * frame_reader::read_chunk);
  }
  CHECK(frames == 2 + 200 + 1 + 50);
  CHECK(most <= bound);
}

// ---- kinds out of place --------------------------------------------------------------------

TEST_CASE("an unknown frame kind is an error at its kind byte, not skipped") {
  for (int kind : {0, 7, 15, 24, 63, 64, 255}) {
    std::string stream = dialer_opening();
    const std::uint64_t kind_at = stream.size() + 4;
    stream += from_hex("00 00 00 00");
    stream.push_back(static_cast<char>(kind));
    const wire_error e = read_error(role::listener, stream);
    CHECK(e.code() == wire_errc::unknown_kind);
    CHECK(e.offset() == kind_at);
  }
  CHECK_THROWS_AS(decode(raw_frame(static_cast<frame_kind>(99), "")), wire_error);
}

TEST_CASE("a frame other than the handshake's before the handshake is refused as handshake_expected") {
  std::string to_listener;
  encode_preface(to_listener);
  encode(to_listener, message_frame{"account/42", example_envelope});
  wire_error e = read_error(role::listener, to_listener);
  CHECK(e.code() == wire_errc::handshake_expected);
  CHECK(e.offset() == 12);
  CHECK_THAT(e.what(), Catch::Contains("expected hello"));

  std::string to_dialer;
  encode_preface(to_dialer);
  encode(to_dialer, ack_frame{1});
  e = read_error(role::dialer, to_dialer);
  CHECK(e.code() == wire_errc::handshake_expected);

  std::string goodbye_first;
  encode_preface(goodbye_first);
  encode(goodbye_first, goodbye_frame{wire_errc::shutting_down, ""});
  CHECK(read_error(role::listener, goodbye_first).code() == wire_errc::handshake_expected);
}

TEST_CASE("a kind the peer's role does not send, or a second handshake, is refused as unexpected_kind") {
  const auto after_opening = [](role sender, const any_frame& f) {
    std::string s = sender == role::dialer ? dialer_opening() : listener_opening();
    const std::uint64_t kind_at = s.size() + 4;
    encode(s, f);
    const wire_error e = read_error(sender == role::dialer ? role::listener : role::dialer, s);
    CHECK(e.code() == wire_errc::unexpected_kind);
    CHECK(e.offset() == kind_at);
  };
  after_opening(role::dialer, ack_frame{1});
  after_opening(role::dialer, pong_frame{1});
  after_opening(role::dialer, send_result_frame{1, send_status::durable, ""});
  after_opening(role::dialer, example_hello());
  after_opening(role::dialer, refuse_frame{wire_errc::wrong_node, ""});
  after_opening(role::listener, message_frame{"a", "e"});
  after_opening(role::listener, ping_frame{1});
  after_opening(role::listener, down_frame{exit_reason::normal, "a", "b", ""});
  after_opening(role::listener, example_welcome());
}

TEST_CASE("nothing may follow a goodbye or a refuse") {
  std::string s = dialer_opening();
  encode(s, goodbye_frame{wire_errc::shutting_down, "bye"});
  encode(s, ping_frame{1});
  wire_error e = read_error(role::listener, s);
  CHECK(e.code() == wire_errc::unexpected_kind);
  CHECK_THAT(e.what(), Catch::Contains("after the peer's goodbye"));

  std::string r;
  encode_preface(r);
  encode(r, refuse_frame{wire_errc::stale_incarnation, "incarnation 2 is older than 5"});
  encode(r, welcome_frame(example_welcome()));
  e = read_error(role::dialer, r);
  CHECK(e.code() == wire_errc::unexpected_kind);
  CHECK_THAT(e.what(), Catch::Contains("after the peer's refuse"));
}

TEST_CASE("a reader that failed keeps failing with the same error") {
  std::string stream = dialer_opening();
  stream += from_hex("00 00 00 00 63");
  frame_reader reader(role::listener);
  reader.feed(stream);
  std::vector<seen> got;
  CHECK_THROWS_AS(drain(reader, got), wire_error);
  reader.feed(from_hex("08 00 00 00 05 00 00 00 00 00 00 00 00"));
  try {
    reader.next();
    FAIL("the reader went on after an error");
  } catch (const wire_error& e) {
    CHECK(e.code() == wire_errc::unknown_kind);
  }
}

// ---- prefaces and versions -----------------------------------------------------------------

TEST_CASE("a stream that does not start with the preface is refused at its first wrong byte") {
  wire_error e = read_error(role::listener, "G");  // an HTTP request
  CHECK(e.code() == wire_errc::bad_preface);
  CHECK(e.offset() == 0);
  e = read_error(role::listener, from_hex("16 03 01 02 00"));  // a TLS ClientHello on a plaintext port
  CHECK(e.code() == wire_errc::bad_preface);
  CHECK(read_whole(role::listener, "RVN").empty());  // so far so good: wait for more
}

TEST_CASE("a preface announcing an empty or zero version range is refused as bad_preface") {
  for (const char* hex : {"52 56 4e 57 00 00 01 00", "52 56 4e 57 03 00 02 00"}) {
    const wire_error e = read_error(role::dialer, from_hex(hex));
    CHECK(e.code() == wire_errc::bad_preface);
    CHECK(e.offset() == 4);
  }
  std::string out;
  CHECK_THROWS_AS(encode_preface(out, version_range{0, 1}), std::invalid_argument);
  CHECK(out.empty());
}

TEST_CASE("prefaces whose version ranges do not overlap are refused as version_unsupported") {
  std::string later;
  encode_preface(later, version_range{3, 4});
  const wire_error e = read_error(role::listener, later);
  CHECK(e.code() == wire_errc::version_unsupported);
  CHECK(e.offset() == 4);
  CHECK_THAT(e.what(), Catch::Contains("the peer speaks protocol versions 3 to 4, this node 1 to 2"));
}

TEST_CASE("the version chosen is the highest both sides speak") {
  CHECK(negotiate({1, 3}, {2, 5}) == 3);
  CHECK(negotiate({2, 5}, {1, 3}) == 3);
  CHECK(negotiate({1, 1}, {1, 9}) == 1);
  CHECK_THROWS_AS(negotiate({1, 1}, {2, 2}), wire_error);

  std::string range;
  encode_preface(range, version_range{1, 4});
  frame_reader reader(role::dialer);
  reader.feed(range);
  CHECK(reader.next().status == read_status::preface);
  CHECK(reader.version() == 2);  // this build speaks 1 to 2
  CHECK(reader.peer_versions() == version_range{1, 4});
}

// ---- bodies --------------------------------------------------------------------------------

namespace {

// Every truncation of f's body is malformed, reported within what remains of it.
void check_truncations(const any_frame& f) {
  std::string bytes;
  encode(bytes, f);
  const auto kind = static_cast<frame_kind>(bytes[4]);
  const std::string_view body = std::string_view(bytes).substr(frame_header_size);
  for (std::size_t n = 0; n < body.size(); ++n) {
    const wire_error e = decode_error(kind, body.substr(0, n));
    REQUIRE(e.code() == wire_errc::malformed_frame);
    REQUIRE(e.offset() >= 100 + frame_header_size);
    REQUIRE(e.offset() <= 100 + frame_header_size + n);
  }
}

}  // namespace

TEST_CASE("every truncation of every kind's body is malformed, reported at the field that runs short") {
  std::vector<any_frame> all = dialer_frames();
  for (const any_frame& f : listener_frames()) all.push_back(f);
  all.push_back(example_hello());
  all.push_back(example_welcome());
  all.push_back(refuse_frame{wire_errc::unknown_node, "who?"});
  for (const any_frame& f : all) check_truncations(f);
}

TEST_CASE("bytes after a body's last field are malformed, at the first of them") {
  std::string bytes;
  encode(bytes, ping_frame{5});
  bytes.push_back('\0');
  const wire_error e = decode_error(frame_kind::ping, std::string_view(bytes).substr(5));
  CHECK(e.code() == wire_errc::malformed_frame);
  CHECK(e.offset() == 100 + 5 + 8);
  CHECK_THAT(e.what(), Catch::Contains("ping: 1 bytes follow the last field"));
}

TEST_CASE("a length prefix longer than what remains is malformed, before it is used") {
  body_writer w;
  w.str16("account/42").u32(0xfffffff0).raw("abc", 3);
  const wire_error e = decode_error(frame_kind::message, w.bytes);
  CHECK(e.code() == wire_errc::malformed_frame);
  CHECK(e.offset() == 100 + 5 + 12);
  CHECK_THAT(e.what(), Catch::Contains("envelope length 4294967280 exceeds the 3 bytes that remain"));
}

TEST_CASE("names, node names, texts and values out of bounds are malformed at their field") {
  struct forged {
    frame_kind kind;
    std::string body;
    std::size_t field_at;  // in the body
    const char* says;
  };
  const node_id some_id = id_from(1);
  const auto hello_with = [&](std::uint16_t version, std::uint32_t max, const node_id& id, std::uint64_t inc,
                              std::string_view cluster) {
    body_writer w;
    w.u16(version).u32(max).raw(id.data(), id.size()).u64(inc).str16(cluster).str16("a").str16("b");
    return w.bytes;
  };
  const std::vector<forged> cases = {
      {frame_kind::message, body_writer().str16("").u32(0).bytes, 0, "recipient is empty"},
      {frame_kind::message, body_writer().str16(std::string(1025, 'n')).u32(0).bytes, 0,
       "recipient is 1025 bytes, longer than the limit of 1024"},
      {frame_kind::hello, hello_with(1, 16u << 20, some_id, 1, "a@b"), 30, "cluster holds byte 0x40 at position 1"},
      {frame_kind::hello, hello_with(1, 16u << 20, some_id, 1, std::string(256, 'c')), 30,
       "cluster is 256 bytes, longer than the limit of 255"},
      {frame_kind::hello, hello_with(0, 16u << 20, some_id, 1, "c"), 0, "version is 0"},
      {frame_kind::hello, hello_with(1, (64u << 10) - 1, some_id, 1, "c"), 2, "max_frame_size 65535 is outside"},
      {frame_kind::hello, hello_with(1, (1u << 30) + 1, some_id, 1, "c"), 2, "max_frame_size 1073741825 is outside"},
      {frame_kind::hello, hello_with(1, 16u << 20, node_id{}, 1, "c"), 6, "node_id is all zero"},
      {frame_kind::hello, hello_with(1, 16u << 20, some_id, 0, "c"), 22, "incarnation is 0"},
      {frame_kind::durable_message, body_writer().u64(0).str16("a").u32(0).bytes, 0, "seq is 0"},
      {frame_kind::ack, body_writer().u64(0).bytes, 0, "seq is 0"},
      {frame_kind::send, body_writer().u64(0).str16("a").u32(0).bytes, 0, "correlation is 0"},
      {frame_kind::send_result, body_writer().u64(1).u16(0).str16("").bytes, 8, "status is 0"},
      {frame_kind::goodbye, body_writer().u16(0).str16("").bytes, 0, "code is 0"},
      {frame_kind::refuse, body_writer().u16(1).str16(std::string(4097, 't')).bytes, 2,
       "text is 4097 bytes, longer than the limit of 4096"},
      {frame_kind::down, body_writer().u8(4).str16("a").str16("b").str16("").bytes, 0,
       "reason 4 is not an exit_reason"},
      {frame_kind::down, body_writer().u8(0).str16("a").str16("b").str16("").bytes, 0,
       "reason 0 is not an exit_reason"},
      {frame_kind::watch, body_writer().str16("a").str16("").bytes, 3, "watched is empty"},
  };
  for (const forged& c : cases) {
    INFO(c.says);
    const wire_error e = decode_error(c.kind, c.body);
    CHECK(e.code() == wire_errc::malformed_frame);
    CHECK(e.offset() == 100 + 5 + c.field_at);
    CHECK_THAT(e.what(), Catch::Contains(c.says));
  }
}

TEST_CASE("a flipped bit anywhere in a stream is a wire_error or decodes to well-formed frames") {
  for (role sender : {role::dialer, role::listener}) {
    const std::string stream = stream_of(sender, sender == role::dialer ? dialer_frames() : listener_frames());
    const role reading = sender == role::dialer ? role::listener : role::dialer;
    std::size_t refused = 0;
    for (std::size_t bit = 0; bit < stream.size() * 8; ++bit) {
      std::string flipped = stream;
      flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
      frame_reader reader(reading);
      reader.feed(flipped);
      try {
        for (read_event e = reader.next(); e.status != read_status::need_bytes; e = reader.next())
          if (e.status == read_status::frame) {
            std::string again;
            encode(again, decode(e.got));  // what decodes is well-formed: it encodes to the same bytes
            REQUIRE(again.substr(frame_header_size) == e.got.body);
          }
      } catch (const wire_error&) {
        ++refused;
      }
    }
    CHECK(refused > stream.size());  // most flips are caught; none escapes as anything else
  }
}

TEST_CASE("decoding a frame as another kind is a caller's mistake, not bad input") {
  CHECK_THROWS_AS(decode_hello(raw_frame(frame_kind::ping, "")), std::invalid_argument);
}

// ---- encoders ------------------------------------------------------------------------------

TEST_CASE("encoders refuse fields out of bounds and leave the output unchanged") {
  std::string out = "kept";
  CHECK_THROWS_AS(encode(out, message_frame{"", "e"}), std::invalid_argument);
  CHECK_THROWS_AS(encode(out, message_frame{std::string(1025, 'n'), "e"}), std::invalid_argument);
  CHECK_THROWS_AS(encode(out, durable_message_frame{0, "a", "e"}), std::invalid_argument);
  CHECK_THROWS_AS(encode(out, ack_frame{0}), std::invalid_argument);
  hello_frame h = example_hello();
  h.node = "a b";
  CHECK_THROWS_WITH(encode(out, h), Catch::Contains("hello frame: node holds byte 0x20 at position 1"));
  h = example_hello();
  h.id = node_id{};
  CHECK_THROWS_AS(encode(out, h), std::invalid_argument);
  welcome_frame w = example_welcome();
  w.max_frame_size = 1000;
  CHECK_THROWS_AS(encode(out, w), std::invalid_argument);
  CHECK_THROWS_AS(encode(out, down_frame{static_cast<exit_reason>(9), "a", "b", ""}), std::invalid_argument);
  CHECK(out == "kept");
}

TEST_CASE("texts longer than 4096 bytes are cut by the encoder, names never are") {
  std::string out;
  const std::string long_text(5000, 't');
  encode(out, goodbye_frame{wire_errc::shutting_down, long_text});
  const goodbye_frame g = decode_goodbye(raw_frame(frame_kind::goodbye, std::string_view(out).substr(5)));
  CHECK(g.text == long_text.substr(0, max_text_size));
  CHECK(body_size(goodbye_frame{wire_errc::shutting_down, long_text}) == 2 + 2 + max_text_size);
}

TEST_CASE("encoding a message into a string with room for it neither reallocates nor re-encodes the envelope") {
  std::string out;
  out.reserve(1024);
  const char* const before = out.data();
  encode(out, message_frame{"account/42", example_envelope});
  CHECK(out.data() == before);
  CHECK(out.size() == frame_header_size + body_size(message_frame{"account/42", example_envelope}));
  CHECK(out.substr(out.size() - example_envelope.size()) == example_envelope);
}

// ---- the reader's own contract -------------------------------------------------------------

TEST_CASE("a reader refuses a frame limit outside the protocol's range, and a commit beyond what it prepared") {
  CHECK_THROWS_AS(frame_reader(role::dialer, lowest_max_frame_size - 1), std::invalid_argument);
  CHECK_THROWS_AS(frame_reader(role::dialer, highest_max_frame_size + 1), std::invalid_argument);
  frame_reader reader(role::dialer);
  const std::size_t room = reader.prepare().size();
  CHECK(room >= frame_reader::read_chunk);
  CHECK_THROWS_AS(reader.commit(room + 1), std::invalid_argument);
  reader.commit(0);
  CHECK(reader.next().status == read_status::need_bytes);
}

TEST_CASE("a wire_error names its subject, code and offset") {
  const wire_error e(wire_errc::malformed_frame, 1234, "hello: node is empty");
  CHECK(std::string(e.what()) == "wire stream: malformed_frame at offset 1234: hello: node is empty");
  const wire_error named = e.with_subject("node \"b\" (127.0.0.1:7001)");
  CHECK(std::string(named.what()) ==
        "wire stream from node \"b\" (127.0.0.1:7001): malformed_frame at offset 1234: hello: node is empty");
  CHECK(named.code() == wire_errc::malformed_frame);
  CHECK(named.offset() == 1234);
  CHECK(named.subject() == "node \"b\" (127.0.0.1:7001)");
  CHECK(named.detail() == "hello: node is empty");
}

// ---- names across nodes --------------------------------------------------------------------

TEST_CASE("anonymous names are qualified with the node they came from, and lose it when they come home") {
  CHECK(is_anonymous_name("$17"));
  CHECK_FALSE(is_anonymous_name("$"));
  CHECK_FALSE(is_anonymous_name("$17@a"));
  CHECK_FALSE(is_anonymous_name("$1x"));
  CHECK_FALSE(is_anonymous_name("$" + std::string(21, '9')));
  CHECK_FALSE(is_anonymous_name("account/42"));

  CHECK(name_from_peer("$17", "a", "b") == "$17@a");
  CHECK(name_from_peer("$17@c", "a", "b") == "$17@c");  // an actor of a third node
  CHECK(name_from_peer("$17@b", "a", "b") == "$17");    // one of ours, home again
  CHECK(name_from_peer("account/42", "a", "b") == "account/42");
  CHECK(name_from_peer("user@example", "a", "b") == "user@example");  // a plain name with an @
  CHECK(name_from_peer("$x@b", "a", "b") == "$x@b");                  // not a qualified name

  CHECK(name_for_peer("$17@a", "a") == "$17");
  CHECK(name_for_peer("$17@c", "a") == "$17@c");
  CHECK(name_for_peer("account/42", "a") == "account/42");

  CHECK(home_node("$17@node-1.eu") == "node-1.eu");
  CHECK(home_node("$17@") == "");
  CHECK(home_node("$17@a b") == "");
  CHECK(home_node("$17") == "");
  CHECK(home_node("account@a") == "");

  CHECK(is_valid_node_name("node-1.eu_west"));
  CHECK_FALSE(is_valid_node_name(""));
  CHECK_FALSE(is_valid_node_name("a@b"));
  CHECK_FALSE(is_valid_node_name(std::string(256, 'n')));
  CHECK(is_valid_node_name(std::string(255, 'n')));
  // The longest qualified name of a 20-digit id fits in an actor name.
  CHECK(1 + 20 + 1 + max_node_name_size <= max_actor_name_size);
}

// ---- protocol version 2: the migration frames (docs/wire.md 6.6) ------------------------------

namespace {

constexpr version_range both_versions{1, highest_specified_version};

// What a dialer sends up to its hello on a link where both sides speak versions 1 and 2.
std::string dialer_opening_v2() {
  std::string s;
  encode_preface(s, both_versions);
  hello_frame hello = example_hello();
  hello.version = 2;
  encode(s, hello);
  return s;
}
std::string listener_opening_v2() {
  std::string s;
  encode_preface(s, both_versions);
  encode(s, example_welcome());
  return s;
}

std::vector<any_frame> dialer_migration_frames() {
  return {migrate_offer_frame{17, "RVMP package bytes"}, migrate_commit_frame{17, "account/42"},
          migrate_abort_frame{18, "account/43"},          migrate_query_frame{19, "account/44"},
          forwarded_frame{"node-p", "account/42", example_envelope},
          migrate_request_frame{20, "account/45", "node-t", 3},
          migrate_request_frame{21, "account/46", "node-t", 0}};
}
std::vector<any_frame> listener_migration_frames() {
  return {migrate_accept_frame{17, migrate_status::accepted, ""},
          migrate_accept_frame{18, migrate_status::exists, "actor \"account/43\" runs here"},
          migrate_done_frame{17},
          migrate_outcome_frame{19, migrate_outcome::pending},
          moved_frame{"account/42", "node-t"},
          moved_frame{"$17@node-s", "node-s"},
          migrate_result_frame{20, 0, ""},
          migrate_result_frame{21, 5, "the target refused it: it is shutting down"}};
}

}  // namespace

TEST_CASE("the migration frames, statuses and outcomes have the numbers docs/wire.md 6.6 pins") {
  const std::pair<frame_kind, int> kinds[] = {
      {frame_kind::migrate_offer, 64}, {frame_kind::migrate_accept, 65},  {frame_kind::migrate_commit, 66},
      {frame_kind::migrate_done, 67},  {frame_kind::migrate_abort, 68},   {frame_kind::migrate_query, 69},
      {frame_kind::migrate_outcome, 70}, {frame_kind::forwarded, 71},     {frame_kind::moved, 72},
      {frame_kind::migrate_request, 73}, {frame_kind::migrate_result, 74}};
  for (const auto& [kind, number] : kinds) {
    CHECK(static_cast<int>(kind) == number);
    CHECK_FALSE(is_known_kind(static_cast<std::uint8_t>(number), 1));
    CHECK(is_known_kind(static_cast<std::uint8_t>(number), 2));
  }
  int known = 0;
  for (int k = 0; k < 256; ++k) known += is_known_kind(static_cast<std::uint8_t>(k), 2) ? 1 : 0;
  CHECK(known == 14 + 11);
  CHECK(to_string(frame_kind::migrate_outcome) == "migrate_outcome");

  const std::pair<migrate_status, std::string_view> statuses[] = {
      {migrate_status::accepted, "accepted"},       {migrate_status::exists, "exists"},
      {migrate_status::busy, "busy"},               {migrate_status::no_store, "no_store"},
      {migrate_status::store_error, "store_error"}, {migrate_status::shutting_down, "shutting_down"},
      {migrate_status::bad_package, "bad_package"}};
  int number = 1;
  for (const auto& [status, name] : statuses) {
    CHECK(static_cast<int>(status) == number++);
    CHECK(to_string(status) == name);
  }
  CHECK(to_string(migrate_outcome::committed) == "committed");
  CHECK(static_cast<int>(migrate_outcome::committed) == 1);
  CHECK(static_cast<int>(migrate_outcome::aborted) == 2);
  CHECK(static_cast<int>(migrate_outcome::pending) == 3);
  // This build's links speak version 2 (and version 1 with a peer that speaks only that).
  CHECK(supported_versions == version_range{1, 2});
}

TEST_CASE("on a version-2 link every migration frame encodes and decodes back, each from its own role") {
  const auto check_side = [](role sender, const std::vector<any_frame>& frames) {
    std::string stream = sender == role::dialer ? dialer_opening_v2() : listener_opening_v2();
    for (const any_frame& f : frames) encode(stream, f);
    check_read_back(stream, sender == role::dialer ? role::listener : role::dialer, both_versions, 2, frames);
  };
  check_side(role::dialer, dialer_migration_frames());
  check_side(role::listener, listener_migration_frames());
}

TEST_CASE("a migration frame on a version-1 link is an unknown kind; from the wrong role, an unexpected one") {
  for (const any_frame& f : dialer_migration_frames()) {
    std::string stream = dialer_opening();
    const std::uint64_t kind_at = stream.size() + 4;
    encode(stream, f);
    const wire_error e = read_error(role::listener, stream);
    CHECK(e.code() == wire_errc::unknown_kind);
    CHECK(e.offset() == kind_at);
  }
  const auto wrong_role = [](role sender, const any_frame& f) {
    std::string s = sender == role::dialer ? dialer_opening_v2() : listener_opening_v2();
    const std::uint64_t kind_at = s.size() + 4;
    encode(s, f);
    frame_reader reader(sender == role::dialer ? role::listener : role::dialer, default_max_frame_size, both_versions);
    reader.feed(s);
    try {
      for (read_event e = reader.next(); e.status != read_status::need_bytes; e = reader.next()) {
      }
      FAIL("a frame from the wrong role was read");
    } catch (const wire_error& e) {
      CHECK(e.code() == wire_errc::unexpected_kind);
      CHECK(e.offset() == kind_at);
    }
  };
  for (const any_frame& f : listener_migration_frames()) wrong_role(role::dialer, f);
  for (const any_frame& f : dialer_migration_frames()) wrong_role(role::listener, f);
}

TEST_CASE("every truncation of a migration frame is malformed; a zero id or an unknown outcome too") {
  std::vector<any_frame> all = dialer_migration_frames();
  for (const any_frame& f : listener_migration_frames()) all.push_back(f);
  for (const any_frame& f : all) {
    check_truncations(f);
    std::string bytes;
    encode(bytes, f);
    const auto kind = static_cast<frame_kind>(bytes[4]);
    std::string extra(std::string_view(bytes).substr(frame_header_size));
    extra.push_back('x');
    CHECK(decode_error(kind, extra).code() == wire_errc::malformed_frame);
  }
  std::string outcome;
  encode(outcome, migrate_outcome_frame{5, migrate_outcome::committed});
  outcome.back() = 4;
  const wire_error e = decode_error(frame_kind::migrate_outcome, std::string_view(outcome).substr(frame_header_size));
  CHECK(e.code() == wire_errc::malformed_frame);
  CHECK(e.offset() == 100 + frame_header_size + 8);
  CHECK_THAT(e.what(), Catch::Contains("not a migration outcome"));
  CHECK_THROWS_AS(encode(outcome, migrate_done_frame{0}), std::invalid_argument);
  CHECK_THROWS_AS(encode(outcome, forwarded_frame{"bad node", "a", "e"}), std::invalid_argument);
  CHECK_THROWS_AS(encode(outcome, migrate_commit_frame{1, ""}), std::invalid_argument);
  CHECK_THROWS_AS(encode(outcome, migrate_request_frame{0, "a", "t", 1}), std::invalid_argument);
  CHECK_THROWS_AS(encode(outcome, migrate_request_frame{1, "a", "bad node", 1}), std::invalid_argument);
  CHECK_THROWS_AS(encode(outcome, migrate_result_frame{0, 0, ""}), std::invalid_argument);
}
