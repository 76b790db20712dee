// Store and record formats checked against docs/format.md ("Store layout"): every byte these
// tests build by hand comes from the spec, not from the code under test, so a change to the
// layout fails here before it reaches anyone's store.
#include <catch2/catch.hpp>

#include <rocksdb/comparator.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/internal/access.hpp"
#include "actors/actor.hpp"
#include "actors/message_type.hpp"
#include "runtime/actor_system.hpp"
#include "storage/envelope.hpp"
#include "storage/internal/crc32c.hpp"
#include "storage/internal/keys.hpp"
#include "storage/snapshot.hpp"
#include "storage/store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/raw_store.hpp"

using namespace revenant;
using namespace revenant::test;
using namespace std::chrono_literals;

namespace {

// ---- messages and the counter of the worked example (docs/format.md, section 8.12) -----------

struct add {
  std::int64_t n = 0;
  template <class A>
  void serialize(A& a) {
    a(n);
  }
};
struct ring {
  template <class A>
  void serialize(A&) {}
};
struct never_registered {
  std::int64_t n = 0;
  template <class A>
  void serialize(A& a) {
    a(n);
  }
};
const message_type<add> add_type{"test.format.add"};
const message_type<ring> ring_type{"test.format.ring"};

struct tally {
  std::int64_t total = 0;
  std::int64_t messages = 0;
  template <class A>
  void serialize(A& a) {
    a(total, messages);
  }
};
// Adds n to its total and counts the adds.
void counter_body(context&, const message& m, const std::shared_ptr<tally>& t) {
  if (const auto* a = m.get_if<add>()) {
    t->total += a->n;
    ++t->messages;
  }
}
const revenant::function<void(context&, const message&), counter_body> counter_fn{"test.format.counter"};

// add{-1} arms a one-hour timer, add{0} cancels it (the timer's id is kept in the tally's total).
void alarm_body(context& ctx, const message& m, const std::shared_ptr<tally>& t) {
  if (const auto* a = m.get_if<add>()) {
    if (a->n < 0) t->total = static_cast<std::int64_t>(ctx.after(1h, ring{}));
    if (a->n == 0) ctx.cancel(static_cast<timer_id>(t->total));
  }
}
const revenant::function<void(context&, const message&), alarm_body> alarm_fn{"test.format.alarm"};

// ---- bytes as the spec describes them ---------------------------------------------------------

// Builds byte strings field by field: integers little-endian unless said otherwise.
struct bytes_writer {
  std::string bytes;
  bytes_writer& u8(std::uint8_t v) { return raw(&v, 1); }
  bytes_writer& u16(std::uint16_t v) { return raw(&v, 2); }
  bytes_writer& u32(std::uint32_t v) { return raw(&v, 4); }
  bytes_writer& u64(std::uint64_t v) { return raw(&v, 8); }
  bytes_writer& u64_be(std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((v >> shift) & 0xff));
    return *this;
  }
  bytes_writer& str(std::string_view s) {  // a Cereal string: u64 size tag, then the bytes
    u64(s.size());
    return raw(s.data(), s.size());
  }
  bytes_writer& raw(const void* p, std::size_t n) {
    bytes.append(static_cast<const char*>(p), n);
    return *this;
  }
  bytes_writer& raw(std::string_view s) { return raw(s.data(), s.size()); }
};

// "52 56 4e 41 ..." as bytes.
std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i < hex.size();) {
    if (hex[i] == ' ' || hex[i] == '\n') {
      ++i;
      continue;
    }
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

std::uint64_t u64_at(std::string_view bytes, std::size_t at) {
  std::uint64_t v;
  std::memcpy(&v, bytes.data() + at, 8);
  return v;
}

// The actor record header of section 8.3, from its fields.
std::string record_header(std::uint16_t version, std::uint32_t pending_asks, std::uint32_t timers, std::uint64_t steps,
                          std::string_view behavior) {
  bytes_writer w;
  w.raw("RVNA").u16(version).u16(0).u32(pending_asks).u32(timers).u64(steps);
  w.u16(static_cast<std::uint16_t>(behavior.size())).raw(behavior);
  w.u32(detail::crc32c(w.bytes.data(), w.bytes.size()));  // CRC32C of [0, 26 + n)
  return w.bytes;
}

// A payload wrapped in a format-1 snapshot header (section 2).
std::string sealed(const std::string& payload) {
  std::string snapshot(snapshot_header_size, '\0');
  snapshot += payload;
  detail::seal_snapshot(snapshot);
  return snapshot;
}

// The envelope payload of section 8.6, up to the value.
bytes_writer envelope_fields(std::string_view type, std::string_view sender, std::uint64_t request,
                             std::uint64_t response_to) {
  bytes_writer w;
  w.str(type).str(sender).u64(request).u64(response_to);
  return w;
}

snapshot_error record_error(std::string_view bytes, const std::string& subject = "actor \"account/42\"") {
  try {
    (void)decode_actor_record(bytes, subject);
  } catch (const snapshot_error& e) {
    return e;
  }
  FAIL("decode_actor_record accepted a damaged record");
  throw std::logic_error("unreachable");
}

snapshot_error envelope_error(std::string_view bytes, const std::string& subject = "test envelope") {
  try {
    (void)decode_envelope(bytes, subject);
  } catch (const snapshot_error& e) {
    return e;
  }
  FAIL("decode_envelope accepted a damaged envelope");
  throw std::logic_error("unreachable");
}

// ---- stores ------------------------------------------------------------------------------------

durable_config store_at(const std::string& path) {
  durable_config c;
  c.path = path;
  return c;
}

// The worked example of section 8.12: "account/42", a counter that has handled add{5}.
void write_worked_example(const std::string& path) {
  actor_system system(store_at(path), actor_system_config{1});
  system.spawn_durable("account/42", counter_fn.bind(std::make_shared<tally>()));
  system.send("account/42", add{5}).get();
  system.shutdown(shutdown_policy::drain);
}

// The record docs/format.md shows in section 8.12, as the runtime writes it.
const std::string worked_example_record = from_hex(R"(
52 56 4e 41 01 00 00 00 00 00 00 00 00 00 00 00
02 00 00 00 00 00 00 00 13 00 74 65 73 74 2e 66
6f 72 6d 61 74 2e 63 6f 75 6e 74 65 72 5e 29 70
a0 52 56 4e 53 01 00 00 00 74 00 00 00 00 00 00
00 b9 54 c7 9e 9d 3e 15 c7 01 00 00 00 00 00 00
00 13 00 00 00 00 00 00 00 74 65 73 74 2e 66 6f
72 6d 61 74 2e 63 6f 75 6e 74 65 72 01 00 00 00
01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 01 00 00 80 05 00 00
00 00 00 00 00 01 00 00 00 00 00 00 00
)");

// The envelope of add{5} sent from outside, as section 8.12 shows it.
const std::string worked_example_envelope = from_hex(R"(
52 56 4e 53 01 00 00 00 37 00 00 00 00 00 00 00
b0 c4 1c dc 00 2a 06 12 0f 00 00 00 00 00 00 00
74 65 73 74 2e 66 6f 72 6d 61 74 2e 61 64 64 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 05 00 00 00 00 00 00 00
)");

}  // namespace

// ---- actor records ---------------------------------------------------------------------------

TEST_CASE("an actor record header built from the spec decodes to its fields", "[format]") {
  const std::string bytes = record_header(1, 3, 2, 77, "bank.account") + "snapshot bytes";
  const actor_record_view view = decode_actor_record(bytes, "actor \"account/42\"");
  CHECK(view.behavior == "bank.account");
  CHECK(view.pending_asks == 3);
  CHECK(view.timers == 2);
  CHECK(view.steps == 77);
  CHECK(view.snapshot == "snapshot bytes");  // everything after the header CRC
  CHECK(bytes.size() == 30 + 12 + 14);
}

TEST_CASE("encode_actor_record writes exactly the header the spec describes", "[format]") {
  actor_record_info info;
  info.behavior = "test.format.counter";
  info.pending_asks = 1;
  info.timers = 2;
  info.steps = 7;
  CHECK(encode_actor_record(info, "SNAP") == record_header(1, 1, 2, 7, "test.format.counter") + "SNAP");
  // An empty behavior name (an empty behavior) is a zero length and no bytes.
  CHECK(encode_actor_record(actor_record_info{}, "") == record_header(1, 0, 0, 0, ""));
  CHECK(record_header(1, 0, 0, 0, "").size() == 30);
}

TEST_CASE("every truncation of a record header is reported as truncated, at the input size", "[format]") {
  const std::string header = record_header(1, 0, 1, 9, "test.format.counter");
  for (std::size_t length = 0; length < header.size(); ++length) {
    const snapshot_error e = record_error(std::string_view(header).substr(0, length));
    INFO("length " << length << ": " << e.what());
    REQUIRE(e.code() == snapshot_errc::truncated);
    REQUIRE(e.offset() == length);
  }
  // A name length that runs past the end: truncated, not a read beyond the value.
  std::string long_name = record_header(1, 0, 0, 0, "x");
  long_name[24] = static_cast<char>(0xff);
  long_name[25] = static_cast<char>(0xff);
  const snapshot_error e = record_error(long_name);
  CHECK(e.code() == snapshot_errc::truncated);
  CHECK(e.offset() == long_name.size());
}

TEST_CASE("a record header is checked in the documented order: magic, CRC, version", "[format]") {
  const std::string good = record_header(1, 0, 0, 1, "test.format.counter") + "rest";
  SECTION("another magic is bad_magic at offset 0, naming the actor") {
    std::string bytes = good;
    bytes[3] = 'S';  // "RVNS": a bare snapshot is not a record
    const snapshot_error e = record_error(bytes);
    CHECK(e.code() == snapshot_errc::bad_magic);
    CHECK(e.offset() == 0);
    CHECK(e.subject() == "actor \"account/42\"");
    CHECK(std::string(e.what()).find("account/42") != std::string::npos);
  }
  SECTION("a damaged field is checksum_mismatch at the CRC's offset, 26 + name length") {
    std::string bytes = good;
    bytes[16] ^= 1;  // steps
    const snapshot_error e = record_error(bytes);
    CHECK(e.code() == snapshot_errc::checksum_mismatch);
    CHECK(e.offset() == 26 + 19);
  }
  SECTION("version 3 with a correct CRC is unsupported_version at offset 4") {
    const snapshot_error e = record_error(record_header(3, 0, 0, 1, "test.format.counter") + "rest");
    CHECK(e.code() == snapshot_errc::unsupported_version);
    CHECK(e.offset() == 4);
  }
  SECTION("version 3 with a stale CRC is a checksum mismatch first") {
    std::string bytes = good;
    bytes[4] = 3;
    CHECK(record_error(bytes).code() == snapshot_errc::checksum_mismatch);
  }
  SECTION("the snapshot after the header is not covered by the header CRC") {
    std::string bytes = good;
    bytes.back() ^= 0x20;
    CHECK(decode_actor_record(bytes, "x").snapshot == "resT");
  }
}

TEST_CASE("a version-2 record splits after the image snapshot's length; the order tables follow", "[format]") {
  const std::string image = sealed("IMAGE");
  const std::string order = sealed("ORDER");
  const std::string bytes = record_header(2, 0, 0, 5, "test.format.counter") + image + order;
  const actor_record_view view = decode_actor_record(bytes, "x");
  CHECK(view.snapshot == image);
  CHECK(view.order == order);
  // encode_actor_record writes version 2 exactly when it is given order tables.
  actor_record_info info;
  info.behavior = "test.format.counter";
  info.steps = 5;
  CHECK(encode_actor_record(info, image, order) == bytes);
  CHECK(encode_actor_record(info, image) == record_header(1, 0, 0, 5, "test.format.counter") + image);
  CHECK(decode_actor_record(record_header(1, 0, 0, 5, "b") + image, "x").order.empty());
  // Version 2 with no order tables after the image: truncated.
  const std::string no_order = record_header(2, 0, 0, 5, "b") + image;
  CHECK(record_error(no_order).code() == snapshot_errc::truncated);
  CHECK(record_error(no_order).offset() == no_order.size());
  // Cut inside the image snapshot's header, or inside its payload: truncated, at the input size.
  for (const std::size_t cut : {std::size_t{3}, std::size_t{23}, std::size_t{24}, image.size() - 1}) {
    const std::string shorter = record_header(2, 0, 0, 5, "b") + image.substr(0, cut);
    const snapshot_error e = record_error(shorter);
    INFO("cut at " << cut << ": " << e.what());
    CHECK(e.code() == snapshot_errc::truncated);
    CHECK(e.offset() == shorter.size());
  }
}

TEST_CASE("a flipped bit in a record header is never accepted", "[format]") {
  const std::string good = record_header(1, 2, 3, 4, "test.format.counter");
  for (std::size_t at = 0; at < good.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bytes = good;
      bytes[at] = static_cast<char>(bytes[at] ^ (1 << bit));
      const snapshot_error e = record_error(bytes);
      INFO("byte " << at << " bit " << bit << ": " << e.what());
      REQUIRE((e.code() == snapshot_errc::bad_magic || e.code() == snapshot_errc::checksum_mismatch ||
               e.code() == snapshot_errc::truncated));
    }
  }
}

TEST_CASE("the worked example's record is, byte for byte, what the runtime writes", "[format]") {
  temp_dir dir;
  write_worked_example(dir.path("store"));
  raw_store db(dir.path("store"));
  const auto record = db.get("actors", "account/42");
  REQUIRE(record);
  CHECK(*record == worked_example_record);

  // Its parts, at the documented offsets.
  const actor_record_view view = decode_actor_record(*record, "actor \"account/42\"");
  CHECK(view.behavior == "test.format.counter");
  CHECK(view.steps == 2);  // spawn, then the step that handled add{5}
  CHECK(view.snapshot.size() == 24 + 116);
  CHECK(view.snapshot.data() == record->data() + 30 + 19);
  CHECK(u64_at(*record, record->size() - 16) == 5);  // the tally, the last node's contents
  CHECK(u64_at(*record, record->size() - 8) == 1);

  // The one message took seq 1; its entry is gone (consumed), next_seq is 2.
  CHECK(db.get("default", "format") == std::string("\x03\x00\x00\x00", 4));
  CHECK(db.get("default", "next_seq") == std::string("\x02\x00\x00\x00\x00\x00\x00\x00", 8));
  CHECK(db.keys("mailbox").empty());
  CHECK(db.keys("wake").empty());
  CHECK(db.keys("quarantine").empty());
}

// ---- mailbox keys ------------------------------------------------------------------------------

TEST_CASE("a mailbox key is the actor name, a zero byte, and the sequence number big-endian", "[format]") {
  CHECK(detail::mailbox_key("account/42", 258) == from_hex("61 63 63 6f 75 6e 74 2f 34 32 00 00 00 00 00 00 00 01 02"));
  for (const std::uint64_t seq : {std::uint64_t{1}, std::uint64_t{255}, std::uint64_t{256}, std::uint64_t{1} << 32,
                                  std::uint64_t{0x0102030405060708}, ~std::uint64_t{0}}) {
    const std::string key = detail::mailbox_key("account/42", seq);
    CHECK(key == bytes_writer{}.raw("account/42").u8(0).u64_be(seq).bytes);
    std::string_view actor;
    std::uint64_t parsed = 0;
    REQUIRE(detail::parse_mailbox_key(key, actor, parsed));
    CHECK(actor == "account/42");
    CHECK(parsed == seq);
  }
}

TEST_CASE("mailbox keys order by sequence number as byte strings", "[format]") {
  const rocksdb::Comparator* bytewise = rocksdb::BytewiseComparator();
  const std::string k1 = detail::mailbox_key("a", 1);
  const std::string k256 = detail::mailbox_key("a", 256);
  const std::string k2_32 = detail::mailbox_key("a", std::uint64_t{1} << 32);
  CHECK(bytewise->Compare(k1, k256) < 0);
  CHECK(bytewise->Compare(k256, k2_32) < 0);
  CHECK(k1 < k256);  // std::string compares bytes as unsigned, like RocksDB
  CHECK(k256 < k2_32);
  // Little-endian would have put 256 (00 01 ...) before 1 (01 00 ...).
  CHECK(bytes_writer{}.u64(256).bytes < bytes_writer{}.u64(1).bytes);
  // One actor's keys sort together, before those of every name that extends its name.
  const std::string last_of_a = detail::mailbox_key("a", ~std::uint64_t{0});
  CHECK(bytewise->Compare(last_of_a, detail::mailbox_key("a/1", 0)) < 0);
  CHECK(bytewise->Compare(last_of_a, detail::mailbox_key("ab", 0)) < 0);
}

TEST_CASE("a prefix scan of name and zero byte returns that actor's messages in sending order", "[format]") {
  temp_dir dir;
  { store create(dir.path("store")); }
  raw_store db(dir.path("store"));
  const std::vector<std::uint64_t> seqs = {300, 2, 1u << 20, 7, 256, 1, 65536, std::uint64_t{1} << 40};
  for (const std::uint64_t seq : seqs)
    for (const char* actor : {"a", "a/1", "ab", "b"}) db.put("mailbox", detail::mailbox_key(actor, seq), "x");
  const std::string prefix("a\0", 2);
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(rocksdb::ReadOptions(), db.family("mailbox")));
  std::vector<std::uint64_t> found;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view actor;
    std::uint64_t seq = 0;
    REQUIRE(detail::parse_mailbox_key(std::string_view(it->key().data(), it->key().size()), actor, seq));
    CHECK(actor == "a");
    found.push_back(seq);
  }
  std::vector<std::uint64_t> expected = seqs;
  std::sort(expected.begin(), expected.end());
  CHECK(found == expected);
}

TEST_CASE("parse_mailbox_key rejects keys that are not mailbox keys", "[format]") {
  std::string_view actor = "untouched";
  std::uint64_t seq = 99;
  const std::string valid = detail::mailbox_key("account/42", 5);
  CHECK_FALSE(detail::parse_mailbox_key("", actor, seq));
  CHECK_FALSE(detail::parse_mailbox_key(valid.substr(valid.size() - 8), actor, seq));  // 8 bytes: no separator
  CHECK_FALSE(detail::parse_mailbox_key("account/42", actor, seq));                   // an actor key
  std::string no_zero = valid;
  no_zero[10] = '\x01';  // the 9th byte from the end must be 0x00
  CHECK_FALSE(detail::parse_mailbox_key(no_zero, actor, seq));
  CHECK_FALSE(detail::parse_mailbox_key(valid.substr(0, valid.size() - 1), actor, seq));  // one byte short
  CHECK_FALSE(detail::parse_mailbox_key(valid.substr(valid.size() - 9), actor, seq));  // 00 seq: no name
  CHECK(actor == "untouched");
  CHECK(seq == 99);
}

// ---- envelopes ---------------------------------------------------------------------------------

TEST_CASE("an envelope built from the spec decodes to its type, sender, ask fields and value", "[format]") {
  const std::string bytes = sealed(envelope_fields("test.format.add", "teller/1", 3, 0).u64(5).bytes);
  const envelope_header h = peek_envelope(bytes);
  CHECK(h.type == "test.format.add");
  CHECK(h.sender == "teller/1");
  CHECK(h.request_id == 3);
  CHECK(h.response_to == 0);

  const decoded_envelope d = decode_envelope(bytes, "test envelope");
  CHECK(d.header.type == "test.format.add");
  CHECK(d.header.sender == "teller/1");
  REQUIRE(d.value->get_if<add>() != nullptr);
  CHECK(d.value->get_if<add>()->n == 5);
  CHECK(detail::message_fields::request_id(*d.value) == 3);
  CHECK(detail::message_fields::response_to(*d.value) == 0);
  CHECK(detail::message_fields::sender(*d.value) == nullptr);  // the caller resolves header.sender

  // encode_envelope writes exactly these bytes.
  message_ptr m = make_message<add>(add{5});
  detail::message_fields::request_id(*m) = 3;
  CHECK(encode_envelope(*m, "teller/1") == bytes);
  message_ptr reply = make_message<add>(add{-2});
  detail::message_fields::response_to(*reply) = 1ull << 40;
  CHECK(encode_envelope(*reply, "") ==
        sealed(envelope_fields("test.format.add", "", 0, 1ull << 40).u64(static_cast<std::uint64_t>(-2)).bytes));
}

// Flags 1 in a snapshot header: an envelope whose payload carries an order number.
std::string sealed_ordered(const std::string& payload) {
  std::string snapshot(snapshot_header_size, '\0');
  snapshot += payload;
  detail::seal_snapshot(snapshot, 1);
  return snapshot;
}

TEST_CASE("an ordered envelope carries its number after the ask fields, flagged in the header", "[format]") {
  const std::string bytes = sealed_ordered(envelope_fields("test.format.add", "teller/1", 0, 0).u64(41).u64(5).bytes);
  CHECK(static_cast<unsigned char>(bytes[6]) == 1);  // flags, bit 0
  CHECK(peek_envelope(bytes).order == 41);
  const decoded_envelope d = decode_envelope(bytes, "test envelope");
  CHECK(d.header.order == 41);
  CHECK(detail::message_fields::order(*d.value) == 41);
  REQUIRE(d.value->get_if<add>() != nullptr);
  CHECK(d.value->get_if<add>()->n == 5);
  // encode_envelope writes exactly these bytes for a numbered message, and no field for 0.
  message_ptr m = make_message<add>(add{5});
  detail::message_fields::order(*m) = 41;
  CHECK(encode_envelope(*m, "teller/1") == bytes);
  detail::message_fields::order(*m) = 0;
  CHECK(encode_envelope(*m, "teller/1") == sealed(envelope_fields("test.format.add", "teller/1", 0, 0).u64(5).bytes));
  CHECK(peek_envelope(encode_envelope(*m, "teller/1")).order == 0);
}

TEST_CASE("an ordered envelope numbered 0, or a snapshot flag other than order, is malformed", "[format]") {
  auto error_of = [](const std::string& bytes) {
    try {
      (void)decode_envelope(bytes, "test envelope");
    } catch (const snapshot_error& e) {
      return e;
    }
    FAIL("decoded");
    throw;
  };
  const snapshot_error zero = error_of(sealed_ordered(envelope_fields("test.format.add", "", 0, 0).u64(0).u64(5).bytes));
  CHECK(zero.code() == snapshot_errc::malformed);
  CHECK(zero.offset() == 24 + 8 + 15 + 8 + 8 + 8);  // the order field
  std::string flags2(snapshot_header_size, '\0');
  flags2 += envelope_fields("test.format.add", "", 0, 0).u64(5).bytes;
  detail::seal_snapshot(flags2, 2);
  const snapshot_error other = error_of(flags2);
  CHECK(other.code() == snapshot_errc::malformed);
  CHECK(other.offset() == 6);
  // Any other snapshot (a record's image) still refuses flag 1.
  try {
    (void)detail::open_snapshot(sealed_ordered("x"), "image");
    FAIL("a snapshot with flag 1 was opened as an image");
  } catch (const snapshot_error& e) {
    CHECK(e.code() == snapshot_errc::malformed);
    CHECK(e.offset() == 6);
  }
}

TEST_CASE("the worked example's envelope is, byte for byte, what encode_envelope writes", "[format]") {
  CHECK(encode_envelope(*make_message<add>(add{5}), "") == worked_example_envelope);
  CHECK(worked_example_envelope == sealed(envelope_fields("test.format.add", "", 0, 0).u64(5).bytes));
}

TEST_CASE("an envelope of an unregistered type is unknown_type, naming the type", "[format]") {
  const std::string bytes = sealed(envelope_fields("test.format.unregistered", "", 0, 0).u64(5).bytes);
  const snapshot_error e = envelope_error(bytes, "message 7 in the mailbox of actor \"account/42\"");
  CHECK(e.code() == snapshot_errc::unknown_type);
  CHECK(static_cast<int>(e.code()) == 11);
  CHECK(to_string(e.code()) == "unknown_type");
  CHECK(e.offset() == 24);  // the type name's size tag, the payload's first byte
  CHECK(std::string(e.what()).find("test.format.unregistered") != std::string::npos);
  CHECK(std::string(e.what()).find("account/42") != std::string::npos);
  // The header alone needs no registration.
  CHECK(peek_envelope(bytes).type == "test.format.unregistered");
}

TEST_CASE("encode_envelope refuses a message type that is not registered, naming it", "[format]") {
  try {
    (void)encode_envelope(*make_message<never_registered>(never_registered{1}), "");
    FAIL("an unregistered type was encoded");
  } catch (const std::logic_error& e) {
    CHECK(std::string(e.what()).find("never_registered") != std::string::npos);
  }
}

TEST_CASE("every truncation of an envelope is a snapshot_error, never a crash", "[format]") {
  message_ptr m = make_message<add>(add{5});
  detail::message_fields::request_id(*m) = 3;
  const std::string bytes = encode_envelope(*m, "teller/1");
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    const std::string_view cut = std::string_view(bytes).substr(0, length);
    const snapshot_error e = envelope_error(cut);
    INFO("length " << length << ": " << e.what());
    REQUIRE(e.code() == snapshot_errc::truncated);
    REQUIRE_THROWS_AS(peek_envelope(cut), snapshot_error);
  }
  // Cut inside the payload but resealed (so the header is right): a field runs out, or a size
  // tag claims more than remains.
  const std::string payload = bytes.substr(snapshot_header_size);
  for (std::size_t length = 0; length < payload.size(); ++length) {
    const snapshot_error e = envelope_error(sealed(payload.substr(0, length)));
    INFO("payload length " << length << ": " << e.what());
    REQUIRE((e.code() == snapshot_errc::truncated || e.code() == snapshot_errc::size_limit));
  }
}

TEST_CASE("an envelope must end exactly after its value", "[format]") {
  const std::string bytes = sealed(envelope_fields("test.format.add", "", 0, 0).u64(5).u8(0).bytes);
  const snapshot_error e = envelope_error(bytes);
  CHECK(e.code() == snapshot_errc::malformed);
  CHECK(e.offset() == 24 + 23 + 8 + 8 + 8 + 8);
}

TEST_CASE("a flipped bit anywhere in an envelope is reported, never decoded", "[format]") {
  for (std::size_t at = 0; at < worked_example_envelope.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bytes = worked_example_envelope;
      bytes[at] = static_cast<char>(bytes[at] ^ (1 << bit));
      const snapshot_error e = envelope_error(bytes);
      INFO("byte " << at << " bit " << bit << ": " << e.what());
      REQUIRE((e.code() == snapshot_errc::checksum_mismatch || e.code() == snapshot_errc::bad_magic));
    }
  }
}

// ---- the store -------------------------------------------------------------------------------

TEST_CASE("a store written by the runtime has exactly the documented column families and format 3", "[format]") {
  temp_dir dir;
  write_worked_example(dir.path("store"));
  std::vector<std::string> families;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path("store"), &families).ok());
  std::sort(families.begin(), families.end());
  std::vector<std::string> expected = documented_families;
  std::sort(expected.begin(), expected.end());
  CHECK(families == expected);

  raw_store db(dir.path("store"));
  const auto format = db.get("default", "format");
  REQUIRE(format);
  CHECK(*format == bytes_writer{}.u32(3).bytes);
  CHECK(store_format_version == 3);
  // The meta family holds nothing else.
  CHECK(db.keys("default") == std::vector<std::string>{"format", "next_seq"});
}

TEST_CASE("a store of another format version is refused, naming the path and both versions", "[format]") {
  temp_dir dir;
  const std::string path = dir.path("store");
  { store create(path); }
  {
    raw_store db(path);
    db.put("default", "format", bytes_writer{}.u32(4).bytes);
  }
  try {
    store refused(path);
    FAIL("a format-4 store was opened");
  } catch (const store_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find(path) != std::string::npos);
    CHECK(what.find("format 4") != std::string::npos);
    CHECK(what.find("format 3") != std::string::npos);
  }
  CHECK_THROWS_AS(actor_system(store_at(path), actor_system_config{1}), store_error);
  // Refusing wrote nothing and released the store.
  raw_store db(path);
  CHECK(db.get("default", "format") == bytes_writer{}.u32(4).bytes);
}

TEST_CASE("a format-1 or format-2 store is opened as it is and stamped format 3, its actors and messages kept",
          "[format]") {
  for (const std::uint32_t old_format : {1u, 2u}) {
    INFO("format " << old_format);
    temp_dir dir;
    const std::string path = dir.path("store");
    // The families of that format only, stamped with it, with a record.
    {
      rocksdb::Options options;
      options.create_if_missing = true;
      options.create_missing_column_families = true;
      std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, "actors", "mailbox", "wake", "quarantine",
                                        "journal"};
      if (old_format == 2) names.insert(names.end(), {"outbox", "inbox"});
      std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
      for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
      std::vector<rocksdb::ColumnFamilyHandle*> handles;
      rocksdb::DB* raw = nullptr;
      REQUIRE(rocksdb::DB::Open(options, path, descriptors, &handles, &raw).ok());
      REQUIRE(raw->Put(rocksdb::WriteOptions(), handles[0], "format", bytes_writer{}.u32(old_format).bytes).ok());
      REQUIRE(raw->Put(rocksdb::WriteOptions(), handles[1], "kept", "record bytes").ok());
      for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
      delete raw;
    }
    {
      store upgraded(path);
      CHECK(upgraded.record("kept") == std::string("record bytes"));
    }
    raw_store db(path);
    CHECK(db.get("default", "format") == bytes_writer{}.u32(3).bytes);
    for (const char* added : {"outbox", "inbox", "migrating", "moved", "incoming"}) CHECK(db.keys(added).empty());
  }
}

TEST_CASE("a format value that is not four bytes is refused as unreadable", "[format]") {
  temp_dir dir;
  const std::string path = dir.path("store");
  { store create(path); }
  {
    raw_store db(path);
    db.put("default", "format", bytes_writer{}.u64(1).bytes);
  }
  try {
    store refused(path);
    FAIL("a store with an 8-byte format value was opened");
  } catch (const store_error& e) {
    CHECK(std::string(e.what()).find("(unreadable)") != std::string::npos);
  }
}

// ---- invariants between families, as recovery relies on them ----------------------------------

TEST_CASE("a mailbox entry written from the spec is delivered at open, then deleted", "[format]") {
  temp_dir dir;
  const std::string path = dir.path("store");
  write_worked_example(path);
  {
    raw_store db(path);
    // Sequence 2 (next_seq), from outside: add{7}; next_seq moves past it in the same batch.
    rocksdb::WriteBatch batch;
    const std::string key = bytes_writer{}.raw("account/42").u8(0).u64_be(2).bytes;
    const std::string envelope = sealed(envelope_fields("test.format.add", "", 0, 0).u64(7).bytes);
    batch.Put(db.family("mailbox"), key, envelope);
    batch.Put(db.family("default"), "next_seq", bytes_writer{}.u64(3).bytes);
    REQUIRE(db.db->Write(rocksdb::WriteOptions(), &batch).ok());
  }
  {
    actor_system system(store_at(path), actor_system_config{1});
    CHECK(system.recovery().messages_requeued == 1);
    system.shutdown(shutdown_policy::drain);
  }
  raw_store db(path);
  CHECK(db.keys("mailbox").empty());
  const auto record = db.get("actors", "account/42");
  REQUIRE(record);
  CHECK(decode_actor_record(*record, "x").steps == 3);
  CHECK(u64_at(*record, record->size() - 16) == 12);  // 5 + 7
  CHECK(u64_at(*record, record->size() - 8) == 2);
}

TEST_CASE("at open an orphan mailbox entry is deleted and a quarantined actor's are kept", "[format]") {
  temp_dir dir;
  const std::string path = dir.path("store");
  { store create(path); }
  const std::string envelope = sealed(envelope_fields("test.format.add", "", 0, 0).u64(1).bytes);
  {
    raw_store db(path);
    db.put("mailbox", detail::mailbox_key("nobody", 1), envelope);  // no record: an orphan
    db.put("actors", "frozen", "not a record");
    db.put("quarantine", "frozen", "damaged on purpose");
    db.put("mailbox", detail::mailbox_key("frozen", 2), envelope);
    db.put("default", "next_seq", bytes_writer{}.u64(3).bytes);
  }
  {
    actor_system system(store_at(path), actor_system_config{1});
    CHECK(system.dead_letters() == 1);
    const auto quarantined = system.quarantined();
    REQUIRE(quarantined.size() == 1);
    CHECK(quarantined[0].name == "frozen");
    CHECK(quarantined[0].reason == "damaged on purpose");
    CHECK_FALSE(system.find("frozen"));
    system.shutdown(shutdown_policy::drain);
  }
  raw_store db(path);
  CHECK(db.keys("mailbox") == std::vector<std::string>{detail::mailbox_key("frozen", 2)});
  CHECK(db.get("actors", "frozen") == std::string("not a record"));
  CHECK(db.get("quarantine", "frozen") == std::string("damaged on purpose"));
}

TEST_CASE("a wake entry exists exactly while the actor's record has timers or pending asks", "[format]") {
  temp_dir dir;
  const std::string path = dir.path("store");
  {
    actor_system system(store_at(path), actor_system_config{1});
    system.spawn_durable("alarm", alarm_fn.bind(std::make_shared<tally>()));
    system.send("alarm", add{-1}).get();  // arms a one-hour timer
    // Drain waits for armed timers: the deadline ends it once the step is long committed.
    system.shutdown(shutdown_policy::drain, 1s);
  }
  {
    raw_store db(path);
    const auto record = db.get("actors", "alarm");
    REQUIRE(record);
    const actor_record_view view = decode_actor_record(*record, "actor \"alarm\"");
    CHECK(view.timers == 1);
    CHECK(view.pending_asks == 0);
    CHECK(db.keys("wake") == std::vector<std::string>{"alarm"});
    CHECK(db.get("wake", "alarm") == std::string());  // the value is empty
  }
  {
    actor_system system(store_at(path), actor_system_config{1});  // woken: the timer is re-armed
    system.send("alarm", add{0}).get();                             // cancels it
    system.shutdown(shutdown_policy::drain, 10s);
    CHECK(system.recovery().timers_rearmed == 1);
  }
  raw_store db(path);
  const auto record = db.get("actors", "alarm");
  REQUIRE(record);
  CHECK(decode_actor_record(*record, "actor \"alarm\"").timers == 0);
  CHECK(db.keys("wake").empty());
}

TEST_CASE("a store whose creation was cut short opens; someone else's RocksDB is refused", "[format]") {
  temp_dir dir;
  auto make_db = [](const std::string& path, bool with_data, bool with_family) {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(options, path, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    if (with_data) REQUIRE(db->Put(rocksdb::WriteOptions(), "theirs", "value").ok());
    if (with_family) {
      rocksdb::ColumnFamilyHandle* h = nullptr;
      REQUIRE(db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "their_family", &h).ok());
      REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
    }
  };
  // Killed right after RocksDB created the directory: only the default family, no data.
  make_db(dir.path("cut_short"), false, false);
  { store adopted(dir.path("cut_short")); }
  {
    raw_store db(dir.path("cut_short"));
    CHECK(db.get("default", "format"));
  }
  make_db(dir.path("foreign_data"), true, false);
  CHECK_THROWS_WITH(store(dir.path("foreign_data")), Catch::Contains("not a revenant store") &&
                                                         Catch::Contains("foreign_data"));
  make_db(dir.path("foreign_family"), false, true);
  CHECK_THROWS_WITH(store(dir.path("foreign_family")), Catch::Contains("their_family"));
  // Refused without being changed: still no revenant family in it.
  std::vector<std::string> families;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path("foreign_data"), &families).ok());
  CHECK(families == std::vector<std::string>{"default"});
}

TEST_CASE("every claim of a node identity keeps the id and takes the next incarnation, written under the documented meta keys",
          "[format]") {
  temp_dir dir;
  store::node_identity first, second;
  {
    store db(dir.path("store"));
    first = db.claim_incarnation();
    second = db.claim_incarnation();
  }
  CHECK(first.incarnation == 1);
  CHECK(second.incarnation == 2);
  CHECK(first.id == second.id);
  CHECK(first.id != decltype(first.id){});
  {
    raw_store raw(dir.path("store"));
    const auto id = raw.get(rocksdb::kDefaultColumnFamilyName, "node_id");
    REQUIRE(id);
    CHECK(std::memcmp(id->data(), first.id.data(), 16) == 0);
    const auto incarnation = raw.get(rocksdb::kDefaultColumnFamilyName, "incarnation");
    REQUIRE(incarnation);
    CHECK(*incarnation == std::string("\x02\0\0\0\0\0\0\0", 8));
  }
  store reopened(dir.path("store"));
  const auto third = reopened.claim_incarnation();
  CHECK(third.incarnation == 3);
  CHECK(third.id == first.id);
  // Another store is another node.
  temp_dir other_dir;
  store other(other_dir.path("store"));
  CHECK(other.claim_incarnation().id != first.id);
}

TEST_CASE("a damaged node identity fails the claim naming the meta key, and is left as it was", "[format]") {
  temp_dir dir;
  { store db(dir.path("store")); }
  {
    raw_store raw(dir.path("store"));
    raw.put(rocksdb::kDefaultColumnFamilyName, "node_id", "short");
  }
  {
    store db(dir.path("store"));
    CHECK_THROWS_WITH(db.claim_incarnation(), Catch::Contains("meta key node_id is 5 bytes, not 16"));
  }
  {
    raw_store raw(dir.path("store"));
    CHECK(raw.get(rocksdb::kDefaultColumnFamilyName, "node_id") == std::string("short"));
    raw.put(rocksdb::kDefaultColumnFamilyName, "node_id", std::string(16, '\x07'));
    raw.put(rocksdb::kDefaultColumnFamilyName, "incarnation", "123");
  }
  store db(dir.path("store"));
  CHECK_THROWS_WITH(db.claim_incarnation(), Catch::Contains("meta key incarnation is not 8 bytes"));
}
