#include "runtime/internal/placement.hpp"

#include <algorithm>

#include "storage/wire.hpp"

namespace revenant::detail {

static_placement::static_placement(std::string self, std::vector<std::string> nodes)
    : self_(std::move(self)), nodes_(std::move(nodes)) {
  nodes_.push_back(self_);
  std::sort(nodes_.begin(), nodes_.end());
  nodes_.erase(std::unique(nodes_.begin(), nodes_.end()), nodes_.end());
}

std::uint64_t static_placement::score(std::string_view node, std::string_view name) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](unsigned char byte) {
    h ^= byte;
    h *= 0x100000001b3ull;
  };
  for (char c : node) mix(static_cast<unsigned char>(c));
  mix(0);
  for (char c : name) mix(static_cast<unsigned char>(c));
  // FNV's low bits mix poorly: spread every bit over the word (the splitmix64 finalizer).
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

const std::string& static_placement::home_of(std::string_view name) const noexcept {
  if (const std::string_view node = wire::home_node(name); !node.empty()) {
    for (const auto& n : nodes_)
      if (n == node) return n;
  }
  const std::string* best = &nodes_.front();
  std::uint64_t best_score = score(*best, name);
  for (std::size_t i = 1; i < nodes_.size(); ++i) {
    const std::uint64_t s = score(nodes_[i], name);
    if (s > best_score) {
      best_score = s;
      best = &nodes_[i];
    }
  }
  return *best;
}

}  // namespace revenant::detail
