// Cross-checks: the relations between values that read_toml() cannot see one
// value at a time. Each error names its own place and, where two places
// conflict, the other one as "(FILE:LINE)". The error is reported at the
// place that comes later in the file, naming the earlier one.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "config/detail.hpp"
#include "engine/reservations.hpp"
#include "config/values.hpp"

namespace dorado::config::detail {
namespace {

bool before(const Where& a, const Where& b) {
  return std::tie(a.line, a.column) < std::tie(b.line, b.column);
}

struct Span {
  Ipv4 first = 0;
  Ipv4 last = 0;
  const Where* where = nullptr;
  std::string text;   // how the value reads in messages
};

class Checker {
 public:
  Checker(const DaemonConfig& c, const ConfigWhere& w, const std::string& file)
      : c_(c), w_(w), file_(file) {}

  std::vector<Diag> run() {
    if (c_.engine.subnets.size() > engine::kMaxSubnets)
      error(w_.subnets[engine::kMaxSubnets].table,
            "more than " + std::to_string(engine::kMaxSubnets) + " subnets");
    subnet_overlaps();
    pool_overlaps();
    for (std::size_t i = 0; i < c_.engine.subnets.size(); ++i) subnet(i);
    subnet_ids();
    reservations();
    options(c_.engine.options, w_.options, nullptr, nullptr);
    relays();
    server_address();
    return std::move(diags_);
  }

 private:
  void error(const Where& w, std::string message) {
    diags_.push_back(Diag{w.line, w.column, w.key, std::move(message)});
  }
  std::string at(const Where& w) const { return '(' + place(file_, w.line) + ')'; }

  // Every span that overlaps one sorted before it is reported once, at the
  // later of the two in the file: O(n log n), not all pairs.
  void overlaps(std::vector<Span> spans, const char* verb) {
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
      return std::tie(a.first, a.last) < std::tie(b.first, b.last);
    });
    const Span* cover = nullptr;   // the span reaching furthest so far
    for (const Span& s : spans) {
      if (cover && s.first <= cover->last) {
        const Span& later = before(*cover->where, *s.where) ? s : *cover;
        const Span& earlier = &later == &s ? *cover : s;
        error(*later.where, later.text + " " + verb + " " + earlier.where->key + " " +
                                earlier.text + " " + at(*earlier.where));
      }
      if (!cover || s.last > cover->last) cover = &s;
    }
  }

  std::string prefix_of(std::size_t i) const {
    const engine::SubnetConfig& s = c_.engine.subnets[i];
    return prefix_text(s.prefix, s.prefix_len);
  }

  void subnet_overlaps() {
    std::vector<Span> spans;
    for (std::size_t i = 0; i < c_.engine.subnets.size(); ++i) {
      if (!w_.subnets[i].prefix_ok) continue;
      const engine::SubnetConfig& s = c_.engine.subnets[i];
      spans.push_back({s.prefix, Prefix{s.prefix, s.prefix_len}.last(), &w_.subnets[i].prefix,
                       prefix_of(i)});
    }
    overlaps(std::move(spans), "overlaps");
  }

  void pool_overlaps() {
    std::vector<Span> spans;
    for (std::size_t i = 0; i < c_.engine.subnets.size(); ++i) {
      const engine::SubnetConfig& s = c_.engine.subnets[i];
      for (std::size_t k = 0; k < s.pools.size(); ++k)
        spans.push_back({s.pools[k].first, s.pools[k].last, &w_.subnets[i].pools[k],
                         range_text(s.pools[k])});
    }
    overlaps(std::move(spans), "overlaps");
  }

  void subnet(std::size_t i) {
    const engine::SubnetConfig& s = c_.engine.subnets[i];
    const SubnetWhere& w = w_.subnets[i];
    lease_times(s, w);
    options(s.options, w.options, &s, &w);
    if (!w.prefix_ok) return;
    const Prefix net{s.prefix, s.prefix_len};
    const std::string outside = "is outside " + w.prefix.key + " " + prefix_of(i) + " " + at(w.prefix);
    auto inside = [&](Ipv4 ip) { return ip >= net.network && ip <= net.last(); };
    for (std::size_t k = 0; k < s.pools.size(); ++k)
      if (!inside(s.pools[k].first) || !inside(s.pools[k].last))
        error(w.pools[k], range_text(s.pools[k]) + " " + outside);
    for (std::size_t k = 0; k < s.exclusions.size(); ++k)
      if (!inside(s.exclusions[k].first) || !inside(s.exclusions[k].last))
        error(w.exclude[k], range_text(s.exclusions[k]) + " " + outside);
    for (std::size_t k = 0; k < s.routers.size(); ++k)
      if (!inside(s.routers[k]))
        error(w.routers[k], wire::format_ipv4(s.routers[k]) + " " + outside +
                                "; clients can only use a router on their own subnet");
    interface_address(i, net, outside);
    for (std::size_t k = 0; k < s.reservations.size(); ++k) {
      const Ipv4 a = s.reservations[k].address;
      const Where& aw = w.reservations[k].address;
      if (a == 0) {   // no fixed address: hostname, options or classes only
        continue;
      } else if (!inside(a)) {
        error(aw, wire::format_ipv4(a) + " " + outside);
      } else if (s.prefix_len <= 30 && (a == net.network || a == net.last())) {
        error(aw, wire::format_ipv4(a) + " is the " + (a == net.network ? "network" : "broadcast") +
                      " address of " + w.prefix.key + " " + prefix_of(i) + " " + at(w.prefix));
      } else if (w_.server_ok && a == c_.server.address) {
        error(aw, wire::format_ipv4(a) + " is server.address " + at(w_.server_address));
      } else if (s.server_id != 0 && a == s.server_id) {
        error(aw, wire::format_ipv4(a) + " is this subnet's server_id");
      } else if (s.interface_address != 0 && a == s.interface_address) {
        error(aw, wire::format_ipv4(a) + " is this subnet's interface_address " + at(w.interface_address));
      } else {
        for (std::size_t r = 0; r < s.routers.size(); ++r)
          if (a == s.routers[r]) {
            error(aw, wire::format_ipv4(a) + " is a router, " + w.routers[r].key + " " + at(w.routers[r]));
            break;
          }
      }
    }
  }

  // [[subnet]] interface_address: a host address of the prefix, in no pool
  // (plain or [[subnet.pool]]), not a router or server.address, the same as
  // server_id when both are given. Unique across subnets follows from the
  // prefixes not overlapping (checked above).
  void interface_address(std::size_t i, const Prefix& net, const std::string& outside) {
    const engine::SubnetConfig& s = c_.engine.subnets[i];
    const SubnetWhere& w = w_.subnets[i];
    const Ipv4 a = s.interface_address;
    if (a == 0) return;
    const Where& aw = w.interface_address;
    const std::string text = wire::format_ipv4(a);
    if (a < net.network || a > net.last()) return error(aw, text + " " + outside);
    if (s.prefix_len <= 30 && (a == net.network || a == net.last()))
      return error(aw, text + " is the " + (a == net.network ? "network" : "broadcast") + " address of " +
                           w.prefix.key + " " + prefix_of(i) + " " + at(w.prefix));
    for (std::size_t k = 0; k < s.pools.size(); ++k)
      if (a >= s.pools[k].first && a <= s.pools[k].last)
        return error(aw, text + " is in " + w.pools[k].key + " " + range_text(s.pools[k]) + " " + at(w.pools[k]) +
                             "; the server's own address must not be handed out");
    for (const engine::PoolConfig& t : s.pool_tables)
      for (const engine::AddressRange& r : t.ranges)
        if (a >= r.first && a <= r.last)
          return error(aw, text + " is in a [[subnet.pool]] range " + range_text(r) +
                               "; the server's own address must not be handed out");
    for (std::size_t k = 0; k < s.routers.size(); ++k)
      if (a == s.routers[k]) return error(aw, text + " is a router, " + w.routers[k].key + " " + at(w.routers[k]));
    if (w_.server_ok && a == c_.server.address)
      return error(aw, text + " is server.address " + at(w_.server_address) + "; leave interface_address out");
    if (s.server_id != 0 && s.server_id != a)
      return error(aw, text + " differs from server_id " + wire::format_ipv4(s.server_id) + " " + at(w.server_id) +
                           "; the interface address is the segment's server id (leave server_id out)");
  }

  void lease_times(const engine::SubnetConfig& s, const SubnetWhere& w) {
    auto shown = [](std::uint32_t v, bool given) {
      return std::to_string(v) + (given ? "" : " (default)");
    };
    if (s.min_lease_time > s.max_lease_time) {
      const Where& later = w.min_given && (!w.max_given || before(w.max_lease_time, w.min_lease_time))
                               ? w.min_lease_time
                               : w.max_lease_time;
      if (&later == &w.min_lease_time)
        error(later, std::to_string(s.min_lease_time) + " is above max_lease_time " +
                         shown(s.max_lease_time, w.max_given) +
                         (w.max_given ? " " + at(w.max_lease_time) : ""));
      else
        error(later, std::to_string(s.max_lease_time) + " is below min_lease_time " +
                         shown(s.min_lease_time, w.min_given) +
                         (w.min_given ? " " + at(w.min_lease_time) : ""));
    } else if (s.lease_time < s.min_lease_time) {
      error(w.lease_time, shown(s.lease_time, w.lease_time_given) + " is below min_lease_time " +
                              shown(s.min_lease_time, w.min_given) +
                              (w.min_given ? " " + at(w.min_lease_time) : ""));
    } else if (s.lease_time > s.max_lease_time) {
      error(w.lease_time, shown(s.lease_time, w.lease_time_given) + " is above max_lease_time " +
                              shown(s.max_lease_time, w.max_given) +
                              (w.max_given ? " " + at(w.max_lease_time) : ""));
    }
    const bool t1_ok = s.t1_ratio > 0.0 && s.t1_ratio < 1.0;
    const bool t2_ok = s.t2_ratio > 0.0 && s.t2_ratio < 1.0;
    if (!t1_ok) error(w.t1_ratio, "must be between 0 and 1 (exclusive), got " + ratio(s.t1_ratio));
    if (!t2_ok) error(w.t2_ratio, "must be between 0 and 1 (exclusive), got " + ratio(s.t2_ratio));
    if (t1_ok && t2_ok && s.t1_ratio >= s.t2_ratio) {
      if (w.t2_given && (!w.t1_given || before(w.t1_ratio, w.t2_ratio)))
        error(w.t2_ratio, ratio(s.t2_ratio) + " must be above t1_ratio " +
                              shown_ratio(s.t1_ratio, w.t1_given, w.t1_ratio));
      else
        error(w.t1_ratio, ratio(s.t1_ratio) + " must be below t2_ratio " +
                              shown_ratio(s.t2_ratio, w.t2_given, w.t2_ratio));
    }
  }

  std::string shown_ratio(double v, bool given, const Where& w) const {
    return ratio(v) + (given ? ' ' + at(w) : std::string(" (default)"));
  }

  static std::string ratio(double v) {
    std::ostringstream s;
    s << v;   // shortest form: 0.5, 0.875, 1
    return s.str();
  }

  // Duplicate codes in one list; in a subnet, also codes its own keys fill in.
  void options(const std::vector<engine::OptionData>& list, const std::vector<OptionWhere>& where,
               const engine::SubnetConfig* s, const SubnetWhere* sw) {
    std::map<std::uint8_t, std::size_t> seen;
    for (std::size_t k = 0; k < list.size(); ++k) {
      const std::uint8_t code = list[k].code;
      const auto [it, fresh] = seen.emplace(code, k);
      if (!fresh) {
        error(where[k].code, "option " + std::to_string(code) + " given twice; first at " +
                                 where[it->second].code.key + " " + at(where[it->second].code));
        continue;
      }
      if (!s) continue;
      const Where* clash = nullptr;
      if (code == 3 && !s->routers.empty()) clash = &sw->routers_key;
      if (code == 6 && !s->dns_servers.empty()) clash = &sw->dns_key;
      if (code == 15 && !s->domain_name.empty()) clash = &sw->domain;
      if (clash)
        error(where[k].code, "option " + std::to_string(code) + " is already set by " +
                                 clash->key + " " + at(*clash) + "; give it once");
    }
  }

  void subnet_ids() {
    std::map<std::uint32_t, std::size_t> seen;
    for (std::size_t i = 0; i < c_.engine.subnets.size(); ++i) {
      const auto [it, fresh] = seen.emplace(c_.engine.subnets[i].id, i);
      if (fresh) continue;
      const SubnetWhere& w = w_.subnets[i];
      const SubnetWhere& first = w_.subnets[it->second];
      error(w.id, "id " + std::to_string(c_.engine.subnets[i].id) + " is also the id of " +
                      first.table.key + " " + at(first.id) +
                      "; a subnet without `id` gets its 1-based position");
    }
  }

  // Clients and addresses are unique across all subnets (one reservation
  // table for the whole server).
  void reservations() {
    std::map<wire::MacAddr, const Where*, bool (*)(const wire::MacAddr&, const wire::MacAddr&)>
        macs([](const wire::MacAddr& a, const wire::MacAddr& b) { return a.b < b.b; });
    // Byte strings as std::string (no g++ 12 -Wstringop-overread): client_id,
    // and the option 82 key (kind byte, then the bytes: see
    // engine::relay_reservation_key).
    std::map<std::string, const Where*> ids, relays;
    std::map<Ipv4, const Where*> addresses;
    auto one = [&](const engine::Reservation& r, const ReservationWhere& w) {
      if (r.mac) {
        const auto [it, fresh] = macs.emplace(*r.mac, &w.mac);
        if (!fresh)
          error(w.mac, "MAC " + wire::format_mac(*r.mac) + " is already reserved by " +
                           it->second->key + " " + at(*it->second));
      }
      if (!r.client_id.empty()) {
        const auto [it, fresh] =
            ids.emplace(std::string(r.client_id.begin(), r.client_id.end()), &w.client_id);
        if (!fresh)
          error(w.client_id, "client_id " + hex_text(r.client_id) + " is already reserved by " +
                                 it->second->key + " " + at(*it->second));
      }
      if (!r.circuit_id.empty() || !r.remote_id.empty()) {
        std::vector<std::uint8_t> key;
        engine::relay_reservation_key(r.circuit_id, r.remote_id, key);
        const Where& kw = !r.circuit_id.empty() ? w.circuit_id : w.remote_id;
        const auto [it, fresh] = relays.emplace(std::string(key.begin(), key.end()), &kw);
        if (!fresh)
          error(kw, std::string(!r.circuit_id.empty() && !r.remote_id.empty() ? "circuit_id and remote_id"
                                : !r.circuit_id.empty()                       ? "circuit_id"
                                                                              : "remote_id") +
                        " already reserved by " + it->second->key + " " + at(*it->second));
      }
      if (r.address == 0) return;
      const auto [it, fresh] = addresses.emplace(r.address, &w.address);
      if (!fresh)
        error(w.address, wire::format_ipv4(r.address) + " is already reserved for another client by " +
                             it->second->key + " " + at(*it->second));
    };
    for (std::size_t i = 0; i < c_.engine.subnets.size(); ++i) {
      const engine::SubnetConfig& s = c_.engine.subnets[i];
      for (std::size_t k = 0; k < s.reservations.size(); ++k) one(s.reservations[k], w_.subnets[i].reservations[k]);
    }
    for (std::size_t k = 0; k < c_.engine.global_reservations.size(); ++k) {
      const engine::Reservation& r = c_.engine.global_reservations[k];
      const ReservationWhere& w = w_.reservations[k];
      one(r, w);
      if (r.address == 0) continue;
      bool in_subnet = false;
      for (std::size_t i = 0; i < c_.engine.subnets.size(); ++i) {
        const engine::SubnetConfig& s = c_.engine.subnets[i];
        if (!w_.subnets[i].prefix_ok) {
          in_subnet = true;   // cannot tell: the prefix has its own error
          continue;
        }
        const Prefix net{s.prefix, s.prefix_len};
        if (r.address < net.network || r.address > net.last()) continue;
        in_subnet = true;
        if (s.prefix_len <= 30 && (r.address == net.network || r.address == net.last()))
          error(w.address, wire::format_ipv4(r.address) + " is the network or broadcast address of " +
                               w_.subnets[i].prefix.key + " " + at(w_.subnets[i].prefix));
        else if (w_.server_ok && r.address == c_.server.address)
          error(w.address, wire::format_ipv4(r.address) + " is server.address " + at(w_.server_address));
      }
      if (!in_subnet)
        error(w.address, wire::format_ipv4(r.address) + " is in no [[subnet]]: a global reservation's address "
                                                         "must lie in one of them");
    }
  }

  // The engine picks a relayed request's subnet by giaddr: the subnet holding
  // it, else the subnet whose `relay` lists it. A relay address that lies in
  // another subnet would never select its own, and one listed twice would be
  // ambiguous.
  void relays() {
    // Valid prefixes sorted by network, to find the subnet holding an address.
    std::vector<std::size_t> sorted;
    for (std::size_t j = 0; j < c_.engine.subnets.size(); ++j)
      if (w_.subnets[j].prefix_ok) sorted.push_back(j);
    std::sort(sorted.begin(), sorted.end(), [&](std::size_t a, std::size_t b) {
      return c_.engine.subnets[a].prefix < c_.engine.subnets[b].prefix;
    });
    auto holder = [&](Ipv4 ip) -> std::optional<std::size_t> {
      auto it = std::upper_bound(sorted.begin(), sorted.end(), ip, [&](Ipv4 v, std::size_t j) {
        return v < c_.engine.subnets[j].prefix;
      });
      if (it == sorted.begin()) return std::nullopt;
      const engine::SubnetConfig& o = c_.engine.subnets[*--it];
      if (ip > Prefix{o.prefix, o.prefix_len}.last()) return std::nullopt;
      return *it;
    };
    std::map<Ipv4, const Where*> seen;
    for (std::size_t i = 0; i < c_.engine.subnets.size(); ++i) {
      const std::vector<Ipv4>& relays = c_.engine.subnets[i].relays;
      for (std::size_t k = 0; k < relays.size(); ++k) {
        const Ipv4 ip = relays[k];
        const Where& w = w_.subnets[i].relays[k];
        const auto [it, fresh] = seen.emplace(ip, &w);
        if (!fresh) {
          error(w, wire::format_ipv4(ip) + " is also listed in " + it->second->key + " " + at(*it->second));
          continue;
        }
        if (const auto j = holder(ip); j && *j != i)
          error(w, wire::format_ipv4(ip) + " is inside " + w_.subnets[*j].prefix.key + " " + prefix_of(*j) +
                       " " + at(w_.subnets[*j].prefix) + ", so requests from it select that subnet");
      }
    }
  }

  void server_address() {
    if (!w_.server_ok || c_.engine.subnets.empty()) return;
    // A relay list, or a subnet with its own interface_address (a directly
    // attached segment the server has an address on), serves someone.
    bool any_relay = false;
    for (const engine::SubnetConfig& s : c_.engine.subnets)
      any_relay = any_relay || !s.relays.empty() || s.interface_address != 0;
    if (any_relay) return;
    for (std::size_t i = 0; i < c_.engine.subnets.size(); ++i) {
      const engine::SubnetConfig& s = c_.engine.subnets[i];
      if (!w_.subnets[i].prefix_ok) return;   // cannot tell; the prefix error says enough
      if (c_.server.address >= s.prefix && c_.server.address <= Prefix{s.prefix, s.prefix_len}.last())
        return;
    }
    error(w_.server_address,
          wire::format_ipv4(c_.server.address) +
               " is outside every [[subnet]] and no subnet has a `relay` list or an `interface_address`:"
              " directly attached clients could not be served (add the server's own subnet, or list the relays)");
  }

  const DaemonConfig& c_;
  const ConfigWhere& w_;
  const std::string& file_;
  std::vector<Diag> diags_;
};

}  // namespace

std::vector<Diag> cross_check(const DaemonConfig& config, const ConfigWhere& where,
                              const std::string& file) {
  return Checker(config, where, file).run();
}

}  // namespace dorado::config::detail
