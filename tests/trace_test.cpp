// The targeted trace's engine side (engine/trace.hpp): subnet selection and
// the reason it gives, the filter (hw-address, client-id, circuit-id,
// subnet-id), what a record holds for an OFFER, an ACK, a NAK (and why), a
// drop and silence, and the per-worker ring (limit, visibility only after
// publish, sessions). Requests go through the codec (build_dhcp_frame, then
// parse) and a real shard, as in engine_test.
#include "engine/trace.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

// Requests are written as designated initializers ({.giaddr = ...}): every
// member not named keeps its default, which g++ 12 warns about (g++ 13 no
// longer does).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace dorado::engine {
namespace {

using wire::MacAddr;
using wire::MessageType;

constexpr Ipv4 ip(unsigned a, unsigned b, unsigned c, unsigned d) { return (a << 24) | (b << 16) | (c << 8) | d; }

constexpr Ipv4 kServer = ip(10, 0, 0, 1);
constexpr Seconds kNow = 1'700'000'000;
const MacAddr kServerMac{{0x02, 0xaa, 0, 0, 0, 1}};
const MacAddr kClient{{0x02, 0, 0, 0, 0, 0x42}};

struct Req {
  MessageType type = MessageType::discover;
  MacAddr mac = kClient;
  std::vector<std::uint8_t> client_id;
  std::vector<std::uint8_t> relay_info;   // option 82 value
  std::optional<Ipv4> subnet_selection;   // option 118
  Ipv4 giaddr = 0;
  Ipv4 ciaddr = 0;
  Ipv4 requested = 0;
  Ipv4 server_id = 0;
  Ipv4 interface = kServer;
  std::uint32_t xid = 0x1234abcd;
};

struct Packet {
  std::vector<std::uint8_t> bytes;
  wire::DhcpMessage msg;
  RxMeta rx;
};

std::unique_ptr<Packet> packet(const Req& r) {
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
  b.xid = r.xid;
  b.ciaddr = r.ciaddr;
  b.giaddr = r.giaddr;
  std::memcpy(b.chaddr.data(), r.mac.b.data(), 6);
  std::vector<std::array<std::uint8_t, 4>> u32s;
  u32s.reserve(4);
  std::vector<wire::OptionValue> opts;
  const auto add_u32 = [&](std::uint8_t code, std::uint32_t v) {
    u32s.emplace_back();
    wire::store_be32(u32s.back().data(), v);
    opts.push_back({code, wire::Bytes{u32s.back()}, false});
  };
  if (r.requested != 0) add_u32(wire::opt::requested_ip, r.requested);
  if (r.subnet_selection) add_u32(wire::opt::subnet_selection, *r.subnet_selection);
  if (!r.client_id.empty()) opts.push_back({wire::opt::client_id, wire::Bytes{r.client_id}, false});
  wire::DhcpOptionsSpec spec;
  spec.type = r.type;
  spec.server_id = r.server_id;
  spec.options = opts;
  spec.relay_agent_info = wire::Bytes{r.relay_info};
  p->bytes.resize(1600);
  const wire::BuildResult built = wire::build_dhcp_frame(p->bytes, env, b, spec);
  EXPECT_EQ(built.error, wire::Error::ok);
  p->bytes.resize(built.length);
  const wire::Frame f = wire::parse_frame(p->bytes);
  EXPECT_EQ(p->msg.parse(f.udp_payload(p->bytes)), wire::Error::ok);
  p->rx = rx_meta_of(f, kServerMac, r.interface);
  return p;
}

// Option 82 with circuit-id `circuit` (sub-option 1) and, if set, link
// selection (sub-option 5).
// (Built with push_back: g++ 12 -O2 warns falsely about vector::insert.)
std::vector<std::uint8_t> relay_info(const std::string& circuit, Ipv4 link = 0) {
  std::vector<std::uint8_t> v;
  v.push_back(1);
  v.push_back(static_cast<std::uint8_t>(circuit.size()));
  for (char c : circuit) v.push_back(static_cast<std::uint8_t>(c));
  if (link != 0) {
    v.push_back(5);
    v.push_back(4);
    for (int shift = 24; shift >= 0; shift -= 8) v.push_back(static_cast<std::uint8_t>(link >> shift));
  }
  return v;
}

// 10.0.0.0/24 (id 1, the interface's; pool .10-.20, a reservation .5 for
// 02:..:55); 10.1.0.0/24 (id 2, relay 192.0.2.1; pool .10-.20); 10.2.0.0/24
// (id 3, no pool: every DISCOVER finds it exhausted).
EngineConfig config() {
  EngineConfig c;
  c.server_address = kServer;
  SubnetConfig a;
  a.id = 1;
  a.prefix = ip(10, 0, 0, 0);
  a.prefix_len = 24;
  a.pools = {{ip(10, 0, 0, 10), ip(10, 0, 0, 20)}};
  Reservation r;
  r.mac = MacAddr{{0x02, 0, 0, 0, 0, 0x55}};
  r.address = ip(10, 0, 0, 5);
  a.reservations = {r};
  SubnetConfig b;
  b.id = 2;
  b.prefix = ip(10, 1, 0, 0);
  b.prefix_len = 24;
  b.pools = {{ip(10, 1, 0, 10), ip(10, 1, 0, 20)}};
  b.relays = {ip(192, 0, 2, 1)};
  SubnetConfig e;
  e.id = 3;
  e.prefix = ip(10, 2, 0, 0);
  e.prefix_len = 24;
  c.subnets = {a, b, e};
  return c;
}

class TraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    compiled_ = std::make_unique<CompileResult>(compile(config()));
    ASSERT_TRUE(compiled_->ok()) << compiled_->error;
    ShardConfig sizes;
    sizes.table.capacity = 256;
    sizes.table.hostname_capacity = 256;
    sizes.table.long_key_capacity = 8;
    sizes.table.wheel_bits = 10;
    sizes.change_log_capacity = 64;
    Shard::Created s = Shard::create(compiled_->config, sizes);
    ASSERT_TRUE(s.shard) << s.error;
    shard_ = std::move(s.shard);
  }
  const CompiledConfig& cc() const { return compiled_->config; }

  // Decides `r` and records it as the worker does.
  TraceRecord traced(const Req& r) {
    auto p = packet(r);
    const Decision d = shard_->handle(p->msg, p->rx, kNow);
    shard_->clear_changes();
    TraceRecord rec;
    trace_record(rec, p->msg, select_subnet(cc(), p->msg, p->rx), cc(), d, 1'700'000'000'123'456ull);
    return rec;
  }
  std::uint32_t subnet_id(const SubnetChoice& s) const { return s.index == kNil ? 0 : cc().subnets[s.index].id; }

  std::unique_ptr<CompileResult> compiled_;
  std::unique_ptr<Shard> shard_;
};

TEST_F(TraceTest, SubnetSelectionSaysHowTheSubnetWasChosen) {
  const auto choice = [&](const Req& r) {
    auto p = packet(r);
    return select_subnet(cc(), p->msg, p->rx);
  };
  SubnetChoice s = choice({});
  EXPECT_EQ(s.by, SubnetBy::interface);
  EXPECT_EQ(s.selector, kServer);
  EXPECT_EQ(subnet_id(s), 1u);
  s = choice({.subnet_selection = ip(10, 1, 0, 0), .giaddr = ip(10, 0, 0, 9)});   // 118 before giaddr
  EXPECT_EQ(s.by, SubnetBy::subnet_selection);
  EXPECT_EQ(subnet_id(s), 2u);
  s = choice({.relay_info = relay_info("c", ip(10, 2, 0, 1)), .giaddr = ip(10, 0, 0, 9)});
  EXPECT_EQ(s.by, SubnetBy::link_selection);
  EXPECT_EQ(s.selector, ip(10, 2, 0, 1));
  EXPECT_EQ(subnet_id(s), 3u);
  s = choice({.giaddr = ip(10, 1, 0, 1)});
  EXPECT_EQ(s.by, SubnetBy::giaddr);
  EXPECT_EQ(subnet_id(s), 2u);
  s = choice({.giaddr = ip(192, 0, 2, 1)});
  EXPECT_EQ(s.by, SubnetBy::relay);
  EXPECT_EQ(subnet_id(s), 2u);
  s = choice({.giaddr = ip(192, 0, 2, 99)});   // a relay nobody lists
  EXPECT_EQ(s.by, SubnetBy::relay);
  EXPECT_EQ(s.index, kNil);
  s = choice({.ciaddr = ip(10, 1, 0, 15)});
  EXPECT_EQ(s.by, SubnetBy::ciaddr);
  EXPECT_EQ(subnet_id(s), 2u);
  s = choice({.interface = 0});
  EXPECT_EQ(s.by, SubnetBy::none);
  EXPECT_EQ(s.index, kNil);
  EXPECT_EQ(subnet_by_name(SubnetBy::link_selection), "option 82.5");
  EXPECT_EQ(subnet_by_name(SubnetBy::relay), "relay");
}

TEST_F(TraceTest, FiltersMatchTheirClientOnly) {
  const auto matches = [&](const TraceFilter& f, const Req& r) {
    auto p = packet(r);
    return trace_matches(f, cc(), p->msg, p->rx);
  };
  TraceFilter hw;
  hw.key = TraceKey::hw_address;
  hw.len = 6;
  std::memcpy(hw.bytes.data(), kClient.b.data(), 6);
  EXPECT_TRUE(matches(hw, {}));
  EXPECT_FALSE(matches(hw, {.mac = MacAddr{{0x02, 0, 0, 0, 0, 0x43}}}));
  hw.len = 5;   // a prefix of the MAC is not the MAC
  EXPECT_FALSE(matches(hw, {}));

  TraceFilter id;
  id.key = TraceKey::client_id;
  id.len = 3;
  id.bytes[0] = 0xff, id.bytes[1] = 1, id.bytes[2] = 2;
  EXPECT_TRUE(matches(id, {.client_id = {0xff, 1, 2}}));
  EXPECT_FALSE(matches(id, {.client_id = {0xff, 1, 2, 3}}));
  EXPECT_FALSE(matches(id, {}));   // no option 61

  TraceFilter circuit;
  circuit.key = TraceKey::circuit_id;
  circuit.len = 4;
  std::memcpy(circuit.bytes.data(), "eth7", 4);
  EXPECT_TRUE(matches(circuit, {.relay_info = relay_info("eth7"), .giaddr = ip(10, 1, 0, 1)}));
  EXPECT_FALSE(matches(circuit, {.relay_info = relay_info("eth8"), .giaddr = ip(10, 1, 0, 1)}));
  EXPECT_FALSE(matches(circuit, {.giaddr = ip(10, 1, 0, 1)}));   // no option 82

  TraceFilter subnet;
  subnet.key = TraceKey::subnet_id;
  subnet.subnet_id = 2;
  EXPECT_TRUE(matches(subnet, {.giaddr = ip(192, 0, 2, 1)}));
  EXPECT_TRUE(matches(subnet, {.subnet_selection = ip(10, 1, 0, 7)}));
  EXPECT_FALSE(matches(subnet, {}));   // the interface's subnet, id 1
  EXPECT_FALSE(matches(subnet, {.giaddr = ip(192, 0, 2, 99)}));   // none
}

TEST_F(TraceTest, RecordsAnOfferWithItsAddressSubnetAndDestination) {
  const TraceRecord r = traced({.client_id = std::vector<std::uint8_t>(30, 0xab)});
  EXPECT_EQ(r.time_us, 1'700'000'000'123'456ull);
  EXPECT_EQ(r.xid, 0x1234abcdu);
  EXPECT_EQ(r.message_type, static_cast<std::uint8_t>(MessageType::discover));
  EXPECT_EQ(r.hlen, 6);
  EXPECT_EQ(0, std::memcmp(r.chaddr.data(), kClient.b.data(), 6));
  EXPECT_EQ(r.client_id_len, 30) << "the whole length, though only the first bytes are kept";
  EXPECT_EQ(r.client_id[kTraceClientIdBytes - 1], 0xab);
  EXPECT_EQ(r.verdict, Verdict::reply);
  EXPECT_EQ(r.reply_type, MessageType::offer);
  EXPECT_EQ(r.subnet_id, 1u);
  EXPECT_EQ(r.subnet_by, SubnetBy::interface);
  EXPECT_GE(r.yiaddr, ip(10, 0, 0, 10));
  EXPECT_LE(r.yiaddr, ip(10, 0, 0, 20));
  EXPECT_EQ(r.lease_time, 3600u);
  EXPECT_EQ(r.reply_port, wire::kPortBootpc);
  EXPECT_EQ(r.reply_ip, r.yiaddr) << "no broadcast flag: unicast to the offered address";
  EXPECT_EQ(r.reply_mac, kClient);
  EXPECT_EQ(r.drop, DropReason::none);
}

TEST_F(TraceTest, RecordsANakWithItsReasonADropAndSilence) {
  // INIT-REBOOT for an address of another subnet: NAK, not_in_subnet.
  TraceRecord r = traced({.type = MessageType::request, .requested = ip(10, 1, 0, 15)});
  EXPECT_EQ(r.verdict, Verdict::reply);
  EXPECT_EQ(r.reply_type, MessageType::nak);
  EXPECT_EQ(r.nak, NakReason::not_in_subnet);
  EXPECT_EQ(r.requested, ip(10, 1, 0, 15));
  EXPECT_EQ(r.reply_ip, 0xffffffffu) << "a NAK is broadcast";
  // SELECTING an address of the pool's block that no pool holds: NAK,
  // not_the_clients; one in no block at all: not_in_pool.
  r = traced({.type = MessageType::request, .requested = ip(10, 0, 0, 30), .server_id = kServer});
  EXPECT_EQ(r.nak, NakReason::not_the_clients);
  r = traced({.type = MessageType::request, .requested = ip(10, 0, 0, 200), .server_id = kServer});
  EXPECT_EQ(r.nak, NakReason::not_in_pool);
  // The reserved client asking for a pool address: NAK, reserved_elsewhere.
  r = traced({.type = MessageType::request, .mac = MacAddr{{0x02, 0, 0, 0, 0, 0x55}},
              .requested = ip(10, 0, 0, 12), .server_id = kServer});
  EXPECT_EQ(r.nak, NakReason::reserved_elsewhere);
  // A subnet without a pool: dropped, pool_exhausted, with the subnet chosen.
  r = traced({.subnet_selection = ip(10, 2, 0, 0)});
  EXPECT_EQ(r.verdict, Verdict::drop);
  EXPECT_EQ(r.drop, DropReason::pool_exhausted);
  EXPECT_EQ(r.subnet_id, 3u);
  EXPECT_EQ(r.subnet_by, SubnetBy::subnet_selection);
  EXPECT_EQ(r.yiaddr, 0u);
  // A relay nobody lists: no_subnet.
  r = traced({.giaddr = ip(192, 0, 2, 99)});
  EXPECT_EQ(r.drop, DropReason::no_subnet);
  EXPECT_EQ(r.subnet_id, 0u);
  EXPECT_EQ(r.selector, ip(192, 0, 2, 99));
  // A REQUEST for another server: silence.
  r = traced({.type = MessageType::request, .requested = ip(10, 0, 0, 12), .server_id = ip(10, 0, 0, 2)});
  EXPECT_EQ(r.verdict, Verdict::silent);
  EXPECT_EQ(r.server_id, ip(10, 0, 0, 2));
}

TEST_F(TraceTest, ADoraIsRecordedOfferThenAck) {
  const TraceRecord offer = traced({});
  ASSERT_EQ(offer.reply_type, MessageType::offer);
  const TraceRecord ack =
      traced({.type = MessageType::request, .requested = offer.yiaddr, .server_id = kServer});
  EXPECT_EQ(ack.verdict, Verdict::reply);
  EXPECT_EQ(ack.reply_type, MessageType::ack);
  EXPECT_EQ(ack.yiaddr, offer.yiaddr);
  EXPECT_EQ(ack.server_id, kServer);
  EXPECT_EQ(ack.lease_time, 3600u);
}

TEST(TraceRing, KeepsTheFirstRecordsUpToItsLimitAndShowsThemOnlyWhenPublished) {
  TraceRing ring;
  EXPECT_TRUE(ring.read(0).empty());
  ring.restart(1, 3);
  EXPECT_EQ(ring.session(), 1u);
  EXPECT_EQ(ring.limit(), 3u);
  for (std::uint32_t i = 0; i < 2; ++i) {
    TraceRecord* r = ring.claim();
    ASSERT_NE(r, nullptr);
    r->xid = i;
  }
  EXPECT_TRUE(ring.read(1).empty()) << "claimed, not published";
  ring.publish();
  ASSERT_EQ(ring.read(1).size(), 2u);
  EXPECT_TRUE(ring.read(2).empty()) << "another session's records are not these";
  TraceRecord* r = ring.claim();
  ASSERT_NE(r, nullptr);
  r->xid = 2;
  EXPECT_TRUE(ring.full());
  EXPECT_EQ(ring.claim(), nullptr) << "full: no overwriting, the first records stay";
  ring.publish();
  const auto all = ring.read(1);
  ASSERT_EQ(all.size(), 3u);
  for (std::uint32_t i = 0; i < 3; ++i) EXPECT_EQ(all[i].xid, i);
  ring.restart(2, 100000);
  EXPECT_EQ(ring.limit(), kTraceCapacity) << "capped";
  EXPECT_TRUE(ring.read(2).empty());
  EXPECT_TRUE(ring.read(1).empty());
  EXPECT_FALSE(ring.full());
}

// One writer thread, one reader: every record the reader sees is complete
// (its fields written before publish), in order, and never more than the
// limit.
TEST(TraceRing, AReaderOnAnotherThreadSeesOnlyCompleteRecords) {
  TraceRing ring;
  ring.restart(7, kTraceCapacity);
  std::thread writer([&ring] {
    for (std::uint32_t i = 0; i < kTraceCapacity + 10; ++i) {
      if (TraceRecord* r = ring.claim()) {
        r->xid = i;
        r->time_us = i * 3ull;
        r->yiaddr = ~i;
      }
      if (i % 5 == 4) ring.publish();
    }
    ring.publish();
  });
  std::size_t seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool complete = true;
  while (seen < kTraceCapacity && complete && std::chrono::steady_clock::now() < deadline) {
    const auto got = ring.read(7);
    complete = got.size() <= kTraceCapacity;
    for (std::size_t i = 0; i < got.size() && complete; ++i)
      complete = got[i].xid == i && got[i].time_us == i * 3ull && got[i].yiaddr == ~static_cast<std::uint32_t>(i);
    seen = got.size();
  }
  writer.join();
  EXPECT_TRUE(complete) << "a record seen before it was written whole";
  EXPECT_EQ(seen, kTraceCapacity) << "only these were published";
  EXPECT_EQ(ring.read(7).size(), kTraceCapacity);
}

}  // namespace
}  // namespace dorado::engine
