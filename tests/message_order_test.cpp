// The ordering rules of docs/migration.md 9, on message_order alone: what is handled at once,
// what is held, what a handled message lets through, and what the record keeps.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "actors/internal/access.hpp"
#include "actors/message.hpp"
#include "runtime/internal/message_order.hpp"

using namespace revenant;
using namespace revenant::detail;
using namespace std::chrono_literals;

namespace {

constexpr std::chrono::nanoseconds timeout = 30s;
constexpr std::int64_t second = 1'000'000'000;

struct probe {
  std::uint64_t n = 0;
};

message_ptr numbered(std::uint64_t n) {
  message_ptr m = make_message<probe>(probe{n});
  message_fields::order(*m) = n;
  return m;
}

// Offers the message numbered n of sender; returns whether it is handled now (and so counted).
bool offer(message_order& order, const std::string& sender, std::uint64_t n, std::int64_t now = 100 * second) {
  message_ptr m = numbered(n);
  return !order.hold(m, sender, n, now, timeout);
}

std::uint64_t number_of(const message_ptr& m) { return m ? m->get_if<probe>()->n : 0; }

}  // namespace

TEST_CASE("a sender's numbers are handled in order: early ones wait, and each handled one lets the next through",
          "[order]") {
  message_order order;
  CHECK(offer(order, "p", 1));
  CHECK_FALSE(offer(order, "p", 3));  // 2 is missing
  CHECK_FALSE(offer(order, "p", 4));
  CHECK(order.next_in_line("p") == nullptr);  // still waiting for 2
  CHECK(offer(order, "q", 1));                // another sender is not held up
  CHECK(offer(order, "p", 2));
  message_ptr next = order.next_in_line("p");
  CHECK(number_of(next) == 3);
  CHECK(order.next_in_line("p") == nullptr);  // 3 is not handled yet
  CHECK(offer(order, "p", 3));                // as the run takes it again
  CHECK(number_of(order.next_in_line("p")) == 4);
  CHECK(offer(order, "p", 4));
  CHECK(order.next_in_line("p") == nullptr);
}

TEST_CASE("late and restarted numbers are handled, never dropped", "[order]") {
  message_order order;
  for (std::uint64_t n = 1; n <= 5; ++n) REQUIRE(offer(order, "p", n));
  CHECK(offer(order, "p", 3));  // late: handled, the count stays at 5
  CHECK_FALSE(offer(order, "p", 7));
  CHECK(offer(order, "p", 6));
  CHECK(number_of(order.next_in_line("p")) == 7);
  CHECK(offer(order, "p", 1));  // the sender forgot this actor and starts again
  CHECK(offer(order, "p", 2));
}

TEST_CASE("a sender with no count starts one at its first number, unless the actor moved lately", "[order]") {
  message_order order;
  CHECK(offer(order, "stranger", 17, 100 * second));  // stopped and spawned again, or dead letters before
  CHECK(offer(order, "stranger", 18, 100 * second));

  message_order moved;
  moved.set_moved(90 * second);
  CHECK_FALSE(offer(moved, "new", 2, 100 * second));  // 1 may be on the longer path
  CHECK(offer(moved, "new", 1, 100 * second));
  CHECK(number_of(moved.next_in_line("new")) == 2);
  // Long after the move, a stranger's first number starts its count again.
  CHECK(offer(moved, "later", 9, 90 * second + timeout.count()));
}

TEST_CASE("a held message that waited past the timeout is handed back, the gap given up", "[order]") {
  message_order order;
  REQUIRE(offer(order, "p", 1));
  REQUIRE_FALSE(offer(order, "p", 4));
  REQUIRE_FALSE(offer(order, "p", 6));
  CHECK(order.take_overdue(1h).empty());
  auto overdue = order.take_overdue(0ns);
  REQUIRE(overdue.size() == 1);
  CHECK(overdue[0].sender == "p");
  CHECK(overdue[0].missing_from == 2);
  CHECK(overdue[0].missing_to == 3);
  CHECK(number_of(overdue[0].m) == 4);
  CHECK(offer(order, "p", 4));  // next in line now
  CHECK(order.next_in_line("p") == nullptr);
  // What is still held goes back whole when the actor finishes or moves.
  const auto held = order.take_held();
  REQUIRE(held.size() == 1);
  CHECK(number_of(held[0]) == 6);
}

TEST_CASE("numbers per recipient: a withdrawn send gives its number back", "[order]") {
  message_order order;
  CHECK(order.number("x", 0) == 1);
  CHECK(order.number("x", 0) == 2);
  CHECK(order.number("y", 0) == 1);
  order.withdraw("x", 2);
  CHECK(order.number("x", 0) == 2);
  order.withdraw("x", 1);  // not the last number given: kept
  CHECK(order.number("x", 0) == 3);
}

TEST_CASE("the record keeps recent correspondents and those with held messages, and restores them", "[order]") {
  message_order order;
  (void)order.number("old-recipient", 1 * second);
  (void)order.number("recipient", 5000 * second);
  REQUIRE(offer(order, "old-sender", 1, 1 * second));
  order.set_moved(1 * second);
  REQUIRE_FALSE(offer(order, "waiting", 5, 1 * second));  // nothing handled, but a message held
  REQUIRE(offer(order, "sender", 1, 5000 * second));
  REQUIRE(offer(order, "sender", 2, 5000 * second));
  order.set_moved(4000 * second);
  const order_image image = order.image(5000 * second, 3600s);
  CHECK(image.moved == 4000 * second);
  REQUIRE(image.sent.size() == 1);
  CHECK(image.sent[0].name == "recipient");
  CHECK(image.sent[0].last == 1);
  std::vector<std::string> handled;
  for (const auto& e : image.handled) handled.push_back(e.name);
  CHECK(handled.size() == 1);
  CHECK(handled[0] == "sender");

  message_order restored;
  restored.restore(order_image{image});
  CHECK(restored.number("recipient", 0) == 2);
  CHECK(restored.number("old-recipient", 0) == 1);  // forgotten: starts again
  CHECK(offer(restored, "sender", 3, 5000 * second));
  CHECK_FALSE(offer(restored, "sender", 5, 5000 * second));
}
