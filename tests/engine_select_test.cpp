// Shared networks and VLAN-aware subnet selection (issue 16;
// engine/select.cpp): the next subnet of a shared network when the first is
// full, renewals keeping their subnet, the network's options between the
// subnet's and the global ones, reservations of any subnet of the link;
// single-tag and QinQ selection.
#include "engine_fixture.hpp"

#include <string>
#include <vector>

namespace dorado::engine {
namespace {

using namespace testing_fixture;
using wire::MessageType;

constexpr Ipv4 kRelayA = ip(10, 5, 0, 1);   // giaddr in subnet A (10.5.0.0/24)

// A: 10.5.0.0/24 with 4 pool addresses, B: 10.6.0.0/24 with 4: one shared
// network "campus" (A first). C: 10.7.0.0/24 alone. V: 10.8.0.0/24 for VLAN
// 100, Q: 10.9.0.0/24 for QinQ 200/300.
EngineConfig select_config() {
  EngineConfig c;
  c.server_address = kServer;
  c.offer_hold_s = 30;
  c.decline_probation_s = 600;
  auto subnet = [](std::uint32_t id, Ipv4 net) {
    SubnetConfig s;
    s.id = id;
    s.prefix = net;
    s.prefix_len = 24;
    s.pools = {{net + 10, net + 13}};
    s.routers = {net + 1};
    return s;
  };
  SubnetConfig a = subnet(1, ip(10, 5, 0, 0));
  a.options = {OptionData{66, encode_string("tftp.a"), false}};
  SubnetConfig b = subnet(2, ip(10, 6, 0, 0));
  Reservation rb;
  rb.mac = mac_of(0xb0);
  rb.address = ip(10, 6, 0, 50);
  b.reservations = {rb};
  SubnetConfig cc = subnet(3, ip(10, 7, 0, 0));
  SubnetConfig v = subnet(4, ip(10, 8, 0, 0));
  v.vlans = {100};
  SubnetConfig q = subnet(5, ip(10, 9, 0, 0));
  q.qinq = {{200, 300}};
  c.subnets = {a, b, cc, v, q};
  SharedNetworkConfig net;
  net.name = "campus";
  net.subnets = {0, 1};
  net.options = {OptionData{66, encode_string("tftp.campus"), false},
                 OptionData{67, encode_string("boot.campus"), false}};
  c.shared_networks = {net};
  c.options = {OptionData{67, encode_string("boot.global"), false},
               OptionData{69, encode_ipv4_list(std::vector<Ipv4>{ip(1, 2, 3, 4)}), false}};
  return c;
}

class SelectTest : public EngineFixture {
 protected:
  void SetUp() override { build(select_config(), test_sizes()); }

  Req relayed(MacAddr mac) {
    Req r;
    r.mac = mac;
    r.giaddr = kRelayA;
    r.prl = {1, 3, 66, 67, 69};
    return r;
  }
  Ipv4 dora_req(Req r) {
    r.type = MessageType::discover;
    const Decision o = send(r);
    if (o.verdict != Verdict::reply || o.type != MessageType::offer) return 0;
    r.type = MessageType::request;
    r.requested = o.yiaddr;
    r.server_id = kServer;
    const Decision a = send(r);
    return a.verdict == Verdict::reply && a.type == MessageType::ack ? a.yiaddr : 0;
  }
  static bool in(Ipv4 a, Ipv4 net) { return (a & 0xffffff00u) == net; }
  static std::string text(const std::vector<std::uint8_t>& v) { return {v.begin(), v.end()}; }
};

TEST_F(SelectTest, SharedNetworkFallsBackToTheNextSubnetWhenFull) {
  std::vector<Ipv4> got;
  for (std::uint32_t i = 0; i < 8; ++i) {
    got.push_back(dora_req(relayed(mac_of(i + 1))));
    shard_->clear_changes();
  }
  for (std::uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(in(got[i], ip(10, 5, 0, 0))) << i;
  for (std::uint32_t i = 4; i < 8; ++i) EXPECT_TRUE(in(got[i], ip(10, 6, 0, 0))) << i;
  EXPECT_EQ(events(Event::shared_network_fallback), 4u);
  // Both full: exhausted.
  EXPECT_EQ(send(relayed(mac_of(9))).drop, DropReason::pool_exhausted);
  // The reply from B carries B's mask and router (options of the address's subnet).
  const Decision d = send(relayed(mac_of(8)));
  ASSERT_EQ(d.type, MessageType::offer);
  EXPECT_EQ(d.yiaddr, got[7]);
  auto r = render(d);
  EXPECT_EQ(r->option(3), be32(ip(10, 6, 0, 1)));
}

TEST_F(SelectTest, RenewalsAndRebootsKeepTheirSubnet) {
  for (std::uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(in(dora_req(relayed(mac_of(i + 1))), ip(10, 5, 0, 0)));
  const Ipv4 b = dora_req(relayed(mac_of(5)));
  ASSERT_TRUE(in(b, ip(10, 6, 0, 0)));
  // Relayed renewal (giaddr in A) of an address of B: ACK, B's options.
  Req renew = relayed(mac_of(5));
  renew.type = MessageType::request;
  renew.ciaddr = b;
  const Decision d = send(renew);
  ASSERT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.yiaddr, b);
  EXPECT_EQ(render(d)->option(3), be32(ip(10, 6, 0, 1)));
  // INIT-REBOOT through A's relay.
  Req reboot = relayed(mac_of(5));
  reboot.type = MessageType::request;
  reboot.requested = b;
  EXPECT_EQ(send(reboot).type, MessageType::ack);
  // A DISCOVER again: its own address, in B, though A has room now.
  Req rel = relayed(mac_of(1));
  rel.type = MessageType::release;
  rel.ciaddr = lease_of(mac_of(1))->address;
  rel.server_id = kServer;
  send(rel);
  EXPECT_EQ(send(relayed(mac_of(5))).yiaddr, b);
  // An address of a subnet outside the network is still NAKed.
  reboot.requested = ip(10, 7, 0, 10);
  EXPECT_EQ(send(reboot).type, MessageType::nak);
}

TEST_F(SelectTest, NetworkOptionsSitBetweenSubnetAndGlobal) {
  auto r = render(send(relayed(mac_of(1))));
  EXPECT_EQ(text(r->option(66)), "tftp.a");        // the subnet's own over the network's
  EXPECT_EQ(text(r->option(67)), "boot.campus");   // the network's over the global one
  EXPECT_EQ(r->option(69), be32(ip(1, 2, 3, 4)));  // global
}

TEST_F(SelectTest, ReservationOfAnotherSubnetOfTheLink) {
  EXPECT_EQ(dora_req(relayed(mac_of(0xb0))), ip(10, 6, 0, 50));
}

TEST_F(SelectTest, VlanTagsSelectTheSubnet) {
  Req r;
  r.mac = mac_of(20);
  r.vlan_count = 1;
  r.vlans[0] = wire::VlanTag{0x8100, 100};
  Decision d = send(r);
  ASSERT_EQ(d.type, MessageType::offer);
  EXPECT_TRUE(in(d.yiaddr, ip(10, 8, 0, 0)));
  EXPECT_EQ(select_subnet(shard_->config(), last_->msg, last_->rx).by, SubnetBy::vlan);
  r.mac = mac_of(21);
  r.vlan_count = 2;
  r.vlans[0] = wire::VlanTag{0x88a8, 200};
  r.vlans[1] = wire::VlanTag{0x8100, 300};
  d = send(r);
  ASSERT_EQ(d.type, MessageType::offer);
  EXPECT_TRUE(in(d.yiaddr, ip(10, 9, 0, 0)));
  // A pair no subnet names: the interface's subnet (none here: kServer is in no subnet).
  r.mac = mac_of(22);
  r.vlans[1] = wire::VlanTag{0x8100, 301};
  EXPECT_EQ(send(r).drop, DropReason::no_subnet);
  // Relayed: the giaddr decides, not the relay's tags.
  Req rel = relayed(mac_of(23));
  rel.vlan_count = 1;
  rel.vlans[0] = wire::VlanTag{0x8100, 100};
  EXPECT_TRUE(in(send(rel).yiaddr, ip(10, 5, 0, 0)));
}

TEST(SelectCompile, RefusesBadNetworksAndVlans) {
  {
    EngineConfig c = select_config();
    c.shared_networks.push_back(c.shared_networks[0]);
    c.shared_networks[1].name = "other";
    EXPECT_NE(compile(c).error.find("two shared networks"), std::string::npos);
  }
  {
    EngineConfig c = select_config();
    c.shared_networks[0].subnets.push_back(99);
    EXPECT_NE(compile(c).error.find("unknown subnet"), std::string::npos);
  }
  {
    EngineConfig c = select_config();
    c.subnets[2].vlans = {100};
    EXPECT_NE(compile(c).error.find("named by two subnets"), std::string::npos);
  }
}

}  // namespace
}  // namespace dorado::engine
