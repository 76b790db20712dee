// A non-owning reference to a callable, for the store's scans: cheaper than std::function (no
// allocation, no copy of the callable) and, unlike a template, it keeps RocksDB's iterators out
// of public headers.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace revenant::detail {

template <class Signature>
class function_ref;

// Refers to a callable with signature R(Args...). It must outlive every call made through the
// reference (pass a lambda straight to the function that takes it).
template <class R, class... Args>
class function_ref<R(Args...)> {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, function_ref> && std::is_invocable_r_v<R, F&, Args...>)
  function_ref(F&& f) noexcept  // NOLINT(google-explicit-constructor): passed as a lambda
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace revenant::detail
