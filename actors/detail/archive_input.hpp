// The decoding half of the archive pair (actors/detail/archive.hpp): reads a payload, bounds-
// checking every read.
#pragma once

#include "actors/detail/archive_base.hpp"

namespace revenant::detail {

// Reads a payload. Every read is bounds-checked; every failure throws snapshot_error with the
// offset of the field at fault (counted from the snapshot's first byte: base + position).
class graph_input_archive : public cereal::InputArchive<graph_input_archive, cereal::AllowEmptyClassElision> {
 public:
  // resolver: turns the actor names the payload holds back into actors (null: a reference
  // cannot be decoded; only an actor system has one).
  // subject is moved in once, or copied once from an lvalue (an eager open decodes a million).
  graph_input_archive(std::string_view payload, std::size_t base_offset, std::string&& subject,
                      actor_resolver* resolver = nullptr)
      : cereal::InputArchive<graph_input_archive, cereal::AllowEmptyClassElision>(this),
        data_(payload),
        base_(base_offset),
        subject_(std::move(subject)),
        resolver_(resolver) {}
  graph_input_archive(std::string_view payload, std::size_t base_offset, const std::string& subject,
                      actor_resolver* resolver = nullptr)
      : graph_input_archive(payload, base_offset, std::string(subject), resolver) {}

  graph_input_archive(const graph_input_archive&) = delete;
  graph_input_archive& operator=(const graph_input_archive&) = delete;
  // A load that did not complete leaves a half-built graph whose cycles would leak: empty
  // every node built so far. (Nothing to do after finish(): the nodes are then the caller's.)
  ~graph_input_archive() {
    if (!finished_)
      for (std::size_t i = 0; i < nodes_.size(); ++i) nodes_[i]->clear_contents();
  }

  // Inline, with the failure out of line: a record's every field comes through here, and a
  // fixed-size read then compiles to a bounds check and a move.
  void read(void* data, std::size_t size) {
    if (size > remaining()) [[unlikely]]
      fail_truncated(size);
    if (size == 0) return;  // an empty vector's data() may be null: no memcpy from or to it
    std::memcpy(data, data_.data() + pos_, size);
    pos_ += size;
  }
  // The next size bytes, as a view into the payload (no copy).
  std::string_view read_view(std::size_t size) {
    if (size > remaining()) [[unlikely]]
      fail_truncated(size);
    const std::string_view view = data_.substr(pos_, size);
    pos_ += size;
    return view;
  }
  std::uint32_t read_u32() {
    std::uint32_t v;
    read(&v, sizeof v);
    return v;
  }
  // A length or element count: never more than the bytes left, since every element takes at
  // least one byte. This bounds every allocation a hostile length can cause.
  std::uint64_t read_length() {
    const std::size_t at = pos_;
    std::uint64_t n;
    read(&n, sizeof n);
    if (n > remaining()) [[unlikely]]
      fail_length(at, n);
    return n;
  }

  void enter() {
    if (++depth_ > max_nesting) [[unlikely]]
      fail_nesting();
  }
  void leave() noexcept { --depth_; }

  std::size_t remaining() const noexcept { return data_.size() - pos_; }
  std::size_t offset() const noexcept { return base_ + pos_; }
  std::size_t position() const noexcept { return pos_; }

  // Cereal's shared-pointer ids while reading (docs/format.md, 4.2), kept here instead of in
  // InputArchive's hash map. revenant's pointer loaders (below) replace Cereal's for this archive
  // and call these; Cereal's registerSharedPointer and getSharedPointer are deleted here, so no
  // loader can bypass them. Every object is recorded with its type; a back-reference is accepted
  // only to an object of exactly the type the reader expects, and, unless it is a std::weak_ptr's,
  // only once that object's load has finished (a strong one would close a cycle of
  // std::shared_ptrs that nothing could free). Writers number objects 1, 2, ...: those are kept
  // in a vector, and any other fresh id a forged payload makes up in a map. at is the offset of
  // the id, for errors.

  // Records object (of type T) under new id (without its top bit); its load is in progress until
  // shared_loaded(id).
  template <class T>
  void define_shared(std::size_t at, std::uint32_t id, std::shared_ptr<T> object) {
    shared_slot slot{std::move(object), &shared_type_of<T>, true};
    if (id == 0) fail_at(at, snapshot_errc::bad_reference, "shared pointer id 0 is reserved for null");
    if (id <= shared_dense_.size() || (shared_more_ && shared_more_->count(id) != 0))
      fail_at(at, snapshot_errc::bad_reference, "shared pointer id " + std::to_string(id) + " is defined twice");
    if (id == shared_dense_.size() + 1) {
      shared_dense_.push_back(std::move(slot));
    } else {
      if (!shared_more_) shared_more_ = std::make_unique<std::unordered_map<std::uint32_t, shared_slot>>();
      shared_more_->emplace(id, std::move(slot));
    }
  }
  void shared_loaded(std::uint32_t id) noexcept {
    if (shared_slot* slot = find_shared(id)) slot->loading = false;
  }
  // The object back-reference id names, which must be a T (and loaded, unless weak).
  template <class T>
  std::shared_ptr<T> shared_back_reference(std::size_t at, std::uint32_t id, bool weak) {
    if (id == 0) return nullptr;
    const shared_slot* slot = find_shared(id);
    if (slot == nullptr)
      fail_at(at, snapshot_errc::bad_reference, "unknown shared pointer id " + std::to_string(id) +
                                                    ": no object with that id was read before it");
    if (slot->type != &shared_type_of<T>)
      fail_at(at, snapshot_errc::signature_mismatch,
              "shared pointer id " + std::to_string(id) + " names an object of type " +
                  std::string(slot->type->name()) + ", expected " + std::string(type_name<T>()));
    if (slot->loading && !weak)
      fail_at(at, snapshot_errc::bad_reference,
              "shared pointer id " + std::to_string(id) + " refers back to an object of type " +
                  std::string(type_name<T>()) +
                  " whose load has not finished: a std::shared_ptr to it would close a cycle that could never be "
                  "freed (only a std::weak_ptr may refer back to an object being loaded)");
    return std::static_pointer_cast<T>(slot->object);
  }
  void registerSharedPointer(std::uint32_t, std::shared_ptr<void>) = delete;
  std::shared_ptr<void> getSharedPointer(std::uint32_t) = delete;

  // Set while a std::weak_ptr is read: the pointer loader takes it (see shared_back_reference).
  bool take_weak() noexcept { return std::exchange(weak_next_, false); }
  void expect_weak(bool weak) noexcept { weak_next_ = weak; }

  // Reads a node reference written by graph_output_archive::save_node. Node is the expected
  // node class; Node::create_for_load(*this) makes an empty one when the reference is new.
  template <class Node>
  std::shared_ptr<Node> load_node() {
    const std::size_t at = pos_;
    const std::uint32_t ref = read_u32();
    if (ref == 0) return nullptr;
    if (ref <= nodes_.size()) {
      const std::shared_ptr<node_base>& n = nodes_[ref - 1];
      if (n->type() != Node::static_type())
        fail_at(at, snapshot_errc::signature_mismatch,
                "node " + std::to_string(ref) + " is a " + std::string(n->type_display_name()) + ", expected a " +
                    std::string(Node::static_type_name()));
      return std::static_pointer_cast<Node>(n);
    }
    if (ref != nodes_.size() + 1)
      fail_at(at, snapshot_errc::bad_reference,
              "node reference " + std::to_string(ref) + " but only " + std::to_string(nodes_.size()) +
                  " nodes are defined so far");
    std::shared_ptr<Node> n = Node::create_for_load(*this);
    nodes_.push_back(n);
    return n;
  }

  // Reads a function-table reference and returns the registered entry it names, checked
  // against the closure signature the reader expects.
  const function_entry& load_function(const void* signature, std::string_view signature_name);

  // Fills every node created but not yet loaded, in id order, including nodes first met
  // while doing so; then requires that the payload is used up exactly.
  void finish();

  [[noreturn]] void fail(snapshot_errc code, std::string detail) const { fail_at(pos_, code, std::move(detail)); }
  // The failures of the inline reads above, kept out of their callers.
  [[noreturn, gnu::cold, gnu::noinline]] void fail_truncated(std::size_t size) const {
    fail(snapshot_errc::truncated,
         "needs " + std::to_string(size) + " bytes, only " + std::to_string(remaining()) + " remain");
  }
  [[noreturn, gnu::cold, gnu::noinline]] void fail_length(std::size_t at, std::uint64_t n) const {
    fail_at(at, snapshot_errc::size_limit,
            "length " + std::to_string(n) + " exceeds the " + std::to_string(remaining()) + " bytes that remain");
  }
  [[noreturn, gnu::cold, gnu::noinline]] void fail_nesting() const {
    fail(snapshot_errc::nesting_limit, "values nest more than " + std::to_string(max_nesting) + " levels deep");
  }
  [[noreturn]] void fail_at(std::size_t position, snapshot_errc code, std::string detail) const {
    throw snapshot_error(code, base_ + position, std::move(detail), subject_);
  }

  // Who resolves actor references in this payload (null: nobody can).
  actor_resolver* resolver() const noexcept { return resolver_; }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::size_t base_;
  std::string subject_;
  actor_resolver* resolver_ = nullptr;
  small_vector<std::shared_ptr<node_base>, 8> nodes_;  // id order; owning until finish()
  std::size_t filled_ = 0;
  small_vector<const function_entry*, 8> functions_;
  bool finished_ = false;
  // The type of a Cereal shared object: one constant per type, whose address is its identity.
  struct shared_type {
    std::string_view (*name)() noexcept;
  };
  template <class T>
  static constexpr shared_type shared_type_of{&type_name<T>};
  struct shared_slot {
    std::shared_ptr<void> object;
    const shared_type* type = nullptr;
    bool loading = false;  // its contents are being read
  };
  shared_slot* find_shared(std::uint32_t id) noexcept {
    if (id != 0 && id <= shared_dense_.size()) return &shared_dense_[id - 1];
    if (!shared_more_) return nullptr;
    auto it = shared_more_->find(id);
    return it == shared_more_->end() ? nullptr : &it->second;
  }
  small_vector<shared_slot, 4> shared_dense_;                  // ids 1, 2, ... as writers number them
  // Any other id; made by the first (only a forged payload has one), so that an ordinary
  // decode does not construct and destroy a hash table.
  std::unique_ptr<std::unordered_map<std::uint32_t, shared_slot>> shared_more_;
  bool weak_next_ = false;
};

}  // namespace revenant::detail
