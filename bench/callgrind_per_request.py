#!/usr/bin/env python3
"""Instructions per request from a callgrind out file (Ir events only).

Requests are the calls of Shard::decide (one per DHCP request the engine
decides). For each function: inclusive Ir (self + the callees' cost from the
`calls=` lines, recursion into itself not counted twice) per request, and
self Ir per request.

  callgrind_per_request.py OUT [REGEX ...]
      the standard rows (the benchmark loop, Shard::handle_burst,
      ReplyCache::build, build_reply, DhcpMessage::parse, ...) and every
      function matching one of the regexes
  callgrind_per_request.py --top N OUT
      the N functions with the largest self Ir per request
  callgrind_per_request.py --diff N OFF ON
      the N functions whose self Ir per request differs most between two
      runs (ON - OFF), and the standard rows of both

How the files are made (bench/results/2026-12-07.md, "DDNS: worker cost per
request, on vs off"):
  valgrind --tool=callgrind --toggle-collect='*named_dora_loop*' \\
    --callgrind-out-file=cg.out engine_bench \\
    --benchmark_filter='BM_EngineDoraNamed/name:81/ddns:1/'
"""
import collections
import re
import sys

STANDARD = [
    ("benchmark loop (all of it)", r"named_dora_loop"),
    ("Shard::handle_burst", r"Shard::handle_burst\("),
    ("Shard::commit", r"Shard::commit\("),
    ("Shard::commit_ddns", r"Shard::commit_ddns\("),
    ("decide_ddns_name", r"decide_ddns_name\("),
    ("ReplyCache::build", r"ReplyCache::build\("),
    ("build_reply (generic)", r"engine::build_reply\("),
    ("encode_reply_fqdn", r"encode_reply_fqdn\("),
    ("DhcpMessage::parse", r"DhcpMessage::parse\("),
]


def parse(path):
    names = {}
    self_ir = collections.Counter()
    callee_ir = collections.Counter()
    calls = collections.Counter()
    fn = cfn = None
    pending = None

    def name(s):
        m = re.match(r"\((\d+)\)(?: (.*))?", s)
        if not m:
            return s
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names[m.group(1)]

    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("fn="):
                fn = name(line[3:])
            elif line.startswith("cfn="):
                cfn = name(line[4:])
            elif line.startswith("calls="):
                pending = int(line[6:].split()[0])
            elif line and (line[0].isdigit() or line[0] in "+-*"):
                parts = line.split()
                if len(parts) < 2:
                    continue
                ir = int(parts[1])
                if pending is not None:
                    if cfn != fn:
                        callee_ir[fn] += ir
                    calls[cfn] += pending
                    pending = None
                else:
                    self_ir[fn] += ir
    funcs = self_ir.keys() | calls.keys()
    requests = sum(calls[f] for f in funcs if re.search(r"Shard::decide\(", f))
    return {
        "funcs": funcs,
        "self": self_ir,
        "incl": {f: self_ir[f] + callee_ir[f] for f in funcs},
        "calls": calls,
        "requests": requests,
    }


def row(d, regex):
    fs = [f for f in d["funcs"] if re.search(regex, f)]
    incl = sum(d["incl"][f] for f in fs)
    n = sum(d["calls"][f] for f in fs)
    return incl, n


def standard(d, label):
    req = d["requests"]
    print(f"{label}: requests (Shard::decide calls) = {req}")
    for title, regex in STANDARD:
        incl, n = row(d, regex)
        if n == 0 and incl == 0:
            continue
        print(f"  {title:30s} incl/request {incl / req:9.1f}   calls {n:>9}   incl/call {incl / max(n, 1):9.1f}")


def short(f, width=100):
    return f if len(f) <= width else f[: width - 3] + "..."


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    if argv[0] == "--top":
        n = int(argv[1])
        d = parse(argv[2])
        standard(d, argv[2])
        req = d["requests"]
        for f in sorted(d["funcs"], key=lambda f: -d["self"][f])[:n]:
            print(f"  self/req {d['self'][f] / req:8.1f}  incl/req {d['incl'][f] / req:8.1f}  {short(f)}")
        return 0
    if argv[0] == "--diff":
        n = int(argv[1])
        a, b = parse(argv[2]), parse(argv[3])
        standard(a, "OFF " + argv[2])
        standard(b, "ON  " + argv[3])
        ra, rb = a["requests"], b["requests"]
        funcs = a["funcs"] | b["funcs"]
        delta = {f: b["self"][f] / rb - a["self"][f] / ra for f in funcs}
        print(f"self Ir per request, ON - OFF (top {n} by size):")
        for f in sorted(funcs, key=lambda f: -abs(delta[f]))[:n]:
            print(f"  {delta[f]:+8.1f}  (off {a['self'][f] / ra:7.1f}, on {b['self'][f] / rb:7.1f})  {short(f)}")
        return 0
    d = parse(argv[0])
    standard(d, argv[0])
    req = d["requests"]
    for regex in argv[1:]:
        for f in sorted(f for f in d["funcs"] if re.search(regex, f)):
            print(f"  {short(f, 90):90s} calls {d['calls'][f]:>9}  incl/req {d['incl'][f] / req:8.1f}  "
                  f"self/req {d['self'][f] / req:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
