// BOOTP clients (RFC 951, RFC 1542): requests without option 53, with the
// DHCP magic cookie (RFC 1497 vendor extensions) or without it (a plain
// RFC 951 vendor area, wire::DhcpMessage::plain_bootp_request). See
// docs/architecture.md "BOOTP clients and option overload".
//
// A BOOTP client gets a BOOTREPLY (options: the reservation's, its classes',
// the pool table's, the subnet's, each code from the most specific level,
// as for DHCP; build_bootreply below) with
//  1. its reservation in the selected subnet (held by nobody else), or
//  2. where the subnet says `bootp = true` (ISC dhcpd's dynamic-bootp, Kea's
//     bootp hook): its current or previous address in that subnet, else a
//     free pool address;
// leased for ever (expiry kTimeMax; RFC 951 has no lease time, and a BOOTP
// client never renews or releases), committed and journaled as a DHCP ACK
// is: the Decision is an ACK carrying a lease, so the runtime holds the
// reply until its record is durable (durability = "fsync"). Others are a
// counted drop (bootp_not_served). The same store-down and foreign-lease
// rules as a REQUEST's apply: the client's active lease is answered as it
// stands, nothing new is granted. Per-circuit limits apply as to a REQUEST
// (max_leases_per_circuit, max_new_clients_per_second; limit_leases /
// limit_rate drops): the lease a BOOTP client gets counts on its circuit.
//
// Hot path rules: no allocation, no exception, no lock; a DHCP request pays
// one predictable branch in Shard::decide for this file.
#include <algorithm>
#include <array>
#include <bit>
#include <bitset>
#include <span>
#include <cstring>
#include <new>

#include "engine/engine.hpp"
#include "engine/reservations.hpp"

namespace dorado::engine {

namespace {

constexpr std::uint32_t kInfinite = 0xffffffffu;   // RFC 2131 3.3: "infinity"

}  // namespace

Decision Shard::decide_bootp(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                             const KeyResult& key) noexcept {
  bump(Event::rx_bootp);
  if (config_->ha.enabled) [[unlikely]] {
    if (const DropReason r = ha_refusal(m, key); r != DropReason::none) return refuse(r);
  }
  if (key.status != KeyStatus::ok)
    return refuse(key.status == KeyStatus::too_long ? DropReason::client_id_too_long : DropReason::no_client_key);
  // Per-circuit limits (limits.cpp) as for a DHCP REQUEST: a BOOTP client
  // binds at once, so it reserves its place before the decision, and the
  // place is bound to the lease it commits, or given back (Settle, on every
  // return below). A client with an active lease is never refused.
  struct Settle {
    Shard* shard;
    const wire::DhcpMessage& m;
    const KeyResult& key;
    ~Settle() {
      if (shard != nullptr) shard->limit_settle(m, key);
    }
  } settle{nullptr, m, key};
  if (!config_->subnet_limits.empty()) [[unlikely]] {
    if (const DropReason r = limit_admit(m, rx, now, wire::MessageType::request, key); r != DropReason::none)
      return refuse(r);
    settle.shard = this;
  }
  Ctx c{m, rx, now, change_count_, key};
  if (config_->classes.any) [[unlikely]] {   // client classes (engine/classes.hpp): drop, pool tables, options
    c.classes = config_->classes.match(m, rx.vlan_count, rx.vlans);
    // Classes a reservation gives count as for DHCP (engine.cpp dispatch_classes).
    if (!config_->reservation_classes.empty())
      if (const ReservationEntry* r = reservation_for(key.key, m, select_subnet(m, rx)); r != nullptr)
        c.classes |= reservation_class_set(*config_, config_->reservation_infos[r->info]);
    if (c.classes & config_->classes.drop) return refuse(DropReason::class_drop);
  }
  const std::uint32_t subnet = select_subnet(m, rx);
  if (subnet == kNil) return refuse(DropReason::no_subnet);
  const CompiledSubnet& cs = config_->subnets[subnet];

  std::uint32_t idx = table_.find(key.key);
  if (idx != kNil) idx = refresh(idx, now);

  Ipv4 addr = 0;
  SlotId target = kNil;
  bool reserved = false;
  // The reservation's options go in the reply (Shard::reply
  // fills Decision::reservation from c.reservation) as for DHCP, with or
  // without its address.
  c.reservation = reservation_for(key.key, m, subnet);
  if (const ReservationEntry* r = c.reservation; r != nullptr && r->address != 0) {
    const SlotId s = alloc_.slot_of(subnet, r->address);
    const std::uint32_t holder = alloc_.lease_at(s);
    if (holder == kNil || holder == idx) {
      addr = r->address;
      target = s;
      reserved = true;
    } else {
      bump(Event::reservation_in_use);
    }
  }
  if (!reserved && !cs.bootp) return refuse(DropReason::bootp_not_served);

  // The client's active lease in this subnet, on the address it gets anyway:
  // answered as it stands when it cannot be extended (store down, or restored
  // on another shard's block).
  const bool withdrawn = idx != kNil && is_withdrawn(idx);
  if (idx != kNil && !withdrawn) {
    const Lease& l = table_.at(idx);
    if (l.state == LeaseState::active && l.subnet == subnet && (addr == 0 || addr == l.address)) {
      if (is_foreign(idx)) return bootreply_unjournaled(c, idx, subnet, Event::renew_foreign);
      if (!store_writable_) return bootreply_unjournaled(c, idx, subnet, Event::renew_unjournaled);
    }
  }
  if (!store_writable_) return refuse(DropReason::store_unavailable);   // would commit
  if (addr == 0 && idx != kNil && !withdrawn && !is_foreign(idx) && table_.at(idx).subnet == subnet &&
      table_.at(idx).state != LeaseState::unused && config_->pool_allows(subnet, table_.at(idx).address, c.classes))
    addr = table_.at(idx).address;
  bool created = false;
  if (idx == kNil) {
    const Inserted ins = create_record(key.key, now);
    if (ins.index == kNil)
      return refuse(ins.error == InsertError::key_store_full ? DropReason::key_store_full
                                                             : DropReason::lease_table_full);
    idx = ins.index;
    created = true;
  }
  if (addr == 0) {
    target = pick_for(c.classes, subnet);
    if (target == kNil) {
      if (created) table_.erase(idx);
      return refuse(DropReason::pool_exhausted);
    }
    addr = alloc_.address_of(target);
    // A sticky address: the inactive client that last had it loses it.
    if (const std::uint32_t holder = alloc_.lease_at(target); holder != kNil && holder != idx)
      drop_record(holder, now);
  }
  if (reserved) bump(Event::reservation_used);
  const Times t{kInfinite, kInfinite, kInfinite};
  commit(idx, subnet, addr, target, t, c);
  bump(Event::tx_bootreply);
  Decision d = reply(c, wire::MessageType::ack, subnet, addr, &t, m.ciaddr);
  d.bootp = true;
  return d;
}

// Store down or foreign lease: the client's active lease (refreshed:
// expires > now) for what is left of it, record and wheel untouched.
Decision Shard::bootreply_unjournaled(const Ctx& c, std::uint32_t idx, std::uint32_t subnet, Event e) noexcept {
  const Lease& l = table_.at(idx);
  const std::uint32_t left = l.expires - c.now;
  const Times t{left, left, left};
  bump(e);
  bump(Event::tx_bootreply);
  Decision d = reply(c, wire::MessageType::ack, subnet, l.address, &t, c.m.ciaddr);
  d.record_second = l.start;
  d.bootp = true;
  return d;
}

wire::BuildResult build_bootreply(const CompiledConfig& config, const Decision& d,
                                  const wire::DhcpMessage& request, const RxMeta& rx,
                                  wire::MutableBytes out) noexcept {
  // 1, then every option of the client's levels, most specific first, each
  // code once (the first level that has it gives it), as a DHCP reply
  // chooses (engine/reply.cpp): the reservation's, the classes' (config
  // order), the pool table's, the subnet's (which holds the shared
  // network's and the global ones it did not override), each sorted by
  // code. A BOOTP client asks for nothing, so all of them, as far as they
  // fit (the least specific are left out first).
  constexpr std::size_t kMaxOptions = 256;
  union Storage {
    Storage() noexcept {}
    wire::OptionValue v[kMaxOptions];
  } storage;
  std::size_t n = 0;
  std::array<std::uint8_t, 4> mask{};
  if (d.subnet != nullptr) {
    wire::store_be32(mask.data(), d.subnet->mask);
    new (&storage.v[n++]) wire::OptionValue{wire::opt::subnet_mask, wire::Bytes{mask}, false};
    std::bitset<256> added;
    added.set(wire::opt::subnet_mask);
    auto add_all = [&](std::span<const CompiledOption> list) noexcept {
      for (const CompiledOption& o : list)
        if (!added.test(o.code) && n < kMaxOptions) {
          added.set(o.code);
          new (&storage.v[n++]) wire::OptionValue{o.code, config.option_value(o), false};
        }
    };
    if (d.reservation != nullptr) add_all(config.options_of(*d.reservation));
    for (ClassSet set = d.classes; set != 0; set &= set - 1)
      add_all(config.options_of(config.classes.list[static_cast<std::size_t>(std::countr_zero(set))]));
    if (d.pool != kNoPool) add_all(config.options_of(config.pools[d.pool]));
    add_all(config.options_of(*d.subnet));
  }
  wire::BootpReplySpec spec;
  spec.options = {storage.v, n};
  if (auto rai = request.option(wire::opt::relay_agent_info)) spec.relay_agent_info = *rai;
  // RFC 951's vendor area is 64 bytes; a client that speaks RFC 1497 (sent
  // the cookie) takes the 576-byte datagram every host must (RFC 1542 2.1),
  // or what its option 57 says.
  spec.max_message = request.has_cookie
                         ? std::max<std::size_t>(request.max_message_size().value_or(0), 576) - 28
                         : wire::kBootpMinSize;
  return wire::build_bootp_frame(out, reply_envelope(d, rx), reply_bootp_fields(d, request), spec);
}

}  // namespace dorado::engine
