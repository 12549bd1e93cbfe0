// wire/text.hpp: the one parser and formatter of IPv4 and MAC text, and the
// base64 decoder. Every accepted and refused form, the formatters' exact
// output, and round trips (all 2^32 addresses would take minutes: random ones
// plus the edges; base64 against an encoder written here from RFC 4648).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "wire/bytes.hpp"
#include "wire/text.hpp"

namespace {

using namespace dorado::wire;

constexpr Ipv4 v4(unsigned a, unsigned b, unsigned c, unsigned d) { return a << 24 | b << 16 | c << 8 | d; }

// ---- IPv4 ----------------------------------------------------------------------

TEST(TextIpv4, Accepts) {
  EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
  EXPECT_EQ(parse_ipv4("255.255.255.255"), 0xffffffffu);
  EXPECT_EQ(parse_ipv4("10.99.0.1"), v4(10, 99, 0, 1));
  EXPECT_EQ(parse_ipv4("192.168.1.4"), v4(192, 168, 1, 4));
  EXPECT_EQ(parse_ipv4("1.22.133.249"), v4(1, 22, 133, 249));
  EXPECT_EQ(parse_ipv4("100.200.250.0"), v4(100, 200, 250, 0));
  EXPECT_EQ(parse_ipv4("9.99.199.255"), v4(9, 99, 199, 255));
  // A view into a longer buffer: only the view counts.
  const std::string_view text = "10.0.0.12345";
  EXPECT_EQ(parse_ipv4(text.substr(0, 8)), v4(10, 0, 0, 1));
}

TEST(TextIpv4, Refuses) {
  for (const char* bad : {
           // not four parts
           "", "1", "1.2", "1.2.3", "1.2.3.4.5", "1.2.3.4.", ".1.2.3.4", "1..3.4", "1.2.3.", "...",
           // out of range, too many digits
           "256.0.0.0", "0.0.0.256", "1.2.3.1000", "1000.1.2.3", "1.2.3.0255", "999.1.1.1",
           // leading zeros (inet_aton's octal), "00"
           "01.2.3.4", "1.2.3.04", "10.099.0.1", "00.0.0.0", "0.0.0.00", "010.1.2.3",
           // signs, hex, letters, other bases and short forms
           "+1.2.3.4", "1.2.3.-4", "-1.2.3.4", "1.2.+3.4", "0x0a.0.0.1", "0xa000001", "a.b.c.d",
           "167772161", "10.1", "1.2.3.4a", "1e2.0.0.1",
           // spaces anywhere
           " 1.2.3.4", "1.2.3.4 ", "1. 2.3.4", "1.2.3.4\n", "1.2.3.4\t", "\t1.2.3.4",
           // other separators, IPv6, ports, prefixes
           "1,2,3,4", "1:2:3:4", "::1", "::ffff:1.2.3.4", "1.2.3.4:80", "1.2.3.4/32", "localhost",
       }) {
    EXPECT_FALSE(parse_ipv4(bad).has_value()) << '"' << bad << '"';
  }
  // An embedded NUL is a character like any other.
  EXPECT_FALSE(parse_ipv4(std::string_view("1.2.3.4\0", 8)).has_value());
  EXPECT_FALSE(parse_ipv4(std::string_view("1.2\0.3.4", 8)).has_value());
}

TEST(TextIpv4, FormatsIntoABuffer) {
  char buf[kIpv4TextMax + 1];
  EXPECT_EQ(format_ipv4(v4(192, 168, 1, 4), buf), 11u);
  EXPECT_STREQ(buf, "192.168.1.4");
  EXPECT_EQ(format_ipv4(0, buf), 7u);
  EXPECT_STREQ(buf, "0.0.0.0");
  EXPECT_EQ(format_ipv4(0xffffffff, buf), 15u);
  EXPECT_STREQ(buf, "255.255.255.255");
  EXPECT_EQ(format_ipv4(v4(10, 0, 100, 9), buf), 10u);
  EXPECT_STREQ(buf, "10.0.100.9");
  // Writes exactly the length plus the NUL.
  char guard[20];
  std::memset(guard, 'x', sizeof guard);
  EXPECT_EQ(format_ipv4(v4(1, 2, 3, 4), guard), 7u);
  EXPECT_EQ(std::string_view(guard, 8), std::string_view("1.2.3.4\0", 8));
  EXPECT_EQ(guard[8], 'x');
}

TEST(TextIpv4, FormatsAString) {
  EXPECT_EQ(format_ipv4(v4(10, 99, 0, 1)), "10.99.0.1");
  EXPECT_EQ(format_ipv4(0), "0.0.0.0");
  EXPECT_EQ(format_ipv4(0xffffffffu), "255.255.255.255");
  EXPECT_EQ(format_ipv4(v4(100, 10, 1, 0)), "100.10.1.0");
}

// format(parse(s)) == s: the accepted form is the canonical one.
void expect_ipv4_round_trip(Ipv4 ip) {
  char buf[kIpv4TextMax + 1];
  const std::size_t n = format_ipv4(ip, buf);
  ASSERT_LE(n, kIpv4TextMax);
  ASSERT_GE(n, 7u);
  const std::string_view text(buf, n);
  const auto back = parse_ipv4(text);
  ASSERT_TRUE(back.has_value()) << text;
  ASSERT_EQ(*back, ip) << text;
  ASSERT_EQ(format_ipv4(ip), text);
}

TEST(TextIpv4, RoundTripEdges) {
  for (const unsigned octet : {0u, 1u, 9u, 10u, 99u, 100u, 199u, 200u, 249u, 250u, 254u, 255u}) {
    for (int at = 0; at < 4; ++at) {
      expect_ipv4_round_trip(octet << (8 * at));
      expect_ipv4_round_trip(~(0xffu << (8 * at)) | octet << (8 * at));
    }
    expect_ipv4_round_trip(octet * 0x01010101u);
  }
  // Every value of each octet in each position, the others 0 or 255.
  for (unsigned v = 0; v < 256; ++v) {
    for (int at = 0; at < 4; ++at) {
      expect_ipv4_round_trip(v << (8 * at));
      expect_ipv4_round_trip((0xffffffffu & ~(0xffu << (8 * at))) | v << (8 * at));
    }
  }
}

TEST(TextIpv4, RoundTripRandom) {
  std::mt19937 rng(20240601);
  for (int i = 0; i < 1'000'000; ++i) expect_ipv4_round_trip(static_cast<Ipv4>(rng()));
}

// Every text of up to 8 characters over "0125.x" (1.9 million), checked
// against a plain reading of the rule.
std::optional<Ipv4> reference_ipv4(const std::string& s) {
  Ipv4 ip = 0;
  std::size_t start = 0;
  for (int part = 0; part < 4; ++part) {
    const std::size_t dot = part < 3 ? s.find('.', start) : s.size();
    if (dot == std::string::npos) return std::nullopt;
    const std::string octet = s.substr(start, dot - start);
    if (octet.empty() || octet.size() > 3) return std::nullopt;
    if (octet.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    if (octet.size() > 1 && octet[0] == '0') return std::nullopt;
    const unsigned v = static_cast<unsigned>(std::stoul(octet));
    if (v > 255) return std::nullopt;
    ip = ip << 8 | v;
    start = dot + 1;
  }
  return ip;
}

TEST(TextIpv4, AgreesWithTheRuleOnShortTexts) {
  const std::string alphabet = "0125.x";
  std::string s;
  for (std::size_t len = 0; len <= 8; ++len) {
    std::size_t total = 1;
    for (std::size_t i = 0; i < len; ++i) total *= alphabet.size();
    for (std::size_t k = 0; k < total; ++k) {
      s.assign(len, ' ');
      std::size_t v = k;
      for (std::size_t i = 0; i < len; ++i, v /= alphabet.size()) s[i] = alphabet[v % alphabet.size()];
      ASSERT_EQ(parse_ipv4(s), reference_ipv4(s)) << '"' << s << '"';
    }
  }
}

// ---- MAC -----------------------------------------------------------------------

TEST(TextMac, Accepts) {
  EXPECT_EQ(parse_mac("02:00:00:00:00:01"), (MacAddr{{2, 0, 0, 0, 0, 1}}));
  EXPECT_EQ(parse_mac("02-00-00-00-00-01"), (MacAddr{{2, 0, 0, 0, 0, 1}}));
  EXPECT_EQ(parse_mac("AA-bb-CC-dd-EE-ff"), (MacAddr{{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}}));
  EXPECT_EQ(parse_mac("ff:FF:fF:Ff:ff:ff"), MacAddr::broadcast());
  EXPECT_EQ(parse_mac("00:00:00:00:00:00"), MacAddr{});
  EXPECT_EQ(parse_mac("01:23:45:67:89:ab"), (MacAddr{{0x01, 0x23, 0x45, 0x67, 0x89, 0xab}}));
  EXPECT_EQ(parse_mac("CD:EF:9a:8B:7c:6D"), (MacAddr{{0xcd, 0xef, 0x9a, 0x8b, 0x7c, 0x6d}}));
}

TEST(TextMac, Refuses) {
  for (const char* bad : {
           // too short, too long
           "", "02", "02:00:00:00:00", "02:00:00:00:00:", "02:00:00:00:00:01:", "02:00:00:00:00:01:02",
           ":02:00:00:00:00:01",
           // mixed or other separators
           "02:00:00-00:00:01", "02-00-00-00-00:01", "02.00.00.00.00.01", "02 00 00 00 00 01",
           "02_00_00_00_00_01", "0200.0000.0001", "02::00:00:00:01",
           // not two hex digits per byte
           "2:0:0:0:0:1", "02:0:00:00:00:001", "020000000001", "0x02:00:00:00:00:01", "02:00:00:00:00:0g",
           "g2:00:00:00:00:01", "02:00:00:00:00:+1", "-2:00:00:00:00:01", "02:00:00:00:00:1 ",
           // spaces around
           " 02:00:00:00:00:01", "02:00:00:00:00:01 ", "02:00:00:00:00:01\n",
       }) {
    EXPECT_FALSE(parse_mac(bad).has_value()) << '"' << bad << '"';
  }
  EXPECT_FALSE(parse_mac(std::string_view("02:00:00:00:00:0\0", 17)).has_value());
}

TEST(TextMac, Formats) {
  char buf[kMacTextLen + 1];
  EXPECT_EQ(format_mac(MacAddr{{0x00, 0x0c, 0x29, 0x1f, 0x74, 0x06}}, buf), 17u);
  EXPECT_STREQ(buf, "00:0c:29:1f:74:06");
  EXPECT_EQ(format_mac(MacAddr::broadcast(), buf), 17u);
  EXPECT_STREQ(buf, "ff:ff:ff:ff:ff:ff");
  EXPECT_EQ(format_mac(MacAddr{{0xab, 0xcd, 0xef, 0x01, 0x23, 0x45}}, buf), 17u);
  EXPECT_STREQ(buf, "ab:cd:ef:01:23:45");
  EXPECT_EQ(format_mac(MacAddr{}), "00:00:00:00:00:00");
  EXPECT_EQ(format_mac(MacAddr{{0xAB, 0, 0x0f, 0xf0, 1, 0x10}}), "ab:00:0f:f0:01:10");
}

void expect_mac_round_trip(const MacAddr& m) {
  const std::string text = format_mac(m);
  ASSERT_EQ(text.size(), kMacTextLen);
  ASSERT_EQ(parse_mac(text), m) << text;
  // The other accepted spellings of the same address parse to it too.
  std::string dashed = text, upper = text;
  for (char& c : dashed) c = c == ':' ? '-' : c;
  for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
  ASSERT_EQ(parse_mac(dashed), m) << dashed;
  ASSERT_EQ(parse_mac(upper), m) << upper;
}

TEST(TextMac, RoundTrip) {
  for (unsigned v = 0; v < 256; ++v) {
    const auto b = static_cast<std::uint8_t>(v);
    expect_mac_round_trip(MacAddr{{b, b, b, b, b, b}});
    expect_mac_round_trip(MacAddr{{b, 0, 0xff, b, 0x0f, 0xf0}});
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200'000; ++i) {
    const std::uint64_t r = rng();
    MacAddr m;
    for (std::size_t k = 0; k < 6; ++k) m.b[k] = static_cast<std::uint8_t>(r >> (8 * k));
    expect_mac_round_trip(m);
  }
}

// ---- base64 ------------------------------------------------------------------

using Bytes = std::vector<std::uint8_t>;

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::optional<Bytes> b64(std::string_view text) {
  Bytes out{0xee};   // replaced on success, emptied on failure
  if (!decode_base64(text, out)) {
    EXPECT_TRUE(out.empty()) << '"' << text << '"';
    return std::nullopt;
  }
  return out;
}

// RFC 4648 section 4, written out independently of the decoder.
std::string encode_base64(const Bytes& b) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  for (std::size_t i = 0; i < b.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, b.size() - i);
    std::uint32_t g = static_cast<std::uint32_t>(b[i]) << 16;
    if (n > 1) g |= static_cast<std::uint32_t>(b[i + 1]) << 8;
    if (n > 2) g |= b[i + 2];
    s += kAlphabet[g >> 18];
    s += kAlphabet[(g >> 12) & 63];
    s += n > 1 ? kAlphabet[(g >> 6) & 63] : '=';
    s += n > 2 ? kAlphabet[g & 63] : '=';
  }
  return s;
}

TEST(TextBase64, Rfc4648TestVectors) {   // RFC 4648 section 10
  EXPECT_EQ(b64(""), Bytes{});
  EXPECT_EQ(b64("Zg=="), bytes_of("f"));
  EXPECT_EQ(b64("Zm8="), bytes_of("fo"));
  EXPECT_EQ(b64("Zm9v"), bytes_of("foo"));
  EXPECT_EQ(b64("Zm9vYg=="), bytes_of("foob"));
  EXPECT_EQ(b64("Zm9vYmE="), bytes_of("fooba"));
  EXPECT_EQ(b64("Zm9vYmFy"), bytes_of("foobar"));
}

TEST(TextBase64, EveryAlphabetCharacter) {
  // The 64 characters in order are the sextets 0..63: bytes 00 10 83 10 51 87 ...
  const std::string all = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto d = b64(all);
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->size(), 48u);
  for (unsigned i = 0; i < 64; ++i) {   // sextet i sits at bits [6i, 6i+6) of the output
    unsigned v = 0;
    for (unsigned bit = 6 * i; bit < 6 * i + 6; ++bit) v = v << 1 | (((*d)[bit / 8] >> (7 - bit % 8)) & 1u);
    EXPECT_EQ(v, i);
  }
  EXPECT_EQ(b64("+/+/"), (Bytes{0xfb, 0xff, 0xbf}));
  EXPECT_EQ(b64("////"), (Bytes{0xff, 0xff, 0xff}));
  EXPECT_EQ(b64("AAAA"), (Bytes{0, 0, 0}));
}

TEST(TextBase64, WhitespaceIsIgnored) {
  EXPECT_EQ(b64(" Zm9v\nYmFy\n"), bytes_of("foobar"));
  EXPECT_EQ(b64("Z m 9 v\tY\r\nm E ="), bytes_of("fooba"));
  EXPECT_EQ(b64("Zg= ="), bytes_of("f"));
  EXPECT_EQ(b64("Zg==\n"), bytes_of("f"));
  EXPECT_EQ(b64(" \n\t\r"), Bytes{});
  // A bind key as tsig-keygen writes it.
  EXPECT_EQ(b64("4Sd2EHNKJlRjyt4P66HyLg2n7OddCn2HGf/dlZ2w7YM=")->size(), 32u);
}

TEST(TextBase64, Refuses) {
  for (const char* bad : {
           // no padding, or too little
           "Zg", "Zg=", "Zm8", "Zm9vYg", "Zm9vYmE", "Z", "Zm9vY",
           // too much padding, padding in the wrong place
           "Zg===", "Zm8==", "Zm9v=", "=", "==", "====", "Z===", "=Zg=", "Zg==Zm9v", "Zm8=Zm9v",
           "Zg==\n=", "Zm==8=",
           // characters outside the standard alphabet (base64url, others)
           "Zm9-", "Zm9_", "Zm9v.mFy", "Zm9v:mFy", "Zm9v\"mFy", "Zm9v\\mFy", "Zm9v\vYmFy", "Zm9v\fYmFy",
           "Zm9v\xc3\xa9===", "-_-_",
           // bits left over that are not zero (non-canonical)
           "Zh==", "Zm9=", "Zm+=", "Z/==",
       }) {
    EXPECT_FALSE(b64(bad).has_value()) << '"' << bad << '"';
  }
  EXPECT_FALSE(b64(std::string_view("Zm9v\0YmFy", 9)).has_value());
  EXPECT_FALSE(b64(std::string_view("Zg==\0", 5)).has_value());
}

TEST(TextBase64, RoundTripAgainstAnEncoder) {
  std::mt19937_64 rng(11);
  for (std::size_t len = 0; len < 200; ++len) {
    for (int k = 0; k < 20; ++k) {
      Bytes b(len);
      for (auto& x : b) x = static_cast<std::uint8_t>(rng());
      const std::string text = encode_base64(b);
      ASSERT_EQ(b64(text), b) << text;
    }
  }
  // Every one- and two-byte value.
  for (unsigned v = 0; v < 65536; ++v) {
    const Bytes one{static_cast<std::uint8_t>(v)};
    const Bytes two{static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    ASSERT_EQ(b64(encode_base64(one)), one);
    ASSERT_EQ(b64(encode_base64(two)), two);
  }
}

// Of every 4-character text over a small set (the alphabet's edges, '=', a
// space, foreign characters), each one accepted is, without its spaces, the
// encoder's output for what it decodes to (the round trip above shows that
// every encoder output is accepted).
TEST(TextBase64, EveryAcceptedTextIsCanonical) {
  const std::string chars = "AB/+Q=g ._";
  const std::size_t m = chars.size();
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < m * m * m * m; ++i) {
    std::string t;
    for (std::size_t k = 0, x = i; k < 4; ++k, x /= m) t += chars[x % m];
    std::string squeezed;
    for (char c : t) if (c != ' ') squeezed += c;
    const auto d = b64(t);
    const bool canonical = d.has_value() && encode_base64(*d) == squeezed;
    EXPECT_EQ(d.has_value(), canonical) << '"' << t << '"';
    accepted += d.has_value();
  }
  EXPECT_GT(accepted, 100u);
}

}  // namespace
