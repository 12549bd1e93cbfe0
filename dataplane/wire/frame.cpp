#include "wire/frame.hpp"

#include <bit>
#include <cstring>

#include <emmintrin.h>   // SSE2: baseline on x86-64

namespace dorado::wire {
namespace {

constexpr std::size_t kEthHeader = 14;
constexpr std::size_t kVlanTag = 4;
constexpr std::size_t kArpSize = 28;
constexpr std::size_t kIpv4MinHeader = 20;
constexpr std::size_t kUdpHeader = 8;

bool is_vlan_tpid(std::uint16_t t) noexcept {
  return t == kEtherTypeVlan || t == kEtherTypeQinQ || t == kEtherTypeQinQOld;
}

}  // namespace

std::uint32_t checksum_add(std::uint32_t sum, Bytes data) noexcept {
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  // The ones'-complement sum does not depend on byte order (RFC 1071 2.B)
  // and, since 2^16 = 1 modulo 0xffff, neither on the word size: add the
  // native 32-bit words into 64-bit accumulators (no carry chain), fold to
  // 16 bits, and swap once into network order. With SSE2, 32 bytes per step
  // (then one 16-byte step), each 32-bit word zero-extended into a 64-bit
  // lane: ~11 ns for 320 bytes, where 16 bytes per step in general registers
  // took ~20 (the loops alone, over a hot buffer). A 4-byte big-endian add
  // per step, then an 8-byte add-with-carry chain, were slower still
  // (bench/engine_bench BM_ReplyBuild). Every chunk before the last byte is
  // even-sized, so an odd last byte is the first (high, in network order)
  // byte of its word.
  const __m128i zero = _mm_setzero_si128();
  __m128i va = zero, vb = zero, vc = zero, vd = zero;
  auto add16 = [zero](const std::uint8_t* q, __m128i& lo, __m128i& hi) noexcept {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    lo = _mm_add_epi64(lo, _mm_unpacklo_epi32(x, zero));
    hi = _mm_add_epi64(hi, _mm_unpackhi_epi32(x, zero));
  };
  for (; n >= 32; p += 32, n -= 32) {
    add16(p, va, vb);
    add16(p + 16, vc, vd);
  }
  if (n >= 16) {
    add16(p, va, vb);
    p += 16;
    n -= 16;
  }
  std::uint64_t lanes[2];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(lanes),
                   _mm_add_epi64(_mm_add_epi64(va, vb), _mm_add_epi64(vc, vd)));
  std::uint64_t a = lanes[0], b = lanes[1], c = 0, d = 0;
  if (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    a += w & 0xffffffffu;
    b += w >> 32;
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    c += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    d += w;
    p += 2;
    n -= 2;
  }
  if (n) {
    const std::uint8_t last[2] = {*p, 0};
    std::uint16_t w;
    std::memcpy(&w, last, 2);
    a += w;
  }
  // Each lane or accumulator gains less than 2^32 per step: no overflow for
  // any frame. The sum of the four fits as well, then folds end-around.
  std::uint64_t acc = a + b + c + d;
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffu) + (acc >> 16);
  acc = (acc & 0xffffu) + (acc >> 16);
  acc = (acc & 0xffffu) + (acc >> 16);
  std::uint16_t folded = static_cast<std::uint16_t>(acc);
  if constexpr (std::endian::native == std::endian::little) folded = __builtin_bswap16(folded);
  std::uint64_t total = std::uint64_t{sum} + folded;
  total = (total & 0xffffffffu) + (total >> 32);
  return static_cast<std::uint32_t>(total);
}

std::uint16_t checksum_fold(std::uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffffu);
}

std::uint16_t ipv4_header_checksum(Bytes hdr) noexcept {
  return checksum_fold(checksum_add(0, hdr));
}

std::uint16_t udp_pseudo_header_sum(Ipv4 src, Ipv4 dst, std::size_t udp_length) noexcept {
  std::uint32_t sum = (src >> 16) + (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu) + kIpProtoUdp +
                      static_cast<std::uint32_t>(udp_length);
  while (sum >> 16) sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

std::uint16_t udp_checksum(Ipv4 src, Ipv4 dst, Bytes udp) noexcept {
  const std::uint16_t c = checksum_fold(checksum_add(udp_pseudo_header_sum(src, dst, udp.size()), udp));
  return c == 0 ? 0xffff : c;
}

bool complete_offloaded_checksums(MutableBytes frame, std::size_t l2_len) noexcept {
  if (l2_len > frame.size() || frame.size() - l2_len < kIpv4MinHeader + kUdpHeader) return false;
  std::uint8_t* const ip = frame.data() + l2_len;
  const std::size_t ihl = (ip[0] & 0x0fu) * 4u;
  if ((ip[0] >> 4) != 4 || ihl < kIpv4MinHeader || ip[9] != kIpProtoUdp) return false;
  const std::size_t total = load_be16(ip + 2);
  if (total < ihl + kUdpHeader || frame.size() - l2_len < total) return false;
  std::uint8_t* const udp = ip + ihl;
  const std::size_t udp_length = load_be16(udp + 4);
  if (udp_length != total - ihl) return false;
  store_be16(ip + 10, 0);
  store_be16(ip + 10, ipv4_header_checksum(Bytes{ip, ihl}));
  store_be16(udp + 6, 0);   // (it held the pseudo-header sum, which udp_checksum adds)
  store_be16(udp + 6, udp_checksum(load_be32(ip + 12), load_be32(ip + 16), Bytes{udp, udp_length}));
  return true;
}

namespace {

// parse_frame's body: fills `f`, returns its error. parse_frame then has one
// return of one object, which the compiler builds in the caller's Frame;
// with a copy per early return, every parse ended in an 84-byte copy of a
// Frame just stored field by field (rep movs, a store-forwarding stall: half
// of parse_frame's samples in the pipeline's worker).
Error parse_into(Frame& f, Bytes pkt, Verified verified) noexcept {
  if (pkt.size() < kEthHeader) return Error::eth_truncated;
  const std::uint8_t* p = pkt.data();
  f.eth.dst = load_mac(p);
  f.eth.src = load_mac(p + 6);
  std::size_t off = 12;
  std::uint16_t type = load_be16(p + off);
  while (is_vlan_tpid(type)) {
    if (f.eth.vlan_count == 2) return Error::vlan_too_many;
    if (pkt.size() < off + kVlanTag + 2) return Error::vlan_truncated;
    f.eth.vlans[f.eth.vlan_count++] = VlanTag{type, load_be16(p + off + 2)};
    off += kVlanTag;
    type = load_be16(p + off);
  }
  off += 2;
  f.eth.ethertype = type;
  f.eth.l3_offset = static_cast<std::uint16_t>(off);

  if (type == kEtherTypeArp) {
    if (pkt.size() < off + kArpSize) return Error::arp_truncated;
    const std::uint8_t* a = p + off;
    if (load_be16(a) != 1 || load_be16(a + 2) != kEtherTypeIpv4 || a[4] != 6 || a[5] != 4)
      return Error::arp_unsupported;
    f.kind = FrameKind::arp;
    f.arp.op = load_be16(a + 6);
    f.arp.sha = load_mac(a + 8);
    f.arp.spa = load_be32(a + 14);
    f.arp.tha = load_mac(a + 18);
    f.arp.tpa = load_be32(a + 24);
    return Error::ok;
  }
  if (type != kEtherTypeIpv4) return Error::ok;  // kind = other

  if (pkt.size() < off + kIpv4MinHeader) return Error::ipv4_truncated;
  const std::uint8_t* ip = p + off;
  if ((ip[0] >> 4) != 4) return Error::ipv4_bad_version;
  const std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0f) * 4;
  if (ihl < kIpv4MinHeader || off + ihl > pkt.size()) return Error::ipv4_bad_ihl;
  f.ip.header_length = static_cast<std::uint8_t>(ihl);
  f.ip.tos = ip[1];
  f.ip.total_length = load_be16(ip + 2);
  f.ip.id = load_be16(ip + 4);
  f.ip.flags_fragment = load_be16(ip + 6);
  f.ip.ttl = ip[8];
  f.ip.protocol = ip[9];
  f.ip.src = load_be32(ip + 12);
  f.ip.dst = load_be32(ip + 16);
  if (f.ip.total_length < ihl || off + f.ip.total_length > pkt.size())
    return Error::ipv4_bad_total_length;
  if (!verified.ipv4_checksum && ipv4_header_checksum(pkt.subspan(off, ihl)) != 0)
    return Error::ipv4_bad_checksum;
  // MF flag or a non-zero offset: any fragment, first or later.
  if ((f.ip.flags_fragment & 0x3fff) != 0) return Error::ipv4_fragment;

  const std::size_t l4 = off + ihl;
  const std::size_t l4_len = f.ip.total_length - ihl;
  if (f.ip.protocol == kIpProtoIcmp) {
    f.kind = FrameKind::ipv4_icmp;
    return Error::ok;
  }
  if (f.ip.protocol != kIpProtoUdp) {
    f.kind = FrameKind::ipv4_other;
    return Error::ok;
  }
  if (l4_len < kUdpHeader) return Error::udp_truncated;
  const std::uint8_t* u = p + l4;
  f.udp.src_port = load_be16(u);
  f.udp.dst_port = load_be16(u + 2);
  f.udp.length = load_be16(u + 4);
  f.udp.checksum = load_be16(u + 6);
  if (f.udp.length < kUdpHeader || f.udp.length > l4_len) return Error::udp_bad_length;
  if (f.udp.checksum != 0 && !verified.udp_checksum) {
    const Bytes seg = pkt.subspan(l4, f.udp.length);
    // A correct segment sums (with its checksum field) to 0xffff.
    if (checksum_fold(checksum_add(udp_pseudo_header_sum(f.ip.src, f.ip.dst, f.udp.length), seg)) != 0)
      return Error::udp_bad_checksum;
  }
  f.udp.payload_offset = static_cast<std::uint16_t>(l4 + kUdpHeader);
  f.udp.payload_length = static_cast<std::uint16_t>(f.udp.length - kUdpHeader);
  f.kind = FrameKind::ipv4_udp;
  return Error::ok;
}

}  // namespace

Frame parse_frame(Bytes pkt, Verified verified) noexcept {
  Frame f;
  f.error = parse_into(f, pkt, verified);
  return f;
}

}  // namespace dorado::wire
