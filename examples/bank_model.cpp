#include "examples/bank_model.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace bank {

const revenant::message_type<transfer> transfer_type{"bank.transfer"};
const revenant::message_type<withdraw> withdraw_type{"bank.withdraw"};
const revenant::message_type<deposit> deposit_type{"bank.deposit"};
const revenant::message_type<outcome> outcome_type{"bank.outcome"};
const revenant::message_type<audit> audit_type{"bank.audit"};
const revenant::message_type<account_state> account_state_type{"bank.account_state"};
const revenant::message_type<ledger> ledger_type{"bank.ledger"};

const revenant::function<void(context&, const message&), account_behavior> account_fn{"bank.account"};
const revenant::function<void(context&, const message&), teller_behavior> teller_fn{"bank.teller"};
const revenant::function<void(context&, const message&), after_withdraw> after_withdraw_fn{"bank.after_withdraw"};
const revenant::function<void(context&, const message&), after_deposit> after_deposit_fn{"bank.after_deposit"};
const revenant::function<void(context&, const message&), after_refund> after_refund_fn{"bank.after_refund"};

void account_behavior(context& ctx, const message& m, const std::shared_ptr<account_state>& acct) {
  if (const auto* w = m.get_if<withdraw>()) {
    const bool ok = w->amount <= acct->balance;
    if (ok) {
      acct->balance -= w->amount;
      acct->withdrawals.push_back(w->transfer);
    }
    ctx.reply(outcome{ok});
  } else if (const auto* d = m.get_if<deposit>()) {
    // A refund always goes through: the money was this account's a moment ago.
    const bool ok = d->refund || acct->balance + d->amount <= acct->cap;
    if (ok) {
      acct->balance += d->amount;
      (d->refund ? acct->refunds : acct->deposits).push_back(d->transfer);
    }
    ctx.reply(outcome{ok});
  } else if (m.is<audit>()) {
    ctx.reply(*acct);
  }
}

namespace {

// An answer that is not an outcome (an ask_error: the account is gone or too slow) leaves the
// saga where it is and asks again; between durable actors that only happens if an account
// stopped, so it is reported rather than guessed at.
const outcome* outcome_of(const message& answer) { return answer.get_if<outcome>(); }

void ask_withdraw(context& ctx, const std::shared_ptr<ledger>& book, const transfer& t) {
  ctx.ask(book->accounts.at(t.from), withdraw{t.id, t.amount}, after_withdraw_fn.bind(book, t), step_timeout);
}
void ask_deposit(context& ctx, const std::shared_ptr<ledger>& book, const transfer& t) {
  ctx.ask(book->accounts.at(t.to), deposit{t.id, t.amount, false}, after_deposit_fn.bind(book, t), step_timeout);
}
void ask_refund(context& ctx, const std::shared_ptr<ledger>& book, const transfer& t) {
  ctx.ask(book->accounts.at(t.from), deposit{t.id, t.amount, true}, after_refund_fn.bind(book, t), step_timeout);
}

}  // namespace

void teller_behavior(context& ctx, const message& m, const std::shared_ptr<ledger>& book) {
  if (const auto* t = m.get_if<transfer>()) {
    // A retried transfer (id already known) or a gap (ids must come in order) is ignored.
    if (t->id != book->sagas.size() + 1 || t->from >= book->accounts.size() || t->to >= book->accounts.size()) return;
    book->sagas.push_back(saga::withdrawing);
    ask_withdraw(ctx, book, *t);
  } else if (m.is<audit>()) {
    ctx.reply(*book);
  }
}

void after_withdraw(context& ctx, const message& answer, const std::shared_ptr<ledger>& book, const transfer& t) {
  const outcome* o = outcome_of(answer);
  if (o == nullptr) return ask_withdraw(ctx, book, t);
  if (!o->ok) {
    book->sagas.at(t.id - 1) = saga::refused;
    return;
  }
  book->sagas.at(t.id - 1) = saga::depositing;
  book->in_flight += t.amount;
  ask_deposit(ctx, book, t);
}

void after_deposit(context& ctx, const message& answer, const std::shared_ptr<ledger>& book, const transfer& t) {
  const outcome* o = outcome_of(answer);
  if (o == nullptr) return ask_deposit(ctx, book, t);
  if (o->ok) {
    book->sagas.at(t.id - 1) = saga::completed;
    book->in_flight -= t.amount;
    return;
  }
  book->sagas.at(t.id - 1) = saga::refunding;
  ask_refund(ctx, book, t);
}

void after_refund(context& ctx, const message& answer, const std::shared_ptr<ledger>& book, const transfer& t) {
  if (outcome_of(answer) == nullptr) return ask_refund(ctx, book, t);
  book->sagas.at(t.id - 1) = saga::refunded;
  book->in_flight -= t.amount;
}

revenant::behavior make_account(std::int64_t balance, std::int64_t cap) {
  auto acct = std::make_shared<account_state>();
  acct->balance = balance;
  acct->cap = cap;
  return account_fn.bind(acct);
}

revenant::behavior make_teller(std::vector<actor_ref> accounts) {
  auto book = std::make_shared<ledger>();
  book->accounts = std::move(accounts);
  return teller_fn.bind(book);
}

bool open_bank(revenant::actor_system& system, std::uint32_t accounts, std::int64_t balance, std::int64_t cap) {
  if (system.find(teller_name)) return false;
  std::vector<actor_ref> refs;
  for (std::uint32_t i = 0; i < accounts; ++i) {
    actor_ref existing = system.find(account_name(i));
    refs.push_back(existing ? existing : system.spawn_durable(account_name(i), make_account(balance, cap)));
  }
  system.spawn_durable(teller_name, make_teller(std::move(refs)));
  return true;
}

transfer make_transfer(std::uint64_t id, std::uint32_t accounts) {
  // A fixed mixing of the id: the same transfers in every run, touching every pair of accounts.
  std::uint64_t x = id * 0x9e3779b97f4a7c15ULL;
  x ^= x >> 29;
  const auto from = static_cast<std::uint32_t>(x % accounts);
  const auto to = static_cast<std::uint32_t>((from + 1 + (x >> 20) % (accounts - 1)) % accounts);
  return transfer{id, from, to, static_cast<std::int64_t>(1 + (x >> 40) % 90)};
}

namespace {

// Where the auditor's answers land; test plumbing, so nothing of it is saved.
struct audit_sink {
  std::mutex mutex;
  std::condition_variable done;
  std::vector<std::unique_ptr<account_state>> accounts;
  std::unique_ptr<ledger> book;
  std::size_t missing = 0;
  template <class A>
  void serialize(A&) {}
};

struct audit_targets {
  std::vector<actor_ref> targets;  // the teller first, then the accounts in order
};

void collect(context&, const message& answer, const std::shared_ptr<audit_sink>& sink, const std::uint32_t& index) {
  std::lock_guard lock(sink->mutex);
  if (index == 0) {
    if (const auto* b = answer.get_if<ledger>()) sink->book = std::make_unique<ledger>(*b);
  } else if (const auto* a = answer.get_if<account_state>()) {
    sink->accounts[index - 1] = std::make_unique<account_state>(*a);
  }
  if (--sink->missing == 0) sink->done.notify_all();
}
const revenant::function<void(context&, const message&), collect> collect_fn{"bank.audit.collect"};

void auditor(context& ctx, const message& m, const std::shared_ptr<audit_sink>& sink) {
  const auto* t = m.get_if<audit_targets>();
  if (t == nullptr) return;
  for (std::uint32_t i = 0; i < t->targets.size(); ++i)
    ctx.ask(t->targets[i], audit{}, collect_fn.bind(sink, i), std::chrono::seconds(30));
}
const revenant::function<void(context&, const message&), auditor> auditor_fn{"bank.audit.auditor"};

}  // namespace

audit_result run_audit(revenant::actor_system& system, std::uint32_t accounts, std::chrono::milliseconds timeout) {
  auto sink = std::make_shared<audit_sink>();
  audit_targets targets;
  targets.targets.push_back(system.find(teller_name));
  for (std::uint32_t i = 0; i < accounts; ++i) targets.targets.push_back(system.find(account_name(i)));
  for (std::size_t i = 0; i < targets.targets.size(); ++i)
    if (!targets.targets[i])
      throw std::runtime_error("audit: no actor named " + (i == 0 ? teller_name : account_name(static_cast<std::uint32_t>(i - 1))));
  sink->accounts.resize(accounts);
  sink->missing = targets.targets.size();
  actor_ref who = system.spawn(auditor_fn.bind(sink));
  who.tell(std::move(targets));
  std::unique_lock lock(sink->mutex);
  const bool answered = sink->done.wait_for(lock, timeout, [&] { return sink->missing == 0; });
  lock.unlock();
  if (!answered) throw std::runtime_error("audit: not every bank actor answered within the timeout");
  audit_result result;
  if (!sink->book) throw std::runtime_error("audit: the teller did not answer with its ledger");
  result.book = *sink->book;
  for (std::uint32_t i = 0; i < accounts; ++i) {
    if (!sink->accounts[i]) throw std::runtime_error("audit: " + account_name(i) + " did not answer with its state");
    result.accounts.push_back(*sink->accounts[i]);
  }
  return result;
}

std::size_t open_sagas(const ledger& book) {
  return static_cast<std::size_t>(std::count_if(book.sagas.begin(), book.sagas.end(), [](saga s) {
    return s == saga::withdrawing || s == saga::depositing || s == saga::refunding;
  }));
}

std::vector<std::string> check_invariants(const audit_result& audit, std::int64_t total_money) {
  std::vector<std::string> problems;
  const auto n = static_cast<std::uint32_t>(audit.accounts.size());
  std::int64_t sum = audit.book.in_flight;
  for (const auto& a : audit.accounts) sum += a.balance;
  if (sum != total_money)
    problems.push_back("money not conserved: accounts + in flight = " + std::to_string(sum) + ", expected " +
                       std::to_string(total_money));
  // Where each transfer was applied, per account and kind.
  std::vector<std::multiset<std::uint64_t>> withdrawn(n), deposited(n), refunded(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    withdrawn[i].insert(audit.accounts[i].withdrawals.begin(), audit.accounts[i].withdrawals.end());
    deposited[i].insert(audit.accounts[i].deposits.begin(), audit.accounts[i].deposits.end());
    refunded[i].insert(audit.accounts[i].refunds.begin(), audit.accounts[i].refunds.end());
  }
  for (std::uint64_t id = 1; id <= audit.book.received(); ++id) {
    const saga state = audit.book.sagas[id - 1];
    const transfer t = make_transfer(id, n);
    const auto w = withdrawn[t.from].count(id), d = deposited[t.to].count(id), r = refunded[t.from].count(id);
    std::size_t want_w = 0, want_d = 0, want_r = 0;
    switch (state) {
      case saga::completed: want_w = 1, want_d = 1; break;
      case saga::refunded: want_w = 1, want_r = 1; break;
      case saga::refused: break;
      default:
        problems.push_back("transfer " + std::to_string(id) + " is still open");
        continue;
    }
    if (w != want_w || d != want_d || r != want_r)
      problems.push_back("transfer " + std::to_string(id) + " (" + std::to_string(static_cast<int>(state)) +
                         ") applied as withdrawn " + std::to_string(w) + "x, deposited " + std::to_string(d) +
                         "x, refunded " + std::to_string(r) + "x");
  }
  // Nothing applied that the teller does not know of, and nothing twice anywhere.
  for (std::uint32_t i = 0; i < n; ++i)
    for (const auto* kind : {&withdrawn[i], &deposited[i], &refunded[i]})
      for (auto id : *kind)
        if (id == 0 || id > audit.book.received() || kind->count(id) > 1)
          problems.push_back(account_name(i) + " applied transfer " + std::to_string(id) + " " +
                             std::to_string(kind->count(id)) + "x" +
                             (id == 0 || id > audit.book.received() ? " (unknown to the teller)" : ""));
  return problems;
}

}  // namespace bank
