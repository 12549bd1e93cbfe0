#!/usr/bin/env bash
# DORA/s of dorado (1 and 2 workers) and kea-dhcp4 side by side, measured
# with perfdhcp over the same veth pair in network namespaces.
#
#   tools/bench-peers.sh [--seconds N] [--rates "2000 5000 10000 20000"]
#                        [--servers "dorado1 dorado2 kea"] [--build DIR]
#
# A dorado server is dorado<workers>[-<durability>]: dorado2-async,
# dorado1-off, ...; without a suffix durability is "fsync" (the default,
# journal in the work dir under /tmp, i.e. on this machine's disk).
#
# perfdhcp acts as a relay (giaddr = 10.99.0.2) and offers each rate for N
# seconds with fresh clients; the table gives the 4-way exchanges per second
# it completed and the DISCOVER and REQUEST drops. On a 2-core machine
# perfdhcp, the server and the kernel's veth share two CPUs: the figures
# measure this box, not the server alone. Needs root.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SECONDS_PER_RATE=10
RATES="2000 5000 10000 20000 40000"
SERVERS="dorado1 dorado2 kea"
BUILD="$ROOT/build"
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) SECONDS_PER_RATE=$2; shift 2 ;;
    --rates) RATES=$2; shift 2 ;;
    --servers) SERVERS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
export DORADO_BIN="$BUILD/control/daemon/dorado" E2E_NAME=bench   # read by lib.sh
# shellcheck source=../tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
require_env
"$ROOT/tools/setup-deps.sh" >/dev/null
# shellcheck source=peers-lib.sh
source "$ROOT/tools/peers-lib.sh"
ensure_peers

run_rate() { perfdhcp_rate "$1" "$SECONDS_PER_RATE"; }   # -> "DORA/s d1 d2 rcvbuf"

make_world
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"
# Every perfdhcp client is new: one million addresses (peers-lib.sh), so
# that no rate runs out of them (20000/s for 10 s needs 200,000).
printf '| server | offered /s | DORA/s done | DISCOVER drops | REQUEST drops | of which lost in perfdhcp socket |\n|---|---|---|---|---|---|\n' >"$WORK/table.md"
for server in $SERVERS; do
  case $server in
    dorado*)
      spec=${server#dorado}
      workers=${spec%%-*}
      durability=fsync; [ "$spec" = "$workers" ] || durability=${spec#*-}
      rm -rf "$WORK/store"
      bench_dorado_config "$WORK/dorado.toml" "$workers" "$durability"
      start_dorado "$WORK/dorado.toml" ;;
    kea) command -v kea-dhcp4 >/dev/null || { log "kea-dhcp4 missing, skipped"; continue; }
      start_kea ;;
    *) echo "unknown server $server" >&2; exit 2 ;;
  esac
  for rate in $RATES; do
    read -r dora d1 d2 rcvbuf < <(run_rate "$rate")
    label=$server; [ "$server" = kea ] || label="dorado, $workers worker(s), $durability"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$rate" "$dora" "$d1" "$d2" "$rcvbuf" | tee -a "$WORK/table.md"
  done
  case $server in
    dorado*) stop_dorado
      log "dorado answered: $(counter engine.tx_offer) OFFERs to $(counter engine.rx_discover) DISCOVERs, $(counter engine.tx_ack) ACKs; port imissed $(awk '/^port 0:/{on=1} on && $1=="imissed"{print $2; exit}' "$WORK/dorado.out")"
      [ "$durability" != fsync ] || log "ACKs waited for the journal: p50 $(counter ack_hold_ns.p50) ns, p99 $(counter ack_hold_ns.p99) ns, p99.9 $(counter ack_hold_ns.p999) ns, max $(counter ack_hold_ns.max) ns" ;;
    kea) stop_kea ;;
  esac
done
echo
cat "$WORK/table.md"
