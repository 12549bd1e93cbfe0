#!/usr/bin/env bash
# dorado on DPDK's net_pcap: requests from a capture (untagged, 802.1Q,
# QinQ, ARP, ping, noise), replies into a capture. WORKERS=2 with one queue
# exercises the handoff to the owning shard and TX forwarding to the worker
# that owns the port's only TX queue. No namespaces needed.
set -euo pipefail
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
WORKERS=${WORKERS:-2}
HERE=$(cd "$(dirname "$0")" && pwd)
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "SKIP: python3-scapy missing"; exit 77; }
WORK=$(mktemp -d /tmp/dorado-pcap.XXXXXX)
PID=""
cleanup() { [ -z "$PID" ] || kill -KILL "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

/usr/bin/python3 "$HERE/pcap_replay.py" make "$WORK/in.pcap"
ncpu=$(nproc) lcores=""
for i in $(seq 0 "$WORKERS"); do lcores="${lcores:+$lcores,}$i@$((i % ncpu))"; done
cat >"$WORK/dorado.toml" <<TOML
[server]
address = "10.99.0.1"
[dpdk]
workers = $WORKERS
idle_sleep_us = 100
[store]
dir = "$WORK/store"
[control]
socket = "$WORK/dorado.sock"
[[subnet]]
prefix = "10.99.0.0/16"
pools = ["10.99.1.0/24"]
routers = ["10.99.0.1"]
dns = ["10.99.0.53"]
domain = "example.net"
TOML
"$DORADO_BIN" --no-pci --no-huge -m 256 "--lcores=$lcores" --no-shconf \
  --log-level='*:error' --vdev="net_pcap0,rx_pcap=$WORK/in.pcap,tx_pcap=$WORK/out.pcap" \
  -- -c "$WORK/dorado.toml" >"$WORK/dorado.out" 2>&1 &
PID=$!
sleep 3   # the capture is read at once; give the workers time to answer
kill -TERM "$PID"
rc=0; wait "$PID" || rc=$?; PID=""
cat "$WORK/dorado.out"
[ "$rc" -eq 0 ] || { echo "FAIL - dorado exit $rc"; exit 1; }
/usr/bin/python3 "$HERE/pcap_replay.py" check "$WORK/out.pcap"
