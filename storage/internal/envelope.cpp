#include "storage/envelope.hpp"

#include "actors/internal/access.hpp"

#include <stdexcept>

namespace revenant {
namespace {

envelope_header read_header(detail::graph_input_archive& ar) {
  envelope_header h;
  ar(h.type, h.sender, h.request_id, h.response_to);
  return h;
}

// Runs body over the envelope's payload, mapping every failure to snapshot_error as the
// snapshot decoder does.
template <class Body>
auto with_payload(std::string_view bytes, std::string subject, detail::actor_resolver* resolver, Body body) {
  const std::string_view payload = detail::open_snapshot(bytes, subject);
  detail::graph_input_archive ar(payload, snapshot_header_size, std::move(subject), resolver);
  try {
    return body(ar);
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
  std::string out;
  out.reserve(128);
  out.resize(snapshot_header_size);
  {
    detail::graph_output_archive ar(&out, nullptr, resolver);
    ar(type->name, std::string(sender), detail::message_fields::request_id(m), detail::message_fields::response_to(m));
    type->save(ar, m);
    ar.drain();
  }
  detail::seal_snapshot(out);
  return out;
}

decoded_envelope decode_envelope(std::string_view bytes, std::string subject, detail::actor_resolver* resolver) {
  return with_payload(bytes, std::move(subject), resolver, [](detail::graph_input_archive& ar) {
    decoded_envelope d;
    const std::size_t type_at = ar.offset();
    d.header = read_header(ar);
    const detail::message_type_entry* type = detail::find_message_type(d.header.type);
    if (type == nullptr)
      ar.fail_at(type_at - snapshot_header_size, snapshot_errc::unknown_type,
                 "message type \"" + d.header.type + "\" is not registered in this program");
    d.value = type->load(ar);
    ar.finish();
    detail::message_fields::request_id(*d.value) = d.header.request_id;
    detail::message_fields::response_to(*d.value) = d.header.response_to;
    return d;
  });
}

envelope_header peek_envelope(std::string_view bytes, std::string subject) {
  return with_payload(bytes, std::move(subject), nullptr,
                      [](detail::graph_input_archive& ar) { return read_header(ar); });
}

}  // namespace revenant
