// The DPDK hooks of observability, called from the main thread after the
// EAL is up: the /dorado/... telemetry commands, served by DPDK's telemetry
// thread from a SnapshotBoard (see snapshot.hpp for who reads what), and
// the packet-capture server that dpdk-dumpcap attaches to (rte_pdump).
#pragma once

#include <memory>
#include <string>

#include "obs/snapshot.hpp"

namespace dorado::obs {

// Registers the /dorado/... telemetry commands (once per process; later
// calls only switch the board). Until detach_telemetry() the callbacks
// read `board` (fresh(), waiting up to 200 ms for the control thread);
// afterwards they answer an error. Returns "" or an error text.
std::string attach_telemetry(std::shared_ptr<SnapshotBoard> board);
void detach_telemetry();

// rte_pdump_init(): lets dpdk-dumpcap / dpdk-pdump (secondary processes with
// the same --file-prefix) capture the ports' traffic. Returns "" or an
// error. pdump_uninit() at stop.
std::string pdump_init();
void pdump_uninit();

}  // namespace dorado::obs
