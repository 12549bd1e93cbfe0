// Client classes and pool tables (engine/classes.hpp): each match kind,
// option precedence (class > pool > subnet > global), class lease times,
// class-restricted pools, drop; replies through build_reply and ReplyCache
// (which must agree byte for byte).
#include "engine/classes.hpp"
#include "engine/engine.hpp"
#include "engine/reply_cache.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
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
constexpr Seconds kNow = 1'700'000'000;
const MacAddr kServerMac{{0x02, 0xaa, 0, 0, 0, 1}};

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

struct Req {
  MessageType type = MessageType::discover;
  MacAddr mac{{0x02, 0, 0, 0, 0, 1}};
  Ipv4 giaddr = 0;
  Ipv4 requested = 0;
  Ipv4 server_id = 0;
  Ipv4 ciaddr = 0;
  std::vector<std::uint8_t> prl{1, 3, 6, 15, 66, 150, 43};
  std::vector<std::pair<std::uint8_t, std::vector<std::uint8_t>>> options;   // any, e.g. 60, 77
  std::vector<std::uint8_t> relay_info;                                        // option 82
  std::uint8_t vlan_count = 0;
  std::array<wire::VlanTag, 2> vlans{};
  std::optional<std::uint32_t> lease_time;
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
  env.vlan_count = r.vlan_count;
  env.vlans = r.vlans;
  env.ip_src = r.giaddr != 0 ? r.giaddr : r.ciaddr;
  env.ip_dst = 0xffffffffu;
  env.src_port = r.giaddr != 0 ? wire::kPortBootps : wire::kPortBootpc;
  env.dst_port = wire::kPortBootps;
  wire::BootpFields b;
  b.op = 1;
  b.xid = 0x1234;
  b.giaddr = r.giaddr;
  b.ciaddr = r.ciaddr;
  std::memcpy(b.chaddr.data(), r.mac.b.data(), 6);
  std::vector<std::array<std::uint8_t, 4>> u32s;
  u32s.reserve(4);
  std::vector<wire::OptionValue> opts;
  auto add_u32 = [&](std::uint8_t code, std::uint32_t v) {
    u32s.emplace_back();
    wire::store_be32(u32s.back().data(), v);
    opts.push_back({code, wire::Bytes{u32s.back()}, false});
  };
  if (r.requested != 0) add_u32(wire::opt::requested_ip, r.requested);
  if (r.lease_time) add_u32(wire::opt::lease_time, *r.lease_time);
  for (const auto& [code, v] : r.options) opts.push_back({code, wire::Bytes{v}, false});
  if (!r.prl.empty()) opts.push_back({wire::opt::parameter_request_list, wire::Bytes{r.prl}, false});
  wire::DhcpOptionsSpec spec;
  spec.type = r.type;
  spec.server_id = r.server_id;
  spec.options = opts;
  spec.relay_agent_info = wire::Bytes{r.relay_info};
  p->bytes.resize(1600);
  const wire::BuildResult built = wire::build_dhcp_frame(p->bytes, env, b, spec);
  EXPECT_EQ(built.error, wire::Error::ok);
  p->bytes.resize(built.length);
  p->frame = wire::parse_frame(p->bytes);
  EXPECT_EQ(p->msg.parse(p->frame.udp_payload(p->bytes)), wire::Error::ok);
  p->rx = rx_meta_of(p->frame, kServerMac, kServer);
  return p;
}

std::vector<std::uint8_t> rai(std::uint8_t sub, std::string_view v) {
  std::vector<std::uint8_t> out(2 + v.size());   // (not insert: g++ 12 warns falsely about it)
  out[0] = sub;
  out[1] = static_cast<std::uint8_t>(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[2 + i] = static_cast<std::uint8_t>(v[i]);
  return out;
}

ClassMatch match(ClassField f, ClassOp op, std::uint8_t code, std::vector<std::uint8_t> value = {},
                 std::uint32_t number = 0, std::uint8_t prefix_len = 32) {
  ClassMatch m;
  m.field = f;
  m.op = op;
  m.code = code;
  m.value = std::move(value);
  m.number = number;
  m.prefix_len = prefix_len;
  return m;
}

ClassConfig klass(std::string name, std::vector<ClassMatch> matches) {
  ClassConfig c;
  c.name = std::move(name);
  c.matches = std::move(matches);
  return c;
}

OptionData opt(std::uint8_t code, std::string_view v, bool always = false) {
  return OptionData{code, encode_string(v), always};
}

// 10.0.0.0/24, plain pool .10-.19; global option 66 "global", 150 "global".
EngineConfig base_config() {
  EngineConfig c;
  c.server_address = kServer;
  SubnetConfig s;
  s.id = 1;
  s.prefix = ip(10, 0, 0, 0);
  s.prefix_len = 24;
  s.pools = {{ip(10, 0, 0, 10), ip(10, 0, 0, 19)}};
  s.lease_time = 3600;
  s.routers = {ip(10, 0, 0, 254)};
  c.subnets = {s};
  c.options = {opt(66, "global"), opt(150, "global")};
  return c;
}

class ClassesTest : public ::testing::Test {
 protected:
  void build(const EngineConfig& cfg) {
    shard_.reset();
    compiled_ = std::make_unique<CompileResult>(compile(cfg));
    ASSERT_TRUE(compiled_->ok()) << compiled_->error;
    ShardConfig sizes;
    sizes.table.capacity = 256;
    sizes.table.hostname_capacity = 256;
    sizes.table.long_key_capacity = 8;
    sizes.table.wheel_bits = 10;
    sizes.change_log_capacity = 64;
    Shard::Created c = Shard::create(compiled_->config, sizes);
    ASSERT_TRUE(c.shard) << c.error;
    shard_ = std::move(c.shard);
    cache_.clear();
  }

  ClassSet classes_of(const Req& r) {
    auto p = make_packet(r);
    return compiled_->config.classes.match(p->msg, p->rx.vlan_count, p->rx.vlans);
  }

  Decision send(const Req& r) {
    last_ = make_packet(r);
    const Decision d = shard_->handle(last_->msg, last_->rx, kNow);
    EXPECT_EQ(shard_->audit(), "");
    return d;
  }

  // The reply's options (build_reply, and the ReplyCache's bytes must agree).
  wire::DhcpMessage render(const Decision& d) {
    reply_.assign(1600, 0);
    const wire::BuildResult r = build_reply(compiled_->config, d, last_->msg, last_->rx, reply_);
    EXPECT_EQ(r.error, wire::Error::ok);
    reply_.resize(r.length);
    for (int pass = 0; pass < 2; ++pass) {
      std::vector<std::uint8_t> cached(1600);
      const wire::BuildResult c = cache_.build(compiled_->config, d, last_->msg, last_->rx, cached);
      cached.resize(c.length);
      EXPECT_EQ(cached, reply_) << "ReplyCache and build_reply differ (pass " << pass << ")";
    }
    reply_frame_ = wire::parse_frame(reply_);
    wire::DhcpMessage m;
    EXPECT_EQ(m.parse(reply_frame_.udp_payload(reply_)), wire::Error::ok);
    return m;
  }

  static std::string text(const wire::DhcpMessage& m, std::uint8_t code) {
    auto o = m.option(code);
    return o ? std::string(o->begin(), o->end()) : std::string("<absent>");
  }

  std::unique_ptr<CompileResult> compiled_;
  std::unique_ptr<Shard> shard_;
  std::unique_ptr<Packet> last_;
  ReplyCache cache_;
  std::vector<std::uint8_t> reply_;
  wire::Frame reply_frame_;
};

// ---- matching, kind by kind -------------------------------------------------

TEST_F(ClassesTest, EachMatchKind) {
  EngineConfig cfg = base_config();
  cfg.classes = {
      klass("vc", {match(ClassField::option, ClassOp::exact, 60, bytes("PolycomVVX-400"))}),
      klass("vcp", {match(ClassField::option, ClassOp::prefix, 60, bytes("PolycomVVX"))}),
      klass("uc", {match(ClassField::option, ClassOp::user_class, 77, bytes("iPXE"))}),
      klass("cid", {match(ClassField::relay_sub, ClassOp::exact, 1, bytes("eth0/1/7"))}),
      klass("cidp", {match(ClassField::relay_sub, ClassOp::prefix, 1, bytes("eth0/1/"))}),
      klass("rid", {match(ClassField::relay_sub, ClassOp::exact, 2, {0xde, 0xad})}),
      klass("sid", {match(ClassField::relay_sub, ClassOp::exact, 6, bytes("sub-9"))}),
      klass("mac", {match(ClassField::mac, ClassOp::exact, 0, {0x02, 0, 0, 0, 0, 7})}),
      klass("oui", {match(ClassField::mac, ClassOp::prefix, 0, {0x00, 0x1b, 0x63})}),
      klass("vlan", {match(ClassField::vlan_outer, ClassOp::equals, 0, {}, 100)}),
      klass("qinq", {match(ClassField::vlan_outer, ClassOp::equals, 0, {}, 100),
                     match(ClassField::vlan_inner, ClassOp::equals, 0, {}, 200)}),
      klass("relay", {match(ClassField::giaddr, ClassOp::in_prefix, 0, {}, ip(10, 9, 0, 0), 16)}),
      klass("asks150", {match(ClassField::option, ClassOp::contains, 55, {}, 150)}),
      klass("has93", {match(ClassField::option, ClassOp::present, 93)}),
      klass("opt93", {match(ClassField::option, ClassOp::exact, 93, {0x00, 0x07})}),
      klass("given", {}),   // no conditions: never matched by content
  };
  build(cfg);
  auto bit = [&](std::string_view n) { return ClassSet{1} << compiled_->config.classes.index_of(n); };

  Req plain;
  plain.prl = {1, 3};
  EXPECT_EQ(classes_of(plain), 0u);

  Req r = plain;
  r.options = {{60, bytes("PolycomVVX-400")}};
  EXPECT_EQ(classes_of(r), bit("vc") | bit("vcp"));
  r.options = {{60, bytes("PolycomVVX-500")}};
  EXPECT_EQ(classes_of(r), bit("vcp"));
  r.options = {{60, bytes("Polycom")}};
  EXPECT_EQ(classes_of(r), 0u);

  r.options = {{77, bytes("iPXE")}};   // plain text
  EXPECT_EQ(classes_of(r), bit("uc"));
  r.options = {{77, {3, 'f', 'o', 'o', 4, 'i', 'P', 'X', 'E'}}};   // RFC 3004 list
  EXPECT_EQ(classes_of(r), bit("uc"));
  r.options = {{77, {4, 'i', 'P', 'X'}}};   // malformed list, not the text either
  EXPECT_EQ(classes_of(r), 0u);

  r = plain;
  r.giaddr = ip(10, 9, 1, 1);
  r.relay_info = rai(1, "eth0/1/7");
  EXPECT_EQ(classes_of(r), bit("cid") | bit("cidp") | bit("relay"));
  r.relay_info = rai(1, "eth0/1/8");
  EXPECT_EQ(classes_of(r), bit("cidp") | bit("relay"));
  r.relay_info = rai(2, "\xde\xad");
  EXPECT_EQ(classes_of(r), bit("rid") | bit("relay"));
  r.relay_info = rai(6, "sub-9");
  for (const std::uint8_t b : rai(1, "x")) r.relay_info.push_back(b);
  EXPECT_EQ(classes_of(r), bit("sid") | bit("relay"));
  r.giaddr = ip(10, 8, 0, 1);
  EXPECT_EQ(classes_of(r), bit("sid"));

  r = plain;
  r.mac = MacAddr{{0x02, 0, 0, 0, 0, 7}};
  EXPECT_EQ(classes_of(r), bit("mac"));
  r.mac = MacAddr{{0x00, 0x1b, 0x63, 1, 2, 3}};
  EXPECT_EQ(classes_of(r), bit("oui"));

  r = plain;
  r.vlan_count = 1;
  r.vlans[0] = {0x8100, 100};
  EXPECT_EQ(classes_of(r), bit("vlan"));
  r.vlan_count = 2;
  r.vlans[0] = {0x88a8, 100};
  r.vlans[1] = {0x8100, 200};
  EXPECT_EQ(classes_of(r), bit("vlan") | bit("qinq"));
  r.vlans[1] = {0x8100, 201};
  EXPECT_EQ(classes_of(r), bit("vlan"));

  r = plain;
  r.prl = {1, 3, 150};
  EXPECT_EQ(classes_of(r), bit("asks150"));
  r.prl = {1, 3};
  r.options = {{93, {0x00, 0x07}}};
  EXPECT_EQ(classes_of(r), bit("has93") | bit("opt93"));
  r.options = {{93, {0x00, 0x00}}};
  EXPECT_EQ(classes_of(r), bit("has93"));
}

TEST_F(ClassesTest, ConditionsOfOneClassAllHold) {
  EngineConfig cfg = base_config();
  cfg.classes = {klass("both", {match(ClassField::option, ClassOp::prefix, 60, bytes("MSFT")),
                                match(ClassField::relay_sub, ClassOp::exact, 1, bytes("port-1"))})};
  build(cfg);
  Req r;
  r.options = {{60, bytes("MSFT 5.0")}};
  EXPECT_EQ(classes_of(r), 0u);
  r.giaddr = ip(10, 0, 0, 2);
  r.relay_info = rai(1, "port-1");
  EXPECT_EQ(classes_of(r), 1u);
  r.relay_info = rai(1, "port-2");
  EXPECT_EQ(classes_of(r), 0u);
}

// The compiled matcher (value index, prefix dispatch, option 55 table,
// linear rest) against the plain definition of each condition, on random
// classes and requests drawn from a small alphabet so that values collide,
// prefixes nest (also past 8 bytes) and one class has several conditions on
// one field.
namespace reference {
bool holds(const ClassMatch& c, const wire::DhcpMessage& m, const RxMeta& rx) {
  std::optional<wire::Bytes> f;
  std::uint32_t number = 0;
  switch (c.field) {
    case ClassField::option: f = m.option(c.code); break;
    case ClassField::relay_sub:
      if (auto r = m.option(wire::opt::relay_agent_info)) {
        const wire::Bytes v = relay_sub_option(*r, c.code);
        if (v.data() != nullptr) f = v;
      }
      break;
    case ClassField::mac:
      if (m.hlen != 0) f = m.chaddr();
      break;
    case ClassField::vlan_outer:
      if (rx.vlan_count < 1) return false;
      number = rx.vlans[0].vid();
      break;
    case ClassField::vlan_inner:
      if (rx.vlan_count < 2) return false;
      number = rx.vlans[1].vid();
      break;
    case ClassField::giaddr:
      if (m.giaddr == 0) return false;
      number = m.giaddr;
      break;
  }
  const bool bytes_field =
      c.field == ClassField::option || c.field == ClassField::relay_sub || c.field == ClassField::mac;
  if (bytes_field && !f) return false;
  const std::vector<std::uint8_t> v = f ? std::vector<std::uint8_t>(f->begin(), f->end()) : std::vector<std::uint8_t>{};
  switch (c.op) {
    case ClassOp::present: return true;
    case ClassOp::exact: return v == c.value;
    case ClassOp::prefix: return v.size() >= c.value.size() && std::equal(c.value.begin(), c.value.end(), v.begin());
    case ClassOp::user_class: {
      if (v == c.value) return true;
      for (std::size_t at = 0; at < v.size();) {
        const std::size_t len = v[at];
        if (len == 0 || at + 1 + len > v.size()) return false;
        if (std::equal(c.value.begin(), c.value.end(), v.begin() + static_cast<std::ptrdiff_t>(at) + 1,
                       v.begin() + static_cast<std::ptrdiff_t>(at + 1 + len)))
          return true;
        at += 1 + len;
      }
      return false;
    }
    case ClassOp::contains: return std::find(v.begin(), v.end(), static_cast<std::uint8_t>(c.number)) != v.end();
    case ClassOp::equals: return number == c.number;
    case ClassOp::in_prefix: {
      const std::uint32_t mask = c.prefix_len == 0 ? 0u : ~0u << (32 - c.prefix_len);
      return (number & mask) == (c.number & mask);
    }
  }
  return false;
}
}  // namespace reference

TEST_F(ClassesTest, CompiledMatchAgreesWithDefinition) {
  std::uint64_t seed = 0x9e3779b97f4a7c15ull;
  auto rnd = [&seed](std::uint32_t n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return static_cast<std::uint32_t>(seed % n);
  };
  const std::vector<std::vector<std::uint8_t>> alphabet = {
      bytes("a"), bytes("ab"), bytes("abc"), bytes("PolycomVVX"), bytes("PolycomVVX-400"),
      bytes("PolycomVVX-4001"), bytes("eth0/1/7"), bytes("eth0/1/77"), {0x00}, {0x00, 0x00},
      {0x02, 0x00}, {0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, {0x00, 0x1b, 0x63}, bytes("abcdefgh"),
      bytes("abcdefghi"), bytes("abcdefghij-klmnopq")};
  const std::uint8_t option_codes[] = {60, 77, 93};
  auto random_match = [&]() {
    ClassMatch c;
    switch (rnd(9)) {
      case 0: case 1: case 2:
        c.field = ClassField::option;
        c.code = option_codes[rnd(3)];
        break;
      case 3:
        c.field = ClassField::option;
        c.code = wire::opt::parameter_request_list;
        c.op = rnd(4) == 0 ? ClassOp::present : ClassOp::contains;
        c.number = 1 + rnd(6);
        return c;
      case 4: case 5:
        c.field = ClassField::relay_sub;
        c.code = static_cast<std::uint8_t>(1 + rnd(2));
        break;
      case 6:
        c.field = ClassField::mac;
        break;
      case 7:
        c.field = rnd(2) == 0 ? ClassField::vlan_outer : ClassField::vlan_inner;
        c.op = rnd(5) == 0 ? ClassOp::present : ClassOp::equals;
        c.number = 100 + rnd(3);
        return c;
      default:
        c.field = ClassField::giaddr;
        c.op = rnd(5) == 0 ? ClassOp::present : ClassOp::in_prefix;
        c.number = ip(10, 9, rnd(2), 0);
        c.prefix_len = static_cast<std::uint8_t>(rnd(2) == 0 ? 16 : 24);
        return c;
    }
    const ClassOp ops[] = {ClassOp::exact, ClassOp::exact, ClassOp::prefix, ClassOp::prefix, ClassOp::user_class,
                           ClassOp::present};
    c.op = ops[rnd(6)];
    if (c.op != ClassOp::present) c.value = alphabet[rnd(static_cast<std::uint32_t>(alphabet.size()))];
    return c;
  };
  auto pick = [&]() { return alphabet[rnd(static_cast<std::uint32_t>(alphabet.size()))]; };
  std::size_t matched = 0, checked = 0;
  for (int round = 0; round < 40; ++round) {
    EngineConfig cfg = base_config();
    const std::uint32_t n = 1 + rnd(64);
    for (std::uint32_t i = 0; i < n; ++i) {
      std::vector<ClassMatch> ms;
      const std::uint32_t conditions = 1 + rnd(3);
      for (std::uint32_t j = 0; j < conditions; ++j) ms.push_back(random_match());
      // Sometimes a second condition of the same field and kind (AND).
      if (rnd(4) == 0) {
        ClassMatch again = ms[0];
        if (!again.value.empty()) again.value = pick();
        if (again.op == ClassOp::contains) again.number = 1 + rnd(6);
        ms.push_back(again);
      }
      std::string name = "c";   // (not "c" + string: g++ 12 -O3 warns falsely, -Wrestrict)
      name += std::to_string(i);
      cfg.classes.push_back(klass(name, ms));
    }
    build(cfg);
    if (HasFatalFailure()) return;
    for (int q = 0; q < 60; ++q) {
      Req r;
      r.prl.clear();
      for (std::uint32_t k = rnd(5); k > 0; --k) r.prl.push_back(static_cast<std::uint8_t>(1 + rnd(6)));
      for (const std::uint8_t code : option_codes) {
        if (rnd(3) == 0) continue;
        std::vector<std::uint8_t> v = pick();
        if (code == 77 && rnd(2) == 0) {   // an RFC 3004 list of one or two classes
          std::vector<std::uint8_t> list;
          for (std::uint32_t k = 1 + rnd(2); k > 0; --k) {
            const std::vector<std::uint8_t> item = pick();
            list.push_back(static_cast<std::uint8_t>(item.size()));
            for (const std::uint8_t b : item) list.push_back(b);
          }
          v = list;
        }
        r.options.push_back({code, v});
      }
      if (rnd(2) == 0) {
        r.giaddr = ip(10, 9, rnd(2), 1);
        for (std::uint8_t sub = 1; sub <= 2; ++sub) {
          if (rnd(3) == 0) continue;
          const std::vector<std::uint8_t> v = pick();
          r.relay_info.push_back(sub);
          r.relay_info.push_back(static_cast<std::uint8_t>(v.size()));
          for (const std::uint8_t b : v) r.relay_info.push_back(b);
        }
      }
      switch (rnd(3)) {
        case 0: r.mac = MacAddr{{0x02, 0x00, 0, 0, 0, 1}}; break;
        case 1: r.mac = MacAddr{{0x00, 0x1b, 0x63, 1, 2, 3}}; break;
        default: r.mac = MacAddr{{0x00, 0x00, 0, 0, 0, 9}}; break;
      }
      r.vlan_count = static_cast<std::uint8_t>(rnd(3));
      r.vlans[0] = {0x8100, static_cast<std::uint16_t>(100 + rnd(3))};
      r.vlans[1] = {0x8100, static_cast<std::uint16_t>(100 + rnd(3))};
      auto p = make_packet(r);
      ClassSet want = 0;
      for (std::size_t i = 0; i < cfg.classes.size(); ++i) {
        bool all = !cfg.classes[i].matches.empty();
        for (const ClassMatch& c : cfg.classes[i].matches) all = all && reference::holds(c, p->msg, p->rx);
        if (all) want |= ClassSet{1} << i;
      }
      const ClassSet got = compiled_->config.classes.match(p->msg, p->rx.vlan_count, p->rx.vlans);
      ASSERT_EQ(got, want) << "round " << round << " request " << q;
      matched += static_cast<std::size_t>(std::popcount(want));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 40u * 60u);
  EXPECT_GT(matched, 500u);   // the draw makes classes match, not only fail
}

// The exact and prefix tables (ClassSlot buckets, the `more` lists): up to
// 64 classes on option 60, option 82.1 and the MAC, with values that share
// buckets (one first byte for many prefixes; 64 exact values in 256
// buckets collide), values of 1 to 20 bytes (longer than 8: the rest by
// memcmp), and requests that carry a value, a prefix of one, one extended
// by a byte, or one with a byte changed after the 8th. The compiled match
// must equal the definition (reference::holds) on every request.
TEST_F(ClassesTest, ValueTablesAgreeWithDefinition) {
  std::uint64_t seed = 0x2545f4914f6cdd1dull;
  auto rnd = [&seed](std::uint32_t n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return static_cast<std::uint32_t>(seed % n);
  };
  // Values from a small alphabet so that they share first bytes and heads.
  auto value = [&]() {
    std::vector<std::uint8_t> v(1 + rnd(rnd(2) == 0 ? 8 : 20));
    for (std::uint8_t& b : v) b = static_cast<std::uint8_t>("ae0/\x02"[rnd(5)]);
    return v;
  };
  std::size_t matched = 0, checked = 0, values_used = 0;
  for (int round = 0; round < 30; ++round) {
    EngineConfig cfg = base_config();
    std::vector<std::vector<std::uint8_t>> values;
    const std::uint32_t n = 1 + rnd(64);
    for (std::uint32_t i = 0; i < n; ++i) {
      std::vector<ClassMatch> ms;
      for (std::uint32_t j = 1 + (rnd(4) == 0 ? 1 : 0); j > 0; --j) {
        ClassMatch c;
        switch (rnd(3)) {
          case 0: c.field = ClassField::option; c.code = 60; break;
          case 1: c.field = ClassField::relay_sub; c.code = 1; break;
          default: c.field = ClassField::mac; break;
        }
        c.op = rnd(2) == 0 ? ClassOp::exact : ClassOp::prefix;
        c.value = !values.empty() && rnd(3) == 0 ? values[rnd(static_cast<std::uint32_t>(values.size()))] : value();
        if (c.field == ClassField::mac && c.value.size() > 16) c.value.resize(16);
        values.push_back(c.value);
        ms.push_back(c);
      }
      std::string name = "v";
      name += std::to_string(i);
      cfg.classes.push_back(klass(name, ms));
    }
    values_used += values.size();
    build(cfg);
    if (HasFatalFailure()) return;
    auto near = [&]() {
      std::vector<std::uint8_t> v = values[rnd(static_cast<std::uint32_t>(values.size()))];
      switch (rnd(5)) {
        case 0: v.resize(1 + rnd(static_cast<std::uint32_t>(v.size()))); break;   // a prefix of it
        case 1: v.push_back(static_cast<std::uint8_t>("ae0/"[rnd(4)])); break;     // longer
        case 2:
          if (v.size() > 8) v[8 + rnd(static_cast<std::uint32_t>(v.size() - 8))] ^= 1;   // differs after the head
          break;
        case 3: v = value(); break;
        default: break;   // the value itself
      }
      return v;
    };
    for (int q = 0; q < 80; ++q) {
      Req r;
      if (rnd(4) != 0) r.options.push_back({std::uint8_t{60}, near()});
      if (rnd(4) != 0) {
        const std::vector<std::uint8_t> v = near();
        r.giaddr = ip(10, 9, 0, 1);
        r.relay_info.push_back(1);
        r.relay_info.push_back(static_cast<std::uint8_t>(v.size()));
        r.relay_info.insert(r.relay_info.end(), v.begin(), v.end());
      }
      // chaddr is 6 bytes here: the MAC's values match as far as 6 bytes go.
      std::vector<std::uint8_t> mac = near();
      mac.resize(6, 0);
      std::memcpy(r.mac.b.data(), mac.data(), 6);
      auto p = make_packet(r);
      ClassSet want = 0;
      for (std::size_t i = 0; i < cfg.classes.size(); ++i) {
        bool all = true;
        for (const ClassMatch& c : cfg.classes[i].matches) all = all && reference::holds(c, p->msg, p->rx);
        if (all) want |= ClassSet{1} << i;
      }
      const ClassSet got = compiled_->config.classes.match(p->msg, p->rx.vlan_count, p->rx.vlans);
      ASSERT_EQ(got, want) << "round " << round << " request " << q;
      matched += static_cast<std::size_t>(std::popcount(want));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 30u * 80u);
  EXPECT_GT(matched, 300u);   // requests do hit values, not only miss them
  EXPECT_GT(values_used, 500u);
}

// An exact value and a longer field with the same head word (the field is
// the value and zero bytes, up to 255 of them) in the same bucket: the
// length decides.
TEST_F(ClassesTest, ExactValueLengthCountsInItsBucket) {
  std::uint8_t first = 0;
  std::size_t short_len = 0, long_len = 0;
  for (std::uint32_t b = 1; b < 256 && first == 0; ++b)
    for (std::size_t l = 1; l < 8 && first == 0; ++l)
      for (std::size_t n = l + 1; n <= 255 && first == 0; ++n)
        if (exact_bucket(b, l) == exact_bucket(b, n)) {
          first = static_cast<std::uint8_t>(b);
          short_len = l;
          long_len = n;
        }
  ASSERT_NE(first, 0) << "no colliding pair: pick another test";
  std::vector<std::uint8_t> value(short_len, 0), longer(long_len, 0);
  value[0] = longer[0] = first;
  EngineConfig cfg = base_config();
  cfg.classes = {klass("short", {match(ClassField::option, ClassOp::exact, 60, value)})};
  build(cfg);
  Req r;
  r.options = {{std::uint8_t{60}, longer}};
  EXPECT_EQ(classes_of(r), 0u);
  r.options = {{std::uint8_t{60}, value}};
  EXPECT_EQ(classes_of(r), 1u);
}

TEST(ClassesCompile, RefusesBadClasses) {
  EngineConfig cfg = base_config();
  cfg.classes = {klass("a", {}), klass("a", {})};
  EXPECT_NE(compile(cfg).error.find("defined twice"), std::string::npos);
  cfg.classes = {klass("a", {match(ClassField::option, ClassOp::exact, 60, {})})};
  EXPECT_NE(compile(cfg).error.find("1..255 bytes"), std::string::npos);
  cfg.classes = {klass("a", {match(ClassField::vlan_outer, ClassOp::equals, 0, {}, 5000)})};
  EXPECT_NE(compile(cfg).error.find("VLAN id"), std::string::npos);
  cfg.classes = {klass("a", {})};
  cfg.classes[0].options = {OptionData{54, encode_u32(1), false}};
  EXPECT_NE(compile(cfg).error.find("written by the engine"), std::string::npos);
  cfg.classes.assign(65, klass("x", {}));
  // Appended, not "c" + string: g++ 12 -O3 warns -Wrestrict (a false
  // positive) on that operator+, and the -Werror Release build fails.
  for (std::size_t i = 0; i < cfg.classes.size(); ++i) cfg.classes[i].name = std::string("c").append(std::to_string(i));
  EXPECT_NE(compile(cfg).error.find("more than 64 classes"), std::string::npos);
  cfg = base_config();
  cfg.classes = {klass("a", {})};
  PoolConfig p;
  p.ranges = {{ip(10, 0, 0, 30), ip(10, 0, 0, 39)}};
  p.classes = {"nope"};
  cfg.subnets[0].pool_tables = {p};
  EXPECT_NE(compile(cfg).error.find("class \"nope\" is not defined"), std::string::npos);
  p.classes = {"a"};
  p.deny = {"a"};
  cfg.subnets[0].pool_tables = {p};
  EXPECT_NE(compile(cfg).error.find("also denied"), std::string::npos);
  p.deny.clear();
  p.ranges = {{ip(10, 0, 0, 15), ip(10, 0, 0, 39)}};
  cfg.subnets[0].pool_tables = {p};
  EXPECT_NE(compile(cfg).error.find("overlaps the subnet's pools"), std::string::npos);
  p.ranges = {{ip(10, 0, 0, 30), ip(10, 0, 1, 39)}};
  cfg.subnets[0].pool_tables = {p};
  EXPECT_NE(compile(cfg).error.find("outside the subnet"), std::string::npos);
  p.ranges = {{ip(10, 0, 0, 30), ip(10, 0, 0, 39)}};
  cfg.subnets[0].pool_tables = {p, p};
  EXPECT_NE(compile(cfg).error.find("overlap"), std::string::npos);
}

// ---- what a class does ----------------------------------------------------------

TEST_F(ClassesTest, DropClassIsCountedAndNotAnswered) {
  EngineConfig cfg = base_config();
  cfg.classes = {klass("bad", {match(ClassField::option, ClassOp::exact, 60, bytes("evil"))})};
  cfg.classes[0].drop = true;
  build(cfg);
  Req r;
  r.options = {{60, bytes("evil")}};
  const Decision d = send(r);
  EXPECT_EQ(d.verdict, Verdict::drop);
  EXPECT_EQ(d.drop, DropReason::class_drop);
  EXPECT_EQ(shard_->counters().drops[static_cast<std::size_t>(DropReason::class_drop)], 1u);
  r.options = {{60, bytes("good")}};
  EXPECT_EQ(send(r).verdict, Verdict::reply);
}

// Each level over each lower one: class > pool > subnet > global, and the
// first matching class (config order) over a later one.
TEST_F(ClassesTest, OptionPrecedence) {
  EngineConfig cfg = base_config();
  SubnetConfig& s = cfg.subnets[0];
  s.options = {opt(66, "subnet"), opt(43, "subnet43")};
  ClassConfig first = klass("first", {match(ClassField::option, ClassOp::prefix, 60, bytes("A"))});
  first.options = {opt(66, "class-first")};
  ClassConfig second = klass("second", {match(ClassField::option, ClassOp::prefix, 60, bytes("AB"))});
  second.options = {opt(66, "class-second"), opt(150, "class-second"), opt(43, "class43", true)};
  ClassConfig pooled = klass("pooled", {match(ClassField::option, ClassOp::exact, 77, bytes("p"))});
  cfg.classes = {first, second, pooled};
  PoolConfig p;
  p.ranges = {{ip(10, 0, 0, 100), ip(10, 0, 0, 109)}};
  p.classes = {"pooled"};
  p.options = {opt(150, "pool"), opt(66, "pool")};
  s.pool_tables = {p};
  build(cfg);

  Req none;
  auto m = render(send(none));
  EXPECT_EQ(text(m, 66), "subnet");   // subnet over global
  EXPECT_EQ(text(m, 150), "global");
  EXPECT_EQ(text(m, 43), "subnet43");

  Req a;
  a.mac = MacAddr{{2, 0, 0, 0, 0, 2}};
  a.options = {{60, bytes("AB")}};
  m = render(send(a));
  EXPECT_EQ(text(m, 66), "class-first");    // first class over the second
  EXPECT_EQ(text(m, 150), "class-second");  // class over global
  EXPECT_EQ(text(m, 43), "class43");        // class over subnet

  Req pc;
  pc.mac = MacAddr{{2, 0, 0, 0, 0, 3}};
  pc.options = {{77, bytes("p")}};
  Decision d = send(pc);
  ASSERT_EQ(d.verdict, Verdict::reply);
  EXPECT_EQ(d.yiaddr, ip(10, 0, 0, 100));   // its own pool first
  m = render(d);
  EXPECT_EQ(text(m, 150), "pool");   // pool over global
  EXPECT_EQ(text(m, 66), "pool");    // pool over subnet

  Req both = pc;
  both.mac = MacAddr{{2, 0, 0, 0, 0, 4}};
  both.options = {{77, bytes("p")}, {60, bytes("A")}};
  d = send(both);
  EXPECT_EQ(d.yiaddr, ip(10, 0, 0, 101));
  m = render(d);
  EXPECT_EQ(text(m, 66), "class-first");   // class over pool
  EXPECT_EQ(text(m, 150), "pool");

  // Not asked for in 55: a class's always-send 43 is sent; a subnet's
  // always-send option shadowed by a class's plain one is not.
  cfg.subnets[0].options = {opt(66, "subnet", true)};
  build(cfg);
  Req quiet = a;
  quiet.prl = {1, 3};
  m = render(send(quiet));
  EXPECT_EQ(text(m, 43), "class43");
  EXPECT_EQ(text(m, 66), "<absent>");
  quiet.options.clear();
  quiet.mac = MacAddr{{2, 0, 0, 0, 0, 9}};
  m = render(send(quiet));
  EXPECT_EQ(text(m, 66), "subnet");
}

TEST_F(ClassesTest, ClassAndPoolLeaseTimes) {
  EngineConfig cfg = base_config();
  ClassConfig fast = klass("fast", {match(ClassField::option, ClassOp::exact, 60, bytes("fast"))});
  fast.lease_time = 600;
  ClassConfig pooled = klass("pooled", {match(ClassField::option, ClassOp::exact, 77, bytes("p"))});
  cfg.classes = {fast, pooled};
  PoolConfig p;
  p.ranges = {{ip(10, 0, 0, 100), ip(10, 0, 0, 109)}};
  p.classes = {"pooled"};
  p.lease_time = 900;
  cfg.subnets[0].pool_tables = {p};
  build(cfg);
  Req r;
  EXPECT_EQ(send(r).lease_time, 3600u);
  r.mac = MacAddr{{2, 0, 0, 0, 0, 2}};
  r.options = {{60, bytes("fast")}};
  EXPECT_EQ(send(r).lease_time, 600u);
  r.lease_time = 86400;   // a client's 51 does not lengthen it
  EXPECT_EQ(send(r).lease_time, 600u);
  r.lease_time = 400;     // but may shorten it
  EXPECT_EQ(send(r).lease_time, 400u);
  Req q;
  q.mac = MacAddr{{2, 0, 0, 0, 0, 3}};
  q.options = {{77, bytes("p")}};
  const Decision d = send(q);
  EXPECT_EQ(d.yiaddr, ip(10, 0, 0, 100));
  EXPECT_EQ(d.lease_time, 900u);
  q.options.push_back({60, bytes("fast")});   // the class's over the pool's
  q.mac = MacAddr{{2, 0, 0, 0, 0, 4}};
  EXPECT_EQ(send(q).lease_time, 600u);
}

// ---- class-restricted pools -------------------------------------------------------

TEST_F(ClassesTest, PoolsOnlyForTheirClasses) {
  EngineConfig cfg = base_config();
  cfg.subnets[0].pools = {{ip(10, 0, 0, 10), ip(10, 0, 0, 11)}};   // two open addresses
  cfg.classes = {klass("phones", {match(ClassField::option, ClassOp::prefix, 60, bytes("Polycom"))}),
                 klass("guests", {match(ClassField::option, ClassOp::exact, 77, bytes("guest"))})};
  PoolConfig voice;
  voice.ranges = {{ip(10, 0, 0, 100), ip(10, 0, 0, 101)}};
  voice.classes = {"phones"};
  PoolConfig open;   // anyone but guests
  open.ranges = {{ip(10, 0, 0, 130), ip(10, 0, 0, 130)}};
  open.deny = {"guests"};
  cfg.subnets[0].pool_tables = {voice, open};
  build(cfg);

  auto client = [](std::uint8_t n, std::vector<std::pair<std::uint8_t, std::vector<std::uint8_t>>> o) {
    Req r;
    r.mac = MacAddr{{2, 0, 0, 0, 1, n}};
    r.options = std::move(o);
    return r;
  };
  // Phones: their pool first, then open ones.
  EXPECT_EQ(send(client(1, {{60, bytes("Polycom1")}})).yiaddr, ip(10, 0, 0, 100));
  EXPECT_EQ(send(client(2, {{60, bytes("Polycom2")}})).yiaddr, ip(10, 0, 0, 101));
  EXPECT_EQ(send(client(3, {{60, bytes("Polycom3")}})).yiaddr, ip(10, 0, 0, 10));
  // Others never get the voice pool.
  EXPECT_EQ(send(client(4, {})).yiaddr, ip(10, 0, 0, 11));
  EXPECT_EQ(send(client(5, {})).yiaddr, ip(10, 0, 0, 130));
  const Decision full = send(client(6, {}));
  EXPECT_EQ(full.verdict, Verdict::drop);
  EXPECT_EQ(full.drop, DropReason::no_pool_for_class);
  // Guests may not have the `deny` pool either (and the rest is taken).
  const Decision guest = send(client(7, {{77, bytes("guest")}}));
  EXPECT_EQ(guest.drop, DropReason::no_pool_for_class);

  // Asking for a voice address without being a phone: not offered, and a
  // REQUEST for it is NAKed.
  Req sneaky = client(8, {});
  sneaky.requested = ip(10, 0, 0, 101);
  EXPECT_NE(send(sneaky).yiaddr, ip(10, 0, 0, 101));
  sneaky.type = MessageType::request;
  sneaky.server_id = kServer;
  const Decision nak = send(sneaky);
  EXPECT_EQ(nak.type, MessageType::nak);
  EXPECT_EQ(nak.nak, NakReason::pool_not_allowed);

  // A phone's REQUEST for its offered address is ACKed.
  Req phone = client(1, {{60, bytes("Polycom1")}});
  phone.type = MessageType::request;
  phone.server_id = kServer;
  phone.requested = ip(10, 0, 0, 100);
  const Decision ack = send(phone);
  EXPECT_EQ(ack.type, MessageType::ack);
  EXPECT_EQ(ack.yiaddr, ip(10, 0, 0, 100));
  // The same client without its vendor class no longer belongs: a new
  // DISCOVER gets no voice address.
  Req unclassed = client(1, {});
  const Decision moved = send(unclassed);
  EXPECT_NE(moved.yiaddr, ip(10, 0, 0, 100));
}

// The hook for reservations (Reservation::classes): a class given by a
// reservation applies as a matched one (options, pools, drop).
TEST_F(ClassesTest, ReservationGivesClasses) {
  EngineConfig cfg = base_config();
  ClassConfig vip = klass("vip", {});
  vip.options = {opt(66, "vip")};
  ClassConfig banned = klass("banned", {});
  banned.drop = true;
  cfg.classes = {vip, banned};
  PoolConfig p;
  p.ranges = {{ip(10, 0, 0, 100), ip(10, 0, 0, 101)}};
  p.classes = {"vip"};
  cfg.subnets[0].pool_tables = {p};
  Reservation r;
  r.mac = MacAddr{{2, 0, 0, 0, 0, 0x11}};
  r.classes = {"vip"};
  Reservation b;
  b.mac = MacAddr{{2, 0, 0, 0, 0, 0x12}};
  b.classes = {"banned"};
  cfg.subnets[0].reservations = {r, b};
  build(cfg);
  Req v;
  v.mac = *r.mac;
  const Decision d = send(v);
  ASSERT_EQ(d.verdict, Verdict::reply);
  EXPECT_EQ(d.yiaddr, ip(10, 0, 0, 100));
  EXPECT_EQ(text(render(d), 66), "vip");
  Req x;
  x.mac = *b.mac;
  EXPECT_EQ(send(x).drop, DropReason::class_drop);
  Req other;
  EXPECT_EQ(text(render(send(other)), 66), "global");
  cfg.subnets[0].reservations[0].classes = {"nope"};
  EXPECT_NE(compile(cfg).error.find("class \"nope\", which is not defined"), std::string::npos);
}

TEST_F(ClassesTest, NoClassesNoChange) {
  build(base_config());
  EXPECT_FALSE(compiled_->config.classes.any);
  EXPECT_TRUE(compiled_->config.subnet_pools.empty());
  const Decision d = send(Req{});
  EXPECT_EQ(d.classes, 0u);
  EXPECT_EQ(d.pool, kNoPool);
  EXPECT_EQ(text(render(d), 66), "global");
}

}  // namespace
}  // namespace dorado::engine
