"""Stand-in programs for testing the demo driver (standard library only).

    fake_peer.py MODE HOST PORT [N]

Modes that follow the examples' contract: `server` (echo server; exits 0 on
SIGTERM), `client` and `pool` (verified echo round trips). Modes that break
it, to prove the driver notices: `deaf-server` (ignores SIGTERM),
`silent-server` (never prints LISTENING), `liar-client` (claims fewer
messages than asked), `crash-client` (exits 1 without a RESULT line).
Servers write their pid to $FAKE_PID_DIR/<pid> so a test can check that the
driver stopped them.
"""

import os
import signal
import socket
import sys
import threading
import time


def record_pid() -> None:
    pid_dir = os.environ.get("FAKE_PID_DIR")
    if pid_dir:
        with open(os.path.join(pid_dir, str(os.getpid())), "w"):
            pass


def serve(host: str, seconds: float, announce: bool = True, deaf: bool = False) -> int:
    record_pid()
    stop = threading.Event()
    if deaf:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if "/" in host:  # a Unix socket path, as the demo's Unix rows give
        if os.path.exists(host):
            os.unlink(host)  # left by a server that was killed
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(host)
        listener.listen()
        port = 0
    else:
        listener = socket.create_server((host, 0))
        port = listener.getsockname()[1]
    listener.settimeout(0.05)
    if announce:
        print("LISTENING", host, port, flush=True)
    deadline = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        threading.Thread(target=echo, args=(conn,), daemon=True).start()
    listener.close()
    return 0


def echo(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


def recv_exact(conn: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = conn.recv(size)
        if not chunk:
            raise EOFError("peer closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def client(host: str, port: int, count: int, pool: bool = False) -> int:
    verified = 0
    start = time.monotonic()
    if "/" in host:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(5)
        conn.connect(host)
    else:
        conn = socket.create_connection((host, port), timeout=5)
    with conn:
        for i in range(count):
            message = bytes((i + j) & 0xFF for j in range(1 + i % 100))
            conn.sendall(message)
            if recv_exact(conn, len(message)) != message:
                return 1
            verified += len(message)
    mean_us = (time.monotonic() - start) * 1e6 / max(count, 1)
    if pool:
        print(f"STATS created=1 reused={count - 1} closed_stale=0")
    print(f"RESULT messages={count} bytes={verified} mean_rtt_us={mean_us:.1f}")
    return 0


def main() -> int:
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    if mode == "server":
        return serve(host, n)
    if mode == "deaf-server":
        return serve(host, n, deaf=True)
    if mode == "silent-server":
        return serve(host, n, announce=False)
    if mode in ("client", "pool"):
        return client(host, port, n, pool=mode == "pool")
    if mode == "liar-client":
        print(f"RESULT messages={n - 1} bytes={n} mean_rtt_us=1.0")
        return 0
    if mode == "crash-client":
        print("something went wrong", file=sys.stderr)
        return 1
    print(f"unknown mode {mode}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
