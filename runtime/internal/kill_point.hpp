// Named kill points: a test-only hook (docs/migration.md, section 7). A test's child process
// names one point with kill_at(); when the process reaches that point it kills itself with
// SIGKILL, a real crash at a chosen instant of a protocol. Set only by a call in the process
// itself — never from the environment — so no deployed process can be made to kill itself.
#pragma once

#include <string>
#include <string_view>

namespace revenant::detail {

// Arms point (an empty string disarms). Any thread.
void kill_at(std::string point);
// Kills the process with SIGKILL if point is the armed one. Any thread; one relaxed load when
// nothing is armed.
void kill_point(std::string_view point) noexcept;

}  // namespace revenant::detail
