"""sockrt.tls against Python's own ssl module (OpenSSL) on both ends, and
the same scenarios run with ssl alone, so a difference in behaviour or in
the exception raised shows as a failure. Certificates are made for the
session by tests/tls/make_certs.sh (the openssl command)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO, WAIT, run_in_thread

import sockrt
import sockrt.tls as tls


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    subprocess.run(
        ["sh", str(REPO / "tests" / "tls" / "make_certs.sh"), str(d)], check=True, timeout=60
    )
    return d


# ---- peers made with the standard library ---------------------------------


class StdServer:
    """An ssl (OpenSSL) echo server for `n` connections in a thread; records
    what each handshake negotiated, as the server saw it."""

    def __init__(self, ctx: ssl.SSLContext, n: int = 1) -> None:
        self.ctx = ctx
        self.n = n
        self.seen: list[dict] = []
        self.errors: list[BaseException] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(WAIT)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        threads = []
        for _ in range(self.n):
            try:
                raw, _ = self.listener.accept()
            except OSError:
                break
            t = threading.Thread(target=self._serve, args=(raw,), daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            t.join(WAIT * 2)

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(WAIT)
        try:
            with self.ctx.wrap_socket(raw, server_side=True) as s:
                self.seen.append(
                    {
                        "version": s.version(),
                        "alpn": s.selected_alpn_protocol(),
                        "reused": s.session_reused,
                        "peer": s.getpeercert(),
                    }
                )
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    s.sendall(data)
        except (OSError, ssl.SSLError) as exc:
            self.errors.append(exc)

    def join(self) -> None:
        self.thread.join(WAIT * 2)
        self.listener.close()


def std_server_ctx(pki: Path, cert="chain.pem", key="server.key") -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / cert, pki / key)
    return ctx


def our_client_ctx(pki: Path) -> tls.TLSContext:
    ctx = tls.TLSContext(tls.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki / "ca.pem")
    return ctx


def our_server_ctx(pki: Path) -> tls.TLSContext:
    ctx = tls.TLSContext(tls.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "chain.pem", pki / "server.key")
    return ctx


VERSIONS = [
    (ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
    (ssl.TLSVersion.TLSv1_3, "TLSv1.3"),
]


# ---- sockrt client -> ssl server -------------------------------------------


@pytest.mark.parametrize("version,name", VERSIONS)
def test_our_client_against_the_ssl_server(pki, version, name):
    sctx = std_server_ctx(pki)
    sctx.set_alpn_protocols(["echo/1"])
    sctx.minimum_version = sctx.maximum_version = version
    server = StdServer(sctx, n=2)
    ctx = our_client_ctx(pki)
    ctx.set_alpn_protocols(["h2", "echo/1"])
    for round_ in range(2):
        with sockrt.create_connection(("127.0.0.1", server.port), timeout=WAIT) as raw:
            s = ctx.wrap_socket(raw, server_hostname="localhost")
            assert raw.closed  # detached into the TLS socket, as ssl does
            with s:
                assert s.version() == name
                assert s.selected_alpn_protocol() == "echo/1"
                assert s.session_reused == (round_ == 1)
                assert s.getpeercert()["subject"] == (
                    (("organizationName", "sockrt test"),),
                    (("commonName", "localhost"),),
                )
                payload = bytes(range(256)) * 1000
                s.sendall(payload)
                assert s.recv_exact(len(payload)) == payload
                with s.makefile("rwb") as f:
                    f.write(b"line one\n")
                    f.flush()
                    assert f.readline() == b"line one\n"
    server.join()
    assert not server.errors, server.errors
    assert [seen["version"] for seen in server.seen] == [name, name]
    assert [seen["alpn"] for seen in server.seen] == ["echo/1", "echo/1"]
    # Resumption, as OpenSSL on the server side saw it.
    assert [seen["reused"] for seen in server.seen] == [False, True]


def test_one_call_connect_and_close_notify(pki):
    server = StdServer(std_server_ctx(pki))
    s = tls.create_connection(
        ("127.0.0.1", server.port), our_client_ctx(pki), server_hostname="localhost", timeout=WAIT
    )
    assert s.gettimeout() == WAIT
    assert s.exchange(b"abc", bytearray(3)) is None
    s.close()  # sends close_notify: OpenSSL's recv returns b"" cleanly
    server.join()
    assert not server.errors, server.errors


# ---- ssl client -> sockrt server -------------------------------------------


class OurServer:
    """A sockrt.tls echo server for `n` connections in a thread."""

    def __init__(self, ctx: tls.TLSContext, n: int = 1) -> None:
        raw = sockrt.create_server(("127.0.0.1", 0))
        raw.settimeout(WAIT)
        self.port = raw.getsockname()[1]
        self.listener = ctx.wrap_socket(raw, server_side=True)
        self.seen: list[dict] = []
        self.errors: list[BaseException] = []
        self.n = n
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for _ in range(self.n):
            try:
                s, _ = self.listener.accept()
            except OSError as exc:
                self.errors.append(exc)
                continue
            with s:
                s.settimeout(WAIT)
                self.seen.append(
                    {
                        "version": s.version(),
                        "alpn": s.selected_alpn_protocol(),
                        "reused": s.session_reused,
                        "peer": s.peer_subject(),
                    }
                )
                try:
                    while True:
                        data = s.recv(65536)
                        if not data:
                            break
                        s.sendall(data)
                except OSError as exc:
                    self.errors.append(exc)

    def join(self) -> None:
        self.thread.join(WAIT * 2)
        self.listener.close()


@pytest.mark.parametrize("version,name", VERSIONS)
def test_the_ssl_client_against_our_server(pki, version, name):
    ctx = our_server_ctx(pki)
    ctx.set_alpn_protocols(["echo/1"])
    server = OurServer(ctx, n=2)
    cctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    cctx.minimum_version = cctx.maximum_version = version
    cctx.set_alpn_protocols(["echo/1"])
    session = None
    for round_ in range(2):
        with socket.create_connection(
            ("127.0.0.1", server.port), timeout=WAIT
        ) as raw, cctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
            assert s.version() == name
            assert s.selected_alpn_protocol() == "echo/1"
            s.sendall(b"x" * 100000)
            got = b""
            while len(got) < 100000:
                got += s.recv(65536)
            assert got == b"x" * 100000
            assert s.session_reused == (round_ == 1)
            session = s.session
    server.join()
    assert not server.errors, server.errors
    assert [seen["version"] for seen in server.seen] == [name, name]
    assert [seen["reused"] for seen in server.seen] == [False, True]


def test_mutual_tls_with_the_ssl_client(pki):
    ctx = our_server_ctx(pki)
    ctx.verify_mode = tls.CERT_REQUIRED
    ctx.load_verify_locations(pki / "ca.pem")
    server = OurServer(ctx, n=2)
    cctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    cctx.maximum_version = ssl.TLSVersion.TLSv1_2  # the refusal comes in the handshake
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as raw, pytest.raises(
        ssl.SSLError
    ):
        cctx.wrap_socket(raw, server_hostname="localhost")
    cctx.load_cert_chain(pki / "client.pem", pki / "client.key")
    with socket.create_connection(
        ("127.0.0.1", server.port), timeout=WAIT
    ) as raw, cctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"m")
        assert s.recv(1) == b"m"
    server.join()
    assert len(server.errors) == 1
    assert isinstance(server.errors[0], tls.SSLCertVerificationError)
    assert "no certificate" in str(server.errors[0])
    assert server.seen[0]["peer"] == "CN=client,O=sockrt test"


# ---- errors: the same failures with ssl alone and with sockrt.tls ----------


@pytest.mark.parametrize(
    "cert,key,hostname,reason,openssl_reason",
    [
        ("other.pem", "other.key", "localhost", "unknown issuer", "unable to get local issuer"),
        ("expired.pem", "expired.key", "localhost", "expired", "expired"),
        ("chain.pem", "server.key", "elsewhere.invalid", "name mismatch", "mismatch"),
    ],
)
def test_verification_failures_raise_what_ssl_raises(
    pki, cert, key, hostname, reason, openssl_reason
):
    server = StdServer(std_server_ctx(pki, cert, key), n=2)
    std = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as raw, pytest.raises(
        ssl.SSLCertVerificationError
    ) as std_exc:
        std.wrap_socket(raw, server_hostname=hostname)
    assert openssl_reason in str(std_exc.value)
    with sockrt.create_connection(("127.0.0.1", server.port), timeout=WAIT) as raw, pytest.raises(
        ssl.SSLCertVerificationError
    ) as our_exc:
        our_client_ctx(pki).wrap_socket(raw, server_hostname=hostname)
    assert isinstance(our_exc.value, sockrt.Error)
    assert our_exc.value.code == sockrt.E_TLS_CERTIFICATE
    assert reason in str(our_exc.value)
    server.join()


def test_plain_text_to_a_tls_server_raises_what_ssl_raises(pki):
    for make_server in (
        lambda: StdServer(std_server_ctx(pki)),
        lambda: OurServer(our_server_ctx(pki)),
    ):
        server = make_server()
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as plain:
            plain.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                while plain.recv(4096):  # an alert at most, then the end: no hang
                    pass
            except ConnectionResetError:  # closed with our request unread
                pass
        server.join()
        assert len(server.errors) == 1 and isinstance(server.errors[0], ssl.SSLError)
    assert "plain text" in str(server.errors[0])


def test_tls_to_a_plain_server_raises_what_ssl_raises(pki):
    plain = socket.create_server(("127.0.0.1", 0))
    port = plain.getsockname()[1]

    def serve() -> None:
        for _ in range(2):
            conn, _ = plain.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    thread, _ = run_in_thread(serve)
    std = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as raw, pytest.raises(
        ssl.SSLError
    ):
        std.wrap_socket(raw, server_hostname="localhost")
    with pytest.raises(ssl.SSLError) as exc:
        tls.create_connection(
            ("127.0.0.1", port), our_client_ctx(pki), server_hostname="localhost", timeout=WAIT
        )
    assert exc.value.code == sockrt.E_TLS_HANDSHAKE
    assert "HTTP/1.1 400" in str(exc.value)
    thread.join(WAIT)
    plain.close()


def test_truncation_is_ssl_eof_error(pki):
    """A peer that ends TCP without close_notify: SSLEOFError, as ssl raises
    with suppress_ragged_eofs=False."""
    lst = socket.create_server(("127.0.0.1", 0))
    port = lst.getsockname()[1]
    sctx = std_server_ctx(pki)

    def serve() -> None:
        conn, _ = lst.accept()
        s = sctx.wrap_socket(conn, server_side=True)
        s.sendall(b"partial")
        # End TCP under OpenSSL's feet: no close_notify.
        raw = socket.socket(fileno=s.detach())
        raw.shutdown(socket.SHUT_RDWR)
        raw.close()

    for suppress in (False, True):
        thread, _ = run_in_thread(serve)
        s = tls.create_connection(
            ("127.0.0.1", port),
            our_client_ctx(pki),
            server_hostname="localhost",
            timeout=WAIT,
            suppress_ragged_eofs=suppress,
        )
        with s:
            assert s.recv(7) == b"partial"
            if suppress:
                assert s.recv(10) == b""  # as ssl with suppress_ragged_eofs=True
            else:
                with pytest.raises(ssl.SSLEOFError) as exc:
                    s.recv(10)
                assert exc.value.code == sockrt.E_TLS_TRUNCATED
        thread.join(WAIT)
    lst.close()


def test_close_wakes_a_blocked_tls_recv(pki):
    server = StdServer(std_server_ctx(pki))
    s = tls.create_connection(
        ("127.0.0.1", server.port), our_client_ctx(pki), server_hostname="localhost"
    )
    thread, outcome = run_in_thread(lambda: s.recv(10))
    time.sleep(0.1)
    assert thread.is_alive()
    s.close()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), OSError)
    server.join()


def test_context_rules(pki):
    ctx = tls.TLSContext()
    assert ctx.check_hostname and ctx.verify_mode == tls.CERT_REQUIRED
    with pytest.raises(ValueError):
        ctx.verify_mode = tls.CERT_NONE  # check_hostname first, as in ssl
    ctx.check_hostname = False
    with sockrt.create_connection(
        ("127.0.0.1", StdServer(std_server_ctx(pki)).port)
    ) as raw, pytest.raises(ValueError, match="always checks the host name"):
        ctx.wrap_socket(raw, server_hostname="localhost")
    ctx.check_hostname = True
    with pytest.raises(ValueError):
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    with sockrt.create_connection(
        ("127.0.0.1", StdServer(std_server_ctx(pki)).port)
    ) as raw, pytest.raises(ValueError, match="server_hostname"):
        ctx.wrap_socket(raw)
    # The dangerous way round, for tests: no verification at all.
    server = StdServer(std_server_ctx(pki, "other.pem", "other.key"))
    blind = tls.TLSContext()
    blind.check_hostname = False
    blind.verify_mode = tls.CERT_NONE
    with sockrt.create_connection(
        ("127.0.0.1", server.port), timeout=WAIT
    ) as raw, blind.wrap_socket(raw, server_hostname="whatever.invalid") as s:
        s.sendall(b"k")
        assert s.recv(1) == b"k"
    server.join()
    # Settings are fixed once used.
    with pytest.raises(ValueError):
        blind.set_alpn_protocols(["h2"])


def test_pooled_tls_against_the_ssl_server(pki):
    """A pool of TLS connections to an OpenSSL server: one connection serves
    every request although the server sends TLS 1.3 session tickets unasked,
    and a new connection resumes the session."""
    server = StdServer(std_server_ctx(pki), n=2)
    ctx = our_client_ctx(pki)
    with sockrt.Pool(
        "127.0.0.1", server.port, tls=ctx, server_hostname="localhost", acquire_timeout=WAIT
    ) as pool:
        with pool.acquire() as conn:
            # TLS 1.3 session tickets arrive unasked: the idle connection is
            # readable, yet healthy.
            assert sockrt.poll([(conn, sockrt.POLL_IN)], timeout=WAIT)
        for i in range(5):
            with pool.acquire() as conn:
                assert conn.was_reused
                assert conn.exchange(b"req%d" % i, bytearray(4)) is None
        stats = pool.stats()
        assert (stats.created, stats.reused, stats.closed_stale) == (1, 5, 0)
        # Two at once: the second is a new connection, and it resumes.
        with pool.acquire() as a, pool.acquire() as b:
            a.sendall(b"a")
            b.sendall(b"b")
            assert a.recv(1) == b"a" and b.recv(1) == b"b"
        assert pool.tls_handshakes() == (1, 1)
    server.join()
    assert [seen["reused"] for seen in server.seen] == [False, True]
