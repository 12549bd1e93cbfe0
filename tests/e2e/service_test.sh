#!/usr/bin/env bash
# dorado as packaging/dorado.service runs it, without systemd: a datagram
# socket stands in for systemd's NOTIFY_SOCKET, WATCHDOG_USEC asks for the
# watchdog, and dorado runs as the unit does (setpriv): as a user that is
# not root (the unit's User=dorado; here an unused uid, so that this
# machine gets no user), with the unit's AmbientCapabilities= and
# CapabilityBoundingSet=, NoNewPrivileges, and XDG_RUNTIME_DIR (the unit's
# Environment=) for DPDK's runtime directory. Checks: READY=1 (with
# STATUS=serving ...) comes once dorado printed "serving" and its control
# socket answers at once; dorado runs with that uid and exactly those
# capabilities; WATCHDOG=1 comes every WATCHDOG_USEC/2 (not once per loop
# turn); a client gets a lease through af_packet with only the unit's
# capabilities, and the lease store is the user's; DPDK's runtime
# directory is under XDG_RUNTIME_DIR; SIGTERM gives STOPPING=1 and exit 0.
export E2E_NAME=service   # read by lib.sh
DORADO_BIN=${DORADO_BIN:?set DORADO_BIN}
DORADOCTL_BIN=${DORADOCTL_BIN:?set DORADOCTL_BIN}
UNIT=${DORADO_UNIT_TEMPLATE:?set DORADO_UNIT_TEMPLATE (packaging/dorado.service.in)}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_env
command -v setpriv >/dev/null || skip "setpriv (util-linux) missing"
command -v udhcpc >/dev/null || skip "udhcpc missing"
[[ ${DORADO_HAVE_SYSTEMD:-} =~ ^(1|ON|TRUE|YES)$ ]] || skip "dorado built without libsystemd: it sends no sd_notify"

LISTENER=""
trap 'rc=$?; [ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null; (exit $rc); cleanup' EXIT

# The unit's capabilities as setpriv's lists: -all,+net_raw,...
setpriv_caps() { printf -- '-all'; for c in $1; do printf ',+%s' "$(tr '[:upper:]' '[:lower:]' <<<"${c#CAP_}")"; done; }
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
ambient_caps=$(sed -n 's/^AmbientCapabilities=//p' "$UNIT")
[[ -n $caps ]] || { log "no CapabilityBoundingSet= in $UNIT"; exit 1; }
[[ -n $ambient_caps ]] || { log "no AmbientCapabilities= in $UNIT"; exit 1; }
grep -qx 'User=dorado' "$UNIT" || { log "$UNIT does not run dorado as User=dorado"; exit 1; }
bounding=$(setpriv_caps "$caps")
ambient=$(setpriv_caps "$ambient_caps")
log "capability bounding set: $bounding; ambient: $ambient"
# The user dorado stands in for: a uid and gid that name nobody here.
uid=64990
while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
xdg_runtime=$(sed -n 's/^Environment=XDG_RUNTIME_DIR=//p' "$UNIT")
[[ -n $xdg_runtime ]] || { log "no Environment=XDG_RUNTIME_DIR= in $UNIT"; exit 1; }
watchdog_usec=1000000   # pings every 500 ms

make_world
write_config "$WORK/dorado.toml" 1
# The user's: the work directory, where the store and the control socket
# are made (the unit's StateDirectory= and RuntimeDirectory=), and the
# runtime directory standing in for the unit's XDG_RUNTIME_DIR.
chown "$uid:$uid" "$WORK"
install -d -o "$uid" -g "$uid" -m 0755 "$WORK/run"

# systemd's end of NOTIFY_SOCKET: one line per message part, with the time;
# on READY=1 it notes whether dorado had printed "serving" by then.
cat >"$WORK/notify.py" <<'PY'
import socket, sys, time
path, log, out = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(log, "a", buffering=1) as f:
    while True:
        data = s.recv(4096).decode()
        now = time.monotonic()
        for part in data.split("\n"):
            extra = ""
            if part == "READY=1":
                with open(out) as o:
                    extra = " serving_printed=%d" % ("serving" in o.read())
            f.write("%.3f %s%s\n" % (now, part, extra))
PY
: >"$WORK/notify.log"
timeout 120 python3 "$WORK/notify.py" "$WORK/notify.sock" "$WORK/notify.log" "$WORK/dorado.out" &
LISTENER=$!
for _ in $(seq 1 50); do [ -S "$WORK/notify.sock" ] && break; sleep 0.1; done

# systemd's own socket is root's; this one is made writable for the user.
chmod 0666 "$WORK/notify.sock"
NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=$watchdog_usec XDG_RUNTIME_DIR=$WORK/run \
  ip netns exec "$SRV_NS" setpriv --reuid "$uid" --regid "$uid" --clear-groups \
  --inh-caps "$ambient" --ambient-caps "$ambient" --bounding-set "$bounding" --no-new-privs \
  "$DORADO_BIN" -c "$WORK/dorado.toml" >"$WORK/dorado.out" 2>"$WORK/dorado.err" &
DORADO_PID=$!
for _ in $(seq 1 100); do
  grep -q "READY=1" "$WORK/notify.log" && break
  kill -0 "$DORADO_PID" 2>/dev/null || break
  sleep 0.1
done
check "READY=1 sent" grep -q "READY=1" "$WORK/notify.log"
# No sleep: a service that is "started" answers on its control socket.
check "the control socket answers right after READY=1" "$DORADOCTL_BIN" -s "$WORK/dorado.sock" version-get
check "READY=1 comes after the \"serving\" line" grep -q "READY=1 serving_printed=1" "$WORK/notify.log"
check "STATUS=serving with 1 worker(s), server address 10.99.0.1" \
  grep -q "STATUS=serving with 1 worker(s), server address 10.99.0.1" "$WORK/notify.log"

# The process as the unit makes it: the user's uid, exactly the ambient
# capabilities as its effective set, the bounding set, no_new_privs.
cap_mask() {   # cap_mask "CAP_A CAP_B ...": the hex mask /proc/PID/status shows
  local m=0 c n
  for c in $1; do   # setpriv --list-caps: the names in the kernel's order
    n=$(setpriv --list-caps | awk -v c="$(tr '[:upper:]' '[:lower:]' <<<"${c#CAP_}")" '$1 == c {print NR - 1}')
    [[ -n $n ]] || { echo "unknown-$c"; return; }
    m=$((m | (1 << n)))
  done
  printf '%016x\n' "$m"
}
status=/proc/$DORADO_PID/status
check "dorado runs as uid $uid, not root" grep -qE "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid" "$status"
check "its effective and ambient capabilities are the unit's AmbientCapabilities= ($(cap_mask "$ambient_caps"))" \
  sh -c "grep -qx 'CapEff:[[:space:]]*$(cap_mask "$ambient_caps")' '$status' &&
         grep -qx 'CapAmb:[[:space:]]*$(cap_mask "$ambient_caps")' '$status'"
check "its bounding set is the unit's CapabilityBoundingSet= ($(cap_mask "$caps"))" \
  grep -qx "CapBnd:[[:space:]]*$(cap_mask "$caps")" "$status"
check "no_new_privs" grep -qx 'NoNewPrivs:[[:space:]]*1' "$status"
check "DPDK's runtime directory is under XDG_RUNTIME_DIR (the unit's $xdg_runtime/dpdk/PREFIX)" \
  test -d "$WORK/run/dpdk/dorado-$E2E_RUN"

# A lease through af_packet with only the unit's capabilities.
printf '#!/bin/sh\nexit 0\n' >"$WORK/udhcpc.sh"
chmod +x "$WORK/udhcpc.sh"
check "udhcpc gets a lease" ip netns exec "$CLI_NS" timeout 15 udhcpc -f -q -n -i "$CLI_IF" -s "$WORK/udhcpc.sh"
check "the lease store and the control socket are the user's" sh -c \
  "test \"\$(stat -c %u '$WORK/store')\" = $uid && test \"\$(stat -c %u '$WORK/dorado.sock')\" = $uid &&
   test -z \"\$(find '$WORK/store' ! -uid $uid)\""

# The watchdog: 3 s more of pings every 500 ms.
sleep 3
first=$(awk '/READY=1/ {print $1; exit}' "$WORK/notify.log")
now=$(python3 -c 'import time; print("%.3f" % time.monotonic())')
pings=$(awk -v t="$first" '$2 == "WATCHDOG=1" && $1 >= t' "$WORK/notify.log" | wc -l)
expected=$(awk -v a="$first" -v b="$now" -v w="$watchdog_usec" 'BEGIN {printf "%d", (b - a) * 2e6 / w}')
log "WATCHDOG=1: $pings in $(awk -v a="$first" -v b="$now" 'BEGIN {printf "%.1f", b - a}') s since READY=1 (about $expected expected)"
check "WATCHDOG=1 every WATCHDOG_USEC/2: $pings, about $expected" \
  test "$pings" -ge $((expected * 2 / 3)) -a "$pings" -le $((expected * 3 / 2 + 1))
gaps=$(awk '$2 == "WATCHDOG=1" { if (p) { g = $1 - p; if (g > m) m = g }; p = $1 } END { printf "%d", m * 1000 }' "$WORK/notify.log")
check "no gap between pings over WATCHDOG_USEC ($gaps ms)" test "$gaps" -lt $((watchdog_usec / 1000))

stop_dorado
for _ in $(seq 1 50); do grep -q "STOPPING=1" "$WORK/notify.log" && break; sleep 0.1; done   # the listener may lag
check "STOPPING=1 sent at stop" grep -q "STOPPING=1" "$WORK/notify.log"
[ "$FAILURES" -eq 0 ] || { log "--- what the notify socket got"; cat "$WORK/notify.log"; }
finish
