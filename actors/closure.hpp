// Closures: registered code plus captured values, serializable whatever the graph's shape.
//
//   // 1. Ordinary code. Call arguments come first, captured values after them.
//   std::string greet(const std::string& greeting, const std::string& who) { return greeting + ", " + who; }
//
//   // 2. Register it once, under a name that stays the same in every process and build.
//   inline const revenant::function<std::string(const std::string&), greet> greet_fn{"demo.greet"};
//
//   // 3. Bind the captured values; call the closure like a function.
//   revenant::closure<std::string(const std::string&)> hello = greet_fn.bind("world");
//   hello("hello");  // "hello, world"
#pragma once

#include <array>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "actors/cell.hpp"
#include "actors/detail/archive.hpp"
#include "actors/detail/node.hpp"
#include "actors/detail/registry.hpp"

namespace revenant {

template <class Sig>
class closure;

// Thrown when an empty closure is called.
class bad_closure_call : public std::logic_error {
 public:
  explicit bad_closure_call(std::string_view signature)
      : std::logic_error("revenant: call of an empty closure<" + std::string(signature) + ">") {}
};

// The slot through which a self-recursive closure reaches itself (see function::bind_recursive).
template <class Sig>
using self_ref = cell<closure<Sig>>;

namespace detail {

// The decayed types of P[Skip..], as a tuple: a function's captured parameters.
template <std::size_t Skip, class Params, class Indices>
struct trailing_params;
template <std::size_t Skip, class... P, std::size_t... I>
struct trailing_params<Skip, std::tuple<P...>, std::index_sequence<I...>> {
  using type = std::tuple<std::remove_cvref_t<std::tuple_element_t<Skip + I, std::tuple<P...>>>...>;
};

template <class F>
struct function_traits {
  static constexpr bool is_function = false;
  static constexpr std::size_t arity = 0;
};
template <class R, class... P>
struct function_traits<R (*)(P...)> {
  static constexpr bool is_function = true;
  static constexpr std::size_t arity = sizeof...(P);
  template <std::size_t Skip>
  using captures =
      typename trailing_params<Skip, std::tuple<P...>, std::make_index_sequence<sizeof...(P) - Skip>>::type;
};
template <class R, class... P>
struct function_traits<R (*)(P...) noexcept> : function_traits<R (*)(P...)> {};

// Whether a snapshot can hold a T: Cereal finds exactly one way to save and to load it in the
// graph archives. Cereal declares its functions for shared_ptr<T>, vector<T> and the other
// standard templates for any T, so for those the elements are what is checked; a pointer to a
// polymorphic type is left to Cereal's registration (checked when it is saved).
template <class T>
struct serializable
    : std::bool_constant<cereal::traits::is_output_serializable<T, graph_output_archive>::value &&
                         cereal::traits::is_input_serializable<T, graph_input_archive>::value> {};
template <class T>
struct serializable_pointee : std::bool_constant<std::is_polymorphic_v<T> || serializable<std::remove_const_t<T>>::value> {};
template <class T>
struct serializable<std::shared_ptr<T>> : serializable_pointee<T> {};
template <class T>
struct serializable<std::weak_ptr<T>> : serializable_pointee<T> {};
template <class T, class D>
struct serializable<std::unique_ptr<T, D>> : serializable_pointee<T> {};
template <class T>
struct serializable<cell<T>> : serializable<T> {};
template <class T>
struct serializable<std::optional<T>> : serializable<T> {};
template <class T, std::size_t N>
struct serializable<std::array<T, N>> : serializable<T> {};
template <class T, class A>
struct serializable<std::vector<T, A>> : serializable<T> {};
template <class T, class A>
struct serializable<std::deque<T, A>> : serializable<T> {};
template <class K, class C, class A>
struct serializable<std::set<K, C, A>> : serializable<K> {};
template <class K, class H, class E, class A>
struct serializable<std::unordered_set<K, H, E, A>> : serializable<K> {};
template <class K, class V, class C, class A>
struct serializable<std::map<K, V, C, A>> : std::bool_constant<serializable<K>::value && serializable<V>::value> {};
template <class K, class V, class H, class E, class A>
struct serializable<std::unordered_map<K, V, H, E, A>>
    : std::bool_constant<serializable<K>::value && serializable<V>::value> {};
template <class A, class B>
struct serializable<std::pair<A, B>> : std::bool_constant<serializable<A>::value && serializable<B>::value> {};
template <class... T>
struct serializable<std::tuple<T...>> : std::bool_constant<(serializable<T>::value && ...)> {};
template <class... T>
struct serializable<std::variant<T...>> : std::bool_constant<(serializable<T>::value && ...)> {};

// The I-th captured type T of function<Sig, Fn>, checked where an error names all of them (in
// the compiler's "In instantiation of ... check_capture<Sig, fn, I, T>" line).
template <class Sig, auto Fn, std::size_t I, class T>
struct check_capture {
  static constexpr bool is_serializable = serializable<T>::value;
  static_assert(is_serializable,
                "revenant::function<Sig, fn>: captured type T (or what it holds: a shared_ptr's object, a "
                "container's elements) has no Cereal serialization: give that type a member "
                "`template <class Archive> void serialize(Archive& ar) { ar(field1, field2); }` (or save/load)");
  static constexpr bool is_default_constructible = std::is_default_constructible_v<T>;
  static_assert(!is_serializable || is_default_constructible,
                "revenant::function<Sig, fn>: captured type T must be default-constructible: a snapshot is "
                "loaded into a default-constructed value (capture a std::shared_ptr<T> instead)");
  static constexpr bool ok = is_serializable && is_default_constructible;
};
// Every captured type of function<Sig, Fn>: a base of it, so that it is checked with it.
template <class Sig, auto Fn, class Captures, class Indices = std::make_index_sequence<std::tuple_size_v<Captures>>>
struct check_captures;
template <class Sig, auto Fn, class... C, std::size_t... I>
struct check_captures<Sig, Fn, std::tuple<C...>, std::index_sequence<I...>> : check_capture<Sig, Fn, I, C>... {};
// Whether they would pass, without reporting.
template <class Captures>
struct storable_captures;
template <class... C>
struct storable_captures<std::tuple<C...>>
    : std::bool_constant<((serializable<C>::value && std::is_default_constructible_v<C>) && ...)> {};

template <class Fn, class R, class Args, class Captures>
struct invocable_as_closure;
template <class Fn, class R, class... A, class... C>
struct invocable_as_closure<Fn, R, std::tuple<A...>, std::tuple<C...>>
    : std::bool_constant<std::is_invocable_r_v<R, Fn, A..., C&...>> {};

// Whether Fn can make closures of signature Sig: what function<Sig, Fn> checks first, so that a
// mistake is one sentence (a static_assert in function) instead of pages of Cereal and tuple
// errors. Captures is what Fn captures (empty when that cannot be computed).
template <class Sig, auto Fn>
struct closure_check;
template <class R, class... A, auto Fn>
struct closure_check<R(A...), Fn> {
  using traits = function_traits<decltype(Fn)>;
  static constexpr bool is_function = traits::is_function;
  static constexpr bool enough_parameters = is_function && traits::arity >= sizeof...(A);
  template <bool ok, class = void>
  struct captures_of {
    using type = std::tuple<>;
  };
  template <class Unused>
  struct captures_of<true, Unused> {
    using type = typename traits::template captures<sizeof...(A)>;
  };
  using captures = typename captures_of<enough_parameters>::type;
  // Called as a closure calls it: the call arguments, then the captured values as lvalues.
  static constexpr bool callable =
      enough_parameters && invocable_as_closure<decltype(Fn), R, std::tuple<A...>, captures>::value;
};

template <class Sig>
class closure_body;

template <class R, class... A>
class closure_body<R(A...)> : public node_base {
 public:
  virtual R invoke(A... args) = 0;

  static const void* static_type() noexcept { return tag_of<closure<R(A...)>>(); }
  static std::string_view static_type_name() noexcept {
    static constexpr std::string_view name = type_name<closure<R(A...)>>();
    return name;
  }
  static std::shared_ptr<closure_body> create_for_load(graph_input_archive& ar) {
    static constexpr std::string_view signature_name = type_name<R(A...)>();
    const function_entry& fn = ar.load_function(static_type(), signature_name);
    return std::static_pointer_cast<closure_body>(fn.make_empty());
  }

  const void* type() const noexcept final { return static_type(); }
  std::string_view type_display_name() const noexcept final { return static_type_name(); }
};

// The body of a closure of Fn: its captured values, typed after Fn's trailing parameters.
template <class Sig, auto Fn>
class closure_node;

template <class R, class... A, auto Fn>
class closure_node<R(A...), Fn> final : public closure_body<R(A...)> {
  using check = closure_check<R(A...), Fn>;

 public:
  // Whether Fn passed function<Sig, Fn>'s checks (which report it if not): otherwise nothing
  // below is instantiated with its captures, so that the report is the only error.
  static constexpr bool valid = check::callable && storable_captures<typename check::captures>::value;
  using captures_type = std::conditional_t<valid, typename check::captures, std::tuple<>>;

  // Set once, when function<Sig, Fn> registers; every node of this type exists after that.
  inline static const function_entry* entry = nullptr;

  closure_node() = default;
  template <class... C>
  explicit closure_node(std::in_place_t, C&&... captures) : captures_(std::forward<C>(captures)...) {}

  R invoke(A... args) override {
    if constexpr (!valid) {
      throw bad_closure_call(type_name<R(A...)>());
    } else {
      return std::apply(
          [&](auto&... captured) -> R {
            if constexpr (std::is_void_v<R>)
              Fn(std::forward<A>(args)..., captured...);
            else
              return Fn(std::forward<A>(args)..., captured...);
          },
          captures_);
    }
  }

  const function_entry* function() const noexcept override { return entry; }
  void save_contents(graph_output_archive& ar) const override {
    std::apply(
        [&](const auto&... captured) {
          if constexpr (sizeof...(captured) > 0) ar(captured...);
        },
        captures_);
  }
  void load_contents(graph_input_archive& ar) override {
    std::apply(
        [&](auto&... captured) {
          if constexpr (sizeof...(captured) > 0) ar(captured...);
        },
        captures_);
  }
  void clear_contents() noexcept override { captures_ = captures_type{}; }
  bool direct_children(child_list& out) const override {
    return std::apply([&](const auto&... captured) { return (collect_edge(out, captured) && ...); }, captures_);
  }

  static std::shared_ptr<node_base> make_empty() { return std::make_shared<closure_node>(); }

 private:
  captures_type captures_;
};

}  // namespace detail

// A handle to a closure: a registered function plus its captured values. Copies share one
// closure (like shared_ptr), and a snapshot preserves that sharing and every cycle.
// A default-constructed closure is empty; calling it throws bad_closure_call.
// Calls are not synchronised: one actor (one thread at a time) uses a graph.
template <class R, class... A>
class closure<R(A...)> {
 public:
  using signature = R(A...);

  closure() noexcept = default;
  closure(const closure&) noexcept = default;
  closure(closure&&) noexcept = default;
  closure& operator=(closure other) noexcept {
    body_.swap(other.body_);
    return *this;
  }
  ~closure() {
    if (body_) detail::dispose(std::move(body_));  // an empty handle (often moved from) has nothing to dispose
  }

  // Runs the function with args followed by the captured values (passed as lvalues, so a
  // function that takes a capture by non-const reference may change it for later calls).
  R operator()(A... args) const {
    if (!body_) throw bad_closure_call(detail::type_name<R(A...)>());
    return body_->invoke(std::forward<A>(args)...);
  }

  // True if this handle refers to a closure.
  explicit operator bool() const noexcept { return body_ != nullptr; }
  // The closure's address: equal for handles that share one closure.
  const void* identity() const noexcept { return body_.get(); }
  // The registered name of the closure's function; empty for an empty handle.
  std::string_view function_name() const noexcept { return body_ ? std::string_view(body_->function()->name) : ""; }
  friend bool operator==(const closure& a, const closure& b) noexcept { return a.body_ == b.body_; }

  // Cereal hooks; closures serialize only through revenant's snapshot codec.
  void save(detail::graph_output_archive& ar) const { ar.save_node(body_); }
  void load(detail::graph_input_archive& ar) { *this = closure(ar.load_node<detail::closure_body<R(A...)>>()); }

 private:
  template <class S, auto F>
  friend class function;
  friend struct detail::edge_traits<closure>;

  explicit closure(std::shared_ptr<detail::closure_body<R(A...)>> body) noexcept : body_(std::move(body)) {}

  std::shared_ptr<detail::closure_body<R(A...)>> body_;
};

namespace detail {
template <class Sig>
struct edge_traits<closure<Sig>> {
  static constexpr bool handle = true;
  static constexpr bool leaf = false;
  static node_base* node(const closure<Sig>& c) noexcept { return c.body_.get(); }
};
}  // namespace detail

// A registered function: code that closures of signature Sig can be made from and that any
// snapshot naming it can be rebuilt with. Fn's parameters are Sig's arguments followed by the
// captured values; the capture types are Fn's trailing parameter types, decayed, and must be
// default-constructible and serializable with Cereal. Each of these is checked at compile
// time, and a mistake is reported in one static_assert sentence that says the fix.
//
// Define one at namespace scope, so it registers before main:
//   inline const revenant::function<void(), print_twice> print_twice_fn{"seed.print_twice"};
// The name is what snapshots store: never change it once snapshots exist.
template <class Sig, auto Fn>
class function;

template <class R, class... A, auto Fn>
class function<R(A...), Fn>
    : detail::check_captures<R(A...), Fn,
                             std::conditional_t<detail::closure_check<R(A...), Fn>::callable,
                                                typename detail::closure_check<R(A...), Fn>::captures, std::tuple<>>> {
  // What can go wrong in a registration is said in one sentence each (the base checks the
  // captured types), and nothing else: the closure type is not instantiated with a function
  // that fails a check.
  using check = detail::closure_check<R(A...), Fn>;
  static_assert(check::is_function,
                "revenant::function<Sig, fn>: fn must name a function (a lambda or a member function "
                "cannot be registered: write a free function)");
  static_assert(!check::is_function || check::callable,
                "revenant::function<Sig, fn>: fn cannot be called with Sig's arguments followed by its captured "
                "values: put the call arguments (Sig's parameters, e.g. context&, const message&) first in fn's "
                "parameter list, and the captured values after them");
  using node = detail::closure_node<R(A...), Fn>;
  using captures_type = typename node::captures_type;

 public:
  // Registers Fn under name. Throws std::logic_error if the name is taken by other code or
  // Fn (with this signature) is already registered under another name.
  explicit function(std::string_view name)
      : entry_(&detail::register_function(detail::function_entry{
            std::string(name), detail::tag_of<closure<R(A...)>>(), detail::type_name<R(A...)>(),
            detail::value_name<Fn>(), detail::tag_of<node>(),
            static_cast<std::uint32_t>(std::tuple_size_v<captures_type>), &node::make_empty})) {
    node::entry = entry_;
  }

  // A new closure capturing the given values, converted to Fn's capture types.
  template <class... C>
  closure<R(A...)> bind(C&&... captures) const {
    if constexpr (node::valid) {
      static_assert(sizeof...(C) == std::tuple_size_v<captures_type>,
                    "revenant::function<Sig, fn>::bind() takes exactly one value per captured parameter of fn");
      if constexpr (sizeof...(C) == std::tuple_size_v<captures_type>) {
        static_assert(std::is_constructible_v<captures_type, C&&...>,
                      "revenant::function<Sig, fn>::bind(): a value does not convert to the type of fn's "
                      "captured parameter in its position");
        if constexpr (std::is_constructible_v<captures_type, C&&...>)
          return closure<R(A...)>(std::make_shared<node>(std::in_place, std::forward<C>(captures)...));
      }
    }
    return closure<R(A...)>();
  }

  // A new closure that captures itself: Fn's first captured parameter must be a
  // self_ref<R(A...)>, which is bound to a cell holding the returned closure; rest are the
  // remaining captures. The returned closure keeps itself alive: release() it when done.
  template <class... C>
  closure<R(A...)> bind_recursive(C&&... rest) const {
    if constexpr (!node::valid) {
      return closure<R(A...)>();
    } else {
      static_assert(first_capture_is_self(),
                    "revenant::function<Sig, fn>::bind_recursive() needs a fn whose first captured parameter is a "
                    "revenant::self_ref<Sig>");
      if constexpr (first_capture_is_self()) return bind_self(std::forward<C>(rest)...);
      return closure<R(A...)>();
    }
  }

  // The registered name.
  const std::string& name() const noexcept { return entry_->name; }

 private:
  static constexpr bool first_capture_is_self() {
    if constexpr (std::tuple_size_v<captures_type> == 0)
      return false;
    else
      return std::is_same_v<std::tuple_element_t<0, captures_type>, self_ref<R(A...)>>;
  }
  template <class... C>
  closure<R(A...)> bind_self(C&&... rest) const {
    auto self = make_cell<closure<R(A...)>>();
    closure<R(A...)> result = bind(self, std::forward<C>(rest)...);
    self.set(result);
    return result;
  }

  const detail::function_entry* entry_;
};

}  // namespace revenant
