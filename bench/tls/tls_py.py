"""TLS from Python: sockrt.tls against the standard ssl module, both as
clients of the same libsockrt TLS server (bench/tls_bench serve), in one
run: bulk (64 KiB sendall) and rtt64 (64-byte round trips), TCP_NODELAY on
both clients (as on the server). Prints each
measurement and "ratio NAME VALUE" (sockrt over ssl; above 1 is faster).

Usage: python tls_py.py TLS_BENCH PKI_DIR [quick]
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time

from sockrt import tls


def main() -> None:
    bench, pki = sys.argv[1], sys.argv[2]
    quick = len(sys.argv) > 3 and sys.argv[3] == "quick"
    bulk_bytes = (32 if quick else 256) << 20
    rounds = 3000 if quick else 20000
    server = subprocess.Popen([bench, pki, "serve", "300"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().split()[1])
        std_ctx = ssl.create_default_context(cafile=f"{pki}/ca.pem")
        our_ctx = tls.create_default_context(cafile=f"{pki}/ca.pem")

        def std_connect():
            raw = socket.create_connection(("127.0.0.1", port))
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return std_ctx.wrap_socket(raw, server_hostname="localhost")

        def our_connect():
            s = tls.create_connection(("127.0.0.1", port), our_ctx, server_hostname="localhost")
            s.set_nodelay()
            return s

        def bulk(connect) -> float:
            chunk = b"\x5a" * 65536
            s = connect()
            s.sendall(b"S" + bulk_bytes.to_bytes(8, "big"))
            t0 = time.perf_counter()
            for _ in range(bulk_bytes // len(chunk)):
                s.sendall(chunk)
            assert s.recv(1) == b"k"
            secs = time.perf_counter() - t0
            s.close()
            return bulk_bytes / (1 << 20) / secs

        def rtt(connect) -> float:
            s = connect()
            s.sendall(b"E")
            req = b"r" * 64
            for _ in range(100):
                s.sendall(req)
                got = 0
                while got < 64:
                    got += len(s.recv(64 - got))
            t0 = time.perf_counter()
            for _ in range(rounds):
                s.sendall(req)
                got = 0
                while got < 64:
                    got += len(s.recv(64 - got))
            us = (time.perf_counter() - t0) / rounds * 1e6
            s.close()
            return us

        results = {}
        for name, connect in (("ssl", std_connect), ("sockrt.tls", our_connect)):
            results[name] = (bulk(connect), rtt(connect))
            mibs, us = results[name]
            print(f"python {name:10s} bulk {mibs:8.1f} MiB/s   rtt64 {us:7.1f} us")
        print(f"ratio python_tls_bulk_vs_ssl {results['sockrt.tls'][0] / results['ssl'][0]:.2f}")
        print(f"ratio python_tls_rtt64_vs_ssl {results['ssl'][1] / results['sockrt.tls'][1]:.2f}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
