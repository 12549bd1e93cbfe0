#!/usr/bin/env bash
# Crash soak: the e2e crash test (tests/e2e/crash_test.sh) with many more
# kill -9 rounds than CI runs (default 200; about 7 s per round here).
#   tools/soak-crash.sh [ROUNDS] [WORKERS]
# Builds build/ first. Needs root (network namespaces), perfdhcp, tcpdump.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup-deps.sh" >/dev/null
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j "${DORADO_JOBS:-2}" --target dorado dorado-leases dorado-decode >/dev/null
export DORADO_BIN="$root/build/control/daemon/dorado"
export DORADO_LEASES_BIN="$root/build/tools/leases/dorado-leases"
export DORADO_DECODE_BIN="$root/build/tools/decode/dorado-decode"
export ROUNDS=${1:-200} WORKERS=${2:-2}
exec "$root/tests/e2e/crash_test.sh"
