#!/usr/bin/env bash
# Bulk leasequery (RFC 6926) over TCP: scapy relays lease clients through two
# relays (option 82 with a relay-id), then a TCP requestor in the server
# namespace gets every lease of each relay (option 82 byte for byte), by
# remote-id, all, a time filter and a malformed query; dorado restarts and
# the same answers come from the recovered store (option 82 is journaled).
WORKERS=${WORKERS:-2}
export E2E_NAME=blq$WORKERS   # read by lib.sh: namespaces dorado-blq<W>-<pid>-*
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
/usr/bin/python3 -c 'import scapy' 2>/dev/null || skip "python3-scapy missing"
PROBE="$(dirname "$0")/bulk_leasequery_probe.py"

make_world
write_config "$WORK/dorado.toml" "$WORKERS" '
[leasequery]
allowed = ["10.99.0.2", "127.0.0.1"]
bulk_listen = "127.0.0.1:67"'
start_dorado "$WORK/dorado.toml"
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"

run_probe() {   # run_probe NAME NS ARGS...: runs the probe, its lines prefixed, records pass/fail
  local name=$1 ns=$2 rc; shift 2
  if ip netns exec "$ns" timeout 60 /usr/bin/python3 "$PROBE" "$@" >"$WORK/$name.out" 2>&1; then rc=0; else rc=$?; fi
  sed "s/^/[$E2E_NAME] $name: /" "$WORK/$name.out"
  check "$name passed all its checks" test "$rc" -eq 0
}
run_probe dora "$CLI_NS" dora "$CLI_IF" 12 "$WORK/leases.json"
run_probe query "$SRV_NS" query 67 "$WORK/leases.json"
check "dorado logs the bulk listener" grep -q "bulk leasequery: listening on 127.0.0.1:67" "$WORK/dorado.err"
check "dorado logs each bulk query" grep -q "bulk leasequery by relay-id from 127.0.0.1: 6 lease(s)" "$WORK/dorado.err"
stop_dorado

# Restart: the leases and their option 82 come back from the journal.
start_dorado "$WORK/dorado.toml"
run_probe "query after restart" "$SRV_NS" query 67 "$WORK/leases.json"
stop_dorado
finish
