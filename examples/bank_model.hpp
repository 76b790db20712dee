// A durable bank: accounts and a teller whose transfers are sagas written as ask→continuation
// chains (withdraw from one account, then deposit into the other; refund if the deposit is
// refused). Every actor is durable, so a transfer in flight when the process dies carries on in
// the next one: the continuation waiting for the withdrawal's answer is part of the teller's
// state, and the answer is in its mailbox.
//
// Used by the demo (examples/durable_bank.cpp) and by the crash torture test, which checks
// after every SIGKILL that money is conserved and no transfer was applied twice or half.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actors/actor.hpp"
#include "actors/message_type.hpp"
#include "runtime/actor_system.hpp"

namespace bank {

using revenant::actor_ref;
using revenant::context;
using revenant::message;

// ---- messages (registered: they travel through durable mailboxes) ---------------------------

// From a client to the teller: move amount from account `from` to account `to` (indices).
struct transfer {
  std::uint64_t id = 0;
  std::uint32_t from = 0, to = 0;
  std::int64_t amount = 0;
  template <class A>
  void serialize(A& a) {
    a(id, from, to, amount);
  }
};
struct withdraw {
  std::uint64_t transfer = 0;
  std::int64_t amount = 0;
  template <class A>
  void serialize(A& a) {
    a(transfer, amount);
  }
};
struct deposit {
  std::uint64_t transfer = 0;
  std::int64_t amount = 0;
  bool refund = false;
  template <class A>
  void serialize(A& a) {
    a(transfer, amount, refund);
  }
};
// An account's answer to withdraw or deposit.
struct outcome {
  bool ok = false;
  template <class A>
  void serialize(A& a) {
    a(ok);
  }
};
// Ask any bank actor for its state.
struct audit {
  template <class A>
  void serialize(A&) {}
};

// ---- state -----------------------------------------------------------------------------------

// An account: its balance, the most it may hold, and every transfer it took part in (so an
// auditor can prove that none was applied twice).
struct account_state {
  std::int64_t balance = 0;
  std::int64_t cap = 0;
  std::vector<std::uint64_t> withdrawals, deposits, refunds;
  template <class A>
  void serialize(A& a) {
    a(balance, cap, withdrawals, deposits, refunds);
  }
};

enum class saga : std::uint8_t { withdrawing = 1, depositing = 2, refunding = 3, completed = 4, refused = 5, refunded = 6 };

// The teller's book: the accounts, every transfer received and where its saga stands, and the
// money withdrawn but not yet deposited or refunded.
struct ledger {
  std::vector<actor_ref> accounts;
  std::vector<saga> sagas;  // of transfer id i at i - 1: clients send ids 1, 2, 3 ... in order
  std::int64_t in_flight = 0;
  template <class A>
  void serialize(A& a) {
    a(accounts, sagas, in_flight);
  }
  std::uint64_t received() const noexcept { return sagas.size(); }
};

// ---- the actors --------------------------------------------------------------------------------

// How long a saga waits for an account. Generous: between durable actors every message arrives
// exactly once, however often the process dies, so a timeout means an account is gone.
inline constexpr std::chrono::hours step_timeout{24};

void account_behavior(context& ctx, const message& m, const std::shared_ptr<account_state>& acct);

void teller_behavior(context& ctx, const message& m, const std::shared_ptr<ledger>& book);
void after_withdraw(context& ctx, const message& answer, const std::shared_ptr<ledger>& book, const transfer& t);
void after_deposit(context& ctx, const message& answer, const std::shared_ptr<ledger>& book, const transfer& t);
void after_refund(context& ctx, const message& answer, const std::shared_ptr<ledger>& book, const transfer& t);

// A new account holding `balance`, refusing deposits that would take it past `cap`.
revenant::behavior make_account(std::int64_t balance, std::int64_t cap);
// A new teller over these accounts.
revenant::behavior make_teller(std::vector<actor_ref> accounts);

// The name of account i.
inline std::string account_name(std::uint32_t i) { return "account/" + std::to_string(i); }
inline const std::string teller_name = "teller";

// Creates the bank in a fresh store, or does nothing if it is there already. Returns true if
// it created it.
bool open_bank(revenant::actor_system& system, std::uint32_t accounts, std::int64_t balance, std::int64_t cap);

// The deterministic transfer number id (the same in every process, so a restarted client can
// carry on where the teller's book says it stopped).
transfer make_transfer(std::uint64_t id, std::uint32_t accounts);

// What an audit found: every account's state and the teller's book, as of their answers.
struct audit_result {
  std::vector<account_state> accounts;
  ledger book;
};
// Asks the teller and every account for their state (from a transient auditor actor) and
// waits for all answers. Throws std::runtime_error if they do not come within timeout.
audit_result run_audit(revenant::actor_system& system, std::uint32_t accounts,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Sagas not yet finished (withdrawing, depositing or refunding).
std::size_t open_sagas(const ledger& book);

// Checks the bank's invariants on a quiescent audit (no saga open): money is conserved, every
// finished transfer was applied exactly as its outcome says, and none twice. Returns what is
// wrong, one line each; empty if all hold.
std::vector<std::string> check_invariants(const audit_result& audit, std::int64_t total_money);

}  // namespace bank
