// Live migration (docs/migration.md 1), how a move is asked for: on any node (a node that does
// not host the actor passes the request toward the one that does, migrate_request), and many at
// once (a batch, or a drain of this node), a window of moves at a time.
#include <algorithm>
#include <deque>

#include "runtime/internal/durable_cell.hpp"
#include "runtime/internal/node.hpp"
#include "runtime/internal/remote_actor.hpp"
#include "runtime/internal/system.hpp"

namespace revenant::detail {

using wire::encoded;

std::string node::host_of(const std::string& name) {
  const std::shared_ptr<actor_base> there = route(name);
  if (auto* remote = dynamic_cast<remote_actor*>(there.get()))
    if (!is_self(remote->route())) return remote->route();
  return {};
}

void node::migrate(std::string name, std::string target, move_callback done, std::uint8_t hops) {
  if (target != config_.name && !peers_.contains(target))  // peers_'s keys never change
    return done(std::make_exception_ptr(migration_error(
        migration_errc::unknown_node, name, target, "it is neither node \"" + config_.name + "\" nor one of its peers")));
  const std::string host = host_of(name);
  if (host.empty()) {
    if (target != config_.name) return move_from_here(std::move(name), std::move(target), std::move(done));
    // Asked to move it here, where it is (or is not at all).
    if (sys_.resolve_cell(name)) return done(nullptr);
    std::string why = "no actor of that name runs on node \"" + config_.name + "\"";
    auto code = migration_errc::unknown_actor;
    try {
      std::rethrow_exception(sys_.no_actor(name));
    } catch (const actor_quarantined& e) {
      code = migration_errc::quarantined;
      why = e.what();
    } catch (const std::exception&) {
    }
    if (holds_incoming(name)) {
      code = migration_errc::busy;
      why = "it is moving to this node";
    }
    return done(std::make_exception_ptr(migration_error(code, name, target, why)));
  }
  if (hops == 0)
    return done(std::make_exception_ptr(
        migration_error(migration_errc::unknown_actor, name, target,
                        "the request was passed on " + std::to_string(max_move_hops) +
                            " times without reaching the node that hosts it (next: \"" + host + "\")")));
  request_move(host, std::move(name), std::move(target), std::move(done), static_cast<std::uint8_t>(hops - 1));
}

std::future<void> node::migrate(std::string name, std::string target) {
  auto promise = std::make_shared<std::promise<void>>();
  std::future<void> result = promise->get_future();
  migrate(std::move(name), std::move(target), [promise](std::exception_ptr failure) {
    if (failure)
      promise->set_exception(std::move(failure));
    else
      promise->set_value();
  });
  return result;
}

// ---- requests between nodes -------------------------------------------------------------------

void node::request_move(const std::string& peer, std::string name, std::string target, move_callback done,
                        std::uint8_t hops) {
  std::unique_lock lock(mutex_);
  if (stopped_) {
    lock.unlock();
    return done(std::make_exception_ptr(
        migration_error(migration_errc::shutting_down, name, target, "this node is shutting down")));
  }
  const std::uint64_t id = ++next_request_;
  move_request& r = requests_out_[id];
  r.peer = peer;
  r.actor = std::move(name);
  r.target = std::move(target);
  r.done = std::move(done);
  // Twice the host's own limit: its move may time out, and its answer still has to come back.
  r.deadline = std::chrono::steady_clock::now() + 2 * config_.migration_timeout;
  r.frame = encoded(wire::migrate_request_frame{id, wire::name_for_peer(r.actor, peer),
                                                wire::name_for_peer(r.target, peer), hops});
  send_now(peer, r.frame, r.sent_on, r.sent_at);
}

void node::take_move_request(connection& c, const wire::migrate_request_frame& f) {
  const std::string actor = wire::name_from_peer(f.actor, c.peer(), config_.name);
  const std::string target(f.target);
  const auto key = std::pair{c.peer(), f.id};
  {
    std::lock_guard lock(mutex_);
    auto [it, fresh] = requests_in_.try_emplace(key, c.weak_from_this());
    if (!fresh) {
      it->second = c.weak_from_this();  // a repeat on a new link: answered on it
      return;
    }
  }
  migrate(actor, target, [self = shared_from_this(), key](std::exception_ptr failure) {
    wire::migrate_result_frame answer{key.second, 0, {}};
    std::string reason;
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const migration_error& e) {
        answer.code = static_cast<std::uint16_t>(e.code());
        reason = e.reason();
      } catch (const std::exception& e) {
        answer.code = static_cast<std::uint16_t>(migration_errc::refused);
        reason = e.what();
      }
      answer.reason = reason;
    }
    std::shared_ptr<connection> on;
    {
      std::lock_guard lock(self->mutex_);
      auto it = self->requests_in_.find(key);
      if (it == self->requests_in_.end()) return;
      on = it->second.lock();
      self->requests_in_.erase(it);
    }
    // A link lost meanwhile: the asking node asks again on its next one, and the move, done or
    // not, is answered then.
    if (on) on->send(encoded(answer));
  }, f.hops);
}

void node::take_move_result(const wire::migrate_result_frame& f) {
  move_request r;
  {
    std::lock_guard lock(mutex_);
    auto it = requests_out_.find(f.id);
    if (it == requests_out_.end()) return;  // answered already, or given up
    r = std::move(it->second);
    requests_out_.erase(it);
  }
  if (f.code == 0) return r.done(nullptr);
  const auto code = static_cast<migration_errc>(f.code);
  std::string why(f.reason);
  if (code < migration_errc::unknown_node || code > migration_errc::unconfirmed)
    why = "node \"" + r.peer + "\" answered code " + std::to_string(f.code) + ", which this version does not know: " + why;
  r.done(std::make_exception_ptr(migration_error(code, r.actor, r.target, why)));
}

// ---- many at once ------------------------------------------------------------------------------

namespace {

// The moves of one batch: started a window at a time, each started as one ends.
struct batch_of_moves : std::enable_shared_from_this<batch_of_moves> {
  std::weak_ptr<node> owner;
  std::size_t window = 1;
  std::mutex mutex;
  std::deque<std::pair<std::string, std::string>> waiting;  // guarded by mutex: (actor, target)
  std::size_t running = 0;                                  // guarded by mutex
  bool starting = false;                                    // guarded by mutex: a pump() is in its loop
  migration_report report;                                  // guarded by mutex
  std::promise<migration_report> done;

  // Starts moves while the window has room. A move that ends at once (refused) is counted
  // before the next starts; the loop, not recursion, starts the next (one thread at a time).
  void pump() {
    std::unique_lock lock(mutex);
    if (starting) return;
    starting = true;
    while (running < window && !waiting.empty()) {
      auto [actor, target] = std::move(waiting.front());
      waiting.pop_front();
      ++running;
      lock.unlock();
      auto n = owner.lock();
      if (!n) {
        ended(actor, target, std::make_exception_ptr(migration_error(migration_errc::shutting_down, actor, target,
                                                                     "the actor system is shut down")), false);
      } else {
        n->migrate(actor, target, [self = shared_from_this(), actor, target](std::exception_ptr failure) {
          self->ended(actor, target, std::move(failure), true);
        });
      }
      lock.lock();
    }
    starting = false;
    if (running == 0 && waiting.empty()) {
      lock.unlock();
      finish();
    }
  }

  void ended(const std::string& actor, const std::string& target, std::exception_ptr failure, bool more) {
    {
      std::lock_guard lock(mutex);
      --running;
      if (!failure) {
        report.moved.push_back(actor);
      } else {
        try {
          std::rethrow_exception(failure);
        } catch (const migration_error& e) {
          report.failed.push_back(e);
        } catch (const std::exception& e) {
          report.failed.emplace_back(migration_errc::refused, actor, target, e.what());
        }
      }
    }
    if (more) pump();
  }

  void finish() {
    std::lock_guard lock(mutex);
    if (finished) return;
    finished = true;
    done.set_value(std::move(report));
  }
  bool finished = false;  // guarded by mutex
};

}  // namespace

std::future<migration_report> node::migrate_many(std::vector<std::string> names, std::string target) {
  auto batch = std::make_shared<batch_of_moves>();
  batch->owner = weak_from_this();
  batch->window = std::max<std::size_t>(1, config_.migration_window);
  std::vector<std::string> others;  // for a target chosen by placement: this node's peers
  if (target.empty())
    for (const auto& [peer, _] : peers_) others.push_back(peer);
  for (auto& name : names) {
    std::string to = target;
    if (to.empty() && !others.empty())
      to = *std::max_element(others.begin(), others.end(), [&](const std::string& a, const std::string& b) {
        return static_placement::score(a, name) < static_placement::score(b, name);
      });
    if (to.empty()) to = config_.name;  // no peers: refused as the move to nowhere it is
    batch->waiting.emplace_back(std::move(name), std::move(to));
  }
  std::future<migration_report> result = batch->done.get_future();
  batch->pump();
  return result;
}

std::future<migration_report> node::drain(std::string target) {
  std::vector<std::string> names;
  if (sys_.db)
    sys_.db->for_each_record({}, [&](std::string_view name, std::string_view) {
      names.emplace_back(name);
      return true;
    });
  return migrate_many(std::move(names), std::move(target));
}

}  // namespace revenant::detail
