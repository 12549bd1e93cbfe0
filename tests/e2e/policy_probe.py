#!/usr/bin/python3
"""Issue 16 policy against a running dorado, with scapy from the client
namespace: reservations by option 82 circuit-id (relayed from 10.99.0.2,
any MAC on the line gets the line's address, hostname as option 12, 82
echoed; another MAC while it is held gets a pool address), one device with
two identities (a MAC reservation with and without option 61), and, when
asked (argv[2] == "vlan"), subnet selection by VLAN tag (802.1Q 100 and the
QinQ pair 200/300). Each wait is bounded (2 s). Prints `N passed, N failed`.
"""
import random
import sys

from scapy.all import BOOTP, DHCP, IP, UDP, Dot1AD, Dot1Q, Ether, get_if_hwaddr

import dhcp_probe
from dhcp_probe import check, mac_bytes, opt, rai, report

IFACE = sys.argv[1]
SERVER, RELAY = "10.99.0.1", "10.99.0.2"
own_mac = get_if_hwaddr(IFACE)


def exchange(pkt, want_sport, want_dport, timeout=2):
    """Sends pkt; the first BOOTP reply frame with pkt's xid between those ports (or None)."""
    xid = pkt[BOOTP].xid
    return dhcp_probe.exchange(
        IFACE, pkt, lambda f: BOOTP in f and UDP in f and f[BOOTP].op == 2 and f[BOOTP].xid == xid and
        f[UDP].sport == want_sport and f[UDP].dport == want_dport, timeout)


def relayed(mac, msg, options):
    p = (Ether(src=own_mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=RELAY, dst=SERVER) / UDP(sport=67, dport=67) /
         BOOTP(xid=random.getrandbits(32), hops=1, giaddr=RELAY, chaddr=mac_bytes(mac)) /
         DHCP(options=[("message-type", msg)] + options + ["end"]))
    return exchange(p, 67, 67)


def direct(mac, msg, options, tags=()):
    eth = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
    if len(tags) == 2:
        eth = eth / Dot1AD(vlan=tags[0]) / Dot1Q(vlan=tags[1])
    elif len(tags) == 1:
        eth = eth / Dot1Q(vlan=tags[0])
    p = (eth / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) /
         BOOTP(xid=random.getrandbits(32), chaddr=mac_bytes(mac), flags=0x8000) /
         DHCP(options=[("message-type", msg)] + options + ["end"]))
    return exchange(p, 67, 68)


def dora(send, mac, options, **kw):
    o = send(mac, "discover", options, **kw)
    if o is None:
        return None, None
    a = send(mac, "request", options + [("requested_addr", o[BOOTP].yiaddr), ("server_id", SERVER)], **kw)
    return o, a


# ---- reservation by circuit-id -------------------------------------------------------
line9 = [("relay_agent_information", rai(b"eth0/1/9")), ("param_req_list", [1, 3, 12])]
o, a = dora(relayed, "02:00:00:00:09:01", line9)
check("circuit eth0/1/9: OFFER of its reserved 10.99.0.90", o is not None and o[BOOTP].yiaddr == "10.99.0.90")
check("circuit eth0/1/9: ACK", a is not None and opt(a, "message-type") == 5 and a[BOOTP].yiaddr == "10.99.0.90")
check("circuit eth0/1/9: hostname line-9 (option 12)", o is not None and opt(o, "hostname") == b"line-9")
check("circuit eth0/1/9: option 82 echoed", o is not None and opt(o, "relay_agent_information") == rai(b"eth0/1/9"))
o2 = relayed("02:00:00:00:09:02", "discover", line9)
check("another device on eth0/1/9 while the line's address is held: a pool address",
      o2 is not None and o2[BOOTP].yiaddr not in ("10.99.0.90", "0.0.0.0"))

# ---- one device, two identities (MAC reservation 02:00:00:00:00:05 -> 10.99.0.5) ----------
pxe_mac = "02:00:00:00:00:05"
cid = [("client_id", b"\x01" + bytes.fromhex(pxe_mac.replace(":", "")))]
_, a = dora(relayed, pxe_mac, cid)
check("the OS (with option 61) gets the MAC reservation 10.99.0.5", a is not None and a[BOOTP].yiaddr == "10.99.0.5")
_, a = dora(relayed, pxe_mac, [])
check("the PXE ROM (no option 61) still gets 10.99.0.5", a is not None and a[BOOTP].yiaddr == "10.99.0.5")
_, a = dora(relayed, pxe_mac, cid)
check("the OS again gets 10.99.0.5", a is not None and a[BOOTP].yiaddr == "10.99.0.5")

# ---- VLAN-aware selection -------------------------------------------------------------------
if len(sys.argv) > 2 and sys.argv[2] == "vlan":
    o = direct("02:00:00:00:10:01", "discover", [], tags=(100,))
    check("802.1Q 100: OFFER from 10.100.0.0/24", o is not None and o[BOOTP].yiaddr.startswith("10.100.0."))
    check("802.1Q 100: reply tagged 100", o is not None and Dot1Q in o and o[Dot1Q].vlan == 100)
    o = direct("02:00:00:00:10:02", "discover", [], tags=(200, 300))
    check("QinQ 200/300: OFFER from 10.101.0.0/24", o is not None and o[BOOTP].yiaddr.startswith("10.101.0."))
    o = direct("02:00:00:00:10:03", "discover", [], tags=(200, 301))
    check("QinQ 200/301 (no subnet names it): OFFER from the untagged link's 10.99.0.0/16",
          o is not None and o[BOOTP].yiaddr.startswith("10.99."))

sys.exit(report())
