// An application of the installed package: a closure that survives encoding, a transient actor
// that calls it, and a durable actor whose count survives closing and reopening its store.
// Usage: consumer <store-dir>. tests/package_test.cmake checks what it prints.
#include <cstdint>
#include <iostream>
#include <latch>
#include <memory>
#include <string>

#include "actors/actor.hpp"
#include "actors/closure.hpp"
#include "actors/message_type.hpp"
#include "runtime/actor_system.hpp"
#include "storage/snapshot.hpp"

namespace consumer {

using revenant::context;
using revenant::message;
using greeting = revenant::closure<std::string(const std::string&)>;

std::string greet(const std::string& who, const std::string& salutation) { return salutation + ", " + who; }
inline const revenant::function<std::string(const std::string&), greet> greet_fn{"consumer.greet"};

struct hello {
  std::string who;
};

struct done_signal {
  std::latch finished{1};
  template <class Archive>
  void serialize(Archive&) {}
};

// A transient actor: answers hello with the closure it captured.
void greeter(context&, const message& m, const greeting& say, const std::shared_ptr<done_signal>& done) {
  if (const auto* h = m.get_if<hello>()) {
    std::cout << "transient actor: " << say(h->who) << '\n';
    done->finished.count_down();
  }
}
inline const revenant::function<void(context&, const message&), greeter> greeter_fn{"consumer.greeter"};

// A durable actor: its total is committed to the store with every message it handles.
struct add {
  std::int64_t amount = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(amount);
  }
};
const revenant::message_type<add> add_type{"consumer.add"};

struct tally {
  std::int64_t total = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(total);
  }
};

void counter(context&, const message& m, const std::shared_ptr<tally>& t) {
  if (const auto* a = m.get_if<add>()) {
    t->total += a->amount;
    std::cout << "durable actor: total " << t->total << '\n';
  }
}
inline const revenant::function<void(context&, const message&), counter> counter_fn{"consumer.counter"};

}  // namespace consumer

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer <store-dir>\n";
    return 64;
  }
  revenant::durable_config store;
  store.path = argv[1];

  const std::string bytes = revenant::encode_snapshot(consumer::greet_fn.bind("hello"));
  const auto say = revenant::decode_snapshot<consumer::greeting>(bytes, "greeting");
  std::cout << "closure: " << say("world") << '\n';

  {
    revenant::actor_system system(store);
    auto done = std::make_shared<consumer::done_signal>();
    system.spawn("greeter", consumer::greeter_fn.bind(say, done)).tell(consumer::hello{"actors"});
    done->finished.wait();
    system.spawn_durable("counter", consumer::counter_fn.bind(std::make_shared<consumer::tally>()));
    system.send("counter", consumer::add{2}).get();
    system.send("counter", consumer::add{3}).get();
    system.shutdown();  // drains: the counter handles both messages first
  }
  {
    revenant::actor_system system(store);  // the counter comes back from the store
    system.send("counter", consumer::add{4}).get();
    system.shutdown();
    std::cout << "actors recovered: " << system.recovery().actors_activated << '\n';
  }
  return 0;
}
