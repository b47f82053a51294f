#!/usr/bin/env python3
"""sockrt against the standard socket module, same peer, one run.

    compare.py [--peer PATH] [--count N] [--warmup N] [--bulk-mib N] [--rounds N]

Workloads (client side in this process, the peer in another):
  rtt64    64-byte ping-pong with TCP_NODELAY: sendall(bytes) then recv_into
           a bytearray until the 64 bytes are back; mean microseconds.
  rtt64r   the same with recv(64) (a new bytes object per reply).
  (each for the standard module, sockrt, and "ctypes": the C functions
  called straight from the loop with pre-typed arguments, no Socket class,
  which is the floor for any ctypes binding of this library)
  bulk     --bulk-mib MiB in 64 KiB sendall() calls into a sink that reads
           to end of stream and answers one byte; GB/s (10^9 bytes/s).
The peer is a C program (bench/peer_server.c, built by `make bench-c`) when
--peer names it, else a standard-library Python peer started from this file.
For repeatable figures run the whole thing on one CPU: taskset -c 0 ...
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time

MSG = 64
CHUNK = 65536


# --- a standard-library peer (used when no C peer is given) --------------------

def _echo(conn: socket.socket) -> None:
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with conn:
        while True:
            n = conn.recv_into(buf)
            if not n:
                return
            conn.sendall(view[:n])


def _sink(conn: socket.socket) -> None:
    buf = bytearray(1 << 20)
    with conn:
        while conn.recv_into(buf):
            pass
        conn.sendall(b"k")


def _serve(listener: socket.socket, handler) -> None:
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handler, args=(conn,), daemon=True).start()


def serve_forever(lifetime: float) -> None:
    echo = socket.create_server(("127.0.0.1", 0))
    sink = socket.create_server(("127.0.0.1", 0))
    for listener, handler in ((echo, _echo), (sink, _sink)):
        threading.Thread(target=_serve, args=(listener, handler), daemon=True).start()
    ports = {"echo": echo.getsockname()[1], "sink": sink.getsockname()[1]}
    print(json.dumps(ports), flush=True)
    time.sleep(lifetime)


# --- the clients ------------------------------------------------------------------

def connect(mod, port: int):
    s = mod.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def rtt_recv_into(mod, port: int, count: int, warmup: int) -> float:
    msg = bytes(range(MSG))
    buf = bytearray(MSG)
    view = memoryview(buf)
    with connect(mod, port) as s:
        sendall, recv_into = s.sendall, s.recv_into
        for phase in (warmup, count):
            start = time.perf_counter()
            for _ in range(phase):
                sendall(msg)
                got = recv_into(buf)
                while got < MSG:
                    got += recv_into(view[got:])
            elapsed = time.perf_counter() - start
        if bytes(buf) != msg:
            raise SystemExit("echo mismatch")
    return elapsed / count * 1e6


def rtt_recv(mod, port: int, count: int, warmup: int) -> float:
    msg = bytes(range(MSG))
    with connect(mod, port) as s:
        sendall, recv = s.sendall, s.recv
        for phase in (warmup, count):
            start = time.perf_counter()
            for _ in range(phase):
                sendall(msg)
                reply = recv(MSG)
                while len(reply) < MSG:
                    reply += recv(MSG - len(reply))
            elapsed = time.perf_counter() - start
        if reply != msg:
            raise SystemExit("echo mismatch")
    return elapsed / count * 1e6


def bulk(mod, port: int, mib: int) -> float:
    chunk = bytes(i % 251 for i in range(CHUNK))
    calls = mib * (1 << 20) // CHUNK
    with connect(mod, port) as s:
        sendall = s.sendall
        start = time.perf_counter()
        for _ in range(calls):
            sendall(chunk)
        s.shutdown(mod.SHUT_WR)
        if s.recv(1) != b"k":
            raise SystemExit("sink did not acknowledge")
        elapsed = time.perf_counter() - start
    return calls * CHUNK / elapsed / 1e9


class _DirectConn:
    """Just enough of a socket for the loops above, on raw _ffi calls."""

    def __init__(self, port: int) -> None:
        import ctypes

        from sockrt import _ffi

        self._ffi = _ffi
        out = ctypes.c_uint64()
        if _ffi.tcp_connect(b"127.0.0.1", port, -1, ctypes.byref(out)):
            raise SystemExit("connect failed")
        self.h = ctypes.c_uint64(out.value)
        _ffi.set_option(self.h, 3, 1)  # SOCKRT_OPT_NODELAY
        self._pinned: dict = {}
        send_all, recv, c_char = _ffi.send_all, _ffi.recv, ctypes.c_char
        h, addressof = self.h, ctypes.addressof

        def sendall(data: bytes) -> None:
            if send_all(h, data, len(data)):
                raise SystemExit("send_all failed")

        def recv_into(buf) -> int:
            n = recv(h, addressof(c_char.from_buffer(buf)), len(buf))
            if n < 0:
                raise SystemExit("recv failed")
            return n

        scratch = bytearray(65536)
        scratch_addr = ctypes.c_void_p(addressof(c_char.from_buffer(scratch)))
        scratch_view = memoryview(scratch)

        def recv_(size: int) -> bytes:
            n = recv(h, scratch_addr, size)
            if n < 0:
                raise SystemExit("recv failed")
            return scratch_view[:n].tobytes()

        self.sendall, self.recv_into, self.recv = sendall, recv_into, recv_

    def setsockopt(self, *args) -> None:
        pass

    def shutdown(self, how) -> None:
        self._ffi.shutdown(self.h, 2)  # SOCKRT_SHUT_WRITE

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._ffi.close(self.h)


class _Direct:
    """The `ctypes` pseudo-library for the loops."""

    SHUT_WR = socket.SHUT_WR

    @staticmethod
    def create_connection(address):
        return _DirectConn(address[1])


def start_peer(path: str | None) -> tuple[subprocess.Popen, dict]:
    cmd = [path, "--lifetime", "600"] if path else [sys.executable, __file__, "--serve"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    return proc, json.loads(proc.stdout.readline())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--peer", help="the C peer_server binary")
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--bulk-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; best is kept")
    args = parser.parse_args()
    if args.serve:
        serve_forever(600)
        return 0

    import sockrt

    libs = {"socket": socket, "sockrt": sockrt, "ctypes": _Direct}
    proc, ports = start_peer(args.peer)
    results: dict = {}
    try:
        for _ in range(args.rounds):
            for name, mod in libs.items():
                r = results.setdefault(name, {"rtt64": [], "rtt64r": [], "bulk": []})
                r["rtt64"].append(rtt_recv_into(mod, ports["echo"], args.count, args.warmup))
                r["rtt64r"].append(rtt_recv(mod, ports["echo"], args.count, args.warmup))
                r["bulk"].append(bulk(mod, ports["sink"], args.bulk_mib))
    finally:
        proc.kill()
        proc.wait()
    affinity = sorted(os.sched_getaffinity(0))
    print(f"peer: {'C ' + args.peer if args.peer else 'Python stdlib'}; CPUs {affinity}; "
          f"{args.count} round trips after {args.warmup} warm-up; "
          f"{args.bulk_mib} MiB bulk; best of {args.rounds}")
    print(f"{'':8} {'rtt64 recv_into us':>19} {'rtt64 recv us':>14} {'bulk GB/s':>10}")
    for name, r in results.items():
        print(f"{name:8} {min(r['rtt64']):19.2f} {min(r['rtt64r']):14.2f} {max(r['bulk']):10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
