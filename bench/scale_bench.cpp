// Memory that follows the leases (issue 19), measured on one shard:
//   scale_bench [N] [--big] [--presized]
// Builds a shard for a pool of 10.0.0.0/11 (or /8 with --big) with tables
// sized from the pool as the runtime does (1 worker), then serves N new
// clients (DISCOVER + REQUEST each, bench/dora_fixture.hpp) from an index of
// 1024 slots, so the lease index doubles log2(N/512) times on the way.
// Prints, as one JSON object: resident memory (VmRSS) after building the
// shard and per lease after N leases, what LeaseTable::memory_bytes() counts
// per lease, the DORA time, and the worst single DORA (the pause a worker
// sees), with the worst DORA among those that ran while a rehash was under
// way and the number of DORAs over 100 us and over 1 ms. Default N: 2 M.
// Each DORA is timed twice: wall clock (includes the guest being
// descheduled, which on a shared 2-vCPU machine is most of the tail) and
// the thread's CPU time (CLOCK_THREAD_CPUTIME_ID: the worker's own work,
// page faults included, preemption not). --presized sizes the index for N
// up front (Shard::reserve, as the start-up hand-over does): the same run
// without any rehash, the control for the tail figures.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bench/dora_fixture.hpp"
#include "engine/engine.hpp"

using namespace dorado;
using engine::Decision;
using engine::Shard;
using wire::MessageType;

namespace {

std::size_t rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

double cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double now_ns() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

}  // namespace

int main(int argc, char** argv) {
  std::uint32_t n = 2'000'000;
  bool big = false, presized = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--big") == 0) big = true;
    else if (std::strcmp(argv[i], "--presized") == 0) presized = true;
    else n = static_cast<std::uint32_t>(std::strtoul(argv[i], nullptr, 10));
  }
  const std::size_t rss0 = rss_bytes();
  engine::EngineConfig cfg;
  cfg.server_address = bench::kServer;
  cfg.subnets = {bench::bench_subnet(big)};
  engine::CompileResult compiled = engine::compile(cfg);
  if (!compiled.ok()) {
    std::fprintf(stderr, "config: %s\n", compiled.error.c_str());
    return 1;
  }
  std::uint64_t addresses = 0;
  for (const auto& b : compiled.config.blocks) addresses += static_cast<unsigned>(__builtin_popcountll(b.allocatable));
  if (n > addresses) n = static_cast<std::uint32_t>(addresses);
  engine::ShardConfig sc;   // as runtime.cpp shard_table_for (1 worker)
  sc.table.capacity = static_cast<std::uint32_t>(2 * addresses + 1);
  sc.table.hostname_capacity = sc.table.capacity;
  sc.table.long_key_capacity = sc.table.capacity / 16;
  sc.change_log_capacity = 64;
  const std::size_t rss_compiled = rss_bytes();
  Shard::Created created = Shard::create(compiled.config, sc);
  if (!created.shard) {
    std::fprintf(stderr, "shard: %s\n", created.error.c_str());
    return 1;
  }
  Shard& shard = *created.shard;
  if (presized) shard.reserve(n);
  const std::size_t rss_built = rss_bytes();
  auto discover = bench::make_slot(MessageType::discover, bench::ClientName::none);
  auto request = bench::make_slot(MessageType::request, bench::ClientName::none);
  constexpr engine::Seconds kNow = 1'800'000'000;
  double worst = 0, worst_rehash = 0, total = 0, worst_cpu = 0, worst_cpu_rehash = 0;
  std::uint64_t cpu_over_100us = 0, cpu_over_1ms = 0;
  std::uint64_t over_100us = 0, over_1ms = 0, failed = 0;
  std::vector<float> samples;
  samples.reserve(n);
  for (std::uint32_t c = 1; c <= n; ++c) {
    const bool rehash = shard.leases().rehashing();
    const double t0 = now_ns(), c0 = cpu_ns();
    discover->set_client(c);
    const Decision offer = shard.handle(discover->msg, discover->rx, kNow);
    shard.clear_changes();
    request->set_client(c);
    request->set_requested(offer.yiaddr);
    const Decision ack = shard.handle(request->msg, request->rx, kNow);
    shard.clear_changes();
    const double dc = cpu_ns() - c0;
    const double dt = now_ns() - t0;
    worst_cpu = std::max(worst_cpu, dc);
    if (rehash || shard.leases().rehashing()) worst_cpu_rehash = std::max(worst_cpu_rehash, dc);
    cpu_over_100us += dc > 100e3;
    cpu_over_1ms += dc > 1e6;
    failed += ack.type != MessageType::ack;
    total += dt;
    worst = std::max(worst, dt);
    if (rehash || shard.leases().rehashing()) worst_rehash = std::max(worst_rehash, dt);
    over_100us += dt > 100e3;
    over_1ms += dt > 1e6;
    samples.push_back(static_cast<float>(dt));
  }
  std::sort(samples.begin(), samples.end());
  const auto pct = [&](double p) {
    return samples.empty() ? 0.0 : samples[std::min(samples.size() - 1, static_cast<std::size_t>(p * samples.size()))];
  };
  const std::size_t rss_served = rss_bytes();
  const std::size_t samples_bytes = samples.capacity() * sizeof(float);   // the benchmark's own
  std::printf(
      "{\"pool\": \"%s\", \"presized\": %s, \"pool_addresses\": %llu, \"leases\": %u, \"failed\": %llu,\n"
      " \"rss_start_kib\": %zu, \"rss_config_kib\": %zu, \"rss_shard_built_kib\": %zu, \"rss_served_kib\": %zu,\n"
      " \"bytes_per_lease_rss\": %.1f, \"bytes_per_lease_table\": %.1f, \"index_slots\": %u,\n"
      " \"dora_ns_mean\": %.0f, \"dora_ns_p50\": %.0f, \"dora_ns_p99\": %.0f, \"dora_ns_p9999\": %.0f,\n"
      " \"worst_dora_us\": %.1f, \"worst_dora_during_rehash_us\": %.1f, \"over_100us\": %llu, \"over_1ms\": %llu,\n"
      " \"worst_dora_cpu_us\": %.1f, \"worst_dora_cpu_during_rehash_us\": %.1f, \"cpu_over_100us\": %llu, \"cpu_over_1ms\": %llu}\n",
      big ? "10.0.0.0/8" : "10.0.0.0/11", presized ? "true" : "false", static_cast<unsigned long long>(addresses), n,
      static_cast<unsigned long long>(failed), rss0 >> 10, rss_compiled >> 10, rss_built >> 10,
      rss_served >> 10,
      n ? static_cast<double>(rss_served - rss_built - samples_bytes) / n : 0.0,
      n ? static_cast<double>(shard.leases().memory_bytes()) / n : 0.0, shard.leases().index_slots(),
      n ? total / n : 0.0, pct(0.5), pct(0.99), pct(0.9999), worst / 1e3, worst_rehash / 1e3,
      static_cast<unsigned long long>(over_100us), static_cast<unsigned long long>(over_1ms),
      worst_cpu / 1e3, worst_cpu_rehash / 1e3, static_cast<unsigned long long>(cpu_over_100us),
      static_cast<unsigned long long>(cpu_over_1ms));
  return failed == 0 ? 0 : 1;
}
