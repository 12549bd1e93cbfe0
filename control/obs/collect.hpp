// Builds obs::Snapshot from the running parts (control thread only): the
// runtime's counters and published gauges (Runtime::snapshot(), gauges(),
// port_snapshot(), ack_hold()) and the store's counters. Workers are never
// read directly: only through those functions, which read the atomics
// workers publish (runtime/counters.hpp, runtime/worker.hpp).
//
// Observer ties it together for the daemon (metrics server, telemetry,
// pdump, warnings).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "engine/config.hpp"
#include "obs/http.hpp"
#include "obs/log.hpp"
#include "obs/snapshot.hpp"
#include "obs/telemetry.hpp"
#include "runtime/runtime.hpp"
#include "store/store.hpp"

namespace dorado::obs {

// Every pool range of the config in force (file order) with its subnet and
// size, and every subnet (CompiledConfig order) with its dynamic addresses.
// Replaced when a reload applies a new config (Observer::reconfigure).
struct PoolCatalog {
  struct Entry {
    std::string subnet, pool;     // "10.99.0.0/16", "10.99.1.0-10.99.1.255"
    std::uint64_t size = 0;       // from Runtime::watch_pools
  };
  std::vector<Entry> entries;
  std::vector<engine::AddressRange> ranges;   // parallel to entries
  std::vector<Entry> subnets;                 // pool = "" here
};
// Labels and subnet sizes; pool sizes are left 0 (Runtime::watch_pools).
PoolCatalog pool_catalog(const engine::EngineConfig& config, const engine::CompiledConfig& compiled);

class Collector {
 public:
  // commit_records and fsync_mode: [store] commit_records and durability
  // "fsync" (the journal-lag warning's threshold and whether it applies).
  Collector(const runtime::Runtime& rt, const store::Store* store, PoolCatalog pools,
            std::uint64_t commit_records, bool fsync_mode);
  const PoolCatalog& pools() const noexcept { return pools_; }
  // HA (docs/ha.md): where the snapshot's `ha` part comes from; unset without [ha].
  void set_ha_source(std::function<HaStats()> source) { ha_source_ = std::move(source); }
  // DDNS (docs/dns.md): the snapshot's `ddns` part; unset without [ddns].
  void set_ddns_source(std::function<DdnsStats()> source) { ddns_source_ = std::move(source); }
  // MADCAP (docs/madcap.md): the snapshot's `madcap` part; unset without [madcap].
  void set_madcap_source(std::function<MadcapStats()> source) { madcap_source_ = std::move(source); }
  void set_pools(PoolCatalog pools) { pools_ = std::move(pools); }
  // A new snapshot; ~tens of microseconds per worker. Allocates.
  std::shared_ptr<Snapshot> collect() const;

 private:
  const runtime::Runtime& rt_;
  const store::Store* store_;
  PoolCatalog pools_;
  std::uint64_t commit_records_;
  bool fsync_mode_;
  std::function<HaStats()> ha_source_;
  std::function<DdnsStats()> ddns_source_;
  std::function<MadcapStats()> madcap_source_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Everything observability does in the daemon, driven by the control loop:
// start() opens the metrics endpoint, registers the telemetry commands and
// the pdump server (each failure is logged, none stops dorado); tick() is
// called every control loop and, once a second or when a reader waits,
// collects and publishes a snapshot and logs rate-limited warnings from it;
// stop() undoes start(). Control thread only.
class Observer {
 public:
  // Before rt.start(): asks the workers to count the pools (watch_pools).
  Observer(runtime::Runtime& rt, const store::Store* store, const config::DaemonConfig& config,
           const engine::CompiledConfig& compiled, Logger& log);
  ~Observer();
  void start();
  void tick(std::uint64_t now_us);
  void stop();
  // HA: the snapshot's `ha` part (Collector::set_ha_source).
  void set_ha_source(std::function<HaStats()> source) { collector_.set_ha_source(std::move(source)); }
  // DDNS: the snapshot's `ddns` part (Collector::set_ddns_source).
  void set_ddns_source(std::function<DdnsStats()> source) { collector_.set_ddns_source(std::move(source)); }
  // MADCAP: the snapshot's `madcap` part (Collector::set_madcap_source).
  void set_madcap_source(std::function<MadcapStats()> source) { collector_.set_madcap_source(std::move(source)); }
  // After a reload applied `config` (compiled as `compiled`): the pools to
  // report are the new config's, with the sizes the runtime counted
  // (daemon::ReloadResult::pool_sizes); pool_warn_percent is taken again.
  // The metrics address is not: changing it needs a restart.
  void reconfigure(const config::DaemonConfig& config, const engine::CompiledConfig& compiled,
                   const std::vector<std::uint64_t>& pool_sizes);

 private:
  const config::DaemonConfig& config_;
  Logger& log_;
  Collector collector_;
  std::shared_ptr<SnapshotBoard> board_ = std::make_shared<SnapshotBoard>();
  std::shared_ptr<const Snapshot> last_;
  MetricsServer metrics_;
  RateLimiter limiter_;
  WarningThresholds thresholds_;
  std::uint64_t last_collect_us_ = 0;
  bool telemetry_ = false, pdump_ = false;
};

}  // namespace dorado::obs
