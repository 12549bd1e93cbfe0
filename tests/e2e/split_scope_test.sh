#!/usr/bin/env bash
# Split scope: two dorado processes (dhcp-a 10.99.0.1 share 80, dhcp-b
# 10.99.0.3 share 20) on the same veth, the same [[subnet]] with a 50-address
# pool, each its own store and DPDK file prefix. perfdhcp (a relay) brings
# more clients than the pool holds. Both servers answer every DISCOVER from
# their own part; the client takes one OFFER and the other server releases
# its offer when it sees the REQUEST naming the first. At the end the
# addresses leased by the two servers are disjoint, each inside its own part
# (as --show-split-scope prints it), and together they cover the pool.
export E2E_NAME=splitscope   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
DORADO_LEASES_BIN=${DORADO_LEASES_BIN:?set DORADO_LEASES_BIN}
CLIENTS=${CLIENTS:-80}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
command -v perfdhcp >/dev/null || skip "perfdhcp (kea-admin) missing"

make_world

# split_config NAME ADDRESS: the shared scope, as server NAME at ADDRESS.
split_config() {
  local name=$1 address=$2
  cat >"$WORK/$name.toml" <<TOML
[server]
address = "$address"

[dpdk]
eal_args = ["--no-pci", "--no-huge", "-m", "256", "--vdev=net_af_packet0,iface=$SRV_IF",
            "--lcores=0@0,1@$((1 % $(nproc)))", "--file-prefix=dorado-$E2E_RUN-$name", "--log-level=*:error"]
workers = 1
idle_sleep_us = 50

[store]
dir = "$WORK/store-$name"

[control]
socket = "$WORK/$name.sock"

[split_scope]
this_server = "$name"
servers = [ { name = "dhcp-a", share = 80 }, { name = "dhcp-b", share = 20 } ]

[[subnet]]
prefix = "10.99.0.0/16"
pools = "10.99.1.10-10.99.1.59"
routers = "10.99.0.1"
lease_time = 600
min_lease_time = 20
TOML
}
split_config dhcp-a 10.99.0.1
split_config dhcp-b 10.99.0.3

"$DORADO_BIN" --show-split-scope -c "$WORK/dhcp-a.toml" >"$WORK/split-a.txt"
"$DORADO_BIN" --show-split-scope -c "$WORK/dhcp-b.toml" >"$WORK/split-b.txt"
cat "$WORK/split-a.txt"
check "--show-split-scope: dhcp-a serves 10.99.1.10-10.99.1.49 (40)" \
  grep -qF "dhcp-a: 10.99.1.10-10.99.1.49 (40)  <- this server" "$WORK/split-a.txt"
check "--show-split-scope: dhcp-b serves 10.99.1.50-10.99.1.59 (10)" \
  grep -qF "dhcp-b: 10.99.1.50-10.99.1.59 (10)  <- this server" "$WORK/split-b.txt"
check "--show-split-scope: dhcp-a excludes dhcp-b's part" \
  grep -qF "excluded here: 10.99.1.50-10.99.1.59" "$WORK/split-a.txt"
rc=0; "$DORADO_BIN" --show-split-scope -c /nonexistent.toml >/dev/null 2>&1 || rc=$?
check "--show-split-scope on a missing file exits 2" test "$rc" -eq 2

# Second server: started by hand (lib.sh tracks one DORADO_PID; cleanup kills
# whatever is left in the namespace).
ip netns exec "$SRV_NS" "$DORADO_BIN" -c "$WORK/dhcp-b.toml" >"$WORK/b.out" 2>"$WORK/b.err" &
B_PID=$!
for _ in $(seq 1 100); do grep -q serving "$WORK/b.out" 2>/dev/null && break; sleep 0.1; done
check "dhcp-b serves" grep -q serving "$WORK/b.out"
start_dorado "$WORK/dhcp-a.toml"

ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"
ip netns exec "$CLI_NS" timeout 60 perfdhcp -4 -l "$CLI_IF" -r 40 -R "$CLIENTS" -n "$CLIENTS" \
  -p 10 -W 2000000 10.99.0.1 >"$WORK/perfdhcp.out" 2>&1 || true
stats() {   # stats EXCHANGE FIELD
  awk -v ex="$1" -v f="$2" '/^\*\*\*Statistics for: /{on=($0 ~ ex)} on && index($0, f ": ")==1 {sub(/.*: /,""); print; exit}' "$WORK/perfdhcp.out"
}
log "DISCOVER-OFFER: sent $(stats DISCOVER-OFFER 'sent packets') received $(stats DISCOVER-OFFER 'received packets')"
log "REQUEST-ACK:    sent $(stats REQUEST-ACK 'sent packets') received $(stats REQUEST-ACK 'received packets')"
check "no address given twice (perfdhcp)" test "$(stats REQUEST-ACK 'non unique addresses')" = 0

# The split as a running server reports it (control API, split-scope-get).
if [ -n "${DORADOCTL_BIN:-}" ]; then
  ip netns exec "$SRV_NS" "$DORADOCTL_BIN" -s "$WORK/dhcp-b.sock" --json split-scope-get >"$WORK/split-b.json" 2>&1 || true
  check "doradoctl split-scope-get (dhcp-b): its part 10.99.1.50-10.99.1.59, dhcp-a's excluded" \
    python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["arguments"]
p = a["pools"][0]
parts = {x["server"]: x for x in p["parts"]}
ok = (a["this-server"] == "dhcp-b" and parts["dhcp-b"]["range"] == "10.99.1.50-10.99.1.59"
      and parts["dhcp-b"]["count"] == 10 and parts["dhcp-a"]["count"] == 40
      and p["excluded"] == ["10.99.1.10-10.99.1.49"])
sys.exit(0 if ok else 1)' "$WORK/split-b.json"
fi

stop_dorado
kill -TERM "$B_PID"
b_rc=0; wait "$B_PID" || b_rc=$?
check "dhcp-b exits 0 on SIGTERM" test "$b_rc" -eq 0

# Active leases of each server, one address per line.
leases_of() {
  "$DORADO_LEASES_BIN" list --store "$WORK/store-$1" 2>/dev/null | awk '$0 ~ /active/ {print $1}' | sort -V
}
leases_of dhcp-a >"$WORK/a.leases"
leases_of dhcp-b >"$WORK/b.leases"
log "dhcp-a leased $(wc -l <"$WORK/a.leases"), dhcp-b leased $(wc -l <"$WORK/b.leases")"
in_range() {   # in_range FILE FIRST LAST: every address's last octet in [FIRST, LAST] of 10.99.1.x
  awk -F. -v lo="$2" -v hi="$3" '$1"."$2"."$3 != "10.99.1" || $4 < lo || $4 > hi {bad=1} END{exit bad}' "$1"
}
check "dhcp-a leased its 40 addresses" test "$(wc -l <"$WORK/a.leases")" -eq 40
check "dhcp-b leased its 10 addresses" test "$(wc -l <"$WORK/b.leases")" -eq 10
check "dhcp-a's leases are inside 10.99.1.10-10.99.1.49" in_range "$WORK/a.leases" 10 49
check "dhcp-b's leases are inside 10.99.1.50-10.99.1.59" in_range "$WORK/b.leases" 50 59
check "the two servers' leases are disjoint" test -z "$(comm -12 <(sort "$WORK/a.leases") <(sort "$WORK/b.leases"))"
seq 10 59 | sed 's/^/10.99.1./' | sort >"$WORK/pool.txt"
check "together they cover the pool exactly" diff <(sort "$WORK/a.leases" "$WORK/b.leases") "$WORK/pool.txt"
check "dhcp-a ran out of addresses (pool_exhausted counted)" test "$(counter engine.drop.pool_exhausted)" -gt 0
finish
