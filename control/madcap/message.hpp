// MADCAP (RFC 2730) messages: parse a request, build a reply. Pure: no I/O,
// no heap, no exceptions; every list a message may carry is bounded here
// (a libFuzzer target drives parse(): tests/fuzz/madcap_fuzz.cpp).
//
// Where each layout below comes from (docs/madcap.md, "What is checked
// against what"): the RFC 2730 text itself could not be read while this was
// written, nor when the check was tried again (2026-12-07: only the RFC's
// first page could be retrieved). [IANA] marks what the IANA "MADCAP
// Parameters" registry (which cites RFC 2730) confirms; [HDR] what a
// protocol summary of RFC 2730's message header confirms; [MS] what only
// agrees with Microsoft's Windows MADCAP server and client (the other
// implementation we could compare with), not checked against the RFC text;
// [ours] what is dorado's own choice.
//
// A message (all integers big-endian):
//
//   0  1  version      0                                          [HDR]
//   1  1  msgtype      1 DISCOVER, 2 OFFER, 3 REQUEST, 4 RENEW, 5 ACK, 6 NAK,
//                      7 RELEASE, 8 GETINFO (the "INFORM" of the issue text)
//                                                                  [IANA]
//   2  2  addrfamily   IANA address family number, 1 = IPv4; only IPv4 here
//                                                            [HDR] [MS]
//   4  4  xid          chosen by the client, echoed in the reply   [HDR]
//   8  .. options      code (2), length (2), value; the last one is End (0)
//                                                            [HDR] [MS]
//
// The options this codec knows (codes and names [IANA]), with the value
// layouts dorado reads and writes (IPv4):
//   1  Lease Time            4: seconds                            [MS]
//   2  Server Identifier     6: address family (2) + address (4)   [MS]
//   3  Lease Identifier      1..kMaxLeaseId bytes, opaque (the lease's key)
//                            [MS]; IANA keeps a "Lease Identifier Types"
//                            registry (0 = Random), so its first byte may be
//                            a type: dorado never looks inside it
//   4  Multicast Scope       4: the scope's ID, its lowest address [MS];
//                            5 bytes (a scope ID type byte, then the address)
//                            is also accepted and echoed as sent [ours]: which
//                            form RFC 2730 defines is UNVERIFIED
//   5  Option Request List   2 per option code, at most kMaxRequested [MS]
//   6  Start Time            4                                     [MS]
//   7  Number of Addresses   4: minimum (2) + desired (2)          [MS]
//   8  Requested Language    bytes (ignored)
//   9  Multicast Scope List  count (1), per scope: ID (4), last address (4),
//                            TTL (1), name count (1), per name: flags (1),
//                            language tag length (1) + tag, name length (1) +
//                            name                                  [MS]
//  10  List of Address Ranges  per range: first address (4) + count (2), at
//                            most kMaxRanges ranges                [MS]
//  11  Current Time          4                                     [MS]
//  12  Feature List          three lists (supported, requested, required):
//                            count (2) + codes (2 each), at most kMaxFeatures
//                            each                                  [MS]
//  13  Retry Time            4                                     [MS]
//  14  Minimum Lease Time    4                                     [MS]
//  15  Maximum Start Time    4                                     [MS]
//  16  Error                 code (2) + data                       [MS]
//  (17, Multicast Scope Nesting State, is RFC 2907's [IANA]: skipped as unknown)
// Unknown options are skipped. A known option twice, a wrong length, a list
// over its bound, options running past the datagram or no End option make
// the message malformed (ParseError): the server counts and drops it [ours].
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace dorado::madcap {

inline constexpr std::uint16_t kPort = 2535;
inline constexpr std::uint8_t kVersion = 0;
inline constexpr std::uint16_t kFamilyIpv4 = 1;
inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::size_t kMaxLeaseId = 159;     // engine::kMaxKeyLen minus the kind byte
inline constexpr std::size_t kMaxRequested = 32;
inline constexpr std::size_t kMaxRanges = 16;
inline constexpr std::size_t kMaxFeatures = 16;
inline constexpr std::size_t kMaxMessage = 1472;    // one Ethernet datagram: the server's buffer

enum class MsgType : std::uint8_t {
  discover = 1, offer, request, renew, ack, nak, release, getinfo,
};
const char* msg_type_name(std::uint8_t t) noexcept;   // "DISCOVER", ..., "unknown"

namespace opt {
inline constexpr std::uint16_t end = 0, lease_time = 1, server_id = 2, lease_id = 3, mcast_scope = 4,
                               option_request = 5, start_time = 6, addr_count = 7, language = 8,
                               scope_list = 9, addr_list = 10, current_time = 11, feature_list = 12,
                               retry_time = 13, min_lease_time = 14, max_start_time = 15, error = 16;
inline constexpr std::uint16_t kKnown = 17;   // codes below this are parsed
}  // namespace opt

// Error option codes: IANA keeps a "MADCAP Error Codes" registry (RFC 2730);
// these values agree with Microsoft's server [MS] but were not checked
// against that registry's entries or the RFC text.
enum class ErrorCode : std::uint16_t {
  request_not_completed = 0,
  invalid_request = 1,
  excessive_clock_skew = 2,
  lease_id_not_recognized = 3,
  unsupported_feature = 4,
};

enum class ParseError : std::uint8_t {
  none,
  short_header,      // fewer than 8 bytes
  bad_version,
  bad_family,        // not IPv4
  truncated_option,  // an option header or value runs past the datagram
  no_end,            // no End option
  duplicate_option,
  bad_length,        // a known option with a length its layout forbids
  too_many,          // a list over its bound (requests, ranges, features)
};
const char* parse_error_name(ParseError e) noexcept;

struct AddrRange {
  std::uint32_t first = 0;   // host order
  std::uint16_t count = 0;
};

struct Request {
  std::uint8_t type = 0;                 // msgtype as sent (MsgType when 1..8)
  std::uint32_t xid = 0;
  std::uint32_t present = 0;             // bit c set: option c (< 17) was present
  std::uint32_t lease_time = 0, start_time = 0, current_time = 0, retry_time = 0,
                min_lease_time = 0, max_start_time = 0;
  std::uint32_t server_id = 0;           // host order
  std::array<std::uint8_t, kMaxLeaseId> lease_id{};
  std::uint8_t lease_id_len = 0;
  std::uint32_t scope_id = 0;            // host order
  std::int16_t scope_type = -1;          // the 5-byte form's type byte; -1: the 4-byte form
  std::uint16_t addr_min = 0, addr_desired = 0;
  std::array<std::uint16_t, kMaxRequested> requested{};
  std::uint8_t requested_count = 0;
  std::array<AddrRange, kMaxRanges> ranges{};
  std::uint8_t range_count = 0;
  std::array<std::uint8_t, 3> feature_count{};   // supported, requested, required
  std::array<std::uint16_t, kMaxFeatures> required_features{};
  std::uint16_t error_code = 0;

  bool has(std::uint16_t code) const noexcept { return code < 32 && (present >> code & 1u) != 0; }
  std::span<const std::uint8_t> lease_key() const noexcept { return {lease_id.data(), lease_id_len}; }
};

struct Parsed {
  ParseError error = ParseError::none;
  Request request;
};

// Parses one UDP payload. A datagram longer than kMaxMessage is the
// caller's to refuse (the server's buffer is that long).
Parsed parse(std::span<const std::uint8_t> data) noexcept;

// Writes a message into `out`; every call after the buffer is full is a
// no-op and size() returns 0 from then on (nothing is sent).
class Writer {
 public:
  Writer(std::span<std::uint8_t> out, MsgType type, std::uint32_t xid) noexcept;
  void option(std::uint16_t code, std::span<const std::uint8_t> value) noexcept;
  void u32(std::uint16_t code, std::uint32_t value) noexcept;
  void server_id(std::uint32_t address) noexcept;
  // Multicast Scope in the form the request used (scope_type -1: 4 bytes).
  void scope(std::uint32_t scope_id, std::int16_t scope_type) noexcept;
  void address_ranges(std::span<const AddrRange> ranges) noexcept;
  void error(ErrorCode code, std::span<const std::uint8_t> data = {}) noexcept;
  // Starts an option whose value the caller appends with put*(); close() sets its length.
  void open(std::uint16_t code) noexcept;
  void put8(std::uint8_t v) noexcept;
  void put16(std::uint16_t v) noexcept;
  void put32(std::uint32_t v) noexcept;
  void put(std::span<const std::uint8_t> bytes) noexcept;
  void close() noexcept;
  // Appends End; returns the message size (0 if it did not fit).
  std::size_t finish() noexcept;

 private:
  bool room(std::size_t n) noexcept;
  std::span<std::uint8_t> out_;
  std::size_t at_ = 0;
  std::size_t open_at_ = 0;   // value offset of the open option; 0 = none
  bool overflow_ = false;
};

}  // namespace dorado::madcap
