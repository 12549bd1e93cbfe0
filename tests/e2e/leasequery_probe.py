#!/usr/bin/python3
"""Leasequery (RFC 4388) against a running dorado, from the client namespace
acting as a relay (10.99.0.2, in [leasequery] allowed): relayed DORAs for
clients keyed by MAC and by client-id, then DHCPLEASEQUERY by IP, by MAC and
by client-id for each, answered at the relay's port 67; addresses free and
foreign; a requester not allowed gets silence. With several workers the
queries by IP reach the shard owning the address, the others the client's.
Prints `N passed, N failed`.
"""
import random
import sys

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, get_if_hwaddr

from dhcp_probe import as_bootp, bootreply, check, exchange, mac_bytes, opt, report

IFACE, SERVER, RELAY, STRANGER = sys.argv[1], "10.99.0.1", "10.99.0.2", "10.99.0.3"
CLIENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 16
LEASE_ACTIVE, LEASE_UNASSIGNED, LEASE_UNKNOWN = 13, 11, 12


relay_mac = get_if_hwaddr(IFACE)


def relayed(bootp_fields, options, src=RELAY, timeout=2):
    """Sends a BOOTP request from the relay (port 67 -> 67); returns the reply's BOOTP or None."""
    xid = random.getrandbits(32)
    pkt = (Ether(src=relay_mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=src, dst=SERVER) /
           UDP(sport=67, dport=67) / BOOTP(xid=xid, hops=1, **bootp_fields) /
           DHCP(options=options + ["end"]))
    frame = exchange(IFACE, pkt, lambda f: bootreply(f, {xid}, 67, 67) is not None, timeout)
    if frame is None:
        return None
    b = as_bootp(frame)
    b.ip_dst = frame[IP].dst
    return b


def dora(mac, client_id=None):
    extra = [("client_id", client_id)] if client_id else []
    agent = b"\x01\x05port" + bytes([ord(mac[-1])]) + b"\x02\x03cpe"
    f = dict(chaddr=mac_bytes(mac), giaddr=RELAY)
    offer = relayed(f, [("message-type", "discover"), ("relay_agent_information", agent)] + extra)
    if offer is None:
        return None
    ack = relayed(f, [("message-type", "request"), ("server_id", SERVER),
                      ("requested_addr", offer.yiaddr), ("relay_agent_information", agent)] + extra)
    agents[mac] = agent
    return offer.yiaddr if ack is not None and opt(ack, "message-type") == 5 else None


def query(src=RELAY, ciaddr="0.0.0.0", mac=None, client_id=None):
    f = dict(ciaddr=ciaddr, giaddr=src)
    if mac:
        f.update(chaddr=mac_bytes(mac), htype=1, hlen=6)
    else:
        f.update(htype=0, hlen=0)
    options = [("message-type", 10)] + ([("client_id", client_id)] if client_id else [])
    return relayed(f, options, src=src)


macs = ["02:1a:00:00:%02x:%02x" % (i >> 8, i & 0xff) for i in range(CLIENTS)]
ids = {}
addrs = {}
agents = {}
for i, mac in enumerate(macs):
    cid = (b"\xff\x00\x00\x00\x01cpe-%d" % i) if i % 2 else None   # odd clients: by client-id
    a = dora(mac, cid)
    if a is not None:
        addrs[mac] = a
        ids[mac] = cid
check("%d relayed clients leased (%d of them by client-id)" % (CLIENTS, CLIENTS // 2),
      len(addrs) == CLIENTS)

by_ip = by_key = 0
for mac, a in addrs.items():
    r = query(ciaddr=a)
    ok = (r is not None and opt(r, "message-type") == LEASE_ACTIVE and r.ciaddr == a and
          r.chaddr[:6] == mac_bytes(mac)[:6] and r.ip_dst == RELAY and
          0 < (opt(r, "lease_time") or 0) <= 600 and
          bytes(opt(r, "relay_agent_information") or b"") == agents[mac])
    by_ip += ok
    if ids[mac]:
        r = query(client_id=ids[mac])
        ok = (r is not None and opt(r, "message-type") == LEASE_ACTIVE and r.ciaddr == a and
              opt(r, "client_id") == ids[mac] and opt(r, "associated-ip") == a)
    else:
        r = query(mac=mac)
        ok = (r is not None and opt(r, "message-type") == LEASE_ACTIVE and r.ciaddr == a and
              opt(r, "associated-ip") == a)
    by_key += ok
check("query by IP: DHCPLEASEACTIVE with the client's MAC and option 82 for %d/%d" % (by_ip, len(addrs)),
      by_ip == len(addrs) and by_ip > 0)
check("query by MAC or client-id: DHCPLEASEACTIVE with its address for %d/%d" % (by_key, len(addrs)),
      by_key == len(addrs) and by_key > 0)

r = query(ciaddr="10.99.10.200")   # in the pool, never leased in this test
check("query by IP of a free pool address: DHCPLEASEUNASSIGNED",
      r is not None and opt(r, "message-type") == LEASE_UNASSIGNED and r.ciaddr == "10.99.10.200")
r = query(ciaddr="192.0.2.77")
check("query by IP of a foreign address: DHCPLEASEUNKNOWN", r is not None and opt(r, "message-type") == LEASE_UNKNOWN)
r = query(mac="02:1b:00:00:00:01")
check("query by an unknown MAC: DHCPLEASEUNKNOWN", r is not None and opt(r, "message-type") == LEASE_UNKNOWN)
r = query(client_id=b"\xffnobody")
check("query by an unknown client-id: DHCPLEASEUNKNOWN", r is not None and opt(r, "message-type") == LEASE_UNKNOWN)
first = next(iter(addrs.values()), "10.99.1.10")
r = query(src=STRANGER, ciaddr=first)
check("a requester not in [leasequery] allowed gets silence", r is None)

sys.exit(report())
