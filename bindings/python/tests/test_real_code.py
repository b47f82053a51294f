"""Real socket code, unmodified, on sockrt: standard-library and PyPI clients
and servers, each test run once on the standard module and once with
sockrt.patch() (or `import sockrt as socket` style use), asserting the same
outcome and that the sockets really were sockrt's.

Peers are servers nobody here wrote: http.server, socketserver, aiosmtpd,
pyftpdlib, ssl. A server is started before the patch, so it runs on standard
sockets unless the test is about the server side.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import http.server
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
from typing import Iterator

import pytest
from conftest import WAIT

import sockrt

IMPLS = pytest.mark.parametrize("impl", ["socket", "sockrt"])


@contextlib.contextmanager
def running_on(impl: str) -> Iterator[None]:
    """The block runs with the standard module patched to sockrt, or as it is."""
    if impl == "sockrt":
        with sockrt.patched():
            yield
    else:
        yield


def expect_impl(impl: str, sock: object) -> None:
    if impl == "sockrt":
        assert isinstance(sock, sockrt.socket), type(sock)
    else:
        assert type(sock) is socket.socket or isinstance(sock, ssl.SSLSocket), type(sock)


# --- an HTTP server from the standard library --------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    connections: list = []

    def setup(self) -> None:
        super().setup()
        self.server.connections.append(self.client_address)  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        if self.path == "/stall":
            # Answers only when the test says so (never, within the client's timeout).
            self.server.release.wait(WAIT)  # type: ignore[attr-defined]
        body = f"hello {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[::-1])

    def log_message(self, *args: object) -> None:
        pass


class Server(http.server.ThreadingHTTPServer):
    def shutdown_request(self, request) -> None:  # noqa: ANN001
        super().shutdown_request(request)  # the connection is closed now
        self.closed_one.set()  # type: ignore[attr-defined]


@contextlib.contextmanager
def http_server(idle_timeout: float | None = None) -> Iterator[http.server.ThreadingHTTPServer]:
    handler = type("TimedHandler", (Handler,), {"timeout": idle_timeout})
    server = Server(("127.0.0.1", 0), handler)
    server.connections = []  # type: ignore[attr-defined]
    server.release = threading.Event()  # type: ignore[attr-defined]
    server.closed_one = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.release.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()
        thread.join(WAIT)


@IMPLS
def test_http_client_get_post_keep_alive(impl):
    with http_server() as server, running_on(impl):
        host, port = server.server_address[:2]
        conn = http.client.HTTPConnection(host, port, timeout=WAIT)
        conn.request("GET", "/one")
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b"hello /one")
        expect_impl(impl, conn.sock)
        first = conn.sock
        conn.request("POST", "/echo", body=b"abcdef", headers={"Content-Type": "x/y"})
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (201, b"fedcba")
        assert conn.sock is first  # the same connection, kept alive
        conn.close()
        assert len(server.connections) == 1


@IMPLS
def test_http_client_default_timeout(impl):
    with http_server() as server, running_on(impl):
        socket.setdefaulttimeout(0.3)
        try:
            # No timeout= : http.client passes socket._GLOBAL_DEFAULT_TIMEOUT.
            conn = http.client.HTTPConnection(*server.server_address[:2])
            conn.request("GET", "/stall")
            expect_impl(impl, conn.sock)
            assert conn.sock.gettimeout() == 0.3
            with pytest.raises(socket.timeout):
                conn.getresponse()
            conn.close()
        finally:
            socket.setdefaulttimeout(None)


@IMPLS
def test_threading_http_server_on_the_module(impl):
    with running_on(impl), http_server() as server:
        expect_impl(impl, server.socket)
        host, port = server.server_address[:2]
        # The client is the standard module's http.client.
        conn = http.client.HTTPConnection(host, port, timeout=WAIT)
        for path in ("/a", "/b"):
            conn.request("GET", path)
            resp = conn.getresponse()
            assert resp.read() == f"hello {path}".encode()
        conn.close()
        assert len(server.connections) == 1


class LineEcho(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.server.seen.append(self.connection)  # type: ignore[attr-defined]
        for line in self.rfile:
            self.wfile.write(line.upper())


@IMPLS
def test_socketserver_stream_request_handler(impl):
    with running_on(impl):
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), LineEcho)
    server.seen = []  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        with socket.create_connection(server.server_address, timeout=WAIT) as c:
            f = c.makefile("rwb")
            f.write(b"one\ntwo\n")
            f.flush()
            assert f.readline() == b"ONE\n" and f.readline() == b"TWO\n"
            f.close()
        expect_impl(impl, server.socket)
        expect_impl(impl, server.seen[0])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(WAIT)


# --- urllib3 and requests ---------------------------------------------------------


@IMPLS
def test_urllib3_keep_alive_and_a_server_that_drops_idle_connections(impl):
    urllib3 = pytest.importorskip("urllib3")
    with http_server(idle_timeout=0.2) as server, running_on(impl):
        host, port = server.server_address[:2]
        pool = urllib3.HTTPConnectionPool(host, port, maxsize=1, timeout=WAIT, retries=False)
        r = pool.request("GET", "/x")
        assert (r.status, r.data) == (200, b"hello /x")
        r = pool.request("GET", "/y")
        assert r.data == b"hello /y" and len(server.connections) == 1
        conn = pool.pool.queue[-1]
        expect_impl(impl, conn.sock)
        # The server closes the idle connection; the next request must notice.
        assert server.closed_one.wait(WAIT)
        r = pool.request("GET", "/z")
        assert r.data == b"hello /z" and len(server.connections) == 2
        pool.close()


@IMPLS
def test_requests_session(impl):
    requests = pytest.importorskip("requests")
    with http_server() as server, running_on(impl):
        url = "http://{}:{}".format(*server.server_address[:2])
        with requests.Session() as session:
            assert session.get(url + "/a", timeout=WAIT).text == "hello /a"
            r = session.post(url + "/p", data=b"xyz", timeout=WAIT)
            assert (r.status_code, r.content) == (201, b"zyx")
            assert len(server.connections) == 1  # kept alive
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"http://127.0.0.1:{free_port()}/", timeout=WAIT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- smtplib against aiosmtpd, ftplib against pyftpdlib ----------------------------------


@IMPLS
def test_smtplib_against_aiosmtpd(impl):
    pytest.importorskip("aiosmtpd")
    import smtplib

    from aiosmtpd.controller import Controller

    class Store:
        def __init__(self) -> None:
            self.messages: list = []

        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
            self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
            return "250 OK"

    store = Store()
    controller = Controller(store, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with running_on(impl), smtplib.SMTP("127.0.0.1", controller.port, timeout=WAIT) as smtp:
            expect_impl(impl, smtp.sock)
            assert smtp.ehlo()[0] == 250
            smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: hi\r\n\r\nbody\r\n")
            assert smtp.noop()[0] == 250
        assert len(store.messages) == 1
        mail_from, rcpts, content = store.messages[0]
        assert (mail_from, rcpts) == ("a@example.org", ["b@example.org"])
        assert b"body" in content
    finally:
        controller.stop()


@IMPLS
@pytest.mark.parametrize("passive", [True, False], ids=["pasv", "active"])
def test_ftplib_against_pyftpdlib(impl, passive, tmp_path):
    pytest.importorskip("pyftpdlib")
    import ftplib
    import io

    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    (tmp_path / "hello.txt").write_bytes(b"hello ftp\n" * 1000)
    authorizer = DummyAuthorizer()
    authorizer.add_user("user", "pw", str(tmp_path), perm="elradfmw")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer})
    server = FTPServer(("127.0.0.1", 0), handler)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            server.serve_forever(timeout=0.02, blocking=False, handle_exit=False)
        server.close_all()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with running_on(impl):
            ftp = ftplib.FTP()
            ftp.connect("127.0.0.1", server.address[1], timeout=WAIT)
            expect_impl(impl, ftp.sock)
            ftp.login("user", "pw")
            ftp.set_pasv(passive)
            names = ftp.nlst()
            assert names == ["hello.txt"]
            got = io.BytesIO()
            ftp.retrbinary("RETR hello.txt", got.write)
            assert got.getvalue() == b"hello ftp\n" * 1000
            ftp.storbinary("STOR up.bin", io.BytesIO(b"\x00\x01" * 50_000))
            ftp.quit()
        assert (tmp_path / "up.bin").read_bytes() == b"\x00\x01" * 50_000
    finally:
        stop.set()
        thread.join(WAIT)


# --- asyncio ---------------------------------------------------------------------


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    data = await reader.readline()
    writer.write(data.upper())
    await writer.drain()
    writer.close()


@pytest.mark.parametrize("mod", [socket, sockrt], ids=["socket", "sockrt"])
def test_asyncio_start_server_and_open_connection_with_sock(mod):
    async def main() -> bytes:
        listener = mod.create_server(("127.0.0.1", 0))
        server = await asyncio.start_server(_echo, sock=listener)
        async with server:
            client = mod.create_connection(listener.getsockname(), timeout=WAIT)
            reader, writer = await asyncio.open_connection(sock=client)
            writer.write(b"ping\n")
            await writer.drain()
            reply = await asyncio.wait_for(reader.readline(), WAIT)
            writer.close()
            await writer.wait_closed()
        return reply

    assert asyncio.run(asyncio.wait_for(main(), WAIT)) == b"PING\n"


@pytest.mark.parametrize("mod", [socket, sockrt], ids=["socket", "sockrt"])
def test_asyncio_sock_connect_and_sock_recv(mod):
    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        listener = mod.create_server(("127.0.0.1", 0))
        listener.setblocking(False)
        client = mod.socket()
        client.setblocking(False)
        with listener, client:
            await asyncio.wait_for(loop.sock_connect(client, listener.getsockname()), WAIT)
            conn, _ = await asyncio.wait_for(loop.sock_accept(listener), WAIT)
            with conn:
                conn.setblocking(False)
                await loop.sock_sendall(client, b"over asyncio")
                return await asyncio.wait_for(loop.sock_recv(conn, 100), WAIT)

    if mod is sockrt and not sockrt._ffi.has("sockrt_getsockopt"):
        pytest.skip("non-blocking connect needs the newer library")
    assert asyncio.run(main()) == b"over asyncio"


# --- ssl -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return str(cert), str(key)


@contextlib.contextmanager
def tls_echo_server(certificate) -> Iterator[tuple]:
    """A standard ssl server on standard sockets: echoes one message per connection."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*certificate)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)
    errors: list = []

    def serve() -> None:
        for _ in range(1):
            try:
                conn, _ = listener.accept()
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(WAIT)
                    tls.sendall(tls.recv(100).upper())
            except OSError as exc:
                errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname(), errors
    finally:
        thread.join(WAIT)
        listener.close()


def client_context(certificate) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=certificate[0])
    return ctx


@pytest.mark.parametrize("mod", [socket, sockrt], ids=["socket", "sockrt"])
def test_ssl_wrap_socket_over_a_detached_socket(mod, certificate):
    if mod is sockrt and not sockrt._ffi.has("sockrt_detach"):
        pytest.skip("detach needs the newer library")
    with tls_echo_server(certificate) as (addr, errors):
        raw = mod.create_connection(addr, timeout=WAIT)
        with client_context(certificate).wrap_socket(raw, server_hostname="localhost") as tls:
            assert raw.fileno() == -1  # taken over
            tls.sendall(b"secret")
            assert tls.recv(100) == b"SECRET"
            assert tls.version() is not None
    assert errors == []


@pytest.mark.parametrize("mod", [socket, sockrt], ids=["socket", "sockrt"])
def test_ssl_memory_bio_over_a_live_socket(mod, certificate):
    with tls_echo_server(certificate) as (addr, errors):
        sock = mod.create_connection(addr, timeout=WAIT)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = client_context(certificate).wrap_bio(incoming, outgoing,
                                                   server_hostname="localhost")

        def pump(op):  # noqa: ANN001
            for _ in range(100):
                try:
                    result = op()
                except ssl.SSLWantReadError:
                    if outgoing.pending:
                        sock.sendall(outgoing.read())
                    data = sock.recv(65536)
                    if not data:
                        raise ConnectionError("peer closed") from None
                    incoming.write(data)
                    continue
                if outgoing.pending:
                    sock.sendall(outgoing.read())
                return result
            raise AssertionError("TLS did not settle")

        with sock:
            pump(tls.do_handshake)
            pump(lambda: tls.write(b"over bio"))
            assert pump(lambda: tls.read(100)) == b"OVER BIO"
            assert isinstance(sock, mod.socket)
    assert errors == []
