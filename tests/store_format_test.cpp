// Store and record formats checked against docs/format.md ("Store layout").
#include <catch2/catch.hpp>
