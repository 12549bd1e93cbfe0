// Leasequery (RFC 4388): a relay or an access concentrator asks which client
// holds an address, or which address a client (MAC or client-id) holds.
//
// The engine's side, on the hot path's rules (no allocation, no lock, no
// log; counted):
//  - Shard::handle() takes a DHCPLEASEQUERY (message type 10) like any
//    request. Its requester (giaddr, else the IPv4 source) must be in
//    [leasequery] allowed (CompiledConfig::leasequery_allows), else it is
//    dropped (DropReason::leasequery_not_allowed). An allowed one is decided
//    as Verdict::reply with Decision::type == MessageType::lease_query: "answer
//    it with Shard::answer_leasequery()", which looks the lease up when the
//    reply is written and sends DHCPLEASEACTIVE, DHCPLEASEUNASSIGNED or
//    DHCPLEASEUNKNOWN (events tx_lease_*). build_reply() and ReplyCache do
//    not build it.
//  - What is asked (RFC 4388 6.1, the first that applies): ciaddr non-zero:
//    by address; option 61: by client-id; hlen > 0: by hardware address
//    (htype + chaddr, the key of a client without a client-id). None:
//    DropReason::leasequery_no_query.
//  - Answers (as Kea's lease_query hook does): by address: ACTIVE if an
//    active lease holds it, UNASSIGNED if it is in one of our subnets (not in
//    a split-scope peer's part) without one, else UNKNOWN. By client-id or
//    MAC: ACTIVE if the client has an active lease, else UNKNOWN.
//  - DHCPLEASEACTIVE carries ciaddr = the leased address, the client's
//    htype/chaddr, and options 54, 51 (seconds left), 91 (seconds since the
//    client's last transaction), 61 (when the client is known by one), 92
//    (associated IP: the leased address, for a query by client-id or MAC;
//    a client holds one lease per server in dorado), 82 (as the client last
//    sent it, when it arrived relayed with one). The reply goes to giaddr
//    (else the IPv4 source), port 67, from our server identifier.
//
// Which shard answers (runtime/worker.cpp routes it): by client-id or MAC,
// the shard of the key, as for any request from that client (the worker's
// client_key_of() already picks it); by address, the shard owning the
// address's block (leasequery_shard()), where Shard::lease_at_address()
// finds it: clients allocate only in their shard's blocks. Limits: a client
// that has a client-id is found by client-id only, not by MAC (its record is
// keyed, and sharded, by the client-id); an active lease on a reserved
// address outside every pool, or one restored on another shard's block
// after a change of worker count, is found by its client but answered
// UNASSIGNED by address.
#pragma once

#include <cstdint>

#include "engine/config.hpp"
#include "engine/lease.hpp"
#include "wire/dhcp.hpp"

namespace dorado::engine {

// RFC 4388 option codes (wire/dhcp.hpp names the rest).
inline constexpr std::uint8_t kOptClientLastTransactionTime = 91;   // seconds since
inline constexpr std::uint8_t kOptAssociatedIp = 92;                // IPv4 addresses

// For a DHCPLEASEQUERY by address (ciaddr non-zero), the shard that owns
// that address's block among `shard_count` (shard_of_block_base); kNil for
// any other message (route it by its client key). An address in no block
// goes to shard 0. Pure, noexcept. Inline for the other messages: ciaddr,
// then the message type; the block lookup (O(log subnets)) is out of line.
std::uint32_t leasequery_block_owner(const CompiledConfig& config, Ipv4 address,
                                     std::uint32_t shard_count) noexcept;
inline std::uint32_t leasequery_shard(const CompiledConfig& config, const wire::DhcpMessage& m,
                                      std::uint32_t shard_count) noexcept {
  if (m.ciaddr == 0 || m.message_type() != wire::MessageType::lease_query) [[likely]]
    return kNil;
  return leasequery_block_owner(config, m.ciaddr, shard_count);
}

}  // namespace dorado::engine
