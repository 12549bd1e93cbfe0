// The shard's cache of name decisions (engine/ddns.hpp, Shard::ddns_cache_):
// a new client that sends option 81 has its name decided for the OFFER's
// option 81 (Shard::ddns_reply); the commit after its REQUEST takes that
// decision instead of deciding again when the REQUEST's option 81 is byte
// for byte the DISCOVER's, for the same address, under the same config.
//
// Direct-mapped by lease record index (kDdnsCacheEntries entries of 144
// bytes in reserved memory: pages are only touched with [ddns]). An entry
// is a hint: a use compares everything the decision depends on (the
// option 81 value, the address, the config epoch, which
// Shard::reconfigure() bumps), so a collision, a reused record or a reload
// costs a miss, never a stale name (engine_ddns_test: DdnsTest.Cache*).
// Option 12 alone is decided once per DORA already (no option 81 in the
// OFFER): not kept. The encoded option 81 is not kept either: copying it
// in and out cost what encoding it again does (bench/results/2026-12-07.md,
// "DDNS: one name decision per new client").
//
// Contract: plain data and inline functions, noexcept, no allocation; the
// owning shard's thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>

#include "engine/ddns.hpp"
#include "engine/ddns_encode.hpp"
#include "wire/dhcp.hpp"

namespace dorado::engine {

inline constexpr std::uint32_t kDdnsCacheEntries = 2048;   // a power of two
// Option 81 values (flags, RCODE1, RCODE2, name) up to this long are kept
// with their decision; longer ones are decided at each use.
inline constexpr std::size_t kDdnsCacheInput = 64;

struct DdnsCacheEntry {
  std::uint32_t lease;     // the lease record index it was written for
  std::uint32_t epoch;     // Shard::ddns_epoch_ then; 0: never written (zeroed pages)
  wire::Ipv4 address;      // the decision's address (a generated name spells it)
  std::uint8_t input_len;  // option 81 value `decided` came from; 0: none
  DdnsName decided;
  std::array<std::uint8_t, kDdnsCacheInput> input;
};
static_assert(std::is_trivially_copyable_v<DdnsCacheEntry>, "ReservedArray: zero-filled pages");
static_assert(sizeof(DdnsCacheEntry) == 144);

namespace ddns_detail {

// Whether a[0, n) == b[0, n), n <= 64, reading nothing past n on either
// side: overlapping word compares, as copy_small() moves.
[[gnu::always_inline]] inline bool equal_small(const void* a_v, const void* b_v, std::size_t n) noexcept {
  const auto* a = static_cast<const std::uint8_t*>(a_v);
  const auto* b = static_cast<const std::uint8_t*>(b_v);
  const auto differ = [&](std::size_t at, auto word) noexcept {
    decltype(word) x, y;
    std::memcpy(&x, a + at, sizeof x);
    std::memcpy(&y, b + at, sizeof y);
    return x ^ y;
  };
  if (n >= 16) {
    std::uint64_t d = differ(0, std::uint64_t{}) | differ(8, std::uint64_t{}) | differ(n - 16, std::uint64_t{}) |
                      differ(n - 8, std::uint64_t{});
    if (n > 32)
      d |= differ(16, std::uint64_t{}) | differ(24, std::uint64_t{}) | differ(n - 32, std::uint64_t{}) |
           differ(n - 24, std::uint64_t{});
    return d == 0;
  }
  if (n >= 8) return (differ(0, std::uint64_t{}) | differ(n - 8, std::uint64_t{})) == 0;
  if (n >= 4) return (differ(0, std::uint32_t{}) | differ(n - 4, std::uint32_t{})) == 0;
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace ddns_detail

// The name decision for lease `idx` at `addr` (`e`: its entry): the
// entry's when it was made from the same option 81 value at the same
// address in the same epoch, else decided now into the entry. Without a
// name in option 81 the decision depends on option 12 too (and no OFFER
// made one): decided into `aside`, not kept.
[[gnu::always_inline]] inline const DdnsName& decide_cached(DdnsCacheEntry& e, std::uint32_t epoch,
                                                            const CompiledDdns& policy, DdnsName& aside,
                                                            std::uint32_t idx, const wire::DhcpMessage& m,
                                                            wire::Ipv4 addr) noexcept {
  const std::optional<wire::Bytes> v = m.option(wire::opt::client_fqdn);
  if (!v || v->size() <= 3 || v->size() > kDdnsCacheInput) [[unlikely]] {
    decide_ddns_name(policy, m, addr, aside);
    return aside;
  }
  const std::size_t n = v->size();
  if (e.lease == idx && e.epoch == epoch && e.address == addr && e.input_len == n &&
      ddns_detail::equal_small(e.input.data(), v->data(), n))
    return e.decided;
  decide_ddns_name(policy, m, addr, e.decided);
  e.lease = idx;
  e.epoch = epoch;
  e.address = addr;
  e.input_len = static_cast<std::uint8_t>(n);
  ddns_detail::copy_small(e.input.data(), v->data(), n);
  return e.decided;
}

}  // namespace dorado::engine
