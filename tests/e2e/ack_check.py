#!/usr/bin/python3
"""Checks a store against the ACKs clients saw.

Usage: ack_check.py DECODED.jsonl LEASES.csv [--slack S]

DECODED.jsonl: `dorado-decode` output of a client-side capture (one JSON
object per packet). LEASES.csv: `dorado-leases export kea` of the store.

Every ACK that granted a lease (option 51) must be in the store: for each
client (chaddr) its latest ACK's address, with an expiry no earlier than
what the client computes (RFC 2131 4.4.1: the time it sent the REQUEST, if
the capture has it (same chaddr and xid), else the ACK's time, plus the
lease time) minus S seconds (S default 2: the server counts whole seconds). And no address was ACKed to two different
clients (leases in these tests outlive the test). Prints one line per problem
and a summary; exit 0 when none, 1 otherwise.
"""
import csv
import json
import sys


def main():
    args = sys.argv[1:]
    slack = 2
    if "--slack" in args:
        i = args.index("--slack")
        slack = int(args[i + 1])
        del args[i:i + 2]
    decoded, leases_csv = args
    latest = {}      # chaddr -> (epoch, yiaddr, lease_time)
    holders = {}     # yiaddr -> set of chaddr
    acks = 0
    sent = {}        # (chaddr, xid) -> time of the latest REQUEST
    with open(decoded) as f:
        for line in f:
            p = json.loads(line)
            kind = p.get("message_type", {}).get("name")
            if kind == "REQUEST" and p.get("op") == 1:
                sent[(p["chaddr"], p["xid"])] = p["epoch"]
                continue
            if kind != "ACK" or p.get("op") != 2:
                continue
            lease = next((o["value"] for o in p.get("options", []) if o["code"] == 51), None)
            if lease is None:
                continue   # an ACK to INFORM: no lease
            acks += 1
            mac, ip = p["chaddr"], p["yiaddr"]
            t = sent.get((mac, p["xid"]), p["epoch"])
            if mac not in latest or latest[mac][0] <= t:
                latest[mac] = (t, ip, lease)
            holders.setdefault(ip, set()).add(mac)

    stored = {}      # hwaddr -> (address, expire, state)
    with open(leases_csv) as f:
        for row in csv.DictReader(f):
            stored[row["hwaddr"].lower()] = (row["address"], int(row["expire"]), int(row["state"]))

    problems = 0
    for ip, macs in sorted(holders.items()):
        if len(macs) > 1:
            problems += 1
            print(f"address {ip} ACKed to {len(macs)} clients: {sorted(macs)}")
    for mac, (t, ip, lease) in sorted(latest.items()):
        want = int(t) + lease - slack
        got = stored.get(mac.lower())
        if got is None:
            problems += 1
            print(f"client {mac}: ACKed {ip} at {t:.3f} for {lease} s, not in the store")
        elif got[0] != ip:
            problems += 1
            print(f"client {mac}: ACKed {ip}, store has {got[0]}")
        elif got[1] < want:
            problems += 1
            print(f"client {mac}: ACKed {ip} until >= {want}, store expiry {got[1]}")
        elif got[2] != 0:
            problems += 1
            print(f"client {mac}: ACKed {ip}, store state {got[2]} (not active)")
    print(f"ack_check: {acks} ACKs, {len(latest)} clients, {len(stored)} stored leases, "
          f"{problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
