#!/usr/bin/python3
"""Conflict detection against a running dorado (run inside the client
namespace, whose kernel plays the squatter): pool 10.99.1.10-13 and .74-77.

1. A relayed client (ICMP echo probes, sent to the relay's MAC, which is
   this interface) while the kernel holds the first address of each block.
2. A client on the segment (ARP probes) once the kernel also holds the
   third address of each block.
Neither may be offered a squatted address; each must skip exactly the one
squatted address it probed. Then a renewal is answered without a probe.
Prints `N passed, N failed`; exit status 1 on any failure.
"""
import random
import subprocess
import sys
import time

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, get_if_hwaddr

from dhcp_probe import as_bootp, check, exchange, mac_bytes, opt, report

IFACE, NS = sys.argv[1], sys.argv[2]
SERVER, RELAY = "10.99.0.1", "10.99.0.2"
SQUATTED = set()


def squat(addr):
    subprocess.run(["ip", "addr", "add", addr + "/16", "dev", IFACE], check=True)
    SQUATTED.add(addr)


def request(mac, xid, options, relayed, timeout):
    if relayed:
        relay_mac = get_if_hwaddr(IFACE)
        p = (Ether(src=relay_mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=RELAY, dst=SERVER) /
             UDP(sport=67, dport=67) / BOOTP(chaddr=mac_bytes(mac), xid=xid, giaddr=RELAY, hops=1) /
             DHCP(options=options + ["end"]))
        got = exchange(IFACE, p, lambda r: UDP in r and r[UDP].sport == 67 and r[UDP].dport == 67 and
                       as_bootp(r).op == 2 and as_bootp(r).xid == xid, timeout)
        return as_bootp(got) if got is not None else None
    p = (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
         UDP(sport=68, dport=67) / BOOTP(chaddr=mac_bytes(mac), xid=xid, flags=0x8000) /
         DHCP(options=options + ["end"]))
    got = exchange(IFACE, p, lambda r: BOOTP in r and r[BOOTP].xid == xid and r[BOOTP].op == 2, timeout)
    return got[BOOTP] if got is not None else None


def dora(mac, relayed, timeout=4):
    """DISCOVER (the probes take 2 x 300 ms per address), REQUEST; the
    offered address or None."""
    xid = random.getrandbits(32)
    offer = request(mac, xid, [("message-type", "discover")], relayed, timeout)
    if offer is None:
        return None, None
    yiaddr = offer.yiaddr
    ack = request(mac, xid, [("message-type", "request"), ("server_id", SERVER),
                             ("requested_addr", yiaddr)], relayed, 2)
    return yiaddr, ack is not None and opt(ack, "message-type") == 5


# The pool is 10.99.1.10-13 and 10.99.1.74-77: one 64-address block each,
# so with two workers each shard has one (a shard allocates only from its
# own blocks), and each block gives its lowest free address first.
# 1. Relayed client (ICMP echo through the relay): the first address of
#    either block is squatted; it must be skipped for the second.
squat("10.99.1.10")
squat("10.99.1.74")
b, acked = dora("02:bb:00:00:00:02", relayed=True)
check("relayed client is offered an address (%s)" % b, b is not None)
check("... not a squatted one", b not in SQUATTED)
check("... the second of its block: the first answered the ICMP probe", b in ("10.99.1.11", "10.99.1.75"))
check("... and acknowledged", bool(acked))

# 2. Client on the segment (ARP probes): the third address of either block
#    squatted too; whichever its shard, the first address it probes answers.
squat("10.99.1.12")
squat("10.99.1.76")
t0 = time.monotonic()
a, acked = dora("02:aa:00:00:00:01", relayed=False)
took = time.monotonic() - t0
check("client on the segment is offered an address (%s, %.1f s)" % (a, took), a is not None)
check("... not a squatted one", a not in SQUATTED)
check("... the one after the first it probed (which answered the ARP probe)",
      a in ("10.99.1.11", "10.99.1.75", "10.99.1.13", "10.99.1.77") and a != b)
check("... and acknowledged", bool(acked))
check("... after the probes (>= 0.6 s: two 300 ms probes of a free address)", took >= 0.6)

# A renewal is never probed: answered at once.
xid = random.getrandbits(32)
t0 = time.monotonic()
p = (Ether(src="02:aa:00:00:00:01", dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
     UDP(sport=68, dport=67) / BOOTP(chaddr=mac_bytes("02:aa:00:00:00:01"), xid=xid, flags=0x8000) /
     DHCP(options=[("message-type", "request"), ("requested_addr", a), "end"]))
got = exchange(IFACE, p, lambda r: BOOTP in r and r[BOOTP].xid == xid and r[BOOTP].op == 2, 2)
check("INIT-REBOOT of the first client is ACKed without a probe (%.2f s)" % (time.monotonic() - t0),
      got is not None and opt(got, "message-type") == 5 and time.monotonic() - t0 < 0.25)

sys.exit(report())
