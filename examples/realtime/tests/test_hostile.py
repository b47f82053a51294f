"""Bad and hostile clients get well-formed refusals, and never stop the
server from serving everyone else. (The test server allows a 1024-byte
request line, 2048 bytes of headers, a 4096-byte body and 1 s to send a
request head.)"""

import socket
import struct
import time

import pytest

from conftest import Client, read_to_close, status_of


def still_serving(client):
    status, _, body = client.get("/poll")
    return status == 200 and b'"last"' in body


@pytest.mark.parametrize("request_bytes, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /poll\r\nHost: x\r\n\r\n", 400),                       # no version
    (b"GET  /poll HTTP/1.1\r\nHost: x\r\n\r\n", 400),             # two spaces
    (b"GET /poll HTTP/1.1\r\n\r\n", 400),                         # HTTP/1.1 without Host
    (b"GET /poll HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400),
    (b"GET /poll HTTP/1.1\r\nHost: x\r\nName : space\r\n\r\n", 400),
    (b"GET /poll HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
    (b"GET poll HTTP/1.1\r\nHost: x\r\n\r\n", 400),               # not a path
    (b"GET /poll HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET /poll?since=abc HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /poll?since=-1 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /long-poll?timeout=99999 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"DELETE /poll HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"GET /publish HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"POST /publish HTTP/1.1\r\nHost: x\r\n\r\n", 411),
    (b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n", 400),
    (b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab", 400),
    (b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n", 413),
    (b"POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
    (b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n\xff\xfe", 400),
    (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /" + b"a" * 5000, 414),                                 # no line end at all
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 3000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 400 + b"\r\n", 431),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n", 400),  # TLS hello
])
def test_malformed_requests_get_well_formed_errors(client, request_bytes, status):
    reply = client.raw_exchange(request_bytes)
    assert status_of(reply) == status
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"\r\nConnection: close" in head
    assert int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) == len(body)
    assert body.startswith(str(status).encode())
    assert still_serving(client)


def test_method_not_allowed_names_the_allowed_method(client):
    conn = client.http()
    conn.request("PUT", "/stream")
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 405
    assert response.getheader("Allow") == "GET"


def test_expect_100_continue_gets_the_go_ahead(client):
    with client.raw() as sock:
        sock.sendall(b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        assert sock.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        assert status_of(read_to_close(sock)) == 200
    assert client.get_json("/poll?since=0")["events"][-1]["data"] == "hello"
    assert status_of(client.raw_exchange(b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                                         b"Expect: magic\r\n\r\nx")) == 417


def test_keep_alive_serves_several_requests_on_one_connection(client):
    conn = client.http()
    for _ in range(3):
        conn.request("GET", "/stats")
        response = conn.getresponse()
        assert response.status == 200
        response.read()
    conn.close()
    assert client.server.counters["connections"] == 1


def test_slow_loris_is_cut_off_and_others_are_served(client):
    with client.raw(timeout=5) as slow:
        slow.sendall(b"GET /poll HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        reply = b""
        for _ in range(40):                        # a header byte every 0.1 s
            try:
                slow.sendall(b"X")
            except OSError:
                break                              # the server hung up on us
            reply_ready = slow.recv(4096) if _readable(slow, 0.1) else b""
            if reply_ready:
                reply = reply_ready + read_to_close(slow)
                break
            assert still_serving(client)           # meanwhile, business as usual
        elapsed = time.monotonic() - started
    assert status_of(reply) == 408
    assert elapsed < 3.5                           # loose: the deadline is 1 s
    assert client.wait_open_connections(0)


def _readable(sock, timeout):
    import select
    return bool(select.select([sock], [], [], timeout)[0])


def test_idle_connection_is_closed_quietly(client):
    with client.raw(timeout=5) as idle:
        started = time.monotonic()
        assert read_to_close(idle) == b""          # no bytes sent: no 408 either
        assert time.monotonic() - started < 3.5
    assert client.wait_open_connections(0)


def test_connection_limit_answers_503_then_recovers(server_factory):
    client = Client(server_factory(max_connections=3))
    holders = [client.raw() for _ in range(3)]
    try:
        assert client.wait_open_connections(3)
        status, headers, _ = client.get("/poll")
        assert status == 503
        assert headers["Retry-After"] == "1"
    finally:
        for sock in holders:
            sock.close()
    assert client.wait_open_connections(0)
    assert still_serving(client)
    assert client.server.counters["rejected"] >= 1


def _abort(sock):
    """Close with a reset, as a crashed client or a pulled cable does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_client_vanishing_mid_stream_frees_its_connection(client):
    stream = client.raw()
    stream.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    assert stream.recv(4096).startswith(b"HTTP/1.1 200")
    assert client.wait_open_connections(1)
    _abort(stream)
    for i in range(5):                             # the next writes hit the reset
        client.publish(f"after {i}")
    assert client.wait_open_connections(0)
    assert still_serving(client)


def test_client_vanishing_during_long_poll_and_mid_request(client):
    hanging = client.raw()
    hanging.sendall(b"GET /long-poll?timeout=2 HTTP/1.1\r\nHost: x\r\n\r\n")
    half = client.raw()
    half.sendall(b"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part")
    assert client.wait_open_connections(2)
    _abort(hanging)
    _abort(half)
    assert client.wait_open_connections(0)
    assert still_serving(client)
    assert client.server.counters["errors"] == 0


def test_shutdown_releases_every_sockrt_handle(server_factory):
    import sockrt

    from wsclient import WsClient
    baseline = sockrt.open_handles()
    server = server_factory()
    client = Client(server)
    ws = WsClient(client.host, client.port)
    stream = client.raw()
    stream.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    waiting = client.raw()
    waiting.sendall(b"GET /long-poll?timeout=10 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert client.wait_open_connections(3)
    # The listener, the event loop's poller and three connections.
    assert sockrt.open_handles() == baseline + 5
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 5.0                # nobody waits for the long poll
    assert sockrt.open_handles() == baseline
    for sock in (stream, waiting):
        sock.close()
    ws.close()
