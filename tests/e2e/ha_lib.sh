# shellcheck shell=bash
# The HA pair's world for tests/e2e/ha_test.sh and bench/ha_bench.sh
# (sourced after lib.sh, which gives log, check, WORK and the cleanup trap).
#
# Namespaces (RUN is this run's tag, lib.sh's E2E_RUN): dorado-RUN-a and
# dorado-RUN-b (one dorado each, net_af_packet on its LAN veth lan0),
# dorado-RUN-lan (a bridge joining both to the client namespace),
# dorado-RUN-cli (dorado-gen on cli0); the HA link is a veth pair
# ha0 <-> ha0 on 10.98.0.1/10.98.0.2 (the kernel's stack). Needs CTL_BIN and
# GEN_BIN set by the sourcing script.
NS_A=dorado-$E2E_RUN-a NS_B=dorado-$E2E_RUN-b NS_LAN=dorado-$E2E_RUN-lan
CLI_NS=dorado-$E2E_RUN-cli   # lib.sh's cleanup removes CLI_NS and SRV_NS
SRV_NS=$NS_LAN
declare -A PID=()

teardown_world() {
  for who in a b; do stop_server "$who" KILL; done
  for ns in "$NS_A" "$NS_B" "$NS_LAN" "$CLI_NS"; do
    if ip netns list | grep -qw "$ns"; then
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
}
# The script's exit status must survive the teardown: cleanup (lib.sh)
# exits with the status it finds in $?, so it is restored just before.
ha_exit() {
  local rc=$?
  teardown_world
  set +e
  (exit "$rc")
  cleanup
}
trap ha_exit EXIT

make_ha_world() {
  teardown_world
  for ns in "$NS_A" "$NS_B" "$NS_LAN" "$CLI_NS"; do
    ip netns add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
  ip -n "$NS_LAN" link add br0 type bridge
  ip -n "$NS_LAN" link set br0 up
  local pair ns port
  for pair in "a:$NS_A:lan0" "b:$NS_B:lan0" "c:$CLI_NS:cli0"; do
    IFS=: read -r port ns ifname <<<"$pair"
    ip link add "$ifname" netns "$ns" type veth peer name "br-$port" netns "$NS_LAN"
    ip -n "$NS_LAN" link set "br-$port" master br0 up
    ip -n "$ns" link set "$ifname" up
    ip netns exec "$ns" ethtool -K "$ifname" tx off >/dev/null 2>&1 || true
  done
  ip link add ha0 netns "$NS_A" type veth peer name ha0 netns "$NS_B"
  ip -n "$NS_A" addr add 10.98.0.1/24 dev ha0
  ip -n "$NS_B" addr add 10.98.0.2/24 dev ha0
  ip -n "$NS_A" link set ha0 up
  ip -n "$NS_B" link set ha0 up
}

# ha_config WHO MODE [extra [ha] lines]: dhcp-WHO's file (a: primary).
# HA_PREFIX, HA_POOL: the subnet and its pool; HA_STORE_EXTRA: [store] lines;
# HA_NO_HA=1: the same server without [ha] (a lone server, for benchmarks).
# HA_WORKERS_A, HA_WORKERS_B: each server's worker count (default 1).
ha_config() {
  local who=$1 mode=$2 extra=${3:-} cpu=$(( $(nproc) > 1 ? 1 : 0 ))
  local workers=1 lcores="0@0" i qpairs=""
  [ "$who" = a ] && workers=${HA_WORKERS_A:-1}
  [ "$who" = b ] && workers=${HA_WORKERS_B:-1}
  for i in $(seq 1 "$workers"); do lcores="$lcores,$i@$cpu"; done
  [ "$workers" -gt 1 ] && qpairs=",qpairs=$workers"
  local addr=10.99.0.1
  [ "$who" = b ] && addr=10.99.0.2
  local role_b=standby
  [ "$mode" = load-balancing ] && role_b=secondary
  cat >"$WORK/$who.toml" <<TOML
[server]
address = "$addr"

[dpdk]
eal_args = ["--no-pci", "--no-huge", "-m", "256", "--vdev=net_af_packet0,iface=lan0$qpairs",
            "--lcores=$lcores", "--file-prefix=dorado-$E2E_RUN-$who", "--log-level=*:error"]
workers = $workers
idle_sleep_us = 100

[store]
dir = "$WORK/store-$who"
${HA_STORE_EXTRA:-}

[control]
socket = "$WORK/$who.sock"
metrics = ""

[ha]
this_server = "dhcp-$who"
mode = "$mode"
listen = "10.98.0.$([ "$who" = a ] && echo 1 || echo 2):8647"
heartbeat_ms = 200
max_response_delay_ms = 1000
max_ack_delay_ms = 2000
max_unacked_clients = 3
insecure = true
$extra

[[ha.peer]]
name = "dhcp-a"
address = "10.98.0.1:8647"
role = "primary"

[[ha.peer]]
name = "dhcp-b"
address = "10.98.0.2:8647"
role = "$role_b"

[[subnet]]
prefix = "${HA_PREFIX:-10.99.0.0/16}"
pools = ["${HA_POOL:-10.99.1.0-10.99.8.255}"]
routers = ["10.99.0.1"]
lease_time = 600
min_lease_time = 20
TOML
  if [ "${HA_NO_HA:-0}" = 1 ]; then   # drop [ha] and [[ha.peer]] tables
    awk '/^\[ha\]$|^\[\[ha\.peer\]\]$/{skip=1; next} /^\[/{skip=0} !skip' "$WORK/$who.toml" >"$WORK/$who.tmp"
    mv "$WORK/$who.tmp" "$WORK/$who.toml"
  fi
}

start_server() {   # start_server WHO (waits up to START_WAIT_S, default 10 s, for "serving")
  local who=$1 ns=$NS_A
  [ "$who" = b ] && ns=$NS_B
  ip netns exec "$ns" "$DORADO_BIN" -c "$WORK/$who.toml" >>"$WORK/$who.out" 2>>"$WORK/$who.err" &
  PID[$who]=$!
  for _ in $(seq 1 $((${START_WAIT_S:-10} * 10))); do
    if grep -q "serving" "$WORK/$who.out" 2>/dev/null; then return 0; fi
    kill -0 "${PID[$who]}" 2>/dev/null || break
    sleep 0.1
  done
  log "dhcp-$who did not start"; cat "$WORK/$who.err" >&2; return 1
}

stop_server() {   # stop_server WHO [KILL|TERM]
  local who=$1 sig=${2:-TERM} p=${PID[$1]:-}
  [ -n "$p" ] || return 0
  kill -"$sig" "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  PID[$who]=""
}

ctl() { local who=$1; shift; "$CTL_BIN" -s "$WORK/$who.sock" --json -t 5 "$@"; }

state_of() {
  ctl "$1" status-get 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)
j = j[0] if isinstance(j, list) else j
print(j["arguments"]["high-availability"][0]["ha-servers"]["local"]["state"])' 2>/dev/null || echo "?"
}

wait_state() {   # wait_state WHO STATE SECONDS
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(state_of "$1")" = "$2" ] && return 0
    sleep 0.2
  done
  log "dhcp-$1 is $(state_of "$1"), not $2"
  return 1
}

# leases WHO: "address mac state" per lease, sorted (paged through the API).
leases() {
  local who=$1 from=start
  : >"$WORK/leases-$who.txt"
  for _ in $(seq 1 200); do
    ctl "$who" lease4-get-page from="$from" limit=1000 >"$WORK/page.json" 2>/dev/null || break
    from=$(python3 - "$WORK/page.json" "$WORK/leases-$who.txt" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j = j[0] if isinstance(j, list) else j
ls = (j.get("arguments") or {}).get("leases", [])
with open(sys.argv[2], "a") as out:
    for l in ls:
        out.write("%s %s %s\n" % (l["ip-address"], l.get("hw-address", ""), l.get("state", 0)))
print(ls[-1]["ip-address"] if len(ls) == 1000 else "")
PY
)
    [ -n "$from" ] || break
  done
  sort -o "$WORK/leases-$who.txt" "$WORK/leases-$who.txt"
}

counter_of() {   # counter_of WHO NAME: a statistic while running
  ctl "$1" statistic-get name="$2" 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin); j = j[0] if isinstance(j, list) else j
a = j.get("arguments", {})
v = list(a.values())[0] if a else [[0]]
print(v[0][0] if isinstance(v, list) else v)' 2>/dev/null || echo 0
}

gen() {   # gen NAME FIRST_MAC CLIENTS [extra args]: dorado-gen in the client namespace
  local name=$1 mac=$2 n=$3; shift 3
  ip netns exec "$CLI_NS" timeout 60 "$GEN_BIN" --no-pci --no-huge -m 256 \
    "--vdev=net_af_packet0,iface=cli0" --lcores=0@0 \
    "--file-prefix=dorado-gen-$E2E_RUN" "--log-level=*:error" -- --clients "$n" --first-mac "$mac" \
    --duration "${GEN_DURATION:-20}" --json "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || true
  tail -n 1 "$WORK/$name.out" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["completed"])' 2>/dev/null || echo 0
}

