// The store's scans: bounded ranges, and the split names eager recovery cuts the records with
// (storage/store.hpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "storage/store.hpp"
#include "tests/support/child_process.hpp"

using namespace revenant;
using namespace revenant::test;

namespace {

// Every record name in range, in scan order.
std::vector<std::string> keys_in(const store& db, const name_range& range) {
  std::vector<std::string> keys;
  db.for_each_record(range, [&](std::string_view name, std::string_view) {
    keys.emplace_back(name);
    return true;
  });
  return keys;
}

// Fills the actors family with n keys of varied lengths and bytes, values of value_size bytes;
// returns the keys in sorted order.
std::vector<std::string> fill(store& db, int n, std::size_t value_size, bool flush) {
  std::mt19937 random(7);
  std::vector<std::string> keys;
  commit_batch batch(db);
  for (int i = 0; i < n; ++i) {
    std::string key = "k";
    const std::size_t length = 1 + random() % 12;
    for (std::size_t j = 0; j < length; ++j) key.push_back(static_cast<char>(random() % 256));
    std::string value(value_size, '\0');
    for (auto& c : value) c = static_cast<char>(random());  // incompressible: sizes are what they seem
    batch.put_record(key, value);
    keys.push_back(key);
  }
  db.commit(batch, false);
  if (flush) db.flush();
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace

TEST_CASE("split keys cut the actors family into ranges that together hold every key once", "[store]") {
  const bool flushed = GENERATE(true, false);
  temp_dir dir;
  store db(dir.path("db"));
  const std::vector<std::string> all = fill(db, 20000, 100, flushed);
  INFO("flushed to a table file: " << flushed);
  for (unsigned parts : {2u, 3u, 4u, 7u}) {
    INFO(parts << " parts");
    const std::vector<std::string> splits = db.split_record_names(parts, 0);
    REQUIRE(!splits.empty());
    CHECK(splits.size() <= parts - 1);
    CHECK(std::is_sorted(splits.begin(), splits.end()));
    const std::vector<std::string>& bounds = splits;
    std::vector<std::string> joined;
    std::size_t largest = 0;
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
      name_range bounded;
      if (i != 0) bounded.from = bounds[i - 1];
      if (i != bounds.size()) bounded.to = bounds[i];
      const auto range = keys_in(db, bounded);
      largest = std::max(largest, range.size());
      joined.insert(joined.end(), range.begin(), range.end());
    }
    CHECK(joined == all);
    // Balanced from estimates in a table file; a memtable's estimate is coarser.
    if (flushed) CHECK(largest <= all.size() / parts * 3 / 2 + 1);
  }
}

TEST_CASE("a family smaller than the minimum, or empty, is not split", "[store]") {
  temp_dir dir;
  store db(dir.path("db"));
  CHECK(db.split_record_names(2, 0).empty());  // empty
  fill(db, 100, 10, true);
  CHECK(db.split_record_names(2).empty());  // about 2 KB, under the default minimum
  CHECK(db.split_record_names(1, 0).empty());
}

TEST_CASE("a bounded scan sees only the keys from its lower bound up to its upper bound, excluded", "[store]") {
  temp_dir dir;
  store db(dir.path("db"));
  commit_batch batch(db);
  for (const char* key : {"a", "b", "b\x01", "c", "d"}) batch.put_record(key, "v");
  db.commit(batch, false);
  const std::string_view b("b"), c("c");
  CHECK(keys_in(db, {b, c}) == std::vector<std::string>{"b", "b\x01"});
  CHECK(keys_in(db, {std::nullopt, b}) == std::vector<std::string>{"a"});
  CHECK(keys_in(db, {c, std::nullopt}) == std::vector<std::string>{"c", "d"});
}
