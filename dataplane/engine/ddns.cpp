// The engine's part of dynamic DNS: the name decision and the reply's
// option 81 (engine/ddns.hpp states the rules). Fixed buffers on the stack,
// no allocation.
#include "engine/ddns.hpp"
#include "engine/ddns_encode.hpp"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dorado::engine {

namespace {

constexpr std::size_t kMaxLabel = 63;

constexpr bool label_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Each byte as a label keeps it: lower case, anything outside [a-z0-9-]
// becomes '-'. One load per character (the hot path: one name per commit).
constexpr std::array<char, 256> kSanitised = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const char l = lower(static_cast<char>(c));
    t[static_cast<std::size_t>(c)] = label_char(l) ? l : '-';
  }
  return t;
}();

// `n` bytes of `in` sanitised (kSanitised) into `out`, which has room for
// n rounded up to 16: 16 bytes per step with SSE2 (a byte loop cost 6.7
// instructions per character, bench/results/2026-12-07.md "DDNS: the
// name decided faster"); the last partial block goes through a zeroed
// copy so that nothing past `in + n` is read.
void sanitise(const std::uint8_t* in, std::size_t n, char* out) noexcept {
#if defined(__SSE2__)
  const auto block = [](__m128i c) noexcept {
    // Signed compares: bytes >= 0x80 are negative, outside every range.
    const auto in_range = [](__m128i v, char lo, char hi) noexcept {
      return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                           _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
    };
    const __m128i upper = in_range(c, 'A', 'Z');
    const __m128i l = _mm_add_epi8(c, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
    const __m128i ok = _mm_or_si128(_mm_or_si128(in_range(l, 'a', 'z'), in_range(l, '0', '9')),
                                    _mm_cmpeq_epi8(l, _mm_set1_epi8('-')));
    return _mm_or_si128(_mm_and_si128(ok, l), _mm_andnot_si128(ok, _mm_set1_epi8('-')));
  };
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     block(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  if (i < n) {
    alignas(16) std::uint8_t tail[16] = {};
    ddns_detail::copy_under16(tail, in + i, n - i);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), block(_mm_load_si128(reinterpret_cast<const __m128i*>(tail))));
  }
#else
  for (std::size_t i = 0; i < n; ++i) out[i] = kSanitised[in[i]];
#endif
}

// Sanitised labels joined by dots, at most kMaxFqdnLen characters (labels
// that would go beyond are left out), and whether the name was fully
// qualified.
class Joined {
 public:
  // Appends one label as sent: lower case, [a-z0-9-] (others -> '-'),
  // no '-' at either end, at most 63 characters; empty: left out. Written
  // in place behind the name so far (the buffer has room for one more
  // label than a name keeps), kept only when it fits.
  void add(const std::uint8_t* p, std::size_t n) noexcept {
    std::size_t skip = 0;   // leading characters that become '-'
    while (skip < n && kSanitised[p[skip]] == '-') ++skip;
    p += skip;
    std::size_t len = std::min(n - skip, kMaxLabel);
    const std::size_t at = len_ == 0 ? 0 : len_ + 1;
    char* const label = buf_.data() + at;
    sanitise(p, len, label);
    while (len > 0 && label[len - 1] == '-') --len;
    if (len == 0) return;
    if (at + len > kMaxFqdnLen) {
      cut_ = true;   // labels lost: the name is no longer the client's FQDN
      return;
    }
    if (len_ != 0) buf_[len_] = '.';
    len_ = at + len;
    if (first_ == 0) first_ = len;
  }
  // One label is never fully qualified, whatever the encoding says: ISC
  // dhclient sends `send fqdn.fqdn "host"` as "host" + the root label, and
  // a top-level name is never what a client means (Kea qualifies it too).
  void set_full(bool full) noexcept { full_ = full && !cut_ && len_ > first_; }
  bool empty() const noexcept { return len_ == 0; }

  // The stored name (engine/ddns.hpp): full with its trailing dot when it
  // fits 63, else the first label; partial cut back to whole labels.
  void store(DdnsName& out) const noexcept {
    if (len_ == 0) return;
    std::size_t n = len_;
    bool full = full_;
    if (full && n + 1 > kMaxHostnameLen) {
      full = false;
      n = first_;
    }
    if (!full && n > kMaxHostnameLen) {
      n = kMaxHostnameLen;
      while (buf_[n] != '.') --n;   // a dot exists before 63: the first label is <= 63
    }
    ddns_detail::copy_small(reinterpret_cast<std::uint8_t*>(out.name.data()), buf_.data(), n);
    if (full) out.name[n++] = '.';
    out.len = static_cast<std::uint8_t>(n);
  }

 private:
  // Not zeroed: only buf_[0, len_) is ever read (and a label being added).
  // 16 more bytes: sanitise() writes whole blocks of 16.
  std::array<char, kMaxFqdnLen + 1 + kMaxLabel + 16> buf_;
  std::size_t len_ = 0;
  std::size_t first_ = 0;
  bool full_ = false;
  bool cut_ = false;
};

// Option 81's name: canonical wire format (E=1; RFC 4702 section 2.3.1: a
// name ending with the root label is fully qualified) or ASCII (E=0; a
// trailing dot makes it full). Malformed wire labels end the name.
void join_fqdn(const wire::ClientFqdn& f, Joined& j) noexcept {
  const wire::Bytes name = f.name;
  if (f.flags & kFqdnE) {
    std::size_t i = 0;
    while (i < name.size()) {
      const std::size_t n = name[i];
      if (n == 0) {
        j.set_full(true);
        return;
      }
      if (n > kMaxLabel || i + 1 + n > name.size()) return;
      j.add(name.data() + i + 1, n);
      i += 1 + n;
    }
    return;
  }
  std::size_t start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      j.add(name.data() + start, i - start);
      start = i + 1;
    }
  }
  j.set_full(!name.empty() && name.back() == '.');
}

// Option 12: dot-separated; a name with a dot is fully qualified (Kea).
void join_hostname(std::string_view host, Joined& j) noexcept {
  const auto* p = reinterpret_cast<const std::uint8_t*>(host.data());
  const std::size_t n = host.size();
  std::size_t start = 0;
  bool dot = false;
  for (;;) {
    const void* at = n > start ? std::memchr(p + start, '.', n - start) : nullptr;
    const std::size_t end = at != nullptr ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(at) - p) : n;
    j.add(p + start, end - start);
    if (at == nullptr) break;
    dot = true;
    start = end + 1;
  }
  j.set_full(dot);
}

std::size_t put_decimal(char* out, std::uint32_t v) noexcept {
  char tmp[3];
  std::size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (std::size_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return n;
}

void generate(const CompiledDdns& policy, wire::Ipv4 address, DdnsName& out) noexcept {
  char* p = out.name.data();
  std::memcpy(p, policy.prefix.data(), policy.prefix_len);
  std::size_t n = policy.prefix_len;
  for (int shift = 24; shift >= 0; shift -= 8) {
    p[n++] = '-';
    n += put_decimal(p + n, (address >> shift) & 0xffu);
  }
  out.len = static_cast<std::uint8_t>(n);   // <= 40 + 16
}

}  // namespace

bool valid_label(std::string_view s) noexcept {
  if (s.empty() || s.size() > kMaxLabel || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), label_char);
}

bool valid_domain(std::string_view s) noexcept {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  if (s.empty() || s.size() > kMaxFqdnLen) return false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == '.') {
      if (!valid_label(s.substr(start, i - start))) return false;
      start = i + 1;
    }
  return true;
}

namespace {

#if defined(__SSE2__)
// Bits of the bytes of `v` that are label characters, either case:
// [A-Za-z0-9-].
inline unsigned label_chars(__m128i v) noexcept {
  const auto in_range = [](__m128i x, char lo, char hi) noexcept {
    return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(static_cast<char>(lo - 1))),
                         _mm_cmplt_epi8(x, _mm_set1_epi8(static_cast<char>(hi + 1))));
  };
  const __m128i l = _mm_or_si128(v, _mm_set1_epi8(0x20));   // ASCII letters to lower case (others checked apart)
  const __m128i ok = _mm_or_si128(_mm_or_si128(in_range(l, 'a', 'z'), in_range(v, '0', '9')),
                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
  return static_cast<unsigned>(_mm_movemask_epi8(ok));
}
#endif

// The short path of an option 81 name in canonical wire format (E=1), the
// common case: at most 64 bytes of well-formed labels, each of label
// characters only ([A-Za-z0-9-], no '-' at either end), then the root
// label or nothing. Such a name sanitises to itself in lower case with
// the length bytes as dots, so join_fqdn() + Joined::store() are not
// needed: writes the stored name into `out` (full, with its trailing dot,
// when it ends with the root label and has two labels or more) and
// returns true. Anything else returns false and the general path decides
// (engine_ddns_test: DdnsName.ShortPathMatchesTheGeneralOne).
bool short_wire_name(wire::Bytes raw, DdnsName& out) noexcept {
#if defined(__SSE2__)
  const std::size_t r = raw.size();
  if (r < 2 || r > kMaxHostnameLen + 1) return false;
  // Separators in the stored name: each length byte after the first (and
  // the root label) sits one position before it in `raw`.
  std::uint64_t seps = 0;
  std::size_t labels = 0;
  bool root = false;
  for (std::size_t i = 0; i < r;) {
    const std::size_t n = raw[i];
    if (n == 0) {
      if (i + 1 != r) return false;   // bytes after the root label: the general path ignores them
      root = true;
      break;
    }
    if (n > kMaxLabel || i + 1 + n > r || raw[i + 1] == '-' || raw[i + n] == '-') return false;
    if (i != 0) seps |= std::uint64_t{1} << (i - 1);
    ++labels;
    i += 1 + n;
  }
  if (root) seps |= std::uint64_t{1} << (r - 2);
  // Characters of the stored name: raw[1, r) in blocks of 16 from a
  // zeroed copy (nothing read past the option).
  alignas(16) std::uint8_t buf[kMaxHostnameLen + 1 + 16] = {};
  ddns_detail::copy_small(buf, raw.data() + 1, r - 1);
  const std::size_t n = r - 1;   // the name's length with the root as its trailing dot
  std::uint64_t ok = 0;
  for (std::size_t b = 0; b * 16 < n; ++b) {
    const __m128i v = _mm_load_si128(reinterpret_cast<const __m128i*>(buf + b * 16));
    ok |= static_cast<std::uint64_t>(label_chars(v)) << (b * 16);
    const __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
    _mm_store_si128(reinterpret_cast<__m128i*>(buf + b * 16), _mm_add_epi8(v, _mm_and_si128(upper, _mm_set1_epi8(0x20))));
  }
  const std::uint64_t all = (std::uint64_t{1} << n) - 1;   // n <= 63
  if (((ok | seps) & all) != all) return false;
  for (std::uint64_t s = seps; s != 0; s &= s - 1) buf[__builtin_ctzll(s)] = '.';
  // One label is never fully qualified (Joined::set_full): its root goes.
  const std::size_t len = root && labels == 1 ? n - 1 : n;
  ddns_detail::copy_small(reinterpret_cast<std::uint8_t*>(out.name.data()), buf, len);
  out.len = static_cast<std::uint8_t>(len);
  return true;
#else
  (void)raw;
  (void)out;
  return false;
#endif
}

// Inlined into both entry points (a call between them cost 6 instructions).
template <bool kShort>
[[gnu::always_inline]] inline void decide(const CompiledDdns& policy, const wire::DhcpMessage& m, wire::Ipv4 address,
                                          DdnsName& out) noexcept {
  out.len = 0;
  out.flags = 0;
  out.reply_fqdn = false;
  out.reply_flags = 0;
  const std::optional<wire::ClientFqdn> fqdn = ddns_detail::client_fqdn(m);
  // The client's name, stored into `out` only when it is the one kept
  // (short: already there; generate() replaces it).
  Joined client;
  bool short_name = false;
  if (fqdn && !fqdn->name.empty()) {
    if (kShort && (fqdn->flags & kFqdnE) && short_wire_name(fqdn->name, out))
      short_name = true;
    else
      join_fqdn(*fqdn, client);
  } else if (const auto host = m.hostname()) {
    join_hostname(*host, client);
  }
  const bool sent = short_name || !client.empty();
  bool generated = false;
  switch (policy.replace_client_name) {
    case ReplaceClientName::never: break;
    case ReplaceClientName::always: generated = true; break;
    case ReplaceClientName::when_present: generated = sent; break;
    case ReplaceClientName::when_not_present: generated = !sent; break;
  }
  if (generated)
    generate(policy, address, out);
  else if (policy.replace_client_name != ReplaceClientName::when_present && !short_name)
    client.store(out);

  std::uint8_t flags = kDdnsForward | kDdnsReverse;
  if (fqdn) {
    if (fqdn->flags & kFqdnN)
      flags = policy.override_no_update ? kDdnsForward | kDdnsReverse : 0;
    else if (!(fqdn->flags & kFqdnS) && !policy.override_client_update)
      flags = kDdnsReverse;
  }
  out.flags = out.len != 0 ? flags : 0;
  if (fqdn) {
    out.reply_fqdn = true;
    out.reply_flags = reply_fqdn_flags(out.flags, fqdn->flags);
  }
}

}  // namespace

void decide_ddns_name(const CompiledDdns& policy, const wire::DhcpMessage& m, wire::Ipv4 address,
                      DdnsName& out) noexcept {
  decide<true>(policy, m, address, out);
}

DdnsName decide_ddns_name(const CompiledDdns& policy, const wire::DhcpMessage& m, wire::Ipv4 address) noexcept {
  DdnsName out;
  decide_ddns_name(policy, m, address, out);
  return out;
}

DdnsName decide_ddns_name_general(const CompiledDdns& policy, const wire::DhcpMessage& m,
                                  wire::Ipv4 address) noexcept {
  DdnsName out;
  decide<false>(policy, m, address, out);
  return out;
}

namespace {

// `s` as canonical wire labels (each dot-separated part, empty ones too,
// as a length byte and its bytes) from out[at]; returns the next position.
std::size_t put_labels(std::span<std::uint8_t> out, std::size_t at, std::string_view s) noexcept {
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = s.find('.', start);
    const std::size_t end = dot == std::string_view::npos ? s.size() : dot;
    out[at++] = static_cast<std::uint8_t>(end - start);
    std::memcpy(out.data() + at, s.data() + start, end - start);
    at += end - start;
    if (dot == std::string_view::npos) return at;
    start = dot + 1;
  }
}

}  // namespace

std::size_t suffix_wire(std::string_view suffix, std::span<std::uint8_t> out) noexcept {
  return suffix.empty() ? 0 : put_labels(out, 0, suffix);
}

// What qualify() would give, written straight into the option: the name,
// then "." and the suffix when it is appended (no copy of the FQDN aside).
// Every stored name is at most 63 characters (kMaxHostnameLen): those take
// the short path, without library calls; longer ones the general one.
std::size_t encode_reply_fqdn(std::string_view name, std::uint8_t reply_flags, std::string_view suffix,
                              wire::Bytes wire, std::span<std::uint8_t> out) noexcept {
  out[0] = reply_flags;
  out[1] = 255;   // RCODE1, RCODE2: RFC 4702 section 4
  out[2] = 255;
  std::size_t at = 3;
  if (name.empty()) return at;
  const bool name_full = name.back() == '.';
  if (name_full) name.remove_suffix(1);
  if (name.empty()) return at;
  bool append = !name_full && !suffix.empty();
  if (name.size() + (append ? 1 + suffix.size() : 0) > kMaxFqdnLen) {   // qualified, it would pass 253: the name alone
    if (name.size() > kMaxFqdnLen) return at;
    suffix = {};
    append = false;
  }
  const bool full = name_full || !suffix.empty();
  if (name.size() <= kMaxHostnameLen) {
    std::uint8_t* const o = out.data();
    if (reply_flags & kFqdnE) {
      at = ddns_detail::put_short_labels(o, at, name);
      if (append) {
        if (wire.size() <= 64)
          ddns_detail::copy_small(o + at, wire.data(), wire.size());
        else
          std::memcpy(o + at, wire.data(), wire.size());
        at += wire.size();
      }
      if (full) o[at++] = 0;
    } else {
      ddns_detail::copy_small(o + at, name.data(), name.size());
      at += name.size();
      if (append) {
        o[at++] = '.';
        if (suffix.size() <= 64)
          ddns_detail::copy_small(o + at, suffix.data(), suffix.size());
        else
          std::memcpy(o + at, suffix.data(), suffix.size());
        at += suffix.size();
      }
      if (full) o[at++] = '.';
    }
    return at;
  }
  if (reply_flags & kFqdnE) {
    at = put_labels(out, at, name);
    if (append) {
      std::memcpy(out.data() + at, wire.data(), wire.size());
      at += wire.size();
    }
    if (full) out[at++] = 0;
  } else {
    std::memcpy(out.data() + at, name.data(), name.size());
    at += name.size();
    if (append) {
      out[at++] = '.';
      std::memcpy(out.data() + at, suffix.data(), suffix.size());
      at += suffix.size();
    }
    if (full) out[at++] = '.';
  }
  return at;
}

}  // namespace dorado::engine
