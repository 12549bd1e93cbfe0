// A worker lcore: the poll loop and its per-core state (runtime-internal).
//
// Ownership and threads: a Worker is created and wired by the control thread
// before launch, then owned by its lcore until it returns; the control thread
// only reads `counters_` (atomics) and the shard's counters, and drains the
// change ring (single consumer). Nothing here is shared between workers but
// the SPSC rings.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "runtime/counters.hpp"
#include "runtime/runtime.hpp"
#include "wire/dhcp.hpp"

namespace dorado::runtime {

// Handoff ring entries are mbuf pointers; mbufs are cache-line aligned, so
// bit 0 is free to say "already a reply: transmit it on your TX queue".
inline constexpr std::uintptr_t kTxTag = 1;
static_assert(alignof(rte_mbuf) > kTxTag);
inline rte_mbuf* untag(void* entry) noexcept {
  return reinterpret_cast<rte_mbuf*>(reinterpret_cast<std::uintptr_t>(entry) & ~kTxTag);
}

struct PortState {
  std::uint16_t id = 0;
  std::uint16_t rx_queues = 0;
  std::uint16_t tx_queues = 0;
  std::uint16_t rx_desc = 0;   // per queue, as adjusted by the PMD
  std::uint16_t tx_desc = 0;
  wire::MacAddr mac;
  rte_mempool* pool = nullptr;
  bool configured = false;     // rte_eth_dev_configure called: close it at the end
  bool started = false;        // rte_eth_dev_start succeeded: stop it first
};

// Wall-clock seconds from the TSC: one rdtsc and one division per loop
// instead of a clock_gettime() (vDSO) call.
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
  unsigned burst;                      // 1..kMaxBurst
  unsigned idle_sleep_us;
  const std::atomic<bool>* quit;       // cp: rw (Runtime), dp: ro (polled every loop)
  const Clock* clock;
};

class alignas(64) Worker {
 public:
  explicit Worker(WorkerSetup setup);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // ---- wiring, control thread, before launch -------------------------------
  void add_rx(std::uint16_t port, std::uint16_t queue);
  // TX on `port`: own queue `queue` (TX buffer flushing at `tx_buffer`
  // packets, allocated on this worker's socket), or forward to worker
  // `queue` (its owner). `pool` is the port's mempool.
  std::string add_tx(std::uint16_t port, std::uint16_t queue, bool own, wire::MacAddr mac,
                     rte_mempool* pool, unsigned tx_buffer);
  void connect_out(unsigned peer, rte_ring* ring);
  void connect_in(rte_ring* ring);
  void connect_changes(rte_ring* ring) { changes_ = ring; }
  void set_peers(unsigned n) {
    peers_ = n;
    out_.resize(n, nullptr);
    outbox_.resize(n);
  }

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
    bool present = false;
    rte_eth_dev_tx_buffer* buffer = nullptr;   // own queues only
    rte_mempool* pool = nullptr;               // for copies of unwritable mbufs
    wire::MacAddr mac;
  };

  // The owned DHCP requests of the burst in progress, waiting for one
  // Shard::handle_burst(). Slot i: the request's mbuf, its parsed message
  // (which points into that mbuf) and how it arrived; requests[i] points at
  // msgs[i] and metas[i] for the whole life of the worker. Never holds an
  // mbuf between two bursts.
  static constexpr unsigned kChunk = engine::Shard::kMaxBurst;
  struct Chunk {
    unsigned count = 0;
    std::array<rte_mbuf*, kChunk> mbufs{};
    std::array<engine::RxMeta, kChunk> metas{};
    std::array<engine::Shard::Request, kChunk> requests{};
    std::array<wire::DhcpMessage, kChunk> msgs;   // 3.7 KiB each: 120 KiB, made once
  };

  // Handoff ring entries for one peer (requests it owns, replies for its TX
  // queue), enqueued in bulk when full and at the end of every burst.
  struct Outbox {
    unsigned count = 0;
    std::array<void*, kChunk> entries{};
  };

  // Counts not yet published: plain words of this lcore, added to counters_
  // by publish_counts() at the end of every burst and after a TX flush, so
  // that the lines the control thread reads are written once per burst, not
  // once per packet.
  struct Tally {
    std::uint64_t rx_packets = 0;
    std::uint64_t tx_packets = 0;
    std::uint64_t handed_off = 0;
    std::uint64_t handed_in = 0;
    std::uint64_t arp_replies = 0;
    std::uint64_t icmp_replies = 0;
    bool errors = false;   // something in drops or wire_errors
    std::array<std::uint32_t, kDropCount> drops{};
    std::array<std::uint32_t, wire::kErrorCount> wire_errors{};
  };

  int run() noexcept;
  void on_rx_burst(std::span<rte_mbuf* const> pkts, std::uint16_t port) noexcept;
  void on_handoff_burst(std::span<void* const> entries) noexcept;
  void classify(rte_mbuf* m, std::uint16_t port) noexcept;
  void take_handoff(rte_mbuf* m) noexcept;
  void queue_owned(rte_mbuf* m, const wire::Frame& f) noexcept;
  void serve_chunk() noexcept;
  void finish(unsigned slot, const engine::Decision& d) noexcept;
  void end_burst() noexcept;
  rte_mbuf* writable(rte_mbuf* m) noexcept;
  rte_mbuf* restore_vlan(rte_mbuf* m) noexcept;
  void send(rte_mbuf* m) noexcept;
  void hand_off(unsigned peer, void* entry) noexcept;
  void flush_outbox(unsigned peer) noexcept;
  void flush_tx() noexcept;
  void push_changes() noexcept;
  void publish_counts() noexcept;
  void idle_sleep() noexcept;
  void drop(Drop d, std::uint32_t n = 1) noexcept {
    tally_.drops[static_cast<std::size_t>(d)] += n;
    tally_.errors = true;
  }
  void wire_error(wire::Error e) noexcept {
    ++tally_.wire_errors[static_cast<std::size_t>(e)];
    tally_.errors = true;
  }
  static void on_tx_error(rte_mbuf** unsent, std::uint16_t count, void* self) noexcept;

  unsigned index_;
  unsigned lcore_;
  unsigned peers_ = 1;
  unsigned burst_;
  unsigned idle_sleep_us_;
  wire::Ipv4 server_address_;
  const std::atomic<bool>* quit_;   // cp: rw, dp: ro
  const Clock* clock_;
  engine::Seconds now_ = 0;
  std::unique_ptr<engine::Shard> shard_;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> rx_;   // (port, queue)
  std::array<TxPort, RTE_MAX_ETHPORTS> tx_{};
  std::vector<std::uint16_t> own_tx_;   // ports whose TX queue this worker owns
  std::vector<rte_ring*> out_;    // to worker i (nullptr for self)
  std::vector<Outbox> outbox_;    // to worker i, parallel to out_
  std::vector<rte_ring*> in_;
  rte_ring* changes_ = nullptr;
  WorkerCounters counters_;       // dp: rw, cp: ro (relaxed atomics)
  Tally tally_;                   // dp only
  Chunk chunk_;                   // dp only
  alignas(64) std::array<std::uint8_t, RTE_MBUF_DEFAULT_DATAROOM> scratch_;
  std::vector<engine::LeaseChange> control_buf_;   // control thread's drain buffer
};

}  // namespace dorado::runtime
