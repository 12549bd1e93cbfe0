// The daemon's DDNS wiring (docs/dns.md): the ddns::Service made from
// [ddns], and what the rest of the daemon reads from it: statistics
// ("ddns.<counter>", "ddns.queue_depth", "ddns.oldest_wait_s"), the metrics'
// `ddns` part and the lease answers' DNS fields. serve.cpp holds one while
// [ddns] is configured (a reload may add or remove the section).
//
// Threads: the control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/builtin.hpp"
#include "api/leases.hpp"
#include "config/config.hpp"
#include "ddns/service.hpp"
#include "obs/snapshot.hpp"
#include "store/store.hpp"

namespace dorado::daemon {

class DdnsWiring {
 public:
  struct Created {
    std::unique_ptr<DdnsWiring> wiring;
    std::string error;
  };
  static Created create(const config::DaemonConfig& config, store::Store& store,
                        std::function<void(const std::string&)> log, std::uint64_t now_ms);

  ddns::Service& service() noexcept { return *service_; }
  void tick(std::uint64_t now_ms) { service_->tick(now_ms); }
  void reconfigure(const config::DaemonConfig& config);
  // Appends ddns.* to the statistics' counter totals.
  void add_counters(api::CounterList& out, std::uint64_t now_ms) const;
  obs::DdnsStats stats(std::uint64_t now_ms) const;
  std::optional<api::LeaseDnsView> view(wire::Ipv4 address) const;

 private:
  DdnsWiring() = default;
  std::unique_ptr<ddns::Service> service_;
};

}  // namespace dorado::daemon
