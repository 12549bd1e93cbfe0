#include "wire/build.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <bitset>
#include <cstring>

#include <emmintrin.h>   // SSE2: baseline on x86-64

namespace dorado::wire {

namespace {

constexpr std::size_t kEthHeader = 14;
constexpr std::size_t kVlanTag = 4;
constexpr std::size_t kIpv4Header = 20;
constexpr std::size_t kUdpHeader = 8;
constexpr std::size_t kIpUdpHeaders = kIpv4Header + kUdpHeader;
constexpr std::size_t kMinMaxMessage = 576;  // RFC 2132 9.10 floor
constexpr std::size_t kFixedWithCookie = kBootpFixedSize + 4;
constexpr std::size_t kMaxFrameVlans = 2;
constexpr std::size_t kMaxUdpPayload = 0xffff - kIpUdpHeaders;

// Codes the spec carries in dedicated fields (53, 54, 82), the framing codes,
// and 52 (sname/file are always written empty, so an overload would lie).
// Such entries in spec.options are ignored rather than emitted twice.
constexpr bool reserved_code(std::uint8_t c) noexcept {
  return c == opt::pad || c == opt::end || c == opt::overload || c == opt::message_type ||
         c == opt::server_id || c == opt::relay_agent_info;
}

// Calls f(option) for spec.options in emission order: first the codes of
// option 55 in its order (each code once, all entries with that code), then
// the entries whose code 55 does not list, in the order given.
template <typename F>
void for_each_in_order(const DhcpOptionsSpec& spec, F&& f) noexcept {
  std::bitset<256> requested;
  for (const std::uint8_t code : spec.parameter_request_list) {
    if (reserved_code(code) || requested.test(code)) continue;
    requested.set(code);
    for (const OptionValue& o : spec.options)
      if (o.code == code) f(o);
  }
  for (const OptionValue& o : spec.options)
    if (!reserved_code(o.code) && !requested.test(o.code)) f(o);
}

inline std::uint8_t* put_option(std::uint8_t* p, std::uint8_t code, Bytes value) noexcept {
  if (value.size() <= 255) {   // one instance, no loop
    p[0] = code;
    p[1] = static_cast<std::uint8_t>(value.size());
    if (!value.empty()) std::memcpy(p + 2, value.data(), value.size());
    return p + 2 + value.size();
  }
  std::size_t done = 0;
  do {
    const std::size_t n = std::min<std::size_t>(value.size() - done, 255);
    *p++ = code;
    *p++ = static_cast<std::uint8_t>(n);
    if (n != 0) std::memcpy(p, value.data() + done, n);
    p += n;
    done += n;
  } while (done < value.size());
  return p;
}

// The options of `spec` in emission order (see for_each_in_order), computed
// once: a rank per requested code, then an insertion sort of (rank, index)
// keys, which is linear for what build_reply passes (already nearly in
// option 55 order). Measured (bench/engine_bench BM_ReplyBuild): calling
// for_each_in_order three times cost ~40% of a reply build.
constexpr std::size_t kMaxOrdered = 128;   // more options: the generic path
struct Ordered {
  std::size_t count = 0;
  std::array<std::uint32_t, kMaxOrdered> key;   // rank << 16 | index into spec.options
};

void order_options(const DhcpOptionsSpec& spec, Ordered& ord) noexcept {
  // Non-reserved codes are at most 250, so a rank fits below 0xff, the rank
  // of options the client did not request (they follow, in the order given).
  std::array<std::uint8_t, 256> rank;
  rank.fill(0xff);
  std::uint32_t next = 0;
  for (const std::uint8_t code : spec.parameter_request_list)
    if (!reserved_code(code) && rank[code] == 0xff) rank[code] = static_cast<std::uint8_t>(next++);
  std::size_t n = 0;
  for (std::size_t i = 0; i < spec.options.size(); ++i) {
    const std::uint8_t code = spec.options[i].code;
    if (reserved_code(code)) continue;
    const std::uint32_t k = (std::uint32_t{rank[code]} << 16) | static_cast<std::uint32_t>(i);
    std::size_t j = n++;
    for (; j > 0 && ord.key[j - 1] > k; --j) ord.key[j] = ord.key[j - 1];
    ord.key[j] = k;
  }
  ord.count = n;
}

// The BOOTP fixed fields, the magic cookie, 53 and 54 (if non-zero); returns
// where the next option goes. May write zeros up to base + 252, below
// kBootpMinSize: the caller writes everything from the return value on.
//
// Written as words: at most 20 stores, where a memset and the fields one by
// one took over 30. The stores go to the request's mbuf, whose lines another
// core (the NIC's, in the pipeline bench) wrote last; each store holds a
// store-buffer entry until its line is here, and write_head was the worker's
// top function.
// For the memset of 240 bytes GCC also emitted rep stos (microcoded); the
// empty asm keeps it from seeing a memset in the zeroing loop.
std::uint8_t* write_head(std::uint8_t* base, const BootpFields& bootp, MessageType type,
                         Ipv4 server_id) noexcept {
  static_assert(kBootpMinSize >= kFixedWithCookie + 16);
  static_assert(std::endian::native == std::endian::little, "the head is composed as little-endian words");
  auto store64 = [](std::uint8_t* at, std::uint64_t v) noexcept { std::memcpy(at, &v, 8); };
  // op htype hlen hops | xid ; secs flags | ciaddr ; yiaddr | siaddr ; giaddr
  store64(base, std::uint64_t{bootp.op} | std::uint64_t{bootp.htype} << 8 | std::uint64_t{bootp.hlen} << 16 |
                    std::uint64_t{bootp.hops} << 24 | std::uint64_t{__builtin_bswap32(bootp.xid)} << 32);
  store64(base + 8, std::uint64_t{__builtin_bswap16(bootp.secs)} |
                        std::uint64_t{__builtin_bswap16(bootp.flags)} << 16 |
                        std::uint64_t{__builtin_bswap32(bootp.ciaddr)} << 32);
  store_be32(base + 16, bootp.yiaddr);
  // siaddr, giaddr, chaddr (20 .. 44): a reply echoes giaddr and chaddr, and
  // the request's siaddr is nearly always the reply's (0). Stored only if
  // different, for the reason sname and file are (below): in a frame without
  // VLAN tag or IP options these bytes and sname's first 20 fill a line.
  static_assert(sizeof bootp.chaddr == 16);
  std::uint64_t want[3];
  want[0] = std::uint64_t{__builtin_bswap32(bootp.siaddr)} |
            std::uint64_t{__builtin_bswap32(bootp.giaddr)} << 32;
  std::memcpy(&want[1], bootp.chaddr.data(), 16);
  if (std::memcmp(base + 20, want, sizeof want) != 0) std::memcpy(base + 20, want, sizeof want);
  // sname and file: zero, 44 .. 236. Written only if not zero already, as
  // in nearly every request the reply is written over: two of these lines
  // lie wholly inside them, and a line only read stays shared with the core
  // that wrote it, where a store must first take it over (the zeroing loop
  // was over half of write_head's samples, waiting on those stores).
  static_assert((kBootpFixedSize - 44) % 16 == 0);
  __m128i any = _mm_setzero_si128();
  for (std::size_t i = 44; i < kBootpFixedSize; i += 16)
    any = _mm_or_si128(any, _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i)));
  if (_mm_movemask_epi8(_mm_cmpeq_epi8(any, _mm_setzero_si128())) != 0xffff) {
    __m128i zero = _mm_setzero_si128();
    asm("" : "+x"(zero));
    for (std::size_t i = 44; i < kBootpFixedSize; i += 16)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(base + i), zero);
  }
  // The cookie, 53 (3 bytes), the code of 54; then 54's length and value.
  const std::uint64_t cookie = __builtin_bswap32(kMagicCookie);
  store64(base + kBootpFixedSize, cookie | std::uint64_t{opt::message_type} << 32 | std::uint64_t{1} << 40 |
                                      std::uint64_t{static_cast<std::uint8_t>(type)} << 48 |
                                      std::uint64_t{server_id != 0 ? opt::server_id : std::uint8_t{0}} << 56);
  std::uint8_t* p = base + kFixedWithCookie + 3;
  if (server_id != 0) {
    store64(p + 1, std::uint64_t{4} | std::uint64_t{__builtin_bswap32(server_id)} << 8);
    p += 6;
  }
  return p;
}

std::size_t budget_of(std::uint16_t max_message_size) noexcept {
  return std::min(std::max<std::size_t>(max_message_size, kMinMaxMessage) - kIpUdpHeaders,
                  kMaxUdpPayload);
}

}  // namespace

BuildResult build_dhcp_message(MutableBytes out, const BootpFields& bootp,
                               const DhcpOptionsSpec& spec) noexcept {
  const std::size_t budget = budget_of(spec.max_message_size);

  // Emission order once (up to kMaxOrdered options), else walked each pass.
  Ordered ord;
  const bool ordered = spec.options.size() <= kMaxOrdered;
  if (ordered) order_options(spec, ord);
  auto each = [&](auto&& f) noexcept {
    if (ordered) {
      for (std::size_t i = 0; i < ord.count; ++i) f(spec.options[ord.key[i] & 0xffffu]);
    } else {
      for_each_in_order(spec, f);
    }
  };

  // Mandatory options are reserved up front so that an optional one early in
  // the order can never crowd out a mandatory one later in it.
  std::size_t mandatory = 3 /* 53 */ + 1 /* END */;
  std::size_t optional = 0;
  if (spec.server_id != 0) mandatory += 6;
  if (!spec.relay_agent_info.empty()) mandatory += encoded_option_size(spec.relay_agent_info.size());
  each([&](const OptionValue& o) noexcept {
    (o.mandatory ? mandatory : optional) += encoded_option_size(o.value.size());
  });
  if (kFixedWithCookie + mandatory > budget) return {Error::mandatory_too_large, 0, 0};
  std::size_t spare = budget - kFixedWithCookie - mandatory;
  // Usually everything fits and no option is dropped: then the sizing pass
  // and the per-option checks of the write pass are not needed.
  const bool all_fit = optional <= spare;

  // Sizes first, so nothing is written when `out` is short.
  std::size_t length = kFixedWithCookie + mandatory;
  if (all_fit) {
    length += optional;
  } else {
    each([&](const OptionValue& o) noexcept {
      if (o.mandatory) return;
      const std::size_t n = encoded_option_size(o.value.size());
      if (n <= spare) {
        spare -= n;
        length += n;
      }
    });
  }
  const std::size_t padded = std::max(length, kBootpMinSize);
  if (out.size() < padded) return {Error::buffer_too_small, 0, 0};

  std::uint8_t* const base = out.data();
  std::uint8_t* p = write_head(base, bootp, spec.type, spec.server_id);
  if (all_fit) {
    each([&](const OptionValue& o) noexcept { p = put_option(p, o.code, o.value); });
  } else {
    // Same decisions as the sizing pass: `spare` is recomputed identically.
    spare = budget - kFixedWithCookie - mandatory;
    each([&](const OptionValue& o) noexcept {
      const std::size_t n = encoded_option_size(o.value.size());
      if (!o.mandatory) {
        if (n > spare) return;
        spare -= n;
      }
      p = put_option(p, o.code, o.value);
    });
  }
  if (!spec.relay_agent_info.empty()) p = put_option(p, opt::relay_agent_info, spec.relay_agent_info);
  *p++ = opt::end;

  const std::size_t written = static_cast<std::size_t>(p - base);
  if (written < padded) std::memset(p, 0, padded - written);
  return {Error::ok, padded, 0};
}

std::size_t header_size(const Envelope& env) noexcept {
  return kEthHeader + kVlanTag * std::min<std::size_t>(env.vlan_count, kMaxFrameVlans) +
         kIpUdpHeaders;
}

std::size_t wrap_udp_frame(MutableBytes out, const Envelope& env,
                           std::size_t payload_length) noexcept {
  const std::size_t hs = header_size(env);
  if (env.vlan_count > kMaxFrameVlans || payload_length > kMaxUdpPayload ||
      out.size() < hs || out.size() - hs < payload_length)
    return 0;

  std::uint8_t* p = out.data();
  std::memcpy(p, env.eth_dst.b.data(), 6);
  std::memcpy(p + 6, env.eth_src.b.data(), 6);
  p += 12;
  for (std::size_t i = 0; i < env.vlan_count; ++i) {
    store_be16(p, env.vlans[i].tpid);
    store_be16(p + 2, env.vlans[i].tci);
    p += kVlanTag;
  }
  store_be16(p, kEtherTypeIpv4);
  p += 2;

  std::uint8_t* const ip = p;
  const std::size_t udp_length = kUdpHeader + payload_length;
  ip[0] = 0x45;
  ip[1] = env.tos;
  store_be16(ip + 2, static_cast<std::uint16_t>(kIpv4Header + udp_length));
  store_be16(ip + 4, env.ip_id);
  store_be16(ip + 6, 0);  // no DF: a relay may need to fragment towards a small-MTU link
  ip[8] = env.ttl;
  ip[9] = kIpProtoUdp;
  store_be16(ip + 10, 0);
  store_be32(ip + 12, env.ip_src);
  store_be32(ip + 16, env.ip_dst);
  if (!env.checksum_offload) store_be16(ip + 10, ipv4_header_checksum(Bytes{ip, kIpv4Header}));

  std::uint8_t* const udp = ip + kIpv4Header;
  store_be16(udp, env.src_port);
  store_be16(udp + 2, env.dst_port);
  store_be16(udp + 4, static_cast<std::uint16_t>(udp_length));
  store_be16(udp + 6, 0);
  if (env.checksum_offload) {
    store_be16(udp + 6, udp_pseudo_header_sum(env.ip_src, env.ip_dst, udp_length));
  } else if (env.udp_checksum) {
    store_be16(udp + 6, udp_checksum(env.ip_src, env.ip_dst, Bytes{udp, udp_length}));
  }
  return hs + payload_length;
}

BuildResult build_dhcp_frame(MutableBytes out, const Envelope& env, const BootpFields& bootp,
                             const DhcpOptionsSpec& spec) noexcept {
  if (env.vlan_count > kMaxFrameVlans) return {Error::vlan_too_many, 0, 0};
  const std::size_t hs = header_size(env);
  if (out.size() < hs) return {Error::buffer_too_small, 0, 0};
  const BuildResult msg = build_dhcp_message(out.subspan(hs), bootp, spec);
  if (msg.error != Error::ok) return msg;
  const std::size_t length = wrap_udp_frame(out, env, msg.length);
  if (length == 0) return {Error::buffer_too_small, 0, 0};
  return {Error::ok, length, hs};
}

namespace {

template <bool kFqdn>
BuildResult build_encoded(MutableBytes out, const Envelope& env, const BootpFields& bootp,
                          const EncodedOptionsSpec& spec, Bytes client_fqdn) noexcept {
  if (env.vlan_count > kMaxFrameVlans) return {Error::vlan_too_many, 0, 0};
  const std::size_t hs = header_size(env);
  const std::size_t length = kFixedWithCookie + 3 + (spec.server_id != 0 ? 6 : 0) + spec.encoded.size() +
                             (spec.client_id.empty() ? 0 : encoded_option_size(spec.client_id.size())) +
                             (kFqdn ? encoded_option_size(client_fqdn.size()) : 0) +
                             (spec.relay_agent_info.empty() ? 0 : encoded_option_size(spec.relay_agent_info.size())) +
                             1 /* END */;
  if (length > budget_of(spec.max_message_size)) return {Error::mandatory_too_large, 0, 0};
  const std::size_t padded = std::max(length, kBootpMinSize);
  if (out.size() < hs || out.size() - hs < padded) return {Error::buffer_too_small, 0, 0};

  std::uint8_t* const base = out.data() + hs;
  std::uint8_t* p = write_head(base, bootp, spec.type, spec.server_id);
  if (!spec.encoded.empty()) std::memcpy(p, spec.encoded.data(), spec.encoded.size());
  for (const Patch32& patch : spec.patches) store_be32(p + patch.offset, patch.value);
  p += spec.encoded.size();
  if (!spec.client_id.empty()) p = put_option(p, opt::client_id, spec.client_id);
  if constexpr (kFqdn) p = put_option(p, opt::client_fqdn, client_fqdn);
  if (!spec.relay_agent_info.empty()) p = put_option(p, opt::relay_agent_info, spec.relay_agent_info);
  *p++ = opt::end;
  if (length < padded) std::memset(p, 0, padded - length);
  const std::size_t frame = wrap_udp_frame(out, env, padded);
  if (frame == 0) return {Error::buffer_too_small, 0, 0};
  return {Error::ok, frame, hs};
}

}  // namespace

BuildResult build_dhcp_frame_encoded(MutableBytes out, const Envelope& env, const BootpFields& bootp,
                                     const EncodedOptionsSpec& spec) noexcept {
  return build_encoded<false>(out, env, bootp, spec, {});
}

BuildResult build_dhcp_frame_encoded(MutableBytes out, const Envelope& env, const BootpFields& bootp,
                                     const EncodedOptionsSpec& spec, Bytes client_fqdn) noexcept {
  return build_encoded<true>(out, env, bootp, spec, client_fqdn);
}

BuildResult build_bootp_frame(MutableBytes out, const Envelope& env, const BootpFields& bootp,
                              const BootpReplySpec& spec) noexcept {
  if (env.vlan_count > kMaxFrameVlans) return {Error::vlan_too_many, 0, 0};
  const std::size_t hs = header_size(env);
  const std::size_t budget = std::min(std::max(spec.max_message, kBootpMinSize), kMaxUdpPayload);
  const std::size_t mandatory =
      (spec.relay_agent_info.empty() ? 0 : encoded_option_size(spec.relay_agent_info.size())) + 1 /* END */;
  if (kFixedWithCookie + mandatory > budget) return {Error::mandatory_too_large, 0, 0};
  // Sizes first (the same choices as the writing pass below), so nothing
  // is written when `out` is short.
  std::size_t spare = budget - kFixedWithCookie - mandatory;
  std::size_t length = kFixedWithCookie + mandatory;
  for (const OptionValue& o : spec.options) {
    const std::size_t n = encoded_option_size(o.value.size());
    if (reserved_code(o.code) || n > spare) continue;
    spare -= n;
    length += n;
  }
  const std::size_t padded = std::max(length, kBootpMinSize);
  if (out.size() < hs || out.size() - hs < padded) return {Error::buffer_too_small, 0, 0};

  // Not the hot path (BOOTP clients are rare): zeroed, then field by field.
  std::uint8_t* const base = out.data() + hs;
  std::memset(base, 0, padded);
  base[0] = bootp.op;
  base[1] = bootp.htype;
  base[2] = bootp.hlen;
  base[3] = bootp.hops;
  store_be32(base + 4, bootp.xid);
  store_be16(base + 8, bootp.secs);
  store_be16(base + 10, bootp.flags);
  store_be32(base + 12, bootp.ciaddr);
  store_be32(base + 16, bootp.yiaddr);
  store_be32(base + 20, bootp.siaddr);
  store_be32(base + 24, bootp.giaddr);
  std::memcpy(base + 28, bootp.chaddr.data(), bootp.chaddr.size());
  store_be32(base + kBootpFixedSize, kMagicCookie);
  std::uint8_t* p = base + kFixedWithCookie;
  spare = budget - kFixedWithCookie - mandatory;
  for (const OptionValue& o : spec.options) {
    const std::size_t n = encoded_option_size(o.value.size());
    if (reserved_code(o.code) || n > spare) continue;
    spare -= n;
    p = put_option(p, o.code, o.value);
  }
  if (!spec.relay_agent_info.empty()) p = put_option(p, opt::relay_agent_info, spec.relay_agent_info);
  *p = opt::end;
  const std::size_t frame = wrap_udp_frame(out, env, padded);
  if (frame == 0) return {Error::buffer_too_small, 0, 0};
  return {Error::ok, frame, hs};
}

}  // namespace dorado::wire
