// The DPDK side of dorado: EAL, ports and queues, one worker per lcore with
// its own engine shard, SPSC handoff rings between workers, lease-change
// rings to the control thread, ARP/ICMP for the server address, TX.
//
// Ownership and threads: the main thread (the control thread, on the main
// lcore) initialises the EAL, creates the Runtime, starts it, calls
// poll_control() in its loop and finally stop(); it destroys the Runtime
// before cleanup_eal(). Workers run only inside the runtime. request_stop()
// is async-signal-safe. No DPDK type appears in this header.
//
// Packet path per worker (docs/architecture.md "The packet path"; the loop shape of
// DPDK l3fwd and VPP ip4-input): rx burst -> prefetch ahead -> classify each
// packet: ARP/ICMP for the server address answered in place; DHCP: owner =
// shard_for_hash(client key); a packet owned by another worker goes into
// that peer's outbox, enqueued in bulk on the pair's SPSC ring; owned ones
// are parsed into a per-worker chunk of up to 32 -> one
// Shard::handle_burst() per chunk (its lease-table misses overlap) -> the
// replies, built into a per-worker scratch and copied into the request's
// mbuf -> TX buffer (flushed every 100 us or when the worker runs idle).
// Counters are published once per burst.
//
// Mbuf ownership: an mbuf belongs to exactly one place at a time: the NIC,
// the worker that received it, one handoff ring, one TX buffer. Every drop
// frees it where it is counted; stop() frees what the rings still hold once
// every worker has returned, so a Runtime leaves its pools full.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/config.hpp"
#include "engine/counters.hpp"
#include "engine/engine.hpp"
#include "engine/trace.hpp"
#include "runtime/counters.hpp"
#include "runtime/histogram.hpp"

namespace dorado::runtime {

// Largest [dpdk] burst: the config loader accepts 1..512, so does the runtime.
inline constexpr unsigned kMaxBurst = 512;

struct RuntimeConfig {
  std::string program_name = "dorado";   // argv[0] given to the EAL
  std::vector<std::string> eal_args;     // EAL arguments, without argv[0] (see create())
  unsigned workers = 1;                  // worker lcores (the main lcore is control)
  unsigned idle_sleep_us = 0;            // >0: sleep this long when a loop found no work
  std::vector<std::uint16_t> ports;      // empty: every probed port
  // Mbufs per port; a floor: the runtime raises it to what the port's RX and
  // TX rings, the workers' bursts and TX buffers, the per-lcore mempool
  // caches and the handoff rings can hold at once (0: just that). The
  // effective size is in describe().
  unsigned mbufs = 0;
  std::uint16_t rx_desc = 1024;          // per queue, >= 1 (the PMD may round it)
  std::uint16_t tx_desc = 1024;          // per queue, >= 1 (the PMD may round it)
  // Packets per RX burst and handoff dequeue, 1..kMaxBurst; the TX buffer
  // flushes at min(burst, tx_desc / 2) so that one flush fits the TX ring.
  std::uint16_t burst = 32;
  wire::Ipv4 server_address = 0;         // answers ARP and ping; RxMeta interface address
  // Per shard; nullopt: shard_table_for(engine config, workers, max_leases).
  std::optional<engine::LeaseTableSizes> shard_table;
  // [dpdk] max_leases: lease records per shard; 0: from the pools.
  std::uint32_t max_leases = 0;
  // Durability fsync: an ACK that grants a lease waits in its worker until
  // publish_durable() covers the records its shard had emitted when it
  // decided; at most held_acks per worker (a power of two; the worker stops
  // taking requests while the queue is full: back-pressure, never a loss).
  bool hold_acks = false;
  unsigned held_acks = 8192;
  // Lease-change records per worker ring (power of two). A worker takes a
  // burst only when its records fit (back-pressure, counted).
  unsigned change_ring = 65536;
  // False when nothing consumes the records (durability off): the workers
  // count them (lease_changes) and drop them instead of copying 256 bytes
  // per change into the ring, and never wait for ring room.
  bool ship_changes = true;
  // Ports with IPv4 + UDP TX checksum offload get replies whose checksums
  // the NIC completes. True: treat every port as having it, for a test or
  // benchmark whose receiver completes them as such a NIC would
  // (wire::complete_offloaded_checksums); a real port without it would send
  // bad checksums. Never set by dorado.
  bool assume_tx_checksum_offload = false;
};

// Lease table sizes per shard for `workers` shards over `config`: room for
// every address a shard can hand out twice over (inactive clients keep their
// sticky address), plus every reservation, never below 4096 records; or,
// with `max_leases` (> 0), max_leases records. Only address space is
// reserved for them: resident memory follows the records held
// (engine/lease_table.hpp).
engine::LeaseTableSizes shard_table_for(const engine::CompiledConfig& config, unsigned workers,
                                        std::uint32_t max_leases = 0);

// Initialises the DPDK EAL with argv = {program_name, eal_args...}. Once per
// process: a second call succeeds without doing anything (its arguments are
// ignored); after cleanup_eal() it fails. Call it from the main thread after
// blocking the signals that the control loop takes synchronously: the EAL's
// threads inherit the signal mask. Returns an empty string or the error
// ("EAL initialisation failed (rte_eal_init: Invalid argument); EAL arguments: ...").
std::string init_eal(const std::string& program_name, const std::vector<std::string>& eal_args);

// Releases the EAL's memory and threads (rte_eal_cleanup). Call once at exit,
// after every Runtime has been destroyed; does nothing if the EAL was never
// initialised. No Runtime can be created afterwards.
void cleanup_eal() noexcept;

// WorkerSnapshot (a copy of every counter, for printing) is in
// runtime/counters.hpp.

// Levels the workers publish as relaxed atomics (see worker.hpp), read by
// the control thread for metrics and warnings. At most ~1 ms old.
struct WorkerGauges {
  std::array<std::uint32_t, engine::kLeaseStateCount> lease_states{};   // by engine::LeaseState
  std::uint32_t held_acks = 0;            // ACKs waiting for durability
  std::uint32_t change_ring_used = 0;     // records waiting for the control thread
  std::uint32_t change_ring_size = 0;
  std::uint32_t handoff_in_used = 0;      // mbufs in the rings into this worker
  std::uint32_t handoff_in_size = 0;
  std::vector<std::uint32_t> subnet_free; // free addresses per subnet (CompiledConfig order)
  // Free addresses per watched pool (Runtime::watch_pools order), counted
  // by a background pass over the pools' blocks (see worker.hpp): exact
  // once the shard has been idle for a pass.
  std::vector<std::uint32_t> pool_free;
};

// Part of one pool in one address block: the pool's allocatable addresses
// of that block as a mask (runtime-internal, shared read-only by workers).
struct PoolSegment {
  std::uint32_t block;
  std::uint32_t pool;
  std::uint64_t mask;
};

class Runtime {
 public:
  struct Created {
    std::unique_ptr<Runtime> runtime;
    std::string error;   // "port 0 queue 1: rte_eth_rx_queue_setup: Invalid argument"
  };

  // Sets up the ports, rings, mempools and one shard per worker over
  // `engine_config`, which must outlive the Runtime. Initialises the EAL with
  // config.eal_args first unless init_eal() already did. Fails (error set,
  // everything created so far released) when the lcores are fewer than
  // workers + 1, a port cannot be configured, or memory runs out.
  static Created create(const RuntimeConfig& config, const engine::CompiledConfig& engine_config);

  // Stops (see stop()), closes the ports and frees rings, TX buffers and pools.
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Starts the ports and launches the workers. Empty string on success. Once:
  // after a failure, or after stop(), the Runtime can only be destroyed.
  std::string start();
  // Asks workers to stop; async-signal-safe, idempotent.
  void request_stop() noexcept;
  bool stop_requested() const noexcept;
  // Joins the workers (they flush TX first and free ACKs still held), frees
  // the mbufs still in the handoff rings, stops the ports. The change rings
  // keep their records: call poll_control() once more to take them.
  // Idempotent.
  void stop();

  // Before start(), control thread: gives a lease the store recovered to
  // the shard that owns it (engine::owner_shard_of); when the worker count
  // changed and its address block now belongs to another shard (`foreign`),
  // that shard holds the address until the lease ends. Never emits a record.
  engine::RestoreStatus restore_lease(const engine::LeaseChange& lease, engine::Seconds now);
  // Before the restore_lease() calls: sizes every shard's lease index for
  // its share of `leases` (the client hash spreads them evenly; 4 standard
  // deviations over for the spread), so that the hand-over rehashes nothing.
  void reserve_leases(std::uint64_t leases);
  // A hint before restore_lease(lease): prefetches the owner shard's index
  // slot for it (Shard::prefetch_restore). The hand-over calls it a few
  // leases ahead of restore_lease.
  void prefetch_restore(const engine::LeaseChange& lease) const noexcept;

  // Control thread: drains the lease-change records of every worker into
  // `sink` (worker index, records oldest first). Returns how many it took;
  // at most one ring's worth per worker per call, so it never spins.
  using ChangeSink = std::function<void(unsigned worker, std::span<const engine::LeaseChange>)>;
  std::size_t poll_control(const ChangeSink& sink);
  // Control thread: worker `worker`'s records up to per-shard seq `seq` are
  // durable (its held ACKs up to there may leave).
  void publish_durable(unsigned worker, std::uint32_t seq) noexcept;
  // Control thread: false while the journal cannot write; the shards then
  // refuse new leases (engine: Shard::set_store_writable). Seen within a loop.
  void set_store_writable(bool writable) noexcept;
  // Control thread, HA (engine/ha.hpp): what every shard answers from its
  // next loop on. Starts as HaServe::none when the config has [ha].
  void set_ha_serve(engine::HaServe serve) noexcept;
  // Control thread, HA: calls fn(client hash) for every client the shards
  // saw retrying for the partner since the last call (cursors: one per
  // worker, kept by the caller; a lapped ring loses the oldest, which is
  // fine for counting distinct clients).
  void ha_unacked(std::vector<std::uint32_t>& cursors, const std::function<void(std::uint32_t)>& fn) const;
  // Control thread, conflict detection: calls fn(address, MAC) for every
  // address a worker found in use by a probe's answer since the last call
  // (cursors: one per worker, kept by the caller; a lapped ring loses the
  // oldest: the counters still count them).
  void probe_conflicts(std::vector<std::uint32_t>& cursors,
                       const std::function<void(wire::Ipv4, const wire::MacAddr&)>& fn) const;
  // Control thread, control API (engine/admin.hpp): queues a request for
  // worker `worker`'s shard (false: its ring is full; try again later), and
  // takes every reply the workers produced into sink(worker, reply).
  bool submit_admin(unsigned worker, const engine::AdminRequest& request) noexcept;
  using AdminSink = std::function<void(unsigned worker, const engine::AdminReply&)>;
  std::size_t poll_admin(const AdminSink& sink);
  // Control thread, while running: switches every shard to `next` (RCU).
  // Builds each shard's new allocator here (it allocates), hands it with
  // `next` to the worker, which swaps it in at the top of its next loop
  // (Shard::reconfigure: a one-time pause of that worker, the NIC queue
  // absorbs what arrives meanwhile), and waits until every worker has
  // acknowledged, calling `while_waiting` (e.g. draining lease changes and
  // committing) about every 100 us meanwhile. `next` must then outlive the
  // Runtime or the next reconfigure; the previous config is no longer used
  // once this returns ok. Workers switch one by one: for a moment some
  // answer from the old config and some from the new; block ownership is a
  // function of the address (allocator.hpp), so no address changes shard.
  // On timeout (a worker did not acknowledge within `timeout_ms`) the
  // result says so: then neither config may be freed. `watch`: the new
  // config's pools to count (as watch_pools(); their sizes in the result):
  // each worker's per-subnet and per-pool gauges are swapped for ones of the
  // new config's shape at its switch. While the switch is under way (and
  // for good after a timeout) gauges() answers what it read just before.
  // Not reentrant: `while_waiting` must not call reconfigure().
  struct ReconfigureResult {
    bool ok = false;
    std::string error;
    engine::Shard::ReconfigureStats stats;   // summed over shards
    std::uint64_t max_pause_ns = 0;          // longest worker pause
    std::uint64_t total_ns = 0;              // publish to last acknowledgement
    std::vector<std::uint64_t> pool_sizes;   // of `watch`, as watch_pools() returns them
  };
  ReconfigureResult reconfigure(const engine::CompiledConfig& next,
                                std::span<const engine::AddressRange> watch,
                                const std::function<void()>& while_waiting,
                                unsigned timeout_ms = 10000);
  // ---- the targeted trace (control API trace-start, trace-get, trace-stop) ----
  // Control thread; none waits for the workers. trace_start: every worker
  // takes the filter at the top of its next loop, drops the records of the
  // previous trace and records each request it owns that the filter matches
  // (engine/trace.hpp), at most filter.count. trace_stop: they record no
  // more; the records stay readable until the next trace_start (false: no
  // trace was on).
  void trace_start(const engine::TraceFilter& filter);
  bool trace_stop();
  struct TraceReading {
    std::uint64_t session = 0;    // 0: no trace was started
    bool active = false;          // started and not stopped
    engine::TraceFilter filter;   // the last trace_start's
    std::vector<std::pair<unsigned, engine::TraceRecord>> records;   // by worker, each oldest first
    std::vector<unsigned> full;      // workers that hold filter.count records (they record no more)
    std::vector<unsigned> waiting;   // workers that have not taken the last start or stop yet
  };
  // The records of the last trace so far (copies; allocates).
  TraceReading trace_read();
  unsigned workers() const noexcept;
  // The workers' clock (whole Unix seconds).
  engine::Seconds now() const noexcept;
  // How long ACKs waited for durability, all workers merged (ns).
  LatencyHistogram ack_hold() const;

  // One line per port and worker: MAC, queues, mbufs, lcores.
  std::string describe() const;
  std::vector<WorkerSnapshot> snapshot() const;
  // Before start(), control thread: count free addresses per range (the
  // config's pools) in WorkerGauges::pool_free. Returns each range's size:
  // its addresses that can be handed out (in a pool block, not excluded,
  // reserved, network, broadcast or server). Allocates O(addresses / 64).
  std::vector<std::uint64_t> watch_pools(std::span<const engine::AddressRange> pools);
  // Control thread: per worker, the gauges it published last plus its
  // rings' occupancy (during a reconfigure(): as read before it). Allocates.
  std::vector<WorkerGauges> gauges() const;
  // Per-port NIC statistics (rte_eth_stats): packets, misses, errors.
  std::vector<WorkerSnapshot> port_snapshot() const;
  // The counters as text: "counters (all workers):" with the sums, then
  // "port N:" per port, then "worker W (lcore L):" per worker when there are
  // several; one "  name value" line per counter. Tests parse this format.
  std::string counters_text() const;

 private:
  struct Impl;
  explicit Runtime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dorado::runtime
