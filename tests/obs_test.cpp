// control/obs: Prometheus text, the HTTP request parser and responses, the
// metrics server over a real loopback socket, the rate limiter and logger,
// the snapshot board and the warnings.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <future>
#include <string>
#include <thread>

#include "obs/http.hpp"
#include "obs/log.hpp"
#include "obs/prometheus.hpp"
#include "obs/snapshot.hpp"

namespace dorado::obs {
namespace {

// ---- Prometheus text ---------------------------------------------------------

TEST(Prometheus, NameRules) {
  EXPECT_TRUE(valid_metric_name("dorado_drops_total"));
  EXPECT_TRUE(valid_metric_name("a:b_c9"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_FALSE(valid_metric_name("9abc"));
  EXPECT_FALSE(valid_metric_name("a-b"));
  EXPECT_FALSE(valid_metric_name("a.b"));
  EXPECT_TRUE(valid_label_name("worker"));
  EXPECT_FALSE(valid_label_name("__reserved"));
  EXPECT_FALSE(valid_label_name("a:b"));
  EXPECT_FALSE(valid_label_name("1a"));
}

TEST(Prometheus, Escaping) {
  EXPECT_EQ(escape_label_value(R"(a"b\c)" "\n"), R"(a\"b\\c\n)");
  EXPECT_EQ(escape_help("x\\y\nz\"q"), "x\\\\y\\nz\"q");   // quotes stay in HELP
}

TEST(Prometheus, FamilyAndSamples) {
  Exposition e;
  e.family("dorado_drops_total", MetricType::counter, "Drops\nby reason");
  e.sample("dorado_drops_total", {{"worker", "0"}, {"reason", "a\"b"}}, std::uint64_t{7});
  e.sample("dorado_drops_total", {}, std::uint64_t{0});
  e.family("dorado_fsync_seconds", MetricType::gauge, "x");
  e.sample("dorado_fsync_seconds", {{"bad-label", "skipped"}, {"q", "1"}}, 0.25);
  EXPECT_EQ(e.text(),
            "# HELP dorado_drops_total Drops\\nby reason\n"
            "# TYPE dorado_drops_total counter\n"
            "dorado_drops_total{worker=\"0\",reason=\"a\\\"b\"} 7\n"
            "dorado_drops_total 0\n"
            "# HELP dorado_fsync_seconds x\n"
            "# TYPE dorado_fsync_seconds gauge\n"
            "dorado_fsync_seconds{q=\"1\"} 0.25\n");
}

Snapshot sample_snapshot() {
  Snapshot s;
  s.uptime_s = 12;
  for (unsigned w = 0; w < 2; ++w) {
    WorkerStats ws;
    ws.index = w;
    ws.lcore = w + 1;
    ws.counters = {{"rx_packets", 10 + w},       {"engine.rx_discover", 3 + w},
                   {"engine.rx_request", 2},     {"engine.tx_offer", 3},
                   {"engine.lease_commit", 2},   {"drop.not_dhcp", 1},
                   {"wire.ipv4_bad_checksum", 0}, {"engine.drop.pool_exhausted", 4 * w}};
    ws.lease_states = {0, 1, 2 + w, 0, 0, 0};
    ws.change_ring_size = 1024;
    s.workers.push_back(ws);
  }
  s.pools.push_back({"10.99.1.0/24", "10.99.1.10-10.99.1.19", 10, 7});
  s.subnets.push_back({"10.99.1.0/24", "", 10, 7});
  s.ports.push_back({0, "net_af_packet0", {{"ipackets", 20}, {"imissed", 0}}});
  s.store.present = true;
  s.store.pending_records = 5;
  s.store.fsync_ns_last = 1'500'000;
  return s;
}

TEST(Prometheus, RenderSnapshot) {
  const Snapshot s = sample_snapshot();
  const std::string t = render_metrics(s);
  auto has = [&](const std::string& line) { return t.find("\n" + line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("dorado_dhcp_packets_received_total{worker=\"0\",type=\"DISCOVER\"} 3"));
  EXPECT_TRUE(has("dorado_dhcp_packets_received_total{worker=\"1\",type=\"DISCOVER\"} 4"));
  EXPECT_TRUE(has("dorado_dhcp_packets_received_total{worker=\"1\",type=\"INFORM\"} 0"));
  EXPECT_TRUE(has("dorado_dhcp_replies_total{worker=\"0\",type=\"OFFER\"} 3"));
  EXPECT_TRUE(has("dorado_packets_received_total{worker=\"1\"} 11"));
  EXPECT_TRUE(has("dorado_drops_total{worker=\"0\",stage=\"runtime\",reason=\"not_dhcp\"} 1"));
  EXPECT_TRUE(has("dorado_drops_total{worker=\"1\",stage=\"engine\",reason=\"pool_exhausted\"} 4"));
  EXPECT_TRUE(has("dorado_drops_total{worker=\"0\",stage=\"wire\",reason=\"ipv4_bad_checksum\"} 0"));
  EXPECT_TRUE(has("dorado_engine_events_total{worker=\"0\",event=\"lease_commit\"} 2"));
  EXPECT_FALSE(has("dorado_engine_events_total{worker=\"0\",event=\"rx_discover\"} 3"));   // a packet family
  EXPECT_TRUE(has("dorado_leases{state=\"active\"} 5"));
  EXPECT_TRUE(has("dorado_leases{state=\"offered\"} 2"));
  EXPECT_FALSE(has("dorado_leases{state=\"unused\"} 0"));
  EXPECT_TRUE(has("dorado_pool_addresses{subnet=\"10.99.1.0/24\",pool=\"10.99.1.10-10.99.1.19\"} 10"));
  EXPECT_TRUE(has("dorado_pool_used_addresses{subnet=\"10.99.1.0/24\",pool=\"10.99.1.10-10.99.1.19\"} 3"));
  EXPECT_TRUE(has("dorado_pool_free_addresses{subnet=\"10.99.1.0/24\",pool=\"10.99.1.10-10.99.1.19\"} 7"));
  EXPECT_TRUE(has("dorado_subnet_addresses{subnet=\"10.99.1.0/24\"} 10"));
  EXPECT_TRUE(has("dorado_subnet_free_addresses{subnet=\"10.99.1.0/24\"} 7"));
  EXPECT_TRUE(has("dorado_journal_lag_records 5"));
  EXPECT_TRUE(has("dorado_journal_fsync_seconds{which=\"last\"} 0.0015"));
  EXPECT_TRUE(has("dorado_ring_size{worker=\"1\",ring=\"changes\"} 1024"));
  EXPECT_TRUE(has("dorado_port_received_packets_total{port=\"0\",device=\"net_af_packet0\"} 20"));
  EXPECT_TRUE(has("# TYPE dorado_drops_total counter"));
  EXPECT_TRUE(has("# TYPE dorado_leases gauge"));
  // Every family has HELP then TYPE, every counter family ends in _total,
  // every sample line belongs to the family announced last.
  std::string family;
  std::size_t pos = 0, families = 0;
  while (pos < t.size()) {
    const std::size_t nl = t.find('\n', pos);
    ASSERT_NE(nl, std::string::npos) << "text must end in a newline";
    const std::string line = t.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.starts_with("# HELP ")) {
      family = line.substr(7, line.find(' ', 7) - 7);
      ++families;
      const std::size_t tnl = t.find('\n', pos);
      const std::string type = t.substr(pos, tnl - pos);
      ASSERT_TRUE(type.starts_with("# TYPE " + family + " ")) << type;
      if (type.ends_with(" counter")) {
        EXPECT_TRUE(family.ends_with("_total")) << family;
      }
      pos = tnl + 1;
      continue;
    }
    EXPECT_TRUE(line.starts_with(family + "{") || line.starts_with(family + " ")) << line;
  }
  EXPECT_GT(families, 20u);
  // No store: no journal families.
  Snapshot off = s;
  off.store.present = false;
  EXPECT_EQ(render_metrics(off).find("dorado_journal_"), std::string::npos);
}

// ---- HTTP ----------------------------------------------------------------------

TEST(Http, ParseComplete) {
  const std::string req = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\nbody";
  const HttpRequest r = parse_request(req);
  ASSERT_EQ(r.status, ParseStatus::complete);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/metrics?x=1");
  EXPECT_EQ(r.version, "HTTP/1.1");
  EXPECT_EQ(r.head_bytes, req.size() - 4);
  EXPECT_EQ(parse_request("GET /metrics HTTP/1.0\n\n").status, ParseStatus::complete);
}

TEST(Http, ParseIncompleteBadTooLarge) {
  EXPECT_EQ(parse_request("").status, ParseStatus::incomplete);
  EXPECT_EQ(parse_request("GET /metrics HTTP/1.1\r\nHost: a\r\n").status, ParseStatus::incomplete);
  EXPECT_EQ(parse_request("GET /metrics HTTP/2.0\r\n\r\n").status, ParseStatus::bad);
  EXPECT_EQ(parse_request("GET metrics HTTP/1.1\r\n\r\n").status, ParseStatus::bad);
  EXPECT_EQ(parse_request("GET /metrics\r\n\r\n").status, ParseStatus::bad);
  EXPECT_EQ(parse_request("G(T /metrics HTTP/1.1\r\n\r\n").status, ParseStatus::bad);
  EXPECT_EQ(parse_request("GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n").status, ParseStatus::bad);
  EXPECT_EQ(parse_request("GET /metrics HTTP/1.1\r\nbad name: x\r\n\r\n").status, ParseStatus::bad);
  EXPECT_EQ(parse_request("\x16\x03\x01 garbage\r\n").status, ParseStatus::bad);   // TLS hello: no wait
  const std::string big = "GET /metrics HTTP/1.1\r\nX: " + std::string(kMaxRequest, 'a');
  EXPECT_EQ(parse_request(big).status, ParseStatus::too_large);
  EXPECT_EQ(parse_request(big + "\r\n\r\n").status, ParseStatus::too_large);
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\n\r\n", 10).status, ParseStatus::too_large);
}

TEST(Http, Responses) {
  int calls = 0;
  const auto page = [&] {
    ++calls;
    return std::string("m 1\n");
  };
  std::string r = respond(parse_request("GET /metrics HTTP/1.1\r\n\r\n"), page);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(r.find("Content-Length: 4\r\n"), std::string::npos);
  EXPECT_TRUE(r.ends_with("\r\n\r\nm 1\n"));
  r = respond(parse_request("HEAD /metrics HTTP/1.1\r\n\r\n"), page);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(r.ends_with("\r\n\r\n"));   // no body
  EXPECT_EQ(calls, 2);
  r = respond(parse_request("GET /other HTTP/1.1\r\n\r\n"), page);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 404 ")) << r;
  r = respond(parse_request("POST /metrics HTTP/1.1\r\n\r\n"), page);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 405 ")) << r;
  EXPECT_NE(r.find("Allow: GET, HEAD\r\n"), std::string::npos);
  r = respond(parse_request("nonsense\r\n\r\n"), page);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 400 ")) << r;
  r = respond(parse_request(std::string(kMaxRequest + 1, 'a')), page);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 431 ")) << r;
  EXPECT_EQ(calls, 2);
}

TEST(Http, ListenAddress) {
  ListenAddress a;
  ASSERT_TRUE(parse_listen_address("127.0.0.1:9167", a));
  EXPECT_EQ(a.ip, 0x7f000001u);
  EXPECT_EQ(a.port, 9167);
  EXPECT_FALSE(parse_listen_address("127.0.0.1", a));
  EXPECT_FALSE(parse_listen_address("127.0.0.1:0", a));
  EXPECT_FALSE(parse_listen_address("127.0.0.1:65536", a));
  EXPECT_FALSE(parse_listen_address("127.0.0:80", a));
  EXPECT_FALSE(parse_listen_address("127.0.0.01:80", a));
  EXPECT_FALSE(parse_listen_address("localhost:80", a));
}

// A request over loopback to a server on an ephemeral port.
std::string fetch(std::uint16_t port, const std::string& request, bool half_close = true) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(0x7f000001);
  sa.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return "connect failed";
  }
  std::size_t off = 0;
  while (off < request.size()) {
    const ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  if (half_close) ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

TEST(MetricsServer, ServesOverLoopback) {
  MetricsServer srv;
  const std::string big(200'000, 'x');   // larger than a socket buffer: partial sends
  ASSERT_EQ(srv.start({0x7f000001, 0}, [&] { return "dorado_up 1\n" + big; }), "");
  ASSERT_NE(srv.port(), 0);
  std::string r = fetch(srv.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK")) << r.substr(0, 100);
  EXPECT_TRUE(r.ends_with("dorado_up 1\n" + big));
  EXPECT_TRUE(fetch(srv.port(), "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
  EXPECT_TRUE(fetch(srv.port(), "BLAH\r\n\r\n").starts_with("HTTP/1.1 400"));
  EXPECT_TRUE(fetch(srv.port(), "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n")
                  .starts_with("HTTP/1.1 431"));
  // Several clients at once, one of them silent: the others are answered.
  const int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(0x7f000001);
  sa.sin_port = htons(srv.port());
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  std::vector<std::future<std::string>> clients;
  for (int i = 0; i < 4; ++i)
    clients.push_back(std::async(std::launch::async, [&] {
      return fetch(srv.port(), "GET /metrics HTTP/1.0\r\n\r\n");
    }));
  for (auto& c : clients) EXPECT_TRUE(c.get().starts_with("HTTP/1.1 200 OK"));
  ::close(idle);
  EXPECT_GE(srv.served(), 8u);
  srv.stop();
  EXPECT_EQ(fetch(srv.port(), "GET /metrics HTTP/1.1\r\n\r\n"), "connect failed");
}

TEST(MetricsServer, BindErrorNamesTheAddress) {
  MetricsServer a, b;
  ASSERT_EQ(a.start({0x7f000001, 0}, [] { return std::string(); }), "");
  const std::string e = b.start({0x7f000001, a.port()}, [] { return std::string(); });
  EXPECT_NE(e.find("127.0.0.1:" + std::to_string(a.port()) + ": bind: "), std::string::npos) << e;
}

// ---- logging -------------------------------------------------------------------

TEST(Log, Format) {
  EXPECT_EQ(Logger::format(Level::info, "store: ok", 0), "dorado: 1970-01-01T00:00:00Z store: ok\n");
  EXPECT_EQ(Logger::format(Level::warning, "pool", 86400), "dorado: 1970-01-02T00:00:00Z warning: pool\n");
  EXPECT_EQ(Logger::format(Level::error, "x", 0), "dorado: 1970-01-01T00:00:00Z error: x\n");
}

TEST(Log, LevelFilterAndOutput) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  Logger log(f, Level::warning);
  log.info("hidden");
  log.warning("shown");
  log.error("also shown");
  std::rewind(f);
  char buf[256] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const std::string text(buf, n);
  EXPECT_EQ(text.find("hidden"), std::string::npos);
  EXPECT_NE(text.find("warning: shown\n"), std::string::npos);
  EXPECT_NE(text.find("error: also shown\n"), std::string::npos);
}

TEST(RateLimiter, OncePerIntervalPerKeyWithSuppressedCount) {
  RateLimiter r(10'000'000);
  EXPECT_EQ(r.allow("a", 1'000'000), 0u);
  EXPECT_FALSE(r.allow("a", 2'000'000));
  EXPECT_FALSE(r.allow("a", 10'999'999));
  EXPECT_EQ(r.allow("b", 3'000'000), 0u);   // keys are independent
  EXPECT_EQ(r.allow("a", 11'000'000), 2u);  // two suppressed since the last
  EXPECT_FALSE(r.allow("a", 11'000'001));
  EXPECT_EQ(r.allow("a", 30'000'000), 1u);
  EXPECT_EQ(r.allow("a", 40'000'000), 0u);
  EXPECT_EQ(r.keys(), 2u);
}

TEST(RateLimiter, WarnLimitedWritesAndCounts) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  Logger log(f);
  RateLimiter r(1'000'000);
  EXPECT_TRUE(warn_limited(log, r, "k", "pool nearly full", 0));
  EXPECT_FALSE(warn_limited(log, r, "k", "pool nearly full", 10));
  EXPECT_FALSE(warn_limited(log, r, "k", "pool nearly full", 20));
  EXPECT_TRUE(warn_limited(log, r, "k", "pool nearly full", 1'000'020));
  std::rewind(f);
  char buf[512] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const std::string text(buf, n);
  EXPECT_NE(text.find("warning: pool nearly full\n"), std::string::npos);
  EXPECT_NE(text.find("warning: pool nearly full (2 more since the last report)\n"), std::string::npos);
}

// ---- board and warnings ---------------------------------------------------------

TEST(SnapshotBoard, FreshWaitsForThePublisher) {
  SnapshotBoard b;
  EXPECT_EQ(b.latest(), nullptr);
  EXPECT_FALSE(b.wanted());
  b.publish(std::make_shared<Snapshot>());
  EXPECT_EQ(b.latest()->generation, 1u);
  std::thread control([&] {
    while (!b.wanted()) std::this_thread::yield();
    b.publish(std::make_shared<Snapshot>());
  });
  const auto s = b.fresh(std::chrono::seconds(5));
  control.join();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->generation, 2u);
  EXPECT_FALSE(b.wanted());
  // Nobody publishes: fresh() gives the old one after the wait.
  EXPECT_EQ(b.fresh(std::chrono::milliseconds(10))->generation, 2u);
}

TEST(Warnings, PoolRingsJournal) {
  Snapshot s = sample_snapshot();   // pool: 3 of 10 used
  WarningThresholds t;
  t.pool_percent = 30;
  auto w = check_warnings(s, nullptr, t);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].key, "pool 10.99.1.0/24 10.99.1.10-10.99.1.19");
  EXPECT_NE(w[0].text.find("pool nearly full: subnet 10.99.1.0/24 pool 10.99.1.10-10.99.1.19: 3 of 10 addresses used (30%"),
            std::string::npos)
      << w[0].text;
  t.pool_percent = 31;
  EXPECT_TRUE(check_warnings(s, nullptr, t).empty());
  t.pool_percent = 0;   // off
  s.pools[0].free = 0;
  EXPECT_TRUE(check_warnings(s, nullptr, t).empty());

  // Ring drops grow between two snapshots; a ring 95% full; journal lag.
  Snapshot before = sample_snapshot();
  Snapshot now = sample_snapshot();
  now.workers[1].counters.push_back({"drop.handoff_full", 12});
  now.workers[0].change_ring_used = 1000;
  now.store.commit_records = 5;
  now.store.fsync_ns_last = 250'000'000;
  w = check_warnings(now, &before, t);
  std::string all;
  for (const auto& x : w) all += x.key + " | " + x.text + "\n";
  EXPECT_NE(all.find("worker 1 drop.handoff_full | worker 1: 12 packets dropped: handoff ring"), std::string::npos) << all;
  EXPECT_NE(all.find("worker 0 ring changes | worker 0: lease change ring 98% full"), std::string::npos) << all;
  EXPECT_NE(all.find("journal lag | journal lag: 5 records"), std::string::npos) << all;
  EXPECT_NE(all.find("journal fsync | journal: last fdatasync took 250 ms"), std::string::npos) << all;
  EXPECT_EQ(w.size(), 4u) << all;
}

}  // namespace
}  // namespace dorado::obs
