#!/usr/bin/env bash
# dorado-gen against dorado (1 worker) over the veth pair: dorado-gen runs
# on net_af_packet in the client namespace. Runs with distinct client MACs:
# dora (broadcast clients), renew (lease, then a unicast REQUEST with ciaddr
# each), relay mode (dorado-gen is the relay: giaddr, option 82, replies to
# port 67, ARP for the giaddr; dora and renew), storm (every client at once)
# and mixed (new DORAs and renewals). Each must complete its clients with no
# NAK and no timeout, and dorado's counters must agree. First, the
# link-local fallback (RFC 3927) with scaled timers: dorado-gen runs with
# no server, its clients claim 169.254/16 addresses (checked on a capture:
# schedule, range, distinct), then dorado starts and every client takes a
# lease on its next DHCP try and gives its address up. About 50 s.
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

# json FILE EXPR: a field of the JSON object on the last line of FILE
# (EXPR is Python on `j`, e.g. j['latency_us']['p99']).
json() { tail -n 1 "$1" | python3 -c "import json,sys; j=json.load(sys.stdin); print($2)"; }
# json_true FILE EXPR: succeeds when the Python condition holds.
json_true() { tail -n 1 "$1" | python3 -c "import json,sys; j=json.load(sys.stdin); sys.exit(0 if ($2) else 1)"; }

# ---- link-local fallback, then a server ---------------------------------------
# No server yet: 4 DISCOVERs 0.5 s apart, the RFC 3927 timers at 0.2x
# (probes 0.2-0.4 s apart, announcements 0.4 s apart), a DHCP try every
# 4 s from LINK-LOCAL. dorado starts once every client holds its address.
LL_CLIENTS=1000
LL_PID="" CAP_PID=""
if command -v tcpdump >/dev/null; then
  ip netns exec "$SRV_NS" tcpdump -i "$SRV_IF" -n -s 128 -B 8192 -U -w "$WORK/ll.pcap" \
    "arp or (udp and dst port 67)" 2>"$WORK/tcpdump.err" &
  CAP_PID=$!
  for _ in $(seq 1 50); do grep -q "listening on" "$WORK/tcpdump.err" && break; sleep 0.1; done
fi
ip netns exec "$CLI_NS" timeout 40 "$GEN_BIN" --no-pci --no-huge -m 256 \
  "--vdev=net_af_packet0,iface=$CLI_IF" --lcores=0@$(( $(nproc) > 1 ? 1 : 0 )) \
  "--file-prefix=dorado-gen-$E2E_RUN" "--log-level=*:error" -- --mode dora --clients $LL_CLIENTS \
  --window $LL_CLIENTS --duration 30 --first-mac 02:00:00:07:00:00 --retransmit 0.5,0.5,0.5,0.5 --jitter 0 \
  --link-local-scale 0.2 --link-local-retry 4 --json >"$WORK/ll.out" 2>"$WORK/ll.err" &
LL_PID=$!
held=""
for _ in $(seq 1 150); do
  if grep -q "ll_probing=0 ll_held=$LL_CLIENTS\b" "$WORK/ll.err"; then held=1; break; fi
  kill -0 "$LL_PID" 2>/dev/null || break
  sleep 0.1
done
check "link-local: every client holds an address, none probing (progress line)" test -n "$held"
start_dorado "$WORK/dorado.toml"
ll_rc=0
wait "$LL_PID" || ll_rc=$?
if [ -n "$CAP_PID" ]; then kill -INT "$CAP_PID" 2>/dev/null || true; wait "$CAP_PID" 2>/dev/null || true; fi
log "link-local: exit $ll_rc, $(tail -n 1 "$WORK/ll.out" | cut -c1-300)..."
check "link-local: dorado-gen ended before its duration (every client bound)" \
  grep -Eq "^dorado-gen: end t=([0-9]|1[0-9]|2[0-4])s " "$WORK/ll.err"
check "link-local: every client fell back, claimed an address, then took a lease and gave it up" \
  json_true "$WORK/ll.out" "j['link_local_fallbacks'] == $LL_CLIENTS and j['link_local']['claimed'] >= $LL_CLIENTS \
    and j['states']['BOUND'] == $LL_CLIENTS and j['completed_dora'] == $LL_CLIENTS \
    and j['link_local']['held'] == 0 and j['link_local']['released'] == $LL_CLIENTS \
    and j['link_local']['dhcp_retries'] >= $LL_CLIENTS and j['states']['LINK-LOCAL'] == 0"
check "link-local: probes and announcements counted" \
  json_true "$WORK/ll.out" "j['tx']['arp_probe'] >= 3 * $LL_CLIENTS and j['tx']['arp_announce'] >= 2 * $LL_CLIENTS"
if [ -n "$CAP_PID" ]; then
  # The capture: per client MAC, 4 DISCOVERs 0.5 s apart, then probes
  # (sender 0.0.0.0) 0.2-0.4 s apart, announcements (sender = target)
  # 0.4 s after; the last announced addresses in 169.254.1.0-169.254.254.255
  # and distinct; the next DISCOVER 4 s after the fallback. Lower bounds
  # 50 ms early (capture timestamps), upper bounds 300 ms late (a shared CPU).
  cat >"$WORK/ll_check.py" <<'PY'
import struct, sys
from collections import defaultdict
data = open(sys.argv[1], 'rb').read()
n = int(sys.argv[2])
endian = '<' if data[:4] == b'\xd4\xc3\xb2\xa1' else '>'
nano = data[:4] in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
off, ev = 24, defaultdict(list)
while off + 16 <= len(data):
    sec, frac, incl, _ = struct.unpack(endian + 'IIII', data[off:off + 16])
    f = data[off + 16:off + 16 + incl]
    off += 16 + incl
    t = sec + frac / (1e9 if nano else 1e6)
    mac = f[6:12]
    if mac[:4] != bytes([2, 0, 0, 7]):
        continue
    et = struct.unpack('>H', f[12:14])[0]
    if et == 0x0806:
        op, spa, tpa = struct.unpack('>H', f[20:22])[0], f[28:32], f[38:42]
        ev[mac].append((t, 'probe' if spa == bytes(4) else 'announce' if spa == tpa else 'other', tpa))
    elif et == 0x0800:
        ev[mac].append((t, 'dhcp', None))
bad, final, plain = [], {}, 0
def fail(m, why):
    if len(bad) < 10: bad.append(m.hex(':') + ': ' + why)
for mac, es in ev.items():
    dhcp = [t for t, k, _ in es if k == 'dhcp']
    probes = [(t, a) for t, k, a in es if k == 'probe']
    ann = [(t, a) for t, k, a in es if k == 'announce']
    if any(k == 'other' for _, k, _ in es): fail(mac, 'ARP neither probe nor announcement')
    if len(dhcp) < 5 or not probes or len(ann) < 2: fail(mac, 'dhcp %d probes %d announcements %d' % (len(dhcp), len(probes), len(ann))); continue
    for a, b in zip(dhcp[:3], dhcp[1:4]):
        if not 0.45 <= b - a <= 0.8: fail(mac, 'DISCOVER gap %.3f' % (b - a))
    fallback = dhcp[3] + 0.5
    if not fallback - 0.05 <= probes[0][0] <= fallback + 0.2 + 0.3: fail(mac, 'first probe %.3f after the fallback' % (probes[0][0] - fallback))
    if not 4 - 0.05 <= dhcp[4] - fallback <= 4 + 0.3: fail(mac, 'DHCP try %.3f s after the fallback' % (dhcp[4] - fallback))
    if len(probes) == 3 and len(ann) == 2:   # no conflict: the whole schedule
        plain += 1
        for (a, _), (b, _) in zip(probes, probes[1:]):
            if not 0.2 - 0.05 <= b - a <= 0.4 + 0.3: fail(mac, 'probe gap %.3f' % (b - a))
        if not 0.4 - 0.05 <= ann[0][0] - probes[2][0] <= 0.4 + 0.3: fail(mac, 'ANNOUNCE_WAIT %.3f' % (ann[0][0] - probes[2][0]))
        if not 0.4 - 0.05 <= ann[1][0] - ann[0][0] <= 0.4 + 0.3: fail(mac, 'ANNOUNCE_INTERVAL %.3f' % (ann[1][0] - ann[0][0]))
        if len({a for _, a in probes + ann}) != 1: fail(mac, 'probed one address, announced another')
    a = ann[-1][1]
    if not (a[0], a[1]) == (169, 254) or not 1 <= a[2] <= 254: fail(mac, 'address %s out of range' % '.'.join(map(str, a)))
    final[mac] = a
dups = len(final) - len(set(final.values()))
print('clients %d, full schedule %d, distinct addresses %d, duplicates %d' % (len(final), plain, len(set(final.values())), dups))
for b in bad: print('  ' + b)
sys.exit(0 if not bad and len(final) == n and dups == 0 and plain >= n * 9 // 10 else 1)
PY
  ll_summary=$(python3 "$WORK/ll_check.py" "$WORK/ll.pcap" "$LL_CLIENTS" 2>&1) && ll_ok=1 || ll_ok=0
  log "link-local capture: $ll_summary"
  check "link-local capture: schedule, addresses in range and distinct per client" test "$ll_ok" = 1
else
  log "tcpdump missing: link-local capture checks skipped"
fi

# run_gen NAME ARGS...: dorado-gen in the client namespace, bounded in time.
run_gen() {
  local name=$1; shift
  local rc=0
  ip netns exec "$CLI_NS" timeout 60 "$GEN_BIN" --no-pci --no-huge -m 256 \
    "--vdev=net_af_packet0,iface=$CLI_IF" --lcores=0@$(( $(nproc) > 1 ? 1 : 0 )) \
    "--file-prefix=dorado-gen-$E2E_RUN" "--log-level=*:error" -- "$@" --json \
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
  "--file-prefix=dorado-gen-$E2E_RUN" "--log-level=*:error" -- --mode mixed --renew-ratio 0.5 \
  --clients 10000 --rate 1000 --duration 3 --first-mac 02:00:00:05:00:00 --json \
  >"$WORK/mixed.out" 2>"$WORK/mixed.err" || true
log "mixed: $(tail -n 1 "$WORK/mixed.out" | cut -c1-300)..."
check "mixed: new DORAs and renewals completed" \
  json_true "$WORK/mixed.out" "j['completed_dora'] > 1000 and j['completed_renew'] > 1000"
check "mixed: no NAK, no timeout" json_true "$WORK/mixed.out" "j['naks'] == 0 and j['timeouts'] == 0"

new_leases=$(( 5 * CLIENTS + LL_CLIENTS + $(json "$WORK/mixed.out" "j['completed_dora']") ))
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
