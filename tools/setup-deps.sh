#!/usr/bin/env bash
# Installs what dorado's build and tests need on Debian 12 (bookworm).
#
# Idempotent and quick on re-runs: when every package below is already
# installed (dpkg-query), apt is not touched at all. Otherwise it installs the
# missing ones, running `apt-get update` only when there are no package lists
# yet or when the install fails on stale ones. Needs root, or sudo.
#
# Usage: tools/setup-deps.sh [--list]   (--list: print the package names)
set -euo pipefail

packages=(
  build-essential cmake pkg-config g++   # C++20 toolchain, CMake >= 3.25
  clang libclang-rt-14-dev               # libFuzzer + sanitizers for build-fuzz/
  libdpdk-dev                            # dataplane/runtime
  libtoml11-dev                          # control/config
  googletest libgtest-dev libgmock-dev   # tests/
  libbenchmark-dev                       # bench/
  libpcap-dev nlohmann-json3-dev libcli11-dev   # tools/decode
  libxxhash-dev                          # client-key hashing
  # tests/e2e: namespaces, real DHCP clients, perfdhcp, scapy probes
  iproute2 ethtool iputils-ping iputils-arping
  isc-dhcp-client udhcpc kea-admin python3-scapy
  kea-doc                                # tests: Kea's example configs for dorado-migrate (migrate_kea_examples)
  kea-dhcp4-server                       # tests: e2e_kea_migration (a real Kea's lease file); bench/compare.sh
  tcpdump                                # tests/e2e: client-side captures (crash, disk full)
  dpdk-dev                               # dpdk-telemetry.py, dpdk-dumpcap (tests/e2e/metrics_test.sh)
  socat                                  # tests/e2e: raw requests to the control socket (api)
  libssl-dev                             # control/ha: the HA link's mutual TLS (OpenSSL)
  openssl                                # tests/ha: the link test makes its certificates with the CLI
  pandoc man-db file                     # packaging: man pages from docs/man/, the man and package tests
  libsystemd-dev                         # control/daemon: sd_notify for dorado.service (Type=notify)
  libldns-dev                            # control/ddns: DNS UPDATE messages and their parsing (ldns)
  bind9                                  # tests/ddns: a real named taking the updates, in a namespace
  bind9-dnsutils                         # tests/ddns: dig, checking the records named holds
)

if [[ ${1:-} == --list ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--list]" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "setup-deps: root (or sudo) is needed to install: ${missing[*]}" >&2
    exit 1
  fi
  sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
echo "setup-deps: installing ${missing[*]}"
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  "${sudo[@]}" apt-get update
fi
if ! "${sudo[@]}" apt-get install -y "${missing[@]}"; then
  echo "setup-deps: install failed; refreshing the package lists and retrying"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y "${missing[@]}"
fi
