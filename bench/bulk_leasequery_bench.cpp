// Bulk leasequery (RFC 6926) streaming rate: leases/s the control thread's
// BulkService (control/leasequery/service.hpp) writes to a TCP requestor,
// the leases paged from real shards by the same admin messages the daemon
// sends (AdminOp::scan, 64 leases per page). In-process: the shards answer
// each page at once (no worker ring hop, no control-loop pace), and the
// requestor is a loopback socket read by this thread between ticks; so this
// is the service's own ceiling, not the daemon's end-to-end rate (which
// also waits a control-loop pass, ~0.2 ms, per page and shard).
//
//   bulk_leasequery_bench [leases=200000] [shards=2] [runs=7]
// Prints, per query kind (all; by relay-id, 1/4 of the leases), the median
// leases/s over the runs with min and max.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "leasequery/bulk.hpp"
#include "leasequery/service.hpp"

namespace {

using namespace dorado;
constexpr engine::Seconds kNow = 1'700'000'000;

class Port final : public api::ShardPort {
 public:
  Port(const engine::CompiledConfig& c, unsigned n, std::uint32_t capacity) {
    for (unsigned i = 0; i < n; ++i) {
      engine::ShardConfig sc;
      sc.identity = {i, n};
      sc.table.capacity = capacity;
      sc.table.wheel_bits = 16;
      sc.keep_relay_info = true;
      auto created = engine::Shard::create(c, sc);
      if (!created.shard) {
        std::fprintf(stderr, "shard: %s\n", created.error.c_str());
        std::exit(1);
      }
      shard_list.push_back(std::move(created.shard));
    }
  }
  unsigned shards() const override { return static_cast<unsigned>(shard_list.size()); }
  bool submit(unsigned shard, const engine::AdminRequest& r) override {
    std::vector<engine::AdminReply>& out = scratch;
    out.resize(engine::kMaxAdminReplies);
    const std::uint32_t n = shard_list[shard]->admin(r, kNow, out);
    for (std::uint32_t i = 0; i < n; ++i) queue.emplace_back(shard, out[i]);
    return true;
  }
  void pump(leasequery::BulkService& s) {
    while (!queue.empty()) {
      auto [shard, r] = queue.front();
      queue.pop_front();
      s.on_admin_reply(shard, r);
    }
  }
  std::vector<std::unique_ptr<engine::Shard>> shard_list;
  std::deque<std::pair<unsigned, engine::AdminReply>> queue;
  std::vector<engine::AdminReply> scratch;
};

std::vector<std::uint8_t> query(std::uint32_t xid, const std::string& relay_id) {
  std::vector<std::uint8_t> b(236, 0);
  b[0] = 1;
  wire::store_be32(b.data() + 4, xid);
  b.insert(b.end(), {99, 130, 83, 99, 53, 1, 14});
  if (!relay_id.empty()) {
    b.insert(b.end(), {82, static_cast<std::uint8_t>(relay_id.size() + 2), 12, static_cast<std::uint8_t>(relay_id.size())});
    b.insert(b.end(), relay_id.begin(), relay_id.end());
  }
  b.push_back(255);
  std::vector<std::uint8_t> f = {static_cast<std::uint8_t>(b.size() >> 8), static_cast<std::uint8_t>(b.size())};
  for (const std::uint8_t x : b) f.push_back(x);   // not insert: a g++ 12 -O3 -Warray-bounds false positive
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint32_t leases = argc > 1 ? static_cast<std::uint32_t>(std::atoi(argv[1])) : 200000;
  const unsigned shards = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 2;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 7;

  engine::EngineConfig ec;
  ec.server_address = 0x0a000001;
  engine::SubnetConfig s;
  s.id = 1;
  s.prefix = 0x0a000000;
  s.prefix_len = 8;
  s.pools = {{0x0a000010, 0x0a000010 + leases + 1000}};
  s.lease_time = 3600;
  s.min_lease_time = 60;
  s.max_lease_time = 86400;
  ec.subnets = {s};
  ec.leasequery_allowed = {0x7f000001};
  const engine::CompileResult cfg = engine::compile(ec);
  if (!cfg.ok()) {
    std::fprintf(stderr, "config: %s\n", cfg.error.c_str());
    return 1;
  }
  Port port(cfg.config, shards, leases / shards + leases / 4 + 1024);
  std::uint32_t restored = 0;
  for (std::uint32_t i = 0; i < leases; ++i) {
    engine::LeaseChange c{};
    c.op = engine::LeaseOp::commit;
    c.htype = 1;
    c.chaddr = wire::MacAddr{{0x02, static_cast<std::uint8_t>(i >> 24), static_cast<std::uint8_t>(i >> 16),
                              static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i), 0}};
    c.key[0] = engine::kKeyKindHw;
    c.key[1] = 1;
    std::memcpy(c.key.data() + 2, c.chaddr.b.data(), 6);
    c.key_len = 8;
    c.subnet_id = 1;
    c.address = 0x0a000010 + i;
    c.start = kNow - 100;
    c.expires = kNow + 3600;
    const std::string relay = "relay-" + std::to_string(i % 4);
    const std::string circuit = "eth0/1/" + std::to_string(i % 48);
    std::vector<std::uint8_t> rai = {1, static_cast<std::uint8_t>(circuit.size())};
    rai.insert(rai.end(), circuit.begin(), circuit.end());
    rai.insert(rai.end(), {12, static_cast<std::uint8_t>(relay.size())});
    rai.insert(rai.end(), relay.begin(), relay.end());
    engine::set_relay_info(c, rai);
    const auto st = port.shard_list[engine::owner_shard_of(c, cfg.config, shards)]->restore(c, kNow);
    restored += st == engine::RestoreStatus::restored || st == engine::RestoreStatus::foreign;
  }
  leasequery::BulkOptions o;
  o.listen_address = 0x7f000001;
  o.listen_port = 0;
  auto opened = leasequery::BulkService::open(o, port, cfg.config);
  if (!opened.service) {
    std::fprintf(stderr, "%s\n", opened.error.c_str());
    return 1;
  }
  leasequery::BulkService& svc = *opened.service;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(svc.port());
  a.sin_addr.s_addr = htonl(0x7f000001);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) return 1;
  std::printf("bulk_leasequery_bench: %u leases restored on %u shard(s), each with a 24-byte option 82\n", restored,
              shards);
  std::uint64_t ms = 0;
  for (const char* kind : {"all", "relay-id"}) {
    const bool all = std::strcmp(kind, "all") == 0;
    std::vector<double> rates;
    std::uint64_t got_leases = 0;
    for (int r = 0; r < runs; ++r) {
      const auto q = query(static_cast<std::uint32_t>(r + 1), all ? "" : "relay-1");
      const auto t0 = std::chrono::steady_clock::now();
      if (::send(fd, q.data(), q.size(), 0) != static_cast<ssize_t>(q.size())) return 1;
      leasequery::FrameReader reader;
      std::vector<std::uint8_t> m;
      std::uint64_t n = 0;
      bool done = false;
      static std::uint8_t buf[1 << 20];
      while (!done) {
        svc.tick(kNow, ++ms);
        port.pump(svc);
        pollfd p{fd, POLLIN, 0};
        while (::poll(&p, 1, 0) > 0) {
          const ssize_t k = ::recv(fd, buf, sizeof buf, 0);
          if (k <= 0) return 1;
          reader.feed({buf, static_cast<std::size_t>(k)});
          while (reader.next(m) == leasequery::FrameReader::Status::message) {
            if (m[242] == 13) ++n;
            if (m[242] == 15) done = true;
          }
        }
      }
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rates.push_back(static_cast<double>(n) / secs);
      got_leases = n;
    }
    std::sort(rates.begin(), rates.end());
    std::printf("query %-8s: %8llu leases per answer, median %.0f leases/s (min %.0f, max %.0f) over %d runs\n",
                kind, static_cast<unsigned long long>(got_leases), rates[rates.size() / 2], rates.front(),
                rates.back(), runs);
  }
  ::close(fd);
  return 0;
}
