#include "actors/detail/registry.hpp"

#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>

namespace revenant::detail {
namespace {

struct registry {
  std::shared_mutex mutex;
  // Keyed by name; values are heap-allocated so references survive rehashing.
  std::unordered_map<std::string_view, std::unique_ptr<function_entry>> by_name;
  std::unordered_map<const void*, const function_entry*> by_implementation;
};

// Constructed on first use, so registrations from any translation unit's static
// initialisers find it ready. Deliberately never destroyed: handles in static storage may
// still be destroyed (and entries read) after main returns.
registry& the_registry() {
  static registry* r = new registry;
  return *r;
}

}  // namespace

const function_entry& register_function(function_entry entry) {
  registry& r = the_registry();
  std::unique_lock lock(r.mutex);
  if (auto it = r.by_name.find(entry.name); it != r.by_name.end()) {
    if (it->second->implementation == entry.implementation) return *it->second;
    throw std::logic_error("revenant: function name \"" + entry.name + "\" is registered twice, for " +
                           std::string(it->second->cpp_name) + " and for " + std::string(entry.cpp_name) +
                           "; each registered function needs its own stable name");
  }
  if (auto it = r.by_implementation.find(entry.implementation); it != r.by_implementation.end()) {
    throw std::logic_error("revenant: " + std::string(entry.cpp_name) + " with signature " +
                           std::string(entry.signature_name) + " is registered twice, as \"" +
                           it->second->name + "\" and as \"" + entry.name + "\"; register it once");
  }
  auto owned = std::make_unique<function_entry>(std::move(entry));
  const function_entry& result = *owned;
  r.by_name.emplace(result.name, std::move(owned));
  r.by_implementation.emplace(result.implementation, &result);
  return result;
}

const function_entry* find_function(std::string_view name) noexcept {
  registry& r = the_registry();
  std::shared_lock lock(r.mutex);
  auto it = r.by_name.find(name);
  return it == r.by_name.end() ? nullptr : it->second.get();
}

}  // namespace revenant::detail
