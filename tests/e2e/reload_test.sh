#!/usr/bin/env bash
# Config reload under load: dorado with WORKERS workers (default 2) serves
# perfdhcp (a relay, CLIENTS distinct clients over ~7 s); mid-load the
# config gets a new DNS server and a new pool and dorado gets SIGHUP. Every
# exchange perfdhcp started completes (none lost to the switch), a client
# afterwards gets the new DNS server and an address from the new pool. Then a
# file with a syntax error and one that changes [dpdk] workers: each SIGHUP
# is refused with its FILE:LINE: key: message, and dorado keeps serving with
# the config it had.
export E2E_NAME=reload${WORKERS:-2}   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
WORKERS=${WORKERS:-2}
CLIENTS=${CLIENTS:-2000}   # the pools hold 2551 (+256 after the reload)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
command -v perfdhcp >/dev/null || skip "perfdhcp (kea-admin) missing"
command -v udhcpc >/dev/null || skip "udhcpc missing"

make_world
CFG="$WORK/dorado.toml"
write_config "$CFG" "$WORKERS"
cp "$CFG" "$WORK/original.toml"
start_dorado "$CFG"
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"

# hup_and_wait PATTERN: SIGHUP, then wait (5 s at most) for PATTERN in the log.
hup_and_wait() {
  local before
  before=$(grep -c "reload: SIGHUP" "$WORK/dorado.err" || true)
  kill -HUP "$DORADO_PID"
  for _ in $(seq 1 50); do
    if [ "$(grep -c "reload: SIGHUP" "$WORK/dorado.err" || true)" -gt "$before" ] &&
       grep -q -- "$1" "$WORK/dorado.err"; then return 0; fi
    sleep 0.1
  done
  return 1
}

cat >"$WORK/udhcpc.sh" <<SCRIPT
#!/bin/sh
[ "\$1" = bound ] && env | grep -E '^(ip|dns|lease)=' | sort >"$WORK/udhcpc.env"
exit 0
SCRIPT
chmod +x "$WORK/udhcpc.sh"
# udhcpc_get MAC [requested-ip]: one DORA as a new client; the result in udhcpc.env.
udhcpc_get() {
  rm -f "$WORK/udhcpc.env"
  ip -n "$CLI_NS" link set "$CLI_IF" address "$1"
  ip netns exec "$CLI_NS" timeout 10 udhcpc -f -q -n -i "$CLI_IF" -s "$WORK/udhcpc.sh" \
    ${2:+-r "$2"} >>"$WORK/udhcpc.log" 2>&1 || true
}

udhcpc_get 02:33:00:00:00:01 10.99.20.5
check "before the reload: the old DNS servers" grep -qx 'dns=10.99.0.53 10.99.0.54' "$WORK/udhcpc.env"
check "before the reload: 10.99.20.5 is in no pool" bash -c "! grep -qx 'ip=10.99.20.5' '$WORK/udhcpc.env'"

# ---- reload under load ----------------------------------------------------------
ip netns exec "$CLI_NS" timeout 60 perfdhcp -4 -l "$CLI_IF" -r 300 -R "$CLIENTS" -n "$CLIENTS" \
  -p 30 -W 1000000 10.99.0.1 >"$WORK/perfdhcp.out" 2>&1 &
PERF_PID=$!
sleep 3
sed -e 's/^dns = .*/dns = ["10.99.0.77"]/' \
    -e 's|^pools = \[\(.*\)\]$|pools = [\1, "10.99.20.0/24"]|' "$WORK/original.toml" >"$CFG"
check "new config: DNS changed and a pool added" grep -q '10.99.20.0/24' "$CFG"
check "SIGHUP mid-load: the new config is applied" hup_and_wait "reload: $CFG applied"
wait "$PERF_PID" || true
grep "reload: " "$WORK/dorado.err" | sed 's/^/    /'
stats() {   # stats EXCHANGE FIELD
  awk -v ex="$1" -v f="$2" '/^\*\*\*Statistics for: /{on=($0 ~ ex)} on && index($0, f ": ")==1 {sub(/.*: /,""); print; exit}' "$WORK/perfdhcp.out"
}
sent_d=$(stats DISCOVER-OFFER 'sent packets') got_o=$(stats DISCOVER-OFFER 'received packets')
sent_r=$(stats REQUEST-ACK 'sent packets') got_a=$(stats REQUEST-ACK 'received packets')
log "perfdhcp across the reload: DISCOVER $sent_d -> OFFER $got_o, REQUEST $sent_r -> ACK $got_a"
check "at least $CLIENTS DISCOVERs sent ($sent_d)" test "${sent_d:-0}" -ge "$CLIENTS"
check "every DISCOVER got an OFFER across the reload ($got_o of $sent_d)" test "$got_o" = "$sent_d"
check "every REQUEST got an ACK across the reload ($got_a of $sent_r)" test "$got_a" = "$sent_r"
check "no lease rejected" test "$(stats REQUEST-ACK 'rejected leases')" = 0
check "no address given twice" test "$(stats REQUEST-ACK 'non unique addresses')" = 0

udhcpc_get 02:33:00:00:00:02 10.99.20.5
check "after the reload: a client gets the new DNS server" grep -qx 'dns=10.99.0.77' "$WORK/udhcpc.env"
check "after the reload: the new pool serves (10.99.20.5)" grep -qx 'ip=10.99.20.5' "$WORK/udhcpc.env"

# The metrics report the new config's pools (counted by the workers).
metrics() {
  ip netns exec "$SRV_NS" python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:9167/metrics", timeout=5).read().decode())'
}
metrics >"$WORK/metrics.txt" 2>&1 || true
check "metrics: the new pool 10.99.20.0/24 with its 256 addresses" \
  grep -Eq '^dorado_pool_addresses\{[^}]*10\.99\.20\.0[^}]*\} 256$' "$WORK/metrics.txt"
check "metrics: the new pool's used addresses counted (the udhcpc lease)" \
  grep -Eq '^dorado_pool_used_addresses\{[^}]*10\.99\.20\.0[^}]*\} [1-9]' "$WORK/metrics.txt"

# ---- the control API: config-reload, config-write ---------------------------------
if [ -n "${DORADOCTL_BIN:-}" ]; then
  ctl() { ip netns exec "$SRV_NS" "$DORADOCTL_BIN" -s "$WORK/dorado.sock" "$@"; }
  cp "$CFG" "$WORK/before_api.toml"
  sed -i 's/^dns = .*/dns = ["10.99.0.78"]/' "$CFG"
  check "doradoctl config-reload applies a new DNS server (exit 0)" ctl config-reload
  udhcpc_get 02:33:00:00:00:04
  check "after config-reload: a client gets 10.99.0.78" grep -qx 'dns=10.99.0.78' "$WORK/udhcpc.env"
  check "doradoctl config-write: the text in force" ctl config-write "filename=$WORK/written.toml"
  check "... written byte for byte" cmp "$CFG" "$WORK/written.toml"
  printf '\n[[subnet]\n' >>"$CFG"
  set +e
  ctl config-reload >"$WORK/ctl.out" 2>&1
  rc=$?
  set -e
  check "doradoctl config-reload with a syntax error: exit 1 ($rc)" test "$rc" -eq 1
  check "... naming FILE:LINE" grep -q "$CFG:[0-9]*: syntax error" "$WORK/ctl.out"
  cp "$WORK/written.toml" "$CFG"
  RELOADS_EXPECTED=2
else
  log "DORADOCTL_BIN not set: control-API reload checks skipped"
  RELOADS_EXPECTED=1
fi

# ---- a bad file changes nothing ---------------------------------------------------
cp "$CFG" "$WORK/good.toml"
printf '\n[[subnet]\nprefix = "10.98.0.0/16"\n' >>"$CFG"
bad_line=$(grep -n '^\[\[subnet\]$' "$CFG" | tail -1 | cut -d: -f1)
check "SIGHUP with a syntax error: refused" hup_and_wait "reload refused"
check "... and the error names FILE:LINE ($CFG:$bad_line)" grep -q "$CFG:$bad_line: syntax error" "$WORK/dorado.err"
sed -e 's/^workers = .*/workers = 9/' "$WORK/good.toml" >"$CFG"
check "SIGHUP changing dpdk.workers: refused, needs a restart" \
  hup_and_wait "dpdk.workers: changed from $WORKERS to 9: needs a restart"
check "dorado still runs" kill -0 "$DORADO_PID"
udhcpc_get 02:33:00:00:00:03
check "still serving with the last good config (new DNS)" grep -Eqx 'dns=10.99.0.7[78]' "$WORK/udhcpc.env"
ip netns exec "$CLI_NS" timeout 30 perfdhcp -4 -l "$CLI_IF" -r 200 -R 200 -n 200 \
  -p 10 -W 1000000 -b mac=02:22:00:00:00:00 10.99.0.1 >"$WORK/perfdhcp.out" 2>&1 || true
check "still serving: 200 more clients complete DORA" \
  test "$(stats REQUEST-ACK 'received packets')" = "$(stats DISCOVER-OFFER 'sent packets')"

stop_dorado
check "every worker switched at each applied reload (reloads = $WORKERS x $RELOADS_EXPECTED)" \
  test "$(counter reloads)" -eq "$((WORKERS * RELOADS_EXPECTED))"
check "server counted no drop" bash -c "! grep -Eq '^  (drop|engine\.drop|wire)\.' '$WORK/dorado.out'"
finish
