// A durable actor's order tables as its record stores them (docs/format.md 8.3.1): read by
// activation (message_order::restore) and by the inspect tool, through the same decode.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actors/snapshot_error.hpp"
#include "storage/snapshot.hpp"

namespace revenant::detail {

// One correspondent in a record's order tables (docs/format.md 8.3.1).
struct order_entry {
  std::string name;
  std::uint64_t last = 0;
  std::int64_t seen = 0;  // wall-clock ns of the last message to or from it
  template <class A>
  void serialize(A& a) {
    a(name, last, seen);
  }
};
// The root of a version-2 record's order snapshot.
struct order_image {
  std::vector<order_entry> sent;
  std::vector<order_entry> handled;
  std::int64_t moved = 0;  // wall-clock ns of the actor's last parking for a move; 0: never
  template <class A>
  void serialize(A& a) {
    a(sent, handled, moved);
  }
};

// Decodes a record's order snapshot (actor_record_view::order, not empty). Throws snapshot_error
// whose subject is "order tables of <subject>".
inline order_image read_order_tables(std::string_view bytes, const std::string& subject) {
  try {
    return decode_snapshot<order_image>(bytes, {});
  } catch (const snapshot_error& e) {
    throw e.with_subject("order tables of " + subject);
  }
}

}  // namespace revenant::detail
