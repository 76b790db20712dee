// The store's migration records (docs/format.md 8.15): the source's marker, its tombstone after
// the commit, and the target's incoming package; their writes in a commit_batch and their reads.
#include <stdexcept>

#include "storage/commit_batch.hpp"
#include "storage/internal/keys.hpp"
#include "storage/internal/store_state.hpp"
#include "storage/store.hpp"
#include "storage/wire.hpp"

namespace revenant {

using detail::actor_subject;
using detail::scan_range;
using detail::slice;

namespace {

constexpr std::string_view marker_magic = "RVMK";
constexpr std::string_view tombstone_magic = "RVMT";
constexpr std::string_view incoming_magic = "RVMI";

std::string migration_head(std::string_view magic, std::uint64_t id, std::string_view node) {
  if (id == 0) throw std::invalid_argument("revenant: a migration id is never 0");
  if (!wire::is_valid_node_name(node))
    throw std::invalid_argument("revenant: \"" + std::string(node) + "\" is not a node name (docs/wire.md 5.2)");
  return detail::encode_migration_head(magic, id, node);
}

}  // namespace

void commit_batch::put_migration_marker(std::string_view actor, std::uint64_t id, std::string_view target) {
  rep_->batch.Put(rep_->target->migrating, slice(actor), migration_head(marker_magic, id, target));
}
void commit_batch::clear_migration_marker(std::string_view actor) { rep_->batch.Delete(rep_->target->migrating, slice(actor)); }
void commit_batch::put_tombstone(std::string_view actor, std::uint64_t id, std::string_view target) {
  rep_->batch.Put(rep_->target->moved, slice(actor), migration_head(tombstone_magic, id, target));
}
void commit_batch::clear_tombstone(std::string_view actor) { rep_->batch.Delete(rep_->target->moved, slice(actor)); }
void commit_batch::put_incoming(std::string_view actor, std::uint64_t id, std::string_view source,
                                std::string_view package) {
  std::string value = migration_head(incoming_magic, id, source);
  value.append(package);
  rep_->batch.Put(rep_->target->incoming, slice(actor), value);
}
void commit_batch::clear_incoming(std::string_view actor) { rep_->batch.Delete(rep_->target->incoming, slice(actor)); }

namespace {

// A migration record's head (and, for a package record, what follows it), or a store_error
// naming the family and the key.
std::string_view read_migration_head(const detail::store_state& st, std::string_view family, std::string_view magic,
                                     std::string_view key, std::string_view value, std::uint64_t& id,
                                     std::string_view& node, bool rest_allowed) {
  std::string_view rest;
  std::string why = detail::decode_migration_head(value, magic, id, node, rest);
  if (why.empty() && !rest_allowed && !rest.empty()) why = "bytes follow its head";
  if (!why.empty())
    throw store_error("revenant: store \"" + st.path + "\": " + std::string(family) + " entry " +
                      detail::printable_key(key) + " is damaged: " + why + " (docs/format.md 8.15)");
  return rest;
}

migration_note read_note(const detail::store_state& st, std::string_view family, std::string_view magic,
                         std::string_view key, std::string_view value) {
  migration_note note;
  std::string_view node;
  read_migration_head(st, family, magic, key, value, note.id, node, false);
  note.node = std::string(node);
  return note;
}

incoming_package read_incoming(const detail::store_state& st, std::string_view key, std::string_view value) {
  incoming_package in;
  std::string_view source;
  in.package = std::string(read_migration_head(st, "incoming", incoming_magic, key, value, in.id, source, true));
  in.source = std::string(source);
  return in;
}

}  // namespace

std::optional<migration_note> store::migration_marker(std::string_view name) const {
  auto value = state_->get(state_->migrating, name, "the migration marker of " + actor_subject(name));
  if (!value) return std::nullopt;
  return read_note(*state_, "migrating", marker_magic, name, *value);
}

std::optional<migration_note> store::tombstone(std::string_view name) const {
  auto value = state_->get(state_->moved, name, "the tombstone of " + actor_subject(name));
  if (!value) return std::nullopt;
  return read_note(*state_, "moved", tombstone_magic, name, *value);
}

std::optional<incoming_package> store::incoming(std::string_view name) const {
  auto value = state_->get(state_->incoming, name, "the package record of " + actor_subject(name));
  if (!value) return std::nullopt;
  return read_incoming(*state_, name, *value);
}

void store::for_each_migration_marker(detail::function_ref<void(std::string_view, const migration_note&)> fn) const {
  scan_range(*state_, state_->migrating, nullptr, nullptr, "the migrating family",
             [&](std::string_view actor, std::string_view value) {
               fn(actor, read_note(*state_, "migrating", marker_magic, actor, value));
               return true;
             });
}

void store::for_each_tombstone(detail::function_ref<void(std::string_view, const migration_note&)> fn) const {
  scan_range(*state_, state_->moved, nullptr, nullptr, "the moved family", [&](std::string_view actor, std::string_view value) {
    fn(actor, read_note(*state_, "moved", tombstone_magic, actor, value));
    return true;
  });
}

void store::for_each_incoming(detail::function_ref<void(std::string_view, const incoming_package&)> fn) const {
  scan_range(*state_, state_->incoming, nullptr, nullptr, "the incoming family",
             [&](std::string_view actor, std::string_view value) {
               fn(actor, read_incoming(*state_, actor, value));
               return true;
             });
}

}  // namespace revenant
