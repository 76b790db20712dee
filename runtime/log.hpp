// What the library says about itself, and where it goes. The library never writes to stderr
// (or anywhere else) on its own: an application that wants these lines gives the actor system a
// sink (actor_system_config::log).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace revenant {

// How much a log line matters.
enum class log_level : std::uint8_t {
  info = 1,     // the system did something worth knowing (nothing is wrong)
  warning = 2,  // something failed and was dealt with (a transient actor's behavior failed and it stopped)
  error = 3,    // something failed that the application must look at (a quarantine, a failed commit)
};

// Receives one line: its level, and a sentence that names what it is about (the actor, the
// store's path). Called on whichever thread the event happened (a worker, the committer's
// thread, the caller's), possibly on several at once: it must be thread-safe, should not block
// for long, and must not call back into the actor system. An exception it throws is ignored.
// The text is valid only during the call.
using log_sink = std::function<void(log_level level, std::string_view message)>;

}  // namespace revenant
