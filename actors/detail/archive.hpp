// revenant's own Cereal archive pair: the payload encoding of docs/format.md.
//
// Why not PortableBinary: Cereal's binary archives trust every length they read (a flipped
// size field commits gigabytes before failing) and know nothing of closures. These archives
// write the same little-endian fixed-width primitives, but
//  - reject any length larger than the bytes that remain, before anything is allocated;
//  - know their offset, so errors say where;
//  - track closure and cell nodes themselves: a node is written in place as a reference, and
//    its contents are written later, in id order, by drain(). Loading mirrors this, creating
//    each node empty when its reference is first met (so back-edges resolve to it) and filling
//    it in the drain loop. A chain of nodes therefore never recurses, however long.
#pragma once

#include <cereal/cereal.hpp>
// Captures are often standard types: support for them comes with every closure.
#include <cereal/types/array.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <bit>
#include <cstdint>
#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/detail/node.hpp"
#include "actors/detail/pointer_map.hpp"
#include "actors/detail/registry.hpp"
#include "actors/detail/small_vector.hpp"
#include "actors/snapshot_error.hpp"

namespace revenant::detail {

// How deeply values may nest inside one another (a struct in a vector in a struct ...: each
// Cereal-visible value is a level). Closures and cells do not count: their contents are encoded
// from a loop, not from inside the value that references them. The limit keeps forged or
// runaway nesting from exhausting the stack: 1000 levels need well under 2 MB even in
// sanitizer builds.
inline constexpr int max_nesting = 1000;

static_assert(std::endian::native == std::endian::little,
              "the snapshot format is little-endian; big-endian hosts need byte swapping here");

class actor_resolver;

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
  explicit graph_output_archive(std::string* out, graph_tracer* tracer = nullptr)
      : cereal::OutputArchive<graph_output_archive, cereal::AllowEmptyClassElision>(this),
        out_(out),
        tracer_(tracer) {}

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
  std::uint32_t current_node_ = 0;                 // whose contents are being written (tracing only)
  pointer_map<std::uint32_t> shared_ids_;          // Cereal shared-pointer object -> id
  struct held_shared {
    std::shared_ptr<const void> object;
    bool writing = false;  // its contents are being written
  };
  small_vector<held_shared, 4> shared_held_;       // in id order (id = index + 1)
  bool weak_next_ = false;
};

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

// ---- Cereal hooks: primitives, names, sizes, raw data --------------------------------------

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(graph_output_archive& ar, const T& t) {
  ar.write(std::addressof(t), sizeof t);
}

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(graph_input_archive& ar, T& t) {
  if constexpr (std::is_same_v<T, bool>) {
    std::uint8_t byte;
    ar.read(&byte, 1);
    if (byte > 1)
      ar.fail_at(ar.position() - 1, snapshot_errc::malformed,
                 "bool byte is " + std::to_string(byte) + ", expected 0 or 1");
    t = byte != 0;
  } else {
    ar.read(std::addressof(t), sizeof t);
  }
}

template <class Archive, class T>
CEREAL_ARCHIVE_RESTRICT(graph_input_archive, graph_output_archive)
CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(graph_output_archive& ar, const cereal::SizeTag<T>& t) {
  const std::uint64_t n = t.size;
  ar.write(&n, sizeof n);
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(graph_input_archive& ar, cereal::SizeTag<T>& t) {
  t.size = static_cast<std::remove_reference_t<T>>(ar.read_length());
}

// Cereal's std::shared_ptr and std::weak_ptr encoding (docs/format.md, 4.2), by revenant's own
// saver and loader for every T, in place of Cereal's (overload resolution prefers these: they are
// more specialized). They write and read the same bytes as Cereal's, but keep the archives' books
// on every object (see graph_input_archive::define_shared): a back-reference is loaded only if it
// names an object of the type the reader expects, and a strong one only if that object's load is
// complete. A polymorphic pointer ends here too, for its concrete type.
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(graph_output_archive& ar,
                               const cereal::memory_detail::PtrWrapper<const std::shared_ptr<T>&>& wrapper) {
  const std::uint32_t id = ar.register_shared(wrapper.ptr, ar.take_weak(), &type_name<std::remove_const_t<T>>);
  ar(cereal::make_nvp("id", id));
  if ((id & 0x80000000u) != 0) {
    ar(cereal::make_nvp("data", *wrapper.ptr));
    ar.shared_written(id);
  }
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(graph_input_archive& ar, cereal::memory_detail::PtrWrapper<std::shared_ptr<T>&>& wrapper) {
  using object_type = std::remove_const_t<T>;
  const bool weak = ar.take_weak();
  const std::size_t at = ar.position();
  std::uint32_t id;
  ar(cereal::make_nvp("id", id));
  if ((id & 0x80000000u) == 0) {
    wrapper.ptr = ar.shared_back_reference<object_type>(at, id, weak);
    return;
  }
  id &= ~0x80000000u;
  if constexpr (cereal::traits::has_load_and_construct<T, graph_input_archive>::value) {
    // The user's load_and_construct builds the object in raw storage, registered first so that
    // back-references met meanwhile resolve to it. The object is destroyed if, and as soon as,
    // it was constructed — also when the load throws after constructing it (Cereal's own loader
    // then leaks what the object owns).
    using storage = std::aligned_storage_t<sizeof(object_type), alignof(object_type)>;
    auto built = std::make_shared<bool>(false);
    std::shared_ptr<object_type> object(reinterpret_cast<object_type*>(new storage()), [built](object_type* p) {
      if (*built) p->~object_type();
      delete reinterpret_cast<storage*>(p);
    });
    ar.define_shared(at, id, object);
    if constexpr (cereal::traits::has_shared_from_this<object_type>::value) {
      cereal::memory_detail::EnableSharedStateHelper<object_type> state(object.get());
      cereal::memory_detail::LoadAndConstructLoadWrapper<graph_input_archive, object_type> construct(
          object.get(), [&state, &built] {
            state.restore();
            *built = true;
          });
      ar(cereal::make_nvp("data", construct));
    } else {
      cereal::memory_detail::LoadAndConstructLoadWrapper<graph_input_archive, object_type> construct(
          object.get(), [&built] { *built = true; });
      ar(cereal::make_nvp("data", construct));
    }
    if (!*built) ar.fail(snapshot_errc::malformed, "a load_and_construct function returned without constructing");
    ar.shared_loaded(id);
    wrapper.ptr = std::move(object);
  } else {
    // The object and its control block in one allocation where it can be (Cereal's own loader
    // makes two); a type only cereal::access may construct is built the way Cereal builds it.
    std::shared_ptr<object_type> object;
    if constexpr (std::is_default_constructible_v<object_type>)
      object = std::make_shared<object_type>();
    else
      object.reset(cereal::detail::Construct<object_type, graph_input_archive>::load_andor_construct());
    ar.define_shared(at, id, object);
    ar(cereal::make_nvp("data", *object));
    ar.shared_loaded(id);
    wrapper.ptr = std::move(object);
  }
}

// A std::weak_ptr is a std::shared_ptr on disk; the pointer saver and loader are told it is weak,
// since a weak reference back to an object whose contents are still being written or read is
// legitimate (it makes no cycle of ownership). Same calls as Cereal's, so the same bytes.
// Marks the pointer the archive meets next as weak, for as long as it lives.
template <class Archive>
class weak_pointer_scope {
 public:
  explicit weak_pointer_scope(Archive& ar) noexcept : ar_(ar) { ar_.expect_weak(true); }
  ~weak_pointer_scope() { ar_.expect_weak(false); }
  weak_pointer_scope(const weak_pointer_scope&) = delete;
  weak_pointer_scope& operator=(const weak_pointer_scope&) = delete;

 private:
  Archive& ar_;
};

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(graph_output_archive& ar, const std::weak_ptr<T>& ptr) {
  const std::shared_ptr<T> object = ptr.lock();
  const weak_pointer_scope weak(ar);
  if constexpr (std::is_polymorphic_v<T>)
    ar(cereal::make_nvp("locked_ptr", object));
  else
    ar(cereal::make_nvp("ptr_wrapper", cereal::memory_detail::make_ptr_wrapper(object)));
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(graph_input_archive& ar, std::weak_ptr<T>& ptr) {
  std::shared_ptr<T> object;
  {
    const weak_pointer_scope weak(ar);
    if constexpr (std::is_polymorphic_v<T>)
      ar(cereal::make_nvp("locked_ptr", object));
    else
      ar(cereal::make_nvp("ptr_wrapper", cereal::memory_detail::make_ptr_wrapper(object)));
  }
  ptr = object;
}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(graph_output_archive& ar, const cereal::BinaryData<T>& bd) {
  ar.write(bd.data, static_cast<std::size_t>(bd.size));
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(graph_input_archive& ar, cereal::BinaryData<T>& bd) {
  const std::size_t at = ar.position();
  ar.read(bd.data, static_cast<std::size_t>(bd.size));
  if constexpr (std::is_same_v<std::remove_cv_t<std::remove_pointer_t<T>>, bool>) {
    // Arrays of bool travel as raw bytes: each must still be 0 or 1.
    const auto* bytes = static_cast<const unsigned char*>(static_cast<const void*>(bd.data));
    for (std::size_t i = 0; i < static_cast<std::size_t>(bd.size); ++i)
      if (bytes[i] > 1)
        ar.fail_at(at + i, snapshot_errc::malformed,
                   "bool byte is " + std::to_string(bytes[i]) + ", expected 0 or 1");
  }
}

template <class T>
void prologue(graph_output_archive& ar, const T&) {
  ar.enter();
}
template <class T>
void epilogue(graph_output_archive& ar, const T&) {
  ar.leave();
}
template <class T>
void prologue(graph_input_archive& ar, const T&) {
  ar.enter();
}
template <class T>
void epilogue(graph_input_archive& ar, const T&) {
  ar.leave();
}

// std::vector: the same encoding as Cereal's, but loading never allocates more than the bytes
// that remain could fill (Cereal resizes to the claimed length first: 1,000 claimed 64 KiB
// elements would commit 64 MiB before reading any). Element memory then grows with what was
// actually decoded.
template <class T, class A>
void CEREAL_LOAD_FUNCTION_NAME(graph_input_archive& ar, std::vector<T, A>& v) {
  cereal::size_type n;
  ar(cereal::make_size_tag(n));
  v.clear();
  if constexpr (std::is_arithmetic_v<T>) {
    if (n > ar.remaining() / sizeof(T))
      ar.fail(snapshot_errc::size_limit, std::to_string(n) + " elements of " + std::to_string(sizeof(T)) +
                                             " bytes exceed the " + std::to_string(ar.remaining()) +
                                             " bytes that remain");
    v.resize(static_cast<std::size_t>(n));
    ar(cereal::binary_data(v.data(), static_cast<std::size_t>(n) * sizeof(T)));
  } else {
    v.reserve(std::min<std::size_t>(static_cast<std::size_t>(n), ar.remaining() / sizeof(T)));
    for (cereal::size_type i = 0; i < n; ++i) ar(v.emplace_back());
  }
}

// vector<bool> travels one checked byte per element, as Cereal writes it.
template <class A>
void CEREAL_LOAD_FUNCTION_NAME(graph_input_archive& ar, std::vector<bool, A>& v) {
  cereal::size_type n;
  ar(cereal::make_size_tag(n));
  v.clear();
  v.reserve(static_cast<std::size_t>(n));
  for (cereal::size_type i = 0; i < n; ++i) {
    bool b;
    ar(b);
    v.push_back(b);
  }
}

// ---- whole payloads ------------------------------------------------------------------------

// Appends the payload encoding of the graph reachable from root to out.
template <class T>
void encode_payload(std::string& out, const T& root) {
  graph_output_archive ar(&out);
  ar(root);
  ar.drain();
}

// Decodes a payload into a new T. Throws snapshot_error, and only snapshot_error, on bad input:
// exceptions from Cereal or from user serialize functions are reported as malformed, at the
// offset where they were thrown. A failed decode frees everything it built (no leak, even for
// cyclic graphs).
template <class T>
T decode_payload(std::string_view payload, std::size_t base_offset, std::string&& subject,
                 actor_resolver* resolver = nullptr) {
  graph_input_archive ar(payload, base_offset, std::move(subject), resolver);
  T root{};
  try {
    ar(root);
    ar.finish();
  } catch (const snapshot_error&) {
    throw;
  } catch (const std::exception& e) {
    ar.fail(snapshot_errc::malformed, e.what());
  } catch (...) {
    ar.fail(snapshot_errc::malformed, "a serialize function threw a non-standard exception");
  }
  return root;
}

}  // namespace revenant::detail

CEREAL_REGISTER_ARCHIVE(revenant::detail::graph_output_archive)
CEREAL_REGISTER_ARCHIVE(revenant::detail::graph_input_archive)
CEREAL_SETUP_ARCHIVE_TRAITS(revenant::detail::graph_input_archive, revenant::detail::graph_output_archive)
