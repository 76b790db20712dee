// A store directory opened with RocksDB alone (not through revenant::store), as a tool would:
// for tests that read or tamper with the documented layout (docs/format.md, section 8).
#pragma once

#include <catch2/catch.hpp>

#include <rocksdb/db.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace revenant::test {

// The column families of section 8.2, in the order the store opens them.
inline const std::vector<std::string> documented_families = {rocksdb::kDefaultColumnFamilyName, "actors", "mailbox",
                                                      "wake", "quarantine", "journal", "outbox", "inbox",
                                                      "migrating", "moved", "incoming"};

// Opens a store directory with RocksDB alone (not through revenant::store), as a tool would.
struct raw_store {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> families;

  explicit raw_store(const std::string& path) {
    rocksdb::Options options;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : documented_families) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    const rocksdb::Status s = rocksdb::DB::Open(options, path, descriptors, &families, &db);
    REQUIRE(s.ok());
  }
  ~raw_store() {
    for (auto* h : families) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  rocksdb::ColumnFamilyHandle* family(const std::string& name) const {
    const auto at = std::find(documented_families.begin(), documented_families.end(), name);
    return families.at(static_cast<std::size_t>(at - documented_families.begin()));
  }
  std::optional<std::string> get(const std::string& family_name, std::string_view key) const {
    std::string value;
    const rocksdb::Status s =
        db->Get(rocksdb::ReadOptions(), family(family_name), rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::nullopt;
    REQUIRE(s.ok());
    return value;
  }
  void put(const std::string& family_name, std::string_view key, std::string_view value) {
    REQUIRE(db->Put(rocksdb::WriteOptions(), family(family_name), rocksdb::Slice(key.data(), key.size()),
                    rocksdb::Slice(value.data(), value.size()))
                .ok());
  }
  std::vector<std::string> keys(const std::string& family_name) const {
    std::vector<std::string> out;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), family(family_name)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.push_back(it->key().ToString());
    return out;
  }
  void erase(const std::string& family_name, std::string_view key) {
    REQUIRE(db->Delete(rocksdb::WriteOptions(), family(family_name), rocksdb::Slice(key.data(), key.size())).ok());
  }
};

}  // namespace revenant::test
