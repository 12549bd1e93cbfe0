// Engine value types shared by the lease table, the allocator, the handler and
// (through LeaseChange) the control plane: time, the hot lease record, the
// lease change record sent for persistence.
//
// Contract: plain data, header-only, no allocation; usable from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "wire/bytes.hpp"

namespace dorado::engine {

// Time is whole seconds since the Unix epoch as uint32 (valid until 2106),
// always passed in by the caller: the engine never reads a clock. It must not
// go backwards; if it does, expiry is merely delayed, never brought forward.
using Seconds = std::uint32_t;

inline constexpr std::uint32_t kNil = 0xffffffffu;   // "no index" everywhere
inline constexpr Seconds kTimeMax = 0xfffffffeu;     // expiry saturates here

// Client key bytes: one kind byte, then the client-id (option 61) or
// htype + chaddr. 160 covers RFC 4361 client-ids with the longest DUID (130).
inline constexpr std::size_t kMaxKeyLen = 160;
inline constexpr std::size_t kInlineKeyLen = 24;     // longer keys go to the key store
inline constexpr std::size_t kMaxHostnameLen = 63;   // longer hostnames are truncated
inline constexpr std::uint8_t kKeyKindHw = 1;        // htype + chaddr
inline constexpr std::uint8_t kKeyKindClientId = 2;  // option 61 value

enum class LeaseState : std::uint8_t {
  unused = 0,   // record on the free list
  offered,      // address held for an OFFER until `expires`
  active,       // bound lease until `expires`
  expired,      // inactive: address free but still sticky for this client
  released,     // inactive, like expired, ended by a RELEASE
  declined,     // no client: address in probation until `expires`
};

inline constexpr std::size_t kLeaseStateCount = 6;
// "unused", "offered", "active", "expired", "released", "declined".
inline constexpr const char* lease_state_name(LeaseState s) noexcept {
  constexpr const char* names[kLeaseStateCount] = {"unused",  "offered",  "active",
                                                   "expired", "released", "declined"};
  const auto i = static_cast<std::size_t>(s);
  return i < kLeaseStateCount ? names[i] : "invalid";
}

inline constexpr bool is_inactive(LeaseState s) noexcept {
  return s == LeaseState::expired || s == LeaseState::released;
}

// Lease::flags bits.
inline constexpr std::uint8_t kLeasePersisted = 1;   // the store holds a record for it
inline constexpr std::uint8_t kLeaseLongKey = 2;     // key bytes live in the key store
inline constexpr std::uint8_t kLeaseInWheel = 4;     // linked in a timer-wheel bucket
inline constexpr std::uint8_t kLeaseInFifo = 8;      // linked in the inactive FIFO
// Restored after a change of shard count (Shard::restore, restore_hold):
// kLeaseForeign: a client's active lease on an address in a block another
//   shard owns; renewed only for its remaining time, dropped at expiry.
// kLeaseHold: a keyless record (state declined) in the block owner keeping
//   that address from the pool until the foreign lease's end.
inline constexpr std::uint8_t kLeaseForeign = 16;
inline constexpr std::uint8_t kLeaseHold = 32;
// kLeaseWithdrawn (always with kLeaseForeign): after a config reload
//   (Shard::reconfigure), an active lease whose address no pool of the new
//   config lets this shard hand out (pool removed or shrunk, address
//   excluded, reserved for another client, in a split-scope peer's part, or
//   its subnet removed). Kept until it expires, never extended: a REQUEST
//   for it is NAKed (and the record dropped), a DISCOVER moves the client
//   to a pool address. Lease::subnet is kNoSubnet when no subnet holds it.
inline constexpr std::uint8_t kLeaseWithdrawn = 64;
// kLeaseProbing (state offered): conflict detection is probing the address
//   (engine/probe.hpp); the offer is not sent yet, a DISCOVER retransmitted
//   meanwhile is refused (probe_pending).
inline constexpr std::uint8_t kLeaseProbing = 128;
inline constexpr std::uint16_t kNoSubnet = 0xffff;

// The hot record: one cache line. Owned by one shard's LeaseTable; other
// threads never see it (they get LeaseChange copies).
struct alignas(64) Lease {
  std::uint32_t hash = 0;          // low 32 bits of the key hash (index probing)
  wire::Ipv4 address = 0;
  Seconds start = 0;               // last commit or renewal (cltt)
  Seconds expires = 0;             // active: end; offered: hold end; declined:
                                   // probation end; inactive: when it ended
  std::uint32_t next = kNil;       // timer-wheel bucket, inactive FIFO or free list
  std::uint32_t prev = kNil;
  std::uint32_t hostname = kNil;   // hostname store chunk
  std::uint16_t subnet = 0;        // index into CompiledConfig::subnets
  LeaseState state = LeaseState::unused;
  std::uint8_t flags = 0;
  std::uint8_t key_len = 0;        // 0: record without a client (declined)
  std::uint8_t htype = 0;
  wire::MacAddr chaddr;            // first 6 bytes of chaddr, for export/leasequery
  // Key bytes when key_len <= kInlineKeyLen, else [0..3] = key store chunk.
  std::array<std::uint8_t, kInlineKeyLen> key{};
};
static_assert(sizeof(Lease) == 64, "the hot lease record must stay one cache line");
static_assert(std::is_trivially_copyable_v<Lease>);

enum class LeaseOp : std::uint8_t {
  commit = 1,   // new binding (DISCOVER/REQUEST, INIT-REBOOT, address change)
  renew,        // same client, same address, extended
  release,      // client released it (address stays sticky for the client)
  decline,      // client declined it: address in probation until `expires`
  expire,       // lease ran out (or, with key_len 0, a probation ended)
  reclaim,      // the server dropped the client's record for this address
};

// One state change, produced by the owning shard and copied through an SPSC
// ring to the control thread for the journal. Fixed size, trivially copyable.
struct LeaseChange {
  std::uint32_t seq = 0;           // per-shard sequence number (wraps), 1 for the first
  LeaseOp op = LeaseOp::commit;
  std::uint8_t key_len = 0;        // bytes used in `key` (0 for probation end)
  std::uint8_t htype = 0;
  std::uint8_t hostname_len = 0;
  std::uint32_t subnet_id = 0;     // SubnetConfig::id, stable across reloads
  wire::Ipv4 address = 0;
  Seconds start = 0;               // cltt
  Seconds expires = 0;             // lease end, probation end, or time of the event
  wire::MacAddr chaddr;
  std::uint8_t shard = 0;          // worker index (< 128); bit 7: kChangeFromPartner (engine.hpp)
  // Option 82 (relay agent information) the lease was granted or renewed
  // with, kept after the key: key[key_len .. key_len + relay_len) (see
  // relay_info_of / set_relay_info below). 0: none. Journal record version 3
  // (store/format.hpp), replicated by HA with the record.
  std::uint8_t relay_len = 0;
  std::array<std::uint8_t, kMaxKeyLen> key{};   // kind byte + bytes (see client_key.hpp), then option 82
  std::array<char, kMaxHostnameLen> hostname{};   // commit records only (hostname_len 0 else); no terminator
  // kDdnsForward | kDdnsReverse (engine/ddns.hpp): the DNS updates the server
  // owes this lease's name; set on commit records with a name, kept by the
  // store for the lease (0 on records without a name).
  std::uint8_t ddns = 0;
};
static_assert(std::is_trivially_copyable_v<LeaseChange>);
static_assert(sizeof(LeaseChange) == 256, "ring slots are sized for 256-byte records");

// The longest option 82 value a lease keeps (engine/relay_info.hpp's slots,
// the journal's version 3 records).
inline constexpr std::size_t kMaxRelayInfoLen = 118;

// The option 82 value a change record carries (empty: none, or a relay_len
// that does not fit after the key).
inline wire::Bytes relay_info_of(const LeaseChange& c) noexcept {
  if (c.relay_len == 0 || c.relay_len > kMaxRelayInfoLen ||
      std::size_t{c.key_len} + c.relay_len > kMaxKeyLen)
    return {};
  return {c.key.data() + c.key_len, c.relay_len};
}

// Puts `value` after the record's key (set key_len first). False, and no
// option 82 kept, when it is longer than kMaxRelayInfoLen or does not fit in
// what the key leaves of LeaseChange::key (keys over 42 bytes with a long
// option 82). An empty value clears it (true).
inline bool set_relay_info(LeaseChange& c, wire::Bytes value) noexcept {
  c.relay_len = 0;
  if (value.empty()) return true;
  if (value.size() > kMaxRelayInfoLen || c.key_len + value.size() > kMaxKeyLen) return false;
  for (std::size_t i = 0; i < value.size(); ++i) c.key[c.key_len + i] = value[i];
  c.relay_len = static_cast<std::uint8_t>(value.size());
  return true;
}

}  // namespace dorado::engine
