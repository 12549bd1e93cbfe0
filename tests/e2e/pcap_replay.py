#!/usr/bin/python3
"""Input and verdict for pcap_test.sh (dorado on DPDK's net_pcap).

  pcap_replay.py make IN.pcap      writes the requests
  pcap_replay.py check OUT.pcap    checks dorado's replies; prints N passed, N failed
"""
import sys

from scapy.all import (ARP, BOOTP, DHCP, ICMP, IP, UDP, Dot1AD, Dot1Q, Ether, rdpcap,
                       wrpcap)

SERVER = "10.99.0.1"
PLAIN, TAGGED, QINQ = 40, 20, 10     # DISCOVERs: untagged, 802.1Q vid 42, 802.1ad 100/42


def mac(i):
    return "02:dd:00:00:%02x:%02x" % (i >> 8, i & 0xff)


def discover(i):
    m = mac(i)
    return (IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) /
            BOOTP(chaddr=bytes.fromhex(m.replace(":", "")) + b"\0" * 10, xid=0x1000 + i, flags=0x8000) /
            DHCP(options=[("message-type", "discover"), ("param_req_list", [1, 3, 6, 15]), "end"]))


def make(path):
    pkts = []
    for i in range(PLAIN + TAGGED + QINQ):
        eth = Ether(src=mac(i), dst="ff:ff:ff:ff:ff:ff")
        if i < PLAIN:
            pkts.append(eth / discover(i))
        elif i < PLAIN + TAGGED:
            pkts.append(eth / Dot1Q(vlan=42) / discover(i))
        else:
            pkts.append(eth / Dot1AD(vlan=100) / Dot1Q(vlan=42) / discover(i))
    pkts.append(Ether(src=mac(999), dst="ff:ff:ff:ff:ff:ff") /
                ARP(op=1, hwsrc=mac(999), psrc="10.99.0.2", pdst=SERVER))
    pkts.append(Ether(src=mac(999), dst="02:00:00:00:00:ff") /
                IP(src="10.99.0.2", dst=SERVER) / ICMP(type=8, id=7, seq=1) / (b"x" * 32))
    pkts.append(Ether(src=mac(999)) / IP(src="10.99.0.2", dst=SERVER) / UDP(sport=5, dport=53) / b"dns?")
    wrpcap(path, pkts)


def check(path):
    passed = failed = 0

    def ok(what, cond):
        nonlocal passed, failed
        passed, failed = passed + bool(cond), failed + (not cond)
        print(("ok   - " if cond else "FAIL - ") + what, flush=True)

    offers, tags, yiaddrs = {}, {}, []
    arp = icmp = 0
    for p in rdpcap(path):
        if BOOTP in p and DHCP in p:
            xid = p[BOOTP].xid
            offers[xid] = p
            yiaddrs.append(p[BOOTP].yiaddr)
            tags[xid] = [l.vlan for l in (p[Dot1AD], p[Dot1Q]) if l is not None] if Dot1AD in p else \
                ([p[Dot1Q].vlan] if Dot1Q in p else [])
        elif ARP in p and p[ARP].op == 2 and p[ARP].psrc == SERVER:
            arp += 1
        elif ICMP in p and p[ICMP].type == 0 and p[IP].src == SERVER:
            icmp += 1
    n = PLAIN + TAGGED + QINQ
    ok("one OFFER per DISCOVER (%d of %d)" % (len(offers), n), len(offers) == n)
    ok("every OFFER is an OFFER", all(
        dict(o for o in p[DHCP].options if isinstance(o, tuple)).get("message-type") == 2
        for p in offers.values()))
    ok("no address offered twice", len(set(yiaddrs)) == len(yiaddrs))
    ok("untagged requests get untagged replies",
       all(tags.get(0x1000 + i) == [] for i in range(PLAIN)))
    ok("802.1Q vid 42 kept", all(tags.get(0x1000 + i) == [42] for i in range(PLAIN, PLAIN + TAGGED)))
    ok("802.1ad 100 + 802.1Q 42 kept",
       all(tags.get(0x1000 + i) == [100, 42] for i in range(PLAIN + TAGGED, n)))
    ok("broadcast flag -> broadcast reply",
       all(p[Ether].dst == "ff:ff:ff:ff:ff:ff" and p[IP].dst == "255.255.255.255" for p in offers.values()))
    ok("ARP request for the server answered", arp == 1)
    ok("ping of the server answered", icmp == 1)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2]))
