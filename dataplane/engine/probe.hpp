// Conflict detection before an OFFER (docs/architecture.md "Conflict
// detection"): the policy ([conflict] in the config) and ProbeTable, the
// bounded table of one worker's probes in flight.
//
// The engine decides which OFFERs are probed (Shard::on_discover: an
// address nobody held for `probe_after` seconds; never a renewal, a
// client's own active lease or a reservation) and answers them with
// Decision::probe instead of an OFFER; the runtime probes the address
// (runtime/worker_probe.cpp: ARP or ICMP echo from the DPDK port), holds
// the DISCOVER in a ProbeTable entry, and then either decides it again
// (Shard::redecide_discover: no answer, the OFFER goes) or puts the address
// in probation (Shard::probe_conflict: an answer) and decides it again for
// the next address.
//
// Threads: ProbeTable is per worker (owning lcore only). It allocates once,
// in its constructor; every other member is O(1) (amortised: the index is
// open addressing with linear probing at load <= 1/2), noexcept, no
// allocation, no locks.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "engine/lease.hpp"
#include "wire/bytes.hpp"

namespace dorado::engine {

using wire::Ipv4;

enum class ProbeMode : std::uint8_t {
  off,    // offer at once
  icmp,   // ICMP echo to the address (through the relay for relayed requests)
  arp,    // ARP request (RFC 5227 probe: sender address 0.0.0.0) on the
          // client's segment; a relayed request is probed by ICMP instead
          // (ARP does not cross the relay)
};
// "off", "icmp", "arp".
const char* probe_mode_name(ProbeMode m) noexcept;
std::optional<ProbeMode> probe_mode_from(const char* text) noexcept;

inline constexpr std::uint32_t kProbeMaxProbes = 3;
inline constexpr std::uint32_t kProbeMaxTimeoutMs = 10000;

// [conflict] (EngineConfig::probe): the defaults of every subnet, and the
// worker's timer (timeout, probes: global only).
struct ProbePolicy {
  ProbeMode mode = ProbeMode::off;
  std::uint32_t probe_after_s = 60;    // an address held by nobody for this long is probed
  std::uint32_t timeout_ms = 500;      // wait after each probe, 1..kProbeMaxTimeoutMs
  std::uint32_t probes = 1;            // probes per address, 1..kProbeMaxProbes
};

// A subnet's own choice (SubnetConfig::probe; unset: the policy's).
struct SubnetProbe {
  std::optional<ProbeMode> mode;
  std::optional<std::uint32_t> probe_after_s;
};

// Compiled: one entry per CompiledConfig::subnets (same order).
struct CompiledProbeSubnet {
  ProbeMode mode = ProbeMode::off;
  std::uint32_t probe_after_s = 0;
};

// Addresses in flight per worker: above it an OFFER goes unprobed
// (counted: probe_unprobed). 4096 probes of 500 ms are 8192 new clients
// a second per worker probed.
inline constexpr std::uint32_t kProbeSlots = 4096;
// Addresses one DISCOVER may try: after this many conflicts in a row the
// next address is offered unprobed.
inline constexpr std::uint8_t kProbeMaxChain = 4;

// One held DISCOVER and the address probed for it.
struct ProbeEntry {
  void* payload = nullptr;      // the held request (runtime: its rte_mbuf)
  std::uint64_t deadline = 0;   // caller's clock (TSC): next send or the end
  Ipv4 address = 0;
  Ipv4 source = 0;              // ICMP source: the subnet's server identifier
  std::uint16_t seq = 0;        // ICMP sequence of the last probe sent
  std::uint8_t sends_left = 0;  // probes still to send after the one in flight
  std::uint8_t chain = 0;       // addresses probed for this DISCOVER before this one
  ProbeMode mode = ProbeMode::off;
  bool live = false;            // false: answered (payload taken), waiting to leave the ring
};

// A FIFO of entries (the timeout is the same for all, so deadlines only
// grow from head to tail) plus an index address -> entry. An answered entry
// is taken out of the index at once and leaves the ring when it reaches the
// head.
class ProbeTable {
 public:
  explicit ProbeTable(std::uint32_t capacity = kProbeSlots);   // rounded up to a power of two

  std::uint32_t size() const noexcept { return tail_ - head_; }   // live and dead
  std::uint32_t capacity() const noexcept { return mask_ + 1; }
  bool full() const noexcept { return size() == capacity(); }
  bool empty() const noexcept { return tail_ == head_; }
  std::uint32_t live() const noexcept { return live_; }

  // Appends `e` (live) and indexes its address. False when full, or when
  // that address is already in flight (the caller offers unprobed).
  bool push(const ProbeEntry& e) noexcept;
  // The oldest entry (live or not); precondition !empty().
  ProbeEntry& head() noexcept { return ring_[head_ & mask_]; }
  // Drops the head; a live one also leaves the index.
  void pop() noexcept;
  // The live entry probing `addr`, or null.
  ProbeEntry* find(Ipv4 addr) noexcept;
  // The live entry of `addr` is answered: out of the index, marked dead,
  // its payload returned (null if none is live).
  void* take(Ipv4 addr) noexcept;

 private:
  std::uint32_t slot_of(Ipv4 addr) const noexcept {
    return static_cast<std::uint32_t>((addr * 0x9e3779b1u) >> shift_) & index_mask_;
  }
  void unindex(Ipv4 addr) noexcept;

  std::unique_ptr<ProbeEntry[]> ring_;
  std::unique_ptr<std::uint32_t[]> index_;   // ring position + 1; 0 empty
  std::uint32_t mask_ = 0, index_mask_ = 0;
  unsigned shift_ = 0;
  std::uint32_t head_ = 0, tail_ = 0;
  std::uint32_t live_ = 0;
};

}  // namespace dorado::engine
