#!/usr/bin/env bash
# Dynamic DNS end to end (issue 15, docs/dns.md) against a real bind9.
# Namespaces (names carry the pid): srv (dorado on net_af_packet on
# veth-srv; dns0 10.98.1.1 on the kernel's stack, where dorado's control
# thread sends its updates), cli (dhclient, udhcpc on macvlans of veth-cli,
# one MAC each), dns (named on 10.98.1.53, zones bars.example and
# 99.10.in-addr.arpa that accept updates only with the TSIG key).
#
# Phases (PHASES=... to run some; default: those that pass today, see
# DORADO_PHASES below):
#   bind       bind9 harness sanity: a signed update is accepted, an unsigned
#              one and one signed with a wrong secret are refused, the
#              journal survives a restart of named.
export E2E_NAME=ddns   # read by lib.sh
DDNS_TAG=$$
export SRV_NS="dorado-dd$DDNS_TAG-s" CLI_NS="dorado-dd$DDNS_TAG-c" DNS_NS="dorado-dd$DDNS_TAG-d"
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
# shellcheck disable=SC2034  # used by the dorado phases
CTL_BIN=${DORADOCTL_BIN:-$(dirname "$DORADO_BIN")/../../tools/ctl/doradoctl}
PHASES=${PHASES:-"bind"}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
# shellcheck source=ddns_lib.sh
source "$(dirname "$0")/ddns_lib.sh"
require_bind

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

for phase in $PHASES; do "phase_$phase"; done
finish
