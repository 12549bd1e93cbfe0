#!/usr/bin/env bash
# Dynamic DNS benchmarks (docs/dns.md, issue 15) against a real bind9, on the
# e2e test's world (tests/e2e/lib.sh + ddns_lib.sh: dorado on net_af_packet
# in a server namespace, dorado-gen in a client namespace, named in a DNS
# namespace reached through the kernel from dorado's control thread; zones
# bars.example and 99.10.in-addr.arpa accepting updates signed with a fresh
# hmac-sha256 TSIG key). Needs root, named, dig, tsig-keygen.
#
#   updates   DNS UPDATE messages per second that dorado's DDNS service gets
#             answered NOERROR by named, with TSIG: dorado-gen binds CLIENTS
#             clients, each sending a name (option 12 "h-<i>", or option 81
#             with NAME_OPTION=fqdn), as fast as dorado answers; each lease
#             costs 2 updates (A + DHCID, then PTR). The span is named's:
#             its log's first and last "updating zone" lines (ms
#             timestamps); the count is dorado's ddns.update_ok once
#             ddns.registered = CLIENTS and ddns.queue_depth = 0. A sample
#             of names is checked with dig (A, DHCID, PTR back to the
#             name), and the zones' record counts by AXFR when named allows it.
#             named fsyncs its journal at every update, so its directory's
#             disk sets the pace: each round runs with named's directory on
#             disk (/tmp here) and on tmpfs (/dev/shm; the pace of dorado's
#             service and named's CPU), ROUNDS rounds, order alternating.
#   dora      dorado-gen's DORA/s (dora_per_sec) with DDNS on and off: the
#             same DORA_CLIENTS clients with names, one config with [ddns]
#             and the same without it, ROUNDS interleaved rounds (on/off
#             order alternating), a fresh store and a fresh named each run
#             (named runs in both, on tmpfs, with DDNS off idle). Reports
#             medians and min..max of DORA/s and of the worker's busy_ns per
#             packet (its counter: wall time in loops that took packets,
#             preemption included on a shared machine), and how many
#             updates the control thread got done while dorado-gen ran (the
#             DNS work is real and concurrent).
#
# Usage: bench/ddns_bench.sh [updates] [dora]   (default: both)
# Environment: BUILD (build), CLIENTS (2000), DORA_CLIENTS (60000), ROUNDS (3),
#   WINDOW (256, dorado-gen's DORAs in flight), DURABILITY (async; [ddns]
#   refuses off), NAME_OPTION (hostname | fqdn), GEN_CPU (0: dorado-gen's
#   CPU; dorado's control lcore is on CPU 0, its worker on CPU 1),
#   GEN_IDLE_US (0, dorado-gen's --idle-sleep-us), TIMEOUT_S (120, bound on
#   each wait for the DNS updates), NAMED_STORES ("disk tmpfs": where named's
#   directory goes in the updates runs), DORA_NAMED_STORE (tmpfs).
# Prints one line per run and a summary; everything lives in a temporary
# directory and namespaces named with this shell's pid, removed at exit.
# About 2 minutes with the defaults.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$root/build}
export DORADO_BIN=$BUILD/control/daemon/dorado
CTL_BIN=$BUILD/tools/ctl/doradoctl
GEN_BIN=$BUILD/tools/gen/dorado-gen
CLIENTS=${CLIENTS:-2000}
DORA_CLIENTS=${DORA_CLIENTS:-60000}
ROUNDS=${ROUNDS:-3}
WINDOW=${WINDOW:-256}
DURABILITY=${DURABILITY:-async}
NAME_OPTION=${NAME_OPTION:-hostname}
GEN_CPU=${GEN_CPU:-0}
GEN_IDLE_US=${GEN_IDLE_US:-0}
TIMEOUT_S=${TIMEOUT_S:-120}
NAMED_STORES=${NAMED_STORES:-disk tmpfs}
DORA_NAMED_STORE=${DORA_NAMED_STORE:-tmpfs}
WHAT=${*:-updates dora}
case $NAME_OPTION in hostname|fqdn) ;; *) echo "NAME_OPTION must be hostname or fqdn" >&2; exit 2 ;; esac
for n in "$CLIENTS" "$DORA_CLIENTS" "$ROUNDS" "$WINDOW" "$TIMEOUT_S"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "sizes must be positive integers" >&2; exit 2; }
done
# The pool below holds 64,000 addresses.
if [ "$CLIENTS" -gt 64000 ] || [ "$DORA_CLIENTS" -gt 64000 ]; then echo "at most 64000 clients" >&2; exit 2; fi

export E2E_NAME=ddnsb
export DDNS_TAG=$$   # read by ddns_lib.sh (dorado's --file-prefix)
export SRV_NS="dorado-db$$-s" CLI_NS="dorado-db$$-c" DNS_NS="dorado-db$$-d"
# shellcheck source=../tests/e2e/lib.sh
source "$root/tests/e2e/lib.sh"
require_env
# shellcheck source=../tests/e2e/ddns_lib.sh
source "$root/tests/e2e/ddns_lib.sh"
require_bind
command -v python3 >/dev/null || skip "python3 missing"
for b in "$CTL_BIN" "$GEN_BIN"; do [ -x "$b" ] || { log "missing $b"; exit 1; }; done

median() { sort -g | awk '{v[NR]=$1} END{if(NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
spread() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END{print lo ".." hi}'; }
json_field() { tail -n 1 "$1" | python3 -c "import json,sys; j=json.load(sys.stdin); print($2)"; }

# bench_config FILE on|off: ddns_config's dorado (1 worker, subnet
# 10.99.0.0/16) with a pool of 64,000 addresses, DURABILITY, the service's
# default timers; "off" drops the [ddns] section and what follows it.
bench_config() {
  ddns_config "$1"
  sed -i -e 's|^pools = .*|pools = ["10.99.1.0-10.99.250.255"]|' \
    -e '/^timeout_ms = \|^max_retry_interval_s = /d' \
    -e "s|^dir = \"\\(.*\\)\"$|dir = \"\\1\"\\ndurability = \"$DURABILITY\"|" "$1"
  [ "$2" = on ] || sed -i '/^\[ddns\]/,$d' "$1"
}

# fresh_named: named with empty zones and a new key (DDNS_KEY_SECRET).
fresh_named() {
  named_stop
  named_setup
  named_start
}

# stop_bench_dorado: SIGTERM, 10 s, then SIGKILL (updates may still be queued).
stop_bench_dorado() {
  [ -n "$DORADO_PID" ] || return 0
  kill -TERM "$DORADO_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$DORADO_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$DORADO_PID" 2>/dev/null || true
  wait "$DORADO_PID" 2>/dev/null || true
  DORADO_PID=""
}

# run_gen OUT N FIRST_MAC: dorado-gen binds N named clients, bounded in time.
run_gen() {
  local out=$1 n=$2 mac=$3 rc=0
  ip netns exec "$CLI_NS" timeout 90 "$GEN_BIN" --no-pci --no-huge -m 256 \
    "--vdev=net_af_packet0,iface=$CLI_IF" "--lcores=0@$GEN_CPU" "--file-prefix=dorado-gen-db$$" \
    "--log-level=*:error" -- --mode dora --clients "$n" --first-mac "$mac" --rate max --window "$WINDOW" \
    --duration 60 --idle-sleep-us "$GEN_IDLE_US" "--$NAME_OPTION" h --json --quiet \
    >"$out" 2>"$out.err" || rc=$?
  [ "$rc" = 0 ] || log "dorado-gen exit $rc: $(tail -n 3 "$out.err" | tr '\n' ' ')"
}

# ddns_stats: "update_ok update_sent registered queue_depth conflict refused timeout" now.
ddns_stats() {
  ctl statistic-get-all 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin); j = j[0] if isinstance(j, list) else j
a = j.get("arguments") or {}
def v(k):
    x = a.get("ddns." + k, [[0]])
    return x[0][0] if isinstance(x, list) else x
print(*(v(k) for k in ("update_ok", "update_sent", "registered", "queue_depth",
                      "update_conflict", "update_refused", "update_timeout")))' 2>/dev/null || echo "0 0 0 0 0 0 0"
}

# cpu_s PID: the process's user + system CPU seconds so far (0 if gone).
cpu_s() {
  awk -v t="$(getconf CLK_TCK)" '{printf "%.2f\n", ($14 + $15) / t}' "/proc/$1/stat" 2>/dev/null || echo 0
}

# named_update_span LOG: "first last" epoch seconds (ms) of named's
# "updating zone" lines.
named_update_span() {
  python3 - "$1" <<'PY'
import sys, datetime
ts = []
for line in open(sys.argv[1], errors="replace"):
    if "updating zone" not in line:
        continue
    try:
        ts.append(datetime.datetime.strptime(" ".join(line.split()[:2]), "%d-%b-%Y %H:%M:%S.%f").timestamp())
    except ValueError:
        pass
print(f"{min(ts):.3f} {max(ts):.3f}" if ts else "0 0")
PY
}

# ---- updates/s ----------------------------------------------------------------------

# named_store disk|tmpfs: where named's directory (zones, journals) goes.
# named fsyncs its journal at every update: on disk that fsync, not dorado,
# sets the pace; on tmpfs the pace is dorado's and named's CPU.
named_store() {
  case $1 in
    disk) NAMED_DIR="$WORK/named" ;;
    tmpfs) NAMED_DIR=$SHM_NAMED ;;
    *) log "unknown named store: $1"; exit 2 ;;
  esac
}

# update_once STORE ROUND
update_once() {
  named_store "$1"
  fresh_named
  rm -rf "$WORK/store"
  bench_config "$WORK/on.toml" on
  start_dorado "$WORK/on.toml"
  local log_from t_gen0 t_gen1 named_cpu0 dorado_cpu0
  log_from=$(wc -l <"$NAMED_DIR/named.log")
  named_cpu0=$(cpu_s "$NAMED_PID")
  dorado_cpu0=$(cpu_s "$DORADO_PID")
  t_gen0=$(date +%s.%N)
  run_gen "$WORK/upd-gen.out" "$CLIENTS" "$(printf '02:00:00:%02x:00:00' "$2")"
  t_gen1=$(date +%s.%N)
  local deadline=$((SECONDS + TIMEOUT_S)) ok sent reg depth conflict refused timeout
  while :; do
    read -r ok sent reg depth conflict refused timeout < <(ddns_stats)
    [ "$reg" -ge "$CLIENTS" ] && [ "$depth" = 0 ] && break
    [ $SECONDS -lt "$deadline" ] || { log "updates: not done in ${TIMEOUT_S} s: registered $reg, queue $depth"; break; }
    sleep 0.5
  done
  local named_cpu dorado_cpu
  named_cpu=$(python3 -c "print(round($(cpu_s "$NAMED_PID") - $named_cpu0, 2))")
  dorado_cpu=$(python3 -c "print(round($(cpu_s "$DORADO_PID") - $dorado_cpu0, 2))")
  tail -n +"$((log_from + 1))" "$NAMED_DIR/named.log" >"$WORK/named-upd.log"
  local first last bound
  read -r first last < <(named_update_span "$WORK/named-upd.log")
  bound=$(json_field "$WORK/upd-gen.out" "j['completed']" 2>/dev/null || echo 0)
  local dps
  dps=$(json_field "$WORK/upd-gen.out" "round(j['dora_per_sec'])" 2>/dev/null || echo 0)
  local rate
  rate=$(python3 -c "s = $last - $first; print(round($ok / s) if s > 0 else 0)")
  echo "$1 $rate" >>"$WORK/updates.txt"
  python3 - "$1" "$ok" "$sent" "$first" "$last" "$bound" "$reg" "$t_gen0" "$t_gen1" "$dps" "$conflict" "$refused" "$timeout" <<'PY'
import sys
store, ok, sent, first, last, bound, reg, g0, g1, dps, conflict, refused, timeout = sys.argv[1:]
ok, sent, first, last, g0, g1 = int(ok), int(sent), float(first), float(last), float(g0), float(g1)
span = last - first
print(f"updates (named on {store}): {bound} clients bound by dorado-gen ({dps} DORA/s, run {g1 - g0:.2f} s "
      f"with start-up); {reg} addresses registered")
print(f"updates (named on {store}): {ok} UPDATEs answered NOERROR ({sent} sent; conflicts {conflict}, "
      f"refused {refused}, timeouts {timeout}) between named's first and last update {span:.3f} s apart: "
      f"{ok / span if span > 0 else 0:.0f} updates/s, {ok / 2 / span if span > 0 else 0:.0f} leases/s; "
      f"last update {last - g1:+.2f} s after dorado-gen ended")
PY
  echo "updates (named on $1): CPU from dorado-gen's start to the last registration: named ${named_cpu} s," \
    "dorado ${dorado_cpu} s (all threads, with the DHCP work and the polling worker)"
  # A sample checked with dig: A, DHCID at the name, PTR back to it.
  local i name addr ptr dhcid good=0 sample="0 $((CLIENTS / 3)) $((CLIENTS / 2)) $((CLIENTS * 2 / 3)) $((CLIENTS - 1))"
  for i in $sample; do
    name="h-$i.$DDNS_FWD_ZONE"
    addr=$(dns_q "$name" A | head -n 1)
    dhcid=$(dns_q "$name" DHCID | head -n 1)
    ptr=""
    [ -n "$addr" ] && ptr=$(dns_q "$(rev_name "$addr")" PTR | head -n 1)
    if [ -n "$addr" ] && [ -n "$dhcid" ] && [ "$ptr" = "$name." ]; then good=$((good + 1)); fi
    echo "updates: dig $name: A ${addr:-none}, DHCID $([ -n "$dhcid" ] && echo present || echo none), PTR ${ptr:-none}"
  done
  echo "updates: dig sample: $good of $(wc -w <<<"$sample") names with A, DHCID and the PTR back"
  echo "dig $good $(wc -w <<<"$sample")" >>"$WORK/updates.txt"
  # Whole zones, when named allows the transfer.
  local fwd_a rev_ptr
  fwd_a=$(ip netns exec "$DNS_NS" dig @"$DNS_ADDR" +time=5 +tries=1 axfr "$DDNS_FWD_ZONE" 2>/dev/null |
    awk '$4=="A" && $1 ~ /^h-/' | wc -l)
  rev_ptr=$(ip netns exec "$DNS_NS" dig @"$DNS_ADDR" +time=5 +tries=1 axfr "$DDNS_REV_ZONE" 2>/dev/null |
    awk '$4=="PTR"' | wc -l)
  echo "updates: AXFR: $fwd_a A records h-*, $rev_ptr PTR records (want $CLIENTS each; 0 = transfer refused)"
  stop_bench_dorado
}

bench_updates() {
  : >"$WORK/updates.txt"
  local round st stores
  for round in $(seq 1 "$ROUNDS"); do
    stores=$NAMED_STORES
    [ $((round % 2)) = 1 ] || stores=$(tr ' ' '\n' <<<"$NAMED_STORES" | tac | tr '\n' ' ')
    for st in $stores; do update_once "$st" "$round"; done
  done
  for st in $NAMED_STORES; do
    echo "updates: named on $st: median $(awk -v s="$st" '$1==s{print $2}' "$WORK/updates.txt" | median)" \
      "updates/s, min..max $(awk -v s="$st" '$1==s{print $2}' "$WORK/updates.txt" | spread)" \
      "($ROUNDS runs of $CLIENTS leases, 2 updates each, TSIG hmac-sha256)"
  done
  echo "updates: dig samples: $(awk '$1=="dig"{g+=$2; n+=$3} END{print g " of " n}' "$WORK/updates.txt") complete"
}

# ---- DORA/s with DDNS on and off ----------------------------------------------------

run_dora() {   # run_dora on|off ROUND
  local what=$1 round=$2 out
  named_store "$DORA_NAMED_STORE"
  fresh_named
  rm -rf "$WORK/store"
  bench_config "$WORK/$what.toml" "$what"
  start_dorado "$WORK/$what.toml"
  local named_cpu0 named_cpu1 ok0 ok1 rest
  named_cpu0=$(cpu_s "$NAMED_PID")
  read -r ok0 rest < <(ddns_stats)
  out="$WORK/dora-$what-$round.out"
  run_gen "$out" "$DORA_CLIENTS" "$(printf '02:00:%02x:00:00:00' "$round")"
  read -r ok1 rest < <(ddns_stats)
  named_cpu1=$(cpu_s "$NAMED_PID")
  local dps completed timeouts p99
  read -r dps completed timeouts p99 < <(json_field "$out" \
    "round(j['dora_per_sec']), j['completed'], j['timeouts'], j['latency_us']['p99']" 2>/dev/null | tr -d '(),' ||
    echo "0 0 0 0")
  stop_bench_dorado
  # The worker's own time: busy_ns (wall time in loops that took packets)
  # per packet, from the counters dorado prints at exit.
  local busy pkts ns
  busy=$(counter busy_ns)
  pkts=$(counter rx_packets)
  ns=$(python3 -c "print(round($busy / $pkts) if $pkts else 0)")
  echo "dora $what round $round: $dps DORA/s ($completed of $DORA_CLIENTS bound, $timeouts timeouts, p99 $p99 us);" \
    "worker busy $ns ns/packet; $((ok1 - ok0)) DNS updates done meanwhile, named CPU" \
    "$(python3 -c "print(round($named_cpu1 - $named_cpu0, 2))") s" >&2
  echo "$what $dps $((ok1 - ok0)) $ns" >>"$WORK/dora.txt"
}

bench_dora() {
  : >"$WORK/dora.txt"
  local round
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then run_dora on "$round"; run_dora off "$round"
    else run_dora off "$round"; run_dora on "$round"; fi
  done
  local on off
  on=$(awk '$1=="on"{print $2}' "$WORK/dora.txt" | median)
  off=$(awk '$1=="off"{print $2}' "$WORK/dora.txt" | median)
  local w
  for w in off on; do
    echo "dora: DDNS $w: median $(awk -v w=$w '$1==w{print $2}' "$WORK/dora.txt" | median) DORA/s," \
      "min..max $(awk -v w=$w '$1==w{print $2}' "$WORK/dora.txt" | spread); worker busy ns/packet median" \
      "$(awk -v w=$w '$1==w{print $4}' "$WORK/dora.txt" | median)," \
      "min..max $(awk -v w=$w '$1==w{print $4}' "$WORK/dora.txt" | spread)"
  done
  echo "dora: DNS updates done while dorado-gen ran (DDNS on): $(awk '$1=="on"{print $3}' "$WORK/dora.txt" | spread)"
  echo "dora: DORA/s on/off $(python3 -c "print('%.3f' % ($on / $off if $off else 0))") ($ROUNDS rounds," \
    "$DORA_CLIENTS clients, window $WINDOW, durability $DURABILITY, option $NAME_OPTION)"
}

# named's directory on tmpfs goes too at exit (named stopped first).
SHM_NAMED=/dev/shm/dorado-ddnsb$$-named
bench_exit() {
  local rc=$?
  ddns_teardown
  rm -rf "$SHM_NAMED"
  (exit "$rc")
  ddns_exit
}
trap bench_exit EXIT

make_ddns_world
log "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for w in $WHAT; do
  case $w in updates|dora) "bench_$w" ;; *) log "unknown benchmark: $w"; exit 2 ;; esac
done
log "load average $(cut -d' ' -f1-3 /proc/loadavg)"
