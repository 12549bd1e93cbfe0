// control/api: request parsing and validation (every error path), argument
// types, answer shapes, the command table, statistics with Kea names and
// reset, and the lease commands end to end over real engine shards (a fake
// ShardPort runs Shard::admin in-process: the same messages the runtime
// carries), including the records they emit for the journal.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/builtin.hpp"
#include "api/commands.hpp"
#include "shard_set.hpp"
#include "api/leases.hpp"
#include "api/protocol.hpp"
#include "api/trace.hpp"
#include "config/config.hpp"
#include "engine/engine.hpp"

namespace dorado::api {
namespace {

// ---- parsing -------------------------------------------------------------------

TEST(ApiParse, ValidRequestWithAndWithoutArguments) {
  auto p = parse_request(R"({"command": "version-get"})");
  ASSERT_TRUE(p.request);
  EXPECT_EQ(p.request->command, "version-get");
  EXPECT_TRUE(p.request->arguments.is_object());
  EXPECT_TRUE(p.request->arguments.empty());

  p = parse_request(R"({"command": "lease4-get", "arguments": {"ip-address": "10.0.0.1"}, "service": ["dhcp4"]})");
  ASSERT_TRUE(p.request);
  EXPECT_EQ(p.request->arguments["ip-address"], "10.0.0.1");

  p = parse_request(R"({"command": "x", "arguments": null})");
  ASSERT_TRUE(p.request);
  EXPECT_TRUE(p.request->arguments.empty());
}

TEST(ApiParse, EveryMalformedRequestIsAnErrorAnswer) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "invalid JSON"},
      {"{", "invalid JSON"},
      {"{nope}", "invalid JSON"},
      {R"({"command": "a"} trailing)", "invalid JSON"},
      {"[1,2]", "must be a map, got a list"},
      {"\"version-get\"", "must be a map, got a string"},
      {"{}", "'command' is missing"},
      {R"({"command": 5})", "'command' must be a string, got an integer"},
      {R"({"command": ""})", "'command' is empty"},
      {R"({"command": "a", "arguments": [1]})", "'arguments' must be a map, got a list"},
      {R"({"command": "a", "arguments": "x"})", "'arguments' must be a map"},
      {R"({"command": "a", "service": "dhcp4"})", "'service' must be a list of strings"},
      {R"({"command": "a", "service": [1]})", "'service' must be a list of strings"},
      {R"({"command": "a", "extra": 1})", "unknown member 'extra'"},
  };
  for (const auto& [text, expect] : bad) {
    const Parsed p = parse_request(text);
    EXPECT_FALSE(p.request) << text;
    EXPECT_EQ(p.error.result, kError) << text;
    EXPECT_NE(p.error.text.find(expect), std::string::npos) << text << " -> " << p.error.text;
  }
}

TEST(ApiParse, ARequestOverTheCapIsRefusedUnparsed) {
  std::string big = R"({"command": "version-get", "arguments": {"x": ")";
  big.append(kMaxRequestBytes, 'a');
  big += "\"}}";
  const Parsed p = parse_request(big);
  EXPECT_FALSE(p.request);
  EXPECT_NE(p.error.text.find("request too large"), std::string::npos);
}

TEST(ApiParse, DeepNestingIsRefusedBeforeParsing) {
  const std::string deep = R"({"command": "x", "arguments": {"a": )" + std::string(100000, '[') +
                           std::string(100000, ']') + "}}";
  const Parsed p = parse_request(deep);
  EXPECT_FALSE(p.request);
  EXPECT_NE(p.error.text.find("nested deeper than 32"), std::string::npos);
  EXPECT_FALSE(incomplete_json(std::string(100000, '[')));   // answered at once, not awaited
  // Brackets inside strings do not count.
  EXPECT_TRUE(parse_request(R"({"command": "x", "arguments": {"a": ")" + std::string(100, '[') + R"("}})").request);
  EXPECT_TRUE(parse_request(R"({"command": "x", "arguments": {"a": "\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}})").request);
}

TEST(ApiParse, IncompleteJsonIsToldFromComplete) {
  EXPECT_TRUE(incomplete_json(""));
  EXPECT_TRUE(incomplete_json("{"));
  EXPECT_TRUE(incomplete_json(R"({"command": "ver)"));
  EXPECT_TRUE(incomplete_json("{\"command\": \"a\",\n"));
  EXPECT_FALSE(incomplete_json(R"({"command": "a"})"));
  EXPECT_FALSE(incomplete_json("{\"command\": \"a\"}\n"));
  EXPECT_FALSE(incomplete_json("{nope"));   // can never parse: answer now
  EXPECT_FALSE(incomplete_json("]"));
}

TEST(ApiAnswer, ShapeIsKeas) {
  const Json a = Json::parse(success("done", Json{{"k", 1}}).to_string());
  EXPECT_EQ(a["result"], 0);
  EXPECT_EQ(a["text"], "done");
  EXPECT_EQ(a["arguments"]["k"], 1);
  const Json e = Json::parse(error_answer("bad").to_string());
  EXPECT_EQ(e["result"], 1);
  EXPECT_FALSE(e.contains("arguments"));
  // Invalid UTF-8 (a hostname) never throws.
  Answer u = success("x", Json{{"h", std::string("\xff\xfe")}});
  EXPECT_NO_THROW((void)u.to_string());
}

// ---- argument validation ----------------------------------------------------------

TEST(ApiArgs, TypesRangesMissingAndUnknown) {
  const Json j = Json::parse(R"({"s": "x", "i": 5, "neg": -1, "f": 1.5, "b": true, "ip": "10.0.0.300",
                                 "mac": "02:00:00:00:00:01", "hex": "01:02", "obj": {}})");
  {
    Args a(j);
    EXPECT_EQ(a.string("s", true), "x");
    EXPECT_EQ(a.integer("i", true, 0, 10), 5u);
    EXPECT_EQ(a.boolean("b", true), true);
    EXPECT_EQ(a.mac("mac", true)->b[5], 1);
    EXPECT_EQ(a.hex("hex", true, 1, 4)->size(), 2u);
    EXPECT_FALSE(a.string("absent", false));
    EXPECT_TRUE(a.ok());
    EXPECT_FALSE(a.finish());   // neg, f, ip, obj not asked for
    EXPECT_NE(a.error().find("unknown parameter"), std::string::npos);
  }
  const auto first_error = [&](auto&& f) {
    Args a(j);
    f(a);
    return a.error();
  };
  EXPECT_EQ(first_error([](Args& a) { a.string("i", true); }), "'i' must be a string, got an integer");
  EXPECT_EQ(first_error([](Args& a) { a.integer("s", true, 0, 9); }),
            "'s' must be a non-negative integer, got a string");
  EXPECT_EQ(first_error([](Args& a) { a.integer("neg", true, 0, 9); }),
            "'neg' must be a non-negative integer, got a negative integer");
  EXPECT_EQ(first_error([](Args& a) { a.integer("f", true, 0, 9); }),
            "'f' must be a non-negative integer, got a real number");
  EXPECT_EQ(first_error([](Args& a) { a.integer("i", true, 6, 9); }), "'i' must be 6..9 (got 5)");
  EXPECT_EQ(first_error([](Args& a) { a.boolean("s", true); }), "'s' must be a boolean, got a string");
  EXPECT_NE(first_error([](Args& a) { a.address("ip", true); }).find("must be an IPv4 address"), std::string::npos);
  EXPECT_NE(first_error([](Args& a) { a.mac("hex", true); }).find("must be a MAC address"), std::string::npos);
  EXPECT_NE(first_error([](Args& a) { a.hex("s", true, 1, 4); }).find("hex bytes"), std::string::npos);
  EXPECT_EQ(first_error([](Args& a) { a.string("gone", true); }), "missing parameter 'gone'");
  EXPECT_EQ(first_error([](Args& a) { a.string("obj", true); }), "'obj' must be a string, got a map");
}

// hw-address takes wire/text.hpp's MAC forms (as the config file does), not
// every hex string of six bytes.
TEST(ApiArgs, MacForms) {
  const auto mac = [](const char* text) {
    const Json j = {{"hw-address", text}};
    Args a(j);
    const auto m = a.mac("hw-address", true);
    EXPECT_EQ(m.has_value(), a.ok()) << text;
    if (!m) {
      EXPECT_NE(a.error().find("must be a MAC address"), std::string::npos) << a.error();
    }
    return m;
  };
  EXPECT_EQ(mac("02:00:0a:0B:00:01"), (wire::MacAddr{{2, 0, 0x0a, 0x0b, 0, 1}}));
  EXPECT_EQ(mac("02-00-0A-0b-00-01"), (wire::MacAddr{{2, 0, 0x0a, 0x0b, 0, 1}}));
  for (const char* bad : {"020000000001", "2:0:0:0:0:1", "02:00-00:00:00:01", "02:00:00:00:00", "01:02",
                          " 02:00:00:00:00:01", "zz"})
    EXPECT_FALSE(mac(bad)) << bad;
}

TEST(ApiText, AddressesAndHex) {
  EXPECT_EQ(parse_ipv4("10.99.0.1"), 0x0a630001u);
  EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
  for (const char* bad : {"", "10.99.0", "10.99.0.1.2", "10.99.0.256", "10.099.0.1", "a.b.c.d", "10.99.0.1 ", "1..2.3"})
    EXPECT_FALSE(parse_ipv4(bad)) << bad;
  EXPECT_EQ(format_ipv4(0x0a630001u), "10.99.0.1");
  EXPECT_EQ(parse_hex("02:00:0a:0B:00:01")->size(), 6u);
  EXPECT_EQ(parse_hex("02-00-00-00-00-01")->size(), 6u);
  EXPECT_EQ(parse_hex("0a0b")->size(), 2u);
  EXPECT_EQ((*parse_hex("1:2"))[1], 2);
  for (const char* bad : {"", "0", "0g", "01:", ":01", "01::02", "abc"}) EXPECT_FALSE(parse_hex(bad)) << bad;
  const std::uint8_t b[] = {1, 0xab};
  EXPECT_EQ(format_hex(b, 2), "01:ab");
}

// ---- command table ------------------------------------------------------------------

Answer call(const CommandTable& t, const std::string& text) {
  Answer got{-1, "no answer", std::nullopt};
  handle_text(t, text, [&got](Answer a) { got = std::move(a); });
  return got;
}

TEST(ApiCommands, UnknownIsUnsupportedAndListCommandsLists) {
  CommandTable t;
  t.add("ping", "answers pong", [](const Request&, Reply done) { done(success("pong")); });
  t.add("boom", "throws", [](const Request&, Reply) { throw std::runtime_error("kaput"); });
  EXPECT_EQ(call(t, R"({"command": "nope"})").result, kUnsupported);
  EXPECT_EQ(call(t, R"({"command": "ping"})").text, "pong");
  const Answer l = call(t, R"({"command": "list-commands"})");
  ASSERT_TRUE(l.arguments);
  EXPECT_EQ(*l.arguments, Json::parse(R"(["boom", "list-commands", "ping"])"));
  const Answer b = call(t, R"({"command": "boom"})");
  EXPECT_EQ(b.result, kError);
  EXPECT_NE(b.text.find("kaput"), std::string::npos);
  EXPECT_EQ(call(t, "{bad").result, kError);
}

// ---- statistics -----------------------------------------------------------------------

TEST(ApiStatistics, KeaNamesAndResetByBaseline) {
  CounterList now = {{"engine.rx_discover", 10}, {"engine.rx_request", 8}, {"engine.tx_offer", 10},
                     {"engine.tx_ack", 7},       {"engine.tx_nak", 1},     {"engine.drop.no_subnet", 2},
                     {"drop.not_dhcp", 3},       {"wire.ipv4_bad_checksum", 4}};
  Statistics s([&now] { return now; });
  auto m = s.current();
  EXPECT_EQ(m["pkt4-discover-received"], 10u);
  EXPECT_EQ(m["pkt4-request-received"], 8u);
  EXPECT_EQ(m["pkt4-received"], 22u);   // 10 + 8 + 4 parse failures
  EXPECT_EQ(m["pkt4-parse-failed"], 4u);
  EXPECT_EQ(m["pkt4-offer-sent"], 10u);
  EXPECT_EQ(m["pkt4-ack-sent"], 7u);
  EXPECT_EQ(m["pkt4-nak-sent"], 1u);
  EXPECT_EQ(m["pkt4-sent"], 18u);
  EXPECT_EQ(m["pkt4-receive-drop"], 5u);
  EXPECT_EQ(m["engine.rx_discover"], 10u);
  EXPECT_TRUE(s.reset("pkt4-ack-sent"));
  EXPECT_FALSE(s.reset("no-such"));
  now[3].second = 9;
  m = s.current();
  EXPECT_EQ(m["pkt4-ack-sent"], 2u);
  EXPECT_EQ(m["engine.tx_ack"], 9u);   // not reset
  s.reset_all();
  now[0].second = 11;
  m = s.current();
  EXPECT_EQ(m["pkt4-discover-received"], 1u);
  EXPECT_EQ(m["engine.tx_ack"], 0u);
}

// ---- daemon commands ----------------------------------------------------------------

constexpr const char* kConfig = R"(
[server]
address = "10.99.0.1"
[control]
socket = "/tmp/x.sock"
[[subnet]]
id = 7
prefix = "10.99.0.0/16"
pools = ["10.99.1.0-10.99.4.255"]
routers = ["10.99.0.1"]
[[subnet.reservation]]
mac = "02:00:00:00:00:01"
address = "10.99.0.100"
)";

TEST(ApiDaemonCommands, VersionConfigStatisticsShutdown) {
  const config::LoadResult loaded = config::load_config_string(kConfig, "t.toml");
  ASSERT_TRUE(loaded.ok());
  CommandTable t;
  Statistics stats([] { return CounterList{{"engine.tx_ack", 3}}; });
  bool stopped = false;
  register_daemon_commands(t, stats, {"0.1.0", &*loaded.config, "", [&stopped] { stopped = true; }, {}, {}});
  EXPECT_EQ(call(t, R"({"command": "version-get"})").text, "0.1.0");
  EXPECT_EQ(call(t, R"({"command": "version-get", "arguments": {"x": 1}})").result, kError);
  const Answer c = call(t, R"({"command": "config-get"})");
  ASSERT_EQ(c.result, kSuccess);
  EXPECT_EQ((*c.arguments)["Dorado"]["control"]["socket"], "/tmp/x.sock");
  EXPECT_EQ((*c.arguments)["Dorado"]["subnet"][0]["id"], 7);
  EXPECT_EQ((*c.arguments)["Dorado"]["subnet"][0]["pools"][0], "10.99.1.0-10.99.4.255");
  EXPECT_EQ((*c.arguments)["Dorado"]["subnet"][0]["reservation"][0]["mac"], "02:00:00:00:00:01");
  const Answer all = call(t, R"({"command": "statistic-get-all"})");
  EXPECT_EQ((*all.arguments)["pkt4-ack-sent"][0][0], 3);
  EXPECT_TRUE((*all.arguments)["pkt4-ack-sent"][0][1].is_string());
  EXPECT_EQ(call(t, R"({"command": "statistic-get", "arguments": {"name": "nope"}})").result, kEmpty);
  EXPECT_EQ(call(t, R"({"command": "statistic-get"})").result, kError);
  EXPECT_EQ(call(t, R"({"command": "statistic-reset", "arguments": {"name": "pkt4-ack-sent"}})").result, kSuccess);
  EXPECT_EQ((*call(t, R"({"command": "statistic-get", "arguments": {"name": "pkt4-ack-sent"}})").arguments)["pkt4-ack-sent"][0][0], 0);
  // config-test: no running file known here, and a file that does not exist.
  EXPECT_EQ(call(t, R"({"command": "config-test"})").result, kError);
  const Answer ct = call(t, R"({"command": "config-test", "arguments": {"file": "/nonexistent/d.toml"}})");
  EXPECT_EQ(ct.result, kError);
  EXPECT_NE(ct.text.find("/nonexistent/d.toml:0"), std::string::npos) << ct.text;
  EXPECT_FALSE(stopped);
  EXPECT_EQ(call(t, R"({"command": "shutdown"})").result, kSuccess);
  EXPECT_TRUE(stopped);
}

// config-get shows the policy (issue 16): classes with their conditions and
// options, pool tables, what a reservation gives, shared networks.
TEST(ApiDaemonCommands, ConfigGetShowsClassesPoolsAndSharedNetworks) {
  const std::string text = std::string(kConfig) +
                           "classes = [\"lab\"]\n"
                           "[[subnet.pool]]\nrange = \"10.99.5.0-10.99.5.255\"\nclasses = [\"phones\"]\n"
                           "deny = [\"lab\"]\nlease_time = 300\n"
                           "[[subnet.pool.option]]\ncode = 150\nip = [\"10.99.0.150\"]\n"
                           "[[class]]\nname = \"phones\"\nvendor_class_prefix = \"Poly\"\nvlan = 100\n"
                           "giaddr = \"10.9.0.0/16\"\n"
                           "[[class.option]]\ncode = 66\nstring = \"tftp\"\n"
                           "[[class]]\nname = \"lab\"\ndrop = true\n"
                           "[[shared_network]]\nname = \"campus\"\nsubnets = [\"10.99.0.0/16\"]\n";
  const config::LoadResult loaded = config::load_config_string(text, "t.toml");
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? std::string() : loaded.errors[0].to_string());
  CommandTable t;
  Statistics stats([] { return CounterList{}; });
  register_daemon_commands(t, stats, {"0.1.0", &*loaded.config, "", [] {}, {}, {}});
  const Answer c = call(t, R"({"command": "config-get"})");
  ASSERT_EQ(c.result, kSuccess);
  const Json& d = (*c.arguments)["Dorado"];
  ASSERT_EQ(d["class"].size(), 2u) << d.dump();
  const Json& phones = d["class"][0];
  EXPECT_EQ(phones["name"], "phones");
  ASSERT_EQ(phones["match"].size(), 3u) << phones.dump();
  EXPECT_EQ(phones["match"][0], (Json{{"field", "option"}, {"code", 60}, {"op", "prefix"}, {"hex", "50:6f:6c:79"}}));
  EXPECT_EQ(phones["match"][1], (Json{{"field", "vlan_outer"}, {"op", "equals"}, {"number", 100}}));
  EXPECT_EQ(phones["match"][2], (Json{{"field", "giaddr"}, {"op", "in_prefix"}, {"prefix", "10.9.0.0/16"}}));
  EXPECT_EQ(phones["option"][0]["code"], 66);
  EXPECT_EQ(d["class"][1]["name"], "lab");
  EXPECT_EQ(d["class"][1]["drop"], true);
  const Json& pool = d["subnet"][0]["pool"][0];
  EXPECT_EQ(pool["range"][0], "10.99.5.0-10.99.5.255");
  EXPECT_EQ(pool["classes"][0], "phones");
  EXPECT_EQ(pool["deny"][0], "lab");
  EXPECT_EQ(pool["lease_time"], 300);
  EXPECT_EQ(pool["option"][0]["code"], 150);
  EXPECT_EQ(d["subnet"][0]["reservation"][0]["classes"][0], "lab");
  EXPECT_EQ(d["shared_network"][0]["name"], "campus");
  EXPECT_EQ(d["shared_network"][0]["subnets"][0], "10.99.0.0/16");
}

// config-reload answers what the daemon's reload reported; config-write
// writes the text of the config in force (atomically: no .tmp left); without
// hooks both are unsupported; split-scope-get shows every pool's parts.
TEST(ApiDaemonCommands, ConfigReloadWriteAndSplitScope) {
  const config::LoadResult loaded = config::load_config_string(kConfig, "t.toml");
  ASSERT_TRUE(loaded.ok());
  {
    CommandTable bare;
    Statistics stats([] { return CounterList{}; });
    register_daemon_commands(bare, stats, {"0.1.0", &*loaded.config, "", {}, {}, {}});
    EXPECT_EQ(call(bare, R"({"command": "config-reload"})").result, kUnsupported);
    EXPECT_EQ(call(bare, R"({"command": "config-write"})").result, kUnsupported);
    EXPECT_EQ(call(bare, R"({"command": "split-scope-get"})").result, kEmpty) << "no [split_scope]";
  }
  char dir_tmpl[] = "/tmp/dorado-api-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_tmpl), nullptr);
  const std::string dir = dir_tmpl;
  CommandTable t;
  Statistics stats([] { return CounterList{}; });
  ReloadOutcome next{false, {"t.toml:3: x: bad", "reload refused: ..."}};
  int reloads = 0;
  register_daemon_commands(t, stats,
                           {"0.1.0", &*loaded.config, dir + "/running.toml", {},
                            [&] { ++reloads; return next; }, [] { return std::string(kConfig); }});
  Answer a = call(t, R"({"command": "config-reload"})");
  EXPECT_EQ(a.result, kError);
  EXPECT_NE(a.text.find("t.toml:3: x: bad"), std::string::npos) << a.text;
  EXPECT_EQ((*a.arguments)["lines"].size(), 2u);
  next = {true, {"reload: applied"}};
  a = call(t, R"({"command": "config-reload"})");
  EXPECT_EQ(a.result, kSuccess);
  EXPECT_EQ((*a.arguments)["lines"][0], "reload: applied");
  EXPECT_EQ(reloads, 2);
  EXPECT_EQ(call(t, R"({"command": "config-reload", "arguments": {"x": 1}})").result, kError);
  EXPECT_EQ(reloads, 2) << "bad arguments reload nothing";

  a = call(t, R"({"command": "config-write"})");   // the running file by default
  ASSERT_EQ(a.result, kSuccess) << a.text;
  EXPECT_EQ((*a.arguments)["filename"], dir + "/running.toml");
  EXPECT_EQ((*a.arguments)["size"], std::string(kConfig).size());
  std::ifstream in(dir + "/running.toml");
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), kConfig);
  EXPECT_FALSE(std::ifstream(dir + "/running.toml.tmp").good()) << "the temporary file is renamed";
  EXPECT_EQ(call(t, R"({"command": "config-write", "arguments": {"filename": "/nonexistent/dir/x.toml"}})").result,
            kError);
  EXPECT_EQ(call(t, R"({"command": "config-write", "arguments": {"filename": 7}})").result, kError);
  std::filesystem::remove_all(dir);

  std::string split = kConfig;
  split += "\n[split_scope]\nthis_server = \"b\"\nservers = [{ name = \"a\", share = 3 }, { name = \"b\", share = 1 }]\n";
  const config::LoadResult with_split = config::load_config_string(split, "s.toml");
  ASSERT_TRUE(with_split.ok()) << (with_split.errors.empty() ? "" : with_split.errors[0].to_string());
  CommandTable st;
  register_daemon_commands(st, stats, {"0.1.0", &*with_split.config, "", {}, {}, {}});
  a = call(st, R"({"command": "split-scope-get"})");
  ASSERT_EQ(a.result, kSuccess) << a.text;
  const Json& pools = (*a.arguments)["pools"];
  ASSERT_EQ(pools.size(), 1u);
  EXPECT_EQ(pools[0]["this-server"], "b");
  ASSERT_EQ(pools[0]["parts"].size(), 2u);
  const std::uint64_t usable = pools[0]["usable"];
  EXPECT_EQ(pools[0]["parts"][0]["count"].get<std::uint64_t>() + pools[0]["parts"][1]["count"].get<std::uint64_t>(),
            usable);
  EXPECT_EQ(pools[0]["excluded"].size(), 1u) << "server a's part";
  EXPECT_EQ(pools[0]["excluded"][0], pools[0]["parts"][0]["range"]);
}

// ---- lease commands over real shards --------------------------------------------------

// Runs each request on its shard at once and keeps the replies, as the
// runtime's rings would carry them; pump() delivers them.
class ShardsPort final : public ShardPort {
 public:
  ShardsPort(const engine::CompiledConfig& c, unsigned n) : shard_list(test_support::make_shards(c, n)) {}
  unsigned shards() const override { return static_cast<unsigned>(shard_list.size()); }
  bool submit(unsigned shard, const engine::AdminRequest& r) override {
    if (refuse_next > 0) {
      --refuse_next;
      return false;
    }
    ++requests;
    std::vector<engine::AdminReply> out(engine::kMaxAdminReplies);
    const std::uint32_t n = shard_list[shard]->admin(r, now, out);
    for (std::uint32_t i = 0; i < n; ++i) queue.emplace_back(shard, out[i]);
    for (const auto& ch : shard_list[shard]->changes()) records.push_back(ch);
    shard_list[shard]->clear_changes();
    return true;
  }
  void pump(LeaseService& s) {
    while (!queue.empty()) {
      auto [shard, r] = queue.front();
      queue.pop_front();
      s.on_reply(shard, r);
    }
  }
  std::vector<std::unique_ptr<engine::Shard>> shard_list;
  std::deque<std::pair<unsigned, engine::AdminReply>> queue;
  std::vector<engine::LeaseChange> records;
  engine::Seconds now = 1'000'000;
  unsigned refuse_next = 0;
  unsigned requests = 0;
};

class ApiLeases : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override {
    loaded = std::make_unique<config::LoadResult>(config::load_config_string(kConfig, "t.toml"));
    ASSERT_TRUE(loaded->ok());
    port = std::make_unique<ShardsPort>(*loaded->compiled, GetParam());
    service = std::make_unique<LeaseService>(*port, *loaded->compiled, [this] { return port->now; });
    service->register_commands(table);
  }
  Answer run(const std::string& text) {
    Answer got{-1, "no answer", std::nullopt};
    handle_text(table, text, [&got](Answer a) { got = std::move(a); });
    for (int i = 0; i < 1000 && got.result == -1; ++i) {
      service->tick(++ms);
      port->pump(*service);
    }
    return got;
  }
  // Adds a lease for MAC 02:aa:..:nn on the first of `candidates` its shard
  // accepts (with several shards an address must be in the client's blocks).
  std::string add(unsigned nn, const std::vector<std::string>& candidates, const std::string& extra = "") {
    char mac[32];
    std::snprintf(mac, sizeof mac, "02:aa:00:00:00:%02x", nn);
    for (const auto& ip : candidates) {
      const Answer a = run(R"({"command": "lease4-add", "arguments": {"ip-address": ")" + ip +
                           R"(", "hw-address": ")" + mac + "\"" + extra + "}}");
      if (a.result == kSuccess) return ip;
      EXPECT_NE(a.text.find("another worker's address block"), std::string::npos) << a.text;
    }
    return "";
  }
  // Of `candidates`, those in a pool block of MAC 02:aa:..:nn's own shard
  // (with several shards an add elsewhere makes a foreign lease, which
  // leaves no history when it ends).
  std::vector<std::string> own_blocks(unsigned nn, const std::vector<std::string>& candidates) {
    const std::uint8_t mac[6] = {0x02, 0xaa, 0, 0, 0, static_cast<std::uint8_t>(nn)};
    const unsigned n = GetParam();
    const unsigned client = engine::shard_for_hash(engine::client_key_hw(1, {mac, 6}).hash, n);
    std::vector<std::string> v;
    for (const auto& ip : candidates) {
      engine::LeaseChange l;
      l.address = *parse_ipv4(ip);
      if (engine::block_owner_of(l, *loaded->compiled, n) == client) v.push_back(ip);
    }
    return v;
  }
  std::vector<std::string> pool_addresses(unsigned from, unsigned count) {
    std::vector<std::string> v;
    for (unsigned i = 0; i < count; ++i) v.push_back(format_ipv4(0x0a630100u + from + i));
    return v;
  }
  std::unique_ptr<config::LoadResult> loaded;
  std::unique_ptr<ShardsPort> port;
  std::unique_ptr<LeaseService> service;
  CommandTable table;
  std::uint64_t ms = 0;
};

TEST_P(ApiLeases, AddGetUpdateDeleteWithTheirRecords) {
  const std::string ip = add(1, pool_addresses(10, 200), R"(, "valid-lft": 300, "hostname": "h1")");
  ASSERT_FALSE(ip.empty());
  ASSERT_FALSE(port->records.empty());
  EXPECT_EQ(port->records.back().op, engine::LeaseOp::commit);
  EXPECT_EQ(format_ipv4(port->records.back().address), ip);
  EXPECT_EQ(port->records.back().expires, port->now + 300);

  Answer g = run(R"({"command": "lease4-get", "arguments": {"ip-address": ")" + ip + "\"}}");
  ASSERT_EQ(g.result, kSuccess) << g.text;
  EXPECT_EQ((*g.arguments)["hw-address"], "02:aa:00:00:00:01");
  EXPECT_EQ((*g.arguments)["valid-lft"], 300);
  EXPECT_EQ((*g.arguments)["hostname"], "h1");
  EXPECT_EQ((*g.arguments)["subnet-id"], 7);
  EXPECT_EQ((*g.arguments)["state"], 0);

  g = run(R"({"command": "lease4-get", "arguments": {"identifier-type": "hw-address", "identifier": "02:aa:00:00:00:01", "subnet-id": 7}})");
  ASSERT_EQ(g.result, kSuccess) << g.text;
  EXPECT_EQ((*g.arguments)["ip-address"], ip);
  g = run(R"({"command": "lease4-get", "arguments": {"identifier-type": "hw-address", "identifier": "02:aa:00:00:00:01", "subnet-id": 8}})");
  EXPECT_EQ(g.result, kEmpty);
  g = run(R"({"command": "lease4-get-by-hw-address", "arguments": {"hw-address": "02:aa:00:00:00:01"}})");
  ASSERT_EQ(g.result, kSuccess);
  EXPECT_EQ((*g.arguments)["leases"].size(), 1u);

  // The same address again, or the same client elsewhere: refused.
  EXPECT_EQ(run(R"({"command": "lease4-add", "arguments": {"ip-address": ")" + ip +
                R"(", "hw-address": "02:aa:00:00:00:09"}})").result, kError);
  // Update: new lifetime; an update of an address without a lease fails.
  g = run(R"({"command": "lease4-update", "arguments": {"ip-address": ")" + ip +
          R"(", "hw-address": "02:aa:00:00:00:01", "valid-lft": 900}})");
  EXPECT_EQ(g.result, kSuccess) << g.text;
  EXPECT_EQ(port->records.back().expires, port->now + 900);
  g = run(R"({"command": "lease4-update", "arguments": {"ip-address": "10.99.4.250", "hw-address": "02:aa:00:00:00:01"}})");
  EXPECT_EQ(g.result, kError);

  // Delete: a reclaim record; then not found.
  g = run(R"({"command": "lease4-del", "arguments": {"ip-address": ")" + ip + "\"}}");
  EXPECT_EQ(g.result, kSuccess) << g.text;
  EXPECT_EQ(port->records.back().op, engine::LeaseOp::reclaim);
  EXPECT_EQ(run(R"({"command": "lease4-get", "arguments": {"ip-address": ")" + ip + "\"}}").result, kEmpty);
  EXPECT_EQ(run(R"({"command": "lease4-del", "arguments": {"ip-address": ")" + ip + "\"}}").result, kEmpty);
  for (const auto& s : port->shard_list) EXPECT_EQ(s->audit(), "");
}

TEST_P(ApiLeases, ClientIdLeasesAndTheReservation) {
  // The reserved address takes a lease for its MAC on the client's shard.
  Answer a = run(R"({"command": "lease4-add", "arguments": {"ip-address": "10.99.0.100", "hw-address": "02:00:00:00:00:01", "client-id": "01:02:00:00:00:00:01"}})");
  EXPECT_EQ(a.result, kSuccess) << a.text;
  a = run(R"({"command": "lease4-get-by-client-id", "arguments": {"client-id": "01:02:00:00:00:00:01"}})");
  ASSERT_EQ(a.result, kSuccess) << a.text;
  EXPECT_EQ((*a.arguments)["leases"][0]["ip-address"], "10.99.0.100");
  EXPECT_EQ((*a.arguments)["leases"][0]["client-id"], "01:02:00:00:00:00:01");
  a = run(R"({"command": "lease4-get", "arguments": {"ip-address": "10.99.0.100"}})");
  EXPECT_EQ(a.result, kSuccess) << a.text;
  a = run(R"({"command": "lease4-del", "arguments": {"identifier-type": "client-id", "identifier": "01:02:00:00:00:00:01", "subnet-id": 7}})");
  EXPECT_EQ(a.result, kSuccess) << a.text;
  EXPECT_EQ(run(R"({"command": "lease4-get", "arguments": {"ip-address": "10.99.0.100"}})").result, kEmpty);
  // By hw-address, although the client is keyed by its client-id: found by
  // chaddr, deleted by address.
  a = run(R"({"command": "lease4-add", "arguments": {"ip-address": "10.99.0.100", "hw-address": "02:00:00:00:00:01", "client-id": "01:02:00:00:00:00:01"}})");
  EXPECT_EQ(a.result, kSuccess) << a.text;
  a = run(R"({"command": "lease4-del", "arguments": {"identifier-type": "hw-address", "identifier": "02:00:00:00:00:01", "subnet-id": 8}})");
  EXPECT_EQ(a.result, kEmpty) << a.text;   // another subnet
  a = run(R"({"command": "lease4-del", "arguments": {"identifier-type": "hw-address", "identifier": "02:00:00:00:00:01", "subnet-id": 7}})");
  EXPECT_EQ(a.result, kSuccess) << a.text;
  EXPECT_EQ(run(R"({"command": "lease4-get", "arguments": {"ip-address": "10.99.0.100"}})").result, kEmpty);
  // Outside every pool and not reserved for this client; outside every subnet.
  a = run(R"({"command": "lease4-add", "arguments": {"ip-address": "10.99.0.50", "hw-address": "02:00:00:00:00:05"}})");
  EXPECT_EQ(a.result, kError);
  EXPECT_NE(a.text.find("not in a pool"), std::string::npos) << a.text;
  a = run(R"({"command": "lease4-add", "arguments": {"ip-address": "10.98.0.50", "hw-address": "02:00:00:00:00:05"}})");
  EXPECT_NE(a.text.find("no configured subnet"), std::string::npos) << a.text;
  a = run(R"({"command": "lease4-add", "arguments": {"ip-address": "10.99.1.50", "hw-address": "02:00:00:00:00:05", "subnet-id": 3}})");
  EXPECT_NE(a.text.find("not in subnet-id 3"), std::string::npos) << a.text;
}

TEST_P(ApiLeases, PagesWalkEveryLeaseInAddressOrderAcrossShards) {
  std::vector<std::string> added;
  for (unsigned i = 0; i < 40; ++i) {
    // One address in each of 6 blocks: some block belongs to the client's shard.
    std::vector<std::string> candidates;
    for (unsigned b = 0; b < 6; ++b) candidates.push_back(format_ipv4(0x0a630100u + i + 64 * b));
    const std::string ip = add(i + 1, candidates);
    ASSERT_FALSE(ip.empty());
    added.push_back(ip);
  }
  std::vector<std::string> seen;
  std::string from = "start";
  for (int pages = 0; pages < 100; ++pages) {
    const Answer a = run(R"({"command": "lease4-get-page", "arguments": {"from": ")" + from + R"(", "limit": 7}})");
    if (a.result == kEmpty) break;
    ASSERT_EQ(a.result, kSuccess) << a.text;
    const Json& l = (*a.arguments)["leases"];
    EXPECT_EQ((*a.arguments)["count"], l.size());
    EXPECT_LE(l.size(), 7u);
    for (const auto& x : l) seen.push_back(x["ip-address"]);
    from = seen.back();
  }
  std::vector<std::string> expected = added;
  std::sort(expected.begin(), expected.end(),
            [](const std::string& a, const std::string& b) { return *parse_ipv4(a) < *parse_ipv4(b); });
  EXPECT_EQ(seen, expected);   // address order, every one once
  // get-by-hw-address for one of them; wipe by subnet; the page is empty.
  Answer a = run(R"({"command": "lease4-get-by-hw-address", "arguments": {"hw-address": "02:aa:00:00:00:05"}})");
  ASSERT_EQ(a.result, kSuccess);
  EXPECT_EQ((*a.arguments)["leases"][0]["ip-address"], added[4]);   // MAC :05 is the 5th added
  EXPECT_EQ(run(R"({"command": "lease4-wipe", "arguments": {"subnet-id": 99}})").result, kError);
  a = run(R"({"command": "lease4-wipe", "arguments": {"subnet-id": 7}})");
  EXPECT_EQ(a.text, "Deleted 40 IPv4 lease(s) from subnet(s) 7.");
  EXPECT_EQ(run(R"({"command": "lease4-get-page", "arguments": {"from": "start", "limit": 7}})").result, kEmpty);
  EXPECT_EQ(run(R"({"command": "lease4-wipe"})").result, kEmpty);
  for (const auto& s : port->shard_list) EXPECT_EQ(s->audit(), "");
}

TEST_P(ApiLeases, ReclaimExpiresDueLeasesAndRemoveDeletesThem) {
  const std::string ip = add(1, own_blocks(1, pool_addresses(0, 200)), R"(, "valid-lft": 10)");
  ASSERT_FALSE(ip.empty());
  port->now += 20;
  Answer a = run(R"({"command": "leases-reclaim", "arguments": {"remove": false}})");
  ASSERT_EQ(a.result, kSuccess) << a.text;
  EXPECT_EQ((*a.arguments)["reclaimed"], 1);
  EXPECT_EQ(port->records.back().op, engine::LeaseOp::expire);
  a = run(R"({"command": "lease4-get", "arguments": {"ip-address": ")" + ip + "\"}}");
  ASSERT_EQ(a.result, kSuccess);
  EXPECT_EQ((*a.arguments)["state"], 2);   // expired-reclaimed
  a = run(R"({"command": "leases-reclaim", "arguments": {"remove": true}})");
  ASSERT_EQ(a.result, kSuccess);
  EXPECT_EQ(port->records.back().op, engine::LeaseOp::reclaim);
  EXPECT_EQ(run(R"({"command": "lease4-get", "arguments": {"ip-address": ")" + ip + "\"}}").result, kEmpty);
  EXPECT_EQ(run(R"({"command": "leases-reclaim", "arguments": {"remove": 1}})").result, kError);
}

TEST_P(ApiLeases, BadArgumentsAreAnsweredWithoutAskingAShard) {
  const unsigned before = port->requests;
  for (const char* bad : {
           R"({"command": "lease4-get"})",
           R"({"command": "lease4-get", "arguments": {"ip-address": 5}})",
           R"({"command": "lease4-get", "arguments": {"ip-address": "10.99.1.1", "identifier": "x"}})",
           R"({"command": "lease4-get", "arguments": {"identifier-type": "hw-address", "identifier": "02:00:00:00:00:01"}})",
           R"({"command": "lease4-get", "arguments": {"identifier-type": "duid", "identifier": "01", "subnet-id": 1}})",
           R"({"command": "lease4-get", "arguments": {"identifier-type": "hw-address", "identifier": "01:02", "subnet-id": 1}})",
           R"({"command": "lease4-get-by-hw-address", "arguments": {"hw-address": "zz"}})",
           R"({"command": "lease4-get-by-client-id", "arguments": {}})",
           R"({"command": "lease4-get-page", "arguments": {"from": "start", "limit": 0}})",
           R"({"command": "lease4-get-page", "arguments": {"from": "nowhere", "limit": 5}})",
           R"({"command": "lease4-get-page", "arguments": {"from": "start", "limit": 5, "x": 1}})",
           R"({"command": "lease4-add", "arguments": {"ip-address": "10.99.1.1"}})",
           R"({"command": "lease4-add", "arguments": {"ip-address": "10.99.1.1", "hw-address": "02:00:00:00:00:01", "valid-lft": 0}})",
           R"({"command": "lease4-add", "arguments": {"ip-address": "10.99.1.1", "hw-address": "02:00:00:00:00:01", "expire": 5}})",
           R"({"command": "lease4-del", "arguments": {"subnet-id": 1}})",
           R"({"command": "lease4-wipe", "arguments": {"subnet-id": "1"}})",
           R"({"command": "leases-reclaim"})",
       }) {
    const Answer a = run(bad);
    EXPECT_EQ(a.result, kError) << bad << " -> " << a.text;
  }
  EXPECT_EQ(port->requests, before);
}

TEST_P(ApiLeases, AFullRingIsRetriedAndASilentShardTimesOut) {
  port->refuse_next = 3;
  const Answer a = run(R"({"command": "lease4-get", "arguments": {"ip-address": "10.99.1.1"}})");
  EXPECT_EQ(a.result, kEmpty) << a.text;   // answered after the retries
  // A shard that never answers: the command fails at its deadline.
  Answer got{-1, "", std::nullopt};
  handle_text(table, R"({"command": "lease4-get", "arguments": {"ip-address": "10.99.1.1"}})",
              [&got](Answer x) { got = std::move(x); });
  port->queue.clear();   // lost replies
  service->tick(ms + 4999);
  EXPECT_EQ(got.result, -1);
  service->tick(ms + 6000);
  EXPECT_EQ(got.result, kError);
  EXPECT_NE(got.text.find("timeout"), std::string::npos);
  EXPECT_EQ(service->pending(), 0u);
}

TEST_P(ApiLeases, ChangesAreAnsweredOnceDurable) {
  std::uint32_t durable = 0;   // the store's durable seq, for every shard here
  service->set_durable([&durable](unsigned) { return durable; });
  const std::string ip = format_ipv4(0x0a630100u + 10);
  Answer got{-1, "", std::nullopt};
  std::string added;
  for (unsigned b = 0; b < 6 && added.empty(); ++b) {
    const std::string cand = format_ipv4(0x0a630100u + 10 + 64 * b);
    got = Answer{-1, "", std::nullopt};
    handle_text(table, R"({"command": "lease4-add", "arguments": {"ip-address": ")" + cand +
                R"(", "hw-address": "02:aa:00:00:00:01"}})", [&got](Answer a) { got = std::move(a); });
    port->pump(*service);
    service->tick(++ms);
    if (got.result == kError) continue;   // another shard's block
    added = cand;
  }
  ASSERT_FALSE(added.empty());
  EXPECT_EQ(got.result, -1);   // applied, not yet durable: no answer
  service->tick(++ms);
  EXPECT_EQ(got.result, -1);
  durable = port->records.back().seq;
  service->tick(++ms);
  EXPECT_EQ(got.result, kSuccess) << got.text;
  // Lookups emit nothing and are answered at once.
  EXPECT_EQ(run(R"({"command": "lease4-get", "arguments": {"ip-address": ")" + added + "\"}}").result, kSuccess);
  // A store that never catches up: an error at the deadline that says why.
  got = Answer{-1, "", std::nullopt};
  handle_text(table, R"({"command": "lease4-del", "arguments": {"ip-address": ")" + added + "\"}}",
              [&got](Answer a) { got = std::move(a); });
  port->pump(*service);
  service->tick(ms + 6000);
  EXPECT_EQ(got.result, kError);
  EXPECT_NE(got.text.find("not durable"), std::string::npos) << got.text;
  (void)ip;
}

// lease4-add of any pool address whatever the worker count (issue 19): one
// address in each of 12 pool blocks (blocks are spread over the shards), a
// client each. With several shards most land outside the client's shard's
// blocks: the block's owner holds the address (a hold record, nothing
// journaled) and the client's shard serves the lease (foreign), as after a
// restart with another worker count.
TEST_P(ApiLeases, AddTakesAnyPoolAddress) {
  const unsigned n = GetParam();
  unsigned foreign = 0;
  for (unsigned b = 0; b < 12; ++b) {
    const std::uint32_t a = 0x0a630100u + 10 + 64 * b;
    const std::string ip = format_ipv4(a);
    char mac[32];
    std::snprintf(mac, sizeof mac, "02:bb:00:00:00:%02x", b);
    const Answer got = run(R"({"command": "lease4-add", "arguments": {"ip-address": ")" + ip +
                           R"(", "hw-address": ")" + mac + R"(", "valid-lft": 600}})");
    ASSERT_EQ(got.result, kSuccess) << ip << ": " << got.text;
    const Answer g = run(R"({"command": "lease4-get", "arguments": {"ip-address": ")" + ip + "\"}}");
    ASSERT_EQ(g.result, kSuccess) << g.text;
    EXPECT_EQ((*g.arguments)["hw-address"], mac);
    EXPECT_EQ(port->records.back().op, engine::LeaseOp::commit);
    EXPECT_EQ(port->records.back().address, a);
    engine::LeaseChange l;
    l.address = a;
    const unsigned owner = engine::block_owner_of(l, *loaded->compiled, n);
    const unsigned client = (*g.arguments)["shard"].get<unsigned>();
    if (owner != client) {
      ++foreign;
      const engine::Lease* hold = port->shard_list[owner]->lease_at_address(a);
      ASSERT_NE(hold, nullptr) << ip;
      EXPECT_TRUE(hold->flags & engine::kLeaseHold);
      EXPECT_EQ(hold->expires, port->now + 600);
      // Another client cannot take the held address, and the failed add
      // leaves the hold as it was.
      const Answer again = run(R"({"command": "lease4-add", "arguments": {"ip-address": ")" + ip +
                               R"(", "hw-address": "02:cc:00:00:00:01"}})");
      EXPECT_EQ(again.result, kError) << again.text;
      ASSERT_NE(port->shard_list[owner]->lease_at_address(a), nullptr);
    }
  }
  if (n > 1) {
    EXPECT_GT(foreign, 0u) << "no address fell outside its client's shard's blocks";
  }
  // A client that holds a lease already: the add fails on its shard after
  // the hold was taken, and the hold is undone.
  for (unsigned b = 12; b < 16; ++b) {
    const std::uint32_t a = 0x0a630100u + 10 + 64 * b;
    engine::LeaseChange l;
    l.address = a;
    const unsigned owner = engine::block_owner_of(l, *loaded->compiled, n);
    const Answer got = run(R"({"command": "lease4-add", "arguments": {"ip-address": ")" + format_ipv4(a) +
                           R"(", "hw-address": "02:bb:00:00:00:00"}})");
    EXPECT_EQ(got.result, kError) << got.text;
    EXPECT_EQ(port->shard_list[owner]->lease_at_address(a), nullptr) << format_ipv4(a) << ": hold left behind";
  }
  for (const auto& s : port->shard_list) EXPECT_EQ(s->audit(), "");
  // What a restart rebuilds from the records: every lease restored, the
  // foreign ones with their holds.
  ShardsPort fresh(*loaded->compiled, n);
  unsigned restored = 0;
  for (const engine::LeaseChange& r : port->records) {
    if (r.op != engine::LeaseOp::commit) continue;
    const unsigned o = engine::owner_shard_of(r, *loaded->compiled, n);
    engine::RestoreStatus st = fresh.shard_list[o]->restore(r, port->now);
    if (st == engine::RestoreStatus::foreign)
      st = fresh.shard_list[engine::block_owner_of(r, *loaded->compiled, n)]->restore_hold(r, port->now);
    restored += st == engine::RestoreStatus::restored ? 1 : 0;
  }
  EXPECT_EQ(restored, 12u);
  for (const auto& s : fresh.shard_list) EXPECT_EQ(s->audit(), "");
}

INSTANTIATE_TEST_SUITE_P(Shards, ApiLeases, ::testing::Values(1u, 2u, 3u));

// ---- trace-start, trace-get, trace-stop -----------------------------------------------

// A table with the trace commands over a fake runtime that keeps what it
// was given.
struct TraceFixture {
  CommandTable table;
  std::optional<engine::TraceFilter> started;
  bool active = false;
  TraceView view;
  const config::DaemonConfig* config = nullptr;
  TraceFixture() {
    register_trace_commands(table, {[this](const engine::TraceFilter& f) {
                                      started = f;
                                      active = true;
                                      ++view.session;
                                    },
                                    [this] { return std::exchange(active, false); },
                                    [this] {
                                      TraceView v = view;
                                      v.active = active;
                                      if (started) v.filter = *started;
                                      return v;
                                    },
                                    [this] { return config; }});
  }
  Answer start(const std::string& args) {
    started.reset();
    return call(table, R"({"command": "trace-start", "arguments": )" + args + "}");
  }
};

TEST(ApiTrace, StartTakesExactlyOneFilterAndACount) {
  TraceFixture t;
  const auto error_of = [&t](const std::string& args) {
    const Answer a = t.start(args);
    EXPECT_EQ(a.result, kError) << args;
    EXPECT_FALSE(t.started) << args << ": nothing started on an error";
    return a.text;
  };
  EXPECT_EQ(error_of("{}"), "trace-start needs one of hw-address, client-id, circuit-id or subnet-id");
  EXPECT_EQ(error_of(R"({"count": 5})"), "trace-start needs one of hw-address, client-id, circuit-id or subnet-id");
  EXPECT_EQ(error_of(R"({"hw-address": "02:00:00:00:00:01", "subnet-id": 1})"),
            "trace-start takes one of hw-address, client-id, circuit-id or subnet-id, not several");
  EXPECT_NE(error_of(R"({"hw-address": "02:00:00:00:00"})").find("'hw-address' must be a MAC address"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"hw-address": 7})").find("'hw-address' must be a string"), std::string::npos);
  EXPECT_NE(error_of(R"({"client-id": "xyz"})").find("'client-id' must be 1..255 hex bytes"), std::string::npos);
  EXPECT_NE(error_of(R"({"circuit-id": "''"})").find("'circuit-id' must be 1..255 hex bytes"), std::string::npos);
  EXPECT_EQ(error_of(R"({"subnet-id": 0})"), "'subnet-id' must be 1..4294967295 (got 0)");
  EXPECT_EQ(error_of(R"({"subnet-id": -1})"), "'subnet-id' must be a non-negative integer, got a negative integer");
  EXPECT_EQ(error_of(R"({"subnet-id": 1, "count": 0})"), "'count' must be 1..1024 (got 0)");
  EXPECT_EQ(error_of(R"({"subnet-id": 1, "count": 1025})"), "'count' must be 1..1024 (got 1025)");
  EXPECT_NE(error_of(R"({"subnet-id": 1, "verbose": true})").find("verbose"), std::string::npos);

  Answer a = t.start(R"({"hw-address": "02:00:00:00:00:01"})");
  ASSERT_EQ(a.result, kSuccess) << a.text;
  EXPECT_EQ(a.text, "Trace started: hw-address 02:00:00:00:00:01, up to 100 records per worker.");
  ASSERT_TRUE(t.started);
  EXPECT_EQ(t.started->key, engine::TraceKey::hw_address);
  EXPECT_EQ(t.started->len, 6);
  EXPECT_EQ(t.started->bytes[5], 1);
  EXPECT_EQ(t.started->count, 100u);
  a = t.start(R"({"client-id": "01:02:00:00:00:00:01", "count": 1024})");
  ASSERT_EQ(a.result, kSuccess) << a.text;
  EXPECT_EQ(t.started->key, engine::TraceKey::client_id);
  EXPECT_EQ(t.started->len, 7);
  EXPECT_EQ(t.started->count, 1024u);
  a = t.start(R"({"circuit-id": "'eth0/1'"})");
  ASSERT_EQ(a.result, kSuccess) << a.text;
  EXPECT_EQ(t.started->key, engine::TraceKey::circuit_id);
  EXPECT_EQ(std::string(t.started->bytes.begin(), t.started->bytes.begin() + t.started->len), "eth0/1");
  EXPECT_EQ((*a.arguments)["filter"]["circuit-id"], "'eth0/1'");
  a = t.start(R"({"circuit-id": "00:01:ff"})");
  ASSERT_EQ(a.result, kSuccess) << a.text;
  EXPECT_EQ(t.started->len, 3);
  EXPECT_EQ((*a.arguments)["filter"]["circuit-id"], "00:01:ff");
  a = t.start(R"({"subnet-id": 7, "count": 3})");
  ASSERT_EQ(a.result, kSuccess) << a.text;
  EXPECT_EQ(t.started->key, engine::TraceKey::subnet_id);
  EXPECT_EQ(t.started->subnet_id, 7u);
  EXPECT_EQ((*a.arguments)["filter"], Json::parse(R"({"subnet-id": 7, "count": 3})"));
}

TEST(ApiTrace, GetShowsRecordsAsJsonAndStopEndsTheTrace) {
  const config::LoadResult loaded = config::load_config_string(kConfig, "t.toml");
  ASSERT_TRUE(loaded.ok());
  TraceFixture t;
  t.config = &*loaded.config;
  EXPECT_EQ(call(t.table, R"({"command": "trace-get"})").result, kEmpty);
  EXPECT_EQ(call(t.table, R"({"command": "trace-stop"})").result, kEmpty);
  EXPECT_EQ(call(t.table, R"({"command": "trace-get", "arguments": {"x": 1}})").result, kError);
  ASSERT_EQ(t.start(R"({"subnet-id": 7})").result, kSuccess);

  engine::TraceRecord offer;
  offer.time_us = 1'765'015'200'000'042ull;   // 2025-12-06 10:00:00.000042 UTC
  offer.xid = 0xabc;
  offer.message_type = 1;
  offer.hlen = 6;
  offer.chaddr = {2, 0, 0, 0, 0, 1};
  offer.client_id_len = 30;
  offer.client_id.fill(0xee);
  offer.subnet_id = 7;
  offer.subnet_by = engine::SubnetBy::interface;
  offer.selector = 0x0a630001;
  offer.verdict = engine::Verdict::reply;
  offer.reply_type = wire::MessageType::offer;
  offer.yiaddr = 0x0a630105;   // 10.99.1.5
  offer.lease_time = 600;
  offer.reply_ip = 0xffffffff;
  offer.reply_port = 68;
  offer.reply_flags = wire::kFlagBroadcast;
  offer.reply_mac = wire::MacAddr::broadcast();
  engine::TraceRecord reserved = offer;
  reserved.yiaddr = 0x0a630064;   // 10.99.0.100, the reservation
  reserved.reply_type = wire::MessageType::ack;
  engine::TraceRecord nak = offer;
  nak.reply_type = wire::MessageType::nak;
  nak.nak = engine::NakReason::not_in_subnet;
  nak.yiaddr = 0;
  nak.requested = 0x0b000001;
  engine::TraceRecord dropped;
  dropped.message_type = 1;
  dropped.giaddr = 0xc0000201;
  dropped.subnet_by = engine::SubnetBy::relay;
  dropped.selector = 0xc0000201;
  dropped.verdict = engine::Verdict::drop;
  dropped.drop = engine::DropReason::no_subnet;
  engine::TraceRecord silent = offer;
  silent.message_type = 3;
  silent.verdict = engine::Verdict::silent;
  silent.server_id = 0x0a000002;
  t.view.records = {{0, offer}, {0, reserved}, {1, nak}, {1, dropped}, {1, silent}};
  t.view.full = {1};

  const Answer a = call(t.table, R"({"command": "trace-get"})");
  ASSERT_EQ(a.result, kSuccess) << a.text;
  EXPECT_EQ(a.text, "5 record(s), trace on, full on 1 worker(s).");
  const Json& args = *a.arguments;
  EXPECT_EQ(args["active"], true);
  EXPECT_EQ(args["filter"], Json::parse(R"({"subnet-id": 7, "count": 100})"));
  EXPECT_EQ(args["full"], Json::parse("[1]"));
  const Json& r = args["records"];
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0]["worker"], 0);
  EXPECT_EQ(r[0]["time"], "2025-12-06 10:00:00.000042");
  EXPECT_EQ(r[0]["type"], "DISCOVER");
  EXPECT_EQ(r[0]["xid"], "0x00000abc");
  EXPECT_EQ(r[0]["hw-address"], "02:00:00:00:00:01");
  EXPECT_EQ(r[0]["client-id-length"], 30);
  EXPECT_EQ(r[0]["subnet"], Json::parse(R"({"id": 7, "prefix": "10.99.0.0/16", "selected-by": "interface",
                                           "selector": "10.99.0.1"})"));
  EXPECT_EQ(r[0]["outcome"], "OFFER");
  EXPECT_EQ(r[0]["address"], "10.99.1.5");
  EXPECT_EQ(r[0]["pool"], "10.99.1.0-10.99.4.255");
  EXPECT_EQ(r[0]["lease-time"], 600);
  EXPECT_EQ(r[0]["reply-to"], Json::parse(R"({"ip": "255.255.255.255", "port": 68, "broadcast": true,
                                              "mac": "ff:ff:ff:ff:ff:ff"})"));
  EXPECT_EQ(r[1]["outcome"], "ACK");
  EXPECT_EQ(r[1]["pool"], "reservation");
  EXPECT_EQ(r[2]["outcome"], "NAK");
  EXPECT_EQ(r[2]["nak-reason"], "not_in_subnet");
  EXPECT_EQ(r[2]["requested-address"], "11.0.0.1");
  EXPECT_FALSE(r[2].contains("address"));
  EXPECT_EQ(r[3]["outcome"], "drop");
  EXPECT_EQ(r[3]["drop-reason"], "no_subnet");
  EXPECT_EQ(r[3]["subnet"], Json::parse(R"({"selected-by": "relay", "selector": "192.0.2.1"})"));
  EXPECT_EQ(r[3]["giaddr"], "192.0.2.1");
  EXPECT_EQ(r[4]["outcome"], "silent");
  EXPECT_EQ(r[4]["silent-text"], "the client selected another server (server-id 10.0.0.2)");

  EXPECT_EQ(call(t.table, R"({"command": "trace-stop", "arguments": {"x": 1}})").result, kError);
  EXPECT_EQ(call(t.table, R"({"command": "trace-stop"})").result, kSuccess);
  EXPECT_EQ(call(t.table, R"({"command": "trace-stop"})").result, kEmpty) << "already stopped";
  const Answer after = call(t.table, R"({"command": "trace-get"})");
  EXPECT_EQ(after.text, "5 record(s), trace stopped, full on 1 worker(s).");
  EXPECT_EQ((*after.arguments)["records"].size(), 5u) << "the records stay after a stop";
}

TEST(ApiTrace, WithoutHooksTheCommandsAreUnsupported) {
  CommandTable t;
  register_trace_commands(t, {});
  EXPECT_EQ(call(t, R"({"command": "trace-start", "arguments": {"subnet-id": 1}})").result, kUnsupported);
  EXPECT_EQ(call(t, R"({"command": "trace-get"})").result, kUnsupported);
  EXPECT_EQ(call(t, R"({"command": "trace-stop"})").result, kUnsupported);
}

}  // namespace
}  // namespace dorado::api
