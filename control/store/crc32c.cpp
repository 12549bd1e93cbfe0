#include "store/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace dorado::store {
namespace {

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<std::uint32_t, 256> kTable = make_table();

// Both work on the inverted register; the callers invert in and out.
std::uint32_t update_table(std::uint32_t c, const std::uint8_t* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) c = kTable[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t update_sse42(std::uint32_t c, const std::uint8_t* p,
                                                             std::size_t n) noexcept {
  std::uint64_t c64 = c;
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c64);
  while (n > 0) {
    c32 = _mm_crc32_u8(c32, *p++);
    --n;
  }
  return c32;
}
#endif

using UpdateFn = std::uint32_t (*)(std::uint32_t, const std::uint8_t*, std::size_t) noexcept;

UpdateFn pick() noexcept {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2")) return update_sse42;
#endif
  return update_table;
}

UpdateFn update_fn() noexcept {
  static const UpdateFn fn = pick();   // set once, read-only afterwards
  return fn;
}

}  // namespace

std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
  return ~update_fn()(~crc, data.data(), data.size());
}

std::uint32_t crc32c_table(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
  return ~update_table(~crc, data.data(), data.size());
}

bool crc32c_hardware() noexcept { return update_fn() != update_table; }

}  // namespace dorado::store
