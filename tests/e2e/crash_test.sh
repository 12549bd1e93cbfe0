#!/usr/bin/env bash
# Crash safety (durability "fsync"): ROUNDS times (default 20), dorado serves
# a perfdhcp load of new clients and is killed with SIGKILL at a random
# moment. After every kill, the store as dorado's recovery reads it
# (`dorado-leases export kea`, the same recovery code) must hold every lease
# whose ACK a client saw on the wire (same address, expiry no earlier than
# acknowledged), and no address may have been ACKed to two clients, across
# all rounds and restarts. The next round restarts dorado on that store.
# Finally dorado recovers once more and stops cleanly, then serves new
# clients with a different worker count, and the store is checked again.
export E2E_NAME=crash
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
DORADO_LEASES_BIN=${DORADO_LEASES_BIN:?set DORADO_LEASES_BIN}
DORADO_DECODE_BIN=${DORADO_DECODE_BIN:?set DORADO_DECODE_BIN}
ROUNDS=${ROUNDS:-20}
WORKERS=${WORKERS:-2}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
command -v perfdhcp >/dev/null || skip "perfdhcp (kea-admin) missing"
command -v tcpdump >/dev/null || skip "tcpdump missing"
here=$(cd "$(dirname "$0")" && pwd)

make_world
# A pool no round can exhaust (a million addresses; rounds add a few
# thousand leases each), so every round hands out new leases; and leases of
# an hour, longer than the test may run (its ctest timeout is 900 s), so
# none expires: on a loaded machine the 20 rounds took 11 minutes, the first
# rounds' 600 s leases expired, and with another worker count expired leases
# of another shard's block are not kept (counted as wrong_shard).
big_pool() {
  sed -i 's|^prefix = .*|prefix = "10.96.0.0/12"|; s|^pools = .*|pools = ["10.97.0.0-10.111.255.255"]|
          s|^lease_time = .*|lease_time = 3600|' "$1"
}
write_config "$WORK/dorado.toml" "$WORKERS"
big_pool "$WORK/dorado.toml"
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"

# Every request and reply on the wire, for the whole test (-U: written per packet,
# so nothing is lost when it stops).
ip netns exec "$CLI_NS" tcpdump -i "$CLI_IF" -U -n -w "$WORK/replies.pcap" \
  'udp port 67' >"$WORK/tcpdump.log" 2>&1 &
TCPDUMP_PID=$!
sleep 1

verify() {   # verify LABEL: the store holds every ACK seen so far
  local label=$1
  "$DORADO_LEASES_BIN" export kea --store "$WORK/store" -o "$WORK/leases.csv" 2>"$WORK/export.err"
  "$DORADO_DECODE_BIN" "$WORK/replies.pcap" >"$WORK/replies.jsonl" 2>/dev/null || true
  if /usr/bin/python3 "$here/ack_check.py" "$WORK/replies.jsonl" "$WORK/leases.csv" >"$WORK/check.out"; then
    log "$label: $(tail -1 "$WORK/check.out")"
    return 0
  fi
  log "$label:"; cat "$WORK/check.out" >&2
  return 1
}

kills=0
for round in $(seq 1 "$ROUNDS"); do
  start_dorado "$WORK/dorado.toml"
  cp "$WORK/dorado.err" "$WORK/dorado.err.$round"
  # New clients every round (their own MAC range), at 2000/s for up to 5 s.
  mac=$(printf '02:%02x:00:00:00:00' "$round")
  ip netns exec "$CLI_NS" timeout 10 perfdhcp -4 -l "$CLI_IF" -r 2000 -R 1000000 -b "mac=$mac" \
    -p 5 10.99.0.1 >"$WORK/perfdhcp.$round.out" 2>&1 &
  load=$!
  # A random moment between 0.3 and 2.3 s into the load.
  sleep "$(awk -v r="$RANDOM" 'BEGIN{printf "%.3f", 0.3 + (r % 2000) / 1000}')"
  kill -KILL "$DORADO_PID"
  wait "$DORADO_PID" 2>/dev/null || true
  DORADO_PID=""
  kills=$((kills + 1))
  kill -TERM "$load" 2>/dev/null || true
  wait "$load" 2>/dev/null || true
  sleep 0.2   # the capture takes the last replies
  check "round $round: every ACK seen is in the store after kill -9" verify "round $round"
done

# Restart once more: dorado recovers, hands the leases to its shards, stops
# cleanly (final snapshot); the store still holds every ACK.
start_dorado "$WORK/dorado.toml"
check "dorado recovered after $kills kills" grep -q "store: recovered" "$WORK/dorado.err"
log "$(grep 'store: ' "$WORK/dorado.err" | head -2 | cut -c1-300)"
stop_dorado

# And with one worker more: leases whose address block now belongs to another
# other shard stay held there; new clients never get an address in use.
other=$((WORKERS + 1))
write_config "$WORK/dorado-other.toml" "$other"
big_pool "$WORK/dorado-other.toml"
start_dorado "$WORK/dorado-other.toml"
log "$other worker(s): $(grep -o 'store: handed.*' "$WORK/dorado.err")"
check "with $other worker(s) every lease found a shard (none dropped as wrong_shard)" \
  grep -q "wrong_shard 0 " "$WORK/dorado.err"
ip netns exec "$CLI_NS" timeout 10 perfdhcp -4 -l "$CLI_IF" -r 1000 -R 1000000 -b "mac=02:ff:00:00:00:00" \
  -p 3 10.99.0.1 >"$WORK/perfdhcp.other.out" 2>&1 || true
stop_dorado
kill -INT "$TCPDUMP_PID" 2>/dev/null || true
wait "$TCPDUMP_PID" 2>/dev/null || true
check "after a clean restart and stop, every ACK seen is in the store" verify final
acks=$(grep -o '[0-9]* ACKs' "$WORK/check.out" | awk '{print $1}')
check "the clients got ACKs in every phase (${acks:-0})" test "${acks:-0}" -gt $((ROUNDS * 300 + 1000))
finish
