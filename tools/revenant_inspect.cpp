// The generic inspect tool (tools/inspect.hpp). It knows no application function, so it lists
// any store but rebuilds no application's closure graph: an application links its registrations
// into its own copy of this main.
#include <iostream>

#include "tools/inspect.hpp"

int main(int argc, char** argv) { return revenant::inspect_main(argc, argv, std::cout, std::cerr); }
