#!/usr/bin/env bash
# dorado's main job, as far as it goes today.
#
# This script does not start the DPDK server yet: its first version is tested
# by tests/e2e, and turning this script into the sandbox is the next step.
# Until then it shows the codec end to end on real captures: it installs
# the build dependencies (tools/setup-deps.sh), builds dorado-decode in
# build/, and runs it on every capture in tests/corpus (or on the captures
# given), printing each DHCP packet as one JSON line as decoded by dorado's
# wire codec, then a summary. Later this script becomes the network-namespace
# sandbox: dorado on a veth pair with real DHCP clients on the other end.
#
# Usage: tools/sandbox.sh [--help] [CAPTURE...]
# Exit status: 0 when every capture was read, 1 otherwise.
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

captures=()
for arg in "$@"; do
  case $arg in
    -h | --help) usage; exit 0 ;;
    -*) echo "sandbox.sh: unknown option: $arg" >&2; usage >&2; exit 2 ;;
    *) captures+=("$arg") ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if [[ ${#captures[@]} -eq 0 ]]; then
  for f in tests/corpus/*.pcap tests/corpus/*.pcapng; do
    [[ -e $f ]] && captures+=("$f")
  done
fi

tools/setup-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "${DORADO_JOBS:-2}" --target dorado-decode
decode=build/tools/decode/dorado-decode

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
frames=0 dhcp=0 malformed=0 skipped=0 unreadable=0
for f in "${captures[@]}"; do
  echo
  echo "## $f"
  if ! "$decode" --summary "$f" 2>"$summary"; then
    unreadable=$((unreadable + 1))
  fi
  cat "$summary" >&2
  # "dorado-decode: FILE: N frames, N dhcp, N malformed, N skipped (not DHCP)"
  if read -r n_frames n_dhcp n_malformed n_skipped < <(
       sed -n 's/.*: \([0-9]*\) frames, \([0-9]*\) dhcp, \([0-9]*\) malformed, \([0-9]*\) skipped.*/\1 \2 \3 \4/p' "$summary"); then
    frames=$((frames + n_frames)) dhcp=$((dhcp + n_dhcp))
    malformed=$((malformed + n_malformed)) skipped=$((skipped + n_skipped))
  fi
done

echo
echo "sandbox: ${#captures[@]} captures ($unreadable unreadable), $frames frames: $dhcp DHCP packets decoded, $malformed malformed (error lines), $skipped not DHCP (skipped)"
echo "sandbox: this run exercised the wire codec through dorado-decode; it does not start the DPDK server yet (tests/e2e does)."
[[ $unreadable -eq 0 ]]
