// Reads one actor's report from the store (actor_report.hpp): through the store's typed reads
// (storage/store.hpp), the image's outline and its closure graph.
#include "tools/internal/actor_report.hpp"

#include <exception>
#include <utility>

#include "actors/snapshot_error.hpp"

namespace revenant::detail {
namespace {

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

}  // namespace

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
    try {
      r.order = view.order.empty() ? order_image{} : read_order_tables(view.order, subject);
    } catch (const std::exception& e) {
      r.damage = e.what();  // the image may still be readable: go on
    }
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

}  // namespace revenant::detail
