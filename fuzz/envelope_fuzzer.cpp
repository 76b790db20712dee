// libFuzzer target: decode_envelope and peek_envelope (storage/envelope.hpp), with the message
// types of fuzz/registrations.hpp, tests/support/messages.hpp and the runtime's own registered.
// Property: any bytes either decode into a message or throw snapshot_error; peek_envelope agrees
// with decode_envelope; an accepted message encodes again and round-trips stably; no crash, no
// sanitizer report, no leak, no allocation sized by a forged length (run with -malloc_limit_mb).
// Input: fuzz::as_snapshot.
#include "fuzz/registrations.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    revenant::fuzz::exercise_envelope(revenant::fuzz::as_snapshot(data, size));
  } catch (const revenant::snapshot_error&) {
  }
  return 0;
}
