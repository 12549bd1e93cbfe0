// Client key: how a shard identifies a client (docs/architecture.md "The packet path", step 3).
// Key = option 61 client-id if present, else (htype, chaddr), each prefixed
// with a kind byte so the two spaces never collide. The same 64-bit hash picks
// the owning shard (high half, shard_for_hash) and the lease-table bucket
// (low half), so the runtime and every shard agree without sharing state.
//
// Contract: pure, noexcept, no allocation; any thread. Cost: ~5 ns for a
// 7-byte key, one multiply per 8 bytes.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#include "engine/lease.hpp"
#include "wire/bytes.hpp"
#include "wire/dhcp.hpp"

namespace dorado::engine {

struct ClientKey {
  std::uint64_t hash = 0;
  std::uint8_t len = 0;                         // 0 = no key
  std::array<std::uint8_t, kMaxKeyLen> bytes;   // only the first `len` are set

  wire::Bytes view() const noexcept { return {bytes.data(), len}; }
  std::uint8_t kind() const noexcept { return len != 0 ? bytes[0] : 0; }
};

static_assert(std::endian::native == std::endian::little, "keys are hashed as little-endian words");

namespace key_hash {

inline constexpr std::uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull;

inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

// The hash of `len` key bytes; word(j) gives bytes [8j, 8j + 8) as a
// little-endian word, zero past `len`.
template <typename Word>
inline std::uint64_t of_words(std::size_t len, Word&& word) noexcept {
  std::uint64_t h = mix(k0 ^ len, k1);
  std::size_t i = 0;
  for (; i + 8 <= len; i += 8) h = mix(h ^ word(i / 8), k1 ^ i);
  if (i < len) h = mix(h ^ word(i / 8), k0 ^ i);
  return mix(h, k0 ^ k1);
}

// Bytes [p, p + n), n <= 8, as a little-endian word; reads nothing past
// p + n (overlapping loads instead of a copy into a zeroed word).
inline std::uint64_t load_le(const std::uint8_t* p, std::size_t n) noexcept {
  if (n == 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  }
  if (n >= 4) {
    std::uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    return a | (std::uint64_t{b} << (8 * (n - 4)));
  }
  if (n == 0) return 0;
  return p[0] | (std::uint64_t{p[n / 2]} << (8 * (n / 2))) | (std::uint64_t{p[n - 1]} << (8 * (n - 1)));
}

}  // namespace key_hash

// wyhash-style multiply-fold over 8-byte words; fixed seed so every process
// agrees.
inline std::uint64_t hash_key_bytes(wire::Bytes key) noexcept {
  return key_hash::of_words(key.size(), [key](std::size_t j) noexcept {
    const std::size_t at = 8 * j;
    return key_hash::load_le(key.data() + at, std::min<std::size_t>(key.size() - at, 8));
  });
}

// Owning shard of a key hash: multiply-shift over the high half (no modulo).
inline std::uint32_t shard_for_hash(std::uint64_t hash, std::uint32_t shard_count) noexcept {
  return static_cast<std::uint32_t>(((hash >> 32) * shard_count) >> 32);
}

// Keys of up to 24 bytes (htype + chaddr, and client-ids of up to 23 bytes:
// the ones clients send) are assembled as words in registers, hashed from
// them and stored whole. Built byte by byte in the key and then loaded back
// as words for the hash, every such load waited for the narrower stores
// that wrote its bytes (a store-forwarding stall: ~40% of client_key_of's
// samples, perf annotate of engine_bench BM_EngineDoraExisting).
inline void set_short_key(ClientKey& k, const std::array<std::uint64_t, 3>& w, std::size_t len) noexcept {
  static_assert(kMaxKeyLen >= sizeof w);
  std::memcpy(k.bytes.data(), w.data(), sizeof w);   // zero past len
  k.len = static_cast<std::uint8_t>(len);
  k.hash = key_hash::of_words(len, [&w](std::size_t j) noexcept { return w[j]; });
}

// Key from htype + chaddr (chaddr.size() <= 16), into k.
inline void set_key_hw(ClientKey& k, std::uint8_t htype, wire::Bytes chaddr) noexcept {
  const std::size_t n = std::min<std::size_t>(chaddr.size(), 16);
  const std::uint64_t c0 = key_hash::load_le(chaddr.data(), std::min<std::size_t>(n, 8));
  const std::uint64_t c1 = n > 8 ? key_hash::load_le(chaddr.data() + 8, n - 8) : 0;
  set_short_key(k,
                {kKeyKindHw | std::uint64_t{htype} << 8 | c0 << 16, c0 >> 48 | c1 << 16, c1 >> 48},
                2 + n);
}

// Key from a client-id, into k; len = 0 when `id` is empty or longer than
// kMaxKeyLen-1.
inline void set_key_id(ClientKey& k, wire::Bytes id) noexcept {
  const std::size_t n = id.size();
  if (n == 0 || n > kMaxKeyLen - 1) {
    k.len = 0;
    k.hash = 0;
    return;
  }
  if (n <= 23) {
    const std::uint8_t* p = id.data();
    const std::uint64_t d0 = key_hash::load_le(p, std::min<std::size_t>(n, 8));
    const std::uint64_t d1 = n > 8 ? key_hash::load_le(p + 8, std::min<std::size_t>(n - 8, 8)) : 0;
    const std::uint64_t d2 = n > 16 ? key_hash::load_le(p + 16, n - 16) : 0;
    set_short_key(k, {kKeyKindClientId | d0 << 8, d0 >> 56 | d1 << 8, d1 >> 56 | d2 << 8}, 1 + n);
    return;
  }
  k.bytes[0] = kKeyKindClientId;
  std::memcpy(k.bytes.data() + 1, id.data(), n);
  k.len = static_cast<std::uint8_t>(1 + n);
  k.hash = hash_key_bytes(k.view());
}

inline ClientKey client_key_hw(std::uint8_t htype, wire::Bytes chaddr) noexcept {
  ClientKey k;
  set_key_hw(k, htype, chaddr);
  return k;
}

inline ClientKey client_key_id(wire::Bytes id) noexcept {
  ClientKey k;
  set_key_id(k, id);
  return k;
}

enum class KeyStatus : std::uint8_t { ok, none, too_long };

struct KeyResult {
  KeyStatus status = KeyStatus::none;
  ClientKey key;
};

// The key of a parsed request: client-id if present and non-empty, else
// htype + chaddr if hlen > 0. Written into `r` (the hot path keeps one per
// request slot: a returned KeyResult is 170 bytes to copy).
inline void set_client_key(KeyResult& r, const wire::DhcpMessage& m) noexcept {
  if (auto id = m.client_id(); id && !id->empty()) {
    set_key_id(r.key, *id);   // len 0: longer than a key holds
    r.status = r.key.len != 0 ? KeyStatus::ok : KeyStatus::too_long;
    return;
  }
  if (m.hlen == 0) {
    r.status = KeyStatus::none;
    r.key.len = 0;
    r.key.hash = 0;
    return;
  }
  set_key_hw(r.key, m.htype, m.chaddr());
  r.status = KeyStatus::ok;
}

inline KeyResult client_key_of(const wire::DhcpMessage& m) noexcept {
  KeyResult r;
  set_client_key(r, m);
  return r;
}

}  // namespace dorado::engine
