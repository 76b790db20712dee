#include "runtime/internal/kill_point.hpp"

#include <atomic>
#include <csignal>
#include <mutex>

namespace revenant::detail {
namespace {

std::atomic<bool> armed{false};
std::mutex point_mutex;
std::string armed_point;  // guarded by point_mutex

}  // namespace

void kill_at(std::string point) {
  std::lock_guard lock(point_mutex);
  armed_point = std::move(point);
  armed.store(!armed_point.empty(), std::memory_order_release);
}

void kill_point(std::string_view point) noexcept {
  if (!armed.load(std::memory_order_acquire)) return;
  std::lock_guard lock(point_mutex);
  if (armed_point == point) std::raise(SIGKILL);
}

}  // namespace revenant::detail
