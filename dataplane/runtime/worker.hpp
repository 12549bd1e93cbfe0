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
#include <rte_ring_elem.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "engine/probe.hpp"
#include "engine/reply_cache.hpp"
#include "engine/trace.hpp"
#include "runtime/counters.hpp"
#include "runtime/runtime.hpp"
#include "wire/dhcp.hpp"

namespace dorado::runtime {

// Handoff ring entries are mbuf pointers; mbufs are cache-line aligned, so
// bit 0 is free to say "already a reply: transmit it on your TX queue".
// Bit 1 says "an answer to a conflict probe of yours" (worker_probe.cpp).
inline constexpr std::uintptr_t kTxTag = 1;
inline constexpr std::uintptr_t kProbeTag = 2;
static_assert(alignof(rte_mbuf) > (kTxTag | kProbeTag));
inline rte_mbuf* untag(void* entry) noexcept {
  return reinterpret_cast<rte_mbuf*>(reinterpret_cast<std::uintptr_t>(entry) & ~(kTxTag | kProbeTag));
}

struct PortState {
  std::uint16_t id = 0;
  std::uint16_t rx_queues = 0;
  std::uint16_t tx_queues = 0;
  std::uint16_t rx_desc = 0;   // per queue, as adjusted by the PMD
  std::uint16_t tx_desc = 0;
  wire::MacAddr mac;
  rte_mempool* pool = nullptr;
  std::uint64_t rx_checksum_offload = 0;   // RTE_ETH_RX_OFFLOAD_*_CKSUM enabled
  bool tx_checksum_offload = false;        // IPv4 + UDP TX checksum offload enabled
  bool tx_checksum_assumed = false;        // RuntimeConfig::assume_tx_checksum_offload
  bool configured = false;     // rte_eth_dev_configure called: close it at the end
  bool started = false;        // rte_eth_dev_start succeeded: stop it first
};

// Wall-clock seconds from the TSC: one rdtsc and one division per loop
// instead of a clock_gettime() (vDSO) call.
struct Clock {
  std::uint64_t tsc0 = 0;
  std::uint64_t hz = 1;
  engine::Seconds unix0 = 0;
  std::uint64_t unix0_us = 0;   // the Unix time at tsc0, microseconds
  static Clock start() noexcept;
  engine::Seconds now() const noexcept { return at(rte_rdtsc()); }
  engine::Seconds at(std::uint64_t tsc) const noexcept {
    return unix0 + static_cast<engine::Seconds>((tsc - tsc0) / hz);
  }
  // Unix time in microseconds (the trace's timestamps; not for every packet).
  std::uint64_t unix_us(std::uint64_t tsc) const noexcept {
    return unix0_us + static_cast<std::uint64_t>(static_cast<unsigned __int128>(tsc - tsc0) * 1000000 / hz);
  }
  // The first TSC value of second `s` (s > unix0).
  std::uint64_t tsc_of(engine::Seconds s) const noexcept { return tsc0 + (s - unix0) * hz; }
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
  // Durability fsync: lease-bearing ACKs wait in the worker until
  // publish_durable() covers their records; at most held_acks at once.
  bool hold_acks = false;
  unsigned held_acks = 0;              // power of two when hold_acks
  const std::atomic<bool>* store_writable = nullptr;   // cp: rw, dp: ro; null = always
  // HA (engine/ha.hpp): what the shard answers, an engine::HaServe; null
  // without [ha].
  const std::atomic<std::uint8_t>* ha_serve = nullptr;   // cp: rw, dp: ro (every loop)
  bool ship_changes = true;            // false: records counted and dropped (no consumer)
};

// The gauges whose shape follows the config: free addresses per subnet and
// per watched pool. Built (allocated) by the control thread for a config,
// at start-up (Worker constructor, watch_pools) and for a reload
// (ReloadOrder), and swapped into the worker as a whole, so a worker never
// allocates and never indexes one config's arrays with another's subnets.
struct ConfigGauges {
  std::uint32_t subnets = 0;
  std::unique_ptr<std::atomic<std::uint32_t>[]> subnet_free;   // dp: rw, cp: ro
  const std::vector<PoolSegment>* segments = nullptr;          // owned by the Runtime
  std::uint32_t pools = 0;
  std::vector<std::uint32_t> pool_partial;                     // dp only: the pass under way
  std::unique_ptr<std::atomic<std::uint32_t>[]> pool_free;     // dp: rw, cp: ro

  static ConfigGauges make(std::uint32_t subnets, const std::vector<PoolSegment>* segments,
                           std::uint32_t pools);
};

// A config switch handed to one worker (Runtime::reconfigure): the control
// thread fills it, publishes its address, and keeps it (and both configs)
// alive until the worker has acknowledged its generation.
struct ReloadOrder {
  std::uint64_t generation = 0;
  const engine::CompiledConfig* config = nullptr;
  engine::Allocator* fresh = nullptr;   // Allocator(*config, shard identity); holds the old one after
  ConfigGauges* gauges = nullptr;       // for *config; holds the old ones after
  engine::Shard::ReconfigureStats stats;   // written by the worker before it acknowledges
  std::uint64_t pause_ns = 0;              // how long the switch held the worker
};

// A trace (control API trace-start/-stop) handed to every worker
// (Runtime::trace_start): immutable once published; the control thread
// frees it once every worker has acknowledged a later generation.
struct TraceOrder {
  std::uint64_t session = 0;     // > 0; a new one empties the worker's TraceRing
  bool active = false;           // false: trace-stop (the records stay readable)
  engine::TraceFilter filter;
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
  // `queue` (its owner). `pool` is the port's mempool. `checksum_offload`:
  // replies leave their IPv4 and UDP checksums to the NIC.
  std::string add_tx(std::uint16_t port, std::uint16_t queue, bool own, wire::MacAddr mac,
                     rte_mempool* pool, unsigned tx_buffer, bool checksum_offload = false);
  void connect_out(unsigned peer, rte_ring* ring);
  void connect_in(rte_ring* ring);
  void connect_changes(rte_ring* ring) { changes_ = ring; }
  // Control API: requests in (control -> worker), replies out (worker -> control).
  void connect_admin(rte_ring* in, rte_ring* out) {
    admin_in_ = in;
    admin_out_ = out;
  }
  void set_peers(unsigned n) {
    peers_ = n;
    out_.resize(n, nullptr);
    outbox_.resize(n);
  }

  static int launch(void* self);   // rte_eal_remote_launch entry

  // Before launch, control thread: room for `leases` restored ones.
  void reserve_leases(std::uint32_t leases) noexcept { shard_->reserve(leases); }
  void prefetch_restore(const engine::LeaseChange& lease) const noexcept { shard_->prefetch_restore(lease); }
  // Before launch, control thread: a lease recovered by the store.
  engine::RestoreStatus restore(const engine::LeaseChange& lease, engine::Seconds now) noexcept {
    return shard_->restore(lease, now);
  }
  engine::RestoreStatus restore_hold(const engine::LeaseChange& lease, engine::Seconds now) noexcept {
    return shard_->restore_hold(lease, now);
  }
  void forget_foreign(const engine::LeaseChange& lease) noexcept { shard_->forget_foreign(lease); }

  // Before launch, control thread: count free addresses per pool over
  // `segments` (owned by the Runtime, unchanged until a reload hands the
  // worker others through its ReloadOrder).
  void watch_pools(const std::vector<PoolSegment>* segments, std::uint32_t pools);

  // ---- control thread, while running ---------------------------------------
  // Takes the records the worker pushed, in order, in batches into `sink`.
  template <class Sink>
  std::size_t drain_changes(Sink&& sink) noexcept;
  // Control API: queues one request (false: its ring is full, try later);
  // takes the replies the worker produced, in order, into sink(reply).
  bool submit_admin(const engine::AdminRequest& r) noexcept {
    return admin_in_ != nullptr &&
           rte_ring_sp_enqueue_elem(admin_in_, const_cast<engine::AdminRequest*>(&r),
                                    sizeof(engine::AdminRequest)) == 0;
  }
  template <class Sink>
  std::size_t drain_admin(Sink&& sink) noexcept;
  // The shard's records up to per-shard seq `seq` are durable: ACKs that
  // depend on them may leave. Monotonic (serial-number order, wrapping).
  void publish_durable(std::uint32_t seq) noexcept { durable_seq_.store(seq, std::memory_order_release); }
  // Reload (RCU): the worker applies `order` at the top of its next loop
  // (between bursts: no Decision of the old config is alive), then stores
  // its generation in reload_done(). `order` must stay valid until then.
  void post_reload(ReloadOrder* order) noexcept {
    reload_.store(order, std::memory_order_relaxed);
    reload_gen_.store(order->generation, std::memory_order_release);
  }
  std::uint64_t reload_done() const noexcept { return reload_done_.load(std::memory_order_acquire); }
  // Trace (RCU, as the reload): the worker takes `order` (null: none) at
  // the top of its next loop and stores `generation` in trace_done(); from
  // then on it no longer reads the order of an earlier generation. `order`
  // must stay valid until trace_done() is past `generation`.
  void post_trace(const TraceOrder* order, std::uint64_t generation) noexcept {
    trace_order_.store(order, std::memory_order_relaxed);
    trace_gen_.store(generation, std::memory_order_release);
  }
  std::uint64_t trace_done() const noexcept { return trace_done_.load(std::memory_order_acquire); }
  // The records of trace `session` (empty until the worker has taken it):
  // control thread, never while a post_trace() of another session is new.
  std::vector<engine::TraceRecord> trace_records(std::uint64_t session) const {
    return trace_ring_.read(session);
  }
  bool trace_full(std::uint64_t session) const noexcept {
    return trace_ring_.session() == session && trace_ring_.count() >= trace_ring_.limit();
  }
  engine::ShardIdentity identity() const noexcept { return shard_->identity(); }
  // HA: the clients the shard saw retrying for the partner (Shard::ha_unacked_*).
  const engine::Shard& shard() const noexcept { return *shard_; }
  WorkerSnapshot snapshot() const;
  // The gauges the worker published last (at most kGaugeIntervalUs old).
  WorkerGauges gauges() const;
  LatencyHistogram ack_hold() const;
  // Conflict detection: the addresses that answered a probe, and who
  // answered (for the log). conflicts_written(): how many ever (acquire);
  // conflict_at(n): the n-th, valid while n > written - kConflictNotes.
  struct ConflictNote {
    wire::Ipv4 address = 0;
    wire::MacAddr mac;
  };
  static constexpr std::uint32_t kConflictNotes = 32;
  std::uint32_t conflicts_written() const noexcept { return conflicts_written_.load(std::memory_order_acquire); }
  ConflictNote conflict_at(std::uint32_t n) const noexcept;
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
    bool checksum_offload = false;             // replies leave their checksums to the NIC
  };

  // The owned DHCP requests of the burst in progress, waiting for one
  // Shard::handle_burst(). Slot i: the request's mbuf, its parsed message
  // (which points into that mbuf) and how it arrived; requests[i] points at
  // msgs[i], metas[i] and keys[i] for the whole life of the worker. Never holds an
  // mbuf between two bursts.
  static constexpr unsigned kChunk = engine::Shard::kMaxBurst;
  struct Chunk {
    unsigned count = 0;
    std::array<rte_mbuf*, kChunk> mbufs{};
    std::array<engine::RxMeta, kChunk> metas{};
    std::array<engine::Shard::Request, kChunk> requests{};
    std::array<engine::KeyResult, kChunk> keys{};   // client_key_of(msgs[i]), hashed once
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
  void answer_chunk(const engine::Shard::Burst& b, unsigned n, std::uint32_t last) noexcept;
  void serve_traced_chunk(const engine::Shard::Burst& b, unsigned n, std::uint32_t last) noexcept;
  void finish(unsigned slot, const engine::Decision& d, std::uint32_t hold_seq) noexcept;
  void trace_failed(unsigned slot) noexcept;
  void apply_trace() noexcept;
  void end_burst() noexcept;
  rte_mbuf* writable(rte_mbuf* m) noexcept;
  rte_mbuf* restore_vlan(rte_mbuf* m) noexcept;
  void send(rte_mbuf* m) noexcept;
  void hand_off(unsigned peer, void* entry) noexcept;
  void flush_outbox(unsigned peer) noexcept;
  void flush_tx() noexcept;
  void push_changes() noexcept;
  unsigned serve_admin() noexcept;   // requests served
  bool room_for(unsigned requests) noexcept;
  void hold(rte_mbuf* m, std::uint32_t seq) noexcept;
  void release_held() noexcept;
  void free_held() noexcept;
  void track_seconds() noexcept;
  std::uint32_t hold_seq_for_second(engine::Seconds second, std::uint32_t last) const noexcept;
  std::uint32_t held_count() const noexcept { return held_tail_ - held_head_; }
  void publish_counts() noexcept;
  void publish_gauges() noexcept;
  void publish_all_gauges() noexcept;
  void idle_sleep() noexcept;
  // Conflict detection (worker_probe.cpp; engine/probe.hpp).
  void start_probe(unsigned slot, const engine::Decision& d, std::uint8_t chain) noexcept;
  bool send_probe(engine::ProbeEntry& e) noexcept;
  bool probe_answer(rte_mbuf* m, wire::Bytes pkt, const wire::Frame& f) noexcept;
  void take_probe_answer(rte_mbuf* m) noexcept;
  void serve_probes(std::uint64_t tsc) noexcept;
  void redecide(rte_mbuf* m, std::uint8_t chain, bool may_probe) noexcept;
  // finish()'s hold for a DISCOVER decided again: a rapid-commit ACK (RFC
  // 4039) waits for its record like any lease ACK; 0 for an OFFER.
  std::uint32_t redecided_hold(const engine::Decision& d) const noexcept;
  void free_probes() noexcept;
  void note_conflict(wire::Ipv4 address, const wire::MacAddr& mac) noexcept;
  bool probing() const noexcept { return !probes_.empty() || answers_head_ != answers_tail_; }
  void apply_reload() noexcept;
  void drop(Drop d, std::uint32_t n = 1) noexcept {
    tally_.drops[static_cast<std::size_t>(d)] += n;
    tally_.errors = true;
  }
  void wire_error(wire::Error e) noexcept {
    ++tally_.wire_errors[static_cast<std::size_t>(e)];
    tally_.errors = true;
  }
  static void on_tx_error(rte_mbuf** unsent, std::uint16_t count, void* self) noexcept;
  // `ip` when it is one of the server's own addresses (server_address, a
  // subnet's interface_address: ARP and ping answered for it), else 0.
  wire::Ipv4 local_address(wire::Ipv4 ip) const noexcept {
    return ip != 0 && (ip == server_address_ || shard_->config().is_interface_address(ip)) ? ip : 0;
  }

  unsigned index_;
  unsigned lcore_;
  unsigned peers_ = 1;
  unsigned burst_;
  unsigned idle_sleep_us_;
  wire::Ipv4 server_address_;
  const std::atomic<bool>* quit_;   // cp: rw, dp: ro
  const Clock* clock_;
  engine::Seconds now_ = 0;
  std::uint64_t next_second_tsc_ = 0;   // when now_ must be recomputed
  engine::Seconds swept_second_ = 0;    // the shard's sweep caught up with this second
  std::unique_ptr<engine::Shard> shard_;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> rx_;   // (port, queue)
  std::array<TxPort, RTE_MAX_ETHPORTS> tx_{};
  std::vector<std::uint16_t> own_tx_;   // ports whose TX queue this worker owns
  std::vector<rte_ring*> out_;    // to worker i (nullptr for self)
  std::vector<Outbox> outbox_;    // to worker i, parallel to out_
  std::vector<rte_ring*> in_;
  rte_ring* changes_ = nullptr;
  rte_ring* admin_in_ = nullptr;    // AdminRequest, control -> this worker
  rte_ring* admin_out_ = nullptr;   // AdminReply, this worker -> control
  std::array<engine::AdminReply, engine::kMaxAdminReplies> admin_replies_{};   // dp only
  WorkerCounters counters_;       // dp: rw, cp: ro (relaxed atomics)
  Tally tally_;                   // dp only
  Chunk chunk_;                   // dp only
  // Replies the cache cannot build are built here, then copied over their
  // request. Zeroed: write_head reads what it would overwrite.
  alignas(64) std::array<std::uint8_t, RTE_MBUF_DEFAULT_DATAROOM> scratch_{};
  engine::ReplyCache replies_;   // reply options encoded per subnet and option 55
  std::vector<engine::LeaseChange> control_buf_;   // control thread's drain buffer

  // ACKs waiting for durability, FIFO (their seqs never decrease).
  struct HeldAck {
    rte_mbuf* m;
    std::uint32_t seq;      // per-shard seq that must be durable
    std::uint64_t tsc;      // when it was held
  };
  bool hold_acks_ = false;
  bool ship_changes_ = true;
  // Seconds whose records are not all durable yet, oldest first: the second
  // and the shard's last seq at its end. An ACK answered without a record
  // (store down: Decision::record_second) waits only for its lease's own
  // second, not for everything emitted since (RELEASEs, expiries that cannot
  // be written while the disk is full). Full: every such ACK waits for all.
  struct SecondSeq {
    engine::Seconds second;
    std::uint32_t seq;
  };
  static constexpr std::uint32_t kTrackedSeconds = 4096;
  std::vector<SecondSeq> undurable_;     // dp only; ring of kTrackedSeconds
  std::uint32_t und_head_ = 0, und_tail_ = 0;
  bool und_overflow_ = false;
  engine::Seconds seq_second_ = 0;       // the second of the records since the last entry
  std::uint32_t seq_noted_ = 0;          // last_seq() when the last entry was made
  std::vector<HeldAck> held_;           // dp only; size a power of two
  std::uint32_t held_head_ = 0, held_tail_ = 0;
  unsigned change_room_ = 0;            // dp only: free slots last read from the change ring
  std::uint64_t ns_per_tsc_q32_ = 0;    // ns = tsc * this >> 32
  const std::atomic<bool>* store_writable_ = nullptr;   // cp: rw, dp: ro
  const std::atomic<std::uint8_t>* ha_serve_ = nullptr;  // cp: rw, dp: ro
  bool writable_seen_ = true;
  alignas(64) std::atomic<std::uint32_t> durable_seq_{0};   // cp: rw, dp: ro
  static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

  // Gauges for metrics and warnings, copied from the shard every
  // kGaugeIntervalUs by publish_gauges() (relaxed stores; a reader sees each
  // value as it was at some publish, not all from the same one).
  // dp: rw, cp: ro
  alignas(64) std::array<std::atomic<std::uint32_t>, engine::kLeaseStateCount> lease_states_{};
  std::atomic<std::uint32_t> held_gauge_{0};   // dp: rw, cp: ro
  // Free addresses per subnet (CompiledConfig::subnets order) in this
  // shard's blocks, published in slices of kGaugeSlice subnets per
  // interval (65535 subnets cost no more than 256), and per watched pool: a
  // pass over the pool segments, kSegmentSlice per publish (1024 blocks:
  // 65536 addresses a millisecond), counted into pool_partial and published
  // at the end of each pass. Replaced whole at a reload (apply_reload); the
  // control thread reads them (gauges()) only while no reload is in flight.
  ConfigGauges config_gauges_;
  std::uint32_t gauge_cursor_ = 0;          // dp only: next subnet to publish
  std::uint64_t gauge_tsc_ = 0;             // dp only: TSC ticks between publishes
  std::uint64_t last_gauge_ = 0;            // dp only
  std::size_t segment_cursor_ = 0;          // dp only
  // The order is dereferenced only while reload_gen_ != reload_applied_,
  // so the control thread may free it once reload_done_ has its generation.
  // The reload's and the trace's words share this line (64 bytes): the two
  // generations read every loop cost one line.
  alignas(64) std::atomic<std::uint64_t> reload_gen_{0};    // cp: rw, dp: ro (every loop)
  std::atomic<ReloadOrder*> reload_{nullptr};   // cp: rw, dp: ro
  std::atomic<std::uint64_t> reload_done_{0};   // dp: rw, cp: ro
  static_assert(std::atomic<ReloadOrder*>::is_always_lock_free);
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
  std::uint64_t reload_applied_ = 0;            // dp only
  // Trace (RCU, as the reload): the order is taken at the top of a loop
  // when trace_gen_ moved; then only trace_ is read, once per chunk of
  // requests: null while no trace is on.
  std::atomic<std::uint64_t> trace_gen_{0};              // cp: rw, dp: ro (every loop)
  std::atomic<const TraceOrder*> trace_order_{nullptr};  // cp: rw, dp: ro
  std::atomic<std::uint64_t> trace_done_{0};             // dp: rw, cp: ro
  static_assert(std::atomic<const TraceOrder*>::is_always_lock_free);
  std::uint64_t trace_applied_ = 0;                      // dp only
  std::uint64_t trace_session_ = 0;                      // dp only: the session in trace_ring_
  const engine::TraceFilter* trace_ = nullptr;           // dp only: the active filter, or null
  std::array<engine::TraceRecord*, kChunk> trace_slots_{};   // dp only: the chunk's records
  engine::TraceRing trace_ring_;                         // dp: rw, cp: ro (published records)

  // Conflict detection (dp only): the held DISCOVERs and their probes; the
  // answers heard, decided at the next loop (when their records fit).
  engine::ProbeTable probes_;
  struct ProbeHeard {
    wire::Ipv4 address;
    wire::MacAddr mac;
  };
  static constexpr std::uint32_t kAnswersQueued = 256;
  std::array<ProbeHeard, kAnswersQueued> answers_{};
  std::uint32_t answers_head_ = 0, answers_tail_ = 0;
  std::uint16_t probe_seq_ = 0;
  std::uint64_t probe_timeout_tsc_ = 0;   // from the config's timeout_ms, at each use
  // The notes: address and MAC (6 bytes in a word) per entry, relaxed
  // atomics; the count published with release. dp: rw, cp: ro.
  std::array<std::atomic<std::uint64_t>, 2 * kConflictNotes> conflict_notes_{};
  std::atomic<std::uint32_t> conflicts_written_{0};
};

template <class Sink>
std::size_t Worker::drain_changes(Sink&& sink) noexcept {
  if (changes_ == nullptr) return 0;
  std::size_t total = 0;
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst_elem(changes_, control_buf_.data(),
                                             sizeof(engine::LeaseChange),
                                             static_cast<unsigned>(control_buf_.size()), nullptr)) != 0) {
    sink(std::span<const engine::LeaseChange>(control_buf_.data(), n));
    total += n;
  }
  return total;
}

template <class Sink>
std::size_t Worker::drain_admin(Sink&& sink) noexcept {
  if (admin_out_ == nullptr) return 0;
  std::size_t total = 0;
  engine::AdminReply r;
  while (rte_ring_sc_dequeue_elem(admin_out_, &r, sizeof r) == 0) {
    sink(r);
    ++total;
  }
  return total;
}

}  // namespace dorado::runtime
