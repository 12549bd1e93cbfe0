// The engine's part of high availability (docs/ha.md, docs/architecture.md
// "High availability"): which clients this server answers, and which
// addresses it may hand out, when it is one of a failover pair.
//
// Who answers. The control thread's HA state machine (control/ha/) decides
// what this server serves and publishes it to every worker as one HaServe
// value (Shard::set_ha_serve, read between bursts):
//   none     waiting, syncing, in maintenance: no client is answered;
//   buckets  normal operation: only clients whose RFC 3074 bucket is in
//            HaConfig::buckets (load balancing: this server's share of the
//            256 buckets; hot standby: all for the primary, none for the
//            standby);
//   all      partner-down (or a lone server): every client.
// The bucket is RFC 3074's Pearson hash (section 6, its mixing table, seeded
// with the key length) over option 61's value, else chaddr[0..hlen): the
// function ISC dhcpd and Kea share, so a mixed estate splits clients alike.
//
// Which addresses. Every pool's 64-address blocks are split between the two
// servers by the block's address alone, ha_side_of_block_base(): the same
// on both servers whatever their worker counts, and unchanged by reloads.
// A server allocates new addresses only in its own blocks (Allocator's
// owned bits) until the control thread sets HaConfig::all_blocks (in
// partner-down, once the MCLT has passed, by a reconfigure). Leases the
// partner replicates are installed wherever their address is
// (Shard::replicate), so renewals and conflicts see every lease.
//
// With HA, a block's shard is (base >> 7) % workers instead of
// (base >> 6) % workers (shard_of_block_base, allocator.hpp), so that every
// worker owns blocks of both sides.
//
// Contract: header-only, plain data, noexcept, no allocation; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/bytes.hpp"

namespace dorado::engine {

// RFC 3074 section 6: "A 'mixing table' of 256 distinct values, in
// pseudo-random order" (also ISC dhcpd's loadb_mx_tbl and Kea's HA hook).
inline constexpr std::array<std::uint8_t, 256> kRfc3074MixTable = {
    251, 175, 119, 215, 81,  14,  79,  191, 103, 49,  181, 143, 186, 157, 0,   232, 31,  32,  55,
    60,  152, 58,  17,  237, 174, 70,  160, 144, 220, 90,  57,  223, 59,  3,   18,  140, 111, 166,
    203, 196, 134, 243, 124, 95,  222, 179, 197, 65,  180, 48,  36,  15,  107, 46,  233, 130, 165,
    30,  123, 161, 209, 23,  97,  16,  40,  91,  219, 61,  100, 10,  210, 109, 250, 127, 22,  138,
    29,  108, 244, 67,  207, 9,   178, 204, 74,  98,  126, 249, 167, 116, 34,  77,  193, 200, 121,
    5,   20,  113, 71,  35,  128, 13,  182, 94,  25,  226, 227, 199, 75,  27,  41,  245, 230, 224,
    43,  225, 177, 26,  155, 150, 212, 142, 218, 115, 241, 73,  88,  105, 39,  114, 62,  255, 192,
    201, 145, 214, 168, 158, 221, 148, 154, 122, 12,  84,  82,  163, 44,  139, 228, 236, 205, 242,
    217, 11,  187, 146, 159, 64,  86,  239, 195, 42,  106, 198, 118, 112, 184, 172, 87,  2,   173,
    117, 176, 229, 247, 253, 137, 185, 99,  164, 102, 147, 45,  66,  231, 52,  141, 211, 194, 206,
    246, 238, 56,  110, 78,  248, 63,  240, 189, 93,  92,  51,  53,  183, 19,  171, 72,  50,  33,
    104, 101, 69,  8,   252, 83,  120, 76,  135, 85,  54,  202, 125, 188, 213, 96,  235, 136, 208,
    162, 129, 190, 132, 156, 38,  47,  1,   7,   254, 24,  4,   216, 131, 89,  21,  28,  133, 37,
    153, 149, 80,  170, 68,  6,   169, 234, 151};

// RFC 3074 section 6's hash: seeded with the key's length, the bytes taken
// last to first through the mixing table. 0..255.
inline constexpr std::uint8_t rfc3074_bucket(std::span<const std::uint8_t> key) noexcept {
  auto hash = static_cast<std::uint8_t>(key.size());
  for (std::size_t i = key.size(); i > 0;) hash = kRfc3074MixTable[hash ^ key[--i]];
  return hash;
}

enum class HaServe : std::uint8_t {
  none,      // answer nobody (waiting, syncing, maintenance)
  buckets,   // answer the clients of HaConfig::buckets
  all,       // answer every client (partner-down)
};

// A set of RFC 3074 buckets.
struct BucketSet {
  std::array<std::uint64_t, 4> bits{};
  constexpr bool has(std::uint8_t b) const noexcept { return (bits[b >> 6] >> (b & 63u)) & 1u; }
  constexpr void add(std::uint8_t b) noexcept { bits[b >> 6] |= 1ull << (b & 63u); }
  // Buckets [first, last) (last <= 256).
  static constexpr BucketSet range(unsigned first, unsigned last) noexcept {
    BucketSet s;
    for (unsigned b = first; b < last && b < 256; ++b) s.add(static_cast<std::uint8_t>(b));
    return s;
  }
};

// The HA part of an engine config (EngineConfig::ha, copied into
// CompiledConfig::ha by compile()).
struct HaConfig {
  bool enabled = false;
  std::uint8_t side = 0;        // 0: the primary's blocks, 1: the partner's (secondary/standby)
  bool all_blocks = false;      // allocate in both sides' blocks (partner-down after MCLT)
  BucketSet buckets;            // clients this server answers in HaServe::buckets
  // Load balancing: a client whose `secs` is above this is answered by
  // either server (dhcpd's load-balance-max-seconds); 0 = off.
  std::uint16_t max_answer_secs = 0;
  // A client of the partner's buckets whose `secs` is above this is
  // reported as unacked (the partner may be down); 0xffff = never.
  std::uint16_t unacked_secs = 0xffff;
};

// The HA side whose free addresses a block is: alternate blocks by address.
inline constexpr std::uint8_t ha_side_of_block_base(wire::Ipv4 base) noexcept {
  return static_cast<std::uint8_t>((base >> 6) & 1u);
}

// Whether HA lets this server allocate in the block at `base`.
inline constexpr bool ha_allocates(const HaConfig& ha, wire::Ipv4 base) noexcept {
  return !ha.enabled || ha.all_blocks || ha_side_of_block_base(base) == ha.side;
}

// Per-shard ring of the client hashes last seen retrying for the partner
// (secs above HaConfig::unacked_secs): the control thread counts distinct
// ones to decide partner-down (max_unacked_clients).
inline constexpr std::uint32_t kHaUnackedRing = 64;

}  // namespace dorado::engine
