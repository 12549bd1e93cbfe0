#!/usr/bin/python3
"""Issue 16's RFC details against a running dorado (run inside the client
namespace; rfc_test.sh's config): RFC 4039 rapid commit, RFC 5107 server
identifier override, a subnet's interface_address as its segment's server
id. Prints
`N passed, N failed`; every exchange waits 3 s at most.
"""
import random
import sys

from scapy.all import ARP, BOOTP, DHCP, ICMP, IP, UDP, Dot1Q, Ether, get_if_hwaddr

from dhcp_probe import as_bootp, bootreply, check, exchange, has_opt, mac_bytes, opt, report

IFACE, SERVER, RELAY = sys.argv[1], "10.99.0.1", "10.99.0.2"
RAPID = 80


def ask(pkt, xid, timeout=3):
    """Sends pkt at L2; the first BOOTREPLY with xid (as BOOTP), or None."""
    frame = exchange(IFACE, pkt, lambda f: bootreply(f, {xid}) is not None, timeout)
    return as_bootp(frame) if frame is not None else None


def client(mac, xid, options, ciaddr="0.0.0.0"):
    return ask(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
               UDP(sport=68, dport=67) /
               BOOTP(chaddr=mac_bytes(mac), xid=xid, ciaddr=ciaddr, flags=0x8000) /
               DHCP(options=options + ["end"]), xid)


def relayed(mac, xid, options, giaddr):
    return ask(Ether(src=get_if_hwaddr(IFACE), dst="ff:ff:ff:ff:ff:ff") / IP(src=RELAY, dst=SERVER) /
               UDP(sport=67, dport=67) /
               BOOTP(chaddr=mac_bytes(mac), xid=xid, giaddr=giaddr, hops=1) /
               DHCP(options=options + ["end"]), xid)


# ---- RFC 4039 rapid commit ----------------------------------------------------
mac = "02:aa:00:00:80:01"
xid = random.getrandbits(32)
r = client(mac, xid, [("message-type", "discover"), (RAPID, b"")])
check("DISCOVER with option 80 gets an ACK", r is not None and opt(r, "message-type") == 5)
if r is not None:
    check("the ACK carries option 80, empty", opt(r, RAPID) == b"")
    check("the ACK gives an address of the subnet with a lease time",
          r.yiaddr.startswith("10.99.") and opt(r, "lease_time") is not None)
    check("the ACK's server id is the server's", opt(r, "server_id") == SERVER)
    # The lease is the client's: a REQUEST for it in INIT-REBOOT is ACKed.
    xid2 = random.getrandbits(32)
    a = client(mac, xid2, [("message-type", "request"), ("requested_addr", r.yiaddr)])
    check("the rapid lease is the client's (INIT-REBOOT ACKed)", a is not None and opt(a, "message-type") == 5
          and a.yiaddr == r.yiaddr and not has_opt(a, RAPID))
xid = random.getrandbits(32)
r = client("02:aa:00:00:80:02", xid, [("message-type", "discover")])
check("DISCOVER without option 80 gets an OFFER without 80",
      r is not None and opt(r, "message-type") == 2 and not has_opt(r, RAPID))
xid = random.getrandbits(32)
r = relayed("02:aa:00:00:80:03", xid, [("message-type", "discover"), (RAPID, b"")], "10.98.0.1")
check("DISCOVER with 80 in a subnet with rapid_commit = false gets an OFFER without 80",
      r is not None and opt(r, "message-type") == 2 and not has_opt(r, RAPID) and r.yiaddr.startswith("10.98."))

# ---- RFC 5107 server identifier override ----------------------------------------
OVERRIDE = "10.98.0.1"   # the relay's address on the client's link
agent = b"\x01\x06eth0/9\x0b\x04" + bytes(int(x) for x in OVERRIDE.split(".")) + b"\x02\x03r-9"
mac = "02:aa:00:00:0b:01"
xid = random.getrandbits(32)
r = relayed(mac, xid, [("message-type", "discover"), ("relay_agent_information", agent)], "10.98.0.1")
check("relayed DISCOVER with 82.11 gets an OFFER", r is not None and opt(r, "message-type") == 2)
if r is not None:
    check("the OFFER's server id is the override", opt(r, "server_id") == OVERRIDE)
    check("option 82 echoed unchanged", bytes(opt(r, "relay_agent_information") or b"") == agent)
    yiaddr = r.yiaddr
    a = relayed(mac, xid, [("message-type", "request"), ("server_id", OVERRIDE), ("requested_addr", yiaddr),
                           ("relay_agent_information", agent)], "10.98.0.1")
    check("REQUEST naming the override is ACKed", a is not None and opt(a, "message-type") == 5 and
          a.yiaddr == yiaddr and opt(a, "server_id") == OVERRIDE)
    xid2 = random.getrandbits(32)
    n = relayed(mac, xid2, [("message-type", "request"), ("server_id", OVERRIDE), ("requested_addr", yiaddr),
                            ("relay_agent_information", b"\x01\x06eth0/9")], "10.98.0.1")
    check("the same REQUEST without 82.11 is another server's (silence)", n is None)

# ---- interface_address: VLAN 97's segment ----------------------------------------
def tagged(mac, xid, options, vlan):
    return ask(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=vlan) /
               IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) /
               BOOTP(chaddr=mac_bytes(mac), xid=xid, flags=0x8000) / DHCP(options=options + ["end"]), xid)


def tagged_frame(mac, xid, options, vlan, timeout=3):
    """As tagged(), but the whole reply frame: here the IPv4 source matters."""
    return exchange(IFACE, Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=vlan) /
                    IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) /
                    BOOTP(chaddr=mac_bytes(mac), xid=xid, flags=0x8000) / DHCP(options=options + ["end"]),
                    lambda f: UDP in f and f[UDP].sport == 67 and as_bootp(f).xid == xid, timeout)


IFACE_V97 = "10.97.0.1"
mac = "02:aa:00:00:97:01"
xid = random.getrandbits(32)
f = tagged_frame(mac, xid, [("message-type", "discover")], 97)
r = as_bootp(f) if f is not None else None
check("tagged DISCOVER on VLAN 97 gets an OFFER of its subnet",
      r is not None and opt(r, "message-type") == 2 and r.yiaddr.startswith("10.97.0."))
if r is not None:
    check("the OFFER's server id is the interface address", opt(r, "server_id") == IFACE_V97)
    check("the OFFER comes from the interface address, tagged 97",
          f[IP].src == IFACE_V97 and Dot1Q in f and f[Dot1Q].vlan == 97)
    a = tagged(mac, xid, [("message-type", "request"), ("server_id", IFACE_V97), ("requested_addr", r.yiaddr)], 97)
    check("REQUEST naming the interface address is ACKed", a is not None and opt(a, "message-type") == 5)


me = get_if_hwaddr(IFACE)
for target, answered in ((IFACE_V97, True), ("10.97.0.3", False)):
    got = exchange(IFACE, Ether(src=me, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=97) /
                   ARP(op=1, hwsrc=me, psrc="10.97.0.2", pdst=target),
                   lambda f: ARP in f and f[ARP].op == 2 and f[ARP].psrc == target, timeout=1 if not answered else 2)
    if answered:
        check("ARP for the interface address answered, tagged 97",
              got is not None and Dot1Q in got and got[Dot1Q].vlan == 97 and got[ARP].pdst == "10.97.0.2")
        server_mac = got[ARP].hwsrc if got is not None else "ff:ff:ff:ff:ff:ff"
    else:
        check("ARP for another address of the segment not answered", got is None)
got = exchange(IFACE, Ether(src=me, dst=server_mac) / Dot1Q(vlan=97) / IP(src="10.97.0.2", dst=IFACE_V97) /
               ICMP(type=8, id=0x97, seq=1) / b"dorado",
               lambda f: ICMP in f and f[ICMP].type == 0 and f[ICMP].id == 0x97 and f[IP].src == IFACE_V97)
check("ping of the interface address answered", got is not None and bytes(got[ICMP].payload).startswith(b"dorado"))

sys.exit(report())
