// The encoding half of the archive pair (actors/detail/archive.hpp): writes a graph's payload, or
// only walks the graph.
#pragma once

#include "actors/detail/archive_base.hpp"

namespace revenant::detail {

// Observes an encoder's walk (the inspect tool draws graphs with it). Node ids are the ones the
// payload would hold; node 0 stands for the root value. Called on the encoding thread, in payload
// order; the node references passed are valid only during the call.
class graph_tracer {
 public:
  // Node id is met for the first time.
  virtual void on_node(std::uint32_t id, const node_base& node) = 0;
  // The contents of node from (or the root value) reference node to; once per reference written.
  virtual void on_edge(std::uint32_t from, std::uint32_t to) = 0;
  // The contents of node from (or the root value) hold a std::shared_ptr to object (never null).
  // Values inside that object are attributed to node from as well, when they are first written.
  virtual void on_shared(std::uint32_t from, const void* object) = 0;

 protected:
  ~graph_tracer() = default;
};

// Writes a graph's payload into a string, or (with a null string) only walks the graph:
// release() uses the walk to find every node reachable from a root. A tracer, if given, is told
// of every node, reference and shared object the walk meets (it must outlive the archive).
class graph_output_archive : public cereal::OutputArchive<graph_output_archive, cereal::AllowEmptyClassElision> {
 public:
  // resolver: names the actors the graph references (null: by their own name()).
  explicit graph_output_archive(std::string* out, graph_tracer* tracer = nullptr, actor_resolver* resolver = nullptr)
      : cereal::OutputArchive<graph_output_archive, cereal::AllowEmptyClassElision>(this),
        out_(out),
        tracer_(tracer),
        resolver_(resolver) {}

  // Who names actor references in this payload (null: each its own name()).
  actor_resolver* resolver() const noexcept { return resolver_; }

  void write(const void* data, std::size_t size) {
    if (out_ != nullptr && size != 0) out_->append(static_cast<const char*>(data), size);
  }
  void write_u32(std::uint32_t v) { write(&v, sizeof v); }

  // Nesting bookkeeping, called by Cereal around every value (prologue/epilogue below).
  void enter() {
    if (++depth_ > max_nesting)
      throw std::length_error("revenant: values nest more than " + std::to_string(max_nesting) +
                              " levels deep; link long or deep structures through cells, which are "
                              "encoded without nesting");
  }
  void leave() noexcept { --depth_; }

  // Cereal's shared-pointer ids (docs/format.md, 4.2), kept here instead of in OutputArchive's
  // hash map; revenant's pointer saver (below) calls this instead of Cereal's, which is deleted
  // here so that no saver can bypass it. Returns 0 for null, id | 0x80000000 the first time an
  // object is seen (ids 1, 2, ... in order), the bare id after. The archive holds each object
  // until it is destroyed, so an address cannot be reused under another object while it names an
  // id. Each object is reported to the tracer, if any. A strong (not weak) reference to an object
  // whose contents are being written is a cycle of std::shared_ptrs, which no reader accepts
  // (it could never be freed): writing one throws std::invalid_argument naming type.
  std::uint32_t register_shared(const std::shared_ptr<const void>& object, bool weak, std::string_view (*type)() noexcept) {
    if (!object) return 0;
    if (tracer_ != nullptr) tracer_->on_shared(current_node_, object.get());
    auto [id, inserted] = shared_ids_.try_emplace(object.get(), static_cast<std::uint32_t>(shared_ids_.size() + 1));
    if (inserted) {
      shared_held_.push_back({object, true});
      return *id | 0x80000000u;
    }
    if (!weak && shared_held_[*id - 1].writing && out_ != nullptr)
      throw std::invalid_argument("revenant: a std::shared_ptr<" + std::string(type()) +
                                  "> refers back to an object that holds it (a cycle of strong std::shared_ptrs, "
                                  "which could never be freed and which no snapshot reader accepts); tie the cycle "
                                  "through a revenant::cell or a std::weak_ptr");
    return *id;
  }
  // The contents of shared object id (a new id register_shared returned) are written.
  void shared_written(std::uint32_t id) noexcept { shared_held_[(id & ~0x80000000u) - 1].writing = false; }
  std::uint32_t registerSharedPointer(const std::shared_ptr<const void>&) = delete;

  // Set while a std::weak_ptr is written: the pointer saver takes it (see register_shared).
  bool take_weak() noexcept { return std::exchange(weak_next_, false); }
  void expect_weak(bool weak) noexcept { weak_next_ = weak; }

  // Writes a reference to node (0 for null); a node seen for the first time gets the next id
  // and, if it is a closure, its function-table index.
  template <class Node>
  void save_node(const std::shared_ptr<Node>& node) {
    if (!node) {
      write_u32(0);
      return;
    }
    const node_base* key = node.get();
    auto [id, inserted] = ids_.try_emplace(key, static_cast<std::uint32_t>(nodes_.size() + 1));
    write_u32(*id);
    if (tracer_ != nullptr) {
      if (inserted) tracer_->on_node(*id, *key);
      tracer_->on_edge(current_node_, *id);
    }
    if (!inserted) return;
    nodes_.push_back(key);
    if (const function_entry* fn = key->function()) save_function(*fn);
  }

  // Writes the contents of every node not yet written, in id order, including nodes first
  // met while doing so. Returns when the graph is complete.
  void drain() {
    while (drained_ < nodes_.size()) {
      const node_base* node = nodes_[drained_++];
      if (tracer_ != nullptr) current_node_ = static_cast<std::uint32_t>(drained_);
      node->save_contents(*this);
    }
  }

  // Empties every node reached, highest id first (see release()).
  void clear_all() noexcept {
    // Node ids grow away from the root: each node was first reached through a node of lower
    // id (or the root itself), which still holds it until that lower node is cleared. So in
    // descending order every node is alive when cleared, without holding extra references.
    for (std::size_t i = nodes_.size(); i > 0; --i) const_cast<node_base*>(nodes_[i - 1])->clear_contents();
  }

 private:
  void save_function(const function_entry& fn) {
    if (&fn == last_function_) {
      write_u32(last_function_index_);
      return;
    }
    auto [index, inserted] = functions_.try_emplace(&fn, static_cast<std::uint32_t>(functions_.size()));
    write_u32(*index);
    if (inserted) {
      const std::uint64_t length = fn.name.size();
      write(&length, sizeof length);
      write(fn.name.data(), fn.name.size());
      write_u32(fn.capture_count);
    }
    last_function_ = &fn;
    last_function_index_ = *index;
  }

  std::string* out_;
  int depth_ = 0;
  pointer_map<std::uint32_t> ids_;                 // node address -> id
  // In id order (id = index + 1). Not owning: the caller's root keeps the graph alive, and a
  // save does not change it.
  small_vector<const node_base*, 16> nodes_;
  std::size_t drained_ = 0;
  pointer_map<std::uint32_t> functions_;           // function entry -> function-table index
  const function_entry* last_function_ = nullptr;
  std::uint32_t last_function_index_ = 0;
  graph_tracer* tracer_;
  actor_resolver* resolver_;
  std::uint32_t current_node_ = 0;                 // whose contents are being written (tracing only)
  pointer_map<std::uint32_t> shared_ids_;          // Cereal shared-pointer object -> id
  struct held_shared {
    std::shared_ptr<const void> object;
    bool writing = false;  // its contents are being written
  };
  small_vector<held_shared, 4> shared_held_;       // in id order (id = index + 1)
  bool weak_next_ = false;
};

}  // namespace revenant::detail
