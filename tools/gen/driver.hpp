// dorado-gen's DPDK layer: EAL, one port with one RX and one TX queue
// (promiscuous: replies go to many client MACs), and the poll loop that
// feeds a Generator on the main lcore. No DPDK type appears here.
//
// Threads: everything runs on the calling (main) thread; request_stop() is
// async-signal-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gen/generator.hpp"

namespace dorado::gen {

struct DriverOptions {
  std::vector<std::string> eal_args;   // without argv[0]
  std::uint16_t port = 0;
  bool progress = true;                // a line per second on stderr
  std::uint16_t rx_desc = 4096, tx_desc = 4096;
  // > 0: sleep this long when a loop received nothing and had nothing to
  // send (a machine shared with the server); 0: busy polling.
  unsigned idle_sleep_us = 0;
};

struct DriverResult {
  int exit_code = 0;
  std::string error;                   // set when the EAL or the port failed
  std::string json;                    // the Generator's report
  Counters counters{};                 // of the measured phase
  runtime::LatencySummary latency{};   // whole operation, us
  double per_sec = 0;                  // completed operations per second
  std::array<std::uint64_t, kStates> states{};   // clients in each State at the end
  std::uint64_t ll_held = 0;           // clients holding a link-local address at the end
  std::string port_stats;              // "ipackets ... imissed ... oerrors ..."
};

// Initialises the EAL, sets up the port, runs the generator to its end (or
// until request_stop()) and releases everything.
DriverResult run_driver(const DriverOptions& options, GenConfig config);
void request_stop() noexcept;

}  // namespace dorado::gen
