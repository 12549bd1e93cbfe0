#!/usr/bin/env bash
# Migration from a real Kea: kea-dhcp4 (memfile) serves perfdhcp for CLIENTS
# clients (default 300, with renewals and releases, so the lease file holds
# replaced and deleted rows) in a network namespace; Kea is stopped, its
# kea-leases4.csv goes through `dorado-leases import kea`, and
# `dorado-leases export kea` must give back every active lease Kea held (same
# address, hwaddr, client_id, expire). Also: the export is byte for byte what
# Kea's own log compaction (kea-lfc) makes of the file, and kea-lfc reads the
# export without errors. (Starting dorado on the imported store is another test.)
export E2E_NAME=keamig   # read by lib.sh
DORADO_LEASES_BIN=${DORADO_LEASES_BIN:?set DORADO_LEASES_BIN}
CLIENTS=${CLIENTS:-300}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null || skip "iproute2 missing"
command -v kea-dhcp4 >/dev/null || skip "kea-dhcp4 (kea-dhcp4-server) missing"
command -v perfdhcp >/dev/null || skip "perfdhcp (kea-admin) missing"
[ -x "$DORADO_LEASES_BIN" ] || { log "dorado-leases binary not found: $DORADO_LEASES_BIN"; exit 1; }

make_world
ip -n "$SRV_NS" addr add 10.99.0.1/16 dev "$SRV_IF"
# perfdhcp needs an IPv4 address on its interface: it becomes the giaddr.
ip -n "$CLI_NS" addr add 10.99.0.2/16 dev "$CLI_IF"

CSV=$WORK/kea-leases4.csv
cat >"$WORK/kea.json" <<JSON
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "$SRV_IF" ], "dhcp-socket-type": "raw" },
  "lease-database": { "type": "memfile", "persist": true, "name": "$CSV", "lfc-interval": 0 },
  "valid-lifetime": 3600,
  "subnet4": [ { "id": 12, "subnet": "10.99.0.0/16",
                 "pools": [ { "pool": "10.99.1.0 - 10.99.10.255" } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "$WORK/kea.log" } ],
                 "severity": "INFO" } ]
} }
JSON
# Kea's pid and lock files go to the work dir, not /run/kea.
export KEA_PIDFILE_DIR=$WORK KEA_LOCKFILE_DIR=$WORK
ip netns exec "$SRV_NS" kea-dhcp4 -c "$WORK/kea.json" >"$WORK/kea.out" 2>&1 &
KEA_PID=$!
for _ in $(seq 1 100); do
  grep -q DHCP4_STARTED "$WORK/kea.log" 2>/dev/null && break
  kill -0 "$KEA_PID" 2>/dev/null || { log "kea-dhcp4 exited:"; cat "$WORK/kea.out" >&2; exit 1; }
  sleep 0.1
done
check "kea-dhcp4 started" grep -q DHCP4_STARTED "$WORK/kea.log"

# -f/-F: renewals and releases among the exchanges (replaced and deleted rows).
ip netns exec "$CLI_NS" timeout 60 perfdhcp -4 -l "$CLI_IF" -r 200 -f 20 -F 20 -R "$CLIENTS" -n "$CLIENTS" \
  -p 20 -W 1000000 10.99.0.1 >"$WORK/perfdhcp.out" 2>&1 || true
kill -TERM "$KEA_PID"
wait "$KEA_PID" || true
NOW=$(date +%s)

rows=$(($(wc -l <"$CSV") - 1))
deletions=$(awk -F, 'NR > 1 && $4 == 0' "$CSV" | wc -l)
log "Kea wrote $rows rows ($deletions deletions)"
check "Kea's file holds at least $CLIENTS rows ($rows)" test "$rows" -ge "$CLIENTS"
check "Kea's file holds deletion rows (RELEASEs: $deletions)" test "$deletions" -gt 0

# What Kea holds: replay the log (last row per address wins, valid_lifetime 0
# deletes) and keep the active leases: address,hwaddr,client_id,expire.
awk -F, -v now="$NOW" 'NR > 1 { if ($4 == 0) delete last[$1]; else last[$1] = $0 }
  END { for (a in last) { split(last[a], f, ","); if (f[10] == 0 && f[5] > now) print f[1] "," f[2] "," f[3] "," f[5] } }' \
  "$CSV" | sort >"$WORK/kea-active.txt"
active=$(wc -l <"$WORK/kea-active.txt")
log "Kea holds $active active leases"
check "Kea holds active leases ($active)" test "$active" -gt 0

rc=0
"$DORADO_LEASES_BIN" import kea "$CSV" --store "$WORK/store" >"$WORK/import.out" 2>"$WORK/import.err" || rc=$?
log "$(cat "$WORK/import.err")"
check "import exits 0 (rc=$rc)" test "$rc" -eq 0
rc=0
"$DORADO_LEASES_BIN" export kea --store "$WORK/store" -o "$WORK/export.csv" 2>"$WORK/export.err" || rc=$?
check "export exits 0 (rc=$rc)" test "$rc" -eq 0
"$DORADO_LEASES_BIN" list --store "$WORK/store" >"$WORK/list.out" 2>"$WORK/list.err" || true
check "list shows every active lease" test "$(grep -c ' active ' "$WORK/list.out")" -eq "$active"

check "export has Kea's header" test "$(head -1 "$WORK/export.csv")" = "$(head -1 "$CSV")"
awk -F, -v now="$NOW" 'NR > 1 && $10 == 0 && $5 > now { print $1 "," $2 "," $3 "," $5 }' "$WORK/export.csv" \
  | sort >"$WORK/export-active.txt"
check "every active lease survived (address, hwaddr, client_id, expire)" \
  diff -u "$WORK/kea-active.txt" "$WORK/export-active.txt"

if command -v kea-lfc >/dev/null; then
  # Kea's own replay of its log: the export must be the same file.
  mkdir "$WORK/lfc" && cp "$CSV" "$WORK/lfc/in.csv"
  (cd "$WORK/lfc" && kea-lfc -4 -x prev.csv -i in.csv -o out.csv -f finish.csv -p lfc.pid -c none -d \
     >lfc.log 2>&1) || true
  check "export equals kea-lfc's compaction of Kea's file" cmp "$WORK/lfc/prev.csv" "$WORK/export.csv"
  # And Kea reads the export back without an error.
  mkdir "$WORK/lfc2" && cp "$WORK/export.csv" "$WORK/lfc2/in.csv"
  (cd "$WORK/lfc2" && kea-lfc -4 -x prev.csv -i in.csv -o out.csv -f finish.csv -p lfc.pid -c none -d \
     >lfc.log 2>&1) || true
  check "kea-lfc reads the export with no error" grep -q 'LFC_READ_STATS Leases: [0-9]*, attempts: [0-9]*, errors: 0\.' \
    "$WORK/lfc2/lfc.log"
  check "kea-lfc's compaction of the export is the export" cmp "$WORK/lfc2/prev.csv" "$WORK/export.csv"
fi
finish
