#include "runtime/internal/outside_asks.hpp"

#include "actors/internal/access.hpp"
#include "runtime/internal/recipient.hpp"

#include <stdexcept>

namespace revenant::detail {
namespace {

class reply_point final : public recipient {
 public:
  reply_point(std::uint64_t id, std::weak_ptr<outside_asks> asks, std::function<void(message_ptr)> not_a_reply)
      : recipient(id, {}), asks_(std::move(asks)), not_a_reply_(std::move(not_a_reply)) {}
  void enqueue(message_ptr m) override {
    auto asks = asks_.lock();
    if (!asks) return;
    if (const std::uint64_t request = detail::message_fields::response_to(*m)) {
      asks->complete(request, m.get(), nullptr);
      return;
    }
    not_a_reply_(std::move(m));  // nobody reads it
  }
  void add_watcher(const std::shared_ptr<detail::actor_base>&) override {}  // never stops

 private:
  std::weak_ptr<outside_asks> asks_;
  std::function<void(message_ptr)> not_a_reply_;
};

}  // namespace

outside_asks::outside_asks(asio::io_context& io, std::uint64_t sender_id, std::function<void(message_ptr)> not_a_reply)
    : io_(io), sender_id_(sender_id), not_a_reply_(std::move(not_a_reply)) {}

std::shared_ptr<detail::actor_base> outside_asks::sender() {
  std::lock_guard lock(mutex_);
  if (!sender_) sender_ = std::make_shared<reply_point>(sender_id_, weak_from_this(), not_a_reply_);
  return sender_;
}

std::uint64_t outside_asks::add(std::unique_ptr<detail::outside_reply> reply,
                                std::chrono::steady_clock::time_point deadline) {
  std::lock_guard lock(mutex_);
  if (closed_) {
    reply->fail(std::make_exception_ptr(std::logic_error("revenant: the actor system is shut down")));
    return 0;
  }
  const std::uint64_t request = ++last_request_;
  pending_.emplace(request, std::move(reply));
  deadlines_.emplace(deadline, request);
  if (!clock_armed_ || deadline < clock_at_) arm(deadline);
  return request;
}

void outside_asks::arm(std::chrono::steady_clock::time_point at) {
  if (!clock_) clock_.emplace(io_);
  clock_->expires_at(at);  // cancels an earlier wait, whose handler then does nothing
  clock_->async_wait([weak = weak_from_this()](const asio::error_code& error) {
    if (error) return;
    if (auto asks = weak.lock()) asks->time_out();
  });
  clock_at_ = at;
  clock_armed_ = true;
}

void outside_asks::complete(std::uint64_t request, const message* reply, std::exception_ptr error) {
  std::unique_ptr<detail::outside_reply> waiting;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(request);
    if (it == pending_.end()) return;  // answered already, or timed out
    waiting = std::move(it->second);
    pending_.erase(it);
    if (pending_.empty()) {
      // Nothing left to time out: the clock must not keep the system running.
      deadlines_ = {};
      if (clock_armed_) clock_->cancel();
      clock_armed_ = false;
    }
  }
  if (reply != nullptr)
    waiting->answer(*reply);
  else
    waiting->fail(std::move(error));
}

void outside_asks::time_out() {
  std::vector<std::unique_ptr<detail::outside_reply>> expired;
  {
    std::lock_guard lock(mutex_);
    clock_armed_ = false;
    const auto now = std::chrono::steady_clock::now();
    while (!deadlines_.empty() && deadlines_.top().first <= now) {
      if (auto it = pending_.find(deadlines_.top().second); it != pending_.end()) {
        expired.push_back(std::move(it->second));
        pending_.erase(it);
      }
      deadlines_.pop();
    }
    while (!deadlines_.empty() && !pending_.contains(deadlines_.top().second)) deadlines_.pop();
    if (!deadlines_.empty()) arm(deadlines_.top().first);
  }
  const message_ptr timeout = make_message<ask_error>(ask_error{ask_errc::timeout});
  for (auto& reply : expired) reply->answer(*timeout);
}

void outside_asks::close() {
  std::unordered_map<std::uint64_t, std::unique_ptr<detail::outside_reply>> left;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    left.swap(pending_);
    deadlines_ = {};
    clock_.reset();
    clock_armed_ = false;
  }
  const message_ptr stopped = make_message<ask_error>(ask_error{ask_errc::target_stopped});
  for (auto& [_, reply] : left) reply->answer(*stopped);
}

}  // namespace revenant::detail
