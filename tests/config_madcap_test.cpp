// Unit tests for [madcap] and [[multicast_scope]] in control/config
// (docs/configuration.md "[madcap]"): the keys map to MadcapSection and
// MulticastScope with their defaults; every mistake is refused with its
// exact "FILE:LINE: key: message" (ranges outside 224.0.0.0/4, overlapping
// scopes, duplicate names, lease times that do not nest, one section
// without the other); a change of either is reloadable.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config_fixture.hpp"

namespace dorado::config {
namespace {

using test_support::error_lines;
using Lines = std::vector<std::string>;

// Five lines of head: the text of every test starts on line 6.
LoadResult load(std::string_view text) { return test_support::load_after_minimal(text, "m.toml"); }

constexpr std::string_view kScope =
    "[[multicast_scope]]\n"
    "name = \"site\"\n"
    "range = \"239.1.0.0-239.1.255.255\"\n";

TEST(ConfigMadcap, AbsentMeansOff) {
  const LoadResult r = load("");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.config->madcap.enabled);
  EXPECT_TRUE(r.config->multicast_scopes.empty());
}

TEST(ConfigMadcap, DefaultsAndEveryKey) {
  const LoadResult r = load(std::string("[madcap]\n") + std::string(kScope) +
                            "[[multicast_scope]]\n"
                            "name = \"org\"\n"
                            "range = \"239.192.0.0/14\"\n"
                            "zone = \"Example Org\"\n"
                            "ttl = 15\n"
                            "min_lease_time = 30\n"
                            "max_lease_time = 7200\n"
                            "default_lease_time = 600\n");
  ASSERT_TRUE(r.ok()) << error_lines(r).front();
  const DaemonConfig& c = *r.config;
  EXPECT_TRUE(c.madcap.enabled);
  EXPECT_EQ(c.madcap.listen, "0.0.0.0:2535");
  EXPECT_EQ(c.madcap.listen_port, 2535);
  EXPECT_EQ(c.madcap.listen_address, 0u);
  ASSERT_EQ(c.multicast_scopes.size(), 2u);
  const MulticastScope& a = c.multicast_scopes[0];
  EXPECT_EQ(a.name, "site");
  EXPECT_EQ(a.first, 0xef010000u);
  EXPECT_EQ(a.last, 0xef01ffffu);
  EXPECT_EQ(a.zone, "");
  EXPECT_EQ(a.ttl, 32);
  EXPECT_EQ(a.min_lease_time, 60u);
  EXPECT_EQ(a.default_lease_time, 3600u);
  EXPECT_EQ(a.max_lease_time, 86400u);
  EXPECT_EQ(a.line, 7u);
  const MulticastScope& b = c.multicast_scopes[1];
  EXPECT_EQ(b.first, 0xefc00000u);
  EXPECT_EQ(b.last, 0xefc3ffffu);
  EXPECT_EQ(b.zone, "Example Org");
  EXPECT_EQ(b.ttl, 15);
  EXPECT_EQ(b.min_lease_time, 30u);
  EXPECT_EQ(b.max_lease_time, 7200u);
  EXPECT_EQ(b.default_lease_time, 600u);
}

TEST(ConfigMadcap, Listen) {
  const LoadResult r = load(std::string("[madcap]\nlisten = \"127.0.0.1:12535\"\n") + std::string(kScope));
  ASSERT_TRUE(r.ok()) << error_lines(r).front();
  EXPECT_EQ(r.config->madcap.listen_address, 0x7f000001u);
  EXPECT_EQ(r.config->madcap.listen_port, 12535);
  EXPECT_EQ(error_lines(load(std::string("[madcap]\nlisten = \"239.1.1.1:2535\"\n") + std::string(kScope))),
            Lines{"m.toml:7: madcap.listen: must be a unicast address, or 0.0.0.0 for every interface (got "
                  "\"239.1.1.1:2535\")"});
  EXPECT_EQ(error_lines(load(std::string("[madcap]\nlisten = \"1.2.3.4\"\n") + std::string(kScope))),
            Lines{"m.toml:7: madcap.listen: must be \"ADDRESS:PORT\" with an IPv4 address and a port 1..65535 "
                  "(got \"1.2.3.4\")"});
}

TEST(ConfigMadcap, Mistakes) {
  const LoadResult r = load(
      "[madcap]\n"                                   // 6
      "lisen = \"0.0.0.0:2535\"\n"                   // 7
      "[[multicast_scope]]\n"                        // 8
      "name = \"a\"\n"                               // 9
      "range = \"10.0.0.0-10.0.0.255\"\n"            // 10
      "[[multicast_scope]]\n"                        // 11
      "name = \"b\"\n"                               // 12
      "range = \"239.1.0.0-239.1.0.255\"\n"          // 13
      "ttl = 0\n"                                    // 14
      "[[multicast_scope]]\n"                        // 15
      "name = \"c\"\n"                               // 16
      "range = \"239.2.0.0-239.2.0.255\"\n"          // 17
      "min_lease_time = 600\n"                       // 18
      "default_lease_time = 60\n"                    // 19
      "[[multicast_scope]]\n"                        // 20
      "range = \"239.3.0.0-239.3.0.255\"\n"          // 21
      "[[multicast_scope]]\n"                        // 22
      "name = \"d\"\n"                               // 23
      "range = \"224.0.0.0-240.0.0.0\"\n");          // 24
  EXPECT_EQ(error_lines(r),
            (Lines{"m.toml:7: madcap.lisen: unknown key (did you mean `listen`?)",
                   "m.toml:10: multicast_scope[0].range: \"10.0.0.0-10.0.0.255\" is not inside 224.0.0.0/4 "
                   "(224.0.0.0-239.255.255.255): MADCAP hands out multicast addresses",
                   "m.toml:14: multicast_scope[1].ttl: must be 1..255 (got 0)",
                   "m.toml:19: multicast_scope[2].default_lease_time: lease times must nest: min_lease_time (600) "
                   "<= default_lease_time (60) <= max_lease_time (86400)",
                   "m.toml:20: multicast_scope[3].name: missing required key",
                   "m.toml:24: multicast_scope[4].range: \"224.0.0.0-240.0.0.0\" is not inside 224.0.0.0/4 "
                   "(224.0.0.0-239.255.255.255): MADCAP hands out multicast addresses"}));
}

TEST(ConfigMadcap, OverlapsAndDuplicateNames) {
  const LoadResult r = load(
      "[madcap]\n"                                   // 6
      "[[multicast_scope]]\n"                        // 7
      "name = \"a\"\n"                               // 8
      "range = \"239.1.0.0-239.1.0.255\"\n"          // 9
      "[[multicast_scope]]\n"                        // 10
      "name = \"b\"\n"                               // 11
      "range = \"239.1.0.128/25\"\n"                 // 12
      "[[multicast_scope]]\n"                        // 13
      "name = \"a\"\n"                               // 14
      "range = \"239.9.0.0/24\"\n");                 // 15
  EXPECT_EQ(error_lines(r), (Lines{"m.toml:12: multicast_scope[1].range: overlaps multicast_scope \"a\" (m.toml:9)",
                              "m.toml:15: multicast_scope.name: duplicate name \"a\" (also (m.toml:9))"}));
}

TEST(ConfigMadcap, OneWithoutTheOther) {
  EXPECT_EQ(error_lines(load("[madcap]\n")),
            Lines{"m.toml:6: madcap: needs at least one [[multicast_scope]]: without one the MADCAP server has "
                  "nothing to hand out"});
  EXPECT_EQ(error_lines(load(kScope)),
            Lines{"m.toml:6: multicast_scope: needs [madcap]: without it no MADCAP server runs (add [madcap] or "
                  "remove the scopes)"});
}

TEST(ConfigMadcap, ReloadableWithoutRestart) {
  const LoadResult a = load("");
  const LoadResult b = load(std::string("[madcap]\n") + std::string(kScope));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(restart_only_changes(*a.config, *b.config, "m.toml").empty());
  EXPECT_TRUE(restart_only_changes(*b.config, *a.config, "m.toml").empty());
}

}  // namespace
}  // namespace dorado::config
