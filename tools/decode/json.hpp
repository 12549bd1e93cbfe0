// JSON rendering of captured DHCP packets for dorado-decode: one object per
// packet, keys in a fixed order (nlohmann::ordered_json).
//
// Contract: tool code, not the packet path; allocates freely. Pure functions
// of their arguments, callable from any thread.
//
// A DHCP packet (UDP port 67 or 68 at either end) renders as
//   {"frame":N,"time":"2016-12-08T12:28:41.189402Z","epoch":1481200121.189402,
//    "length":436,"eth_src":..,"eth_dst":..,"vlans":[{"tpid":"0x8100","vid":7,
//    "pcp":0}],"ip_src":..,"ip_dst":..,"udp_src":67,"udp_dst":67,"op":1,
//    "htype":1,"hlen":6,"hops":1,"xid":"0x068c4847","secs":0,"flags":"0x0000",
//    "broadcast":false,"ciaddr":..,"yiaddr":..,"siaddr":..,"giaddr":..,
//    "chaddr":"b8:27:eb:b8:53:c8","message_type":{"name":"REQUEST","number":3},
//    "options":[{"code":53,"name":"DHCP-Message-Type","length":1,"value":"REQUEST"},..]}
// "captured":N follows "length" when the capture cut the frame short; "sname"
// and "file" follow "chaddr" when those fields hold text rather than options.
// Each option carries either "value" (typed: see option_json) or "hex" (raw
// bytes, for codes without a known type or whose bytes do not fit it).
// A packet the codec refuses renders as
//   {"frame":N,"error":"ipv4_bad_checksum","detail":"IPv4 header checksum mismatch"}
// with "option":code added for option errors.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "decode/capture.hpp"
#include "wire/bytes.hpp"
#include "wire/dhcp.hpp"

namespace dorado::decode {

using Json = nlohmann::ordered_json;

enum class Verdict : std::uint8_t {
  dhcp,       // decoded; `json` is the packet
  malformed,  // refused by wire::parse_frame or parse_dhcp; `json` is the error
  not_dhcp,   // another protocol (ARP, ICMP, other UDP ports, IPv6, ...); `json` is null
};

struct Decoded {
  Verdict verdict = Verdict::not_dhcp;
  Json json;
};

// Decodes one frame. A frame the codec refuses counts as malformed when it
// could be DHCP: L2 errors, IPv4 errors before the protocol is known or with
// protocol UDP, UDP errors unless both ports are known and neither is 67/68.
Decoded decode_frame(const CapturedFrame& frame);

// The JSON object of option `code` of a successfully parsed message:
// {"code","name","length", "instances" (only when > 1), "value" | "hex"}.
// Typed values: IPv4 addresses and lists as dotted strings; strings; integers
// (seconds for 51/58/59); 53 as the type name; 55 as [{"code","name"}];
// 61 as {"type","hex"} (+"mac" for type 1); 81 as flags + name; 82 as a list
// of sub-options; 121 and 33 as route lists; 77 as a list of user classes.
Json option_json(const wire::DhcpMessage& m, std::uint8_t code);

// "2016-12-08T12:28:41.189402Z".
std::string iso8601_utc(std::int64_t sec, std::int32_t usec);
// Lowercase hex, no separators: "01b827eb".
std::string hex(wire::Bytes bytes);
// Addresses and MACs: wire::format_ipv4 and wire::format_mac (wire/text.hpp).

// One line of output (no newline). Strings that are not UTF-8 (hostnames are
// whatever the client sent) get U+FFFD instead of throwing.
std::string to_line(const Json& j);

// Totals over a file, for --summary.
struct Totals {
  std::uint64_t frames = 0;
  std::uint64_t dhcp = 0;
  std::uint64_t malformed = 0;
  std::uint64_t not_dhcp = 0;
  void add(Verdict v) noexcept;
};
// "dhcp-mud.pcap: 2 frames, 2 dhcp, 0 malformed, 0 skipped (not DHCP)".
std::string summary_line(const std::string& file, const Totals& t);

}  // namespace dorado::decode
