// [split_scope]: the split of each pool among servers (compute_split_scope),
// its validation with FILE:LINE: key errors, and what the compiled config
// hands out: every usable address of a pool exactly once across the servers.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace {

using dorado::config::load_config_string;
using dorado::config::LoadResult;
using dorado::engine::Ipv4;

constexpr Ipv4 ip(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

std::string servers_toml(const std::string& me, const std::vector<std::pair<std::string, int>>& s) {
  std::string t = "[split_scope]\nthis_server = \"" + me + "\"\nservers = [";
  for (std::size_t i = 0; i < s.size(); ++i)
    t += std::string(i ? ", " : " ") + "{ name = \"" + s[i].first + "\", share = " +
         std::to_string(s[i].second) + " }";
  return t + " ]\n";
}

// A config with one /24 subnet, its pools and extra subnet lines.
std::string config(const std::string& split, const std::string& pools,
                   const std::string& extra = "") {
  return "[server]\naddress = \"10.99.0.1\"\n" + split +
         "[[subnet]]\nprefix = \"10.99.0.0/24\"\npools = " + pools + "\n" + extra;
}

std::string errors_of(const LoadResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.to_string() + "\n";
  return s;
}

// The addresses the compiled config lets any shard hand out (allocatable bits).
std::set<Ipv4> allocatable(const LoadResult& r) {
  std::set<Ipv4> out;
  for (const auto& b : r.compiled->blocks)
    for (unsigned i = 0; i < 64; ++i)
      if ((b.allocatable >> i) & 1u) out.insert(b.base + i);
  return out;
}

// Loads the same config as each server; checks that the servers' allocatable
// sets are disjoint, that their union is the allocatable set without split
// scope, and returns each server's set.
std::vector<std::set<Ipv4>> check_coverage(const std::vector<std::pair<std::string, int>>& servers,
                                           const std::string& pools, const std::string& extra = "") {
  const LoadResult plain = load_config_string(config("", pools, extra), "plain.toml");
  EXPECT_TRUE(plain.ok()) << errors_of(plain);
  if (!plain.ok()) return {};
  const std::set<Ipv4> all = allocatable(plain);
  std::vector<std::set<Ipv4>> sets;
  std::set<Ipv4> uni;
  std::size_t sum = 0;
  for (const auto& [name, share] : servers) {
    const LoadResult r = load_config_string(config(servers_toml(name, servers), pools, extra), "s.toml");
    EXPECT_TRUE(r.ok()) << errors_of(r);
    if (!r.ok()) return {};
    sets.push_back(allocatable(r));
    sum += sets.back().size();
    uni.insert(sets.back().begin(), sets.back().end());
  }
  EXPECT_EQ(sum, uni.size()) << "an address is served by two servers";
  EXPECT_EQ(uni, all) << "the servers together do not cover the pool exactly";
  return sets;
}

TEST(SplitScope, EightyTwentyOfHundred) {
  const auto sets = check_coverage({{"a", 80}, {"b", 20}}, "\"10.99.0.100-10.99.0.199\"");
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[0].size(), 80u);
  EXPECT_EQ(sets[1].size(), 20u);
  EXPECT_EQ(*sets[0].begin(), ip(10, 99, 0, 100));
  EXPECT_EQ(*sets[0].rbegin(), ip(10, 99, 0, 179));
  EXPECT_EQ(*sets[1].begin(), ip(10, 99, 0, 180));
  EXPECT_EQ(*sets[1].rbegin(), ip(10, 99, 0, 199));
}

TEST(SplitScope, FiftyFiftyOddCountGivesRemainderToFirst) {
  const auto sets = check_coverage({{"a", 1}, {"b", 1}}, "\"10.99.0.10-10.99.0.20\"");   // 11
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[0].size(), 6u);
  EXPECT_EQ(sets[1].size(), 5u);
}

TEST(SplitScope, ThreeServersAndRemainderInOrder) {
  // 100 addresses, shares 1:1:1 -> 34, 33, 33.
  const auto sets = check_coverage({{"x", 1}, {"y", 1}, {"z", 1}}, "\"10.99.0.100-10.99.0.199\"");
  ASSERT_EQ(sets.size(), 3u);
  EXPECT_EQ(sets[0].size(), 34u);
  EXPECT_EQ(sets[1].size(), 33u);
  EXPECT_EQ(sets[2].size(), 33u);
  EXPECT_LT(*sets[0].rbegin(), *sets[1].begin());
  EXPECT_LT(*sets[1].rbegin(), *sets[2].begin());
}

TEST(SplitScope, ExclusionsReservationsRoutersTakenOutFirst) {
  // Pool .1-.100 (100 addresses) minus router/server .1, exclusion .10-.19,
  // reservation .50: 88 usable; 50/50 -> 44 each.
  const std::string extra =
      "routers = \"10.99.0.1\"\nexclude = \"10.99.0.10-10.99.0.19\"\n"
      "[[subnet.reservation]]\naddress = \"10.99.0.50\"\nmac = \"02:00:00:00:00:01\"\n";
  const auto sets = check_coverage({{"a", 50}, {"b", 50}}, "\"10.99.0.1-10.99.0.100\"", extra);
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[0].size(), 44u);
  EXPECT_EQ(sets[1].size(), 44u);
  for (const auto& s : sets) {
    EXPECT_EQ(s.count(ip(10, 99, 0, 50)), 0u);
    EXPECT_EQ(s.count(ip(10, 99, 0, 15)), 0u);
  }
}

TEST(SplitScope, SeveralPoolsSplitEachInOrder) {
  const auto sets = check_coverage({{"a", 80}, {"b", 20}},
                                   "[\"10.99.0.10-10.99.0.19\", \"10.99.0.200-10.99.0.249\"]");
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[0].size(), 8u + 40u);
  EXPECT_EQ(sets[1].size(), 2u + 10u);
}

TEST(SplitScope, TinyPools) {
  // 1 address: all to the first server; 2 addresses 80/20: 1.6 -> 1, 0.4 -> 0,
  // remainder 1 to the first: 2 and 0.
  auto sets = check_coverage({{"a", 80}, {"b", 20}}, "\"10.99.0.10\"");
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[0].size(), 1u);
  EXPECT_EQ(sets[1].size(), 0u);
  sets = check_coverage({{"a", 20}, {"b", 80}}, "\"10.99.0.10-10.99.0.11\"");
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[0].size(), 1u);   // 0.4 -> 0 + remainder 1
  EXPECT_EQ(sets[1].size(), 1u);   // 1.6 -> 1
  // A pool whose addresses are all excluded: nothing to split.
  sets = check_coverage({{"a", 1}, {"b", 1}}, "\"10.99.0.10-10.99.0.11\"",
                        "exclude = \"10.99.0.10-10.99.0.11\"\n");
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_TRUE(sets[0].empty());
  EXPECT_TRUE(sets[1].empty());
}

TEST(SplitScope, LargePoolIsExactAndFast) {
  // A /8-sized subnet: the split works on intervals, not addresses.
  const std::string text =
      "[server]\naddress = \"10.0.0.1\"\n" + servers_toml("b", {{"a", 3}, {"b", 7}}) +
      "[[subnet]]\nprefix = \"10.0.0.0/8\"\npools = \"10.0.1.0-10.255.255.254\"\n";
  const LoadResult r = load_config_string(text, "big.toml");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  ASSERT_EQ(r.config->split_pools.size(), 1u);
  const auto& p = r.config->split_pools[0];
  EXPECT_EQ(p.usable, 0xfffffeull - 0x100 + 1);   // 10.0.1.0-10.255.255.254, nothing blocked inside
  EXPECT_EQ(p.parts[0].count + p.parts[1].count, p.usable);
  EXPECT_EQ(p.parts[0].range.last + 1, p.parts[1].range.first);
  EXPECT_EQ(p.this_part, 1u);
  std::uint64_t bits = 0;
  for (const auto& b : r.compiled->blocks) bits += static_cast<std::uint64_t>(std::popcount(b.allocatable));
  EXPECT_EQ(bits, p.parts[1].count);
}

TEST(SplitScope, DeterministicAndReportedPerPool) {
  const std::string text = config(servers_toml("dhcp-b", {{"dhcp-a", 80}, {"dhcp-b", 20}}),
                                  "\"10.99.0.100-10.99.0.149\"");
  const LoadResult r1 = load_config_string(text, "a.toml");
  const LoadResult r2 = load_config_string(text, "a.toml");
  ASSERT_TRUE(r1.ok()) << errors_of(r1);
  ASSERT_EQ(r1.config->split_pools.size(), 1u);
  const auto& p = r1.config->split_pools[0];
  EXPECT_EQ(p.usable, 50u);
  EXPECT_EQ(p.parts[0].server, "dhcp-a");
  EXPECT_EQ(p.parts[0].count, 40u);
  EXPECT_EQ(p.parts[0].range.first, ip(10, 99, 0, 100));
  EXPECT_EQ(p.parts[0].range.last, ip(10, 99, 0, 139));
  EXPECT_EQ(p.parts[1].count, 10u);
  EXPECT_EQ(p.parts[1].range.first, ip(10, 99, 0, 140));
  EXPECT_EQ(p.parts[1].range.last, ip(10, 99, 0, 149));
  ASSERT_EQ(p.excluded().size(), 1u);
  EXPECT_EQ(p.excluded()[0].first, ip(10, 99, 0, 100));
  const std::string t1 = dorado::config::split_scope_text(r1.config->split_scope, r1.config->split_pools);
  const std::string t2 = dorado::config::split_scope_text(r2.config->split_scope, r2.config->split_pools);
  EXPECT_EQ(t1, t2);
  EXPECT_NE(t1.find("dhcp-b: 10.99.0.140-10.99.0.149 (10)  <- this server"), std::string::npos) << t1;
  EXPECT_NE(t1.find("excluded here: 10.99.0.100-10.99.0.139"), std::string::npos) << t1;
  // The compiled config knows the other server's part.
  EXPECT_TRUE(r1.compiled->in_peer_part(ip(10, 99, 0, 100)));
  EXPECT_TRUE(r1.compiled->in_peer_part(ip(10, 99, 0, 139)));
  EXPECT_FALSE(r1.compiled->in_peer_part(ip(10, 99, 0, 140)));
  EXPECT_FALSE(r1.compiled->in_peer_part(ip(10, 99, 0, 99)));
}

TEST(SplitScope, ValidationErrorsNameLineAndKey) {
  auto load = [](const std::string& split) {
    return load_config_string(config(split, "\"10.99.0.100-10.99.0.149\""), "s.toml");
  };
  LoadResult r = load("[split_scope]\nthis_server = \"c\"\nservers = [ { name = \"a\", share = 1 }, { name = \"b\", share = 1 } ]\n");
  EXPECT_EQ(errors_of(r), "s.toml:4: split_scope.this_server: \"c\" is not one of split_scope.servers (a, b)\n");
  r = load("[split_scope]\nthis_server = \"a\"\nservers = [ { name = \"a\", share = 0 }, { name = \"b\", share = -3 } ]\n");
  EXPECT_EQ(errors_of(r), "s.toml:5: split_scope.servers[0].share: must be 1..1000000 (got 0)\n"
                          "s.toml:5: split_scope.servers[1].share: must be 1..1000000 (got -3)\n");
  r = load("[split_scope]\nthis_server = \"a\"\nservers = [ { name = \"a\", share = 1 }, { name = \"a\", share = 1 } ]\n");
  EXPECT_EQ(errors_of(r), "s.toml:5: split_scope.servers[1].name: server \"a\" is listed twice\n");
  r = load("[split_scope]\nthis_server = \"a\"\nservers = [ { name = \"a\", share = 1 } ]\n");
  EXPECT_EQ(errors_of(r), "s.toml:5: split_scope.servers: needs at least 2 servers (got 1)\n");
  r = load("[split_scope]\nservers = [ { name = \"a\", share = 1 }, { share = 1 } ]\nthis_servr = 1\n");
  EXPECT_NE(errors_of(r).find("split_scope.this_server: missing required key"), std::string::npos) << errors_of(r);
  EXPECT_NE(errors_of(r).find("s.toml:4: split_scope.servers[1].name: missing required key"), std::string::npos) << errors_of(r);
  EXPECT_NE(errors_of(r).find("s.toml:5: split_scope.this_servr: unknown key (did you mean `this_server`?)"), std::string::npos) << errors_of(r);
  r = load("[split_scope]\nthis_server = \"a\"\nservers = \"a\"\n");
  EXPECT_EQ(errors_of(r), "s.toml:5: split_scope.servers: expected an array of tables [[split_scope.servers]], got a string\n");
  // No [split_scope]: no split, nothing excluded.
  r = load("");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.config->split_scope.enabled);
  EXPECT_TRUE(r.config->split_pools.empty());
  EXPECT_TRUE(r.compiled->peer_ranges.empty());
}

}  // namespace
