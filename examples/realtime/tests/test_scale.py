"""The event-loop server's limits at (small) scale: the publisher is never
locked out by its audience, a slow subscriber is bounded, a departed one is
noticed at once, many subscribers get every event through the fan-out, and
running out of descriptors is reported and survived."""

import json
import os
import resource
import selectors
import socket
import subprocess
import sys
import time

from conftest import HERE, Client, read_to_close, status_of

SERVER = os.path.join(os.path.dirname(HERE), "server.py")


def open_stream(client, path="/stream"):
    sock = client.raw(timeout=5)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, "closed before the response head"
        head += chunk
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
    return sock


def test_publisher_and_stats_are_served_when_subscribers_fill_the_cap(server_factory):
    client = Client(server_factory(max_connections=3, reserve=2))
    streams = [open_stream(client) for _ in range(3)]
    try:
        assert client.wait_open_connections(3)
        assert client.get_json("/stats")["subscribers"] == 3       # from the reserve
        published = client.publish("for a full house")
        for s in streams:
            data = b""
            while b"for a full house" not in data:
                chunk = s.recv(4096)
                assert chunk
                data += chunk
        status, headers, _ = client.get("/poll")                    # not a reserved route
        assert status == 503 and headers["Retry-After"] == "1"
        assert published["id"] >= 1
    finally:
        for s in streams:
            s.close()


def test_slow_subscriber_is_dropped_and_counted_while_others_get_everything(server_factory):
    server = server_factory(queue_limit=16384)
    client = Client(server)
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)      # a small window
    slow.settimeout(5)
    slow.connect((client.host, client.port))
    slow.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    fast = open_stream(client)
    try:
        assert client.wait_open_connections(2)
        conn = client.http()
        payload = "x" * 3000
        received = b""
        fast.settimeout(5)
        for i in range(200):                    # 600 KB: far past the slow one's buffers
            conn.request("POST", "/publish", body=f"{i} {payload}".encode())
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            received += fast.recv(1 << 20)
            if server.counters["dropped_slow"]:
                break
        conn.close()
        assert server.counters["dropped_slow"] == 1
        assert client.wait_open_connections(1), "the slow one is gone, the fast one stays"
        assert b"data: " in received
    finally:
        slow.close()
        fast.close()


def test_departed_subscriber_is_noticed_at_once(server_factory):
    client = Client(server_factory(heartbeat=60.0))   # no heartbeat write would notice
    stream = open_stream(client)
    ws = client.raw()
    ws.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    assert ws.recv(4096).startswith(b"HTTP/1.1 101")
    assert client.wait_open_connections(2)
    started = time.monotonic()
    stream.close()
    ws.close()
    assert client.wait_open_connections(0, timeout=2.0)
    assert time.monotonic() - started < 1.0


def test_every_one_of_many_subscribers_gets_every_event(server_factory):
    n, events = 300, 5
    client = Client(server_factory(max_connections=n + 8))
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(n):
        s = socket.create_connection((client.host, client.port), timeout=5)
        s.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
        socks.append(s)
    try:
        deadline = time.monotonic() + 10
        while client.server.subscribers() < n and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.server.subscribers() == n
        for k in range(events):
            client.publish(f"event {k}")
        got = [b""] * n
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(g.count(b"data: ") == events for g in got):
            for key, _ in sel.select(0.2):
                got[key.data] += key.fileobj.recv(65536)
        for g in got:
            ids = [json.loads(line[6:])["data"] for line in g.split(b"\n") if line.startswith(b"data: ")]
            assert ids == [f"event {k}" for k in range(events)]
    finally:
        for s in socks:
            s.close()
        sel.close()


def _limited(soft, hard):
    def apply():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return apply


def test_descriptor_limit_is_raised_and_running_out_is_reported_and_survived():
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, SERVER, "--port", "0", "--tick", "0", "--max-connections", "1000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=_limited(32, 48))
    clients = []
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on "), line
        port = int(line.rsplit(":", 1)[1].strip().strip("/"))
        for _ in range(60):                                  # more than the server can hold
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            clients.append(c)
        time.sleep(0.5)
        for c in clients:
            c.close()
        clients = []
        reply = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not reply:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                    c.sendall(b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    reply = read_to_close(c)
            except OSError:
                time.sleep(0.1)
        assert status_of(reply) == 200, "still serving once descriptors came free"
        assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["refused_no_descriptors"] >= 1
    finally:
        for c in clients:
            c.close()
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "descriptor limit 48 (hard 48)" in err, err
    assert "out of file descriptors" in err and "RLIMIT_NOFILE" in err, err
