#!/usr/bin/env python3
"""Echo round trips through a sockrt.Pool from 4 threads.

    pool_client.py HOST PORT [COUNT]

Makes COUNT round trips (default 100) in all, each on a connection leased
from one Pool, with the messages of echo_client.py. Prints the pool's
counters as "STATS created=.. reused=.. ..." and then, last,
"RESULT messages=<n> bytes=<verified bytes> mean_rtt_us=<float>".
Exits 0 only if every byte came back intact.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

try:
    import sockrt
except ModuleNotFoundError:  # running from the source tree, not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))
    import sockrt

from echo_client import message, result_line, round_trip

THREADS = 4


class Tally:
    """Totals shared by the worker threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages = 0
        self.verified = 0
        self.rtt_total = 0.0
        self.failures = 0

    def add(self, size: int, rtt: float) -> None:
        with self.lock:
            self.messages += 1
            self.verified += size
            self.rtt_total += rtt

    def fail(self, why: str) -> None:
        print(f"pool_client: {why}", file=sys.stderr)
        with self.lock:
            self.failures += 1


def worker(pool: sockrt.Pool, indexes: range, tally: Tally) -> None:
    for i in indexes:
        payload = message(i)
        start = time.perf_counter()
        try:
            # Released on success; discarded if anything raises.
            with pool.acquire() as conn:
                conn.settimeout(10)
                same = round_trip(conn, payload)
        except OSError as exc:
            tally.fail(f"message {i}: {exc}")
            return
        if not same:
            tally.fail(f"message {i}: echo differs")
            return
        tally.add(len(payload), time.perf_counter() - start)


def stats_line(stats: sockrt.PoolStats) -> str:
    first = ("created", "reused")
    rest = [name for name in stats._fields if name not in first]
    return "STATS " + " ".join(f"{name}={getattr(stats, name)}" for name in (*first, *rest))


def main(argv: list) -> int:
    if len(argv) not in (3, 4):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    host, port = argv[1], int(argv[2])
    count = int(argv[3]) if len(argv) == 4 else 100
    tally = Tally()
    with sockrt.Pool(host, port, max_idle=THREADS, max_total=THREADS) as pool:
        threads = [
            threading.Thread(target=worker, args=(pool, range(t, count, THREADS), tally))
            for t in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(stats_line(pool.stats()))
    print(result_line(tally.messages, tally.verified, tally.rtt_total), flush=True)
    return 0 if tally.failures == 0 and tally.messages == count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
