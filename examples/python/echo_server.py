#!/usr/bin/env python3
"""TCP (or Unix stream) echo server on sockrt.

    echo_server.py HOST PORT [SECONDS]

Port 0 picks a free port; a HOST with a '/' in it is a Unix socket path
(PORT 0; a stale socket file there is replaced, and closing the server
removes the file). Prints one line "LISTENING <host> <port>" once it
accepts connections, serves each connection in its own thread (echoing bytes
until the peer closes), and exits 0 after SECONDS (default 30) or on
SIGINT/SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

try:
    import sockrt
except ModuleNotFoundError:  # running from the source tree, not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))
    import sockrt


def serve(conn: sockrt.Socket) -> None:
    """Echoes until the peer closes; errors just end this connection."""
    buf = bytearray(65536)
    view = memoryview(buf)
    with conn:
        try:
            if conn.family != sockrt.AF_UNIX:
                conn.set_nodelay(True)
            while True:
                n = conn.recv_into(buf)
                if n == 0:
                    return
                conn.sendall(view[:n])
        except OSError:
            return


def accept_loop(server: sockrt.Socket, stop: threading.Event, conns: set) -> None:
    while not stop.is_set():
        try:
            conn, _peer = server.accept()
        except OSError:
            if stop.is_set() or server.closed:
                return
            continue  # e.g. out of descriptors for a moment
        conns.add(conn)
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def main(argv: list) -> int:
    if len(argv) not in (3, 4):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    host, port = argv[1], int(argv[2])
    seconds = float(argv[3]) if len(argv) == 4 else 30.0
    if "/" in host:
        server = sockrt.socket(sockrt.AF_UNIX, sockrt.SOCK_STREAM)
        server.set_option(sockrt.OPT_UNLINK_STALE, 1)  # a killed server's file
        server.bind(host)
        server.listen()
    else:
        family = sockrt.AF_INET6 if ":" in host else sockrt.AF_INET
        server = sockrt.create_server((host, port), family=family)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    conns: set = set()
    acceptor = threading.Thread(target=accept_loop, args=(server, stop, conns), daemon=True)
    acceptor.start()
    bound = server.getsockname()
    bound_host, bound_port = (bound, 0) if server.family == sockrt.AF_UNIX else bound
    print(f"LISTENING {bound_host} {bound_port}", flush=True)
    stop.wait(seconds)
    stop.set()
    server.close()  # wakes the blocked accept
    for conn in list(conns):
        conn.close()  # wakes blocked receives
    acceptor.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
