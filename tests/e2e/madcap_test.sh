#!/usr/bin/env bash
# MADCAP (RFC 2730, docs/madcap.md) end to end: dorado with [madcap] and two
# [[multicast_scope]]s; a client written apart from the codec (madcap_client.py,
# plain UDP to the kernel socket in dorado's namespace) gets a multicast
# address (DISCOVER/OFFER, REQUEST/ACK), renews it, asks GETINFO, a second
# client gets another address; dorado is killed with SIGKILL and restarted:
# both leases are still there (RENEW answered with the same address); a
# RELEASE, then a clean restart: the released lease stays gone, the other
# stays; a reload adds a scope the client then gets an address from. The
# counters are checked through the control API. Bounded: < 30 s.
export E2E_NAME=madcap   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
DORADOCTL_BIN=${DORADOCTL_BIN:?set DORADOCTL_BIN}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
command -v python3 >/dev/null || skip "python3 missing"

CLIENT="$(cd "$(dirname "$0")" && pwd)/madcap_client.py"
SOCK="$WORK/dorado.sock"
PORT=2535
ctl() { "$DORADOCTL_BIN" -s "$SOCK" "$@"; }
# stat NAME: a statistic's value from statistic-get-all.
stat() {
  ctl --json statistic-get-all |
    python3 -c "import json,sys; a=json.load(sys.stdin)['arguments']; print(a['$1'][0][0] if '$1' in a else 'absent')"
}
# mc COMMAND [ARGS]: the client in dorado's namespace (loopback), its JSON answer in $WORK/mc.json.
mc() {
  ip netns exec "$SRV_NS" timeout 10 python3 "$CLIENT" --port "$PORT" "$@" >"$WORK/mc.json" 2>>"$WORK/mc.err" || true
  cat "$WORK/mc.json" >>"$WORK/mc.log"
}
# field EXPR: a Python expression over the last answer (d).
field() { python3 -c "import json; d=json.load(open('$WORK/mc.json')); print($1)" 2>/dev/null; }

SCOPES='
[madcap]
listen = "127.0.0.1:2535"

[[multicast_scope]]
name = "site-local"
range = "239.1.0.0-239.1.0.15"
zone = "Example Site"
ttl = 16
min_lease_time = 10
default_lease_time = 60
max_lease_time = 120
'
NEW_SCOPE='
[[multicast_scope]]
name = "organization"
range = "239.192.0.0/24"
'

make_world
ip -n "$SRV_NS" link set lo up
CFG="$WORK/dorado.toml"
write_config "$CFG" 1 "$SCOPES"
start_dorado "$CFG"
check "dorado logs the MADCAP socket" wait_log "madcap: listening on port 2535"

# ---- a lease -----------------------------------------------------------------
mc get --lease-id lease-A --scope 239.1.0.0
check "get: an ACK" test "$(field 'd["type"]')" = ACK
A=$(field 'd["addresses"][0]')
check "get: one address in the scope (got $A)" python3 -c "
import ipaddress as i; a=i.ip_address('$A'); assert i.ip_address('239.1.0.0') <= a <= i.ip_address('239.1.0.15')"
check "get: the address offered is the one acknowledged" test "$(field 'd["offered"][0]')" = "$A"
check "get: the server identifier is [server] address" test "$(field 'd["server"]')" = 10.99.0.1
check "get: default_lease_time 60" test "$(field 'd["lease_time"]')" = 60
check "get: the lease identifier echoed" test "$(field 'd["lease_id"]')" = lease-A

mc renew --lease-id lease-A --lease-time 100
check "renew: an ACK with the same address" test "$(field 'd["type"]+" "+d["addresses"][0]')" = "ACK $A"
check "renew: the lease time asked for (100)" test "$(field 'd["lease_time"]')" = 100
mc renew --lease-id lease-A --lease-time 100000
check "renew: capped at max_lease_time (120)" test "$(field 'd["lease_time"]')" = 120

mc getinfo --lease-id info
check "getinfo: an ACK listing the scope (zone name, TTL 16)" \
  test "$(field 'd["type"]+" "+d["scopes"][0]["first"]+" "+d["scopes"][0]["last"]+" "+d["scopes"][0]["names"][0]+" "+str(d["scopes"][0]["ttl"])')" \
  = "ACK 239.1.0.0 239.1.0.15 Example Site 16"
check "getinfo: the current time" python3 -c "import json,time; d=json.load(open('$WORK/mc.json')); assert abs(d['time']-time.time()) < 30"

mc get --lease-id lease-B --scope 239.1.0.0
B=$(field 'd["addresses"][0]')
check "a second client: another address ($B, not $A)" bash -c "[ -n '$B' ] && [ '$B' != '$A' ]"
mc get --lease-id lease-C --scope 239.9.0.0
check "a scope not served: no answer" grep -q '"no OFFER"' "$WORK/mc.json"
mc renew --lease-id nobody
check "renew of an unknown lease: NAK, error 3 (lease identifier not recognized)" \
  test "$(field 'd["type"]+" "+str(d["error"])')" = "NAK 3"
mc garbage
# The control thread counts the malformed datagram when it polls: wait for
# it (bounded) rather than for a fixed time on a loaded machine.
for _ in $(seq 1 50); do [ "$(stat madcap.drop_malformed)" = 1 ] && break; sleep 0.1; done
check "statistic madcap.acks = 5" test "$(stat madcap.acks)" = 5
check "statistic madcap.offers = 2" test "$(stat madcap.offers)" = 2
check "statistic madcap.naks = 1" test "$(stat madcap.naks)" = 1
check "statistic madcap.drop_malformed = 1" test "$(stat madcap.drop_malformed)" = 1
check "statistic madcap.drop_unknown_scope >= 1" test "$(stat madcap.drop_unknown_scope)" -ge 1
check "statistic madcap.leases = 2" test "$(stat madcap.leases)" = 2
check "config-get shows [madcap] and the scope" python3 -c "
import json, subprocess
a = json.loads(subprocess.run(['$DORADOCTL_BIN', '-s', '$SOCK', '--json', 'config-get'], capture_output=True, text=True).stdout)
d = a['arguments']['Dorado']
assert d['madcap']['listen'] == '127.0.0.1:2535', d.get('madcap')
s = d['multicast_scope'][0]
assert (s['name'], s['range'], s['zone'], s['ttl'], s['max_lease_time']) == ('site-local', '239.1.0.0-239.1.0.15', 'Example Site', 16, 120), s"
# The metrics snapshot is taken about once a second: poll it (at most 8 s).
for _ in $(seq 1 40); do
  ip netns exec "$SRV_NS" python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:9167/metrics', timeout=5).read().decode())" \
    >"$WORK/metrics.txt" 2>&1 || true
  grep -qx 'dorado_madcap_acks_total 5' "$WORK/metrics.txt" && grep -qx 'dorado_madcap_leases 2' "$WORK/metrics.txt" && break
  sleep 0.2
done
check "/metrics: dorado_madcap_acks_total 5" grep -qx 'dorado_madcap_acks_total 5' "$WORK/metrics.txt"
check "/metrics: dorado_madcap_leases 2" grep -qx 'dorado_madcap_leases 2' "$WORK/metrics.txt"

# ---- a crash: SIGKILL, then start again -------------------------------------------
kill -KILL "$DORADO_PID"
wait "$DORADO_PID" 2>/dev/null || true
DORADO_PID=""
mv "$WORK/dorado.err" "$WORK/dorado.err.1"
start_dorado "$CFG"
check "after SIGKILL: both leases taken from the store" wait_log "madcap: listening on port 2535, 2 lease(s) from the store"
check "after SIGKILL: the DHCP shards were handed no multicast lease" \
  bash -c "! grep 'handed leases' '$WORK/dorado.err' | grep -Eq 'no_subnet [1-9]'"
mc renew --lease-id lease-A
check "after SIGKILL: lease-A renewed with its address" test "$(field 'd["type"]+" "+d["addresses"][0]')" = "ACK $A"
mc renew --lease-id lease-B
check "after SIGKILL: lease-B renewed with its address" test "$(field 'd["type"]+" "+d["addresses"][0]')" = "ACK $B"

mc release --lease-id lease-A
check "release: an ACK" test "$(field 'd["type"]')" = ACK
mc renew --lease-id lease-A
check "after the release: RENEW is refused (NAK 3)" test "$(field 'd["type"]+" "+str(d["error"])')" = "NAK 3"

# ---- a clean restart ------------------------------------------------------------
stop_dorado
mv "$WORK/dorado.err" "$WORK/dorado.err.2"
start_dorado "$CFG"
check "after a clean restart: one lease from the store" wait_log "madcap: listening on port 2535, 1 lease(s) from the store"
mc renew --lease-id lease-A
check "after a clean restart: the released lease stays gone" test "$(field 'd["type"]')" = NAK
mc renew --lease-id lease-B
check "after a clean restart: lease-B is there" test "$(field 'd["type"]+" "+d["addresses"][0]')" = "ACK $B"

# ---- reload: a second scope --------------------------------------------------------
write_config "$CFG" 1 "$SCOPES$NEW_SCOPE"
kill -HUP "$DORADO_PID"
for _ in $(seq 1 50); do grep -q "reload: .*applied\|config reloaded\|reload: done" "$WORK/dorado.err" && break; sleep 0.1; done
sleep 0.3
mc get --lease-id lease-D --scope 239.192.0.0
check "after the reload: an address from the new scope" \
  python3 -c "import json; d=json.load(open('$WORK/mc.json')); assert d['type']=='ACK' and d['addresses'][0].startswith('239.192.0.')"
mc renew --lease-id lease-B
check "after the reload: lease-B still renews" test "$(field 'd["type"]+" "+d["addresses"][0]')" = "ACK $B"

stop_dorado
log "--- client answers"; cat "$WORK/mc.log" 2>/dev/null | head -40 || true
finish
