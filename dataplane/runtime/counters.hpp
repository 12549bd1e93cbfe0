// Per-worker counters of the runtime: packets in and out, the runtime's own
// drop reasons (drops.def) and codec errors (wire/errors.def). The shard's
// counters (engine/counters.hpp) are kept by the shard itself.
//
// Threads: each Counter is written only by its worker lcore (dp: rw) and read
// by the control thread (cp: ro). Relaxed atomic load+store (not a locked
// read-modify-write) is as cheap as a plain add and makes the sharing legal.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/histogram.hpp"
#include "wire/errors.hpp"

namespace dorado::runtime {

class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }
  void raise_to(std::uint64_t v) noexcept {   // a maximum instead of a sum
    if (v > v_.load(std::memory_order_relaxed)) v_.store(v, std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint64_t> v_{0};
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
};

enum class Drop : std::uint8_t {
#define DORADO_RUNTIME_DROP(name, text) name,
#include "runtime/drops.def"
#undef DORADO_RUNTIME_DROP
};
inline constexpr std::size_t kDropCount = 0
#define DORADO_RUNTIME_DROP(name, text) + 1
#include "runtime/drops.def"
#undef DORADO_RUNTIME_DROP
    ;
std::string_view drop_name(Drop d) noexcept;
std::string_view drop_text(Drop d) noexcept;

// One per worker, on its own cache lines (the control thread's reads never
// share a line with the worker's other hot state).
struct alignas(64) WorkerCounters {
  Counter rx_packets;
  Counter tx_packets;        // accepted by the NIC (rte_eth_tx_buffer/_flush)
  Counter handed_off;        // sent to another worker's shard
  Counter handed_in;         // received from another worker
  Counter arp_replies;
  Counter icmp_replies;
  Counter lease_changes;     // records passed to the control thread
  Counter idle_sleeps;
  Counter busy_cycles;       // TSC cycles of poll loops that took packets (utilisation, ns/packet)
  Counter acks_held;         // ACKs that waited for their lease record to be durable
  Counter acks_released;     // ... and were sent (acks_held - acks_released are waiting)
  Counter acks_unsent;       // ... and were freed at stop, never durable (clients retry)
  Counter backpressure;      // loops that took no requests: change ring or held-ACK queue full
  Counter ack_hold_max_ns;   // longest wait of an ACK for durability (a maximum, not a sum)
  Counter reloads;           // config switches applied (Runtime::reconfigure)
  Counter reload_pause_max_ns;   // longest switch (Shard::reconfigure), a maximum
  // engine::ReplyCache::Stats, copied every gauge interval (monotonic).
  Counter reply_cache_hits;      // replies built from a cached option block
  Counter reply_cache_fills;     // blocks (re)encoded
  Counter reply_cache_generic;   // replies built option by option (build_reply)
  std::array<Counter, kLatencyBuckets> ack_hold_ns;   // histogram of those waits, ns
  std::array<Counter, kDropCount> drops;
  std::array<Counter, wire::kErrorCount> wire_errors;

  void drop(Drop d, std::uint64_t n = 1) noexcept { drops[static_cast<std::size_t>(d)].add(n); }
  void wire_error(wire::Error e) noexcept { wire_errors[static_cast<std::size_t>(e)].add(); }
};

}  // namespace dorado::runtime
