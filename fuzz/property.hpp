// How a fuzz target reports a broken property.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace revenant::fuzz {

// A finding: prints what broke the target's property and aborts, so that libFuzzer keeps the
// input that did it.
[[noreturn]] inline void property_broken(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "property broken: %s %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

}  // namespace revenant::fuzz
