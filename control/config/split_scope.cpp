// Split scope: which part of every pool each server of [split_scope] serves.
// Pure arithmetic over address intervals (config.hpp, SplitPool, says what
// the parts are); the loader appends the other servers' parts to the
// subnet's exclusions before engine::compile().
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/values.hpp"

namespace dorado::config {
namespace {

using engine::AddressRange;
using engine::Ipv4;

// [first, last] in 64 bits so that last + 1 never wraps.
struct Interval {
  std::uint64_t first;
  std::uint64_t last;
};

// Addresses of the subnet the engine never hands out dynamically, as sorted,
// merged intervals (engine/config.cpp, compile_subnet: exclusions, network and
// broadcast up to /30, server_id, server address, routers, reservations).
std::vector<Interval> blocked_of(const engine::EngineConfig& e, const engine::SubnetConfig& s) {
  const Ipv4 mask = s.prefix_len == 0 ? 0u : ~0u << (32 - s.prefix_len);
  const Ipv4 network = s.prefix, broadcast = s.prefix | ~mask;
  std::vector<Interval> v;
  for (const AddressRange& x : s.exclusions) v.push_back({x.first, x.last});
  auto one = [&](Ipv4 ip) { v.push_back({ip, ip}); };
  if (s.prefix_len <= 30) {
    one(network);
    one(broadcast);
  }
  if (s.server_id != 0) one(s.server_id);
  one(e.server_address);
  for (Ipv4 r : s.routers) one(r);
  for (const engine::Reservation& r : s.reservations)
    if (r.address != 0) one(r.address);
  for (const engine::Reservation& r : e.global_reservations)   // compiled with the subnet holding them
    if (r.address != 0 && (r.address & mask) == s.prefix) one(r.address);
  std::sort(v.begin(), v.end(), [](const Interval& a, const Interval& b) { return a.first < b.first; });
  std::vector<Interval> merged;
  for (const Interval& x : v) {
    if (!merged.empty() && x.first <= merged.back().last + 1)
      merged.back().last = std::max(merged.back().last, x.last);
    else
      merged.push_back(x);
  }
  return merged;
}

// The usable intervals of pool [a, b]: the pool minus `blocked`.
std::vector<Interval> usable_of(const AddressRange& pool, const std::vector<Interval>& blocked) {
  std::vector<Interval> out;
  std::uint64_t next = pool.first;
  const std::uint64_t last = pool.last;
  auto it = std::lower_bound(blocked.begin(), blocked.end(), next,
                             [](const Interval& x, std::uint64_t v) { return x.last < v; });
  for (; it != blocked.end() && it->first <= last && next <= last; ++it) {
    if (it->first > next) out.push_back({next, it->first - 1});
    next = std::max(next, it->last + 1);
  }
  if (next <= last) out.push_back({next, last});
  return out;
}

// The k-th (0-based) usable address; k < total.
Ipv4 nth(const std::vector<Interval>& usable, std::uint64_t k) {
  for (const Interval& x : usable) {
    const std::uint64_t n = x.last - x.first + 1;
    if (k < n) return static_cast<Ipv4>(x.first + k);
    k -= n;
  }
  return 0;   // not reached for k < total
}

}  // namespace

std::vector<AddressRange> SplitPool::excluded() const {
  std::vector<AddressRange> out;
  for (std::size_t i = 0; i < parts.size(); ++i)
    if (i != this_part && parts[i].count > 0) out.push_back(parts[i].range);
  return out;
}

std::vector<SplitPool> compute_split_scope(const engine::EngineConfig& e,
                                           const SplitScopeSection& split) {
  std::vector<SplitPool> out;
  std::uint64_t total_share = 0;
  std::size_t me = 0;
  for (std::size_t i = 0; i < split.servers.size(); ++i) {
    total_share += split.servers[i].share;
    if (split.servers[i].name == split.this_server) me = i;
  }
  if (total_share == 0) return out;
  for (std::size_t si = 0; si < e.subnets.size(); ++si) {
    const engine::SubnetConfig& s = e.subnets[si];
    const std::vector<Interval> blocked = blocked_of(e, s);
    for (std::size_t pi = 0; pi < s.pools.size(); ++pi) {
      SplitPool sp;
      sp.subnet_id = s.id;
      sp.subnet_index = si;
      sp.pool_index = pi;
      sp.pool = s.pools[pi];
      sp.this_part = me;
      const std::vector<Interval> usable = usable_of(s.pools[pi], blocked);
      for (const Interval& x : usable) sp.usable += x.last - x.first + 1;
      // Proportional counts (floor), then the remainder one by one to the
      // first servers in order.
      std::vector<std::uint64_t> counts(split.servers.size());
      std::uint64_t given = 0;
      for (std::size_t i = 0; i < counts.size(); ++i) {
        counts[i] = sp.usable * split.servers[i].share / total_share;
        given += counts[i];
      }
      for (std::size_t i = 0; given < sp.usable; i = (i + 1) % counts.size(), ++given) ++counts[i];
      std::uint64_t offset = 0;
      for (std::size_t i = 0; i < counts.size(); ++i) {
        SplitPart part;
        part.server = split.servers[i].name;
        part.count = counts[i];
        if (counts[i] > 0)
          part.range = AddressRange{nth(usable, offset), nth(usable, offset + counts[i] - 1)};
        offset += counts[i];
        sp.parts.push_back(std::move(part));
      }
      out.push_back(std::move(sp));
    }
  }
  return out;
}

std::string split_scope_text(const SplitScopeSection& split, const std::vector<SplitPool>& pools) {
  using detail::range_text;
  std::string t = "split scope: this server \"" + split.this_server + "\"; servers";
  for (const SplitServer& s : split.servers)
    t += " " + s.name + " (share " + std::to_string(s.share) + ")";
  t += "\n";
  for (const SplitPool& p : pools) {
    t += "subnet " + std::to_string(p.subnet_id) + " pool " + range_text(p.pool) + ": " +
         std::to_string(p.usable) + " usable addresses\n";
    for (std::size_t i = 0; i < p.parts.size(); ++i) {
      const SplitPart& part = p.parts[i];
      t += "  " + part.server + ": " +
           (part.count > 0 ? range_text(part.range) : std::string("(none)")) + " (" +
           std::to_string(part.count) + ")" + (i == p.this_part ? "  <- this server" : "") + "\n";
    }
    const std::vector<engine::AddressRange> ex = p.excluded();
    t += "  excluded here:";
    if (ex.empty()) t += " (none)";
    for (std::size_t i = 0; i < ex.size(); ++i) t += (i ? ", " : " ") + range_text(ex[i]);
    t += "\n";
  }
  if (pools.empty()) t += "no pools\n";
  return t;
}

}  // namespace dorado::config
