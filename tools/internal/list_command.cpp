// The inspect tool's `list` command (commands.hpp): a table of every actor the store holds.
#include "tools/internal/commands.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/migration.hpp"
#include "storage/snapshot.hpp"
#include "storage/store.hpp"
#include "tools/internal/actor_report.hpp"

namespace revenant::detail {
namespace {

struct listing_row {
  std::string name;
  std::optional<std::size_t> record_bytes;
  std::size_t snapshot_bytes = 0;
  std::optional<actor_record_info> info;
  std::uint64_t mailbox = 0;
  std::optional<std::string> quarantine_reason;
  std::string damage;
};

// One line of the migrations section: what the store holds about a move of one actor
// (docs/format.md 8.15).
std::string describe_package(const incoming_package& in, const std::string& actor) {
  std::string line = "incoming from " + in.source + " (migration " + std::to_string(in.id) + "), not runnable: ";
  try {
    const migration_package p = decode_migration_package(in.package, "the incoming package of " + actor_subject(actor));
    line += "record " + std::to_string(p.record.size()) + " bytes, " + std::to_string(p.journal.size()) +
            " journal entries, " + std::to_string(p.mailbox.size()) + " messages" + (p.wake ? ", wakes at open" : "");
  } catch (const std::exception& e) {
    line += std::string("damaged: ") + e.what();
  }
  return line;
}

}  // namespace

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
      (void)detail::open_snapshot(view.snapshot, subject);  // framing and checksums
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
  // Migrations (docs/format.md 8.15), by actor: a marker, a tombstone, a package record.
  std::map<std::string, std::vector<std::string>> moves;
  std::map<std::string, migration_note> markers;
  db->for_each_migration_marker([&](std::string_view actor, const migration_note& note) { markers[std::string(actor)] = note; });
  db->for_each_tombstone([&](std::string_view actor, const migration_note& note) {
    const auto marker = markers.find(std::string(actor));
    const bool confirmed = marker == markers.end() || marker->second.id != note.id;
    moves[std::string(actor)].push_back("moved to " + note.node + " (migration " + std::to_string(note.id) + ")" +
                                        (confirmed ? "" : ", not yet confirmed by " + note.node));
    if (!confirmed) markers.erase(marker);
  });
  for (const auto& [actor, note] : markers)
    moves[actor].push_back("moving to " + note.node + " (migration " + std::to_string(note.id) +
                           "): held from running until the move commits or aborts");
  std::map<std::string, bool> incoming;
  db->for_each_incoming([&](std::string_view actor, const incoming_package& in) {
    moves[std::string(actor)].push_back(describe_package(in, std::string(actor)));
    incoming[std::string(actor)] = true;
  });

  const std::vector<std::string> header = {"actor", "behavior", "record", "snapshot", "mailbox", "asks", "timers",
                                           "quarantined"};
  const std::vector<bool> numeric = {false, false, true, true, true, true, true, false};
  std::vector<std::vector<std::string>> table = {header};
  std::size_t quarantined = 0, damaged = 0;
  for (auto& [name, row] : rows) {
    // Messages forwarded to an actor still arriving wait for its package (docs/migration.md 3).
    if (!row.record_bytes && row.damage.empty() && !incoming.count(name))
      row.damage = actor_subject(name) + ": no record in the store";
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
  if (!moves.empty()) {
    out << "migrations:\n";
    for (const auto& [actor, lines] : moves)
      for (const std::string& line : lines) out << "  " << actor << ": " << line << '\n';
  }
  out << rows.size() << (rows.size() == 1 ? " actor" : " actors") << ", " << quarantined << " quarantined, " << damaged
      << " damaged";
  if (!moves.empty()) out << ", " << moves.size() << (moves.size() == 1 ? " migration record" : " migration records");
  out << '\n';
  return 0;
}

}  // namespace revenant::detail
