// dorado-gen's client logic with a fake clock and a fake server built from
// dorado's wire codec: state transitions, retransmission schedule and its
// randomisation, link-local fallback, NAK, T1/T2 timing, relay mode, the
// JSON report.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "gen/generator.hpp"
#include "gen/timer_wheel.hpp"
#include "wire/build.hpp"
#include "wire/dhcp.hpp"
#include "wire/frame.hpp"

namespace {

using dorado::gen::GenConfig;
using dorado::gen::Generator;
using dorado::gen::Mode;
using dorado::gen::State;
using dorado::gen::TimerWheel;
namespace wire = dorado::wire;
using wire::Ipv4;
using wire::MessageType;

constexpr std::uint64_t kSec = 1'000'000;
constexpr Ipv4 kServer = 0x0a630001;   // 10.99.0.1
constexpr Ipv4 kGiaddr = 0x0a630002;   // 10.99.0.2
const wire::MacAddr kServerMac{{0x02, 0xaa, 0, 0, 0, 1}};
const wire::MacAddr kPortMac{{0x02, 0xbb, 0, 0, 0, 2}};

// A frame the generator sent, parsed.
struct Sent {
  std::vector<std::uint8_t> bytes;
  wire::Frame frame;
  wire::DhcpMessage msg;
  bool dhcp = false;
};

std::vector<Sent> take(Generator& g) {
  std::vector<Sent> out;
  for (std::size_t i = 0; i < g.tx().size(); ++i) {
    Sent s;
    const wire::Bytes f = g.tx().frame(i);
    s.bytes.assign(f.begin(), f.end());
    s.frame = wire::parse_frame(s.bytes);
    EXPECT_EQ(s.frame.error, wire::Error::ok);
    if (s.frame.kind == wire::FrameKind::ipv4_udp) {
      EXPECT_EQ(s.msg.parse(s.frame.udp_payload(s.bytes)), wire::Error::ok);
      s.dhcp = true;
    }
    out.push_back(std::move(s));
  }
  g.tx().pop(g.tx().size());
  return out;
}

struct Lease {
  std::uint32_t lease = 600, t1 = 0, t2 = 0;   // 0: option omitted
};

// The server's answer to `req` (a frame dorado-gen sent).
std::vector<std::uint8_t> reply(const Sent& req, MessageType type, Ipv4 yiaddr, Lease l = {}) {
  wire::Envelope env;
  env.eth_src = kServerMac;
  env.eth_dst = req.frame.eth.src;
  env.ip_src = kServer;
  const bool relayed = req.msg.giaddr != 0;
  env.ip_dst = relayed ? req.msg.giaddr : yiaddr;
  env.src_port = wire::kPortBootps;
  env.dst_port = relayed ? wire::kPortBootps : wire::kPortBootpc;
  wire::BootpFields b;
  b.op = 2;
  b.xid = req.msg.xid;
  b.yiaddr = type == MessageType::nak ? 0 : yiaddr;
  b.giaddr = req.msg.giaddr;
  std::memcpy(b.chaddr.data(), req.msg.chaddr_field.data(), 16);
  std::uint8_t lease[4], t1[4], t2[4];
  wire::store_be32(lease, l.lease);
  wire::store_be32(t1, l.t1);
  wire::store_be32(t2, l.t2);
  std::vector<wire::OptionValue> opts;
  if (type != MessageType::nak) {
    opts.push_back({wire::opt::lease_time, wire::Bytes{lease}, true});
    if (l.t1) opts.push_back({wire::opt::renewal_time, wire::Bytes{t1}, true});
    if (l.t2) opts.push_back({wire::opt::rebinding_time, wire::Bytes{t2}, true});
  }
  wire::DhcpOptionsSpec spec;
  spec.type = type;
  spec.server_id = kServer;
  spec.options = opts;
  std::vector<std::uint8_t> out(1024);
  const wire::BuildResult r = wire::build_dhcp_frame(out, env, b, spec);
  EXPECT_EQ(r.error, wire::Error::ok);
  out.resize(r.length);
  return out;
}

std::vector<std::uint8_t> arp(std::uint16_t op, const wire::MacAddr& sha, Ipv4 spa, Ipv4 tpa) {
  std::vector<std::uint8_t> f(60, 0);
  std::memcpy(f.data(), wire::MacAddr::broadcast().b.data(), 6);
  std::memcpy(f.data() + 6, sha.b.data(), 6);
  wire::store_be16(f.data() + 12, wire::kEtherTypeArp);
  std::uint8_t* a = f.data() + 14;
  wire::store_be16(a, 1);
  wire::store_be16(a + 2, wire::kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  wire::store_be16(a + 6, op);
  std::memcpy(a + 8, sha.b.data(), 6);
  wire::store_be32(a + 14, spa);
  wire::store_be32(a + 24, tpa);
  return f;
}

GenConfig one_client() {
  GenConfig c;
  c.clients = 1;
  c.duration_s = 100000;
  c.seed = 7;
  return c;
}

// Drives g from `from` to `to` in 1 ms steps, collecting what it sends with
// the time it was sent.
std::vector<std::pair<std::uint64_t, Sent>> run(Generator& g, std::uint64_t from, std::uint64_t to) {
  std::vector<std::pair<std::uint64_t, Sent>> out;
  for (std::uint64_t t = from; t <= to; t += 1000) {
    g.poll(t);
    for (auto& s : take(g)) out.emplace_back(t, std::move(s));
  }
  return out;
}

// ---- timer wheel -------------------------------------------------------------

TEST(TimerWheel, FiresAtTheDeadlineNotBefore) {
  TimerWheel w(4, 1024, 1000, 0);
  w.schedule(0, 2'500'500);
  w.schedule(1, 10);
  w.schedule(2, 3'000'000'000ull);   // beyond many revolutions
  std::vector<std::pair<std::uint32_t, std::uint64_t>> fired;
  for (std::uint64_t t = 0; t <= 3'001'000'000ull; t += 1000)
    w.advance(t, [&](std::uint32_t id) { fired.emplace_back(id, t); });
  ASSERT_EQ(fired.size(), 3u);
  EXPECT_EQ(fired[0], std::make_pair(1u, std::uint64_t{1000}));
  EXPECT_EQ(fired[1], std::make_pair(0u, std::uint64_t{2'501'000}));
  EXPECT_EQ(fired[2], std::make_pair(2u, std::uint64_t{3'000'000'000ull}));
}

TEST(TimerWheel, RescheduleCancelAndJumps) {
  TimerWheel w(3, 64, 1000, 0);
  w.schedule(0, 5000);
  w.schedule(0, 9000);   // replaces
  w.schedule(1, 5000);
  w.cancel(1);
  EXPECT_FALSE(w.armed(1));
  int n = 0;
  w.advance(8000, [&](std::uint32_t) { ++n; });
  EXPECT_EQ(n, 0);
  // A jump far past a revolution fires everything due, once.
  w.schedule(2, 50'000);
  w.advance(10'000'000, [&](std::uint32_t id) {
    ++n;
    if (id == 0) w.schedule(0, 10'000'500);   // re-armed from its own callback
  });
  EXPECT_EQ(n, 2);
  w.advance(10'001'000, [&](std::uint32_t id) { EXPECT_EQ(id, 0u); ++n; });
  EXPECT_EQ(n, 3);
}

// ---- DORA ----------------------------------------------------------------------

TEST(Generator, DoraHappyPath) {
  Generator g(one_client(), 0);
  g.poll(0);
  auto s = take(g);
  ASSERT_EQ(s.size(), 1u);
  const Sent& d = s[0];
  ASSERT_TRUE(d.dhcp);
  EXPECT_EQ(d.msg.message_type(), MessageType::discover);
  EXPECT_EQ(d.msg.op, 1);
  EXPECT_EQ(d.frame.eth.dst, wire::MacAddr::broadcast());
  EXPECT_EQ(d.frame.eth.src, g.client_mac(0));
  EXPECT_EQ(d.msg.chaddr_mac(), g.client_mac(0));
  EXPECT_EQ(d.frame.ip.src, 0u);
  EXPECT_EQ(d.frame.ip.dst, 0xffffffffu);
  EXPECT_EQ(d.frame.udp.src_port, 68);
  EXPECT_EQ(d.frame.udp.dst_port, 67);
  EXPECT_NE(d.frame.udp.checksum, 0);   // verified by parse_frame
  EXPECT_EQ(g.client(0).state, State::selecting);

  const Ipv4 yi = 0x0a630105;
  g.receive(reply(d, MessageType::offer, yi), 1500);
  const auto s2 = take(g);   // `d` refers into `s`: keep it
  ASSERT_EQ(s2.size(), 1u);
  const Sent& r = s2[0];
  EXPECT_EQ(r.msg.message_type(), MessageType::request);
  EXPECT_EQ(r.msg.xid, d.msg.xid);   // RFC 2131 4.4.1: same xid as the DISCOVER
  EXPECT_EQ(r.msg.requested_ip(), yi);
  EXPECT_EQ(r.msg.server_id(), kServer);
  EXPECT_EQ(r.msg.ciaddr, 0u);
  EXPECT_EQ(g.client(0).state, State::requesting);

  g.receive(reply(r, MessageType::ack, yi, {600, 300, 525}), 4000);
  EXPECT_EQ(g.client(0).state, State::bound);
  EXPECT_EQ(g.client(0).yiaddr, yi);
  EXPECT_EQ(g.counters().completed, 1u);
  EXPECT_EQ(g.counters().completed_dora, 1u);
  EXPECT_EQ(g.in_flight(), 0u);
  EXPECT_TRUE(g.finished(4000));
  EXPECT_EQ(g.histograms().discover_offer.max, 1500u);
  EXPECT_EQ(g.histograms().request_ack.max, 2500u);
  EXPECT_EQ(g.histograms().dora.max, 4000u);
  EXPECT_EQ(g.timer_deadline(0), 4000 + 300 * kSec);   // T1
  // A duplicate ACK is stale, not a second completion.
  g.receive(reply(r, MessageType::ack, yi), 5000);
  EXPECT_EQ(g.counters().completed, 1u);
  EXPECT_EQ(g.counters().rx_stale, 1u);
}

TEST(Generator, ClientIdOption) {
  GenConfig c = one_client();
  c.client_id = true;
  Generator g(c, 0);
  g.poll(0);
  auto s = take(g);
  ASSERT_EQ(s.size(), 1u);
  const auto cid = s[0].msg.client_id();
  ASSERT_TRUE(cid);
  ASSERT_EQ(cid->size(), 7u);
  EXPECT_EQ((*cid)[0], 1);
  EXPECT_EQ(std::memcmp(cid->data() + 1, g.client_mac(0).b.data(), 6), 0);
}

// Option 81's value as (flags, rcode1, rcode2, name in wire encoding).
std::string fqdn_name(const wire::DhcpMessage& m) {
  const auto f = m.client_fqdn();
  if (!f) return "<none>";
  std::string out;
  for (std::size_t i = 0; i < f->name.size(); i += 1 + f->name[i]) {
    if (!out.empty()) out += '.';
    out.append(reinterpret_cast<const char*>(f->name.data() + i + 1), f->name[i]);
  }
  return out;
}

TEST(Generator, HostnameAndFqdnOptionsPerClient) {
  GenConfig c = one_client();
  c.clients = 12;   // names "h-0" .. "h-11": the template holds the widest
  c.hostname_prefix = "h";
  c.fqdn_prefix = "bench-f";
  Generator g(c, 0);
  g.poll(0);
  auto d = take(g);
  ASSERT_EQ(d.size(), 12u);
  for (std::uint32_t i = 0; i < 12; ++i) {
    const wire::DhcpMessage& m = d[i].msg;
    ASSERT_EQ(m.message_type(), MessageType::discover);
    std::uint32_t idx = 12;
    for (std::uint32_t k = 0; k < 12; ++k)
      if (m.chaddr_mac() == g.client_mac(k)) idx = k;
    ASSERT_LT(idx, 12u);
    EXPECT_EQ(m.hostname(), "h-" + std::to_string(idx));
    const auto f = m.client_fqdn();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->flags, 0x05);   // S=1 (the server updates A), E=1 (wire encoding)
    EXPECT_EQ(f->rcode1, 0);
    EXPECT_EQ(f->rcode2, 0);
    EXPECT_EQ(fqdn_name(m), "bench-f-" + std::to_string(idx));
    // One label and no root label after it: a partial name, qualified by the server.
    EXPECT_EQ(std::size_t{f->name[0]} + 1, f->name.size());
    EXPECT_TRUE(m.has(wire::opt::parameter_request_list));
    // Shorter names do not change the message's length (zero padding).
    EXPECT_EQ(d[i].bytes.size(), d[0].bytes.size());
  }
  // The REQUEST carries them too, with the offered address and server id.
  const Ipv4 yi = 0x0a630105;
  g.receive(reply(d[3], MessageType::offer, yi), 1000);
  const auto r = take(g);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].msg.message_type(), MessageType::request);
  EXPECT_EQ(r[0].msg.hostname(), "h-3");
  EXPECT_EQ(fqdn_name(r[0].msg), "bench-f-3");
  EXPECT_EQ(r[0].msg.requested_ip(), yi);
  EXPECT_EQ(r[0].msg.server_id(), kServer);
  // A renewal (unicast REQUEST with ciaddr) too.
  g.receive(reply(r[0], MessageType::ack, yi, {600, 300, 525}), 2000);
  // (The other clients' DISCOVERs are retransmitted meanwhile.)
  const auto later = run(g, 300 * kSec + 2000, 300 * kSec + 2000);
  int renewals = 0;
  for (const auto& [t, f] : later) {
    if (f.msg.ciaddr != yi) continue;
    ++renewals;
    EXPECT_EQ(f.msg.hostname(), "h-3");
    EXPECT_EQ(fqdn_name(f.msg), "bench-f-3");
  }
  EXPECT_EQ(renewals, 1);
}

TEST(Generator, HostnameOnlyAndRelayOption82AfterShorterName) {
  GenConfig c = one_client();
  c.clients = 1000;   // widest "n-999", client 0 sends "n-0"
  c.window = 1;
  c.hostname_prefix = "n";
  c.giaddr = kGiaddr;
  c.server_ip = kServer;
  c.port_mac = kPortMac;
  Generator g(c, 0);
  g.poll(0);
  take(g);   // ARP for the server
  g.receive(arp(2, kServerMac, kServer, kGiaddr), 1000);
  g.poll(1000);
  const auto s = take(g);
  ASSERT_EQ(s.size(), 1u);
  const wire::DhcpMessage& m = s[0].msg;
  EXPECT_EQ(m.hostname(), "n-0");
  EXPECT_FALSE(m.client_fqdn());
  const auto rai = m.relay_agent_info();   // moved up behind the shorter name, intact
  ASSERT_TRUE(rai);
  ASSERT_TRUE(rai->circuit_id);
  EXPECT_EQ(wire::load_be32(rai->circuit_id->data()), 0u);
  ASSERT_TRUE(rai->remote_id);
  EXPECT_EQ(std::memcmp(rai->remote_id->data(), g.client_mac(0).b.data(), 6), 0);
}

TEST(Generator, RetransmissionScheduleAndLinkLocal) {
  GenConfig c;
  c.clients = 200;
  c.duration_s = 100000;
  c.window = 1000;
  Generator g(c, 0);
  const auto sent = run(g, 0, 60 * kSec);
  std::vector<std::vector<std::uint64_t>> times(c.clients);
  std::vector<std::uint64_t> first_probe(c.clients, 0);
  for (const auto& [t, s] : sent) {
    if (!s.dhcp) {   // the link-local claim's ARP (LinkLocal* tests)
      ASSERT_EQ(s.frame.kind, wire::FrameKind::arp);
      const auto& m = s.frame.arp.sha;
      auto& fp = first_probe[m.b[5] | (m.b[4] << 8)];
      if (fp == 0) fp = t;
      continue;
    }
    ASSERT_EQ(s.msg.message_type(), MessageType::discover);
    const auto mac = s.msg.chaddr_mac();
    times[mac.b[5] | (mac.b[4] << 8)].push_back(t);
  }
  std::set<std::uint64_t> first_gaps;
  for (std::uint32_t i = 0; i < c.clients; ++i) {
    ASSERT_EQ(times[i].size(), 4u) << "client " << i;   // 4 tries, then link-local
    const double lo[] = {1, 3, 5}, hi[] = {3, 5, 7};
    for (int k = 0; k < 3; ++k) {
      const double gap = static_cast<double>(times[i][k + 1] - times[i][k]) / kSec;
      EXPECT_GE(gap, lo[k] - 0.002) << "client " << i << " try " << k;
      EXPECT_LE(gap, hi[k] + 0.002) << "client " << i << " try " << k;
    }
    first_gaps.insert((times[i][1] - times[i][0]) / 1000);
    EXPECT_EQ(g.client(i).state, State::link_local);
    // The last wait is 16 s +- 1 s, then the first ARP probe within PROBE_WAIT.
    const std::uint64_t ll_at = g.client(i).bound_us - 300 * kSec;   // the next DISCOVER is due then
    EXPECT_EQ(g.timer_deadline(i), g.client(i).bound_us);
    EXPECT_GE(ll_at - times[i][3], 15 * kSec - 2000);
    EXPECT_LE(ll_at - times[i][3], 17 * kSec + 2000);
    EXPECT_GE(first_probe[i], ll_at);
    EXPECT_LE(first_probe[i], ll_at + kSec);
  }
  EXPECT_GT(first_gaps.size(), 50u);   // randomised, not one fixed delay
  EXPECT_EQ(g.counters().timeouts, c.clients);
  EXPECT_EQ(g.counters().link_local, c.clients);
  EXPECT_EQ(g.counters().retransmits, 3u * c.clients);
  EXPECT_EQ(g.counters().completed, 0u);
  EXPECT_EQ(g.in_flight(), 0u);

  // Five minutes after the fallback each client DISCOVERs again.
  const std::uint64_t again = g.timer_deadline(0);
  g.poll(again - 1000);
  for (const auto& s : take(g)) EXPECT_TRUE(!s.dhcp || s.msg.chaddr_mac() != g.client_mac(0));
  g.poll(again);
  bool client0 = false;
  for (const auto& s : take(g))
    if (s.dhcp && s.msg.chaddr_mac() == g.client_mac(0)) client0 = s.msg.message_type() == MessageType::discover;
  EXPECT_TRUE(client0);
  EXPECT_EQ(g.client(0).state, State::selecting);
}

TEST(Generator, NakReturnsToInit) {
  Generator g(one_client(), 0);
  g.poll(0);
  auto d = take(g);
  g.receive(reply(d[0], MessageType::offer, 0x0a630107), 1000);
  auto r = take(g);
  ASSERT_EQ(r.size(), 1u);
  g.receive(reply(r[0], MessageType::nak, 0), 2000);
  EXPECT_EQ(g.counters().naks, 1u);
  auto again = take(g);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].msg.message_type(), MessageType::discover);
  EXPECT_NE(again[0].msg.xid, d[0].msg.xid);   // a new exchange
  EXPECT_EQ(g.client(0).state, State::selecting);
  EXPECT_EQ(g.in_flight(), 1u);                  // the operation goes on
  // A NAK out of the blue (client selecting) is stale.
  g.receive(reply(again[0], MessageType::nak, 0), 3000);
  EXPECT_EQ(g.counters().naks, 1u);
}

TEST(Generator, RequestTimeoutRestartsDiscover) {
  Generator g(one_client(), 0);
  g.poll(0);
  auto d = take(g);
  g.receive(reply(d[0], MessageType::offer, 0x0a630107), 1000);
  const auto sent = run(g, 1000, 40 * kSec);
  int requests = 0, discovers = 0;
  for (const auto& [t, s] : sent) {
    if (s.msg.message_type() == MessageType::request) ++requests;
    if (s.msg.message_type() == MessageType::discover) ++discovers;
  }
  EXPECT_EQ(requests, 4);    // the first went out on the OFFER: 4 tries in all
  // secs counts from the first DISCOVER of the operation.
  for (const auto& [t, s] : sent)
    EXPECT_EQ(s.msg.secs, t / kSec) << "sent at " << t;
  EXPECT_GE(discovers, 1);   // then INIT again
  EXPECT_GE(g.counters().timeouts, 1u);
  EXPECT_EQ(g.counters().link_local, 0u);
}

TEST(Generator, RenewAndRebindTimingFromT1T2) {
  Generator g(one_client(), 0);
  g.poll(0);
  auto d = take(g);
  const Ipv4 yi = 0x0a630109;
  g.receive(reply(d[0], MessageType::offer, yi), 0);
  auto r = take(g);
  g.receive(reply(r[0], MessageType::ack, yi, {200, 100, 175}), 0);
  ASSERT_EQ(g.client(0).state, State::bound);

  EXPECT_TRUE(run(g, 1000, 100 * kSec - 1000).empty());
  auto t1 = run(g, 100 * kSec, 100 * kSec);
  ASSERT_EQ(t1.size(), 1u);
  const Sent& renew = t1[0].second;
  EXPECT_EQ(renew.msg.message_type(), MessageType::request);
  EXPECT_EQ(renew.msg.ciaddr, yi);
  EXPECT_FALSE(renew.msg.requested_ip());   // RFC 2131 table 5: no 50, no 54 when renewing
  EXPECT_FALSE(renew.msg.server_id());
  EXPECT_EQ(renew.frame.ip.src, yi);        // unicast to the server
  EXPECT_EQ(renew.frame.ip.dst, kServer);
  EXPECT_EQ(renew.frame.eth.dst, kServerMac);
  EXPECT_EQ(g.client(0).state, State::renewing);
  // Retransmit after max(60 s, half the time to T2) = 60 s, capped at T2.
  auto more = run(g, 100 * kSec + 1000, 175 * kSec - 1000);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].first, 160 * kSec);
  // T2: REBINDING, broadcast with ciaddr.
  auto rebind = run(g, 175 * kSec, 175 * kSec);
  ASSERT_EQ(rebind.size(), 1u);
  EXPECT_EQ(g.client(0).state, State::rebinding);
  EXPECT_EQ(rebind[0].second.frame.ip.dst, 0xffffffffu);
  EXPECT_EQ(rebind[0].second.msg.ciaddr, yi);
  // The lease runs out at 200 s: INIT, DISCOVER.
  auto expire = run(g, 175 * kSec + 1000, 200 * kSec);
  ASSERT_FALSE(expire.empty());
  EXPECT_EQ(expire.back().first, 200 * kSec);
  EXPECT_EQ(expire.back().second.msg.message_type(), MessageType::discover);
  EXPECT_EQ(g.counters().lease_expired, 1u);
  EXPECT_EQ(g.client(0).state, State::selecting);
}

TEST(Generator, DefaultT1T2FromLeaseTime) {
  Generator g(one_client(), 0);
  g.poll(0);
  auto d = take(g);
  g.receive(reply(d[0], MessageType::offer, 0x0a63010a), 0);
  auto r = take(g);
  g.receive(reply(r[0], MessageType::ack, 0x0a63010a, {800, 0, 0}), 0);
  EXPECT_EQ(g.client(0).t1_s, 400u);
  EXPECT_EQ(g.client(0).t2_s, 700u);
  EXPECT_EQ(g.timer_deadline(0), 400 * kSec);
}

TEST(Generator, RenewModeWarmsUpThenRenews) {
  GenConfig c;
  c.mode = Mode::renew;
  c.clients = 3;
  c.duration_s = 1000;
  Generator g(c, 0);
  EXPECT_FALSE(g.measuring());
  // Warm-up: DORA for everyone.
  g.poll(0);
  for (int step = 0; step < 2; ++step) {
    for (auto& s : take(g)) {
      const Ipv4 yi = 0x0a630200 + s.msg.chaddr_mac().b[5];
      g.receive(reply(s, s.msg.message_type() == MessageType::discover ? MessageType::offer : MessageType::ack, yi),
                1000);
    }
  }
  g.poll(2000);
  EXPECT_TRUE(g.measuring());
  EXPECT_EQ(g.warmup_counters().completed, 3u);
  auto renewals = take(g);
  ASSERT_EQ(renewals.size(), 3u);
  for (auto& s : renewals) {
    EXPECT_EQ(s.msg.message_type(), MessageType::request);
    EXPECT_NE(s.msg.ciaddr, 0u);
    g.receive(reply(s, MessageType::ack, s.msg.ciaddr), 2500);
  }
  EXPECT_EQ(g.counters().completed, 3u);
  EXPECT_EQ(g.counters().completed_renew, 3u);
  EXPECT_EQ(g.histograms().renew.max, 500u);
  EXPECT_TRUE(g.finished(2500));
}

TEST(Generator, RateLimitsNewClients) {
  GenConfig c;
  c.clients = 1000;
  c.rate = 100;
  c.duration_s = 1000;
  Generator g(c, 0);
  for (std::uint64_t t = 0; t <= 2 * kSec; t += 1000) {
    g.poll(t);
    take(g);
  }
  const std::uint64_t n = g.counters().offered;
  EXPECT_GE(n, 199u);
  EXPECT_LE(n, 202u);
}

TEST(Generator, StormStartsEveryClientAtOnceIgnoringTheWindow) {
  GenConfig c;
  c.mode = Mode::storm;
  c.clients = 3000;
  c.window = 10;
  c.duration_s = 1000;
  Generator g(c, 0);
  g.poll(0);
  EXPECT_EQ(take(g).size(), 3000u);
  EXPECT_EQ(g.in_flight(), 3000u);
  EXPECT_EQ(g.counters().offered, 3000u);
}

TEST(Generator, StormRebootHoldsLeasesThenInitReboots) {
  GenConfig c;
  c.mode = Mode::storm;
  c.reboot = true;
  c.clients = 2;
  c.duration_s = 1000;
  Generator g(c, 0);
  g.poll(0);
  for (int step = 0; step < 2; ++step)
    for (auto& s : take(g))
      g.receive(reply(s, s.msg.message_type() == MessageType::discover ? MessageType::offer : MessageType::ack,
                      0x0a630300 + s.msg.chaddr_mac().b[5]),
                1000);
  g.poll(2000);
  ASSERT_TRUE(g.measuring());
  auto reboots = take(g);
  ASSERT_EQ(reboots.size(), 2u);
  for (auto& s : reboots) {
    // INIT-REBOOT: broadcast REQUEST with option 50, no server id, no ciaddr.
    EXPECT_EQ(s.msg.message_type(), MessageType::request);
    EXPECT_EQ(s.msg.ciaddr, 0u);
    EXPECT_FALSE(s.msg.server_id());
    EXPECT_EQ(s.msg.requested_ip(), 0x0a630300u + s.msg.chaddr_mac().b[5]);
    EXPECT_EQ(s.frame.ip.dst, 0xffffffffu);
  }
  g.receive(reply(reboots[0], MessageType::ack, *reboots[0].msg.requested_ip()), 2100);
  g.receive(reply(reboots[1], MessageType::nak, 0), 2100);   // NAK: INIT, DISCOVER
  EXPECT_EQ(g.counters().completed_reboot, 1u);
  EXPECT_EQ(g.counters().naks, 1u);
  auto after = take(g);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].msg.message_type(), MessageType::discover);
}

TEST(Generator, MixedRenewsEarlierLeasesAndStartsNewClients) {
  GenConfig c;
  c.mode = Mode::mixed;
  c.clients = 100;
  c.renew_ratio = 0.5;
  c.window = 1;   // one operation at a time: each finds the previous one bound
  c.duration_s = 1000;
  Generator g(c, 0);
  std::uint64_t t = 0;
  for (int k = 0; k < 60; ++k) {
    g.poll(t);
    for (auto& s : take(g)) {
      const auto type = s.msg.message_type();
      const Ipv4 yi = s.msg.ciaddr != 0 ? s.msg.ciaddr : 0x0a630400 + s.msg.chaddr_mac().b[5];
      g.receive(reply(s, type == MessageType::discover ? MessageType::offer : MessageType::ack, yi), t);
      for (auto& s2 : take(g)) g.receive(reply(s2, MessageType::ack, yi), t);
    }
    t += 1000;
  }
  EXPECT_GT(g.counters().completed_dora, 10u);
  EXPECT_GT(g.counters().completed_renew, 10u);
  EXPECT_EQ(g.counters().completed, g.counters().completed_dora + g.counters().completed_renew);
  EXPECT_FALSE(g.finished(t));   // mixed runs for its duration
}

TEST(Generator, VlanTagSentAndRequired) {
  GenConfig c = one_client();
  c.vlan = 42;
  Generator g(c, 0);
  g.poll(0);
  auto s = take(g);
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0].frame.eth.vlan_count, 1);
  EXPECT_EQ(s[0].frame.eth.vlans[0].vid(), 42);
  // The reply keeps the tag (built from the request's envelope by hand here).
  auto untagged = reply(s[0], MessageType::offer, 0x0a630501);
  g.receive(untagged, 10);
  EXPECT_EQ(g.counters().rx_offer, 0u);   // no tag: not our VLAN
  std::vector<std::uint8_t> tagged(untagged.begin(), untagged.begin() + 12);
  const std::uint8_t tag[4] = {0x81, 0x00, 0x00, 42};
  tagged.insert(tagged.end(), tag, tag + 4);
  tagged.insert(tagged.end(), untagged.begin() + 12, untagged.end());
  g.receive(tagged, 20);
  EXPECT_EQ(g.counters().rx_offer, 1u);
  EXPECT_EQ(g.client(0).state, State::requesting);
}

TEST(Generator, RelayModeResolvesServerSendsOption82AnswersArp) {
  GenConfig c = one_client();
  c.giaddr = kGiaddr;
  c.server_ip = kServer;
  c.port_mac = kPortMac;
  Generator g(c, 0);
  g.poll(0);
  auto s = take(g);
  ASSERT_EQ(s.size(), 1u);   // ARP who-has server, no DHCP yet
  ASSERT_EQ(s[0].frame.kind, wire::FrameKind::arp);
  EXPECT_EQ(s[0].frame.arp.tpa, kServer);
  EXPECT_EQ(s[0].frame.arp.spa, kGiaddr);
  g.receive(arp(2, kServerMac, kServer, kGiaddr), 1000);
  g.poll(1000);
  s = take(g);
  ASSERT_EQ(s.size(), 1u);
  const Sent& d = s[0];
  ASSERT_TRUE(d.dhcp);
  EXPECT_EQ(d.frame.eth.src, kPortMac);
  EXPECT_EQ(d.frame.eth.dst, kServerMac);
  EXPECT_EQ(d.frame.ip.src, kGiaddr);
  EXPECT_EQ(d.frame.ip.dst, kServer);
  EXPECT_EQ(d.frame.udp.src_port, 67);
  EXPECT_EQ(d.frame.udp.dst_port, 67);
  EXPECT_EQ(d.msg.giaddr, kGiaddr);
  EXPECT_EQ(d.msg.hops, 1);
  const auto rai = d.msg.relay_agent_info();
  ASSERT_TRUE(rai);
  ASSERT_TRUE(rai->circuit_id);
  EXPECT_EQ(wire::load_be32(rai->circuit_id->data()), 0u);
  ASSERT_TRUE(rai->remote_id);
  EXPECT_EQ(std::memcmp(rai->remote_id->data(), g.client_mac(0).b.data(), 6), 0);

  // Replies come to giaddr:67.
  const Ipv4 yi = 0x0a63010b;
  g.receive(reply(d, MessageType::offer, yi), 2000);
  const auto s2 = take(g);   // `d` refers into `s`: keep it
  ASSERT_EQ(s2.size(), 1u);
  EXPECT_EQ(s2[0].msg.relay_agent_info().has_value(), true);
  g.receive(reply(s2[0], MessageType::ack, yi), 3000);
  EXPECT_EQ(g.counters().completed, 1u);

  // ARP for the giaddr and for the bound client's address: the port's MAC.
  const wire::MacAddr asker{{0x02, 0xcc, 0, 0, 0, 3}};
  for (Ipv4 target : {kGiaddr, yi}) {
    g.receive(arp(1, asker, kServer, target), 4000);
    const auto a = take(g);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].frame.arp.op, 2);
    EXPECT_EQ(a[0].frame.arp.spa, target);
    EXPECT_EQ(a[0].frame.arp.sha, kPortMac);
    EXPECT_EQ(a[0].frame.eth.dst, asker);
  }
  g.receive(arp(1, asker, kServer, 0x0a6301ff), 4000);   // nobody's address
  EXPECT_TRUE(take(g).empty());

  // At T1 (300 s of 600) the renewal goes unicast from the client's address,
  // not relayed; the server answers that address on port 68.
  const auto t1 = run(g, 300 * kSec + 3000, 300 * kSec + 3000);
  ASSERT_EQ(t1.size(), 1u);
  const Sent& renew = t1[0].second;
  EXPECT_EQ(renew.frame.eth.src, kPortMac);
  EXPECT_EQ(renew.frame.ip.src, yi);
  EXPECT_EQ(renew.frame.udp.src_port, 68);
  EXPECT_EQ(renew.msg.giaddr, 0u);
  EXPECT_FALSE(renew.msg.relay_agent_info());
  g.receive(reply(renew, MessageType::ack, yi), 300 * kSec + 4000);
  EXPECT_EQ(g.counters().completed_renew, 1u);
}

TEST(Generator, DirectModeAnswersArpForBoundAddressWithClientMac) {
  Generator g(one_client(), 0);
  g.poll(0);
  auto d = take(g);
  const Ipv4 yi = 0x0a63010c;
  g.receive(reply(d[0], MessageType::offer, yi), 0);
  auto r = take(g);
  g.receive(reply(r[0], MessageType::ack, yi), 0);
  g.receive(arp(1, kServerMac, kServer, yi), 10);
  auto s = take(g);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].frame.arp.sha, g.client_mac(0));
}

TEST(Generator, DeclineAndRelease) {
  GenConfig c = one_client();
  c.decline_ratio = 1;
  Generator g(c, 0);
  g.poll(0);
  auto d = take(g);
  const Ipv4 yi = 0x0a63010d;
  g.receive(reply(d[0], MessageType::offer, yi), 0);
  auto r = take(g);
  g.receive(reply(r[0], MessageType::ack, yi), 0);
  auto dec = take(g);
  ASSERT_EQ(dec.size(), 1u);
  EXPECT_EQ(dec[0].msg.message_type(), MessageType::decline);
  EXPECT_EQ(dec[0].msg.requested_ip(), yi);
  EXPECT_EQ(dec[0].msg.server_id(), kServer);
  EXPECT_EQ(g.counters().declines, 1u);
  EXPECT_EQ(g.client(0).state, State::done);

  GenConfig c2 = one_client();
  c2.release = true;
  Generator g2(c2, 0);
  g2.poll(0);
  d = take(g2);
  g2.receive(reply(d[0], MessageType::offer, yi), 0);
  r = take(g2);
  g2.receive(reply(r[0], MessageType::ack, yi), 0);
  auto rel = take(g2);
  ASSERT_EQ(rel.size(), 1u);
  EXPECT_EQ(rel[0].msg.message_type(), MessageType::release);
  EXPECT_EQ(rel[0].msg.ciaddr, yi);
  EXPECT_EQ(rel[0].frame.ip.dst, kServer);
  EXPECT_EQ(g2.counters().releases, 1u);
}

TEST(Generator, UnparsableAndForeignRepliesAreCounted) {
  Generator g(one_client(), 0);
  g.poll(0);
  auto d = take(g);
  auto bad = reply(d[0], MessageType::offer, 0x0a63010e);
  // Break the magic cookie: the UDP checksum then fails first; zero it so
  // that the DHCP parser is the one refusing.
  const wire::Frame f = wire::parse_frame(bad);
  bad[f.udp.payload_offset + 236] ^= 0xff;
  bad[f.udp.payload_offset - 2] = bad[f.udp.payload_offset - 1] = 0;
  g.receive(bad, 10);
  EXPECT_EQ(g.counters().rx_unparsable, 1u);
  std::vector<std::uint8_t> truncated(bad.begin(), bad.begin() + 30);   // IPv4 header cut short
  g.receive(truncated, 10);
  EXPECT_EQ(g.counters().rx_unparsable, 2u);
  auto foreign = reply(d[0], MessageType::offer, 0x0a63010e);
  const wire::Frame ff = wire::parse_frame(foreign);
  foreign[ff.udp.payload_offset + 28] ^= 0x40;   // another chaddr
  foreign[ff.udp.payload_offset - 2] = foreign[ff.udp.payload_offset - 1] = 0;
  g.receive(foreign, 10);
  EXPECT_EQ(g.counters().rx_foreign, 1u);
  EXPECT_EQ(g.client(0).state, State::selecting);
}

TEST(Generator, JsonReportFields) {
  Generator g(one_client(), 0);
  g.poll(0);
  auto d = take(g);
  g.receive(reply(d[0], MessageType::offer, 0x0a63010f), 100);
  auto r = take(g);
  g.receive(reply(r[0], MessageType::ack, 0x0a63010f), 2 * kSec);
  const auto j = nlohmann::json::parse(g.json_report(2 * kSec));
  EXPECT_EQ(j["completed"], 1);
  EXPECT_EQ(j["offered"], 1);
  EXPECT_EQ(j["naks"], 0);
  EXPECT_EQ(j["timeouts"], 0);
  EXPECT_DOUBLE_EQ(j["dora_per_sec"].get<double>(), 0.5);
  for (const char* k : {"p50", "p90", "p99", "p999", "max"}) EXPECT_TRUE(j["latency_us"].contains(k)) << k;
  // Bucket floors: within 1/16 below the true value.
  EXPECT_LE(j["latency_us"]["max"].get<std::uint64_t>(), 2 * kSec);
  EXPECT_GE(j["latency_us"]["p50"].get<std::uint64_t>(), 2 * kSec * 15 / 16);
  for (const char* k : {"discover_offer_us", "request_ack_us", "dora_us", "link_local_fallbacks",
                        "retransmits", "drops", "mode", "tx", "rx"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["mode"], "dora");
}

TEST(Generator, ValidateRejectsBadConfigs) {
  GenConfig c;
  EXPECT_EQ(dorado::gen::validate(c), "");
  c.giaddr = kGiaddr;
  EXPECT_NE(dorado::gen::validate(c), "");   // relay needs the server address
  c = GenConfig{};
  c.clients = 0;
  EXPECT_NE(dorado::gen::validate(c), "");
  c = GenConfig{};
  c.decline_ratio = 2;
  EXPECT_NE(dorado::gen::validate(c), "");
  c = GenConfig{};
  c.reboot = true;
  EXPECT_NE(dorado::gen::validate(c), "");
  c = GenConfig{};
  c.hostname_prefix = "host";
  c.fqdn_prefix = std::string(54, 'a');
  EXPECT_EQ(dorado::gen::validate(c), "");
  c.fqdn_prefix = std::string(55, 'a');   // "PREFIX-99999999" would not fit a label
  EXPECT_NE(dorado::gen::validate(c), "");
  c = GenConfig{};
  c.hostname_prefix = "a.b";
  EXPECT_NE(dorado::gen::validate(c), "");
}

// ---- link-local fallback (RFC 3927) ------------------------------------------

// Client index of a frame one of the generator's clients sent (MAC low bytes).
std::uint32_t sender(const Sent& s) {
  const auto& m = s.frame.eth.src;
  return static_cast<std::uint32_t>(m.b[5] | (m.b[4] << 8) | (m.b[3] << 16));
}

std::uint64_t mac48(const wire::MacAddr& m) {
  std::uint64_t v = 0;
  for (auto b : m.b) v = (v << 8) | b;
  return v;
}

bool link_local_range(Ipv4 a) { return a >= 0xa9fe0100u && a <= 0xa9fefeffu; }

TEST(LinkLocal, AddressFromTheMacInRange) {
  std::set<Ipv4> seen;
  for (std::uint64_t mac = 0x020000000000ull; mac < 0x020000000000ull + 20000; ++mac) {
    const Ipv4 a = dorado::gen::link_local_address(mac, 0);
    ASSERT_TRUE(link_local_range(a)) << std::hex << a;
    EXPECT_EQ(a, dorado::gen::link_local_address(mac, 0));   // the same pick each time
    seen.insert(a);
    for (std::uint64_t k = 1; k < 4; ++k) ASSERT_TRUE(link_local_range(dorado::gen::link_local_address(mac, k)));
  }
  // Spread over the range: 20000 picks of 65024 addresses, ~2700 repeats.
  EXPECT_GT(seen.size(), 16500u);
  // Both ends reachable in principle: the range is 254 * 256 addresses.
  EXPECT_EQ(dorado::gen::kLinkLocalLast - dorado::gen::kLinkLocalFirst + 1, 254u * 256u);
}

// One client, no server: 4 DISCOVERs, then the claim: PROBE_WAIT, 3 probes
// 1-2 s apart (sender IP 0), ANNOUNCE_WAIT, 2 announcements 2 s apart, and
// a DISCOVER every 300 s, start to start, with the address kept.
TEST(LinkLocal, ProbeAnnounceScheduleThenDhcpEveryInterval) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    GenConfig c = one_client();
    c.seed = seed;
    Generator g(c, 0);
    const auto sent = run(g, 0, 60 * kSec);
    std::vector<std::uint64_t> discovers, probes, announces;
    Ipv4 addr = 0;
    for (const auto& [t, s] : sent) {
      if (s.dhcp) {
        EXPECT_EQ(s.msg.message_type(), MessageType::discover);
        discovers.push_back(t);
        continue;
      }
      ASSERT_EQ(s.frame.kind, wire::FrameKind::arp);
      const wire::ArpInfo& a = s.frame.arp;
      EXPECT_EQ(a.op, 1);
      EXPECT_EQ(a.sha, g.client_mac(0));
      EXPECT_EQ(s.frame.eth.src, g.client_mac(0));
      EXPECT_EQ(s.frame.eth.dst, wire::MacAddr::broadcast());
      EXPECT_EQ(a.tha, wire::MacAddr{});
      if (addr == 0) addr = a.tpa;
      EXPECT_EQ(a.tpa, addr);
      if (a.spa == 0) {
        EXPECT_TRUE(announces.empty()) << "probe after an announcement";
        probes.push_back(t);
      } else {
        EXPECT_EQ(a.spa, addr);
        announces.push_back(t);
      }
    }
    ASSERT_EQ(discovers.size(), 4u);
    ASSERT_EQ(probes.size(), 3u);
    ASSERT_EQ(announces.size(), 2u);
    EXPECT_EQ(addr, dorado::gen::link_local_address(mac48(g.client_mac(0)), 0));
    EXPECT_TRUE(link_local_range(addr));
    const std::uint64_t fallback = g.client(0).bound_us - 300 * kSec;
    EXPECT_GE(fallback - discovers[3], 15 * kSec - 2000);   // the 4th DISCOVER's 16 s +- 1 s
    EXPECT_LE(fallback - discovers[3], 17 * kSec + 2000);
    EXPECT_LE(probes[0] - fallback, kSec + 1000);             // PROBE_WAIT
    for (int k = 1; k < 3; ++k) {
      EXPECT_GE(probes[k] - probes[k - 1], kSec) << k;      // PROBE_MIN..PROBE_MAX
      EXPECT_LE(probes[k] - probes[k - 1], 2 * kSec + 1000) << k;
    }
    EXPECT_GE(announces[0] - probes[2], 2 * kSec);          // ANNOUNCE_WAIT
    EXPECT_LE(announces[0] - probes[2], 2 * kSec + 1000);
    EXPECT_GE(announces[1] - announces[0], 2 * kSec);       // ANNOUNCE_INTERVAL
    EXPECT_LE(announces[1] - announces[0], 2 * kSec + 1000);
    EXPECT_EQ(g.client(0).state, State::link_local);
    EXPECT_EQ(g.client(0).ll_addr, addr);
    EXPECT_EQ(g.ll_held(), 1u);
    EXPECT_EQ(g.counters().tx_arp_probe, 3u);
    EXPECT_EQ(g.counters().tx_arp_announce, 2u);
    EXPECT_EQ(g.counters().ll_claimed, 1u);
    EXPECT_EQ(g.counters().link_local, 1u);
    EXPECT_FALSE(g.finished(60 * kSec));   // it goes on trying DHCP

    // DISCOVERs again at fallback + 300 s, + 600 s, ..., keeping its address
    // (no new probe); each try uses up its 4 DISCOVERs.
    const auto later = run(g, 60 * kSec + 1000, fallback + 900 * kSec + 40 * kSec);
    std::vector<std::uint64_t> starts;
    std::uint32_t xid = 0;
    int discovers_later = 0;
    for (const auto& [t, s] : later) {
      ASSERT_TRUE(s.dhcp) << "ARP at " << t;
      ASSERT_EQ(s.msg.message_type(), MessageType::discover);
      ++discovers_later;
      if (s.msg.xid != xid) starts.push_back(t);
      xid = s.msg.xid;
      EXPECT_EQ(g.ll_held(), 1u);
    }
    ASSERT_EQ(starts.size(), 3u);
    for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(starts[k], fallback + 300 * kSec * (k + 1)) << k;
    EXPECT_EQ(discovers_later, 4 * 3);
    EXPECT_EQ(g.counters().ll_dhcp_retries, 3u);
    EXPECT_EQ(g.counters().link_local, 1u);   // one fallback, the address kept
    EXPECT_EQ(g.client(0).ll_addr, addr);
  }
}

// Scaled timers (tests): the RFC 3927 waits times link_local_scale, the
// DHCP retry after link_local_retry_s.
TEST(LinkLocal, ScaledTimers) {
  GenConfig c = one_client();
  c.retransmit_s = {0.1, 0.1, 0.1, 0.1};
  c.jitter_s = 0;
  c.link_local_scale = 0.01;
  c.link_local_retry_s = 0.5;
  Generator g(c, 0);
  const auto sent = run(g, 0, 1500 * 1000);
  std::vector<std::uint64_t> arps, discovers;
  for (const auto& [t, s] : sent) (s.dhcp ? discovers : arps).push_back(t);
  ASSERT_GE(discovers.size(), 5u);
  ASSERT_EQ(arps.size(), 5u);
  EXPECT_EQ(discovers[3], 300'000u);
  const std::uint64_t fallback = 400'000;
  EXPECT_LE(arps[0] - fallback, 10'000u);
  EXPECT_LE(arps[4] - fallback, 10'000u + 2 * 20'000 + 20'000 + 20'000);
  EXPECT_EQ(discovers[4], fallback + 500'000);
  EXPECT_EQ(g.counters().ll_dhcp_retries, 2u);   // at 0.9 s and 1.4 s
}

// Conflicts: an ARP from another MAC with the probed address as sender, or
// a probe for it, means another pick and probing anew; the held address
// answers ARP and probes; an announcement of it from another MAC means
// another pick too (RFC 3927 2.5 (a)).
TEST(LinkLocal, ConflictsPickAgain) {
  GenConfig c = one_client();
  c.retransmit_s = {1, 1, 1, 1};
  c.jitter_s = 0;
  Generator g(c, 0);
  run(g, 0, 4 * kSec);   // 4 DISCOVERs, the fallback at 4 s
  ASSERT_EQ(g.client(0).state, State::ll_probing);
  const Ipv4 first = g.client(0).ll_addr;
  ASSERT_TRUE(link_local_range(first));
  const wire::MacAddr other{{0x02, 0xcc, 0, 0, 0, 9}};
  // Another host's reply from that address: conflict.
  g.receive(arp(2, other, first, 0xa9fe0909u), 4 * kSec + 100);
  EXPECT_EQ(g.counters().ll_conflicts, 1u);
  const Ipv4 second = g.client(0).ll_addr;
  EXPECT_NE(second, first);
  EXPECT_TRUE(link_local_range(second));
  EXPECT_EQ(g.client(0).state, State::ll_probing);
  EXPECT_EQ(g.client(0).tries, 0);
  EXPECT_LE(g.timer_deadline(0), 4 * kSec + 100 + kSec);   // PROBE_WAIT again
  // Our own probe echoed back, and someone asking for it: no conflict.
  g.receive(arp(1, g.client_mac(0), 0, second), 4 * kSec + 200);
  g.receive(arp(1, other, 0xa9fe0909u, second), 4 * kSec + 200);
  EXPECT_EQ(g.counters().ll_conflicts, 1u);
  EXPECT_TRUE(take(g).empty());   // not answered: not ours yet
  // Another host probing for the same address: conflict.
  run(g, 4 * kSec + 1000, 6 * kSec);
  g.receive(arp(1, other, 0, second), 6 * kSec + 100);
  EXPECT_EQ(g.counters().ll_conflicts, 2u);
  const Ipv4 third = g.client(0).ll_addr;
  EXPECT_NE(third, second);
  // Probed without conflict, announced: ARP requests and probes for it are
  // answered with the client's MAC.
  run(g, 6 * kSec + 1000, 20 * kSec);
  ASSERT_EQ(g.client(0).state, State::link_local);
  EXPECT_EQ(g.client(0).ll_conflicts, 0);   // reset by the claim
  g.receive(arp(1, other, 0xa9fe0909u, third), 20 * kSec);
  g.receive(arp(1, other, 0, third), 20 * kSec);
  auto answers = take(g);
  ASSERT_EQ(answers.size(), 2u);
  for (const auto& a : answers) {
    EXPECT_EQ(a.frame.arp.op, 2);
    EXPECT_EQ(a.frame.arp.sha, g.client_mac(0));
    EXPECT_EQ(a.frame.arp.spa, third);
    EXPECT_EQ(a.frame.eth.dst, other);
  }
  EXPECT_EQ(g.client(0).ll_addr, third);
  // Another host announces it: the client gives it up and claims another.
  g.receive(arp(1, other, third, third), 20 * kSec + 10);
  EXPECT_EQ(g.counters().ll_conflicts, 3u);
  EXPECT_EQ(g.client(0).state, State::ll_probing);
  EXPECT_NE(g.client(0).ll_addr, third);
  EXPECT_EQ(g.ll_held(), 0u);
  EXPECT_EQ(g.state_count(State::ll_probing), 1u);
  EXPECT_EQ(g.state_count(State::link_local), 0u);
}

// MAX_CONFLICTS conflicts in a row: the next pick waits RATE_LIMIT_INTERVAL.
TEST(LinkLocal, RateLimitAfterMaxConflicts) {
  GenConfig c = one_client();
  c.retransmit_s = {1, 1, 1, 1};
  c.jitter_s = 0;
  Generator g(c, 0);
  run(g, 0, 4 * kSec);
  const wire::MacAddr other{{0x02, 0xcc, 0, 0, 0, 9}};
  std::set<Ipv4> picks{g.client(0).ll_addr};
  for (int k = 1; k <= 10; ++k) {
    g.receive(arp(1, other, 0, g.client(0).ll_addr), 4 * kSec + 10);
    picks.insert(g.client(0).ll_addr);
    const std::uint64_t wait = g.timer_deadline(0) - (4 * kSec + 10);
    if (k < 10) EXPECT_LE(wait, kSec + 1000) << k;
    else EXPECT_EQ(wait, 60 * kSec) << k;
  }
  EXPECT_EQ(picks.size(), 11u);
  for (const Ipv4 a : picks) EXPECT_TRUE(link_local_range(a));
}

// Many clients on one link, no server: their first picks collide (2000 of
// 65024 addresses: ~30 pairs); they see each other's probes, and in the
// end each holds its own address; most kept the one from their MAC.
TEST(LinkLocal, ClientsOnOneLinkEndWithDistinctAddresses) {
  for (const bool relay : {false, true}) {
    GenConfig c;
    c.clients = 2000;
    c.window = 2000;
    c.duration_s = 100000;
    c.retransmit_s = {1, 1, 1, 1};
    c.jitter_s = 0;
    if (relay) {
      c.giaddr = kGiaddr;
      c.server_ip = kServer;
    }
    Generator g(c, 0);
    if (relay) {
      g.poll(0);
      take(g);
      g.receive(arp(2, kServerMac, kServer, kGiaddr), 0);
    }
    std::map<std::uint32_t, std::set<Ipv4>> probed;
    std::size_t arp_frames = 0;
    for (std::uint64_t t = 0; t <= 40 * kSec; t += 1000) {
      g.poll(t);
      for (const auto& s : take(g)) {
        if (s.dhcp) continue;
        ++arp_frames;
        if (s.frame.arp.spa == 0) probed[sender(s)].insert(s.frame.arp.tpa);
      }
    }
    EXPECT_EQ(g.state_count(State::link_local), c.clients) << relay;
    EXPECT_EQ(g.ll_held(), c.clients);
    EXPECT_GT(g.counters().ll_conflicts, 5u) << relay;
    EXPECT_EQ(g.counters().ll_claimed, c.clients);
    std::set<Ipv4> held;
    std::uint32_t from_mac = 0;
    for (std::uint32_t i = 0; i < c.clients; ++i) {
      const Ipv4 a = g.client(i).ll_addr;
      EXPECT_TRUE(link_local_range(a));
      EXPECT_TRUE(held.insert(a).second) << "client " << i << " shares " << std::hex << a;
      if (a == dorado::gen::link_local_address(c.first_mac + i, 0)) ++from_mac;
    }
    EXPECT_GE(from_mac, c.clients - 2 * g.counters().ll_conflicts);
    if (relay) {
      EXPECT_EQ(arp_frames, 0u);   // the clients' link is not the port's
    } else {
      EXPECT_GE(probed.size(), c.clients);
      EXPECT_GE(g.counters().tx_arp_probe, 3u * c.clients);
      EXPECT_EQ(g.counters().tx_arp_announce, 2u * c.clients);   // one claim each: a conflict comes in probing
      EXPECT_EQ(arp_frames, g.counters().tx_arp_probe + g.counters().tx_arp_announce);
    }
    const auto j = nlohmann::json::parse(g.json_report(40 * kSec));
    EXPECT_EQ(j["states"]["LINK-LOCAL"], c.clients);
    EXPECT_EQ(j["states"]["BOUND"], 0);
    EXPECT_EQ(j["link_local"]["held"], c.clients);
    EXPECT_EQ(j["link_local"]["conflicts"], g.counters().ll_conflicts);
    EXPECT_EQ(j["link_local_fallbacks"], c.clients);
  }
}

// A lease from a DHCP try in LINK-LOCAL: the address is given up (no longer
// answered for), the client is BOUND, the counts follow.
TEST(LinkLocal, LeaseGivesTheAddressUp) {
  GenConfig c = one_client();
  c.retransmit_s = {1, 1, 1, 1};
  c.jitter_s = 0;
  c.link_local_retry_s = 30;
  Generator g(c, 0);
  run(g, 0, 20 * kSec);
  ASSERT_EQ(g.client(0).state, State::link_local);
  const Ipv4 ll = g.client(0).ll_addr;
  EXPECT_EQ(g.state_count(State::link_local), 1u);
  EXPECT_EQ(g.timer_deadline(0), 34 * kSec);   // fallback at 4 s + 30 s
  g.poll(34 * kSec);
  auto d = take(g);
  ASSERT_EQ(d.size(), 1u);
  ASSERT_EQ(d[0].msg.message_type(), MessageType::discover);
  EXPECT_EQ(g.client(0).state, State::selecting);
  EXPECT_EQ(g.ll_held(), 1u);   // kept during the try
  EXPECT_EQ(g.in_flight(), 1u);
  // Still answers ARP for it meanwhile.
  const wire::MacAddr other{{0x02, 0xcc, 0, 0, 0, 9}};
  g.receive(arp(1, other, 0xa9fe0909u, ll), 34 * kSec + 10);
  EXPECT_EQ(take(g).size(), 1u);
  const Ipv4 yi = 0x0a630110;
  g.receive(reply(d[0], MessageType::offer, yi), 34 * kSec + 100);
  auto r = take(g);
  ASSERT_EQ(r.size(), 1u);
  g.receive(reply(r[0], MessageType::ack, yi), 34 * kSec + 200);
  EXPECT_EQ(g.client(0).state, State::bound);
  EXPECT_EQ(g.client(0).ll_addr, 0u);
  EXPECT_EQ(g.ll_held(), 0u);
  EXPECT_EQ(g.counters().ll_released, 1u);
  EXPECT_EQ(g.state_count(State::bound), 1u);
  EXPECT_EQ(g.state_count(State::link_local), 0u);
  EXPECT_EQ(g.state_count(State::selecting), 0u);
  EXPECT_TRUE(g.finished(34 * kSec + 200));
  g.receive(arp(1, other, 0xa9fe0909u, ll), 34 * kSec + 300);
  EXPECT_TRUE(take(g).empty());   // no longer ours
  g.receive(arp(1, other, 0xa9fe0909u, yi), 34 * kSec + 300);
  EXPECT_EQ(take(g).size(), 1u);  // the lease is
  const auto j = nlohmann::json::parse(g.json_report(34 * kSec + 300));
  EXPECT_EQ(j["states"]["BOUND"], 1);
  EXPECT_EQ(j["link_local"]["released"], 1);
  EXPECT_EQ(j["link_local"]["dhcp_retries"], 1);
  EXPECT_EQ(j["tx"]["arp_probe"], 3);
  EXPECT_EQ(j["tx"]["arp_announce"], 2);
}

// A conflict during a DHCP try from LINK-LOCAL drops the address; the try
// ending without a lease means a new claim.
TEST(LinkLocal, ConflictDuringDhcpTryClaimsAnewAfterIt) {
  GenConfig c = one_client();
  c.retransmit_s = {1, 1, 1, 1};
  c.jitter_s = 0;
  c.link_local_retry_s = 30;
  Generator g(c, 0);
  run(g, 0, 34 * kSec);
  ASSERT_EQ(g.client(0).state, State::selecting);
  const Ipv4 ll = g.client(0).ll_addr;
  const wire::MacAddr other{{0x02, 0xcc, 0, 0, 0, 9}};
  g.receive(arp(1, other, ll, ll), 34 * kSec + 10);
  EXPECT_EQ(g.client(0).ll_addr, 0u);
  EXPECT_EQ(g.ll_held(), 0u);
  EXPECT_EQ(g.client(0).state, State::selecting);
  run(g, 34 * kSec + 1000, 39 * kSec);
  EXPECT_EQ(g.client(0).state, State::ll_probing);
  EXPECT_NE(g.client(0).ll_addr, 0u);
  EXPECT_NE(g.client(0).ll_addr, ll);
  EXPECT_EQ(g.counters().link_local, 2u);
}

TEST(LinkLocal, ValidateTimers) {
  GenConfig c;
  c.link_local_retry_s = 0;
  EXPECT_NE(dorado::gen::validate(c), "");
  c = GenConfig{};
  c.link_local_scale = 0;
  EXPECT_NE(dorado::gen::validate(c), "");
  c.link_local_scale = 0.001;
  EXPECT_EQ(dorado::gen::validate(c), "");
}

}  // namespace
