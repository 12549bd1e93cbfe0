// Unit tests for the wire parser (parse_frame, parse_dhcp), the error table
// and the names. Packets are crafted here byte by byte, with a reference
// checksum written independently of frame.cpp, so these tests do not trust
// the code under test to build their inputs.
#include <gtest/gtest.h>

#include "checksum_reference.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "wire/bytes.hpp"
#include "wire/dhcp.hpp"
#include "wire/errors.hpp"
#include "wire/frame.hpp"
#include "wire/text.hpp"

namespace dorado::wire {
namespace {

using Buf = std::vector<std::uint8_t>;

// ---- crafting helpers --------------------------------------------------------

Bytes bytes(const Buf& b) { return Bytes{b.data(), b.size()}; }
Buf vec(Bytes b) { return Buf(b.begin(), b.end()); }
Buf s(std::string_view text) { return Buf(text.begin(), text.end()); }
Buf cat(std::initializer_list<Buf> parts) {
  Buf out;
  for (const Buf& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
// One option instance: code, length, value.
Buf o(std::uint8_t code, const Buf& value) {
  Buf out(2 + value.size());
  out[0] = code;
  out[1] = static_cast<std::uint8_t>(value.size());
  std::copy(value.begin(), value.end(), out.begin() + 2);
  return out;
}
Buf ip(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) { return Buf{a, b, c, d}; }
constexpr Ipv4 v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return (Ipv4{a} << 24) | (Ipv4{b} << 16) | (Ipv4{c} << 8) | d;
}
void put16(Buf& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
void push16(Buf& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void push32(Buf& b, std::uint32_t v) {
  push16(b, static_cast<std::uint16_t>(v >> 16));
  push16(b, static_cast<std::uint16_t>(v));
}
using test::get16;
using test::ref_add;
using test::ref_fold;


constexpr MacAddr kClientMac{{0x00, 0x0c, 0x29, 0x1f, 0x74, 0x06}};

struct L2 {
  MacAddr dst = MacAddr::broadcast();
  MacAddr src = kClientMac;
  std::vector<VlanTag> vlans;
};
struct L3 {
  std::uint8_t tos = 0x10;
  std::uint8_t ttl = 128;
  std::uint16_t id = 0x04d2;
  std::uint16_t frag = 0;
  std::uint8_t proto = kIpProtoUdp;
  Ipv4 src = 0;
  Ipv4 dst = 0xffffffff;
  Buf options;  // a multiple of 4 bytes
};
enum class UdpSum { zero, good };
struct L4 {
  std::uint16_t sport = kPortBootpc;
  std::uint16_t dport = kPortBootps;
  UdpSum sum = UdpSum::good;
};

Buf eth_header(const L2& l2, std::uint16_t ethertype) {
  Buf f(l2.dst.b.begin(), l2.dst.b.end());
  f.insert(f.end(), l2.src.b.begin(), l2.src.b.end());
  for (const VlanTag& t : l2.vlans) {
    push16(f, t.tpid);
    push16(f, t.tci);
  }
  push16(f, ethertype);
  return f;
}

// Recomputes the IPv4 header checksum of the header at `l3` after a mutation.
void fix_ip_checksum(Buf& f, std::size_t l3) {
  const std::size_t ihl = static_cast<std::size_t>(f[l3] & 0x0f) * 4;
  put16(f, l3 + 10, 0);
  put16(f, l3 + 10, ref_fold(ref_add(0, f.data() + l3, ihl)));
}

Buf ip_frame(const L2& l2, const L3& l3, const Buf& l4) {
  Buf f = eth_header(l2, kEtherTypeIpv4);
  const std::size_t at = f.size();
  const std::size_t ihl = 20 + l3.options.size();
  f.push_back(static_cast<std::uint8_t>(0x40 | (ihl / 4)));
  f.push_back(l3.tos);
  push16(f, static_cast<std::uint16_t>(ihl + l4.size()));
  push16(f, l3.id);
  push16(f, l3.frag);
  f.push_back(l3.ttl);
  f.push_back(l3.proto);
  push16(f, 0);
  push32(f, l3.src);
  push32(f, l3.dst);
  f.insert(f.end(), l3.options.begin(), l3.options.end());
  fix_ip_checksum(f, at);
  f.insert(f.end(), l4.begin(), l4.end());
  return f;
}

Buf udp_segment(const L3& l3, const L4& l4, const Buf& payload) {
  Buf u;
  push16(u, l4.sport);
  push16(u, l4.dport);
  push16(u, static_cast<std::uint16_t>(8 + payload.size()));
  push16(u, 0);
  u.insert(u.end(), payload.begin(), payload.end());
  if (l4.sum == UdpSum::good) {
    std::uint32_t acc = (l3.src >> 16) + (l3.src & 0xffff) + (l3.dst >> 16) + (l3.dst & 0xffff) +
                        kIpProtoUdp + static_cast<std::uint32_t>(u.size());
    std::uint16_t c = ref_fold(ref_add(acc, u.data(), u.size()));
    put16(u, 6, c == 0 ? 0xffff : c);
  }
  return u;
}

Buf udp_frame(const Buf& payload, const L2& l2 = {}, const L3& l3 = {}, const L4& l4 = {}) {
  return ip_frame(l2, l3, udp_segment(l3, l4, payload));
}

// BOOTP fixed-header offsets (RFC 2131 figure 1), the whole header (not all used).
[[maybe_unused]] constexpr std::size_t kOp = 0, kHtype = 1, kHlen = 2, kHops = 3, kXid = 4, kSecs = 8,
                      kFlags = 10, kCiaddr = 12, kYiaddr = 16, kSiaddr = 20, kGiaddr = 24,
                      kChaddr = 28, kSname = 44, kFile = 108, kCookie = 236, kOptions = 240;

// A client request: fixed header, cookie, then `options` verbatim.
Buf dhcp_payload(const Buf& options) {
  Buf p(kOptions + options.size(), 0);
  p[kOp] = 1;
  p[kHtype] = 1;
  p[kHlen] = 6;
  p[kHops] = 0;
  const std::uint8_t xid[] = {0x06, 0xe3, 0x28, 0x64};
  std::copy(std::begin(xid), std::end(xid), p.begin() + kXid);
  std::copy(kClientMac.b.begin(), kClientMac.b.end(), p.begin() + kChaddr);
  p[kCookie] = 0x63;
  p[kCookie + 1] = 0x82;
  p[kCookie + 2] = 0x53;
  p[kCookie + 3] = 0x63;
  std::copy(options.begin(), options.end(), p.begin() + kOptions);
  return p;
}

const Buf kDiscoverOptions = cat({o(53, {1}), o(50, ip(192, 168, 1, 4)),
                                  o(55, {1, 28, 2, 3, 15, 6, 12}), o(12, s("client")), {255}});

Buf discover_frame(const L2& l2 = {}, const L3& l3 = {}) {
  return udp_frame(dhcp_payload(kDiscoverOptions), l2, l3);
}

// Parses a payload that stays alive until the program ends: a DhcpMessage
// refers to the bytes it was parsed from.
DhcpMessage parse_kept(Buf payload) {
  static std::deque<Buf> kept;
  kept.push_back(std::move(payload));
  return parse_dhcp(bytes(kept.back()));
}

// Runs the whole receive-side pipeline; the first error wins.
Error parse_all(const Buf& frame) {
  const Frame f = parse_frame(bytes(frame));
  if (f.error != Error::ok || f.kind != FrameKind::ipv4_udp) return f.error;
  return parse_dhcp(f.udp_payload(bytes(frame))).error;
}

// ---- the error table and formatting -------------------------------------------

TEST(WireErrors, NamesAndTextsComeFromTheTable) {
  EXPECT_EQ(error_name(Error::ok), "ok");
  EXPECT_EQ(error_name(Error::ipv4_bad_checksum), "ipv4_bad_checksum");
  EXPECT_EQ(error_text(Error::ipv4_bad_checksum), "IPv4 header checksum mismatch");
  EXPECT_EQ(error_name(Error::mandatory_too_large), "mandatory_too_large");
  EXPECT_EQ(error_text(Error::eth_truncated), "Ethernet header shorter than 14 bytes");
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kErrorCount; ++i) {
    const auto e = static_cast<Error>(i);
    EXPECT_FALSE(error_name(e).empty());
    EXPECT_FALSE(error_text(e).empty());
    EXPECT_EQ(error_name(e).find(' '), std::string_view::npos) << error_name(e);
    names.insert(error_name(e));
  }
  EXPECT_EQ(names.size(), kErrorCount);
  // A corrupt value must not index past the table.
  EXPECT_FALSE(error_name(static_cast<Error>(200)).empty());
  EXPECT_FALSE(error_text(static_cast<Error>(kErrorCount)).empty());
}

TEST(WireNames, MessageTypes) {
  EXPECT_EQ(message_type_name(1), "DISCOVER");
  EXPECT_EQ(message_type_name(2), "OFFER");
  EXPECT_EQ(message_type_name(3), "REQUEST");
  EXPECT_EQ(message_type_name(4), "DECLINE");
  EXPECT_EQ(message_type_name(5), "ACK");
  EXPECT_EQ(message_type_name(6), "NAK");
  EXPECT_EQ(message_type_name(7), "RELEASE");
  EXPECT_EQ(message_type_name(8), "INFORM");
  EXPECT_EQ(message_type_name(9), "FORCERENEW");
  EXPECT_EQ(message_type_name(10), "LEASEQUERY");
  EXPECT_EQ(message_type_name(13), "LEASEACTIVE");
  EXPECT_EQ(message_type_name(18), "TLS");
  EXPECT_EQ(message_type_name(0), "UNKNOWN");
  EXPECT_EQ(message_type_name(19), "UNKNOWN");
  EXPECT_EQ(message_type_name(255), "UNKNOWN");
}

TEST(WireNames, Options) {
  EXPECT_EQ(option_name(0), "Pad");
  EXPECT_EQ(option_name(1), "Subnet-Mask");
  EXPECT_EQ(option_name(3), "Router");
  EXPECT_EQ(option_name(6), "Domain-Name-Server");
  EXPECT_EQ(option_name(12), "Host-Name");
  EXPECT_EQ(option_name(15), "Domain-Name");
  EXPECT_EQ(option_name(28), "Broadcast-Address");
  EXPECT_EQ(option_name(50), "Requested-IP-Address");
  EXPECT_EQ(option_name(51), "IP-Address-Lease-Time");
  EXPECT_EQ(option_name(52), "Option-Overload");
  EXPECT_EQ(option_name(53), "DHCP-Message-Type");
  EXPECT_EQ(option_name(54), "Server-Identifier");
  EXPECT_EQ(option_name(55), "Parameter-Request-List");
  EXPECT_EQ(option_name(57), "Maximum-DHCP-Message-Size");
  EXPECT_EQ(option_name(58), "Renewal-Time");
  EXPECT_EQ(option_name(59), "Rebinding-Time");
  EXPECT_EQ(option_name(60), "Vendor-Class-Identifier");
  EXPECT_EQ(option_name(61), "Client-Identifier");
  EXPECT_EQ(option_name(77), "User-Class");
  EXPECT_EQ(option_name(81), "Client-FQDN");
  EXPECT_EQ(option_name(82), "Relay-Agent-Information");
  EXPECT_EQ(option_name(108), "IPv6-Only-Preferred");
  EXPECT_EQ(option_name(118), "Subnet-Selection");
  EXPECT_EQ(option_name(119), "Domain-Search");
  EXPECT_EQ(option_name(121), "Classless-Static-Route");
  EXPECT_EQ(option_name(150), "TFTP-Server-Address");
  EXPECT_EQ(option_name(161), "MUD-URL");
  EXPECT_EQ(option_name(255), "End");
  EXPECT_EQ(option_name(84), "Unknown");
  EXPECT_EQ(option_name(102), "Unknown");
  EXPECT_EQ(option_name(200), "Unknown");
  // Every code has a non-empty name, and named ones are distinct.
  std::set<std::string_view> seen;
  for (unsigned c = 0; c < 256; ++c) {
    const std::string_view n = option_name(static_cast<std::uint8_t>(c));
    ASSERT_FALSE(n.empty()) << c;
    if (n != "Unknown" && n != "Private-Use") {
      EXPECT_TRUE(seen.insert(n).second) << n;
    }
  }
}

// ---- every parse error from errors.def, by crafted packet -----------------------

struct ErrorCase {
  const char* name;
  Error expected;
  Buf (*make)();
};

Buf truncated_vlan() {
  Buf f = eth_header({}, kEtherTypeVlan);  // the TPID; the TCI and inner type are missing
  f.push_back(0x00);
  f.push_back(0x64);
  return f;
}
Buf three_vlans() {
  L2 l2;
  l2.vlans = {{kEtherTypeQinQ, 10}, {kEtherTypeVlan, 20}, {kEtherTypeVlan, 30}};
  return discover_frame(l2);
}
Buf arp_packet(std::uint8_t hlen) {
  Buf f = eth_header({}, kEtherTypeArp);
  push16(f, 1);               // htype Ethernet
  push16(f, kEtherTypeIpv4);  // ptype
  f.push_back(hlen);
  f.push_back(4);
  push16(f, 1);  // request
  f.insert(f.end(), kClientMac.b.begin(), kClientMac.b.end());
  push32(f, v4(10, 40, 2, 3));
  f.insert(f.end(), 6, 0);
  push32(f, v4(10, 40, 1, 1));
  return f;
}
Buf frame_with_ip_byte(std::size_t at, std::uint8_t value, bool fix_sum) {
  Buf f = discover_frame();
  f[14 + at] = value;
  if (fix_sum) fix_ip_checksum(f, 14);
  return f;
}
Buf bad_total_length() {
  Buf f = discover_frame();
  put16(f, 16, static_cast<std::uint16_t>(get16(f, 16) + 1));
  fix_ip_checksum(f, 14);
  return f;
}
Buf bad_ip_checksum() {
  Buf f = discover_frame();
  f[14 + 10] ^= 0x01;
  return f;
}
Buf fragment() {
  L3 l3;
  l3.frag = 0x2000;  // MF
  return discover_frame({}, l3);
}
Buf short_udp() { return ip_frame({}, {}, Buf{0, 68, 0, 67}); }
Buf udp_length_seven() {
  Buf f = udp_frame(dhcp_payload(kDiscoverOptions), {}, {}, {kPortBootpc, kPortBootps, UdpSum::zero});
  put16(f, 34 + 4, 7);
  return f;
}
Buf bad_udp_checksum() {
  Buf f = discover_frame();
  f.back() ^= 0x5a;  // a payload byte, after the checksum was computed
  return f;
}
Buf payload_frame(Buf payload) { return udp_frame(payload); }
Buf bootp_short() { return payload_frame(Buf(235, 0)); }
Buf bootp_op_zero() {
  Buf p = dhcp_payload(kDiscoverOptions);
  p[kOp] = 0;
  return payload_frame(p);
}
Buf bootp_hlen_17() {
  Buf p = dhcp_payload(kDiscoverOptions);
  p[kHlen] = 17;
  return payload_frame(p);
}
Buf wrong_cookie() {
  Buf p = dhcp_payload(kDiscoverOptions);
  p[kCookie + 3] = 0x64;
  return payload_frame(p);
}
Buf code_without_length() { return payload_frame(dhcp_payload(cat({o(53, {1}), {12}}))); }
Buf length_past_end() { return payload_frame(dhcp_payload(cat({o(53, {1}), {12, 10, 'a', 'b'}}))); }
Buf mask_three_bytes() { return payload_frame(dhcp_payload(cat({o(53, {1}), o(1, {255, 255, 0}), {255}}))); }
Buf message_type_19() { return payload_frame(dhcp_payload(cat({o(53, {19}), {255}}))); }
Buf overload_four() { return payload_frame(dhcp_payload(cat({o(53, {1}), o(52, {4}), {255}}))); }
Buf concat_too_big() {
  Buf opts = o(53, {1});
  for (int i = 0; i < 9; ++i) opts = cat({opts, o(43, Buf(255, static_cast<std::uint8_t>(i)))});
  opts.push_back(255);
  return payload_frame(dhcp_payload(opts));
}

const ErrorCase kErrorCases[] = {
    {"eth_truncated", Error::eth_truncated, [] { return Buf(13, 0xff); }},
    {"vlan_truncated", Error::vlan_truncated, truncated_vlan},
    {"vlan_too_many", Error::vlan_too_many, three_vlans},
    {"arp_truncated", Error::arp_truncated,
     [] {
       Buf f = arp_packet(6);
       f.pop_back();
       return f;
     }},
    {"arp_unsupported", Error::arp_unsupported, [] { return arp_packet(8); }},
    {"ipv4_truncated", Error::ipv4_truncated,
     [] {
       Buf f = discover_frame();
       f.resize(14 + 19);
       return f;
     }},
    {"ipv4_bad_version", Error::ipv4_bad_version, [] { return frame_with_ip_byte(0, 0x65, true); }},
    {"ipv4_bad_ihl", Error::ipv4_bad_ihl, [] { return frame_with_ip_byte(0, 0x44, false); }},
    {"ipv4_bad_total_length", Error::ipv4_bad_total_length, bad_total_length},
    {"ipv4_bad_checksum", Error::ipv4_bad_checksum, bad_ip_checksum},
    {"ipv4_fragment", Error::ipv4_fragment, fragment},
    {"udp_truncated", Error::udp_truncated, short_udp},
    {"udp_bad_length", Error::udp_bad_length, udp_length_seven},
    {"udp_bad_checksum", Error::udp_bad_checksum, bad_udp_checksum},
    {"bootp_truncated", Error::bootp_truncated, bootp_short},
    {"bootp_bad_op", Error::bootp_bad_op, bootp_op_zero},
    {"bootp_bad_hlen", Error::bootp_bad_hlen, bootp_hlen_17},
    {"dhcp_no_cookie", Error::dhcp_no_cookie, wrong_cookie},
    {"option_truncated", Error::option_truncated, code_without_length},
    {"option_overrun", Error::option_overrun, length_past_end},
    {"option_bad_length", Error::option_bad_length, mask_three_bytes},
    {"option_bad_value", Error::option_bad_value, message_type_19},
    {"overload_bad", Error::overload_bad, overload_four},
    {"concat_overflow", Error::concat_overflow, concat_too_big},
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class WireErrorCase : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(WireErrorCase, IsReported) {
  const Buf frame = GetParam().make();
  EXPECT_EQ(error_name(parse_all(frame)), error_name(GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(AllReasons, WireErrorCase, ::testing::ValuesIn(kErrorCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(WireErrors, EveryParseReasonHasACase) {
  std::set<Error> covered;
  for (const ErrorCase& c : kErrorCases) covered.insert(c.expected);
  for (std::size_t i = 1; i < kErrorCount; ++i) {
    const auto e = static_cast<Error>(i);
    if (e == Error::buffer_too_small || e == Error::mandatory_too_large) continue;  // build only
    EXPECT_TRUE(covered.count(e)) << "no crafted packet for " << error_name(e);
  }
}

// ---- parse_frame ---------------------------------------------------------------

TEST(ParseFrame, PlainUdpFrameFields) {
  L3 l3;
  l3.tos = 0x10;
  l3.ttl = 128;
  l3.id = 0xbeef;
  l3.frag = 0x4000;  // DF is not a fragment
  l3.src = v4(10, 0, 0, 1);
  l3.dst = v4(10, 0, 0, 2);
  const Buf payload = dhcp_payload(kDiscoverOptions);
  const Buf f = udp_frame(payload, {}, l3, {kPortBootps, kPortBootps, UdpSum::good});
  const Frame r = parse_frame(bytes(f));
  ASSERT_EQ(r.error, Error::ok);
  EXPECT_EQ(r.kind, FrameKind::ipv4_udp);
  EXPECT_EQ(r.eth.dst, MacAddr::broadcast());
  EXPECT_EQ(r.eth.src, kClientMac);
  EXPECT_EQ(r.eth.vlan_count, 0);
  EXPECT_EQ(r.eth.ethertype, kEtherTypeIpv4);
  EXPECT_EQ(r.eth.l3_offset, 14);
  EXPECT_EQ(r.ip.header_length, 20);
  EXPECT_EQ(r.ip.tos, 0x10);
  EXPECT_EQ(r.ip.ttl, 128);
  EXPECT_EQ(r.ip.protocol, kIpProtoUdp);
  EXPECT_EQ(r.ip.total_length, 20 + 8 + payload.size());
  EXPECT_EQ(r.ip.id, 0xbeef);
  EXPECT_EQ(r.ip.flags_fragment, 0x4000);
  EXPECT_EQ(r.ip.src, v4(10, 0, 0, 1));
  EXPECT_EQ(r.ip.dst, v4(10, 0, 0, 2));
  EXPECT_EQ(r.udp.src_port, 67);
  EXPECT_EQ(r.udp.dst_port, 67);
  EXPECT_EQ(r.udp.length, 8 + payload.size());
  EXPECT_EQ(r.udp.checksum, get16(f, 14 + 20 + 6));
  EXPECT_NE(r.udp.checksum, 0);
  EXPECT_EQ(r.udp.payload_offset, 42);
  EXPECT_EQ(r.udp.payload_length, payload.size());
  EXPECT_EQ(vec(r.udp_payload(bytes(f))), payload);
}

// A checksum the NIC verified (RX offload) is not summed again; the other
// one still is.
TEST(ParseFrame, VerifiedChecksumsAreNotSummedAgain) {
  const Buf bad_udp = bad_udp_checksum();
  const Buf bad_ip = bad_ip_checksum();
  EXPECT_EQ(parse_frame(bytes(bad_udp)).error, Error::udp_bad_checksum);
  EXPECT_EQ(parse_frame(bytes(bad_udp), Verified{true, false}).error, Error::udp_bad_checksum);
  EXPECT_EQ(parse_frame(bytes(bad_udp), Verified{false, true}).error, Error::ok);
  EXPECT_EQ(parse_frame(bytes(bad_ip)).error, Error::ipv4_bad_checksum);
  EXPECT_EQ(parse_frame(bytes(bad_ip), Verified{false, true}).error, Error::ipv4_bad_checksum);
  EXPECT_EQ(parse_frame(bytes(bad_ip), Verified{true, false}).error, Error::ok);
}

TEST(ParseFrame, Dot1QTag) {
  L2 l2;
  l2.vlans = {{kEtherTypeVlan, 0xa064}};  // PCP 5, DEI 0, VID 100
  const Buf f = discover_frame(l2);
  const Frame r = parse_frame(bytes(f));
  ASSERT_EQ(r.error, Error::ok);
  EXPECT_EQ(r.eth.vlan_count, 1);
  EXPECT_EQ(r.eth.vlans[0].tpid, kEtherTypeVlan);
  EXPECT_EQ(r.eth.vlans[0].tci, 0xa064);
  EXPECT_EQ(r.eth.vlans[0].vid(), 100);
  EXPECT_EQ(r.eth.ethertype, kEtherTypeIpv4);
  EXPECT_EQ(r.eth.l3_offset, 18);
  EXPECT_EQ(r.udp.payload_offset, 18 + 28);
  EXPECT_EQ(parse_all(f), Error::ok);
}

TEST(ParseFrame, QinQTags) {
  for (const std::uint16_t outer : {kEtherTypeQinQ, kEtherTypeQinQOld, kEtherTypeVlan}) {
    SCOPED_TRACE(outer);
    L2 l2;
    l2.vlans = {{outer, 0x0fff}, {kEtherTypeVlan, 0x3001}};
    const Buf f = discover_frame(l2);
    const Frame r = parse_frame(bytes(f));
    ASSERT_EQ(r.error, Error::ok);
    EXPECT_EQ(r.eth.vlan_count, 2);
    EXPECT_EQ(r.eth.vlans[0], (VlanTag{outer, 0x0fff}));
    EXPECT_EQ(r.eth.vlans[0].vid(), 4095);
    EXPECT_EQ(r.eth.vlans[1], (VlanTag{kEtherTypeVlan, 0x3001}));
    EXPECT_EQ(r.eth.vlans[1].vid(), 1);
    EXPECT_EQ(r.eth.l3_offset, 22);
    EXPECT_EQ(r.kind, FrameKind::ipv4_udp);
    EXPECT_EQ(parse_all(f), Error::ok);
  }
}

TEST(ParseFrame, IhlWithOptions) {
  L3 l3;
  l3.options = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};  // router alert, NOP x3, EOL
  const Buf f = discover_frame({}, l3);
  const Frame r = parse_frame(bytes(f));
  ASSERT_EQ(r.error, Error::ok);
  EXPECT_EQ(r.ip.header_length, 28);
  EXPECT_EQ(r.udp.payload_offset, 14 + 28 + 8);
  EXPECT_EQ(parse_all(f), Error::ok);
  const DhcpMessage m = parse_dhcp(r.udp_payload(bytes(f)));
  EXPECT_EQ(m.xid, 0x06e32864u);
}

TEST(ParseFrame, IhlBeyondPacketAndTotalBelowHeader) {
  Buf f = ip_frame({}, {}, {});  // a bare 20-byte IPv4 header
  f[14] = 0x46;                  // IHL 6: 24 bytes, the frame has 20
  fix_ip_checksum(f, 14);
  EXPECT_EQ(parse_frame(bytes(f)).error, Error::ipv4_bad_ihl);

  Buf g = discover_frame();
  put16(g, 16, 19);
  fix_ip_checksum(g, 14);
  EXPECT_EQ(parse_frame(bytes(g)).error, Error::ipv4_bad_total_length);
}

TEST(ParseFrame, FragmentOffsetAlsoRefused) {
  L3 l3;
  l3.frag = 0x0001;  // offset 8, MF clear: the last fragment
  EXPECT_EQ(parse_frame(bytes(discover_frame({}, l3))).error, Error::ipv4_fragment);
  l3.frag = 0x4000;  // DF only
  EXPECT_EQ(parse_frame(bytes(discover_frame({}, l3))).error, Error::ok);
}

TEST(ParseFrame, UdpChecksumZeroSetAndWrong) {
  const Buf payload = dhcp_payload(kDiscoverOptions);
  const Buf unsummed = udp_frame(payload, {}, {}, {kPortBootpc, kPortBootps, UdpSum::zero});
  Frame r = parse_frame(bytes(unsummed));
  EXPECT_EQ(r.error, Error::ok);
  EXPECT_EQ(r.udp.checksum, 0);

  Buf summed = udp_frame(payload);
  r = parse_frame(bytes(summed));
  EXPECT_EQ(r.error, Error::ok);
  EXPECT_NE(r.udp.checksum, 0);

  put16(summed, 40, static_cast<std::uint16_t>(get16(summed, 40) ^ 0x0101));
  EXPECT_EQ(parse_frame(bytes(summed)).error, Error::udp_bad_checksum);

  // Zero payload change but a wrong pseudo-header (another source address).
  Buf moved = udp_frame(payload);
  moved[14 + 12] = 1;
  fix_ip_checksum(moved, 14);
  EXPECT_EQ(parse_frame(bytes(moved)).error, Error::udp_bad_checksum);
}

TEST(ParseFrame, UdpChecksumComputedZeroIsSentAsFfff) {
  // Choose two payload bytes so that the segment sums to 0xffff: its checksum
  // is then 0, which RFC 768 transmits as 0xffff.
  L3 l3;
  l3.src = v4(192, 168, 1, 1);
  l3.dst = v4(192, 168, 1, 4);
  Buf payload = dhcp_payload(kDiscoverOptions);
  if (payload.size() % 2) payload.push_back(0);  // keep the free word 16-bit aligned
  payload.push_back(0);
  payload.push_back(0);
  Buf seg = udp_segment(l3, {kPortBootps, kPortBootpc, UdpSum::zero}, payload);
  const std::uint32_t pseudo = (l3.src >> 16) + (l3.src & 0xffff) + (l3.dst >> 16) +
                               (l3.dst & 0xffff) + kIpProtoUdp + static_cast<std::uint32_t>(seg.size());
  const std::uint16_t need = static_cast<std::uint16_t>(~ref_fold(ref_add(pseudo, seg.data(), seg.size())));
  put16(seg, seg.size() - 2, static_cast<std::uint16_t>(~need));
  EXPECT_EQ(ref_fold(ref_add(pseudo, seg.data(), seg.size())), 0);
  EXPECT_EQ(udp_checksum(l3.src, l3.dst, bytes(seg)), 0xffff);
  put16(seg, 6, 0xffff);
  const Buf f = ip_frame({}, l3, seg);
  EXPECT_EQ(parse_frame(bytes(f)).error, Error::ok);
}

TEST(ParseFrame, ChecksumHelpersMatchReference) {
  const Buf f = discover_frame();
  const Bytes hdr = bytes(f).subspan(14, 20);
  EXPECT_EQ(ipv4_header_checksum(hdr), 0);  // a correct header sums to zero
  Buf zeroed(hdr.begin(), hdr.end());
  put16(zeroed, 10, 0);
  EXPECT_EQ(ipv4_header_checksum(bytes(zeroed)), get16(f, 24));
  const Buf odd = {0x01, 0x02, 0x03};
  EXPECT_EQ(checksum_fold(checksum_add(0, bytes(odd))), ref_fold(ref_add(0, odd.data(), 3)));
  Buf big(1501);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 37 + 11);
  EXPECT_EQ(checksum_fold(checksum_add(0x1234, bytes(big))),
            ref_fold(ref_add(0x1234, big.data(), big.size())));
}

// Every length 0..160 at every start offset 0..15 (the sum is taken 32
// bytes at a time, then 16, 8, 4, 2, 1, in native order), with all-0xff data
// (end-around carries) and varied data, against the textbook 16-bit
// reference; and a 65535-byte frame of 0xff (long and odd-sized).
TEST(ParseFrame, ChecksumAddEveryLengthAndAlignment) {
  for (const bool ones : {true, false}) {
    Buf buf(176);
    for (std::size_t i = 0; i < buf.size(); ++i)
      buf[i] = ones ? 0xff : static_cast<std::uint8_t>(i * 151 + 7);
    for (std::size_t off = 0; off < 16; ++off)
      for (std::size_t len = 0; len <= 160; ++len)
        for (const std::uint32_t start : {0u, 0xffffu, 0xfffffff0u}) {
          const std::uint32_t got = checksum_add(start, bytes(buf).subspan(off, len));
          std::uint64_t ref = start;
          ref += ref_add(0, buf.data() + off, len);
          while (ref >> 16) ref = (ref & 0xffff) + (ref >> 16);
          std::uint64_t mine = got;
          while (mine >> 16) mine = (mine & 0xffff) + (mine >> 16);
          ASSERT_EQ(mine, ref) << "ones " << ones << " offset " << off << " length " << len
                               << " start " << start;
        }
  }
  const Buf max(65535, 0xff);
  EXPECT_EQ(checksum_fold(checksum_add(0x1234, bytes(max))),
            ref_fold(ref_add(0x1234, max.data(), max.size())));   // the reference's sum stays < 2^32
}

TEST(ParseFrame, TrailingEthernetPaddingIgnored) {
  const Buf payload = dhcp_payload(kDiscoverOptions);
  Buf f = udp_frame(payload);
  f.insert(f.end(), 18, 0xee);
  const Frame r = parse_frame(bytes(f));
  ASSERT_EQ(r.error, Error::ok);
  EXPECT_EQ(r.udp.payload_length, payload.size());
  EXPECT_EQ(vec(r.udp_payload(bytes(f))), payload);
}

TEST(ParseFrame, UdpShorterThanIpPayload) {
  // IP carries 4 more bytes than UDP claims: allowed, the payload is UDP's.
  const Buf payload = dhcp_payload(kDiscoverOptions);
  Buf seg = udp_segment({}, {kPortBootpc, kPortBootps, UdpSum::good}, payload);
  seg.insert(seg.end(), 4, 0xaa);
  const Buf f = ip_frame({}, {}, seg);
  const Frame r = parse_frame(bytes(f));
  ASSERT_EQ(r.error, Error::ok);
  EXPECT_EQ(r.udp.payload_length, payload.size());

  Buf longer = udp_frame(payload);
  put16(longer, 38, static_cast<std::uint16_t>(get16(longer, 38) + 1));
  EXPECT_EQ(parse_frame(bytes(longer)).error, Error::udp_bad_length);
}

TEST(ParseFrame, ArpRequest) {
  const Buf f = arp_packet(6);
  const Frame r = parse_frame(bytes(f));
  ASSERT_EQ(r.error, Error::ok);
  EXPECT_EQ(r.kind, FrameKind::arp);
  EXPECT_EQ(r.arp.op, 1);
  EXPECT_EQ(r.arp.sha, kClientMac);
  EXPECT_EQ(r.arp.spa, v4(10, 40, 2, 3));
  EXPECT_EQ(r.arp.tha, MacAddr{});
  EXPECT_EQ(r.arp.tpa, v4(10, 40, 1, 1));
  Buf ptype = arp_packet(6);
  put16(ptype, 16, 0x86dd);
  EXPECT_EQ(parse_frame(bytes(ptype)).error, Error::arp_unsupported);
}

TEST(ParseFrame, OtherKinds) {
  L3 icmp;
  icmp.proto = kIpProtoIcmp;
  Frame r = parse_frame(bytes(ip_frame({}, icmp, Buf{8, 0, 0xf7, 0xff, 0, 0, 0, 0})));
  EXPECT_EQ(r.error, Error::ok);
  EXPECT_EQ(r.kind, FrameKind::ipv4_icmp);
  EXPECT_TRUE(r.udp_payload(bytes(Buf(64))).empty());

  L3 tcp;
  tcp.proto = 6;
  r = parse_frame(bytes(ip_frame({}, tcp, Buf(20, 0))));
  EXPECT_EQ(r.error, Error::ok);
  EXPECT_EQ(r.kind, FrameKind::ipv4_other);
  EXPECT_EQ(r.ip.protocol, 6);

  Buf v6 = eth_header({}, 0x86dd);
  v6.resize(60, 0);
  r = parse_frame(bytes(v6));
  EXPECT_EQ(r.error, Error::ok);
  EXPECT_EQ(r.kind, FrameKind::other);
  EXPECT_EQ(r.eth.ethertype, 0x86dd);
}

TEST(ParseFrame, TruncationAtEveryOffsetFails) {
  L2 l2;
  l2.vlans = {{kEtherTypeQinQ, 7}, {kEtherTypeVlan, 8}};
  L3 l3;
  l3.options = {0x94, 0x04, 0x00, 0x00};
  const Buf f = discover_frame(l2, l3);
  ASSERT_EQ(parse_all(f), Error::ok);
  for (std::size_t n = 0; n < f.size(); ++n) {
    // An exactly sized heap copy, so ASan flags any read past `n`.
    const Buf cut(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(n));
    const Frame r = parse_frame(bytes(cut));
    EXPECT_NE(r.error, Error::ok) << "cut at " << n;
  }
}

// ---- parse_dhcp ----------------------------------------------------------------

TEST(ParseDhcp, FixedHeaderFields) {
  Buf p = dhcp_payload(cat({o(53, {5}), {255}}));
  p[kOp] = 2;
  p[kHops] = 3;
  put16(p, kSecs, 0x1234);
  put16(p, kFlags, 0x8000);
  const std::uint8_t addrs[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  std::copy(std::begin(addrs), std::end(addrs), p.begin() + kCiaddr);
  std::fill(p.begin() + kChaddr + 6, p.begin() + kChaddr + 16, 0xcc);
  const Buf sname = s("server.example");
  std::copy(sname.begin(), sname.end(), p.begin() + kSname);
  const Buf file = s("pxelinux.0");
  std::copy(file.begin(), file.end(), p.begin() + kFile);
  const DhcpMessage m = parse_dhcp(bytes(p));
  ASSERT_EQ(m.error, Error::ok);
  EXPECT_TRUE(m.has_cookie);
  EXPECT_EQ(m.op, 2);
  EXPECT_EQ(m.htype, 1);
  EXPECT_EQ(m.hlen, 6);
  EXPECT_EQ(m.hops, 3);
  EXPECT_EQ(m.xid, 0x06e32864u);
  EXPECT_EQ(m.secs, 0x1234);
  EXPECT_EQ(m.flags, 0x8000);
  EXPECT_TRUE(m.broadcast_flag());
  EXPECT_EQ(m.ciaddr, v4(1, 2, 3, 4));
  EXPECT_EQ(m.yiaddr, v4(5, 6, 7, 8));
  EXPECT_EQ(m.siaddr, v4(9, 10, 11, 12));
  EXPECT_EQ(m.giaddr, v4(13, 14, 15, 16));
  EXPECT_EQ(m.chaddr_field.size(), 16u);
  EXPECT_EQ(m.chaddr_field[15], 0xcc);
  EXPECT_EQ(vec(m.chaddr()), Buf(kClientMac.b.begin(), kClientMac.b.end()));
  EXPECT_EQ(m.chaddr_mac(), kClientMac);
  ASSERT_EQ(m.sname_field.size(), 64u);
  ASSERT_EQ(m.file_field.size(), 128u);
  EXPECT_EQ(vec(m.sname_field.first(sname.size())), sname);
  EXPECT_EQ(vec(m.file_field.first(file.size())), file);
  EXPECT_EQ(m.overload, 0);
  EXPECT_EQ(m.areas, area_options);
  EXPECT_EQ(m.message_type(), MessageType::ack);
}

TEST(ParseDhcp, HeaderErrors) {
  Buf p = dhcp_payload(kDiscoverOptions);
  p[kOp] = 3;
  EXPECT_EQ(parse_dhcp(bytes(p)).error, Error::bootp_bad_op);
  p[kOp] = 2;
  p[kHlen] = 16;
  EXPECT_EQ(parse_dhcp(bytes(p)).error, Error::ok);
  p[kHlen] = 255;
  EXPECT_EQ(parse_dhcp(bytes(p)).error, Error::bootp_bad_hlen);

  const Buf fixed_only(p.begin(), p.begin() + kBootpFixedSize);
  const DhcpMessage bootp = parse_dhcp(bytes(fixed_only));
  EXPECT_EQ(bootp.error, Error::bootp_bad_hlen);
  Buf plain = dhcp_payload({});
  plain.resize(kBootpFixedSize);
  plain.resize(300, 0);  // plain BOOTP: no cookie
  const DhcpMessage no_cookie = parse_dhcp(bytes(plain));
  EXPECT_EQ(no_cookie.error, Error::dhcp_no_cookie);
  EXPECT_FALSE(no_cookie.has_cookie);
  EXPECT_EQ(no_cookie.xid, 0x06e32864u);

  const Buf cut_cookie(plain.begin(), plain.begin() + 238);
  EXPECT_EQ(parse_dhcp(bytes(cut_cookie)).error, Error::dhcp_no_cookie);
  EXPECT_EQ(parse_dhcp(bytes(Buf(kBootpFixedSize - 1, 1))).error, Error::bootp_truncated);
  EXPECT_EQ(parse_dhcp(Bytes{}).error, Error::bootp_truncated);
}

TEST(ParseDhcp, CookieWithoutOptionsIsValid) {
  const DhcpMessage m = parse_kept(dhcp_payload({}));
  EXPECT_EQ(m.error, Error::ok);
  EXPECT_TRUE(m.has_cookie);
  EXPECT_TRUE(m.codes().empty());
  EXPECT_FALSE(m.message_type());
}

TEST(ParseDhcp, PadAndEnd) {
  // PADs anywhere, END stops parsing: what follows it is not looked at.
  const Buf p = dhcp_payload(cat({{0, 0}, o(53, {3}), {0}, o(12, s("h")), {0, 0, 0, 255},
                                  o(15, s("after.end")), {1, 9, 0xde, 0xad}}));
  const DhcpMessage m = parse_dhcp(bytes(p));
  ASSERT_EQ(m.error, Error::ok);
  EXPECT_EQ(m.message_type(), MessageType::request);
  EXPECT_EQ(m.hostname(), "h");
  EXPECT_FALSE(m.has(15));
  EXPECT_FALSE(m.has(1));
  EXPECT_FALSE(m.has(0));
  EXPECT_FALSE(m.has(255));
  EXPECT_EQ(vec(m.codes()), (Buf{53, 12}));

  // No END at all: the options field simply ends with the payload.
  const DhcpMessage no_end = parse_kept(dhcp_payload(cat({o(53, {1}), o(61, {1, 2, 3})})));
  ASSERT_EQ(no_end.error, Error::ok);
  EXPECT_EQ(vec(*no_end.client_id()), (Buf{1, 2, 3}));

  // Only PADs, then END.
  const DhcpMessage pads = parse_kept(dhcp_payload(cat({Buf(60, 0), {255}})));
  EXPECT_EQ(pads.error, Error::ok);
  EXPECT_TRUE(pads.codes().empty());
}

TEST(ParseDhcp, OptionFramingErrorsNameTheCode) {
  DhcpMessage m = parse_kept(dhcp_payload(cat({o(53, {1}), {61}})));
  EXPECT_EQ(m.error, Error::option_truncated);
  EXPECT_EQ(m.error_option, 61);
  m = parse_kept(dhcp_payload(cat({o(53, {1}), {60, 3, 'a', 'b'}})));
  EXPECT_EQ(m.error, Error::option_overrun);
  EXPECT_EQ(m.error_option, 60);
  // An option reaching exactly the end of the payload is fine.
  m = parse_kept(dhcp_payload(cat({o(53, {1}), {60, 2, 'a', 'b'}})));
  EXPECT_EQ(m.error, Error::ok);
  EXPECT_EQ(vec(*m.vendor_class_id()), s("ab"));
}

struct ShapeCase {
  std::uint8_t code;
  Buf value;
};

TEST(ParseDhcp, TypedOptionsWithBadLengths) {
  const ShapeCase cases[] = {
      {1, {255, 255, 0}},      {1, Buf(5, 0)},       {3, {}},          {3, Buf(5, 1)},
      {6, Buf(7, 1)},          {28, Buf(3, 1)},
      {50, Buf(8, 1)},         {51, Buf(2, 1)},      {53, {}},         {53, {1, 1}},
      {54, Buf(6, 1)},         {57, {5}},            {57, {2, 64, 0}},
      {58, Buf(3, 1)},         {59, Buf(5, 1)},      {61, {1}},
      {61, {}},                {81, {0, 0}},         {82, {}},         {118, Buf(3, 1)},
      {121, {}},
  };
  for (const ShapeCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "code " << int{c.code} << " length " << c.value.size());
    const Buf opts = c.code == 53 ? cat({o(53, c.value), {255}}) : cat({o(53, {1}), o(c.code, c.value), {255}});
    const DhcpMessage m = parse_kept(dhcp_payload(opts));
    EXPECT_EQ(error_name(m.error), error_name(Error::option_bad_length));
    EXPECT_EQ(m.error_option, c.code);
  }
}

TEST(ParseDhcp, EmptyInformationalOptionsAreTolerated) {
  // RFC 2132 wants at least one byte in 12, 15, 55 and 60; clients that send
  // them empty still get served, the value simply reads as empty.
  const DhcpMessage m = parse_kept(
      dhcp_payload(cat({o(53, {1}), o(12, {}), o(15, {}), o(55, {}), o(60, {}), {255}})));
  ASSERT_EQ(error_name(m.error), error_name(Error::ok));
  ASSERT_TRUE(m.hostname().has_value());
  EXPECT_TRUE(m.hostname()->empty());
  ASSERT_TRUE(m.domain_name().has_value());
  EXPECT_TRUE(m.domain_name()->empty());
  EXPECT_TRUE(m.parameter_request_list().empty());
  ASSERT_TRUE(m.vendor_class_id().has_value());
  EXPECT_TRUE(m.vendor_class_id()->empty());
}

TEST(ParseDhcp, TypedOptionsWithBadValues) {
  const ShapeCase cases[] = {
      {53, {0}},
      {53, {19}},
      {82, {1, 5, 'a', 'b'}},                 // sub-option runs past the option
      {82, {1}},                              // sub-option code without length
      {82, {5, 3, 10, 0, 0}},                 // link selection must be 4 bytes
      {121, {33, 10, 0, 0, 0, 0, 1, 2, 3, 4}},  // prefix > 32
      {121, {24, 10, 0, 0, 10, 0, 0}},        // router cut short
      {121, {8, 10}},                         // router missing
  };
  for (const ShapeCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "code " << int{c.code} << " length " << c.value.size());
    const Buf opts = c.code == 53 ? cat({o(53, c.value), {255}}) : cat({o(53, {1}), o(c.code, c.value), {255}});
    const DhcpMessage m = parse_kept(dhcp_payload(opts));
    EXPECT_EQ(error_name(m.error), error_name(Error::option_bad_value));
    EXPECT_EQ(m.error_option, c.code);
  }
}

TEST(ParseDhcp, UntypedOptionsAcceptAnyLength) {
  const Buf p = dhcp_payload(cat({o(53, {1}), o(80, {}), o(43, {}), o(200, Buf(255, 7)), {255}}));
  const DhcpMessage m = parse_dhcp(bytes(p));
  ASSERT_EQ(m.error, Error::ok);
  EXPECT_TRUE(m.has(80));
  EXPECT_TRUE(m.option(80)->empty());
  EXPECT_EQ(m.instances(80), 1);
  EXPECT_EQ(m.option(200)->size(), 255u);
  EXPECT_FALSE(m.option(201));
  EXPECT_EQ(m.instances(201), 0);
}

// A request carrying every option with a typed accessor.
Buf rich_request_options() {
  const Buf relay = cat({o(1, s("eth0/1/2:100")), o(2, {0x00, 0x11, 0x22, 0x33}), o(6, s("x")),
                         o(5, ip(10, 9, 8, 0)), o(9, {0, 0, 0x0d, 0xe9, 3, 1, 1, 'z'})});
  return cat({
      o(53, {3}),
      o(1, ip(255, 255, 255, 0)),
      o(3, cat({ip(192, 168, 1, 1), ip(192, 168, 1, 2)})),
      o(6, cat({ip(8, 8, 8, 8), ip(1, 1, 1, 1), ip(9, 9, 9, 9)})),
      o(12, s("raspberrypi")),
      o(15, s("example.org")),
      o(28, ip(192, 168, 1, 255)),
      o(50, ip(192, 168, 1, 4)),
      o(51, {0x00, 0x01, 0x51, 0x80}),
      o(54, ip(192, 168, 1, 1)),
      o(55, {1, 121, 3, 6, 15, 119}),
      o(57, {0x05, 0xc0}),
      o(58, {0x00, 0x00, 0xa8, 0xc0}),
      o(59, {0x00, 0x01, 0x27, 0x50}),
      o(60, s("dhcpcd-6.11.5")),
      o(61, {1, 0xb8, 0x27, 0xeb, 0xb8, 0x53, 0xc8}),
      o(81, cat({{0x05, 0, 0xff}, {4, 'h', 'o', 's', 't', 3, 'o', 'r', 'g', 0}})),
      o(82, relay),
      o(118, ip(10, 20, 30, 0)),
      o(121, {0, 10, 0, 0, 1,                     // default via 10.0.0.1
              8, 10, 172, 16, 0, 1,               // 10/8
              24, 192, 168, 7, 10, 0, 0, 2,       // 192.168.7/24
              12, 172, 16, 10, 0, 0, 3,           // 172.16/12
              32, 1, 2, 3, 4, 10, 0, 0, 4}),      // host route
      {255},
  });
}

TEST(ParseDhcp, TypedAccessors) {
  const Buf p = dhcp_payload(rich_request_options());
  const DhcpMessage m = parse_dhcp(bytes(p));
  ASSERT_EQ(m.error, Error::ok) << error_name(m.error) << " option " << int{m.error_option};
  EXPECT_EQ(m.message_type(), MessageType::request);
  EXPECT_EQ(m.subnet_mask(), v4(255, 255, 255, 0));
  const Ipv4List routers = m.routers();
  ASSERT_EQ(routers.size(), 2u);
  EXPECT_EQ(routers[0], v4(192, 168, 1, 1));
  EXPECT_EQ(routers[1], v4(192, 168, 1, 2));
  const Ipv4List dns = m.dns_servers();
  ASSERT_EQ(dns.size(), 3u);
  EXPECT_EQ(dns[0], v4(8, 8, 8, 8));
  EXPECT_EQ(dns[2], v4(9, 9, 9, 9));
  EXPECT_EQ(m.hostname(), "raspberrypi");
  EXPECT_EQ(m.domain_name(), "example.org");
  EXPECT_EQ(m.broadcast_address(), v4(192, 168, 1, 255));
  EXPECT_EQ(m.requested_ip(), v4(192, 168, 1, 4));
  EXPECT_EQ(m.lease_time(), 86400u);
  EXPECT_EQ(m.server_id(), v4(192, 168, 1, 1));
  EXPECT_EQ(vec(m.parameter_request_list()), (Buf{1, 121, 3, 6, 15, 119}));
  EXPECT_EQ(m.max_message_size(), 1472);
  EXPECT_EQ(m.renewal_time(), 43200u);
  EXPECT_EQ(m.rebinding_time(), 75600u);
  EXPECT_EQ(vec(*m.vendor_class_id()), s("dhcpcd-6.11.5"));
  EXPECT_EQ(vec(*m.client_id()), (Buf{1, 0xb8, 0x27, 0xeb, 0xb8, 0x53, 0xc8}));
  EXPECT_EQ(m.subnet_selection(), v4(10, 20, 30, 0));

  const auto fqdn = m.client_fqdn();
  ASSERT_TRUE(fqdn);
  EXPECT_EQ(fqdn->flags, 0x05);
  EXPECT_EQ(fqdn->rcode1, 0);
  EXPECT_EQ(fqdn->rcode2, 0xff);
  EXPECT_EQ(vec(fqdn->name), (Buf{4, 'h', 'o', 's', 't', 3, 'o', 'r', 'g', 0}));

  const auto rai = m.relay_agent_info();
  ASSERT_TRUE(rai);
  EXPECT_EQ(vec(rai->raw), vec(*m.option(82)));
  ASSERT_TRUE(rai->circuit_id);
  EXPECT_EQ(vec(*rai->circuit_id), s("eth0/1/2:100"));
  ASSERT_TRUE(rai->remote_id);
  EXPECT_EQ(vec(*rai->remote_id), (Buf{0x00, 0x11, 0x22, 0x33}));
  EXPECT_EQ(rai->link_selection, v4(10, 9, 8, 0));
  ASSERT_TRUE(rai->vendor_specific);
  EXPECT_EQ(vec(*rai->vendor_specific), (Buf{0, 0, 0x0d, 0xe9, 3, 1, 1, 'z'}));

  const auto routes = m.classless_routes();
  ASSERT_TRUE(routes);
  std::vector<ClasslessRoute> got;
  routes->for_each([&](const ClasslessRoute& r) { got.push_back(r); });
  ASSERT_EQ(got.size(), 5u);
  const ClasslessRoute want[] = {
      {0, 0, v4(10, 0, 0, 1)},
      {v4(10, 0, 0, 0), 8, v4(172, 16, 0, 1)},
      {v4(192, 168, 7, 0), 24, v4(10, 0, 0, 2)},
      {v4(172, 16, 0, 0), 12, v4(10, 0, 0, 3)},
      {v4(1, 2, 3, 4), 32, v4(10, 0, 0, 4)},
  };
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].destination, want[i].destination);
    EXPECT_EQ(got[i].prefix_length, want[i].prefix_length);
    EXPECT_EQ(got[i].router, want[i].router);
  }

  EXPECT_EQ(vec(m.codes()),
            (Buf{53, 1, 3, 6, 12, 15, 28, 50, 51, 54, 55, 57, 58, 59, 60, 61, 81, 82, 118, 121}));
  for (const std::uint8_t c : m.codes()) EXPECT_EQ(m.instances(c), 1) << int{c};
}

TEST(ParseDhcp, AccessorsOfAbsentOptions) {
  const DhcpMessage m = parse_kept(dhcp_payload(cat({o(53, {8}), {255}})));
  ASSERT_EQ(m.error, Error::ok);
  EXPECT_EQ(m.message_type(), MessageType::inform);
  EXPECT_FALSE(m.subnet_mask());
  EXPECT_TRUE(m.routers().empty());
  EXPECT_EQ(m.routers().size(), 0u);
  EXPECT_TRUE(m.dns_servers().empty());
  EXPECT_FALSE(m.hostname());
  EXPECT_FALSE(m.domain_name());
  EXPECT_FALSE(m.broadcast_address());
  EXPECT_FALSE(m.requested_ip());
  EXPECT_FALSE(m.lease_time());
  EXPECT_FALSE(m.server_id());
  EXPECT_TRUE(m.parameter_request_list().empty());
  EXPECT_FALSE(m.max_message_size());
  EXPECT_FALSE(m.renewal_time());
  EXPECT_FALSE(m.rebinding_time());
  EXPECT_FALSE(m.vendor_class_id());
  EXPECT_FALSE(m.client_id());
  EXPECT_FALSE(m.client_fqdn());
  EXPECT_FALSE(m.relay_agent_info());
  EXPECT_FALSE(m.subnet_selection());
  EXPECT_FALSE(m.classless_routes());
}

TEST(ParseDhcp, RelayAgentInfoPartial) {
  // Only a remote id, plus an unknown sub-option: the others stay empty.
  const Buf p = dhcp_payload(cat({o(53, {1}), o(82, cat({o(2, s("cpe-42")), o(151, {1, 2})})), {255}}));
  const DhcpMessage m = parse_dhcp(bytes(p));
  ASSERT_EQ(m.error, Error::ok);
  const auto rai = m.relay_agent_info();
  ASSERT_TRUE(rai);
  EXPECT_FALSE(rai->circuit_id);
  EXPECT_EQ(vec(*rai->remote_id), s("cpe-42"));
  EXPECT_FALSE(rai->link_selection);
  EXPECT_FALSE(rai->vendor_specific);
  EXPECT_EQ(rai->raw.size(), 12u);
}

TEST(ParseDhcp, ClasslessRouteDestinationKeepsOnlyPrefixBits) {
  // RFC 3442 carries only the significant octets; bits past the prefix inside
  // the last octet are not part of the destination (dhcp.hpp: "significant
  // bits only, the rest zero").
  const Buf p = dhcp_payload(cat({o(53, {5}), o(121, {25, 192, 168, 7, 0xff, 10, 0, 0, 1}), {255}}));
  const DhcpMessage m = parse_dhcp(bytes(p));
  ASSERT_EQ(m.error, Error::ok);
  std::vector<ClasslessRoute> got;
  m.classless_routes()->for_each([&](const ClasslessRoute& r) { got.push_back(r); });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].prefix_length, 25);
  EXPECT_EQ(got[0].destination, v4(192, 168, 7, 128));
  EXPECT_EQ(got[0].router, v4(10, 0, 0, 1));
}

TEST(ParseDhcp, Rfc3396Concatenation) {
  const Buf p = dhcp_payload(cat({o(53, {1}), o(12, s("rasp")), o(12, s("berry")), o(12, s("pi")), {255}}));
  const DhcpMessage m = parse_dhcp(bytes(p));
  ASSERT_EQ(m.error, Error::ok);
  EXPECT_EQ(m.hostname(), "raspberrypi");
  EXPECT_EQ(m.instances(12), 3);
  EXPECT_EQ(m.instances(53), 1);
  EXPECT_EQ(vec(m.codes()), (Buf{53, 12}));
}

TEST(ParseDhcp, Rfc3396InterleavedCodes) {
  // Fixed-size options may be split too: the shape is checked on the whole.
  const Buf p = dhcp_payload(cat({o(53, {1}), o(15, s("exa")), o(1, {255, 255}), o(15, s("mple.")),
                                  o(61, {1}), o(1, {255, 0}), o(15, s("org")), o(61, {0xaa}), {255}}));
  const DhcpMessage m = parse_dhcp(bytes(p));
  ASSERT_EQ(m.error, Error::ok) << error_name(m.error) << " " << int{m.error_option};
  EXPECT_EQ(m.domain_name(), "example.org");
  EXPECT_EQ(m.instances(15), 3);
  EXPECT_EQ(m.subnet_mask(), v4(255, 255, 255, 0));
  EXPECT_EQ(m.instances(1), 2);
  EXPECT_EQ(vec(*m.client_id()), (Buf{1, 0xaa}));
  EXPECT_EQ(vec(m.codes()), (Buf{53, 15, 1, 61}));
}

TEST(ParseDhcp, Rfc3396LongValueOver255Bytes) {
  // 121 with 70 routes of 5+... bytes: 70 * 9 = 630 bytes in three instances.
  Buf routes;
  for (std::uint8_t i = 0; i < 70; ++i) routes = cat({routes, {32, 10, 1, i, 1, 10, 0, 0, i}});
  ASSERT_EQ(routes.size(), 630u);
  const Buf opts = cat({o(53, {5}), o(121, Buf(routes.begin(), routes.begin() + 255)),
                        o(121, Buf(routes.begin() + 255, routes.begin() + 510)),
                        o(121, Buf(routes.begin() + 510, routes.end())), {255}});
  const DhcpMessage m = parse_kept(dhcp_payload(opts));
  ASSERT_EQ(m.error, Error::ok) << error_name(m.error);
  EXPECT_EQ(m.instances(121), 3);
  EXPECT_EQ(vec(*m.option(121)), routes);
  std::size_t count = 0;
  m.classless_routes()->for_each([&](const ClasslessRoute& r) {
    EXPECT_EQ(r.destination, v4(10, 1, static_cast<std::uint8_t>(count), 1));
    EXPECT_EQ(r.router, v4(10, 0, 0, static_cast<std::uint8_t>(count)));
    ++count;
  });
  EXPECT_EQ(count, 70u);
}

TEST(ParseDhcp, ConcatScratchLimit) {
  // Exactly kConcatScratch bytes of concatenated values still fit.
  Buf opts = o(53, {1});
  std::size_t total = 0;
  while (total < kConcatScratch) {
    const std::size_t n = std::min<std::size_t>(255, kConcatScratch - total);
    opts = cat({opts, o(43, Buf(n, 0x43))});
    total += n;
  }
  const DhcpMessage fits = parse_kept(dhcp_payload(cat({opts, {255}})));
  ASSERT_EQ(fits.error, Error::ok);
  EXPECT_EQ(fits.option(43)->size(), kConcatScratch);
  const DhcpMessage over = parse_kept(dhcp_payload(cat({opts, o(43, {1}), {255}})));
  EXPECT_EQ(over.error, Error::concat_overflow);
  EXPECT_EQ(over.error_option, 43);
}

// A payload whose option 52 moves options into file and/or sname.
Buf overloaded_payload(std::uint8_t overload, const Buf& options, const Buf& file, const Buf& sname) {
  Buf p = dhcp_payload(cat({o(53, {1}), o(52, {overload}), options, {255}}));
  std::copy(file.begin(), file.end(), p.begin() + kFile);
  std::copy(sname.begin(), sname.end(), p.begin() + kSname);
  return p;
}

TEST(ParseDhcp, OverloadFileAndSname) {
  const Buf p = overloaded_payload(3, o(43, s("opt-")),
                                   cat({o(12, s("file-host")), o(43, s("file-")), {255}}),
                                   cat({o(15, s("sname.example")), o(43, s("sname")), {0, 0, 255}}));
  const DhcpMessage m = parse_dhcp(bytes(p));
  ASSERT_EQ(m.error, Error::ok) << error_name(m.error);
  EXPECT_EQ(m.overload, 3);
  EXPECT_EQ(m.areas, area_options | area_file | area_sname);
  EXPECT_EQ(m.hostname(), "file-host");
  EXPECT_EQ(m.domain_name(), "sname.example");
  // RFC 3396/2131 order: options, then file, then sname.
  EXPECT_EQ(vec(*m.option(43)), s("opt-file-sname"));
  EXPECT_EQ(m.instances(43), 3);
  EXPECT_EQ(vec(m.codes()), (Buf{53, 52, 43, 12, 15}));
}

TEST(ParseDhcp, OverloadFileOnlyLeavesSnameAlone) {
  // sname holds a server name whose bytes are not valid options.
  const Buf p = overloaded_payload(1, {}, cat({o(12, s("from-file")), {255}}), s("\x01\x09tftp.example"));
  const DhcpMessage m = parse_dhcp(bytes(p));
  ASSERT_EQ(m.error, Error::ok) << error_name(m.error);
  EXPECT_EQ(m.areas, area_options | area_file);
  EXPECT_EQ(m.hostname(), "from-file");
  EXPECT_FALSE(m.has(1));
}

TEST(ParseDhcp, OverloadSnameOnly) {
  const Buf p = overloaded_payload(2, {}, s("\x0c\x7fpxelinux.0"), cat({o(66, s("tftp")), {255}}));
  const DhcpMessage m = parse_dhcp(bytes(p));
  ASSERT_EQ(m.error, Error::ok) << error_name(m.error);
  EXPECT_EQ(m.areas, area_options | area_sname);
  EXPECT_EQ(vec(*m.option(66)), s("tftp"));
  EXPECT_FALSE(m.has(12));
}

TEST(ParseDhcp, OverloadErrors) {
  for (const std::uint8_t bad : {0, 4, 255}) {
    const DhcpMessage m = parse_kept(overloaded_payload(bad, {}, {}, {}));
    EXPECT_EQ(m.error, Error::overload_bad) << int{bad};
    EXPECT_EQ(m.error_option, 52);
  }
  // Length 2.
  DhcpMessage m = parse_kept(dhcp_payload(cat({o(53, {1}), o(52, {1, 1}), {255}})));
  EXPECT_EQ(m.error, Error::overload_bad);
  // Repeated.
  m = parse_kept(dhcp_payload(cat({o(53, {1}), o(52, {1}), o(52, {1}), {255}})));
  EXPECT_EQ(m.error, Error::overload_bad);
  // Inside the file area.
  m = parse_kept(overloaded_payload(1, {}, cat({o(52, {2}), {255}}), {}));
  EXPECT_EQ(m.error, Error::overload_bad);
  EXPECT_EQ(m.error_option, 52);
  // Framing errors inside an overloaded area.
  Buf file(128, 0);
  file[127] = 12;  // a code in the last byte of file
  m = parse_kept(overloaded_payload(1, {}, file, {}));
  EXPECT_EQ(m.error, Error::option_truncated);
  EXPECT_EQ(m.error_option, 12);
  Buf sname(64, 0);
  sname[60] = 12;
  sname[61] = 5;  // runs past sname into file
  m = parse_kept(overloaded_payload(2, {}, {}, sname));
  EXPECT_EQ(m.error, Error::option_overrun);
  EXPECT_EQ(m.error_option, 12);
}

TEST(ParseDhcp, ReparseIntoTheSameObjectResets) {
  DhcpMessage m;
  const Buf first = dhcp_payload(cat({o(53, {1}), o(12, s("a")), o(12, s("b")), o(61, {1, 2}), {255}}));
  ASSERT_EQ(m.parse(bytes(first)), Error::ok);
  EXPECT_EQ(m.hostname(), "ab");
  const Buf second = dhcp_payload(cat({o(53, {3}), o(12, s("single")), {255}}));
  ASSERT_EQ(m.parse(bytes(second)), Error::ok);
  EXPECT_EQ(m.hostname(), "single");
  EXPECT_EQ(m.instances(12), 1);
  EXPECT_FALSE(m.client_id());
  EXPECT_EQ(vec(m.codes()), (Buf{53, 12}));
  EXPECT_EQ(m.parse(bytes(Buf(10))), Error::bootp_truncated);
  EXPECT_EQ(m.error, Error::bootp_truncated);
  ASSERT_EQ(m.parse(bytes(second)), Error::ok);
  EXPECT_EQ(m.error_option, 0);
}

TEST(ParseDhcp, TruncationAtEveryOffsetStaysInBounds) {
  const Buf full = dhcp_payload(rich_request_options());
  // Offsets where a cut falls between two options (the message stays valid).
  std::set<std::size_t> boundaries;
  for (std::size_t i = kOptions; i < full.size();) {
    boundaries.insert(i);
    if (full[i] == 0 || full[i] == 255) {
      ++i;
      continue;
    }
    i += 2 + full[i + 1];
  }
  boundaries.insert(full.size());
  for (std::size_t n = 0; n < full.size(); ++n) {
    const Buf cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    const DhcpMessage m = parse_dhcp(bytes(cut));
    if (n < kBootpFixedSize) {
      EXPECT_EQ(m.error, Error::bootp_truncated) << n;
    } else if (n < kOptions) {
      EXPECT_EQ(m.error, Error::dhcp_no_cookie) << n;
    } else if (boundaries.count(n)) {
      EXPECT_EQ(m.error, Error::ok) << n;
    } else {
      EXPECT_TRUE(m.error == Error::option_truncated || m.error == Error::option_overrun)
          << n << ": " << error_name(m.error);
    }
  }
}

// ---- real captures --------------------------------------------------------------

// Frames of a classic pcap or a pcapng file (little-endian, Ethernet links).
std::vector<Buf> read_capture(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const Buf data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto le32 = [&](std::size_t at) {
    return static_cast<std::uint32_t>(data[at] | data[at + 1] << 8 | data[at + 2] << 16 |
                                      static_cast<std::uint32_t>(data[at + 3]) << 24);
  };
  std::vector<Buf> frames;
  if (data.size() >= 24 && le32(0) == 0xa1b2c3d4) {
    for (std::size_t at = 24; at + 16 <= data.size();) {
      const std::size_t caplen = le32(at + 8);
      if (at + 16 + caplen > data.size()) break;
      frames.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(at + 16),
                          data.begin() + static_cast<std::ptrdiff_t>(at + 16 + caplen));
      at += 16 + caplen;
    }
  } else if (data.size() >= 12 && le32(0) == 0x0a0d0d0a) {
    for (std::size_t at = 0; at + 12 <= data.size();) {
      const std::uint32_t type = le32(at);
      const std::size_t len = le32(at + 4);
      if (len < 12 || at + len > data.size()) break;
      if (type == 6 && len >= 32) {  // enhanced packet block
        const std::size_t caplen = le32(at + 20);
        frames.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(at + 28),
                            data.begin() + static_cast<std::ptrdiff_t>(at + 28 + caplen));
      }
      at += len;
    }
  }
  return frames;
}

std::filesystem::path corpus(const char* name) { return std::filesystem::path(DORADO_CORPUS_DIR) / name; }

struct Decoded {
  Buf frame;
  Frame f;
  DhcpMessage m;
};

// Parses every frame of a capture. Every frame must parse; so must every
// DHCP message except those (1-based frame numbers) in `bad_dhcp`.
std::vector<Decoded> decode_capture(const char* name, std::set<std::size_t> bad_dhcp = {}) {
  std::vector<Decoded> out;
  const std::vector<Buf> frames = read_capture(corpus(name));
  out.reserve(frames.size());
  for (const Buf& frame : frames) {
    Decoded& d = out.emplace_back();
    d.frame = frame;
    d.f = parse_frame(bytes(d.frame));
    EXPECT_EQ(d.f.error, Error::ok) << name << " frame " << out.size();
    if (d.f.kind == FrameKind::ipv4_udp) {
      d.m.parse(d.f.udp_payload(bytes(d.frame)));
      if (!bad_dhcp.count(out.size())) {
        EXPECT_EQ(d.m.error, Error::ok) << name << " frame " << out.size() << ": "
                                        << error_name(d.m.error) << " option " << int{d.m.error_option};
      }
    }
  }
  return out;
}

TEST(Corpus, Rfc3004UserClass) {
  const auto d = decode_capture("dhcp-rfc3004.pcap");
  ASSERT_EQ(d.size(), 4u);
  const DhcpMessage& m = d[0].m;
  EXPECT_EQ(d[0].f.ip.tos, 0x10);
  EXPECT_EQ(d[0].f.ip.total_length, 328);
  EXPECT_EQ(m.xid, 0x06e32864u);
  EXPECT_EQ(m.message_type(), MessageType::discover);
  EXPECT_EQ(m.chaddr_mac(), kClientMac);
  EXPECT_EQ(m.requested_ip(), v4(192, 168, 1, 4));
  EXPECT_EQ(vec(m.parameter_request_list()), (Buf{1, 28, 2, 3, 15, 6, 12}));
  ASSERT_TRUE(m.option(77));
  EXPECT_EQ(m.option(77)->size(), 37u);
  const DhcpMessage& offer = d[1].m;
  EXPECT_EQ(offer.message_type(), MessageType::offer);
  EXPECT_EQ(offer.yiaddr, v4(192, 168, 1, 4));
  EXPECT_EQ(offer.server_id(), v4(192, 168, 1, 1));
  EXPECT_EQ(offer.lease_time(), 86400u);
  EXPECT_EQ(offer.domain_name(), "Home");
}

TEST(Corpus, Option108Pcapng) {
  const auto d = decode_capture("dhcp-option-108.pcapng");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].m.xid, 0x9edf45b0u);
  EXPECT_EQ(d[0].m.max_message_size(), 1500);
  EXPECT_EQ(d[0].m.hostname(), "MacBookPro");
  EXPECT_EQ(d[0].m.lease_time(), 7776000u);
  EXPECT_EQ(vec(d[0].m.parameter_request_list()),
            (Buf{1, 121, 3, 6, 15, 108, 114, 119, 252, 95, 44, 46}));
  const DhcpMessage& offer = d[1].m;
  EXPECT_EQ(offer.message_type(), MessageType::offer);
  EXPECT_EQ(offer.yiaddr, v4(10, 56, 42, 232));
  EXPECT_EQ(offer.giaddr, v4(10, 56, 0, 2));
  ASSERT_EQ(offer.dns_servers().size(), 2u);
  EXPECT_EQ(offer.dns_servers()[1], v4(31, 130, 229, 7));
  EXPECT_EQ(offer.domain_name(), "meeting.ietf.org");
  EXPECT_EQ(vec(*offer.option(108)), (Buf{0, 0, 0x03, 0x84}));
}

TEST(Corpus, MudUrl) {
  const auto d = decode_capture("dhcp-mud.pcap");
  ASSERT_EQ(d.size(), 2u);
  const DhcpMessage& req = d[0].m;
  EXPECT_EQ(req.message_type(), MessageType::request);
  EXPECT_EQ(req.hops, 1);
  EXPECT_EQ(req.ciaddr, v4(62, 12, 173, 123));
  EXPECT_EQ(req.giaddr, v4(62, 12, 173, 121));
  EXPECT_EQ(req.max_message_size(), 1472);
  EXPECT_EQ(vec(*req.option(161)), s("https://mudctl.example.com/.well-known/mud/v1/rasbp101"));
  EXPECT_EQ(vec(*req.vendor_class_id()), s("dhcpcd-6.11.5:Linux-4.1.18-v7+:armv7l:BCM2709"));
  EXPECT_EQ(d[0].f.udp.src_port, 67);
  EXPECT_NE(d[0].f.udp.checksum, 0);
  const DhcpMessage& ack = d[1].m;
  EXPECT_EQ(ack.message_type(), MessageType::ack);
  EXPECT_EQ(ack.server_id(), v4(62, 12, 173, 114));
  EXPECT_EQ(ack.lease_time(), 600u);
  EXPECT_EQ(ack.subnet_mask(), v4(255, 255, 255, 248));
  EXPECT_EQ(ack.domain_name(), "ofcourseimright.com");
  EXPECT_EQ(vec(*ack.option(101)), s("Europe/Berlin"));
}

TEST(Corpus, StaticRoutesAndTftpServers) {
  const auto routes = decode_capture("dhcp-option-33.pcap");
  ASSERT_EQ(routes.size(), 5u);
  for (const auto& d : routes) EXPECT_EQ(d.m.xid, 0x12345678u);
  EXPECT_EQ(vec(*routes[0].m.option(33)), cat({ip(10, 0, 0, 1), ip(10, 0, 0, 2)}));
  EXPECT_EQ(routes[1].m.option(33)->size(), 16u);

  const auto tftp = decode_capture("dhcp-rfc5859.pcap");
  ASSERT_EQ(tftp.size(), 4u);
  EXPECT_EQ(tftp[0].m.xid, 0xde549277u);
  EXPECT_EQ(vec(*tftp[1].m.option(150)), cat({ip(192, 168, 1, 10), ip(192, 168, 1, 11)}));
  EXPECT_EQ(tftp[1].m.lease_time(), 43200u);
}

TEST(Corpus, Rfc4388LeaseQueryMix) {
  // Frames 43 and 44 carry the cookie one and two bytes late (tcpdump prints
  // "Vendor-#0x53633501"): DHCP refuses them.
  const auto d = decode_capture("dhcp-rfc4388.pcap", {43, 44});
  ASSERT_EQ(d.size(), 54u);
  EXPECT_EQ(d[42].m.error, Error::dhcp_no_cookie);
  EXPECT_EQ(d[43].m.error, Error::dhcp_no_cookie);
  EXPECT_EQ(d[44].m.message_type(), MessageType::lease_query);
  EXPECT_EQ(d[44].m.ciaddr, v4(10, 30, 4, 4));
  std::size_t arp = 0, icmp = 0, dhcp = 0;
  for (const auto& x : d) {
    arp += x.f.kind == FrameKind::arp;
    icmp += x.f.kind == FrameKind::ipv4_icmp;
    dhcp += x.f.kind == FrameKind::ipv4_udp;
  }
  EXPECT_EQ(arp, 12u);
  EXPECT_EQ(icmp, 6u);
  EXPECT_EQ(dhcp, 36u);
  EXPECT_EQ(d[0].m.xid, 0x3cd0af7eu);
  EXPECT_EQ(d[0].m.giaddr, v4(10, 30, 1, 1));
  EXPECT_EQ(d[0].f.ip.flags_fragment, 0x4000);
  EXPECT_EQ(d[16].f.arp.op, 1);
  EXPECT_EQ(d[16].f.arp.tpa, v4(10, 40, 1, 1));
  EXPECT_EQ(d[17].f.arp.op, 2);
  EXPECT_EQ(d[17].f.arp.sha, (MacAddr{{0x74, 0x83, 0xef, 0x07, 0xd0, 0xa9}}));
}

TEST(Corpus, TcpdumpCrashersAreRefused) {
  for (const char* name : {"bootp_asan.pcap", "bootp_asan-2.pcap"}) {
    const std::vector<Buf> frames = read_capture(corpus(name));
    ASSERT_EQ(frames.size(), 1u) << name;
    EXPECT_NE(parse_all(frames[0]), Error::ok) << name;
  }
}

// The hand-made fuzz seeds (tests/fuzz/make_wire_seeds.py) must keep reaching
// the paths they were made for, so a codec change cannot quietly turn them
// into early rejects.
TEST(FuzzSeeds, ParseAsIntended) {
  const auto dir = std::filesystem::path(__FILE__).parent_path() / "fuzz" / "seeds" / "wire";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " not found";
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    std::ifstream in(entry.path(), std::ios::binary);
    const Buf frame((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (name.rfind("text_", 0) == 0) {   // address text for wire/text.hpp's parsers, not a frame
      const std::string_view text(reinterpret_cast<const char*>(frame.data()), frame.size());
      EXPECT_TRUE(parse_ipv4(text) || parse_mac(text)) << text;
      ++count;
      continue;
    }
    const Frame f = parse_frame(bytes(frame));
    ASSERT_EQ(f.error, Error::ok);
    ++count;
    if (name == "arp_request.bin") {
      EXPECT_EQ(f.kind, FrameKind::arp);
      continue;
    }
    ASSERT_EQ(f.kind, FrameKind::ipv4_udp);
    const DhcpMessage m = parse_dhcp(f.udp_payload(bytes(frame)));
    if (name == "bootp_no_cookie.bin" || name == "bootp_cmu_vendor.bin") {
      EXPECT_EQ(m.error, Error::dhcp_no_cookie);
      EXPECT_TRUE(m.plain_bootp_request());   // served as a BOOTP client's (engine/bootp.cpp)
      continue;
    }
    ASSERT_EQ(m.error, Error::ok) << error_name(m.error) << " option " << int{m.error_option};
    if (name == "request_relayed_qinq.bin") {
      EXPECT_EQ(f.eth.vlan_count, 2);
      EXPECT_TRUE(m.relay_agent_info()->link_selection);
      EXPECT_TRUE(m.client_fqdn());
    } else if (name == "offer_overload_split.bin") {
      EXPECT_EQ(m.areas, area_options | area_file | area_sname);
      EXPECT_EQ(m.instances(121), 2);
      EXPECT_EQ(vec(*m.option(43)), s("opt-file-sname"));
    } else if (name == "discover_53_in_file.bin") {
      EXPECT_EQ(m.areas, area_options | area_file);
      EXPECT_EQ(m.message_type(), MessageType::discover);
      EXPECT_TRUE(m.client_id());
    } else if (name == "request_53_in_sname.bin") {
      EXPECT_EQ(m.areas, area_options | area_sname);
      EXPECT_EQ(m.message_type(), MessageType::request);
      EXPECT_TRUE(m.server_id() && m.requested_ip());
    } else if (name == "discover_overload_both_relayed.bin") {
      EXPECT_EQ(m.areas, area_options | area_file | area_sname);
      EXPECT_EQ(m.message_type(), MessageType::discover);
      EXPECT_TRUE(m.relay_agent_info());
    } else if (name == "bootp_rfc1497.bin") {
      EXPECT_TRUE(m.has_cookie);
      EXPECT_FALSE(m.message_type());
      EXPECT_EQ(m.hostname(), "bootp-host");
    } else if (name == "inform_ipopts_nosum.bin") {
      EXPECT_EQ(f.ip.header_length, 24);
      EXPECT_EQ(f.udp.checksum, 0);
      EXPECT_EQ(m.hostname(), "ws-01");
    }
  }
  EXPECT_EQ(count, 14u);
}

}  // namespace
}  // namespace dorado::wire
