#include "actors/message_type.hpp"

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>

namespace revenant::detail {
namespace {

struct message_registry {
  std::shared_mutex mutex;
  std::unordered_map<std::string_view, std::unique_ptr<message_type_entry>> by_name;
  std::unordered_map<const void*, const message_type_entry*> by_tag;
};

// Never destroyed, like the function registry: registrations may run from any static
// initialiser, and lookups may happen during static destruction.
message_registry& the_registry() {
  static message_registry* r = new message_registry;
  return *r;
}

}  // namespace

const message_type_entry& register_message_type(message_type_entry entry) {
  message_registry& r = the_registry();
  std::unique_lock lock(r.mutex);
  if (auto it = r.by_name.find(entry.name); it != r.by_name.end()) {
    if (it->second->tag == entry.tag) return *it->second;
    throw std::logic_error("revenant: message type name \"" + entry.name + "\" is registered twice, for " +
                           std::string(it->second->cpp_name) + " and for " + std::string(entry.cpp_name));
  }
  if (auto it = r.by_tag.find(entry.tag); it != r.by_tag.end())
    throw std::logic_error("revenant: message type " + std::string(entry.cpp_name) + " is registered twice, as \"" +
                           it->second->name + "\" and as \"" + entry.name + "\"");
  auto owned = std::make_unique<message_type_entry>(std::move(entry));
  const message_type_entry& result = *owned;
  r.by_name.emplace(result.name, std::move(owned));
  r.by_tag.emplace(result.tag, &result);
  return result;
}

const message_type_entry* find_message_type(std::string_view name) noexcept {
  message_registry& r = the_registry();
  std::shared_lock lock(r.mutex);
  auto it = r.by_name.find(name);
  return it == r.by_name.end() ? nullptr : it->second.get();
}

}  // namespace revenant::detail
