"""TCP sockets on loopback: the classic flow and every data method."""

from __future__ import annotations

import array
import selectors
import socket
import time

import pytest
from conftest import WAIT, run_in_thread

import sockrt


def test_classic_server_client_flow():
    server = sockrt.Socket(sockrt.AF_INET, sockrt.SOCK_STREAM)
    with server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        server.settimeout(WAIT)
        host, port = server.getsockname()
        assert host == "127.0.0.1" and port > 0

        client = sockrt.Socket()
        client.settimeout(WAIT)
        client.connect((host, port))
        conn, peer = server.accept()
        with client, conn:
            assert peer == client.getsockname()
            assert conn.getpeername() == peer
            assert client.getpeername() == (host, port)
            assert isinstance(conn, sockrt.Socket)
            assert conn.family == sockrt.AF_INET and conn.type == sockrt.SOCK_STREAM
            client.sendall(b"ping")
            assert conn.recv(4) == b"ping"
            conn.sendall(b"pong")
            assert client.recv(4) == b"pong"
            client.shutdown(sockrt.SHUT_WR)
            assert conn.recv(10) == b""  # orderly end of stream
        assert client.closed and conn.closed


def test_send_returns_count_and_recv_gets_the_bytes(pair):
    client, served = pair
    assert client.send(b"abcdef") == 6
    assert served.recv_exact(6) == b"abcdef"
    assert client.send(b"") == 0


def test_sendall_accepts_every_bytes_like(pair):
    client, served = pair
    data = bytes(range(256)) * 4
    client.sendall(bytearray(data))
    client.sendall(memoryview(data)[100:300])  # read-only view
    client.sendall(memoryview(bytearray(data))[5:10])  # writable view
    client.sendall(array.array("B", data[:8]))
    client.sendall(bytearray())
    client.sendall(b"")
    expected = data + data[100:300] + data[5:10] + data[:8]
    assert served.recv_exact(len(expected)) == expected


def test_sendall_large_buffer_arrives_intact(pair):
    client, served = pair
    data = bytes(i % 253 for i in range(3_000_000))
    thread, outcome = run_in_thread(lambda: client.sendall(data))
    got = served.recv_exact(len(data))
    thread.join(WAIT)
    assert "error" not in outcome
    assert got == data


def test_recv_into_bytearray_and_memoryview_slices(pair):
    client, served = pair
    buf = bytearray(16)
    client.sendall(b"hello")
    assert served.recv_into(buf, 5) == 5
    assert buf[:5] == b"hello"

    view = memoryview(buf)
    client.sendall(b"world")
    n = served.recv_into(view[8:], 5)
    assert n == 5 and buf == b"hello\0\0\0world\0\0\0"

    client.sendall(b"XYZ")
    got = 0
    deadline = time.monotonic() + WAIT
    while got < 3 and time.monotonic() < deadline:
        got += served.recv_into(view[13 + got:])
    assert bytes(buf[13:]) == b"XYZ"


def test_recv_into_without_nbytes_fills_at_most_the_buffer(pair):
    client, served = pair
    client.sendall(b"0123456789")
    buf = bytearray(4)
    assert served.recv_into(buf) == 4 and buf == b"0123"
    assert served.recv_exact(6) == b"456789"


def test_recv_large_bufsize_and_zero(pair):
    client, served = pair
    client.sendall(b"abc")
    assert served.recv(1 << 20) == b"abc"
    assert served.recv(0) == b""


def test_recv_exact_into(pair):
    client, served = pair
    client.sendall(b"12345678")
    buf = bytearray(10)
    assert served.recv_exact_into(memoryview(buf)[2:], 8) == 8
    assert buf == b"\x00\x00" + b"12345678"


def test_recv_exact_eof_raises_eof_error(pair):
    client, served = pair
    client.sendall(b"ab")
    client.shutdown(sockrt.SHUT_WR)
    with pytest.raises(EOFError) as info:
        served.recv_exact(5)
    assert isinstance(info.value, sockrt.Eof) and info.value.code == sockrt.E_EOF


def test_accept_gives_a_new_socket_and_keeps_listening(listener):
    addr = listener.getsockname()
    clients = [sockrt.create_connection(addr, timeout=WAIT) for _ in range(3)]
    accepted = [listener.accept()[0] for _ in clients]
    for i, c in enumerate(clients):
        c.sendall(bytes([i]))
    got = sorted(a.recv(1)[0] for a in accepted)
    assert got == [0, 1, 2]
    for s in clients + accepted:
        s.close()


def test_ipv6_loopback():
    try:
        server = sockrt.create_server(("::1", 0), family=sockrt.AF_INET6)
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    with server:
        server.settimeout(WAIT)
        host, port, _, _ = server.getsockname()
        assert host == "::1" and server.family == sockrt.AF_INET6
        with sockrt.create_connection(("::1", port), timeout=WAIT) as client:
            conn, peer = server.accept()
            with conn:
                assert client.family == sockrt.AF_INET6
                assert peer[0] == "::1"
                client.sendall(b"six")
                assert conn.recv(3) == b"six"


def test_create_connection_with_source_address(listener):
    with sockrt.create_connection(
        listener.getsockname(), timeout=WAIT, source_address=("127.0.0.1", 0)
    ) as client:
        conn, peer = listener.accept()
        conn.close()
        assert peer == client.getsockname()
        assert client.gettimeout() == WAIT


def test_create_connection_timeout_becomes_the_socket_timeout(listener):
    with sockrt.create_connection(listener.getsockname(), timeout=1.5) as client:
        assert client.gettimeout() == 1.5
        assert client.get_option(sockrt.OPT_READ_TIMEOUT_MS) == 1500
    with sockrt.create_connection(listener.getsockname()) as client:
        assert client.gettimeout() is None
        assert client.get_option(sockrt.OPT_READ_TIMEOUT_MS) == -1


def test_connection_refused():
    free = sockrt.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens on this port now
    with pytest.raises(ConnectionRefusedError) as info:
        sockrt.create_connection(("127.0.0.1", port), timeout=WAIT)
    err = info.value
    assert isinstance(err, sockrt.ConnectionRefused) and isinstance(err, sockrt.Error)
    assert err.code == sockrt.E_CONNECTION_REFUSED
    assert err.name == "SOCKRT_E_CONNECTION_REFUSED"
    assert str(port) in err.message
    import errno

    assert err.errno == errno.ECONNREFUSED
    with sockrt.Socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) == errno.ECONNREFUSED


def test_reset_peer_raises_connection_reset(pair):
    client, served = pair
    client.sendall(b"unread")
    time.sleep(0.05)
    served.close()  # closing with unread bytes makes the kernel send RST
    with pytest.raises(ConnectionResetError) as info:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            client.sendall(b"x" * 1000)
            client.recv(100)
    assert isinstance(info.value, sockrt.ConnectionReset)
    assert info.value.code == sockrt.E_CONNECTION_RESET


def test_shutdown_read_and_both(pair):
    client, served = pair
    served.shutdown(sockrt.SHUT_RD)
    assert served.recv(10) == b""
    client.shutdown(sockrt.SHUT_RDWR)
    assert served.recv(10) == b""


def test_options_and_helpers(pair):
    client, _ = pair
    client.set_nodelay(True)
    assert client.get_option(sockrt.OPT_NODELAY) == 1
    assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    client.set_nodelay(False)
    assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
    client.set_keepalive(True)
    assert client.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 0)
    assert client.get_option(sockrt.OPT_KEEPALIVE) == 0
    client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    assert client.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) >= 65536
    client.set_busy_poll(50)
    assert client.get_option(sockrt.OPT_BUSY_POLL_US) == 50
    with pytest.raises(OSError):
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 1)


def test_fileno_works_with_selectors(pair):
    client, served = pair
    fd = served.fileno()
    assert fd >= 0
    with selectors.DefaultSelector() as sel:
        sel.register(served, selectors.EVENT_READ)
        assert sel.select(timeout=0) == []
        client.sendall(b"ready")
        events = sel.select(timeout=WAIT)
        assert [key.fileobj for key, _ in events] == [served]
        assert served.recv(5) == b"ready"
    served.close()
    assert served.fileno() == -1


def test_sockrt_poll(pair):
    client, served = pair
    assert sockrt.poll([(served, sockrt.POLL_IN)], timeout=0) == []
    client.sendall(b"!")
    ready = sockrt.poll([(served, sockrt.POLL_IN), (client, sockrt.POLL_OUT)], timeout=WAIT)
    assert (served, sockrt.POLL_IN) in ready
    assert any(s is client and ev & sockrt.POLL_OUT for s, ev in ready)


def test_repr_and_properties(pair):
    client, _ = pair
    # The standard module's shape: "family=<str of the enum>, type=..., laddr=..."
    assert f"family={socket.AF_INET!s}, type={socket.SOCK_STREAM!s}" in repr(client)
    assert "laddr=('127.0.0.1'," in repr(client)
    assert client.proto in (0, socket.IPPROTO_TCP) and client.handle != 0
    client.close()
    assert "closed" in repr(client) and client.handle == 0
