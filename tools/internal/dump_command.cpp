// The inspect tool's `dump` command (commands.hpp): one actor as JSON.
#include "tools/internal/commands.hpp"

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/envelope.hpp"
#include "storage/store.hpp"
#include "tools/internal/actor_report.hpp"
#include "tools/internal/closure_graph.hpp"
#include "tools/internal/json_writer.hpp"
#include "tools/internal/text.hpp"

namespace revenant::detail {
namespace {

using detail::timer_image;

std::string_view policy_name(std::uint8_t policy) noexcept {
  switch (static_cast<restart_policy>(policy)) {
    case restart_policy::stop: return "stop";
    case restart_policy::resume: return "resume";
    case restart_policy::restart: return "restart";
  }
  return "unknown";
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

}  // namespace

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
  w.key("order");
  if (r.order) {
    // Names as the record holds them; seen and moved as UTC times (and ns), moved null if never.
    const auto entries = [&](std::string_view key, std::string_view role, const std::vector<order_entry>& list) {
      w.key(key).begin_array();
      for (const order_entry& e : list)
        w.begin_object().member(role, e.name).member("last", e.last).member("seen", iso_utc(e.seen)).member("seen_ns", e.seen).end_object();
      w.end_array();
    };
    w.begin_object();
    entries("sent", "to", r.order->sent);
    entries("handled", "from", r.order->handled);
    w.member("moved", r.order->moved != 0 ? iso_utc(r.order->moved) : std::nullopt).end_object();
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

}  // namespace revenant::detail
