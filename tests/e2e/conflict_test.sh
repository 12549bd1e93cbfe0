#!/usr/bin/env bash
# Conflict detection before an OFFER ([conflict], docs/configuration.md): a
# squatter (the client namespace's kernel, holding pool addresses by hand)
# answers ARP and ping for them; scapy clients, one on the segment (probed
# by ARP) and one through a relay (probed by ICMP echo), must never be
# offered a squatted address, and each squatted address must be logged and
# put in probation. Bounded: ~10 s.
export E2E_NAME=conflict   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
/usr/bin/python3 -c 'import scapy' 2>/dev/null || skip "python3-scapy missing"

make_world
write_config "$WORK/dorado.toml" "${WORKERS:-1}" '
[conflict]
probe = "arp"
probe_timeout_ms = 300
probes = 2'
# Two blocks of four addresses (one per shard with two workers); the
# squatted ones are the first each shard would give.
sed -i 's|^pools = .*|pools = ["10.99.1.10-10.99.1.13", "10.99.1.74-10.99.1.77"]|; /^exclude = /d' "$WORK/dorado.toml"
start_dorado "$WORK/dorado.toml"

srv_mac=$(ip -n "$SRV_NS" -o link show "$SRV_IF" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
cli_mac=$(ip -n "$CLI_NS" -o link show "$CLI_IF" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
# The squatter's kernel answers the server address through a fixed
# neighbour entry: the only ARP it sends are answers to probes.
ip -n "$CLI_NS" neigh replace 10.99.0.1 lladdr "$srv_mac" dev "$CLI_IF" nud permanent

if ip netns exec "$CLI_NS" timeout 40 /usr/bin/python3 "$(dirname "$0")/conflict_probe.py" "$CLI_IF" "$CLI_NS" \
    >"$WORK/probe.out" 2>&1; then probe_rc=0; else probe_rc=$?; fi
sed "s/^/[$E2E_NAME] scapy: /" "$WORK/probe.out"
check "scapy clients were never offered a squatted address" test "$probe_rc" -eq 0
stop_dorado
check "counted: probes sent" test "$(counter probes_sent)" -ge 3
check "counted: two probes answered" test "$(counter probes_answered)" -eq 2
check "counted: two addresses in probation" test "$(counter engine.probe_conflict)" -eq 2
check "counted: the free addresses' probes timed out" test "$(counter probes_timed_out)" -eq 2
check "counted: nothing offered unprobed" test "$(counter probes_skipped)" -eq 0
check "logged: two conflicts, each with the squatter's MAC" \
  test "$(grep -c "conflict: 10\.99\.1\.[0-9]* answered a probe from $cli_mac" "$WORK/dorado.err")" -eq 2
finish
