#include "wire/l3reply.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace dorado::wire {
namespace {

constexpr Ipv4 kServer = 0x0a630001;  // 10.99.0.1
constexpr Ipv4 kClient = 0x0a630164;  // 10.99.1.100
const MacAddr kServerMac{{0x02, 0xaa, 0, 0, 0, 1}};
const MacAddr kClientMac{{0x02, 0xbb, 0, 0, 0, 2}};

std::vector<std::uint8_t> eth(std::uint16_t type, const MacAddr& dst, bool vlan) {
  std::vector<std::uint8_t> f(vlan ? 18 : 14);
  std::memcpy(f.data(), dst.b.data(), 6);
  std::memcpy(f.data() + 6, kClientMac.b.data(), 6);
  if (vlan) {
    store_be16(f.data() + 12, kEtherTypeVlan);
    store_be16(f.data() + 14, 42);
    store_be16(f.data() + 16, type);
  } else {
    store_be16(f.data() + 12, type);
  }
  return f;
}

std::vector<std::uint8_t> arp_request(Ipv4 spa, Ipv4 tpa, bool vlan = false) {
  auto f = eth(kEtherTypeArp, MacAddr::broadcast(), vlan);
  std::uint8_t a[28] = {0, 1, 8, 0, 6, 4, 0, 1};
  std::memcpy(a + 8, kClientMac.b.data(), 6);
  store_be32(a + 14, spa);
  store_be32(a + 24, tpa);
  f.insert(f.end(), a, a + 28);
  f.resize(f.size() + 18, 0);  // Ethernet padding to 60 bytes
  return f;
}

std::vector<std::uint8_t> echo_request(Ipv4 dst, std::size_t data_len, bool vlan = false) {
  auto f = eth(kEtherTypeIpv4, kServerMac, vlan);
  const std::size_t l3 = f.size();
  f.resize(l3 + 20 + 8 + data_len);
  std::uint8_t* ip = f.data() + l3;
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<std::uint16_t>(28 + data_len));
  store_be16(ip + 4, 7);
  ip[8] = 63;
  ip[9] = kIpProtoIcmp;
  store_be32(ip + 12, kClient);
  store_be32(ip + 16, dst);
  store_be16(ip + 10, ipv4_header_checksum({ip, 20}));
  std::uint8_t* icmp = ip + 20;
  icmp[0] = 8;
  store_be16(icmp + 4, 0x1234);
  store_be16(icmp + 6, 9);
  for (std::size_t i = 0; i < data_len; ++i) icmp[8 + i] = static_cast<std::uint8_t>(i);
  store_be16(icmp + 2, ipv4_header_checksum({icmp, 8 + data_len}));
  return f;
}

TEST(ArpReply, AnswersRequestForServerAddress) {
  for (bool vlan : {false, true}) {
    auto pkt = arp_request(kClient, kServer, vlan);
    const Frame f = parse_frame(pkt);
    ASSERT_EQ(f.error, Error::ok);
    ASSERT_TRUE(is_arp_request_for(f, kServer));
    make_arp_reply(pkt, f, kServerMac, kServer);
    const Frame r = parse_frame(pkt);
    ASSERT_EQ(r.kind, FrameKind::arp);
    EXPECT_EQ(r.eth.dst, kClientMac);
    EXPECT_EQ(r.eth.src, kServerMac);
    EXPECT_EQ(r.eth.vlan_count, vlan ? 1 : 0);
    if (vlan) {
      EXPECT_EQ(r.eth.vlans[0].vid(), 42);
    }
    EXPECT_EQ(r.arp.op, 2);
    EXPECT_EQ(r.arp.sha, kServerMac);
    EXPECT_EQ(r.arp.spa, kServer);
    EXPECT_EQ(r.arp.tha, kClientMac);
    EXPECT_EQ(r.arp.tpa, kClient);
  }
}

TEST(ArpReply, AnswersProbeButNotOtherTargetsOrGratuitous) {
  EXPECT_TRUE(is_arp_request_for(parse_frame(arp_request(0, kServer)), kServer));
  EXPECT_FALSE(is_arp_request_for(parse_frame(arp_request(kClient, kClient + 1)), kServer));
  EXPECT_FALSE(is_arp_request_for(parse_frame(arp_request(kServer, kServer)), kServer));
  auto reply = arp_request(kClient, kServer);
  store_be16(reply.data() + 14 + 6, 2);  // op = reply
  EXPECT_FALSE(is_arp_request_for(parse_frame(reply), kServer));
}

TEST(IcmpEcho, RepliesWithValidChecksumsAndSameData) {
  for (bool vlan : {false, true}) {
    auto pkt = echo_request(kServer, 56, vlan);
    const auto original = pkt;
    pkt.resize(pkt.size() + 5, 0xee);  // trailing padding must be cut
    const Frame f = parse_frame(pkt);
    ASSERT_EQ(f.kind, FrameKind::ipv4_icmp);
    ASSERT_TRUE(is_icmp_echo_for(pkt, f, kServer));
    const std::size_t len = make_icmp_echo_reply(pkt, f, kServerMac);
    EXPECT_EQ(len, original.size());
    pkt.resize(len);
    const Frame r = parse_frame(pkt);
    ASSERT_EQ(r.error, Error::ok);  // IPv4 header checksum verified by the parser
    EXPECT_EQ(r.eth.dst, kClientMac);
    EXPECT_EQ(r.eth.src, kServerMac);
    EXPECT_EQ(r.ip.src, kServer);
    EXPECT_EQ(r.ip.dst, kClient);
    const std::size_t icmp = r.eth.l3_offset + 20;
    EXPECT_EQ(pkt[icmp], 0);
    EXPECT_EQ(ipv4_header_checksum(Bytes(pkt).subspan(icmp)), 0);
    EXPECT_TRUE(std::equal(pkt.begin() + icmp + 4, pkt.end(), original.begin() + icmp + 4));
  }
}

TEST(IcmpEcho, IgnoresOtherAddressesTypesAndBadChecksums) {
  auto other = echo_request(kServer + 1, 8);
  EXPECT_FALSE(is_icmp_echo_for(other, parse_frame(other), kServer));
  auto bad = echo_request(kServer, 8);
  bad[14 + 20 + 8] ^= 0xff;  // corrupt data, checksum now wrong
  EXPECT_FALSE(is_icmp_echo_for(bad, parse_frame(bad), kServer));
  auto reply = echo_request(kServer, 8);
  reply[14 + 20] = 0;  // already an echo reply
  EXPECT_FALSE(is_icmp_echo_for(reply, parse_frame(reply), kServer));
}

}  // namespace
}  // namespace dorado::wire
