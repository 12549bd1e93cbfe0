#!/bin/sh
# ctest docs_commands: the documentation's command lines, config blocks,
# links and end-to-end test list are true (tests/docs_commands_test.py says
# what exactly; docs/building.md "The documentation test"). Needs no root:
# `dorado --check-config` and every --help start no DPDK.
# Environment: DORADO_BIN, DORADOCTL_BIN, DORADO_GEN_BIN, DORADO_DECODE_BIN,
# DORADO_LEASES_BIN, DORADO_MIGRATE_BIN, DORADO_BENCH_BIN (optional),
# DORADO_SOURCE_DIR.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export DORADO_SOURCE_DIR="${DORADO_SOURCE_DIR:-$(dirname "$here")}"
exec python3 "$here/docs_commands_test.py"
