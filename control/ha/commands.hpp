// The control API's HA commands, with Kea's names and shapes (docs/ha.md
// "Control API", docs/control-api.md):
//   status-get            pid, uptime and, with [ha], "high-availability"
//                         (Kea's shape: this server's and the partner's
//                         state, role, scopes) plus dorado's "ha" part (the
//                         sequence numbers each side has acknowledged)
//   ha-heartbeat          state, date-time, unsent-update-count
//   ha-maintenance-start  this server serves alone, the partner goes to
//                         in-maintenance (may then be stopped)
//   ha-maintenance-cancel
//   ha-continue           accepted for Kea compatibility (dorado's state
//                         machine never pauses)
//   ha-sync               resync every lease from the partner (full transfer)
// Without [ha] the ha-* commands answer an error and status-get has no HA part.
//
// Threads: the control thread only.
#pragma once

#include <cstdint>
#include <functional>

#include "api/commands.hpp"
#include "ha/service.hpp"

namespace dorado::ha {

// `service` may be null (no [ha]); it must outlive the table otherwise.
// now_ms: the monotonic clock the service ticks with.
void register_ha_commands(api::CommandTable& table, Service* service, std::function<std::uint64_t()> now_ms);

}  // namespace dorado::ha
