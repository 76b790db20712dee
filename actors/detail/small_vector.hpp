// A vector whose first N elements live inline, for the codec's per-snapshot lists: most
// snapshots are small, and these lists then cost no allocation. The inline slots are raw storage
// until an element is pushed into them: a decoder made for one small record does not construct
// and destroy N elements it never uses.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace revenant::detail {

template <class T, std::size_t N>
class small_vector {
 public:
  small_vector() noexcept {}
  ~small_vector() { destroy_inline(); }
  small_vector(const small_vector&) = delete;
  small_vector& operator=(const small_vector&) = delete;

  void push_back(T value) {
    if (size_ < N)
      ::new (static_cast<void*>(slot(size_))) T(std::move(value));
    else
      overflow_.push_back(std::move(value));
    ++size_;
  }
  T& operator[](std::size_t i) noexcept { return i < N ? *slot(i) : overflow_[i - N]; }
  const T& operator[](std::size_t i) const noexcept { return i < N ? *slot(i) : overflow_[i - N]; }
  std::size_t size() const noexcept { return size_; }
  void clear() noexcept {
    destroy_inline();
    overflow_.clear();
    size_ = 0;
  }

 private:
  T* slot(std::size_t i) noexcept { return std::launder(reinterpret_cast<T*>(inline_ + i * sizeof(T))); }
  const T* slot(std::size_t i) const noexcept {
    return std::launder(reinterpret_cast<const T*>(inline_ + i * sizeof(T)));
  }
  void destroy_inline() noexcept {
    for (std::size_t i = 0, n = size_ < N ? size_ : N; i < n; ++i) std::destroy_at(slot(i));
  }

  alignas(T) unsigned char inline_[N * sizeof(T)];  // elements [0, min(size_, N)) are constructed
  std::vector<T> overflow_;
  std::size_t size_ = 0;
};

}  // namespace revenant::detail
