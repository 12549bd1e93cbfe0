#!/usr/bin/env bash
# dorado's main job on its embedded default: the network-namespace sandbox.
#
# Installs what it needs (tools/setup-deps.sh), builds dorado in build/,
# reserves 2 MiB hugepages if it can (else runs DPDK with --no-huge), then:
#   - creates namespaces dorado-srv and dorado-cli joined by a veth pair
#     (veth-srv <-> veth-cli); nothing touches the host's interfaces;
#   - starts dorado on net_af_packet over veth-srv in dorado-srv with
#     tools/dorado.example.toml (server 10.99.0.1, pool 10.99.1.0/24 +
#     10.99.2.0/24, reservation 02:00:00:00:00:01 -> 10.99.0.100);
#   - runs a real DHCP client (dhclient) in dorado-cli and shows the lease
#     it got, pings the server address;
#   - kills dorado with SIGKILL, starts it again on the same lease store and
#     shows that the client gets its lease back (durability "fsync");
#   - lets the reserved MAC get its fixed address (udhcpc);
#   - stops dorado and prints its counters.
# Everything it created is removed on exit, also on Ctrl-C; re-running works.
#
# Usage: tools/sandbox.sh [--keep] [--workers N] [--config FILE]
#   --keep       leave the sandbox running until Ctrl-C (try your own
#                clients: ip netns exec dorado-cli dhclient -v veth-cli)
#   --workers N  worker lcores (default 1; lcores are mapped onto the CPUs)
#   --config F   another config (its [dpdk] eal_args are replaced)
# Needs root (namespaces, hugepages).
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
keep=0 workers=1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
config="$root/tools/dorado.example.toml"
while [ $# -gt 0 ]; do
  case $1 in
    --keep) keep=1; shift ;;
    --workers) workers=$2; shift 2 ;;
    --config) config=$(realpath "$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "sandbox.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "sandbox.sh: needs root (network namespaces, hugepages)" >&2; exit 2; }

cd "$root"
tools/setup-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "${DORADO_JOBS:-2}" --target dorado

export E2E_NAME=sandbox SRV_NS=dorado-srv CLI_NS=dorado-cli DORADO_BIN="$root/build/control/daemon/dorado"   # read by lib.sh
# shellcheck source=../tests/e2e/lib.sh
source "$root/tests/e2e/lib.sh"

# ---- DPDK memory: hugepages when the kernel gives them, else --no-huge ----------
mem_args=(--no-huge -m 256)
hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if [ -w "$hp" ]; then
  [ "$(cat "$hp")" -ge 128 ] || echo 128 >"$hp" 2>/dev/null || true
  mountpoint -q /dev/hugepages || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true; }
  rm -f /dev/hugepages/dorado-sandboxmap_*   # pages a killed earlier run left behind
  free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
  # --huge-unlink: no page files outlive the process.
  if mountpoint -q /dev/hugepages && [ "$free" -ge 128 ]; then mem_args=(-m 256 --huge-unlink); fi
fi
ncpu=$(nproc) lcores=""
for i in $(seq 0 "$workers"); do lcores="${lcores:+$lcores,}$i@$((i % ncpu))"; done
eal=(--no-pci "${mem_args[@]}" "--vdev=net_af_packet0,iface=$SRV_IF,qpairs=$workers"
     "--lcores=$lcores" --file-prefix=dorado-sandbox --log-level='*:error')
log "DPDK memory: ${mem_args[*]}"

make_world
cp "$config" "$WORK/dorado.toml"
sed -i "s/^workers = .*/workers = $workers/; s|^dir = .*|dir = \"$WORK/store\"|; s|^socket = .*|socket = \"$WORK/dorado.sock\"|" "$WORK/dorado.toml"
start_server() {
  ip netns exec "$SRV_NS" "$DORADO_BIN" "${eal[@]}" -- -c "$WORK/dorado.toml" >"$WORK/dorado.out" 2>"$WORK/dorado.err" &
  DORADO_PID=$!
  for _ in $(seq 1 100); do grep -q serving "$WORK/dorado.out" 2>/dev/null && break; sleep 0.1; done
  grep -q serving "$WORK/dorado.out" || { cat "$WORK/dorado.err" >&2; exit 1; }
}
start_server
sed 's/^/  /' "$WORK/dorado.out"
sed 's/^dorado: [^ ]* /  /' "$WORK/dorado.err"

dhclient_once() {
  ip netns exec "$CLI_NS" timeout 30 dhclient -4 -v -1 -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" \
    "$CLI_IF" 2>&1 | grep -E "DHCP|bound" | sed 's/^/  /'
}
log "dhclient in $CLI_NS:"
dhclient_once
first=$(ip -n "$CLI_NS" -4 -o addr show dev "$CLI_IF" | awk '{print $4}')
log "lease on $CLI_IF: $first"
sed -n '/^lease {/,/^}/p' "$WORK/dhclient.leases" | sed 's/^/  /'
log "ping the server address:"
ip netns exec "$CLI_NS" ping -c 2 -W 1 10.99.0.1 | sed -n 's/^/  /; /packets transmitted/p'

log "crash: kill -9 dorado, start it again on the same store:"
kill -KILL "$DORADO_PID"; wait "$DORADO_PID" 2>/dev/null || true
start_server
grep "store: " "$WORK/dorado.err" | sed 's/^dorado: [^ ]* /  /'
ip netns exec "$CLI_NS" dhclient -4 -x -pf "$WORK/dhclient.pid" "$CLI_IF" >/dev/null 2>&1 || true
log "dhclient again (INIT-REBOOT, asks for its lease back):"
dhclient_once
again=$(ip -n "$CLI_NS" -4 -o addr show dev "$CLI_IF" | awk '{print $4}')
log "lease on $CLI_IF after the crash: $again ($([ "$again" = "$first" ] && echo "the same: it survived" || echo "DIFFERENT"))"
ip netns exec "$CLI_NS" dhclient -4 -r -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" "$CLI_IF" >/dev/null 2>&1 || true

log "the reserved MAC 02:00:00:00:00:01 (udhcpc):"
ip -n "$CLI_NS" link set "$CLI_IF" address 02:00:00:00:00:01
ip netns exec "$CLI_NS" timeout 15 udhcpc -f -q -n -i "$CLI_IF" -s /bin/true 2>&1 | grep -E "lease of|obtained" | sed 's/^/  /' || true

if [ "$keep" = 1 ]; then
  log "sandbox running; try: ip netns exec $CLI_NS dhclient -v -1 $CLI_IF   (Ctrl-C to end)"
  trap ':' INT   # Ctrl-C ends the wait; the counters are still printed
  wait "$DORADO_PID" || true
  trap 'exit 130' INT
fi
kill -TERM "$DORADO_PID" 2>/dev/null || true
wait "$DORADO_PID" || true
DORADO_PID=""
log "server counters:"
sed -n '/^counters/,$p' "$WORK/dorado.out" | sed 's/^/  /'
