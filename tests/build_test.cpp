// Unit tests for the frame builder: every frame built is parsed back with
// parse_frame + parse_dhcp and compared field by field; sizes, ordering,
// RFC 3396 splitting and checksums are checked on the raw bytes too.
#include <gtest/gtest.h>

#include "checksum_reference.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "wire/build.hpp"
#include "wire/bytes.hpp"
#include "wire/dhcp.hpp"
#include "wire/frame.hpp"

namespace dorado::wire {
namespace {

using Buf = std::vector<std::uint8_t>;

Bytes bytes(const Buf& b) { return Bytes{b.data(), b.size()}; }
Buf vec(Bytes b) { return Buf(b.begin(), b.end()); }
Buf s(std::string_view text) { return Buf(text.begin(), text.end()); }
constexpr Ipv4 v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return (Ipv4{a} << 24) | (Ipv4{b} << 16) | (Ipv4{c} << 8) | d;
}
Buf ip(Ipv4 a) {
  return Buf{static_cast<std::uint8_t>(a >> 24), static_cast<std::uint8_t>(a >> 16),
             static_cast<std::uint8_t>(a >> 8), static_cast<std::uint8_t>(a)};
}
Buf be32(std::uint32_t v) { return ip(v); }
using test::get16;
using test::ref_add;
using test::ref_fold;


constexpr MacAddr kServerMac{{0x02, 0x00, 0x00, 0xd0, 0x2a, 0x01}};
constexpr MacAddr kClientMac{{0x42, 0xb4, 0x44, 0xb4, 0xf0, 0xee}};
constexpr Ipv4 kServerIp = v4(10, 56, 0, 2);
constexpr std::size_t kOptionsAt = kBootpFixedSize + 4;

Envelope reply_envelope() {
  Envelope env;
  env.eth_src = kServerMac;
  env.eth_dst = kClientMac;
  env.ip_src = kServerIp;
  env.ip_dst = v4(10, 56, 42, 232);
  env.ttl = 64;
  env.tos = 0x10;
  env.ip_id = 0xbeef;
  return env;
}

BootpFields reply_fields() {
  BootpFields b;
  b.op = 2;
  b.hops = 1;
  b.xid = 0x9edf45b0;
  b.secs = 7;
  b.flags = kFlagBroadcast;
  b.ciaddr = v4(10, 56, 1, 1);
  b.yiaddr = v4(10, 56, 42, 232);
  b.siaddr = v4(10, 56, 0, 3);
  b.giaddr = v4(10, 56, 0, 1);
  std::copy(kClientMac.b.begin(), kClientMac.b.end(), b.chaddr.begin());
  b.chaddr[15] = 0x5a;  // bytes past hlen are carried verbatim
  return b;
}

// A built frame, parsed back.
struct Built {
  BuildResult r;
  Buf frame;
  Frame f;
  DhcpMessage m;
};

// Builds into a buffer with a guard zone after `capacity`, checks the guard,
// then parses the frame back (when the build succeeded).
void build_and_parse(Built& out, const Envelope& env, const BootpFields& bootp,
                     const DhcpOptionsSpec& spec, std::size_t capacity = 2048) {
  constexpr std::size_t kGuard = 64;
  Buf buf(capacity + kGuard, 0xa5);
  out.r = build_dhcp_frame(MutableBytes{buf.data(), capacity}, env, bootp, spec);
  for (std::size_t i = capacity; i < buf.size(); ++i) ASSERT_EQ(buf[i], 0xa5) << "wrote past out at " << i;
  if (out.r.error != Error::ok) return;
  ASSERT_LE(out.r.length, capacity);
  out.frame.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(out.r.length));
  out.f = parse_frame(bytes(out.frame));
  ASSERT_EQ(out.f.error, Error::ok) << error_name(out.f.error);
  ASSERT_EQ(out.f.kind, FrameKind::ipv4_udp);
  out.m.parse(out.f.udp_payload(bytes(out.frame)));
  ASSERT_EQ(out.m.error, Error::ok) << error_name(out.m.error) << " option " << int{out.m.error_option};
}

// The option codes as they occur on the wire in the options field (one entry
// per instance), up to and including END.
Buf wire_codes(const Built& b) {
  Buf codes;
  const Bytes msg = b.f.udp_payload(bytes(b.frame));
  for (std::size_t i = kOptionsAt; i < msg.size();) {
    const std::uint8_t c = msg[i];
    if (c == opt::pad) {
      ++i;
      continue;
    }
    codes.push_back(c);
    if (c == opt::end) break;
    i += 2 + msg[i + 1];
  }
  return codes;
}

// The BOOTP message's length without its zero padding: through END.
std::size_t content_length(const Built& b) {
  const Bytes msg = b.f.udp_payload(bytes(b.frame));
  std::size_t i = kOptionsAt;
  while (i < msg.size() && msg[i] != opt::end) i += msg[i] == opt::pad ? 1 : 2 + msg[i + 1];
  return i + 1;
}

// ---- round trips ------------------------------------------------------------------

TEST(BuildFrame, RoundTripFieldByField) {
  const Buf mask = ip(v4(255, 255, 0, 0));
  const Buf routers = ip(v4(10, 56, 0, 1));
  const Buf dns = [] {
    Buf d = ip(v4(31, 130, 229, 6));
    const Buf second = ip(v4(31, 130, 229, 7));
    d.insert(d.end(), second.begin(), second.end());
    return d;
  }();
  const Buf domain = s("meeting.ietf.org");
  const Buf lease = be32(3600), t1 = be32(1800), t2 = be32(3150);
  const Buf v6only = be32(900);
  const OptionValue opts[] = {
      {opt::lease_time, bytes(lease), true},  {opt::renewal_time, bytes(t1), true},
      {opt::rebinding_time, bytes(t2), true}, {opt::subnet_mask, bytes(mask), true},
      {opt::routers, bytes(routers), false},  {opt::dns_servers, bytes(dns), false},
      {opt::domain_name, bytes(domain), false}, {108, bytes(v6only), false},
  };
  const Buf relay = {1, 4, 'p', 'o', 'r', 't', 2, 3, 0xaa, 0xbb, 0xcc};
  DhcpOptionsSpec spec;
  spec.type = MessageType::offer;
  spec.server_id = kServerIp;
  spec.options = opts;
  spec.relay_agent_info = bytes(relay);

  Built b;
  build_and_parse(b, reply_envelope(), reply_fields(), spec);
  ASSERT_EQ(b.r.error, Error::ok);
  // 53:3 54:6 51:6 58:6 59:6 1:6 3:6 6:10 15:18 108:6 82:13 END:1 = 87 bytes.
  constexpr std::size_t kMessage = kOptionsAt + 87;
  EXPECT_EQ(b.r.dhcp_offset, 42u);
  EXPECT_EQ(b.r.length, 42u + kMessage);
  EXPECT_EQ(b.frame.size(), b.r.length);

  const Frame& f = b.f;
  EXPECT_EQ(f.eth.dst, kClientMac);
  EXPECT_EQ(f.eth.src, kServerMac);
  EXPECT_EQ(f.eth.vlan_count, 0);
  EXPECT_EQ(f.eth.ethertype, kEtherTypeIpv4);
  EXPECT_EQ(f.ip.header_length, 20);
  EXPECT_EQ(f.ip.tos, 0x10);
  EXPECT_EQ(f.ip.ttl, 64);
  EXPECT_EQ(f.ip.id, 0xbeef);
  EXPECT_EQ(f.ip.flags_fragment, 0);  // DF not set
  EXPECT_EQ(f.ip.protocol, kIpProtoUdp);
  EXPECT_EQ(f.ip.total_length, 20 + 8 + kMessage);
  EXPECT_EQ(f.ip.src, kServerIp);
  EXPECT_EQ(f.ip.dst, v4(10, 56, 42, 232));
  EXPECT_EQ(f.udp.src_port, kPortBootps);
  EXPECT_EQ(f.udp.dst_port, kPortBootpc);
  EXPECT_EQ(f.udp.length, 8 + kMessage);
  EXPECT_NE(f.udp.checksum, 0);
  EXPECT_EQ(f.udp.payload_offset, b.r.dhcp_offset);

  const DhcpMessage& m = b.m;
  const BootpFields want = reply_fields();
  EXPECT_EQ(m.op, 2);
  EXPECT_EQ(m.htype, 1);
  EXPECT_EQ(m.hlen, 6);
  EXPECT_EQ(m.hops, 1);
  EXPECT_EQ(m.xid, 0x9edf45b0u);
  EXPECT_EQ(m.secs, 7);
  EXPECT_EQ(m.flags, kFlagBroadcast);
  EXPECT_EQ(m.ciaddr, want.ciaddr);
  EXPECT_EQ(m.yiaddr, want.yiaddr);
  EXPECT_EQ(m.siaddr, want.siaddr);
  EXPECT_EQ(m.giaddr, want.giaddr);
  EXPECT_EQ(vec(m.chaddr_field), Buf(want.chaddr.begin(), want.chaddr.end()));
  EXPECT_EQ(m.chaddr_mac(), kClientMac);
  EXPECT_EQ(vec(m.sname_field), Buf(64, 0));
  EXPECT_EQ(vec(m.file_field), Buf(128, 0));
  EXPECT_EQ(m.overload, 0);
  EXPECT_TRUE(m.has_cookie);

  EXPECT_EQ(m.message_type(), MessageType::offer);
  EXPECT_EQ(m.server_id(), kServerIp);
  EXPECT_EQ(m.lease_time(), 3600u);
  EXPECT_EQ(m.renewal_time(), 1800u);
  EXPECT_EQ(m.rebinding_time(), 3150u);
  EXPECT_EQ(m.subnet_mask(), v4(255, 255, 0, 0));
  ASSERT_EQ(m.routers().size(), 1u);
  EXPECT_EQ(m.routers()[0], v4(10, 56, 0, 1));
  ASSERT_EQ(m.dns_servers().size(), 2u);
  EXPECT_EQ(m.dns_servers()[0], v4(31, 130, 229, 6));
  EXPECT_EQ(m.dns_servers()[1], v4(31, 130, 229, 7));
  EXPECT_EQ(m.domain_name(), "meeting.ietf.org");
  EXPECT_EQ(vec(*m.option(108)), v6only);
  const auto rai = m.relay_agent_info();
  ASSERT_TRUE(rai);
  EXPECT_EQ(vec(rai->raw), relay);
  EXPECT_EQ(vec(*rai->circuit_id), s("port"));
  EXPECT_EQ(vec(*rai->remote_id), (Buf{0xaa, 0xbb, 0xcc}));
  // No PRL: given order after 53 and 54, 82 last.
  EXPECT_EQ(wire_codes(b), (Buf{53, 54, 51, 58, 59, 1, 3, 6, 15, 108, 82, 255}));
}

TEST(BuildFrame, ClientRequestRoundTrip) {
  Envelope env;
  env.eth_src = kClientMac;
  env.eth_dst = MacAddr::broadcast();
  env.ip_src = 0;
  env.ip_dst = 0xffffffff;
  env.src_port = kPortBootpc;
  env.dst_port = kPortBootps;
  env.ttl = 255;
  BootpFields bootp;
  bootp.op = 1;
  bootp.xid = 0x01020304;
  std::copy(kClientMac.b.begin(), kClientMac.b.end(), bootp.chaddr.begin());
  const Buf prl = {1, 121, 3, 6, 15, 108, 114, 119, 252, 95, 44, 46};
  const Buf requested = ip(v4(10, 56, 42, 232));
  const Buf client_id = {1, 0x42, 0xb4, 0x44, 0xb4, 0xf0, 0xee};
  const Buf host = s("MacBookPro");
  const Buf mms = {0x05, 0xdc};
  const OptionValue opts[] = {{opt::parameter_request_list, bytes(prl), true},
                              {opt::max_message_size, bytes(mms), true},
                              {opt::client_id, bytes(client_id), true},
                              {opt::requested_ip, bytes(requested), true},
                              {opt::hostname, bytes(host), false}};
  DhcpOptionsSpec spec;
  spec.type = MessageType::request;
  spec.server_id = kServerIp;
  spec.options = opts;
  Built b;
  build_and_parse(b, env, bootp, spec);
  ASSERT_EQ(b.r.error, Error::ok);
  EXPECT_EQ(b.f.udp.src_port, 68);
  EXPECT_EQ(b.f.udp.dst_port, 67);
  EXPECT_EQ(b.f.ip.src, 0u);
  EXPECT_EQ(b.f.ip.dst, 0xffffffffu);
  EXPECT_EQ(b.f.ip.ttl, 255);
  EXPECT_EQ(b.m.op, 1);
  EXPECT_EQ(b.m.message_type(), MessageType::request);
  EXPECT_EQ(vec(b.m.parameter_request_list()), prl);
  EXPECT_EQ(b.m.max_message_size(), 1500);
  EXPECT_EQ(vec(*b.m.client_id()), client_id);
  EXPECT_EQ(b.m.requested_ip(), v4(10, 56, 42, 232));
  EXPECT_EQ(b.m.hostname(), "MacBookPro");
  EXPECT_EQ(b.m.server_id(), kServerIp);
}

TEST(BuildFrame, MessageOnlyMatchesFrameAndWrap) {
  const Buf lease = be32(600);
  const OptionValue opts[] = {{opt::lease_time, bytes(lease), true}};
  DhcpOptionsSpec spec;
  spec.type = MessageType::ack;
  spec.server_id = kServerIp;
  spec.options = opts;
  for (std::uint8_t tags = 0; tags <= 2; ++tags) {
    SCOPED_TRACE(int{tags});
    Envelope env = reply_envelope();
    env.vlan_count = tags;
    env.vlans = {VlanTag{kEtherTypeQinQ, 0x0123}, VlanTag{kEtherTypeVlan, 0x0456}};
    const std::size_t hs = header_size(env);
    EXPECT_EQ(hs, 42u + 4 * tags);

    Buf whole(1024, 0);
    const BuildResult r = build_dhcp_frame(MutableBytes{whole.data(), whole.size()}, env, reply_fields(), spec);
    ASSERT_EQ(r.error, Error::ok);
    EXPECT_EQ(r.dhcp_offset, hs);

    Buf parts(1024, 0);
    const BuildResult msg =
        build_dhcp_message(MutableBytes{parts.data() + hs, parts.size() - hs}, reply_fields(), spec);
    ASSERT_EQ(msg.error, Error::ok);
    EXPECT_EQ(msg.dhcp_offset, 0u);
    EXPECT_EQ(msg.length, kBootpMinSize);
    EXPECT_EQ(wrap_udp_frame(MutableBytes{parts.data(), parts.size()}, env, msg.length), r.length);
    EXPECT_EQ(Buf(parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(r.length)),
              Buf(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(r.length)));
    EXPECT_EQ(wrap_udp_frame(MutableBytes{parts.data(), hs + msg.length - 1}, env, msg.length), 0u);
  }
}

// ---- option order -------------------------------------------------------------

TEST(BuildFrame, OrderFollowsParameterRequestList) {
  const Buf four = be32(1), name = s("example.org"), host = s("h"), vendor = s("v");
  const OptionValue opts[] = {
      {opt::lease_time, bytes(four), true}, {opt::vendor_specific, bytes(vendor), false},
      {opt::domain_name, bytes(name), false}, {opt::subnet_mask, bytes(four), true},
      {opt::hostname, bytes(host), false},  {opt::routers, bytes(four), false},
      {opt::dns_servers, bytes(four), false},
  };
  // 3 and 6 requested twice, 121 requested but not supplied, 53/54/82/PAD/END listed.
  const Buf prl = {6, 1, 121, 3, 6, 53, 54, 82, 0, 255, 15, 3};
  const Buf relay = {2, 1, 9};
  DhcpOptionsSpec spec;
  spec.server_id = kServerIp;
  spec.parameter_request_list = bytes(prl);
  spec.options = opts;
  spec.relay_agent_info = bytes(relay);
  Built b;
  build_and_parse(b, reply_envelope(), reply_fields(), spec);
  ASSERT_EQ(b.r.error, Error::ok);
  EXPECT_EQ(wire_codes(b), (Buf{53, 54, 6, 1, 3, 15, 51, 43, 12, 82, 255}));
  EXPECT_EQ(vec(b.m.codes()), (Buf{53, 54, 6, 1, 3, 15, 51, 43, 12, 82}));
  for (const std::uint8_t c : b.m.codes()) EXPECT_EQ(b.m.instances(c), 1) << int{c};
}

TEST(BuildFrame, ReservedCodesInOptionsAreIgnored) {
  const Buf one = {1}, four = be32(v4(1, 2, 3, 4)), lease = be32(60);
  const OptionValue opts[] = {
      {opt::message_type, bytes(one), true},  {opt::server_id, bytes(four), true},
      {opt::relay_agent_info, bytes(four), true}, {opt::overload, bytes(one), true},
      {opt::pad, bytes(four), true},          {opt::end, bytes(four), true},
      {opt::lease_time, bytes(lease), true},
  };
  DhcpOptionsSpec spec;
  spec.type = MessageType::nak;
  spec.options = opts;
  Built b;
  build_and_parse(b, reply_envelope(), reply_fields(), spec);
  ASSERT_EQ(b.r.error, Error::ok);
  EXPECT_EQ(wire_codes(b), (Buf{53, 51, 255}));
  EXPECT_EQ(b.m.message_type(), MessageType::nak);
  EXPECT_FALSE(b.m.server_id());
  EXPECT_EQ(b.m.overload, 0);
}

TEST(BuildFrame, SameCodeTwiceStaysTogether) {
  // Two entries with one code are emitted next to each other (so a parser
  // concatenates them per RFC 3396), also when 55 orders them.
  const Buf a = s("exam"), b2 = s("ple"), lease = be32(60);
  const OptionValue opts[] = {{opt::domain_name, bytes(a), false},
                              {opt::lease_time, bytes(lease), true},
                              {opt::domain_name, bytes(b2), false}};
  for (const bool requested : {false, true}) {
    SCOPED_TRACE(requested);
    const Buf prl = {15};
    DhcpOptionsSpec spec;
    spec.options = opts;
    if (requested) spec.parameter_request_list = bytes(prl);
    Built b;
    build_and_parse(b, reply_envelope(), reply_fields(), spec);
    ASSERT_EQ(b.r.error, Error::ok);
    EXPECT_EQ(b.m.domain_name(), "example");
    EXPECT_EQ(b.m.instances(15), 2);
    EXPECT_EQ(wire_codes(b), requested ? (Buf{53, 15, 15, 51, 255}) : (Buf{53, 15, 51, 15, 255}));
  }
}

// ---- size budget ---------------------------------------------------------------

TEST(BuildFrame, SmallMaxSizeDropsOptionalInOrder) {
  const Buf lease = be32(3600), big43(200, 0x43), big60(200, 0x60), dom(100, 'd'), host = s("hostname");
  const OptionValue opts[] = {
      {opt::lease_time, bytes(lease), true},     {opt::vendor_specific, bytes(big43), false},
      {opt::vendor_class_id, bytes(big60), false}, {opt::domain_name, bytes(dom), false},
      {opt::hostname, bytes(host), false},
  };
  DhcpOptionsSpec spec;
  spec.server_id = kServerIp;
  spec.options = opts;
  spec.max_message_size = 576;
  // Budget 548: fixed 240 + mandatory (53:3, 54:6, 51:6, END:1) = 256 leaves
  // 292: 43 (202) fits, 60 (202) and 15 (102) do not, 12 (10) does.
  Built b;
  build_and_parse(b, reply_envelope(), reply_fields(), spec);
  ASSERT_EQ(b.r.error, Error::ok);
  EXPECT_EQ(wire_codes(b), (Buf{53, 54, 51, 43, 12, 255}));
  EXPECT_EQ(content_length(b), 256u + 202 + 10);
  EXPECT_LE(b.f.udp.payload_length, 548u);
  EXPECT_LE(b.f.ip.total_length, 576u);

  // A client max below 576 means 576.
  spec.max_message_size = 300;
  Built small;
  build_and_parse(small, reply_envelope(), reply_fields(), spec);
  EXPECT_EQ(wire_codes(small), (Buf{53, 54, 51, 43, 12, 255}));

  // Enough room: everything, in order.
  spec.max_message_size = 1500;
  Built all;
  build_and_parse(all, reply_envelope(), reply_fields(), spec);
  ASSERT_EQ(all.r.error, Error::ok);
  EXPECT_EQ(wire_codes(all), (Buf{53, 54, 51, 43, 60, 15, 12, 255}));
  EXPECT_EQ(all.f.udp.payload_length, 256u + 202 + 202 + 102 + 10);
}

TEST(BuildFrame, ExactFitAtTheBudget) {
  // Mandatory 53 + END = 4 bytes after the 240 fixed ones. At max size 576
  // (budget 548) 304 bytes are left: a 300-byte value in two instances
  // (255 + 45, 4 bytes of headers) fills them exactly. At 786 (budget 758)
  // 514 are left: 510 bytes in exactly two full instances.
  struct Case {
    std::size_t length;
    std::uint16_t max_size;
    bool fits;
  };
  const Case cases[] = {{300, 576, true}, {301, 576, false}, {510, 786, true}, {511, 786, false}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.length);
    const Buf value(c.length, 0x77);
    const OptionValue opts[] = {{opt::vendor_specific, bytes(value), false}};
    DhcpOptionsSpec spec;
    spec.options = opts;
    spec.max_message_size = c.max_size;
    Built b;
    build_and_parse(b, reply_envelope(), reply_fields(), spec);
    ASSERT_EQ(b.r.error, Error::ok);
    if (c.fits) {
      EXPECT_EQ(b.f.udp.payload_length, c.max_size - 28u);
      EXPECT_EQ(b.m.option(43)->size(), c.length);
    } else {
      EXPECT_FALSE(b.m.has(43));
      EXPECT_EQ(b.f.udp.payload_length, kBootpMinSize);
    }
  }
}

TEST(BuildFrame, MandatoryNeverDropped) {
  // The optional 43 comes first and would take the room the mandatory 60
  // needs; mandatory options are reserved first, so 43 is the one skipped.
  const Buf opt_value(250, 0x43), must(250, 0x60);
  const OptionValue opts[] = {{opt::vendor_specific, bytes(opt_value), false},
                              {opt::vendor_class_id, bytes(must), true}};
  DhcpOptionsSpec spec;
  spec.server_id = kServerIp;
  spec.options = opts;
  spec.max_message_size = 576;
  Built b;
  build_and_parse(b, reply_envelope(), reply_fields(), spec);
  ASSERT_EQ(b.r.error, Error::ok);
  EXPECT_FALSE(b.m.has(43));
  ASSERT_TRUE(b.m.vendor_class_id());
  EXPECT_EQ(vec(*b.m.vendor_class_id()), must);
  EXPECT_EQ(wire_codes(b), (Buf{53, 54, 60, 255}));
}

TEST(BuildFrame, MandatoryTooLarge) {
  const Buf a(255, 1), c(255, 2);
  const OptionValue opts[] = {{opt::vendor_specific, bytes(a), true}, {opt::vendor_class_id, bytes(c), true}};
  DhcpOptionsSpec spec;
  spec.server_id = kServerIp;
  spec.options = opts;
  spec.max_message_size = 576;  // 240 + 3 + 6 + 257 + 257 + 1 = 764 > 548
  Buf out(4096);
  BuildResult r = build_dhcp_frame(MutableBytes{out.data(), out.size()}, reply_envelope(), reply_fields(), spec);
  EXPECT_EQ(r.error, Error::mandatory_too_large);
  EXPECT_EQ(r.length, 0u);
  EXPECT_EQ(build_dhcp_message(MutableBytes{out.data(), out.size()}, reply_fields(), spec).error,
            Error::mandatory_too_large);

  spec.max_message_size = 800;
  Built b;
  build_and_parse(b, reply_envelope(), reply_fields(), spec);
  ASSERT_EQ(b.r.error, Error::ok);
  EXPECT_EQ(b.m.option(43)->size(), 255u);
  EXPECT_EQ(b.m.option(60)->size(), 255u);
  EXPECT_LE(b.f.udp.payload_length, 800u - 28);
}

TEST(BuildFrame, RelayEchoCountsAsMandatory) {
  // 82 must reach the relay: an optional option gives way to it.
  Buf relay = {1, 250};
  relay.resize(252, 'c');
  const Buf filler(100, 0x11);
  const OptionValue opts[] = {{opt::vendor_specific, bytes(filler), false}};
  DhcpOptionsSpec spec;
  spec.server_id = kServerIp;
  spec.options = opts;
  spec.relay_agent_info = bytes(relay);
  Built b;
  build_and_parse(b, reply_envelope(), reply_fields(), spec);
  ASSERT_EQ(b.r.error, Error::ok);
  EXPECT_EQ(vec(b.m.relay_agent_info()->raw), relay);
  EXPECT_FALSE(b.m.has(43));  // 240 + 3 + 6 + 254 + 1 = 504; 102 more would be 606
  EXPECT_EQ(wire_codes(b), (Buf{53, 54, 82, 255}));
}

// ---- padding and splitting ------------------------------------------------------

TEST(BuildFrame, PaddedTo300WithZeros) {
  DhcpOptionsSpec spec;
  spec.type = MessageType::ack;
  Built b;
  build_and_parse(b, reply_envelope(), reply_fields(), spec);
  ASSERT_EQ(b.r.error, Error::ok);
  const Bytes msg = b.f.udp_payload(bytes(b.frame));
  ASSERT_EQ(msg.size(), kBootpMinSize);
  EXPECT_EQ(vec(msg.subspan(kOptionsAt, 4)), (Buf{53, 1, 5, 255}));
  for (std::size_t i = kOptionsAt + 4; i < msg.size(); ++i) ASSERT_EQ(msg[i], 0) << i;
  EXPECT_EQ(vec(msg.subspan(kBootpFixedSize, 4)), (Buf{0x63, 0x82, 0x53, 0x63}));

  // Above 300 bytes there is no padding: the message ends with END.
  const Buf big(100, 0x42);
  const OptionValue opts[] = {{opt::vendor_specific, bytes(big), false}};
  spec.options = opts;
  Built longer;
  build_and_parse(longer, reply_envelope(), reply_fields(), spec);
  ASSERT_EQ(longer.r.error, Error::ok);
  const Bytes lmsg = longer.f.udp_payload(bytes(longer.frame));
  EXPECT_EQ(lmsg.size(), kOptionsAt + 3 + 102 + 1);
  EXPECT_EQ(lmsg.back(), opt::end);
}

TEST(BuildFrame, LongValuesSplitPerRfc3396) {
  struct Case {
    std::size_t length;
    Buf lengths;  // expected instance lengths
  };
  const Case cases[] = {
      {0, {0}},         {1, {1}},           {255, {255}},           {256, {255, 1}},
      {510, {255, 255}}, {511, {255, 255, 1}}, {630, {255, 255, 120}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.length);
    Buf value(c.length);
    for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<std::uint8_t>(i * 7 + 1);
    const OptionValue opts[] = {{200, bytes(value), true}};
    DhcpOptionsSpec spec;
    spec.options = opts;
    spec.max_message_size = 1500;
    Built b;
    build_and_parse(b, reply_envelope(), reply_fields(), spec);
    ASSERT_EQ(b.r.error, Error::ok);
    EXPECT_EQ(vec(*b.m.option(200)), value);
    EXPECT_EQ(b.m.instances(200), c.lengths.size());
    // Raw layout: consecutive instances of 200 right after 53.
    const Bytes msg = b.f.udp_payload(bytes(b.frame));
    std::size_t at = kOptionsAt + 3;
    for (const std::uint8_t len : c.lengths) {
      ASSERT_EQ(msg[at], 200);
      ASSERT_EQ(msg[at + 1], len);
      at += 2 + len;
    }
    EXPECT_EQ(msg[at], opt::end);
  }
}

TEST(BuildFrame, SplitClasslessRoutesReparse) {
  // 70 host routes: 630 bytes of option 121, re-concatenated and validated.
  Buf routes;
  for (std::uint8_t i = 0; i < 70; ++i) {
    const Buf r = {32, 10, 1, i, 1, 10, 0, 0, static_cast<std::uint8_t>(i + 1)};
    routes.insert(routes.end(), r.begin(), r.end());
  }
  const OptionValue opts[] = {{opt::classless_static_route, bytes(routes), false}};
  DhcpOptionsSpec spec;
  spec.options = opts;
  spec.max_message_size = 1500;
  Built b;
  build_and_parse(b, reply_envelope(), reply_fields(), spec);
  ASSERT_EQ(b.r.error, Error::ok);
  EXPECT_EQ(b.m.instances(121), 3);
  std::size_t n = 0;
  b.m.classless_routes()->for_each([&](const ClasslessRoute& r) {
    EXPECT_EQ(r.prefix_length, 32);
    EXPECT_EQ(r.destination, v4(10, 1, static_cast<std::uint8_t>(n), 1));
    EXPECT_EQ(r.router, v4(10, 0, 0, static_cast<std::uint8_t>(n + 1)));
    ++n;
  });
  EXPECT_EQ(n, 70u);
}

// ---- checksums and L2 --------------------------------------------------------------

TEST(BuildFrame, ChecksumsMatchReference) {
  const Buf lease = be32(86400);
  const OptionValue opts[] = {{opt::lease_time, bytes(lease), true}};
  DhcpOptionsSpec spec;
  spec.server_id = kServerIp;
  spec.options = opts;
  for (const bool with_sum : {true, false}) {
    SCOPED_TRACE(with_sum);
    Envelope env = reply_envelope();
    env.udp_checksum = with_sum;
    Built b;
    build_and_parse(b, env, reply_fields(), spec);
    ASSERT_EQ(b.r.error, Error::ok);
    const Buf& f = b.frame;
    EXPECT_EQ(ref_fold(ref_add(0, f.data() + 14, 20)), 0);
    const std::uint16_t field = get16(f, 14 + 20 + 6);
    if (!with_sum) {
      EXPECT_EQ(field, 0);
      continue;
    }
    ASSERT_NE(field, 0);
    const std::size_t udp_len = f.size() - 34;
    const std::uint32_t pseudo = (kServerIp >> 16) + (kServerIp & 0xffff) + (env.ip_dst >> 16) +
                                 (env.ip_dst & 0xffff) + kIpProtoUdp + static_cast<std::uint32_t>(udp_len);
    EXPECT_EQ(ref_fold(ref_add(pseudo, f.data() + 34, udp_len)), 0);
    // Any flipped payload bit is caught.
    Buf bad = f;
    bad[100] ^= 0x10;
    EXPECT_EQ(parse_frame(bytes(bad)).error, Error::udp_bad_checksum);
  }
}

TEST(BuildFrame, VlanTagsPreserved) {
  const std::vector<std::vector<VlanTag>> stacks = {
      {{kEtherTypeVlan, 0xa064}},
      {{kEtherTypeQinQ, 0x0fff}, {kEtherTypeVlan, 0x2001}},
      {{kEtherTypeQinQOld, 0x0010}, {kEtherTypeVlan, 0x0020}},
  };
  DhcpOptionsSpec spec;
  for (const auto& tags : stacks) {
    SCOPED_TRACE(tags.size());
    Envelope env = reply_envelope();
    env.vlan_count = static_cast<std::uint8_t>(tags.size());
    std::copy(tags.begin(), tags.end(), env.vlans.begin());
    Built b;
    build_and_parse(b, env, reply_fields(), spec);
    ASSERT_EQ(b.r.error, Error::ok);
    EXPECT_EQ(b.f.eth.vlan_count, tags.size());
    for (std::size_t i = 0; i < tags.size(); ++i) EXPECT_EQ(b.f.eth.vlans[i], tags[i]) << i;
    // Outermost first, right after the MACs.
    EXPECT_EQ(get16(b.frame, 12), tags[0].tpid);
    EXPECT_EQ(get16(b.frame, 14), tags[0].tci);
    EXPECT_EQ(b.f.eth.l3_offset, 14 + 4 * tags.size());
    EXPECT_EQ(b.r.dhcp_offset, 42 + 4 * tags.size());
    EXPECT_EQ(b.f.udp.payload_offset, b.r.dhcp_offset);
    EXPECT_EQ(b.m.message_type(), MessageType::offer);
  }
  Envelope three = reply_envelope();
  three.vlan_count = 3;
  Buf out(1024);
  EXPECT_EQ(build_dhcp_frame(MutableBytes{out.data(), out.size()}, three, reply_fields(), spec).error,
            Error::vlan_too_many);
  EXPECT_EQ(wrap_udp_frame(MutableBytes{out.data(), out.size()}, three, 300), 0u);
}

// ---- output buffer ------------------------------------------------------------------

TEST(BuildFrame, BufferTooSmallAtEverySize) {
  const Buf big(150, 0x42), lease = be32(60);
  const OptionValue opts[] = {{opt::lease_time, bytes(lease), true}, {opt::vendor_specific, bytes(big), false}};
  DhcpOptionsSpec spec;
  spec.options = opts;
  Envelope env = reply_envelope();
  env.vlan_count = 1;
  env.vlans[0] = {kEtherTypeVlan, 5};
  Built full;
  build_and_parse(full, env, reply_fields(), spec);
  ASSERT_EQ(full.r.error, Error::ok);
  const std::size_t need = full.r.length;
  EXPECT_EQ(need, 46u + kOptionsAt + 3 + 6 + 152 + 1);
  for (std::size_t cap = 0; cap < need; ++cap) {
    Built b;
    build_and_parse(b, env, reply_fields(), spec, cap);
    ASSERT_EQ(b.r.error, Error::buffer_too_small) << cap;
  }
  Built exact;
  build_and_parse(exact, env, reply_fields(), spec, need);
  ASSERT_EQ(exact.r.error, Error::ok);
  EXPECT_EQ(exact.frame, full.frame);

  Buf msg(kBootpMinSize - 1);
  DhcpOptionsSpec tiny;
  EXPECT_EQ(build_dhcp_message(MutableBytes{msg.data(), msg.size()}, reply_fields(), tiny).error,
            Error::buffer_too_small);
}

// ---- property: random specs -------------------------------------------------------

TEST(BuildFrame, RandomSpecsRespectTheContract) {
  std::mt19937 rng(20240611);
  const auto pick = [&](std::size_t lo, std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
  };
  std::vector<Buf> values(24);
  std::vector<OptionValue> opts;
  for (int iter = 0; iter < 2000; ++iter) {
    opts.clear();
    std::set<std::uint8_t> used;
    const std::size_t count = pick(0, values.size());
    for (std::size_t i = 0; i < count; ++i) {
      std::uint8_t code;
      do code = static_cast<std::uint8_t>(pick(60, 250)); while (!used.insert(code).second || code == 82 ||
                                                                 code == 81 || code == 118 || code == 121 ||
                                                                 code == 61);
      values[i].assign(pick(0, 5) == 0 ? pick(0, 600) : pick(1, 40), static_cast<std::uint8_t>(code));
      if (code == 60 && values[i].empty()) values[i].push_back('x');
      opts.push_back({code, bytes(values[i]), pick(0, 3) == 0});
    }
    Buf prl;
    for (std::size_t i = pick(0, 12); i > 0; --i) prl.push_back(static_cast<std::uint8_t>(pick(0, 255)));
    Buf relay;
    if (pick(0, 2) == 0) relay = {1, 2, 'a', 'b'};
    DhcpOptionsSpec spec;
    spec.type = MessageType::ack;
    spec.server_id = pick(0, 1) ? kServerIp : 0;
    spec.parameter_request_list = bytes(prl);
    spec.options = opts;
    spec.relay_agent_info = bytes(relay);
    spec.max_message_size = static_cast<std::uint16_t>(pick(0, 1) ? pick(0, 1500) : 576);
    const std::size_t budget = std::max<std::size_t>(spec.max_message_size, 576) - 28;

    std::size_t mandatory = kOptionsAt + 3 + 1 + (spec.server_id ? 6 : 0);
    const auto cost = [](std::size_t n) { return n == 0 ? 2 : n + 2 * ((n + 254) / 255); };
    if (!relay.empty()) mandatory += cost(relay.size());
    for (const OptionValue& o : opts)
      if (o.mandatory) mandatory += cost(o.value.size());

    Built b;
    build_and_parse(b, reply_envelope(), reply_fields(), spec, 4096);
    if (HasFatalFailure()) return;
    SCOPED_TRACE(iter);
    if (mandatory > budget) {
      ASSERT_EQ(b.r.error, Error::mandatory_too_large);
      continue;
    }
    ASSERT_EQ(b.r.error, Error::ok);
    ASSERT_LE(b.f.udp.payload_length, std::max(budget, kBootpMinSize));
    ASSERT_GE(b.f.udp.payload_length, kBootpMinSize);
    for (const OptionValue& o : opts) {
      if (o.mandatory) {
        ASSERT_TRUE(b.m.has(o.code)) << int{o.code};
      }
      if (b.m.has(o.code)) {
        ASSERT_EQ(vec(*b.m.option(o.code)), vec(o.value)) << int{o.code};
      }
    }
    // Each code once in codes(), 53 first, requested ones before unrequested.
    const Buf codes = vec(b.m.codes());
    ASSERT_EQ(std::set<std::uint8_t>(codes.begin(), codes.end()).size(), codes.size());
    ASSERT_EQ(codes.front(), 53);
    if (!relay.empty()) {
      ASSERT_EQ(codes.back(), 82);
    }
    const std::set<std::uint8_t> requested(prl.begin(), prl.end());
    bool seen_unrequested = false;
    for (const std::uint8_t c : codes) {
      if (c == 53 || c == 54 || c == 82) continue;
      if (!requested.count(c)) {
        seen_unrequested = true;
      } else {
        ASSERT_FALSE(seen_unrequested) << "requested " << int{c} << " after an unrequested one";
      }
    }
  }
}

// ---- a reply to a real client ------------------------------------------------------

// The first frame of a classic little-endian pcap.
Buf first_frame(const char* name) {
  std::ifstream in(std::filesystem::path(DORADO_CORPUS_DIR) / name, std::ios::binary);
  const Buf data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < 40) return {};
  const std::size_t caplen = data[32] | data[33] << 8 | data[34] << 16;
  if (data.size() < 40 + caplen) return {};
  return Buf(data.begin() + 40, data.begin() + 40 + static_cast<std::ptrdiff_t>(caplen));
}

TEST(BuildFrame, OfferToCorpusRequestFollowsItsPrl) {
  // dhcp-mud.pcap frame 1: a relayed REQUEST with a 16-code PRL, 57 = 1472.
  const Buf req = first_frame("dhcp-mud.pcap");
  const Frame rf = parse_frame(bytes(req));
  ASSERT_EQ(rf.error, Error::ok);
  DhcpMessage rm;
  ASSERT_EQ(rm.parse(rf.udp_payload(bytes(req))), Error::ok);
  ASSERT_EQ(rm.parameter_request_list().size(), 16u);

  const Buf mask = ip(v4(255, 255, 255, 248)), router = ip(v4(62, 12, 173, 121)),
            lease = be32(600), t1 = be32(300), t2 = be32(525), dom = s("ofcourseimright.com"),
            tz = s("Europe/Berlin"), ntp = ip(v4(62, 12, 173, 114));
  const OptionValue opts[] = {
      {opt::lease_time, bytes(lease), true}, {opt::renewal_time, bytes(t1), true},
      {opt::rebinding_time, bytes(t2), true}, {101, bytes(tz), false},
      {opt::ntp_servers, bytes(ntp), false}, {opt::domain_name, bytes(dom), false},
      {opt::routers, bytes(router), false},  {opt::subnet_mask, bytes(mask), true},
  };
  DhcpOptionsSpec spec;
  spec.type = MessageType::ack;
  spec.server_id = v4(62, 12, 173, 114);
  spec.parameter_request_list = rm.parameter_request_list();
  spec.options = opts;
  spec.max_message_size = *rm.max_message_size();
  BootpFields bootp = reply_fields();
  bootp.xid = rm.xid;
  bootp.giaddr = rm.giaddr;
  std::copy(rm.chaddr_field.begin(), rm.chaddr_field.end(), bootp.chaddr.begin());
  Envelope env = reply_envelope();
  env.src_port = env.dst_port = kPortBootps;  // to the relay
  Built b;
  build_and_parse(b, env, bootp, spec);
  ASSERT_EQ(b.r.error, Error::ok);
  // PRL: 1 121 33 3 6 12 15 28 42 51 54 58 59 100 101 119.
  EXPECT_EQ(wire_codes(b), (Buf{53, 54, 1, 3, 15, 42, 51, 58, 59, 101, 255}));
  EXPECT_EQ(b.m.xid, 0x068c4847u);
  EXPECT_EQ(b.m.giaddr, v4(62, 12, 173, 121));
  EXPECT_EQ(b.m.chaddr_mac(), (MacAddr{{0xb8, 0x27, 0xeb, 0xb8, 0x53, 0xc8}}));
  EXPECT_EQ(vec(*b.m.option(101)), tz);
}

// build_dhcp_frame_encoded: the same frame as build_dhcp_frame from the same
// options already encoded, patches written big-endian where they point;
// nothing is ever dropped: a message over the budget fails with
// mandatory_too_large (the caller then builds it the generic way).
TEST(BuildFrameEncoded, MatchesTheGenericBuildAndFailsRatherThanDrop) {
  const Buf dns = be32(0x08080808);
  const Buf lease = be32(3600);
  const OptionValue opts[] = {{opt::lease_time, bytes(lease), true}, {opt::dns_servers, bytes(dns), false}};
  const Buf client_id{0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  const Buf relay{1, 3, 'a', 'b', 'c'};
  DhcpOptionsSpec spec;
  spec.type = MessageType::ack;
  spec.server_id = kServerIp;
  spec.options = opts;
  spec.relay_agent_info = bytes(relay);
  Buf generic(1600);
  const OptionValue with_id[] = {opts[0], opts[1], {opt::client_id, bytes(client_id), false}};
  spec.options = with_id;
  const BuildResult g = build_dhcp_frame(MutableBytes{generic.data(), generic.size()}, reply_envelope(),
                                         reply_fields(), spec);
  ASSERT_EQ(g.error, Error::ok);
  generic.resize(g.length);

  // 51 with a placeholder, patched to 3600; then 6.
  const Buf block{opt::lease_time, 4, 0, 0, 0, 0, opt::dns_servers, 4, 8, 8, 8, 8};
  const Patch32 patches[] = {{2, 3600}};
  EncodedOptionsSpec enc;
  enc.type = MessageType::ack;
  enc.server_id = kServerIp;
  enc.encoded = bytes(block);
  enc.patches = patches;
  enc.client_id = bytes(client_id);
  enc.relay_agent_info = bytes(relay);
  Buf out(1600);
  const BuildResult e = build_dhcp_frame_encoded(MutableBytes{out.data(), out.size()}, reply_envelope(),
                                                 reply_fields(), enc);
  ASSERT_EQ(e.error, Error::ok);
  EXPECT_EQ(e.dhcp_offset, g.dhcp_offset);
  out.resize(e.length);
  EXPECT_EQ(out, generic);

  // Too small a buffer: refused, not truncated.
  Buf small(e.length - 1);
  EXPECT_EQ(build_dhcp_frame_encoded(MutableBytes{small.data(), small.size()}, reply_envelope(),
                                     reply_fields(), enc).error,
            Error::buffer_too_small);
  // 240 + 3 + 6 + 300 + 1 = 550 > 548 (576 - 28): over the budget, nothing dropped.
  const Buf big(300, 0);
  enc.encoded = bytes(big);
  enc.patches = {};
  enc.client_id = {};
  enc.relay_agent_info = {};
  Buf room(1600);
  EXPECT_EQ(build_dhcp_frame_encoded(MutableBytes{room.data(), room.size()}, reply_envelope(), reply_fields(), enc)
                .error,
            Error::mandatory_too_large);
  enc.max_message_size = 1500;
  EXPECT_EQ(build_dhcp_frame_encoded(MutableBytes{room.data(), room.size()}, reply_envelope(), reply_fields(), enc)
                .error,
            Error::ok);
}

// With TX checksum offload the frame carries what the NIC needs (IPv4
// checksum 0, the pseudo-header sum in the UDP field); completing it as the
// NIC does gives exactly the frame built with software checksums. For 0, 1
// and 2 VLAN tags, the generic and the encoded builder.
TEST(BuildFrame, ChecksumOffloadLeavesWhatTheNicCompletes) {
  const Buf dns = be32(0x08080808);
  const OptionValue opts[] = {{opt::dns_servers, bytes(dns), false}};
  DhcpOptionsSpec spec;
  spec.type = MessageType::offer;
  spec.server_id = kServerIp;
  spec.options = opts;
  const Buf block{opt::lease_time, 4, 0, 0, 0x0e, 0x10, opt::dns_servers, 4, 8, 8, 8, 8};
  EncodedOptionsSpec enc;
  enc.type = MessageType::ack;
  enc.server_id = kServerIp;
  enc.encoded = bytes(block);
  const Buf relay{1, 3, 'a', 'b', 'c'};
  enc.relay_agent_info = bytes(relay);
  for (std::uint8_t vlans = 0; vlans <= 2; ++vlans) {
    for (const bool encoded : {false, true}) {
      SCOPED_TRACE(::testing::Message() << int{vlans} << " VLAN tags, encoded " << encoded);
      Envelope env = reply_envelope();
      env.vlan_count = vlans;
      env.vlans = {VlanTag{0x88a8, 100}, VlanTag{0x8100, 200}};
      auto build = [&](Buf& out) {
        out.assign(1600, 0xee);
        const BuildResult r =
            encoded ? build_dhcp_frame_encoded(MutableBytes{out.data(), out.size()}, env, reply_fields(), enc)
                    : build_dhcp_frame(MutableBytes{out.data(), out.size()}, env, reply_fields(), spec);
        EXPECT_EQ(r.error, Error::ok);
        out.resize(r.length);
        return r;
      };
      Buf software, offloaded;
      build(software);
      env.checksum_offload = true;
      const BuildResult r = build(offloaded);
      const std::size_t l2 = r.dhcp_offset - 28;
      EXPECT_EQ(l2, 14u + 4u * vlans);
      EXPECT_EQ(get16(offloaded, l2 + 10), 0) << "IPv4 checksum left to the NIC";
      const std::size_t udp_len = offloaded.size() - l2 - 20;
      EXPECT_EQ(get16(offloaded, l2 + 26), static_cast<std::uint16_t>(~ref_fold(ref_add(
                                              17 + static_cast<std::uint32_t>(udp_len),
                                              offloaded.data() + l2 + 12, 8))))
          << "the UDP field holds the pseudo-header sum";
      EXPECT_NE(offloaded, software);
      ASSERT_TRUE(complete_offloaded_checksums(MutableBytes{offloaded.data(), offloaded.size()}, l2));
      EXPECT_EQ(offloaded, software);
    }
  }
  Buf arp(60, 0);
  EXPECT_FALSE(complete_offloaded_checksums(MutableBytes{arp.data(), arp.size()}, 14));
}

}  // namespace
}  // namespace dorado::wire
