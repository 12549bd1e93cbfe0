// What the operator sees of a running dorado: one immutable Snapshot of every
// counter and gauge, built by the control thread (collect.hpp) and read by
// the metrics HTTP thread, DPDK's telemetry thread and the warning checks.
//
// Threads and ownership (who reads and writes what):
//  - Workers never see any of this. They publish counters and gauges as
//    relaxed atomics in their own structs (runtime/counters.hpp,
//    runtime/worker.hpp; `dp: rw, cp: ro`); only the control thread reads
//    those, through Runtime::snapshot()/gauges(), when it builds a Snapshot.
//  - The control thread is the only writer of a SnapshotBoard: publish()
//    swaps in a new shared_ptr<const Snapshot> under a mutex held for a
//    pointer copy (never while collecting), about once a second or sooner
//    when a reader asked (wanted()).
//  - Readers (the metrics thread, the telemetry thread) call latest() or
//    fresh(): they get a shared_ptr to an immutable Snapshot and may keep
//    it as long as they like; they never touch worker or store memory.
//
// Pure data and logic: no DPDK, no sockets.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dorado::obs {

struct NamedValue {
  std::string name;
  std::uint64_t value = 0;
};

// Lease record states, as engine::LeaseState numbers them.
inline constexpr std::size_t kLeaseStates = 6;
inline constexpr std::array<const char*, kLeaseStates> kLeaseStateNames = {
    "unused", "offered", "active", "expired", "released", "declined"};

struct WorkerStats {
  unsigned index = 0;
  unsigned lcore = 0;
  // Every counter of the worker and its shard, zeros included, named as
  // Runtime::counters_text() prints them: "rx_packets", "drop.<reason>",
  // "wire.<error>", "engine.drop.<reason>", "engine.<event>", ...
  std::vector<NamedValue> counters;
  std::array<std::uint64_t, kLeaseStates> lease_states{};
  std::uint64_t held_acks = 0;
  std::uint64_t change_ring_used = 0, change_ring_size = 0;
  std::uint64_t handoff_in_used = 0, handoff_in_size = 0;

  std::uint64_t counter(std::string_view name) const noexcept;
};

struct PortStats {
  unsigned id = 0;
  std::string name;                  // DPDK device name
  std::vector<NamedValue> counters;  // ipackets, opackets, imissed, ierrors, oerrors, rx_nombuf
};

// One pool range of the config (or, in Snapshot::subnets, all the dynamic
// addresses of a subnet): how many addresses it holds that can be handed
// out (less exclusions, reservations, network/broadcast/server) and how
// many are free in all shards together. used = size - free: leased,
// offered, declined. A pool's free count comes from a background pass of
// the workers (exact once they have run ~1 ms per 65536 addresses); a
// subnet's is kept exact by the allocator.
struct PoolStats {
  std::string subnet;   // "10.99.0.0/16"
  std::string pool;     // "10.99.1.0-10.99.1.255" ("" for a subnet)
  std::uint64_t size = 0;
  std::uint64_t free = 0;
  std::uint64_t used() const noexcept { return size >= free ? size - free : 0; }
};

struct StoreStats {
  bool present = false;            // false: durability "off"
  bool writable = true;
  std::uint64_t records = 0, bytes = 0, commits = 0, write_errors = 0;
  std::uint64_t snapshots = 0, snapshot_errors = 0;
  std::uint64_t pending_records = 0;   // journal lag: taken, not yet durable
  std::uint64_t leases = 0;            // leases in the store's mirror
  std::uint64_t fsync_ns_last = 0, fsync_ns_max = 0;
  std::uint64_t commit_records = 0;    // journal-lag warning threshold ([store] commit_records
                                       // in fsync mode); 0: no lag warning
};

// The HA service's part (docs/ha.md "Metrics"), filled by the daemon's hook
// (Collector::set_ha_source) when [ha] is configured.
struct HaStats {
  bool present = false;
  std::string state;                   // Kea's name: "hot-standby", ...
  bool connected = false;
  std::uint64_t lag_records = 0;       // ours the partner has not acknowledged
  double lag_seconds = 0;
  std::uint64_t sent = 0, received = 0, applied = 0, unchanged = 0, rejected = 0;
  std::uint64_t resyncs = 0;
  double last_resync_seconds = 0;
  std::uint64_t connection_failures = 0, auth_failures = 0;
  std::uint64_t epoch = 0;
};
// The DDNS service's part (docs/dns.md "Counters"), filled by the daemon's
// hook (Collector::set_ddns_source) when [ddns] is configured. The counter
// names and help come from control/ddns/service.hpp's one table.
struct DdnsStats {
  bool present = false;
  struct Counter {
    std::string name, help;   // "update_sent" -> dorado_ddns_update_sent_total
    std::uint64_t value = 0;
  };
  std::vector<Counter> counters;
  std::vector<std::pair<std::string, std::uint64_t>> refused;   // by rcode name ("REFUSED", "BADSIG")
  std::uint64_t queue_depth = 0;   // addresses with updates waiting or in flight
  double oldest_wait_s = 0;        // age of the oldest of them
  std::uint64_t registered = 0;    // addresses with records in DNS
};

// The MADCAP server's part (docs/madcap.md "Counters"), filled by the
// daemon's hook (Collector::set_madcap_source) when [madcap] is configured;
// the names and help come from control/madcap/counters.def.
struct MadcapStats {
  bool present = false;
  std::vector<DdnsStats::Counter> counters;   // "acks" -> dorado_madcap_acks_total
  std::uint64_t leases = 0;                   // multicast leases held now
};

// Every HA state name, for the one-hot dorado_ha_state family.
inline constexpr const char* kHaStateNames[] = {"waiting", "syncing", "ready", "hot-standby", "load-balancing",
                                                "partner-down", "communication-recovery", "in-maintenance",
                                                "partner-in-maintenance", "terminated"};

struct Snapshot {
  std::uint64_t generation = 0;    // set by SnapshotBoard::publish
  double unix_time = 0;            // when it was collected
  double uptime_s = 0;
  std::vector<WorkerStats> workers;
  std::vector<PortStats> ports;
  std::vector<PoolStats> pools;     // config order
  std::vector<PoolStats> subnets;   // subnets, sorted by address
  StoreStats store;
  HaStats ha;
  DdnsStats ddns;
  MadcapStats madcap;
  // ACK wait for durability, all workers (ns, bucket floors).
  std::uint64_t ack_hold_count = 0, ack_hold_p50 = 0, ack_hold_p99 = 0, ack_hold_max = 0;

  // Sum of a named counter over workers.
  std::uint64_t total(std::string_view name) const noexcept;
  std::array<std::uint64_t, kLeaseStates> lease_states() const noexcept;
};

// The Prometheus page (text format 0.0.4) for a snapshot; the metric names
// are listed in docs/operations.md ("Prometheus metrics"). Pure.
std::string render_metrics(const Snapshot& s);

// Latest snapshot, shared between the control thread (writer) and readers.
class SnapshotBoard {
 public:
  // Control thread. Stamps the generation and wakes fresh() waiters.
  void publish(std::shared_ptr<Snapshot> s);
  // Control thread, each loop: a reader is waiting for a fresher snapshot.
  bool wanted() const noexcept { return wanted_.load(std::memory_order_relaxed); }
  // Any thread: the current snapshot (null before the first publish).
  std::shared_ptr<const Snapshot> latest() const;
  // Any thread: asks the control thread for a new snapshot and waits up to
  // `wait` for it; returns the newest one it has then (maybe null).
  std::shared_ptr<const Snapshot> fresh(std::chrono::milliseconds wait);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const Snapshot> current_;
  std::uint64_t generation_ = 0;
  std::atomic<bool> wanted_{false};
};

// Warnings the control thread raises from two consecutive snapshots (each
// has a key for rate limiting and a text). Pure.
struct Warning {
  std::string key;
  std::string text;
};
struct WarningThresholds {
  unsigned pool_percent = 90;        // pool used >= this % of its size; 0 = never
  unsigned ring_percent = 90;        // change/handoff ring at least this full
  std::uint64_t fsync_ms = 100;      // last fsync took longer
};
std::vector<Warning> check_warnings(const Snapshot& now, const Snapshot* before,
                                    const WarningThresholds& t);

}  // namespace dorado::obs
