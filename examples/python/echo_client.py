#!/usr/bin/env python3
"""TCP (or Unix stream) echo client on sockrt.

    echo_client.py HOST PORT [COUNT]

A HOST with a '/' in it is a Unix socket path (PORT 0).

Sends COUNT messages (default 100) of sizes 1..4096 bytes in a fixed
pattern, reads each echo back in full, verifies it, and prints as its last
line "RESULT messages=<n> bytes=<verified bytes> mean_rtt_us=<float>".
Exits 0 only if every byte came back intact.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

try:
    import sockrt
except ModuleNotFoundError:  # running from the source tree, not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))
    import sockrt

MAX_SIZE = 4096
_PATTERN = bytes(k % 251 for k in range(MAX_SIZE + 251))


def message(i: int) -> bytes:
    """Message i: 1..4096 bytes of a pattern that shifts with i."""
    size = 1 + (i * 997) % MAX_SIZE
    offset = (i * 31) % 251
    return _PATTERN[offset : offset + size]


def round_trip(conn: sockrt.Socket, payload: bytes) -> bool:
    """Sends payload, reads the same number of bytes back, compares."""
    conn.sendall(payload)
    return conn.recv_exact(len(payload)) == payload


def result_line(messages: int, verified: int, rtt_total: float) -> str:
    mean_us = rtt_total / messages * 1e6 if messages else 0.0
    return f"RESULT messages={messages} bytes={verified} mean_rtt_us={mean_us:.1f}"


def connect(host: str, port: int) -> sockrt.Socket:
    if "/" not in host:
        conn = sockrt.create_connection((host, port), timeout=10)
        conn.set_nodelay(True)
        return conn
    conn = sockrt.socket(sockrt.AF_UNIX, sockrt.SOCK_STREAM)
    try:
        conn.settimeout(10)
        conn.connect(host)
    except BaseException:
        conn.close()
        raise
    return conn


def main(argv: list) -> int:
    if len(argv) not in (3, 4):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    host, port = argv[1], int(argv[2])
    count = int(argv[3]) if len(argv) == 4 else 100
    messages = verified = 0
    rtt_total = 0.0
    ok = True
    try:
        with connect(host, port) as conn:
            for i in range(count):
                payload = message(i)
                start = time.perf_counter()
                if not round_trip(conn, payload):
                    print(f"message {i}: echo differs", file=sys.stderr)
                    ok = False
                    break
                rtt_total += time.perf_counter() - start
                messages += 1
                verified += len(payload)
    except OSError as exc:
        print(f"echo_client: {exc}", file=sys.stderr)
        ok = False
    print(result_line(messages, verified, rtt_total), flush=True)
    return 0 if ok and messages == count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
