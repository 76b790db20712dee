// The incremental reader of one side of a connection (docs/wire.md, sections 3 and 5): the
// preface, then frames whose headers are checked before any room is made for their bodies.
#include <algorithm>
#include <cstring>
#include <utility>

#include "storage/internal/wire_fields.hpp"
#include "storage/wire.hpp"

namespace revenant::wire {
namespace {

// Which kinds a peer in this role sends once the handshake is done (docs/wire.md, section 2).
bool sent_after_handshake(role peer, frame_kind kind) noexcept {
  switch (kind) {
    case frame_kind::goodbye: return true;
    case frame_kind::ping:
    case frame_kind::message:
    case frame_kind::durable_message:
    case frame_kind::send:
    case frame_kind::watch:
    case frame_kind::unwatch:
    case frame_kind::down:
    case frame_kind::migrate_offer:
    case frame_kind::migrate_commit:
    case frame_kind::migrate_abort:
    case frame_kind::migrate_query:
    case frame_kind::migrate_request:
    case frame_kind::forwarded: return peer == role::dialer;
    case frame_kind::migrate_accept:
    case frame_kind::migrate_done:
    case frame_kind::migrate_outcome:
    case frame_kind::migrate_result:
    case frame_kind::moved:
    case frame_kind::pong:
    case frame_kind::ack:
    case frame_kind::send_result: return peer == role::listener;
    case frame_kind::hello:
    case frame_kind::welcome:
    case frame_kind::refuse: return false;
  }
  return false;
}

std::string kind_name(std::uint8_t kind) {
  return std::string(to_string(static_cast<frame_kind>(kind))) + " (" + std::to_string(kind) + ")";
}

}  // namespace

frame_reader::frame_reader(role side, std::uint32_t max_frame_size, version_range versions)
    : side_(side), max_frame_size_(max_frame_size), own_versions_(versions) {
  if (max_frame_size < lowest_max_frame_size || max_frame_size > highest_max_frame_size)
    throw std::invalid_argument("revenant wire: max_frame_size " + std::to_string(max_frame_size) + " is outside [" +
                                std::to_string(lowest_max_frame_size) + ", " + std::to_string(highest_max_frame_size) +
                                "]");
  if (versions.lowest == 0 || versions.lowest > versions.highest)
    throw std::invalid_argument("revenant wire: cannot speak versions " + std::to_string(versions.lowest) + " to " +
                                std::to_string(versions.highest));
}

frame_reader::~frame_reader() = default;

std::uint32_t frame_reader::frame_limit() const noexcept {
  return established_ ? max_frame_size_ : handshake_max_frame_size;
}

std::span<char> frame_reader::prepare(std::size_t at_least) {
  make_room(std::max({at_least, read_chunk, rest_of_frame()}));
  prepared_ = capacity_ - end_;
  return {buffer_.get() + end_, prepared_};
}

void frame_reader::commit(std::size_t n) {
  if (n > prepared_)
    throw std::invalid_argument("revenant wire: commit of " + std::to_string(n) + " bytes into a region of " +
                                std::to_string(prepared_));
  end_ += n;
  prepared_ -= n;
}

void frame_reader::feed(std::string_view bytes) {
  if (bytes.empty()) return;
  make_room(bytes.size());
  std::memcpy(buffer_.get() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
  prepared_ = 0;
}

// The bytes still missing from the frame whose header is buffered, if that header is within
// the limit (a header beyond it is an error next() reports: no room is made for it).
std::size_t frame_reader::rest_of_frame() const noexcept {
  if (state_ == state::preface || buffered() < frame_header_size) return 0;
  const auto length = detail::load<std::uint32_t>(buffer_.get() + begin_);
  if (length > frame_limit()) return 0;
  return frame_header_size + length - std::min<std::size_t>(buffered(), frame_header_size + length);
}

// Makes at least free_bytes writable after end_: moves the unconsumed bytes to the front, or
// into a new buffer. A new buffer doubles (so bytes fed a few at a time are copied a bounded
// number of times) up to what one frame and one read can need, and is given back once it is
// more than twice what is held and wanted (after a large frame has been consumed).
void frame_reader::make_room(std::size_t free_bytes) {
  const std::size_t held = buffered();
  const std::size_t needed = held + free_bytes;
  const bool too_small = needed > capacity_;
  const bool wasteful = capacity_ > 2 * read_chunk && capacity_ > 2 * needed;
  if (!too_small && !wasteful) {
    if (capacity_ - end_ >= free_bytes) return;
    std::memmove(buffer_.get(), buffer_.get() + begin_, held);
  } else {
    const std::size_t bound = read_chunk + frame_header_size + frame_limit();
    const std::size_t size = std::max({needed, read_chunk, too_small ? std::min(2 * capacity_, bound) : 0});
    std::unique_ptr<char[]> bigger(new char[size]);
    if (held > 0) std::memcpy(bigger.get(), buffer_.get() + begin_, held);
    buffer_ = std::move(bigger);
    capacity_ = size;
  }
  begin_ = 0;
  end_ = held;
}

void frame_reader::check_header(std::uint32_t length, std::uint8_t kind) const {
  const std::uint64_t kind_at = consumed_ + 4;
  if (!is_known_kind(kind, version_))
    throw wire_error(wire_errc::unknown_kind, kind_at,
                     "frame kind " + std::to_string(kind) + " is not defined in protocol version " +
                         std::to_string(version_));
  const auto known = static_cast<frame_kind>(kind);
  const role peer = side_ == role::dialer ? role::listener : role::dialer;
  switch (state_) {
    case state::preface: break;  // not reached: the preface comes first
    case state::handshake: {
      const bool expected = side_ == role::listener ? known == frame_kind::hello
                                                    : known == frame_kind::welcome || known == frame_kind::refuse;
      if (!expected)
        throw wire_error(wire_errc::handshake_expected, kind_at,
                         "a " + kind_name(kind) + " frame before the handshake; expected " +
                             (side_ == role::listener ? "hello" : "welcome or refuse"));
      break;
    }
    case state::open:
      if (!sent_after_handshake(peer, known))
        throw wire_error(wire_errc::unexpected_kind, kind_at,
                         "a " + kind_name(kind) + " frame, which a " +
                             (peer == role::dialer ? "dialer" : "listener") + " does not send after the handshake");
      break;
    case state::closed:
      throw wire_error(wire_errc::unexpected_kind, kind_at,
                       "a " + kind_name(kind) + " frame after the peer's " + std::string(to_string(closed_by_)) +
                           ", which nothing may follow");
  }
  if (length > frame_limit())
    throw wire_error(wire_errc::frame_too_large, consumed_,
                     "a " + std::string(to_string(known)) + " frame body of " + std::to_string(length) +
                         " bytes exceeds this node's limit of " + std::to_string(frame_limit()) + " bytes" +
                         (established_ ? "" : " before the handshake"));
}

read_event frame_reader::next() {
  if (failed_) throw *failed_;
  try {
    return advance();
  } catch (const wire_error& e) {
    failed_ = std::make_shared<const wire_error>(e);
    throw;
  }
}

read_event frame_reader::advance() {
  if (buffered() == 0) return {};
  const char* const at = buffer_.get() + begin_;
  if (state_ == state::preface) {
    // The magic is checked byte by byte as it arrives: a peer speaking another protocol is
    // refused without waiting for 8 bytes it may never send.
    const std::size_t magic_in = std::min(buffered(), sizeof detail::preface_magic);
    if (std::memcmp(at, detail::preface_magic, magic_in) != 0)
      throw wire_error(wire_errc::bad_preface, 0, "the peer's first bytes are not the magic \"RVNW\"");
    if (buffered() < preface_size) return {};
    const version_range peer{detail::load<std::uint16_t>(at + 4), detail::load<std::uint16_t>(at + 6)};
    if (peer.lowest == 0 || peer.lowest > peer.highest)
      throw wire_error(wire_errc::bad_preface, 4,
                       "the preface announces versions " + std::to_string(peer.lowest) + " to " +
                           std::to_string(peer.highest));
    version_ = negotiate(own_versions_, peer);
    peer_versions_ = peer;
    state_ = state::handshake;
    begin_ += preface_size;
    consumed_ += preface_size;
    return {read_status::preface, {}};
  }
  if (buffered() < frame_header_size) return {};
  const auto length = detail::load<std::uint32_t>(at);
  const auto kind = static_cast<std::uint8_t>(at[4]);
  check_header(length, kind);
  if (buffered() - frame_header_size < length) return {};

  const frame got{static_cast<frame_kind>(kind), std::string_view(at + frame_header_size, length), consumed_};
  begin_ += frame_header_size + length;
  consumed_ += frame_header_size + length;
  if (got.kind == frame_kind::refuse || got.kind == frame_kind::goodbye) {
    state_ = state::closed;
    closed_by_ = got.kind;
  } else if (state_ == state::handshake) {
    state_ = state::open;
    established_ = true;
  }
  return {read_status::frame, got};
}

}  // namespace revenant::wire
