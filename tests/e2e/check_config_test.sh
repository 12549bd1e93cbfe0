#!/usr/bin/env bash
# `dorado --check-config` on every config in tests/configs: good ones exit 0,
# bad ones exit 2 and print the error their first line announces
# ("# expect: FILE:LINE: key: ...").
set -euo pipefail
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
DIR=$(cd "$(dirname "$0")/../configs" && pwd)
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }

for f in "$DIR"/good/*.toml "$(dirname "$0")/../../tools/dorado.example.toml"; do
  if out=$("$DORADO_BIN" --check-config -c "$f" 2>&1); then ok "good: $(basename "$f")"
  else fail "good: $(basename "$f") was refused: $out"; fi
  # The same file as a plain argument: dorado --check-config FILE.
  if out=$("$DORADO_BIN" --check-config "$f" 2>&1); then ok "good, as FILE: $(basename "$f")"
  else fail "good, as FILE: $(basename "$f") was refused: $out"; fi
done
for f in "$DIR"/bad/*.toml; do
  expect=$(sed -n '1s/^# expect: //p' "$f")
  rc=0
  out=$(cd "$DIR/bad" && "$DORADO_BIN" --check-config -c "$(basename "$f")" 2>&1) || rc=$?
  if [ "$rc" -ne 2 ]; then fail "bad: $(basename "$f") exit $rc (want 2)"; continue; fi
  if [ -z "$expect" ]; then fail "bad: $(basename "$f") has no '# expect:' line"; continue; fi
  if grep -qF -- "$expect" <<<"$out"; then ok "bad: $(basename "$f") -> $expect"
  else fail "bad: $(basename "$f"): want '$expect', got: $out"; fi
done
# A file that does not exist is an error too, not a crash.
rc=0; "$DORADO_BIN" --check-config -c /nonexistent/dorado.toml >/dev/null 2>&1 || rc=$?
if [ "$rc" -eq 2 ]; then ok "missing file: exit 2"; else fail "missing file: exit $rc"; fi
rc=0; "$DORADO_BIN" --check-config /nonexistent/dorado.toml >/dev/null 2>&1 || rc=$?
if [ "$rc" -eq 2 ]; then ok "missing file as FILE: exit 2"; else fail "missing file as FILE: exit $rc"; fi
# A config file given twice (-c and FILE), or FILE without --check-config: usage errors.
good="$DIR/good/minimal.toml"
rc=0; "$DORADO_BIN" --check-config -c "$good" "$good" >/dev/null 2>&1 || rc=$?
if [ "$rc" -eq 2 ]; then ok "-c FILE and FILE: exit 2"; else fail "-c FILE and FILE: exit $rc"; fi
rc=0; "$DORADO_BIN" "$good" >/dev/null 2>&1 || rc=$?
if [ "$rc" -eq 2 ]; then ok "FILE without --check-config: exit 2"; else fail "FILE without --check-config: exit $rc"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
