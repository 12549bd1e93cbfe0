#!/usr/bin/env bash
# HA pair benchmarks (docs/ha.md, issue 14), on the e2e test's world
# (tests/e2e/ha_lib.sh: two dorado servers in their own namespaces on one
# bridge, dorado-gen in a third, the HA link a veth pair). Needs root.
#
#   throughput  DORA/s of one server and of a pair (hot standby and load
#               balancing, ack "partner" and "local"), the same dorado-gen
#               run against each, ROUNDS interleaved rounds; the pair's ratio
#               to one server, replication records/s over the link, and the
#               p99 DORA latency dorado-gen measures (ack = "partner" holds
#               each ACK for the partner).
#   failover    seconds from kill -9 of the primary (hot standby) to the
#               standby's first ACK, with the defaults (max_unacked_clients
#               10, max_ack_delay_ms 10000, max_response_delay_ms 5000) and
#               with max_unacked_clients = 0.
#   resync      a journal tail of TAIL new leases (made by dorado-gen on the
#               primary while the standby was down), then a full transfer of
#               every lease to a standby restarted with an empty store (the
#               primary snapshots every 1000 records, so its journal holds no
#               tail from 0): seconds until the standby is in sync.
#
# Usage: bench/ha_bench.sh [throughput] [failover] [resync]   (default: all)
# Environment: BUILD (build), ROUNDS (3), CLIENTS (20000), SECONDS_PER_RUN (8), WINDOW (4096),
#   TAIL (1000000).
# Prints one line per measurement and a summary; nothing is written to disk
# outside a temporary directory (removed at exit).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$root/build}
export DORADO_BIN=$BUILD/control/daemon/dorado
CTL_BIN=$BUILD/tools/ctl/doradoctl
GEN_BIN=$BUILD/tools/gen/dorado-gen
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-20000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
WINDOW=${WINDOW:-4096}   # DORAs in flight: enough that ack = "partner"'s longer ACK path is not the limit
TAIL=${TAIL:-1000000}
WHAT=${*:-throughput failover resync}
export E2E_NAME=hab
# shellcheck source=../tests/e2e/lib.sh
source "$root/tests/e2e/lib.sh"
# shellcheck source=../tests/e2e/ha_lib.sh
source "$root/tests/e2e/ha_lib.sh"
require_env
for b in "$CTL_BIN" "$GEN_BIN"; do [ -x "$b" ] || { log "missing $b"; exit 1; }; done

# A pool big enough for every benchmark's clients.
export HA_PREFIX=10.96.0.0/11 HA_POOL=10.100.0.0-10.115.255.255

json_field() { tail -n 1 "$1" | python3 -c "import json,sys; j=json.load(sys.stdin); print($2)"; }
status_field() {   # status_field WHO PYEXPR (j = the "dorado" part of status-get)
  ctl "$1" status-get | python3 -c "
import json, sys
j = json.load(sys.stdin); j = j[0] if isinstance(j, list) else j
j = j['arguments']['high-availability'][0]['dorado']
print($2)"
}
median() { sort -g | awk '{v[NR]=$1} END{if(NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
spread() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END{print lo ".." hi}'; }

# ---- throughput ---------------------------------------------------------------------

# run_config NAME ROUND: one dorado-gen run against the setup NAME.
run_config() {
  local name=$1 round=$2 mode ack
  make_ha_world
  rm -rf "$WORK"/store-* "$WORK"/a.* "$WORK"/b.*
  case $name in
    single) HA_NO_HA=1 ha_config a hot-standby ;;
    *)
      mode=${name%-*}; ack=${name##*-}
      [ "$mode" = hs ] && mode=hot-standby || mode=load-balancing
      ha_config a "$mode" "ack = \"$ack\""
      ha_config b "$mode" "ack = \"$ack\""
      ;;
  esac
  start_server a
  if [ "$name" != single ]; then
    start_server b
    wait_state a "$([ "${name%-*}" = hs ] && echo hot-standby || echo load-balancing)" 20 || true
    wait_state b "$([ "${name%-*}" = hs ] && echo hot-standby || echo load-balancing)" 10 || true
  fi
  local mac
  mac=$(printf '02:00:%02x:00:00:00' "$round")
  ip netns exec "$CLI_NS" timeout $((SECONDS_PER_RUN + 30)) "$GEN_BIN" --no-pci --no-huge -m 256 \
    "--vdev=net_af_packet0,iface=cli0" --lcores=0@0 --file-prefix=dorado-gen-hab "--log-level=*:error" -- \
    --mode dora --clients "$CLIENTS" --first-mac "$mac" --rate max --window "$WINDOW" --duration "$SECONDS_PER_RUN" --json \
    >"$WORK/gen.out" 2>"$WORK/gen.err" || true
  local dps p99 sent=0
  dps=$(json_field "$WORK/gen.out" "round(j['dora_per_sec'])" 2>/dev/null || echo 0)
  p99=$(json_field "$WORK/gen.out" "j['latency_us']['p99']" 2>/dev/null || echo 0)
  if [ "$name" != single ]; then
    sent=$(( $(status_field a "j['records-sent']" 2>/dev/null || echo 0) + $(status_field b "j['records-sent']" 2>/dev/null || echo 0) ))
  fi
  echo "$name round $round: $dps DORA/s, p99 $p99 us, $sent records replicated" >&2
  echo "$name $dps $p99 $sent" >>"$WORK/throughput.txt"
  stop_server a; stop_server b
}

bench_throughput() {
  : >"$WORK/throughput.txt"
  local round name
  for round in $(seq 1 "$ROUNDS"); do
    for name in single hs-partner hs-local lb-partner lb-local; do run_config "$name" "$round"; done
  done
  local single
  single=$(awk '$1=="single"{print $2}' "$WORK/throughput.txt" | median)
  printf '%-12s %12s %14s %10s %18s\n' setup "DORA/s med" "spread" "ratio" "p99 us (med)"
  for name in single hs-partner hs-local lb-partner lb-local; do
    local m s p
    m=$(awk -v n="$name" '$1==n{print $2}' "$WORK/throughput.txt" | median)
    s=$(awk -v n="$name" '$1==n{print $2}' "$WORK/throughput.txt" | spread)
    p=$(awk -v n="$name" '$1==n{print $3}' "$WORK/throughput.txt" | median)
    printf '%-12s %12s %14s %10s %18s\n' "$name" "$m" "$s" \
      "$(python3 -c "print('%.2f' % ($m / $single if $single else 0))")" "$p"
  done
  awk '$1!="single" && $4>0 {print $1, $4}' "$WORK/throughput.txt" |
    while read -r n r; do echo "$n: $r records replicated in ${SECONDS_PER_RUN} s ($((r / SECONDS_PER_RUN)) records/s)"; done |
    sort | uniq
}

# ---- failover -----------------------------------------------------------------------

# One kill -9: seconds from the kill to the standby's first ACK, clients
# arriving at 500/s throughout.
failover_once() {
  local extra=$1 label=$2
  make_ha_world
  rm -rf "$WORK"/store-* "$WORK"/a.* "$WORK"/b.*
  ha_config a hot-standby
  ha_config b hot-standby
  # The defaults, as an operator gets them, except what `extra` says.
  sed -i '/^heartbeat_ms\|^max_response_delay_ms\|^max_ack_delay_ms\|^max_unacked_clients/d' "$WORK/a.toml" "$WORK/b.toml"
  if [ -n "$extra" ]; then sed -i "s/^insecure = true$/insecure = true\n$extra/" "$WORK/a.toml" "$WORK/b.toml"; fi
  start_server a
  start_server b
  wait_state a hot-standby 30 || true
  wait_state b hot-standby 10 || true
  ip netns exec "$CLI_NS" timeout 90 "$GEN_BIN" --no-pci --no-huge -m 256 \
    "--vdev=net_af_packet0,iface=cli0" --lcores=0@0 --file-prefix=dorado-gen-hab "--log-level=*:error" -- \
    --mode dora --clients 40000 --first-mac 02:00:01:00:00:00 --rate 500 --duration 60 --json \
    >"$WORK/fo-gen.out" 2>"$WORK/fo-gen.err" &
  local gen=$!
  sleep 3
  local before t0 t1=""
  before=$(counter_of b pkt4-ack-sent)
  t0=$(date +%s.%N)
  stop_server a KILL
  for _ in $(seq 1 1200); do
    if [ "$(counter_of b pkt4-ack-sent)" != "$before" ]; then t1=$(date +%s.%N); break; fi
    sleep 0.05
  done
  kill "$gen" 2>/dev/null || true
  wait "$gen" 2>/dev/null || true
  local secs=timeout
  [ -n "$t1" ] && secs=$(python3 -c "print('%.2f' % ($t1 - $t0))")
  echo "failover ($label): first ACK by the standby $secs s after kill -9" >&2
  echo "$label $secs" >>"$WORK/failover.txt"
  stop_server b
}

bench_failover() {
  : >"$WORK/failover.txt"
  local r
  for r in $(seq 1 "$ROUNDS"); do
    failover_once "" defaults
    failover_once "max_unacked_clients = 0" "max_unacked_clients=0"
  done
  for label in defaults max_unacked_clients=0; do
    echo "failover $label: median $(awk -v l="$label" '$1==l{print $2}' "$WORK/failover.txt" | median) s," \
      "spread $(awk -v l="$label" '$1==l{print $2}' "$WORK/failover.txt" | spread) s"
  done
}

# ---- resync -------------------------------------------------------------------------

synced_seconds() {   # synced_seconds WHO: the last "in sync" line's duration
  grep -o 'in sync with dhcp-. at its seq [0-9]* ([0-9.]* s)' "$WORK/$1.err" | tail -n 1 |
    sed 's/.*(\([0-9.]*\) s)/\1/'
}

bench_resync() {
  export START_WAIT_S=300   # a restart with a million leases takes a while here
  # A pool with room for TAIL new leases on the primary's side.
  export HA_PREFIX=10.64.0.0/10 HA_POOL=10.64.0.0-10.98.255.255
  make_ha_world
  rm -rf "$WORK"/store-* "$WORK"/a.* "$WORK"/b.*
  ha_config a hot-standby
  ha_config b hot-standby
  start_server a
  start_server b
  wait_state b hot-standby 30 || true
  # The tail: the standby stops, TAIL clients bind on the primary alone, the
  # standby comes back and catches up from the primary's journal.
  stop_server b
  ip netns exec "$CLI_NS" timeout 1200 "$GEN_BIN" --no-pci --no-huge -m 256 \
    "--vdev=net_af_packet0,iface=cli0" --lcores=0@0 --file-prefix=dorado-gen-hab "--log-level=*:error" -- \
    --mode dora --clients "$TAIL" --first-mac 02:02:00:00:00:00 --rate max --window 256 --duration 1000 --json \
    >"$WORK/tail-gen.out" 2>"$WORK/tail-gen.err" || true
  local made t0
  made=$(json_field "$WORK/tail-gen.out" "j['completed']" 2>/dev/null || echo 0)
  t0=$SECONDS
  start_server b
  wait_state b hot-standby 900 || true
  echo "resync: journal tail of $made new leases ($(status_field a "j['last-seq']") records in the primary's journal): $(synced_seconds b) s (standby in hot-standby after $((SECONDS - t0)) s)"
  # The full transfer: the primary restarts with a snapshot every 1000
  # records, so its journal soon holds no tail from 0; the standby restarts
  # with an empty store and gets every lease.
  stop_server b
  stop_server a
  sed -i 's/^dir = \(.*store-a"\)$/dir = \1\nsnapshot_records = 1000/' "$WORK/a.toml"
  start_server a
  for _ in $(seq 1 600); do
    compgen -G "$WORK/store-a/snapshot-*.snap" >/dev/null &&
      [ "$(find "$WORK/store-a" -name 'journal-*.log' | wc -l)" -le 2 ] && break
    sleep 0.5
  done
  rm -rf "$WORK/store-b"
  : >"$WORK/b.err"
  t0=$SECONDS
  start_server b
  wait_state b hot-standby 900 || true
  echo "resync: full transfer of $(grep -o 'receiving a full transfer of [0-9]* leases' "$WORK/b.err" | grep -o '[0-9]*' | head -1) leases: $(synced_seconds b) s (standby in hot-standby after $((SECONDS - t0)) s)"
  stop_server a; stop_server b
}

for w in $WHAT; do "bench_$w"; done
