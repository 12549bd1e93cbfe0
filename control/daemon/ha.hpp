// The daemon's HA wiring (docs/ha.md): builds the ha::Service from [ha] and
// plugs it into the runtime (admin rings, what the shards answer, partner
// blocks through the Reloader) and the control loop (serve.cpp calls tick(),
// routes HA admin replies, asks durable_limit() before publishing durable
// seqs). Absent without [ha].
//
// Threads: the control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "daemon/reload.hpp"
#include "ha/service.hpp"
#include "runtime/runtime.hpp"
#include "store/store.hpp"

namespace dorado::daemon {

class HaWiring {
 public:
  struct Created {
    std::unique_ptr<HaWiring> wiring;
    std::string error;
  };
  // `while_waiting` keeps the journal going while a partner-blocks switch
  // waits for the workers (as reloads do).
  static Created create(const config::DaemonConfig& config, store::Store& store, runtime::Runtime& rt,
                        Reloader& reloader, std::function<void(const std::string&)> log,
                        std::function<void()> while_waiting, std::uint64_t now_ms);
  ~HaWiring();

  void tick(std::uint64_t now_ms);
  ha::Service& service() noexcept { return *service_; }

 private:
  class Host;
  HaWiring() = default;
  std::unique_ptr<Host> host_;
  std::unique_ptr<ha::Service> service_;
};

// ha::ServiceSettings from a loaded [ha] (enabled). Pure.
ha::ServiceSettings ha_settings(const config::DaemonConfig& config);

}  // namespace dorado::daemon
