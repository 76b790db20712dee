// libFuzzer target: the store's mailbox key parser (storage/internal/keys.hpp, docs/format.md 8.5).
// Property: it accepts a key exactly when the key is at least 10 bytes long and its 9th byte from
// the end is 0, and then mailbox_key rebuilds the same key from what it returned; conversely
// every key mailbox_key builds for a non-empty name parses back to that name and number, and
// keys of one actor sort by number; no crash, no sanitizer report.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz/property.hpp"
#include "storage/internal/keys.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace keys = revenant::detail;
  using revenant::fuzz::property_broken;
  const std::string_view key(reinterpret_cast<const char*>(data), size);

  std::string_view actor;
  std::uint64_t seq = 0;
  const bool parsed = keys::parse_mailbox_key(key, actor, seq);
  const bool well_formed = key.size() >= 10 && key[key.size() - 9] == '\0';
  if (parsed != well_formed) property_broken("parse_mailbox_key accepts exactly the documented keys");
  if (parsed && keys::mailbox_key(actor, seq) != key) property_broken("a parsed key does not rebuild itself");

  // The other way: the input as a name and two numbers.
  if (size < 16) return 0;
  std::uint64_t a, b;
  std::memcpy(&a, data, 8);
  std::memcpy(&b, data + 8, 8);
  const std::string_view name = key.substr(16);
  if (name.empty()) return 0;
  const std::string ka = keys::mailbox_key(name, a), kb = keys::mailbox_key(name, b);
  std::string_view back;
  std::uint64_t back_seq = 0;
  if (!keys::parse_mailbox_key(ka, back, back_seq) || back != name || back_seq != a)
    property_broken("a built key does not parse back to its name and number");
  if ((a < b) != (ka < kb)) property_broken("keys of one actor do not sort by number");
  return 0;
}
