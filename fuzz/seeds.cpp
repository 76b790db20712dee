// Writes the fuzz targets' seed corpus: real encodings, made by the library's own encoders from
// values of every shape the decoders meet (actors with timers, asks and cycles; closure graphs;
// envelopes of every registered message type; records; mailbox keys; both sides of a wire
// connection).
//
//   revenant_fuzz_seeds <dir>    writes <dir>/<target>/<seed> for every target

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "actors/internal/access.hpp"
#include "fuzz/registrations.hpp"
#include "runtime/internal/message_order.hpp"
#include "storage/internal/keys.hpp"
#include "storage/migration.hpp"
#include "storage/store.hpp"
#include "storage/wire.hpp"

namespace {

using namespace revenant;
namespace fs = std::filesystem;
using detail::actor_image;

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + (dir / name).string());
}
// A snapshot (or envelope) seed, in both of fuzz::as_snapshot's forms.
void write_framed(const fs::path& dir, const std::string& name, const std::string& snapshot) {
  const auto forms = fuzz::framed_seeds(snapshot);
  write(dir, name + "-payload", forms[0]);
  write(dir, name + "-stored", forms[1]);
}

actor_ref stand_in(std::string name) { return actor_ref(std::make_shared<fuzz::stand_in_actor>(1, std::move(name))); }

std::int64_t ns_from_now(std::chrono::nanoseconds d) {
  return (std::chrono::system_clock::now() + d).time_since_epoch() / std::chrono::nanoseconds(1);
}

// The two-state machine of fuzz/registrations.hpp, in its even state; also returns the tally and
// the cell that leads back to the even state.
struct machine {
  behavior even;
  fuzz::tally_ptr tally;
  fuzz::behavior_slot to_even;
};
machine make_machine() {
  machine m;
  m.tally = std::make_shared<fuzz::tally>();
  m.tally->total = 42;
  m.tally->log = {"opened", "deposit 42"};
  m.to_even = make_cell<behavior>();
  auto to_odd = make_cell<behavior>();
  m.even = fuzz::even_fn.bind(m.tally, to_odd);
  m.to_even.set(m.even);
  to_odd.set(fuzz::odd_fn.bind(m.tally, m.to_even));
  return m;
}

// Images as a durable actor writes them: the machine alone; the machine with asks outstanding
// (continuations sharing its state and closing cycles into it), timers (one delivering a plain
// message, one a closure) and a restart snapshot; and an actor with no behavior left.
std::vector<std::pair<std::string, actor_image>> make_images() {
  std::vector<std::pair<std::string, actor_image>> images;
  {
    actor_image plain;
    plain.current = make_machine().even;
    images.emplace_back("machine", std::move(plain));
  }
  {
    const machine m = make_machine();
    actor_image busy;
    busy.current = m.even;
    busy.policy = static_cast<std::uint8_t>(restart_policy::restart);
    busy.max_restarts = 3;
    busy.window_ms = 1000;
    busy.capacity = 64;
    const machine fresh = make_machine();
    busy.initial = encode_snapshot(fresh.even);
    release(fresh.even);
    busy.last_request = 2;
    busy.pending.push_back({1, ns_from_now(std::chrono::seconds(5)),
                            fuzz::got_answer_fn.bind(m.tally, m.to_even, reply_address{stand_in("teller"), 7})});
    busy.pending.push_back({2, ns_from_now(std::chrono::hours(1)),
                            fuzz::got_answer_fn.bind(m.tally, m.to_even, reply_address{})});
    busy.last_timer = 2;
    busy.timers.push_back({1, ns_from_now(std::chrono::milliseconds(50)), 0,
                           encode_envelope(*make_message<test::add>(test::add{5}), "busy")});
    busy.timers.push_back({2, ns_from_now(std::chrono::seconds(1)), 1'000'000'000,
                           encode_envelope(*make_message<detail::timer_action>(
                                               detail::timer_action{fuzz::tick_fn.bind(m.tally)}),
                                           "busy")});
    images.emplace_back("busy", std::move(busy));
  }
  images.emplace_back("stopped", actor_image{});
  return images;
}

fuzz::graph_root make_graph() {
  fuzz::graph_root g;
  g.f3 = test::f1("hello");
  g.g2 = test::g1();
  g.parity = test::make_parity();
  g.light = test::make_traffic_light();
  g.deposit = test::deposit_fn.bind(std::make_shared<test::account>(test::account{100}));
  g.tree = std::make_shared<fuzz::family>();
  g.tree->v = 1;
  for (std::int32_t i = 2; i <= 3; ++i) {
    auto kid = std::make_shared<fuzz::family>();
    kid->v = i;
    kid->parent = g.tree;
    g.tree->kids.push_back(kid);
  }
  auto sq = std::make_shared<fuzz::square>();
  sq->side = 3;
  auto st = std::make_shared<fuzz::strip>();
  st->length = 12;
  st->label = "strip";
  g.shapes = {sq, st, sq};
  g.favourite = st;
  g.made = std::make_shared<fuzz::built>(9);
  g.table = {{"count", std::int64_t{3}}, {"name", std::string("graph")}, {"weight", std::optional<double>(2.5)}};
  return g;
}

// One envelope of every registered message type, some of them asks or replies.
std::vector<std::pair<std::string, std::string>> make_envelopes() {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](std::string name, message_ptr m, std::string_view sender, std::uint64_t request = 0,
                 std::uint64_t response = 0) {
    detail::message_fields::request_id(*m) = request;
    detail::message_fields::response_to(*m) = response;
    out.emplace_back(std::move(name), encode_envelope(*m, sender));
    fuzz::release_message(*m);
  };
  add("add", make_message<test::add>(test::add{-7}), "teller");
  add("get", make_message<test::get>(), "", 3);
  add("value_is", make_message<test::value_is>(test::value_is{99}), "account/1", 0, 3);
  add("quit", make_message<test::quit>(), "");
  {
    message_ptr numbered = make_message<test::add>(test::add{3});
    detail::message_fields::order(*numbered) = 41;  // docs/format.md 8.6: flags 1, an order field
    add("numbered", std::move(numbered), "teller");
  }
  fuzz::note n;
  n.text = "note";
  n.numbers = {1, -2, 3};
  n.weight = 0.5;
  n.counts = {{"a", 1}, {"b", 2}};
  n.flags = {true, false, true};
  add("note", make_message<fuzz::note>(std::move(n)), "teller");
  {
    // A slot holding a behavior that captures the slot: a cycle inside a message.
    fuzz::callback c;
    c.account = std::make_shared<test::account>(test::account{5});
    c.weak = c.account;
    c.deposit = test::deposit_fn.bind(c.account);
    c.slot = make_cell<behavior>();
    c.slot.set(fuzz::odd_fn.bind(std::make_shared<fuzz::tally>(), c.slot));
    add("callback", make_message<fuzz::callback>(std::move(c)), "teller", 4);
  }
  add("routed", make_message<fuzz::routed>(fuzz::routed{reply_address{stand_in("teller"), 11},
                                                         {stand_in("a"), actor_ref(), stand_in("b/c")},
                                                         std::string("tag")}),
      "router");
  add("ask_error", make_message<ask_error>(ask_error{ask_errc::timeout}), "", 0, 9);
  add("down", make_message<down>(down{"child", exit_reason::failed, "boom"}), "child");
  add("timer_action", make_message<detail::timer_action>(detail::timer_action{fuzz::tick_fn.bind(std::make_shared<fuzz::tally>())}), "self");
  return out;
}

// Both sides of a wire connection as the codec writes them (docs/wire.md): a dialer's preface,
// hello and every kind it sends, carrying real envelopes; a listener's preface, welcome and
// every kind it sends; and a listener's refusal.
std::vector<std::pair<std::string, std::string>> make_wire_streams(
    const std::vector<std::pair<std::string, std::string>>& envelopes) {
  namespace wire = revenant::wire;
  wire::node_id a{}, b{};
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<std::uint8_t>(0x10 + i);
    b[i] = static_cast<std::uint8_t>(0x20 + i);
  }
  std::string dialer;
  wire::encode_preface(dialer);
  wire::encode(dialer, wire::hello_frame{1, wire::default_max_frame_size, a, 3, "bank", "a", "b"});
  std::uint64_t seq = 41;
  for (const auto& [name, envelope] : envelopes) {
    wire::encode(dialer, wire::durable_message_frame{++seq, "account/" + name, envelope});
    wire::encode(dialer, wire::message_frame{"$" + std::to_string(seq), envelope});
  }
  wire::encode(dialer, wire::send_frame{7, "counter", envelopes.front().second});
  wire::encode(dialer, wire::watch_frame{"$17", "account/42"});
  wire::encode(dialer, wire::unwatch_frame{"$17@c", "account/42"});
  wire::encode(dialer, wire::down_frame{exit_reason::failed, "teller", "$3", "negative amount -2"});
  wire::encode(dialer, wire::ping_frame{99});
  wire::encode(dialer, wire::goodbye_frame{wire::wire_errc::shutting_down, "stopping"});

  std::string listener;
  wire::encode_preface(listener);
  wire::encode(listener, wire::welcome_frame{wire::default_max_frame_size, b, 7, 41, "b"});
  wire::encode(listener, wire::ack_frame{42});
  wire::encode(listener, wire::send_result_frame{7, wire::send_status::durable, ""});
  wire::encode(listener, wire::send_result_frame{8, wire::send_status::quarantined, "behavior threw"});
  wire::encode(listener, wire::pong_frame{99});
  wire::encode(listener, wire::goodbye_frame{wire::wire_errc::connection_replaced, ""});

  std::string refusal;
  wire::encode_preface(refusal, {1, 2});
  wire::encode(refusal, wire::refuse_frame{wire::wire_errc::wrong_cluster, "cluster \"bank\" is not \"shop\""});

  // Version 2 (docs/wire.md 6.6): both prefaces announce 1 to 2, and the migration frames.
  const wire::version_range both{1, wire::highest_specified_version};
  std::string dialer_v2;
  wire::encode_preface(dialer_v2, both);
  wire::encode(dialer_v2, wire::hello_frame{2, wire::default_max_frame_size, a, 3, "bank", "a", "b"});
  wire::encode(dialer_v2, wire::migrate_offer_frame{17, "RVMP package bytes"});
  wire::encode(dialer_v2, wire::migrate_commit_frame{17, "account/42"});
  wire::encode(dialer_v2, wire::migrate_abort_frame{18, "account/43"});
  wire::encode(dialer_v2, wire::migrate_query_frame{19, "account/44"});
  wire::encode(dialer_v2, wire::forwarded_frame{"c", "account/42", envelopes.front().second});
  wire::encode(dialer_v2, wire::migrate_request_frame{20, "account/45", "c", 3});
  std::string listener_v2;
  wire::encode_preface(listener_v2, both);
  wire::encode(listener_v2, wire::welcome_frame{wire::default_max_frame_size, b, 7, 41, "b"});
  wire::encode(listener_v2, wire::migrate_accept_frame{17, wire::migrate_status::accepted, ""});
  wire::encode(listener_v2, wire::migrate_done_frame{17});
  wire::encode(listener_v2, wire::migrate_outcome_frame{19, wire::migrate_outcome::aborted});
  wire::encode(listener_v2, wire::moved_frame{"account/42", "c"});
  wire::encode(listener_v2, wire::migrate_result_frame{20, 5, "the target refused it"});

  // Byte 0: the reader's side (bit 0) and how pieces arrive (bit 1); byte 1: the piece sizes.
  std::vector<std::pair<std::string, std::string>> out;
  for (char how : {'\0', '\2'}) {
    const std::string suffix = how == '\0' ? "-in-place" : "-fed";
    out.emplace_back("dialer" + suffix, std::string{how, '\x05'} + dialer);
    out.emplace_back("listener" + suffix, std::string{static_cast<char>(how | 1), '\x2a'} + listener);
    out.emplace_back("refusal" + suffix, std::string{static_cast<char>(how | 1), '\x07'} + refusal);
    out.emplace_back("dialer-v2" + suffix, std::string{how, '\x0b'} + dialer_v2);
    out.emplace_back("listener-v2" + suffix, std::string{static_cast<char>(how | 1), '\x13'} + listener_v2);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: revenant_fuzz_seeds <dir>\n";
    return 64;
  }
  const fs::path root = argv[1];
  try {
    std::size_t count = 0;
    for (auto& [name, image] : make_images()) {
      const std::string snapshot = encode_snapshot(image);
      write_framed(root / "image_fuzzer", name, snapshot);
      actor_record_info info;
      info.behavior = std::string(image.current.function_name());
      info.pending_asks = static_cast<std::uint32_t>(image.pending.size());
      info.timers = static_cast<std::uint32_t>(image.timers.size());
      info.steps = 17;
      const std::string record = encode_actor_record(info, snapshot);
      write(root / "actor_record_fuzzer", name + "-stored", '\0' + record);
      write(root / "actor_record_fuzzer", name + "-resealed", '\3' + record);
      {
        detail::order_image tables;  // a version-2 record (docs/format.md 8.3.1)
        tables.sent = {{"account/1", 12, 1'700'000'000'000'000'000}};
        tables.handled = {{"teller", 7, 1'700'000'000'000'000'000}, {"account/2", 1, 5}};
        tables.moved = 1'700'000'000'000'000'000;
        write(root / "actor_record_fuzzer", name + "-ordered", '\1' + encode_actor_record(info, snapshot, encode_snapshot(tables)));
        ++count;
      }
      // The same record moving, with a journal and a mailbox (the envelopes come later; these
      // are bytes to the package).
      migration_package package;
      package.actor = "moving/" + name;
      package.wake = !image.timers.empty() || !image.pending.empty();
      package.record = record;
      package.journal = {{4, "journal entry"}};
      package.mailbox = {{5, "first message"}, {9, std::string(300, 'm')}};
      write(root / "migration_package_fuzzer", name + "-stored", '\0' + encode_migration_package(package));
      write(root / "migration_package_fuzzer", name + "-resealed", '\1' + encode_migration_package(package));
      release(image);
      count += 6;
    }
    {
      const fuzz::graph_root graph = make_graph();
      write_framed(root / "closure_graph_fuzzer", "graph", encode_snapshot(graph));
      release(graph);
      write_framed(root / "closure_graph_fuzzer", "empty", encode_snapshot(fuzz::graph_root{}));
      count += 4;
    }
    const auto envelopes = make_envelopes();
    for (const auto& [name, envelope] : envelopes) {
      write_framed(root / "envelope_fuzzer", name, envelope);
      count += 2;
    }
    for (const auto& [name, stream] : make_wire_streams(envelopes)) {
      write(root / "wire_fuzzer", name, stream);
      ++count;
    }
    const std::pair<const char*, std::uint64_t> keys[] = {
        {"account/42", 1}, {"a", 256}, {"bank/teller", std::uint64_t{1} << 40}, {"x", ~std::uint64_t{0}}};
    for (const auto& [actor, seq] : keys) {
      write(root / "mailbox_key_fuzzer", "key-" + std::to_string(seq), detail::mailbox_key(actor, seq));
      ++count;
    }
    // Outbox values as the committer writes them: a recipient, then a real envelope.
    for (std::size_t i = 0; i < envelopes.size() && i < 4; ++i) {
      const char* recipients[] = {"account/42", "$17", "t", "bank/teller"};
      write(root / "outbox_value_fuzzer", "value-" + std::to_string(i),
            detail::encode_outbox_value(recipients[i], envelopes[i].second));
      ++count;
    }
    {
      // Real write-ahead logs: a store given a few batches, closed, its log copied (as stored,
      // and as well-formed batches for the writer mode of wal_fuzzer).
      const fs::path scratch = root / "wal_fuzzer.store";
      fs::remove_all(scratch);
      {
        store db(scratch.string());
        for (int i = 0; i < 40; ++i) {
          commit_batch batch(db);
          batch.put_record("actor/" + std::to_string(i), std::string(static_cast<std::size_t>(i) * 300, 'r'));
          batch.consume("actor/" + std::to_string(i), 7);
          db.commit(batch, false);
        }
      }
      for (const auto& entry : fs::directory_iterator(scratch))
        if (entry.path().extension() == ".log" && fs::file_size(entry.path()) > 0) {
          std::ifstream in(entry.path(), std::ios::binary);
          const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
          write(root / "wal_fuzzer", "log-" + entry.path().stem().string(), '\0' + bytes);
          ++count;
        }
      write(root / "wal_fuzzer", "batches", std::string("\1\x05\xff\x40\x80\x01", 6));
      ++count;
      fs::remove_all(scratch);
    }
    std::cout << "revenant_fuzz_seeds: " << count << " seeds in " << root.string() << '\n';
  } catch (const std::exception& e) {
    std::cerr << "revenant_fuzz_seeds: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
