// Text for people, as the inspect tool prints it: string literals for JSON and Graphviz DOT,
// type names without the library's namespace, and wall-clock times.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace revenant::detail {

// s as a JSON string literal. Bytes that are not UTF-8 (names are arbitrary bytes) become U+FFFD.
std::string json_string(std::string_view s);

// s as a DOT quoted string: quotes and backslashes escaped, control characters and bytes that
// are not UTF-8 shown as '?'.
std::string dot_string(std::string_view s);

// A compiler-made type name without the library's namespace: "cell<closure<void(context&, ...)> >".
std::string short_type_name(std::string_view name);

// Wall-clock nanoseconds as ISO 8601 UTC with milliseconds ("2024-05-01T12:00:00.250Z"); nullopt
// if the time cannot be represented.
std::optional<std::string> iso_utc(std::int64_t ns);

}  // namespace revenant::detail
