#!/usr/bin/python3
"""Client classes against a running dorado (tests/e2e/classes_test.sh), from
the client namespace acting as a relay (10.99.0.2): DISCOVERs carrying
option 60, 77 and 82 get their class's options and pool; a plain one does
not; a member of a drop class gets silence. Prints `N passed, N failed`.
"""
import random
import sys

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, conf, get_if_hwaddr

from dhcp_probe import check, opt, report, text, wait_reply

IFACE, SERVER, RELAY = sys.argv[1], "10.99.0.1", "10.99.0.2"
relay_mac = get_if_hwaddr(IFACE)
sock = conf.L2socket(iface=IFACE)


def discover(n, extra, timeout=2.0):
    """A relayed DISCOVER for client n with extra options; the OFFER's BOOTP or None."""
    xid = random.getrandbits(32)
    chaddr = bytes([2, 0, 0, 0, 0x16, n]) + b"\0" * 10
    pkt = (Ether(src=relay_mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=RELAY, dst=SERVER) /
           UDP(sport=67, dport=67) / BOOTP(xid=xid, hops=1, chaddr=chaddr, giaddr=RELAY) /
           DHCP(options=[("message-type", "discover"), ("param_req_list", [1, 3, 66, 67, 150])] + extra + ["end"]))
    sock.send(pkt)
    return wait_reply(sock, xid, timeout, dport=67)


phone = discover(1, [("vendor_class_id", b"PolycomVVX-411")])
check("phone (60 PolycomVVX...) gets an OFFER", phone is not None)
if phone is not None:
    check("phone's address is in its class's pool 10.99.11.0/24 (got %s)" % phone.yiaddr,
          phone.yiaddr.startswith("10.99.11."))
    check("phone gets its class's option 66", text(opt(phone, "tftp_server_name")) == "tftp.phones.example")
    check("phone gets its pool's option 150", opt(phone, "tftp_server_address") == "10.99.0.150")
    check("phone gets its pool's lease time 300", opt(phone, "lease_time") == 300)

plain = discover(2, [])
check("plain client gets an OFFER", plain is not None)
if plain is not None:
    check("plain client's address is not in the phones' pool (got %s)" % plain.yiaddr,
          not plain.yiaddr.startswith("10.99.11."))
    check("plain client gets the global option 66", text(opt(plain, "tftp_server_name")) == "tftp.global.example")
    check("plain client gets no option 150", opt(plain, "tftp_server_address") is None)
    check("plain client gets the subnet's lease time", opt(plain, "lease_time") == 600)

ipxe = discover(3, [("user_class", b"iPXE")])
check("iPXE (77) gets option 67 of its class", ipxe is not None and text(opt(ipxe, "boot-file-name")) == "ipxe.efi")

line = discover(4, [("relay_agent_information", b"\x01\x08eth0/1/7")])
check("line 7 (82 circuit-id) gets its class's option 66",
      line is not None and text(opt(line, "tftp_server_name")) == "tftp.line7.example")

blocked = discover(5, [("relay_agent_information", b"\x02\x07bad-cpe")], timeout=1.0)
check("drop class (82 remote-id bad-cpe) gets no answer", blocked is None)

sock.close()
sys.exit(report())
