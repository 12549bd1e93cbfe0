// Unit tests for [ddns] in control/config: the keys of docs/configuration.md
// ("[ddns]") map to DdnsSection and engine::DdnsPolicy with their defaults;
// names are stored lower case without the final dot; every mistake is
// refused with its exact "FILE:LINE: key: message", all of them at once;
// secret_file is read at load (temp files); a subnet's qualifying_suffix;
// the [[ddns.*]] tables alone enable the section; any change of [ddns] is
// reloadable (restart_only_changes() reports none).
#include <gtest/gtest.h>
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
#include "ddns/tsig.hpp"

namespace dorado::config {
namespace {

using test_support::kMinimalConfig;
using test_support::error_lines;
using test_support::all_errors;

using Lines = std::vector<std::string>;
using Bytes = std::vector<std::uint8_t>;
using engine::ReplaceClientName;

LoadResult load(std::string_view text) { return load_config_string(text, "ddns.toml"); }

// Five lines before [ddns]: the [ddns] text of every test starts on line 6.
LoadResult with_head(std::string_view ddns) { return test_support::load_after_minimal(ddns, "ddns.toml"); }

// "dorado-key"'s secret: base64 of the 32 bytes 0x00..0x1f.
constexpr std::string_view kSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
Bytes secret_bytes() {
  Bytes b(32);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i);
  return b;
}

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return a << 24 | b << 16 | c << 8 | d;
}

class TempDir : public dorado::test_support::TempDir {
 public:
  TempDir() : dorado::test_support::TempDir("dorado-ddns") {}
};

// ---- good configs --------------------------------------------------------------

// The example of issue 15 and docs/configuration.md, every key given.
TEST(ConfigDdnsGood, TheFullExample) {
  const LoadResult r = with_head(R"([ddns]
qualifying_suffix = "bars.example"
override_client_update = true
override_no_update = true
replace_client_name = "when-not-present"
generated_prefix = "myhost"
ttl = 600
update_on_renew = true
timeout_ms = 500
max_retry_interval_s = 300

[[ddns.tsig_key]]
name = "dorado-key"
algorithm = "hmac-sha512"
secret = ")" + std::string(kSecret) + R"("

[[ddns.forward_zone]]
name = "bars.example"
servers = ["10.98.1.53", "10.98.2.53:5353"]
key = "dorado-key"

[[ddns.reverse_zone]]
name = "99.10.in-addr.arpa"
servers = ["10.98.1.53"]
key = "dorado-key"

[[ddns.reverse_zone]]
name = "98.10.in-addr.arpa"
servers = "127.0.0.1:53"
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const DdnsSection& d = r.config->ddns;
  EXPECT_TRUE(d.enabled);
  EXPECT_EQ(d.ttl, 600u);
  EXPECT_EQ(d.timeout_ms, 500u);
  EXPECT_EQ(d.max_retry_interval_s, 300u);
  ASSERT_EQ(d.tsig_keys.size(), 1u);
  EXPECT_EQ(d.tsig_keys[0].name, "dorado-key");
  EXPECT_EQ(d.tsig_keys[0].algorithm, "hmac-sha512");
  EXPECT_EQ(d.tsig_keys[0].secret, secret_bytes());
  EXPECT_EQ(d.tsig_keys[0].line, 17u);
  ASSERT_EQ(d.forward_zones.size(), 1u);
  EXPECT_EQ(d.forward_zones[0].name, "bars.example");
  ASSERT_EQ(d.forward_zones[0].servers.size(), 2u);
  EXPECT_EQ(d.forward_zones[0].servers[0].ip, v4(10, 98, 1, 53));
  EXPECT_EQ(d.forward_zones[0].servers[0].port, 53);
  EXPECT_EQ(d.forward_zones[0].servers[1].ip, v4(10, 98, 2, 53));
  EXPECT_EQ(d.forward_zones[0].servers[1].port, 5353);
  EXPECT_EQ(d.forward_zones[0].key, "dorado-key");
  EXPECT_EQ(d.forward_zones[0].line, 22u);
  ASSERT_EQ(d.reverse_zones.size(), 2u);
  EXPECT_EQ(d.reverse_zones[0].name, "99.10.in-addr.arpa");
  ASSERT_EQ(d.reverse_zones[0].servers.size(), 1u);
  EXPECT_EQ(d.reverse_zones[0].servers[0].ip, v4(10, 98, 1, 53));
  EXPECT_EQ(d.reverse_zones[0].key, "dorado-key");
  EXPECT_EQ(d.reverse_zones[0].line, 27u);
  EXPECT_EQ(d.reverse_zones[1].name, "98.10.in-addr.arpa");
  ASSERT_EQ(d.reverse_zones[1].servers.size(), 1u);
  EXPECT_EQ(d.reverse_zones[1].servers[0].ip, v4(127, 0, 0, 1));
  EXPECT_EQ(d.reverse_zones[1].servers[0].port, 53);
  EXPECT_EQ(d.reverse_zones[1].key, "");   // unsigned updates

  const engine::DdnsPolicy& p = r.config->engine.ddns;
  EXPECT_TRUE(p.enabled);
  EXPECT_TRUE(p.override_client_update);
  EXPECT_TRUE(p.override_no_update);
  EXPECT_EQ(p.replace_client_name, ReplaceClientName::when_not_present);
  EXPECT_EQ(p.generated_prefix, "myhost");
  EXPECT_EQ(p.qualifying_suffix, "bars.example");
  EXPECT_TRUE(p.update_on_renew);
  ASSERT_EQ(r.config->engine.subnets.size(), 1u);
  EXPECT_EQ(r.config->engine.subnets[0].qualifying_suffix, "");   // the global one applies
  EXPECT_TRUE(r.compiled.has_value());
}

TEST(ConfigDdnsGood, DefaultsOfAnEmptySection) {
  const LoadResult r = with_head("[ddns]\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const DdnsSection& d = r.config->ddns;
  EXPECT_TRUE(d.enabled);
  EXPECT_EQ(d.ttl, 0u);
  EXPECT_EQ(d.timeout_ms, 2000u);
  EXPECT_EQ(d.max_retry_interval_s, 60u);
  EXPECT_TRUE(d.tsig_keys.empty());
  EXPECT_TRUE(d.forward_zones.empty());
  EXPECT_TRUE(d.reverse_zones.empty());
  const engine::DdnsPolicy& p = r.config->engine.ddns;
  EXPECT_TRUE(p.enabled);
  EXPECT_FALSE(p.override_client_update);
  EXPECT_FALSE(p.override_no_update);
  EXPECT_EQ(p.replace_client_name, ReplaceClientName::never);
  EXPECT_EQ(p.generated_prefix, "myhost");
  EXPECT_EQ(p.qualifying_suffix, "");
  EXPECT_FALSE(p.update_on_renew);
}

TEST(ConfigDdnsGood, WithoutTheSectionNothingChanges) {
  const LoadResult r = load(kMinimalConfig);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_FALSE(r.config->ddns.enabled);
  EXPECT_TRUE(r.config->ddns.forward_zones.empty());
  EXPECT_FALSE(r.config->engine.ddns.enabled);
  EXPECT_EQ(r.config->engine.subnets[0].qualifying_suffix, "");
}

// TOML makes [[ddns.forward_zone]] alone a `ddns` table: the section is
// present, with the default policy.
TEST(ConfigDdnsGood, ZoneTablesAloneEnableTheSection) {
  const LoadResult r = with_head(R"([[ddns.forward_zone]]
name = "bars.example"
servers = "10.98.1.53"
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(r.config->ddns.enabled);
  EXPECT_TRUE(r.config->engine.ddns.enabled);
  ASSERT_EQ(r.config->ddns.forward_zones.size(), 1u);
  EXPECT_EQ(r.config->ddns.forward_zones[0].line, 6u);
  EXPECT_EQ(r.config->engine.ddns.replace_client_name, ReplaceClientName::never);
}

TEST(ConfigDdnsGood, NamesAreStoredLowerCaseWithoutTheFinalDot) {
  const LoadResult r = with_head(R"([ddns]
qualifying_suffix = "Bars.Example."
generated_prefix = "Host-A"
[[ddns.tsig_key]]
name = "Dorado-Key."
secret = ")" + std::string(kSecret) + R"("
[[ddns.forward_zone]]
name = "BARS.example."
servers = "10.98.1.53"
key = "dorado-KEY"
[[ddns.reverse_zone]]
name = "99.10.IN-ADDR.ARPA."
servers = "10.98.1.53"
key = "dorado-key."
[[ddns.forward_zone]]
name = "_msdcs.bars.example"
servers = "10.98.1.53"
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const DdnsSection& d = r.config->ddns;
  EXPECT_EQ(r.config->engine.ddns.qualifying_suffix, "bars.example");
  EXPECT_EQ(r.config->engine.ddns.generated_prefix, "host-a");
  EXPECT_EQ(d.tsig_keys[0].name, "dorado-key");
  EXPECT_EQ(d.tsig_keys[0].algorithm, "hmac-sha256");   // the default
  ASSERT_EQ(d.forward_zones.size(), 2u);
  EXPECT_EQ(d.forward_zones[0].name, "bars.example");
  EXPECT_EQ(d.forward_zones[0].key, "dorado-key");
  EXPECT_EQ(d.forward_zones[1].name, "_msdcs.bars.example");
  EXPECT_EQ(d.reverse_zones[0].name, "99.10.in-addr.arpa");
  EXPECT_EQ(d.reverse_zones[0].key, "dorado-key");
}

TEST(ConfigDdnsGood, EveryReplaceClientNameAndAlgorithm) {
  const std::pair<const char*, ReplaceClientName> words[] = {
      {"never", ReplaceClientName::never},
      {"always", ReplaceClientName::always},
      {"when-present", ReplaceClientName::when_present},
      {"when-not-present", ReplaceClientName::when_not_present},
  };
  for (const auto& [word, value] : words) {
    const LoadResult r = with_head("[ddns]\nreplace_client_name = \"" + std::string(word) + "\"\n");
    ASSERT_TRUE(r.ok()) << word << all_errors(r);
    EXPECT_EQ(r.config->engine.ddns.replace_client_name, value) << word;
  }
  for (std::string_view alg : ddns::kTsigAlgorithmNames) {
    const LoadResult r = with_head("[[ddns.tsig_key]]\nname = \"k\"\nalgorithm = \"" + std::string(alg) +
                                   "\"\nsecret = \"" + std::string(kSecret) + "\"\n");
    ASSERT_TRUE(r.ok()) << alg << all_errors(r);
    EXPECT_EQ(r.config->ddns.tsig_keys[0].algorithm, alg);
    EXPECT_TRUE(ddns::tsig_algorithm_from_name(r.config->ddns.tsig_keys[0].algorithm).has_value());
  }
}

TEST(ConfigDdnsGood, BoundsOfTheNumbers) {
  LoadResult r = with_head("[ddns]\nttl = 2147483647\ntimeout_ms = 100\nmax_retry_interval_s = 1\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->ddns.ttl, 2147483647u);
  EXPECT_EQ(r.config->ddns.timeout_ms, 100u);
  EXPECT_EQ(r.config->ddns.max_retry_interval_s, 1u);
  r = with_head("[ddns]\nttl = 0\ntimeout_ms = 60000\nmax_retry_interval_s = 86400\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->ddns.ttl, 0u);
  EXPECT_EQ(r.config->ddns.timeout_ms, 60000u);
  EXPECT_EQ(r.config->ddns.max_retry_interval_s, 86400u);
  // A generated_prefix of 40 characters, a suffix of 253.
  std::string suffix;
  for (int i = 0; i < 4; ++i) suffix += std::string(i < 3 ? 63 : 61, static_cast<char>('a' + i)) + (i < 3 ? "." : "");
  ASSERT_EQ(suffix.size(), 253u);
  r = with_head("[ddns]\ngenerated_prefix = \"" + std::string(40, 'h') + "\"\nqualifying_suffix = \"" + suffix +
                "\"\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config->engine.ddns.generated_prefix, std::string(40, 'h'));
  EXPECT_EQ(r.config->engine.ddns.qualifying_suffix, suffix);
}

TEST(ConfigDdnsGood, SubnetQualifyingSuffix) {
  const LoadResult r = load(R"([server]
address = "10.99.0.1"
[[subnet]]
prefix = "10.99.0.0/16"
pools = "10.99.1.0/24"
qualifying_suffix = "Lab.Bars.Example."
[[subnet]]
prefix = "10.98.0.0/16"
pools = "10.98.1.0/24"
[[subnet]]
prefix = "10.97.0.0/16"
qualifying_suffix = ""
[ddns]
qualifying_suffix = "bars.example"
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_EQ(r.config->engine.subnets.size(), 3u);
  EXPECT_EQ(r.config->engine.subnets[0].qualifying_suffix, "lab.bars.example");
  EXPECT_EQ(r.config->engine.subnets[1].qualifying_suffix, "");
  EXPECT_EQ(r.config->engine.subnets[2].qualifying_suffix, "");
  EXPECT_EQ(r.config->engine.ddns.qualifying_suffix, "bars.example");
}

TEST(ConfigDdnsGood, SecretFileIsRead) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  // As a key file holds it: the base64 text, a newline, maybe split lines.
  const std::string f1 = dir.file("dorado.key", std::string(kSecret) + "\n");
  const std::string f2 = dir.file("split.key", "  AAECAwQFBgcICQoLDA0ODxAREhMU\r\n  FRYXGBkaGxwdHh8=\n\n");
  const LoadResult r = with_head(R"([[ddns.tsig_key]]
name = "a"
secret_file = ")" + f1 + R"("
[[ddns.tsig_key]]
name = "b"
algorithm = "hmac-md5"
secret_file = ")" + f2 + R"("
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_EQ(r.config->ddns.tsig_keys.size(), 2u);
  EXPECT_EQ(r.config->ddns.tsig_keys[0].secret, secret_bytes());
  EXPECT_EQ(r.config->ddns.tsig_keys[1].secret, secret_bytes());
  EXPECT_EQ(r.config->ddns.tsig_keys[1].algorithm, "hmac-md5");
}

TEST(ConfigDdnsGood, TheGoodExampleFile) {
  const LoadResult r = load_config_file(DORADO_CONFIG_TEST_DIR "/good/ddns.toml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const DdnsSection& d = r.config->ddns;
  EXPECT_TRUE(d.enabled);
  EXPECT_TRUE(r.config->engine.ddns.enabled);
  EXPECT_EQ(r.config->engine.ddns.qualifying_suffix, "bars.example");
  ASSERT_EQ(d.tsig_keys.size(), 1u);
  EXPECT_EQ(d.tsig_keys[0].secret.size(), 32u);
  ASSERT_EQ(d.forward_zones.size(), 1u);
  ASSERT_EQ(d.reverse_zones.size(), 1u);
  EXPECT_EQ(d.forward_zones[0].key, d.tsig_keys[0].name);
  EXPECT_EQ(d.reverse_zones[0].key, d.tsig_keys[0].name);
}

// ---- bad configs: the exact FILE:LINE: key: message ------------------------------

struct BadCase {
  std::string ddns;    // from line 6 on
  Lines expect;        // every error, in order
};

void expect_bad(const std::vector<BadCase>& cases) {
  for (const BadCase& c : cases) {
    const LoadResult r = with_head(c.ddns);
    EXPECT_EQ(error_lines(r), c.expect) << c.ddns;
    EXPECT_FALSE(r.config.has_value()) << c.ddns;
    EXPECT_FALSE(r.compiled.has_value()) << c.ddns;
  }
}

std::string key_table(std::string_view secret_line) {
  return "[[ddns.tsig_key]]\nname = \"dorado-key\"\n" + std::string(secret_line) + "\n";
}

TEST(ConfigDdnsBad, UnknownKeysAndTypes) {
  expect_bad({
      {"[ddns]\nqualifying_sufix = \"x\"\nttl_s = 5\nservers = []\n",
       {"ddns.toml:7: ddns.qualifying_sufix: unknown key (did you mean `qualifying_suffix`?)",
        "ddns.toml:8: ddns.ttl_s: unknown key (did you mean `ttl`?)",
        "ddns.toml:9: ddns.servers: unknown key; expected one of: qualifying_suffix override_client_update "
        "override_no_update replace_client_name generated_prefix ttl update_on_renew timeout_ms "
        "max_retry_interval_s tsig_key forward_zone reverse_zone"}},
      {key_table("secret = \"" + std::string(kSecret) + "\"\nalgo = \"hmac-sha1\""),
       {"ddns.toml:9: ddns.tsig_key[0].algo: unknown key; expected one of: name algorithm secret secret_file"}},
      {"[[ddns.forward_zone]]\nname = \"bars.example\"\nserver = \"10.98.1.53\"\n",
       {"ddns.toml:6: ddns.forward_zone[0].servers: missing required key",
        "ddns.toml:8: ddns.forward_zone[0].server: unknown key (did you mean `servers`?)"}},
      {"[[ddns.reverse_zone]]\nname = \"99.10.in-addr.arpa\"\nservers = \"10.98.1.53\"\nttl = 5\n",
       {"ddns.toml:9: ddns.reverse_zone[0].ttl: unknown key; expected one of: name servers key"}},
      {"[ddns]\noverride_client_update = \"yes\"\nttl = \"60\"\nupdate_on_renew = 1\n",
       {"ddns.toml:7: ddns.override_client_update: expected a boolean (true or false), got a string",
        "ddns.toml:8: ddns.ttl: expected an integer, got a string",
        "ddns.toml:9: ddns.update_on_renew: expected a boolean (true or false), got an integer"}},
      {"[ddns.forward_zone]\nname = \"bars.example\"\nservers = \"10.98.1.53\"\n",
       {"ddns.toml:6: ddns.forward_zone: expected an array of tables [[ddns.forward_zone]], got a table"}},
  });
  // At the top level, not inside the [[subnet]] of kMinimalConfig.
  const LoadResult r = load("ddns = true\n" + std::string(kMinimalConfig));
  EXPECT_EQ(error_lines(r), (Lines{"ddns.toml:1: ddns: expected a table [ddns], got a boolean"}));
}

TEST(ConfigDdnsBad, NeedsALeaseStore) {
  // What is registered in DNS is journaled with the leases: no journal, no [ddns].
  const LoadResult r = load(std::string(kMinimalConfig) + "[store]\ndurability = \"off\"\n[ddns]\nttl = 60\n");
  EXPECT_EQ(error_lines(r), (Lines{"ddns.toml:8: ddns: needs a lease store: what is registered in DNS is journaled "
                              "with the leases, and [store] durability = \"off\" keeps no journal; use \"fsync\" "
                              "or \"async\""}))
      << all_errors(r);
}

TEST(ConfigDdnsBad, Numbers) {
  expect_bad({
      {"[ddns]\nttl = -1\n", {"ddns.toml:7: ddns.ttl: must be 0..2147483647 (got -1)"}},
      {"[ddns]\nttl = 2147483648\n", {"ddns.toml:7: ddns.ttl: must be 0..2147483647 (got 2147483648)"}},
      {"[ddns]\ntimeout_ms = 99\n", {"ddns.toml:7: ddns.timeout_ms: must be 100..60000 (got 99)"}},
      {"[ddns]\ntimeout_ms = 60001\n", {"ddns.toml:7: ddns.timeout_ms: must be 100..60000 (got 60001)"}},
      {"[ddns]\nmax_retry_interval_s = 0\n",
       {"ddns.toml:7: ddns.max_retry_interval_s: must be 1..86400 (got 0)"}},
      {"[ddns]\nmax_retry_interval_s = 86401\n",
       {"ddns.toml:7: ddns.max_retry_interval_s: must be 1..86400 (got 86401)"}},
  });
}

TEST(ConfigDdnsBad, PolicyWords) {
  expect_bad({
      {"[ddns]\nreplace_client_name = \"sometimes\"\n",
       {"ddns.toml:7: ddns.replace_client_name: must be \"never\", \"always\", \"when-present\" or "
        "\"when-not-present\" (got \"sometimes\")"}},
      {"[ddns]\nreplace_client_name = \"when_present\"\n",
       {"ddns.toml:7: ddns.replace_client_name: must be \"never\", \"always\", \"when-present\" or "
        "\"when-not-present\" (got \"when_present\")"}},
      {"[ddns]\ngenerated_prefix = \"\"\n",
       {"ddns.toml:7: ddns.generated_prefix: \"\" is not a host name label of 1..40 letters, digits and "
        "'-' (not first or last)"}},
      {"[ddns]\ngenerated_prefix = \"" + std::string(41, 'h') + "\"\n",
       {"ddns.toml:7: ddns.generated_prefix: \"" + std::string(41, 'h') +
        "\" is not a host name label of 1..40 letters, digits and '-' (not first or last)"}},
      {"[ddns]\ngenerated_prefix = \"my.host\"\n",
       {"ddns.toml:7: ddns.generated_prefix: \"my.host\" is not a host name label of 1..40 letters, digits "
        "and '-' (not first or last)"}},
      {"[ddns]\ngenerated_prefix = \"my_host\"\n",
       {"ddns.toml:7: ddns.generated_prefix: \"my_host\" is not a host name label of 1..40 letters, digits "
        "and '-' (not first or last)"}},
      {"[ddns]\ngenerated_prefix = \"myhost-\"\n",
       {"ddns.toml:7: ddns.generated_prefix: \"myhost-\" is not a host name label of 1..40 letters, digits "
        "and '-' (not first or last)"}},
  });
}

TEST(ConfigDdnsBad, QualifyingSuffix) {
  expect_bad({
      {"[ddns]\nqualifying_suffix = \"bars..example\"\n",
       {"ddns.toml:7: ddns.qualifying_suffix: \"bars..example\" is not a DNS name: empty label in domain name"}},
      {"[ddns]\nqualifying_suffix = \"bars example\"\n",
       {"ddns.toml:7: ddns.qualifying_suffix: \"bars example\" is not a DNS name: character ' ' not allowed "
        "in a domain name"}},
      {"[ddns]\nqualifying_suffix = \"_tcp.bars.example\"\n",
       {"ddns.toml:7: ddns.qualifying_suffix: \"_tcp.bars.example\" is not a DNS name: character '_' not "
        "allowed in a host name"}},
      {"[ddns]\nqualifying_suffix = \"-bars.example\"\n",
       {"ddns.toml:7: ddns.qualifying_suffix: \"-bars.example\" is not a DNS name: a label of a host name "
        "may not start or end with '-'"}},
      {"[ddns]\nqualifying_suffix = \"" + std::string(64, 'a') + ".example\"\n",
       {"ddns.toml:7: ddns.qualifying_suffix: \"" + std::string(64, 'a') +
        ".example\" is not a DNS name: domain name label longer than 63 characters"}},
      {"[ddns]\nqualifying_suffix = \".\"\n",
       {"ddns.toml:7: ddns.qualifying_suffix: \".\" is not a DNS name: empty label in domain name"}},
  });
  // In a subnet, and a subnet's suffix without [ddns].
  LoadResult r = load(std::string(kMinimalConfig) + "qualifying_suffix = \"a..b\"\n[ddns]\n");
  EXPECT_EQ(error_lines(r), (Lines{"ddns.toml:6: subnet[0].qualifying_suffix: \"a..b\" is not a DNS name: empty "
                              "label in domain name"}));
  r = load(std::string(kMinimalConfig) + "qualifying_suffix = \"lab.bars.example\"\n");
  EXPECT_EQ(error_lines(r), (Lines{"ddns.toml:6: subnet[0].qualifying_suffix: needs [ddns]: without it dorado "
                              "updates no DNS (add [ddns] or remove this key)"}));
  r = load(std::string(kMinimalConfig) + "qualifying_suffix = 5\n[ddns]\n");
  EXPECT_EQ(error_lines(r), (Lines{"ddns.toml:6: subnet[0].qualifying_suffix: expected a string, got an integer"}));
}

TEST(ConfigDdnsBad, TsigKeys) {
  const std::string s = std::string(kSecret);
  expect_bad({
      {key_table("secret = \"not base64!\""),
       {"ddns.toml:8: ddns.tsig_key[0].secret: is not base64 (RFC 4648: A-Z a-z 0-9 + /, padded with '=' to "
        "a multiple of 4)"}},
      {key_table("secret = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\""),   // padding missing
       {"ddns.toml:8: ddns.tsig_key[0].secret: is not base64 (RFC 4648: A-Z a-z 0-9 + /, padded with '=' to "
        "a multiple of 4)"}},
      {key_table("secret = \"\""), {"ddns.toml:8: ddns.tsig_key[0].secret: must not be empty"}},
      {key_table("secret = \"  \""), {"ddns.toml:8: ddns.tsig_key[0].secret: must not be empty"}},
      {key_table("secret = 5"), {"ddns.toml:8: ddns.tsig_key[0].secret: expected a string, got an integer"}},
      {key_table("algorithm = \"hmac-sha256\""),
       {"ddns.toml:6: ddns.tsig_key[0].secret: missing: a key needs secret (base64) or secret_file (a file "
        "holding it)"}},
      {key_table("secret = \"" + s + "\"\nsecret_file = \"/etc/dorado/dorado.key\""),
       {"ddns.toml:9: ddns.tsig_key[0].secret_file: cannot be used together with secret (ddns.toml:8): give "
        "the secret in one place"}},
      {key_table("secret = \"" + s + "\"\nalgorithm = \"hmac-sha3\""),
       {"ddns.toml:9: ddns.tsig_key[0].algorithm: must be \"hmac-md5\", \"hmac-sha1\", \"hmac-sha224\", "
        "\"hmac-sha256\", \"hmac-sha384\" or \"hmac-sha512\" (got \"hmac-sha3\")"}},
      {key_table("secret = \"" + s + "\"\nalgorithm = \"HMAC-SHA256\""),
       {"ddns.toml:9: ddns.tsig_key[0].algorithm: must be \"hmac-md5\", \"hmac-sha1\", \"hmac-sha224\", "
        "\"hmac-sha256\", \"hmac-sha384\" or \"hmac-sha512\" (got \"HMAC-SHA256\")"}},
      {"[[ddns.tsig_key]]\nsecret = \"" + s + "\"\n",
       {"ddns.toml:6: ddns.tsig_key[0].name: missing required key"}},
      {"[[ddns.tsig_key]]\nname = \"dorado key\"\nsecret = \"" + s + "\"\n",
       {"ddns.toml:7: ddns.tsig_key[0].name: \"dorado key\" is not a DNS name: character ' ' not allowed in a "
        "domain name"}},
      // The same name twice (also in other case or with a final dot).
      {key_table("secret = \"" + s + "\"") + "[[ddns.tsig_key]]\nname = \"Dorado-Key.\"\nsecret = \"" + s + "\"\n",
       {"ddns.toml:10: ddns.tsig_key[1].name: key \"dorado-key\" is listed twice (ddns.tsig_key[0].name, "
        "ddns.toml:7)"}},
  });
}

TEST(ConfigDdnsBad, SecretFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string missing = dir.path() + "/missing.key";
  const std::string empty = dir.file("empty.key", "\n \n");
  const std::string text = dir.file("bind.key", "key \"dorado-key\" {\n\talgorithm hmac-sha256;\n};\n");
  const std::string big = dir.file("big.key", std::string(70000, 'A'));
  expect_bad({
      {key_table("secret_file = \"" + missing + "\""),
       {"ddns.toml:8: ddns.tsig_key[0].secret_file: cannot read \"" + missing + "\": No such file or directory"}},
      {key_table("secret_file = \"" + dir.path() + "\""),
       {"ddns.toml:8: ddns.tsig_key[0].secret_file: \"" + dir.path() + "\" is a directory, not a file"}},
      {key_table("secret_file = \"" + empty + "\""),
       {"ddns.toml:8: ddns.tsig_key[0].secret_file: \"" + empty +
        "\" is empty: it must hold the key's secret in base64"}},
      {key_table("secret_file = \"" + text + "\""),
       {"ddns.toml:8: ddns.tsig_key[0].secret_file: \"" + text +
        "\" does not hold base64 text (RFC 4648: A-Z a-z 0-9 + /, padded with '=' to a multiple of 4; "
        "nothing else but whitespace)"}},
      {key_table("secret_file = \"" + big + "\""),
       {"ddns.toml:8: ddns.tsig_key[0].secret_file: \"" + big +
        "\" is larger than 64 KiB: not a file holding one base64 secret"}},
      {key_table("secret_file = \"\""), {"ddns.toml:8: ddns.tsig_key[0].secret_file: must not be empty"}},
      // A device (or a FIFO, or /dev/stdin) is not read: it could block or never end.
      {key_table("secret_file = \"/dev/null\""),
       {"ddns.toml:8: ddns.tsig_key[0].secret_file: \"/dev/null\" is not a regular file"}},
  });
  const std::string fifo = dir.path() + "/fifo.key";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_bad({{key_table("secret_file = \"" + fifo + "\""),
               {"ddns.toml:8: ddns.tsig_key[0].secret_file: \"" + fifo + "\" is not a regular file"}}});
  // Unreadable for its owner (root reads anything: nothing to test then).
  if (::geteuid() != 0) {
    const std::string locked = dir.file("locked.key", std::string(kSecret));
    ASSERT_EQ(::chmod(locked.c_str(), 0), 0);
    expect_bad({{key_table("secret_file = \"" + locked + "\""),
                 {"ddns.toml:8: ddns.tsig_key[0].secret_file: cannot read \"" + locked +
                  "\": Permission denied"}}});
  }
}

TEST(ConfigDdnsBad, Zones) {
  const std::string key = key_table("secret = \"" + std::string(kSecret) + "\"");   // lines 6-8
  expect_bad({
      {"[[ddns.forward_zone]]\nservers = \"10.98.1.53\"\n",
       {"ddns.toml:6: ddns.forward_zone[0].name: missing required key"}},
      {"[[ddns.forward_zone]]\nname = \"bars.example\"\nservers = []\n",
       {"ddns.toml:8: ddns.forward_zone[0].servers: needs at least one DNS server \"ADDRESS\" or "
        "\"ADDRESS:PORT\""}},
      {"[[ddns.forward_zone]]\nname = \"bars.example\"\nservers = 53\n",
       {"ddns.toml:8: ddns.forward_zone[0].servers: expected a string or an array of strings, got an integer"}},
      {"[[ddns.forward_zone]]\nname = \"bars.example\"\n"
       "servers = [\"10.98.1\", \"10.98.1.53:0\", \"10.98.1.53:65536\", \"10.98.1.53:\", \"ns1.bars.example\", "
       "\"0.0.0.0\", \"255.255.255.255:53\", \"224.0.0.1\", \"10.98.1.53\", \"10.98.1.53:53\", \"10.98.1.53:54\"]\n",
       {"ddns.toml:8: ddns.forward_zone[0].servers[0]: must be \"ADDRESS\" or \"ADDRESS:PORT\" with an IPv4 "
        "address and a port 1..65535 (got \"10.98.1\")",
        "ddns.toml:8: ddns.forward_zone[0].servers[1]: must be \"ADDRESS\" or \"ADDRESS:PORT\" with an IPv4 "
        "address and a port 1..65535 (got \"10.98.1.53:0\")",
        "ddns.toml:8: ddns.forward_zone[0].servers[2]: must be \"ADDRESS\" or \"ADDRESS:PORT\" with an IPv4 "
        "address and a port 1..65535 (got \"10.98.1.53:65536\")",
        "ddns.toml:8: ddns.forward_zone[0].servers[3]: must be \"ADDRESS\" or \"ADDRESS:PORT\" with an IPv4 "
        "address and a port 1..65535 (got \"10.98.1.53:\")",
        "ddns.toml:8: ddns.forward_zone[0].servers[4]: must be \"ADDRESS\" or \"ADDRESS:PORT\" with an IPv4 "
        "address and a port 1..65535 (got \"ns1.bars.example\")",
        "ddns.toml:8: ddns.forward_zone[0].servers[5]: must be a unicast address (got \"0.0.0.0\")",
        "ddns.toml:8: ddns.forward_zone[0].servers[6]: must be a unicast address (got \"255.255.255.255:53\")",
        "ddns.toml:8: ddns.forward_zone[0].servers[7]: must be a unicast address (got \"224.0.0.1\")",
        "ddns.toml:8: ddns.forward_zone[0].servers[9]: 10.98.1.53:53 is listed twice "
        "(ddns.forward_zone[0].servers[8])"}},
      {"[[ddns.forward_zone]]\nname = \"bars.example\"\nservers = \"10.98.1.53\"\nkey = \"dorado-key\"\n",
       {"ddns.toml:9: ddns.forward_zone[0].key: \"dorado-key\" is not the name of a [[ddns.tsig_key]] (there "
        "is none)"}},
      {key + "[[ddns.reverse_zone]]\nname = \"99.10.in-addr.arpa\"\nservers = \"10.98.1.53\"\nkey = \"other-key\"\n",
       {"ddns.toml:12: ddns.reverse_zone[0].key: \"other-key\" is not the name of a [[ddns.tsig_key]] (names: "
        "dorado-key)"}},
      {"[[ddns.reverse_zone]]\nname = \"99.10.in-addr.arpa.example\"\nservers = \"10.98.1.53\"\n",
       {"ddns.toml:7: ddns.reverse_zone[0].name: \"99.10.in-addr.arpa.example\" is not a reverse zone: it must "
        "end in in-addr.arpa (as \"99.10.in-addr.arpa\" for 10.99.0.0/16)"}},
      {"[[ddns.reverse_zone]]\nname = \"bars.example\"\nservers = \"10.98.1.53\"\n",
       {"ddns.toml:7: ddns.reverse_zone[0].name: \"bars.example\" is not a reverse zone: it must end in "
        "in-addr.arpa (as \"99.10.in-addr.arpa\" for 10.99.0.0/16)"}},
      {"[[ddns.reverse_zone]]\nname = \"99.10.xin-addr.arpa\"\nservers = \"10.98.1.53\"\n",
       {"ddns.toml:7: ddns.reverse_zone[0].name: \"99.10.xin-addr.arpa\" is not a reverse zone: it must end in "
        "in-addr.arpa (as \"99.10.in-addr.arpa\" for 10.99.0.0/16)"}},
      {"[[ddns.forward_zone]]\nname = \"99.10.in-addr.arpa\"\nservers = \"10.98.1.53\"\n",
       {"ddns.toml:7: ddns.forward_zone[0].name: \"99.10.in-addr.arpa\" is a reverse zone: list it as a "
        "[[ddns.reverse_zone]]"}},
      {"[[ddns.forward_zone]]\nname = \"bars.example\"\nservers = \"10.98.1.53\"\n"
       "[[ddns.forward_zone]]\nname = \"BARS.example.\"\nservers = \"10.98.2.53\"\n",
       {"ddns.toml:10: ddns.forward_zone[1].name: zone \"bars.example\" is listed twice "
        "(ddns.forward_zone[0].name, ddns.toml:7)"}},
      {"[[ddns.reverse_zone]]\nname = \"99.10.in-addr.arpa\"\nservers = \"10.98.1.53\"\n"
       "[[ddns.reverse_zone]]\nname = \"99.10.in-addr.arpa\"\nservers = \"10.98.1.53\"\n",
       {"ddns.toml:10: ddns.reverse_zone[1].name: zone \"99.10.in-addr.arpa\" is listed twice "
        "(ddns.reverse_zone[0].name, ddns.toml:7)"}},
      {"[[ddns.forward_zone]]\nname = \"bars..example\"\nservers = \"10.98.1.53\"\n",
       {"ddns.toml:7: ddns.forward_zone[0].name: \"bars..example\" is not a DNS name: empty label in domain "
        "name"}},
      {"[[ddns.forward_zone]]\nname = \"" + std::string(254, 'a') + "\"\nservers = \"10.98.1.53\"\n",
       {"ddns.toml:7: ddns.forward_zone[0].name: \"" + std::string(254, 'a') +
        "\" is not a DNS name: domain name longer than 253 characters"}},
  });
}

// A zone naming a key whose own table has a mistake gets no second error:
// the key's mistake is the one to fix.
TEST(ConfigDdnsBad, AKeyWithAMistakeIsStillAKeyForTheZones) {
  expect_bad({{key_table("secret = \"###\"") +
                   "[[ddns.forward_zone]]\nname = \"bars.example\"\nservers = \"10.98.1.53\"\nkey = \"dorado-key\"\n",
               {"ddns.toml:8: ddns.tsig_key[0].secret: is not base64 (RFC 4648: A-Z a-z 0-9 + /, padded with "
                "'=' to a multiple of 4)"}}});
}

// Every mistake of a file at once, in file order.
TEST(ConfigDdnsBad, AllErrorsAtOnce) {
  expect_bad({{R"([ddns]
ttl = -5
replace_client_name = "maybe"
generated_prefix = "a.b"
[[ddns.tsig_key]]
name = "k1"
secret = "%%%"
[[ddns.tsig_key]]
name = "k1"
algorithm = "md5"
secret = "AAAA"
[[ddns.forward_zone]]
name = "bars.example"
servers = []
key = "k2"
[[ddns.reverse_zone]]
name = "bars.example"
servers = "10.98.1.53:99999"
)",
               {"ddns.toml:7: ddns.ttl: must be 0..2147483647 (got -5)",
                "ddns.toml:8: ddns.replace_client_name: must be \"never\", \"always\", \"when-present\" or "
                "\"when-not-present\" (got \"maybe\")",
                "ddns.toml:9: ddns.generated_prefix: \"a.b\" is not a host name label of 1..40 letters, digits "
                "and '-' (not first or last)",
                "ddns.toml:12: ddns.tsig_key[0].secret: is not base64 (RFC 4648: A-Z a-z 0-9 + /, padded with "
                "'=' to a multiple of 4)",
                "ddns.toml:14: ddns.tsig_key[1].name: key \"k1\" is listed twice (ddns.tsig_key[0].name, "
                "ddns.toml:11)",
                "ddns.toml:15: ddns.tsig_key[1].algorithm: must be \"hmac-md5\", \"hmac-sha1\", \"hmac-sha224\", "
                "\"hmac-sha256\", \"hmac-sha384\" or \"hmac-sha512\" (got \"md5\")",
                "ddns.toml:19: ddns.forward_zone[0].servers: needs at least one DNS server \"ADDRESS\" or "
                "\"ADDRESS:PORT\"",
                "ddns.toml:20: ddns.forward_zone[0].key: \"k2\" is not the name of a [[ddns.tsig_key]] (names: k1)",
                "ddns.toml:22: ddns.reverse_zone[0].name: \"bars.example\" is not a reverse zone: it must end in "
                "in-addr.arpa (as \"99.10.in-addr.arpa\" for 10.99.0.0/16)",
                "ddns.toml:23: ddns.reverse_zone[0].servers: must be \"ADDRESS\" or \"ADDRESS:PORT\" with an "
                "IPv4 address and a port 1..65535 (got \"10.98.1.53:99999\")"}}});
}

// ---- reload: every [ddns] key applies while serving ------------------------------

TEST(ConfigDdnsReload, NoChangeOfDdnsNeedsARestart) {
  const std::string key = "[[ddns.tsig_key]]\nname = \"dorado-key\"\nsecret = \"" + std::string(kSecret) + "\"\n";
  const std::string a_text = std::string(kMinimalConfig) + "qualifying_suffix = \"lab.bars.example\"\n" + R"([ddns]
qualifying_suffix = "bars.example"
replace_client_name = "never"
ttl = 0
timeout_ms = 2000
)" + key + R"([[ddns.forward_zone]]
name = "bars.example"
servers = "10.98.1.53"
key = "dorado-key"
)";
  const std::string b_text = std::string(kMinimalConfig) + R"([ddns]
qualifying_suffix = "other.example"
override_client_update = true
override_no_update = true
replace_client_name = "always"
generated_prefix = "dyn"
ttl = 300
update_on_renew = true
timeout_ms = 100
max_retry_interval_s = 10
[[ddns.tsig_key]]
name = "new-key"
algorithm = "hmac-sha1"
secret = "Zm9vYmFy"
[[ddns.forward_zone]]
name = "other.example"
servers = ["10.98.9.53:5353", "10.98.1.53"]
key = "new-key"
[[ddns.reverse_zone]]
name = "99.10.in-addr.arpa"
servers = "10.98.9.53"
)";
  const LoadResult plain = load(kMinimalConfig), a = load(a_text), b = load(b_text);
  ASSERT_TRUE(plain.ok() && a.ok() && b.ok()) << all_errors(a) << all_errors(b);
  ASSERT_NE(a.config->engine.ddns.qualifying_suffix, b.config->engine.ddns.qualifying_suffix);
  // Added, changed in every key, removed.
  auto changes = [](const LoadResult& x, const LoadResult& y) {
    Lines out;
    for (const ConfigError& e : restart_only_changes(*x.config, *y.config, "ddns.toml")) out.push_back(e.to_string());
    return out;
  };
  EXPECT_EQ(changes(plain, a), Lines{});
  EXPECT_EQ(changes(a, b), Lines{});
  EXPECT_EQ(changes(b, a), Lines{});
  EXPECT_EQ(changes(a, plain), Lines{});
  EXPECT_EQ(changes(b, plain), Lines{});
  // A start-up key beside it is still reported.
  const LoadResult c = load("[store]\ndir = \"/tmp/elsewhere\"\n" + b_text);
  ASSERT_TRUE(c.ok()) << all_errors(c);
  EXPECT_EQ(changes(a, c), (Lines{"ddns.toml:0: store.dir: changed from \"/var/lib/dorado\" to \"/tmp/elsewhere\": "
                                  "needs a restart; reload refused, still serving with the previous config"}));
}

}  // namespace
}  // namespace dorado::config
