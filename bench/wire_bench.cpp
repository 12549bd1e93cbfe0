// Parse cost of the wire codec: wire::parse_frame + DhcpMessage::parse per
// packet, the first two steps of the packet path (docs/architecture.md "The packet path", steps 2-3).
//
// Two packets: a typical 342-byte client DISCOVER (broadcast, client id,
// hostname, parameter request list) and a relayed REQUEST with option 82
// (circuit id, remote id, link selection) as a broadband relay sends it.
// A burst of N is N different packets (distinct MACs, xids, hostnames) parsed
// per iteration, as a worker parses an rx burst; items = packets, so the
// "ns_per_packet" counter (shown in seconds: 40n = 40 ns) is the cost per packet.
//
//   build/bench/wire_bench --benchmark_filter=parse
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "wire/build.hpp"
#include "wire/dhcp.hpp"
#include "wire/frame.hpp"

namespace {

namespace wire = dorado::wire;
using Packet = std::vector<std::uint8_t>;

constexpr wire::Ipv4 ip(int a, int b, int c, int d) {
  return static_cast<wire::Ipv4>(a << 24 | b << 16 | c << 8 | d);
}

wire::Bytes bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

wire::MacAddr client_mac(int i) {
  return wire::MacAddr{{0x02, 0x42, 0x00, static_cast<std::uint8_t>(i >> 8),
                        static_cast<std::uint8_t>(i), 0x01}};
}

Packet build(const wire::Envelope& env, const wire::BootpFields& bootp, const wire::DhcpOptionsSpec& spec) {
  Packet out(1514);
  const wire::BuildResult r = wire::build_dhcp_frame(out, env, bootp, spec);
  out.resize(r.error == wire::Error::ok ? r.length : 0);
  return out;
}

wire::BootpFields request_fields(int i, const wire::MacAddr& mac) {
  wire::BootpFields b;
  b.op = 1;
  b.xid = 0x5a000000u + static_cast<std::uint32_t>(i);
  std::copy(mac.b.begin(), mac.b.end(), b.chaddr.begin());
  return b;
}

// A client's DISCOVER: 14 + 20 + 8 + 300 = 342 bytes.
Packet discover(int i) {
  const wire::MacAddr mac = client_mac(i);
  wire::Envelope env;
  env.eth_src = mac;
  env.eth_dst = wire::MacAddr::broadcast();
  env.ip_dst = ip(255, 255, 255, 255);
  env.src_port = wire::kPortBootpc;
  env.dst_port = wire::kPortBootps;
  wire::BootpFields b = request_fields(i, mac);
  b.flags = wire::kFlagBroadcast;

  const std::array<std::uint8_t, 7> client_id{1, mac.b[0], mac.b[1], mac.b[2], mac.b[3], mac.b[4], mac.b[5]};
  const std::array<std::uint8_t, 2> msz{0x05, 0xdc};
  const std::array<std::uint8_t, 13> prl{1, 121, 33, 3, 6, 12, 15, 28, 42, 51, 54, 58, 59};
  const std::string host = "host-" + std::to_string(i);
  const std::string vendor = "MSFT 5.0";
  const std::array opts{
      wire::OptionValue{wire::opt::client_id, client_id},
      wire::OptionValue{wire::opt::max_message_size, msz},
      wire::OptionValue{wire::opt::vendor_class_id, bytes(vendor)},
      wire::OptionValue{wire::opt::hostname, bytes(host)},
      wire::OptionValue{wire::opt::parameter_request_list, prl},
  };
  wire::DhcpOptionsSpec spec;
  spec.type = wire::MessageType::discover;
  spec.options = opts;
  return build(env, b, spec);
}

// A REQUEST relayed by a BNG/DSLAM: giaddr, hops 1, unicast relay -> server,
// option 82 with circuit id, remote id and link selection.
Packet relayed_request(int i) {
  const wire::MacAddr mac = client_mac(i);
  wire::Envelope env;
  env.eth_src = wire::MacAddr{{0x02, 0x00, 0x5e, 0x00, 0x00, 0x01}};
  env.eth_dst = wire::MacAddr{{0x02, 0x00, 0x5e, 0x00, 0x00, 0x02}};
  env.ip_src = ip(100, 64, 0, 1);
  env.ip_dst = ip(10, 0, 0, 2);
  env.src_port = wire::kPortBootps;
  env.dst_port = wire::kPortBootps;
  wire::BootpFields b = request_fields(i, mac);
  b.hops = 1;
  b.giaddr = ip(100, 64, 0, 1);

  const std::array<std::uint8_t, 7> client_id{1, mac.b[0], mac.b[1], mac.b[2], mac.b[3], mac.b[4], mac.b[5]};
  const std::array<std::uint8_t, 4> requested{100, 64, static_cast<std::uint8_t>(i >> 8),
                                              static_cast<std::uint8_t>(i | 1)};
  const std::array<std::uint8_t, 7> prl{1, 3, 6, 15, 51, 58, 59};
  const std::string host = "cpe-" + std::to_string(i);
  const std::string circuit = "bng1 eth 1/1/" + std::to_string(i % 48) + ":" + std::to_string(100 + i);
  std::vector<std::uint8_t> relay;
  relay.push_back(1);
  relay.push_back(static_cast<std::uint8_t>(circuit.size()));
  relay.insert(relay.end(), circuit.begin(), circuit.end());
  relay.insert(relay.end(), {2, 6, mac.b[0], mac.b[1], mac.b[2], mac.b[3], mac.b[4], mac.b[5]});
  relay.insert(relay.end(), {5, 4, 100, 64, 0, 0});
  const std::array opts{
      wire::OptionValue{wire::opt::client_id, client_id},
      wire::OptionValue{wire::opt::requested_ip, requested},
      wire::OptionValue{wire::opt::hostname, bytes(host)},
      wire::OptionValue{wire::opt::parameter_request_list, prl},
  };
  wire::DhcpOptionsSpec spec;
  spec.type = wire::MessageType::request;
  spec.server_id = ip(10, 0, 0, 2);
  spec.options = opts;
  spec.relay_agent_info = relay;
  return build(env, b, spec);
}

// What one iteration parses of each packet: both layers (the packet path), or
// one of them alone to see where the time goes.
enum class Stage { frame_and_dhcp, frame_only, dhcp_only };

void parse_burst(benchmark::State& state, Packet (*make)(int), Stage stage) {
  const int burst = static_cast<int>(state.range(0));
  std::vector<Packet> packets;
  for (int i = 0; i < burst; ++i) packets.push_back(make(i));

  wire::DhcpMessage m;  // one per lcore on the hot path, re-parsed per packet
  for (const Packet& p : packets) {
    const wire::Bytes pkt{p.data(), p.size()};
    const wire::Frame f = wire::parse_frame(pkt);
    if (p.empty() || f.error != wire::Error::ok || m.parse(f.udp_payload(pkt)) != wire::Error::ok) {
      state.SkipWithError("benchmark packet does not parse");
      return;
    }
  }
  state.counters["bytes_per_packet"] = static_cast<double>(packets[0].size());

  // dhcp_only parses pre-sliced UDP payloads.
  std::vector<wire::Bytes> payloads;
  for (const Packet& p : packets) {
    const wire::Bytes pkt{p.data(), p.size()};
    payloads.push_back(wire::parse_frame(pkt).udp_payload(pkt));
  }

  for (auto _ : state) {
    switch (stage) {
      case Stage::frame_and_dhcp:
        for (const Packet& p : packets) {
          const wire::Bytes pkt{p.data(), p.size()};
          const wire::Frame f = wire::parse_frame(pkt);
          m.parse(f.udp_payload(pkt));
          benchmark::DoNotOptimize(f);
          benchmark::DoNotOptimize(m);
        }
        break;
      case Stage::frame_only:
        for (const Packet& p : packets) {
          const wire::Frame f = wire::parse_frame({p.data(), p.size()});
          benchmark::DoNotOptimize(f);
        }
        break;
      case Stage::dhcp_only:
        for (const wire::Bytes payload : payloads) {
          m.parse(payload);
          benchmark::DoNotOptimize(m);
        }
        break;
    }
  }
  const auto packets_done = static_cast<double>(state.iterations()) * burst;
  state.SetItemsProcessed(static_cast<std::int64_t>(packets_done));
  state.counters["ns_per_packet"] =
      benchmark::Counter(packets_done, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK_CAPTURE(parse_burst, discover_342B, &discover, Stage::frame_and_dhcp)
    ->Arg(1)->Arg(8)->Arg(32)->ArgName("burst");
BENCHMARK_CAPTURE(parse_burst, relayed_request_opt82, &relayed_request, Stage::frame_and_dhcp)
    ->Arg(1)->Arg(8)->Arg(32)->ArgName("burst");
// Where the time goes, at burst 32.
BENCHMARK_CAPTURE(parse_burst, discover_342B_frame_only, &discover, Stage::frame_only)
    ->Arg(32)->ArgName("burst");
BENCHMARK_CAPTURE(parse_burst, discover_342B_dhcp_only, &discover, Stage::dhcp_only)
    ->Arg(32)->ArgName("burst");

}  // namespace
