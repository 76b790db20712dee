#include "runtime/internal/message_order.hpp"

#include "runtime/internal/signals.hpp"

namespace revenant::detail {

std::uint64_t message_order::number(const std::string& recipient, std::int64_t now) {
  count& c = sent_[recipient];
  c.seen = now;
  return ++c.last;
}

void message_order::withdraw(const std::string& recipient, std::uint64_t n) noexcept {
  if (auto it = sent_.find(recipient); it != sent_.end() && it->second.last == n) it->second.last = n - 1;
}

bool message_order::hold(message_ptr& m, const std::string& sender, std::uint64_t n, std::int64_t now_wall,
                         std::chrono::nanoseconds timeout) {
  auto it = handled_.find(sender);
  if (it == handled_.end()) {
    // A sender this actor has no count for: its first number starts one, unless the actor moved
    // lately and an earlier message of it may still be on the longer path.
    if (n == 1 || moved_ == 0 || now_wall - moved_ >= timeout.count()) {
      handled_.emplace(sender, count{n, now_wall});
      return false;
    }
  } else {
    count& c = it->second;
    if (n == c.last + 1 || n == 1) {  // next, or the sender forgot this actor and starts again
      c.last = n;
      c.seen = now_wall;
      return false;
    }
    if (n <= c.last) {  // late: handled, never dropped (exactly once is not this table's job)
      c.seen = now_wall;
      return false;
    }
  }
  auto& queue = held_[sender];
  // The same number twice cannot come from one sender; if it did, handling it beats losing it.
  if (queue.contains(n)) return false;
  queue.emplace(n, held_message{std::chrono::steady_clock::now(), std::move(m)});
  return true;
}

message_ptr message_order::next_in_line(const std::string& sender) {
  auto h = held_.find(sender);
  if (h == held_.end()) return nullptr;
  auto first = h->second.begin();
  const auto c = handled_.find(sender);
  const std::uint64_t last = c == handled_.end() ? 0 : c->second.last;
  if (first->first > last + 1) return nullptr;
  message_ptr m = std::move(first->second.m);
  h->second.erase(first);
  if (h->second.empty()) held_.erase(h);
  return m;
}

void message_order::replayed(const std::string& sender, std::uint64_t n, std::int64_t now) {
  count& c = handled_[sender];
  if (n > c.last || n == 1) c.last = n;
  c.seen = now;
}

std::vector<message_order::overdue> message_order::take_overdue(std::chrono::nanoseconds timeout) {
  armed_ = false;  // the timer fired, or was never armed
  std::vector<overdue> out;
  const auto now = std::chrono::steady_clock::now();
  for (auto h = held_.begin(); h != held_.end();) {
    auto first = h->second.begin();
    if (now - first->second.since < timeout) {
      ++h;
      continue;
    }
    count& c = handled_[h->first];
    overdue o{std::move(first->second.m), h->first, c.last + 1, first->first - 1};
    c.last = first->first - 1;  // the message handed back is next in line now
    h->second.erase(first);
    h = h->second.empty() ? held_.erase(h) : std::next(h);
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<message_ptr> message_order::take_held() {
  std::vector<message_ptr> out;
  for (auto& [sender, queue] : held_)
    for (auto& [n, held] : queue) out.push_back(std::move(held.m));
  held_.clear();
  if (timer_) timer_->cancel();
  armed_ = false;
  return out;
}

void message_order::arm(asio::io_context& io, const std::weak_ptr<actor_base>& owner, std::chrono::nanoseconds timeout) {
  if (held_.empty()) return;
  auto oldest = std::chrono::steady_clock::time_point::max();
  for (const auto& [sender, queue] : held_) oldest = std::min(oldest, queue.begin()->second.since);
  const auto due = oldest + timeout;
  if (armed_ && armed_for_ <= due) return;
  if (!timer_) timer_.emplace(io);
  timer_->expires_at(due);  // cancels a wait for a later expiry
  armed_ = true;
  armed_for_ = due;
  // A held message is stored: nothing is lost if the system shuts down before it is due, so the
  // wait must not keep the io_context running (as the ask clock's, clock.cpp): the unit of work
  // Asio counts for it is given back now and taken again by the handler before Asio releases it.
  timer_->async_wait([owner, work = io.get_executor()](const std::error_code& error) {
    work.on_work_started();
    if (error) return;  // cancelled: re-armed, or the actor is gone
    if (auto actor = owner.lock()) actor->enqueue(make_message<order_check>());
  });
  io.get_executor().on_work_finished();
}

order_image message_order::image(std::int64_t now, std::chrono::nanoseconds forget_after) {
  order_image out;
  out.moved = moved_;
  auto keep = [&](std::unordered_map<std::string, count>& table, std::vector<order_entry>& to, bool sending) {
    for (auto it = table.begin(); it != table.end();) {
      const bool stale = now - it->second.seen >= forget_after.count() && (sending || !held_.contains(it->first));
      if (stale) {
        it = table.erase(it);
        continue;
      }
      to.push_back(order_entry{it->first, it->second.last, it->second.seen});
      ++it;
    }
  };
  keep(sent_, out.sent, true);
  keep(handled_, out.handled, false);
  return out;
}

void message_order::restore(order_image&& image) {
  moved_ = image.moved;
  for (auto& e : image.sent) sent_[std::move(e.name)] = count{e.last, e.seen};
  for (auto& e : image.handled) handled_[std::move(e.name)] = count{e.last, e.seen};
}

}  // namespace revenant::detail
