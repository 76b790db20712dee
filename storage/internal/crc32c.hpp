// CRC32C (Castagnoli), as used for snapshot checksums (docs/format.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace revenant::detail {

// CRC32C of size bytes at data, continuing from crc (0 for a fresh checksum).
// Uses the SSE4.2 instruction when the CPU has it, a table otherwise; both agree.
std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0) noexcept;

// The portable table-driven implementation, exposed so tests can check both agree.
std::uint32_t crc32c_portable(const void* data, std::size_t size, std::uint32_t crc = 0) noexcept;

}  // namespace revenant::detail
