// A worker lcore: the poll loop and its per-core state (runtime-internal).
//
// Ownership and threads: a Worker is created and wired by the control thread
// before launch, then owned by its lcore until it returns; the control thread
// only reads `counters_` (atomics) and drains the change ring (single
// consumer). Nothing here is shared between workers but the SPSC rings.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "runtime/counters.hpp"
#include "runtime/runtime.hpp"
#include "wire/dhcp.hpp"

namespace dorado::runtime {

inline constexpr unsigned kMaxBurst = 64;

struct PortState {
  std::uint16_t id = 0;
  std::uint16_t rx_queues = 0;
  std::uint16_t tx_queues = 0;
  wire::MacAddr mac;
  rte_mempool* pool = nullptr;
};

// Wall-clock seconds from the TSC: one rdtsc and one division per loop
// instead of a clock_gettime() syscall-free but slower vDSO call per packet.
struct Clock {
  std::uint64_t tsc0 = 0;
  std::uint64_t hz = 1;
  engine::Seconds unix0 = 0;
  static Clock start() noexcept;
  engine::Seconds now() const noexcept {
    return unix0 + static_cast<engine::Seconds>((rte_rdtsc() - tsc0) / hz);
  }
};

struct WorkerSetup {
  unsigned index;
  unsigned lcore;
  std::unique_ptr<engine::Shard> shard;
  wire::Ipv4 server_address;
  unsigned burst;
  unsigned idle_sleep_us;
  const std::atomic<bool>* quit;
  const Clock* clock;
};

class alignas(64) Worker {
 public:
  explicit Worker(WorkerSetup setup);
  ~Worker();

  // ---- wiring, control thread, before launch -------------------------------
  void add_rx(std::uint16_t port, std::uint16_t queue);
  // TX on `port`: own queue `queue`, or forward to worker `queue` (its owner).
  std::string add_tx(std::uint16_t port, std::uint16_t queue, bool own, wire::MacAddr mac,
                     int socket);
  void connect_out(unsigned peer, rte_ring* ring);
  void connect_in(rte_ring* ring);
  void connect_changes(rte_ring* ring) { changes_ = ring; }
  void set_peers(unsigned n) { peers_ = n; out_.resize(n, nullptr); }

  static int launch(void* self);   // rte_eal_remote_launch entry

  // ---- control thread, while running ---------------------------------------
  std::size_t drain_changes_for_control() noexcept;
  WorkerSnapshot snapshot() const;
  std::string describe() const;
  unsigned index() const noexcept { return index_; }
  unsigned lcore() const noexcept { return lcore_; }

 private:
  struct TxPort {
    std::uint16_t queue = 0;
    bool own = false;
    rte_eth_dev_tx_buffer* buffer = nullptr;   // own queues only
    wire::MacAddr mac;
    bool present = false;
  };

  int run() noexcept;
  void on_rx(rte_mbuf* m) noexcept;
  void on_handoff(rte_mbuf* m) noexcept;
  void serve(rte_mbuf* m, wire::Bytes pkt, const wire::Frame& f) noexcept;
  void send(rte_mbuf* m) noexcept;
  void flush_tx() noexcept;
  void push_changes() noexcept;
  static void on_tx_error(rte_mbuf** unsent, std::uint16_t count, void* self);

  unsigned index_;
  unsigned lcore_;
  unsigned peers_ = 1;
  unsigned burst_;
  unsigned idle_sleep_us_;
  wire::Ipv4 server_address_;
  const std::atomic<bool>* quit_;
  const Clock* clock_;
  engine::Seconds now_ = 0;
  std::unique_ptr<engine::Shard> shard_;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> rx_;   // (port, queue)
  std::array<TxPort, RTE_MAX_ETHPORTS> tx_{};
  std::vector<rte_ring*> out_;    // to worker i (nullptr for self)
  std::vector<rte_ring*> in_;
  rte_ring* changes_ = nullptr;
  WorkerCounters counters_;
  wire::DhcpMessage msg_;         // parsed request, reused per packet
  alignas(64) std::array<std::uint8_t, RTE_MBUF_DEFAULT_DATAROOM> scratch_;
  std::vector<engine::LeaseChange> control_buf_;   // control thread's drain buffer
};

}  // namespace dorado::runtime
