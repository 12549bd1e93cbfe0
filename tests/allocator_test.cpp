// Allocator: block bitmaps, sticky preference, slots, ownership by shard.
#include "engine/allocator.hpp"

#include <gtest/gtest.h>

#include <set>

namespace dorado::engine {
namespace {

constexpr Ipv4 ip(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

EngineConfig small_config() {
  EngineConfig c;
  c.server_address = ip(10, 0, 0, 1);
  SubnetConfig s;
  s.id = 7;
  s.prefix = ip(10, 0, 0, 0);
  s.prefix_len = 24;
  s.pools = {{ip(10, 0, 0, 10), ip(10, 0, 0, 200)}};
  s.exclusions = {{ip(10, 0, 0, 50), ip(10, 0, 0, 59)}};
  s.routers = {ip(10, 0, 0, 20)};
  Reservation r;
  r.mac = wire::MacAddr{{2, 0, 0, 0, 0, 1}};
  r.address = ip(10, 0, 0, 100);
  s.reservations = {r};
  c.subnets = {s};
  return c;
}

CompiledConfig compiled(const EngineConfig& c) {
  CompileResult r = compile(c);
  EXPECT_TRUE(r.ok()) << r.error;
  return std::move(r.config);
}

TEST(Allocator, FreeAddressesAreExactlyThePoolMinusExclusions) {
  const CompiledConfig cfg = compiled(small_config());
  Allocator a(cfg, {});
  // 191 in the pool, minus 10 excluded, the router and the reservation.
  EXPECT_EQ(a.free_count(0), 191u - 10u - 1u - 1u);
  std::set<Ipv4> got;
  for (SlotId s; (s = a.pick(0, true)) != kNil;) {
    EXPECT_TRUE(a.is_free(s));
    got.insert(a.address_of(s));
    a.take(s);
  }
  EXPECT_EQ(got.size(), 179u);
  for (Ipv4 x : got) {
    EXPECT_GE(x, ip(10, 0, 0, 10));
    EXPECT_LE(x, ip(10, 0, 0, 200));
    EXPECT_FALSE(x >= ip(10, 0, 0, 50) && x <= ip(10, 0, 0, 59));
    EXPECT_NE(x, ip(10, 0, 0, 20));
    EXPECT_NE(x, ip(10, 0, 0, 100));
  }
  EXPECT_EQ(a.free_count(0), 0u);
  EXPECT_EQ(a.audit(), "");
}

TEST(Allocator, SlotsMapAddressesBothWays) {
  EngineConfig c = small_config();
  c.subnets[0].pools = {{ip(10, 0, 0, 10), ip(10, 0, 0, 120)}};
  const CompiledConfig cfg = compiled(c);
  Allocator a(cfg, {});
  const SlotId s = a.slot_of(0, ip(10, 0, 0, 77));
  ASSERT_NE(s, kNil);
  EXPECT_EQ(a.address_of(s), ip(10, 0, 0, 77));
  EXPECT_EQ(a.subnet_of(s), 0u);
  EXPECT_EQ(a.lease_at(s), kNil);
  a.set_lease(s, 42);
  EXPECT_EQ(a.lease_at(s), 42u);
  // The reserved address has a slot but is never allocatable; .250 is in no block.
  const SlotId r = a.slot_of(0, ip(10, 0, 0, 100));
  ASSERT_NE(r, kNil);
  EXPECT_FALSE(a.is_allocatable(r));
  EXPECT_FALSE(a.is_free(r));
  a.give_back(r, false);
  EXPECT_FALSE(a.is_free(r));
  EXPECT_EQ(a.slot_of(0, ip(10, 0, 0, 250)), kNil);
}

TEST(Allocator, CleanAddressesArePreferredOverStickyOnes) {
  EngineConfig c = small_config();
  c.subnets[0].pools = {{ip(10, 0, 0, 10), ip(10, 0, 0, 13)}};
  const CompiledConfig cfg = compiled(c);
  Allocator a(cfg, {});
  std::vector<SlotId> all;
  for (SlotId s; (s = a.pick(0, true)) != kNil;) {
    all.push_back(s);
    a.take(s);
  }
  ASSERT_EQ(all.size(), 4u);
  a.give_back(all[0], true);
  a.give_back(all[1], true);
  a.give_back(all[2], false);
  EXPECT_EQ(a.free_count(0), 3u);
  EXPECT_EQ(a.sticky_count(0), 2u);
  EXPECT_EQ(a.pick(0, false), all[2]);
  a.take(all[2]);
  EXPECT_EQ(a.pick(0, false), kNil);   // only sticky ones left
  const SlotId s = a.pick(0, true);
  EXPECT_TRUE(s == all[0] || s == all[1]);
  a.unstick(all[0]);
  EXPECT_EQ(a.pick(0, false), all[0]);
  EXPECT_EQ(a.audit(), "");
}

TEST(Allocator, ShardsOwnDisjointBlocksCoveringEverything) {
  EngineConfig c = small_config();
  c.subnets[0].prefix = ip(10, 8, 0, 0);
  c.subnets[0].prefix_len = 16;
  c.subnets[0].pools = {{ip(10, 8, 0, 1), ip(10, 8, 3, 254)}};
  c.subnets[0].exclusions.clear();
  c.subnets[0].routers.clear();
  c.subnets[0].reservations.clear();
  const CompiledConfig cfg = compiled(c);
  std::set<Ipv4> seen;
  std::size_t total = 0;
  for (std::uint32_t k = 0; k < 3; ++k) {
    Allocator a(cfg, ShardIdentity{k, 3});
    for (SlotId s; (s = a.pick(0, true)) != kNil;) {
      EXPECT_TRUE(shard_owns_block(cfg, s >> 6, ShardIdentity{k, 3}));
      EXPECT_TRUE(seen.insert(a.address_of(s)).second) << "address handed out by two shards";
      a.take(s);
      ++total;
    }
    EXPECT_EQ(a.audit(), "");
  }
  EXPECT_EQ(total, 4u * 256u - 2u);   // .0.1 .. .3.254
}

TEST(Allocator, SummariesFollowLargePools) {
  EngineConfig c = small_config();
  c.subnets[0].prefix = ip(10, 64, 0, 0);
  c.subnets[0].prefix_len = 14;
  c.subnets[0].pools = {{ip(10, 64, 0, 1), ip(10, 67, 255, 254)}};
  c.subnets[0].exclusions.clear();
  c.subnets[0].routers.clear();
  c.subnets[0].reservations.clear();
  const CompiledConfig cfg = compiled(c);
  Allocator a(cfg, {});
  const std::uint32_t n = a.free_count(0);
  EXPECT_EQ(n, (1u << 18) - 2u);
  for (std::uint32_t i = 0; i < n; ++i) {
    const SlotId s = a.pick(0, true);
    ASSERT_NE(s, kNil) << i;
    a.take(s);
  }
  EXPECT_EQ(a.pick(0, true), kNil);
  const SlotId mid = a.slot_of(0, ip(10, 66, 7, 9));
  a.give_back(mid, false);
  EXPECT_EQ(a.pick(0, true), mid);
  EXPECT_EQ(a.audit(), "");
}

}  // namespace
}  // namespace dorado::engine
