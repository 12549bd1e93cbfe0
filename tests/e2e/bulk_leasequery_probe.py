#!/usr/bin/python3
"""Bulk leasequery (RFC 6926) against a running dorado.

  bulk_leasequery_probe.py dora IFACE N OUT.json
      From the client namespace acting as a relay (10.99.0.2): relayed DORAs
      for N clients; option 82 carries a circuit-id, a remote-id "cpe-<i>" and
      a relay-id (sub-option 12) "relay-A" (even clients) or "relay-B" (odd).
      Writes {address: option 82 hex, ...} per relay to OUT.json.
  bulk_leasequery_probe.py query PORT EXPECT.json
      A TCP requestor on 127.0.0.1:PORT (the server namespace): a
      DHCPBULKLEASEQUERY by relay-id for each relay, one by remote-id, one for
      all leases, one with a query-start-time in the future and a malformed
      one, on one connection; checks every DHCPLEASEACTIVE (xid, address, the
      option 82 byte for byte) and the DHCPLEASEQUERYDONE / STATUS endings.
Prints `N passed, N failed`; exit status 1 on any failure.
"""
import json
import random
import socket
import struct
import sys
import time

from dhcp_probe import as_bootp, bootreply, check, exchange, opt, report


def agent_of(i):
    relay = b"relay-A" if i % 2 == 0 else b"relay-B"
    remote = b"cpe-%d" % i
    circuit = b"port%d" % i
    return (bytes([1, len(circuit)]) + circuit + bytes([2, len(remote)]) + remote +
            bytes([12, len(relay)]) + relay), relay.decode()


def dora_mode(iface, n, out):
    from scapy.all import BOOTP, DHCP, IP, UDP, Ether, get_if_hwaddr
    server, relay_ip = "10.99.0.1", "10.99.0.2"
    relay_mac = get_if_hwaddr(iface)

    def relayed(fields, options, timeout=2):
        xid = random.getrandbits(32)
        pkt = (Ether(src=relay_mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=relay_ip, dst=server) /
               UDP(sport=67, dport=67) / BOOTP(xid=xid, hops=1, **fields) / DHCP(options=options + ["end"]))
        frame = exchange(iface, pkt, lambda f: bootreply(f, {xid}, 67, 67) is not None, timeout)
        return as_bootp(frame) if frame is not None else None

    leases = {"relay-A": {}, "relay-B": {}}
    for i in range(n):
        mac = bytes.fromhex("021b0000%04x" % i) + b"\0" * 10
        agent, relay = agent_of(i)
        f = dict(chaddr=mac, giaddr=relay_ip)
        ack = None
        for _ in range(3):
            offer = relayed(f, [("message-type", "discover"), ("relay_agent_information", agent)])
            if offer is None:
                continue
            ack = relayed(f, [("message-type", "request"), ("server_id", server),
                              ("requested_addr", offer.yiaddr), ("relay_agent_information", agent)])
            if opt(ack, "message-type") == 5:
                leases[relay][offer.yiaddr] = agent.hex()
                break
    got = len(leases["relay-A"]) + len(leases["relay-B"])
    check("%d relayed clients leased through two relays" % n, got == n)
    json.dump(leases, open(out, "w"))


def message(xid, ciaddr=0, options=()):
    b = bytearray(236)
    b[0] = 1
    struct.pack_into("!I", b, 4, xid)
    struct.pack_into("!I", b, 12, ciaddr)
    b += bytes([99, 130, 83, 99, 53, 1, 14])
    for code, value in options:
        b += bytes([code, len(value)]) + value
    b += b"\xff"
    return struct.pack("!H", len(b)) + bytes(b)


def parse(m):
    """(type, xid, ciaddr, {code: value})"""
    opts, i = {}, 240
    while i < len(m) and m[i] != 255:
        if m[i] == 0:
            i += 1
            continue
        opts[m[i]] = m[i + 2:i + 2 + m[i + 1]]
        i += 2 + m[i + 1]
    return opts.get(53, b"\0")[0], struct.unpack_from("!I", m, 4)[0], socket.inet_ntoa(m[12:16]), opts


class Conn:
    def __init__(self, port):
        deadline = time.monotonic() + 5
        while True:   # the listener opens right after "serving"
            try:
                self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.buf = b""

    def read_until_end(self, xid, timeout=5):
        msgs, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            while len(self.buf) >= 2 and len(self.buf) >= 2 + struct.unpack_from("!H", self.buf)[0]:
                n = struct.unpack_from("!H", self.buf)[0]
                m, self.buf = self.buf[2:2 + n], self.buf[2 + n:]
                msgs.append(parse(m))
                if msgs[-1][0] in (15, 17):
                    return msgs
            data = self.s.recv(65536)
            if not data:
                break
            self.buf += data
        return msgs


def query_mode(port, expect_file):
    expect = json.load(open(expect_file))
    c = Conn(port)
    xid = 100
    total = 0
    for relay, want in sorted(expect.items()):
        xid += 1
        t0 = time.monotonic()
        c.s.sendall(message(xid, options=[(82, bytes([12, len(relay)]) + relay.encode())]))
        msgs = c.read_until_end(xid)
        took = time.monotonic() - t0
        active = {m[2]: m[3].get(82, b"").hex() for m in msgs if m[0] == 13 and m[1] == xid}
        check("by relay-id %s: %d DHCPLEASEACTIVE, each with its option 82 byte for byte, then DONE (%.3f s)" %
              (relay, len(want), took),
              active == want and msgs and msgs[-1][0] == 15 and msgs[-1][1] == xid and
              len(msgs) == len(want) + 1)
        total += len(want)
    xid += 1
    c.s.sendall(message(xid, options=[(82, b"\x02\x05cpe-3")]))
    msgs = c.read_until_end(xid)
    check("by remote-id cpe-3: one lease, then DONE",
          [m[0] for m in msgs] == [13, 15] and msgs[0][3].get(82, b"").hex() in expect["relay-B"].values())
    xid += 1
    c.s.sendall(message(xid))
    msgs = c.read_until_end(xid)
    check("all: %d leases, then DONE" % total, len([m for m in msgs if m[0] == 13]) == total and msgs[-1][0] == 15)
    xid += 1
    c.s.sendall(message(xid, options=[(154, struct.pack("!I", int(time.time()) + 3600))]))
    msgs = c.read_until_end(xid)
    check("query-start-time in an hour: no lease, DONE", [m[0] for m in msgs] == [15])
    xid += 1
    c.s.sendall(message(xid, options=[(154, b"\x01\x02")]))
    msgs = c.read_until_end(xid)
    check("malformed query-start-time: DHCPLEASEQUERYSTATUS MalformedQuery (3)",
          len(msgs) == 1 and msgs[0][0] == 17 and msgs[0][1] == xid and msgs[0][3].get(151, b"\0")[0] == 3)
    c.s.close()


if __name__ == "__main__":
    if sys.argv[1] == "dora":
        dora_mode(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        query_mode(int(sys.argv[2]), sys.argv[3])
    sys.exit(report())
