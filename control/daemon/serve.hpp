// The daemon's life after the config is loaded and the EAL is up: open the
// store (recovery), build the runtime, hand every shard its leases, open the
// ports, then run the control loop on this (the main) thread until
// SIGINT/SIGTERM (or the API's shutdown): drain lease changes into the store, group-commit, publish
// durable sequence numbers to the workers, log store trouble, print counters
// on SIGUSR1, serve the control socket (control/api), reload the config on
// SIGHUP or config-reload (daemon/reload.hpp). Stops in the order that loses
// nothing: workers, last records,
// final commit (and snapshot).
//
// Threads: the main thread only (the store runs its own snapshot thread).
#pragma once

#include <csignal>
#include <string>

#include "config/config.hpp"
#include "engine/config.hpp"
#include "runtime/runtime.hpp"

namespace dorado::daemon {

struct ServeOptions {
  bool stats_on_exit = true;
  // The running config file: read again on SIGHUP and config-reload
  // (daemon/reload.hpp); config-get and config-test (control API).
  std::string config_path;
};

// Returns the process exit code: 0 after a clean stop, 2 when the store or
// the runtime cannot start (the reason is printed).
int serve(const config::DaemonConfig& config, const engine::CompiledConfig& compiled,
          runtime::RuntimeConfig rcfg, const sigset_t& signals, const ServeOptions& options);

}  // namespace dorado::daemon
