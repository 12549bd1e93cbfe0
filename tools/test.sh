#!/usr/bin/env bash
# dorado's test command (README, CI). From a clean Debian 12 clone:
#
#   1. tools/setup-deps.sh
#   2. build/       RelWithDebInfo with g++: configure, build, ctest
#   3. build-asan/  -DDORADO_SANITIZE=ON (ASan + UBSan): configure, build, ctest
#   4. build-fuzz/  clang++ -DDORADO_FUZZ=ON: configure, build, then every
#                   executable named *_fuzz under build-fuzz/ runs for
#                   DORADO_FUZZ_SECONDS (default 60) seconds, DORADO_JOBS
#                   targets at a time, seeded with the
#                   frames of every capture in tests/corpus (dorado-decode
#                   --extract) plus tests/fuzz/seeds/<target>/ (or the name
#                   without "_fuzz": seeds/wire/ for wire_fuzz) when present.
#   5. The build types docs/building.md offers a user that parts 2-4 do not
#      build, each configured and built (no tests run):
#        build-release/  Release with g++, every target (tests, benchmarks)
#        build-debug/    Debug with g++, without tests and benchmarks
#        build-clang/    Release with clang++, without tests and benchmarks
#      7.5 minutes on an otherwise idle 2-core machine (4.2, 1.5 and 1.7),
#      9 with other work beside it. MinSizeRel, which the docs do not
#      offer, is left out for time.
#
# Every build here has -DDORADO_WERROR=ON (-Werror on top of -Wall -Wextra):
# a warning fails its build step. Users' builds keep the warnings but not the
# error (DORADO_WERROR is off by default).
#
# Each numbered part stops at its first failing step; the parts are
# independent, so one failure does not hide another. The last line is
# "N passed, N failed" (steps); the exit status is non-zero when any failed.
#
# Usage: tools/test.sh [--quick]
#   --quick   parts 1 and 2 only (developers)
# Environment: DORADO_FUZZ_SECONDS (60), DORADO_JOBS (2).
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

quick=0
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "test.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=${DORADO_JOBS:-2}
fuzz_seconds=${DORADO_FUZZ_SECONDS:-60}

passed=0
failed=0
failures=()

# step NAME COMMAND...: runs one counted step.
step() {
  local name=$1 start=$SECONDS
  shift
  echo "==> $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "==> $name: ok ($((SECONDS - start))s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "==> $name: FAILED ($((SECONDS - start))s)"
    return 1
  fi
}

finish() {
  echo
  if [[ $failed -gt 0 ]]; then
    printf 'failed: %s\n' "${failures[@]}"
  fi
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}

# build_and_test DIR [CMAKE ARGS...]: configure, build and ctest one tree.
build_and_test() {
  local dir=$1
  shift
  step "$dir: configure" cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDORADO_WERROR=ON "$@" &&
    step "$dir: build" cmake --build "$dir" -j "$jobs" &&
    step "$dir: ctest" ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

# build_only DIR BUILD_TYPE [CMAKE ARGS...]: configure and build one tree; no tests run.
build_only() {
  local dir=$1 type=$2
  shift 2
  step "$dir: configure ($type)" cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DDORADO_WERROR=ON "$@" &&
    step "$dir: build ($type)" cmake --build "$dir" -j "$jobs"
}

# extract_seeds DIR: every frame of every corpus capture as DIR/<capture>-<N>.bin.
extract_seeds() {
  local dir=$1 decode capture
  decode=build-fuzz/tools/decode/dorado-decode
  [[ -x $decode ]] || decode=build/tools/decode/dorado-decode
  rm -rf "$dir"
  mkdir -p "$dir"
  for capture in tests/corpus/*.pcap tests/corpus/*.pcapng; do
    [[ -e $capture ]] || continue
    "$decode" --extract "$dir" "$capture" >/dev/null || return 1
  done
  echo "$(find "$dir" -type f | wc -l) seed frames in $dir"
}

# fuzz_one TARGET SEEDS: runs one libFuzzer target for $fuzz_seconds.
fuzz_one() {
  local target=$1 seeds=$2 name work log
  name=$(basename "$target")
  work=build-fuzz/fuzz-corpus/$name  # grows across runs; the first dir is where libFuzzer writes
  log=build-fuzz/fuzz-logs/$name.log
  mkdir -p "$work" "build-fuzz/fuzz-artifacts/$name" build-fuzz/fuzz-logs
  local dirs=("$work" "$seeds")
  # Hand-made seeds: tests/fuzz/seeds/<target>/ or tests/fuzz/seeds/<target without _fuzz>/.
  local extra
  for extra in "tests/fuzz/seeds/$name" "tests/fuzz/seeds/${name%_fuzz}"; do
    [[ -d $extra ]] && dirs+=("$extra")
  done
  if "$target" -max_total_time="$fuzz_seconds" -timeout=10 -print_final_stats=1 \
       -artifact_prefix="build-fuzz/fuzz-artifacts/$name/" "${dirs[@]}" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$log" | tr '\n' ' '
    echo
  else
    tail -n 60 "$log"
    echo "(full log: $log; reproducer: build-fuzz/fuzz-artifacts/$name/)"
    return 1
  fi
}

fuzz_all() {
  local seeds=build-fuzz/fuzz-seeds/corpus targets target
  mapfile -t targets < <(find build-fuzz -type f -name '*_fuzz' -perm -u+x | sort)
  if [[ ${#targets[@]} -eq 0 ]]; then
    step "build-fuzz: find *_fuzz targets" false || true
    return 0
  fi
  step "build-fuzz: extract seeds from tests/corpus" extract_seeds "$seeds" || return 0
  # $jobs targets at a time (each libFuzzer run is one process on one core):
  # every target still fuzzes for $fuzz_seconds, in 1/$jobs of the wall time.
  local i k name pids outs
  for ((i = 0; i < ${#targets[@]}; i += jobs)); do
    pids=()
    outs=()
    for target in "${targets[@]:i:jobs}"; do
      name=$(basename "$target")
      mkdir -p build-fuzz/fuzz-logs
      fuzz_one "$target" "$seeds" >"build-fuzz/fuzz-logs/$name.summary" 2>&1 &
      pids+=($!)
      outs+=("build-fuzz/fuzz-logs/$name.summary")
    done
    for k in "${!pids[@]}"; do
      name=$(basename "${outs[k]}" .summary)
      step "fuzz: $name (${fuzz_seconds}s)" fuzz_wait "${pids[k]}" "${outs[k]}" || true
    done
  done
}

# fuzz_wait PID SUMMARY: waits for one background fuzz_one, prints what it said.
fuzz_wait() {
  local rc=0
  wait "$1" || rc=$?
  cat "$2"
  return "$rc"
}

step "setup-deps" tools/setup-deps.sh || { finish; exit 1; }

build_and_test build || true

if [[ $quick -eq 0 ]]; then
  build_and_test build-asan -DDORADO_SANITIZE=ON || true
  if step "build-fuzz: configure" cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
       -DDORADO_WERROR=ON -DCMAKE_CXX_COMPILER=clang++ -DDORADO_FUZZ=ON &&
     step "build-fuzz: build" cmake --build build-fuzz -j "$jobs"; then
    fuzz_all
  fi
  # Release builds the tests and benchmarks too: most of g++'s -O3-only
  # warnings (inlined std::string and std::vector code) were in them.
  build_only build-release Release || true
  build_only build-debug Debug -DDORADO_TESTS=OFF -DDORADO_BENCH=OFF || true
  build_only build-clang Release -DCMAKE_CXX_COMPILER=clang++ -DDORADO_TESTS=OFF -DDORADO_BENCH=OFF || true
fi

finish
