#!/usr/bin/env bash
# The same load against dorado and against kea-dhcp4, one after the other in
# one run, over one veth pair in network namespaces; prints a side-by-side
# table with the ratio.
#
#   bench/compare.sh [--clients N] [--seconds S] [--gen-window W] [--perf-rate R]
#                    [--workers W] [--durability off|async|fsync] [--kea-threads T]
#                    [--build DIR]
#
# Loads (both as a relay agent, since kea-dhcp4 on UDP sockets serves
# relayed clients only):
#   dorado-gen  --mode dora --rate max with at most W DORAs in flight
#               (default 32: more overflows kea's packet queue, and every
#               lost packet then costs a client a 2 s retransmission wait),
#               N fresh clients (default 200000) or S seconds (default 10),
#               relay 10.99.0.3 (dorado-gen answers ARP for it)
#   perfdhcp    -r R (default 10000) fresh clients per second for S seconds,
#               relay 10.99.0.2 (the client namespace's kernel address)
# Servers: dorado with W workers (default 1) and [store] durability (default
# off) vs kea-dhcp4 memfile (persisted unless durability is off),
# multi-threaded with T threads (default 2) and a packet queue of 64. The
# table gives completed DORAs per second; the lines under it what limited
# each run. Bounded: every run has a timeout; everything is torn down on exit.
# Needs root, dorado and dorado-gen built in --build (default build/).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CLIENTS=200000
SECS=10
GEN_WINDOW=32
PERF_RATE=10000
WORKERS=1
DURABILITY=off
KEA_THREADS=2
BUILD="$ROOT/build"
while [ $# -gt 0 ]; do
  case $1 in
    --clients) CLIENTS=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --gen-window) GEN_WINDOW=$2; shift 2 ;;
    --perf-rate) PERF_RATE=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --durability) DURABILITY=$2; shift 2 ;;
    --kea-threads) KEA_THREADS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
export DORADO_BIN="$BUILD/control/daemon/dorado" E2E_NAME=${E2E_NAME:-compare}   # read by lib.sh
GEN_BIN="$BUILD/tools/gen/dorado-gen"
# shellcheck source=../tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
# shellcheck source=../tools/peers-lib.sh
source "$ROOT/tools/peers-lib.sh"
require_env
[ -x "$GEN_BIN" ] || { log "dorado-gen not built: $GEN_BIN"; exit 1; }
ensure_peers
KEA_PERSIST=true; [ "$DURABILITY" != off ] || KEA_PERSIST=false

GEN_GIADDR=10.99.0.3
make_world
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"   # perfdhcp's relay address

RUN=0
# gen_run RUN -> "DORA/s completed offered timeouts retransmits p50_us p99_us active_s"
gen_run() {
  local out="$WORK/gen-$1.out"
  # Fresh MACs per run: 02:00:0R:00:00:00 + i.
  ip netns exec "$CLI_NS" timeout $((2 * SECS + 30)) "$GEN_BIN" --no-pci --no-huge -m 512 \
    "--vdev=net_af_packet0,iface=$CLI_IF" --lcores=0@$(( $(nproc) > 1 ? 1 : 0 )) \
    "--file-prefix=dorado-gen-$E2E_NAME" "--log-level=*:error" -- \
    --mode dora --clients "$CLIENTS" --rate max --duration "$SECS" \
    --giaddr "$GEN_GIADDR" --server-ip 10.99.0.1 --first-mac "02:00:0$1:00:00:00" --window "$GEN_WINDOW" \
    --json --quiet >"$out" 2>"$WORK/gen-$1.err" || true
  tail -n 1 "$out" | python3 -c '
import json, sys
try:
    j = json.load(sys.stdin)
    print(round(j["dora_per_sec"]), j["completed"], j["offered"], j["timeouts"], j["retransmits"],
          j["latency_us"]["p50"], j["latency_us"]["p99"], j["active_s"])
except Exception:
    print("? ? ? ? ? ? ? ?")'
}

declare -A R
for server in dorado kea; do
  case $server in
    dorado)
      rm -rf "$WORK/store"
      bench_dorado_config "$WORK/dorado.toml" "$WORKERS" "$DURABILITY"
      start_dorado "$WORK/dorado.toml" ;;
    kea) start_kea "$KEA_THREADS" "$KEA_PERSIST" ;;
  esac
  RUN=$((RUN + 1))
  read -r dps done offered timeouts retrans p50 p99 active < <(gen_run "$RUN")
  R[$server-gen]=$dps
  log "$server, dorado-gen: $done of $offered DORAs in $active s, $dps DORA/s, latency p50 $p50 us p99 $p99 us, $retrans retransmits, $timeouts timeouts"
  read -r pdps d1 d2 rcvbuf < <(perfdhcp_rate "$PERF_RATE" "$SECS")
  R[$server-perf]=$pdps
  log "$server, perfdhcp -r $PERF_RATE: $pdps DORA/s, drops: $d1 DISCOVER, $d2 REQUEST, of which $rcvbuf in perfdhcp's socket"
  case $server in
    dorado)
      # Not lib.sh's stop_dorado: its 1 s limit is a test, not a benchmark's business.
      kill -TERM "$DORADO_PID"
      for _ in $(seq 1 100); do kill -0 "$DORADO_PID" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$DORADO_PID" 2>/dev/null || true
      wait "$DORADO_PID" 2>/dev/null || true
      DORADO_PID=""
      log "dorado answered $(counter engine.tx_offer) OFFERs to $(counter engine.rx_discover) DISCOVERs, $(counter engine.tx_ack) ACKs; port imissed $(awk '/^port 0:/{on=1} on && $1=="imissed"{print $2; exit}' "$WORK/dorado.out")" ;;
    kea) stop_kea ;;
  esac
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0 && a ~ /^[0-9.]+$/) printf "%.1fx", a / b; else print "?" }'; }
echo
printf '| load | dorado (%s worker(s), durability %s) | kea-dhcp4 (%s threads, memfile, persist %s) | dorado / kea |\n' \
  "$WORKERS" "$DURABILITY" "$KEA_THREADS" "$KEA_PERSIST"
printf '|---|---|---|---|\n'
printf '| dorado-gen, rate max, window %s, %s clients, DORA/s | %s | %s | %s |\n' "$GEN_WINDOW" "$CLIENTS" "${R[dorado-gen]}" "${R[kea-gen]}" "$(ratio "${R[dorado-gen]}" "${R[kea-gen]}")"
printf '| perfdhcp -r %s for %s s, DORA/s done | %s | %s | %s |\n' "$PERF_RATE" "$SECS" "${R[dorado-perf]}" "${R[kea-perf]}" "$(ratio "${R[dorado-perf]}" "${R[kea-perf]}")"
