#!/usr/bin/env bash
# Bulk leasequery (RFC 6926) end to end: dorado (WORKERS workers, [leasequery]
# with bulk_listen on 127.0.0.1:67) gets CLIENTS relayed leases from
# dorado-gen (relay mode: option 82 on every lease), then a TCP requestor in
# the server namespace asks for all leases RUNS times; prints leases/s of
# each run (first byte sent to DHCPLEASEQUERYDONE received) and the median.
# Uses the e2e helpers (tests/e2e/lib.sh: namespaces, veth, teardown).
#   DORADO_BIN=build/control/daemon/dorado bench/bulk_leasequery.sh [CLIENTS=20000] [WORKERS=2] [RUNS=7]
CLIENTS=${1:-20000}
WORKERS=${2:-2}
RUNS=${3:-7}
export E2E_NAME=blqb$$
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
GEN_BIN=${DORADO_GEN_BIN:-$(dirname "$DORADO_BIN")/../../tools/gen/dorado-gen}
# shellcheck source=../tests/e2e/lib.sh
source "$(dirname "$0")/../tests/e2e/lib.sh"
require_env

make_world
write_config "$WORK/dorado.toml" "$WORKERS" '
[leasequery]
allowed = ["10.99.0.2", "127.0.0.1"]
bulk_listen = "127.0.0.1:67"'
sed -i 's|^prefix = .*|prefix = "10.96.0.0/12"|; s|^pools = .*|pools = ["10.97.0.0-10.97.255.255"]|; s|^lease_time = .*|lease_time = 3600|' "$WORK/dorado.toml"
start_dorado "$WORK/dorado.toml"
ip netns exec "$CLI_NS" timeout 120 "$GEN_BIN" --no-pci --no-huge -m 256 \
  "--vdev=net_af_packet0,iface=$CLI_IF" --lcores=0@$(( $(nproc) > 1 ? 1 : 0 )) \
  "--file-prefix=dorado-gen-$E2E_NAME" "--log-level=*:error" -- --mode dora --clients "$CLIENTS" \
  --rate max --duration 100 --giaddr 10.99.0.2 --server-ip 10.99.0.1 --json --quiet >"$WORK/gen.out" 2>"$WORK/gen.err" || true
log "dorado-gen: $(tail -n 1 "$WORK/gen.out" | cut -c1-200)"
ip netns exec "$SRV_NS" /usr/bin/python3 - "$RUNS" <<'PY'
import socket, struct, sys, time
runs = int(sys.argv[1])
def query(xid):
    b = bytearray(236); b[0] = 1; struct.pack_into("!I", b, 4, xid)
    b += bytes([99, 130, 83, 99, 53, 1, 14, 255])
    return struct.pack("!H", len(b)) + bytes(b)
s = socket.create_connection(("127.0.0.1", 67), timeout=30)
rates = []
for r in range(runs):
    t0 = time.monotonic(); s.sendall(query(r + 1)); buf = b""; n = 0; done = False
    while not done:
        data = s.recv(1 << 20)
        if not data: sys.exit("closed")
        buf += data
        i = 0
        while len(buf) - i >= 2 and len(buf) - i >= 2 + struct.unpack_from("!H", buf, i)[0]:
            ln = struct.unpack_from("!H", buf, i)[0]; t = buf[i + 2 + 242]
            n += t == 13; done = done or t == 15; i += 2 + ln
        buf = buf[i:]
    dt = time.monotonic() - t0; rates.append(n / dt)
    print("run %d: %d leases in %.3f s = %.0f leases/s" % (r + 1, n, dt, n / dt), flush=True)
rates.sort()
print("median %.0f leases/s (min %.0f, max %.0f) over %d runs" % (rates[len(rates) // 2], rates[0], rates[-1], runs))
PY
grep "bulk leasequery" "$WORK/dorado.err" | tail -3
stop_dorado
finish
