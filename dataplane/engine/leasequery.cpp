// Leasequery (RFC 4388) on the owning shard: see engine/leasequery.hpp.
#include "engine/leasequery.hpp"

#include <cstring>

#include "engine/allocator.hpp"
#include "engine/client_key.hpp"
#include "engine/engine.hpp"
#include "wire/build.hpp"

namespace dorado::engine {

using wire::MessageType;

std::uint32_t leasequery_block_owner(const CompiledConfig& config, Ipv4 address,
                                     std::uint32_t shard_count) noexcept {
  if (shard_count <= 1) return 0;
  const std::uint32_t s = config.subnet_index_of(address);
  if (s == kNil) return 0;
  const std::uint32_t b = config.block_of(config.subnets[s], address);
  return b == kNil ? 0 : shard_of_block_base(config.blocks[b].base, shard_count, config.ha.enabled);
}

Decision Shard::on_leasequery(const wire::DhcpMessage& m, const RxMeta& rx) noexcept {
  // RFC 4388 6.1: the requester puts its own address in giaddr; the answer
  // goes there. A requester that leaves it 0 is answered at its source.
  const Ipv4 requester = m.giaddr != 0 ? m.giaddr : rx.ip_src;
  if (requester == 0 || requester == 0xffffffffu) return refuse(DropReason::leasequery_no_query);
  if (!config_->leasequery_allows(requester)) return refuse(DropReason::leasequery_not_allowed);
  if (m.ciaddr == 0 && !m.has(wire::opt::client_id) && m.hlen == 0)
    return refuse(DropReason::leasequery_no_query);
  bump(Event::rx_leasequery);
  Decision d;
  d.verdict = Verdict::reply;
  d.type = MessageType::lease_query;   // answered by answer_leasequery()
  d.ip_dst = requester;
  d.dst_port = wire::kPortBootps;
  d.eth_dst = rx.src_mac;
  d.server_id = config_->server_address;
  return d;
}

// RFC 4388 6.4.2: the option 82 of the client's last request that had one.
// A renewal unicast by the client itself (RENEWING) carries none: the one
// kept stays, as long as the lease keeps its address (the slot's tag).
void Shard::keep_relay_info(std::uint32_t idx, const wire::DhcpMessage& m) noexcept {
  const auto rai = m.option(wire::opt::relay_agent_info);
  if (!rai) return;
  const Lease& l = table_.at(idx);
  if (!relay_info_.store(idx, l.hash, l.address, *rai)) bump(Event::relay_info_not_stored);
}

wire::BuildResult Shard::answer_leasequery(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                                           wire::MutableBytes frame, wire::MutableBytes scratch) noexcept {
  enum class By : std::uint8_t { address, client_id, hardware };
  By by = By::address;
  std::uint32_t idx = kNil;
  if (m.ciaddr != 0) {
    const std::uint32_t subnet = config_->subnet_index_of(m.ciaddr);
    if (subnet != kNil) {
      const SlotId s = alloc_.slot_of(subnet, m.ciaddr);
      if (s != kNil) idx = alloc_.lease_at(s);
    }
  } else {
    ClientKey key;
    if (const auto id = m.client_id()) {
      by = By::client_id;
      set_key_id(key, *id);
    } else {
      by = By::hardware;
      set_key_hw(key, m.htype, m.chaddr());
    }
    if (key.len != 0) idx = table_.find(key);
  }
  const Lease* l = idx != kNil ? &table_.at(idx) : nullptr;
  // An active lease the sweep has not expired yet is over all the same.
  const bool active = l != nullptr && l->state == LeaseState::active && l->expires > now &&
                      (by != By::address || l->address == m.ciaddr);

  MessageType type = MessageType::lease_unknown;
  if (active)
    type = MessageType::lease_active;
  else if (by == By::address && config_->subnet_index_of(m.ciaddr) != kNil &&
           !config_->in_peer_part(m.ciaddr))
    type = MessageType::lease_unassigned;

  wire::BootpFields b;
  b.op = 2;
  b.htype = m.htype;
  b.hlen = m.hlen;
  b.xid = m.xid;
  b.flags = m.flags;
  b.ciaddr = m.ciaddr;
  b.giaddr = m.giaddr;
  std::memcpy(b.chaddr.data(), m.chaddr_field.data(), std::min<std::size_t>(m.chaddr_field.size(), 16));

  // Options of DHCPLEASEACTIVE; at most 61 (159 bytes), 51, 91, 92 and 82.
  std::array<wire::OptionValue, 4> opts;
  std::size_t n = 0;
  std::array<std::uint8_t, 4> lease_left{}, since{}, associated{};
  Ipv4 server_id = config_->server_address;
  std::uint32_t subnet = by == By::address ? config_->subnet_index_of(m.ciaddr) : kNil;
  if (active) {
    const wire::Bytes key = table_.key(idx);
    b.ciaddr = l->address;
    b.htype = l->htype;
    b.chaddr.fill(0);
    if (key.size() >= 2 && key[0] == kKeyKindHw) {
      // The client's own hardware address, whole (the key holds all of it).
      b.htype = key[1];
      b.hlen = static_cast<std::uint8_t>(key.size() - 2);
      std::memcpy(b.chaddr.data(), key.data() + 2, key.size() - 2);
    } else {
      b.hlen = l->htype != 0 ? 6 : 0;
      std::memcpy(b.chaddr.data(), l->chaddr.b.data(), 6);
    }
    subnet = l->subnet;
    wire::store_be32(lease_left.data(), l->expires - now);
    wire::store_be32(since.data(), now > l->start ? now - l->start : 0);
    opts[n++] = {wire::opt::lease_time, {lease_left.data(), 4}, true};
    opts[n++] = {kOptClientLastTransactionTime, {since.data(), 4}, true};
    if (key.size() >= 2 && key[0] == kKeyKindClientId)
      opts[n++] = {wire::opt::client_id, key.subspan(1), true};
    if (by != By::address) {
      wire::store_be32(associated.data(), l->address);
      opts[n++] = {kOptAssociatedIp, {associated.data(), 4}, true};
    }
  }
  if (subnet != kNil && subnet < config_->subnets.size()) server_id = config_->subnets[subnet].server_id;
  switch (type) {
    case MessageType::lease_active: bump(Event::tx_lease_active); break;
    case MessageType::lease_unassigned: bump(Event::tx_lease_unassigned); break;
    default: bump(Event::tx_lease_unknown); break;
  }

  wire::Envelope env;
  env.eth_src = rx.local_mac;
  env.eth_dst = rx.src_mac;
  env.vlan_count = rx.vlan_count;
  env.vlans = rx.vlans;
  env.ip_src = server_id;
  env.ip_dst = m.giaddr != 0 ? m.giaddr : rx.ip_src;
  env.src_port = wire::kPortBootps;
  env.dst_port = wire::kPortBootps;
  env.checksum_offload = rx.tx_checksum_offload;
  wire::DhcpOptionsSpec spec;
  if (active) spec.relay_agent_info = relay_info_.find(idx, l->hash, l->address);
  spec.type = type;
  spec.server_id = server_id;
  spec.parameter_request_list = m.parameter_request_list();
  spec.options = {opts.data(), n};
  wire::BuildResult r = wire::build_dhcp_frame(scratch, env, b, spec);
  if (r.error != wire::Error::ok) return r;
  if (r.length > frame.size()) return {wire::Error::buffer_too_small, 0, 0};
  std::memcpy(frame.data(), scratch.data(), r.length);
  return r;
}

}  // namespace dorado::engine
