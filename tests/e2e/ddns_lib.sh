# shellcheck shell=bash
# A real bind9 for the dynamic DNS tests (tests/e2e/ddns_test.sh; docs/dns.md).
# Sourced after lib.sh (log, check, WORK, make_world, the cleanup trap).
#
# World: lib.sh's server and client namespaces (dorado on net_af_packet on
# veth-srv, clients on veth-cli) plus DNS_NS, where named runs. dorado sends
# its DNS updates from its control thread through the kernel's stack, so the
# server namespace gets a kernel-addressed veth to the DNS namespace:
#   SRV_NS dns0 10.98.1.1/24  <->  DNS_NS dns0 10.98.1.53/24 (named, port 53)
# Names carry the test's pid: two runs (or another e2e test) never collide.
#
# named: Debian's /usr/sbin/named, `named -g` (foreground, log on stderr) in
# DNS_NS, its own directory $NAMED_DIR (config, zones, journals, pid file),
# one forward zone (DDNS_FWD_ZONE) and one reverse zone (DDNS_REV_ZONE), both
# accepting updates only when signed with the TSIG key DDNS_KEY_NAME
# (hmac-sha256, secret DDNS_KEY_SECRET made by tsig-keygen). named_stop and
# named_start keep the directory: the zones' journals (*.jnl) survive.
DDNS_TAG=${DDNS_TAG:-$$}
SRV_NS=${SRV_NS:-"dorado-ddns${DDNS_TAG}-srv"}
CLI_NS=${CLI_NS:-"dorado-ddns${DDNS_TAG}-cli"}
DNS_NS=${DNS_NS:-"dorado-ddns${DDNS_TAG}-dns"}
DNS_ADDR=10.98.1.53
SRV_DNS_ADDR=10.98.1.1
DDNS_FWD_ZONE=bars.example
DDNS_REV_ZONE=99.10.in-addr.arpa
DDNS_KEY_NAME=dorado-key
DDNS_KEY_SECRET=""
NAMED_BIN=${NAMED_BIN:-/usr/sbin/named}
NAMED_DIR="$WORK/named"
NAMED_PID=""
declare -A UDHCPC_PID=()
UDHCPC_IP=""

require_bind() {
  [ -x "$NAMED_BIN" ] || skip "named (bind9) missing"
  command -v dig >/dev/null || skip "dig (bind9-dnsutils) missing"
  command -v nsupdate >/dev/null || skip "nsupdate (bind9-dnsutils) missing"
  command -v tsig-keygen >/dev/null || skip "tsig-keygen (bind9) missing"
}

# new_tsig_secret: a fresh base64 hmac-sha256 secret from tsig-keygen.
new_tsig_secret() {
  tsig-keygen -a hmac-sha256 "$DDNS_KEY_NAME" | sed -n 's/.*secret "\([^"]*\)".*/\1/p'
}

ddns_teardown() {
  local i
  for i in "${!UDHCPC_PID[@]}"; do udhcpc_kill "$i"; done
  named_stop
  if ip netns list | grep -qw "$DNS_NS"; then
    for p in $(ip netns pids "$DNS_NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$DNS_NS" 2>/dev/null || true
  fi
}
# lib.sh's cleanup takes the exit status from $?: hand it the script's, not
# ddns_teardown's (and not under set -e, which would end the trap there).
ddns_exit() {
  local rc=$?
  ddns_teardown
  set +e
  (exit "$rc")
  cleanup
}
trap ddns_exit EXIT

# make_ddns_world [client-mac]: lib.sh's world plus the DNS namespace and link.
make_ddns_world() {
  ddns_teardown
  make_world "$@"
  ip netns add "$DNS_NS"
  ip netns exec "$DNS_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$DNS_NS" link set lo up
  ip link add dns0 netns "$SRV_NS" type veth peer name dns0 netns "$DNS_NS"
  ip -n "$SRV_NS" addr add "$SRV_DNS_ADDR/24" dev dns0
  ip -n "$DNS_NS" addr add "$DNS_ADDR/24" dev dns0
  ip -n "$SRV_NS" link set dns0 up
  ip -n "$DNS_NS" link set dns0 up
}

# named_setup: a fresh $NAMED_DIR (config, key, both zones with serial 1).
named_setup() {
  rm -rf "$NAMED_DIR"
  mkdir -p "$NAMED_DIR"
  DDNS_KEY_SECRET=$(new_tsig_secret)
  [ -n "$DDNS_KEY_SECRET" ] || { log "tsig-keygen gave no secret"; return 1; }
  local d=$NAMED_DIR z
  cat >"$d/named.conf" <<CONF
key "$DDNS_KEY_NAME" {
    algorithm hmac-sha256;
    secret "$DDNS_KEY_SECRET";
};
options {
    directory "$d";
    pid-file "$d/named.pid";
    session-keyfile "$d/session.key";
    managed-keys-directory "$d";
    listen-on port 53 { $DNS_ADDR; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    notify no;
};
controls { };
zone "$DDNS_FWD_ZONE" {
    type primary;
    file "$DDNS_FWD_ZONE.db";
    update-policy { grant $DDNS_KEY_NAME zonesub ANY; };
};
zone "$DDNS_REV_ZONE" {
    type primary;
    file "$DDNS_REV_ZONE.db";
    update-policy { grant $DDNS_KEY_NAME zonesub ANY; };
};
CONF
  for z in "$DDNS_FWD_ZONE" "$DDNS_REV_ZONE"; do
    cat >"$d/$z.db" <<ZONE
\$TTL 300
@   IN SOA ns.$DDNS_FWD_ZONE. hostmaster.$DDNS_FWD_ZONE. 1 3600 600 86400 60
@   IN NS  ns.$DDNS_FWD_ZONE.
ZONE
  done
  echo "ns  IN A   $DNS_ADDR" >>"$d/$DDNS_FWD_ZONE.db"
  if command -v named-checkconf >/dev/null; then
    named-checkconf -z "$d/named.conf" >"$d/checkconf.out" 2>&1 ||
      { log "named-checkconf refused the config:"; cat "$d/checkconf.out" >&2; return 1; }
  fi
}

# named_start: named in DNS_NS; waits (10 s at most) until it answers the
# forward zone's SOA. Appends to $NAMED_DIR/named.log.
named_start() {
  ip netns exec "$DNS_NS" "$NAMED_BIN" -g -4 -n 1 -u root -c "$NAMED_DIR/named.conf" \
    >>"$NAMED_DIR/named.log" 2>&1 &
  NAMED_PID=$!
  for _ in $(seq 1 100); do
    if dns_q "$DDNS_FWD_ZONE" SOA | grep -q .; then return 0; fi
    kill -0 "$NAMED_PID" 2>/dev/null || break
    sleep 0.1
  done
  log "named did not start:"; tail -n 30 "$NAMED_DIR/named.log" >&2
  return 1
}

# named_stop [TERM|KILL]: stops named (5 s for TERM, then KILL); the
# directory and the journals stay.
named_stop() {
  local sig=${1:-TERM} p=$NAMED_PID
  [ -n "$p" ] || return 0
  kill -"$sig" "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  NAMED_PID=""
}

# dns_q NAME TYPE: the answer's RDATA, one line each (dig +short), asked from
# the DNS namespace (1 s, one try). Empty when none or no answer.
dns_q() {
  ip netns exec "$DNS_NS" dig @"$DNS_ADDR" +short +time=1 +tries=1 +norecurse "$1" "$2" 2>/dev/null |
    grep -v '^;;' || true
}

# rev_name A.B.C.D: D.C.B.A.in-addr.arpa
rev_name() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  echo "$d.$c.$b.$a.in-addr.arpa"
}

# soa_serial ZONE
soa_serial() { dns_q "$1" SOA | awk '{print $3}'; }

# wait_rr NAME TYPE SECONDS [VALUE]: until NAME has a TYPE record (equal to
# VALUE when given; a trailing dot is ignored). Bounded to SECONDS.
wait_rr() {
  local name=$1 type=$2 secs=$3 want=${4:-} deadline
  deadline=$((SECONDS + secs))
  while :; do
    if [ -n "$want" ]; then
      dns_q "$name" "$type" | sed 's/\.$//' | grep -qxF "${want%.}" && return 0
    else
      [ -n "$(dns_q "$name" "$type")" ] && return 0
    fi
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# wait_no_rr NAME TYPE SECONDS: until NAME has no TYPE record.
wait_no_rr() {
  local deadline=$((SECONDS + $3))
  while :; do
    [ -z "$(dns_q "$1" "$2")" ] && return 0
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# ns_update FROM_NS KEYSPEC < commands: nsupdate from namespace FROM_NS,
# server $DNS_ADDR; KEYSPEC "" (unsigned) or "hmac-sha256:NAME:SECRET".
# Exit status: nsupdate's (0 = the update was accepted).
ns_update() {
  local from=$1 key=$2
  {
    echo "server $DNS_ADDR 53"
    cat
    echo "send"
  } | ip netns exec "$from" timeout 10 nsupdate -t 3 -u 3 ${key:+-y "$key"}
}

# ---- dorado and its clients ---------------------------------------------------------

# ddns_config FILE [SECRET] [extra toml]: dorado on veth-srv (1 worker) with
# [ddns] pointing at named; SECRET defaults to the zones' key. Subnet
# 10.99.0.0/16, pool 10.99.1.10-10.99.1.250, lease_time DDNS_LEASE_TIME
# (default 600), min_lease_time 4 (a client may ask for a short lease).
# Short DNS timers (a try 300 ms, retries at most 2 s apart): the phases
# that stop named see the updates done soon after it is back.
ddns_config() {
  local file=$1 secret=${2:-$DDNS_KEY_SECRET} extra=${3:-}
  local cpu=$(( $(nproc) > 1 ? 1 : 0 ))
  cat >"$file" <<TOML
[server]
address = "10.99.0.1"

[dpdk]
eal_args = ["--no-pci", "--no-huge", "-m", "256", "--vdev=net_af_packet0,iface=$SRV_IF",
            "--lcores=0@0,1@$cpu", "--file-prefix=dorado-ddns$DDNS_TAG", "--log-level=*:error"]
workers = 1
idle_sleep_us = 100

[store]
dir = "$WORK/store"

[control]
socket = "$WORK/dorado.sock"
metrics = ""

[[subnet]]
prefix = "10.99.0.0/16"
pools = ["10.99.1.10-10.99.1.250"]
routers = ["10.99.0.1"]
lease_time = ${DDNS_LEASE_TIME:-600}
min_lease_time = 4

[ddns]
qualifying_suffix = "$DDNS_FWD_ZONE"
timeout_ms = 300
max_retry_interval_s = 2

[[ddns.tsig_key]]
name = "$DDNS_KEY_NAME"
algorithm = "hmac-sha256"
secret = "$secret"

[[ddns.forward_zone]]
name = "$DDNS_FWD_ZONE"
servers = ["$DNS_ADDR"]
key = "$DDNS_KEY_NAME"

[[ddns.reverse_zone]]
name = "$DDNS_REV_ZONE"
servers = ["$DNS_ADDR"]
key = "$DDNS_KEY_NAME"
$extra
TOML
}

# ctl ARGS...: doradoctl against the running dorado (JSON).
ctl() { "$CTL_BIN" -s "$WORK/dorado.sock" --json -t 5 "$@"; }

# stat_of NAME: a statistic's current value (0 when absent or no answer).
stat_of() {
  ctl statistic-get name="$1" 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin); j = j[0] if isinstance(j, list) else j
a = j.get("arguments") or {}
v = list(a.values())[0] if a else [[0]]
print(v[0][0] if isinstance(v, list) else v)' 2>/dev/null || echo 0
}

# stats_matching REGEX: "name value" of every statistic whose name matches.
stats_matching() {
  ctl statistic-get-all 2>/dev/null | python3 -c '
import json, re, sys
j = json.load(sys.stdin); j = j[0] if isinstance(j, list) else j
for k, v in sorted((j.get("arguments") or {}).items()):
    if re.search(sys.argv[1], k):
        print(k, v[0][0] if isinstance(v, list) else v)' "$1" 2>/dev/null || true
}

# wait_stat NAME OP VALUE SECONDS: until the statistic NAME OP VALUE (-ge, -eq, ...).
wait_stat() {
  local deadline=$((SECONDS + $4))
  while :; do
    test "$(stat_of "$1")" "$2" "$3" && return 0
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# lease_field ADDRESS FIELD: a field of lease4-get's answer ("" if none).
lease_field() {
  ctl lease4-get ip-address="$1" 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin); j = j[0] if isinstance(j, list) else j
print((j.get("arguments") or {}).get(sys.argv[1], ""))' "$2" 2>/dev/null || true
}

# client_if N: macvlan cN on veth-cli in CLI_NS with MAC 02:00:00:dd:00:NN,
# one emulated host each (its own chaddr).
client_if() {
  local n=$1 ifname="c$1"
  if ! ip -n "$CLI_NS" link show "$ifname" >/dev/null 2>&1; then
    ip -n "$CLI_NS" link add "$ifname" link "$CLI_IF" type macvlan mode bridge
    ip -n "$CLI_NS" link set "$ifname" address "$(printf '02:00:00:dd:00:%02x' "$n")"
    ip -n "$CLI_NS" link set "$ifname" up
  fi
  echo "$ifname"
}

# udhcpc_lease IFNAME [udhcpc args...]: one DORA (or a REQUEST with -r ADDR),
# then exit (-q; with -R it releases on exit). Prints the bound address.
udhcpc_lease() {
  local ifname=$1; shift
  cat >"$WORK/udhcpc-$ifname.sh" <<SCRIPT
#!/bin/sh
# The address goes on the interface: a RELEASE is sent through it (unicast).
if [ "\$1" = bound ]; then
  ip addr replace "\$ip/16" dev "\$interface"
  echo "\$ip" >"$WORK/udhcpc-$ifname.ip"
fi
exit 0
SCRIPT
  chmod +x "$WORK/udhcpc-$ifname.sh"
  rm -f "$WORK/udhcpc-$ifname.ip"
  ip netns exec "$CLI_NS" timeout 15 udhcpc -f -q -n -t 5 -T 1 -i "$ifname" -s "$WORK/udhcpc-$ifname.sh" "$@" \
    >>"$WORK/udhcpc-$ifname.log" 2>&1 || true
  cat "$WORK/udhcpc-$ifname.ip" 2>/dev/null || true
}

# dhclient_lease IFNAME FQDN [extra dhclient.conf lines]: one DORA with
# option 81 (FQDN, S=1: the server updates the A record); the client is
# stopped (without a release) once bound. Prints the bound address.
dhclient_lease() {
  local ifname=$1 fqdn=$2 extra=${3:-}
  cat >"$WORK/dhclient-$ifname.conf" <<CONF
send fqdn.fqdn "$fqdn";
send fqdn.server-update on;
send fqdn.encoded on;
$extra
CONF
  # A script that only puts the address on the interface (a RELEASE goes out
  # through it) and records it: the host's resolv.conf is left alone.
  cat >"$WORK/dhclient-$ifname.sh" <<SCRIPT
#!/bin/sh
case "\$reason" in
  BOUND|RENEW|REBOOT)
    ip addr replace "\$new_ip_address/16" dev "\$interface"
    echo "\$new_ip_address" >"$WORK/dhclient-$ifname.ip" ;;
esac
exit 0
SCRIPT
  chmod +x "$WORK/dhclient-$ifname.sh"
  rm -f "$WORK/dhclient-$ifname.ip"
  ip netns exec "$CLI_NS" timeout 20 dhclient -4 -v -1 -cf "$WORK/dhclient-$ifname.conf" \
    -lf "$WORK/dhclient-$ifname.leases" -pf "$WORK/dhclient-$ifname.pid" -sf "$WORK/dhclient-$ifname.sh" \
    "$ifname" >>"$WORK/dhclient-$ifname.log" 2>&1 || true
  dhclient_stop "$ifname"
  cat "$WORK/dhclient-$ifname.ip" 2>/dev/null || true
}

# dhclient_stop IFNAME: stops the backgrounded dhclient without releasing.
dhclient_stop() {
  local p
  p=$(cat "$WORK/dhclient-$1.pid" 2>/dev/null || true)
  [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
  rm -f "$WORK/dhclient-$1.pid"
}

# dhclient_release IFNAME: RELEASE of the lease in its lease file.
dhclient_release() {
  ip netns exec "$CLI_NS" timeout 10 dhclient -4 -r -v -cf "$WORK/dhclient-$1.conf" \
    -lf "$WORK/dhclient-$1.leases" -pf "$WORK/dhclient-$1.pid" -sf "$WORK/dhclient-$1.sh" \
    "$1" >>"$WORK/dhclient-$1.log" 2>&1 || true
}

# udhcpc_start IFNAME [udhcpc args...]: a udhcpc that stays (-f -R, in the
# background) once bound; waits 15 s at most. Sets UDHCPC_IP to the bound
# address ("" if none). Not in $(...): the pid must reach this shell.
# udhcpc_renew IFNAME: SIGUSR1, a renewal (unicast REQUEST); waits for its ACK.
# udhcpc_release IFNAME: SIGTERM, which with -R sends a RELEASE, and exits.
# udhcpc_kill IFNAME: SIGKILL, no RELEASE (the lease runs out by itself).
udhcpc_start() {
  local ifname=$1; shift
  cat >"$WORK/udhcpc-$ifname.sh" <<SCRIPT
#!/bin/sh
case "\$1" in
  bound|renew)
    ip addr replace "\$ip/16" dev "\$interface"
    echo "\$ip" >"$WORK/udhcpc-$ifname.ip"
    echo "\$1" >>"$WORK/udhcpc-$ifname.events" ;;
esac
exit 0
SCRIPT
  chmod +x "$WORK/udhcpc-$ifname.sh"
  rm -f "$WORK/udhcpc-$ifname.ip" "$WORK/udhcpc-$ifname.events"
  ip netns exec "$CLI_NS" udhcpc -f -R -t 5 -T 1 -i "$ifname" -s "$WORK/udhcpc-$ifname.sh" "$@" \
    >>"$WORK/udhcpc-$ifname.log" 2>&1 &
  UDHCPC_PID[$ifname]=$!
  for _ in $(seq 1 150); do
    [ -s "$WORK/udhcpc-$ifname.ip" ] && break
    kill -0 "${UDHCPC_PID[$ifname]}" 2>/dev/null || break
    sleep 0.1
  done
  UDHCPC_IP=$(cat "$WORK/udhcpc-$ifname.ip" 2>/dev/null || true)
}
udhcpc_renew() {
  local p=${UDHCPC_PID[$1]:-} n
  [ -n "$p" ] || return 1
  n=$(grep -c . "$WORK/udhcpc-$1.events" 2>/dev/null || echo 0)
  kill -USR1 "$p"
  for _ in $(seq 1 50); do
    [ "$(grep -c . "$WORK/udhcpc-$1.events" 2>/dev/null || echo 0)" -gt "$n" ] && return 0
    sleep 0.1
  done
  return 1
}
udhcpc_end() {   # udhcpc_end IFNAME SIGNAL
  local p=${UDHCPC_PID[$1]:-}
  [ -n "$p" ] || return 0
  kill -"$2" "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  UDHCPC_PID[$1]=""
}
udhcpc_release() { udhcpc_end "$1" TERM; }
udhcpc_kill() { udhcpc_end "$1" KILL; }
