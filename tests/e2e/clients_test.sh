#!/usr/bin/env bash
# Real DHCP clients against dorado on a veth pair: dhclient (DORA, options,
# renewal in RENEWING state, release), udhcpc, the server address answering
# ping and ARP, a reservation by MAC.
export E2E_NAME=clients   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
command -v dhclient >/dev/null || skip "dhclient (isc-dhcp-client) missing"
command -v udhcpc >/dev/null || skip "udhcpc missing"

make_world
write_config "$WORK/dorado.toml" 1
start_dorado "$WORK/dorado.toml"

# ---- dhclient: DORA, then a renewal at T1, then release ----------------------
# min_lease_time 20 and a requested lease of 20 s: T1 = 10 s.
cat >"$WORK/dhclient.conf" <<'CONF'
send dhcp-lease-time 20;
request subnet-mask, broadcast-address, routers, domain-name-servers, domain-name;
CONF
ip netns exec "$CLI_NS" timeout 20 dhclient -4 -v -1 -cf "$WORK/dhclient.conf" \
  -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" "$CLI_IF" >"$WORK/dhclient.log" 2>&1
ADDR=$(ip -n "$CLI_NS" -4 -o addr show dev "$CLI_IF" | awk '{print $4}')
log "dhclient got $ADDR"
check "dhclient bound an address from the pool (10.99.1.10-10.99.10.255)" \
  bash -c "[[ '$ADDR' =~ ^10\.99\.([1-9]|10)\.[0-9]+/16$ ]] && [[ '$ADDR' != 10.99.1.[1-9]/16 ]]"
check "lease: subnet mask 255.255.0.0" grep -q "option subnet-mask 255.255.0.0" "$WORK/dhclient.leases"
check "lease: router 10.99.0.1" grep -q "option routers 10.99.0.1;" "$WORK/dhclient.leases"
check "lease: DNS servers" grep -q "option domain-name-servers 10.99.0.53,10.99.0.54;" "$WORK/dhclient.leases"
check "lease: domain name" grep -q 'option domain-name "example.net";' "$WORK/dhclient.leases"
check "lease: lease time 20 (option 51 clamped to min)" grep -q "option dhcp-lease-time 20;" "$WORK/dhclient.leases"
check "lease: server identifier 10.99.0.1" grep -q "option dhcp-server-identifier 10.99.0.1;" "$WORK/dhclient.leases"

check "server address answers ping" ip netns exec "$CLI_NS" ping -c 2 -W 1 10.99.0.1
check "server address answers ARP" ip netns exec "$CLI_NS" arping -c 2 -w 3 -I "$CLI_IF" 10.99.0.1

# Keep the client running until it renews (T1 = 10 s, unicast to the server).
# -d: stay in the foreground so that its log keeps going to our file.
ip netns exec "$CLI_NS" dhclient -4 -d -v -cf "$WORK/dhclient.conf" -lf "$WORK/dhclient.leases" \
  -pf "$WORK/dhclient.pid" "$CLI_IF" >>"$WORK/dhclient.log" 2>&1 &
for _ in $(seq 1 40); do
  if [ "$(grep -c 'DHCPACK of .* from 10.99.0.1' "$WORK/dhclient.log")" -ge 3 ]; then break; fi
  sleep 0.5
done
check "dhclient renewed (a third ACK after T1)" \
  test "$(grep -c 'DHCPACK of .* from 10.99.0.1' "$WORK/dhclient.log")" -ge 3
check "the renewal was unicast to the server (RENEWING)" grep -q "DHCPREQUEST for .* to 10.99.0.1 port 67" "$WORK/dhclient.log"
ip netns exec "$CLI_NS" dhclient -4 -r -cf "$WORK/dhclient.conf" -lf "$WORK/dhclient.leases" \
  -pf "$WORK/dhclient.pid" "$CLI_IF" >>"$WORK/dhclient.log" 2>&1 || true
sleep 0.5

# ---- udhcpc -----------------------------------------------------------------
cat >"$WORK/udhcpc.sh" <<SCRIPT
#!/bin/sh
[ "\$1" = bound ] && env | grep -E '^(ip|subnet|router|dns|domain|lease|serverid)=' | sort >"$WORK/udhcpc.env"
exit 0
SCRIPT
chmod +x "$WORK/udhcpc.sh"
ip netns exec "$CLI_NS" timeout 15 udhcpc -f -q -n -i "$CLI_IF" -s "$WORK/udhcpc.sh" \
  -x hostname:udhcpc-test >"$WORK/udhcpc.log" 2>&1 || true
check "udhcpc bound an address in a pool" grep -Eq '^ip=10\.99\.([1-9]|10)\.[0-9]+$' "$WORK/udhcpc.env"
check "udhcpc: subnet mask" grep -qx 'subnet=255.255.0.0' "$WORK/udhcpc.env"
check "udhcpc: router" grep -qx 'router=10.99.0.1' "$WORK/udhcpc.env"
check "udhcpc: dns" grep -qx 'dns=10.99.0.53 10.99.0.54' "$WORK/udhcpc.env"
check "udhcpc: domain" grep -qx 'domain=example.net' "$WORK/udhcpc.env"
check "udhcpc: lease time 600" grep -qx 'lease=600' "$WORK/udhcpc.env"
check "udhcpc: server id" grep -qx 'serverid=10.99.0.1' "$WORK/udhcpc.env"

# ---- reservation by MAC -------------------------------------------------------
ip -n "$CLI_NS" addr flush dev "$CLI_IF"
ip -n "$CLI_NS" link set "$CLI_IF" address 02:00:00:00:00:01
ip netns exec "$CLI_NS" timeout 15 udhcpc -f -q -n -i "$CLI_IF" -s "$WORK/udhcpc.sh" >"$WORK/udhcpc2.log" 2>&1 || true
check "reserved MAC 02:00:00:00:00:01 gets 10.99.0.100" grep -qx 'ip=10.99.0.100' "$WORK/udhcpc.env"

stop_dorado
check "counted: a lease renewal in RENEWING state" test "$(counter engine.request_renewing)" -ge 1
check "counted: a release" test "$(counter engine.lease_release)" -ge 1
check "counted: a reservation used" test "$(counter engine.reservation_used)" -ge 1
check "counted: ARP replies" test "$(counter arp_replies)" -ge 1
check "counted: ICMP echo replies" test "$(counter icmp_replies)" -ge 2
finish
