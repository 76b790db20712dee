// The name table: the running named actors by name (runtime/internal/name_table.hpp).
#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/internal/name_table.hpp"

using revenant::detail::name_table;

namespace {

struct named_thing {
  std::string name;
  int tag = 0;
  const std::string& given_name() const noexcept { return name; }
};
using thing_ptr = std::shared_ptr<named_thing>;

thing_ptr thing(std::string name, int tag = 0) { return std::make_shared<named_thing>(named_thing{std::move(name), tag}); }

}  // namespace

TEST_CASE("the name table finds what it holds by name and refuses a second value under a name", "[name_table]") {
  name_table<named_thing> table;
  CHECK(table.find("a") == nullptr);
  CHECK(table.size() == 0);
  const thing_ptr a = thing("a", 1);
  CHECK(table.insert(a));
  CHECK_FALSE(table.insert(thing("a", 2)));
  REQUIRE(table.find("a") != nullptr);
  CHECK((*table.find("a"))->tag == 1);
  CHECK(table.contains("a"));
  CHECK_FALSE(table.contains("b"));
  CHECK_FALSE(table.contains(""));
  CHECK(table.size() == 1);
  // find_or_insert: the value already there wins; a new name is inserted.
  CHECK(table.find_or_insert(thing("a", 3), name_table<named_thing>::hash("a")) == a);
  const thing_ptr b = thing("b", 4);
  CHECK(table.find_or_insert(b, name_table<named_thing>::hash("b")) == b);
  CHECK(table.size() == 2);
}

TEST_CASE("the name table erases an entry only for the value it holds", "[name_table]") {
  name_table<named_thing> table;
  const thing_ptr first = thing("x");
  const thing_ptr impostor = thing("x");
  table.insert(first);
  CHECK(table.erase("x", impostor.get()) == nullptr);  // a stopped actor's namesake stays
  CHECK(table.contains("x"));
  CHECK(table.erase("x", first.get()) == first);
  CHECK_FALSE(table.contains("x"));
  CHECK(table.erase("x", first.get()) == nullptr);
  CHECK(table.size() == 0);
}

TEST_CASE("the name table agrees with std::unordered_map through random inserts and erases", "[name_table]") {
  // Few names, many operations, a table kept 3/4 full: long probe runs, so erasing must shift
  // entries back correctly or later lookups miss.
  std::mt19937 random(20261124);
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) names.push_back("actor/" + std::to_string(i * 7919 % 1000));
  name_table<named_thing> table;
  std::unordered_map<std::string, thing_ptr> reference;
  for (int op = 0; op < 60000; ++op) {
    const std::string& name = names[random() % names.size()];
    if (random() % 3 == 0) {
      const thing_ptr t = thing(name, op);
      const bool fresh = !reference.contains(name);
      CHECK(table.insert(t) == fresh);
      if (fresh) reference.emplace(name, t);
    } else if (random() % 2 == 0) {
      const thing_ptr t = thing(name, op);
      const auto [it, fresh] = reference.emplace(name, t);
      CHECK(table.find_or_insert(t, name_table<named_thing>::hash(name)) == it->second);
    } else {
      const auto it = reference.find(name);
      const thing_ptr removed = table.erase(name, it == reference.end() ? nullptr : it->second.get());
      CHECK(removed == (it == reference.end() ? nullptr : it->second));
      if (it != reference.end()) reference.erase(it);
    }
    if (op % 997 == 0) {
      REQUIRE(table.size() == reference.size());
      for (const auto& n : names) {
        const auto it = reference.find(n);
        const thing_ptr* found = table.find(n);
        REQUIRE((found == nullptr) == (it == reference.end()));
        if (found) CHECK(found->get() == it->second.get());
      }
    }
  }
}

TEST_CASE("the name table keeps every entry when it grows, and drains them all", "[name_table]") {
  name_table<named_thing> table;
  std::vector<thing_ptr> things;
  for (int i = 0; i < 5000; ++i) {
    std::string name = "n";  // appended: GCC 12 at -O3 misreports `"n" + std::string` (GCC bug 105651)
    name += std::to_string(i);
    things.push_back(thing(std::move(name), i));
    REQUIRE(table.insert(things.back()));
  }
  table.reserve(20000);  // grows again, rehashing
  for (const auto& t : things) {
    const thing_ptr* found = table.find(t->name);
    REQUIRE(found != nullptr);
    CHECK(found->get() == t.get());
  }
  std::size_t drained = 0;
  table.drain([&](thing_ptr t) {
    ++drained;
    CHECK(t.use_count() == 2);  // the table's reference was moved out, not copied
  });
  CHECK(drained == things.size());
  CHECK(table.size() == 0);
  CHECK(table.find("n1") == nullptr);
  CHECK(table.insert(thing("n1")));  // usable after draining
}
