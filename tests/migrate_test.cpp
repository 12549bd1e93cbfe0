// dorado-migrate kea-config: Kea's JSON dialect, every mapping (the dorado
// config that comes out is loaded with dorado's own loader and its values,
// option bytes included, compared), what is listed as not converted, dorado's
// own check taking refused elements out, and the binary's usage and exit
// status. The conversion of Kea's example configs is tests/migrate_kea_test.py.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "migrate/kea_json.hpp"
#include "migrate/kea_options.hpp"
#include "migrate/migrate.hpp"

namespace {

namespace fs = std::filesystem;
using namespace dorado;
using migrate::Conversion;
using migrate::Finding;
using Bytes = std::vector<std::uint8_t>;

Conversion convert(const std::string& json, const std::string& server = "") {
  migrate::KeaConfigOptions o;
  o.server_address = server;
  return migrate::convert_kea_config(json, o);
}

config::LoadResult load(const Conversion& c) { return config::load_config_string(c.toml, "out.toml"); }

std::string all_lines(const Conversion& c) {
  std::string s;
  for (const Finding& f : c.findings) s += f.line() + "\n";
  for (const std::string& e : c.check_errors) s += "check: " + e + "\n";
  return s;
}

// The not-converted finding on `path` (exactly), or nullptr.
const Finding* listed(const Conversion& c, const std::string& path) {
  for (const Finding& f : c.findings)
    if (f.kind == Finding::Kind::not_converted && f.path == path) return &f;
  return nullptr;
}

// The not-converted finding on `path`; a failure (and an empty finding) if there is none.
const Finding& must(const Conversion& c, const std::string& path) {
  static const Finding none;
  if (const Finding* f = listed(c, path)) return *f;
  ADD_FAILURE() << path << " is not listed as not converted:\n" << all_lines(c);
  return none;
}

bool noted(const Conversion& c, const std::string& path, const std::string& words) {
  for (const Finding& f : c.findings)
    if (f.kind == Finding::Kind::note && f.path == path && f.text.find(words) != std::string::npos) return true;
  return false;
}

// A converted config that loads; its engine config.
engine::EngineConfig engine_of(const Conversion& c) {
  const config::LoadResult r = load(c);
  EXPECT_TRUE(r.ok()) << c.toml << (r.errors.empty() ? "" : r.errors.front().to_string());
  return r.ok() ? r.config->engine : engine::EngineConfig{};
}

const engine::OptionData* option(const std::vector<engine::OptionData>& v, unsigned code) {
  for (const auto& o : v)
    if (o.code == code) return &o;
  return nullptr;
}

std::string wrap_subnet(const std::string& subnet_body, const std::string& global = "") {
  return R"({"Dhcp4": {)" + global + (global.empty() ? "" : ",") + R"( "subnet4": [ { "id": 1, "subnet": "10.0.0.0/24")" +
         (subnet_body.empty() ? "" : ", ") + subnet_body + R"( } ] } })";
}

constexpr std::uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d) { return a << 24 | b << 16 | c << 8 | d; }

// ---- Kea's JSON dialect ------------------------------------------------------------

TEST(KeaJson, CommentsOfAllThreeKinds) {
  const auto j = migrate::parse_kea_json(
      "# bash style\n"
      "// C++ style\n"
      "/* C style\n   over lines */\n"
      "{ \"Dhcp4\": { # after a value\n"
      "  \"valid-lifetime\": 4000, // the lease\n"
      "  /* inline */ \"renew-timer\": 1000 } }\n");
  ASSERT_TRUE(j.doc) << j.error;
  EXPECT_EQ((*j.doc)["Dhcp4"]["valid-lifetime"], 4000);
  EXPECT_EQ((*j.doc)["Dhcp4"]["renew-timer"], 1000);
}

TEST(KeaJson, CommentMarkersInsideStringsAreText) {
  const auto j = migrate::parse_kea_json(R"({"a": "http://x/#y", "b": "/* no */", "c": "say \"# hi\""})");
  ASSERT_TRUE(j.doc) << j.error;
  EXPECT_EQ((*j.doc)["a"], "http://x/#y");
  EXPECT_EQ((*j.doc)["b"], "/* no */");
  EXPECT_EQ((*j.doc)["c"], "say \"# hi\"");
}

TEST(KeaJson, KeaNumbersWithALonePoint) {
  const auto j = migrate::parse_kea_json(R"({"a": .5, "b": -.25, "c": 5., "d": 1.5, "e": [.75]})");
  ASSERT_TRUE(j.doc) << j.error;
  EXPECT_DOUBLE_EQ((*j.doc)["a"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ((*j.doc)["b"].get<double>(), -0.25);
  EXPECT_DOUBLE_EQ((*j.doc)["c"].get<double>(), 5.0);
  EXPECT_DOUBLE_EQ((*j.doc)["d"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ((*j.doc)["e"][0].get<double>(), 0.75);
}

TEST(KeaJson, KeyOrderKept) {
  const auto j = migrate::parse_kea_json(R"({"z": 1, "a": 2, "m": 3})");
  ASSERT_TRUE(j.doc);
  std::string order;
  for (const auto& [k, v] : j.doc->items()) order += k;
  EXPECT_EQ(order, "zam");
}

TEST(KeaJson, ErrorsNameLineAndColumn) {
  auto e = migrate::parse_kea_json("{\n  \"a\": 1,\n  /* open\n");
  EXPECT_FALSE(e.doc);
  EXPECT_EQ(e.error, "line 3, column 3: comment /* without its closing */");
  e = migrate::parse_kea_json("{\n\"a\": \"open\n}");
  EXPECT_EQ(e.error, "line 2, column 6: string without its closing quote");
  e = migrate::parse_kea_json("{\n<?include \"x.json\"?>\n}");
  EXPECT_NE(e.error.find("line 2, column 1: <?include ...?> is not followed"), std::string::npos) << e.error;
  e = migrate::parse_kea_json("{\n  \"a\": 1\n  \"b\": 2\n}");
  EXPECT_EQ(e.error.rfind("line 3, column 5: syntax error", 0), 0u) << e.error;
  EXPECT_EQ(e.error.find("json.exception"), std::string::npos) << e.error;
}

// ---- input that is not a Kea DHCPv4 config: exit 2 ------------------------------------

TEST(Input, NotJsonIsAnErrorAndExit2) {
  const Conversion c = convert("subnet 10.0.0.0 netmask 255.255.255.0 { }");
  EXPECT_EQ(c.exit_status(), migrate::kExitError);
  EXPECT_NE(c.error.find("not JSON (as Kea reads it, comments allowed): line 1, column 1"), std::string::npos)
      << c.error;
  EXPECT_TRUE(c.toml.empty());
}

TEST(Input, NotADhcp4Config) {
  struct Case {
    const char* json;
    const char* error;
  };
  const Case cases[] = {
      {"[1, 2]", "not a Kea DHCPv4 config: the file is not a JSON object with a \"Dhcp4\" member"},
      {"{}", "not a Kea DHCPv4 config: no \"Dhcp4\" member at the top (the object is empty)"},
      {R"({"Control-agent": {}, "Logging": {}})",
       "not a Kea DHCPv4 config: no \"Dhcp4\" member at the top (it has \"Control-agent\", \"Logging\")"},
      {R"({"Dhcp6": {"subnet6": []}})", "a Kea DHCPv6 config (\"Dhcp6\"), not DHCPv4: dorado serves DHCPv4 only"},
      {R"({"Dhcp4": [1]})", "not a Kea DHCPv4 config: \"Dhcp4\" is not an object"},
  };
  for (const Case& k : cases) {
    const Conversion c = convert(k.json);
    EXPECT_EQ(c.exit_status(), migrate::kExitError) << k.json;
    EXPECT_EQ(c.error, k.error);
    EXPECT_TRUE(c.findings.empty());
  }
}

TEST(Input, BadServerAddressIsAnError) {
  for (const char* bad : {"10.0.0", "0.0.0.0", "255.255.255.255", "10.0.0.01", "eth0"}) {
    const Conversion c = convert(wrap_subnet(R"("pools": [])"), bad);
    EXPECT_EQ(c.exit_status(), migrate::kExitError) << bad;
    EXPECT_NE(c.error.find("--server-address"), std::string::npos);
  }
}

TEST(Input, OtherTopLevelSectionsAreListed) {
  const Conversion c = convert(R"({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24"}]},
                                   "Control-agent": {"http-port": 8000}, "Dhcp6": {}})", "10.0.0.1");
  ASSERT_TRUE(c.error.empty());
  ASSERT_NE(listed(c, "Control-agent"), nullptr);
  EXPECT_EQ(must(c, "Control-agent").line(),
            "Control-agent: not converted: only the Dhcp4 part of the file is converted");
  EXPECT_EQ(must(c, "Dhcp6").text, "dorado serves DHCPv4 only");
  EXPECT_EQ(c.exit_status(), migrate::kExitLeftOut);
}

// ---- subnets, pools, ids ------------------------------------------------------------------

TEST(Subnet, MinimalSubnetGetsKeasDefaults) {
  const Conversion c = convert(R"({"Dhcp4": {"subnet4": [
      {"id": 7, "subnet": "10.98.0.0/24", "pools": [{"pool": "10.98.0.100 - 10.98.0.250"}]}]}})", "10.98.0.1");
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  const auto e = engine_of(c);
  ASSERT_EQ(e.subnets.size(), 1u);
  const auto& s = e.subnets[0];
  EXPECT_EQ(s.id, 7u);
  EXPECT_EQ(s.prefix, ip(10, 98, 0, 0));
  EXPECT_EQ(s.prefix_len, 24);
  ASSERT_EQ(s.pools.size(), 1u);
  EXPECT_EQ(s.pools[0].first, ip(10, 98, 0, 100));
  EXPECT_EQ(s.pools[0].last, ip(10, 98, 0, 250));
  // Kea: valid-lifetime 7200 by default, min and max equal to it.
  EXPECT_EQ(s.lease_time, 7200u);
  EXPECT_EQ(s.min_lease_time, 7200u);
  EXPECT_EQ(s.max_lease_time, 7200u);
  EXPECT_DOUBLE_EQ(s.t1_ratio, 0.5);
  EXPECT_DOUBLE_EQ(s.t2_ratio, 0.875);
  EXPECT_EQ(e.server_address, ip(10, 98, 0, 1));
  EXPECT_NE(c.toml.find("prefix = \"10.98.0.0/24\"                 # Dhcp4.subnet4[0].subnet"), std::string::npos)
      << c.toml;
  EXPECT_NE(c.toml.find("lease_time = 7200                       # Kea's default valid-lifetime"), std::string::npos);
}

TEST(Subnet, PoolFormsAndIds) {
  const Conversion c = convert(R"({"Dhcp4": {"subnet4": [
      {"subnet": "10.1.0.0/16", "pools": [{"pool": "10.1.1.0/24"}, {"pool": "10.1.2.1-10.1.2.9"}, {"pool": " 10.1.3.5 - 10.1.3.5 "}]},
      {"id": 1, "subnet": "10.2.0.0/24"},
      {"subnet": "10.3.0.0/24"}]}})", "10.1.0.1");
  const auto e = engine_of(c);
  ASSERT_EQ(e.subnets.size(), 3u);
  // The explicit id 1 is kept; the others take the free numbers in file order.
  EXPECT_EQ(e.subnets[0].id, 2u);
  EXPECT_EQ(e.subnets[1].id, 1u);
  EXPECT_EQ(e.subnets[2].id, 3u);
  EXPECT_TRUE(noted(c, "Dhcp4.subnet4[0]", "dorado-migrate gave it id 2"));
  EXPECT_TRUE(noted(c, "Dhcp4.subnet4[2]", "dorado-migrate gave it id 3"));
  ASSERT_EQ(e.subnets[0].pools.size(), 3u);
  EXPECT_EQ(e.subnets[0].pools[0].first, ip(10, 1, 1, 0));
  EXPECT_EQ(e.subnets[0].pools[0].last, ip(10, 1, 1, 255));
  EXPECT_EQ(e.subnets[0].pools[1].last, ip(10, 1, 2, 9));
  EXPECT_EQ(e.subnets[0].pools[2].first, e.subnets[0].pools[2].last);
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);   // notes do not count
}

TEST(Subnet, WhatDoradoCannotTakeIsListed) {
  const Conversion c = convert(R"({"Dhcp4": {"subnet4": [
      {"id": 1, "subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.1.1 - 10.0.1.9"}, {"pool": "nonsense"},
                                                     {"pool": "10.0.0.9 - 10.0.0.1"}]},
      {"id": 2, "subnet": "10.9.0.1/24"},
      {"id": 3, "subnet": "10.0.0.0/4"}]}})", "10.0.0.1");
  ASSERT_NE(listed(c, "Dhcp4.subnet4[0].pools[0]"), nullptr);
  EXPECT_EQ(must(c, "Dhcp4.subnet4[0].pools[0]").line(),
            "Dhcp4.subnet4[0].pools[0] (pool 10.0.1.1 - 10.0.1.9): not converted: not inside the subnet 10.0.0.0/24");
  EXPECT_NE(listed(c, "Dhcp4.subnet4[0].pools[1]"), nullptr);
  EXPECT_NE(listed(c, "Dhcp4.subnet4[0].pools[2]"), nullptr);
  EXPECT_NE(listed(c, "Dhcp4.subnet4[1]"), nullptr);   // host bits set
  EXPECT_NE(listed(c, "Dhcp4.subnet4[2]"), nullptr);   // /4
  EXPECT_EQ(engine_of(c).subnets.size(), 1u);
  EXPECT_EQ(c.exit_status(), migrate::kExitLeftOut);
}

// ---- lease times -----------------------------------------------------------------------

TEST(LeaseTimes, InheritedAsKeaDoes) {
  const Conversion c = convert(R"({"Dhcp4": {
      "valid-lifetime": 4000, "min-valid-lifetime": 3000, "max-valid-lifetime": 5000,
      "shared-networks": [{"name": "n", "valid-lifetime": 4500, "subnet4": [
          {"id": 1, "subnet": "10.1.0.0/24"},
          {"id": 2, "subnet": "10.2.0.0/24", "valid-lifetime": 4800, "max-valid-lifetime": 9000}]}],
      "subnet4": [{"id": 3, "subnet": "10.3.0.0/24"}, {"id": 4, "subnet": "10.4.0.0/24", "valid-lifetime": 600,
                   "min-valid-lifetime": 600}]}})", "10.3.0.1");
  const auto e = engine_of(c);
  ASSERT_EQ(e.subnets.size(), 4u);
  auto by_id = [&](std::uint32_t id) {
    for (const auto& s : e.subnets)
      if (s.id == id) return s;
    ADD_FAILURE() << "no subnet " << id;
    return engine::SubnetConfig{};
  };
  EXPECT_EQ(by_id(1).lease_time, 4500u);
  EXPECT_EQ(by_id(1).min_lease_time, 3000u);
  EXPECT_EQ(by_id(1).max_lease_time, 5000u);
  EXPECT_EQ(by_id(2).lease_time, 4800u);
  EXPECT_EQ(by_id(2).max_lease_time, 9000u);
  EXPECT_EQ(by_id(3).lease_time, 4000u);
  EXPECT_EQ(by_id(4).lease_time, 600u);
  EXPECT_EQ(by_id(4).min_lease_time, 600u);
  EXPECT_EQ(by_id(4).max_lease_time, 5000u);
  EXPECT_NE(c.toml.find("lease_time = 4500                       # Dhcp4.shared-networks[0].valid-lifetime"),
            std::string::npos) << c.toml;
}

TEST(LeaseTimes, RenewAndRebindTimersBecomeRatios) {
  const Conversion c = convert(wrap_subnet("", R"("valid-lifetime": 4000, "renew-timer": 1000, "rebind-timer": 3000)"),
                               "10.0.0.1");
  const auto e = engine_of(c);
  ASSERT_EQ(e.subnets.size(), 1u);
  EXPECT_DOUBLE_EQ(e.subnets[0].t1_ratio, 0.25);
  EXPECT_DOUBLE_EQ(e.subnets[0].t2_ratio, 0.75);
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  EXPECT_NE(c.toml.find("t1_ratio = 0.25                         # Dhcp4.renew-timer 1000 / lease_time 4000"),
            std::string::npos) << c.toml;
}

TEST(LeaseTimes, CalculateTeeTimesTakesThePercentages) {
  Conversion c = convert(wrap_subnet(R"("calculate-tee-times": true, "t1-percent": 0.4, "t2-percent": 0.8)"), "10.0.0.1");
  auto e = engine_of(c);
  EXPECT_DOUBLE_EQ(e.subnets.at(0).t1_ratio, 0.4);
  EXPECT_DOUBLE_EQ(e.subnets.at(0).t2_ratio, 0.8);
  // Without calculate-tee-times Kea sends no T1/T2: the percentages do nothing,
  // and clients take 0.5 / 0.875, dorado's defaults.
  c = convert(wrap_subnet(R"("t1-percent": 0.4)"), "10.0.0.1");
  e = engine_of(c);
  EXPECT_DOUBLE_EQ(e.subnets.at(0).t1_ratio, 0.5);
  EXPECT_EQ(c.toml.find("t1_ratio"), std::string::npos);
  // An explicit timer wins over the percentages.
  c = convert(wrap_subnet(R"("calculate-tee-times": true, "renew-timer": 900)", R"("valid-lifetime": 3600)"), "10.0.0.1");
  e = engine_of(c);
  EXPECT_DOUBLE_EQ(e.subnets.at(0).t1_ratio, 0.25);
  EXPECT_DOUBLE_EQ(e.subnets.at(0).t2_ratio, 0.875);
}

TEST(LeaseTimes, TimerNotBelowTheLeaseIsListedAndRoundingNoted) {
  Conversion c = convert(wrap_subnet(R"("renew-timer": 7200)"), "10.0.0.1");
  const Finding* f = listed(c, "Dhcp4.subnet4[0].renew-timer");
  ASSERT_NE(f, nullptr) << all_lines(c);
  EXPECT_NE(f->text.find("is not below the lease time 7200: Kea does not send it"), std::string::npos);
  // A global timer that one subnet cannot take: listed for that subnet only.
  c = convert(R"({"Dhcp4": {"renew-timer": 5000, "subnet4": [{"id": 1, "subnet": "10.0.0.0/24"},
              {"id": 2, "subnet": "10.1.0.0/24", "valid-lifetime": 3000}]}})", "10.0.0.1");
  f = listed(c, "Dhcp4.renew-timer");
  ASSERT_NE(f, nullptr) << all_lines(c);
  EXPECT_EQ(f->scope, "Dhcp4.subnet4[1]");
  EXPECT_NE(f->line().find("Dhcp4.renew-timer: not converted for Dhcp4.subnet4[1]: "), std::string::npos);
  EXPECT_DOUBLE_EQ(engine_of(c).subnets.at(0).t1_ratio, 5000.0 / 7200);
  // 1000 of 3000 s: dorado's ratio has 1/65536 steps; said when T1 differs.
  c = convert(wrap_subnet(R"("renew-timer": 1000, "valid-lifetime": 3000)"), "10.0.0.1");
  EXPECT_FALSE(noted(c, "Dhcp4.subnet4[0].renew-timer", "dorado sends T1"));
  c = convert(wrap_subnet(R"("renew-timer": 100000, "valid-lifetime": 3000000)"), "10.0.0.1");
  EXPECT_TRUE(noted(c, "Dhcp4.subnet4[0].renew-timer", "dorado sends T1 = ")) << all_lines(c);
  // min != max: the ratio applies to other lease lengths in proportion.
  c = convert(wrap_subnet(R"("renew-timer": 1000, "valid-lifetime": 4000, "max-valid-lifetime": 8000)"), "10.0.0.1");
  EXPECT_TRUE(noted(c, "Dhcp4.subnet4[0].renew-timer", "fraction of each lease")) << all_lines(c);
}

// ---- options ---------------------------------------------------------------------------

TEST(Options, ByNameAndByCodeWithKeasBytes) {
  const Conversion c = convert(wrap_subnet(R"("option-data": [
      {"name": "routers", "data": "10.0.0.1"},
      {"name": "domain-name-servers", "data": "10.0.0.53, 10.0.0.54"},
      {"code": 15, "data": "example.org"},
      {"name": "domain-search", "data": "a.example, example.com"},
      {"name": "broadcast-address", "csv-format": false, "data": "0a0000ff"},
      {"name": "boot-file-name", "data": "EST5EDT4\\,M3.2.0"},
      {"name": "default-ip-ttl", "data": "0xf0"},
      {"name": "vendor-class-identifier", "data": "isc", "always-send": true},
      {"code": 2, "data": "-25200"},
      {"name": "ip-forwarding", "data": "true"},
      {"name": "path-mtu-plateau-table", "data": "3072, 4096"},
      {"name": "slp-service-scope", "data": "true, scope"},
      {"name": "v4-portparams", "data": "2, 3/4"},
      {"name": "option-6rd", "data": "24, 96, 2001:db8::1, 10.0.0.1"},
      {"name": "user-class", "data": "1A BB"},
      {"code": 250, "data": "'text'", "csv-format": false},
      {"code": 251, "data": "0x0102"}])"), "10.0.0.1");
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  const auto e = engine_of(c);
  ASSERT_EQ(e.subnets.size(), 1u);
  const auto& o = e.subnets[0].options;
  auto bytes = [&](unsigned code) { return option(o, code) ? option(o, code)->value : Bytes{0xde, 0xad}; };
  EXPECT_EQ(bytes(3), (Bytes{10, 0, 0, 1}));
  EXPECT_EQ(bytes(6), (Bytes{10, 0, 0, 53, 10, 0, 0, 54}));
  EXPECT_EQ(bytes(15), (Bytes{'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g'}));
  EXPECT_EQ(bytes(119), (Bytes{1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
                               3, 'c', 'o', 'm', 0}));
  EXPECT_EQ(bytes(28), (Bytes{10, 0, 0, 255}));
  EXPECT_EQ(bytes(67), (Bytes{'E', 'S', 'T', '5', 'E', 'D', 'T', '4', ',', 'M', '3', '.', '2', '.', '0'}));
  EXPECT_EQ(bytes(23), (Bytes{0xf0}));
  EXPECT_EQ(bytes(60), (Bytes{'i', 's', 'c'}));
  EXPECT_EQ(bytes(2), (Bytes{0xff, 0xff, 0x9d, 0x90}));   // int32 -25200
  EXPECT_EQ(bytes(19), (Bytes{1}));
  EXPECT_EQ(bytes(25), (Bytes{0x0c, 0x00, 0x10, 0x00}));
  EXPECT_EQ(bytes(79), (Bytes{1, 's', 'c', 'o', 'p', 'e'}));
  EXPECT_EQ(bytes(159), (Bytes{2, 4, 0x30, 0x00}));   // PSID 3 in the top 4 bits
  EXPECT_EQ(bytes(212), (Bytes{24, 96, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 10, 0, 0, 1}));
  EXPECT_EQ(bytes(77), (Bytes{0x1a, 0xbb}));
  EXPECT_EQ(bytes(250), (Bytes{'t', 'e', 'x', 't'}));
  EXPECT_EQ(bytes(251), (Bytes{1, 2}));   // no definition: hex, csv-format not given
  // Kea sends 3, 6 and 15 unasked; always-send is kept; the rest only when asked for.
  for (unsigned code : {3u, 6u, 15u, 60u}) EXPECT_TRUE(option(o, code)->always_send) << code;
  for (unsigned code : {2u, 23u, 28u, 119u}) EXPECT_FALSE(option(o, code)->always_send) << code;
  // The value forms that read best.
  EXPECT_NE(c.toml.find("ip = [\"10.0.0.53\", \"10.0.0.54\"]"), std::string::npos) << c.toml;
  EXPECT_NE(c.toml.find("string = \"example.org\""), std::string::npos);
  EXPECT_NE(c.toml.find("u16 = [3072, 4096]"), std::string::npos);
  EXPECT_NE(c.toml.find("hex = \"ff:ff:9d:90\"                     # int32: -25200"), std::string::npos);
  EXPECT_NE(c.toml.find("[[subnet.option]]                       # Dhcp4.subnet4[0].option-data[0] (name \"routers\", code 3); Kea sends 3 unasked"),
            std::string::npos) << c.toml;
}

TEST(Options, GlobalOptionsAndServerIdentifier) {
  const Conversion c = convert(R"({"Dhcp4": {
      "option-data": [{"name": "domain-name-servers", "data": "192.0.2.53"}, {"name": "ntp-servers", "data": "192.0.2.123"},
                      {"name": "dhcp-server-identifier", "data": "192.0.2.7"}],
      "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "option-data": [{"name": "domain-name-servers", "data": "192.0.2.54"}]},
                  {"id": 2, "subnet": "198.51.100.0/24",
                   "option-data": [{"name": "dhcp-server-identifier", "data": "198.51.100.9"}]}]}})", "192.0.2.1");
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  const auto e = engine_of(c);
  ASSERT_EQ(e.options.size(), 2u);
  EXPECT_EQ(option(e.options, 6)->value, (Bytes{192, 0, 2, 53}));
  EXPECT_EQ(option(e.options, 42)->value, (Bytes{192, 0, 2, 123}));
  EXPECT_EQ(option(e.subnets[0].options, 6)->value, (Bytes{192, 0, 2, 54}));   // the subnet's wins, as in Kea
  EXPECT_EQ(e.subnets[0].server_id, ip(192, 0, 2, 7));
  EXPECT_EQ(e.subnets[1].server_id, ip(198, 51, 100, 9));
}

TEST(Options, CustomDefinitionsInSpaceDhcp4) {
  const Conversion c = convert(R"({"Dhcp4": {
      "option-def": [{"name": "my-addr", "code": 222, "type": "ipv4-address", "array": true},
                     {"name": "my-rec", "code": 223, "type": "record", "record-types": "uint8, uint16, string"},
                     {"name": "other", "code": 1, "type": "uint8", "space": "isc"}],
      "subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "option-data": [
          {"name": "my-addr", "data": "10.0.0.5, 10.0.0.6"}, {"name": "my-rec", "data": "1, 258, hi"}]}]}})", "10.0.0.1");
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  const auto e = engine_of(c);
  EXPECT_EQ(option(e.subnets.at(0).options, 222)->value, (Bytes{10, 0, 0, 5, 10, 0, 0, 6}));
  EXPECT_EQ(option(e.subnets.at(0).options, 223)->value, (Bytes{1, 1, 2, 'h', 'i'}));
}

TEST(Options, WhatHasNoEquivalentIsListed) {
  const Conversion c = convert(wrap_subnet(R"("option-data": [
      {"name": "no-such-option", "data": "1"},
      {"name": "tftp-servers", "space": "vendor-4491", "data": "10.0.0.2"},
      {"name": "vendor-encapsulated-options"},
      {"name": "vivso-suboptions", "data": "4491"},
      {"name": "dhcp-lease-time", "data": "300"},
      {"code": 61, "data": "01:02", "csv-format": false},
      {"name": "routers", "data": "10.0.0.999"},
      {"name": "routers", "data": "10.0.0.1"},
      {"name": "routers", "data": "10.0.0.2"},
      {"code": 240, "data": "1", "csv-format": true},
      {"name": "interface-mtu", "data": "1500, 9000"}])"), "10.0.0.1");
  EXPECT_EQ(c.exit_status(), migrate::kExitLeftOut);
  const std::string p = "Dhcp4.subnet4[0].option-data";
  struct Want {
    int index;
    const char* line;
  };
  const Want want[] = {
      {0, "(name \"no-such-option\"): not converted: no DHCPv4 option is named \"no-such-option\""},
      {1, "(name \"tftp-servers\"): not converted: option space \"vendor-4491\": dorado has no option spaces"},
      {2, "(name \"vendor-encapsulated-options\", code 43): not converted: a container for the options of space "
          "\"vendor-encapsulated-options-space\""},
      {3, "(name \"vivso-suboptions\", code 125): not converted: Kea builds the vendor option 125"},
      {4, "(name \"dhcp-lease-time\", code 51): not converted: dorado writes option 51 itself"},
      {5, "(name \"dhcp-client-identifier\", code 61): not converted: dorado writes option 61 itself"},
      {6, "(name \"routers\", code 3): not converted: \"10.0.0.999\" is not an IPv4 address"},
      {8, "(name \"routers\", code 3): not converted: option 3 is given twice here"},
      {9, "(code 240): not converted: no definition for option 240"},
      {10, "(name \"interface-mtu\", code 26): not converted: data \"1500, 9000\" has 2 comma-separated values"},
  };
  for (const Want& w : want) {
    const Finding* f = listed(c, p + "[" + std::to_string(w.index) + "]");
    ASSERT_NE(f, nullptr) << w.index << "\n" << all_lines(c);
    EXPECT_EQ(f->line().rfind(p + "[" + std::to_string(w.index) + "] " + w.line, 0), 0u) << f->line();
  }
  EXPECT_EQ(listed(c, p + "[7]"), nullptr);
  EXPECT_EQ(option(engine_of(c).subnets.at(0).options, 3)->value, (Bytes{10, 0, 0, 1}));
}

TEST(Options, PoolAndReservationOptionsAreListed) {
  const Conversion c = convert(wrap_subnet(R"("pools": [{"pool": "10.0.0.10 - 10.0.0.20",
      "option-data": [{"name": "domain-name-servers", "data": "10.0.0.3"}], "client-class": "phones"}],
      "reservations": [{"hw-address": "02:00:00:00:00:01", "ip-address": "10.0.0.5",
                        "option-data": [{"name": "domain-name-servers", "data": "10.0.0.4"}]}])"), "10.0.0.1");
  EXPECT_NE(listed(c, "Dhcp4.subnet4[0].pools[0].option-data[0]"), nullptr) << all_lines(c);
  EXPECT_NE(listed(c, "Dhcp4.subnet4[0].pools[0].client-class"), nullptr);
  EXPECT_NE(listed(c, "Dhcp4.subnet4[0].reservations[0].option-data[0]"), nullptr);
  const auto e = engine_of(c);
  EXPECT_EQ(e.subnets.at(0).pools.size(), 1u);          // the pool itself is converted
  EXPECT_EQ(e.subnets.at(0).reservations.size(), 1u);   // and the reservation
  EXPECT_EQ(option(e.subnets.at(0).options, 6), nullptr);
}

// ---- reservations ----------------------------------------------------------------------

TEST(Reservations, ByMacAndByClientId) {
  const Conversion c = convert(wrap_subnet(R"("reservations": [
      {"hw-address": "1A:1B:1C:1D:1E:1F", "ip-address": "10.0.0.10", "comment": "printer"},
      {"client-id": "01:11:22:33:44:55:66", "ip-address": "10.0.0.11"},
      {"client-id": "'ascii-id'", "ip-address": "10.0.0.12", "hostname": ""}])"), "10.0.0.1");
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  const auto e = engine_of(c);
  const auto& r = e.subnets.at(0).reservations;
  ASSERT_EQ(r.size(), 3u);
  ASSERT_TRUE(r[0].mac);
  EXPECT_EQ(r[0].mac->b[0], 0x1a);
  EXPECT_EQ(r[0].mac->b[5], 0x1f);
  EXPECT_EQ(r[0].address, ip(10, 0, 0, 10));
  EXPECT_EQ(r[1].client_id, (Bytes{1, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66}));
  EXPECT_EQ(r[2].client_id, (Bytes{'a', 's', 'c', 'i', 'i', '-', 'i', 'd'}));
  EXPECT_NE(c.toml.find("# Kea comment: printer"), std::string::npos);
}

TEST(Reservations, KeaCommentsStayOneTomlCommentLine) {
  const Conversion c = convert(wrap_subnet(R"("comment": "two\nlines\u0001 and a tab\t",
      "reservations": [{"hw-address": "02:00:00:00:00:01", "ip-address": "10.0.0.10", "comment": "a\r\nb"}])"),
                               "10.0.0.1");
  EXPECT_NE(c.toml.find("# Kea comment: two lines  and a tab\t\n"), std::string::npos) << c.toml;
  EXPECT_NE(c.toml.find("# Kea comment: a  b\n"), std::string::npos) << c.toml;
  EXPECT_TRUE(load(c).ok());
}

TEST(Reservations, WhatHasNoEquivalentIsListed) {
  const Conversion c = convert(wrap_subnet(R"("reservations": [
      {"duid": "01:02:03", "ip-address": "10.0.0.10"},
      {"circuit-id": "'gi0/1'", "ip-address": "10.0.0.11"},
      {"hw-address": "01:02:03:04:05:06:07:08", "ip-address": "10.0.0.12"},
      {"hw-address": "02:00:00:00:00:02", "hostname": "no-address"},
      {"hw-address": "02:00:00:00:00:03", "ip-address": "10.9.9.9"},
      {"hw-address": "02:00:00:00:00:04", "ip-address": "10.0.0.14", "hostname": "host4",
       "next-server": "10.0.0.2", "client-classes": ["x"], "user-context": {"a": 1}}])"), "10.0.0.1");
  const std::string p = "Dhcp4.subnet4[0].reservations";
  EXPECT_NE(must(c, p + "[0]").text.find("a reservation by duid"), std::string::npos);
  EXPECT_NE(must(c, p + "[1]").text.find("a reservation by circuit-id"), std::string::npos);
  EXPECT_NE(must(c, p + "[2]").text.find("not a 6-byte Ethernet MAC"), std::string::npos);
  EXPECT_NE(must(c, p + "[3]").text.find("no ip-address"), std::string::npos);
  EXPECT_NE(must(c, p + "[4]").text.find("not an IPv4 address inside the subnet"), std::string::npos);
  EXPECT_EQ(listed(c, p + "[5]"), nullptr);
  for (const char* k : {"hostname", "next-server", "client-classes", "user-context"})
    EXPECT_NE(listed(c, p + "[5]." + k), nullptr) << k;
  const auto e = engine_of(c);
  ASSERT_EQ(e.subnets.at(0).reservations.size(), 1u);
  EXPECT_EQ(e.subnets.at(0).reservations[0].address, ip(10, 0, 0, 14));
}

TEST(Reservations, GlobalOnesGoToTheirSubnetWhenKeaUsesThem) {
  const std::string json = R"({"Dhcp4": {
      "reservations": [{"hw-address": "02:00:00:00:00:01", "ip-address": "10.0.0.10"},
                       {"hw-address": "02:00:00:00:00:02", "ip-address": "10.1.0.10"},
                       {"hw-address": "02:00:00:00:00:03", "ip-address": "172.16.0.1"},
                       {"hw-address": "02:00:00:00:00:04", "hostname": "x"}],
      "subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "reservations-global": true},
                  {"id": 2, "subnet": "10.1.0.0/24"}]}})";
  const Conversion c = convert(json, "10.0.0.1");
  const auto e = engine_of(c);
  ASSERT_EQ(e.subnets.at(0).reservations.size(), 1u);
  EXPECT_EQ(e.subnets.at(0).reservations[0].address, ip(10, 0, 0, 10));
  EXPECT_TRUE(e.subnets.at(1).reservations.empty());
  EXPECT_NE(must(c, "Dhcp4.reservations[1]").text.find("Kea does not use global reservations in Dhcp4.subnet4[1]"),
            std::string::npos);
  EXPECT_NE(must(c, "Dhcp4.reservations[2]").text.find("lies in no subnet"), std::string::npos);
  EXPECT_NE(must(c, "Dhcp4.reservations[3]").text.find("without ip-address"), std::string::npos);
  EXPECT_NE(c.toml.find("Dhcp4.reservations[0] (a global reservation, in the subnet that holds its address)"),
            std::string::npos);
}

TEST(Reservations, ReservationsInSubnetFalseMeansKeaIgnoresThem) {
  const Conversion c = convert(wrap_subnet(R"("reservations-in-subnet": false,
      "reservations": [{"hw-address": "02:00:00:00:00:01", "ip-address": "10.0.0.10"}])"), "10.0.0.1");
  EXPECT_NE(listed(c, "Dhcp4.subnet4[0].reservations"), nullptr) << all_lines(c);
  EXPECT_TRUE(engine_of(c).subnets.at(0).reservations.empty());
}

// ---- relays, shared networks, interfaces --------------------------------------------------

TEST(Relay, BothFormsOfKea) {
  const Conversion c = convert(R"({"Dhcp4": {"subnet4": [
      {"id": 1, "subnet": "10.1.0.0/24", "relay": {"ip-address": "192.168.1.1"}},
      {"id": 2, "subnet": "10.2.0.0/24", "relay": {"ip-addresses": ["192.168.1.2", "192.168.1.3"]}},
      {"id": 3, "subnet": "10.3.0.0/24", "relay": {"ip-addresses": []}}]}})", "192.0.2.1");
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  const auto e = engine_of(c);
  EXPECT_EQ(e.subnets.at(0).relays, (std::vector<std::uint32_t>{ip(192, 168, 1, 1)}));
  EXPECT_EQ(e.subnets.at(1).relays, (std::vector<std::uint32_t>{ip(192, 168, 1, 2), ip(192, 168, 1, 3)}));
  EXPECT_TRUE(e.subnets.at(2).relays.empty());
}

TEST(SharedNetworks, SubnetsStandAloneAndTheNetworkIsListed) {
  const Conversion c = convert(R"({"Dhcp4": {"shared-networks": [{
      "name": "floor-3", "relay": {"ip-addresses": ["192.168.3.1"]}, "valid-lifetime": 900,
      "option-data": [{"name": "domain-name-servers", "data": "192.0.2.53"}, {"name": "routers", "data": "10.3.0.1"}],
      "subnet4": [{"id": 31, "subnet": "10.3.0.0/24", "pools": [{"pool": "10.3.0.10 - 10.3.0.200"}]},
                  {"id": 32, "subnet": "10.4.0.0/24", "option-data": [{"name": "routers", "data": "10.4.0.1"}]}]}]}})",
                               "192.0.2.1");
  const Finding* f = listed(c, "Dhcp4.shared-networks[0].name");
  ASSERT_NE(f, nullptr) << all_lines(c);
  EXPECT_EQ(f->detail, "\"floor-3\"");
  EXPECT_NE(f->text.find("dorado has no shared networks: its 2 subnets are separate subnets"), std::string::npos);
  EXPECT_NE(f->text.find("the network's relay addresses go to its first subnet only"), std::string::npos);
  const auto e = engine_of(c);
  ASSERT_EQ(e.subnets.size(), 2u);
  EXPECT_EQ(e.subnets[0].lease_time, 900u);
  EXPECT_EQ(e.subnets[1].lease_time, 900u);
  EXPECT_EQ(e.subnets[0].relays, (std::vector<std::uint32_t>{ip(192, 168, 3, 1)}));
  EXPECT_TRUE(e.subnets[1].relays.empty());
  EXPECT_EQ(option(e.subnets[0].options, 3)->value, (Bytes{10, 3, 0, 1}));
  EXPECT_EQ(option(e.subnets[1].options, 3)->value, (Bytes{10, 4, 0, 1}));   // its own wins
  EXPECT_EQ(option(e.subnets[1].options, 6)->value, (Bytes{192, 0, 2, 53}));
  EXPECT_EQ(c.exit_status(), migrate::kExitLeftOut);
}

TEST(Interfaces, EalArgsAndTheServerAddress) {
  const Conversion c = convert(R"({"Dhcp4": {
      "interfaces-config": {"interfaces": ["eth1/10.0.0.2", "eth2", "eth1"], "dhcp-socket-type": "raw"},
      "subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "interface": "eth1"}]}})");
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  const config::LoadResult r = load(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->dpdk.eal_args, (std::vector<std::string>{"--no-pci", "--vdev=net_af_packet0,iface=eth1",
                                                                "--vdev=net_af_packet1,iface=eth2"}));
  EXPECT_EQ(r.config->server.address, ip(10, 0, 0, 2));
}

TEST(Interfaces, WildcardAndOtherSocketSettingsListed) {
  const Conversion c = convert(R"({"Dhcp4": {
      "interfaces-config": {"interfaces": ["*"], "outbound-interface": "use-routing", "re-detect": true,
                            "service-sockets-max-retries": 5},
      "subnet4": [{"id": 1, "subnet": "10.0.0.0/24"}]}})", "10.0.0.1");
  for (const char* k : {"interfaces[0]", "outbound-interface", "re-detect", "service-sockets-max-retries"})
    EXPECT_NE(listed(c, std::string("Dhcp4.interfaces-config.") + k), nullptr) << k;
  EXPECT_TRUE(load(c).config->dpdk.eal_args.empty());
}

TEST(Interfaces, PlaceholderServerAddressIsNoted) {
  const Conversion c = convert(R"({"Dhcp4": {"subnet4": [
      {"id": 1, "subnet": "10.1.0.0/24"},
      {"id": 2, "subnet": "10.2.0.0/24", "interface": "eth0",
       "reservations": [{"hw-address": "02:00:00:00:00:01", "ip-address": "10.2.0.1"}]}]}})");
  const config::LoadResult r = load(c);
  ASSERT_TRUE(r.ok());
  // The subnet Kea serves on an interface; its first address no reservation takes.
  EXPECT_EQ(r.config->server.address, ip(10, 2, 0, 2));
  EXPECT_TRUE(noted(c, "Dhcp4", "[server] address = 10.2.0.2 is a placeholder")) << all_lines(c);
  EXPECT_NE(c.toml.find("PLACEHOLDER"), std::string::npos);
}

TEST(Interfaces, ASubnetOnAnotherInterfaceIsListed) {
  const Conversion c = convert(R"({"Dhcp4": {"subnet4": [
      {"id": 1, "subnet": "10.1.0.0/24", "interface": "eth0"},
      {"id": 2, "subnet": "10.2.0.0/24", "interface": "eth1"}]}})", "10.1.0.1");
  EXPECT_EQ(listed(c, "Dhcp4.subnet4[0].interface"), nullptr);
  const Finding* f = listed(c, "Dhcp4.subnet4[1].interface");
  ASSERT_NE(f, nullptr) << all_lines(c);
  EXPECT_NE(f->text.find("directly attached clients on the subnet of [server] address (10.1.0.1) only"),
            std::string::npos);
}

// ---- globals -------------------------------------------------------------------------------

TEST(Globals, ControlSocketAndLeaseSettings) {
  const Conversion c = convert(wrap_subnet("", R"("control-socket": {"socket-type": "unix", "socket-name": "/run/kea/kea4.sock"},
      "decline-probation-period": 600, "match-client-id": true, "authoritative": false, "echo-client-id": true)"), "10.0.0.1");
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  const config::LoadResult r = load(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->control.socket, "/run/kea/kea4.sock");
  EXPECT_EQ(r.config->engine.decline_probation_s, 600u);
}

TEST(Globals, SectionsWithoutEquivalentAreListedWithWhy) {
  const Conversion c = convert(wrap_subnet("", R"(
      "lease-database": {"type": "memfile", "name": "/var/lib/kea/dhcp4.leases"},
      "loggers": [{"name": "kea-dhcp4"}], "client-classes": [{"name": "phones", "test": "x"}],
      "dhcp-ddns": {"enable-updates": true, "max-queue-size": 10}, "ddns-send-updates": true, "authoritative": true,
      "match-client-id": false, "expired-leases-processing": {}, "multi-threading": {},
      "hooks-libraries": [{"library": "/usr/lib/kea/hooks/libdhcp_lease_cmds.so"},
                          {"library": "/usr/lib/kea/hooks/libdhcp_radius.so", "parameters": {}}])"), "10.0.0.1");
  EXPECT_NE(must(c, "Dhcp4.lease-database").text.find("dorado-leases import kea /var/lib/kea/dhcp4.leases -c dorado.toml"),
            std::string::npos);
  EXPECT_EQ(must(c, "Dhcp4.client-classes[0]").line(),
            "Dhcp4.client-classes[0] (name \"phones\"): not converted: dorado has no client classes");
  EXPECT_NE(must(c, "Dhcp4.dhcp-ddns.max-queue-size").text.find("without a size limit"), std::string::npos);
  EXPECT_EQ(listed(c, "Dhcp4.ddns-send-updates"), nullptr);   // [ddns] is written
  for (const char* k : {"loggers", "authoritative", "match-client-id", "expired-leases-processing", "multi-threading"})
    EXPECT_NE(listed(c, std::string("Dhcp4.") + k), nullptr) << k;
  EXPECT_EQ(listed(c, "Dhcp4.hooks-libraries[0]"), nullptr);   // lease_cmds: built in
  EXPECT_EQ(must(c, "Dhcp4.hooks-libraries[1]").line(),
            "Dhcp4.hooks-libraries[1] (library libdhcp_radius.so): not converted: dorado has no RADIUS");
}

TEST(Globals, NothingIsDroppedSilently) {
  // Keys dorado-migrate has never heard of, at every level: each is listed.
  const Conversion c = convert(R"({"Dhcp4": {"future-key": 1,
      "subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "subnet-future": [1, 2],
                   "pools": [{"pool": "10.0.0.10-10.0.0.20", "pool-future": {"x": true}}],
                   "reservations": [{"hw-address": "02:00:00:00:00:01", "ip-address": "10.0.0.5", "res-future": ""}],
                   "option-data": [{"name": "routers", "data": "10.0.0.1", "opt-future": 3}]}],
      "interfaces-config": {"if-future": 1}, "control-socket": {"socket-name": "/x", "cs-future": 1}}})", "10.0.0.1");
  for (const char* p : {"Dhcp4.future-key", "Dhcp4.subnet4[0].subnet-future[0]", "Dhcp4.subnet4[0].subnet-future[1]",
                        "Dhcp4.subnet4[0].pools[0].pool-future.x", "Dhcp4.subnet4[0].reservations[0].res-future",
                        "Dhcp4.subnet4[0].option-data[0].opt-future", "Dhcp4.interfaces-config.if-future",
                        "Dhcp4.control-socket.cs-future"}) {
    const Finding* f = listed(c, p);
    ASSERT_NE(f, nullptr) << p << "\n" << all_lines(c);
    EXPECT_NE(f->text.find("dorado-migrate"), std::string::npos) << f->line();
  }
  EXPECT_EQ(c.exit_status(), migrate::kExitLeftOut);
}

TEST(Globals, ValuesReadWithNothingToWriteCloseTheToml) {
  const Conversion c = convert(wrap_subnet(R"("match-client-id": true, "pools": [])",
                                           R"("interfaces-config": {"interfaces": ["eth0/10.0.0.1"], "dhcp-socket-type": "raw"},
                                              "authoritative": false, "option-def": [{"name": "x", "code": 200, "type": "uint8"}])"));
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  const std::size_t list = c.toml.find("# Read from the Kea config with nothing of their own to write here");
  ASSERT_NE(list, std::string::npos) << c.toml;
  const std::string tail = c.toml.substr(list);
  for (const char* p : {"Dhcp4.interfaces-config.dhcp-socket-type", "Dhcp4.authoritative", "Dhcp4.option-def",
                        "Dhcp4.subnet4[0].match-client-id", "Dhcp4.subnet4[0].pools"})
    EXPECT_NE(tail.find(std::string("#   ") + p + "\n"), std::string::npos) << p << "\n" << tail;
  for (const char* p : {"Dhcp4.subnet4[0].subnet", "Dhcp4.subnet4[0].id", "Dhcp4.interfaces-config.interfaces"})
    EXPECT_EQ(tail.find(p), std::string::npos) << p;   // named after their values
  EXPECT_TRUE(load(c).ok());
}

// ---- High Availability ------------------------------------------------------------------

std::string ha_config(const std::string& me, const std::string& relationship_extra = "",
                      const std::string& peers = "") {
  return R"({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.0.10-10.0.0.99"}]}],
      "hooks-libraries": [{"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so"},
        {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so", "parameters": {"high-availability": [{
          "this-server-name": ")" + me + R"(", "mode": "hot-standby", "heartbeat-delay": 10000,
          "max-response-delay": 60000, "max-ack-delay": 5000, "max-unacked-clients": 5)" + relationship_extra + R"(,
          "peers": )" + (peers.empty() ? R"([{"name": "server1", "url": "http://192.168.1.2:8000/", "role": "primary"},
                                             {"name": "server2", "url": "http://192.168.1.3:8000/", "role": "standby"}])"
                                       : peers) + R"(}]}}]}})";
}

TEST(Ha, HotStandbyPairFromBothServersFiles) {
  const Conversion a = convert(ha_config("server1"), "10.0.0.2");
  const Conversion b = convert(ha_config("server2"), "10.0.0.3");
  EXPECT_EQ(a.exit_status(), migrate::kExitOk) << all_lines(a);
  EXPECT_TRUE(a.counts.ha);
  const config::LoadResult ra = load(a), rb = load(b);
  ASSERT_TRUE(ra.ok() && rb.ok()) << a.toml;
  const config::HaSection& h = ra.config->ha;
  ASSERT_TRUE(h.enabled);
  EXPECT_EQ(h.this_server, "server1");
  EXPECT_EQ(h.mode, config::HaMode::hot_standby);
  EXPECT_EQ(h.ack, config::HaAck::partner);
  EXPECT_EQ(h.heartbeat_ms, 10000u);
  EXPECT_EQ(h.max_response_delay_ms, 60000u);
  EXPECT_EQ(h.max_ack_delay_ms, 5000u);
  EXPECT_EQ(h.max_unacked_clients, 5u);
  EXPECT_TRUE(h.insecure);
  ASSERT_EQ(h.peers.size(), 2u);
  EXPECT_EQ(h.peers[0].address, "192.168.1.2:8000");
  EXPECT_EQ(h.peers[1].role, config::HaRole::standby);
  EXPECT_EQ(rb.config->ha.this_server, "server2");
  // The two converted files are a pair: what both must share is equal.
  EXPECT_EQ(config::ha_config_digest(*ra.config), config::ha_config_digest(*rb.config));
  EXPECT_TRUE(noted(a, "Dhcp4.hooks-libraries[1].parameters.high-availability[0]", "insecure = true"));
}

TEST(Ha, LoadBalancingWithKeasDefaultTimers) {
  const std::string json = R"({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24"}],
      "hooks-libraries": [{"library": "libdhcp_ha.so", "parameters": {"high-availability": [{
          "this-server-name": "b", "mode": "load-balancing",
          "peers": [{"name": "a", "url": "http://10.9.0.1:8001/", "role": "primary"},
                    {"name": "b", "url": "http://10.9.0.2/", "role": "secondary"},
                    {"name": "c", "url": "http://10.9.0.3:8001/", "role": "backup"}]}]}}]}})";
  const Conversion c = convert(json, "10.0.0.3");
  const config::LoadResult r = load(c);
  ASSERT_TRUE(r.ok()) << c.toml;
  const config::HaSection& h = r.config->ha;
  EXPECT_EQ(h.mode, config::HaMode::load_balancing);
  EXPECT_EQ(h.heartbeat_ms, 10000u);
  EXPECT_EQ(h.max_response_delay_ms, 60000u);
  EXPECT_EQ(h.max_ack_delay_ms, 10000u);
  EXPECT_EQ(h.max_unacked_clients, 10u);
  EXPECT_EQ(h.peers.at(1).address, "10.9.0.2:80");
  EXPECT_EQ(must(c, "Dhcp4.hooks-libraries[0].parameters.high-availability[0].peers[2]").line(),
            "Dhcp4.hooks-libraries[0].parameters.high-availability[0].peers[2] (name c): not converted: a backup "
            "server: dorado pairs have no backup servers");
}

TEST(Ha, TlsFilesBecomeCaCertKey) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("migrate_tls_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const char* f : {"ca.pem", "a.pem", "a.key"}) std::ofstream(dir / f) << "-----BEGIN X-----\n";
  const std::string peers = R"([{"name": "server1", "url": "https://192.168.1.2:8000/", "role": "primary",
                                 "cert-file": ")" + (dir / "a.pem").string() + R"(", "key-file": ")" +
                            (dir / "a.key").string() + R"("},
                                {"name": "server2", "url": "https://192.168.1.3:8000/", "role": "standby"}])";
  const Conversion c = convert(ha_config("server1", R"(, "trust-anchor": ")" + (dir / "ca.pem").string() +
                                                        R"(", "require-client-certs": true)", peers), "10.0.0.2");
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  const config::LoadResult r = load(c);
  ASSERT_TRUE(r.ok()) << c.toml;
  EXPECT_FALSE(r.config->ha.insecure);
  EXPECT_EQ(r.config->ha.ca, (dir / "ca.pem").string());
  EXPECT_EQ(r.config->ha.cert, (dir / "a.pem").string());
  EXPECT_EQ(r.config->ha.key, (dir / "a.key").string());
  fs::remove_all(dir);
}

TEST(Ha, WhatHasNoEquivalentIsListed) {
  const std::string rel = "Dhcp4.hooks-libraries[1].parameters.high-availability[0].";
  Conversion c = convert(ha_config("server1", R"(, "sync-timeout": 60000, "send-lease-updates": false,
      "delayed-updates-limit": 100, "state-machine": {"states": []}, "multi-threading": {})"), "10.0.0.2");
  for (const char* k : {"sync-timeout", "send-lease-updates", "state-machine", "multi-threading"})
    EXPECT_NE(listed(c, rel + k), nullptr) << k;
  EXPECT_TRUE(load(c).ok());
  // [ha] goes in whole or not at all: the library is listed with the reason.
  struct Case {
    std::string json, why;
  };
  const Case cases[] = {
      {ha_config("server1", R"(, "mode": "passive-backup")"), ""},   // duplicate key: the later wins
      {ha_config("server9"), "this-server-name server9 is not one of the peers"},
      {ha_config("server1", "", R"([{"name": "server1", "url": "http://kea-a.example:8000/", "role": "primary"},
                                   {"name": "server2", "url": "http://192.168.1.3:8000/", "role": "standby"}])"),
       "no host names"},
      {ha_config("server1", "", R"([{"name": "server1", "url": "http://192.168.1.2:8000/", "role": "primary"},
                                   {"name": "server2", "url": "http://192.168.1.3:8000/", "role": "secondary"}])"),
       "mode hot-standby takes one primary and one standby"},
      {ha_config("server1", R"(, "heartbeat-delay": 50)"), ""},
  };
  for (const Case& k : cases) {
    c = convert(k.json, "10.0.0.2");
    const Finding* f = listed(c, "Dhcp4.hooks-libraries[1]");
    ASSERT_NE(f, nullptr) << k.json << "\n" << all_lines(c);
    EXPECT_EQ(f->detail, "library libdhcp_ha.so");
    EXPECT_EQ(f->text.rfind("High Availability not converted: ", 0), 0u) << f->text;
    EXPECT_NE(f->text.find(k.why), std::string::npos) << f->text;
    EXPECT_FALSE(c.counts.ha);
    EXPECT_TRUE(load(c).ok());
    EXPECT_FALSE(load(c).config->ha.enabled);
  }
}

TEST(Ha, PeerUrlsAndDelayedUpdatesLimit) {
  const std::string rel = "Dhcp4.hooks-libraries[0].parameters.high-availability[0]";
  auto lb = [](const std::string& limit) {
    return R"({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24"}],
      "hooks-libraries": [{"library": "libdhcp_ha.so", "parameters": {"high-availability": [{
          "this-server-name": "a", "mode": "load-balancing", "delayed-updates-limit": )" + limit + R"(,
          "peers": [{"name": "a", "url": "http://10.9.0.1:8001/", "role": "primary"},
                    {"name": "b", "url": "http://10.9.0.2:8001/", "role": "secondary"}]}]}}]}})";
  };
  Conversion c = convert(lb("100"), "10.0.0.1");
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  EXPECT_TRUE(noted(c, rel + ".delayed-updates-limit", "backlog_mb"));
  EXPECT_TRUE(noted(c, rel + ".delayed-updates-limit", "ack stays \"partner\""));
  EXPECT_EQ(load(c).config->ha.ack, config::HaAck::partner);
  // The url's IP and port become dorado's HA link, said for each peer.
  EXPECT_TRUE(noted(c, rel + ".peers[0].url", "address = \"10.9.0.1:8001\": the same IP and port, now dorado's HA link"));
  EXPECT_TRUE(noted(c, rel + ".peers[1].url", "address = \"10.9.0.2:8001\""));
  // 0: Kea never queues (no communication-recovery); dorado does.
  c = convert(lb("0"), "10.0.0.1");
  EXPECT_NE(must(c, rel + ".delayed-updates-limit").text.find("Kea's 0 turns it off"), std::string::npos);
  EXPECT_TRUE(load(c).ok());
  // In hot-standby Kea does not use it: nothing to say.
  c = convert(ha_config("server1", R"(, "delayed-updates-limit": 0)"), "10.0.0.2");
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
}

// ---- DDNS ------------------------------------------------------------------------------

const migrate::Json* resolve(const migrate::Json& root, const std::string& path);   // below

// Kea's with-ddns.json example (kea-doc), its policy.
const char* const kWithDdns = R"({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "192.0.2.0/24",
      "pools": [{"pool": "192.0.2.1 - 192.0.2.200"}]}],
  "dhcp-ddns": {"enable-updates": true, "server-ip": "192.0.2.0", "server-port": 3432, "sender-ip": "192.0.2.1",
                "sender-port": 3433, "ncr-protocol": "UDP", "ncr-format": "JSON"},
  "ddns-send-updates": true, "ddns-override-no-update": true, "ddns-override-client-update": true,
  "ddns-replace-client-name": "when-present", "ddns-generated-prefix": "test-prefix",
  "ddns-qualifying-suffix": "test.suffix.", "ddns-update-on-renew": true, "ddns-use-conflict-resolution": true}})";

Conversion convert_d2(const std::string& json, const std::string& d2, const std::string& server = "192.0.2.250") {
  migrate::KeaConfigOptions o;
  o.server_address = server;
  o.d2_text = d2;
  o.d2_name = "d2.json";
  return migrate::convert_kea_config(json, o);
}

TEST(Ddns, PolicyFromKeasGlobalParameters) {
  const Conversion c = convert(kWithDdns, "192.0.2.250");
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  EXPECT_TRUE(c.counts.ddns);
  const config::LoadResult r = load(c);
  ASSERT_TRUE(r.ok()) << c.toml;
  ASSERT_TRUE(r.config->ddns.enabled);
  const engine::DdnsPolicy& p = r.config->engine.ddns;
  EXPECT_TRUE(p.enabled);
  EXPECT_TRUE(p.override_no_update);
  EXPECT_TRUE(p.override_client_update);
  EXPECT_TRUE(p.update_on_renew);
  EXPECT_EQ(p.replace_client_name, engine::ReplaceClientName::when_present);
  EXPECT_EQ(p.generated_prefix, "test-prefix");
  EXPECT_EQ(p.qualifying_suffix, "test.suffix");   // Kea's final dot: not dorado's
  EXPECT_EQ(r.config->ddns.ttl, 0u);                // a third of the lease, as Kea
  EXPECT_TRUE(r.config->ddns.forward_zones.empty());
  // No D2 config: [ddns] without zones, and stderr says what to add.
  EXPECT_TRUE(noted(c, "Dhcp4.dhcp-ddns", "[ddns] has no zones and no TSIG keys"));
  EXPECT_TRUE(noted(c, "Dhcp4.dhcp-ddns", "--d2"));
  EXPECT_TRUE(noted(c, "Dhcp4.dhcp-ddns", "no kea-dhcp-ddns (D2) to run"));
  EXPECT_NE(c.toml.find("qualifying_suffix = \"test.suffix\""), std::string::npos);
  EXPECT_NE(c.summary().find("[ddns] with 0 zones"), std::string::npos) << c.summary();
  // The way to D2 has nothing to become: read, and named at the end of the TOML.
  EXPECT_NE(c.toml.find("#   Dhcp4.dhcp-ddns.server-ip"), std::string::npos) << c.toml;
}

TEST(Ddns, KeasDefaultsAndDeprecatedDhcpDdnsKeys) {
  // Kea 2.2 still reads the policy in dhcp-ddns (deprecated) when ddns-* is not given.
  const Conversion c = convert(wrap_subnet("", R"("dhcp-ddns": {"enable-updates": true, "qualifying-suffix": "old.example",
      "replace-client-name": "always", "generated-prefix": "host", "override-no-update": true},
      "ddns-generated-prefix": "new")"), "10.0.0.1");
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  const config::LoadResult r = load(c);
  ASSERT_TRUE(r.ok()) << c.toml;
  const engine::DdnsPolicy& p = r.config->engine.ddns;
  EXPECT_EQ(p.qualifying_suffix, "old.example");
  EXPECT_EQ(p.replace_client_name, engine::ReplaceClientName::always);
  EXPECT_EQ(p.generated_prefix, "new");   // the global ddns-* wins
  EXPECT_TRUE(p.override_no_update);
  EXPECT_FALSE(p.override_client_update);
  EXPECT_FALSE(p.update_on_renew);
}

TEST(Ddns, SubnetsAndSharedNetworks) {
  const Conversion c = convert(R"({"Dhcp4": {"dhcp-ddns": {"enable-updates": true},
      "ddns-qualifying-suffix": "example.org", "ddns-override-no-update": false,
      "subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "ddns-qualifying-suffix": "lab.example.org."},
                  {"id": 2, "subnet": "10.0.1.0/24", "ddns-override-no-update": true},
                  {"id": 3, "subnet": "10.0.2.0/24", "ddns-send-updates": false, "ddns-qualifying-suffix": ""},
                  {"id": 4, "subnet": "10.0.3.0/24", "ddns-override-no-update": false}],
      "shared-networks": [{"name": "n", "ddns-replace-client-name": "always",
                           "subnet4": [{"id": 5, "subnet": "10.0.4.0/24"}]}]}})", "10.0.0.1");
  const config::LoadResult r = load(c);
  ASSERT_TRUE(r.ok()) << c.toml << all_lines(c);
  EXPECT_EQ(r.config->engine.ddns.qualifying_suffix, "example.org");
  EXPECT_EQ(r.config->engine.subnets.at(0).qualifying_suffix, "lab.example.org");   // the subnet's own
  EXPECT_EQ(r.config->engine.subnets.at(1).qualifying_suffix, "");
  EXPECT_FALSE(r.config->engine.ddns.override_no_update);
  // A value other than the global one: listed, with what dorado does instead.
  EXPECT_NE(must(c, "Dhcp4.subnet4[1].ddns-override-no-update").text.find("[ddns] override_no_update is false"),
            std::string::npos);
  EXPECT_NE(must(c, "Dhcp4.subnet4[2].ddns-send-updates").text.find("cannot be turned off for one"), std::string::npos);
  EXPECT_NE(must(c, "Dhcp4.subnet4[2].ddns-qualifying-suffix").text.find("a subnet's \"\" means [ddns]'s"),
            std::string::npos);
  EXPECT_EQ(listed(c, "Dhcp4.subnet4[3].ddns-override-no-update"), nullptr);   // the same as the global one
  EXPECT_NE(must(c, "Dhcp4.shared-networks[0].ddns-replace-client-name").text.find("Kea's default"),
            std::string::npos);
  EXPECT_NE(all_lines(c).find("Dhcp4.shared-networks[0].ddns-replace-client-name: not converted for "
                              "Dhcp4.shared-networks[0].subnet4[0]: "), std::string::npos) << all_lines(c);
}

TEST(Ddns, WhatDoradoDoesOneWayIsListed) {
  const Conversion c = convert(wrap_subnet(R"("hostname-char-replacement": "x")",
      R"("dhcp-ddns": {"enable-updates": true, "max-queue-size": 1024, "user-context": {}},
         "hostname-char-set": "[^A-Za-z0-9.-]", "ddns-use-conflict-resolution": false, "ddns-ttl-percent": 0.5,
         "ddns-generated-prefix": "test.prefix", "ddns-send-updates": true, "ddns-future": 1)"), "10.0.0.1");
  EXPECT_NE(must(c, "Dhcp4.hostname-char-set").text.find("dorado sanitises names one fixed way"), std::string::npos);
  EXPECT_NE(listed(c, "Dhcp4.subnet4[0].hostname-char-replacement"), nullptr);
  EXPECT_NE(must(c, "Dhcp4.ddns-use-conflict-resolution").text.find("RFC 4703"), std::string::npos);
  EXPECT_NE(must(c, "Dhcp4.ddns-ttl-percent").text.find("a third of the lease time"), std::string::npos);
  EXPECT_NE(must(c, "Dhcp4.ddns-generated-prefix").text.find("(no dots)"), std::string::npos);
  EXPECT_NE(listed(c, "Dhcp4.dhcp-ddns.max-queue-size"), nullptr);
  EXPECT_NE(listed(c, "Dhcp4.dhcp-ddns.user-context"), nullptr);
  EXPECT_NE(must(c, "Dhcp4.ddns-future").text.find("dorado-migrate"), std::string::npos);
  EXPECT_EQ(listed(c, "Dhcp4.ddns-send-updates"), nullptr);
  const config::LoadResult r = load(c);
  ASSERT_TRUE(r.ok()) << c.toml;
  EXPECT_TRUE(r.config->ddns.enabled);
  EXPECT_EQ(r.config->engine.ddns.generated_prefix, "myhost");
  // A ttl-percent of a third is what dorado does; ddns-ttl (Kea 2.7) is ttl.
  const Conversion t = convert(wrap_subnet("", R"("dhcp-ddns": {"enable-updates": true}, "ddns-ttl-percent": 0.333,
                                                  "ddns-ttl": 600, "ddns-ttl-min": 60)"), "10.0.0.1");
  EXPECT_EQ(listed(t, "Dhcp4.ddns-ttl-percent"), nullptr) << all_lines(t);
  EXPECT_NE(listed(t, "Dhcp4.ddns-ttl-min"), nullptr);
  ASSERT_TRUE(load(t).ok()) << t.toml;
  EXPECT_EQ(load(t).config->ddns.ttl, 600u);
}

TEST(Ddns, OffInKeaWritesNothing) {
  // enable-updates false (Kea's default): the ddns-* values do nothing in Kea either.
  for (const char* dhcp_ddns : {R"("dhcp-ddns": {"enable-updates": false, "server-ip": "127.0.0.1"},)", ""}) {
    const Conversion c = convert(wrap_subnet(R"("ddns-send-updates": true)",
                                             std::string(dhcp_ddns) + R"("ddns-qualifying-suffix": "x.example")"),
                                 "10.0.0.1");
    EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
    EXPECT_FALSE(c.counts.ddns);
    EXPECT_EQ(c.toml.find("[ddns]"), std::string::npos);
    EXPECT_TRUE(noted(c, *dhcp_ddns ? "Dhcp4.dhcp-ddns" : "Dhcp4", "DDNS is off in Kea")) << all_lines(c);
    ASSERT_TRUE(load(c).ok());
    EXPECT_FALSE(load(c).config->ddns.enabled);
  }
  // ddns-send-updates false everywhere: the same.
  const Conversion c = convert(wrap_subnet("", R"("dhcp-ddns": {"enable-updates": true}, "ddns-send-updates": false)"),
                               "10.0.0.1");
  EXPECT_FALSE(c.counts.ddns);
  EXPECT_TRUE(noted(c, "Dhcp4.dhcp-ddns", "ddns-send-updates is false for every subnet"));
  // A D2 config with DDNS off is listed whole.
  const Conversion d = convert_d2(wrap_subnet(""), R"({"DhcpDdns": {"tsig-keys": []}})");
  EXPECT_NE(must(d, "DhcpDdns").text.find("the D2 config is not used"), std::string::npos);
}

// Kea's ddns/sample1.json (kea-doc): keys, forward and reverse domains.
const char* const kD2Sample = R"(// D2
{"DhcpDdns": {
  "ip-address": "127.0.0.1", "port": 53001, "dns-server-timeout": 1000,
  "user-context": {"version": 1},
  "control-socket": {"socket-type": "unix", "socket-name": "/tmp/kea-ddns-ctrl-socket"},
  "hooks-libraries": [{"library": "/opt/local/ddns-server-commands.so", "parameters": {"param1": "foo"}}],
  "forward-ddns": {"ddns-domains": [
      {"comment": "DdnsDomain example", "name": "four.example.com.", "key-name": "d2.md5.key",
       "dns-servers": [{"ip-address": "172.16.1.1"}]},
      {"name": "six.example.com.", "dns-servers": [{"ip-address": "2001:db8:1::10", "port": 7802}]}]},
  "reverse-ddns": {"ddns-domains": [
      {"name": "2.0.192.in-addr.arpa.", "key-name": "d2.sha1.key",
       "dns-servers": [{"ip-address": "172.16.1.1", "port": 53001}, {"ip-address": "192.168.2.10"}]}]},
  "tsig-keys": [
      {"name": "d2.md5.key", "algorithm": "HMAC-MD5", "secret": "LSWXnfkKZjdPJI5QxlpnfQ=="},
      {"name": "d2.sha1.key", "algorithm": "HMAC-SHA1", "secret": "hRrp29wzUv3uzSNRLlY68w=="},
      {"name": "d2.sha512.key", "algorithm": "HMAC-SHA512", "digest-bits": 256,
       "secret": "/4wklkm04jeH4anx2MKGJLcya+ZLHldL5d6mK+4q6UXQP7KJ9mS2QG29hh0SJR4LA0ikxNJTUMvir42gLx6fGQ=="}],
  "loggers": [{"name": "kea-dhcp-ddns", "severity": "INFO"}]}})";

TEST(Ddns, KeysAndZonesFromKeasD2Config) {
  const Conversion c = convert_d2(kWithDdns, kD2Sample);
  ASSERT_TRUE(c.error.empty()) << c.error;
  const config::LoadResult r = load(c);
  ASSERT_TRUE(r.ok()) << c.toml << all_lines(c);
  const config::DdnsSection& d = r.config->ddns;
  ASSERT_EQ(d.tsig_keys.size(), 3u);
  EXPECT_EQ(d.tsig_keys[0].name, "d2.md5.key");
  EXPECT_EQ(d.tsig_keys[0].algorithm, "hmac-md5");
  EXPECT_EQ(d.tsig_keys[0].secret.size(), 16u);
  EXPECT_EQ(d.tsig_keys[2].algorithm, "hmac-sha512");
  ASSERT_EQ(d.forward_zones.size(), 1u);   // six.example.com has an IPv6 server only
  EXPECT_EQ(d.forward_zones[0].name, "four.example.com");
  EXPECT_EQ(d.forward_zones[0].key, "d2.md5.key");
  ASSERT_EQ(d.forward_zones[0].servers.size(), 1u);
  EXPECT_EQ(d.forward_zones[0].servers[0].port, 53);
  ASSERT_EQ(d.reverse_zones.size(), 1u);
  EXPECT_EQ(d.reverse_zones[0].name, "2.0.192.in-addr.arpa");
  ASSERT_EQ(d.reverse_zones[0].servers.size(), 2u);
  EXPECT_EQ(d.reverse_zones[0].servers[0].port, 53001);
  EXPECT_EQ(d.timeout_ms, 1000u);   // dns-server-timeout
  EXPECT_EQ(c.counts.ddns_zones, 2u);
  EXPECT_FALSE(noted(c, "Dhcp4.dhcp-ddns", "[ddns] has no zones"));
  // What D2 has and dorado has not: listed with D2's paths, after the DHCPv4 ones.
  EXPECT_NE(must(c, "DhcpDdns.forward-ddns.ddns-domains[1]").text.find("no DNS server dorado can send to"),
            std::string::npos);
  EXPECT_NE(must(c, "DhcpDdns.tsig-keys[2].digest-bits").text.find("whole HMAC"), std::string::npos);
  for (const char* p : {"DhcpDdns.user-context", "DhcpDdns.control-socket", "DhcpDdns.hooks-libraries",
                        "DhcpDdns.loggers"})
    EXPECT_NE(listed(c, p), nullptr) << p;
  EXPECT_EQ(listed(c, "DhcpDdns.ip-address"), nullptr);
  EXPECT_EQ(c.findings.back().path.rfind("DhcpDdns", 0), 0u);
  // Converted entries name their D2 path in the TOML.
  EXPECT_NE(c.toml.find("# DhcpDdns.reverse-ddns.ddns-domains[0] (name 2.0.192.in-addr.arpa.)"), std::string::npos)
      << c.toml;
  EXPECT_NE(c.toml.find("servers = [\"172.16.1.1:53001\", \"192.168.2.10\"]"), std::string::npos);
}

TEST(Ddns, D2InTheKeaFileAndWhatDoradoRefuses) {
  // Kea's older single file: Dhcp4 and DhcpDdns together. A secret that is
  // not base64 (the loader's refusal) takes its key out, and then the zone
  // that names it (unsigned updates would be refused).
  const std::string json = R"({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24"}],
      "dhcp-ddns": {"enable-updates": true}},
    "DhcpDdns": {"tsig-keys": [{"name": "good.", "algorithm": "hmac-sha256", "secret": "LSWXnfkKZjdPJI5QxlpnfQ=="},
                               {"name": "bad", "algorithm": "HMAC-SHA256", "secret": "not base64!"},
                               {"name": "gss", "algorithm": "GSS-TSIG", "secret": "LSWXnfkKZjdPJI5QxlpnfQ=="}],
      "forward-ddns": {"ddns-domains": [{"name": "a.example.", "key-name": "good", "dns-servers": [
                                            {"ip-address": "10.1.0.53", "key-name": "bad"}, {"ip-address": "10.1.0.54"}]},
                                        {"name": "b.example.", "key-name": "bad", "dns-servers": [{"ip-address": "10.1.0.53"}]},
                                        {"name": "c.example.", "key-name": "nokey", "dns-servers": [{"ip-address": "10.1.0.53"}]}]},
      "reverse-ddns": {"ddns-domains": [{"name": "8.b.d.0.1.0.0.2.ip6.arpa.", "dns-servers": [{"ip-address": "10.1.0.53"}]},
                                        {"name": "0.10.in-addr.arpa", "dns-servers": [{"ip-address": "10.1.0.53", "port": 5353}]}]}}})";
  const Conversion c = convert(json, "10.0.0.1");
  ASSERT_TRUE(c.check_errors.empty()) << all_lines(c);
  const config::LoadResult r = load(c);
  ASSERT_TRUE(r.ok()) << c.toml;
  const config::DdnsSection& d = r.config->ddns;
  ASSERT_EQ(d.tsig_keys.size(), 1u);
  EXPECT_EQ(d.tsig_keys[0].name, "good");
  ASSERT_EQ(d.forward_zones.size(), 1u);
  EXPECT_EQ(d.forward_zones[0].servers.size(), 1u);   // the server with another key is listed
  ASSERT_EQ(d.reverse_zones.size(), 1u);
  EXPECT_EQ(d.reverse_zones[0].servers.at(0).port, 5353);
  EXPECT_NE(must(c, "DhcpDdns.tsig-keys[1]").text.find("dorado refuses it: "), std::string::npos) << all_lines(c);
  EXPECT_NE(must(c, "DhcpDdns.forward-ddns.ddns-domains[1]").text.find("dorado refuses it: "), std::string::npos);
  EXPECT_NE(must(c, "DhcpDdns.tsig-keys[2]").text.find("GSS-TSIG"), std::string::npos);
  EXPECT_NE(must(c, "DhcpDdns.forward-ddns.ddns-domains[2]").text.find("no DNS server"), std::string::npos);
  EXPECT_NE(must(c, "DhcpDdns.forward-ddns.ddns-domains[2].dns-servers[0]").text.find("nokey"), std::string::npos);
  EXPECT_NE(must(c, "DhcpDdns.forward-ddns.ddns-domains[0].dns-servers[0]").text.find("one per server"),
            std::string::npos);
  // A server's key-name wins over its domain's, as in Kea: the zone takes it.
  const Conversion k = convert(R"({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24"}],
      "dhcp-ddns": {"enable-updates": true}},
    "DhcpDdns": {"tsig-keys": [{"name": "k1", "algorithm": "HMAC-SHA1", "secret": "LSWXnfkKZjdPJI5QxlpnfQ=="}],
      "reverse-ddns": {"ddns-domains": [{"name": "2.0.192.in-addr.arpa.", "key-name": "gone",
                                         "dns-servers": [{"ip-address": "172.16.1.1", "key-name": "k1"}]}]}}})", "10.0.0.1");
  ASSERT_TRUE(load(k).ok()) << k.toml;
  ASSERT_EQ(load(k).config->ddns.reverse_zones.size(), 1u) << all_lines(k);
  EXPECT_EQ(load(k).config->ddns.reverse_zones[0].key, "k1");
  EXPECT_NE(must(c, "DhcpDdns.reverse-ddns.ddns-domains[0]").text.find("IPv6"), std::string::npos);
  const auto doc = migrate::parse_kea_json(json);
  for (const Finding& f : c.findings) EXPECT_NE(resolve(*doc.doc, f.path), nullptr) << f.path;
}

TEST(Ddns, SecretFileAndD2Errors) {
  const Conversion c = convert_d2(kWithDdns, R"({"DhcpDdns": {"tsig-keys": [
      {"name": "k", "algorithm": "HMAC-SHA256", "secret-file": "/etc/kea/k.secret"}],
      "forward-ddns": {"ddns-domains": [{"name": "test.suffix.", "key-name": "k", "dns-servers": [{"ip-address": "10.1.0.53"}]}]}}})");
  // The file is on the DHCP server: the TOML names it, the check ran without it.
  EXPECT_TRUE(c.check_errors.empty()) << all_lines(c);
  EXPECT_NE(c.toml.find("secret_file = \"/etc/kea/k.secret\""), std::string::npos) << c.toml;
  EXPECT_EQ(c.exit_status(), migrate::kExitOk) << all_lines(c);
  EXPECT_NE(convert_d2(kWithDdns, "{ not json").error.find("--d2 d2.json: not JSON"), std::string::npos);
  EXPECT_NE(convert_d2(kWithDdns, R"({"Dhcp4": {}})").error.find("not a Kea D2 config"), std::string::npos);
  // The Kea file's own DhcpDdns gives way to --d2's.
  const Conversion both = convert_d2(R"({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24"}],
      "dhcp-ddns": {"enable-updates": true}}, "DhcpDdns": {}})", R"({"DhcpDdns": {}, "Control-agent": {}})");
  EXPECT_NE(must(both, "DhcpDdns").text.find("from --d2 d2.json"), std::string::npos);
  EXPECT_NE(must(both, "Control-agent").text.find("DhcpDdns part of the --d2 file"), std::string::npos);
}

// ---- dorado's own check ----------------------------------------------------------------

TEST(Check, WhatDoradoRefusesIsTakenOutAndListed) {
  const Conversion c = convert(R"({"Dhcp4": {"subnet4": [
      {"id": 1, "subnet": "10.0.0.0/16", "pools": [{"pool": "10.0.1.0/24"}]},
      {"id": 2, "subnet": "10.0.1.0/24", "pools": [{"pool": "10.0.1.0/25"}]},
      {"id": 3, "subnet": "10.5.0.0/24", "relay": {"ip-addresses": ["10.0.0.7"]},
       "reservations": [{"hw-address": "02:00:00:00:00:01", "ip-address": "10.5.0.1"},
                        {"hw-address": "02:00:00:00:00:01", "ip-address": "10.5.0.2"}]}]}})", "10.0.0.1");
  EXPECT_TRUE(c.check_errors.empty()) << all_lines(c);
  EXPECT_TRUE(load(c).ok()) << c.toml;
  EXPECT_NE(must(c, "Dhcp4.subnet4[1]").text.find("dorado refuses it: "), std::string::npos) << all_lines(c);
  EXPECT_NE(must(c, "Dhcp4.subnet4[2].relay.ip-addresses[0]").text.find("dorado refuses it: "), std::string::npos);
  EXPECT_NE(must(c, "Dhcp4.subnet4[2].reservations[1]").text.find("dorado refuses it: "), std::string::npos);
  EXPECT_EQ(c.counts.subnets, 2u);
  EXPECT_EQ(c.counts.reservations, 1u);
  EXPECT_EQ(c.exit_status(), migrate::kExitLeftOut);
}

TEST(Check, AConfigWithoutSubnetsSaysWhyItCannotPass) {
  const Conversion c = convert(R"({"Dhcp4": {"valid-lifetime": 600, "subnet4": []}})", "10.0.0.1");
  ASSERT_TRUE(c.error.empty());
  ASSERT_EQ(c.check_errors.size(), 1u) << all_lines(c);
  EXPECT_EQ(c.check_errors[0], "subnet: missing: at least one [[subnet]] is required");
  EXPECT_EQ(c.exit_status(), migrate::kExitLeftOut);
  EXPECT_NE(c.summary().find("does not pass dorado --check-config yet"), std::string::npos);
}

// ---- findings ------------------------------------------------------------------------

// The value at a JSON path like Dhcp4.subnet4[0].option-data[3], or nullptr.
const migrate::Json* resolve(const migrate::Json& root, const std::string& path) {
  const migrate::Json* n = &root;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '[') {
      const std::size_t close = path.find(']', i);
      const std::size_t k = std::stoul(path.substr(i + 1, close - i - 1));
      if (!n->is_array() || k >= n->size()) return nullptr;
      n = &(*n)[k];
      i = close + 1;
    } else {
      if (path[i] == '.') ++i;
      const std::size_t end = path.find_first_of(".[", i);
      const std::string key = path.substr(i, end == std::string::npos ? std::string::npos : end - i);
      if (!n->is_object() || !n->contains(key)) return nullptr;
      n = &n->at(key);
      i = end == std::string::npos ? path.size() : end;
    }
  }
  return n;
}

TEST(Findings, InFileOrderAndOnPathsThatExist) {
  const std::string json = R"({"Dhcp4": {"loggers": [], "subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
      "user-context": {}, "hostname-char-set": ""}], "client-classes": [{"name": "a"}], "dhcp-ddns": {"user-context": {}}}})";
  const Conversion c = convert(json, "10.0.0.1");
  std::vector<std::string> paths;
  for (const Finding& f : c.findings) paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"Dhcp4.loggers", "Dhcp4.subnet4[0].user-context",
                                             "Dhcp4.subnet4[0].hostname-char-set", "Dhcp4.client-classes[0]",
                                             "Dhcp4.dhcp-ddns"}));
  const auto doc = migrate::parse_kea_json(json);
  for (const Finding& f : c.findings) EXPECT_NE(resolve(*doc.doc, f.path), nullptr) << f.path;
  // A listed path is named by no comment of the TOML (what is converted is).
  for (const Finding& f : c.findings) EXPECT_EQ(c.toml.find("# " + f.path), std::string::npos) << f.path;
}

// ---- the binary ---------------------------------------------------------------------------

std::string quote(const std::string& s) {
  std::string q = "'";
  for (const char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

fs::path scratch(const std::string& name) {
  return fs::path(::testing::TempDir()) / ("migrate_test_" + std::to_string(::getpid()) + "_" + name);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Result {
  int status = -1;
  std::string out, err;
};

Result run(const std::string& args, const std::string& stdin_text = "") {
  const fs::path err = scratch("stderr");
  const fs::path in = scratch("stdin");
  std::ofstream(in) << stdin_text;
  const std::string cmd = quote(DORADO_MIGRATE_BIN) + " " + args + " <" + quote(in.string()) + " 2>" + quote(err.string());
  Result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.err = slurp(err);
  fs::remove(err);
  fs::remove(in);
  return r;
}

TEST(MigrateCli, HelpDocumentsEverything) {
  Result r = run("--help");
  EXPECT_EQ(r.status, 0);
  for (const char* w : {"kea-config", "not converted", "dorado --check-config", "dorado-leases import kea", "Exit status"})
    EXPECT_NE(r.out.find(w), std::string::npos) << w;
  r = run("kea-config --help");
  EXPECT_EQ(r.status, 0);
  for (const char* w : {"--output", "--server-address", "--quiet", "--d2", "FILE", "libdhcp_ha.so", "renew-timer",
                        "shared networks", "client classes", "DDNS", "ddns-qualifying-suffix", "tsig-keys",
                        "hostname-char-set", "placeholder", "Exit status"})
    EXPECT_NE(r.out.find(w), std::string::npos) << w;
  EXPECT_EQ(run("--version").status, 0);
}

TEST(MigrateCli, ExitStatusAndOutput) {
  const fs::path kea = scratch("kea.json");
  // 0: everything converted.
  std::ofstream(kea) << "// a comment\n" << wrap_subnet(R"("pools": [{"pool": "10.0.0.10-10.0.0.20"}])");
  Result r = run("kea-config " + quote(kea.string()) + " --server-address 10.0.0.1");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("[[subnet]]"), std::string::npos);
  EXPECT_NE(r.err.find("dorado-migrate: wrote 1 subnet, 1 pool, 0 reservations, 0 options, 0 relays; everything converted"), std::string::npos) << r.err;
  // 1: written, something listed; -o writes the file, stdout stays empty.
  std::ofstream(kea, std::ios::trunc) << wrap_subnet(R"("pools": [], "user-context": {})");
  const fs::path out = scratch("out.toml");
  r = run("kea-config " + quote(kea.string()) + " --server-address 10.0.0.1 -o " + quote(out.string()));
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("Dhcp4.subnet4[0].user-context: not converted: dorado keeps no user context\n"),
            std::string::npos) << r.err;
  EXPECT_NE(slurp(out).find("prefix = \"10.0.0.0/24\""), std::string::npos);
  // --quiet leaves the notes out, not what was left out.
  r = run("kea-config - -q", wrap_subnet(R"("user-context": {})"));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.find(": note: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not converted"), std::string::npos);
  r = run("kea-config -", wrap_subnet(""));
  EXPECT_NE(r.err.find(": note: "), std::string::npos) << r.err;   // the placeholder address
  // 2: not JSON, not Dhcp4, missing file, bad usage; nothing on stdout.
  r = run("kea-config -", "{ not json");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("dorado-migrate: stdin: not JSON"), std::string::npos) << r.err;
  r = run("kea-config -", R"({"Dhcp6": {}})");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("DHCPv6"), std::string::npos);
  r = run("kea-config /nonexistent/kea.conf");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("/nonexistent/kea.conf: No such file or directory"), std::string::npos) << r.err;
  EXPECT_EQ(run("").status, 2);
  EXPECT_EQ(run("kea-config").status, 2);
  EXPECT_EQ(run("kea-config - --no-such-option", "{}").status, 2);
  // --d2: Kea's D2 config gives [ddns] its keys and zones.
  const fs::path d2 = scratch("d2.json");
  std::ofstream(d2) << kD2Sample;
  r = run("kea-config - --server-address 192.0.2.250 --d2 " + quote(d2.string()), kWithDdns);
  EXPECT_EQ(r.status, 1) << r.err;   // D2's loggers, ... are listed
  EXPECT_NE(r.out.find("[[ddns.forward_zone]]"), std::string::npos);
  EXPECT_NE(r.err.find("DhcpDdns.loggers: not converted: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[ddns] with 2 zones"), std::string::npos) << r.err;
  EXPECT_EQ(run("kea-config - --d2 /nonexistent/d2.conf", kWithDdns).status, 2);
  EXPECT_EQ(run("kea-config - --d2 -", kWithDdns).status, 2);
  fs::remove(d2);
  fs::remove(kea);
  fs::remove(out);
}

}  // namespace
