// Shard (engine.hpp): every message type and REQUEST state, allocation
// policy, expiry, reply addressing and options, plus randomized property
// tests. Requests are built with wire::build_dhcp_frame (op = 1) and parsed
// with parse_frame/DhcpMessage::parse, so everything goes through the codec.
#include "engine/engine.hpp"
#include "engine/reply_cache.hpp"
#include "engine_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace dorado::engine {
namespace {

using namespace testing_fixture;   // Req, make_packet, EngineFixture (tests/engine_fixture.hpp)

// ---- configuration used by most tests --------------------------------------------

// Subnet A 10.0.0.0/24 (interface subnet): pool .10-.250, reservations.
// Subnet B 10.1.0.0/16: relayed, ratios 0.4/0.7.
// Subnet C 10.2.0.0/24, subnet D 10.3.0.0/24: selection targets.
// Subnet E 192.168.5.0/24: four addresses, for exhaustion.
EngineConfig test_config() {
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
  a.dns_servers = {ip(8, 8, 8, 8), ip(1, 1, 1, 1)};
  a.domain_name = "example.net";
  a.lease_time = 3600;
  a.min_lease_time = 300;
  a.max_lease_time = 86400;
  Reservation by_mac;
  by_mac.mac = mac_of(0xaa);
  by_mac.address = ip(10, 0, 0, 5);   // outside the pool
  Reservation by_id;
  by_id.client_id = {0xff, 'r', 'e', 's'};
  by_id.address = ip(10, 0, 0, 60);   // inside the pool
  a.reservations = {by_mac, by_id};
  a.options = {OptionData{42, encode_ipv4_list(std::vector<Ipv4>{ip(10, 0, 0, 123)}), false},
               OptionData{43, std::vector<std::uint8_t>(400, 0x43), false},
               OptionData{66, encode_string("tftp.example.net"), true}};
  SubnetConfig b;
  b.id = 200;
  b.prefix = ip(10, 1, 0, 0);
  b.prefix_len = 16;
  b.pools = {{ip(10, 1, 0, 10), ip(10, 1, 0, 100)}};
  b.routers = {ip(10, 1, 0, 1)};
  b.t1_ratio = 0.4;
  b.t2_ratio = 0.7;
  b.lease_time = 1000;
  b.min_lease_time = 100;
  b.max_lease_time = 2000;
  SubnetConfig cc;
  cc.id = 300;
  cc.prefix = ip(10, 2, 0, 0);
  cc.prefix_len = 24;
  cc.pools = {{ip(10, 2, 0, 10), ip(10, 2, 0, 20)}};
  SubnetConfig d;
  d.id = 400;
  d.prefix = ip(10, 3, 0, 0);
  d.prefix_len = 24;
  d.pools = {{ip(10, 3, 0, 10), ip(10, 3, 0, 20)}};
  SubnetConfig e;
  e.id = 500;
  e.prefix = ip(192, 168, 5, 0);
  e.prefix_len = 24;
  e.pools = {{ip(192, 168, 5, 10), ip(192, 168, 5, 13)}};
  c.subnets = {a, b, cc, d, e};
  return c;
}

class EngineTest : public EngineFixture {
 protected:
  void SetUp() override { build(test_config(), test_sizes()); }
};

bool in_pool_a(Ipv4 a) { return a >= ip(10, 0, 0, 10) && a <= ip(10, 0, 0, 250); }

// ---- DISCOVER -------------------------------------------------------------------------

TEST_F(EngineTest, DiscoverOffersAPoolAddressWithMandatoryOptions) {
  const Decision d = discover(mac_of(1));
  ASSERT_EQ(d.verdict, Verdict::reply);
  EXPECT_EQ(d.type, MessageType::offer);
  EXPECT_TRUE(in_pool_a(d.yiaddr));
  EXPECT_NE(d.yiaddr, ip(10, 0, 0, 60));   // reserved for a client-id
  EXPECT_EQ(d.change_count, 0u);           // offers are not persisted
  EXPECT_TRUE(shard_->changes().empty());
  const Lease* l = lease_of(mac_of(1));
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->state, LeaseState::offered);
  EXPECT_EQ(l->expires, now_ + 30);

  auto r = render(d);
  EXPECT_EQ(r->msg.op, 2);
  EXPECT_EQ(r->msg.xid, 0x5eedu);
  EXPECT_EQ(r->msg.yiaddr, d.yiaddr);
  EXPECT_EQ(*r->msg.message_type(), MessageType::offer);
  EXPECT_EQ(*r->msg.server_id(), kServer);
  EXPECT_EQ(*r->msg.lease_time(), 3600u);
  EXPECT_EQ(*r->msg.renewal_time(), 1800u);
  EXPECT_EQ(*r->msg.rebinding_time(), 3150u);
  EXPECT_EQ(*r->msg.subnet_mask(), ip(255, 255, 255, 0));
  EXPECT_EQ(r->option(3), be32(ip(10, 0, 0, 254)));
  EXPECT_EQ(r->option(6), (std::vector<std::uint8_t>{8, 8, 8, 8, 1, 1, 1, 1}));
  EXPECT_EQ(*r->msg.domain_name(), "example.net");
  EXPECT_FALSE(r->msg.has(42));   // not requested
  EXPECT_TRUE(r->msg.has(66));    // always_send
  EXPECT_FALSE(r->msg.has(28));   // available, not requested
  EXPECT_EQ(events(Event::rx_discover), 1u);
  EXPECT_EQ(events(Event::tx_offer), 1u);
}

TEST_F(EngineTest, RequestedOptionsFollowTheClientsOrder) {
  Req q;
  q.prl = {42, 15, 28, 3, 1, 99};
  const Decision d = send(q);
  auto r = render(d);
  std::vector<std::uint8_t> order;
  for (std::uint8_t c : r->codes())
    if (c == 42 || c == 15 || c == 28 || c == 3 || c == 1) order.push_back(c);
  EXPECT_EQ(order, (std::vector<std::uint8_t>{42, 15, 28, 3, 1}));
  EXPECT_EQ(*r->msg.broadcast_address(), ip(10, 0, 0, 255));
  EXPECT_FALSE(r->msg.has(99));
}

TEST_F(EngineTest, MaxMessageSizeDecidesWhetherALargeOptionFits) {
  Req q;
  q.prl = {1, 43};
  const Decision d = send(q);   // no 57: 576 bytes, 400-byte option 43 does not fit
  auto small = render(d);
  EXPECT_FALSE(small->msg.has(43));
  EXPECT_TRUE(small->msg.has(51));
  EXPECT_LE(small->built.length - small->frame.udp.payload_offset, 576u - 28u);
  q.max_size = 1400;
  const Decision d2 = send(q);
  auto big = render(d2);
  EXPECT_EQ(big->option(43), std::vector<std::uint8_t>(400, 0x43));
}

// ReplyCache against build_reply over random requests: option 55 (lengths
// 0..70, repeats, codes the subnets have and have not, 61), client-ids
// (none, 2..255 bytes), option 82, option 57 (absent, small, large),
// VLAN tags, relays, three subnets (one with a 400-byte option), OFFERs,
// ACKs, NAKs. render() compares the bytes of every reply; this counts that
// the cache was used, missed and refilled after clear().
TEST_F(EngineTest, ReplyCacheWritesWhatBuildReplyWrites) {
  std::mt19937 rng(2026);
  auto pick = [&](std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); };
  const std::array<std::uint8_t, 16> codes{1, 3, 6, 15, 28, 42, 43, 51, 58, 59, 61, 66, 119, 121, 12, 82};
  std::vector<std::vector<std::uint8_t>> prls;   // a few recurring ones, as on a real network
  for (int i = 0; i < 6; ++i) {
    std::vector<std::uint8_t> prl(pick(i == 5 ? 71 : 14));
    for (auto& c : prl) c = pick(4) == 0 ? static_cast<std::uint8_t>(pick(256)) : codes[pick(codes.size())];
    prls.push_back(prl);
  }
  for (int i = 0; i < 600; ++i) {
    if (i == 300) replies_.clear();
    Req r;
    r.mac = mac_of(static_cast<std::uint32_t>(0x1000 + pick(50)));
    r.xid = static_cast<std::uint32_t>(rng());
    r.prl = prls[pick(prls.size())];
    switch (pick(4)) {
      case 0: break;
      case 1: r.client_id = std::vector<std::uint8_t>(2 + pick(254), static_cast<std::uint8_t>(i)); break;
      case 2: r.client_id = {0x00, static_cast<std::uint8_t>(pick(3))}; break;
      default: r.client_id = {0x01, 0x02, 0x00, 0x00, 0x00, static_cast<std::uint8_t>(pick(50))}; break;
    }
    if (pick(3) == 0) r.relay_info = std::vector<std::uint8_t>{1, 4, 'p', 'o', 'r', 't', 2, 2, 'r', 'i'};
    if (pick(3) == 0) {   // a long circuit-id
      const std::uint8_t n = static_cast<std::uint8_t>(1 + pick(200));
      r.relay_info = std::vector<std::uint8_t>(2 + n, 0x82);
      r.relay_info[0] = 1;
      r.relay_info[1] = n;
    }
    const std::uint32_t where = pick(3);
    if (where == 1) r.giaddr = ip(10, 1, 0, 1);
    if (where == 2) r.giaddr = ip(10, 2, 0, 1);
    if (pick(4) == 0) r.max_size = static_cast<std::uint16_t>(pick(2) == 0 ? 576 + pick(100) : 1500);
    if (pick(5) == 0) {
      r.vlan_count = 1;
      r.vlans[0] = wire::VlanTag{0x8100, static_cast<std::uint16_t>(1 + pick(4000))};
    }
    const Decision offer = send(r);
    if (offer.verdict == Verdict::reply) render(offer);
    r.type = MessageType::request;
    r.requested = pick(8) == 0 ? ip(10, 9, 9, 9) : offer.yiaddr;   // sometimes a NAK
    r.server_id = kServer;
    const Decision ack = send(r);
    if (ack.verdict == Verdict::reply) render(ack);
    if (HasFailure()) break;
  }
  const ReplyCache::Stats& st = replies_.stats();
  EXPECT_GT(st.hits, 100u) << st.fills << " fills, " << st.generic << " generic";
  EXPECT_GT(st.fills, 10u);
  EXPECT_GT(st.generic, 50u);
}

TEST_F(EngineTest, RequestedAddressIsOfferedWhenFree) {
  EXPECT_EQ(discover(mac_of(1), ip(10, 0, 0, 77)).yiaddr, ip(10, 0, 0, 77));
  // Held by client 1's offer: client 2 gets another one.
  const Decision d = discover(mac_of(2), ip(10, 0, 0, 77));
  EXPECT_NE(d.yiaddr, ip(10, 0, 0, 77));
  EXPECT_TRUE(in_pool_a(d.yiaddr));
  // Outside the pool, reserved, or in another subnet: ignored.
  EXPECT_TRUE(in_pool_a(discover(mac_of(3), ip(10, 0, 0, 251)).yiaddr));
  EXPECT_NE(discover(mac_of(4), ip(10, 0, 0, 60)).yiaddr, ip(10, 0, 0, 60));
  EXPECT_TRUE(in_pool_a(discover(mac_of(5), ip(10, 2, 0, 12)).yiaddr));
}

TEST_F(EngineTest, ReservationByMacWinsOverPoolAndRequest) {
  const Decision d = discover(mac_of(0xaa), ip(10, 0, 0, 77));
  EXPECT_EQ(d.yiaddr, ip(10, 0, 0, 5));
  EXPECT_EQ(select(mac_of(0xaa), ip(10, 0, 0, 5)).type, MessageType::ack);
  EXPECT_EQ(events(Event::reservation_used), 2u);
  // Asking for another address while holding a reservation: NAK.
  EXPECT_EQ(select(mac_of(0xaa), ip(10, 0, 0, 77)).type, MessageType::nak);
}

TEST_F(EngineTest, ReservationByClientIdWinsOverTheStickyAddress) {
  Req q;
  q.client_id = {0xff, 'r', 'e', 's'};
  q.mac = mac_of(9);
  const Decision d = send(q);
  EXPECT_EQ(d.yiaddr, ip(10, 0, 0, 60));
  // Nobody else gets the reserved address, even asking for it.
  EXPECT_NE(dora(mac_of(10), ip(10, 0, 0, 60)), ip(10, 0, 0, 60));
  EXPECT_EQ(select(mac_of(11), ip(10, 0, 0, 60)).type, MessageType::nak);
}

TEST_F(EngineTest, PoolExhaustionIsCountedAndNoOfferIsMade) {
  Req q;
  q.subnet_selection = ip(192, 168, 5, 0);
  std::set<Ipv4> got;
  for (std::uint32_t n = 0; n < 4; ++n) {
    q.mac = mac_of(100 + n);
    const Decision d = send(q);
    ASSERT_EQ(d.verdict, Verdict::reply);
    got.insert(d.yiaddr);
  }
  EXPECT_EQ(got.size(), 4u);
  q.mac = mac_of(200);
  const Decision d = send(q);
  EXPECT_EQ(d.verdict, Verdict::drop);
  EXPECT_EQ(d.drop, DropReason::pool_exhausted);
  EXPECT_EQ(drops(DropReason::pool_exhausted), 1u);
  EXPECT_EQ(lease_of(mac_of(200)), nullptr);   // no record left behind
  EXPECT_EQ(drop_name(DropReason::pool_exhausted), "pool_exhausted");
}

TEST_F(EngineTest, OfferHoldExpiresAndFreesTheAddress) {
  Req q;
  q.subnet_selection = ip(192, 168, 5, 0);
  std::vector<Ipv4> offered;
  for (std::uint32_t n = 0; n < 4; ++n) {
    q.mac = mac_of(100 + n);
    offered.push_back(send(q).yiaddr);
  }
  q.mac = mac_of(200);
  EXPECT_EQ(send(q).drop, DropReason::pool_exhausted);
  advance(29);
  EXPECT_EQ(send(q).drop, DropReason::pool_exhausted);
  advance(1);
  EXPECT_EQ(events(Event::offer_expired), 4u);
  EXPECT_EQ(lease_of(mac_of(100)), nullptr);   // never committed: forgotten
  const Decision d = send(q);
  ASSERT_EQ(d.verdict, Verdict::reply);
  EXPECT_NE(std::find(offered.begin(), offered.end(), d.yiaddr), offered.end());
  EXPECT_TRUE(shard_->changes().empty());
}

TEST_F(EngineTest, RepeatedDiscoverKeepsTheSameOffer) {
  const Ipv4 a = discover(mac_of(1)).yiaddr;
  now_ += 10;
  EXPECT_EQ(discover(mac_of(1)).yiaddr, a);
  EXPECT_EQ(lease_of(mac_of(1))->expires, now_ + 30);   // hold restarted
}

// ---- REQUEST: SELECTING ----------------------------------------------------------------

TEST_F(EngineTest, SelectingCommitsAndAcks) {
  Req q;
  q.hostname = "laptop";
  const Decision o = send(q);
  q.type = MessageType::request;
  q.requested = o.yiaddr;
  q.server_id = kServer;
  const Decision a = send(q);
  ASSERT_EQ(a.verdict, Verdict::reply);
  EXPECT_EQ(a.type, MessageType::ack);
  EXPECT_EQ(a.yiaddr, o.yiaddr);
  EXPECT_EQ(a.lease_time, 3600u);
  EXPECT_EQ(a.change_count, 1u);
  const auto changes = take_changes();
  ASSERT_EQ(changes.size(), 1u);
  const LeaseChange& c = changes[0];
  EXPECT_EQ(c.op, LeaseOp::commit);
  EXPECT_EQ(c.address, o.yiaddr);
  EXPECT_EQ(c.subnet_id, 100u);
  EXPECT_EQ(c.start, now_);
  EXPECT_EQ(c.expires, now_ + 3600);
  EXPECT_EQ(c.key_len, 8u);
  EXPECT_EQ(c.key[0], kKeyKindHw);
  EXPECT_EQ(c.key[1], 1u);
  EXPECT_EQ(0, std::memcmp(c.key.data() + 2, mac_of(1).b.data(), 6));
  EXPECT_EQ(c.chaddr, mac_of(1));
  EXPECT_EQ(std::string(c.hostname.data(), c.hostname_len), "laptop");
  EXPECT_EQ(c.seq, 1u);
  const Lease* l = lease_of(mac_of(1));
  EXPECT_EQ(l->state, LeaseState::active);
  EXPECT_EQ(shard_->leases().hostname(static_cast<std::uint32_t>(l - &shard_->leases().at(0))), "laptop");
  auto r = render(a);
  EXPECT_EQ(*r->msg.message_type(), MessageType::ack);
  EXPECT_EQ(r->msg.ciaddr, 0u);
}

TEST_F(EngineTest, SelectingAnotherServerReleasesTheOfferSilently) {
  const Ipv4 a = discover(mac_of(1)).yiaddr;
  const Decision d = select(mac_of(1), a, kOtherServer);
  EXPECT_EQ(d.verdict, Verdict::silent);
  EXPECT_EQ(events(Event::offer_released), 1u);
  EXPECT_EQ(lease_of(mac_of(1)), nullptr);
  // The address is free again at once.
  EXPECT_EQ(discover(mac_of(2), a).yiaddr, a);
}

TEST_F(EngineTest, SelectingAnotherServerLeavesABoundLeaseAlone) {
  const Ipv4 a = dora(mac_of(1));
  EXPECT_EQ(select(mac_of(1), a, kOtherServer).verdict, Verdict::silent);
  EXPECT_EQ(lease_of(mac_of(1))->state, LeaseState::active);
}

TEST_F(EngineTest, SelectingAfterALostOfferCommitsAFreeAddress) {
  const Decision a = select(mac_of(1), ip(10, 0, 0, 99));
  EXPECT_EQ(a.type, MessageType::ack);
  EXPECT_EQ(a.yiaddr, ip(10, 0, 0, 99));
}

TEST_F(EngineTest, SelectingAnAddressHeldByAnotherClientNaks) {
  const Ipv4 a = dora(mac_of(1));
  const Decision d = select(mac_of(2), a);
  EXPECT_EQ(d.type, MessageType::nak);
  EXPECT_EQ(lease_of(mac_of(1))->state, LeaseState::active);
  auto r = render(d);
  EXPECT_EQ(*r->msg.message_type(), MessageType::nak);
  EXPECT_EQ(r->msg.yiaddr, 0u);
  EXPECT_FALSE(r->msg.has(51));
  EXPECT_FALSE(r->msg.has(1));
  EXPECT_EQ(*r->msg.server_id(), kServer);
  EXPECT_EQ(r->frame.ip.dst, kBroadcast);
  EXPECT_EQ(r->frame.eth.dst, MacAddr::broadcast());
}

TEST_F(EngineTest, SelectingAnAddressOutsideThePoolNaks) {
  EXPECT_EQ(select(mac_of(1), ip(10, 0, 0, 253)).type, MessageType::nak);
  EXPECT_EQ(select(mac_of(1), ip(10, 2, 0, 12)).type, MessageType::nak);   // other subnet
}

// ---- REQUEST: INIT-REBOOT ------------------------------------------------------------------

Req init_reboot(MacAddr mac, Ipv4 addr) {
  Req r;
  r.type = MessageType::request;
  r.mac = mac;
  r.requested = addr;
  return r;
}

TEST_F(EngineTest, InitRebootWithTheClientsAddressAcks) {
  const Ipv4 a = dora(mac_of(1));
  take_changes();
  now_ += 100;
  const Decision d = send(init_reboot(mac_of(1), a));
  EXPECT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.yiaddr, a);
  EXPECT_EQ(events(Event::request_init_reboot), 1u);
  const auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::renew);
  EXPECT_EQ(c[0].expires, now_ + 3600);
}

TEST_F(EngineTest, InitRebootWithAnotherAddressNaks) {
  const Ipv4 a = dora(mac_of(1));
  const Decision d = send(init_reboot(mac_of(1), a == ip(10, 0, 0, 99) ? ip(10, 0, 0, 98) : ip(10, 0, 0, 99)));
  EXPECT_EQ(d.type, MessageType::nak);
  EXPECT_EQ(lease_of(mac_of(1))->address, a);   // the binding is untouched
}

TEST_F(EngineTest, InitRebootOnTheWrongSubnetNaks) {
  dora(mac_of(1));
  // Client moved to subnet C's link (relay there) but asks for its old address.
  Req q = init_reboot(mac_of(1), lease_of(mac_of(1))->address);
  q.giaddr = ip(10, 2, 0, 1);
  const Decision d = send(q);
  EXPECT_EQ(d.type, MessageType::nak);
  auto r = render(d);
  EXPECT_EQ(r->frame.ip.dst, ip(10, 2, 0, 1));      // NAK to the relay
  EXPECT_TRUE(r->msg.broadcast_flag());              // RFC 2131 4.3.2
  // Unknown clients on the wrong subnet also get the NAK.
  q.mac = mac_of(77);
  EXPECT_EQ(send(q).type, MessageType::nak);
}

TEST_F(EngineTest, InitRebootFromAnUnknownClientIsSilence) {
  const Decision d = send(init_reboot(mac_of(5), ip(10, 0, 0, 40)));
  EXPECT_EQ(d.verdict, Verdict::drop);
  EXPECT_EQ(d.drop, DropReason::init_reboot_unknown_client);
  EXPECT_EQ(drops(DropReason::init_reboot_unknown_client), 1u);
  EXPECT_EQ(lease_of(mac_of(5)), nullptr);
}

TEST_F(EngineTest, InitRebootForAReservationWithoutRecordAcks) {
  const Decision d = send(init_reboot(mac_of(0xaa), ip(10, 0, 0, 5)));
  EXPECT_EQ(d.type, MessageType::ack);
}

// ---- REQUEST: RENEWING / REBINDING ------------------------------------------------------

TEST_F(EngineTest, RenewingExtendsAndRepliesUnicastToCiaddr) {
  const Ipv4 a = dora(mac_of(1));
  take_changes();
  now_ += 1800;
  const Decision d = renew(mac_of(1), a, true);
  ASSERT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.yiaddr, a);
  EXPECT_EQ(events(Event::request_renewing), 1u);
  EXPECT_EQ(lease_of(mac_of(1))->expires, now_ + 3600);
  const auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::renew);
  auto r = render(d);
  EXPECT_EQ(r->frame.ip.dst, a);
  EXPECT_EQ(r->frame.eth.dst, mac_of(1));   // the request's source MAC
  EXPECT_EQ(r->frame.udp.dst_port, wire::kPortBootpc);
  EXPECT_EQ(r->msg.ciaddr, a);
  EXPECT_EQ(r->msg.yiaddr, a);
}

TEST_F(EngineTest, RebindingExtends) {
  const Ipv4 a = dora(mac_of(1));
  now_ += 3200;
  const Decision d = renew(mac_of(1), a, false);
  EXPECT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(events(Event::request_rebinding), 1u);
  EXPECT_EQ(lease_of(mac_of(1))->expires, now_ + 3600);
}

TEST_F(EngineTest, RenewingAnAddressThatIsNotTheClientsNaks) {
  const Ipv4 a = dora(mac_of(1));
  const Ipv4 b = dora(mac_of(2));
  EXPECT_EQ(renew(mac_of(2), a).type, MessageType::nak);
  EXPECT_EQ(renew(mac_of(3), a).type, MessageType::nak);                    // unknown client
  EXPECT_EQ(renew(mac_of(3), ip(10, 0, 0, 200), false).type, MessageType::nak);
  EXPECT_EQ(lease_of(mac_of(1))->state, LeaseState::active);
  EXPECT_EQ(lease_of(mac_of(2))->address, b);
}

TEST_F(EngineTest, RenewingAfterExpiryKeepsTheUnusedAddress) {
  const Ipv4 a = dora(mac_of(1));
  now_ += 4000;   // expired, not swept yet: the lookup expires it lazily
  const Decision d = renew(mac_of(1), a);
  EXPECT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.yiaddr, a);
  const auto c = take_changes();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[1].op, LeaseOp::expire);
  EXPECT_EQ(c[2].op, LeaseOp::commit);
}

// ---- split scope: another server's part ------------------------------------------------

// Pool A .10-.250 with .130-.250 served by a split-scope peer (excluded here).
TEST_F(EngineTest, SplitScopePeerPartIsNeverOfferedAndItsRenewalsAreLeftAlone) {
  EngineConfig cfg = test_config();
  cfg.subnets[0].exclusions.push_back({ip(10, 0, 0, 130), ip(10, 0, 0, 250)});
  cfg.peer_ranges.push_back({ip(10, 0, 0, 130), ip(10, 0, 0, 250)});
  build(cfg, test_sizes());
  std::set<Ipv4> given;
  for (std::uint32_t n = 1; n <= 200; ++n) {
    if (const Ipv4 a = dora(mac_of(n)); a != 0) given.insert(a);
    take_changes();
  }
  EXPECT_EQ(given.size(), 120u);   // .10-.129 minus reservation .60, plus .5 reserved for mac 0xaa
  EXPECT_LT(*given.rbegin(), ip(10, 0, 0, 130));
  EXPECT_GT(drops(DropReason::pool_exhausted), 0u);
  // The peer's client renews (unicast to its server, but say it reached us),
  // rebinds (broadcast) or reboots: silence, not NAK.
  const std::uint64_t naks = events(Event::tx_nak);
  Decision d = renew(mac_of(9000), ip(10, 0, 0, 140), true);
  EXPECT_EQ(d.verdict, Verdict::drop);
  EXPECT_EQ(d.drop, DropReason::peer_address);
  d = renew(mac_of(9000), ip(10, 0, 0, 140), false);
  EXPECT_EQ(d.drop, DropReason::peer_address);
  d = send(init_reboot(mac_of(9000), ip(10, 0, 0, 250)));
  EXPECT_EQ(d.drop, DropReason::peer_address);
  // Also for a client of ours whose record holds another address (it may
  // have moved to the peer since).
  d = renew(mac_of(1), ip(10, 0, 0, 200), false);
  EXPECT_EQ(d.drop, DropReason::peer_address);
  EXPECT_EQ(drops(DropReason::peer_address), 4u);
  EXPECT_EQ(events(Event::tx_nak), naks);
  // Our own part still NAKs a wrong address, and a SELECTING REQUEST naming
  // the peer's server id is the peer's (silent, as before).
  EXPECT_EQ(renew(mac_of(9001), ip(10, 0, 0, 20), false).type, MessageType::nak);
  EXPECT_EQ(select(mac_of(9002), ip(10, 0, 0, 140), kOtherServer).verdict, Verdict::silent);
}

// ---- config reload (Shard::reconfigure) -------------------------------------------------

class EngineReloadTest : public EngineTest {
 protected:
  // Switches the shard to `cfg`; the old snapshot stays alive until then.
  Shard::ReconfigureStats reload(const EngineConfig& cfg) {
    auto next = std::make_unique<CompileResult>(compile(cfg));
    EXPECT_TRUE(next->ok()) << next->error;
    Allocator fresh(next->config, shard_->identity());
    const Shard::ReconfigureStats st = shard_->reconfigure(next->config, fresh);
    compiled_ = std::move(next);   // the old config is unused from here
    EXPECT_EQ(shard_->audit(), "");
    return st;
  }
  // DORA for n fresh clients from mac_of(first); the ACKed addresses.
  std::vector<Ipv4> fill(std::uint32_t first, std::uint32_t n, Ipv4 giaddr = 0) {
    std::vector<Ipv4> out;
    for (std::uint32_t k = first; k < first + n; ++k) {
      Req d;
      d.mac = mac_of(k);
      d.giaddr = giaddr;
      const Decision o = send(d);
      if (o.verdict == Verdict::reply && o.type == MessageType::offer) {
        Req q = d;
        q.type = MessageType::request;
        q.requested = o.yiaddr;
        q.server_id = kServer;
        const Decision a = send(q);
        if (a.verdict == Verdict::reply && a.type == MessageType::ack) out.push_back(a.yiaddr);
      }
      take_changes();
    }
    return out;
  }
  static constexpr Ipv4 kRelayE = ip(192, 168, 5, 1);
};

TEST_F(EngineReloadTest, AddedPoolServesNewClientsAndKeepsTheLeases) {
  const std::vector<Ipv4> old = fill(1, 6, kRelayE);   // subnet E has 4 addresses
  ASSERT_EQ(old.size(), 4u);
  EXPECT_GT(drops(DropReason::pool_exhausted), 0u);
  EngineConfig cfg = test_config();
  cfg.subnets[4].pools.push_back({ip(192, 168, 5, 100), ip(192, 168, 5, 109)});
  const auto st = reload(cfg);
  EXPECT_EQ(st.kept, 4u);
  EXPECT_EQ(st.withdrawn, 0u);
  const std::vector<Ipv4> more = fill(100, 12, kRelayE);
  EXPECT_EQ(more.size(), 10u);
  for (Ipv4 a : more) EXPECT_TRUE(a >= ip(192, 168, 5, 100) && a <= ip(192, 168, 5, 109));
  // The old leases renew as before.
  Req r;
  r.type = MessageType::request;
  r.mac = mac_of(1);
  r.ciaddr = old[0];
  r.giaddr = kRelayE;
  EXPECT_EQ(send(r).type, MessageType::ack);
}

TEST_F(EngineReloadTest, RemovedPoolKeepsItsLeasesUntilExpiryAndNaksRenewals) {
  const std::vector<Ipv4> got = fill(1, 10);   // subnet A, from .10 up
  ASSERT_EQ(got.size(), 10u);
  // A released client leaves sticky history; an offer is pending.
  EXPECT_EQ(release(mac_of(10), got[9]).verdict, Verdict::silent);
  ASSERT_EQ(discover(mac_of(50)).type, MessageType::offer);
  take_changes();
  EngineConfig cfg = test_config();
  cfg.subnets[0].pools = {{ip(10, 0, 0, 100), ip(10, 0, 0, 250)}};   // .10-.99 gone
  const auto st = reload(cfg);
  EXPECT_EQ(st.withdrawn, 9u);
  EXPECT_EQ(st.history_kept, 0u);
  EXPECT_EQ(st.dropped, 2u);   // the released client's history and the offer
  EXPECT_EQ(shard_->withdrawn_leases(), 9u);
  // A renewal is NAKed and the address goes.
  Decision d = renew(mac_of(1), got[0]);
  EXPECT_EQ(d.type, MessageType::nak);
  EXPECT_EQ(events(Event::withdrawn_nak), 1u);
  EXPECT_EQ(lease_of(mac_of(1)), nullptr);
  auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::reclaim);
  EXPECT_EQ(shard_->withdrawn_leases(), 8u);
  // A DISCOVER moves the client to the remaining pool.
  d = discover(mac_of(2));
  ASSERT_EQ(d.type, MessageType::offer);
  EXPECT_GE(d.yiaddr, ip(10, 0, 0, 100));
  EXPECT_EQ(select(mac_of(2), d.yiaddr).type, MessageType::ack);
  // The pending offer's client starts over.
  EXPECT_EQ(select(mac_of(50), ip(10, 0, 0, 19)).type, MessageType::nak);
  take_changes();
  // The others expire on time: an expire record each, no sticky history.
  advance(3601);
  c = take_changes();
  EXPECT_EQ(std::count_if(c.begin(), c.end(), [](const LeaseChange& x) {
              return x.op == LeaseOp::expire && x.address < ip(10, 0, 0, 100);
            }),
            7);
  EXPECT_EQ(shard_->withdrawn_leases(), 0u);
  EXPECT_EQ(lease_of(mac_of(3)), nullptr);
  // Nobody ever gets .10-.99 again.
  for (Ipv4 a : fill(200, 20)) EXPECT_GE(a, ip(10, 0, 0, 100));
}

TEST_F(EngineReloadTest, RemovedSubnetLeasesExpireWithoutASubnet) {
  const std::vector<Ipv4> got = fill(1, 2, kRelayE);
  ASSERT_EQ(got.size(), 2u);
  EngineConfig cfg = test_config();
  cfg.subnets.pop_back();   // subnet E (192.168.5.0/24) removed
  const auto st = reload(cfg);
  EXPECT_EQ(st.withdrawn, 2u);
  EXPECT_EQ(lease_of(mac_of(1))->subnet, kNoSubnet);
  // The control API still finds the lease (subnet id 0), and a lookup
  // filtered by a subnet id does not match it.
  {
    AdminRequest q;
    q.op = AdminOp::find_key;
    const MacAddr m = mac_of(1);
    const ClientKey k = client_key_hw(1, {m.b.data(), m.b.size()});
    q.lease.key_len = k.len;
    std::memcpy(q.lease.key.data(), k.bytes.data(), k.len);
    std::array<AdminReply, kMaxAdminReplies> out;
    std::uint32_t n = shard_->admin(q, now_, out);
    ASSERT_GE(n, 1u);
    EXPECT_TRUE(out[0].has_lease);
    EXPECT_EQ(out[0].lease.subnet_id, 0u);
    EXPECT_EQ(out[0].lease.address, got[0]);
    q.filter = kAdminBySubnet;
    q.subnet_id = 500;   // the removed subnet E
    n = shard_->admin(q, now_, out);
    ASSERT_GE(n, 1u);
    EXPECT_FALSE(out[0].has_lease);
    take_changes();
  }
  // Its clients' requests now select no subnet; a RELEASE still ends the lease.
  Req r;
  r.type = MessageType::request;
  r.mac = mac_of(1);
  r.ciaddr = got[0];
  r.giaddr = kRelayE;
  EXPECT_EQ(send(r).drop, DropReason::no_subnet);
  EXPECT_EQ(release(mac_of(2), got[1]).verdict, Verdict::silent);
  auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::release);
  EXPECT_EQ(c[0].subnet_id, 0u);   // no subnet any more
  advance(3601);
  c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::expire);
  EXPECT_EQ(c[0].address, got[0]);
  EXPECT_EQ(shard_->leases().size(), 0u);
}

TEST_F(EngineReloadTest, NewOptionsAndLeaseTimeApplyToTheNextReply) {
  const Ipv4 a = dora(mac_of(1));
  ASSERT_NE(a, 0u);
  take_changes();
  EngineConfig cfg = test_config();
  cfg.subnets[0].dns_servers = {ip(9, 9, 9, 9)};
  cfg.subnets[0].lease_time = 7200;
  cfg.offer_hold_s = 5;
  const auto st = reload(cfg);
  EXPECT_EQ(st.kept, 1u);
  now_ += 100;
  const Decision d = renew(mac_of(1), a);
  ASSERT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.lease_time, 7200u);
  EXPECT_EQ(lease_of(mac_of(1))->expires, now_ + 7200);
  auto r = render(d);
  EXPECT_EQ(r->option(6), (std::vector<std::uint8_t>{9, 9, 9, 9}));
  // The new offer hold: an offer now lasts 5 s.
  ASSERT_EQ(discover(mac_of(2)).type, MessageType::offer);
  advance(6);
  EXPECT_EQ(events(Event::offer_expired), 1u);
}

TEST_F(EngineReloadTest, ReservationAddedForAnotherClientsAddressWaitsForTheLease) {
  const Ipv4 a = dora(mac_of(1));
  ASSERT_NE(a, 0u);
  take_changes();
  EngineConfig cfg = test_config();
  Reservation r;
  r.mac = mac_of(2);
  r.address = a;
  cfg.subnets[0].reservations.push_back(r);
  const auto st = reload(cfg);
  EXPECT_EQ(st.withdrawn, 1u);
  // The reserved client gets a dynamic address while the lease lasts ...
  Decision d = discover(mac_of(2));
  ASSERT_EQ(d.type, MessageType::offer);
  EXPECT_NE(d.yiaddr, a);
  EXPECT_EQ(events(Event::reservation_in_use), 1u);
  take_changes();
  // ... the holder is NAKed at its renewal, and then the reservation is free.
  EXPECT_EQ(renew(mac_of(1), a).type, MessageType::nak);
  d = discover(mac_of(2));
  ASSERT_EQ(d.type, MessageType::offer);
  EXPECT_EQ(d.yiaddr, a);
  EXPECT_EQ(select(mac_of(2), a).type, MessageType::ack);
  // The old holder moves to a pool address.
  const Ipv4 moved = dora(mac_of(1));
  EXPECT_NE(moved, 0u);
  EXPECT_NE(moved, a);
}

TEST_F(EngineReloadTest, ReservationForTheHolderItselfKeepsTheLease) {
  const Ipv4 a = dora(mac_of(1));
  take_changes();
  EngineConfig cfg = test_config();
  Reservation r;
  r.mac = mac_of(1);
  r.address = a;
  cfg.subnets[0].reservations.push_back(r);
  const auto st = reload(cfg);
  EXPECT_EQ(st.kept, 1u);
  EXPECT_EQ(st.withdrawn, 0u);
  EXPECT_EQ(renew(mac_of(1), a).type, MessageType::ack);
}

TEST_F(EngineReloadTest, ProbationAndHistoryInThePoolSurvive) {
  const std::vector<Ipv4> got = fill(1, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(decline(mac_of(1), got[0]).verdict, Verdict::silent);
  EXPECT_EQ(release(mac_of(2), got[1]).verdict, Verdict::silent);
  take_changes();
  EngineConfig cfg = test_config();
  cfg.subnets[0].dns_servers = {ip(9, 9, 9, 9)};
  const auto st = reload(cfg);
  EXPECT_EQ(st.kept, 2u);          // the probation and client 3's lease
  EXPECT_EQ(st.history_kept, 1u);  // client 2's released address, still sticky for it
  EXPECT_EQ(discover(mac_of(2)).yiaddr, got[1]);
  EXPECT_NE(discover(mac_of(9)).yiaddr, got[0]);   // in probation
}

// Two shards; a reload that inserts a subnet before the others renumbers
// every block: ownership follows the address, so no lease changes shard and
// the two shards still never hand out one address twice.
TEST(EngineReload, BlockOwnershipSurvivesRenumberingAcrossShards) {
  EngineConfig cfg = test_config();
  auto c1 = std::make_unique<CompileResult>(compile(cfg));
  ASSERT_TRUE(c1->ok());
  ShardConfig sz = test_sizes(1024);
  sz.change_log_capacity = 1024;
  std::vector<std::unique_ptr<Shard>> shards;
  for (std::uint32_t k = 0; k < 2; ++k) {
    sz.identity = {k, 2};
    shards.push_back(Shard::create(c1->config, sz).shard);
  }
  std::set<Ipv4> leased;
  auto dora_on = [&](Shard& sh, std::uint32_t n) {
    Req d;
    d.mac = mac_of(n);
    d.giaddr = ip(10, 1, 0, 1);   // subnet B, 10.1.0.10-100: two blocks
    auto p = make_packet(d);
    const Decision o = sh.handle(p->msg, p->rx, kStart);
    if (o.type != MessageType::offer || o.verdict != Verdict::reply) return Ipv4{0};
    Req q = d;
    q.type = MessageType::request;
    q.requested = o.yiaddr;
    q.server_id = kServer;
    auto pq = make_packet(q);
    const Decision a = sh.handle(pq->msg, pq->rx, kStart);
    sh.clear_changes();
    return a.type == MessageType::ack ? a.yiaddr : Ipv4{0};
  };
  for (std::uint32_t n = 1; n <= 40; ++n)
    if (const Ipv4 a = dora_on(*shards[n % 2], n); a != 0) {
      EXPECT_TRUE(leased.insert(a).second);
    }
  EngineConfig next = test_config();
  SubnetConfig z;
  z.id = 1;
  z.prefix = ip(9, 0, 0, 0);
  z.prefix_len = 24;
  z.pools = {{ip(9, 0, 0, 10), ip(9, 0, 0, 140)}};   // three blocks, before all others
  next.subnets.insert(next.subnets.begin(), z);
  next.subnets[2].pools = {{ip(10, 1, 0, 10), ip(10, 1, 0, 200)}};
  auto c2 = std::make_unique<CompileResult>(compile(next));
  ASSERT_TRUE(c2->ok());
  for (auto& sh : shards) {
    Allocator fresh(c2->config, sh->identity());
    const auto st = sh->reconfigure(c2->config, fresh);
    EXPECT_EQ(st.withdrawn, 0u);
    EXPECT_EQ(st.dropped, 0u);
    EXPECT_EQ(sh->audit(), "");
  }
  c1.reset();
  for (std::uint32_t n = 100; n <= 400; ++n)
    if (const Ipv4 a = dora_on(*shards[n % 2], n); a != 0) {
      EXPECT_TRUE(leased.insert(a).second) << "address leased twice";
    }
  EXPECT_EQ(leased.size(), 191u);   // all of .10-.200, each once
  for (auto& sh : shards) EXPECT_EQ(sh->audit(), "");
}

// ---- sticky allocation and expiry ------------------------------------------------------------

TEST_F(EngineTest, StickyAddressSurvivesReleaseAndExpiry) {
  const Ipv4 a = dora(mac_of(1));
  // Other clients come and go meanwhile.
  for (std::uint32_t n = 2; n < 20; ++n) dora(mac_of(n));
  EXPECT_EQ(release(mac_of(1), a).verdict, Verdict::silent);
  for (std::uint32_t n = 20; n < 40; ++n) dora(mac_of(n));
  EXPECT_EQ(dora(mac_of(1)), a);
  take_changes();
  advance(3600);
  EXPECT_EQ(lease_of(mac_of(1))->state, LeaseState::expired);
  EXPECT_EQ(events(Event::lease_expire), 39u);
  for (std::uint32_t n = 40; n < 60; ++n) dora(mac_of(n));
  EXPECT_EQ(dora(mac_of(1)), a);
}

TEST_F(EngineTest, ExpiryByAdvancingTheClockEmitsExpire) {
  const Ipv4 a = dora(mac_of(1));
  take_changes();
  advance(3599);
  EXPECT_EQ(lease_of(mac_of(1))->state, LeaseState::active);
  advance(1);
  EXPECT_EQ(lease_of(mac_of(1))->state, LeaseState::expired);
  const auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::expire);
  EXPECT_EQ(c[0].address, a);
  EXPECT_EQ(c[0].expires, kStart + 3600);
  // Free again (sticky): the pool count includes it.
  const SlotId s = shard_->addresses().slot_of(0, a);
  EXPECT_TRUE(shard_->addresses().is_free(s));
  EXPECT_TRUE(shard_->addresses().is_sticky(s));
}

TEST_F(EngineTest, StickyAddressesGoToOthersOnlyWhenNothingCleanIsLeft) {
  Req q;
  q.subnet_selection = ip(192, 168, 5, 0);
  std::map<std::uint32_t, Ipv4> first;
  for (std::uint32_t n = 0; n < 4; ++n) {
    q.mac = mac_of(100 + n);
    q.type = MessageType::discover;
    q.requested = 0;
    q.server_id = 0;
    const Decision o = send(q);
    q.type = MessageType::request;
    q.requested = o.yiaddr;
    q.server_id = kServer;
    ASSERT_EQ(send(q).type, MessageType::ack);
    first[100 + n] = o.yiaddr;
  }
  advance(3600);   // all four expire, all four addresses sticky
  take_changes();
  q.type = MessageType::discover;
  q.requested = 0;
  q.server_id = 0;
  q.mac = mac_of(300);
  const Decision d = send(q);
  ASSERT_EQ(d.verdict, Verdict::reply);
  // It took one client's sticky address: that record is reclaimed.
  const auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::reclaim);
  EXPECT_EQ(c[0].address, d.yiaddr);
  EXPECT_EQ(events(Event::lease_reclaim), 1u);
  int still = 0;
  for (auto [n, a] : first) {
    const Lease* l = lease_of(mac_of(n));
    if (a == d.yiaddr) {
      EXPECT_EQ(l, nullptr);
    } else {
      ASSERT_NE(l, nullptr);
      EXPECT_EQ(l->address, a);
      ++still;
    }
  }
  EXPECT_EQ(still, 3);
}

// ---- DECLINE ---------------------------------------------------------------------------

TEST_F(EngineTest, DeclinePutsTheAddressInProbation) {
  EngineConfig cfg = test_config();
  cfg.subnets[4].pools = {{ip(192, 168, 5, 10), ip(192, 168, 5, 10)}};   // one address
  build(cfg, test_sizes());
  Req q;
  q.subnet_selection = ip(192, 168, 5, 0);
  const Decision o = send(q);
  const Ipv4 a = o.yiaddr;
  q.type = MessageType::request;
  q.requested = a;
  q.server_id = kServer;
  ASSERT_EQ(send(q).type, MessageType::ack);
  take_changes();
  q.type = MessageType::decline;
  EXPECT_EQ(send(q).verdict, Verdict::silent);
  auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::decline);
  EXPECT_EQ(c[0].address, a);
  EXPECT_EQ(c[0].expires, now_ + 600);
  EXPECT_EQ(c[0].key_len, 8u);
  EXPECT_EQ(lease_of(mac_of(1)), nullptr);
  const Lease* p = shard_->lease_at_address(a);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->state, LeaseState::declined);
  // Nobody gets it during probation, not even the same client.
  Req d = q;
  d.type = MessageType::discover;
  d.requested = 0;
  d.server_id = 0;
  EXPECT_EQ(send(d).drop, DropReason::pool_exhausted);
  d.mac = mac_of(2);
  EXPECT_EQ(send(d).drop, DropReason::pool_exhausted);
  advance(599);
  EXPECT_EQ(send(d).drop, DropReason::pool_exhausted);
  advance(1);
  c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::expire);
  EXPECT_EQ(c[0].key_len, 0u);   // the address alone
  EXPECT_EQ(c[0].address, a);
  EXPECT_EQ(events(Event::probation_ended), 1u);
  EXPECT_EQ(send(d).yiaddr, a);
}

TEST_F(EngineTest, DeclineOfAnAddressNotTheClientsIsDropped) {
  const Ipv4 a = dora(mac_of(1));
  EXPECT_EQ(decline(mac_of(2), a).drop, DropReason::decline_not_leased);
  EXPECT_EQ(decline(mac_of(1), a + 1).drop, DropReason::decline_not_leased);
  Req q;
  q.type = MessageType::decline;
  q.mac = mac_of(1);
  EXPECT_EQ(send(q).drop, DropReason::decline_without_address);
  q.requested = a;
  q.server_id = kOtherServer;
  EXPECT_EQ(send(q).drop, DropReason::other_server_id);
  EXPECT_EQ(lease_of(mac_of(1))->state, LeaseState::active);
}

// ---- RELEASE ---------------------------------------------------------------------------

TEST_F(EngineTest, ReleaseFreesTheAddressAndKeepsItSticky) {
  const Ipv4 a = dora(mac_of(1));
  take_changes();
  const Decision d = release(mac_of(1), a);
  EXPECT_EQ(d.verdict, Verdict::silent);
  EXPECT_EQ(d.change_count, 1u);
  const auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::release);
  EXPECT_EQ(c[0].address, a);
  EXPECT_EQ(lease_of(mac_of(1))->state, LeaseState::released);
  const SlotId s = shard_->addresses().slot_of(0, a);
  EXPECT_TRUE(shard_->addresses().is_free(s));
  EXPECT_TRUE(shard_->addresses().is_sticky(s));
  // A second release, or one for another address, is refused.
  EXPECT_EQ(release(mac_of(1), a).drop, DropReason::release_not_leased);
  EXPECT_EQ(release(mac_of(2), a).drop, DropReason::release_not_leased);
}

// ---- INFORM ----------------------------------------------------------------------------

TEST_F(EngineTest, InformGetsOptionsWithoutALease) {
  Req q;
  q.type = MessageType::inform;
  q.ciaddr = ip(10, 0, 0, 240);
  q.unicast = true;
  q.prl = {1, 3, 6, 42};
  const Decision d = send(q);
  ASSERT_EQ(d.verdict, Verdict::reply);
  EXPECT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.change_count, 0u);
  EXPECT_EQ(lease_of(mac_of(1)), nullptr);
  auto r = render(d);
  EXPECT_EQ(r->msg.yiaddr, 0u);
  EXPECT_EQ(r->msg.ciaddr, ip(10, 0, 0, 240));
  EXPECT_FALSE(r->msg.has(51));
  EXPECT_FALSE(r->msg.has(58));
  EXPECT_FALSE(r->msg.has(59));
  EXPECT_EQ(*r->msg.subnet_mask(), ip(255, 255, 255, 0));
  EXPECT_EQ(r->option(42), be32(ip(10, 0, 0, 123)));
  EXPECT_EQ(r->frame.ip.dst, ip(10, 0, 0, 240));
  EXPECT_EQ(r->frame.eth.dst, mac_of(1));
  EXPECT_EQ(r->frame.udp.dst_port, wire::kPortBootpc);
}

TEST_F(EngineTest, InformSelectsTheSubnetOfCiaddrAndNeedsAnAddress) {
  Req q;
  q.type = MessageType::inform;
  q.ciaddr = ip(10, 1, 2, 3);
  q.unicast = true;
  const Decision d = send(q);
  ASSERT_EQ(d.verdict, Verdict::reply);
  EXPECT_EQ(d.subnet->id, 200u);
  q.ciaddr = 0;
  q.unicast = false;
  EXPECT_EQ(send(q).drop, DropReason::inform_without_address);
}

// ---- lease time, T1/T2 ----------------------------------------------------------------------

TEST_F(EngineTest, LeaseTimeIsClampedToMinAndMax) {
  Req q;
  q.lease_time = 10;
  EXPECT_EQ(send(q).lease_time, 300u);
  q.lease_time = 10'000'000;
  EXPECT_EQ(send(q).lease_time, 86400u);
  q.lease_time = 7200;
  const Decision d = send(q);
  EXPECT_EQ(d.lease_time, 7200u);
  EXPECT_EQ(d.t1, 3600u);
  EXPECT_EQ(d.t2, 6300u);
  // The commit uses the same clamped time.
  q.type = MessageType::request;
  q.requested = d.yiaddr;
  q.server_id = kServer;
  q.lease_time = 1;
  const Decision a = send(q);
  EXPECT_EQ(a.lease_time, 300u);
  EXPECT_EQ(lease_of(mac_of(1))->expires, now_ + 300);
}

TEST_F(EngineTest, T1AndT2FollowTheSubnetRatios) {
  Req q;
  q.giaddr = ip(10, 1, 0, 1);
  const Decision d = send(q);
  ASSERT_EQ(d.verdict, Verdict::reply);
  EXPECT_EQ(d.lease_time, 1000u);
  EXPECT_EQ(d.t1, 400u);
  EXPECT_EQ(d.t2, 700u);
  auto r = render(d);
  EXPECT_EQ(*r->msg.renewal_time(), 400u);
  EXPECT_EQ(*r->msg.rebinding_time(), 700u);
  EXPECT_EQ(*r->msg.subnet_mask(), ip(255, 255, 0, 0));
}

// ---- subnet selection ---------------------------------------------------------------------

// 82 with circuit-id, remote-id and (optionally) link selection.
std::vector<std::uint8_t> relay_info(std::optional<Ipv4> link) {
  std::vector<std::uint8_t> v{1, 4, 'e', 't', 'h', '0', 2, 3, 0xde, 0xad, 0x01};
  if (link) {
    v.insert(v.end(), {5, 4});
    auto b = be32(*link);
    v.insert(v.end(), b.begin(), b.end());
  }
  return v;
}

TEST_F(EngineTest, SubnetSelectionPrecedence) {
  Req q;
  q.subnet_selection = ip(10, 3, 0, 0);                 // D
  q.relay_info = relay_info(ip(10, 2, 0, 0));           // C
  q.giaddr = ip(10, 1, 0, 1);                           // B
  q.interface = kServer;                                // A
  EXPECT_EQ(send(q).subnet->id, 400u);
  q.subnet_selection.reset();
  q.mac = mac_of(2);
  EXPECT_EQ(send(q).subnet->id, 300u);
  q.relay_info = relay_info(std::nullopt);
  q.mac = mac_of(3);
  EXPECT_EQ(send(q).subnet->id, 200u);
  q.giaddr = 0;
  q.relay_info.clear();
  q.mac = mac_of(4);
  EXPECT_EQ(send(q).subnet->id, 100u);
  q.interface = ip(172, 16, 0, 1);
  q.mac = mac_of(5);
  const Decision none = send(q);
  EXPECT_EQ(none.drop, DropReason::no_subnet);
  // A selection address matching nothing does not fall back.
  q.interface = kServer;
  q.subnet_selection = ip(172, 16, 0, 0);
  EXPECT_EQ(send(q).drop, DropReason::no_subnet);
}

// A relay whose giaddr lies in no subnet (a routed hop, a loopback address)
// selects the subnet that lists it in SubnetConfig::relays.
constexpr Ipv4 kFarRelay = ip(172, 30, 0, 1);   // listed by subnet C (300)

EngineConfig relay_config() {
  EngineConfig c = test_config();
  c.subnets[2].relays = {kFarRelay, ip(10, 2, 0, 1)};   // the second is inside C itself
  return c;
}

bool in_pool_c(Ipv4 a) { return a >= ip(10, 2, 0, 10) && a <= ip(10, 2, 0, 20); }

// The id of the subnet a decision came from; 0 when none (a drop).
std::uint32_t subnet_id(const Decision& d) { return d.subnet != nullptr ? d.subnet->id : 0; }

TEST_F(EngineTest, RelayOutsideEverySubnetSelectsTheSubnetListingIt) {
  build(relay_config(), test_sizes());
  Req q;
  q.giaddr = kFarRelay;
  const Decision o = send(q);
  ASSERT_EQ(o.verdict, Verdict::reply);
  ASSERT_EQ(o.type, MessageType::offer);
  ASSERT_NE(o.subnet, nullptr);
  EXPECT_EQ(o.subnet->id, 300u);
  EXPECT_TRUE(in_pool_c(o.yiaddr)) << o.yiaddr;
  auto r = render(o);
  EXPECT_EQ(r->frame.ip.dst, kFarRelay);   // back to the relay, port 67
  EXPECT_EQ(r->frame.udp.dst_port, wire::kPortBootps);
  EXPECT_EQ(r->frame.eth.dst, kRelayMac);
  EXPECT_EQ(*r->msg.subnet_mask(), ip(255, 255, 255, 0));

  q.type = MessageType::request;
  q.requested = o.yiaddr;
  q.server_id = kServer;
  const Decision a = send(q);
  ASSERT_EQ(a.type, MessageType::ack);
  EXPECT_EQ(a.yiaddr, o.yiaddr);
  EXPECT_EQ(lease_of(q.mac)->state, LeaseState::active);
  EXPECT_EQ(shard_->config().subnets[lease_of(q.mac)->subnet].id, 300u);

  // REBINDING through the same relay, then RENEWING straight to the server
  // (giaddr 0, ciaddr inside C) both find the lease.
  now_ += 3200;
  Req rebind;
  rebind.type = MessageType::request;
  rebind.ciaddr = a.yiaddr;
  rebind.giaddr = kFarRelay;
  EXPECT_EQ(send(rebind).type, MessageType::ack);
  EXPECT_EQ(renew(q.mac, a.yiaddr, true).type, MessageType::ack);
  EXPECT_EQ(drops(DropReason::no_subnet), 0u);
}

TEST_F(EngineTest, RelayInsideItsSubnetStillSelectsByContainment) {
  build(relay_config(), test_sizes());
  Req q;
  q.giaddr = ip(10, 2, 0, 1);
  EXPECT_EQ(subnet_id(send(q)), 300u);
  q.mac = mac_of(2);
  q.giaddr = ip(10, 1, 0, 1);   // B lists no relay: containment as before
  EXPECT_EQ(subnet_id(send(q)), 200u);
}

TEST_F(EngineTest, UnlistedRelayOutsideEverySubnetIsNoSubnet) {
  build(relay_config(), test_sizes());
  Req q;
  q.giaddr = ip(172, 30, 0, 2);
  q.interface = kServer;   // no fallback to the interface's subnet (A)
  const Decision d = send(q);
  EXPECT_EQ(d.verdict, Verdict::drop);
  EXPECT_EQ(d.drop, DropReason::no_subnet);
  EXPECT_EQ(drops(DropReason::no_subnet), 1u);
  EXPECT_EQ(lease_of(q.mac), nullptr);
  // Nor with the default config, where no subnet lists any relay.
  build(test_config(), test_sizes());
  q.giaddr = kFarRelay;
  EXPECT_EQ(send(q).drop, DropReason::no_subnet);
}

TEST_F(EngineTest, SelectionOptionsStillBeatTheRelayList) {
  build(relay_config(), test_sizes());
  Req q;
  q.giaddr = kFarRelay;
  q.relay_info = relay_info(ip(10, 3, 0, 0));   // 82.5 -> D
  EXPECT_EQ(subnet_id(send(q)), 400u);
  q.mac = mac_of(2);
  q.relay_info = relay_info(std::nullopt);
  q.subnet_selection = ip(10, 1, 0, 0);         // 118 -> B
  EXPECT_EQ(subnet_id(send(q)), 200u);
  q.mac = mac_of(3);
  q.subnet_selection.reset();
  EXPECT_EQ(subnet_id(send(q)), 300u);   // only then the relay list
}

TEST_F(EngineTest, RelayAgentInfoIsEchoedByteForByte) {
  Req q;
  q.giaddr = ip(10, 1, 0, 1);
  q.relay_info = relay_info(std::nullopt);
  q.relay_info.insert(q.relay_info.end(), {9, 5, 0, 0, 0x0d, 0xe9, 0x00});   // RFC 4243 vendor
  const Decision o = send(q);
  auto r = render(o);
  EXPECT_EQ(r->option(82), q.relay_info);
  q.type = MessageType::request;
  q.requested = o.yiaddr;
  q.server_id = kServer;
  const Decision a = send(q);
  EXPECT_EQ(render(a)->option(82), q.relay_info);
  // And in a NAK.
  q.requested = ip(10, 1, 0, 200);
  q.mac = mac_of(9);
  const Decision n = send(q);
  ASSERT_EQ(n.type, MessageType::nak);
  EXPECT_EQ(render(n)->option(82), q.relay_info);
}

// The worker writes each reply over its request (ReplyCache::build_over).
// A request with IPv4 options has a 24-byte IPv4 header; the reply's is 20,
// so the reply's DHCP message starts 4 bytes before the request's and
// overlaps every request byte it echoes (chaddr, 61, 82). render() builds it
// that way and compares it with build_reply's bytes.
TEST_F(EngineTest, ReplyWrittenOverARequestWithIpOptions) {
  Ipv4 offered = 0;
  for (const MessageType type : {MessageType::discover, MessageType::request}) {
    Req r;
    r.type = type;
    r.mac = mac_of(0x4242);
    r.client_id = {0x01, 0x02, 0x00, 0x00, 0x00, 0x42, 0x42};
    r.giaddr = ip(10, 1, 0, 1);
    r.relay_info = {1, 6, 'e', 't', 'h', '0', '/', '1', 2, 3, 'a', 'b', 'c'};
    if (type == MessageType::request) {
      r.requested = offered;
      r.server_id = kServer;
    }
    std::unique_ptr<Packet> p = make_packet(r);
    // Four bytes of IPv4 options (NOP NOP NOP EOL) after the IPv4 header.
    const std::size_t ip = p->frame.eth.l3_offset;
    const std::array<std::uint8_t, 4> options{1, 1, 1, 0};
    p->bytes.insert(p->bytes.begin() + static_cast<std::ptrdiff_t>(ip + 20), options.begin(), options.end());
    p->bytes[ip] = 0x46;
    wire::store_be16(&p->bytes[ip + 2], static_cast<std::uint16_t>(wire::load_be16(&p->bytes[ip + 2]) + 4));
    wire::store_be16(&p->bytes[ip + 10], 0);
    wire::store_be16(&p->bytes[ip + 10], wire::ipv4_header_checksum({&p->bytes[ip], 24}));
    ASSERT_EQ(parse_packet(*p, r.interface), wire::Error::ok);
    ASSERT_EQ(p->frame.error, wire::Error::ok);
    ASSERT_EQ(p->frame.ip.header_length, 24);
    last_ = std::move(p);
    const Decision d = shard_->handle(last_->msg, last_->rx, now_);
    ASSERT_EQ(d.verdict, Verdict::reply);
    EXPECT_EQ(d.type, type == MessageType::discover ? MessageType::offer : MessageType::ack);
    offered = d.yiaddr;
    const std::uint64_t generic = replies_.stats().generic;
    const std::unique_ptr<Reply> reply = render(d);
    EXPECT_EQ(replies_.stats().generic, generic) << "built the generic way, not over the request";
    EXPECT_EQ(reply->option(wire::opt::client_id), r.client_id);
    EXPECT_EQ(reply->option(wire::opt::relay_agent_info), r.relay_info);
  }
}

// write_head() stores siaddr .. chaddr and sname/file only where the bytes
// under it differ (a request's are nearly always the reply's). A request with
// siaddr, sname and file set (not overloaded) must still get a reply with
// siaddr 0 and both fields zero, written over it as into a zeroed buffer; and
// a buffer left full of an earlier frame's bytes gives the same reply.
TEST_F(EngineTest, ReplyOverARequestWithSnameFileAndSiaddrClearsThem) {
  for (const MessageType type : {MessageType::discover, MessageType::request}) {
    Req r;
    r.type = type;
    r.mac = mac_of(0x5151);
    if (type == MessageType::request) {
      r.requested = lease_of(mac_of(0x5151))->address;
      r.server_id = kServer;
    }
    std::unique_ptr<Packet> p = make_packet(r);
    const std::size_t bootp = p->frame.udp.payload_offset;
    wire::store_be32(&p->bytes[bootp + 20], ip(192, 0, 2, 9));   // siaddr
    const std::string sname = "bootserver.example";
    const std::string file = "/tftpboot/pxelinux.0";
    std::memcpy(&p->bytes[bootp + 44], sname.data(), sname.size());
    std::memcpy(&p->bytes[bootp + 108], file.data(), file.size());
    p->bytes[bootp + 235] = 0x7f;   // the last byte of file
    wire::store_be16(&p->bytes[p->frame.udp.payload_offset - 2], 0);   // UDP checksum: not set
    ASSERT_EQ(parse_packet(*p, r.interface), wire::Error::ok);
    ASSERT_EQ(p->frame.error, wire::Error::ok);
    ASSERT_EQ(p->msg.siaddr, ip(192, 0, 2, 9));
    last_ = std::move(p);
    const Decision d = shard_->handle(last_->msg, last_->rx, now_);
    ASSERT_EQ(d.verdict, Verdict::reply);
    const std::unique_ptr<Reply> reply = render(d);   // over the request, compared byte for byte
    EXPECT_EQ(reply->msg.siaddr, 0u);
    const std::size_t at = reply->frame.udp.payload_offset;
    for (std::size_t i = 44; i < wire::kBootpFixedSize; ++i)
      ASSERT_EQ(reply->bytes[at + i], 0) << "sname/file byte " << i << " of the reply";
    // Into a buffer holding other bytes, as a worker's scratch does.
    std::vector<std::uint8_t> dirty(1600, 0xa5);
    const wire::BuildResult b = build_reply(shard_->config(), d, last_->msg, last_->rx, dirty);
    ASSERT_EQ(b.error, wire::Error::ok);
    dirty.resize(b.length);
    EXPECT_EQ(dirty, reply->bytes);
  }
}

TEST_F(EngineTest, ClientIdIsEchoed) {
  Req q;
  q.client_id = {1, 2, 3, 4, 5, 6, 7};
  auto r = render(send(q));
  EXPECT_EQ(r->option(61), q.client_id);
}

// ---- reply addressing (RFC 2131 4.1) ---------------------------------------------------------

TEST_F(EngineTest, RelayedRepliesGoToTheRelayPort67AtItsMac) {
  Req q;
  q.giaddr = ip(10, 1, 0, 1);
  q.broadcast_flag = true;   // irrelevant when relayed
  auto r = render(send(q));
  EXPECT_EQ(r->frame.ip.dst, ip(10, 1, 0, 1));
  EXPECT_EQ(r->frame.ip.src, kServer);
  EXPECT_EQ(r->frame.udp.dst_port, wire::kPortBootps);
  EXPECT_EQ(r->frame.udp.src_port, wire::kPortBootps);
  EXPECT_EQ(r->frame.eth.dst, kRelayMac);
  EXPECT_EQ(r->frame.eth.src, kServerMac);
  EXPECT_EQ(r->msg.giaddr, ip(10, 1, 0, 1));
}

TEST_F(EngineTest, BroadcastFlagMeansBroadcast) {
  Req q;
  q.broadcast_flag = true;
  auto r = render(send(q));
  EXPECT_EQ(r->frame.ip.dst, kBroadcast);
  EXPECT_EQ(r->frame.eth.dst, MacAddr::broadcast());
  EXPECT_TRUE(r->msg.broadcast_flag());
}

TEST_F(EngineTest, OtherwiseUnicastToYiaddrAtChaddr) {
  const Decision d = discover(mac_of(7));
  auto r = render(d);
  EXPECT_EQ(r->frame.ip.dst, d.yiaddr);
  EXPECT_EQ(r->frame.eth.dst, mac_of(7));
  EXPECT_EQ(r->frame.udp.dst_port, wire::kPortBootpc);
  EXPECT_EQ(r->msg.chaddr_mac(), mac_of(7));
}

TEST_F(EngineTest, VlanTagsAreKept) {
  Req q;
  q.vlan_count = 2;
  q.vlans = {wire::VlanTag{wire::kEtherTypeQinQ, 100}, wire::VlanTag{wire::kEtherTypeVlan, 0x2000 | 42}};
  auto r = render(send(q));
  ASSERT_EQ(r->frame.eth.vlan_count, 2);
  EXPECT_EQ(r->frame.eth.vlans[0], q.vlans[0]);
  EXPECT_EQ(r->frame.eth.vlans[1], q.vlans[1]);
}

// ---- refusals -----------------------------------------------------------------------------

TEST_F(EngineTest, FullLeaseTableIsACountedRefusal) {
  build(test_config(), test_sizes(4));
  for (std::uint32_t n = 0; n < 4; ++n) ASSERT_EQ(discover(mac_of(n)).verdict, Verdict::reply);
  const Decision d = discover(mac_of(99));
  EXPECT_EQ(d.drop, DropReason::lease_table_full);
  EXPECT_EQ(drops(DropReason::lease_table_full), 1u);
  EXPECT_EQ(shard_->leases().capacity(), 4u);
  // An inactive record makes room: the oldest one is reclaimed.
  for (std::uint32_t n = 0; n < 4; ++n) select(mac_of(n), lease_of(mac_of(n))->address);
  release(mac_of(2), lease_of(mac_of(2))->address);
  take_changes();
  EXPECT_EQ(discover(mac_of(99)).verdict, Verdict::reply);
  const auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::reclaim);
  EXPECT_EQ(lease_of(mac_of(2)), nullptr);
}

TEST_F(EngineTest, LongClientIdsUseTheKeyStore) {
  Req q;
  q.client_id.assign(100, 0x5a);
  const Decision o = send(q);
  ASSERT_EQ(o.verdict, Verdict::reply);
  q.type = MessageType::request;
  q.requested = o.yiaddr;
  q.server_id = kServer;
  ASSERT_EQ(send(q).type, MessageType::ack);
  const auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].key_len, 101u);
  EXPECT_EQ(c[0].key[0], kKeyKindClientId);
  EXPECT_EQ(c[0].key[100], 0x5a);
  q.client_id.assign(200, 0x5a);
  q.type = MessageType::discover;
  EXPECT_EQ(send(q).drop, DropReason::client_id_too_long);
}

TEST_F(EngineTest, MessagesAServerDoesNotAcceptAreDropped) {
  Req q;
  q.type = MessageType::offer;
  EXPECT_EQ(send(q).drop, DropReason::unexpected_message_type);
  q.type = MessageType::request;
  EXPECT_EQ(send(q).drop, DropReason::request_without_address);
}

// Without change bodies (durability off) the log still numbers every
// change, as the runtime's held ACKs and counts need, and leaves the rest
// of each record unwritten; the decisions are the same.
TEST_F(EngineTest, ChangeLogWithoutBodiesKeepsSeqAndOp) {
  std::vector<LeaseChange> with, without;
  std::vector<Ipv4> acked;
  for (const bool bodies : {true, false}) {
    ShardConfig sizes = test_sizes();
    sizes.change_bodies = bodies;
    build(test_config(), sizes);
    acked.push_back(dora(mac_of(0x77)));
    EXPECT_NE(acked.back(), 0u);
    (bodies ? with : without) = take_changes();
  }
  EXPECT_EQ(acked[0], acked[1]);
  ASSERT_FALSE(with.empty());
  ASSERT_EQ(with.size(), without.size());
  for (std::size_t i = 0; i < with.size(); ++i) {
    EXPECT_EQ(with[i].seq, without[i].seq);
    EXPECT_EQ(with[i].op, without[i].op);
    EXPECT_NE(with[i].key_len, 0);
    EXPECT_EQ(without[i].key_len, 0) << "a body was written";
    EXPECT_EQ(without[i].address, 0u);
  }
}

TEST_F(EngineTest, AnUndrainedChangeLogRefusesWork) {
  ShardConfig s = test_sizes();
  s.change_log_capacity = 5;
  build(test_config(), s);
  dora(mac_of(1));
  dora(mac_of(2));
  const Decision d = discover(mac_of(3));   // 3 free slots < 4 needed
  EXPECT_EQ(d.drop, DropReason::change_log_full);
  shard_->clear_changes();
  EXPECT_EQ(discover(mac_of(3)).verdict, Verdict::reply);
}

TEST_F(EngineTest, ShardsFromOneConfigNeverShareAnAddress) {
  ShardConfig s0 = test_sizes(), s1 = test_sizes();
  s0.identity = {0, 2};
  s1.identity = {1, 2};
  auto a = Shard::create(compiled_->config, s0);
  auto b = Shard::create(compiled_->config, s1);
  ASSERT_TRUE(a.shard && b.shard);
  std::set<Ipv4> seen;
  for (std::uint32_t n = 0; n < 400; ++n) {
    Req q;
    q.mac = mac_of(n);
    q.giaddr = ip(10, 1, 0, 1);   // subnet B: 91 addresses, two blocks
    auto p = make_packet(q);
    Shard& s = (n % 2 == 0) ? *a.shard : *b.shard;
    const Decision d = s.handle(p->msg, p->rx, now_);
    if (d.verdict == Verdict::reply) {
      EXPECT_TRUE(seen.insert(d.yiaddr).second);
    }
  }
  EXPECT_EQ(seen.size(), 91u);
}

TEST_F(EngineTest, RenewRecordsCarryNoHostnameCommitRecordsDo) {
  Req q;
  q.hostname = "laptop";
  const Decision o = send(q);
  q.type = MessageType::request;
  q.requested = o.yiaddr;
  q.server_id = kServer;
  send(q);
  send(q);
  const auto c = take_changes();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].op, LeaseOp::commit);
  EXPECT_EQ(c[0].hostname_len, 6u);
  EXPECT_EQ(c[1].op, LeaseOp::renew);
  EXPECT_EQ(c[1].hostname_len, 0u);
  EXPECT_EQ(c[1].seq, c[0].seq + 1);
}

// handle_burst must decide exactly as handle() one request after the other,
// including when requests of one burst depend on each other.
TEST_F(EngineTest, BurstDecisionsEqualSequentialOnes) {
  build(test_config(), test_sizes(64));
  auto twin = Shard::create(compiled_->config, test_sizes(64));
  auto& one = *shard_;
  auto& burst = *twin.shard;
  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::unique_ptr<Packet>> packets;
    std::vector<Shard::Request> reqs;
    const std::size_t n = 1 + rng() % Shard::kMaxBurst;
    for (std::size_t i = 0; i < n; ++i) {
      Req q;
      q.mac = mac_of(rng() % 90);
      const unsigned what = rng() % 4;
      q.type = what == 0 ? MessageType::discover : what == 1 ? MessageType::release : MessageType::request;
      if (what == 2) {
        q.requested = ip(10, 0, 0, 10 + rng() % 60);
        q.server_id = kServer;
      } else if (what == 3 || what == 1) {
        q.ciaddr = ip(10, 0, 0, 10 + rng() % 60);
        q.server_id = what == 1 ? kServer : 0;
      }
      packets.push_back(make_packet(q));
      reqs.push_back({&packets.back()->msg, &packets.back()->rx});
    }
    const Shard::Burst b = burst.handle_burst(reqs, now_);
    ASSERT_EQ(b.count, n);
    for (std::size_t i = 0; i < n; ++i) {
      const Decision d = one.handle(*reqs[i].msg, *reqs[i].rx, now_);
      ASSERT_EQ(d.verdict, b.decisions[i].verdict) << round << "/" << i;
      ASSERT_EQ(d.drop, b.decisions[i].drop);
      ASSERT_EQ(d.type, b.decisions[i].type);
      ASSERT_EQ(d.yiaddr, b.decisions[i].yiaddr);
      ASSERT_EQ(d.change_count, b.decisions[i].change_count);
    }
    ASSERT_EQ(one.changes().size(), burst.changes().size());
    for (std::size_t i = 0; i < one.changes().size(); ++i)
      ASSERT_EQ(0, std::memcmp(&one.changes()[i], &burst.changes()[i], sizeof(LeaseChange)));
    one.clear_changes();
    burst.clear_changes();
    now_ += rng() % 50;
    one.sweep(now_, 1000);
    burst.sweep(now_, 1000);
  }
  EXPECT_EQ(burst.audit(), "");
  EXPECT_GT(one.counters().event(Event::tx_ack), 50u);
}

// ---- restore (start-up from the store) -------------------------------------------------

// A stored record as the store hands it back (StoredLease = LeaseChange).
LeaseChange stored(LeaseOp op, MacAddr mac, Ipv4 addr, Seconds start, Seconds expires,
                   const std::string& host = "") {
  LeaseChange c;
  c.op = op;
  const ClientKey k = client_key_hw(1, wire::Bytes{mac.b.data(), 6});
  c.key_len = k.len;
  std::memcpy(c.key.data(), k.bytes.data(), k.len);
  c.htype = 1;
  c.chaddr = mac;
  c.address = addr;
  c.start = start;
  c.expires = expires;
  c.hostname_len = static_cast<std::uint8_t>(host.size());
  std::memcpy(c.hostname.data(), host.data(), host.size());
  c.subnet_id = 12345;   // informational only
  return c;
}

LeaseChange probation(Ipv4 addr, Seconds start, Seconds expires) {
  LeaseChange c;
  c.op = LeaseOp::decline;
  c.address = addr;
  c.start = start;
  c.expires = expires;
  return c;
}

TEST_F(EngineTest, RestoredActiveLeaseIsAckedOnInitRebootAndRenewing) {
  const Ipv4 a = ip(10, 0, 0, 50);
  ASSERT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(1), a, now_ - 100, now_ + 1000, "laptop"), now_),
            RestoreStatus::restored);
  EXPECT_TRUE(shard_->changes().empty());   // the store already has it
  EXPECT_EQ(shard_->last_seq(), 0u);
  EXPECT_EQ(shard_->audit(), "");
  const Lease* l = lease_of(mac_of(1));
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->state, LeaseState::active);
  EXPECT_EQ(l->address, a);
  EXPECT_EQ(l->start, now_ - 100);
  EXPECT_EQ(l->expires, now_ + 1000);
  EXPECT_EQ(l->chaddr, mac_of(1));
  EXPECT_EQ(shard_->lease_at_address(a), l);
  EXPECT_EQ(shard_->leases().hostname(static_cast<std::uint32_t>(l - &shard_->leases().at(0))), "laptop");

  const Decision o = discover(mac_of(1));
  EXPECT_EQ(o.type, MessageType::offer);
  EXPECT_EQ(o.yiaddr, a);
  now_ += 10;
  Decision d = send(init_reboot(mac_of(1), a));
  EXPECT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.yiaddr, a);
  auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::renew);   // persisted: the store knows the binding
  EXPECT_EQ(c[0].seq, 1u);
  d = renew(mac_of(1), a);
  EXPECT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.yiaddr, a);
  EXPECT_EQ(d.lease_time, 3600u);
  c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::renew);
}

TEST_F(EngineTest, RestoredActiveLeaseExpiresAndProbationEndsOnTime) {
  ASSERT_EQ(shard_->restore(stored(LeaseOp::renew, mac_of(1), ip(10, 0, 0, 50), now_, now_ + 100), now_),
            RestoreStatus::restored);
  ASSERT_EQ(shard_->restore(probation(ip(10, 0, 0, 51), now_ - 10, now_ + 200), now_), RestoreStatus::restored);
  advance(100);
  auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::expire);
  EXPECT_EQ(c[0].address, ip(10, 0, 0, 50));
  EXPECT_EQ(lease_of(mac_of(1))->state, LeaseState::expired);
  advance(100);
  c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::expire);
  EXPECT_EQ(c[0].key_len, 0u);
  EXPECT_EQ(c[0].address, ip(10, 0, 0, 51));
  EXPECT_EQ(shard_->lease_at_address(ip(10, 0, 0, 51)), nullptr);
}

// A /28 pool: every address restored as held is out of reach of new
// clients; the history address goes to a newcomer only when nothing clean
// is left.
TEST_F(EngineTest, NewClientsNeverGetRestoredActiveOrProbationAddresses) {
  EngineConfig cfg = test_config();
  SubnetConfig f;
  f.id = 600;
  f.prefix = ip(10, 6, 0, 0);
  f.prefix_len = 24;
  f.pools = {{ip(10, 6, 0, 16), ip(10, 6, 0, 31)}};   // 16 addresses
  cfg.subnets = {f};
  cfg.server_address = ip(10, 6, 0, 1);
  build(cfg, test_sizes());
  std::set<Ipv4> held;
  for (unsigned i = 0; i < 8; ++i) {   // .16, .18, ... .30
    const Ipv4 a = ip(10, 6, 0, 16 + 2 * i);
    ASSERT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(1000 + i), a, now_, now_ + 500), now_),
              RestoreStatus::restored);
    held.insert(a);
  }
  for (Ipv4 a : {ip(10, 6, 0, 17), ip(10, 6, 0, 19)}) {
    ASSERT_EQ(shard_->restore(probation(a, now_, now_ + 500), now_), RestoreStatus::restored);
    held.insert(a);
  }
  const Ipv4 history = ip(10, 6, 0, 21);
  ASSERT_EQ(shard_->restore(stored(LeaseOp::release, mac_of(2000), history, now_ - 50, now_ - 20), now_),
            RestoreStatus::history);
  EXPECT_EQ(shard_->audit(), "");
  ASSERT_EQ(held.size(), 10u);
  std::vector<Ipv4> got;
  for (std::uint32_t n = 0; n < 20; ++n) {
    Req q;
    q.mac = mac_of(n);
    q.interface = ip(10, 6, 0, 1);
    const Decision o = send(q);
    if (o.verdict != Verdict::reply) {
      EXPECT_EQ(o.drop, DropReason::pool_exhausted);
      break;
    }
    EXPECT_FALSE(held.count(o.yiaddr)) << "restored address offered to a new client";
    q.type = MessageType::request;
    q.requested = o.yiaddr;
    q.server_id = ip(10, 6, 0, 1);
    const Decision a = send(q);
    ASSERT_EQ(a.type, MessageType::ack);
    got.push_back(a.yiaddr);
  }
  ASSERT_EQ(got.size(), 6u);   // 16 - 10 held
  EXPECT_EQ(got.back(), history);   // sticky: handed out last
  EXPECT_EQ(std::set<Ipv4>(got.begin(), got.end()).size(), got.size());
}

TEST_F(EngineTest, ReturningClientGetsItsRestoredHistoryAddress) {
  const Ipv4 expired = ip(10, 0, 0, 77), released = ip(10, 0, 0, 78);
  // A commit that ran out while the server was down, and a release.
  ASSERT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(5), expired, now_ - 5000, now_ - 1400), now_),
            RestoreStatus::history);
  ASSERT_EQ(shard_->restore(stored(LeaseOp::release, mac_of(6), released, now_ - 500, now_ - 100), now_),
            RestoreStatus::history);
  ASSERT_EQ(shard_->restore(stored(LeaseOp::expire, mac_of(7), ip(10, 0, 0, 79), now_ - 500, now_ - 100), now_),
            RestoreStatus::history);
  EXPECT_EQ(lease_of(mac_of(5))->state, LeaseState::expired);
  EXPECT_EQ(lease_of(mac_of(6))->state, LeaseState::released);
  EXPECT_TRUE(shard_->addresses().is_sticky(shard_->addresses().slot_of(0, expired)));
  EXPECT_TRUE(shard_->changes().empty());
  // Newcomers get clean addresses, not the sticky ones.
  for (std::uint32_t n = 100; n < 110; ++n) {
    const Ipv4 a = dora(mac_of(n));
    EXPECT_NE(a, expired);
    EXPECT_NE(a, released);
  }
  take_changes();
  EXPECT_EQ(dora(mac_of(5)), expired);
  EXPECT_EQ(send(init_reboot(mac_of(6), released)).type, MessageType::ack);
  const auto c = take_changes();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].op, LeaseOp::commit);
  EXPECT_EQ(c[1].op, LeaseOp::commit);
  EXPECT_EQ(c[1].address, released);
}

TEST_F(EngineTest, EachRestoreRefusalHasItsStatus) {
  const Seconds until = now_ + 1000;
  // Outside every subnet; in a subnet but in no block (subnet C: pool .10-.20).
  EXPECT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(1), ip(172, 16, 0, 1), now_, until), now_),
            RestoreStatus::no_subnet);
  EXPECT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(1), ip(10, 2, 0, 200), now_, until), now_),
            RestoreStatus::no_subnet);
  // In a block but outside the pool; the server's own address.
  EXPECT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(1), ip(10, 2, 0, 30), now_, until), now_),
            RestoreStatus::not_in_pool);
  EXPECT_EQ(shard_->restore(probation(ip(10, 2, 0, 30), now_, until), now_), RestoreStatus::not_in_pool);
  // Reserved for another client (10.0.0.60: client-id ff 'res'; 10.0.0.5: MAC aa).
  EXPECT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(1), ip(10, 0, 0, 60), now_, until), now_),
            RestoreStatus::conflict);
  EXPECT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(1), ip(10, 0, 0, 5), now_, until), now_),
            RestoreStatus::conflict);
  // ... but the owner of the reservation gets it back.
  EXPECT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(0xaa), ip(10, 0, 0, 5), now_, until), now_),
            RestoreStatus::restored);
  EXPECT_EQ(send(init_reboot(mac_of(0xaa), ip(10, 0, 0, 5))).type, MessageType::ack);
  take_changes();
  // Held by another active lease; the client already holds another one.
  EXPECT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(2), ip(10, 0, 0, 50), now_, until), now_),
            RestoreStatus::restored);
  EXPECT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(3), ip(10, 0, 0, 50), now_, until), now_),
            RestoreStatus::conflict);
  EXPECT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(2), ip(10, 0, 0, 51), now_, until), now_),
            RestoreStatus::conflict);
  EXPECT_EQ(shard_->restore(probation(ip(10, 0, 0, 50), now_, until), now_), RestoreStatus::conflict);
  // Not a lease.
  LeaseChange bad = stored(LeaseOp::commit, mac_of(4), ip(10, 0, 0, 52), now_, until);
  bad.key[0] = 7;
  EXPECT_EQ(shard_->restore(bad, now_), RestoreStatus::invalid);
  bad = stored(LeaseOp::commit, mac_of(4), ip(10, 0, 0, 52), now_, until);
  bad.key_len = 200;
  EXPECT_EQ(shard_->restore(bad, now_), RestoreStatus::invalid);
  bad = stored(LeaseOp::reclaim, mac_of(4), ip(10, 0, 0, 52), now_, until);
  EXPECT_EQ(shard_->restore(bad, now_), RestoreStatus::invalid);
  bad = probation(ip(10, 0, 0, 52), now_, until);
  bad.op = LeaseOp::commit;   // a binding without a client
  EXPECT_EQ(shard_->restore(bad, now_), RestoreStatus::invalid);
  bad = stored(LeaseOp::commit, mac_of(4), ip(10, 0, 0, 52), now_, until);
  bad.op = static_cast<LeaseOp>(99);
  EXPECT_EQ(shard_->restore(bad, now_), RestoreStatus::invalid);
  bad = stored(LeaseOp::commit, mac_of(4), ip(10, 0, 0, 52), now_, until);
  bad.hostname_len = 64;
  EXPECT_EQ(shard_->restore(bad, now_), RestoreStatus::invalid);
  // Nothing left to hold: a probation over, an ended-probation record.
  EXPECT_EQ(shard_->restore(probation(ip(10, 0, 0, 53), now_ - 700, now_ - 100), now_), RestoreStatus::history);
  LeaseChange ended = probation(ip(10, 0, 0, 53), now_ - 700, now_ - 100);
  ended.op = LeaseOp::expire;
  EXPECT_EQ(shard_->restore(ended, now_), RestoreStatus::history);
  EXPECT_EQ(shard_->lease_at_address(ip(10, 0, 0, 53)), nullptr);
  EXPECT_EQ(shard_->audit(), "");
  EXPECT_TRUE(shard_->changes().empty());

  // A pool address in a block another shard owns.
  ShardConfig s1 = test_sizes();
  s1.identity = {1, 2};
  auto other = Shard::create(compiled_->config, s1);
  ASSERT_TRUE(other.shard);
  // Subnet B's pool spans two blocks (10.1.0.0/26 -> shard 0 of 2, .64/26 -> shard 1).
  LeaseChange lo = stored(LeaseOp::commit, mac_of(9), ip(10, 1, 0, 20), now_, until);
  LeaseChange hi = stored(LeaseOp::commit, mac_of(9), ip(10, 1, 0, 70), now_, until);
  const std::uint32_t b_lo = compiled_->config.block_of(compiled_->config.subnets[1], lo.address);
  ASSERT_EQ(b_lo + 1, compiled_->config.block_of(compiled_->config.subnets[1], hi.address));
  const bool lo_ours = shard_of_block_base(compiled_->config.blocks[b_lo].base, 2) == 1;
  const LeaseChange theirs = lo_ours ? hi : lo;
  // History there: nobody holds the address, nothing to install.
  EXPECT_EQ(other.shard->restore(stored(LeaseOp::release, mac_of(8), theirs.address, now_ - 90, now_ - 10), now_),
            RestoreStatus::wrong_shard);
  EXPECT_EQ(other.shard->restore(stored(LeaseOp::expire, mac_of(8), theirs.address, now_ - 90, now_ - 10), now_),
            RestoreStatus::wrong_shard);
  EXPECT_EQ(other.shard->restore(stored(LeaseOp::commit, mac_of(8), theirs.address, now_ - 90, now_), now_),
            RestoreStatus::wrong_shard);   // ran out: history
  EXPECT_EQ(other.shard->restore(probation(theirs.address, now_, until), now_), RestoreStatus::wrong_shard);
  // An active lease there is foreign; the client's second one is a conflict.
  EXPECT_EQ(other.shard->restore(theirs, now_), RestoreStatus::foreign);
  EXPECT_EQ(other.shard->restore(lo_ours ? lo : hi, now_), RestoreStatus::conflict);
  EXPECT_EQ(other.shard->audit(), "");
  EXPECT_EQ(block_owner_of(theirs, compiled_->config, 2), 0u);
  EXPECT_EQ(block_owner_of(theirs, compiled_->config, 1), 0u);
  EXPECT_EQ(block_owner_of(stored(LeaseOp::commit, mac_of(9), ip(172, 16, 0, 1), now_, until), compiled_->config, 2),
            0u);
  // The hold goes to the block owner only.
  EXPECT_EQ(other.shard->restore_hold(theirs, now_), RestoreStatus::wrong_shard);
  EXPECT_EQ(other.shard->restore_hold(lo_ours ? lo : hi, now_), RestoreStatus::restored);
  EXPECT_EQ(other.shard->audit(), "");
  EXPECT_TRUE(other.shard->changes().empty());

  // Table full: history yields to active leases, else the record is refused.
  build(test_config(), test_sizes(2));
  EXPECT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(1), ip(10, 0, 0, 50), now_, until), now_),
            RestoreStatus::restored);
  EXPECT_EQ(shard_->restore(stored(LeaseOp::release, mac_of(2), ip(10, 0, 0, 51), now_, now_), now_),
            RestoreStatus::history);
  EXPECT_EQ(shard_->restore(stored(LeaseOp::release, mac_of(3), ip(10, 0, 0, 52), now_, now_), now_),
            RestoreStatus::table_full);
  EXPECT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(4), ip(10, 0, 0, 53), now_, until), now_),
            RestoreStatus::restored);
  EXPECT_EQ(lease_of(mac_of(2)), nullptr);   // evicted
  EXPECT_EQ(shard_->restore(probation(ip(10, 0, 0, 54), now_, until), now_), RestoreStatus::table_full);
  EXPECT_EQ(shard_->audit(), "");
  EXPECT_TRUE(shard_->changes().empty());

  EXPECT_EQ(restore_status_name(RestoreStatus::restored), "restored");
  EXPECT_EQ(restore_status_name(RestoreStatus::wrong_shard), "wrong_shard");
  EXPECT_EQ(restore_status_name(RestoreStatus::invalid), "invalid");
  EXPECT_EQ(restore_status_name(RestoreStatus::foreign), "foreign");
  EXPECT_EQ(restore_status_name(static_cast<RestoreStatus>(200)), "invalid_status");
}

TEST_F(EngineTest, RestoreResolvesDuplicateRecordsWhateverTheOrder) {
  const Seconds until = now_ + 1000;
  const Ipv4 a = ip(10, 0, 0, 50), b = ip(10, 0, 0, 51);
  // History on an address, then another client's active lease on it: active wins.
  EXPECT_EQ(shard_->restore(stored(LeaseOp::expire, mac_of(1), a, now_ - 900, now_ - 10), now_),
            RestoreStatus::history);
  EXPECT_EQ(shard_->restore(stored(LeaseOp::commit, mac_of(2), a, now_, until), now_), RestoreStatus::restored);
  EXPECT_EQ(lease_of(mac_of(1)), nullptr);
  // The other way round: the active lease stays.
  EXPECT_EQ(shard_->restore(stored(LeaseOp::release, mac_of(3), a, now_ - 900, now_ - 10), now_),
            RestoreStatus::conflict);
  EXPECT_EQ(lease_of(mac_of(2))->address, a);
  // One client, two histories: the later one wins in either order.
  EXPECT_EQ(shard_->restore(stored(LeaseOp::release, mac_of(4), b, now_ - 900, now_ - 50), now_),
            RestoreStatus::history);
  EXPECT_EQ(shard_->restore(stored(LeaseOp::expire, mac_of(4), ip(10, 0, 0, 52), now_ - 900, now_ - 60), now_),
            RestoreStatus::conflict);
  EXPECT_EQ(shard_->restore(stored(LeaseOp::expire, mac_of(4), ip(10, 0, 0, 52), now_ - 900, now_ - 40), now_),
            RestoreStatus::history);
  EXPECT_EQ(lease_of(mac_of(4))->address, ip(10, 0, 0, 52));
  EXPECT_EQ(shard_->lease_at_address(b), nullptr);
  EXPECT_FALSE(shard_->addresses().is_sticky(shard_->addresses().slot_of(0, b)));
  // A probation beats the history on its address.
  EXPECT_EQ(shard_->restore(probation(ip(10, 0, 0, 52), now_, until), now_), RestoreStatus::restored);
  EXPECT_EQ(lease_of(mac_of(4)), nullptr);
  EXPECT_EQ(shard_->audit(), "");
  EXPECT_TRUE(shard_->changes().empty());
}

// ---- restart, with the same or another shard count ----------------------------------

// The store as control/store/mirror.hpp keeps it: the last record per client
// key, plus one probation entry per declined address. Client keys are held
// as std::string: g++ 12 at -O3 warns (-Wstringop-overread, a false positive)
// in std::map's comparison of std::vector<std::uint8_t> keys.
struct StoreModel {
  std::map<std::string, LeaseChange> clients;
  std::map<Ipv4, LeaseChange> probations;

  void apply(const LeaseChange& c) {
    const std::string key(c.key.begin(), c.key.begin() + c.key_len);
    switch (c.op) {
      case LeaseOp::commit:
      case LeaseOp::renew:
      case LeaseOp::release:
        if (!key.empty()) clients[key] = c;
        break;
      case LeaseOp::expire:
        if (key.empty())
          probations.erase(c.address);
        else
          clients[key] = c;
        break;
      case LeaseOp::decline: {
        if (!key.empty()) clients.erase(key);
        LeaseChange p = c;
        p.key_len = 0;
        p.key = {};
        probations[c.address] = p;
        break;
      }
      case LeaseOp::reclaim:
        if (key.empty())
          probations.erase(c.address);
        else
          clients.erase(key);
        break;
    }
  }
  void drain(Shard& sh) {
    for (const LeaseChange& c : sh.changes()) apply(c);
    sh.clear_changes();
  }
  std::vector<LeaseChange> records() const {
    std::vector<LeaseChange> v;
    for (const auto& [k, c] : clients) v.push_back(c);
    for (const auto& [a, c] : probations) v.push_back(c);
    return v;
  }
  const LeaseChange* of(MacAddr mac) const {
    const ClientKey k = client_key_hw(1, wire::Bytes{mac.b.data(), 6});
    auto it = clients.find(std::string(k.bytes.begin(), k.bytes.begin() + k.len));
    return it == clients.end() ? nullptr : &it->second;
  }
};

using Shards = std::vector<std::unique_ptr<Shard>>;

Shards make_shards(const CompiledConfig& config, std::uint32_t count, const ShardConfig& sizes) {
  Shards v;
  for (std::uint32_t i = 0; i < count; ++i) {
    ShardConfig sc = sizes;
    sc.identity = {i, count};
    auto c = Shard::create(config, sc);
    EXPECT_TRUE(c.shard) << c.error;
    v.push_back(std::move(c.shard));
  }
  return v;
}

std::uint32_t shard_of_mac(MacAddr mac, std::size_t count) {
  return shard_for_hash(client_key_hw(1, wire::Bytes{mac.b.data(), 6}).hash, static_cast<std::uint32_t>(count));
}

struct RestoreCounts {
  std::map<RestoreStatus, unsigned> status;
  unsigned holds = 0;
  unsigned hold_failed = 0;
};

// What the runtime does at start-up: every record to owner_shard_of(); a
// `foreign` lease is also held on block_owner_of(), or undone.
RestoreCounts restore_into(Shards& shards, const CompiledConfig& config,
                           const std::vector<LeaseChange>& records, Seconds now) {
  RestoreCounts r;
  const auto n = static_cast<std::uint32_t>(shards.size());
  for (const LeaseChange& rec : records) {
    const std::uint32_t owner = owner_shard_of(rec, config, n);
    EXPECT_LT(owner, n);
    const RestoreStatus st = shards[owner]->restore(rec, now);
    ++r.status[st];
    if (st != RestoreStatus::foreign) continue;
    const std::uint32_t holder = block_owner_of(rec, config, n);
    EXPECT_NE(holder, owner);
    if (shards[holder]->restore_hold(rec, now) == RestoreStatus::restored) {
      ++r.holds;
    } else {
      ++r.hold_failed;
      EXPECT_TRUE(shards[owner]->forget_foreign(rec));
    }
  }
  for (auto& sh : shards) {
    EXPECT_EQ(sh->audit(), "");
    EXPECT_TRUE(sh->changes().empty());
  }
  return r;
}

// Every sweep to `now`, records to the store.
void sweep_all(Shards& shards, StoreModel& store, Seconds now) {
  for (auto& sh : shards) {
    SweepResult r;
    do {
      r = sh->sweep(now, 1u << 20);
      store.drain(*sh);
    } while (!r.caught_up);
    EXPECT_EQ(sh->audit(), "");
  }
}

// A request routed as runtime/worker.cpp routes it; records to the store.
Decision serve(Shards& shards, StoreModel& store, const Req& q, Seconds now) {
  auto p = make_packet(q);
  Shard& sh = *shards[shard_for_hash(client_key_of(p->msg).key.hash, static_cast<std::uint32_t>(shards.size()))];
  const Decision d = sh.handle(p->msg, p->rx, now);
  store.drain(sh);
  EXPECT_EQ(sh.audit(), "");
  return d;
}

constexpr Ipv4 kReshardIf = ip(10, 9, 0, 1);

Req reshard_req(MessageType type, MacAddr mac) {
  Req q;
  q.type = type;
  q.mac = mac;
  q.interface = kReshardIf;
  return q;
}

// DISCOVER + REQUEST (SELECTING); the ACKed address or 0.
Ipv4 serve_dora(Shards& shards, StoreModel& store, MacAddr mac, Seconds now,
                std::optional<std::uint32_t> lease_time = std::nullopt) {
  Req q = reshard_req(MessageType::discover, mac);
  q.lease_time = lease_time;
  const Decision o = serve(shards, store, q, now);
  if (o.verdict != Verdict::reply || o.type != MessageType::offer) return 0;
  q.type = MessageType::request;
  q.requested = o.yiaddr;
  q.server_id = kServer;
  const Decision a = serve(shards, store, q, now);
  return a.verdict == Verdict::reply && a.type == MessageType::ack ? a.yiaddr : 0;
}

// 10.9.0.0/23, pool .0.2 - .1.253: 8 blocks of 64.
EngineConfig reshard_config() {
  EngineConfig cfg;
  cfg.server_address = kServer;
  cfg.offer_hold_s = 5;
  cfg.decline_probation_s = 400;
  SubnetConfig s;
  s.id = 1;
  s.prefix = ip(10, 9, 0, 0);
  s.prefix_len = 23;
  s.pools = {{ip(10, 9, 0, 2), ip(10, 9, 1, 253)}};
  s.lease_time = 1000;
  s.min_lease_time = 20;
  s.max_lease_time = 2000;
  cfg.subnets = {s};
  return cfg;
}

ShardConfig reshard_sizes() {
  ShardConfig sizes;
  sizes.table.capacity = 1024;
  sizes.table.hostname_capacity = 16;
  sizes.table.long_key_capacity = 4;
  sizes.table.wheel_bits = 10;
  sizes.change_log_capacity = 1024;
  return sizes;
}

bool is_foreign_lease(const Shards& shards, MacAddr mac) {
  const Lease* l =
      shards[shard_of_mac(mac, shards.size())]->find_lease(client_key_hw(1, wire::Bytes{mac.b.data(), 6}));
  return l != nullptr && (l->flags & kLeaseForeign);
}

// Leases written by 2 shards, restored into GetParam() shards: where a
// client's key and its address's block now belong to different shards the
// client keeps its lease (for what is left of it) and the block owner keeps
// the address from everyone else until it ends; then the address returns.
class EngineReshard : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(EngineReshard, LeasesWrittenOnTwoShardsStayExclusiveOnAnyShardCount) {
  const std::uint32_t count = GetParam();
  const CompileResult compiled = compile(reshard_config());
  ASSERT_TRUE(compiled.ok()) << compiled.error;
  const CompiledConfig& config = compiled.config;
  std::set<Ipv4> pool;
  for (Ipv4 a = ip(10, 9, 0, 2); a <= ip(10, 9, 1, 253); ++a) pool.insert(a);

  // ---- a run on 2 shards
  StoreModel store;
  Shards before = make_shards(config, 2, reshard_sizes());
  struct Held {
    Ipv4 addr;
    Seconds until;
  };
  std::map<std::uint32_t, Held> active;   // client -> its valid lease
  std::map<Ipv4, Seconds> probation;
  unsigned history = 0;
  Seconds now = kStart;
  for (std::uint32_t n = 0; n < 240; ++n) {
    now = kStart + n;
    const bool short_lease = n % 10 == 9;
    const Ipv4 a = serve_dora(before, store, mac_of(n), now,
                              short_lease ? std::optional<std::uint32_t>(20) : std::nullopt);
    ASSERT_NE(a, 0u) << "client " << n;
    if (n % 10 == 7) {
      Req q = reshard_req(MessageType::release, mac_of(n));
      q.ciaddr = a;
      q.server_id = kServer;
      ASSERT_EQ(serve(before, store, q, now).verdict, Verdict::silent);
      ++history;
    } else if (n % 10 == 8) {
      Req q = reshard_req(MessageType::decline, mac_of(n));
      q.requested = a;
      q.server_id = kServer;
      ASSERT_EQ(serve(before, store, q, now).verdict, Verdict::silent);
      probation[a] = now + 400;
    } else if (short_lease) {
      ++history;   // runs out before the restart
    } else {
      active[n] = {a, now + 1000};
    }
  }
  now = kStart + 300;
  sweep_all(before, store, now);
  for (auto& [n, h] : active) {   // some renewals: renew records in the store
    if (n % 10 != 1) continue;
    Req q = reshard_req(MessageType::request, mac_of(n));
    q.ciaddr = h.addr;
    q.unicast = true;
    const Decision d = serve(before, store, q, now);
    ASSERT_EQ(d.type, MessageType::ack);
    h.until = now + d.lease_time;
  }
  before.clear();   // "crash": only the store survives
  now += 5;

  // ---- restart on `count` shards
  std::vector<LeaseChange> records = store.records();
  std::mt19937 rng(count);
  std::shuffle(records.begin(), records.end(), rng);
  Shards after = make_shards(config, count, reshard_sizes());
  const RestoreCounts rc = restore_into(after, config, records, now);
  auto st = [&](RestoreStatus s) { return rc.status.count(s) ? rc.status.at(s) : 0u; };
  std::printf("%u shards: restored %u, foreign %u, history %u, wrong_shard %u of %zu records\n", count,
              st(RestoreStatus::restored), st(RestoreStatus::foreign), st(RestoreStatus::history),
              st(RestoreStatus::wrong_shard), records.size());
  EXPECT_EQ(rc.hold_failed, 0u);
  EXPECT_EQ(rc.holds, st(RestoreStatus::foreign));
  EXPECT_EQ(st(RestoreStatus::restored) + st(RestoreStatus::foreign), active.size() + probation.size());
  EXPECT_EQ(st(RestoreStatus::history) + st(RestoreStatus::wrong_shard), history);
  if (count <= 2) {
    EXPECT_EQ(st(RestoreStatus::foreign), 0u);
    EXPECT_EQ(st(RestoreStatus::wrong_shard), 0u);
  } else {
    EXPECT_GT(st(RestoreStatus::foreign), 30u);
  }

  // Every valid lease is ACKed for its address; a foreign one for its
  // remaining time only, without a record.
  std::map<Ipv4, Seconds> held;   // address -> end of whatever holds it
  for (auto& [n, h] : active) {
    const std::uint32_t y = static_cast<std::uint32_t>(shard_of_mac(mac_of(n), count));
    const bool foreign = is_foreign_lease(after, mac_of(n));
    EXPECT_EQ(foreign, block_owner_of(stored(LeaseOp::commit, mac_of(n), h.addr, 0, 0), config, count) != y);
    Req q = reshard_req(MessageType::request, mac_of(n));
    switch (n % 3) {
      case 0: q.ciaddr = h.addr; q.unicast = true; break;   // RENEWING
      case 1: q.ciaddr = h.addr; break;                     // REBINDING
      default: q.requested = h.addr; break;                 // INIT-REBOOT
    }
    q.lease_time = 2000;   // asks for more: a foreign lease gets what is left
    const Decision d = serve(after, store, q, now);
    ASSERT_EQ(d.type, MessageType::ack) << "client " << n;
    EXPECT_EQ(d.yiaddr, h.addr);
    if (foreign) {
      EXPECT_EQ(d.lease_time, h.until - now);
      EXPECT_EQ(d.change_count, 0u);
      EXPECT_NE(d.record_second, 0u);
      const Decision o = serve(after, store, reshard_req(MessageType::discover, mac_of(n)), now);
      EXPECT_EQ(o.type, MessageType::offer);
      EXPECT_EQ(o.yiaddr, h.addr);
      EXPECT_EQ(o.lease_time, h.until - now);
      EXPECT_EQ(o.change_count, 0u);
    } else {
      EXPECT_EQ(d.lease_time, 2000u);
      EXPECT_EQ(d.change_count, 1u);
      h.until = now + d.lease_time;
    }
    held[h.addr] = h.until;
  }
  for (const auto& [a, until] : probation) held[a] = until;
  std::uint64_t renew_foreign = 0;
  for (auto& sh : after) renew_foreign += sh->counters().event(Event::renew_foreign);
  EXPECT_EQ(renew_foreign, st(RestoreStatus::foreign));

  // New clients on every shard until every pool is exhausted: never an
  // address held by a restored lease or probation.
  std::uint32_t next = 100000;
  std::set<Ipv4> handed;
  Seconds last_end = now;
  for (std::size_t k = 0; k < 3 * pool.size(); ++k) {
    const Ipv4 a = serve_dora(after, store, mac_of(next++), now);
    if (a == 0) continue;
    EXPECT_FALSE(held.count(a)) << "a held address went to a new client";
    EXPECT_TRUE(handed.insert(a).second) << "address handed out twice";
    last_end = now + 1000;
  }
  EXPECT_EQ(handed.size() + held.size(), pool.size());
  for (auto& sh : after) EXPECT_EQ(sh->addresses().free_count(0), 0u);
  for (auto& [n, h] : active) {   // still served
    Req q = reshard_req(MessageType::request, mac_of(n));
    q.requested = h.addr;
    EXPECT_EQ(serve(after, store, q, now).type, MessageType::ack) << "client " << n;
  }

  // Past every end: holds and foreign leases are gone, every address free.
  for (const auto& [a, until] : held) last_end = std::max(last_end, until);
  now = last_end + 1;
  sweep_all(after, store, now);
  std::uint32_t free = 0;
  std::uint64_t holds_ended = 0;
  for (auto& sh : after) {
    free += sh->addresses().free_count(0);
    holds_ended += sh->counters().event(Event::hold_ended);
    sh->leases().for_each([&](std::uint32_t, const Lease& l) {
      EXPECT_TRUE(is_inactive(l.state)) << "record still holds " << l.address;
      EXPECT_FALSE(l.flags & (kLeaseForeign | kLeaseHold));
    });
  }
  EXPECT_EQ(free, pool.size());
  EXPECT_EQ(holds_ended, rc.holds);
  EXPECT_TRUE(store.probations.empty());

  // Former foreign clients start over in their own shard's blocks; then
  // newcomers take the rest: every address, once.
  std::set<Ipv4> again;
  for (auto& [n, h] : active) {
    const std::uint32_t y = static_cast<std::uint32_t>(shard_of_mac(mac_of(n), count));
    const bool was_foreign = block_owner_of(stored(LeaseOp::commit, mac_of(n), h.addr, 0, 0), config, count) != y;
    if (!was_foreign) continue;
    EXPECT_EQ(store.of(mac_of(n))->op, LeaseOp::expire);
    EXPECT_EQ(after[y]->find_lease(client_key_hw(1, wire::Bytes{mac_of(n).b.data(), 6})), nullptr);
    Req q = reshard_req(MessageType::request, mac_of(n));
    q.ciaddr = h.addr;
    q.unicast = true;
    EXPECT_NE(serve(after, store, q, now).type, MessageType::ack);
    const Ipv4 a = serve_dora(after, store, mac_of(n), now);
    ASSERT_NE(a, 0u) << "client " << n;
    EXPECT_NE(a, h.addr);
    EXPECT_EQ(block_owner_of(stored(LeaseOp::commit, mac_of(n), a, 0, 0), config, count), y);
    EXPECT_TRUE(again.insert(a).second);
  }
  for (std::size_t k = 0; k < 3 * pool.size(); ++k)
    if (const Ipv4 a = serve_dora(after, store, mac_of(next++), now); a != 0) {
      EXPECT_TRUE(again.insert(a).second) << "address handed out twice";
    }
  EXPECT_EQ(again, pool);
}

INSTANTIATE_TEST_SUITE_P(ShardCounts, EngineReshard, ::testing::Values(1u, 2u, 3u, 4u));

// A foreign lease that moves, is released or declined leaves the address to
// the block owner's hold until the lease's original end; forget_foreign
// undoes a foreign restore whose hold could not be placed.
TEST(EngineRestore, ForeignLeaseLeavesItsAddressToTheHoldUntilItsEnd) {
  const CompileResult compiled = compile(reshard_config());
  ASSERT_TRUE(compiled.ok()) << compiled.error;
  const CompiledConfig& config = compiled.config;
  StoreModel store;
  Shards shards = make_shards(config, 2, reshard_sizes());
  Seconds now = kStart;
  const Seconds end = now + 500;
  // Clients of shard 1 on addresses of shard 0's blocks.
  std::vector<MacAddr> macs;
  for (std::uint32_t n = 0; macs.size() < 4; ++n)
    if (shard_of_mac(mac_of(n), 2) == 1) macs.push_back(mac_of(n));
  std::vector<Ipv4> addrs;
  for (Ipv4 a = ip(10, 9, 0, 2); addrs.size() < 4; ++a)
    if (block_owner_of(stored(LeaseOp::commit, macs[0], a, 0, 0), config, 2) == 0) addrs.push_back(a);
  std::vector<LeaseChange> recs;
  for (std::size_t i = 0; i < 3; ++i) {
    recs.push_back(stored(LeaseOp::commit, macs[i], addrs[i], now - 100, end));
    ASSERT_EQ(shards[1]->restore(recs[i], now), RestoreStatus::foreign);
    ASSERT_EQ(shards[0]->restore_hold(recs[i], now), RestoreStatus::restored);
    EXPECT_EQ(shards[0]->restore_hold(recs[i], now), RestoreStatus::conflict);   // one hold per address
  }
  auto held_by_hold = [&](Ipv4 a) {
    const Lease* h = shards[0]->lease_at_address(a);
    return h != nullptr && h->state == LeaseState::declined && (h->flags & kLeaseHold) && h->expires == end;
  };
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(held_by_hold(addrs[i]));

  // 0: moves to an address of its own shard (SELECTING after a lost offer).
  Ipv4 mine = 0;
  for (Ipv4 a = ip(10, 9, 0, 2); mine == 0; ++a)
    if (block_owner_of(stored(LeaseOp::commit, macs[0], a, 0, 0), config, 2) == 1) mine = a;
  Req q = reshard_req(MessageType::request, macs[0]);
  q.requested = mine;
  q.server_id = kServer;
  auto p = make_packet(q);
  Decision d = shards[1]->handle(p->msg, p->rx, now);
  ASSERT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.lease_time, 1000u);
  auto c = shards[1]->changes();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].op, LeaseOp::reclaim);
  EXPECT_EQ(c[0].address, addrs[0]);
  EXPECT_EQ(c[1].op, LeaseOp::commit);
  EXPECT_EQ(c[1].address, mine);
  store.drain(*shards[1]);
  EXPECT_EQ(shards[1]->lease_at_address(addrs[0]), nullptr);
  EXPECT_EQ(shards[1]->audit(), "");
  // 1: releases.
  q = reshard_req(MessageType::release, macs[1]);
  q.ciaddr = addrs[1];
  q.server_id = kServer;
  p = make_packet(q);
  EXPECT_EQ(shards[1]->handle(p->msg, p->rx, now).verdict, Verdict::silent);
  c = shards[1]->changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::release);
  EXPECT_EQ(c[0].expires, now);
  store.drain(*shards[1]);
  EXPECT_EQ(shards[1]->find_lease(client_key_hw(1, wire::Bytes{macs[1].b.data(), 6})), nullptr);
  // 2: declines: probation until the hold's end.
  q = reshard_req(MessageType::decline, macs[2]);
  q.requested = addrs[2];
  q.server_id = kServer;
  p = make_packet(q);
  EXPECT_EQ(shards[1]->handle(p->msg, p->rx, now).verdict, Verdict::silent);
  c = shards[1]->changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::decline);
  EXPECT_EQ(c[0].expires, end);
  store.drain(*shards[1]);
  EXPECT_EQ(shards[1]->lease_at_address(addrs[2]), nullptr);
  EXPECT_EQ(shards[1]->audit(), "");
  EXPECT_EQ(store.probations.count(addrs[2]), 1u);

  // Shard 0 still keeps all three from its own clients.
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(held_by_hold(addrs[i]));
  std::set<Ipv4> got;
  for (std::uint32_t n = 1000; got.size() < 1000 && n < 4000; ++n) {
    if (shard_of_mac(mac_of(n), 2) != 0) continue;
    Req r = reshard_req(MessageType::request, mac_of(n));   // asks for a held one outright
    r.requested = addrs[n % 3];
    r.server_id = kServer;
    p = make_packet(r);
    EXPECT_EQ(shards[0]->handle(p->msg, p->rx, now).type, MessageType::nak);
    const Ipv4 a = serve_dora(shards, store, mac_of(n), now);
    if (a == 0) break;
    EXPECT_TRUE(got.insert(a).second);
  }
  EXPECT_EQ(shards[0]->addresses().free_count(0), 0u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_FALSE(got.count(addrs[i]));
  EXPECT_EQ(shards[0]->audit(), "");

  // At the end the holds go, with a keyless expire each.
  sweep_all(shards, store, end - 1);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(held_by_hold(addrs[i]));
  for (std::size_t i = 0; i < 3; ++i) {   // from here on the records are sent one by one
    SweepResult r;
    do r = shards[0]->sweep(end, 1u << 20);
    while (!r.caught_up);
  }
  unsigned keyless = 0;
  for (const LeaseChange& ch : shards[0]->changes())
    if (ch.op == LeaseOp::expire && ch.key_len == 0) ++keyless;
  EXPECT_EQ(keyless, 3u);
  store.drain(*shards[0]);
  EXPECT_TRUE(store.probations.empty());
  EXPECT_EQ(shards[0]->counters().event(Event::hold_ended), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(shards[0]->lease_at_address(addrs[i]), nullptr);
    EXPECT_TRUE(shards[0]->addresses().is_free(shards[0]->addresses().slot_of(0, addrs[i])));
  }
  EXPECT_EQ(shards[0]->audit(), "");
  now = end;

  // Fresh shards. The hold cannot be placed (the block owner restored an active lease on
  // the address first): the foreign lease is undone.
  const Ipv4 a4 = addrs[3];
  shards = make_shards(config, 2, reshard_sizes());
  MacAddr mine0 = mac_of(0);
  for (std::uint32_t n = 50000; shard_of_mac(mine0, 2) != 0; ++n) mine0 = mac_of(n);
  ASSERT_EQ(shards[0]->restore(stored(LeaseOp::commit, mine0, a4, now, now + 100), now), RestoreStatus::restored);
  const LeaseChange rec4 = stored(LeaseOp::commit, macs[3], a4, now, now + 100);
  ASSERT_EQ(shards[1]->restore(rec4, now), RestoreStatus::foreign);
  EXPECT_EQ(shards[0]->restore_hold(rec4, now), RestoreStatus::conflict);
  EXPECT_TRUE(shards[1]->forget_foreign(rec4));
  EXPECT_FALSE(shards[1]->forget_foreign(rec4));
  EXPECT_EQ(shards[1]->lease_at_address(a4), nullptr);
  EXPECT_EQ(shards[1]->audit(), "");
  EXPECT_TRUE(shards[1]->changes().empty());
  // restore_hold's own refusals.
  EXPECT_EQ(shards[0]->restore_hold(stored(LeaseOp::commit, macs[3], a4, now - 10, now), now), RestoreStatus::history);
  EXPECT_EQ(shards[0]->restore_hold(stored(LeaseOp::release, macs[3], addrs[0], now, now + 9), now),
            RestoreStatus::history);
  EXPECT_EQ(shards[0]->restore_hold(stored(LeaseOp::reclaim, macs[3], addrs[0], now, now + 9), now),
            RestoreStatus::invalid);
  EXPECT_EQ(shards[0]->restore_hold(stored(LeaseOp::commit, macs[3], ip(172, 16, 0, 1), now, now + 9), now),
            RestoreStatus::no_subnet);
  EXPECT_EQ(shards[0]->restore_hold(stored(LeaseOp::commit, macs[3], ip(10, 9, 0, 1), now, now + 9), now),
            RestoreStatus::not_in_pool);
  EXPECT_EQ(shards[0]->restore_hold(stored(LeaseOp::commit, macs[3], mine, now, now + 9), now),
            RestoreStatus::wrong_shard);
  EXPECT_EQ(shards[0]->audit(), "");
}

// A run journals into a store model; a "restart" restores it into fresh
// shards (as many, or another count) through owner_shard_of (and
// block_owner_of for foreign leases); then a random workload runs on the
// restored shards. No address is ever active on two shards or ACKed to two
// clients, every foreign lease's address is held by its block owner, every
// client's valid lease survives the restart, and every shard stays sound.
void restart_run(std::uint32_t before_count, std::uint32_t after_count, unsigned seed) {
  EngineConfig cfg;
  cfg.server_address = kServer;
  cfg.offer_hold_s = 5;
  cfg.decline_probation_s = 60;
  SubnetConfig s;
  s.id = 1;
  s.prefix = ip(10, 9, 0, 0);
  s.prefix_len = 24;
  s.pools = {{ip(10, 9, 0, 2), ip(10, 9, 0, 253)}};   // 4 blocks
  s.lease_time = 100;
  s.min_lease_time = 20;
  s.max_lease_time = 200;
  cfg.subnets = {s};
  const CompileResult compiled = compile(cfg);
  ASSERT_TRUE(compiled.ok()) << compiled.error;
  constexpr std::uint32_t kClients = 300;
  ShardConfig sizes;
  // 128 records per shard with 4 shards; as many in all with fewer, and
  // room for the holds after a change of count.
  sizes.table.capacity = (before_count == after_count ? 512 : 1024) / std::min(before_count, after_count);
  sizes.table.hostname_capacity = 16;
  sizes.table.long_key_capacity = 4;
  sizes.table.wheel_bits = 8;
  sizes.change_log_capacity = 256;
  StoreModel store;
  struct Client {
    Ipv4 held = 0;
    Seconds until = 0;
  };
  std::vector<Client> model(kClients);
  Seconds now = kStart;
  std::mt19937 rng(seed);
  std::uint64_t acks = 0;

  auto run = [&](Shards& shards, int steps) {
    const auto count = static_cast<std::uint32_t>(shards.size());
    for (int step = 0; step < steps; ++step) {
      const std::uint32_t n = rng() % kClients;
      Client& cm = model[n];
      Req q;
      q.mac = mac_of(n);
      q.interface = ip(10, 9, 0, 1);
      const unsigned what = rng() % 100;
      if (what < 45) {   // DORA in one go
        q.type = MessageType::discover;
      } else if (what < 75) {
        q.type = MessageType::request;
        q.ciaddr = cm.held != 0 ? cm.held : ip(10, 9, 0, rng() % 256);
        q.unicast = true;
      } else if (what < 82) {
        q.type = MessageType::request;
        q.requested = cm.held != 0 ? cm.held : ip(10, 9, 0, rng() % 256);
      } else if (what < 90) {
        q.type = MessageType::release;
        q.ciaddr = cm.held;
        q.server_id = kServer;
      } else if (what < 92) {
        q.type = MessageType::decline;
        q.requested = cm.held;
        q.server_id = kServer;
      } else {
        now += rng() % 10;
        for (auto& sh : shards) {
          sh->sweep(now, 1u << 20);
          store.drain(*sh);
        }
        continue;
      }
      auto p = make_packet(q);
      const KeyResult key = client_key_of(p->msg);
      Shard& sh = *shards[shard_for_hash(key.key.hash, count)];
      Decision d = sh.handle(p->msg, p->rx, now);
      if (q.type == MessageType::discover && d.verdict == Verdict::reply) {
        Req r = q;
        r.type = MessageType::request;
        r.requested = d.yiaddr;
        r.server_id = kServer;
        p = make_packet(r);
        d = sh.handle(p->msg, p->rx, now);
      }
      store.drain(sh);
      ASSERT_EQ(sh.audit(), "") << "step " << step;
      if (d.verdict == Verdict::reply && d.type == MessageType::ack) {
        ++acks;
        for (std::uint32_t o = 0; o < kClients; ++o)
          ASSERT_FALSE(o != n && model[o].held == d.yiaddr && model[o].until > now)
              << "address ACKed to two clients, step " << step;
        cm.held = d.yiaddr;
        cm.until = now + d.lease_time;
      } else if (d.verdict == Verdict::reply && d.type == MessageType::nak) {
        cm.held = 0;
      } else if ((q.type == MessageType::release || q.type == MessageType::decline) &&
                 d.verdict == Verdict::silent) {
        cm.held = 0;
      }
      std::set<Ipv4> active;
      for (auto& s2 : shards)
        s2->leases().for_each([&](std::uint32_t, const Lease& l) {
          if (l.state != LeaseState::active || l.expires <= now) return;
          ASSERT_TRUE(active.insert(l.address).second) << "address active twice, step " << step;
          if (!(l.flags & kLeaseForeign)) return;
          const Shard& owner = *shards[block_owner_of(stored(LeaseOp::commit, q.mac, l.address, 0, 0),
                                                      compiled.config, count)];
          const Lease* h = owner.lease_at_address(l.address);
          ASSERT_TRUE(h != nullptr && (h->flags & kLeaseHold) && h->expires == l.expires)
              << "foreign lease without its hold, step " << step;
        });
      for (std::uint32_t o = 0; o < kClients; ++o)
        if (model[o].held != 0 && model[o].until > now) {
          ASSERT_TRUE(active.count(model[o].held)) << "valid lease of client " << o << " lost";
        }
    }
  };

  {
    Shards before = make_shards(compiled.config, before_count, sizes);
    run(before, 3000);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
  }   // "crash": only the store survives
  now += 5;

  Shards after = make_shards(compiled.config, after_count, sizes);
  std::vector<LeaseChange> records = store.records();
  std::shuffle(records.begin(), records.end(), rng);   // any order
  const RestoreCounts rc = restore_into(after, compiled.config, records, now);
  auto st = [&](RestoreStatus x) { return rc.status.count(x) ? rc.status.at(x) : 0u; };
  std::printf("%u -> %u shards: restored %u, foreign %u, history %u, wrong_shard %u of %zu records; %llu ACKs before\n",
              before_count, after_count, st(RestoreStatus::restored), st(RestoreStatus::foreign),
              st(RestoreStatus::history), st(RestoreStatus::wrong_shard), records.size(),
              static_cast<unsigned long long>(acks));
  EXPECT_EQ(st(RestoreStatus::restored) + st(RestoreStatus::foreign) + st(RestoreStatus::history) +
                st(RestoreStatus::wrong_shard),
            records.size());
  EXPECT_EQ(rc.hold_failed, 0u);
  EXPECT_GT(st(RestoreStatus::restored) + st(RestoreStatus::foreign), 20u);
  EXPECT_GT(st(RestoreStatus::history) + st(RestoreStatus::wrong_shard), 5u);
  if (before_count == after_count) {
    EXPECT_EQ(st(RestoreStatus::foreign) + st(RestoreStatus::wrong_shard), 0u);
  }
  // Every client with a valid lease renews it on its owner shard; a foreign
  // one keeps its end.
  for (std::uint32_t n = 0; n < kClients; ++n) {
    if (model[n].held == 0 || model[n].until <= now) continue;
    Req q;
    q.type = MessageType::request;
    q.mac = mac_of(n);
    q.ciaddr = model[n].held;
    q.unicast = true;
    q.interface = ip(10, 9, 0, 1);
    auto p = make_packet(q);
    Shard& sh = *after[shard_for_hash(client_key_of(p->msg).key.hash, after_count)];
    const bool foreign = is_foreign_lease(after, mac_of(n));
    const Decision d = sh.handle(p->msg, p->rx, now);
    ASSERT_EQ(d.type, MessageType::ack) << "client " << n;
    EXPECT_EQ(d.yiaddr, model[n].held);
    if (foreign) {
      EXPECT_EQ(now + d.lease_time, model[n].until);
    }
    model[n].until = now + d.lease_time;
    store.drain(sh);
  }
  acks = 0;
  run(after, 3000);
  EXPECT_GT(acks, 300u);
}

TEST(EngineRestore, FourShardsRestoreThenServeWithoutDoubleLeases) { restart_run(4, 4, 7); }

class EngineRestartProperty
    : public ::testing::TestWithParam<std::tuple<std::uint32_t, std::uint32_t, unsigned>> {};
TEST_P(EngineRestartProperty, AnotherShardCountNeverLeasesAnAddressTwice) {
  const auto [before, after, seed] = GetParam();
  restart_run(before, after, seed);
}
INSTANTIATE_TEST_SUITE_P(Counts, EngineRestartProperty,
                         ::testing::Values(std::make_tuple(2u, 3u, 11u), std::make_tuple(2u, 3u, 12u),
                                           std::make_tuple(3u, 2u, 11u), std::make_tuple(3u, 2u, 12u),
                                           std::make_tuple(4u, 3u, 13u), std::make_tuple(4u, 5u, 14u),
                                           std::make_tuple(1u, 4u, 15u), std::make_tuple(4u, 1u, 16u)));

// ---- store not writable (degraded mode) -------------------------------------------------

TEST_F(EngineTest, StoreDownRefusesDiscoverFromClientsWithoutActiveLease) {
  const Ipv4 a = dora(mac_of(1));
  dora(mac_of(2));
  release(mac_of(2), lease_of(mac_of(2))->address);
  take_changes();
  shard_->set_store_writable(false);
  EXPECT_FALSE(shard_->store_writable());
  for (std::uint32_t n : {2u, 3u}) {
    const Decision d = discover(mac_of(n));
    EXPECT_EQ(d.verdict, Verdict::drop);
    EXPECT_EQ(d.drop, DropReason::store_unavailable);
  }
  EXPECT_EQ(drops(DropReason::store_unavailable), 2u);
  EXPECT_EQ(lease_of(mac_of(3)), nullptr);   // nothing held for it
  // A bound client is offered its own address for the time it has left.
  now_ += 1000;
  const Decision o = discover(mac_of(1));
  ASSERT_EQ(o.type, MessageType::offer);
  EXPECT_EQ(o.yiaddr, a);
  EXPECT_EQ(o.lease_time, 2600u);
  EXPECT_EQ(o.t1, 1300u);
  EXPECT_EQ(o.t2, 2275u);
  EXPECT_EQ(lease_of(mac_of(1))->state, LeaseState::active);
  EXPECT_TRUE(shard_->changes().empty());
  EXPECT_EQ(drop_name(DropReason::store_unavailable), "store_unavailable");
}

TEST_F(EngineTest, StoreDownRenewalsGetTheRemainingTimeWithoutARecord) {
  const Ipv4 a = dora(mac_of(1));
  const std::uint32_t seq = shard_->last_seq();
  ASSERT_NE(seq, 0u);
  EXPECT_EQ(seq, shard_->changes().back().seq);
  take_changes();
  shard_->set_store_writable(false);
  const Seconds expires = lease_of(mac_of(1))->expires;
  const Seconds start = lease_of(mac_of(1))->start;
  now_ += 1000;
  Decision d = renew(mac_of(1), a);
  ASSERT_EQ(d.verdict, Verdict::reply);
  EXPECT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.yiaddr, a);
  EXPECT_EQ(d.lease_time, 2600u);   // expires - now
  EXPECT_EQ(d.t1, 1300u);           // the subnet's 0.5 / 0.875
  EXPECT_EQ(d.t2, 2275u);
  EXPECT_EQ(d.change_count, 0u);
  now_ += 100;
  d = renew(mac_of(1), a, false);   // REBINDING
  EXPECT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.lease_time, 2500u);
  d = send(init_reboot(mac_of(1), a));
  EXPECT_EQ(d.type, MessageType::ack);
  d = select(mac_of(1), a);   // re-DORA of a bound client
  EXPECT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.lease_time, 2500u);
  EXPECT_TRUE(shard_->changes().empty());
  EXPECT_EQ(shard_->last_seq(), seq);
  EXPECT_EQ(lease_of(mac_of(1))->expires, expires);
  EXPECT_EQ(lease_of(mac_of(1))->start, start);
  EXPECT_EQ(events(Event::renew_unjournaled), 4u);
  EXPECT_EQ(events(Event::lease_renew), 0u);
  // The lease runs out at its old time.
  advance(2500);
  const auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, LeaseOp::expire);
  EXPECT_EQ(c[0].seq, seq + 1);
  EXPECT_EQ(shard_->last_seq(), seq + 1);
}

TEST_F(EngineTest, StoreDownRenewalTimesFollowTheSubnetRatios) {
  Req q;
  q.giaddr = ip(10, 1, 0, 1);   // subnet B: 1000 s, 0.4 / 0.7
  const Decision o = send(q);
  q.type = MessageType::request;
  q.requested = o.yiaddr;
  q.server_id = kServer;
  ASSERT_EQ(send(q).type, MessageType::ack);
  shard_->set_store_writable(false);
  now_ += 500;
  q.server_id = 0;
  q.requested = 0;
  q.ciaddr = o.yiaddr;
  const Decision d = send(q);
  ASSERT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.lease_time, 500u);
  EXPECT_EQ(d.t1, 200u);
  EXPECT_EQ(d.t2, 350u);
}

TEST_F(EngineTest, StoreDownRefusesRequestsThatWouldCommitButStillNaks) {
  Req q;
  q.mac = mac_of(1);
  q.lease_time = 86400;
  const Decision o1 = send(q);
  q.type = MessageType::request;
  q.requested = o1.yiaddr;
  q.server_id = kServer;
  const Ipv4 bound = send(q).yiaddr;
  ASSERT_NE(bound, 0u);
  const Ipv4 lapsed = dora(mac_of(2));   // 3600 s
  const Decision o = discover(mac_of(3));
  ASSERT_EQ(o.type, MessageType::offer);
  take_changes();
  shard_->set_store_writable(false);
  // SELECTING an offer made before the failure: a new binding.
  Decision d = select(mac_of(3), o.yiaddr);
  EXPECT_EQ(d.verdict, Verdict::drop);
  EXPECT_EQ(d.drop, DropReason::store_unavailable);
  EXPECT_EQ(lease_of(mac_of(3))->state, LeaseState::offered);
  // SELECTING a free address (lost offer), INIT-REBOOT onto a reservation.
  EXPECT_EQ(select(mac_of(5), ip(10, 0, 0, 200)).drop, DropReason::store_unavailable);
  EXPECT_EQ(send(init_reboot(mac_of(0xaa), ip(10, 0, 0, 5))).drop, DropReason::store_unavailable);
  // An expired lease taken back, by RENEWING or INIT-REBOOT: a commit.
  advance(3600);
  const auto c = take_changes();
  ASSERT_EQ(c.size(), 1u);   // expiry goes on
  EXPECT_EQ(c[0].op, LeaseOp::expire);
  EXPECT_EQ(renew(mac_of(2), lapsed).drop, DropReason::store_unavailable);
  EXPECT_EQ(send(init_reboot(mac_of(2), lapsed)).drop, DropReason::store_unavailable);
  EXPECT_EQ(lease_of(mac_of(2))->state, LeaseState::expired);
  // What commits nothing is answered as usual.
  d = renew(mac_of(1), bound);
  EXPECT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.lease_time, 86400u - 3600u);
  EXPECT_EQ(select(mac_of(6), bound).type, MessageType::nak);   // another client's address
  EXPECT_EQ(renew(mac_of(2), bound).type, MessageType::nak);
  EXPECT_EQ(send(init_reboot(mac_of(6), ip(10, 1, 0, 50))).type, MessageType::nak);   // wrong subnet
  EXPECT_TRUE(shard_->changes().empty());
  EXPECT_EQ(events(Event::lease_commit), 2u);   // the two DORAs before the failure
  EXPECT_EQ(drops(DropReason::store_unavailable), 5u);
}

TEST_F(EngineTest, StoreDownReleaseDeclineAndInformStillWork) {
  const Ipv4 a = dora(mac_of(1)), b = dora(mac_of(2));
  take_changes();
  shard_->set_store_writable(false);
  EXPECT_EQ(release(mac_of(1), a).verdict, Verdict::silent);
  EXPECT_EQ(decline(mac_of(2), b).verdict, Verdict::silent);
  Req inform;
  inform.type = MessageType::inform;
  inform.ciaddr = ip(10, 0, 0, 240);
  inform.unicast = true;
  EXPECT_EQ(send(inform).type, MessageType::ack);
  auto c = take_changes();
  ASSERT_EQ(c.size(), 2u);   // buffered by the store
  EXPECT_EQ(c[0].op, LeaseOp::release);
  EXPECT_EQ(c[1].op, LeaseOp::decline);
  EXPECT_EQ(shard_->last_seq(), c[1].seq);
  // Writable again: business as usual.
  shard_->set_store_writable(true);
  EXPECT_EQ(dora(mac_of(1)), a);
  EXPECT_NE(dora(mac_of(3)), 0u);
  c = take_changes();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].op, LeaseOp::commit);
  EXPECT_EQ(c[1].op, LeaseOp::commit);
  EXPECT_EQ(c[1].seq, c[0].seq + 1);
}

// ---- property tests ----------------------------------------------------------------------------

// Random clients doing random DORA / renew / rebind / init-reboot / release /
// decline with clock jumps. Checked after every step:
//  - from the clients' side: no ACK ever gives an address to a client while
//    another client's ACKed lease on it has not ended (released, declined or
//    expired); a client renewing a valid lease always gets it extended; a
//    client with a valid lease is always offered that same address;
//  - from the store's side: replaying the change records never binds one
//    address to two keys at once;
//  - inside: scanning all active leases finds no address twice, every
//    client-side valid lease is active in the table, and the free bitmaps
//    agree with the lease table (Shard::audit).
// The store goes down and comes back at random: while down no commit or
// renew record appears and every ACK keeps the lease's expiry.
class EngineProperty : public ::testing::TestWithParam<unsigned> {};

struct ClientModel {
  Ipv4 offered = 0;
  Ipv4 held = 0;
  Seconds until = 0;
};

struct StoreEntry {
  std::string key;   // client key bytes (as StoreModel holds them); empty = probation
  Seconds expires = 0;
  bool active = false;
};

void property_run(unsigned seed, bool outages) {
  EngineConfig cfg;
  cfg.server_address = kServer;
  cfg.offer_hold_s = 5;
  cfg.decline_probation_s = 60;
  SubnetConfig s;
  s.id = 1;
  s.prefix = ip(10, 9, 0, 0);
  s.prefix_len = 24;
  s.pools = {{ip(10, 9, 0, 10), ip(10, 9, 0, 39)}, {ip(10, 9, 0, 120), ip(10, 9, 0, 129)}};
  s.exclusions = {{ip(10, 9, 0, 20), ip(10, 9, 0, 24)}};
  s.lease_time = 100;
  s.min_lease_time = 20;
  s.max_lease_time = 200;
  Reservation r;
  r.mac = mac_of(3);
  r.address = ip(10, 9, 0, 200);
  s.reservations = {r};
  cfg.subnets = {s};
  const CompileResult compiled = compile(cfg);
  ASSERT_TRUE(compiled.ok()) << compiled.error;
  ShardConfig sizes;
  sizes.table.capacity = 48;   // fewer records than clients: eviction happens
  sizes.table.hostname_capacity = 8;
  sizes.table.long_key_capacity = 4;
  sizes.table.wheel_bits = 6;  // 64 s per turn: leases wrap the wheel
  sizes.change_log_capacity = 512;
  auto created = Shard::create(compiled.config, sizes);
  ASSERT_TRUE(created.shard) << created.error;
  Shard& shard = *created.shard;

  constexpr std::uint32_t kClients = 80;
  std::mt19937 rng(seed);
  std::vector<ClientModel> model(kClients);
  std::map<Ipv4, StoreEntry> store;
  std::map<std::string, Ipv4> store_by_key;
  Seconds now = kStart;
  std::uint64_t acks = 0, naks = 0;
  bool writable = true;

  auto key_bytes = [](const LeaseChange& c) {
    return std::string(c.key.begin(), c.key.begin() + c.key_len);
  };
  auto apply_changes = [&]() {
    for (const LeaseChange& c : shard.changes()) {
      const auto key = key_bytes(c);
      switch (c.op) {
        case LeaseOp::commit:
        case LeaseOp::renew: {
          auto it = store.find(c.address);
          if (it != store.end() && it->second.key != key) {
            ASSERT_FALSE(it->second.active && it->second.expires > c.start)
                << "store: address bound to two keys";
          }
          if (auto k = store_by_key.find(key); k != store_by_key.end() && k->second != c.address)
            store.erase(k->second);
          store[c.address] = StoreEntry{key, c.expires, true};
          store_by_key[key] = c.address;
          break;
        }
        case LeaseOp::release:
        case LeaseOp::expire:
          if (c.key_len == 0) {
            store.erase(c.address);
          } else {
            ASSERT_EQ(store[c.address].key, key);
            store[c.address].active = false;
          }
          break;
        case LeaseOp::decline:
          store_by_key.erase(key);
          store[c.address] = StoreEntry{{}, c.expires, false};
          break;
        case LeaseOp::reclaim:
          if (auto it = store.find(c.address); it != store.end() && it->second.key == key)
            store.erase(it);
          store_by_key.erase(key);
          break;
      }
    }
    shard.clear_changes();
  };

  for (int step = 0; step < 6000; ++step) {
    const std::uint32_t n = rng() % kClients;
    ClientModel& cm = model[n];
    const bool valid = cm.held != 0 && cm.until > now;
    Req q;
    q.mac = mac_of(n);
    if (n % 7 == 0) q.client_id = {0x01, static_cast<std::uint8_t>(n), 0x77};
    q.interface = ip(10, 9, 0, 1);
    if (rng() % 4 == 0) q.lease_time = 10 + rng() % 300;
    if (n % 5 == 0) q.hostname = "host" + std::to_string(n);
    const unsigned what = rng() % 100;
    auto random_addr = [&] { return ip(10, 9, 0, rng() % 140); };
    if (what < 25) {
      q.type = MessageType::discover;
      if (rng() % 3 == 0) q.requested = random_addr();
    } else if (what < 50) {
      q.type = MessageType::request;
      q.server_id = rng() % 20 == 0 ? kOtherServer : kServer;
      q.requested = cm.offered != 0 && rng() % 8 != 0 ? cm.offered : random_addr();
    } else if (what < 58) {
      q.type = MessageType::request;   // INIT-REBOOT
      q.requested = cm.held != 0 && rng() % 4 != 0 ? cm.held : random_addr();
    } else if (what < 72) {
      q.type = MessageType::request;   // RENEWING / REBINDING
      q.ciaddr = cm.held != 0 && rng() % 6 != 0 ? cm.held : random_addr();
      q.unicast = rng() % 2 == 0;
    } else if (what < 80) {
      q.type = MessageType::release;
      q.ciaddr = cm.held != 0 ? cm.held : random_addr();
      q.server_id = kServer;
    } else if (what < 84) {
      q.type = MessageType::decline;
      q.requested = cm.held != 0 ? cm.held : random_addr();
      q.server_id = kServer;
    } else {
      // Clock: mostly small steps, sometimes a jump over many lease times.
      now += rng() % 25 == 0 ? rng() % 400 : rng() % 4;
      const unsigned budget = rng() % 3 == 0 ? 1u << 20 : 1 + rng() % 40;
      if (outages && rng() % (writable ? 12 : 4) == 0) {   // down ~25% of the time, in short spells
        writable = !writable;
        shard.set_store_writable(writable);
      }
      shard.sweep(now, budget);
      apply_changes();
      ASSERT_EQ(shard.audit(), "") << "step " << step;
      continue;
    }
    auto p = make_packet(q);
    const Decision d = shard.handle(p->msg, p->rx, now);
    if (!writable) {
      for (const LeaseChange& c : shard.changes())
        ASSERT_TRUE(c.op != LeaseOp::commit && c.op != LeaseOp::renew) << "store down, step " << step;
      if (d.verdict == Verdict::reply && d.type == MessageType::ack && q.type == MessageType::request) {
        ASSERT_TRUE(valid && d.yiaddr == cm.held) << "store down: new binding ACKed, step " << step;
        ASSERT_EQ(now + d.lease_time, cm.until) << "store down: expiry moved, step " << step;
      }
    }
    apply_changes();
    ASSERT_EQ(shard.audit(), "") << "step " << step;

    if (q.type == MessageType::discover && d.verdict == Verdict::reply) {
      cm.offered = d.yiaddr;
      if (valid) {
        ASSERT_EQ(d.yiaddr, cm.held) << "client with a valid lease offered another address";
      }
    }
    if (q.type == MessageType::request && q.ciaddr != 0 && valid && q.ciaddr == cm.held) {
      ASSERT_EQ(d.verdict, Verdict::reply) << "step " << step;
      ASSERT_EQ(d.type, MessageType::ack) << "valid lease not renewed, step " << step;
    }
    if (d.verdict == Verdict::reply && d.type == MessageType::ack && q.type == MessageType::request) {
      ++acks;
      for (std::uint32_t o = 0; o < kClients; ++o)
        if (o != n && model[o].held == d.yiaddr && model[o].until > now)
          FAIL() << "address " << d.yiaddr << " ACKed to client " << n << " while client " << o
                 << " holds it, step " << step;
      cm.held = d.yiaddr;
      cm.until = now + d.lease_time;
    }
    if (d.verdict == Verdict::reply && d.type == MessageType::nak) {
      ++naks;
      if (q.ciaddr == 0 && q.requested == cm.held) cm.held = 0;   // client restarts
    }
    if ((q.type == MessageType::release && q.ciaddr == cm.held) ||
        (q.type == MessageType::decline && q.requested == cm.held && d.verdict == Verdict::silent))
      cm.held = 0;

    // Scan all active leases: unique addresses, and every valid client lease is there.
    std::set<Ipv4> active;
    shard.leases().for_each([&](std::uint32_t, const Lease& l) {
      if (l.state == LeaseState::active && l.expires > now) {
        EXPECT_TRUE(active.insert(l.address).second) << "two active leases on one address";
      }
    });
    for (std::uint32_t o = 0; o < kClients; ++o)
      if (model[o].held != 0 && model[o].until > now) {
        ASSERT_TRUE(active.count(model[o].held)) << "valid lease of client " << o << " lost, step " << step;
      }
  }
  std::printf("seed %u%s: %llu ACKs, %llu NAKs, %llu reclaims, %llu expiries, %llu exhausted\n", seed,
              outages ? " (store outages)" : "",
              static_cast<unsigned long long>(acks), static_cast<unsigned long long>(naks),
              static_cast<unsigned long long>(shard.counters().event(Event::lease_reclaim)),
              static_cast<unsigned long long>(shard.counters().event(Event::lease_expire)),
              static_cast<unsigned long long>(shard.counters().drop(DropReason::pool_exhausted)));
  EXPECT_GT(acks, 300u);
  EXPECT_GT(naks, 10u);
  EXPECT_GT(shard.counters().event(Event::lease_reclaim), 0u);
  EXPECT_GT(shard.counters().event(Event::lease_expire), 0u);
  EXPECT_GT(shard.counters().event(Event::probation_ended), 0u);
  if (outages) {
    EXPECT_GT(shard.counters().drop(DropReason::store_unavailable), 0u);
    EXPECT_GT(shard.counters().event(Event::renew_unjournaled), 0u);
  } else {
    EXPECT_GT(shard.counters().drop(DropReason::pool_exhausted), 0u);
  }
}

TEST_P(EngineProperty, NoAddressIsEverLeasedTwice) { property_run(GetParam(), false); }
TEST_P(EngineProperty, StoreOutagesNeverCommitOrMoveExpiry) { property_run(GetParam(), true); }

INSTANTIATE_TEST_SUITE_P(Seeds, EngineProperty, ::testing::Values(1u, 2u, 3u, 42u, 1234u));

}  // namespace
}  // namespace dorado::engine
