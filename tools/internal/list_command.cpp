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

}  // namespace revenant::detail
