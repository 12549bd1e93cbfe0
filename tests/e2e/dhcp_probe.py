"""What the scapy probes in tests/e2e share: the pass/fail tally, option
lookup, the relay agent option, and one bounded send-and-wait at layer 2.

A probe imports it (it sits beside them, so `python3 tests/e2e/x_probe.py`
finds it), calls check() for each expectation, and ends with
`sys.exit(report())`, which prints the `N passed, N failed` line the e2e
scripts look for.
"""
import select
import time

from scapy.all import BOOTP, DHCP, UDP, conf

conf.verb = 0
conf.checkIPaddr = False   # replies come from the server, not the address asked

_tally = {"passed": 0, "failed": 0}


def check(what, ok):
    """Counts and prints one expectation."""
    _tally["passed" if ok else "failed"] += 1
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)


def failures():
    return _tally["failed"]


def report():
    """Prints `N passed, N failed`; the exit status for sys.exit()."""
    print("%d passed, %d failed" % (_tally["passed"], _tally["failed"]), flush=True)
    return 1 if _tally["failed"] else 0


def mac_bytes(mac):
    """chaddr (16 bytes) of a MAC written aa:bb:cc:dd:ee:ff."""
    return bytes.fromhex(mac.replace(":", "")) + b"\0" * 10


def opt(bootp, name):
    """The value of DHCP option `name` (scapy's name) in a BOOTP layer, or None."""
    if bootp is None or DHCP not in bootp:
        return None
    for o in bootp[DHCP].options:
        if isinstance(o, tuple) and o[0] == name:
            return o[1] if len(o) == 2 else o[1:]
    return None


def has_opt(bootp, name):
    return bootp is not None and DHCP in bootp and any(
        isinstance(o, tuple) and o[0] == name for o in bootp[DHCP].options)


def text(v):
    return v.decode() if isinstance(v, bytes) else v


def rai(circuit):
    """Option 82 with sub-option 1 (circuit-id) only."""
    return bytes([1, len(circuit)]) + circuit


def as_bootp(frame):
    """scapy binds BOOTP to ports 67<->68 only; relay traffic is 67->67."""
    return BOOTP(bytes(frame[UDP].payload))


def bootreply(frame, xids, sport=67, dport=None):
    """The frame's BOOTREPLY (as BOOTP) when it is one from port `sport` (to
    `dport`, when given) whose xid is in `xids`; else None."""
    if frame is None or UDP not in frame or frame[UDP].sport != sport:
        return None
    if dport is not None and frame[UDP].dport != dport:
        return None
    b = as_bootp(frame)
    return b if b.op == 2 and b.xid in xids else None


def frames(sock, timeout):
    """The frames `sock` receives until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return
        frame = sock.recv()
        if frame is not None:
            yield frame


def wait_reply(sock, xid, timeout, sport=67, dport=None):
    """The first BOOTREPLY with `xid` (see bootreply) that sock receives
    within `timeout` s, or None."""
    for frame in frames(sock, timeout):
        b = bootreply(frame, {xid}, sport, dport)
        if b is not None:
            return b
    return None


def exchange(iface, pkt, match, timeout=2):
    """Sends pkt at L2 on iface; the first frame for which match(frame) is
    true within `timeout` s, or None.

    The socket is open before the request leaves: an AsyncSniffer started
    just before sending can miss a reply that comes back in ~100 us.
    """
    sock = conf.L2socket(iface=iface)
    try:
        sock.send(pkt)
        return next((f for f in frames(sock, timeout) if match(f)), None)
    finally:
        sock.close()
