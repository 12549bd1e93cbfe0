#!/usr/bin/python3
"""Crafted DHCP exchanges against a running dorado (run inside the client
namespace): INIT-REBOOT NAK cases and silence, a relayed request with option
82 answered at the relay's port 67 with 82 echoed. Prints `N passed, N failed`.
"""
import random
import sys

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, get_if_hwaddr

from dhcp_probe import as_bootp, check, exchange, mac_bytes, opt, report

IFACE, SERVER, RELAY = sys.argv[1], "10.99.0.1", "10.99.0.2"


def broadcast(mac, xid, options, ciaddr="0.0.0.0", timeout=2):
    p = (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
         UDP(sport=68, dport=67) / BOOTP(chaddr=mac_bytes(mac), xid=xid, ciaddr=ciaddr, flags=0x8000) /
         DHCP(options=options + ["end"]))
    return exchange(IFACE, p, lambda r: BOOTP in r and r[BOOTP].xid == xid and r[BOOTP].op == 2, timeout)


def dora(mac):
    xid = random.getrandbits(32)
    offer = broadcast(mac, xid, [("message-type", "discover")])
    if offer is None:
        return None
    yiaddr = offer[BOOTP].yiaddr
    ack = broadcast(mac, xid, [("message-type", "request"), ("server_id", SERVER),
                                ("requested_addr", yiaddr)])
    return yiaddr if ack is not None and opt(ack, "message-type") == 5 else None


mac_a = "02:aa:00:00:00:0a"
addr = dora(mac_a)
check("scapy client completes DORA (%s)" % addr, addr is not None)

# INIT-REBOOT: requested address, no server id, no ciaddr.
def init_reboot(mac, requested):
    return broadcast(mac, random.getrandbits(32),
                     [("message-type", "request"), ("requested_addr", requested)])

r = init_reboot(mac_a, addr)
check("INIT-REBOOT for the client's own address gets ACK", r is not None and opt(r, "message-type") == 5)
other = "10.99.9.%d" % random.randint(10, 250)
r = init_reboot(mac_a, other)
check("INIT-REBOOT for an address not the client's gets NAK",
      r is not None and opt(r, "message-type") == 6 and r[BOOTP].yiaddr == "0.0.0.0")
r = init_reboot(mac_a, "192.168.77.7")
check("INIT-REBOOT for an address in the wrong subnet gets NAK", r is not None and opt(r, "message-type") == 6)
r = init_reboot("02:aa:00:00:00:0b", "10.99.1.50")
check("INIT-REBOOT from an unknown client gets silence", r is None)

# A relayed DISCOVER: from the relay's address and port 67, giaddr set, with
# option 82 (circuit id, remote id). The OFFER must come to the relay's port
# 67, unicast, with option 82 echoed byte for byte.
relay_mac = get_if_hwaddr(IFACE)
client_mac = "02:cc:00:00:00:0c"
xid = random.getrandbits(32)
agent = b"\x01\x06eth0/1\x02\x08remote-7"
got = exchange(IFACE, Ether(src=relay_mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=RELAY, dst=SERVER) /
               UDP(sport=67, dport=67) /
               BOOTP(chaddr=mac_bytes(client_mac), xid=xid, giaddr=RELAY, hops=1) /
               DHCP(options=[("message-type", "discover"), ("relay_agent_information", agent), "end"]),
               lambda r: UDP in r and r[UDP].dport == 67 and r[UDP].sport == 67 and
               as_bootp(r).op == 2 and as_bootp(r).xid == xid, timeout=3)
check("relayed DISCOVER answered", got is not None)
if got is not None:
    reply = as_bootp(got)
    check("reply goes to the relay address", got[IP].dst == RELAY)
    check("reply goes to UDP port 67", got[UDP].dport == 67)
    check("reply L2 destination is the relay's MAC", got[Ether].dst == relay_mac)
    check("reply is an OFFER in the giaddr's subnet",
          opt(reply, "message-type") == 2 and reply.yiaddr.startswith("10.99."))
    check("option 82 echoed unchanged", bytes(opt(reply, "relay_agent_information") or b"") == agent)
    check("giaddr kept in the reply", reply.giaddr == RELAY)

# Option overload (52): 53 in file (1), then 53, 54, 50 in sname (2). Raw
# vendor bytes, no scapy DHCP layer (it never overloads).
COOKIE = b"\x63\x82\x53\x63"


def raw_request(mac, xid, vendor, file=b"", sname=b"", giaddr="0.0.0.0", src="0.0.0.0", sport=68):
    vendor = vendor.ljust(64, b"\0")
    return (Ether(src=mac if giaddr == "0.0.0.0" else get_if_hwaddr(IFACE), dst="ff:ff:ff:ff:ff:ff") /
            IP(src=src, dst="255.255.255.255" if giaddr == "0.0.0.0" else SERVER) /
            UDP(sport=sport, dport=67) /
            BOOTP(chaddr=mac_bytes(mac), xid=xid, flags=0x8000, giaddr=giaddr, hops=int(giaddr != "0.0.0.0"),
                  sname=sname, file=file, options=vendor))


def reply_to(xid):
    return lambda r: UDP in r and r[UDP].sport == 67 and as_bootp(r).op == 2 and as_bootp(r).xid == xid


mac_o = "02:aa:00:00:00:52"
xid = random.getrandbits(32)
got = exchange(IFACE, raw_request(mac_o, xid, COOKIE + bytes([52, 1, 1, 255]), file=bytes([53, 1, 1, 55, 2, 1, 3, 255])),
               reply_to(xid), timeout=3)
offer = as_bootp(got) if got is not None else None
check("DISCOVER with option 53 in file (overload 1) gets an OFFER",
      offer is not None and DHCP in offer and opt(offer, "message-type") == 2)
if offer is not None:
    yi = offer.yiaddr
    sname = bytes([53, 1, 3, 54, 4]) + bytes(int(x) for x in SERVER.split(".")) + \
        bytes([50, 4]) + bytes(int(x) for x in yi.split(".")) + bytes([255])
    got = exchange(IFACE, raw_request(mac_o, xid, COOKIE + bytes([52, 1, 2, 255]), sname=sname), reply_to(xid), timeout=3)
    ack = as_bootp(got) if got is not None else None
    check("REQUEST with 53, 54, 50 in sname (overload 2) gets an ACK for the offer",
          ack is not None and DHCP in ack and opt(ack, "message-type") == 5 and ack.yiaddr == yi)

# BOOTP clients (no option 53). The reserved MAC of lib.sh's config, no
# cookie (RFC 951): a BOOTREPLY with its address, the cookie and the mask.
xid = random.getrandbits(32)
got = exchange(IFACE, raw_request("02:00:00:00:00:01", xid, b""), reply_to(xid), timeout=3)
bootreply = as_bootp(got) if got is not None else None
check("plain BOOTP client with a reservation gets a BOOTREPLY with its address",
      bootreply is not None and bootreply.yiaddr == "10.99.0.100")
if bootreply is not None:
    check("BOOTREPLY: no message type, cookie and subnet mask in the vendor area",
          DHCP in bootreply and opt(bootreply, "message-type") is None and
          opt(bootreply, "subnet_mask") == "255.255.0.0")
    check("BOOTREPLY is 300 bytes of BOOTP (64-byte vendor area)", len(bytes(got[UDP].payload)) == 300)
# Without a reservation, in a subnet without bootp: silence (counted).
xid = random.getrandbits(32)
check("BOOTP client without reservation (no bootp) gets silence",
      exchange(IFACE, raw_request("02:aa:00:00:00:b0", xid, COOKIE + bytes([255])), reply_to(xid), timeout=1) is None)
# The relayed subnet 10.98.0.0/24 says bootp = true: an RFC 1497 client
# without reservation gets a pool address there, at the relay's port 67.
xid = random.getrandbits(32)
got = exchange(IFACE, raw_request("02:aa:00:00:00:b1", xid, COOKIE + bytes([255]), giaddr="10.98.0.1", src=RELAY, sport=67),
               lambda r: UDP in r and r[UDP].dport == 67 and as_bootp(r).op == 2 and as_bootp(r).xid == xid,
               timeout=3)
pooled = as_bootp(got) if got is not None else None
check("BOOTP client in a bootp = true subnet gets a pool address through the relay",
      pooled is not None and pooled.yiaddr.startswith("10.98.0.") and got[IP].dst == "10.98.0.1" and
      opt(pooled, "message-type") is None)

sys.exit(report())
