// The inspect tool's JSON output: a writer that indents and places commas itself.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace revenant::detail {

// Writes indented JSON to a stream, placing commas itself (two spaces per level, a newline after
// the outermost value). The caller keeps objects and arrays balanced and gives every object
// member a key. Strings are escaped as json_string (text.hpp) does.
class json_writer {
 public:
  explicit json_writer(std::ostream& out) : out_(out) {}

  json_writer& begin_object() { return open('{'); }
  json_writer& end_object() { return close('}'); }
  json_writer& begin_array() { return open('['); }
  json_writer& end_array() { return close(']'); }
  // The key of the next value, inside an object.
  json_writer& key(std::string_view name);
  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(const std::string& s) { return value(std::string_view(s)); }
  json_writer& value(std::uint64_t n);
  json_writer& value(std::int64_t n);
  json_writer& value(std::uint32_t n) { return value(static_cast<std::uint64_t>(n)); }
  json_writer& value(bool b);
  json_writer& null();
  // The value, or null if there is none.
  template <class T>
  json_writer& value(const std::optional<T>& v) {
    return v ? value(*v) : null();
  }
  // A key and its value.
  template <class T>
  json_writer& member(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

 private:
  void separate();
  json_writer& open(char c);
  json_writer& close(char c);
  void indent();

  std::ostream& out_;
  int depth_ = 0;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace revenant::detail
