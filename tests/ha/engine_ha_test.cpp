// The engine's HA part (engine/ha.hpp, engine/ha.cpp): the RFC 3074 bucket
// hash, block ownership between the two servers, who answers in each
// HaServe, and Shard::replicate's rules for the partner's lease changes.
#include "engine/engine.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <vector>

namespace dorado::engine {
namespace {

using wire::MacAddr;
using wire::MessageType;

constexpr Ipv4 ip(unsigned a, unsigned b, unsigned c, unsigned d) { return (a << 24) | (b << 16) | (c << 8) | d; }
constexpr Ipv4 kServer = ip(10, 0, 0, 1);
constexpr Seconds kNow = 1'700'000'000;
const MacAddr kServerMac{{0x02, 0xaa, 0, 0, 0, 1}};

MacAddr mac_of(std::uint32_t n) {
  return MacAddr{{0x02, 0x00, static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                  static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)}};
}

// ---- RFC 3074 ---------------------------------------------------------------------

TEST(Rfc3074, MixingTableIsAPermutation) {
  std::set<unsigned> seen(kRfc3074MixTable.begin(), kRfc3074MixTable.end());
  EXPECT_EQ(seen.size(), 256u);
  // First and last entries of RFC 3074 section 6's table, as printed.
  EXPECT_EQ(kRfc3074MixTable[0], 251);
  EXPECT_EQ(kRfc3074MixTable[1], 175);
  EXPECT_EQ(kRfc3074MixTable[14], 0);
  EXPECT_EQ(kRfc3074MixTable[255], 151);
}

TEST(Rfc3074, HashIsSeededWithTheLengthAndTakesBytesLastToFirst) {
  // Worked by hand from the RFC's pseudo-code: hash = len; for i = len..1:
  // hash = T[hash ^ key[i-1]].
  EXPECT_EQ(rfc3074_bucket({}), 0);
  const std::uint8_t one[] = {0x00};
  EXPECT_EQ(rfc3074_bucket(one), kRfc3074MixTable[1]);   // T[1 ^ 0] = 175
  const std::uint8_t two[] = {0x01, 0x02};
  // hash = 2; T[2 ^ 2] = T[0] = 251; T[251 ^ 1] = T[250].
  EXPECT_EQ(rfc3074_bucket(two), kRfc3074MixTable[250]);
  const std::uint8_t rev[] = {0x02, 0x01};
  EXPECT_NE(rfc3074_bucket(two), rfc3074_bucket(rev));   // order matters
}

TEST(Rfc3074, SplitsRandomMacsEvenly) {
  std::mt19937 rng(7);
  unsigned low = 0;
  constexpr unsigned kClients = 20000;
  for (unsigned i = 0; i < kClients; ++i) {
    std::array<std::uint8_t, 6> mac{0x02};
    for (unsigned k = 1; k < 6; ++k) mac[k] = static_cast<std::uint8_t>(rng());
    if (rfc3074_bucket(mac) < 128) ++low;
  }
  EXPECT_GT(low, kClients * 47 / 100);
  EXPECT_LT(low, kClients * 53 / 100);
}

// ---- a shard with HA ----------------------------------------------------------------

// 10.0.0.0/22 with a pool of four whole blocks (.0.64 - .1.127 has blocks at
// .0.64, .0.128, .0.192, .1.0, .1.64): enough to see both sides.
EngineConfig ha_config(std::uint8_t side, bool all_blocks, BucketSet buckets) {
  EngineConfig c;
  c.server_address = kServer;
  SubnetConfig s;
  s.id = 1;
  s.prefix = ip(10, 0, 0, 0);
  s.prefix_len = 22;
  s.pools = {{ip(10, 0, 0, 64), ip(10, 0, 1, 127)}};
  s.lease_time = 3600;
  s.min_lease_time = 60;
  s.max_lease_time = 86400;
  c.subnets = {s};
  c.ha.enabled = true;
  c.ha.side = side;
  c.ha.all_blocks = all_blocks;
  c.ha.buckets = buckets;
  c.ha.unacked_secs = 10;
  return c;
}

ShardConfig sizes() {
  ShardConfig s;
  s.table.capacity = 1024;
  s.table.hostname_capacity = 64;
  s.table.long_key_capacity = 8;
  s.table.wheel_bits = 10;
  s.change_log_capacity = 256;
  return s;
}

struct Packet {
  std::vector<std::uint8_t> bytes;
  wire::Frame frame;
  wire::DhcpMessage msg;
  RxMeta rx;
};

std::unique_ptr<Packet> packet(MessageType type, const MacAddr& mac, std::uint16_t secs = 0, Ipv4 requested = 0,
                               Ipv4 server_id = 0) {
  auto p = std::make_unique<Packet>();
  wire::Envelope env;
  env.eth_src = mac;
  env.eth_dst = MacAddr::broadcast();
  env.ip_dst = 0xffffffffu;
  env.src_port = wire::kPortBootpc;
  env.dst_port = wire::kPortBootps;
  wire::BootpFields b;
  b.op = 1;
  b.xid = 0x1234;
  b.secs = secs;
  std::memcpy(b.chaddr.data(), mac.b.data(), 6);
  std::array<std::uint8_t, 4> req{};
  std::vector<wire::OptionValue> opts;
  if (requested != 0) {
    wire::store_be32(req.data(), requested);
    opts.push_back({wire::opt::requested_ip, wire::Bytes{req}, false});
  }
  wire::DhcpOptionsSpec spec;
  spec.type = type;
  spec.server_id = server_id;
  spec.options = opts;
  p->bytes.resize(1600);
  const wire::BuildResult built = wire::build_dhcp_frame(p->bytes, env, b, spec);
  EXPECT_EQ(built.error, wire::Error::ok);
  p->bytes.resize(built.length);
  p->frame = wire::parse_frame(p->bytes);
  EXPECT_EQ(p->msg.parse(p->frame.udp_payload(p->bytes)), wire::Error::ok);
  p->rx = rx_meta_of(p->frame, kServerMac, kServer);
  return p;
}

class HaShard : public ::testing::Test {
 protected:
  void build(std::uint8_t side, bool all_blocks = false, BucketSet buckets = BucketSet::range(0, 256),
             ShardIdentity id = {}) {
    shard_.reset();
    compiled_ = std::make_unique<CompileResult>(compile(ha_config(side, all_blocks, buckets)));
    ASSERT_TRUE(compiled_->ok()) << compiled_->error;
    ShardConfig sc = sizes();
    sc.identity = id;
    Shard::Created c = Shard::create(compiled_->config, sc);
    ASSERT_TRUE(c.shard) << c.error;
    shard_ = std::move(c.shard);
  }
  Decision send(MessageType type, const MacAddr& mac, std::uint16_t secs = 0, Ipv4 requested = 0,
                Ipv4 server_id = 0) {
    auto p = packet(type, mac, secs, requested, server_id);
    const Decision d = shard_->handle(p->msg, p->rx, now_);
    EXPECT_EQ(shard_->audit(), "");
    return d;
  }
  // A lease change as the partner's shard would journal it.
  LeaseChange change(LeaseOp op, std::uint32_t client, Ipv4 address, Seconds start, Seconds expires) {
    LeaseChange c;
    c.op = op;
    const ClientKey k = client_key_hw(1, wire::Bytes{mac_of(client).b.data(), 6});
    c.key_len = k.len;
    std::memcpy(c.key.data(), k.bytes.data(), k.len);
    c.htype = 1;
    c.chaddr = mac_of(client);
    c.subnet_id = 1;
    c.address = address;
    c.start = start;
    c.expires = expires;
    return c;
  }
  const Lease* lease_of(std::uint32_t client) const {
    return shard_->find_lease(client_key_hw(1, wire::Bytes{mac_of(client).b.data(), 6}));
  }

  std::unique_ptr<CompileResult> compiled_;
  std::unique_ptr<Shard> shard_;
  Seconds now_ = kNow;
};

TEST_F(HaShard, EachServerAllocatesOnlyInItsOwnBlocks) {
  for (std::uint8_t side = 0; side < 2; ++side) {
    build(side);
    shard_->set_ha_serve(HaServe::all);
    std::set<Ipv4> got;
    for (std::uint32_t c = 1; c < 400; ++c) {
      const Decision d = send(MessageType::discover, mac_of(c));
      if (d.verdict != Verdict::reply) {
        EXPECT_EQ(d.drop, DropReason::pool_exhausted);
        break;
      }
      got.insert(d.yiaddr);
      EXPECT_EQ(ha_side_of_block_base(d.yiaddr & ~63u), side) << "side " << int(side);
    }
    // Blocks .0.64 (1), .0.128 (2), .0.192 (3), .1.0 (4), .1.64 (5): side 0
    // owns .0.128 and .1.0 (128 addresses), side 1 .0.64, .0.192, .1.64 (192).
    EXPECT_EQ(got.size(), side == 0 ? 128u : 192u);
  }
}

TEST_F(HaShard, AllBlocksAllocatesInBothSides) {
  build(0, true);
  shard_->set_ha_serve(HaServe::all);
  std::set<std::uint8_t> sides;
  for (std::uint32_t c = 1; c <= 320; ++c) {
    const Decision d = send(MessageType::discover, mac_of(c));
    ASSERT_EQ(d.verdict, Verdict::reply) << c;
    sides.insert(ha_side_of_block_base(d.yiaddr & ~63u));
  }
  EXPECT_EQ(sides.size(), 2u);
  EXPECT_NE(send(MessageType::discover, mac_of(999)).verdict, Verdict::reply);   // 320 addresses, all given
}

TEST(HaBlocks, EveryShardOwnsBlocksOfBothSides) {
  // With HA, blocks go to shards in pairs ((base >> 7) % shards): each
  // shard of a 2-shard server gets addresses of its own side.
  EngineConfig c = ha_config(0, false, BucketSet::range(0, 256));
  c.subnets[0].prefix_len = 16;
  c.subnets[0].pools = {{ip(10, 0, 0, 0), ip(10, 0, 31, 255)}};
  const CompileResult compiled = compile(c);
  ASSERT_TRUE(compiled.ok()) << compiled.error;
  for (std::uint32_t shard = 0; shard < 2; ++shard) {
    Allocator a(compiled.config, {shard, 2});
    EXPECT_GT(a.free_count(0), 0u) << "shard " << shard;
    EXPECT_EQ(a.audit(), "");
  }
}

TEST_F(HaShard, ServeNoneAnswersNobody) {
  build(0);
  EXPECT_EQ(shard_->ha_serve(), HaServe::none);   // a shard with [ha] starts silent
  const Decision d = send(MessageType::discover, mac_of(1));
  EXPECT_EQ(d.verdict, Verdict::drop);
  EXPECT_EQ(d.drop, DropReason::ha_not_serving);
}

TEST_F(HaShard, BucketsAnswerOnlyOwnClientsAndReportRetryingOthers) {
  build(0, false, BucketSet::range(0, 128));
  shard_->set_ha_serve(HaServe::buckets);
  unsigned ours = 0, theirs = 0;
  for (std::uint32_t c = 1; c <= 200; ++c) {
    const MacAddr m = mac_of(c);
    const bool mine = rfc3074_bucket(wire::Bytes{m.b.data(), 6}) < 128;
    const Decision d = send(MessageType::discover, m);
    if (mine) {
      EXPECT_EQ(d.verdict, Verdict::reply) << c;
      ++ours;
    } else {
      EXPECT_EQ(d.drop, DropReason::ha_partner_scope) << c;
      ++theirs;
    }
  }
  EXPECT_GT(ours, 0u);
  EXPECT_GT(theirs, 0u);
  EXPECT_EQ(shard_->ha_unacked_written(), 0u);   // secs 0: nobody is retrying
  // A partner client retrying for 30 s (above unacked_secs = 10) is reported.
  std::uint32_t other = 1;
  while (rfc3074_bucket(wire::Bytes{mac_of(other).b.data(), 6}) < 128) ++other;
  EXPECT_EQ(send(MessageType::discover, mac_of(other), 30).drop, DropReason::ha_partner_scope);
  EXPECT_EQ(shard_->ha_unacked_written(), 1u);
  const ClientKey k = client_key_hw(1, wire::Bytes{mac_of(other).b.data(), 6});
  EXPECT_EQ(shard_->ha_unacked_at(0), static_cast<std::uint32_t>(k.hash));
}

TEST_F(HaShard, MaxAnswerSecsAnswersThePartnersClients) {
  EngineConfig c = ha_config(1, false, BucketSet::range(128, 256));
  c.ha.max_answer_secs = 20;
  compiled_ = std::make_unique<CompileResult>(compile(c));
  ASSERT_TRUE(compiled_->ok());
  ShardConfig sc = sizes();
  shard_ = Shard::create(compiled_->config, sc).shard;
  shard_->set_ha_serve(HaServe::buckets);
  std::uint32_t other = 1;
  while (rfc3074_bucket(wire::Bytes{mac_of(other).b.data(), 6}) >= 128) ++other;
  EXPECT_EQ(send(MessageType::discover, mac_of(other), 5).drop, DropReason::ha_partner_scope);
  EXPECT_EQ(send(MessageType::discover, mac_of(other), 25).verdict, Verdict::reply);
  EXPECT_EQ(shard_->counters().event(Event::ha_answered_for_partner), 1u);
}

TEST_F(HaShard, ReplicatedCommitInstallsThePartnersLeaseAndIsNotSentBack) {
  build(0);
  shard_->set_ha_serve(HaServe::all);
  const Ipv4 a = ip(10, 0, 0, 70);   // block .0.64: the partner's side
  ASSERT_EQ(ha_side_of_block_base(a & ~63u), 1);
  EXPECT_EQ(shard_->replicate(change(LeaseOp::commit, 5, a, kNow - 10, kNow + 3600), now_), ReplicateStatus::applied);
  EXPECT_EQ(shard_->audit(), "");
  const Lease* l = lease_of(5);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->address, a);
  EXPECT_EQ(l->state, LeaseState::active);
  EXPECT_EQ(l->expires, kNow + 3600);
  // Journaled once: the partner's record is this journal's copy (the HA
  // service journals it on arrival); the shard emits nothing for it.
  EXPECT_TRUE(shard_->changes().empty());
  // The same record again changes nothing and emits nothing.
  EXPECT_EQ(shard_->replicate(change(LeaseOp::commit, 5, a, kNow - 10, kNow + 3600), now_),
            ReplicateStatus::unchanged);
  EXPECT_TRUE(shard_->changes().empty());
  // The client renews here (REQUEST in RENEWING would; a DISCOVER offers it
  // its address back): the lease is known on this server.
  const Decision d = send(MessageType::discover, mac_of(5));
  EXPECT_EQ(d.yiaddr, a);
  // A packet's own change record is not marked.
  shard_->clear_changes();
  const Decision r = send(MessageType::request, mac_of(5), 0, a, kServer);
  EXPECT_EQ(r.type, MessageType::ack);
  ASSERT_FALSE(shard_->changes().empty());
  EXPECT_FALSE(shard_->changes().back().shard & kChangeFromPartner);
}

TEST_F(HaShard, ReplicatedRenewReleaseAndReclaim) {
  build(0);
  const Ipv4 a = ip(10, 0, 0, 200);   // .0.192: partner side
  ASSERT_EQ(shard_->replicate(change(LeaseOp::commit, 7, a, kNow, kNow + 100), now_), ReplicateStatus::applied);
  EXPECT_EQ(shard_->replicate(change(LeaseOp::renew, 7, a, kNow + 50, kNow + 500), now_), ReplicateStatus::applied);
  EXPECT_EQ(lease_of(7)->expires, kNow + 500);
  EXPECT_EQ(shard_->replicate(change(LeaseOp::release, 7, a, kNow + 50, kNow + 60), now_), ReplicateStatus::applied);
  EXPECT_EQ(lease_of(7)->state, LeaseState::released);
  EXPECT_EQ(shard_->audit(), "");
  ASSERT_EQ(shard_->replicate(change(LeaseOp::commit, 8, a, kNow + 70, kNow + 700), now_), ReplicateStatus::applied);
  EXPECT_EQ(shard_->replicate(change(LeaseOp::reclaim, 8, a, kNow + 70, kNow + 80), now_), ReplicateStatus::applied);
  EXPECT_EQ(lease_of(8), nullptr);
  EXPECT_EQ(shard_->audit(), "");
  // A partner's change is journaled once (on arrival), not by the shard:
  // the one record here is client 7's history that client 8's commit took
  // the address from (the shard's own consequence).
  ASSERT_EQ(shard_->changes().size(), 1u);
  EXPECT_EQ(shard_->changes()[0].op, LeaseOp::reclaim);
  EXPECT_EQ(shard_->changes()[0].chaddr, mac_of(7));
}

TEST_F(HaShard, ConflictOnOneAddressIsResolvedByTheLaterTransaction) {
  build(0);
  shard_->set_ha_serve(HaServe::all);
  const Decision d = send(MessageType::discover, mac_of(1));
  ASSERT_EQ(d.verdict, Verdict::reply);
  const Ipv4 a = d.yiaddr;   // our side
  ASSERT_EQ(send(MessageType::request, mac_of(1), 0, a, kServer).type, MessageType::ack);
  // An older lease of another client on the same address loses. The
  // loser's record is already in this server's journal (the HA service
  // journals on arrival): the shard journals a reclaim of that client and
  // its own lease again after it.
  shard_->clear_changes();
  EXPECT_EQ(shard_->replicate(change(LeaseOp::commit, 2, a, kNow - 100, kNow + 3600), now_),
            ReplicateStatus::conflict_lost);
  EXPECT_EQ(lease_of(1)->address, a);
  EXPECT_EQ(lease_of(2), nullptr);
  ASSERT_EQ(shard_->changes().size(), 2u);
  EXPECT_EQ(shard_->changes()[0].op, LeaseOp::reclaim);
  EXPECT_EQ(shard_->changes()[0].chaddr, mac_of(2));
  EXPECT_EQ(shard_->changes()[1].op, LeaseOp::renew);
  EXPECT_EQ(shard_->changes()[1].chaddr, mac_of(1));
  EXPECT_EQ(shard_->changes()[1].address, a);
  EXPECT_TRUE(shard_->changes()[1].shard & kChangeFromPartner);
  // A later one wins: our client's record goes (it will be NAKed); what
  // the shard journals is that (the partner's commit is journaled already).
  shard_->clear_changes();
  EXPECT_EQ(shard_->replicate(change(LeaseOp::commit, 2, a, kNow + 5, kNow + 3600), now_),
            ReplicateStatus::conflict_won);
  for (const LeaseChange& ch : shard_->changes())
    EXPECT_FALSE(ch.chaddr == mac_of(2) && ch.op == LeaseOp::commit) << "the partner's commit journaled twice";
  EXPECT_EQ(lease_of(2)->address, a);
  EXPECT_EQ(lease_of(1), nullptr);
  EXPECT_EQ(shard_->audit(), "");
  EXPECT_EQ(send(MessageType::request, mac_of(1), 0, a, kServer).type, MessageType::nak);
}

TEST_F(HaShard, ConflictTieGoesToTheAddressOwner) {
  build(0);
  const Ipv4 ours = ip(10, 0, 0, 130);     // .0.128: side 0 (this server)
  const Ipv4 theirs = ip(10, 0, 0, 66);    // .0.64: side 1 (the partner)
  // Two partner records for two clients at the same time: the first wins
  // its address, the second ties. On our address the tie keeps ours; on the
  // partner's it takes the partner's.
  ASSERT_EQ(shard_->replicate(change(LeaseOp::commit, 1, ours, kNow, kNow + 600), now_), ReplicateStatus::applied);
  ASSERT_EQ(shard_->replicate(change(LeaseOp::commit, 2, theirs, kNow, kNow + 600), now_), ReplicateStatus::applied);
  EXPECT_EQ(shard_->replicate(change(LeaseOp::commit, 3, ours, kNow, kNow + 600), now_),
            ReplicateStatus::conflict_lost);
  EXPECT_EQ(shard_->replicate(change(LeaseOp::commit, 4, theirs, kNow, kNow + 600), now_),
            ReplicateStatus::conflict_won);
}

TEST_F(HaShard, OwnLaterRenewalBeatsAnOlderPartnerRecord) {
  build(0);
  shard_->set_ha_serve(HaServe::all);
  const Decision d = send(MessageType::discover, mac_of(9));
  ASSERT_EQ(send(MessageType::request, mac_of(9), 0, d.yiaddr, kServer).type, MessageType::ack);
  shard_->clear_changes();
  EXPECT_EQ(shard_->replicate(change(LeaseOp::commit, 9, d.yiaddr, kNow - 500, kNow + 10), now_),
            ReplicateStatus::conflict_lost);
  EXPECT_GT(lease_of(9)->expires, kNow + 10);
  ASSERT_EQ(shard_->changes().size(), 1u);   // our later lease journaled again after the partner's
  EXPECT_EQ(shard_->changes()[0].op, LeaseOp::renew);
  EXPECT_EQ(shard_->changes()[0].expires, lease_of(9)->expires);
  // The partner's release of that older lease changes nothing here either.
  EXPECT_EQ(shard_->replicate(change(LeaseOp::release, 9, d.yiaddr, kNow - 500, kNow - 400), now_),
            ReplicateStatus::conflict_lost);
  EXPECT_EQ(lease_of(9)->state, LeaseState::active);
}

TEST_F(HaShard, ReplicatedDeclineAndProbationEnd) {
  build(0);
  const Ipv4 a = ip(10, 0, 0, 90);
  LeaseChange p = change(LeaseOp::decline, 1, a, kNow, kNow + 600);
  p.key_len = 0;
  EXPECT_EQ(shard_->replicate(p, now_), ReplicateStatus::applied);
  EXPECT_EQ(shard_->lease_at_address(a)->state, LeaseState::declined);
  EXPECT_EQ(shard_->audit(), "");
  LeaseChange end = p;
  end.op = LeaseOp::expire;
  EXPECT_EQ(shard_->replicate(end, now_), ReplicateStatus::applied);
  EXPECT_EQ(shard_->lease_at_address(a), nullptr);
  EXPECT_EQ(shard_->audit(), "");
}

// The change a partner's record states is made with emit() muted (it was
// emitted, then taken back when it was the last record and looked the
// same): nothing is emitted for any op, a probation the partner ends by a
// release record included (the old check kept its keyless expire), the
// shard's seq does not move, and the next packet's record is emitted with
// the next seq.
TEST_F(HaShard, ThePartnersChangeIsNeverEmittedAndTheSeqsStayDense) {
  build(0);
  shard_->set_ha_serve(HaServe::all);
  const std::uint32_t seq = shard_->last_seq();
  const Ipv4 a = ip(10, 0, 0, 90), b = ip(10, 0, 0, 70), c = ip(10, 0, 0, 200);
  LeaseChange p = change(LeaseOp::decline, 1, a, kNow, kNow + 600);
  p.key_len = 0;
  ASSERT_EQ(shard_->replicate(p, now_), ReplicateStatus::applied);
  LeaseChange end = p;
  end.op = LeaseOp::release;
  EXPECT_EQ(shard_->replicate(end, now_), ReplicateStatus::applied);
  EXPECT_EQ(shard_->lease_at_address(a), nullptr);
  EXPECT_TRUE(shard_->changes().empty()) << "op " << static_cast<int>(shard_->changes()[0].op);
  ASSERT_EQ(shard_->replicate(change(LeaseOp::commit, 2, b, kNow, kNow + 600), now_), ReplicateStatus::applied);
  ASSERT_EQ(shard_->replicate(change(LeaseOp::renew, 2, b, kNow + 5, kNow + 900), now_), ReplicateStatus::applied);
  ASSERT_EQ(shard_->replicate(change(LeaseOp::decline, 2, b, kNow + 6, kNow + 606), now_), ReplicateStatus::applied);
  LeaseChange probation_end = change(LeaseOp::expire, 2, b, kNow + 6, kNow + 606);
  probation_end.key_len = 0;
  ASSERT_EQ(shard_->replicate(probation_end, now_), ReplicateStatus::applied);
  ASSERT_EQ(shard_->replicate(change(LeaseOp::commit, 3, c, kNow, kNow + 600), now_), ReplicateStatus::applied);
  ASSERT_EQ(shard_->replicate(change(LeaseOp::expire, 3, c, kNow, kNow + 1), now_), ReplicateStatus::applied);
  ASSERT_EQ(shard_->replicate(change(LeaseOp::reclaim, 3, c, kNow, kNow + 1), now_), ReplicateStatus::applied);
  EXPECT_TRUE(shard_->changes().empty());
  EXPECT_EQ(shard_->last_seq(), seq);
  EXPECT_EQ(shard_->audit(), "");
  // The packet path emits as before, with the next seq.
  const Decision d = send(MessageType::discover, mac_of(5));
  ASSERT_EQ(d.verdict, Verdict::reply);
  ASSERT_EQ(send(MessageType::request, mac_of(5), 0, d.yiaddr, kServer).type, MessageType::ack);
  ASSERT_EQ(shard_->changes().size(), 1u);
  EXPECT_EQ(shard_->changes()[0].seq, seq + 1);
  EXPECT_EQ(shard_->changes()[0].op, LeaseOp::commit);
}

TEST_F(HaShard, RecordsOutsideTheConfigAreRefused) {
  build(0);
  EXPECT_EQ(shard_->replicate(change(LeaseOp::commit, 1, ip(192, 0, 2, 1), kNow, kNow + 60), now_),
            ReplicateStatus::no_subnet);
  LeaseChange bad = change(LeaseOp::commit, 1, ip(10, 0, 0, 70), kNow, kNow + 60);
  bad.key_len = 200;
  EXPECT_EQ(shard_->replicate(bad, now_), ReplicateStatus::invalid);
  EXPECT_EQ(shard_->counters().event(Event::ha_replica_refused), 2u);
}

}  // namespace
}  // namespace dorado::engine
