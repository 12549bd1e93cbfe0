#!/usr/bin/env bash
# Time from exec to the first ACK with N leases in the store (issue 19),
# per phase. Needs root and the build/ tree (dorado, dorado-leases).
#
#   bench/first_ack.sh [N ...]        (default: 1000000 10000000)
#
# For each N: a Kea lease file of N bound leases in 10.0.0.0/8
# (bench/kea_leases.py) is imported into a store (dorado-leases: one
# snapshot). Then ROUNDS times: a client in a namespace of its own
# (bench/first_ack_client.py) reboots with the first of those leases,
# sending a broadcast REQUEST every 10 ms; dorado is started on
# net_af_packet (a veth pair to the client's namespace, tests/e2e/lib.sh's
# world), 1 worker; the script reports seconds from exec to "serving"
# (stdout) and to the client's first ACK, and the phases dorado logs:
# the store's recovery (runs beside the EAL), the EAL and the ports and
# shards, the hand-over of the leases to the shard, and dorado's own
# "serving X s after main() began", and the CPU time of the recovery, the
# hand-over and the whole process until serving (on a busy host the wall
# clock is that plus the time spent waiting for a CPU). Then dorado is
# stopped (SIGTERM: it writes a snapshot of the same N leases) and the next
# round starts.
# Prints each round and the medians with their range.
#
# Environment: BUILD (build), ROUNDS (3), INTERVAL (0.01 s between the
# client's REQUESTs).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$root/build}
export DORADO_BIN=$BUILD/control/daemon/dorado
leases_bin=$BUILD/tools/leases/dorado-leases
ROUNDS=${ROUNDS:-3}
INTERVAL=${INTERVAL:-0.01}
E2E_NAME=first-ack
# shellcheck source=../tests/e2e/lib.sh
source "$root/tests/e2e/lib.sh"
# shellcheck source=startup_lib.sh
source "$root/bench/startup_lib.sh"
require_env
[ -x "$leases_bin" ] || { log "dorado-leases not found: $leases_bin"; exit 1; }
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000000 10000000)

make_world 02:00:00:00:00:00
startup_config "$WORK/store" "net_af_packet0,iface=$SRV_IF" "dorado-$E2E_RUN" 50 >"$WORK/dorado.toml"

# median_range V...: "median (min-max)"
median_range() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {
    m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
    printf "%.3f s (%.3f-%.3f)", m, v[1], v[NR]}'
}
# logged REGEX: the first number after REGEX in dorado.err
logged() { grep -o "$1[0-9.]*" "$WORK/dorado.err" | head -1 | grep -o '[0-9.]*$' || echo nan; }

for n in "${counts[@]}"; do
  rm -rf "$WORK/store"
  python3 "$root/bench/kea_leases.py" "$n" >"$WORK/kea.csv"
  "$leases_bin" import kea "$WORK/kea.csv" --store "$WORK/store" 2>"$WORK/import.err"
  rm -f "$WORK/kea.csv"
  serving=() acks=() recov=() eal=() ports=() handed=() self=() recov_cpu=() handed_cpu=() cpu=()
  for r in $(seq 1 "$ROUNDS"); do
    ip netns exec "$CLI_NS" python3 "$root/bench/first_ack_client.py" "$CLI_IF" \
      02:00:00:00:00:00 10.0.0.10 "$INTERVAL" 120 >"$WORK/client.out" &
    client=$!
    until grep -q ready "$WORK/client.out" 2>/dev/null; do sleep 0.02; done
    : >"$WORK/dorado.out"
    t0=$(date +%s.%N)
    ip netns exec "$SRV_NS" "$DORADO_BIN" -c "$WORK/dorado.toml" >"$WORK/dorado.out" 2>"$WORK/dorado.err" &
    DORADO_PID=$!
    until grep -q serving "$WORK/dorado.out" 2>/dev/null; do
      kill -0 "$DORADO_PID" 2>/dev/null || { cat "$WORK/dorado.err" >&2; exit 1; }
      sleep 0.01
    done
    t1=$(date +%s.%N)
    wait "$client" || { log "client: $(cat "$WORK/client.out")"; exit 1; }
    t2=$(awk '/^ack/{print $2}' "$WORK/client.out")
    kill -TERM "$DORADO_PID"; wait "$DORADO_PID" || true; DORADO_PID=""
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    a=$(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.3f", b-a}')
    serving+=("$s") acks+=("$a")
    recov+=("$(logged 'store: recovered [0-9]* leases in ')")
    eal+=("$(logged 'EAL ready in ')")
    ports+=("$(logged 'ports and shards in ')")
    handed+=("$(logged 'handed [^(]*(')")
    self+=("$(logged 'start-up: serving ')")
    recov_cpu+=("$(logged 'store: recovered [0-9]* leases in [0-9.]* s (')")
    handed_cpu+=("$(logged 'handed [^(]*([0-9.]* s, ')")
    cpu+=("$(logged 'after main() began, ')")
    log "$n leases, round $r: first ACK ${a} s after exec, serving (stdout seen) ${s} s;" \
        "store ${recov[-1]} s, EAL ${eal[-1]} s + ports/shards ${ports[-1]} s, hand-over ${handed[-1]} s"
  done
  echo "$n leases, $ROUNDS rounds, load average $(cut -d' ' -f1-3 /proc/loadavg):"
  echo "  first ACK after exec:        $(median_range "${acks[@]}")"
  echo "  serving (stdout) after exec: $(median_range "${serving[@]}")"
  echo "  dorado's own 'serving after main()': $(median_range "${self[@]}")"
  echo "  store recovery (beside EAL): $(median_range "${recov[@]}")"
  echo "  EAL:                          $(median_range "${eal[@]}")"
  echo "  ports and shards:             $(median_range "${ports[@]}")"
  echo "  hand-over to the shard:       $(median_range "${handed[@]}")"
  echo "  CPU: recovery $(median_range "${recov_cpu[@]}"), hand-over $(median_range "${handed_cpu[@]}"),"
  echo "       whole process to serving $(median_range "${cpu[@]}")"
done
