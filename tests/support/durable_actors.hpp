// Durable actors shared by the durability and inspect tests, and the way both ask them from
// outside. Registered under "test.actors.*" (the inspect tests read those names back).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "actors/actor.hpp"
#include "runtime/actor_system.hpp"
#include "tests/support/messages.hpp"

namespace revenant::test {

// State shared by the behaviors below.
struct tally {
  std::int64_t total = 0;
  std::int64_t messages = 0;
  template <class A>
  void serialize(A& a) {
    a(total, messages);
  }
};
using tally_ptr = std::shared_ptr<tally>;
using behavior_slot = cell<behavior>;

// A counter: adds, answers get with its total, stops on quit.
inline void counter_body(context& ctx, const message& m, const tally_ptr& t) {
  if (m.is<quit>()) {
    ctx.stop();
  } else if (const auto* a = m.get_if<add>()) {
    t->total += a->n;
    ++t->messages;
  } else if (m.is<get>()) {
    ctx.reply(value_is{t->total});
  }
}
inline const revenant::function<void(context&, const message&), counter_body> counter_fn{"test.actors.counter"};

// Two states that capture each other (through cells) and one tally: `add` in state "even" adds
// n, in state "odd" adds 10n, and every add flips the state. get answers total*100 + parity.
inline void even_body(context& ctx, const message& m, const tally_ptr& t, const behavior_slot& odd) {
  if (const auto* a = m.get_if<add>()) {
    t->total += a->n;
    ctx.become(odd.get());
  } else if (m.is<get>()) {
    ctx.reply(value_is{t->total * 100});
  }
}
inline void odd_body(context& ctx, const message& m, const tally_ptr& t, const behavior_slot& even) {
  if (const auto* a = m.get_if<add>()) {
    t->total += 10 * a->n;
    ctx.become(even.get());
  } else if (m.is<get>()) {
    ctx.reply(value_is{t->total * 100 + 1});
  }
}
inline const revenant::function<void(context&, const message&), even_body> even_fn{"test.actors.even"};
inline const revenant::function<void(context&, const message&), odd_body> odd_fn{"test.actors.odd"};

// The state machine above, in its even state.
inline behavior make_flipper() {
  auto t = std::make_shared<tally>();
  auto to_even = make_cell<behavior>();
  auto to_odd = make_cell<behavior>();
  behavior even = even_fn.bind(t, to_odd);
  to_even.set(even);
  to_odd.set(odd_fn.bind(t, to_even));
  return even;
}

// On add, asks `holder` for a value and adds the answer to its tally when it comes (the
// continuation shares the tally); get answers the total.
inline void got_answer(context&, const message& answer, const tally_ptr& t) {
  if (const auto* v = answer.get_if<value_is>()) t->total += v->value;
}
inline const revenant::function<void(context&, const message&), got_answer> got_answer_fn{"test.actors.got_answer"};
inline void asker_body(context& ctx, const message& m, const tally_ptr& t, const actor_ref& holder) {
  if (m.is<add>()) {
    ctx.ask(holder, get{}, got_answer_fn.bind(t), std::chrono::hours(24));
  } else if (m.is<get>()) {
    ctx.reply(value_is{t->total});
  }
}
inline const revenant::function<void(context&, const message&), asker_body> asker_fn{"test.actors.asker"};

// ---- asking from outside ----------------------------------------------------------------------

// Where the answer lands; test plumbing, so nothing of it is saved.
struct answer_box {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<std::int64_t> value;
  bool failed = false;
  template <class A>
  void serialize(A&) {}
};
inline void box_answer(context& ctx, const message& answer, const std::shared_ptr<answer_box>& box) {
  {
    std::lock_guard lock(box->mutex);
    if (const auto* v = answer.get_if<value_is>())
      box->value = v->value;
    else
      box->failed = true;
  }
  box->changed.notify_all();
  ctx.stop();
}
inline const revenant::function<void(context&, const message&), box_answer> box_answer_fn{"test.actors.box_answer"};
struct probe {
  actor_ref target;
  bool with_add = false;  // ask with add{} instead of get{}
};
inline void querier(context& ctx, const message& m, const std::shared_ptr<answer_box>& box) {
  const auto* q = m.get_if<probe>();
  if (q == nullptr) return;
  if (q->with_add)
    ctx.ask(q->target, add{}, box_answer_fn.bind(box), std::chrono::seconds(10));
  else
    ctx.ask(q->target, get{}, box_answer_fn.bind(box), std::chrono::seconds(10));
}
inline const revenant::function<void(context&, const message&), querier> querier_fn{"test.actors.querier"};

// Asks the actor named name (get, or add) from a transient actor; its value_is answer, or
// nothing if there is no such actor or it answered otherwise (an ask_error) within 20 s.
inline std::optional<std::int64_t> query(actor_system& system, const std::string& name, bool with_add = false) {
  actor_ref target = system.find(name);
  if (!target) return std::nullopt;
  auto box = std::make_shared<answer_box>();
  system.spawn(querier_fn.bind(box)).tell(probe{target, with_add});
  std::unique_lock lock(box->mutex);
  box->changed.wait_for(lock, std::chrono::seconds(20), [&] { return box->value || box->failed; });
  return box->value;
}

// A store configuration for the tests.
inline durable_config store_at(const std::string& path, recovery_mode mode = recovery_mode::lazy,
                               std::uint32_t snapshot_every = 1) {
  durable_config c;
  c.path = path;
  c.recovery = mode;
  c.snapshot_every = snapshot_every;
  return c;
}

}  // namespace revenant::test
