#include "wire/l3reply.hpp"

namespace dorado::wire {
namespace {

constexpr std::uint8_t kIcmpEchoRequest = 8;
constexpr std::uint8_t kIcmpEchoReply = 0;
constexpr std::uint16_t kArpRequest = 1;
constexpr std::uint16_t kArpReply = 2;

void store_mac(std::uint8_t* p, const MacAddr& m) noexcept { std::memcpy(p, m.b.data(), 6); }

}  // namespace

bool is_arp_request_for(const Frame& f, Ipv4 ip) noexcept {
  return f.error == Error::ok && f.kind == FrameKind::arp && f.arp.op == kArpRequest &&
         f.arp.tpa == ip && f.arp.spa != ip;
}

void make_arp_reply(MutableBytes pkt, const Frame& f, const MacAddr& mac, Ipv4 ip) noexcept {
  std::uint8_t* p = pkt.data();
  std::uint8_t* a = p + f.eth.l3_offset;
  store_mac(p, f.arp.sha);          // L2 dst: the asker
  store_mac(p + 6, mac);
  store_be16(a + 6, kArpReply);
  store_mac(a + 8, mac);            // sender: us
  store_be32(a + 14, ip);
  store_mac(a + 18, f.arp.sha);     // target: the asker
  store_be32(a + 24, f.arp.spa);
}

bool is_icmp_echo_for(Bytes pkt, const Frame& f, Ipv4 ip) noexcept {
  if (f.error != Error::ok || f.kind != FrameKind::ipv4_icmp || f.ip.dst != ip) return false;
  const std::size_t icmp = f.eth.l3_offset + f.ip.header_length;
  const std::size_t len = f.ip.total_length - f.ip.header_length;
  if (len < 8 || icmp + len > pkt.size()) return false;
  if (pkt[icmp] != kIcmpEchoRequest || pkt[icmp + 1] != 0) return false;
  return ipv4_header_checksum(pkt.subspan(icmp, len)) == 0;  // ICMP sums like IPv4
}

std::size_t make_icmp_echo_reply(MutableBytes pkt, const Frame& f, const MacAddr& mac) noexcept {
  std::uint8_t* p = pkt.data();
  std::uint8_t* ip = p + f.eth.l3_offset;
  std::uint8_t* icmp = ip + f.ip.header_length;
  const std::size_t icmp_len = f.ip.total_length - f.ip.header_length;
  store_mac(p, f.eth.src);
  store_mac(p + 6, mac);
  // Swap addresses, fresh TTL; IP options are echoed as received.
  store_be32(ip + 12, f.ip.dst);
  store_be32(ip + 16, f.ip.src);
  ip[8] = 64;
  ip[10] = ip[11] = 0;
  store_be16(ip + 10, ipv4_header_checksum({ip, f.ip.header_length}));
  icmp[0] = kIcmpEchoReply;
  icmp[2] = icmp[3] = 0;
  store_be16(icmp + 2, ipv4_header_checksum({icmp, icmp_len}));
  return f.eth.l3_offset + f.ip.total_length;
}

}  // namespace dorado::wire
