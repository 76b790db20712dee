// bind() with more values than the function captures.
// expect: bind() takes exactly one value per captured parameter of fn
#include <string>

#include "actors/closure.hpp"

void greet(const std::string& greeting, const std::string& who) { (void)greeting, (void)who; }
inline const revenant::function<void(const std::string&), greet> greet_fn{"compile_fail.greet"};

int main() { greet_fn.bind("world", "again")("hello"); }
