// Limits against starvation: the shared lock-free count table and the
// shard's side of it (see engine/limits.hpp; docs/architecture.md "Limits").
#include "engine/limits.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "engine/classes.hpp"   // relay_sub_option
#include "engine/client_key.hpp"
#include "engine/engine.hpp"

namespace dorado::engine {

std::string_view limit_by_name(LimitBy by) noexcept {
  switch (by) {
    case LimitBy::circuit_id: return "circuit_id";
    case LimitBy::remote_id: return "remote_id";
    case LimitBy::mac: return "mac";
  }
  return "invalid";
}

std::uint64_t limit_key_hash(LimitBy by, wire::Bytes option82, const wire::MacAddr& chaddr,
                             std::uint64_t scope) noexcept {
  wire::Bytes id;
  std::uint8_t kind = 3;   // the MAC
  if (by == LimitBy::circuit_id && !(id = relay_sub_option(option82, 1)).empty()) {
    kind = 1;
  } else if (by != LimitBy::mac && !(id = relay_sub_option(option82, 2)).empty()) {
    kind = 2;
  } else {
    id = wire::Bytes{chaddr.b.data(), chaddr.b.size()};
  }
  // kind, scope (8 bytes), then the identifier (sub-option lengths are one byte).
  std::array<std::uint8_t, 1 + 8 + 256> buf{};
  const std::size_t n = std::min<std::size_t>(id.size(), 255);
  buf[0] = kind;
  std::memcpy(buf.data() + 1, &scope, 8);
  if (n != 0) std::memcpy(buf.data() + 9, id.data(), n);
  return hash_key_bytes(wire::Bytes{buf.data(), 9 + n});
}

// ---- LimitTable ----------------------------------------------------------------------

LimitTable::LimitTable(std::uint64_t keys)
    : slots_(std::bit_ceil(std::clamp<std::uint64_t>(2 * keys, 64, std::uint64_t{1} << 30))),
      mask_(static_cast<std::uint32_t>(slots_.size() - 1)) {}

namespace {
std::atomic_ref<std::uint64_t> at(std::uint64_t& w) noexcept { return std::atomic_ref<std::uint64_t>(w); }
}  // namespace

std::uint32_t LimitTable::count(std::uint64_t hash) const noexcept {
  const std::uint64_t tag = tag_of(hash);
  for (std::uint32_t i = 0; i < kLimitWindow; ++i) {
    const std::uint32_t s = (static_cast<std::uint32_t>(hash) + i) & mask_;
    const std::uint64_t w =
        std::atomic_ref<const std::uint64_t>(slots_[s].word).load(std::memory_order_acquire);
    if (w == 0) return 0;
    if ((w >> 24) == tag) return static_cast<std::uint32_t>(w & kLimitCountMask);
  }
  return 0;
}

std::uint32_t LimitTable::find_or_claim(std::uint64_t hash) noexcept {
  const std::uint64_t tag = tag_of(hash);
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::uint32_t free_slot = kNil;
    std::uint64_t free_word = 0;
    for (std::uint32_t i = 0; i < kLimitWindow; ++i) {
      const std::uint32_t s = (static_cast<std::uint32_t>(hash) + i) & mask_;
      const std::uint64_t w = at(slots_[s].word).load(std::memory_order_acquire);
      if (w != 0 && (w >> 24) == tag) return s;
      if (w == 0 || (w & kLimitCountMask) == 0) {
        if (free_slot == kNil) {
          free_slot = s;
          free_word = w;
        }
        if (w == 0) break;   // never used: the key is not further on
      }
    }
    if (free_slot == kNil) return kNil;
    std::uint64_t expected = free_word;
    if (at(slots_[free_slot].word).compare_exchange_strong(expected, tag << 24, std::memory_order_acq_rel)) {
      at(slots_[free_slot].rate).store(0, std::memory_order_relaxed);   // a new key: no rate yet
      return free_slot;
    }
    // Someone took it (maybe for this key): look again.
  }
  return kNil;
}

LimitTable::Taken LimitTable::take(std::uint64_t hash, std::uint32_t max) noexcept {
  const std::uint64_t tag = tag_of(hash);
  for (int attempt = 0; attempt < 8; ++attempt) {
    const std::uint32_t s = find_or_claim(hash);
    if (s == kNil) return {Take::no_room, kNil};
    std::uint64_t w = at(slots_[s].word).load(std::memory_order_acquire);
    while ((w >> 24) == tag) {
      const std::uint64_t n = w & kLimitCountMask;
      if ((max != 0 && n >= max) || n == kLimitCountMask) return {Take::full, kNil};
      if (at(slots_[s].word).compare_exchange_weak(w, w + 1, std::memory_order_acq_rel)) return {Take::ok, s};
    }
    // The slot went to another key between the claim and the increment.
  }
  return {Take::no_room, kNil};
}

void LimitTable::release(std::uint32_t slot) noexcept {
  if (slot > mask_) return;
  std::uint64_t w = at(slots_[slot].word).load(std::memory_order_acquire);
  while ((w & kLimitCountMask) != 0 &&
         !at(slots_[slot].word).compare_exchange_weak(w, w - 1, std::memory_order_acq_rel)) {
  }
}

LimitTable::Take LimitTable::admit_new(std::uint64_t hash, std::uint32_t max, Seconds now) noexcept {
  const std::uint32_t s = find_or_claim(hash);
  if (s == kNil) return Take::no_room;
  auto rate = at(slots_[s].rate);
  std::uint64_t r = rate.load(std::memory_order_acquire);
  for (;;) {
    std::uint64_t next;
    if ((r >> 32) != now) {
      next = std::uint64_t{now} << 32 | 1;
    } else {
      if ((r & 0xffffffffu) >= max) return Take::full;
      next = r + 1;
    }
    if (rate.compare_exchange_weak(r, next, std::memory_order_acq_rel)) return Take::ok;
  }
}

// ---- the shard's side ------------------------------------------------------------------

const CompiledLimits* Shard::limits_of(std::uint32_t subnet) const noexcept {
  if (config_->subnet_limits.empty() || subnet >= config_->subnet_limits.size()) return nullptr;
  const CompiledLimits& l = config_->subnet_limits[subnet];
  return l.active() ? &l : nullptr;
}

DropReason Shard::limit_admit(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                              wire::MessageType type, const KeyResult& key) noexcept {
  pending_limit_ = kNil;
  if (type != wire::MessageType::discover && type != wire::MessageType::request) return DropReason::none;
  if (key.status != KeyStatus::ok) return DropReason::none;   // refused later anyway
  const CompiledLimits* lim = limits_of(select_subnet(m, rx));
  if (lim == nullptr) return DropReason::none;
  // A client holding an active lease is never refused (renewal, rebinding,
  // INIT-REBOOT, a DISCOVER of a bound client).
  const std::uint32_t idx = table_.find(key.key);
  const Lease* l = idx != kNil ? &table_.at(idx) : nullptr;
  if (l != nullptr && l->state == LeaseState::active && l->expires > now) return DropReason::none;
  // chaddr as commit() keeps it (Lease::chaddr): the first min(hlen, 6) bytes.
  wire::MacAddr mac{};
  std::memcpy(mac.b.data(), m.chaddr_field.data(), std::min<std::size_t>(m.hlen, 6));
  const std::uint64_t h =
      limit_key_hash(lim->by, m.option(wire::opt::relay_agent_info).value_or(wire::Bytes{}), mac, lim->scope);
  // A new client: a DISCOVER, or a REQUEST without an offer (INIT-REBOOT
  // after expiry, SELECTING without DISCOVER).
  const bool new_client = type == wire::MessageType::discover || l == nullptr || l->state != LeaseState::offered;
  // A DISCOVER with option 80 may commit at once (RFC 4039, rapid_commit.cpp):
  // it reserves its place as a REQUEST does (take: refused exactly when the
  // count check would refuse it), so that two workers never both pass the
  // last free place; limit_settle gives it back when only an OFFER went out.
  const bool reserves = type == wire::MessageType::request || m.has(wire::opt::rapid_commit);
  if (!reserves) {
    if (lim->max_leases != 0 && limits_->count(h) >= lim->max_leases) return DropReason::limit_leases;
  }
  if (new_client && lim->max_new_per_second != 0) {
    const LimitTable::Take t = limits_->admit_new(h, lim->max_new_per_second, now);
    if (t == LimitTable::Take::full) return DropReason::limit_rate;
    if (t == LimitTable::Take::no_room) bump(Event::limit_table_full);
  }
  if (reserves && lim->max_leases != 0) {
    // Reserved now, bound to the lease if this REQUEST (or rapid-commit
    // DISCOVER) commits one (limit_settle), given back otherwise.
    const LimitTable::Taken t = limits_->take(h, lim->max_leases);
    if (t.status == LimitTable::Take::full) return DropReason::limit_leases;
    if (t.status == LimitTable::Take::no_room) bump(Event::limit_table_full);
    pending_limit_ = t.slot;
  }
  return DropReason::none;
}

void Shard::limit_settle(const wire::DhcpMessage& m, const KeyResult& key) noexcept {
  const std::uint32_t slot = pending_limit_;
  pending_limit_ = kNil;
  const std::uint32_t idx = key.status == KeyStatus::ok ? table_.find(key.key) : kNil;
  const bool uncounted_lease =
      idx != kNil && table_.at(idx).state == LeaseState::active && limit_slots_[idx] == 0;
  if (slot == kNil) {
    // A bound client whose lease moved (detach uncounted it): counted again.
    if (uncounted_lease) limit_charge(idx, m.option(wire::opt::relay_agent_info).value_or(wire::Bytes{}));
    return;
  }
  if (uncounted_lease) {
    limit_slots_[idx] = slot + 1;
    ++charged_;
    return;
  }
  limits_->release(slot);   // nothing committed
}

void Shard::limit_charge(std::uint32_t idx, wire::Bytes option82) noexcept {
  if (limits_ == nullptr || limit_slots_[idx] != 0) return;
  const Lease& l = table_.at(idx);
  if (l.state != LeaseState::active || l.key_len == 0 || l.subnet == kNoSubnet) return;
  const CompiledLimits* lim = limits_of(l.subnet);
  if (lim == nullptr || lim->max_leases == 0) return;
  // A lease that exists is counted even above the limit (a lower limit
  // after a reload, or leases granted elsewhere): new ones wait.
  const LimitTable::Taken t = limits_->take(limit_key_hash(lim->by, option82, l.chaddr, lim->scope), 0);
  if (t.status != LimitTable::Take::ok) {
    bump(Event::limit_table_full);
    return;
  }
  limit_slots_[idx] = t.slot + 1;
  ++charged_;
}

void Shard::limit_uncharge(const Lease& l) noexcept {
  const auto idx = static_cast<std::uint32_t>(&l - &table_.at(0));
  if (idx >= table_.capacity() || limit_slots_[idx] == 0) return;
  limits_->release(limit_slots_[idx] - 1);
  limit_slots_[idx] = 0;
  --charged_;
}

void Shard::recount_limits() noexcept {
  if (limits_ == nullptr) return;
  if (charged_ != 0) {
    table_.for_each([&](std::uint32_t, const Lease& l) { limit_uncharge(l); });
  }
  if (config_->subnet_limits.empty()) return;
  table_.for_each([&](std::uint32_t idx, const Lease& l) {
    if (l.state != LeaseState::active) return;
    limit_charge(idx, relay_info_.enabled() ? relay_info_.find(idx, l.hash, l.address) : wire::Bytes{});
  });
}

std::uint32_t Shard::limit_count(LimitBy by, wire::Bytes option82, const wire::MacAddr& chaddr,
                                 std::uint64_t scope) const noexcept {
  return limits_ == nullptr ? 0 : limits_->count(limit_key_hash(by, option82, chaddr, scope));
}

}  // namespace dorado::engine
