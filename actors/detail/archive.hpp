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

#include "actors/detail/archive_input.hpp"
#include "actors/detail/archive_output.hpp"

namespace revenant::detail {

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
void encode_payload(std::string& out, const T& root, actor_resolver* resolver = nullptr) {
  graph_output_archive ar(&out, nullptr, resolver);
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
