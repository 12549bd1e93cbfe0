#include "wire/dhcp.hpp"

namespace dorado::wire {

// Does the parsing for DhcpMessage (a friend, so the message keeps a narrow
// public surface). Offsets are relative to the start of the payload.
class DhcpParser {
 public:
  explicit DhcpParser(DhcpMessage& m) noexcept : m_(m) {}

  Error run(Bytes payload) noexcept;

 private:
  struct Area {
    std::size_t begin;
    std::size_t end;
    bool allows_overload;
  };

  Error fail(Error e, std::uint8_t code = 0) noexcept {
    m_.error = e;
    m_.error_option = code;
    return e;
  }
  Error index_area(const Area& a) noexcept;
  Error concatenate(const Area* areas, std::size_t n) noexcept;
  Error validate() noexcept;

  DhcpMessage& m_;
  std::bitset<256> multi_;
};

namespace {

constexpr std::size_t kCookieOffset = kBootpFixedSize;
constexpr std::size_t kOptionsOffset = kBootpFixedSize + 4;
constexpr std::size_t kSnameOffset = 44;
constexpr std::size_t kFileOffset = 108;

enum class Shape : std::uint8_t {
  any,        // untyped: any length
  ip,         // exactly 4 bytes
  u32,        // exactly 4 bytes
  ip_list,    // n * 4, n >= 1
  u16,        // exactly 2
  u8,         // exactly 1
  nonempty,   // >= 1
  lenient,    // RFC 2132 says >= 1, but an empty one only means "nothing"
  client_id,  // >= 2 (RFC 2132 9.14)
  fqdn,       // >= 3 (RFC 4702)
  relay,      // RFC 3046 sub-options
  routes,     // RFC 3442 descriptors
};

constexpr std::array<Shape, 256> make_shapes() {
  std::array<Shape, 256> s{};
  s[opt::subnet_mask] = Shape::ip;
  s[opt::routers] = Shape::ip_list;
  s[opt::dns_servers] = Shape::ip_list;
  s[opt::hostname] = Shape::lenient;
  s[opt::domain_name] = Shape::lenient;
  s[opt::broadcast_address] = Shape::ip;
  s[opt::requested_ip] = Shape::ip;
  s[opt::lease_time] = Shape::u32;
  s[opt::overload] = Shape::u8;
  s[opt::message_type] = Shape::u8;
  s[opt::server_id] = Shape::ip;
  s[opt::parameter_request_list] = Shape::lenient;
  s[opt::max_message_size] = Shape::u16;
  s[opt::renewal_time] = Shape::u32;
  s[opt::rebinding_time] = Shape::u32;
  s[opt::vendor_class_id] = Shape::lenient;
  s[opt::client_id] = Shape::client_id;
  s[opt::client_fqdn] = Shape::fqdn;
  s[opt::relay_agent_info] = Shape::relay;
  s[opt::subnet_selection] = Shape::ip;
  s[opt::classless_static_route] = Shape::routes;
  return s;
}
constexpr std::array<Shape, 256> kShapes = make_shapes();

// What validate() checks of each code's (concatenated) length, from its
// shape: min <= length <= max, length a multiple of 4 for lists; then the
// value of the few codes marked value_check (53, 82, 121).
struct LengthRule {
  std::uint16_t min = 0;
  std::uint16_t max = 0xffff;
  std::uint8_t multiple_mask = 0;   // 3: a multiple of 4
  bool value_check = false;
};

constexpr std::array<LengthRule, 256> make_length_rules() {
  std::array<LengthRule, 256> r{};
  for (std::size_t c = 0; c < 256; ++c) {
    switch (kShapes[c]) {
      case Shape::any:
      case Shape::lenient: break;
      case Shape::ip:
      case Shape::u32: r[c] = {4, 4, 0, false}; break;
      case Shape::ip_list: r[c] = {4, 0xffff, 3, false}; break;
      case Shape::u16: r[c] = {2, 2, 0, false}; break;
      case Shape::u8: r[c] = {1, 1, 0, false}; break;
      case Shape::nonempty: r[c] = {1, 0xffff, 0, false}; break;
      case Shape::client_id: r[c] = {2, 0xffff, 0, false}; break;
      case Shape::fqdn: r[c] = {3, 0xffff, 0, false}; break;
      case Shape::relay:
      case Shape::routes: r[c] = {1, 0xffff, 0, true}; break;
    }
  }
  r[opt::message_type].value_check = true;
  return r;
}
constexpr std::array<LengthRule, 256> kLengthRules = make_length_rules();

// Walks RFC 3046 sub-options; calls f(code, value) for each. False if the
// framing is broken.
template <typename F>
bool walk_suboptions(Bytes v, F&& f) noexcept {
  std::size_t i = 0;
  while (i < v.size()) {
    if (i + 2 > v.size()) return false;
    const std::uint8_t code = v[i];
    const std::size_t len = v[i + 1];
    if (i + 2 + len > v.size()) return false;
    f(code, v.subspan(i + 2, len));
    i += 2 + len;
  }
  return true;
}

bool routes_valid(Bytes v) noexcept {
  if (v.empty()) return false;
  std::size_t i = 0;
  while (i < v.size()) {
    const std::uint8_t width = v[i];
    if (width > 32) return false;
    const std::size_t need = 1 + (width + 7u) / 8u + 4;
    if (i + need > v.size()) return false;
    i += need;
  }
  return true;
}

}  // namespace

Error DhcpParser::index_area(const Area& a) noexcept {
  const std::uint8_t* p = m_.payload_.data();
  std::size_t i = a.begin;
  while (i < a.end) {
    const std::uint8_t code = p[i];
    if (code == opt::pad) {
      ++i;
      continue;
    }
    if (code == opt::end) break;
    if (i + 1 >= a.end) return fail(Error::option_truncated, code);
    const std::size_t len = p[i + 1];
    if (i + 2 + len > a.end) return fail(Error::option_overrun, code);
    if (code == opt::overload && !a.allows_overload) return fail(Error::overload_bad, code);
    if (!m_.present_.test(code)) {
      m_.present_.set(code);
      m_.slots_[code].off = static_cast<std::uint16_t>(i + 2);
      m_.slots_[code].len = static_cast<std::uint16_t>(len);
      m_.slots_[code].count = 1;
      m_.order_[m_.order_count_++] = code;
    } else {
      // Repeated code: RFC 3396 says the instances form one value.
      multi_.set(code);
      m_.slots_[code].len = static_cast<std::uint16_t>(m_.slots_[code].len + len);
      if (m_.slots_[code].count != 255) ++m_.slots_[code].count;
    }
    i += 2 + len;
  }
  return Error::ok;
}

Error DhcpParser::concatenate(const Area* areas, std::size_t n) noexcept {
  // Reserve one contiguous run of scratch per repeated code, then copy the
  // instances in area order. Rare path: only for codes seen more than once.
  std::array<std::uint16_t, 256> fill;
  std::size_t cursor = 0;
  for (std::size_t k = 0; k < m_.order_count_; ++k) {
    const std::uint8_t code = m_.order_[k];
    if (!multi_.test(code)) continue;
    if (cursor + m_.slots_[code].len > kConcatScratch) return fail(Error::concat_overflow, code);
    m_.slots_[code].off = static_cast<std::uint16_t>(cursor);
    m_.in_scratch_.set(code);
    fill[code] = 0;
    cursor += m_.slots_[code].len;
  }
  const std::uint8_t* p = m_.payload_.data();
  for (std::size_t a = 0; a < n; ++a) {
    std::size_t i = areas[a].begin;
    while (i < areas[a].end) {  // framing was validated by index_area()
      const std::uint8_t code = p[i];
      if (code == opt::pad) {
        ++i;
        continue;
      }
      if (code == opt::end) break;
      const std::size_t len = p[i + 1];
      if (multi_.test(code)) {
        std::memcpy(m_.scratch_.data() + m_.slots_[code].off + fill[code], p + i + 2, len);
        fill[code] = static_cast<std::uint16_t>(fill[code] + len);
      }
      i += 2 + len;
    }
  }
  return Error::ok;
}

Error DhcpParser::validate() noexcept {
  // Lengths by table, not by a switch per option (that loop, building an
  // optional and jumping per option, was 11% of a worker's time in the
  // pipeline benchmark); 53's value and the structure of 82 and 121 are
  // checked where they come, so the first bad option is the one reported.
  for (std::size_t k = 0; k < m_.order_count_; ++k) {
    const std::uint8_t code = m_.order_[k];
    const LengthRule r = kLengthRules[code];
    const std::size_t n = m_.slots_[code].len;
    if (n < r.min || n > r.max || (n & r.multiple_mask) != 0) return fail(Error::option_bad_length, code);
    if (!r.value_check) continue;
    const Bytes v{m_.at(code), n};
    bool value_ok = true;
    switch (kShapes[code]) {
      case Shape::relay:
        value_ok = walk_suboptions(v, [&](std::uint8_t sub, Bytes sv) {
          if ((sub == 5 || sub == 11) && sv.size() != 4) value_ok = false;
        }) && value_ok;
        break;
      case Shape::routes:
        value_ok = routes_valid(v);
        break;
      default:   // 53
        value_ok = v[0] != 0 && v[0] <= 18;
        break;
    }
    if (!value_ok) return fail(Error::option_bad_value, code);
  }
  return Error::ok;
}

Error DhcpParser::run(Bytes payload) noexcept {
  m_.error = Error::ok;
  m_.error_option = 0;
  m_.payload_ = payload;
  m_.present_.reset();
  m_.in_scratch_.reset();
  m_.order_count_ = 0;
  m_.overload = 0;
  m_.areas = 0;
  m_.has_cookie = false;
  // One at a time: chained, the compiler copied file_field's two freshly
  // stored words back as one 16-byte load (a store-forwarding stall, over
  // half of run()'s samples in the pipeline's worker).
  m_.chaddr_field = Bytes{};
  m_.sname_field = Bytes{};
  m_.file_field = Bytes{};
  multi_.reset();

  if (payload.size() < kBootpFixedSize) return fail(Error::bootp_truncated);
  const std::uint8_t* p = payload.data();
  m_.op = p[0];
  m_.htype = p[1];
  m_.hlen = p[2];
  m_.hops = p[3];
  m_.xid = load_be32(p + 4);
  m_.secs = load_be16(p + 8);
  m_.flags = load_be16(p + 10);
  m_.ciaddr = load_be32(p + 12);
  m_.yiaddr = load_be32(p + 16);
  m_.siaddr = load_be32(p + 20);
  m_.giaddr = load_be32(p + 24);
  m_.chaddr_field = payload.subspan(28, 16);
  m_.sname_field = payload.subspan(kSnameOffset, 64);
  m_.file_field = payload.subspan(kFileOffset, 128);
  if (m_.op != 1 && m_.op != 2) return fail(Error::bootp_bad_op);
  if (m_.hlen > 16) return fail(Error::bootp_bad_hlen);
  if (payload.size() < kOptionsOffset || load_be32(p + kCookieOffset) != kMagicCookie)
    return fail(Error::dhcp_no_cookie);
  m_.has_cookie = true;

  Area areas[3];
  std::size_t n = 0;
  areas[n++] = Area{kOptionsOffset, payload.size(), true};
  m_.areas = area_options;
  if (const Error e = index_area(areas[0]); e != Error::ok) return e;

  if (m_.present_.test(opt::overload)) {
    if (m_.slots_[opt::overload].len != 1 || multi_.test(opt::overload))
      return fail(Error::overload_bad, opt::overload);
    m_.overload = p[m_.slots_[opt::overload].off];
    if (m_.overload < 1 || m_.overload > 3) return fail(Error::overload_bad, opt::overload);
    // RFC 2131 4.1: the file field is read before sname.
    if (m_.overload & 1) {
      areas[n++] = Area{kFileOffset, kFileOffset + 128, false};
      m_.areas |= area_file;
      if (const Error e = index_area(areas[n - 1]); e != Error::ok) return e;
    }
    if (m_.overload & 2) {
      areas[n++] = Area{kSnameOffset, kSnameOffset + 64, false};
      m_.areas |= area_sname;
      if (const Error e = index_area(areas[n - 1]); e != Error::ok) return e;
    }
  }
  if (multi_.any()) {
    if (const Error e = concatenate(areas, n); e != Error::ok) return e;
  }
  return validate();
}

Error DhcpMessage::parse(Bytes payload) noexcept { return DhcpParser(*this).run(payload); }

std::optional<ClientFqdn> DhcpMessage::client_fqdn() const noexcept {
  const auto v = option(opt::client_fqdn);
  if (!v) return std::nullopt;
  return ClientFqdn{(*v)[0], (*v)[1], (*v)[2], v->subspan(3)};
}

std::optional<RelayAgentInfo> DhcpMessage::relay_agent_info() const noexcept {
  const auto v = option(opt::relay_agent_info);
  if (!v) return std::nullopt;
  RelayAgentInfo r;
  r.raw = *v;
  walk_suboptions(*v, [&](std::uint8_t code, Bytes sv) {
    switch (code) {
      case 1: r.circuit_id = sv; break;
      case 2: r.remote_id = sv; break;
      case 5: r.link_selection = load_be32(sv.data()); break;
      case 9: r.vendor_specific = sv; break;
      case 11: r.server_id_override = load_be32(sv.data()); break;
      default: break;
    }
  });
  return r;
}

Ipv4 server_id_override(Bytes relay_agent_info) noexcept {
  Ipv4 sid = 0;
  walk_suboptions(relay_agent_info, [&](std::uint8_t code, Bytes sv) {
    if (code == 11 && sv.size() == 4) sid = load_be32(sv.data());
  });
  return sid;
}

}  // namespace dorado::wire
