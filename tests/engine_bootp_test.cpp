// BOOTP and option-overload corners of the engine: requests whose options
// (53 included) lie in `file` and/or `sname` (option 52, RFC 2131 4.1 /
// RFC 2132 9.3), answered like any other and written over the request as
// the worker does; BOOTP clients (RFC 951/1542: no option 53, with or
// without the magic cookie) answered with a BOOTREPLY from a reservation or,
// where the subnet says `bootp = true`, from the pool (infinite lease,
// journaled); others dropped and counted (engine/bootp.cpp). Requests are
// written byte by byte here, since the builders never overload.
#include "engine/engine.hpp"
#include "engine/reply_cache.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <optional>
#include <vector>

namespace dorado::engine {
namespace {

using wire::MacAddr;
using wire::MessageType;
using Buf = std::vector<std::uint8_t>;

constexpr Ipv4 ip(unsigned a, unsigned b, unsigned c, unsigned d) { return (a << 24) | (b << 16) | (c << 8) | d; }

constexpr Ipv4 kServer = ip(10, 0, 0, 1);
constexpr Seconds kStart = 1'700'000'000;
const MacAddr kServerMac{{0x02, 0xaa, 0, 0, 0, 1}};
const MacAddr kRelayMac{{0x02, 0xbb, 0, 0, 0, 1}};

MacAddr mac_of(std::uint8_t n) { return MacAddr{{0x02, 0, 0, 0, 0x5b, n}}; }

Buf cat(std::initializer_list<Buf> parts) {
  Buf out;
  for (const Buf& p : parts)
    for (const std::uint8_t b : p) out.push_back(b);
  return out;
}
// One option: code, length, value.
Buf o(std::uint8_t code, const Buf& v) {
  Buf out;
  out.push_back(code);
  out.push_back(static_cast<std::uint8_t>(v.size()));
  for (const std::uint8_t b : v) out.push_back(b);
  return out;
}
Buf be32(std::uint32_t v) {
  Buf out(4);
  wire::store_be32(out.data(), v);
  return out;
}

// A BOOTREQUEST as raw bytes. `vendor`: what follows the 236 fixed bytes
// (cookie included when wanted); `file`/`sname`: those fields' bytes.
struct Raw {
  MacAddr mac = mac_of(1);
  Ipv4 ciaddr = 0;
  Ipv4 giaddr = 0;
  std::uint16_t flags = 0;
  std::uint32_t xid = 0xb007;
  Buf vendor;
  Buf file;
  Buf sname;
};

Buf cookie() { return be32(wire::kMagicCookie); }

Buf payload_of(const Raw& r) {
  Buf p(wire::kBootpFixedSize, 0);
  p[0] = 1;
  p[1] = 1;
  p[2] = 6;
  p[3] = r.giaddr != 0 ? 1 : 0;
  wire::store_be32(&p[4], r.xid);
  wire::store_be16(&p[10], r.flags);
  wire::store_be32(&p[12], r.ciaddr);
  wire::store_be32(&p[24], r.giaddr);
  std::memcpy(&p[28], r.mac.b.data(), 6);
  // Empty vectors may have a null data(): memcpy must not see it (UBSan).
  if (!r.sname.empty()) std::memcpy(&p[44], r.sname.data(), std::min<std::size_t>(r.sname.size(), 64));
  if (!r.file.empty()) std::memcpy(&p[108], r.file.data(), std::min<std::size_t>(r.file.size(), 128));
  for (const std::uint8_t b : r.vendor) p.push_back(b);
  if (p.size() < wire::kBootpMinSize) p.resize(wire::kBootpMinSize, 0);
  return p;
}

struct Packet {
  Buf bytes;
  wire::Frame frame;
  wire::DhcpMessage msg;
  RxMeta rx;
};

std::unique_ptr<Packet> make_packet(const Raw& r) {
  auto p = std::make_unique<Packet>();
  const Buf payload = payload_of(r);
  wire::Envelope env;
  env.eth_src = r.giaddr != 0 ? kRelayMac : r.mac;
  env.eth_dst = r.giaddr != 0 ? kServerMac : MacAddr::broadcast();
  env.ip_src = r.giaddr != 0 ? r.giaddr : r.ciaddr;
  env.ip_dst = r.giaddr != 0 ? kServer : 0xffffffffu;
  env.src_port = r.giaddr != 0 ? wire::kPortBootps : wire::kPortBootpc;
  env.dst_port = wire::kPortBootps;
  p->bytes.resize(1600);
  const std::size_t hs = wire::header_size(env);
  std::memcpy(p->bytes.data() + hs, payload.data(), payload.size());
  const std::size_t n = wire::wrap_udp_frame(p->bytes, env, payload.size());
  EXPECT_NE(n, 0u);
  p->bytes.resize(n);
  p->frame = wire::parse_frame(p->bytes);
  EXPECT_EQ(p->frame.error, wire::Error::ok);
  p->msg.parse(p->frame.udp_payload(p->bytes));
  p->rx = rx_meta_of(p->frame, kServerMac, kServer);
  return p;
}

// A reply parsed back.
struct Reply {
  Buf bytes;
  wire::Frame frame;
  wire::DhcpMessage msg;
  Buf option(std::uint8_t code) const {
    auto v = msg.option(code);
    return v ? Buf(v->begin(), v->end()) : Buf{};
  }
};

// Subnet A 10.0.0.0/24 (the interface's): pool .10-.20, a reservation by
// MAC (mac_of(0xaa) -> .5), routers, DNS, domain; `bootp` as given.
// Subnet B 10.1.0.0/24 (relayed): pool .10-.20, bootp = true.
EngineConfig config(bool bootp_a) {
  EngineConfig c;
  c.server_address = kServer;
  SubnetConfig a;
  a.id = 1;
  a.prefix = ip(10, 0, 0, 0);
  a.prefix_len = 24;
  a.pools = {{ip(10, 0, 0, 10), ip(10, 0, 0, 20)}};
  a.routers = {ip(10, 0, 0, 254)};
  a.dns_servers = {ip(10, 0, 0, 53)};
  a.domain_name = "boot.example";
  a.bootp = bootp_a;
  Reservation r;
  r.mac = mac_of(0xaa);
  r.address = ip(10, 0, 0, 5);
  a.reservations.push_back(r);
  SubnetConfig b;
  b.id = 2;
  b.prefix = ip(10, 1, 0, 0);
  b.prefix_len = 24;
  b.pools = {{ip(10, 1, 0, 10), ip(10, 1, 0, 20)}};
  b.routers = {ip(10, 1, 0, 1)};
  b.bootp = true;
  c.subnets.push_back(a);
  c.subnets.push_back(b);
  return c;
}

class BootpTest : public ::testing::Test {
 protected:
  void SetUp() override { build(config(false)); }

  void build(const EngineConfig& cfg) {
    shard_.reset();
    compiled_ = std::make_unique<CompileResult>(compile(cfg));
    ASSERT_TRUE(compiled_->ok()) << compiled_->error;
    ShardConfig s;
    s.table.capacity = 64;
    s.table.hostname_capacity = 64;
    s.table.long_key_capacity = 4;
    s.table.wheel_bits = 8;
    s.change_log_capacity = 64;
    Shard::Created c = Shard::create(compiled_->config, s);
    ASSERT_TRUE(c.shard) << c.error;
    shard_ = std::move(c.shard);
    replies_.clear();
  }

  Decision send(const Raw& r) {
    last_ = make_packet(r);
    const Decision d = shard_->handle(last_->msg, last_->rx, now_);
    EXPECT_EQ(shard_->audit(), "");
    return d;
  }

  // The reply to the last request by build_reply, by the ReplyCache and
  // written over the request (the worker's way, the request parsed from the
  // buffer the reply overwrites): all three the same bytes.
  std::unique_ptr<Reply> render(const Decision& d) {
    auto r = std::make_unique<Reply>();
    r->bytes.resize(1600);
    const wire::BuildResult built = build_reply(shard_->config(), d, last_->msg, last_->rx, r->bytes);
    EXPECT_EQ(built.error, wire::Error::ok);
    r->bytes.resize(built.length);
    Buf cached(1600);
    const wire::BuildResult c = replies_.build(shard_->config(), d, last_->msg, last_->rx, cached);
    EXPECT_EQ(c.error, wire::Error::ok);
    cached.resize(c.length);
    EXPECT_EQ(cached, r->bytes) << "ReplyCache and build_reply differ";
    Buf frame(2048);
    std::memcpy(frame.data(), last_->bytes.data(), last_->bytes.size());
    const wire::Frame f = wire::parse_frame({frame.data(), last_->bytes.size()});
    auto msg = std::make_unique<wire::DhcpMessage>();
    msg->parse(f.udp_payload({frame.data(), last_->bytes.size()}));
    Buf scratch(2048, 0xa5);
    const wire::BuildResult over = replies_.build_over(shard_->config(), d, *msg, last_->rx, frame, scratch);
    EXPECT_EQ(over.error, wire::Error::ok);
    frame.resize(over.length);
    EXPECT_EQ(frame, r->bytes) << "the reply written over its request differs from build_reply's";
    r->frame = wire::parse_frame(r->bytes);
    EXPECT_EQ(r->frame.error, wire::Error::ok);
    r->msg.parse(r->frame.udp_payload(r->bytes));
    return r;
  }

  std::uint64_t drops(DropReason r) const { return shard_->counters().drop(r); }
  std::uint64_t events(Event e) const { return shard_->counters().event(e); }
  // The MAC in a 16-byte buffer: client_key_hw reads words, and g++ 12's
  // -O3 + ASan build warned (-Warray-bounds) about its branches for longer
  // keys when given the 6-byte MacAddr itself.
  const Lease* lease_of(MacAddr mac) const {
    std::array<std::uint8_t, 16> b{};
    std::memcpy(b.data(), mac.b.data(), 6);
    return shard_->find_lease(client_key_hw(1, wire::Bytes{b.data(), 6}));
  }
  std::vector<LeaseChange> take_changes() {
    auto c = shard_->changes();
    std::vector<LeaseChange> out(c.begin(), c.end());
    shard_->clear_changes();
    return out;
  }

  std::unique_ptr<CompileResult> compiled_;
  std::unique_ptr<Shard> shard_;
  std::unique_ptr<Packet> last_;
  Seconds now_ = kStart;
  ReplyCache replies_;
};

// ---- option 52: options in file and sname ------------------------------------------

// 53 and 55 in `file` (overload 1): an OFFER, with the options 55 asked for.
TEST_F(BootpTest, DiscoverWithItsMessageTypeInFileIsOffered) {
  Raw r;
  r.vendor = cat({cookie(), o(52, {1}), {255}});
  r.file = cat({o(53, {1}), o(55, {1, 3, 6}), {255}});
  const Decision d = send(r);
  ASSERT_EQ(last_->msg.error, wire::Error::ok);
  EXPECT_EQ(last_->msg.overload, 1);
  ASSERT_EQ(d.verdict, Verdict::reply);
  EXPECT_EQ(d.type, MessageType::offer);
  EXPECT_GE(d.yiaddr, ip(10, 0, 0, 10));
  EXPECT_LE(d.yiaddr, ip(10, 0, 0, 20));
  const auto reply = render(d);
  EXPECT_EQ(reply->msg.message_type(), MessageType::offer);
  EXPECT_EQ(reply->option(3), be32(ip(10, 0, 0, 254)));
  EXPECT_EQ(reply->option(6), be32(ip(10, 0, 0, 53)));
  EXPECT_FALSE(reply->msg.has(wire::opt::overload));   // the reply's file and sname are empty
  EXPECT_EQ(Buf(reply->msg.file_field.begin(), reply->msg.file_field.end()), Buf(128, 0));
}

// REQUEST (SELECTING) with 53, 54 and 50 in `sname` (overload 2), then with
// 53 in sname and the rest in file (overload 3; RFC 2131 4.1: options, file,
// sname), 61 and 82 in file among them: ACKed, 61 and 82 echoed.
TEST_F(BootpTest, RequestWithItsOptionsInSnameAndFileIsAcked) {
  Raw disc;
  disc.vendor = cat({cookie(), o(53, {1}), {255}});
  const Decision offer = send(disc);
  ASSERT_EQ(offer.verdict, Verdict::reply);

  Raw sel;
  sel.vendor = cat({cookie(), o(52, {2}), {255}});
  sel.sname = cat({o(53, {3}), o(54, be32(kServer)), o(50, be32(offer.yiaddr)), {255}});
  const Decision ack = send(sel);
  EXPECT_EQ(last_->msg.overload, 2);
  ASSERT_EQ(ack.verdict, Verdict::reply);
  EXPECT_EQ(ack.type, MessageType::ack);
  EXPECT_EQ(ack.yiaddr, offer.yiaddr);
  render(ack);

  Raw both;
  both.mac = mac_of(2);
  const Buf id{1, 2, 0, 0, 0, 0x5b, 2};
  const Buf rai = o(1, {'c', 'i', 'r', 'c'});
  both.giaddr = ip(10, 1, 0, 1);
  both.vendor = cat({cookie(), o(52, {3}), o(55, {1, 3}), {255}});
  both.sname = cat({o(53, {1}), {255}});
  both.file = cat({o(61, id), o(82, rai), {255}});
  const Decision relayed = send(both);
  ASSERT_EQ(last_->msg.error, wire::Error::ok);
  ASSERT_EQ(relayed.verdict, Verdict::reply);
  EXPECT_EQ(relayed.type, MessageType::offer);
  EXPECT_GE(relayed.yiaddr, ip(10, 1, 0, 10));
  const auto reply = render(relayed);
  EXPECT_EQ(reply->option(61), id);
  EXPECT_EQ(reply->option(82), rai);
  EXPECT_EQ(reply->option(3), be32(ip(10, 1, 0, 1)));
  EXPECT_NE(shard_->find_lease(client_key_id(wire::Bytes{id})), nullptr);
}

// ---- BOOTP clients -------------------------------------------------------------------

// The BOOTREPLY's checks every BOOTP test shares: op 2, no 53/54, cookie,
// mask and the subnet's options, at least 300 bytes of BOOTP message.
void expect_bootreply(const Reply& r, Ipv4 yiaddr, Ipv4 mask) {
  EXPECT_EQ(r.msg.error, wire::Error::ok);
  EXPECT_EQ(r.msg.op, 2);
  EXPECT_EQ(r.msg.xid, 0xb007u);
  EXPECT_EQ(r.msg.yiaddr, yiaddr);
  EXPECT_TRUE(r.msg.has_cookie);
  EXPECT_FALSE(r.msg.message_type().has_value());
  EXPECT_FALSE(r.msg.has(wire::opt::server_id));
  EXPECT_FALSE(r.msg.has(wire::opt::lease_time));
  EXPECT_EQ(r.msg.subnet_mask(), mask);
  EXPECT_GE(r.frame.udp.payload_length, wire::kBootpMinSize);
}

// RFC 951 client (no cookie, zero vendor area) with a reservation, in a
// subnet without `bootp`: its reserved address, for ever, journaled.
TEST_F(BootpTest, PlainBootpClientGetsItsReservation) {
  Raw r;
  r.mac = mac_of(0xaa);
  const Decision d = send(r);
  EXPECT_TRUE(last_->msg.plain_bootp_request());
  ASSERT_EQ(d.verdict, Verdict::reply) << drop_name(d.drop);
  EXPECT_TRUE(d.bootp);
  EXPECT_EQ(d.type, MessageType::ack);   // held until durable as an ACK is
  EXPECT_TRUE(d.lease_options);
  EXPECT_EQ(d.yiaddr, ip(10, 0, 0, 5));
  const auto changes = take_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].op, LeaseOp::commit);
  EXPECT_EQ(changes[0].address, ip(10, 0, 0, 5));
  EXPECT_EQ(changes[0].expires, kTimeMax);
  EXPECT_EQ(d.change_count, 1u);
  const Lease* l = lease_of(mac_of(0xaa));
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->state, LeaseState::active);
  EXPECT_EQ(l->expires, kTimeMax);
  EXPECT_EQ(events(Event::rx_bootp), 1u);
  EXPECT_EQ(events(Event::tx_bootreply), 1u);
  EXPECT_EQ(events(Event::reservation_used), 1u);

  const auto reply = render(d);
  expect_bootreply(*reply, ip(10, 0, 0, 5), ip(255, 255, 255, 0));
  // No cookie asked: RFC 951's 300-byte message with its 64-byte vendor
  // area; 1 (6 bytes), 3 (6) and 6 (6) fit there with END, 15 (14) too.
  EXPECT_EQ(reply->frame.udp.payload_length, wire::kBootpMinSize);
  EXPECT_EQ(reply->option(3), be32(ip(10, 0, 0, 254)));
  EXPECT_EQ(reply->option(6), be32(ip(10, 0, 0, 53)));
  EXPECT_EQ(reply->option(15), (Buf{'b', 'o', 'o', 't', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'}));
  // Broadcast: the client has no address yet and a BOOTP client's flags
  // are its own (RFC 1542); unicast to yiaddr at chaddr here.
  EXPECT_EQ(reply->frame.ip.dst, ip(10, 0, 0, 5));
  EXPECT_EQ(reply->frame.udp.dst_port, wire::kPortBootpc);

  // Again (a BOOTP client retries; it never renews): the same address, a
  // renew record.
  const Decision again = send(r);
  ASSERT_EQ(again.verdict, Verdict::reply);
  EXPECT_EQ(again.yiaddr, ip(10, 0, 0, 5));
  const auto more = take_changes();
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].op, LeaseOp::renew);
}

// RFC 1497 client (cookie, options, no 53) without a reservation where the
// subnet has no `bootp`: dropped and counted, nothing journaled, no record.
TEST_F(BootpTest, BootpClientWithoutReservationIsDroppedWithoutBootpKey) {
  Raw r;
  r.mac = mac_of(7);
  r.vendor = cat({cookie(), o(12, {'p', 'c'}), {255}});
  const Decision d = send(r);
  EXPECT_EQ(last_->msg.error, wire::Error::ok);
  EXPECT_EQ(d.verdict, Verdict::drop);
  EXPECT_EQ(d.drop, DropReason::bootp_not_served);
  EXPECT_EQ(drops(DropReason::bootp_not_served), 1u);
  EXPECT_TRUE(shard_->changes().empty());
  EXPECT_EQ(lease_of(mac_of(7)), nullptr);
  // No cookie either: the same.
  Raw plain;
  plain.mac = mac_of(8);
  EXPECT_EQ(send(plain).drop, DropReason::bootp_not_served);
  EXPECT_EQ(drops(DropReason::bootp_not_served), 2u);
}

// `bootp = true` (subnet B, relayed): a pool address, for ever; the reply
// goes to the relay with 82 echoed; the next BOOTREQUEST gets the same
// address; a DHCP client is not given it meanwhile.
TEST_F(BootpTest, BootpPoolGivesAnInfiniteLeaseThroughTheRelay) {
  Raw r;
  r.mac = mac_of(9);
  r.giaddr = ip(10, 1, 0, 1);
  const Buf rai = o(2, {'r', 'e', 'm'});
  r.vendor = cat({cookie(), o(82, rai), {255}});
  const Decision d = send(r);
  ASSERT_EQ(d.verdict, Verdict::reply) << drop_name(d.drop);
  EXPECT_TRUE(d.bootp);
  EXPECT_GE(d.yiaddr, ip(10, 1, 0, 10));
  EXPECT_LE(d.yiaddr, ip(10, 1, 0, 20));
  const auto changes = take_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].op, LeaseOp::commit);
  EXPECT_EQ(changes[0].expires, kTimeMax);
  EXPECT_EQ(changes[0].subnet_id, 2u);
  const auto reply = render(d);
  expect_bootreply(*reply, d.yiaddr, ip(255, 255, 255, 0));
  EXPECT_EQ(reply->frame.ip.dst, ip(10, 1, 0, 1));
  EXPECT_EQ(reply->frame.udp.dst_port, wire::kPortBootps);
  EXPECT_EQ(reply->option(82), rai);
  EXPECT_EQ(reply->option(3), be32(ip(10, 1, 0, 1)));

  now_ += 365 * 86400;   // a year later, no sweep needed: still its address
  const Decision again = send(r);
  ASSERT_EQ(again.verdict, Verdict::reply);
  EXPECT_EQ(again.yiaddr, d.yiaddr);

  // A DHCP client in the same pool is offered another address.
  Raw dhcp;
  dhcp.mac = mac_of(10);
  dhcp.giaddr = ip(10, 1, 0, 1);
  dhcp.vendor = cat({cookie(), o(53, {1}), o(50, be32(d.yiaddr)), {255}});
  const Decision offer = send(dhcp);
  ASSERT_EQ(offer.verdict, Verdict::reply);
  EXPECT_FALSE(offer.bootp);
  EXPECT_NE(offer.yiaddr, d.yiaddr);
}

// `bootp = true` on subnet A too: a client without reservation gets a pool
// address, the reserved client still its reservation; store down: nothing
// new granted (store_unavailable), the lease it has answered as it stands.
TEST_F(BootpTest, BootpPoolAndReservationsWithTheStoreDown) {
  build(config(true));
  Raw dynamic;
  dynamic.mac = mac_of(3);
  const Decision d = send(dynamic);
  ASSERT_EQ(d.verdict, Verdict::reply);
  EXPECT_GE(d.yiaddr, ip(10, 0, 0, 10));
  EXPECT_LE(d.yiaddr, ip(10, 0, 0, 20));
  Raw reserved;
  reserved.mac = mac_of(0xaa);
  EXPECT_EQ(send(reserved).yiaddr, ip(10, 0, 0, 5));
  take_changes();

  shard_->set_store_writable(false);
  const Decision kept = send(dynamic);
  ASSERT_EQ(kept.verdict, Verdict::reply);
  EXPECT_EQ(kept.yiaddr, d.yiaddr);
  EXPECT_EQ(kept.change_count, 0u);
  EXPECT_NE(kept.record_second, 0u);
  EXPECT_EQ(events(Event::renew_unjournaled), 1u);
  Raw fresh;
  fresh.mac = mac_of(4);
  EXPECT_EQ(send(fresh).drop, DropReason::store_unavailable);
  EXPECT_TRUE(shard_->changes().empty());
}

// The pool runs out: counted as for DHCP, no record left behind.
TEST_F(BootpTest, BootpPoolExhaustion) {
  for (std::uint8_t i = 0; i < 11; ++i) {
    Raw r;
    r.mac = mac_of(static_cast<std::uint8_t>(0x40 + i));
    r.giaddr = ip(10, 1, 0, 1);
    ASSERT_EQ(send(r).verdict, Verdict::reply) << int{i};
    take_changes();
  }
  Raw r;
  r.mac = mac_of(0x60);
  r.giaddr = ip(10, 1, 0, 1);
  EXPECT_EQ(send(r).drop, DropReason::pool_exhausted);
  EXPECT_EQ(lease_of(mac_of(0x60)), nullptr);
}

// A BOOTREPLY whose options do not all fit: the RFC 951 client's 64-byte
// area takes what fits, in code order; an RFC 1497 client (cookie) gets
// them all in a 576-byte datagram.
TEST_F(BootpTest, BootreplyOptionsFitTheVendorArea) {
  EngineConfig cfg = config(false);
  cfg.subnets[0].options.push_back(OptionData{66, encode_string(std::string(40, 't')), false});
  cfg.subnets[0].options.push_back(OptionData{67, encode_string(std::string(100, 'f')), false});
  build(cfg);
  Raw plain;
  plain.mac = mac_of(0xaa);
  const auto small = render(send(plain));
  EXPECT_EQ(small->frame.udp.payload_length, wire::kBootpMinSize);
  EXPECT_TRUE(small->msg.has(6));
  EXPECT_FALSE(small->msg.has(66));   // 42 bytes: past the 64-byte area
  EXPECT_FALSE(small->msg.has(67));
  Raw rfc1497;
  rfc1497.mac = mac_of(0xaa);
  rfc1497.vendor = cat({cookie(), {255}});
  const auto big = render(send(rfc1497));
  EXPECT_TRUE(big->msg.has(66));
  EXPECT_TRUE(big->msg.has(67));
  EXPECT_GT(big->frame.udp.payload_length, wire::kBootpMinSize);
  EXPECT_LE(big->frame.udp.payload_length, 576u - 28u);
}

}  // namespace
// ---- options: the same precedence as a DHCP reply ---------------------------------

// A BOOTREPLY takes each option code from the most specific level that has
// it: reservation > class (config order; also a class the reservation
// gives) > pool table > subnet > global, as build_reply does for DHCP.
TEST_F(BootpTest, BootreplyOptionsFollowReservationClassPoolSubnetPrecedence) {
  auto text = [](std::string_view v) { return Buf(v.begin(), v.end()); };
  EngineConfig c = config(true);
  c.options = {OptionData{66, encode_string("global"), false}, OptionData{72, encode_ipv4_list(std::vector<Ipv4>{ip(10, 0, 0, 72)}), false}};
  SubnetConfig& a = c.subnets[0];
  a.options = {OptionData{66, encode_string("subnet"), false}, OptionData{67, encode_string("subnet67"), false},
               OptionData{150, encode_string("subnet150"), false}};
  // The reserved client (mac_of(0xaa) -> .5) is given class "given".
  a.reservations[0].options = {OptionData{66, encode_string("resv"), false}};
  a.reservations[0].classes = {"given"};
  ClassConfig given;
  given.name = "given";
  given.options = {OptionData{66, encode_string("given66"), false}, OptionData{67, encode_string("given67"), false}};
  ClassConfig bymac;
  bymac.name = "bymac";
  ClassMatch m;
  m.field = ClassField::mac;
  m.op = ClassOp::exact;
  const MacAddr bb = mac_of(0xbb);
  m.value.assign(bb.b.begin(), bb.b.end());
  bymac.matches = {m};
  bymac.options = {OptionData{67, encode_string("bymac67"), false}};
  c.classes = {given, bymac};
  PoolConfig pool;
  pool.ranges = {{ip(10, 0, 0, 30), ip(10, 0, 0, 40)}};
  pool.classes = {"bymac"};
  pool.options = {OptionData{66, encode_string("pool66"), false}, OptionData{150, encode_string("pool150"), false}};
  a.pool_tables = {pool};
  build(c);
  if (HasFatalFailure()) return;

  // The class member: an address of its pool; 67 from the class, 66 and 150
  // from the pool, 72 global, the subnet's 3.
  Raw r;
  r.mac = bb;
  r.vendor = cat({cookie(), {255}});   // RFC 1497: a 576-byte reply, room for all
  Decision d = send(r);
  ASSERT_EQ(d.verdict, Verdict::reply) << drop_name(d.drop);
  EXPECT_TRUE(d.bootp);
  EXPECT_GE(d.yiaddr, ip(10, 0, 0, 30));
  EXPECT_LE(d.yiaddr, ip(10, 0, 0, 40));
  auto reply = render(d);
  EXPECT_EQ(reply->option(67), text("bymac67"));
  EXPECT_EQ(reply->option(66), text("pool66"));
  EXPECT_EQ(reply->option(150), text("pool150"));
  EXPECT_EQ(reply->option(72), be32(ip(10, 0, 0, 72)));
  EXPECT_EQ(reply->option(3), be32(ip(10, 0, 0, 254)));

  // The reserved client: 66 from the reservation over its class's, 67 from
  // the class the reservation gives, 150 from the subnet (not in a pool
  // table), 72 global.
  r.mac = mac_of(0xaa);
  d = send(r);
  ASSERT_EQ(d.verdict, Verdict::reply) << drop_name(d.drop);
  EXPECT_EQ(d.yiaddr, ip(10, 0, 0, 5));
  reply = render(d);
  EXPECT_EQ(reply->option(66), text("resv"));
  EXPECT_EQ(reply->option(67), text("given67"));
  EXPECT_EQ(reply->option(150), text("subnet150"));
  EXPECT_EQ(reply->option(72), be32(ip(10, 0, 0, 72)));

  // Another client: the subnet's over the global ones, a plain pool address.
  r.mac = mac_of(0xcc);
  d = send(r);
  ASSERT_EQ(d.verdict, Verdict::reply) << drop_name(d.drop);
  EXPECT_GE(d.yiaddr, ip(10, 0, 0, 10));
  EXPECT_LE(d.yiaddr, ip(10, 0, 0, 20));
  reply = render(d);
  EXPECT_EQ(reply->option(66), text("subnet"));
  EXPECT_EQ(reply->option(67), text("subnet67"));
  EXPECT_EQ(reply->option(150), text("subnet150"));
  EXPECT_EQ(reply->option(72), be32(ip(10, 0, 0, 72)));
}

}  // namespace dorado::engine
