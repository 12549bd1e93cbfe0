#!/usr/bin/env python3
"""Writes the hand-made wire_fuzz seeds (one raw Ethernet frame per file) to
tests/fuzz/seeds/wire/. Each seed reaches a path the pcap corpus does not:
VLAN stacks, relay sub-options, option overload, RFC 3396 splits, IPv4
options, unset UDP checksums; two are address text (wire/text.hpp's parsers
read every input as text too). Re-run after changing it and commit the output.

Usage: tests/fuzz/make_wire_seeds.py [OUTPUT_DIR]
"""
import pathlib
import struct
import sys


def csum(data: bytes, acc: int = 0) -> int:
    if len(data) % 2:
        data += b"\0"
    for (word,) in struct.iter_unpack("!H", data):
        acc += word
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return ~acc & 0xFFFF


def ip4(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def opt(code: int, value: bytes) -> bytes:
    assert len(value) <= 255
    return bytes([code, len(value)]) + value


def split_opt(code: int, value: bytes) -> bytes:
    """RFC 3396: a long value as consecutive instances of at most 255 bytes."""
    return b"".join(opt(code, value[i:i + 255]) for i in range(0, len(value), 255))


def bootp(op, xid, chaddr, options, ciaddr="0.0.0.0", yiaddr="0.0.0.0", giaddr="0.0.0.0",
          hops=0, flags=0, sname=b"", file=b"", cookie=True, pad_to=300):
    msg = struct.pack("!BBBBIHH", op, 1, 6, hops, xid, 0, flags)
    msg += ip4(ciaddr) + ip4(yiaddr) + ip4("0.0.0.0") + ip4(giaddr)
    msg += chaddr.ljust(16, b"\0") + sname.ljust(64, b"\0") + file.ljust(128, b"\0")
    if cookie:
        msg += bytes.fromhex("63825363") + options
    return msg.ljust(pad_to, b"\0")


def frame(payload, src_ip, dst_ip, sport=68, dport=67, vlans=(), ip_options=b"",
          udp_checksum=True, eth_src="00:0c:29:1f:74:06", eth_dst="ff:ff:ff:ff:ff:ff"):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if udp_checksum:
        pseudo = ip4(src_ip) + ip4(dst_ip) + struct.pack("!BBH", 0, 17, len(udp))
        c = csum(pseudo + udp) or 0xFFFF
        udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ihl = (20 + len(ip_options)) // 4
    hdr = struct.pack("!BBHHHBBH", 0x40 | ihl, 0x10, ihl * 4 + len(udp), 0x1234, 0, 64, 17, 0)
    hdr += ip4(src_ip) + ip4(dst_ip) + ip_options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    eth = mac(eth_dst) + mac(eth_src)
    for tpid, tci in vlans:
        eth += struct.pack("!HH", tpid, tci)
    return eth + struct.pack("!H", 0x0800) + hdr + udp


def seeds():
    client = mac("00:0c:29:1f:74:06")
    prl = bytes([1, 121, 3, 6, 15, 108, 114, 119, 252, 95, 44, 46, 51, 58, 59])

    discover = bootp(1, 0x9EDF45B0, client, b"".join([
        opt(53, b"\x01"), opt(55, prl), opt(57, struct.pack("!H", 1500)),
        opt(61, b"\x01" + client), opt(12, b"MacBookPro"), opt(51, struct.pack("!I", 7776000)),
        b"\xff"]))
    yield "discover.bin", frame(discover, "0.0.0.0", "255.255.255.255")

    relay = b"".join([opt(1, b"eth0/1/2:100"), opt(2, b"\x00\x11\x22\x33"),
                      opt(5, ip4("10.9.8.0")), opt(9, b"\x00\x00\x0d\xe9\x03\x01\x01z")])
    fqdn = b"\x05\x00\x00" + b"\x04host\x07example\x03org\x00"
    request = bootp(1, 0x068C4847, client, b"".join([
        opt(53, b"\x03"), opt(54, ip4("10.40.2.3")), opt(50, ip4("10.30.4.4")),
        opt(55, prl), opt(81, fqdn), opt(118, ip4("10.30.4.0")), opt(82, relay), b"\xff"]),
        giaddr="10.30.1.1", hops=1)
    yield "request_relayed_qinq.bin", frame(
        request, "10.30.1.1", "10.40.2.3", sport=67, dport=67,
        vlans=((0x88A8, 0x0064), (0x8100, 0x2001)), eth_src="74:83:ef:07:d0:a9",
        eth_dst="02:00:00:d0:2a:01")

    routes = b"".join(bytes([24, 10, 1, i, 10, 0, 0, 1]) for i in range(40))  # 320 bytes
    offer = bootp(2, 0x12345678, client, b"".join([
        opt(53, b"\x02"), opt(54, ip4("192.168.1.1")), opt(52, b"\x03"), opt(43, b"opt-"),
        split_opt(121, routes), b"\xff"]),
        yiaddr="192.168.1.100",
        file=opt(51, struct.pack("!I", 86400)) + opt(43, b"file-") + b"\xff",
        sname=opt(15, b"example.org") + opt(43, b"sname") + b"\xff")
    yield "offer_overload_split.bin", frame(offer, "192.168.1.1", "255.255.255.255",
                                            sport=67, dport=68, vlans=((0x8100, 0xA00A),))

    inform = bootp(1, 0x00C0FFEE, client, b"".join([
        opt(53, b"\x08"), opt(12, b"ws"), opt(15, b"ex"), opt(12, b"-01"), opt(15, b"ample.net"),
        opt(61, b"\xff\x00\x00\x00\x01\x00\x01\x02\x03"), opt(60, b"MSFT 5.0"),
        opt(77, b"\x07subopt1"), b"\x00\x00\xff"]), ciaddr="10.0.0.7", flags=0x8000)
    yield "inform_ipopts_nosum.bin", frame(inform, "10.0.0.7", "10.0.0.1",
                                           ip_options=bytes([0x94, 0x04, 0, 0]),
                                           udp_checksum=False)

    release = bootp(1, 0xCAFE0001, client, b"".join([
        opt(53, b"\x07"), opt(54, ip4("10.0.0.1")), opt(61, b"\x01" + client), b"\xff"]),
        ciaddr="10.0.0.7", pad_to=0)
    yield "release_unpadded.bin", frame(release, "10.0.0.7", "10.0.0.1")

    plain = bootp(1, 0x00000001, client, b"", cookie=False)
    yield "bootp_no_cookie.bin", frame(plain, "0.0.0.0", "255.255.255.255")

    # Requests whose 53 lies in file (overload 1), in sname (2), or 53 in
    # sname and the rest in file (3; read options, file, sname).
    in_file = bootp(1, 0x0F11E001, client, opt(52, b"\x01") + b"\xff",
                    file=opt(53, b"\x01") + opt(55, prl) + opt(61, b"\x01" + client) + b"\xff")
    yield "discover_53_in_file.bin", frame(in_file, "0.0.0.0", "255.255.255.255")
    in_sname = bootp(1, 0x0F11E002, client, opt(52, b"\x02") + opt(55, b"\x01\x03") + b"\xff",
                     sname=opt(53, b"\x03") + opt(54, ip4("10.0.0.1")) + opt(50, ip4("10.0.0.7")) + b"\xff")
    yield "request_53_in_sname.bin", frame(in_sname, "0.0.0.0", "255.255.255.255")
    both = bootp(1, 0x0F11E003, client, opt(52, b"\x03") + b"\xff",
                 sname=opt(53, b"\x01") + b"\xff",
                 file=opt(82, opt(1, b"port7")) + opt(12, b"over") + b"\xff", giaddr="10.1.0.1", hops=1)
    yield "discover_overload_both_relayed.bin", frame(both, "10.1.0.1", "10.0.0.1", sport=67)

    # BOOTP clients: RFC 1497 (cookie, options, no 53) and another vendor's
    # magic (CMU's "CMU\0": not DHCP, read as plain BOOTP).
    rfc1497 = bootp(1, 0x0B007001, client, opt(12, b"bootp-host") + opt(55, b"\x01\x03\x06") + b"\xff")
    yield "bootp_rfc1497.bin", frame(rfc1497, "0.0.0.0", "255.255.255.255")
    cmu = bootp(1, 0x0B007002, client, b"", cookie=False)
    cmu = cmu[:236] + b"CMU\0" + cmu[240:]
    yield "bootp_cmu_vendor.bin", frame(cmu, "0.0.0.0", "255.255.255.255")

    arp = mac("ff:ff:ff:ff:ff:ff") + client + struct.pack("!HHHBBH", 0x0806, 1, 0x0800, 6, 4, 1)
    arp += client + ip4("10.40.2.3") + bytes(6) + ip4("10.40.1.1")
    yield "arp_request.bin", arp.ljust(60, b"\0")

    yield "text_ipv4.bin", b"10.99.0.255"
    yield "text_mac.bin", b"02-00-0A-0b-00-01"


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else \
        pathlib.Path(__file__).resolve().parent / "seeds" / "wire"
    out.mkdir(parents=True, exist_ok=True)
    for name, data in seeds():
        (out / name).write_bytes(data)
        print(f"{out / name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
