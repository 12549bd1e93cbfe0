#!/usr/bin/env bash
# dorado-gen against dorado (1 worker) over the veth pair: dorado-gen runs
# on net_af_packet in the client namespace. Runs with distinct client MACs:
# dora (broadcast clients), renew (lease, then a unicast REQUEST with ciaddr
# each), relay mode (dorado-gen is the relay: giaddr, option 82, replies to
# port 67, ARP for the giaddr; dora and renew), storm (every client at once)
# and mixed (new DORAs and renewals). Each must complete its clients with no
# NAK and no timeout, and dorado's counters must agree. About 35 s.
export E2E_NAME=${E2E_NAME:-gen}   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
GEN_BIN=${DORADO_GEN_BIN:-$(dirname "$DORADO_BIN")/../../tools/gen/dorado-gen}
CLIENTS=${CLIENTS:-2000}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
[ -x "$GEN_BIN" ] || { log "dorado-gen binary not found: $GEN_BIN"; exit 1; }
command -v python3 >/dev/null || skip "python3 missing (JSON checks)"

make_world
write_config "$WORK/dorado.toml" 1
# Room for every run's clients: 10.97.0.0 - 10.97.255.255 (65536 addresses).
sed -i 's|^prefix = .*|prefix = "10.96.0.0/12"|; s|^pools = .*|pools = ["10.97.0.0-10.97.255.255"]|' "$WORK/dorado.toml"
start_dorado "$WORK/dorado.toml"

# json FILE EXPR: a field of the JSON object on the last line of FILE
# (EXPR is Python on `j`, e.g. j['latency_us']['p99']).
json() { tail -n 1 "$1" | python3 -c "import json,sys; j=json.load(sys.stdin); print($2)"; }
# json_true FILE EXPR: succeeds when the Python condition holds.
json_true() { tail -n 1 "$1" | python3 -c "import json,sys; j=json.load(sys.stdin); sys.exit(0 if ($2) else 1)"; }

# run_gen NAME ARGS...: dorado-gen in the client namespace, bounded in time.
run_gen() {
  local name=$1; shift
  local rc=0
  ip netns exec "$CLI_NS" timeout 60 "$GEN_BIN" --no-pci --no-huge -m 256 \
    "--vdev=net_af_packet0,iface=$CLI_IF" --lcores=0@$(( $(nproc) > 1 ? 1 : 0 )) \
    "--file-prefix=dorado-gen-$E2E_NAME" "--log-level=*:error" -- "$@" --json \
    >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
  log "$name: exit $rc, $(tail -n 1 "$WORK/$name.out" | cut -c1-300)..."
  check "$name: dorado-gen exits 0 (every operation completed)" test "$rc" -eq 0
  # One python3 per run: the fields the checks need.
  local completed naks timeouts drops ordered
  read -r completed naks timeouts drops ordered < <(json "$WORK/$name.out" \
    "j['completed'], j['naks'], j['timeouts'], j['drops'], int(j['latency_us']['p50'] <= j['latency_us']['p99'] <= j['latency_us']['max'])" \
    | tr -d '(),' || echo "? ? ? ? ?")
  check "$name: last stdout line is the JSON summary" test -n "$completed" -a "$completed" != "?"
  check "$name: completed == $CLIENTS" test "$completed" = "$CLIENTS"
  check "$name: no NAK" test "$naks" = 0
  check "$name: no timeout" test "$timeouts" = 0
  check "$name: no unparsable reply" test "$drops" = 0
  check "$name: latency p50 <= p99 <= max" test "$ordered" = 1
  check "$name: progress lines on stderr" grep -q "^dorado-gen: end t=.* completed=$CLIENTS " "$WORK/$name.err"
}

run_gen dora --mode dora --clients "$CLIENTS" --rate max --duration 20 --first-mac 02:00:00:01:00:00
check "dora: DORA/s reported" json_true "$WORK/dora.out" "j['dora_per_sec'] > 0"
check "dora: every DISCOVER answered by one OFFER" json_true "$WORK/dora.out" "j['rx']['offer'] == j['tx']['discover']"

run_gen renew --mode renew --clients "$CLIENTS" --rate max --duration 20 --first-mac 02:00:00:02:00:00
check "renew: warm-up bound every client" test "$(json "$WORK/renew.out" "j['warmup']['completed']")" -eq "$CLIENTS"
check "renew: every operation was a renewal" test "$(json "$WORK/renew.out" "j['completed_renew']")" -eq "$CLIENTS"
check "renew: unicast REQUESTs sent" test "$(json "$WORK/renew.out" "j['tx']['renew']")" -ge "$CLIENTS"

run_gen relay --mode dora --clients "$CLIENTS" --rate 5000 --duration 20 --first-mac 02:00:00:03:00:00 \
  --giaddr 10.99.0.2 --server-ip 10.99.0.1 --client-id
check "relay: dorado's MAC resolved by ARP" test "$(json "$WORK/relay.out" "j['tx']['arp_request']")" -ge 1
# Relay mode renewals: unicast from each client's address, answered on port 68.
run_gen relay-renew --mode renew --clients "$CLIENTS" --rate max --duration 20 --first-mac 02:00:00:06:00:00 \
  --giaddr 10.99.0.2 --server-ip 10.99.0.1

# Every client at once: the burst overflows the veth's socket buffers, and
# the clients' retransmissions must still get every one of them a lease.
run_gen storm --mode storm --clients "$CLIENTS" --duration 20 --first-mac 02:00:00:04:00:00

# Mixed for 3 s at 1000 operations/s, half of them renewals: runs for its
# duration, so completed is not $CLIENTS; no NAK, no timeout.
ip netns exec "$CLI_NS" timeout 30 "$GEN_BIN" --no-pci --no-huge -m 256 \
  "--vdev=net_af_packet0,iface=$CLI_IF" --lcores=0@$(( $(nproc) > 1 ? 1 : 0 )) \
  "--file-prefix=dorado-gen-$E2E_NAME" "--log-level=*:error" -- --mode mixed --renew-ratio 0.5 \
  --clients 10000 --rate 1000 --duration 3 --first-mac 02:00:00:05:00:00 --json \
  >"$WORK/mixed.out" 2>"$WORK/mixed.err" || true
log "mixed: $(tail -n 1 "$WORK/mixed.out" | cut -c1-300)..."
check "mixed: new DORAs and renewals completed" \
  json_true "$WORK/mixed.out" "j['completed_dora'] > 1000 and j['completed_renew'] > 1000"
check "mixed: no NAK, no timeout" json_true "$WORK/mixed.out" "j['naks'] == 0 and j['timeouts'] == 0"

new_leases=$(( 5 * CLIENTS + $(json "$WORK/mixed.out" "j['completed_dora']") ))
renewals=$(( 2 * CLIENTS + $(json "$WORK/mixed.out" "j['completed_renew']") ))
# Mixed stops at its duration: its operations still in flight may have been
# committed by dorado without dorado-gen seeing the ACK.
late=$(json "$WORK/mixed.out" "j['in_flight']")
stop_dorado
commits=$(counter engine.lease_commit) renews=$(counter engine.lease_renew)
check "dorado committed every new lease ($commits; dorado-gen: $new_leases + up to $late in flight)" \
  test "$commits" -ge "$new_leases" -a "$commits" -le $((new_leases + late))
# (A storm client whose ACK was lost repeats its REQUEST: dorado counts
# that as a renewal too, so only the lower bound is exact.)
check "dorado renewed every renewed lease ($renews >= $renewals)" test "$renews" -ge "$renewals"
check "dorado received the relayed and direct DISCOVERs" test "$(counter engine.rx_discover)" -ge $((3 * CLIENTS))
check "dorado counted no drop" bash -c "! grep -Eq '^  (drop|engine\.drop|wire)\.' '$WORK/dorado.out'"
finish
