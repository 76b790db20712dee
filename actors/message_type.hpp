// Registered message types: the only values durable (and, later, remote) delivery can carry.
//
//   struct deposit { std::int64_t amount; template <class A> void serialize(A& a) { a(amount); } };
//   inline const revenant::message_type<deposit> deposit_type{"bank.deposit"};
//
// Messages between transient actors never need this: they are not serialized. A message sent
// to a durable actor is written to its mailbox, so its type must be registered; sending an
// unregistered type there throws std::logic_error naming the type.
#pragma once

#include <string>
#include <string_view>

#include "actors/detail/archive.hpp"
#include "actors/message.hpp"

namespace revenant {
namespace detail {

// How one registered message type is written and read. Entries live for the whole program.
struct message_type_entry {
  std::string name;          // stable name, written to mailboxes
  const void* tag;           // tag_of<T>()
  std::string_view cpp_name; // for messages
  void (*save)(graph_output_archive& ar, const message& m);  // writes the value only
  message_ptr (*load)(graph_input_archive& ar);              // a new message holding the value
};

// Adds an entry. The same (name, type) twice is a no-op; a name used for another type, or a
// type registered under another name, throws std::logic_error. Thread-safe.
const message_type_entry& register_message_type(message_type_entry entry);
// The entry registered under name, or nullptr. Thread-safe.
const message_type_entry* find_message_type(std::string_view name) noexcept;

}  // namespace detail

// Registers T as a message type under a stable name. T must be default-constructible and
// serializable with Cereal (it may hold actor_refs, closures and cells). Define one at namespace
// scope so it registers before main; never rename it once mailboxes hold it.
template <class T>
class message_type {
 public:
  explicit message_type(std::string_view name)
      : entry_(&detail::register_message_type(detail::message_type_entry{
            std::string(name), detail::tag_of<T>(), detail::type_name<T>(), &save, &load})) {
    detail::registered_message<T>::entry = entry_;
  }
  // The registered name.
  const std::string& name() const noexcept { return entry_->name; }

 private:
  static void save(detail::graph_output_archive& ar, const message& m) { ar(*m.get_if<T>()); }
  static message_ptr load(detail::graph_input_archive& ar) {
    auto m = std::make_unique<detail::message_of<T>>(std::in_place);
    ar(m->value);
    return m;
  }

  const detail::message_type_entry* entry_;
};

}  // namespace revenant
