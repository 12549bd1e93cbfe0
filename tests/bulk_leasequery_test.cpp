// Bulk leasequery (RFC 6926, control/leasequery/): the framing, the query
// parser, the filters, the answers' bytes, and the TCP service over real
// shards (in-process admin messages, a loopback TCP client).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "leasequery/bulk.hpp"
#include "leasequery/service.hpp"
#include "shard_set.hpp"
#include "wire/dhcp.hpp"

namespace {

using namespace dorado;
using namespace dorado::leasequery;
using engine::LeaseChange;
using Bytes = std::vector<std::uint8_t>;

constexpr wire::Ipv4 ip(unsigned a, unsigned b, unsigned c, unsigned d) { return a << 24 | b << 16 | c << 8 | d; }
constexpr engine::Seconds kNow = 1'700'000'000;

// A DHCP message built by hand: fixed fields, cookie, options.
struct Msg {
  std::uint8_t op = 1, htype = 0, hlen = 0;
  std::uint32_t xid = 0x11223344;
  wire::Ipv4 ciaddr = 0;
  Bytes chaddr;
  std::uint8_t type = 14;
  std::vector<std::pair<std::uint8_t, Bytes>> options;
  Bytes bytes() const {
    Bytes b(236, 0);
    b[0] = op;
    b[1] = htype;
    b[2] = hlen;
    wire::store_be32(b.data() + 4, xid);
    wire::store_be32(b.data() + 12, ciaddr);
    for (std::size_t i = 0; i < chaddr.size() && i < 16; ++i) b[28 + i] = chaddr[i];
    // push_back, not insert: g++ 12 -O3 gives a false -Warray-bounds on
    // vector::insert here, and the -Werror Release build fails.
    for (const std::uint8_t x : {99, 130, 83, 99, 53, 1}) b.push_back(x);
    b.push_back(type);
    for (const auto& [code, v] : options) {
      b.push_back(code);
      b.push_back(static_cast<std::uint8_t>(v.size()));
      for (const std::uint8_t x : v) b.push_back(x);
    }
    b.push_back(255);
    return b;
  }
};

Bytes framed(const Bytes& m) {
  Bytes f = {static_cast<std::uint8_t>(m.size() >> 8), static_cast<std::uint8_t>(m.size())};
  for (const std::uint8_t x : m) f.push_back(x);   // see Msg::bytes()
  return f;
}

Bytes be32(std::uint32_t v) {
  Bytes b(4);
  wire::store_be32(b.data(), v);
  return b;
}

// Option 82 of relay r, port p: circuit-id, remote-id "cpe<p>", relay-id "relay<r>".
Bytes relay_info(unsigned r, unsigned p) {
  const std::string circuit = "port" + std::to_string(p), remote = "cpe" + std::to_string(p),
                    relay = "relay" + std::to_string(r);
  std::string s;
  s += '\x01';
  s += static_cast<char>(circuit.size());
  s += circuit;
  s += '\x02';
  s += static_cast<char>(remote.size());
  s += remote;
  s += '\x0c';
  s += static_cast<char>(relay.size());
  s += relay;
  return Bytes(s.begin(), s.end());
}

Bytes str(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Client i's active lease on 10.0.x.y, granted at kNow - 100 + i, through relay r.
LeaseChange lease(unsigned i, unsigned r, bool client_id = false) {
  LeaseChange c{};
  c.op = engine::LeaseOp::commit;
  c.htype = 1;
  c.chaddr = wire::MacAddr{{0x02, 0, 0, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)}};
  if (client_id) {
    c.key[0] = engine::kKeyKindClientId;
    c.key[1] = 0xff;
    c.key[2] = static_cast<std::uint8_t>(i >> 8);
    c.key[3] = static_cast<std::uint8_t>(i);
    c.key_len = 4;
  } else {
    c.key[0] = engine::kKeyKindHw;
    c.key[1] = 1;
    std::memcpy(c.key.data() + 2, c.chaddr.b.data(), 6);
    c.key_len = 8;
  }
  c.subnet_id = 1;
  c.address = ip(10, 0, 0, 0) + 10 + i;
  c.start = kNow - 100 + i;
  c.expires = kNow + 3600;
  if (r != 0) {
    EXPECT_TRUE(engine::set_relay_info(c, relay_info(r, i)));
  }
  return c;
}

// ---- framing -------------------------------------------------------------------------

TEST(BulkFraming, MessagesAcrossAndWithinReads) {
  const Bytes a = Msg{}.bytes();
  Msg mb;
  mb.xid = 7;
  const Bytes b = mb.bytes();
  Bytes stream = framed(a);
  const Bytes fb = framed(b);
  stream.insert(stream.end(), fb.begin(), fb.end());
  // Fed one byte at a time: each message comes out whole, once.
  FrameReader r;
  std::vector<Bytes> got;
  Bytes m;
  for (const std::uint8_t byte : stream) {
    r.feed({&byte, 1});
    while (r.next(m) == FrameReader::Status::message) got.push_back(m);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], a);
  EXPECT_EQ(got[1], b);
  EXPECT_EQ(r.buffered(), 0u);
  // In one read.
  FrameReader one;
  one.feed(stream);
  ASSERT_EQ(one.next(m), FrameReader::Status::message);
  EXPECT_EQ(m, a);
  ASSERT_EQ(one.next(m), FrameReader::Status::message);
  EXPECT_EQ(m, b);
  EXPECT_EQ(one.next(m), FrameReader::Status::need_more);
}

TEST(BulkFraming, BadLengths) {
  Bytes m;
  FrameReader zero;
  zero.feed(Bytes{0, 0, 1});
  EXPECT_EQ(zero.next(m), FrameReader::Status::bad_length);
  FrameReader big;
  big.feed(Bytes{static_cast<std::uint8_t>((kMaxQueryBytes + 1) >> 8), static_cast<std::uint8_t>(kMaxQueryBytes + 1)});
  EXPECT_EQ(big.next(m), FrameReader::Status::bad_length);
  FrameReader part;
  part.feed(Bytes{0, 10, 1, 2, 3});
  EXPECT_EQ(part.next(m), FrameReader::Status::need_more);
}

// ---- queries -------------------------------------------------------------------------

TEST(BulkQueryParse, EachKind) {
  ParsedQuery p = parse_bulk_query(Msg{}.bytes());
  ASSERT_EQ(p.status, StatusCode::success) << p.message;
  EXPECT_EQ(p.query.kind, QueryKind::all);
  EXPECT_EQ(p.query.xid, 0x11223344u);
  EXPECT_FALSE(p.query.start_time);

  Msg m;
  m.ciaddr = ip(10, 0, 0, 5);
  p = parse_bulk_query(m.bytes());
  ASSERT_EQ(p.status, StatusCode::success);
  EXPECT_EQ(p.query.kind, QueryKind::by_address);
  EXPECT_EQ(p.query.address, ip(10, 0, 0, 5));

  m = Msg{};
  m.htype = 1;
  m.hlen = 6;
  m.chaddr = {2, 0, 0, 0, 0, 9};
  p = parse_bulk_query(m.bytes());
  ASSERT_EQ(p.status, StatusCode::success);
  EXPECT_EQ(p.query.kind, QueryKind::by_mac);
  EXPECT_EQ(p.query.id, m.chaddr);

  m = Msg{};
  m.options = {{61, {0xff, 1}}};
  p = parse_bulk_query(m.bytes());
  ASSERT_EQ(p.status, StatusCode::success);
  EXPECT_EQ(p.query.kind, QueryKind::by_client_id);
  EXPECT_EQ(p.query.id, (Bytes{0xff, 1}));

  m = Msg{};
  Bytes relay_id = {12, 6};
  for (char c : std::string("relay1")) relay_id.push_back(static_cast<std::uint8_t>(c));
  m.options = {{82, relay_id}, {154, be32(kNow - 50)}, {155, be32(kNow)}};
  p = parse_bulk_query(m.bytes());
  ASSERT_EQ(p.status, StatusCode::success) << p.message;
  EXPECT_EQ(p.query.kind, QueryKind::by_relay_id);
  EXPECT_EQ(p.query.id, str("relay1"));
  EXPECT_EQ(p.query.start_time, kNow - 50);
  EXPECT_EQ(p.query.end_time, kNow);

  m = Msg{};
  m.options = {{82, {2, 4, 'c', 'p', 'e', '3'}}};
  p = parse_bulk_query(m.bytes());
  ASSERT_EQ(p.status, StatusCode::success);
  EXPECT_EQ(p.query.kind, QueryKind::by_remote_id);
  EXPECT_EQ(p.query.id, str("cpe3"));
}

TEST(BulkQueryParse, Malformed) {
  const auto status = [](const Msg& m) { return parse_bulk_query(m.bytes()).status; };
  Msg m;
  m.type = 10;   // a UDP DHCPLEASEQUERY
  EXPECT_EQ(status(m), StatusCode::malformed_query);
  m = Msg{};
  m.op = 2;
  EXPECT_EQ(status(m), StatusCode::malformed_query);
  m = Msg{};
  m.ciaddr = ip(10, 0, 0, 1);
  m.options = {{61, {1, 2}}};
  EXPECT_EQ(status(m), StatusCode::malformed_query);   // two criteria
  m = Msg{};
  m.options = {{154, {1, 2, 3}}};
  EXPECT_EQ(status(m), StatusCode::malformed_query);   // time not 4 bytes
  m = Msg{};
  m.options = {{154, be32(kNow)}, {155, be32(kNow - 1)}};
  EXPECT_EQ(status(m), StatusCode::malformed_query);   // start after end
  m = Msg{};
  m.options = {{82, {1, 2, 'a', 'b'}}};
  EXPECT_EQ(status(m), StatusCode::malformed_query);   // 82 without relay-id or remote-id
  m = Msg{};
  m.options = {{82, {12, 9, 'a'}}};
  EXPECT_EQ(status(m), StatusCode::malformed_query);   // sub-option overruns
  m = Msg{};
  m.options = {{82, {12, 1, 'a', 2, 1, 'b'}}};
  EXPECT_EQ(status(m), StatusCode::malformed_query);   // both
  const ParsedQuery short_one = parse_bulk_query(Bytes{1, 2, 3});
  EXPECT_EQ(short_one.status, StatusCode::malformed_query);
  EXPECT_FALSE(short_one.have_xid);
  const ParsedQuery garbage = parse_bulk_query(Bytes(300, 0xab));
  EXPECT_EQ(garbage.status, StatusCode::malformed_query);
  EXPECT_TRUE(garbage.have_xid);
}

TEST(BulkQueryMatch, FiltersByEachKindAndTime) {
  const LeaseChange a = lease(1, 1), b = lease(2, 2), c = lease(3, 0, true);
  BulkQuery q;
  EXPECT_TRUE(matches(q, a));
  EXPECT_TRUE(matches(q, c));
  q.kind = QueryKind::by_relay_id;
  q.id = str("relay1");
  EXPECT_TRUE(matches(q, a));
  EXPECT_FALSE(matches(q, b));
  EXPECT_FALSE(matches(q, c));   // no option 82
  q.id = str("relay");
  EXPECT_FALSE(matches(q, a));   // whole value only
  q.kind = QueryKind::by_remote_id;
  q.id = str("cpe2");
  EXPECT_FALSE(matches(q, a));
  EXPECT_TRUE(matches(q, b));
  q.kind = QueryKind::by_address;
  q.address = b.address;
  EXPECT_TRUE(matches(q, b));
  EXPECT_FALSE(matches(q, a));
  q.kind = QueryKind::by_mac;
  q.htype = 1;
  q.id.assign(a.chaddr.b.begin(), a.chaddr.b.end());
  EXPECT_TRUE(matches(q, a));
  EXPECT_FALSE(matches(q, b));
  q.kind = QueryKind::by_client_id;
  q.id = {0xff, 0, 3};
  EXPECT_TRUE(matches(q, c));
  EXPECT_FALSE(matches(q, a));
  // Times: cltt within [start, end].
  BulkQuery t;
  t.start_time = b.start;
  EXPECT_FALSE(matches(t, a));
  EXPECT_TRUE(matches(t, b));
  t.end_time = b.start;
  EXPECT_TRUE(matches(t, b));
  EXPECT_FALSE(matches(t, c));
  t.start_time.reset();
  EXPECT_TRUE(matches(t, a));
}

TEST(BulkAnswers, LeaseActiveDoneAndStatusParseBack) {
  Bytes out;
  const LeaseChange a = lease(1, 1), c = lease(3, 0, true);
  append_lease_active(out, 99, a, kNow, ip(10, 0, 0, 1));
  append_lease_active(out, 99, c, kNow, ip(10, 0, 0, 1));
  append_done(out, 99, kNow, ip(10, 0, 0, 1));
  append_status(out, 5, StatusCode::not_allowed, "no", kNow, ip(10, 0, 0, 1));
  FrameReader r;
  r.feed(out);
  std::vector<Bytes> msgs;
  Bytes m;
  while (r.next(m) == FrameReader::Status::message) msgs.push_back(m);
  ASSERT_EQ(msgs.size(), 4u);
  wire::DhcpMessage d;
  ASSERT_EQ(d.parse(msgs[0]), wire::Error::ok);
  EXPECT_EQ(d.op, 2);
  EXPECT_EQ(d.message_type(), wire::MessageType::lease_active);
  EXPECT_EQ(d.xid, 99u);
  EXPECT_EQ(d.ciaddr, a.address);
  EXPECT_EQ(d.chaddr_mac(), a.chaddr);
  EXPECT_EQ(d.lease_time(), 3600u);
  EXPECT_EQ(d.server_id(), ip(10, 0, 0, 1));
  const auto relay = d.option(82);
  ASSERT_TRUE(relay);
  EXPECT_EQ(Bytes(relay->begin(), relay->end()), relay_info(1, 1));
  EXPECT_EQ(wire::load_be32(d.option(91)->data()), 99u);   // kNow - start
  EXPECT_EQ(wire::load_be32(d.option(kOptBaseTime)->data()), kNow);
  EXPECT_EQ((*d.option(kOptDhcpState))[0], kDhcpStateActive);
  EXPECT_FALSE(d.has(61));
  ASSERT_EQ(d.parse(msgs[1]), wire::Error::ok);
  EXPECT_EQ(Bytes(d.client_id()->begin(), d.client_id()->end()), (Bytes{0xff, 0, 3}));
  EXPECT_FALSE(d.has(82));
  ASSERT_EQ(d.parse(msgs[2]), wire::Error::ok);
  EXPECT_EQ(d.message_type(), wire::MessageType::lease_query_done);
  EXPECT_EQ(d.xid, 99u);
  ASSERT_EQ(d.parse(msgs[3]), wire::Error::ok);
  EXPECT_EQ(d.message_type(), wire::MessageType::lease_query_status);
  EXPECT_EQ(d.xid, 5u);
  EXPECT_EQ(Bytes(d.option(kOptStatusCode)->begin(), d.option(kOptStatusCode)->end()), (Bytes{4, 'n', 'o'}));
}

// ---- the service over shards and TCP --------------------------------------------------

class Port final : public api::ShardPort {
 public:
  Port(const engine::CompiledConfig& c, unsigned n) : shard_list(test_support::make_shards(c, n, true)) {}
  unsigned shards() const override { return static_cast<unsigned>(shard_list.size()); }
  bool submit(unsigned shard, const engine::AdminRequest& r) override {
    std::vector<engine::AdminReply> out(engine::kMaxAdminReplies);
    const std::uint32_t n = shard_list[shard]->admin(r, kNow, out);
    for (std::uint32_t i = 0; i < n; ++i) queue.emplace_back(shard, out[i]);
    ++requests;
    return true;
  }
  void pump(BulkService& s) {
    while (!queue.empty()) {
      auto [shard, r] = queue.front();
      queue.pop_front();
      s.on_admin_reply(shard, r);
    }
  }
  std::vector<std::unique_ptr<engine::Shard>> shard_list;
  std::deque<std::pair<unsigned, engine::AdminReply>> queue;
  unsigned requests = 0;
};

engine::CompileResult compiled(std::vector<wire::Ipv4> allowed) {
  engine::EngineConfig c;
  c.server_address = ip(10, 0, 0, 1);
  engine::SubnetConfig s;
  s.id = 1;
  s.prefix = ip(10, 0, 0, 0);
  s.prefix_len = 16;
  s.pools = {{ip(10, 0, 0, 10), ip(10, 0, 250, 250)}};
  s.lease_time = 3600;
  s.min_lease_time = 60;
  s.max_lease_time = 86400;
  c.subnets = {s};
  c.leasequery_allowed = std::move(allowed);
  return engine::compile(c);
}

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(ip(127, 0, 0, 1));
  EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// Sends `query`, runs the service until a DONE or STATUS for it arrives
// (or the peer closes); the messages received.
std::vector<Bytes> ask(BulkService& svc, Port& port, int fd, const Bytes& query, bool close_after = false) {
  const Bytes f = framed(query);
  EXPECT_EQ(::send(fd, f.data(), f.size(), 0), static_cast<ssize_t>(f.size()));
  if (close_after) ::shutdown(fd, SHUT_WR);
  FrameReader r;
  std::vector<Bytes> got;
  for (int i = 0; i < 20000; ++i) {
    svc.tick(kNow, static_cast<std::uint64_t>(i));
    port.pump(svc);
    std::uint8_t buf[65536];
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      r.feed({buf, static_cast<std::size_t>(n)});
      Bytes m;
      while (r.next(m) == FrameReader::Status::message) got.push_back(m);
      if (!got.empty() && (got.back()[242] == 15 || got.back()[242] == 17) && !close_after) break;
    }
  }
  return got;
}

std::uint8_t type_of(const Bytes& m) { return m.size() > 242 ? m[242] : 0; }   // option 53 first

class BulkServiceTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(BulkServiceTest, EveryLeaseOfARelayThenDone) {
  const engine::CompileResult cfg = compiled({ip(127, 0, 0, 1)});
  ASSERT_TRUE(cfg.ok()) << cfg.error;
  Port port(cfg.config, GetParam());
  // 300 leases: relay 1 has i % 3 == 0, relay 2 the others; 20 without 82.
  std::map<wire::Ipv4, Bytes> relay1;
  for (unsigned i = 0; i < 320; ++i) {
    const unsigned relay = i >= 300 ? 0 : (i % 3 == 0 ? 1 : 2);
    const LeaseChange l = lease(i, relay, i % 2 == 1);
    const std::uint32_t owner = engine::owner_shard_of(l, cfg.config, GetParam());
    const engine::RestoreStatus st = port.shard_list[owner]->restore(l, kNow);
    ASSERT_TRUE(st == engine::RestoreStatus::restored || st == engine::RestoreStatus::foreign);
    if (relay == 1) relay1[l.address] = relay_info(1, i);
  }
  BulkOptions o;
  o.listen_address = ip(127, 0, 0, 1);
  o.listen_port = 0;
  o.server_id = ip(10, 0, 0, 1);
  auto opened = BulkService::open(o, port, cfg.config);
  ASSERT_TRUE(opened.service) << opened.error;
  BulkService& svc = *opened.service;
  const int fd = connect_to(svc.port());

  Msg q;
  q.xid = 4242;
  q.options = {{82, Bytes{12, 6, 'r', 'e', 'l', 'a', 'y', '1'}}};
  std::vector<Bytes> got = ask(svc, port, fd, q.bytes());
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(type_of(got.back()), 15);   // DONE last
  std::map<wire::Ipv4, Bytes> seen;
  for (std::size_t i = 0; i + 1 < got.size(); ++i) {
    wire::DhcpMessage d;
    ASSERT_EQ(d.parse(got[i]), wire::Error::ok);
    ASSERT_EQ(d.message_type(), wire::MessageType::lease_active);
    EXPECT_EQ(d.xid, 4242u);
    EXPECT_FALSE(seen.count(d.ciaddr)) << "each lease once";
    seen[d.ciaddr] = Bytes(d.option(82)->begin(), d.option(82)->end());
  }
  EXPECT_EQ(seen, relay1);
  EXPECT_EQ(seen.size(), 100u);

  // All, with a time window: cltt in [kNow - 100 + 10, kNow - 100 + 19].
  Msg all;
  all.xid = 7;
  all.options = {{154, be32(kNow - 90)}, {155, be32(kNow - 81)}};
  got = ask(svc, port, fd, all.bytes());
  ASSERT_EQ(got.size(), 11u);
  EXPECT_EQ(type_of(got.back()), 15);

  // A malformed one: STATUS MalformedQuery, and the connection goes on.
  Msg bad;
  bad.xid = 8;
  bad.options = {{154, {1}}};
  got = ask(svc, port, fd, bad.bytes());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(type_of(got[0]), 17);
  wire::DhcpMessage d;
  ASSERT_EQ(d.parse(got[0]), wire::Error::ok);
  EXPECT_EQ(d.xid, 8u);
  EXPECT_EQ((*d.option(kOptStatusCode))[0], static_cast<std::uint8_t>(StatusCode::malformed_query));
  Msg remote;
  remote.xid = 9;
  remote.options = {{82, Bytes{2, 4, 'c', 'p', 'e', '3'}}};
  got = ask(svc, port, fd, remote.bytes(), true);
  ASSERT_EQ(got.size(), 2u);   // client 3's lease, then DONE; then the server closes
  EXPECT_EQ(type_of(got[0]), 13);
  for (int i = 0; i < 10; ++i) svc.tick(kNow, 100000);
  EXPECT_EQ(svc.open_connections(), 0u);
  EXPECT_EQ(svc.counters().queries, 4u);
  EXPECT_EQ(svc.counters().leases_sent, 111u);
  EXPECT_EQ(svc.counters().done_sent, 3u);
  EXPECT_EQ(svc.counters().malformed, 1u);
  ::close(fd);
}

INSTANTIATE_TEST_SUITE_P(Shards, BulkServiceTest, ::testing::Values(1u, 2u));

TEST(BulkServiceAccess, RequestorNotAllowedGetsNotAllowedAndIsClosed) {
  const engine::CompileResult cfg = compiled({ip(10, 9, 9, 9)});
  ASSERT_TRUE(cfg.ok());
  Port port(cfg.config, 1);
  ASSERT_EQ(port.shard_list[0]->restore(lease(1, 1), kNow), engine::RestoreStatus::restored);
  BulkOptions o;
  o.listen_address = ip(127, 0, 0, 1);
  o.listen_port = 0;
  auto opened = BulkService::open(o, port, cfg.config);
  ASSERT_TRUE(opened.service);
  const int fd = connect_to(opened.service->port());
  Msg q;
  q.xid = 3;
  const std::vector<Bytes> got = ask(*opened.service, port, fd, q.bytes());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(type_of(got[0]), 17);
  wire::DhcpMessage d;
  ASSERT_EQ(d.parse(got[0]), wire::Error::ok);
  EXPECT_EQ((*d.option(kOptStatusCode))[0], static_cast<std::uint8_t>(StatusCode::not_allowed));
  EXPECT_EQ(port.requests, 0u) << "no shard was asked";
  for (int i = 0; i < 10; ++i) opened.service->tick(kNow, 1);
  EXPECT_EQ(opened.service->open_connections(), 0u);
  EXPECT_EQ(opened.service->counters().not_allowed, 1u);
  ::close(fd);
}

}  // namespace
