#!/usr/bin/env python3
"""The Python clients: the same workloads as the C clients, written once and
run either on the standard ``socket`` module or on ``sockrt`` (whose API has
the same shape), so the only difference is the socket layer.

The client code is the standard module's: the module object is the one
difference (`import socket` or `import sockrt as socket`), so rtt64, udp64,
bulk and connect measure unmodified stdlib-shaped code on sockrt.

usage: py_client.py socket|sockrt|sockrt-exchange WORKLOAD [--echo P] [--sink P] [--udp P]
       [--count N] [--warmup N] [--bytes N] [--busy-us N] [--host H] [--threads N]
       [--conns N]
"sockrt-exchange" is sockrt with each round trip done by one
Socket.exchange call instead of sendall + recv_into (rtt64, pooled).
"pool64x8" runs --threads (64) threads through --conns (8) connections, --count
requests in all: a sockrt Pool (check_on_acquire off) against a queue.Queue
of sockets of the module; it reports requests/s and fails if any failed.
Prints one JSON line (see bench/bench_common.h).
"""

import argparse
import json
import queue
import sys
import threading
import time

MSG = 64
CHUNK = 65536
DEFAULTS = {"rtt64": 50000, "rtt64-busy": 50000, "udp64": 50000,
            "connect": 5000, "pooled": 5000, "pool64x8": 64000}


def cpu_us():
    """User + system CPU time of this process, in µs."""
    return time.process_time_ns() / 1e3


class Layer:
    """The socket module in use; the code below is the same for both."""

    def __init__(self, impl):
        self.impl = impl
        if impl == "socket":
            import socket as mod
        else:
            import sockrt as mod
        self.mod = mod

    def connect(self, host, port):
        socket = self.mod
        s = socket.create_connection((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def udp(self, host, port):
        socket = self.mod
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((host, port))
        s.settimeout(5.0)  # a lost datagram becomes an error, not a hang
        return s


def recv_exact_into(sock, view):
    """Fills view with recv_into calls (usually one for 64 bytes)."""
    got = 0
    size = len(view)
    while got < size:
        n = sock.recv_into(view[got:] if got else view)
        if n == 0:
            raise EOFError("peer closed")
        got += n


def latency_line(o, workload, samples, cpu, extra=None):
    samples.sort()
    n = len(samples)
    line = {"client": o.client, "workload": workload, "unit": "us",
            "value": round(sum(samples) / n / 1000.0, 3),
            "p50_us": round(samples[n // 2] / 1000.0, 3),
            "p99_us": round(samples[int((n - 1) * 0.99)] / 1000.0, 3),
            "count": n, "cpu_us_per_op": round(cpu / n, 3)}
    line.update(extra or {})
    return line


def run_rtt(o, layer, busy):
    sock = layer.connect(o.host, o.echo)
    if busy:
        sock.set_busy_poll(o.busy_us or 50)
    buf = bytearray(MSG)
    now = time.perf_counter_ns
    samples = [0] * o.count
    if o.exchange:
        exchange = sock.exchange
        for _ in range(o.warmup):
            exchange(buf, buf)
        cpu0 = cpu_us()
        for i in range(o.count):
            t0 = now()
            exchange(buf, buf)
            samples[i] = now() - t0
        cpu = cpu_us() - cpu0
    else:
        view = memoryview(buf)
        sendall = sock.sendall
        for _ in range(o.warmup):
            sendall(buf)
            recv_exact_into(sock, view)
        cpu0 = cpu_us()
        for i in range(o.count):
            t0 = now()
            sendall(buf)
            recv_exact_into(sock, view)
            samples[i] = now() - t0
        cpu = cpu_us() - cpu0
    sock.close()
    extra = {"busy_us": o.busy_us or 50} if busy else None
    return latency_line(o, "rtt64-busy" if busy else "rtt64", samples, cpu, extra)


def run_udp(o, layer):
    sock = layer.udp(o.host, o.udp)
    buf = bytearray(MSG)
    now = time.perf_counter_ns
    samples = [0] * o.count
    cpu0 = 0.0
    for i in range(o.warmup + o.count):
        if i == o.warmup:
            cpu0 = cpu_us()
        t0 = now()
        sock.send(buf)
        if sock.recv_into(buf) != MSG:
            raise RuntimeError("short datagram")
        if i >= o.warmup:
            samples[i - o.warmup] = now() - t0
    cpu = cpu_us() - cpu0
    sock.close()
    return latency_line(o, "udp64", samples, cpu)


def run_bulk(o, layer):
    total = o.bytes or (1 << 30)
    chunk = bytes(CHUNK)
    sock = layer.connect(o.host, o.sink)
    ack = bytearray(1)
    cpu0 = cpu_us()
    t0 = time.perf_counter_ns()
    sendall = sock.sendall
    for _ in range(total // CHUNK):
        sendall(chunk)
    sock.shutdown(layer.mod.SHUT_WR)
    recv_exact_into(sock, memoryview(ack))
    ns = time.perf_counter_ns() - t0
    cpu = cpu_us() - cpu0
    sock.close()
    return {"client": o.client, "workload": "bulk", "unit": "GB/s",
            "value": round(total / ns, 3), "bytes": total, "seconds": round(ns / 1e9, 4),
            "cpu_us_per_op": round(cpu / (total // CHUNK), 3)}


def run_requests(o, layer, pooled):
    buf = bytearray(MSG)
    view = memoryview(buf)
    cpu0 = cpu_us()
    t0 = time.perf_counter_ns()
    if pooled:
        pool = layer.mod.Pool(o.host, o.echo)
        for _ in range(o.count):
            with pool.acquire() as conn:
                if o.exchange:
                    conn.exchange(buf, buf)
                else:
                    conn.sendall(buf)
                    recv_exact_into(conn, view)
    else:
        for _ in range(o.count):
            with layer.connect(o.host, o.echo) as sock:
                sock.sendall(buf)
                recv_exact_into(sock, view)
    ns = time.perf_counter_ns() - t0
    cpu = cpu_us() - cpu0
    if pooled:
        pool.close()
    return {"client": o.client, "workload": "pooled" if pooled else "connect", "unit": "us",
            "value": round(ns / 1e3 / o.count, 3), "count": o.count,
            "cpu_us_per_op": round(cpu / o.count, 3)}


def run_pool64(o, layer):
    """o.threads threads, each doing its share of o.count 64-byte round trips
    through o.conns connections: sockrt's Pool, or a queue.Queue of sockets."""
    per_thread = max(1, o.count // o.threads)
    total = per_thread * o.threads
    failed = [0]
    if o.impl == "sockrt":
        pool = layer.mod.Pool(o.host, o.echo, max_idle=o.conns, max_total=o.conns,
                              acquire_timeout=None, check_on_acquire=False)

        def worker():
            buf = bytearray(MSG)
            view = memoryview(buf)
            acquire = pool.acquire
            for _ in range(per_thread):
                try:
                    with acquire() as conn:
                        conn.sendall(buf)
                        recv_exact_into(conn, view)
                except (OSError, EOFError):
                    failed[0] += 1
    else:
        conns = queue.Queue()
        for _ in range(o.conns):
            conns.put(layer.connect(o.host, o.echo))

        def worker():
            buf = bytearray(MSG)
            view = memoryview(buf)
            get, put = conns.get, conns.put
            for _ in range(per_thread):
                conn = get()
                try:
                    conn.sendall(buf)
                    recv_exact_into(conn, view)
                except (OSError, EOFError):
                    failed[0] += 1
                    conn.close()
                    conn = layer.connect(o.host, o.echo)
                put(conn)
    threads = [threading.Thread(target=worker) for _ in range(o.threads)]
    cpu0 = cpu_us()
    t0 = time.perf_counter_ns()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ns = time.perf_counter_ns() - t0
    cpu = cpu_us() - cpu0
    if o.impl == "sockrt":
        pool.close()
    else:
        while not conns.empty():
            conns.get().close()
    if failed[0]:
        sys.exit("py_client: pool64x8: %d of %d requests failed" % (failed[0], total))
    return {"client": o.client, "workload": "pool64x8", "unit": "req/s",
            "value": round(total / (ns / 1e9), 1), "count": total, "threads": o.threads,
            "connections": o.conns, "failed": failed[0],
            "cpu_us_per_op": round(cpu / total, 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("impl", choices=["socket", "sockrt", "sockrt-exchange"])
    ap.add_argument("workload")
    ap.add_argument("--host", default="127.0.0.1")
    for name in ("echo", "sink", "udp", "count", "warmup", "bytes", "busy-us", "threads",
                 "conns"):
        ap.add_argument("--" + name, type=int, default=0)
    o = ap.parse_args()
    o.client = "py-" + o.impl
    o.exchange = o.impl == "sockrt-exchange"
    if o.exchange and o.workload not in ("rtt64", "pooled"):
        sys.exit("py_client: sockrt-exchange runs rtt64 and pooled only")
    o.impl = "sockrt" if o.exchange else o.impl
    o.count = o.count or DEFAULTS.get(o.workload, 1)
    o.warmup = o.warmup or 2000
    o.threads = o.threads or 64
    o.conns = o.conns or 8
    layer = Layer(o.impl)
    w = o.workload
    if w in ("rtt64", "rtt64-busy"):
        if w == "rtt64-busy" and o.impl != "sockrt":
            sys.exit("py_client: rtt64-busy needs sockrt")
        line = run_rtt(o, layer, w == "rtt64-busy")
    elif w == "udp64":
        line = run_udp(o, layer)
    elif w == "bulk":
        line = run_bulk(o, layer)
    elif w in ("connect", "pooled"):
        if w == "pooled" and o.impl != "sockrt":
            sys.exit("py_client: pooled needs sockrt")
        line = run_requests(o, layer, w == "pooled")
    elif w == "pool64x8":
        line = run_pool64(o, layer)
    else:
        sys.exit("py_client: unknown workload %s" % w)
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
