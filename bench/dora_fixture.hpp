// Request frames for the engine benchmarks: a DISCOVER or REQUEST built
// once, parsed once, then re-aimed at another client by patching chaddr
// (and option 50) in place. Header-only, for bench/ only.
#pragma once

#include <cstring>
#include <memory>
#include <vector>

#include "engine/engine.hpp"
#include "wire/build.hpp"
#include "wire/frame.hpp"

namespace dorado::bench {

using engine::Ipv4;
using engine::RxMeta;
using engine::rx_meta_of;
using wire::MessageType;

inline constexpr Ipv4 kServer = (10u << 24) | 1u;   // 10.0.0.1
inline const wire::MacAddr kServerMac{{0x02, 0xaa, 0, 0, 0, 1}};

// The benchmarks' subnet: 10.0.0.0/11 with a pool of its 2,097,150 usable
// addresses, or with `big` 10.0.0.0/8 (16,777,214); router 10.0.0.1, one-day
// leases. Callers add the options they want replies to carry.
inline engine::SubnetConfig bench_subnet(bool big = false) {
  engine::SubnetConfig s;
  s.id = 1;
  s.prefix = 10u << 24;
  s.prefix_len = big ? 8 : 11;
  s.pools = {{(10u << 24) | 1u, (10u << 24) | (big ? 0xfffffeu : 0x1ffffeu)}};
  s.routers = {kServer};
  s.lease_time = 86400;
  return s;
}

inline wire::MacAddr mac_of(std::uint32_t n) {
  return wire::MacAddr{{0x02, 0x00, static_cast<std::uint8_t>(n >> 24),
                        static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
                        static_cast<std::uint8_t>(n)}};
}

// The name a request carries (the DDNS benchmarks): the default is option
// 12 "bench-host" for every client; `hostname` and `fqdn` give client n its
// own name "bench-<n as 8 hex digits>" in option 12, or in option 81 only
// (S=1, E=1: canonical wire encoding, one label without the root label, a
// partial name), as dorado-gen --hostname / --fqdn send them; `none` sends
// neither.
enum class ClientName : std::uint8_t { bench_host, none, hostname, fqdn };

// One request frame and its parsed message; chaddr, option 50 and a
// per-client name are patched in the frame bytes, which the parsed message
// refers to (same lengths, so the parse stays valid).
struct RequestSlot {
  std::vector<std::uint8_t> frame;
  wire::DhcpMessage msg;
  RxMeta rx;
  std::size_t chaddr_offset = 0;
  std::size_t requested_offset = 0;   // 0: no option 50
  std::size_t name_digits_offset = 0;   // 0: no per-client name

  void set_client(std::uint32_t n) noexcept {
    const wire::MacAddr m = mac_of(n);
    std::memcpy(frame.data() + chaddr_offset, m.b.data(), 6);
    if (name_digits_offset != 0) {
      static constexpr char kHex[] = "0123456789abcdef";
      for (int i = 0; i < 8; ++i)
        frame[name_digits_offset + static_cast<std::size_t>(i)] =
            static_cast<std::uint8_t>(kHex[(n >> (28 - 4 * i)) & 0xfu]);
    }
  }
  void set_requested(Ipv4 a) noexcept { wire::store_be32(frame.data() + requested_offset, a); }
  bool reparse() noexcept {
    const wire::Frame f = wire::parse_frame(frame);
    return f.error == wire::Error::ok && msg.parse(f.udp_payload(frame)) == wire::Error::ok;
  }
};

inline std::unique_ptr<RequestSlot> make_slot(MessageType type, ClientName name = ClientName::bench_host) {
  auto s = std::make_unique<RequestSlot>();
  wire::Envelope env;
  env.eth_src = mac_of(0);
  env.eth_dst = wire::MacAddr::broadcast();
  env.ip_dst = 0xffffffffu;
  env.src_port = wire::kPortBootpc;
  env.dst_port = wire::kPortBootps;
  env.udp_checksum = false;   // patched bytes would break it
  wire::BootpFields b;
  b.op = 1;
  b.xid = 0x12345678;
  const wire::MacAddr m = mac_of(0);
  std::memcpy(b.chaddr.data(), m.b.data(), 6);
  static const std::uint8_t prl[] = {1, 3, 6, 15, 28, 51, 58, 59};
  static const char vendor[] = "MSFT 5.0";
  static const char host[] = "bench-host";
  // "bench-00000000": option 12's value, or option 81's after its flags
  // (S|E), RCODE1, RCODE2 and the label length.
  static const std::uint8_t own_host[] = {'b', 'e', 'n', 'c', 'h', '-', '0', '0', '0', '0', '0', '0', '0', '0'};
  static const std::uint8_t own_fqdn[] = {1 | 4, 0, 0, 14, 'b', 'e', 'n', 'c', 'h', '-',
                                          '0', '0', '0', '0', '0', '0', '0', '0'};
  std::uint8_t requested[4] = {10, 0, 0, 2};
  std::vector<wire::OptionValue> opts{
      {wire::opt::parameter_request_list, wire::Bytes{prl}, false},
      {wire::opt::vendor_class_id, wire::Bytes{reinterpret_cast<const std::uint8_t*>(vendor), 8}, false}};
  switch (name) {
    case ClientName::bench_host:
      opts.push_back({wire::opt::hostname, wire::Bytes{reinterpret_cast<const std::uint8_t*>(host), 10}, false});
      break;
    case ClientName::none: break;
    case ClientName::hostname: opts.push_back({wire::opt::hostname, wire::Bytes{own_host}, false}); break;
    case ClientName::fqdn: opts.push_back({wire::opt::client_fqdn, wire::Bytes{own_fqdn}, false}); break;
  }
  wire::DhcpOptionsSpec spec;
  spec.type = type;
  if (type == MessageType::request) {
    spec.server_id = kServer;
    opts.push_back({wire::opt::requested_ip, wire::Bytes{requested}, false});
  }
  spec.options = opts;
  s->frame.resize(1024);
  const wire::BuildResult r = wire::build_dhcp_frame(s->frame, env, b, spec);
  if (r.error != wire::Error::ok) return nullptr;
  s->frame.resize(r.length);
  const wire::Frame f = wire::parse_frame(s->frame);
  if (f.error != wire::Error::ok || s->msg.parse(f.udp_payload(s->frame)) != wire::Error::ok)
    return nullptr;
  s->rx = rx_meta_of(f, kServerMac, kServer);
  s->chaddr_offset = f.udp.payload_offset + 28;
  if (auto o = s->msg.option(wire::opt::requested_ip))
    s->requested_offset = static_cast<std::size_t>(o->data() - s->frame.data());
  if (name == ClientName::hostname || name == ClientName::fqdn) {
    const auto o = s->msg.option(name == ClientName::hostname ? wire::opt::hostname : wire::opt::client_fqdn);
    if (!o) return nullptr;
    s->name_digits_offset = static_cast<std::size_t>(o->data() - s->frame.data()) + o->size() - 8;
  }
  return s;
}

}  // namespace dorado::bench
