// The runtime's and the codecs' access to what the model keeps private: a message's delivery
// fields and the actor behind a reference. Not installed: applications cannot reach either.
#pragma once

#include <cstdint>
#include <memory>

#include "actors/actor.hpp"

namespace revenant::detail {

// The fields a message carries besides its value.
struct message_fields {
  // The mailbox link, owned by whichever mailbox holds the message.
  static message*& next(message& m) noexcept { return m.next_; }
  // Who sent it (null: from outside the system).
  static std::shared_ptr<actor_base>& sender(message& m) noexcept { return m.sender_; }
  static const std::shared_ptr<actor_base>& sender(const message& m) noexcept { return m.sender_; }
  // Nonzero: an ask awaiting a reply, under this id of its sender.
  static std::uint64_t& request_id(message& m) noexcept { return m.request_id_; }
  static std::uint64_t request_id(const message& m) noexcept { return m.request_id_; }
  // Nonzero: the reply to that ask of the recipient.
  static std::uint64_t& response_to(message& m) noexcept { return m.response_to_; }
  static std::uint64_t response_to(const message& m) noexcept { return m.response_to_; }
  // Nonzero: its key in the recipient's durable mailbox.
  static std::uint64_t& durable_seq(message& m) noexcept { return m.durable_seq_; }
  static std::uint64_t durable_seq(const message& m) noexcept { return m.durable_seq_; }
  // Nonzero: its durable sender's number for it, to this recipient (docs/migration.md 9).
  static std::uint64_t& order(message& m) noexcept { return m.order_; }
  static std::uint64_t order(const message& m) noexcept { return m.order_; }
};

// The actor a reference stands for (null for an empty reference).
struct ref_access {
  static const std::shared_ptr<actor_base>& base(const actor_ref& ref) noexcept { return ref.actor_; }
};

}  // namespace revenant::detail
