# shellcheck shell=bash
# Shared helpers for dorado's end-to-end tests (sourced, bash).
#
# Each test builds its own world: two network namespaces joined by a veth
# pair, dorado on net_af_packet in the server namespace, real DHCP clients
# in the client namespace. Nothing touches the host's interfaces; everything
# is torn down on exit (also on failure or Ctrl-C). Exit 77 = skipped.
set -euo pipefail

E2E_NAME=${E2E_NAME:-e2e}
# This run's tag: the test's name and the shell's PID, so that two runs of
# one test (two checkouts, a benchmark beside CI) never share a namespace or
# a DPDK --file-prefix.
E2E_RUN=${E2E_RUN:-"${E2E_NAME}-$$"}
SRV_NS=${SRV_NS:-"dorado-${E2E_RUN}-srv"}
CLI_NS=${CLI_NS:-"dorado-${E2E_RUN}-cli"}
SRV_IF="veth-srv"
CLI_IF="veth-cli"
WORK=$(mktemp -d "/tmp/dorado-${E2E_NAME}.XXXXXX")
DORADO_PID=""
FAILURES=0
CHECKS=0

log() { printf '[%s] %s\n' "$E2E_NAME" "$*"; }

skip() { log "SKIP: $*"; exit 77; }

require_env() {
  [ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
  command -v ip >/dev/null || skip "iproute2 missing"
  # shellcheck disable=SC2153  # DORADO_BIN is set by the sourcing script
  [ -x "$DORADO_BIN" ] || { log "dorado binary not found: $DORADO_BIN"; exit 1; }
}

cleanup() {
  local rc=$?
  if [ -n "$DORADO_PID" ] && kill -0 "$DORADO_PID" 2>/dev/null; then
    kill -TERM "$DORADO_PID" 2>/dev/null || true
    wait "$DORADO_PID" 2>/dev/null || true
  fi
  # Clients started with `ip netns exec ... &` die with their namespace's
  # processes: kill whatever still runs in the namespaces.
  for ns in "$CLI_NS" "$SRV_NS"; do
    if ip netns list | grep -qw "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
  if [ "${KEEP_WORK:-0}" = 1 ] || [ $rc -ne 0 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# make_world [client-mac]
make_world() {
  for ns in "$CLI_NS" "$SRV_NS"; do ip netns del "$ns" 2>/dev/null || true; done
  ip netns add "$SRV_NS"
  ip netns add "$CLI_NS"
  # No IPv6 chatter (MLD, router solicitations): the wire carries only what
  # the test sends, so every server drop counter must stay at zero.
  for ns in "$SRV_NS" "$CLI_NS"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ip link add "$SRV_IF" netns "$SRV_NS" type veth peer name "$CLI_IF" netns "$CLI_NS"
  if [ -n "${1:-}" ]; then ip -n "$CLI_NS" link set "$CLI_IF" address "$1"; fi
  # The server side carries no IPv4 address: dorado answers ARP and ping for
  # its own address, the kernel must stay silent.
  ip -n "$SRV_NS" link set lo up
  ip -n "$SRV_NS" link set "$SRV_IF" up
  ip -n "$CLI_NS" link set lo up
  ip -n "$CLI_NS" link set "$CLI_IF" up
  # veth drops nothing, but offloads leave UDP checksums partial on the wire.
  ip netns exec "$SRV_NS" ethtool -K "$SRV_IF" tx off >/dev/null 2>&1 || true
  ip netns exec "$CLI_NS" ethtool -K "$CLI_IF" tx off >/dev/null 2>&1 || true
}

# write_config FILE WORKERS [extra toml appended]
write_config() {
  local file=$1 workers=$2 extra=${3:-}
  # lcore i on CPU i mod ncpu: the control lcore plus N workers fit on a
  # 2-core machine (workers back off when idle).
  local ncpu lcores="" i
  ncpu=$(nproc)
  for i in $(seq 0 "$workers"); do lcores="${lcores:+$lcores,}$i@$((i % ncpu))"; done
  cat >"$file" <<TOML
[server]
address = "10.99.0.1"

[dpdk]
eal_args = ["--no-pci", "--no-huge", "-m", "512", "--vdev=net_af_packet0,iface=$SRV_IF,qpairs=$workers",
            "--lcores=$lcores", "--file-prefix=dorado-$E2E_RUN", "--log-level=*:error"]
workers = $workers
idle_sleep_us = 50

[store]
dir = "$WORK/store"

[control]
socket = "$WORK/dorado.sock"

[[subnet]]
prefix = "10.99.0.0/16"
pools = ["10.99.1.0-10.99.1.255", "10.99.2.0/24", "10.99.3.0-10.99.10.255"]
exclude = ["10.99.1.1-10.99.1.9"]
routers = ["10.99.0.1"]
dns = ["10.99.0.53", "10.99.0.54"]
domain = "example.net"
lease_time = 600
min_lease_time = 20
max_lease_time = 3600

[[subnet.reservation]]
mac = "02:00:00:00:00:01"
address = "10.99.0.100"
$extra
TOML
}

# start_dorado CONFIG: runs dorado in the server namespace, waits until it serves.
start_dorado() {
  local cfg=$1
  ip netns exec "$SRV_NS" "$DORADO_BIN" -c "$cfg" >"$WORK/dorado.out" 2>"$WORK/dorado.err" &
  DORADO_PID=$!
  for _ in $(seq 1 100); do
    if grep -q "serving" "$WORK/dorado.out" 2>/dev/null; then return 0; fi
    if ! kill -0 "$DORADO_PID" 2>/dev/null; then
      log "dorado exited early:"; cat "$WORK/dorado.err" "$WORK/dorado.out" >&2; return 1
    fi
    sleep 0.1
  done
  log "dorado did not start in 10 s"; cat "$WORK/dorado.err" >&2; return 1
}

# wait_log TEXT [SECONDS]: true once dorado.err has a line containing TEXT,
# polling every 0.1 s for at most SECONDS (5). start_dorado returns on the
# workers' "serving" (stdout); what the control thread logs at start-up
# (stderr) may come a moment later.
wait_log() {
  local text=$1 tries=$((${2:-5} * 10))
  for _ in $(seq 1 "$tries"); do
    grep -qF -- "$text" "$WORK/dorado.err" && return 0
    sleep 0.1
  done
  return 1
}

# stop_dorado: SIGTERM, must exit 0 within 10 s; counters end up in dorado.out.
# The bound catches a shutdown that hangs, not a slow one: a stop takes a
# few milliseconds of CPU, but on a machine at load 9 the wall clock was
# seen past 1 s (docs/operations.md, "SIGTERM" in the signals table).
stop_dorado() {
  [ -n "$DORADO_PID" ] || return 0
  kill -TERM "$DORADO_PID"
  local rc=0
  for _ in $(seq 1 200); do
    kill -0 "$DORADO_PID" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$DORADO_PID" 2>/dev/null; then
    check "dorado stops within 10 s of SIGTERM" false
    kill -KILL "$DORADO_PID"
  fi
  wait "$DORADO_PID" || rc=$?
  DORADO_PID=""
  check "dorado exits 0 on SIGTERM (rc=$rc)" test "$rc" -eq 0
}

# counter NAME: value of an aggregated counter printed at stop (0 if absent).
counter() {
  awk -v n="$1" '/^counters \(all workers\)/{on=1; next} /^(worker|port) /{on=0} on && $1==n {print $2; f=1} END{if(!f) print 0}' "$WORK/dorado.out"
}

# check DESCRIPTION command...: runs the command, records pass/fail.
check() {
  local what=$1; shift
  CHECKS=$((CHECKS + 1))
  if "$@" >/dev/null 2>&1; then
    log "ok   - $what"
  else
    log "FAIL - $what"
    FAILURES=$((FAILURES + 1))
  fi
}

finish() {
  log "$((CHECKS - FAILURES)) passed, $FAILURES failed"
  if [ "$FAILURES" -ne 0 ]; then
    log "--- dorado stdout"; cat "$WORK/dorado.out" 2>/dev/null || true
    log "--- dorado stderr"; cat "$WORK/dorado.err" 2>/dev/null || true
    exit 1
  fi
  exit 0
}
