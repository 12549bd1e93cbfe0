// Engine config compile(): validation, blocks and masks, options, reservations.
#include "engine/config.hpp"

#include <gtest/gtest.h>

#include "engine/client_key.hpp"

namespace dorado::engine {
namespace {

// A reservation by client-id (none: `id` empty) for `address`.
Reservation resv_id(std::vector<std::uint8_t> id, Ipv4 address) {
  Reservation r;
  r.client_id = std::move(id);
  r.address = address;
  return r;
}

constexpr Ipv4 ip(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

SubnetConfig subnet(std::uint32_t id, Ipv4 prefix, std::uint8_t len, Ipv4 first, Ipv4 last) {
  SubnetConfig s;
  s.id = id;
  s.prefix = prefix;
  s.prefix_len = len;
  s.pools = {{first, last}};
  return s;
}

EngineConfig base() {
  EngineConfig c;
  c.server_address = ip(192, 0, 2, 1);
  c.subnets = {subnet(1, ip(10, 0, 0, 0), 24, ip(10, 0, 0, 1), ip(10, 0, 0, 254)),
               subnet(2, ip(10, 0, 1, 0), 26, ip(10, 0, 1, 1), ip(10, 0, 1, 62))};
  return c;
}

std::string error_of(const EngineConfig& c) { return compile(c).error; }

TEST(EngineConfig, ValidConfigCompiles) {
  const CompileResult r = compile(base());
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.config.subnets.size(), 2u);
  EXPECT_EQ(r.config.subnet_index_of(ip(10, 0, 0, 77)), 0u);
  EXPECT_EQ(r.config.subnet_index_of(ip(10, 0, 1, 63)), 1u);
  EXPECT_EQ(r.config.subnet_index_of(ip(10, 0, 1, 64)), kNil);
  EXPECT_EQ(r.config.subnet_index_of(ip(9, 0, 0, 1)), kNil);
}

TEST(EngineConfig, SubnetsAreSortedAndLookedUpByAddress) {
  EngineConfig c = base();
  std::swap(c.subnets[0], c.subnets[1]);
  c.subnets.push_back(subnet(3, ip(10, 0, 0, 128), 25, ip(10, 0, 0, 130), ip(10, 0, 0, 140)));
  c.subnets[1].prefix_len = 25;   // 10.0.0.0/25 now
  c.subnets[1].pools = {{ip(10, 0, 0, 1), ip(10, 0, 0, 100)}};
  const CompileResult r = compile(c);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.config.subnets[r.config.subnet_index_of(ip(10, 0, 0, 5))].id, 1u);
  EXPECT_EQ(r.config.subnets[r.config.subnet_index_of(ip(10, 0, 0, 135))].id, 3u);
  EXPECT_EQ(r.config.subnets[r.config.subnet_index_of(ip(10, 0, 1, 5))].id, 2u);
  // Two subnets inside one 64-address chunk each get their own block.
  const CompiledSubnet& a = r.config.subnets[r.config.subnet_index_of(ip(10, 0, 0, 130))];
  EXPECT_NE(r.config.block_of(a, ip(10, 0, 0, 130)), kNil);
}

TEST(EngineConfig, RefusesBrokenInvariants) {
  EngineConfig c = base();
  c.server_address = 0;
  EXPECT_NE(error_of(c), "");

  c = base();
  c.subnets[1].prefix = ip(10, 0, 0, 64);   // inside subnet 1
  c.subnets[1].pools = {{ip(10, 0, 0, 65), ip(10, 0, 0, 70)}};
  EXPECT_NE(error_of(c).find("overlaps"), std::string::npos);

  c = base();
  c.subnets[0].pools = {{ip(10, 0, 1, 1), ip(10, 0, 1, 5)}};
  EXPECT_NE(error_of(c).find("outside"), std::string::npos);

  c = base();
  c.subnets[0].pools = {{ip(10, 0, 0, 9), ip(10, 0, 0, 5)}};
  EXPECT_NE(error_of(c), "");

  c = base();
  c.subnets[0].prefix = ip(10, 0, 0, 1);   // host bits
  EXPECT_NE(error_of(c).find("host bits"), std::string::npos);

  c = base();
  c.subnets[0].min_lease_time = 5000;   // > lease_time
  EXPECT_NE(error_of(c), "");

  c = base();
  c.subnets[0].t1_ratio = 0.9;   // > t2
  EXPECT_NE(error_of(c).find("t1_ratio"), std::string::npos);

  c = base();
  c.subnets[1].id = 1;
  EXPECT_NE(error_of(c).find("duplicate subnet id"), std::string::npos);

  c = base();
  c.options = {OptionData{51, encode_u32(5), false}};
  EXPECT_NE(error_of(c).find("written by the engine"), std::string::npos);

  c = base();
  c.subnets[0].options = {OptionData{3, {1, 2, 3, 4}, false}};
  c.subnets[0].routers = {ip(10, 0, 0, 1)};
  EXPECT_NE(error_of(c).find("given twice"), std::string::npos);
}

TEST(EngineConfig, ReservationsAreValidatedAndFound) {
  EngineConfig c = base();
  Reservation by_mac;
  by_mac.mac = wire::MacAddr{{2, 0, 0, 0, 0, 9}};
  by_mac.address = ip(10, 0, 0, 9);
  Reservation by_id;
  by_id.client_id = {1, 2, 3};
  by_id.address = ip(10, 0, 1, 3);
  c.subnets[0].reservations = {by_mac};
  c.subnets[1].reservations = {by_id};
  CompileResult r = compile(c);
  ASSERT_TRUE(r.ok()) << r.error;
  const ClientKey km = client_key_hw(1, wire::Bytes{by_mac.mac->b.data(), 6});
  const ReservationEntry* e = r.config.find_reservation(km.view(), km.hash);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->address, ip(10, 0, 0, 9));
  EXPECT_EQ(e->subnet, 0u);
  const ClientKey ki = client_key_id(wire::Bytes{by_id.client_id});
  e = r.config.find_reservation(ki.view(), ki.hash);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->subnet, 1u);
  const ClientKey other = client_key_id(wire::Bytes{by_mac.mac->b.data(), 6});
  EXPECT_EQ(r.config.find_reservation(other.view(), other.hash), nullptr);
  // Reserved addresses are never allocatable.
  const CompiledSubnet& s0 = r.config.subnets[0];
  const BlockInfo& b = r.config.blocks[r.config.block_of(s0, ip(10, 0, 0, 9))];
  EXPECT_FALSE((b.allocatable >> 9) & 1u);

  EngineConfig dup = c;
  dup.subnets[0].reservations.push_back(by_mac);
  dup.subnets[0].reservations.back().address = ip(10, 0, 0, 10);
  EXPECT_NE(error_of(dup).find("reserved twice"), std::string::npos);
  dup = c;
  dup.subnets[0].reservations.push_back(resv_id({7}, ip(10, 0, 0, 9)));
  EXPECT_NE(error_of(dup).find("reserved twice"), std::string::npos);
  dup = c;
  dup.subnets[0].reservations.push_back(resv_id({}, ip(10, 0, 0, 11)));
  EXPECT_NE(error_of(dup).find("has no mac, client_id"), std::string::npos);
  dup = c;
  dup.subnets[0].reservations.push_back(resv_id({7}, ip(10, 0, 5, 11)));
  EXPECT_NE(error_of(dup).find("outside"), std::string::npos);
}

TEST(EngineConfig, NeverAllocatableAddresses) {
  EngineConfig c = base();
  c.subnets[0].pools = {{ip(10, 0, 0, 0), ip(10, 0, 0, 255)}};
  c.subnets[0].routers = {ip(10, 0, 0, 254)};
  c.subnets[0].server_id = ip(10, 0, 0, 253);
  c.subnets[0].exclusions = {{ip(10, 0, 0, 100), ip(10, 0, 0, 130)}};
  const CompileResult r = compile(c);
  ASSERT_TRUE(r.ok()) << r.error;
  const CompiledSubnet& s = r.config.subnets[0];
  EXPECT_EQ(s.block_count, 4u);
  auto allocatable = [&](Ipv4 a) {
    const BlockInfo& b = r.config.blocks[r.config.block_of(s, a)];
    return ((b.allocatable >> (a & 63)) & 1u) != 0;
  };
  EXPECT_FALSE(allocatable(ip(10, 0, 0, 0)));     // network
  EXPECT_FALSE(allocatable(ip(10, 0, 0, 255)));   // broadcast
  EXPECT_FALSE(allocatable(ip(10, 0, 0, 254)));   // router
  EXPECT_FALSE(allocatable(ip(10, 0, 0, 253)));   // server id
  EXPECT_FALSE(allocatable(ip(10, 0, 0, 100)));
  EXPECT_FALSE(allocatable(ip(10, 0, 0, 128)));
  EXPECT_FALSE(allocatable(ip(10, 0, 0, 130)));
  EXPECT_TRUE(allocatable(ip(10, 0, 0, 99)));
  EXPECT_TRUE(allocatable(ip(10, 0, 0, 131)));
  EXPECT_TRUE(allocatable(ip(10, 0, 0, 1)));
  EXPECT_EQ(s.server_id, ip(10, 0, 0, 253));
  EXPECT_EQ(r.config.subnets[1].server_id, ip(192, 0, 2, 1));
}

TEST(EngineConfig, OptionsMergeSubnetOverGlobalAndAreSorted) {
  EngineConfig c = base();
  c.options = {OptionData{42, encode_ipv4_list(std::vector<Ipv4>{ip(1, 1, 1, 1)}), false},
               OptionData{15, encode_string("global.example"), true}};
  c.subnets[0].dns_servers = {ip(8, 8, 8, 8), ip(8, 8, 4, 4)};
  c.subnets[0].domain_name = "local.example";
  c.subnets[0].options = {OptionData{66, encode_string("tftp"), false},
                          OptionData{28, encode_u32(ip(10, 0, 0, 127)), false}};
  const CompileResult r = compile(c);
  ASSERT_TRUE(r.ok()) << r.error;
  const CompiledConfig& cc = r.config;
  const CompiledSubnet& s0 = cc.subnets[0];
  auto value = [&](const CompiledSubnet& s, std::uint8_t code) {
    const CompiledOption* o = cc.find_option(s, code);
    return o ? std::vector<std::uint8_t>(cc.option_value(*o).begin(), cc.option_value(*o).end())
             : std::vector<std::uint8_t>{};
  };
  EXPECT_EQ(value(s0, 6), (std::vector<std::uint8_t>{8, 8, 8, 8, 8, 8, 4, 4}));
  EXPECT_EQ(value(s0, 15), encode_string("local.example"));   // subnet wins
  EXPECT_EQ(value(s0, 42), (std::vector<std::uint8_t>{1, 1, 1, 1}));
  EXPECT_EQ(value(s0, 66), encode_string("tftp"));
  EXPECT_EQ(value(s0, 28), encode_u32(ip(10, 0, 0, 127)));    // explicit beats derived
  EXPECT_EQ(value(s0, 3), std::vector<std::uint8_t>{});
  const CompiledSubnet& s1 = cc.subnets[1];
  EXPECT_EQ(value(s1, 15), encode_string("global.example"));
  EXPECT_TRUE(cc.find_option(s1, 15)->always_send);
  EXPECT_EQ(value(s1, 28), encode_u32(ip(10, 0, 1, 63)));    // derived broadcast
  std::uint8_t prev = 0;
  for (const CompiledOption& o : cc.options_of(s0)) {
    EXPECT_GT(o.code, prev);
    prev = o.code;
  }
}

TEST(EngineConfig, RatiosBecomeFixedPoint) {
  EngineConfig c = base();
  c.subnets[0].t1_ratio = 0.25;
  c.subnets[0].t2_ratio = 0.75;
  const CompileResult r = compile(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.subnets[0].t1_q16, 16384u);
  EXPECT_EQ(r.config.subnets[0].t2_q16, 49152u);
  EXPECT_EQ(r.config.subnets[1].t1_q16, 32768u);
  EXPECT_EQ(r.config.subnets[1].t2_q16, 57344u);
}

TEST(EngineConfig, RelaysOutsideEverySubnetAreMappedToTheirSubnet) {
  EngineConfig c = base();
  std::swap(c.subnets[0], c.subnets[1]);   // input order differs from sorted order
  c.subnets[0].relays = {ip(172, 16, 0, 2), ip(10, 0, 1, 1)};   // second: inside its own subnet
  c.subnets[1].relays = {ip(172, 16, 0, 1)};
  const CompileResult r = compile(c);
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.config.relays.size(), 2u);
  EXPECT_LT(r.config.relays[0].giaddr, r.config.relays[1].giaddr);
  auto id_of = [&](Ipv4 giaddr) {
    const std::uint32_t s = r.config.subnet_of_relay(giaddr);
    return s == kNil ? 0u : r.config.subnets[s].id;
  };
  EXPECT_EQ(id_of(ip(172, 16, 0, 2)), 2u);
  EXPECT_EQ(id_of(ip(172, 16, 0, 1)), 1u);
  EXPECT_EQ(id_of(ip(10, 0, 1, 1)), 0u);      // containment does that one
  EXPECT_EQ(id_of(ip(172, 16, 0, 3)), 0u);
  EXPECT_EQ(id_of(0), 0u);
  EXPECT_EQ(id_of(0xffffffffu), 0u);
  EXPECT_EQ(compile(base()).config.subnet_of_relay(ip(172, 16, 0, 1)), kNil);
}

TEST(EngineConfig, RefusesAmbiguousRelays) {
  EngineConfig c = base();
  c.subnets[1].relays = {ip(10, 0, 0, 1)};   // inside subnet 1
  CompileResult r = compile(c);
  EXPECT_NE(r.error.find("relay 10.0.0.1 is inside subnet 1"), std::string::npos) << r.error;
  EXPECT_EQ(r.subnet_index, 1u);

  c = base();
  c.subnets[0].relays = {ip(172, 16, 0, 1)};
  c.subnets[1].relays = {ip(172, 16, 0, 1)};
  r = compile(c);
  EXPECT_NE(r.error.find("relay 172.16.0.1 is listed twice"), std::string::npos) << r.error;
  EXPECT_EQ(r.subnet_index, 1u);

  c = base();
  c.subnets[0].relays = {ip(172, 16, 0, 1), ip(172, 16, 0, 1)};
  EXPECT_EQ(compile(c).subnet_index, 0u);

  c = base();
  c.subnets[1].relays = {0};
  r = compile(c);
  EXPECT_NE(r.error.find("not a unicast address"), std::string::npos) << r.error;
  EXPECT_EQ(r.subnet_index, 1u);
}

// CompileResult::subnet_index is the failing subnet's index in the input
// (EngineConfig::subnets), whatever the sorted order; kNil for the whole config.
TEST(EngineConfig, ErrorsNameTheSubnetByInputIndex) {
  EngineConfig c = base();
  std::swap(c.subnets[0], c.subnets[1]);   // 10.0.1.0/26 first, sorted second
  EXPECT_EQ(compile(c).subnet_index, kNil);   // ok

  EngineConfig e = c;
  e.subnets[1].t1_ratio = 0.9;
  EXPECT_EQ(compile(e).subnet_index, 1u);

  e = c;   // overlap: the later of the two in sorted order
  e.subnets[0].prefix = ip(10, 0, 0, 64);
  e.subnets[0].pools = {{ip(10, 0, 0, 65), ip(10, 0, 0, 70)}};
  CompileResult r = compile(e);
  EXPECT_NE(r.error.find("overlaps"), std::string::npos);
  EXPECT_EQ(r.subnet_index, 0u);

  e = c;
  e.subnets[0].reservations = {resv_id({7}, ip(10, 0, 1, 0))};   // network address
  r = compile(e);
  EXPECT_NE(r.error.find("network or broadcast"), std::string::npos) << r.error;
  EXPECT_EQ(r.subnet_index, 0u);

  e = c;
  e.subnets[0].id = 1;
  r = compile(e);
  EXPECT_NE(r.error.find("duplicate subnet id 1"), std::string::npos) << r.error;
  EXPECT_EQ(r.subnet_index, 1u);

  e = c;
  e.subnets[0].reservations = {resv_id({7}, ip(10, 0, 1, 9))};
  e.subnets[1].reservations = {resv_id({8}, ip(10, 0, 0, 9)),
                               resv_id({7}, ip(10, 0, 0, 10))};
  r = compile(e);
  EXPECT_NE(r.error.find("reserved twice"), std::string::npos) << r.error;
  EXPECT_NE(r.subnet_index, kNil);

  e = c;
  e.options = {OptionData{53, {1}, false}};
  r = compile(e);
  EXPECT_NE(r.error.find("global option 53"), std::string::npos) << r.error;
  EXPECT_EQ(r.subnet_index, kNil);
  e = c;
  e.server_address = 0;
  EXPECT_EQ(compile(e).subnet_index, kNil);
}

TEST(EngineConfig, SharedLimits) {
  for (unsigned code : {0u, 1u, 50u, 51u, 52u, 53u, 54u, 55u, 57u, 58u, 59u, 61u, 82u, 255u})
    EXPECT_TRUE(engine_owned_option(static_cast<std::uint8_t>(code))) << code;
  for (unsigned code : {2u, 3u, 6u, 15u, 28u, 49u, 56u, 60u, 62u, 81u, 83u, 118u, 254u})
    EXPECT_FALSE(engine_owned_option(static_cast<std::uint8_t>(code))) << code;
  EngineConfig c = base();
  c.subnets[0].options = {OptionData{43, std::vector<std::uint8_t>(kMaxOptionValue, 1), false}};
  EXPECT_TRUE(compile(c).ok());
  c.subnets[0].options[0].value.push_back(1);
  const CompileResult r = compile(c);
  EXPECT_NE(r.error.find("longer than 1024 bytes"), std::string::npos) << r.error;
  EXPECT_EQ(r.subnet_index, 0u);
  EXPECT_EQ(kMaxSubnets, 65535u);
}

TEST(EngineConfig, Encoders) {
  EXPECT_EQ(encode_u32(0x01020304), (std::vector<std::uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(encode_u16(0x0102), (std::vector<std::uint8_t>{1, 2}));
  EXPECT_EQ(encode_u8(9), (std::vector<std::uint8_t>{9}));
  EXPECT_EQ(encode_string("ab"), (std::vector<std::uint8_t>{'a', 'b'}));
  const std::vector<Ipv4> ips{ip(10, 0, 0, 1), ip(10, 0, 0, 2)};
  EXPECT_EQ(encode_ipv4_list(ips), (std::vector<std::uint8_t>{10, 0, 0, 1, 10, 0, 0, 2}));
}

}  // namespace
}  // namespace dorado::engine
