# shellcheck shell=bash
# Shared by tools/bench-peers.sh and bench/compare.sh: kea-dhcp4 in the
# server namespace, dorado's benchmark config and one perfdhcp run. Source it
# after tests/e2e/lib.sh; the functions use lib.sh's namespaces and $WORK.

# One million addresses: no run at any rate runs out of them.
PEERS_PREFIX="10.96.0.0/12"
PEERS_POOL="10.97.0.0-10.111.255.255"

# ensure_peers: installs kea-dhcp4 and perfdhcp when missing (Debian).
ensure_peers() {
  if ! command -v kea-dhcp4 >/dev/null || ! command -v perfdhcp >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kea-dhcp4-server kea-admin >/dev/null
  fi
}

# bench_dorado_config FILE WORKERS DURABILITY: lib.sh's config with the
# benchmark pool and the given [store] durability (fsync, async, off).
bench_dorado_config() {
  write_config "$1" "$2"
  sed -i "s|^prefix = .*|prefix = \"$PEERS_PREFIX\"|; s|^pools = .*|pools = [\"$PEERS_POOL\"]|; s|^dir = .*|&\ndurability = \"$3\"|" "$1"
}

KEA_PID=""
# start_kea [THREADS [PERSIST]]: kea-dhcp4 (memfile) on the server side of the
# veth with 10.99.0.1/16, the same pool as dorado. THREADS > 0 turns on
# Kea's multi-threading with that many threads and a packet queue of 64;
# PERSIST true writes the memfile CSV. Waits until it listens on port 67.
start_kea() {
  local threads=${1:-0} persist=${2:-false} mt=""
  if [ "$threads" -gt 0 ]; then
    mt="\"multi-threading\": {\"enable-multi-threading\": true, \"thread-pool-size\": $threads, \"packet-queue-size\": 64},"
  fi
  ip -n "$SRV_NS" addr add 10.99.0.1/16 dev "$SRV_IF"
  mkdir -p "$WORK/kea-run"
  cat >"$WORK/kea.json" <<JSON
{"Dhcp4": {"interfaces-config": {"interfaces": ["$SRV_IF"], "dhcp-socket-type": "udp"},
 "lease-database": {"type": "memfile", "persist": $persist, "name": "$WORK/kea-run/leases4.csv", "lfc-interval": 0},
 $mt
 "valid-lifetime": 600,
 "subnet4": [{"id": 1, "subnet": "$PEERS_PREFIX",
   "pools": [{"pool": "$PEERS_POOL"}],
   "option-data": [{"name": "routers", "data": "10.99.0.1"},
                   {"name": "domain-name-servers", "data": "10.99.0.53, 10.99.0.54"},
                   {"name": "domain-name", "data": "example.net"}]}],
 "loggers": [{"name": "kea-dhcp4", "severity": "WARN", "output_options": [{"output": "stderr"}]}]}}
JSON
  KEA_PIDFILE_DIR="$WORK/kea-run" KEA_LOCKFILE_DIR="$WORK/kea-run" \
    ip netns exec "$SRV_NS" kea-dhcp4 -c "$WORK/kea.json" >"$WORK/kea.log" 2>&1 &
  KEA_PID=$!
  for _ in $(seq 1 100); do
    if ip netns exec "$SRV_NS" ss -lun 2>/dev/null | grep -q ':67 '; then return 0; fi
    if ! kill -0 "$KEA_PID" 2>/dev/null; then log "kea-dhcp4 exited:"; cat "$WORK/kea.log" >&2; return 1; fi
    sleep 0.1
  done
  log "kea-dhcp4 does not listen on port 67 after 10 s"; return 1
}
stop_kea() {
  kill -TERM "$KEA_PID" 2>/dev/null || true
  wait "$KEA_PID" 2>/dev/null || true
  KEA_PID=""
  ip -n "$SRV_NS" addr flush dev "$SRV_IF"
}

# perfdhcp_rate RATE SECONDS -> "DORA/s discover_drops request_drops client_rcvbuf_drops"
# perfdhcp (a relay from the client side's 10.99.0.2) offers RATE fresh
# clients per second for SECONDS; DORA/s = completed exchanges / SECONDS
# (perfdhcp's own "Rate:" divides by the period plus the -W wait).
perfdhcp_rate() {
  local out="$WORK/perf-$1.out"
  # Replies lost in perfdhcp's own socket buffer (the client cannot keep up)
  # show as UdpRcvbufErrors in the client namespace: count them per run.
  ip netns exec "$CLI_NS" nstat -n >/dev/null 2>&1 || true
  ip netns exec "$CLI_NS" timeout $(($2 + 30)) perfdhcp -4 -l "$CLI_IF" -r "$1" \
    -R 10000000 -p "$2" -W 1000000 10.99.0.1 >"$out" 2>&1 || true
  local rate d1 d2 acks rcvbuf
  acks=$(awk '/Statistics for: REQUEST-ACK/{on=1} on && /^received packets:/{print $3; exit}' "$out")
  rate=$(awk -v a="${acks:-0}" -v s="$2" 'BEGIN{printf "%.0f", a / s}')
  d1=$(awk '/Statistics for: DISCOVER-OFFER/{on=1} on && /^drops:/{print $2; exit}' "$out")
  d2=$(awk '/Statistics for: REQUEST-ACK/{on=1} on && /^drops:/{print $2; exit}' "$out")
  rcvbuf=$(ip netns exec "$CLI_NS" nstat -z UdpRcvbufErrors 2>/dev/null | awk '$1=="UdpRcvbufErrors"{print $2}')
  echo "${rate:-?} ${d1:-?} ${d2:-?} ${rcvbuf:-?}"
}
