#!/usr/bin/env bash
# Dynamic DNS end to end (issue 15, docs/dns.md) against a real bind9.
# Namespaces (names carry the pid): srv (dorado on net_af_packet on
# veth-srv; dns0 10.98.1.1 on the kernel's stack, where dorado's control
# thread sends its updates), cli (dhclient, udhcpc on macvlans of veth-cli,
# one MAC each), dns (named on 10.98.1.53, zones bars.example and
# 99.10.in-addr.arpa that accept updates only with the TSIG key).
#
# Phases (PHASES=... to run some; default: all of them):
#   bind       bind9 harness sanity: a signed update is accepted, an unsigned
#              one and one signed with a wrong secret are refused, the
#              journal survives a restart of named.
#   names      a client with option 81 (dhclient, S=1) and one with option 12
#              only (udhcpc -x hostname): after the ACK, A, DHCID and PTR in
#              DNS and the lease answers' hostname / fqdn-fwd / fqdn-rev;
#              a renewal changes nothing in DNS (serials, DHCID); RELEASE
#              removes the records; a lease that runs out (5 s) too.
#   conflict   a second client asking for the first one's name does not get
#              it (ddns.update_conflict; A and DHCID still the first's; no
#              PTR for the second's address).
#   badkey     a wrong TSIG secret in dorado's config: updates refused,
#              counted by reason (ddns.update_refused.<rcode>), nothing in
#              DNS, DHCP unaffected; lease4-resend-ddns after a restart with
#              the right secret registers the name.
#   outage     named stopped while 8 clients with names get leases: the
#              updates wait (ddns.queue_depth), DHCP goes on; named started:
#              every record is there.
#   reload     [ddns] added by SIGHUP to a dorado started without it: a new
#              client gets its names; removed again: DHCP goes on, no updates.
#   crash      named stopped, 4 clients get leases, dorado killed with -9
#              while their updates wait; dorado restarted, named started:
#              every record is there.
export E2E_NAME=ddns   # read by lib.sh
DDNS_TAG=$$
export SRV_NS="dorado-dd$DDNS_TAG-s" CLI_NS="dorado-dd$DDNS_TAG-c" DNS_NS="dorado-dd$DDNS_TAG-d"
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
CTL_BIN=${DORADOCTL_BIN:-$(dirname "$DORADO_BIN")/../../tools/ctl/doradoctl}
ALL_PHASES="bind names conflict badkey outage crash reload"
PHASES=${PHASES:-$ALL_PHASES}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
# shellcheck source=ddns_lib.sh
source "$(dirname "$0")/ddns_lib.sh"
require_bind
command -v python3 >/dev/null || skip "python3 missing"

# ---- bind9 harness sanity -------------------------------------------------------

phase_bind() {
  log "== bind9 harness sanity"
  make_ddns_world
  named_setup
  named_start
  local key="hmac-sha256:$DDNS_KEY_NAME:$DDNS_KEY_SECRET" wrong rc
  wrong="hmac-sha256:$DDNS_KEY_NAME:$(new_tsig_secret)"
  check "bind: named answers the forward zone's SOA (serial 1)" test "$(soa_serial "$DDNS_FWD_ZONE")" = 1
  check "bind: named answers the reverse zone's SOA" test "$(soa_serial "$DDNS_REV_ZONE")" = 1

  # From the server namespace, as dorado's control thread will send.
  ns_update "$SRV_NS" "$key" >"$WORK/nsupdate-signed.out" 2>&1 <<UPD && rc=0 || rc=$?
update add sanity.$DDNS_FWD_ZONE 300 A 10.99.1.5
update add sanity.$DDNS_FWD_ZONE 300 DHCID AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=
send
update add 5.1.99.10.in-addr.arpa 300 PTR sanity.$DDNS_FWD_ZONE.
UPD
  check "bind: signed update accepted (nsupdate exit $rc)" test "$rc" = 0
  check "bind: A record added" wait_rr "sanity.$DDNS_FWD_ZONE" A 3 10.99.1.5
  check "bind: DHCID record added" wait_rr "sanity.$DDNS_FWD_ZONE" DHCID 3
  check "bind: PTR record added" wait_rr "$(rev_name 10.99.1.5)" PTR 3 "sanity.$DDNS_FWD_ZONE"
  check "bind: the forward zone's serial moved" test "$(soa_serial "$DDNS_FWD_ZONE")" -gt 1

  ns_update "$SRV_NS" "" >"$WORK/nsupdate-unsigned.out" 2>&1 <<UPD && rc=0 || rc=$?
update add unsigned.$DDNS_FWD_ZONE 300 A 10.99.1.6
UPD
  check "bind: unsigned update refused (nsupdate exit $rc)" test "$rc" -ne 0
  check "bind: ... with REFUSED" grep -q REFUSED "$WORK/nsupdate-unsigned.out"
  check "bind: ... and not applied" test -z "$(dns_q "unsigned.$DDNS_FWD_ZONE" A)"

  ns_update "$SRV_NS" "$wrong" >"$WORK/nsupdate-wrong.out" 2>&1 <<UPD && rc=0 || rc=$?
update add wrong.$DDNS_FWD_ZONE 300 A 10.99.1.7
UPD
  check "bind: update with a wrong secret refused (nsupdate exit $rc)" test "$rc" -ne 0
  check "bind: ... and not applied" test -z "$(dns_q "wrong.$DDNS_FWD_ZONE" A)"
  check "bind: named logged the bad signature" grep -qiE "bad ?sig|signature failed|tsig verify failure" "$NAMED_DIR/named.log"

  ns_update "$SRV_NS" "hmac-sha256:other-key:$DDNS_KEY_SECRET" >"$WORK/nsupdate-badkey.out" 2>&1 <<UPD && rc=0 || rc=$?
update add badkey.$DDNS_FWD_ZONE 300 A 10.99.1.8
UPD
  check "bind: update signed with an unknown key refused (nsupdate exit $rc)" test "$rc" -ne 0

  local serial
  serial=$(soa_serial "$DDNS_FWD_ZONE")
  named_stop
  check "bind: the forward zone's journal exists after a stop" test -s "$NAMED_DIR/$DDNS_FWD_ZONE.db.jnl"
  check "bind: nothing answers while named is stopped" test -z "$(dns_q "$DDNS_FWD_ZONE" SOA)"
  named_start
  check "bind: after a restart the A record is still there (journal)" wait_rr "sanity.$DDNS_FWD_ZONE" A 3 10.99.1.5
  check "bind: ... the PTR too" wait_rr "$(rev_name 10.99.1.5)" PTR 3 "sanity.$DDNS_FWD_ZONE"
  check "bind: ... and the serial is the same ($serial)" test "$(soa_serial "$DDNS_FWD_ZONE")" = "$serial"

  ns_update "$SRV_NS" "$key" >"$WORK/nsupdate-del.out" 2>&1 <<UPD && rc=0 || rc=$?
update delete sanity.$DDNS_FWD_ZONE A
update delete sanity.$DDNS_FWD_ZONE DHCID
send
update delete 5.1.99.10.in-addr.arpa PTR
UPD
  check "bind: signed removal accepted (nsupdate exit $rc)" test "$rc" = 0
  check "bind: A removed" wait_no_rr "sanity.$DDNS_FWD_ZONE" A 3
  check "bind: PTR removed" wait_no_rr "$(rev_name 10.99.1.5)" PTR 3
  named_stop
}

# ---- dorado against named -------------------------------------------------------------

# dorado_world: a fresh world, named with empty zones, dorado with [ddns].
# DDNS_SECRET: the secret dorado's config gets (default: the zones' key).
dorado_world() {
  make_ddns_world
  rm -rf "$WORK/store" "$WORK"/udhcpc-* "$WORK"/dhclient-* "$WORK"/dorado.out "$WORK"/dorado.err
  named_setup
  named_start
  ddns_config "$WORK/dorado.toml" "${DDNS_SECRET:-}"
  [ -x "$CTL_BIN" ] || { log "doradoctl not found: $CTL_BIN"; exit 1; }
  start_dorado "$WORK/dorado.toml"
}

# registered NAME ADDRESS: A (= ADDRESS), DHCID and PTR (-> NAME) all in DNS.
registered() {
  [ "$(dns_q "$1" A)" = "$2" ] && [ -n "$(dns_q "$1" DHCID)" ] &&
    [ "$(dns_q "$(rev_name "$2")" PTR)" = "$1." ]
}
# unregistered NAME ADDRESS: none of them.
unregistered() {
  [ -z "$(dns_q "$1" A)" ] && [ -z "$(dns_q "$1" DHCID)" ] && [ -z "$(dns_q "$(rev_name "$2")" PTR)" ]
}
# wait_for 'COMMAND ARGS' SECONDS: until the command succeeds (bounded).
wait_for() {
  local deadline=$((SECONDS + $2))
  while :; do
    eval "$1" && return 0
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

phase_names() {
  log "== names: option 81 and option 12, renewal, release, expiry"
  dorado_world
  local z=$DDNS_FWD_ZONE a81 a12 dhcid serial_f serial_r sent

  # Option 81, S=1 ("c81", wire encoding, not qualified: qualified with
  # qualifying_suffix), from dhclient.
  a81=$(dhclient_lease "$(client_if 1)" c81)
  check "names: dhclient (option 81, S=1) bound an address ($a81)" test -n "$a81"
  check "names: c81.$z A, DHCID, PTR in DNS" wait_for "registered c81.$z $a81" 5
  check "names: lease answer: hostname c81.$z" test "$(lease_field "$a81" hostname)" = "c81.$z"
  check "names: lease answer: fqdn-fwd true" test "$(lease_field "$a81" fqdn-fwd)" = True
  check "names: lease answer: fqdn-rev true" test "$(lease_field "$a81" fqdn-rev)" = True

  # Option 12 only, from udhcpc: the server does A and PTR.
  client_if 2 >/dev/null
  udhcpc_start c2 -x hostname:c12
  a12=$UDHCPC_IP
  check "names: udhcpc (option 12 only) bound an address ($a12)" test -n "$a12"
  check "names: c12.$z A, DHCID, PTR in DNS" wait_for "registered c12.$z $a12" 5
  check "names: lease answer: hostname c12.$z" test "$(lease_field "$a12" hostname)" = "c12.$z"
  check "names: the two DHCIDs differ (one per client)" \
    test "$(dns_q "c81.$z" DHCID)" != "$(dns_q "c12.$z" DHCID)"
  check "names: ddns.update_ok counted" test "$(stat_of ddns.update_ok)" -ge 2
  check "names: no refusal, no conflict" test -z "$(stats_matching '^ddns\.update_(refused|conflict)' | awk '$2 != 0')"

  # A renewal (unicast REQUEST, RENEWING) changes nothing in DNS.
  serial_f=$(soa_serial "$z")
  serial_r=$(soa_serial "$DDNS_REV_ZONE")
  dhcid=$(dns_q "c12.$z" DHCID)
  sent=$(stat_of ddns.update_sent)
  check "names: udhcpc renewed" udhcpc_renew c2
  sleep 1
  check "names: after the renewal the forward zone's serial is the same ($serial_f)" test "$(soa_serial "$z")" = "$serial_f"
  check "names: ... the reverse zone's too ($serial_r)" test "$(soa_serial "$DDNS_REV_ZONE")" = "$serial_r"
  check "names: ... the DHCID is the same" test "$(dns_q "c12.$z" DHCID)" = "$dhcid"
  check "names: ... and no update was sent" test "$(stat_of ddns.update_sent)" = "$sent"

  # RELEASE removes A, DHCID and PTR.
  udhcpc_release c2
  check "names: after udhcpc's RELEASE: c12's A, DHCID, PTR gone" wait_for "unregistered c12.$z $a12" 5
  dhclient_release c1
  check "names: after dhclient's RELEASE: c81's A, DHCID, PTR gone" wait_for "unregistered c81.$z $a81" 5
  check "names: lease answer after the release: fqdn-fwd false" test "$(lease_field "$a81" fqdn-fwd)" = False

  # Expiry: a 5 s lease that is neither renewed nor released.
  local aexp
  client_if 3 >/dev/null
  udhcpc_start c3 -F cexp -x lease:5
  aexp=$UDHCPC_IP
  udhcpc_kill c3
  check "names: udhcpc -F (option 81, ASCII) with a 5 s lease bound ($aexp)" test -n "$aexp"
  check "names: cexp.$z registered" wait_for "registered cexp.$z $aexp" 5
  check "names: the lease ran out: cexp's A, DHCID, PTR gone within 10 s" wait_for "unregistered cexp.$z $aexp" 10

  # lease4-del removes them too.
  local adel
  client_if 4 >/dev/null
  udhcpc_start c4 -x hostname:cdel
  adel=$UDHCPC_IP
  udhcpc_kill c4
  check "names: cdel.$z registered" wait_for "registered cdel.$z $adel" 5
  check "names: lease4-del exit 0" ctl lease4-del ip-address="$adel"
  check "names: after lease4-del: cdel's A, DHCID, PTR gone" wait_for "unregistered cdel.$z $adel" 5
  check "names: ddns.queue_depth back to 0" wait_stat ddns.queue_depth -eq 0 3
  stop_dorado
  named_stop
}

phase_conflict() {
  log "== conflict: a second client asking for a name held by the first"
  dorado_world
  local z=$DDNS_FWD_ZONE a1 a2 dhcid
  client_if 1 >/dev/null
  client_if 2 >/dev/null
  udhcpc_start c1 -x hostname:shared
  a1=$UDHCPC_IP
  check "conflict: the first client's shared.$z registered" wait_for "registered shared.$z $a1" 5
  dhcid=$(dns_q "shared.$z" DHCID)
  udhcpc_start c2 -x hostname:shared
  a2=$UDHCPC_IP
  check "conflict: the second client bound an address ($a2, DHCP unaffected)" test -n "$a2" -a "$a2" != "$a1"
  check "conflict: counted (ddns.update_conflict)" wait_stat ddns.update_conflict -ge 1 5
  check "conflict: shared.$z still points at the first client ($a1)" test "$(dns_q "shared.$z" A)" = "$a1"
  check "conflict: ... with the first client's DHCID" test "$(dns_q "shared.$z" DHCID)" = "$dhcid"
  check "conflict: the second lease answer does not claim fqdn-fwd" test "$(lease_field "$a2" fqdn-fwd)" != True
  check "conflict: ... nor fqdn-rev" test "$(lease_field "$a2" fqdn-rev)" != True
  check "conflict: no PTR for the second client's address (it would name the first's host)" \
    test -z "$(dns_q "$(rev_name "$a2")" PTR)"
  check "conflict: the conflict is logged with the name" grep -q "shared.$z" "$WORK/dorado.err" "$WORK/dorado.out"
  # The first client leaves: its records go, and the second's name is not
  # taken over by the removal.
  udhcpc_release c1
  check "conflict: the first client's RELEASE removes its A and DHCID" wait_for "[ -z \"\$(dns_q shared.$z DHCID)\" ] || [ \"\$(dns_q shared.$z DHCID)\" != '$dhcid' ]" 5
  udhcpc_kill c2
  stop_dorado
  named_stop
}

phase_badkey() {
  log "== badkey: a wrong TSIG secret in dorado's config"
  DDNS_SECRET=$(new_tsig_secret) dorado_world
  local z=$DDNS_FWD_ZONE a refused
  client_if 1 >/dev/null
  udhcpc_start c1 -x hostname:badkey
  a=$UDHCPC_IP
  check "badkey: DHCP unaffected: the client bound an address ($a)" test -n "$a"
  check "badkey: refusals counted (ddns.update_refused >= 1)" wait_stat ddns.update_refused -ge 1 5
  stats_matching '^ddns\.' | sed 's/^/    /'
  refused=$(stats_matching '^ddns\.update_refused\.' | awk '$2 > 0 {print $1}' | tr '\n' ' ')
  log "refused by reason: $refused"
  check "badkey: counted by reason (ddns.update_refused.<rcode>: $refused)" test -n "$refused"
  check "badkey: nothing in DNS" unregistered "badkey.$z" "$a"
  check "badkey: named saw the bad signature" grep -qiE "bad ?sig|signature failed|tsig verify failure" "$NAMED_DIR/named.log"
  check "badkey: the refusal is logged with the name" grep -q "badkey.$z" "$WORK/dorado.err" "$WORK/dorado.out"
  local s0 s1
  s0=$(stat_of ddns.update_sent)
  sleep 2
  s1=$(stat_of ddns.update_sent)
  check "badkey: not retried in a tight loop ($((s1 - s0)) sent in 2 s, max_retry_interval_s 2)" test $((s1 - s0)) -le 6
  check "badkey: lease answer: fqdn-fwd false" test "$(lease_field "$a" fqdn-fwd)" != True
  # The right secret, a restart, and lease4-resend-ddns for good measure.
  stop_dorado
  ddns_config "$WORK/dorado.toml"
  start_dorado "$WORK/dorado.toml"
  ctl lease4-resend-ddns ip-address="$a" >"$WORK/resend.json" 2>&1 || true
  check "badkey: lease4-resend-ddns answers result 0" grep -q '"result": *0' "$WORK/resend.json"
  check "badkey: with the right secret badkey.$z is registered" wait_for "registered badkey.$z $a" 5
  udhcpc_kill c1
  stop_dorado
  named_stop
}

# clients_with_names PREFIX FIRST N: N udhcpc clients (interfaces cFIRST...)
# with option 12 PREFIX-i; one DORA each, they exit once bound (the lease
# stays). Prints "name address" per client that bound.
clients_with_names() {
  local prefix=$1 first=$2 n=$3 i ifname addr
  for i in $(seq "$first" $((first + n - 1))); do
    ifname=$(client_if "$i")
    addr=$(udhcpc_lease "$ifname" -x "hostname:$prefix-$i")
    [ -n "$addr" ] && echo "$prefix-$i.$DDNS_FWD_ZONE $addr"
  done
}

all_registered() {   # all_registered FILE ("name address" lines)
  local name addr
  while read -r name addr; do registered "$name" "$addr" || return 1; done <"$1"
}

phase_outage() {
  log "== outage: named stopped under load, then started"
  dorado_world
  named_stop
  local t0=$SECONDS n
  clients_with_names out 10 8 >"$WORK/outage.txt"
  n=$(wc -l <"$WORK/outage.txt")
  check "outage: DHCP unaffected: 8 clients bound while named was down ($n in $((SECONDS - t0)) s)" test "$n" -eq 8
  check "outage: the updates wait (ddns.queue_depth >= 8)" wait_stat ddns.queue_depth -ge 8 3
  check "outage: tries timed out (ddns.update_timeout)" wait_stat ddns.update_timeout -ge 1 3
  sleep 1
  check "outage: ddns.oldest_wait_s counts the wait (>= 1)" \
    python3 -c "import sys; sys.exit(0 if float('$(stat_of ddns.oldest_wait_s)') >= 1 else 1)"
  named_start
  check "outage: after named is back every name is registered (A, DHCID, PTR)" wait_for "all_registered $WORK/outage.txt" 10
  check "outage: ddns.queue_depth back to 0" wait_stat ddns.queue_depth -eq 0 3
  check "outage: retries counted (ddns.update_retried)" test "$(stat_of ddns.update_retried)" -ge 1
  stop_dorado
  named_stop
}

phase_reload() {
  log "== reload: [ddns] added, then removed, by SIGHUP"
  make_ddns_world
  rm -rf "$WORK/store" "$WORK"/udhcpc-* "$WORK"/dorado.out "$WORK"/dorado.err
  named_setup
  named_start
  local z=$DDNS_FWD_ZONE a1 a2 a3
  ddns_config "$WORK/ddns-full.toml"
  sed '/^\[ddns\]/,$d' "$WORK/ddns-full.toml" >"$WORK/ddns-none.toml"
  cp "$WORK/ddns-none.toml" "$WORK/dorado.toml"
  start_dorado "$WORK/dorado.toml"
  client_if 1 >/dev/null
  udhcpc_start c1 -x hostname:before
  a1=$UDHCPC_IP
  sleep 1
  check "reload: without [ddns] the client bound ($a1) and nothing is in DNS" unregistered "before.$z" "$a1"
  check "reload: ... and there are no ddns statistics" test -z "$(stats_matching '^ddns\.')"
  cp "$WORK/ddns-full.toml" "$WORK/dorado.toml"
  kill -HUP "$DORADO_PID"
  check "reload: [ddns] added: the service starts" \
    wait_for "grep -q 'ddns: started by the reload' '$WORK/dorado.err' '$WORK/dorado.out'" 5
  client_if 2 >/dev/null
  udhcpc_start c2 -x hostname:after
  a2=$UDHCPC_IP
  check "reload: a client bound after it gets its names (after.$z, $a2)" wait_for "registered after.$z $a2" 5
  check "reload: the lease committed before it has none (no DNS flags then)" unregistered "before.$z" "$a1"
  cp "$WORK/ddns-none.toml" "$WORK/dorado.toml"
  kill -HUP "$DORADO_PID"
  check "reload: [ddns] removed: the service stops" \
    wait_for "grep -q 'ddns: stopped by the reload' '$WORK/dorado.err' '$WORK/dorado.out'" 5
  client_if 3 >/dev/null
  udhcpc_start c3 -x hostname:later
  a3=$UDHCPC_IP
  sleep 1
  check "reload: DHCP goes on without it ($a3), nothing new in DNS" unregistered "later.$z" "$a3"
  for c in c1 c2 c3; do udhcpc_kill "$c"; done
  stop_dorado
  named_stop
}

phase_crash() {
  log "== crash: dorado killed with -9 while updates wait"
  dorado_world
  named_stop
  local n
  clients_with_names crash 20 4 >"$WORK/crash.txt"
  n=$(wc -l <"$WORK/crash.txt")
  check "crash: 4 clients bound while named was down ($n)" test "$n" -eq 4
  check "crash: their updates wait (ddns.queue_depth >= 4)" wait_stat ddns.queue_depth -ge 4 3
  kill -KILL "$DORADO_PID"
  wait "$DORADO_PID" 2>/dev/null || true
  DORADO_PID=""
  start_dorado "$WORK/dorado.toml"
  check "crash: after the restart the updates still wait (ddns.queue_depth >= 4)" wait_stat ddns.queue_depth -ge 4 3
  named_start
  check "crash: once named is back every name is registered (A, DHCID, PTR)" wait_for "all_registered $WORK/crash.txt" 10
  check "crash: ddns.queue_depth back to 0" wait_stat ddns.queue_depth -eq 0 3
  # Done once, not twice: a second restart sends nothing.
  stop_dorado
  start_dorado "$WORK/dorado.toml"
  sleep 1
  check "crash: after a clean restart nothing is sent again (ddns.update_sent 0)" test "$(stat_of ddns.update_sent)" = 0
  stop_dorado
  named_stop
}

for phase in $PHASES; do "phase_$phase"; done
finish
