// Conflict detection (engine/probe.hpp, wire/probe.hpp): the probe table's
// FIFO and address index against a model; the probe frames parsed back and
// answered by the server's own in-place ARP/ICMP answering code; and the
// shard's decisions: which DISCOVER is probed (new and long-unused
// addresses; never a renewal, the client's own lease, a reservation, a
// subnet with probe off), what a timeout and an answer do, the chain to
// the next address, and [conflict] / [subnet.conflict] compiled.
#include "engine/probe.hpp"
#include "engine/engine.hpp"
#include "wire/l3reply.hpp"
#include "wire/probe.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace dorado::engine {
namespace {

using wire::MacAddr;
using wire::MessageType;

constexpr Ipv4 ip(unsigned a, unsigned b, unsigned c, unsigned d) { return (a << 24) | (b << 16) | (c << 8) | d; }
constexpr Ipv4 kServer = ip(10, 0, 0, 1);
constexpr Seconds kStart = 1'700'000'000;
const MacAddr kServerMac{{0x02, 0xaa, 0, 0, 0, 1}};
MacAddr mac_of(std::uint8_t n) { return MacAddr{{0x02, 0, 0, 0, 0, n}}; }

// ---- ProbeTable ------------------------------------------------------------------------

TEST(ProbeTable, FifoIndexAndDuplicates) {
  ProbeTable t(4);
  EXPECT_TRUE(t.empty());
  int payloads[5];
  for (int i = 0; i < 4; ++i) {
    ProbeEntry e;
    e.address = ip(10, 0, 0, static_cast<unsigned>(10 + i));
    e.payload = &payloads[i];
    e.deadline = static_cast<std::uint64_t>(i);
    ASSERT_TRUE(t.push(e)) << i;
  }
  EXPECT_TRUE(t.full());
  ProbeEntry more;
  more.address = ip(10, 0, 0, 99);
  EXPECT_FALSE(t.push(more));   // full
  ASSERT_NE(t.find(ip(10, 0, 0, 12)), nullptr);
  EXPECT_EQ(t.take(ip(10, 0, 0, 12)), &payloads[2]);
  EXPECT_EQ(t.find(ip(10, 0, 0, 12)), nullptr);
  EXPECT_EQ(t.take(ip(10, 0, 0, 12)), nullptr);   // answered twice
  EXPECT_EQ(t.live(), 3u);
  EXPECT_EQ(t.head().address, ip(10, 0, 0, 10));
  t.pop();
  EXPECT_EQ(t.find(ip(10, 0, 0, 10)), nullptr);
  ProbeEntry dup;
  dup.address = ip(10, 0, 0, 11);
  EXPECT_FALSE(t.push(dup));   // already in flight
  dup.address = ip(10, 0, 0, 20);
  EXPECT_TRUE(t.push(dup));
  t.pop();                                       // .11
  EXPECT_FALSE(t.head().live);                   // .12 was answered
  t.pop();
  EXPECT_EQ(t.head().address, ip(10, 0, 0, 13));
  EXPECT_EQ(t.size(), 2u);
}

// Random pushes, answers and pops against a std::map model; addresses from
// a small range so that the index's clusters collide and shift.
TEST(ProbeTable, MatchesAModel) {
  ProbeTable t(64);
  std::map<Ipv4, std::uint64_t> live;   // address -> push number
  std::vector<std::pair<Ipv4, std::uint64_t>> fifo;
  std::size_t head = 0;
  std::mt19937 rng(7);
  std::uint64_t n = 0;
  for (int step = 0; step < 200000; ++step) {
    const Ipv4 a = ip(10, 0, 0, 0) + (rng() % 200);
    switch (rng() % 3) {
      case 0: {
        ProbeEntry e;
        e.address = a;
        e.deadline = ++n;
        const bool expect = fifo.size() - head < 64 && !live.count(a);
        ASSERT_EQ(t.push(e), expect);
        if (expect) {
          live[a] = n;
          fifo.emplace_back(a, n);
        }
        break;
      }
      case 1: {
        ProbeEntry* e = t.find(a);
        ASSERT_EQ(e != nullptr, live.count(a) == 1);
        if (e) {
          ASSERT_EQ(e->deadline, live[a]);
          t.take(a);
          live.erase(a);
        }
        break;
      }
      default:
        if (head == fifo.size()) {
          ASSERT_TRUE(t.empty());
          break;
        }
        ASSERT_EQ(t.head().deadline, fifo[head].second);
        auto it = live.find(fifo[head].first);
        ASSERT_EQ(t.head().live, it != live.end() && it->second == fifo[head].second);
        if (t.head().live) live.erase(it);
        t.pop();
        ++head;
    }
    ASSERT_EQ(t.live(), live.size());
  }
}

// ---- frames ------------------------------------------------------------------------------

TEST(ProbeFrames, ArpProbeIsAnRfc5227ProbeAndItsAnswerIsRecognised) {
  wire::ProbeL2 l2;
  l2.src = kServerMac;
  l2.vlan_count = 1;
  l2.vlans[0] = {0x8100, 42};
  std::vector<std::uint8_t> buf(128);
  const std::size_t len = wire::build_arp_probe(buf, l2, ip(10, 0, 0, 50));
  ASSERT_EQ(len, 60u);
  buf.resize(len);
  const wire::Frame f = wire::parse_frame(buf);
  ASSERT_EQ(f.error, wire::Error::ok);
  ASSERT_EQ(f.kind, wire::FrameKind::arp);
  EXPECT_EQ(f.eth.dst, MacAddr::broadcast());
  EXPECT_EQ(f.eth.vlan_count, 1);
  EXPECT_EQ(f.eth.vlans[0].vid(), 42);
  EXPECT_EQ(f.arp.op, 1);
  EXPECT_EQ(f.arp.spa, 0u);
  EXPECT_EQ(f.arp.tpa, ip(10, 0, 0, 50));
  EXPECT_EQ(f.arp.sha, kServerMac);
  // Our own probe heard back is no answer (sender address 0).
  EXPECT_EQ(wire::probe_answer_of(buf, f, kServerMac).address, 0u);
  // The squatter answers as the server answers ARP for its own address.
  const MacAddr squatter = mac_of(0x77);
  ASSERT_TRUE(wire::is_arp_request_for(f, ip(10, 0, 0, 50)));
  wire::make_arp_reply(buf, f, squatter, ip(10, 0, 0, 50));
  const wire::Frame r = wire::parse_frame(buf);
  const wire::ProbeAnswer a = wire::probe_answer_of(buf, r, kServerMac);
  EXPECT_EQ(a.address, ip(10, 0, 0, 50));
  EXPECT_EQ(a.mac, squatter);
  EXPECT_FALSE(a.icmp);
  // The same claim with our own MAC is not someone else's.
  EXPECT_EQ(wire::probe_answer_of(buf, r, squatter).address, 0u);
}

TEST(ProbeFrames, IcmpProbeIsAValidEchoAndOnlyOurIdentifierAnswers) {
  wire::ProbeL2 l2;
  l2.src = kServerMac;
  l2.dst = mac_of(9);   // the relay
  std::vector<std::uint8_t> buf(128);
  const std::size_t len = wire::build_icmp_probe(buf, l2, kServer, ip(10, 5, 0, 7), 513);
  ASSERT_GE(len, 60u);
  buf.resize(len);
  const wire::Frame f = wire::parse_frame(buf);
  ASSERT_EQ(f.error, wire::Error::ok);   // IPv4 header checksum checked
  ASSERT_EQ(f.kind, wire::FrameKind::ipv4_icmp);
  EXPECT_EQ(f.eth.dst, mac_of(9));
  EXPECT_EQ(f.ip.src, kServer);
  EXPECT_EQ(f.ip.dst, ip(10, 5, 0, 7));
  // A host at that address answers it (the server's own echo code).
  ASSERT_TRUE(wire::is_icmp_echo_for(buf, f, ip(10, 5, 0, 7)));   // ICMP checksum good
  std::vector<std::uint8_t> reply = buf;
  reply.resize(wire::make_icmp_echo_reply(reply, f, mac_of(0x66)));
  const wire::Frame rf = wire::parse_frame(reply);
  const wire::ProbeAnswer a = wire::probe_answer_of(reply, rf, kServerMac);
  EXPECT_EQ(a.address, ip(10, 5, 0, 7));
  EXPECT_TRUE(a.icmp);
  // Someone else's ping reply (another identifier) is not an answer.
  const std::size_t icmp = rf.eth.l3_offset + rf.ip.header_length;
  reply[icmp + 4] ^= 0x01;
  reply[icmp + 2] ^= 0x01;   // keep the checksum right: same bit, same column
  const wire::Frame rf2 = wire::parse_frame(reply);
  EXPECT_EQ(wire::probe_answer_of(reply, rf2, kServerMac).address, 0u);
  // An echo request (not a reply) is not an answer either.
  EXPECT_EQ(wire::probe_answer_of(buf, f, kServerMac).address, 0u);
}

TEST(ProbeFrames, TooSmallBuffers) {
  wire::ProbeL2 l2;
  std::vector<std::uint8_t> buf(59);
  EXPECT_EQ(wire::build_arp_probe(buf, l2, 1), 0u);
  EXPECT_EQ(wire::build_icmp_probe(buf, l2, 1, 2, 3), 0u);
}

// ---- the shard ------------------------------------------------------------------------

struct Req {
  MessageType type = MessageType::discover;
  MacAddr mac = mac_of(1);
  Ipv4 requested = 0;
  Ipv4 server_id = 0;
  Ipv4 ciaddr = 0;
  Ipv4 giaddr = 0;
};

struct Packet {
  std::vector<std::uint8_t> bytes;
  wire::Frame frame;
  wire::DhcpMessage msg;
  RxMeta rx;
  KeyResult key;
};

std::unique_ptr<Packet> make_packet(const Req& r) {
  auto p = std::make_unique<Packet>();
  wire::Envelope env;
  env.eth_src = r.mac;
  env.eth_dst = MacAddr::broadcast();
  env.ip_src = r.giaddr != 0 ? r.giaddr : r.ciaddr;
  env.ip_dst = r.ciaddr != 0 ? kServer : 0xffffffffu;
  env.src_port = r.giaddr != 0 ? wire::kPortBootps : wire::kPortBootpc;
  env.dst_port = wire::kPortBootps;
  wire::BootpFields b;
  b.op = 1;
  b.xid = 0x1234;
  b.ciaddr = r.ciaddr;
  b.giaddr = r.giaddr;
  std::memcpy(b.chaddr.data(), r.mac.b.data(), 6);
  std::array<std::uint8_t, 4> req{};
  std::vector<wire::OptionValue> opts;
  if (r.requested != 0) {
    wire::store_be32(req.data(), r.requested);
    opts.push_back({wire::opt::requested_ip, wire::Bytes{req}, false});
  }
  wire::DhcpOptionsSpec spec;
  spec.type = r.type;
  spec.server_id = r.server_id;
  spec.options = opts;
  p->bytes.resize(1600);
  const wire::BuildResult built = wire::build_dhcp_frame(p->bytes, env, b, spec);
  EXPECT_EQ(built.error, wire::Error::ok);
  p->bytes.resize(built.length);
  p->frame = wire::parse_frame(p->bytes);
  EXPECT_EQ(p->msg.parse(p->frame.udp_payload(p->bytes)), wire::Error::ok);
  p->rx = rx_meta_of(p->frame, kServerMac, kServer);
  set_client_key(p->key, p->msg);
  return p;
}

EngineConfig probe_config(ProbeMode mode) {
  EngineConfig c;
  c.server_address = kServer;
  c.probe.mode = mode;
  c.probe.probe_after_s = 600;
  SubnetConfig a;
  a.id = 1;
  a.prefix = ip(10, 0, 0, 0);
  a.prefix_len = 24;
  a.pools = {{ip(10, 0, 0, 10), ip(10, 0, 0, 20)}};
  Reservation r;
  r.mac = mac_of(0x50);
  r.address = ip(10, 0, 0, 5);
  a.reservations = {r};
  SubnetConfig b;   // its own choice: off
  b.id = 2;
  b.prefix = ip(10, 1, 0, 0);
  b.prefix_len = 24;
  b.pools = {{ip(10, 1, 0, 10), ip(10, 1, 0, 20)}};
  b.relays = {ip(192, 168, 9, 1)};
  b.probe.mode = ProbeMode::off;
  c.subnets = {a, b};
  return c;
}

class ProbeShard : public ::testing::Test {
 protected:
  void build(const EngineConfig& cfg) {
    shard_.reset();
    compiled_ = std::make_unique<CompileResult>(compile(cfg));
    ASSERT_TRUE(compiled_->ok()) << compiled_->error;
    ShardConfig s;
    s.table.capacity = 64;
    s.table.hostname_capacity = 64;
    s.table.wheel_bits = 10;
    s.change_log_capacity = 64;
    Shard::Created c = Shard::create(compiled_->config, s);
    ASSERT_TRUE(c.shard) << c.error;
    shard_ = std::move(c.shard);
  }
  void SetUp() override { build(probe_config(ProbeMode::icmp)); }

  Decision handle(const Req& r, Seconds now = kStart) {
    packets_.push_back(make_packet(r));
    const Decision d = shard_->handle(packets_.back()->msg, packets_.back()->rx, now);
    shard_->clear_changes();
    return d;
  }
  Decision again(const Req& r, bool may_probe = true, Seconds now = kStart) {
    packets_.push_back(make_packet(r));
    const Packet& p = *packets_.back();
    const Decision d = shard_->redecide_discover(p.msg, p.rx, now, p.key, may_probe);
    shard_->clear_changes();
    return d;
  }
  std::uint64_t event(Event e) const { return shard_->counters().event(e); }
  // DORA for `mac`: the probe times out, the OFFER goes, REQUEST, ACK.
  Ipv4 lease(MacAddr mac, Seconds now = kStart) {
    const Decision p = handle({.mac = mac}, now);
    EXPECT_TRUE(p.probe);
    const Decision o = again({.mac = mac}, true, now);
    EXPECT_EQ(o.type, MessageType::offer);
    const Decision a = handle({.type = MessageType::request, .mac = mac, .requested = o.yiaddr, .server_id = kServer}, now);
    EXPECT_EQ(a.type, MessageType::ack);
    return a.yiaddr;
  }

  std::unique_ptr<CompileResult> compiled_;
  std::unique_ptr<Shard> shard_;
  std::vector<std::unique_ptr<Packet>> packets_;
};

TEST_F(ProbeShard, NewClientIsProbedThenOfferedTheSameAddress) {
  const Decision p = handle({});
  EXPECT_EQ(p.verdict, Verdict::silent);
  ASSERT_TRUE(p.probe);
  EXPECT_EQ(p.server_id, kServer);
  ASSERT_NE(p.subnet, nullptr);
  const Lease* l = shard_->lease_at_address(p.yiaddr);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->state, LeaseState::offered);   // nobody else gets it meanwhile
  EXPECT_EQ(event(Event::probe_wanted), 1u);
  EXPECT_EQ(event(Event::tx_offer), 0u);
  // The client retransmits while the probe runs: silence.
  const Decision dup = handle({});
  EXPECT_EQ(dup.verdict, Verdict::drop);
  EXPECT_EQ(dup.drop, DropReason::probe_pending);
  // No answer: decided again, the same address is offered, unprobed.
  const Decision o = again({});
  EXPECT_EQ(o.verdict, Verdict::reply);
  EXPECT_EQ(o.type, MessageType::offer);
  EXPECT_FALSE(o.probe);
  EXPECT_EQ(o.yiaddr, p.yiaddr);
  EXPECT_EQ(event(Event::rx_discover), 2u);   // the two received, not the decision again
  EXPECT_EQ(event(Event::tx_offer), 1u);
  // A DISCOVER after the OFFER (lost): the offered address, not probed again.
  const Decision o2 = handle({});
  EXPECT_EQ(o2.type, MessageType::offer);
  EXPECT_EQ(o2.yiaddr, p.yiaddr);
}

TEST_F(ProbeShard, RenewalsAndTheClientsOwnLeaseAreNeverProbed) {
  const Ipv4 a = lease(mac_of(1));
  const std::uint64_t wanted = event(Event::probe_wanted);
  const Decision renew = handle({.type = MessageType::request, .mac = mac_of(1), .ciaddr = a}, kStart + 100);
  EXPECT_EQ(renew.type, MessageType::ack);
  EXPECT_FALSE(renew.probe);
  const Decision rebind = handle({.type = MessageType::discover, .mac = mac_of(1)}, kStart + 200);
  EXPECT_EQ(rebind.type, MessageType::offer);
  EXPECT_EQ(rebind.yiaddr, a);
  EXPECT_EQ(event(Event::probe_wanted), wanted);
}

TEST_F(ProbeShard, AnAnswerPutsTheAddressInProbationAndTheNextIsProbed) {
  const Decision p = handle({});
  ASSERT_TRUE(p.probe);
  EXPECT_FALSE(shard_->probe_conflict(ip(10, 0, 0, 99), kStart));   // nothing probes it
  ASSERT_TRUE(shard_->probe_conflict(p.yiaddr, kStart));
  ASSERT_EQ(shard_->changes().size(), 1u);
  EXPECT_EQ(shard_->changes()[0].op, LeaseOp::decline);
  EXPECT_EQ(shard_->changes()[0].address, p.yiaddr);
  shard_->clear_changes();
  const Lease* l = shard_->lease_at_address(p.yiaddr);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->state, LeaseState::declined);
  EXPECT_EQ(l->key_len, 0);
  EXPECT_EQ(event(Event::probe_conflict), 1u);
  EXPECT_FALSE(shard_->probe_conflict(p.yiaddr, kStart));   // answered twice
  const Decision next = again({});
  ASSERT_TRUE(next.probe);
  EXPECT_NE(next.yiaddr, p.yiaddr);
  // Too many conflicts: the runtime asks for an OFFER without a probe.
  ASSERT_TRUE(shard_->probe_conflict(next.yiaddr, kStart));
  const Decision unprobed = again({}, false);
  EXPECT_EQ(unprobed.type, MessageType::offer);
  EXPECT_FALSE(unprobed.probe);
  EXPECT_NE(unprobed.yiaddr, p.yiaddr);
  EXPECT_NE(unprobed.yiaddr, next.yiaddr);
  // The probation ends like a DECLINE's (decline_probation_s).
  EXPECT_EQ(shard_->audit(), "");
}

TEST_F(ProbeShard, RecentlyHeldAddressesAreNotProbedOldOnesAre) {
  const Ipv4 a = lease(mac_of(1));
  ASSERT_EQ(handle({.type = MessageType::release, .mac = mac_of(1), .server_id = kServer, .ciaddr = a}, kStart + 10).verdict,
            Verdict::silent);
  // Back within probe_after (600 s) of the release: its old address, at once.
  const Decision soon = handle({.mac = mac_of(1)}, kStart + 300);
  EXPECT_EQ(soon.type, MessageType::offer);
  EXPECT_EQ(soon.yiaddr, a);
  EXPECT_FALSE(soon.probe);
  ASSERT_EQ(handle({.type = MessageType::request, .mac = mac_of(1), .requested = a, .server_id = kServer}, kStart + 300).type,
            MessageType::ack);
  ASSERT_EQ(handle({.type = MessageType::release, .mac = mac_of(1), .server_id = kServer, .ciaddr = a}, kStart + 310).verdict,
            Verdict::silent);
  // Long after: probed again.
  const Decision later = handle({.mac = mac_of(1)}, kStart + 310 + 601);
  EXPECT_TRUE(later.probe);
  EXPECT_EQ(later.yiaddr, a);
}

TEST_F(ProbeShard, ReservationsAndSubnetsWithProbeOffAreNotProbed) {
  const Decision r = handle({.mac = mac_of(0x50)});
  EXPECT_EQ(r.type, MessageType::offer);
  EXPECT_EQ(r.yiaddr, ip(10, 0, 0, 5));
  EXPECT_FALSE(r.probe);
  const Decision relayed = handle({.mac = mac_of(2), .giaddr = ip(192, 168, 9, 1)});
  EXPECT_EQ(relayed.type, MessageType::offer);
  EXPECT_FALSE(relayed.probe);
  EXPECT_EQ(event(Event::probe_wanted), 0u);
}

TEST_F(ProbeShard, ProbeOffIsTheOldBehaviour) {
  build(probe_config(ProbeMode::off));
  const Decision o = handle({});
  EXPECT_EQ(o.type, MessageType::offer);
  EXPECT_FALSE(o.probe);
  EXPECT_FALSE(compiled_->config.probe_enabled);
}

TEST_F(ProbeShard, CompiledPerSubnetAndChecked) {
  const CompiledConfig& c = compiled_->config;
  EXPECT_TRUE(c.probe_enabled);
  ASSERT_EQ(c.probe_subnets.size(), 2u);
  EXPECT_EQ(c.probe_subnets[0].mode, ProbeMode::icmp);
  EXPECT_EQ(c.probe_subnets[0].probe_after_s, 600u);
  EXPECT_EQ(c.probe_subnets[1].mode, ProbeMode::off);
  EngineConfig bad = probe_config(ProbeMode::arp);
  bad.probe.probes = 4;
  EXPECT_FALSE(compile(bad).ok());
  bad.probe.probes = 3;
  bad.probe.timeout_ms = 0;
  EXPECT_FALSE(compile(bad).ok());
  EXPECT_STREQ(probe_mode_name(ProbeMode::arp), "arp");
  EXPECT_EQ(probe_mode_from("icmp"), ProbeMode::icmp);
  EXPECT_FALSE(probe_mode_from("ping").has_value());
}

}  // namespace
}  // namespace dorado::engine
