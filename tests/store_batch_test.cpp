// The store's typed interface (storage/store.hpp, storage/commit_batch.hpp): what each batch
// operation leaves in the documented layout (docs/format.md 8.2, 8.5), what the typed reads
// return, and opening only an existing store.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/raw_store.hpp"

using namespace revenant;
using namespace revenant::test;

namespace {

// A mailbox or journal key spelled out from the spec: the name, 00, seq big-endian.
std::string entry_key(std::string_view actor, std::uint64_t seq) {
  std::string key(actor);
  key.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((seq >> shift) & 0xff));
  return key;
}

using entries = std::vector<std::pair<std::uint64_t, std::string>>;

entries mailbox_of(const store& db, std::string_view actor) {
  entries out;
  db.for_each_message_of(actor, [&](std::uint64_t seq, std::string_view envelope) { out.emplace_back(seq, envelope); });
  return out;
}

entries journal_of(const store& db, std::string_view actor) {
  entries out;
  db.for_each_journal_entry_of(actor, [&](std::uint64_t seq, std::string_view envelope) { out.emplace_back(seq, envelope); });
  return out;
}

}  // namespace

TEST_CASE("each commit batch operation writes the key and value the store layout documents", "[store]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  {
    store db(path);
    commit_batch batch(db);
    batch.put_record("a", "record of a");
    batch.enqueue("a", 258, "message 258");
    batch.append_journal("a", 7, "journal 7");
    batch.set_wake("a");
    batch.quarantine("q", "why q is quarantined");
    batch.advance_next_seq(259);
    CHECK(batch.size() == 6);
    db.commit(batch, true);
  }
  raw_store raw(path);
  CHECK(raw.get("actors", "a") == std::string("record of a"));
  CHECK(raw.keys("mailbox") == std::vector<std::string>{entry_key("a", 258)});
  CHECK(raw.get("mailbox", entry_key("a", 258)) == std::string("message 258"));
  CHECK(raw.keys("journal") == std::vector<std::string>{entry_key("a", 7)});
  CHECK(raw.get("journal", entry_key("a", 7)) == std::string("journal 7"));
  CHECK(raw.get("wake", "a") == std::string());
  CHECK(raw.get("quarantine", "q") == std::string("why q is quarantined"));
  CHECK(raw.get("default", "next_seq") == std::string("\x03\x01\x00\x00\x00\x00\x00\x00", 8));
}

TEST_CASE("clearing an actor's mailbox or journal, or erasing its record, touches no other actor's keys", "[store]") {
  temp_dir dir;
  store db(dir.path("db"));
  {
    commit_batch batch(db);
    // "a/1" and "ab" sort right after "a"'s entries: the ranges must stop before them.
    for (const char* actor : {"a", "a/1", "ab"}) {
      batch.put_record(actor, "r");
      for (std::uint64_t seq : {1, 2}) {
        batch.enqueue(actor, seq, "m");
        batch.append_journal(actor, seq + 10, "j");
      }
    }
    db.commit(batch, false);
  }
  commit_batch batch(db);
  batch.clear_mailbox("a");
  batch.erase_record("a");  // with its journal
  batch.consume("ab", 1);
  db.commit(batch, false);
  CHECK_FALSE(db.has_record("a"));
  CHECK(mailbox_of(db, "a").empty());
  CHECK(journal_of(db, "a").empty());
  CHECK(db.has_record("a/1"));
  CHECK(mailbox_of(db, "a/1") == entries{{1, "m"}, {2, "m"}});
  CHECK(journal_of(db, "a/1") == entries{{11, "j"}, {12, "j"}});
  CHECK(mailbox_of(db, "ab") == entries{{2, "m"}});
  CHECK(journal_of(db, "ab") == entries{{11, "j"}, {12, "j"}});
  // The record alone, and journal entries one at a time: nothing else goes.
  commit_batch alone(db);
  alone.erase_record_alone("a/1");
  alone.erase_journal_entry("a/1", 11);
  db.commit(alone, false);
  CHECK_FALSE(db.has_record("a/1"));
  CHECK(journal_of(db, "a/1") == entries{{12, "j"}});
  CHECK(mailbox_of(db, "a/1") == entries{{1, "m"}, {2, "m"}});
  CHECK(db.has_record("ab"));
  CHECK(journal_of(db, "ab") == entries{{11, "j"}, {12, "j"}});
  // A mailbox read from above a sequence number starts past what lies below it.
  entries above;
  db.for_each_message_of("a/1", [&](std::uint64_t seq, std::string_view e) { above.emplace_back(seq, e); }, 1);
  CHECK(above == entries{{2, "m"}});
  above.clear();
  db.for_each_message_of("a/1", [&](std::uint64_t seq, std::string_view e) { above.emplace_back(seq, e); }, 2);
  CHECK(above.empty());
}

TEST_CASE("operations of one batch apply in order: a later one on the same key wins", "[store]") {
  temp_dir dir;
  store db(dir.path("db"));
  commit_batch batch(db);
  batch.append_journal("a", 1, "old");
  batch.clear_journal("a");  // takes the entry added above
  batch.append_journal("a", 2, "new");
  batch.set_wake("a");
  batch.clear_wake("a");
  batch.quarantine("a", "reason");
  batch.lift_quarantine("a");
  db.commit(batch, false);
  CHECK(journal_of(db, "a") == entries{{2, "new"}});
  CHECK_FALSE(db.has_wake("a"));
  CHECK_FALSE(db.quarantine_reason("a"));
}

TEST_CASE("a batch made for one store is refused by another, which stays as it was", "[store]") {
  temp_dir dir;
  store first(dir.path("first"));
  store second(dir.path("second"));
  commit_batch batch(first);
  batch.put_record("a", "r");
  CHECK_THROWS_WITH(second.commit(batch, false), Catch::Contains("made for another store") &&
                                                   Catch::Contains(dir.path("second")));
  CHECK_FALSE(second.has_record("a"));
  first.commit(batch, false);  // the batch is intact: its own store takes it
  CHECK(first.has_record("a"));
}

TEST_CASE("a cleared batch commits nothing, and a batch commits nothing until it is committed", "[store]") {
  temp_dir dir;
  store db(dir.path("db"));
  commit_batch batch(db);
  batch.put_record("a", "r");
  CHECK_FALSE(db.has_record("a"));
  batch.clear();
  CHECK(batch.empty());
  db.commit(batch, false);
  CHECK_FALSE(db.has_record("a"));
}

TEST_CASE("the typed scans return every entry in key order, and a record scan stops when told", "[store]") {
  temp_dir dir;
  store db(dir.path("db"));
  {
    commit_batch batch(db);
    for (const char* actor : {"c", "a", "b"}) {
      batch.put_record(actor, std::string("record ") + actor);
      batch.set_wake(actor);
      batch.quarantine(actor, std::string("reason ") + actor);
      batch.enqueue(actor, 300, "m");
      batch.enqueue(actor, 2, "m");
      batch.append_journal(actor, 5, "j");
    }
    db.commit(batch, false);
  }
  std::vector<std::string> seen;
  db.for_each_record({}, [&](std::string_view name, std::string_view record) {
    seen.push_back(std::string(name) + "=" + std::string(record));
    return true;
  });
  CHECK(seen == std::vector<std::string>{"a=record a", "b=record b", "c=record c"});
  seen.clear();
  db.for_each_record({}, [&](std::string_view name, std::string_view) {
    seen.emplace_back(name);
    return seen.size() < 2;
  });
  CHECK(seen == std::vector<std::string>{"a", "b"});
  seen.clear();
  db.for_each_wake([&](std::string_view actor) { seen.emplace_back(actor); });
  CHECK(seen == std::vector<std::string>{"a", "b", "c"});
  seen.clear();
  db.for_each_quarantined([&](std::string_view actor, std::string_view reason) {
    seen.push_back(std::string(actor) + ":" + std::string(reason));
  });
  CHECK(seen == std::vector<std::string>{"a:reason a", "b:reason b", "c:reason c"});
  seen.clear();
  db.for_each_message([&](std::string_view actor, std::uint64_t seq, std::string_view) {
    seen.push_back(std::string(actor) + "/" + std::to_string(seq));
  });
  CHECK(seen == std::vector<std::string>{"a/2", "a/300", "b/2", "b/300", "c/2", "c/300"});
  seen.clear();
  db.for_each_journal_key([&](std::string_view actor, std::uint64_t seq) {
    seen.push_back(std::string(actor) + "/" + std::to_string(seq));
  });
  CHECK(seen == std::vector<std::string>{"a/5", "b/5", "c/5"});
  CHECK(db.record("b") == std::string("record b"));
  CHECK(db.quarantine_reason("b") == std::string("reason b"));
}

TEST_CASE("a store opened only if it exists refuses a missing one without creating it", "[store]") {
  temp_dir dir;
  store_options existing;
  existing.must_exist = true;
  const std::string missing = dir.path("missing");
  CHECK_THROWS_WITH(store(missing, existing), Catch::Contains(missing) && Catch::Contains("does not exist"));
  CHECK_FALSE(std::filesystem::exists(missing));
  std::filesystem::create_directories(dir.path("empty"));
  CHECK_THROWS_WITH(store(dir.path("empty"), existing), Catch::Contains("does not exist"));
  CHECK(std::filesystem::is_empty(dir.path("empty")));
  { store created(dir.path("db")); }
  store opened(dir.path("db"), existing);
  CHECK(opened.next_seq() == 1);
}
