// [limits] and a [[subnet]]'s limit keys in control/config
// (docs/configuration.md "[limits]"): values to engine::LimitConfig and the
// compiled per-subnet limits; mistakes refused with "FILE:LINE: key:
// message"; reloadable (restart_only_changes() reports nothing).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config_fixture.hpp"

namespace dorado::config {
namespace {

using test_support::error_lines;
using test_support::kMinimalConfig;

// Five lines of head: what follows starts on line 6.
LoadResult with_head(std::string_view text) { return test_support::load_after_minimal(text, "limits.toml"); }

TEST(ConfigLimits, GlobalAndSubnetKeys) {
  const LoadResult r = with_head(
      "max_leases_per_circuit = 8\n"            // line 6: subnet 10.99/16's own
      "[[subnet]]\n"
      "prefix = \"10.98.0.0/16\"\n"
      "pools = \"10.98.1.0/24\"\n"
      "[limits]\n"
      "max_leases_per_circuit = 4\n"
      "max_new_clients_per_second = 10\n"
      "limit_by = \"remote_id\"\n");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  EXPECT_EQ(r.config->engine.limits.max_leases, 4u);
  EXPECT_EQ(r.config->engine.limits.max_new_per_second, 10u);
  EXPECT_EQ(r.config->engine.limits.by, engine::LimitBy::remote_id);
  ASSERT_EQ(r.compiled->subnet_limits.size(), 2u);
  // Compiled order is by prefix: 10.98 first (global scope), then 10.99 (its own).
  const engine::CompiledLimits& g = r.compiled->subnet_limits[0];
  EXPECT_EQ(g.max_leases, 4u);
  EXPECT_EQ(g.max_new_per_second, 10u);
  EXPECT_EQ(g.by, engine::LimitBy::remote_id);
  EXPECT_EQ(g.scope, 0u);
  const engine::CompiledLimits& own = r.compiled->subnet_limits[1];
  EXPECT_EQ(own.max_leases, 8u);
  EXPECT_EQ(own.max_new_per_second, 10u);   // the global's
  EXPECT_EQ(own.by, engine::LimitBy::remote_id);
  EXPECT_NE(own.scope, 0u);
}

TEST(ConfigLimits, NoneByDefault) {
  const LoadResult r = load_config_string(kMinimalConfig, "limits.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.compiled->subnet_limits.empty());
  // limit_by alone limits nothing.
  const LoadResult by = with_head("[limits]\nlimit_by = \"mac\"\n");
  ASSERT_TRUE(by.ok());
  EXPECT_TRUE(by.compiled->subnet_limits.empty());
}

TEST(ConfigLimits, BadValuesRefusedWithLineAndKey) {
  const LoadResult r = with_head(
      "max_new_clients_per_second = -1\n"   // line 6
      "[limits]\n"
      "max_leases_per_circuit = 0\n"        // line 8
      "max_new_clients_per_second = \"5\"\n"
      "limit_by = \"vlan\"\n"               // line 10
      "max_lease_per_circuit = 3\n");       // line 11: a typo
  ASSERT_FALSE(r.ok());
  const std::vector<std::string> e = error_lines(r);
  ASSERT_EQ(e.size(), 5u) << ::testing::PrintToString(e);
  EXPECT_NE(e[0].find("limits.toml:6"), std::string::npos) << e[0];
  EXPECT_NE(e[0].find("subnet[0].max_new_clients_per_second"), std::string::npos) << e[0];
  EXPECT_NE(e[0].find("must be 1..1000000"), std::string::npos) << e[0];
  EXPECT_NE(e[1].find("limits.toml:8"), std::string::npos) << e[1];
  EXPECT_NE(e[1].find("limits.max_leases_per_circuit"), std::string::npos) << e[1];
  EXPECT_NE(e[1].find("(got 0)"), std::string::npos) << e[1];
  EXPECT_NE(e[2].find("limits.max_new_clients_per_second"), std::string::npos) << e[2];
  EXPECT_NE(e[3].find("limits.toml:10"), std::string::npos) << e[3];
  EXPECT_NE(e[3].find("\"circuit_id\", \"remote_id\" or \"mac\""), std::string::npos) << e[3];
  EXPECT_NE(e[4].find("limits.toml:11"), std::string::npos) << e[4];
  EXPECT_NE(e[4].find("max_lease_per_circuit"), std::string::npos) << e[4];
}

TEST(ConfigLimits, Reloadable) {
  const LoadResult a = load_config_string(kMinimalConfig, "limits.toml");
  const LoadResult b = with_head("[limits]\nmax_leases_per_circuit = 2\n");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(restart_only_changes(*a.config, *b.config, "limits.toml").empty());
  EXPECT_TRUE(restart_only_changes(*b.config, *a.config, "limits.toml").empty());
}

}  // namespace
}  // namespace dorado::config
