// Unit tests for control/madcap: the RFC 2730 message codec (messages
// written byte by byte here from the layout in message.hpp, not with the
// codec's own Writer; which parts of that layout are checked against what is
// in docs/madcap.md, "What is checked against what"), every refusal of parse(), the Writer's bound; the lease logic
// (Leases: DISCOVER/OFFER, REQUEST/ACK, RENEW, RELEASE, GETINFO, NAKs with
// their error codes, drops, lease time limits, expiry, what is journaled);
// and the Service over a real store and a loopback UDP socket: a lease
// granted, then the store closed and opened again, and the lease still
// there for a RENEW.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "madcap/message.hpp"
#include "madcap/service.hpp"
#include "store/store.hpp"
#include "temp_dir.hpp"

namespace dorado::madcap {
namespace {

using Bytes = std::vector<std::uint8_t>;

void be16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void be32(Bytes& b, std::uint32_t v) {
  be16(b, static_cast<std::uint16_t>(v >> 16));
  be16(b, static_cast<std::uint16_t>(v));
}

// A message as message.hpp lays it out: version 0, type, family 1, xid, then
// the options as given (code, length, value) and End unless `end` is false.
struct Opt {
  std::uint16_t code;
  Bytes value;
};
Bytes message(std::uint8_t type, std::uint32_t xid, const std::vector<Opt>& opts, bool end = true) {
  Bytes b;
  b.push_back(0);
  b.push_back(type);
  be16(b, 1);
  be32(b, xid);
  for (const Opt& o : opts) {
    be16(b, o.code);
    be16(b, static_cast<std::uint16_t>(o.value.size()));
    for (std::uint8_t x : o.value) b.push_back(x);
  }
  if (end) {
    be16(b, 0);
    be16(b, 0);
  }
  return b;
}
Bytes u32(std::uint32_t v) {
  Bytes b;
  be32(b, v);
  return b;
}
Bytes text(std::string_view s) {
  Bytes b;
  for (char c : s) b.push_back(static_cast<std::uint8_t>(c));
  return b;
}
Bytes server_id(std::uint32_t a) {
  Bytes b;
  be16(b, 1);
  be32(b, a);
  return b;
}
Bytes ranges(std::initializer_list<std::pair<std::uint32_t, std::uint16_t>> rs) {
  Bytes b;
  for (auto [a, n] : rs) {
    be32(b, a);
    be16(b, n);
  }
  return b;
}

Request parsed(const Bytes& b) {
  const Parsed p = parse(b);
  EXPECT_EQ(p.error, ParseError::none) << parse_error_name(p.error);
  return p.request;
}
ParseError error_of(const Bytes& b) { return parse(b).error; }

constexpr std::uint32_t kServer = 0x0a630001;   // 10.99.0.1
constexpr std::uint32_t kScope1 = 0xef010000;   // 239.1.0.0
constexpr std::uint32_t kNow = 1'800'000'000;

// ---- codec ----------------------------------------------------------------------

// The numbers the IANA "MADCAP Parameters" registry (RFC 2730; option 17 is
// RFC 2907's) assigns, written out here from the registry rather than from
// message.hpp: the only part of the wire format checked against a primary
// source (docs/madcap.md, "What is checked against what").
TEST(MadcapMessage, CodesAreTheIanaRegistrys) {
  EXPECT_EQ(static_cast<int>(MsgType::discover), 1);
  EXPECT_EQ(static_cast<int>(MsgType::offer), 2);
  EXPECT_EQ(static_cast<int>(MsgType::request), 3);
  EXPECT_EQ(static_cast<int>(MsgType::renew), 4);
  EXPECT_EQ(static_cast<int>(MsgType::ack), 5);
  EXPECT_EQ(static_cast<int>(MsgType::nak), 6);
  EXPECT_EQ(static_cast<int>(MsgType::release), 7);
  EXPECT_EQ(static_cast<int>(MsgType::getinfo), 8);
  EXPECT_STREQ(msg_type_name(1), "DISCOVER");
  EXPECT_STREQ(msg_type_name(8), "GETINFO");
  EXPECT_STREQ(msg_type_name(9), "unknown");
  const std::uint16_t codes[] = {opt::end,          opt::lease_time,    opt::server_id,   opt::lease_id,
                                 opt::mcast_scope,  opt::option_request, opt::start_time, opt::addr_count,
                                 opt::language,     opt::scope_list,     opt::addr_list,  opt::current_time,
                                 opt::feature_list, opt::retry_time,     opt::min_lease_time,
                                 opt::max_start_time, opt::error};
  for (std::uint16_t i = 0; i < sizeof codes / sizeof codes[0]; ++i) EXPECT_EQ(codes[i], i);
  EXPECT_EQ(opt::kKnown, 17);   // 17, Multicast Scope Nesting State (RFC 2907), is skipped
  // An option 17 is skipped as unknown, not refused.
  EXPECT_EQ(error_of(message(1, 7, {{17, {1, 2, 3}}, {opt::lease_id, {1}}})), ParseError::none);
}

TEST(MadcapMessage, ParsesEveryOptionTheServerReads) {
  Bytes feature;
  be16(feature, 0);
  be16(feature, 1);
  be16(feature, 7);
  be16(feature, 2);
  be16(feature, 8);
  be16(feature, 9);
  Bytes count;
  be16(count, 1);
  be16(count, 2);
  Bytes req;
  be16(req, 9);
  be16(req, 11);
  const Request r = parsed(message(3, 0x01020304,
                                   {{1, u32(600)},
                                    {2, server_id(kServer)},
                                    {3, text("lease-1")},
                                    {4, u32(kScope1)},
                                    {5, req},
                                    {6, u32(11)},
                                    {7, count},
                                    {8, text("en")},
                                    {10, ranges({{0xef010005, 2}, {0xef010100, 1}})},
                                    {11, u32(12)},
                                    {12, feature},
                                    {13, u32(13)},
                                    {14, u32(14)},
                                    {15, u32(15)},
                                    {999, text("unknown options are skipped")}}));
  EXPECT_EQ(r.type, 3);
  EXPECT_EQ(r.xid, 0x01020304u);
  EXPECT_EQ(r.lease_time, 600u);
  EXPECT_EQ(r.server_id, kServer);
  EXPECT_EQ(std::string(r.lease_id.begin(), r.lease_id.begin() + r.lease_id_len), "lease-1");
  EXPECT_EQ(r.scope_id, kScope1);
  EXPECT_EQ(r.scope_type, -1);
  ASSERT_EQ(r.requested_count, 2);
  EXPECT_EQ(r.requested[0], 9);
  EXPECT_EQ(r.requested[1], 11);
  EXPECT_EQ(r.start_time, 11u);
  EXPECT_EQ(r.addr_min, 1);
  EXPECT_EQ(r.addr_desired, 2);
  ASSERT_EQ(r.range_count, 2);
  EXPECT_EQ(r.ranges[0].first, 0xef010005u);
  EXPECT_EQ(r.ranges[0].count, 2);
  EXPECT_EQ(r.ranges[1].first, 0xef010100u);
  EXPECT_EQ(r.current_time, 12u);
  EXPECT_EQ(r.feature_count[0], 0);
  EXPECT_EQ(r.feature_count[1], 1);
  EXPECT_EQ(r.feature_count[2], 2);
  EXPECT_EQ(r.required_features[0], 8);
  EXPECT_EQ(r.required_features[1], 9);
  EXPECT_EQ(r.retry_time, 13u);
  EXPECT_EQ(r.min_lease_time, 14u);
  EXPECT_EQ(r.max_start_time, 15u);
  EXPECT_TRUE(r.has(opt::language));
  EXPECT_FALSE(r.has(opt::error));
}

TEST(MadcapMessage, ScopeWithATypeByte) {
  Bytes s{1};
  be32(s, kScope1);
  const Request r = parsed(message(1, 1, {{3, text("x")}, {4, s}}));
  EXPECT_EQ(r.scope_id, kScope1);
  EXPECT_EQ(r.scope_type, 1);
}

TEST(MadcapMessage, Refusals) {
  EXPECT_EQ(error_of(Bytes{0, 1, 0, 1, 0, 0, 0}), ParseError::short_header);
  Bytes v = message(1, 1, {});
  v[0] = 1;
  EXPECT_EQ(error_of(v), ParseError::bad_version);
  Bytes f = message(1, 1, {});
  f[3] = 2;
  EXPECT_EQ(error_of(f), ParseError::bad_family);
  EXPECT_EQ(error_of(message(1, 1, {{3, text("x")}}, false)), ParseError::no_end);
  Bytes t = message(1, 1, {{3, text("abc")}}, false);
  t.pop_back();
  EXPECT_EQ(error_of(t), ParseError::truncated_option);
  Bytes h = message(1, 1, {}, false);
  h.push_back(0);
  EXPECT_EQ(error_of(h), ParseError::truncated_option);
  EXPECT_EQ(error_of(message(1, 1, {{3, text("a")}, {3, text("b")}})), ParseError::duplicate_option);
  EXPECT_EQ(error_of(message(1, 1, {{1, text("abc")}})), ParseError::bad_length);
  EXPECT_EQ(error_of(message(1, 1, {{2, u32(kServer)}})), ParseError::bad_length);
  EXPECT_EQ(error_of(message(1, 1, {{3, {}}})), ParseError::bad_length);
  EXPECT_EQ(error_of(message(1, 1, {{4, text("abc")}})), ParseError::bad_length);
  EXPECT_EQ(error_of(message(1, 1, {{5, text("abc")}})), ParseError::bad_length);
  EXPECT_EQ(error_of(message(1, 1, {{10, text("abcde")}})), ParseError::bad_length);
  EXPECT_EQ(error_of(message(1, 1, {{12, Bytes{0, 0, 0, 0}}})), ParseError::bad_length);
  EXPECT_EQ(error_of(message(1, 1, {{12, Bytes{0, 1, 0, 0, 0, 0}}})), ParseError::bad_length);
  EXPECT_EQ(error_of(message(1, 1, {{16, Bytes{0}}})), ParseError::bad_length);
  // Bounds: lists longer than the codec keeps.
  EXPECT_EQ(error_of(message(1, 1, {{3, Bytes(kMaxLeaseId, 'x')}})), ParseError::none);
  EXPECT_EQ(error_of(message(1, 1, {{3, Bytes(kMaxLeaseId + 1, 'x')}})), ParseError::too_many);
  EXPECT_EQ(error_of(message(1, 1, {{5, Bytes(2 * (kMaxRequested + 1), 0)}})), ParseError::too_many);
  EXPECT_EQ(error_of(message(1, 1, {{10, Bytes(6 * (kMaxRanges + 1), 0)}})), ParseError::too_many);
  Bytes many;
  be16(many, static_cast<std::uint16_t>(kMaxFeatures + 1));
  for (std::size_t i = 0; i < kMaxFeatures + 1; ++i) be16(many, 1);
  be16(many, 0);
  be16(many, 0);
  EXPECT_EQ(error_of(message(1, 1, {{12, many}})), ParseError::too_many);
}

TEST(MadcapMessage, WriterOutputParsesAndStopsWhenFull) {
  std::array<std::uint8_t, 64> out{};
  Writer w(out, MsgType::ack, 77);
  w.option(opt::lease_id, text("id"));
  w.server_id(kServer);
  w.scope(kScope1, -1);
  w.u32(opt::lease_time, 300);
  const std::size_t n = w.finish();
  ASSERT_GT(n, 0u);
  const Request r = parsed(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)));
  EXPECT_EQ(r.type, 5);
  EXPECT_EQ(r.xid, 77u);
  EXPECT_EQ(r.server_id, kServer);
  EXPECT_EQ(r.lease_time, 300u);
  std::array<std::uint8_t, 20> small{};
  Writer s(small, MsgType::ack, 1);
  s.option(opt::lease_id, text("a lease identifier too long for 20 bytes"));
  EXPECT_EQ(s.finish(), 0u);
}

// ---- lease logic ------------------------------------------------------------------

Settings settings() {
  Settings s;
  s.server_address = kServer;
  Scope a;
  a.name = "site";
  a.zone = "Site";
  a.first = kScope1;
  a.last = kScope1 + 3;   // four addresses
  a.ttl = 16;
  a.min_lease_time = 60;
  a.default_lease_time = 600;
  a.max_lease_time = 3600;
  s.scopes.push_back(a);
  return s;
}

struct Harness {
  Leases leases{settings()};
  Counters n;
  std::array<std::uint8_t, kMaxMessage> out{};
  Leases::Outcome last;

  // The reply to `b` at `now`, parsed (type 0 when there is none).
  Request ask(const Bytes& b, std::uint32_t now = kNow) {
    last = leases.handle(parsed(b), now, out, n);
    if (last.reply_size == 0) return Request{};
    return parsed(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(last.reply_size)));
  }
};

std::uint32_t address_of(const Request& r) { return r.range_count == 1 && r.ranges[0].count == 1 ? r.ranges[0].first : 0; }

TEST(MadcapLeases, DiscoverRequestRenewRelease) {
  Harness h;
  const Request offer = h.ask(message(1, 10, {{3, text("L1")}, {4, u32(kScope1)}}));
  EXPECT_EQ(offer.type, static_cast<std::uint8_t>(MsgType::offer));
  EXPECT_EQ(offer.xid, 10u);
  EXPECT_EQ(offer.server_id, kServer);
  EXPECT_EQ(std::string(offer.lease_id.begin(), offer.lease_id.begin() + offer.lease_id_len), "L1");
  EXPECT_EQ(offer.scope_id, kScope1);
  EXPECT_EQ(offer.lease_time, 600u);
  EXPECT_EQ(address_of(offer), kScope1);
  EXPECT_TRUE(h.last.changes.empty()) << "an offer is not journaled";

  const Request ack = h.ask(message(3, 11, {{2, server_id(kServer)}, {3, text("L1")}, {4, u32(kScope1)},
                                           {1, u32(100)}}));
  EXPECT_EQ(ack.type, static_cast<std::uint8_t>(MsgType::ack));
  EXPECT_EQ(address_of(ack), kScope1) << "the offered address";
  EXPECT_EQ(ack.lease_time, 100u);
  ASSERT_EQ(h.last.changes.size(), 1u);
  const engine::LeaseChange& c = h.last.changes[0];
  EXPECT_EQ(c.op, engine::LeaseOp::commit);
  EXPECT_EQ(c.key_len, 3);
  EXPECT_EQ(c.key[0], kKeyKindMadcap);
  EXPECT_EQ(c.key[1], 'L');
  EXPECT_EQ(c.address, kScope1);
  EXPECT_EQ(c.start, kNow);
  EXPECT_EQ(c.expires, kNow + 100);
  EXPECT_EQ(h.leases.bound_count(), 1u);

  // Another client gets another address.
  const Request other = h.ask(message(3, 12, {{3, text("L2")}, {4, u32(kScope1)}}));
  EXPECT_EQ(address_of(other), kScope1 + 1);

  const Request renewed = h.ask(message(4, 13, {{3, text("L1")}, {1, u32(9999)}}), kNow + 50);
  EXPECT_EQ(renewed.type, static_cast<std::uint8_t>(MsgType::ack));
  EXPECT_EQ(address_of(renewed), kScope1);
  EXPECT_EQ(renewed.lease_time, 3600u) << "capped at max_lease_time";
  ASSERT_EQ(h.last.changes.size(), 1u);
  EXPECT_EQ(h.last.changes[0].op, engine::LeaseOp::renew);
  EXPECT_EQ(h.last.changes[0].expires, kNow + 50 + 3600);

  const Request released = h.ask(message(7, 14, {{3, text("L1")}}), kNow + 60);
  EXPECT_EQ(released.type, static_cast<std::uint8_t>(MsgType::ack));
  ASSERT_EQ(h.last.changes.size(), 1u);
  EXPECT_EQ(h.last.changes[0].op, engine::LeaseOp::reclaim);
  EXPECT_EQ(h.leases.bound_count(), 1u);
  // Released: a RENEW is not recognised any more.
  const Request nak = h.ask(message(4, 15, {{3, text("L1")}}), kNow + 61);
  EXPECT_EQ(nak.type, static_cast<std::uint8_t>(MsgType::nak));
  EXPECT_EQ(nak.error_code, static_cast<std::uint16_t>(ErrorCode::lease_id_not_recognized));
  EXPECT_TRUE(h.last.changes.empty());
  EXPECT_EQ(h.n.discovers, 1u);
  EXPECT_EQ(h.n.requests, 2u);
  EXPECT_EQ(h.n.renews, 2u);
  EXPECT_EQ(h.n.releases, 1u);
  EXPECT_EQ(h.n.offers, 1u);
  EXPECT_EQ(h.n.acks, 4u);
  EXPECT_EQ(h.n.naks, 1u);
  EXPECT_EQ(h.n.leases_granted, 2u);
  EXPECT_EQ(h.n.leases_renewed, 1u);
  EXPECT_EQ(h.n.leases_released, 1u);
}

TEST(MadcapLeases, AskedForAddressAndLeaseTimeBounds) {
  Harness h;
  const Request a = h.ask(message(3, 1, {{3, text("A")}, {4, u32(kScope1)}, {10, ranges({{kScope1 + 2, 1}})},
                                         {1, u32(5)}}));
  EXPECT_EQ(address_of(a), kScope1 + 2);
  EXPECT_EQ(a.lease_time, 60u) << "raised to min_lease_time";
  // Taken: the next client asking for it gets another.
  const Request b = h.ask(message(3, 2, {{3, text("B")}, {4, u32(kScope1)}, {10, ranges({{kScope1 + 2, 1}})}}));
  EXPECT_NE(address_of(b), kScope1 + 2);
  EXPECT_NE(address_of(b), 0u);
  // A minimum lease time above the scope's maximum: not completed.
  const Request c = h.ask(message(3, 3, {{3, text("C")}, {4, u32(kScope1)}, {14, u32(7200)}}));
  EXPECT_EQ(c.type, static_cast<std::uint8_t>(MsgType::nak));
  EXPECT_EQ(c.error_code, static_cast<std::uint16_t>(ErrorCode::request_not_completed));
  // More than one address: not here.
  Bytes count;
  be16(count, 2);
  be16(count, 2);
  const Request d = h.ask(message(3, 4, {{3, text("D")}, {4, u32(kScope1)}, {7, count}}));
  EXPECT_EQ(d.type, static_cast<std::uint8_t>(MsgType::nak));
}

TEST(MadcapLeases, FullScopeDropsDiscoverAndNaksRequest) {
  Harness h;
  for (char c = 'a'; c < 'e'; ++c)
    EXPECT_EQ(h.ask(message(3, 1, {{3, text(std::string(1, c))}, {4, u32(kScope1)}})).type,
              static_cast<std::uint8_t>(MsgType::ack));
  EXPECT_EQ(h.ask(message(1, 2, {{3, text("late")}, {4, u32(kScope1)}})).type, 0);
  EXPECT_EQ(h.n.drop_scope_full, 1u);
  EXPECT_EQ(h.ask(message(3, 3, {{3, text("late")}, {4, u32(kScope1)}})).type,
            static_cast<std::uint8_t>(MsgType::nak));
  // The same client asking again keeps its address.
  EXPECT_EQ(address_of(h.ask(message(3, 4, {{3, text("b")}, {4, u32(kScope1)}}))), kScope1 + 1);
}

TEST(MadcapLeases, Drops) {
  Harness h;
  EXPECT_EQ(h.ask(message(1, 1, {{4, u32(kScope1)}})).type, 0);
  EXPECT_EQ(h.n.drop_no_lease_id, 1u);
  EXPECT_EQ(h.ask(message(1, 1, {{3, text("x")}})).type, 0);
  EXPECT_EQ(h.n.drop_no_scope, 1u);
  EXPECT_EQ(h.ask(message(1, 1, {{3, text("x")}, {4, u32(0xef020000)}})).type, 0);
  EXPECT_EQ(h.n.drop_unknown_scope, 1u);
  EXPECT_EQ(h.ask(message(3, 1, {{2, server_id(kServer + 1)}, {3, text("x")}, {4, u32(kScope1)}})).type, 0);
  EXPECT_EQ(h.n.drop_other_server, 1u);
  EXPECT_EQ(h.ask(message(5, 1, {{3, text("x")}})).type, 0);   // an ACK to a server
  EXPECT_EQ(h.n.drop_bad_type, 1u);
  EXPECT_EQ(h.leases.bound_count(), 0u);
}

TEST(MadcapLeases, OtherServersRequestFreesOurOffer) {
  Harness h;
  EXPECT_EQ(address_of(h.ask(message(1, 1, {{3, text("x")}, {4, u32(kScope1)}}))), kScope1);
  h.ask(message(3, 2, {{2, server_id(kServer + 1)}, {3, text("x")}, {4, u32(kScope1)}}));
  EXPECT_EQ(address_of(h.ask(message(1, 3, {{3, text("y")}, {4, u32(kScope1)}, {10, ranges({{kScope1, 1}})}}))),
            kScope1);
}

TEST(MadcapLeases, ScopeRemovedByAReload) {
  Harness h;
  EXPECT_EQ(address_of(h.ask(message(3, 1, {{3, text("x")}, {4, u32(kScope1)}}))), kScope1);
  Settings none = settings();
  none.scopes.clear();
  h.leases.reconfigure(none);
  const Request renew = h.ask(message(4, 2, {{3, text("x")}}));
  EXPECT_EQ(renew.type, static_cast<std::uint8_t>(MsgType::nak)) << "kept until it ends, not renewed";
  EXPECT_EQ(renew.error_code, static_cast<std::uint16_t>(ErrorCode::request_not_completed));
  EXPECT_EQ(h.ask(message(1, 3, {{3, text("y")}, {4, u32(kScope1)}})).type, 0) << "no scope: no offer";
  EXPECT_EQ(h.ask(message(7, 4, {{3, text("x")}})).type, static_cast<std::uint8_t>(MsgType::ack));
  ASSERT_EQ(h.last.changes.size(), 1u);
  EXPECT_EQ(h.last.changes[0].op, engine::LeaseOp::reclaim);
}

TEST(MadcapLeases, RequiredFeatureIsRefused) {
  Harness h;
  const Request r = h.ask(message(1, 1, {{3, text("x")}, {4, u32(kScope1)}, {12, Bytes{0, 0, 0, 0, 0, 1, 0, 5}}}));
  EXPECT_EQ(r.type, static_cast<std::uint8_t>(MsgType::nak));
  EXPECT_EQ(r.error_code, static_cast<std::uint16_t>(ErrorCode::unsupported_feature));
}

TEST(MadcapLeases, GetinfoAnswersTheRequestedOptions) {
  Harness h;
  Bytes req;
  be16(req, 9);
  be16(req, 11);
  be16(req, 12);
  h.ask(message(8, 5, {{3, text("info")}, {5, req}}), kNow);
  ASSERT_GT(h.last.reply_size, 0u);
  const Bytes b(h.out.begin(), h.out.begin() + static_cast<std::ptrdiff_t>(h.last.reply_size));
  const Request r = parsed(b);
  EXPECT_EQ(r.type, static_cast<std::uint8_t>(MsgType::ack));
  EXPECT_EQ(r.current_time, kNow);
  EXPECT_TRUE(r.has(opt::feature_list));
  EXPECT_TRUE(r.has(opt::scope_list));
  // The scope list's bytes: count 1, 239.1.0.0, 239.1.0.3, TTL 16, one
  // name: flags 0x80, "en", "Site".
  const Bytes want{0, 9, 0, 20, 1, 0xef, 1, 0, 0, 0xef, 1, 0, 3, 16, 1, 0x80, 2, 'e', 'n', 4, 'S', 'i', 't', 'e'};
  EXPECT_NE(std::search(b.begin(), b.end(), want.begin(), want.end()), b.end());
  EXPECT_TRUE(h.last.changes.empty());
}

TEST(MadcapLeases, ExpiryAndRestore) {
  Harness h;
  h.ask(message(3, 1, {{3, text("x")}, {4, u32(kScope1)}, {1, u32(100)}}));
  h.ask(message(1, 2, {{3, text("offer-only")}, {4, u32(kScope1)}}));
  EXPECT_TRUE(h.leases.expire(kNow + 59, h.n).empty());
  EXPECT_EQ(h.leases.leases().size(), 2u);
  EXPECT_TRUE(h.leases.expire(kNow + 60, h.n).empty()) << "the offer goes unjournaled";
  EXPECT_EQ(h.leases.leases().size(), 1u);
  const std::vector<engine::LeaseChange> gone = h.leases.expire(kNow + 100, h.n);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].op, engine::LeaseOp::reclaim);
  EXPECT_EQ(gone[0].address, kScope1);
  EXPECT_EQ(h.n.leases_expired, 1u);
  EXPECT_EQ(h.leases.bound_count(), 0u);

  Leases fresh(settings());
  engine::LeaseChange c{};
  c.op = engine::LeaseOp::commit;
  c.key[0] = kKeyKindMadcap;
  c.key[1] = 'z';
  c.key_len = 2;
  c.address = kScope1 + 3;
  c.start = kNow;
  c.expires = kNow + 10;
  EXPECT_TRUE(fresh.restore(c, kNow));
  EXPECT_FALSE(fresh.restore(c, kNow)) << "twice";
  engine::LeaseChange ended = c;
  ended.key[1] = 'y';
  ended.address = kScope1;
  EXPECT_FALSE(fresh.restore(ended, kNow + 10));
  engine::LeaseChange outside = c;
  outside.key[1] = 'w';
  outside.address = 0xef090000;
  EXPECT_FALSE(fresh.restore(outside, kNow));
  engine::LeaseChange dhcp = c;
  dhcp.key[0] = engine::kKeyKindHw;
  EXPECT_FALSE(fresh.restore(dhcp, kNow));
  EXPECT_EQ(fresh.bound_count(), 1u);
}

// ---- Service: socket + store ---------------------------------------------------------

struct Client {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ~Client() { ::close(fd); }
  void send(std::uint16_t port, const Bytes& b) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(0x7f000001);
    ASSERT_EQ(::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(b.size()));
  }
  // The reply, ticking the service until it comes (bounded: 200 tries).
  Request reply(Service& s, store::Store& st, std::uint32_t now) {
    std::array<std::uint8_t, 2048> in{};
    for (int i = 0; i < 200; ++i) {
      s.tick(now);
      st.tick(static_cast<std::uint64_t>(i + 1) * 10'000'000);
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5) == 1) {
        const ssize_t n = ::recv(fd, in.data(), in.size(), 0);
        if (n > 0) return parsed(Bytes(in.begin(), in.begin() + n));
      }
    }
    ADD_FAILURE() << "no reply";
    return Request{};
  }
};

Settings loopback() {
  Settings s = settings();
  s.listen_address = 0x7f000001;
  s.listen_port = 0;   // any free port
  return s;
}

TEST(MadcapService, LeaseSurvivesAStoreRestart) {
  test_support::TempDir dir("dorado-madcap");
  store::StoreOptions o;
  o.dir = dir.path();
  std::uint32_t address = 0;
  {
    store::Store::Opened op = store::Store::open(o);
    ASSERT_TRUE(op.store) << op.error;
    Service::Created c = Service::create(loopback(), *op.store, {}, kNow);
    ASSERT_TRUE(c.service) << c.error;
    Client cl;
    cl.send(c.service->port(), message(3, 1, {{3, text("kept")}, {4, u32(kScope1)}, {1, u32(1000)}}));
    const Request ack = cl.reply(*c.service, *op.store, kNow);
    EXPECT_EQ(ack.type, static_cast<std::uint8_t>(MsgType::ack));
    address = address_of(ack);
    EXPECT_NE(address, 0u);
    EXPECT_GE(op.store->durable_seq(), 1u) << "the ACK left after its record was durable";
    EXPECT_EQ(c.service->counters().received, 1u);
    c.service.reset();
    // No clean close: what a crash leaves (the record was made durable before the ACK).
  }
  store::Store::Opened op = store::Store::open(o);
  ASSERT_TRUE(op.store) << op.error;
  Service::Created c = Service::create(loopback(), *op.store, {}, kNow + 10);
  ASSERT_TRUE(c.service) << c.error;
  EXPECT_EQ(c.service->bound_count(), 1u);
  Client cl;
  cl.send(c.service->port(), message(4, 2, {{3, text("kept")}}));
  const Request renewed = cl.reply(*c.service, *op.store, kNow + 10);
  EXPECT_EQ(renewed.type, static_cast<std::uint8_t>(MsgType::ack));
  EXPECT_EQ(address_of(renewed), address);
  cl.send(c.service->port(), message(0xff, 3, {}));
  cl.send(c.service->port(), Bytes{1, 2, 3});
  cl.send(c.service->port(), message(7, 4, {{3, text("kept")}}));
  EXPECT_EQ(cl.reply(*c.service, *op.store, kNow + 11).type, static_cast<std::uint8_t>(MsgType::ack));
  EXPECT_EQ(c.service->counters().drop_malformed, 1u);
  EXPECT_EQ(c.service->counters().drop_bad_type, 1u);
  EXPECT_EQ(c.service->bound_count(), 0u);
  // Released: gone from the store too.
  bool found = false;
  op.store->for_each_lease([&](const store::StoredLease& l) { found |= l.key_len && l.key[0] == kKeyKindMadcap; });
  EXPECT_FALSE(found);
}

}  // namespace
}  // namespace dorado::madcap
