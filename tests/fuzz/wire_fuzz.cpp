// libFuzzer target for the wire codec. Input: one Ethernet frame.
//
// parse_frame, then parse_dhcp on a UDP payload; every accessor is read (so
// the sanitizers see any out-of-bounds use of what the parser accepted).
// When the DHCP message parses, a reply is built from its fields the way the
// engine would (82 echoed, options ordered by 55, a small and the client's
// maximum size) and parsed again: a frame the builder accepts must parse,
// and must carry what it was given. The same bytes are also read as text by
// wire/text.hpp's parse_ipv4 and parse_mac: what they accept must format back
// to the input (IPv4: exactly; MAC: lower case with ':') and parse again to
// the same value. A frame that parses is also asked whether it answers a
// conflict probe (wire/probe.hpp). Any violation aborts.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "wire/build.hpp"
#include "wire/dhcp.hpp"
#include "wire/errors.hpp"
#include "wire/frame.hpp"
#include "wire/probe.hpp"
#include "wire/text.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace dorado::wire;

// Keeps reads from being optimised away.
volatile std::uint64_t g_sink;

void touch(Bytes b) {
  std::uint64_t h = b.size();
  for (const std::uint8_t x : b) h = h * 31 + x;
  g_sink = g_sink + h;
}
void touch(std::uint64_t v) { g_sink = g_sink + v; }
void touch(std::string_view s) {
  touch(Bytes{reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}
template <typename T>
void touch(const std::optional<T>& v) {
  if (v) touch(*v);
}
void touch(const Ipv4List& l) {
  for (std::size_t i = 0; i < l.size(); ++i) touch(l[i]);
  touch(l.raw);
}

void touch_frame(const Frame& f) {
  touch(error_name(f.error));
  touch(error_text(f.error));
  touch(static_cast<std::uint64_t>(f.kind));
  touch(f.eth.ethertype + f.eth.l3_offset + f.eth.vlan_count);
  for (std::size_t i = 0; i < f.eth.vlan_count; ++i) touch(f.eth.vlans[i].vid());
  if (f.kind == FrameKind::arp) touch(f.arp.spa + f.arp.tpa + f.arp.op + f.arp.sha.b[5]);
}

void touch_message(const DhcpMessage& m) {
  touch(error_name(m.error));
  touch(m.error_option);
  if (m.error != Error::ok) return;
  touch(m.op + m.htype + m.hops + m.xid + m.secs + m.flags + m.ciaddr + m.yiaddr + m.siaddr +
        m.giaddr + m.overload + m.areas + m.broadcast_flag());
  touch(m.chaddr());
  touch(m.chaddr_mac().b[0]);
  touch(m.sname_field);
  touch(m.file_field);
  for (const std::uint8_t c : m.codes()) {
    FUZZ_CHECK(m.has(c));
    FUZZ_CHECK(m.instances(c) >= 1);
    touch(*m.option(c));
    touch(option_name(c));
  }
  if (const auto t = m.message_type()) touch(message_type_name(static_cast<std::uint8_t>(*t)));
  touch(m.subnet_mask());
  touch(m.routers());
  touch(m.dns_servers());
  touch(m.hostname());
  touch(m.domain_name());
  touch(m.broadcast_address());
  touch(m.requested_ip());
  touch(m.lease_time());
  touch(m.server_id());
  touch(m.parameter_request_list());
  touch(m.max_message_size());
  touch(m.renewal_time());
  touch(m.rebinding_time());
  touch(m.vendor_class_id());
  touch(m.client_id());
  if (const auto f = m.client_fqdn()) {
    touch(f->flags + f->rcode1 + f->rcode2);
    touch(f->name);
  }
  if (const auto r = m.relay_agent_info()) {
    touch(r->raw);
    touch(r->circuit_id);
    touch(r->remote_id);
    touch(r->link_selection);
    touch(r->vendor_specific);
    touch(r->server_id_override);
    // RFC 5107: the reply builder's walk agrees with the parsed sub-option.
    FUZZ_CHECK(server_id_override(r->raw) == r->server_id_override.value_or(0));
  }
  touch(m.subnet_selection());
  if (const auto routes = m.classless_routes()) {
    routes->for_each([](const ClasslessRoute& r) {
      FUZZ_CHECK(r.prefix_length <= 32);
      touch(r.destination + r.prefix_length + r.router);
    });
  }
}

bool reserved(std::uint8_t code) {
  return code == opt::pad || code == opt::end || code == opt::overload ||
         code == opt::message_type || code == opt::server_id || code == opt::relay_agent_info;
}

// Per-process state, as the runtime keeps it per lcore: no 5 KiB objects on
// the stack per input.
struct State {
  DhcpMessage request;
  DhcpMessage reply;
  std::array<OptionValue, 256> options;
  std::array<std::uint8_t, 70000> out;  // > 65535 + headers
  std::array<std::uint8_t, 70000> copy;
  std::array<std::uint8_t, 70000> offloaded;
};
State g_state;

// Mutations almost never leave the checksums right, which would stop nearly
// every input at L3/L4. A frame refused only for a checksum is therefore
// repaired in a copy and parsed again, so the DHCP parser and the builder see
// the mutated payloads too.
Bytes repair_checksums(Bytes pkt, Frame& f) {
  if (f.error != Error::ipv4_bad_checksum && f.error != Error::udp_bad_checksum) return pkt;
  if (pkt.size() > g_state.copy.size()) return pkt;
  std::copy(pkt.begin(), pkt.end(), g_state.copy.begin());
  std::uint8_t* const ip = g_state.copy.data() + f.eth.l3_offset;
  const std::size_t ihl = f.ip.header_length;
  store_be16(ip + 10, 0);
  store_be16(ip + 10, ipv4_header_checksum(Bytes{ip, ihl}));
  const Bytes fixed{g_state.copy.data(), pkt.size()};
  f = parse_frame(fixed);
  if (f.error == Error::udp_bad_checksum) {
    std::uint8_t* const udp = ip + ihl;
    store_be16(udp + 6, 0);
    store_be16(udp + 6, udp_checksum(f.ip.src, f.ip.dst, Bytes{udp, f.udp.length}));
    f = parse_frame(fixed);
    FUZZ_CHECK(f.error != Error::udp_bad_checksum);
  }
  FUZZ_CHECK(f.error != Error::ipv4_bad_checksum);
  return fixed;
}

void build_and_check(const Frame& f, const DhcpMessage& m, std::size_t n_options,
                     std::uint16_t max_size) {
  Envelope env;
  env.eth_src = f.eth.dst;
  env.eth_dst = f.eth.src;
  env.vlan_count = f.eth.vlan_count;
  env.vlans = f.eth.vlans;
  env.ip_src = f.ip.dst;
  env.ip_dst = f.ip.src;
  env.ttl = f.ip.ttl;
  env.tos = f.ip.tos;
  env.ip_id = f.ip.id;
  env.src_port = f.udp.dst_port;
  env.dst_port = f.udp.src_port;
  env.udp_checksum = f.udp.checksum != 0;

  BootpFields bootp;
  bootp.op = 2;
  bootp.htype = m.htype;
  bootp.hlen = m.hlen;
  bootp.hops = m.hops;
  bootp.xid = m.xid;
  bootp.secs = m.secs;
  bootp.flags = m.flags;
  bootp.ciaddr = m.ciaddr;
  bootp.yiaddr = m.requested_ip().value_or(m.yiaddr);
  bootp.siaddr = m.siaddr;
  bootp.giaddr = m.giaddr;
  std::copy(m.chaddr_field.begin(), m.chaddr_field.end(), bootp.chaddr.begin());

  DhcpOptionsSpec spec;
  const std::uint8_t type = m.message_type() ? static_cast<std::uint8_t>(*m.message_type()) : 0;
  spec.type = type == 1 ? MessageType::offer : MessageType::ack;
  spec.server_id = m.server_id().value_or(0);
  spec.parameter_request_list = m.parameter_request_list();
  spec.options = std::span<const OptionValue>{g_state.options.data(), n_options};
  if (const auto rai = m.relay_agent_info()) spec.relay_agent_info = rai->raw;
  spec.max_message_size = max_size;

  const MutableBytes out{g_state.out.data(), g_state.out.size()};
  const BuildResult r = build_dhcp_frame(out, env, bootp, spec);
  FUZZ_CHECK(r.error == Error::ok || r.error == Error::mandatory_too_large);
  if (r.error != Error::ok) return;

  const std::size_t budget = std::max<std::size_t>(max_size, 576) - 28;
  FUZZ_CHECK(r.dhcp_offset == header_size(env));
  FUZZ_CHECK(r.length >= r.dhcp_offset + kBootpMinSize);
  FUZZ_CHECK(r.length <= r.dhcp_offset + budget);

  const Bytes frame{g_state.out.data(), r.length};
  const Frame rf = parse_frame(frame);
  FUZZ_CHECK(rf.error == Error::ok);
  FUZZ_CHECK(rf.kind == FrameKind::ipv4_udp);
  FUZZ_CHECK(rf.eth.vlan_count == f.eth.vlan_count);
  for (std::size_t i = 0; i < rf.eth.vlan_count; ++i) FUZZ_CHECK(rf.eth.vlans[i] == f.eth.vlans[i]);
  FUZZ_CHECK(rf.udp.payload_offset == r.dhcp_offset);

  DhcpMessage& back = g_state.reply;
  FUZZ_CHECK(back.parse(rf.udp_payload(frame)) == Error::ok);
  FUZZ_CHECK(back.xid == m.xid && back.op == 2 && back.hlen == m.hlen);
  FUZZ_CHECK(back.message_type() == spec.type);
  // 54 = 0.0.0.0 from a client means "omit" to the builder.
  FUZZ_CHECK(spec.server_id == 0 ? !back.has(opt::server_id) : back.server_id() == spec.server_id);
  if (!spec.relay_agent_info.empty()) {
    const auto echoed = back.option(opt::relay_agent_info);
    FUZZ_CHECK(echoed && std::equal(echoed->begin(), echoed->end(), spec.relay_agent_info.begin(),
                                    spec.relay_agent_info.end()));
  }
  for (const OptionValue& o : spec.options) {
    const auto got = back.option(o.code);
    FUZZ_CHECK(got || !o.mandatory);
    if (got) FUZZ_CHECK(std::equal(got->begin(), got->end(), o.value.begin(), o.value.end()));
  }
  touch_message(back);

  // The same reply for a NIC with TX checksum offload, completed as the NIC
  // does: the frame built with software checksums, byte for byte.
  if (!env.udp_checksum) return;
  env.checksum_offload = true;
  const BuildResult o = build_dhcp_frame({g_state.offloaded.data(), g_state.offloaded.size()}, env, bootp, spec);
  FUZZ_CHECK(o.error == Error::ok && o.length == r.length);
  FUZZ_CHECK(complete_offloaded_checksums({g_state.offloaded.data(), o.length}, o.dhcp_offset - 28));
  FUZZ_CHECK(std::equal(frame.begin(), frame.end(), g_state.offloaded.begin()));
}

// A BOOTREPLY (build_bootp_frame, engine/bootp.cpp's builder) from the
// same material: it parses, has the cookie and no 53, stays within
// [300, max_message] bytes of BOOTP message, and carries each option either
// as given or not at all; 82 as given.
void bootreply_and_check(const Frame& f, const DhcpMessage& m, std::size_t n_options, std::size_t max_message) {
  Envelope env;
  env.eth_src = f.eth.dst;
  env.eth_dst = f.eth.src;
  env.vlan_count = f.eth.vlan_count;
  env.vlans = f.eth.vlans;
  env.ip_src = f.ip.dst;
  env.ip_dst = f.ip.src;
  BootpFields bootp;
  bootp.htype = m.htype;
  bootp.hlen = m.hlen;
  bootp.xid = m.xid;
  bootp.flags = m.flags;
  bootp.yiaddr = m.yiaddr;
  bootp.giaddr = m.giaddr;
  std::copy(m.chaddr_field.begin(), m.chaddr_field.end(), bootp.chaddr.begin());
  BootpReplySpec spec;
  spec.options = std::span<const OptionValue>{g_state.options.data(), n_options};
  if (const auto rai = m.option(opt::relay_agent_info)) spec.relay_agent_info = *rai;
  spec.max_message = max_message;
  const BuildResult r = build_bootp_frame({g_state.out.data(), g_state.out.size()}, env, bootp, spec);
  FUZZ_CHECK(r.error == Error::ok || r.error == Error::mandatory_too_large);
  if (r.error != Error::ok) return;
  FUZZ_CHECK(r.length >= r.dhcp_offset + kBootpMinSize);
  FUZZ_CHECK(r.length <= r.dhcp_offset + std::max<std::size_t>(max_message, kBootpMinSize));
  const Bytes frame{g_state.out.data(), r.length};
  const Frame rf = parse_frame(frame);
  FUZZ_CHECK(rf.error == Error::ok && rf.kind == FrameKind::ipv4_udp);
  DhcpMessage& back = g_state.reply;
  FUZZ_CHECK(back.parse(rf.udp_payload(frame)) == Error::ok);
  FUZZ_CHECK(back.op == 2 && back.xid == m.xid && back.has_cookie && !back.message_type());
  for (const OptionValue& o : spec.options) {
    if (reserved(o.code)) continue;
    const auto got = back.option(o.code);
    if (got) FUZZ_CHECK(std::equal(got->begin(), got->end(), o.value.begin(), o.value.end()));
  }
  if (!spec.relay_agent_info.empty()) {
    const auto echoed = back.option(opt::relay_agent_info);
    FUZZ_CHECK(echoed && std::equal(echoed->begin(), echoed->end(), spec.relay_agent_info.begin(),
                                    spec.relay_agent_info.end()));
  }
  touch_message(back);
}

// The input as address text.
void check_text(std::string_view text) {
  if (const auto ip = parse_ipv4(text)) {
    char buf[kIpv4TextMax + 1];
    const std::size_t n = format_ipv4(*ip, buf);
    FUZZ_CHECK(n <= kIpv4TextMax && buf[n] == '\0');
    FUZZ_CHECK(std::string_view(buf, n) == text);   // the accepted form is the canonical one
    FUZZ_CHECK(parse_ipv4(std::string_view(buf, n)) == ip);
    FUZZ_CHECK(format_ipv4(*ip) == text);
  }
  if (const auto mac = parse_mac(text)) {
    char buf[kMacTextLen + 1];
    const std::size_t n = format_mac(*mac, buf);
    FUZZ_CHECK(n == kMacTextLen && buf[n] == '\0');
    for (std::size_t i = 0; i < n; ++i) {
      const char c = text[i];
      const char lower = c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c == '-' ? ':' : c;
      FUZZ_CHECK(buf[i] == lower);
    }
    FUZZ_CHECK(parse_mac(std::string_view(buf, n)) == mac);
    FUZZ_CHECK(format_mac(*mac) == std::string_view(buf, n));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_text(std::string_view(reinterpret_cast<const char*>(data), size));
  Frame f = parse_frame(Bytes{data, size});
  touch_frame(f);
  // What a NIC emulation completes must stay within the frame, whatever it says.
  if (size <= g_state.offloaded.size()) {
    std::copy(data, data + size, g_state.offloaded.begin());
    touch(complete_offloaded_checksums({g_state.offloaded.data(), size}, size > 0 ? data[0] % 64 : 0));
  }
  const Bytes pkt = repair_checksums(Bytes{data, size}, f);
  // Conflict detection (wire/probe.hpp): an answer names a non-zero address.
  if (f.error == Error::ok) {
    const ProbeAnswer a = probe_answer_of(pkt, f, MacAddr{});
    FUZZ_CHECK(a.address != 0 || !a.icmp);
    FUZZ_CHECK(!a.icmp || f.kind == FrameKind::ipv4_icmp);
  }
  if (f.error != Error::ok || f.kind != FrameKind::ipv4_udp) return 0;

  DhcpMessage& m = g_state.request;
  m.parse(f.udp_payload(pkt));
  touch_message(m);
  if (m.plain_bootp_request()) {   // a BOOTP client without the cookie: fields, no options
    FUZZ_CHECK(m.codes().empty() && m.op == 1);
    touch(m.vendor_area());
    bootreply_and_check(f, m, 0, kBootpMinSize);
  }
  if (m.error != Error::ok) return 0;

  // Everything the client sent goes back, so the builder sees odd codes and
  // sizes; which ones are mandatory is decided by the input, too.
  std::size_t n = 0;
  for (const std::uint8_t c : m.codes()) {
    if (reserved(c)) continue;
    g_state.options[n++] = OptionValue{c, *m.option(c), ((c ^ m.xid) & 3) == 0};
  }
  build_and_check(f, m, n, 576);
  build_and_check(f, m, n, m.max_message_size().value_or(0));
  if (!m.message_type()) {   // a BOOTP client with RFC 1497 options
    bootreply_and_check(f, m, n, kBootpMinSize);
    bootreply_and_check(f, m, n, 548);
  }
  return 0;
}
