// L2-L4 parsing: Ethernet II with up to two VLAN tags (802.1Q 0x8100,
// 802.1ad 0x88a8, and the legacy QinQ 0x9100), ARP, IPv4, UDP, ICMP.
//
// Contract: parse_frame is a pure function over the caller's bytes. It never
// allocates, throws, logs or reads outside `pkt`; the result holds offsets
// into `pkt` and is valid as long as those bytes are. Any thread may call it.
// Cost: a few dozen ns (one IPv4 header checksum, one UDP checksum when set).
#pragma once

#include <array>
#include <cstdint>

#include "wire/bytes.hpp"
#include "wire/errors.hpp"

namespace dorado::wire {

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeArp = 0x0806;
inline constexpr std::uint16_t kEtherTypeVlan = 0x8100;    // 802.1Q C-tag
inline constexpr std::uint16_t kEtherTypeQinQ = 0x88a8;    // 802.1ad S-tag
inline constexpr std::uint16_t kEtherTypeQinQOld = 0x9100; // pre-standard S-tag
inline constexpr std::uint8_t kIpProtoIcmp = 1;
inline constexpr std::uint8_t kIpProtoUdp = 17;
inline constexpr std::uint16_t kPortBootps = 67;
inline constexpr std::uint16_t kPortBootpc = 68;

struct VlanTag {
  std::uint16_t tpid = 0;  // 0x8100, 0x88a8 or 0x9100
  std::uint16_t tci = 0;   // PCP(3) DEI(1) VID(12)
  std::uint16_t vid() const noexcept { return tci & 0x0fff; }
  friend bool operator==(const VlanTag&, const VlanTag&) = default;
};

struct EthernetInfo {
  MacAddr dst;
  MacAddr src;
  std::uint8_t vlan_count = 0;          // 0, 1 or 2; vlans[0] is outermost
  std::array<VlanTag, 2> vlans{};
  std::uint16_t ethertype = 0;          // after the tags
  std::uint16_t l3_offset = 0;          // from the start of the frame
};

struct ArpInfo {
  std::uint16_t op = 0;                 // 1 request, 2 reply
  MacAddr sha;
  Ipv4 spa = 0;
  MacAddr tha;
  Ipv4 tpa = 0;
};

struct Ipv4Info {
  std::uint8_t header_length = 0;       // bytes (IHL * 4), 20..60
  std::uint8_t tos = 0;
  std::uint8_t ttl = 0;
  std::uint8_t protocol = 0;
  std::uint16_t total_length = 0;       // as in the header (checked <= frame)
  std::uint16_t id = 0;
  std::uint16_t flags_fragment = 0;     // raw: flags(3) | offset(13)
  Ipv4 src = 0;
  Ipv4 dst = 0;
};

struct UdpInfo {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint16_t length = 0;             // header + payload, as in the header
  std::uint16_t checksum = 0;           // 0 = not set by the sender
  std::uint16_t payload_offset = 0;     // from the start of the frame
  std::uint16_t payload_length = 0;     // length - 8
};

enum class FrameKind : std::uint8_t {
  arp,        // `arp` valid
  ipv4_udp,   // `ip` and `udp` valid; payload at udp.payload_offset
  ipv4_icmp,  // `ip` valid; ICMP at eth.l3_offset + ip.header_length
  ipv4_other, // `ip` valid, another protocol
  other,      // another ethertype
};

struct Frame {
  Error error = Error::ok;              // when not ok, the other fields are partial
  FrameKind kind = FrameKind::other;
  EthernetInfo eth;
  ArpInfo arp;
  Ipv4Info ip;
  UdpInfo udp;

  // The UDP payload inside `pkt` (empty unless kind == ipv4_udp).
  Bytes udp_payload(Bytes pkt) const noexcept {
    return kind == FrameKind::ipv4_udp ? pkt.subspan(udp.payload_offset, udp.payload_length)
                                       : Bytes{};
  }
};

// Parses L2..L4 of one Ethernet frame. IPv4: version, IHL, total length and
// header checksum are checked, fragments refused (a DHCP server cannot
// reassemble on the fast path). UDP: length checked against the IPv4 payload,
// checksum verified when non-zero. Trailing Ethernet padding is ignored.
// `verified` names the checksums the caller already knows to be good (a NIC's
// RX checksum offload said so, or the frame was parsed before): those are not
// summed again.
struct Verified {
  bool ipv4_checksum = false;
  bool udp_checksum = false;
};
Frame parse_frame(Bytes pkt, Verified verified = {}) noexcept;

// RFC 1071 ones'-complement sum over `data` added to `sum` (not folded).
std::uint32_t checksum_add(std::uint32_t sum, Bytes data) noexcept;
// Folds and complements a checksum_add() accumulator.
std::uint16_t checksum_fold(std::uint32_t sum) noexcept;
// IPv4 header checksum of `hdr` (the checksum field itself is included, so a
// correct header yields 0 and a header with the field zeroed yields the value).
std::uint16_t ipv4_header_checksum(Bytes hdr) noexcept;
// UDP checksum over pseudo-header + `udp` (header and payload); the result is
// what goes in the field (0 is sent as 0xffff per RFC 768).
std::uint16_t udp_checksum(Ipv4 src, Ipv4 dst, Bytes udp) noexcept;
// The IPv4 pseudo-header sum of a UDP datagram of `udp_length` bytes, folded
// to 16 bits and not complemented: what a NIC with TX UDP checksum offload
// expects in the checksum field (DPDK's rte_ipv4_phdr_cksum).
std::uint16_t udp_pseudo_header_sum(Ipv4 src, Ipv4 dst, std::size_t udp_length) noexcept;
// Completes what a NIC with TX checksum offload computes for the IPv4/UDP
// frame at `frame` (l2_len: bytes before the IPv4 header): the IPv4 header
// checksum, and the UDP checksum over the datagram whose field holds the
// pseudo-header sum. For tests and for emulating such a NIC (dorado-bench).
// False if the frame is not IPv4 + UDP of the lengths it claims.
bool complete_offloaded_checksums(MutableBytes frame, std::size_t l2_len) noexcept;

}  // namespace dorado::wire
