// A durable counter with a bug: its behavior throws on a negative amount. The message that made
// it fail stays in the store with the quarantined actor; once the fix is in, lifting the
// quarantine hands the actor that message again. The program asks the counter for its total
// from outside the system, with a future.
//
//   durable_counter [store-dir]    (default: durable_counter.db, created afresh)
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "actors/actor.hpp"
#include "actors/message_type.hpp"
#include "runtime/actor_system.hpp"

namespace counter {

using revenant::context;
using revenant::message;

struct add {
  std::int64_t n = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(n);
  }
};
struct get_total {
  template <class Archive>
  void serialize(Archive&) {}
};
struct total {
  std::int64_t value = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(value);
  }
};
inline const revenant::message_type<add> add_type{"counter.add"};
inline const revenant::message_type<get_total> get_total_type{"counter.get_total"};
inline const revenant::message_type<total> total_type{"counter.total"};

// Set once the fix for negative amounts is deployed.
inline std::atomic<bool> negative_amounts_fixed{false};

struct state {
  std::int64_t total = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(total);
  }
};
void count(context& ctx, const message& m, const std::shared_ptr<state>& s) {
  if (const auto* a = m.get_if<add>()) {
    if (a->n < 0 && !negative_amounts_fixed) throw std::domain_error("negative amount " + std::to_string(a->n));
    s->total += a->n;
  } else if (m.is<get_total>()) {
    ctx.reply(total{s->total});
  }
}
inline const revenant::function<void(context&, const message&), count> count_fn{"counter.count"};

}  // namespace counter

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  const std::string path = argc > 1 ? argv[1] : "durable_counter.db";
  std::filesystem::remove_all(path);
  revenant::durable_config store;
  store.path = path;
  revenant::actor_system_config config;
  config.workers = 2;
  revenant::actor_system system(store, config);
  system.spawn_durable("counter", counter::count_fn.bind(std::make_shared<counter::state>()));
  system.send("counter", counter::add{5}).get();
  std::future<counter::total> answer = system.ask<counter::total>("counter", counter::get_total{}, 1s);
  std::cout << "total: " << answer.get().value << '\n';  // or ask_failed, if no reply within 1 s

  system.send("counter", counter::add{-2}).get();  // committed; handling it throws: quarantined
  while (!system.quarantine_of("counter")) std::this_thread::sleep_for(1ms);
  if (auto q = system.quarantine_of("counter")) {
    std::cout << "quarantined: " << q->reason << '\n'
              << "kept: record " << (q->record_stored ? "yes" : "no") << ", " << q->mailbox_entries
              << " message(s) in its mailbox\n";
  }
  try {
    system.send("counter", counter::add{1}).get();
  } catch (const revenant::actor_quarantined& e) {
    std::cout << "send refused: " << e.what() << '\n';
  }

  counter::negative_amounts_fixed = true;  // the fix is deployed
  system.lift_quarantine("counter");       // it handles the kept add{-2} before returning
  std::cout << "lifted: " << (system.quarantine_of("counter") ? "still quarantined" : "in service") << ", total "
            << system.ask<counter::total>("counter", counter::get_total{}, 1s).get().value << '\n';
  return 0;
}
