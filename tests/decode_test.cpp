// dorado_decode_lib: link-layer normalisation and the JSON rendering of
// dorado-decode, on frames built with wire::build_dhcp_frame.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "decode/capture.hpp"
#include "decode/json.hpp"
#include "wire/build.hpp"
#include "wire/dhcp.hpp"
#include "wire/frame.hpp"
#include "wire/text.hpp"

namespace {

namespace wire = dorado::wire;
using dorado::decode::CapturedFrame;
using dorado::decode::decode_frame;
using dorado::decode::Json;
using dorado::decode::LinkType;
using dorado::decode::Verdict;
using Buffer = std::vector<std::uint8_t>;

constexpr wire::Ipv4 ip(int a, int b, int c, int d) {
  return static_cast<wire::Ipv4>(a << 24 | b << 16 | c << 8 | d);
}

wire::Bytes bytes(const Buffer& b) { return {b.data(), b.size()}; }
wire::Bytes bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

const wire::MacAddr kClientMac{{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}};
const wire::MacAddr kRelayMac{{0x02, 0x00, 0x5e, 0xaa, 0xbb, 0xcc}};

CapturedFrame captured(Buffer data, std::uint64_t number = 7) {
  CapturedFrame f;
  f.number = number;
  f.ts_sec = 1481200121;
  f.ts_usec = 189402;
  f.wire_length = static_cast<std::uint32_t>(data.size());
  f.captured_length = f.wire_length;
  f.data = std::move(data);
  return f;
}

Buffer build(const wire::Envelope& env, const wire::BootpFields& bootp,
             const wire::DhcpOptionsSpec& spec) {
  Buffer out(4096);
  const wire::BuildResult r = wire::build_dhcp_frame(out, env, bootp, spec);
  EXPECT_EQ(r.error, wire::Error::ok) << wire::error_name(r.error);
  out.resize(r.length);
  return out;
}

wire::Envelope client_envelope() {
  wire::Envelope env;
  env.eth_src = kClientMac;
  env.eth_dst = wire::MacAddr::broadcast();
  env.ip_src = 0;
  env.ip_dst = ip(255, 255, 255, 255);
  env.src_port = wire::kPortBootpc;
  env.dst_port = wire::kPortBootps;
  return env;
}

// Option specs by assignment: designated initializers would leave the span
// members without initializers (-Wmissing-field-initializers).
wire::DhcpOptionsSpec spec(wire::MessageType type, std::span<const wire::OptionValue> options = {},
                           std::uint16_t max_message_size = 0) {
  wire::DhcpOptionsSpec s;
  s.type = type;
  s.options = options;
  s.max_message_size = max_message_size;
  return s;
}

wire::BootpFields client_bootp() {
  wire::BootpFields b;
  b.op = 1;
  b.xid = 0x0068c484;
  b.secs = 3;
  b.flags = wire::kFlagBroadcast;
  std::copy(kClientMac.b.begin(), kClientMac.b.end(), b.chaddr.begin());
  return b;
}

// The object of option `code` in a rendered packet.
Json option_of(const Json& packet, int code) {
  for (const Json& o : packet.at("options"))
    if (o.at("code") == code) return o;
  ADD_FAILURE() << "option " << code << " not rendered";
  return {};
}

// ---- helpers ----------------------------------------------------------------

TEST(DecodeText, Iso8601Utc) {
  EXPECT_EQ(dorado::decode::iso8601_utc(0, 0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(dorado::decode::iso8601_utc(1481200121, 189402), "2016-12-08T12:28:41.189402Z");
  EXPECT_EQ(dorado::decode::iso8601_utc(1742291025, 999999), "2025-03-18T09:43:45.999999Z");
}

TEST(DecodeText, HexIpMac) {
  const Buffer b{0x01, 0xab, 0x00, 0xff};
  EXPECT_EQ(dorado::decode::hex(bytes(b)), "01ab00ff");
  EXPECT_EQ(dorado::decode::hex({}), "");
  // Addresses and MACs print in wire/text.hpp's forms.
  EXPECT_EQ(dorado::wire::format_ipv4(ip(10, 0, 0, 254)), "10.0.0.254");
  EXPECT_EQ(dorado::wire::format_mac(kClientMac), "02:00:5e:10:20:30");
}

TEST(DecodeText, LinesSurviveInvalidUtf8) {
  Json j = {{"hostname", std::string("bad\xff\xfe name")}};
  std::string line;
  ASSERT_NO_THROW(line = dorado::decode::to_line(j));
  EXPECT_EQ(line, "{\"hostname\":\"bad\xef\xbf\xbd\xef\xbf\xbd name\"}");
}

TEST(DecodeText, SummaryLine) {
  dorado::decode::Totals t;
  for (const Verdict v : {Verdict::dhcp, Verdict::dhcp, Verdict::malformed, Verdict::not_dhcp}) t.add(v);
  EXPECT_EQ(dorado::decode::summary_line("x.pcap", t),
            "x.pcap: 4 frames, 2 dhcp, 1 malformed, 1 skipped (not DHCP)");
}

// ---- link types ---------------------------------------------------------------

TEST(DecodeLink, DltValues) {
  EXPECT_EQ(dorado::decode::link_type_from_dlt(1), LinkType::ethernet);
  EXPECT_EQ(dorado::decode::link_type_from_dlt(113), LinkType::linux_sll);
  EXPECT_EQ(dorado::decode::link_type_from_dlt(276), LinkType::linux_sll2);
  EXPECT_EQ(dorado::decode::link_type_from_dlt(228), LinkType::raw_ip);
  EXPECT_FALSE(dorado::decode::link_type_from_dlt(105));  // 802.11
}

// One DHCP discover as Ethernet, and its IPv4 packet (after the header).
struct Sample {
  Buffer frame = build(client_envelope(), client_bootp(), spec(wire::MessageType::discover));
  wire::Bytes ip_packet() const { return bytes(frame).subspan(14); }
};

TEST(DecodeLink, LinuxCookedV1BecomesEthernet) {
  const Sample s;
  Buffer sll{0x00, 0x01,                                      // broadcast
             0x00, 0x01,                                      // ARPHRD_ETHER
             0x00, 0x06,                                      // address length
             0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, 0x00, 0x00,  // address
             0x08, 0x00};                                     // IPv4
  sll.insert(sll.end(), s.ip_packet().begin(), s.ip_packet().end());
  const Buffer eth = dorado::decode::to_ethernet(LinkType::linux_sll, bytes(sll));
  EXPECT_EQ(eth, s.frame);  // the sample was sent from kClientMac to broadcast
  EXPECT_EQ(decode_frame(captured(eth)).verdict, Verdict::dhcp);
}

TEST(DecodeLink, LinuxCookedV2BecomesEthernet) {
  const Sample s;
  Buffer sll2{0x08, 0x00, 0x00, 0x00,                          // protocol, reserved
              0x00, 0x00, 0x00, 0x02,                          // ifindex
              0x00, 0x01, 0x04, 0x06,                          // ARPHRD_ETHER, outgoing, len 6
              0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, 0x00, 0x00};
  sll2.insert(sll2.end(), s.ip_packet().begin(), s.ip_packet().end());
  const Buffer eth = dorado::decode::to_ethernet(LinkType::linux_sll2, bytes(sll2));
  ASSERT_EQ(eth.size(), s.frame.size());
  EXPECT_EQ(wire::load_mac(eth.data()), wire::MacAddr{});  // not a broadcast packet type
  EXPECT_EQ(wire::load_mac(eth.data() + 6), kClientMac);
  EXPECT_TRUE(std::equal(eth.begin() + 12, eth.end(), s.frame.begin() + 12));
}

TEST(DecodeLink, RawIpGetsAnEthernetHeader) {
  const Sample s;
  const Buffer raw(s.ip_packet().begin(), s.ip_packet().end());
  const Buffer eth = dorado::decode::to_ethernet(LinkType::raw_ip, bytes(raw));
  ASSERT_EQ(eth.size(), raw.size() + 14);
  EXPECT_EQ(wire::load_be16(eth.data() + 12), wire::kEtherTypeIpv4);
  EXPECT_EQ(decode_frame(captured(eth)).verdict, Verdict::dhcp);

  const Buffer v6{0x60, 0, 0, 0};
  EXPECT_EQ(wire::load_be16(dorado::decode::to_ethernet(LinkType::raw_ip, bytes(v6)).data() + 12), 0x86dd);
}

TEST(DecodeLink, ShortCookedHeadersComeBackEmpty) {
  const Buffer shorter(10, 0);
  EXPECT_TRUE(dorado::decode::to_ethernet(LinkType::linux_sll, bytes(shorter)).empty());
  EXPECT_TRUE(dorado::decode::to_ethernet(LinkType::linux_sll2, bytes(shorter)).empty());
  EXPECT_TRUE(dorado::decode::to_ethernet(LinkType::raw_ip, {}).empty());
  // parse_frame then calls it what it is.
  const Json j = decode_frame(captured({})).json;
  EXPECT_EQ(j.at("error"), "eth_truncated");
}

TEST(DecodeCapture, MissingFileNamesTheFile) {
  try {
    dorado::decode::CaptureReader reader("/nonexistent/x.pcap");
    FAIL() << "opened a missing file";
  } catch (const dorado::decode::CaptureError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("/nonexistent/x.pcap: cannot read capture: ", 0), 0u) << e.what();
  }
}

// ---- packets ------------------------------------------------------------------

TEST(DecodePacket, DiscoverWithTwoVlanTags) {
  wire::Envelope env = client_envelope();
  env.vlan_count = 2;
  env.vlans = {wire::VlanTag{wire::kEtherTypeQinQ, 0x6064},   // pcp 3, vid 100
               wire::VlanTag{wire::kEtherTypeVlan, 0x0007}};  // pcp 0, vid 7
  const Buffer prl{1, 3, 6, 15, 51, 121, 224};
  const Buffer client_id{1, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};
  const Buffer msz{0x05, 0xdc};
  const Buffer requested{192, 0, 2, 10};
  const std::array opts{
      wire::OptionValue{wire::opt::parameter_request_list, bytes(prl)},
      wire::OptionValue{wire::opt::client_id, bytes(client_id)},
      wire::OptionValue{wire::opt::max_message_size, bytes(msz)},
      wire::OptionValue{wire::opt::requested_ip, bytes(requested)},
      wire::OptionValue{wire::opt::hostname, bytes("laptop")},
      wire::OptionValue{wire::opt::vendor_class_id, bytes("MSFT 5.0")},
  };
  const Buffer frame =
      build(env, client_bootp(), spec(wire::MessageType::discover, opts, 1500));
  const auto d = decode_frame(captured(frame));
  ASSERT_EQ(d.verdict, Verdict::dhcp) << d.json;
  const Json& j = d.json;

  // Key order is part of the format (people read these lines).
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  const std::vector<std::string> expected_keys{
      "frame", "time", "epoch", "length", "eth_src", "eth_dst", "vlans", "ip_src", "ip_dst",
      "udp_src", "udp_dst", "op", "htype", "hlen", "hops", "xid", "secs", "flags", "broadcast",
      "ciaddr", "yiaddr", "siaddr", "giaddr", "chaddr", "message_type", "options"};
  EXPECT_EQ(keys, expected_keys);

  EXPECT_EQ(j["frame"], 7);
  EXPECT_EQ(j["time"], "2016-12-08T12:28:41.189402Z");
  EXPECT_DOUBLE_EQ(j["epoch"].get<double>(), 1481200121.189402);
  EXPECT_EQ(j["length"], frame.size());
  EXPECT_EQ(j["eth_src"], "02:00:5e:10:20:30");
  EXPECT_EQ(j["eth_dst"], "ff:ff:ff:ff:ff:ff");
  EXPECT_EQ(j["vlans"], Json::parse(R"([{"tpid":"0x88a8","vid":100,"pcp":3},{"tpid":"0x8100","vid":7,"pcp":0}])"));
  EXPECT_EQ(j["ip_src"], "0.0.0.0");
  EXPECT_EQ(j["ip_dst"], "255.255.255.255");
  EXPECT_EQ(j["udp_src"], 68);
  EXPECT_EQ(j["udp_dst"], 67);
  EXPECT_EQ(j["op"], 1);
  EXPECT_EQ(j["htype"], 1);
  EXPECT_EQ(j["hlen"], 6);
  EXPECT_EQ(j["xid"], "0x0068c484");
  EXPECT_EQ(j["secs"], 3);
  EXPECT_EQ(j["flags"], "0x8000");
  EXPECT_EQ(j["broadcast"], true);
  EXPECT_EQ(j["chaddr"], "02:00:5e:10:20:30");
  EXPECT_EQ(j["message_type"], Json::parse(R"({"name":"DISCOVER","number":1})"));

  std::vector<int> codes;
  for (const Json& o : j["options"]) codes.push_back(o["code"]);
  EXPECT_EQ(codes, (std::vector<int>{53, 55, 61, 57, 50, 12, 60}));
  EXPECT_EQ(option_of(j, 53), Json::parse(R"({"code":53,"name":"DHCP-Message-Type","length":1,"value":"DISCOVER"})"));
  EXPECT_EQ(option_of(j, 55)["value"][0], Json::parse(R"({"code":1,"name":"Subnet-Mask"})"));
  EXPECT_EQ(option_of(j, 55)["value"][6]["code"], 224);
  EXPECT_EQ(option_of(j, 61)["value"],
            Json::parse(R"({"type":1,"hex":"02005e102030","mac":"02:00:5e:10:20:30"})"));
  EXPECT_EQ(option_of(j, 57)["value"], 1500);
  EXPECT_EQ(option_of(j, 50)["value"], "192.0.2.10");
  EXPECT_EQ(option_of(j, 12), Json::parse(R"({"code":12,"name":"Host-Name","length":6,"value":"laptop"})"));
  EXPECT_EQ(option_of(j, 60)["value"], "MSFT 5.0");
}

TEST(DecodePacket, RelayedRequestWithOption82) {
  wire::Envelope env;
  env.eth_src = kRelayMac;
  env.ip_src = ip(10, 30, 1, 1);
  env.ip_dst = ip(10, 40, 2, 3);
  env.src_port = wire::kPortBootps;
  env.dst_port = wire::kPortBootps;
  wire::BootpFields b = client_bootp();
  b.flags = 0;
  b.hops = 1;
  b.giaddr = ip(10, 30, 1, 1);
  const Buffer relay{1, 6, 'e', 't', 'h', '0', '/', '1',           // circuit id (text)
                     2, 3, 0x00, 0x01, 0xff,                       // remote id (binary)
                     5, 4, 10, 30, 1, 0,                           // link selection
                     9, 2, 0xaa, 0xbb,                             // vendor specific
                     200, 0};                                      // unknown, empty
  const Buffer lease{0x00, 0x00, 0x0e, 0x10};
  const std::array opts{wire::OptionValue{wire::opt::lease_time, bytes(lease)}};
  wire::DhcpOptionsSpec s = spec(wire::MessageType::request, opts);
  s.server_id = ip(10, 40, 2, 3);
  s.relay_agent_info = bytes(relay);
  const Buffer frame = build(env, b, s);
  const auto d = decode_frame(captured(frame));
  ASSERT_EQ(d.verdict, Verdict::dhcp) << d.json;
  const Json& j = d.json;
  EXPECT_EQ(j["hops"], 1);
  EXPECT_EQ(j["giaddr"], "10.30.1.1");
  EXPECT_EQ(j["udp_src"], 67);
  EXPECT_EQ(option_of(j, 54)["value"], "10.40.2.3");
  EXPECT_EQ(option_of(j, 51)["value"], 3600);
  const Json o82 = option_of(j, 82);
  EXPECT_EQ(o82["name"], "Relay-Agent-Information");
  EXPECT_EQ(o82["length"], relay.size());
  EXPECT_EQ(o82["value"], Json::parse(R"([
      {"code":1,"name":"Agent-Circuit-ID","length":6,"hex":"657468302f31","text":"eth0/1"},
      {"code":2,"name":"Agent-Remote-ID","length":3,"hex":"0001ff"},
      {"code":5,"name":"Link-Selection","length":4,"value":"10.30.1.0"},
      {"code":9,"name":"Vendor-Specific","length":2,"hex":"aabb"},
      {"code":200,"name":"Unknown","length":0,"hex":""}])"));
}

TEST(DecodePacket, TypedOptions) {
  const Buffer fqdn_wire{0x05, 0, 0, 4, 'h', 'o', 's', 't', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
  const Buffer fqdn_ascii{0x00, 0, 0, 'p', 'c', '1'};
  const Buffer routes{24, 192, 168, 5, 10, 0, 0, 1,   // 192.168.5.0/24 via 10.0.0.1
                      0, 10, 0, 0, 254};              // default via 10.0.0.254
  const Buffer routers{10, 0, 0, 1, 10, 0, 0, 2};
  const Buffer mask{255, 255, 255, 0};
  const Buffer t1{0, 0, 0x07, 0x08}, t2{0, 0, 0x0c, 0x4e};
  const Buffer offset{0xff, 0xff, 0xf1, 0xf0};  // -3600
  const Buffer ntp{192, 0, 2, 1};
  const Buffer user_class{3, 'a', 'b', 'c', 2, 0x01, 0x02};
  const Buffer static_route{10, 0, 0, 0, 10, 0, 0, 1};
  const Buffer unknown{0xde, 0xad};
  const Buffer selection{172, 16, 0, 0};
  const std::array opts{
      wire::OptionValue{wire::opt::subnet_mask, bytes(mask)},
      wire::OptionValue{wire::opt::routers, bytes(routers)},
      wire::OptionValue{wire::opt::time_offset, bytes(offset)},
      wire::OptionValue{wire::opt::renewal_time, bytes(t1)},
      wire::OptionValue{wire::opt::rebinding_time, bytes(t2)},
      wire::OptionValue{wire::opt::ntp_servers, bytes(ntp)},
      wire::OptionValue{wire::opt::domain_name, bytes("example.org")},
      wire::OptionValue{wire::opt::client_fqdn, bytes(fqdn_wire)},
      wire::OptionValue{wire::opt::classless_static_route, bytes(routes)},
      wire::OptionValue{wire::opt::user_class, bytes(user_class)},
      wire::OptionValue{33, bytes(static_route)},
      wire::OptionValue{wire::opt::subnet_selection, bytes(selection)},
      wire::OptionValue{105, bytes(unknown)},
  };
  wire::BootpFields b = client_bootp();
  b.op = 2;
  b.yiaddr = ip(10, 0, 0, 42);
  const Buffer frame = build(client_envelope(), b, spec(wire::MessageType::ack, opts, 1500));
  const auto d = decode_frame(captured(frame));
  ASSERT_EQ(d.verdict, Verdict::dhcp) << d.json;
  const Json& j = d.json;
  EXPECT_EQ(j["yiaddr"], "10.0.0.42");
  EXPECT_EQ(option_of(j, 1)["value"], "255.255.255.0");
  EXPECT_EQ(option_of(j, 3)["value"], Json::parse(R"(["10.0.0.1","10.0.0.2"])"));
  EXPECT_EQ(option_of(j, 2)["value"], -3600);
  EXPECT_EQ(option_of(j, 58)["value"], 1800);
  EXPECT_EQ(option_of(j, 59)["value"], 3150);
  EXPECT_EQ(option_of(j, 42)["value"], Json::parse(R"(["192.0.2.1"])"));
  EXPECT_EQ(option_of(j, 15)["value"], "example.org");
  EXPECT_EQ(option_of(j, 81)["value"], Json::parse(R"({"flags":5,"s":true,"o":false,"e":true,"n":false,
      "rcode1":0,"rcode2":0,"name":"host.example"})"));
  EXPECT_EQ(option_of(j, 121)["value"], Json::parse(R"([{"destination":"192.168.5.0/24","router":"10.0.0.1"},
      {"destination":"0.0.0.0/0","router":"10.0.0.254"}])"));
  EXPECT_EQ(option_of(j, 77)["value"], Json::parse(R"(["abc",{"hex":"0102"}])"));
  EXPECT_EQ(option_of(j, 33)["value"], Json::parse(R"([{"destination":"10.0.0.0","router":"10.0.0.1"}])"));
  EXPECT_EQ(option_of(j, 118)["value"], "172.16.0.0");
  EXPECT_EQ(option_of(j, 105), Json::parse(R"({"code":105,"name":"Unknown","length":2,"hex":"dead"})"));

  // Option 81 without the E flag carries ASCII.
  const std::array ascii{wire::OptionValue{wire::opt::client_fqdn, bytes(fqdn_ascii)}};
  const auto d2 = decode_frame(captured(build(client_envelope(), client_bootp(),
                                              spec(wire::MessageType::request, ascii))));
  EXPECT_EQ(option_of(d2.json, 81)["value"]["name"], "pc1");
}

TEST(DecodePacket, OptionsOfTheWrongShapeFallBackToHex) {
  const Buffer three{1, 2, 3};
  const std::array opts{wire::OptionValue{wire::opt::ntp_servers, bytes(three)},  // not n*4
                        wire::OptionValue{wire::opt::vendor_class_id, bytes(three)}};  // not text
  const auto d = decode_frame(captured(build(client_envelope(), client_bootp(),
                                             spec(wire::MessageType::discover, opts))));
  ASSERT_EQ(d.verdict, Verdict::dhcp);
  EXPECT_EQ(option_of(d.json, 42)["hex"], "010203");
  EXPECT_FALSE(option_of(d.json, 42).contains("value"));
  EXPECT_EQ(option_of(d.json, 60)["hex"], "010203");
}

TEST(DecodePacket, ConcatenatedOptionShowsItsInstances) {
  const Buffer big(300, 0x42);
  const std::array opts{wire::OptionValue{wire::opt::vendor_specific, bytes(big)}};
  const auto d = decode_frame(captured(build(client_envelope(), client_bootp(),
                                             spec(wire::MessageType::discover, opts, 1500))));
  ASSERT_EQ(d.verdict, Verdict::dhcp) << d.json;
  const Json o = option_of(d.json, 43);
  EXPECT_EQ(o["length"], 300);
  EXPECT_EQ(o["instances"], 2);
  std::string expected_hex;
  for (int i = 0; i < 300; ++i) expected_hex += "42";
  EXPECT_EQ(o["hex"], expected_hex);
}

TEST(DecodePacket, BootFileAndServerNameAsText) {
  wire::Envelope env = client_envelope();
  env.udp_checksum = false;  // the fields are patched after building
  Buffer frame = build(env, client_bootp(), spec(wire::MessageType::offer));
  const std::size_t bootp = 14 + 20 + 8;
  const std::string sname = "tftp.example", file = "pxelinux.0";
  std::copy(sname.begin(), sname.end(), frame.begin() + bootp + 44);
  std::copy(file.begin(), file.end(), frame.begin() + bootp + 108);
  const auto d = decode_frame(captured(frame));
  ASSERT_EQ(d.verdict, Verdict::dhcp);
  EXPECT_EQ(d.json["sname"], "tftp.example");
  EXPECT_EQ(d.json["file"], "pxelinux.0");
}

// ---- what is not DHCP, and what is broken --------------------------------------

TEST(DecodePacket, BadOptionIsAnErrorLineNamingTheOption) {
  const Buffer three{1, 2, 3};
  const std::array opts{wire::OptionValue{wire::opt::requested_ip, bytes(three)}};
  const auto d = decode_frame(captured(build(client_envelope(), client_bootp(),
                                             spec(wire::MessageType::discover, opts))));
  EXPECT_EQ(d.verdict, Verdict::malformed);
  EXPECT_EQ(dorado::decode::to_line(d.json),
            R"({"frame":7,"error":"option_bad_length","detail":"option length invalid for its type","option":50})");
}

TEST(DecodePacket, BrokenFramesOnDhcpPortsAreErrors) {
  const Sample s;
  Buffer bad_sum = s.frame;
  bad_sum.at(14 + 20 + 8 + 4) ^= 0x01;  // a bit of the xid: the UDP checksum no longer matches
  const auto d = decode_frame(captured(bad_sum));
  EXPECT_EQ(d.verdict, Verdict::malformed);
  EXPECT_EQ(d.json, Json::parse(R"({"frame":7,"error":"udp_bad_checksum","detail":"UDP checksum mismatch"})"));

  const Buffer cut(s.frame.begin(), s.frame.begin() + 20);  // IPv4 header cut short
  EXPECT_EQ(decode_frame(captured(cut)).json["error"], "ipv4_truncated");
}

// A reply captured before a NIC with TX checksum offload (dpdk-dumpcap on
// dorado's port) has its checksums still to be completed: decoded, and
// marked. An IPv4 checksum of 0 without the UDP pseudo-header sum is an error.
TEST(DecodePacket, RepliesLeftToTxChecksumOffloadAreDecodedAndMarked) {
  wire::Envelope env = client_envelope();
  env.vlan_count = 1;
  env.vlans = {wire::VlanTag{wire::kEtherTypeVlan, 0x0007}};
  env.checksum_offload = true;
  const Buffer frame = build(env, client_bootp(), spec(wire::MessageType::offer));
  const auto d = decode_frame(captured(frame));
  ASSERT_EQ(d.verdict, Verdict::dhcp) << d.json;
  EXPECT_EQ(d.json["checksums"], "left to the NIC (TX checksum offload)");
  EXPECT_EQ(d.json["message_type"]["name"], "OFFER");

  env.checksum_offload = false;
  const auto plain = decode_frame(captured(build(env, client_bootp(), spec(wire::MessageType::offer))));
  ASSERT_EQ(plain.verdict, Verdict::dhcp);
  EXPECT_FALSE(plain.json.contains("checksums"));

  Buffer not_pseudo = frame;
  not_pseudo.at(18 + 20 + 7) ^= 0x01;   // UDP field: no longer the pseudo-header sum
  const auto bad = decode_frame(captured(not_pseudo));
  EXPECT_EQ(bad.verdict, Verdict::malformed);
  EXPECT_EQ(bad.json["error"], "ipv4_bad_checksum");
}

TEST(DecodePacket, OtherTrafficIsSkipped) {
  // UDP to another port (DNS), with and without a broken checksum.
  wire::Envelope dns = client_envelope();
  dns.src_port = 5353;
  dns.dst_port = 53;
  Buffer frame = build(dns, client_bootp(), spec(wire::MessageType::discover));
  EXPECT_EQ(decode_frame(captured(frame)).verdict, Verdict::not_dhcp);
  frame.at(14 + 20 + 8 + 4) ^= 0x01;
  EXPECT_EQ(decode_frame(captured(frame)).verdict, Verdict::not_dhcp);
  EXPECT_TRUE(decode_frame(captured(frame)).json.is_null());

  // ARP.
  Buffer arp(42, 0);
  wire::store_be16(arp.data() + 12, wire::kEtherTypeArp);
  const Buffer arp_body{0, 1, 8, 0, 6, 4, 0, 1};
  std::copy(arp_body.begin(), arp_body.end(), arp.begin() + 14);
  EXPECT_EQ(decode_frame(captured(arp)).verdict, Verdict::not_dhcp);

  // IPv6.
  Buffer v6(60, 0);
  wire::store_be16(v6.data() + 12, 0x86dd);
  EXPECT_EQ(decode_frame(captured(v6)).verdict, Verdict::not_dhcp);
}

// A BOOTP message without the DHCP cookie (plain RFC 951, or another
// vendor's magic) is shown with its fixed fields, the vendor area and a
// note, as tcpdump shows it, not refused; it has no options.
TEST(DecodePacket, PlainBootpIsShownWithItsVendorArea) {
  Buffer frame = Sample{}.frame;
  const auto dhcp = decode_frame(captured(frame));
  ASSERT_EQ(dhcp.verdict, Verdict::dhcp);
  frame[14 + 20 + 6] = 0;  // zero the UDP checksum: the cookie is about to change
  frame[14 + 20 + 7] = 0;
  frame[14 + 20 + 8 + 236] = 0x53;
  frame[14 + 20 + 8 + 237] = 0x63;
  frame[14 + 20 + 8 + 238] = 0x35;
  frame[14 + 20 + 8 + 239] = 0x01;
  const auto d = decode_frame(captured(frame));
  EXPECT_EQ(d.verdict, Verdict::dhcp);
  EXPECT_FALSE(d.json.contains("error"));
  EXPECT_EQ(d.json["op"], 1);
  EXPECT_EQ(d.json["xid"], dhcp.json["xid"]);
  EXPECT_EQ(d.json["chaddr"], dhcp.json["chaddr"]);
  EXPECT_EQ(d.json["vendor"]["magic"], "0x53633501");
  EXPECT_EQ(d.json["vendor"]["length"], frame.size() - (14 + 20 + 8 + 236));
  EXPECT_EQ(d.json["vendor"]["hex"].get<std::string>().rfind("53633501", 0), 0u);
  EXPECT_NE(d.json["note"].get<std::string>().find("no DHCP magic cookie"), std::string::npos);
  EXPECT_FALSE(d.json.contains("message_type"));
  EXPECT_TRUE(d.json["options"].empty());

  // All zeros after the fixed fields (RFC 951's empty vendor area).
  std::fill(frame.begin() + 14 + 20 + 8 + 236, frame.end(), 0);
  const auto z = decode_frame(captured(frame));
  EXPECT_EQ(z.verdict, Verdict::dhcp);
  EXPECT_EQ(z.json["vendor"]["magic"], "0x00000000");
  EXPECT_EQ(z.json["vendor"]["hex"], "");

  // Other refusals of the codec stay refusals: op 3.
  frame[14 + 20 + 8] = 3;
  EXPECT_EQ(decode_frame(captured(frame)).verdict, Verdict::malformed);
}

}  // namespace
