// A vector whose first N elements live inline, for the codec's per-snapshot lists: most
// snapshots are small, and these lists then cost no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <utility>
#include <vector>

namespace revenant::detail {

template <class T, std::size_t N>
class small_vector {
 public:
  void push_back(T value) {
    if (size_ < N)
      inline_[size_] = std::move(value);
    else
      overflow_.push_back(std::move(value));
    ++size_;
  }
  T& operator[](std::size_t i) noexcept { return i < N ? inline_[i] : overflow_[i - N]; }
  const T& operator[](std::size_t i) const noexcept { return i < N ? inline_[i] : overflow_[i - N]; }
  std::size_t size() const noexcept { return size_; }
  void clear() noexcept {
    overflow_.clear();
    size_ = 0;
  }

 private:
  std::array<T, N> inline_;  // elements past size_ are default-initialised, never read
  std::vector<T> overflow_;
  std::size_t size_ = 0;
};

}  // namespace revenant::detail
