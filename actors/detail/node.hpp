// Internals shared by closures and cells: the graph node base, type tags, and the
// iterative disposal that keeps destroying a long chain off the call stack.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "actors/detail/small_vector.hpp"

namespace revenant::detail {

class graph_output_archive;
class graph_input_archive;

// A unique address per type, usable as a cheap type identity (no RTTI needed).
template <class T>
struct type_tag {
  static constexpr char id = 0;
};
template <class T>
constexpr const void* tag_of() noexcept {
  return &type_tag<T>::id;
}

// Human-readable name of T, for error messages only (never written to disk).
template <class T>
constexpr std::string_view type_name() noexcept {
  std::string_view p = __PRETTY_FUNCTION__;
  const auto start = p.find("T = ") + 4;
  const auto end = p.find_first_of(";]", start);
  return p.substr(start, end - start);
}

// Human-readable name of a constant (a function pointer names its function), for messages.
template <auto V>
constexpr std::string_view value_name() noexcept {
  std::string_view p = __PRETTY_FUNCTION__;
  const auto start = p.find("V = ") + 4;
  const auto end = p.find_first_of(";]", start);
  return p.substr(start, end - start);
}

struct function_entry;
class node_base;

using child_list = small_vector<node_base*, 8>;

// How a captured value relates to the graph, for walks that need no encoder: a handle (closure,
// cell) is an edge to a node; a leaf (number, enum, string) holds none; anything else is opaque
// — it might hide handles inside, and only the encoder's walk through its serialize finds them.
template <class T>
struct edge_traits {
  static constexpr bool handle = false;
  static constexpr bool leaf = std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_same_v<T, std::string>;
};

// Appends v's node if v is a handle; false if v is opaque.
template <class T>
bool collect_edge(child_list& out, const T& v) {
  if constexpr (edge_traits<T>::handle) {
    if (node_base* n = edge_traits<T>::node(v)) out.push_back(n);
    return true;
  } else {
    return edge_traits<T>::leaf;
  }
}

// A node of a closure graph: a closure body or a cell. Nodes are the only objects the
// graph codec tracks itself (ids, iterative encoding); everything else goes through Cereal.
class node_base {
 public:
  node_base() = default;
  node_base(const node_base&) = delete;
  node_base& operator=(const node_base&) = delete;
  virtual ~node_base() = default;

  // Tag of the handle type this node backs (closure<Sig> or cell<T>): a back-reference in a
  // snapshot is accepted only where the reader expects exactly this type.
  virtual const void* type() const noexcept = 0;
  virtual std::string_view type_display_name() const noexcept = 0;
  // The registered function of a closure node; nullptr for a cell.
  virtual const function_entry* function() const noexcept = 0;

  virtual void save_contents(graph_output_archive& ar) const = 0;
  virtual void load_contents(graph_input_archive& ar) = 0;
  // Resets the contents to default-constructed values, dropping every edge out of this node.
  virtual void clear_contents() noexcept = 0;
  // Appends the nodes this node's contents reference and returns true — unless some content is
  // opaque (see edge_traits), in which case it returns false and out is unspecified.
  virtual bool direct_children(child_list& out) const = 0;
};

// Iterative destruction. Destroying the last handle to a node destroys its contents, which
// may hold the last handle to the next node, and so on: a chain of a million closures
// would recurse a million frames deep. Handles therefore release their node through
// dispose(): the outermost call on a thread destroys nodes one at a time from a local
// worklist, and nested calls (made while a node is being destroyed) only append to it.
// The worklist pointer is trivially destructible, so handles in static storage are safe.
// Nodes waiting to be destroyed, most recent first. Small graphs fit inline (no allocation).
class disposal_stack {
 public:
  void push(std::shared_ptr<node_base>&& node) {
    if (inline_size_ < inline_.size())
      inline_[inline_size_++] = std::move(node);
    else
      overflow_.push_back(std::move(node));
  }
  std::shared_ptr<node_base> pop() noexcept {
    std::shared_ptr<node_base> node;
    if (!overflow_.empty()) {
      node = std::move(overflow_.back());
      overflow_.pop_back();
    } else if (inline_size_ > 0) {
      node = std::move(inline_[--inline_size_]);
    }
    return node;
  }
  bool empty() const noexcept { return inline_size_ == 0 && overflow_.empty(); }

 private:
  std::array<std::shared_ptr<node_base>, 4> inline_;
  std::size_t inline_size_ = 0;
  std::vector<std::shared_ptr<node_base>> overflow_;
};

inline thread_local disposal_stack* disposal_worklist = nullptr;

void dispose_slow(std::shared_ptr<node_base>&& node) noexcept;

// release() without an encoder: empties every node reachable from root if the graph is made only
// of closures, cells and leaves, and returns true; returns false, having emptied nothing, if it
// meets an opaque value (the caller then walks with the encoder).
bool release_direct(node_base* root);

inline void dispose(std::shared_ptr<node_base>&& node) noexcept {
  if (!node) return;
  if (disposal_worklist != nullptr) {
    disposal_worklist->push(std::move(node));
    return;
  }
  // Not the last owner: dropping it destroys nothing. (Should another thread drop its handle
  // meanwhile, the node is destroyed here, and its contents' handles take the slow path.)
  if (node.use_count() > 1) {
    node.reset();
    return;
  }
  dispose_slow(std::move(node));
}

}  // namespace revenant::detail
