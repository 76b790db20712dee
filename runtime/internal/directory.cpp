// The directory's checks (directory.hpp), and how the system uses it to answer which actor a name
// stands for — running here, stored here and not yet brought in, elsewhere (another node), or
// nowhere. The store is read between two locks of the directory, never under one.
#include <stdexcept>

#include "runtime/internal/actor_cell.hpp"
#include "runtime/internal/node.hpp"

namespace revenant {
namespace {

// What a decoded reference to an actor that is not running (stopped, quarantined, not yet
// spawned, or the system is shutting down) points to: it keeps the name — so the next
// checkpoint writes the reference back unchanged instead of losing it — and turns messages into
// dead letters.
class detached_actor final : public detail::recipient {
 public:
  detached_actor(std::weak_ptr<detail::system> system, std::string name)
      : recipient(0, std::move(name)), system_(std::move(system)) {}
  void enqueue(message_ptr m) override {
    if (auto system = system_.lock()) system->dead(name(), std::move(m), dead_letter_reason::stopped);
  }
  void add_watcher(const std::shared_ptr<detail::actor_base>& watcher) override {
    message_ptr m = make_message<down>(down{name(), exit_reason::normal, "not running in this process"});
    watcher->enqueue(std::move(m));
  }

 private:
  std::weak_ptr<detail::system> system_;
};

}  // namespace

std::shared_ptr<detail::actor_base> detail::system::resolve(const std::string& name) {
  if (net)
    if (auto elsewhere = net->route(name)) return elsewhere;
  if (auto cell = resolve_cell(name)) return cell;
  return std::make_shared<detached_actor>(weak_from_this(), name);
}

std::shared_ptr<detail::actor_base> detail::system::resolve_sender(const std::string& name) {
  if (net)
    if (auto elsewhere = net->route(name)) return elsewhere;
  return resolve_cell(name);
}

std::string detail::system::name_of(const std::shared_ptr<detail::actor_base>& actor) {
  return net ? net->name_of(actor) : actor->name();
}

std::shared_ptr<detail::actor_cell> detail::system::resolve_cell(const std::string& name) {
  for (;;) {
    std::uint64_t erasures;
    {
      auto d = actors.lock();
      // Quarantined first: an actor quarantined by its own run is still registered until its
      // run has finished, and a message sent meanwhile must get the same answer as one sent
      // after.
      if (d.quarantined(name)) return nullptr;
      if (auto found = d.running(name)) return found;
      if (!db || !d.may_bring_in(name)) return nullptr;
      erasures = d.erasures();
    }
    // A point lookup (bloom-filtered), outside the lock: the actor exists if its record does.
    // Its record is decoded by its first run, on a worker.
    if (!stored(name)) return nullptr;
    std::shared_ptr<actor_cell> cell = make_durable_cell(name, behavior{}, supervision{}, false);
    auto d = actors.lock();
    // Whatever happened to the name meanwhile decides: another thread brought it in, it was
    // quarantined, or an erasure committed (the record read may be gone): look again.
    if (d.erasures() != erasures) continue;
    if (!d.may_bring_in(name)) return nullptr;
    return d.add_or_found(std::move(cell), directory::hash(name));
  }
}

bool detail::system::stored(const std::string& name) const { return db && db->has_record(name); }

actor_ref detail::system::spawn(std::string name, behavior initial, supervision policy,
                                    const std::shared_ptr<detail::actor_base>& parent) {
  const std::uint64_t id = next_id.fetch_add(1, std::memory_order_relaxed);
  auto cell = std::make_shared<actor_cell>(shared_from_this(), id, name, std::move(initial), policy);
  const auto after_shutdown = [] { return std::logic_error("revenant: spawn after the actor system shut down"); };
  if (name.empty()) {
    if (!actors.add_anonymous(cell)) throw after_shutdown();
  } else {
    auto d = actors.lock();
    if (d.shutting_down()) throw after_shutdown();
    if (!d.add(cell)) throw std::invalid_argument("revenant: an actor named \"" + name + "\" is already running");
  }
  if (parent) cell->add_watcher(parent);
  return actor_ref(std::move(cell));
}

void detail::system::forget(const actor_cell& cell) {
  std::shared_ptr<actor_cell> last;  // destroyed after the lock is released
  if (cell.given_name().empty()) {
    last = actors.remove_anonymous(&cell);
    return;
  }
  last = actors.lock().remove(cell.given_name(), &cell);
}

std::exception_ptr detail::system::no_actor(const std::string& name) {
  if (auto reason = actors.lock().quarantine_reason(name))
    return std::make_exception_ptr(actor_quarantined(name, *reason));
  return std::make_exception_ptr(std::invalid_argument("revenant: no actor named \"" + name + "\""));
}

void detail::system::check_durable_name(const std::string& name) {
  if (name.empty()) throw std::invalid_argument("revenant: an actor name must not be empty");
  if (name.find('\0') != std::string::npos)
    throw std::invalid_argument("revenant: a durable actor name must not contain a zero byte");
}

// ---- the directory's named table (needs the complete actor_cell) ----

std::shared_ptr<detail::actor_cell> detail::directory::locked::running(std::string_view name) const noexcept {
  const auto* found = d_.named_.find(name);
  return found ? *found : nullptr;
}

bool detail::directory::locked::is_running(std::string_view name) const noexcept { return d_.named_.contains(name); }

bool detail::directory::locked::add(std::shared_ptr<actor_cell> cell) { return d_.named_.insert(std::move(cell)); }

const std::shared_ptr<detail::actor_cell>& detail::directory::locked::add_or_found(std::shared_ptr<actor_cell> cell,
                                                                                 hash_type h) {
  return d_.named_.find_or_insert(std::move(cell), h);
}

std::shared_ptr<detail::actor_cell> detail::directory::locked::remove(std::string_view name,
                                                                      const actor_cell* cell) noexcept {
  return d_.named_.erase(name, cell);
}

void detail::directory::locked::check_free(const std::string& name, bool was_stored) const {
  if (d_.shut_down_) throw std::logic_error("revenant: spawn after the actor system shut down");
  if (auto q = quarantine_reason(name)) throw actor_quarantined(name, *q);
  if (is_running(name) || d_.erasing_.contains(name) || d_.spawning_.contains(name) || was_stored)
    throw std::invalid_argument("revenant: a durable actor named \"" + name +
                                "\" already exists (running, stored or being spawned)");
}

}  // namespace revenant
