// Unit tests for [ha] in control/config: the keys of docs/ha.md
// ("Configuration") map to HaSection with their defaults; every mistake is
// refused with its exact "FILE:LINE: key: message"; TLS files are checked at
// load (temp files); a changed [ha] needs a restart; ha_config_digest() is
// equal on both servers of a pair and changes with what they must share.
#include <gtest/gtest.h>

#include <algorithm>
#include "temp_dir.hpp"
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config_fixture.hpp"
#include "config/values.hpp"

namespace dorado::config {
namespace {

using test_support::kMinimalConfig;
using test_support::error_lines;
using test_support::all_errors;

using Lines = std::vector<std::string>;

LoadResult load(std::string_view text) { return load_config_string(text, "ha.toml"); }

// Five lines before [ha]: the [ha] text of every test starts on line 6.
LoadResult with_head(std::string_view ha) { return test_support::load_after_minimal(ha, "ha.toml"); }

// The two [[ha.peer]] of a hot-standby pair, for tests about [ha]'s own keys.
constexpr std::string_view kHotPeers = R"([[ha.peer]]
name = "dhcp-a"
address = "10.98.0.1:8647"
role = "primary"
[[ha.peer]]
name = "dhcp-b"
address = "10.98.0.2:8647"
role = "standby"
)";

// A whole server file of a pair: everything but `server` and `this_server`
// (and what the caller adds to [ha]) is the same on both.
std::string pair_file(std::string_view server, std::string_view this_server, std::string_view mode,
                      std::string_view roles_b, std::string_view extra = "") {
  return "[server]\naddress = \"" + std::string(server) + "\"\n" +
         "[[subnet]]\nprefix = \"10.99.0.0/16\"\npools = [\"10.99.1.0/24\", \"10.99.2.0/24\"]\n"
         "exclude = \"10.99.1.1-10.99.1.9\"\nrouters = \"10.99.0.1\"\n"
         "[[subnet.reservation]]\nmac = \"02:00:00:00:00:01\"\naddress = \"10.99.0.100\"\n"
         "[ha]\nthis_server = \"" + std::string(this_server) + "\"\nmode = \"" + std::string(mode) +
         "\"\ninsecure = true\n" + std::string(extra) +
         "[[ha.peer]]\nname = \"dhcp-a\"\naddress = \"10.98.0.1:8647\"\nrole = \"primary\"\n"
         "[[ha.peer]]\nname = \"dhcp-b\"\naddress = \"10.98.0.2:8647\"\nrole = \"" +
         std::string(roles_b) + "\"\n";
}

class TempDir : public dorado::test_support::TempDir {
 public:
  TempDir() : dorado::test_support::TempDir("dorado-ha") {}
};

// ---- good configs --------------------------------------------------------------

TEST(ConfigHaGood, HotStandbyAsInTheIssueWithDefaults) {
  const LoadResult r = with_head(R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
listen = "10.98.0.1:8647"
ack = "partner"
insecure = true
)" + std::string(kHotPeers));
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const HaSection& ha = r.config->ha;
  EXPECT_TRUE(ha.enabled);
  EXPECT_EQ(ha.this_server, "dhcp-a");
  EXPECT_EQ(ha.mode, HaMode::hot_standby);
  EXPECT_EQ(ha.listen, "10.98.0.1:8647");
  EXPECT_EQ(ha.listen_ip, 0x0a620001u);
  EXPECT_EQ(ha.listen_port, 8647);
  EXPECT_EQ(ha.ack, HaAck::partner);
  EXPECT_EQ(ha.heartbeat_ms, 1000u);
  EXPECT_EQ(ha.max_response_delay_ms, 5000u);
  EXPECT_EQ(ha.max_ack_delay_ms, 10000u);
  EXPECT_EQ(ha.max_unacked_clients, 10u);
  EXPECT_EQ(ha.mclt, 3600u);
  EXPECT_EQ(ha.max_answer_secs, 0u);
  EXPECT_EQ(ha.split, 128u);
  EXPECT_EQ(ha.backlog_mb, 64u);
  EXPECT_TRUE(ha.insecure);
  EXPECT_TRUE(ha.ca.empty() && ha.cert.empty() && ha.key.empty());
  ASSERT_EQ(ha.peers.size(), 2u);
  EXPECT_EQ(ha.peers[0].name, "dhcp-a");
  EXPECT_EQ(ha.peers[0].address, "10.98.0.1:8647");
  EXPECT_EQ(ha.peers[0].ip, 0x0a620001u);
  EXPECT_EQ(ha.peers[0].port, 8647);
  EXPECT_EQ(ha.peers[0].role, HaRole::primary);
  EXPECT_EQ(ha.peers[0].line, 12u);
  EXPECT_EQ(ha.peers[1].name, "dhcp-b");
  EXPECT_EQ(ha.peers[1].ip, 0x0a620002u);
  EXPECT_EQ(ha.peers[1].role, HaRole::standby);
  EXPECT_EQ(ha.peers[1].line, 16u);
  ASSERT_NE(ha.self(), nullptr);
  ASSERT_NE(ha.partner(), nullptr);
  EXPECT_EQ(ha.self()->name, "dhcp-a");
  EXPECT_EQ(ha.partner()->name, "dhcp-b");
}

TEST(ConfigHaGood, NoHaSectionMeansDisabled) {
  const LoadResult r = load(kMinimalConfig);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_FALSE(r.config->ha.enabled);
  EXPECT_EQ(r.config->ha.self(), nullptr);
  EXPECT_EQ(r.config->ha.partner(), nullptr);
}

TEST(ConfigHaGood, BothServersOfAHotStandbyPair) {
  const LoadResult a = load(pair_file("10.99.0.2", "dhcp-a", "hot-standby", "standby"));
  const LoadResult b = load(pair_file("10.99.0.3", "dhcp-b", "hot-standby", "standby"));
  ASSERT_TRUE(a.ok()) << all_errors(a);
  ASSERT_TRUE(b.ok()) << all_errors(b);
  EXPECT_EQ(a.config->ha.self()->name, "dhcp-a");
  EXPECT_EQ(a.config->ha.self()->role, HaRole::primary);
  EXPECT_EQ(a.config->ha.partner()->name, "dhcp-b");
  EXPECT_EQ(b.config->ha.self()->name, "dhcp-b");
  EXPECT_EQ(b.config->ha.self()->role, HaRole::standby);
  EXPECT_EQ(b.config->ha.partner()->name, "dhcp-a");
  // No listen: each listens on its own peer address.
  EXPECT_EQ(a.config->ha.listen, "10.98.0.1:8647");
  EXPECT_EQ(b.config->ha.listen, "10.98.0.2:8647");
  EXPECT_EQ(b.config->ha.listen_ip, 0x0a620002u);
  EXPECT_EQ(b.config->ha.listen_port, 8647);
  EXPECT_EQ(ha_config_digest(*a.config), ha_config_digest(*b.config));
}

TEST(ConfigHaGood, LoadBalancingWithEveryKey) {
  const std::string extra = R"(listen = "0.0.0.0:9000"
ack = "local"
heartbeat_ms = 250
max_response_delay_ms = 2000
max_ack_delay_ms = 0
max_unacked_clients = 0
mclt = 600
max_answer_secs = 30
split = 100
backlog_mb = 256
)";
  const LoadResult a = load(pair_file("10.99.0.2", "dhcp-a", "load-balancing", "secondary", extra));
  const LoadResult b = load(pair_file("10.99.0.3", "dhcp-b", "load-balancing", "secondary", extra));
  ASSERT_TRUE(a.ok()) << all_errors(a);
  ASSERT_TRUE(b.ok()) << all_errors(b);
  const HaSection& ha = b.config->ha;
  EXPECT_EQ(ha.mode, HaMode::load_balancing);
  EXPECT_EQ(ha.listen, "0.0.0.0:9000");
  EXPECT_EQ(ha.listen_ip, 0u);
  EXPECT_EQ(ha.listen_port, 9000);
  EXPECT_EQ(ha.ack, HaAck::local);
  EXPECT_EQ(ha.heartbeat_ms, 250u);
  EXPECT_EQ(ha.max_response_delay_ms, 2000u);
  EXPECT_EQ(ha.max_ack_delay_ms, 0u);
  EXPECT_EQ(ha.max_unacked_clients, 0u);
  EXPECT_EQ(ha.mclt, 600u);
  EXPECT_EQ(ha.max_answer_secs, 30u);
  EXPECT_EQ(ha.split, 100u);
  EXPECT_EQ(ha.backlog_mb, 256u);
  EXPECT_EQ(ha.self()->role, HaRole::secondary);
  EXPECT_EQ(ha.partner()->role, HaRole::primary);
  EXPECT_EQ(ha_config_digest(*a.config), ha_config_digest(*b.config));
}

// A listen address other than the peer address is allowed (NAT; 0.0.0.0),
// and the pair may sit on one host with two ports.
TEST(ConfigHaGood, ListenMayDifferAndPeersMayShareAnIp) {
  const LoadResult r = with_head(R"([ha]
this_server = "b"
mode = "load-balancing"
listen = "192.168.7.5:18647"
insecure = true
[[ha.peer]]
name = "a"
address = "127.0.0.1:8647"
role = "secondary"
[[ha.peer]]
name = "b"
address = "127.0.0.1:8648"
role = "primary"
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->ha.listen, "192.168.7.5:18647");
  EXPECT_EQ(r.config->ha.listen_port, 18647);
  EXPECT_EQ(r.config->ha.self()->port, 8648);
  EXPECT_EQ(r.config->ha.partner()->name, "a");
}

// Bounds are inclusive at both ends.
TEST(ConfigHaGood, BoundsInclusive) {
  for (const char* keys : {
           "heartbeat_ms = 100\nmax_response_delay_ms = 200\nmax_ack_delay_ms = 3600000\n"
           "max_unacked_clients = 1000000\nmclt = 1\nsplit = 0\nmax_answer_secs = 65535\nbacklog_mb = 1\n",
           "heartbeat_ms = 60000\nmax_response_delay_ms = 3600000\nmclt = 604800\nsplit = 256\n"
           "backlog_mb = 65536\n"}) {
    const LoadResult r =
        load(pair_file("10.99.0.2", "dhcp-a", "load-balancing", "secondary", keys));
    EXPECT_TRUE(r.ok()) << keys << all_errors(r);
  }
  // The load-balancing keys at their defaults are fine in hot-standby.
  const LoadResult r =
      load(pair_file("10.99.0.2", "dhcp-a", "hot-standby", "standby", "split = 128\nmax_answer_secs = 0\n"));
  EXPECT_TRUE(r.ok()) << all_errors(r);
}

TEST(ConfigHaGood, TlsFilesAreReadAtLoad) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string ca = dir.file("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  const std::string cert = dir.file("a.pem", "-----BEGIN CERTIFICATE-----\n");
  const std::string key = dir.file("a.key", "-----BEGIN PRIVATE KEY-----\n");
  const LoadResult r = with_head("[ha]\nthis_server = \"dhcp-a\"\nmode = \"hot-standby\"\nca = \"" + ca +
                                 "\"\ncert = \"" + cert + "\"\nkey = \"" + key + "\"\n" +
                                 std::string(kHotPeers));
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_FALSE(r.config->ha.insecure);
  EXPECT_EQ(r.config->ha.ca, ca);
  EXPECT_EQ(r.config->ha.cert, cert);
  EXPECT_EQ(r.config->ha.key, key);
}

TEST(ConfigHaGood, GoodFilesOfBothServers) {
  struct File {
    const char* name;
    const char* self;
    HaMode mode;
  } files[] = {
      {"ha_hot_standby_a.toml", "dhcp-a", HaMode::hot_standby},
      {"ha_hot_standby_b.toml", "dhcp-b", HaMode::hot_standby},
      {"ha_load_balancing_a.toml", "dhcp-a", HaMode::load_balancing},
      {"ha_load_balancing_b.toml", "dhcp-b", HaMode::load_balancing},
  };
  std::uint64_t digest[2] = {0, 0};
  for (std::size_t i = 0; i < 4; ++i) {
    const LoadResult r = load_config_file(std::string(DORADO_CONFIG_TEST_DIR "/good/") + files[i].name);
    ASSERT_TRUE(r.ok()) << files[i].name << all_errors(r);
    EXPECT_TRUE(r.config->ha.enabled);
    EXPECT_EQ(r.config->ha.mode, files[i].mode) << files[i].name;
    ASSERT_NE(r.config->ha.self(), nullptr);
    EXPECT_EQ(r.config->ha.self()->name, files[i].self);
    // The two servers' files of one pair share their digest.
    if (i % 2 == 0)
      digest[i / 2] = ha_config_digest(*r.config);
    else
      EXPECT_EQ(ha_config_digest(*r.config), digest[i / 2]) << files[i].name;
  }
  EXPECT_NE(digest[0], digest[1]);
}

// ---- bad configs: the exact FILE:LINE: key: message ------------------------------

struct BadCase {
  std::string ha;      // from line 6 on
  Lines expect;        // every error, in order
};

void expect_bad(const std::vector<BadCase>& cases) {
  for (const BadCase& c : cases) {
    const LoadResult r = with_head(c.ha);
    EXPECT_EQ(error_lines(r), c.expect) << c.ha;
    EXPECT_FALSE(r.config.has_value()) << c.ha;
    EXPECT_FALSE(r.compiled.has_value()) << c.ha;
  }
}

TEST(ConfigHaBad, PeerCount) {
  expect_bad({
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
)",
       {"ha.toml:6: ha.peer: missing: [ha] needs two [[ha.peer]] tables, this server and its partner"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
peer = []
)",
       {"ha.toml:10: ha.peer: needs exactly two [[ha.peer]] tables, this server and its partner (got none)"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
[[ha.peer]]
name = "dhcp-a"
address = "10.98.0.1:8647"
role = "primary"
)",
       {"ha.toml:10: ha.peer: only one [[ha.peer]]; [ha] needs exactly two: this server and its partner"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
[[ha.peer]]
name = "dhcp-a"
address = "10.98.0.1:8647"
role = "primary"
[[ha.peer]]
name = "dhcp-b"
address = "10.98.0.2:8647"
role = "standby"
[[ha.peer]]
name = "dhcp-c"
address = "10.98.0.3:8647"
role = "standby"
)",
       {"ha.toml:18: ha.peer[2]: a peer too many: [ha] takes exactly two [[ha.peer]], this server "
        "and its partner (the first two are at ha.toml:10 and ha.toml:14)",
        "ha.toml:21: ha.peer[2].role: a second \"standby\" (ha.peer[1].role, ha.toml:17): "
        "hot-standby takes one primary and one standby"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
[ha.peer]
name = "dhcp-a"
)",
       {"ha.toml:10: ha.peer: expected an array of tables [[ha.peer]], got a table"}},
  });
}

TEST(ConfigHaBad, DuplicateNamesAndAddresses) {
  expect_bad({
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
[[ha.peer]]
name = "dhcp-a"
address = "10.98.0.1:8647"
role = "primary"
[[ha.peer]]
name = "dhcp-a"
address = "10.98.0.2:8647"
role = "standby"
)",
       {"ha.toml:15: ha.peer[1].name: peer \"dhcp-a\" is listed twice (ha.peer[0].name, ha.toml:11)"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
[[ha.peer]]
name = "dhcp-a"
address = "10.98.0.1:8647"
role = "primary"
[[ha.peer]]
name = "dhcp-b"
address = "10.98.0.1:8647"
role = "standby"
)",
       {"ha.toml:16: ha.peer[1].address: 10.98.0.1:8647 is also ha.peer[0].address (ha.toml:12): "
        "the two servers need their own endpoints"}},
  });
}

TEST(ConfigHaBad, RolesMustFitTheMode) {
  expect_bad({
      // hot-standby: a secondary
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
)" + std::string(kHotPeers).replace(std::string(kHotPeers).find("\"standby\""), 9, "\"secondary\""),
       {"ha.toml:17: ha.peer[1].role: \"secondary\" does not fit mode = \"hot-standby\": "
        "hot-standby takes one primary and one standby"}},
      // load-balancing: a standby
      {R"([ha]
this_server = "dhcp-a"
mode = "load-balancing"
insecure = true
)" + std::string(kHotPeers),
       {"ha.toml:17: ha.peer[1].role: \"standby\" does not fit mode = \"load-balancing\": "
        "load-balancing takes one primary and one secondary"}},
      // hot-standby: two primaries
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
)" + std::string(kHotPeers).replace(std::string(kHotPeers).find("\"standby\""), 9, "\"primary\""),
       {"ha.toml:17: ha.peer[1].role: a second \"primary\" (ha.peer[0].role, ha.toml:13): "
        "hot-standby takes one primary and one standby"}},
      // load-balancing: two secondaries
      {R"([ha]
this_server = "dhcp-a"
mode = "load-balancing"
insecure = true
[[ha.peer]]
name = "dhcp-a"
address = "10.98.0.1:8647"
role = "secondary"
[[ha.peer]]
name = "dhcp-b"
address = "10.98.0.2:8647"
role = "secondary"
)",
       {"ha.toml:17: ha.peer[1].role: a second \"secondary\" (ha.peer[0].role, ha.toml:13): "
        "load-balancing takes one primary and one secondary"}},
      // not a role at all
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
)" + std::string(kHotPeers).replace(std::string(kHotPeers).find("\"standby\""), 9, "\"backup\""),
       {"ha.toml:17: ha.peer[1].role: must be \"primary\", \"secondary\" or \"standby\" (got \"backup\")"}},
  });
}

TEST(ConfigHaBad, ThisServerAndMode) {
  expect_bad({
      {R"([ha]
this_server = "dhcp-c"
mode = "hot-standby"
insecure = true
)" + std::string(kHotPeers),
       {"ha.toml:7: ha.this_server: \"dhcp-c\" is not one of the ha.peer names (dhcp-a, dhcp-b)"}},
      {R"([ha]
mode = "hot-standby"
insecure = true
)" + std::string(kHotPeers),
       {"ha.toml:6: ha.this_server: missing required key"}},
      {R"([ha]
this_server = "dhcp-a"
insecure = true
)" + std::string(kHotPeers),
       {"ha.toml:6: ha.mode: missing required key"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "failover"
insecure = true
)" + std::string(kHotPeers),
       {"ha.toml:8: ha.mode: must be \"hot-standby\" or \"load-balancing\" (got \"failover\")"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
ack = "none"
insecure = true
)" + std::string(kHotPeers),
       {"ha.toml:9: ha.ack: must be \"partner\" or \"local\" (got \"none\")"}},
      {R"([ha]
this_server = 1
mode = true
insecure = "yes"
)" + std::string(kHotPeers),
       {// insecure unreadable: TLS is on, and no files are given
        "ha.toml:6: ha: ca, cert and key are required unless insecure = true (missing: ca, cert and key)",
        "ha.toml:7: ha.this_server: expected a string, got an integer",
        "ha.toml:8: ha.mode: expected a string, got a boolean",
        "ha.toml:9: ha.insecure: expected a boolean (true or false), got a string"}},
  });
}

TEST(ConfigHaBad, ListenAndPeerAddresses) {
  std::vector<BadCase> cases;
  for (const char* listen : {"10.98.0.1", "10.98.0.1:0", "10.98.0.1:65536", "10.98.0.1:08647",
                             "dhcp-a:8647", ":8647", "10.98.0.1:", "10.98.0.1:86 47"})
    cases.push_back({"[ha]\nthis_server = \"dhcp-a\"\nmode = \"hot-standby\"\nlisten = \"" +
                         std::string(listen) + "\"\ninsecure = true\n" + std::string(kHotPeers),
                     {"ha.toml:9: ha.listen: must be \"ADDRESS:PORT\" with an IPv4 address and a port "
                      "1..65535 (got \"" + std::string(listen) + "\")"}});
  cases.push_back({"[ha]\nthis_server = \"dhcp-a\"\nmode = \"hot-standby\"\nlisten = \"239.1.1.1:8647\"\n"
                   "insecure = true\n" + std::string(kHotPeers),
                   {"ha.toml:9: ha.listen: must be a unicast address, or 0.0.0.0 for every interface "
                    "(got \"239.1.1.1:8647\")"}});
  for (const char* address : {"10.98.0.2", "10.98.0.2:0", "10.98.0.2:99999", "dhcp-b:8647"}) {
    std::string peers(kHotPeers);
    peers.replace(peers.find("10.98.0.2:8647"), 14, address);
    cases.push_back({"[ha]\nthis_server = \"dhcp-a\"\nmode = \"hot-standby\"\ninsecure = true\n" + peers,
                     {"ha.toml:16: ha.peer[1].address: must be \"ADDRESS:PORT\" with an IPv4 address "
                      "and a port 1..65535 (got \"" + std::string(address) + "\")"}});
  }
  for (const char* address : {"0.0.0.0:8647", "255.255.255.255:8647", "224.0.0.18:8647"}) {
    std::string peers(kHotPeers);
    peers.replace(peers.find("10.98.0.2:8647"), 14, address);
    cases.push_back({"[ha]\nthis_server = \"dhcp-a\"\nmode = \"hot-standby\"\ninsecure = true\n" + peers,
                     {"ha.toml:16: ha.peer[1].address: must be a unicast address (got \"" +
                      std::string(address) + "\")"}});
  }
  expect_bad(cases);
}

TEST(ConfigHaBad, PeerKeys) {
  expect_bad({
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
[[ha.peer]]
name = "dhcp a"
address = "10.98.0.1:8647"
role = "primary"
[[ha.peer]]
name = ""
address = "10.98.0.2:8647"
role = "standby"
)",
       {"ha.toml:7: ha.this_server: \"dhcp-a\" is not one of the ha.peer names (dhcp a)",
        "ha.toml:11: ha.peer[0].name: \"dhcp a\" is not a peer name: 1..64 letters, digits, '.', '_' or '-'",
        "ha.toml:15: ha.peer[1].name: \"\" is not a peer name: 1..64 letters, digits, '.', '_' or '-'"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
[[ha.peer]]
name = "dhcp-a"
role = "primary"
[[ha.peer]]
address = "10.98.0.2:8647"
)",
       {"ha.toml:10: ha.peer[0].address: missing required key",
        "ha.toml:13: ha.peer[1].name: missing required key",
        "ha.toml:13: ha.peer[1].role: missing required key"}},
  });
}

TEST(ConfigHaBad, UnknownKeys) {
  expect_bad({
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
heartbeat_s = 1
mlct = 60
tls = false
[[ha.peer]]
name = "dhcp-a"
address = "10.98.0.1:8647"
role = "primary"
port = 8647
[[ha.peer]]
name = "dhcp-b"
addr = "10.98.0.2:8647"
address = "10.98.0.2:8647"
role = "standby"
)",
       {"ha.toml:10: ha.heartbeat_s: unknown key (did you mean `heartbeat_ms`?)",
        "ha.toml:11: ha.mlct: unknown key (did you mean `mclt`?)",
        "ha.toml:12: ha.tls: unknown key; expected one of: this_server mode listen ack heartbeat_ms "
        "max_response_delay_ms max_ack_delay_ms max_unacked_clients mclt max_answer_secs split "
        "backlog_mb insecure ca cert key peer",
        "ha.toml:17: ha.peer[0].port: unknown key; expected one of: name address role",
        "ha.toml:20: ha.peer[1].addr: unknown key; expected one of: name address role"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
peers = 2
)" + std::string(kHotPeers),
       {"ha.toml:10: ha.peers: unknown key (did you mean `peer`?)"}},
      {"[[ha]]\nthis_server = \"dhcp-a\"\n",
       {"ha.toml:6: ha: expected a table [ha], got an array"}},
  });
}

TEST(ConfigHaBad, ValuesOutOfRange) {
  struct Range {
    const char* key;
    const char* bad;
    const char* bounds;
  } ranges[] = {
      {"heartbeat_ms", "99", "100..60000"},
      {"heartbeat_ms", "60001", "100..60000"},
      {"max_response_delay_ms", "199", "200..3600000"},
      {"max_response_delay_ms", "3600001", "200..3600000"},
      {"max_ack_delay_ms", "-1", "0..3600000"},
      {"max_ack_delay_ms", "3600001", "0..3600000"},
      {"max_unacked_clients", "-1", "0..1000000"},
      {"max_unacked_clients", "1000001", "0..1000000"},
      {"mclt", "0", "1..604800"},
      {"mclt", "604801", "1..604800"},
      {"max_answer_secs", "-1", "0..65535"},
      {"max_answer_secs", "65536", "0..65535"},
      {"split", "-1", "0..256"},
      {"split", "257", "0..256"},
      {"backlog_mb", "0", "1..65536"},
      {"backlog_mb", "65537", "1..65536"},
  };
  std::vector<BadCase> cases;
  for (const Range& x : ranges)
    cases.push_back({"[ha]\nthis_server = \"dhcp-a\"\nmode = \"load-balancing\"\ninsecure = true\n" +
                         std::string(x.key) + " = " + x.bad +
                         "\n[[ha.peer]]\nname = \"dhcp-a\"\naddress = \"10.98.0.1:8647\"\nrole = \"primary\"\n"
                         "[[ha.peer]]\nname = \"dhcp-b\"\naddress = \"10.98.0.2:8647\"\nrole = \"secondary\"\n",
                     {"ha.toml:10: ha." + std::string(x.key) + ": must be " + x.bounds + " (got " + x.bad + ")"}});
  cases.push_back({"[ha]\nthis_server = \"dhcp-a\"\nmode = \"hot-standby\"\ninsecure = true\n"
                   "mclt = 1.5\n" + std::string(kHotPeers),
                   {"ha.toml:10: ha.mclt: expected an integer, got a float"}});
  expect_bad(cases);
}

TEST(ConfigHaBad, HeartbeatWithinTheResponseDelay) {
  expect_bad({
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
heartbeat_ms = 2000
max_response_delay_ms = 2000
)" + std::string(kHotPeers),
       {"ha.toml:11: ha.max_response_delay_ms: must be greater than ha.heartbeat_ms (2000): the "
        "partner would look unresponsive between two heartbeats"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
heartbeat_ms = 6000
)" + std::string(kHotPeers),
       {"ha.toml:10: ha.heartbeat_ms: must be less than ha.max_response_delay_ms (5000, the "
        "default): the partner would look unresponsive between two heartbeats"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
max_response_delay_ms = 900
)" + std::string(kHotPeers),
       {"ha.toml:10: ha.max_response_delay_ms: must be greater than ha.heartbeat_ms (1000): the "
        "partner would look unresponsive between two heartbeats"}},
  });
}

TEST(ConfigHaBad, LoadBalancingKeysInHotStandby) {
  expect_bad({
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
split = 64
max_answer_secs = 10
)" + std::string(kHotPeers),
       {"ha.toml:10: ha.split: applies to mode = \"load-balancing\" only (in hot-standby the primary "
        "answers every client); remove it",
        "ha.toml:11: ha.max_answer_secs: applies to mode = \"load-balancing\" only (in hot-standby "
        "the primary answers every client); remove it"}},
  });
}

TEST(ConfigHaBad, TlsKeysRequiredUnlessInsecure) {
  expect_bad({
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
)" + std::string(kHotPeers),
       {"ha.toml:6: ha: ca, cert and key are required unless insecure = true (missing: ca, cert and key)"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = false
ca = "/etc/ssl/certs/ca-certificates.crt"
)" + std::string(kHotPeers),
       {"ha.toml:6: ha: ca, cert and key are required unless insecure = true (missing: cert and key)"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
ca = "/etc/passwd"
cert = "/etc/passwd"
)" + std::string(kHotPeers),
       {"ha.toml:6: ha: ca, cert and key are required unless insecure = true (missing: key)"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
cert = "/x/a.pem"
key = "/x/a.key"
)" + std::string(kHotPeers),
       {"ha.toml:9: ha.insecure: true turns TLS off, yet cert and key are set; remove them or set "
        "insecure = false"}},
      {R"([ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
ca = "/x/ca.pem"
)" + std::string(kHotPeers),
       {"ha.toml:9: ha.insecure: true turns TLS off, yet ca is set; remove it or set insecure = false"}},
  });
}

TEST(ConfigHaBad, TlsFilesMustBeReadable) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string ca = dir.file("ca.pem", "pem\n");
  const std::string empty = dir.file("empty.pem", "");
  const std::string locked = dir.file("locked.key", "secret\n");
  ASSERT_EQ(::chmod(locked.c_str(), 0), 0);
  const std::string missing = dir.path() + "/nope.pem";
  std::string text = "[ha]\nthis_server = \"dhcp-a\"\nmode = \"hot-standby\"\n"
                     "ca = \"" + dir.path() + "\"\n"      // line 9: a directory
                     "cert = \"" + missing + "\"\n"       // line 10: absent
                     "key = \"" + empty + "\"\n" +        // line 11: empty
                     std::string(kHotPeers);
  EXPECT_EQ(error_lines(with_head(text)),
            (Lines{"ha.toml:9: ha.ca: \"" + dir.path() + "\" is a directory, not a file",
                   "ha.toml:10: ha.cert: cannot read \"" + missing + "\": No such file or directory",
                   "ha.toml:11: ha.key: \"" + empty + "\" is empty"}));
  text = "[ha]\nthis_server = \"dhcp-a\"\nmode = \"hot-standby\"\nca = \"" + ca + "\"\ncert = \"" + ca +
         "\"\nkey = \"" + locked + "\"\n" + std::string(kHotPeers);
  const LoadResult r = with_head(text);
  if (::geteuid() == 0) {
    EXPECT_TRUE(r.ok()) << "root reads a mode-0 file" << all_errors(r);
  } else {
    EXPECT_EQ(error_lines(r), (Lines{"ha.toml:11: ha.key: cannot read \"" + locked + "\": Permission denied"}));
  }
  text = "[ha]\nthis_server = \"dhcp-a\"\nmode = \"hot-standby\"\nca = \"\"\ncert = \"" + ca +
         "\"\nkey = \"" + ca + "\"\n" + std::string(kHotPeers);
  EXPECT_EQ(error_lines(with_head(text)), (Lines{"ha.toml:9: ha.ca: must not be empty"}));
}

TEST(ConfigHaBad, NotTogetherWithSplitScope) {
  const LoadResult r = with_head(R"([split_scope]
this_server = "a"
servers = [ { name = "a", share = 1 }, { name = "b", share = 1 } ]
[ha]
this_server = "dhcp-a"
mode = "hot-standby"
insecure = true
)" + std::string(kHotPeers));
  EXPECT_EQ(error_lines(r), (Lines{"ha.toml:9: ha: cannot be used together with [split_scope] (ha.toml:6): "
                              "both split the pools between servers; keep one"}));
  EXPECT_FALSE(r.config.has_value());
}

// All the mistakes of a file at once, in file order.
TEST(ConfigHaBad, ErrorsAreCollected) {
  const LoadResult r = with_head(R"([ha]
this_server = "dhcp-z"
mode = "hot-standby"
heartbeat_ms = 10
[[ha.peer]]
name = "dhcp-a"
address = "10.98.0.1"
role = "primary"
[[ha.peer]]
name = "dhcp-b"
address = "10.98.0.2:8647"
role = "secondary"
)");
  EXPECT_EQ(error_lines(r),
            (Lines{"ha.toml:6: ha: ca, cert and key are required unless insecure = true (missing: ca, cert and key)",
                   "ha.toml:7: ha.this_server: \"dhcp-z\" is not one of the ha.peer names (dhcp-a, dhcp-b)",
                   "ha.toml:9: ha.heartbeat_ms: must be 100..60000 (got 10)",
                   "ha.toml:12: ha.peer[0].address: must be \"ADDRESS:PORT\" with an IPv4 address and a "
                   "port 1..65535 (got \"10.98.0.1\")",
                   "ha.toml:17: ha.peer[1].role: \"secondary\" does not fit mode = \"hot-standby\": "
                   "hot-standby takes one primary and one standby"}));
}

// ---- reload: [ha] is read at start-up only ---------------------------------------

TEST(ConfigHaReload, AnyChangeNeedsARestart) {
  const std::string base = pair_file("10.99.0.2", "dhcp-a", "hot-standby", "standby");
  const LoadResult a = load(base);
  ASSERT_TRUE(a.ok()) << all_errors(a);
  auto changes = [&](const std::string& text) {
    const LoadResult b = load(text);
    EXPECT_TRUE(b.ok()) << all_errors(b);
    Lines out;
    if (b.ok())
      for (const ConfigError& e : restart_only_changes(*a.config, *b.config, "ha.toml"))
        out.push_back(e.to_string());
    return out;
  };
  const std::string tail = ": needs a restart; reload refused, still serving with the previous config";
  // Same [ha], another pool: reloadable.
  std::string pools = base;
  pools.replace(pools.find("10.99.2.0/24"), 12, "10.99.3.0/24");
  EXPECT_EQ(changes(pools), Lines{});
  // Added, removed.
  const LoadResult plain = load(kMinimalConfig);
  ASSERT_TRUE(plain.ok());
  Lines added;
  for (const ConfigError& e : restart_only_changes(*plain.config, *a.config, "ha.toml"))
    added.push_back(e.to_string());
  EXPECT_EQ(added, (Lines{"ha.toml:0: server.address: changed from 10.99.0.1 to 10.99.0.2" + tail,
                          "ha.toml:0: ha: added" + tail}));
  Lines removed;
  for (const ConfigError& e : restart_only_changes(*a.config, *plain.config, "ha.toml"))
    removed.push_back(e.to_string());
  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(removed[1], "ha.toml:0: ha: removed" + tail);
  // Keys.
  EXPECT_EQ(changes(pair_file("10.99.0.2", "dhcp-b", "hot-standby", "standby")),
            (Lines{"ha.toml:0: ha.this_server: changed from \"dhcp-a\" to \"dhcp-b\"" + tail,
                   "ha.toml:0: ha.listen: changed from \"10.98.0.1:8647\" to \"10.98.0.2:8647\"" + tail}));
  EXPECT_EQ(changes(pair_file("10.99.0.2", "dhcp-a", "load-balancing", "secondary")),
            (Lines{"ha.toml:0: ha.mode: changed from \"hot-standby\" to \"load-balancing\"" + tail,
                   "ha.toml:0: ha.peer: changed from [dhcp-a 10.98.0.1:8647 primary, dhcp-b "
                   "10.98.0.2:8647 standby] to [dhcp-a 10.98.0.1:8647 primary, dhcp-b 10.98.0.2:8647 "
                   "secondary]" + tail}));
  EXPECT_EQ(changes(pair_file("10.99.0.2", "dhcp-a", "hot-standby", "standby",
                              "heartbeat_ms = 500\nack = \"local\"\nmclt = 60\nbacklog_mb = 8\n"
                              "max_unacked_clients = 0\nmax_ack_delay_ms = 3000\n"
                              "max_response_delay_ms = 4000\n")),
            (Lines{"ha.toml:0: ha.ack: changed from \"partner\" to \"local\"" + tail,
                   "ha.toml:0: ha.heartbeat_ms: changed from 1000 to 500" + tail,
                   "ha.toml:0: ha.max_response_delay_ms: changed from 5000 to 4000" + tail,
                   "ha.toml:0: ha.max_ack_delay_ms: changed from 10000 to 3000" + tail,
                   "ha.toml:0: ha.max_unacked_clients: changed from 10 to 0" + tail,
                   "ha.toml:0: ha.mclt: changed from 3600 to 60" + tail,
                   "ha.toml:0: ha.backlog_mb: changed from 64 to 8" + tail}));
  std::string moved = base;
  moved.replace(moved.find("10.98.0.2:8647"), 14, "10.98.0.9:8647");
  EXPECT_EQ(changes(moved).size(), 1u);
  EXPECT_EQ(changes(moved).at(0).rfind("ha.toml:0: ha.peer: changed from ", 0), 0u);
}

TEST(ConfigHaReload, TlsAndLoadBalancingKeysNeedARestart) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string one = dir.file("one.pem", "pem\n"), two = dir.file("two.pem", "pem\n");
  const std::string tail = ": needs a restart; reload refused, still serving with the previous config";
  auto file = [&](const std::string& ca, const char* lb) {
    std::string text = pair_file("10.99.0.2", "dhcp-a", "load-balancing", "secondary", lb);
    text.replace(text.find("insecure = true\n"), 16,
                 "ca = \"" + ca + "\"\ncert = \"" + one + "\"\nkey = \"" + one + "\"\n");
    return load(text);
  };
  const LoadResult a = file(one, ""), b = file(two, "split = 10\nmax_answer_secs = 5\n");
  ASSERT_TRUE(a.ok()) << all_errors(a);
  ASSERT_TRUE(b.ok()) << all_errors(b);
  Lines out;
  for (const ConfigError& e : restart_only_changes(*a.config, *b.config, "ha.toml")) out.push_back(e.to_string());
  EXPECT_EQ(out, (Lines{"ha.toml:0: ha.max_answer_secs: changed from 0 to 5" + tail,
                        "ha.toml:0: ha.split: changed from 128 to 10" + tail,
                        "ha.toml:0: ha.ca: changed from \"" + one + "\" to \"" + two + "\"" + tail}));
  const LoadResult c = load(pair_file("10.99.0.2", "dhcp-a", "load-balancing", "secondary"));
  ASSERT_TRUE(c.ok());
  out.clear();
  for (const ConfigError& e : restart_only_changes(*a.config, *c.config, "ha.toml")) out.push_back(e.to_string());
  EXPECT_EQ(out, (Lines{"ha.toml:0: ha.insecure: changed from false to true" + tail,
                        "ha.toml:0: ha.ca: changed from \"" + one + "\" to \"\"" + tail,
                        "ha.toml:0: ha.cert: changed from \"" + one + "\" to \"\"" + tail,
                        "ha.toml:0: ha.key: changed from \"" + one + "\" to \"\"" + tail}));
}

// ---- the digest of what the pair shares ------------------------------------------

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::uint64_t digest_of(const std::string& text) {
  const LoadResult r = load(text);
  EXPECT_TRUE(r.ok()) << text << all_errors(r);
  return r.ok() ? ha_config_digest(*r.config) : 0;
}

TEST(ConfigHaDigest, SharedTextAndFnv1a) {
  const LoadResult r = load(pair_file("10.99.0.2", "dhcp-b", "hot-standby", "standby",
                                      "split = 128\n") +
                            "[[subnet.option]]\ncode = 26\nu16 = 1500\n[[option]]\ncode = 42\n"
                            "ip = \"10.99.0.123\"\nalways_send = true\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const std::string text = ha_shared_text(*r.config);
  EXPECT_EQ(text,
            "dorado-ha-shared 1\n"
            "lease offer_hold = 30 decline_probation = 86400\n"
            "option 42 always_send = 0a:63:00:7b\n"
            "subnet 1 10.99.0.0/16 lease_time = 3600 min = 300 max = 86400 t1 = 0.5 t2 = 0.875 domain = \"\"\n"
            "  pool 10.99.1.0-10.99.1.255\n"
            "  pool 10.99.2.0-10.99.2.255\n"
            "  exclude 10.99.1.1-10.99.1.9\n"
            "  reservation 10.99.0.100 mac = 02:00:00:00:00:01 client_id = -\n"
            "  router 10.99.0.1\n"
            "  option 26 = 05:dc\n"
            "ha hot-standby ack = partner split = 128 mclt = 3600 max_answer_secs = 0\n"
            "  peer dhcp-a 10.98.0.1:8647 primary\n"
            "  peer dhcp-b 10.98.0.2:8647 standby\n");
  EXPECT_EQ(ha_config_digest(*r.config), fnv1a(text));
}

// Client classes, pool tables, what a reservation gives and shared
// networks (issue 16) are shared config: each change moves the digest; the
// text names them; a config without them keeps its digest (test above).
TEST(ConfigHaDigest, PolicyIsShared) {
  const std::string head = pair_file("10.99.0.2", "dhcp-a", "hot-standby", "standby");
  const std::string classes =
      "[[class]]\nname = \"phones\"\nvendor_class_prefix = \"PolycomVVX\"\nlease_time = 300\n"
      "[[class.option]]\ncode = 66\nstring = \"tftp.example\"\n"
      "[[class]]\nname = \"lab\"\n";
  const std::string pool = "[[subnet.pool]]\nrange = \"10.99.4.0-10.99.4.255\"\nclasses = [\"phones\"]\n";
  const std::string base = head + classes + pool;
  const LoadResult r = load(base);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const std::string text = ha_shared_text(*r.config);
  EXPECT_NE(text.find("class \"phones\" lease_time = 300\n  match option 60 prefix 50:6f:6c:79:63:6f:6d:56:56:58\n"
                      "  option 66 = 74:66:74:70:2e:65:78:61:6d:70:6c:65\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  pool_table 10.99.4.0-10.99.4.255 classes = \"phones\"\n"), std::string::npos) << text;
  const std::uint64_t d = digest_of(base);
  auto swap = [](std::string s, std::string_view from, std::string_view to) {
    const std::size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  // Each of these is a different policy: a different digest.
  const std::vector<std::string> changed = {
      swap(base, "PolycomVVX", "PolycomVVY"),                          // a match value
      swap(base, "vendor_class_prefix", "vendor_class"),               // a match kind
      swap(base, "tftp.example", "tftp2.example"),                     // a class option
      swap(base, "lease_time = 300", "lease_time = 301"),              // a class lease time
      head + "[[class]]\nname = \"lab\"\n" + swap(classes, "[[class]]\nname = \"lab\"\n", "") + pool,   // order
      swap(base, "name = \"lab\"\n", "name = \"lab\"\ndrop = true\n"),    // "lab" drops
      swap(base, "classes = [\"phones\"]", "classes = [\"lab\"]"),     // who a pool is for
      swap(base, "classes = [\"phones\"]", "deny = [\"lab\"]"),
      swap(base, "address = \"10.99.0.100\"\n", "address = \"10.99.0.100\"\nclasses = [\"lab\"]\n"),   // given
      base + "[[shared_network]]\nname = \"campus\"\nsubnets = [\"10.99.0.0/16\"]\n",
  };
  std::vector<std::uint64_t> seen{d};
  for (const std::string& c : changed) {
    const std::uint64_t x = digest_of(c);
    EXPECT_NE(x, 0u) << c;
    EXPECT_EQ(std::find(seen.begin(), seen.end(), x), seen.end()) << c;
    seen.push_back(x);
  }
}

TEST(ConfigHaDigest, EqualWhereTheServersDiffer) {
  const std::string a = pair_file("10.99.0.2", "dhcp-a", "hot-standby", "standby");
  const std::uint64_t base = digest_of(a);
  // [server], [store], [dpdk], [control], this_server, listen, the timers,
  // TLS, backlog: each server's own.
  const std::string own =
      "[dpdk]\nworkers = 3\neal_args = [\"--no-pci\"]\n[store]\ndir = \"/tmp/b\"\ndurability = \"async\"\n"
      "[control]\nsocket = \"/tmp/b.sock\"\nmetrics = \"off\"\n";
  const std::string b = own + pair_file("10.99.0.3", "dhcp-b", "hot-standby", "standby",
                                        "listen = \"0.0.0.0:9999\"\nheartbeat_ms = 200\n"
                                        "max_response_delay_ms = 900\nmax_ack_delay_ms = 1\n"
                                        "max_unacked_clients = 3\nbacklog_mb = 1\n");
  EXPECT_EQ(digest_of(b), base);
  // The peers' order in the file does not matter.
  std::string swapped = "[server]\naddress = \"10.99.0.2\"\n"
                        "[[subnet]]\nprefix = \"10.99.0.0/16\"\npools = [\"10.99.1.0/24\", \"10.99.2.0/24\"]\n"
                        "exclude = \"10.99.1.1-10.99.1.9\"\nrouters = \"10.99.0.1\"\n"
                        "[[subnet.reservation]]\nmac = \"02:00:00:00:00:01\"\naddress = \"10.99.0.100\"\n"
                        "[ha]\nthis_server = \"dhcp-a\"\nmode = \"hot-standby\"\ninsecure = true\n"
                        "[[ha.peer]]\nname = \"dhcp-b\"\naddress = \"10.98.0.2:8647\"\nrole = \"standby\"\n"
                        "[[ha.peer]]\nname = \"dhcp-a\"\naddress = \"10.98.0.1:8647\"\nrole = \"primary\"\n";
  EXPECT_EQ(digest_of(swapped), base);
  // A subnet's server_id is the server's own identity too.
  std::string id = a;
  id.replace(id.find("routers"), 0, "server_id = \"10.99.0.2\"\n");
  EXPECT_EQ(digest_of(id), base);
}

TEST(ConfigHaDigest, DiffersWithWhatThePairShares) {
  const std::string a = pair_file("10.99.0.2", "dhcp-a", "hot-standby", "standby");
  const std::uint64_t base = digest_of(a);
  auto edited = [&](std::string_view from, std::string_view to) {
    std::string t = a;
    const auto at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) t.replace(at, from.size(), to);
    return digest_of(t);
  };
  EXPECT_NE(edited("10.99.2.0/24", "10.99.2.0/25"), base);                              // a pool
  EXPECT_NE(edited("10.99.1.1-10.99.1.9", "10.99.1.1-10.99.1.10"), base);               // an exclusion
  EXPECT_NE(edited("address = \"10.99.0.100\"", "address = \"10.99.0.101\""), base);    // a reservation
  EXPECT_NE(edited("routers = \"10.99.0.1\"", "routers = \"10.99.0.1\"\nlease_time = 7200\nmax_lease_time = 7200"), base);
  EXPECT_NE(edited("routers = \"10.99.0.1\"", "routers = \"10.99.0.1\"\ndns = \"10.99.0.53\""), base);
  EXPECT_NE(edited("routers = \"10.99.0.1\"", "routers = \"10.99.0.254\""), base);
  EXPECT_NE(edited("prefix = \"10.99.0.0/16\"", "prefix = \"10.99.0.0/16\"\nid = 7"), base);
  EXPECT_NE(edited("[ha]", "[lease]\noffer_hold = 10\n[ha]"), base);
  EXPECT_NE(edited("insecure = true\n", "insecure = true\nmclt = 1800\n"), base);
  EXPECT_NE(edited("insecure = true\n", "insecure = true\nack = \"local\"\n"), base);
  EXPECT_NE(edited("name = \"dhcp-b\"", "name = \"dhcp-c\""), base);
  EXPECT_NE(edited("10.98.0.2:8647", "10.98.0.2:8648"), base);
  // Load-balancing: the split and max_answer_secs.
  const std::string lb = pair_file("10.99.0.2", "dhcp-a", "load-balancing", "secondary");
  const std::uint64_t lb_base = digest_of(lb);
  EXPECT_NE(lb_base, base);
  EXPECT_NE(digest_of(pair_file("10.99.0.2", "dhcp-a", "load-balancing", "secondary", "split = 129\n")), lb_base);
  EXPECT_NE(digest_of(pair_file("10.99.0.2", "dhcp-a", "load-balancing", "secondary", "max_answer_secs = 9\n")),
            lb_base);
  // The roles swapped: the other server is the primary.
  std::string swapped = lb;
  swapped.replace(swapped.find("\"primary\""), 9, "\"X\"");
  swapped.replace(swapped.find("\"secondary\""), 11, "\"primary\"");
  swapped.replace(swapped.find("\"X\""), 3, "\"secondary\"");
  EXPECT_NE(digest_of(swapped), lb_base);
}

// ---- values ------------------------------------------------------------------------

TEST(ConfigHaValues, Endpoint) {
  using detail::parse_endpoint;
  const auto e = parse_endpoint("10.98.0.1:8647");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->ip, 0x0a620001u);
  EXPECT_EQ(e->port, 8647);
  EXPECT_EQ(detail::endpoint_text(*e), "10.98.0.1:8647");
  EXPECT_EQ(parse_endpoint("0.0.0.0:1")->port, 1);
  EXPECT_EQ(parse_endpoint("1.2.3.4:65535")->port, 65535);
  for (const char* bad : {"", ":", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:+1",
                          "1.2.3.4:01", "1.2.3.4:1x", "1.2.3:80", "a:80", "1.2.3.4:80:80", " 1.2.3.4:80",
                          "1.2.3.4:123456"})
    EXPECT_FALSE(parse_endpoint(bad).has_value()) << bad;
}

}  // namespace
}  // namespace dorado::config

// ---- the engine's part (config.cpp, apply_ha) --------------------------------------

namespace dorado::config {
namespace {

TEST(ConfigHaEngine, SidesBucketsAndUnackedSeconds) {
  const LoadResult a = load(pair_file("10.99.0.1", "dhcp-a", "load-balancing", "secondary",
                                      "split = 100\nmax_answer_secs = 30\nmax_ack_delay_ms = 4500\n"));
  const LoadResult b = load(pair_file("10.99.0.2", "dhcp-b", "load-balancing", "secondary",
                                      "split = 100\nmax_answer_secs = 30\nmax_ack_delay_ms = 4500\n"));
  ASSERT_TRUE(a.ok()) << all_errors(a);
  ASSERT_TRUE(b.ok()) << all_errors(b);
  const engine::HaConfig& ea = a.compiled->ha;
  const engine::HaConfig& eb = b.compiled->ha;
  EXPECT_TRUE(ea.enabled);
  EXPECT_EQ(ea.side, 0);
  EXPECT_EQ(eb.side, 1);
  EXPECT_FALSE(ea.all_blocks);
  for (unsigned k = 0; k < 256; ++k) {   // buckets below split are the primary's, the rest the secondary's
    EXPECT_EQ(ea.buckets.has(static_cast<std::uint8_t>(k)), k < 100) << k;
    EXPECT_EQ(eb.buckets.has(static_cast<std::uint8_t>(k)), k >= 100) << k;
  }
  EXPECT_EQ(ea.max_answer_secs, 30);
  EXPECT_EQ(ea.unacked_secs, 4);   // whole seconds of `secs`
  // Hot standby: the primary answers every bucket, the standby none; no max_answer_secs.
  const LoadResult hs = load(pair_file("10.99.0.2", "dhcp-b", "hot-standby", "standby"));
  ASSERT_TRUE(hs.ok()) << all_errors(hs);
  for (unsigned k = 0; k < 256; ++k) EXPECT_FALSE(hs.compiled->ha.buckets.has(static_cast<std::uint8_t>(k)));
  EXPECT_EQ(hs.compiled->ha.max_answer_secs, 0);
  const LoadResult none = load(std::string(R"([server]
address = "10.99.0.1"
[[subnet]]
prefix = "10.99.0.0/16"
pools = "10.99.1.0/24"
)"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none.compiled->ha.enabled);
}

TEST(ConfigHaEngine, AckLocalCapsLeaseTimesAtTheMclt) {
  auto with = [](std::string_view ack) {
    std::string f = pair_file("10.99.0.1", "dhcp-a", "hot-standby", "standby",
                              "ack = \"" + std::string(ack) + "\"\nmclt = 600\n");
    // lease times above the MCLT
    const auto at = f.find("routers");
    f.insert(at, "lease_time = 7200\nmin_lease_time = 900\nmax_lease_time = 86400\n");
    return f;
  };
  const LoadResult local = load(with("local"));
  const LoadResult partner = load(with("partner"));
  ASSERT_TRUE(local.ok()) << all_errors(local);
  ASSERT_TRUE(partner.ok()) << all_errors(partner);
  const engine::CompiledSubnet& l = local.compiled->subnets[0];
  EXPECT_EQ(l.lease_time, 600u);       // capped: the partner may not know of a lease for longer
  EXPECT_EQ(l.max_lease_time, 600u);
  EXPECT_LE(l.min_lease_time, 600u);
  const engine::CompiledSubnet& p = partner.compiled->subnets[0];
  EXPECT_EQ(p.lease_time, 7200u);      // ack = partner: ACKs wait for the partner instead
  EXPECT_EQ(p.max_lease_time, 86400u);
}

}  // namespace
}  // namespace dorado::config
