#!/usr/bin/env python3
"""A MADCAP client (RFC 2730) for dorado's e2e test, written independently
of dorado's codec (control/madcap/message.hpp) from the same reading of the
message layout:

  version (1) = 0 | msgtype (1) | addrfamily (2) = 1 (IPv4) | xid (4)
  options: code (2) | length (2) | value ..., ending with End (0, 0)

Message types and option codes are IANA's "MADCAP Parameters"; the header
matches a summary of RFC 2730; the option value layouts (the 4-byte
Multicast Scope above all) agree with Microsoft's MADCAP implementation but
were NOT checked against the RFC text (docs/madcap.md, "What is checked
against what"). So this client cross-checks the codec, not the RFC.

Commands (one exchange each; the answer is printed as one JSON object):
  get       DISCOVER, then REQUEST for the OFFER's address naming its server
  renew     RENEW the lease
  release   RELEASE the lease
  getinfo   GETINFO asking for the scope list and the current time
  garbage   a datagram that is no MADCAP message (no answer expected)
  seeds DIR write one message of each kind to DIR (tests/fuzz/seeds/madcap)

Retransmits up to 3 times (1 s apart) and exits 2 when no answer came.
"""
import argparse
import json
import os
import random
import socket
import struct
import sys

DISCOVER, OFFER, REQUEST, RENEW, ACK, NAK, RELEASE, GETINFO = range(1, 9)
NAMES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "RENEW", 5: "ACK", 6: "NAK", 7: "RELEASE", 8: "GETINFO"}
O_END, O_LEASE_TIME, O_SERVER_ID, O_LEASE_ID, O_SCOPE, O_REQ_LIST = 0, 1, 2, 3, 4, 5
O_ADDR_COUNT, O_SCOPE_LIST, O_ADDR_LIST, O_TIME, O_FEATURES, O_ERROR = 7, 9, 10, 11, 12, 16


def ip_to_int(text):
    return struct.unpack("!I", socket.inet_aton(text))[0]


def int_to_ip(v):
    return socket.inet_ntoa(struct.pack("!I", v))


def build(msgtype, xid, options):
    out = struct.pack("!BBHI", 0, msgtype, 1, xid)
    for code, value in options:
        out += struct.pack("!HH", code, len(value)) + value
    return out + struct.pack("!HH", O_END, 0)


def parse(data):
    if len(data) < 8:
        raise ValueError("short")
    version, msgtype, family, xid = struct.unpack("!BBHI", data[:8])
    if version != 0 or family != 1:
        raise ValueError("version/family")
    opts, at = {}, 8
    while True:
        if len(data) - at < 4:
            raise ValueError("no End option")
        code, length = struct.unpack("!HH", data[at:at + 4])
        at += 4
        if code == O_END:
            break
        if len(data) - at < length:
            raise ValueError("truncated option")
        if code in opts:
            raise ValueError("option %d twice" % code)
        opts[code] = data[at:at + length]
        at += length
    return msgtype, xid, opts


def describe(msgtype, xid, opts):
    d = {"type": NAMES.get(msgtype, str(msgtype)), "xid": xid}
    if O_LEASE_ID in opts:
        d["lease_id"] = opts[O_LEASE_ID].decode("latin-1")
    if O_SERVER_ID in opts and len(opts[O_SERVER_ID]) == 6:
        d["server"] = int_to_ip(struct.unpack("!I", opts[O_SERVER_ID][2:])[0])
    if O_LEASE_TIME in opts:
        d["lease_time"] = struct.unpack("!I", opts[O_LEASE_TIME])[0]
    if O_SCOPE in opts:
        d["scope"] = int_to_ip(struct.unpack("!I", opts[O_SCOPE][-4:])[0])
    if O_ADDR_LIST in opts:
        ranges = opts[O_ADDR_LIST]
        d["addresses"] = []
        for i in range(0, len(ranges), 6):
            first, count = struct.unpack("!IH", ranges[i:i + 6])
            d["addresses"] += [int_to_ip(first + k) for k in range(count)]
    if O_TIME in opts:
        d["time"] = struct.unpack("!I", opts[O_TIME])[0]
    if O_ERROR in opts:
        d["error"] = struct.unpack("!H", opts[O_ERROR][:2])[0]
    if O_SCOPE_LIST in opts:
        b = opts[O_SCOPE_LIST]
        scopes, at = [], 1
        for _ in range(b[0]):
            first, last, ttl, names = struct.unpack("!IIBB", b[at:at + 10])
            at += 10
            labels = []
            for _ in range(names):
                _flags, tag_len = b[at], b[at + 1]
                at += 2 + tag_len
                name_len = b[at]
                labels.append(b[at + 1:at + 1 + name_len].decode())
                at += 1 + name_len
            scopes.append({"first": int_to_ip(first), "last": int_to_ip(last), "ttl": ttl, "names": labels})
        d["scopes"] = scopes
    return d


def exchange(sock, dest, msgtype, options, expect_reply=True):
    xid = random.getrandbits(32)
    msg = build(msgtype, xid, options)
    for _ in range(3):
        sock.sendto(msg, dest)
        if not expect_reply:
            return None
        try:
            while True:
                data, _ = sock.recvfrom(2048)
                rtype, rxid, opts = parse(data)
                if rxid == xid:   # a reply carries the request's xid
                    return rtype, rxid, opts
        except socket.timeout:
            continue
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["get", "renew", "release", "getinfo", "garbage", "seeds"])
    ap.add_argument("arg", nargs="?")
    ap.add_argument("--server", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2535)
    ap.add_argument("--lease-id", default="e2e-lease-1")
    ap.add_argument("--scope", default="239.1.0.0")
    ap.add_argument("--lease-time", type=int, default=0)
    a = ap.parse_args()
    lid = (O_LEASE_ID, a.lease_id.encode())
    scope = (O_SCOPE, struct.pack("!I", ip_to_int(a.scope)))
    lease_time = [(O_LEASE_TIME, struct.pack("!I", a.lease_time))] if a.lease_time else []

    if a.command == "seeds":
        os.makedirs(a.arg, exist_ok=True)
        sid = (O_SERVER_ID, struct.pack("!HI", 1, ip_to_int("10.99.0.1")))
        for name, t, o in [("discover", DISCOVER, [lid, scope, (O_ADDR_COUNT, struct.pack("!HH", 1, 1))]),
                           ("request", REQUEST, [lid, scope, sid, (O_LEASE_TIME, struct.pack("!I", 600)),
                                                 (O_ADDR_LIST, struct.pack("!IH", ip_to_int("239.1.0.5"), 1))]),
                           ("renew", RENEW, [lid, sid]), ("release", RELEASE, [lid, sid]),
                           ("getinfo", GETINFO, [lid, (O_REQ_LIST, struct.pack("!HHH", O_SCOPE_LIST, O_TIME,
                                                                                   O_FEATURES)),
                                                 (O_FEATURES, struct.pack("!HHH", 0, 0, 0))])]:
            with open(os.path.join(a.arg, name + ".bin"), "wb") as f:
                f.write(build(t, 0x01020304, o))
        return 0

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(1.0)
    dest = (a.server, a.port)
    if a.command == "garbage":
        sock.sendto(b"\x01\x02not madcap", dest)
        return 0
    if a.command == "get":
        r = exchange(sock, dest, DISCOVER, [lid, scope] + lease_time)
        if r is None or r[0] != OFFER:
            print(json.dumps({"error": "no OFFER", "got": describe(*r) if r else None}))
            return 2
        offer = describe(*r)
        server_id = (O_SERVER_ID, r[2][O_SERVER_ID])
        r = exchange(sock, dest, REQUEST, [lid, scope, server_id, (O_ADDR_LIST, r[2][O_ADDR_LIST])] + lease_time)
        if r is None:
            print(json.dumps({"error": "no answer to REQUEST", "offer": offer}))
            return 2
        d = describe(*r)
        d["offered"] = offer.get("addresses")
        print(json.dumps(d))
        return 0
    if a.command in ("renew", "release"):
        r = exchange(sock, dest, RENEW if a.command == "renew" else RELEASE, [lid] + lease_time)
    else:
        r = exchange(sock, dest, GETINFO, [lid, (O_REQ_LIST, struct.pack("!HH", O_SCOPE_LIST, O_TIME))])
    if r is None:
        print(json.dumps({"error": "no answer"}))
        return 2
    print(json.dumps(describe(*r)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
