#!/usr/bin/env bash
# Start-up A/B of dorado binaries on one store (issue 19): ROUNDS rounds,
# each starting every binary once in turn (interleaved) on STORE_DIR with
# 1 worker on a net_null port, as bench/recovery.sh does, until "serving",
# then SIGTERM (which writes the snapshot the next start reads: the same
# leases). Prints per start the store's recovery, the hand-over and the
# whole start (wall s, CPU s) as dorado logs them, then per binary the
# medians with their range.
#   bench/handover_ab.sh STORE_DIR BIN...      (ROUNDS=5; bench/README.md)
set -euo pipefail
store=$1; shift
bins=("$@")
ROUNDS=${ROUNDS:-5}
work=$(mktemp -d /tmp/dorado-ab.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; cp "$work/err" /tmp/dorado-ab-last.err 2>/dev/null; rm -rf "$work"' EXIT
# shellcheck source=startup_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/startup_lib.sh"
startup_config "$store" net_null0 "dorado-ab-$$" 1000 >"$work/d.toml"
median_range() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "%.3f (%.3f-%.3f)", v[int((NR+1)/2)], v[1], v[NR]}'
}
declare -A H_W H_C S_W S_C R_W R_C
for ((r = 1; r <= ROUNDS; ++r)); do
  for b in "${bins[@]}"; do
    : >"$work/out"
    "$b" -c "$work/d.toml" >"$work/out" 2>"$work/err" &
    pid=$!
    until grep -q serving "$work/out" 2>/dev/null; do
      kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
      sleep 0.05
    done
    kill -TERM "$pid"; wait "$pid" || true; pid=""
    rec=$(grep -o 'store: recovered [0-9]* leases in [0-9.]* s ([0-9.]* s CPU' "$work/err" | tr -d '(')
    hand=$(grep -o 'store: handed.*' "$work/err" | grep -o '([0-9.]* s, [0-9.]* s CPU)' | tr -d '(),')
    ser=$(grep -o 'serving [0-9.]* s after main() began, [0-9.]* s of CPU' "$work/err")
    rw=$(awk '{print $6}' <<<"$rec"); rc=$(awk '{print $8}' <<<"$rec")
    read -r hw _ hc _ _ <<<"$hand"
    sw=$(awk '{print $2}' <<<"$ser"); sc=$(awk '{print $7}' <<<"$ser")
    echo "round $r $(basename "$b"): recovery ${rw} s (${rc} CPU), hand-over ${hw} s (${hc} CPU), serving ${sw} s (${sc} CPU)"
    H_W[$b]+=" $hw"; H_C[$b]+=" $hc"; S_W[$b]+=" $sw"; S_C[$b]+=" $sc"; R_W[$b]+=" $rw"; R_C[$b]+=" $rc"
  done
done
for b in "${bins[@]}"; do
  # shellcheck disable=SC2086
  echo "$(basename "$b"): recovery $(median_range ${R_W[$b]}) s, CPU $(median_range ${R_C[$b]});" \
       "hand-over $(median_range ${H_W[$b]}) s, CPU $(median_range ${H_C[$b]});" \
       "serving $(median_range ${S_W[$b]}) s, CPU $(median_range ${S_C[$b]})"
done
