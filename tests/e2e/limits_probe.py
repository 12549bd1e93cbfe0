#!/usr/bin/python3
"""Per-circuit limits against a running dorado (tests/e2e/limits_test.sh),
from the client namespace acting as a relay (10.99.0.2) that adds option 82
circuit-ids. Config: max_leases_per_circuit = 3, max_new_clients_per_second
= 4, two workers (the clients of one circuit land on both).

  limits_probe.py IFACE first STATE    3 leases on line-A, a 4th client refused,
                                  a renewal answered, a RELEASE frees a place;
                                  10 DISCOVERs on line-B at once: 4 (to 8) OFFERs
  limits_probe.py IFACE restart STATE  after a restart: line-A still full (counts
                                  rebuilt from the journal), renewals answered

Prints `N passed, N failed`; exit 1 on a failure.
"""
import random
import sys
import time

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, conf, get_if_hwaddr

from dhcp_probe import bootreply, check, frames, opt, rai, report

IFACE, PHASE, STATE = sys.argv[1], sys.argv[2], sys.argv[3]
SERVER, RELAY = "10.99.0.1", "10.99.0.2"
relay_mac = get_if_hwaddr(IFACE)
sock = conf.L2socket(iface=IFACE)


def packet(n, circuit, mtype, xid, extra=(), ciaddr="0.0.0.0"):
    chaddr = bytes([2, 0, 0, 0, 0x82, n]) + b"\0" * 10
    return (Ether(src=relay_mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=RELAY, dst=SERVER) /
            UDP(sport=67, dport=67) / BOOTP(xid=xid, hops=1, chaddr=chaddr, giaddr=RELAY, ciaddr=ciaddr) /
            DHCP(options=[("message-type", mtype)] + list(extra) +
                 [("relay_agent_information", rai(circuit)), "end"]))


def replies(xids, timeout):
    """BOOTP replies by xid among `xids`, until all came or `timeout` s."""
    got = {}
    for frame in frames(sock, timeout):
        b = bootreply(frame, xids, 67, 67)
        if b is not None:
            got.setdefault(b.xid, b)
            if len(got) == len(xids):
                break
    return got


def ask(n, circuit, mtype, extra=(), ciaddr="0.0.0.0", timeout=1.5):
    xid = random.getrandbits(32)
    sock.send(packet(n, circuit, mtype, xid, extra, ciaddr))
    return replies({xid}, timeout).get(xid)


def dora(n, circuit):
    """The ACKed address of client n on `circuit`, or None."""
    offer = ask(n, circuit, "discover")
    if offer is None:
        return None
    ack = ask(n, circuit, "request", [("requested_addr", offer.yiaddr), ("server_id", SERVER)])
    return ack.yiaddr if ack is not None and opt(ack, "message-type") == 5 else None


def renew(n, circuit, addr):
    ack = ask(n, circuit, "request", ciaddr=addr)
    return ack is not None and opt(ack, "message-type") == 5


if PHASE == "first":
    leases = {n: dora(n, b"line-A") for n in (1, 2, 3)}
    check("3 clients on line-A get leases %s" % leases, all(leases.values()))
    check("a 4th client on line-A gets no OFFER (max_leases_per_circuit = 3)",
          ask(4, b"line-A", "discover", timeout=1.0) is None)
    check("a client on line-C is not concerned", dora(9, b"line-C") is not None)
    if leases[2]:
        check("line-A's client 2 renews its lease at the limit", renew(2, b"line-A", leases[2]))
    if leases[1]:
        sock.send(packet(1, b"line-A", "release", random.getrandbits(32),
                         [("server_id", SERVER)], ciaddr=leases[1]))
        time.sleep(0.2)
        leases[4] = dora(4, b"line-A")
        check("after client 1's RELEASE the 4th client gets a lease", leases[4] is not None)
    # Rate: 10 new clients on line-B sent at once (a few ms). The server's
    # seconds tick at its own start's fraction, so the burst may straddle
    # one of them: 4 OFFERs, at most 8; without the limit all 10.
    xids = set()
    for n in range(20, 30):
        xid = random.getrandbits(32)
        xids.add(xid)
        sock.send(packet(n, b"line-B", "discover", xid))
    got = replies(xids, 1.5)
    check("10 DISCOVERs on line-B at once: 4 to 8 OFFERs (max_new_clients_per_second = 4), got %d"
          % len(got), 4 <= len(got) <= 8)
    with open(STATE, "w") as f:   # the leases line-A holds now, for the restart phase
        f.write(" ".join("%d=%s" % (n, a) for n, a in leases.items() if a and n != 1))
else:
    with open(STATE) as f:
        held = dict(x.split("=") for x in f.read().split())
    check("after the restart a new client on line-A gets no OFFER (3 leases counted again)",
          ask(7, b"line-A", "discover", timeout=1.0) is None)
    for n, addr in held.items():
        check("after the restart line-A's client %s renews %s" % (n, addr), renew(int(n), b"line-A", addr))

sock.close()
sys.exit(report())
