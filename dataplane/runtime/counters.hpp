// Per-worker counters of the runtime: packets in and out, durability,
// reloads, the reply cache (counters.def: names, metrics, Kea names), the
// runtime's own drop reasons (drops.def) and codec errors (wire/errors.def).
// The shard's counters (engine/counters.hpp) are kept by the shard itself.
//
// Threads: each Counter is written only by its worker lcore (dp: rw) and read
// by the control thread (cp: ro). Relaxed atomic load+store (not a locked
// read-modify-write) is as cheap as a plain add and makes the sharing legal.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/counters.hpp"
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

// How a worker counter's value reads (counters.def `kind`).
enum class CounterKind : std::uint8_t {
  sum,   // a count
  max,   // a maximum (Counter::raise_to), not a sum
  tsc,   // TSC cycles, shown in ns
};

// One line of counters.def.
struct WorkerCounterInfo {
  std::string_view name;     // in the counters text, statistic-get-all, telemetry
  CounterKind kind;
  std::string_view metric;   // /metrics counter family, "" for none
  std::string_view help;
  std::string_view kea;      // Kea's statistic name, "" for none
};
inline constexpr WorkerCounterInfo kWorkerCounterInfo[] = {
#define DORADO_WORKER_COUNTER(field, name, kind, metric, help, kea) {name, CounterKind::kind, metric, help, kea},
#include "runtime/counters.def"
};

// One DORADO_MESSAGE_COUNTER line of counters.def: a shard event counting
// one DHCP message type received or sent.
enum class MessageDirection : std::uint8_t { received, sent };
struct MessageCounterInfo {
  engine::Event event;
  std::string_view name;    // the counter's name: "engine." + event_name(event)
  MessageDirection direction;
  std::string_view type;    // /metrics label type
  std::string_view kea;     // Kea's statistic name
};
inline constexpr MessageCounterInfo kMessageCounterInfo[] = {
#define DORADO_MESSAGE_COUNTER(event, direction, type, kea) \
  {engine::Event::event, "engine." #event, MessageDirection::direction, type, kea},
#include "runtime/counters.def"
};

// One per worker, on its own cache lines (the control thread's reads never
// share a line with the worker's other hot state). The Counter members are
// counters.def's, in its order.
struct alignas(64) WorkerCounters {
#define DORADO_WORKER_COUNTER(field, name, kind, metric, help, kea) Counter field;
#include "runtime/counters.def"
  std::array<Counter, kLatencyBuckets> ack_hold_ns;   // histogram of ACK waits for durability, ns
  std::array<Counter, kDropCount> drops;
  std::array<Counter, wire::kErrorCount> wire_errors;

  void drop(Drop d, std::uint64_t n = 1) noexcept { drops[static_cast<std::size_t>(d)].add(n); }
  void wire_error(wire::Error e) noexcept { wire_errors[static_cast<std::size_t>(e)].add(); }
};

// A consistent-enough copy of every counter, for printing (control thread).
struct WorkerSnapshot {
  unsigned lcore = 0;                    // worker lcore, or port id for Runtime::port_snapshot()
  std::vector<std::pair<std::string, std::uint64_t>> counters;   // non-zero ones, named
};

// Appends the worker's own non-zero counters to out.counters, named:
// counters.def's in its order (tsc ones in ns: ns = cycles * ns_per_tsc_q32
// >> 32), then "drop.<reason>" and "wire.<error>". Control thread (relaxed
// reads).
void append_counters(const WorkerCounters& c, std::uint64_t ns_per_tsc_q32, WorkerSnapshot& out);

// The counters text (Runtime::counters_text): "counters (all workers):"
// with the sums over `workers` (and ack_hold_ns.p50/p99/p999 when `ack_hold`
// counted any), then "port N:" per port, then "worker W (lcore L):" per
// worker when there are several; one "  name value" line per counter.
std::string counters_text(std::span<const WorkerSnapshot> workers, std::span<const WorkerSnapshot> ports,
                          const LatencySummary& ack_hold);

}  // namespace dorado::runtime
