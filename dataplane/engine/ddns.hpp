// The engine's part of dynamic DNS (docs/dns.md, docs/architecture.md
// "Dynamic DNS"): which name a client's lease carries and who updates DNS
// for it, decided when the lease is committed, and option 81 in the reply.
//
// The engine never talks to a DNS server. For each committed lease it keeps
// a name and two flags (LeaseChange::ddns) in the lease record; the control
// thread (control/ddns/) derives the DNS work from the journaled records:
//   kDdnsForward  the server adds the A and DHCID records for the name;
//   kDdnsReverse  the server adds the PTR record for the address.
// A record with neither flag (every record written without [ddns], and
// clients that asked for no update) causes no DNS work at all.
//
// Names. The stored name is either a single partial name ("laptop", one or
// more labels; the control thread appends the subnet's qualifying suffix) or
// a fully qualified one, written with its trailing dot
// ("laptop.bars.example."). qualify() is the one function that turns a
// stored name into the FQDN registered in DNS: both the reply's option 81
// and the control thread use it, so they can never disagree.
//
// Hot path (ddns.cpp, shard_ddns.cpp): with [ddns], decide_ddns_name()
// runs once per new binding that sent option 81 with a name: at its OFFER,
// whose decision the commit takes when the REQUEST's option 81 is the same
// (engine/ddns_cache.hpp); else at the commit (option 12; renewals keep the
// name and flags, as the hostname was always kept); an ACK's option 81 is
// encoded from the name the lease holds
// (Decision::fqdn; ReplyCache writes it after its cached block:
// reply_cache.hpp). Without [ddns], one predictable branch.
//
// Contract: plain data and pure functions, noexcept, no allocation; any
// thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/lease.hpp"
#include "wire/bytes.hpp"
#include "wire/dhcp.hpp"

namespace dorado::engine {

// LeaseChange::ddns bits (and the journal record's, control/store/format.hpp).
inline constexpr std::uint8_t kDdnsForward = 1;   // server updates A + DHCID
inline constexpr std::uint8_t kDdnsReverse = 2;   // server updates PTR
inline constexpr std::uint8_t kDdnsFlagsMask = kDdnsForward | kDdnsReverse;

// Longest presentation-format FQDN (without the trailing dot) that DNS allows.
inline constexpr std::size_t kMaxFqdnLen = 253;

// replace_client_name (Kea's ddns-replace-client-name).
enum class ReplaceClientName : std::uint8_t {
  never,              // use the client's name; none sent: no name, no update
  always,             // always a generated name
  when_present,       // a generated name in place of one the client sent
  when_not_present,   // the client's name, else a generated one
};

// [ddns]'s policy keys, filled by the loader (control/config). Per subnet,
// only the qualifying suffix differs (SubnetConfig::qualifying_suffix).
struct DdnsPolicy {
  bool enabled = false;                 // [ddns] present
  bool override_client_update = false;  // A update by the server even when the client asks to do it (S=0)
  bool override_no_update = false;      // updates even when the client asks for none (N=1)
  ReplaceClientName replace_client_name = ReplaceClientName::never;
  std::string generated_prefix = "myhost";   // generated names: prefix-a-b-c-d (label rules, <= 40)
  std::string qualifying_suffix;        // default for subnets without their own; may be empty
  bool update_on_renew = false;         // control thread: renewals update DNS only when this is set
};

// The FQDN registered for a stored name: `name` itself without its trailing
// dot when it is fully qualified, else `name` + "." + `suffix` (just `name`
// when the suffix is empty). Writes it (lower case is the caller's; no
// trailing dot) into `out` and returns its length, or 0 when it would not fit
// kMaxFqdnLen or `name` is empty.
inline std::size_t qualify(std::string_view name, std::string_view suffix, std::span<char> out) noexcept {
  if (name.empty()) return 0;
  const bool full = name.back() == '.';
  if (full) name.remove_suffix(1);
  while (!suffix.empty() && suffix.back() == '.') suffix.remove_suffix(1);
  const std::size_t n = name.size() + ((full || suffix.empty()) ? 0 : 1 + suffix.size());
  if (name.empty() || n > kMaxFqdnLen || n > out.size()) return 0;
  std::size_t o = 0;
  for (char c : name) out[o++] = c;
  if (!full && !suffix.empty()) {
    out[o++] = '.';
    for (char c : suffix) out[o++] = c;
  }
  return o;
}

inline std::string qualify(std::string_view name, std::string_view suffix) {
  char buf[kMaxFqdnLen];
  return std::string(buf, qualify(name, suffix, buf));
}

// ---- the engine's decision (ddns.cpp) ---------------------------------------------

// Option 81 flag bits (RFC 4702 section 2.1).
inline constexpr std::uint8_t kFqdnS = 1;   // the server updates the A record
inline constexpr std::uint8_t kFqdnO = 2;   // the server overrode the client's S (or N)
inline constexpr std::uint8_t kFqdnE = 4;   // the name is in canonical wire format
inline constexpr std::uint8_t kFqdnN = 8;   // the server does no update at all

// Longest generated_prefix: "prefix-255-255-255-255" stays within a label.
inline constexpr std::size_t kMaxGeneratedPrefix = 40;
// Longest option 81 value the reply writes: flags, RCODE1, RCODE2 and a
// name of at most 255 wire bytes (a 253-character FQDN).
inline constexpr std::size_t kMaxFqdnOption = 3 + kMaxFqdnLen + 2;

// DdnsPolicy compiled for the hot path (CompiledConfig::ddns): fixed
// storage, no strings. The per-subnet suffixes are in
// CompiledConfig::ddns_suffixes (CompiledConfig::ddns_suffix()).
struct CompiledDdns {
  bool enabled = false;
  bool override_client_update = false;
  bool override_no_update = false;
  ReplaceClientName replace_client_name = ReplaceClientName::never;
  std::uint8_t prefix_len = 0;
  std::array<char, kMaxGeneratedPrefix> prefix{};   // lower case, a valid label
};

// Whether `s` is a host name label (1..63 of [A-Za-z0-9-], no '-' at either
// end), and a domain name of such labels separated by dots, at most
// kMaxFqdnLen characters, an optional trailing dot (empty is not one).
bool valid_label(std::string_view s) noexcept;
bool valid_domain(std::string_view s) noexcept;

// The name a committed lease keeps, and option 81 for the reply.
struct DdnsName {
  // Not zeroed (the hot path builds one per decision): only [0, len) is read.
  std::array<char, kMaxHostnameLen> name;     // stored name: partial, or full with its trailing dot
  std::uint8_t len = 0;                       // 0: no name (flags are then 0)
  std::uint8_t flags = 0;                     // kDdnsForward | kDdnsReverse
  bool reply_fqdn = false;                    // the client sent option 81: the reply carries one
  std::uint8_t reply_flags = 0;               // its flags (S, O, N; E as the client's)
  std::string_view view() const noexcept { return {name.data(), len}; }
};

// RFC 4702 with Kea's semantics, for a client of `address` (which only a
// generated name depends on) under an enabled `policy`:
//  - the client's name is option 81's when it sent one with a name, else
//    option 12's (a name with a dot there is fully qualified, as in Kea);
//    option 81's is fully qualified when it ends with the root label (E=1)
//    or a dot (E=0). A name that sanitises to nothing is no name.
//  - replace_client_name picks the client's name or the generated one
//    "<generated_prefix>-a-b-c-d" (partial): never: the client's; always:
//    generated; when_present: generated when the client sent a name, else
//    none; when_not_present: the client's, else generated.
//  - flags: option 81 with N=1: none, unless override_no_update (both);
//    S=1: both; S=0: PTR only, unless override_client_update (both). No
//    option 81: both. No name: none.
//  - reply (option 81 sent only): S = the server does the A update, O =
//    the server's S differs from the client's or it overrode N, N = no
//    update at all, E = the client's.
// Sanitising: lower case; a character outside [a-z0-9-] becomes '-';
// labels lose leading and trailing '-' and are cut to 63; empty labels go.
// A full name longer than 63 keeps only its first label, as a partial
// name; a partial one is cut back to whole labels within 63.
// Pure, noexcept, no allocation.
DdnsName decide_ddns_name(const CompiledDdns& policy, const wire::DhcpMessage& m, wire::Ipv4 address) noexcept;
// The same, written into `out` (a cache entry: engine/ddns_cache.hpp).
void decide_ddns_name(const CompiledDdns& policy, const wire::DhcpMessage& m, wire::Ipv4 address,
                      DdnsName& out) noexcept;

// The reply's option 81 flags (RFC 4702 section 2.1) for a lease whose DNS
// flags are `ddns` (kDdnsForward | kDdnsReverse) and a client that sent
// `client_flags`: S = the server does the A update, O = that differs from
// the client's S (or the server overrode its N), N = no update at all, E as
// the client's.
inline std::uint8_t reply_fqdn_flags(std::uint8_t ddns, std::uint8_t client_flags) noexcept {
  const bool server_s = (ddns & kDdnsForward) != 0;
  const bool client_s = (client_flags & kFqdnS) != 0;
  return static_cast<std::uint8_t>((server_s ? kFqdnS : 0) | (server_s != client_s ? kFqdnO : 0) |
                                   ((ddns & kDdnsFlagsMask) == 0 ? kFqdnN : 0) | (client_flags & kFqdnE));
}

// A reply's option 81 value, decided with the reply (Decision::fqdn points
// at one; the shard keeps them: engine.hpp).
struct FqdnReply {
  std::uint16_t len = 0;
  std::array<std::uint8_t, kMaxFqdnOption> value;
  wire::Bytes bytes() const noexcept { return {value.data(), len}; }
};

// `suffix` (a domain name without its trailing dot, or empty) as canonical
// wire labels without the root label, into `out` (suffix.size() + 1 bytes;
// nothing for an empty suffix). Returns the length. CompiledConfig keeps
// each subnet's (CompiledConfig::ddns_suffix_wire()).
std::size_t suffix_wire(std::string_view suffix, std::span<std::uint8_t> out) noexcept;

// Writes the reply's option 81 value for the stored name `name` into `out`
// (kMaxFqdnOption bytes): `reply_flags`, RCODE1 = RCODE2 = 255, then
// qualify(name, suffix) as canonical wire format ending with the root label
// (E=1), or as ASCII with a trailing dot (E=0); a name that stays partial
// (no suffix) is written without the root label or the dot; no name: no
// name bytes. `suffix` has no trailing dot and `wire` is
// suffix_wire(suffix) (CompiledConfig keeps both per subnet: no label
// search per reply). Returns the length (>= 3).
std::size_t encode_reply_fqdn(std::string_view name, std::uint8_t reply_flags, std::string_view suffix,
                              wire::Bytes wire, std::span<std::uint8_t> out) noexcept;

}  // namespace dorado::engine
