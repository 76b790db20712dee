// libFuzzer target: the store's outbox value decoder (storage/internal/keys.hpp, docs/format.md
// 8.14): u16 LE n, the recipient (n bytes, 1 <= n <= 1024), the envelope. Property: it accepts a
// value exactly when it is that, and then encode_outbox_value rebuilds the same bytes from what
// it returned; conversely every value encode_outbox_value builds for a recipient of 1 to 1024
// bytes decodes back to that recipient and envelope; no crash, no sanitizer report.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/property.hpp"
#include "storage/internal/keys.hpp"
#include "storage/wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace keys = revenant::detail;
  using revenant::fuzz::property_broken;
  const std::string_view value(reinterpret_cast<const char*>(data), size);

  std::string_view recipient, envelope;
  const bool decoded = keys::decode_outbox_value(value, recipient, envelope);
  const std::size_t n = size >= 2 ? static_cast<std::size_t>(data[0]) | static_cast<std::size_t>(data[1]) << 8 : 0;
  const bool well_formed = size >= 2 && n >= 1 && n <= revenant::wire::max_actor_name_size && size - 2 >= n;
  if (decoded != well_formed) property_broken("decode_outbox_value accepts exactly the documented values");
  if (decoded) {
    if (recipient.size() != n || recipient.data() != value.data() + 2)
      property_broken("the recipient is not the n bytes after the length");
    if (keys::encode_outbox_value(recipient, envelope) != value) property_broken("a decoded value does not rebuild itself");
  }

  // The other way: the input's first byte picks how much of the rest is the recipient.
  if (size < 2) return 0;
  const std::string_view rest = value.substr(1);
  const std::size_t cut = 1 + data[0] % std::min<std::size_t>(rest.size(), revenant::wire::max_actor_name_size);
  const std::string built = keys::encode_outbox_value(rest.substr(0, cut), rest.substr(cut));
  std::string_view back_recipient, back_envelope;
  if (!keys::decode_outbox_value(built, back_recipient, back_envelope) || back_recipient != rest.substr(0, cut) ||
      back_envelope != rest.substr(cut))
    property_broken("a built value does not decode back to its recipient and envelope");
  return 0;
}
