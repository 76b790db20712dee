// A behavior whose shared state (through a shared_ptr) has no serialize.
// expect: captured type T (or what it holds: a shared_ptr's object, a container's elements) has no Cereal serialization
#include <memory>

#include "actors/actor.hpp"

struct ledger {
  int balance = 0;
};
void account(revenant::context&, const revenant::message&, const std::shared_ptr<ledger>&) {}
inline const revenant::function<void(revenant::context&, const revenant::message&), account> account_fn{
    "compile_fail.account"};

int main() { revenant::behavior b = account_fn.bind(std::make_shared<ledger>()); }
