// The daemon's life after the config is loaded and the EAL is up: take the
// store's recovery (StoreRecovery, started before the EAL), build the runtime, hand every shard its leases, open the
// ports, then run the control loop on this (the main) thread until
// SIGINT/SIGTERM (or the API's shutdown): drain lease changes into the store, group-commit, publish
// durable sequence numbers to the workers, log store trouble, print counters
// on SIGUSR1, serve the control socket (control/api), reload the config on
// SIGHUP or config-reload (daemon/reload.hpp). Stops in the order that loses
// nothing: workers, last records,
// final commit (and snapshot).
//
// Threads: the main thread only (the store runs its own snapshot thread;
// StoreRecovery its recovery thread until serve() takes the store).
#pragma once

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "engine/config.hpp"
#include "runtime/runtime.hpp"
#include "store/store.hpp"

namespace dorado::daemon {

struct ServeOptions {
  bool stats_on_exit = true;
  // The running config file: read again on SIGHUP and config-reload
  // (daemon/reload.hpp); config-get and config-test (control API).
  std::string config_path;
};

// The store's recovery (snapshot and journal into its mirror) on a thread
// of its own, started by main() as soon as the config is loaded, before the
// EAL starts, so that recovery overlaps the EAL, the ports and the shards
// (docs/operations.md "Start-up time"). Nothing runs when durability is
// "off". Threads: made and joined by the main thread; the recovery thread
// touches only the Store it opens until take() joins it.
class StoreRecovery {
 public:
  StoreRecovery(const config::DaemonConfig& config, unsigned workers);
  ~StoreRecovery();   // joins a recovery still running
  StoreRecovery(const StoreRecovery&) = delete;
  StoreRecovery& operator=(const StoreRecovery&) = delete;

  bool durable() const noexcept { return durable_; }
  // Waits for the recovery, then hands its outcome over (once).
  store::Store::Opened take();
  // When the recovery was started.
  std::chrono::steady_clock::time_point started() const noexcept { return started_; }

 private:
  bool durable_;
  std::chrono::steady_clock::time_point started_;
  store::Store::Opened opened_;
  std::thread thread_;
};

// Returns the process exit code: 0 after a clean stop, 2 when the store or
// the runtime cannot start (the reason is printed). `recovery` was made from
// the same config.
int serve(const config::DaemonConfig& config, const engine::CompiledConfig& compiled,
          runtime::RuntimeConfig rcfg, const sigset_t& signals, const ServeOptions& options,
          StoreRecovery& recovery);

}  // namespace dorado::daemon
