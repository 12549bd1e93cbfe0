#!/usr/bin/env python3
"""dorado-migrate on Kea's own example configs, and a site moved to dorado
(ctest migrate_kea_examples; docs/tools/migrate.md, "How it is tested").

1. Every Kea DHCPv4 example config that Debian's kea-doc package ships
   (/usr/share/doc/kea/examples/kea4/*.json and the DHCPv4 configs of
   template-power-user-home/) is converted with `dorado-migrate kea-config`,
   and kea4/with-ddns.json (DDNS on) once more with each of Kea's D2 example
   configs (ddns/*.json) as `--d2 FILE` (its findings: DhcpDdns paths):
   - the exit status is 0 when nothing is listed as not converted, else 1;
   - every stderr line is a finding (PATH (DETAIL): not converted: WHY,
     PATH: not converted for SCOPE: WHY, PATH: note: TEXT), an error that
     dorado --check-config will report, or the final summary line;
   - every listed PATH exists in the JSON (read here with a comment
     stripper of this file's own, not the tool's);
   - what is listed is absent from the TOML: no provenance comment names the
     path or a path under it, and, read from the JSON here: a listed option
     has no option of its code in its scope of the TOML, a listed pool is in
     no TOML pool, a listed reservation's address is in no TOML reservation,
     a listed subnet's prefix is no TOML subnet;
   - nothing is dropped silently: every value of the JSON is listed, or
     named by a comment of the TOML, or in the TOML's closing list of values
     read with nothing of their own to write, and each of those is one this
     test knows dorado does the same without a setting (ALLOWED_SILENT,
     with the values for which that holds; docs/tools/migrate.md's last
     mapping row);
   - the TOML passes `dorado --check-config`, or fails with exactly the
     errors the tool listed.
2. A site: tests/migrate/kea-site.json (the Kea config that wrote
   tests/leases/kea-leases4.csv) is converted, its leases are imported with
   `dorado-leases import kea FILE -c dorado.toml` into the store the
   converted config names, and `dorado-leases export kea` gives back exactly
   what Kea's own lease file cleanup made of the file (kea-leases4.lfc.csv).

Environment: DORADO_BIN, DORADO_MIGRATE_BIN, DORADO_LEASES_BIN,
DORADO_SOURCE_DIR, KEA_EXAMPLES (default /usr/share/doc/kea/examples).
Prints one line per problem; exit 1 if any.
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import tomllib

ROOT = pathlib.Path(os.environ.get("DORADO_SOURCE_DIR", pathlib.Path(__file__).resolve().parent.parent))
EXAMPLES = pathlib.Path(os.environ.get("KEA_EXAMPLES", "/usr/share/doc/kea/examples"))
DORADO = os.environ.get("DORADO_BIN", "")
MIGRATE = os.environ.get("DORADO_MIGRATE_BIN", "")
LEASES = os.environ.get("DORADO_LEASES_BIN", "")

problems = []
totals = {"files": 0, "not_converted": 0, "notes": 0, "passed_check": 0}

FINDING = re.compile(r"^(?P<path>\S+?)(?: \((?P<detail>.*?)\))?: (?:not converted(?: for (?P<scope>\S+))?|note): ")
CHECK = "dorado --check-config will report: "
PATH_IN_COMMENT = re.compile(r"(?:Dhcp4|DhcpDdns)(?:\.[A-Za-z0-9_-]+|\[\d+\])*")
SILENT_HEADER = "# Read from the Kea config with nothing of their own to write"

def _empty(v):
    return v in ("", "0.0.0.0", None) or (isinstance(v, (list, dict)) and all(_empty(x) for x in
                                                                               (v.values() if isinstance(v, dict) else v)))

# Kea keys that may be read with nothing to write, and the values for which
# dorado does the same by itself (or which only decide what else is written).
ALLOWED_SILENT = {
    "authoritative": lambda v: v is False,
    "match-client-id": lambda v: v is True,
    "echo-client-id": lambda v: v is True,
    "ip-reservations-unique": lambda v: v is True,
    "store-extended-info": lambda v: v is False,
    "re-detect": lambda v: v is False,
    "next-server": _empty,
    "server-hostname": _empty,
    "boot-file-name": _empty,
    "client-class": _empty,
    "require-client-classes": _empty,
    "relay": _empty,
    "ip-address": _empty,
    "ip-addresses": _empty,
    "option-data": _empty,
    "pools": _empty,
    "reservations": _empty,
    "subnet4": _empty,
    "parameters": _empty,
    "socket-type": lambda v: v == "unix",
    "dhcp-socket-type": lambda v: v in ("raw", "udp"),
    "outbound-interface": lambda v: v == "same-as-inbound",
    # which reservations and options Kea uses, how it looks them up: decided
    # while converting, nothing of their own in dorado
    "host-reservation-identifiers": lambda v: True,
    "early-global-reservations-lookup": lambda v: True,
    "reservations-lookup-first": lambda v: True,
    "reservations-global": lambda v: True,
    "reservations-in-subnet": lambda v: True,
    "reservations-out-of-pool": lambda v: True,
    "reservation-mode": lambda v: True,
    "option-def": lambda v: True,
    # inherited values that every subnet overrides, or that Kea itself does
    # not use (percentages without calculate-tee-times)
    "valid-lifetime": lambda v: True,
    "min-valid-lifetime": lambda v: True,
    "max-valid-lifetime": lambda v: True,
    "renew-timer": lambda v: True,
    "rebind-timer": lambda v: True,
    "calculate-tee-times": lambda v: True,
    "t1-percent": lambda v: True,
    "t2-percent": lambda v: True,
    # the subnet of [server] address: directly attached clients
    "interface": lambda v: True,
    # written as "# Kea comment: ..." lines
    "comment": lambda v: isinstance(v, str),
    # the HA library's path ([ha] names the library entry)
    "library": lambda v: "libdhcp_ha.so" in v or "libdhcp_lease_cmds.so" in v,
    # DDNS off in Kea (enable-updates not true): no [ddns], and the ddns-*
    # values do nothing in Kea either; on: a value equal to [ddns]'s, or one
    # that every subnet overrides
    "dhcp-ddns": lambda v: isinstance(v, dict) and v.get("enable-updates") is not True,
    **{k: (lambda v: True) for k in (
        "ddns-send-updates", "ddns-override-no-update", "ddns-override-client-update", "ddns-replace-client-name",
        "ddns-generated-prefix", "ddns-qualifying-suffix", "ddns-update-on-renew", "ddns-use-conflict-resolution",
        "ddns-conflict-resolution-mode", "ddns-ttl-percent", "ddns-ttl")},
    # the way from kea-dhcp4 to D2: dorado sends the updates itself
    "server-ip": lambda v: True,
    "server-port": lambda v: True,
    "sender-ip": lambda v: True,
    "sender-port": lambda v: True,
    "ncr-protocol": lambda v: True,
    "ncr-format": lambda v: True,
    "enable-updates": lambda v: True,
    # Kea 2.2's deprecated dhcp-ddns policy keys, when the global ddns-* wins
    "generated-prefix": lambda v: True,
    "override-client-update": lambda v: True,
    "override-no-update": lambda v: True,
    "qualifying-suffix": lambda v: True,
    "replace-client-name": lambda v: True,
}

# The same for Kea's D2 config (paths under DhcpDdns): where D2 listens for
# kea-dhcp4's requests, which dorado does not need.
ALLOWED_SILENT_D2 = {
    "ip-address": lambda v: True,
    "port": lambda v: True,
    "ncr-protocol": lambda v: True,
    "ncr-format": lambda v: True,
    "comment": lambda v: isinstance(v, str),
    "tsig-keys": _empty,
    "forward-ddns": _empty,
    "reverse-ddns": _empty,
    "ddns-domains": _empty,
}


def problem(where, text):
    problems.append(f"{where}: {text}")


def strip_kea_comments(text):
    """Kea's JSON -> JSON: #, // and /* */ comments out, .5 and 5. numbers fixed."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            j = text.index("*/", i + 2)
            out.append("\n" * text[i:j].count("\n"))
            i = j + 2
        else:
            out.append(c)
            i += 1
    s = "".join(out)
    s = re.sub(r"(?<=[\s:,\[])(-?)\.(\d)", r"\g<1>0.\2", s)
    return re.sub(r"(\d)\.(?=[\s,\]}])", r"\1.0", s)


def resolve(doc, path):
    node = doc
    for m in re.finditer(r"\.?([A-Za-z0-9_-]+)|\[(\d+)\]", path):
        key, index = m.group(1), m.group(2)
        if key is not None:
            if not isinstance(node, dict) or key not in node:
                return None, False
            node = node[key]
        else:
            k = int(index)
            if not isinstance(node, list) or k >= len(node):
                return None, False
            node = node[k]
    return node, True


def under(path, other):
    """other is path or a path inside it."""
    return other == path or other.startswith(path + ".") or other.startswith(path + "[")


def covers(path):
    """A path the TOML names stands for everything under it, except a subnet's
    or a hook library's (their tables' values name their own paths)."""
    return not re.search(r"(subnet4|hooks-libraries)\[\d+\]$", path)


class Toml:
    """The converted config: values (tomllib), provenance (its comments) and
    the closing list of values read with nothing to write."""

    def __init__(self, text):
        self.text = text
        self.data = tomllib.loads(text)
        self.paths = set()
        self.silent = []
        self.subnet_from = []   # the provenance path of each [[subnet]], in order
        in_silent = False
        for line in text.split("\n"):
            if line.startswith(SILENT_HEADER):
                in_silent = True
                continue
            if in_silent:
                if line.startswith("#   "):
                    self.silent.append(line[4:].strip())
                continue
            if "#" not in line:
                continue
            comment = line[line.index("#"):]
            found = PATH_IN_COMMENT.findall(comment)
            self.paths.update(found)
            if line.startswith("[[subnet]]"):
                self.subnet_from.append(found[0] if found else "")
        self.subnets = self.data.get("subnet", [])

    def subnet_for(self, json_path):
        """The TOML subnet converted from the Kea subnet at (or above) json_path."""
        best = None
        for k, p in enumerate(self.subnet_from):
            if p and under(p, json_path) and (best is None or len(p) > len(self.subnet_from[best])):
                best = k
        return self.subnets[best] if best is not None else None


def option_codes(options):
    return {o["code"] for o in options or []}


def pool_ranges(toml):
    out = set()
    for s in toml.subnets:
        out.update(s.get("pools", []) if isinstance(s.get("pools", []), list) else [s["pools"]])
    return out


def kea_pool(text):
    m = re.match(r"^\s*([\d.]+)\s*-\s*([\d.]+)\s*$", text)
    return f"{m.group(1)}-{m.group(2)}" if m else text.strip()


def leaves(node, path):
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(node, list) and node:
        for i, v in enumerate(node):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path


def check_complete(where, doc, toml, listed_any):
    """Every value is listed, named by the TOML, or read silently with a reason."""
    silent = set(toml.silent)
    for p in toml.silent:
        value, exists = resolve(doc, p)
        key = re.sub(r"(\[\d+\])+$", "", p).rsplit(".", 1)[-1]
        if not exists:
            problem(where, f"the TOML's closing list names {p}, which is not in the JSON")
        elif key == "hooks-libraries" or re.search(r"hooks-libraries\[\d+\]$", p):
            libs = value if isinstance(value, list) else [value]
            if not all(isinstance(l, dict) and "libdhcp_lease_cmds.so" in str(l.get("library")) for l in libs):
                problem(where, f"{p} is read silently but is not only libdhcp_lease_cmds.so")
        elif p.startswith("DhcpDdns"):
            if key not in ALLOWED_SILENT_D2 or not ALLOWED_SILENT_D2[key](value):
                problem(where, f"{p} = {json.dumps(value)[:80]} is read with nothing written and not listed")
        elif key not in ALLOWED_SILENT or not ALLOWED_SILENT[key](value):
            problem(where, f"{p} = {json.dumps(value)[:80]} is read with nothing written and not listed")
    for leaf in leaves(doc, ""):
        ok = False
        p = leaf
        while p:
            if p in listed_any or p in silent or (p in toml.paths and (covers(p) or p == leaf)):
                ok = True
                break
            p = re.sub(r"(\.[A-Za-z0-9_-]+|\[\d+\])$", "", p) if re.search(r"(\.[A-Za-z0-9_-]+|\[\d+\])$", p) else ""
        if not ok:
            problem(where, f"{leaf} is neither converted, nor listed, nor read with a reason: dropped silently")


def check_absent(where, doc, toml, path, detail):
    """What the tool listed as not converted is not in the TOML."""
    for p in toml.paths:
        if under(path, p):
            problem(where, f"{path} is listed as not converted but the TOML names {p}")
            return
    value, _ = resolve(doc, path)
    last = re.sub(r"\[\d+\]$", "", path)
    if last.endswith("option-data") and isinstance(value, dict):
        m = re.search(r"code (\d+)", detail or "")
        if m:
            code = int(m.group(1))
            scope = path[:path.rindex(".option-data")]
            if scope == "Dhcp4":
                if code in option_codes(toml.data.get("option")):
                    problem(where, f"{path} (code {code}) is listed but [[option]] has code {code}")
            elif ".pools[" not in scope and ".reservations[" not in scope and "client-classes" not in scope:
                s = toml.subnet_for(scope)
                if s is not None and code in option_codes(s.get("option")):
                    problem(where, f"{path} (code {code}) is listed but its subnet has option {code}")
    elif last.endswith(".pools") and isinstance(value, dict) and "pool" in value:
        if kea_pool(value["pool"]) in pool_ranges(toml):
            problem(where, f"{path} is listed but its pool {value['pool']} is in the TOML")
    elif last.endswith("reservations") and isinstance(value, dict) and "ip-address" in value:
        for s in toml.subnets:
            if any(r.get("address") == value["ip-address"] for r in s.get("reservation", [])):
                problem(where, f"{path} is listed but {value['ip-address']} is reserved in the TOML")
    elif last.endswith("subnet4") and isinstance(value, dict) and "subnet" in value:
        if any(s.get("prefix") == value["subnet"] for s in toml.subnets):
            problem(where, f"{path} is listed but the TOML has subnet {value['subnet']}")


def check_example(f, tmp, d2=None):
    where = f.relative_to(EXAMPLES) if EXAMPLES in f.parents else f.name
    if d2 is not None:
        where = f"{where} --d2 {d2.relative_to(EXAMPLES)}"
    totals["files"] += 1
    try:
        doc = json.loads(strip_kea_comments(f.read_text()))
        if d2 is not None:   # D2's findings have DhcpDdns paths: one document for both
            doc.update(json.loads(strip_kea_comments(d2.read_text())))
    except Exception as e:   # the example itself: not the tool's fault, but say so
        problem(where, f"this test cannot read the example: {e}")
        return
    out = pathlib.Path(tmp) / (f.stem + ("" if d2 is None else "-" + d2.stem) + ".toml")
    extra = [] if d2 is None else ["--d2", str(d2)]
    r = subprocess.run([MIGRATE, "kea-config", str(f), "-o", str(out)] + extra, capture_output=True, text=True,
                       timeout=60)
    if r.returncode not in (0, 1):
        problem(where, f"dorado-migrate exited {r.returncode}: {r.stderr.strip()[:300]}")
        return
    lines = r.stderr.rstrip("\n").split("\n") if r.stderr.strip() else []
    if not lines or not lines[-1].startswith("dorado-migrate: wrote "):
        problem(where, f"the last stderr line is not the summary: {lines[-1:] }")
    listed, reported, listed_any = [], [], set()
    for line in lines[:-1]:
        if line.startswith(CHECK):
            reported.append(line[len(CHECK):])
            continue
        m = FINDING.match(line)
        if not m:
            problem(where, f"stderr line in no known form: {line}")
            continue
        _, exists = resolve(doc, m.group("path"))
        if not exists:
            problem(where, f"listed path {m.group('path')} is not in the JSON")
        if m.group(0).endswith("note: "):
            totals["notes"] += 1
            continue
        totals["not_converted"] += 1
        listed_any.add(m.group("path"))
        if m.group("scope") is None:
            listed.append((m.group("path"), m.group("detail")))
    want = 1 if listed or reported or any(": not converted for " in l for l in lines) else 0
    if r.returncode != want:
        problem(where, f"exit status {r.returncode}, expected {want} ({len(listed)} listed)")
    try:
        toml = Toml(out.read_text())
    except Exception as e:
        problem(where, f"the output is not TOML: {e}")
        return
    for path, detail in listed:
        check_absent(where, doc, toml, path, detail)
    check_complete(where, doc, toml, listed_any)
    c = subprocess.run([DORADO, "--check-config", str(out)], capture_output=True, text=True, timeout=60)
    if c.returncode == 0:
        totals["passed_check"] += 1
        if reported:
            problem(where, f"dorado-migrate said the output would not pass, but it does: {reported}")
    else:
        errors = sorted(re.sub(r"^.*?:\d+: ", "", l) for l in (c.stdout + c.stderr).strip().split("\n") if l.strip())
        if not reported:
            problem(where, f"dorado --check-config refuses the output: {errors}")
        elif sorted(reported) != errors:
            problem(where, f"dorado --check-config reports {errors}, dorado-migrate said {sorted(reported)}")


def check_site(tmp):
    """A site's config and leases, moved with dorado-migrate and dorado-leases."""
    where = "tests/migrate/kea-site.json"
    out = pathlib.Path(tmp) / "site.toml"
    r = subprocess.run([MIGRATE, "kea-config", str(ROOT / where), "-o", str(out)],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 1 or "Dhcp4.lease-database: not converted: " not in r.stderr:
        problem(where, f"exit {r.returncode}, expected 1 with the lease-database listed: {r.stderr}")
    text = out.read_text()
    # The leases' Kea subnet id is kept, so the imported leases keep theirs.
    if not re.search(r"^id = 7 ", text, re.M):
        problem(where, "subnet id 7 is not in the TOML")
    store = pathlib.Path(tmp) / "store"
    with open(out, "a") as f:
        f.write(f'\n[store]\ndir = "{store}"\n')
    c = subprocess.run([DORADO, "--check-config", str(out)], capture_output=True, text=True, timeout=60)
    if c.returncode != 0:
        problem(where, f"dorado --check-config: {c.stdout}{c.stderr}")
    leases = ROOT / "tests" / "leases"
    # 2026-11-22T14:48:50Z: when Kea wrote the file (tests/leases/README.md).
    i = subprocess.run([LEASES, "import", "kea", str(leases / "kea-leases4.csv"), "-c", str(out), "--now", "1795358930"],
                       capture_output=True, text=True, timeout=60)
    if i.returncode != 0:
        problem(where, f"dorado-leases import -c site.toml exited {i.returncode}: {i.stderr}")
        return
    e = subprocess.run([LEASES, "export", "kea", "-c", str(out)], capture_output=True, text=True, timeout=60)
    if e.returncode != 0 or e.stdout != (leases / "kea-leases4.lfc.csv").read_text():
        problem(where, f"dorado-leases export -c site.toml (exit {e.returncode}) is not kea-leases4.lfc.csv")


def main():
    for name, value in (("DORADO_BIN", DORADO), ("DORADO_MIGRATE_BIN", MIGRATE), ("DORADO_LEASES_BIN", LEASES)):
        if not value or not os.access(value, os.X_OK):
            print(f"FAIL {name} is not an executable: {value!r}")
            return 1
    files = sorted((EXAMPLES / "kea4").glob("*.json")) + sorted(EXAMPLES.glob("template-*/kea-dhcp4*.conf"))
    if len(files) < 20:
        print(f"FAIL only {len(files)} Kea example configs in {EXAMPLES}: install kea-doc (tools/setup-deps.sh)")
        return 1
    with tempfile.TemporaryDirectory(prefix="dorado-migrate-") as tmp:
        for f in files:
            check_example(f, tmp)
        # Kea's D2 examples, each with the DHCPv4 example that turns DDNS on.
        d2s = sorted((EXAMPLES / "ddns").glob("*.json"))
        if len(d2s) < 5:
            problem("ddns", f"only {len(d2s)} Kea D2 example configs in {EXAMPLES / 'ddns'}")
        for d2 in d2s:
            check_example(EXAMPLES / "kea4" / "with-ddns.json", tmp, d2)
        totals["d2"] = len(d2s)
        check_site(tmp)
    for p in problems:
        print("FAIL", p)
    print(f"migrate: {totals['files']} Kea example configs converted ({totals.get('d2', 0)} with a D2 config), {totals['passed_check']} pass dorado "
          f"--check-config; {totals['not_converted']} findings 'not converted', {totals['notes']} notes; "
          f"a site's config and leases moved; {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
