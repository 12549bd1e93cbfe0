// Building DHCP frames (Ethernet [+VLANs] + IPv4 + UDP + BOOTP/DHCP) into a
// caller-given buffer. Used for server replies and, by tests and dorado-gen,
// for client requests.
//
// Contract: pure, noexcept, no allocation. `out` must not overlap any bytes
// the spec points to (the runtime builds into a per-lcore scratch or copies
// what it needs first). Cost: proportional to the bytes written, ~100 ns for
// a 342-byte reply including both checksums.
//
// Option order in the message (what clients and relays expect):
//   53 (message type), 54 (server id, if non-zero), then the options the
//   client listed in `parameter_request_list` in that order, then the other
//   options in the order given, then 82 (relay agent info echo), then END.
// Values longer than 255 bytes are split into several instances (RFC 3396).
// Size: the BOOTP message never exceeds max(max_message_size, 576) - 28
// (IPv4 + UDP headers; RFC 2132 9.10). Mandatory options (53, 54, 82 and
// those marked mandatory) are reserved first; if they do not fit, the build
// fails with mandatory_too_large. Optional options that do not fit in what is
// left are skipped (largest-first is not attempted: in emission order, each
// one that fits is kept). The message is zero-padded to 300 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/bytes.hpp"
#include "wire/dhcp.hpp"
#include "wire/errors.hpp"
#include "wire/frame.hpp"

namespace dorado::wire {

struct OptionValue {
  std::uint8_t code = 0;
  Bytes value{};
  bool mandatory = false;   // never dropped for size (51, 58, 59, 1 ... per engine)
};

// L2-L4 envelope of the frame.
struct Envelope {
  MacAddr eth_src;
  MacAddr eth_dst;
  std::uint8_t vlan_count = 0;          // tags written outermost first
  std::array<VlanTag, 2> vlans{};
  Ipv4 ip_src = 0;
  Ipv4 ip_dst = 0;
  std::uint8_t ttl = 64;
  std::uint8_t tos = 0;
  std::uint16_t ip_id = 0;
  std::uint16_t src_port = kPortBootps;
  std::uint16_t dst_port = kPortBootpc;
  bool udp_checksum = true;             // false: leave 0 (allowed for IPv4)
  // For a NIC with TX checksum offload (DPDK RTE_MBUF_F_TX_IP_CKSUM |
  // RTE_MBUF_F_TX_UDP_CKSUM): the IPv4 header checksum is left 0 and the UDP
  // field holds the pseudo-header sum (folded, not complemented), which the
  // NIC completes over the datagram. Nothing of the payload is summed. It
  // overrides udp_checksum = false: the NIC always fills the UDP checksum.
  bool checksum_offload = false;
};

// BOOTP fixed fields. sname/file are written zeroed (dorado never overloads).
// siaddr is 0 in every reply dorado builds.
struct BootpFields {
  std::uint8_t op = 2;                  // 1 request, 2 reply
  std::uint8_t htype = 1;
  std::uint8_t hlen = 6;
  std::uint8_t hops = 0;
  std::uint32_t xid = 0;
  std::uint16_t secs = 0;
  std::uint16_t flags = 0;
  Ipv4 ciaddr = 0;
  Ipv4 yiaddr = 0;
  Ipv4 siaddr = 0;
  Ipv4 giaddr = 0;
  std::array<std::uint8_t, 16> chaddr{};
};

struct DhcpOptionsSpec {
  MessageType type = MessageType::offer;
  Ipv4 server_id = 0;                   // option 54; 0 = omit
  Bytes parameter_request_list{};       // the client's option 55, for ordering
  std::span<const OptionValue> options{};  // everything else; entries with code
                                        // 0, 52, 53, 54, 82 or 255 are ignored
  Bytes relay_agent_info{};             // option 82 to echo; empty = omit
  std::uint16_t max_message_size = 0;   // client's option 57; <576 means 576
};

// Wire size of an option value split into 255-byte instances (RFC 3396); an
// empty value is one instance of length 0.
constexpr std::size_t encoded_option_size(std::size_t value_length) noexcept {
  const std::size_t instances = value_length == 0 ? 1 : (value_length + 254) / 255;
  return instances * 2 + value_length;
}

struct BuildResult {
  Error error = Error::ok;
  std::size_t length = 0;               // frame bytes written
  std::size_t dhcp_offset = 0;          // where the BOOTP message starts
};

// Writes a complete frame. On error nothing useful is in `out`. Errors:
// buffer_too_small, mandatory_too_large, vlan_too_many (env.vlan_count > 2).
BuildResult build_dhcp_frame(MutableBytes out, const Envelope& env, const BootpFields& bootp,
                             const DhcpOptionsSpec& options) noexcept;

// Writes only the BOOTP/DHCP message (the UDP payload) into `out`.
BuildResult build_dhcp_message(MutableBytes out, const BootpFields& bootp,
                               const DhcpOptionsSpec& options) noexcept;

// A server reply whose options after 54 are already encoded (the engine keeps
// them per subnet and option 55; see engine::ReplyCache): 53, 54 (if
// non-zero), `encoded` as given with the `patches` applied, 61 (echo, if
// non-empty), 82 (echo, if non-empty), END, zero padding to 300 bytes. It
// drops nothing: if the whole message does not fit the budget (option 57, at
// least 576) it fails with mandatory_too_large, and the caller builds the
// reply the generic way, which drops optional options to make room.
struct Patch32 {
  std::uint16_t offset = 0;   // into `encoded`: where a big-endian 32-bit value goes
  std::uint32_t value = 0;
};
struct EncodedOptionsSpec {
  MessageType type = MessageType::offer;
  Ipv4 server_id = 0;                   // option 54; 0 = omit
  Bytes encoded{};                      // option bytes, instances and all
  std::span<const Patch32> patches{};   // offsets + 4 <= encoded.size()
  Bytes client_id{};                    // option 61 to echo; empty = omit
  Bytes relay_agent_info{};             // option 82 to echo; empty = omit
  std::uint16_t max_message_size = 0;   // client's option 57; <576 means 576
};
BuildResult build_dhcp_frame_encoded(MutableBytes out, const Envelope& env, const BootpFields& bootp,
                                     const EncodedOptionsSpec& options) noexcept;
// The same with option 81 (`client_fqdn`, non-empty) written after 61: the
// reply to a client that sent 81 when [ddns] is on. A function of its own
// so that the common reply pays nothing for it.
BuildResult build_dhcp_frame_encoded(MutableBytes out, const Envelope& env, const BootpFields& bootp,
                                     const EncodedOptionsSpec& options, Bytes client_fqdn) noexcept;

// A BOOTREPLY to a BOOTP client (RFC 951, RFC 1497 vendor extensions; no
// option 53 or 54): the fixed fields (sname, file zero), the magic cookie,
// `options` in the order given, each one skipped when it does not fit in
// `max_message` bytes of BOOTP message, 82 echoed when given (it must fit,
// else mandatory_too_large), END, zero padding to the 300-byte minimum (a
// vendor area of at least 64 bytes). Entries with code 0, 52, 53, 54, 82 or
// 255 are ignored.
struct BootpReplySpec {
  std::span<const OptionValue> options{};
  Bytes relay_agent_info{};             // option 82 to echo; empty = omit
  std::size_t max_message = kBootpMinSize;   // below 300 means 300
};
BuildResult build_bootp_frame(MutableBytes out, const Envelope& env, const BootpFields& bootp,
                              const BootpReplySpec& spec) noexcept;

// Writes the L2-L4 headers in front of a DHCP message already at
// out[header_size(env) ...] of `payload_length` bytes and fills in lengths and
// checksums. Returns the frame length, or 0 if `out` is too small (or
// env.vlan_count > 2, or the payload does not fit in one IPv4 datagram).
std::size_t header_size(const Envelope& env) noexcept;
std::size_t wrap_udp_frame(MutableBytes out, const Envelope& env,
                           std::size_t payload_length) noexcept;

}  // namespace dorado::wire
