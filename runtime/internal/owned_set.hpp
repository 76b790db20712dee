// The anonymous running actors, owned here until they finish (named ones are in the name
// table). Sharded by address, each shard with its own lock, so that an application spawning on
// one thread and workers finishing actors on others rarely meet on a lock. Thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace revenant::detail {

template <class T>
class owned_set {
 public:
  // Takes value; false once close() has run (the value is not taken).
  bool insert(std::shared_ptr<T> value) {
    shard& s = shard_of(value.get());
    std::lock_guard lock(s.mutex);
    if (s.closed) return false;
    s.items.emplace(value.get(), std::move(value));
    return true;
  }
  // Gives up the value at which, if held: the caller drops it outside the lock.
  std::shared_ptr<T> erase(const T* which) {
    shard& s = shard_of(which);
    std::lock_guard lock(s.mutex);
    auto it = s.items.find(which);
    if (it == s.items.end()) return nullptr;
    std::shared_ptr<T> out = std::move(it->second);
    s.items.erase(it);
    return out;
  }
  std::size_t size() const {
    std::size_t n = 0;
    for (const shard& s : shards_) {
      std::lock_guard lock(s.mutex);
      n += s.items.size();
    }
    return n;
  }
  // Refuses every later insert and hands every value held to f.
  template <class F>
  void close(F&& f) {
    for (shard& s : shards_) {
      std::unordered_map<const T*, std::shared_ptr<T>> items;
      {
        std::lock_guard lock(s.mutex);
        s.closed = true;
        items.swap(s.items);
      }
      for (auto& [_, value] : items) f(std::move(value));
    }
  }

 private:
  static constexpr std::size_t shard_count = 16;
  struct alignas(64) shard {
    mutable std::mutex mutex;
    std::unordered_map<const T*, std::shared_ptr<T>> items;  // guarded by mutex
    bool closed = false;                                      // guarded by mutex
  };
  shard& shard_of(const T* value) noexcept {
    // Allocations are at least 16 bytes apart: the bits above those pick the shard.
    const auto bits = reinterpret_cast<std::uintptr_t>(value);
    return shards_[((bits >> 4) ^ (bits >> 12)) % shard_count];
  }
  std::array<shard, shard_count> shards_;
};

}  // namespace revenant::detail
