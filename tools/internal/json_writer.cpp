// The inspect tool's JSON writer (json_writer.hpp).
#include "tools/internal/json_writer.hpp"

#include "tools/internal/text.hpp"

namespace revenant::detail {

json_writer& json_writer::key(std::string_view name) {
  separate();
  out_ << json_string(name) << ": ";
  after_key_ = true;
  return *this;
}

json_writer& json_writer::value(std::string_view s) {
  separate();
  out_ << json_string(s);
  return *this;
}

json_writer& json_writer::value(std::uint64_t n) {
  separate();
  out_ << n;
  return *this;
}

json_writer& json_writer::value(std::int64_t n) {
  separate();
  out_ << n;
  return *this;
}

json_writer& json_writer::value(bool b) {
  separate();
  out_ << (b ? "true" : "false");
  return *this;
}

json_writer& json_writer::null() {
  separate();
  out_ << "null";
  return *this;
}

void json_writer::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ > 0) {
    out_ << (first_ ? "\n" : ",\n");
    indent();
  }
  first_ = false;
}

json_writer& json_writer::open(char c) {
  separate();
  out_ << c;
  ++depth_;
  first_ = true;
  return *this;
}

json_writer& json_writer::close(char c) {
  --depth_;
  if (!first_) {
    out_ << '\n';
    indent();
  }
  out_ << c;
  first_ = false;
  if (depth_ == 0) out_ << '\n';
  return *this;
}

void json_writer::indent() {
  for (int i = 0; i < depth_; ++i) out_ << "  ";
}

}  // namespace revenant::detail
