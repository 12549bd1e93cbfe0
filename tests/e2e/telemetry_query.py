#!/usr/bin/env python3
"""Asks a DPDK application's telemetry socket one command and prints the
JSON answer (the value for the command, e.g. the dict of /dorado/stats).

  telemetry_query.py FILE_PREFIX /dorado/stats
  telemetry_query.py FILE_PREFIX /dorado/pool,0

The socket is /var/run/dpdk/<prefix>/dpdk_telemetry.v2 (root), a
SOCK_SEQPACKET unix socket that first sends an info message, then answers
each command with {"<command>": value}. Exit 1 if it cannot connect or the
answer is not JSON for that command."""
import json
import socket
import sys


def main() -> int:
    prefix, cmd = sys.argv[1], sys.argv[2]
    path = f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    try:
        s.connect(path)
    except OSError as e:
        print(f"telemetry_query: {path}: {e}", file=sys.stderr)
        return 1
    info = json.loads(s.recv(16384).decode())
    s.send(cmd.encode())
    reply = json.loads(s.recv(info.get("max_output_len", 16384)).decode())
    key = cmd.split(",")[0]
    if key not in reply:
        print(f"telemetry_query: unexpected answer {reply}", file=sys.stderr)
        return 1
    print(json.dumps(reply[key], sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
