// Cells: mutable shared slots, the way cycles are tied in a closure graph.
#pragma once

#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "actors/detail/archive.hpp"
#include "actors/detail/node.hpp"

namespace revenant {

template <class T>
class cell;

namespace detail {

template <class T>
class cell_node final : public node_base {
  static_assert(std::is_default_constructible_v<T>, "a cell's value type must be default-constructible");

 public:
  cell_node() = default;
  template <class... Args>
  explicit cell_node(std::in_place_t, Args&&... args) : value_(std::forward<Args>(args)...) {}

  static const void* static_type() noexcept { return tag_of<cell<T>>(); }
  static std::string_view static_type_name() noexcept {
    static constexpr std::string_view name = type_name<cell<T>>();
    return name;
  }
  static std::shared_ptr<cell_node> create_for_load(graph_input_archive&) { return std::make_shared<cell_node>(); }

  const void* type() const noexcept override { return static_type(); }
  std::string_view type_display_name() const noexcept override { return static_type_name(); }
  const function_entry* function() const noexcept override { return nullptr; }
  void save_contents(graph_output_archive& ar) const override { ar(value_); }
  void load_contents(graph_input_archive& ar) override { ar(value_); }
  void clear_contents() noexcept override { value_ = T{}; }
  bool direct_children(child_list& out) const override { return collect_edge(out, value_); }

  T value_{};
};

}  // namespace detail

// A handle to a mutable slot holding a T. Copies of a handle share one slot (like
// shared_ptr); a snapshot preserves that sharing and any cycle through the slot.
// A default-constructed handle is empty: it refers to no slot.
// Not synchronised: one actor (one thread at a time) uses a graph.
// T must be default-constructible and serializable with Cereal; it may be incomplete where
// the handle is declared, so a struct can hold cells of itself (a list built of cells).
template <class T>
class cell {
 public:
  cell() noexcept = default;
  cell(const cell&) noexcept = default;
  cell(cell&& other) noexcept = default;
  cell& operator=(cell other) noexcept {
    node_.swap(other.node_);
    return *this;
  }
  ~cell() { detail::dispose(std::move(node_)); }

  // The value in the slot. Throws std::logic_error if this handle is empty.
  T& get() const { return checked().value_; }
  // Replaces the value in the slot. Throws std::logic_error if this handle is empty.
  void set(T value) const { checked().value_ = std::move(value); }

  // True if this handle refers to a slot.
  explicit operator bool() const noexcept { return node_ != nullptr; }
  // The slot's address: equal for handles that share one slot.
  const void* identity() const noexcept { return node_.get(); }
  friend bool operator==(const cell& a, const cell& b) noexcept { return a.node_ == b.node_; }

  // Cereal hooks; cells serialize only through revenant's snapshot codec.
  void save(detail::graph_output_archive& ar) const { ar.save_node(node_); }
  void load(detail::graph_input_archive& ar) { *this = cell(ar.load_node<detail::cell_node<T>>()); }

 private:
  template <class U, class... Args>
  friend cell<U> make_cell(Args&&... args);
  friend struct detail::edge_traits<cell>;

  explicit cell(std::shared_ptr<detail::cell_node<T>> node) noexcept : node_(std::move(node)) {}

  detail::cell_node<T>& checked() const {
    if (!node_) throw std::logic_error("revenant: use of an empty cell<" + std::string(detail::type_name<T>()) + ">");
    return *node_;
  }

  std::shared_ptr<detail::cell_node<T>> node_;
};

namespace detail {
template <class T>
struct edge_traits<cell<T>> {
  static constexpr bool handle = true;
  static constexpr bool leaf = false;
  static node_base* node(const cell<T>& c) noexcept { return c.node_.get(); }
};
}  // namespace detail

// A new slot holding T(args...).
template <class T, class... Args>
cell<T> make_cell(Args&&... args) {
  return cell<T>(std::make_shared<detail::cell_node<T>>(std::in_place, std::forward<Args>(args)...));
}

}  // namespace revenant
