#include "storage/envelope.hpp"

#include "actors/internal/access.hpp"

#include <stdexcept>

namespace revenant {
namespace {

// Flags bit 0: an order number follows response_to (docs/format.md 8.6).
constexpr std::uint16_t ordered_flag = 1;

envelope_header read_header(detail::graph_input_archive& ar, std::uint16_t flags) {
  envelope_header h;
  ar(h.type, h.sender, h.request_id, h.response_to);
  if ((flags & ordered_flag) != 0) {
    const std::size_t at = ar.offset();
    ar(h.order);
    if (h.order == 0)
      ar.fail_at(at - snapshot_header_size, snapshot_errc::malformed, "an ordered envelope's order number is 0");
  }
  return h;
}

// Runs body over the envelope's payload, mapping every failure to snapshot_error as the
// snapshot decoder does.
template <class Body>
auto with_payload(std::string_view bytes, std::string subject, detail::actor_resolver* resolver, Body body) {
  std::uint16_t flags = 0;
  const std::string_view payload = detail::open_snapshot(bytes, subject, ordered_flag, &flags);
  detail::graph_input_archive ar(payload, snapshot_header_size, std::move(subject), resolver);
  try {
    return body(ar, flags);
  } catch (const snapshot_error&) {
    throw;
  } catch (const std::exception& e) {
    ar.fail(snapshot_errc::malformed, e.what());
  }
}

}  // namespace

std::string encode_envelope(const message& m, std::string_view sender, detail::actor_resolver* resolver) {
  const detail::message_type_entry* type = m.registration();
  if (type == nullptr)
    throw std::logic_error("revenant: message type " + std::string(m.type_name()) +
                           " is not registered (revenant::message_type), so it cannot be written to a durable "
                           "mailbox");
  const std::uint64_t order = detail::message_fields::order(m);
  std::string out;
  out.reserve(128);
  out.resize(snapshot_header_size);
  {
    detail::graph_output_archive ar(&out, nullptr, resolver);
    ar(type->name, std::string(sender), detail::message_fields::request_id(m), detail::message_fields::response_to(m));
    if (order != 0) ar(order);
    type->save(ar, m);
    ar.drain();
  }
  detail::seal_snapshot(out, order != 0 ? ordered_flag : 0);
  return out;
}

decoded_envelope decode_envelope(std::string_view bytes, std::string subject, detail::actor_resolver* resolver) {
  return with_payload(bytes, std::move(subject), resolver, [](detail::graph_input_archive& ar, std::uint16_t flags) {
    decoded_envelope d;
    const std::size_t type_at = ar.offset();
    d.header = read_header(ar, flags);
    const detail::message_type_entry* type = detail::find_message_type(d.header.type);
    if (type == nullptr)
      ar.fail_at(type_at - snapshot_header_size, snapshot_errc::unknown_type,
                 "message type \"" + d.header.type + "\" is not registered in this program");
    d.value = type->load(ar);
    ar.finish();
    detail::message_fields::request_id(*d.value) = d.header.request_id;
    detail::message_fields::response_to(*d.value) = d.header.response_to;
    detail::message_fields::order(*d.value) = d.header.order;
    return d;
  });
}

envelope_header peek_envelope(std::string_view bytes, std::string subject) {
  return with_payload(bytes, std::move(subject), nullptr,
                      [](detail::graph_input_archive& ar, std::uint16_t flags) { return read_header(ar, flags); });
}

}  // namespace revenant
