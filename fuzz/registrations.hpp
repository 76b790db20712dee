// What the fuzz targets decode: the registered functions, message types and value shapes that
// real stores hold (state machines tied through cells, state shared through std::shared_ptr,
// continuations, weak back-edges, polymorphic values, actor references), and the helpers every
// target shares. The seed generator builds its encodings from the same registrations, so seeds
// and targets agree on every name.
#pragma once

#include <cereal/types/polymorphic.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "actors/actor.hpp"
#include "actors/closure.hpp"
#include "actors/graph.hpp"
#include "actors/message_type.hpp"
#include "fuzz/property.hpp"
#include "runtime/internal/image.hpp"
#include "storage/envelope.hpp"
#include "storage/snapshot.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/messages.hpp"

namespace revenant::fuzz {

// ---- actors: a state machine of two behaviors sharing a tally, with asks outstanding --------

struct tally {
  std::int64_t total = 0;
  std::vector<std::string> log;
  template <class A>
  void serialize(A& a) {
    a(total, log);
  }
};
using tally_ptr = std::shared_ptr<tally>;
using behavior_slot = cell<behavior>;

inline void even_body(context& ctx, const message& m, const tally_ptr& t, const behavior_slot& odd) {
  if (const auto* a = m.get_if<test::add>()) {
    t->total += a->n;
    ctx.become(odd.get());
  }
}
inline void odd_body(context& ctx, const message& m, const tally_ptr& t, const behavior_slot& even) {
  if (const auto* a = m.get_if<test::add>()) {
    t->total -= a->n;
    ctx.become(even.get());
  }
}
inline const function<void(context&, const message&), even_body> even_fn{"fuzz.even"};
inline const function<void(context&, const message&), odd_body> odd_fn{"fuzz.odd"};

// A continuation: shares the tally with the behaviors, holds the way back into the machine, and
// remembers where to answer.
inline void got_answer(context&, const message& answer, const tally_ptr& t, const behavior_slot& resume,
                       const reply_address& to) {
  if (const auto* v = answer.get_if<test::value_is>()) t->total += v->value + static_cast<std::int64_t>(to.request);
  (void)resume;
}
inline const function<void(context&, const message&), got_answer> got_answer_fn{"fuzz.got_answer"};

// The action of a revenant.timer_action message.
inline void tick(context&, const tally_ptr& t) { ++t->total; }
inline const function<void(context&), tick> tick_fn{"fuzz.tick"};

// ---- closure graphs: every kind of edge ----------------------------------------------------

// User state reaching itself weakly (a child's parent), the legitimate back-edge to an object
// whose load has not finished.
struct family {
  std::int32_t v = 0;
  std::vector<std::shared_ptr<family>> kids;
  std::weak_ptr<family> parent;
  template <class A>
  void serialize(A& a) {
    a(v, kids, parent);
  }
};

// Polymorphic values, loaded through a base pointer.
struct shape {
  virtual ~shape() = default;
  template <class A>
  void serialize(A&) {}
};
struct square final : shape {
  std::int32_t side = 0;
  template <class A>
  void serialize(A& a) {
    a(cereal::base_class<shape>(this), side);
  }
};
struct strip final : shape {
  std::int64_t length = 0;
  std::string label;
  template <class A>
  void serialize(A& a) {
    a(cereal::base_class<shape>(this), length, label);
  }
};

// A value only Cereal's load_and_construct can build.
struct built {
  explicit built(std::int32_t x) : v(x) {}
  std::int32_t v;
  template <class A>
  void serialize(A& a) {
    a(v);
  }
  template <class A>
  static void load_and_construct(A& a, cereal::construct<built>& construct) {
    std::int32_t x = 0;
    a(x);
    construct(x);
  }
};

// The closure-graph target's root: the seed shapes, mutual recursion, a ring of cells around
// shared state, shared user state with weak back-edges, polymorphic and load_and_construct
// objects, and plain containers (ordered ones only, so that re-encoding is deterministic).
struct graph_root {
  closure<std::string()> f3;
  closure<const void*()> g2;
  std::pair<closure<bool(int)>, closure<bool(int)>> parity;
  cell<test::light> light;
  closure<std::int64_t(std::int64_t)> deposit;
  std::shared_ptr<family> tree;
  std::vector<std::shared_ptr<shape>> shapes;
  std::weak_ptr<shape> favourite;
  std::shared_ptr<built> made;
  std::map<std::string, std::variant<std::int64_t, std::string, std::optional<double>>> table;
  template <class A>
  void serialize(A& a) {
    a(f3, g2, parity, light, deposit, tree, shapes, favourite, made, table);
  }
};

// ---- messages ------------------------------------------------------------------------------

// A message of plain containers.
struct note {
  std::string text;
  std::vector<std::int32_t> numbers;
  std::optional<double> weight;
  std::map<std::string, std::uint16_t> counts;
  std::array<bool, 3> flags{};
  template <class A>
  void serialize(A& a) {
    a(text, numbers, weight, counts, flags);
  }
};
// A message carrying a closure graph and shared state.
struct callback {
  closure<std::int64_t(std::int64_t)> deposit;
  behavior_slot slot;
  std::shared_ptr<test::account> account;
  std::weak_ptr<test::account> weak;
  template <class A>
  void serialize(A& a) {
    a(deposit, slot, account, weak);
  }
};
// A message naming actors.
struct routed {
  reply_address to;
  std::vector<actor_ref> copies;
  std::variant<std::int32_t, std::string> tag;
  template <class A>
  void serialize(A& a) {
    a(to, copies, tag);
  }
};
inline const message_type<note> note_type{"fuzz.note"};
inline const message_type<callback> callback_type{"fuzz.callback"};
inline const message_type<routed> routed_type{"fuzz.routed"};

// ---- what the targets share ----------------------------------------------------------------

// Restores actor references as detached stand-ins, as an actor system does for names it does not
// run (decoding an actor_ref needs a resolver: every decode below is given stand_ins).
class stand_in_actor final : public detail::actor_base {
 public:
  using actor_base::actor_base;
  void enqueue(message_ptr) override {}
  void add_watcher(const std::shared_ptr<actor_base>&) override {}
};
class stand_in_resolver final : public detail::actor_resolver {
 public:
  std::shared_ptr<detail::actor_base> resolve(const std::string& name) override {
    return std::make_shared<stand_in_actor>(0, name);
  }
};
inline stand_in_resolver stand_ins;

// How a snapshot or envelope target reads its input: the first byte's low bit chooses how the
// rest reaches the decoder. 0: the rest is a payload, framed here with a valid header and valid
// checksums, as a forger would (so that mutations reach the payload grammar instead of failing
// the checksum); 1: the rest is a complete snapshot as stored (the framing checks). Seeds are
// written both ways (framed_seeds).
inline std::string as_snapshot(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {};
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) != 0) return std::string(rest);
  std::string snapshot(snapshot_header_size, '\0');
  snapshot += rest;
  detail::seal_snapshot(snapshot);
  return snapshot;
}
// The two inputs as_snapshot turns back into snapshot: its payload framed here, and itself.
inline std::vector<std::string> framed_seeds(const std::string& snapshot) {
  return {'\0' + snapshot.substr(snapshot_header_size), '\1' + snapshot};
}

// The round-trip property of every accepted snapshot: what a decoder accepted can be encoded
// again (no strong cycle, no nesting the writer refuses), that encoding decodes, and encoding
// is then stable (decode, encode gives the same bytes). Releases every graph it built.
template <class T>
void check_round_trip(const T& accepted, const std::string& subject) {
  std::string first;
  try {
    first = encode_snapshot(accepted);
  } catch (const std::exception& e) {
    property_broken("an accepted snapshot cannot be encoded again:", e.what());
  }
  try {
    const T again = decode_snapshot<T>(first, subject, &stand_ins);
    const std::string second = encode_snapshot(again);
    release(again);
    if (second != first) property_broken("encoding is not stable across a round trip");
  } catch (const std::exception& e) {
    property_broken("a re-encoded snapshot does not decode again:", e.what());
  }
}

// Empties every closure and cell a decoded message holds (release() for a value whose type is
// known only by its registration).
inline void release_message(const message& m) {
  detail::graph_output_archive walk(nullptr);
  m.registration()->save(walk, m);
  walk.drain();
  walk.clear_all();
}

// Decodes an envelope as a durable mailbox's reader does; on success checks that the header
// agrees with peek_envelope and that the message round-trips stably, then releases it. Throws
// snapshot_error for bad bytes, as decode_envelope does.
inline void exercise_envelope(std::string_view bytes) {
  const decoded_envelope d = decode_envelope(bytes, "fuzz", &stand_ins);
  envelope_header peeked;
  try {
    peeked = peek_envelope(bytes, "fuzz");
  } catch (const snapshot_error& e) {
    property_broken("peek_envelope refuses an envelope decode_envelope accepts:", e.what());
  }
  if (peeked.type != d.header.type || peeked.sender != d.header.sender ||
      peeked.request_id != d.header.request_id || peeked.response_to != d.header.response_to)
    property_broken("peek_envelope disagrees with decode_envelope");
  try {
    const std::string first = encode_envelope(*d.value, d.header.sender);
    const decoded_envelope again = decode_envelope(first, "fuzz", &stand_ins);
    const std::string second = encode_envelope(*again.value, again.header.sender);
    release_message(*again.value);
    if (second != first) property_broken("envelope encoding is not stable across a round trip");
  } catch (const std::exception& e) {
    property_broken("an accepted envelope does not round-trip:", e.what());
  }
  release_message(*d.value);
}

// Decodes an actor image as activation does (the image, then every timer's envelope, and the
// restart snapshot a restart would decode), checks the round trip, and releases everything.
// Throws snapshot_error for bad bytes.
inline void exercise_image(std::string_view snapshot) {
  const auto image = decode_snapshot<detail::actor_image>(snapshot, "fuzz", &stand_ins);
  struct releaser {
    const detail::actor_image& image;
    ~releaser() { release(image); }
  } guard{image};
  check_round_trip(image, "fuzz");
  for (const auto& timer : image.timers) exercise_envelope(timer.payload);
  if (!image.initial.empty()) {
    const behavior initial = decode_snapshot<behavior>(image.initial, "fuzz", &stand_ins);
    release(initial);
  }
}

}  // namespace revenant::fuzz

CEREAL_REGISTER_TYPE_WITH_NAME(revenant::fuzz::square, "fuzz.square")
CEREAL_REGISTER_TYPE_WITH_NAME(revenant::fuzz::strip, "fuzz.strip")
