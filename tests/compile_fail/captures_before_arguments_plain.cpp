// A plain closure whose captured value comes before its call argument.
// expect: fn cannot be called with Sig's arguments followed by its captured values: put the call arguments
#include <string>

#include "actors/closure.hpp"

void greet(const std::string& greeting, int times) { (void)greeting, (void)times; }
inline const revenant::function<void(int), greet> greet_fn{"compile_fail.greet"};

int main() { greet_fn.bind(3)(1); }
