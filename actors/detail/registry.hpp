// The process-wide table of registered functions: the only code a snapshot can name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "actors/detail/node.hpp"

namespace revenant::detail {

// Everything the decoder needs to rebuild a closure of one registered function.
// Entries are created once and never move or die, so pointers to them stay valid.
struct function_entry {
  std::string name;                       // stable name, written to snapshots
  const void* signature;                  // tag_of<closure<Sig>>()
  std::string_view signature_name;        // "void()", for messages
  std::string_view cpp_name;              // the C++ function, for messages
  const void* implementation;             // identifies (Sig, Fn): same name, same code
  std::uint32_t capture_count;
  std::shared_ptr<node_base> (*make_empty)();  // a node whose captures are default-constructed
};

// Adds an entry. Registering the same (name, implementation) twice is a no-op; a name already
// used by other code, or code already registered under another name, throws std::logic_error.
// Thread-safe.
const function_entry& register_function(function_entry entry);

// The entry registered under name, or nullptr. Thread-safe.
const function_entry* find_function(std::string_view name) noexcept;

}  // namespace revenant::detail
