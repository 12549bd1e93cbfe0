// Per-circuit limits (issue 16; engine/limits.hpp): max_leases_per_circuit
// and max_new_clients_per_second, counted drops, renewals never refused,
// counts given back on release, expiry, decline and lease4-del, rebuilt by
// restore and reload, one count shared by two shards; the lock-free table.
#include "engine_fixture.hpp"

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "engine/admin.hpp"
#include "engine/limits.hpp"

namespace dorado::engine {
namespace {

using namespace testing_fixture;
using wire::MessageType;

constexpr Ipv4 kRelay = ip(10, 0, 0, 2);   // giaddr inside subnet A

// Option 82 value with a circuit-id (and a remote-id if given).
std::vector<std::uint8_t> rai(std::string_view circuit, std::string_view remote = {}) {
  std::vector<std::uint8_t> v;
  v.reserve(4 + circuit.size() + remote.size());
  if (!circuit.empty()) {
    v.push_back(1);
    v.push_back(static_cast<std::uint8_t>(circuit.size()));
    for (char ch : circuit) v.push_back(static_cast<std::uint8_t>(ch));
  }
  if (!remote.empty()) {
    v.push_back(2);
    v.push_back(static_cast<std::uint8_t>(remote.size()));
    for (char ch : remote) v.push_back(static_cast<std::uint8_t>(ch));
  }
  return v;
}

EngineConfig limits_config(std::uint32_t max_leases, std::uint32_t max_rate) {
  EngineConfig c;
  c.server_address = kServer;
  c.offer_hold_s = 30;
  c.decline_probation_s = 600;
  SubnetConfig a;
  a.id = 100;
  a.prefix = ip(10, 0, 0, 0);
  a.prefix_len = 24;
  a.pools = {{ip(10, 0, 0, 10), ip(10, 0, 0, 250)}};
  a.lease_time = 600;
  a.min_lease_time = 60;
  SubnetConfig b;   // its own scope (set below by the tests that want it)
  b.id = 200;
  b.prefix = ip(10, 1, 0, 0);
  b.prefix_len = 24;
  b.pools = {{ip(10, 1, 0, 10), ip(10, 1, 0, 100)}};
  c.subnets = {a, b};
  c.limits.max_leases = max_leases;
  c.limits.max_new_per_second = max_rate;
  return c;
}

class LimitsTest : public EngineFixture {
 protected:
  void SetUp() override { build(limits_config(2, 0), sizes()); }
  static ShardConfig sizes() {
    ShardConfig s = test_sizes();
    s.keep_relay_info = true;   // as the runtime sets it with limits (journals option 82)
    return s;
  }

  Req relayed(MacAddr mac, std::string_view circuit, MessageType type = MessageType::discover) {
    Req r;
    r.type = type;
    r.mac = mac;
    r.giaddr = kRelay;
    r.relay_info = rai(circuit);
    return r;
  }
  Decision offer(MacAddr mac, std::string_view circuit) { return send(relayed(mac, circuit)); }
  Decision request(MacAddr mac, std::string_view circuit, Ipv4 addr) {
    Req r = relayed(mac, circuit, MessageType::request);
    r.requested = addr;
    r.server_id = kServer;
    return send(r);
  }
  // DISCOVER + SELECTING REQUEST on `circuit`: the ACKed address, 0 if none.
  Ipv4 dora_on(MacAddr mac, std::string_view circuit) {
    const Decision o = offer(mac, circuit);
    if (o.verdict != Verdict::reply || o.type != MessageType::offer) return 0;
    const Decision a = request(mac, circuit, o.yiaddr);
    return a.verdict == Verdict::reply && a.type == MessageType::ack ? a.yiaddr : 0;
  }
  std::uint32_t count_of(std::string_view circuit, std::uint64_t scope = 0) const {
    const auto v = rai(circuit);
    return shard_->limit_count(LimitBy::circuit_id, wire::Bytes{v}, MacAddr{}, scope);
  }
};

TEST_F(LimitsTest, LimitReachedIsACountedDrop) {
  EXPECT_NE(dora_on(mac_of(1), "line-1"), 0u);
  EXPECT_NE(dora_on(mac_of(2), "line-1"), 0u);
  EXPECT_EQ(count_of("line-1"), 2u);
  const Decision d = offer(mac_of(3), "line-1");
  EXPECT_EQ(d.verdict, Verdict::drop);
  EXPECT_EQ(d.drop, DropReason::limit_leases);
  EXPECT_EQ(drops(DropReason::limit_leases), 1u);
  // Another circuit is not concerned.
  EXPECT_NE(dora_on(mac_of(3), "line-2"), 0u);
  EXPECT_EQ(count_of("line-2"), 1u);
  EXPECT_EQ(shard_->limit_charged(), 3u);
}

TEST_F(LimitsTest, RenewalsAndBoundClientsAreNeverRefused) {
  const Ipv4 a1 = dora_on(mac_of(1), "line-1");
  ASSERT_NE(dora_on(mac_of(2), "line-1"), 0u);
  Req renewing = relayed(mac_of(1), "line-1", MessageType::request);
  renewing.ciaddr = a1;
  EXPECT_EQ(send(renewing).type, MessageType::ack);
  // A DISCOVER and an INIT-REBOOT REQUEST of a bound client: answered.
  const Decision again = offer(mac_of(1), "line-1");
  EXPECT_EQ(again.type, MessageType::offer);
  EXPECT_EQ(again.yiaddr, a1);
  EXPECT_EQ(request(mac_of(1), "line-1", a1).type, MessageType::ack);
  EXPECT_EQ(drops(DropReason::limit_leases), 0u);
  EXPECT_EQ(count_of("line-1"), 2u);
}

TEST_F(LimitsTest, OffersDoNotPassTheLastPlaceTwice) {
  ASSERT_NE(dora_on(mac_of(1), "line-1"), 0u);
  // Two clients offered while one place is left: the first REQUEST takes it,
  // the second is refused (not NAKed: silence).
  const Decision o2 = offer(mac_of(2), "line-1");
  const Decision o3 = offer(mac_of(3), "line-1");
  ASSERT_EQ(o2.type, MessageType::offer);
  ASSERT_EQ(o3.type, MessageType::offer);
  EXPECT_EQ(request(mac_of(2), "line-1", o2.yiaddr).type, MessageType::ack);
  const Decision r3 = request(mac_of(3), "line-1", o3.yiaddr);
  EXPECT_EQ(r3.verdict, Verdict::drop);
  EXPECT_EQ(r3.drop, DropReason::limit_leases);
  EXPECT_EQ(count_of("line-1"), 2u);
  EXPECT_EQ(shard_->limit_charged(), 2u);
}

TEST_F(LimitsTest, RequestThatDoesNotCommitGivesItsPlaceBack) {
  ASSERT_NE(dora_on(mac_of(1), "line-1"), 0u);
  // A REQUEST for an address of no subnet is NAKed: nothing stays counted.
  EXPECT_EQ(request(mac_of(2), "line-1", ip(192, 168, 9, 9)).type, MessageType::nak);
  EXPECT_EQ(count_of("line-1"), 1u);
  EXPECT_NE(dora_on(mac_of(2), "line-1"), 0u);
}

// RFC 4039: a DISCOVER with option 80 commits at once, so it reserves its
// place as a REQUEST does (engine/limits.cpp limit_admit) and keeps it
// when it is ACKed; one that is only OFFERed (rapid commit off in its
// subnet) gives the place back.
TEST_F(LimitsTest, RapidCommitReservesItsPlaceLikeARequest) {
  EngineConfig c = limits_config(2, 0);
  c.subnets[0].rapid_commit = true;
  build(c, sizes());
  auto rapid = [&](MacAddr mac) {
    Req r = relayed(mac, "line-1");
    r.rapid_commit = true;
    return send(r);
  };
  const Decision a1 = rapid(mac_of(1));
  ASSERT_EQ(a1.type, MessageType::ack);
  EXPECT_TRUE(a1.rapid_commit);
  EXPECT_EQ(count_of("line-1"), 1u);
  EXPECT_EQ(rapid(mac_of(2)).type, MessageType::ack);
  EXPECT_EQ(count_of("line-1"), 2u);
  EXPECT_EQ(shard_->limit_charged(), 2u);
  const Decision refused = rapid(mac_of(3));
  EXPECT_EQ(refused.verdict, Verdict::drop);
  EXPECT_EQ(refused.drop, DropReason::limit_leases);
  EXPECT_EQ(count_of("line-1"), 2u);
  // A bound client's rapid DISCOVER is never refused and counts once.
  EXPECT_EQ(rapid(mac_of(1)).type, MessageType::ack);
  EXPECT_EQ(count_of("line-1"), 2u);
  EXPECT_EQ(shard_->limit_charged(), 2u);

  build(limits_config(2, 0), sizes());   // rapid commit off: an OFFER
  const Decision o = rapid(mac_of(4));
  ASSERT_EQ(o.type, MessageType::offer);
  EXPECT_EQ(count_of("line-1"), 0u);   // the place taken at admission went back
  EXPECT_EQ(shard_->limit_charged(), 0u);
  EXPECT_NE(dora_on(mac_of(4), "line-1"), 0u);
  EXPECT_NE(dora_on(mac_of(5), "line-1"), 0u);
  EXPECT_EQ(count_of("line-1"), 2u);
}

TEST_F(LimitsTest, ReleaseExpiryDeclineAndDeleteFreePlaces) {
  const Ipv4 a1 = dora_on(mac_of(1), "line-1");
  const Ipv4 a2 = dora_on(mac_of(2), "line-1");
  ASSERT_EQ(offer(mac_of(3), "line-1").drop, DropReason::limit_leases);
  // RELEASE
  Req rel = relayed(mac_of(1), "line-1", MessageType::release);
  rel.ciaddr = a1;
  rel.server_id = kServer;
  EXPECT_EQ(send(rel).verdict, Verdict::silent);
  EXPECT_EQ(count_of("line-1"), 1u);
  const Ipv4 a3 = dora_on(mac_of(3), "line-1");
  ASSERT_NE(a3, 0u);
  // DECLINE
  Req dec = relayed(mac_of(2), "line-1", MessageType::decline);
  dec.requested = a2;
  dec.server_id = kServer;
  EXPECT_EQ(send(dec).verdict, Verdict::silent);
  EXPECT_EQ(count_of("line-1"), 1u);
  ASSERT_NE(dora_on(mac_of(4), "line-1"), 0u);
  // lease4-del (control API del_address)
  AdminRequest del;
  del.op = AdminOp::del_address;
  del.address = a3;
  std::vector<AdminReply> out(kMaxAdminReplies);
  ASSERT_GE(shard_->admin(del, now_, out), 1u);
  EXPECT_EQ(out[0].status, AdminStatus::ok);
  EXPECT_EQ(count_of("line-1"), 1u);
  // Expiry
  advance(700);
  EXPECT_EQ(count_of("line-1"), 0u);
  EXPECT_EQ(shard_->limit_charged(), 0u);
  EXPECT_NE(dora_on(mac_of(5), "line-1"), 0u);
  EXPECT_NE(dora_on(mac_of(6), "line-1"), 0u);
}

TEST_F(LimitsTest, RatePerSecondWithInjectedClock) {
  build(limits_config(0, 2), sizes());
  EXPECT_EQ(offer(mac_of(1), "line-1").type, MessageType::offer);
  EXPECT_EQ(offer(mac_of(2), "line-1").type, MessageType::offer);
  const Decision third = offer(mac_of(3), "line-1");
  EXPECT_EQ(third.verdict, Verdict::drop);
  EXPECT_EQ(third.drop, DropReason::limit_rate);
  EXPECT_EQ(drops(DropReason::limit_rate), 1u);
  EXPECT_EQ(offer(mac_of(3), "line-2").type, MessageType::offer);   // another circuit
  // The REQUEST after an OFFER is not a new client.
  EXPECT_EQ(request(mac_of(1), "line-1", shard_->find_lease(client_key_hw(1, wire::Bytes{mac_of(1).b.data(), 6}))->address).type,
            MessageType::ack);
  // A renewal is never a new client.
  const Lease* l1 = lease_of(mac_of(1));
  ASSERT_NE(l1, nullptr);
  Req renewing = relayed(mac_of(1), "line-1", MessageType::request);
  renewing.ciaddr = l1->address;
  EXPECT_EQ(send(renewing).type, MessageType::ack);
  now_ += 1;   // the next second
  EXPECT_EQ(offer(mac_of(3), "line-1").type, MessageType::offer);
  EXPECT_EQ(drops(DropReason::limit_rate), 1u);
}

// BOOTP clients (engine/bootp.cpp, `bootp = true`) are limited as a
// REQUEST is: the lease a BOOTP client commits counts on its circuit (for
// DHCP clients too), one above the limit is a counted drop, a bound BOOTP
// client is answered again, and a new one counts towards the rate.
class LimitsBootpTest : public LimitsTest {
 protected:
  // A relayed BOOTREQUEST with the DHCP cookie and option 82 but without
  // option 53 (its 3 bytes overwritten with PAD).
  Decision bootp(MacAddr mac, std::string_view circuit) {
    last_ = make_packet(relayed(mac, circuit, MessageType::request));
    const wire::Bytes udp = last_->frame.udp_payload(last_->bytes);
    const std::size_t base = static_cast<std::size_t>(udp.data() - last_->bytes.data());
    for (std::size_t at = base + wire::kBootpFixedSize + 4; at + 2 < last_->bytes.size();) {
      const std::uint8_t code = last_->bytes[at];
      if (code == 0) { ++at; continue; }
      if (code == 255) break;
      const std::size_t len = last_->bytes[at + 1];
      if (code == wire::opt::message_type) {
        std::fill_n(last_->bytes.begin() + static_cast<std::ptrdiff_t>(at), 2 + len, std::uint8_t{0});
        break;
      }
      at += 2 + len;
    }
    EXPECT_EQ(last_->msg.parse(last_->frame.udp_payload(last_->bytes)), wire::Error::ok);
    EXPECT_FALSE(last_->msg.message_type().has_value());
    const Decision d = shard_->handle(last_->msg, last_->rx, now_);
    EXPECT_EQ(shard_->audit(), "");
    return d;
  }
  void build_bootp(std::uint32_t max_leases, std::uint32_t max_rate) {
    EngineConfig c = limits_config(max_leases, max_rate);
    c.subnets[0].bootp = true;
    build(c, sizes());
  }
};

TEST_F(LimitsBootpTest, BootpLeasesCountAndAreLimited) {
  build_bootp(2, 0);
  const Decision first = bootp(mac_of(1), "line-1");
  ASSERT_EQ(first.verdict, Verdict::reply);
  EXPECT_TRUE(first.bootp);
  EXPECT_EQ(count_of("line-1"), 1u);
  EXPECT_NE(dora_on(mac_of(2), "line-1"), 0u);   // a DHCP client takes the second place
  EXPECT_EQ(count_of("line-1"), 2u);
  const Decision third = bootp(mac_of(3), "line-1");
  EXPECT_EQ(third.verdict, Verdict::drop);
  EXPECT_EQ(third.drop, DropReason::limit_leases);
  EXPECT_EQ(lease_of(mac_of(3)), nullptr);
  // The BOOTP lease counts against DHCP clients as well.
  EXPECT_EQ(offer(mac_of(4), "line-1").drop, DropReason::limit_leases);
  EXPECT_EQ(drops(DropReason::limit_leases), 2u);
  // The bound BOOTP client asks again: answered, still counted once.
  const Decision again = bootp(mac_of(1), "line-1");
  EXPECT_EQ(again.verdict, Verdict::reply);
  EXPECT_EQ(again.yiaddr, first.yiaddr);
  EXPECT_EQ(count_of("line-1"), 2u);
  EXPECT_EQ(shard_->limit_charged(), 2u);
  // Another circuit is not concerned.
  EXPECT_EQ(bootp(mac_of(5), "line-2").verdict, Verdict::reply);
  EXPECT_EQ(count_of("line-2"), 1u);
}

TEST_F(LimitsBootpTest, NewBootpClientsCountTowardsTheRate) {
  build_bootp(0, 1);
  EXPECT_EQ(bootp(mac_of(1), "line-1").verdict, Verdict::reply);
  const Decision second = bootp(mac_of(2), "line-1");
  EXPECT_EQ(second.verdict, Verdict::drop);
  EXPECT_EQ(second.drop, DropReason::limit_rate);
  EXPECT_EQ(bootp(mac_of(1), "line-1").verdict, Verdict::reply);   // bound: not a new client
  now_ += 1;
  EXPECT_EQ(bootp(mac_of(2), "line-1").verdict, Verdict::reply);
  EXPECT_EQ(drops(DropReason::limit_rate), 1u);
}

TEST_F(LimitsTest, WithoutOption82TheMacIsTheCircuit) {
  build(limits_config(1, 0), sizes());
  EXPECT_NE(dora(mac_of(1)), 0u);
  // The same MAC with another client-id: a second lease of that MAC, refused.
  Req r;
  r.mac = mac_of(1);
  r.client_id = {0xff, 1, 2, 3};
  EXPECT_EQ(send(r).drop, DropReason::limit_leases);
  EXPECT_NE(dora(mac_of(2)), 0u);
}

TEST_F(LimitsTest, LimitByRemoteId) {
  EngineConfig c = limits_config(1, 0);
  c.limits.by = LimitBy::remote_id;
  c.limits.by_set = true;
  build(c, sizes());
  Req r = relayed(mac_of(1), "line-1");
  r.relay_info = rai("line-1", "cpe-a");
  const Decision o = send(r);
  ASSERT_EQ(o.type, MessageType::offer);
  r.type = MessageType::request;
  r.requested = o.yiaddr;
  r.server_id = kServer;
  ASSERT_EQ(send(r).type, MessageType::ack);
  Req other = relayed(mac_of(2), "line-2");   // another circuit, the same remote-id
  other.relay_info = rai("line-2", "cpe-a");
  EXPECT_EQ(send(other).drop, DropReason::limit_leases);
  other.relay_info = rai("line-1", "cpe-b");  // the same circuit, another remote-id
  EXPECT_EQ(send(other).type, MessageType::offer);
}

TEST_F(LimitsTest, SubnetScopeCountsApart) {
  EngineConfig c = limits_config(1, 0);
  c.subnets[1].limits.max_leases = 3;   // subnet B: its own scope and limit
  build(c, sizes());
  EXPECT_NE(dora_on(mac_of(1), "line-1"), 0u);
  EXPECT_EQ(offer(mac_of(2), "line-1").drop, DropReason::limit_leases);
  // The same circuit in subnet B (by option 118): counted apart, up to 3.
  for (std::uint32_t i = 0; i < 3; ++i) {
    Req r = relayed(mac_of(10 + i), "line-1");
    r.subnet_selection = ip(10, 1, 0, 0);
    const Decision o = send(r);
    ASSERT_EQ(o.type, MessageType::offer) << i;
    r.type = MessageType::request;
    r.requested = o.yiaddr;
    r.server_id = kServer;
    ASSERT_EQ(send(r).type, MessageType::ack) << i;
  }
  Req r = relayed(mac_of(20), "line-1");
  r.subnet_selection = ip(10, 1, 0, 0);
  EXPECT_EQ(send(r).drop, DropReason::limit_leases);
  EXPECT_EQ(count_of("line-1"), 1u);
  EXPECT_EQ(count_of("line-1", std::uint64_t{1} << 32 | 200), 3u);
}

TEST_F(LimitsTest, ABoundClientMovingStaysCountedOnce) {
  const Ipv4 a1 = dora_on(mac_of(1), "line-1");
  ASSERT_NE(a1, 0u);
  // The same client asks for an address of subnet B (option 118) while
  // bound in A: it moves there, its lease is still one lease of line-1.
  Req r = relayed(mac_of(1), "line-1", MessageType::request);
  r.subnet_selection = ip(10, 1, 0, 0);
  r.requested = ip(10, 1, 0, 50);
  r.server_id = kServer;
  const Decision d = send(r);
  ASSERT_EQ(d.type, MessageType::ack);
  EXPECT_EQ(d.yiaddr, ip(10, 1, 0, 50));
  EXPECT_EQ(count_of("line-1"), 1u);
  EXPECT_EQ(shard_->limit_charged(), 1u);
}

TEST_F(LimitsTest, RestoreRebuildsTheCounts) {
  ASSERT_NE(dora_on(mac_of(1), "line-1"), 0u);
  ASSERT_NE(dora_on(mac_of(2), "line-1"), 0u);
  const std::vector<LeaseChange> journal = take_changes();
  // A fresh shard (a restart) from the journal's records.
  build(limits_config(2, 0), sizes());
  for (const LeaseChange& ch : journal) shard_->restore(ch, now_);
  EXPECT_EQ(count_of("line-1"), 2u);
  EXPECT_EQ(offer(mac_of(3), "line-1").drop, DropReason::limit_leases);
}

TEST_F(LimitsTest, ReloadRecountsAndCanLiftTheLimits) {
  ASSERT_NE(dora_on(mac_of(1), "line-1"), 0u);
  ASSERT_NE(dora_on(mac_of(2), "line-1"), 0u);
  // Limit 3: the two leases stay counted, a third client fits.
  auto next = std::make_unique<CompileResult>(compile(limits_config(3, 0)));
  ASSERT_TRUE(next->ok());
  Allocator fresh(next->config, shard_->identity());
  shard_->reconfigure(next->config, fresh);
  compiled_.swap(next);
  EXPECT_EQ(count_of("line-1"), 2u);
  EXPECT_NE(dora_on(mac_of(3), "line-1"), 0u);
  EXPECT_EQ(offer(mac_of(4), "line-1").drop, DropReason::limit_leases);
  // No limits: nothing counted, nothing refused.
  EngineConfig none = limits_config(0, 0);
  auto lifted = std::make_unique<CompileResult>(compile(none));
  ASSERT_TRUE(lifted->ok());
  EXPECT_TRUE(lifted->config.subnet_limits.empty());
  Allocator fresh2(lifted->config, shard_->identity());
  shard_->reconfigure(lifted->config, fresh2);
  compiled_.swap(lifted);
  EXPECT_EQ(shard_->limit_charged(), 0u);
  EXPECT_EQ(count_of("line-1"), 0u);
  EXPECT_NE(dora_on(mac_of(4), "line-1"), 0u);
}

// Two shards (two workers) with one shared table: leases of one circuit on
// both count together.
TEST(LimitsShared, TwoShardsShareTheCount) {
  auto compiled = std::make_unique<CompileResult>(compile(limits_config(3, 0)));
  ASSERT_TRUE(compiled->ok());
  LimitTable table(2 * 256);
  std::vector<std::unique_ptr<Shard>> shards;
  for (std::uint32_t i = 0; i < 2; ++i) {
    ShardConfig sc = test_sizes();
    sc.identity = ShardIdentity{i, 2};
    sc.limits = &table;
    Shard::Created c = Shard::create(compiled->config, sc);
    ASSERT_TRUE(c.shard) << c.error;
    shards.push_back(std::move(c.shard));
  }
  Seconds now = kStart;
  auto dora_at = [&](Shard& s, std::uint32_t n) -> Decision {
    Req r;
    r.mac = mac_of(n);
    r.giaddr = kRelay;
    r.relay_info = rai("line-1");
    auto p = make_packet(r);
    const Decision o = s.handle(p->msg, p->rx, now);
    if (o.verdict != Verdict::reply) return o;
    r.type = MessageType::request;
    r.requested = o.yiaddr;
    r.server_id = kServer;
    p = make_packet(r);
    return s.handle(p->msg, p->rx, now);
  };
  EXPECT_EQ(dora_at(*shards[0], 1).type, MessageType::ack);
  EXPECT_EQ(dora_at(*shards[1], 2).type, MessageType::ack);
  EXPECT_EQ(dora_at(*shards[1], 3).type, MessageType::ack);
  const Decision refused = dora_at(*shards[0], 4);
  EXPECT_EQ(refused.verdict, Verdict::drop);
  EXPECT_EQ(refused.drop, DropReason::limit_leases);
  const auto v = rai("line-1");
  EXPECT_EQ(table.count(limit_key_hash(LimitBy::circuit_id, wire::Bytes{v}, MacAddr{}, 0)), 3u);
  // A release on shard 1 frees a place for shard 0's client.
  Req rel;
  rel.type = MessageType::release;
  rel.mac = mac_of(2);
  rel.giaddr = kRelay;
  rel.relay_info = rai("line-1");
  rel.server_id = kServer;
  rel.ciaddr = shards[1]->find_lease(client_key_hw(1, wire::Bytes{mac_of(2).b.data(), 6}))->address;
  auto p = make_packet(rel);
  EXPECT_EQ(shards[1]->handle(p->msg, p->rx, now).verdict, Verdict::silent);
  EXPECT_EQ(dora_at(*shards[0], 4).type, MessageType::ack);
}

// Two workers racing rapid-commit DISCOVERs (RFC 4039) on one circuit with
// one place: each round both send at once; at most one is ACKed and the
// shared count never passes 1. (A count check without a reservation let
// both through whenever the two checks came before either commit.)
TEST(LimitsShared, RacingRapidCommitsNeverPassTheLimit) {
  EngineConfig cfg = limits_config(1, 0);
  cfg.subnets[0].rapid_commit = true;
  cfg.subnets[0].prefix_len = 22;   // room for a lease per round on either shard
  cfg.subnets[0].pools = {{ip(10, 0, 0, 10), ip(10, 0, 3, 250)}};
  auto compiled = std::make_unique<CompileResult>(compile(cfg));
  ASSERT_TRUE(compiled->ok());
  LimitTable table(2 * 1024);
  std::vector<std::unique_ptr<Shard>> shards;
  for (std::uint32_t i = 0; i < 2; ++i) {
    ShardConfig sc = test_sizes(1024);
    sc.identity = ShardIdentity{i, 2};
    sc.limits = &table;
    Shard::Created c = Shard::create(compiled->config, sc);
    ASSERT_TRUE(c.shard) << c.error;
    shards.push_back(std::move(c.shard));
  }
  constexpr std::uint32_t kRounds = 400;
  // Packets built up front: each thread only decides (round r, thread t:
  // MAC 2r+t on circuit "r<r>").
  std::vector<std::unique_ptr<Packet>> packets[2];
  for (std::uint32_t t = 0; t < 2; ++t)
    for (std::uint32_t r = 0; r < kRounds; ++r) {
      Req q;
      q.mac = mac_of(2 * r + t);
      q.giaddr = kRelay;
      q.relay_info = rai(std::string(1, 'r').append(std::to_string(r)));
      q.rapid_commit = true;
      packets[t].push_back(make_packet(q));
    }
  std::atomic<std::uint32_t> ready[2] = {0, 0};
  std::vector<std::uint8_t> acked[2] = {std::vector<std::uint8_t>(kRounds), std::vector<std::uint8_t>(kRounds)};
  auto run = [&](std::uint32_t t) {
    for (std::uint32_t r = 0; r < kRounds; ++r) {
      ready[t].store(r + 1, std::memory_order_release);   // a two-thread barrier per round
      while (ready[1 - t].load(std::memory_order_acquire) < r + 1) std::this_thread::yield();
      const Decision d = shards[t]->handle(packets[t][r]->msg, packets[t][r]->rx, kStart);
      acked[t][r] = d.verdict == Verdict::reply && d.type == MessageType::ack ? 1 : 0;
      shards[t]->clear_changes();   // as the runtime drains them
    }
  };
  std::thread other(run, 1);
  run(0);
  other.join();
  std::uint32_t total = 0;
  for (std::uint32_t r = 0; r < kRounds; ++r) {
    EXPECT_LE(acked[0][r] + acked[1][r], 1) << "round " << r;
    EXPECT_EQ(acked[0][r] + acked[1][r], 1) << "round " << r;   // and one of them got it
    const auto v = rai(std::string(1, 'r').append(std::to_string(r)));
    EXPECT_EQ(table.count(limit_key_hash(LimitBy::circuit_id, wire::Bytes{v}, MacAddr{}, 0)), 1u) << "round " << r;
    total += acked[0][r] + acked[1][r];
  }
  EXPECT_EQ(shards[0]->limit_charged() + shards[1]->limit_charged(), total);
}

// The table itself: the limit holds under two threads taking at once, and
// a key's slot whose count went to 0 is taken by another key.
TEST(LimitTableTest, ConcurrentTakesNeverPassTheLimit) {
  LimitTable table(64);
  const std::uint64_t h = 0x1234567890abcdefull;
  std::atomic<int> ok{0};
  auto worker = [&] {
    for (int i = 0; i < 10000; ++i) {
      const LimitTable::Taken t = table.take(h, 5);
      if (t.status == LimitTable::Take::ok) {
        ok.fetch_add(1);
        EXPECT_LE(table.count(h), 5u);
        table.release(t.slot);
      }
    }
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(table.count(h), 0u);
  // Held to the limit: the sixth is refused.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(table.take(h, 5).status, LimitTable::Take::ok);
  EXPECT_EQ(table.take(h, 5).status, LimitTable::Take::full);
  EXPECT_EQ(table.count(h), 5u);
}

TEST(LimitTableTest, EmptiedSlotsAreReusedAndTheWindowIsBounded) {
  LimitTable table(32);   // 64 slots
  ASSERT_EQ(table.capacity(), 64u);
  std::vector<std::uint32_t> slots;
  // 64 keys with the same home slot: a window of kLimitWindow holds them.
  for (std::uint64_t k = 0; k < kLimitWindow; ++k) {
    const LimitTable::Taken t = table.take((k + 1) << 32, 0);
    ASSERT_EQ(t.status, LimitTable::Take::ok) << k;
    slots.push_back(t.slot);
  }
  EXPECT_EQ(table.take(std::uint64_t{999} << 32, 0).status, LimitTable::Take::no_room);
  table.release(slots[3]);   // its count goes to 0: the slot is reusable
  const LimitTable::Taken t = table.take(std::uint64_t{999} << 32, 0);
  ASSERT_EQ(t.status, LimitTable::Take::ok);
  EXPECT_EQ(t.slot, slots[3]);
  EXPECT_EQ(table.count(std::uint64_t{4} << 32), 0u);
  EXPECT_EQ(table.count(std::uint64_t{5} << 32), 1u);
}

TEST(LimitTableTest, RateIsPerSecond) {
  LimitTable table(64);
  const std::uint64_t h = 42;
  EXPECT_EQ(table.admit_new(h, 2, 100), LimitTable::Take::ok);
  EXPECT_EQ(table.admit_new(h, 2, 100), LimitTable::Take::ok);
  EXPECT_EQ(table.admit_new(h, 2, 100), LimitTable::Take::full);
  EXPECT_EQ(table.admit_new(h, 2, 101), LimitTable::Take::ok);
}

}  // namespace
}  // namespace dorado::engine
