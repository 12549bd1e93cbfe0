// [leasequery] in control/config (docs/configuration.md "[leasequery]"):
// `allowed` maps to engine::EngineConfig::leasequery_allowed and the compiled
// config's sorted list; mistakes are refused with "FILE:LINE: key: message";
// the section is reloadable (restart_only_changes() reports nothing).
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

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return a << 24 | b << 16 | c << 8 | d;
}

// Five lines before [leasequery]: its text starts on line 6.
LoadResult with_head(std::string_view lq) { return test_support::load_after_minimal(lq, "lq.toml"); }

TEST(ConfigLeasequery, AllowedRequesters) {
  const LoadResult r = with_head("[leasequery]\nallowed = [\"10.99.0.3\", \"192.0.2.7\", \"10.99.0.2\"]\n");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  EXPECT_EQ(r.config->engine.leasequery_allowed,
            (std::vector<std::uint32_t>{v4(10, 99, 0, 3), v4(192, 0, 2, 7), v4(10, 99, 0, 2)}));
  EXPECT_EQ(r.compiled->leasequery_allowed,
            (std::vector<std::uint32_t>{v4(10, 99, 0, 2), v4(10, 99, 0, 3), v4(192, 0, 2, 7)}));
  EXPECT_TRUE(r.compiled->leasequery_allows(v4(192, 0, 2, 7)));
  EXPECT_FALSE(r.compiled->leasequery_allows(v4(192, 0, 2, 8)));
  // One address as a plain string.
  const LoadResult one = with_head("[leasequery]\nallowed = \"10.99.0.2\"\n");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one.compiled->leasequery_allowed, (std::vector<std::uint32_t>{v4(10, 99, 0, 2)}));
}

TEST(ConfigLeasequery, WithoutTheSectionNobodyIsAllowed) {
  const LoadResult r = load_config_string(kMinimalConfig, "lq.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.compiled->leasequery_allowed.empty());
  EXPECT_FALSE(r.compiled->leasequery_allows(v4(10, 99, 0, 2)));
}

TEST(ConfigLeasequery, BulkListen) {
  // Default: bulk leasequery on 0.0.0.0:67 with the section, off without it.
  LoadResult r = with_head("[leasequery]\nallowed = \"10.99.0.2\"\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.config->leasequery.bulk);
  EXPECT_EQ(r.config->leasequery.bulk_listen, "0.0.0.0:67");
  EXPECT_EQ(r.config->leasequery.bulk_address, 0u);
  EXPECT_EQ(r.config->leasequery.bulk_port, 67);
  EXPECT_FALSE(load_config_string(kMinimalConfig, "lq.toml").config->leasequery.bulk);
  r = with_head("[leasequery]\nallowed = \"10.99.0.2\"\nbulk_listen = \"127.0.0.1:6767\"\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->leasequery.bulk_address, v4(127, 0, 0, 1));
  EXPECT_EQ(r.config->leasequery.bulk_port, 6767);
  r = with_head("[leasequery]\nallowed = \"10.99.0.2\"\nbulk_listen = \"\"\n");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.config->leasequery.bulk);
  for (const char* bad : {"10.0.0.1", "10.0.0.1:0", "224.0.0.1:67", "x:67"}) {
    r = with_head(std::string("[leasequery]\nallowed = \"10.99.0.2\"\nbulk_listen = \"") + bad + "\"\n");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(error_lines(r)[0].find("lq.toml:8: leasequery.bulk_listen: must be"), std::string::npos) << error_lines(r)[0];
  }
}

TEST(ConfigLeasequery, Mistakes) {
  EXPECT_EQ(error_lines(with_head("[leasequery]\n")),
            (std::vector<std::string>{"lq.toml:6: leasequery.allowed: missing required key"}));
  EXPECT_EQ(error_lines(with_head("[leasequery]\nallowed = [\"10.99.0.300\", \"0.0.0.0\", \"224.0.0.1\"]\n")),
            (std::vector<std::string>{
                "lq.toml:7: leasequery.allowed[0]: \"10.99.0.300\" is not an IPv4 address a.b.c.d",
                "lq.toml:7: leasequery.allowed[1]: must be a unicast address (a relay or access "
                "concentrator that sends DHCPLEASEQUERY)",
                "lq.toml:7: leasequery.allowed[2]: must be a unicast address (a relay or access "
                "concentrator that sends DHCPLEASEQUERY)"}));
  EXPECT_EQ(error_lines(with_head("[leasequery]\nallowed = [\"10.99.0.2\",\n  \"10.99.0.2\"]\n")),
            (std::vector<std::string>{
                "lq.toml:8: leasequery.allowed[1]: listed twice (first (lq.toml:7))"}));
  EXPECT_EQ(error_lines(with_head("[leasequery]\nallowed = [\"10.99.0.2\"]\nallow = 1\n")).size(), 1u);
  EXPECT_EQ(error_lines(with_head("[leasequery]\nallowed = 5\n")).size(), 1u);
}

TEST(ConfigLeasequery, Reloadable) {
  const LoadResult a = with_head("[leasequery]\nallowed = [\"10.99.0.2\"]\n");
  const LoadResult b = load_config_string(kMinimalConfig, "lq.toml");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(restart_only_changes(*a.config, *b.config, "lq.toml").empty());
  EXPECT_TRUE(restart_only_changes(*b.config, *a.config, "lq.toml").empty());
}

}  // namespace
}  // namespace dorado::config
