// dorado's configuration file (TOML) -> validated plain structs.
//
// Who calls it: the control thread on the main lcore, at start-up, on reload
// and for `dorado --check-config`. Never a worker lcore. The functions are
// reentrant and share no state, so any thread may call them; the result is a
// plain value owned by the caller.
//
// What it does: parses the TOML text, checks every key (unknown keys are
// errors, so typos never pass silently), every type and value, and the
// relations between values (overlapping subnets and pools, reservations,
// lease times, ...), collecting ALL errors it can find rather than stopping
// at the first. Only a config without errors is then compiled with
// engine::compile(); its error, if any, is reported the same way. A reload
// that gets errors must change nothing (DESIGN.md, "Config and reload").
//
// Errors: never thrown. Each error names the file, the line and the key
// (see ConfigError). Line 0 means "no particular line" (a missing section,
// an unreadable file, a whole-config error from engine::compile()).
//
// Cost: O(file size) to parse plus O(subnets, pools, reservations, options *
// log of each) to validate, plus engine::compile() (a few ms for millions of
// addresses). It allocates freely; not for the hot path.
//
// The keys, their types, defaults and meaning are the user contract
// documented in README.md ("Configuration"); tools/dorado.example.toml is the
// commented reference file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"

namespace dorado::config {

// [server]
struct ServerSection {
  engine::Ipv4 address = 0;   // server identifier; answers ARP and ping. Required.
                              // Also copied to engine.server_address.
};

// [dpdk]: how the runtime sets up DPDK. Read at start-up only (a reload
// that changes it reports nothing here; the daemon decides what to do).
struct DpdkSection {
  std::vector<std::string> eal_args;   // passed to rte_eal_init after argv[0]
  unsigned workers = 1;                // worker lcores (1..128); the main lcore is control
  unsigned idle_sleep_us = 0;          // >0: a worker sleeps this long when RX is empty
  std::vector<std::uint16_t> ports;    // DPDK port ids to use; empty = all probed
  unsigned mbufs = 0;                  // mbufs per port; the loader fills in the default
                                       // (default_mbufs()) when the key is absent
  unsigned rx_desc = 1024;             // RX descriptors per queue
  unsigned tx_desc = 1024;             // TX descriptors per queue
  unsigned burst = 32;                 // rx/tx burst size (1..512)
};

// Default mbufs per port when [dpdk] mbufs is absent: every worker's RX and TX
// rings full, plus 4096 per worker for handoff rings, the per-lcore mempool
// cache and ACKs held until durable; rounded up to 2^n - 1 (the mempool's
// best size) and at least 8191.
unsigned default_mbufs(unsigned workers, unsigned rx_desc, unsigned tx_desc) noexcept;

enum class Durability : std::uint8_t {
  fsync,   // ACK only after the lease record is on disk (default)
  async,   // ACK at once; the journal follows behind
  off,     // no journal: leases are forgotten at restart (benchmarks only)
};

// [store] (control/store/store.hpp StoreOptions has the same meaning)
struct StoreSection {
  std::string dir = "/var/lib/dorado";   // journal segments and snapshots
  Durability durability = Durability::fsync;
  unsigned commit_interval_us = 1000;    // group commit: at most this long between fsyncs
  unsigned commit_records = 16384;       // ... or as soon as this many records wait
  unsigned segment_mb = 64;              // journal segment size before a new one
  std::uint64_t snapshot_records = 4'000'000;   // journal records that trigger a snapshot
  bool snapshot_on_exit = true;          // write a snapshot at a clean stop
};

// [control]
struct ControlSection {
  std::string socket = "/run/dorado/dorado.sock";   // control API (AF_UNIX, < 108 bytes)
  // Prometheus endpoint (GET /metrics): `metrics = "ADDRESS:PORT"`, IPv4;
  // "" or "off" disables it (metrics_enabled false).
  bool metrics_enabled = true;
  engine::Ipv4 metrics_address = 0x7f000001;   // 127.0.0.1
  std::uint16_t metrics_port = 9167;
  // Log a (rate-limited) warning when a pool's used addresses reach this
  // percentage of its size; 0 disables the warning.
  unsigned pool_warn_percent = 90;
};

struct DaemonConfig {
  ServerSection server;
  DpdkSection dpdk;
  StoreSection store;
  ControlSection control;
  // Subnets in file order (each with its `relay` list in
  // engine::SubnetConfig::relays), options encoded, lease defaults from [lease].
  engine::EngineConfig engine;
};

struct ConfigError {
  std::string file;      // the path as given to load_config_file, or the name
  unsigned line = 0;     // 1-based; 0 = no particular line
  std::string key;       // e.g. "subnet[1].pools[0]", "dpdk.workers"; empty
                         // for syntax errors and unreadable files
  std::string message;   // may name a second place: "... (a.toml:5)"
  // "FILE:LINE: key: message" ("FILE:LINE: message" when key is empty).
  std::string to_string() const;
};

struct LoadResult {
  std::optional<DaemonConfig> config;               // set iff errors is empty
  std::optional<engine::CompiledConfig> compiled;   // compile(config->engine); set iff errors is empty
  std::vector<ConfigError> errors;                  // in file order (by line)
  bool ok() const noexcept { return errors.empty(); }
};

// Reads, validates and compiles the file at `path`. Never throws.
LoadResult load_config_file(const std::string& path);

// Same for text already in memory; `name` stands for the file in errors.
LoadResult load_config_string(std::string_view toml, const std::string& name);

}  // namespace dorado::config
