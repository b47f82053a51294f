"""Bad arguments and closed sockets raise clean Python exceptions."""

from __future__ import annotations

import errno
import pickle
import socket

import pytest

import sockrt


@pytest.fixture
def closed_socket():
    sock = sockrt.Socket()
    sock.close()
    return sock


CLOSED_CALLS = [
    ("send", (b"x",)),
    ("sendall", (b"x",)),
    ("sendall", (bytearray(b"x"),)),
    ("recv", (10,)),
    ("recv", (0,)),
    ("recv_into", (bytearray(4),)),
    ("recv_exact", (3,)),
    ("sendto", (b"x", ("127.0.0.1", 9))),
    ("recvfrom", (10,)),
    ("recvfrom_into", (bytearray(4),)),
    ("bind", (("127.0.0.1", 0),)),
    ("listen", ()),
    ("accept", ()),
    ("connect", (("127.0.0.1", 9),)),
    ("shutdown", (sockrt.SHUT_RDWR,)),
    ("getsockname", ()),
    ("getpeername", ()),
    ("settimeout", (1.0,)),
    ("set_nodelay", (True,)),
    ("get_option", (sockrt.OPT_NODELAY,)),
]


@pytest.mark.parametrize("method,args", CLOSED_CALLS, ids=[c[0] for c in CLOSED_CALLS])
def test_closed_socket_raises_ebadf(closed_socket, method, args):
    with pytest.raises(OSError) as info:
        getattr(closed_socket, method)(*args)
    assert info.value.errno == errno.EBADF
    assert isinstance(info.value, sockrt.Error)


def test_close_is_idempotent_and_fileno_is_minus_one(closed_socket):
    closed_socket.close()
    closed_socket.close()
    assert closed_socket.closed and closed_socket.fileno() == -1


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.recv("10"),
        lambda s: s.recv(1.5),
        lambda s: s.recv_into(b"immutable"),
        lambda s: s.recv_into("text"),
        lambda s: s.recv_into(bytearray(4), "2"),
        lambda s: s.sendall("text"),
        lambda s: s.send(12),
        lambda s: s.sendall(None),
        lambda s: s.connect("127.0.0.1:80"),
        lambda s: s.connect((80, "127.0.0.1")),
        lambda s: s.bind(["127.0.0.1", 0]),
        lambda s: s.settimeout("1"),
        lambda s: s.shutdown("both"),
        lambda s: s.set_option("nodelay", 1),
    ],
)
def test_wrong_types_raise_type_error(call):
    with sockrt.Socket() as sock, pytest.raises(TypeError):
        call(sock)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.recv(-1),
        lambda s: s.recv_into(bytearray(4), -1),
        lambda s: s.recv_into(bytearray(4), 5),
        lambda s: s.recv_exact(-3),
        lambda s: s.recvfrom(-1),
        lambda s: s.settimeout(-1),
        lambda s: s.settimeout(float("nan")),
        lambda s: s.set_busy_poll(-1),
        lambda s: s.bind(("127.0.0.1\0", 0)),
    ],
)
def test_bad_values_raise_value_error(call):
    with sockrt.Socket() as sock, pytest.raises(ValueError):
        call(sock)


def test_port_out_of_range_is_overflow_error():
    with sockrt.Socket() as sock:
        with pytest.raises(OverflowError):
            sock.bind(("127.0.0.1", 70000))
        with pytest.raises(OverflowError):
            sock.connect(("127.0.0.1", -1))


@pytest.mark.parametrize("mod", [socket, sockrt], ids=["socket", "sockrt"])
def test_bad_family_type_and_how_fail_as_in_the_standard_module(mod):
    # Families and types the library lacks are the standard module's to refuse.
    with pytest.raises(OSError) as info:
        mod.socket(12345)
    assert info.value.errno == errno.EAFNOSUPPORT
    with pytest.raises(OSError):
        mod.socket(mod.AF_INET, 99)
    with pytest.raises(TypeError):
        mod.socket("inet")
    with mod.socket() as sock, pytest.raises(OSError) as info:
        sock.shutdown(7)
    assert info.value.errno == errno.EINVAL


def test_library_rejections_become_sockrt_errors():
    with sockrt.Socket() as sock:
        with pytest.raises(sockrt.InvalidState) as info:
            sock.accept()  # not listening
        err = info.value
        assert err.code == sockrt.E_INVALID_STATE and err.name == "SOCKRT_E_INVALID_STATE"
        assert "accept" in err.message and err.strerror == err.message
        with pytest.raises(OSError) as info:
            sock.getpeername()
        assert info.value.errno == errno.ENOTCONN
        with pytest.raises(sockrt.Error) as info:
            sock.set_option(999, 1)
        assert info.value.code == sockrt.E_INVALID_ARGUMENT


def test_address_in_use(listener):
    with sockrt.Socket() as other:
        with pytest.raises(sockrt.AddressInUse) as info:
            other.bind(listener.getsockname())
        assert info.value.errno == errno.EADDRINUSE


@pytest.mark.parametrize("mod", [socket, sockrt], ids=["socket", "sockrt"])
def test_unknown_host_is_the_standard_gaierror_with_its_eai_errno(mod):
    eai = {socket.EAI_NONAME, socket.EAI_AGAIN, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
    with pytest.raises(socket.gaierror) as info:
        mod.create_connection(("no-such-host.invalid", 80), timeout=2)
    assert info.value.errno in eai
    with mod.socket() as sock, pytest.raises(socket.gaierror) as info:
        sock.connect(("no-such-host.invalid", 80))
    assert info.value.errno in eai
    assert mod.gaierror is socket.gaierror


def test_errors_are_builtin_subclasses():
    assert issubclass(sockrt.Error, OSError)
    assert issubclass(sockrt.Timeout, TimeoutError)
    assert issubclass(sockrt.ConnectionRefused, ConnectionRefusedError)
    assert issubclass(sockrt.ConnectionReset, ConnectionResetError)
    assert issubclass(sockrt.BrokenPipe, BrokenPipeError)
    assert issubclass(sockrt.Eof, EOFError)
    assert issubclass(sockrt.PoolExhausted, TimeoutError)
    assert issubclass(sockrt.WouldBlock, BlockingIOError)


def test_errors_pickle_round_trip():
    err = sockrt.ConnectionRefused(sockrt.E_CONNECTION_REFUSED, "connect x: refused", 111)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is sockrt.ConnectionRefused
    assert (back.code, back.message, back.errno) == (err.code, err.message, 111)


def test_operations_in_the_wrong_state(listener):
    with pytest.raises(sockrt.Error):
        listener.recv(10)  # a listener cannot receive
    listener.listen(3)  # already listening: a new backlog, as listen(2) does
    with sockrt.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with sockrt.create_connection(s.getsockname(), timeout=5) as c, pytest.raises(
            sockrt.Error
        ):
            c.listen()  # a connected socket cannot listen
