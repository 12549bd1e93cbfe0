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
#include <set>
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
      if (r.op == engine::AdminOp::replicate_batch) {   // each record "applied"
        for (std::uint32_t i = 0; i < r.limit; ++i) r.status[i] = static_cast<std::uint8_t>(engine::ReplicateStatus::applied);
        a.count = r.limit;
        applied += r.limit;
        ++batches;
      } else {
        ++applied;
      }
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
  std::size_t batches = 0;   // replicate_batch requests
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
    if (stalled.count(shard) != 0) {   // a slow shard: its ring holds the request
      held_back.emplace_back(shard, r);
      return true;
    }
    run_request(shard, r);
    return true;
  }
  // A slow shard catches up: what its ring held runs, in order.
  void unstall(unsigned shard) {
    stalled.erase(shard);
    std::deque<std::pair<unsigned, engine::AdminRequest>> rest;
    for (const auto& [w, r] : held_back) {
      if (w == shard) run_request(w, r);
      else rest.emplace_back(w, r);
    }
    held_back.swap(rest);
  }
  void run_request(unsigned shard, const engine::AdminRequest& r) {
    ++requests[static_cast<std::size_t>(r.op)];
    std::vector<engine::AdminReply> out(engine::kMaxAdminReplies);
    const std::uint32_t n = shard_list[shard]->admin(r, now, out);
    for (std::uint32_t i = 0; i < n; ++i) replies.emplace_back(shard, out[i]);
    const auto changes = shard_list[shard]->changes();
    if (!changes.empty()) st->take(shard, std::vector<LeaseChange>(changes.begin(), changes.end()));
    shard_list[shard]->clear_changes();
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
  std::set<unsigned> stalled;
  std::deque<std::pair<unsigned, engine::AdminRequest>> held_back;
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
  // Many records a request (AdminOp::replicate_batch), not one each.
  EXPECT_GE(b_.host.batches, 500u / engine::kMaxAdminBatch);
  EXPECT_LT(b_.host.batches, 100u);
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

// ---- worker counts: the stream's order, moves, conflicts --------------------------

class ShardStream : public ShardPair {
 protected:
  void start_pair(unsigned n) {
    compiled_ = standby_config();
    ASSERT_TRUE(compiled_.ok()) << compiled_.error;
    n_ = n;
    a_.open_store();
    b_.open_store();
    b_.host.init(compiled_.config, n, b_.store.get());
    now_ = b_.host.now;
    a_.start(settings(true));
    b_.start(settings(false));
    ASSERT_TRUE(run([&] { return normal(); }));
  }
  unsigned client_shard(const LeaseChange& c) const { return engine::owner_shard_of(c, compiled_.config, n_); }
  unsigned owner_shard(const LeaseChange& c) const { return engine::block_owner_of(c, compiled_.config, n_); }
  // A new client and a free address of the primary's side (at `address`
  // when given) whose client shard and block owner satisfy `fits`.
  LeaseChange pick(const std::function<bool(unsigned client, unsigned owner)>& fits, std::uint32_t address = 0) {
    for (;;) {
      LeaseChange c = lease(next_client_++);
      c.start = now_ - 10;
      c.expires = now_ + 600;
      for (std::uint32_t base = 0x0a000040u; base < 0x0a001000u; base += 64) {
        if (engine::ha_side_of_block_base(base) != 0) continue;
        for (std::uint32_t off = 2; off < 62; ++off) {
          c.address = address != 0 ? address : base + off;
          if ((address != 0 || used_.count(c.address) == 0) && fits(client_shard(c), owner_shard(c))) {
            used_.insert(c.address);
            return c;
          }
          if (address != 0) break;
        }
        if (address != 0) break;
      }
    }
  }
  // Another address for client `c` whose block owner satisfies `fits`.
  LeaseChange moved(const LeaseChange& c, const std::function<bool(unsigned owner)>& fits) {
    LeaseChange m = c;
    for (std::uint32_t base = 0x0a000040u; base < 0x0a001000u; base += 64) {
      if (engine::ha_side_of_block_base(base) != 0) continue;
      for (std::uint32_t off = 2; off < 62; ++off) {
        m.address = base + off;
        if (used_.count(m.address) == 0 && fits(owner_shard(m))) {
          used_.insert(m.address);
          return m;
        }
      }
    }
    ADD_FAILURE() << "no address fits";
    return m;
  }
  ServiceCounters b_counters() { return b_.service->status(now_ms()).counters; }
  const engine::Lease* client_lease(const LeaseChange& c) {
    return b_.host.shard_list[client_shard(c)]->find_lease(engine::stored_key(c));
  }
  const engine::Lease* on_owner(std::uint32_t address) {
    LeaseChange at{};
    at.address = address;
    return b_.host.shard_list[owner_shard(at)]->lease_at_address(address);
  }
  std::uint32_t next_seq() { return ++seq_; }

  engine::CompileResult compiled_;
  unsigned n_ = 1;
  engine::Seconds now_ = 0;
  std::uint32_t next_client_ = 1;
  std::uint32_t seq_ = 0;
  std::set<std::uint32_t> used_;
};

// A record whose hold waits on a slow shard holds up only the later records
// of its client or its address: the others are applied meanwhile (the
// service used to apply nothing after it until the hold was answered).
TEST_P(ShardStream, ASlowShardHoldsUpOnlyItsOwnRecords) {
  const unsigned n = GetParam();
  start_pair(n);
  const unsigned slow = n - 1;
  LeaseChange first = pick([&](unsigned client, unsigned owner) { return owner == slow && client != slow; });
  first.seq = next_seq();
  std::vector<LeaseChange> records{first};
  for (int i = 0; i < 20; ++i) {
    LeaseChange c = pick([&](unsigned client, unsigned owner) { return client != slow && owner == client; });
    c.seq = next_seq();
    records.push_back(c);
  }
  LeaseChange renewal = first;   // the held record's client again: after it
  renewal.seq = next_seq();
  renewal.op = LeaseOp::renew;
  renewal.start = now_ - 5;
  renewal.expires = now_ + 1200;
  records.push_back(renewal);
  b_.host.stalled.insert(slow);
  a_.store->take(0, records);
  ASSERT_TRUE(run([&] { return b_counters().records_applied == 20; }))
      << b_counters().records_applied << " applied while one shard is slow";
  run([] { return false; }, 0.2);
  EXPECT_EQ(b_counters().records_applied, 20u);   // not the held one, nor its client's renewal
  EXPECT_EQ(client_lease(first), nullptr);
  b_.host.unstall(slow);
  ASSERT_TRUE(run([&] {
    return b_counters().records_applied == records.size() && b_.service->status(now_ms()).applied_seq == a_.store->last_seq();
  })) << b_counters().records_applied << " applied, " << b_counters().records_rejected << " rejected";
  const engine::Lease* l = client_lease(first);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->expires, renewal.expires);   // the renewal came after the commit
  EXPECT_TRUE(l->flags & engine::kLeaseForeign);
  const engine::Lease* h = on_owner(first.address);
  ASSERT_NE(h, nullptr);
  EXPECT_TRUE(h->flags & engine::kLeaseHold);
  EXPECT_EQ(h->expires, renewal.expires);
  for (const auto& sh : b_.host.shard_list) EXPECT_EQ(sh->audit(), "");
}

// A client kept as a foreign lease that moves to another address (or
// releases it) leaves no hold behind: the address's owner may give it to
// the next client at once (the hold used to stay until the old lease's end,
// and the next client's record was refused).
TEST_P(ShardStream, AClientThatMovesLeavesNoHoldBehind) {
  const unsigned n = GetParam();
  start_pair(n);
  LeaseChange c = pick([](unsigned client, unsigned owner) { return owner != client; });
  c.seq = next_seq();
  a_.store->take(0, std::vector<LeaseChange>{c});
  ASSERT_TRUE(run([&] { return b_counters().records_applied == 1; }));
  ASSERT_NE(on_owner(c.address), nullptr);
  // The client renews into another address (here one of its own shard's blocks).
  const unsigned cs = client_shard(c);
  LeaseChange m = moved(c, [&](unsigned owner) { return owner == cs; });
  m.seq = next_seq();
  m.op = LeaseOp::commit;
  m.start = now_ - 5;
  a_.store->take(0, std::vector<LeaseChange>{m});
  ASSERT_TRUE(run([&] { return b_counters().records_applied == 2; }));
  run([] { return false; }, 0.05);   // the unhold's turn
  EXPECT_EQ(on_owner(c.address), nullptr) << "hold left on the old address";
  ASSERT_NE(client_lease(c), nullptr);
  EXPECT_EQ(client_lease(c)->address, m.address);
  EXPECT_FALSE(client_lease(c)->flags & engine::kLeaseForeign);
  // The old address goes to a client of its owner's shard: applied.
  LeaseChange d = pick([&](unsigned client, unsigned owner) { return client == owner; }, c.address);
  d.seq = next_seq();
  d.start = now_ - 4;
  a_.store->take(0, std::vector<LeaseChange>{d});
  ASSERT_TRUE(run([&] { return b_counters().records_applied + b_counters().records_rejected == 3; }));
  EXPECT_EQ(b_counters().records_rejected, 0u);
  ASSERT_NE(client_lease(d), nullptr);
  EXPECT_EQ(client_lease(d)->address, c.address);
  // A foreign client that releases its address: the hold goes too.
  LeaseChange e = pick([](unsigned client, unsigned owner) { return owner != client; });
  e.seq = next_seq();
  a_.store->take(0, std::vector<LeaseChange>{e});
  ASSERT_TRUE(run([&] { return b_counters().records_applied == 4; }));
  ASSERT_NE(on_owner(e.address), nullptr);
  LeaseChange rel = e;
  rel.seq = next_seq();
  rel.op = LeaseOp::release;
  rel.start = now_ - 3;
  rel.expires = now_ - 3;
  a_.store->take(0, std::vector<LeaseChange>{rel});
  ASSERT_TRUE(run([&] { return b_counters().records_applied == 5; }));
  run([] { return false; }, 0.05);
  EXPECT_EQ(on_owner(e.address), nullptr) << "hold left after a release";
  for (const auto& sh : b_.host.shard_list) EXPECT_EQ(sh->audit(), "");
}

// The address's owner has another client's lease on it: the later client
// transaction wins (the owner's client loses its lease, counted; the
// partner's record used to be refused whatever the times), an earlier one
// loses (refused, counted, the owner's client keeps the address).
TEST_P(ShardStream, OnTheAddressOwnerTheLaterTransactionWins) {
  const unsigned n = GetParam();
  start_pair(n);
  const auto own_lease = [&](engine::Seconds start) {   // a lease of the owner's own client
    LeaseChange o = pick([](unsigned client, unsigned owner) { return client == owner; });
    o.start = start;
    const unsigned w = client_shard(o);
    EXPECT_EQ(b_.host.shard_list[w]->replicate(o, now_), engine::ReplicateStatus::applied);
    b_.host.shard_list[w]->clear_changes();
    return o;
  };
  const LeaseChange older = own_lease(now_ - 50);
  LeaseChange later = pick([&](unsigned client, unsigned owner) { return client != owner; }, older.address);
  later.seq = next_seq();
  later.start = now_ - 10;
  a_.store->take(0, std::vector<LeaseChange>{later});
  ASSERT_TRUE(run([&] { return b_counters().records_applied + b_counters().records_rejected == 1; }));
  EXPECT_EQ(b_counters().records_applied, 1u) << "the partner's later lease was refused";
  EXPECT_EQ(b_counters().conflicts_won, 1u);
  EXPECT_EQ(client_lease(older), nullptr) << "the owner's earlier client kept the address";
  ASSERT_NE(client_lease(later), nullptr);
  EXPECT_EQ(client_lease(later)->address, older.address);
  EXPECT_TRUE(client_lease(later)->flags & engine::kLeaseForeign);
  ASSERT_NE(on_owner(older.address), nullptr);
  EXPECT_TRUE(on_owner(older.address)->flags & engine::kLeaseHold);

  const LeaseChange newer = own_lease(now_ - 5);
  LeaseChange earlier = pick([&](unsigned client, unsigned owner) { return client != owner; }, newer.address);
  earlier.seq = next_seq();
  earlier.start = now_ - 20;
  a_.store->take(0, std::vector<LeaseChange>{earlier});
  ASSERT_TRUE(run([&] { return b_counters().records_applied + b_counters().records_rejected == 2; }));
  EXPECT_EQ(b_counters().records_rejected, 1u);
  ASSERT_NE(client_lease(newer), nullptr);
  EXPECT_EQ(client_lease(newer)->address, newer.address);
  EXPECT_EQ(client_lease(newer)->state, engine::LeaseState::active);
  EXPECT_EQ(client_lease(earlier), nullptr);
  for (const auto& sh : b_.host.shard_list) EXPECT_EQ(sh->audit(), "");
}

// A foreign lease (its address held by the block's owner) and the partner's
// later lease of that address for another client: on the owner's own
// client, or (three workers) on a third worker's client, the later one
// wins and the foreign loser goes from its worker (it used to be kept
// there beside the winner, or the winner was refused).
TEST_P(ShardStream, AForeignLeaseLosesToALaterLeaseOnAnyWorker) {
  const unsigned n = GetParam();
  start_pair(n);
  std::uint64_t records = 0;
  const auto send = [&](LeaseChange c) {
    c.seq = next_seq();
    a_.store->take(0, std::vector<LeaseChange>{c});
    ++records;
    return run([&] { return b_counters().records_applied + b_counters().records_rejected == records; });
  };
  LeaseChange held = pick([](unsigned client, unsigned owner) { return client != owner; });
  held.start = now_ - 50;
  ASSERT_TRUE(send(held));
  ASSERT_NE(client_lease(held), nullptr);
  // The owner's own client, later.
  LeaseChange mine = pick([](unsigned client, unsigned owner) { return client == owner; }, held.address);
  mine.start = now_ - 20;
  ASSERT_TRUE(send(mine));
  run([] { return false; }, 0.05);   // the loser's drop
  EXPECT_EQ(b_counters().records_rejected, 0u);
  EXPECT_EQ(client_lease(held), nullptr) << "the earlier foreign lease stayed beside the later one";
  ASSERT_NE(client_lease(mine), nullptr);
  EXPECT_EQ(client_lease(mine)->address, held.address);
  if (n >= 3) {
    // A foreign lease on one worker, then a later one of another worker's client.
    LeaseChange first = pick([](unsigned client, unsigned owner) { return client != owner; });
    first.start = now_ - 50;
    ASSERT_TRUE(send(first));
    LeaseChange second = pick([&](unsigned client, unsigned owner) {
      return client != owner && client != client_shard(first);
    }, first.address);
    second.start = now_ - 20;
    ASSERT_TRUE(send(second));
    run([] { return false; }, 0.05);
    EXPECT_EQ(b_counters().records_rejected, 0u);
    EXPECT_EQ(client_lease(first), nullptr) << "two workers lease one address";
    ASSERT_NE(client_lease(second), nullptr);
    EXPECT_TRUE(client_lease(second)->flags & engine::kLeaseForeign);
    ASSERT_NE(on_owner(first.address), nullptr);
    EXPECT_EQ(on_owner(first.address)->expires, second.expires);
  }
  EXPECT_GE(b_counters().conflicts_won, n >= 3 ? 2u : 1u);
  for (const auto& sh : b_.host.shard_list) EXPECT_EQ(sh->audit(), "");
}

INSTANTIATE_TEST_SUITE_P(Shards, ShardStream, ::testing::Values(2u, 3u));


}  // namespace
}  // namespace dorado::ha
