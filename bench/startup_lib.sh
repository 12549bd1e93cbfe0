# shellcheck shell=bash
# What the start-up benchmarks share (sourced): bench/recovery.sh,
# bench/handover_ab.sh and bench/first_ack.sh start dorado with 1 worker on
# a store of leases in bench/kea_leases.py's 10.0.0.0/8 pool.

# startup_config STORE_DIR VDEV FILE_PREFIX IDLE_SLEEP_US: prints the
# config (one DPDK port VDEV, e.g. "net_null0"; no hugepages, 256 MB).
startup_config() {
  cat <<TOML
[server]
address = "10.0.0.1"
[dpdk]
eal_args = ["--no-pci", "--no-huge", "-m", "256", "--vdev=$2", "-l", "0-1",
            "--file-prefix=$3", "--log-level=*:error"]
workers = 1
idle_sleep_us = $4
[store]
dir = "$1"
[[subnet]]
prefix = "10.0.0.0/8"
pools = ["10.0.0.10-10.255.255.250"]
lease_time = 86400
TOML
}
