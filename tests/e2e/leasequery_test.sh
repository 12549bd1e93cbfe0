#!/usr/bin/env bash
# Leasequery (RFC 4388) with scapy: relayed clients by MAC and by client-id,
# then DHCPLEASEQUERY by IP, MAC and client-id from an allowed requester, an
# address free and one foreign, and a requester not allowed (silence,
# counted). WORKERS=2 checks the routing of queries between shards.
WORKERS=${WORKERS:-1}
export E2E_NAME=lq$WORKERS   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
/usr/bin/python3 -c 'import scapy' 2>/dev/null || skip "python3-scapy missing"

make_world
write_config "$WORK/dorado.toml" "$WORKERS" '
[leasequery]
allowed = ["10.99.0.2"]'
start_dorado "$WORK/dorado.toml"
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"

if ip netns exec "$CLI_NS" timeout 120 /usr/bin/python3 "$(dirname "$0")/leasequery_probe.py" "$CLI_IF" 16 \
    >"$WORK/probe.out" 2>&1; then probe_rc=0; else probe_rc=$?; fi
sed "s/^/[$E2E_NAME] probe: /" "$WORK/probe.out"
check "scapy leasequery probe passed all its checks" test "$probe_rc" -eq 0
stop_dorado
check "counted: leasequeries received" test "$(counter engine.rx_leasequery)" -ge 36
check "counted: DHCPLEASEACTIVE" test "$(counter engine.tx_lease_active)" -ge 32
check "counted: DHCPLEASEUNASSIGNED" test "$(counter engine.tx_lease_unassigned)" -ge 1
check "counted: DHCPLEASEUNKNOWN" test "$(counter engine.tx_lease_unknown)" -ge 3
check "counted: the requester not allowed" test "$(counter engine.drop.leasequery_not_allowed)" -ge 1
finish
