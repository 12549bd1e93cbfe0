// Unit tests for control/config: TOML -> DaemonConfig. A good config maps to
// the expected EngineConfig values; every error class reports the exact
// "FILE:LINE: key" it promises; errors are collected, not just the first;
// nothing throws. The files under tests/configs/{good,bad} (reused by the
// daemon's --check-config end-to-end test) and tools/dorado.example.toml are
// loaded here too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/detail.hpp"
#include "config/values.hpp"
#include "engine/config.hpp"

namespace dorado::config {
namespace {

using engine::AddressRange;
using engine::Ipv4;

constexpr Ipv4 ip(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

LoadResult load(std::string_view text) { return load_config_string(text, "a.toml"); }

std::string all_errors(const LoadResult& r) {
  std::string s;
  for (const ConfigError& e : r.errors) s += "\n  " + e.to_string();
  return s.empty() ? "\n  (no errors)" : s;
}

// Some error's text starts with `prefix` ("a.toml:12: subnet[1].prefix: ...").
::testing::AssertionResult has_error(const LoadResult& r, std::string_view prefix) {
  for (const ConfigError& e : r.errors)
    if (e.to_string().rfind(prefix, 0) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no error starting with \"" << prefix << "\" in:"
                                       << all_errors(r);
}

// Exactly one error, and it starts with `prefix`.
::testing::AssertionResult only_error(const LoadResult& r, std::string_view prefix) {
  if (r.errors.size() != 1)
    return ::testing::AssertionFailure() << "expected exactly one error starting with \"" << prefix
                                         << "\", got:" << all_errors(r);
  return has_error(r, prefix);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::uint8_t> bytes(std::initializer_list<int> v) {
  std::vector<std::uint8_t> out;
  for (int x : v) out.push_back(static_cast<std::uint8_t>(x));
  return out;
}

const engine::OptionData* option(const std::vector<engine::OptionData>& list, int code) {
  for (const engine::OptionData& o : list)
    if (o.code == code) return &o;
  return nullptr;
}

// Two lines every config below starts with.
constexpr std::string_view kHead = "[server]\naddress = \"10.99.0.1\"\n";

LoadResult with_head(std::string_view rest) { return load(std::string(kHead) + std::string(rest)); }

// The same two lines with another server address.
LoadResult with_server(std::string_view address, std::string_view rest) {
  return load("[server]\naddress = \"" + std::string(address) + "\"\n" + std::string(rest));
}

// ---- good configs ---------------------------------------------------------------

TEST(ConfigGood, FullFileMapsToEngineConfig) {
  const LoadResult r = load_config_file(DORADO_CONFIG_TEST_DIR "/good/full.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_TRUE(r.config.has_value());
  ASSERT_TRUE(r.compiled.has_value());
  const DaemonConfig& c = *r.config;

  EXPECT_EQ(c.server.address, ip(10, 99, 0, 1));
  EXPECT_EQ(c.engine.server_address, ip(10, 99, 0, 1));
  EXPECT_EQ(c.dpdk.eal_args,
            (std::vector<std::string>{"--no-pci", "--vdev=net_af_packet0,iface=veth0", "-l", "0-2"}));
  EXPECT_EQ(c.dpdk.workers, 2u);
  EXPECT_EQ(c.dpdk.idle_sleep_us, 50u);
  EXPECT_EQ(c.dpdk.ports, (std::vector<std::uint16_t>{0, 1}));
  EXPECT_EQ(c.dpdk.mbufs, 16383u);
  EXPECT_EQ(c.dpdk.rx_desc, 2048u);
  EXPECT_EQ(c.dpdk.tx_desc, 512u);
  EXPECT_EQ(c.dpdk.burst, 64u);
  EXPECT_EQ(c.store.dir, "/tmp/dorado-test");
  EXPECT_EQ(c.store.durability, Durability::async);
  EXPECT_EQ(c.store.commit_interval_us, 500u);
  EXPECT_EQ(c.store.commit_records, 2048u);
  EXPECT_EQ(c.store.segment_mb, 16u);
  EXPECT_EQ(c.store.snapshot_records, 100000u);
  EXPECT_FALSE(c.store.snapshot_on_exit);
  EXPECT_EQ(c.control.socket, "/tmp/dorado-test.sock");
  EXPECT_EQ(c.engine.offer_hold_s, 10u);
  EXPECT_EQ(c.engine.decline_probation_s, 600u);

  ASSERT_EQ(c.engine.options.size(), 2u);
  const engine::OptionData* ntp = option(c.engine.options, 42);
  ASSERT_NE(ntp, nullptr);
  EXPECT_EQ(ntp->value, bytes({10, 99, 0, 123, 10, 99, 0, 124}));
  EXPECT_TRUE(ntp->always_send);
  const engine::OptionData* offset = option(c.engine.options, 2);
  ASSERT_NE(offset, nullptr);
  EXPECT_EQ(offset->value, bytes({0, 0, 0x0e, 0x10}));
  EXPECT_FALSE(offset->always_send);

  ASSERT_EQ(c.engine.subnets.size(), 2u);
  const engine::SubnetConfig& s = c.engine.subnets[0];
  EXPECT_EQ(s.id, 10u);
  EXPECT_EQ(s.prefix, ip(10, 99, 0, 0));
  EXPECT_EQ(s.prefix_len, 16);
  ASSERT_EQ(s.pools.size(), 2u);
  EXPECT_EQ(s.pools[0].first, ip(10, 99, 1, 0));
  EXPECT_EQ(s.pools[0].last, ip(10, 99, 1, 255));
  EXPECT_EQ(s.pools[1].first, ip(10, 99, 2, 0));
  EXPECT_EQ(s.pools[1].last, ip(10, 99, 2, 255));
  ASSERT_EQ(s.exclusions.size(), 2u);
  EXPECT_EQ(s.exclusions[0].first, ip(10, 99, 1, 1));
  EXPECT_EQ(s.exclusions[0].last, ip(10, 99, 1, 9));
  EXPECT_EQ(s.exclusions[1].first, ip(10, 99, 2, 7));
  EXPECT_EQ(s.exclusions[1].last, ip(10, 99, 2, 7));
  EXPECT_EQ(s.routers, (std::vector<Ipv4>{ip(10, 99, 0, 1)}));
  EXPECT_EQ(s.dns_servers, (std::vector<Ipv4>{ip(10, 99, 0, 53), ip(10, 99, 0, 54)}));
  EXPECT_EQ(s.domain_name, "example.net");
  EXPECT_EQ(s.lease_time, 7200u);
  EXPECT_EQ(s.min_lease_time, 600u);
  EXPECT_EQ(s.max_lease_time, 14400u);
  EXPECT_DOUBLE_EQ(s.t1_ratio, 0.4);
  EXPECT_DOUBLE_EQ(s.t2_ratio, 0.8);
  EXPECT_EQ(s.server_id, ip(10, 99, 0, 1));

  ASSERT_EQ(s.reservations.size(), 2u);
  ASSERT_TRUE(s.reservations[0].mac.has_value());
  EXPECT_EQ(*s.reservations[0].mac, (wire::MacAddr{{2, 0, 0, 0, 0, 1}}));
  EXPECT_TRUE(s.reservations[0].client_id.empty());
  EXPECT_EQ(s.reservations[0].address, ip(10, 99, 0, 100));
  ASSERT_TRUE(s.reservations[1].mac.has_value());
  EXPECT_EQ(*s.reservations[1].mac, (wire::MacAddr{{2, 0, 0, 0, 0, 2}}));
  EXPECT_EQ(s.reservations[1].client_id, bytes({1, 2, 0, 0, 0, 0, 2}));
  EXPECT_EQ(s.reservations[1].address, ip(10, 99, 0, 101));

  ASSERT_EQ(s.options.size(), 4u);
  EXPECT_EQ(s.options[0].code, 26);
  EXPECT_EQ(s.options[0].value, bytes({0x05, 0xdc}));
  EXPECT_EQ(s.options[1].code, 119);
  EXPECT_EQ(s.options[1].value,
            bytes({7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'n', 'e', 't', 0}));
  EXPECT_EQ(s.options[2].code, 252);
  EXPECT_EQ(s.options[2].value, engine::encode_string("http://wpad.example.net/wpad.dat"));
  EXPECT_FALSE(s.options[2].always_send);
  EXPECT_EQ(s.options[3].code, 150);
  EXPECT_EQ(s.options[3].value, bytes({1, 2, 3}));

  // A single string where a list is expected is a list of one.
  const engine::SubnetConfig& t = c.engine.subnets[1];
  EXPECT_EQ(t.id, 11u);
  ASSERT_EQ(t.pools.size(), 1u);
  EXPECT_EQ(t.pools[0].first, ip(10, 100, 0, 10));
  EXPECT_EQ(t.pools[0].last, ip(10, 100, 0, 200));
  EXPECT_EQ(t.routers, (std::vector<Ipv4>{ip(10, 100, 0, 1)}));

  EXPECT_EQ(s.relays, (std::vector<Ipv4>{ip(10, 99, 0, 1)}));
  EXPECT_EQ(t.relays, (std::vector<Ipv4>{ip(10, 100, 0, 1)}));

  // The compiled snapshot agrees.
  const engine::CompiledConfig& cc = *r.compiled;
  ASSERT_EQ(cc.subnets.size(), 2u);
  EXPECT_EQ(cc.subnet_index_of(ip(10, 99, 7, 7)), 0u);
  EXPECT_EQ(cc.subnets[0].id, 10u);
  EXPECT_EQ(cc.subnets[0].lease_time, 7200u);
  EXPECT_EQ(cc.offer_hold_s, 10u);
  EXPECT_EQ(cc.reservations.size(), 3u);   // two MACs and one client-id
  EXPECT_TRUE(cc.relays.empty());   // both relays lie inside their own subnet
}

TEST(ConfigGood, MinimalGetsDefaults) {
  const LoadResult r = with_head("[[subnet]]\nprefix = \"10.99.0.0/16\"\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const DaemonConfig& c = *r.config;
  EXPECT_TRUE(c.dpdk.eal_args.empty());
  EXPECT_EQ(c.dpdk.workers, 1u);
  EXPECT_EQ(c.dpdk.idle_sleep_us, 0u);
  EXPECT_TRUE(c.dpdk.ports.empty());
  EXPECT_EQ(c.dpdk.mbufs, default_mbufs(1, 1024, 1024));
  EXPECT_EQ(c.dpdk.rx_desc, 1024u);
  EXPECT_EQ(c.dpdk.tx_desc, 1024u);
  EXPECT_EQ(c.dpdk.burst, 32u);
  EXPECT_EQ(c.dpdk.max_leases, 0u);   // from the pools
  EXPECT_EQ(c.store.dir, "/var/lib/dorado");
  EXPECT_EQ(c.store.durability, Durability::fsync);
  EXPECT_EQ(c.store.commit_interval_us, 1000u);
  EXPECT_EQ(c.store.commit_records, 16384u);
  EXPECT_EQ(c.store.segment_mb, 64u);
  EXPECT_EQ(c.store.snapshot_records, 4000000u);
  EXPECT_TRUE(c.store.snapshot_on_exit);
  EXPECT_EQ(c.control.socket, "/run/dorado/dorado.sock");
  EXPECT_TRUE(c.control.metrics_enabled);
  EXPECT_EQ(c.control.metrics_address, 0x7f000001u);
  EXPECT_EQ(c.control.metrics_port, 9167);
  EXPECT_EQ(c.control.pool_warn_percent, 90u);
  EXPECT_EQ(c.engine.offer_hold_s, 30u);
  EXPECT_EQ(c.engine.decline_probation_s, 86400u);
  EXPECT_TRUE(c.engine.options.empty());
  ASSERT_EQ(c.engine.subnets.size(), 1u);
  const engine::SubnetConfig& s = c.engine.subnets[0];
  EXPECT_EQ(s.id, 1u);   // 1-based position
  EXPECT_TRUE(s.pools.empty());
  EXPECT_EQ(s.lease_time, 3600u);
  EXPECT_EQ(s.min_lease_time, 300u);
  EXPECT_EQ(s.max_lease_time, 86400u);
  EXPECT_DOUBLE_EQ(s.t1_ratio, 0.5);
  EXPECT_DOUBLE_EQ(s.t2_ratio, 0.875);
  EXPECT_EQ(s.server_id, 0u);
  EXPECT_TRUE(s.relays.empty());
  EXPECT_FALSE(s.bootp);
}

// [[subnet]] bootp: a boolean per subnet, compiled into the snapshot;
// anything else refused with its line.
TEST(ConfigGood, BootpPerSubnet) {
  const LoadResult r = with_head(R"([[subnet]]
prefix = "10.99.0.0/16"
bootp = true
[[subnet]]
prefix = "10.98.0.0/16"
bootp = false
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(r.config->engine.subnets[0].bootp);
  EXPECT_FALSE(r.config->engine.subnets[1].bootp);
  const engine::CompileResult c = engine::compile(r.config->engine);
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_FALSE(c.config.subnets[0].bootp);   // sorted: 10.98 first
  EXPECT_TRUE(c.config.subnets[1].bootp);
  EXPECT_TRUE(only_error(with_head("[[subnet]]\nprefix = \"10.99.0.0/16\"\nbootp = \"yes\"\n"),
                         "a.toml:5: subnet[0].bootp: expected a boolean (true or false), got a string"));
}

// RFC 4039 rapid commit: [lease] rapid_commit is the default of subnets
// that do not set their own; compiled per subnet; not a boolean: refused.
TEST(ConfigGood, RapidCommitGlobalAndPerSubnet) {
  const LoadResult r = with_head(R"([lease]
rapid_commit = true
[[subnet]]
prefix = "10.99.0.0/16"
[[subnet]]
prefix = "10.98.0.0/16"
rapid_commit = false
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(r.config->engine.rapid_commit);
  EXPECT_FALSE(r.config->engine.subnets[0].rapid_commit.has_value());
  EXPECT_EQ(r.config->engine.subnets[1].rapid_commit, std::optional<bool>(false));
  const engine::CompileResult c = engine::compile(r.config->engine);
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_FALSE(c.config.subnets[0].rapid_commit);   // sorted: 10.98 first
  EXPECT_TRUE(c.config.subnets[1].rapid_commit);
  const LoadResult off = with_head("[[subnet]]\nprefix = \"10.99.0.0/16\"\n");
  ASSERT_TRUE(off.ok()) << all_errors(off);
  EXPECT_FALSE(engine::compile(off.config->engine).config.subnets[0].rapid_commit);
  EXPECT_TRUE(only_error(with_head("[[subnet]]\nprefix = \"10.99.0.0/16\"\nrapid_commit = 1\n"),
                         "a.toml:5: subnet[0].rapid_commit: expected a boolean (true or false), got an integer"));
}

// [[subnet]] interface_address: the segment's server id (compiled into the
// subnet's server_id and the dataplane's address list); refused with its
// line outside the prefix, on the broadcast address, in a pool, on a router,
// on server.address, when server_id differs, and under a reservation.
TEST(ConfigGood, InterfaceAddressPerSubnet) {
  const LoadResult r = with_head(R"([[subnet]]
prefix = "10.99.0.0/16"
[[subnet]]
prefix = "10.97.0.0/24"
pools = ["10.97.0.10-10.97.0.20"]
vlan = 97
interface_address = "10.97.0.1"
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->engine.subnets[1].interface_address, ip(10, 97, 0, 1));
  const engine::CompileResult c = engine::compile(r.config->engine);
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.config.subnets[0].server_id, ip(10, 97, 0, 1));   // sorted: 10.97 first
  EXPECT_EQ(c.config.subnets[1].server_id, ip(10, 99, 0, 1));
  EXPECT_EQ(c.config.interface_addresses, std::vector<Ipv4>{ip(10, 97, 0, 1)});

  const std::string head = "[[subnet]]\nprefix = \"10.97.0.0/24\"\npools = [\"10.97.0.10-10.97.0.20\"]\n"
                           "routers = [\"10.97.0.254\"]\n";
  auto bad = [&](std::string_view rest) { return with_head(head + std::string(rest)); };
  EXPECT_TRUE(only_error(bad("interface_address = \"10.98.0.1\"\n"),
                         "a.toml:7: subnet[0].interface_address: 10.98.0.1 is outside subnet[0].prefix"));
  EXPECT_TRUE(only_error(bad("interface_address = \"10.97.0.255\"\n"),
                         "a.toml:7: subnet[0].interface_address: 10.97.0.255 is the broadcast address"));
  EXPECT_TRUE(only_error(bad("interface_address = \"10.97.0.15\"\n"),
                         "a.toml:7: subnet[0].interface_address: 10.97.0.15 is in subnet[0].pools[0]"));
  EXPECT_TRUE(only_error(bad("interface_address = \"10.97.0.254\"\n"),
                         "a.toml:7: subnet[0].interface_address: 10.97.0.254 is a router"));
  EXPECT_TRUE(only_error(bad("interface_address = \"10.97.0.1\"\nserver_id = \"10.97.0.2\"\n"),
                         "a.toml:7: subnet[0].interface_address: 10.97.0.1 differs from server_id 10.97.0.2 (a.toml:8)"));
  EXPECT_TRUE(bad("interface_address = \"10.97.0.1\"\nserver_id = \"10.97.0.1\"\n").ok());
  EXPECT_TRUE(only_error(bad("interface_address = \"10.97.0.1\"\n[[subnet.reservation]]\nmac = \"02:00:00:00:00:01\"\n"
                             "address = \"10.97.0.1\"\n"),
                         "a.toml:10: subnet[0].reservation[0].address: 10.97.0.1 is this subnet's interface_address"));
  EXPECT_TRUE(only_error(with_head("[[subnet]]\nprefix = \"10.99.0.0/16\"\ninterface_address = \"10.99.0.1\"\n"),
                         "a.toml:5: subnet[0].interface_address: 10.99.0.1 is server.address"));
}

TEST(ConfigGood, DefaultMbufsScaleWithWorkers) {
  EXPECT_EQ(default_mbufs(1, 1024, 1024), 8191u);
  EXPECT_EQ(default_mbufs(2, 1024, 1024), 16383u);
  EXPECT_EQ(default_mbufs(8, 4096, 4096), 131071u);
  const LoadResult r = with_head("[dpdk]\nworkers = 4\n[[subnet]]\nprefix = \"10.99.0.0/16\"\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->dpdk.mbufs, default_mbufs(4, 1024, 1024));
}

TEST(ConfigGood, UnsetLeaseBoundsFollowLeaseTime) {
  LoadResult r = with_head("[[subnet]]\nprefix = \"10.99.0.0/16\"\nlease_time = 60\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->engine.subnets[0].min_lease_time, 60u);
  EXPECT_EQ(r.config->engine.subnets[0].max_lease_time, 86400u);
  r = with_head("[[subnet]]\nprefix = \"10.99.0.0/16\"\nlease_time = 200000\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->engine.subnets[0].min_lease_time, 300u);
  EXPECT_EQ(r.config->engine.subnets[0].max_lease_time, 200000u);
}

TEST(ConfigGood, ServerOutsideSubnetsIsFineWithRelays) {
  const LoadResult r = load(R"([server]
address = "192.0.2.1"
[[subnet]]
prefix = "10.99.0.0/16"
relay = ["10.99.0.1"]
)");
  EXPECT_TRUE(r.ok()) << all_errors(r);
}

// `relay` lands in engine::SubnetConfig::relays, and the compiled snapshot
// maps each relay outside every subnet to the subnet listing it.
TEST(ConfigGood, RelaysLandInTheSubnetAndTheCompiledMap) {
  const LoadResult r = load(R"([server]
address = "192.0.2.1"
[[subnet]]
prefix = "10.99.0.0/16"
relay = ["10.99.0.1", "192.0.2.254"]
[[subnet]]
prefix = "10.20.0.0/24"
relay = "172.16.0.9"
[[subnet]]
prefix = "10.5.0.0/24"
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const std::vector<engine::SubnetConfig>& subnets = r.config->engine.subnets;
  ASSERT_EQ(subnets.size(), 3u);
  EXPECT_EQ(subnets[0].relays, (std::vector<Ipv4>{ip(10, 99, 0, 1), ip(192, 0, 2, 254)}));
  EXPECT_EQ(subnets[1].relays, (std::vector<Ipv4>{ip(172, 16, 0, 9)}));
  EXPECT_TRUE(subnets[2].relays.empty());

  const engine::CompiledConfig& cc = *r.compiled;
  ASSERT_EQ(cc.relays.size(), 2u);   // 10.99.0.1 selects by containment
  const std::uint32_t a = cc.subnet_of_relay(ip(192, 0, 2, 254));
  ASSERT_NE(a, engine::kNil);
  EXPECT_EQ(cc.subnets[a].network, ip(10, 99, 0, 0));
  const std::uint32_t b = cc.subnet_of_relay(ip(172, 16, 0, 9));
  ASSERT_NE(b, engine::kNil);
  EXPECT_EQ(cc.subnets[b].network, ip(10, 20, 0, 0));
  EXPECT_EQ(cc.subnet_of_relay(ip(10, 99, 0, 1)), engine::kNil);
  EXPECT_EQ(cc.subnet_of_relay(ip(172, 16, 0, 10)), engine::kNil);
}

TEST(ConfigGood, ExampleConfigLoads) {
  const LoadResult r = load_config_file(DORADO_EXAMPLE_CONFIG);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const DaemonConfig& c = *r.config;
  EXPECT_EQ(c.server.address, ip(10, 99, 0, 1));
  EXPECT_EQ(c.dpdk.eal_args,
            (std::vector<std::string>{"--no-pci", "--no-huge", "-m", "256",
                                      "--vdev=net_af_packet0,iface=veth-srv", "-l", "0-1",
                                      "--file-prefix=dorado-sandbox"}));
  EXPECT_EQ(c.dpdk.workers, 1u);
  EXPECT_EQ(c.dpdk.idle_sleep_us, 100u);
  ASSERT_EQ(c.engine.subnets.size(), 1u);
  const engine::SubnetConfig& s = c.engine.subnets[0];
  EXPECT_EQ(s.prefix, ip(10, 99, 0, 0));
  EXPECT_EQ(s.prefix_len, 16);
  EXPECT_FALSE(s.pools.empty());
  EXPECT_FALSE(s.exclusions.empty());
  ASSERT_EQ(s.reservations.size(), 1u);
  EXPECT_EQ(*s.reservations[0].mac, (wire::MacAddr{{2, 0, 0, 0, 0, 1}}));
  EXPECT_EQ(s.reservations[0].address, ip(10, 99, 0, 100));
  EXPECT_FALSE(s.routers.empty());
  EXPECT_FALSE(s.dns_servers.empty());
  EXPECT_FALSE(s.domain_name.empty());
  EXPECT_EQ(s.lease_time, 3600u);
  ASSERT_TRUE(r.compiled.has_value());
  EXPECT_EQ(r.compiled->subnets.size(), 1u);
}

TEST(ConfigGood, GoodFilesLoad) {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DORADO_CONFIG_TEST_DIR "/good")) {
    if (entry.path().extension() != ".toml") continue;
    ++n;
    const LoadResult r = load_config_file(entry.path().string());
    EXPECT_TRUE(r.ok()) << entry.path() << all_errors(r);
    EXPECT_TRUE(r.config.has_value() && r.compiled.has_value()) << entry.path();
  }
  EXPECT_GE(n, 4u);
}

// ---- the bad files: "# expect: <substring>" on the first line -----------------

TEST(ConfigBad, BadFilesReportTheirExpectedError) {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DORADO_CONFIG_TEST_DIR "/bad")) {
    if (entry.path().extension() != ".toml") continue;
    ++n;
    const std::string text = read_file(entry.path());
    const std::string tag = "# expect: ";
    ASSERT_EQ(text.rfind(tag, 0), 0u) << entry.path() << " lacks a first-line \"# expect: \"";
    const std::string expect = text.substr(tag.size(), text.find('\n') - tag.size());
    ASSERT_NE(expect.find(entry.path().filename().string() + ":"), std::string::npos)
        << entry.path() << ": the expectation must name FILE:LINE";
    const LoadResult r = load_config_file(entry.path().string());
    EXPECT_FALSE(r.ok()) << entry.path();
    EXPECT_FALSE(r.config.has_value());
    EXPECT_FALSE(r.compiled.has_value());
    bool found = false;
    for (const ConfigError& e : r.errors) found = found || e.to_string().find(expect) != std::string::npos;
    EXPECT_TRUE(found) << entry.path() << ": no error contains \"" << expect << "\"; got:"
                       << all_errors(r);
  }
  EXPECT_GE(n, 15u);
}

// ---- error classes, with exact FILE:LINE: key --------------------------------

TEST(ConfigErrors, ToStringFormat) {
  EXPECT_EQ((ConfigError{"a.toml", 12, "subnet[1].prefix", "bad"}).to_string(),
            "a.toml:12: subnet[1].prefix: bad");
  EXPECT_EQ((ConfigError{"a.toml", 3, "", "syntax error: x"}).to_string(), "a.toml:3: syntax error: x");
}

TEST(ConfigErrors, SyntaxErrorHasLine) {
  LoadResult r = load("[server]\naddress = \"10.99.0.1\n[[subnet]]\n");
  EXPECT_TRUE(only_error(r, "a.toml:2: syntax error: ")) << all_errors(r);
  r = load("[server]\naddress = \"10.99.0.1\"\n[server]\naddress = \"10.99.0.2\"\n");
  EXPECT_TRUE(only_error(r, "a.toml:3: syntax error: ")) << all_errors(r);
  r = load("[server]\naddress = \"10.99.0.1\"\n[[subnet]]\nprefix = \"10.99.0.0/16\"\npools = [\"10.99.1.0/24\",\n\n");
  EXPECT_TRUE(only_error(r, "a.toml:7: syntax error: ")) << all_errors(r);
  EXPECT_FALSE(r.config.has_value());
}

// TOML files must be UTF-8. toml11 3.7 read out of bounds on a literal string
// that is not (config_fuzz found it); the loader refuses such text itself.
TEST(ConfigErrors, NotUtf8IsRefusedWithItsLine) {
  const std::string head = "[server]\naddress = \"10.99.0.1\"\n";
  for (const std::string& bad : std::vector<std::string>{
           "x = '\xff'\n",                 // the crash: a literal string
           "x = '''\xc3'''\n",             // multi-line literal, cut short
           "x = \"\xc0\xaf\"\n",           // overlong '/'
           "# \xed\xa0\x80 surrogate\n",   // in a comment
           "x = \"\xf4\x90\x80\x80\"\n",   // above U+10FFFF
           "x = \"\xe2\x82",               // cut at the end of the file
       }) {
    const LoadResult r = load(head + bad);
    EXPECT_TRUE(only_error(r, "a.toml:3: the file is not valid UTF-8")) << all_errors(r);
    EXPECT_FALSE(r.config.has_value());
  }
  // Well-formed multi-byte characters (2, 3 and 4 bytes) are fine.
  const LoadResult ok = load(head + "# caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\xac\n"
                                    "[[subnet]]\nprefix = \"10.99.0.0/24\"\npools = [\"10.99.0.10-10.99.0.20\"]\n");
  EXPECT_TRUE(ok.ok()) << all_errors(ok);
}

TEST(ConfigErrors, UnknownKeysEverywhere) {
  const LoadResult r = load(R"([server]
adress = "10.99.0.1"
address = "10.99.0.1"
[dpdk]
worker = 2
[store]
directory = "/x"
[control]
sock = "/x"
[lease]
offer_hold_s = 3
[[option]]
code = 42
ip = "10.99.0.2"
alwayssend = true
[[subnet]]
prefix = "10.99.0.0/16"
pool = ["10.99.1.0/24"]
[[subnet.reservation]]
mac = "02:00:00:00:00:01"
address = "10.99.0.100"
hostnme = "x"
[[subnet.option]]
code = 26
u16 = 1500
type = "u16"
[misc]
x = 1
)");
  ASSERT_EQ(r.errors.size(), 10u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "a.toml:2: server.adress: unknown key (did you mean `address`?)"));
  EXPECT_TRUE(has_error(r, "a.toml:5: dpdk.worker: unknown key (did you mean `workers`?)"));
  EXPECT_TRUE(has_error(r, "a.toml:7: store.directory: unknown key; expected one of: dir durability commit_interval_us commit_records segment_mb snapshot_records snapshot_on_exit"));
  EXPECT_TRUE(has_error(r, "a.toml:9: control.sock: unknown key"));
  EXPECT_TRUE(has_error(r, "a.toml:11: lease.offer_hold_s: unknown key (did you mean `offer_hold`?)"));
  EXPECT_TRUE(has_error(r, "a.toml:15: option[0].alwayssend: unknown key (did you mean `always_send`?)"));
  EXPECT_TRUE(has_error(r, "a.toml:18: subnet[0].pool: holds [[subnet.pool]] tables; a list of ranges goes in `pools` (did you mean `pools`?)"));
  EXPECT_TRUE(has_error(r, "a.toml:22: subnet[0].reservation[0].hostnme: unknown key (did you mean `hostname`?)"));
  EXPECT_TRUE(has_error(r, "a.toml:26: subnet[0].option[0].type: unknown key"));
  EXPECT_TRUE(has_error(r, "a.toml:27: misc: unknown key"));
}

TEST(ConfigErrors, WrongTypes) {
  const LoadResult r = load(R"([server]
address = 10
[dpdk]
workers = "2"
eal_args = "--no-pci"
ports = [0, "1"]
[store]
dir = 5
[lease]
offer_hold = 1.5
[[subnet]]
prefix = "10.99.0.0/16"
pools = [1]
routers = 7
t1_ratio = "half"
reservation = 3
)");
  EXPECT_TRUE(has_error(r, "a.toml:2: server.address: expected a string \"a.b.c.d\", got an integer"));
  EXPECT_TRUE(has_error(r, "a.toml:4: dpdk.workers: expected an integer, got a string"));
  EXPECT_TRUE(has_error(r, "a.toml:5: dpdk.eal_args: expected an array of strings, got a string"));
  EXPECT_TRUE(has_error(r, "a.toml:6: dpdk.ports[1]: expected an integer, got a string"));
  EXPECT_TRUE(has_error(r, "a.toml:8: store.dir: expected a string, got an integer"));
  EXPECT_TRUE(has_error(r, "a.toml:10: lease.offer_hold: expected an integer, got a float"));
  EXPECT_TRUE(has_error(r, "a.toml:13: subnet[0].pools[0]: expected a string, got an integer"));
  EXPECT_TRUE(has_error(r, "a.toml:14: subnet[0].routers: expected a string or an array of strings, got an integer"));
  EXPECT_TRUE(has_error(r, "a.toml:15: subnet[0].t1_ratio: expected a number, got a string"));
  EXPECT_TRUE(has_error(r, "a.toml:16: subnet[0].reservation: expected an array of tables [[subnet[0].reservation]], got an integer"));
  EXPECT_EQ(r.errors.size(), 10u) << all_errors(r);
}

TEST(ConfigErrors, SectionShapes) {
  LoadResult r = load("server = \"10.99.0.1\"\n[[subnet]]\nprefix = \"10.99.0.0/16\"\n");
  EXPECT_TRUE(only_error(r, "a.toml:1: server: expected a table [server], got a string"));
  r = with_head("[subnet]\nprefix = \"10.99.0.0/16\"\n");
  EXPECT_TRUE(only_error(r, "a.toml:3: subnet: expected an array of tables [[subnet]], got a table"));
  r = load(std::string("subnet = [1]\n") + std::string(kHead));
  EXPECT_TRUE(only_error(r, "a.toml:1: subnet[0]: expected a table [[subnet]], got an integer"));
  r = load(std::string("subnet = []\n") + std::string(kHead));
  EXPECT_TRUE(only_error(r, "a.toml:1: subnet: missing: at least one [[subnet]] is required"));
}

TEST(ConfigErrors, BadAddressSyntax) {
  const LoadResult r = load(R"([server]
address = "10.99.0"
[[subnet]]
prefix = "10.99.0.0"
[[subnet]]
prefix = "10.98.0.0/33"
[[subnet]]
prefix = "10.97.0.0/4"
[[subnet]]
prefix = "10.96.0.0/16"
pools = ["10.96.1.1-10.96.1.300", "10.96.01.0/24", "10.96.3.0/23"]
dns = ["1.2.3.4.5"]
server_id = ""
)");
  EXPECT_TRUE(has_error(r, "a.toml:2: server.address: \"10.99.0\" is not an IPv4 address a.b.c.d"));
  EXPECT_TRUE(has_error(r, "a.toml:4: subnet[0].prefix: \"10.99.0.0\" is not a prefix a.b.c.d/len"));
  EXPECT_TRUE(has_error(r, "a.toml:6: subnet[1].prefix: \"10.98.0.0/33\": prefix length must be 8..32"));
  EXPECT_TRUE(has_error(r, "a.toml:8: subnet[2].prefix: \"10.97.0.0/4\": prefix length must be 8..32"));
  EXPECT_TRUE(has_error(r, "a.toml:11: subnet[3].pools[0]: \"10.96.1.1-10.96.1.300\" is not a range"));
  EXPECT_TRUE(has_error(r, "a.toml:11: subnet[3].pools[1]: \"10.96.01.0/24\" is not a range"));
  EXPECT_TRUE(has_error(r, "a.toml:11: subnet[3].pools[2]: \"10.96.3.0/23\" has host bits set (did you mean 10.96.2.0/23?)"));
  EXPECT_TRUE(has_error(r, "a.toml:12: subnet[3].dns[0]: \"1.2.3.4.5\" is not an IPv4 address"));
  EXPECT_TRUE(has_error(r, "a.toml:13: subnet[3].server_id: \"\" is not an IPv4 address"));
}

TEST(ConfigErrors, HostBitsAndReversedRange) {
  const LoadResult r = with_head(R"([[subnet]]
prefix = "10.99.0.1/16"
[[subnet]]
prefix = "10.100.0.0/16"
pools = ["10.100.1.200 - 10.100.1.100", "10.100.2.1/24"]
)");
  EXPECT_TRUE(has_error(r, "a.toml:4: subnet[0].prefix: \"10.99.0.1/16\" has host bits set (did you mean 10.99.0.0/16?)"));
  EXPECT_TRUE(has_error(r, "a.toml:7: subnet[1].pools[0]: \"10.100.1.200 - 10.100.1.100\": first address is above the last"));
  EXPECT_TRUE(has_error(r, "a.toml:7: subnet[1].pools[1]: \"10.100.2.1/24\" has host bits set (did you mean 10.100.2.0/24?)"));
  EXPECT_EQ(r.errors.size(), 3u) << all_errors(r);
}

TEST(ConfigErrors, OverlappingSubnetsNameBothPlaces) {
  const LoadResult r = with_head(R"([[subnet]]
prefix = "10.99.0.0/16"
[[subnet]]
prefix = "10.100.0.0/16"
[[subnet]]
prefix = "10.99.128.0/17"
)");
  EXPECT_TRUE(only_error(
      r, "a.toml:8: subnet[2].prefix: 10.99.128.0/17 overlaps subnet[0].prefix 10.99.0.0/16 (a.toml:4)"));
}

TEST(ConfigErrors, OverlappingPoolsWithinAndAcrossSubnets) {
  LoadResult r = with_head(R"([[subnet]]
prefix = "10.99.0.0/16"
pools = ["10.99.1.0/24",
         "10.99.3.0/24",
         "10.99.1.255"]
)");
  EXPECT_TRUE(only_error(
      r, "a.toml:7: subnet[0].pools[2]: 10.99.1.255 overlaps subnet[0].pools[0] 10.99.1.0-10.99.1.255 (a.toml:5)"));
  // Across subnets (which then overlap too): both reported.
  r = with_head(R"([[subnet]]
prefix = "10.99.0.0/16"
pools = ["10.99.1.0/24"]
[[subnet]]
prefix = "10.99.1.0/24"
pools = ["10.99.1.10-10.99.1.20"]
)");
  EXPECT_TRUE(has_error(r, "a.toml:7: subnet[1].prefix: 10.99.1.0/24 overlaps subnet[0].prefix 10.99.0.0/16 (a.toml:4)"));
  EXPECT_TRUE(has_error(
      r, "a.toml:8: subnet[1].pools[0]: 10.99.1.10-10.99.1.20 overlaps subnet[0].pools[0] 10.99.1.0-10.99.1.255 (a.toml:5)"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
}

TEST(ConfigErrors, PoolExclusionRouterOutsideSubnet) {
  const LoadResult r = with_head(R"([[subnet]]
prefix = "10.99.0.0/24"
pools = ["10.99.0.10-10.99.1.10"]
exclude = ["10.99.0.20", "10.98.0.1"]
routers = ["10.99.0.1", "10.99.1.1"]
)");
  EXPECT_TRUE(has_error(r, "a.toml:5: subnet[0].pools[0]: 10.99.0.10-10.99.1.10 is outside subnet[0].prefix 10.99.0.0/24 (a.toml:4)"));
  EXPECT_TRUE(has_error(r, "a.toml:6: subnet[0].exclude[1]: 10.98.0.1 is outside subnet[0].prefix 10.99.0.0/24 (a.toml:4)"));
  EXPECT_TRUE(has_error(r, "a.toml:7: subnet[0].routers[1]: 10.99.1.1 is outside subnet[0].prefix"));
  EXPECT_EQ(r.errors.size(), 3u) << all_errors(r);
}

TEST(ConfigErrors, Reservations) {
  const LoadResult r = with_head(R"([[subnet]]
prefix = "10.99.0.0/24"
routers = ["10.99.0.254"]
[[subnet.reservation]]
mac = "02:00:00:00:00:01"
address = "10.99.1.5"
[[subnet.reservation]]
mac = "02:00:00:00:00:02"
address = "10.99.0.10"
[[subnet.reservation]]
mac = "02:00:00:00:00:02"
client_id = "01:02"
address = "10.99.0.11"
[[subnet.reservation]]
client_id = "01:03"
address = "10.99.0.10"
[[subnet.reservation]]
address = "10.99.0.12"
[[subnet.reservation]]
client_id = "01:02"
address = "10.99.0.13"
[[subnet.reservation]]
mac = "02:00:00:00:00:03"
address = "10.99.0.255"
[[subnet.reservation]]
mac = "02:00:00:00:00:04"
address = "10.99.0.1"
[[subnet.reservation]]
mac = "02:00:00:00:00:05"
address = "10.99.0.254"
[[subnet.reservation]]
mac = "02:00:00:00:00:06"
client_id = "zz"
)");
  EXPECT_TRUE(has_error(r, "a.toml:8: subnet[0].reservation[0].address: 10.99.1.5 is outside subnet[0].prefix 10.99.0.0/24 (a.toml:4)"));
  EXPECT_TRUE(has_error(r, "a.toml:13: subnet[0].reservation[2].mac: MAC 02:00:00:00:00:02 is already reserved by subnet[0].reservation[1].mac (a.toml:10)"));
  EXPECT_TRUE(has_error(r, "a.toml:18: subnet[0].reservation[3].address: 10.99.0.10 is already reserved for another client by subnet[0].reservation[1].address (a.toml:11)"));
  EXPECT_TRUE(has_error(r, "a.toml:19: subnet[0].reservation[4]: needs mac, client_id, circuit_id or remote_id"));
  EXPECT_TRUE(has_error(r, "a.toml:22: subnet[0].reservation[5].client_id: client_id 01:02 is already reserved by subnet[0].reservation[2].client_id (a.toml:14)"));
  EXPECT_TRUE(has_error(r, "a.toml:26: subnet[0].reservation[6].address: 10.99.0.255 is the broadcast address of subnet[0].prefix"));
  EXPECT_TRUE(has_error(r, "a.toml:29: subnet[0].reservation[7].address: 10.99.0.1 is server.address (a.toml:2)"));
  EXPECT_TRUE(has_error(r, "a.toml:32: subnet[0].reservation[8].address: 10.99.0.254 is a router, subnet[0].routers[0] (a.toml:5)"));
  // No address is fine (a reservation may give only a hostname, options or classes).
  EXPECT_TRUE(has_error(r, "a.toml:35: subnet[0].reservation[9].client_id: \"zz\" is not hex bytes"));
  EXPECT_EQ(r.errors.size(), 9u) << all_errors(r);
}

// Issue 16: reservations by option 82, without address, with hostname,
// options and classes; global [[reservation]]; match_client_id.
TEST(ConfigReservations, ExtendedKeysAndGlobal) {
  const LoadResult r = with_head(R"([[class]]
name = "gold"
[[class]]
name = "voice"
[[reservation]]
mac = "02:00:00:00:00:07"
address = "10.99.0.7"
[[reservation]]
remote_id = "0x00:01:02"
hostname = "anywhere"
[[subnet]]
prefix = "10.99.0.0/24"
pools = ["10.99.0.10-10.99.0.200"]
match_client_id = false
[[subnet.reservation]]
circuit_id = "eth0/1/9"
address = "10.99.0.90"
hostname = "line-9"
classes = ["gold", "voice"]
[[subnet.reservation.option]]
code = 66
string = "tftp.line9"
[[subnet.reservation]]
circuit_id = "eth0/1/7"
remote_id = "cpe-7"
[[subnet.reservation]]
mac = "02:00:00:00:00:08"
hostname = "name-only"
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_TRUE(r.config.has_value());
  ASSERT_TRUE(r.compiled.has_value());
  const engine::EngineConfig& e = r.config->engine;
  ASSERT_EQ(e.global_reservations.size(), 2u);
  EXPECT_EQ(e.global_reservations[0].address, ip(10, 99, 0, 7));
  EXPECT_EQ(e.global_reservations[1].remote_id, bytes({0, 1, 2}));
  EXPECT_EQ(e.global_reservations[1].address, 0u);
  const engine::SubnetConfig& s = e.subnets[0];
  EXPECT_FALSE(s.match_client_id);
  ASSERT_EQ(s.reservations.size(), 3u);
  EXPECT_EQ(s.reservations[0].circuit_id, bytes({'e', 't', 'h', '0', '/', '1', '/', '9'}));
  EXPECT_EQ(s.reservations[0].hostname, "line-9");
  EXPECT_EQ(s.reservations[0].classes, (std::vector<std::string>{"gold", "voice"}));
  ASSERT_EQ(s.reservations[0].options.size(), 1u);
  EXPECT_EQ(s.reservations[0].options[0].code, 66);
  EXPECT_EQ(s.reservations[1].remote_id, bytes({'c', 'p', 'e', '-', '7'}));
  EXPECT_EQ(s.reservations[2].address, 0u);
}

// Issue 16: [[shared_network]] and the vlan/vlans subnet keys.
TEST(ConfigSharedNetworks, NetworksAndVlans) {
  const LoadResult r = with_head(R"([[shared_network]]
name = "campus"
subnets = ["10.98.0.0/24", "10.99.0.0/24"]
[[shared_network.option]]
code = 42
ip = "10.99.0.123"
[[subnet]]
prefix = "10.99.0.0/24"
vlan = 100
[[subnet]]
prefix = "10.98.0.0/24"
vlans = [[200, 300], [200, 301]]
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const engine::EngineConfig& e = r.config->engine;
  ASSERT_EQ(e.shared_networks.size(), 1u);
  EXPECT_EQ(e.shared_networks[0].name, "campus");
  EXPECT_EQ(e.shared_networks[0].subnets, (std::vector<std::uint32_t>{1, 0}));
  ASSERT_EQ(e.shared_networks[0].options.size(), 1u);
  EXPECT_EQ(e.subnets[0].vlans, (std::vector<std::uint16_t>{100}));
  ASSERT_EQ(e.subnets[1].qinq.size(), 2u);
  EXPECT_EQ(e.subnets[1].qinq[1], (std::pair<std::uint16_t, std::uint16_t>{200, 301}));
  EXPECT_EQ(r.compiled->vlan_subnets.size(), 3u);
  EXPECT_TRUE(r.compiled->same_network(0, 1));
}

TEST(ConfigSharedNetworks, Errors) {
  const LoadResult r = with_head(R"([[shared_network]]
name = "a"
subnets = ["10.99.0.0/24", "10.97.0.0/24"]
[[shared_network]]
name = "a"
subnets = ["10.99.0.0/24"]
[[shared_network]]
subnets = ["10.98.0.0/24"]
[[subnet]]
prefix = "10.99.0.0/24"
vlan = 100
[[subnet]]
prefix = "10.98.0.0/24"
vlan = 100
vlans = [[200, 5000], [7]]
)");
  EXPECT_TRUE(has_error(r, "a.toml:5: shared_network[0].subnets[1]: 10.97.0.0/24 is not the prefix of any [[subnet]]"));
  EXPECT_TRUE(has_error(r, "a.toml:7: shared_network[1].name: \"a\" is already the name of shared_network[0] (a.toml:3)"));
  EXPECT_TRUE(has_error(r, "a.toml:8: shared_network[1].subnets[0]: 10.99.0.0/24 is already in shared_network[0] (a.toml:3)"));
  EXPECT_TRUE(has_error(r, "a.toml:9: shared_network[2].name: missing required key"));
  EXPECT_TRUE(has_error(r, "a.toml:16: subnet[1].vlan: vlan 100 is already named by subnet[0].vlan (a.toml:13)"));
  EXPECT_TRUE(has_error(r, "a.toml:17: subnet[1].vlans[0][1]:"));
  EXPECT_TRUE(has_error(r, "a.toml:17: subnet[1].vlans[1]: must be a pair [outer, inner]"));
  EXPECT_EQ(r.errors.size(), 7u) << all_errors(r);
}

TEST(ConfigReservations, Errors) {
  const LoadResult r = with_head(R"([[reservation]]
mac = "02:00:00:00:00:07"
address = "172.16.0.1"
[[subnet]]
prefix = "10.99.0.0/24"
[[subnet.reservation]]
mac = "02:00:00:00:00:01"
circuit_id = "eth0/1/1"
[[subnet.reservation]]
circuit_id = "eth0/1/9"
[[subnet.reservation]]
circuit_id = "eth0/1/9"
address = "10.99.0.9"
[[subnet.reservation]]
remote_id = "0xzz"
[[subnet.reservation]]
mac = "02:00:00:00:00:02"
hostname = "bad name!"
[[subnet.reservation]]
mac = "02:00:00:00:00:03"
[[subnet.reservation.option]]
code = 66
string = "a"
[[subnet.reservation.option]]
code = 66
string = "b"
)");
  EXPECT_TRUE(has_error(r, "a.toml:5: reservation[0].address: 172.16.0.1 is in no [[subnet]]"));
  EXPECT_TRUE(has_error(r, "a.toml:10: subnet[0].reservation[0].circuit_id: a reservation is matched by one kind of key"));
  EXPECT_TRUE(has_error(r, "a.toml:14: subnet[0].reservation[2].circuit_id: circuit_id already reserved by subnet[0].reservation[1].circuit_id (a.toml:12)"));
  EXPECT_TRUE(has_error(r, "a.toml:17: subnet[0].reservation[3].remote_id: \"0xzz\" is not hex bytes"));
  EXPECT_TRUE(has_error(r, "a.toml:20: subnet[0].reservation[4].hostname: \"bad name!\" is not a host name"));
  EXPECT_TRUE(has_error(r, "a.toml:27: subnet[0].reservation[5].option[1].code: option 66 given twice in this reservation (a.toml:24)"));
  EXPECT_EQ(r.errors.size(), 6u) << all_errors(r);
}

TEST(ConfigErrors, SameClientAcrossSubnets) {
  const LoadResult r = with_head(R"([[subnet]]
prefix = "10.99.0.0/24"
[[subnet.reservation]]
mac = "02:00:00:00:00:01"
address = "10.99.0.10"
[[subnet]]
prefix = "10.98.0.0/24"
relay = ["10.98.0.1"]
[[subnet.reservation]]
mac = "02:00:00:00:00:01"
address = "10.98.0.10"
)");
  EXPECT_TRUE(only_error(r, "a.toml:12: subnet[1].reservation[0].mac: MAC 02:00:00:00:00:01 is already reserved by subnet[0].reservation[0].mac (a.toml:6)"));
}

TEST(ConfigErrors, LeaseTimes) {
  const LoadResult r = with_server("10.1.0.1", R"([[subnet]]
prefix = "10.1.0.0/16"
lease_time = 100
min_lease_time = 200
[[subnet]]
prefix = "10.2.0.0/16"
lease_time = 5000
max_lease_time = 4000
[[subnet]]
prefix = "10.3.0.0/16"
min_lease_time = 7200
max_lease_time = 3600
[[subnet]]
prefix = "10.4.0.0/16"
min_lease_time = 7200
[[subnet]]
prefix = "10.5.0.0/16"
lease_time = 0
)");
  EXPECT_TRUE(has_error(r, "a.toml:5: subnet[0].lease_time: 100 is below min_lease_time 200 (a.toml:6)"));
  EXPECT_TRUE(has_error(r, "a.toml:9: subnet[1].lease_time: 5000 is above max_lease_time 4000 (a.toml:10)"));
  EXPECT_TRUE(has_error(r, "a.toml:14: subnet[2].max_lease_time: 3600 is below min_lease_time 7200 (a.toml:13)"));
  EXPECT_TRUE(has_error(r, "a.toml:15: subnet[3].lease_time: 3600 (default) is below min_lease_time 7200 (a.toml:17)"));
  EXPECT_TRUE(has_error(r, "a.toml:20: subnet[4].lease_time: must be 1..4294967295 (got 0)"));
  EXPECT_EQ(r.errors.size(), 5u) << all_errors(r);
}

TEST(ConfigErrors, RenewalRatios) {
  const LoadResult r = with_server("10.1.0.1", R"([[subnet]]
prefix = "10.1.0.0/16"
t1_ratio = 0.9
[[subnet]]
prefix = "10.2.0.0/16"
t2_ratio = 0.4
[[subnet]]
prefix = "10.3.0.0/16"
t1_ratio = 0
t2_ratio = 1
[[subnet]]
prefix = "10.4.0.0/16"
t2_ratio = 0.5
t1_ratio = 0.5
)");
  EXPECT_TRUE(has_error(r, "a.toml:5: subnet[0].t1_ratio: 0.9 must be below t2_ratio 0.875 (default)"));
  EXPECT_TRUE(has_error(r, "a.toml:8: subnet[1].t2_ratio: 0.4 must be above t1_ratio 0.5 (default)"));
  EXPECT_TRUE(has_error(r, "a.toml:11: subnet[2].t1_ratio: must be between 0 and 1 (exclusive), got 0"));
  EXPECT_TRUE(has_error(r, "a.toml:12: subnet[2].t2_ratio: must be between 0 and 1 (exclusive), got 1"));
  EXPECT_TRUE(has_error(r, "a.toml:16: subnet[3].t1_ratio: 0.5 must be below t2_ratio 0.5 (a.toml:15)"));
  EXPECT_EQ(r.errors.size(), 5u) << all_errors(r);
}

TEST(ConfigErrors, Options) {
  const LoadResult r = with_head(R"([[option]]
code = 53
u8 = 1
[[option]]
code = 0
u8 = 1
[[option]]
code = 255
u8 = 1
[[option]]
code = 42
[[option]]
code = 43
ip = "10.0.0.1"
hex = "01"
[[option]]
ip = "10.0.0.1"
[[option]]
code = 44
ip = "10.0.0.1"
[[option]]
code = 44
ip = "10.0.0.2"
[[subnet]]
prefix = "10.99.0.0/16"
routers = ["10.99.0.1"]
domain = "example.net"
[[subnet.option]]
code = 3
ip = ["10.99.0.2"]
[[subnet.option]]
code = 15
string = "example.org"
[[subnet.option]]
code = 60
string = ""
[[subnet.option]]
code = 61
hex = "0g"
[[subnet.option]]
code = 100
u32 = [1, -1]
[[subnet.option]]
code = 101
ip = []
)");
  EXPECT_TRUE(has_error(r, "a.toml:4: option[0].code: option 53 is written by the engine itself"));
  EXPECT_TRUE(has_error(r, "a.toml:7: option[1].code: must be 1..254 (got 0)"));
  EXPECT_TRUE(has_error(r, "a.toml:10: option[2].code: must be 1..254 (got 255)"));
  EXPECT_TRUE(has_error(r, "a.toml:12: option[3]: needs exactly one value: ip, string, u8, u16, u32, hex or suboptions"));
  EXPECT_TRUE(has_error(r, "a.toml:14: option[4]: has more than one value (ip, hex); give exactly one"));
  EXPECT_TRUE(has_error(r, "a.toml:18: option[5].code: missing required key"));
  EXPECT_TRUE(has_error(r, "a.toml:24: option[7].code: option 44 given twice; first at option[6].code (a.toml:21)"));
  EXPECT_TRUE(has_error(r, "a.toml:31: subnet[0].option[0].code: option 3 is already set by subnet[0].routers (a.toml:28); give it once"));
  EXPECT_TRUE(has_error(r, "a.toml:34: subnet[0].option[1].code: option 15 is already set by subnet[0].domain (a.toml:29)"));
  EXPECT_TRUE(has_error(r, "a.toml:38: subnet[0].option[2].string: must not be empty"));
  EXPECT_TRUE(has_error(r, "a.toml:40: subnet[0].option[3].code: option 61 is written by the engine itself"));
  EXPECT_TRUE(has_error(r, "a.toml:41: subnet[0].option[3].hex: \"0g\" is not hex bytes"));
  EXPECT_TRUE(has_error(r, "a.toml:44: subnet[0].option[4].u32[1]: must be 0..4294967295 (got -1)"));
  EXPECT_TRUE(has_error(r, "a.toml:47: subnet[0].option[5].ip: must not be empty"));
  EXPECT_EQ(r.errors.size(), 14u) << all_errors(r);
}

TEST(ConfigErrors, OptionValueTooLong) {
  std::string text(kHead);
  text += "[[option]]\ncode = 43\nhex = \"";
  for (int i = 0; i < 1025; ++i) text += "ab";
  text += "\"\n[[subnet]]\nprefix = \"10.99.0.0/16\"\n";
  const LoadResult r = load(text);
  EXPECT_TRUE(only_error(r, "a.toml:5: option[0].hex: value is 1025 bytes; at most 1024"));
}

TEST(ConfigErrors, DpdkLimits) {
  const LoadResult r = with_head(R"([dpdk]
workers = 0
ports = [0, 70000, 0]
burst = 0
rx_desc = 65536
idle_sleep_us = -1
[[subnet]]
prefix = "10.99.0.0/16"
)");
  EXPECT_TRUE(has_error(r, "a.toml:4: dpdk.workers: must be 1..128 (got 0)"));
  EXPECT_TRUE(has_error(r, "a.toml:5: dpdk.ports[1]: must be 0..65535 (got 70000)"));
  EXPECT_TRUE(has_error(r, "a.toml:5: dpdk.ports[2]: port 0 listed twice"));
  EXPECT_TRUE(has_error(r, "a.toml:6: dpdk.burst: must be 1..512 (got 0)"));
  EXPECT_TRUE(has_error(r, "a.toml:7: dpdk.rx_desc: must be 1..65535 (got 65536)"));
  EXPECT_TRUE(has_error(r, "a.toml:8: dpdk.idle_sleep_us: must be 0..1000000 (got -1)"));
  EXPECT_EQ(r.errors.size(), 6u) << all_errors(r);
  EXPECT_TRUE(only_error(with_head("[dpdk]\nworkers = 129\n[[subnet]]\nprefix = \"10.99.0.0/16\"\n"),
                         "a.toml:4: dpdk.workers: must be 1..128 (got 129)"));
  EXPECT_TRUE(only_error(with_head("[dpdk]\nmax_leases = 1000\n[[subnet]]\nprefix = \"10.99.0.0/16\"\n"),
                         "a.toml:4: dpdk.max_leases: must be 1024..1073741824 (got 1000)"));
  const LoadResult m = with_head("[dpdk]\nmax_leases = 2000000\n[[subnet]]\nprefix = \"10.99.0.0/16\"\n");
  ASSERT_TRUE(m.ok()) << all_errors(m);
  EXPECT_EQ(m.config->dpdk.max_leases, 2000000u);
}

TEST(ConfigErrors, StoreControlLease) {
  const LoadResult r = with_head(R"([store]
dir = ""
durability = "never"
[control]
socket = "/run/dorado/a-very-long-directory-name-that-goes-on-and-on-and-on/and-on-and-on/and-on-and-on-and-on/dorado.sock"
[lease]
offer_hold = 0
decline_probation = 4294967296
[[subnet]]
prefix = "10.99.0.0/16"
)");
  EXPECT_TRUE(has_error(r, "a.toml:4: store.dir: must not be empty"));
  EXPECT_TRUE(has_error(r, "a.toml:5: store.durability: must be \"fsync\", \"async\" or \"off\" (got \"never\")"));
  EXPECT_TRUE(has_error(r, "a.toml:7: control.socket: longer than 107 bytes"));
  EXPECT_TRUE(has_error(r, "a.toml:9: lease.offer_hold: must be 1..4294967295 (got 0)"));
  EXPECT_TRUE(has_error(r, "a.toml:10: lease.decline_probation: must be 1..4294967295 (got 4294967296)"));
  EXPECT_EQ(r.errors.size(), 5u) << all_errors(r);
}

TEST(ConfigErrors, ControlMetricsAndPoolWarn) {
  const char* subnet = "[[subnet]]\nprefix = \"10.99.0.0/16\"\n";
  for (const char* bad : {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "localhost:9167",
                          "127.0.0.1:91x", ":9167", "127.0.0.256:80"}) {
    const LoadResult r = with_head(std::string("[control]\nmetrics = \"") + bad + "\"\n" + subnet);
    EXPECT_TRUE(only_error(r, std::string("a.toml:4: control.metrics: must be \"ADDRESS:PORT\" with an IPv4 "
                                          "address and a port 1..65535, or \"\" / \"off\" (got \"") +
                                  bad + "\")"))
        << bad << ": " << all_errors(r);
  }
  LoadResult r = with_head(std::string("[control]\nmetrics = 9167\npool_warn_percent = 101\n") + subnet);
  EXPECT_TRUE(has_error(r, "a.toml:4: control.metrics: expected a string, got an integer"));
  EXPECT_TRUE(has_error(r, "a.toml:5: control.pool_warn_percent: must be 0..100 (got 101)"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);

  r = with_head(std::string("[control]\nmetrics = \"0.0.0.0:80\"\npool_warn_percent = 0\n") + subnet);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(r.config->control.metrics_enabled);
  EXPECT_EQ(r.config->control.metrics_address, 0u);
  EXPECT_EQ(r.config->control.metrics_port, 80);
  EXPECT_EQ(r.config->control.pool_warn_percent, 0u);
  for (const char* off : {"", "off"}) {
    r = with_head(std::string("[control]\nmetrics = \"") + off + "\"\n" + subnet);
    ASSERT_TRUE(r.ok()) << all_errors(r);
    EXPECT_FALSE(r.config->control.metrics_enabled) << off;
  }
}

TEST(ConfigErrors, ServerAddressOutsideEverySubnet) {
  LoadResult r = load(R"([server]
address = "10.98.0.1"
[[subnet]]
prefix = "10.99.0.0/16"
)");
  EXPECT_TRUE(only_error(r, "a.toml:2: server.address: 10.98.0.1 is outside every [[subnet]] and no subnet has a `relay` list"));
  r = load("[server]\naddress = \"0.0.0.0\"\n[[subnet]]\nprefix = \"10.99.0.0/16\"\n");
  EXPECT_TRUE(only_error(r, "a.toml:2: server.address: must be a unicast address"));
}

TEST(ConfigErrors, Relays) {
  const LoadResult r = load(R"([server]
address = "192.0.2.1"
[[subnet]]
prefix = "10.1.0.0/16"
relay = ["10.1.0.1"]
[[subnet]]
prefix = "10.2.0.0/16"
relay = ["10.1.0.1", "10.1.0.2", "10.2.0.1.1"]
)");
  EXPECT_TRUE(has_error(r, "a.toml:8: subnet[1].relay[0]: 10.1.0.1 is also listed in subnet[0].relay[0] (a.toml:5)"));
  EXPECT_TRUE(has_error(r, "a.toml:8: subnet[1].relay[1]: 10.1.0.2 is inside subnet[0].prefix 10.1.0.0/16 (a.toml:4)"));
  EXPECT_TRUE(has_error(r, "a.toml:8: subnet[1].relay[2]: \"10.2.0.1.1\" is not an IPv4 address"));
  EXPECT_EQ(r.errors.size(), 3u) << all_errors(r);
}

TEST(ConfigErrors, RelayMustBeUnicast) {
  const LoadResult r = load(R"([server]
address = "192.0.2.1"
[[subnet]]
prefix = "10.1.0.0/16"
relay = ["0.0.0.0", "10.9.0.1", "255.255.255.255"]
)");
  EXPECT_TRUE(has_error(r, "a.toml:5: subnet[0].relay[0]: must be a unicast address"));
  EXPECT_TRUE(has_error(r, "a.toml:5: subnet[0].relay[2]: must be a unicast address"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
}

TEST(ConfigErrors, SubnetIds) {
  const LoadResult r = with_head(R"([[subnet]]
prefix = "10.99.0.0/16"
[[subnet]]
id = 1
prefix = "10.100.0.0/16"
)");
  EXPECT_TRUE(only_error(r, "a.toml:6: subnet[1].id: id 1 is also the id of subnet[0] (a.toml:3)"));
}

TEST(ConfigErrors, MissingRequiredKeys) {
  LoadResult r = load("");
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_EQ(r.errors[0].to_string(), "a.toml:0: server.address: missing: [server] with address = \"a.b.c.d\" is required");
  EXPECT_EQ(r.errors[1].to_string(), "a.toml:0: subnet: missing: at least one [[subnet]] is required");
  r = load("[server]\n\n[[subnet]]\npools = [\"10.99.1.0/24\"]\n");
  EXPECT_TRUE(has_error(r, "a.toml:1: server.address: missing required key"));
  EXPECT_TRUE(has_error(r, "a.toml:3: subnet[0].prefix: missing required key"));
  EXPECT_EQ(r.errors.size(), 2u) << all_errors(r);
}

TEST(ConfigErrors, MultipleErrorsCollectedInFileOrder) {
  const LoadResult r = load(R"([server]
address = "10.99.0.1"
[dpdk]
workers = 0
[[subnet]]
prefix = "10.99.0.0/16"
pools = ["10.99.1.0/24", "10.99.1.0/25"]
lease_tme = 60
[[subnet]]
prefix = "10.99.5.0/24"
[[subnet.option]]
code = 1
u32 = 0
)");
  ASSERT_EQ(r.errors.size(), 5u) << all_errors(r);
  EXPECT_EQ(r.errors[0].to_string(), "a.toml:4: dpdk.workers: must be 1..128 (got 0)");
  EXPECT_EQ(r.errors[1].to_string(),
            "a.toml:7: subnet[0].pools[1]: 10.99.1.0-10.99.1.127 overlaps subnet[0].pools[0] "
            "10.99.1.0-10.99.1.255 (a.toml:7)");
  EXPECT_EQ(r.errors[2].to_string(), "a.toml:8: subnet[0].lease_tme: unknown key (did you mean `lease_time`?)");
  EXPECT_EQ(r.errors[3].to_string(),
            "a.toml:10: subnet[1].prefix: 10.99.5.0/24 overlaps subnet[0].prefix 10.99.0.0/16 (a.toml:6)");
  EXPECT_TRUE(has_error(r, "a.toml:12: subnet[1].option[0].code: option 1 is written by the engine itself"));
  for (const ConfigError& e : r.errors) {
    EXPECT_EQ(e.file, "a.toml");
    EXPECT_FALSE(e.key.empty());
  }
  EXPECT_FALSE(r.config.has_value());
  EXPECT_FALSE(r.compiled.has_value());
}

// engine::compile() rejects little that the loader lets through; its errors
// point at the subnet CompileResult::subnet_index names, or at no line.
TEST(ConfigErrors, CompileErrorsPointAtTheirSubnet) {
  detail::ConfigWhere w;
  w.subnets.resize(2);
  w.subnets[0].table = {4, 1, "subnet[0]"};
  w.subnets[1].table = {9, 1, "subnet[1]"};
  engine::CompileResult r;
  r.error = "subnet 17 (10.1.0.0/16): something";
  r.subnet_index = 1;
  detail::Diag d = detail::compile_diag(r, w);
  EXPECT_EQ(d.line, 9u);
  EXPECT_EQ(d.key, "subnet[1]");
  EXPECT_EQ(d.message, "rejected by the engine: subnet 17 (10.1.0.0/16): something");
  // The index decides, not a subnet named in the text.
  r.error = "subnet 5 (10.0.0.0/24): something";
  r.subnet_index = 1;
  EXPECT_EQ(detail::compile_diag(r, w).key, "subnet[1]");
  r.error = "more than 2^26 address blocks";
  r.subnet_index = engine::kNil;
  d = detail::compile_diag(r, w);
  EXPECT_EQ(d.line, 0u);
  EXPECT_EQ(d.key, "");
  r.subnet_index = 7;   // out of range: no line rather than a wrong one
  EXPECT_EQ(detail::compile_diag(r, w).line, 0u);
}

// The loader and the engine share their limits (engine/config.hpp).
TEST(ConfigErrors, LimitsComeFromTheEngine) {
  EXPECT_EQ(engine::kMaxOptionValue, 1024u);
  std::string hex(2 * (engine::kMaxOptionValue + 1), '0');
  LoadResult r = with_head("[[subnet]]\nprefix = \"10.99.0.0/16\"\n[[subnet.option]]\ncode = 200\nhex = \"" +
                           hex + "\"\n");
  EXPECT_TRUE(only_error(r, "a.toml:7: subnet[0].option[0].hex: value is 1025 bytes; at most 1024"));
  for (unsigned code = 1; code <= 254; ++code) {
    r = with_head("[[subnet]]\nprefix = \"10.99.0.0/16\"\n[[subnet.option]]\ncode = " +
                  std::to_string(code) + "\nhex = \"01\"\n");
    EXPECT_EQ(r.ok(), !engine::engine_owned_option(static_cast<std::uint8_t>(code))) << code;
  }
}

TEST(ConfigErrors, FileErrors) {
  LoadResult r = load_config_file("/nonexistent/dorado.toml");
  EXPECT_TRUE(only_error(r, "/nonexistent/dorado.toml:0: cannot open: No such file or directory"));
  r = load_config_file(DORADO_CONFIG_TEST_DIR);
  EXPECT_TRUE(only_error(r, std::string(DORADO_CONFIG_TEST_DIR) + ":0: cannot read: is a directory"));
}

// Every prefix of a real config is either valid or reported; nothing throws
// and every error names the file and a line inside it.
TEST(ConfigErrors, TruncatedFilesNeverThrow) {
  const std::string text = read_file(DORADO_CONFIG_TEST_DIR "/good/full.toml");
  const auto lines = static_cast<unsigned>(std::count(text.begin(), text.end(), '\n'));
  for (std::size_t n = 0; n < text.size(); n += 5) {
    LoadResult r;
    ASSERT_NO_THROW(r = load_config_string(std::string_view(text).substr(0, n), "t.toml")) << n;
    EXPECT_EQ(r.ok(), r.config.has_value()) << n;
    for (const ConfigError& e : r.errors) {
      EXPECT_EQ(e.file, "t.toml");
      EXPECT_LE(e.line, lines + 1) << e.to_string();
    }
  }
  const std::string junk("\x00\xff[[\x01=\"", 7);
  EXPECT_FALSE(load_config_string(junk, "j.toml").ok());
}

// ---- value syntax ------------------------------------------------------------------

// The config's address and MAC forms are wire/text.hpp's (tests/text_test.cpp
// has them all); these are the ones docs/configuration.md shows.
TEST(ConfigValues, Ipv4) {
  using wire::parse_ipv4;
  EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
  EXPECT_EQ(parse_ipv4("255.255.255.255"), 0xffffffffu);
  EXPECT_EQ(parse_ipv4("10.99.0.1"), ip(10, 99, 0, 1));
  for (const char* bad : {"", "1", "1.2.3", "1.2.3.4.", ".1.2.3", "1.2.3.4.5", "256.0.0.0", "01.2.3.4",
                          "1..3.4", "1.2.3.-4", "a.b.c.d", " 1.2.3.4", "1.2.3.4 ", "1.2.3.1000"})
    EXPECT_FALSE(parse_ipv4(bad).has_value()) << bad;
}

TEST(ConfigValues, PrefixAndRange) {
  using detail::parse_prefix;
  using detail::parse_range;
  auto p = parse_prefix("10.99.0.0/16");
  ASSERT_TRUE(p.value);
  EXPECT_EQ(p.value->network, ip(10, 99, 0, 0));
  EXPECT_EQ(p.value->length, 16);
  EXPECT_EQ(p.value->last(), ip(10, 99, 255, 255));
  EXPECT_TRUE(parse_prefix("10.99.0.7/32").value);
  EXPECT_FALSE(parse_prefix("10.0.0.0/7").value);
  EXPECT_FALSE(parse_prefix("10.99.0.0/").value);
  EXPECT_FALSE(parse_prefix("10.99.0.0/016").value);

  auto r = parse_range("10.0.0.5-10.0.0.9");
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->first, ip(10, 0, 0, 5));
  EXPECT_EQ(r.value->last, ip(10, 0, 0, 9));
  r = parse_range("10.0.0.5");
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->first, r.value->last);
  r = parse_range("10.0.0.0/30");
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->last, ip(10, 0, 0, 3));
  r = parse_range("0.0.0.0/0");
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->first, 0u);
  EXPECT_EQ(r.value->last, 0xffffffffu);
  EXPECT_FALSE(parse_range("10.0.0.9-10.0.0.5").value);
  EXPECT_FALSE(parse_range("10.0.0.9-").value);
  EXPECT_FALSE(parse_range("10.0.0.1/24").value);
  EXPECT_FALSE(parse_range("").value);
}

TEST(ConfigValues, MacHexDomain) {
  using detail::check_domain;
  using detail::parse_hex;
  using wire::parse_mac;
  EXPECT_EQ(parse_mac("02:00:00:00:00:01"), (wire::MacAddr{{2, 0, 0, 0, 0, 1}}));
  EXPECT_EQ(parse_mac("AA-bb-CC-dd-EE-ff"), (wire::MacAddr{{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}}));
  EXPECT_FALSE(parse_mac("02:00:00:00:00"));
  EXPECT_FALSE(parse_mac("02:00:00-00:00:01"));
  EXPECT_FALSE(parse_mac("0200.0000.0001"));
  EXPECT_FALSE(parse_mac(" 02:00:00:00:00:01"));   // no spaces around
  EXPECT_EQ(parse_hex("01:0a:FF"), bytes({1, 10, 255}));
  EXPECT_EQ(parse_hex("010aff"), bytes({1, 10, 255}));
  EXPECT_EQ(parse_hex(""), bytes({}));
  EXPECT_FALSE(parse_hex("1"));
  EXPECT_FALSE(parse_hex("01:0"));
  EXPECT_FALSE(parse_hex("01:"));
  EXPECT_FALSE(parse_hex("01:0203"));
  EXPECT_FALSE(parse_hex("0x01"));
  EXPECT_EQ(check_domain("example.net"), "");
  EXPECT_EQ(check_domain("example.net."), "");
  EXPECT_EQ(check_domain("my_host-1.example"), "");
  EXPECT_NE(check_domain(""), "");
  EXPECT_NE(check_domain("a..b"), "");
  EXPECT_NE(check_domain("exa mple.net"), "");
  EXPECT_NE(check_domain(std::string(64, 'a') + ".net"), "");
}

}  // namespace
}  // namespace dorado::config
