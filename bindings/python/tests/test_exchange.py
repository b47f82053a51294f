"""Socket.exchange: send a request and receive a fixed-size reply in one call."""

from __future__ import annotations

import array
import errno

import pytest
from conftest import WAIT, run_in_thread
from test_pool import EchoServer

import sockrt


def test_round_trip_with_bytes_and_bytearray(pair):
    client, served = pair
    served.sendall(b"pong!")  # the reply waits in the socket buffer
    reply = bytearray(5)
    assert client.exchange(b"ping", reply) is None
    assert reply == b"pong!"
    assert served.recv_exact(4) == b"ping"


def test_request_and_reply_may_share_one_buffer(pair):
    client, served = pair
    served.sendall(b"87654321")
    buf = bytearray(b"12345678")
    client.exchange(buf, buf)
    assert buf == b"87654321"
    assert served.recv_exact(8) == b"12345678"


def test_every_buffer_kind(pair):
    client, served = pair
    backing = bytearray(10)
    served.sendall(b"abcdef" + b"wxyz" + b"\x01\x02\x03\x04")
    client.exchange(memoryview(b"--req1--")[2:6], memoryview(backing)[2:8])
    assert backing == b"\x00\x00abcdef\x00\x00"
    words = array.array("B", [0, 0, 0, 0])
    client.exchange(array.array("B", b"req2"), words)
    assert words.tobytes() == b"wxyz"
    raw = bytearray(4)
    client.exchange(memoryview(bytearray(b"req3")), memoryview(raw))
    assert raw == b"\x01\x02\x03\x04"
    assert served.recv_exact(12) == b"req1req2req3"


def test_empty_reply_only_sends(pair):
    client, served = pair
    client.exchange(b"only", bytearray())
    client.exchange(b"", bytearray())
    assert served.recv_exact(4) == b"only"


def test_large_buffers_take_the_general_path(pair):
    client, served = pair
    request = bytearray(bytes(range(256)) * 800)  # 200 KiB: above the copy limit
    reply = bytearray(100_000)
    thread, outcome = run_in_thread(
        lambda: (served.recv_exact(len(request)), served.sendall(b"r" * len(reply)))[0]
    )
    client.exchange(request, reply)
    thread.join(WAIT)
    assert outcome.get("result") == bytes(request)
    assert reply == b"r" * len(reply)


def test_peer_closing_early_raises_eof(pair):
    client, served = pair
    served.sendall(b"ab")
    served.shutdown(sockrt.SHUT_WR)
    with pytest.raises(EOFError) as info:
        client.exchange(b"req", bytearray(5))
    assert isinstance(info.value, sockrt.Eof) and info.value.code == sockrt.E_EOF
    assert served.recv_exact(3) == b"req"  # the request did go out


def test_missing_reply_times_out(pair):
    client, served = pair
    client.settimeout(0.05)
    with pytest.raises(TimeoutError):
        client.exchange(b"req", bytearray(1))


def test_closed_socket_raises_ebadf(pair):
    client, _ = pair
    client.close()
    with pytest.raises(OSError) as info:
        client.exchange(b"x", bytearray(1))
    assert info.value.errno == errno.EBADF


@pytest.mark.parametrize(
    "data, into",
    [
        (123, bytearray(1)),
        ("text", bytearray(1)),
        (None, bytearray(1)),
        (b"x", None),
        (b"x", 5),
        (bytearray(b"x"), [0]),
    ],
)
def test_wrong_types_raise_type_error_and_send_nothing(pair, data, into):
    client, served = pair
    with pytest.raises(TypeError):
        client.exchange(data, into)
    served.sendall(b"k")
    reply = bytearray(1)
    client.exchange(b"ok", reply)
    assert served.recv_exact(2) == b"ok"  # nothing came before it


@pytest.mark.parametrize(
    "into",
    [
        b"four",
        b"",
        memoryview(b"four"),
        memoryview(bytearray(4)).toreadonly(),
        memoryview(bytearray()).toreadonly(),
    ],
)
def test_read_only_reply_buffer_raises_type_error(pair, into):
    client, served = pair
    with pytest.raises(TypeError):
        client.exchange(b"req", into)
    client.sendall(b"ok")
    assert served.recv_exact(2) == b"ok"  # the request was not sent


def test_pooled_connection_exchange():
    server = EchoServer()
    try:
        with sockrt.Pool("127.0.0.1", server.port) as pool:
            for i in range(3):
                with pool.acquire() as conn:
                    conn.settimeout(WAIT)
                    reply = bytearray(6)
                    conn.exchange(b"call-%d" % i, reply)
                    assert reply == b"call-%d" % i
            stats = pool.stats()
            assert stats.created == 1 and stats.reused == 2
    finally:
        server.close()
