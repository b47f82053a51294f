"""Subscriber clients for the measurement, on the standard library's socket
(which also shows that the sockrt server speaks plain HTTP and WebSocket to
any client). Each counts the bytes it sends and receives, the requests it
makes and the connections it opens.
"""

import base64
import json
import os
import socket
import struct
import threading
import time


class Counters:
    def __init__(self):
        self.sent = 0
        self.received = 0
        self.requests = 0
        self.connections = 0
        self.open_now = 0
        self.open_peak = 0

    def snapshot(self):
        return dict(sent=self.sent, received=self.received, requests=self.requests,
                    connections=self.connections, open_peak=self.open_peak)


class CountingSocket:
    """A TCP connection with byte counts and a small read buffer."""

    def __init__(self, host, port, counters, timeout=10.0):
        self.counters = counters
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()
        self.closed = False
        counters.connections += 1
        counters.open_now += 1
        counters.open_peak = max(counters.open_peak, counters.open_now)

    def send(self, data):
        self.sock.sendall(data)
        self.counters.sent += len(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        self.counters.received += len(data)
        self.buffer += data

    def read_until(self, marker, limit=1 << 20):
        while True:
            index = self.buffer.find(marker)
            if index >= 0:
                out = bytes(self.buffer[:index + len(marker)])
                del self.buffer[:index + len(marker)]
                return out
            if len(self.buffer) > limit:
                raise ValueError("response too large")
            self._fill()

    def read_exact(self, n):
        while len(self.buffer) < n:
            self._fill()
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def interrupt(self):
        """From another thread: wakes a blocked recv (shutdown does, close does not)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self):
        if not self.closed:
            self.closed = True
            self.counters.open_now -= 1
            self.sock.close()


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers


class HttpClient:
    """Sequential HTTP/1.1 requests on one keep-alive connection (reopened
    when the server closes it, or for every request with keep_alive=False)."""

    def __init__(self, host, port, counters, keep_alive=True, timeout=30.0):
        self.host, self.port = host, port
        self.counters = counters
        self.keep_alive = keep_alive
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=b""):
        if self.conn is None:
            self.conn = CountingSocket(self.host, self.port, self.counters, self.timeout)
        conn = self.conn
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Connection: {'keep-alive' if self.keep_alive else 'close'}\r\n")
        if body or method == "POST":
            head += f"Content-Length: {len(body)}\r\n"
        self.counters.requests += 1
        conn.send(head.encode("latin-1") + b"\r\n" + body)
        status, headers = parse_head(conn.read_until(b"\r\n\r\n")[:-4])
        payload = conn.read_exact(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close" or not self.keep_alive:
            self.close()
        return status, payload

    def interrupt(self):
        if self.conn is not None:
            self.conn.interrupt()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Subscriber:
    """Base: runs in its own thread and records (id, published, received)."""

    name = "?"

    def __init__(self, host, port, accept):
        self.host, self.port = host, port
        self.accept = accept            # which events count (the run's own)
        self.counters = Counters()
        self.deliveries = []            # (event id, publish time, receive time)
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self):
        self.thread.start()

    def _record(self, event):
        now = time.time()
        if self.accept(event):
            self.deliveries.append((event["id"], event["t"], now))

    def _run(self):
        try:
            self.subscribe()
        except Exception as exc:  # reported in the results, not lost in a thread
            if not self.stop.is_set():
                self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()
            self.close()

    def finish(self):
        self.stop.set()
        self.interrupt()
        self.thread.join(timeout=5.0)


class PollSubscriber(Subscriber):
    name = "polling"

    def __init__(self, host, port, accept, interval=0.5, keep_alive=True):
        super().__init__(host, port, accept)
        self.interval = interval
        self.http = HttpClient(host, port, self.counters, keep_alive)

    def subscribe(self):
        since = None
        while not self.stop.is_set():
            path = "/poll" if since is None else f"/poll?since={since}"
            status, body = self.http.request("GET", path)
            if status != 200:
                raise RuntimeError(f"poll answered {status}")
            reply = json.loads(body)
            for event in reply["events"]:
                self._record(event)
            since = reply["last"]
            self.ready.set()
            self.stop.wait(self.interval)

    def interrupt(self):
        self.http.interrupt()

    def close(self):
        self.http.close()


class LongPollSubscriber(PollSubscriber):
    name = "long polling"

    def __init__(self, host, port, accept, timeout=10, keep_alive=True):
        super().__init__(host, port, accept, 0, keep_alive)
        self.timeout = int(timeout)
        self.http.timeout = self.timeout + 10

    def subscribe(self):
        # The first request, without `since`, answers at once with `last`.
        status, body = self.http.request("GET", "/poll")
        since = json.loads(body)["last"]
        self.ready.set()
        while not self.stop.is_set():
            status, body = self.http.request("GET", f"/long-poll?since={since}&timeout={self.timeout}")
            if status != 200:
                raise RuntimeError(f"long poll answered {status}")
            reply = json.loads(body)
            for event in reply["events"]:
                self._record(event)
            since = reply["last"]


class StreamSubscriber(Subscriber):
    name = "SSE streaming"

    def subscribe(self):
        self.conn = CountingSocket(self.host, self.port, self.counters, timeout=None)
        self.counters.requests += 1
        self.conn.send(f"GET /stream HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                       "Accept: text/event-stream\r\n\r\n".encode())
        status, _ = parse_head(self.conn.read_until(b"\r\n\r\n")[:-4])
        if status != 200:
            raise RuntimeError(f"stream answered {status}")
        self.ready.set()
        while not self.stop.is_set():
            block = self.conn.read_until(b"\n\n").decode("utf-8")
            data = [line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")]
            if data:
                self._record(json.loads("\n".join(data)))

    def interrupt(self):
        if getattr(self, "conn", None):
            self.conn.interrupt()

    def close(self):
        if getattr(self, "conn", None):
            self.conn.close()


class WebSocketSubscriber(Subscriber):
    name = "WebSocket"

    def subscribe(self):
        self.conn = CountingSocket(self.host, self.port, self.counters, timeout=None)
        self.counters.requests += 1
        key = base64.b64encode(os.urandom(16)).decode()
        self.conn.send((f"GET /ws HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        status, _ = parse_head(self.conn.read_until(b"\r\n\r\n")[:-4])
        if status != 101:
            raise RuntimeError(f"upgrade answered {status}")
        self.ready.set()
        while not self.stop.is_set():
            opcode, payload = self._read_frame()
            if opcode == 0x1:
                self._record(json.loads(payload))
            elif opcode == 0x9:
                self._send_frame(0xA, payload)
            elif opcode == 0x8:
                return

    def _read_frame(self):
        first, second = self.conn.read_exact(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self.conn.read_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self.conn.read_exact(8))
        return first & 0x0F, self.conn.read_exact(length)

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.conn.send(struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload)) + mask + masked)

    def interrupt(self):
        if getattr(self, "conn", None):
            try:  # a polite close frame first, then wake our reader
                self._send_frame(0x8, struct.pack("!H", 1000))
            except OSError:
                pass
            self.conn.interrupt()

    def close(self):
        if getattr(self, "conn", None):
            self.conn.close()
