// The bytes of dynamic DNS (docs/dns.md): RFC 2136 UPDATE messages as
// RFC 4703 asks a DHCP server to send them, signed with TSIG (RFC 8945), the
// DHCID record (RFC 4701), and the server's answer, parsed and verified.
// The DNS message and TSIG come from ldns (Debian's libldns-dev); nothing
// here does I/O: control/ddns/service.cpp sends the bytes on its own
// non-blocking sockets.
//
// The updates (RFC 4703 section 5):
//   add_forward      prerequisite: the name is not in use (NXDOMAIN);
//                    add A (address) and DHCID.
//   replace_forward  after add_forward got YXDOMAIN: prerequisite: a DHCID
//                    RR at the name equal to this client's; delete the A
//                    RRset, add A. NXRRSET means another client holds the
//                    name: a conflict, never overridden.
//   remove_forward   prerequisite: this client's DHCID at the name; delete
//                    the A RR of this address and the DHCID RRset.
//   add_reverse      delete the PTR RRset at the reverse name, add PTR.
//   remove_reverse   delete the PTR RRset at the reverse name.
//
// TSIG: the MAC is computed here with OpenSSL's HMAC over RFC 8945 section
// 4.3.3's digest, not with ldns_pkt_tsig_sign/ldns_pkt_tsig_verify: ldns
// 1.8.3 (Debian 12) lacks hmac-sha224, misspells hmac-sha384 (its table
// says "hmac-shac384.", so it never matches), takes the time signed from
// gettimeofday (no now_s), never checks the time against the fudge, and on
// an answer naming an unknown algorithm detaches the TSIG RR and leaks it.
// Every algorithm of tsig.hpp is supported; each is checked against named
// (tests/ddns) and, where ldns can compute it (md5, sha1, sha256, sha512),
// against ldns. Only full-length MACs are produced and accepted (no RFC 8945
// 5.2.2.1 truncation); hmac-md5 is sent under its RFC 8945 name
// "hmac-md5.sig-alg.reg.int".
//
// Contract: pure functions; they allocate; thread-safe (no shared state);
// never throw (errors are returned as text). Cost: a few microseconds per
// message (ldns building or parsing it, one HMAC).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ddns/tsig.hpp"
#include "wire/bytes.hpp"

namespace dorado::ddns {

struct TsigKey {
  std::string name;                    // key name, e.g. "dorado-key"
  TsigAlgorithm algorithm = TsigAlgorithm::hmac_sha256;
  std::vector<std::uint8_t> secret;    // decoded from base64 (wire/text.hpp decode_base64)
};

// DHCID RDATA (RFC 4701 section 3.3): identifier type (2 octets), digest
// type 1, SHA-256(identifier || FQDN in canonical wire format, lower case).
// `client_key` is the lease's key (engine/client_key.hpp: kind byte then
// bytes): kKeyKindHw -> type 0x0000 over htype + chaddr; kKeyKindClientId ->
// type 0x0002 (the DUID) when the client-id is an RFC 4361 one (its first
// byte 255: IAID 4 bytes then the DUID), else type 0x0001 over the whole
// client-id. Empty on a key it cannot use or a name that is not a valid FQDN.
std::vector<std::uint8_t> dhcid_rdata(std::span<const std::uint8_t> client_key, std::string_view fqdn);

// "5.1.99.10.in-addr.arpa" for 10.99.1.5 (no trailing dot).
std::string reverse_name(wire::Ipv4 address);

enum class UpdateKind : std::uint8_t { add_forward, replace_forward, remove_forward, add_reverse, remove_reverse };
std::string_view update_kind_name(UpdateKind k) noexcept;   // "add-forward", ...

struct UpdateRequest {
  UpdateKind kind = UpdateKind::add_forward;
  std::string zone;          // the zone section's name (no trailing dot)
  std::string fqdn;          // the client's FQDN (forward updates; PTR target for add_reverse)
  std::string reverse;       // reverse_name(address) (reverse updates)
  wire::Ipv4 address = 0;
  std::vector<std::uint8_t> dhcid;   // dhcid_rdata() (forward updates)
  std::uint32_t ttl = 0;
};

// A built message: the wire bytes and what verifying its answer needs.
struct BuiltUpdate {
  std::vector<std::uint8_t> wire;
  std::uint16_t id = 0;
  std::vector<std::uint8_t> request_mac;   // the request's TSIG MAC (signed only)
  std::string error;                       // non-empty: nothing built
};

// Builds `req` as an UPDATE with message id `id`, signed with `key` (null:
// unsigned) at time `now_s` (unix seconds; TSIG fudge 300 s). Refused (error
// set, wire empty): a zone, FQDN, reverse name or PTR target that is not a
// domain name, a name outside `zone`, a forward update without a DHCID, a
// key with an empty secret or a name that is not a domain name. Owner names
// may come out in the zone's letter case where ldns compresses them against
// the zone section (names compare without case, RFC 4343).
BuiltUpdate build_update(const UpdateRequest& req, std::uint16_t id, const TsigKey* key, std::uint64_t now_s);

// A server's answer to `request`.
struct Answer {
  bool valid = false;         // parsed, and the id and opcode match the request
  bool truncated = false;     // TC: ask again over TCP
  std::uint8_t rcode = 0;     // the header's 4-bit rcode (0 NOERROR, 5 REFUSED, 6 YXDOMAIN, 8 NXRRSET, 9 NOTAUTH, ...)
  std::uint16_t tsig_error = 0;   // the TSIG RR's error (16 BADSIG, 17 BADKEY, 18 BADTIME), 0 if none
  bool tsig_verified = false; // signed request: the answer's TSIG is present and verifies
  std::string error;          // why it is not valid / not verified
};

// Parses `wire` (any bytes: a libFuzzer target drives it, ddns_fuzz) as the
// answer to `request` signed with `key` (null: unsigned). Not valid: records
// running past the end or bytes after the last one, a TSIG RR that is not
// the last of the additional section (or a second one), QR clear, another
// opcode or id, a malformed TSIG RR. Verified (signed requests only): the
// TSIG RR names `key` and its algorithm, its MAC over the request's MAC and
// the answer verifies, and its time signed is within its fudge of `now_s`
// (not required of a BADTIME answer, which says our clock is off). BADSIG
// and BADKEY answers carry no MAC: tsig_error says why, never verified.
Answer parse_answer(std::span<const std::uint8_t> wire, const BuiltUpdate& request, const TsigKey* key,
                    std::uint64_t now_s);

// "NOERROR", "REFUSED", "NOTAUTH", "BADSIG", ...: the name an rcode (0..10)
// or a TSIG error (16..22) is counted and logged under; "UNKNOWN" otherwise.
std::string_view rcode_name(std::uint16_t rcode) noexcept;

}  // namespace dorado::ddns
