// Registered functions and state types shared by the test files.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "actors/closure.hpp"
#include "actors/graph.hpp"

namespace revenant::test {

using revenant::cell;
using revenant::closure;

// --- seed shape 1: f1(arg) returns f3, which captured f2; both report arg --------------------
inline std::string f2_body(const std::string& arg) { return "f2:" + arg; }
inline const revenant::function<std::string(), f2_body> f2_fn{"test.seed.f2"};

inline std::string f3_body(const closure<std::string()>& f2, const std::string& arg) { return "f3:" + arg + " " + f2(); }
inline const revenant::function<std::string(), f3_body> f3_fn{"test.seed.f3"};

inline closure<std::string()> f1(const std::string& arg) { return f3_fn.bind(f2_fn.bind(arg), arg); }

// --- seed shape 2: g1() returns g2, whose closure holds g2 itself ----------------------------
// g2 returns the identity of the closure it captured.
inline const void* g2_body(const revenant::self_ref<const void*()>& self) { return self.get().identity(); }
inline const revenant::function<const void*(), g2_body> g2_fn{"test.seed.g2"};

inline closure<const void*()> g1() { return g2_fn.bind_recursive(); }

// --- mutual recursion: is_even captures (a slot holding) is_odd, is_odd captures is_even ------
inline bool is_even_body(int n, const cell<closure<bool(int)>>& is_odd) { return n == 0 ? true : is_odd.get()(n - 1); }
inline const revenant::function<bool(int), is_even_body> is_even_fn{"test.is_even"};
inline bool is_odd_body(int n, const closure<bool(int)>& is_even) { return n == 0 ? false : is_even(n - 1); }
inline const revenant::function<bool(int), is_odd_body> is_odd_fn{"test.is_odd"};

// Returns {is_even, is_odd}, tied into a cycle.
inline std::pair<closure<bool(int)>, closure<bool(int)>> make_parity() {
  auto odd_slot = revenant::make_cell<closure<bool(int)>>();
  closure<bool(int)> even = is_even_fn.bind(odd_slot);
  closure<bool(int)> odd = is_odd_fn.bind(even);
  odd_slot.set(odd);
  return {even, odd};
}

// --- a traffic light: red -> green -> yellow -> red, one shared counter ---------------------
struct counter {
  std::uint64_t transitions = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(transitions);
  }
};
// A light reports its colour and the counter object it counts with, then hands over to next.
using light_report = std::pair<std::string, const counter*>;
using light = closure<light_report()>;

inline light_report light_body(const std::string& colour, const std::shared_ptr<counter>& count,
                               const cell<light>& current, const cell<light>& next) {
  ++count->transitions;
  current.set(next.get());
  return {colour, count.get()};
}
inline const revenant::function<light_report(), light_body> light_fn{"test.light"};

// The machine is the cell holding the current light.
inline cell<light> make_traffic_light() {
  auto count = std::make_shared<counter>();
  auto current = revenant::make_cell<light>();
  auto to_green = revenant::make_cell<light>();
  auto to_yellow = revenant::make_cell<light>();
  auto to_red = revenant::make_cell<light>();
  light red = light_fn.bind("red", count, current, to_green);
  light green = light_fn.bind("green", count, current, to_yellow);
  light yellow = light_fn.bind("yellow", count, current, to_red);
  to_green.set(green);
  to_yellow.set(yellow);
  to_red.set(red);
  current.set(red);
  return current;
}

// --- shared state between independent closures ----------------------------------------------
struct account {
  std::int64_t balance = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(balance);
  }
};
inline std::int64_t deposit_body(std::int64_t amount, const std::shared_ptr<account>& acc) {
  return acc->balance += amount;
}
inline const revenant::function<std::int64_t(std::int64_t), deposit_body> deposit_fn{"test.deposit"};

// --- wide graphs: closures that report their shared state object and their index -----------
struct group_state {
  std::uint64_t value = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(value);
  }
};
using member_report = std::pair<const group_state*, std::uint32_t>;
inline member_report member_body(const std::shared_ptr<group_state>& state, std::uint32_t index) {
  return {state.get(), index};
}
inline const revenant::function<member_report(), member_body> member_fn{"test.group_member"};

// --- long chains: each link captures the next; walked without recursion -------------------
struct chain_walker;
using chain_link = closure<void(chain_walker&)>;
struct chain_walker {
  chain_link next;
  std::uint64_t visited = 0;
  std::uint64_t index_sum = 0;
};
inline void link_body(chain_walker& walker, const chain_link& next, std::uint32_t index) {
  walker.next = next;
  ++walker.visited;
  walker.index_sum += index;
}
inline const revenant::function<void(chain_walker&), link_body> link_fn{"test.chain_link"};

inline chain_link make_chain(std::uint32_t length) {
  chain_link head;
  for (std::uint32_t i = 0; i < length; ++i) head = link_fn.bind(head, i);
  return head;
}
inline chain_walker walk_chain(const chain_link& head) {
  chain_walker walker;
  for (chain_link at = head; at;) {
    at(walker);
    at = std::exchange(walker.next, chain_link{});
  }
  return walker;
}

// A list made of cells: a user struct holding a cell of itself.
struct cons {
  std::uint32_t value = 0;
  cell<cons> next;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(value, next);
  }
};

}  // namespace revenant::test
