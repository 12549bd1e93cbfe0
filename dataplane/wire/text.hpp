// Text forms of IPv4 and MAC addresses: the one parser and the one formatter
// of each, used by the config, the control API, the HA link, the metrics
// listener and the tools. Callers write their own error messages.
//
// IPv4: exactly four decimal octets 0..255 separated by '.', each 1..3 ASCII
// digits without a leading zero ("0" itself is fine, "01" is not: inet_aton
// would read it as octal). Nothing else: no sign, no spaces, no hex ("0x0a"),
// no short forms ("10.1" or "167772161"), no trailing dot. The formatter
// writes that same form, so format_ipv4(*parse_ipv4(s)) == s for every
// accepted s.
//
// MAC: six pairs of hex digits (either case) separated by ':' or all by '-':
// "02:00:0a:0B:00:01", "02-00-0A-0B-00-01". Nothing else: no single digits,
// no mixed separators, no bare "020000000001", no "0200.0000.0001", no spaces.
// The formatter writes lower case with ':' ("02:00:0a:0b:00:01").
//
// Base64 (RFC 4648 section 4, the standard alphabet A-Z a-z 0-9 + /): the
// one decoder, for TSIG secrets in the config and in the DNS message code
// (control/ddns/). Padding is required (the text, without whitespace, is a
// multiple of 4 characters; '=' only as the last one or two); ASCII
// whitespace (space, tab, CR, LF) anywhere is ignored, as in key files and
// bind's `secret "..."`; the bits a final group leaves over must be zero
// (the canonical encoding, RFC 4648 section 3.5), so every accepted text is
// exactly what an encoder writes for its bytes. Anything else is refused.
//
// The parsers and the buffer formatters never allocate (the dataplane's
// way); the std::string formatters and decode_base64 (control side and tools
// only) are the exceptions. Pure; usable from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wire/bytes.hpp"

namespace dorado::wire {

inline constexpr std::size_t kIpv4TextMax = 15;    // "255.255.255.255"
inline constexpr std::size_t kMacTextLen = 17;     // "aa:bb:cc:dd:ee:ff"

std::optional<Ipv4> parse_ipv4(std::string_view text) noexcept;
std::optional<MacAddr> parse_mac(std::string_view text) noexcept;

// "a.b.c.d" into buf (>= kIpv4TextMax + 1 bytes), NUL-terminated; returns the
// length written (7..15, without the NUL).
std::size_t format_ipv4(Ipv4 ip, char* buf) noexcept;
// "aa:bb:cc:dd:ee:ff" into buf (>= kMacTextLen + 1 bytes), NUL-terminated;
// returns 17.
std::size_t format_mac(const MacAddr& mac, char* buf) noexcept;

// Base64 text -> bytes (see above). True with the bytes in `out` (replacing
// what it held; "" decodes to no bytes), false with `out` empty.
bool decode_base64(std::string_view text, std::vector<std::uint8_t>& out);

inline std::string format_ipv4(Ipv4 ip) {
  char buf[kIpv4TextMax + 1];
  return std::string(buf, format_ipv4(ip, buf));
}
inline std::string format_mac(const MacAddr& mac) {
  char buf[kMacTextLen + 1];
  return std::string(buf, format_mac(mac, buf));
}

}  // namespace dorado::wire
