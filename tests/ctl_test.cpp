// doradoctl: argument parsing, request text, the human form of answers,
// exit codes; and the binary against a real api::Server served from this
// test's thread (exit 0, 1 and 2, a stuck client not blocking others).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include "api/server.hpp"
#include "ctl/ctl.hpp"

namespace dorado::ctl {
namespace {

CliResult parse(std::vector<std::string> v) { return parse_cli(v); }

TEST(CtlCli, OptionsCommandAndTypedArguments) {
  const CliResult r = parse({"-s", "/tmp/s.sock", "--json", "lease4-get-page", "from=start", "limit=10",
                             "remove=true", "hw-address=02:00:00:00:00:01", "raw:=\"123\"", "list:=[1,2]"});
  ASSERT_TRUE(r.cli) << r.error;
  const Cli& c = *r.cli;
  EXPECT_EQ(c.socket, "/tmp/s.sock");
  EXPECT_TRUE(c.json);
  EXPECT_EQ(c.command, "lease4-get-page");
  EXPECT_EQ(c.arguments["from"], "start");
  EXPECT_EQ(c.arguments["limit"], 10);
  EXPECT_EQ(c.arguments["remove"], true);
  EXPECT_EQ(c.arguments["hw-address"], "02:00:00:00:00:01");
  EXPECT_EQ(c.arguments["raw"], "123");
  EXPECT_EQ(c.arguments["list"], Json::parse("[1,2]"));
  EXPECT_EQ(Json::parse(request_text(c))["arguments"]["limit"], 10);
  const CliResult plain = parse({"version-get"});
  ASSERT_TRUE(plain.cli);
  EXPECT_EQ(plain.cli->socket, kDefaultSocket);
  EXPECT_EQ(request_text(*plain.cli), R"({"command":"version-get"})");
  EXPECT_TRUE(parse({"--help"}).cli->help);
}

TEST(CtlCli, BadUsageIsExplained) {
  EXPECT_NE(parse({}).error.find("no command"), std::string::npos);
  EXPECT_NE(parse({"-s"}).error.find("-s needs a value"), std::string::npos);
  EXPECT_NE(parse({"--bogus", "x"}).error.find("unknown option --bogus"), std::string::npos);
  EXPECT_NE(parse({"lease4-get", "ip-address"}).error.find("not key=value"), std::string::npos);
  EXPECT_NE(parse({"lease4-get", "=x"}).error.find("not key=value"), std::string::npos);
  EXPECT_NE(parse({"lease4-get", "a:={"}).error.find("not JSON"), std::string::npos);
  EXPECT_NE(parse({"-t", "0", "x"}).error.find("--timeout"), std::string::npos);
}

TEST(CtlFormat, LeasesTableStatisticsAndErrors) {
  const Json leases = Json::parse(R"({"result": 0, "text": "2 IPv4 lease(s) found.", "arguments": {"leases": [
      {"ip-address": "10.99.1.10", "hw-address": "02:00:00:00:00:01", "subnet-id": 1, "dorado-state": "active",
       "cltt": 100, "valid-lft": 600, "expire": 700, "hostname": "a"},
      {"ip-address": "10.99.1.11", "hw-address": "02:00:00:00:00:02", "client-id": "01:02", "subnet-id": 1,
       "dorado-state": "expired", "cltt": 100, "valid-lft": 600, "expire": 700, "hostname": ""}]}})");
  const std::string t = format_answer(leases);
  EXPECT_NE(t.find("2 IPv4 lease(s) found.\nADDRESS"), std::string::npos) << t;
  EXPECT_NE(t.find("10.99.1.10  02:00:00:00:00:01"), std::string::npos) << t;
  EXPECT_NE(t.find("01:02"), std::string::npos);
  EXPECT_EQ(exit_code(leases), kExitOk);
  const Json stats = Json::parse(R"({"result": 0, "text": "2 statistics.", "arguments": {
      "pkt4-ack-sent": [[5, "2026-01-01 00:00:00.000000"]], "x": [[17, "t"]]}})");
  EXPECT_EQ(format_answer(stats), "2 statistics.\npkt4-ack-sent  5\nx              17\n");
  const Json err = Json::parse(R"({"result": 3, "text": "Lease not found."})");
  EXPECT_EQ(format_answer(err), "error (result 3): Lease not found.\n");
  EXPECT_EQ(exit_code(err), kExitAnswer);
  EXPECT_EQ(exit_code(Json::parse(R"({"result": 1, "text": "x"})")), kExitAnswer);
}

// trace-get's records as one line each: what came in, the subnet and how it
// was chosen, what was decided and where the reply goes.
TEST(CtlFormat, TraceRecordsAsLines) {
  const Json a = Json::parse(R"json({"result": 0, "text": "4 record(s), trace on.", "arguments": {
      "active": true, "filter": {"hw-address": "02:00:00:00:00:01", "count": 100}, "full": [], "waiting": [1],
      "records": [
        {"worker": 0, "time": "2026-12-06 10:00:00.000042", "type": "DISCOVER", "xid": "0x00000abc",
         "hw-address": "02:00:00:00:00:01", "client-id": "01:02:00:00:00:00:01",
         "subnet": {"id": 1, "prefix": "10.99.0.0/16", "selected-by": "interface", "selector": "10.99.0.1"},
         "outcome": "OFFER", "address": "10.99.1.10", "pool": "10.99.1.0-10.99.1.255", "lease-time": 600,
         "reply-to": {"ip": "255.255.255.255", "port": 68, "broadcast": true, "mac": "ff:ff:ff:ff:ff:ff"}},
        {"worker": 0, "time": "2026-12-06 10:00:01.000000", "type": "REQUEST", "xid": "0x00000abc",
         "hw-address": "02:00:00:00:00:01", "requested-address": "11.0.0.1",
         "subnet": {"id": 1, "prefix": "10.99.0.0/16", "selected-by": "interface", "selector": "10.99.0.1"},
         "outcome": "NAK", "nak-reason": "not_in_subnet", "nak-text": "not here",
         "reply-to": {"ip": "255.255.255.255", "port": 68, "broadcast": true, "mac": "ff:ff:ff:ff:ff:ff"}},
        {"worker": 1, "time": "2026-12-06 10:00:02.000000", "type": "DISCOVER", "xid": "0x00000001",
         "hw-address": "02:00:00:00:00:02", "giaddr": "192.0.2.1",
         "subnet": {"selected-by": "relay", "selector": "192.0.2.1"},
         "outcome": "drop", "drop-reason": "no_subnet", "drop-text": "no subnet"},
        {"worker": 1, "time": "2026-12-06 10:00:03.000000", "type": "REQUEST", "xid": "0x00000002",
         "hw-address": "02:00:00:00:00:02", "server-id": "10.0.0.2",
         "subnet": {"id": 1, "prefix": "10.99.0.0/16", "selected-by": "interface", "selector": "10.99.0.1"},
         "outcome": "silent", "silent-text": "the client selected another server (server-id 10.0.0.2)"}]}})json");
  EXPECT_EQ(format_answer(a),
            "4 record(s), trace on.\n"
            "2026-12-06 10:00:00.000042 w0 DISCOVER xid 0x00000abc hw 02:00:00:00:00:01 id 01:02:00:00:00:00:01: "
            "subnet 1 10.99.0.0/16 (interface 10.99.0.1) -> OFFER 10.99.1.10 (pool 10.99.1.0-10.99.1.255, 600 s) "
            "to 255.255.255.255:68 ff:ff:ff:ff:ff:ff broadcast\n"
            "2026-12-06 10:00:01.000000 w0 REQUEST xid 0x00000abc hw 02:00:00:00:00:01 requested 11.0.0.1: "
            "subnet 1 10.99.0.0/16 (interface 10.99.0.1) -> NAK not_in_subnet (not here) "
            "to 255.255.255.255:68 ff:ff:ff:ff:ff:ff broadcast\n"
            "2026-12-06 10:00:02.000000 w1 DISCOVER xid 0x00000001 hw 02:00:00:00:00:02 giaddr 192.0.2.1: "
            "subnet none (relay 192.0.2.1) -> drop no_subnet (no subnet)\n"
            "2026-12-06 10:00:03.000000 w1 REQUEST xid 0x00000002 hw 02:00:00:00:00:02 server-id 10.0.0.2: "
            "subnet 1 10.99.0.0/16 (interface 10.99.0.1) -> silent (the client selected another server "
            "(server-id 10.0.0.2))\n"
            "(workers [1] have not taken the last trace-start or trace-stop yet)\n");
}

// ---- the binary ------------------------------------------------------------------

struct CtlRun {
  int status;
  std::string out;
};

CtlRun run_ctl(const std::string& args) {
  const std::string cmd = std::string(DORADOCTL_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  CtlRun r{-1, ""};
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

TEST(CtlBinary, NoServerIsExit2WithAClearMessage) {
  const CtlRun r = run_ctl("-s /nonexistent/dorado.sock version-get");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("cannot reach dorado at /nonexistent/dorado.sock"), std::string::npos) << r.out;
  const CtlRun u = run_ctl("");
  EXPECT_EQ(u.status, 2);
  const CtlRun h = run_ctl("--help");
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("lease4-get-by-hw-address"), std::string::npos);
  EXPECT_NE(h.out.find("shutdown"), std::string::npos);
}

class CtlServer : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("ctl_test." + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    path = (dir / "api.sock").string();
    table.add("ping", "pong", [](const api::Request&, api::Reply done) { done(api::success("pong")); });
    table.add("fail", "error", [](const api::Request&, api::Reply done) { done(api::error_answer("no")); });
    table.add("later", "answers on the next poll", [this](const api::Request&, api::Reply done) {
      deferred = std::move(done);
    });
    api::ServerOptions o;
    o.path = path;
    o.timeout_ms = 2000;
    o.max_connections = 4;
    auto opened = api::Server::open(o, table);
    ASSERT_TRUE(opened.server) << opened.error;
    server = std::move(opened.server);
  }
  void TearDown() override {
    server.reset();
    std::filesystem::remove_all(dir);
  }
  // Runs doradoctl in a thread while this thread serves.
  CtlRun serve_while(const std::string& args) {
    auto f = std::async(std::launch::async, [&] { return run_ctl("-s " + path + " " + args); });
    const auto t0 = std::chrono::steady_clock::now();
    while (f.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
      if (deferred) {
        auto d = std::move(deferred);
        deferred = nullptr;
        d(api::success("late"));
      }
      server->poll(static_cast<std::uint64_t>(ms) + 1000);
    }
    return f.get();
  }
  std::filesystem::path dir;
  std::string path;
  api::CommandTable table;
  std::unique_ptr<api::Server> server;
  api::Reply deferred;
};

TEST_F(CtlServer, ExitCodesFollowTheAnswer) {
  CtlRun r = serve_while("ping");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "pong\n");
  r = serve_while("--json ping");
  EXPECT_EQ(Json::parse(r.out)["text"], "pong");
  r = serve_while("fail");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "error (result 1): no\n");
  r = serve_while("nope");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("result 2"), std::string::npos);
  r = serve_while("later");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "late\n");
  EXPECT_EQ(server->counters().requests, 5u);
}

TEST_F(CtlServer, AStuckClientBlocksNobodyAndIsTimedOut) {
  // Connects and sends half a request, then nothing.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::send(fd, "{\"command\":", 11, 0), 11);
  server->poll(1000);
  const CtlRun r = serve_while("ping");   // served while the other waits
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(server->open_connections(), 1u);
  server->poll(1000 + 2000);   // its deadline: an error answer, then closed
  char buf[512] = {};
  const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
  ASSERT_GT(n, 0);
  EXPECT_NE(std::string(buf).find("timeout"), std::string::npos) << buf;
  ::close(fd);
  EXPECT_EQ(server->counters().timeouts, 1u);
}

TEST_F(CtlServer, ASecondServerOnTheSameSocketIsRefusedAndTheModeIs0600) {
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  api::ServerOptions o;
  o.path = path;
  const auto second = api::Server::open(o, table);
  EXPECT_FALSE(second.server);
  EXPECT_NE(second.error.find("another server is listening"), std::string::npos);
}

}  // namespace
}  // namespace dorado::ctl
