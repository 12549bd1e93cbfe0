// Conflict-detection probes (engine/probe.hpp) and their answers: an ARP
// request with sender address 0.0.0.0 (RFC 5227 "ARP Probe") or an ICMP
// echo request, built into a caller buffer; and the test that a received
// frame answers one.
//
// Contract: pure, noexcept, no allocation; any thread. Builders return the
// frame length (padded to the 60-byte Ethernet minimum), 0 when `out` is
// too small.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "wire/bytes.hpp"
#include "wire/frame.hpp"

namespace dorado::wire {

// ICMP identifier of every dorado probe: echo replies carrying another
// one are not answers (someone else's ping).
inline constexpr std::uint16_t kProbeIcmpId = 0xd07a;

// The L2 header of a probe: the DISCOVER's VLAN tags, our port's MAC.
struct ProbeL2 {
  MacAddr src;                 // our MAC on the port
  MacAddr dst = MacAddr::broadcast();
  std::uint8_t vlan_count = 0;
  std::array<VlanTag, 2> vlans{};
};

// "Who has `target`?" from l2.src, sender address 0.0.0.0, target MAC 0,
// to the broadcast MAC (l2.dst is not used).
std::size_t build_arp_probe(MutableBytes out, const ProbeL2& l2, Ipv4 target) noexcept;

// ICMP echo request `src` -> `dst` (TTL 64, identifier kProbeIcmpId,
// sequence `seq`, 16 bytes of payload), to l2.dst (the relay's MAC for a
// relayed request, else broadcast). Checksums in software.
std::size_t build_icmp_probe(MutableBytes out, const ProbeL2& l2, Ipv4 src, Ipv4 dst,
                             std::uint16_t seq) noexcept;

// What answered: `address` 0 when the frame answers no probe.
struct ProbeAnswer {
  Ipv4 address = 0;
  MacAddr mac;          // who answered (ARP sender; for ICMP the frame's L2 source)
  bool icmp = false;
};
// An ARP request or reply whose sender is a non-zero address claimed by a
// MAC other than `own` (a host answering, announcing or using it), or an
// ICMP echo reply with identifier kProbeIcmpId and a good checksum (from
// its IPv4 source). `f` must be parse_frame(pkt)'s, error ok.
ProbeAnswer probe_answer_of(Bytes pkt, const Frame& f, const MacAddr& own) noexcept;

}  // namespace dorado::wire
