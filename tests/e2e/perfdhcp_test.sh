#!/usr/bin/env bash
# perfdhcp (a relay: giaddr set, replies to port 67) against dorado with
# WORKERS workers (default 2): CLIENTS distinct clients (default 1000) all
# complete DORA, no address is given twice, and with 2+ workers the handoff
# rings carry each client to its shard.
export E2E_NAME=perfdhcp${WORKERS:-2}   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
WORKERS=${WORKERS:-2}
CLIENTS=${CLIENTS:-1000}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
command -v perfdhcp >/dev/null || skip "perfdhcp (kea-admin) missing"

make_world
write_config "$WORK/dorado.toml" "$WORKERS"
start_dorado "$WORK/dorado.toml"
# perfdhcp needs an IPv4 address on its interface: it becomes the giaddr.
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"

# -W: after the last exchange, wait 1 s for replies still in flight.
ip netns exec "$CLI_NS" timeout 60 perfdhcp -4 -l "$CLI_IF" -r 2000 -R "$CLIENTS" -n "$CLIENTS" \
  -p 30 -W 1000000 10.99.0.1 >"$WORK/perfdhcp.out" 2>&1 || true
stats() {   # stats EXCHANGE FIELD
  awk -v ex="$1" -v f="$2" '/^\*\*\*Statistics for: /{on=($0 ~ ex)} on && index($0, f ": ")==1 {sub(/.*: /,""); print; exit}' "$WORK/perfdhcp.out"
}
# The client namespace's UDP counters: replies dropped by the kernel on
# perfdhcp's side (its socket buffer full, a bad checksum) show here.
udp_stat() {   # udp_stat FIELD
  ip netns exec "$CLI_NS" awk -v f="$1" '$1=="Udp:" && !h {for (i=2;i<=NF;i++) c[$i]=i; h=1; next}
    $1=="Udp:" && h {print $c[f]; exit}' /proc/net/snmp
}
rcvbuf_errors=$(udp_stat RcvbufErrors) csum_errors=$(udp_stat InCsumErrors)
log "client UDP: InDatagrams $(udp_stat InDatagrams) RcvbufErrors $rcvbuf_errors InCsumErrors $csum_errors InErrors $(udp_stat InErrors)"
log "DISCOVER-OFFER: sent $(stats DISCOVER-OFFER 'sent packets') received $(stats DISCOVER-OFFER 'received packets')"
log "REQUEST-ACK:    sent $(stats REQUEST-ACK 'sent packets') received $(stats REQUEST-ACK 'received packets')"
# perfdhcp may send one exchange past -n (the 1001st reuses client 1's MAC:
# a renewal), so: every exchange it sent completed, and at least $CLIENTS.
sent_d=$(stats DISCOVER-OFFER 'sent packets') got_o=$(stats DISCOVER-OFFER 'received packets')
sent_r=$(stats REQUEST-ACK 'sent packets') got_a=$(stats REQUEST-ACK 'received packets')
check "at least $CLIENTS DISCOVERs sent ($sent_d)" test "$sent_d" -ge "$CLIENTS"
check "every DISCOVER got an OFFER ($got_o of $sent_d)" test "$got_o" = "$sent_d"
check "every REQUEST got an ACK ($got_a of $sent_r)" test "$got_a" = "$sent_r"
check "no lease rejected" test "$(stats REQUEST-ACK 'rejected leases')" = 0
check "no address given twice (perfdhcp's uniqueness check)" test "$(stats REQUEST-ACK 'non unique addresses')" = 0

stop_dorado
check "server committed $CLIENTS leases" test "$(counter engine.lease_commit)" -eq "$CLIENTS"
check "server counted no drop" bash -c "! grep -Eq '^  (drop|engine\.drop|wire)\.' '$WORK/dorado.out'"
if [ "$WORKERS" -gt 1 ]; then
  # Every packet arrives on one RX queue (one relay address), so most of
  # them must have crossed to their owning worker.
  check "clients were spread over the shards through the handoff rings" test "$(counter handed_off)" -gt 0
  for w in $(seq 0 $((WORKERS - 1))); do
    n=$(awk -v h="worker $w (lcore" 'index($0,h)==1{on=1;next} /^worker /{on=0} on && $1=="engine.lease_commit"{print $2}' "$WORK/dorado.out")
    check "worker $w committed leases (${n:-0})" test "${n:-0}" -gt 0
  done
fi
finish
