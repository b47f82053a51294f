"""UDP sockets on loopback."""

from __future__ import annotations

import pytest
from conftest import WAIT

import sockrt


@pytest.fixture
def udp_pair():
    a = sockrt.Socket(sockrt.AF_INET, sockrt.SOCK_DGRAM)
    b = sockrt.Socket(sockrt.AF_INET, sockrt.SOCK_DGRAM)
    for s in (a, b):
        s.bind(("127.0.0.1", 0))
        s.settimeout(WAIT)
    yield a, b
    a.close()
    b.close()


def test_sendto_recvfrom(udp_pair):
    a, b = udp_pair
    assert a.type == sockrt.SOCK_DGRAM
    assert a.sendto(b"datagram", b.getsockname()) == 8
    data, sender = b.recvfrom(100)
    assert data == b"datagram"
    assert sender == a.getsockname()


def test_datagram_boundaries_and_truncation(udp_pair):
    a, b = udp_pair
    a.sendto(b"first", b.getsockname())
    a.sendto(bytearray(b"second!"), b.getsockname())
    assert b.recvfrom(100)[0] == b"first"
    assert b.recvfrom(3)[0] == b"sec"  # the rest of the datagram is dropped


def test_recvfrom_into_memoryview_slice(udp_pair):
    a, b = udp_pair
    a.sendto(memoryview(b"xxpayload")[2:], b.getsockname())
    buf = bytearray(12)
    n, sender = b.recvfrom_into(memoryview(buf)[4:])
    assert n == 7 and buf[4:11] == b"payload" and buf[:4] == b"\0\0\0\0"
    assert sender == a.getsockname()


def test_large_datagram_via_recvfrom(udp_pair):
    a, b = udp_pair
    data = bytes(i % 256 for i in range(60000))
    a.sendto(data, b.getsockname())
    got, _ = b.recvfrom(100000)
    assert got == data


def test_connected_udp_send_recv(udp_pair):
    a, b = udp_pair
    a.connect(b.getsockname())
    b.connect(a.getsockname())
    assert a.getpeername() == b.getsockname()
    a.send(b"hi")
    assert b.recv(10) == b"hi"
    buf = bytearray(4)
    b.send(b"back")
    assert a.recv_into(buf) == 4 and buf == b"back"


def test_recvfrom_timeout(udp_pair):
    a, _ = udp_pair
    a.settimeout(0.05)
    with pytest.raises(TimeoutError):
        a.recvfrom(10)


def test_udp_ipv6():
    try:
        a = sockrt.Socket(sockrt.AF_INET6, sockrt.SOCK_DGRAM)
        a.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    with a, sockrt.Socket(sockrt.AF_INET6, sockrt.SOCK_DGRAM) as b:
        b.bind(("::1", 0))
        b.settimeout(WAIT)
        a.sendto(b"v6", b.getsockname())
        data, (host, port, flowinfo, scope) = b.recvfrom(10)
        assert data == b"v6" and host == "::1" and port == a.getsockname()[1]
        assert (flowinfo, scope) == (0, 0)


def test_stream_calls_on_datagram_socket_fail_cleanly(udp_pair):
    a, _ = udp_pair
    with pytest.raises(sockrt.Error) as info:
        a.listen()
    assert info.value.code == sockrt.E_WRONG_KIND
