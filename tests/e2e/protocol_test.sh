#!/usr/bin/env bash
# Crafted exchanges (scapy): INIT-REBOOT NAK and silence, relay with option 82,
# option 53 in file/sname (overload), BOOTP clients (reservation, bootp pool).
export E2E_NAME=protocol   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
/usr/bin/python3 -c 'import scapy' 2>/dev/null || skip "python3-scapy missing"

make_world
# A relay-only subnet whose BOOTP clients get pool addresses (bootp = true).
write_config "$WORK/dorado.toml" 1 '
[[subnet]]
prefix = "10.98.0.0/24"
pools = ["10.98.0.10-10.98.0.20"]
routers = ["10.98.0.1"]
bootp = true'

start_dorado "$WORK/dorado.toml"
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"

if ip netns exec "$CLI_NS" timeout 60 /usr/bin/python3 "$(dirname "$0")/protocol_probe.py" "$CLI_IF" \
    >"$WORK/probe.out" 2>&1; then probe_rc=0; else probe_rc=$?; fi
sed "s/^/[$E2E_NAME] probe: /" "$WORK/probe.out"
check "scapy probe passed all its checks" test "$probe_rc" -eq 0
stop_dorado
check "counted: NAKs" test "$(counter engine.tx_nak)" -ge 2
check "counted: INIT-REBOOT from an unknown client (silence)" test "$(counter engine.drop.init_reboot_unknown_client)" -ge 1
check "counted: BOOTREPLYs" test "$(counter engine.tx_bootreply)" -ge 2
check "counted: BOOTP client without reservation" test "$(counter engine.drop.bootp_not_served)" -ge 1
finish
