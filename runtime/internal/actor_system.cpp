// The public API of the actor system (runtime/actor_system.hpp): opening, spawning, sending from
// outside, quarantine, shutdown. The parts it drives are listed in system.hpp.
#include "runtime/actor_system.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <stdexcept>

#include "actors/internal/access.hpp"
#include "runtime/internal/durable_cell.hpp"
#include "runtime/internal/node.hpp"

namespace revenant {

using detail::actor_cell;
using detail::durable_of;

void detail::system::log(log_level level, const std::string& text) const noexcept {
  if (!config.log) return;
  try {
    config.log(level, text);
  } catch (...) {
    // A sink that throws must not take down the thread that reported.
  }
}

std::string detail::system::store_context() const {
  return durable ? " (store \"" + durable->path + "\")" : std::string();
}

namespace {

// Asks from outside get their sender: an id of its own, taken from next_id as it stands.
void open_outside(const std::shared_ptr<detail::system>& system) {
  system->outside = std::make_shared<detail::outside_asks>(
      *system->io, system->next_id.fetch_add(1), [weak = std::weak_ptr<detail::system>(system)](message_ptr m) {
        if (auto s = weak.lock()) s->dead({}, std::move(m), dead_letter_reason::no_recipient);
      });
}

// The state every system starts from: its threads' io_context, held open, and the parts that
// need it.
std::shared_ptr<detail::system> make_system(actor_system_config config) {
  if (config.workers == 0) throw std::invalid_argument("revenant: an actor system needs at least one worker");
  if (config.throughput == 0) throw std::invalid_argument("revenant: throughput must be at least 1");
  auto system = std::make_shared<detail::system>(config);
  system->io.emplace(static_cast<int>(config.workers));
  system->work.emplace(system->io->get_executor());
  system->runs.emplace(*system->io);
  open_outside(system);
  return system;
}

// Makes the system a node if its config says so: claims the store's next incarnation (a
// store-less node is a new node id at every start) and binds its listening socket.
void start_node(detail::system& system) {
  if (!system.config.node) return;
  store::node_identity identity;
  if (system.db) {
    identity = system.db->claim_incarnation();
  } else {
    std::random_device random;
    for (auto& byte : identity.id) byte = static_cast<std::uint8_t>(random());
    identity.id[0] |= 1;  // never all zero
    identity.incarnation = 1;
  }
  // A node names an unnamed actor "$<id>@<node>" in frames and in stored envelopes (docs/wire.md
  // 7), which outlive the process: ids of one incarnation start at incarnation << 40, so such a
  // name written before a restart names nothing after it (no stale reply reaches a new asker).
  // The outside asks' sender is taken again from there. Nothing has used either yet.
  system.next_id.store(identity.incarnation << 40);
  open_outside(system.shared_from_this());
  system.net = std::make_shared<detail::node>(system, *system.config.node, identity);
  system.net->load_store();
  system.net->start();
}

}  // namespace

actor_system::actor_system(actor_system_config config) : impl_(make_system(config)) {
  start_node(*impl_);
  start_workers();
}

actor_system::actor_system(durable_config store_config, actor_system_config config) : impl_(make_system(config)) {
  impl_->durable = std::move(store_config);
  store_options opening{impl_->durable->accept_wal_loss, {}};
  if (impl_->config.log)
    opening.log = [sink = impl_->config.log, path = impl_->durable->path](std::string_view line) {
      sink(log_level::warning, "revenant: store \"" + path + "\": rocksdb: " + std::string(line));
    };
  impl_->db.emplace(impl_->durable->path, std::move(opening));
  impl_->wal_dropped = impl_->db->wal_loss();
  if (const auto& lost = impl_->wal_dropped)
    impl_->log(log_level::error, "revenant: store \"" + impl_->durable->path + "\": opened past damage in " +
                                     lost->file + " at offset " + std::to_string(lost->offset) + " (" + lost->what +
                                     "), dropping " + std::to_string(lost->batches_dropped) +
                                     " group commits; the damaged logs are kept in " + lost->evidence);
  impl_->commits = std::make_unique<detail::committer>(*impl_->db, *impl_->io, impl_->durable->fsync,
                                               impl_->durable->max_commit_delay, impl_->durable->max_group,
                                               impl_->config.log);
  try {
    start_node(*impl_);
    impl_->recover();
  } catch (...) {
    impl_->commits->stop();
    shutdown(shutdown_policy::drop);
    throw;
  }
  start_workers();
}

namespace {

// A worker's loop: io_context::run(), except that a worker with nothing to do polls for up to
// spin before it blocks — one worker at a time (spinner: the claim), so that a system adds at
// most one polling thread to the cores its working threads need. Returns when run() would: the
// context is stopped, or out of work.
void run_worker(asio::io_context& io, std::chrono::microseconds spin, std::atomic<bool>& spinner) {
  if (spin.count() <= 0) return static_cast<void>(io.run());
  using clock = std::chrono::steady_clock;
  while (!io.stopped()) {
    if (!spinner.exchange(true, std::memory_order_acquire)) {
      bool found = false;
      // Each poll_one() runs a ready handler or the reactor (an epoll_wait that does not block).
      for (clock::time_point until = clock::now() + spin; !found && clock::now() < until && !io.stopped();)
        found = io.poll_one() > 0;
      spinner.store(false, std::memory_order_release);
      if (found) continue;  // poll again, or let another worker do it
    }
    if (io.run_one() == 0) return;
  }
}

}  // namespace

void actor_system::start_workers() {
  for (unsigned i = 0; i < impl_->config.workers; ++i)
    impl_->workers.emplace_back([this, spin = impl_->config.spin_before_sleep] { run_worker(*impl_->io, spin, impl_->spinner); });
}

actor_ref actor_system::spawn_durable(std::string name, behavior initial, supervision policy) {
  if (!impl_->db) throw std::logic_error("revenant: spawn_durable needs an actor system opened on a store");
  detail::system::check_durable_name(name);
  std::shared_ptr<actor_cell> cell = impl_->make_durable_cell(name, std::move(initial), policy, true);
  std::future<void> done = impl_->start_durable(cell);
  done.get();
  return actor_ref(std::move(cell));
}

std::future<void> actor_system::send_message(std::string_view name, message_ptr m) {
  std::promise<void> ack;
  std::future<void> result = ack.get_future();
  try {
    std::shared_ptr<detail::actor_base> to;
    if (impl_->net) to = impl_->net->route(std::string(name));  // on another node: answered over its link
    if (!to) to = impl_->resolve_cell(std::string(name));
    if (!to) std::rethrow_exception(impl_->no_actor(std::string(name)));
    detail::recipient_of(to).deliver_acknowledged(std::move(m), std::move(ack));
  } catch (...) {
    try {
      ack.set_exception(std::current_exception());
    } catch (const std::future_error&) {
      throw;  // the promise was moved on: the error came after the message was handed over
    }
  }
  return result;
}

void actor_system::ask_message(std::string_view name_view, message_ptr m, std::chrono::nanoseconds timeout,
                               std::unique_ptr<detail::outside_reply> reply) {
  const std::string name(name_view);
  std::shared_ptr<detail::actor_base> cell;
  try {
    if (timeout.count() < 0) throw std::invalid_argument("revenant: negative ask timeout");
    if (!impl_->accepting.load(std::memory_order_relaxed)) throw std::logic_error("revenant: the actor system is shut down");
    if (impl_->net) cell = impl_->net->route(name);  // on another node: the reply comes back over its link
    if (!cell) cell = impl_->resolve_cell(name);
    if (!cell) std::rethrow_exception(impl_->no_actor(name));
  } catch (...) {
    reply->fail(std::current_exception());
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = timeout >= std::chrono::steady_clock::time_point::max() - now
                            ? std::chrono::steady_clock::time_point::max()
                            : now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  detail::message_fields::sender(*m) = impl_->outside->sender();
  const std::uint64_t request = impl_->outside->add(std::move(reply), deadline);
  if (request == 0) return;  // shut down meanwhile: answered
  detail::message_fields::request_id(*m) = request;
  try {
    // Undeliverable (stopped, mailbox full, store closed): answered at once with an ask_error.
    cell->enqueue(std::move(m));
  } catch (...) {
    impl_->outside->complete(request, nullptr, std::current_exception());  // e.g. not registered
  }
}

void actor_system::sync() {
  if (impl_->commits) impl_->commits->sync();
}

std::vector<quarantined_actor> actor_system::quarantined() const {
  std::vector<std::pair<std::string, std::string>> listed = impl_->actors.lock().quarantine_list();
  std::sort(listed.begin(), listed.end());
  std::vector<quarantined_actor> out;
  for (const auto& [name, reason] : listed) out.push_back(impl_->describe_quarantined(name, reason));
  return out;
}

std::optional<quarantined_actor> actor_system::quarantine_of(std::string_view name_view) const {
  const std::string name(name_view);
  std::optional<std::string> reason = impl_->actors.lock().quarantine_reason(name);
  if (!reason) return std::nullopt;
  return impl_->describe_quarantined(name, *reason);
}

actor_ref actor_system::lift_quarantine(std::string_view name) { return impl_->lift(std::string(name)); }

std::uint64_t actor_system::discard_quarantined(std::string_view name) { return impl_->discard_all(std::string(name)); }

recovery_report actor_system::recovery() const {
  const auto& r = impl_->recovered;
  recovery_report report{r.activated.load(), r.requeued.load(), r.continuations.load(), r.timers.load(),
                         r.quarantined.load(), {}, {}};
  std::lock_guard lock(impl_->mutex);
  report.wal_loss = impl_->wal_dropped;
  report.repairs = impl_->repairs;
  return report;
}

actor_system::~actor_system() { shutdown(shutdown_policy::drop); }

actor_ref actor_system::spawn(behavior initial, supervision policy) {
  return impl_->spawn({}, std::move(initial), policy, nullptr);
}

actor_ref actor_system::spawn(std::string name, behavior initial, supervision policy) {
  if (name.empty()) throw std::invalid_argument("revenant: an actor name must not be empty");
  return impl_->spawn(std::move(name), std::move(initial), policy, nullptr);
}

detail::actor_resolver* actor_system::resolver() const noexcept { return impl_.get(); }

actor_ref actor_system::find(std::string_view name) const {
  if (impl_->net)
    if (auto elsewhere = impl_->net->route(std::string(name))) return actor_ref(std::move(elsewhere));
  return actor_ref(impl_->resolve_cell(std::string(name)));
}

std::string actor_system::home_of(std::string_view name) const {
  return impl_->net ? impl_->net->placement().home_of(name) : std::string();
}

std::uint16_t actor_system::node_port() const noexcept { return impl_->net ? impl_->net->port() : 0; }

void actor_system::set_peer_address(const std::string& peer, endpoint address) {
  if (!impl_->net) throw std::logic_error("revenant: set_peer_address on an actor system that is not a node");
  impl_->net->set_peer_address(peer, std::move(address));
}

std::size_t actor_system::links_up() const { return impl_->net ? impl_->net->links_up() : 0; }

std::vector<peer_status> actor_system::peers() const { return impl_->net ? impl_->net->peers() : std::vector<peer_status>{}; }

std::future<void> actor_system::migrate(std::string_view name, std::string_view node) {
  if (!impl_->net) throw std::logic_error("revenant: migrate needs a node (actor_system_config::node)");
  return impl_->net->migrate(std::string(name), std::string(node));
}

std::future<migration_report> actor_system::migrate(std::vector<std::string> names, std::string_view node) {
  if (!impl_->net) throw std::logic_error("revenant: migrate needs a node (actor_system_config::node)");
  return impl_->net->migrate_many(std::move(names), std::string(node));
}

std::future<migration_report> actor_system::drain(std::string_view node) {
  if (!impl_->net) throw std::logic_error("revenant: drain needs a node (actor_system_config::node)");
  return impl_->net->drain(std::string(node));
}

std::uint64_t actor_system::node_incarnation() const noexcept { return impl_->net ? impl_->net->incarnation() : 0; }

void actor_system::on_dead_letter(std::function<void(const dead_letter&)> handler) {
  impl_->letters.set_handler(std::move(handler));
}

std::uint64_t actor_system::dead_letters() const noexcept {
  return impl_->letters.count();
}

std::uint64_t actor_system::order_gaps() const noexcept {
  return impl_->order_gaps.load(std::memory_order_relaxed);
}

std::size_t actor_system::live_actors() const {
  return impl_->actors.running_count();
}

void actor_system::shutdown(shutdown_policy policy, std::chrono::milliseconds drain_deadline) {
  if (!impl_->actors.lock().begin_shutdown()) return;
  impl_->accepting.store(false);
  // Links end first (goodbye on each): their reads would keep the workers busy forever. A message
  // an actor sends to another node while the rest drains is a dead letter (unreachable).
  if (impl_->net) impl_->net->stop();
  // Every queued message has a scheduled run (the inbox invariant), so once the work guard is
  // gone the workers return exactly when no actor has anything left to do.
  impl_->work.reset();
  if (policy == shutdown_policy::drop) impl_->io->stop();
  std::mutex m;
  std::condition_variable done;
  bool finished = false;
  std::thread watchdog([&] {
    std::unique_lock lock(m);
    if (!done.wait_for(lock, drain_deadline, [&] { return finished; })) impl_->io->stop();
  });
  for (auto& t : impl_->workers) t.join();
  {
    std::lock_guard lock(m);
    finished = true;
  }
  done.notify_one();
  watchdog.join();
  // Every step the actors submitted is committed (and its messages delivered, to queues no
  // worker will run now) before anything is released.
  if (impl_->commits) impl_->commits->stop();
  // No worker runs now: finish every actor still alive (their queues become dead letters, their
  // behavior graphs are released).
  std::vector<std::shared_ptr<actor_cell>> remaining;
  auto keep = [&](std::shared_ptr<actor_cell> cell) { remaining.push_back(std::move(cell)); };
  impl_->actors.lock().finish_all(keep);
  impl_->actors.close_anonymous(keep);
  for (auto& cell : remaining) cell->finish(dead_letter_reason::shutdown);
  // Their queued requests are answered above (dead letters); asks still pending never will be.
  impl_->outside->close();
  // Close the store (its lock too): another system may open it now.
  std::unique_ptr<detail::committer> commits;
  {
    std::lock_guard lock(impl_->mutex);
    commits = std::move(impl_->commits);
  }
  commits.reset();
  impl_->db.reset();
  impl_->net.reset();
}

}  // namespace revenant
