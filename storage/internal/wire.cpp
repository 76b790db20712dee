// Frame bodies of the wire protocol (docs/wire.md, sections 4 to 6). Each kind's fields are
// listed once (fields() below) and walked three ways: to validate and size, to write, and to
// read — one grammar, so the encoder and the decoder cannot disagree.
#include "storage/wire.hpp"

#include <algorithm>
#include <cstdio>
#include <type_traits>

#include "storage/internal/wire_fields.hpp"

namespace revenant::wire {

// ---- The fields of every kind (docs/wire.md, sections 4 and 6) ------------------------------

namespace {

// What a field's value must satisfy besides its width.
enum class check : std::uint8_t { any, nonzero, frame_limit, exit_reason, outcome };
enum class name_kind : std::uint8_t { actor, node };

bool passes(check c, std::uint64_t v) noexcept {
  switch (c) {
    case check::any: return true;
    case check::nonzero: return v != 0;
    case check::frame_limit: return v >= lowest_max_frame_size && v <= highest_max_frame_size;
    case check::exit_reason: return v >= 1 && v <= 3;
    case check::outcome: return v >= 1 && v <= 3;
  }
  return false;
}

std::string failure(check c, const char* field, std::uint64_t v) {
  switch (c) {
    case check::any: break;
    case check::nonzero: return std::string(field) + " is 0";
    case check::frame_limit:
      return std::string(field) + " " + std::to_string(v) + " is outside [" + std::to_string(lowest_max_frame_size) +
             ", " + std::to_string(highest_max_frame_size) + "]";
    case check::exit_reason:
      return std::string(field) + " " + std::to_string(v) + " is not an exit_reason (1 normal, 2 failed, 3 shutdown)";
    case check::outcome:
      return std::string(field) + " " + std::to_string(v) + " is not a migration outcome (1 committed, 2 aborted, 3 pending)";
  }
  return std::string(field) + " is invalid";
}

// Why a name is out of bounds, or empty if it is not.
std::string name_failure(name_kind kind, const char* field, std::string_view name) {
  const std::size_t limit = kind == name_kind::actor ? max_actor_name_size : max_node_name_size;
  if (name.empty()) return std::string(field) + " is empty";
  if (name.size() > limit)
    return std::string(field) + " is " + std::to_string(name.size()) + " bytes, longer than the limit of " +
           std::to_string(limit);
  if (kind == name_kind::node)
    for (std::size_t i = 0; i < name.size(); ++i)
      if (!detail::is_node_name_byte(name[i])) {
        char byte[5];
        std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned>(static_cast<unsigned char>(name[i])));
        return std::string(field) + " holds byte " + byte + " at position " + std::to_string(i) +
               ", not an ASCII letter, digit, '.', '-' or '_'";
      }
  return {};
}

template <class T>
using wire_type = typename std::conditional_t<std::is_enum_v<T>, std::underlying_type<T>, std::type_identity<T>>::type;

std::string_view cut_text(std::string_view text) noexcept { return text.substr(0, max_text_size); }

// Lists a kind's fields, in order, to io (sizer, writer or reader); F is const for the first
// two.
template <class Io, class F>
void fields(Io& io, F& f) {
  using frame_type = std::remove_const_t<F>;
  if constexpr (std::is_same_v<frame_type, hello_frame>) {
    io.integer("version", f.version, check::nonzero);
    io.integer("max_frame_size", f.max_frame_size, check::frame_limit);
    io.id("node_id", f.id);
    io.integer("incarnation", f.incarnation, check::nonzero);
    io.name("cluster", f.cluster, name_kind::node);
    io.name("node", f.node, name_kind::node);
    io.name("peer", f.peer, name_kind::node);
  } else if constexpr (std::is_same_v<frame_type, welcome_frame>) {
    io.integer("max_frame_size", f.max_frame_size, check::frame_limit);
    io.id("node_id", f.id);
    io.integer("incarnation", f.incarnation, check::nonzero);
    io.integer("inbox_high_water", f.inbox_high_water, check::any);
    io.name("node", f.node, name_kind::node);
  } else if constexpr (std::is_same_v<frame_type, refuse_frame> || std::is_same_v<frame_type, goodbye_frame>) {
    io.integer("code", f.code, check::nonzero);
    io.text("text", f.text);
  } else if constexpr (std::is_same_v<frame_type, ping_frame> || std::is_same_v<frame_type, pong_frame>) {
    io.integer("nonce", f.nonce, check::any);
  } else if constexpr (std::is_same_v<frame_type, message_frame>) {
    io.name("recipient", f.recipient, name_kind::actor);
    io.bytes("envelope", f.envelope);
  } else if constexpr (std::is_same_v<frame_type, durable_message_frame>) {
    io.integer("seq", f.seq, check::nonzero);
    io.name("recipient", f.recipient, name_kind::actor);
    io.bytes("envelope", f.envelope);
  } else if constexpr (std::is_same_v<frame_type, ack_frame>) {
    io.integer("seq", f.seq, check::nonzero);
  } else if constexpr (std::is_same_v<frame_type, send_frame>) {
    io.integer("correlation", f.correlation, check::nonzero);
    io.name("recipient", f.recipient, name_kind::actor);
    io.bytes("envelope", f.envelope);
  } else if constexpr (std::is_same_v<frame_type, send_result_frame>) {
    io.integer("correlation", f.correlation, check::nonzero);
    io.integer("status", f.status, check::nonzero);
    io.text("text", f.text);
  } else if constexpr (std::is_same_v<frame_type, watch_frame> || std::is_same_v<frame_type, unwatch_frame>) {
    io.name("watcher", f.watcher, name_kind::actor);
    io.name("watched", f.watched, name_kind::actor);
  } else if constexpr (std::is_same_v<frame_type, down_frame>) {
    io.integer("reason", f.reason, check::exit_reason);
    io.name("watched", f.watched, name_kind::actor);
    io.name("watcher", f.watcher, name_kind::actor);
    io.text("detail", f.detail);
  } else if constexpr (std::is_same_v<frame_type, migrate_offer_frame>) {
    io.integer("id", f.id, check::nonzero);
    io.bytes("package", f.package);
  } else if constexpr (std::is_same_v<frame_type, migrate_accept_frame>) {
    io.integer("id", f.id, check::nonzero);
    io.integer("status", f.status, check::nonzero);
    io.text("reason", f.reason);
  } else if constexpr (std::is_same_v<frame_type, migrate_commit_frame> || std::is_same_v<frame_type, migrate_abort_frame> ||
                       std::is_same_v<frame_type, migrate_query_frame>) {
    io.integer("id", f.id, check::nonzero);
    io.name("actor", f.actor, name_kind::actor);
  } else if constexpr (std::is_same_v<frame_type, migrate_done_frame>) {
    io.integer("id", f.id, check::nonzero);
  } else if constexpr (std::is_same_v<frame_type, migrate_outcome_frame>) {
    io.integer("id", f.id, check::nonzero);
    io.integer("outcome", f.outcome, check::outcome);
  } else if constexpr (std::is_same_v<frame_type, forwarded_frame>) {
    io.name("origin", f.origin, name_kind::node);
    io.name("recipient", f.recipient, name_kind::actor);
    io.bytes("envelope", f.envelope);
  } else if constexpr (std::is_same_v<frame_type, moved_frame>) {
    io.name("actor", f.actor, name_kind::actor);
    io.name("target", f.target, name_kind::node);
  } else if constexpr (std::is_same_v<frame_type, migrate_request_frame>) {
    io.integer("id", f.id, check::nonzero);
    io.name("actor", f.actor, name_kind::actor);
    io.name("target", f.target, name_kind::node);
    io.integer("hops", f.hops, check::any);
  } else if constexpr (std::is_same_v<frame_type, migrate_result_frame>) {
    io.integer("id", f.id, check::nonzero);
    io.integer("code", f.code, check::any);
    io.text("reason", f.reason);
  } else {
    static_assert(!sizeof(F), "a frame type without its fields");
  }
}

// Validates a frame about to be encoded and adds up its body length. Throws
// std::invalid_argument naming the kind and the field.
class sizer {
 public:
  explicit sizer(frame_kind kind) : kind_(kind) {}

  template <class T>
  void integer(const char* field, const T& v, check c) {
    const auto w = static_cast<wire_type<T>>(v);
    if (!passes(c, static_cast<std::uint64_t>(w))) fail(failure(c, field, static_cast<std::uint64_t>(w)));
    size_ += sizeof w;
  }
  void id(const char* field, const node_id& v) {
    if (std::all_of(v.begin(), v.end(), [](std::uint8_t b) { return b == 0; }))
      fail(std::string(field) + " is all zero");
    size_ += v.size();
  }
  void name(const char* field, std::string_view v, name_kind kind) {
    if (std::string why = name_failure(kind, field, v); !why.empty()) fail(why);
    size_ += sizeof(std::uint16_t) + v.size();
  }
  void text(const char*, std::string_view v) { size_ += sizeof(std::uint16_t) + cut_text(v).size(); }
  void bytes(const char*, std::string_view v) {
    if (v.size() > highest_max_frame_size) too_long();
    size_ += sizeof(std::uint32_t) + v.size();
  }

  std::size_t size() const {
    if (size_ > highest_max_frame_size) too_long();
    return size_;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw std::invalid_argument("revenant wire: cannot encode a " + std::string(to_string(kind_)) + " frame: " + why);
  }
  [[noreturn]] void too_long() const {
    throw std::length_error("revenant wire: cannot encode a " + std::string(to_string(kind_)) +
                            " frame: its body exceeds " + std::to_string(highest_max_frame_size) +
                            " bytes, the largest frame any node accepts");
  }
  frame_kind kind_;
  std::size_t size_ = 0;
};

// Appends a validated frame's fields.
class writer {
 public:
  explicit writer(std::string& out) : out_(out) {}

  template <class T>
  void integer(const char*, const T& v, check) {
    detail::append(out_, static_cast<wire_type<T>>(v));
  }
  void id(const char*, const node_id& v) { out_.append(reinterpret_cast<const char*>(v.data()), v.size()); }
  void name(const char*, std::string_view v, name_kind) { prefixed<std::uint16_t>(v); }
  void text(const char*, std::string_view v) { prefixed<std::uint16_t>(cut_text(v)); }
  void bytes(const char*, std::string_view v) { prefixed<std::uint32_t>(v); }

 private:
  template <class Length>
  void prefixed(std::string_view v) {
    detail::append(out_, static_cast<Length>(v.size()));
    out_.append(v);
  }
  std::string& out_;
};

// Reads a frame's body, checking each field; throws wire_error malformed_frame at the field.
class reader {
 public:
  reader(const frame& f, frame_kind expected) : body_(f.body), base_(f.offset + frame_header_size), kind_(expected) {
    if (f.kind != expected)
      throw std::invalid_argument("revenant wire: decode_" + std::string(to_string(expected)) + " called on a " +
                                  std::string(to_string(f.kind)) + " frame");
  }

  template <class T>
  void integer(const char* field, T& v, check c) {
    const std::size_t at = at_;
    const auto w = take<wire_type<T>>(field);
    if (!passes(c, static_cast<std::uint64_t>(w))) fail(at, failure(c, field, static_cast<std::uint64_t>(w)));
    v = static_cast<T>(w);
  }
  void id(const char* field, node_id& v) {
    const std::size_t at = at_;
    need(field, v.size());
    std::memcpy(v.data(), body_.data() + at_, v.size());
    at_ += v.size();
    if (std::all_of(v.begin(), v.end(), [](std::uint8_t b) { return b == 0; }))
      fail(at, std::string(field) + " is all zero");
  }
  void name(const char* field, std::string_view& v, name_kind kind) {
    const std::size_t at = at_;
    v = prefixed<std::uint16_t>(field);
    if (std::string why = name_failure(kind, field, v); !why.empty()) fail(at, why);
  }
  void text(const char* field, std::string_view& v) {
    const std::size_t at = at_;
    v = prefixed<std::uint16_t>(field);
    if (v.size() > max_text_size)
      fail(at, std::string(field) + " is " + std::to_string(v.size()) + " bytes, longer than the limit of " +
                   std::to_string(max_text_size));
  }
  void bytes(const char* field, std::string_view& v) { v = prefixed<std::uint32_t>(field); }

  // The body must end after the last field.
  void finish() const {
    if (at_ != body_.size())
      fail(at_, std::to_string(body_.size() - at_) + " bytes follow the last field");
  }

 private:
  [[noreturn]] void fail(std::size_t at, const std::string& why) const {
    throw wire_error(wire_errc::malformed_frame, base_ + at, std::string(to_string(kind_)) + ": " + why);
  }
  void need(const char* field, std::size_t n) const {
    const std::size_t remain = body_.size() - at_;
    if (remain < n)
      fail(at_, std::string(field) + " needs " + std::to_string(n) + " bytes, " + std::to_string(remain) +
                    (remain == 1 ? " remains" : " remain"));
  }
  template <class T>
  T take(const char* field) {
    need(field, sizeof(T));
    const T v = detail::load<T>(body_.data() + at_);
    at_ += sizeof(T);
    return v;
  }
  template <class Length>
  std::string_view prefixed(const char* field) {
    const std::size_t at = at_;
    const std::size_t length = take<Length>(field);
    const std::size_t remain = body_.size() - at_;
    if (length > remain)
      fail(at, std::string(field) + " length " + std::to_string(length) + " exceeds the " + std::to_string(remain) +
                   " bytes that remain");
    const std::string_view v = body_.substr(at_, length);
    at_ += length;
    return v;
  }

  std::string_view body_;
  std::uint64_t base_;  // stream offset of the body's first byte
  frame_kind kind_;
  std::size_t at_ = 0;
};

template <class F>
std::size_t body_size_of(const F& f) {
  sizer s(F::kind);
  fields(s, f);
  return s.size();
}

template <class F>
void encode_frame(std::string& out, const F& f) {
  const std::size_t body = body_size_of(f);  // validates before anything is written
  const std::size_t needed = out.size() + frame_header_size + body;
  if (out.capacity() < needed) out.reserve(std::max(needed, 2 * out.capacity()));
  detail::append(out, static_cast<std::uint32_t>(body));
  detail::append(out, static_cast<std::uint8_t>(F::kind));
  writer w(out);
  fields(w, f);
}

template <class F>
F decode_frame(const frame& f) {
  reader r(f, F::kind);
  F decoded;
  fields(r, decoded);
  r.finish();
  return decoded;
}

}  // namespace

void encode(std::string& out, const hello_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const welcome_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const refuse_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const goodbye_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const ping_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const pong_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const message_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const durable_message_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const ack_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const send_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const send_result_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const watch_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const unwatch_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const down_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const migrate_offer_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const migrate_accept_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const migrate_commit_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const migrate_done_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const migrate_abort_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const migrate_query_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const migrate_outcome_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const forwarded_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const moved_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const migrate_request_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const migrate_result_frame& f) { encode_frame(out, f); }
void encode(std::string& out, const any_frame& f) {
  std::visit([&out](const auto& one) { encode_frame(out, one); }, f);
}

std::size_t body_size(const any_frame& f) {
  return std::visit([](const auto& one) { return body_size_of(one); }, f);
}

void encode_preface(std::string& out, version_range versions) {
  if (versions.lowest == 0 || versions.lowest > versions.highest)
    throw std::invalid_argument("revenant wire: cannot announce versions " + std::to_string(versions.lowest) + " to " +
                                std::to_string(versions.highest));
  out.append(detail::preface_magic, sizeof detail::preface_magic);
  detail::append(out, versions.lowest);
  detail::append(out, versions.highest);
}

hello_frame decode_hello(const frame& f) { return decode_frame<hello_frame>(f); }
welcome_frame decode_welcome(const frame& f) { return decode_frame<welcome_frame>(f); }
refuse_frame decode_refuse(const frame& f) { return decode_frame<refuse_frame>(f); }
goodbye_frame decode_goodbye(const frame& f) { return decode_frame<goodbye_frame>(f); }
ping_frame decode_ping(const frame& f) { return decode_frame<ping_frame>(f); }
pong_frame decode_pong(const frame& f) { return decode_frame<pong_frame>(f); }
message_frame decode_message(const frame& f) { return decode_frame<message_frame>(f); }
durable_message_frame decode_durable_message(const frame& f) { return decode_frame<durable_message_frame>(f); }
ack_frame decode_ack(const frame& f) { return decode_frame<ack_frame>(f); }
send_frame decode_send(const frame& f) { return decode_frame<send_frame>(f); }
send_result_frame decode_send_result(const frame& f) { return decode_frame<send_result_frame>(f); }
watch_frame decode_watch(const frame& f) { return decode_frame<watch_frame>(f); }
unwatch_frame decode_unwatch(const frame& f) { return decode_frame<unwatch_frame>(f); }
down_frame decode_down(const frame& f) { return decode_frame<down_frame>(f); }
migrate_offer_frame decode_migrate_offer(const frame& f) { return decode_frame<migrate_offer_frame>(f); }
migrate_accept_frame decode_migrate_accept(const frame& f) { return decode_frame<migrate_accept_frame>(f); }
migrate_commit_frame decode_migrate_commit(const frame& f) { return decode_frame<migrate_commit_frame>(f); }
migrate_done_frame decode_migrate_done(const frame& f) { return decode_frame<migrate_done_frame>(f); }
migrate_abort_frame decode_migrate_abort(const frame& f) { return decode_frame<migrate_abort_frame>(f); }
migrate_query_frame decode_migrate_query(const frame& f) { return decode_frame<migrate_query_frame>(f); }
migrate_outcome_frame decode_migrate_outcome(const frame& f) { return decode_frame<migrate_outcome_frame>(f); }
forwarded_frame decode_forwarded(const frame& f) { return decode_frame<forwarded_frame>(f); }
moved_frame decode_moved(const frame& f) { return decode_frame<moved_frame>(f); }
migrate_request_frame decode_migrate_request(const frame& f) { return decode_frame<migrate_request_frame>(f); }
migrate_result_frame decode_migrate_result(const frame& f) { return decode_frame<migrate_result_frame>(f); }

any_frame decode(const frame& f) {
  switch (f.kind) {
    case frame_kind::hello: return decode_hello(f);
    case frame_kind::welcome: return decode_welcome(f);
    case frame_kind::refuse: return decode_refuse(f);
    case frame_kind::goodbye: return decode_goodbye(f);
    case frame_kind::ping: return decode_ping(f);
    case frame_kind::pong: return decode_pong(f);
    case frame_kind::message: return decode_message(f);
    case frame_kind::durable_message: return decode_durable_message(f);
    case frame_kind::ack: return decode_ack(f);
    case frame_kind::send: return decode_send(f);
    case frame_kind::send_result: return decode_send_result(f);
    case frame_kind::watch: return decode_watch(f);
    case frame_kind::unwatch: return decode_unwatch(f);
    case frame_kind::down: return decode_down(f);
    case frame_kind::migrate_offer: return decode_migrate_offer(f);
    case frame_kind::migrate_accept: return decode_migrate_accept(f);
    case frame_kind::migrate_commit: return decode_migrate_commit(f);
    case frame_kind::migrate_done: return decode_migrate_done(f);
    case frame_kind::migrate_abort: return decode_migrate_abort(f);
    case frame_kind::migrate_query: return decode_migrate_query(f);
    case frame_kind::migrate_outcome: return decode_migrate_outcome(f);
    case frame_kind::forwarded: return decode_forwarded(f);
    case frame_kind::moved: return decode_moved(f);
    case frame_kind::migrate_request: return decode_migrate_request(f);
    case frame_kind::migrate_result: return decode_migrate_result(f);
  }
  throw wire_error(wire_errc::unknown_kind, f.offset + 4,
                   "frame kind " + std::to_string(static_cast<unsigned>(f.kind)) + " is not defined in version " +
                       std::to_string(highest_specified_version));
}

std::uint16_t negotiate(version_range own, version_range peer) {
  const std::uint16_t highest = std::min(own.highest, peer.highest);
  const std::uint16_t lowest = std::max(own.lowest, peer.lowest);
  if (highest < lowest)
    throw wire_error(wire_errc::version_unsupported, 4,
                     "the peer speaks protocol versions " + std::to_string(peer.lowest) + " to " +
                         std::to_string(peer.highest) + ", this node " + std::to_string(own.lowest) + " to " +
                         std::to_string(own.highest));
  return highest;
}

}  // namespace revenant::wire
