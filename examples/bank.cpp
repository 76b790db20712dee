// A bank account as an actor: its state is what its behavior captures, `become` switches it
// between open and frozen, a teller asks it for withdrawals and continues when it answers, and
// a timer unfreezes it. Run it: it prints each step and the final balance.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <latch>
#include <memory>
#include <string>

#include "actors/actor.hpp"
#include "runtime/actor_system.hpp"

using namespace std::chrono_literals;
using revenant::context;
using revenant::message;

namespace bank {

// Messages are plain values.
struct deposit {
  std::int64_t amount;
};
struct withdraw {
  std::int64_t amount;
};
struct freeze {};
struct thaw {};
struct balance_is {
  std::int64_t balance;
};
struct refused {
  std::string why;
};

// State shared by the account's two behaviors; serializable, so the account can be snapshotted.
struct ledger {
  std::int64_t balance = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(balance);
  }
};
using ledger_ptr = std::shared_ptr<ledger>;
using behavior_slot = revenant::cell<revenant::behavior>;

// Open: deposits and withdrawals; a freeze switches to the frozen behavior for 50 ms.
void open_account(context& ctx, const message& m, const ledger_ptr& book, const behavior_slot& frozen) {
  if (const auto* d = m.get_if<deposit>()) {
    book->balance += d->amount;
    ctx.reply(balance_is{book->balance});
  } else if (const auto* w = m.get_if<withdraw>()) {
    if (w->amount > book->balance) return ctx.reply(refused{"insufficient funds"});
    book->balance -= w->amount;
    ctx.reply(balance_is{book->balance});
  } else if (m.is<freeze>()) {
    ctx.become(frozen.get());
    ctx.after(50ms, thaw{});
  }
}
inline const revenant::function<void(context&, const message&), open_account> open_fn{"bank.open"};

// Frozen: everything is refused until the timer's thaw switches back.
void frozen_account(context& ctx, const message& m, const ledger_ptr&, const behavior_slot& open) {
  if (m.is<thaw>()) return ctx.become(open.get());
  if (m.is<deposit>() || m.is<withdraw>()) ctx.reply(refused{"account frozen"});
}
inline const revenant::function<void(context&, const message&), frozen_account> frozen_fn{"bank.frozen"};

revenant::behavior make_account() {
  auto book = std::make_shared<ledger>();
  auto to_open = revenant::make_cell<revenant::behavior>();
  auto to_frozen = revenant::make_cell<revenant::behavior>();
  revenant::behavior open = open_fn.bind(book, to_frozen);
  to_open.set(open);
  to_frozen.set(frozen_fn.bind(book, to_open));
  return open;
}

// The teller asks the account and continues when it answers: the continuation is a closure,
// part of the teller's state until the reply (or a timeout) arrives.
struct done_signal {
  std::latch finished{1};
  template <class Archive>
  void serialize(Archive&) {}
};

void report(context&, const message& answer, const std::string& what, const std::shared_ptr<done_signal>& done) {
  if (const auto* b = answer.get_if<balance_is>())
    std::cout << what << ": ok, balance " << b->balance << '\n';
  else if (const auto* r = answer.get_if<refused>())
    std::cout << what << ": refused (" << r->why << ")\n";
  else if (answer.is<revenant::ask_error>())
    std::cout << what << ": no answer\n";
  if (what == "last withdrawal") done->finished.count_down();
}
inline const revenant::function<void(context&, const message&), report> report_fn{"bank.report"};

struct run_script {
  revenant::actor_ref account;
};

// Runs in the teller when its timer fires, after the account has thawed.
void last_withdrawal(context& ctx, const revenant::actor_ref& account, const std::shared_ptr<done_signal>& done) {
  ctx.ask(account, withdraw{20}, report_fn.bind("last withdrawal", done), 1s);
}
inline const revenant::function<void(context&), last_withdrawal> last_withdrawal_fn{"bank.last_withdrawal"};

void teller(context& ctx, const message& m, const std::shared_ptr<done_signal>& done) {
  const auto* script = m.get_if<run_script>();
  if (script == nullptr) return;
  const revenant::actor_ref& account = script->account;
  ctx.ask(account, deposit{100}, report_fn.bind("deposit 100", done), 1s);
  ctx.ask(account, withdraw{30}, report_fn.bind("withdraw 30", done), 1s);
  ctx.ask(account, withdraw{500}, report_fn.bind("withdraw 500", done), 1s);
  ctx.tell(account, freeze{});
  ctx.ask(account, deposit{10}, report_fn.bind("deposit 10 while frozen", done), 1s);
  ctx.run_after(100ms, last_withdrawal_fn.bind(account, done));
}
inline const revenant::function<void(context&, const message&), teller> teller_fn{"bank.teller"};

}  // namespace bank

int main() {
  revenant::actor_system system;
  auto done = std::make_shared<bank::done_signal>();
  revenant::actor_ref account = system.spawn("account/42", bank::make_account(),
                                             {revenant::restart_policy::restart, 3, 1s});
  system.spawn("teller", bank::teller_fn.bind(done)).tell(bank::run_script{account});
  done->finished.wait();
  system.shutdown(revenant::shutdown_policy::drop);  // the script is done: nothing left to drain
  std::cout << "dead letters: " << system.dead_letters() << '\n';
  return 0;
}
