// Reservations, extended (issue 16; engine/reservations.hpp): by MAC,
// client-id, option 82 circuit-id, remote-id and the pair; without address;
// hostname and options; global reservations; one device with two identities
// (PXE without option 61, then the OS with it); match_client_id = false.
#include "engine_fixture.hpp"

#include <string>
#include <vector>

namespace dorado::engine {
namespace {

using namespace testing_fixture;
using wire::MessageType;

constexpr Ipv4 kRelay = ip(10, 0, 0, 2);   // giaddr inside subnet A

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// Option 82 value with the sub-options given (empty: left out).
std::vector<std::uint8_t> rai(std::string_view circuit, std::string_view remote = {}) {
  std::vector<std::uint8_t> v;
  if (!circuit.empty()) {
    v.push_back(1);
    v.push_back(static_cast<std::uint8_t>(circuit.size()));
    v.insert(v.end(), circuit.begin(), circuit.end());
  }
  if (!remote.empty()) {
    v.push_back(2);
    v.push_back(static_cast<std::uint8_t>(remote.size()));
    v.insert(v.end(), remote.begin(), remote.end());
  }
  return v;
}

std::vector<std::uint8_t> id_of_mac(MacAddr m) {   // option 61 as most OSes send it
  std::vector<std::uint8_t> v(7);   // sized first: g++ 12 -Warray-bounds misfires on a 1-byte vector grown by insert
  v[0] = 1;
  for (std::size_t i = 0; i < 6; ++i) v[1 + i] = m.b[i];
  return v;
}

Reservation resv(Ipv4 address) {
  Reservation r;
  r.address = address;
  return r;
}

EngineConfig policy_config() {
  EngineConfig c;
  c.server_address = kServer;
  c.offer_hold_s = 30;
  c.decline_probation_s = 600;
  SubnetConfig a;
  a.id = 100;
  a.prefix = ip(10, 0, 0, 0);
  a.prefix_len = 24;
  a.pools = {{ip(10, 0, 0, 10), ip(10, 0, 0, 250)}};
  a.routers = {ip(10, 0, 0, 254)};
  a.options = {OptionData{42, encode_ipv4_list(std::vector<Ipv4>{ip(10, 0, 0, 123)}), false},
               OptionData{66, encode_string("tftp.subnet"), false}};
  Reservation pxe = resv(ip(10, 0, 0, 5));   // outside the pool
  pxe.mac = mac_of(0xaa);
  pxe.hostname = "pxe-box";
  Reservation line9 = resv(ip(10, 0, 0, 90));   // inside the pool
  line9.circuit_id = bytes("eth0/1/9");
  line9.hostname = "line-9";
  line9.options = {OptionData{66, encode_string("tftp.line9"), false}};
  Reservation remote = resv(ip(10, 0, 0, 91));
  remote.remote_id = bytes("cpe-91");
  Reservation pair = resv(ip(10, 0, 0, 92));
  pair.circuit_id = bytes("eth0/1/7");
  pair.remote_id = bytes("cpe-92");
  Reservation name_only;   // no address: hostname and an option
  name_only.mac = mac_of(0xbb);
  name_only.hostname = "named";
  name_only.options = {OptionData{42, encode_ipv4_list(std::vector<Ipv4>{ip(10, 0, 0, 200)}), false}};
  name_only.classes = {"gold"};
  Reservation by_id = resv(ip(10, 0, 0, 60));
  by_id.client_id = {0xff, 'r', 'e', 's'};
  a.reservations = {pxe, line9, remote, pair, name_only, by_id};
  SubnetConfig b;
  b.id = 200;
  b.prefix = ip(10, 1, 0, 0);
  b.prefix_len = 24;
  b.pools = {{ip(10, 1, 0, 10), ip(10, 1, 0, 100)}};
  b.match_client_id = false;
  c.subnets = {a, b};
  Reservation global_addr = resv(ip(10, 0, 0, 7));
  global_addr.mac = mac_of(0xcc);
  Reservation global_opts;   // no address: applies in every subnet
  global_opts.circuit_id = bytes("eth0/2/1");
  global_opts.options = {OptionData{66, encode_string("tftp.global"), false}};
  c.global_reservations = {global_addr, global_opts};
  ClassConfig gold;   // given by name_only's reservation (engine/classes.hpp)
  gold.name = "gold";
  c.classes = {gold};
  return c;
}

class PolicyTest : public EngineFixture {
 protected:
  void SetUp() override { build(policy_config(), test_sizes()); }

  Req relayed(MacAddr mac, std::vector<std::uint8_t> relay_info, MessageType type = MessageType::discover) {
    Req r;
    r.type = type;
    r.mac = mac;
    r.giaddr = kRelay;
    r.relay_info = std::move(relay_info);
    r.prl = {1, 3, 12, 42, 66};
    return r;
  }
  // DISCOVER then SELECTING REQUEST of the offered address, same options.
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
  static std::string text(const std::vector<std::uint8_t>& v) { return {v.begin(), v.end()}; }
};

TEST_F(PolicyTest, ByMacGivesAddressAndHostname) {
  Req r;
  r.mac = mac_of(0xaa);
  r.prl = {1, 3, 12};
  const Decision d = send(r);
  ASSERT_EQ(d.type, MessageType::offer);
  EXPECT_EQ(d.yiaddr, ip(10, 0, 0, 5));
  EXPECT_EQ(text(render(d)->option(12)), "pxe-box");
  EXPECT_EQ(dora_req(r), ip(10, 0, 0, 5));
  const auto c = shard_->changes();
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(std::string(c.back().hostname.data(), c.back().hostname_len), "pxe-box");
}

TEST_F(PolicyTest, ByCircuitIdWhateverTheMac) {
  const Decision d = send(relayed(mac_of(1), rai("eth0/1/9")));
  ASSERT_EQ(d.type, MessageType::offer);
  EXPECT_EQ(d.yiaddr, ip(10, 0, 0, 90));
  auto reply = render(d);
  EXPECT_EQ(text(reply->option(66)), "tftp.line9");   // the reservation's over the subnet's
  EXPECT_EQ(text(reply->option(12)), "line-9");
  EXPECT_EQ(reply->option(82), rai("eth0/1/9"));      // RFC 3046: echoed
  EXPECT_EQ(dora_req(relayed(mac_of(1), rai("eth0/1/9"))), ip(10, 0, 0, 90));
  // Another device on the line while the first holds the address: a pool
  // address and a counted conflict.
  const Decision other = send(relayed(mac_of(2), rai("eth0/1/9")));
  ASSERT_EQ(other.type, MessageType::offer);
  EXPECT_NE(other.yiaddr, ip(10, 0, 0, 90));
  EXPECT_EQ(events(Event::reservation_in_use), 1u);
}

TEST_F(PolicyTest, ByRemoteIdAndByThePair) {
  EXPECT_EQ(send(relayed(mac_of(1), rai("any", "cpe-91"))).yiaddr, ip(10, 0, 0, 91));
  EXPECT_EQ(send(relayed(mac_of(2), rai("eth0/1/7", "cpe-92"))).yiaddr, ip(10, 0, 0, 92));
  // Half the pair is no match.
  const Decision half = send(relayed(mac_of(3), rai("eth0/1/7")));
  ASSERT_EQ(half.type, MessageType::offer);
  EXPECT_NE(half.yiaddr, ip(10, 0, 0, 92));
  const Decision other_remote = send(relayed(mac_of(4), rai("eth0/1/7", "cpe-93")));
  EXPECT_NE(other_remote.yiaddr, ip(10, 0, 0, 92));
}

TEST_F(PolicyTest, ByClientId) {
  Req r;
  r.mac = mac_of(5);
  r.client_id = {0xff, 'r', 'e', 's'};
  EXPECT_EQ(dora_req(r), ip(10, 0, 0, 60));
}

TEST_F(PolicyTest, ReservedPoolAddressNeverGivenToAnother) {
  // A client asking for the circuit's reserved address by option 50 does not get it.
  const Decision d = discover(mac_of(9), ip(10, 0, 0, 90));
  ASSERT_EQ(d.type, MessageType::offer);
  EXPECT_NE(d.yiaddr, ip(10, 0, 0, 90));
  // Nor by SELECTING it.
  EXPECT_EQ(select(mac_of(9), ip(10, 0, 0, 90)).type, MessageType::nak);
  // Nor any of the 241 pool addresses' clients.
  for (std::uint32_t i = 0; i < 236; ++i) {
    const Ipv4 a = dora(mac_of(1000 + i));
    EXPECT_NE(a, ip(10, 0, 0, 90));
    EXPECT_NE(a, ip(10, 0, 0, 91));
    EXPECT_NE(a, ip(10, 0, 0, 92));
    EXPECT_NE(a, ip(10, 0, 0, 60));
    shard_->clear_changes();
  }
}

TEST_F(PolicyTest, WithoutAddressGivesHostnameOptionsAndClasses) {
  const Decision d = send([] {
    Req r;
    r.mac = mac_of(0xbb);
    r.prl = {1, 12, 42};
    return r;
  }());
  ASSERT_EQ(d.type, MessageType::offer);
  EXPECT_TRUE(d.yiaddr >= ip(10, 0, 0, 10) && d.yiaddr <= ip(10, 0, 0, 250));
  auto reply = render(d);
  EXPECT_EQ(text(reply->option(12)), "named");
  EXPECT_EQ(reply->option(42), be32(ip(10, 0, 0, 200)));
  // The classes are kept, resolved by name for the class matcher.
  const CompiledConfig& cc = shard_->config();
  bool found = false;
  for (const CompiledReservation& info : cc.reservation_infos)
    if (cc.hostname_of(info) == "named") {
      found = true;
      ASSERT_EQ(cc.classes_of(info).size(), 1u);
      EXPECT_EQ(cc.classes_of(info)[0], "gold");
    }
  EXPECT_TRUE(found);
  // A client without reservation gets the subnet's 42.
  Req plain;
  plain.mac = mac_of(0xbc);
  plain.prl = {1, 12, 42};
  const Decision p = send(plain);
  EXPECT_EQ(render(p)->option(42), be32(ip(10, 0, 0, 123)));
  EXPECT_TRUE(render(p)->option(12).empty());
}

// One device, two identities: a PXE ROM asks without option 61, the OS with
// it (and again without it at the next boot). The MAC reservation holds
// each time.
TEST_F(PolicyTest, PxeTwoIdentitiesKeepTheMacReservation) {
  Req os;
  os.mac = mac_of(0xaa);
  os.client_id = id_of_mac(mac_of(0xaa));
  Req pxe;
  pxe.mac = mac_of(0xaa);
  EXPECT_EQ(dora_req(os), ip(10, 0, 0, 5));   // the OS, with option 61
  EXPECT_EQ(dora_req(pxe), ip(10, 0, 0, 5));  // the PXE ROM, without it: still its reservation
  EXPECT_EQ(events(Event::reservation_in_use), 0u);
  EXPECT_EQ(events(Event::reservation_moved), 1u);
  EXPECT_EQ(dora_req(os), ip(10, 0, 0, 5));   // and the OS again
  EXPECT_EQ(events(Event::reservation_moved), 2u);
  // INIT-REBOOT of the other identity is ACKed too.
  Req reboot = pxe;
  reboot.type = MessageType::request;
  reboot.requested = ip(10, 0, 0, 5);
  EXPECT_EQ(send(reboot).type, MessageType::ack);
}

TEST_F(PolicyTest, AnotherDeviceDoesNotTakeAMacReservation) {
  EXPECT_EQ(dora(mac_of(0xaa)), ip(10, 0, 0, 5));
  // A client-id that claims the same device's reservation from another MAC.
  Req other;
  other.mac = mac_of(0xab);
  other.client_id = id_of_mac(mac_of(0xaa));
  const Decision d = send(other);
  EXPECT_NE(d.yiaddr, ip(10, 0, 0, 5));
}

TEST_F(PolicyTest, GlobalReservations) {
  EXPECT_EQ(dora(mac_of(0xcc)), ip(10, 0, 0, 7));   // its address lies in subnet A
  const Decision d = send(relayed(mac_of(6), rai("eth0/2/1")));
  ASSERT_EQ(d.type, MessageType::offer);
  EXPECT_EQ(text(render(d)->option(66)), "tftp.global");
}

TEST_F(PolicyTest, MatchClientIdFalseKeysLeasesByMac) {
  Req r;
  r.mac = mac_of(7);
  r.giaddr = ip(10, 1, 0, 1);   // subnet B: match_client_id = false
  r.client_id = {0x01, 'a'};
  const Ipv4 first = dora_req(r);
  ASSERT_NE(first, 0u);
  ASSERT_NE(lease_of(mac_of(7)), nullptr);   // keyed by the MAC
  r.client_id = {0x01, 'b'};                   // another OS on the same machine
  EXPECT_EQ(dora_req(r), first);
  EXPECT_EQ(shard_->leases().size(), 1u);
  // In subnet A (match_client_id = true) the two client-ids are two clients.
  Req a;
  a.mac = mac_of(8);
  a.client_id = {0x01, 'a'};
  const Ipv4 x = dora_req(a);
  a.client_id = {0x01, 'b'};
  EXPECT_NE(dora_req(a), x);
}

TEST(PolicyCompile, RefusesBadReservations) {
  {
    EngineConfig c = policy_config();
    c.subnets[0].reservations[0].circuit_id = bytes("x");   // mac + circuit_id
    const CompileResult r = compile(c);
    EXPECT_NE(r.error.find("two kinds of key"), std::string::npos) << r.error;
  }
  {
    EngineConfig c = policy_config();
    Reservation dup = resv(ip(10, 0, 0, 95));
    dup.circuit_id = bytes("eth0/1/9");
    c.subnets[0].reservations.push_back(dup);
    EXPECT_NE(compile(c).error.find("reserved twice"), std::string::npos);
  }
  {
    EngineConfig c = policy_config();
    c.global_reservations[0].address = ip(172, 16, 0, 1);
    EXPECT_NE(compile(c).error.find("in no subnet"), std::string::npos);
  }
  {
    EngineConfig c = policy_config();
    Reservation none;
    none.hostname = "x";
    c.subnets[0].reservations.push_back(none);
    EXPECT_NE(compile(c).error.find("no mac, client_id"), std::string::npos);
  }
}

}  // namespace
}  // namespace dorado::engine
