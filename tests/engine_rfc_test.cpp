// RFC details of issue 16 in the engine: RFC 4039 rapid commit (option 80,
// engine/rapid_commit.cpp); RFC 5107 server identifier override (option 82
// sub-option 11: the replies' option 54, and REQUEST/RELEASE/DECLINE naming
// it accepted); a subnet's interface_address (its segment's server id, never
// handed out, compile checks).
#include "engine_fixture.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace dorado::engine {
namespace {

using namespace testing_fixture;
using wire::MessageType;

// A: 10.5.0.0/24 (rapid commit per the test), B: 10.6.0.0/24.
EngineConfig rfc_config(std::optional<bool> a_rapid, bool global_rapid) {
  EngineConfig c;
  c.server_address = kServer;
  c.offer_hold_s = 30;
  c.decline_probation_s = 600;
  c.rapid_commit = global_rapid;
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
  a.rapid_commit = a_rapid;
  SubnetConfig b = subnet(2, ip(10, 6, 0, 0));
  c.subnets = {a, b};
  return c;
}

constexpr Ipv4 kRelayA = ip(10, 5, 0, 1);
constexpr Ipv4 kRelayB = ip(10, 6, 0, 1);

class RapidCommitTest : public EngineFixture {
 protected:
  Decision rapid_discover(MacAddr mac, Ipv4 giaddr, bool with80 = true) {
    Req r;
    r.mac = mac;
    r.giaddr = giaddr;
    r.rapid_commit = with80;
    return send(r);
  }
};

TEST_F(RapidCommitTest, DiscoverWith80GetsAckWith80AndACommittedJournaledLease) {
  build(rfc_config(true, false), test_sizes());
  const Decision d = rapid_discover(mac_of(1), kRelayA);
  ASSERT_EQ(d.verdict, Verdict::reply);
  EXPECT_EQ(d.type, MessageType::ack);
  EXPECT_TRUE(d.rapid_commit);
  EXPECT_TRUE(d.lease_options);
  EXPECT_EQ(d.change_count, 1u);   // the commit record: what the worker holds the ACK on
  const auto reply = render(d);
  EXPECT_EQ(reply->msg.message_type(), MessageType::ack);
  ASSERT_TRUE(reply->msg.has(wire::opt::rapid_commit));
  EXPECT_TRUE(reply->option(wire::opt::rapid_commit).empty());
  EXPECT_EQ(reply->msg.server_id(), kServer);
  const Lease* l = lease_of(mac_of(1));
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->state, LeaseState::active);
  EXPECT_EQ(l->address, d.yiaddr);
  const auto changes = take_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].op, LeaseOp::commit);
  EXPECT_EQ(changes[0].address, d.yiaddr);
  EXPECT_EQ(events(Event::rapid_commit), 1u);
  EXPECT_EQ(events(Event::lease_commit), 1u);
  EXPECT_EQ(events(Event::tx_ack), 1u);
  EXPECT_EQ(events(Event::tx_offer), 0u);
  // The lease is the client's: a renewal extends it (journaled as renew).
  advance(100);
  Req r;
  r.type = MessageType::request;
  r.mac = mac_of(1);
  r.ciaddr = d.yiaddr;
  r.giaddr = kRelayA;
  const Decision a = send(r);
  ASSERT_EQ(a.verdict, Verdict::reply);
  EXPECT_EQ(a.type, MessageType::ack);
  EXPECT_FALSE(a.rapid_commit);
  const auto renewed = take_changes();
  ASSERT_EQ(renewed.size(), 1u);
  EXPECT_EQ(renewed[0].op, LeaseOp::renew);
}

TEST_F(RapidCommitTest, SubnetWithoutItOffersWithout80) {
  build(rfc_config(std::nullopt, false), test_sizes());
  const Decision d = rapid_discover(mac_of(1), kRelayA);
  ASSERT_EQ(d.verdict, Verdict::reply);
  EXPECT_EQ(d.type, MessageType::offer);
  EXPECT_FALSE(d.rapid_commit);
  const auto reply = render(d);
  EXPECT_FALSE(reply->msg.has(wire::opt::rapid_commit));
  EXPECT_EQ(lease_of(mac_of(1))->state, LeaseState::offered);
  EXPECT_EQ(events(Event::rapid_commit), 0u);
}

TEST_F(RapidCommitTest, GlobalDefaultAndSubnetOverride) {
  // Global on, subnet A off: A offers, B (unset) acks.
  build(rfc_config(false, true), test_sizes());
  EXPECT_EQ(rapid_discover(mac_of(1), kRelayA).type, MessageType::offer);
  EXPECT_EQ(rapid_discover(mac_of(2), kRelayB).type, MessageType::ack);
  EXPECT_TRUE(compiled_->config.subnets[1].rapid_commit);
  EXPECT_FALSE(compiled_->config.subnets[0].rapid_commit);
}

TEST_F(RapidCommitTest, DiscoverWithout80GetsTheNormalOffer) {
  build(rfc_config(true, false), test_sizes());
  const Decision d = rapid_discover(mac_of(1), kRelayA, false);
  EXPECT_EQ(d.type, MessageType::offer);
  EXPECT_FALSE(render(d)->msg.has(wire::opt::rapid_commit));
}

TEST_F(RapidCommitTest, RepeatedDiscoverWith80RenewsTheSameAddress) {
  build(rfc_config(true, false), test_sizes());
  const Decision first = rapid_discover(mac_of(1), kRelayA);
  take_changes();
  advance(10);
  const Decision again = rapid_discover(mac_of(1), kRelayA);
  ASSERT_EQ(again.type, MessageType::ack);
  EXPECT_EQ(again.yiaddr, first.yiaddr);
  const auto changes = take_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].op, LeaseOp::renew);
}

TEST_F(RapidCommitTest, AfterAnOfferTheRapidDiscoverCommitsTheOfferedAddress) {
  build(rfc_config(true, false), test_sizes());
  const Decision offer = rapid_discover(mac_of(1), kRelayA, false);
  ASSERT_EQ(offer.type, MessageType::offer);
  const Decision ack = rapid_discover(mac_of(1), kRelayA);
  ASSERT_EQ(ack.type, MessageType::ack);
  EXPECT_EQ(ack.yiaddr, offer.yiaddr);
  EXPECT_EQ(lease_of(mac_of(1))->state, LeaseState::active);
}

TEST_F(RapidCommitTest, StoreDownOffersOnly) {
  build(rfc_config(true, false), test_sizes());
  const Decision ack = rapid_discover(mac_of(1), kRelayA);
  ASSERT_EQ(ack.type, MessageType::ack);
  take_changes();
  shard_->set_store_writable(false);
  // A new client: nothing can be committed, no answer.
  EXPECT_EQ(rapid_discover(mac_of(2), kRelayA).verdict, Verdict::drop);
  // The bound client: its lease as it stands, offered, nothing journaled.
  const Decision d = rapid_discover(mac_of(1), kRelayA);
  ASSERT_EQ(d.verdict, Verdict::reply);
  EXPECT_EQ(d.type, MessageType::offer);
  EXPECT_FALSE(d.rapid_commit);
  EXPECT_TRUE(take_changes().empty());
}

TEST_F(RapidCommitTest, DdnsNamesTheRapidLease) {
  EngineConfig c = rfc_config(true, false);
  c.ddns.enabled = true;
  c.ddns.qualifying_suffix = "bars.example";
  build(c, test_sizes());
  Req r;
  r.mac = mac_of(1);
  r.giaddr = kRelayA;
  r.rapid_commit = true;
  r.hostname = "host1";
  const Decision d = send(r);
  ASSERT_EQ(d.type, MessageType::ack);
  const auto changes = take_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].op, LeaseOp::commit);
  EXPECT_EQ(std::string(changes[0].hostname.data(), changes[0].hostname.data() + changes[0].hostname_len),
            "host1");
}

// ---- RFC 5107 --------------------------------------------------------------------

constexpr Ipv4 kOverride = ip(10, 5, 0, 1);   // the relay's address on the client's link

std::vector<std::uint8_t> agent_with_override(Ipv4 sid) {
  std::vector<std::uint8_t> v{1, 4, 'p', 'o', 'r', 't', 11, 4};
  for (int shift = 24; shift >= 0; shift -= 8) v.push_back(static_cast<std::uint8_t>(sid >> shift));
  v.push_back(2);
  v.push_back(1);
  v.push_back('r');
  return v;
}

class ServerIdOverrideTest : public EngineFixture {
 protected:
  void SetUp() override { build(rfc_config(false, false), test_sizes()); }
  Req relayed(MessageType type, std::vector<std::uint8_t> agent) {
    Req r;
    r.type = type;
    r.mac = mac_of(7);
    r.giaddr = kRelayA;
    r.relay_info = std::move(agent);
    return r;
  }
};

TEST_F(ServerIdOverrideTest, ReplyOption54IsTheOverrideAnd82IsEchoed) {
  const std::vector<std::uint8_t> agent = agent_with_override(kOverride);
  const Decision d = send(relayed(MessageType::discover, agent));
  ASSERT_EQ(d.type, MessageType::offer);
  const auto reply = render(d);
  EXPECT_EQ(reply->msg.server_id(), kOverride);
  EXPECT_EQ(reply->option(wire::opt::relay_agent_info), agent);
  EXPECT_EQ(reply->frame.ip.src, kServer);   // the IPv4 source stays the server's
  // Without sub-option 11: the server's own id.
  Req plain = relayed(MessageType::discover, {1, 4, 'p', 'o', 'r', 't'});
  plain.mac = mac_of(8);
  EXPECT_EQ(render(send(plain))->msg.server_id(), kServer);
}

TEST_F(ServerIdOverrideTest, RequestNamingTheOverrideIsOurs) {
  const std::vector<std::uint8_t> agent = agent_with_override(kOverride);
  const Decision offer = send(relayed(MessageType::discover, agent));
  ASSERT_EQ(offer.type, MessageType::offer);
  Req req = relayed(MessageType::request, agent);
  req.requested = offer.yiaddr;
  req.server_id = kOverride;
  const Decision ack = send(req);
  ASSERT_EQ(ack.verdict, Verdict::reply);
  EXPECT_EQ(ack.type, MessageType::ack);
  EXPECT_EQ(render(ack)->msg.server_id(), kOverride);
  // A renewal relayed with the override: ACK, 54 the override.
  Req renew = relayed(MessageType::request, agent);
  renew.ciaddr = offer.yiaddr;
  const Decision renewed = send(renew);
  ASSERT_EQ(renewed.type, MessageType::ack);
  EXPECT_EQ(render(renewed)->msg.server_id(), kOverride);
  // RELEASE naming the override: released.
  Req rel = relayed(MessageType::release, agent);
  rel.ciaddr = offer.yiaddr;
  rel.server_id = kOverride;
  EXPECT_EQ(send(rel).verdict, Verdict::silent);
  EXPECT_EQ(events(Event::lease_release), 1u);
}

TEST_F(ServerIdOverrideTest, OverrideNamedWithoutTheRelaySayingSoIsAnotherServer) {
  const Decision offer = send(relayed(MessageType::discover, agent_with_override(kOverride)));
  ASSERT_EQ(offer.type, MessageType::offer);
  // The same server id, but the relay's 82 has no sub-option 11: not ours.
  Req req = relayed(MessageType::request, {1, 4, 'p', 'o', 'r', 't'});
  req.requested = offer.yiaddr;
  req.server_id = kOverride;
  EXPECT_EQ(send(req).verdict, Verdict::silent);
  // Another override than the one named: not ours either.
  Req other = relayed(MessageType::request, agent_with_override(ip(10, 5, 0, 2)));
  other.requested = offer.yiaddr;
  other.server_id = kOverride;
  EXPECT_EQ(send(other).verdict, Verdict::silent);
  // DECLINE naming the override with it: taken.
  Req dec = relayed(MessageType::decline, agent_with_override(kOverride));
  dec.requested = offer.yiaddr;
  dec.server_id = kOverride;
  send(dec);
  EXPECT_EQ(drops(DropReason::other_server_id), 0u);
}

TEST(ServerIdOverrideWire, SubOption11ParsedAndChecked) {
  std::vector<std::uint8_t> agent = agent_with_override(kOverride);
  Req r;
  r.giaddr = kRelayA;
  r.relay_info = agent;
  auto p = make_packet(r);
  const auto rai = p->msg.relay_agent_info();
  ASSERT_TRUE(rai);
  EXPECT_EQ(rai->server_id_override, kOverride);
  EXPECT_EQ(wire::server_id_override(rai->raw), kOverride);
  EXPECT_EQ(wire::server_id_override(wire::Bytes{}), 0u);
  // A sub-option 11 that is not 4 bytes fails the message on option 82.
  agent[7] = 3;
  agent.erase(agent.begin() + 11);
  wire::BootpFields b;
  b.op = 1;
  wire::DhcpOptionsSpec spec;
  spec.type = MessageType::discover;
  spec.relay_agent_info = wire::Bytes{agent};
  std::vector<std::uint8_t> out(1600);
  const wire::BuildResult built = wire::build_dhcp_message(out, b, spec);
  ASSERT_EQ(built.error, wire::Error::ok);
  wire::DhcpMessage m;
  EXPECT_EQ(m.parse({out.data(), built.length}), wire::Error::option_bad_value);
  EXPECT_EQ(m.error_option, wire::opt::relay_agent_info);
}

// ---- interface_address -------------------------------------------------------------

constexpr Ipv4 kIfaceV = ip(10, 8, 0, 1);   // the server's address on VLAN 100's segment

EngineConfig iface_config() {
  EngineConfig c = rfc_config(false, false);
  SubnetConfig v;
  v.id = 3;
  v.prefix = ip(10, 8, 0, 0);
  v.prefix_len = 24;
  v.pools = {{ip(10, 8, 0, 2), ip(10, 8, 0, 2)}, {ip(10, 8, 0, 10), ip(10, 8, 0, 11)}};
  v.routers = {ip(10, 8, 0, 254)};
  v.vlans = {100};
  v.interface_address = kIfaceV;
  c.subnets.push_back(v);
  return c;
}

class InterfaceAddressTest : public EngineFixture {
 protected:
  void SetUp() override { build(iface_config(), test_sizes()); }
  Req tagged(MessageType type, MacAddr mac) {
    Req r;
    r.type = type;
    r.mac = mac;
    r.vlan_count = 1;
    r.vlans[0] = wire::VlanTag{0x8100, 100};
    return r;
  }
};

TEST_F(InterfaceAddressTest, SegmentRepliesComeFromTheInterfaceAddress) {
  const Decision offer = send(tagged(MessageType::discover, mac_of(1)));
  ASSERT_EQ(offer.type, MessageType::offer);
  EXPECT_EQ(offer.server_id, kIfaceV);
  const auto reply = render(offer);
  EXPECT_EQ(reply->msg.server_id(), kIfaceV);
  EXPECT_EQ(reply->frame.ip.src, kIfaceV);
  ASSERT_EQ(reply->frame.eth.vlan_count, 1);
  // The client selects it by that id: ACK.
  Req req = tagged(MessageType::request, mac_of(1));
  req.requested = offer.yiaddr;
  req.server_id = kIfaceV;
  const Decision ack = send(req);
  ASSERT_EQ(ack.type, MessageType::ack);
  EXPECT_EQ(render(ack)->msg.server_id(), kIfaceV);
  // Naming the global server address instead is still ours (one server).
  Req other = tagged(MessageType::request, mac_of(1));
  other.requested = offer.yiaddr;
  other.server_id = kServer;
  EXPECT_EQ(send(other).type, MessageType::ack);
  // Other subnets keep the server's address.
  Req a;
  a.mac = mac_of(2);
  a.giaddr = kRelayA;
  EXPECT_EQ(send(a).server_id, kServer);
}

TEST_F(InterfaceAddressTest, CompiledListAndNeverHandedOut) {
  EXPECT_TRUE(shard_->config().is_interface_address(kIfaceV));
  EXPECT_FALSE(shard_->config().is_interface_address(kServer));
  EXPECT_FALSE(shard_->config().is_interface_address(ip(10, 8, 0, 2)));
  // Every pool address of the segment goes, never the interface address.
  for (std::uint32_t n = 1; n <= 4; ++n) {
    const Decision d = send(tagged(MessageType::discover, mac_of(100 + n)));
    if (d.verdict == Verdict::reply) {
      EXPECT_NE(d.yiaddr, kIfaceV);
    }
  }
  EXPECT_EQ(drops(DropReason::pool_exhausted), 1u);
}

TEST(InterfaceAddressCompile, RefusedWhereItCannotBe) {
  auto with = [](auto change) {
    EngineConfig c = iface_config();
    change(c.subnets.back());
    return compile(c);
  };
  EXPECT_TRUE(with([](SubnetConfig&) {}).ok());
  const CompileResult outside = with([](SubnetConfig& s) { s.interface_address = ip(10, 9, 0, 1); });
  EXPECT_FALSE(outside.ok());
  EXPECT_NE(outside.error.find("interface_address must be a host address inside the subnet"), std::string::npos)
      << outside.error;
  EXPECT_FALSE(with([](SubnetConfig& s) { s.interface_address = ip(10, 8, 0, 255); }).ok());
  const CompileResult pooled = with([](SubnetConfig& s) { s.interface_address = ip(10, 8, 0, 10); });
  EXPECT_NE(pooled.error.find("interface_address is in a pool"), std::string::npos) << pooled.error;
  const CompileResult differs = with([](SubnetConfig& s) { s.server_id = ip(10, 8, 0, 3); });
  EXPECT_NE(differs.error.find("server_id differs from interface_address"), std::string::npos) << differs.error;
  EXPECT_TRUE(with([](SubnetConfig& s) { s.server_id = kIfaceV; }).ok());
}

}  // namespace
}  // namespace dorado::engine
