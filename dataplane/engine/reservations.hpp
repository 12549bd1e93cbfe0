// Reservations (issue 16): who a reservation is for and how a request finds
// it (docs/architecture.md "Reservations").
//
// A reservation is keyed by the client's MAC (htype 1), its client-id
// (option 61), the relay's option 82 circuit-id (sub-option 1), remote-id
// (sub-option 2), or circuit-id and remote-id together. All keys go into
// one open-addressing table (CompiledConfig::reservations), each prefixed by
// a kind byte (lease.hpp kKeyKindHw / kKeyKindClientId, config.hpp
// kResvKind*) so that the spaces never collide. A request is looked up in
// this order, and the first reservation of its subnet (or a global one
// without address) wins: client-id, MAC, circuit-id + remote-id, circuit-id,
// remote-id. A kind the config does not use costs nothing (counts in
// CompiledConfig skip it).
//
// Contract: pure, noexcept, no allocation (a 512-byte stack buffer for the
// relay keys); any thread. Cost: one hash + probe per kind tried.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/client_key.hpp"
#include "engine/config.hpp"
#include "wire/dhcp.hpp"

namespace dorado::engine {

struct RxMeta;   // engine.hpp

// The table key of a reservation by circuit-id and/or remote-id (compile
// time; one of them may be empty).
void relay_reservation_key(const std::vector<std::uint8_t>& circuit, const std::vector<std::uint8_t>& remote,
                           std::vector<std::uint8_t>& out);

// The reservation for a request served from `subnet` (index into
// config.subnets): its own or a global one. `key` is the request's lease
// key. nullptr when none.
const ReservationEntry* find_reservation_for(const CompiledConfig& config, const ClientKey& key,
                                             const wire::DhcpMessage& m, std::uint32_t subnet) noexcept;

// The classes a reservation gives, by name (compile checked they exist:
// engine/classes.cpp): OR-ed into the request's class set (engine.cpp for
// DHCP, bootp.cpp for BOOTP). Only for clients with such a reservation.
ClassSet reservation_class_set(const CompiledConfig& c, const CompiledReservation& r) noexcept;

// Whether `addr` in `subnet` is reserved by a reservation keyed by option
// 82 (restore and reload cannot check a circuit: the lease is kept).
bool relay_reserved_address(const CompiledConfig& config, std::uint32_t subnet, Ipv4 addr) noexcept;

// The key a request's lease is kept under: client_key_of(m), except in a
// subnet with match_client_id = false, where a client that sends option 61
// is keyed by (htype, chaddr) all the same. The worker uses it to route the
// request, so every worker agrees. Costs a subnet selection only when the
// config has such a subnet.
// Inline: without such a subnet it is client_key_of's work and one branch
// (out of line it cost ~40 instructions per request, engine_bench).
void rekey_by_mac(KeyResult& r, const CompiledConfig& config, const wire::DhcpMessage& m,
                  const RxMeta& rx) noexcept;
inline void set_request_key(KeyResult& r, const CompiledConfig& config, const wire::DhcpMessage& m,
                            const RxMeta& rx) noexcept {
  set_client_key(r, m);
  if (config.mac_keyed_subnets != 0) [[unlikely]] rekey_by_mac(r, config, m, rx);
}

}  // namespace dorado::engine
