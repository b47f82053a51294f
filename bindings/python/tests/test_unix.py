"""AF_UNIX on sockrt.socket: every test runs on the standard module and on
sockrt and asserts the same outcome; interop tests put a standard peer on
one side and sockrt on the other."""

from __future__ import annotations

import array
import asyncio
import errno
import os
import socket
import struct
import uuid

import pytest
from conftest import WAIT, run_in_thread, wait_thread_sleeping

import sockrt

MODS = pytest.mark.parametrize("mod", [socket, sockrt], ids=["socket", "sockrt"])
PAIRS = pytest.mark.parametrize(
    "server_mod,client_mod", [(socket, sockrt), (sockrt, socket)], ids=["std-server", "std-client"]
)


def abstract_name() -> bytes:
    return b"\0sockrt-test-" + uuid.uuid4().hex.encode()


def stream_server(mod, address):
    server = mod.socket(mod.AF_UNIX, mod.SOCK_STREAM)
    server.settimeout(WAIT)
    server.bind(address)
    server.listen()
    return server


def kind_of(sock) -> str:
    return "sockrt" if isinstance(sock, sockrt.socket) else "socket"


# --- streams on paths and abstract names ----------------------------------------


@MODS
def test_stream_on_a_path(mod, tmp_path):
    path = str(tmp_path / "s.sock")
    with stream_server(mod, path) as server, mod.socket(mod.AF_UNIX) as client:
        assert kind_of(server) == mod.__name__
        assert (server.family, server.type) == (mod.AF_UNIX, mod.SOCK_STREAM)
        client.settimeout(WAIT)
        assert client.getsockname() == ""
        client.connect(path)
        conn, addr = server.accept()
        with conn:
            assert addr == ""
            assert server.getsockname() == path
            assert conn.getsockname() == path and conn.getpeername() == ""
            assert client.getpeername() == path
            client.sendall(b"ping")
            assert conn.recv(4) == b"ping"
            conn.sendall(b"pong")
            assert client.recv(4) == b"pong"
            conn.shutdown(mod.SHUT_WR)
            assert client.recv(1) == b""
    assert os.path.exists(path) == (mod is socket)  # sockrt removes the file it made


@MODS
@pytest.mark.parametrize("as_bytes", [True, False], ids=["bytes", "str"])
def test_stream_on_an_abstract_name(mod, as_bytes):
    name = abstract_name()
    address = name if as_bytes else name.decode()
    with stream_server(mod, address) as server, mod.socket(mod.AF_UNIX) as client:
        assert server.getsockname() == name
        client.connect(address)
        conn, addr = server.accept()
        with conn:
            assert addr == "" and client.getpeername() == name and conn.getsockname() == name
            client.sendall(b"abstract")
            conn.settimeout(WAIT)
            assert conn.recv(8) == b"abstract"


@MODS
def test_binding_the_empty_name_picks_an_abstract_name(mod):
    with mod.socket(mod.AF_UNIX, mod.SOCK_DGRAM) as a, mod.socket(mod.AF_UNIX, mod.SOCK_DGRAM) as b:
        a.bind("")
        name = a.getsockname()
        assert isinstance(name, bytes) and name[:1] == b"\0" and len(name) == 6
        b.bind("")
        b.settimeout(WAIT)
        a.sendto(b"hi", b.getsockname())
        assert b.recvfrom(16) == (b"hi", name)


@MODS
def test_a_relative_path_that_starts_with_an_at_sign_is_a_file(mod, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with stream_server(mod, "@relative.sock") as server:
        assert os.path.exists(tmp_path / "@relative.sock")
        with mod.socket(mod.AF_UNIX) as client:
            client.connect(str(tmp_path / "@relative.sock"))
            server.accept()[0].close()


# --- datagrams ----------------------------------------------------------------------


@MODS
def test_datagrams_on_paths(mod, tmp_path):
    here, there = str(tmp_path / "a.sock"), str(tmp_path / "b.sock")
    with mod.socket(mod.AF_UNIX, mod.SOCK_DGRAM) as a, mod.socket(
        mod.AF_UNIX, mod.SOCK_DGRAM
    ) as b, mod.socket(mod.AF_UNIX, mod.SOCK_DGRAM) as unnamed:
        a.bind(here)
        b.bind(there)
        b.settimeout(WAIT)
        assert a.sendto(b"one", there) == 3
        assert b.recvfrom(16) == (b"one", here)
        unnamed.sendto(b"two", there)
        assert b.recvfrom(16) == (b"two", None)
        buf = bytearray(8)
        a.sendto(b"three", there)
        assert b.recvfrom_into(buf) == (5, here) and buf[:5] == b"three"
        a.connect(there)
        a.send(b"four")
        assert b.recvmsg(16) == (b"four", [], 0, here)


# --- socketpair ---------------------------------------------------------------------


@MODS
@pytest.mark.parametrize("kind", ["SOCK_STREAM", "SOCK_DGRAM"])
def test_socketpair_is_unix_by_default(mod, kind):
    a, b = mod.socketpair(type=getattr(mod, kind))
    with a, b:
        assert kind_of(a) == mod.__name__
        assert (a.family, a.type, a.proto) == (mod.AF_UNIX, getattr(mod, kind), 0)
        assert a.getsockname() == "" and a.getpeername() == ""
        a.sendall(b"left")
        b.settimeout(WAIT)
        assert b.recv(16) == b"left"
        b.sendall(b"right")
        a.settimeout(0.05)
        assert a.recv(16) == b"right"
        with pytest.raises(TimeoutError):
            a.recv(16)
        a.setblocking(False)
        with pytest.raises(BlockingIOError):
            a.recv(16)


@MODS
def test_socketpair_honours_the_default_timeout_and_nonblocking_type(mod):
    mod.setdefaulttimeout(1.25)
    try:
        a, b = mod.socketpair()
        with a, b:
            assert a.gettimeout() == 1.25 and b.gettimeout() == 1.25
    finally:
        mod.setdefaulttimeout(None)
    a, b = mod.socketpair(mod.AF_UNIX, mod.SOCK_STREAM | mod.SOCK_NONBLOCK)
    with a, b:
        assert a.gettimeout() == 0.0 and a.type == mod.SOCK_STREAM


@MODS
def test_seqpacket_pairs_are_the_standard_module_s(mod):
    a, b = mod.socketpair(mod.AF_UNIX, mod.SOCK_SEQPACKET)
    with a, b:
        assert type(a) is socket.socket and a.type == socket.SOCK_SEQPACKET


# --- credentials ----------------------------------------------------------------------


@MODS
def test_so_peercred(mod, tmp_path):
    expected = struct.pack("3i", os.getpid(), os.getuid(), os.getgid())
    size = struct.calcsize("3i")
    a, b = mod.socketpair()
    with a, b:
        assert a.getsockopt(mod.SOL_SOCKET, mod.SO_PEERCRED, size) == expected
        assert a.getsockopt(mod.SOL_SOCKET, mod.SO_PEERCRED, 4) == expected[:4]
        assert a.getsockopt(mod.SOL_SOCKET, mod.SO_PEERCRED) == os.getpid()
    path = str(tmp_path / "cred.sock")
    with stream_server(mod, path) as server, mod.socket(mod.AF_UNIX) as client:
        client.connect(path)
        conn, _ = server.accept()
        with conn:
            assert conn.getsockopt(mod.SOL_SOCKET, mod.SO_PEERCRED, size) == expected
            assert client.getsockopt(mod.SOL_SOCKET, mod.SO_PEERCRED, size) == expected
    with mod.socket(mod.AF_UNIX) as unconnected:  # the kernel's "nobody" answer
        raw = unconnected.getsockopt(mod.SOL_SOCKET, mod.SO_PEERCRED, size)
        assert raw == socket.socket(socket.AF_UNIX).getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, size
        )


# --- passing descriptors ------------------------------------------------------------


def check_passed_pipe(fd: int, write_end: int) -> None:
    """fd is a duplicate of a pipe's read end: what goes into the pipe comes out of it."""
    try:
        os.write(write_end, b"via pipe")
        assert os.read(fd, 16) == b"via pipe"
    finally:
        os.close(fd)


@MODS
def test_sendmsg_and_recvmsg_with_scm_rights(mod):
    r, w = os.pipe()
    a, b = mod.socketpair()
    try:
        with a, b:
            b.settimeout(WAIT)
            fds = array.array("i", [r])
            assert a.sendmsg([b"x"], [(mod.SOL_SOCKET, mod.SCM_RIGHTS, fds)]) == 1
            data, anc, flags, addr = b.recvmsg(16, mod.CMSG_SPACE(4 * 4))
            assert (data, flags, addr) == (b"x", 0, None)
            assert [(lvl, kind) for lvl, kind, _ in anc] == [(mod.SOL_SOCKET, mod.SCM_RIGHTS)]
            (got,) = array.array("i", anc[0][2])
            assert got != r
            check_passed_pipe(got, w)
            # Two descriptors, room for one: the other is dropped and MSG_CTRUNC says so.
            a.sendmsg([b"yy"], [(mod.SOL_SOCKET, mod.SCM_RIGHTS, array.array("i", [r, w]))])
            data, anc, flags, _ = b.recvmsg(16, mod.CMSG_LEN(4))
            assert data == b"yy" and flags & mod.MSG_CTRUNC
            assert len(anc) == 1 and len(anc[0][2]) == 4
            os.close(array.array("i", anc[0][2])[0])
            # No descriptors sent: recvmsg with room for them gets none.
            a.sendall(b"z")
            assert b.recvmsg(16, mod.CMSG_SPACE(4)) == (b"z", [], 0, None)
            # recvmsg_into with ancillary room.
            mod.send_fds(a, [b"into"], [r])
            buf = bytearray(4)
            n, anc, flags, _ = b.recvmsg_into([buf], mod.CMSG_SPACE(4))
            assert (n, bytes(buf), flags) == (4, b"into", 0)
            check_passed_pipe(array.array("i", anc[0][2])[0], w)
    finally:
        os.close(r)
        os.close(w)


@MODS
def test_send_fds_and_recv_fds_helpers(mod):
    r, w = os.pipe()
    a, b = mod.socketpair()
    try:
        with a, b:
            b.settimeout(WAIT)
            assert mod.send_fds(a, [b"fd", b"s"], [r, w]) == 3
            data, fds, flags, addr = mod.recv_fds(b, 16, 4)
            assert (data, len(fds), flags, addr) == (b"fds", 2, 0, None)
            os.close(fds[1])
            check_passed_pipe(fds[0], w)
    finally:
        os.close(r)
        os.close(w)


@MODS
def test_a_socket_passed_to_the_peer_works_there(mod, tmp_path):
    a, b = mod.socketpair()
    x, y = mod.socketpair()
    with a, b, x, y:
        b.settimeout(WAIT)
        mod.send_fds(a, [b"s"], [x.fileno()])
        _, (fd,), _, _ = mod.recv_fds(b, 1, 1)
        with mod.socket(fileno=fd) as passed:
            assert kind_of(passed) == mod.__name__ and passed.family == mod.AF_UNIX
            passed.sendall(b"passed")
            y.settimeout(WAIT)
            assert y.recv(16) == b"passed"


@MODS
def test_ancillary_data_other_than_scm_rights_is_not_sent(mod):
    a, b = mod.socketpair()
    with a, b:
        creds = struct.pack("3i", os.getpid(), os.getuid(), os.getgid())
        item = (mod.SOL_SOCKET, mod.SCM_CREDENTIALS, creds)
        if mod is sockrt:
            with pytest.raises(OSError) as info:
                a.sendmsg([b"c"], [item])
            assert info.value.errno == errno.EOPNOTSUPP
        else:
            assert a.sendmsg([b"c"], [item]) == 1


# --- bad input ----------------------------------------------------------------------


@MODS
def test_bad_addresses(mod, tmp_path):
    with mod.socket(mod.AF_UNIX) as s, pytest.raises(FileNotFoundError):
        s.connect(str(tmp_path / "nothing.sock"))
    with mod.socket(mod.AF_UNIX) as s, pytest.raises(FileNotFoundError):
        s.bind(str(tmp_path / "no-such-dir" / "s.sock"))
    with mod.socket(mod.AF_UNIX) as s:
        with pytest.raises(OSError, match="AF_UNIX path too long") as info:
            s.bind("/" + "x" * 120)
        assert info.value.errno is None
        with pytest.raises(OSError, match="AF_UNIX path too long"):
            s.connect(b"\0" + b"x" * 120)
        for bad in (("127.0.0.1", 1), 12, None):
            with pytest.raises(TypeError):
                s.bind(bad)
    with mod.socket(mod.AF_UNIX) as s:
        with pytest.raises(OSError) as info:
            s.connect("")
        assert info.value.errno == errno.EINVAL
    with pytest.raises(ValueError):
        mod.create_connection(str(tmp_path / "s.sock"))


@MODS
def test_a_stale_socket_file_is_address_in_use(mod, tmp_path):
    path = str(tmp_path / "stale.sock")
    with socket.socket(socket.AF_UNIX) as std:
        std.bind(path)  # the standard module leaves its file behind
    with mod.socket(mod.AF_UNIX) as s:
        with pytest.raises(OSError) as info:
            s.bind(path)
        assert info.value.errno == errno.EADDRINUSE
    with pytest.raises(OSError) as info:
        mod.create_server(path, family=mod.AF_UNIX)
    assert info.value.errno == errno.EADDRINUSE and path in str(info.value)
    os.unlink(path)
    with mod.create_server(path, family=mod.AF_UNIX, backlog=4) as server:
        assert server.getsockname() == path and server.family == mod.AF_UNIX


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
@MODS
def test_a_directory_without_permission(mod, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with mod.socket(mod.AF_UNIX) as s, pytest.raises(PermissionError):
        s.bind(str(locked / "s.sock"))


@MODS
def test_a_peer_that_closes_while_a_descriptor_is_in_flight(mod):
    r, w = os.pipe()
    a, b = mod.socketpair()
    try:
        with b:
            mod.send_fds(a, [b"f"], [r])
            a.close()  # the sender is gone; what it sent still arrives
            b.settimeout(WAIT)
            data, (fd,), _, _ = mod.recv_fds(b, 4, 1)
            assert data == b"f"
            check_passed_pipe(fd, w)
            assert b.recv(1) == b""
    finally:
        os.close(r)
        os.close(w)


def test_close_wakes_a_blocked_unix_recv():
    a, b = sockrt.socketpair()
    with b:
        thread, outcome = run_in_thread(lambda: a.recv(1))
        wait_thread_sleeping(thread.native_id)
        a.close()
        thread.join(WAIT)
        assert not thread.is_alive() and isinstance(outcome.get("error"), OSError)


# --- interop ----------------------------------------------------------------------------


@PAIRS
def test_interop_stream_on_a_path(server_mod, client_mod, tmp_path):
    path = str(tmp_path / "interop.sock")
    with stream_server(server_mod, path) as server:
        def serve() -> bytes:
            conn, _ = server.accept()
            with conn:
                conn.settimeout(WAIT)
                data = conn.recv(16)
                conn.sendall(data.upper())
                return conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)

        thread, outcome = run_in_thread(serve)
        with client_mod.socket(client_mod.AF_UNIX) as client:
            client.settimeout(WAIT)
            client.connect(path)
            assert client.getpeername() == path
            client.sendall(b"interop")
            assert client.recv(16) == b"INTEROP"
        thread.join(WAIT)
        assert outcome["result"] == struct.pack("3i", os.getpid(), os.getuid(), os.getgid())


@PAIRS
def test_interop_datagrams_on_an_abstract_name(server_mod, client_mod):
    name = abstract_name()
    with server_mod.socket(server_mod.AF_UNIX, server_mod.SOCK_DGRAM) as server, \
            client_mod.socket(client_mod.AF_UNIX, client_mod.SOCK_DGRAM) as client:
        server.bind(name)
        server.settimeout(WAIT)
        client.bind("")
        client.sendto(b"dgram", name)
        data, sender = server.recvfrom(16)
        assert (data, sender) == (b"dgram", client.getsockname())
        server.sendto(b"back", sender)
        client.settimeout(WAIT)
        assert client.recvfrom(16) == (b"back", name)


@PAIRS
def test_interop_descriptor_passing(server_mod, client_mod, tmp_path):
    path = str(tmp_path / "fds.sock")
    r, w = os.pipe()
    try:
        with stream_server(server_mod, path) as server, \
                client_mod.socket(client_mod.AF_UNIX) as client:
            client.connect(path)
            conn, _ = server.accept()
            with conn:
                client_mod.send_fds(client, [b"fd"], [r])
                conn.settimeout(WAIT)
                data, fds, _, _ = server_mod.recv_fds(conn, 2, 1)
                assert data == b"fd" and len(fds) == 1
                check_passed_pipe(fds[0], w)
    finally:
        os.close(r)
        os.close(w)


# --- asyncio ------------------------------------------------------------------------------


@MODS
def test_asyncio_unix_server_and_connection_on_given_sockets(mod, tmp_path):
    path = str(tmp_path / "aio.sock")

    async def main() -> bytes:
        async def handle(reader, writer):
            line = await reader.readline()
            writer.write(line.upper())
            await writer.drain()
            writer.close()

        listener = mod.socket(mod.AF_UNIX, mod.SOCK_STREAM)
        listener.bind(path)
        server = await asyncio.start_unix_server(handle, sock=listener)
        async with server:
            sock = mod.socket(mod.AF_UNIX, mod.SOCK_STREAM)
            sock.connect(path)
            reader, writer = await asyncio.open_unix_connection(sock=sock)
            assert writer.get_extra_info("peername") == path
            writer.write(b"hello asyncio\n")
            await writer.drain()
            reply = await reader.readline()
            assert await reader.read() == b""
            writer.close()
            await writer.wait_closed()
            return reply

    assert asyncio.run(asyncio.wait_for(main(), WAIT)) == b"HELLO ASYNCIO\n"

