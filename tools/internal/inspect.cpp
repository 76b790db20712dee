// The inspect tool (tools/inspect.hpp). It reads the store through its typed reads
// (storage/store.hpp) and the actor image through the runtime's own grammar
// (runtime/internal/image.hpp); the snapshot payload layout is docs/format.md.
#include "tools/inspect.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "actors/graph.hpp"
#include "runtime/internal/image.hpp"
#include "storage/envelope.hpp"
#include "storage/snapshot.hpp"
#include "storage/store.hpp"

namespace revenant {
namespace {

using runtime_internal::actor_image;
using runtime_internal::timer_image;

// A request the tool cannot serve (missing store or actor): exit code 1, message as is.
class inspect_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr std::string_view usage_text =
    "usage:\n"
    "  %s list <store-dir>          every actor: behavior, record size, mailbox, asks, timers, quarantine\n"
    "  %s dump <store-dir> <actor>  one actor as JSON, with its closure graph\n"
    "  %s dot  <store-dir> <actor>  the actor's closure graph as Graphviz DOT (| dot -Tsvg)\n"
    "The store must not be open in another process. Rebuilding a closure graph needs the application's\n"
    "registered functions: link them into a program that calls revenant::inspect_main.\n";

void print_usage(std::ostream& to, const std::string& program) {
  std::string text(usage_text);
  for (std::size_t at = text.find("%s"); at != std::string::npos; at = text.find("%s", at + program.size()))
    text.replace(at, 2, program);
  to << text;
}

// ---- text --------------------------------------------------------------------------------------

// The length of the well-formed UTF-8 sequence at the start of s, or 0 if there is none.
std::size_t utf8_sequence(std::string_view s) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length;
  std::uint32_t code;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i) & 0x3f);
  }
  const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
  const bool surrogate = code >= 0xd800 && code <= 0xdfff;
  return overlong || surrogate || code > 0x10ffff ? 0 : length;
}

// s as a JSON string literal. Bytes that are not UTF-8 (names are arbitrary bytes) become U+FFFD.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  while (!s.empty()) {
    const std::size_t n = utf8_sequence(s);
    const auto c = static_cast<unsigned char>(s[0]);
    if (n == 0) {
      out += "\\ufffd";
      s.remove_prefix(1);
      continue;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", c);
      out += escape;
    } else {
      out.append(s.data(), n);
    }
    s.remove_prefix(n);
  }
  out += '"';
  return out;
}

// s as a DOT quoted string: quotes and backslashes escaped, control characters and bytes that
// are not UTF-8 shown as '?'.
std::string dot_string(std::string_view s) {
  std::string out = "\"";
  while (!s.empty()) {
    const std::size_t n = utf8_sequence(s);
    const auto c = static_cast<unsigned char>(s[0]);
    if (n == 0 || c < 0x20) {
      out += '?';
      s.remove_prefix(std::max<std::size_t>(n, 1));
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out.append(s.data(), n);
    s.remove_prefix(n);
  }
  out += '"';
  return out;
}

// A compiler-made type name without the library's namespace: "cell<closure<void(context&, ...)> >".
std::string short_type_name(std::string_view name) {
  std::string out;
  constexpr std::string_view prefix = "revenant::";
  while (!name.empty()) {
    if (name.starts_with(prefix)) {
      name.remove_prefix(prefix.size());
      continue;
    }
    out += name.front();
    name.remove_prefix(1);
  }
  return out;
}

// Wall-clock nanoseconds as ISO 8601 UTC with milliseconds ("2024-05-01T12:00:00.250Z"); nullopt
// if the time cannot be represented.
std::optional<std::string> iso_utc(std::int64_t ns) {
  constexpr std::int64_t per_second = 1'000'000'000;
  std::int64_t seconds = ns / per_second;
  std::int64_t rest = ns % per_second;
  if (rest < 0) {
    --seconds;
    rest += per_second;
  }
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) return std::nullopt;
  char text[96];  // room for any int fields, as the compiler checks
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(rest / 1'000'000));
  return std::string(text);
}

// Writes indented JSON, placing commas itself. The caller keeps objects and arrays balanced and
// gives every object member a key.
class json_writer {
 public:
  explicit json_writer(std::ostream& out) : out_(out) {}

  json_writer& begin_object() { return open('{'); }
  json_writer& end_object() { return close('}'); }
  json_writer& begin_array() { return open('['); }
  json_writer& end_array() { return close(']'); }
  json_writer& key(std::string_view name) {
    separate();
    out_ << json_string(name) << ": ";
    after_key_ = true;
    return *this;
  }
  json_writer& value(std::string_view s) {
    separate();
    out_ << json_string(s);
    return *this;
  }
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(const std::string& s) { return value(std::string_view(s)); }
  json_writer& value(std::uint64_t n) {
    separate();
    out_ << n;
    return *this;
  }
  json_writer& value(std::int64_t n) {
    separate();
    out_ << n;
    return *this;
  }
  json_writer& value(std::uint32_t n) { return value(static_cast<std::uint64_t>(n)); }
  json_writer& value(bool b) {
    separate();
    out_ << (b ? "true" : "false");
    return *this;
  }
  json_writer& null() {
    separate();
    out_ << "null";
    return *this;
  }
  template <class T>
  json_writer& value(const std::optional<T>& v) {
    return v ? value(*v) : null();
  }
  // A key and its value.
  template <class T>
  json_writer& member(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

 private:
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (depth_ > 0) {
      out_ << (first_ ? "\n" : ",\n");
      indent();
    }
    first_ = false;
  }
  json_writer& open(char c) {
    separate();
    out_ << c;
    ++depth_;
    first_ = true;
    return *this;
  }
  json_writer& close(char c) {
    --depth_;
    if (!first_) {
      out_ << '\n';
      indent();
    }
    out_ << c;
    first_ = false;
    if (depth_ == 0) out_ << '\n';
    return *this;
  }
  void indent() {
    for (int i = 0; i < depth_; ++i) out_ << "  ";
  }

  std::ostream& out_;
  int depth_ = 0;
  bool first_ = true;
  bool after_key_ = false;
};

// ---- the store ---------------------------------------------------------------------------------

// Opens the existing store at path: a missing one is refused, not created, and nothing is written.
std::unique_ptr<store> open_existing(const std::string& path) {
  store_options options;
  options.must_exist = true;
  try {
    return std::make_unique<store>(path, std::move(options));
  } catch (const store_error& e) {
    // RocksDB admits one process per database; its message names the LOCK file.
    if (std::string_view(e.what()).find("LOCK") == std::string_view::npos) throw inspect_error(e.what());
    throw inspect_error(std::string(e.what()) + " (is an application running on it? stop it first)");
  }
}

std::string actor_subject(std::string_view name) { return "actor \"" + std::string(name) + "\""; }

// ---- the actor image, read without registrations -----------------------------------------------

// Reads closure references (node-ref, and fn-ref for a new node) and names their functions.
// Node and function numbers count from the start of one snapshot: one reader per image.
class closure_reference_reader {
 public:
  // The function of the closure referenced next in ar; empty for an empty closure.
  std::string read(detail::graph_input_archive& ar) {
    const std::size_t at = ar.position();
    const std::uint32_t ref = ar.read_u32();
    if (ref == 0) return {};
    if (ref <= nodes_.size()) return nodes_[ref - 1];
    if (ref != nodes_.size() + 1)
      ar.fail_at(at, snapshot_errc::bad_reference,
                 "node reference " + std::to_string(ref) + " but only " + std::to_string(nodes_.size()) +
                     " nodes are defined so far");
    const std::size_t index_at = ar.position();
    const std::uint32_t index = ar.read_u32();
    if (index == functions_.size()) {
      functions_.emplace_back(ar.read_view(ar.read_length()));
      (void)ar.read_u32();  // capture count: checked when the graph is rebuilt
    } else if (index > functions_.size()) {
      ar.fail_at(index_at, snapshot_errc::bad_reference,
                 "function reference " + std::to_string(index) + " but only " + std::to_string(functions_.size()) +
                     " functions are defined so far");
    }
    nodes_.push_back(functions_[index]);
    return nodes_.back();
  }

 private:
  std::vector<std::string> functions_;  // by function-table index
  std::vector<std::string> nodes_;      // function of each node, by id - 1
};

// The reader of the image being read on this thread (set by read_outline for its duration).
thread_local closure_reference_reader* outline_closures = nullptr;

class outline_scope {
 public:
  explicit outline_scope(closure_reference_reader& reader) noexcept { outline_closures = &reader; }
  ~outline_scope() { outline_closures = nullptr; }
  outline_scope(const outline_scope&) = delete;
  outline_scope& operator=(const outline_scope&) = delete;
};

// A closure of the image as the tool reads it: the name of its registered function (empty for
// an empty closure), from the closure's reference alone. The root holds closures only as
// references (their captured values follow later in the payload: docs/format.md, section 3), so
// the image reads without any registered function.
struct closure_name {
  std::string function;
  template <class Archive>
  void load(Archive& ar) {
    function = outline_closures->read(ar);
  }
};

// The actor image through the runtime's own grammar (runtime/internal/image.hpp), closures
// read as names.
using image_outline = runtime_internal::basic_actor_image<closure_name, closure_name>;

// Reads the outline of an actor image. Throws snapshot_error. Checks the framing and checksums,
// not what follows the root (the closures' contents).
image_outline read_outline(std::string_view snapshot, const std::string& subject) {
  const std::string_view payload = storage_internal::open_snapshot(snapshot, subject);
  detail::graph_input_archive ar(payload, snapshot_header_size, subject);
  image_outline o;
  closure_reference_reader closures;
  const outline_scope scope(closures);
  try {
    ar(o);
  } catch (const snapshot_error&) {
    throw;
  } catch (const std::exception& e) {
    ar.fail(snapshot_errc::malformed, e.what());
  }
  return o;
}

// ---- the closure graph -------------------------------------------------------------------------

enum class vertex_kind { closure, cell, shared_object };

struct graph_vertex {
  vertex_kind kind;
  std::uint32_t number;  // node id (closures, cells) or shared object number, from 1
  std::string label;
  std::uint32_t incoming = 0;  // distinct vertices referencing this one
  std::string name() const { return (kind == vertex_kind::shared_object ? "s" : "n") + std::to_string(number); }
  bool shared() const noexcept { return incoming >= 2; }
};
struct graph_edge {
  std::size_t from;  // vertex indices
  std::size_t to;
  bool closes_cycle = false;
};
// One of the actor's own references into its graph.
struct graph_root {
  std::string role;      // "behavior" or "continuation"
  std::uint64_t request; // the ask, for a continuation
  std::size_t vertex;
};
struct closure_graph {
  std::vector<graph_vertex> vertices;  // nodes in id order, shared objects where first met
  std::vector<graph_edge> edges;       // in payload order, each (from, to) pair once
  std::vector<graph_root> roots;
  std::set<std::string> referenced_actors;
};

// Builds a closure_graph from an encoder's walk.
class graph_recorder final : public detail::graph_tracer {
 public:
  void on_node(std::uint32_t id, const detail::node_base& node) override {
    (void)id;  // ids arrive as 1, 2, 3, ...: node id is node_vertex_[id - 1]
    const detail::function_entry* fn = node.function();
    node_vertex_.push_back(add_vertex(fn != nullptr ? vertex_kind::closure : vertex_kind::cell,
                                      static_cast<std::uint32_t>(node_vertex_.size() + 1),
                                      fn != nullptr ? fn->name : short_type_name(node.type_display_name())));
    node_id_.emplace(&node, static_cast<std::uint32_t>(node_vertex_.size()));
  }
  void on_edge(std::uint32_t from, std::uint32_t to) override {
    if (from != 0) add_edge(node_vertex_[from - 1], node_vertex_[to - 1]);
    // References from the root are found from the image itself (add_root), which knows their roles.
  }
  void on_shared(std::uint32_t from, const void* object) override {
    auto [it, fresh] = object_vertex_.try_emplace(object, 0);
    if (fresh) {
      const auto number = static_cast<std::uint32_t>(object_vertex_.size());
      it->second = add_vertex(vertex_kind::shared_object, number, "shared object #" + std::to_string(number));
    }
    if (from != 0) add_edge(node_vertex_[from - 1], it->second);
  }

  // Names a node the image references itself; node must be one the walk met.
  void add_root(std::string role, std::uint64_t request, const detail::node_base* node) {
    if (node == nullptr) return;
    const auto id = node_id_.find(node);
    if (id != node_id_.end()) graph_.roots.push_back(graph_root{std::move(role), request, node_vertex_[id->second - 1]});
  }

  // The graph, with shared state and cycle-closing edges marked.
  closure_graph finish() && {
    for (const graph_edge& e : graph_.edges) ++graph_.vertices[e.to].incoming;
    mark_cycles();
    return std::move(graph_);
  }

  closure_graph& graph() noexcept { return graph_; }

 private:
  std::size_t add_vertex(vertex_kind kind, std::uint32_t number, std::string label) {
    graph_.vertices.push_back(graph_vertex{kind, number, std::move(label)});
    return graph_.vertices.size() - 1;
  }
  void add_edge(std::size_t from, std::size_t to) {
    if (edge_keys_.insert((static_cast<std::uint64_t>(from) << 32) | to).second)
      graph_.edges.push_back(graph_edge{from, to});
  }

  // Marks the back edges of a depth-first walk from the roots in order (then from any vertex
  // not reached): exactly one edge per independent cycle is marked. Iterative, like the codec,
  // so a long chain does not exhaust the stack.
  void mark_cycles() {
    const std::size_t n = graph_.vertices.size();
    std::vector<std::vector<std::size_t>> out(n);
    for (std::size_t e = 0; e < graph_.edges.size(); ++e) out[graph_.edges[e].from].push_back(e);
    enum : std::uint8_t { unseen, open, done };
    std::vector<std::uint8_t> state(n, unseen);
    std::vector<std::pair<std::size_t, std::size_t>> stack;  // vertex, next out-edge to follow
    const auto walk_from = [&](std::size_t start) {
      if (state[start] != unseen) return;
      state[start] = open;
      stack.emplace_back(start, 0);
      while (!stack.empty()) {
        const std::size_t v = stack.back().first;
        if (stack.back().second == out[v].size()) {
          state[v] = done;
          stack.pop_back();
          continue;
        }
        graph_edge& e = graph_.edges[out[v][stack.back().second++]];
        if (state[e.to] == open) {
          e.closes_cycle = true;
        } else if (state[e.to] == unseen) {
          state[e.to] = open;
          stack.emplace_back(e.to, 0);
        }
      }
    };
    for (const graph_root& r : graph_.roots) walk_from(r.vertex);
    for (std::size_t v = 0; v < n; ++v) walk_from(v);
  }

  closure_graph graph_;
  std::vector<std::size_t> node_vertex_;  // vertex of node id, at id - 1
  std::unordered_map<const detail::node_base*, std::uint32_t> node_id_;
  std::unordered_map<const void*, std::size_t> object_vertex_;
  std::unordered_set<std::uint64_t> edge_keys_;
};

// Stands for an actor named in a snapshot: the tool has no actor system, and only the name matters.
class named_actor final : public detail::actor_base {
 public:
  explicit named_actor(std::string name) : detail::actor_base(0, std::move(name)) {}
  void enqueue(message_ptr) override {}
  void add_watcher(const std::shared_ptr<detail::actor_base>&) override {}
};

// Resolves every actor reference to a named_actor and remembers the names.
class naming_resolver final : public detail::actor_resolver {
 public:
  std::shared_ptr<detail::actor_base> resolve(const std::string& name) override {
    names.insert(name);
    return std::make_shared<named_actor>(name);
  }
  std::set<std::string> names;
};

// Rebuilds the actor's image (this needs its functions registered) and records its graph.
// Throws snapshot_error. The rebuilt image is released before returning (its cycles freed).
closure_graph trace_graph(std::string_view snapshot, const std::string& subject) {
  naming_resolver resolver;
  actor_image image;
  image = decode_snapshot<actor_image>(snapshot, subject, &resolver);
  graph_recorder recorder;
  try {
    detail::graph_output_archive walk(nullptr, &recorder);
    walk(image);
    walk.drain();
    recorder.add_root("behavior", 0, detail::edge_traits<behavior>::node(image.current));
    for (const auto& p : image.pending)
      recorder.add_root("continuation", p.request, detail::edge_traits<continuation>::node(p.then));
  } catch (...) {
    release(image);
    throw;
  }
  release(image);
  recorder.graph().referenced_actors = std::move(resolver.names);
  return std::move(recorder).finish();
}

// ---- one actor ---------------------------------------------------------------------------------

// An envelope stored under an actor: a mailbox entry, or a journal entry (a step taken since the
// record was written; docs/format.md, section 8.7).
struct mailbox_entry {
  std::uint64_t seq = 0;
  std::size_t bytes = 0;
  std::optional<envelope_header> header;
  std::string error;  // why the header could not be read
};

// Everything the tool shows about one actor. Fields that could not be read are empty, with the
// reason in damage or graph_error.
struct actor_report {
  std::string name;
  std::optional<std::size_t> record_bytes;
  std::optional<actor_record_info> info;
  std::size_t snapshot_bytes = 0;
  std::string damage;  // the first decode error of the record; empty: none found
  std::optional<std::string> quarantine_reason;
  std::optional<image_outline> outline;
  std::vector<mailbox_entry> mailbox;
  std::vector<mailbox_entry> journal;  // replayed over the record at activation; the graph is the record's
  std::optional<closure_graph> graph;
  std::string graph_error;  // why graph is empty
};

// An entry of name (mailbox or journal), its envelope's header peeked at.
mailbox_entry read_entry(std::uint64_t seq, std::string_view envelope, std::string_view what, const std::string& name) {
  mailbox_entry e;
  e.seq = seq;
  e.bytes = envelope.size();
  try {
    e.header = peek_envelope(envelope, "message " + std::to_string(seq) + " in the " + std::string(what) + " of " +
                                           actor_subject(name));
  } catch (const std::exception& x) {
    e.error = x.what();
  }
  return e;
}

actor_report read_actor(const store& db, const std::string& name) {
  actor_report r;
  r.name = name;
  const std::string subject = actor_subject(name);
  const std::optional<std::string> record = db.record(name);
  r.quarantine_reason = db.quarantine_reason(name);
  db.for_each_message_of(name, [&](std::uint64_t seq, std::string_view envelope) {
    r.mailbox.push_back(read_entry(seq, envelope, "mailbox", name));
  });
  db.for_each_journal_entry_of(name, [&](std::uint64_t seq, std::string_view envelope) {
    r.journal.push_back(read_entry(seq, envelope, "journal", name));
  });
  if (!record && !r.quarantine_reason && r.mailbox.empty())
    throw inspect_error(subject + " is not in store \"" + db.path() + "\" (`list` shows the actors it holds)");
  if (!record) {
    r.damage = r.graph_error = subject + ": no record in the store";
    return r;
  }
  r.record_bytes = record->size();
  try {
    const actor_record_view view = decode_actor_record(*record, subject);
    r.info = view.info();
    r.snapshot_bytes = view.snapshot.size();
    r.outline = read_outline(view.snapshot, subject);
    r.graph = trace_graph(view.snapshot, subject);
  } catch (const snapshot_error& e) {
    // Once the outline is read, the checksums have passed: a function this program does not
    // know (or knows with other captures) is missing code, not damage.
    if (r.outline && e.code() == snapshot_errc::unknown_function) {
      r.graph_error = std::string(e.what()) +
                      "; to rebuild the graph, link the tool with the application's registrations "
                      "(revenant::function) and call revenant::inspect_main from it";
    } else if (r.outline && e.code() == snapshot_errc::signature_mismatch) {
      r.graph_error = std::string(e.what()) +
                      "; to rebuild the graph, link the tool with the registrations of the application "
                      "that wrote this store";
    } else {
      r.damage = r.graph_error = e.what();
    }
  } catch (const std::exception& e) {
    r.damage = r.graph_error = e.what();
  }
  return r;
}

std::string_view policy_name(std::uint8_t policy) noexcept {
  switch (static_cast<restart_policy>(policy)) {
    case restart_policy::stop: return "stop";
    case restart_policy::resume: return "resume";
    case restart_policy::restart: return "restart";
  }
  return "unknown";
}

// ---- commands ----------------------------------------------------------------------------------

struct listing_row {
  std::string name;
  std::optional<std::size_t> record_bytes;
  std::size_t snapshot_bytes = 0;
  std::optional<actor_record_info> info;
  std::uint64_t mailbox = 0;
  std::optional<std::string> quarantine_reason;
  std::string damage;
};

int list_actors(const std::string& path, std::ostream& out) {
  const std::unique_ptr<store> db = open_existing(path);
  std::map<std::string, listing_row> rows;
  db->for_each_record({}, [&](std::string_view name, std::string_view bytes) {
    listing_row& row = rows[std::string(name)];
    row.name = name;
    row.record_bytes = bytes.size();
    const std::string subject = actor_subject(row.name);
    try {
      const actor_record_view view = decode_actor_record(bytes, subject);
      row.info = view.info();
      row.snapshot_bytes = view.snapshot.size();
      (void)storage_internal::open_snapshot(view.snapshot, subject);  // framing and checksums
    } catch (const std::exception& e) {
      row.damage = e.what();
    }
    return true;
  });
  db->for_each_quarantined([&](std::string_view name, std::string_view reason) {
    listing_row& row = rows[std::string(name)];
    row.name = name;
    row.quarantine_reason = std::string(reason);
  });
  db->for_each_message([&](std::string_view actor, std::uint64_t, std::string_view) {
    listing_row& row = rows[std::string(actor)];
    row.name = actor;
    ++row.mailbox;
  });

  const std::vector<std::string> header = {"actor", "behavior", "record", "snapshot", "mailbox", "asks", "timers",
                                           "quarantined"};
  const std::vector<bool> numeric = {false, false, true, true, true, true, true, false};
  std::vector<std::vector<std::string>> table = {header};
  std::size_t quarantined = 0, damaged = 0;
  for (auto& [name, row] : rows) {
    if (!row.record_bytes && row.damage.empty()) row.damage = actor_subject(name) + ": no record in the store";
    quarantined += row.quarantine_reason.has_value();
    damaged += !row.damage.empty();
    const auto or_unknown = [](bool known, auto v) { return known ? std::to_string(v) : std::string("?"); };
    table.push_back({name, row.info ? (row.info->behavior.empty() ? "-" : row.info->behavior) : "?",
                     or_unknown(row.record_bytes.has_value(), row.record_bytes.value_or(0)),
                     or_unknown(row.info.has_value(), row.snapshot_bytes), std::to_string(row.mailbox),
                     or_unknown(row.info.has_value(), row.info ? row.info->pending_asks : 0),
                     or_unknown(row.info.has_value(), row.info ? row.info->timers : 0),
                     row.quarantine_reason ? "yes" : "no"});
  }
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& cells : table)
    for (std::size_t c = 0; c < cells.size(); ++c) width[c] = std::max(width[c], cells[c].size());
  auto row_it = rows.begin();
  for (std::size_t r = 0; r < table.size(); ++r) {
    std::string line;
    for (std::size_t c = 0; c < table[r].size(); ++c) {
      const std::string& cell = table[r][c];
      const std::string pad(width[c] - cell.size(), ' ');
      if (c > 0) line += "  ";
      line += numeric[c] ? pad + cell : (c + 1 < table[r].size() ? cell + pad : cell);
    }
    out << line << '\n';
    if (r == 0) continue;
    const listing_row& row = (row_it++)->second;
    if (row.quarantine_reason) out << "    quarantined: " << *row.quarantine_reason << '\n';
    if (!row.damage.empty()) out << "    damaged: " << row.damage << '\n';
  }
  out << rows.size() << (rows.size() == 1 ? " actor" : " actors") << ", " << quarantined << " quarantined, " << damaged
      << " damaged\n";
  return 0;
}

void write_graph(json_writer& w, const closure_graph& g) {
  w.begin_object();
  w.key("roots").begin_array();
  for (const graph_root& r : g.roots) {
    w.begin_object().member("role", r.role);
    if (r.role == "continuation") w.member("request", r.request);
    w.member("vertex", g.vertices[r.vertex].name()).end_object();
  }
  w.end_array();
  w.key("vertices").begin_array();
  for (const graph_vertex& v : g.vertices) {
    const char* kind = v.kind == vertex_kind::closure ? "closure" : v.kind == vertex_kind::cell ? "cell" : "shared_object";
    w.begin_object()
        .member("id", v.name())
        .member("kind", kind)
        .member("label", v.label)
        .member("incoming", v.incoming)
        .member("shared", v.shared())
        .end_object();
  }
  w.end_array();
  w.key("edges").begin_array();
  for (const graph_edge& e : g.edges)
    w.begin_object()
        .member("from", g.vertices[e.from].name())
        .member("to", g.vertices[e.to].name())
        .member("closes_cycle", e.closes_cycle)
        .end_object();
  w.end_array();
  w.key("referenced_actors").begin_array();
  for (const std::string& name : g.referenced_actors) w.value(name);
  w.end_array();
  w.end_object();
}

void write_entries(json_writer& w, std::string_view key, const std::vector<mailbox_entry>& entries) {
  w.key(key).begin_array();
  for (const mailbox_entry& m : entries) {
    w.begin_object().member("seq", m.seq).member("bytes", static_cast<std::uint64_t>(m.bytes));
    if (m.header) {
      w.member("message_type", m.header->type);
      w.key("sender");
      if (m.header->sender.empty())
        w.null();
      else
        w.value(m.header->sender);
      w.member("request_id", m.header->request_id).member("response_to", m.header->response_to);
    } else {
      w.member("error", m.error);
    }
    w.end_object();
  }
  w.end_array();
}

int dump_actor(const std::string& path, const std::string& name, std::ostream& out) {
  const std::unique_ptr<store> db = open_existing(path);
  const actor_report r = read_actor(*db, name);
  json_writer w(out);
  w.begin_object().member("actor", r.name).member("store", path);
  w.key("record");
  if (r.info) {
    w.begin_object()
        .member("bytes", static_cast<std::uint64_t>(*r.record_bytes))
        .member("snapshot_bytes", static_cast<std::uint64_t>(r.snapshot_bytes))
        .member("behavior", r.info->behavior)
        .member("pending_asks", r.info->pending_asks)
        .member("timers", r.info->timers)
        .member("steps", r.info->steps)
        .end_object();
  } else {
    w.null();
  }
  w.key("error");
  if (r.damage.empty())
    w.null();
  else
    w.value(r.damage);
  w.member("quarantined", r.quarantine_reason.has_value()).member("quarantine_reason", r.quarantine_reason);

  const image_outline* o = r.outline ? &*r.outline : nullptr;
  w.key("supervision");
  if (o != nullptr)
    w.begin_object()
        .member("policy", policy_name(o->policy))
        .member("max_restarts", o->max_restarts)
        .member("window_ms", o->window_ms)
        .member("mailbox_capacity", o->capacity)
        .member("initial_snapshot_bytes", static_cast<std::uint64_t>(o->initial.size()))
        .end_object();
  else
    w.null();
  w.key("pending_asks");
  if (o != nullptr) {
    w.begin_array();
    for (const auto& a : o->pending)
      w.begin_object()
          .member("request", a.request)
          .member("deadline", iso_utc(a.deadline))
          .member("deadline_ns", a.deadline)
          .member("continuation", a.then.function)
          .end_object();
    w.end_array();
  } else {
    w.null();
  }
  w.key("timers");
  if (o != nullptr) {
    w.begin_array();
    for (const timer_image& t : o->timers) {
      w.begin_object()
          .member("id", static_cast<std::uint64_t>(t.id))
          .member("due", iso_utc(t.due))
          .member("due_ns", t.due)
          .member("period_ns", t.period)
          .member("payload_bytes", static_cast<std::uint64_t>(t.payload.size()));
      try {
        w.member("message_type", peek_envelope(t.payload, "timer " + std::to_string(t.id) + " of " +
                                                              actor_subject(name)).type);
      } catch (const std::exception& e) {
        w.key("message_type").null().member("error", e.what());
      }
      w.end_object();
    }
    w.end_array();
  } else {
    w.null();
  }
  write_entries(w, "mailbox", r.mailbox);
  write_entries(w, "journal", r.journal);
  w.key("graph");
  if (r.graph) {
    write_graph(w, *r.graph);
  } else {
    w.null();
    w.member("graph_error", r.graph_error);
  }
  w.end_object();
  return 0;
}

int dot_graph(const std::string& path, const std::string& name, std::ostream& out, std::ostream& err,
              const std::string& program) {
  const std::unique_ptr<store> db = open_existing(path);
  const actor_report r = read_actor(*db, name);
  if (!r.graph) {
    err << program << ": " << r.graph_error << '\n';
    return 1;
  }
  const closure_graph& g = *r.graph;
  out << "digraph " << dot_string("actor " + name) << " {\n"
      << "  node [fontname=\"Helvetica\", fontsize=11];\n"
      << "  actor [shape=doubleoctagon, label=" << dot_string("actor \"" + name + "\"") << "];\n";
  for (const graph_vertex& v : g.vertices) {
    const char* shape = v.kind == vertex_kind::closure ? "box" : v.kind == vertex_kind::cell ? "ellipse" : "note";
    std::string style = v.kind == vertex_kind::closure ? "rounded" : "";
    if (v.shared()) style += style.empty() ? "filled" : ",filled";
    out << "  " << v.name() << " [shape=" << shape;
    if (!style.empty()) out << ", style=\"" << style << '"';
    if (v.shared()) out << ", fillcolor=\"gold\"";
    out << ", label=" << dot_string(v.label) << "];\n";
  }
  for (const graph_root& root : g.roots)
    out << "  actor -> " << g.vertices[root.vertex].name() << " [style=dashed, label="
        << dot_string(root.role == "continuation" ? "ask " + std::to_string(root.request) : root.role) << "];\n";
  for (const graph_edge& e : g.edges) {
    out << "  " << g.vertices[e.from].name() << " -> " << g.vertices[e.to].name();
    if (e.closes_cycle) out << " [color=red, penwidth=2]";
    out << ";\n";
  }
  out << "}\n";
  return 0;
}

}  // namespace

int inspect_main(int argc, char** argv, std::ostream& out, std::ostream& err) {
  std::string program = "revenant-inspect";
  if (argc > 0 && argv[0] != nullptr && argv[0][0] != '\0') program = std::filesystem::path(argv[0]).filename().string();
  const std::vector<std::string> args(argv + std::min(argc, 1), argv + std::max(argc, 0));
  const auto bad_usage = [&](const std::string& why) {
    err << program << ": " << why << '\n';
    print_usage(err, program);
    return 2;
  };
  if (args.empty()) return bad_usage("no command given");
  const std::string& command = args[0];
  if (command == "help" || command == "--help" || command == "-h") {
    print_usage(out, program);
    return 0;
  }
  try {
    if (command == "list") {
      if (args.size() != 2) return bad_usage("`list` takes one argument: <store-dir>");
      return list_actors(args[1], out);
    }
    if (command == "dump" || command == "dot") {
      if (args.size() != 3) return bad_usage("`" + command + "` takes two arguments: <store-dir> <actor>");
      return command == "dump" ? dump_actor(args[1], args[2], out) : dot_graph(args[1], args[2], out, err, program);
    }
  } catch (const std::exception& e) {
    err << program << ": " << e.what() << '\n';
    return 1;
  } catch (...) {
    err << program << ": failed with a non-standard exception\n";
    return 1;
  }
  return bad_usage("unknown command \"" + command + "\"");
}

}  // namespace revenant
