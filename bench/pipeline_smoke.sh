#!/bin/sh
# ctest smoke test of `dorado-bench pipeline`: a short run with durability
# off and one with fsync (store on tmpfs); checks the JSON line so that the
# benchmark cannot rot: DORAs completed, every one of them ACKed by the
# engine and seen by the generator, one lease per client, nothing lost,
# dropped or unexpected, and with fsync one store record per ACK.
# Usage: pipeline_smoke.sh path/to/dorado-bench
set -eu
bench=$1
run() {
  out=$("$bench" pipeline --json "$@") || { echo "$out"; echo "FAIL: dorado-bench exited $?"; exit 1; }
  echo "$out"
  echo "$out" | tail -n 1 | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
for k in ("workers", "clients", "durability", "dora_per_sec", "dora_per_sec_per_worker", "ns_per_packet"):
    assert k in r, "missing " + k
checks = [
    ("dora_per_sec > 0", r["dora_per_sec"] > 0),
    ("ns_per_packet > 0", r["ns_per_packet"] > 0),
    ("leases == clients", r["leases"] == r["clients"]),
    ("dora_total == acks_sent", r["dora_total"] == r["acks_sent"]),
    ("dora <= dora_total", 0 < r["dora"] <= r["dora_total"]),
    ("nothing lost", r["lost"] == 0),
    ("nothing unexpected", r["unexpected"] == 0 and r["malformed"] == 0),
    ("no drops", r["drops"] == 0),
    ("store records", r["durability"] == "off" or r["store_records"] >= r["acks_sent"]),
]
bad = [name for name, ok in checks if not ok]
if bad:
    sys.exit("FAIL: " + ", ".join(bad))
print("ok:", r["durability"], r["dora_per_sec"], "DORA/s")
'
}
run --clients 20000 --seconds 2
run --clients 20000 --seconds 1 --durability fsync
