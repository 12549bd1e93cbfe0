// The daemon-level commands: version-get, config-get, config-test,
// statistic-get-all, statistic-get, statistic-reset(-all), shutdown. The
// daemon passes what they need as plain values and callbacks, so the api
// library knows nothing of the runtime.
//
// Threads: the control thread only (handlers and the callbacks run there).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "api/commands.hpp"
#include "config/config.hpp"

namespace dorado::api {

using CounterList = std::vector<std::pair<std::string, std::uint64_t>>;

// Statistics as the API shows them: the runtime's counters summed over
// workers (dorado's names, docs/operations.md "Counters"), plus Kea's names where Kea has
// the statistic (pkt4-received, pkt4-discover-received, pkt4-offer-sent,
// pkt4-ack-sent, pkt4-nak-sent, pkt4-receive-drop, ...), minus a baseline
// taken by statistic-reset: the workers' counters are written by the workers
// only and never reset.
class Statistics {
 public:
  explicit Statistics(std::function<CounterList()> source) : source_(std::move(source)) {}
  // Current values (after the baseline), every known name.
  std::map<std::string, std::uint64_t> current() const;
  // Resets one statistic (false: no such name) or all of them.
  bool reset(const std::string& name);
  void reset_all();

 private:
  std::map<std::string, std::uint64_t> raw() const;
  std::function<CounterList()> source_;
  std::map<std::string, std::uint64_t> baseline_;
};

// Kea-named statistics derived from dorado's counter totals (pure).
std::map<std::string, std::uint64_t> with_kea_names(const CounterList& totals);

// What config-reload reports: whether the new config is in force, and the
// lines the daemon logged about it (FILE:LINE errors, or the summary).
struct ReloadOutcome {
  bool ok = false;
  std::vector<std::string> lines;
};

struct DaemonHooks {
  std::string version;                       // "0.1.0" (CMake project version)
  // The config in force (updated in place by a reload); outlives the table.
  const config::DaemonConfig* config = nullptr;
  std::string config_path;                   // the running config file
  std::function<void()> shutdown;            // stop like SIGTERM (after answering)
  // config-reload: read the config file again and apply it (the daemon's
  // Reloader; blocks the control loop for the load, compile and switch).
  std::function<ReloadOutcome()> reload;
  // config-write: the text of the config in force (the file as last loaded).
  std::function<std::string()> config_text;
};

// Registers version-get, config-get, config-test, config-reload,
// config-write, split-scope-get, statistic-get-all, statistic-get,
// statistic-reset, statistic-reset-all and shutdown. `stats` must outlive
// the table.
//
// config-write {"filename": F} (default: the running config file) writes the
// text of the config in force to F (a temporary file beside it, fsynced, then
// renamed over F): a copy that reproduces the running server, like Kea's
// config-write. It blocks the control loop for one small write and fsync.
// split-scope-get: with [split_scope], every pool's parts (this server's and
// the others'), as `dorado --show-split-scope` prints them.
void register_daemon_commands(CommandTable& table, Statistics& stats, DaemonHooks hooks);

// config::DaemonConfig as JSON (config-get): every section and key with the
// values in use (defaults included), addresses and ranges in their text forms.
Json config_json(const config::DaemonConfig& config);

}  // namespace dorado::api
