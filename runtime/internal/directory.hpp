// The directory: which actor a name stands for in this process — running here, being spawned or
// erased, quarantined, or (for the system to find out from the store) possibly stored here. It
// owns its tables and their lock. Its named side is reached only through `locked`, which holds
// the lock for as long as it lives, so "under the directory's lock" is a fact of the types.
//
// Rules: nothing reads the store or calls into an actor while holding a `locked` (the system asks
// the store between two of them and checks `erasures()` to see whether it went stale); lock order
// is the directory's lock before the system's mutex (system.hpp), never the reverse.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "runtime/internal/name_table.hpp"
#include "runtime/internal/owned_set.hpp"

namespace revenant::detail {

class actor_cell;

class directory {
 public:
  using hash_type = name_table<actor_cell>::hash_type;
  static hash_type hash(std::string_view name) noexcept { return name_table<actor_cell>::hash(name); }

  // ---- anonymous actors: a sharded set with locks of its own, not the directory's lock ----

  // Takes ownership of a new anonymous actor; false once shutdown began (closing) or took the
  // last actors. Thread-safe.
  bool add_anonymous(std::shared_ptr<actor_cell> cell) {
    return !closing_.load(std::memory_order_acquire) && live_.insert(std::move(cell));
  }
  // Gives up the directory's ownership of an anonymous actor (the caller destroys it outside any
  // lock). Thread-safe.
  std::shared_ptr<actor_cell> remove_anonymous(const actor_cell* cell) { return live_.erase(cell); }

  // ---- named actors and names in transition: only under the lock ----

  class locked {
   public:
    // Shutdown: begin_shutdown marks it (false if it had begun already); from then on no actor
    // is spawned. finish_all hands over every named actor and closes the tables for good.
    bool shutting_down() const noexcept { return d_.shut_down_; }
    bool begin_shutdown() noexcept {
      if (d_.shut_down_) return false;
      d_.shut_down_ = true;
      d_.closing_.store(true, std::memory_order_release);
      return true;
    }
    bool finished() const noexcept { return d_.finished_; }
    template <class Sink>
    void finish_all(Sink&& sink) {
      d_.finished_ = true;
      d_.named_.drain(sink);
    }

    // Running named actors, by their own name.
    std::shared_ptr<actor_cell> running(std::string_view name) const noexcept;
    bool is_running(std::string_view name) const noexcept;
    std::size_t running_count() const noexcept { return d_.named_.size(); }
    // Registers cell under its name; false (nothing changes) if the name is taken.
    bool add(std::shared_ptr<actor_cell> cell);
    // Registers cell unless its name is taken: returns the actor registered under the name.
    const std::shared_ptr<actor_cell>& add_or_found(std::shared_ptr<actor_cell> cell, hash_type h);
    // Unregisters cell (if it is still the one under name) and returns the directory's reference.
    std::shared_ptr<actor_cell> remove(std::string_view name, const actor_cell* cell) noexcept;
    void reserve(std::size_t n) { d_.named_.reserve(n); }
    void prefetch(hash_type h) const noexcept { d_.named_.prefetch(h); }

    // Throws unless name is free for a new durable actor: actor_quarantined if quarantined,
    // std::invalid_argument if running, stored (was_stored, read by the caller before the
    // lock) or being spawned or erased, std::logic_error after shutdown.
    void check_free(const std::string& name, bool was_stored) const;
    // Whether a stored actor named name may be brought in now (not quarantined, not being
    // spawned or erased, the tables not finished). The caller reads the store itself.
    bool may_bring_in(const std::string& name) const {
      return !d_.finished_ && !quarantined(name) && !d_.erasing_.contains(name) && !d_.spawning_.contains(name);
    }

    // A durable actor spawned by a step not committed yet: its name is taken meanwhile.
    void begin_spawn(const std::string& name) { d_.spawning_.insert(name); }
    void end_spawn(const std::string& name) { d_.spawning_.erase(name); }
    // A durable actor whose erasure is not committed yet: it must not be brought back from its
    // record. end_erase counts the erasure (erasures()).
    void begin_erase(const std::string& name) { d_.erasing_.insert(name); }
    void end_erase(const std::string& name) {
      d_.erasing_.erase(name);
      ++d_.erased_;
    }
    // Erasures committed so far: a store read made between two locks is stale if this moved.
    std::uint64_t erasures() const noexcept { return d_.erased_; }

    // Quarantined actors (kept out of service, their records kept) and why.
    bool quarantined(const std::string& name) const {
      return !d_.quarantined_.empty() && d_.quarantined_.contains(name);
    }
    std::optional<std::string> quarantine_reason(const std::string& name) const {
      auto it = d_.quarantined_.find(name);
      return it == d_.quarantined_.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
    void quarantine(const std::string& name, const std::string& reason) { d_.quarantined_[name] = reason; }
    void end_quarantine(const std::string& name) { d_.quarantined_.erase(name); }
    std::vector<std::pair<std::string, std::string>> quarantine_list() const {
      return {d_.quarantined_.begin(), d_.quarantined_.end()};
    }
    // A lift or discard working on a quarantined name: one at a time.
    bool claimed(const std::string& name) const { return d_.claimed_.contains(name); }
    void claim_quarantined(const std::string& name) { d_.claimed_.insert(name); }
    void release_claim(const std::string& name) { d_.claimed_.erase(name); }

   private:
    friend class directory;
    explicit locked(directory& d) : d_(d), lock_(d.mutex_) {}
    directory& d_;
    std::lock_guard<std::mutex> lock_;
  };

  // The named side, locked for as long as the result lives.
  locked lock() { return locked(*this); }

  // Anonymous and named actors running (two reads: exact only when nothing spawns or stops).
  std::size_t running_count() {
    const std::size_t anonymous = live_.size();
    return anonymous + lock().running_count();
  }
  // Closes the anonymous set and hands over what it held (shutdown, after finish_all).
  template <class Sink>
  void close_anonymous(Sink&& sink) {
    live_.close(sink);
  }

 private:
  std::mutex mutex_;
  bool shut_down_ = false;  // guarded by mutex_
  // Set once shutdown has taken the last actors: no actor is registered after it. (Until then a
  // draining worker may still bring a stored actor in, e.g. one its state refers to.)
  bool finished_ = false;              // guarded by mutex_
  std::atomic<bool> closing_{false};   // shut_down_, readable without the lock (anonymous spawns)
  // Every running actor is in exactly one of these: anonymous ones in live_ (locks of its own),
  // named ones in named_ (keyed by the actor's own name, guarded by mutex_).
  owned_set<actor_cell> live_;
  name_table<actor_cell> named_;
  std::unordered_set<std::string> spawning_;                   // guarded by mutex_
  std::unordered_set<std::string> erasing_;                    // guarded by mutex_
  std::uint64_t erased_ = 0;                                   // guarded by mutex_
  std::unordered_map<std::string, std::string> quarantined_;   // guarded by mutex_: name -> reason
  std::unordered_set<std::string> claimed_;                    // guarded by mutex_
};

}  // namespace revenant::detail
