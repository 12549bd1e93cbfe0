// Test helpers for the engine unit tests (engine_test.cpp and the files
// beside it): requests built through the codec (Req, make_packet), replies
// rendered by build_reply and checked against ReplyCache
// (EngineFixture::render).
#pragma once

#include "engine/engine.hpp"
#include "engine/reply_cache.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dorado::engine::testing_fixture {

using wire::MacAddr;
using wire::MessageType;

constexpr Ipv4 ip(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

constexpr Ipv4 kServer = ip(10, 0, 0, 1);
constexpr Ipv4 kOtherServer = ip(10, 0, 0, 2);
constexpr Ipv4 kBroadcast = 0xffffffffu;
constexpr Seconds kStart = 1'700'000'000;
inline const MacAddr kServerMac{{0x02, 0xaa, 0, 0, 0, 1}};
inline const MacAddr kRelayMac{{0x02, 0xbb, 0, 0, 0, 1}};

inline MacAddr mac_of(std::uint32_t n) {
  return MacAddr{{0x02, 0x00, static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                  static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)}};
}

// ---- request construction -------------------------------------------------------

// A function, not a braced initializer: g++ 12 -O2 warns (falsely) about
// initializer_list copies in default member initializers.
inline std::vector<std::uint8_t> default_prl() { return std::vector<std::uint8_t>{1, 3, 6, 15}; }

struct Req {
  MessageType type = MessageType::discover;
  MacAddr mac = mac_of(1);
  std::vector<std::uint8_t> client_id;
  Ipv4 ciaddr = 0;
  Ipv4 giaddr = 0;
  Ipv4 requested = 0;
  Ipv4 server_id = 0;
  bool broadcast_flag = false;
  std::optional<std::uint32_t> lease_time;
  std::vector<std::uint8_t> prl = default_prl();
  std::vector<std::uint8_t> relay_info;   // option 82 value
  std::optional<Ipv4> subnet_selection;   // option 118
  std::string hostname;
  std::uint16_t max_size = 0;             // option 57; 0 = absent
  bool unicast = false;                   // IPv4 dst = server (RENEWING), else broadcast
  std::uint8_t vlan_count = 0;
  std::array<wire::VlanTag, 2> vlans{};
  Ipv4 interface = kServer;               // RxMeta subnet hint
  std::uint32_t xid = 0x5eed;
  bool rapid_commit = false;              // option 80, empty (RFC 4039)
};

struct Packet {
  std::vector<std::uint8_t> bytes;
  wire::Frame frame;
  wire::DhcpMessage msg;
  RxMeta rx;
};

// Frame, message and RX metadata of p.bytes (again, after a test changed
// them); returns the message's parse error (the frame's is p.frame.error).
inline wire::Error parse_packet(Packet& p, Ipv4 interface) {
  p.frame = wire::parse_frame(p.bytes);
  const wire::Error e = p.msg.parse(p.frame.udp_payload(p.bytes));
  p.rx = rx_meta_of(p.frame, kServerMac, interface);
  return e;
}

inline std::unique_ptr<Packet> make_packet(const Req& r) {
  auto p = std::make_unique<Packet>();
  wire::Envelope env;
  env.eth_src = r.giaddr != 0 ? kRelayMac : r.mac;
  env.eth_dst = r.unicast || r.giaddr != 0 ? kServerMac : MacAddr::broadcast();
  env.vlan_count = r.vlan_count;
  env.vlans = r.vlans;
  env.ip_src = r.giaddr != 0 ? r.giaddr : r.ciaddr;
  env.ip_dst = r.unicast || r.giaddr != 0 ? kServer : kBroadcast;
  env.src_port = r.giaddr != 0 ? wire::kPortBootps : wire::kPortBootpc;
  env.dst_port = wire::kPortBootps;

  wire::BootpFields b;
  b.op = 1;
  b.xid = r.xid;
  b.flags = r.broadcast_flag ? wire::kFlagBroadcast : 0;
  b.ciaddr = r.ciaddr;
  b.giaddr = r.giaddr;
  b.hops = r.giaddr != 0 ? 1 : 0;
  std::memcpy(b.chaddr.data(), r.mac.b.data(), 6);

  std::vector<std::array<std::uint8_t, 4>> u32s;
  u32s.reserve(8);
  std::vector<wire::OptionValue> opts;
  auto add_u32 = [&](std::uint8_t code, std::uint32_t v) {
    u32s.emplace_back();
    wire::store_be32(u32s.back().data(), v);
    opts.push_back({code, wire::Bytes{u32s.back()}, false});
  };
  if (r.requested != 0) add_u32(wire::opt::requested_ip, r.requested);
  if (r.lease_time) add_u32(wire::opt::lease_time, *r.lease_time);
  if (r.subnet_selection) add_u32(wire::opt::subnet_selection, *r.subnet_selection);
  if (!r.client_id.empty()) opts.push_back({wire::opt::client_id, wire::Bytes{r.client_id}, false});
  if (!r.hostname.empty())
    opts.push_back({wire::opt::hostname,
                    wire::Bytes{reinterpret_cast<const std::uint8_t*>(r.hostname.data()),
                                r.hostname.size()},
                    false});
  if (!r.prl.empty()) opts.push_back({wire::opt::parameter_request_list, wire::Bytes{r.prl}, false});
  if (r.rapid_commit) opts.push_back({wire::opt::rapid_commit, wire::Bytes{}, false});
  std::array<std::uint8_t, 2> max_size{};
  if (r.max_size != 0) {
    wire::store_be16(max_size.data(), r.max_size);
    opts.push_back({wire::opt::max_message_size, wire::Bytes{max_size}, false});
  }
  wire::DhcpOptionsSpec spec;
  spec.type = r.type;
  spec.server_id = r.server_id;
  spec.options = opts;
  spec.relay_agent_info = wire::Bytes{r.relay_info};

  p->bytes.resize(1600);
  const wire::BuildResult built = wire::build_dhcp_frame(p->bytes, env, b, spec);
  EXPECT_EQ(built.error, wire::Error::ok);
  p->bytes.resize(built.length);
  EXPECT_EQ(parse_packet(*p, r.interface), wire::Error::ok);
  EXPECT_EQ(p->frame.error, wire::Error::ok);
  return p;
}

// A reply rendered with build_reply and parsed back.
struct Reply {
  std::vector<std::uint8_t> bytes;
  wire::BuildResult built;
  wire::Frame frame;
  wire::DhcpMessage msg;

  std::vector<std::uint8_t> option(std::uint8_t code) const {
    auto o = msg.option(code);
    return o ? std::vector<std::uint8_t>(o->begin(), o->end()) : std::vector<std::uint8_t>{};
  }
  std::vector<std::uint8_t> codes() const {
    auto c = msg.codes();
    return {c.begin(), c.end()};
  }
};

inline std::vector<std::uint8_t> be32(std::uint32_t v) {
  std::vector<std::uint8_t> out(4);
  wire::store_be32(out.data(), v);
  return out;
}

inline ShardConfig test_sizes(std::uint32_t capacity = 256) {
  ShardConfig s;
  s.table.capacity = capacity;
  s.table.hostname_capacity = capacity;
  s.table.long_key_capacity = 8;
  s.table.wheel_bits = 10;
  s.change_log_capacity = 64;
  return s;
}

class EngineFixture : public ::testing::Test {
 protected:

  void build(const EngineConfig& cfg, const ShardConfig& sizes) {
    shard_.reset();
    compiled_ = std::make_unique<CompileResult>(compile(cfg));
    ASSERT_TRUE(compiled_->ok()) << compiled_->error;
    Shard::Created c = Shard::create(compiled_->config, sizes);
    ASSERT_TRUE(c.shard) << c.error;
    shard_ = std::move(c.shard);
    replies_.clear();
  }

  Decision send(const Req& r) {
    last_ = make_packet(r);
    const Decision d = shard_->handle(last_->msg, last_->rx, now_);
    EXPECT_EQ(shard_->audit(), "");
    return d;
  }

  // The reply to the last request, through build_reply and the parser.
  std::unique_ptr<Reply> render(const Decision& d) {
    auto r = std::make_unique<Reply>();
    r->bytes.resize(1600);
    r->built = build_reply(shard_->config(), d, last_->msg, last_->rx, r->bytes);
    EXPECT_EQ(r->built.error, wire::Error::ok);
    r->bytes.resize(r->built.length);
    // The worker's way (ReplyCache) writes the same bytes, from a new entry
    // and from the one it just filled.
    for (int pass = 0; pass < 2; ++pass) {
      std::vector<std::uint8_t> cached(1600);
      const wire::BuildResult c = replies_.build(shard_->config(), d, last_->msg, last_->rx, cached);
      EXPECT_EQ(c.error, r->built.error);
      EXPECT_EQ(c.dhcp_offset, r->built.dhcp_offset);
      cached.resize(c.length);
      EXPECT_EQ(cached, r->bytes) << "ReplyCache and build_reply differ (pass " << pass << ")";
    }
    // And the worker's way, over the request in its own buffer (an mbuf's
    // 2 KiB): the request parsed from that buffer, the reply written over
    // it. In a buffer one byte short, nothing is written.
    for (const bool room : {true, false}) {
      std::vector<std::uint8_t> frame(room ? 2048 : r->built.length - 1);
      if (frame.size() < last_->bytes.size()) continue;
      std::memcpy(frame.data(), last_->bytes.data(), last_->bytes.size());
      const std::vector<std::uint8_t> request(frame);
      const wire::Frame f = wire::parse_frame({frame.data(), last_->bytes.size()});
      auto msg = std::make_unique<wire::DhcpMessage>();
      EXPECT_EQ(msg->parse(f.udp_payload({frame.data(), last_->bytes.size()})), wire::Error::ok);
      std::vector<std::uint8_t> scratch(2048, 0xa5);   // as a worker's, holding an earlier reply
      const wire::BuildResult c = replies_.build_over(shard_->config(), d, *msg, last_->rx, frame, scratch);
      if (!room) {
        EXPECT_EQ(c.error, wire::Error::buffer_too_small);
        EXPECT_EQ(frame, request) << "a reply that does not fit wrote over its request";
        continue;
      }
      EXPECT_EQ(c.error, r->built.error);
      EXPECT_EQ(c.dhcp_offset, r->built.dhcp_offset);
      frame.resize(c.length);
      EXPECT_EQ(frame, r->bytes) << "the reply written over its request differs from build_reply's";
    }
    r->frame = wire::parse_frame(r->bytes);
    EXPECT_EQ(r->frame.error, wire::Error::ok);
    EXPECT_EQ(r->msg.parse(r->frame.udp_payload(r->bytes)), wire::Error::ok);
    return r;
  }

  Decision discover(MacAddr mac, Ipv4 requested = 0) {
    Req r;
    r.mac = mac;
    r.requested = requested;
    return send(r);
  }
  Decision select(MacAddr mac, Ipv4 addr, Ipv4 server = kServer) {
    Req r;
    r.type = MessageType::request;
    r.mac = mac;
    r.requested = addr;
    r.server_id = server;
    return send(r);
  }
  // DISCOVER + REQUEST; returns the ACKed address (0 if none).
  Ipv4 dora(MacAddr mac, Ipv4 requested = 0) {
    const Decision o = discover(mac, requested);
    if (o.verdict != Verdict::reply || o.type != MessageType::offer) return 0;
    const Decision a = select(mac, o.yiaddr);
    return a.verdict == Verdict::reply && a.type == MessageType::ack ? a.yiaddr : 0;
  }
  Decision renew(MacAddr mac, Ipv4 ciaddr, bool unicast = true) {
    Req r;
    r.type = MessageType::request;
    r.mac = mac;
    r.ciaddr = ciaddr;
    r.unicast = unicast;
    return send(r);
  }
  Decision release(MacAddr mac, Ipv4 ciaddr) {
    Req r;
    r.type = MessageType::release;
    r.mac = mac;
    r.ciaddr = ciaddr;
    r.server_id = kServer;
    r.unicast = true;
    return send(r);
  }
  Decision decline(MacAddr mac, Ipv4 addr) {
    Req r;
    r.type = MessageType::decline;
    r.mac = mac;
    r.requested = addr;
    r.server_id = kServer;
    return send(r);
  }
  void advance(Seconds s) {
    now_ += s;
    SweepResult r;
    do r = shard_->sweep(now_, 1 << 20);
    while (!r.caught_up);
    EXPECT_EQ(shard_->audit(), "");
  }
  const Lease* lease_of(MacAddr mac) const {
    return shard_->find_lease(client_key_hw(1, wire::Bytes{mac.b.data(), 6}));
  }
  std::uint64_t drops(DropReason r) const { return shard_->counters().drop(r); }
  std::uint64_t events(Event e) const { return shard_->counters().event(e); }
  std::vector<LeaseChange> take_changes() {
    auto c = shard_->changes();
    std::vector<LeaseChange> out(c.begin(), c.end());
    shard_->clear_changes();
    return out;
  }

  std::unique_ptr<CompileResult> compiled_;
  std::unique_ptr<Shard> shard_;
  std::unique_ptr<Packet> last_;
  Seconds now_ = kStart;
  ReplyCache replies_;
};

}  // namespace dorado::engine::testing_fixture
