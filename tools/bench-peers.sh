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
if ! command -v kea-dhcp4 >/dev/null || ! command -v perfdhcp >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kea-dhcp4-server kea-admin >/dev/null
fi

KEA_PID=""
start_kea() {
  ip -n "$SRV_NS" addr add 10.99.0.1/16 dev "$SRV_IF"
  cat >"$WORK/kea.json" <<JSON
{"Dhcp4": {"interfaces-config": {"interfaces": ["$SRV_IF"], "dhcp-socket-type": "udp"},
 "lease-database": {"type": "memfile", "persist": false},
 "valid-lifetime": 600,
 "subnet4": [{"id": 1, "subnet": "10.96.0.0/12",
   "pools": [{"pool": "10.97.0.0-10.111.255.255"}],
   "option-data": [{"name": "routers", "data": "10.99.0.1"},
                   {"name": "domain-name-servers", "data": "10.99.0.53, 10.99.0.54"},
                   {"name": "domain-name", "data": "example.net"}]}],
 "loggers": [{"name": "kea-dhcp4", "severity": "WARN", "output_options": [{"output": "stderr"}]}]}}
JSON
  mkdir -p "$WORK/kea-run"
  KEA_PIDFILE_DIR="$WORK/kea-run" KEA_LOCKFILE_DIR="$WORK/kea-run" \
    ip netns exec "$SRV_NS" kea-dhcp4 -c "$WORK/kea.json" >"$WORK/kea.log" 2>&1 &
  KEA_PID=$!
  sleep 2
}
stop_kea() {
  kill -TERM "$KEA_PID" 2>/dev/null || true
  wait "$KEA_PID" 2>/dev/null || true
  ip -n "$SRV_NS" addr flush dev "$SRV_IF"
}

run_rate() {   # run_rate RATE -> "DORA/s discover_drops request_drops client_rcvbuf_drops"
  local out="$WORK/perf-$1.out"
  # Replies lost in perfdhcp's own socket buffer (the client cannot keep up)
  # show as UdpRcvbufErrors in the client namespace: count them per rate.
  ip netns exec "$CLI_NS" nstat -n >/dev/null 2>&1 || true
  ip netns exec "$CLI_NS" timeout $((SECONDS_PER_RATE + 30)) perfdhcp -4 -l "$CLI_IF" -r "$1" \
    -R 10000000 -p "$SECONDS_PER_RATE" -W 1000000 10.99.0.1 >"$out" 2>&1 || true
  local rate d1 d2 acks
  # Completed exchanges over the offered period (perfdhcp's own "Rate:"
  # divides by the period plus the -W wait).
  acks=$(awk '/Statistics for: REQUEST-ACK/{on=1} on && /^received packets:/{print $3; exit}' "$out")
  rate=$(awk -v a="${acks:-0}" -v s="$SECONDS_PER_RATE" 'BEGIN{printf "%.0f", a / s}')
  d1=$(awk '/Statistics for: DISCOVER-OFFER/{on=1} on && /^drops:/{print $2; exit}' "$out")
  d2=$(awk '/Statistics for: REQUEST-ACK/{on=1} on && /^drops:/{print $2; exit}' "$out")
  local rcvbuf
  rcvbuf=$(ip netns exec "$CLI_NS" nstat -z UdpRcvbufErrors 2>/dev/null | awk '$1=="UdpRcvbufErrors"{print $2}')
  echo "${rate:-?} ${d1:-?} ${d2:-?} ${rcvbuf:-?}"
}

make_world
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"
# Every perfdhcp client is new: one million addresses, so that no rate runs
# out of them (20000/s for 10 s needs 200,000).
PREFIX='prefix = "10.96.0.0/12"'
POOLS='pools = ["10.97.0.0-10.111.255.255"]'
printf '| server | offered /s | DORA/s done | DISCOVER drops | REQUEST drops | of which lost in perfdhcp socket |\n|---|---|---|---|---|---|\n' >"$WORK/table.md"
for server in $SERVERS; do
  case $server in
    dorado*)
      spec=${server#dorado}
      workers=${spec%%-*}
      durability=fsync; [ "$spec" = "$workers" ] || durability=${spec#*-}
      rm -rf "$WORK/store"
      write_config "$WORK/dorado.toml" "$workers"
      sed -i "s|^prefix = .*|$PREFIX|; s|^pools = .*|$POOLS|; s|^dir = .*|&\ndurability = \"$durability\"|" "$WORK/dorado.toml"
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
