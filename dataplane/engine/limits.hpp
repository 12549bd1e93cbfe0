// Limits against starvation (issue 16): at most `max_leases_per_circuit`
// active leases per circuit and at most `max_new_clients_per_second` new
// clients per circuit and second. A request above them is counted
// (DropReason::limit_leases, limit_rate) and not answered; a client that
// holds an active lease is never refused by them (renewals, rebinding,
// a DISCOVER of a bound client).
//
// The circuit (LimitBy, `limit_by`): option 82 circuit-id (sub-option 1),
// else its remote-id (sub-option 2), else the MAC (chaddr) for a request
// without option 82; `remote_id`: remote-id, else the MAC; `mac`: the MAC.
// Each count is per scope: the global [limits] one, or a [[subnet]] that
// sets its own limit keys (its leases counted apart from the others).
//
// Several workers: leases of one circuit land on different shards (shards
// are by client key), so the counts live in one LimitTable shared by every
// shard of the server, sized at start-up (twice the lease records of all
// shards, a power of two; address space reserved, resident as written:
// engine/reserved.hpp). Lock-free: each slot is one 64-bit word, a 40-bit
// tag of the key hash and a 24-bit lease count, changed by CAS only (an
// increment checks the tag and the limit in the same CAS), plus a 64-bit
// rate word (second, new clients in it). Open addressing, linear probing in
// a window of kLimitWindow slots; a slot once claimed never goes back to
// empty, so a lookup stops at the first empty slot; a slot whose count is 0
// is claimed again by another key (its tag replaced by CAS from the exact
// word read, so a concurrent increment of the old key fails and looks
// again). A slot with a count > 0 keeps its tag: a shard remembers the slot
// each of its leases is charged to (Shard's per-record limit slots) and
// releases exactly it. No window room (a table far fuller than its size
// allows): the request is let through and Event::limit_table_full counted.
//
// Exactness: a lease is reserved at the REQUEST (or the DISCOVER with
// option 80, RFC 4039 rapid commit) that would commit it
// (increment-if-below-limit, one CAS), bound to the lease if the shard
// commits it, given back otherwise, so two workers never both pass the
// last free place. The rate of a circuit is per wall second, as the shard's
// `now` (injected). Two first requests of one circuit at the same instant
// on two workers may claim two slots (then that circuit counts in two
// halves until they empty); a claimed rate word may be reset by a
// reclaim. Both only under races the tests cannot provoke on purpose;
// documented in docs/architecture.md "Limits".
//
// Threads: any; every member function is noexcept, allocation-free and
// lock-free except the constructor (mmap).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/lease.hpp"
#include "engine/reserved.hpp"
#include "wire/bytes.hpp"
#include "wire/dhcp.hpp"

namespace dorado::engine {

enum class LimitBy : std::uint8_t { circuit_id, remote_id, mac };
// "circuit_id", "remote_id", "mac".
std::string_view limit_by_name(LimitBy by) noexcept;

// [limits] or a [[subnet]]'s limit keys (control/config/limits.cpp).
// 0: not set.
struct LimitConfig {
  std::uint32_t max_leases = 0;           // max_leases_per_circuit
  std::uint32_t max_new_per_second = 0;   // max_new_clients_per_second
  LimitBy by = LimitBy::circuit_id;       // limit_by
  bool by_set = false;                    // limit_by given (a subnet's: else the global's)
  bool any() const noexcept { return max_leases != 0 || max_new_per_second != 0 || by_set; }
};

// One subnet's limits, compiled (CompiledConfig::subnet_limits).
struct CompiledLimits {
  std::uint32_t max_leases = 0;           // 0: no lease limit
  std::uint32_t max_new_per_second = 0;   // 0: no rate limit
  LimitBy by = LimitBy::circuit_id;
  std::uint64_t scope = 0;                // 0: global; else (1 << 32) | subnet id
  bool active() const noexcept { return max_leases != 0 || max_new_per_second != 0; }
};

// The circuit key hash of a request or lease: `option82` the raw option 82
// value (may be empty), `chaddr` the first 6 bytes of chaddr. Pure.
std::uint64_t limit_key_hash(LimitBy by, wire::Bytes option82, const wire::MacAddr& chaddr,
                             std::uint64_t scope) noexcept;

inline constexpr std::uint32_t kLimitWindow = 32;        // probe window (slots)
inline constexpr std::uint64_t kLimitCountMask = (std::uint64_t{1} << 24) - 1;

class LimitTable {
 public:
  // Room for `keys` circuits at most half full: capacity is the power of two
  // >= 2 * keys, at least 64, at most 2^30 slots (16 GiB of address space).
  explicit LimitTable(std::uint64_t keys);

  std::uint32_t capacity() const noexcept { return static_cast<std::uint32_t>(slots_.size()); }

  // Leases counted for `hash` now (0 if none).
  std::uint32_t count(std::uint64_t hash) const noexcept;
  std::uint32_t count_at(std::uint32_t slot) const noexcept {
    return static_cast<std::uint32_t>(
        std::atomic_ref<const std::uint64_t>(slots_[slot].word).load(std::memory_order_relaxed) & kLimitCountMask);
  }

  enum class Take : std::uint8_t { ok, full, no_room };
  struct Taken {
    Take status;
    std::uint32_t slot;   // when ok
  };
  // One lease more for `hash` if fewer than `max` are counted (max 0: no
  // limit). ok: counted in `slot` (give it back with release()).
  Taken take(std::uint64_t hash, std::uint32_t max) noexcept;
  // One lease less in `slot` (from take()).
  void release(std::uint32_t slot) noexcept;
  // One new client for `hash` in second `now` if fewer than `max` came in
  // it: false when over. no_room counts as allowed (the caller counts it).
  Take admit_new(std::uint64_t hash, std::uint32_t max, Seconds now) noexcept;

  std::size_t memory_bytes() const noexcept { return slots_.reserved_bytes(); }

 private:
  struct Slot {
    std::uint64_t word;   // tag << 24 | count; 0: never used (atomic_ref)
    std::uint64_t rate;   // second << 32 | new clients in it (atomic_ref)
  };
  static std::uint64_t tag_of(std::uint64_t hash) noexcept { return ((hash >> 24) | 1) & ((std::uint64_t{1} << 40) - 1); }
  // The slot holding `hash`'s tag, else one claimed for it (count 0), else kNil.
  std::uint32_t find_or_claim(std::uint64_t hash) noexcept;

  ReservedArray<Slot> slots_;
  std::uint32_t mask_ = 0;
};

}  // namespace dorado::engine
