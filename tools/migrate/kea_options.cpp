#include "migrate/kea_options.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>

#include "migrate/ipv4.hpp"

namespace dorado::migrate {
namespace {

using T = KeaType;

// Kea 2.2's std_option_defs.h for DHCPv4 (the Kea ARM's two tables of
// standard options, configurable and managed by Kea itself).
const std::vector<OptionDef>& table() {
  static const std::vector<OptionDef> defs = {
      {"subnet-mask", 1, T::ipv4, false, {}, ""},
      {"time-offset", 2, T::i32, false, {}, ""},
      {"routers", 3, T::ipv4, true, {}, ""},
      {"time-servers", 4, T::ipv4, true, {}, ""},
      {"name-servers", 5, T::ipv4, true, {}, ""},
      {"domain-name-servers", 6, T::ipv4, true, {}, ""},
      {"log-servers", 7, T::ipv4, true, {}, ""},
      {"cookie-servers", 8, T::ipv4, true, {}, ""},
      {"lpr-servers", 9, T::ipv4, true, {}, ""},
      {"impress-servers", 10, T::ipv4, true, {}, ""},
      {"resource-location-servers", 11, T::ipv4, true, {}, ""},
      {"host-name", 12, T::string, false, {}, ""},
      {"boot-size", 13, T::u16, false, {}, ""},
      {"merit-dump", 14, T::string, false, {}, ""},
      // Kea 2.2 defines 15 as fqdn but sends the name as text, as RFC 2132
      // section 3.17 says and clients expect: a string here.
      {"domain-name", 15, T::string, false, {}, ""},
      {"swap-server", 16, T::ipv4, false, {}, ""},
      {"root-path", 17, T::string, false, {}, ""},
      {"extensions-path", 18, T::string, false, {}, ""},
      {"ip-forwarding", 19, T::boolean, false, {}, ""},
      {"non-local-source-routing", 20, T::boolean, false, {}, ""},
      {"policy-filter", 21, T::ipv4, true, {}, ""},
      {"max-dgram-reassembly", 22, T::u16, false, {}, ""},
      {"default-ip-ttl", 23, T::u8, false, {}, ""},
      {"path-mtu-aging-timeout", 24, T::u32, false, {}, ""},
      {"path-mtu-plateau-table", 25, T::u16, true, {}, ""},
      {"interface-mtu", 26, T::u16, false, {}, ""},
      {"all-subnets-local", 27, T::boolean, false, {}, ""},
      {"broadcast-address", 28, T::ipv4, false, {}, ""},
      {"perform-mask-discovery", 29, T::boolean, false, {}, ""},
      {"mask-supplier", 30, T::boolean, false, {}, ""},
      {"router-discovery", 31, T::boolean, false, {}, ""},
      {"router-solicitation-address", 32, T::ipv4, false, {}, ""},
      {"static-routes", 33, T::ipv4, true, {}, ""},
      {"trailer-encapsulation", 34, T::boolean, false, {}, ""},
      {"arp-cache-timeout", 35, T::u32, false, {}, ""},
      {"ieee802-3-encapsulation", 36, T::boolean, false, {}, ""},
      {"default-tcp-ttl", 37, T::u8, false, {}, ""},
      {"tcp-keepalive-interval", 38, T::u32, false, {}, ""},
      {"tcp-keepalive-garbage", 39, T::boolean, false, {}, ""},
      {"nis-domain", 40, T::string, false, {}, ""},
      {"nis-servers", 41, T::ipv4, true, {}, ""},
      {"ntp-servers", 42, T::ipv4, true, {}, ""},
      {"vendor-encapsulated-options", 43, T::empty, false, {}, "vendor-encapsulated-options-space"},
      {"netbios-name-servers", 44, T::ipv4, true, {}, ""},
      {"netbios-dd-server", 45, T::ipv4, true, {}, ""},
      {"netbios-node-type", 46, T::u8, false, {}, ""},
      {"netbios-scope", 47, T::string, false, {}, ""},
      {"font-servers", 48, T::ipv4, true, {}, ""},
      {"x-display-manager", 49, T::ipv4, true, {}, ""},
      {"dhcp-requested-address", 50, T::ipv4, false, {}, ""},
      {"dhcp-lease-time", 51, T::u32, false, {}, ""},
      {"dhcp-option-overload", 52, T::u8, false, {}, ""},
      {"dhcp-message-type", 53, T::u8, false, {}, ""},
      {"dhcp-server-identifier", 54, T::ipv4, false, {}, ""},
      {"dhcp-parameter-request-list", 55, T::u8, true, {}, ""},
      {"dhcp-message", 56, T::string, false, {}, ""},
      {"dhcp-max-message-size", 57, T::u16, false, {}, ""},
      {"dhcp-renewal-time", 58, T::u32, false, {}, ""},
      {"dhcp-rebinding-time", 59, T::u32, false, {}, ""},
      {"vendor-class-identifier", 60, T::string, false, {}, ""},
      {"dhcp-client-identifier", 61, T::binary, false, {}, ""},
      {"nwip-domain-name", 62, T::string, false, {}, ""},
      {"nwip-suboptions", 63, T::binary, false, {}, ""},
      {"nisplus-domain-name", 64, T::string, false, {}, ""},
      {"nisplus-servers", 65, T::ipv4, true, {}, ""},
      {"tftp-server-name", 66, T::string, false, {}, ""},
      {"boot-file-name", 67, T::string, false, {}, ""},
      {"mobile-ip-home-agent", 68, T::ipv4, true, {}, ""},
      {"smtp-server", 69, T::ipv4, true, {}, ""},
      {"pop-server", 70, T::ipv4, true, {}, ""},
      {"nntp-server", 71, T::ipv4, true, {}, ""},
      {"www-server", 72, T::ipv4, true, {}, ""},
      {"finger-server", 73, T::ipv4, true, {}, ""},
      {"irc-server", 74, T::ipv4, true, {}, ""},
      {"streettalk-server", 75, T::ipv4, true, {}, ""},
      {"streettalk-directory-assistance-server", 76, T::ipv4, true, {}, ""},
      {"user-class", 77, T::binary, false, {}, ""},
      {"slp-directory-agent", 78, T::record, true, {T::boolean, T::ipv4}, ""},
      {"slp-service-scope", 79, T::record, false, {T::boolean, T::string}, ""},
      {"fqdn", 81, T::record, false, {T::u8, T::u8, T::u8, T::fqdn}, ""},
      {"dhcp-agent-options", 82, T::empty, false, {}, "dhcp-agent-options-space"},
      {"nds-servers", 85, T::ipv4, true, {}, ""},
      {"nds-tree-name", 86, T::string, false, {}, ""},
      {"nds-context", 87, T::string, false, {}, ""},
      {"bcms-controller-names", 88, T::fqdn, true, {}, ""},
      {"bcms-controller-address", 89, T::ipv4, true, {}, ""},
      {"authenticate", 90, T::binary, false, {}, ""},
      {"client-last-transaction-time", 91, T::u32, false, {}, ""},
      {"associated-ip", 92, T::ipv4, true, {}, ""},
      {"client-system", 93, T::u16, true, {}, ""},
      {"client-ndi", 94, T::record, false, {T::u8, T::u8, T::u8}, ""},
      {"uuid-guid", 97, T::record, false, {T::u8, T::binary}, ""},
      {"uap-servers", 98, T::string, false, {}, ""},
      {"geoconf-civic", 99, T::binary, false, {}, ""},
      {"pcode", 100, T::string, false, {}, ""},
      {"tcode", 101, T::string, false, {}, ""},
      {"v6-only-preferred", 108, T::u32, false, {}, ""},
      {"netinfo-server-address", 112, T::ipv4, true, {}, ""},
      {"netinfo-server-tag", 113, T::string, false, {}, ""},
      {"v4-captive-portal", 114, T::string, false, {}, ""},
      {"auto-config", 116, T::u8, false, {}, ""},
      {"name-service-search", 117, T::u16, true, {}, ""},
      {"subnet-selection", 118, T::ipv4, false, {}, ""},
      {"domain-search", 119, T::fqdn, true, {}, ""},
      // 124 and 125: Kea builds them with its vendor-option classes, from
      // the enterprise number and the sub-options of a "vendor-N" space.
      {"vivco-suboptions", 124, T::record, false, {T::u32, T::binary}, "vendor-opts-space"},
      {"vivso-suboptions", 125, T::u32, false, {}, "vendor-opts-space"},
      {"pana-agent", 136, T::ipv4, true, {}, ""},
      {"v4-lost", 137, T::fqdn, false, {}, ""},
      {"capwap-ac-v4", 138, T::ipv4, true, {}, ""},
      {"sip-ua-cs-domains", 141, T::fqdn, true, {}, ""},
      {"rdnss-selection", 146, T::record, true, {T::u8, T::ipv4, T::ipv4, T::fqdn}, ""},
      {"v4-portparams", 159, T::record, false, {T::u8, T::psid}, ""},
      {"option-6rd", 212, T::record, true, {T::u8, T::u8, T::ipv6, T::ipv4}, ""},
      {"v4-access-domain", 213, T::fqdn, false, {}, ""},
  };
  return defs;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Kea's CSV: values split at ',' ("\," is a comma inside a value), trimmed.
std::vector<std::string> split_csv(std::string_view data) {
  std::vector<std::string> out(1);
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '\\' && i + 1 < data.size() && data[i + 1] == ',') {
      out.back() += ',';
      ++i;
    } else if (data[i] == ',') {
      out.emplace_back();
    } else {
      out.back() += data[i];
    }
  }
  for (std::string& v : out) v = std::string(trim(v));
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decimal or 0x-hex, as Kea's lexicalCastWithRangeCheck reads integers.
std::optional<std::int64_t> parse_integer(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || v > (std::int64_t{1} << 40)) return std::nullopt;
  return negative ? -v : v;
}

struct FieldOut {
  std::vector<std::uint8_t>& bytes;
  std::string error;
};

void put(std::vector<std::uint8_t>& out, std::uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// DNS wire form of a name (RFC 1035 3.1, uncompressed): labels, then 0.
bool put_fqdn(std::vector<std::uint8_t>& out, std::string_view name, std::string& error) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) {
    error = "an empty domain name";
    return false;
  }
  std::size_t total = 1;
  while (true) {
    const std::size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > 63) {
      error = '"' + std::string(name) + "\" has a label that is empty or longer than 63 characters";
      return false;
    }
    total += label.size() + 1;
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  out.push_back(0);
  if (total > 255) {
    error = "a domain name longer than 255 bytes";
    return false;
  }
  return true;
}

// One CSV field of type `t` appended to `out`; false and `error` if Kea would refuse it.
bool put_field(std::vector<std::uint8_t>& out, KeaType t, const std::string& v, std::string& error) {
  auto integer = [&](std::int64_t lo, std::int64_t hi, int width) {
    const auto x = parse_integer(v);
    if (!x || *x < lo || *x > hi) {
      error = "\"" + v + "\" is not a " + std::string(kea_type_name(t)) + " (" + std::to_string(lo) + ".." +
              std::to_string(hi) + ")";
      return false;
    }
    put(out, static_cast<std::uint64_t>(*x) & ((width == 4 ? 0xffffffffull : (1ull << (8 * width)) - 1)), width);
    return true;
  };
  switch (t) {
    case T::u8: return integer(0, 255, 1);
    case T::u16: return integer(0, 65535, 2);
    case T::u32: return integer(0, 4294967295LL, 4);
    case T::i8: return integer(-128, 127, 1);
    case T::i16: return integer(-32768, 32767, 2);
    case T::i32: return integer(-2147483648LL, 2147483647LL, 4);
    case T::boolean: {
      std::string l = v;
      std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
      if (l == "true" || l == "1") {
        out.push_back(1);
      } else if (l == "false" || l == "0") {
        out.push_back(0);
      } else {
        error = "\"" + v + "\" is not a boolean (true, false, 1 or 0)";
        return false;
      }
      return true;
    }
    case T::ipv4: {
      const auto ip = parse_ipv4(v);
      if (!ip) {
        error = "\"" + v + "\" is not an IPv4 address";
        return false;
      }
      put(out, *ip, 4);
      return true;
    }
    case T::ipv6: {
      std::uint8_t a[16];
      if (::inet_pton(AF_INET6, v.c_str(), a) != 1) {
        error = "\"" + v + "\" is not an IPv6 address";
        return false;
      }
      out.insert(out.end(), a, a + 16);
      return true;
    }
    case T::ipv6_prefix: {
      const std::size_t slash = v.find('/');
      std::uint8_t a[16];
      // Without a slash LEN is empty, which parse_integer() refuses.
      const auto len = parse_integer(slash == std::string::npos ? std::string_view() : std::string_view(v).substr(slash + 1));
      if (!len || *len < 0 || *len > 128 || ::inet_pton(AF_INET6, v.substr(0, slash).c_str(), a) != 1) {
        error = "\"" + v + "\" is not an IPv6 prefix a:b::/len";
        return false;
      }
      out.push_back(static_cast<std::uint8_t>(*len));
      const std::size_t n = static_cast<std::size_t>((*len + 7) / 8);
      out.insert(out.end(), a, a + n);
      if (*len % 8 != 0) out.back() &= static_cast<std::uint8_t>(0xff << (8 - *len % 8));
      return true;
    }
    case T::psid: {   // "PSID/LEN": LEN (1 byte), then PSID in the top LEN bits of 2 bytes (RFC 7597)
      const std::size_t slash = v.find('/');
      // Without a slash LEN is empty, which parse_integer() refuses.
      const auto psid = parse_integer(std::string_view(v).substr(0, slash));
      const auto len = parse_integer(slash == std::string::npos ? std::string_view() : std::string_view(v).substr(slash + 1));
      if (!psid || !len || *len < 0 || *len > 16 || *psid < 0 || (*len < 16 && *psid >= (1LL << *len))) {
        error = "\"" + v + "\" is not a psid PSID/LEN (LEN 0..16, PSID < 2^LEN)";
        return false;
      }
      out.push_back(static_cast<std::uint8_t>(*len));
      put(out, *len == 0 ? 0 : (static_cast<std::uint64_t>(*psid) << (16 - *len)) & 0xffff, 2);
      return true;
    }
    case T::string:
      if (v.empty()) {
        error = "an empty string";
        return false;
      }
      out.insert(out.end(), v.begin(), v.end());
      return true;
    case T::tuple:
      if (v.size() > 255) {
        error = "a tuple longer than 255 bytes";
        return false;
      }
      out.push_back(static_cast<std::uint8_t>(v.size()));
      out.insert(out.end(), v.begin(), v.end());
      return true;
    case T::fqdn: return put_fqdn(out, v, error);
    case T::binary: {
      const auto b = parse_kea_hex(v);
      if (!b) {
        error = "\"" + v + "\" is not hex bytes";
        return false;
      }
      out.insert(out.end(), b->begin(), b->end());
      return true;
    }
    case T::empty:
    case T::record: break;
  }
  error = "a field of type " + std::string(kea_type_name(t)) + " cannot be given a value";
  return false;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

std::optional<KeaType> kea_type(std::string_view name) {
  static constexpr std::pair<std::string_view, KeaType> names[] = {
      {"empty", T::empty},     {"binary", T::binary},       {"boolean", T::boolean},
      {"uint8", T::u8},        {"uint16", T::u16},          {"uint32", T::u32},
      {"int8", T::i8},         {"int16", T::i16},           {"int32", T::i32},
      {"ipv4-address", T::ipv4}, {"ipv6-address", T::ipv6}, {"ipv6-prefix", T::ipv6_prefix},
      {"psid", T::psid},       {"string", T::string},       {"fqdn", T::fqdn},
      {"tuple", T::tuple},     {"record", T::record},
  };
  for (const auto& [n, t] : names)
    if (n == name) return t;
  return std::nullopt;
}

std::string_view kea_type_name(KeaType type) {
  switch (type) {
    case T::empty: return "empty";
    case T::binary: return "binary";
    case T::boolean: return "boolean";
    case T::u8: return "uint8";
    case T::u16: return "uint16";
    case T::u32: return "uint32";
    case T::i8: return "int8";
    case T::i16: return "int16";
    case T::i32: return "int32";
    case T::ipv4: return "ipv4-address";
    case T::ipv6: return "ipv6-address";
    case T::ipv6_prefix: return "ipv6-prefix";
    case T::psid: return "psid";
    case T::string: return "string";
    case T::fqdn: return "fqdn";
    case T::tuple: return "tuple";
    case T::record: return "record";
  }
  return "?";
}

const OptionDef* standard_option(std::string_view name) {
  for (const OptionDef& d : table())
    if (d.name == name) return &d;
  return nullptr;
}

const OptionDef* standard_option(unsigned code) {
  for (const OptionDef& d : table())
    if (d.code == code) return &d;
  return nullptr;
}

bool kea_always_sent(unsigned code) { return code == 3 || code == 6 || code == 15 || code == 54; }

std::optional<std::vector<std::uint8_t>> parse_kea_hex(std::string_view s) {
  std::vector<std::uint8_t> out;
  if (s.size() >= 2 && s.front() == '\'' && s.back() == '\'') {
    out.assign(s.begin() + 1, s.end() - 1);
    return out;
  }
  if (s.empty()) return out;
  if (s.find_first_of(": ") != std::string_view::npos) {
    const char sep = s.find(':') != std::string_view::npos ? ':' : ' ';
    std::size_t i = 0;
    while (i <= s.size()) {
      std::size_t j = s.find(sep, i);
      if (j == std::string_view::npos) j = s.size();
      std::string_view octet = s.substr(i, j - i);
      if (sep == ' ' && octet.empty()) {   // runs of spaces
        i = j + 1;
        if (j == s.size()) break;
        continue;
      }
      if (octet.empty() || octet.size() > 2) return std::nullopt;
      int v = 0;
      for (const char c : octet) {
        const int d = hex_digit(c);
        if (d < 0) return std::nullopt;
        v = v * 16 + d;
      }
      out.push_back(static_cast<std::uint8_t>(v));
      if (j == s.size()) break;
      i = j + 1;
    }
    return out;
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  std::string digits(s);
  if (digits.size() % 2 == 1) digits.insert(digits.begin(), '0');
  for (std::size_t i = 0; i < digits.size(); i += 2) {
    const int hi = hex_digit(digits[i]), lo = hex_digit(digits[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return out;
}

std::string hex_string(const std::vector<std::uint8_t>& bytes) {
  std::string s;
  char b[4];
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::snprintf(b, sizeof b, "%02x", bytes[i]);
    if (i) s += ':';
    s += b;
  }
  return s;
}

Encoded encode_option_data(const OptionDef& def, std::string_view data, bool csv) {
  Encoded r;
  DoradoValue v;
  if (!csv) {
    auto bytes = parse_kea_hex(trim(data));
    if (!bytes) {
      r.error = "data \"" + std::string(data) +
                "\" is not hex bytes (csv-format is false: Kea reads data as hex, \"0a:0b\", \"0a 0b\", \"0x0a0b\")";
      return r;
    }
    v.bytes = std::move(*bytes);
    v.kind = DoradoValue::Kind::hex;
    r.value = std::move(v);
    return r;
  }
  if (def.type == T::empty) {
    r.error = "option " + def.name + " is a container (type empty): its value is its sub-options";
    return r;
  }
  std::vector<std::string> fields = split_csv(data);
  std::vector<KeaType> types;
  if (def.type == T::record) {
    types = def.record;
    if (fields.size() < types.size() || (!def.array && fields.size() > types.size())) {
      r.error = "data \"" + std::string(data) + "\" has " + std::to_string(fields.size()) +
                " values for a record of " + std::to_string(types.size()) + " fields";
      return r;
    }
    while (types.size() < fields.size()) types.push_back(def.record.back());
  } else {
    if (!def.array && fields.size() > 1) {
      r.error = "data \"" + std::string(data) + "\" has " + std::to_string(fields.size()) +
                " comma-separated values for a single " + std::string(kea_type_name(def.type)) +
                " (a comma inside a value is written \\\\, in Kea's JSON)";
      return r;
    }
    if (def.type != T::binary && fields.size() == 1 && fields[0].empty()) {
      r.error = "no data for an option of type " + std::string(kea_type_name(def.type));
      return r;
    }
    types.assign(fields.size(), def.type);
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!put_field(v.bytes, types[i], fields[i], r.error)) return r;
  }
  // The value form that reads best and gives the same bytes.
  const bool plain = def.type != T::record;
  if (plain && def.type == T::ipv4) {
    v.kind = DoradoValue::Kind::ip;
    v.ips = fields;
  } else if (plain && def.type == T::string) {
    v.kind = DoradoValue::Kind::string;
    v.text = fields.front();
  } else if (plain && (def.type == T::u8 || def.type == T::u16 || def.type == T::u32)) {
    v.kind = def.type == T::u8 ? DoradoValue::Kind::u8 : def.type == T::u16 ? DoradoValue::Kind::u16 : DoradoValue::Kind::u32;
    for (const std::string& f : fields) v.ints.push_back(static_cast<std::uint64_t>(*parse_integer(f)));
  } else if (plain && def.type == T::boolean) {
    v.kind = DoradoValue::Kind::u8;
    for (const std::uint8_t b : v.bytes) v.ints.push_back(b);
    v.explain = "boolean " + join(fields);
  } else {
    v.kind = DoradoValue::Kind::hex;
    std::string types_text;
    if (def.type == T::record) {
      for (const KeaType t : def.record) types_text += (types_text.empty() ? "" : ", ") + std::string(kea_type_name(t));
      types_text = "record (" + types_text + ")";
    } else {
      types_text = std::string(kea_type_name(def.type));
    }
    v.explain = types_text + (def.array ? " array" : "") + ": " + join(fields);
  }
  r.value = std::move(v);
  return r;
}

}  // namespace dorado::migrate
