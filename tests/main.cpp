// Test entry point: Catch2, or a child role when run as `--child <name> args...`.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstring>

#include "tests/support/child_process.hpp"

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "--child") == 0) return revenant::test::dispatch_child(argc, argv);
  return Catch::Session().run(argc, argv);
}
