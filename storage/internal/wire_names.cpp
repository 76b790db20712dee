// Names across nodes (docs/wire.md, section 7): anonymous actors' names qualified with their node.
#include <algorithm>

#include "storage/internal/wire_fields.hpp"
#include "storage/wire.hpp"

namespace revenant::wire {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr std::size_t max_anonymous_digits = 20;  // the digits of the largest u64

// The length of the "$<digits>" that starts name, or 0 if it does not start with one.
std::size_t anonymous_prefix(std::string_view name) noexcept {
  if (name.empty() || name[0] != '$') return 0;
  std::size_t n = 1;
  while (n < name.size() && is_digit(name[n])) ++n;
  const std::size_t digits = n - 1;
  return digits >= 1 && digits <= max_anonymous_digits ? n : 0;
}

}  // namespace

bool is_anonymous_name(std::string_view name) noexcept {
  return anonymous_prefix(name) == name.size() && !name.empty();
}

bool is_valid_node_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= max_node_name_size && std::all_of(name.begin(), name.end(), detail::is_node_name_byte);
}

std::string_view home_node(std::string_view name) noexcept {
  const std::size_t local = anonymous_prefix(name);
  if (local == 0 || local >= name.size() || name[local] != '@') return {};
  const std::string_view node = name.substr(local + 1);
  return is_valid_node_name(node) ? node : std::string_view();
}

std::string name_from_peer(std::string_view name, std::string_view peer_node, std::string_view own_node) {
  if (is_anonymous_name(name)) {
    std::string qualified(name);
    qualified += '@';
    qualified += peer_node;
    return qualified;
  }
  const std::string_view home = home_node(name);
  if (!home.empty() && home == own_node) return std::string(name.substr(0, anonymous_prefix(name)));
  return std::string(name);
}

std::string_view name_for_peer(std::string_view name, std::string_view peer_node) noexcept {
  const std::string_view home = home_node(name);
  if (!home.empty() && home == peer_node) return name.substr(0, anonymous_prefix(name));
  return name;
}

}  // namespace revenant::wire
