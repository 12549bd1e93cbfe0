#include "runtime/worker.hpp"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <ctime>
#include <new>
#include <type_traits>
#include <utility>

#include "engine/client_key.hpp"
#include "engine/leasequery.hpp"
#include "engine/reservations.hpp"
#include "wire/frame.hpp"
#include "wire/l3reply.hpp"

namespace dorado::runtime {
namespace {

constexpr unsigned kSweepBudget = 64;        // wheel buckets+entries per loop
constexpr std::uint64_t kDrainUs = 100;      // TX buffer flush interval
constexpr unsigned kSleepSliceUs = 10000;    // a stop request is seen within 10 ms
constexpr std::uint8_t kIpv4Header = 20;        // replies carry no IPv4 options
constexpr std::size_t kIpUdpHeaders = 28;
constexpr std::size_t kPrefetchAhead = 2;       // packets ahead whose frame lines are prefetched
constexpr std::size_t kMbufPrefetchAhead = 4;   // packets ahead whose mbuf header is prefetched
constexpr std::uint16_t kPrefetchMaxBytes = 640;   // a DHCP frame's usual size, rounded up

// An mbuf's header: the first line is read by classify() and rewritten
// with the reply's lengths and flags; with TX checksum offload, finish()
// also reads the offload fields on the second (and stores them only if they
// change).
inline void prefetch_mbuf(const rte_mbuf* m, bool tx_offload) noexcept {
  rte_prefetch0(m);
  if (tx_offload) rte_prefetch0(reinterpret_cast<const char*>(m) + RTE_CACHE_LINE_SIZE);
}

// Every cache line of a frame, up to kPrefetchMaxBytes.
inline void prefetch_frame(const rte_mbuf* m) noexcept {
  const auto* p = rte_pktmbuf_mtod(m, const char*);
  const std::uint16_t len = std::min<std::uint16_t>(m->data_len, kPrefetchMaxBytes);
  for (std::uint16_t off = 0; off < len; off += RTE_CACHE_LINE_SIZE) rte_prefetch0(p + off);
}
// A request appends at most this many records to its shard's change log
// (engine.cpp kMaxChangesPerRequest); a sweep at most kSweepBudget.
constexpr unsigned kChangesPerRequest = 4;
constexpr std::uint64_t kGaugeIntervalUs = 1000;   // gauges published at most this often
constexpr std::uint32_t kGaugeSlice = 256;         // subnets' free counts per publish
constexpr unsigned kAdminPerLoop = 4;        // control-API requests taken per loop
constexpr std::size_t kSegmentSlice = 1024;        // pool segments (blocks) counted per publish

// Serial-number order for the wrapping per-shard seq (RFC 1982 style).
constexpr bool seq_after(std::uint32_t a, std::uint32_t b) noexcept {
  return static_cast<std::int32_t>(a - b) > 0;
}

void* tag_tx(rte_mbuf* m) noexcept {
  return reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(m) | kTxTag);
}

}  // namespace

Clock Clock::start() noexcept {
  Clock c;
  c.hz = rte_get_tsc_hz();
  c.tsc0 = rte_rdtsc();
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  c.unix0 = static_cast<engine::Seconds>(ts.tv_sec);
  c.unix0_us = static_cast<std::uint64_t>(ts.tv_sec) * 1000000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000;
  return c;
}

Worker::Worker(WorkerSetup s)
    : index_(s.index),
      lcore_(s.lcore),
      burst_(s.burst),
      idle_sleep_us_(s.idle_sleep_us),
      server_address_(s.server_address),
      quit_(s.quit),
      clock_(s.clock),
      shard_(std::move(s.shard)),
      control_buf_(1024),
      hold_acks_(s.hold_acks),
      ship_changes_(s.ship_changes),
      undurable_(s.hold_acks ? kTrackedSeconds : 0),
      held_(s.hold_acks ? std::max(1u, s.held_acks) : 0),
      store_writable_(s.store_writable),
      ha_serve_(s.ha_serve) {
  for (unsigned i = 0; i < kChunk; ++i)
    chunk_.requests[i] = {&chunk_.msgs[i], &chunk_.metas[i], &chunk_.keys[i]};
  ns_per_tsc_q32_ = (std::uint64_t{1000000000} << 32) / std::max<std::uint64_t>(1, rte_get_tsc_hz());
  config_gauges_ =
      ConfigGauges::make(static_cast<std::uint32_t>(shard_->config().subnets.size()), nullptr, 0);
  gauge_tsc_ = rte_get_tsc_hz() / 1000000 * kGaugeIntervalUs;
  // Before launch: the restored leases show at once, all subnets at once.
  publish_all_gauges();
}

Worker::~Worker() {
  // Every TX buffer is empty here: the worker flushed before returning, and
  // a worker that never ran never buffered.
  for (auto& t : tx_) rte_free(t.buffer);
}

void Worker::add_rx(std::uint16_t port, std::uint16_t queue) { rx_.emplace_back(port, queue); }

std::string Worker::add_tx(std::uint16_t port, std::uint16_t queue, bool own, wire::MacAddr mac,
                           rte_mempool* pool, unsigned tx_buffer, bool checksum_offload) {
  TxPort& t = tx_[port];
  t.queue = queue;
  t.checksum_offload = checksum_offload;
  t.own = own;
  t.mac = mac;
  t.pool = pool;
  t.present = true;
  if (!own) return {};
  const unsigned size = std::clamp(tx_buffer, 1u, kMaxBurst);
  const int socket = static_cast<int>(rte_lcore_to_socket_id(lcore_));
  t.buffer = static_cast<rte_eth_dev_tx_buffer*>(
      rte_zmalloc_socket("dorado_txbuf", RTE_ETH_TX_BUFFER_SIZE(size), 0, socket));
  if (t.buffer == nullptr)
    return "worker " + std::to_string(index_) + ": port " + std::to_string(port) +
           " TX buffer: out of memory";
  rte_eth_tx_buffer_init(t.buffer, static_cast<std::uint16_t>(size));
  rte_eth_tx_buffer_set_err_callback(t.buffer, &Worker::on_tx_error, this);
  own_tx_.push_back(port);
  return {};
}

void Worker::connect_out(unsigned peer, rte_ring* ring) {
  if (out_.size() <= peer) out_.resize(peer + 1, nullptr);
  if (outbox_.size() < out_.size()) outbox_.resize(out_.size());
  out_[peer] = ring;
}
void Worker::connect_in(rte_ring* ring) { in_.push_back(ring); }

int Worker::launch(void* self) { return static_cast<Worker*>(self)->run(); }

// Called from rte_eth_tx_buffer()/_flush() for what the queue did not take;
// the mbufs are ours to free.
void Worker::on_tx_error(rte_mbuf** unsent, std::uint16_t count, void* self) noexcept {
  auto* w = static_cast<Worker*>(self);
  rte_pktmbuf_free_bulk(unsent, count);
  w->drop(Drop::tx_full, count);
}

int Worker::run() noexcept {
  std::array<rte_mbuf*, kMaxBurst> pkts;
  std::array<void*, kMaxBurst> objs;
  const std::uint64_t drain_tsc = (rte_get_tsc_hz() + 999999) / 1000000 * kDrainUs;
  std::uint64_t last_flush = rte_rdtsc();
  const auto burst = static_cast<std::uint16_t>(burst_);

  // One rdtsc per loop (three rdtsc and a 64-bit division per loop were ~9%
  // of a worker's perf samples, dorado-bench pipeline): it dates the loop,
  // times the TX drain and, at the next loop's start, the busy time of this
  // one.
  std::uint64_t loop_start = rte_rdtsc();
  bool loop_busy = false;
  while (!quit_->load(std::memory_order_relaxed)) {
    // Quiescent point: no request of the last loop is in flight here.
    if (reload_gen_.load(std::memory_order_acquire) != reload_applied_)
      apply_reload();
    if (trace_gen_.load(std::memory_order_acquire) != trace_applied_) [[unlikely]]
      apply_trace();
    const std::uint64_t tsc = rte_rdtsc();
    // Time spent on packets: busy_ns / rx_packets is the worker's own cost
    // per packet, whatever the load.
    if (loop_busy) counters_.busy_cycles.add(tsc - loop_start);
    loop_start = tsc;
    if (tsc >= next_second_tsc_) {   // no division per loop
      now_ = clock_->at(tsc);
      next_second_tsc_ = clock_->tsc_of(now_ + 1);
    }
    unsigned work = 0;
    if (store_writable_ != nullptr) {
      const bool w = store_writable_->load(std::memory_order_relaxed);
      if (w != writable_seen_) shard_->set_store_writable(writable_seen_ = w);
    }
    if (ha_serve_ != nullptr)   // one relaxed load; the shard keeps its own copy
      shard_->set_ha_serve(static_cast<engine::HaServe>(ha_serve_->load(std::memory_order_relaxed)));
    if (hold_acks_) track_seconds();
    if (held_count() != 0) release_held();
    if (probing()) [[unlikely]] serve_probes(tsc);   // worker_probe.cpp

    // Back-pressure: a request is taken only when its records fit in the
    // change ring and its ACK in the held queue; otherwise the packets stay
    // in the NIC queue or the handoff ring (and the NIC counts what it
    // cannot keep), never an ACK without its record.
    bool blocked = false;
    for (const auto& [port, queue] : rx_) {
      if (!room_for(burst)) {
        blocked = true;
        break;
      }
      const std::uint16_t n = rte_eth_rx_burst(port, queue, pkts.data(), burst);
      if (n == 0) continue;
      work += n;
      tally_.rx_packets += n;
      on_rx_burst({pkts.data(), n}, port);
    }

    for (rte_ring* r : in_) {
      if (!room_for(burst)) {
        blocked = true;
        break;
      }
      const unsigned n = rte_ring_sc_dequeue_burst(r, objs.data(), burst, nullptr);
      if (n == 0) continue;
      work += n;
      on_handoff_burst({objs.data(), n});
    }
    if (blocked) counters_.backpressure.add();

    // The wheel has one-second buckets: once a sweep caught up with this
    // second, another one finds nothing until the next second (the call
    // was ~4% of a worker's perf samples when made every loop).
    if (swept_second_ != now_ && room_for(0)) {
      if (shard_->sweep(now_, kSweepBudget).caught_up) swept_second_ = now_;
      push_changes();
    }
    // Control-API work counts as work: a loop that served requests does not
    // sleep, so a stream of them (an HA resync installs every record by
    // one) goes at the loop's pace, not the idle back-off's (it went at
    // ~15,000/s with idle_sleep_us = 100: bench/results/2026-12-07.md).
    if (admin_in_ != nullptr && !rte_ring_empty(admin_in_)) work += serve_admin();
    // An idle loop moves on a lease index rehash (engine/lease_table.hpp).
    if (work == 0) shard_->maintain();

    if (work == 0 || tsc - last_flush > drain_tsc) {
      flush_tx();
      last_flush = tsc;
      publish_counts();
    }
    if (tsc - last_gauge_ > gauge_tsc_) {
      last_gauge_ = tsc;
      publish_gauges();
    }
    loop_busy = work != 0;
    if (work == 0 && idle_sleep_us_ != 0) idle_sleep();
  }
  free_held();
  free_probes();
  publish_gauges();
  // Stopping: what other workers still put in our rings is freed by
  // Runtime::stop() once every worker has returned (freeing it here would
  // race with peers that have not seen the stop yet). Chunk and outboxes are
  // empty: every burst ends with end_burst().
  push_changes();
  flush_tx();
  publish_counts();
  return 0;
}

void Worker::idle_sleep() noexcept {
  // ACKs waiting for the journal: wake up soon enough to send them (the
  // control thread commits every commit_interval_us).
  if (held_count() != 0 || probing()) {
    rte_delay_us_sleep(std::min(idle_sleep_us_, 50u));
    return;
  }
  // In slices, so that a long idle_sleep_us (up to 1 s) does not delay a stop.
  for (unsigned left = idle_sleep_us_; left != 0 && !quit_->load(std::memory_order_relaxed);) {
    const unsigned us = std::min(left, kSleepSliceUs);
    rte_delay_us_sleep(us);
    left -= us;
  }
}

// Replies are written into the request's mbuf. An mbuf that is indirect, has
// an external buffer or is also held elsewhere (refcnt > 1) must not be
// written: it is copied into a fresh one from the port's pool. A NIC that
// strips the VLAN tag although the port never asked for it gets the tag put
// back, so that parsing and the reply see the frame as it was on the wire.
rte_mbuf* Worker::writable(rte_mbuf* m) noexcept {
  if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1) {
    rte_mbuf* copy = rte_pktmbuf_copy(m, tx_[m->port].pool, 0, UINT32_MAX);
    rte_pktmbuf_free(m);
    if (copy == nullptr) {
      drop(Drop::no_mbuf);
      return nullptr;
    }
    m = copy;
  }
  if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) return restore_vlan(m);
  return m;
}

rte_mbuf* Worker::restore_vlan(rte_mbuf* m) noexcept {
  if (rte_vlan_insert(&m) != 0) {   // needs 4 bytes of headroom
    drop(Drop::vlan_restore);
    rte_pktmbuf_free(m);
    return nullptr;
  }
  return m;
}

// One burst, VPP ip4-input style: classify every packet (ARP and ICMP are
// answered at once, foreign DHCP goes to its owner's outbox, owned DHCP is
// parsed into the next chunk slot), one handle_burst() per chunk of <= 32
// owned requests so that their lease-table misses overlap (~170-200
// ns/packet at bursts of 8-32 against ~280 one by one with 1 M leases,
// bench/engine_bench.cpp), then the replies; outboxes go out in bulk at the
// end. Bursts larger than a chunk (up to 512) serve each chunk as it fills.
void Worker::on_rx_burst(std::span<rte_mbuf* const> pkts, std::uint16_t port) noexcept {
  // The mbuf headers four ahead, every line of the frame two ahead:
  // classifying one packet (frame + DHCP parse, ~100 ns) covers the misses
  // on a later one's lines, which the NIC (or the core that sent it) wrote.
  const std::size_t n = pkts.size();
  const bool offload = tx_[port].checksum_offload;
  for (std::size_t i = 0; i < n && i < kMbufPrefetchAhead; ++i) prefetch_mbuf(pkts[i], offload);
  for (std::size_t i = 0; i < n && i < kPrefetchAhead; ++i) prefetch_frame(pkts[i]);
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kMbufPrefetchAhead < n) prefetch_mbuf(pkts[i + kMbufPrefetchAhead], offload);
    if (i + kPrefetchAhead < n) prefetch_frame(pkts[i + kPrefetchAhead]);
    classify(pkts[i], port);
  }
  end_burst();
}

void Worker::on_handoff_burst(std::span<void* const> entries) noexcept {
  const std::size_t n = entries.size();
  // The sender wrote these lines on its core: the same prefetch distance
  // pulls them across while the previous entry is parsed.
  for (std::size_t i = 0; i < n && i < kPrefetchAhead; ++i) prefetch_frame(untag(entries[i]));
  std::uint64_t requests = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) prefetch_frame(untag(entries[i + kPrefetchAhead]));
    rte_mbuf* m = untag(entries[i]);
    if ((reinterpret_cast<std::uintptr_t>(entries[i]) & kTxTag) != 0) {
      send(m);
    } else if ((reinterpret_cast<std::uintptr_t>(entries[i]) & kProbeTag) != 0) [[unlikely]] {
      take_probe_answer(m);
    } else {
      ++requests;
      take_handoff(m);
    }
  }
  tally_.handed_in += requests;
  end_burst();
}

// The rest of a burst: the last partial chunk, the lease changes (the
// shard's change log holds one burst's records: 4 per request), the counts,
// the outboxes.
void Worker::end_burst() noexcept {
  serve_chunk();
  push_changes();
  publish_counts();
  for (unsigned p = 0; p < outbox_.size(); ++p)
    if (outbox_[p].count != 0) flush_outbox(p);
}

void Worker::classify(rte_mbuf* m, std::uint16_t port) noexcept {
  // Not every PMD fills in m->port (net_ring does not); the reply path and
  // the TX forwarding rely on it.
  m->port = port;
  if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1 ||
      (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) != 0) {
    m = writable(m);
    if (m == nullptr) return;
  }
  if (m->nb_segs != 1) {
    drop(Drop::multi_segment);
    rte_pktmbuf_free(m);
    return;
  }
  const wire::Bytes pkt(rte_pktmbuf_mtod(m, const std::uint8_t*), m->data_len);
  // Checksums the NIC verified (RX offload) are not summed again; one it
  // found bad, or did not check, is checked here.
  const wire::Verified nic{
      (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD,
      (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD};
  const wire::Frame f = wire::parse_frame(pkt, nic);
  if (f.error != wire::Error::ok) {
    wire_error(f.error);
    rte_pktmbuf_free(m);
    return;
  }
  const TxPort& tx = tx_[port];
  switch (f.kind) {
    case wire::FrameKind::arp:
      if (const wire::Ipv4 me = local_address(f.arp.tpa); me != 0 && wire::is_arp_request_for(f, me)) {
        wire::make_arp_reply({rte_pktmbuf_mtod(m, std::uint8_t*), m->data_len}, f, tx.mac, me);
        ++tally_.arp_replies;
        m->ol_flags = 0;   // RX flags must not be read as TX offload requests
        send(m);
        return;
      }
      if (probe_answer(m, pkt, f)) return;   // conflict detection (worker_probe.cpp)
      drop(Drop::arp_not_for_us);
      break;
    case wire::FrameKind::ipv4_icmp:
      if (const wire::Ipv4 me = local_address(f.ip.dst); me != 0 && wire::is_icmp_echo_for(pkt, f, me)) {
        const std::size_t len =
            wire::make_icmp_echo_reply({rte_pktmbuf_mtod(m, std::uint8_t*), m->data_len}, f, tx.mac);
        m->data_len = static_cast<std::uint16_t>(len);
        m->pkt_len = static_cast<std::uint32_t>(len);
        ++tally_.icmp_replies;
        m->ol_flags = 0;
        send(m);
        return;
      }
      if (probe_answer(m, pkt, f)) return;
      drop(Drop::icmp_not_for_us);
      break;
    case wire::FrameKind::ipv4_udp: {
      if (f.udp.dst_port != wire::kPortBootps) {
        drop(Drop::not_dhcp);
        break;
      }
      // Parsed straight into the next chunk slot (always free: serve_chunk
      // runs as soon as the chunk fills); a packet that turns out foreign
      // leaves the slot to the next one, so no 3 KiB message is ever copied.
      wire::DhcpMessage& msg = chunk_.msgs[chunk_.count];
      // A BOOTREQUEST without the DHCP cookie is a BOOTP client's (engine/bootp.cpp).
      if (const wire::Error e = msg.parse(f.udp_payload(pkt));
          e != wire::Error::ok && !msg.plain_bootp_request()) [[unlikely]] {
        wire_error(e);
        break;
      }
      // Requests without a usable key are refused (and counted) by our shard.
      // The key goes with the request: handle_burst() does not hash it again.
      engine::KeyResult& key = chunk_.keys[chunk_.count];
      if (shard_->config().mac_keyed_subnets == 0) [[likely]]
        engine::set_client_key(key, msg);
      else   // match_client_id = false somewhere (engine/reservations.hpp)
        engine::set_request_key(key, shard_->config(), msg, engine::rx_meta_of(f, {}, server_address_));
      unsigned owner = key.status == engine::KeyStatus::ok
                           ? engine::shard_for_hash(key.key.hash, peers_)
                           : index_;
      // A leasequery by address goes to the address's block owner.
      if (const std::uint32_t lq = engine::leasequery_shard(shard_->config(), msg, peers_);
          lq != engine::kNil) [[unlikely]]
        owner = lq;
      if (owner == index_)
        queue_owned(m, f);
      else
        hand_off(owner, m);
      return;
    }
    case wire::FrameKind::ipv4_other:
      drop(Drop::not_dhcp);
      break;
    case wire::FrameKind::other:
      drop(Drop::not_ipv4);
      break;
  }
  rte_pktmbuf_free(m);
}

void Worker::take_handoff(rte_mbuf* m) noexcept {
  // The sender validated the packet (and made the mbuf writable); parsing
  // again (~100 ns) is cheaper than carrying a 3 KiB parsed message through
  // the ring.
  const wire::Bytes pkt(rte_pktmbuf_mtod(m, const std::uint8_t*), m->data_len);
  const wire::Frame f = wire::parse_frame(pkt, wire::Verified{true, true});   // by the sender
  if (f.error != wire::Error::ok ||
      (chunk_.msgs[chunk_.count].parse(f.udp_payload(pkt)) != wire::Error::ok &&
       !chunk_.msgs[chunk_.count].plain_bootp_request())) {
    rte_pktmbuf_free(m);   // cannot happen: counted when first parsed
    return;
  }
  engine::set_request_key(chunk_.keys[chunk_.count], shard_->config(), chunk_.msgs[chunk_.count],
                          engine::rx_meta_of(f, {}, server_address_));
  queue_owned(m, f);
}

// chunk_.msgs[chunk_.count] holds m's parsed request.
void Worker::queue_owned(rte_mbuf* m, const wire::Frame& f) noexcept {
  const unsigned slot = chunk_.count;
  chunk_.mbufs[slot] = m;
  // The lease index slot is on its way while the rest of the chunk is
  // parsed; handle_burst() then waits only for the record.
  if (const engine::KeyResult& key = chunk_.keys[slot]; key.status == engine::KeyStatus::ok)
    shard_->prefetch_lease(key.key.hash);
  const TxPort& tx = tx_[m->port];
  // Constructed in place, like the engine's decisions: a returned struct
  // copied into the slot is loaded back right after it was stored.
  static_assert(std::is_trivially_destructible_v<engine::RxMeta>);
  new (&chunk_.metas[slot]) engine::RxMeta(engine::rx_meta_of(f, tx.mac, server_address_));
  chunk_.metas[slot].tx_checksum_offload = tx.checksum_offload;
  if (++chunk_.count == kChunk) serve_chunk();
}

// Answers a decided chunk in request order.
[[gnu::always_inline]] inline void Worker::answer_chunk(const engine::Shard::Burst& b, unsigned n,
                                                        std::uint32_t last) noexcept {
  const auto changes = shard_->changes();
  for (unsigned i = 0; i < n; ++i) {
    const engine::Decision& d = b.decisions[i];
    // An ACK that grants a lease leaves once every record the shard had
    // emitted by then is durable: its own commit/renew, or (a retransmitted
    // REQUEST answered from memory) the earlier one it repeats.
    if (d.change_count != 0) last = changes[d.change_begin + d.change_count - 1].seq;
    const bool holds = hold_acks_ && d.verdict == engine::Verdict::reply &&
                       d.type == wire::MessageType::ack && d.lease_options && last != 0;
    std::uint32_t seq = last;
    if (holds && d.change_count == 0 && d.record_second != 0) seq = hold_seq_for_second(d.record_second, last);
    if (d.probe) [[unlikely]] {   // conflict detection: the OFFER waits (worker_probe.cpp)
      start_probe(i, d, 0);
      continue;
    }
    finish(i, d, holds ? seq : 0);
  }
}

// Decides the chunk in one engine call and answers in request order. With
// a trace on, the traced chunk path; off, the trace costs this one test of
// a word of the worker's per chunk.
void Worker::serve_chunk() noexcept {
  const unsigned n = chunk_.count;
  if (n == 0) return;
  chunk_.count = 0;
  const std::uint32_t last = shard_->last_seq();   // before the chunk
  const engine::Shard::Burst b = shard_->handle_burst({chunk_.requests.data(), n}, now_);
  if (trace_ != nullptr) [[unlikely]] {
    serve_traced_chunk(b, n, last);
    return;
  }
  answer_chunk(b, n, last);
}

// The requests the trace filter matches are recorded before finish() writes
// the replies over them (the parsed messages point into the mbufs); a reply
// that then cannot be built marks its record (trace_failed), and the
// chunk's records become visible to the control thread once all are final.
// Never allocates, never blocks: a full ring takes no more records.
[[gnu::noinline]] void Worker::serve_traced_chunk(const engine::Shard::Burst& b, unsigned n,
                                                  std::uint32_t last) noexcept {
  const engine::CompiledConfig& config = shard_->config();
  std::uint64_t time_us = 0;
  for (unsigned i = 0; i < n; ++i) {
    trace_slots_[i] = nullptr;
    const wire::DhcpMessage& m = chunk_.msgs[i];
    const engine::RxMeta& rx = chunk_.metas[i];
    if (trace_ring_.full() || !engine::trace_matches(*trace_, config, m, rx)) continue;
    engine::TraceRecord* r = trace_ring_.claim();
    if (time_us == 0) time_us = clock_->unix_us(rte_rdtsc());
    engine::trace_record(*r, m, engine::select_subnet(config, m, rx), config, b.decisions[i], time_us);
    trace_slots_[i] = r;
  }
  answer_chunk(b, n, last);
  trace_ring_.publish();
}

// finish() could not build the reply of chunk slot `slot`: its record (if
// the trace took it) says so.
void Worker::trace_failed(unsigned slot) noexcept {
  engine::TraceRecord* r = trace_slots_[slot];
  if (r == nullptr) return;
  r->verdict = engine::Verdict::drop;
  r->drop = engine::DropReason::reply_build_failed;
}

// Once per loop: when the second changes, the records emitted so far all
// belong to earlier seconds; note where the last of them ended. Entries
// leave once durable.
void Worker::track_seconds() noexcept {
  const std::uint32_t durable = durable_seq_.load(std::memory_order_acquire);
  while (und_head_ != und_tail_ &&
         !seq_after(undurable_[und_head_ % kTrackedSeconds].seq, durable))
    ++und_head_;
  if (und_head_ == und_tail_) und_overflow_ = false;
  if (now_ == seq_second_) return;
  const std::uint32_t last = shard_->last_seq();
  if (last != seq_noted_ && seq_after(last, durable)) {
    if (und_tail_ - und_head_ == kTrackedSeconds)
      und_overflow_ = true;
    else
      undurable_[und_tail_++ % kTrackedSeconds] = SecondSeq{seq_second_, last};
  }
  seq_noted_ = last;
  seq_second_ = now_;
}

// The seq an ACK resting on a record of second `second` must wait for.
std::uint32_t Worker::hold_seq_for_second(engine::Seconds second, std::uint32_t last) const noexcept {
  if (und_overflow_ || second >= seq_second_) return last;
  for (std::uint32_t i = und_head_; i != und_tail_; ++i) {
    const SecondSeq& e = undurable_[i % kTrackedSeconds];
    if (e.second >= second) return e.second == second ? e.seq : 0;
  }
  return 0;   // its second's records are durable
}

void Worker::finish(unsigned slot, const engine::Decision& d, std::uint32_t hold_seq) noexcept {
  rte_mbuf* m = chunk_.mbufs[slot];
  if (d.verdict != engine::Verdict::reply) {
    rte_pktmbuf_free(m);
    return;
  }
  // The reply is written over the request in its own mbuf: the frame starts
  // where the request's did (data_off: the PMD's headroom, minus 4 if a VLAN
  // tag was put back), the room is what follows in this mbuf's buffer.
  const wire::MutableBytes frame{rte_pktmbuf_mtod(m, std::uint8_t*),
                                 static_cast<std::size_t>(m->buf_len - m->data_off)};
  const wire::BuildResult r =
      d.type == wire::MessageType::lease_query   // engine/leasequery.hpp
          ? shard_->answer_leasequery(chunk_.msgs[slot], chunk_.metas[slot], now_, frame,
                                      {scratch_.data(), scratch_.size()})
          : replies_.build_over(shard_->config(), d, chunk_.msgs[slot], chunk_.metas[slot], frame,
                                {scratch_.data(), scratch_.size()});
  if (r.error == wire::Error::buffer_too_small) {
    drop(Drop::reply_too_large);
    if (trace_ != nullptr) trace_failed(slot);
    rte_pktmbuf_free(m);
    return;
  }
  if (r.error != wire::Error::ok) {
    shard_->count(engine::DropReason::reply_build_failed);
    if (trace_ != nullptr) trace_failed(slot);
    rte_pktmbuf_free(m);
    return;
  }
  m->data_len = static_cast<std::uint16_t>(r.length);
  m->pkt_len = static_cast<std::uint32_t>(r.length);
  if (chunk_.metas[slot].tx_checksum_offload) {
    // The reply's checksums are the NIC's: IPv4 header and UDP (the field
    // holds the pseudo-header sum, wire::Envelope::checksum_offload).
    // tx_offload is on the mbuf's second line, which nothing else here
    // writes: stored only when it changes (an mbuf back for another reply
    // has it already), so that the line stays shared with the TX side
    // instead of being taken over once more per packet.
    m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
    const std::uint64_t offload =
        rte_mbuf_tx_offload(r.dhcp_offset - kIpUdpHeaders, kIpv4Header, 0, 0, 0, 0, 0);
    if (m->tx_offload != offload) m->tx_offload = offload;
  } else {
    m->ol_flags = 0;   // RX flags must not be read as TX offload requests
  }
  if (hold_seq != 0)
    hold(m, hold_seq);
  else
    send(m);
}

// room_for() made sure there is a slot.
void Worker::hold(rte_mbuf* m, std::uint32_t seq) noexcept {
  const std::uint64_t tsc = rte_rdtsc();
  // Already durable: out at once, even past held ACKs of other clients (a
  // client's own earlier ACK never has a smaller seq than its later one).
  if (!seq_after(seq, durable_seq_.load(std::memory_order_acquire))) {
    counters_.ack_hold_ns[0].add();
    send(m);
    return;
  }
  if (held_count() == held_.size()) {   // cannot happen: room_for() checked
    drop(Drop::held_full);
    rte_pktmbuf_free(m);
    return;
  }
  held_[held_tail_++ & (held_.size() - 1)] = HeldAck{m, seq, tsc};
  counters_.acks_held.add();
}

// Sends, in order, the held ACKs whose records the control thread has made
// durable.
void Worker::release_held() noexcept {
  const std::uint32_t durable = durable_seq_.load(std::memory_order_acquire);
  const std::size_t mask = held_.size() - 1;
  if (seq_after(held_[held_head_ & mask].seq, durable)) return;
  const std::uint64_t tsc = rte_rdtsc();
  std::uint64_t sent = 0, longest = 0;
  while (held_count() != 0) {
    const HeldAck& h = held_[held_head_ & mask];
    if (seq_after(h.seq, durable)) break;
    const std::uint64_t ns = static_cast<std::uint64_t>(
        (static_cast<unsigned __int128>(tsc - h.tsc) * ns_per_tsc_q32_) >> 32);
    counters_.ack_hold_ns[latency_bucket(ns)].add();
    longest = std::max(longest, ns);
    send(h.m);
    ++held_head_;
    ++sent;
  }
  counters_.acks_released.add(sent);
  counters_.ack_hold_max_ns.raise_to(longest);
}

// At stop: what is still held was never durable; the clients retransmit.
void Worker::free_held() noexcept {
  const std::uint32_t n = held_count();
  const std::size_t mask = held_.size() - 1;
  for (; held_count() != 0; ++held_head_) rte_pktmbuf_free(held_[held_head_ & mask].m);
  counters_.acks_unsent.add(n);
}

// True when `requests` more requests (and the sweep) can be decided now:
// their records fit in the change ring, their ACKs in the held queue. Reads
// the ring's consumer index (a line the control thread writes) only when
// the cached room looks short.
bool Worker::room_for(unsigned requests) noexcept {
  const unsigned need = static_cast<unsigned>(shard_->changes().size()) +
                        (requests + chunk_.count) * kChangesPerRequest + kSweepBudget;
  if (change_room_ < need) {
    change_room_ = rte_ring_free_count(changes_);
    if (change_room_ < need) return false;
  }
  return !hold_acks_ || held_count() + requests + chunk_.count <= held_.size();
}

// m->ol_flags are TX requests by now (the RX ones cleared or replaced).
void Worker::send(rte_mbuf* m) noexcept {
  const TxPort& t = tx_[m->port];
  if (!t.own) {
    hand_off(t.queue, tag_tx(m));
    return;
  }
  // Non-zero only when the buffer filled up and was flushed; what the queue
  // refused went to on_tx_error().
  tally_.tx_packets += rte_eth_tx_buffer(m->port, t.queue, t.buffer, m);
}

void Worker::hand_off(unsigned peer, void* entry) noexcept {
  Outbox& o = outbox_[peer];
  o.entries[o.count] = entry;
  if (++o.count == kChunk) flush_outbox(peer);
}

// One enqueue for the whole outbox; a full ring is a counted drop, never a
// spin. Only requests count as handed_off (tagged entries are our replies
// for the peer's TX queue).
void Worker::flush_outbox(unsigned peer) noexcept {
  Outbox& o = outbox_[peer];
  const unsigned n = rte_ring_sp_enqueue_burst(out_[peer], o.entries.data(), o.count, nullptr);
  for (unsigned i = 0; i < n; ++i)
    tally_.handed_off += (reinterpret_cast<std::uintptr_t>(o.entries[i]) & (kTxTag | kProbeTag)) == 0;
  if (n < o.count) {
    for (unsigned i = n; i < o.count; ++i) rte_pktmbuf_free(untag(o.entries[i]));
    drop(Drop::handoff_full, o.count - n);
  }
  o.count = 0;
}

void Worker::flush_tx() noexcept {
  for (const std::uint16_t p : own_tx_)
    tally_.tx_packets += rte_eth_tx_buffer_flush(p, tx_[p].queue, tx_[p].buffer);
}

void Worker::push_changes() noexcept {
  const auto changes = shard_->changes();
  if (changes.empty()) return;
  if (!ship_changes_) {   // nobody reads them (durability off)
    counters_.lease_changes.add(changes.size());
    shard_->clear_changes();
    return;
  }
  const unsigned n = rte_ring_sp_enqueue_burst_elem(changes_, changes.data(),
                                                    sizeof(engine::LeaseChange),
                                                    static_cast<unsigned>(changes.size()), nullptr);
  counters_.lease_changes.add(n);
  change_room_ -= std::min(change_room_, n);
  // room_for() admitted only what fits, so this is a bug if it ever counts.
  if (n < changes.size()) counters_.drop(Drop::change_ring_full, changes.size() - n);
  shard_->clear_changes();
}

// Control-API requests, a few per loop: each is bounded work (admin.hpp)
// and is taken only when its records fit in the change ring and its replies
// in the reply ring, so nothing is dropped and nothing spins.
unsigned Worker::serve_admin() noexcept {
  unsigned i = 0;
  for (; i < kAdminPerLoop; ++i) {
    const unsigned need =
        static_cast<unsigned>(shard_->changes().size()) + engine::kAdminChanges + kSweepBudget;
    if (change_room_ < need) {
      change_room_ = rte_ring_free_count(changes_);
      if (change_room_ < need) return i;
    }
    if (rte_ring_free_count(admin_out_) < engine::kMaxAdminReplies) return i;
    engine::AdminRequest req;
    if (rte_ring_sc_dequeue_elem(admin_in_, &req, sizeof req) != 0) return i;
    const std::uint32_t n = shard_->admin(req, now_, {admin_replies_.data(), admin_replies_.size()});
    push_changes();
    rte_ring_sp_enqueue_bulk_elem(admin_out_, admin_replies_.data(), sizeof(engine::AdminReply), n,
                                  nullptr);
  }
  return i;
}

// Called at the end of every burst, before its outboxes go to the peers, and
// after every TX flush: a count is published before the peer or the NIC
// can have the packet it counts (except what a full TX buffer or outbox
// sends mid-burst, and handed_off, known only once the ring took it). The release fence pairs with the acquire fence in
// snapshot(): a snapshot that sees one publish sees every earlier one, and
// the shard's counters as they were then. Fences cost nothing on x86 (they
// only keep the compiler from reordering).
void Worker::apply_reload() noexcept {
  ReloadOrder* r = reload_.load(std::memory_order_acquire);
  const std::uint64_t t0 = rte_rdtsc();
  r->stats = shard_->reconfigure(*r->config, *r->fresh);
  replies_.clear();   // its entries belong to the old config
  if (r->gauges != nullptr) {   // the new config's shape; the old gauges go back to be freed
    std::swap(config_gauges_, *r->gauges);
    publish_all_gauges();
  }
  r->pause_ns = (rte_rdtsc() - t0) * ns_per_tsc_q32_ >> 32;
  counters_.reloads.add();
  counters_.reload_pause_max_ns.raise_to(r->pause_ns);
  reload_applied_ = r->generation;
  reload_done_.store(r->generation, std::memory_order_release);
}

// Trace: the newest order (see post_trace). A new session empties the
// ring; a stop keeps its records for trace-get.
void Worker::apply_trace() noexcept {
  const std::uint64_t generation = trace_gen_.load(std::memory_order_acquire);
  const TraceOrder* o = trace_order_.load(std::memory_order_acquire);
  if (o != nullptr && o->session != trace_session_) {
    trace_ring_.restart(o->session, o->filter.count);
    trace_session_ = o->session;
  }
  trace_ = o != nullptr && o->active ? &o->filter : nullptr;
  trace_applied_ = generation;
  trace_done_.store(generation, std::memory_order_release);
}

void Worker::publish_counts() noexcept {
  const auto put = [](Counter& c, std::uint64_t& v) {
    if (v != 0) c.add(std::exchange(v, 0));
  };
  std::atomic_thread_fence(std::memory_order_release);
  put(counters_.rx_packets, tally_.rx_packets);
  put(counters_.tx_packets, tally_.tx_packets);
  put(counters_.handed_off, tally_.handed_off);
  put(counters_.handed_in, tally_.handed_in);
  put(counters_.arp_replies, tally_.arp_replies);
  put(counters_.icmp_replies, tally_.icmp_replies);
  if (!tally_.errors) return;
  tally_.errors = false;
  for (std::size_t i = 0; i < kDropCount; ++i)
    if (tally_.drops[i] != 0) counters_.drops[i].add(std::exchange(tally_.drops[i], 0));
  for (std::size_t i = 0; i < wire::kErrorCount; ++i)
    if (tally_.wire_errors[i] != 0) counters_.wire_errors[i].add(std::exchange(tally_.wire_errors[i], 0));
}

// Every kGaugeIntervalUs: lease states and held ACKs whole, the subnets'
// free counts a slice at a time (~1 us for 256 subnets).
void Worker::publish_gauges() noexcept {
  const engine::ReplyCache::Stats& rc = replies_.stats();
  counters_.reply_cache_hits.raise_to(rc.hits);
  counters_.reply_cache_fills.raise_to(rc.fills);
  counters_.reply_cache_generic.raise_to(rc.generic);
  const auto& states = shard_->lease_state_counts();
  for (std::size_t i = 0; i < states.size(); ++i) lease_states_[i].store(states[i], std::memory_order_relaxed);
  held_gauge_.store(held_count(), std::memory_order_relaxed);
  ConfigGauges& g = config_gauges_;
  const std::uint32_t end = std::min(g.subnets, gauge_cursor_ + kGaugeSlice);
  for (std::uint32_t s = gauge_cursor_; s < end; ++s)
    g.subnet_free[s].store(shard_->addresses().free_count(s), std::memory_order_relaxed);
  gauge_cursor_ = end == g.subnets ? 0 : end;
  if (g.segments == nullptr || g.segments->empty()) return;
  const engine::Allocator& a = shard_->addresses();
  const std::size_t seg_end = std::min(g.segments->size(), segment_cursor_ + kSegmentSlice);
  for (std::size_t i = segment_cursor_; i < seg_end; ++i) {
    const PoolSegment& s = (*g.segments)[i];
    g.pool_partial[s.pool] += static_cast<std::uint32_t>(std::popcount(a.free_bits(s.block) & s.mask));
  }
  segment_cursor_ = seg_end;
  if (segment_cursor_ < g.segments->size()) return;
  for (std::uint32_t p = 0; p < g.pools; ++p)
    g.pool_free[p].store(std::exchange(g.pool_partial[p], 0), std::memory_order_relaxed);
  segment_cursor_ = 0;
}

ConfigGauges ConfigGauges::make(std::uint32_t subnets, const std::vector<PoolSegment>* segments,
                                std::uint32_t pools) {
  ConfigGauges g;
  g.subnets = subnets;
  g.subnet_free = std::make_unique<std::atomic<std::uint32_t>[]>(subnets);
  g.segments = segments;
  g.pools = pools;
  g.pool_partial.assign(pools, 0);
  g.pool_free = std::make_unique<std::atomic<std::uint32_t>[]>(pools);
  return g;
}

void Worker::watch_pools(const std::vector<PoolSegment>* segments, std::uint32_t pools) {
  config_gauges_ = ConfigGauges::make(config_gauges_.subnets, segments, pools);
  publish_all_gauges();
}

// Every subnet and a whole pass over the pool segments, so that readers
// never see the zeros of freshly made gauges. O(subnets + pool blocks): at
// start-up and inside a reload's switch (~1 ms for a /8 pool), never per loop.
void Worker::publish_all_gauges() noexcept {
  gauge_cursor_ = 0;
  segment_cursor_ = 0;
  do publish_gauges();
  while (gauge_cursor_ != 0);   // every subnet slice (and as many segment slices)
  while (segment_cursor_ != 0) publish_gauges();   // the rest of the pool pass
}

WorkerGauges Worker::gauges() const {
  WorkerGauges g;
  for (std::size_t i = 0; i < g.lease_states.size(); ++i)
    g.lease_states[i] = lease_states_[i].load(std::memory_order_relaxed);
  g.held_acks = held_gauge_.load(std::memory_order_relaxed);
  // rte_ring_count reads the ring's head and tail indices: any thread.
  if (changes_ != nullptr) {
    g.change_ring_used = rte_ring_count(changes_);
    g.change_ring_size = rte_ring_get_capacity(changes_);
  }
  for (const rte_ring* r : in_) {
    g.handoff_in_used += rte_ring_count(r);
    g.handoff_in_size += rte_ring_get_capacity(r);
  }
  const ConfigGauges& cg = config_gauges_;
  g.pool_free.resize(cg.pools);
  for (std::uint32_t p = 0; p < cg.pools; ++p) g.pool_free[p] = cg.pool_free[p].load(std::memory_order_relaxed);
  g.subnet_free.resize(cg.subnets);
  for (std::uint32_t s = 0; s < cg.subnets; ++s)
    g.subnet_free[s] = cg.subnet_free[s].load(std::memory_order_relaxed);
  return g;
}

std::string Worker::describe() const {
  std::string s = "rx";
  for (const auto& [port, queue] : rx_) s += ' ' + std::to_string(port) + ':' + std::to_string(queue);
  if (rx_.empty()) s += " (none: handoff only)";
  s += ", tx";
  for (std::size_t p = 0; p < tx_.size(); ++p) {
    if (!tx_[p].present) continue;
    s += ' ' + std::to_string(p) + (tx_[p].own ? ":" : "->worker ") + std::to_string(tx_[p].queue);
  }
  return s;
}

LatencyHistogram Worker::ack_hold() const {
  LatencyHistogram h;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) h.buckets[i] = counters_.ack_hold_ns[i].get();
  h.max = counters_.ack_hold_max_ns.get();
  return h;
}

WorkerSnapshot Worker::snapshot() const {
  // Pairs with publish_counts(): what an earlier snapshot saw, this one sees
  // with everything published before it.
  std::atomic_thread_fence(std::memory_order_acquire);
  WorkerSnapshot s;
  s.lcore = lcore_;
  append_counters(counters_, ns_per_tsc_q32_, s);
  auto add = [&](std::string name, std::uint64_t v) {
    if (v != 0) s.counters.emplace_back(std::move(name), v);
  };
  // Shard counters: words the worker writes, read here relaxed (engine/counters.hpp).
  const engine::ShardCounters& c = shard_->counters();
  for (std::size_t i = 1; i < engine::kDropCount; ++i) {
    const auto r = static_cast<engine::DropReason>(i);
    add("engine.drop." + std::string(engine::drop_name(r)), c.drop(r));
  }
  for (std::size_t i = 0; i < engine::kEventCount; ++i) {
    const auto e = static_cast<engine::Event>(i);
    add("engine." + std::string(engine::event_name(e)), c.event(e));
  }
  // A gauge (a word of the worker, like the shard counters above): leases a
  // reload left outside every pool, kept until they expire.
  add("engine.leases_outside_pools", shard_->withdrawn_leases());
  return s;
}

}  // namespace dorado::runtime
