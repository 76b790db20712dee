// What a migration leaves in a store (docs/format.md 8.15): the package codec — its layout, its
// checks in their order, hostile and damaged input — and the migration records' batch
// operations and reads.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "storage/commit_batch.hpp"
#include "storage/internal/crc32c.hpp"
#include "storage/migration.hpp"
#include "storage/store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/raw_store.hpp"

using namespace revenant;
using namespace revenant::test;

namespace {

// A record-shaped value: the package carries records as bytes and never decodes them.
std::string fake_record(std::size_t size) {
  std::string r = "RVNA";
  r.resize(size, 'r');
  return r;
}

migration_package sample() {
  migration_package p;
  p.actor = "account/42";
  p.wake = true;
  p.record = fake_record(40);
  p.journal = {{3, "step three"}, {7, "step seven"}};
  p.mailbox = {{9, "first"}, {12, std::string("second\0with zero", 16)}, {20, ""}};
  return p;
}

template <class T>
T at(const std::string& bytes, std::size_t offset) {
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof v);
  return v;
}

template <class T>
void set(std::string& bytes, std::size_t offset, T v) {
  std::memcpy(bytes.data() + offset, &v, sizeof v);
}

// Restores the trailing CRC after an edit, so that the check under test is the one that fails.
void reseal(std::string& bytes) {
  set<std::uint32_t>(bytes, bytes.size() - 4, detail::crc32c(bytes.data(), bytes.size() - 4));
}

// The code and offset decode_migration_package reports for bytes.
std::pair<snapshot_errc, std::size_t> failure(const std::string& bytes) {
  try {
    decode_migration_package(bytes, "package for test");
  } catch (const snapshot_error& e) {
    CHECK(e.subject() == "package for test");
    CHECK(e.detail().rfind("migration package: ", 0) == 0);
    return {e.code(), e.offset()};
  }
  FAIL("a damaged package was accepted");
  return {};
}

// Offsets in sample()'s encoding (docs/format.md 8.15).
constexpr std::size_t name_length_at = 8;
constexpr std::size_t wake_at = 10 + 10;  // after "account/42"
constexpr std::size_t record_length_at = wake_at + 1;
constexpr std::size_t journal_count_at = record_length_at + 4 + 40;
constexpr std::size_t first_journal_seq_at = journal_count_at + 4;

}  // namespace

TEST_CASE("a migration package round-trips, laid out as the format says", "[migration][format]") {
  const migration_package p = sample();
  const std::string bytes = encode_migration_package(p);
  CHECK(bytes.substr(0, 4) == "RVMP");
  CHECK(at<std::uint16_t>(bytes, 4) == 1);
  CHECK(at<std::uint16_t>(bytes, 6) == 0);
  CHECK(at<std::uint16_t>(bytes, name_length_at) == 10);
  CHECK(bytes.substr(10, 10) == "account/42");
  CHECK(static_cast<std::uint8_t>(bytes[wake_at]) == 1);
  CHECK(at<std::uint32_t>(bytes, record_length_at) == 40);
  CHECK(bytes.substr(record_length_at + 4, 40) == p.record);
  CHECK(at<std::uint32_t>(bytes, journal_count_at) == 2);
  CHECK(at<std::uint64_t>(bytes, first_journal_seq_at) == 3);
  CHECK(at<std::uint32_t>(bytes, first_journal_seq_at + 8) == 10);
  CHECK(at<std::uint32_t>(bytes, bytes.size() - 4) == detail::crc32c(bytes.data(), bytes.size() - 4));
  CHECK(decode_migration_package(bytes) == p);

  migration_package idle;
  idle.actor = "idle";
  idle.record = fake_record(30);
  CHECK(decode_migration_package(encode_migration_package(idle)) == idle);
}

TEST_CASE("a migration package's checks fail in their documented order, at their offsets", "[migration][format]") {
  const std::string good = encode_migration_package(sample());
  using e = snapshot_errc;

  CHECK(failure(good.substr(0, 20)) == std::pair{e::truncated, std::size_t{20}});
  std::string bytes = good;
  bytes[0] = 'X';
  CHECK(failure(bytes) == std::pair{e::bad_magic, std::size_t{0}});
  bytes = good;
  bytes[30] ^= 0x10;
  CHECK(failure(bytes) == std::pair{e::checksum_mismatch, good.size() - 4});
  bytes = good;
  set<std::uint16_t>(bytes, 4, 2);
  reseal(bytes);
  CHECK(failure(bytes) == std::pair{e::unsupported_version, std::size_t{4}});
  bytes = good;
  set<std::uint16_t>(bytes, 6, 1);
  reseal(bytes);
  CHECK(failure(bytes) == std::pair{e::malformed, std::size_t{6}});
  bytes = good;
  set<std::uint16_t>(bytes, name_length_at, 0);
  reseal(bytes);
  CHECK(failure(bytes) == std::pair{e::malformed, name_length_at});
  bytes = good;
  set<std::uint16_t>(bytes, name_length_at, 0xffff);
  reseal(bytes);
  CHECK(failure(bytes) == std::pair{e::truncated, name_length_at});
  bytes = good;
  bytes[13] = '\0';
  reseal(bytes);
  CHECK(failure(bytes) == std::pair{e::malformed, name_length_at});
  bytes = good;
  bytes[wake_at] = 2;
  reseal(bytes);
  CHECK(failure(bytes) == std::pair{e::malformed, wake_at});
  bytes = good;
  set<std::uint32_t>(bytes, record_length_at, 0xfffffff0u);
  reseal(bytes);
  CHECK(failure(bytes) == std::pair{e::truncated, record_length_at});
  bytes = good;
  set<std::uint32_t>(bytes, first_journal_seq_at, 0);  // seq 3 -> 0 (low half)
  reseal(bytes);
  CHECK(failure(bytes) == std::pair{e::malformed, first_journal_seq_at});
  bytes = good;
  bytes.insert(bytes.size() - 4, "x");
  reseal(bytes);
  CHECK(failure(bytes) == std::pair{e::malformed, good.size() - 4});

  // A record shorter than a record header.
  migration_package small = sample();
  small.record = fake_record(30);
  bytes = encode_migration_package(small);
  set<std::uint32_t>(bytes, record_length_at, 29);
  bytes.erase(record_length_at + 4, 1);
  reseal(bytes);
  CHECK(failure(bytes) == std::pair{e::malformed, record_length_at});
}

TEST_CASE("a migration package announcing more entries than its bytes hold is refused before allocating",
          "[migration][format]") {
  std::string bytes = encode_migration_package(sample());
  set<std::uint32_t>(bytes, journal_count_at, 0xffffffffu);
  reseal(bytes);
  CHECK(failure(bytes) == std::pair{snapshot_errc::truncated, journal_count_at});
  // Out of order entries, too.
  migration_package p = sample();
  p.mailbox[1].seq = p.mailbox[0].seq;
  CHECK_THROWS_AS(encode_migration_package(p), std::invalid_argument);
}

TEST_CASE("every truncation and every flipped bit of a migration package is refused", "[migration][format]") {
  const std::string good = encode_migration_package(sample());
  for (std::size_t n = 0; n < good.size(); ++n) CHECK_THROWS_AS(decode_migration_package(good.substr(0, n)), snapshot_error);
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < good.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string bytes = good;
      bytes[i] = static_cast<char>(bytes[i] ^ (1 << bit));
      try {
        decode_migration_package(bytes);
        ++accepted;
      } catch (const snapshot_error&) {
      }
    }
  CHECK(accepted == 0);
}

TEST_CASE("encode_migration_package refuses what could not be a package", "[migration][format]") {
  migration_package p = sample();
  p.actor = "";
  CHECK_THROWS_AS(encode_migration_package(p), std::invalid_argument);
  p.actor = std::string("a\0b", 3);
  CHECK_THROWS_AS(encode_migration_package(p), std::invalid_argument);
  p = sample();
  p.record = "short";
  CHECK_THROWS_AS(encode_migration_package(p), std::invalid_argument);
  p = sample();
  p.journal[0].seq = 0;
  CHECK_THROWS_AS(encode_migration_package(p), std::invalid_argument);
}

TEST_CASE("migration markers, tombstones and package records are written, read and scanned as documented",
          "[migration][store]") {
  temp_dir dir;
  const std::string path = dir.path("store");
  const std::string package = encode_migration_package(sample());
  {
    store db(path);
    commit_batch batch(db);
    batch.put_migration_marker("b/1", 17, "node-t");
    batch.put_migration_marker("a/1", 5, "node-u");
    batch.put_tombstone("c/1", 9, "node-t");
    batch.put_incoming("d/1", 21, "node-s", package);
    db.commit(batch, true);

    CHECK(db.migration_marker("b/1")->id == 17);
    CHECK(db.migration_marker("b/1")->node == "node-t");
    CHECK_FALSE(db.migration_marker("c/1"));
    CHECK(db.tombstone("c/1")->node == "node-t");
    CHECK_FALSE(db.tombstone("b/1"));
    const auto in = db.incoming("d/1");
    REQUIRE(in);
    CHECK(in->id == 21);
    CHECK(in->source == "node-s");
    CHECK(in->package == package);
    CHECK(decode_migration_package(in->package) == sample());

    std::vector<std::string> markers;
    db.for_each_migration_marker([&](std::string_view actor, const migration_note& note) {
      markers.push_back(std::string(actor) + ">" + note.node + "#" + std::to_string(note.id));
    });
    CHECK(markers == std::vector<std::string>{"a/1>node-u#5", "b/1>node-t#17"});
    std::size_t tombstones = 0, packages = 0;
    db.for_each_tombstone([&](std::string_view actor, const migration_note&) { tombstones += actor == "c/1"; });
    db.for_each_incoming([&](std::string_view actor, const incoming_package& p) { packages += actor == "d/1" && p.id == 21; });
    CHECK(tombstones == 1);
    CHECK(packages == 1);

    commit_batch clear(db);
    clear.clear_migration_marker("a/1");
    clear.clear_tombstone("c/1");
    clear.clear_incoming("d/1");
    db.commit(clear, true);
    CHECK_FALSE(db.migration_marker("a/1"));
    CHECK_FALSE(db.tombstone("c/1"));
    CHECK_FALSE(db.incoming("d/1"));
    CHECK(db.migration_marker("b/1"));

    commit_batch bad(db);
    CHECK_THROWS_AS(bad.put_tombstone("x", 0, "node-t"), std::invalid_argument);
    CHECK_THROWS_AS(bad.put_migration_marker("x", 1, "Node T"), std::invalid_argument);
    CHECK(bad.size() == 0);
  }
  // The bytes, as the format spells them: magic, version 1, flags 0, id, node, CRC.
  raw_store raw(path);
  const auto marker = raw.get("migrating", "b/1");
  REQUIRE(marker);
  REQUIRE(marker->size() == 4 + 2 + 2 + 8 + 1 + 6 + 4);
  CHECK(marker->substr(0, 4) == "RVMK");
  CHECK(at<std::uint16_t>(*marker, 4) == 1);
  CHECK(at<std::uint16_t>(*marker, 6) == 0);
  CHECK(at<std::uint64_t>(*marker, 8) == 17);
  CHECK(static_cast<std::uint8_t>((*marker)[16]) == 6);
  CHECK(marker->substr(17, 6) == "node-t");
  CHECK(at<std::uint32_t>(*marker, 23) == detail::crc32c(marker->data(), 23));
}

TEST_CASE("a damaged migration record is a store_error naming its family and key", "[migration][store]") {
  temp_dir dir;
  const std::string path = dir.path("store");
  {
    store db(path);
    commit_batch batch(db);
    batch.put_tombstone("gone/1", 3, "node-t");
    batch.put_incoming("here/1", 4, "node-s", encode_migration_package(sample()));
    db.commit(batch, true);
  }
  {
    raw_store raw(path);
    std::string tombstone = *raw.get("moved", "gone/1");
    tombstone[18] ^= 1;  // in the node name: the CRC no longer matches
    raw.put("moved", "gone/1", tombstone);
    raw.put("incoming", "here/1", "RVMI");
    raw.put("migrating", "cut/1", "RVMK");
  }
  store db(path);
  auto refused = [](auto&& read, const char* family, const char* key) {
    try {
      read();
      FAIL("a damaged " << family << " entry was read");
    } catch (const store_error& e) {
      const std::string what = e.what();
      INFO(what);
      CHECK(what.find(family) != std::string::npos);
      CHECK(what.find(key) != std::string::npos);
    }
  };
  refused([&] { db.tombstone("gone/1"); }, "moved", "gone/1");
  refused([&] { db.for_each_tombstone([](std::string_view, const migration_note&) {}); }, "moved", "gone/1");
  refused([&] { db.incoming("here/1"); }, "incoming", "here/1");
  refused([&] { db.migration_marker("cut/1"); }, "migrating", "cut/1");
}
