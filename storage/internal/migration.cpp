// The migration package (docs/format.md 8.15).
#include "storage/migration.hpp"

#include <cstring>
#include <stdexcept>

#include "storage/internal/crc32c.hpp"

namespace revenant {
namespace {

constexpr char package_magic[4] = {'R', 'V', 'M', 'P'};
constexpr std::uint16_t package_version = 1;
// magic, version, flags, name length, wake, record length, two counts, CRC.
constexpr std::size_t package_minimum = 4 + 2 + 2 + 2 + 1 + 4 + 4 + 4 + 4;
constexpr std::size_t record_header_minimum = 30;  // docs/format.md 8.3
constexpr std::size_t entry_minimum = 8 + 4;       // seq, envelope length

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void check_entries(const std::vector<package_entry>& entries, const char* list) {
  std::uint64_t last = 0;
  for (const package_entry& e : entries) {
    if (e.seq <= last)
      throw std::invalid_argument(std::string("revenant: migration package: ") + list + " entry seq " +
                                  std::to_string(e.seq) + " is 0 or not above the one before (" + std::to_string(last) + ")");
    if (e.envelope.size() > 0xffffffffu)
      throw std::invalid_argument(std::string("revenant: migration package: ") + list + " envelope over 4 GiB");
    last = e.seq;
  }
}

void put_entries(std::string& out, const std::vector<package_entry>& entries) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(entries.size()));
  for (const package_entry& e : entries) {
    put<std::uint64_t>(out, e.seq);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(e.envelope.size()));
    out.append(e.envelope);
  }
}

// Reads fields front to back from the bytes before the CRC; every failure names its offset.
class package_reader {
 public:
  package_reader(std::string_view body, const std::string& subject) : body_(body), subject_(subject) {}

  [[noreturn]] void fail(snapshot_errc code, std::size_t at, const std::string& detail) const {
    throw snapshot_error(code, at, "migration package: " + detail, subject_);
  }
  template <class T>
  T read(const char* field) {
    if (body_.size() - at_ < sizeof(T))
      fail(snapshot_errc::truncated, at_, std::string(field) + " needs " + std::to_string(sizeof(T)) + " bytes, " +
                                              std::to_string(body_.size() - at_) + " remain");
    T v;
    std::memcpy(&v, body_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  // n bytes announced by the length field that ended at length_at.
  std::string_view bytes(std::size_t n, std::size_t length_at, const char* field) {
    if (n > body_.size() - at_)
      fail(snapshot_errc::truncated, length_at, std::string(field) + " announces " + std::to_string(n) + " bytes, " +
                                                    std::to_string(body_.size() - at_) + " remain");
    std::string_view out = body_.substr(at_, n);
    at_ += n;
    return out;
  }
  std::vector<package_entry> entries(const char* list) {
    const std::size_t count_at = at_;
    const auto count = read<std::uint32_t>(list);
    // Checked before anything is reserved: each entry takes at least entry_minimum bytes.
    if (count > (body_.size() - at_) / entry_minimum)
      fail(snapshot_errc::truncated, count_at, std::string(list) + " announces " + std::to_string(count) +
                                                   " entries, more than the " + std::to_string(body_.size() - at_) +
                                                   " bytes that remain can hold");
    std::vector<package_entry> out;
    out.reserve(count);
    std::uint64_t last = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
      const std::size_t seq_at = at_;
      const auto seq = read<std::uint64_t>("seq");
      if (seq == 0 || seq <= last)
        fail(snapshot_errc::malformed, seq_at, std::string(list) + " entry " + std::to_string(i) + " has seq " +
                                                   std::to_string(seq) + ", not above " + std::to_string(last));
      last = seq;
      const std::size_t length_at = at_;
      const auto length = read<std::uint32_t>("envelope length");
      out.push_back(package_entry{seq, std::string(bytes(length, length_at, "envelope"))});
    }
    return out;
  }
  std::size_t at() const noexcept { return at_; }
  bool done() const noexcept { return at_ == body_.size(); }

 private:
  std::string_view body_;
  const std::string& subject_;
  std::size_t at_ = 0;
};

}  // namespace

std::string encode_migration_package(const migration_package& p) {
  if (p.actor.empty() || p.actor.size() > 0xffff || p.actor.find('\0') != std::string::npos)
    throw std::invalid_argument("revenant: migration package: the actor name must be 1 to 65,535 bytes without a 00 byte");
  if (p.record.size() < record_header_minimum || p.record.size() > 0xffffffffu)
    throw std::invalid_argument("revenant: migration package of actor \"" + p.actor + "\": a record of " +
                                std::to_string(p.record.size()) + " bytes is no actor record");
  check_entries(p.journal, "journal");
  check_entries(p.mailbox, "mailbox");
  std::size_t size = package_minimum + p.actor.size() + p.record.size();
  for (const auto* list : {&p.journal, &p.mailbox})
    for (const package_entry& e : *list) size += entry_minimum + e.envelope.size();
  std::string out;
  out.reserve(size);
  out.append(package_magic, sizeof package_magic);
  put<std::uint16_t>(out, package_version);
  put<std::uint16_t>(out, 0);
  put<std::uint16_t>(out, static_cast<std::uint16_t>(p.actor.size()));
  out.append(p.actor);
  put<std::uint8_t>(out, p.wake ? 1 : 0);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(p.record.size()));
  out.append(p.record);
  put_entries(out, p.journal);
  put_entries(out, p.mailbox);
  put<std::uint32_t>(out, detail::crc32c(out.data(), out.size()));
  return out;
}

migration_package decode_migration_package(std::string_view bytes, const std::string& subject) {
  if (bytes.size() < package_minimum)
    throw snapshot_error(snapshot_errc::truncated, bytes.size(),
                         "migration package: " + std::to_string(bytes.size()) + " bytes, shorter than the smallest package",
                         subject);
  if (std::memcmp(bytes.data(), package_magic, sizeof package_magic) != 0)
    throw snapshot_error(snapshot_errc::bad_magic, 0, "migration package: does not start with \"RVMP\"", subject);
  const std::size_t crc_at = bytes.size() - 4;
  std::uint32_t stored;
  std::memcpy(&stored, bytes.data() + crc_at, sizeof stored);
  if (stored != detail::crc32c(bytes.data(), crc_at))
    throw snapshot_error(snapshot_errc::checksum_mismatch, crc_at, "migration package: CRC32C does not match", subject);
  package_reader in(bytes.substr(0, crc_at), subject);
  in.read<std::uint32_t>("magic");
  if (const auto version = in.read<std::uint16_t>("version"); version != package_version)
    in.fail(snapshot_errc::unsupported_version, 4,
            "version " + std::to_string(version) + ", this build reads " + std::to_string(package_version));
  if (const auto flags = in.read<std::uint16_t>("flags"); flags != 0)
    in.fail(snapshot_errc::malformed, 6, "flags are " + std::to_string(flags) + ", expected 0");
  migration_package p;
  const std::size_t name_at = in.at();
  const auto name_length = in.read<std::uint16_t>("name length");
  if (name_length == 0) in.fail(snapshot_errc::malformed, name_at, "the actor name is empty");
  p.actor = std::string(in.bytes(name_length, name_at, "actor name"));
  if (p.actor.find('\0') != std::string::npos) in.fail(snapshot_errc::malformed, name_at, "the actor name holds a 00 byte");
  const std::size_t wake_at = in.at();
  const auto wake = in.read<std::uint8_t>("wake");
  if (wake > 1) in.fail(snapshot_errc::malformed, wake_at, "wake is " + std::to_string(wake) + ", expected 0 or 1");
  p.wake = wake == 1;
  const std::size_t record_at = in.at();
  const auto record_length = in.read<std::uint32_t>("record length");
  p.record = std::string(in.bytes(record_length, record_at, "record"));
  if (record_length < record_header_minimum)
    in.fail(snapshot_errc::malformed, record_at,
            "a record of " + std::to_string(record_length) + " bytes is shorter than a record header");
  p.journal = in.entries("journal");
  p.mailbox = in.entries("mailbox");
  if (!in.done()) in.fail(snapshot_errc::malformed, in.at(), "bytes remain after the mailbox");
  return p;
}

}  // namespace revenant
