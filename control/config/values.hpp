// Text forms of the values in dorado's config: prefixes, address ranges,
// endpoints, hex byte strings, domain names. Addresses and MACs themselves
// are wire/text.hpp's (wire::parse_ipv4, wire::parse_mac, wire::format_*).
// Internal to dorado_config (no toml11 here, so tests can use it directly).
//
// Contract: pure functions, any thread, no exceptions; they allocate only for
// error text and hex bytes. A failed parse returns an error sentence without
// the key or the value's position (the caller adds those).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"
#include "wire/bytes.hpp"
#include "wire/text.hpp"

namespace dorado::config::detail {

using engine::Ipv4;

template <typename T>
struct Parsed {
  std::optional<T> value;
  std::string error;   // set iff !value
};

struct Prefix {
  Ipv4 network = 0;
  std::uint8_t length = 0;
  Ipv4 last() const noexcept {
    return length == 0 ? 0xffffffffu : network | ~(~0u << (32 - length));
  }
};

// "a.b.c.d/len" with len in 8..32 and no host bits set.
Parsed<Prefix> parse_prefix(std::string_view s);
// "a.b.c.d:port" with a decimal port 1..65535 (no sign, no leading zeros).
struct Endpoint {
  Ipv4 ip = 0;
  std::uint16_t port = 0;
};
std::optional<Endpoint> parse_endpoint(std::string_view s);
// "a.b.c.d-e.f.g.h" (first <= last), "a.b.c.d/len" (no host bits) or a single "a.b.c.d".
Parsed<engine::AddressRange> parse_range(std::string_view s);
// Hex bytes: "01:0a:ff" or "010aff" (case-insensitive). "" is zero bytes.
std::optional<std::vector<std::uint8_t>> parse_hex(std::string_view s);
// A DNS name ("example.net"): labels of 1..63 letters, digits, '-' or '_',
// at most 253 characters, an optional final dot. Empty string if fine, else why not.
std::string check_domain(std::string_view s);
// A host name's domain (RFC 1123 section 2.1), as [ddns] qualifying_suffix
// must be: check_domain()'s rules with labels of letters, digits and '-'
// only, no '-' first or last. Empty string if fine, else why not.
std::string check_host_domain(std::string_view s);
// A name check_domain() accepts as DNS compares and stores it ([ddns]):
// lower case, without the final dot.
std::string canonical_domain(std::string_view s);

std::string endpoint_text(const Endpoint& e);            // "a.b.c.d:port"
std::string range_text(const engine::AddressRange& r);   // "a-b", or "a" when first == last
std::string prefix_text(Ipv4 network, unsigned length);  // "a.b.c.d/len"
std::string hex_text(const std::vector<std::uint8_t>& bytes);   // "01:0a:ff"

// A client class condition (engine/classes.hpp) as its compiled parts:
// field "option" | "relay_sub" | "mac" | "vlan_outer" | "vlan_inner" |
// "giaddr"; op "present" | "exact" | "prefix" | "user_class" | "contains" |
// "equals" | "in_prefix" (the HA digest text and config-get).
std::string_view class_field_name(engine::ClassField f) noexcept;
std::string_view class_op_name(engine::ClassOp op) noexcept;
// "option 60 prefix 50:6f", "vlan_outer equals 100", "giaddr in_prefix 10.9.0.0/16".
std::string class_match_text(const engine::ClassMatch& m);

}  // namespace dorado::config::detail
