#!/usr/bin/env python3
"""Writes a Kea memfile lease CSV of N bound leases in 10.0.0.0/8 to stdout,
for the start-up benchmarks (bench/recovery.sh, bench/first_ack.sh).

  kea_leases.py N

Lease i: address 10.0.0.10 + i, MAC 02:00:ii:ii:ii:ii (i in hex, big
endian), no client-id, subnet-id 1, lifetime 86400 s, expiring within the
next day (spread by i, so expiry order differs from address order).
"""
import sys
import time


def main():
    n = int(sys.argv[1])
    now = int(time.time())
    out = sys.stdout
    out.write("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,"
              "fqdn_fwd,fqdn_rev,hostname,state,user_context\n")
    for i in range(n):
        a = 10 * 2**24 + 10 + i
        ip = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"
        mac = f"02:00:{(i >> 24) & 255:02x}:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"
        out.write(f"{ip},{mac},,86400,{now + 86400 - i % 86400},1,0,0,,0,\n")


if __name__ == "__main__":
    main()
