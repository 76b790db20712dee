// Registered messages shared by the durable-actor tests (they cross durable mailboxes).
#pragma once

#include <cstdint>

#include "actors/message_type.hpp"

namespace revenant::test {

// Add n to a counter.
struct add {
  std::int64_t n = 0;
  template <class A>
  void serialize(A& a) {
    a(n);
  }
};
// Ask for a value; answered with value_is.
struct get {
  template <class A>
  void serialize(A&) {}
};
struct value_is {
  std::int64_t value = 0;
  template <class A>
  void serialize(A& a) {
    a(value);
  }
};

// Stop.
struct quit {
  template <class A>
  void serialize(A&) {}
};

inline const revenant::message_type<add> add_type{"test.add"};
inline const revenant::message_type<get> get_type{"test.get"};
inline const revenant::message_type<value_is> value_is_type{"test.value_is"};
inline const revenant::message_type<quit> quit_type{"test.quit"};

}  // namespace revenant::test
