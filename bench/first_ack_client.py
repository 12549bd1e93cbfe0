#!/usr/bin/env python3
"""The client of bench/first_ack.sh: a subscriber whose lease is in the
store, rebooting (INIT-REBOOT: a broadcast REQUEST for its address, no
server id) every INTERVAL seconds until a server ACKs it.

  first_ack_client.py IFACE MAC ADDRESS [INTERVAL] [TIMEOUT]

Prints "ready" once its socket is open, then one line when it is answered:
"ack T" (T: the wall-clock time of the ACK, seconds since the epoch), or
"nak T"; exits 1 with "timeout" after TIMEOUT seconds (default 120).
Plain AF_PACKET sockets, no scapy: it starts fast and costs little CPU
while it waits.
"""
import select
import socket
import struct
import sys
import time


def ip_checksum(header):
    s = sum(struct.unpack("!10H", header))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def request_frame(mac, address, xid):
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                        bytes(4), bytes(4), bytes(4), bytes(4), mac + bytes(10),
                        bytes(64), bytes(128))
    options = (b"\x63\x82\x53\x63" + b"\x35\x01\x03" + b"\x32\x04" + address
               + b"\x37\x03\x01\x03\x06" + b"\xff")
    payload = bootp + options
    udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes(4), b"\xff\xff\xff\xff")
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    return b"\xff" * 6 + mac + b"\x08\x00" + ip + udp


def reply_type(frame, xids):
    """53's value when the frame is a BOOTREPLY to port 68 with one of xids."""
    if len(frame) < 14 + 20 + 8 + 240 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    ihl = (frame[14] & 0x0F) * 4
    udp = 14 + ihl
    if struct.unpack("!H", frame[udp + 2:udp + 4])[0] != 68:
        return None
    b = frame[udp + 8:]
    if b[0] != 2 or struct.unpack("!I", b[4:8])[0] not in xids:
        return None
    i = 240
    while i + 1 < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        if b[i] == 53 and i + 2 < len(b):
            return b[i + 2]
        i += 2 + b[i + 1]
    return None


def main():
    iface, mac_text, addr_text = sys.argv[1:4]
    interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.01
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 120.0
    mac = bytes.fromhex(mac_text.replace(":", ""))
    address = socket.inet_aton(addr_text)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sock.bind((iface, 0))
    print("ready", flush=True)
    xids, xid = set(), 0x5EED0000
    deadline = time.monotonic() + timeout
    next_send = 0.0
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_send:
            xid += 1
            xids.add(xid)
            sock.send(request_frame(mac, address, xid))
            next_send = now + interval
        if select.select([sock], [], [], max(0.0, next_send - time.monotonic()))[0]:
            t = reply_type(sock.recv(2048), xids)
            if t in (5, 6):
                print(("ack" if t == 5 else "nak") + " %.6f" % time.time(), flush=True)
                return 0 if t == 5 else 2
    print("timeout", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
