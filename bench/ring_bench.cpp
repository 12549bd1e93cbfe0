// The runtime's rings, as it uses them (dataplane/runtime/worker.cpp):
//
//   BM_HandoffRing/burst          one lcore: rte_ring_sp_enqueue_burst of
//       `burst` mbuf pointers into a 4096-slot SPSC ring (the handoff ring's
//       size), then rte_ring_sc_dequeue_burst of them: the ring's own cost
//       per packet, producer and consumer together, cache lines warm.
//   BM_HandoffRingCrossThread/burst  a producer thread keeps the ring full
//       in bursts; the benchmark thread dequeues in bursts (real time): what
//       moving the ring's head/tail lines between cores costs per packet.
//       On a machine with fewer than 2 free CPUs it measures the scheduler.
//   BM_CacheLinePingPong          two threads pass a counter back and forth,
//       each writing its own cache line and spinning on the other's (real
//       time, t/round_trip): twice the time one written line takes to reach
//       the other core. The floor under every line of a frame that crosses
//       between the generator's CPU and the worker's in `dorado-bench
//       pipeline` (and a real NIC's DMA writes do not cross that way: they
//       land in the last-level cache). Needs 2 free CPUs.
//   BM_ChangeRing/burst           rte_ring_sp_enqueue_burst_elem of
//       engine::LeaseChange records (the worker -> control ring, 4 records
//       per request at most) and the control thread's dequeue, one thread.
//
// Items = entries (packets or records). rte_ring_init on aligned memory: no
// EAL needed.
#include <benchmark/benchmark.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <thread>

#include "engine/lease.hpp"

namespace {

constexpr unsigned kRingSize = 4096;   // runtime.cpp kHandoffRingSize
constexpr unsigned kMaxBurst = 32;

struct RingMemory {
  rte_ring* ring = nullptr;
  explicit RingMemory(unsigned esize, unsigned count) {
    const ssize_t bytes = rte_ring_get_memsize_elem(esize, count);
    if (bytes <= 0) return;
    void* mem = std::aligned_alloc(64, (static_cast<std::size_t>(bytes) + 63) / 64 * 64);
    if (mem == nullptr) return;
    auto* r = static_cast<rte_ring*>(mem);
    if (rte_ring_init(r, "bench", count, RING_F_SP_ENQ | RING_F_SC_DEQ) != 0) {
      std::free(mem);
      return;
    }
    ring = r;
  }
  ~RingMemory() { std::free(ring); }
  RingMemory(const RingMemory&) = delete;
  RingMemory& operator=(const RingMemory&) = delete;
};

void per_entry(benchmark::State& state, std::uint64_t entries) {
  state.SetItemsProcessed(static_cast<std::int64_t>(entries));
  state.counters["t/entry"] =
      benchmark::Counter(static_cast<double>(entries), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_HandoffRing(benchmark::State& state) {
  RingMemory rm(sizeof(void*), kRingSize);
  if (rm.ring == nullptr) {
    state.SkipWithError("rte_ring_init failed");
    return;
  }
  const auto burst = static_cast<unsigned>(state.range(0));
  alignas(64) std::array<void*, kMaxBurst> in, out;
  for (unsigned i = 0; i < kMaxBurst; ++i) in[i] = reinterpret_cast<void*>(std::uintptr_t{64} * (i + 1));
  std::uint64_t moved = 0;
  for (auto _ : state) {
    const unsigned e = rte_ring_sp_enqueue_burst(rm.ring, in.data(), burst, nullptr);
    const unsigned d = rte_ring_sc_dequeue_burst(rm.ring, out.data(), burst, nullptr);
    benchmark::DoNotOptimize(out.data());
    if (e != burst || d != burst) {
      state.SkipWithError("ring short");
      return;
    }
    moved += burst;
  }
  per_entry(state, moved);
}

void BM_HandoffRingCrossThread(benchmark::State& state) {
  RingMemory rm(sizeof(void*), kRingSize);
  if (rm.ring == nullptr) {
    state.SkipWithError("rte_ring_init failed");
    return;
  }
  const auto burst = static_cast<unsigned>(state.range(0));
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    std::array<void*, kMaxBurst> in;
    for (unsigned i = 0; i < kMaxBurst; ++i) in[i] = reinterpret_cast<void*>(std::uintptr_t{64} * (i + 1));
    while (!stop.load(std::memory_order_relaxed))
      if (rte_ring_sp_enqueue_burst(rm.ring, in.data(), burst, nullptr) == 0) std::this_thread::yield();
  });
  std::array<void*, kMaxBurst> out;
  std::uint64_t moved = 0;
  for (auto _ : state) {
    unsigned got = 0;
    while (got < burst) {
      const unsigned d = rte_ring_sc_dequeue_burst(rm.ring, out.data(), burst - got, nullptr);
      if (d == 0) std::this_thread::yield();
      got += d;
    }
    benchmark::DoNotOptimize(out.data());
    moved += burst;
  }
  stop.store(true);
  producer.join();
  per_entry(state, moved);
}

void BM_CacheLinePingPong(benchmark::State& state) {
  struct alignas(64) Line {
    std::atomic<std::uint64_t> v{0};
  };
  Line ping, pong;
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    std::uint64_t seen = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const std::uint64_t v = ping.v.load(std::memory_order_acquire);
      if (v != seen) {
        seen = v;
        pong.v.store(v, std::memory_order_release);
      }
    }
  });
  std::uint64_t trips = 0;
  for (auto _ : state) {
    ++trips;
    ping.v.store(trips, std::memory_order_release);
    while (pong.v.load(std::memory_order_acquire) != trips) {
    }
  }
  stop.store(true);
  partner.join();
  state.counters["t/round_trip"] =
      benchmark::Counter(static_cast<double>(trips), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_ChangeRing(benchmark::State& state) {
  constexpr unsigned kChangeRing = 65536;   // RuntimeConfig::change_ring default
  RingMemory rm(sizeof(dorado::engine::LeaseChange), kChangeRing);
  if (rm.ring == nullptr) {
    state.SkipWithError("rte_ring_init failed");
    return;
  }
  const auto burst = static_cast<unsigned>(state.range(0));
  std::array<dorado::engine::LeaseChange, kMaxBurst> in{}, out{};
  for (unsigned i = 0; i < kMaxBurst; ++i) in[i].seq = i;
  std::uint64_t moved = 0;
  for (auto _ : state) {
    const unsigned e = rte_ring_sp_enqueue_burst_elem(rm.ring, in.data(), sizeof(in[0]), burst, nullptr);
    const unsigned d = rte_ring_sc_dequeue_burst_elem(rm.ring, out.data(), sizeof(out[0]), burst, nullptr);
    benchmark::DoNotOptimize(out.data());
    if (e != burst || d != burst) {
      state.SkipWithError("ring short");
      return;
    }
    moved += burst;
  }
  per_entry(state, moved);
}

}  // namespace

BENCHMARK(BM_HandoffRing)->Arg(1)->Arg(8)->Arg(32);
BENCHMARK(BM_HandoffRingCrossThread)->Arg(1)->Arg(8)->Arg(32)->UseRealTime();
BENCHMARK(BM_CacheLinePingPong)->UseRealTime();
BENCHMARK(BM_ChangeRing)->Arg(1)->Arg(8)->Arg(32);
