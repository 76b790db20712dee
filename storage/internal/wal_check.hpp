// Reads RocksDB's write-ahead log files to say where one is damaged and what lies after the
// damage, so that a store that refuses to open can name the file and the offset, and a store
// opened with accept_wal_loss can report what it dropped (docs/format.md, 8.13).
//
// The layout read here is RocksDB's log format, which RocksDB documents and keeps stable
// across versions: 32 KiB blocks of physical records, each a 7-byte header (masked CRC32C of
// the type byte and payload, u16 payload length, u8 type; 11 bytes with a u32 log number for
// the "recyclable" types) and a payload; a logical record is one full fragment or a first, any
// middles and a last; a block's tail shorter than a header is zero padding. Each logical
// record of a WAL is one WriteBatch: u64 sequence number, u32 count of operations, operations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace revenant::detail {

// The first damage found in a log, and what follows it.
struct wal_damage {
  std::string file;             // path of the damaged log file
  std::uint64_t offset = 0;     // byte offset of the first damaged physical record in it
  std::string what;             // what is wrong there ("checksum mismatch", ...)
  std::uint64_t bytes_after = 0;    // bytes from the damage to the end of the logs
  std::uint64_t batches_after = 0;  // intact write batches after the damage (in every later log too)
  std::uint64_t writes_after = 0;   // operations those batches hold
};

// Scans one log's bytes. A torn tail — a record cut short by the end of the file, or zero
// bytes to the end — is where a crash mid-write leaves a log, not damage. Everything else that
// does not read as the format says (a checksum that does not match, a length past its block,
// an unknown type, fragments out of order) is damage; the scan resynchronises at the next
// block to count the intact batches after it.
std::optional<wal_damage> find_log_damage(std::string_view bytes, const std::string& file);

// Scans every log file (NNNNNN.log) in a RocksDB directory in log-number order and returns the
// first damage; batches and bytes of the later logs count as after it. Unreadable files are
// reported as damage at offset 0.
std::optional<wal_damage> find_wal_damage(const std::string& directory);

}  // namespace revenant::detail
