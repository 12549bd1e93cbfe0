// Dynamic DNS in the engine (engine/ddns.hpp): the name and DNS flags a
// committed lease keeps (option 81 S/N/O, override keys, replace modes,
// option 12, generated names, sanitising, long names), option 81 in the
// OFFER/ACK (flags, RCODEs, wire and ASCII names, suffix per subnet or
// global), the flags in LeaseChange and across renewals and restores, and
// an engine without [ddns] answering byte for byte as before. Requests are
// built with wire::build_dhcp_frame and parsed back, as in engine_test.
#include "engine/ddns.hpp"
#include "engine/ddns_encode.hpp"
#include "engine/engine.hpp"
#include "engine/reply_cache.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dorado::engine {
namespace {

using wire::MacAddr;
using wire::MessageType;

constexpr Ipv4 ip(unsigned a, unsigned b, unsigned c, unsigned d) { return (a << 24) | (b << 16) | (c << 8) | d; }

constexpr Ipv4 kServer = ip(10, 0, 0, 1);
constexpr Seconds kStart = 1'700'000'000;
const MacAddr kServerMac{{0x02, 0xaa, 0, 0, 0, 1}};
constexpr std::uint8_t kBoth = kDdnsForward | kDdnsReverse;

MacAddr mac_of(std::uint8_t n) { return MacAddr{{0x02, 0, 0, 0, 0, n}}; }

// A client's request: option 12 and option 81 as given (fqdn_flags < 0: no 81).
struct Req {
  MessageType type = MessageType::discover;
  MacAddr mac = mac_of(1);
  Ipv4 requested = 0;
  Ipv4 server_id = 0;
  Ipv4 ciaddr = 0;
  Ipv4 giaddr = 0;
  std::string hostname;
  int fqdn_flags = -1;
  std::vector<std::uint8_t> fqdn_name;   // as sent (wire or ASCII)
  std::vector<std::uint8_t> prl{1, 3};
  std::vector<std::uint8_t> client_id;   // option 61; empty: none
  std::vector<std::uint8_t> rai;         // option 82; empty: none
};

struct Packet {
  std::vector<std::uint8_t> bytes;
  wire::Frame frame;
  wire::DhcpMessage msg;
  RxMeta rx;
};

std::unique_ptr<Packet> make_packet(const Req& r) {
  auto p = std::make_unique<Packet>();
  wire::Envelope env;
  env.eth_src = r.mac;
  env.eth_dst = MacAddr::broadcast();
  env.ip_src = r.giaddr != 0 ? r.giaddr : r.ciaddr;
  env.ip_dst = 0xffffffffu;
  env.src_port = r.giaddr != 0 ? wire::kPortBootps : wire::kPortBootpc;
  env.dst_port = wire::kPortBootps;
  wire::BootpFields b;
  b.op = 1;
  b.xid = 0x1234;
  b.ciaddr = r.ciaddr;
  b.giaddr = r.giaddr;
  std::memcpy(b.chaddr.data(), r.mac.b.data(), 6);
  std::array<std::uint8_t, 4> req{};
  std::vector<std::uint8_t> fqdn;
  std::vector<wire::OptionValue> opts;
  if (r.requested != 0) {
    wire::store_be32(req.data(), r.requested);
    opts.push_back({wire::opt::requested_ip, wire::Bytes{req}, false});
  }
  if (!r.hostname.empty())
    opts.push_back({wire::opt::hostname,
                    wire::Bytes{reinterpret_cast<const std::uint8_t*>(r.hostname.data()), r.hostname.size()},
                    false});
  if (r.fqdn_flags >= 0) {
    fqdn = {static_cast<std::uint8_t>(r.fqdn_flags), 0, 0};
    fqdn.insert(fqdn.end(), r.fqdn_name.begin(), r.fqdn_name.end());
    opts.push_back({wire::opt::client_fqdn, wire::Bytes{fqdn}, false});
  }
  opts.push_back({wire::opt::parameter_request_list, wire::Bytes{r.prl}, false});
  if (!r.client_id.empty()) opts.push_back({wire::opt::client_id, wire::Bytes{r.client_id}, false});
  wire::DhcpOptionsSpec spec;
  spec.type = r.type;
  spec.relay_agent_info = wire::Bytes{r.rai};
  spec.server_id = r.server_id;
  spec.options = opts;
  p->bytes.resize(1600);
  const wire::BuildResult built = wire::build_dhcp_frame(p->bytes, env, b, spec);
  EXPECT_EQ(built.error, wire::Error::ok);
  p->bytes.resize(built.length);
  p->frame = wire::parse_frame(p->bytes);
  EXPECT_EQ(p->msg.parse(p->frame.udp_payload(p->bytes)), wire::Error::ok);
  p->rx = rx_meta_of(p->frame, kServerMac, kServer);
  return p;
}

std::vector<std::uint8_t> ascii(std::string_view s) { return {s.begin(), s.end()}; }
// Canonical wire format of a dotted name; a trailing dot adds the root label.
std::vector<std::uint8_t> wire_name(std::string_view s) {
  std::vector<std::uint8_t> out;
  const bool full = !s.empty() && s.back() == '.';
  if (full) s.remove_suffix(1);
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == '.') {
      out.push_back(static_cast<std::uint8_t>(i - start));
      out.insert(out.end(), s.begin() + static_cast<std::ptrdiff_t>(start), s.begin() + static_cast<std::ptrdiff_t>(i));
      start = i + 1;
    }
  if (full) out.push_back(0);
  return out;
}

// Subnet 100: 10.0.0.0/24 (the interface's), suffix of its own
// "A.Example." (compiled lower case, no dot); subnet 200: 10.1.0.0/16
// (relayed), the global suffix.
EngineConfig ddns_config(bool enabled = true) {
  EngineConfig c;
  c.server_address = kServer;
  SubnetConfig a;
  a.id = 100;
  a.prefix = ip(10, 0, 0, 0);
  a.prefix_len = 24;
  a.pools = {{ip(10, 0, 0, 10), ip(10, 0, 0, 250)}};
  a.qualifying_suffix = "A.Example.";
  SubnetConfig b;
  b.id = 200;
  b.prefix = ip(10, 1, 0, 0);
  b.prefix_len = 16;
  b.pools = {{ip(10, 1, 0, 10), ip(10, 1, 0, 100)}};
  c.subnets = {a, b};
  c.ddns.enabled = enabled;
  c.ddns.qualifying_suffix = "bars.example";
  c.ddns.generated_prefix = "MyHost";
  return c;
}

class DdnsTest : public ::testing::Test {
 protected:
  void SetUp() override { build(ddns_config()); }

  void build(const EngineConfig& cfg, std::uint32_t hostnames = 64) {
    shard_.reset();
    compiled_ = std::make_unique<CompileResult>(compile(cfg));
    ASSERT_TRUE(compiled_->ok()) << compiled_->error;
    ShardConfig s;
    s.table.capacity = 64;
    s.table.hostname_capacity = hostnames;
    s.table.wheel_bits = 10;
    s.change_log_capacity = 64;
    Shard::Created c = Shard::create(compiled_->config, s);
    ASSERT_TRUE(c.shard) << c.error;
    shard_ = std::move(c.shard);
    replies_.clear();
  }

  // Config reload (Shard::reconfigure); the old config stays alive until then.
  void reload(const EngineConfig& cfg) {
    auto next = std::make_unique<CompileResult>(compile(cfg));
    ASSERT_TRUE(next->ok()) << next->error;
    Allocator fresh(next->config, shard_->identity());
    shard_->reconfigure(next->config, fresh);
    compiled_ = std::move(next);
    EXPECT_EQ(shard_->audit(), "");
  }

  Decision send(const Req& r) {
    last_ = make_packet(r);
    const Decision d = shard_->handle(last_->msg, last_->rx, now_);
    EXPECT_EQ(shard_->audit(), "");
    return d;
  }

  // The reply's bytes through build_reply; the ReplyCache way must give the same.
  std::vector<std::uint8_t> render(const Decision& d) {
    std::vector<std::uint8_t> out(1600);
    const wire::BuildResult r = build_reply(shard_->config(), d, last_->msg, last_->rx, out);
    EXPECT_EQ(r.error, wire::Error::ok);
    out.resize(r.length);
    for (int pass = 0; pass < 2; ++pass) {
      std::vector<std::uint8_t> cached(1600);
      const wire::BuildResult c = replies_.build(shard_->config(), d, last_->msg, last_->rx, cached);
      cached.resize(c.length);
      EXPECT_EQ(cached, out) << "ReplyCache and build_reply differ";
    }
    return out;
  }
  // Option 81 of the reply to `d`; nullopt when absent.
  std::optional<std::vector<std::uint8_t>> reply_fqdn(const Decision& d) {
    const std::vector<std::uint8_t> bytes = render(d);
    const wire::Frame f = wire::parse_frame(bytes);
    wire::DhcpMessage m;
    EXPECT_EQ(m.parse(f.udp_payload(bytes)), wire::Error::ok);
    const auto o = m.option(wire::opt::client_fqdn);
    if (!o) return std::nullopt;
    return std::vector<std::uint8_t>(o->begin(), o->end());
  }

  // A renewal's DISCOVER + REQUEST with `q`'s options (its type, requested
  // address and server id set here): both answered on `address`, ACKed, the
  // OFFER and ACK with the same option 81, which it returns.
  std::optional<std::vector<std::uint8_t>> renew_fqdn(Req q, wire::Ipv4 address) {
    q.type = MessageType::discover;
    const Decision o = send(q);
    EXPECT_EQ(o.yiaddr, address);
    const auto offered = reply_fqdn(o);
    q.type = MessageType::request;
    q.requested = o.yiaddr;
    q.server_id = kServer;
    const Decision a = send(q);
    EXPECT_EQ(a.type, MessageType::ack);
    EXPECT_EQ(reply_fqdn(a), offered);
    return offered;
  }

  // DISCOVER + REQUEST with the same options; the commit record.
  struct Dora {
    Decision offer, ack;
    LeaseChange commit;
  };
  Dora dora(Req r) {
    Dora out;
    shard_->clear_changes();
    r.type = MessageType::discover;
    out.offer = send(r);
    EXPECT_EQ(out.offer.type, MessageType::offer);
    r.type = MessageType::request;
    r.requested = out.offer.yiaddr;
    r.server_id = kServer;
    out.ack = send(r);
    EXPECT_EQ(out.ack.type, MessageType::ack);
    const auto ch = shard_->changes();
    EXPECT_FALSE(ch.empty());
    if (!ch.empty()) out.commit = ch.back();
    EXPECT_EQ(out.commit.op, LeaseOp::commit);
    return out;
  }
  static std::string name_of(const LeaseChange& c) { return std::string(c.hostname.data(), c.hostname_len); }

  std::unique_ptr<CompileResult> compiled_;
  std::unique_ptr<Shard> shard_;
  std::unique_ptr<Packet> last_;
  Seconds now_ = kStart;
  ReplyCache replies_;
};

Req fqdn_req(int flags, std::vector<std::uint8_t> name, std::uint8_t mac = 1) {
  Req r;
  r.mac = mac_of(mac);
  r.fqdn_flags = flags;
  r.fqdn_name = std::move(name);
  return r;
}

// ---- option 81 through the reply cache ------------------------------------------------

// Option 81 is per client, yet its replies are built from the cache (the
// block, 61, 81, then 82), byte for byte as build_reply writes them (render()
// compares both), also written over the request (build_over); an option 55
// that lists 81 puts it in 55's order: the generic way.
TEST_F(DdnsTest, Option81RepliesComeFromTheReplyCacheByteForByte) {
  struct Case {
    Req req;
    bool cached;
  };
  std::vector<Case> cases;
  cases.push_back({fqdn_req(kFqdnS | kFqdnE, wire_name("laptop"), 1), true});
  cases.push_back({fqdn_req(kFqdnS, ascii("pc.corp.example."), 2), true});
  cases.push_back({fqdn_req(0, wire_name("Phone.Sub"), 3), true});
  Req with_id = fqdn_req(kFqdnS | kFqdnE, wire_name("idhost"), 4);
  with_id.client_id = {1, 2, 3, 4, 5, 6, 7};
  cases.push_back({with_id, true});
  Req relayed = fqdn_req(kFqdnS | kFqdnE, wire_name("relayed"), 5);
  relayed.giaddr = ip(10, 1, 0, 1);
  relayed.rai = {1, 4, 'p', 'o', 'r', 't'};
  relayed.client_id = {9, 9};
  cases.push_back({relayed, true});
  Req listed = fqdn_req(kFqdnS | kFqdnE, wire_name("listed"), 6);
  listed.prl = {1, 81, 3};
  cases.push_back({listed, false});
  cases.push_back({fqdn_req(kFqdnN | kFqdnE, {}, 7), true});   // no name: flags and RCODEs only
  for (const Case& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.req.mac.b[5]));
    const Dora d = dora(c.req);
    for (const Decision* dec : {&d.offer, &d.ack}) {
      // Also in place over a copy of the request, as the worker builds it.
      std::vector<std::uint8_t> frame = last_->bytes;
      frame.resize(1600);
      wire::DhcpMessage m;
      const wire::Frame f = wire::parse_frame(std::span<const std::uint8_t>(frame.data(), last_->bytes.size()));
      ASSERT_EQ(m.parse(f.udp_payload(std::span<const std::uint8_t>(frame.data(), last_->bytes.size()))),
                wire::Error::ok);
      const std::uint64_t generic = replies_.stats().generic;
      const std::vector<std::uint8_t> want = render(*dec);
      EXPECT_EQ(replies_.stats().generic - generic, c.cached ? 0u : 2u);
      std::vector<std::uint8_t> scratch(1600);
      const wire::BuildResult r = replies_.build_over(shard_->config(), *dec, m, last_->rx, frame, scratch);
      ASSERT_EQ(r.error, wire::Error::ok);
      frame.resize(r.length);
      EXPECT_EQ(frame, want) << "build_over differs";
      const wire::Frame rf = wire::parse_frame(want);
      wire::DhcpMessage reply;
      ASSERT_EQ(reply.parse(rf.udp_payload(want)), wire::Error::ok);
      EXPECT_TRUE(reply.has(wire::opt::client_fqdn));
    }
  }
}

// ---- flags ---------------------------------------------------------------------------

TEST_F(DdnsTest, ClientUpdateRequestedGetsBothAndAnOption81WithS) {
  const Dora d = dora(fqdn_req(kFqdnS | kFqdnE, wire_name("Laptop")));
  EXPECT_EQ(name_of(d.commit), "laptop");
  EXPECT_EQ(d.commit.ddns, kBoth);
  std::vector<std::uint8_t> want{kFqdnS | kFqdnE, 255, 255};
  const auto n = wire_name("laptop.a.example.");
  want.insert(want.end(), n.begin(), n.end());
  EXPECT_EQ(reply_fqdn(d.ack), want);
  EXPECT_EQ(reply_fqdn(d.offer), want);   // the OFFER says the same
}

TEST_F(DdnsTest, ClientDoesItsOwnAUpdateServerDoesThePtr) {
  const Dora d = dora(fqdn_req(kFqdnE, wire_name("laptop")));
  EXPECT_EQ(d.commit.ddns, kDdnsReverse);
  EXPECT_EQ(reply_fqdn(d.ack)->at(0), kFqdnE);   // S=0, O=0, N=0
}

TEST_F(DdnsTest, OverrideClientUpdateDoesBothAndSetsO) {
  EngineConfig c = ddns_config();
  c.ddns.override_client_update = true;
  build(c);
  const Dora d = dora(fqdn_req(kFqdnE, wire_name("laptop")));
  EXPECT_EQ(d.commit.ddns, kBoth);
  EXPECT_EQ(reply_fqdn(d.ack)->at(0), kFqdnS | kFqdnO | kFqdnE);
}

TEST_F(DdnsTest, NoUpdateAskedIsRespectedUnlessOverridden) {
  Dora d = dora(fqdn_req(kFqdnN, ascii("laptop")));
  EXPECT_EQ(name_of(d.commit), "laptop");   // the name is kept, nothing is owed
  EXPECT_EQ(d.commit.ddns, 0u);
  EXPECT_EQ(reply_fqdn(d.ack)->at(0), kFqdnN);

  EngineConfig c = ddns_config();
  c.ddns.override_no_update = true;
  build(c);
  d = dora(fqdn_req(kFqdnN, ascii("laptop")));
  EXPECT_EQ(d.commit.ddns, kBoth);
  EXPECT_EQ(reply_fqdn(d.ack)->at(0), kFqdnS | kFqdnO);
}

TEST_F(DdnsTest, HostnameOptionOnlyGetsBothAndNoOption81) {
  Req r;
  r.hostname = "Desk";
  const Dora d = dora(r);
  EXPECT_EQ(name_of(d.commit), "desk");
  EXPECT_EQ(d.commit.ddns, kBoth);
  EXPECT_EQ(reply_fqdn(d.ack), std::nullopt);
  EXPECT_EQ(reply_fqdn(d.offer), std::nullopt);
}

TEST_F(DdnsTest, Option81WinsOverOption12) {
  Req r = fqdn_req(kFqdnS, ascii("from81"));
  r.hostname = "from12";
  EXPECT_EQ(name_of(dora(r).commit), "from81");
  // An empty option 81 name: option 12's.
  r = fqdn_req(kFqdnS, {}, 2);
  r.hostname = "from12";
  const Dora d = dora(r);
  EXPECT_EQ(name_of(d.commit), "from12");
  EXPECT_EQ(d.commit.ddns, kBoth);
}

TEST_F(DdnsTest, NoNameNoFlagsAndOption81SaysN) {
  Dora d = dora(Req{});
  EXPECT_EQ(d.commit.hostname_len, 0u);
  EXPECT_EQ(d.commit.ddns, 0u);
  d = dora(fqdn_req(kFqdnS, {}, 2));
  EXPECT_EQ(d.commit.ddns, 0u);
  EXPECT_EQ(reply_fqdn(d.ack), (std::vector<std::uint8_t>{kFqdnO | kFqdnN, 255, 255}));
}

// ---- replace_client_name and generated names ------------------------------------------------

TEST_F(DdnsTest, ReplaceModes) {
  struct Case {
    ReplaceClientName mode;
    bool sends;
    const char* want;   // "" = no name
  };
  const Case cases[] = {
      {ReplaceClientName::never, true, "laptop"},         {ReplaceClientName::never, false, ""},
      {ReplaceClientName::always, true, "myhost-"},       {ReplaceClientName::always, false, "myhost-"},
      {ReplaceClientName::when_present, true, "myhost-"}, {ReplaceClientName::when_present, false, ""},
      {ReplaceClientName::when_not_present, true, "laptop"},
      {ReplaceClientName::when_not_present, false, "myhost-"},
  };
  for (const Case& k : cases) {
    EngineConfig c = ddns_config();
    c.ddns.replace_client_name = k.mode;
    build(c);
    Req r;
    if (k.sends) r.hostname = "laptop";
    const Dora d = dora(r);
    const Ipv4 a = d.ack.yiaddr;
    std::string want = k.want;
    if (want == "myhost-")
      want += std::to_string(a >> 24) + "-" + std::to_string((a >> 16) & 255) + "-" +
              std::to_string((a >> 8) & 255) + "-" + std::to_string(a & 255);
    SCOPED_TRACE(static_cast<int>(k.mode) * 2 + k.sends);
    EXPECT_EQ(name_of(d.commit), want);
    EXPECT_EQ(d.commit.ddns, want.empty() ? 0u : kBoth);
  }
}

TEST(DdnsName, GeneratedNameSpellsTheAddress) {
  EngineConfig c = ddns_config();
  c.ddns.replace_client_name = ReplaceClientName::always;
  const CompileResult r = compile(c);
  ASSERT_TRUE(r.ok()) << r.error;
  const auto p = make_packet(Req{});
  EXPECT_EQ(decide_ddns_name(r.config.ddns, p->msg, ip(10, 99, 1, 5)).view(), "myhost-10-99-1-5");
  EXPECT_EQ(decide_ddns_name(r.config.ddns, p->msg, ip(255, 0, 200, 0)).view(), "myhost-255-0-200-0");
}

// ---- sanitising and long names ---------------------------------------------------------------

std::string decided(std::string hostname, int flags = -1, std::vector<std::uint8_t> fqdn = {}) {
  const CompileResult r = compile(ddns_config());
  Req q;
  q.hostname = std::move(hostname);
  q.fqdn_flags = flags;
  q.fqdn_name = std::move(fqdn);
  const auto p = make_packet(q);
  return std::string(decide_ddns_name(r.config.ddns, p->msg, ip(10, 0, 0, 9)).view());
}

TEST(DdnsName, Sanitising) {
  EXPECT_EQ(decided("My_Host!"), "my-host");
  EXPECT_EQ(decided("--a--"), "a");
  EXPECT_EQ(decided("___"), "");                 // nothing left: no name
  EXPECT_EQ(decided("a..b"), "a.b.");            // option 12 with a dot: fully qualified
  EXPECT_EQ(decided("Laptop.Bars.Example"), "laptop.bars.example.");
  EXPECT_EQ(decided("", kFqdnS, ascii("Host.-x-.")), "host.x.");
  EXPECT_EQ(decided("", kFqdnS, ascii("a b.c")), "a-b.c");   // ASCII without a dot at the end: partial
  EXPECT_EQ(decided("", kFqdnS | kFqdnE, wire_name("UP.Case.")), "up.case.");
  // A malformed wire name ends at the bad label.
  EXPECT_EQ(decided("", kFqdnS | kFqdnE, {3, 'a', 'b', 'c', 9, 'x'}), "abc");
}

// Every byte value at every position of labels of 1..40 characters (the
// SIMD sanitiser's whole blocks and its tail) against the rule written out
// a character at a time: lower case, [a-z0-9-] kept, the rest '-', no '-'
// at either end.
TEST(DdnsName, SanitisingEveryByteAtEveryPositionMatchesTheRule) {
  const auto rule = [](const std::string& in) {
    std::string out;
    for (const char ch : in) {
      char l = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
      if (!((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '-')) l = '-';
      out.push_back(l);
    }
    const auto b = out.find_first_not_of('-');
    if (b == std::string::npos) return std::string();
    return out.substr(b, out.find_last_not_of('-') - b + 1);
  };
  for (const std::size_t len : {1u, 2u, 15u, 16u, 17u, 31u, 32u, 33u, 40u})
    for (int byte = 1; byte < 256; ++byte)
      for (const std::size_t pos : {std::size_t{0}, len / 2, len - 1}) {
        if (byte == '.') continue;   // a label separator, not a character
        std::string label(len, 'k');
        label[pos] = static_cast<char>(byte);
        std::vector<std::uint8_t> wire{static_cast<std::uint8_t>(len)};
        for (const char ch : label) wire.push_back(static_cast<std::uint8_t>(ch));
        ASSERT_EQ(decided("", kFqdnS | kFqdnE, wire), rule(label)) << "byte " << byte << " at " << pos << " of " << len;
      }
}

TEST(DdnsName, LongNames) {
  EXPECT_EQ(decided(std::string(70, 'x')), std::string(63, 'x'));   // a label is cut to 63
  // A full name longer than 63 keeps its first label, as a partial name.
  const std::string first(30, 'a'), second(30, 'b');
  EXPECT_EQ(decided(first + "." + second + ".example"), first);
  EXPECT_EQ(decided(first + "." + std::string(31, 'b')), first + "." + std::string(31, 'b') + ".");   // 63 with the dot
  // A partial one longer than 63 keeps whole labels within 63.
  EXPECT_EQ(decided("", kFqdnS, ascii(first + "." + second + ".cc")), first + "." + second);
  // Every stored name fits LeaseChange::hostname.
  EXPECT_LE(decided("", kFqdnS | kFqdnE, wire_name(std::string(63, 'q') + "." + std::string(63, 'r') + ".")).size(),
            kMaxHostnameLen);
}

// decide_ddns_name's short path for wire names (ddns.cpp, short_wire_name)
// against the general one, over names that take it and names that must
// not: label counts and lengths around the 16-byte blocks and the 64-byte
// limit, upper case, every byte value at the ends and in the middle of a
// label, '-' at either end, the root label with or without bytes after
// it, malformed lengths; under every replace mode and flag combination.
TEST(DdnsName, ShortPathMatchesTheGeneralOne) {
  std::vector<std::vector<std::uint8_t>> names;
  for (const std::size_t a : {1u, 2u, 14u, 15u, 16u, 17u, 31u, 32u, 33u, 47u, 48u, 62u, 63u, 64u})
    for (const std::size_t b : {0u, 1u, 5u, 15u, 16u, 30u, 60u})
      for (const bool root : {false, true}) {
        std::string s(a, 'h');
        if (b != 0) s.append(1, '.').append(b, 'Q');   // (operator+ here: a bogus g++ -O3 -Wrestrict)
        if (root) s.push_back('.');
        names.push_back(wire_name(s));
      }
  for (int byte = 0; byte < 256; ++byte)
    for (const std::size_t pos : {0u, 7u, 13u})
      for (const bool root : {false, true}) {
        std::vector<std::uint8_t> w = wire_name(root ? "abcdefghijklmn.example." : "abcdefghijklmn");
        w[1 + pos] = static_cast<std::uint8_t>(byte);
        names.push_back(w);
      }
  names.push_back({3, 'a', 'b', 'c', 0, 5, 'x'});   // bytes after the root label
  names.push_back({3, 'a', 'b', 'c', 9, 'x'});      // a label past the end
  names.push_back({0, 0});
  names.push_back({1, '-', 0});
  names.push_back({2, 'a', '-'});
  names.push_back({2, '-', 'a', 1, 'b'});
  names.push_back({64, 'a'});
  for (const ReplaceClientName mode : {ReplaceClientName::never, ReplaceClientName::always,
                                       ReplaceClientName::when_present, ReplaceClientName::when_not_present})
    for (const int flags : {int{kFqdnE}, kFqdnE | kFqdnS, kFqdnE | kFqdnN, kFqdnE | kFqdnS | kFqdnO}) {
      EngineConfig c = ddns_config();
      c.ddns.replace_client_name = mode;
      const CompileResult r = compile(c);
      ASSERT_TRUE(r.ok()) << r.error;
      for (const auto& n : names) {
        Req q;
        q.hostname = "fallback";
        q.fqdn_flags = flags;
        q.fqdn_name = n;
        const auto p = make_packet(q);
        ASSERT_EQ(p->msg.error, wire::Error::ok);
        const DdnsName fast = decide_ddns_name(r.config.ddns, p->msg, ip(10, 0, 0, 9));
        const DdnsName slow = decide_ddns_name_general(r.config.ddns, p->msg, ip(10, 0, 0, 9));
        const std::string where = "name of " + std::to_string(n.size()) + " bytes, first " +
                                  std::to_string(n.empty() ? -1 : n[0]) + ", flags " + std::to_string(flags);
        ASSERT_EQ(fast.view(), slow.view()) << where;
        ASSERT_EQ(fast.flags, slow.flags) << where;
        ASSERT_EQ(fast.reply_fqdn, slow.reply_fqdn) << where;
        ASSERT_EQ(fast.reply_flags, slow.reply_flags) << where;
      }
    }
}

// encode_reply_fqdn_inline (engine/ddns_encode.hpp) against
// encode_reply_fqdn: names of 1..63 characters with 0..5 dots at varied
// places (empty labels too), partial and full, with suffixes of 0..70
// characters (past the 64-byte inline copy), both encodings.
TEST(DdnsEncode, InlineMatchesTheGeneralEncoder) {
  const std::string suffixes[] = {"", "bars.example", "a", std::string(40, 's') + ".example",
                                  std::string(63, 't') + "." + std::string(6, 'u'),
                                  std::string(63, 'v') + "." + std::string(63, 'w') + "." + std::string(63, 'x') + ".yy"};
  std::uint32_t seed = 12345;
  const auto next = [&seed] { return seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff; };
  for (const std::string& suffix : suffixes) {
    std::array<std::uint8_t, kMaxFqdnOption> wire{};
    const std::size_t wn = suffix_wire(suffix, wire);
    for (std::size_t len = 1; len <= kMaxHostnameLen; ++len)
      for (int round = 0; round < 8; ++round) {
        std::string name(len, 'n');
        for (int d = static_cast<int>(next() % 6); d > 0; --d) name[next() % len] = '.';
        for (const std::uint8_t flags : {std::uint8_t{kFqdnE | kFqdnS}, std::uint8_t{kFqdnS}, std::uint8_t{kFqdnE}}) {
          FqdnReply a, b;
          a.value.fill(0xee);
          b.value.fill(0xee);
          a.len = static_cast<std::uint16_t>(encode_reply_fqdn_inline(name, flags, suffix, {wire.data(), wn}, a.value));
          b.len = static_cast<std::uint16_t>(encode_reply_fqdn(name, flags, suffix, {wire.data(), wn}, b.value));
          ASSERT_EQ(a.len, b.len) << name << " / " << suffix;
          ASSERT_TRUE(std::equal(a.value.begin(), a.value.begin() + a.len, b.value.begin())) << name << " / " << suffix;
        }
      }
  }
  // And against the option written out by hand for a stored partial name.
  std::array<std::uint8_t, kMaxFqdnOption> wire{};
  const std::size_t wn = suffix_wire("bars.example", wire);
  FqdnReply r;
  r.len = static_cast<std::uint16_t>(encode_reply_fqdn_inline("pc.lab", kFqdnE | kFqdnS, "bars.example", {wire.data(), wn}, r.value));
  const std::vector<std::uint8_t> want{kFqdnE | kFqdnS, 255, 255, 2, 'p', 'c', 3, 'l', 'a', 'b', 4, 'b', 'a', 'r',
                                       's', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
  EXPECT_EQ(std::vector<std::uint8_t>(r.value.begin(), r.value.begin() + r.len), want);
}

// ---- option 81 in the reply: suffixes and encodings ------------------------------------------------

TEST_F(DdnsTest, SuffixPerSubnetElseGlobalAndAsciiEncoding) {
  // Subnet 100's own suffix, ASCII: the FQDN with its dot.
  Dora d = dora(fqdn_req(kFqdnS, ascii("laptop")));
  std::vector<std::uint8_t> want{kFqdnS, 255, 255};
  for (char ch : std::string("laptop.a.example.")) want.push_back(static_cast<std::uint8_t>(ch));
  EXPECT_EQ(reply_fqdn(d.ack), want);
  // Subnet 200 (relayed): the global suffix.
  Req r = fqdn_req(kFqdnS | kFqdnE, wire_name("laptop"), 2);
  r.giaddr = ip(10, 1, 0, 1);
  d = dora(r);
  EXPECT_EQ(d.commit.subnet_id, 200u);
  EXPECT_EQ(name_of(d.commit), "laptop");   // the suffix is the control thread's to add
  want = {kFqdnS | kFqdnE, 255, 255};
  const auto n = wire_name("laptop.bars.example.");
  want.insert(want.end(), n.begin(), n.end());
  EXPECT_EQ(reply_fqdn(d.ack), want);
  // A client's full name is not suffixed.
  d = dora(fqdn_req(kFqdnS | kFqdnE, wire_name("pc.other.example."), 3));
  EXPECT_EQ(name_of(d.commit), "pc.other.example.");
  want = {kFqdnS | kFqdnE, 255, 255};
  const auto m = wire_name("pc.other.example.");
  want.insert(want.end(), m.begin(), m.end());
  EXPECT_EQ(reply_fqdn(d.ack), want);
}

TEST_F(DdnsTest, OneLabelWithTheRootLabelIsStillPartial) {
  // ISC dhclient's `send fqdn.fqdn "c81"` arrives as 3 c81 0: a top-level
  // name is never what the client means, so it is qualified like "c81".
  build(ddns_config());
  Dora d = dora(fqdn_req(kFqdnS | kFqdnE, wire_name("c81.")));
  EXPECT_EQ(name_of(d.commit), "c81");
  std::vector<std::uint8_t> want{kFqdnS | kFqdnE, 255, 255};
  const auto n = wire_name("c81.a.example.");   // subnet 100's suffix
  want.insert(want.end(), n.begin(), n.end());
  EXPECT_EQ(reply_fqdn(d.ack), want);
}

TEST_F(DdnsTest, WithoutASuffixAPartialNameStaysPartialInTheReply) {
  EngineConfig c = ddns_config();
  c.subnets[0].qualifying_suffix.clear();
  c.ddns.qualifying_suffix.clear();
  build(c);
  Dora d = dora(fqdn_req(kFqdnS | kFqdnE, wire_name("laptop")));
  std::vector<std::uint8_t> want{kFqdnS | kFqdnE, 255, 255, 6, 'l', 'a', 'p', 't', 'o', 'p'};   // no root label
  EXPECT_EQ(reply_fqdn(d.ack), want);
  d = dora(fqdn_req(kFqdnS, ascii("laptop"), 2));
  want = {kFqdnS, 255, 255, 'l', 'a', 'p', 't', 'o', 'p'};   // no dot
  EXPECT_EQ(reply_fqdn(d.ack), want);
}

TEST(DdnsConfig, CompileRefusesBadNamesOnlyWhenEnabled) {
  EngineConfig c = ddns_config();
  c.ddns.generated_prefix = "bad_prefix";
  EXPECT_NE(compile(c).error.find("generated_prefix"), std::string::npos);
  c.ddns.generated_prefix = std::string(41, 'p');
  EXPECT_FALSE(compile(c).ok());
  c = ddns_config();
  c.subnets[1].qualifying_suffix = "a..b";
  const CompileResult r = compile(c);
  EXPECT_NE(r.error.find("qualifying_suffix"), std::string::npos);
  EXPECT_EQ(r.subnet_index, 1u);
  c.ddns.enabled = false;
  EXPECT_TRUE(compile(c).ok());
  EXPECT_FALSE(compile(c).config.ddns.enabled);
}

// ---- without [ddns]: as before ---------------------------------------------------------------

TEST_F(DdnsTest, DisabledAnswersAndJournalsExactlyAsAnEngineWithoutDdns) {
  // Without [ddns] at all, and with every [ddns] key set but not enabled:
  // the same replies, byte for byte, and the same records (option 12 raw,
  // not sanitised; no flags; option 81 ignored).
  std::vector<std::vector<std::uint8_t>> replies[2];
  std::vector<LeaseChange> records[2];
  for (int round = 0; round < 2; ++round) {
    EngineConfig c = ddns_config(false);
    if (round == 0) {
      c.ddns = DdnsPolicy{};
      for (SubnetConfig& s : c.subnets) s.qualifying_suffix.clear();
    } else {
      c.ddns.override_client_update = c.ddns.override_no_update = true;
      c.ddns.replace_client_name = ReplaceClientName::always;
    }
    build(c);
    Req r = fqdn_req(kFqdnS | kFqdnE, wire_name("laptop"));
    r.hostname = "My_Host";
    const Dora d = dora(r);
    replies[round] = {render(d.offer), render(d.ack)};
    EXPECT_EQ(reply_fqdn(d.ack), std::nullopt);
    EXPECT_EQ(name_of(d.commit), "My_Host");
    EXPECT_EQ(d.commit.ddns, 0u);
    records[round] = {d.commit};
  }
  EXPECT_EQ(replies[0], replies[1]);
  EXPECT_EQ(std::memcmp(&records[0][0], &records[1][0], sizeof(LeaseChange)), 0);
}

// ---- the flags with the lease ---------------------------------------------------------------------

TEST_F(DdnsTest, RenewalsKeepNameAndFlagsANewCommitReplacesThem) {
  const Dora d = dora(fqdn_req(kFqdnS, ascii("laptop")));
  const Ipv4 a = d.ack.yiaddr;
  // Renewing with another name: the record is a renew without a name, the
  // lease keeps its name and flags.
  Req r = fqdn_req(kFqdnN, ascii("other"));
  r.type = MessageType::request;
  r.ciaddr = a;
  shard_->clear_changes();
  const Decision renewed = send(r);
  ASSERT_EQ(renewed.type, MessageType::ack);
  ASSERT_EQ(shard_->changes().size(), 1u);
  EXPECT_EQ(shard_->changes()[0].op, LeaseOp::renew);
  EXPECT_EQ(shard_->changes()[0].hostname_len, 0u);
  EXPECT_EQ(shard_->changes()[0].ddns, 0u);
  // The ACK's option 81 names what DNS has (the kept name, S: the server
  // still updates A, O: against the client's N), not what it sent now.
  std::vector<std::uint8_t> kept{kFqdnS | kFqdnO, 255, 255};
  for (const char c : std::string_view("laptop.a.example.")) kept.push_back(static_cast<std::uint8_t>(c));
  EXPECT_EQ(reply_fqdn(renewed), kept);
  const auto key = client_key_hw(1, wire::Bytes{mac_of(1).b.data(), 6});
  const Lease* l = shard_->find_lease(key);
  ASSERT_NE(l, nullptr);
  const auto idx = static_cast<std::uint32_t>(l - &shard_->leases().at(0));
  EXPECT_EQ(shard_->leases().hostname(idx), "laptop");
  EXPECT_EQ(shard_->leases().hostname_ddns(idx), kBoth);
  // A RELEASE record carries no name and no flags (the store keeps them).
  Req rel;
  rel.type = MessageType::release;
  rel.mac = mac_of(1);
  rel.ciaddr = a;
  rel.server_id = kServer;
  shard_->clear_changes();
  send(rel);
  ASSERT_EQ(shard_->changes().size(), 1u);
  EXPECT_EQ(shard_->changes()[0].op, LeaseOp::release);
  EXPECT_EQ(shard_->changes()[0].ddns, 0u);
  // A new commit (the released address taken back) decides again: N=1.
  const Dora again = dora(fqdn_req(kFqdnN, ascii("other")));
  EXPECT_EQ(name_of(again.commit), "other");
  EXPECT_EQ(again.commit.ddns, 0u);
}

// The ACK's option 81 comes from the name the commit stored; when the
// hostname store had no room for it, from the name decided again.
TEST_F(DdnsTest, AnAckWhoseNameWasNotStoredStillCarriesIt) {
  build(ddns_config(), 1);
  const Dora first = dora(fqdn_req(kFqdnS, ascii("first"), 1));
  EXPECT_EQ(name_of(first.commit), "first");
  const std::uint64_t before = shard_->counters().event(Event::hostname_not_stored);
  const Dora second = dora(fqdn_req(kFqdnS, ascii("second"), 2));
  EXPECT_EQ(shard_->counters().event(Event::hostname_not_stored), before + 1);
  EXPECT_EQ(second.commit.hostname_len, 0u);
  std::vector<std::uint8_t> want{kFqdnS, 255, 255};
  for (const char c : std::string_view("second.a.example.")) want.push_back(static_cast<std::uint8_t>(c));
  EXPECT_EQ(reply_fqdn(second.offer), want);
  EXPECT_EQ(reply_fqdn(second.ack), want);
}

TEST_F(DdnsTest, ARenewalThatBringsTheFirstNameIsJournaledAsACommit) {
  const Dora d = dora(Req{});
  EXPECT_EQ(d.commit.hostname_len, 0u);
  Req r;
  r.type = MessageType::request;
  r.ciaddr = d.ack.yiaddr;
  r.hostname = "late";
  shard_->clear_changes();
  ASSERT_EQ(send(r).type, MessageType::ack);
  ASSERT_EQ(shard_->changes().size(), 1u);
  EXPECT_EQ(shard_->changes()[0].op, LeaseOp::commit);
  EXPECT_EQ(name_of(shard_->changes()[0]), "late");
  EXPECT_EQ(shard_->changes()[0].ddns, kBoth);
}

TEST_F(DdnsTest, RestoredLeasesKeepTheirFlags) {
  const Dora d = dora(fqdn_req(kFqdnE, wire_name("laptop")));
  ASSERT_EQ(d.commit.ddns, kDdnsReverse);
  build(ddns_config());   // a fresh shard, as after a restart
  ASSERT_EQ(shard_->restore(d.commit, now_), RestoreStatus::restored);
  const Lease* l = shard_->find_lease(client_key_hw(1, wire::Bytes{mac_of(1).b.data(), 6}));
  ASSERT_NE(l, nullptr);
  const auto idx = static_cast<std::uint32_t>(l - &shard_->leases().at(0));
  EXPECT_EQ(shard_->leases().hostname(idx), "laptop");
  EXPECT_EQ(shard_->leases().hostname_ddns(idx), kDdnsReverse);
  // HA: the partner's record applied here keeps them too.
  build(ddns_config());
  LeaseChange in = d.commit;
  in.shard = 0;
  EXPECT_EQ(shard_->replicate(in, now_), ReplicateStatus::applied);
  EXPECT_TRUE(shard_->changes().empty());   // journaled once: the partner's record (control/ha/service.hpp)
  const Lease* r = shard_->find_lease(client_key_hw(1, wire::Bytes{mac_of(1).b.data(), 6}));
  ASSERT_NE(r, nullptr);
  const auto ri = static_cast<std::uint32_t>(r - &shard_->leases().at(0));
  EXPECT_EQ(shard_->leases().hostname(ri), "laptop");
  EXPECT_EQ(shard_->leases().hostname_ddns(ri), kDdnsReverse);
}

// ---- the shard's DDNS cache (engine/ddns_cache.hpp): never a stale name -----------------

// Option 81 as the reply writes it for `fqdn` (a name ending with a dot) in
// wire format with `flags`.
std::vector<std::uint8_t> fqdn_option(std::uint8_t flags, std::string_view fqdn) {
  std::vector<std::uint8_t> out{flags, 255, 255};
  const std::vector<std::uint8_t> w = wire_name(fqdn);
  out.insert(out.end(), w.begin(), w.end());
  return out;
}

// A REQUEST whose option 81 differs from its DISCOVER's is decided anew: the
// commit and the ACK carry what the REQUEST sent, not the OFFER's decision
// (another name; the same name with other flags).
TEST_F(DdnsTest, CacheARequestWithAnotherOption81ThanItsDiscoverIsDecidedAgain) {
  struct Case {
    Req discover, request;
    std::string name;
    std::uint8_t ddns;
    std::vector<std::uint8_t> ack;
  };
  std::vector<Case> cases;
  cases.push_back({fqdn_req(kFqdnS | kFqdnE, wire_name("first"), 1), fqdn_req(kFqdnS | kFqdnE, wire_name("other"), 1),
                   "other", kBoth, fqdn_option(kFqdnS | kFqdnE, "other.a.example.")});
  cases.push_back({fqdn_req(kFqdnS | kFqdnE, wire_name("laptop"), 5), fqdn_req(kFqdnS | kFqdnE, wire_name("laptop-2"), 5),
                   "laptop-2", kBoth, fqdn_option(kFqdnS | kFqdnE, "laptop-2.a.example.")});
  cases.push_back({fqdn_req(kFqdnS | kFqdnE, wire_name("same"), 2), fqdn_req(kFqdnE, wire_name("same"), 2), "same",
                   kDdnsReverse, fqdn_option(kFqdnE, "same.a.example.")});
  cases.push_back({fqdn_req(kFqdnS | kFqdnE, wire_name("Case"), 3), fqdn_req(kFqdnS | kFqdnE, wire_name("case"), 3),
                   "case", kBoth, fqdn_option(kFqdnS | kFqdnE, "case.a.example.")});
  for (Case& c : cases) {
    SCOPED_TRACE(c.name);
    shard_->clear_changes();
    c.discover.type = MessageType::discover;
    const Decision offer = send(c.discover);
    ASSERT_EQ(offer.type, MessageType::offer);
    ASSERT_TRUE(reply_fqdn(offer).has_value());
    c.request.type = MessageType::request;
    c.request.requested = offer.yiaddr;
    c.request.server_id = kServer;
    const Decision ack = send(c.request);
    ASSERT_EQ(ack.type, MessageType::ack);
    ASSERT_FALSE(shard_->changes().empty());
    const LeaseChange commit = shard_->changes().back();
    EXPECT_EQ(name_of(commit), c.name);
    EXPECT_EQ(commit.ddns, c.ddns);
    EXPECT_EQ(reply_fqdn(ack), c.ack);
  }
  // The same option 81 twice: the OFFER's decision, the same bytes.
  const Dora d = dora(fqdn_req(kFqdnS | kFqdnE, wire_name("Twice"), 4));
  EXPECT_EQ(name_of(d.commit), "twice");
  EXPECT_EQ(reply_fqdn(d.ack), fqdn_option(kFqdnS | kFqdnE, "twice.a.example."));
}

// A config reload between the OFFER and the REQUEST: the commit decides under
// the new config (here: generated names, another suffix), and so does a
// renewal's option 81 after a reload that changed the suffix.
TEST_F(DdnsTest, CacheAReloadBetweenOfferAndRequestDecidesUnderTheNewConfig) {
  Req r = fqdn_req(kFqdnS | kFqdnE, wire_name("laptop"));
  r.type = MessageType::discover;
  const Decision offer = send(r);
  ASSERT_EQ(offer.type, MessageType::offer);
  EXPECT_EQ(reply_fqdn(offer), fqdn_option(kFqdnS | kFqdnE, "laptop.a.example."));
  EngineConfig b = ddns_config();
  b.ddns.replace_client_name = ReplaceClientName::always;
  b.subnets[0].qualifying_suffix = "b.example";
  reload(b);
  shard_->clear_changes();
  r.type = MessageType::request;
  r.requested = offer.yiaddr;
  r.server_id = kServer;
  const Decision ack = send(r);
  ASSERT_EQ(ack.type, MessageType::ack);
  ASSERT_FALSE(shard_->changes().empty());
  const std::string generated = "myhost-10-0-0-" + std::to_string(ack.yiaddr & 0xffu);
  EXPECT_EQ(name_of(shard_->changes().back()), generated);
  EXPECT_EQ(reply_fqdn(ack), fqdn_option(kFqdnS | kFqdnE, generated + ".b.example."));

  // Renewals keep the name; a reload that changes the suffix changes the
  // option 81 of the next renewal's OFFER and ACK.
  const auto renew = [&] { return renew_fqdn(fqdn_req(kFqdnS | kFqdnE, wire_name("laptop")), ack.yiaddr); };
  EXPECT_EQ(renew(), fqdn_option(kFqdnS | kFqdnE, generated + ".b.example."));
  b.subnets[0].qualifying_suffix = "c.example";
  reload(b);
  EXPECT_EQ(renew(), fqdn_option(kFqdnS | kFqdnE, generated + ".c.example."));
}

// The lease's name changed by another way than a commit here (the HA
// partner's record; restores and the lease API write it the same way): the
// next renewal's OFFER and ACK carry the new name and flags. Today renewals
// encode option 81 from the lease's name at each reply (engine/ddns_cache.hpp
// keeps decisions only); this guards any later cache of the encoding.
TEST_F(DdnsTest, CacheANameChangedByAnotherPathIsNotServedStale) {
  const Dora d = dora(fqdn_req(kFqdnS | kFqdnE, wire_name("laptop")));
  const auto renew = [&] { return renew_fqdn(fqdn_req(kFqdnS | kFqdnE, wire_name("laptop")), d.ack.yiaddr); };
  EXPECT_EQ(renew(), fqdn_option(kFqdnS | kFqdnE, "laptop.a.example."));
  now_ += 10;
  for (const std::string_view name : {"desk", "laptoq", "laptop-2"}) {
    SCOPED_TRACE(std::string(name));
    LeaseChange in = d.commit;
    in.shard = 0;
    in.start = now_;
    in.expires = now_ + 3600;
    in.hostname_len = static_cast<std::uint8_t>(name.size());
    std::memcpy(in.hostname.data(), name.data(), name.size());
    in.ddns = kBoth;
    ASSERT_EQ(shard_->replicate(in, now_), ReplicateStatus::applied);
    EXPECT_EQ(renew(), fqdn_option(kFqdnS | kFqdnE, std::string(name) + ".a.example."));
    now_ += 10;
  }
  // Only the DNS flags changed (the partner's record: PTR only): S goes.
  LeaseChange in = d.commit;
  in.shard = 0;
  in.start = now_;
  in.expires = now_ + 3600;
  const std::string_view name = "laptop-2";
  in.hostname_len = static_cast<std::uint8_t>(name.size());
  std::memcpy(in.hostname.data(), name.data(), name.size());
  in.ddns = kDdnsReverse;
  ASSERT_EQ(shard_->replicate(in, now_), ReplicateStatus::applied);
  EXPECT_EQ(renew(), fqdn_option(kFqdnO | kFqdnE, "laptop-2.a.example."));
}

TEST(DdnsLeaseTable, FlagsShareTheLengthByte) {
  LeaseTableSizes s;
  s.capacity = 4;
  s.hostname_capacity = 4;
  LeaseTable t(s);
  const ClientKey k = client_key_hw(1, wire::Bytes{mac_of(7).b.data(), 6});
  const std::uint32_t i = t.insert(k).index;
  ASSERT_TRUE(t.set_hostname(i, std::string(63, 'z'), kBoth));
  EXPECT_EQ(t.hostname(i), std::string(63, 'z'));
  EXPECT_EQ(t.hostname_ddns(i), kBoth);
  ASSERT_TRUE(t.set_hostname(i, "b", kDdnsForward));
  EXPECT_EQ(t.hostname(i), "b");
  EXPECT_EQ(t.hostname_ddns(i), kDdnsForward);
  ASSERT_TRUE(t.set_hostname(i, {}, kBoth));
  EXPECT_EQ(t.hostname_ddns(i), 0u);
  EXPECT_EQ(t.hostname(i), "");
}

}  // namespace
}  // namespace dorado::engine
