// The wire protocol's vocabulary: versions and limits, pinned codes and frame kinds, the error a
// codec throws, and each frame's fields as a struct (docs/wire.md; the section numbers below are
// its). The codec that turns them into bytes and back is wire.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "actors/actor.hpp"

namespace revenant::wire {

// ---- Versions and limits (docs/wire.md, sections 1, 3, 5) ----------------------------------

// The first protocol version, which every build speaks (docs/wire.md's worked example is a
// version-1 link). A link speaks the version its prefaces chose (supported_versions below).
inline constexpr std::uint16_t protocol_version = 1;

// A closed range of protocol versions, as a preface announces it.
struct version_range {
  std::uint16_t lowest = 1;
  std::uint16_t highest = 1;
  bool operator==(const version_range&) const = default;
};
// The versions this build speaks.
inline constexpr version_range supported_versions{1, 2};
// The highest version docs/wire.md specifies and this codec encodes and decodes. Version 2 adds
// the migration frames (section 6.6).
inline constexpr std::uint16_t highest_specified_version = 2;

// Bytes of the preface each side sends first: "RVNW", u16 lowest, u16 highest.
inline constexpr std::size_t preface_size = 8;
// Bytes of a frame header: u32 body length, u8 kind.
inline constexpr std::size_t frame_header_size = 5;

// A frame's size is its body length. Each node accepts bodies up to its max_frame_size, which
// must lie in [lowest_max_frame_size, highest_max_frame_size]; 16 MiB unless configured.
inline constexpr std::uint32_t default_max_frame_size = 16u << 20;
inline constexpr std::uint32_t lowest_max_frame_size = 64u << 10;
inline constexpr std::uint32_t highest_max_frame_size = 1u << 30;
// Before the handshake completes, a reader accepts bodies of at most this many bytes.
inline constexpr std::uint32_t handshake_max_frame_size = 8u << 10;

// Field bounds (section 5.2): actor names, node and cluster names, texts.
inline constexpr std::size_t max_actor_name_size = 1024;
inline constexpr std::size_t max_node_name_size = 255;
inline constexpr std::size_t max_text_size = 4096;

// ---- Codes (section 8) ---------------------------------------------------------------------

// Why a connection was refused or dropped. Values cross the wire: pinned, never reused.
enum class wire_errc : std::uint16_t {
  bad_preface = 1,           // the peer's first bytes are not a revenant preface
  version_unsupported = 2,   // no protocol version in common (or a hello in another one)
  wrong_cluster = 3,         // the dialer belongs to another cluster
  wrong_node = 4,            // the peer claims or expects another node's identity
  stale_incarnation = 5,     // an older process of a node than one already seen
  frame_too_large = 6,       // a frame body longer than the receiver's limit
  malformed_frame = 7,       // a body that does not decode
  unknown_kind = 8,          // a frame kind this version does not define
  handshake_expected = 9,    // another frame before the handshake completed
  not_authenticated = 10,    // the transport gave no identity for the peer
  shutting_down = 11,        // the node is stopping
  unexpected_kind = 12,      // a kind the peer's role does not send, or a frame after goodbye/refuse
  unknown_node = 13,         // the dialer is not one of the listener's peers
  bad_envelope = 14,         // an envelope inside a frame fails its checks
  connection_replaced = 15,  // a newer connection from the same node replaced this one
  peer_silent = 16,          // nothing came from the peer for the heartbeat timeout
};
// Short stable name of a code ("frame_too_large"); "unknown" for a value not in the table.
std::string_view to_string(wire_errc code) noexcept;

// The outcome of a send (send_result). Values cross the wire: pinned, never reused.
enum class send_status : std::uint16_t {
  durable = 1,            // committed to the durable recipient's mailbox
  queued = 2,             // queued to the transient recipient
  unknown_actor = 3,      // no actor of that name on the receiving node
  unregistered_type = 4,  // the message type is not registered on the receiving node
  quarantined = 5,        // the recipient is quarantined
  store_error = 6,        // the commit failed
  shutting_down = 7,      // the receiving system is shutting down
  mailbox_full = 8,       // the recipient's mailbox is at its capacity
  unconfirmed = 9,        // passed on to the recipient's node (it moved), which did not answer
};
// Short stable name of a status ("durable"); "unknown" for a value not in the table.
std::string_view to_string(send_status status) noexcept;

// A target's answer to a migrate_offer (section 6.6). Values cross the wire: pinned, never reused.
enum class migrate_status : std::uint16_t {
  accepted = 1,       // the package is stored (incoming, not runnable)
  exists = 2,         // the name is hosted, stored or quarantined at the target
  busy = 3,           // another migration of the name is incoming
  no_store = 4,       // the target keeps no durable actors
  store_error = 5,    // the target's store failed
  shutting_down = 6,  // the target is stopping
  bad_package = 7,    // the package fails its checks (docs/format.md 8.15)
};
// Short stable name of a status ("accepted"); "unknown" for a value not in the table.
std::string_view to_string(migrate_status status) noexcept;

// A source's answer to a migrate_query (section 6.6). Values cross the wire: pinned.
enum class migrate_outcome : std::uint8_t {
  committed = 1,  // the move committed: activate the package
  aborted = 2,    // it aborted (or the source never prepared it): drop the package
  pending = 3,    // not decided yet: ask again later
};
// Short stable name of an outcome ("committed"); "unknown" for a value not in the table.
std::string_view to_string(migrate_outcome outcome) noexcept;

// Frame kinds (section 6). Values cross the wire: pinned, never reused; 0 is never a kind.
enum class frame_kind : std::uint8_t {
  hello = 1,
  welcome = 2,
  refuse = 3,
  goodbye = 4,
  ping = 5,
  pong = 6,
  message = 16,
  durable_message = 17,
  ack = 18,
  send = 19,
  send_result = 20,
  watch = 21,
  unwatch = 22,
  down = 23,
  // Protocol version 2 (section 6.6).
  migrate_offer = 64,
  migrate_accept = 65,
  migrate_commit = 66,
  migrate_done = 67,
  migrate_abort = 68,
  migrate_query = 69,
  migrate_outcome = 70,
  forwarded = 71,
  moved = 72,
  migrate_request = 73,
  migrate_result = 74,
};
// The kind's name in docs/wire.md ("durable_message"); "unknown" for a value not in the table.
std::string_view to_string(frame_kind kind) noexcept;
// True for the values of frame_kind that protocol version `version` defines.
bool is_known_kind(std::uint8_t kind, std::uint16_t version = protocol_version) noexcept;

// ---- Errors ----------------------------------------------------------------------------------

// Thrown by the reader and the decoders on bad bytes from a peer. what() reads like
//   wire stream from node "b" (127.0.0.1:7001): frame_too_large at offset 8: ...
// offset() counts the bytes received on the connection, from the first byte of the peer's
// preface; subject() names the peer (empty until the caller gives one, with_subject()).
class wire_error : public std::runtime_error {
 public:
  wire_error(wire_errc code, std::uint64_t offset, std::string detail, std::string subject = {});

  wire_errc code() const noexcept { return code_; }
  std::uint64_t offset() const noexcept { return offset_; }
  const std::string& detail() const noexcept { return detail_; }
  const std::string& subject() const noexcept { return subject_; }

  // The same error about a subject (e.g. `node "b" (127.0.0.1:7001)`, once the link knows it).
  wire_error with_subject(std::string subject) const;

 private:
  wire_errc code_;
  std::uint64_t offset_;
  std::string detail_;
  std::string subject_;
};

// ---- Frame bodies (sections 4 and 6) ---------------------------------------------------------
//
// Decoded bodies hold views into the frame they were decoded from: valid as long as its bytes
// (frame_reader: until its next prepare() or feed()). Every struct names its kind.

// A node id: 16 random bytes kept in the node's store; never all zero.
using node_id = std::array<std::uint8_t, 16>;

struct hello_frame {
  static constexpr frame_kind kind = frame_kind::hello;
  std::uint16_t version = protocol_version;            // chosen from the prefaces; not 0
  std::uint32_t max_frame_size = default_max_frame_size;  // the dialer's limit
  node_id id{};                                         // the dialer's node id
  std::uint64_t incarnation = 0;                        // the dialer's incarnation; not 0
  std::string_view cluster;                             // node-name
  std::string_view node;                                // the dialer's node name
  std::string_view peer;                                // the node name the dialer expects to reach
  bool operator==(const hello_frame&) const = default;
};

struct welcome_frame {
  static constexpr frame_kind kind = frame_kind::welcome;
  std::uint32_t max_frame_size = default_max_frame_size;  // the listener's limit
  node_id id{};                                         // the listener's node id
  std::uint64_t incarnation = 0;                        // not 0
  std::uint64_t inbox_high_water = 0;                   // the dialer's last outbox seq durable here; 0: none
  std::string_view node;                                // the listener's node name
  bool operator==(const welcome_frame&) const = default;
};

struct refuse_frame {
  static constexpr frame_kind kind = frame_kind::refuse;
  wire_errc code{};       // not 0; any other value is accepted (reported, never acted on)
  std::string_view text;  // at most max_text_size bytes (encoders cut longer ones)
  bool operator==(const refuse_frame&) const = default;
};

struct goodbye_frame {
  static constexpr frame_kind kind = frame_kind::goodbye;
  wire_errc code{};  // not 0; shutting_down for an orderly close
  std::string_view text;
  bool operator==(const goodbye_frame&) const = default;
};

struct ping_frame {
  static constexpr frame_kind kind = frame_kind::ping;
  std::uint64_t nonce = 0;  // any value; the pong echoes it
  bool operator==(const ping_frame&) const = default;
};

struct pong_frame {
  static constexpr frame_kind kind = frame_kind::pong;
  std::uint64_t nonce = 0;
  bool operator==(const pong_frame&) const = default;
};

// A transient message (at most once). recipient: a name on the listener's node; envelope:
// encode_envelope's bytes, carried as they are.
struct message_frame {
  static constexpr frame_kind kind = frame_kind::message;
  std::string_view recipient;
  std::string_view envelope;
  bool operator==(const message_frame&) const = default;
};

// A message from the dialer's outbox (exactly once): seq is its outbox sequence number, not 0.
struct durable_message_frame {
  static constexpr frame_kind kind = frame_kind::durable_message;
  std::uint64_t seq = 0;
  std::string_view recipient;
  std::string_view envelope;
  bool operator==(const durable_message_frame&) const = default;
};

// Every durable_message of the dialer's node with a seq at or below this one is durable at the
// listener. Not 0.
struct ack_frame {
  static constexpr frame_kind kind = frame_kind::ack;
  std::uint64_t seq = 0;
  bool operator==(const ack_frame&) const = default;
};

// actor_system::send to an actor on the listener's node; answered by a send_result with the
// same correlation (not 0).
struct send_frame {
  static constexpr frame_kind kind = frame_kind::send;
  std::uint64_t correlation = 0;
  std::string_view recipient;
  std::string_view envelope;
  bool operator==(const send_frame&) const = default;
};

struct send_result_frame {
  static constexpr frame_kind kind = frame_kind::send_result;
  std::uint64_t correlation = 0;  // not 0
  send_status status{};           // not 0; any other value is accepted
  std::string_view text;          // why not, or empty
  bool operator==(const send_result_frame&) const = default;
};

// watcher (a name on the dialer's node) watches watched (a name on the listener's node).
struct watch_frame {
  static constexpr frame_kind kind = frame_kind::watch;
  std::string_view watcher;
  std::string_view watched;
  bool operator==(const watch_frame&) const = default;
};

struct unwatch_frame {
  static constexpr frame_kind kind = frame_kind::unwatch;
  std::string_view watcher;
  std::string_view watched;
  bool operator==(const unwatch_frame&) const = default;
};

// watched (a name on the dialer's node) stopped; watcher is a name on the listener's node.
struct down_frame {
  static constexpr frame_kind kind = frame_kind::down;
  exit_reason reason = exit_reason::normal;  // normal, failed or shutdown: others are malformed
  std::string_view watched;
  std::string_view watcher;
  std::string_view detail;  // the failure, for exit_reason::failed
  bool operator==(const down_frame&) const = default;
};

// ---- Migration frames (section 6.6, protocol version 2; docs/migration.md) ----------------
// Each names its migration by id (not 0) and is idempotent by it.

// The source offers the actor's package (docs/format.md 8.15, checked by the target, not here).
struct migrate_offer_frame {
  static constexpr frame_kind kind = frame_kind::migrate_offer;
  std::uint64_t id = 0;
  std::string_view package;
  bool operator==(const migrate_offer_frame&) const = default;
};

// The target's answer to an offer: accepted, or why not (status not 0; any value is accepted).
struct migrate_accept_frame {
  static constexpr frame_kind kind = frame_kind::migrate_accept;
  std::uint64_t id = 0;
  migrate_status status{};
  std::string_view reason;
  bool operator==(const migrate_accept_frame&) const = default;
};

// The source committed the move of actor: activate it.
struct migrate_commit_frame {
  static constexpr frame_kind kind = frame_kind::migrate_commit;
  std::uint64_t id = 0;
  std::string_view actor;
  bool operator==(const migrate_commit_frame&) const = default;
};

// The target runs the actor (answer to migrate_commit).
struct migrate_done_frame {
  static constexpr frame_kind kind = frame_kind::migrate_done;
  std::uint64_t id = 0;
  bool operator==(const migrate_done_frame&) const = default;
};

// The source aborted the move of actor: drop its package.
struct migrate_abort_frame {
  static constexpr frame_kind kind = frame_kind::migrate_abort;
  std::uint64_t id = 0;
  std::string_view actor;
  bool operator==(const migrate_abort_frame&) const = default;
};

// A target holding actor's package asks its source how the migration ended.
struct migrate_query_frame {
  static constexpr frame_kind kind = frame_kind::migrate_query;
  std::uint64_t id = 0;
  std::string_view actor;
  bool operator==(const migrate_query_frame&) const = default;
};

// The source's answer to a migrate_query: committed, aborted or pending (others are malformed).
struct migrate_outcome_frame {
  static constexpr frame_kind kind = frame_kind::migrate_outcome;
  std::uint64_t id = 0;
  migrate_outcome outcome = migrate_outcome::pending;
  bool operator==(const migrate_outcome_frame&) const = default;
};

// A transient message for an actor that left the sending node, forwarded at most once; origin
// is the node it came from (the target drops it after a direct message from that node).
struct forwarded_frame {
  static constexpr frame_kind kind = frame_kind::forwarded;
  std::string_view origin;
  std::string_view recipient;
  std::string_view envelope;
  bool operator==(const forwarded_frame&) const = default;
};

// Where actor went: target (the node the sender of this notice forwards actor's messages to).
// A hint: the receiver's messages for actor take that route from then on (docs/migration.md 4).
struct moved_frame {
  static constexpr frame_kind kind = frame_kind::moved;
  std::string_view actor;
  std::string_view target;
  bool operator==(const moved_frame&) const = default;
};

// A node that does not host actor asks the next node toward it to move it to target (any node
// may be asked: docs/migration.md 1); hops is how many more nodes may pass the request on.
struct migrate_request_frame {
  static constexpr frame_kind kind = frame_kind::migrate_request;
  std::uint64_t id = 0;
  std::string_view actor;
  std::string_view target;
  std::uint8_t hops = 0;
  bool operator==(const migrate_request_frame&) const = default;
};

// The answer to a migrate_request: code 0 once the actor runs at the target, else a
// migration_errc value (docs/wire.md 6.6) and the reason.
struct migrate_result_frame {
  static constexpr frame_kind kind = frame_kind::migrate_result;
  std::uint64_t id = 0;
  std::uint16_t code = 0;
  std::string_view reason;
  bool operator==(const migrate_result_frame&) const = default;
};

// Any decoded frame.
using any_frame =
    std::variant<hello_frame, welcome_frame, refuse_frame, goodbye_frame, ping_frame, pong_frame, message_frame,
                 durable_message_frame, ack_frame, send_frame, send_result_frame, watch_frame, unwatch_frame,
                 down_frame, migrate_offer_frame, migrate_accept_frame, migrate_commit_frame, migrate_done_frame,
                 migrate_abort_frame, migrate_query_frame, migrate_outcome_frame, forwarded_frame, moved_frame,
                 migrate_request_frame, migrate_result_frame>;

}  // namespace revenant::wire
