// The engine's dynamic DNS hot path, inline (engine/ddns.hpp states the
// rules): the short path of option 81's encoding (encode_reply_fqdn) for
// the reply of every client that sent option 81 (shard_ddns.cpp): a stored
// name is at most 63 characters (kMaxHostnameLen), so it is copied and its
// dots turned into label lengths without library calls or a search per
// label; option 81 read without a call; and decide_ddns_name without its
// short path, for tests. Cost: bench/results/2026-12-07.md, "DDNS: option
// 81 encoded inline, wire names on a short path".
//
// Contract: noexcept, no allocation, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "engine/ddns.hpp"

namespace dorado::engine {

// decide_ddns_name without its short path for wire names (ddns.cpp,
// short_wire_name): the same decision (engine_ddns_test compares them).
DdnsName decide_ddns_name_general(const CompiledDdns& policy, const wire::DhcpMessage& m,
                                  wire::Ipv4 address) noexcept;

}  // namespace dorado::engine

namespace dorado::engine::ddns_detail {

// DhcpMessage::client_fqdn() without the call (wire/dhcp.cpp; read up to
// twice per request with [ddns]): the parser validated at least 3 bytes.
[[gnu::always_inline]] inline std::optional<wire::ClientFqdn> client_fqdn(const wire::DhcpMessage& m) noexcept {
  const auto v = m.option(wire::opt::client_fqdn);
  if (!v) return std::nullopt;
  return wire::ClientFqdn{(*v)[0], (*v)[1], (*v)[2], v->subspan(3)};
}

// `n` bytes (fewer than 16) from `src` to `dst`, as copy_small() below.
[[gnu::always_inline]] inline void copy_under16(std::uint8_t* dst, const void* src_v, std::size_t n) noexcept {
  const auto* src = static_cast<const std::uint8_t*>(src_v);
  const auto move = [&](std::size_t at, auto word) noexcept {
    std::memcpy(&word, src + at, sizeof word);
    std::memcpy(dst + at, &word, sizeof word);
  };
  if (n >= 8) {
    move(0, std::uint64_t{});
    move(n - 8, std::uint64_t{});
  } else if (n >= 4) {
    move(0, std::uint32_t{});
    move(n - 4, std::uint32_t{});
  } else {
    for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

// `n` bytes (at most 64) from `src` to `dst` without a library call: two
// (or four) overlapping moves of the largest size that fits (a memcpy call
// of a short name cost about 15 instructions). Reads and writes only
// [0, n).
[[gnu::always_inline]] inline void copy_small(std::uint8_t* dst, const void* src_v, std::size_t n) noexcept {
  const auto* src = static_cast<const std::uint8_t*>(src_v);
  const auto move = [&](std::size_t at, auto word) noexcept {
    std::memcpy(&word, src + at, sizeof word);
    std::memcpy(dst + at, &word, sizeof word);
  };
  struct W16 {
    std::uint64_t a, b;
  };
  if (n >= 16) {
    if (n > 32) {
      move(16, W16{});
      move(n - 32, W16{});
    }
    move(0, W16{});
    move(n - 16, W16{});
  } else {
    copy_under16(dst, src, n);
  }
}

// A name of at most 63 characters as canonical wire labels from out[at]
// (each dot-separated part, empty ones too, as a length byte and its
// bytes): the characters go one position on, then each dot becomes the
// length of the label after it, found from a mask of the dots (one compare
// per 16 characters). `out` has 64 bytes from at + 1. Returns the next
// position.
[[gnu::always_inline]] inline std::size_t put_short_labels(std::uint8_t* out, std::size_t at,
                                                           std::string_view s) noexcept {
  const std::size_t n = s.size();
  copy_small(out + at + 1, s.data(), n);
  std::uint64_t dots = 0;
#if defined(__SSE2__)
  const __m128i dot = _mm_set1_epi8('.');
  for (std::size_t b = 0; b * 16 < n; ++b)
    dots |= static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(
                _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(out + at + 1 + b * 16)), dot))))
            << (b * 16);
  dots &= (std::uint64_t{1} << n) - 1;   // n <= 63; bytes past n are not the name's
#else
  for (std::size_t i = 0; i < n; ++i)
    if (s[i] == '.') dots |= std::uint64_t{1} << i;
#endif
  std::size_t start = 0;   // the label's first character in `s`
  while (dots != 0) {
    const auto d = static_cast<std::size_t>(__builtin_ctzll(dots));
    out[at + start] = static_cast<std::uint8_t>(d - start);
    start = d + 1;
    dots &= dots - 1;
  }
  out[at + start] = static_cast<std::uint8_t>(n - start);
  return at + 1 + n;
}

static_assert(kMaxFqdnOption >= 3 + 1 + 64, "put_short_labels reads 64 bytes of the option");

}  // namespace dorado::engine::ddns_detail

namespace dorado::engine {

// encode_reply_fqdn() with its most common case inline: canonical wire
// format (E=1) of a partial stored name (at most 63 characters, no
// trailing dot) that the suffix qualifies within kMaxFqdnLen; every other
// case calls encode_reply_fqdn(). The same bytes either way
// (engine_ddns_test: DdnsEncode.InlineMatchesTheGeneralEncoder).
[[gnu::always_inline]] inline std::size_t encode_reply_fqdn_inline(std::string_view name, std::uint8_t reply_flags,
                                                                   std::string_view suffix, wire::Bytes wire,
                                                                   std::span<std::uint8_t> out) noexcept {
  const std::size_t n = name.size();
  if (!(reply_flags & kFqdnE) || n == 0 || n > kMaxHostnameLen || name.back() == '.' || suffix.empty() ||
      n + 1 + suffix.size() > kMaxFqdnLen || wire.size() > 64) [[unlikely]]
    return encode_reply_fqdn(name, reply_flags, suffix, wire, out);
  std::uint8_t* const o = out.data();
  o[0] = reply_flags;
  o[1] = 255;   // RCODE1, RCODE2: RFC 4702 section 4
  o[2] = 255;
  std::size_t at = ddns_detail::put_short_labels(o, 3, name);
  ddns_detail::copy_small(o + at, wire.data(), wire.size());
  at += wire.size();
  o[at++] = 0;   // the root label: qualified, the name is full
  return at;
}

}  // namespace dorado::engine
