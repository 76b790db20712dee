// A behavior whose captured state comes before the call arguments.
// expect: fn cannot be called with Sig's arguments followed by its captured values: put the call arguments
#include <memory>

#include "actors/actor.hpp"

struct ledger {
  int balance = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(balance);
  }
};
void account(const std::shared_ptr<ledger>&, revenant::context&, const revenant::message&) {}
inline const revenant::function<void(revenant::context&, const revenant::message&), account> account_fn{
    "compile_fail.account"};

int main() { revenant::behavior b = account_fn.bind(std::make_shared<ledger>()); }
