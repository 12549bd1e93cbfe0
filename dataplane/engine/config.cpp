#include "engine/config.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <numeric>
#include <utility>

#include "engine/client_key.hpp"
#include "engine/reservations.hpp"
#include "wire/dhcp.hpp"
#include "wire/text.hpp"

namespace dorado::engine {

std::vector<std::uint8_t> encode_ipv4_list(std::span<const Ipv4> ips) {
  std::vector<std::uint8_t> v(ips.size() * 4);
  for (std::size_t i = 0; i < ips.size(); ++i) wire::store_be32(v.data() + 4 * i, ips[i]);
  return v;
}
std::vector<std::uint8_t> encode_u32(std::uint32_t x) {
  std::vector<std::uint8_t> v(4);
  wire::store_be32(v.data(), x);
  return v;
}
std::vector<std::uint8_t> encode_u16(std::uint16_t x) {
  std::vector<std::uint8_t> v(2);
  wire::store_be16(v.data(), x);
  return v;
}
std::vector<std::uint8_t> encode_u8(std::uint8_t x) { return {x}; }
std::vector<std::uint8_t> encode_string(std::string_view s) {
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

bool engine_owned_option(std::uint8_t code) noexcept {
  using namespace wire::opt;
  switch (code) {
    case pad: case subnet_mask: case requested_ip: case lease_time: case overload:
    case message_type: case server_id: case parameter_request_list:
    case max_message_size: case renewal_time: case rebinding_time: case client_id:
    case relay_agent_info: case end:
      return true;
    default:
      return false;
  }
}

std::uint32_t CompiledConfig::subnet_of_relay(Ipv4 giaddr) const noexcept {
  auto it = std::lower_bound(relays.begin(), relays.end(), giaddr,
                             [](const RelayEntry& r, Ipv4 v) { return r.giaddr < v; });
  return it != relays.end() && it->giaddr == giaddr ? it->subnet : kNil;
}

bool CompiledConfig::in_peer_part(Ipv4 ip) const noexcept {
  auto it = std::upper_bound(peer_ranges.begin(), peer_ranges.end(), ip,
                             [](Ipv4 v, const AddressRange& r) { return v < r.first; });
  return it != peer_ranges.begin() && ip <= (it - 1)->last;
}

bool CompiledConfig::leasequery_allows(Ipv4 ip) const noexcept {
  return std::binary_search(leasequery_allowed.begin(), leasequery_allowed.end(), ip);
}

std::uint32_t CompiledConfig::subnet_index_of(Ipv4 ip) const noexcept {
  auto it = std::upper_bound(subnets.begin(), subnets.end(), ip,
                             [](Ipv4 v, const CompiledSubnet& s) { return v < s.network; });
  if (it == subnets.begin()) return kNil;
  --it;
  return it->contains(ip) ? static_cast<std::uint32_t>(it - subnets.begin()) : kNil;
}

const CompiledOption* CompiledConfig::find_option(const CompiledSubnet& s,
                                                  std::uint8_t code) const noexcept {
  if (!s.option_codes.test(code)) return nullptr;
  for (const CompiledOption& o : options_of(s))
    if (o.code == code) return &o;
  return nullptr;
}

namespace {

std::string subnet_text(const SubnetConfig& s) {
  return "subnet " + std::to_string(s.id) + " (" + wire::format_ipv4(s.prefix) + "/" +
         std::to_string(s.prefix_len) + ")";
}

// Sets or clears the bits of [a, b] (both inside the index range).
void mark_range(std::vector<std::uint64_t>& masks, Ipv4 chunk_base, Ipv4 a, Ipv4 b, bool on) {
  const std::uint32_t ca = (a - chunk_base) >> 6, cb = (b - chunk_base) >> 6;
  for (std::uint32_t c = ca; c <= cb; ++c) {
    const unsigned lo = c == ca ? (a & 63u) : 0u;
    const unsigned hi = c == cb ? (b & 63u) : 63u;
    const std::uint64_t m = (~0ull >> (63 - hi)) & (~0ull << lo);
    if (on)
      masks[c] |= m;
    else
      masks[c] &= ~m;
  }
}

struct PendingOption {
  std::uint8_t code;
  const std::vector<std::uint8_t>* value;
  std::vector<std::uint8_t> owned;   // for values derived from subnet fields
  bool always_send;
  bool derived;                      // may be overridden by an explicit option
};

// A compile error and the subnet it belongs to (index into
// EngineConfig::subnets, kNil for the whole config). Empty message: no error.
struct Failure {
  std::string message;
  std::uint32_t subnet = kNil;
};

class Compiler {
 public:
  explicit Compiler(const EngineConfig& in) : in_(in) {}

  CompileResult run() {
    CompileResult r;
    Failure f = compile_all(r.config);
    if (!f.message.empty()) {
      r.config = CompiledConfig{};
      r.error = std::move(f.message);
      r.subnet_index = f.subnet;
    }
    return r;
  }

 private:
  static Failure fail(std::size_t subnet, std::string message) {
    return {std::move(message), static_cast<std::uint32_t>(subnet)};
  }
  static Failure fail(std::string message) { return {std::move(message), kNil}; }

  // [conflict] and the subnets' own choices, in compiled subnet order.
  Failure compile_probe(CompiledConfig& c) {
    const ProbePolicy& p = in_.probe;
    if (p.timeout_ms == 0 || p.timeout_ms > kProbeMaxTimeoutMs)
      return fail("probe timeout_ms must be 1.." + std::to_string(kProbeMaxTimeoutMs));
    if (p.probes == 0 || p.probes > kProbeMaxProbes)
      return fail("probes must be 1.." + std::to_string(kProbeMaxProbes));
    c.probe = p;
    c.probe_subnets.clear();
    for (std::size_t i = 0; i < order_.size(); ++i) {
      const SubnetProbe& s = in_.subnets[order_[i]].probe;
      CompiledProbeSubnet out;
      out.mode = s.mode.value_or(p.mode);
      out.probe_after_s = s.probe_after_s.value_or(p.probe_after_s);
      c.probe_enabled = c.probe_enabled || out.mode != ProbeMode::off;
      c.probe_subnets.push_back(out);
    }
    return {};
  }

  // Per-circuit limits, in compiled subnet order (engine/limits.hpp).
  void compile_limits(CompiledConfig& c) {
    const LimitConfig& g = in_.limits;
    c.subnet_limits.clear();
    bool any = false;
    for (std::size_t i = 0; i < order_.size(); ++i) {
      const SubnetConfig& s = in_.subnets[order_[i]];
      CompiledLimits out;
      const bool own = s.limits.any();
      out.max_leases = s.limits.max_leases != 0 ? s.limits.max_leases : g.max_leases;
      out.max_new_per_second = s.limits.max_new_per_second != 0 ? s.limits.max_new_per_second : g.max_new_per_second;
      out.by = s.limits.by_set ? s.limits.by : g.by;
      out.scope = own ? (std::uint64_t{1} << 32 | s.id) : 0;
      any = any || out.active();
      c.subnet_limits.push_back(out);
    }
    if (!any) c.subnet_limits.clear();
  }

  Failure compile_all(CompiledConfig& c) {
    if (in_.server_address == 0) return fail("server_address is 0");
    if (in_.offer_hold_s == 0) return fail("offer_hold_s must be at least 1");
    if (in_.decline_probation_s == 0) return fail("decline_probation_s must be at least 1");
    if (in_.subnets.size() > kMaxSubnets)
      return fail(kMaxSubnets, "more than " + std::to_string(kMaxSubnets) + " subnets");
    c.server_address = in_.server_address;
    c.offer_hold_s = in_.offer_hold_s;
    c.decline_probation_s = in_.decline_probation_s;
    for (const OptionData& o : in_.options)
      if (std::string e = check_option(o); !e.empty()) return fail("global " + e);
    if (std::string e = compile_classes(in_, c); !e.empty()) return fail(std::move(e));   // classes.cpp

    for (std::size_t i = 0; i < in_.subnets.size(); ++i)
      if (std::string e = check_subnet(in_.subnets[i]); !e.empty()) return fail(i, std::move(e));
    if (Failure f = check_networks(); !f.message.empty()) return f;
    order_.resize(in_.subnets.size());
    std::iota(order_.begin(), order_.end(), std::uint32_t{0});
    std::sort(order_.begin(), order_.end(), [&](std::uint32_t a, std::uint32_t b) {
      return in_.subnets[a].prefix < in_.subnets[b].prefix;
    });
    for (std::size_t i = 0; i < order_.size(); ++i) {
      const SubnetConfig& s = in_.subnets[order_[i]];
      if (i > 0) {
        const CompiledSubnet& p = c.subnets.back();
        if (s.prefix <= p.broadcast)
          return fail(order_[i], subnet_text(s) + " overlaps subnet " + std::to_string(p.id));
      }
      CompiledSubnet cs;
      if (std::string e = compile_subnet(c, s, order_[i], static_cast<std::uint16_t>(i), cs);
          !e.empty())
        return fail(order_[i], std::move(e));
      c.subnets.push_back(cs);
    }
    if (Failure f = compile_probe(c); !f.message.empty()) return f;
    compile_limits(c);
    compile_networks(c);
    if (Failure f = compile_vlans(c); !f.message.empty()) return f;
    std::sort(c.interface_addresses.begin(), c.interface_addresses.end());   // unique: subnets do not overlap
    {
      std::uint32_t at = kNil;
      if (std::string e = compile_pools(in_, order_, c, at); !e.empty()) return fail(at, std::move(e));
    }
    // Subnet ids: the later of two equal ones (in input order) is at fault.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ids;   // (id, input index)
    for (std::uint32_t i = 0; i < in_.subnets.size(); ++i) ids.emplace_back(in_.subnets[i].id, i);
    std::sort(ids.begin(), ids.end());
    for (std::size_t i = 1; i < ids.size(); ++i)
      if (ids[i].first == ids[i - 1].first)
        return fail(ids[i].second, "duplicate subnet id " + std::to_string(ids[i].first));
    if (c.blocks.size() >= (1u << 26)) return fail("more than 2^26 address blocks");
    // Global reservations: those with an address were compiled with the
    // subnet holding it; the others apply in every subnet.
    for (const Reservation& r : in_.global_reservations) {
      if (std::string e = check_reservation(r); !e.empty()) return fail("global " + e);
      if (r.address != 0) {
        if (c.subnet_index_of(r.address) == kNil)
          return fail("global reservation " + wire::format_ipv4(r.address) + " is in no subnet");
        continue;
      }
      add_reservation(c, r, kNil, kAnySubnet);
    }
    std::sort(reserved_addresses_.begin(), reserved_addresses_.end());
    for (std::size_t i = 1; i < reserved_addresses_.size(); ++i)
      if (reserved_addresses_[i].first == reserved_addresses_[i - 1].first)
        return fail(reserved_addresses_[i].second,
                    "address " + wire::format_ipv4(reserved_addresses_[i].first) + " reserved twice");
    if (Failure f = build_reservation_index(c); !f.message.empty()) return f;
    for (const AddressRange& r : in_.peer_ranges) {
      if (r.first > r.last)
        return fail("peer range " + wire::format_ipv4(r.first) + "-" + wire::format_ipv4(r.last) + " is empty");
      c.peer_ranges.push_back(r);
    }
    std::sort(c.peer_ranges.begin(), c.peer_ranges.end(),
              [](const AddressRange& a, const AddressRange& b) { return a.first < b.first; });
    std::vector<AddressRange> merged;
    for (const AddressRange& r : c.peer_ranges) {
      if (!merged.empty() && r.first <= merged.back().last)
        merged.back().last = std::max(merged.back().last, r.last);
      else
        merged.push_back(r);
    }
    c.peer_ranges = std::move(merged);
    c.ha = in_.ha;
    c.leasequery_allowed = in_.leasequery_allowed;
    std::sort(c.leasequery_allowed.begin(), c.leasequery_allowed.end());
    c.leasequery_allowed.erase(std::unique(c.leasequery_allowed.begin(), c.leasequery_allowed.end()),
                               c.leasequery_allowed.end());
    if (Failure f = compile_ddns(c); !f.message.empty()) return f;
    return build_relay_index(c);
  }

  // [ddns] (engine/ddns.hpp): the policy in fixed storage, each subnet's
  // suffix (its own, else the global one) lower-cased into ddns_suffixes.
  // Without [ddns] nothing is checked or compiled.
  Failure compile_ddns(CompiledConfig& c) const {
    const DdnsPolicy& p = in_.ddns;
    if (!p.enabled) return {};
    if (!valid_label(p.generated_prefix) || p.generated_prefix.size() > kMaxGeneratedPrefix)
      return fail("ddns generated_prefix '" + p.generated_prefix + "' is not a host name label of at most " +
                  std::to_string(kMaxGeneratedPrefix) + " characters");
    auto suffix_error = [](const std::string& s) -> std::string {
      if (s.empty() || valid_domain(s)) return {};
      return "ddns qualifying_suffix '" + s + "' is not a domain name";
    };
    if (std::string e = suffix_error(p.qualifying_suffix); !e.empty()) return fail(std::move(e));
    c.ddns.enabled = true;
    c.ddns.override_client_update = p.override_client_update;
    c.ddns.override_no_update = p.override_no_update;
    c.ddns.replace_client_name = p.replace_client_name;
    c.ddns.prefix_len = static_cast<std::uint8_t>(p.generated_prefix.size());
    for (std::size_t i = 0; i < p.generated_prefix.size(); ++i)
      c.ddns.prefix[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(p.generated_prefix[i])));
    for (std::size_t i = 0; i < c.subnets.size(); ++i) {
      const SubnetConfig& s = in_.subnets[order_[i]];
      if (std::string e = suffix_error(s.qualifying_suffix); !e.empty())
        return fail(order_[i], subnet_text(s) + ": " + e);
      std::string_view suffix = s.qualifying_suffix.empty() ? p.qualifying_suffix : s.qualifying_suffix;
      if (!suffix.empty() && suffix.back() == '.') suffix.remove_suffix(1);
      CompiledSubnet& cs = c.subnets[i];
      cs.ddns_suffix_offset = static_cast<std::uint32_t>(c.ddns_suffixes.size());
      cs.ddns_suffix_len = static_cast<std::uint8_t>(suffix.size());
      for (const char ch : suffix)
        c.ddns_suffixes.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
      // Then the same as wire labels (CompiledConfig::ddns_suffix_wire()).
      std::array<std::uint8_t, kMaxFqdnLen + 1> wire;
      const std::size_t n = suffix_wire(c.ddns_suffix(cs), wire);
      for (std::size_t k = 0; k < n; ++k) c.ddns_suffixes.push_back(static_cast<char>(wire[k]));
    }
    return {};
  }

  std::string check_option(const OptionData& o) const {
    if (engine_owned_option(o.code))
      return "option " + std::to_string(o.code) + " is written by the engine itself";
    if (o.value.size() > kMaxOptionValue)
      return "option " + std::to_string(o.code) + " longer than " +
             std::to_string(kMaxOptionValue) + " bytes";
    return {};
  }

  std::string check_subnet(const SubnetConfig& s) const {
    if (s.prefix_len < 8 || s.prefix_len > 32) return subnet_text(s) + ": prefix_len not in 8..32";
    const Ipv4 mask = ~0u << (32 - s.prefix_len);
    if ((s.prefix & ~mask) != 0) return subnet_text(s) + ": host bits set in prefix";
    if (s.min_lease_time == 0) return subnet_text(s) + ": min_lease_time is 0";
    if (!(s.min_lease_time <= s.lease_time && s.lease_time <= s.max_lease_time))
      return subnet_text(s) + ": needs min_lease_time <= lease_time <= max_lease_time";
    if (!(s.t1_ratio > 0.0 && s.t1_ratio < s.t2_ratio && s.t2_ratio < 1.0))
      return subnet_text(s) + ": needs 0 < t1_ratio < t2_ratio < 1";
    for (const OptionData& o : s.options)
      if (std::string e = check_option(o); !e.empty()) return subnet_text(s) + ": " + e;
    auto inside = [&](Ipv4 ip) { return (ip & mask) == s.prefix; };
    for (const AddressRange& p : s.pools)
      if (p.first > p.last || !inside(p.first) || !inside(p.last))
        return subnet_text(s) + ": pool " + wire::format_ipv4(p.first) + "-" + wire::format_ipv4(p.last) +
               " is empty or outside the subnet";
    for (const PoolConfig& t : s.pool_tables)
      for (const AddressRange& p : t.ranges)
        if (p.first > p.last || !inside(p.first) || !inside(p.last))
          return subnet_text(s) + ": pool table range " + wire::format_ipv4(p.first) + "-" +
                 wire::format_ipv4(p.last) + " is empty or outside the subnet";
    for (const AddressRange& x : s.exclusions)
      if (x.first > x.last)
        return subnet_text(s) + ": exclusion " + wire::format_ipv4(x.first) + "-" + wire::format_ipv4(x.last) +
               " is empty";
    for (const Reservation& r : s.reservations) {
      if (r.address != 0 && !inside(r.address))
        return subnet_text(s) + ": reservation " + wire::format_ipv4(r.address) + " outside the subnet";
      if (std::string e = check_reservation(r); !e.empty()) return subnet_text(s) + ": " + e;
    }
    return {};
  }

  // Keys and values of one reservation (subnet or global).
  std::string check_reservation(const Reservation& r) const {
    // Appended, not `" " + string`: g++ 12 -O3 warns -Wrestrict (a false
    // positive) on that operator+ and Release builds with -Werror fail.
    std::string who = "reservation";
    if (r.address != 0) who.append(" ").append(wire::format_ipv4(r.address));
    const bool client = r.mac || !r.client_id.empty();
    const bool relay = !r.circuit_id.empty() || !r.remote_id.empty();
    if (!client && !relay) return who + " has no mac, client_id, circuit_id or remote_id";
    if (client && relay) return who + " is matched by two kinds of key (mac/client_id and circuit_id/remote_id)";
    if (r.client_id.size() > kMaxKeyLen - 1) return who + " client_id longer than 159 bytes";
    if (r.circuit_id.size() > kMaxRelayIdLen || r.remote_id.size() > kMaxRelayIdLen)
      return who + " circuit_id or remote_id longer than 255 bytes";
    if (r.hostname.size() > kMaxHostnameLen) return who + " hostname longer than 63 bytes";
    for (const OptionData& o : r.options)
      if (std::string e = check_option(o); !e.empty()) return who + ": " + e;
    for (std::size_t i = 0; i < r.options.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (r.options[i].code == r.options[j].code)
          return who + ": option " + std::to_string(r.options[i].code) + " given twice";
    return {};
  }

  // `input`: index in EngineConfig::subnets; `index`: in CompiledConfig::subnets.
  std::string compile_subnet(CompiledConfig& c, const SubnetConfig& s, std::uint32_t input,
                             std::uint16_t index, CompiledSubnet& cs) {
    cs.id = s.id;
    cs.prefix_len = s.prefix_len;
    cs.bootp = s.bootp;
    cs.match_client_id = s.match_client_id;
    cs.rapid_commit = s.rapid_commit.value_or(in_.rapid_commit);
    if (!s.match_client_id) ++c.mac_keyed_subnets;
    cs.mask = ~0u << (32 - s.prefix_len);
    cs.network = s.prefix;
    cs.broadcast = s.prefix | ~cs.mask;
    cs.server_id = s.server_id != 0 ? s.server_id : s.interface_address != 0 ? s.interface_address : in_.server_address;
    if (s.interface_address != 0) {
      if (!cs.contains(s.interface_address) || s.interface_address == cs.network || s.interface_address == cs.broadcast)
        return subnet_text(s) + ": interface_address must be a host address inside the subnet";
      if (s.server_id != 0 && s.server_id != s.interface_address)
        return subnet_text(s) + ": server_id differs from interface_address";
      auto in_range = [&](const AddressRange& r) { return s.interface_address >= r.first && s.interface_address <= r.last; };
      bool pooled = std::any_of(s.pools.begin(), s.pools.end(), in_range);
      for (const PoolConfig& t : s.pool_tables) pooled = pooled || std::any_of(t.ranges.begin(), t.ranges.end(), in_range);
      if (pooled) return subnet_text(s) + ": interface_address is in a pool";
      c.interface_addresses.push_back(s.interface_address);
    }
    cs.lease_time = s.lease_time;
    cs.min_lease_time = s.min_lease_time;
    cs.max_lease_time = s.max_lease_time;
    cs.t1_q16 = static_cast<std::uint32_t>(std::lround(s.t1_ratio * 65536.0));
    cs.t2_q16 = static_cast<std::uint32_t>(std::lround(s.t2_ratio * 65536.0));

    if (std::string e = compile_options(c, s, cs, input); !e.empty()) return e;

    // Address space: which addresses of each 64-chunk may be allocated.
    cs.chunk_base = cs.network & ~63u;
    cs.index_len = ((cs.broadcast & ~63u) - cs.chunk_base) / 64 + 1;
    cs.index_offset = static_cast<std::uint32_t>(c.block_index.size());
    std::vector<std::uint64_t> masks(cs.index_len, 0);
    std::vector<bool> needed(cs.index_len, false);
    for (const AddressRange& p : s.pools) mark_range(masks, cs.chunk_base, p.first, p.last, true);
    for (const PoolConfig& t : s.pool_tables)
      for (const AddressRange& p : t.ranges) mark_range(masks, cs.chunk_base, p.first, p.last, true);
    for (const AddressRange& x : s.exclusions) {
      const Ipv4 a = std::max(x.first, cs.network), b = std::min(x.last, cs.broadcast);
      if (a <= b) mark_range(masks, cs.chunk_base, a, b, false);
    }
    auto never = [&](Ipv4 ip) {
      if (cs.contains(ip)) mark_range(masks, cs.chunk_base, ip, ip, false);
    };
    if (s.prefix_len <= 30) {
      never(cs.network);
      never(cs.broadcast);
    }
    never(cs.server_id);
    never(in_.server_address);
    for (Ipv4 r : s.routers) never(r);
    auto reserve = [&](const Reservation& r) -> std::string {
      if (r.address != 0) {
        if (s.prefix_len <= 30 && (r.address == cs.network || r.address == cs.broadcast))
          return subnet_text(s) + ": reservation on the network or broadcast address";
        never(r.address);
        needed[(r.address - cs.chunk_base) >> 6] = true;
      }
      add_reservation(c, r, input, index);
      return {};
    };
    for (const Reservation& r : s.reservations)
      if (std::string e = reserve(r); !e.empty()) return e;
    // Global reservations with an address belong to the subnet holding it.
    for (const Reservation& r : in_.global_reservations)
      if (r.address != 0 && cs.contains(r.address))
        if (std::string e = reserve(r); !e.empty()) return e;
    cs.first_block = static_cast<std::uint32_t>(c.blocks.size());
    for (std::uint32_t i = 0; i < cs.index_len; ++i) {
      if (masks[i] == 0 && !needed[i]) {
        c.block_index.push_back(kNil);
        continue;
      }
      c.block_index.push_back(static_cast<std::uint32_t>(c.blocks.size()));
      c.blocks.push_back(BlockInfo{cs.chunk_base + i * 64, index, masks[i]});
    }
    cs.block_count = static_cast<std::uint32_t>(c.blocks.size()) - cs.first_block;
    return {};
  }

  // [[shared_network]]: names unique, subnets known, each in one network.
  Failure check_networks() {
    net_of_input_.assign(in_.subnets.size(), kNil);
    if (in_.shared_networks.size() >= kNoNetwork) return fail("too many shared networks");
    for (std::uint32_t n = 0; n < in_.shared_networks.size(); ++n) {
      const SharedNetworkConfig& net = in_.shared_networks[n];
      const std::string who = "shared network \"" + net.name + "\"";
      if (net.name.empty()) return fail("a shared network has no name");
      for (std::uint32_t k = 0; k < n; ++k)
        if (in_.shared_networks[k].name == net.name) return fail(who + " defined twice");
      for (const OptionData& o : net.options)
        if (std::string e = check_option(o); !e.empty()) return fail(who + ": " + e);
      for (const std::uint32_t s : net.subnets) {
        if (s >= in_.subnets.size()) return fail(who + " names an unknown subnet");
        if (net_of_input_[s] != kNil)
          return fail(s, subnet_text(in_.subnets[s]) + " is in two shared networks (\"" +
                             in_.shared_networks[net_of_input_[s]].name + "\" and \"" + net.name + "\")");
        net_of_input_[s] = n;
      }
    }
    return {};
  }

  Failure compile_vlans(CompiledConfig& c) const {
    for (std::uint32_t k = 0; k < order_.size(); ++k) {
      const SubnetConfig& s = in_.subnets[order_[k]];
      for (const std::uint16_t v : s.vlans) {
        if (v == 0 || v > 4094) return fail(order_[k], subnet_text(s) + ": a vlan not in 1..4094");
        c.vlan_subnets.emplace_back(vlan_key(1, v, 0), k);
      }
      for (const auto& [o, i] : s.qinq) {
        if (o == 0 || o > 4094 || i == 0 || i > 4094)
          return fail(order_[k], subnet_text(s) + ": vlans pair not in 1..4094");
        c.vlan_subnets.emplace_back(vlan_key(2, o, i), k);
      }
    }
    std::sort(c.vlan_subnets.begin(), c.vlan_subnets.end());
    for (std::size_t k = 1; k < c.vlan_subnets.size(); ++k)
      if (c.vlan_subnets[k].first == c.vlan_subnets[k - 1].first)
        return fail(order_[c.vlan_subnets[k].second], subnet_text(in_.subnets[order_[c.vlan_subnets[k].second]]) +
                                                          ": a VLAN tag set named by two subnets");
    return {};
  }

  void compile_networks(CompiledConfig& c) const {
    if (in_.shared_networks.empty()) return;
    std::vector<std::uint32_t> compiled_of(order_.size());
    for (std::uint32_t k = 0; k < order_.size(); ++k) compiled_of[order_[k]] = k;
    c.network_of.assign(c.subnets.size(), kNoNetwork);
    for (std::uint32_t n = 0; n < in_.shared_networks.size(); ++n) {
      const SharedNetworkConfig& net = in_.shared_networks[n];
      CompiledNetwork cn;
      cn.begin = static_cast<std::uint32_t>(c.network_members.size());
      for (const std::uint32_t s : net.subnets) {
        c.network_members.push_back(compiled_of[s]);
        c.network_of[compiled_of[s]] = static_cast<std::uint16_t>(n);
      }
      cn.count = static_cast<std::uint32_t>(net.subnets.size());
      c.networks.push_back(cn);
      c.network_names.push_back(net.name);
    }
  }

  std::string compile_options(CompiledConfig& c, const SubnetConfig& s, CompiledSubnet& cs, std::uint32_t input) {
    std::vector<PendingOption> list;
    if (!s.routers.empty())
      list.push_back({wire::opt::routers, nullptr, encode_ipv4_list(s.routers), false, false});
    if (!s.dns_servers.empty())
      list.push_back({wire::opt::dns_servers, nullptr, encode_ipv4_list(s.dns_servers), false, false});
    if (!s.domain_name.empty())
      list.push_back({wire::opt::domain_name, nullptr, encode_string(s.domain_name), false, false});
    list.push_back({wire::opt::broadcast_address, nullptr,
                    encode_u32(s.prefix | ~(~0u << (32 - s.prefix_len))), false, true});
    auto find = [&](std::uint8_t code) {
      return std::find_if(list.begin(), list.end(),
                          [code](const PendingOption& p) { return p.code == code; });
    };
    for (const OptionData& o : s.options) {
      auto it = find(o.code);
      if (it != list.end() && !it->derived)
        return subnet_text(s) + ": option " + std::to_string(o.code) + " given twice";
      if (it != list.end()) list.erase(it);
      list.push_back({o.code, &o.value, {}, o.always_send, false});
    }
    if (net_of_input_[input] != kNil)   // the shared network's, under the subnet's own
      for (const OptionData& o : in_.shared_networks[net_of_input_[input]].options) {
        auto it = find(o.code);
        if (it != list.end() && !it->derived) continue;
        if (it != list.end()) list.erase(it);
        list.push_back({o.code, &o.value, {}, o.always_send, false});
      }
    for (const OptionData& o : in_.options) {
      auto it = find(o.code);
      if (it != list.end() && !it->derived) continue;   // the subnet's own wins
      if (it != list.end()) list.erase(it);
      list.push_back({o.code, &o.value, {}, o.always_send, false});
    }
    std::sort(list.begin(), list.end(),
              [](const PendingOption& a, const PendingOption& b) { return a.code < b.code; });
    cs.options_begin = static_cast<std::uint32_t>(c.options.size());
    for (const PendingOption& p : list) {
      const std::vector<std::uint8_t>& v = p.value ? *p.value : p.owned;
      CompiledOption co;
      co.code = p.code;
      co.always_send = p.always_send;
      co.length = static_cast<std::uint16_t>(v.size());
      co.offset = static_cast<std::uint32_t>(c.option_bytes.size());
      c.option_bytes.insert(c.option_bytes.end(), v.begin(), v.end());
      c.options.push_back(co);
      cs.option_codes.set(p.code);
      if (p.always_send) ++cs.always_send_count;
    }
    cs.options_count = static_cast<std::uint32_t>(list.size());
    return {};
  }

  void add_reservation(CompiledConfig& c, const Reservation& r, std::uint32_t input,
                       std::uint16_t subnet) {
    if (r.address != 0) reserved_addresses_.emplace_back(r.address, input);
    CompiledReservation info;
    info.address = r.address;
    info.subnet = subnet;
    info.mac = r.mac.has_value();
    info.relay = !r.circuit_id.empty() || !r.remote_id.empty();
    // Options by code, the hostname as option 12 (always sent) unless the
    // reservation gives 12 itself.
    std::vector<const OptionData*> opts;
    for (const OptionData& o : r.options) opts.push_back(&o);
    OptionData host;
    if (!r.hostname.empty() &&
        std::none_of(r.options.begin(), r.options.end(), [](const OptionData& o) { return o.code == 12; })) {
      host.code = 12;
      host.value = encode_string(r.hostname);
      host.always_send = true;
      opts.push_back(&host);
    }
    std::sort(opts.begin(), opts.end(), [](const OptionData* a, const OptionData* b) { return a->code < b->code; });
    info.options_begin = static_cast<std::uint32_t>(c.options.size());
    for (const OptionData* o : opts) {
      CompiledOption co;
      co.code = o->code;
      co.always_send = o->always_send;
      co.length = static_cast<std::uint16_t>(o->value.size());
      co.offset = static_cast<std::uint32_t>(c.option_bytes.size());
      c.option_bytes.insert(c.option_bytes.end(), o->value.begin(), o->value.end());
      c.options.push_back(co);
    }
    info.options_count = static_cast<std::uint32_t>(opts.size());
    info.hostname_offset = static_cast<std::uint32_t>(c.reservation_text.size());
    info.hostname_len = static_cast<std::uint8_t>(r.hostname.size());
    c.reservation_text.insert(c.reservation_text.end(), r.hostname.begin(), r.hostname.end());
    info.classes_begin = static_cast<std::uint32_t>(c.reservation_classes.size());
    info.classes_count = static_cast<std::uint32_t>(r.classes.size());
    c.reservation_classes.insert(c.reservation_classes.end(), r.classes.begin(), r.classes.end());
    const auto info_index = static_cast<std::uint32_t>(c.reservation_infos.size());
    c.reservation_infos.push_back(info);

    auto add_bytes = [&](wire::Bytes key) {
      ReservationEntry e;
      e.hash = hash_key_bytes(key);
      e.key_offset = static_cast<std::uint32_t>(c.reservation_keys.size());
      e.key_len = static_cast<std::uint16_t>(key.size());
      e.subnet = subnet;
      e.address = r.address;
      e.info = info_index;
      entry_input_.push_back(input);
      c.reservation_keys.insert(c.reservation_keys.end(), key.begin(), key.end());
      c.reservations.push_back(e);
    };
    if (r.mac) {
      const ClientKey k = client_key_hw(1, wire::Bytes{r.mac->b.data(), r.mac->b.size()});
      add_bytes(k.view());
      ++c.hw_reservations;
    }
    if (!r.client_id.empty()) add_bytes(client_key_id(wire::Bytes{r.client_id}).view());
    if (!r.circuit_id.empty() || !r.remote_id.empty()) {
      std::vector<std::uint8_t> key;
      relay_reservation_key(r.circuit_id, r.remote_id, key);
      add_bytes(key);
      ++c.relay_reservations;
    }
  }

  Failure build_reservation_index(CompiledConfig& c) {
    std::uint32_t size = 2;
    while (size < 4 * c.reservations.size()) size *= 2;
    c.reservation_index.assign(size, std::uint64_t{kNil});
    c.reservation_mask = size - 1;
    for (std::uint32_t i = 0; i < c.reservations.size(); ++i) {
      const ReservationEntry& r = c.reservations[i];
      const wire::Bytes key{c.reservation_keys.data() + r.key_offset, r.key_len};
      if (c.find_reservation(key, r.hash) != nullptr)
        return fail(entry_input_[i], "the same MAC, client_id, circuit_id or remote_id is reserved twice");
      std::uint32_t pos = static_cast<std::uint32_t>(r.hash) & c.reservation_mask;
      while (static_cast<std::uint32_t>(c.reservation_index[pos]) != kNil) pos = (pos + 1) & c.reservation_mask;
      c.reservation_index[pos] = ((r.hash >> 32) << 32) | i;
    }
    return {};
  }

  // Relays outside every subnet -> sorted (giaddr, subnet). A relay inside its
  // own subnet needs no entry: containment selects that subnet first.
  Failure build_relay_index(CompiledConfig& c) {
    std::vector<std::uint32_t> compiled_of(order_.size());
    for (std::uint32_t k = 0; k < order_.size(); ++k) compiled_of[order_[k]] = k;
    for (std::size_t i = 0; i < in_.subnets.size(); ++i) {
      const SubnetConfig& s = in_.subnets[i];
      for (Ipv4 r : s.relays) {
        if (r == 0 || r == 0xffffffffu)
          return fail(i, subnet_text(s) + ": relay " + wire::format_ipv4(r) + " is not a unicast address");
        const std::uint32_t holder = c.subnet_index_of(r);
        if (holder == compiled_of[i]) continue;
        if (holder != kNil)
          return fail(i, subnet_text(s) + ": relay " + wire::format_ipv4(r) + " is inside subnet " +
                             std::to_string(c.subnets[holder].id));
        c.relays.push_back(RelayEntry{r, compiled_of[i]});
      }
    }
    std::sort(c.relays.begin(), c.relays.end(), [](const RelayEntry& a, const RelayEntry& b) {
      return a.giaddr != b.giaddr ? a.giaddr < b.giaddr : a.subnet < b.subnet;
    });
    for (std::size_t k = 1; k < c.relays.size(); ++k)
      if (c.relays[k].giaddr == c.relays[k - 1].giaddr) {
        const std::uint32_t later =
            std::max(order_[c.relays[k].subnet], order_[c.relays[k - 1].subnet]);
        return fail(later, subnet_text(in_.subnets[later]) + ": relay " +
                               wire::format_ipv4(c.relays[k].giaddr) + " is listed twice");
      }
    return {};
  }

  const EngineConfig& in_;
  std::vector<std::uint32_t> order_;   // compiled subnet index -> input index
  std::vector<std::pair<Ipv4, std::uint32_t>> reserved_addresses_;   // (address, input index)
  std::vector<std::uint32_t> net_of_input_;   // per input subnet: its shared network, kNil
  std::vector<std::uint32_t> entry_input_;   // per ReservationEntry: its subnet's input index (kNil: global)
};

}  // namespace

CompileResult compile(const EngineConfig& in) { return Compiler(in).run(); }

}  // namespace dorado::engine
