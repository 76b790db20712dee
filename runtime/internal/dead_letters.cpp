#include "runtime/internal/dead_letters.hpp"

#include "actors/internal/access.hpp"
#include "runtime/internal/signals.hpp"

namespace revenant::detail {

void dead_letters::add(std::string recipient, message_ptr m, dead_letter_reason reason) noexcept {
  // A timer that expired while its actor was stopping posts a signal to a closed inbox: that is
  // no letter anyone sent.
  if (is_runtime_signal(*m)) return;
  count_.fetch_add(1, std::memory_order_relaxed);
  if (const std::uint64_t request = detail::message_fields::request_id(*m); request != 0 && detail::message_fields::sender(*m)) {
    try {
      message_ptr error = make_message<ask_error>(ask_error{
          reason == dead_letter_reason::mailbox_full ? ask_errc::mailbox_full : ask_errc::target_stopped});
      detail::message_fields::response_to(*error) = request;
      detail::message_fields::sender(*error) = detail::message_fields::sender(*m);  // not an outside message
      auto asker = detail::message_fields::sender(*m);
      asker->enqueue(std::move(error));
    } catch (...) {
      // Out of memory: the asker falls back on its timeout.
    }
  }
  std::function<void(const dead_letter&)> handler;
  {
    std::lock_guard lock(mutex_);
    handler = handler_;
  }
  if (!handler) return;
  try {
    handler(dead_letter{std::move(recipient), *m, reason});
  } catch (...) {
    // A dead-letter observer must not take down the sender.
  }
}

void dead_letters::set_handler(std::function<void(const dead_letter&)> handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

}  // namespace revenant::detail
