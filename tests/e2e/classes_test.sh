#!/usr/bin/env bash
# Client classes (issue 16) with scapy: relayed DISCOVERs carrying option 60,
# 77 and 82 get their class's options, a class-restricted pool and its lease
# time; a client of no class does not; a drop class is counted, not answered.
export E2E_NAME=cls   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
/usr/bin/python3 -c 'import scapy' 2>/dev/null || skip "python3-scapy missing"

make_world
write_config "$WORK/dorado.toml" 1 '
[[subnet.pool]]
range = "10.99.11.0-10.99.11.255"
classes = ["phones"]
lease_time = 300
[[subnet.pool.option]]
code = 150
ip = ["10.99.0.150"]

[[option]]
code = 66
string = "tftp.global.example"

[[class]]
name = "phones"
vendor_class_prefix = "PolycomVVX"
[[class.option]]
code = 66
string = "tftp.phones.example"

[[class]]
name = "ipxe"
user_class = "iPXE"
[[class.option]]
code = 67
string = "ipxe.efi"

[[class]]
name = "line-7"
circuit_id = "eth0/1/7"
[[class.option]]
code = 66
string = "tftp.line7.example"

[[class]]
name = "blocked"
remote_id = "bad-cpe"
drop = true'
start_dorado "$WORK/dorado.toml"
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"

if ip netns exec "$CLI_NS" timeout 60 /usr/bin/python3 "$(dirname "$0")/classes_probe.py" "$CLI_IF" \
    >"$WORK/probe.out" 2>&1; then probe_rc=0; else probe_rc=$?; fi
sed "s/^/[$E2E_NAME] probe: /" "$WORK/probe.out"
check "scapy classes probe passed all its checks" test "$probe_rc" -eq 0
stop_dorado
check "counted: the drop class" test "$(counter engine.drop.class_drop)" -ge 1
finish
