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
// workers (dorado's names, README "Counters"), plus Kea's names where Kea has
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

struct DaemonHooks {
  std::string version;                       // "0.1.0" (CMake project version)
  const config::DaemonConfig* config = nullptr;   // as loaded; outlives the table
  std::string config_path;                   // the running config file
  std::function<void()> shutdown;            // stop like SIGTERM (after answering)
};

// Registers version-get, config-get, config-test, statistic-get-all,
// statistic-get, statistic-reset, statistic-reset-all and shutdown.
// `stats` must outlive the table.
void register_daemon_commands(CommandTable& table, Statistics& stats, DaemonHooks hooks);

// config::DaemonConfig as JSON (config-get): every section and key with the
// values in use (defaults included), addresses and ranges in their text forms.
Json config_json(const config::DaemonConfig& config);

}  // namespace dorado::api
