"""Fixtures: a RealtimeServer in this process with small limits and short
timeouts, so that hostile-client tests finish in about a second each."""

import http.client
import json
import os
import socket
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import httpproto  # noqa: E402
from server import RealtimeServer, ServerConfig  # noqa: E402


def make_config(**overrides):
    settings = dict(host="127.0.0.1", port=0, tick=0, max_connections=16,
                    limits=httpproto.Limits(max_request_line=1024, max_header_bytes=2048,
                                            max_body=4096, request_timeout=1.0),
                    long_poll_default=5.0, long_poll_max=10.0, heartbeat=0.5,
                    io_timeout=2.0, quiet=True)
    settings.update(overrides)
    return ServerConfig(**settings)


@pytest.fixture
def server_factory():
    started = []

    def start(**overrides):
        server = RealtimeServer(make_config(**overrides)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def server(server_factory):
    return server_factory()


class Client:
    """Small helpers around the standard library, bound to one server."""

    def __init__(self, server):
        self.host, self.port = server.address
        self.server = server

    def http(self, timeout=5.0):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def get(self, path, timeout=5.0):
        conn = self.http(timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def get_json(self, path):
        status, _, body = self.get(path)
        assert status == 200, body
        return json.loads(body)

    def publish(self, text, conn=None):
        own = conn is None
        conn = conn or self.http()
        try:
            conn.request("POST", "/publish", body=text.encode("utf-8"))
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, body
            return json.loads(body)
        finally:
            if own:
                conn.close()

    def raw(self, timeout=5.0):
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def raw_exchange(self, data, timeout=5.0):
        """Sends `data`, returns everything the server sends until it closes."""
        with self.raw(timeout) as sock:
            sock.sendall(data)
            return read_to_close(sock)

    def wait_open_connections(self, expected, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.open_connections() == expected:
                return True
            time.sleep(0.02)
        return self.server.open_connections() == expected


def read_to_close(sock, limit=1 << 20):
    chunks, total = [], 0
    while total < limit:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def status_of(response_bytes):
    line = response_bytes.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    assert len(parts) >= 2 and parts[0] == b"HTTP/1.1", response_bytes[:200]
    return int(parts[1])


@pytest.fixture
def client(server):
    return Client(server)


def pytest_terminal_summary(terminalreporter):
    """A skipped browser test must not pass unnoticed: say so in a banner."""
    for report in terminalreporter.stats.get("skipped", []):
        if "chromium" in str(report.longrepr):
            terminalreporter.write_sep("*", "SKIPPED: the headless Chromium test did not run "
                                       "(chromium not installed)", red=True, bold=True)
            return
