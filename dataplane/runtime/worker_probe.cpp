// Conflict detection on the worker (engine/probe.hpp; docs/architecture.md
// "Conflict detection"): a DISCOVER the shard answered with
// Decision::probe waits here, unmodified in its mbuf, while the address is
// probed from the port it came in on; the worker never waits for it.
//
// Which worker hears the answer: RSS spreads neither ARP nor ICMP by
// anything we choose, so any worker may receive an answer. The answer
// names the probed address (ARP sender address, ICMP source), and the
// probed address is always in a block of the probing shard (the shard
// allocates only from its own blocks, engine/allocator.hpp), so the
// receiver hands the frame to shard_of_block_base(address) through the
// handoff ring, tagged kProbeTag: no table shared between workers, no
// worker index to encode in the probe (an ARP request has no field a
// reply echoes). The ICMP identifier is one constant (wire::kProbeIcmpId)
// that tells our echo replies from others'.
//
// Per probe: one mbuf from the port's pool, one frame built (~60 bytes),
// O(1) table operations; no heap, no lock, no log.
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

#include "engine/allocator.hpp"
#include "engine/client_key.hpp"
#include "engine/reservations.hpp"
#include "runtime/worker.hpp"
#include "wire/frame.hpp"
#include "wire/probe.hpp"

namespace dorado::runtime {
namespace {

void* tag_probe(rte_mbuf* m) noexcept {
  return reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(m) | kProbeTag);
}

// The giaddr of a BOOTP message (offset 24), 0 when too short.
wire::Ipv4 giaddr_of(wire::Bytes payload) noexcept {
  return payload.size() >= 28 ? wire::load_be32(payload.data() + 24) : 0;
}

}  // namespace

// finish()'s alternative for a Decision with `probe`: holds the request in
// slot `slot` and sends the first probe; when it cannot (table full, no
// mbuf, too many conflicts already) the DISCOVER is decided again without
// probing and answered at once.
void Worker::start_probe(unsigned slot, const engine::Decision& d, std::uint8_t chain) noexcept {
  rte_mbuf* m = chunk_.mbufs[slot];
  const engine::CompiledConfig& config = shard_->config();
  engine::ProbeEntry e;
  e.payload = m;
  e.address = d.yiaddr;
  e.source = d.server_id;
  e.chain = chain;
  e.sends_left = static_cast<std::uint8_t>(std::max<std::uint32_t>(config.probe.probes, 1) - 1);
  const auto subnet = static_cast<std::size_t>(d.subnet - config.subnets.data());
  e.mode = subnet < config.probe_subnets.size() ? config.probe_subnets[subnet].mode : engine::ProbeMode::icmp;
  if (chain < engine::kProbeMaxChain && e.mode != engine::ProbeMode::off && !probes_.full() &&
      send_probe(e) && probes_.push(e))
    return;
  // Not probed: the OFFER goes now (the slot still holds the parsed request).
  counters_.probes_skipped.add();
  const engine::Decision again =
      shard_->redecide_discover(chunk_.msgs[slot], chunk_.metas[slot], now_, chunk_.keys[slot], false);
  finish(slot, again, redecided_hold(again));
}

// The callers checked room_for(), which counts the held queue too.
std::uint32_t Worker::redecided_hold(const engine::Decision& d) const noexcept {
  if (!hold_acks_ || !d.rapid_commit || d.verdict != engine::Verdict::reply || d.change_count == 0) return 0;
  return shard_->changes()[d.change_begin + d.change_count - 1].seq;
}

// One probe for `e` (its deadline set): ARP on the client's own segment,
// ICMP echo through the relay (or when the subnet says icmp). False when
// no mbuf or no frame could be had (counted as a drop).
bool Worker::send_probe(engine::ProbeEntry& e) noexcept {
  auto* req = static_cast<rte_mbuf*>(e.payload);
  const wire::Bytes pkt(rte_pktmbuf_mtod(req, const std::uint8_t*), req->data_len);
  const wire::Frame f = wire::parse_frame(pkt, wire::Verified{true, true});   // parsed before
  const TxPort& tx = tx_[req->port];
  rte_mbuf* m = rte_pktmbuf_alloc(tx.pool);
  if (m == nullptr) {
    drop(Drop::no_mbuf);
    return false;
  }
  wire::ProbeL2 l2;
  l2.src = tx.mac;
  l2.vlan_count = f.eth.vlan_count;
  l2.vlans = f.eth.vlans;
  const wire::Ipv4 giaddr = giaddr_of(f.udp_payload(pkt));
  const wire::MutableBytes out(rte_pktmbuf_mtod(m, std::uint8_t*), rte_pktmbuf_tailroom(m));
  std::size_t len = 0;
  if (e.mode == engine::ProbeMode::arp && giaddr == 0) {
    len = wire::build_arp_probe(out, l2, e.address);
  } else {
    // Relayed: to the relay's MAC, which routes it; on the segment: to all
    // (the address has no MAC we know).
    if (giaddr != 0) l2.dst = f.eth.src;
    e.seq = ++probe_seq_;
    len = wire::build_icmp_probe(out, l2, e.source, e.address, e.seq);
  }
  if (len == 0) {
    rte_pktmbuf_free(m);
    drop(Drop::no_mbuf);
    return false;
  }
  m->data_len = static_cast<std::uint16_t>(len);
  m->pkt_len = static_cast<std::uint32_t>(len);
  m->port = req->port;
  m->ol_flags = 0;
  const engine::CompiledConfig& config = shard_->config();
  probe_timeout_tsc_ = rte_get_tsc_hz() / 1000 * config.probe.timeout_ms;
  e.deadline = rte_rdtsc() + probe_timeout_tsc_;
  send(m);
  counters_.probes_sent.add();
  return true;
}

// classify()'s question for an ARP or ICMP frame that is not for the server
// address: does it answer a probe? True when it took the mbuf (queued for
// its owner, here or through the handoff ring).
bool Worker::probe_answer(rte_mbuf* m, wire::Bytes pkt, const wire::Frame& f) noexcept {
  const engine::CompiledConfig& config = shard_->config();
  if (!config.probe_enabled) return false;
  const wire::ProbeAnswer a = wire::probe_answer_of(pkt, f, tx_[m->port].mac);
  if (a.address == 0) return false;
  const unsigned owner = engine::shard_of_block_base(a.address, peers_, config.ha.enabled);
  if (owner != index_ && owner < out_.size() && out_[owner] != nullptr) {
    hand_off(owner, tag_probe(m));
    return true;
  }
  // Ours: only an address in flight is an answer (every other ARP is
  // someone's ordinary traffic).
  if (probes_.find(a.address) == nullptr) return false;
  if (answers_tail_ - answers_head_ < kAnswersQueued)
    answers_[answers_tail_++ % kAnswersQueued] = ProbeHeard{a.address, a.mac};
  rte_pktmbuf_free(m);
  return true;
}

// A frame another worker found to answer one of our probes.
void Worker::take_probe_answer(rte_mbuf* m) noexcept {
  const wire::Bytes pkt(rte_pktmbuf_mtod(m, const std::uint8_t*), m->data_len);
  const wire::Frame f = wire::parse_frame(pkt, wire::Verified{true, true});
  if (f.error != wire::Error::ok || !probe_answer(m, pkt, f)) rte_pktmbuf_free(m);
}

// Every loop while something is in flight: answers first (the address
// goes to probation, the DISCOVER is decided again for another address),
// then the probes whose time is up (another probe, or the OFFER). Each
// decision is taken only when its records fit in the change ring.
void Worker::serve_probes(std::uint64_t tsc) noexcept {
  while (answers_head_ != answers_tail_) {
    if (!room_for(2)) return;
    const ProbeHeard h = answers_[answers_head_++ % kAnswersQueued];
    engine::ProbeEntry* e = probes_.find(h.address);
    if (e == nullptr) continue;   // answered twice (ARP and ICMP)
    const std::uint8_t chain = e->chain;
    auto* m = static_cast<rte_mbuf*>(probes_.take(h.address));
    counters_.probes_answered.add();
    shard_->probe_conflict(h.address, now_);
    note_conflict(h.address, h.mac);
    redecide(m, static_cast<std::uint8_t>(chain + 1), true);
  }
  while (!probes_.empty()) {
    engine::ProbeEntry& head = probes_.head();
    if (!head.live) {
      probes_.pop();
      continue;
    }
    if (head.deadline > tsc) break;
    if (!room_for(1)) break;
    engine::ProbeEntry e = head;
    probes_.pop();
    if (e.sends_left != 0) {
      --e.sends_left;
      if (send_probe(e) && probes_.push(e)) continue;
    }
    counters_.probes_timed_out.add();
    redecide(static_cast<rte_mbuf*>(e.payload), e.chain, true);
  }
  push_changes();
}

// A held DISCOVER decided again (engine::Shard::redecide_discover), outside
// any burst: parsed into the free chunk slot and answered from it.
void Worker::redecide(rte_mbuf* m, std::uint8_t chain, bool may_probe) noexcept {
  const unsigned slot = chunk_.count;   // always free (see classify)
  const wire::Bytes pkt(rte_pktmbuf_mtod(m, const std::uint8_t*), m->data_len);
  const wire::Frame f = wire::parse_frame(pkt, wire::Verified{true, true});
  wire::DhcpMessage& msg = chunk_.msgs[slot];
  if (f.error != wire::Error::ok || msg.parse(f.udp_payload(pkt)) != wire::Error::ok) {
    rte_pktmbuf_free(m);   // cannot happen: it was parsed when it arrived
    return;
  }
  engine::set_request_key(chunk_.keys[slot], shard_->config(), msg, engine::rx_meta_of(f, {}, server_address_));
  chunk_.mbufs[slot] = m;
  trace_slots_[slot] = nullptr;   // not traced (a stale record of the last chunk otherwise)
  const TxPort& tx = tx_[m->port];
  chunk_.metas[slot] = engine::rx_meta_of(f, tx.mac, server_address_);
  chunk_.metas[slot].tx_checksum_offload = tx.checksum_offload;
  const engine::Decision d =
      shard_->redecide_discover(msg, chunk_.metas[slot], now_, chunk_.keys[slot], may_probe);
  if (d.probe)
    start_probe(slot, d, chain);
  else
    finish(slot, d, redecided_hold(d));
}

// At stop: the held DISCOVERs are dropped (their clients retransmit).
void Worker::free_probes() noexcept {
  while (!probes_.empty()) {
    engine::ProbeEntry& e = probes_.head();
    if (e.live) rte_pktmbuf_free(static_cast<rte_mbuf*>(e.payload));
    probes_.pop();
  }
}

// For the control thread's log: address in the high 32 bits would not
// leave room for the MAC, so each note is two words: [2n] address, [2n+1]
// MAC. A reader lapped by the worker may see a torn pair: the log line is
// then wrong, nothing else.
void Worker::note_conflict(wire::Ipv4 address, const wire::MacAddr& mac) noexcept {
  const std::uint32_t n = conflicts_written_.load(std::memory_order_relaxed);
  std::uint64_t m = 0;
  for (const std::uint8_t b : mac.b) m = m << 8 | b;
  const std::size_t i = (n % kConflictNotes) * 2;
  conflict_notes_[i].store(address, std::memory_order_relaxed);
  conflict_notes_[i + 1].store(m, std::memory_order_relaxed);
  conflicts_written_.store(n + 1, std::memory_order_release);
}

Worker::ConflictNote Worker::conflict_at(std::uint32_t n) const noexcept {
  const std::size_t i = (n % kConflictNotes) * 2;
  ConflictNote c;
  c.address = static_cast<wire::Ipv4>(conflict_notes_[i].load(std::memory_order_relaxed));
  const std::uint64_t m = conflict_notes_[i + 1].load(std::memory_order_relaxed);
  for (int b = 0; b < 6; ++b) c.mac.b[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(m >> (40 - 8 * b));
  return c;
}

}  // namespace dorado::runtime
