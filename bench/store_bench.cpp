// Store benchmark: journal append throughput, group commit cost, snapshot
// encoding per tick, and recovery time.
//
//   BM_EncodeAppend                 encode records into the pending buffer only
//                                   (what Store::take costs minus the mirror).
//   BM_GroupCommit/N                encode N records, pwrite them, fdatasync:
//                                   one fsync-mode group commit of N records.
//   BM_SnapshotEncode               SnapshotEncoder::next over a 1 M-lease
//                                   mirror: ns per entry (sizes the per-tick
//                                   budget in store.cpp).
//   BM_Recovery/N                   Store::open of a store with N leases in a
//                                   snapshot + N/10 journal records (1 M and
//                                   10 M; select with --benchmark_filter).
//
// Files go to $DORADO_BENCH_DIR (default /tmp), in a fresh subdirectory
// removed afterwards. Mind what that is: /dev/shm is tmpfs (fdatasync is
// free there), /var/tmp or a directory on the repository's disk is the real
// disk. Counters: records/s and bytes/s (rates), leases/s, mirror bytes per
// lease and the RSS growth of open() (from /proc/self/statm).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/format.hpp"
#include "store/journal.hpp"
#include "store/mirror.hpp"
#include "store/snapshot.hpp"
#include "store/store.hpp"

namespace {

using namespace dorado::store;
using dorado::engine::LeaseChange;
using dorado::engine::LeaseOp;
namespace fs = std::filesystem;

class BenchDir {
 public:
  BenchDir() {
    const char* base = std::getenv("DORADO_BENCH_DIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/dorado-store-bench-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    path_ = ::mkdtemp(buf.data()) != nullptr ? buf.data() : "";
  }
  ~BenchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A DORA commit: hardware key, 11-byte hostname (61-byte record).
LeaseChange lease(std::uint32_t i) {
  LeaseChange c{};
  c.op = LeaseOp::commit;
  c.htype = 1;
  c.key_len = 8;
  c.key[0] = 1;
  c.key[1] = 1;
  std::memcpy(c.key.data() + 4, &i, 4);
  std::memcpy(c.chaddr.b.data(), c.key.data() + 2, 6);
  c.subnet_id = 1;
  c.address = 0x0a000000u + i;
  c.start = 1'700'000'000u;
  c.expires = c.start + 3600;
  std::snprintf(c.hostname.data(), c.hostname.size(), "host-%06u", i % 1'000'000);
  c.hostname_len = 11;
  return c;
}

void BM_EncodeAppend(benchmark::State& state) {
  std::vector<std::uint8_t> pending;
  pending.reserve(64 << 20);
  const LeaseChange c = lease(12345);
  std::uint64_t seq = 1, bytes = 0;
  for (auto _ : state) {
    if (pending.size() > (60 << 20)) pending.clear();
    const std::size_t at = pending.size();
    pending.resize(at + record_size(c));
    bytes += encode_record(seq++, c, {pending.data() + at, pending.size() - at});
  }
  benchmark::DoNotOptimize(pending.data());
  state.counters["records/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["bytes/s"] = benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kIsRate,
                                                 benchmark::Counter::kIs1024);
}
BENCHMARK(BM_EncodeAppend);

void BM_GroupCommit(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  BenchDir dir;
  const int dir_fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY);
  SegmentFile::Created seg = SegmentFile::create(dir_fd, 1, 0);
  if (!seg.result.ok()) {
    state.SkipWithError(("cannot create a segment in " + dir.path()).c_str());
    ::close(dir_fd);
    return;
  }
  std::vector<std::uint8_t> buf;
  std::uint64_t seq = 1, offset = kFileHeaderSize, bytes = 0, records = 0;
  for (auto _ : state) {
    buf.clear();
    for (std::uint32_t i = 0; i < n; ++i) {
      const LeaseChange c = lease(static_cast<std::uint32_t>(seq));
      const std::size_t at = buf.size();
      buf.resize(at + record_size(c));
      encode_record(seq++, c, {buf.data() + at, buf.size() - at});
    }
    if (offset > (256u << 20)) {   // keep the file bounded, as rotation does
      seg.file->truncate(kFileHeaderSize);
      offset = kFileHeaderSize;
    }
    if (!seg.file->write_at(offset, buf).ok() || !seg.file->sync().ok()) {
      state.SkipWithError("write or fdatasync failed");
      break;
    }
    offset += buf.size();
    bytes += buf.size();
    records += n;
  }
  seg.file.reset();
  ::close(dir_fd);
  state.counters["records/s"] = benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.counters["bytes/s"] = benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kIsRate,
                                                 benchmark::Counter::kIs1024);
  state.SetLabel(dir.path());
}
BENCHMARK(BM_GroupCommit)->Arg(1)->Arg(64)->Arg(1024)->Arg(16384)->UseRealTime();

void BM_SnapshotEncode(benchmark::State& state) {
  Mirror m;
  constexpr std::uint32_t kLeases = 1u << 20;
  for (std::uint32_t i = 0; i < kLeases; ++i) m.apply(lease(i));
  std::uint64_t entries = 0;
  for (auto _ : state) {
    SnapshotEncoder e(m.slot_end());
    while (!e.done()) benchmark::DoNotOptimize(e.next(m, 32768).data());
    entries += kLeases;
  }
  state.counters["entries/s"] = benchmark::Counter(static_cast<double>(entries), benchmark::Counter::kIsRate);
  state.counters["ns/entry"] = benchmark::Counter(static_cast<double>(entries),
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_SnapshotEncode)->Unit(benchmark::kMillisecond);

std::uint64_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// A store of n leases: a snapshot of them, then n/10 renewals in the journal.
bool build_store(const std::string& dir, std::uint32_t n) {
  StoreOptions o;
  o.dir = dir;
  o.snapshot_records = ~0ull;   // only the final one
  std::vector<LeaseChange> batch;
  std::uint64_t now = 1;
  {
    auto opened = Store::open(o);
    if (!opened.store) return false;
    for (std::uint32_t i = 0; i < n;) {
      batch.clear();
      for (; i < n && batch.size() < 16384; ++i) batch.push_back(lease(i));
      opened.store->take(0, batch);
      opened.store->tick(now += 1000);
    }
    if (!opened.store->close(true).empty()) return false;
  }
  auto opened = Store::open(o);
  if (!opened.store) return false;
  for (std::uint32_t i = 0; i < n / 10;) {
    batch.clear();
    for (; i < n / 10 && batch.size() < 16384; ++i) {
      LeaseChange c = lease(i * 7 % n);
      c.op = LeaseOp::renew;
      c.hostname_len = 0;
      batch.push_back(c);
    }
    opened.store->take(0, batch);
    opened.store->tick(now += 1000);
  }
  return opened.store->close(false).empty();
}

void BM_Recovery(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  BenchDir dir;
  if (!build_store(dir.path(), n)) {
    state.SkipWithError(("cannot build the store in " + dir.path()).c_str());
    return;
  }
  StoreOptions o;
  o.dir = dir.path();
  double leases = 0, per_lease = 0, rss_per_lease = 0, replayed = 0;
  for (auto _ : state) {
    const std::uint64_t rss0 = rss_bytes();
    auto opened = Store::open(o);
    if (!opened.store) {
      state.SkipWithError(opened.error.c_str());
      break;
    }
    const std::uint64_t rss1 = rss_bytes();
    leases = static_cast<double>(opened.store->lease_count());
    per_lease = static_cast<double>(opened.store->memory_bytes()) / leases;
    rss_per_lease = static_cast<double>(rss1 > rss0 ? rss1 - rss0 : 0) / leases;
    replayed = static_cast<double>(opened.stats.records_replayed);
    state.PauseTiming();
    opened.store.reset();   // no close(): leaves the files as they were
    state.ResumeTiming();
  }
  state.counters["leases/s"] = benchmark::Counter(leases * static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
  state.counters["bytes/lease"] = per_lease;
  state.counters["rss/lease"] = rss_per_lease;
  state.counters["replayed"] = replayed;
}
BENCHMARK(BM_Recovery)->Arg(1 << 20)->Arg(10 << 20)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

}  // namespace
