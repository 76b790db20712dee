// The inspect tool over a store: listing, JSON dump, Graphviz export.
#include <catch2/catch.hpp>
