// The inspect tool over a store: listing, JSON dump, Graphviz export.
#include <catch2/catch.hpp>


#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/internal/access.hpp"
#include "actors/actor.hpp"
#include "actors/detail/archive_input.hpp"
#include "actors/message_type.hpp"
#include "runtime/actor_system.hpp"
#include "storage/commit_batch.hpp"
#include "storage/envelope.hpp"
#include "storage/migration.hpp"
#include "storage/store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/durable_actors.hpp"
#include "tests/support/messages.hpp"
#include "tests/support/raw_store.hpp"
#include "tools/inspect.hpp"
#include "tools/internal/outline.hpp"

using namespace revenant;
using namespace revenant::test;
using namespace std::chrono_literals;

namespace {

// ---- the actors of the sample store ----------------------------------------------------------

struct ring {
  template <class A>
  void serialize(A&) {}
};
const message_type<ring> ring_type{"test.inspect.ring"};

// Keeps every get unanswered (whoever asked keeps its continuation pending); answers add.
struct held {
  std::vector<reply_address> askers;
  template <class A>
  void serialize(A& a) {
    a(askers);
  }
};
void holder_body(context& ctx, const message& m, const std::shared_ptr<held>& h) {
  if (m.is<get>())
    h->askers.push_back(ctx.reply_later());
  else if (m.is<add>())
    ctx.reply(value_is{});
}
const revenant::function<void(context&, const message&), holder_body> holder_fn{"test.inspect.holder"};

// On add, arms an hourly timer.
void sleeper_body(context& ctx, const message& m, const tally_ptr& t) {
  if (m.is<add>())
    ctx.every(1h, ring{});
  else if (m.is<ring>())
    ++t->total;
  else if (m.is<get>())
    ctx.reply(value_is{t->total});
}
const revenant::function<void(context&, const message&), sleeper_body> sleeper_fn{"test.inspect.sleeper"};

// ---- asking from outside (to know a message was handled) -------------------------------------

// Returns once the actor has handled everything sent to it before: it answered a get (or an add)
// sent after.
void await_handled(actor_system& system, const std::string& name, bool with_add = false) {
  REQUIRE(query(system, name, with_add));
}

// A behavior whose function only the child registers: the test process cannot rebuild it.
void child_only_body(context&, const message&, const tally_ptr&) {}
int spawn_stranger(const std::vector<std::string>& args) {
  static const revenant::function<void(context&, const message&), child_only_body> child_only{
      "test.inspect.child_only"};
  // Eager: every stored actor is rebuilt before the constructor returns. (Lazily, the asker would
  // be rebuilt by its wake-up on a worker, possibly after shutdown began, when references to
  // actors not yet loaded resolve as empty.)
  actor_system system(store_at(args.at(0), recovery_mode::eager), actor_system_config{1});
  system.spawn_durable("stranger", child_only.bind(std::make_shared<tally>()));
  return 0;
}
const bool spawn_stranger_registered = register_child("inspect.spawn_stranger", spawn_stranger);

// The store the tests inspect (built once per process, never changed afterwards):
//   flipper   the state machine, plus two messages in its mailbox (one an ask from "asker")
//   holder    holds the asker's request unanswered
//   asker     one ask pending, its continuation sharing the asker's tally
//   sleeper   one hourly timer
//   broken    a flipped snapshot byte: quarantined at the last open; two mailbox entries, one of
//             them not an envelope
//   stranger  a behavior registered only in a child process
const std::string& sample_store() {
  static temp_dir dir;
  static const std::string path = [] {
    const std::string p = dir.path("db");
    {
      actor_system system(store_at(p), actor_system_config{2});
      system.spawn_durable("flipper", make_flipper());
      actor_ref holder = system.spawn_durable("holder", holder_fn.bind(std::make_shared<held>()));
      system.spawn_durable("asker", asker_fn.bind(std::make_shared<tally>(), holder));
      system.spawn_durable("sleeper", sleeper_fn.bind(std::make_shared<tally>()));
      system.spawn_durable("broken", counter_fn.bind(std::make_shared<tally>()));
      system.send("asker", add{}).get();
      system.send("sleeper", add{}).get();
      system.send("broken", add{7}).get();
      for (const char* name : {"asker", "sleeper", "broken"}) await_handled(system, name);
      await_handled(system, "holder", true);  // it has the asker's request too
      system.sync();
      system.shutdown(shutdown_policy::drop);
    }
    {
      store db(p);
      std::string record = *db.record("broken");
      record[record.size() - 5] ^= 0x10;
      commit_batch batch(db);
      batch.put_record("broken", record);
      db.commit(batch, true);
    }
    {
      actor_system system(store_at(p, recovery_mode::eager), actor_system_config{2});
      REQUIRE(system.quarantined().size() == 1);
      system.shutdown(shutdown_policy::drop);
    }
    const auto child = run_child({"inspect.spawn_stranger", p});
    INFO(child.output);
    REQUIRE(child.exit_code == 0);
    {
      store db(p);
      const std::uint64_t seq = db.next_seq();
      message_ptr asked = make_message<add>(add{5});
      detail::message_fields::request_id(*asked) = 9;
      commit_batch batch(db);
      batch.enqueue("flipper", seq, encode_envelope(*asked, "asker"));
      batch.enqueue("flipper", seq + 1, encode_envelope(*make_message<add>(add{1}), ""));
      batch.enqueue("broken", seq + 2, encode_envelope(*make_message<add>(add{2}), ""));
      batch.enqueue("broken", seq + 3, "not an envelope");
      db.commit(batch, true);
    }
    return p;
  }();
  return path;
}

// ---- running the tool --------------------------------------------------------------------------

struct tool_result {
  int code = -1;
  std::string out;
  std::string err;
};

tool_result inspect(std::vector<std::string> args) {
  args.insert(args.begin(), "revenant-inspect");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream out, err;
  tool_result r;
  r.code = inspect_main(static_cast<int>(args.size()), argv.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// ---- a strict JSON reader (RFC 8259), to check the dump is valid and read its fields -----------

struct json {
  enum class kind { null, boolean, number, string, array, object };
  kind type = kind::null;
  bool boolean = false;
  std::string text;  // a string's value, or a number's digits
  std::vector<json> items;
  std::vector<std::pair<std::string, json>> members;

  bool has(std::string_view key) const {
    for (const auto& [k, v] : members)
      if (k == key) return true;
    return false;
  }
  const json& operator[](std::string_view key) const {
    for (const auto& [k, v] : members)
      if (k == key) return v;
    throw std::out_of_range("no member \"" + std::string(key) + "\"");
  }
  const json& operator[](std::size_t i) const { return items.at(i); }
  bool is_null() const { return type == kind::null; }
  const std::string& str() const {
    if (type != kind::string) throw std::logic_error("not a string");
    return text;
  }
  std::int64_t num() const {
    if (type != kind::number) throw std::logic_error("not a number");
    return std::stoll(text);
  }
};

class json_reader {
 public:
  explicit json_reader(std::string_view text) : s_(text) {}
  json document() {
    json v = value();
    skip_space();
    if (at_ != s_.size()) fail("text after the document");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("invalid JSON at byte " + std::to_string(at_) + ": " + what);
  }
  void skip_space() {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\n' || s_[at_] == '\t' || s_[at_] == '\r')) ++at_;
  }
  char peek() {
    skip_space();
    if (at_ == s_.size()) fail("unexpected end");
    return s_[at_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++at_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(at_, word.size()) != word) return false;
    at_ += word.size();
    return true;
  }
  json value() {
    json v;
    const char c = peek();
    if (c == '{') {
      v.type = json::kind::object;
      ++at_;
      if (peek() == '}') {
        ++at_;
        return v;
      }
      for (;;) {
        if (peek() != '"') fail("expected a key");
        std::string key = string();
        expect(':');
        v.members.emplace_back(std::move(key), value());
        if (peek() == ',') {
          ++at_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.type = json::kind::array;
      ++at_;
      if (peek() == ']') {
        ++at_;
        return v;
      }
      for (;;) {
        v.items.push_back(value());
        if (peek() == ',') {
          ++at_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.type = json::kind::string;
      v.text = string();
      return v;
    }
    if (literal("true")) {
      v.type = json::kind::boolean;
      v.boolean = true;
      return v;
    }
    if (literal("false")) {
      v.type = json::kind::boolean;
      return v;
    }
    if (literal("null")) return v;
    static const std::regex number(R"(^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
    std::cmatch m;
    if (!std::regex_search(s_.data() + at_, s_.data() + s_.size(), m, number)) fail("expected a value");
    v.type = json::kind::number;
    v.text = m.str();
    at_ += v.text.size();
    return v;
  }
  std::string string() {
    ++at_;  // the opening quote
    std::string out;
    for (;;) {
      if (at_ >= s_.size()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[at_++]);
      if (c == '"') return out;
      if (c < 0x20) fail("raw control character in a string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (at_ >= s_.size()) fail("unterminated escape");
      const char e = s_[at_++];
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const std::string hex(s_.substr(at_, 4));
          if (hex.size() != 4 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
            fail("bad \\u escape");
          at_ += 4;
          out += "\\u" + hex;  // kept escaped: the tests only compare ASCII
          break;
        }
        default: fail("bad escape");
      }
    }
  }

  std::string_view s_;
  std::size_t at_ = 0;
};

json parse_json(const std::string& text) { return json_reader(text).document(); }

// ---- a DOT reader for the subset the tool writes -----------------------------------------------

struct dot_document {
  std::map<std::string, std::string> label;      // vertex -> label
  std::map<std::string, std::string> statement;  // vertex -> its whole statement
  std::vector<std::pair<std::string, std::string>> edges;
  std::vector<std::string> edge_statements;

  std::vector<std::string> with_label(std::string_view text) const {
    std::vector<std::string> out;
    for (const auto& [v, l] : label)
      if (l == text) out.push_back(v);
    return out;
  }
  bool has_edge(const std::string& from, const std::string& to) const {
    return std::find(edges.begin(), edges.end(), std::pair(from, to)) != edges.end();
  }
  std::size_t incoming(const std::string& to) const {
    return static_cast<std::size_t>(std::count_if(edges.begin(), edges.end(), [&](const auto& e) { return e.second == to; }));
  }
};

dot_document parse_dot(const std::string& text) {
  dot_document d;
  static const std::regex edge(R"(^\s*(\w+) -> (\w+)( \[.*\])?;$)");
  static const std::regex vertex(R"re(^\s*(\w+) \[.*label="((?:[^"\\]|\\.)*)"\];$)re");
  std::istringstream lines(text);
  std::string line;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, m, edge)) {
      d.edges.emplace_back(m[1], m[2]);
      d.edge_statements.push_back(line);
    } else if (std::regex_match(line, m, vertex)) {
      d.label[m[1]] = m[2];
      d.statement[m[1]] = line;
    }
  }
  return d;
}

// ---- whole-store comparison --------------------------------------------------------------------

std::map<std::string, std::string> everything_in(const std::string& path) {
  raw_store db(path);  // every family, as RocksDB holds it
  std::map<std::string, std::string> all;
  for (const std::string& family : documented_families)
    for (const std::string& key : db.keys(family)) all[family + "/" + key] = *db.get(family, key);
  return all;
}

// The listing line of an actor, split into its columns.
std::vector<std::string> listing_row(const std::string& listing, const std::string& actor) {
  std::istringstream lines(listing);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> columns;
    for (std::string w; words >> w;) columns.push_back(w);
    if (!columns.empty() && columns[0] == actor && columns.size() == 8) return columns;
  }
  return {};
}

}  // namespace

TEST_CASE("inspect lists every actor with its behavior, sizes, pending work and quarantine", "[inspect]") {
  const auto r = inspect({"list", sample_store()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Catch::StartsWith("actor "));
  // actor behavior record snapshot mailbox asks timers quarantined
  const auto flipper = listing_row(r.out, "flipper");
  REQUIRE(flipper.size() == 8);
  CHECK(flipper[1] == "test.actors.even");
  CHECK(std::stoul(flipper[2]) > std::stoul(flipper[3]));  // the record holds the snapshot
  CHECK(std::stoul(flipper[3]) > 0);
  CHECK(flipper[4] == "2");
  CHECK(flipper[5] == "0");
  CHECK(flipper[6] == "0");
  CHECK(flipper[7] == "no");
  const auto asker = listing_row(r.out, "asker");
  REQUIRE(asker.size() == 8);
  CHECK(asker[1] == "test.actors.asker");
  CHECK(asker[5] == "1");
  CHECK(asker[6] == "0");
  const auto sleeper = listing_row(r.out, "sleeper");
  REQUIRE(sleeper.size() == 8);
  CHECK(sleeper[1] == "test.inspect.sleeper");
  CHECK(sleeper[5] == "0");
  CHECK(sleeper[6] == "1");
  CHECK(listing_row(r.out, "holder").at(1) == "test.inspect.holder");
  // Listing needs no registration: the stranger's function is known only to the child.
  CHECK(listing_row(r.out, "stranger").at(1) == "test.inspect.child_only");
  const auto broken = listing_row(r.out, "broken");
  REQUIRE(broken.size() == 8);
  CHECK(broken[1] == "test.actors.counter");
  CHECK(broken[4] == "2");
  CHECK(broken[7] == "yes");
  CHECK_THAT(r.out, Catch::Contains("    quarantined: ") && Catch::Contains("    damaged: snapshot of actor \"broken\": "
                                                                               "checksum_mismatch"));
  CHECK_THAT(r.out, Catch::EndsWith("6 actors, 1 quarantined, 1 damaged\n"));
}

TEST_CASE("inspect dump describes one actor as valid JSON: record, asks, timers, mailbox, graph", "[inspect]") {
  static const std::regex iso_utc(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");

  SECTION("an actor with a pending ask") {
    const auto r = inspect({"dump", sample_store(), "asker"});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    json j;
    REQUIRE_NOTHROW(j = parse_json(r.out));
    CHECK(j["actor"].str() == "asker");
    CHECK(j["record"]["behavior"].str() == "test.actors.asker");
    CHECK(j["record"]["pending_asks"].num() == 1);
    CHECK(j["record"]["bytes"].num() > j["record"]["snapshot_bytes"].num());
    CHECK(j["error"].is_null());
    CHECK(j["quarantined"].boolean == false);
    CHECK(j["quarantine_reason"].is_null());
    CHECK(j["supervision"]["policy"].str() == "stop");
    REQUIRE(j["pending_asks"].items.size() == 1);
    const json& ask = j["pending_asks"][0];
    CHECK(ask["request"].num() > 0);
    CHECK(ask["continuation"].str() == "test.actors.got_answer");
    CHECK(std::regex_match(ask["deadline"].str(), iso_utc));
    // Asked with a 24 h timeout, a few seconds ago at most.
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    CHECK(ask["deadline_ns"].num() > now + std::chrono::nanoseconds(23h).count());
    CHECK(ask["deadline_ns"].num() < now + std::chrono::nanoseconds(25h).count());
    CHECK(j["timers"].items.empty());
    CHECK(j["mailbox"].items.empty());
    CHECK(j["journal"].items.empty());  // not in journal mode
    // Its ask to the holder was its first numbered message to it (docs/migration.md 9).
    REQUIRE(j["order"]["sent"].items.size() == 1);
    CHECK(j["order"]["sent"][0]["to"].str() == "holder");
    CHECK(j["order"]["sent"][0]["last"].num() == 1);
    CHECK(std::regex_match(j["order"]["sent"][0]["seen"].str(), iso_utc));
    CHECK(j["order"]["sent"][0]["seen_ns"].num() <= now);
    CHECK(j["order"]["handled"].items.empty());  // only outside messages, unnumbered
    CHECK(j["order"]["moved"].is_null());
    // The graph: the behavior and the continuation share the asker's tally.
    const json& g = j["graph"];
    REQUIRE(g.type == json::kind::object);
    CHECK_FALSE(j.has("graph_error"));
    REQUIRE(g["roots"].items.size() == 2);
    CHECK(g["roots"][0]["role"].str() == "behavior");
    CHECK(g["roots"][1]["role"].str() == "continuation");
    CHECK(g["roots"][1]["request"].num() == ask["request"].num());
    std::vector<std::string> shared;
    for (const json& v : g["vertices"].items)
      if (v["shared"].boolean) shared.push_back(v["label"].str() + " <- " + v["incoming"].text);
    CHECK(shared == std::vector<std::string>{"shared object #1 <- 2"});
    REQUIRE(g["referenced_actors"].items.size() == 1);
    CHECK(g["referenced_actors"][0].str() == "holder");
  }

  SECTION("an actor with a timer") {
    const auto r = inspect({"dump", sample_store(), "sleeper"});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    const json j = parse_json(r.out);
    REQUIRE(j["timers"].items.size() == 1);
    const json& t = j["timers"][0];
    CHECK(t["id"].num() > 0);
    // Nothing numbered to or from it: empty tables (a version-1 record).
    CHECK(j["order"]["sent"].items.empty());
    CHECK(j["order"]["handled"].items.empty());
    CHECK(t["message_type"].str() == "test.inspect.ring");
    CHECK(t["period_ns"].num() == std::chrono::nanoseconds(1h).count());
    CHECK(std::regex_match(t["due"].str(), iso_utc));
    CHECK(j["pending_asks"].items.empty());
  }

  SECTION("an actor with messages waiting, and its closure graph") {
    const auto r = inspect({"dump", sample_store(), "flipper"});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    const json j = parse_json(r.out);
    REQUIRE(j["mailbox"].items.size() == 2);
    const json& first = j["mailbox"][0];
    const json& second = j["mailbox"][1];
    CHECK(first["seq"].num() + 1 == second["seq"].num());
    CHECK(first["message_type"].str() == "test.add");
    CHECK(first["sender"].str() == "asker");
    CHECK(first["request_id"].num() == 9);
    CHECK(first["response_to"].num() == 0);
    CHECK(first["bytes"].num() > 0);
    CHECK(second["sender"].is_null());
    CHECK(second["request_id"].num() == 0);
    // Four nodes (two closures, two cells) and the tally; one edge closes the cycle.
    const json& g = j["graph"];
    std::map<std::string, std::string> kind_of;
    for (const json& v : g["vertices"].items) kind_of[v["label"].str()] = v["kind"].str();
    CHECK(g["vertices"].items.size() == 5);
    CHECK(kind_of["test.actors.even"] == "closure");
    CHECK(kind_of["test.actors.odd"] == "closure");
    CHECK(kind_of["shared object #1"] == "shared_object");
    std::size_t cells = 0, cycle_edges = 0;
    for (const json& v : g["vertices"].items) cells += v["kind"].str() == "cell";
    for (const json& e : g["edges"].items) cycle_edges += e["closes_cycle"].boolean;
    CHECK(cells == 2);
    CHECK(g["edges"].items.size() == 6);
    CHECK(cycle_edges == 1);
    CHECK(g["referenced_actors"].items.empty());
  }
}

TEST_CASE("inspect dot shows the cycle between two behaviors and the state they share", "[inspect]") {
  const auto r = inspect({"dot", sample_store(), "flipper"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("digraph ") && Catch::EndsWith("}\n"));
  const dot_document d = parse_dot(r.out);
  const auto even = d.with_label("test.actors.even");
  const auto odd = d.with_label("test.actors.odd");
  const auto shared = d.with_label("shared object #1");
  REQUIRE(even.size() == 1);
  REQUIRE(odd.size() == 1);
  REQUIRE(shared.size() == 1);
  // even -> cell -> odd and odd -> cell -> even: the two behaviors reach each other.
  const auto through_a_cell = [&](const std::string& from, const std::string& to) {
    for (const auto& [v, label] : d.label)
      if (label.starts_with("cell<") && d.has_edge(from, v) && d.has_edge(v, to)) return true;
    return false;
  };
  CHECK(through_a_cell(even[0], odd[0]));
  CHECK(through_a_cell(odd[0], even[0]));
  // The edge that closes the cycle is marked.
  CHECK(std::count_if(d.edge_statements.begin(), d.edge_statements.end(),
                      [](const std::string& s) { return s.find("color=red") != std::string::npos; }) == 1);
  // The tally both behaviors capture: two incoming edges, drawn filled. Nothing else is shared.
  CHECK(d.incoming(shared[0]) == 2);
  CHECK(d.has_edge(even[0], shared[0]));
  CHECK(d.has_edge(odd[0], shared[0]));
  CHECK_THAT(d.statement.at(shared[0]), Catch::Contains("filled"));
  for (const auto& [v, statement] : d.statement)
    if (v != shared[0]) CHECK_THAT(statement, !Catch::Contains("filled"));
  // The actor's own reference to its behavior.
  CHECK(d.has_edge("actor", even[0]));
}

TEST_CASE("inspect dump lists the journaled steps that follow the record", "[inspect]") {
  temp_dir dir;
  {
    durable_config config = store_at(dir.path("db"));
    config.snapshot_every = 100;  // every step after the first is journaled
    actor_system system(config, actor_system_config{1});
    system.spawn_durable("counter", counter_fn.bind(std::make_shared<tally>()));
    system.send("counter", add{1}).get();
    system.send("counter", add{2}).get();
    await_handled(system, "counter");
    system.sync();
    system.shutdown(shutdown_policy::drop);
  }
  const auto r = inspect({"dump", dir.path("db"), "counter"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const json j = parse_json(r.out);
  CHECK(j["record"]["behavior"].str() == "test.actors.counter");
  const json& journal = j["journal"];
  REQUIRE(journal.items.size() >= 2);
  CHECK(journal[0]["message_type"].str() == "test.add");
  CHECK(journal[1]["message_type"].str() == "test.add");
  CHECK(journal[0]["seq"].num() < journal[1]["seq"].num());
  CHECK(j["mailbox"].items.empty());
}

TEST_CASE("inspect dump shows the order tables of both ends, and names damaged ones", "[inspect]") {
  const auto holder = inspect({"dump", sample_store(), "holder"});
  INFO(holder.out << holder.err);
  REQUIRE(holder.code == 0);
  const json h = parse_json(holder.out);
  REQUIRE(h["order"]["handled"].items.size() == 1);
  CHECK(h["order"]["handled"][0]["from"].str() == "asker");
  CHECK(h["order"]["handled"][0]["last"].num() == 1);
  CHECK(h["order"]["sent"].items.empty());

  // The order tables run to the end of a version-2 record: a flipped byte there is theirs.
  temp_dir dir;
  const std::string p = dir.path("db");
  {
    store source(sample_store());
    store db(p);
    commit_batch batch(db);
    std::string record = *source.record("asker");
    record[record.size() - 3] ^= 0x40;
    batch.put_record("asker", record);
    db.commit(batch, true);
  }
  const auto r = inspect({"dump", p, "asker"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const json j = parse_json(r.out);
  CHECK_THAT(j["error"].str(), Catch::Contains("order tables of actor \"asker\""));
  CHECK(j["order"].is_null());
  CHECK(j["pending_asks"].items.size() == 1);  // the image before them is read all the same
}

TEST_CASE("inspect reports a damaged record instead of crashing", "[inspect]") {
  const auto r = inspect({"dump", sample_store(), "broken"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const json j = parse_json(r.out);
  CHECK_THAT(j["error"].str(), Catch::Contains("actor \"broken\"") && Catch::Contains("checksum_mismatch"));
  CHECK(j["quarantined"].boolean == true);
  CHECK_THAT(j["quarantine_reason"].str(), Catch::Contains("checksum_mismatch"));
  CHECK(j["record"]["behavior"].str() == "test.actors.counter");  // the record header is intact
  CHECK(j["graph"].is_null());
  CHECK_THAT(j["graph_error"].str(), Catch::Contains("checksum_mismatch"));
  CHECK(j["pending_asks"].is_null());
  // Its mailbox is listed entry by entry; the entry that is not an envelope says why.
  REQUIRE(j["mailbox"].items.size() == 2);
  CHECK(j["mailbox"][0]["message_type"].str() == "test.add");
  CHECK_THAT(j["mailbox"][1]["error"].str(), Catch::Contains("in the mailbox of actor \"broken\""));

  const auto dot = inspect({"dot", sample_store(), "broken"});
  CHECK(dot.code == 1);
  CHECK(dot.out.empty());
  CHECK_THAT(dot.err, Catch::Contains("checksum_mismatch"));
}

TEST_CASE("inspect without the application's registrations prints everything but the graph", "[inspect]") {
  const auto r = inspect({"dump", sample_store(), "stranger"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const json j = parse_json(r.out);
  CHECK(j["error"].is_null());  // not damaged: only the code is missing
  CHECK(j["record"]["behavior"].str() == "test.inspect.child_only");
  CHECK(j["pending_asks"].items.empty());
  CHECK(j["timers"].items.empty());
  CHECK(j["graph"].is_null());
  CHECK_THAT(j["graph_error"].str(), Catch::Contains("unknown function \"test.inspect.child_only\"") &&
                                         Catch::Contains("link the tool with the application's registrations"));

  const auto dot = inspect({"dot", sample_store(), "stranger"});
  CHECK(dot.code == 1);
  CHECK(dot.out.empty());
  CHECK_THAT(dot.err, Catch::Contains("test.inspect.child_only") && Catch::Contains("registrations"));
}

TEST_CASE("inspect names a missing store or actor and explains bad usage", "[inspect]") {
  temp_dir dir;
  const std::string missing = dir.path("no-such-store");
  for (const char* command : {"list", "dump", "dot"}) {
    std::vector<std::string> args = {command, missing};
    if (std::string_view(command) != "list") args.push_back("flipper");
    const auto r = inspect(args);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("store \"" + missing + "\" does not exist"));
  }
  CHECK_FALSE(std::filesystem::exists(missing));  // looked at, not created

  for (const char* command : {"dump", "dot"}) {
    const auto r = inspect({command, sample_store(), "nobody"});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::Contains("actor \"nobody\" is not in store"));
  }

  const std::vector<std::vector<std::string>> bad = {{}, {"list"}, {"dump", sample_store()}, {"dot"},
                                                     {"list", sample_store(), "extra"}, {"frobnicate", "x"}};
  for (const auto& args : bad) {
    const auto r = inspect(args);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::Contains("usage:") && Catch::Contains("list <store-dir>") &&
                          Catch::Contains("dump <store-dir> <actor>") && Catch::Contains("dot  <store-dir> <actor>"));
  }
  const auto help = inspect({"--help"});
  CHECK(help.code == 0);
  CHECK_THAT(help.out, Catch::Contains("usage:"));
}

TEST_CASE("inspect refuses a store an application has open, saying so", "[inspect]") {
  temp_dir dir;
  actor_system system(store_at(dir.path("db")), actor_system_config{1});
  system.spawn_durable("flipper", make_flipper());
  const auto r = inspect({"list", dir.path("db")});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains(dir.path("db")) && Catch::Contains("stop it first"));
}

TEST_CASE("inspect never changes the store it reads", "[inspect]") {
  const auto before = everything_in(sample_store());
  for (const char* actor : {"flipper", "asker", "sleeper", "holder", "broken", "stranger"}) {
    inspect({"dump", sample_store(), actor});
    inspect({"dot", sample_store(), actor});
  }
  inspect({"list", sample_store()});
  CHECK(everything_in(sample_store()) == before);
}

TEST_CASE("inspect lists migration markers, tombstones and incoming packages", "[inspect][migration]") {
  temp_dir dir;
  const std::string path = dir.path("db");
  {
    actor_system system(store_at(path), actor_system_config{1});
    system.spawn_durable("flipper", make_flipper());
  }
  std::string flipper_record;
  {
    store db(path);
    flipper_record = *db.record("flipper");
    migration_package arriving;
    arriving.actor = "arriving/1";
    arriving.record = flipper_record;
    arriving.mailbox = {{40, "one"}, {41, "two"}};
    arriving.wake = true;
    commit_batch batch(db);
    batch.put_migration_marker("flipper", 17, "node-t");
    batch.put_tombstone("gone/1", 9, "node-t");
    batch.put_migration_marker("half/1", 12, "node-u");
    batch.put_tombstone("half/1", 12, "node-u");
    batch.put_incoming("arriving/1", 21, "node-s", encode_migration_package(arriving));
    batch.enqueue("arriving/1", 50, "forwarded early");
    batch.put_incoming("bad/1", 22, "node-s", "not a package");
    db.commit(batch, true);
  }
  const auto r = inspect({"list", path});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("migrations:\n"));
  CHECK_THAT(r.out, Catch::Contains("  flipper: moving to node-t (migration 17): held from running"));
  CHECK_THAT(r.out, Catch::Contains("  gone/1: moved to node-t (migration 9)\n"));
  CHECK_THAT(r.out, Catch::Contains("  half/1: moved to node-u (migration 12), not yet confirmed by node-u\n"));
  CHECK_THAT(r.out, Catch::Contains("  arriving/1: incoming from node-s (migration 21), not runnable: record " +
                                    std::to_string(flipper_record.size()) + " bytes, 0 journal entries, 2 messages, wakes at open"));
  CHECK_THAT(r.out, Catch::Contains("  bad/1: incoming from node-s (migration 22), not runnable: damaged: ") &&
                        Catch::Contains("migration package: "));
  // The message forwarded ahead of its actor's package is no damage: it waits for activation.
  CHECK_THAT(r.out, !Catch::Contains("actor \"arriving/1\": no record in the store"));
  CHECK_THAT(r.out, Catch::Contains(", 5 migration records\n"));
}

TEST_CASE("an outline's closure names load only through read_outline", "[inspect]") {
  // A closure name needs the outline's table of closure references: loading one from another
  // archive is a misuse reported as such, not read as bytes.
  const std::string bytes(8, '\0');
  revenant::detail::graph_input_archive ar(bytes, 0, std::string("a test payload"));
  revenant::detail::closure_name name;
  CHECK_THROWS_AS(name.load(ar), std::logic_error);
  CHECK_THROWS_WITH(name.load(ar), Catch::Contains("read_outline"));
}
