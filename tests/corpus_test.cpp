// Every packet of every capture in the corpus (tests/corpus: tcpdump's DHCP
// test captures) is parsed by the wire codec and checked against what
// tcpdump printed for it in the capture's .out transcript: IPv4/UDP header
// fields, BOOTP fixed fields, and every option in order with its length and
// value. Transcript lines the test does not understand fail the test, so
// nothing is skipped silently. The two malformed captures (bootp_asan*) have
// hand-written expectations below.

// GCC 12 with -fsanitize=address at -O2 reports a false -Wmaybe-uninitialized
// inside std::regex (std::function in _StateT; GCC PR 105562): libstdc++
// internals, not this file's code. Only this test file is affected.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "decode/capture.hpp"
#include "decode/json.hpp"
#include "wire/dhcp.hpp"
#include "wire/errors.hpp"
#include "wire/frame.hpp"
#include "wire/text.hpp"

namespace {

namespace fs = std::filesystem;
using dorado::decode::CapturedFrame;
using dorado::wire::Bytes;
using dorado::wire::DhcpMessage;
using dorado::wire::Error;
using dorado::wire::Frame;
using dorado::wire::FrameKind;
namespace wire = dorado::wire;

const fs::path kCorpus{DORADO_CORPUS_DIR};

// Packets tcpdump could not decode ("[|bootp]"): what the codec must say.
// Both captures hold one frame cut to a 53-byte snapshot whose IPv4 header
// claims 60951 bytes (and has a bad checksum and the MF flag): the length
// check comes first.
const std::map<std::pair<std::string, int>, Error> kMalformed = {
    {{"bootp_asan.pcap", 1}, Error::ipv4_bad_total_length},
    {{"bootp_asan-2.pcap", 1}, Error::ipv4_bad_total_length},
};

// tcpdump's names for option 53 values (print-bootp.c).
const std::map<std::string, int> kTcpdumpMessageTypes = {
    {"Discover", 1},  {"Offer", 2},       {"Request", 3},          {"Decline", 4},
    {"ACK", 5},       {"NACK", 6},        {"Release", 7},          {"Inform", 8},
    {"ForceRenew", 9}, {"LeaseQuery", 10}, {"LeaseUnassigned", 11}, {"LeaseUnknown", 12},
    {"LeaseActive", 13},
};

// ---- the transcript ----------------------------------------------------------

struct TranscriptPacket {
  int number = 0;
  std::string time;                // "2016-12-08 12:28:41.189402"
  std::string header;              // "IP (tos ..." or "ARP, ..."
  std::vector<std::string> body;   // the lines after the first
};

std::vector<TranscriptPacket> read_transcript(const fs::path& path) {
  static const std::regex first(R"(^\s*(\d+)  (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) (.*)$)");
  std::ifstream in(path);
  std::vector<TranscriptPacket> packets;
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, first)) {
      packets.push_back({std::stoi(m[1]), m[2], m[3], {}});
    } else if (!packets.empty()) {
      packets.back().body.push_back(line);
    } else {
      ADD_FAILURE() << path << ": text before the first packet: " << line;
    }
  }
  return packets;
}

// The transcript of a capture: same stem, or stem + "-v" (verbose runs).
std::optional<fs::path> transcript_for(const fs::path& capture) {
  for (const std::string suffix : {"", "-v"}) {
    const fs::path p = capture.parent_path() / (capture.stem().string() + suffix + ".out");
    if (fs::exists(p)) return p;
  }
  return std::nullopt;
}

std::vector<std::string> corpus_captures() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(kCorpus)) {
    const auto ext = e.path().extension();
    if (ext == ".pcap" || ext == ".pcapng") files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// ---- rendering values the way tcpdump prints them ------------------------------

std::string ip_list_text(Bytes v) {
  std::string out;
  for (std::size_t i = 0; i + 4 <= v.size(); i += 4) {
    if (!out.empty()) out += ',';
    out += wire::format_ipv4(wire::load_be32(v.data() + i));
  }
  return out;
}

std::string quoted(Bytes v) { return '"' + std::string(v.begin(), v.end()) + '"'; }

std::optional<std::uint32_t> be_uint(Bytes v) {
  switch (v.size()) {
    case 1: return v[0];
    case 2: return wire::load_be16(v.data());
    case 4: return wire::load_be32(v.data());
    default: return std::nullopt;
  }
}

std::string static_routes_text(Bytes v) {
  std::string out;
  for (std::size_t i = 0; i + 8 <= v.size(); i += 8) {
    if (!out.empty()) out += ',';
    out += '(' + wire::format_ipv4(wire::load_be32(v.data() + i)) + ':' +
           wire::format_ipv4(wire::load_be32(v.data() + i + 4)) + ')';
  }
  return out;
}

// The option's bytes rendered in the format of tcpdump's `text`, chosen from
// the shape of that text; nullopt when the shape is not one we know.
std::optional<std::string> render_like(const std::string& text, Bytes v) {
  static const std::regex ips(R"(^\d+\.\d+\.\d+\.\d+(,\d+\.\d+\.\d+\.\d+)*$)");
  static const std::regex number(R"(^\d+$)");
  static const std::regex string(R"(^".*"$)");
  static const std::regex ether(R"(^ether [0-9a-f:]+$)");
  static const std::regex routes(R"(^\(\d+\.\d+\.\d+\.\d+:\d+\.\d+\.\d+\.\d+\)(,.*)?$)");
  if (std::regex_match(text, ips)) return ip_list_text(v);
  if (std::regex_match(text, string)) return quoted(v);
  if (std::regex_match(text, number)) {
    const auto n = be_uint(v);
    return n ? std::to_string(*n) : "(not a 1/2/4-byte integer)";
  }
  if (std::regex_match(text, ether)) {
    if (v.size() != 7 || v[0] != 1) return "(not an Ethernet client id)";
    return "ether " + wire::format_mac(wire::load_mac(v.data() + 1));
  }
  if (std::regex_match(text, routes)) return static_routes_text(v);
  return std::nullopt;
}

// The same through the codec's typed accessors, for the codes that have one.
std::optional<std::string> accessor_text(const DhcpMessage& m, std::uint8_t code) {
  namespace opt = wire::opt;
  const auto ip = [](std::optional<wire::Ipv4> a) { return wire::format_ipv4(a.value()); };
  const auto str = [](std::optional<std::string_view> s) { return '"' + std::string(s.value()) + '"'; };
  switch (code) {
    case opt::subnet_mask: return ip(m.subnet_mask());
    case opt::routers: return ip_list_text(m.routers().raw);
    case opt::dns_servers: return ip_list_text(m.dns_servers().raw);
    case opt::hostname: return str(m.hostname());
    case opt::domain_name: return str(m.domain_name());
    case opt::broadcast_address: return ip(m.broadcast_address());
    case opt::requested_ip: return ip(m.requested_ip());
    case opt::lease_time: return std::to_string(m.lease_time().value());
    case opt::server_id: return ip(m.server_id());
    case opt::max_message_size: return std::to_string(m.max_message_size().value());
    case opt::renewal_time: return std::to_string(m.renewal_time().value());
    case opt::rebinding_time: return std::to_string(m.rebinding_time().value());
    case opt::vendor_class_id: return quoted(m.vendor_class_id().value());
    case opt::client_id: {
      const Bytes id = m.client_id().value();
      return "ether " + wire::format_mac(wire::load_mac(id.data() + 1));
    }
    default: return std::nullopt;
  }
}

// ---- checks -------------------------------------------------------------------

struct OptionLine {
  int code = 0;
  std::size_t length = 0;
  std::string value;                // after ": ", "" if none
  std::vector<std::string> sub;     // continuation lines (55 lists, 77 instances)
};

int options_checked = 0;  // option values compared in the current test
int bootp_checked = 0;    // frames without the cookie compared with tcpdump's "Vendor-#0x" line

void check_option(const DhcpMessage& m, const OptionLine& o) {
  SCOPED_TRACE("option " + std::to_string(o.code));
  const auto code = static_cast<std::uint8_t>(o.code);
  ASSERT_TRUE(m.has(code));
  const Bytes v = *m.option(code);
  EXPECT_EQ(v.size(), o.length);

  if (code == wire::opt::message_type) {
    ASSERT_TRUE(kTcpdumpMessageTypes.contains(o.value)) << o.value;
    const int type = kTcpdumpMessageTypes.at(o.value);
    EXPECT_EQ(static_cast<int>(m.message_type().value()), type);
    EXPECT_EQ(v[0], type);
    ++options_checked;
    return;
  }
  if (code == wire::opt::parameter_request_list) {
    static const std::regex entry(R"(\((\d+)\))");
    std::vector<std::uint8_t> codes;
    for (const auto& line : o.sub)
      for (std::sregex_iterator it(line.begin(), line.end(), entry), end; it != end; ++it)
        codes.push_back(static_cast<std::uint8_t>(std::stoi((*it)[1])));
    const Bytes prl = m.parameter_request_list();
    EXPECT_EQ(codes, std::vector<std::uint8_t>(prl.begin(), prl.end()));
    ++options_checked;
    return;
  }
  if (!o.sub.empty()) {  // RFC 3004 user classes: instance#k: "text", length L
    static const std::regex inst(R"re(^\t      instance#\d+: "(.*)", length (\d+)$)re");
    std::string expected;
    for (const auto& line : o.sub) {
      std::smatch s;
      ASSERT_TRUE(std::regex_match(line, s, inst)) << line;
      expected += static_cast<char>(std::stoi(s[2]));
      expected += s[1];
    }
    EXPECT_EQ(std::string(v.begin(), v.end()), expected);
    ++options_checked;
    return;
  }
  if (o.value.empty()) return;  // "length 0", or "length 0 [length != N x 8 bytes]"
  if (o.value == "[length != N x 8 bytes]") {  // tcpdump refused the value; the codec keeps the bytes
    EXPECT_NE(v.size() % 8, 0u);
    ++options_checked;
    return;
  }
  const auto rendered = render_like(o.value, v);
  ASSERT_TRUE(rendered) << "value format not understood by the test: " << o.value;
  EXPECT_EQ(*rendered, o.value);
  if (const auto typed = accessor_text(m, code)) {
    EXPECT_EQ(*typed, o.value);
  }
  ++options_checked;
}

// Parses the body of a BOOTP packet; checks fields and options against `m`.
void check_bootp_body(const std::vector<std::string>& body, std::size_t from, const DhcpMessage& m,
                      bool expect_cookie) {
  static const std::regex field(R"(^\t  ([A-Za-z-]+) (\S+)$)");
  static const std::regex option(R"(^\t    (.+) \((\d+)\), length (\d+)(: ?(.*)| \[.*\])?$)");
  std::map<std::string, std::string> fields;
  std::vector<OptionLine> options;
  bool cookie_line = false;
  for (std::size_t i = from; i < body.size(); ++i) {
    const std::string& line = body[i];
    std::smatch s;
    if (line == "\t  Vendor-rfc1048 Extensions" || line.starts_with("\t  Vendor-#0x")) continue;
    if (line == "\t    Magic Cookie 0x63825363") {
      cookie_line = true;
    } else if (std::regex_match(line, s, option)) {
      const int code = std::stoi(s[2]);
      if (code == wire::opt::end || code == wire::opt::pad) continue;
      options.push_back({code, std::stoul(s[3]), s[5], {}});
    } else if (line.starts_with("\t      ") && !options.empty()) {
      options.back().sub.push_back(line);
    } else if (std::regex_match(line, s, field)) {
      fields[s[1]] = s[2];
    } else {
      ADD_FAILURE() << "transcript line not understood: " << line;
    }
  }
  EXPECT_EQ(cookie_line, expect_cookie);

  const auto field_ip = [&](const std::string& name) {
    return fields.contains(name) ? fields.at(name) : std::string("0.0.0.0");
  };
  EXPECT_EQ(wire::format_ipv4(m.ciaddr), field_ip("Client-IP"));
  EXPECT_EQ(wire::format_ipv4(m.yiaddr), field_ip("Your-IP"));
  EXPECT_EQ(wire::format_ipv4(m.siaddr), field_ip("Server-IP"));
  EXPECT_EQ(wire::format_ipv4(m.giaddr), field_ip("Gateway-IP"));
  if (fields.contains("Client-Ethernet-Address")) {
    EXPECT_EQ(m.htype, 1);
    EXPECT_EQ(m.hlen, 6);
    EXPECT_EQ(wire::format_mac(m.chaddr_mac()), fields.at("Client-Ethernet-Address"));
  }
  for (const auto& [name, value] : fields) {
    static const char* const known[] = {"Client-IP", "Your-IP", "Server-IP", "Gateway-IP",
                                        "Client-Ethernet-Address"};
    EXPECT_TRUE(std::find(std::begin(known), std::end(known), name) != std::end(known))
        << "field not checked: " << name << " " << value;
  }
  if (!expect_cookie) return;

  // Options in order of first appearance, repeated codes (RFC 3396) merged.
  std::vector<OptionLine> merged;
  for (const auto& o : options) {
    auto it = std::find_if(merged.begin(), merged.end(), [&](const OptionLine& x) { return x.code == o.code; });
    if (it == merged.end()) {
      merged.push_back(o);
    } else {
      it->length += o.length;
      it->value.clear();  // a concatenated value: length check only
      it->sub.clear();
    }
  }
  std::vector<int> expected_codes, codes;
  for (const auto& o : merged) expected_codes.push_back(o.code);
  for (const auto c : m.codes()) codes.push_back(c);
  EXPECT_EQ(codes, expected_codes);
  for (const auto& o : merged) check_option(m, o);
}

struct BootpLine {
  int op = 0;
  std::optional<std::string> client;  // "Request from MAC"
  std::size_t length = 0;
  int hops = 0;
  std::uint32_t xid = 0;
  int secs = 0;
  std::uint16_t flags = 0;
  bool truncated = false;             // "[|bootp]"
};

BootpLine parse_bootp_line(const std::string& text) {
  BootpLine b;
  static const std::regex item(R"(([^,]+)(, |$))");
  std::smatch s;
  for (std::sregex_iterator it(text.begin(), text.end(), item), end; it != end; ++it) {
    std::string t = (*it)[1];
    if (t.ends_with(" [|bootp]")) {
      b.truncated = true;
      t.resize(t.size() - 9);
    }
    if (t == "Reply") {
      b.op = 2;
    } else if (t.starts_with("Request from ")) {
      b.op = 1;
      b.client = t.substr(13);
    } else if (t.starts_with("unknown (0x")) {
      b.op = std::stoi(t.substr(11), nullptr, 16);
    } else if (t.starts_with("length ")) {
      b.length = std::stoul(t.substr(7));
    } else if (t.starts_with("hops ")) {
      b.hops = std::stoi(t.substr(5));
    } else if (t.starts_with("xid 0x")) {
      b.xid = static_cast<std::uint32_t>(std::stoul(t.substr(6), nullptr, 16));
    } else if (t.starts_with("secs ")) {
      b.secs = std::stoi(t.substr(5));
    } else if (t.starts_with("Flags [")) {
      static const std::regex flags(R"(^Flags \[([^\]]*)\]( \(0x([0-9a-f]{4})\))?$)");
      if (!std::regex_match(t, s, flags)) {
        ADD_FAILURE() << "flags not understood: " << t;
      } else if (s[3].matched) {
        b.flags = static_cast<std::uint16_t>(std::stoul(s[3], nullptr, 16));
      } else {
        b.flags = s[1] == "Broadcast" ? wire::kFlagBroadcast : 0;
      }
    } else if (!t.starts_with("htype ") && !t.starts_with("hlen ")) {
      ADD_FAILURE() << "BOOTP summary item not understood: " << t;
    }
  }
  return b;
}

void check_packet(const std::string& file, const TranscriptPacket& t, const CapturedFrame& cf) {
  SCOPED_TRACE(file + " frame " + std::to_string(t.number));
  EXPECT_EQ(static_cast<int>(cf.number), t.number);
  std::string time = dorado::decode::iso8601_utc(cf.ts_sec, cf.ts_usec);
  time[10] = ' ';
  time.pop_back();  // 'Z'
  EXPECT_EQ(time, t.time);

  const Bytes pkt{cf.data.data(), cf.data.size()};
  const Frame f = wire::parse_frame(pkt);
  std::smatch s;

  if (t.header.starts_with("ARP, ")) {
    static const std::regex request(R"(Request who-has (\S+) tell (\S+), length \d+$)");
    static const std::regex reply(R"(Reply (\S+) is-at ([0-9a-f:]+), length \d+$)");
    ASSERT_EQ(f.error, Error::ok) << wire::error_name(f.error);
    ASSERT_EQ(f.kind, FrameKind::arp);
    if (std::regex_search(t.header, s, request)) {
      EXPECT_EQ(f.arp.op, 1);
      EXPECT_EQ(wire::format_ipv4(f.arp.tpa), s[1]);
      EXPECT_EQ(wire::format_ipv4(f.arp.spa), s[2]);
    } else if (std::regex_search(t.header, s, reply)) {
      EXPECT_EQ(f.arp.op, 2);
      EXPECT_EQ(wire::format_ipv4(f.arp.spa), s[1]);
      EXPECT_EQ(wire::format_mac(f.arp.sha), s[2]);
    } else {
      ADD_FAILURE() << "ARP line not understood: " << t.header;
    }
    return;
  }

  static const std::regex ip_header(
      R"(^IP \(tos 0x([0-9a-f]+), ttl (\d+), id (\d+), offset (\d+), flags \[([^\]]*)\], proto (\w+) \((\d+)\), length (\d+)(, bad cksum .*)?\)$)");
  ASSERT_TRUE(std::regex_match(t.header, s, ip_header)) << t.header;
  EXPECT_EQ(f.ip.tos, std::stoi(s[1], nullptr, 16));
  EXPECT_EQ(f.ip.ttl, std::stoi(s[2]));
  EXPECT_EQ(f.ip.id, std::stoi(s[3]));
  EXPECT_EQ(f.ip.protocol, std::stoi(s[7]));
  EXPECT_EQ(f.ip.total_length, std::stoi(s[8]));
  const std::string proto = s[6];
  ASSERT_FALSE(t.body.empty());

  if (proto == "ICMP") {
    ASSERT_EQ(f.error, Error::ok) << wire::error_name(f.error);
    EXPECT_EQ(f.kind, FrameKind::ipv4_icmp);
    static const std::regex icmp(R"(^    (\S+) > (\S+): ICMP .*$)");
    ASSERT_TRUE(std::regex_match(t.body[0], s, icmp)) << t.body[0];
    EXPECT_EQ(wire::format_ipv4(f.ip.src), s[1]);
    EXPECT_EQ(wire::format_ipv4(f.ip.dst), s[2]);
    return;  // the rest is the quoted packet of an ICMP error
  }

  ASSERT_EQ(proto, "UDP");
  static const std::regex udp(
      R"(^    (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+): (\[udp sum ok\] )?BOOTP/DHCP, (.*)$)");
  ASSERT_TRUE(std::regex_match(t.body[0], s, udp)) << t.body[0];
  EXPECT_EQ(wire::format_ipv4(f.ip.src), s[1]);
  EXPECT_EQ(wire::format_ipv4(f.ip.dst), s[3]);
  const bool sum_ok = s[5].matched;
  const BootpLine b = parse_bootp_line(s[6]);

  if (b.truncated) {  // tcpdump gave up: a hand-written expectation
    const auto it = kMalformed.find({file, t.number});
    ASSERT_NE(it, kMalformed.end()) << "no expectation for a packet tcpdump could not decode";
    EXPECT_EQ(wire::error_name(f.error), wire::error_name(it->second));
    EXPECT_LT(cf.data.size(), f.eth.l3_offset + f.ip.total_length);  // why: cut by the snapshot
    EXPECT_EQ(dorado::decode::decode_frame(cf).verdict, dorado::decode::Verdict::malformed);
    return;
  }
  ASSERT_EQ(f.error, Error::ok) << wire::error_name(f.error);
  ASSERT_EQ(f.kind, FrameKind::ipv4_udp);
  EXPECT_EQ(f.udp.src_port, std::stoi(s[2]));
  EXPECT_EQ(f.udp.dst_port, std::stoi(s[4]));
  if (sum_ok) {
    EXPECT_NE(f.udp.checksum, 0);  // verified by parse_frame
  }
  EXPECT_EQ(f.udp.payload_length, b.length);

  const DhcpMessage m = wire::parse_dhcp(f.udp_payload(pkt));
  EXPECT_EQ(m.op, b.op);
  EXPECT_EQ(m.hops, b.hops);
  EXPECT_EQ(m.xid, b.xid);
  EXPECT_EQ(m.secs, b.secs);
  EXPECT_EQ(m.flags, b.flags);
  if (b.client) {
    EXPECT_EQ(wire::format_mac(m.chaddr_mac()), *b.client);
  }

  const bool cookie = std::find(t.body.begin(), t.body.end(), "\t    Magic Cookie 0x63825363") != t.body.end();
  if (cookie) {
    ASSERT_EQ(m.error, Error::ok) << wire::error_name(m.error) << " option " << int{m.error_option};
    EXPECT_TRUE(m.has_cookie);
    EXPECT_EQ(dorado::decode::decode_frame(cf).verdict, dorado::decode::Verdict::dhcp);
  } else {  // "Vendor-#0x53633501": plain BOOTP or a shifted cookie
    EXPECT_EQ(m.error, Error::dhcp_no_cookie) << wire::error_name(m.error);
    EXPECT_FALSE(m.has_cookie);
    // dorado-decode shows it, as tcpdump does: BOOTP fields, the vendor
    // area's first word as tcpdump prints it, a note; no options.
    const auto d = dorado::decode::decode_frame(cf);
    EXPECT_EQ(d.verdict, dorado::decode::Verdict::dhcp);
    char xid[12];
    std::snprintf(xid, sizeof xid, "0x%08x", m.xid);
    EXPECT_EQ(d.json["xid"], xid);
    EXPECT_EQ(d.json["giaddr"], wire::format_ipv4(m.giaddr));
    EXPECT_TRUE(d.json.contains("note"));
    EXPECT_TRUE(d.json["options"].empty());
    const auto vendor = std::find_if(t.body.begin(), t.body.end(),
                                     [](const std::string& l) { return l.starts_with("\t  Vendor-#0x"); });
    if (vendor != t.body.end()) {
      std::string magic = d.json["vendor"]["magic"];   // tcpdump prints %x: no leading zeros
      magic.erase(2, std::min(magic.find_first_not_of('0', 2), magic.size() - 1) - 2);
      EXPECT_EQ("\t  Vendor-#" + magic, *vendor);
      ++bootp_checked;
    }
  }
  check_bootp_body(t.body, 1, m, cookie);
}

// ---- tests --------------------------------------------------------------------

class CorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CorpusTest, EveryPacketMatchesTheTcpdumpTranscript) {
  const fs::path capture = kCorpus / GetParam();
  const auto transcript = transcript_for(capture);
  ASSERT_TRUE(transcript) << "no .out transcript for " << capture;
  const auto packets = read_transcript(*transcript);
  const auto frames = dorado::decode::read_capture(capture.string());
  ASSERT_FALSE(frames.empty());
  ASSERT_EQ(frames.size(), packets.size());
  options_checked = 0;
  bootp_checked = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) check_packet(GetParam(), packets[i], frames[i]);
  // Guards the transcript parser itself: option lines were found and compared.
  const bool has_options = std::any_of(packets.begin(), packets.end(), [](const TranscriptPacket& p) {
    return std::find(p.body.begin(), p.body.end(), "\t    Magic Cookie 0x63825363") != p.body.end();
  });
  if (has_options) {
    EXPECT_GT(options_checked, 0);
  }
  // The capture with two BOOTP frames whose vendor area is not DHCP's
  // (frames 43 and 44: a cookie shifted by a byte each way).
  if (GetParam() == "dhcp-rfc4388.pcap") {
    EXPECT_EQ(bootp_checked, 2);
  }
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusTest, ::testing::ValuesIn(corpus_captures()), test_name);

TEST(CorpusFiles, EveryTranscriptHasACaptureAndEveryExpectationIsUsed) {
  const auto captures = corpus_captures();
  ASSERT_GE(captures.size(), 8u);
  for (const auto& e : fs::directory_iterator(kCorpus)) {
    if (e.path().extension() != ".out") continue;
    std::string stem = e.path().stem().string();
    if (stem.ends_with("-v")) stem.resize(stem.size() - 2);
    const bool found = std::any_of(captures.begin(), captures.end(), [&](const std::string& c) {
      return fs::path(c).stem() == stem;
    });
    EXPECT_TRUE(found) << e.path() << " has no capture";
  }
  for (const auto& [key, error] : kMalformed)
    EXPECT_TRUE(std::find(captures.begin(), captures.end(), key.first) != captures.end()) << key.first;
}

}  // namespace
