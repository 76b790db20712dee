// A registered function that captures a type Cereal cannot save.
// expect: captured type T (or what it holds: a shared_ptr's object, a container's elements) has no Cereal serialization
#include "actors/closure.hpp"

struct no_serialize {
  int x = 0;
};
void greet(const no_serialize&) {}
inline const revenant::function<void(), greet> greet_fn{"compile_fail.greet"};

int main() { greet_fn.bind(no_serialize{})(); }
