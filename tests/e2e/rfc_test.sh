#!/usr/bin/env bash
# Issue 16's RFC details against the real daemon (scapy): RFC 4039 rapid
# commit (DISCOVER with option 80 -> ACK with 80 where the subnet allows it,
# OFFER without 80 where it does not); RFC 5107 (a relay's option 82
# sub-option 11 is the replies' server id and a REQUEST naming it is ours);
# a subnet's interface_address (VLAN 97's segment): its server id, answered
# for ARP and ping by the dataplane (tagged ARP and ICMP from scapy: the
# test machine's kernel may lack 802.1Q devices).
export E2E_NAME=rfc   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
/usr/bin/python3 -c 'import scapy' 2>/dev/null || skip "python3-scapy missing"

make_world
# Rapid commit on for every subnet ([lease]), off for the relayed 10.98.0.0/24.
write_config "$WORK/dorado.toml" 1 '
[lease]
rapid_commit = true

[[subnet]]
prefix = "10.98.0.0/24"
pools = ["10.98.0.10-10.98.0.20"]
routers = ["10.98.0.1"]
rapid_commit = false

[[subnet]]
prefix = "10.97.0.0/24"
pools = ["10.97.0.10-10.97.0.20"]
vlan = 97
interface_address = "10.97.0.1"'

start_dorado "$WORK/dorado.toml"
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"

if ip netns exec "$CLI_NS" timeout 30 /usr/bin/python3 "$(dirname "$0")/rfc_probe.py" "$CLI_IF" \
    >"$WORK/probe.out" 2>&1; then probe_rc=0; else probe_rc=$?; fi
sed "s/^/[$E2E_NAME] probe: /" "$WORK/probe.out"
check "scapy probe passed all its checks" test "$probe_rc" -eq 0

stop_dorado
check "counted: rapid commits" test "$(counter engine.rapid_commit)" -ge 1
check "counted: the rapid lease committed" test "$(counter engine.lease_commit)" -ge 1
check "counted: ARP replies" test "$(counter arp_replies)" -ge 1
check "counted: ICMP echo replies" test "$(counter icmp_replies)" -ge 1
finish
