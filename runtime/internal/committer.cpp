#include "runtime/internal/committer.hpp"

#include <string_view>
#include <unordered_map>

#include "actors/internal/access.hpp"
#include "runtime/internal/recipient.hpp"

namespace revenant::detail {

committer::committer(store& db, asio::io_context& io, bool fsync, std::chrono::microseconds max_delay,
                     std::size_t max_group, log_sink log)
    : db_(db), io_(io), fsync_(fsync), max_delay_(max_delay), max_group_(std::max<std::size_t>(1, max_group)),
      log_(std::move(log)), next_seq_(db.next_seq()), batch_(db), thread_([this] { loop(); }) {}

committer::~committer() { stop(); }

std::uint64_t committer::submit(step s) {
  std::uint64_t last = 0;
  {
    std::lock_guard lock(mutex_);
    for (auto& out : s.outbox)
      if (!out.envelope.empty() && out.peer.empty()) last = out.seq = next_seq_++;
    for (auto& entry : s.journal) entry.seq = next_seq_++;
    if (failure_) {
      // Nothing more is durable: say so to whoever waits, and release no message.
      if (s.ack) s.ack->set_exception(failure_);
      return last;
    }
    s.index = ++submitted_;
    queue_.push_back(std::move(s));
    if (!busy_) busy_.emplace(io_.get_executor());
  }
  wake_.notify_one();
  return last;
}

std::uint64_t committer::reserve(std::uint64_t n) {
  std::lock_guard lock(mutex_);
  const std::uint64_t first = next_seq_;
  next_seq_ += n;
  return first;
}

void committer::redirect(const std::string& actor, const std::string& peer, std::shared_ptr<detail::actor_base> to) {
  std::lock_guard lock(mutex_);
  if (to)
    redirects_[actor] = forward_rule{peer, std::move(to)};
  else
    redirects_.erase(actor);
  redirecting_.store(!redirects_.empty(), std::memory_order_release);
}

void committer::raise_next_seq(std::uint64_t next) {
  std::lock_guard lock(mutex_);
  next_seq_ = std::max(next_seq_, next);
}

void committer::sync() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = submitted_;
  committed_.wait(lock, [&] { return (done_ >= target && (held_from_ == 0 || held_from_ > target)) || failure_; });
  if (failure_) std::rethrow_exception(failure_);
}

void committer::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void committer::loop() {
  std::vector<step> group;
  bool defer = false;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything is committed
      // A bounded wait lets more steps join a small group (more per fsync).
      if (max_delay_.count() > 0 && queue_.size() < max_group_ && !stopping_)
        wake_.wait_for(lock, max_delay_, [&] { return queue_.size() >= max_group_ || stopping_; });
      // Taken from the front: steps commit in the order they were submitted. An exclusive step
      // ends the group before it; a run of exclusive steps of distinct actors is a group (a
      // drain's prepares and commits: one batch for many moves).
      std::size_t n = std::min(queue_.size(), max_group_);
      if (queue_.front().exclusive) {
        exclusive_actors_.clear();
        exclusive_actors_.insert(queue_.front().actor);
        std::size_t i = 1;
        while (i < n && queue_[i].exclusive && exclusive_actors_.insert(queue_[i].actor).second) ++i;
        n = i;
      } else {
        for (std::size_t i = 1; i < n; ++i)
          if (queue_[i].exclusive) n = i;
      }
      group.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + n));
      queue_.erase(queue_.begin(), queue_.begin() + n);
      // Nothing is held back in front of an exclusive step: it reads the store.
      defer = !queue_.empty() && !stopping_ && !queue_.front().exclusive;
    }
    const std::size_t group_size = group.size();
    if (group.front().exclusive && !held_.empty()) {
      std::vector<step> none;
      commit(none, false);  // the entries held from the last group go first
    }
    commit(group, defer);
    group.clear();
    {
      std::lock_guard lock(mutex_);
      done_ += group_size;
      held_from_ = held_.empty() ? 0 : held_.front().index;
      // Delivered already: whatever the messages scheduled is work of the io_context's own.
      if (queue_.empty()) busy_.reset();
    }
    committed_.notify_all();
  }
}

void committer::commit(std::vector<step>& group, bool defer) {
  commit_batch& batch = batch_;
  batch.clear();
  // Mailbox puts of this group, and those held back from the last one. A message consumed in
  // the group that would write it needs neither its put nor its delete: both would land in this
  // one batch. Keyed by sequence number (unique per store).
  struct pending_put {
    std::string_view actor;
    std::uint64_t seq;
    std::string* envelope;
    bool deferrable;
    std::uint64_t index;
    bool elided = false;
  };
  std::vector<pending_put> puts;
  std::unordered_map<std::uint64_t, std::size_t> put_of;
  // Only an actor's last record in the group is written: earlier ones would be overwritten
  // within the same batch.
  std::unordered_map<std::string_view, std::size_t> last_record;
  std::uint64_t max_seq = 0;
  // Entries for actors that moved to another node go to that node's outbox instead.
  if (redirecting_.load(std::memory_order_acquire)) {
    std::lock_guard lock(mutex_);
    for (auto& s : group)
      for (auto& out : s.outbox) {
        if (out.envelope.empty() || !out.peer.empty()) continue;
        auto it = redirects_.find(std::string(out.to->given_name()));
        if (it == redirects_.end()) continue;
        out.peer = it->second.peer;
        out.recipient = out.to->given_name();
        out.to = it->second.to;
        out.deferrable = false;
      }
  }
  // Outbox entries are numbered here, in commit order (see submit()).
  std::size_t remote = 0;
  for (auto& s : group)
    for (auto& out : s.outbox) remote += !out.peer.empty();
  std::uint64_t next_remote = remote == 0 ? 0 : reserve(remote);
  for (auto& h : held_) {
    put_of.emplace(h.seq, puts.size());
    puts.push_back(pending_put{h.actor, h.seq, &h.envelope, false, h.index});
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    step& s = group[i];
    for (auto& out : s.outbox)
      if (!out.peer.empty()) {
        out.seq = next_remote++;
        batch.put_outbox(out.peer, out.seq, out.recipient, out.envelope);
        max_seq = std::max(max_seq, out.seq);
      } else if (!out.envelope.empty()) {
        // Durable recipients are always named: given_name() is their stable name.
        put_of.emplace(out.seq, puts.size());
        puts.push_back(pending_put{out.to->given_name(), out.seq, &out.envelope, out.deferrable, s.index});
        max_seq = std::max(max_seq, out.seq);
      }
    if (s.record != step::record_op::keep) last_record[s.actor] = i;
    if (!s.journal.empty()) max_seq = std::max(max_seq, s.journal.back().seq);
    max_seq = std::max(max_seq, s.reserved_through);
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    step& s = group[i];
    for (std::uint64_t seq : s.consumed) {
      if (auto it = put_of.find(seq); it != put_of.end() && puts[it->second].actor == s.actor) {
        puts[it->second].elided = true;  // never written
        put_of.erase(it);
        continue;
      }
      batch.consume(s.actor, seq);
    }
    const bool last = s.record != step::record_op::keep && last_record[s.actor] == i;
    // In step order: journal entries of this actor's earlier steps in the group go too. (An
    // erased record takes its journal with it, below; an erasing step appends no entries.)
    if (s.clear_journal || (s.record == step::record_op::erase && !last)) batch.clear_journal(s.actor);
    for (const auto& entry : s.journal) batch.append_journal(s.actor, entry.seq, entry.envelope);
    if (s.record == step::record_op::put && last)
      batch.put_record(s.actor, s.record_bytes);
    else if (s.record == step::record_op::erase && last)
      batch.erase_record(s.actor);
    if (s.wake == 1) batch.set_wake(s.actor);
    if (s.wake == 0) batch.clear_wake(s.actor);
    if (!s.quarantine.empty()) batch.quarantine(s.actor, s.quarantine);
    for (const auto& child : s.spawned_actors) {
      batch.put_record(child.actor, child.record_bytes);
      if (child.wake) batch.set_wake(child.actor);
    }
    if (s.lift_quarantine) batch.lift_quarantine(s.actor);
    if (s.inbox_mark) batch.set_inbox_mark(s.inbox_mark->first, s.inbox_mark->second);
    // Entries put by earlier groups; a put of this group lands after it (an orphan, which
    // recovery deletes: docs/format.md 8.8).
    if (s.erase_mailbox) batch.clear_mailbox(s.actor);
  }
  // A deferrable entry of this group waits for the next one if there is one already queued
  // (its consumer is likely in it); a held entry waits no longer than that.
  std::vector<held_put> still_held;
  for (auto& p : puts) {
    if (p.elided) continue;
    if (p.deferrable && defer) {
      still_held.push_back(held_put{std::string(p.actor), p.seq, std::move(*p.envelope), p.index});
      continue;
    }
    batch.enqueue(p.actor, p.seq, *p.envelope);
  }
  try {
    for (auto& s : group)
      if (s.write) max_seq = std::max(max_seq, s.write(batch));
    if (max_seq != 0) batch.advance_next_seq(max_seq + 1);
    db_.commit(batch, fsync_);
    held_ = std::move(still_held);
  } catch (...) {
    if (log_) {
      std::string what = "unknown error";
      try {
        throw;
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      try {
        log_(log_level::error,
             "revenant: store \"" + db_.path() + "\": commit failed; no further step will be committed: " + what);
      } catch (...) {
        // A sink that throws must not keep the failure from being recorded.
      }
    }
    std::lock_guard lock(mutex_);
    failure_ = std::current_exception();
    for (auto& s : group)
      if (s.ack) s.ack->set_exception(failure_);
    return;  // their messages are not released: they were never durable
  }
  for (auto& s : group)
    if (s.on_written) s.on_written();
  // Released in commit order: a recipient sees a sender's messages in the order they were sent.
  for (auto& s : group) {
    for (auto& out : s.outbox) {
      if (!out.peer.empty()) {
        recipient_of(out.to).committed_remote(out);  // shipped by the node, acknowledged by the peer
        continue;
      }
      if (!out.value) continue;
      if (out.seq != 0) detail::message_fields::durable_seq(*out.value) = out.seq;
      out.to->enqueue(std::move(out.value));
    }
    if (s.ack) s.ack->set_value();
    if (s.on_commit) s.on_commit();
  }
}

}  // namespace revenant::detail
