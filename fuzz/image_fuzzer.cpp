// libFuzzer target: decode_snapshot of a durable actor's image (runtime/internal/image.hpp).
// Property: any bytes either decode into an image or throw snapshot_error; an accepted image
// encodes again and round-trips stably, its timers' envelopes and its restart snapshot decode
// or throw snapshot_error; no crash, no sanitizer report, no leak, no allocation sized by a
// forged length (run with -malloc_limit_mb). Input: fuzz::as_snapshot.
#include "fuzz/registrations.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    revenant::fuzz::exercise_image(revenant::fuzz::as_snapshot(data, size));
  } catch (const revenant::snapshot_error&) {
  }
  return 0;
}
