// A map from non-null addresses to small values, for the graph codec's per-snapshot tables.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace revenant::detail {

// Most snapshots hold a handful of nodes, so the first entries live inline and are found by a
// linear scan: no allocation, no hashing. Past that, an open-addressing table (linear probing,
// Fibonacci hashing, at most half full) takes over. Entries are never erased.
template <class V>
class pointer_map {
  struct slot {  // trivial: inline slots past size_ stay uninitialised
    const void* key;
    V value;
  };
  static constexpr std::size_t inline_capacity = 8;

 public:
  // Finds key, or inserts it with value. Returns the stored value and whether it was inserted.
  // The pointer is valid until the next insertion.
  std::pair<V*, bool> try_emplace(const void* key, V value) {
    if (table_.empty()) {
      for (std::size_t i = 0; i < size_; ++i)
        if (inline_[i].key == key) return {&inline_[i].value, false};
      if (size_ < inline_capacity) {
        inline_[size_] = slot{key, value};
        return {&inline_[size_++].value, true};
      }
      rehash(64);
    } else if ((size_ + 1) * 2 > table_.size()) {
      rehash(table_.size() * 2);
    }
    for (std::size_t i = index_of(key);; i = (i + 1) & (table_.size() - 1)) {
      slot& s = table_[i];
      if (s.key == key) return {&s.value, false};
      if (s.key == nullptr) {
        s = slot{key, value};
        ++size_;
        return {&s.value, true};
      }
    }
  }

  std::size_t size() const noexcept { return size_; }

 private:
  std::size_t index_of(const void* key) const noexcept {
    const auto bits = reinterpret_cast<std::uintptr_t>(key);
    return static_cast<std::size_t>((bits * 0x9E3779B97F4A7C15ull) >> shift_);
  }

  void rehash(std::size_t capacity) {
    std::vector<slot> old = std::move(table_);
    table_.assign(capacity, slot{nullptr, V{}});
    shift_ = 64 - std::countr_zero(capacity);
    auto place = [this](const slot& s) {
      std::size_t i = index_of(s.key);
      while (table_[i].key != nullptr) i = (i + 1) & (table_.size() - 1);
      table_[i] = s;
    };
    if (old.empty()) {
      for (std::size_t i = 0; i < size_; ++i) place(inline_[i]);
    } else {
      for (const slot& s : old)
        if (s.key != nullptr) place(s);
    }
  }

  std::array<slot, inline_capacity> inline_;
  std::vector<slot> table_;  // empty while the entries fit inline
  std::size_t size_ = 0;
  int shift_ = 64;
};

}  // namespace revenant::detail
