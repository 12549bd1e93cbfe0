#!/usr/bin/env python3
"""Keeps the documentation true (ctest docs_commands; see docs/building.md).

Pages: README.md, docs/**/*.md, bench/**/*.md. Checks:
  1. Every command line in a fenced code block that runs one of dorado's
     binaries names a binary whose --help works, and every option it passes
     to that binary (after "--" for the DPDK programs, which take EAL
     arguments before it) appears in that binary's --help (of the
     subcommand, for dorado-leases, dorado-migrate and dorado-bench).
  2. Every ```toml block that is a complete config (a [server] and a
     [[subnet]] line, or "# docs: check" as its first line; "# docs: no-check"
     exempts a block) passes `dorado --check-config FILE`.
  3. Every relative link points to an existing file, and a #anchor into a
     Markdown page to one of its headings (GitHub's slugs).
  4. The end-to-end tests in tests/CMakeLists.txt and the e2e_* names in
     docs/building.md's table are the same set.

Environment: DORADO_SOURCE_DIR (the checkout), DORADO_BIN, DORADOCTL_BIN,
DORADO_GEN_BIN, DORADO_DECODE_BIN, DORADO_LEASES_BIN, DORADO_MIGRATE_BIN, DORADO_BENCH_BIN
(optional: without it dorado-bench lines are only parsed, not run).
Prints one line per problem; exit 1 if any.
"""
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(os.environ.get("DORADO_SOURCE_DIR", pathlib.Path(__file__).resolve().parent.parent))
BIN_ENV = {
    "dorado": "DORADO_BIN",
    "doradoctl": "DORADOCTL_BIN",
    "dorado-gen": "DORADO_GEN_BIN",
    "dorado-decode": "DORADO_DECODE_BIN",
    "dorado-leases": "DORADO_LEASES_BIN",
    "dorado-migrate": "DORADO_MIGRATE_BIN",
    "dorado-bench": "DORADO_BENCH_BIN",
}
OPTIONAL_BINS = {"dorado-bench"}      # only built with DORADO_BENCH
EAL_PROGRAMS = {"dorado", "dorado-gen"}   # [EAL args] -- [app args]
SUBCOMMANDS = {"dorado-leases": {"import", "export", "list"}, "dorado-migrate": {"kea-config"},
               "dorado-bench": {"pipeline"}}

problems = []
checked = {"commands": 0, "configs": 0, "links": 0, "e2e": 0}


def problem(where, text):
    problems.append(f"{where}: {text}")


def pages():
    out = [ROOT / "README.md"]
    for d in ("docs", "bench"):
        out += sorted((ROOT / d).rglob("*.md"))
    return [p for p in out if p.is_file()]


def rel(p):
    return str(p.relative_to(ROOT))


# ---- Markdown: fenced blocks, headings, links ------------------------------------

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")


def blocks(text):
    """(info string, first line number, lines) of each fenced code block."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info, start = m.group(2), m.group(3).strip(), i + 1
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        yield info, start + 1, body
        i += 1


def prose_lines(text):
    """(line number, line) outside fenced code blocks."""
    inside = None
    for n, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if m and inside is None:
            inside = m.group(2)
            continue
        if inside is not None:
            if line.strip().startswith(inside):
                inside = None
            continue
        yield n, line


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(path):
    seen = {}
    out = set()
    for _, line in prose_lines(path.read_text()):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def check_links(page):
    for n, line in prose_lines(page.read_text()):
        line = re.sub(r"`[^`]*`", "", line)   # code spans are not links
        for m in LINK.finditer(line):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):   # http:, mailto:, ...
                continue
            checked["links"] += 1
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            where = f"{rel(page)}:{n}"
            if not dest.exists():
                problem(where, f"link to {target}: {path} does not exist")
                continue
            if anchor and dest.suffix == ".md":
                if anchor not in anchors(dest):
                    problem(where, f"link to {target}: no heading with anchor #{anchor} in {rel(dest)}")


# ---- command lines -------------------------------------------------------------

def logical_lines(body, first):
    """Joins backslash continuations; yields (line number, text)."""
    acc, start = "", None
    for k, line in enumerate(body):
        if start is None:
            start = first + k
        if line.rstrip().endswith("\\"):
            acc += line.rstrip()[:-1] + " "
            continue
        yield start, acc + line
        acc, start = "", None
    if acc:
        yield start, acc


def split_segments(line):
    """Splits at " | ", " || ", " && " and ";" outside brackets and quotes."""
    segs, cur, depth, quote, i = [], "", 0, None, 0
    while i < len(line):
        c = line[i]
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "[{(":
            depth += 1
        elif c in "]})":
            depth = max(0, depth - 1)
        elif depth == 0:
            sep = next((t for t in (" || ", " && ", " | ") if line.startswith(t, i)), None)
            if sep or c == ";":
                segs.append(cur)
                cur = ""
                i += len(sep) if sep else 1
                continue
        cur += c
        i += 1
    segs.append(cur)
    return segs


def strip_comment(line):
    # A " #" outside quotes starts a shell comment.
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] == " "):
            return line[:i]
    return line


def words(segment):
    return [w for w in re.split(r"\s+", segment.strip()) if w]


def invocation(segment):
    """(binary name, arguments) if the segment runs one of ours, else None."""
    w = words(segment)
    while w:
        if w[0] in ("$", "#", "sudo", "env", "time", "exec", "nice"):
            w = w[1:]
        elif w[0] == "ip" and w[1:3] == ["netns", "exec"] and len(w) > 3:
            w = w[4:]
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w[0]):
            w = w[1:]
        else:
            break
    if not w:
        return None
    name = w[0].rsplit("/", 1)[-1]
    return (name, w[1:]) if name in BIN_ENV else None


help_cache = {}


def help_text(binary, sub=None):
    key = (binary, sub)
    if key not in help_cache:
        exe = os.environ.get(BIN_ENV[binary], "")
        if not exe:
            help_cache[key] = None
        else:
            cmd = [exe] + ([sub] if sub else []) + ["--help"]
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
                help_cache[key] = (r.returncode, r.stdout + r.stderr)
            except OSError as e:
                help_cache[key] = (127, str(e))
    return help_cache[key]


def option_tokens(args):
    out = []
    for a in args:
        a = a.strip("[](),|")
        a = a.split("=", 1)[0]
        if re.match(r"^--[A-Za-z][\w-]*$", a) or re.match(r"^-[A-Za-z]$", a):
            out.append(a)
    return out


def check_command(where, binary, args):
    checked["commands"] += 1
    if binary in EAL_PROGRAMS and "--" in args:
        args = args[args.index("--") + 1:]
    sub = None
    if binary in SUBCOMMANDS:
        positional = [a for a in args if not a.startswith("-")]
        if positional and positional[0] in SUBCOMMANDS[binary]:
            sub = positional[0]
        elif positional and re.match(r"^[a-z]+$", positional[0]):
            problem(where, f"{binary}: unknown subcommand {positional[0]}")
            return
    h = help_text(binary)
    if h is None:
        if binary not in OPTIONAL_BINS:
            problem(where, f"{binary}: no binary ({BIN_ENV[binary]} not set)")
        return
    if h[0] != 0:
        problem(where, f"{binary} --help exited {h[0]}: {h[1].strip()[:200]}")
        return
    text = h[1]
    if sub:
        hs = help_text(binary, sub)
        if hs[0] != 0:
            problem(where, f"{binary} {sub} --help exited {hs[0]}")
            return
        text += hs[1]
    for opt in option_tokens(args):
        if opt in ("-h", "--help", "--version", "-V"):
            continue
        if not re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text):
            problem(where, f"{binary}: option {opt} is not in `{binary}{' ' + sub if sub else ''} --help`")


def check_commands(page):
    for info, first, body in blocks(page.read_text()):
        lang = info.split()[0] if info else ""
        if lang in ("toml", "json"):
            continue
        pending = None   # (where, binary, args): a synopsis may go on on indented lines
        for n, line in logical_lines(body, first):
            if pending and line[:1].isspace() and line.strip():
                pending[2].extend(words(strip_comment(line)))
                continue
            if pending:
                check_command(*pending)
                pending = None
            segs = split_segments(strip_comment(line))
            for k, seg in enumerate(segs):
                inv = invocation(seg)
                if not inv:
                    continue
                if k == len(segs) - 1:
                    pending = (f"{rel(page)}:{n}", inv[0], list(inv[1]))
                else:
                    check_command(f"{rel(page)}:{n}", *inv)
        if pending:
            check_command(*pending)


# ---- config blocks ---------------------------------------------------------------

def complete_config(body):
    first = body[0].strip() if body else ""
    if first == "# docs: no-check":
        return False
    if first == "# docs: check":
        return True
    has = lambda pat: any(re.match(pat, l.strip()) for l in body)
    return has(r"^\[server\]") and has(r"^\[\[subnet\]\]")


def check_configs(page, tmp):
    dorado = os.environ.get("DORADO_BIN", "")
    for info, first, body in blocks(page.read_text()):
        if not info.startswith("toml") or not complete_config(body):
            continue
        checked["configs"] += 1
        where = f"{rel(page)}:{first}"
        if not dorado:
            problem(where, "no dorado binary (DORADO_BIN) to check this config")
            continue
        f = pathlib.Path(tmp) / f"block-{checked['configs']}.toml"
        f.write_text("\n".join(body) + "\n")
        r = subprocess.run([dorado, "--check-config", str(f)], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            out = (r.stdout + r.stderr).strip().replace(str(f), "block")
            problem(where, f"dorado --check-config: exit {r.returncode}: {out}")


# ---- e2e list --------------------------------------------------------------------

def check_e2e():
    cmake = (ROOT / "tests" / "CMakeLists.txt").read_text()
    registered = set(re.findall(r"^\s*dorado_e2e_test\((e2e_\w+)", cmake, re.M))
    doc = ROOT / "docs" / "building.md"
    listed = set()
    for _, line in prose_lines(doc.read_text()):
        if line.startswith("|"):
            first_cell = line.split("|")[1]
            listed |= set(re.findall(r"`(e2e_\w+)`", first_cell))
    checked["e2e"] = len(registered)
    for name in sorted(registered - listed):
        problem("docs/building.md", f"end-to-end test {name} (tests/CMakeLists.txt) is not in the table")
    for name in sorted(listed - registered):
        problem("docs/building.md", f"end-to-end test {name} is in the table but not in tests/CMakeLists.txt")


def main():
    with tempfile.TemporaryDirectory(prefix="dorado-docs-") as tmp:
        for page in pages():
            check_links(page)
            check_commands(page)
            check_configs(page, tmp)
    check_e2e()
    for p in problems:
        print("FAIL", p)
    print(f"docs: {checked['commands']} command lines, {checked['configs']} config blocks, "
          f"{checked['links']} links, {checked['e2e']} e2e tests checked; {len(problems)} problem(s)")
    if checked["commands"] == 0 or checked["configs"] == 0:
        print("FAIL nothing found to check: is DORADO_SOURCE_DIR right?")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
