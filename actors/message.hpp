// Messages: values of any movable type, delivered between actors of one process without being
// serialized. Durable delivery serializes them: their type must then be registered
// (actors/message_type.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>

#include "actors/detail/node.hpp"

namespace revenant {

class actor_ref;

namespace detail {
class actor_base;
struct message_type_entry;
struct message_fields;  // the runtime's access to the fields below (actors/internal/access.hpp)
// Set by message_type<T> when T is registered; nullptr for types only sent in memory.
template <class T>
struct registered_message {
  inline static const message_type_entry* entry = nullptr;
};
}  // namespace detail

// One message in flight: its value and who sent it. Owned by exactly one mailbox or handler at
// a time (message_ptr); a handler sees it as `const message&` and reads the value in place.
class message {
 public:
  message(const message&) = delete;
  message& operator=(const message&) = delete;
  virtual ~message();

  // The value, if it is a T; nullptr otherwise. Matching is exact (no conversions).
  template <class T>
  const T* get_if() const noexcept;
  // True if the value is a T.
  template <class T>
  bool is() const noexcept {
    return type_ == detail::tag_of<T>();
  }
  // The C++ type of the value, for diagnostics.
  std::string_view type_name() const noexcept { return type_name_; }
  // The registration of the value's type (actors/message_type.hpp), or nullptr if it has none.
  virtual const detail::message_type_entry* registration() const noexcept = 0;

 protected:
  message(const void* type, std::string_view type_name) noexcept : type_(type), type_name_(type_name) {}

 private:
  friend struct detail::message_fields;

  const void* type_;
  std::string_view type_name_;
  message* next_ = nullptr;                        // mailbox link, owned by the mailbox
  std::shared_ptr<detail::actor_base> sender_;     // null for messages from outside the system
  std::uint64_t request_id_ = 0;                   // nonzero: an ask awaiting a reply
  std::uint64_t response_to_ = 0;                  // nonzero: the reply to that ask of the recipient
  std::uint64_t durable_seq_ = 0;                  // nonzero: its key in the recipient's durable mailbox
  std::uint64_t order_ = 0;                        // nonzero: its sender's number for it (docs/migration.md 9)
};

namespace detail {
template <class T>
class message_of final : public message {
 public:
  template <class... Args>
  explicit message_of(std::in_place_t, Args&&... args)
      : message(tag_of<T>(), value_type_name()), value(std::forward<Args>(args)...) {}
  T value;

  const message_type_entry* registration() const noexcept override { return registered_message<T>::entry; }

 private:
  static std::string_view value_type_name() noexcept {
    static constexpr std::string_view name = ::revenant::detail::type_name<T>();
    return name;
  }
};
}  // namespace detail

template <class T>
const T* message::get_if() const noexcept {
  return is<T>() ? &static_cast<const detail::message_of<T>*>(this)->value : nullptr;
}

using message_ptr = std::unique_ptr<message>;

// A new message holding T(args...): one allocation, value and envelope together.
template <class T, class... Args>
message_ptr make_message(Args&&... args) {
  static_assert(std::is_same_v<T, std::remove_cvref_t<T>>, "message types are plain value types");
  return std::make_unique<detail::message_of<T>>(std::in_place, std::forward<Args>(args)...);
}

}  // namespace revenant
