// The relay agent information (option 82, RFC 3046) a client's lease was
// last granted or renewed with, kept beside one shard's lease table so that
// a leasequery (engine/leasequery.hpp) can return it (RFC 4388 6.4.2).
//
// Layout: one fixed slot per lease record, indexed like the record
// (direct-mapped: no free list, no allocation after construction), so the
// 64-byte Lease stays as it is. A slot is tagged with the record's key hash
// and address when written; a slot whose tag no longer matches its record
// (the record went to another client, or the lease to another address) reads
// as empty, so nothing has to clear slots when records are dropped.
// Values longer than kRelayInfoMax bytes are not kept (the caller counts it).
//
// Sized by the runtime at start-up: capacity 0 (no [leasequery] at start)
// keeps nothing and costs nothing. Journaled: the shard's change records
// carry the slot's value (LeaseChange::relay_len, Shard::write_change), the
// store keeps it with the lease (store/mirror.hpp) and restore() and HA's
// replicate() put it back here.
//
// Threads: owned by the shard's lcore, like the lease table.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/lease.hpp"
#include "engine/reserved.hpp"
#include "wire/bytes.hpp"

namespace dorado::engine {

inline constexpr std::size_t kRelayInfoMax = kMaxRelayInfoLen;   // engine/lease.hpp

struct RelayInfoSlot {
  std::uint32_t hash = 0;       // Lease::hash of the record it was written for
  wire::Ipv4 address = 0;       // Lease::address then
  std::uint8_t len = 0;         // 0: nothing kept
  std::array<std::uint8_t, kRelayInfoMax + 1> bytes{};
};
static_assert(sizeof(RelayInfoSlot) == 128);

class RelayInfoTable {
 public:
  RelayInfoTable() = default;
  // One slot per lease record; reserves address space (start-up): a slot's
  // page is resident once written (engine/reserved.hpp; all-zero = empty).
  explicit RelayInfoTable(std::uint32_t capacity) : slots_(capacity) {}

  bool enabled() const noexcept { return !slots_.empty(); }

  // Keeps `value` for record `idx` (now holding hash/address). False when it
  // is longer than kRelayInfoMax (the slot is emptied) or idx is out of range.
  bool store(std::uint32_t idx, std::uint32_t hash, wire::Ipv4 address, wire::Bytes value) noexcept {
    if (idx >= slots_.size()) return false;
    RelayInfoSlot& s = slots_[idx];
    s.hash = hash;
    s.address = address;
    if (value.size() > kRelayInfoMax || value.empty()) {
      s.len = 0;
      return value.empty();
    }
    s.len = static_cast<std::uint8_t>(value.size());
    std::memcpy(s.bytes.data(), value.data(), value.size());
    return true;
  }

  // What was kept for record `idx` if it was written for the same hash and
  // address; empty otherwise.
  wire::Bytes find(std::uint32_t idx, std::uint32_t hash, wire::Ipv4 address) const noexcept {
    if (idx >= slots_.size()) return {};
    const RelayInfoSlot& s = slots_[idx];
    if (s.len == 0 || s.hash != hash || s.address != address) return {};
    return {s.bytes.data(), s.len};
  }

  std::size_t memory_bytes() const noexcept { return slots_.size() * sizeof(RelayInfoSlot); }

 private:
  ReservedArray<RelayInfoSlot> slots_;
};

}  // namespace dorado::engine
