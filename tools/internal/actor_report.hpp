// What the inspect tool reads from a store: the store opened without writing, and one actor's
// report (record, outline, mailbox, journal, quarantine, closure graph), damage named, not fatal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "storage/envelope.hpp"
#include "runtime/internal/order_image.hpp"
#include "storage/store.hpp"
#include "tools/internal/closure_graph.hpp"
#include "tools/internal/outline.hpp"

namespace revenant::detail {

// A request the tool cannot serve (missing store or actor): exit code 1, message as is.
class inspect_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Opens the existing store at path: a missing one is refused, not created, and nothing is written.
// Throws inspect_error, naming a store another process holds open.
std::unique_ptr<store> open_existing(const std::string& path);

// How errors name the actor: actor "name".
std::string actor_subject(std::string_view name);

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
  // The order tables (docs/migration.md 9): empty for a version-1 record; unset if they could
  // not be read (damage says why).
  std::optional<order_image> order;
  std::vector<mailbox_entry> mailbox;
  std::vector<mailbox_entry> journal;  // replayed over the record at activation; the graph is the record's
  std::optional<closure_graph> graph;
  std::string graph_error;  // why graph is empty
};

// Reads everything db holds about the actor name. Throws inspect_error if the store holds nothing
// of it; a record that cannot be read, or a graph that cannot be rebuilt (a function this program
// does not register), is reported in damage or graph_error instead.
actor_report read_actor(const store& db, const std::string& name);

}  // namespace revenant::detail
