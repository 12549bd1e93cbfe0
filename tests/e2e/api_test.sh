#!/usr/bin/env bash
# The control API against a live dorado: clients get leases (udhcpc with the
# reserved MAC, perfdhcp as a relay), then every command through doradoctl
# with its expected answer; bad input through a raw socket (malformed JSON,
# unknown command, wrong types, a 2 MiB request) gets error answers and the
# server keeps serving; a lease added by the API survives a restart (it is
# journaled); shutdown stops dorado with exit 0; doradoctl exits 2 when no
# server listens.
export E2E_NAME=api${WORKERS:-1}   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
DORADOCTL_BIN=${DORADOCTL_BIN:?set DORADOCTL_BIN}
WORKERS=${WORKERS:-1}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
command -v udhcpc >/dev/null || skip "udhcpc missing"
command -v perfdhcp >/dev/null || skip "perfdhcp (kea-admin) missing"
command -v python3 >/dev/null || skip "python3 missing"

SOCK="$WORK/dorado.sock"
ctl() { "$DORADOCTL_BIN" -s "$SOCK" "$@"; }
# jq-free JSON checks: ctlj FIELD-EXPR COMMAND ARGS... prints a Python expression's value over the answer.
ctlj() {
  local expr=$1; shift
  ctl --json "$@" | python3 -c "import json,sys; a=json.load(sys.stdin); print($expr)"
}
# raw TEXT: sends bytes as they are, prints the answer.
raw() {
  python3 - "$SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
data = sys.argv[2].encode()
if data == b"HUGE":
    data = b'{"command": "version-get", "arguments": {"x": "' + b"a" * (2 << 20) + b'"}}'
try:
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
except (BrokenPipeError, ConnectionResetError):
    pass
out = b""
while True:
    try:
        b = s.recv(65536)
    except ConnectionResetError:   # the server closed with our request unread (too large)
        break
    if not b:
        break
    out += b
print(out.decode())
PY
}

make_world
# A second subnet without a pool, chosen by option 118: every DISCOVER for it
# is refused (pool_exhausted), for the trace's drop reason below.
write_config "$WORK/dorado.toml" "$WORKERS" '
[[subnet]]
id = 2
prefix = "10.98.0.0/24"'
start_dorado "$WORK/dorado.toml"
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done

check "the socket exists with mode 0600" test "$(stat -c %a "$SOCK")" = 600
check "version-get: exit 0, the CMake version" test "$(ctlj 'a["text"]' version-get)" = "0.1.0"
check "list-commands names lease4-get-page" bash -c "$(declare -f ctl); DORADOCTL_BIN=$DORADOCTL_BIN SOCK=$SOCK; ctl list-commands | grep -qx lease4-get-page"

# ---- leases from real clients -------------------------------------------------
cat >"$WORK/udhcpc.sh" <<'SCRIPT'
#!/bin/sh
exit 0
SCRIPT
chmod +x "$WORK/udhcpc.sh"
ip -n "$CLI_NS" link set "$CLI_IF" address 02:00:00:00:00:01
ip netns exec "$CLI_NS" timeout 15 udhcpc -f -q -n -i "$CLI_IF" -s "$WORK/udhcpc.sh" \
  -x hostname:api-test >"$WORK/udhcpc.log" 2>&1 || true
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"
ip netns exec "$CLI_NS" timeout 30 perfdhcp -4 -l "$CLI_IF" -r 100 -R 20 -n 20 -p 10 -W 1000000 \
  10.99.0.1 >"$WORK/perfdhcp.out" 2>&1 || true

check "lease4-get ip-address: the reserved client (hw-address)" \
  test "$(ctlj 'a["arguments"]["hw-address"]' lease4-get ip-address=10.99.0.100)" = "02:00:00:00:00:01"
check "lease4-get ip-address: hostname kept" \
  test "$(ctlj 'a["arguments"]["hostname"]' lease4-get ip-address=10.99.0.100)" = "api-test"
check "lease4-get by identifier hw-address + subnet-id" \
  test "$(ctlj 'a["arguments"]["ip-address"]' lease4-get identifier-type=hw-address identifier=02:00:00:00:00:01 subnet-id=1)" = "10.99.0.100"
check "lease4-get by identifier client-id + subnet-id" \
  test "$(ctlj 'a["arguments"]["ip-address"]' lease4-get identifier-type=client-id identifier=01:02:00:00:00:00:01 subnet-id=1)" = "10.99.0.100"
check "lease4-get-by-client-id" \
  test "$(ctlj 'a["arguments"]["leases"][0]["ip-address"]' lease4-get-by-client-id client-id=01:02:00:00:00:00:01)" = "10.99.0.100"
check "lease4-get-by-hw-address" \
  test "$(ctlj 'len(a["arguments"]["leases"])' lease4-get-by-hw-address hw-address=02:00:00:00:00:01)" = 1
ctl lease4-get-by-hw-address hw-address=02:00:00:00:00:01 >"$WORK/table.txt"
check "the human form is a table with the address" grep -q "^10.99.0.100 .*02:00:00:00:00:01" "$WORK/table.txt"
ctl lease4-get ip-address=10.99.200.1 >/dev/null 2>&1 && rc=0 || rc=$?
check "lease4-get of an unknown address: exit 1 (result 3)" test "$rc" = 1
check "lease4-get of an unknown address: result 3" \
  test "$(ctlj 'a["result"]' lease4-get ip-address=10.99.200.1 || true)" = 3
ctl lease4-get ip-address=10.99.1.x >/dev/null 2>&1 && rc=0 || rc=$?
check "lease4-get with a bad address: exit 1" test "$rc" = 1
check "lease4-get with a bad address: the error names the argument" \
  bash -c "'$DORADOCTL_BIN' -s '$SOCK' lease4-get ip-address=10.99.1.x | grep -q \"'ip-address' must be an IPv4 address\""

# Pages of 5 in address order: 21 leases (the reservation and 20 perfdhcp clients).
all=""; from=start; pages=0
while [ $pages -lt 20 ]; do
  page=$(ctlj '" ".join(l["ip-address"] for l in a.get("arguments", {}).get("leases", []))' lease4-get-page from=$from limit=5 || true)
  [ -z "$page" ] && break
  all="$all $page"; from=${page##* }; pages=$((pages + 1))
done
count=$(echo $all | wc -w)
log "lease4-get-page: $count leases in $pages pages"
check "lease4-get-page walks every lease (21) in pages of 5" test "$count" = 21
check "lease4-get-page: address order, no repeats" \
  bash -c "echo $all | tr ' ' '\n' | sort -t. -k1,1n -k2,2n -k3,3n -k4,4n -u | tr '\n' ' ' | grep -qx '$(echo $all | tr ' ' '\n' | tr '\n' ' ')'"

# ---- add, update, del -------------------------------------------------------------
# With several workers an address must lie in the client's worker's blocks:
# try a few until one is accepted.
added=""
for last in 5 70 135 200; do
  if ctl lease4-add ip-address=10.99.5.$last hw-address=02:aa:00:00:00:05 valid-lft=300 hostname=added >"$WORK/add.txt" 2>&1; then
    added=10.99.5.$last; break
  fi
done
check "lease4-add: exit 0 ($added)" test -n "$added"
check "lease4-add: the text names the address" grep -q "Lease for address $added, subnet-id 1 added." "$WORK/add.txt"
check "lease4-add: lease4-get finds it with its lifetime" \
  test "$(ctlj 'a["arguments"]["valid-lft"]' lease4-get ip-address=$added)" = 300
ctl lease4-add ip-address=$added hw-address=02:aa:00:00:00:06 >/dev/null 2>&1 && rc=0 || rc=$?
check "lease4-add on a leased address: exit 1" test "$rc" = 1
check "lease4-update: exit 0" ctl lease4-update ip-address=$added hw-address=02:aa:00:00:00:05 valid-lft=600 hostname=updated
check "lease4-update: new lifetime and hostname" \
  test "$(ctlj 'str(a["arguments"]["valid-lft"])+a["arguments"]["hostname"]' lease4-get ip-address=$added)" = 600updated
check "lease4-del: exit 0" ctl lease4-del ip-address=$added
ctl lease4-get ip-address=$added >/dev/null 2>&1 && rc=0 || rc=$?
check "lease4-del: gone (lease4-get exit 1)" test "$rc" = 1
ctl lease4-del ip-address=$added >/dev/null 2>&1 && rc=0 || rc=$?
check "lease4-del again: exit 1 (not found)" test "$rc" = 1
# By hw-address: udhcpc's client is keyed by its client-id, found by chaddr.
check "lease4-del by identifier hw-address + subnet-id: exit 0" \
  ctl lease4-del identifier-type=hw-address identifier=02:00:00:00:00:01 subnet-id=1
ctl lease4-get ip-address=10.99.0.100 >/dev/null 2>&1 && rc=0 || rc=$?
check "lease4-del by hw-address: the reserved client's lease is gone" test "$rc" = 1

# ---- statistics ---------------------------------------------------------------------
check "statistic-get-all: pkt4-discover-received >= 21" \
  test "$(ctlj 'a["arguments"]["pkt4-discover-received"][0][0]' statistic-get-all)" -ge 21
check "statistic-get-all: pkt4-ack-sent >= 21" \
  test "$(ctlj 'a["arguments"]["pkt4-ack-sent"][0][0]' statistic-get-all)" -ge 21
check "statistic-get-all: dorado's own counters (engine.lease_commit)" \
  test "$(ctlj 'a["arguments"]["engine.lease_commit"][0][0]' statistic-get-all)" -ge 21
check "statistic-reset: exit 0" ctl statistic-reset
check "statistic-reset: pkt4-ack-sent back to 0" \
  test "$(ctlj 'a["arguments"]["pkt4-ack-sent"][0][0]' statistic-get name=pkt4-ack-sent)" = 0
ip netns exec "$CLI_NS" timeout 30 perfdhcp -4 -l "$CLI_IF" -r 100 -R 5 -n 5 -p 5 -W 1000000 \
  10.99.0.1 >"$WORK/perfdhcp2.out" 2>&1 || true
# (perfdhcp may lose a reply in its own socket on a busy machine: the
# server's counts are what is checked, and that they move at all.)
check "statistic-get: pkt4-discover-received counts the 5 new DISCOVERs after the reset" \
  test "$(ctlj 'a["arguments"]["pkt4-discover-received"][0][0]' statistic-get name=pkt4-discover-received)" -ge 5
check "statistic-get: pkt4-ack-sent moves again after the reset" \
  test "$(ctlj 'a["arguments"]["pkt4-ack-sent"][0][0]' statistic-get name=pkt4-ack-sent)" -ge 1
check "statistic-get of an unknown name: result 3" \
  test "$(ctlj 'a["result"]' statistic-get name=no-such-stat || true)" = 3

# ---- trace: one client's DORA, and a drop with its reason -------------------------
ctl trace-get >/dev/null 2>&1 && rc=0 || rc=$?
check "trace-get before any trace-start: exit 1 (result 3)" test "$rc" = 1
ctl trace-start >/dev/null 2>&1 && rc=0 || rc=$?
check "trace-start without a filter: exit 1" test "$rc" = 1
check "trace-start hw-address: exit 0" ctl trace-start hw-address=02:00:00:00:00:01 count=20
ip netns exec "$CLI_NS" timeout 15 udhcpc -f -q -n -i "$CLI_IF" -s "$WORK/udhcpc.sh" \
  >"$WORK/udhcpc-trace.log" 2>&1 || true
ctl trace-get >"$WORK/trace.txt" 2>&1 || true
log "trace-get:"; cat "$WORK/trace.txt" >&2
check "trace: the DISCOVER and its OFFER of the reserved address" \
  grep -Eq ' w[0-9]+ DISCOVER xid 0x[0-9a-f]{8} hw 02:00:00:00:00:01 .*: subnet 1 10.99.0.0/16 \(interface 10.99.0.1\) -> OFFER 10.99.0.100 \(reserved, 600 s\) to ' "$WORK/trace.txt"
check "trace: the REQUEST and its ACK" \
  grep -Eq ' REQUEST xid 0x[0-9a-f]{8} hw 02:00:00:00:00:01 .*requested 10.99.0.100 server-id 10.99.0.1: subnet 1 .* -> ACK 10.99.0.100 \(reserved, 600 s\) to ' "$WORK/trace.txt"
check "trace: no other client's packets" bash -c "! grep ' hw ' '$WORK/trace.txt' | grep -qv ' hw 02:00:00:00:00:01 '"
check "trace-get --json: records with the outcome" \
  test "$(ctlj '" ".join(r["outcome"] for r in a["arguments"]["records"])' trace-get)" = "OFFER ACK"
check "trace-stop: exit 0" ctl trace-stop
ctl trace-stop >/dev/null 2>&1 && rc=0 || rc=$?
check "trace-stop again: exit 1 (nothing under way)" test "$rc" = 1
check "after trace-stop the records stay" \
  test "$(ctlj 'len(a["arguments"]["records"])' trace-get)" = 2
# A client whose option 118 selects the subnet without a pool.
check "trace-start subnet-id: exit 0" ctl trace-start subnet-id=2
ip -n "$CLI_NS" link set "$CLI_IF" address 02:00:00:00:00:77
ip netns exec "$CLI_NS" timeout 15 udhcpc -f -q -n -t 2 -T 1 -i "$CLI_IF" -s "$WORK/udhcpc.sh" \
  -x 0x76:0a620001 >"$WORK/udhcpc-none.log" 2>&1 || true
ip -n "$CLI_NS" link set "$CLI_IF" address 02:00:00:00:00:01
ctl trace-get >"$WORK/trace2.txt" 2>&1 || true
log "trace-get:"; cat "$WORK/trace2.txt" >&2
check "trace: the DISCOVER in the subnet without a pool shows the drop reason" \
  grep -Eq ' DISCOVER xid 0x[0-9a-f]{8} hw 02:00:00:00:00:77 .*: subnet 2 10.98.0.0/24 \(option 118 10.98.0.1\) -> drop pool_exhausted \(no free address' "$WORK/trace2.txt"
check "trace: the earlier trace's records are gone" bash -c "! grep -q ' hw 02:00:00:00:00:01 ' '$WORK/trace2.txt'"
ctl trace-stop >/dev/null 2>&1 || true

# ---- reclaim, wipe -----------------------------------------------------------------
check "leases-reclaim remove=false: exit 0" ctl leases-reclaim remove=false
check "leases-reclaim remove=true: exit 0" ctl leases-reclaim remove=true
ctl leases-reclaim >/dev/null 2>&1 && rc=0 || rc=$?
check "leases-reclaim without remove: exit 1 (missing parameter)" test "$rc" = 1
wiped=$(ctlj 'a["text"]' lease4-wipe subnet-id=1)
log "lease4-wipe: $wiped"
check "lease4-wipe subnet-id=1 deletes perfdhcp's 20+ leases" \
  bash -c "[[ '$wiped' =~ ^Deleted\ ([0-9]+) ]] && [ \${BASH_REMATCH[1]} -ge 20 ]"
ctl lease4-get-page from=start limit=10 >/dev/null 2>&1 && rc=0 || rc=$?
check "after the wipe lease4-get-page finds nothing (exit 1)" test "$rc" = 1

# ---- config ---------------------------------------------------------------------------
check "config-get: the socket as configured" test "$(ctlj 'a["arguments"]["Dorado"]["control"]["socket"]' config-get)" = "$SOCK"
check "config-get: the subnet" test "$(ctlj 'a["arguments"]["Dorado"]["subnet"][0]["prefix"]' config-get)" = "10.99.0.0/16"
check "config-test of the running file: exit 0" ctl config-test
sed 's/^workers = .*/workers = 0/' "$WORK/dorado.toml" >"$WORK/bad.toml"
ctl config-test file="$WORK/bad.toml" >"$WORK/bad.txt" 2>&1 && rc=0 || rc=$?
check "config-test of a bad file: exit 1" test "$rc" = 1
check "config-test of a bad file: FILE:LINE: key: message" grep -q "$WORK/bad.toml:[0-9]*: dpdk.workers:" "$WORK/bad.txt"

# ---- bad input ------------------------------------------------------------------------
check "malformed JSON: result 1" bash -c "$(declare -f raw); SOCK=$SOCK; raw '{\"command\": \"version-get\",' | grep -q '\"result\":1'"
check "malformed JSON: the error says so" bash -c "$(declare -f raw); SOCK=$SOCK; raw '{nope}' | grep -q 'invalid JSON'"
check "unknown command: result 2" bash -c "$(declare -f raw); SOCK=$SOCK; raw '{\"command\": \"no-such\"}' | grep -q '\"result\":2'"
check "wrong argument type: result 1" bash -c "$(declare -f raw); SOCK=$SOCK; raw '{\"command\": \"lease4-get-page\", \"arguments\": {\"from\": \"start\", \"limit\": \"ten\"}}' | grep -q \"'limit' must be a non-negative integer\""
check "a 2 MiB request: an error answer" bash -c "$(declare -f raw); SOCK=$SOCK; raw HUGE | grep -q 'request too large'"
if command -v socat >/dev/null; then
  # As Kea operators do: socat writes the request, half-closes, prints the answer.
  check "socat: a request answered" bash -c "echo '{\"command\": \"version-get\"}' | socat UNIX:$SOCK - | grep -q '\"text\":\"0.1.0\"'"
  check "socat: malformed JSON gets an error answer" bash -c "echo '{\"command\": ' | socat UNIX:$SOCK - | grep -q '\"result\":1'"
fi
check "the server still serves after bad input" ctl version-get

# ---- a lease added by the API is journaled: it survives a restart --------------------
keep=""
for last in 6 71 136 201; do
  if ctl lease4-add ip-address=10.99.6.$last hw-address=02:aa:00:00:00:07 valid-lft=3000 >/dev/null 2>&1; then
    keep=10.99.6.$last; break
  fi
done
check "lease4-add before the restart ($keep)" test -n "$keep"
check "shutdown: exit 0" ctl shutdown
rc=0
for _ in $(seq 1 40); do kill -0 "$DORADO_PID" 2>/dev/null || break; sleep 0.05; done
wait "$DORADO_PID" || rc=$?
DORADO_PID=""
check "dorado exits 0 after shutdown (rc=$rc)" test "$rc" = 0
check "the socket file is removed at exit" test ! -e "$SOCK"
"$DORADOCTL_BIN" -s "$SOCK" version-get >/dev/null 2>"$WORK/ctl.err" && rc=0 || rc=$?
check "doradoctl without a server: exit 2" test "$rc" = 2
check "doradoctl without a server: a clear message" grep -q "cannot reach dorado at $SOCK" "$WORK/ctl.err"

start_dorado "$WORK/dorado.toml"
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
check "after the restart the API-added lease is there" \
  test "$(ctlj 'a["arguments"]["hw-address"]' lease4-get ip-address=$keep)" = "02:aa:00:00:00:07"
stop_dorado
finish
