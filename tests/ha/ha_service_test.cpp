// ha::Service (control/ha/service.hpp) end to end without DPDK: two services
// with real stores in temporary directories talk over 127.0.0.1 (plain TCP);
// a fake Host plays the shards (every replicate request answered "applied").
// Checks replication of live records, a resync from the journal on disk, a
// full transfer once a snapshot replaced the journal, the state machine
// reaching the normal state, and ACKs held for the partner (ack = partner).
#include "ha/service.hpp"

#include <gtest/gtest.h>
#include "../temp_dir.hpp"
#include "../shard_set.hpp"
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/config.hpp"
#include "engine/engine.hpp"
#include "store/store.hpp"

namespace dorado::ha {
namespace {

namespace fs = std::filesystem;
using engine::LeaseChange;
using engine::LeaseOp;

class TempDir : public dorado::test_support::TempDir {
 public:
  TempDir() : dorado::test_support::TempDir("dorado-ha-service-test") {}
};

// A port nobody listens on right now (bound to 0, read back, released).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

LeaseChange lease(std::uint32_t i) {
  LeaseChange c{};
  c.seq = i;
  c.op = LeaseOp::commit;
  c.htype = 1;
  c.key_len = 8;
  c.key[0] = engine::kKeyKindHw;
  c.key[1] = 1;
  c.key[2] = 0x02;
  for (int b = 0; b < 4; ++b) c.key[4 + b] = static_cast<std::uint8_t>(i >> (8 * b));
  std::memcpy(c.chaddr.b.data(), c.key.data() + 2, 6);
  c.subnet_id = 1;
  c.address = 0x0a000000u + i;
  c.start = 1'700'000'000u;
  c.expires = 2'000'000'000u;
  return c;
}

// The shards of one server: replicate requests answered "applied" on the next pump().
class FakeHost final : public Host {
 public:
  unsigned shards() const override { return 1; }
  unsigned shard_of(const LeaseChange&) const override { return 0; }
  bool submit(unsigned, const engine::AdminRequest& r) override {
    requests.push_back(r);
    return true;
  }
  void set_serve(engine::HaServe s) override { serve = s; }
  void set_partner_blocks(bool on) override { partner_blocks = on; }
  void unacked(const std::function<void(std::uint32_t)>&) override {}
  void log(const std::string& line) override { lines.push_back(line); }

  void pump(Service& svc) {
    std::vector<engine::AdminRequest> todo;
    todo.swap(requests);
    for (const auto& r : todo) {
      engine::AdminReply a;
      a.id = r.id;
      a.last = true;
      a.count = static_cast<std::uint32_t>(engine::ReplicateStatus::applied);
      ++applied;
      svc.on_admin_reply(0, a);
    }
  }
  bool logged(const std::string& part) const {
    for (const auto& l : lines)
      if (l.find(part) != std::string::npos) return true;
    return false;
  }

  std::vector<engine::AdminRequest> requests;
  std::vector<std::string> lines;
  engine::HaServe serve = engine::HaServe::none;
  bool partner_blocks = false;
  std::size_t applied = 0;
};

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// The shards of one server, real ones (engine::Shard over `config`, `n` of
// them): admin requests run at once, their replies come on the next pump();
// the records the shards emit go into the store as a worker's would.
class ShardsHost final : public Host {
 public:
  void init(const engine::CompiledConfig& c, unsigned n, store::Store* s) {
    config = &c;
    st = s;
    shard_list = test_support::make_shards(c, n);
  }
  unsigned shards() const override { return static_cast<unsigned>(shard_list.size()); }
  unsigned shard_of(const LeaseChange& c) const override { return engine::owner_shard_of(c, *config, shards()); }
  unsigned block_shard_of(const LeaseChange& c) const override {
    return engine::block_owner_of(c, *config, shards());
  }
  bool submit(unsigned shard, const engine::AdminRequest& r) override {
    ++requests[static_cast<std::size_t>(r.op)];
    std::vector<engine::AdminReply> out(engine::kMaxAdminReplies);
    const std::uint32_t n = shard_list[shard]->admin(r, now, out);
    for (std::uint32_t i = 0; i < n; ++i) replies.emplace_back(shard, out[i]);
    const auto changes = shard_list[shard]->changes();
    if (!changes.empty()) st->take(shard, std::vector<LeaseChange>(changes.begin(), changes.end()));
    shard_list[shard]->clear_changes();
    return true;
  }
  void set_serve(engine::HaServe s) override { serve = s; }
  void set_partner_blocks(bool) override {}
  void unacked(const std::function<void(std::uint32_t)>&) override {}
  void log(const std::string& line) override { lines.push_back(line); }
  void pump(Service& svc) {
    while (!replies.empty()) {
      auto [shard, r] = replies.front();
      replies.pop_front();
      svc.on_admin_reply(shard, r);
    }
  }
  const engine::CompiledConfig* config = nullptr;
  store::Store* st = nullptr;
  std::vector<std::unique_ptr<engine::Shard>> shard_list;
  std::deque<std::pair<unsigned, engine::AdminReply>> replies;
  std::map<std::size_t, unsigned> requests;   // by AdminOp
  std::vector<std::string> lines;
  engine::HaServe serve = engine::HaServe::none;
  engine::Seconds now = 1'000'000;
};

template <class H>
struct ServerT {
  TempDir dir;
  std::unique_ptr<store::Store> store;
  H host;
  std::unique_ptr<Service> service;

  void open_store(std::uint64_t snapshot_records = 4'000'000) {
    store::StoreOptions o;
    o.dir = dir.path();
    o.durability = store::Durability::async;
    o.workers = 1;
    o.segment_bytes = 4096;
    o.snapshot_records = snapshot_records;
    auto opened = store::Store::open(o);
    ASSERT_TRUE(opened.store) << opened.error;
    store = std::move(opened.store);
  }
  void start(const ServiceSettings& s) {
    auto created = Service::create(s, *store, host, now_ms());
    ASSERT_TRUE(created.service) << created.error;
    service = std::move(created.service);
  }
  void tick() {
    store->tick(now_ms() * 1000);
    host.pump(*service);
    service->tick(now_ms());
  }
};
using Server = ServerT<FakeHost>;

template <class BHost, class Base = ::testing::Test>
class PairT : public Base {
 protected:
  void SetUp() override {
    pa_ = free_port();
    pb_ = free_port();
    while (pb_ == pa_) pb_ = free_port();
  }
  ServiceSettings settings(bool primary) const {
    ServiceSettings s;
    s.this_name = primary ? "dhcp-a" : "dhcp-b";
    s.partner_name = primary ? "dhcp-b" : "dhcp-a";
    s.mode = Mode::hot_standby;
    s.role = primary ? Role::primary : Role::standby;
    s.listen = {"127.0.0.1", primary ? pa_ : pb_};
    s.partner = {"127.0.0.1", primary ? pb_ : pa_};
    s.tls.insecure = true;
    s.heartbeat_ms = 100;
    s.max_response_delay_ms = 1000;
    s.config_digest = 42;
    // ha-state in each server's own store directory (unset, it went to "/"
    // and the parallel test processes shared it: the restart test's
    // standby then read another process's applied position).
    s.state_dir = primary ? a_.dir.path() : b_.dir.path();
    return s;
  }
  // Ticks both until done() or `seconds` pass.
  bool run(const std::function<bool()>& done, double seconds = 10) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
      if (a_.service) a_.tick();
      if (b_.service) b_.tick();
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return false;
  }
  bool normal() {
    return a_.service->status(now_ms()).state == HaState::hot_standby &&
           b_.service->status(now_ms()).state == HaState::hot_standby;
  }

  std::uint16_t pa_ = 0, pb_ = 0;
  Server a_;
  ServerT<BHost> b_;
};
using Pair = PairT<FakeHost>;

TEST_F(Pair, ReplicatesLiveRecordsAndHoldsAcksForThePartner) {
  a_.open_store();
  b_.open_store();
  a_.start(settings(true));
  b_.start(settings(false));
  ASSERT_TRUE(run([&] { return normal(); })) << "states " << ha_state_name(a_.service->status(now_ms()).state)
                                             << " / " << ha_state_name(b_.service->status(now_ms()).state);
  EXPECT_EQ(a_.host.serve, engine::HaServe::all);       // the primary answers everyone
  EXPECT_EQ(b_.host.serve, engine::HaServe::buckets);   // the standby (no bucket of its own)
  std::vector<LeaseChange> batch;
  for (std::uint32_t i = 1; i <= 500; ++i) batch.push_back(lease(i));
  a_.store->take(0, batch);
  // ack = partner: worker 0's ACKs wait for the partner, whatever the local disk says.
  EXPECT_EQ(a_.service->durable_limit(0, 500), 0u);
  ASSERT_TRUE(run([&] { return b_.store->lease_count() == 500 && a_.service->durable_limit(0, 500) == 500; }));
  EXPECT_EQ(b_.host.applied, 500u);
  const ServiceStatus st = a_.service->status(now_ms());
  EXPECT_EQ(st.partner_acked_seq, a_.store->last_seq());
  EXPECT_EQ(st.counters.records_sent, 500u);
  EXPECT_EQ(b_.service->status(now_ms()).counters.records_received, 500u);
  // Records B's shards emitted while applying (marked from the partner) are
  // journaled there but not sent back.
  LeaseChange echo = lease(1);
  echo.shard = engine::kChangeFromPartner;
  b_.store->take(0, std::vector<LeaseChange>{echo});
  run([] { return false; }, 0.3);
  EXPECT_EQ(b_.service->status(now_ms()).counters.records_sent, 0u);
}

TEST_F(Pair, ARestartedStandbyCatchesUpFromTheJournalOnDisk) {
  a_.open_store();
  b_.open_store();
  a_.start(settings(true));
  b_.start(settings(false));
  ASSERT_TRUE(run([&] { return normal(); }));
  a_.store->take(0, std::vector<LeaseChange>{lease(1), lease(2)});
  ASSERT_TRUE(run([&] { return b_.store->lease_count() == 2; }));
  // B's applied position reaches 2 once both records are durable there; its
  // service writes it to ha-state when it stops (and at most once a second
  // before that).
  ASSERT_TRUE(run([&] { return b_.service->status(now_ms()).applied_seq == 2; }));
  b_.service.reset();   // B stops (its applied position is kept)
  // 300 records while B is away: the primary goes on (link down), and its
  // service is replaced too so its backlog holds none of them: they must come
  // from the segments on disk.
  a_.service.reset();
  std::vector<LeaseChange> more;
  for (std::uint32_t i = 100; i < 400; ++i) more.push_back(lease(i));
  a_.store->take(0, more);
  a_.store->tick(now_ms() * 1000 + 5'000'000);
  a_.start(settings(true));
  b_.start(settings(false));
  ASSERT_TRUE(run([&] { return normal() && b_.store->lease_count() == 302; }, 15));
  EXPECT_TRUE(b_.host.logged("in sync with dhcp-a"));
  EXPECT_FALSE(a_.host.logged("full transfer"));
  EXPECT_EQ(a_.service->status(now_ms()).counters.records_sent, 300u) << [&] {   // only the tail
    std::string t = "A:";
    for (const auto& l : a_.host.lines) t += "\n  " + l;
    t += "\nB:";
    for (const auto& l : b_.host.lines) t += "\n  " + l;
    return t;
  }();
}

TEST_F(Pair, AFullTransferWhenTheJournalIsGone) {
  a_.open_store(/*snapshot_records=*/200);
  std::uint64_t t = now_ms() * 1000;
  for (std::uint32_t round = 0; round < 7; ++round) {   // several segments (4 KiB each)
    std::vector<LeaseChange> batch;
    for (std::uint32_t i = 1; i <= 100; ++i) batch.push_back(lease(round * 100 + i));
    a_.store->take(0, batch);
    a_.store->tick(t += 2000);
  }
  // Snapshot and delete the covered segments.
  for (int i = 0; i < 20000 && a_.store->counters().segments_deleted == 0; ++i) {
    a_.store->tick(t += 2000);
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  ASSERT_GT(a_.store->counters().segments_deleted, 0u);
  b_.open_store();
  a_.start(settings(true));
  b_.start(settings(false));
  ASSERT_TRUE(run([&] { return normal() && b_.store->lease_count() == 700; }, 15))
      << b_.store->lease_count() << " leases on the standby";
  EXPECT_TRUE(a_.host.logged("sending a full transfer of 700 leases"));
  EXPECT_EQ(a_.service->status(now_ms()).counters.full_transfers_sent, 1u);
  EXPECT_EQ(b_.service->status(now_ms()).applied_seq, a_.store->last_seq());
}

TEST_F(Pair, APartnerWithAnotherConfigIsRefused) {
  a_.open_store();
  b_.open_store();
  a_.start(settings(true));
  ServiceSettings other = settings(false);
  other.config_digest = 43;
  b_.start(other);
  run([] { return false; }, 1.5);
  EXPECT_EQ(a_.service->status(now_ms()).state, HaState::partner_down);   // never heard a valid hello
  EXPECT_TRUE(a_.host.logged("config differs") || b_.host.logged("config differs"));
  EXPECT_FALSE(a_.service->status(now_ms()).connected);
}


// ---- worker counts that differ -------------------------------------------------------

// The standby runs 1, 2 or 3 workers while the primary's records come from
// its own single worker: a record whose address is in a pool block another
// shard owns than the client's is held by the block's owner (a hold record,
// AdminOp::hold) and kept as a foreign lease by the client's shard, as
// lease4-add and a restart with another worker count do; a renewal extends
// the hold; a record its client's shard refuses leaves no hold behind.
engine::CompileResult standby_config() {
  engine::EngineConfig c;
  c.server_address = 0x0a000001u;
  engine::SubnetConfig sn;
  sn.id = 1;
  sn.prefix = 0x0a000000u;   // 10.0.0.0/20: 63 blocks of pool
  sn.prefix_len = 20;
  sn.pools = {{0x0a000040u, 0x0a000ffeu}};
  sn.lease_time = 3600;
  sn.min_lease_time = 60;
  sn.max_lease_time = 86400;
  c.subnets = {sn};
  c.ha.enabled = true;
  c.ha.side = 1;
  c.ha.buckets = engine::BucketSet::range(0, 0);
  c.ha.unacked_secs = 10;
  return engine::compile(c);
}

class ShardPair : public PairT<ShardsHost, ::testing::TestWithParam<unsigned>> {};

TEST_P(ShardPair, PartnerRecordsLandInAnyWorkerCount) {
  const unsigned n = GetParam();
  const engine::CompileResult compiled = standby_config();
  ASSERT_TRUE(compiled.ok()) << compiled.error;
  const engine::CompiledConfig& cc = compiled.config;
  a_.open_store();
  b_.open_store();
  b_.host.init(cc, n, b_.store.get());
  const engine::Seconds now = b_.host.now;
  // One client per pool block of the primary's side (the primary allocates
  // only there), at the block's 10th address.
  std::vector<LeaseChange> records;
  for (std::uint32_t base = 0x0a000040u; base < 0x0a001000u; base += 64) {
    if (engine::ha_side_of_block_base(base) != 0) continue;
    LeaseChange c = lease(static_cast<std::uint32_t>(records.size()) + 1);
    c.address = base + 10;
    c.start = now - 10;
    c.expires = now + 600;
    records.push_back(c);
  }
  ASSERT_GE(records.size(), 20u);
  a_.start(settings(true));
  b_.start(settings(false));
  ASSERT_TRUE(run([&] { return normal(); }));
  a_.store->take(0, records);
  ASSERT_TRUE(run([&] {
    return b_.service->status(now_ms()).counters.records_applied == records.size() &&
           b_.service->status(now_ms()).applied_seq == a_.store->last_seq();
  })) << b_.service->status(now_ms()).counters.records_rejected << " rejected";
  // Journaled once: each of the partner's records is in the standby's
  // journal as it arrived; the shards applying it add no second copy.
  EXPECT_EQ(b_.store->counters().records, records.size());
  unsigned foreign = 0;
  const auto check = [&](const LeaseChange& c, engine::Seconds expires) {
    const unsigned client = engine::owner_shard_of(c, cc, n);
    const unsigned owner = engine::block_owner_of(c, cc, n);
    const engine::Lease* l = b_.host.shard_list[client]->find_lease(engine::stored_key(c));
    ASSERT_NE(l, nullptr) << std::hex << c.address;
    EXPECT_EQ(l->address, c.address);
    EXPECT_EQ(l->state, engine::LeaseState::active);
    EXPECT_EQ(l->expires, expires);
    EXPECT_EQ((l->flags & engine::kLeaseForeign) != 0, owner != client);
    if (owner != client) {
      const engine::Lease* h = b_.host.shard_list[owner]->lease_at_address(c.address);
      ASSERT_NE(h, nullptr) << std::hex << c.address << ": no hold on the block's owner";
      EXPECT_TRUE(h->flags & engine::kLeaseHold);
      EXPECT_EQ(h->expires, expires);
    }
  };
  for (const LeaseChange& c : records) {
    check(c, c.expires);
    if (engine::owner_shard_of(c, cc, n) != engine::block_owner_of(c, cc, n)) ++foreign;
  }
  if (n == 1) {
    EXPECT_EQ(foreign, 0u);
  } else {
    EXPECT_GT(foreign, 0u) << "no record fell outside its client's shard's blocks";
  }
  EXPECT_EQ(b_.service->status(now_ms()).counters.records_rejected, 0u);
  // Renewals: the holds follow.
  std::vector<LeaseChange> renewals = records;
  for (LeaseChange& c : renewals) {
    c.seq += static_cast<std::uint32_t>(records.size());   // the worker's next records
    c.op = engine::LeaseOp::renew;
    c.start = now - 5;
    c.expires = now + 1200;
  }
  a_.store->take(0, renewals);
  ASSERT_TRUE(run([&] { return b_.service->status(now_ms()).counters.records_applied == 2 * records.size(); }));
  for (const LeaseChange& c : renewals) check(c, c.expires);
  EXPECT_EQ(b_.store->counters().records, 2 * records.size());
  // A client whose own later lease is on the standby already (another
  // address in a block of its own shard's): the partner's older record is
  // refused on the client's shard, and a hold made for it is undone.
  unsigned undone = 0;
  for (std::uint32_t k = 0; k < 8; ++k) {
    LeaseChange c = lease(1000 + k);
    c.start = now - 100;
    c.expires = now + 600;
    const unsigned client = engine::owner_shard_of(c, cc, n);
    LeaseChange mine = c;   // the standby's own later lease, in a block its shard owns
    mine.address = 0;
    for (std::uint32_t base = 0x0a000040u; base < 0x0a001000u && mine.address == 0; base += 64) {
      mine.address = base + 20 + k;
      if (engine::block_owner_of(mine, cc, n) != client) mine.address = 0;
    }
    ASSERT_NE(mine.address, 0u);
    mine.start = now - 1;
    ASSERT_EQ(b_.host.shard_list[client]->replicate(mine, now), engine::ReplicateStatus::applied);
    b_.host.shard_list[client]->clear_changes();
    c.address = 0x0a000040u + 64 * (k + 1) + 30;   // a free address of another block
    if (engine::block_owner_of(c, cc, n) != client) ++undone;
    const std::uint64_t rejected = b_.service->status(now_ms()).counters.records_rejected;
    a_.store->take(0, std::vector<LeaseChange>{c});
    ASSERT_TRUE(run([&] { return b_.service->status(now_ms()).counters.records_rejected == rejected + 1; }));
    run([] { return false; }, 0.05);   // the unhold's turn
    EXPECT_EQ(b_.host.shard_list[engine::block_owner_of(c, cc, n)]->lease_at_address(c.address), nullptr)
        << std::hex << c.address << ": hold left behind";
  }
  if (n > 1) {
    EXPECT_GT(undone, 0u);
  }
  for (const auto& sh : b_.host.shard_list) EXPECT_EQ(sh->audit(), "");
}

INSTANTIATE_TEST_SUITE_P(Shards, ShardPair, ::testing::Values(1u, 2u, 3u));

}  // namespace
}  // namespace dorado::ha
