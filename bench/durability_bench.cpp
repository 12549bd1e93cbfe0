// The durability pipeline without the NIC: one worker thread runs DORAs of
// existing clients (DISCOVER + REQUEST = one renew record each) through an
// engine Shard holding 2^20 leases, pushes the change records over an SPSC
// ring to a control thread that feeds control/store (group commit), and holds
// every ACK until the control thread publishes its record as durable, exactly
// as the runtime does (fsync mode). Reports completed DORA/s, records and
// journal MB/s, and how long ACKs waited (p50/p99/p99.9).
//
//   durability_bench [--mode off|async|fsync] [--dir DIR] [--seconds S] [--json]
//
// --dir: where the journal goes (default /tmp). /dev/shm is tmpfs (fsync is
// nearly free), /var/tmp the machine's disk. On 2 cores the two threads have
// a core each; nothing else should run.
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "bench/dora_fixture.hpp"
#include "runtime/histogram.hpp"
#include "store/store.hpp"

namespace {

using namespace dorado;
using namespace dorado::engine;
using namespace dorado::bench;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kClients = 1u << 20;
constexpr std::uint32_t kBurst = 32;
constexpr std::uint32_t kRing = 1u << 16;   // records, as the runtime's change ring
constexpr Seconds kNow = 1'700'000'000;

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

// Single-producer single-consumer ring of change records.
struct ChangeRing {
  std::vector<LeaseChange> slots = std::vector<LeaseChange>(kRing);
  alignas(64) std::atomic<std::uint64_t> head{0};   // consumer: rw, producer: ro
  alignas(64) std::atomic<std::uint64_t> tail{0};   // producer: rw, consumer: ro

  bool push(std::span<const LeaseChange> c) {
    const std::uint64_t t = tail.load(std::memory_order_relaxed);
    if (t + c.size() - head.load(std::memory_order_acquire) > kRing) return false;
    for (std::size_t i = 0; i < c.size(); ++i) slots[(t + i) % kRing] = c[i];
    tail.store(t + c.size(), std::memory_order_release);
    return true;
  }
  template <class F>
  std::size_t drain(F&& f) {
    const std::uint64_t h = head.load(std::memory_order_relaxed);
    const std::uint64_t t = tail.load(std::memory_order_acquire);
    std::uint64_t i = h;
    while (i < t) {   // contiguous pieces
      const std::uint64_t end = std::min(t, i + (kRing - i % kRing));
      f(std::span<const LeaseChange>(&slots[i % kRing], end - i));
      i = end;
    }
    head.store(t, std::memory_order_release);
    return t - h;
  }
};

struct Options {
  std::string mode = "fsync";
  std::string dir = "/tmp";
  double seconds = 5;
  bool json = false;
};

struct World {
  CompileResult compiled;
  std::unique_ptr<Shard> shard;
  std::vector<std::unique_ptr<RequestSlot>> discovers, requests;

  bool init() {
    EngineConfig cfg;
    cfg.server_address = kServer;
    cfg.subnets = {bench_subnet()};
    compiled = compile(cfg);
    if (!compiled.ok()) return false;
    ShardConfig sizes;
    sizes.table.capacity = kClients * 2;
    sizes.table.hostname_capacity = kClients;
    sizes.table.long_key_capacity = 16;
    sizes.change_log_capacity = 1024;
    auto c = Shard::create(compiled.config, sizes);
    if (!c.shard) return false;
    shard = std::move(c.shard);
    for (std::uint32_t i = 0; i < kBurst; ++i) {
      discovers.push_back(make_slot(MessageType::discover));
      requests.push_back(make_slot(MessageType::request));
      if (!discovers.back() || !requests.back()) return false;
    }
    return true;
  }

  // DORA for clients ids[0..n): returns the number of ACKs (each with a
  // record: a commit for a new client, a renew after that).
  std::uint32_t dora(const std::uint32_t* ids, std::uint32_t n, Seconds now) {
    std::array<Shard::Request, kBurst> reqs;
    std::array<Ipv4, kBurst> offered{};
    for (std::uint32_t i = 0; i < n; ++i) {
      discovers[i]->set_client(ids[i]);
      reqs[i] = {&discovers[i]->msg, &discovers[i]->rx};
    }
    auto b = shard->handle_burst({reqs.data(), n}, now);
    for (std::uint32_t i = 0; i < n; ++i) {
      offered[i] = b.decisions[i].yiaddr;
      requests[i]->set_client(ids[i]);
      requests[i]->set_requested(offered[i]);
      reqs[i] = {&requests[i]->msg, &requests[i]->rx};
    }
    b = shard->handle_burst({reqs.data(), n}, now);
    std::uint32_t acks = 0;
    for (std::uint32_t i = 0; i < n; ++i)
      acks += b.decisions[i].verdict == Verdict::reply && b.decisions[i].type == MessageType::ack;
    return acks;
  }
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--mode") o.mode = next();
    else if (a == "--dir") o.dir = next();
    else if (a == "--seconds") o.seconds = std::atof(next().c_str());
    else if (a == "--json") o.json = true;
    else {
      std::fprintf(stderr, "usage: durability_bench [--mode off|async|fsync] [--dir DIR] [--seconds S] [--json]\n");
      std::exit(2);
    }
  }
  if (o.mode != "off" && o.mode != "async" && o.mode != "fsync") {
    std::fprintf(stderr, "--mode: off, async or fsync\n");
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  World w;
  if (!w.init()) {
    std::fprintf(stderr, "durability_bench: engine set-up failed\n");
    return 1;
  }
  std::uint32_t ids[kBurst];
  for (std::uint32_t n = 0; n < kClients; n += kBurst) {   // every client gets its lease
    for (std::uint32_t i = 0; i < kBurst; ++i) ids[i] = n + i;
    w.dora(ids, kBurst, kNow);
    w.shard->clear_changes();
  }

  std::unique_ptr<store::Store> st;
  std::string dir;
  if (opt.mode != "off") {
    char tmpl[4096];
    std::snprintf(tmpl, sizeof tmpl, "%s/dorado-durability-XXXXXX", opt.dir.c_str());
    if (mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = tmpl;
    store::StoreOptions so;
    so.dir = dir;
    so.durability = opt.mode == "fsync" ? store::Durability::fsync : store::Durability::async;
    so.workers = 1;
    so.snapshot_records = 1ull << 40;   // journal only: this measures the journal
    auto opened = store::Store::open(so);
    if (!opened.store) {
      std::fprintf(stderr, "durability_bench: %s\n", opened.error.c_str());
      return 1;
    }
    st = std::move(opened.store);
  }
  const bool hold = opt.mode == "fsync";

  ChangeRing ring;
  std::atomic<std::uint32_t> durable{0};
  std::atomic<bool> stop{false};
  std::thread control;
  if (st) {
    control = std::thread([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        const std::size_t n = ring.drain([&](std::span<const LeaseChange> c) { st->take(0, c); });
        st->tick(now_ns() / 1000);
        durable.store(st->durable_shard_seq(0), std::memory_order_release);
        if (n == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      ring.drain([&](std::span<const LeaseChange> c) { st->take(0, c); });
    });
  }

  // The worker: held ACKs as (seq, time) in a FIFO, released when durable.
  struct Held {
    std::uint32_t seq;
    std::uint64_t t;
  };
  std::vector<Held> held(1u << 16);
  std::uint64_t hh = 0, ht = 0;
  runtime::LatencyHistogram wait;
  std::uint64_t completed = 0, records = 0, stalls = 0;
  const std::uint64_t t0 = now_ns();
  const auto budget = static_cast<std::uint64_t>(opt.seconds * 1e9);
  std::uint64_t i = 0;
  while (now_ns() - t0 < budget) {
    const std::uint64_t t = now_ns();
    if (ht != hh) {
      const std::uint32_t d = durable.load(std::memory_order_acquire);
      while (ht != hh && static_cast<std::int32_t>(held[hh % held.size()].seq - d) <= 0) {
        wait.add(t - held[hh % held.size()].t);
        ++hh;
        ++completed;
      }
    }
    const auto changes = w.shard->changes();
    if (!changes.empty()) {   // the previous burst's records
      if (st && !ring.push(changes)) {
        ++stalls;   // back-pressure: the control thread is behind
        continue;
      }
      records += changes.size();
      w.shard->clear_changes();
    }
    if (ht - hh + kBurst > held.size()) {
      ++stalls;
      continue;
    }
    for (std::uint32_t k = 0; k < kBurst; ++k, ++i)
      ids[k] = static_cast<std::uint32_t>(i * 0x9E3779B1u) & (kClients - 1);
    const std::uint32_t acks = w.dora(ids, kBurst, kNow + static_cast<Seconds>((t - t0) / 1'000'000'000));
    if (hold) {
      const std::uint32_t seq = w.shard->last_seq();
      for (std::uint32_t k = 0; k < acks; ++k) held[ht++ % held.size()] = Held{seq, t};
    } else {
      completed += acks;
    }
  }
  const double secs = static_cast<double>(now_ns() - t0) / 1e9;
  stop.store(true);
  if (control.joinable()) control.join();
  store::StoreCounters sc;
  if (st) {
    sc = st->counters();
    st->close(false);
    st.reset();
    std::string cmd = "rm -rf '" + dir + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());
  }
  const runtime::LatencySummary s = wait.summary();
  const double dora_s = static_cast<double>(completed) / secs;
  if (opt.json) {
    std::printf("{\"mode\":\"%s\",\"dir\":\"%s\",\"seconds\":%.2f,\"dora_per_sec\":%.0f,"
                "\"records_per_sec\":%.0f,\"journal_mb_per_sec\":%.1f,\"commits\":%" PRIu64
                ",\"ack_wait_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},"
                "\"stalls\":%" PRIu64 "}\n",
                opt.mode.c_str(), opt.dir.c_str(), secs, dora_s, static_cast<double>(records) / secs,
                static_cast<double>(sc.bytes) / secs / 1e6, sc.commits, s.p50 / 1e3, s.p99 / 1e3,
                s.p999 / 1e3, s.max / 1e3, stalls);
  } else {
    std::printf("mode %-5s dir %-10s %.2f s: %.0f DORA/s, %.0f records/s, %.1f MB/s journal, %" PRIu64
                " commits", opt.mode.c_str(), opt.dir.c_str(), secs, dora_s,
                static_cast<double>(records) / secs, static_cast<double>(sc.bytes) / secs / 1e6, sc.commits);
    if (hold)
      std::printf(", ACK wait p50 %.0f us p99 %.0f us p99.9 %.0f us max %.0f us", s.p50 / 1e3,
                  s.p99 / 1e3, s.p999 / 1e3, s.max / 1e3);
    std::printf("\n");
  }
  return 0;
}
