#include "runtime/worker.hpp"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "engine/client_key.hpp"
#include "wire/frame.hpp"
#include "wire/l3reply.hpp"

namespace dorado::runtime {
namespace {

constexpr unsigned kSweepBudget = 64;        // wheel buckets+entries per loop
constexpr std::uint64_t kDrainUs = 100;      // TX buffer flush interval
constexpr unsigned kSleepSliceUs = 10000;    // a stop request is seen within 10 ms

void* tag_tx(rte_mbuf* m) noexcept {
  return reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(m) | kTxTag);
}

}  // namespace

Clock Clock::start() noexcept {
  Clock c;
  c.hz = rte_get_tsc_hz();
  c.tsc0 = rte_rdtsc();
  c.unix0 = static_cast<engine::Seconds>(std::time(nullptr));
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
      control_buf_(256) {}

Worker::~Worker() {
  // Every TX buffer is empty here: the worker flushed before returning, and
  // a worker that never ran never buffered.
  for (auto& t : tx_) rte_free(t.buffer);
}

void Worker::add_rx(std::uint16_t port, std::uint16_t queue) { rx_.emplace_back(port, queue); }

std::string Worker::add_tx(std::uint16_t port, std::uint16_t queue, bool own, wire::MacAddr mac,
                           rte_mempool* pool, unsigned tx_buffer) {
  TxPort& t = tx_[port];
  t.queue = queue;
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
  out_[peer] = ring;
}
void Worker::connect_in(rte_ring* ring) { in_.push_back(ring); }

int Worker::launch(void* self) { return static_cast<Worker*>(self)->run(); }

// Called from rte_eth_tx_buffer()/_flush() for what the queue did not take;
// the mbufs are ours to free.
void Worker::on_tx_error(rte_mbuf** unsent, std::uint16_t count, void* self) noexcept {
  auto* w = static_cast<Worker*>(self);
  rte_pktmbuf_free_bulk(unsent, count);
  w->counters_.drop(Drop::tx_full, count);
}

int Worker::run() noexcept {
  std::array<rte_mbuf*, kMaxBurst> pkts;
  std::array<void*, kMaxBurst> objs;
  const std::uint64_t drain_tsc = (rte_get_tsc_hz() + 999999) / 1000000 * kDrainUs;
  std::uint64_t last_flush = rte_rdtsc();
  const auto burst = static_cast<std::uint16_t>(burst_);

  while (!quit_->load(std::memory_order_relaxed)) {
    now_ = clock_->now();
    unsigned work = 0;

    for (const auto& [port, queue] : rx_) {
      const std::uint16_t n = rte_eth_rx_burst(port, queue, pkts.data(), burst);
      if (n == 0) continue;
      work += n;
      counters_.rx_packets.add(n);
      // Prefetch two ahead: parsing touches the first two cache lines.
      for (unsigned i = 0; i < n && i < 2; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
      for (unsigned i = 0; i < n; ++i) {
        if (i + 2 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 2], void*));
        on_rx(pkts[i], port);
      }
      // A burst appends at most 4 records per request to the shard's change
      // log, which is sized for one burst: pass them on after every burst.
      push_changes();
    }

    for (rte_ring* r : in_) {
      const unsigned n = rte_ring_sc_dequeue_burst(r, objs.data(), burst, nullptr);
      if (n == 0) continue;
      work += n;
      unsigned handed_in = 0;
      for (unsigned i = 0; i < n; ++i) {
        rte_mbuf* m = untag(objs[i]);
        if ((reinterpret_cast<std::uintptr_t>(objs[i]) & kTxTag) != 0) {
          send(m);
        } else {
          ++handed_in;
          on_handoff(m);
        }
      }
      counters_.handed_in.add(handed_in);
      push_changes();
    }

    shard_->sweep(now_, kSweepBudget);
    push_changes();

    const std::uint64_t tsc = rte_rdtsc();
    if (work == 0 || tsc - last_flush > drain_tsc) {
      flush_tx();
      last_flush = tsc;
    }
    if (work == 0 && idle_sleep_us_ != 0) idle_sleep();
  }
  // Stopping: what other workers still put in our rings is freed by
  // Runtime::stop() once every worker has returned (freeing it here would
  // race with peers that have not seen the stop yet).
  push_changes();
  flush_tx();
  return 0;
}

void Worker::idle_sleep() noexcept {
  counters_.idle_sleeps.add();
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
      counters_.drop(Drop::no_mbuf);
      return nullptr;
    }
    m = copy;
  }
  if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) return restore_vlan(m);
  return m;
}

rte_mbuf* Worker::restore_vlan(rte_mbuf* m) noexcept {
  if (rte_vlan_insert(&m) != 0) {   // needs 4 bytes of headroom
    counters_.drop(Drop::vlan_restore);
    rte_pktmbuf_free(m);
    return nullptr;
  }
  return m;
}

void Worker::on_rx(rte_mbuf* m, std::uint16_t port) noexcept {
  // Not every PMD fills in m->port (net_ring does not); the reply path and
  // the TX forwarding rely on it.
  m->port = port;
  if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1 ||
      (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) != 0) {
    m = writable(m);
    if (m == nullptr) return;
  }
  if (m->nb_segs != 1) {
    counters_.drop(Drop::multi_segment);
    rte_pktmbuf_free(m);
    return;
  }
  const wire::Bytes pkt(rte_pktmbuf_mtod(m, const std::uint8_t*), m->data_len);
  const wire::Frame f = wire::parse_frame(pkt);
  if (f.error != wire::Error::ok) {
    counters_.wire_error(f.error);
    rte_pktmbuf_free(m);
    return;
  }
  const TxPort& tx = tx_[port];
  switch (f.kind) {
    case wire::FrameKind::arp:
      if (wire::is_arp_request_for(f, server_address_)) {
        wire::make_arp_reply({rte_pktmbuf_mtod(m, std::uint8_t*), m->data_len}, f, tx.mac,
                             server_address_);
        counters_.arp_replies.add();
        send(m);
        return;
      }
      counters_.drop(Drop::arp_not_for_us);
      break;
    case wire::FrameKind::ipv4_icmp:
      if (wire::is_icmp_echo_for(pkt, f, server_address_)) {
        const std::size_t len =
            wire::make_icmp_echo_reply({rte_pktmbuf_mtod(m, std::uint8_t*), m->data_len}, f, tx.mac);
        m->data_len = static_cast<std::uint16_t>(len);
        m->pkt_len = static_cast<std::uint32_t>(len);
        counters_.icmp_replies.add();
        send(m);
        return;
      }
      counters_.drop(Drop::icmp_not_for_us);
      break;
    case wire::FrameKind::ipv4_udp: {
      if (f.udp.dst_port != wire::kPortBootps) {
        counters_.drop(Drop::not_dhcp);
        break;
      }
      if (const wire::Error e = msg_.parse(f.udp_payload(pkt)); e != wire::Error::ok) {
        counters_.wire_error(e);
        break;
      }
      // Requests without a usable key are refused (and counted) by our shard.
      const engine::KeyResult key = engine::client_key_of(msg_);
      const unsigned owner = key.status == engine::KeyStatus::ok
                                 ? engine::shard_for_hash(key.key.hash, peers_)
                                 : index_;
      if (owner == index_) {
        serve(m, f);
        return;
      }
      if (rte_ring_sp_enqueue(out_[owner], m) != 0) {
        counters_.drop(Drop::handoff_full);
        break;
      }
      counters_.handed_off.add();
      return;
    }
    case wire::FrameKind::ipv4_other:
      counters_.drop(Drop::not_dhcp);
      break;
    case wire::FrameKind::other:
      counters_.drop(Drop::not_ipv4);
      break;
  }
  rte_pktmbuf_free(m);
}

void Worker::on_handoff(rte_mbuf* m) noexcept {
  // The sender validated the packet (and made the mbuf writable); parsing
  // again (~100 ns) is cheaper than carrying a 3 KiB parsed message through
  // the ring.
  const wire::Bytes pkt(rte_pktmbuf_mtod(m, const std::uint8_t*), m->data_len);
  const wire::Frame f = wire::parse_frame(pkt);
  if (f.error != wire::Error::ok || msg_.parse(f.udp_payload(pkt)) != wire::Error::ok) {
    rte_pktmbuf_free(m);   // cannot happen: counted when first parsed
    return;
  }
  serve(m, f);
}

void Worker::serve(rte_mbuf* m, const wire::Frame& f) noexcept {
  const TxPort& port = tx_[m->port];
  const engine::RxMeta rx = engine::rx_meta_of(f, port.mac, server_address_);
  const engine::Decision d = shard_->handle(msg_, rx, now_);
  if (d.verdict != engine::Verdict::reply) {
    rte_pktmbuf_free(m);
    return;
  }
  // The request's bytes are the reply's inputs (chaddr, 82, 55), so the reply
  // is built beside them and then copied over them: one ~350-byte memcpy.
  const wire::BuildResult r =
      engine::build_reply(shard_->config(), d, msg_, rx, {scratch_.data(), scratch_.size()});
  if (r.error != wire::Error::ok) {
    shard_->count(engine::DropReason::reply_build_failed);
    rte_pktmbuf_free(m);
    return;
  }
  // The frame starts where the request did (data_off: the PMD's headroom,
  // minus 4 if a VLAN tag was put back); the room is what follows in this
  // mbuf's own buffer.
  if (r.length > static_cast<std::size_t>(m->buf_len - m->data_off)) {
    counters_.drop(Drop::reply_too_large);
    rte_pktmbuf_free(m);
    return;
  }
  std::memcpy(rte_pktmbuf_mtod(m, std::uint8_t*), scratch_.data(), r.length);
  m->data_len = static_cast<std::uint16_t>(r.length);
  m->pkt_len = static_cast<std::uint32_t>(r.length);
  send(m);
}

void Worker::send(rte_mbuf* m) noexcept {
  m->ol_flags = 0;   // RX flags must not be read as TX offload requests
  const TxPort& t = tx_[m->port];
  if (!t.own) {
    if (rte_ring_sp_enqueue(out_[t.queue], tag_tx(m)) != 0) {
      counters_.drop(Drop::handoff_full);
      rte_pktmbuf_free(m);
    }
    return;
  }
  // Non-zero only when the buffer filled up and was flushed; what the queue
  // refused went to on_tx_error().
  const std::uint16_t sent = rte_eth_tx_buffer(m->port, t.queue, t.buffer, m);
  if (sent != 0) counters_.tx_packets.add(sent);
}

void Worker::flush_tx() noexcept {
  for (const std::uint16_t p : own_tx_) {
    const std::uint16_t sent = rte_eth_tx_buffer_flush(p, tx_[p].queue, tx_[p].buffer);
    if (sent != 0) counters_.tx_packets.add(sent);
  }
}

void Worker::push_changes() noexcept {
  const auto changes = shard_->changes();
  if (changes.empty()) return;
  const unsigned n = rte_ring_sp_enqueue_burst_elem(changes_, changes.data(),
                                                    sizeof(engine::LeaseChange),
                                                    static_cast<unsigned>(changes.size()), nullptr);
  counters_.lease_changes.add(n);
  // Until the journal (next step) consumes them, a full ring loses records,
  // never a reply; it is counted.
  if (n < changes.size()) counters_.drop(Drop::change_ring_full, changes.size() - n);
  shard_->clear_changes();
}

std::size_t Worker::drain_changes_for_control() noexcept {
  if (changes_ == nullptr) return 0;
  std::size_t total = 0;
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst_elem(changes_, control_buf_.data(),
                                             sizeof(engine::LeaseChange),
                                             static_cast<unsigned>(control_buf_.size()), nullptr)) != 0)
    total += n;
  return total;
}

std::string Worker::describe() const {
  std::string s = "rx";
  for (const auto& [port, queue] : rx_) s += " " + std::to_string(port) + ":" + std::to_string(queue);
  if (rx_.empty()) s += " (none: handoff only)";
  s += ", tx";
  for (std::size_t p = 0; p < tx_.size(); ++p) {
    if (!tx_[p].present) continue;
    s += " " + std::to_string(p) + (tx_[p].own ? ":" : "->worker ") + std::to_string(tx_[p].queue);
  }
  return s;
}

WorkerSnapshot Worker::snapshot() const {
  WorkerSnapshot s;
  s.lcore = lcore_;
  auto add = [&](std::string name, std::uint64_t v) {
    if (v != 0) s.counters.emplace_back(std::move(name), v);
  };
  add("rx_packets", counters_.rx_packets.get());
  add("tx_packets", counters_.tx_packets.get());
  add("handed_off", counters_.handed_off.get());
  add("handed_in", counters_.handed_in.get());
  add("arp_replies", counters_.arp_replies.get());
  add("icmp_replies", counters_.icmp_replies.get());
  add("lease_changes", counters_.lease_changes.get());
  for (std::size_t i = 0; i < kDropCount; ++i)
    add("drop." + std::string(drop_name(static_cast<Drop>(i))), counters_.drops[i].get());
  for (std::size_t i = 1; i < wire::kErrorCount; ++i)
    add("wire." + std::string(wire::error_name(static_cast<wire::Error>(i))),
        counters_.wire_errors[i].get());
  // Shard counters are plain words written by the worker; see engine/counters.hpp.
  const engine::ShardCounters& c = shard_->counters();
  for (std::size_t i = 1; i < engine::kDropCount; ++i)
    add("engine.drop." + std::string(engine::drop_name(static_cast<engine::DropReason>(i))), c.drops[i]);
  for (std::size_t i = 0; i < engine::kEventCount; ++i)
    add("engine." + std::string(engine::event_name(static_cast<engine::Event>(i))), c.events[i]);
  return s;
}

}  // namespace dorado::runtime
