#include "engine/engine.hpp"

#include "engine/reservations.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <type_traits>

namespace dorado::engine {

namespace {

using wire::MessageType;

constexpr Ipv4 kBroadcastIp = 0xffffffffu;
// Worst case per request: expire of the client's own lease found due, reclaim
// of its old address, reclaim of another client's sticky record, commit.
constexpr std::uint32_t kMaxChangesPerRequest = 4;

Seconds expiry(Seconds now, std::uint32_t duration) noexcept {
  const std::uint64_t e = std::uint64_t{now} + duration;
  return e > kTimeMax ? kTimeMax : static_cast<Seconds>(e);
}

}  // namespace


RxMeta rx_meta_of(const wire::Frame& frame, wire::MacAddr local_mac, Ipv4 interface_address) noexcept {
  RxMeta rx;
  rx.interface_address = interface_address;
  rx.local_mac = local_mac;
  rx.src_mac = frame.eth.src;
  rx.ip_src = frame.ip.src;
  rx.ip_dst = frame.ip.dst;
  rx.vlan_count = frame.eth.vlan_count;
  rx.vlans = frame.eth.vlans;
  return rx;
}

// ---- construction -------------------------------------------------------------

Shard::Shard(const CompiledConfig& config, const ShardConfig& sizes)
    : config_(&config),
      id_(sizes.identity),
      table_(sizes.table),
      alloc_(config, sizes.identity),
      changes_(sizes.change_log_capacity),
      change_bodies_(sizes.change_bodies),
      ha_serve_(config.ha.enabled ? HaServe::none : HaServe::all),
      relay_info_(sizes.keep_relay_info ? sizes.table.capacity : 0),
      own_limits_(sizes.limits != nullptr ? nullptr : std::make_unique<LimitTable>(sizes.table.capacity)),
      limits_(sizes.limits != nullptr ? sizes.limits : own_limits_.get()),
      limit_slots_(sizes.table.capacity) {}

Shard::Created Shard::create(const CompiledConfig& config, const ShardConfig& sizes) {
  Created r;
  if (sizes.identity.count == 0 || sizes.identity.index >= sizes.identity.count) {
    r.error = "shard index must be below shard count";
    return r;
  }
  if (sizes.change_log_capacity < kMaxChangesPerRequest) {
    r.error = "change_log_capacity must be at least 4";
    return r;
  }
  if (config.subnets.empty() && config.server_address == 0) {
    r.error = "config is not compiled";
    return r;
  }
  try {
    r.shard.reset(new Shard(config, sizes));
  } catch (const std::exception& e) {
    r.error = std::string("cannot allocate shard tables: ") + e.what();
  }
  return r;
}

// ---- per-request helpers ----------------------------------------------------------

namespace {

// The selection, once for both callers: inlined into the shard's
// select_subnet (which keeps only the index: its `by` and `selector` cost
// nothing there; out of line, the struct cost ~12 instructions per request,
// callgrind on engine_bench), and into the public select_subnet (the trace).
[[gnu::always_inline]] inline SubnetChoice choose_subnet(const CompiledConfig& config,
                                                         const wire::DhcpMessage& m,
                                                         const RxMeta& rx) noexcept {
  if (auto s = m.subnet_selection())   // RFC 3011
    return {config.subnet_index_of(*s), SubnetBy::subnet_selection, *s};
  if (m.has(wire::opt::relay_agent_info)) {   // RFC 3527
    if (auto rai = m.relay_agent_info(); rai && rai->link_selection)
      return {config.subnet_index_of(*rai->link_selection), SubnetBy::link_selection, *rai->link_selection};
  }
  if (m.giaddr != 0) {
    // A relay on the subnet's own link has a giaddr inside it; one elsewhere
    // (a routed hop, a loopback giaddr) is found by the subnet's `relays`.
    const std::uint32_t s = config.subnet_index_of(m.giaddr);
    if (s != kNil) return {s, SubnetBy::giaddr, m.giaddr};
    return {config.subnet_of_relay(m.giaddr), SubnetBy::relay, m.giaddr};
  }
  // Unrelayed, tagged: the subnet that names the tags (engine/select.cpp).
  if (rx.vlan_count != 0 && !config.vlan_subnets.empty()) [[unlikely]]
    if (const std::uint32_t s = config.subnet_of_vlans(rx.vlan_count, rx.vlans); s != kNil)
      return {s, SubnetBy::vlan, 0};
  // A renewing client unicasts from its own address, bypassing any relay.
  if (m.ciaddr != 0) return {config.subnet_index_of(m.ciaddr), SubnetBy::ciaddr, m.ciaddr};
  if (rx.interface_address != 0)
    return {config.subnet_index_of(rx.interface_address), SubnetBy::interface, rx.interface_address};
  return {};
}

}  // namespace

SubnetChoice select_subnet(const CompiledConfig& config, const wire::DhcpMessage& m,
                           const RxMeta& rx) noexcept {
  return choose_subnet(config, m, rx);
}

std::string_view subnet_by_name(SubnetBy by) noexcept {
  constexpr std::array<std::string_view, kSubnetByCount> kNames{
      "none", "option 118", "option 82.5", "giaddr", "relay", "ciaddr", "interface", "vlan"};
  const auto i = static_cast<std::size_t>(by);
  return i < kNames.size() ? kNames[i] : std::string_view{"invalid"};
}

std::uint32_t Shard::select_subnet(const wire::DhcpMessage& m, const RxMeta& rx) const noexcept {
  return choose_subnet(*config_, m, rx).index;
}

// Both inline (used only in this file): out of line, the 12-byte Times went
// back through the stack, stored as three words and reloaded as a pair (a
// store-forwarding stall: 76% of times_for's samples in the worker).
[[gnu::always_inline]] inline Shard::Times Shard::scaled_times(const CompiledSubnet& s,
                                                              std::uint32_t t) noexcept {
  // Rounded to nearest: 0.4 has no exact binary fraction, and 1000 s * 0.4
  // must be 400, not 399.
  return Times{t, static_cast<std::uint32_t>((std::uint64_t{t} * s.t1_q16 + 0x8000) >> 16),
               static_cast<std::uint32_t>((std::uint64_t{t} * s.t2_q16 + 0x8000) >> 16)};
}

[[gnu::always_inline]] inline Shard::Times Shard::times_for(const CompiledSubnet& s,
                                                           const wire::DhcpMessage& m) const noexcept {
  std::uint32_t t = s.lease_time;
  if (auto want = m.lease_time()) t = std::clamp(*want, s.min_lease_time, s.max_lease_time);
  return scaled_times(s, t);
}

[[gnu::always_inline]] inline Shard::Times Shard::times_for(const CompiledSubnet& s, const Ctx& c,
                                                           std::uint32_t subnet, Ipv4 addr) const noexcept {
  if (c.classes == 0 && config_->subnet_pools.empty()) [[likely]] return times_for(s, c.m);
  std::uint32_t given = config_->classes.lease_time(c.classes);
  if (given == 0 && !config_->subnet_pools.empty())
    if (const std::uint32_t p = config_->pool_of(subnet, addr); p != kNoPool) given = config_->pools[p].lease_time;
  if (given == 0) return times_for(s, c.m);
  // A class's or pool's lease time is the lease given; a client's 51 may
  // shorten it (not below min_lease_time).
  std::uint32_t t = given;
  if (auto want = c.m.lease_time()) t = std::min(std::max(*want, s.min_lease_time), given);
  return scaled_times(s, t);
}

Decision Shard::refuse(DropReason r) noexcept {
  count(r);
  Decision d;
  d.verdict = Verdict::drop;
  d.drop = r;
  return d;
}

Decision Shard::silent(const Ctx& c) noexcept {
  Decision d;
  d.verdict = Verdict::silent;
  d.change_begin = c.change_begin;
  d.change_count = change_count_ - c.change_begin;
  return d;
}

Decision Shard::reply(const Ctx& c, MessageType type, std::uint32_t subnet, Ipv4 yiaddr,
                      const Times* times, Ipv4 client_ip) noexcept {
  const wire::DhcpMessage& m = c.m;
  Decision d;
  d.verdict = Verdict::reply;
  d.type = type;
  d.subnet = subnet != kNil ? &config_->subnets[subnet] : nullptr;
  d.server_id = d.subnet != nullptr ? d.subnet->server_id : config_->server_address;
  d.yiaddr = yiaddr;
  d.ciaddr = type == MessageType::ack ? m.ciaddr : 0;
  if (times != nullptr) {
    d.lease_options = true;
    d.lease_time = times->lease;
    d.t1 = times->t1;
    d.t2 = times->t2;
  }
  d.subnet_options = type != MessageType::nak && d.subnet != nullptr;
  if (c.reservation != nullptr && d.subnet_options) [[unlikely]] {
    const CompiledReservation& info = config_->reservation_infos[c.reservation->info];
    if (info.options_count != 0) d.reservation = &info;
  }
  if (c.classes != 0 || !config_->subnet_pools.empty()) [[unlikely]] {
    d.classes = c.classes & config_->classes.with_options;
    if (yiaddr != 0 && subnet != kNil && !config_->subnet_pools.empty()) d.pool = config_->pool_of(subnet, yiaddr);
  }
  d.change_begin = c.change_begin;
  d.change_count = change_count_ - c.change_begin;

  // RFC 2131 4.1, "giaddr" paragraph and table of destinations.
  d.flags = m.flags;
  d.dst_port = wire::kPortBootpc;
  if (m.giaddr != 0) {
    d.ip_dst = m.giaddr;
    d.dst_port = wire::kPortBootps;
    d.eth_dst = c.rx.src_mac;
    if (type == MessageType::nak) d.flags |= wire::kFlagBroadcast;
  } else if (type == MessageType::nak) {
    d.ip_dst = kBroadcastIp;
    d.eth_dst = wire::MacAddr::broadcast();
  } else if (client_ip != 0) {
    d.ip_dst = client_ip;
    d.eth_dst = c.rx.src_mac;
  } else if (m.broadcast_flag() || m.htype != 1 || m.hlen != 6) {
    d.ip_dst = kBroadcastIp;
    d.eth_dst = wire::MacAddr::broadcast();
  } else {
    d.ip_dst = yiaddr;
    d.eth_dst = m.chaddr_mac();
  }
  switch (type) {
    case MessageType::offer: bump(Event::tx_offer); break;
    case MessageType::ack: bump(Event::tx_ack); break;
    default: bump(Event::tx_nak); break;
  }
  return d;
}

Decision Shard::nak(const Ctx& c, std::uint32_t subnet, NakReason why) noexcept {
  Decision d = reply(c, MessageType::nak, subnet, 0, nullptr, 0);
  d.nak = why;
  return d;
}

std::string_view nak_reason_name(NakReason r) noexcept {
  constexpr std::array<std::string_view, kNakReasonCount> kNames{
      "none", "not_in_subnet", "withdrawn", "reserved_elsewhere", "not_in_pool", "not_the_clients",
      "pool_not_allowed"};
  const auto i = static_cast<std::size_t>(r);
  return i < kNames.size() ? kNames[i] : std::string_view{"invalid"};
}

// ---- state transitions ------------------------------------------------------------

void Shard::emit(LeaseOp op, std::uint32_t idx) noexcept {
  if (emit_muted_) [[unlikely]] return;   // the HA partner's change, journaled already (engine/ha.cpp)
  if (change_count_ == changes_.size()) {   // cannot happen: handle/sweep reserve room
    count(DropReason::change_log_full);
    return;
  }
  LeaseChange& ch = changes_[change_count_++];
  if (change_bodies_) write_change(ch, idx, op == LeaseOp::commit);
  ch.seq = next_seq_++;
  ch.op = op;
}

LeaseChange Shard::change_of(std::uint32_t idx, bool with_hostname) const noexcept {
  LeaseChange ch;
  write_change(ch, idx, with_hostname);
  return ch;
}

// Written where it stays (emit: the change log slot): a LeaseChange built
// aside and then copied was 256 bytes loaded back right after its fields
// were stored (store-forwarding stalls: change_of + emit were 9.6% of
// engine_bench BM_EngineDoraExisting's samples, write_change is 4.2%).
void Shard::write_change(LeaseChange& ch, std::uint32_t idx, bool with_hostname) const noexcept {
  const Lease& l = table_.at(idx);
  std::memset(static_cast<void*>(&ch), 0, sizeof ch);   // trivially copyable (lease.hpp)
  ch.op = LeaseOp::commit;   // LeaseChange's default, as a value-initialised one had
  const wire::Bytes key = table_.key(idx);
  ch.key_len = static_cast<std::uint8_t>(key.size());
  if (!key.empty()) std::memcpy(ch.key.data(), key.data(), key.size());
  ch.htype = l.htype;
  if (with_hostname) {
    // Name and DNS flags in one inline read of the chunk (hostname_len and
    // ddns stay 0 without a name).
    const LeaseTable::StoredHostname host = table_.stored_hostname(idx);
    if (!host.name.empty()) {
      ch.hostname_len = static_cast<std::uint8_t>(host.name.size());
      std::memcpy(ch.hostname.data(), host.name.data(), host.name.size());
      ch.ddns = host.ddns;
    }
  }
  ch.subnet_id = l.subnet < config_->subnets.size() ? config_->subnets[l.subnet].id : 0;
  ch.address = l.address;
  ch.start = l.start;
  ch.expires = l.expires;
  ch.chaddr = l.chaddr;
  ch.shard = static_cast<std::uint8_t>(id_.index);
  // The lease's option 82 rides after the key (engine/lease.hpp): journaled
  // and replicated with the record. One branch without [leasequery].
  if (relay_info_.enabled()) [[unlikely]]
    set_relay_info(ch, relay_info_.find(idx, l.hash, l.address));
}

// Applies a due expiry the sweep has not reached yet, so a lookup never acts
// on a stale state. Returns idx, or kNil when the record went away.
std::uint32_t Shard::refresh(std::uint32_t idx, Seconds now) noexcept {
  const Lease& l = table_.at(idx);
  if (l.state == LeaseState::active && l.expires <= now) {
    if (l.flags & kLeaseForeign) {
      expire_foreign(idx);
      return kNil;
    }
    expire_active(idx);
  } else if (l.state == LeaseState::offered && l.expires <= now) {
    bump(Event::offer_expired);
    return end_offer(idx, now);
  }
  return idx;
}

Inserted Shard::create_record(const ClientKey& key, Seconds now) noexcept {
  Inserted r = table_.insert(key);
  if (r.error == InsertError::table_full) {
    // Evict the client that has been inactive longest (its address is only
    // sticky, nobody holds it).
    if (const std::uint32_t victim = table_.oldest_parked(); victim != kNil) {
      drop_record(victim, now);
      r = table_.insert(key);
    }
  }
  return r;
}

// The record gives up its address (it keeps its key). Emits reclaim when the
// store knows the record.
void Shard::detach(std::uint32_t idx, Seconds) noexcept {
  Lease& l = table_.at(idx);
  if (l.state == LeaseState::unused) return;
  if (l.flags & kLeasePersisted) {
    emit(LeaseOp::reclaim, idx);
    bump(Event::lease_reclaim);
    l.flags &= static_cast<std::uint8_t>(~kLeasePersisted);
  }
  table_.unlink(idx);
  const SlotId s = slot_of_lease(l);
  if (is_inactive(l.state))
    alloc_.unstick(s);
  else
    alloc_.give_back(s, false);
  alloc_.set_lease(s, kNil);   // give_back above is a no-op in a block we do not own
  set_state(l, LeaseState::unused);
  l.address = 0;
  if (l.flags & kLeaseWithdrawn) counter_store(withdrawn_, withdrawn_ - 1);
  l.flags &= static_cast<std::uint8_t>(~(kLeaseForeign | kLeaseHold | kLeaseWithdrawn));
}

void Shard::drop_record(std::uint32_t idx, Seconds now) noexcept {
  detach(idx, now);
  table_.erase(idx);
}

// Makes record idx hold `addr` (slot `slot`, or kNil to look it up only if
// needed) in `state` until `expires`. The address must be the record's own,
// or free, or a reserved one nobody holds. A bound client renewing its own
// address touches only its record: no slot or bitmap access.
void Shard::bind(std::uint32_t idx, std::uint32_t subnet, Ipv4 addr, SlotId slot, LeaseState state,
                 Seconds expires, Seconds now) noexcept {
  Lease& l = table_.at(idx);
  if (l.state != LeaseState::unused && l.address != addr) detach(idx, now);
  if (l.state == LeaseState::unused) {
    if (slot == kNil) slot = alloc_.slot_of(subnet, addr);
    alloc_.take(slot);
    alloc_.set_lease(slot, idx);
    l.address = addr;
    l.subnet = static_cast<std::uint16_t>(subnet);
  } else if (is_inactive(l.state)) {
    alloc_.take(slot != kNil ? slot : slot_of_lease(l));
  }
  set_state(l, state);
  table_.reschedule(idx, expires);
}

void Shard::commit(std::uint32_t idx, std::uint32_t subnet, Ipv4 addr, SlotId slot, const Times& t,
                   const Ctx& c) noexcept {
  Lease& l = table_.at(idx);
  const bool renewal =
      l.state == LeaseState::active && (l.flags & kLeasePersisted) && l.address == addr;
  bind(idx, subnet, addr, slot, LeaseState::active, expiry(c.now, t.lease), c.now);
  l.start = c.now;
  l.htype = c.m.htype;
  l.chaddr = wire::MacAddr{};
  std::memcpy(l.chaddr.b.data(), c.m.chaddr_field.data(), std::min<std::size_t>(c.m.hlen, 6));
  if (relay_info_.enabled()) keep_relay_info(idx, c.m);   // leasequery.cpp
  if (config_->ddns.enabled) [[unlikely]] return commit_ddns(idx, c, addr, renewal);
  // Renewals keep the stored name: one cache miss less per renewal.
  if (!renewal || l.hostname == kNil) {
    std::string_view reserved_name;   // a reserved hostname is the lease's name
    if (c.reservation != nullptr) [[unlikely]]
      reserved_name = config_->hostname_of(config_->reservation_infos[c.reservation->info]);
    if (!reserved_name.empty()) {
      if (!table_.set_hostname(idx, reserved_name)) bump(Event::hostname_not_stored);
    } else if (auto host = c.m.hostname(); host && !host->empty()) {
      if (!table_.set_hostname(idx, *host)) bump(Event::hostname_not_stored);
    }
  }
  l.flags |= kLeasePersisted;
  emit(renewal ? LeaseOp::renew : LeaseOp::commit, idx);
  bump(renewal ? Event::lease_renew : Event::lease_commit);
}

// commit()'s end with [ddns]: a new binding (or a renewal of a lease that
// has no name yet) gets the decided name and its DNS flags in place of the
// old ones (none: the name goes); other renewals keep theirs. A renewal
// that gives the lease its first name is journaled as a commit, the record
// that carries names.
void Shard::commit_ddns(std::uint32_t idx, const Ctx& c, Ipv4 addr, bool renewal) noexcept {
  c.ddns_lease = idx;
  Lease& l = table_.at(idx);
  bool named = false;
  if (!renewal || l.hostname == kNil) {
    const DdnsName& d = ddns_decide(idx, c.m, addr);   // the OFFER's, when it is the same (engine/ddns_cache.hpp)
    named = d.len != 0;
    if ((named || l.hostname != kNil) && !table_.set_hostname(idx, d.view(), d.flags))
      bump(Event::hostname_not_stored);
    if (d.reply_fqdn) c.ddns_name = &d;
  }
  l.flags |= kLeasePersisted;
  emit(renewal && !named ? LeaseOp::renew : LeaseOp::commit, idx);
  bump(renewal ? Event::lease_renew : Event::lease_commit);
}

void Shard::expire_active(std::uint32_t idx) noexcept {
  Lease& l = table_.at(idx);
  table_.unlink(idx);
  set_state(l, LeaseState::expired);   // `expires` keeps the lease end
  alloc_.give_back(slot_of_lease(l), true);
  table_.park(idx);
  emit(LeaseOp::expire, idx);
  bump(Event::lease_expire);
}

// A foreign lease ends: the store learns it expired; the record goes (no
// sticky history: the block owner's hold ends now and the address is its).
void Shard::expire_foreign(std::uint32_t idx) noexcept {
  emit(LeaseOp::expire, idx);
  bump(Event::lease_expire);
  forget(idx);
}

// An offer ends without commit: a record the store knows goes back to being
// inactive (still sticky); a brand-new one disappears.
std::uint32_t Shard::end_offer(std::uint32_t idx, Seconds now) noexcept {
  Lease& l = table_.at(idx);
  if (!(l.flags & kLeasePersisted)) {
    drop_record(idx, now);
    return kNil;
  }
  table_.unlink(idx);
  set_state(l, LeaseState::expired);
  l.expires = now;
  alloc_.give_back(slot_of_lease(l), true);
  table_.park(idx);
  return idx;
}

// The client's record becomes a keyless probation record on the address.
void Shard::decline(std::uint32_t idx, Seconds now) noexcept {
  Lease& l = table_.at(idx);
  if (l.flags & kLeaseForeign) {
    // The block owner's hold keeps the address out of the pool until the
    // lease's end; the probation record says so, and nothing stays here.
    l.start = now;
    emit(LeaseOp::decline, idx);
    bump(Event::lease_decline);
    forget(idx);
    return;
  }
  table_.reschedule(idx, expiry(now, config_->decline_probation_s));
  l.start = now;
  emit(LeaseOp::decline, idx);
  bump(Event::lease_decline);
  table_.unindex(idx);
  table_.set_hostname(idx, {});
  l.flags &= static_cast<std::uint8_t>(~kLeasePersisted);
  set_state(l, LeaseState::declined);
}

void Shard::release(std::uint32_t idx, Seconds now) noexcept {
  Lease& l = table_.at(idx);
  if (l.flags & kLeaseForeign) {   // no sticky history on an address we do not own
    l.expires = now;
    emit(LeaseOp::release, idx);
    bump(Event::lease_release);
    forget(idx);
    return;
  }
  table_.unlink(idx);
  set_state(l, LeaseState::released);
  l.expires = now;
  alloc_.give_back(slot_of_lease(l), true);
  table_.park(idx);
  emit(LeaseOp::release, idx);
  bump(Event::lease_release);
}

void Shard::end_probation(std::uint32_t idx, Seconds now) noexcept {
  emit(LeaseOp::expire, idx);   // key_len 0: the address alone
  bump(table_.at(idx).flags & kLeaseHold ? Event::hold_ended : Event::probation_ended);
  drop_record(idx, now);
}

void Shard::on_due(std::uint32_t idx, Seconds now) noexcept {
  switch (table_.at(idx).state) {
    case LeaseState::active:
      if (is_foreign(idx))
        expire_foreign(idx);
      else
        expire_active(idx);
      break;
    case LeaseState::offered:
      bump(Event::offer_expired);
      end_offer(idx, now);
      break;
    case LeaseState::declined: end_probation(idx, now); break;
    default: break;   // not scheduled in other states
  }
}

SweepResult Shard::sweep(Seconds now, std::uint32_t budget) noexcept {
  const auto room = static_cast<std::uint32_t>(changes_.size()) - change_count_;
  return table_.sweep(now, budget, room, [this, now](std::uint32_t i) { on_due(i, now); });
}

// ---- message handlers -----------------------------------------------------------------

Decision Shard::handle(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now) noexcept {
  KeyResult key;
  set_request_key(key, *config_, m, rx);   // reservations.cpp
  return decide(m, rx, now, key);
}

Shard::Burst Shard::handle_burst(std::span<const Request> burst, Seconds now) noexcept {
  Burst out;
  out.count = static_cast<std::uint32_t>(std::min<std::size_t>(burst.size(), kMaxBurst));
  // Three passes so the burst's cache misses overlap instead of queueing:
  // keys; then index slot + record of each (a short loop of independent
  // loads); then the decisions, which find everything in cache.
  std::array<KeyResult, kMaxBurst> computed;
  std::array<const KeyResult*, kMaxBurst> keys;
  for (std::uint32_t i = 0; i < out.count; ++i) {
    keys[i] = burst[i].key;
    if (keys[i] == nullptr) {
      set_request_key(computed[i], *config_, *burst[i].msg, *burst[i].rx);
      keys[i] = &computed[i];
    }
  }
  for (std::uint32_t i = 0; i < out.count; ++i)
    if (keys[i]->status == KeyStatus::ok) table_.touch_record(keys[i]->key.hash);
  // Constructed in place (no temporary): copying a returned Decision loaded
  // it back in words its fields had just been stored in narrower pieces
  // (a store-forwarding stall, ~20% of handle_burst's samples).
  static_assert(std::is_trivially_destructible_v<Decision>);
  for (std::uint32_t i = 0; i < out.count; ++i)
    new (&out.decisions[i]) Decision(decide(*burst[i].msg, *burst[i].rx, now, *keys[i]));
  return out;
}

Decision Shard::decide(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                       const KeyResult& key) noexcept {
  if (m.error != wire::Error::ok && !m.plain_bootp_request()) return refuse(DropReason::not_parsed);
  if (m.op != 1) return refuse(DropReason::not_boot_request);
  if (changes_.size() - change_count_ < kMaxChangesPerRequest)
    return refuse(DropReason::change_log_full);
  const auto type = m.message_type();
  if (!type) [[unlikely]] return decide_bootp(m, rx, now, key);   // bootp.cpp
  // HA: one predictable branch without [ha]; both ways end in a tail call,
  // so the check costs decide() no saved registers (callgrind: +16
  // instructions per request when ha_refusal was called from here).
  if (config_->ha.enabled) [[unlikely]] return decide_ha(m, rx, now, *type, key);
  return dispatch(m, rx, now, *type, key);
}

Decision Shard::dispatch(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                         wire::MessageType type, const KeyResult& key) noexcept {
  // Per-circuit limits: one predictable branch without them, a tail call with them.
  if (!config_->subnet_limits.empty()) [[unlikely]] return dispatch_limited(m, rx, now, type, key);
  return dispatch_policy(m, rx, now, type, key);
}

Decision Shard::dispatch_limited(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                                 wire::MessageType type, const KeyResult& key) noexcept {
  if (const DropReason r = limit_admit(m, rx, now, type, key); r != DropReason::none) return refuse(r);
  const Decision d = dispatch_policy(m, rx, now, type, key);
  if (type == MessageType::discover || type == MessageType::request) limit_settle(m, key);   // limits.cpp
  return d;
}

inline Decision Shard::dispatch_policy(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                                       wire::MessageType type, const KeyResult& key) noexcept {
  // [[class]]: one predictable branch without them, a tail call with them.
  if (config_->classes.any) [[unlikely]] return dispatch_classes(m, rx, now, type, key);
  // [ddns]: one predictable branch without it, a tail call with it.
  if (config_->ddns.enabled) [[unlikely]] return dispatch_ddns(m, rx, now, type, key);
  const Ctx c{m, rx, now, change_count_, key};
  return dispatch_type(c, type);
}

// Here rather than in shard_ddns.cpp so that dispatch_type() is inlined
// into it as into dispatch() (an out-of-line call cost 40 instructions per
// request with [ddns]).
Decision Shard::dispatch_ddns(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now, wire::MessageType type,
                              const KeyResult& key) noexcept {
  const Ctx c{m, rx, now, change_count_, key};
  Decision d = dispatch_type(c, type);
  if (d.verdict == Verdict::reply && d.lease_options && d.subnet != nullptr && m.has(wire::opt::client_fqdn))
    d.fqdn = ddns_reply(c, *d.subnet, d.yiaddr);
  return d;
}

// Client classes (engine/classes.hpp): matched once per request; a member
// of a drop class is not answered.
Decision Shard::dispatch_classes(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                                 wire::MessageType type, const KeyResult& key) noexcept {
  ClassSet cls = config_->classes.match(m, rx.vlan_count, rx.vlans);
  // Classes a reservation gives (Reservation::classes): OR-ed in here, so
  // that they drop, choose pools and give options like matched ones.
  if (!config_->reservation_classes.empty() && key.status == KeyStatus::ok) [[unlikely]]
    if (const ReservationEntry* r = reservation_for(key.key, m, select_subnet(m, rx)); r != nullptr)
      cls |= reservation_class_set(*config_, config_->reservation_infos[r->info]);
  if (cls & config_->classes.drop) return refuse(DropReason::class_drop);
  Ctx c{m, rx, now, change_count_, key};
  c.classes = cls;
  if (config_->ddns.enabled) [[unlikely]] {
    Decision d = dispatch_type(c, type);
    if (d.verdict == Verdict::reply && d.lease_options && d.subnet != nullptr && m.has(wire::opt::client_fqdn))
      d.fqdn = ddns_reply(c, *d.subnet, d.yiaddr);
    return d;
  }
  // Without [ddns] the callee's Decision is returned as it is (a prvalue, no
  // copy: a named Decision returned beside refuse()'s was copied, ~16
  // instructions per request).
  return dispatch_type(c, type);
}

Decision Shard::dispatch_type(const Ctx& c, wire::MessageType type) noexcept {
  switch (type) {
    case MessageType::discover: bump(Event::rx_discover); return on_discover(c);
    case MessageType::request: bump(Event::rx_request); return on_request(c);
    case MessageType::decline: bump(Event::rx_decline); return on_decline(c);
    case MessageType::release: bump(Event::rx_release); return on_release(c);
    case MessageType::inform: bump(Event::rx_inform); return on_inform(c);
    case MessageType::lease_query: return on_leasequery(c.m, c.rx);   // leasequery.cpp
    default: return refuse(DropReason::unexpected_message_type);
  }
}

namespace {
DropReason key_drop(KeyStatus s) noexcept {
  return s == KeyStatus::too_long ? DropReason::client_id_too_long : DropReason::no_client_key;
}
DropReason insert_drop(InsertError e) noexcept {
  return e == InsertError::key_store_full ? DropReason::key_store_full : DropReason::lease_table_full;
}
}  // namespace

Decision Shard::on_discover(const Ctx& c) noexcept {
  const wire::DhcpMessage& m = c.m;
  if (c.key.status != KeyStatus::ok) return refuse(key_drop(c.key.status));
  const ClientKey& key = c.key.key;
  std::uint32_t subnet = select_subnet(m, c.rx);   // may move within its shared network
  if (subnet == kNil) return refuse(DropReason::no_subnet);

  std::uint32_t idx = table_.find(key);
  if (idx != kNil) idx = refresh(idx, c.now);
  if (!store_writable_)
    return idx != kNil && is_withdrawn(idx) ? refuse(DropReason::store_unavailable)
                                            : offer_unjournaled(c, idx, subnet);
  // A foreign lease (refreshed: still active) cannot be extended. A
  // withdrawn one (reload) is not offered again: the client moves.
  const bool withdrawn = idx != kNil && is_withdrawn(idx);
  if (idx != kNil && is_foreign(idx) && !withdrawn && config_->same_network(table_.at(idx).subnet, subnet))
    return offer_unjournaled(c, idx, table_.at(idx).subnet);

  // 1. reservation, 2. the client's current or previous address,
  // 3. the requested address if clean-free, 4. any free address.
  // `addr` is the choice; `target` its slot when already looked up.
  Ipv4 addr = 0;
  SlotId target = kNil;
  Seconds last_held = 0;   // conflict detection: when another record last held addr
  c.reservation = reservation_for(key, m, subnet);
  if (const ReservationEntry* r = c.reservation; r != nullptr && r->address != 0) {
    const SlotId s = alloc_.slot_of(r->subnet, r->address);
    std::uint32_t holder = alloc_.lease_at(s);
    if (holder != kNil && holder != idx) holder = yield_same_device(holder, idx, m, *r, c.now);   // reservations.cpp
    if (holder == kNil || holder == idx) {
      addr = r->address;
      subnet = r->subnet;
      target = s;
      last_held = kTimeMax;   // a reservation is never probed (probe.cpp)
      bump(Event::reservation_used);
    } else {
      bump(Event::reservation_in_use);
    }
  }
  if (addr == 0 && idx != kNil && !withdrawn && config_->same_network(table_.at(idx).subnet, subnet) &&
      config_->pool_allows(table_.at(idx).subnet, table_.at(idx).address, c.classes)) {
    addr = table_.at(idx).address;
    subnet = table_.at(idx).subnet;
  }
  if (addr == 0) {
    if (auto want = m.requested_ip()) {
      const std::uint32_t ws = subnet_in_network(subnet, *want);   // select.cpp
      const SlotId s = config_->subnets[ws].contains(*want) && config_->pool_allows(ws, *want, c.classes)
                           ? alloc_.slot_of(ws, *want)
                           : kNil;
      if (s != kNil && alloc_.is_free(s) && !alloc_.is_sticky(s)) {
        addr = *want;
        subnet = ws;
        target = s;
      }
    }
  }
  bool created = false;
  if (idx == kNil) {
    const Inserted ins = create_record(key, c.now);
    if (ins.index == kNil) return refuse(insert_drop(ins.error));
    idx = ins.index;
    created = true;
  }
  if (addr == 0) {
    target = pick_in_network(subnet, c.classes);   // select.cpp: the next subnet of a shared network when full
    if (target == kNil) {
      if (created) table_.erase(idx);
      return refuse(config_->subnet_pools.empty() || config_->subnet_pools[subnet].count == 0
                        ? DropReason::pool_exhausted
                        : DropReason::no_pool_for_class);
    }
    addr = alloc_.address_of(target);
    // A sticky address: the inactive client that last had it loses it.
    if (const std::uint32_t holder = alloc_.lease_at(target); holder != kNil && holder != idx) {
      last_held = table_.at(holder).expires;
      drop_record(holder, c.now);
    }
  }
  if (config_->probe_enabled) [[unlikely]] {   // [conflict] (probe.cpp)
    const ProbeCheck p = probe_check(idx, subnet, addr, last_held == kTimeMax, last_held, c.now);
    if (p == ProbeCheck::pending) return refuse(DropReason::probe_pending);
    if (p == ProbeCheck::probe) {
      bind(idx, subnet, addr, target, LeaseState::offered, expiry(c.now, config_->offer_hold_s), c.now);
      return probe_decision(idx, subnet, addr, c.change_begin);
    }
  }
  const Times t = times_for(config_->subnets[subnet], c, subnet, addr);
  // RFC 4039: one branch on the subnet's flag (rapid_commit.cpp).
  if (config_->subnets[subnet].rapid_commit && m.has(wire::opt::rapid_commit)) [[unlikely]]
    return rapid_ack(c, idx, subnet, addr, target, t);
  const Lease& l = table_.at(idx);
  if (!(l.state == LeaseState::active && l.address == addr))
    bind(idx, subnet, addr, target, LeaseState::offered, expiry(c.now, config_->offer_hold_s), c.now);
  c.ddns_lease = idx;   // ddns_reply() needs no lookup
  return reply(c, MessageType::offer, subnet, addr, &t, m.ciaddr);
}

// Conflict detection (probe.cpp): a held DISCOVER decided again; not
// counted as received twice.
Decision Shard::discover_again(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                               const KeyResult& key) noexcept {
  Ctx c{m, rx, now, change_count_, key};
  if (config_->classes.any) [[unlikely]] c.classes = config_->classes.match(m, rx.vlan_count, rx.vlans);
  return on_discover(c);
}

Decision Shard::on_request(const Ctx& c) noexcept {
  const wire::DhcpMessage& m = c.m;
  if (c.key.status != KeyStatus::ok) return refuse(key_drop(c.key.status));
  const ClientKey& key = c.key.key;
  std::uint32_t idx = table_.find(key);
  if (idx != kNil) idx = refresh(idx, c.now);
  const auto requested = m.requested_ip();

  if (const auto sid = m.server_id()) {   // SELECTING
    bump(Event::request_selecting);
    const Ipv4 addr = requested ? *requested : m.ciaddr;
    const std::uint32_t subnet = subnet_in_network(select_subnet(m, c.rx), addr);
    if (!our_server_id(*sid, subnet, m)) {
      // The client chose another server: free what we held for it.
      if (idx != kNil && table_.at(idx).state == LeaseState::offered) {
        end_offer(idx, c.now);
        bump(Event::offer_released);
      }
      return silent(c);
    }
    if (subnet == kNil) return refuse(DropReason::no_subnet);
    if (addr == 0) return refuse(DropReason::request_without_address);
    return confirm(c, key, idx, subnet, addr, true);
  }
  if (requested && m.ciaddr == 0) {   // INIT-REBOOT
    bump(Event::request_init_reboot);
    const std::uint32_t subnet = subnet_in_network(select_subnet(m, c.rx), *requested);
    if (subnet == kNil) return refuse(DropReason::no_subnet);
    if (!config_->subnets[subnet].contains(*requested)) return nak(c, subnet, NakReason::not_in_subnet);
    if (peer_request(idx, *requested)) return refuse(DropReason::peer_address);
    if (const ReservationEntry* r = reservation_for(key, m, subnet);
        idx == kNil && (r == nullptr || r->address == 0))
      return refuse(DropReason::init_reboot_unknown_client);
    return confirm(c, key, idx, subnet, *requested, false);
  }
  if (m.ciaddr != 0) {   // RENEWING (unicast) or REBINDING (broadcast)
    bump(c.rx.ip_dst == kBroadcastIp ? Event::request_rebinding : Event::request_renewing);
    const std::uint32_t subnet = subnet_in_network(select_subnet(m, c.rx), m.ciaddr);
    if (subnet == kNil) return refuse(DropReason::no_subnet);
    if (!config_->subnets[subnet].contains(m.ciaddr)) return nak(c, subnet, NakReason::not_in_subnet);
    if (peer_request(idx, m.ciaddr)) return refuse(DropReason::peer_address);
    return confirm(c, key, idx, subnet, m.ciaddr, false);
  }
  return refuse(DropReason::request_without_address);
}

// Commits `addr` for the client and ACKs, or NAKs. The address must be the
// client's own (offered, bound, or inactive but still sticky), its
// reservation, or - when allow_free (SELECTING after a lost offer) - free.
Decision Shard::confirm(const Ctx& c, const ClientKey& key, std::uint32_t idx,
                        std::uint32_t subnet, Ipv4 addr, bool allow_free) noexcept {
  const CompiledSubnet& cs = config_->subnets[subnet];
  if (!cs.contains(addr)) return nak(c, subnet, NakReason::not_in_subnet);
  // A lease a reload withdrew is not renewed: NAK, and the address goes.
  if (idx != kNil && table_.at(idx).address == addr && is_withdrawn(idx)) {
    bump(Event::withdrawn_nak);
    drop_record(idx, c.now);
    return nak(c, subnet, NakReason::withdrawn);
  }
  // Store down: the client's active lease on `addr` is confirmed as it
  // stands (before the reservation check: a NAK would send it to a DISCOVER
  // that cannot be served now).
  // A foreign lease likewise (its block owner's hold ends at its expiry).
  if (idx != kNil && table_.at(idx).state == LeaseState::active && table_.at(idx).address == addr) {
    if (is_foreign(idx)) return ack_unjournaled(c, idx, subnet, Event::renew_foreign);
    if (!store_writable_) return ack_unjournaled(c, idx, subnet, Event::renew_unjournaled);
  }
  c.reservation = reservation_for(key, c.m, subnet);
  const ReservationEntry* r = c.reservation != nullptr && c.reservation->address != 0 ? c.reservation : nullptr;
  if (r != nullptr && r->address != addr) {
    const std::uint32_t holder = alloc_.lease_at(alloc_.slot_of(r->subnet, r->address));
    if (holder == kNil || holder == idx) return nak(c, subnet, NakReason::reserved_elsewhere);   // take your reservation
    r = nullptr;   // reservation held by another lease: treat the client as dynamic
  }
  // Pool tables: an address of a pool the client's classes may not use is
  // not confirmed (its reservation excepted).
  if (!config_->subnet_pools.empty() && (r == nullptr || r->address != addr) &&
      !config_->pool_allows(subnet, addr, c.classes)) [[unlikely]]
    return nak(c, subnet, NakReason::pool_not_allowed);
  // A record holding an address is what its slot points to, so the record
  // alone answers "is it the client's" (no block or slot cache miss).
  const bool own = idx != kNil && table_.at(idx).address == addr;
  SlotId s = kNil;
  std::uint32_t holder = idx;
  if (!own) {
    s = alloc_.slot_of(subnet, addr);
    if (s == kNil) return nak(c, subnet, NakReason::not_in_pool);
    holder = alloc_.lease_at(s);
  }
  if (r != nullptr && !own && holder != kNil) holder = yield_same_device(holder, idx, c.m, *r, c.now);
  const bool reserved = r != nullptr && holder == kNil;
  const bool free = !own && allow_free && alloc_.is_free(s);
  if (!own && !reserved && !free) return nak(c, subnet, NakReason::not_the_clients);
  if (!store_writable_) return refuse(DropReason::store_unavailable);   // would commit
  // Reclaim another client's sticky record before creating ours, so eviction
  // in create_record cannot pick that same record.
  if (holder != kNil && holder != idx) drop_record(holder, c.now);
  if (idx == kNil) {
    const Inserted ins = create_record(key, c.now);
    if (ins.index == kNil) return refuse(insert_drop(ins.error));
    idx = ins.index;
  }
  if (r != nullptr) bump(Event::reservation_used);
  const Times t = times_for(cs, c, subnet, addr);
  commit(idx, subnet, addr, s, t, c);
  return reply(c, MessageType::ack, subnet, addr, &t, c.m.ciaddr);
}

// Store down, DISCOVER: only a client with an active lease in the subnet
// gets an answer, its own address for the time it has left.
Decision Shard::offer_unjournaled(const Ctx& c, std::uint32_t idx, std::uint32_t subnet) noexcept {
  if (idx == kNil) return refuse(DropReason::store_unavailable);
  const Lease& l = table_.at(idx);
  if (l.state != LeaseState::active || l.subnet != subnet) return refuse(DropReason::store_unavailable);
  const Times t = scaled_times(config_->subnets[subnet], l.expires - c.now);
  return reply(c, MessageType::offer, subnet, l.address, &t, c.m.ciaddr);
}

// Store down or foreign lease, REQUEST for the client's active lease
// (refreshed: expires > now): ACK for the remaining time, record and wheel
// untouched. `e` says which.
Decision Shard::ack_unjournaled(const Ctx& c, std::uint32_t idx, std::uint32_t subnet, Event e) noexcept {
  const Lease& l = table_.at(idx);
  const Times t = scaled_times(config_->subnets[subnet], l.expires - c.now);
  bump(e);
  Decision d = reply(c, MessageType::ack, subnet, l.address, &t, c.m.ciaddr);
  d.record_second = l.start;   // commit/renew set start = now
  return d;
}

Shard::ClientRecord Shard::client_record(const Ctx& c, DropReason not_found) noexcept {
  std::uint32_t idx = table_.find(c.key.key);
  if (idx != kNil) idx = refresh(idx, c.now);
  if (idx == kNil) return {kNil, not_found};
  if (auto sid = c.m.server_id(); sid && !our_server_id(*sid, table_.at(idx).subnet, c.m))
    return {kNil, DropReason::other_server_id};
  return {idx, DropReason::none};
}

Decision Shard::on_decline(const Ctx& c) noexcept {
  const wire::DhcpMessage& m = c.m;
  if (c.key.status != KeyStatus::ok) return refuse(key_drop(c.key.status));
  const auto addr = m.requested_ip();
  if (!addr) return refuse(DropReason::decline_without_address);
  const ClientRecord found = client_record(c, DropReason::decline_not_leased);
  if (found.refusal != DropReason::none) return refuse(found.refusal);
  const std::uint32_t idx = found.index;
  const Lease& l = table_.at(idx);
  if (l.address != *addr || (l.state != LeaseState::active && l.state != LeaseState::offered))
    return refuse(DropReason::decline_not_leased);
  decline(idx, c.now);
  return silent(c);
}

Decision Shard::on_release(const Ctx& c) noexcept {
  const wire::DhcpMessage& m = c.m;
  if (c.key.status != KeyStatus::ok) return refuse(key_drop(c.key.status));
  const ClientRecord found = client_record(c, DropReason::release_not_leased);
  if (found.refusal != DropReason::none) return refuse(found.refusal);
  const std::uint32_t idx = found.index;
  const Lease& l = table_.at(idx);
  if (l.address != m.ciaddr || l.state != LeaseState::active)
    return refuse(DropReason::release_not_leased);
  release(idx, c.now);
  return silent(c);
}

Decision Shard::on_inform(const Ctx& c) noexcept {
  const wire::DhcpMessage& m = c.m;
  const Ipv4 client = m.ciaddr != 0 ? m.ciaddr : c.rx.ip_src;
  if (client == 0) return refuse(DropReason::inform_without_address);
  const std::uint32_t subnet = select_subnet(m, c.rx);
  if (auto sid = m.server_id(); sid && !our_server_id(*sid, subnet, m))
    return refuse(DropReason::other_server_id);
  if (subnet == kNil) return refuse(DropReason::no_subnet);
  return reply(c, MessageType::ack, subnet, 0, nullptr, client);
}

// ---- durability: restore ---------------------------------------------------------------

namespace {

constexpr std::array<std::string_view, kRestoreStatusCount> kRestoreStatusNames{
    "restored", "history", "no_subnet", "not_in_pool", "wrong_shard", "conflict", "table_full",
    "invalid", "foreign"};
static_assert(static_cast<std::size_t>(RestoreStatus::foreign) + 1 == kRestoreStatusCount);

}  // namespace

ClientKey stored_key(const LeaseChange& lease) noexcept {
  ClientKey k;
  const std::size_t n = lease.key_len;
  const bool hw = n >= 3 && n <= 2 + 16 && lease.key[0] == kKeyKindHw;
  const bool id = n >= 2 && n <= kMaxKeyLen && lease.key[0] == kKeyKindClientId;
  if (!hw && !id) return k;
  std::memcpy(k.bytes.data(), lease.key.data(), n);
  k.len = static_cast<std::uint8_t>(n);
  k.hash = hash_key_bytes(k.view());
  return k;
}

std::string_view restore_status_name(RestoreStatus s) noexcept {
  const auto i = static_cast<std::size_t>(s);
  return i < kRestoreStatusNames.size() ? kRestoreStatusNames[i] : std::string_view{"invalid_status"};
}

std::uint32_t owner_shard_of(const LeaseChange& lease, const CompiledConfig& config,
                             std::uint32_t shard_count) noexcept {
  if (shard_count <= 1) return 0;
  if (lease.key_len != 0 && lease.op != LeaseOp::decline) {
    if (lease.key_len > kMaxKeyLen) return 0;
    return shard_for_hash(hash_key_bytes({lease.key.data(), lease.key_len}), shard_count);
  }
  return block_owner_of(lease, config, shard_count);
}

std::uint32_t block_owner_of(const LeaseChange& lease, const CompiledConfig& config,
                             std::uint32_t shard_count) noexcept {
  if (shard_count <= 1) return 0;
  const std::uint32_t s = config.subnet_index_of(lease.address);
  if (s == kNil) return 0;
  const std::uint32_t b = config.block_of(config.subnets[s], lease.address);
  return b == kNil ? 0 : shard_of_block_base(config.blocks[b].base, shard_count, config.ha.enabled);
}

// Config reload (engine.hpp): every record re-placed in the new address space.
Shard::ReconfigureStats Shard::reconfigure(const CompiledConfig& next, Allocator& fresh) noexcept {
  ReconfigureStats st;
  std::swap(alloc_, fresh);   // `fresh` now holds the old allocator, for the caller to free
  config_ = &next;
  ddns_epoch_ = ddns_epoch_ + 1 != 0 ? ddns_epoch_ + 1 : 1;   // engine/ddns_cache.hpp: no entry of the old config is used
  counter_store(withdrawn_, std::uint32_t{0});
  // Two passes: first every record that holds its address (so that history
  // never takes an address a lease holds), then inactive history.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::uint32_t i = 0; i < table_.high_water(); ++i) {
      Lease& l = table_.at(i);
      if (l.state == LeaseState::unused || is_inactive(l.state) != (pass == 1)) continue;
      const std::uint32_t subnet = next.subnet_index_of(l.address);
      const SlotId slot = subnet == kNil ? kNil : alloc_.slot_of(subnet, l.address);
      const bool pool = slot != kNil && ((next.blocks[slot >> 6].allocatable >> (slot & 63u)) & 1u);
      const bool ours = pool && shard_owns_block(next, slot >> 6, id_);
      const bool free = ours && alloc_.is_free(slot) && alloc_.lease_at(slot) == kNil;
      l.subnet = subnet == kNil ? kNoSubnet : static_cast<std::uint16_t>(subnet);
      if (pass == 1) {   // expired / released: sticky history where the address is still ours
        if (free) {
          alloc_.set_lease(slot, i);
          alloc_.stick(slot);
          ++st.history_kept;
        } else {
          set_state(l, LeaseState::unused);   // keeps state_counts_ exact
          table_.erase(i);
          ++st.dropped;
        }
        continue;
      }
      const bool foreign = (l.flags & kLeaseForeign) != 0 && !(l.flags & kLeaseWithdrawn);
      l.flags &= static_cast<std::uint8_t>(~kLeaseWithdrawn);
      if (free) {   // still in one of our pools
        l.flags &= static_cast<std::uint8_t>(~kLeaseForeign);
        alloc_.take(slot);
        alloc_.set_lease(slot, i);
        ++st.kept;
        continue;
      }
      if (l.state != LeaseState::active) {   // offer, probation, hold outside our pools
        set_state(l, LeaseState::unused);
        table_.erase(i);
        ++st.dropped;
        continue;
      }
      if (foreign && pool && !ours && alloc_.lease_at(slot) == kNil) {   // its block owner holds it
        alloc_.set_lease(slot, i);
        ++st.kept;
        continue;
      }
      if (!foreign && slot != kNil && !pool && alloc_.lease_at(slot) == kNil && l.key_len != 0) {
        // The client's own reservation (never in the pool bits) stays its lease.
        ClientKey key;
        const wire::Bytes kb = table_.key(i);
        std::memcpy(key.bytes.data(), kb.data(), kb.size());
        key.len = static_cast<std::uint8_t>(kb.size());
        key.hash = hash_key_bytes(key.view());
        if (reserved_address(key, l.htype, l.chaddr, subnet) == l.address ||
            relay_reserved_address(next, subnet, l.address)) {
          alloc_.set_lease(slot, i);
          ++st.kept;
          continue;
        }
      }
      if (slot != kNil && (alloc_.lease_at(slot) != kNil || (ours && !free))) {
        set_state(l, LeaseState::unused);
        table_.erase(i);   // two records on one address: cannot happen; keep the first
        ++st.dropped;
        continue;
      }
      // Withdrawn: kept until it expires, renewed never.
      l.flags |= kLeaseForeign | kLeaseWithdrawn;
      alloc_.set_lease(slot, i);
      counter_store(withdrawn_, withdrawn_ + 1);
      ++st.withdrawn;
    }
  }
  recount_limits();   // limits.cpp: the new config's scopes and keys
  return st;
}

// Drops a record without telling the store (restore: it never told it).
void Shard::forget(std::uint32_t idx) noexcept {
  table_.at(idx).flags &= static_cast<std::uint8_t>(~kLeasePersisted);
  drop_record(idx, 0);
}

RestoreStatus Shard::restore(const LeaseChange& in, Seconds now) noexcept {
  if (in.key_len > kMaxKeyLen || in.hostname_len > kMaxHostnameLen) return RestoreStatus::invalid;
  const ClientKey key = stored_key(in);
  if (in.key_len != 0 && key.len == 0) return RestoreStatus::invalid;
  LeaseState state;
  switch (in.op) {
    case LeaseOp::commit:
    case LeaseOp::renew:
      state = in.expires > now ? LeaseState::active : LeaseState::expired;
      break;
    case LeaseOp::release: state = LeaseState::released; break;
    case LeaseOp::expire:
      if (key.len == 0) return RestoreStatus::history;   // a probation that ended
      state = LeaseState::expired;
      break;
    case LeaseOp::decline:
      if (in.expires <= now) return RestoreStatus::history;   // probation over
      state = LeaseState::declined;
      break;
    default: return RestoreStatus::invalid;   // reclaim: the store drops those
  }
  if (state != LeaseState::declined && key.len == 0) return RestoreStatus::invalid;

  const std::uint32_t subnet = config_->subnet_index_of(in.address);
  if (subnet == kNil) return RestoreStatus::no_subnet;
  const SlotId slot = alloc_.slot_of(subnet, in.address);
  if (slot == kNil) return RestoreStatus::no_subnet;
  const std::uint32_t block = slot >> 6;
  std::uint8_t flags = 0;
  if ((config_->blocks[block].allocatable >> (slot & 63u)) & 1u) {
    if (!shard_owns_block(*config_, block, id_)) {
      // Only an active lease is worth keeping here: its block owner holds
      // the address (restore_hold) while this shard serves the client.
      if (state != LeaseState::active) return RestoreStatus::wrong_shard;
      flags = kLeaseForeign;
    }
  } else if (reserved_address(key, in.htype, in.chaddr, subnet) != in.address &&
             !relay_reserved_address(*config_, subnet, in.address)) {
    for (const ReservationEntry& r : config_->reservations)
      if (r.address == in.address) return RestoreStatus::conflict;
    return RestoreStatus::not_in_pool;
  }
  const RestoreStatus st = install(in, key, state, subnet, slot, flags);
  return st == RestoreStatus::restored && flags != 0 ? RestoreStatus::foreign : st;
}

RestoreStatus Shard::restore_hold(const LeaseChange& in, Seconds now) noexcept {
  if (in.key_len > kMaxKeyLen || in.hostname_len > kMaxHostnameLen) return RestoreStatus::invalid;
  switch (in.op) {
    case LeaseOp::commit:
    case LeaseOp::renew:
    case LeaseOp::decline:
      if (in.expires <= now) return RestoreStatus::history;   // nothing left to hold
      break;
    case LeaseOp::release:
    case LeaseOp::expire: return RestoreStatus::history;
    default: return RestoreStatus::invalid;
  }
  const std::uint32_t subnet = config_->subnet_index_of(in.address);
  if (subnet == kNil) return RestoreStatus::no_subnet;
  const SlotId slot = alloc_.slot_of(subnet, in.address);
  if (slot == kNil) return RestoreStatus::no_subnet;
  const std::uint32_t block = slot >> 6;
  if (!((config_->blocks[block].allocatable >> (slot & 63u)) & 1u)) return RestoreStatus::not_in_pool;
  if (!shard_owns_block(*config_, block, id_)) return RestoreStatus::wrong_shard;
  LeaseChange hold = in;
  hold.key_len = 0;
  hold.hostname_len = 0;
  hold.relay_len = 0;
  return install(hold, ClientKey{}, LeaseState::declined, subnet, slot, kLeaseHold);
}

bool Shard::forget_foreign(const LeaseChange& in) noexcept {
  const ClientKey key = in.key_len <= kMaxKeyLen ? stored_key(in) : ClientKey{};
  if (key.len == 0) return false;
  const std::uint32_t idx = table_.find(key);
  if (idx == kNil || !is_foreign(idx) || table_.at(idx).address != in.address) return false;
  forget(idx);
  return true;
}

// Installs a restored record (checked by the caller: state, key, address
// `slot` of `subnet` in a block we own or reserved for the client, or - with
// kLeaseForeign - an active lease in another shard's block). Resolves
// duplicates and a full table as restore() documents.
RestoreStatus Shard::install(const LeaseChange& in, const ClientKey& key, LeaseState state,
                             std::uint32_t subnet, SlotId slot, std::uint8_t flags) noexcept {
  // Another record on the address, or another record of the client.
  const bool held = state != LeaseState::expired && state != LeaseState::released;
  const auto yields = [&](std::uint32_t i) {
    const Lease& o = table_.at(i);
    return is_inactive(o.state) && (held || in.expires > o.expires);
  };
  const std::uint32_t on_address = alloc_.lease_at(slot);
  const std::uint32_t same_client = state != LeaseState::declined ? table_.find(key) : kNil;
  if ((on_address != kNil && !yields(on_address)) || (same_client != kNil && !yields(same_client)))
    return RestoreStatus::conflict;
  if (on_address != kNil) forget(on_address);
  if (same_client != kNil && same_client != on_address) forget(same_client);

  Inserted ins = state == LeaseState::declined ? table_.insert_keyless() : table_.insert(key);
  if (ins.index == kNil && ins.error == InsertError::table_full && held) {
    if (const std::uint32_t victim = table_.oldest_parked(); victim != kNil) {
      forget(victim);
      ins = state == LeaseState::declined ? table_.insert_keyless() : table_.insert(key);
    }
  }
  if (ins.index == kNil) return RestoreStatus::table_full;

  const std::uint32_t idx = ins.index;
  Lease& l = table_.at(idx);
  l.address = in.address;
  l.subnet = static_cast<std::uint16_t>(subnet);
  l.start = in.start;
  l.expires = in.expires;
  l.htype = in.htype;
  l.chaddr = in.chaddr;
  set_state(l, state);
  l.flags |= flags;
  alloc_.take(slot);   // no-op for the client's reserved address or another shard's block
  alloc_.set_lease(slot, idx);
  if (held) {
    table_.schedule(idx);   // expires > now >= every sweep's now
  } else {
    alloc_.give_back(slot, true);   // free, sticky for the client
    table_.park(idx);
  }
  if (state != LeaseState::declined) {
    l.flags |= kLeasePersisted;
    if (in.relay_len != 0 && relay_info_.enabled())
      relay_info_.store(idx, l.hash, l.address, relay_info_of(in));
    if (state == LeaseState::active) limit_charge(idx, relay_info_of(in));   // limits.cpp
    if (in.hostname_len != 0 &&
        !table_.set_hostname(idx, std::string_view{in.hostname.data(), in.hostname_len}, in.ddns))
      bump(Event::hostname_not_stored);
  }
  return held ? RestoreStatus::restored : RestoreStatus::history;
}

// ---- inspection ---------------------------------------------------------------------

const Lease* Shard::find_lease(const ClientKey& key) const noexcept {
  const std::uint32_t i = table_.find(key);
  return i == kNil ? nullptr : &table_.at(i);
}

const Lease* Shard::lease_at_address(Ipv4 ip) const noexcept {
  const std::uint32_t subnet = config_->subnet_index_of(ip);
  if (subnet == kNil) return nullptr;
  const SlotId s = alloc_.slot_of(subnet, ip);
  if (s == kNil || alloc_.lease_at(s) == kNil) return nullptr;
  return &table_.at(alloc_.lease_at(s));
}

std::size_t Shard::memory_bytes() const noexcept {
  return sizeof(Shard) + table_.memory_bytes() + alloc_.memory_bytes() +
         changes_.capacity() * sizeof(LeaseChange) + relay_info_.memory_bytes() +
         (own_limits_ ? own_limits_->memory_bytes() : 0);
}

std::string Shard::audit() const {
  if (std::string e = table_.audit(); !e.empty()) return "lease table: " + e;
  if (std::string e = alloc_.audit(); !e.empty()) return "allocator: " + e;
  std::string err;
  // Per-circuit limits: only active leases are counted, charged_ of them.
  std::uint32_t counted = 0;
  table_.for_each([&](std::uint32_t i, const Lease& l) {
    if (limit_slots_.empty() || limit_slots_[i] == 0) return;
    ++counted;
    if (l.state != LeaseState::active && err.empty())
      err = "record " + std::to_string(i) + ": counted by the limits but not active";
  });
  if (!err.empty()) return err;
  if (counted != charged_) return "limits: " + std::to_string(counted) + " records counted, charged_ says " +
                                  std::to_string(charged_);
  if (pending_limit_ != kNil) return "limits: a reserved count left pending";
  table_.for_each([&](std::uint32_t i, const Lease& l) {
    if (!err.empty()) return;
    const std::string who = "record " + std::to_string(i) + ": ";
    if (l.flags & kLeaseWithdrawn) {   // reload: no pool of ours holds it
      const SlotId ws = slot_of_lease(l);
      if (l.state != LeaseState::active || !(l.flags & kLeaseForeign) || !(l.flags & kLeaseInWheel))
        err = who + "withdrawn record not an active foreign lease in the wheel";
      else if (l.subnet != kNoSubnet && !config_->subnets[l.subnet].contains(l.address))
        err = who + "withdrawn address outside its subnet";
      else if (ws != kNil && (alloc_.lease_at(ws) != i || alloc_.is_allocatable(ws)))
        err = who + "withdrawn address slot does not point back or is allocatable";
      return;
    }
    if (l.subnet >= config_->subnets.size() || !config_->subnets[l.subnet].contains(l.address)) {
      err = who + "address outside its subnet";
      return;
    }
    const SlotId s = slot_of_lease(l);
    if (s == kNil || alloc_.lease_at(s) != i) {
      err = who + "address slot does not point back";
      return;
    }
    const bool held = l.state == LeaseState::offered || l.state == LeaseState::active ||
                      l.state == LeaseState::declined;
    if (held && alloc_.is_free(s)) err = who + "held address marked free";
    if (is_inactive(l.state) && alloc_.is_allocatable(s) && !(alloc_.is_free(s) && alloc_.is_sticky(s)))
      err = who + "inactive address not free+sticky";
    if (held != ((l.flags & kLeaseInWheel) != 0)) err = who + "wheel membership";
    if (is_inactive(l.state) != ((l.flags & kLeaseInFifo) != 0)) err = who + "FIFO membership";
    if ((l.state == LeaseState::declined) != (l.key_len == 0)) err = who + "key presence";
    // Pool addresses of blocks other shards own (never free here) carry only
    // foreign leases; holds sit in our own blocks.
    const bool pool = (config_->blocks[s >> 6].allocatable >> (s & 63u)) & 1u;
    const bool ours = shard_owns_block(*config_, s >> 6, id_);
    if (l.flags & kLeaseForeign) {
      if (l.state != LeaseState::active || !pool || ours)
        err = who + "foreign record not an active lease in another shard's block";
    } else if (pool && !ours) {
      err = who + "record in another shard's block";
    }
    if ((l.flags & kLeaseHold) && (l.state != LeaseState::declined || !pool || !ours))
      err = who + "hold not a probation in our own block";
  });
  if (!err.empty()) return err;
  StateCounts states{};
  table_.for_each([&](std::uint32_t, const Lease& l) {
    if (l.state != LeaseState::unused) ++states[static_cast<std::size_t>(l.state)];
  });
  for (std::size_t i = 0; i < kLeaseStateCount; ++i)
    if (states[i] != state_counts_[i])
      return std::string("state count of ") + lease_state_name(static_cast<LeaseState>(i)) + ": " +
             std::to_string(state_counts_[i]) + " counted, " + std::to_string(states[i]) + " in the table";
  std::uint32_t withdrawn = 0;
  table_.for_each([&](std::uint32_t, const Lease& l) { withdrawn += (l.flags & kLeaseWithdrawn) != 0; });
  if (withdrawn != withdrawn_) return "withdrawn lease count disagrees with the records";
  for (SlotId s = 0; s < config_->blocks.size() * kBlockBits; ++s) {
    const std::uint32_t i = alloc_.lease_at(s);
    if (i == kNil) {
      if (alloc_.is_allocatable(s) != alloc_.is_free(s) || alloc_.is_sticky(s))
        return "slot " + std::to_string(s) + ": unheld address not exactly free";
    } else if (table_.at(i).state == LeaseState::unused || table_.at(i).address != alloc_.address_of(s)) {
      return "slot " + std::to_string(s) + ": points to a record that does not hold it";
    }
  }
  return {};
}

}  // namespace dorado::engine
