#include "wire/probe.hpp"

#include <algorithm>
#include <cstring>

namespace dorado::wire {
namespace {

constexpr std::size_t kMinFrame = 60;   // without FCS
constexpr std::uint8_t kIcmpEchoRequest = 8;
constexpr std::uint8_t kIcmpEchoReply = 0;
constexpr std::size_t kIcmpPayload = 16;
constexpr std::uint8_t kPayload[kIcmpPayload] = {'d', 'o', 'r', 'a', 'd', 'o', ' ', 'p',
                                                 'r', 'o', 'b', 'e', 0,   0,   0,   0};

// Ethernet header with tags; returns the L3 offset.
std::size_t put_l2(std::uint8_t* p, const MacAddr& dst, const ProbeL2& l2, std::uint16_t type) noexcept {
  std::memcpy(p, dst.b.data(), 6);
  std::memcpy(p + 6, l2.src.b.data(), 6);
  std::size_t off = 12;
  for (unsigned i = 0; i < l2.vlan_count && i < 2; ++i) {
    store_be16(p + off, l2.vlans[i].tpid);
    store_be16(p + off + 2, l2.vlans[i].tci);
    off += 4;
  }
  store_be16(p + off, type);
  return off + 2;
}

std::size_t l2_len(const ProbeL2& l2) noexcept { return 14u + 4u * (l2.vlan_count < 2 ? l2.vlan_count : 2u); }

std::size_t padded(MutableBytes out, std::size_t len) noexcept {
  if (len >= kMinFrame) return len;
  std::memset(out.data() + len, 0, kMinFrame - len);
  return kMinFrame;
}

}  // namespace

std::size_t build_arp_probe(MutableBytes out, const ProbeL2& l2, Ipv4 target) noexcept {
  const std::size_t len = l2_len(l2) + 28;
  if (out.size() < std::max(len, kMinFrame)) return 0;
  std::uint8_t* p = out.data();
  std::uint8_t* a = p + put_l2(p, MacAddr::broadcast(), l2, kEtherTypeArp);
  store_be16(a, 1);        // Ethernet
  store_be16(a + 2, kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  store_be16(a + 6, 1);    // request
  std::memcpy(a + 8, l2.src.b.data(), 6);
  store_be32(a + 14, 0);   // RFC 5227: sender address 0 while probing
  std::memset(a + 18, 0, 6);
  store_be32(a + 24, target);
  return padded(out, len);
}

std::size_t build_icmp_probe(MutableBytes out, const ProbeL2& l2, Ipv4 src, Ipv4 dst,
                             std::uint16_t seq) noexcept {
  const std::size_t ip_len = 20 + 8 + kIcmpPayload;
  const std::size_t len = l2_len(l2) + ip_len;
  if (out.size() < std::max(len, kMinFrame)) return 0;
  std::uint8_t* p = out.data();
  std::uint8_t* ip = p + put_l2(p, l2.dst, l2, kEtherTypeIpv4);
  ip[0] = 0x45;
  ip[1] = 0;
  store_be16(ip + 2, static_cast<std::uint16_t>(ip_len));
  store_be16(ip + 4, seq);   // IP id: any; the sequence is as good
  store_be16(ip + 6, 0x4000);   // DF
  ip[8] = 64;
  ip[9] = kIpProtoIcmp;
  store_be16(ip + 10, 0);
  store_be32(ip + 12, src);
  store_be32(ip + 16, dst);
  store_be16(ip + 10, ipv4_header_checksum({ip, 20}));
  std::uint8_t* icmp = ip + 20;
  icmp[0] = kIcmpEchoRequest;
  icmp[1] = 0;
  store_be16(icmp + 2, 0);
  store_be16(icmp + 4, kProbeIcmpId);
  store_be16(icmp + 6, seq);
  std::memcpy(icmp + 8, kPayload, kIcmpPayload);
  store_be16(icmp + 2, ipv4_header_checksum({icmp, 8 + kIcmpPayload}));   // ICMP sums like IPv4
  return padded(out, len);
}

ProbeAnswer probe_answer_of(Bytes pkt, const Frame& f, const MacAddr& own) noexcept {
  ProbeAnswer a;
  if (f.error != Error::ok) return a;
  if (f.kind == FrameKind::arp) {
    if ((f.arp.op == 1 || f.arp.op == 2) && f.arp.spa != 0 && !(f.arp.sha == own)) {
      a.address = f.arp.spa;
      a.mac = f.arp.sha;
    }
    return a;
  }
  if (f.kind != FrameKind::ipv4_icmp) return a;
  const std::size_t icmp = f.eth.l3_offset + f.ip.header_length;
  const std::size_t len = f.ip.total_length - f.ip.header_length;
  if (len < 8 || icmp + len > pkt.size()) return a;
  if (pkt[icmp] != kIcmpEchoReply || pkt[icmp + 1] != 0) return a;
  if (load_be16(pkt.data() + icmp + 4) != kProbeIcmpId) return a;
  if (ipv4_header_checksum(pkt.subspan(icmp, len)) != 0 || f.ip.src == 0) return a;
  a.address = f.ip.src;
  a.mac = f.eth.src;
  a.icmp = true;
  return a;
}

}  // namespace dorado::wire
