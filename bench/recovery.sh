#!/usr/bin/env bash
# Start-up time and memory of dorado with N leases in its store:
#   bench/recovery.sh [N ...]          (default: 1000000 10000000)
# For each N: writes a Kea lease file with N bound leases (10.0.0.0/8),
# imports it (dorado-leases: one snapshot), starts dorado on a net_null port
# (no network needed) with 1 worker, and reports the store's recovery time,
# the hand-over to the shard, the time until "serving", and dorado's
# resident memory against an empty store (bytes per lease). The store's
# recovery runs while the EAL, the ports and the shards are set up
# (control/daemon/main.cpp starts it before the EAL): "start-up: EAL ready
# in X s, ports and shards in Y s more" is that phase. Then stops it
# (SIGTERM) and starts it once more from the snapshot written at exit.
# Needs the build/ tree (dorado, dorado-leases) and a few GiB per 10 M leases.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dorado=${DORADO_BIN:-$root/build/control/daemon/dorado}
leases=${DORADO_LEASES_BIN:-$root/build/tools/leases/dorado-leases}
work=$(mktemp -d /tmp/dorado-recovery.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work"' EXIT
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000000 10000000)

# shellcheck source=startup_lib.sh
source "$root/bench/startup_lib.sh"

run() {   # run STORE_DIR: starts dorado, sets SECS (to "serving") and RSS (KiB); leaves it running
  startup_config "$1" net_null0 dorado-recovery 1000 >"$work/dorado.toml"
  local t0 t1
  : >"$work/out"   # truncated here, not in the child: no stale "serving" from the last run
  t0=$(date +%s.%N)
  "$dorado" -c "$work/dorado.toml" >"$work/out" 2>"$work/err" &
  pid=$!
  until grep -q serving "$work/out" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
    sleep 0.05
  done
  t1=$(date +%s.%N)
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
  RSS=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status")
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }

mkdir -p "$work/empty"
run "$work/empty"
rss0=$RSS
stop
echo "empty store: dorado resident ${rss0} KiB (1 worker, tables for a /8 pool)"

for n in "${counts[@]}"; do
  rm -rf "$work/store"
  python3 "$root/bench/kea_leases.py" "$n" >"$work/kea.csv"
  "$leases" import kea "$work/kea.csv" --store "$work/store" 2>"$work/import.err"
  run "$work/store"
  echo "$n leases, from the imported snapshot: serving after ${SECS} s, resident ${RSS} KiB," \
       "$(( (RSS - rss0) * 1024 / n )) bytes/lease over the empty store"
  grep -o 'store: recovered.*\|store: handed.*\|start-up: .*' "$work/err" | sed 's/^/  /'
  stop
  run "$work/store"
  echo "$n leases, again from the snapshot written at stop: serving after ${SECS} s"
  grep -o 'store: recovered.*\|store: handed.*\|start-up: .*' "$work/err" | sed 's/^/  /'
  stop
done
