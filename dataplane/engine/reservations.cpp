// Reservations by client key, MAC and option 82 (engine/reservations.hpp),
// and the shard's uses of them that are not on engine.cpp's main path.
#include "engine/reservations.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "engine/engine.hpp"

namespace dorado::engine {

void relay_reservation_key(const std::vector<std::uint8_t>& circuit, const std::vector<std::uint8_t>& remote,
                           std::vector<std::uint8_t>& out) {
  out.clear();
  if (!circuit.empty() && !remote.empty()) {
    out.push_back(kResvKindRelayPair);
    out.push_back(static_cast<std::uint8_t>(circuit.size()));
    out.insert(out.end(), circuit.begin(), circuit.end());
    out.insert(out.end(), remote.begin(), remote.end());
  } else if (!circuit.empty()) {
    out.push_back(kResvKindCircuit);
    out.insert(out.end(), circuit.begin(), circuit.end());
  } else {
    out.push_back(kResvKindRemote);
    out.insert(out.end(), remote.begin(), remote.end());
  }
}

namespace {

// Shared networks: a reservation of any subnet on the request's link.
bool applies(const CompiledConfig& config, const ReservationEntry* r, std::uint32_t subnet) noexcept {
  return r != nullptr && (r->subnet == kAnySubnet || config.same_network(r->subnet, subnet));
}

// Sub-option values of up to 255 bytes each (their length byte).
const ReservationEntry* find_relay(const CompiledConfig& config, std::uint8_t kind, wire::Bytes a,
                                   wire::Bytes b, std::uint32_t subnet) noexcept {
  std::array<std::uint8_t, 2 + 2 * kMaxRelayIdLen> buf;
  if (a.size() > kMaxRelayIdLen || b.size() > kMaxRelayIdLen) return nullptr;
  std::size_t n = 0;
  buf[n++] = kind;
  if (kind == kResvKindRelayPair) buf[n++] = static_cast<std::uint8_t>(a.size());
  if (!a.empty()) std::memcpy(buf.data() + n, a.data(), a.size());
  n += a.size();
  if (!b.empty()) std::memcpy(buf.data() + n, b.data(), b.size());
  n += b.size();
  const wire::Bytes key{buf.data(), n};
  const ReservationEntry* r = config.find_reservation(key, hash_key_bytes(key));
  return applies(config, r, subnet) ? r : nullptr;
}

}  // namespace

namespace {
// Every kind, in order (find_any_reservation's slow path).
[[gnu::noinline]] const ReservationEntry* find_any_reservation_slow(const CompiledConfig& config, const ClientKey& key,
                                                               const wire::DhcpMessage& m,
                                                               std::uint32_t subnet) noexcept {
  // 1. the lease key (client-id, or MAC without option 61).
  if (key.len != 0)
    if (const ReservationEntry* r = config.find_reservation(key.view(), key.hash); applies(config, r, subnet)) return r;
  // 1b. a client-id the lease key does not use (match_client_id = false).
  if (key.kind() == kKeyKindHw)
    if (auto id = m.client_id(); id && !id->empty() && id->size() < kMaxKeyLen) {
      const ClientKey k = client_key_id(*id);
      if (const ReservationEntry* r = config.find_reservation(k.view(), k.hash); applies(config, r, subnet)) return r;
    }
  // 2. the MAC of a client that sent option 61.
  if (key.kind() != kKeyKindHw && config.hw_reservations != 0 && m.htype == 1 && m.hlen == 6) {
    const ClientKey hw = client_key_hw(1, m.chaddr());
    if (const ReservationEntry* r = config.find_reservation(hw.view(), hw.hash); applies(config, r, subnet)) return r;
  }
  // 3. option 82: the pair, then each alone.
  if (config.relay_reservations != 0 && m.has(wire::opt::relay_agent_info)) {
    const auto rai = m.relay_agent_info();
    if (!rai) return nullptr;
    const bool circuit = rai->circuit_id && !rai->circuit_id->empty();
    const bool remote = rai->remote_id && !rai->remote_id->empty();
    if (circuit && remote)
      if (auto r = find_relay(config, kResvKindRelayPair, *rai->circuit_id, *rai->remote_id, subnet)) return r;
    if (circuit)
      if (auto r = find_relay(config, kResvKindCircuit, *rai->circuit_id, {}, subnet)) return r;
    if (remote)
      if (auto r = find_relay(config, kResvKindRemote, *rai->remote_id, {}, subnet)) return r;
  }
  return nullptr;
}

// Out of line so that a config without reservations pays one test, not the
// registers find_any_reservation_slow saves (callgrind: +16 instructions
// per request with find_reservation inlined here). A request whose lease
// key's probe finds an empty slot before any slot of its hash, and that
// carries nothing the other kinds read (option 61 beside a MAC key, a MAC
// beside a client-id key with MAC reservations, option 82 with relay
// reservations), has no reservation: decided here with no register saved
// and no call (the common miss); anything else goes to the slow path.
[[gnu::noinline]] const ReservationEntry* find_any_reservation(const CompiledConfig& config, const ClientKey& key,
                                                               const wire::DhcpMessage& m,
                                                               std::uint32_t subnet) noexcept {
  if (key.len != 0) {
    const std::uint64_t* index = config.reservation_index.data();
    for (std::uint32_t pos = static_cast<std::uint32_t>(key.hash) & config.reservation_mask;;
         pos = (pos + 1) & config.reservation_mask) {
      const std::uint64_t slot = index[pos];
      if (static_cast<std::uint32_t>(slot) == kNil) break;
      if ((slot >> 32) == (key.hash >> 32)) return find_any_reservation_slow(config, key, m, subnet);
    }
  }
  const bool other = key.kind() == kKeyKindHw ? m.has(wire::opt::client_id)
                                              : config.hw_reservations != 0 && m.htype == 1 && m.hlen == 6;
  if (other || (config.relay_reservations != 0 && m.has(wire::opt::relay_agent_info)))
    return find_any_reservation_slow(config, key, m, subnet);
  return nullptr;
}
}  // namespace

const ReservationEntry* find_reservation_for(const CompiledConfig& config, const ClientKey& key,
                                             const wire::DhcpMessage& m, std::uint32_t subnet) noexcept {
  if (config.reservations.empty()) return nullptr;
  return find_any_reservation(config, key, m, subnet);
}

ClassSet reservation_class_set(const CompiledConfig& c, const CompiledReservation& r) noexcept {
  ClassSet set = 0;
  for (const std::string& name : c.classes_of(r))
    if (const std::uint32_t i = c.classes.index_of(name); i != kNoPool) set |= ClassSet{1} << i;
  return set;
}

bool relay_reserved_address(const CompiledConfig& config, std::uint32_t subnet, Ipv4 addr) noexcept {
  if (config.relay_reservations == 0 || addr == 0) return false;
  return std::any_of(config.reservation_infos.begin(), config.reservation_infos.end(),
                     [&](const CompiledReservation& r) {
                       return r.relay && r.address == addr && r.subnet == subnet;
                     });
}

void rekey_by_mac(KeyResult& r, const CompiledConfig& config, const wire::DhcpMessage& m,
                  const RxMeta& rx) noexcept {
  if (r.key.kind() != kKeyKindClientId || m.hlen == 0) return;
  const std::uint32_t s = select_subnet(config, m, rx).index;
  if (s == kNil || config.subnets[s].match_client_id) return;
  set_key_hw(r.key, m.htype, m.chaddr());
  r.status = KeyStatus::ok;
}

// ---- Shard ----------------------------------------------------------------------------

const ReservationEntry* Shard::reservation_for(const ClientKey& key, const wire::DhcpMessage& m,
                                               std::uint32_t subnet) const noexcept {
  return find_reservation_for(*config_, key, m, subnet);
}

Ipv4 Shard::reserved_address(const ClientKey& key, std::uint8_t htype, const wire::MacAddr& chaddr,
                             std::uint32_t subnet) const noexcept {
  if (config_->reservations.empty() || key.len == 0) return 0;
  auto ok = [&](const ReservationEntry* r) { return applies(*config_, r, subnet) && r->address != 0; };
  const ReservationEntry* r = config_->find_reservation(key.view(), key.hash);
  if (!ok(r) && key.kind() == kKeyKindClientId && config_->hw_reservations != 0 && htype == 1) {
    const ClientKey hw = client_key_hw(1, wire::Bytes{chaddr.b.data(), 6});
    r = config_->find_reservation(hw.view(), hw.hash);
  }
  return ok(r) ? r->address : 0;
}

// One device, two identities: the reserved address of a MAC reservation is
// held by record `holder` of the same device under its other key (with or
// without option 61: a PXE ROM, then the OS). The reservation holds either
// way: the other record gives the address up (reclaim journaled). Returns
// the holder that remains (kNil when it gave way).
std::uint32_t Shard::yield_same_device(std::uint32_t holder, std::uint32_t idx, const wire::DhcpMessage& m,
                                       const ReservationEntry& r, Seconds now) noexcept {
  if (holder == kNil || holder == idx) return holder;
  const CompiledReservation& info = config_->reservation_infos[r.info];
  const Lease& h = table_.at(holder);
  if (!info.mac || m.htype != 1 || m.hlen != 6 || h.htype != 1 || h.key_len == 0 ||
      std::memcmp(h.chaddr.b.data(), m.chaddr_field.data(), 6) != 0 || is_foreign(holder))
    return holder;
  drop_record(holder, now);
  bump(Event::reservation_moved);
  return kNil;
}

}  // namespace dorado::engine
