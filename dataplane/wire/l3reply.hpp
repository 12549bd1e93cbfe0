// In-place replies for the server's own addresses: ARP "who-has" and ICMP
// echo. The runtime answers both so that clients (and their ARP/ping checks)
// can reach the server address without a kernel stack on the port.
//
// Contract: pure, noexcept, no allocation. Each function takes a frame that
// parse_frame() accepted and rewrites it into the reply in place (addresses
// swapped, VLAN tags kept, checksums updated). Cost: tens of bytes touched.
#pragma once

#include "wire/bytes.hpp"
#include "wire/frame.hpp"

namespace dorado::wire {

// True when `f` is an ARP request for `ip`. RFC 5227 probes (sender address
// 0.0.0.0) are answered, which defends the address; a gratuitous ARP claiming
// `ip` itself (sender address == ip) is not.
bool is_arp_request_for(const Frame& f, Ipv4 ip) noexcept;

// Turns the ARP request in `pkt` into the reply "`ip` is at `mac`".
// Precondition: is_arp_request_for(f, ip).
void make_arp_reply(MutableBytes pkt, const Frame& f, const MacAddr& mac, Ipv4 ip) noexcept;

// True when `f` is an ICMP echo request to `ip` with a sane ICMP header.
bool is_icmp_echo_for(Bytes pkt, const Frame& f, Ipv4 ip) noexcept;

// Turns the ICMP echo request in `pkt` into the echo reply from `mac`.
// Returns the reply's frame length (IP total length + L2 header; trailing
// Ethernet padding is cut). Precondition: is_icmp_echo_for(pkt, f, ip).
std::size_t make_icmp_echo_reply(MutableBytes pkt, const Frame& f, const MacAddr& mac) noexcept;

}  // namespace dorado::wire
