// The DPDK side of dorado: EAL, ports and queues, one worker per lcore with
// its own engine shard, SPSC handoff rings between workers, lease-change
// rings to the control thread, ARP/ICMP for the server address, TX.
//
// Ownership and threads: the main thread (the control thread, on the main
// lcore) creates the Runtime, starts it, calls poll_control() in its loop and
// finally stop(). Workers run only inside the runtime. request_stop() is
// async-signal-safe. No DPDK type appears in this header.
//
// Packet path per worker (DESIGN.md "The packet path"): rx burst -> parse ->
// ARP/ICMP answered in place, DHCP: owner = shard_for_hash(client key); a
// packet owned by another worker goes through that pair's SPSC ring, owned
// ones are served in place: the reply is built into a per-worker scratch and
// copied into the request's mbuf, then TX-buffered (flushed every 100 us or
// when the worker runs idle).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/counters.hpp"
#include "engine/engine.hpp"
#include "runtime/counters.hpp"

namespace dorado::runtime {

struct RuntimeConfig {
  std::string program_name = "dorado";   // argv[0] given to the EAL
  std::vector<std::string> eal_args;     // EAL arguments, without argv[0]
  unsigned workers = 1;                  // worker lcores (the main lcore is control)
  unsigned idle_sleep_us = 0;            // >0: sleep this long when a loop found no work
  std::vector<std::uint16_t> ports;      // empty: every probed port
  unsigned mbufs = 0;                    // per port; 0: sized from queues and rings
  std::uint16_t rx_desc = 1024;
  std::uint16_t tx_desc = 1024;
  std::uint16_t burst = 32;              // 1..64
  wire::Ipv4 server_address = 0;         // answers ARP and ping; RxMeta interface address
  engine::LeaseTableSizes shard_table;   // per shard
};

// A consistent-enough copy of every counter, for printing (control thread).
struct WorkerSnapshot {
  unsigned lcore = 0;                    // worker lcore, or port id for port_snapshot()
  std::vector<std::pair<std::string, std::uint64_t>> counters;   // non-zero ones, named
};

class Runtime {
 public:
  struct Created {
    std::unique_ptr<Runtime> runtime;
    std::string error;   // "port 0 queue 1: rte_eth_rx_queue_setup: Invalid argument"
  };

  // Initialises the EAL (once per process), the ports, rings, mempools and
  // one shard per worker over `engine_config`, which must outlive the Runtime.
  // Fails (error set) when the lcores are fewer than workers + 1, a port
  // cannot be configured, or memory runs out.
  static Created create(const RuntimeConfig& config, const engine::CompiledConfig& engine_config);

  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Starts the ports and launches the workers. Empty string on success.
  std::string start();
  // Asks workers to stop; async-signal-safe, idempotent.
  void request_stop() noexcept;
  bool stop_requested() const noexcept;
  // Joins the workers (they flush TX first) and stops the ports.
  void stop();

  // Control-thread housekeeping: drains lease-change records from every
  // worker. Returns how many it took. (The journal consumes them from here.)
  std::size_t poll_control();

  // One line per port and worker: MAC, queues, lcores.
  std::string describe() const;
  std::vector<WorkerSnapshot> snapshot() const;
  // Per-port NIC statistics (rte_eth_stats): packets, misses, errors.
  std::vector<WorkerSnapshot> port_snapshot() const;

 private:
  struct Impl;
  explicit Runtime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dorado::runtime
