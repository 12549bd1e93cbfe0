#!/usr/bin/env bash
# ctest hugepages_helper: dorado-setup-hugepages against a fake /sys and
# /proc/mounts (DORADO_SYSFS, DORADO_PROC_MOUNTS): nothing to do by default,
# reserves the pages asked for (globally or on a NUMA node), never lowers a
# reservation, finds the hugetlbfs mount of its page size or says which
# mount it would make, and refuses bad usage. No root.
set -euo pipefail
helper=$(cd "$(dirname "$0")" && pwd)/dorado-setup-hugepages
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
# expect WHAT RC REGEX COMMAND...: exit status RC and output matching REGEX.
expect() {
  local what=$1 want=$2 re=$3 rc=0 out
  shift 3
  out=$("$@" 2>&1) || rc=$?
  if [[ $rc -eq $want ]] && grep -qE -- "$re" <<<"$out"; then ok "$what"
  else fail "$what: exit $rc (want $want), output: $out"; fi
}

sys=$tmp/sys
for d in kernel/mm/hugepages devices/system/node/node0/hugepages devices/system/node/node1/hugepages; do
  for size in 2048 1048576; do
    mkdir -p "$sys/$d/hugepages-${size}kB"
    echo 0 >"$sys/$d/hugepages-${size}kB/nr_hugepages"
  done
done
printf '%s\n' 'sysfs /sys sysfs rw,nosuid 0 0' 'hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0' >"$tmp/mounts"
export DORADO_SYSFS=$sys DORADO_PROC_MOUNTS=$tmp/mounts
global=$sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages

expect "no pages asked for: nothing to do" 0 'nothing to do' env -u DORADO_HUGEPAGES "$helper"
[[ $(cat "$global") == 0 ]] && ok "... and nothing written" || fail "nr_hugepages changed to $(cat "$global")"
expect "DORADO_HUGEPAGES=8: 8 pages reserved" 0 'reserved 8 2M pages' env DORADO_HUGEPAGES=8 "$helper"
[[ $(cat "$global") == 8 ]] && ok "... nr_hugepages is 8" || fail "nr_hugepages is $(cat "$global"), want 8"
expect "... and the 2M hugetlbfs found mounted" 0 'hugetlbfs \(2M\) mounted on /dev/hugepages' \
  env DORADO_HUGEPAGES=8 "$helper"
expect "--pages 4 after 8: never lowered" 0 '8 2M pages reserved \(>= 4\)' "$helper" --pages 4
[[ $(cat "$global") == 8 ]] && ok "... nr_hugepages still 8" || fail "nr_hugepages is $(cat "$global"), want 8"
expect "--node 1: on that node" 0 'reserved 16 2M pages on NUMA node 1' "$helper" --pages 16 --node 1
[[ $(cat "$sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages") == 16 ]] &&
  ok "... node1's nr_hugepages is 16" || fail "node1's nr_hugepages is not 16"
expect "1G, dry run: says what it would reserve and mount" 0 \
  'would mount: mount -t hugetlbfs -o pagesize=1G nodev /dev/hugepages' \
  env DORADO_HUGEPAGE_SIZE=1G "$helper" --pages 2 --dry-run
[[ $(cat "$sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages") == 0 ]] &&
  ok "... and wrote nothing" || fail "the dry run wrote nr_hugepages"
expect "a node the machine lacks: exit 1" 1 'no such file' "$helper" --pages 2 --node 7
expect "a page size the kernel lacks: exit 1" 1 'no such file' env DORADO_SYSFS="$tmp/nothing" "$helper" --pages 2
expect "--size 3M: exit 2" 2 'size must be 2M or 1G' "$helper" --pages 2 --size 3M
expect "--pages x: exit 2" 2 'pages must be a number' "$helper" --pages x
expect "unknown argument: exit 2" 2 'unknown argument' "$helper" --frobnicate
expect "--help" 0 'Usage: dorado-setup-hugepages' "$helper" --help
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
