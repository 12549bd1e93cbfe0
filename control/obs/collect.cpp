#include "obs/collect.hpp"

#include <rte_ethdev.h>

#include <bit>
#include <ctime>
#include <unordered_map>

#include "engine/counters.hpp"
#include "runtime/counters.hpp"
#include "wire/errors.hpp"
#include "wire/text.hpp"

namespace dorado::obs {
namespace {

// Every counter name a worker has, in print order, so that metrics list
// zeros too (Runtime::snapshot() leaves them out).
const std::vector<std::string>& all_counter_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const runtime::WorkerCounterInfo& c : runtime::kWorkerCounterInfo) n.emplace_back(c.name);
    for (std::size_t i = 0; i < runtime::kDropCount; ++i)
      n.push_back("drop." + std::string(runtime::drop_name(static_cast<runtime::Drop>(i))));
    for (std::size_t i = 1; i < wire::kErrorCount; ++i)
      n.push_back("wire." + std::string(wire::error_name(static_cast<wire::Error>(i))));
    for (std::size_t i = 1; i < engine::kDropCount; ++i)
      n.push_back("engine.drop." + std::string(engine::drop_name(static_cast<engine::DropReason>(i))));
    for (std::size_t i = 0; i < engine::kEventCount; ++i)
      n.push_back("engine." + std::string(engine::event_name(static_cast<engine::Event>(i))));
    return n;
  }();
  return names;
}

}  // namespace

PoolCatalog pool_catalog(const engine::EngineConfig& config, const engine::CompiledConfig& compiled) {
  PoolCatalog c;
  const auto subnet_text = [](const engine::CompiledSubnet& cs) {
    return wire::format_ipv4(cs.network) + "/" + std::to_string(cs.prefix_len);
  };
  for (const auto& cs : compiled.subnets) {
    std::uint64_t size = 0;
    for (std::uint32_t b = cs.first_block; b < cs.first_block + cs.block_count; ++b)
      size += static_cast<std::uint64_t>(std::popcount(compiled.blocks[b].allocatable));
    c.subnets.push_back({subnet_text(cs), "", size});
  }
  for (const auto& sc : config.subnets) {
    for (const auto& r : sc.pools) {
      const std::uint32_t s = compiled.subnet_index_of(r.first);
      c.entries.push_back({s == engine::kNil ? "?" : subnet_text(compiled.subnets[s]),
                           wire::format_ipv4(r.first) + "-" + wire::format_ipv4(r.last), 0});
      c.ranges.push_back(r);
    }
  }
  return c;
}

Collector::Collector(const runtime::Runtime& rt, const store::Store* store, PoolCatalog pools,
                     std::uint64_t commit_records, bool fsync_mode)
    : rt_(rt), store_(store), pools_(std::move(pools)), commit_records_(commit_records), fsync_mode_(fsync_mode) {}

std::shared_ptr<Snapshot> Collector::collect() const {
  auto s = std::make_shared<Snapshot>();
  s->unix_time = static_cast<double>(std::time(nullptr));
  s->uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const auto snaps = rt_.snapshot();
  const auto gauges = rt_.gauges();
  const auto& names = all_counter_names();
  for (std::size_t w = 0; w < snaps.size(); ++w) {
    WorkerStats ws;
    ws.index = static_cast<unsigned>(w);
    ws.lcore = snaps[w].lcore;
    std::unordered_map<std::string_view, std::uint64_t> nonzero;
    for (const auto& [n, v] : snaps[w].counters) nonzero[n] = v;
    ws.counters.reserve(names.size());
    for (const auto& n : names) {
      const auto it = nonzero.find(n);
      ws.counters.push_back({n, it == nonzero.end() ? 0 : it->second});
    }
    if (w < gauges.size()) {
      const runtime::WorkerGauges& g = gauges[w];
      for (std::size_t i = 0; i < kLeaseStates && i < g.lease_states.size(); ++i)
        ws.lease_states[i] = g.lease_states[i];
      ws.held_acks = g.held_acks;
      ws.change_ring_used = g.change_ring_used;
      ws.change_ring_size = g.change_ring_size;
      ws.handoff_in_used = g.handoff_in_used;
      ws.handoff_in_size = g.handoff_in_size;
    }
    s->workers.push_back(std::move(ws));
  }
  for (std::size_t i = 0; i < pools_.entries.size(); ++i) {
    const auto& e = pools_.entries[i];
    PoolStats p{e.subnet, e.pool, e.size, 0};
    for (const auto& g : gauges)
      if (i < g.pool_free.size()) p.free += g.pool_free[i];
    s->pools.push_back(std::move(p));
  }
  for (std::size_t i = 0; i < pools_.subnets.size(); ++i) {
    const auto& e = pools_.subnets[i];
    PoolStats p{e.subnet, "", e.size, 0};
    for (const auto& g : gauges)
      if (i < g.subnet_free.size()) p.free += g.subnet_free[i];
    s->subnets.push_back(std::move(p));
  }
  for (const auto& port : rt_.port_snapshot()) {
    PortStats ps;
    ps.id = port.lcore;
    char name[RTE_ETH_NAME_MAX_LEN] = "?";
    rte_eth_dev_get_name_by_port(static_cast<std::uint16_t>(port.lcore), name);
    ps.name = name;
    for (const auto& [n, v] : port.counters) ps.counters.push_back({n, v});
    s->ports.push_back(std::move(ps));
  }
  const runtime::LatencySummary h = rt_.ack_hold().summary();
  s->ack_hold_count = h.count;
  s->ack_hold_p50 = h.p50;
  s->ack_hold_p99 = h.p99;
  s->ack_hold_max = h.max;
  if (store_ != nullptr) {
    const store::StoreCounters c = store_->counters();
    StoreStats& st = s->store;
    st.present = true;
    st.writable = store_->writable();
    st.records = c.records;
    st.bytes = c.bytes;
    st.commits = c.commits;
    st.write_errors = c.write_errors;
    st.snapshots = c.snapshots;
    st.snapshot_errors = c.snapshot_errors;
    st.pending_records = c.pending_records;
    st.leases = c.leases;
    st.fsync_ns_last = c.fsync_ns_last;
    st.fsync_ns_max = c.fsync_ns_max;
    // Journal lag is worth a warning only where ACKs wait for it: in
    // "async" records wait up to a second for their fsync by design.
    st.commit_records = fsync_mode_ ? commit_records_ : 0;
  }
  if (ha_source_) s->ha = ha_source_();
  if (ddns_source_) s->ddns = ddns_source_();
  if (madcap_source_) s->madcap = madcap_source_();
  return s;
}

// ---- Observer ----------------------------------------------------------------

namespace {
constexpr std::uint64_t kCollectIntervalUs = 1'000'000;   // unasked
// At most this often on readers' demand, so that clients hammering /metrics
// or telemetry cannot keep the control loop collecting (readers wait up to
// 200 ms for a fresh snapshot, then take the last one).
constexpr std::uint64_t kMinCollectIntervalUs = 50'000;
}

namespace {
PoolCatalog watched_pools(runtime::Runtime& rt, const engine::EngineConfig& config,
                          const engine::CompiledConfig& compiled) {
  PoolCatalog c = pool_catalog(config, compiled);
  const std::vector<std::uint64_t> sizes = rt.watch_pools(c.ranges);
  for (std::size_t i = 0; i < c.entries.size() && i < sizes.size(); ++i) c.entries[i].size = sizes[i];
  return c;
}
}  // namespace

Observer::Observer(runtime::Runtime& rt, const store::Store* store, const config::DaemonConfig& config,
                   const engine::CompiledConfig& compiled, Logger& log)
    : config_(config),
      log_(log),
      collector_(rt, store, watched_pools(rt, config.engine, compiled), config.store.commit_records,
                 config.store.durability == config::Durability::fsync) {
  thresholds_.pool_percent = config.control.pool_warn_percent;
}

Observer::~Observer() { stop(); }

void Observer::reconfigure(const config::DaemonConfig& config, const engine::CompiledConfig& compiled,
                           const std::vector<std::uint64_t>& pool_sizes) {
  PoolCatalog c = pool_catalog(config.engine, compiled);
  for (std::size_t i = 0; i < c.entries.size() && i < pool_sizes.size(); ++i) c.entries[i].size = pool_sizes[i];
  collector_.set_pools(std::move(c));
  thresholds_.pool_percent = config.control.pool_warn_percent;
  last_collect_us_ = 0;   // the next tick publishes the new shape
}

void Observer::start() {
  std::uint64_t addresses = 0;
  for (const auto& e : collector_.pools().entries) addresses += e.size;
  log_.info("config: " + std::to_string(config_.engine.subnets.size()) + " subnet(s), " +
            std::to_string(collector_.pools().entries.size()) + " pool(s), " +
            std::to_string(addresses) + " dynamic addresses; " + std::to_string(config_.dpdk.workers) +
            " worker(s); pool_warn_percent " + std::to_string(config_.control.pool_warn_percent));
  last_ = collector_.collect();
  board_->publish(std::const_pointer_cast<Snapshot>(last_));
  const config::ControlSection& c = config_.control;
  if (c.metrics_enabled) {
    const ListenAddress where{c.metrics_address, c.metrics_port};
    std::weak_ptr<SnapshotBoard> board = board_;
    const std::string e = metrics_.start(where, [board] {
      const auto b = board.lock();
      const auto s = b ? b->fresh(std::chrono::milliseconds(200)) : nullptr;
      return s ? render_metrics(*s) : std::string();
    });
    if (e.empty())
      log_.info("metrics: serving http://" + wire::format_ipv4(c.metrics_address) + ":" +
                std::to_string(metrics_.port()) + "/metrics");
    else
      log_.error("metrics: " + e + " (no metrics endpoint)");
  }
  if (std::string e = attach_telemetry(board_); !e.empty())
    log_.error(e);
  else
    telemetry_ = true;
  if (std::string e = pdump_init(); !e.empty())
    log_.error("pdump: " + e + " (dpdk-dumpcap cannot capture)");
  else
    pdump_ = true;
}

void Observer::tick(std::uint64_t now_us) {
  const std::uint64_t since = now_us - last_collect_us_;
  if (since < kMinCollectIntervalUs || (!board_->wanted() && since < kCollectIntervalUs)) return;
  last_collect_us_ = now_us;
  auto s = collector_.collect();
  for (const Warning& w : check_warnings(*s, last_.get(), thresholds_))
    warn_limited(log_, limiter_, w.key, w.text, now_us);
  last_ = s;
  board_->publish(std::move(s));
}

void Observer::stop() {
  metrics_.stop();
  if (telemetry_) detach_telemetry();
  telemetry_ = false;
  if (pdump_) pdump_uninit();
  pdump_ = false;
}

}  // namespace dorado::obs
