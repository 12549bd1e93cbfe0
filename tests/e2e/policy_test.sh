#!/usr/bin/env bash
# Issue 16 with scapy (tests/e2e/policy_probe.py): reservations by option 82
# circuit-id and the PXE two-identities case, and VLAN-aware subnet
# selection (802.1Q 100, QinQ 200/300). Under 20 s.
WORKERS=${WORKERS:-1}
export E2E_NAME=policy$WORKERS   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
/usr/bin/python3 -c 'import scapy' 2>/dev/null || skip "python3-scapy missing"

make_world
write_config "$WORK/dorado.toml" "$WORKERS" '
[[subnet.reservation]]
circuit_id = "eth0/1/9"
address = "10.99.0.90"
hostname = "line-9"
[[subnet.reservation]]
mac = "02:00:00:00:00:05"
address = "10.99.0.5"
[[subnet]]
prefix = "10.100.0.0/24"
pools = ["10.100.0.10-10.100.0.50"]
vlan = 100
[[subnet]]
prefix = "10.101.0.0/24"
pools = ["10.101.0.10-10.101.0.50"]
vlans = [[200, 300]]'

start_dorado "$WORK/dorado.toml"
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"

if ip netns exec "$CLI_NS" timeout 60 /usr/bin/python3 "$(dirname "$0")/policy_probe.py" "$CLI_IF" vlan \
    >"$WORK/probe.out" 2>&1; then probe_rc=0; else probe_rc=$?; fi
sed "s/^/[$E2E_NAME] probe: /" "$WORK/probe.out"
check "scapy policy probe passed all its checks" test "$probe_rc" -eq 0
stop_dorado
check "counted: reservations used" test "$(counter engine.reservation_used)" -ge 3
check "counted: the held line address (a conflict)" test "$(counter engine.reservation_in_use)" -ge 1
check "counted: the reservation moved between the device's identities" test "$(counter engine.reservation_moved)" -ge 2
check "counted: DISCOVERs of the VLAN subnets offered" test "$(counter engine.tx_offer)" -ge 7
finish
