// [[class]] and [[subnet.pool]] (control/config/classes.cpp): every key of
// the good example reaches the engine structs, option 43 sub-options and
// option 125 encode as RFC 2132 / RFC 3925 say, the compiled config holds
// the classes and pools, and mistakes are refused with FILE:LINE and key
// (more in tests/configs/bad/class_*.toml and pool_*.toml).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config_fixture.hpp"

namespace dorado::config {
namespace {

using test_support::all_errors;
using test_support::has_error;

std::vector<std::uint8_t> b(std::string_view s) { return {s.begin(), s.end()}; }

TEST(ConfigClasses, GoodExample) {
  const LoadResult r = load_config_file(DORADO_CONFIG_TEST_DIR "/good/classes.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const engine::EngineConfig& e = r.config->engine;
  ASSERT_EQ(e.classes.size(), 5u);
  EXPECT_EQ(e.classes[0].name, "phones");
  ASSERT_EQ(e.classes[0].matches.size(), 1u);
  EXPECT_EQ(e.classes[0].matches[0].field, engine::ClassField::option);
  EXPECT_EQ(e.classes[0].matches[0].code, 60);
  EXPECT_EQ(e.classes[0].matches[0].op, engine::ClassOp::prefix);
  EXPECT_EQ(e.classes[0].matches[0].value, b("PolycomVVX"));
  ASSERT_EQ(e.classes[0].options.size(), 1u);
  EXPECT_EQ(e.classes[0].options[0].code, 66);
  EXPECT_EQ(e.classes[0].options[0].value, b("tftp.bars.example"));
  EXPECT_EQ(e.classes[1].matches[0].field, engine::ClassField::relay_sub);
  EXPECT_EQ(e.classes[1].matches[0].code, 1);
  EXPECT_EQ(e.classes[1].lease_time, 600u);
  // stb: OUI, VLAN, option 55 lists 43; option 43 sub-options, 125 enterprise.
  const engine::ClassConfig& stb = e.classes[2];
  ASSERT_EQ(stb.matches.size(), 3u);
  ASSERT_EQ(stb.options.size(), 2u);
  const std::vector<std::uint8_t> o43{1, 11, 's', 't', 'b', '-', 'p', 'r', 'o', 'f', 'i', 'l', 'e', 2, 4, 10, 99, 0, 7};
  EXPECT_EQ(stb.options[0].value, o43);
  const std::vector<std::uint8_t> o125{0, 0, 0x11, 0x8b, 4, 1, 2, 1, 2};
  EXPECT_EQ(stb.options[1].value, o125);
  EXPECT_TRUE(e.classes[3].drop);
  EXPECT_EQ(e.classes[3].matches[0].value, (std::vector<std::uint8_t>{0x0a, 0x0b, 0x0c}));
  EXPECT_EQ(e.classes[4].matches.size(), 2u);   // user_class + match_option
  ASSERT_EQ(e.subnets[0].pool_tables.size(), 2u);
  const engine::PoolConfig& voice = e.subnets[0].pool_tables[0];
  EXPECT_EQ(voice.classes, std::vector<std::string>{"phones"});
  EXPECT_EQ(voice.lease_time, 300u);
  ASSERT_EQ(voice.options.size(), 1u);
  EXPECT_EQ(voice.options[0].code, 150);
  EXPECT_EQ(e.subnets[0].pool_tables[1].ranges.size(), 2u);
  EXPECT_EQ(e.subnets[0].pool_tables[1].deny, std::vector<std::string>{"stb"});
  // Compiled: 5 classes, one drop class, two pool tables and the plain pool.
  ASSERT_TRUE(r.compiled);
  EXPECT_TRUE(r.compiled->classes.any);
  EXPECT_EQ(r.compiled->classes.drop, engine::ClassSet{1} << 3);
  EXPECT_EQ(r.compiled->pools.size(), 2u);
  EXPECT_EQ(r.compiled->pool_ranges.size(), 4u);
}

TEST(ConfigClasses, MistakesNameTheirLine) {
  const LoadResult r = load_config_string(
      "[server]\naddress = \"10.99.0.1\"\n"                        // 1-2
      "[[class]]\nname = \"a\"\nvlan = 5000\n"                     // 3-5
      "[[class]]\nname = \"b\"\ngiaddr = \"10.0.0.1/40\"\n"        // 6-8
      "[[class]]\nname = \"c\"\nmac_prefix = \"zz\"\n"             // 9-11
      "[[class.match_option]]\ncode = 93\nstring = \"x\"\nhex = \"01\"\n"   // 12-15
      "[[class]]\nname = \"d\"\nrequests = []\nsubscriber_id = \"\"\n"      // 16-19
      "[[subnet]]\nprefix = \"10.99.0.0/16\"\n"                    // 20-21
      "[[subnet.pool]]\nclasses = [\"a\"]\n"                        // 22-23
      "[[subnet.pool]]\nrange = \"10.99.4.0-10.99.4.9\"\ndeny = [\"zz\"]\n"   // 24-26
      "[[subnet.pool.option]]\ncode = 66\nstring = \"x\"\n[[subnet.pool.option]]\ncode = 66\nstring = \"y\"\n",
      "c.toml");
  EXPECT_TRUE(has_error(r, "c.toml:5: class[0].vlan: must be 0..4095 (got 5000)")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "c.toml:8: class[1].giaddr:")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "c.toml:11: class[2].mac_prefix: \"zz\" is not 1..16 hex bytes")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "c.toml:12: class[2].match_option[0]: has both string and hex")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "c.toml:18: class[3].requests: must not be empty")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "c.toml:19: class[3].subscriber_id: must be 1..255 bytes")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "c.toml:22: subnet[0].pool[0].range: missing required key")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "c.toml:26: subnet[0].pool[1].deny[0]: class \"zz\" is not defined")) << all_errors(r);
  EXPECT_TRUE(has_error(r, "subnet[0].pool[1].option[1]: option 66 given twice in this pool")) << all_errors(r);
}

}  // namespace
}  // namespace dorado::config
