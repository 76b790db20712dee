// The runtime's own messages to an actor: never refused by a mailbox bound, never counted in it,
// never shown as dead letters, never written to a durable mailbox.
#pragma once

#include <functional>

#include "actors/actor.hpp"
#include "actors/message_type.hpp"

namespace revenant::detail {

// Sent by Asio when a timer expires; the actor decides, in its own run, whether it still counts.
struct timer_fired {
  timer_id id;
  template <class A>
  void serialize(A& a) {
    a(id);
  }
};
// Registered: journaled like any message (snapshot_every > 1), so that replaying it fires the
// timer again.
inline const message_type<timer_fired> timer_fired_type{"revenant.timer_fired"};
// Sent by an actor's ask deadline clock: some pending ask may have timed out.
struct ask_check {};
// Sent at open to a durable actor that has timers or asks waiting: it activates (re-arming them).
struct wake_up {};
// Queued behind the messages a lifted quarantine kept: once the actor reaches it and commits,
// lift_quarantine() returns.
struct lift_probe {};

// Queued by a migration (docs/migration.md, section 3, step 1): the durable actor's run ends at
// it with a full checkpoint, and nothing schedules the actor again until the migration resumes
// it (abort) or moves it away (commit). parked runs on the worker once the checkpoint is
// submitted, with false if the state could not be checkpointed (the actor is quarantined).
struct migrate_probe {
  std::function<void(bool checkpointed)> parked;
};

// Sent by a durable actor's order timer (message_order.hpp): a message held for an earlier one of
// its sender may have waited durable_config::order_timeout.
struct order_check {};

inline bool is_runtime_signal(const message& m) noexcept {
  return m.is<timer_fired>() || m.is<ask_check>() || m.is<wake_up>() || m.is<lift_probe>() || m.is<migrate_probe>() ||
         m.is<order_check>();
}

}  // namespace revenant::detail
