// What a reload may change (config::restart_only_changes), and that a
// reloadable change compiles to the expected snapshot.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"

namespace {

using dorado::config::load_config_string;
using dorado::config::LoadResult;
using dorado::config::restart_only_changes;

const std::string kBase = R"(
[server]
address = "10.99.0.1"
[dpdk]
eal_args = ["--no-pci"]
workers = 2
[store]
dir = "/tmp/x"
[control]
socket = "/tmp/x.sock"
[lease]
offer_hold = 30
[[subnet]]
prefix = "10.99.0.0/16"
pools = "10.99.1.0/24"
dns = "10.99.0.53"
)";

LoadResult load(const std::string& text) {
  LoadResult r = load_config_string(text, "d.toml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return r;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(ConfigReload, ReloadableChangesNeedNoRestart) {
  const LoadResult a = load(kBase);
  std::string text = replaced(kBase, "dns = \"10.99.0.53\"", "dns = \"10.99.0.77\"\nlease_time = 7200\nmax_lease_time = 7200");
  text = replaced(text, "pools = \"10.99.1.0/24\"", "pools = [\"10.99.1.0/24\", \"10.99.2.0/24\"]\nexclude = \"10.99.1.5\"");
  text = replaced(text, "offer_hold = 30", "offer_hold = 10");
  text += "[[subnet]]\nprefix = \"10.98.0.0/16\"\npools = \"10.98.1.0/24\"\nrelay = []\n"
          "[split_scope]\nthis_server = \"a\"\nservers = [ { name = \"a\", share = 1 }, { name = \"b\", share = 1 } ]\n";
  const LoadResult b = load(text);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(restart_only_changes(*a.config, *b.config, "d.toml").empty());
  EXPECT_EQ(b.compiled->subnets.size(), 2u);
  EXPECT_EQ(b.compiled->offer_hold_s, 10u);
  EXPECT_FALSE(b.compiled->peer_ranges.empty());
}

TEST(ConfigReload, StartUpKeysNeedARestartAndAreNamed) {
  const LoadResult a = load(kBase);
  struct Case {
    const char* from;
    const char* to;
    const char* error;
  } cases[] = {
      {"workers = 2", "workers = 3", "d.toml:0: dpdk.workers: changed from 2 to 3: needs a restart"},
      {"eal_args = [\"--no-pci\"]", "eal_args = [\"--no-pci\", \"-l\", \"0-2\"]",
       "d.toml:0: dpdk.eal_args: changed from [\"--no-pci\"] to [\"--no-pci\", \"-l\", \"0-2\"]: needs a restart"},
      {"dir = \"/tmp/x\"", "dir = \"/tmp/y\"", "d.toml:0: store.dir: changed from \"/tmp/x\" to \"/tmp/y\": needs a restart"},
      {"dir = \"/tmp/x\"", "dir = \"/tmp/x\"\ndurability = \"async\"",
       "d.toml:0: store.durability: changed from \"fsync\" to \"async\": needs a restart"},
      {"socket = \"/tmp/x.sock\"", "socket = \"/tmp/y.sock\"", "d.toml:0: control.socket: changed from"},
      {"address = \"10.99.0.1\"", "address = \"10.99.0.2\"",
       "d.toml:0: server.address: changed from 10.99.0.1 to 10.99.0.2: needs a restart"},
  };
  for (const Case& c : cases) {
    const LoadResult b = load(replaced(kBase, c.from, c.to));
    ASSERT_TRUE(b.ok());
    const auto errors = restart_only_changes(*a.config, *b.config, "d.toml");
    ASSERT_FALSE(errors.empty()) << c.to;
    EXPECT_EQ(errors[0].to_string().rfind(c.error, 0), 0u) << errors[0].to_string();
  }
  // workers also changes the default mbufs: both are named.
  const LoadResult b = load(replaced(kBase, "workers = 2", "workers = 3"));
  const auto errors = restart_only_changes(*a.config, *b.config, "d.toml");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[1].key, "dpdk.mbufs");
}

}  // namespace
