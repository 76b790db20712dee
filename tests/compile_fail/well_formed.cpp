// The control: the same shapes written right compile (so a failure above is the mistake's).
// expect: compiles
#include <memory>
#include <string>

#include "actors/actor.hpp"

struct ledger {
  int balance = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(balance);
  }
};
void account(revenant::context&, const revenant::message&, const std::shared_ptr<ledger>&) {}
inline const revenant::function<void(revenant::context&, const revenant::message&), account> account_fn{
    "compile_fail.account"};
void greet(const std::string& greeting, const std::string& who) { (void)greeting, (void)who; }
inline const revenant::function<void(const std::string&), greet> greet_fn{"compile_fail.greet"};

int main() {
  revenant::behavior b = account_fn.bind(std::make_shared<ledger>());
  greet_fn.bind("world")("hello");
}
