// [conflict] and [subnet.conflict] (control/config/conflict.cpp): values,
// defaults, per-subnet overrides compiled in subnet order, and every
// refusal with FILE:LINE and key.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config_fixture.hpp"

namespace dorado::config {
namespace {

using test_support::all_errors;

LoadResult load(std::string_view text) { return load_config_string(text, "conflict.toml"); }

constexpr std::string_view kHead =
    "[server]\n"
    "address = \"10.99.0.1\"\n";
constexpr std::string_view kSubnets =
    "[[subnet]]\n"
    "prefix = \"10.99.0.0/16\"\n"
    "pools = \"10.99.1.0/24\"\n"
    "[[subnet]]\n"
    "prefix = \"10.50.0.0/16\"\n"
    "pools = \"10.50.1.0/24\"\n"
    "[subnet.conflict]\n"
    "probe = \"off\"\n"
    "probe_after = 5\n";

TEST(ConfigConflict, GlobalAndPerSubnet) {
  const LoadResult r = load(std::string(kHead) +
                            "[conflict]\nprobe = \"arp\"\nprobe_after = 120\nprobe_timeout_ms = 250\nprobes = 3\n" +
                            std::string(kSubnets));
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const engine::ProbePolicy& p = r.config->engine.probe;
  EXPECT_EQ(p.mode, engine::ProbeMode::arp);
  EXPECT_EQ(p.probe_after_s, 120u);
  EXPECT_EQ(p.timeout_ms, 250u);
  EXPECT_EQ(p.probes, 3u);
  const engine::CompiledConfig& c = *r.compiled;
  EXPECT_TRUE(c.probe_enabled);
  ASSERT_EQ(c.probe_subnets.size(), 2u);
  // Compiled order is by network: 10.50/16 (off, 5 s) first.
  EXPECT_EQ(c.probe_subnets[0].mode, engine::ProbeMode::off);
  EXPECT_EQ(c.probe_subnets[0].probe_after_s, 5u);
  EXPECT_EQ(c.probe_subnets[1].mode, engine::ProbeMode::arp);
  EXPECT_EQ(c.probe_subnets[1].probe_after_s, 120u);
}

TEST(ConfigConflict, DefaultsProbeNothing) {
  const LoadResult r = load(std::string(kHead) + std::string(kSubnets));
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->engine.probe.mode, engine::ProbeMode::off);
  EXPECT_EQ(r.config->engine.probe.timeout_ms, 500u);
  EXPECT_EQ(r.config->engine.probe.probes, 1u);
  EXPECT_FALSE(r.compiled->probe_enabled);
}

TEST(ConfigConflict, ASubnetAloneMayProbe) {
  const LoadResult r = load(std::string(kHead) +
                            "[[subnet]]\nprefix = \"10.99.0.0/16\"\npools = \"10.99.1.0/24\"\n"
                            "conflict = { probe = \"icmp\" }\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(r.compiled->probe_enabled);
}

TEST(ConfigConflict, RefusalsNameLineAndKey) {
  const LoadResult r = load(std::string(kHead) +
                            "[conflict]\n"
                            "probe = \"ping\"\n"          // line 4
                            "probes = 4\n"                // line 5
                            "probe_timeout_ms = 0\n"      // line 6
                            "probe_afterr = 3\n"          // line 7
                            "[[subnet]]\nprefix = \"10.99.0.0/16\"\npools = \"10.99.1.0/24\"\n"
                            "[subnet.conflict]\n"
                            "probes = 2\n"                // line 12
                            "probe = 3\n");               // line 13
  ASSERT_FALSE(r.ok());
  const std::string e = all_errors(r);
  EXPECT_NE(e.find("conflict.toml:4"), std::string::npos) << e;
  EXPECT_NE(e.find("conflict.probe"), std::string::npos) << e;
  EXPECT_NE(e.find("\"icmp\", \"arp\" or \"off\""), std::string::npos) << e;
  EXPECT_NE(e.find("conflict.toml:5"), std::string::npos) << e;
  EXPECT_NE(e.find("conflict.toml:6"), std::string::npos) << e;
  EXPECT_NE(e.find("conflict.toml:7"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean `probe_after`"), std::string::npos) << e;
  EXPECT_NE(e.find("conflict.toml:12"), std::string::npos) << e;
  EXPECT_NE(e.find("[conflict] only"), std::string::npos) << e;
  EXPECT_NE(e.find("conflict.toml:13"), std::string::npos) << e;
  EXPECT_NE(e.find("subnet[0].conflict.probe"), std::string::npos) << e;
}

}  // namespace
}  // namespace dorado::config
