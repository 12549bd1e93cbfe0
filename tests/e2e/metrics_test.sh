#!/usr/bin/env bash
# Observability end to end: dorado (2 workers) with a 128-address pool (two
# 64-address blocks: one per shard), 6 clients from perfdhcp (a relay)
# complete DORA; then inside the server
# namespace GET http://127.0.0.1:PORT/metrics must show the counters moved by
# the right amounts (DISCOVERs, replies, leases active, pool used/free, no
# drop, journal records), 404 for another path; the DPDK telemetry socket
# answers /dorado/stats, /dorado/pool,0 and /dorado/worker,N with the same
# numbers; the pool-nearly-full warning (pool_warn_percent 3: 6 of 128 is
# 4.7%) is logged, once per 10 s at most. If dpdk-dumpcap is installed and hugepages can be had,
# it captures a udhcpc DORA from dorado's port and dorado-decode reads the
# DISCOVER and the OFFER from its pcapng.
export E2E_NAME=metrics   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
CLIENTS=6
PORT=9167
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
command -v perfdhcp >/dev/null || skip "perfdhcp (kea-admin) missing"
command -v python3 >/dev/null || skip "python3 missing"
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX="dorado-$E2E_RUN"

# Hugepages only for the capture part (a secondary process such as
# dpdk-dumpcap cannot map --no-huge memory): a private hugetlbfs mount in
# $WORK and 128 pages more than the kernel had free, both undone on exit.
# Everything else runs with --no-huge when that cannot be had.
MEM_ARGS='"--no-huge", "-m", "512"'
HP=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
HUGE_BEFORE="" HUGE_DIR=""
undo_huge() {
  if [ -n "$HUGE_DIR" ] && mountpoint -q "$HUGE_DIR"; then rm -f "$HUGE_DIR"/*; umount "$HUGE_DIR" || true; fi
  [ -z "$HUGE_BEFORE" ] || echo "$HUGE_BEFORE" >"$HP" 2>/dev/null || true
  HUGE_BEFORE="" HUGE_DIR=""
}
# dorado must be gone before its hugepage files go; then lib.sh's cleanup.
trap 'rc=$?; if [ -n "$DORADO_PID" ]; then kill -TERM "$DORADO_PID" 2>/dev/null; wait "$DORADO_PID" 2>/dev/null; DORADO_PID=""; fi
      undo_huge; (exit $rc); cleanup' EXIT
if command -v dpdk-dumpcap >/dev/null && [ -w "$HP" ]; then
  HUGE_BEFORE=$(cat "$HP")
  free_huge=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
  if [ "$free_huge" -lt 128 ]; then echo $((HUGE_BEFORE + 128 - free_huge)) >"$HP" 2>/dev/null || true; fi
  HUGE_DIR=$WORK/huge
  mkdir -p "$HUGE_DIR"
  if [ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)" -ge 128 ] &&
     mount -t hugetlbfs -o pagesize=2M nodev "$HUGE_DIR" 2>/dev/null; then
    MEM_ARGS="\"--huge-dir=$HUGE_DIR\", \"-m\", \"200\""
  else
    undo_huge
  fi
fi

make_world
ncpu=$(nproc)
cat >"$WORK/dorado.toml" <<TOML
[server]
address = "10.99.0.1"

[dpdk]
eal_args = ["--no-pci", $MEM_ARGS, "--vdev=net_af_packet0,iface=$SRV_IF,qpairs=2",
            "--lcores=0@0,1@$((1 % ncpu)),2@$((2 % ncpu))", "--file-prefix=$PREFIX", "--log-level=*:error"]
workers = 2
idle_sleep_us = 50

[store]
dir = "$WORK/store"

[control]
socket = "$WORK/dorado.sock"
metrics = "127.0.0.1:$PORT"
pool_warn_percent = 3

[[subnet]]
prefix = "10.99.0.0/16"
pools = ["10.99.1.0/25"]
routers = ["10.99.0.1"]
lease_time = 600
TOML
start_dorado "$WORK/dorado.toml"
check "log: metrics endpoint announced" wait_log "metrics: serving http://127.0.0.1:$PORT/metrics"

# http_get PATH -> the body on stdout, or "HTTP <code>". Inside the server namespace.
http_get() {
  ip netns exec "$SRV_NS" python3 - "$PORT" "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]), timeout=5) as r:
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    print("HTTP %d" % e.code)
PY
}
# metric FILE NAME [LABEL-REGEX]: sum of the samples of NAME whose labels match.
metric() {
  awk -v n="$2" -v re="${3:-}" '
    $0 !~ /^#/ { split($1, a, "{"); if (a[1] == n && (re == "" || $1 ~ re)) s += $2 }
    END { printf "%d\n", s }' "$1"
}

http_get /metrics >"$WORK/before.txt"
check "metrics: page served before any client" grep -q '^# TYPE dorado_dhcp_packets_received_total counter$' "$WORK/before.txt"
check "metrics: no DISCOVER yet" test "$(metric "$WORK/before.txt" dorado_dhcp_packets_received_total 'type="DISCOVER"')" -eq 0
check "metrics: pool has 128 addresses, all free" \
  test "$(metric "$WORK/before.txt" dorado_pool_free_addresses 'pool="10.99.1.0-10.99.1.127"')" -eq 128

# ---- traffic: perfdhcp as a relay, CLIENTS distinct clients --------------------
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"
ip netns exec "$CLI_NS" timeout 30 perfdhcp -4 -l "$CLI_IF" -r 50 -R "$CLIENTS" -n "$CLIENTS" \
  -p 10 -W 1000000 10.99.0.1 >"$WORK/perfdhcp.out" 2>&1 || true
acks=$(awk '/^\*\*\*Statistics for: REQUEST-ACK/{on=1} on && /^received packets: /{print $3; exit}' "$WORK/perfdhcp.out")
check "perfdhcp: $CLIENTS ACKs received (${acks:-0})" test "${acks:-0}" -ge "$CLIENTS"
sleep 1.5   # one collection period: warnings are checked once a second

http_get /metrics >"$WORK/after.txt"
M=$WORK/after.txt
discover=$(metric "$M" dorado_dhcp_packets_received_total 'type="DISCOVER"')
request=$(metric "$M" dorado_dhcp_packets_received_total 'type="REQUEST"')
check "metrics: DISCOVERs received >= $CLIENTS ($discover)" test "$discover" -ge "$CLIENTS"
check "metrics: REQUESTs received >= $CLIENTS ($request)" test "$request" -ge "$CLIENTS"
check "metrics: one OFFER per DISCOVER" test "$(metric "$M" dorado_dhcp_replies_total 'type="OFFER"')" -eq "$discover"
check "metrics: one ACK per REQUEST" test "$(metric "$M" dorado_dhcp_replies_total 'type="ACK"')" -eq "$request"
check "metrics: both workers are labelled" grep -q '^dorado_packets_received_total{worker="1"} ' "$M"
check "metrics: leases active == $CLIENTS" test "$(metric "$M" dorado_leases 'state="active"')" -eq "$CLIENTS"
check "metrics: no lease offered any more" test "$(metric "$M" dorado_leases 'state="offered"')" -eq 0
check "metrics: pool used == $CLIENTS" \
  test "$(metric "$M" dorado_pool_used_addresses 'pool="10.99.1.0-10.99.1.127"')" -eq "$CLIENTS"
check "metrics: pool free == $((128 - CLIENTS))" \
  test "$(metric "$M" dorado_pool_free_addresses 'pool="10.99.1.0-10.99.1.127"')" -eq $((128 - CLIENTS))
check "metrics: subnet free == $((128 - CLIENTS))" \
  test "$(metric "$M" dorado_subnet_free_addresses 'subnet="10.99.0.0/16"')" -eq $((128 - CLIENTS))
check "metrics: lease commits == $CLIENTS" test "$(metric "$M" dorado_engine_events_total 'event="lease_commit"')" -eq "$CLIENTS"
# (Runtime drops are not checked: the client kernel may answer a late reply
# with an ICMP port unreachable, a counted icmp_not_for_us.)
check "metrics: no engine or codec drop" \
  test "$(metric "$M" dorado_drops_total 'stage="(engine|wire)"')" -eq 0
check "metrics: the journal took the commits" test "$(metric "$M" dorado_journal_records_total)" -ge "$CLIENTS"
check "metrics: journal lag is 0 when idle" test "$(metric "$M" dorado_journal_lag_records)" -eq 0
check "metrics: port counters" test "$(metric "$M" dorado_port_received_packets_total 'port="0"')" -ge $((2 * CLIENTS))
check "metrics: every family has HELP and TYPE" \
  test "$(grep -c '^# HELP ' "$M")" -eq "$(grep -c '^# TYPE ' "$M")" -a "$(grep -c '^# HELP ' "$M")" -gt 20
check "http: another path is 404" test "$(http_get /nope)" = "HTTP 404"
check "http: not reachable from the client namespace (bound to 127.0.0.1)" \
  bash -c "! ip netns exec '$CLI_NS' python3 -c 'import urllib.request; urllib.request.urlopen(\"http://10.99.0.1:$PORT/metrics\", timeout=2)' 2>/dev/null"

# ---- DPDK telemetry ---------------------------------------------------------------
tq() { python3 "$HERE/telemetry_query.py" "$PREFIX" "$1"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
stats=$(tq /dorado/stats || true)
log "telemetry /dorado/stats: $(echo "$stats" | head -c 300)"
check "telemetry: /dorado/stats answers" test -n "$stats"
check "telemetry: DISCOVERs as in the metrics ($discover)" \
  test "$(echo "$stats" | json '.get("engine_rx_discover", 0)')" -eq "$discover"
check "telemetry: leases_active == $CLIENTS" test "$(echo "$stats" | json '["leases_active"]')" -eq "$CLIENTS"
pool=$(tq /dorado/pool,0 || true)
check "telemetry: /dorado/pool,0 used == $CLIENTS of 128" \
  test "$(echo "$pool" | json '["used"]'):$(echo "$pool" | json '["size"]')" = "$CLIENTS:128"
w0=$(tq /dorado/worker,0 || true)
w1=$(tq /dorado/worker,1 || true)
check "telemetry: the workers' active leases add up" \
  test $(( $(echo "$w0" | json '["leases_active"]') + $(echo "$w1" | json '["leases_active"]') )) -eq "$CLIENTS"
check "telemetry: a bad worker index is refused" bash -c "! python3 '$HERE/telemetry_query.py' '$PREFIX' /dorado/worker,9 | grep -q lcore"
if command -v dpdk-telemetry.py >/dev/null; then
  echo /dorado/stats | dpdk-telemetry.py -f "$PREFIX" >"$WORK/dpdk-telemetry.out" 2>&1 || true
  check "dpdk-telemetry.py: /dorado/stats answers" grep -q '"engine_rx_discover"' "$WORK/dpdk-telemetry.out"
fi

# ---- warnings -----------------------------------------------------------------------
check "log: pool nearly full warning (pool_warn_percent 3)" \
  grep -Eq "warning: pool nearly full: subnet 10.99.0.0/16 pool 10.99.1.0-10.99.1.127: [4-6] of 128 addresses used \([0-9]+%, [0-9]+ free; pool_warn_percent 3\)" "$WORK/dorado.err"

# ---- capture with dpdk-dumpcap -----------------------------------------------------
if command -v dpdk-dumpcap >/dev/null && grep -q -- '--huge-dir' "$WORK/dorado.toml" && command -v udhcpc >/dev/null; then
  ip -n "$CLI_NS" addr flush dev "$CLI_IF"
  dpdk-dumpcap --file-prefix="$PREFIX" -i 0 -w "$WORK/capture.pcapng" -a duration:8 -q \
    >"$WORK/dumpcap.log" 2>&1 &
  dumpcap_pid=$!
  sleep 3   # dumpcap attaches to the primary
  ip netns exec "$CLI_NS" timeout 5 udhcpc -f -q -n -i "$CLI_IF" -s /bin/true >"$WORK/udhcpc.log" 2>&1 || true
  wait "$dumpcap_pid" || true
  if [ -n "${DORADO_DECODE_BIN:-}" ] && [ -x "$DORADO_DECODE_BIN" ]; then
    "$DORADO_DECODE_BIN" "$WORK/capture.pcapng" >"$WORK/capture.json" 2>&1 || true
    check "dumpcap+decode: the DISCOVER was captured" grep -q '"name":"DISCOVER"' "$WORK/capture.json"
    check "dumpcap+decode: the OFFER was captured" grep -q '"name":"OFFER"' "$WORK/capture.json"
  fi
else
  log "capture part skipped (dpdk-dumpcap, hugepages or udhcpc missing)"
fi

stop_dorado
undo_huge
# Raised every second while the pool stays full, logged at most every 10 s.
check "log: the pool warning is rate limited (lines >= 10 s apart)" python3 - "$WORK/dorado.err" <<'PY'
import re, sys, datetime
t = [datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ")
     for m in (re.match(r"dorado: (\S+) warning: pool nearly full", l) for l in open(sys.argv[1])) if m]
sys.exit(0 if t and all((b - a).total_seconds() >= 10 for a, b in zip(t, t[1:])) else 1)
PY
log "pool warnings logged: $(grep -c 'warning: pool nearly full' "$WORK/dorado.err")"
finish
