// Engine configuration: the plain structs the control plane fills in
// (EngineConfig), and the immutable snapshot the shards run on
// (CompiledConfig), made by compile().
//
// Ownership and threads: the control thread builds an EngineConfig (the TOML
// loader validates user input and names file/line/key itself), calls
// compile() and keeps the resulting CompiledConfig alive for as long as any
// shard uses it; shards hold a const pointer and only read it, so one snapshot
// may be shared by all shards without synchronisation.
//
// Cost: compile() allocates and is O(addresses in pools / 64 + subnets *
// log subnets + options + reservations + relays * log relays); a few ms for
// millions of addresses. Never call it on a worker lcore. The CompiledConfig
// lookups are noexcept, allocation-free and O(log subnets), O(log relays) or
// O(1).
#pragma once

#include <algorithm>
#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/limits.hpp"
#include "engine/classes.hpp"
#include "engine/ddns.hpp"
#include "engine/ha.hpp"
#include "engine/lease.hpp"
#include "engine/probe.hpp"
#include "wire/bytes.hpp"
#include "wire/frame.hpp"

namespace dorado::engine {

using wire::Ipv4;

// ---- user-level configuration (plain structs, host byte order) -------------

struct AddressRange {
  Ipv4 first = 0;   // inclusive
  Ipv4 last = 0;    // inclusive
};

// Limits compile() enforces; the TOML loader checks the same ones so that it
// can name the line at fault.
inline constexpr std::size_t kMaxOptionValue = 1024;   // bytes of one OptionData::value
inline constexpr std::size_t kMaxSubnets = 65535;      // subnet indices are 16 bits

// Codes the engine writes itself and compile() refuses in OptionData: 0, 1,
// 50-55, 57-59, 61, 82, 255.
bool engine_owned_option(std::uint8_t code) noexcept;

// An option by code with its value already encoded as it goes on the wire
// (the TOML loader encodes typed values; see the encode_* helpers below).
struct OptionData {
  std::uint8_t code = 0;
  std::vector<std::uint8_t> value;   // up to kMaxOptionValue bytes; > 255 is split (RFC 3396)
  bool always_send = false;          // send even when the client did not ask (55)
};

// Reservation keys beyond the two client-key kinds (lease.hpp): they live
// only in CompiledConfig's reservation table (engine/reservations.hpp).
inline constexpr std::uint8_t kResvKindCircuit = 3;     // option 82 sub-option 1
inline constexpr std::uint8_t kResvKindRemote = 4;      // option 82 sub-option 2
inline constexpr std::uint8_t kResvKindRelayPair = 5;   // both: len(circuit), circuit, remote
inline constexpr std::size_t kMaxRelayIdLen = 255;      // a sub-option's length byte
// Reservation subnet for a global reservation without an address: it
// applies in whichever subnet serves the client.
inline constexpr std::uint16_t kAnySubnet = 0xffff;

// A reservation (engine/reservations.hpp): who (by MAC, by client-id, or
// both: either one matches; or by option 82 circuit-id, remote-id, or the
// two together), and what they get: a fixed address (optional: 0 = a pool
// address as any client), a hostname (option 12 and the lease's name),
// options (over the subnet's, by code) and client classes (names, resolved
// by the class matcher at compile time). A reserved address is never handed
// out dynamically.
struct Reservation {
  std::optional<wire::MacAddr> mac;
  std::vector<std::uint8_t> client_id;   // option 61 value, 1..159 bytes
  Ipv4 address = 0;                       // inside the subnet; 0 = none
  std::vector<std::uint8_t> circuit_id;  // option 82 sub-option 1 value, 1..255 bytes
  std::vector<std::uint8_t> remote_id;   // option 82 sub-option 2 value, 1..255 bytes
  std::string hostname;                   // option 12; empty = none
  std::vector<OptionData> options;        // over the subnet's (and classes') by code
  std::vector<std::string> classes;       // client classes this client is a member of
};

// A client class (engine/classes.hpp): a name, the conditions a request
// must all meet (none: the class is only given, e.g. by a reservation:
// ClassSet bits OR-ed in by the caller), and what membership does.
struct ClassConfig {
  std::string name;                   // unique, non-empty
  std::vector<ClassMatch> matches;    // AND
  std::vector<OptionData> options;    // override pool, subnet and global ones by code
  std::uint32_t lease_time = 0;       // 0: not set; else the lease given (a client's 51 may shorten it)
  bool drop = false;                  // members are not answered (DropReason::class_drop)
};

// A pool with its own rules ([[subnet.pool]]), beside SubnetConfig::pools
// (open to every client). Only clients of a class in `classes` (empty: any
// client) and of no class in `deny` get its addresses. Ranges of pool tables
// must not overlap each other or SubnetConfig::pools.
struct PoolConfig {
  std::vector<AddressRange> ranges;   // inside the subnet
  std::vector<std::string> classes;   // class names; empty: every client
  std::vector<std::string> deny;      // class names
  std::uint32_t lease_time = 0;       // 0: the subnet's
  std::vector<OptionData> options;    // override subnet and global ones by code
};

struct SubnetConfig {
  std::uint32_t id = 0;              // stable identifier, appears in LeaseChange
  Ipv4 prefix = 0;                   // network address (host bits zero)
  std::uint8_t prefix_len = 24;      // 8..32
  std::vector<AddressRange> pools;   // dynamic ranges, inside the subnet
  std::vector<PoolConfig> pool_tables;   // [[subnet.pool]]: pools with their own rules
  std::vector<AddressRange> exclusions;   // never handed out (may overlap pools)
  std::vector<Reservation> reservations;
  std::vector<Ipv4> routers;         // option 3
  std::vector<Ipv4> dns_servers;     // option 6
  std::string domain_name;           // option 15
  std::uint32_t lease_time = 3600;   // default when the client sends no option 51
  std::uint32_t min_lease_time = 300;    // option 51 is clamped to [min, max]
  std::uint32_t max_lease_time = 86400;
  double t1_ratio = 0.5;             // option 58 = lease * t1_ratio
  double t2_ratio = 0.875;           // option 59 = lease * t2_ratio
  Ipv4 server_id = 0;                // option 54 for this subnet; 0 = EngineConfig's
  std::vector<OptionData> options;   // override EngineConfig::options by code
  // giaddrs of the relays serving this subnet. A relayed request whose giaddr
  // lies in no subnet is served from the subnet listing that giaddr. A relay
  // inside this subnet changes nothing (containment selects it anyway).
  // compile() refuses 0.0.0.0 and 255.255.255.255, a relay inside another
  // subnet, and a relay outside every subnet listed twice.
  std::vector<Ipv4> relays;
  // Dynamic DNS (engine/ddns.hpp): the suffix appended to partial names of
  // this subnet's clients; empty: EngineConfig::ddns.qualifying_suffix.
  std::string qualifying_suffix;
  // BOOTP clients (RFC 951/1542: requests without option 53) without a
  // reservation get a pool address here, leased for ever (engine/bootp.cpp,
  // as ISC dhcpd's dynamic-bootp). false: only reserved ones are answered.
  bool bootp = false;
  // Conflict detection ([subnet.conflict]; engine/probe.hpp): unset keys
  // take EngineConfig::probe's.
  SubnetProbe probe;
  // Kea's match-client-id: false = leases of this subnet's clients are
  // keyed by (htype, chaddr) even when they send option 61 (one lease per
  // MAC; see docs/configuration.md for the trade-off).
  bool match_client_id = true;
  // VLAN-aware selection (engine/select.cpp): an unrelayed request that
  // came with exactly these tags is served here. `vlan`: one 802.1Q tag;
  // `qinq`: (outer, inner) pairs. VIDs 1..4094; each tag set names one
  // subnet at most.
  std::vector<std::uint16_t> vlans;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> qinq;
  // RFC 4039 rapid commit: a DISCOVER with option 80 gets a DHCPACK (with
  // 80) at once, the lease committed as a REQUEST's would be. Unset:
  // EngineConfig::rapid_commit.
  std::optional<bool> rapid_commit;
  // The server's own address on this directly attached segment (0: none):
  // the server id of the subnet's replies (server_id, if set, must be the
  // same), never handed out, and answered by the dataplane for ARP and ICMP
  // echo (runtime/worker.cpp). Inside the prefix, in no pool, unique.
  Ipv4 interface_address = 0;
  // Per-circuit limits (engine/limits.hpp): a subnet that sets any of its
  // keys counts its leases apart from the global scope; keys it leaves
  // unset take EngineConfig::limits' values.
  LimitConfig limits;
};

// Several subnets on one link (issue 16; engine/select.cpp): a client of
// any of them may get an address from any whose pool has one, in this
// order; its address keeps its own subnet.
struct SharedNetworkConfig {
  std::string name;
  std::vector<std::uint32_t> subnets;   // indices into EngineConfig::subnets, each in one network at most
  std::vector<OptionData> options;      // over the global ones, under the subnets' own
};

struct EngineConfig {
  Ipv4 server_address = 0;           // default server identifier (option 54)
  std::vector<SubnetConfig> subnets; // must not overlap
  std::vector<OptionData> options;   // defaults for every subnet
  std::vector<ClassConfig> classes;  // [[class]], config order = ClassSet bit order (<= kMaxClasses)
  std::uint32_t offer_hold_s = 30;   // how long an OFFER reserves its address
  std::uint32_t decline_probation_s = 86400;   // DECLINEd address out of the pool
  // Split scope: the parts of the pools that other servers serve (the loader
  // also lists them in the subnets' exclusions, so they are never handed out
  // here). A RENEWING, REBINDING or INIT-REBOOT REQUEST for such an address
  // from a client whose own record does not hold it is left to its server:
  // silence, DropReason::peer_address (a NAK would take a valid lease away
  // from the other server's client).
  std::vector<AddressRange> peer_ranges;
  // High availability (engine/ha.hpp): whose blocks this server allocates
  // in, and which clients it answers. Filled from [ha] by the loader; the
  // control thread changes all_blocks by a reconfigure (partner-down).
  HaConfig ha;
  // Dynamic DNS (engine/ddns.hpp): filled from [ddns] by the loader;
  // disabled (no option 81 answer, no DNS flags on leases) without it.
  DdnsPolicy ddns;
  // Conflict detection before an OFFER ([conflict], engine/probe.hpp).
  ProbePolicy probe;
  // Leasequery (RFC 4388, engine/leasequery.hpp): the requesters (giaddr, or
  // the IPv4 source without one) whose DHCPLEASEQUERY is answered; filled
  // from [leasequery] allowed. Empty: every leasequery is dropped.
  std::vector<Ipv4> leasequery_allowed;
  // Global reservations ([[reservation]]; engine/reservations.hpp): one with
  // an address belongs to the subnet holding it; one without applies in
  // every subnet.
  std::vector<Reservation> global_reservations;
  std::vector<SharedNetworkConfig> shared_networks;
  // RFC 4039 rapid commit for subnets that do not say ([lease] rapid_commit).
  bool rapid_commit = false;
  // Per-circuit limits ([limits], engine/limits.hpp): the global scope.
  LimitConfig limits;
};

// Encoders for OptionData::value.
std::vector<std::uint8_t> encode_ipv4_list(std::span<const Ipv4> ips);
std::vector<std::uint8_t> encode_u32(std::uint32_t v);
std::vector<std::uint8_t> encode_u16(std::uint16_t v);
std::vector<std::uint8_t> encode_u8(std::uint8_t v);
std::vector<std::uint8_t> encode_string(std::string_view s);

// Key of a tag set in CompiledConfig::vlan_subnets: count, outer, inner VIDs.
constexpr std::uint32_t vlan_key(std::uint32_t count, std::uint32_t outer, std::uint32_t inner) noexcept {
  return count << 24 | (outer & 0xfffu) << 12 | (inner & 0xfffu);
}

// ---- compiled snapshot -------------------------------------------------------

inline constexpr std::uint32_t kBlockBits = 64;   // addresses per block

struct CompiledOption {
  std::uint8_t code = 0;
  bool always_send = false;
  std::uint16_t length = 0;
  std::uint32_t offset = 0;   // into CompiledConfig::option_bytes
};

struct CompiledSubnet {
  std::uint32_t id = 0;
  Ipv4 network = 0;
  Ipv4 mask = 0;
  Ipv4 broadcast = 0;
  std::uint8_t prefix_len = 0;
  // SubnetConfig::rapid_commit resolved ([lease]'s when unset), in the
  // padding after prefix_len: the struct stays 112 bytes (see below).
  bool rapid_commit = false;
  Ipv4 server_id = 0;              // resolved (never 0)
  std::uint32_t lease_time = 0;
  std::uint32_t min_lease_time = 0;
  std::uint32_t max_lease_time = 0;
  std::uint32_t t1_q16 = 0;        // t1_ratio * 65536 (integer maths on the hot path)
  std::uint32_t t2_q16 = 0;
  // Dense block index: block_index[index_offset + ((ip - chunk_base) >> 6)].
  Ipv4 chunk_base = 0;             // network rounded down to 64
  std::uint32_t index_offset = 0;
  std::uint32_t index_len = 0;
  // Blocks of this subnet are blocks[first_block, first_block + block_count).
  std::uint32_t first_block = 0;
  std::uint32_t block_count = 0;
  // Options sorted by code: options[options_begin, options_begin + options_count).
  std::uint32_t options_begin = 0;
  std::uint32_t options_count = 0;
  std::bitset<256> option_codes;   // fast "has option" test
  std::uint8_t always_send_count = 0;
  // Dynamic DNS: the qualifying suffix (the subnet's, else [ddns]'s; lower
  // case, no trailing dot, may be empty, at most kMaxFqdnLen) in
  // CompiledConfig::ddns_suffixes. Both fit the padding after
  // always_send_count: the struct stays 112 bytes, the stride of
  // config.subnets[i] on the hot path (a 120-byte stride cost 2 more
  // instructions per indexing).
  std::uint8_t ddns_suffix_len = 0;
  // SubnetConfig::bootp (in the same padding).
  bool bootp = false;
  // SubnetConfig::match_client_id (same padding).
  bool match_client_id = true;
  std::uint32_t ddns_suffix_offset = 0;

  bool contains(Ipv4 ip) const noexcept { return (ip & mask) == network; }
};
static_assert(sizeof(CompiledSubnet) == 112, "CompiledSubnet's stride is 112 bytes on the hot path");
static_assert(kMaxFqdnLen <= 0xff, "CompiledSubnet::ddns_suffix_len is one byte");

// 64 addresses aligned to 64 in one subnet. Bits of `allocatable` are the
// addresses that may be handed out dynamically: in a pool, not excluded, not
// reserved, not the network/broadcast/server address.
struct BlockInfo {
  Ipv4 base = 0;
  std::uint16_t subnet = 0;
  std::uint64_t allocatable = 0;
};

// giaddr -> subnet for relays outside every subnet (SubnetConfig::relays).
struct RelayEntry {
  Ipv4 giaddr = 0;
  std::uint32_t subnet = 0;   // index into CompiledConfig::subnets
};

struct ReservationEntry {
  std::uint64_t hash = 0;          // hash_key_bytes of the key
  std::uint32_t key_offset = 0;    // into CompiledConfig::reservation_keys
  std::uint16_t key_len = 0;
  std::uint16_t subnet = 0;        // index into CompiledConfig::subnets, or kAnySubnet
  Ipv4 address = 0;                // 0: no fixed address
  std::uint32_t info = 0;          // into CompiledConfig::reservation_infos
};

// What a reservation gives besides its address (shared by its keys).
struct CompiledReservation {
  Ipv4 address = 0;
  std::uint16_t subnet = kAnySubnet;
  std::uint32_t options_begin = 0;   // into CompiledConfig::options, sorted by code
  std::uint32_t options_count = 0;   // hostname included (option 12, always sent)
  std::uint32_t hostname_offset = 0; // into CompiledConfig::reservation_text
  std::uint8_t hostname_len = 0;
  bool mac = false;                  // has a MAC key (one device, two identities)
  bool relay = false;                // keyed by circuit_id/remote_id
  // Reservation::classes as given (the class matcher resolves the names).
  std::uint32_t classes_begin = 0;   // into CompiledConfig::reservation_classes
  std::uint32_t classes_count = 0;
};

inline constexpr std::uint16_t kNoNetwork = 0xffff;

struct CompiledNetwork {
  std::uint32_t begin = 0;   // into CompiledConfig::network_members
  std::uint32_t count = 0;
};

// A [[subnet.pool]] table compiled (engine/classes.cpp).
struct CompiledPool {
  std::uint32_t subnet = 0;           // index into CompiledConfig::subnets
  ClassSet allow = 0;                 // 0: every client
  ClassSet deny = 0;
  std::uint32_t lease_time = 0;       // 0: the subnet's
  std::uint32_t options_begin = 0;    // into CompiledConfig::options, sorted by code
  std::uint32_t options_count = 0;
  std::bitset<256> option_codes;
  bool allows(ClassSet cls) const noexcept { return (allow == 0 || (cls & allow) != 0) && (cls & deny) == 0; }
};
struct PoolRange {
  Ipv4 first = 0, last = 0;
  std::uint32_t pool = 0;             // index into CompiledConfig::pools
};
// A subnet's pool tables: pools[begin, begin + count); its ranges sorted by
// address: pool_ranges[ranges_begin, ranges_begin + ranges_count).
struct SubnetPools {
  std::uint32_t begin = 0, count = 0;
  std::uint32_t ranges_begin = 0, ranges_count = 0;
};

struct CompiledConfig {
  Ipv4 server_address = 0;
  Seconds offer_hold_s = 0;
  Seconds decline_probation_s = 0;
  std::vector<CompiledSubnet> subnets;      // sorted by network, disjoint
  std::vector<BlockInfo> blocks;
  std::vector<std::uint32_t> block_index;   // dense per subnet; kNil = no block
  std::vector<CompiledOption> options;
  std::vector<std::uint8_t> option_bytes;
  std::vector<ReservationEntry> reservations;
  std::vector<std::uint8_t> reservation_keys;
  // Open addressing: (hash >> 32) << 32 | entry, low half kNil when empty;
  // at most 1/4 full, so a miss reads ~1 slot and no entry.
  std::vector<std::uint64_t> reservation_index;
  std::uint32_t reservation_mask = 0;
  std::uint32_t hw_reservations = 0;   // entries keyed by MAC (skip the lookup if 0)
  std::uint32_t relay_reservations = 0;   // entries keyed by circuit-id/remote-id
  std::vector<CompiledReservation> reservation_infos;
  std::vector<char> reservation_text;               // hostnames
  std::vector<std::string> reservation_classes;     // CompiledReservation::classes_*
  std::uint32_t mac_keyed_subnets = 0;   // subnets with match_client_id = false
  // Shared networks: per compiled subnet its network (kNoNetwork: none;
  // empty when the config has none), each network's subnets in config order.
  std::vector<std::uint16_t> network_of;
  std::vector<CompiledNetwork> networks;
  std::vector<std::uint32_t> network_members;
  std::vector<std::string> network_names;
  // SubnetConfig::interface_address of every subnet that has one, sorted,
  // unique: the addresses the dataplane answers ARP and ping for besides
  // server_address.
  std::vector<Ipv4> interface_addresses;
  bool is_interface_address(Ipv4 ip) const noexcept {
    return !interface_addresses.empty() &&
           std::binary_search(interface_addresses.begin(), interface_addresses.end(), ip);
  }
  // VLAN tag sets -> subnet, sorted by key (vlan_key()); empty: no subnet names a VLAN.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> vlan_subnets;
  // The subnet the tags of an unrelayed request name, or kNil. O(log n).
  std::uint32_t subnet_of_vlans(std::uint8_t count, const std::array<wire::VlanTag, 2>& tags) const noexcept;

  // Whether subnet indices a and b are one subnet or on one shared network.
  bool same_network(std::uint32_t a, std::uint32_t b) const noexcept {
    return a == b || (!network_of.empty() && a < network_of.size() && b < network_of.size() &&
                      network_of[a] != kNoNetwork && network_of[a] == network_of[b]);
  }
  std::vector<RelayEntry> relays;      // sorted by giaddr, unique
  std::vector<AddressRange> peer_ranges;   // EngineConfig::peer_ranges sorted, merged
  HaConfig ha;                             // EngineConfig::ha
  CompiledDdns ddns;                       // EngineConfig::ddns (disabled: none of it is read)
  std::vector<char> ddns_suffixes;         // CompiledSubnet::ddns_suffix_offset/len: text, then wire form
  // Conflict detection (engine/probe.hpp): probe_enabled when some subnet
  // probes; probe_subnets parallel to `subnets`; probe: EngineConfig::probe
  // (the worker's timeout and probe count).
  bool probe_enabled = false;
  std::vector<CompiledProbeSubnet> probe_subnets;
  ProbePolicy probe;
  std::vector<Ipv4> leasequery_allowed;    // EngineConfig::leasequery_allowed sorted, unique
  // Client classes and pool tables (engine/classes.hpp, classes.cpp).
  CompiledClasses classes;
  std::vector<CompiledPool> pools;
  std::vector<PoolRange> pool_ranges;
  std::vector<SubnetPools> subnet_pools;   // parallel to `subnets`; empty when no subnet has pool tables
  // Per-circuit limits (engine/limits.hpp): parallel to `subnets`; empty
  // when no limit is configured (the shard then never looks).
  std::vector<CompiledLimits> subnet_limits;

  // The pool table holding `ip` in subnet `subnet`, or kNoPool (a plain
  // `pools` address, or none). O(log ranges of the subnet).
  std::uint32_t pool_of(std::uint32_t subnet, Ipv4 ip) const noexcept;
  // Whether a client of classes `cls` may have `ip` of subnet `subnet`:
  // true unless it lies in a pool table that does not allow `cls`.
  bool pool_allows(std::uint32_t subnet, Ipv4 ip, ClassSet cls) const noexcept {
    if (subnet_pools.empty()) return true;
    const std::uint32_t p = pool_of(subnet, ip);
    return p == kNoPool || pools[p].allows(cls);
  }
  std::span<const CompiledOption> options_of(const CompiledPool& p) const noexcept {
    return {options.data() + p.options_begin, p.options_count};
  }
  std::span<const CompiledOption> options_of(const CompiledClass& k) const noexcept {
    return {options.data() + k.options_begin, k.options_count};
  }

  // Whether `ip` may send DHCPLEASEQUERY (engine/leasequery.hpp). O(log n).
  bool leasequery_allows(Ipv4 ip) const noexcept;

  // The qualifying suffix of subnet `s`' partial names (empty: none).
  std::string_view ddns_suffix(const CompiledSubnet& s) const noexcept {
    return {ddns_suffixes.data() + s.ddns_suffix_offset, s.ddns_suffix_len};
  }
  // The same suffix as canonical wire labels without the root label (empty
  // for no suffix), stored right after the text.
  wire::Bytes ddns_suffix_wire(const CompiledSubnet& s) const noexcept {
    return {reinterpret_cast<const std::uint8_t*>(ddns_suffixes.data()) + s.ddns_suffix_offset + s.ddns_suffix_len,
            s.ddns_suffix_len == 0 ? 0u : s.ddns_suffix_len + 1u};
  }

  // Whether `ip` lies in another split-scope server's part. O(log ranges).
  bool in_peer_part(Ipv4 ip) const noexcept;

  // Index of the subnet containing `ip`, or kNil. O(log subnets).
  std::uint32_t subnet_index_of(Ipv4 ip) const noexcept;
  // Index of the subnet whose `relays` lists `giaddr` (a relay outside every
  // subnet), or kNil. O(log relays); no allocation.
  std::uint32_t subnet_of_relay(Ipv4 giaddr) const noexcept;
  // Block of `ip` within subnet `s` (must contain ip), or kNil.
  std::uint32_t block_of(const CompiledSubnet& s, Ipv4 ip) const noexcept {
    const std::uint32_t chunk = (ip - s.chunk_base) >> 6;
    return chunk < s.index_len ? block_index[s.index_offset + chunk] : kNil;
  }
  // Reservation for a client key (kind byte + bytes, see client_key.hpp).
  const ReservationEntry* find_reservation(wire::Bytes key, std::uint64_t hash) const noexcept;
  const CompiledOption* find_option(const CompiledSubnet& s, std::uint8_t code) const noexcept;
  std::span<const CompiledOption> options_of(const CompiledReservation& r) const noexcept {
    return {options.data() + r.options_begin, r.options_count};
  }
  std::string_view hostname_of(const CompiledReservation& r) const noexcept {
    return {reservation_text.data() + r.hostname_offset, r.hostname_len};
  }
  std::span<const std::string> classes_of(const CompiledReservation& r) const noexcept {
    return {reservation_classes.data() + r.classes_begin, r.classes_count};
  }
  std::span<const CompiledOption> options_of(const CompiledSubnet& s) const noexcept {
    return {options.data() + s.options_begin, s.options_count};
  }
  wire::Bytes option_value(const CompiledOption& o) const noexcept {
    return {option_bytes.data() + o.offset, o.length};
  }
};

// Inline: one probe per request with reservations (callgrind: the call
// and its saved registers were half of a miss).
inline const ReservationEntry* CompiledConfig::find_reservation(wire::Bytes key,
                                                         std::uint64_t hash) const noexcept {
  if (reservations.empty()) return nullptr;
  for (std::uint32_t pos = static_cast<std::uint32_t>(hash) & reservation_mask;;
       pos = (pos + 1) & reservation_mask) {
    const std::uint64_t slot = reservation_index[pos];
    const auto e = static_cast<std::uint32_t>(slot);
    if (e == kNil) return nullptr;
    if ((slot >> 32) != (hash >> 32)) continue;
    const ReservationEntry& r = reservations[e];
    if (r.hash == hash && r.key_len == key.size() &&
        std::memcmp(reservation_keys.data() + r.key_offset, key.data(), key.size()) == 0)
      return &r;
  }
}


struct CompileResult {
  CompiledConfig config;
  std::string error;   // empty on success; otherwise names the subnet/option at fault
  // The subnet at fault, as an index into EngineConfig::subnets (input order,
  // not CompiledConfig's sorted order); kNil for whole-config errors.
  std::uint32_t subnet_index = kNil;
  bool ok() const noexcept { return error.empty(); }
};

// Validates `in` whole and compiles it: pools -> blocks with allocatable
// bitmaps, subnet fields and options -> pre-encoded bytes, reservations -> a
// hash table. The TOML loader reports user errors itself; the strings here are
// for internal invariants and for callers that build EngineConfig directly.
CompileResult compile(const EngineConfig& in);

}  // namespace dorado::engine
