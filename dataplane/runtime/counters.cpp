#include "runtime/counters.hpp"

#include <cinttypes>
#include <cstdio>
#include <map>

namespace dorado::runtime {
namespace {

constexpr std::string_view kNames[] = {
#define DORADO_RUNTIME_DROP(name, text) #name,
#include "runtime/drops.def"
#undef DORADO_RUNTIME_DROP
};
constexpr std::string_view kTexts[] = {
#define DORADO_RUNTIME_DROP(name, text) text,
#include "runtime/drops.def"
#undef DORADO_RUNTIME_DROP
};

}  // namespace

std::string_view drop_name(Drop d) noexcept { return kNames[static_cast<std::size_t>(d)]; }
std::string_view drop_text(Drop d) noexcept { return kTexts[static_cast<std::size_t>(d)]; }

void append_counters(const WorkerCounters& c, std::uint64_t ns_per_tsc_q32, WorkerSnapshot& out) {
  auto add = [&out](std::string name, std::uint64_t v) {
    if (v != 0) out.counters.emplace_back(std::move(name), v);
  };
  const auto shown = [ns_per_tsc_q32](CounterKind kind, std::uint64_t v) -> std::uint64_t {
    if (kind != CounterKind::tsc) return v;
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(v) * ns_per_tsc_q32) >> 32);
  };
#define DORADO_WORKER_COUNTER(field, name, kind, metric, help, kea) \
  add(name, shown(CounterKind::kind, c.field.get()));
#include "runtime/counters.def"
  for (std::size_t i = 0; i < kDropCount; ++i)
    add("drop." + std::string(drop_name(static_cast<Drop>(i))), c.drops[i].get());
  for (std::size_t i = 1; i < wire::kErrorCount; ++i)
    add("wire." + std::string(wire::error_name(static_cast<wire::Error>(i))), c.wire_errors[i].get());
}

std::string counters_text(std::span<const WorkerSnapshot> workers, std::span<const WorkerSnapshot> ports,
                          const LatencySummary& ack_hold) {
  std::string s;
  auto line = [&s](const std::string& name, std::uint64_t v) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "  %-40s %" PRIu64 "\n", name.c_str(), v);
    s += buf;
  };
  std::map<std::string, std::uint64_t> total;
  for (const auto& w : workers)
    for (const auto& [name, v] : w.counters) total[name] += v;
  // The ACKs' wait for durability as quantiles (bucket floors, ns).
  if (ack_hold.count != 0) {
    total["ack_hold_ns.p50"] = ack_hold.p50;
    total["ack_hold_ns.p99"] = ack_hold.p99;
    total["ack_hold_ns.p999"] = ack_hold.p999;
  }
  s += "counters (all workers):\n";
  for (const auto& [name, v] : total) line(name, v);
  for (const auto& port : ports) {
    s += "port " + std::to_string(port.lcore) + ":\n";
    for (const auto& [name, v] : port.counters) line(name, v);
  }
  if (workers.size() > 1) {
    for (std::size_t w = 0; w < workers.size(); ++w) {
      s += "worker " + std::to_string(w) + " (lcore " + std::to_string(workers[w].lcore) + "):\n";
      for (const auto& [name, v] : workers[w].counters) line(name, v);
    }
  }
  return s;
}

}  // namespace dorado::runtime
