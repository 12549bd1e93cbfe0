// Conflict detection (engine/probe.hpp): ProbeTable, and the Shard's side
// of probing: which DISCOVER is probed, what an answer and a timeout do.
#include "engine/probe.hpp"

#include <bit>
#include <algorithm>
#include <cstring>
#include <utility>

#include "engine/engine.hpp"

namespace dorado::engine {
namespace {
// engine.cpp kMaxChangesPerRequest: the most records one DISCOVER emits.
constexpr std::uint32_t kProbeChangesPerRequest = 4;
}  // namespace

const char* probe_mode_name(ProbeMode m) noexcept {
  switch (m) {
    case ProbeMode::off: return "off";
    case ProbeMode::icmp: return "icmp";
    case ProbeMode::arp: return "arp";
  }
  return "off";
}

std::optional<ProbeMode> probe_mode_from(const char* text) noexcept {
  for (const ProbeMode m : {ProbeMode::off, ProbeMode::icmp, ProbeMode::arp})
    if (std::strcmp(text, probe_mode_name(m)) == 0) return m;
  return std::nullopt;
}

// ---- ProbeTable -----------------------------------------------------------------------

ProbeTable::ProbeTable(std::uint32_t capacity) {
  const std::uint32_t cap = std::bit_ceil(capacity < 2 ? 2u : capacity);
  const std::uint32_t index = cap * 2;   // load <= 1/2
  ring_ = std::make_unique<ProbeEntry[]>(cap);
  index_ = std::make_unique<std::uint32_t[]>(index);   // zeroed: empty
  mask_ = cap - 1;
  index_mask_ = index - 1;
  shift_ = 32u - static_cast<unsigned>(std::countr_zero(index));
}

bool ProbeTable::push(const ProbeEntry& e) noexcept {
  if (full()) return false;
  std::uint32_t i = slot_of(e.address);
  for (; index_[i] != 0; i = (i + 1) & index_mask_)
    if (ring_[index_[i] - 1].address == e.address) return false;   // already in flight
  const std::uint32_t pos = tail_++ & mask_;
  ring_[pos] = e;
  ring_[pos].live = true;
  index_[i] = pos + 1;
  ++live_;
  return true;
}

void ProbeTable::pop() noexcept {
  ProbeEntry& e = head();
  if (e.live) {
    unindex(e.address);
    e.live = false;
    --live_;
  }
  e.payload = nullptr;
  ++head_;
}

ProbeEntry* ProbeTable::find(Ipv4 addr) noexcept {
  for (std::uint32_t i = slot_of(addr); index_[i] != 0; i = (i + 1) & index_mask_) {
    ProbeEntry& e = ring_[index_[i] - 1];
    if (e.address == addr) return &e;
  }
  return nullptr;
}

void* ProbeTable::take(Ipv4 addr) noexcept {
  ProbeEntry* e = find(addr);
  if (e == nullptr) return nullptr;
  unindex(addr);
  e->live = false;
  --live_;
  return std::exchange(e->payload, nullptr);
}

// Linear probing deletion by backward shift: no tombstones, so a lookup
// never walks more than the cluster it lands in.
void ProbeTable::unindex(Ipv4 addr) noexcept {
  std::uint32_t i = slot_of(addr);
  while (index_[i] != 0 && ring_[index_[i] - 1].address != addr) i = (i + 1) & index_mask_;
  if (index_[i] == 0) return;
  std::uint32_t hole = i;
  for (std::uint32_t j = (i + 1) & index_mask_; index_[j] != 0; j = (j + 1) & index_mask_) {
    const std::uint32_t home = slot_of(ring_[index_[j] - 1].address);
    // j's entry may move into the hole when its home is not in (hole, j].
    if (((j - home) & index_mask_) >= ((j - hole) & index_mask_)) {
      index_[hole] = index_[j];
      hole = j;
    }
  }
  index_[hole] = 0;
}

// ---- the shard's side ---------------------------------------------------------------------

// on_discover's question, asked only with [conflict] on: probe `addr`
// before offering it to record idx? `last_held`: when another record last
// held it (a sticky address taken from an inactive lease), 0 if none did.
Shard::ProbeCheck Shard::probe_check(std::uint32_t idx, std::uint32_t subnet, Ipv4 addr,
                                     bool reserved, Seconds last_held, Seconds now) const noexcept {
  if (!probe_allowed_ || reserved) return ProbeCheck::no;
  const CompiledProbeSubnet& p = config_->probe_subnets[subnet];
  if (p.mode == ProbeMode::off) return ProbeCheck::no;
  const Lease& l = table_.at(idx);
  if (l.address == addr) {
    if (l.state == LeaseState::active) return ProbeCheck::no;   // its lease: no probe
    if (l.state == LeaseState::offered)
      return (l.flags & kLeaseProbing) ? ProbeCheck::pending : ProbeCheck::no;
    if (is_inactive(l.state)) last_held = std::max(last_held, l.expires);
  }
  if (last_held != 0 && std::uint64_t{now} < std::uint64_t{last_held} + p.probe_after_s) return ProbeCheck::no;
  return ProbeCheck::probe;
}

// on_discover's answer for a probed address: the offer is bound (so no
// other client gets it) and marked; the DISCOVER waits in the runtime.
Decision Shard::probe_decision(std::uint32_t idx, std::uint32_t subnet, Ipv4 addr,
                               std::uint32_t change_begin) noexcept {
  table_.at(idx).flags |= kLeaseProbing;
  bump(Event::probe_wanted);
  Decision d;
  d.verdict = Verdict::silent;
  d.probe = true;
  d.subnet = &config_->subnets[subnet];
  d.server_id = d.subnet->server_id;
  d.yiaddr = addr;
  d.change_begin = change_begin;
  d.change_count = change_count_ - change_begin;
  return d;
}

bool Shard::probe_conflict(Ipv4 addr, Seconds now) noexcept {
  const std::uint32_t subnet = config_->subnet_index_of(addr);
  if (subnet == kNil) return false;
  const SlotId slot = alloc_.slot_of(subnet, addr);
  if (slot == kNil) return false;
  const std::uint32_t idx = alloc_.lease_at(slot);
  if (idx == kNil) return false;
  Lease& l = table_.at(idx);
  if (l.state != LeaseState::offered || !(l.flags & kLeaseProbing) || l.address != addr) return false;
  if (changes_.size() - change_count_ < 1) return false;
  l.flags &= static_cast<std::uint8_t>(~kLeaseProbing);
  decline(idx, now);   // a keyless probation record, journaled like a DECLINE's
  bump(Event::probe_conflict);
  return true;
}

Decision Shard::redecide_discover(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                                  const KeyResult& key, bool may_probe) noexcept {
  if (m.error != wire::Error::ok) return refuse(DropReason::not_parsed);
  if (changes_.size() - change_count_ < kProbeChangesPerRequest) return refuse(DropReason::change_log_full);
  if (key.status == KeyStatus::ok) {
    const std::uint32_t idx = table_.find(key.key);
    if (idx != kNil) table_.at(idx).flags &= static_cast<std::uint8_t>(~kLeaseProbing);
  }
  probe_allowed_ = may_probe;
  const Decision d = discover_again(m, rx, now, key);
  probe_allowed_ = true;
  return d;
}

}  // namespace dorado::engine
