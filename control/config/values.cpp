#include "config/values.hpp"

#include <cstdio>

namespace dorado::config::detail {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<unsigned> parse_decimal(std::string_view s, unsigned max) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;   // no octal look-alikes
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

Ipv4 mask_of(unsigned length) { return length == 0 ? 0u : ~0u << (32 - length); }

// "a.b.c.d/len" -> address and length, host bits allowed (checked by callers).
Parsed<Prefix> parse_slash(std::string_view s, std::string_view what, unsigned min_len) {
  const std::size_t slash = s.find('/');
  const std::string text(s);
  const auto ip = wire::parse_ipv4(s.substr(0, slash));
  if (!ip) return {std::nullopt, "\"" + text + "\" is not " + std::string(what)};
  const auto len = parse_decimal(s.substr(slash + 1), 32);
  if (!len || *len < min_len)
    return {std::nullopt, "\"" + text + "\": prefix length must be " + std::to_string(min_len) + "..32"};
  const Ipv4 mask = mask_of(*len);
  if ((*ip & ~mask) != 0)
    return {std::nullopt, "\"" + text + "\" has host bits set (did you mean " +
                              prefix_text(*ip & mask, *len) + "?)"};
  return {Prefix{*ip, static_cast<std::uint8_t>(*len)}, {}};
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view s) {
  const std::size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto ip = wire::parse_ipv4(s.substr(0, colon));
  const std::string_view port = s.substr(colon + 1);
  if (!ip || port.empty() || port.size() > 5 || port[0] == '0') return std::nullopt;
  unsigned v = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) return std::nullopt;
  return Endpoint{*ip, static_cast<std::uint16_t>(v)};
}

Parsed<Prefix> parse_prefix(std::string_view s) {
  s = trim(s);
  if (s.find('/') == std::string_view::npos)
    return {std::nullopt, '"' + std::string(s) + "\" is not a prefix a.b.c.d/len"};
  return parse_slash(s, "a prefix a.b.c.d/len", 8);
}

Parsed<engine::AddressRange> parse_range(std::string_view s) {
  s = trim(s);
  const std::string text(s);
  constexpr std::string_view forms = "a range a.b.c.d-e.f.g.h, a prefix a.b.c.d/len or an address";
  if (s.find('/') != std::string_view::npos) {
    Parsed<Prefix> p = parse_slash(s, forms, 0);
    if (!p.value) return {std::nullopt, p.error};
    return {engine::AddressRange{p.value->network, p.value->last()}, {}};
  }
  const std::size_t dash = s.find('-');
  if (dash == std::string_view::npos) {
    const auto ip = wire::parse_ipv4(s);
    if (!ip) return {std::nullopt, "\"" + text + "\" is not " + std::string(forms)};
    return {engine::AddressRange{*ip, *ip}, {}};
  }
  const auto first = wire::parse_ipv4(trim(s.substr(0, dash)));
  const auto last = wire::parse_ipv4(trim(s.substr(dash + 1)));
  if (!first || !last) return {std::nullopt, "\"" + text + "\" is not " + std::string(forms)};
  if (*first > *last)
    return {std::nullopt, "\"" + text + "\": first address is above the last"};
  return {engine::AddressRange{*first, *last}, {}};
}

std::optional<std::vector<std::uint8_t>> parse_hex(std::string_view s) {
  s = trim(s);
  std::vector<std::uint8_t> out;
  const bool colons = s.size() > 2 && s[2] == ':';
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 1 >= s.size()) return std::nullopt;
    const int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
    i += 2;
    if (colons && i < s.size()) {
      if (s[i] != ':' || i + 1 >= s.size()) return std::nullopt;
      ++i;
    }
  }
  return out;
}

std::string check_domain(std::string_view s) {
  if (s.empty()) return "empty domain name";
  if (s.back() == '.') s.remove_suffix(1);
  if (s.size() > 253) return "domain name longer than 253 characters";
  std::size_t label = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (label == 0) return "empty label in domain name";
      if (label > 63) return "domain name label longer than 63 characters";
      label = 0;
      continue;
    }
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return std::string("character '") + c + "' not allowed in a domain name";
    ++label;
  }
  return {};
}

std::string check_host_domain(std::string_view s) {
  if (std::string why = check_domain(s); !why.empty()) return why;
  if (s.back() == '.') s.remove_suffix(1);
  for (std::size_t i = 0, start = 0; i <= s.size(); ++i) {
    if (i < s.size() && s[i] != '.') {
      if (s[i] == '_') return "character '_' not allowed in a host name";
      continue;
    }
    if (s[start] == '-' || s[i - 1] == '-') return "a label of a host name may not start or end with '-'";
    start = i + 1;
  }
  return {};
}

std::string canonical_domain(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string endpoint_text(const Endpoint& e) {
  return wire::format_ipv4(e.ip) + ":" + std::to_string(e.port);
}

std::string range_text(const engine::AddressRange& r) {
  if (r.first == r.last) return wire::format_ipv4(r.first);
  return wire::format_ipv4(r.first) + "-" + wire::format_ipv4(r.last);
}

std::string prefix_text(Ipv4 network, unsigned length) {
  return wire::format_ipv4(network) + "/" + std::to_string(length);
}

std::string_view class_field_name(engine::ClassField f) noexcept {
  switch (f) {
    case engine::ClassField::option: return "option";
    case engine::ClassField::relay_sub: return "relay_sub";
    case engine::ClassField::mac: return "mac";
    case engine::ClassField::vlan_outer: return "vlan_outer";
    case engine::ClassField::vlan_inner: return "vlan_inner";
    case engine::ClassField::giaddr: return "giaddr";
  }
  return "?";
}

std::string_view class_op_name(engine::ClassOp op) noexcept {
  switch (op) {
    case engine::ClassOp::present: return "present";
    case engine::ClassOp::exact: return "exact";
    case engine::ClassOp::prefix: return "prefix";
    case engine::ClassOp::user_class: return "user_class";
    case engine::ClassOp::contains: return "contains";
    case engine::ClassOp::equals: return "equals";
    case engine::ClassOp::in_prefix: return "in_prefix";
  }
  return "?";
}

// Appended piece by piece: g++ 12 -O3 warns falsely (-Wrestrict) about
// "literal" + std::string.
std::string class_match_text(const engine::ClassMatch& m) {
  std::string out(class_field_name(m.field));
  if (m.field == engine::ClassField::option || m.field == engine::ClassField::relay_sub) {
    out += ' ';
    out += std::to_string(m.code);
  }
  out += ' ';
  out += class_op_name(m.op);
  switch (m.op) {
    case engine::ClassOp::present: break;
    case engine::ClassOp::exact:
    case engine::ClassOp::prefix:
    case engine::ClassOp::user_class:
      out += ' ';
      out += hex_text(m.value);
      break;
    case engine::ClassOp::contains:
    case engine::ClassOp::equals:
      out += ' ';
      out += std::to_string(m.number);
      break;
    case engine::ClassOp::in_prefix: {
      const Ipv4 mask = m.prefix_len == 0 ? 0u : ~0u << (32 - m.prefix_len);
      out += ' ';
      out += wire::format_ipv4(m.number & mask);
      out += '/';
      out += std::to_string(m.prefix_len);
      break;
    }
  }
  return out;
}

std::string hex_text(const std::vector<std::uint8_t>& bytes) {
  std::string s;
  char buf[4];
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::snprintf(buf, sizeof buf, i == 0 ? "%02x" : ":%02x", bytes[i]);
    s += buf;
  }
  return s;
}

}  // namespace dorado::config::detail
