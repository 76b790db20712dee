// The wire protocol's pinned codes and its error type (docs/wire.md, sections 6 and 8).
#include "storage/wire.hpp"

namespace revenant::wire {

std::string_view to_string(wire_errc code) noexcept {
  switch (code) {
    case wire_errc::bad_preface: return "bad_preface";
    case wire_errc::version_unsupported: return "version_unsupported";
    case wire_errc::wrong_cluster: return "wrong_cluster";
    case wire_errc::wrong_node: return "wrong_node";
    case wire_errc::stale_incarnation: return "stale_incarnation";
    case wire_errc::frame_too_large: return "frame_too_large";
    case wire_errc::malformed_frame: return "malformed_frame";
    case wire_errc::unknown_kind: return "unknown_kind";
    case wire_errc::handshake_expected: return "handshake_expected";
    case wire_errc::not_authenticated: return "not_authenticated";
    case wire_errc::shutting_down: return "shutting_down";
    case wire_errc::unexpected_kind: return "unexpected_kind";
    case wire_errc::unknown_node: return "unknown_node";
    case wire_errc::bad_envelope: return "bad_envelope";
    case wire_errc::connection_replaced: return "connection_replaced";
    case wire_errc::peer_silent: return "peer_silent";
  }
  return "unknown";
}

std::string_view to_string(send_status status) noexcept {
  switch (status) {
    case send_status::durable: return "durable";
    case send_status::queued: return "queued";
    case send_status::unknown_actor: return "unknown_actor";
    case send_status::unregistered_type: return "unregistered_type";
    case send_status::quarantined: return "quarantined";
    case send_status::store_error: return "store_error";
    case send_status::shutting_down: return "shutting_down";
    case send_status::mailbox_full: return "mailbox_full";
    case send_status::unconfirmed: return "unconfirmed";
  }
  return "unknown";
}

std::string_view to_string(frame_kind kind) noexcept {
  switch (kind) {
    case frame_kind::hello: return "hello";
    case frame_kind::welcome: return "welcome";
    case frame_kind::refuse: return "refuse";
    case frame_kind::goodbye: return "goodbye";
    case frame_kind::ping: return "ping";
    case frame_kind::pong: return "pong";
    case frame_kind::message: return "message";
    case frame_kind::durable_message: return "durable_message";
    case frame_kind::ack: return "ack";
    case frame_kind::send: return "send";
    case frame_kind::send_result: return "send_result";
    case frame_kind::watch: return "watch";
    case frame_kind::unwatch: return "unwatch";
    case frame_kind::down: return "down";
    case frame_kind::migrate_offer: return "migrate_offer";
    case frame_kind::migrate_accept: return "migrate_accept";
    case frame_kind::migrate_commit: return "migrate_commit";
    case frame_kind::migrate_done: return "migrate_done";
    case frame_kind::migrate_abort: return "migrate_abort";
    case frame_kind::migrate_query: return "migrate_query";
    case frame_kind::migrate_outcome: return "migrate_outcome";
    case frame_kind::forwarded: return "forwarded";
    case frame_kind::moved: return "moved";
    case frame_kind::migrate_request: return "migrate_request";
    case frame_kind::migrate_result: return "migrate_result";
  }
  return "unknown";
}

bool is_known_kind(std::uint8_t kind, std::uint16_t version) noexcept {
  if (to_string(static_cast<frame_kind>(kind)) == "unknown") return false;
  return kind < static_cast<std::uint8_t>(frame_kind::migrate_offer) || version >= 2;  // section 6.6
}

std::string_view to_string(migrate_status status) noexcept {
  switch (status) {
    case migrate_status::accepted: return "accepted";
    case migrate_status::exists: return "exists";
    case migrate_status::busy: return "busy";
    case migrate_status::no_store: return "no_store";
    case migrate_status::store_error: return "store_error";
    case migrate_status::shutting_down: return "shutting_down";
    case migrate_status::bad_package: return "bad_package";
  }
  return "unknown";
}

std::string_view to_string(migrate_outcome outcome) noexcept {
  switch (outcome) {
    case migrate_outcome::committed: return "committed";
    case migrate_outcome::aborted: return "aborted";
    case migrate_outcome::pending: return "pending";
  }
  return "unknown";
}

namespace {

std::string compose(wire_errc code, std::uint64_t offset, const std::string& detail, const std::string& subject) {
  std::string message = subject.empty() ? std::string("wire stream") : "wire stream from " + subject;
  message += ": ";
  message += to_string(code);
  message += " at offset " + std::to_string(offset) + ": " + detail;
  return message;
}

}  // namespace

wire_error::wire_error(wire_errc code, std::uint64_t offset, std::string detail, std::string subject)
    : std::runtime_error(compose(code, offset, detail, subject)),
      code_(code),
      offset_(offset),
      detail_(std::move(detail)),
      subject_(std::move(subject)) {}

wire_error wire_error::with_subject(std::string subject) const {
  return wire_error(code_, offset_, detail_, std::move(subject));
}

}  // namespace revenant::wire
