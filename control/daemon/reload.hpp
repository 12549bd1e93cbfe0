// Config reload (SIGHUP, and the control API's `config-reload`): read the
// file again, validate it whole, refuse changes that need a restart, compile
// it and switch every worker to it (runtime::Runtime::reconfigure, RCU).
// Whatever goes wrong, dorado keeps serving with the config it had.
//
// Ownership and threads: one Reloader per daemon, owned by serve() and used
// only by the control thread (the thread that runs the control loop; the
// control API calls reload() from there too). It owns every CompiledConfig
// it made; the one given at construction belongs to the caller and must
// outlive the Reloader. Cost: a config load and compile (ms for large
// configs) plus each worker's switch (Shard::reconfigure: O(lease table),
// measured in docs/operations.md "Reload"), during which reload() keeps calling
// `while_waiting` so that lease changes keep being committed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "engine/config.hpp"
#include "runtime/runtime.hpp"

namespace dorado::daemon {

struct ReloadResult {
  bool ok = false;
  // On failure the reasons, one per line ("FILE:LINE: key: message", as
  // --check-config prints them) then "reload refused: ..."; on success one
  // summary line (leases kept, leases outside the new pools, pause).
  std::vector<std::string> lines;
  // On success: the addresses of each pool of the new config (file order,
  // pool_ranges()) as the workers now count them (Runtime::watch_pools).
  std::vector<std::uint64_t> pool_sizes;
};

// Every pool range of `config`, subnets and their pools in file order: the
// pools whose free addresses the workers count (Runtime::watch_pools).
std::vector<engine::AddressRange> pool_ranges(const engine::EngineConfig& config);

class Reloader {
 public:
  // `running` and `compiled`: the config dorado started with (compiled must
  // outlive the Reloader). Reads the file's text once more (config_text()).
  Reloader(std::string path, const config::DaemonConfig& running,
           const engine::CompiledConfig& compiled, runtime::Runtime& runtime);
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // Loads `path` again and, if it is valid and changes nothing that needs a
  // restart, switches the workers to it. Control thread only; not reentrant:
  // `while_waiting` must not reload (it should only keep the journal going).
  ReloadResult reload(const std::function<void()>& while_waiting);

  // The config in force (the last one reload() applied), its compiled form
  // (valid until the next successful reload) and the text of the file it
  // was read from (config-write).
  const config::DaemonConfig& config() const noexcept { return running_; }
  const engine::CompiledConfig& compiled() const noexcept { return current_ ? *current_ : *initial_; }
  const std::string& config_text() const noexcept { return text_; }
  const std::string& path() const noexcept { return path_; }

  // HA partner-down past the MCLT (docs/ha.md): switches every shard to the
  // config in force with HaConfig::all_blocks = on (allocate in the
  // partner's blocks too), and keeps that setting across later reloads.
  ReloadResult set_ha_all_blocks(bool on, const std::function<void()>& while_waiting);

 private:
  std::string path_;
  config::DaemonConfig running_;
  const engine::CompiledConfig* initial_;
  std::string text_;
  runtime::Runtime& runtime_;
  std::unique_ptr<engine::CompiledConfig> current_;   // null: still the caller's
  bool ha_all_blocks_ = false;                        // set_ha_all_blocks()
  // Configs a timed-out switch may still be using: never freed.
  std::vector<std::unique_ptr<engine::CompiledConfig>> stranded_;
};

}  // namespace dorado::daemon
