#!/usr/bin/env bash
# Per-circuit limits (issue 16; engine/limits.hpp) with scapy as a relay
# adding option 82 circuit-ids, two workers: max_leases_per_circuit holds
# across them (a 4th client refused and counted, a renewal answered, a
# RELEASE frees a place), max_new_clients_per_second caps a burst, and
# after a restart the counts are rebuilt from the journal.
export E2E_NAME=lim   # read by lib.sh: namespaces dorado-lim-<pid>-srv/-cli
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
/usr/bin/python3 -c 'import scapy' 2>/dev/null || skip "python3-scapy missing"

make_world
write_config "$WORK/dorado.toml" 2 '
[limits]
max_leases_per_circuit = 3
max_new_clients_per_second = 4'
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"

probe() {
  if ip netns exec "$CLI_NS" timeout 30 /usr/bin/python3 "$(dirname "$0")/limits_probe.py" "$CLI_IF" "$1" \
      "$WORK/held" >"$WORK/probe-$1.out" 2>&1; then probe_rc=0; else probe_rc=$?; fi
  sed "s/^/[$E2E_NAME] probe $1: /" "$WORK/probe-$1.out"
  check "scapy limits probe ($1) passed all its checks" test "$probe_rc" -eq 0
}

start_dorado "$WORK/dorado.toml"
probe first
stop_dorado
check "counted: drop limit_leases" test "$(counter engine.drop.limit_leases)" -ge 1
check "counted: drop limit_rate (at least 2 of the burst)" test "$(counter engine.drop.limit_rate)" -ge 2

start_dorado "$WORK/dorado.toml"
probe restart
stop_dorado
check "counted after the restart: drop limit_leases" test "$(counter engine.drop.limit_leases)" -ge 1
finish
