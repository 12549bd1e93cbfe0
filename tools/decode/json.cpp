#include "decode/json.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string_view>

#include "wire/errors.hpp"
#include "wire/frame.hpp"
#include "wire/text.hpp"

namespace dorado::decode {
namespace {

using wire::Bytes;

// How dorado-decode renders options that wire::DhcpMessage has no accessor
// for (RFC 2132 and later registry entries with a fixed shape). Codes with an
// accessor are handled in option_json directly; everything else is hex.
enum class Shape : std::uint8_t { hex, ip, ip_list, text, u8, u16, u32, i32, static_routes, user_class };

constexpr std::array<Shape, 256> make_shapes() {
  std::array<Shape, 256> s{};
  for (int c : {16, 32}) s[c] = Shape::ip;
  for (int c : {4, 5, 7, 8, 9, 10, 11, 41, 42, 44, 45, 48, 49, 65, 68, 69, 70, 71, 72, 73, 74, 75,
                76, 85, 92, 112, 138, 150})
    s[c] = Shape::ip_list;
  for (int c : {14, 17, 18, 40, 47, 56, 62, 64, 66, 67, 100, 101, 114, 161}) s[c] = Shape::text;
  for (int c : {19, 20, 23, 27, 29, 30, 31, 34, 36, 37, 39, 46, 116}) s[c] = Shape::u8;
  for (int c : {13, 22, 26}) s[c] = Shape::u16;
  for (int c : {24, 35, 38, 91, 108}) s[c] = Shape::u32;
  s[2] = Shape::i32;
  s[33] = Shape::static_routes;
  s[77] = Shape::user_class;
  return s;
}
constexpr std::array<Shape, 256> kShapes = make_shapes();

std::string_view relay_suboption_name(std::uint8_t code) noexcept {
  switch (code) {
    case 1: return "Agent-Circuit-ID";          // RFC 3046
    case 2: return "Agent-Remote-ID";           // RFC 3046
    case 4: return "DOCSIS-Device-Class";       // RFC 3256
    case 5: return "Link-Selection";            // RFC 3527
    case 6: return "Subscriber-ID";             // RFC 3993
    case 7: return "RADIUS-Attributes";         // RFC 4014
    case 8: return "Authentication";            // RFC 4030
    case 9: return "Vendor-Specific";           // RFC 4243
    case 10: return "Relay-Agent-Flags";        // RFC 5010
    case 11: return "Server-Identifier-Override";  // RFC 5107
    case 12: return "Relay-Agent-Identifier";   // RFC 6925
    case 19: return "Relay-Source-Port";        // RFC 8357
    case 151: return "Virtual-Subnet-Selection";  // RFC 6607
    case 152: return "Virtual-Subnet-Selection-Control";  // RFC 6607
    default: return "Unknown";
  }
}

bool printable(Bytes b) noexcept {
  for (const std::uint8_t c : b)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

std::string text(Bytes b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

Json ip_list(Bytes b) {
  Json list = Json::array();
  for (std::size_t i = 0; i + 4 <= b.size(); i += 4)
    list.push_back(wire::format_ipv4(wire::load_be32(b.data() + i)));
  return list;
}

// Bytes as {"hex"} plus "text" when they are printable ASCII (circuit ids,
// remote ids and vendor classes usually are).
Json opaque(Bytes b) {
  Json j = {{"hex", hex(b)}};
  if (!b.empty() && printable(b)) j["text"] = text(b);
  return j;
}

// RFC 1035 wire-format name ("\x04host\x07example\x03com\x00") as dotted text;
// nullopt when the labels do not add up (compression is not allowed here).
std::optional<std::string> dns_name(Bytes b) {
  std::string out;
  std::size_t i = 0;
  while (i < b.size()) {
    const std::size_t len = b[i++];
    if (len == 0) return i == b.size() ? std::optional(out) : std::nullopt;
    if (len > 63 || i + len > b.size()) return std::nullopt;
    if (!out.empty()) out += '.';
    out += text(b.subspan(i, len));
    i += len;
  }
  return out;  // a partial name (no root label), as RFC 4702 allows
}

Json fqdn_json(const wire::ClientFqdn& f) {
  Json j = {{"flags", f.flags},
            {"s", (f.flags & 0x01) != 0},
            {"o", (f.flags & 0x02) != 0},
            {"e", (f.flags & 0x04) != 0},
            {"n", (f.flags & 0x08) != 0},
            {"rcode1", f.rcode1},
            {"rcode2", f.rcode2}};
  if ((f.flags & 0x04) == 0) {
    j["name"] = text(f.name);
  } else if (auto name = dns_name(f.name)) {
    j["name"] = *name;
  } else {
    j["name_hex"] = hex(f.name);
  }
  return j;
}

Json relay_json(const wire::RelayAgentInfo& r) {
  // Sub-option framing was checked by parse_dhcp.
  Json subs = Json::array();
  for (std::size_t i = 0; i + 2 <= r.raw.size();) {
    const std::uint8_t code = r.raw[i];
    const std::size_t len = r.raw[i + 1];
    const Bytes v = r.raw.subspan(i + 2, std::min(len, r.raw.size() - i - 2));
    Json s = {{"code", code}, {"name", relay_suboption_name(code)}, {"length", len}};
    if (code == 5 && r.link_selection) {
      s["value"] = wire::format_ipv4(*r.link_selection);
    } else {
      s.update(opaque(v));
    }
    subs.push_back(std::move(s));
    i += 2 + len;
  }
  return subs;
}

Json routes_json(const wire::ClasslessRoutes& routes) {
  Json list = Json::array();
  routes.for_each([&](const wire::ClasslessRoute& r) {
    list.push_back({{"destination", wire::format_ipv4(r.destination) + "/" + std::to_string(r.prefix_length)},
                    {"router", wire::format_ipv4(r.router)}});
  });
  return list;
}

// Values for the codes of kShapes; null when the bytes do not fit the shape.
Json shaped_value(Shape shape, Bytes v) {
  switch (shape) {
    case Shape::hex:
      return nullptr;
    case Shape::ip:
      return v.size() == 4 ? Json(wire::format_ipv4(wire::load_be32(v.data()))) : Json();
    case Shape::ip_list:
      return !v.empty() && v.size() % 4 == 0 ? ip_list(v) : Json();
    case Shape::text:
      return !v.empty() ? Json(text(v)) : Json();
    case Shape::u8:
      return v.size() == 1 ? Json(v[0]) : Json();
    case Shape::u16:
      return v.size() == 2 ? Json(wire::load_be16(v.data())) : Json();
    case Shape::u32:
      return v.size() == 4 ? Json(wire::load_be32(v.data())) : Json();
    case Shape::i32:
      return v.size() == 4 ? Json(static_cast<std::int32_t>(wire::load_be32(v.data()))) : Json();
    case Shape::static_routes: {
      if (v.empty() || v.size() % 8 != 0) return nullptr;
      Json list = Json::array();
      for (std::size_t i = 0; i < v.size(); i += 8)
        list.push_back({{"destination", wire::format_ipv4(wire::load_be32(v.data() + i))},
                        {"router", wire::format_ipv4(wire::load_be32(v.data() + i + 4))}});
      return list;
    }
    case Shape::user_class: {
      // RFC 3004: length-prefixed instances.
      Json list = Json::array();
      std::size_t i = 0;
      while (i < v.size()) {
        const std::size_t len = v[i++];
        if (len == 0 || i + len > v.size()) return nullptr;
        const Bytes item = v.subspan(i, len);
        list.push_back(printable(item) ? Json(text(item)) : Json{{"hex", hex(item)}});
        i += len;
      }
      return list.empty() ? Json() : list;
    }
  }
  return nullptr;
}

// The typed value of `code` (validated by parse_dhcp for accessor codes);
// null means "render as hex".
Json option_value(const wire::DhcpMessage& m, std::uint8_t code, Bytes v) {
  namespace opt = wire::opt;
  switch (code) {
    case opt::subnet_mask: return wire::format_ipv4(*m.subnet_mask());
    case opt::routers: return ip_list(m.routers().raw);
    case opt::dns_servers: return ip_list(m.dns_servers().raw);
    case opt::hostname: return std::string(*m.hostname());
    case opt::domain_name: return std::string(*m.domain_name());
    case opt::broadcast_address: return wire::format_ipv4(*m.broadcast_address());
    case opt::requested_ip: return wire::format_ipv4(*m.requested_ip());
    case opt::lease_time: return *m.lease_time();
    case opt::overload: return m.overload;
    case opt::message_type: return wire::message_type_name(v[0]);
    case opt::server_id: return wire::format_ipv4(*m.server_id());
    case opt::parameter_request_list: {
      Json list = Json::array();
      for (const std::uint8_t c : m.parameter_request_list())
        list.push_back({{"code", c}, {"name", wire::option_name(c)}});
      return list;
    }
    case opt::max_message_size: return *m.max_message_size();
    case opt::renewal_time: return *m.renewal_time();
    case opt::rebinding_time: return *m.rebinding_time();
    case opt::vendor_class_id: {
      const Bytes b = *m.vendor_class_id();
      return printable(b) ? Json(text(b)) : Json();
    }
    case opt::client_id: {
      const Bytes b = *m.client_id();
      Json j = {{"type", b[0]}, {"hex", hex(b.subspan(1))}};
      if (b[0] == 1 && b.size() == 7) j["mac"] = wire::format_mac(wire::load_mac(b.data() + 1));
      return j;
    }
    case opt::client_fqdn: return fqdn_json(*m.client_fqdn());
    case opt::relay_agent_info: return relay_json(*m.relay_agent_info());
    case opt::subnet_selection: return wire::format_ipv4(*m.subnet_selection());
    case opt::classless_static_route: return routes_json(*m.classless_routes());
    default: return shaped_value(kShapes[code], v);
  }
}

bool is_dhcp_port(std::uint16_t port) noexcept {
  return port == wire::kPortBootps || port == wire::kPortBootpc;
}

// Could a frame that parse_frame refused have been a DHCP packet?
bool maybe_dhcp(const wire::Frame& f) noexcept {
  using wire::Error;
  switch (f.error) {
    case Error::arp_truncated:
    case Error::arp_unsupported:
      return false;
    case Error::ipv4_bad_total_length:
    case Error::ipv4_bad_checksum:
    case Error::ipv4_fragment:  // the header (and protocol) is known
      return f.ip.protocol == wire::kIpProtoUdp;
    case Error::udp_bad_length:
    case Error::udp_bad_checksum:  // the ports are known
      return is_dhcp_port(f.udp.src_port) || is_dhcp_port(f.udp.dst_port);
    default:
      return true;
  }
}

Json error_json(std::uint64_t frame, wire::Error e, std::uint8_t option) {
  Json j = {{"frame", frame}, {"error", wire::error_name(e)}, {"detail", wire::error_text(e)}};
  if (option != 0) j["option"] = option;
  return j;
}

std::string hex16(std::uint16_t v) {
  std::array<char, 8> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%04x", v);
  return buf.data();
}

std::string hex32(std::uint32_t v) {
  std::array<char, 12> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%08x", v);
  return buf.data();
}

// sname/file as text when they hold a name rather than options or zeros.
std::optional<std::string> field_text(Bytes field) {
  const std::size_t n = std::find(field.begin(), field.end(), 0) - field.begin();
  if (n == 0 || !printable(field.first(n))) return std::nullopt;
  return text(field.first(n));
}

// A BOOTP message whose vendor area is not DHCP's (RFC 951: no magic
// cookie, or another vendor's magic): no options are read from it. Shown as
// tcpdump shows it ("Vendor-#0x53633501": the area's first four bytes), with
// the area's bytes up to its last non-zero one, and a note.
void vendor_json(Json& j, const wire::DhcpMessage& m) {
  const Bytes area = m.vendor_area();
  Json v;
  if (area.size() >= 4) v["magic"] = hex32(wire::load_be32(area.data()));
  v["length"] = area.size();
  std::size_t used = area.size();
  while (used > 0 && area[used - 1] == 0) --used;
  v["hex"] = hex(area.first(used));
  j["vendor"] = std::move(v);
  j["note"] = "BOOTP, not DHCP: the vendor area has no DHCP magic cookie (RFC 951); no options read";
}

Json packet_json(const CapturedFrame& cf, const wire::Frame& f, const wire::DhcpMessage& m) {
  Json j;
  j["frame"] = cf.number;
  j["time"] = iso8601_utc(cf.ts_sec, cf.ts_usec);
  j["epoch"] = static_cast<double>(cf.ts_sec) + cf.ts_usec / 1e6;
  j["length"] = cf.wire_length;
  if (cf.captured_length != cf.wire_length) j["captured"] = cf.captured_length;
  j["eth_src"] = wire::format_mac(f.eth.src);
  j["eth_dst"] = wire::format_mac(f.eth.dst);
  Json vlans = Json::array();
  for (std::size_t i = 0; i < f.eth.vlan_count; ++i) {
    const wire::VlanTag& t = f.eth.vlans[i];
    vlans.push_back({{"tpid", hex16(t.tpid)}, {"vid", t.vid()}, {"pcp", t.tci >> 13}});
  }
  j["vlans"] = std::move(vlans);
  j["ip_src"] = wire::format_ipv4(f.ip.src);
  j["ip_dst"] = wire::format_ipv4(f.ip.dst);
  j["udp_src"] = f.udp.src_port;
  j["udp_dst"] = f.udp.dst_port;
  j["op"] = m.op;
  j["htype"] = m.htype;
  j["hlen"] = m.hlen;
  j["hops"] = m.hops;
  j["xid"] = hex32(m.xid);
  j["secs"] = m.secs;
  j["flags"] = hex16(m.flags);
  j["broadcast"] = m.broadcast_flag();
  j["ciaddr"] = wire::format_ipv4(m.ciaddr);
  j["yiaddr"] = wire::format_ipv4(m.yiaddr);
  j["siaddr"] = wire::format_ipv4(m.siaddr);
  j["giaddr"] = wire::format_ipv4(m.giaddr);
  if (m.htype == 1 && m.hlen == 6) {
    j["chaddr"] = wire::format_mac(m.chaddr_mac());
  } else {
    j["chaddr"] = hex(m.chaddr());
  }
  if ((m.areas & wire::area_sname) == 0) {
    if (auto s = field_text(m.sname_field)) j["sname"] = *s;
  }
  if ((m.areas & wire::area_file) == 0) {
    if (auto s = field_text(m.file_field)) j["file"] = *s;
  }
  if (m.error == wire::Error::dhcp_no_cookie) vendor_json(j, m);
  if (const auto type = m.message_type()) {
    const auto number = static_cast<std::uint8_t>(*type);
    j["message_type"] = {{"name", wire::message_type_name(number)}, {"number", number}};
  }
  Json options = Json::array();
  for (const std::uint8_t code : m.codes()) options.push_back(option_json(m, code));
  j["options"] = std::move(options);
  return j;
}

}  // namespace

std::string iso8601_utc(std::int64_t sec, std::int32_t usec) {
  const std::time_t t = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 40> date{};
  std::strftime(date.data(), date.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  std::array<char, 48> out{};
  std::snprintf(out.data(), out.size(), "%s.%06dZ", date.data(), static_cast<int>(usec));
  return out.data();
}

std::string hex(Bytes bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

Json option_json(const wire::DhcpMessage& m, std::uint8_t code) {
  const Bytes v = m.option(code).value_or(Bytes{});
  Json j = {{"code", code}, {"name", wire::option_name(code)}, {"length", v.size()}};
  if (m.instances(code) > 1) j["instances"] = m.instances(code);
  Json value = option_value(m, code, v);
  if (value.is_null()) {
    j["hex"] = hex(v);
  } else {
    j["value"] = std::move(value);
  }
  return j;
}

namespace {

// A reply captured on its way to a NIC with TX checksum offload (dpdk-dumpcap
// on dorado's port): IPv4 checksum 0 and the pseudo-header sum in the UDP
// field, for the NIC to complete. For such a frame (`f` refused it for its
// IPv4 checksum), the frame parsed without its checksums; else nullopt.
std::optional<wire::Frame> offload_pending(Bytes pkt, const wire::Frame& f) noexcept {
  if (f.error != wire::Error::ipv4_bad_checksum) return std::nullopt;
  const wire::Frame g = wire::parse_frame(pkt, wire::Verified{true, true});
  if (g.error == wire::Error::ok && g.kind == wire::FrameKind::ipv4_udp &&
      wire::load_be16(pkt.data() + g.eth.l3_offset + 10) == 0 &&
      g.udp.checksum == wire::udp_pseudo_header_sum(g.ip.src, g.ip.dst, g.udp.length))
    return g;
  return std::nullopt;
}

}  // namespace

Decoded decode_frame(const CapturedFrame& cf) {
  const Bytes pkt{cf.data.data(), cf.data.size()};
  wire::Frame f = wire::parse_frame(pkt);
  const std::optional<wire::Frame> offloaded = offload_pending(pkt, f);
  if (offloaded) f = *offloaded;
  if (f.error != wire::Error::ok) {
    if (!maybe_dhcp(f)) return {};
    return {Verdict::malformed, error_json(cf.number, f.error, 0)};
  }
  if (f.kind != wire::FrameKind::ipv4_udp ||
      !(is_dhcp_port(f.udp.src_port) || is_dhcp_port(f.udp.dst_port)))
    return {};
  // Tool code: the 3 KiB message on the stack is fine here.
  const wire::DhcpMessage m = wire::parse_dhcp(f.udp_payload(pkt));
  // Plain BOOTP (no cookie): its fixed fields were read; shown, as tcpdump does.
  if (m.error != wire::Error::ok && m.error != wire::Error::dhcp_no_cookie)
    return {Verdict::malformed, error_json(cf.number, m.error, m.error_option)};
  Json j = packet_json(cf, f, m);
  if (offloaded) j["checksums"] = "left to the NIC (TX checksum offload)";
  return {Verdict::dhcp, std::move(j)};
}

std::string to_line(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void Totals::add(Verdict v) noexcept {
  ++frames;
  switch (v) {
    case Verdict::dhcp: ++dhcp; break;
    case Verdict::malformed: ++malformed; break;
    case Verdict::not_dhcp: ++not_dhcp; break;
  }
}

std::string summary_line(const std::string& file, const Totals& t) {
  return file + ": " + std::to_string(t.frames) + " frames, " + std::to_string(t.dhcp) + " dhcp, " +
         std::to_string(t.malformed) + " malformed, " + std::to_string(t.not_dhcp) +
         " skipped (not DHCP)";
}

}  // namespace dorado::decode
