"""Measures the four real-time techniques side by side against the sockrt
server: one subscriber per technique, all subscribed at once, then a fixed
series of events published at a set rate. For each technique it reports the
delivery latency (publication on the server to arrival in the client, same
clock), HTTP requests and bytes on the wire (TCP payload, both directions,
TCP/IP headers excluded) per delivered event, and connections.

    python measure.py [--rate 10] [--count 30] [--poll-interval 0.5] [--long-poll-timeout 10]

Without --url it starts its own server (server.py, ticker off) and stops it
at the end. Writes the table as Markdown and a chart as SVG to --out.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.parse

import clients
import svgchart

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "build", "realtime")


def parse_args(argv):
    p = argparse.ArgumentParser(description="Compare polling, long polling, SSE and WebSocket.")
    p.add_argument("--rate", type=float, default=10.0, help="events published per second (default 10)")
    p.add_argument("--count", type=int, default=30, help="events to publish (default 30)")
    p.add_argument("--poll-interval", type=float, default=0.5, help="seconds between polls (default 0.5)")
    p.add_argument("--long-poll-timeout", type=int, default=10,
                   help="seconds a long poll is held (default 10)")
    p.add_argument("--no-keep-alive", action="store_true",
                   help="polling clients open a new connection for every request")
    p.add_argument("--url", help="measure a running server instead of starting one")
    p.add_argument("--out", default=DEFAULT_OUT, help="directory for results.md and chart.svg")
    args = p.parse_args(argv)
    if args.rate <= 0 or args.count <= 0 or args.poll_interval <= 0 or args.long_poll_timeout <= 0:
        p.error("rate, count, poll interval and long-poll timeout must be positive")
    return args


def start_server():
    """server.py on a free port; returns (process, host, port)."""
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "server.py"), "--port", "0",
                             "--tick", "0", "--quiet"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()          # "listening on http://127.0.0.1:PORT/"
    if not line.startswith("listening on "):
        proc.kill()
        proc.wait()
        sys.exit("measure.py: the server did not start (is the sockrt binding installed?)")
    url = urllib.parse.urlsplit(line.split()[-1])
    return proc, url.hostname, url.port


def stop_server(proc):
    proc.terminate()                       # SIGTERM: the server closes itself
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def percentile(values, fraction):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-int(fraction * 1000) * len(ordered) // 1000))
    return ordered[min(rank, len(ordered)) - 1]


def run(args, host, port):
    tag = f"m{os.getpid()}-{time.time_ns()}-"

    def accept(event):
        return event.get("source") == "publish" and str(event.get("data", "")).startswith(tag)

    keep = not args.no_keep_alive
    subscribers = [
        clients.PollSubscriber(host, port, accept, args.poll_interval, keep),
        clients.LongPollSubscriber(host, port, accept, args.long_poll_timeout, keep),
        clients.StreamSubscriber(host, port, accept),
        clients.WebSocketSubscriber(host, port, accept),
    ]
    for sub in subscribers:
        sub.start()
    for sub in subscribers:
        if not sub.ready.wait(10):
            sys.exit(f"measure.py: {sub.name} did not subscribe")
    publisher = clients.HttpClient(host, port, clients.Counters())
    start = time.monotonic()
    for i in range(args.count):
        time.sleep(max(0.0, start + i / args.rate - time.monotonic()))
        status, _ = publisher.request("POST", "/publish", f"{tag}{i}".encode())
        if status != 200:
            sys.exit(f"measure.py: publish answered {status}")
    # Wait for every technique to deliver everything (polling needs up to one interval).
    deadline = time.monotonic() + args.poll_interval + 5.0
    while time.monotonic() < deadline and any(
            len(s.deliveries) < args.count and s.error is None for s in subscribers):
        time.sleep(0.01)
    # One common window for all: from subscription to the last delivery anywhere.
    snapshots = [s.counters.snapshot() for s in subscribers]
    _, stats = publisher.request("GET", "/stats")
    publisher.close()
    for sub in subscribers:
        sub.finish()
    return [summarise(sub, snap, args.count) for sub, snap in zip(subscribers, snapshots)], json.loads(stats)


def summarise(sub, snap, expected):
    latencies = [(received - published) * 1000 for _, published, received in sub.deliveries]
    ids = [event_id for event_id, _, _ in sub.deliveries]
    delivered = len(ids)
    per = max(delivered, 1)
    return {
        "technique": sub.name,
        "delivered": delivered,
        "expected": expected,
        "in_order": ids == sorted(set(ids)),
        "mean_ms": sum(latencies) / per if latencies else 0.0,
        "p99_ms": percentile(latencies, 0.99) if latencies else 0.0,
        "requests_per_event": snap["requests"] / per,
        "bytes_per_event": (snap["sent"] + snap["received"]) / per,
        "connections": snap["connections"],
        "open_peak": snap["open_peak"],
        "error": sub.error,
    }


HEADERS = ["technique", "delivered", "mean latency ms", "p99 latency ms",
           "requests/event", "bytes/event", "connections opened", "open at once"]


def table_rows(rows):
    return [[r["technique"], f'{r["delivered"]}/{r["expected"]}' + ("" if r["in_order"] else " (order!)"),
             f'{r["mean_ms"]:.2f}', f'{r["p99_ms"]:.2f}', f'{r["requests_per_event"]:.2f}',
             f'{r["bytes_per_event"]:.0f}', str(r["connections"]), str(r["open_peak"])] for r in rows]


def text_table(rows):
    cells = [HEADERS] + table_rows(rows)
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]

    def line(row):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))

    return "\n".join([line(HEADERS), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


def markdown_table(rows):
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join(["---"] + ["---:"] * (len(HEADERS) - 1)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in table_rows(rows)]
    return "\n".join(out)


def describe(args):
    return (f"{args.count} events at {args.rate:g}/s; polling every {args.poll_interval:g} s; "
            f"long polls held up to {args.long_poll_timeout} s; "
            f"{'keep-alive' if not args.no_keep_alive else 'a new connection per request'}")


def main(argv=None):
    args = parse_args(argv)
    proc = None
    if args.url:
        url = urllib.parse.urlsplit(args.url)
        host, port = url.hostname, url.port or 80
    else:
        proc, host, port = start_server()
    try:
        rows, stats = run(args, host, port)
    finally:
        if proc is not None:
            stop_server(proc)
    print(f"Real-time techniques over libsockrt ({describe(args)})")
    print(text_table(rows))
    print(f"server: {stats['open_connections']} open connections at the end of the run "
          f"(including the one asking), {stats['requests']} requests served")
    for r in rows:
        if r["error"]:
            print(f"  {r['technique']}: {r['error']}")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.md"), "w", encoding="utf-8") as f:
        f.write(f"{describe(args)}.\n\n{markdown_table(rows)}\n")
    with open(os.path.join(args.out, "chart.svg"), "w", encoding="utf-8") as f:
        f.write(svgchart.render(rows, describe(args)))
    print(f"wrote {os.path.join(args.out, 'results.md')} and {os.path.join(args.out, 'chart.svg')}")
    incomplete = [r["technique"] for r in rows if r["delivered"] != r["expected"] or not r["in_order"]]
    if incomplete:
        print(f"measure.py: incomplete delivery: {', '.join(incomplete)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
