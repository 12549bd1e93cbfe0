#include "wire/text.hpp"

namespace dorado::wire {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char* put_decimal(char* p, unsigned v) noexcept {
  if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
  if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
  *p++ = static_cast<char>('0' + v % 10);
  return p;
}

}  // namespace

std::optional<Ipv4> parse_ipv4(std::string_view s) noexcept {
  Ipv4 ip = 0;
  std::size_t i = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet != 0) {
      if (i == s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
    const std::size_t start = i;
    unsigned v = 0;
    while (i < s.size() && i - start < 3 && s[i] >= '0' && s[i] <= '9')
      v = v * 10 + static_cast<unsigned>(s[i++] - '0');
    const std::size_t digits = i - start;
    if (digits == 0 || v > 255 || (digits > 1 && s[start] == '0')) return std::nullopt;
    ip = (ip << 8) | v;
  }
  if (i != s.size()) return std::nullopt;   // a fourth digit, a fifth part, anything after
  return ip;
}

std::optional<MacAddr> parse_mac(std::string_view s) noexcept {
  if (s.size() != kMacTextLen) return std::nullopt;
  const char sep = s[2];
  if (sep != ':' && sep != '-') return std::nullopt;
  MacAddr m;
  for (std::size_t i = 0; i < m.b.size(); ++i) {
    const int hi = hex_value(s[3 * i]), lo = hex_value(s[3 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (i + 1 < m.b.size() && s[3 * i + 2] != sep) return std::nullopt;
    m.b[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return m;
}

std::size_t format_ipv4(Ipv4 ip, char* buf) noexcept {
  char* p = buf;
  for (int shift = 24; shift >= 0; shift -= 8) {
    p = put_decimal(p, (ip >> shift) & 0xffu);
    if (shift != 0) *p++ = '.';
  }
  *p = '\0';
  return static_cast<std::size_t>(p - buf);
}

std::size_t format_mac(const MacAddr& mac, char* buf) noexcept {
  char* p = buf;
  for (std::size_t i = 0; i < mac.b.size(); ++i) {
    if (i != 0) *p++ = ':';
    *p++ = kHexDigits[mac.b[i] >> 4];
    *p++ = kHexDigits[mac.b[i] & 0x0f];
  }
  *p = '\0';
  return static_cast<std::size_t>(p - buf);
}

bool decode_base64(std::string_view text, std::vector<std::uint8_t>& out) {
  out.clear();
  out.reserve(text.size() / 4 * 3);
  std::uint32_t group = 0;   // the sextets of the current group, 6 bits each
  unsigned n = 0;            // sextets in `group` (0..3)
  unsigned pad = 0;          // '=' seen (then only whitespace and more '=')
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      // Only after 2 or 3 characters of a group, at most 2 in all.
      if ((pad == 0 && n < 2) || ++pad > 2 || (pad == 2 && n != 2)) {
        out.clear();
        return false;
      }
      continue;
    }
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    if (v < 0 || pad != 0) {   // not in the alphabet, or data after '='
      out.clear();
      return false;
    }
    group = (group << 6) | static_cast<std::uint32_t>(v);
    if (++n == 4) {
      out.push_back(static_cast<std::uint8_t>(group >> 16));
      out.push_back(static_cast<std::uint8_t>(group >> 8));
      out.push_back(static_cast<std::uint8_t>(group));
      group = 0;
      n = 0;
    }
  }
  // A final group: 2 characters + "==" (one byte, 4 bits left over) or
  // 3 + "=" (two bytes, 2 bits left over); the left-over bits must be zero.
  if (n == 0 && pad == 0) return true;
  const bool ok = (n == 2 && pad == 2 && (group & 0xf) == 0) || (n == 3 && pad == 1 && (group & 0x3) == 0);
  if (!ok) {
    out.clear();
    return false;
  }
  if (n == 2) {
    out.push_back(static_cast<std::uint8_t>(group >> 4));
  } else {
    out.push_back(static_cast<std::uint8_t>(group >> 10));
    out.push_back(static_cast<std::uint8_t>(group >> 2));
  }
  return true;
}

}  // namespace dorado::wire
