// Leasequery (RFC 4388; engine/leasequery.hpp): DHCPLEASEQUERY by address,
// by MAC and by client-id against a shard with real leases, the requester
// check, the answers' fields and options, the counters, the routing of a
// query by address to its block's shard, and the query of tcpdump's RFC 4388
// capture (tests/corpus/dhcp-rfc4388.pcap) answered after its own DORA.
#include "engine/leasequery.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "decode/capture.hpp"
#include "engine/allocator.hpp"
#include "engine/engine.hpp"
#include "wire/build.hpp"

namespace dorado::engine {
namespace {

using wire::MacAddr;
using wire::MessageType;

constexpr Ipv4 ip(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

constexpr Ipv4 kServer = ip(10, 0, 0, 1);
constexpr Ipv4 kRelay = ip(10, 1, 0, 1);        // giaddr of the relayed subnet
constexpr Ipv4 kConcentrator = ip(192, 0, 2, 7);   // a requester outside our subnets
constexpr Ipv4 kStranger = ip(192, 0, 2, 99);
constexpr Seconds kStart = 1'700'000'000;
const MacAddr kServerMac{{0x02, 0xaa, 0, 0, 0, 1}};
const MacAddr kRelayMac{{0x02, 0xbb, 0, 0, 0, 1}};

MacAddr mac_of(std::uint8_t n) { return MacAddr{{0x02, 0x00, 0x00, 0x00, 0x00, n}}; }

struct Req {
  MessageType type = MessageType::discover;
  MacAddr mac = mac_of(1);
  std::uint8_t hlen = 6;
  std::vector<std::uint8_t> client_id;
  Ipv4 ciaddr = 0;
  Ipv4 giaddr = kRelay;
  Ipv4 src = 0;   // IPv4 source; 0: giaddr
  Ipv4 requested = 0;
  Ipv4 server_id = 0;
  std::vector<std::uint8_t> relay_info;
  std::uint32_t xid = 0x77;
};

struct Packet {
  std::vector<std::uint8_t> bytes;
  wire::Frame frame;
  wire::DhcpMessage msg;
  RxMeta rx;
};

void parse_into(Packet& p) {
  p.frame = wire::parse_frame(p.bytes);
  ASSERT_EQ(p.frame.error, wire::Error::ok);
  ASSERT_EQ(p.msg.parse(p.frame.udp_payload(p.bytes)), wire::Error::ok);
  p.rx = rx_meta_of(p.frame, kServerMac, kServer);
}

std::unique_ptr<Packet> make(const Req& r) {
  auto p = std::make_unique<Packet>();
  wire::Envelope env;
  env.eth_src = kRelayMac;
  env.eth_dst = kServerMac;
  env.ip_src = r.src != 0 ? r.src : r.giaddr;
  env.ip_dst = kServer;
  env.src_port = wire::kPortBootps;
  env.dst_port = wire::kPortBootps;
  wire::BootpFields b;
  b.op = 1;
  b.hlen = r.hlen;
  b.htype = r.hlen != 0 ? 1 : 0;
  b.xid = r.xid;
  b.ciaddr = r.ciaddr;
  b.giaddr = r.giaddr;
  if (r.hlen != 0) std::memcpy(b.chaddr.data(), r.mac.b.data(), 6);
  std::array<std::uint8_t, 4> req{};
  std::vector<wire::OptionValue> opts;
  if (r.requested != 0) {
    wire::store_be32(req.data(), r.requested);
    opts.push_back({wire::opt::requested_ip, wire::Bytes{req}, false});
  }
  if (!r.client_id.empty()) opts.push_back({wire::opt::client_id, wire::Bytes{r.client_id}, false});
  wire::DhcpOptionsSpec spec;
  spec.type = r.type;
  if (r.server_id != 0) spec.server_id = r.server_id;
  spec.options = opts;
  spec.relay_agent_info = wire::Bytes{r.relay_info};
  p->bytes.resize(1600);
  const wire::BuildResult built = wire::build_dhcp_frame(p->bytes, env, b, spec);
  EXPECT_EQ(built.error, wire::Error::ok);
  p->bytes.resize(built.length);
  parse_into(*p);
  return p;
}

// A leasequery answer, parsed back.
struct Answer {
  std::vector<std::uint8_t> bytes;
  wire::Frame frame;
  wire::DhcpMessage msg;
  std::optional<MessageType> type() const { return msg.message_type(); }
  std::vector<std::uint8_t> option(std::uint8_t code) const {
    auto o = msg.option(code);
    return o ? std::vector<std::uint8_t>(o->begin(), o->end()) : std::vector<std::uint8_t>{};
  }
  std::uint32_t u32(std::uint8_t code) const {
    auto o = msg.option(code);
    return o && o->size() == 4 ? wire::load_be32(o->data()) : 0xdeadbeefu;
  }
};

std::vector<std::uint8_t> be32(std::uint32_t v) {
  std::vector<std::uint8_t> out(4);
  wire::store_be32(out.data(), v);
  return out;
}

// Subnet 10.0.0.0/24 (pool .10-.250) and the relayed 10.1.0.0/24 (pool
// .10-.20); 10.1.0.100-.120 is a split-scope peer's part.
EngineConfig lq_config() {
  EngineConfig c;
  c.server_address = kServer;
  SubnetConfig a;
  a.id = 1;
  a.prefix = ip(10, 0, 0, 0);
  a.prefix_len = 24;
  a.pools = {{ip(10, 0, 0, 10), ip(10, 0, 0, 250)}};
  a.lease_time = 3600;
  a.min_lease_time = 60;
  a.max_lease_time = 86400;
  SubnetConfig b = a;
  b.id = 2;
  b.prefix = ip(10, 1, 0, 0);
  b.pools = {{ip(10, 1, 0, 10), ip(10, 1, 0, 20)}};
  c.subnets = {a, b};
  c.peer_ranges = {{ip(10, 1, 0, 100), ip(10, 1, 0, 120)}};
  c.leasequery_allowed = {kConcentrator, kRelay};
  return c;
}

ShardConfig sizes() {
  ShardConfig s;
  s.table.capacity = 256;
  s.table.hostname_capacity = 256;
  s.table.long_key_capacity = 8;
  s.table.wheel_bits = 10;
  s.change_log_capacity = 64;
  s.keep_relay_info = true;
  return s;
}

class LeasequeryTest : public ::testing::Test {
 protected:
  void SetUp() override { build(lq_config()); }

  void build(const EngineConfig& cfg) {
    shard_.reset();
    compiled_ = std::make_unique<CompileResult>(compile(cfg));
    ASSERT_TRUE(compiled_->ok()) << compiled_->error;
    Shard::Created c = Shard::create(compiled_->config, sizes());
    ASSERT_TRUE(c.shard) << c.error;
    shard_ = std::move(c.shard);
  }

  Decision send(const Req& r) {
    last_ = make(r);
    const Decision d = shard_->handle(last_->msg, last_->rx, now_);
    shard_->clear_changes();
    return d;
  }

  // DISCOVER + REQUEST through the relay; the address leased.
  Ipv4 dora(const Req& base) {
    Req r = base;
    r.type = MessageType::discover;
    const Decision offer = send(r);
    EXPECT_EQ(offer.verdict, Verdict::reply);
    r.type = MessageType::request;
    r.requested = offer.yiaddr;
    r.server_id = offer.server_id;
    const Decision ack = send(r);
    EXPECT_EQ(ack.type, MessageType::ack);
    return ack.yiaddr;
  }

  // Sends a DHCPLEASEQUERY; its answer, or nullopt when the shard dropped it.
  std::optional<Answer> query(const Req& r) {
    Req q = r;
    q.type = MessageType::lease_query;
    last_ = make(q);
    decision_ = shard_->handle(last_->msg, last_->rx, now_);
    if (decision_.verdict != Verdict::reply) return std::nullopt;
    EXPECT_EQ(decision_.type, MessageType::lease_query);
    // The answer is written over the request, as the worker does: the
    // message parsed from the buffer the answer goes into.
    std::vector<std::uint8_t> frame(2048), scratch(2048);
    std::memcpy(frame.data(), last_->bytes.data(), last_->bytes.size());
    const wire::Bytes request{frame.data(), last_->bytes.size()};
    wire::DhcpMessage in_frame;
    EXPECT_EQ(in_frame.parse(wire::parse_frame(request).udp_payload(request)), wire::Error::ok);
    const wire::BuildResult built = shard_->answer_leasequery(in_frame, last_->rx, now_, frame, scratch);
    EXPECT_EQ(built.error, wire::Error::ok);
    if (built.error != wire::Error::ok) return std::nullopt;
    Answer a;
    a.bytes.assign(frame.begin(), frame.begin() + static_cast<long>(built.length));
    a.frame = wire::parse_frame(a.bytes);
    EXPECT_EQ(a.frame.error, wire::Error::ok);
    EXPECT_EQ(a.msg.parse(a.frame.udp_payload(a.bytes)), wire::Error::ok);
    return a;
  }

  std::uint64_t event(Event e) const {
    return counter_read(shard_->counters().events[static_cast<std::size_t>(e)]);
  }
  std::uint64_t drop(DropReason r) const {
    return counter_read(shard_->counters().drops[static_cast<std::size_t>(r)]);
  }

  std::unique_ptr<CompileResult> compiled_;
  std::unique_ptr<Shard> shard_;
  std::unique_ptr<Packet> last_;
  Decision decision_;
  Seconds now_ = kStart;
};

TEST_F(LeasequeryTest, ByAddressActiveLease) {
  Req client;
  client.mac = mac_of(1);
  const Ipv4 addr = dora(client);
  ASSERT_NE(addr, 0u);
  now_ += 100;
  Req q;
  q.giaddr = kConcentrator;
  q.hlen = 0;
  q.ciaddr = addr;
  q.xid = 0x1234;
  const auto a = query(q);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_active);
  EXPECT_EQ(a->msg.op, 2);
  EXPECT_EQ(a->msg.xid, 0x1234u);
  EXPECT_EQ(a->msg.ciaddr, addr);
  EXPECT_EQ(a->msg.giaddr, kConcentrator);
  EXPECT_EQ(a->msg.htype, 1);
  EXPECT_EQ(a->msg.hlen, 6);
  EXPECT_EQ(a->msg.chaddr_mac(), mac_of(1));
  EXPECT_EQ(a->u32(wire::opt::lease_time), 3600u - 100u);
  EXPECT_EQ(a->u32(kOptClientLastTransactionTime), 100u);
  EXPECT_EQ(a->u32(wire::opt::server_id), kServer);
  EXPECT_FALSE(a->msg.has(kOptAssociatedIp));   // only for a query by client
  EXPECT_FALSE(a->msg.has(wire::opt::client_id));   // the client has none
  // To the requester (giaddr), port 67, from our address.
  EXPECT_EQ(a->frame.ip.dst, kConcentrator);
  EXPECT_EQ(a->frame.ip.src, kServer);
  EXPECT_EQ(a->frame.udp.dst_port, wire::kPortBootps);
  EXPECT_EQ(a->frame.udp.src_port, wire::kPortBootps);
  EXPECT_EQ(event(Event::rx_leasequery), 1u);
  EXPECT_EQ(event(Event::tx_lease_active), 1u);
}

TEST_F(LeasequeryTest, ByAddressUnassignedAndUnknown) {
  Req q;
  q.hlen = 0;
  q.ciaddr = ip(10, 1, 0, 15);   // in the pool, not leased
  auto a = query(q);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_unassigned);
  EXPECT_EQ(a->msg.ciaddr, ip(10, 1, 0, 15));
  EXPECT_FALSE(a->msg.has(wire::opt::lease_time));
  q.ciaddr = ip(10, 1, 0, 200);   // in our subnet, outside the pools: ours, unassigned
  a = query(q);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_unassigned);
  q.ciaddr = ip(10, 1, 0, 110);   // a split-scope peer's part: not ours to say
  a = query(q);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_unknown);
  q.ciaddr = ip(172, 16, 0, 1);   // no subnet of ours
  a = query(q);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_unknown);
  EXPECT_EQ(event(Event::tx_lease_unassigned), 2u);
  EXPECT_EQ(event(Event::tx_lease_unknown), 2u);
}

TEST_F(LeasequeryTest, ByMacAndClientId) {
  Req by_mac;
  by_mac.mac = mac_of(2);
  const Ipv4 a2 = dora(by_mac);
  Req by_id;
  by_id.mac = mac_of(3);
  by_id.client_id = {0xff, 0x00, 0x01, 'c', 'p', 'e', '-', '3'};
  const Ipv4 a3 = dora(by_id);
  ASSERT_NE(a2, 0u);
  ASSERT_NE(a3, 0u);
  now_ += 7;

  Req q;
  q.mac = mac_of(2);
  auto a = query(q);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_active);
  EXPECT_EQ(a->msg.ciaddr, a2);
  EXPECT_EQ(a->option(kOptAssociatedIp), be32(a2));
  EXPECT_EQ(a->u32(kOptClientLastTransactionTime), 7u);

  Req qid;
  qid.hlen = 0;
  qid.client_id = by_id.client_id;
  a = query(qid);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_active);
  EXPECT_EQ(a->msg.ciaddr, a3);
  EXPECT_EQ(a->option(wire::opt::client_id), by_id.client_id);
  EXPECT_EQ(a->option(kOptAssociatedIp), be32(a3));
  EXPECT_EQ(a->msg.chaddr_mac(), mac_of(3));   // the client's hardware address

  // By MAC, a client known by its client-id is not found (keyed by the id).
  Req q3;
  q3.mac = mac_of(3);
  a = query(q3);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_unknown);
  // Unknown client-id, unknown MAC.
  qid.client_id = {0xff, 9, 9};
  a = query(qid);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_unknown);
  q.mac = mac_of(9);
  a = query(q);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_unknown);
  EXPECT_FALSE(a->msg.has(kOptAssociatedIp));
}

TEST_F(LeasequeryTest, ReleasedAndExpiredLeasesAreNotActive) {
  Req c;
  c.mac = mac_of(4);
  const Ipv4 addr = dora(c);
  Req rel = c;
  rel.type = MessageType::release;
  rel.ciaddr = addr;
  rel.server_id = kServer;
  send(rel);
  Req q;
  q.hlen = 0;
  q.ciaddr = addr;
  auto a = query(q);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_unassigned);
  a = query(c);   // by MAC: no active lease
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_unknown);

  Req d;
  d.mac = mac_of(5);
  const Ipv4 addr5 = dora(d);
  now_ += 3600;   // expired, the sweep not run yet
  q.ciaddr = addr5;
  a = query(q);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_unassigned);
}

// RFC 4388 6.4.2: the option 82 the client's lease came with, as the relay
// sent it; kept across a renewal the client unicasts itself (no 82),
// replaced by a newer one, not kept when too long (counted).
TEST_F(LeasequeryTest, ReturnsTheOption82TheLeaseCameWith) {
  Req c;
  c.mac = mac_of(6);
  c.relay_info = {1, 5, 'p', 'o', 'r', 't', '6', 2, 3, 'c', 'p', 'e'};
  const Ipv4 addr = dora(c);
  ASSERT_NE(addr, 0u);
  Req by_ip;
  by_ip.hlen = 0;
  by_ip.ciaddr = addr;
  auto a = query(by_ip);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_active);
  EXPECT_EQ(a->option(wire::opt::relay_agent_info), c.relay_info);
  Req by_mac;
  by_mac.mac = mac_of(6);
  a = query(by_mac);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->option(wire::opt::relay_agent_info), c.relay_info);

  // RENEWING: unicast by the client, no relay, no 82.
  now_ += 60;
  Req renew = c;
  renew.type = MessageType::request;
  renew.relay_info.clear();
  renew.giaddr = 0;
  renew.ciaddr = addr;
  renew.src = addr;
  ASSERT_EQ(send(renew).type, MessageType::ack);
  a = query(by_ip);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->u32(kOptClientLastTransactionTime), 0u);   // the renewal was the last transaction
  EXPECT_EQ(a->option(wire::opt::relay_agent_info), c.relay_info);

  // Through another relay port: the newer one.
  Req moved = c;
  moved.type = MessageType::request;
  moved.ciaddr = addr;
  moved.relay_info = {1, 5, 'p', 'o', 'r', 't', '9'};
  ASSERT_EQ(send(moved).type, MessageType::ack);
  a = query(by_ip);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->option(wire::opt::relay_agent_info), moved.relay_info);

  // Longer than a slot keeps: not kept, counted; the answer has no 82.
  Req big = moved;
  big.relay_info.assign(2 + 120, 'x');
  big.relay_info[0] = 1;
  big.relay_info[1] = 120;
  ASSERT_EQ(send(big).type, MessageType::ack);
  EXPECT_EQ(event(Event::relay_info_not_stored), 1u);
  a = query(by_ip);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_active);
  EXPECT_FALSE(a->msg.has(wire::opt::relay_agent_info));

  // A client whose requests had no 82 gets none.
  Req other;
  other.mac = mac_of(7);
  const Ipv4 addr7 = dora(other);
  by_ip.ciaddr = addr7;
  a = query(by_ip);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->msg.has(wire::opt::relay_agent_info));
}

TEST_F(LeasequeryTest, NoOption82WithoutKeepRelayInfo) {
  shard_.reset();
  ShardConfig s = sizes();
  s.keep_relay_info = false;
  Shard::Created created = Shard::create(compiled_->config, s);
  ASSERT_TRUE(created.shard);
  shard_ = std::move(created.shard);
  Req c;
  c.relay_info = {1, 5, 'p', 'o', 'r', 't', '1'};
  const Ipv4 addr = dora(c);
  Req q;
  q.hlen = 0;
  q.ciaddr = addr;
  const auto a = query(q);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_active);
  EXPECT_FALSE(a->msg.has(wire::opt::relay_agent_info));
}

TEST_F(LeasequeryTest, OnlyAllowedRequesters) {
  Req q;
  q.giaddr = kStranger;
  EXPECT_FALSE(query(q));
  EXPECT_EQ(decision_.drop, DropReason::leasequery_not_allowed);
  // Without giaddr the IPv4 source is the requester.
  q.giaddr = 0;
  q.src = kStranger;
  EXPECT_FALSE(query(q));
  q.src = kConcentrator;
  const auto a = query(q);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->frame.ip.dst, kConcentrator);
  EXPECT_EQ(drop(DropReason::leasequery_not_allowed), 2u);
  EXPECT_EQ(event(Event::rx_leasequery), 1u);
  // Nothing to ask about.
  Req empty;
  empty.hlen = 0;
  EXPECT_FALSE(query(empty));
  EXPECT_EQ(decision_.drop, DropReason::leasequery_no_query);

  // No [leasequery]: nobody is allowed.
  EngineConfig c = lq_config();
  c.leasequery_allowed.clear();
  build(c);
  Req r;
  EXPECT_FALSE(query(r));
  EXPECT_EQ(decision_.drop, DropReason::leasequery_not_allowed);
}

TEST(LeasequeryRouting, ByAddressGoesToTheBlockOwner) {
  const CompileResult c = compile(lq_config());
  ASSERT_TRUE(c.ok()) << c.error;
  wire::DhcpMessage m;
  auto parsed = [&](MessageType type, Ipv4 ciaddr, std::vector<std::uint8_t>& bytes) {
    wire::BootpFields b;
    b.op = 1;
    b.ciaddr = ciaddr;
    b.giaddr = kRelay;
    wire::DhcpOptionsSpec spec;
    spec.type = type;
    bytes.resize(1024);
    const wire::BuildResult r = wire::build_dhcp_message(bytes, b, spec);
    bytes.resize(r.length);
    EXPECT_EQ(m.parse(bytes), wire::Error::ok);
  };
  std::vector<std::uint8_t> bytes;
  for (Ipv4 a = ip(10, 0, 0, 0); a < ip(10, 0, 1, 0); a += 17) {
    parsed(MessageType::lease_query, a, bytes);
    EXPECT_EQ(leasequery_shard(c.config, m, 4), shard_of_block_base(a & ~63u, 4)) << a;
    EXPECT_EQ(leasequery_shard(c.config, m, 1), 0u);
  }
  parsed(MessageType::lease_query, ip(172, 16, 0, 1), bytes);
  EXPECT_EQ(leasequery_shard(c.config, m, 4), 0u);   // no block: shard 0
  parsed(MessageType::request, ip(10, 0, 0, 99), bytes);
  EXPECT_EQ(leasequery_shard(c.config, m, 4), kNil);   // not a leasequery
  parsed(MessageType::lease_query, 0, bytes);
  EXPECT_EQ(leasequery_shard(c.config, m, 4), kNil);   // by client: its key decides
}

// tcpdump's RFC 4388 capture: a relay (giaddr 10.30.1.1) leases
// 5a:4f:34:b1:af:66 an address by DORA (frames 1 and 4), then asks about
// that MAC (frame 9). The same frames, answered by dorado.
TEST(LeasequeryCorpus, Rfc4388CaptureQueryByMac) {
  const auto frames = decode::read_capture(std::string(DORADO_CORPUS_DIR) + "/dhcp-rfc4388.pcap");
  ASSERT_GE(frames.size(), 9u);
  EngineConfig cfg;
  cfg.server_address = ip(10, 40, 2, 3);
  SubnetConfig s;
  s.id = 30;
  s.prefix = ip(10, 30, 0, 0);
  s.prefix_len = 16;
  s.pools = {{ip(10, 30, 4, 4), ip(10, 30, 4, 40)}};
  s.lease_time = 43200;
  s.min_lease_time = 60;
  s.max_lease_time = 86400;
  cfg.subnets = {s};
  cfg.leasequery_allowed = {ip(10, 30, 1, 1)};
  const CompileResult c = compile(cfg);
  ASSERT_TRUE(c.ok()) << c.error;
  Shard::Created created = Shard::create(c.config, sizes());
  ASSERT_TRUE(created.shard) << created.error;
  Shard& shard = *created.shard;
  auto handle = [&](std::size_t n, Packet& p) {
    p.bytes = frames[n - 1].data;
    parse_into(p);
    const Decision d = shard.handle(p.msg, p.rx, static_cast<Seconds>(frames[n - 1].ts_sec));
    shard.clear_changes();
    return d;
  };
  Packet discover, request, lq;
  const Decision offer = handle(1, discover);
  ASSERT_EQ(offer.type, MessageType::offer);
  EXPECT_EQ(offer.yiaddr, ip(10, 30, 4, 4));   // the capture's server offered the same
  // The capture's REQUEST names its server's id; ours is the same address.
  const Decision ack = handle(4, request);
  ASSERT_EQ(ack.type, MessageType::ack);
  const Decision d = handle(9, lq);
  ASSERT_EQ(d.verdict, Verdict::reply);
  std::vector<std::uint8_t> frame(lq.bytes), scratch(2048);
  const std::size_t request_len = frame.size();
  frame.resize(2048);
  const Seconds now = static_cast<Seconds>(frames[8].ts_sec);
  const wire::Bytes query_bytes{frame.data(), request_len};
  wire::DhcpMessage in;
  ASSERT_EQ(in.parse(wire::parse_frame(query_bytes).udp_payload(query_bytes)), wire::Error::ok);
  const wire::BuildResult r = shard.answer_leasequery(in, lq.rx, now, frame, scratch);
  ASSERT_EQ(r.error, wire::Error::ok);
  Answer a;
  a.bytes.assign(frame.begin(), frame.begin() + static_cast<long>(r.length));
  a.frame = wire::parse_frame(a.bytes);
  ASSERT_EQ(a.frame.error, wire::Error::ok);
  ASSERT_EQ(a.msg.parse(a.frame.udp_payload(a.bytes)), wire::Error::ok);
  // The capture's answer (frame 10): LeaseActive, Client-IP 10.30.4.4, xid 1,
  // to 10.30.1.1 port 67, Lease-Time 43187, Last-Transaction-Time 13.
  EXPECT_EQ(a.type(), MessageType::lease_active);
  EXPECT_EQ(a.msg.xid, 1u);
  EXPECT_EQ(a.msg.ciaddr, ip(10, 30, 4, 4));
  EXPECT_EQ(a.msg.giaddr, ip(10, 30, 1, 1));
  EXPECT_EQ(a.msg.chaddr_mac(), (MacAddr{{0x5a, 0x4f, 0x34, 0xb1, 0xaf, 0x66}}));
  EXPECT_EQ(a.frame.ip.dst, ip(10, 30, 1, 1));
  EXPECT_EQ(a.frame.udp.dst_port, 67);
  EXPECT_EQ(a.u32(wire::opt::lease_time), 43200u - (now - static_cast<Seconds>(frames[3].ts_sec)));
  EXPECT_EQ(a.u32(kOptClientLastTransactionTime), now - static_cast<Seconds>(frames[3].ts_sec));
  EXPECT_EQ(a.option(kOptAssociatedIp), be32(ip(10, 30, 4, 4)));
}

// ---- option 82 in the lease's change records (journal, HA) ----------------------

std::vector<std::uint8_t> relay_of(const LeaseChange& c) {
  const wire::Bytes r = relay_info_of(c);
  return {r.begin(), r.end()};
}

TEST_F(LeasequeryTest, Option82IsInTheChangeRecordsAndComesBackOnRestore) {
  Req c;
  c.mac = mac_of(9);
  c.relay_info = {1, 5, 'p', 'o', 'r', 't', '9', 2, 3, 'c', 'p', 'e'};
  Req d = c;
  d.type = MessageType::discover;
  const Decision offer = send(d);
  ASSERT_EQ(offer.verdict, Verdict::reply);
  Req r = c;
  r.type = MessageType::request;
  r.requested = offer.yiaddr;
  r.server_id = offer.server_id;
  last_ = make(r);
  ASSERT_EQ(shard_->handle(last_->msg, last_->rx, now_).type, MessageType::ack);
  ASSERT_EQ(shard_->changes().size(), 1u);
  const LeaseChange commit = shard_->changes()[0];
  EXPECT_EQ(commit.op, LeaseOp::commit);
  EXPECT_EQ(relay_of(commit), c.relay_info);
  shard_->clear_changes();

  // A renewal the client unicasts itself (no 82) still carries it.
  now_ += 60;
  Req renew = c;
  renew.type = MessageType::request;
  renew.relay_info.clear();
  renew.giaddr = 0;
  renew.ciaddr = offer.yiaddr;
  renew.src = offer.yiaddr;
  last_ = make(renew);
  ASSERT_EQ(shard_->handle(last_->msg, last_->rx, now_).type, MessageType::ack);
  ASSERT_EQ(shard_->changes().size(), 1u);
  const LeaseChange renewal = shard_->changes()[0];
  EXPECT_EQ(renewal.op, LeaseOp::renew);
  EXPECT_EQ(relay_of(renewal), c.relay_info);
  shard_->clear_changes();

  // A restart: a new shard restores the record (as recovery does) and a
  // leasequery gets the option 82 back.
  build(lq_config());
  ASSERT_EQ(shard_->restore(renewal, now_), RestoreStatus::restored);
  Req by_ip;
  by_ip.hlen = 0;
  by_ip.ciaddr = offer.yiaddr;
  auto a = query(by_ip);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type(), MessageType::lease_active);
  EXPECT_EQ(a->option(wire::opt::relay_agent_info), c.relay_info);

  // The HA partner: a replicated record brings it with the lease.
  build(lq_config());
  ASSERT_EQ(shard_->replicate(renewal, now_), ReplicateStatus::applied);
  EXPECT_TRUE(shard_->changes().empty());   // journaled once: the partner's record, with its option 82
  a = query(by_ip);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->option(wire::opt::relay_agent_info), c.relay_info);

  // Without keep_relay_info the shard neither keeps nor emits it.
  shard_.reset();
  ShardConfig s = sizes();
  s.keep_relay_info = false;
  Shard::Created created = Shard::create(compiled_->config, s);
  ASSERT_TRUE(created.shard);
  shard_ = std::move(created.shard);
  ASSERT_EQ(shard_->restore(renewal, now_), RestoreStatus::restored);
  a = query(by_ip);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->msg.has(wire::opt::relay_agent_info));
}

}  // namespace
}  // namespace dorado::engine
