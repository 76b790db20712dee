#include "runtime/internal/state_image.hpp"

#include <stdexcept>

#include "storage/envelope.hpp"

namespace revenant::detail {
namespace {

// A restored timer's payload: the envelope it was stored as, decoded each time it fires (with
// the names in it resolved by the system).
class stored_payload final : public detail::timer_payload {
 public:
  stored_payload(std::string envelope, detail::actor_resolver* resolver, std::string subject)
      : envelope_(std::move(envelope)), resolver_(resolver), subject_(std::move(subject)) {}
  message_ptr make() const override {
    return decode_envelope(envelope_, subject_, resolver_).value;
  }
  const std::string& envelope() const noexcept { return envelope_; }

 private:
  std::string envelope_;
  detail::actor_resolver* resolver_;
  std::string subject_;
};

}  // namespace

actor_image capture_image(const live_state& state, std::uint32_t capacity, const std::string& name) {
  actor_image image;
  image.current = state.current;
  image.capacity = capacity;
  if (state.supervised) {
    const supervision& policy = state.supervised->policy();
    image.policy = static_cast<std::uint8_t>(policy.policy);
    image.max_restarts = policy.max_restarts;
    image.window_ms = policy.window.count();
    image.initial = state.supervised->initial();
  }
  if (state.clock) {
    const actor_clock& clock = *state.clock;
    image.last_request = clock.last_request();
    image.last_timer = clock.last_timer();
    clock.for_each_ask([&](const actor_clock::ask_view& ask) {
      image.pending.push_back(pending_image{ask.request, to_wall(ask.deadline), ask.then});
    });
    clock.for_each_timer([&](const actor_clock::timer_view& t) {
      image.timers.push_back(timer_image{t.id, to_wall(t.due), t.period.count(),
                                         t.stored != nullptr ? *t.stored : encode_envelope(*t.payload.make(), name)});
    });
  }
  return image;
}

restored_state restore_image(actor_image&& image, live_state& state, const std::function<actor_clock&()>& clock,
                             detail::actor_resolver* resolver, const std::string& name) {
  restored_state r;
  r.capacity = image.capacity;
  state.current = std::move(image.current);
  if (image.policy < static_cast<std::uint8_t>(restart_policy::stop) ||
      image.policy > static_cast<std::uint8_t>(restart_policy::restart))
    throw std::runtime_error("its record names restart policy " + std::to_string(image.policy) +
                             ", expected 1 (stop), 2 (resume) or 3 (restart)");
  const auto policy = static_cast<restart_policy>(image.policy);
  if (policy == restart_policy::resume || policy == restart_policy::restart)
    state.supervised = std::make_unique<supervisor>(
        supervision{policy, image.max_restarts, std::chrono::milliseconds(image.window_ms), image.capacity},
        std::move(image.initial));
  if (image.last_request != 0 || image.last_timer != 0 || !image.pending.empty() || !image.timers.empty()) {
    actor_clock& c = clock();
    c.set_last_request(image.last_request);
    c.set_last_timer(image.last_timer);
    for (auto& p : image.pending) c.restore_ask(p.request, std::move(p.then), from_wall(p.deadline));
    c.arm_asks();
    r.continuations = image.pending.size();
    const std::string subject = "timer payload of actor \"" + name + "\"";
    for (auto& t : image.timers) {
      auto payload = std::make_unique<stored_payload>(std::move(t.payload), resolver, subject);
      const std::string* stored = &payload->envelope();
      c.restore_timer(t.id, from_wall(t.due), std::chrono::nanoseconds(t.period), std::move(payload), stored);
    }
    r.timers = image.timers.size();
  }
  return r;
}

}  // namespace revenant::detail
