#!/usr/bin/env bash
# Disk full (durability "fsync"): the store lives on a 3 MiB tmpfs. Clients
# are served; the file system is filled up under load: dorado keeps running,
# says so, counts the write errors and grants no lease it cannot journal;
# once space is freed it serves new clients again by itself. At the end
# (after a kill -9) every ACK a client saw on the wire is in the store.
export E2E_NAME=enospc
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
DORADO_LEASES_BIN=${DORADO_LEASES_BIN:?set DORADO_LEASES_BIN}
DORADO_DECODE_BIN=${DORADO_DECODE_BIN:?set DORADO_DECODE_BIN}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
command -v perfdhcp >/dev/null || skip "perfdhcp (kea-admin) missing"
command -v tcpdump >/dev/null || skip "tcpdump missing"
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$WORK/store"
mount -t tmpfs -o size=3m,mode=0700 dorado-enospc "$WORK/store" || skip "cannot mount a tmpfs"
unmount_store() { umount "$WORK/store" 2>/dev/null || umount -l "$WORK/store" 2>/dev/null || true; }
trap 'rc=$?; [ -n "${TCPDUMP_PID:-}" ] && kill -INT "$TCPDUMP_PID" 2>/dev/null; [ -n "$DORADO_PID" ] && kill -KILL "$DORADO_PID" 2>/dev/null; wait 2>/dev/null; unmount_store; (exit $rc); cleanup' EXIT

make_world
write_config "$WORK/dorado.toml" 1 ''
# Small segments so that a new one is needed while the disk is full too.
sed -i "s|^dir = .*|&\nsegment_mb = 1\nsnapshot_on_exit = false|" "$WORK/dorado.toml"
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"
ip netns exec "$CLI_NS" tcpdump -i "$CLI_IF" -U -n -w "$WORK/replies.pcap" \
  'udp port 67' >"$WORK/tcpdump.log" 2>&1 &
TCPDUMP_PID=$!
sleep 1
start_dorado "$WORK/dorado.toml"

load() {   # load TAG MAC-PREFIX CLIENTS: perfdhcp DORA for new clients, prints ACKs received
  local tag=$1 mac=$2 n=$3
  ip netns exec "$CLI_NS" timeout 30 perfdhcp -4 -l "$CLI_IF" -r 500 -R "$n" -n "$n" -b "mac=$mac" \
    -p 10 -W 1000000 10.99.0.1 >"$WORK/perfdhcp.$tag.out" 2>&1 || true
  awk '/^\*\*\*Statistics for: REQUEST-ACK/{on=1} on && /^received packets: /{print $3; exit}' \
    "$WORK/perfdhcp.$tag.out"
}

acks=$(load before 02:aa:00:00:00:00 500)
check "before the disk fills: 500 clients served (${acks:-0} ACKs)" test "${acks:-0}" -ge 500
# One more client, udhcpc (no script: the interface keeps its address).
udhcpc_lease() {   # prints "ADDRESS LEASE_TIME" of the lease udhcpc got
  ip netns exec "$CLI_NS" timeout 20 udhcpc -f -q -n -t 3 -T 2 -i "$CLI_IF" -s /bin/true "$@" 2>&1 |
    sed -n 's/.*lease of \([0-9.]*\) obtained.*lease time \([0-9]*\).*/\1 \2/p'
}
read -r addr0 time0 <<<"$(udhcpc_lease)"
check "udhcpc got a lease before the disk fills ($addr0, $time0 s)" test -n "$addr0"
# dorado tracks durability per second: a lease committed in the second the
# writes start failing waits for the disk like the rest of that second.
sleep 2

# Fill the file system to the last block.
dd if=/dev/zero of="$WORK/store/filler" bs=4k >/dev/null 2>&1 || true
log "store: $(df -h "$WORK/store" | tail -1)"
acks=$(load full 02:bb:00:00:00:00 300)
log "while full: ${acks:-0} ACKs for 300 new clients"
check "dorado still runs while the disk is full" kill -0 "$DORADO_PID"
check "dorado says it cannot write" grep -q "store: cannot write" "$WORK/dorado.err"
check "dorado logs the error (No space left on device)" grep -q "No space left on device" "$WORK/dorado.err"
# The segment's last page still takes a few dozen records after df says
# 100%; then writes fail. What was ACKed is checked against the store below.
read -r addr1 time1 <<<"$(udhcpc_lease -r "$addr0")"
check "while full, the udhcpc client renews its lease ($addr1 for ${time1:-?} s)" test "$addr1" = "$addr0"
check "... with its old expiry: the remaining time, not a new lease time" test "${time1:-999}" -lt "$time0"
check "new clients stopped getting leases once writes failed (${acks:-0} of 300 ACKed)" \
  test "${acks:-0}" -lt 300

rm -f "$WORK/store/filler"
sleep 1
check "dorado recovered by itself when space came back" grep -q "store: writable again" "$WORK/dorado.err"
acks=$(load after 02:cc:00:00:00:00 300)
check "after space is freed: 300 new clients served (${acks:-0} ACKs)" test "${acks:-0}" -ge 300

kill -USR1 "$DORADO_PID"; sleep 0.3
check "the refusals were counted (engine.drop.store_unavailable $(counter engine.drop.store_unavailable))" \
  test "$(counter engine.drop.store_unavailable)" -gt 0
kill -KILL "$DORADO_PID"; wait "$DORADO_PID" 2>/dev/null || true; DORADO_PID=""
sleep 0.2
kill -INT "$TCPDUMP_PID" 2>/dev/null || true; wait "$TCPDUMP_PID" 2>/dev/null || true; TCPDUMP_PID=""
"$DORADO_LEASES_BIN" export kea --store "$WORK/store" -o "$WORK/leases.csv"
"$DORADO_DECODE_BIN" "$WORK/replies.pcap" >"$WORK/replies.jsonl" 2>/dev/null || true
/usr/bin/python3 "$here/ack_check.py" "$WORK/replies.jsonl" "$WORK/leases.csv" >"$WORK/check.out" || true
log "$(tail -1 "$WORK/check.out")"
check "every ACK seen is in the store (none without a durable record)" \
  grep -q " 0 problem(s)" "$WORK/check.out"
finish
