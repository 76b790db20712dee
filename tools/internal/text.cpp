// String literals, type names and times for the inspect tool's output (text.hpp).
#include "tools/internal/text.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace revenant::detail {
namespace {

// The length of the well-formed UTF-8 sequence at the start of s, or 0 if there is none.
std::size_t utf8_sequence(std::string_view s) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length;
  std::uint32_t code;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i) & 0x3f);
  }
  const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
  const bool surrogate = code >= 0xd800 && code <= 0xdfff;
  return overlong || surrogate || code > 0x10ffff ? 0 : length;
}

}  // namespace

std::string json_string(std::string_view s) {
  std::string out = "\"";
  while (!s.empty()) {
    const std::size_t n = utf8_sequence(s);
    const auto c = static_cast<unsigned char>(s[0]);
    if (n == 0) {
      out += "\\ufffd";
      s.remove_prefix(1);
      continue;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", c);
      out += escape;
    } else {
      out.append(s.data(), n);
    }
    s.remove_prefix(n);
  }
  out += '"';
  return out;
}

std::string dot_string(std::string_view s) {
  std::string out = "\"";
  while (!s.empty()) {
    const std::size_t n = utf8_sequence(s);
    const auto c = static_cast<unsigned char>(s[0]);
    if (n == 0 || c < 0x20) {
      out += '?';
      s.remove_prefix(std::max<std::size_t>(n, 1));
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out.append(s.data(), n);
    s.remove_prefix(n);
  }
  out += '"';
  return out;
}

std::string short_type_name(std::string_view name) {
  std::string out;
  constexpr std::string_view prefix = "revenant::";
  while (!name.empty()) {
    if (name.starts_with(prefix)) {
      name.remove_prefix(prefix.size());
      continue;
    }
    out += name.front();
    name.remove_prefix(1);
  }
  return out;
}

std::optional<std::string> iso_utc(std::int64_t ns) {
  constexpr std::int64_t per_second = 1'000'000'000;
  std::int64_t seconds = ns / per_second;
  std::int64_t rest = ns % per_second;
  if (rest < 0) {
    --seconds;
    rest += per_second;
  }
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) return std::nullopt;
  char text[96];  // room for any int fields, as the compiler checks
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(rest / 1'000'000));
  return std::string(text);
}

}  // namespace revenant::detail
