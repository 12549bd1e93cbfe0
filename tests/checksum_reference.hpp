// Test-only reference for RFC 1071 checksums, written independently of
// dataplane/wire/frame.cpp (16 bits at a time, the textbook way) so that the
// codec's own checksum code is checked against something it does not share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dorado::test {

inline std::uint32_t ref_add(std::uint32_t acc, const std::uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i + 1 < n; i += 2) acc += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2) acc += static_cast<std::uint32_t>(p[n - 1]) << 8;
  return acc;
}

inline std::uint16_t ref_fold(std::uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint16_t>(~acc & 0xffff);
}

inline std::uint16_t get16(const std::vector<std::uint8_t>& b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

}  // namespace dorado::test
