// Byte-level helpers shared by the codec: big-endian loads/stores through
// memcpy (no aliasing or alignment assumptions), MAC and IPv4 value types.
// Pure, header-only, noexcept; usable from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace dorado::wire {

using Bytes = std::span<const std::uint8_t>;
using MutableBytes = std::span<std::uint8_t>;

// IPv4 addresses are carried in host byte order everywhere in dorado;
// conversion happens only at the wire boundary (load_be32/store_be32).
using Ipv4 = std::uint32_t;

struct MacAddr {
  std::array<std::uint8_t, 6> b{};
  friend bool operator==(const MacAddr&, const MacAddr&) = default;
  static constexpr MacAddr broadcast() noexcept {
    return MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  }
};

inline std::uint16_t load_be16(const std::uint8_t* p) noexcept {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_bswap16(v);
}
inline std::uint32_t load_be32(const std::uint8_t* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_bswap32(v);
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) noexcept {
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, sizeof v);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, sizeof v);
}
inline MacAddr load_mac(const std::uint8_t* p) noexcept {
  MacAddr m;
  std::memcpy(m.b.data(), p, 6);
  return m;
}

// Text forms (parse_ipv4, format_ipv4, parse_mac, format_mac): wire/text.hpp.

}  // namespace dorado::wire
