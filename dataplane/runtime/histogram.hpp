// Latency histogram: log-linear buckets (16 per power of two, so a bucket's
// width is at most 1/16 of its value: percentiles within ~6%), fixed size,
// no allocation. Used for the time an ACK waits for its lease record to be
// durable.
//
// Threads: add() by one writer (a worker); the owner publishes it through
// Counter-like relaxed atomics (see LatencyCounters); merge() and
// percentile() on plain copies (control thread).
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace dorado::runtime {

inline constexpr unsigned kSubBits = 4;                       // 16 sub-buckets per octave
inline constexpr std::size_t kLatencyBuckets = (64 - kSubBits + 1) << kSubBits;

// Bucket of a value: values below 16 get their own bucket; above, the octave
// and the next 4 bits.
constexpr std::size_t latency_bucket(std::uint64_t v) noexcept {
  if (v < (1u << kSubBits)) return static_cast<std::size_t>(v);
  const unsigned e = 63u - static_cast<unsigned>(std::countl_zero(v));   // >= kSubBits
  const std::uint64_t sub = (v >> (e - kSubBits)) & ((1u << kSubBits) - 1);
  return ((e - kSubBits + 1) << kSubBits) + static_cast<std::size_t>(sub);
}

// Smallest value of bucket b.
constexpr std::uint64_t latency_bucket_floor(std::size_t b) noexcept {
  if (b < (1u << kSubBits)) return b;
  const unsigned e = static_cast<unsigned>(b >> kSubBits) + kSubBits - 1;
  const std::uint64_t sub = b & ((1u << kSubBits) - 1);
  return (std::uint64_t{1} << e) | (sub << (e - kSubBits));
}

struct LatencySummary {
  std::uint64_t count = 0;
  std::uint64_t p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;   // bucket floors, same unit as add()
};

struct LatencyHistogram {
  std::array<std::uint64_t, kLatencyBuckets> buckets{};
  std::uint64_t max = 0;

  void add(std::uint64_t v) noexcept {
    ++buckets[latency_bucket(v)];
    if (v > max) max = v;
  }
  void merge(const LatencyHistogram& o) noexcept {
    for (std::size_t i = 0; i < kLatencyBuckets; ++i) buckets[i] += o.buckets[i];
    if (o.max > max) max = o.max;
  }
  // The floor of the bucket holding the q-quantile (0 < q <= 1).
  std::uint64_t quantile(double q) const noexcept {
    std::uint64_t n = 0;
    for (auto c : buckets) n += c;
    if (n == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n) + 0.999999);
    if (rank == 0) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
      seen += buckets[i];
      if (seen >= rank) return latency_bucket_floor(i);
    }
    return max;
  }
  LatencySummary summary() const noexcept {
    LatencySummary s;
    for (auto c : buckets) s.count += c;
    s.p50 = quantile(0.5);
    s.p90 = quantile(0.9);
    s.p99 = quantile(0.99);
    s.p999 = quantile(0.999);
    s.max = max;
    return s;
  }
};

}  // namespace dorado::runtime
