#!/usr/bin/env bash
# HA pairs end to end (docs/ha.md). Namespaces: ha-a and ha-b (one dorado
# each, net_af_packet on its LAN veth), ha-lan (a bridge joining both to the
# client namespace), ha-cli (dorado-gen, dhclient, udhcpc); the HA link is a veth
# pair ha-a <-> ha-b on 10.98.0.1/10.98.0.2 (the kernel's stack), which the
# partition phase cuts.
#
# Phases (PHASES=... to run some; default all):
#   hs         hot standby: only the primary answers (dhclient, udhcpc,
#              dorado-gen); every lease is on the
#              standby within a second; kill -9 the primary: the standby goes
#              partner-down (unacked clients), serves renewals (INIT-REBOOT)
#              and new clients without reusing an address the primary leased;
#              restart the primary: it resyncs the standby's tail and both
#              return to hot-standby, with the outage's leases in its store.
#   lb         load balancing: 1000 clients split 45..55%; kill one, the
#              other serves everyone; bring it back.
#   partition  cut the HA link only: with defaults neither goes
#              partner-down while clients are answered; with
#              max_unacked_clients = 0 both do, and no address is leased to
#              two clients (both servers' leases compared).
#   workers    the primary runs 1 worker, the standby 2 (HA_WORKERS_*):
#              every lease of the primary is on the standby (addresses in
#              blocks of the other worker are kept as foreign leases there,
#              held by the block's owner), none rejected; kill the primary:
#              the standby serves the renewals. Run alone (e2e_ha_workers).
#   tls        mutual TLS: the pair connects; a peer with a certificate from
#              another CA is refused (auth failure counted).
export E2E_NAME=ha   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
CTL_BIN=${DORADOCTL_BIN:-$(dirname "$DORADO_BIN")/../../tools/ctl/doradoctl}
GEN_BIN=${DORADO_GEN_BIN:-$(dirname "$DORADO_BIN")/../../tools/gen/dorado-gen}
PHASES=${PHASES:-"hs lb partition tls"}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
[ -x "$GEN_BIN" ] || { log "dorado-gen not found: $GEN_BIN"; exit 1; }
[ -x "$CTL_BIN" ] || { log "doradoctl not found: $CTL_BIN"; exit 1; }
command -v python3 >/dev/null || skip "python3 missing"

# shellcheck source=ha_lib.sh
source "$(dirname "$0")/ha_lib.sh"

# ---- hot standby -------------------------------------------------------------------

phase_hs() {
  log "== hot standby"
  make_ha_world
  rm -rf "$WORK"/store-* "$WORK"/*.out "$WORK"/*.err
  ha_config a hot-standby
  ha_config b hot-standby
  start_server a
  start_server b
  check "hs: primary reaches hot-standby" wait_state a hot-standby 15
  check "hs: standby reaches hot-standby" wait_state b hot-standby 15

  # Real clients: dhclient (no client-id) and udhcpc (client-id) on cli0.
  ip netns exec "$CLI_NS" timeout 20 dhclient -4 -v -1 -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" \
    cli0 >"$WORK/dhclient.log" 2>&1 || true
  check "hs: dhclient bound an address (from the primary)" grep -q "server-identifier 10.99.0.1;" "$WORK/dhclient.leases"
  cat >"$WORK/udhcpc.sh" <<SCRIPT
#!/bin/sh
[ "\$1" = bound ] && env | grep -E '^(ip|serverid)=' | sort >"$WORK/udhcpc.env"
exit 0
SCRIPT
  chmod +x "$WORK/udhcpc.sh"
  ip netns exec "$CLI_NS" timeout 15 udhcpc -f -q -n -i cli0 -s "$WORK/udhcpc.sh" >"$WORK/udhcpc.log" 2>&1 || true
  check "hs: udhcpc bound an address from the primary" grep -qx 'serverid=10.99.0.1' "$WORK/udhcpc.env"
  ip netns exec "$CLI_NS" dhclient -x -pf "$WORK/dhclient.pid" cli0 >/dev/null 2>&1 || true
  ip -n "$CLI_NS" addr flush dev cli0

  local done
  done=$(gen hs-dora 02:00:00:10:00:00 200 --mode dora --rate 2000)
  check "hs: 200 clients bound ($done)" test "$done" -eq 200
  sleep 1
  leases a
  leases b
  check "hs: 202 leases on the primary (dorado-gen, dhclient, udhcpc)" test "$(wc -l <"$WORK/leases-a.txt")" -eq 202
  check "hs: the standby holds the same leases within a second" cmp -s "$WORK/leases-a.txt" "$WORK/leases-b.txt"
  check "hs: the standby answered nobody (tx_ack 0)" test "$(counter_of b pkt4-ack-sent)" = 0
  cp "$WORK/leases-a.txt" "$WORK/hs-primary-leases.txt"

  log "kill -9 the primary"
  stop_server a KILL
  # Clients of the primary retry with growing secs: three distinct ones above
  # max_ack_delay_ms (2 s) make the standby go partner-down.
  local t0=$SECONDS
  done=$(gen hs-new 02:00:00:20:00:00 100 --mode dora --rate 200)
  check "hs: the standby went partner-down" wait_state b partner-down 5
  log "failover + 100 new clients: $((SECONDS - t0)) s"
  check "hs: new clients served by the standby ($done of 100)" test "$done" -ge 95
  done=$(gen hs-reboot 02:00:00:10:00:00 50 --mode storm --reboot --rate 500)
  check "hs: INIT-REBOOT renewals served by the standby ($done of 50)" test "$done" -ge 45
  leases b
  # No address given during the outage was one the primary had leased to
  # another client.
  check "hs: no address of the primary's leases went to another client" python3 - \
    "$WORK/hs-primary-leases.txt" "$WORK/leases-b.txt" <<'PY'
import sys
prim = {l.split()[0]: l.split()[1] for l in open(sys.argv[1]) if l.strip()}
for l in open(sys.argv[2]):
    ip, mac = l.split()[:2]
    if ip in prim and prim[ip] != mac:
        sys.exit("%s: %s on the standby, %s on the primary" % (ip, mac, prim[ip]))
PY

  log "restart the primary"
  start_server a
  check "hs: restarted primary back in hot-standby" wait_state a hot-standby 20
  check "hs: standby back in hot-standby" wait_state b hot-standby 10
  sleep 1
  leases a
  leases b
  check "hs: the outage's leases are in the primary's store" cmp -s "$WORK/leases-a.txt" "$WORK/leases-b.txt"
  check "hs: the primary resynced from the tail (log)" grep -q "in sync with dhcp-b" "$WORK/a.err"
  stop_server a
  stop_server b
}

# ---- load balancing ------------------------------------------------------------------

phase_lb() {
  log "== load balancing"
  make_ha_world
  rm -rf "$WORK"/store-* "$WORK"/a.* "$WORK"/b.*
  ha_config a load-balancing
  ha_config b load-balancing
  start_server a
  start_server b
  check "lb: both in load-balancing" wait_state a load-balancing 15
  check "lb: both in load-balancing (b)" wait_state b load-balancing 10
  local done
  done=$(gen lb-dora 02:00:00:30:00:00 1000 --mode dora --rate 2000)
  check "lb: 1000 clients bound ($done)" test "$done" -eq 1000
  local acks_a acks_b
  acks_a=$(counter_of a pkt4-ack-sent)
  acks_b=$(counter_of b pkt4-ack-sent)
  log "ACKs: dhcp-a $acks_a, dhcp-b $acks_b"
  check "lb: the split is within 45..55% ($acks_a / $((acks_a + acks_b)))" \
    python3 -c "a, b = $acks_a, $acks_b; import sys; sys.exit(0 if a + b >= 1000 and 0.45 <= a / (a + b) <= 0.55 else 1)"
  stop_server b KILL
  done=$(gen lb-alone 02:00:00:40:00:00 100 --mode dora --rate 200)
  check "lb: dhcp-a went partner-down" wait_state a partner-down 5
  check "lb: dhcp-a alone served all 100 new clients ($done)" test "$done" -ge 95
  start_server b
  check "lb: dhcp-b back in load-balancing" wait_state b load-balancing 20
  check "lb: dhcp-a back in load-balancing" wait_state a load-balancing 10
  stop_server a
  stop_server b
}

# ---- partition -------------------------------------------------------------------------

phase_partition() {
  for unacked in 10 0; do
    log "== partition, max_unacked_clients = $unacked"
    make_ha_world
    rm -rf "$WORK"/store-* "$WORK"/a.* "$WORK"/b.*
    ha_config a load-balancing
    ha_config b load-balancing
    sed -i "s/^max_unacked_clients = .*/max_unacked_clients = $unacked/" "$WORK/a.toml" "$WORK/b.toml"
    start_server a
    start_server b
    check "partition/$unacked: both in load-balancing" wait_state a load-balancing 15
    wait_state b load-balancing 10 || true
    ip -n "$NS_A" link set ha0 down
    sleep 2
    local done
    done=$(gen "part$unacked" "02:00:00:5$([ "$unacked" = 0 ] && echo 0 || echo 1):00:00" 300 --mode dora --rate 300)
    check "partition/$unacked: clients answered during the partition ($done of 300)" test "$done" -ge 290
    if [ "$unacked" = 10 ]; then
      check "partition/10: dhcp-a did not go partner-down" test "$(state_of a)" = communication-recovery
      check "partition/10: dhcp-b did not go partner-down" test "$(state_of b)" = communication-recovery
    else
      check "partition/0: dhcp-a went partner-down" test "$(state_of a)" = partner-down
      check "partition/0: dhcp-b went partner-down" test "$(state_of b)" = partner-down
    fi
    leases a
    leases b
    check "partition/$unacked: no address leased to two clients" python3 - \
      "$WORK/leases-a.txt" "$WORK/leases-b.txt" <<'PY'
import sys
seen = {}
for f in sys.argv[1:]:
    for l in open(f):
        ip, mac = l.split()[:2]
        if ip in seen and seen[ip] != mac:
            sys.exit("%s: %s and %s" % (ip, seen[ip], mac))
        seen[ip] = mac
PY
    ip -n "$NS_A" link set ha0 up
    stop_server a
    stop_server b
  done
}

# ---- TLS ---------------------------------------------------------------------------------

phase_tls() {
  log "== mutual TLS"
  command -v openssl >/dev/null || { log "openssl missing: TLS phase skipped"; return; }
  make_ha_world
  rm -rf "$WORK"/store-* "$WORK"/a.* "$WORK"/b.*
  local d=$WORK/pki
  mkdir -p "$d"
  mkca() {   # mkca NAME
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
      -keyout "$d/$1.key" -out "$d/$1.pem" 2>/dev/null
  }
  mkcert() {   # mkcert CA NAME
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
      -keyout "$d/$2-$1.key" -out "$d/$2-$1.csr" 2>/dev/null
    openssl x509 -req -in "$d/$2-$1.csr" -CA "$d/$1.pem" -CAkey "$d/$1.key" -CAcreateserial -days 2 \
      -out "$d/$2-$1.pem" 2>/dev/null
  }
  mkca ca
  mkca rogue
  mkcert ca dhcp-a
  mkcert ca dhcp-b
  mkcert rogue dhcp-b
  for who in a b; do
    ha_config "$who" hot-standby "ca = \"$d/ca.pem\"
cert = \"$d/dhcp-$who-ca.pem\"
key = \"$d/dhcp-$who-ca.key\""
    sed -i '/^insecure = true$/d' "$WORK/$who.toml"
  done
  start_server a
  start_server b
  check "tls: the pair connects over mutual TLS" wait_state a hot-standby 15
  stop_server b
  sed -i "s|dhcp-b-ca.pem|dhcp-b-rogue.pem|; s|dhcp-b-ca.key|dhcp-b-rogue.key|" "$WORK/b.toml"
  : >"$WORK/b.err"
  start_server b
  sleep 3
  local fails
  fails=$(ctl a status-get | python3 -c '
import json, sys
j = json.load(sys.stdin); j = j[0] if isinstance(j, list) else j
print(j["arguments"]["high-availability"][0]["dorado"]["auth-failures"])' 2>/dev/null || echo 0)
  check "tls: a peer with another CA's certificate is refused ($fails auth failures)" test "$fails" -gt 0
  check "tls: the refused peer never syncs" test "$(state_of b)" != hot-standby
  stop_server a
  stop_server b
}

# ---- worker counts that differ ------------------------------------------------------

phase_workers() {
  log "== 1 worker (primary) vs 2 workers (standby)"
  make_ha_world
  rm -rf "$WORK"/store-* "$WORK"/*.out "$WORK"/*.err
  HA_WORKERS_A=1 ha_config a hot-standby
  HA_WORKERS_B=2 ha_config b hot-standby
  start_server a
  start_server b
  check "workers: primary reaches hot-standby" wait_state a hot-standby 15
  check "workers: standby reaches hot-standby" wait_state b hot-standby 15
  local done
  done=$(GEN_DURATION=8 gen wk-dora 02:00:00:30:00:00 200 --mode dora --rate 2000)
  check "workers: 200 clients bound ($done)" test "$done" -eq 200
  sleep 1
  leases a
  leases b
  check "workers: 200 leases on the primary" test "$(wc -l <"$WORK/leases-a.txt")" -eq 200
  check "workers: the standby (2 workers) holds the same leases" cmp -s "$WORK/leases-a.txt" "$WORK/leases-b.txt"
  local rejected applied
  read -r applied rejected < <(ctl b status-get 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin); j = j[0] if isinstance(j, list) else j
d = j["arguments"]["high-availability"][0]["dorado"]
print(d["records-applied"], d["records-rejected"])' 2>/dev/null || echo "0 ?")
  check "workers: the standby applied the records ($applied), rejected none ($rejected)" \
    test "$rejected" = 0 -a "$applied" -ge 200
  stop_server a
  stop_server b
}

for p in $PHASES; do "phase_$p"; done
finish
