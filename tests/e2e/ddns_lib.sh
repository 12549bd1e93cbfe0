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
  named_stop KILL
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
