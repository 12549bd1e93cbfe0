#include "obs/telemetry.hpp"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_pdump.h>
#include <rte_telemetry.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace dorado::obs {

// ---- DPDK telemetry ---------------------------------------------------------
//
// rte_telemetry_register_cmd() callbacks take no context pointer (DPDK
// 22.11), so the board they read is the one piece of process-wide state
// here: a shared_ptr behind a mutex. The telemetry thread copies the
// pointer under the mutex and then reads only the immutable Snapshot.

namespace {

std::mutex& board_mutex() {
  static std::mutex m;
  return m;
}
std::shared_ptr<SnapshotBoard>& board_slot() {
  static std::shared_ptr<SnapshotBoard> b;
  return b;
}

std::shared_ptr<const Snapshot> telemetry_snapshot() {
  std::shared_ptr<SnapshotBoard> b;
  {
    std::lock_guard lock(board_mutex());
    b = board_slot();
  }
  if (!b) return nullptr;
  return b->fresh(std::chrono::milliseconds(200));
}

// Telemetry dict names allow only [A-Za-z0-9_/]: "engine.drop.x" ->
// "engine_drop_x".
std::string tel_name(std::string_view n) {
  std::string s(n.substr(0, RTE_TEL_MAX_STRING_LEN - 1));
  for (char& c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '/'))
      c = '_';
  return s;
}

void add_u64(rte_tel_data* d, std::string_view name, std::uint64_t v) {
  rte_tel_data_add_dict_u64(d, tel_name(name).c_str(), v);
}

bool parse_index(const char* params, std::size_t limit, std::size_t& out) {
  if (params == nullptr || *params == '\0') return false;
  char* end = nullptr;
  const unsigned long v = std::strtoul(params, &end, 10);
  if (*end != '\0' || v >= limit) return false;
  out = v;
  return true;
}

// /dorado/stats: every non-zero counter summed over workers, lease states,
// journal figures. At most RTE_TEL_MAX_DICT_ENTRIES entries.
int cmd_stats(const char*, const char*, rte_tel_data* d) {
  const auto s = telemetry_snapshot();
  if (!s) return -1;
  rte_tel_data_start_dict(d);
  add_u64(d, "workers", s->workers.size());
  const auto states = s->lease_states();
  for (std::size_t i = 1; i < kLeaseStates; ++i) add_u64(d, std::string("leases_") + kLeaseStateNames[i], states[i]);
  if (s->store.present) {
    add_u64(d, "journal_lag_records", s->store.pending_records);
    add_u64(d, "journal_commits", s->store.commits);
    add_u64(d, "journal_fsync_ns_last", s->store.fsync_ns_last);
  }
  std::map<std::string, std::uint64_t> total;
  for (const auto& w : s->workers)
    for (const auto& c : w.counters)
      if (c.value != 0) total[c.name] += c.value;
  int room = RTE_TEL_MAX_DICT_ENTRIES - 16;
  for (const auto& [n, v] : total) {
    if (room-- <= 0) break;
    add_u64(d, n, v);
  }
  return 0;
}

int cmd_workers(const char*, const char*, rte_tel_data* d) {
  const auto s = telemetry_snapshot();
  if (!s) return -1;
  rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
  for (const auto& w : s->workers) rte_tel_data_add_array_int(d, static_cast<int>(w.index));
  return 0;
}

// /dorado/worker,<index>: the worker's non-zero counters and gauges.
int cmd_worker(const char*, const char* params, rte_tel_data* d) {
  const auto s = telemetry_snapshot();
  std::size_t i = 0;
  if (!s || !parse_index(params, s->workers.size(), i)) return -1;
  const WorkerStats& w = s->workers[i];
  rte_tel_data_start_dict(d);
  add_u64(d, "lcore", w.lcore);
  for (std::size_t st = 1; st < kLeaseStates; ++st)
    add_u64(d, std::string("leases_") + kLeaseStateNames[st], w.lease_states[st]);
  add_u64(d, "held_acks", w.held_acks);
  add_u64(d, "change_ring_used", w.change_ring_used);
  add_u64(d, "change_ring_size", w.change_ring_size);
  add_u64(d, "handoff_in_used", w.handoff_in_used);
  add_u64(d, "handoff_in_size", w.handoff_in_size);
  int room = RTE_TEL_MAX_DICT_ENTRIES - 16;
  for (const auto& c : w.counters)
    if (c.value != 0 && room-- > 0) add_u64(d, c.name, c.value);
  return 0;
}

// /dorado/pools: the pool labels, in index order for /dorado/pool,<index>.
int cmd_pools(const char*, const char*, rte_tel_data* d) {
  const auto s = telemetry_snapshot();
  if (!s) return -1;
  rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
  for (const auto& p : s->pools) rte_tel_data_add_array_string(d, (p.subnet + " " + p.pool).c_str());
  return 0;
}

int cmd_pool(const char*, const char* params, rte_tel_data* d) {
  const auto s = telemetry_snapshot();
  std::size_t i = 0;
  if (!s || !parse_index(params, s->pools.size(), i)) return -1;
  const PoolStats& p = s->pools[i];
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "subnet", p.subnet.c_str());
  rte_tel_data_add_dict_string(d, "pool", p.pool.c_str());
  add_u64(d, "size", p.size);
  add_u64(d, "used", p.used());
  add_u64(d, "free", p.free);
  return 0;
}

int cmd_ports(const char*, const char*, rte_tel_data* d) {
  const auto s = telemetry_snapshot();
  if (!s) return -1;
  rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
  for (const auto& p : s->ports) rte_tel_data_add_array_int(d, static_cast<int>(p.id));
  return 0;
}

// /dorado/port,<port id>: the NIC statistics dorado reads for that port.
int cmd_port(const char*, const char* params, rte_tel_data* d) {
  const auto s = telemetry_snapshot();
  std::size_t id = 0;
  if (!s || !parse_index(params, RTE_MAX_ETHPORTS, id)) return -1;
  for (const auto& p : s->ports) {
    if (p.id != id) continue;
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_string(d, "device", p.name.c_str());
    for (const auto& c : p.counters) add_u64(d, c.name, c.value);
    return 0;
  }
  return -1;
}

}  // namespace

std::string attach_telemetry(std::shared_ptr<SnapshotBoard> board) {
  {
    std::lock_guard lock(board_mutex());
    board_slot() = std::move(board);
  }
  static const std::string registered = [] {
    struct Cmd {
      const char* name;
      telemetry_cb fn;
      const char* help;
    };
    const Cmd cmds[] = {
        {"/dorado/stats", cmd_stats, "dorado: counters summed over workers, leases by state, journal. No parameters"},
        {"/dorado/workers", cmd_workers, "dorado: worker indices. No parameters"},
        {"/dorado/worker", cmd_worker, "dorado: one worker's counters and gauges. Parameters: int worker index"},
        {"/dorado/pools", cmd_pools, "dorado: pools (subnet and ranges), in index order. No parameters"},
        {"/dorado/pool", cmd_pool, "dorado: size, used, free of one pool. Parameters: int pool index"},
        {"/dorado/ports", cmd_ports, "dorado: port ids. No parameters"},
        {"/dorado/port", cmd_port, "dorado: NIC statistics of one port. Parameters: int port id"},
    };
    for (const Cmd& c : cmds)
      if (const int ret = rte_telemetry_register_cmd(c.name, c.fn, c.help); ret != 0)
        return std::string("telemetry: ") + c.name + ": " + std::strerror(-ret);
    return std::string();
  }();
  return registered;
}

void detach_telemetry() {
  std::lock_guard lock(board_mutex());
  board_slot().reset();
}

std::string pdump_init() {
  if (rte_pdump_init() != 0) return std::string("rte_pdump_init: ") + rte_strerror(rte_errno);
  return {};
}

void pdump_uninit() { rte_pdump_uninit(); }

}  // namespace dorado::obs
