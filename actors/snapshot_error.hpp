// The error every snapshot decoder reports: what is wrong, where, and about whom.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace revenant {

// Why a snapshot could not be decoded. Values are stable (they may be logged or stored).
enum class snapshot_errc : std::uint8_t {
  truncated = 1,            // input ends before a field it announces
  bad_magic = 2,            // not a revenant snapshot
  unsupported_version = 3,  // a format version this build cannot read
  checksum_mismatch = 4,    // header or payload bytes were damaged
  size_limit = 5,           // a length field exceeds the bytes that remain
  unknown_function = 6,     // a function name not registered in this program
  signature_mismatch = 7,   // a registered function or node of another type than expected
  bad_reference = 8,        // a node reference that names no node defined so far
  malformed = 9,            // any other inconsistency (bad flag, bad bool, trailing bytes, ...)
  nesting_limit = 10,       // values nested deeper than detail::max_nesting
  unknown_type = 11,        // a message type name not registered in this program
};

// Short stable name of a code ("checksum_mismatch"), for logs and tests.
std::string_view to_string(snapshot_errc code) noexcept;

// Thrown by every decode path on bad input. what() reads like
//   snapshot of actor "account/42": checksum_mismatch at offset 24: payload CRC32C ...
// subject() is empty when the caller gave none; offset() counts from the snapshot's first byte.
class snapshot_error : public std::runtime_error {
 public:
  snapshot_error(snapshot_errc code, std::size_t offset, std::string detail, std::string subject = {});

  snapshot_errc code() const noexcept { return code_; }
  std::size_t offset() const noexcept { return offset_; }
  const std::string& detail() const noexcept { return detail_; }
  const std::string& subject() const noexcept { return subject_; }

  // The same error about another subject (e.g. once the caller knows which actor it was).
  snapshot_error with_subject(std::string subject) const;

 private:
  snapshot_errc code_;
  std::size_t offset_;
  std::string detail_;
  std::string subject_;
};

}  // namespace revenant
