// The running named actors, by name: an open-addressing hash table (linear probing, deletion by
// backward shift, no tombstones) of {hash, shared_ptr<T>} slots. The key is the value's own
// name (T::given_name()), so no name is stored twice, and a lookup touches one slot per probe
// and the value only when the full 64-bit hash matches.
//
// It exists because recovering a store of a million actors inserts a million names in one go:
// std::unordered_map's node per entry, scattered among the actors, made each insert a chain of
// cache misses (docs/benchmarks.md, "Durability"). Not thread-safe: the owner locks.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace revenant::detail {

// T must have `std::string_view given_name() const` (or one returning a string that converts),
// and a value's name must not change while it is in the table.
template <class T>
class name_table {
 public:
  using hash_type = std::uint64_t;

  // The hash a name is stored under; compute it once to both prefetch and look up.
  static hash_type hash(std::string_view name) noexcept { return std::hash<std::string_view>{}(name); }

  // The value named name, or null.
  const std::shared_ptr<T>* find(std::string_view name) const noexcept { return find(name, hash(name)); }
  const std::shared_ptr<T>* find(std::string_view name, hash_type h) const noexcept {
    if (size_ == 0) return nullptr;
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const slot& s = slots_[i];
      if (!s.value) return nullptr;
      if (s.hash == h && std::string_view(s.value->given_name()) == name) return &s.value;
    }
  }
  bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }

  // Adds value under its name unless that name is present; returns whether it was added (value
  // is left as it was if not). Throws std::bad_alloc when the table must grow and cannot.
  bool insert(std::shared_ptr<T> value) {
    const hash_type h = hash(value->given_name());
    return insert(std::move(value), h);
  }
  // h must be hash(value->given_name()).
  bool insert(std::shared_ptr<T> value, hash_type h) {
    const T* const candidate = value.get();
    return find_or_insert(std::move(value), h).get() == candidate;
  }

  // The value stored under value's name: the one already there (value is dropped), or value,
  // inserted. One probe serves both. h must be hash(value->given_name()). Throws
  // std::bad_alloc when the table must grow and cannot.
  const std::shared_ptr<T>& find_or_insert(std::shared_ptr<T> value, hash_type h) {
    const std::string_view name(value->given_name());
    if (!slots_.empty()) {
      std::size_t i = h & mask_;
      for (; slots_[i].value; i = (i + 1) & mask_)
        if (slots_[i].hash == h && std::string_view(slots_[i].value->given_name()) == name) return slots_[i].value;
      if ((size_ + 1) * 4 <= slots_.size() * 3) {
        slots_[i] = slot{h, std::move(value)};
        ++size_;
        return slots_[i].value;
      }
    }
    grow(slots_.empty() ? min_slots : slots_.size() * 2);
    ++size_;
    return place(slot{h, std::move(value)});
  }

  // Removes the entry named name if it holds exactly `which`; returns the removed value (null if
  // nothing was removed), for the caller to release outside its lock.
  std::shared_ptr<T> erase(std::string_view name, const T* which) noexcept {
    if (size_ == 0) return nullptr;
    const hash_type h = hash(name);
    std::size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      if (!slots_[i].value) return nullptr;
      if (slots_[i].hash == h && std::string_view(slots_[i].value->given_name()) == name) break;
    }
    if (slots_[i].value.get() != which) return nullptr;
    std::shared_ptr<T> removed = std::move(slots_[i].value);
    // Backward shift: move up every later entry of the run that may not sit past the hole
    // (its home slot is not in (hole, j]), so every entry stays reachable from its home slot.
    for (std::size_t j = (i + 1) & mask_; slots_[j].value; j = (j + 1) & mask_) {
      const std::size_t home = slots_[j].hash & mask_;
      const bool home_after_hole = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (home_after_hole) continue;
      slots_[i] = std::move(slots_[j]);
      i = j;
    }
    slots_[i] = slot{};
    --size_;
    return removed;
  }

  // Hints that the slot for h will be looked at soon (a batch hashes first, then inserts).
  void prefetch(hash_type h) const noexcept {
    if (!slots_.empty()) __builtin_prefetch(&slots_[h & mask_]);
  }

  // Makes room for n entries in all, so that inserting them does not rehash.
  void reserve(std::size_t n) {
    const std::size_t wanted = std::bit_ceil(std::max<std::size_t>(min_slots, n + n / 3 + 1));
    if (wanted > slots_.size()) grow(wanted);
  }

  std::size_t size() const noexcept { return size_; }

  // Moves every value out to f (in no particular order) and leaves the table empty.
  template <class F>
  void drain(F&& f) {
    for (slot& s : slots_)
      if (s.value) f(std::move(s.value));
    slots_.clear();
    mask_ = 0;
    size_ = 0;
  }

 private:
  struct slot {
    hash_type hash = 0;
    std::shared_ptr<T> value;  // null: the slot is free
  };
  static constexpr std::size_t min_slots = 16;

  // The name is known to be absent and a free slot to exist; returns the stored value.
  const std::shared_ptr<T>& place(slot s) noexcept {
    std::size_t i = s.hash & mask_;
    while (slots_[i].value) i = (i + 1) & mask_;
    slots_[i] = std::move(s);
    return slots_[i].value;
  }

  void grow(std::size_t slot_count) {
    std::vector<slot> old(slot_count);
    old.swap(slots_);
    mask_ = slot_count - 1;
    for (slot& s : old)
      if (s.value) place(std::move(s));
  }

  std::vector<slot> slots_;  // a power of two in size, at most 3/4 full
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace revenant::detail
