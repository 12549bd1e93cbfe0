// The DPDK runtime without a NIC: ports are DPDK's net_ring PMD over rings
// this test owns (rte_eth_from_rings), so the test puts request mbufs on a
// port's RX ring and takes the replies from its TX ring. The EAL runs with
// --no-huge --no-pci and can be initialised once per process, so every test
// lives in this one binary and shares the fixture's EAL.
//
// No timing assertions: a test waits (with a generous deadline, only a
// safety net) for counters or rings to reach the expected state, then checks
// what happened. Mbuf accounting is exact: the request mbufs come from a
// cache-less pool of the test's, so "nothing leaked" is "in use == what the
// rings still hold".
#include "runtime/runtime.hpp"

#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <sched.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "engine/client_key.hpp"
#include "wire/build.hpp"
#include "wire/dhcp.hpp"
#include "wire/frame.hpp"

namespace dorado::runtime {
namespace {

constexpr wire::Ipv4 kServer = 0x0a630001;   // 10.99.0.1
constexpr wire::Ipv4 kClient = 0x0a630164;   // 10.99.1.100

constexpr const char* kConfig = R"(
[server]
address = "10.99.0.1"
[[subnet]]
prefix = "10.99.0.0/16"
pools = ["10.99.1.0-10.99.4.255"]
routers = ["10.99.0.1"]
)";

// lcores 0-2 (control + up to 2 workers) floating over the CPUs this process
// may use, so that the test runs on any CI box.
std::string lcores_arg() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::string cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) {
        if (!cpus.empty()) cpus += ',';
        cpus += std::to_string(c);
      }
  if (cpus.empty()) cpus = "0";
  return "--lcores=(0-2)@(" + cpus + ")";
}

wire::MacAddr client_mac(unsigned n) {
  return wire::MacAddr{{0x02, 0xcc, static_cast<std::uint8_t>(n >> 16),
                        static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n), 0x01}};
}

// A client's request from 0.0.0.0:68 to the broadcast address; `dst_port`
// other than 67 makes it a UDP packet that is not for a DHCP server.
std::vector<std::uint8_t> dhcp_request(const wire::MacAddr& mac, wire::MessageType type,
                                       std::uint8_t vlan_count = 0,
                                       std::array<wire::VlanTag, 2> vlans = {},
                                       std::uint16_t dst_port = wire::kPortBootps) {
  wire::Envelope env;
  env.eth_src = mac;
  env.eth_dst = wire::MacAddr::broadcast();
  env.vlan_count = vlan_count;
  env.vlans = vlans;
  env.ip_src = 0;
  env.ip_dst = 0xffffffff;
  env.src_port = wire::kPortBootpc;
  env.dst_port = dst_port;
  wire::BootpFields b;
  b.op = 1;
  b.xid = 0x1000u + mac.b[4];
  b.flags = wire::kFlagBroadcast;
  if (type == wire::MessageType::release) b.ciaddr = kClient;
  std::memcpy(b.chaddr.data(), mac.b.data(), 6);
  wire::DhcpOptionsSpec spec;
  spec.type = type;
  std::vector<std::uint8_t> out(1600);
  const wire::BuildResult r = wire::build_dhcp_frame(out, env, b, spec);
  EXPECT_EQ(r.error, wire::Error::ok);
  out.resize(r.length);
  return out;
}

std::vector<std::uint8_t> discover(const wire::MacAddr& mac, std::uint8_t vlan_count = 0,
                                   std::array<wire::VlanTag, 2> vlans = {}) {
  return dhcp_request(mac, wire::MessageType::discover, vlan_count, vlans);
}

// The worker (of `workers`) whose shard owns the client of a request frame.
unsigned owner_of(const std::vector<std::uint8_t>& frame, unsigned workers) {
  const wire::Frame f = wire::parse_frame(frame);
  wire::DhcpMessage m;
  EXPECT_EQ(m.parse(f.udp_payload(frame)), wire::Error::ok);
  const engine::KeyResult key = engine::client_key_of(m);
  EXPECT_EQ(key.status, engine::KeyStatus::ok);
  return engine::shard_for_hash(key.key.hash, workers);
}

// An Ethernet header in a zeroed frame of frame_len bytes.
std::vector<std::uint8_t> ethernet(std::uint16_t type, const wire::MacAddr& dst,
                                   std::size_t frame_len = 14) {
  std::vector<std::uint8_t> f(frame_len);
  std::memcpy(f.data(), dst.b.data(), 6);
  std::memcpy(f.data() + 6, client_mac(0).b.data(), 6);
  wire::store_be16(f.data() + 12, type);
  return f;
}

std::vector<std::uint8_t> arp_request(wire::Ipv4 tpa) {
  auto f = ethernet(wire::kEtherTypeArp, wire::MacAddr::broadcast(), 60);   // the minimum frame
  std::uint8_t a[28] = {0, 1, 8, 0, 6, 4, 0, 1};
  std::memcpy(a + 8, client_mac(0).b.data(), 6);
  wire::store_be32(a + 14, kClient);
  wire::store_be32(a + 24, tpa);
  std::memcpy(f.data() + 14, a, sizeof a);
  return f;
}

std::vector<std::uint8_t> echo_request(const wire::MacAddr& dst_mac) {
  auto f = ethernet(wire::kEtherTypeIpv4, dst_mac);
  f.resize(14 + 20 + 8 + 16);
  std::uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  wire::store_be16(ip + 2, 20 + 8 + 16);
  ip[8] = 64;
  ip[9] = wire::kIpProtoIcmp;
  wire::store_be32(ip + 12, kClient);
  wire::store_be32(ip + 16, kServer);
  wire::store_be16(ip + 10, wire::ipv4_header_checksum({ip, 20}));
  std::uint8_t* icmp = ip + 20;
  icmp[0] = 8;
  wire::store_be16(icmp + 4, 0x1234);
  for (int i = 0; i < 16; ++i) icmp[8 + i] = static_cast<std::uint8_t>(i);
  wire::store_be16(icmp + 2, wire::ipv4_header_checksum({icmp, 24}));
  return f;
}

// A parsed reply taken from a TX ring; `mbuf` is freed by the destructor.
struct Reply {
  rte_mbuf* mbuf = nullptr;
  std::vector<std::uint8_t> bytes;
  wire::Frame frame;   // offsets into `bytes`, so it survives a move
  explicit Reply(rte_mbuf* m) : mbuf(m) {
    const auto* p = rte_pktmbuf_mtod(m, const std::uint8_t*);
    bytes.assign(p, p + m->data_len);
    frame = wire::parse_frame(bytes);
  }
  Reply(Reply&& o) noexcept
      : mbuf(std::exchange(o.mbuf, nullptr)), bytes(std::move(o.bytes)), frame(o.frame) {}
  Reply(const Reply&) = delete;
  ~Reply() { rte_pktmbuf_free(mbuf); }
  std::optional<wire::MessageType> dhcp_type() const {
    wire::DhcpMessage m;
    if (frame.kind != wire::FrameKind::ipv4_udp || m.parse(frame.udp_payload(bytes)) != wire::Error::ok)
      return std::nullopt;
    return m.message_type();
  }
  wire::Ipv4 yiaddr() const {
    wire::DhcpMessage m;
    return m.parse(frame.udp_payload(bytes)) == wire::Error::ok ? m.yiaddr : 0;
  }
  wire::MacAddr chaddr() const {
    wire::DhcpMessage m;
    return m.parse(frame.udp_payload(bytes)) == wire::Error::ok ? m.chaddr_mac() : wire::MacAddr{};
  }
};

// A net_ring port over rings of the test's. The runtime closes the port when
// it is destroyed; whatever is still on the rings is freed here.
class RingPort {
 public:
  RingPort(unsigned rx_queues, unsigned tx_queues, unsigned tx_ring_size = 4096) {
    static unsigned serial = 0;
    const std::string base = "rtt" + std::to_string(serial++);
    for (unsigned q = 0; q < rx_queues; ++q)
      rx_.push_back(rte_ring_create((base + "rx" + std::to_string(q)).c_str(), 4096, SOCKET_ID_ANY, 0));
    for (unsigned q = 0; q < tx_queues; ++q)
      tx_.push_back(rte_ring_create((base + "tx" + std::to_string(q)).c_str(), tx_ring_size, SOCKET_ID_ANY, 0));
    name_ = base + "port";
    const int id = rte_eth_from_rings(name_.c_str(), rx_.data(), rx_queues, tx_.data(), tx_queues,
                                      SOCKET_ID_ANY);
    EXPECT_GE(id, 0) << rte_strerror(rte_errno);
    id_ = static_cast<std::uint16_t>(id);
  }
  ~RingPort() {
    // Still there when the runtime never configured it (a create() refused early).
    std::uint16_t id;
    if (rte_eth_dev_get_port_by_name(name_.c_str(), &id) == 0) rte_eth_dev_close(id);
    for (rte_ring* r : rx_) free_all(r), rte_ring_free(r);
    for (rte_ring* r : tx_) free_all(r), rte_ring_free(r);
  }
  RingPort(const RingPort&) = delete;
  RingPort& operator=(const RingPort&) = delete;

  std::uint16_t id() const { return id_; }
  rte_ring* rx(unsigned q = 0) const { return rx_[q]; }
  rte_ring* tx(unsigned q = 0) const { return tx_[q]; }
  unsigned tx_count() const {
    unsigned n = 0;
    for (rte_ring* r : tx_) n += rte_ring_count(r);
    return n;
  }
  unsigned rx_count() const {
    unsigned n = 0;
    for (rte_ring* r : rx_) n += rte_ring_count(r);
    return n;
  }
  std::vector<Reply> take_replies() {
    std::vector<Reply> out;
    for (rte_ring* r : tx_) {
      void* obj = nullptr;
      while (rte_ring_dequeue(r, &obj) == 0) {
        auto* m = static_cast<rte_mbuf*>(obj);
        EXPECT_EQ(m->nb_segs, 1);
        out.emplace_back(m);
      }
    }
    return out;
  }

 private:
  static void free_all(rte_ring* r) {
    void* obj = nullptr;
    while (rte_ring_dequeue(r, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
  }
  std::string name_;
  std::uint16_t id_ = 0;
  std::vector<rte_ring*> rx_, tx_;
};

class RuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // --no-shconf: the EAL keeps no files (and no IPC socket) under its
    // runtime directory, so test processes running in parallel can share it.
    const std::vector<std::string> args = {
        "--no-pci", "--no-huge", "-m", "256", "--no-shconf", "--no-telemetry", lcores_arg(),
        "--file-prefix=dorado-runtime-test", "--log-level=*:error"};
    eal_error_ = new std::string(init_eal("runtime_test", args));
    if (!eal_error_->empty()) return;
    loaded_ = new config::LoadResult(config::load_config_string(kConfig, "runtime_test.toml"));
    pool_ = rte_pktmbuf_pool_create("rtt_requests", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
  }
  static void TearDownTestSuite() {
    if (pool_ != nullptr) rte_mempool_free(pool_);
    delete loaded_;
    delete eal_error_;
    cleanup_eal();
  }

  void SetUp() override {
    if (!eal_error_->empty()) GTEST_SKIP() << "no EAL here: " << *eal_error_;
    ASSERT_TRUE(loaded_->ok()) << loaded_->errors.front().to_string();
    ASSERT_NE(pool_, nullptr);
    ASSERT_EQ(rte_mempool_in_use_count(pool_), 0u) << "a previous test leaked request mbufs";
  }

  static RuntimeConfig runtime_config(const RingPort& port, unsigned workers) {
    RuntimeConfig c;
    c.workers = workers;
    c.idle_sleep_us = 50;   // two workers and the test share two cores
    c.ports = {port.id()};
    c.rx_desc = 256;
    c.tx_desc = 256;
    c.server_address = kServer;
    return c;
  }

  static std::unique_ptr<Runtime> start(const RuntimeConfig& c) {
    auto created = Runtime::create(c, *loaded_->compiled);
    EXPECT_TRUE(created.runtime) << created.error;
    if (!created.runtime) return nullptr;
    const std::string e = created.runtime->start();
    EXPECT_EQ(e, "");
    return std::move(created.runtime);
  }

  static rte_mbuf* mbuf_of(const std::vector<std::uint8_t>& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    EXPECT_NE(m, nullptr);
    auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(frame.size())));
    std::memcpy(p, frame.data(), frame.size());
    return m;   // m->port stays RTE_MBUF_PORT_INVALID: net_ring does not set it
  }

  static void inject(rte_ring* rx, rte_mbuf* m) { ASSERT_EQ(rte_ring_enqueue(rx, m), 0); }

  // Waits until `done` holds; the deadline only keeps a broken runtime from
  // hanging the test.
  static bool wait_for(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  static std::map<std::string, std::uint64_t> totals(const Runtime& rt) {
    std::map<std::string, std::uint64_t> t;
    for (const auto& w : rt.snapshot())
      for (const auto& [name, v] : w.counters) t[name] += v;
    return t;
  }
  static std::uint64_t counter(const Runtime& rt, const std::string& name) {
    const auto t = totals(rt);
    const auto it = t.find(name);
    return it == t.end() ? 0 : it->second;
  }
  static std::vector<std::uint64_t> per_worker(const Runtime& rt, const std::string& name) {
    std::vector<std::uint64_t> out;
    for (const auto& w : rt.snapshot()) {
      std::uint64_t v = 0;
      for (const auto& [n, x] : w.counters)
        if (n == name) v = x;
      out.push_back(v);
    }
    return out;
  }
  static void expect_no_drops(const Runtime& rt) {
    for (const auto& [name, v] : totals(rt))
      EXPECT_TRUE(name.rfind("drop.", 0) != 0 && name.rfind("engine.drop.", 0) != 0 &&
                  name.rfind("wire.", 0) != 0)
          << name << " = " << v;
  }

  static std::string* eal_error_;
  static config::LoadResult* loaded_;
  static rte_mempool* pool_;
};

std::string* RuntimeTest::eal_error_ = nullptr;
config::LoadResult* RuntimeTest::loaded_ = nullptr;
rte_mempool* RuntimeTest::pool_ = nullptr;

TEST_F(RuntimeTest, DiscoverIsAnsweredWithAnOfferInTheSameMbuf) {
  RingPort port(1, 1);
  auto rt = start(runtime_config(port, 1));
  ASSERT_TRUE(rt);
  rte_mbuf* request = mbuf_of(discover(client_mac(1)));
  inject(port.rx(), request);
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == 1; }));
  auto replies = port.take_replies();
  ASSERT_EQ(replies.size(), 1u);
  const Reply& r = replies[0];
  EXPECT_EQ(r.mbuf, request) << "the reply is written into the request's mbuf";
  ASSERT_EQ(r.frame.error, wire::Error::ok);
  EXPECT_EQ(r.dhcp_type(), wire::MessageType::offer);
  EXPECT_EQ(r.yiaddr() >> 10, 0x0a6301u >> 2) << "an address of 10.99.1.0-10.99.4.255";
  EXPECT_EQ(r.frame.udp.dst_port, wire::kPortBootpc);
  EXPECT_EQ(r.frame.ip.src, kServer);
  EXPECT_EQ(r.mbuf->port, port.id()) << "m->port set from the polled port";
  EXPECT_EQ(r.mbuf->ol_flags, 0u);
  ASSERT_TRUE(wait_for([&] { return counter(*rt, "tx_packets") == 1; }));
  EXPECT_EQ(counter(*rt, "rx_packets"), 1u);
  EXPECT_EQ(counter(*rt, "engine.tx_offer"), 1u);
  // The OFFER's options were encoded into the reply cache (published every ms).
  ASSERT_TRUE(wait_for([&] { return counter(*rt, "reply_cache_fills") == 1; }));
  EXPECT_EQ(counter(*rt, "reply_cache_hits"), 0u);
  EXPECT_EQ(counter(*rt, "reply_cache_generic"), 0u);
  expect_no_drops(*rt);
  replies.clear();
  rt->stop();
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
}

// Reload: both workers switch to a config whose only pool is 10.99.9.0/24 at
// their next loop; the next DISCOVERs are answered from it, and the old
// snapshot is no longer used once reconfigure() returns.
TEST_F(RuntimeTest, ReconfigureSwitchesEveryWorkerToTheNewPools) {
  {
    RingPort unused(1, 1);   // the runtime closes its port when destroyed
    auto created = Runtime::create(runtime_config(unused, 2), *loaded_->compiled);
    ASSERT_TRUE(created.runtime) << created.error;
    const config::LoadResult other = config::load_config_string(kConfig, "other.toml");
    ASSERT_TRUE(other.ok());
    EXPECT_FALSE(created.runtime->reconfigure(*other.compiled, {}, {}).ok) << "not before start()";
  }
  RingPort port(1, 1);
  auto rt = start(runtime_config(port, 2));
  ASSERT_TRUE(rt);
  for (unsigned i = 0; i < 8; ++i) inject(port.rx(), mbuf_of(discover(client_mac(300 + i))));
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == 8; }));
  for (const Reply& r : port.take_replies()) EXPECT_EQ(r.yiaddr() >> 10, 0x0a6301u >> 2);

  std::string text = kConfig;
  text.replace(text.find("10.99.1.0-10.99.4.255"), 21, "10.99.9.0/24");
  auto next = std::make_unique<config::LoadResult>(config::load_config_string(text, "next.toml"));
  ASSERT_TRUE(next->ok());
  unsigned waits = 0;
  const engine::AddressRange new_pool{0x0a630900u, 0x0a6309ffu};
  const Runtime::ReconfigureResult r =
      rt->reconfigure(*next->compiled, std::span(&new_pool, 1), [&] { ++waits; });
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.pool_sizes.size(), 1u);
  EXPECT_EQ(r.pool_sizes[0], 256u);
  // The gauges now have the new config's shape (one watched pool, its
  // subnets) and are exact at once: the whole pool free, nothing offered yet.
  std::uint64_t free_now = 0;
  for (const WorkerGauges& g : rt->gauges()) {
    EXPECT_EQ(g.pool_free.size(), 1u);
    EXPECT_EQ(g.subnet_free.size(), next->compiled->subnets.size());
    free_now += g.pool_free.empty() ? 0 : g.pool_free[0];
  }
  EXPECT_EQ(free_now, 256u);
  EXPECT_EQ(r.stats.dropped, 8u) << "the 8 held offers were in the removed pool";
  EXPECT_EQ(r.stats.withdrawn, 0u);
  EXPECT_EQ(per_worker(*rt, "reloads"), (std::vector<std::uint64_t>{1, 1}));
  EXPECT_GT(counter(*rt, "reload_pause_ns.max"), 0u);

  for (unsigned i = 0; i < 8; ++i) inject(port.rx(), mbuf_of(discover(client_mac(400 + i))));
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == 8; }));
  for (const Reply& reply : port.take_replies()) {
    EXPECT_EQ(reply.dhcp_type(), wire::MessageType::offer);
    EXPECT_EQ(reply.yiaddr() & 0xffffff00u, 0x0a630900u) << "an address of 10.99.9.0/24";
  }
  // The workers count the new pool: its 256 addresses less the 8 offered.
  EXPECT_TRUE(wait_for([&] {
    std::uint64_t free = 0;
    for (const WorkerGauges& g : rt->gauges()) free += g.pool_free.empty() ? 0 : g.pool_free[0];
    return free == 256u - 8u;
  }));
  expect_no_drops(*rt);
  rt->stop();
  rt.reset();
  next.reset();
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
}

TEST_F(RuntimeTest, VlanAndQinqTagsAreKeptAndAStrippedTagIsPutBack) {
  RingPort port(1, 1);
  auto rt = start(runtime_config(port, 1));
  ASSERT_TRUE(rt);
  const wire::VlanTag c_tag{wire::kEtherTypeVlan, 42};
  const wire::VlanTag s_tag{wire::kEtherTypeQinQ, 100};
  inject(port.rx(), mbuf_of(discover(client_mac(1), 1, {c_tag, {}})));
  inject(port.rx(), mbuf_of(discover(client_mac(2), 2, {s_tag, c_tag})));
  // An untagged frame whose tag "the NIC stripped" (as if VLAN strip were on).
  rte_mbuf* stripped = mbuf_of(discover(client_mac(3)));
  stripped->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
  stripped->vlan_tci = 77;
  inject(port.rx(), stripped);
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == 3; }));
  auto replies = port.take_replies();
  ASSERT_EQ(replies.size(), 3u);
  for (const auto& r : replies) {
    ASSERT_EQ(r.frame.error, wire::Error::ok);
    EXPECT_EQ(r.dhcp_type(), wire::MessageType::offer);
  }
  // One worker, one queue: replies keep the request order.
  EXPECT_EQ(replies[0].frame.eth.vlan_count, 1);
  EXPECT_EQ(replies[0].frame.eth.vlans[0], c_tag);
  EXPECT_EQ(replies[1].frame.eth.vlan_count, 2);
  EXPECT_EQ(replies[1].frame.eth.vlans[0], s_tag);
  EXPECT_EQ(replies[1].frame.eth.vlans[1], c_tag);
  EXPECT_EQ(replies[2].frame.eth.vlan_count, 1);
  EXPECT_EQ(replies[2].frame.eth.vlans[0], (wire::VlanTag{wire::kEtherTypeVlan, 77}));
  expect_no_drops(*rt);
}

// RX checksum offload: a frame the NIC marked good is not summed again (a
// wrong UDP checksum under a GOOD flag is answered: the NIC is trusted); one
// marked bad, or not marked, is checked in software, which decides.
TEST_F(RuntimeTest, NicChecksumFlagsAreTrustedWhenGoodAndCheckedOtherwise) {
  RingPort port(1, 1);
  auto rt = start(runtime_config(port, 1));
  ASSERT_TRUE(rt);
  auto corrupt = [](rte_mbuf* m) {
    rte_pktmbuf_mtod_offset(m, std::uint8_t*, 14 + 20 + 6)[0] ^= 0x5a;   // UDP checksum
    return m;
  };
  rte_mbuf* trusted = corrupt(mbuf_of(discover(client_mac(1))));
  trusted->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  rte_mbuf* flagged_bad = corrupt(mbuf_of(discover(client_mac(2))));
  flagged_bad->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
  rte_mbuf* unflagged = corrupt(mbuf_of(discover(client_mac(3))));
  rte_mbuf* wrongly_bad = mbuf_of(discover(client_mac(4)));   // intact, flagged bad
  wrongly_bad->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
  for (rte_mbuf* m : {trusted, flagged_bad, unflagged, wrongly_bad}) inject(port.rx(), m);
  ASSERT_TRUE(wait_for([&] { return counter(*rt, "rx_packets") == 4 && port.tx_count() == 2; }));
  ASSERT_TRUE(wait_for([&] { return counter(*rt, "wire.udp_bad_checksum") == 2; }));
  auto replies = port.take_replies();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].mbuf, trusted);
  EXPECT_EQ(replies[1].mbuf, wrongly_bad);
  for (const auto& r : replies) {
    ASSERT_EQ(r.frame.error, wire::Error::ok);
    EXPECT_EQ(r.dhcp_type(), wire::MessageType::offer);
  }
  replies.clear();
  rt->stop();
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
}

// With TX checksum offload (assumed here: net_ring has none) a reply leaves
// with the NIC's flags and lengths and its checksums unfinished; completed as
// the NIC does, it is a valid OFFER. Two workers on one queue: worker 1's
// replies cross the handoff ring with their flags. An ARP reply asks for
// nothing.
TEST_F(RuntimeTest, TxChecksumOffloadLeavesTheChecksumsToTheNic) {
  RingPort port(1, 1);
  RuntimeConfig c = runtime_config(port, 2);
  c.assume_tx_checksum_offload = true;
  auto rt = start(c);
  ASSERT_TRUE(rt);
  EXPECT_NE(rt->describe().find("TX checksum offload assumed"), std::string::npos) << rt->describe();
  constexpr unsigned kClients = 32;
  const wire::VlanTag c_tag{wire::kEtherTypeVlan, 42};
  for (unsigned i = 0; i < kClients; ++i)
    inject(port.rx(), mbuf_of(i % 2 ? discover(client_mac(i), 1, {c_tag, {}}) : discover(client_mac(i))));
  inject(port.rx(), mbuf_of(arp_request(kServer)));
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == kClients + 1; }));
  auto replies = port.take_replies();
  unsigned offers = 0;
  for (auto& r : replies) {
    if (r.frame.kind == wire::FrameKind::arp) {
      EXPECT_EQ(r.mbuf->ol_flags, 0u);
      continue;
    }
    EXPECT_EQ(r.mbuf->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM);
    const std::size_t l2 = r.mbuf->l2_len;
    EXPECT_TRUE(l2 == 14 || l2 == 18) << l2;
    EXPECT_EQ(r.mbuf->l3_len, 20u);
    EXPECT_EQ(r.frame.error, wire::Error::ipv4_bad_checksum) << "the IPv4 checksum is the NIC's";
    ASSERT_TRUE(wire::complete_offloaded_checksums({r.bytes.data(), r.bytes.size()}, l2));
    r.frame = wire::parse_frame(r.bytes);
    ASSERT_EQ(r.frame.error, wire::Error::ok);
    EXPECT_EQ(r.frame.eth.vlan_count, l2 == 18 ? 1 : 0);
    EXPECT_NE(r.frame.udp.checksum, 0) << "verified by parse_frame";
    EXPECT_EQ(r.dhcp_type(), wire::MessageType::offer);
    ++offers;
  }
  EXPECT_EQ(offers, kClients);
  EXPECT_GT(counter(*rt, "handed_in"), 0u) << "some replies came through the handoff ring";
  expect_no_drops(*rt);
}

TEST_F(RuntimeTest, ArpAndPingForTheServerAddressAreAnswered) {
  RingPort port(1, 1);
  auto rt = start(runtime_config(port, 1));
  ASSERT_TRUE(rt);
  rte_ether_addr mac;
  ASSERT_EQ(rte_eth_macaddr_get(port.id(), &mac), 0);
  wire::MacAddr server_mac;
  std::memcpy(server_mac.b.data(), mac.addr_bytes, 6);
  inject(port.rx(), mbuf_of(arp_request(kServer)));
  inject(port.rx(), mbuf_of(echo_request(server_mac)));
  inject(port.rx(), mbuf_of(arp_request(kServer + 1)));   // not ours: dropped
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == 2 && counter(*rt, "rx_packets") == 3; }));
  auto replies = port.take_replies();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].frame.kind, wire::FrameKind::arp);
  EXPECT_EQ(replies[0].frame.arp.op, 2);
  EXPECT_EQ(replies[0].frame.arp.sha, server_mac);
  EXPECT_EQ(replies[1].frame.kind, wire::FrameKind::ipv4_icmp);
  EXPECT_EQ(replies[1].frame.ip.src, kServer);
  EXPECT_EQ(replies[1].frame.eth.src, server_mac);
  EXPECT_EQ(counter(*rt, "arp_replies"), 1u);
  EXPECT_EQ(counter(*rt, "icmp_replies"), 1u);
  EXPECT_EQ(counter(*rt, "drop.arp_not_for_us"), 1u);
}

TEST_F(RuntimeTest, TwoWorkersOnOneQueueHandOffAndForwardTx) {
  // One RX and one TX queue for two workers: worker 1 gets its clients only
  // through the handoff ring and forwards its replies to worker 0.
  RingPort port(1, 1);
  auto rt = start(runtime_config(port, 2));
  ASSERT_TRUE(rt);
  EXPECT_NE(rt->describe().find("(none: handoff only)"), std::string::npos) << rt->describe();
  constexpr unsigned kClients = 64;
  for (unsigned i = 0; i < kClients; ++i) inject(port.rx(), mbuf_of(discover(client_mac(i))));
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == kClients; }));
  auto replies = port.take_replies();
  std::set<wire::Ipv4> addresses;
  for (const auto& r : replies) {
    EXPECT_EQ(r.dhcp_type(), wire::MessageType::offer);
    addresses.insert(r.yiaddr());
  }
  EXPECT_EQ(addresses.size(), kClients) << "no address offered twice";
  ASSERT_TRUE(wait_for([&] { return counter(*rt, "tx_packets") == kClients; }));
  const auto offers = per_worker(*rt, "engine.tx_offer");
  ASSERT_EQ(offers.size(), 2u);
  EXPECT_GT(offers[0], 0u);
  EXPECT_GT(offers[1], 0u) << "worker 1's shard served the clients it owns";
  EXPECT_EQ(counter(*rt, "handed_off"), offers[1]);
  EXPECT_EQ(counter(*rt, "handed_in"), offers[1]);
  EXPECT_EQ(per_worker(*rt, "tx_packets")[1], 0u) << "worker 1 owns no TX queue";
  expect_no_drops(*rt);
}

// The targeted trace: the worker that owns the client records its requests
// (also those handed in from the worker that polled them), and only those,
// with what its shard decided; at most `count`; trace_stop keeps them, a new
// trace_start drops them.
TEST_F(RuntimeTest, TraceRecordsTheClientsRequestsOnItsOwnWorker) {
  RingPort port(1, 1);   // worker 1 gets its clients through the handoff ring
  auto rt = start(runtime_config(port, 2));
  ASSERT_TRUE(rt);
  EXPECT_EQ(rt->trace_read().session, 0u);
  EXPECT_FALSE(rt->trace_stop()) << "no trace on";
  // One traced client on each worker.
  std::vector<unsigned> traced;
  for (unsigned owner = 0; owner < 2; ++owner)
    for (unsigned i = 1; traced.size() == owner; ++i)
      if (owner_of(discover(client_mac(500 + i)), 2) == owner) traced.push_back(500 + i);
  engine::TraceFilter f;
  f.key = engine::TraceKey::hw_address;
  f.len = 6;
  std::memcpy(f.bytes.data(), client_mac(traced[1]).b.data(), 6);
  f.count = 3;
  rt->trace_start(f);
  ASSERT_TRUE(wait_for([&] { return rt->trace_read().waiting.empty(); }));
  // Its DISCOVER among others' (the other traced client is not in the filter).
  inject(port.rx(), mbuf_of(discover(client_mac(traced[0]))));
  inject(port.rx(), mbuf_of(discover(client_mac(traced[1]))));
  for (unsigned i = 0; i < 6; ++i) inject(port.rx(), mbuf_of(discover(client_mac(600 + i))));
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == 8; }));
  wire::Ipv4 offered = 0;
  for (const Reply& r : port.take_replies())
    if (r.chaddr() == client_mac(traced[1])) offered = r.yiaddr();
  ASSERT_NE(offered, 0u);
  Runtime::TraceReading t;
  ASSERT_TRUE(wait_for([&] { return !(t = rt->trace_read()).records.empty(); }));
  EXPECT_TRUE(t.active);
  ASSERT_EQ(t.records.size(), 1u);
  EXPECT_EQ(t.records[0].first, 1u) << "recorded by the owner, which got it through the handoff ring";
  const engine::TraceRecord& r = t.records[0].second;
  EXPECT_EQ(r.message_type, static_cast<std::uint8_t>(wire::MessageType::discover));
  EXPECT_EQ(0, std::memcmp(r.chaddr.data(), client_mac(traced[1]).b.data(), 6));
  EXPECT_EQ(r.verdict, engine::Verdict::reply);
  EXPECT_EQ(r.reply_type, wire::MessageType::offer);
  EXPECT_EQ(r.yiaddr, offered);
  EXPECT_EQ(r.subnet_by, engine::SubnetBy::interface);
  EXPECT_EQ(r.reply_ip, 0xffffffffu) << "the request has the broadcast flag";
  const auto now_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  EXPECT_LE(r.time_us, now_us);
  EXPECT_GT(r.time_us + 60'000'000, now_us) << "the worker's clock in Unix microseconds";
  EXPECT_TRUE(t.full.empty());

  // Four more: three are kept (count), the first ones.
  for (unsigned i = 0; i < 4; ++i) inject(port.rx(), mbuf_of(discover(client_mac(traced[1]))));
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == 4; }));
  port.take_replies();
  ASSERT_TRUE(wait_for([&] { return (t = rt->trace_read()).records.size() >= 3; }));
  EXPECT_EQ(t.records.size(), 3u);
  EXPECT_EQ(t.full, (std::vector<unsigned>{1}));
  EXPECT_TRUE(rt->trace_stop());
  EXPECT_FALSE(rt->trace_stop());
  t = rt->trace_read();
  EXPECT_FALSE(t.active);
  EXPECT_EQ(t.records.size(), 3u) << "kept after the stop";
  // A new trace (the other client) starts empty.
  std::memcpy(f.bytes.data(), client_mac(traced[0]).b.data(), 6);
  rt->trace_start(f);
  ASSERT_TRUE(wait_for([&] { return rt->trace_read().waiting.empty(); }));
  EXPECT_TRUE(rt->trace_read().records.empty());
  inject(port.rx(), mbuf_of(discover(client_mac(traced[0]))));
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == 1; }));
  port.take_replies();
  ASSERT_TRUE(wait_for([&] { return !(t = rt->trace_read()).records.empty(); }));
  ASSERT_EQ(t.records.size(), 1u);
  EXPECT_EQ(t.records[0].first, 0u);
  expect_no_drops(*rt);
  rt->stop();
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
}

TEST_F(RuntimeTest, OneBurstMixingOwnedForeignArpAndGarbageIsSortedOut) {
  // One RX burst (burst 512, one enqueue) for two workers on one queue:
  // worker 0 parses everything, answers ARP and ping at once, serves its own
  // clients in several handle_burst() chunks, hands the rest to worker 1 in
  // bulk, drops the garbage; worker 1 forwards its replies back for TX.
  RingPort port(1, 1);
  RuntimeConfig c = runtime_config(port, 2);
  c.burst = kMaxBurst;
  auto rt = start(c);
  ASSERT_TRUE(rt);
  rte_ether_addr mac;
  ASSERT_EQ(rte_eth_macaddr_get(port.id(), &mac), 0);
  wire::MacAddr server_mac;
  std::memcpy(server_mac.b.data(), mac.addr_bytes, 6);

  constexpr unsigned kClients = 200;
  std::vector<rte_mbuf*> burst;
  unsigned owned = 0;      // DISCOVERs whose client worker 0's shard owns
  unsigned foreign = 0;    // requests (DISCOVER, RELEASE) for worker 1
  unsigned garbage = 0;
  for (unsigned i = 0; i < kClients; ++i) {
    const auto frame = discover(client_mac(2000 + i));
    (owner_of(frame, 2) == 0 ? owned : foreign) += 1;
    burst.push_back(mbuf_of(frame));
    switch (i % 25) {   // something else between the requests, 8 times each
      case 3: burst.push_back(mbuf_of(arp_request(kServer))); break;
      case 5: burst.push_back(mbuf_of(echo_request(server_mac))); break;
      case 7: burst.push_back(mbuf_of(arp_request(kServer + 1))); break;          // arp_not_for_us
      case 11: burst.push_back(mbuf_of(ethernet(0x86dd, server_mac))); break;     // not_ipv4
      case 13:                                                                    // not_dhcp
        burst.push_back(mbuf_of(dhcp_request(client_mac(1), wire::MessageType::discover, 0, {}, 53)));
        break;
      case 17: burst.push_back(mbuf_of(std::vector<std::uint8_t>(10, 0))); break;  // wire error
      case 19: {   // multi_segment
        rte_mbuf* head = mbuf_of(discover(client_mac(3000 + i)));
        EXPECT_EQ(rte_pktmbuf_chain(head, mbuf_of(std::vector<std::uint8_t>(10, 0))), 0);
        burst.push_back(head);
        break;
      }
      case 23: {   // RELEASE of an address the client does not hold: refused in a chunk
        const auto frame = dhcp_request(client_mac(4000 + i), wire::MessageType::release);
        foreign += owner_of(frame, 2);
        burst.push_back(mbuf_of(frame));
        break;
      }
      default: continue;
    }
    ++garbage;
  }
  ASSERT_GT(owned, 2 * engine::Shard::kMaxBurst) << "several chunks for worker 0";
  ASSERT_GT(kClients - owned, engine::Shard::kMaxBurst) << "more than one outbox for worker 1";
  ASSERT_LE(burst.size(), kMaxBurst);
  const auto total = static_cast<unsigned>(burst.size());
  ASSERT_EQ(rte_ring_enqueue_bulk(port.rx(), reinterpret_cast<void**>(burst.data()), total, nullptr),
            total);

  constexpr unsigned kEach = kClients / 25;
  const unsigned answers = kClients + 2 * kEach;   // offers, ARP and ping replies
  ASSERT_TRUE(wait_for([&] { return counter(*rt, "tx_packets") == answers; }));
  ASSERT_TRUE(wait_for([&] { return counter(*rt, "handed_in") == foreign; }));
  auto replies = port.take_replies();
  ASSERT_EQ(replies.size(), answers);
  std::set<wire::Ipv4> addresses;
  std::set<std::array<std::uint8_t, 6>> offered;
  unsigned arp = 0, icmp = 0;
  for (const auto& r : replies) {
    if (r.frame.kind == wire::FrameKind::arp) {
      ++arp;
    } else if (r.frame.kind == wire::FrameKind::ipv4_icmp) {
      ++icmp;
    } else {
      EXPECT_EQ(r.dhcp_type(), wire::MessageType::offer);
      addresses.insert(r.yiaddr());
      offered.insert(r.chaddr().b);
    }
  }
  EXPECT_EQ(arp, kEach);
  EXPECT_EQ(icmp, kEach);
  EXPECT_EQ(offered.size(), kClients) << "every client got its offer";
  EXPECT_EQ(addresses.size(), kClients) << "no address offered twice";

  EXPECT_EQ(counter(*rt, "rx_packets"), total);
  EXPECT_EQ(per_worker(*rt, "rx_packets")[1], 0u);
  // The RELEASEs reach the engine of their owner: their counts split too.
  EXPECT_EQ(counter(*rt, "engine.drop.release_not_leased"), kEach);
  const auto offers = per_worker(*rt, "engine.tx_offer");
  EXPECT_EQ(offers[0], owned);
  EXPECT_EQ(offers[1], kClients - owned);
  EXPECT_EQ(counter(*rt, "handed_off"), foreign);
  EXPECT_EQ(counter(*rt, "handed_in"), foreign);
  EXPECT_EQ(counter(*rt, "arp_replies"), kEach);
  EXPECT_EQ(counter(*rt, "icmp_replies"), kEach);
  EXPECT_EQ(counter(*rt, "drop.arp_not_for_us"), kEach);
  EXPECT_EQ(counter(*rt, "drop.not_ipv4"), kEach);
  EXPECT_EQ(counter(*rt, "drop.not_dhcp"), kEach);
  EXPECT_EQ(counter(*rt, "drop.multi_segment"), kEach);
  std::uint64_t wire_errors = 0;
  for (const auto& [name, v] : totals(*rt))
    if (name.rfind("wire.", 0) == 0) wire_errors += v;
  EXPECT_EQ(wire_errors, kEach);
  EXPECT_EQ(garbage, 8 * kEach);
  EXPECT_EQ(counter(*rt, "drop.handoff_full"), 0u);
  EXPECT_EQ(counter(*rt, "drop.tx_full"), 0u);
  replies.clear();
  rt->stop();
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "every mbuf freed or sent exactly once";
}

TEST_F(RuntimeTest, MoreThanAChunkOfOwnedRequestsInOneBurstAreAnsweredInOrder) {
  // 100 DISCOVERs in one RX burst: chunks of 32, 32, 32 and 4 for one
  // worker. Replies keep the request order across chunks; a RELEASE the
  // engine refuses in the middle of a chunk frees its mbuf; a client that
  // asks twice in one chunk is offered the same address, as one by one.
  RingPort port(1, 1);
  RuntimeConfig c = runtime_config(port, 1);
  c.burst = kMaxBurst;
  auto rt = start(c);
  ASSERT_TRUE(rt);
  constexpr unsigned kClients = 100;
  std::vector<rte_mbuf*> burst;
  std::vector<wire::MacAddr> order;
  for (unsigned i = 0; i < kClients; ++i) {
    burst.push_back(mbuf_of(discover(client_mac(5000 + i))));
    order.push_back(client_mac(5000 + i));
    if (i % 10 == 5)
      burst.push_back(mbuf_of(dhcp_request(client_mac(6000 + i), wire::MessageType::release)));
    if (i == 40) {   // in the chunk that also holds its first DISCOVER
      burst.push_back(mbuf_of(discover(client_mac(5035))));
      order.push_back(client_mac(5035));
    }
  }
  const auto total = static_cast<unsigned>(burst.size());
  ASSERT_EQ(rte_ring_enqueue_bulk(port.rx(), reinterpret_cast<void**>(burst.data()), total, nullptr),
            total);
  ASSERT_TRUE(wait_for([&] { return counter(*rt, "tx_packets") == order.size(); }));
  auto replies = port.take_replies();
  ASSERT_EQ(replies.size(), order.size());
  std::map<std::array<std::uint8_t, 6>, wire::Ipv4> address_of;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    EXPECT_EQ(replies[i].dhcp_type(), wire::MessageType::offer);
    EXPECT_EQ(replies[i].chaddr(), order[i]) << "reply " << i;
    const auto [it, fresh] = address_of.emplace(replies[i].chaddr().b, replies[i].yiaddr());
    if (!fresh) {
      EXPECT_EQ(it->second, replies[i].yiaddr()) << "the repeated DISCOVER";
    }
  }
  EXPECT_EQ(address_of.size(), kClients);
  EXPECT_EQ(counter(*rt, "rx_packets"), total);
  EXPECT_EQ(counter(*rt, "engine.tx_offer"), order.size());
  EXPECT_EQ(counter(*rt, "engine.drop.release_not_leased"), kClients / 10);
  replies.clear();
  rt->stop();
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
}

TEST_F(RuntimeTest, TwoWorkersOnTwoQueuesEachPollTheirOwn) {
  RingPort port(2, 2);
  auto rt = start(runtime_config(port, 2));
  ASSERT_TRUE(rt);
  constexpr unsigned kClients = 40;
  for (unsigned i = 0; i < kClients; ++i) inject(port.rx(i % 2), mbuf_of(discover(client_mac(100 + i))));
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == kClients; }));
  EXPECT_EQ(port.take_replies().size(), kClients);
  const auto rx = per_worker(*rt, "rx_packets");
  EXPECT_EQ(rx[0], kClients / 2);
  EXPECT_EQ(rx[1], kClients / 2);
  expect_no_drops(*rt);
}

TEST_F(RuntimeTest, GaugesShowOffersAndFreeAddressesOfEveryShard) {
  RingPort port(2, 2);
  auto created = Runtime::create(runtime_config(port, 2), *loaded_->compiled);
  ASSERT_TRUE(created.runtime) << created.error;
  auto rt = std::move(created.runtime);
  // Every pool of the config, plus one that straddles two blocks and one
  // outside every subnet.
  std::vector<engine::AddressRange> pools;
  for (const auto& sc : loaded_->config->engine.subnets)
    for (const auto& r : sc.pools) pools.push_back(r);
  const std::size_t configured = pools.size();
  pools.push_back({0x0a63013c, 0x0a630143});   // 10.99.1.60-10.99.1.67: two blocks
  pools.push_back({0x0a620000, 0x0a62000a});   // 10.98.0.0-10.98.0.10: in no subnet
  const auto sizes = rt->watch_pools(pools);
  ASSERT_EQ(sizes.size(), configured + 2);
  EXPECT_EQ(sizes[configured], 8u);
  EXPECT_EQ(sizes[configured + 1], 0u);
  ASSERT_EQ(rt->start(), "");
  const engine::CompiledConfig& cc = *loaded_->compiled;
  std::vector<std::uint64_t> size(cc.subnets.size(), 0);
  for (const auto& b : cc.blocks) size[b.subnet] += static_cast<std::uint64_t>(__builtin_popcountll(b.allocatable));
  const auto sum = [&](const std::vector<runtime::WorkerGauges>& g, auto field) {
    std::uint64_t t = 0;
    for (const auto& w : g) t += field(w);
    return t;
  };
  auto g = rt->gauges();
  ASSERT_EQ(g.size(), 2u);
  for (const auto& w : g) {
    EXPECT_EQ(w.subnet_free.size(), cc.subnets.size());
    EXPECT_GT(w.change_ring_size, 0u);
    EXPECT_GT(w.handoff_in_size, 0u);
  }
  for (std::size_t s = 0; s < cc.subnets.size(); ++s)
    EXPECT_EQ(sum(g, [&](const auto& w) { return w.subnet_free[s]; }), size[s]) << "subnet " << s;
  constexpr unsigned kClients = 40;
  for (unsigned i = 0; i < kClients; ++i) inject(port.rx(i % 2), mbuf_of(discover(client_mac(300 + i))));
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == kClients; }));
  port.take_replies();
  // Published within ~1 ms of the change.
  const auto offered = static_cast<std::size_t>(engine::LeaseState::offered);
  ASSERT_TRUE(wait_for([&] {
    g = rt->gauges();
    return sum(g, [&](const auto& w) { return w.lease_states[offered]; }) == kClients;
  }));
  std::uint64_t free_total = 0, size_total = 0;
  for (std::size_t s = 0; s < cc.subnets.size(); ++s) {
    free_total += sum(g, [&](const auto& w) { return w.subnet_free[s]; });
    size_total += size[s];
  }
  EXPECT_EQ(free_total, size_total - kClients);
  // The pools' free counts (a background pass) agree with the subnets'.
  std::uint64_t pool_size = 0, pool_free = 0;
  for (std::size_t p = 0; p < configured; ++p) pool_size += sizes[p];
  EXPECT_EQ(pool_size, size_total);
  ASSERT_TRUE(wait_for([&] {
    g = rt->gauges();
    pool_free = 0;
    for (std::size_t p = 0; p < configured; ++p) pool_free += sum(g, [&](const auto& w) { return w.pool_free[p]; });
    return pool_free == size_total - kClients;
  })) << pool_free;
  EXPECT_EQ(sum(g, [&](const auto& w) { return w.lease_states[static_cast<std::size_t>(engine::LeaseState::active)]; }), 0u);
  expect_no_drops(*rt);
}

TEST_F(RuntimeTest, StopLeavesEveryMbufAccountedFor) {
  // Requests still in flight when stop() comes: received, in a handoff ring,
  // in a TX buffer or forwarded. Afterwards every request mbuf is on the RX
  // ring (never read), on the TX ring (answered) or back in the pool.
  RingPort port(1, 1);
  auto rt = start(runtime_config(port, 2));
  ASSERT_TRUE(rt);
  constexpr unsigned kRequests = 3000;
  for (unsigned i = 0; i < kRequests; ++i) inject(port.rx(), mbuf_of(discover(client_mac(i % 200))));
  ASSERT_TRUE(wait_for([&] { return counter(*rt, "rx_packets") > 0; }));
  rt->stop();
  EXPECT_EQ(rte_mempool_in_use_count(pool_), port.rx_count() + port.tx_count());
  rt.reset();   // closes the port; the rings and what is on them are the test's
  EXPECT_EQ(rte_mempool_in_use_count(pool_), port.rx_count() + port.tx_count());
}

TEST_F(RuntimeTest, AFullTxQueueIsCountedAndItsMbufsFreed) {
  RingPort port(1, 1, 64);   // the TX "queue" takes 63 frames, and nobody reads it
  RuntimeConfig c = runtime_config(port, 1);
  c.burst = kMaxBurst;        // the loader's largest burst: one RX burst takes all requests
  c.tx_desc = 1024;           // TX buffer of min(burst, tx_desc / 2) = 512
  auto rt = start(c);
  ASSERT_TRUE(rt);
  constexpr unsigned kClients = 400;
  std::vector<rte_mbuf*> burst;
  for (unsigned i = 0; i < kClients; ++i) burst.push_back(mbuf_of(discover(client_mac(1000 + i))));
  ASSERT_EQ(rte_ring_enqueue_bulk(port.rx(), reinterpret_cast<void**>(burst.data()), kClients, nullptr),
            kClients);
  ASSERT_TRUE(wait_for([&] {
    return counter(*rt, "tx_packets") + counter(*rt, "drop.tx_full") == kClients;
  }));
  EXPECT_EQ(counter(*rt, "tx_packets"), 63u);
  EXPECT_EQ(counter(*rt, "drop.tx_full"), kClients - 63);
  EXPECT_EQ(counter(*rt, "engine.tx_offer"), kClients);
  rt->stop();
  EXPECT_EQ(rte_mempool_in_use_count(pool_), port.tx_count());
}

TEST_F(RuntimeTest, SharedOrIndirectMbufsAreCopiedBeforeTheReplyIsWritten) {
  RingPort port(1, 1);
  auto rt = start(runtime_config(port, 1));
  ASSERT_TRUE(rt);
  const auto frame = discover(client_mac(7));
  // An indirect mbuf (a clone) and a direct one that someone else also holds.
  rte_mbuf* original = mbuf_of(frame);
  rte_mbuf* clone = rte_pktmbuf_clone(original, pool_);
  ASSERT_NE(clone, nullptr);
  rte_mbuf* shared = mbuf_of(discover(client_mac(8)));
  rte_mbuf_refcnt_update(shared, 1);
  inject(port.rx(), clone);
  inject(port.rx(), shared);
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == 2; }));
  {
    auto replies = port.take_replies();
    ASSERT_EQ(replies.size(), 2u);
    for (const auto& r : replies) {
      EXPECT_EQ(r.dhcp_type(), wire::MessageType::offer);
      EXPECT_NE(r.mbuf, clone);
      EXPECT_NE(r.mbuf, shared);
      EXPECT_EQ(r.mbuf->pool, rte_mempool_lookup(("dorado_mb_" + std::to_string(port.id())).c_str()))
          << "copied into the port's pool";
    }
    // The replies (runtime mbufs) go back before the runtime frees its pool.
  }
  EXPECT_EQ(0, std::memcmp(rte_pktmbuf_mtod(original, const void*), frame.data(), frame.size()))
      << "the clone's data is untouched";
  EXPECT_EQ(rte_mbuf_refcnt_read(original), 1) << "the clone was freed";
  EXPECT_EQ(rte_mbuf_refcnt_read(shared), 1) << "the runtime dropped its reference";
  rte_pktmbuf_free(original);
  rte_pktmbuf_free(shared);
  expect_no_drops(*rt);
}

TEST_F(RuntimeTest, MultiSegmentFramesAreDroppedAndFreed) {
  RingPort port(1, 1);
  auto rt = start(runtime_config(port, 1));
  ASSERT_TRUE(rt);
  rte_mbuf* head = mbuf_of(discover(client_mac(9)));
  rte_mbuf* tail = mbuf_of(std::vector<std::uint8_t>(10, 0));
  ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);
  inject(port.rx(), head);
  ASSERT_TRUE(wait_for([&] { return counter(*rt, "drop.multi_segment") == 1; }));
  rt->stop();
  EXPECT_EQ(port.tx_count(), 0u);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
}

TEST_F(RuntimeTest, BadSettingsAreRefusedAndAFailedCreateReleasesEverything) {
  {
    RingPort port(1, 1);
    RuntimeConfig c = runtime_config(port, 1);
    c.burst = 0;
    EXPECT_NE(Runtime::create(c, *loaded_->compiled).error.find("burst must be 1..512"), std::string::npos);
    c.burst = kMaxBurst + 1;
    EXPECT_NE(Runtime::create(c, *loaded_->compiled).error.find("burst must be 1..512"), std::string::npos);
    c.burst = 32;
    c.workers = 0;
    EXPECT_FALSE(Runtime::create(c, *loaded_->compiled).runtime);
    c.workers = 1;
    c.ports = {RTE_MAX_ETHPORTS - 1};
    EXPECT_NE(Runtime::create(c, *loaded_->compiled).error.find("no such port"), std::string::npos);
  }
  {
    // Fails after the port, its pool and the shards were set up.
    RingPort port(1, 1);
    RuntimeConfig c = runtime_config(port, rte_lcore_count());
    const auto created = Runtime::create(c, *loaded_->compiled);
    EXPECT_FALSE(created.runtime);
    EXPECT_NE(created.error.find("lcores"), std::string::npos) << created.error;
  }
  // Pools and rings have fixed names: a leak would make this create fail.
  RingPort port(1, 1);
  auto rt = start(runtime_config(port, 2));
  ASSERT_TRUE(rt);
  inject(port.rx(), mbuf_of(discover(client_mac(11))));
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == 1; }));
}

TEST_F(RuntimeTest, CountersTextHasTheFormatTheTestsParse) {
  RingPort port(1, 1);
  auto rt = start(runtime_config(port, 2));
  ASSERT_TRUE(rt);
  inject(port.rx(), mbuf_of(discover(client_mac(12))));
  ASSERT_TRUE(wait_for([&] { return port.tx_count() == 1; }));
  ASSERT_TRUE(wait_for([&] { return counter(*rt, "tx_packets") == 1; }));
  rt->stop();
  const std::string text = rt->counters_text();
  EXPECT_EQ(text.rfind("counters (all workers):\n", 0), 0u) << text;
  EXPECT_NE(text.find("\n  rx_packets "), std::string::npos) << text;
  EXPECT_NE(text.find("\nport " + std::to_string(port.id()) + ":\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nworker 1 (lcore "), std::string::npos) << text;
  EXPECT_NE(rt->describe().find("mbufs"), std::string::npos);
}

TEST_F(RuntimeTest, ShardTablesHoldEveryAddressTwiceAndAtLeast4096) {
  const engine::LeaseTableSizes one = shard_table_for(*loaded_->compiled, 1);
  EXPECT_EQ(one.capacity, 4096u);   // 1024 addresses: the floor
  EXPECT_EQ(one.hostname_capacity, one.capacity);
  EXPECT_GE(one.long_key_capacity, 64u);
  // [dpdk] max_leases sets it, whatever the pools.
  EXPECT_EQ(shard_table_for(*loaded_->compiled, 1, 3000000).capacity, 3000000u);
  EXPECT_EQ(shard_table_for(*loaded_->compiled, 2, 3000000).hostname_capacity, 3000000u);
}

}  // namespace
}  // namespace dorado::runtime

namespace dorado::runtime {
namespace {

// An admin request adding a 10-minute lease of `addr` for the client with
// MAC `mac` (htype 1).
engine::AdminRequest add_lease_request(const Runtime& rt, const wire::MacAddr& mac, wire::Ipv4 addr) {
  const engine::ClientKey key = engine::client_key_hw(1, {mac.b.data(), 6});
  engine::AdminRequest add;
  add.id = 1;
  add.op = engine::AdminOp::add;
  add.lease.key_len = key.len;
  std::memcpy(add.lease.key.data(), key.bytes.data(), key.len);
  add.lease.address = addr;
  add.lease.htype = 1;
  add.lease.chaddr = mac;
  add.lease.expires = rt.now() + 600;
  return add;
}

// Durability off (ship_changes false): a change is counted, not copied into
// the ring, since nothing reads it; the same change with ship_changes comes
// out of the ring.
TEST_F(RuntimeTest, ChangesAreCountedButNotShippedWhenNothingReadsThem) {
  for (const bool ship : {false, true}) {
    RingPort port(1, 1);
    RuntimeConfig c = runtime_config(port, 1);
    c.ship_changes = ship;
    auto rt = start(c);
    ASSERT_TRUE(rt);
    const wire::MacAddr mac{{0x02, 0xaa, 0, 0, 0, 0x43}};
    ASSERT_TRUE(rt->submit_admin(0, add_lease_request(*rt, mac, 0x0a630100u + 10)));
    std::vector<engine::AdminReply> replies;
    ASSERT_TRUE(wait_for([&] {
      rt->poll_admin([&](unsigned, const engine::AdminReply& r) { replies.push_back(r); });
      return !replies.empty();
    }));
    EXPECT_EQ(replies[0].status, engine::AdminStatus::ok);
    ASSERT_TRUE(wait_for([&] { return counter(*rt, "lease_changes") == 1; }));
    // Counted after the ring took it: one poll sees what was shipped.
    const std::size_t shipped = rt->poll_control([](unsigned, std::span<const engine::LeaseChange>) {});
    EXPECT_EQ(shipped, ship ? 1u : 0u) << "ship_changes " << ship;
    rt->stop();
  }
}

// The control API's messages through the workers' admin rings: a lease added
// on the client's shard, found by address (every shard asked, one answers),
// deleted; each change comes out of the change ring like a packet's.
TEST_F(RuntimeTest, AdminRequestsAreServedByTheOwningWorkerAndEmitRecords) {
  RingPort port(1, 1);
  auto rt = start(runtime_config(port, 2));
  ASSERT_TRUE(rt);
  const wire::MacAddr mac{{0x02, 0xaa, 0, 0, 0, 0x42}};
  const engine::ClientKey key = engine::client_key_hw(1, {mac.b.data(), 6});
  const unsigned shard = engine::shard_for_hash(key.hash, 2);
  // Blocks of 64 alternate between the two shards: pick one of ours.
  const wire::Ipv4 addr = 0x0a630100u + 10 + 64 * shard;

  std::vector<std::pair<unsigned, engine::AdminReply>> replies;
  std::vector<engine::LeaseChange> records;
  auto take_records = [&] {
    rt->poll_control([&](unsigned, std::span<const engine::LeaseChange> c) {
      records.insert(records.end(), c.begin(), c.end());
    });
  };
  auto pump = [&](std::size_t want_last) {
    return wait_for([&] {
      rt->poll_admin([&](unsigned w, const engine::AdminReply& r) { replies.emplace_back(w, r); });
      take_records();
      std::size_t last = 0;
      for (const auto& [w, r] : replies) last += r.last;
      return last >= want_last;
    });
  };

  ASSERT_TRUE(rt->submit_admin(shard, add_lease_request(*rt, mac, addr)));
  ASSERT_TRUE(pump(1));
  ASSERT_EQ(replies.back().first, shard);
  EXPECT_EQ(replies.back().second.status, engine::AdminStatus::ok);
  ASSERT_TRUE(wait_for([&] {
    take_records();
    return !records.empty();
  }));
  EXPECT_EQ(records.back().op, engine::LeaseOp::commit);
  EXPECT_EQ(records.back().address, addr);

  replies.clear();
  engine::AdminRequest find;
  find.id = 2;
  find.op = engine::AdminOp::find_address;
  find.address = addr;
  ASSERT_TRUE(rt->submit_admin(0, find));
  ASSERT_TRUE(rt->submit_admin(1, find));
  ASSERT_TRUE(pump(2));
  unsigned found = 0;
  for (const auto& [w, r] : replies) {
    EXPECT_EQ(r.id, 2u);
    if (r.has_lease) {
      ++found;
      EXPECT_EQ(w, shard);
      EXPECT_EQ(r.lease.chaddr, mac);
      EXPECT_EQ(r.state, engine::LeaseState::active);
    }
  }
  EXPECT_EQ(found, 1u);

  replies.clear();
  records.clear();
  engine::AdminRequest del = find;
  del.id = 3;
  del.op = engine::AdminOp::del_address;
  ASSERT_TRUE(rt->submit_admin(shard, del));
  ASSERT_TRUE(pump(1));
  EXPECT_EQ(replies.back().second.count, 1u);
  ASSERT_TRUE(wait_for([&] {
    take_records();
    return !records.empty();
  }));
  EXPECT_EQ(records.back().op, engine::LeaseOp::reclaim);
  EXPECT_EQ(records.back().address, addr);
  expect_no_drops(*rt);
}

}  // namespace
}  // namespace dorado::runtime
