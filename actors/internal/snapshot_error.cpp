#include "actors/snapshot_error.hpp"

namespace revenant {
namespace {

std::string compose(snapshot_errc code, std::size_t offset, const std::string& detail, const std::string& subject) {
  std::string message = subject.empty() ? std::string("snapshot") : "snapshot of " + subject;
  message += ": ";
  message += to_string(code);
  message += " at offset " + std::to_string(offset) + ": " + detail;
  return message;
}

}  // namespace

std::string_view to_string(snapshot_errc code) noexcept {
  switch (code) {
    case snapshot_errc::truncated: return "truncated";
    case snapshot_errc::bad_magic: return "bad_magic";
    case snapshot_errc::unsupported_version: return "unsupported_version";
    case snapshot_errc::checksum_mismatch: return "checksum_mismatch";
    case snapshot_errc::size_limit: return "size_limit";
    case snapshot_errc::unknown_function: return "unknown_function";
    case snapshot_errc::signature_mismatch: return "signature_mismatch";
    case snapshot_errc::bad_reference: return "bad_reference";
    case snapshot_errc::malformed: return "malformed";
    case snapshot_errc::nesting_limit: return "nesting_limit";
    case snapshot_errc::unknown_type: return "unknown_type";
  }
  return "unknown_error";
}

snapshot_error::snapshot_error(snapshot_errc code, std::size_t offset, std::string detail, std::string subject)
    : std::runtime_error(compose(code, offset, detail, subject)),
      code_(code),
      offset_(offset),
      detail_(std::move(detail)),
      subject_(std::move(subject)) {}

snapshot_error snapshot_error::with_subject(std::string subject) const {
  return snapshot_error(code_, offset_, detail_, std::move(subject));
}

}  // namespace revenant
