// The errors the actor system reports about actors (as opposed to the store: store_error, and
// to bytes: snapshot_error). Copying one never throws.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace revenant {

// The named durable actor is quarantined: kept out of service, with its record and mailbox left
// in the store (actor_system::quarantine_of, lift_quarantine, discard_quarantined). Thrown by
// spawn_durable for its name, and held by the futures of send() and ask() to it. An
// invalid_argument, like any other name that cannot be used.
class actor_quarantined : public std::invalid_argument {
 public:
  actor_quarantined(std::string name, std::string reason)
      : std::invalid_argument("revenant: actor \"" + name + "\" is quarantined: " + reason),
        detail_(std::make_shared<const detail>(detail{std::move(name), std::move(reason)})) {}
  // The actor's name.
  const std::string& name() const noexcept { return detail_->name; }
  // Why it was taken out of service (a decode error naming it, or its behavior's failure).
  const std::string& reason() const noexcept { return detail_->reason; }

 private:
  struct detail {
    std::string name;
    std::string reason;
  };
  std::shared_ptr<const detail> detail_;
};

}  // namespace revenant
