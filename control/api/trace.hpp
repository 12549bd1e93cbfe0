// The targeted trace's commands (docs/control-api.md, docs/operations.md
// "Tracing one client"): which client to follow and what each worker saw
// and decided for it.
//
//   trace-start  exactly one of hw-address (MAC), client-id (hex), circuit-id
//                (hex, or 'text' in single quotes), subnet-id (integer); count
//                (records per worker, 1..1024, default 100). Replaces the
//                trace under way (its records are dropped).
//   trace-get    the records so far: {"active", "filter", "count", "records":
//                [...], "full": [workers], "waiting": [workers]}; each record
//                as trace_record_json() writes it.
//   trace-stop   no more records; they stay readable until the next start.
//
// The api library knows nothing of the runtime: the daemon passes what the
// commands need as callbacks (TraceHooks). Threads: the control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "api/commands.hpp"
#include "api/protocol.hpp"
#include "config/config.hpp"
#include "engine/trace.hpp"

namespace dorado::api {

// What trace-get shows (the daemon fills it from runtime::Runtime::trace_read).
struct TraceView {
  std::uint64_t session = 0;    // 0: no trace was started
  bool active = false;
  engine::TraceFilter filter;
  std::vector<std::pair<unsigned, engine::TraceRecord>> records;   // (worker, record)
  std::vector<unsigned> full;      // workers that took `count` records
  std::vector<unsigned> waiting;   // workers that have not taken the last start or stop yet
};

struct TraceHooks {
  std::function<void(const engine::TraceFilter&)> start;
  std::function<bool()> stop;   // false: no trace was on
  std::function<TraceView()> read;
  // The config in force, for the records' subnets and pools (may be null).
  std::function<const config::DaemonConfig*()> config;
};

// trace-start's arguments as a filter; nullopt with the error in `a`.
std::optional<engine::TraceFilter> trace_filter_of(const Json& arguments, std::string& error);
// {"hw-address": "02:..."} (or client-id, circuit-id, subnet-id) and "count".
Json trace_filter_json(const engine::TraceFilter& f);
// One record: worker, time (UTC), type, xid, hw-address, client-id, the
// request's addresses, the subnet (id, prefix, how it was chosen), the
// outcome (OFFER/ACK/NAK with the address, its pool or reservation, the
// lease time and the reply's destination; NAK with its reason; drop with
// the DropReason name and text; silent), as JSON.
Json trace_record_json(unsigned worker, const engine::TraceRecord& r, const config::DaemonConfig* config);

// Registers trace-start, trace-get and trace-stop.
void register_trace_commands(CommandTable& table, TraceHooks hooks);

}  // namespace dorado::api
