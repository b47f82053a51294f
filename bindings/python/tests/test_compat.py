"""`import sockrt as socket`: the standard module's names and socket
semantics. Each behaviour test runs on both modules and asserts the same
outcome, so a difference is a sockrt bug."""

from __future__ import annotations

import errno
import gc
import io
import os
import select
import socket
import sys
import threading
import time
import warnings

import pytest
from conftest import WAIT, run_in_thread, wait_thread_sleeping

import sockrt
from sockrt import _ffi

MODS = pytest.mark.parametrize("mod", [socket, sockrt], ids=["socket", "sockrt"])


def needs(name: str):
    return pytest.mark.skipif(not _ffi.has(name), reason=f"library has no {name}()")


def tcp_pair(mod, family=None):
    """(client, server side) over loopback, made with `mod`."""
    family = family or mod.AF_INET
    host = "::1" if family == mod.AF_INET6 else "127.0.0.1"
    with mod.socket(family, mod.SOCK_STREAM) as listener:
        listener.bind((host, 0))
        listener.listen()
        client = mod.create_connection(listener.getsockname()[:2], timeout=WAIT)
        served, _ = listener.accept()
    served.settimeout(WAIT)
    return client, served


# --- the namespace -----------------------------------------------------------


def test_every_public_name_of_the_standard_module_is_there():
    missing = [name for name in socket.__all__ if not hasattr(sockrt, name)]
    assert missing == []


def test_every_public_method_of_the_standard_socket_is_there():
    public = {n for n in dir(socket.socket) if not n.startswith("_")}
    # sendmsg_afalg is for AF_ALG sockets, which get the standard class anyway.
    missing = sorted(n for n in public - {"sendmsg_afalg"} if not hasattr(sockrt.socket, n))
    assert missing == []


def test_every_integer_constant_has_the_standard_value():
    names = [n for n in dir(socket) if n.isupper() and isinstance(getattr(socket, n), int)]
    assert len(names) > 300
    different = [n for n in names if getattr(sockrt, n, None) != getattr(socket, n)]
    assert different == []
    assert sockrt.has_ipv6 == socket.has_ipv6
    assert sockrt.AddressFamily is socket.AddressFamily
    assert sockrt.SocketKind is socket.SocketKind


def test_exceptions_and_helpers_are_the_standard_objects():
    assert sockrt.error is socket.error is OSError
    assert sockrt.timeout is socket.timeout
    assert sockrt.gaierror is socket.gaierror and sockrt.herror is socket.herror
    for name in ("getaddrinfo", "getnameinfo", "gethostname", "gethostbyname", "getfqdn",
                 "inet_aton", "inet_ntoa", "inet_pton", "inet_ntop", "htons", "ntohs",
                 "htonl", "ntohl"):
        assert getattr(sockrt, name) is getattr(socket, name), name
    assert sockrt._GLOBAL_DEFAULT_TIMEOUT is socket._GLOBAL_DEFAULT_TIMEOUT
    assert sockrt.socket is sockrt.Socket is sockrt.SocketType


def test_sockets_of_other_families_are_standard_sockets():
    with sockrt.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as seq:
        assert type(seq) is socket.socket and seq.family == socket.AF_UNIX
    with sockrt.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        assert type(unix) is sockrt.socket and unix.family == socket.AF_UNIX
    with sockrt.socket() as plain:
        assert type(plain) is sockrt.socket


@MODS
def test_a_subclass_with_its_own_constructor(mod):
    class Tagged(mod.socket):
        def __init__(self, tag: str) -> None:
            super().__init__(mod.AF_INET, mod.SOCK_DGRAM)
            self.tag = tag

    with Tagged("t") as s:
        assert isinstance(s, mod.socket) and s.tag == "t" and s.type == mod.SOCK_DGRAM


@MODS
def test_constructor_defaults_and_type_flags(mod):
    with mod.socket() as s:
        assert (s.family, s.type, s.proto) == (mod.AF_INET, mod.SOCK_STREAM, 0)
        assert isinstance(s.family, socket.AddressFamily)
        assert s.timeout is None and s.gettimeout() is None
    with mod.socket(mod.AF_INET6, mod.SOCK_DGRAM, 0) as s:
        assert (s.family, s.type) == (mod.AF_INET6, mod.SOCK_DGRAM)
    with mod.socket(mod.AF_INET, mod.SOCK_STREAM | mod.SOCK_NONBLOCK | mod.SOCK_CLOEXEC) as s:
        assert s.type == mod.SOCK_STREAM and s.gettimeout() == 0.0
        assert not s.get_inheritable()
        s.set_inheritable(True)
        assert s.get_inheritable()


@MODS
def test_setdefaulttimeout_is_honoured_by_new_and_accepted_sockets(mod):
    assert mod.getdefaulttimeout() is None
    mod.setdefaulttimeout(1.5)
    try:
        with mod.socket() as s:
            assert s.gettimeout() == 1.5
        with mod.create_server(("127.0.0.1", 0)) as server:
            assert server.gettimeout() == 1.5
            with mod.create_connection(server.getsockname()) as client:
                assert client.gettimeout() == 1.5
                conn, _ = server.accept()
                with conn:
                    assert conn.gettimeout() == 1.5
    finally:
        mod.setdefaulttimeout(None)
    assert socket.getdefaulttimeout() is None


@MODS
def test_create_connection_signature(mod):
    with mod.create_server(("127.0.0.1", 0)) as server:
        addr = server.getsockname()
        with mod.create_connection(addr, mod._GLOBAL_DEFAULT_TIMEOUT) as c:
            assert c.gettimeout() is None
        with mod.create_connection(addr, 2.0, ("127.0.0.1", 0)) as c:
            assert c.gettimeout() == 2.0 and c.getsockname()[0] == "127.0.0.1"
        with mod.create_connection(("localhost", addr[1]), timeout=WAIT) as c:
            assert c.getpeername()[1] == addr[1]
    # Nothing listens there now: every address refused.
    with pytest.raises(ConnectionRefusedError):
        mod.create_connection(addr, timeout=WAIT)
    if sys.version_info >= (3, 11):
        with pytest.raises(ExceptionGroup) as info:  # noqa: F821
            mod.create_connection(addr, timeout=WAIT, all_errors=True)
        assert all(isinstance(e, ConnectionRefusedError) for e in info.value.exceptions)


@MODS
def test_create_server_options(mod):
    with mod.create_server(("127.0.0.1", 0), backlog=5, reuse_port=True) as s:
        assert s.getsockopt(mod.SOL_SOCKET, mod.SO_REUSEPORT) != 0
        assert s.getsockopt(mod.SOL_SOCKET, mod.SO_REUSEADDR) != 0
    if socket.has_dualstack_ipv6():
        with mod.create_server(("::", 0), family=mod.AF_INET6, dualstack_ipv6=True) as s:
            port = s.getsockname()[1]
            with mod.create_connection(("127.0.0.1", port), timeout=WAIT):
                conn, peer = s.accept()
                conn.close()
                assert peer[0] == "::ffff:127.0.0.1"


def test_socketpair_over_inet_is_a_connected_loopback_tcp_pair():
    a, b = sockrt.socketpair(socket.AF_INET)
    with a, b:
        assert type(a) is sockrt.socket and a.family == socket.AF_INET
        assert a.getpeername() == b.getsockname()
        a.sendall(b"ping")
        assert b.recv(4) == b"ping"
        b.sendall(b"pong")
        assert a.recv(4) == b"pong"
    with pytest.raises(ValueError):
        sockrt.socketpair(socket.AF_INET, socket.SOCK_DGRAM)


@MODS
def test_ipv6_addresses_are_four_tuples(mod):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        client, served = tcp_pair(mod, mod.AF_INET6)
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    with client, served:
        name = client.getsockname()
        assert len(name) == 4 and name[0] == "::1" and name[2:] == (0, 0)
        assert len(served.getpeername()) == 4
        assert client.getpeername() == served.getsockname()
    with mod.socket(mod.AF_INET6, mod.SOCK_DGRAM) as a, mod.socket(
        mod.AF_INET6, mod.SOCK_DGRAM
    ) as b:
        a.bind(("::1", 0, 0, 0))
        b.bind(("::1", 0))
        b.settimeout(WAIT)
        a.sendto(b"x", b.getsockname())
        data, addr = b.recvfrom(4)
        assert data == b"x" and addr == a.getsockname()


# --- errors --------------------------------------------------------------------


@MODS
def test_nonblocking_miss_is_blocking_io_error_and_not_a_timeout(mod):
    client, served = tcp_pair(mod)
    with client, served:
        served.setblocking(False)
        with pytest.raises(BlockingIOError) as info:
            served.recv(10)
        assert not isinstance(info.value, socket.timeout)
        assert info.value.errno in (errno.EAGAIN, errno.EWOULDBLOCK)
        served.settimeout(0.05)
        with pytest.raises(socket.timeout) as info:
            served.recv(10)
        assert not isinstance(info.value, BlockingIOError)


@MODS
def test_socket_collected_unclosed_warns(mod):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = mod.socket()
        del s
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)


@MODS
def test_pickling_is_refused(mod):
    import pickle

    with mod.socket() as s, pytest.raises(TypeError):
        pickle.dumps(s)


# --- makefile --------------------------------------------------------------------


@MODS
def test_makefile_reads_lines_and_writes(mod):
    client, served = tcp_pair(mod)
    with client, served:
        wfile = client.makefile("wb")
        wfile.write(b"first line\nsecond\n")
        wfile.flush()
        client.shutdown(mod.SHUT_WR)
        rfile = served.makefile("rb")
        assert rfile.readline() == b"first line\n"
        assert rfile.read() == b"second\n"
        assert rfile.read() == b""
        text = served.makefile("w", encoding="utf-8", newline="\r\n")
        text.write("é\n")
        text.flush()
        assert client.recv(10) == "é\r\n".encode()
        for f in (wfile, rfile, text):
            f.close()


@MODS
def test_makefile_keeps_the_socket_open_until_the_file_closes(mod):
    client, served = tcp_pair(mod)
    with client:
        rfile = served.makefile("rb")
        served.close()  # the file still holds it, as http.client relies on
        client.sendall(b"still here\n")
        assert rfile.readline() == b"still here\n"
        assert served.fileno() != -1
        rfile.close()
        assert served.fileno() == -1


@MODS
def test_makefile_timeout_is_sticky(mod):
    client, served = tcp_pair(mod)
    with client, served:
        served.settimeout(0.05)
        rfile = served.makefile("rb")
        with pytest.raises(socket.timeout):
            rfile.read(4)
        client.sendall(b"late")
        with pytest.raises(OSError, match="timed out object"):
            rfile.read(4)
        rfile.close()


@MODS
def test_makefile_nonblocking_read_returns_none(mod):
    client, served = tcp_pair(mod)
    with client, served:
        served.setblocking(False)
        rfile = served.makefile("rb", buffering=0)
        assert rfile.read(4) is None
        client.sendall(b"data")
        got = None
        deadline = time.monotonic() + WAIT
        while got is None and time.monotonic() < deadline:
            select.select([served], [], [], WAIT)
            got = rfile.read(4)
        assert got == b"data"
        buffered = served.makefile("rb")
        assert buffered.read(4) is None  # nothing pending: None, not an error
        rfile.close()
        buffered.close()


@MODS
def test_makefile_modes_and_errors(mod):
    with mod.socket() as s:
        with pytest.raises(ValueError):
            s.makefile("rx")
        with pytest.raises(ValueError):
            s.makefile("r", buffering=0)
        raw = s.makefile("rwb", buffering=0)
        assert isinstance(raw, io.RawIOBase) and raw.readable() and raw.writable()
        assert raw.mode == "rwb" and raw.fileno() == s.fileno()
        raw.close()
        assert isinstance(s.makefile("rb"), io.BufferedReader)
        assert isinstance(s.makefile("wb"), io.BufferedWriter)
        assert isinstance(s.makefile("rwb"), io.BufferedRWPair)


# --- memory safety -------------------------------------------------------------------


@MODS
def test_resizing_a_buffer_during_a_blocked_recv_into_raises_buffer_error(mod):
    client, served = tcp_pair(mod)
    with client, served:
        buf = bytearray(16)
        thread, outcome = run_in_thread(lambda: served.recv_into(buf))
        wait_thread_sleeping(thread.native_id)
        with pytest.raises(BufferError):
            buf.extend(b"x" * 4096)
        with pytest.raises(BufferError):
            del buf[:]
        client.sendall(b"hello")
        thread.join(WAIT)
        assert outcome.get("result") == 5 and bytes(buf[:5]) == b"hello"
        buf.extend(b"ok")  # the export ended with the call
        assert len(buf) == 18


@MODS
def test_resizing_during_a_blocked_sendall_raises_buffer_error(mod):
    client, served = tcp_pair(mod)
    with client, served:
        data = bytearray(64 * 1024 * 1024)  # more than the socket buffers hold
        thread, outcome = run_in_thread(lambda: client.sendall(data))
        wait_thread_sleeping(thread.native_id)
        with pytest.raises(BufferError):
            data.extend(b"x")
        served.close()
        thread.join(WAIT)
        assert isinstance(outcome.get("error"), OSError)


# --- more of the socket object -----------------------------------------------------------


@MODS
def test_sendfile_sends_a_range_and_moves_the_file_position(mod, tmp_path):
    path = tmp_path / "data.bin"
    payload = os.urandom(200_000)
    path.write_bytes(payload)
    client, served = tcp_pair(mod)
    with client, served, open(path, "rb") as f:
        sent = client.sendfile(f, offset=1000, count=150_000)
        assert sent == 150_000 and f.tell() == 151_000
        got = bytearray()
        while len(got) < sent:
            got += served.recv(65536)
        assert bytes(got) == payload[1000:151_000]
        with pytest.raises(ValueError), open(path) as text:
            client.sendfile(text)


@MODS
def test_selectors_see_sockets(mod):
    import selectors

    with mod.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        with selectors.DefaultSelector() as sel:
            sel.register(server, selectors.EVENT_READ, "listener")
            assert sel.select(0) == []
            client = mod.create_connection(server.getsockname(), timeout=WAIT)
            with client:
                events = sel.select(WAIT)
                assert [key.data for key, _ in events] == ["listener"]
                conn, _ = server.accept()
                with conn:
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ, "conn")
                    client.sendall(b"hi")
                    events = sel.select(WAIT)
                    assert [key.data for key, _ in events] == ["conn"]
                    assert conn.recv(2) == b"hi"
                    sel.unregister(conn)


@MODS
@needs("sockrt_recv_flags")
def test_flags_peek_dontwait_waitall(mod):
    client, served = tcp_pair(mod)
    with client, served:
        served.settimeout(None)  # with a timeout the standard module waits first
        with pytest.raises(BlockingIOError):
            served.recv(4, mod.MSG_DONTWAIT)
        client.sendall(b"abcd", mod.MSG_NOSIGNAL)
        assert served.recv(2, mod.MSG_PEEK) == b"ab"
        buf = bytearray(4)
        assert served.recv_into(buf, 4, mod.MSG_WAITALL) == 4 and buf == b"abcd"
        assert client.send(b"xyz", mod.MSG_DONTWAIT) == 3
        assert served.recv(3, mod.MSG_WAITALL) == b"xyz"
    with mod.socket(mod.AF_INET, mod.SOCK_DGRAM) as a, mod.socket(
        mod.AF_INET, mod.SOCK_DGRAM
    ) as b:
        b.bind(("127.0.0.1", 0))
        b.settimeout(WAIT)
        a.sendto(b"dgram", 0, b.getsockname())
        data, addr = b.recvfrom(10, mod.MSG_PEEK)
        assert data == b"dgram"
        buf = bytearray(10)
        n, addr2 = b.recvfrom_into(buf, 10, 0)
        assert (n, addr2) == (5, addr) and addr == ("127.0.0.1", a.getsockname()[1])
        b.settimeout(None)
        with pytest.raises(BlockingIOError):
            b.recvfrom(10, mod.MSG_DONTWAIT)


@MODS
@needs("sockrt_getsockopt")
def test_getsockopt_and_setsockopt(mod):
    import struct

    client, served = tcp_pair(mod)
    with client, served:
        assert client.getsockopt(mod.SOL_SOCKET, mod.SO_TYPE) == mod.SOCK_STREAM
        assert client.getsockopt(mod.SOL_SOCKET, mod.SO_ERROR) == 0
        client.setsockopt(mod.IPPROTO_TCP, mod.TCP_NODELAY, 1)
        assert client.getsockopt(mod.IPPROTO_TCP, mod.TCP_NODELAY) != 0
        client.setsockopt(mod.IPPROTO_TCP, mod.TCP_NODELAY, False)
        assert client.getsockopt(mod.IPPROTO_TCP, mod.TCP_NODELAY) == 0
        client.setsockopt(mod.SOL_SOCKET, mod.SO_RCVBUF, 65536)
        client.setsockopt(mod.SOL_SOCKET, mod.SO_SNDBUF, 65536)
        rcv = client.getsockopt(mod.SOL_SOCKET, mod.SO_RCVBUF)
        snd = client.getsockopt(mod.SOL_SOCKET, mod.SO_SNDBUF)
        client.setsockopt(mod.SOL_SOCKET, mod.SO_KEEPALIVE, 1)
        for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3)):
            client.setsockopt(mod.IPPROTO_TCP, getattr(mod, name), value)
            assert client.getsockopt(mod.IPPROTO_TCP, getattr(mod, name)) == value
        client.setsockopt(mod.SOL_SOCKET, mod.SO_LINGER, struct.pack("ii", 1, 7))
        linger = client.getsockopt(mod.SOL_SOCKET, mod.SO_LINGER, 8)
        assert struct.unpack("ii", linger) == (1, 7)
        with pytest.raises(OSError) as info:
            client.getsockopt(mod.SOL_SOCKET, 9999)
        assert info.value.errno == errno.ENOPROTOOPT
    with mod.socket(mod.AF_INET, mod.SOCK_DGRAM) as u:
        u.setsockopt(mod.SOL_SOCKET, mod.SO_BROADCAST, 1)
        assert u.getsockopt(mod.SOL_SOCKET, mod.SO_BROADCAST) != 0
        assert u.getsockopt(mod.SOL_SOCKET, mod.SO_TYPE) == mod.SOCK_DGRAM
    # The kernel adjusts buffer sizes (doubles them on Linux): the same value
    # a standard socket reads back after the same setsockopt.
    with socket.socket() as ref:
        ref.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        ref.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        expected = (ref.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF),
                    ref.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
    assert (rcv, snd) == expected


@MODS
@needs("sockrt_detach")
def test_detach_hands_the_descriptor_over(mod):
    client, served = tcp_pair(mod)
    with served:
        fd = client.detach()
        assert fd >= 0 and client.fileno() == -1
        # The descriptor stays open and connected: the standard module takes it.
        with socket.socket(fileno=fd) as std:
            std.sendall(b"after detach")
            assert served.recv(20) == b"after detach"


@MODS
@needs("sockrt_adopt_fd")
def test_socket_from_fileno_and_fromfd(mod):
    std_client, std_served = tcp_pair(socket)
    with std_served:
        s = mod.socket(fileno=std_client.detach())
        with s:
            assert (s.family, s.type) == (mod.AF_INET, mod.SOCK_STREAM)
            s.sendall(b"adopted")
            assert std_served.recv(10) == b"adopted"
            dup = mod.fromfd(s.fileno(), mod.AF_INET, mod.SOCK_STREAM)
            with dup:
                assert dup.fileno() != s.fileno()
                dup.sendall(b"dup")
                assert std_served.recv(10) == b"dup"


@MODS
@needs("sockrt_dup")
def test_dup_shares_the_connection(mod):
    client, served = tcp_pair(mod)
    with client, served:
        client.settimeout(3.0)
        other = client.dup()
        with other:
            assert other.fileno() != client.fileno() and other.gettimeout() == 3.0
            other.sendall(b"via dup")
            assert served.recv(10) == b"via dup"
        client.sendall(b"original")
        assert served.recv(10) == b"original"


@MODS
def test_listen_twice_changes_the_backlog(mod):
    with mod.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        s.listen(50)
        with mod.create_connection(s.getsockname(), timeout=WAIT):
            conn, _ = s.accept()
            conn.close()


@MODS
@needs("sockrt_getsockopt")
def test_nonblocking_connect_completes_in_the_background(mod):
    with mod.create_server(("127.0.0.1", 0)) as server:
        s = mod.socket()
        with s:
            s.setblocking(False)
            try:
                s.connect(server.getsockname())
                connected_at_once = True
            except BlockingIOError as exc:
                assert exc.errno == errno.EINPROGRESS
                connected_at_once = False
            if not connected_at_once:
                _, writable, _ = select.select([], [s], [], WAIT)
                assert writable == [s]
            assert s.getsockopt(mod.SOL_SOCKET, mod.SO_ERROR) == 0
            s.setblocking(True)
            conn, _ = server.accept()
            with conn:
                s.sendall(b"done")
                assert conn.recv(4) == b"done"
        refused_port = server.getsockname()[1]
    s = mod.socket()
    with s:
        s.setblocking(False)
        rc = s.connect_ex(("127.0.0.1", refused_port))
        assert rc in (errno.EINPROGRESS, errno.ECONNREFUSED)
        select.select([], [s], [], WAIT)
        assert s.getsockopt(mod.SOL_SOCKET, mod.SO_ERROR) == errno.ECONNREFUSED


def test_close_wakes_a_blocked_recv_on_sockrt_only_when_really_blocked():
    client, served = tcp_pair(sockrt)
    with client:
        served.settimeout(None)
        thread, outcome = run_in_thread(lambda: served.recv(10))
        wait_thread_sleeping(thread.native_id)
        served.close()
        thread.join(WAIT)
        assert not thread.is_alive()
        assert isinstance(outcome.get("error"), OSError)
        assert outcome["error"].errno == errno.EBADF


def test_thread_states_are_read_from_proc():
    from conftest import thread_state

    event = threading.Event()
    thread, _ = run_in_thread(lambda: event.wait(WAIT))
    wait_thread_sleeping(thread.native_id)
    assert thread_state(thread.native_id) == "S"
    event.set()
    thread.join(WAIT)


@MODS
def test_sendmsg_and_recvmsg_without_ancillary_data(mod):
    client, served = tcp_pair(mod)
    with client, served:
        assert client.sendmsg([b"ab", bytearray(b"cd"), memoryview(b"ef")]) == 6
        assert served.recv_into(bytearray(6), 6, mod.MSG_WAITALL) == 6
        client.sendall(b"xyz")
        data, anc, flags, addr = served.recvmsg(3, 0, mod.MSG_WAITALL)
        assert (data, anc, flags) == (b"xyz", [], 0)
        client.sendall(b"12345")
        a, b = bytearray(2), bytearray(3)
        assert served.recvmsg_into([a, b], 0, mod.MSG_WAITALL)[0] == 5
        assert (a, b) == (b"12", b"345")
    with mod.socket(mod.AF_INET, mod.SOCK_DGRAM) as u, mod.socket(
        mod.AF_INET, mod.SOCK_DGRAM
    ) as v:
        v.bind(("127.0.0.1", 0))
        v.settimeout(WAIT)
        assert u.sendmsg([b"da", b"ta"], [], 0, v.getsockname()) == 4
        data, anc, _, addr = v.recvmsg(10)
        assert (data, anc, addr[1]) == (b"data", [], u.getsockname()[1])
