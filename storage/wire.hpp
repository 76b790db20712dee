// The wire codec: the bytes two nodes exchange over a link, as the structs of wire_frames.hpp and
// back. Pure bytes — no socket, no TLS, no store: a link drives it from its read loop
// (frame_reader) and writes what the encode functions append. Layout in docs/wire.md; the section numbers below are its.
//
// Thread-safety: the encode and decode functions share no state; any number may run at once.
// A frame_reader belongs to one connection and is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "storage/wire_frames.hpp"

namespace revenant::wire {

// ---- Encoding --------------------------------------------------------------------------------
//
// Each encode appends one whole frame (header and body) to out, growing it at most once; the
// envelope is copied in once, never re-encoded. If the frame's fields are out of bounds (an
// empty or too long name, a node name outside its alphabet, a zero where docs/wire.md says
// "not 0", a max_frame_size outside its range, a down reason other than normal, failed or
// shutdown) it throws std::invalid_argument naming the kind and the field, and out is
// unchanged; a body longer than highest_max_frame_size throws std::length_error. Texts longer
// than max_text_size are cut to their first max_text_size bytes. What an encode writes, the
// matching decode reads back equal.

void encode(std::string& out, const hello_frame& f);
void encode(std::string& out, const welcome_frame& f);
void encode(std::string& out, const refuse_frame& f);
void encode(std::string& out, const goodbye_frame& f);
void encode(std::string& out, const ping_frame& f);
void encode(std::string& out, const pong_frame& f);
void encode(std::string& out, const message_frame& f);
void encode(std::string& out, const durable_message_frame& f);
void encode(std::string& out, const ack_frame& f);
void encode(std::string& out, const send_frame& f);
void encode(std::string& out, const send_result_frame& f);
void encode(std::string& out, const watch_frame& f);
void encode(std::string& out, const unwatch_frame& f);
void encode(std::string& out, const down_frame& f);
void encode(std::string& out, const migrate_offer_frame& f);
void encode(std::string& out, const migrate_accept_frame& f);
void encode(std::string& out, const migrate_commit_frame& f);
void encode(std::string& out, const migrate_done_frame& f);
void encode(std::string& out, const migrate_abort_frame& f);
void encode(std::string& out, const migrate_query_frame& f);
void encode(std::string& out, const migrate_outcome_frame& f);
void encode(std::string& out, const forwarded_frame& f);
void encode(std::string& out, const moved_frame& f);
void encode(std::string& out, const migrate_request_frame& f);
void encode(std::string& out, const migrate_result_frame& f);
// The frame f as a string of its own (one encode into an empty string).
template <class Frame>
std::string encoded(const Frame& f) {
  std::string out;
  encode(out, f);
  return out;
}
// Encodes whichever frame f holds.
void encode(std::string& out, const any_frame& f);

// The body length encode(f) writes (texts counted as cut): a sender compares it with the peer's
// max_frame_size before encoding a message.
std::size_t body_size(const any_frame& f);

// Appends the 8-byte preface announcing versions. Throws std::invalid_argument if
// versions.lowest is 0 or above versions.highest.
void encode_preface(std::string& out, version_range versions = supported_versions);

// ---- Decoding --------------------------------------------------------------------------------

// One frame as the reader found it: its kind, a view of its body, and the stream offset of its
// header. The body is valid until the reader's next prepare() or feed().
struct frame {
  frame_kind kind{};
  std::string_view body;
  std::uint64_t offset = 0;
};

// Decode a frame's body. Each checks every field (docs/wire.md, section 6, "Decoding") and
// throws wire_error malformed_frame at the stream offset of the first bad field; the views
// returned point into f.body. Calling one on a frame of another kind is a caller's mistake:
// std::invalid_argument.
hello_frame decode_hello(const frame& f);
welcome_frame decode_welcome(const frame& f);
refuse_frame decode_refuse(const frame& f);
goodbye_frame decode_goodbye(const frame& f);
ping_frame decode_ping(const frame& f);
pong_frame decode_pong(const frame& f);
message_frame decode_message(const frame& f);
durable_message_frame decode_durable_message(const frame& f);
ack_frame decode_ack(const frame& f);
send_frame decode_send(const frame& f);
send_result_frame decode_send_result(const frame& f);
watch_frame decode_watch(const frame& f);
unwatch_frame decode_unwatch(const frame& f);
down_frame decode_down(const frame& f);
migrate_offer_frame decode_migrate_offer(const frame& f);
migrate_accept_frame decode_migrate_accept(const frame& f);
migrate_commit_frame decode_migrate_commit(const frame& f);
migrate_done_frame decode_migrate_done(const frame& f);
migrate_abort_frame decode_migrate_abort(const frame& f);
migrate_query_frame decode_migrate_query(const frame& f);
migrate_outcome_frame decode_migrate_outcome(const frame& f);
forwarded_frame decode_forwarded(const frame& f);
moved_frame decode_moved(const frame& f);
migrate_request_frame decode_migrate_request(const frame& f);
migrate_result_frame decode_migrate_result(const frame& f);
// Decodes f by its kind. Throws wire_error (malformed_frame, or unknown_kind for a kind the
// reader would never have returned).
any_frame decode(const frame& f);

// The version both sides speak: the highest in both ranges. Throws wire_error
// version_unsupported (offset 4, as for a preface) if they do not overlap.
std::uint16_t negotiate(version_range own, version_range peer);

// Which end of a connection this is (docs/wire.md, section 2).
enum class role : std::uint8_t {
  dialer = 1,    // this node connected; it reads the listener's frames
  listener = 2,  // this node accepted; it reads the dialer's frames
};

// Reads one side of a connection incrementally: the peer's preface, then its frames, checking
// each header (known kind, allowed for the peer's role and the handshake's state, length within
// the limit) as soon as its 5 bytes are in, before any room is made for the body.
//
// An Asio read loop reads straight into the reader's buffer, with no copy:
//
//   auto room = reader.prepare();
//   socket.async_read_some(asio::buffer(room.data(), room.size()), [&](error_code ec, std::size_t n) {
//     reader.commit(n);
//     for (auto e = reader.next(); e.status != wire::read_status::need_bytes; e = reader.next())
//       e.status == wire::read_status::preface ? send_hello(reader.version()) : handle(e.got);
//   });
//
// Memory: one read's worth (read_chunk) plus, once a header has passed the checks, room for that
// one frame: at most read_chunk + frame_header_size + the limit (8 KiB before the handshake,
// max_frame_size after), however the peer's bytes are cut (docs/wire.md, section 9).
// Errors: next() throws wire_error; the reader is then broken and every later next() throws the
// same error (drop the connection, sending the code in a refuse or goodbye).
enum class read_status : std::uint8_t {
  need_bytes = 1,  // nothing complete yet: read more (prepare/commit, or feed)
  preface = 2,     // the peer's preface arrived and a version was chosen (version())
  frame = 3,       // got holds the next frame
};
struct read_event {
  read_status status = read_status::need_bytes;
  frame got;  // status == frame only
};

class frame_reader {
 public:
  // Bytes prepare() offers at least, so one read can take many small frames.
  static constexpr std::size_t read_chunk = 64u << 10;

  // side: which end this is; max_frame_size: this node's limit, as announced in its hello or
  // welcome (throws std::invalid_argument outside [lowest_max_frame_size,
  // highest_max_frame_size]); versions: what this node speaks (its preface).
  explicit frame_reader(role side, std::uint32_t max_frame_size = default_max_frame_size,
                        version_range versions = supported_versions);
  ~frame_reader();
  // One per connection, kept where it was made (the bodies it returned point into it).
  frame_reader(const frame_reader&) = delete;
  frame_reader& operator=(const frame_reader&) = delete;

  // A writable region of at least max(at_least, read_chunk) bytes, and of the rest of the frame
  // being received when its header has passed the checks (so a large frame is read in place).
  // Read into its front, then commit() what was written. Invalidates the bodies of frames
  // returned so far. Throws std::bad_alloc only.
  std::span<char> prepare(std::size_t at_least = 0);
  // The first n bytes of the region prepare() gave now hold received bytes. Throws
  // std::invalid_argument if n exceeds that region.
  void commit(std::size_t n);
  // Copies bytes in (for callers that do not read in place). Invalidates the bodies of frames
  // returned so far. The reader holds what is fed until next() has consumed it.
  void feed(std::string_view bytes);

  // The next event in what has been received. A frame's body stays valid until the next
  // prepare() or feed(), so every frame of one read can be handled before reading again.
  // Throws wire_error (bad_preface, version_unsupported, unknown_kind, handshake_expected,
  // unexpected_kind, frame_too_large) at the offending byte's stream offset.
  read_event next();

  role side() const noexcept { return side_; }
  // The chosen version; 0 until the preface event.
  std::uint16_t version() const noexcept { return version_; }
  // What the peer's preface announced; {0, 0} until the preface event.
  version_range peer_versions() const noexcept { return peer_versions_; }
  // True once the handshake frame (hello for a listener, welcome for a dialer) was returned.
  bool handshake_done() const noexcept { return established_; }
  // The largest body accepted now: handshake_max_frame_size before the handshake, then the
  // max_frame_size given at construction.
  std::uint32_t frame_limit() const noexcept;
  // Stream offset of the first byte not yet consumed by next().
  std::uint64_t offset() const noexcept { return consumed_; }
  // Bytes received and not yet consumed.
  std::size_t buffered() const noexcept { return end_ - begin_; }
  // Bytes of memory the reader holds for its buffer.
  std::size_t buffer_capacity() const noexcept { return capacity_; }

 private:
  enum class state : std::uint8_t { preface, handshake, open, closed };
  read_event advance();
  void check_header(std::uint32_t length, std::uint8_t kind) const;
  std::size_t rest_of_frame() const noexcept;
  void make_room(std::size_t free_bytes);

  role side_;
  std::uint32_t max_frame_size_;
  version_range own_versions_;
  version_range peer_versions_{0, 0};
  std::uint16_t version_ = 0;
  state state_ = state::preface;
  bool established_ = false;                       // hello or welcome returned
  frame_kind closed_by_ = frame_kind::goodbye;     // state closed: what closed it
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;     // first byte not consumed
  std::size_t end_ = 0;       // one past the last byte received
  std::size_t prepared_ = 0;  // size of the region the last prepare() gave (commit's bound)
  std::uint64_t consumed_ = 0;
  std::shared_ptr<const wire_error> failed_;
};

// ---- Names across nodes (section 7) ------------------------------------------------------------

// True for an anonymous actor's local name: "$" and 1 to 20 decimal digits.
bool is_anonymous_name(std::string_view name) noexcept;
// True for a node or cluster name: 1 to 255 bytes of ASCII letters, digits, '.', '-', '_'.
bool is_valid_node_name(std::string_view name) noexcept;
// For "$<id>@<node>" (an anonymous name qualified with a valid node name), the node; otherwise
// empty.
std::string_view home_node(std::string_view name) noexcept;
// A name received from peer_node, in a field that names an actor on peer_node (the envelope's
// sender, a watch's watcher, a down's watched), as this node (own_node) names it: "$<id>"
// becomes "$<id>@<peer_node>", "$<id>@<own_node>" becomes "$<id>", any other name is kept.
std::string name_from_peer(std::string_view name, std::string_view peer_node, std::string_view own_node);
// A name about to be sent to peer_node in a field that names an actor on peer_node (a
// recipient, a watch's watched, a down's watcher): "$<id>@<peer_node>" becomes "$<id>", any
// other name is kept. The result views name.
std::string_view name_for_peer(std::string_view name, std::string_view peer_node) noexcept;

}  // namespace revenant::wire
