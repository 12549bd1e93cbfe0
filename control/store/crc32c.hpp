// CRC-32C (Castagnoli, iSCSI polynomial 0x1EDC6F41, reflected), the checksum
// of every journal record, segment and snapshot header and snapshot trailer.
//
// Contract: pure functions, any thread. crc32c(data) is the standard value
// (crc32c("123456789") == 0xE3069283, RFC 3720 B.4); crc32c(more, crc32c(a))
// == crc32c(a ++ more), so a long region can be checked piecewise.
//
// Cost: SSE4.2 crc32 instruction 8 bytes at a time when the CPU has it
// (chosen once, at the first call), else a 1 KiB table byte by byte (about
// 8x slower).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace dorado::store {

std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc = 0) noexcept;

// The portable table version, exposed so tests compare both paths.
std::uint32_t crc32c_table(std::span<const std::uint8_t> data, std::uint32_t crc = 0) noexcept;

// True when crc32c() uses the SSE4.2 instruction.
bool crc32c_hardware() noexcept;

}  // namespace dorado::store
