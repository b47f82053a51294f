"""WebSocket (RFC 6455) against a client written here: handshake, masked
frames, fragmentation, ping/pong, the close handshake, protocol errors."""

import json
import struct

import pytest

import wsproto
from conftest import status_of
from wsclient import WsClient

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


@pytest.fixture
def ws(client):
    conn = WsClient(client.host, client.port)
    yield conn
    conn.close()


def close_code(payload):
    return struct.unpack("!H", payload[:2])[0]


def test_accept_key_matches_the_rfc_example():
    # RFC 6455 section 1.3.
    assert wsproto.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_handshake(ws):
    assert ws.status == 101
    assert ws.headers["upgrade"].lower() == "websocket"
    assert "upgrade" in ws.headers["connection"].lower()
    assert ws.headers["sec-websocket-accept"] == ws.expected_accept()


def test_ping_is_answered_with_the_same_payload(ws):
    ws.send(OP_PING, b"are you there?")
    assert ws.read_until_opcode(OP_PONG) == b"are you there?"


def test_fragmented_text_with_a_ping_inside_is_published(ws, client):
    ws.send(OP_TEXT, "héllo ".encode(), fin=False)
    ws.send(OP_PING, b"mid")
    ws.send(OP_CONT, b"wor", fin=False)
    ws.send(OP_CONT, b"ld")
    assert ws.read_until_opcode(OP_PONG) == b"mid"
    event = json.loads(ws.read_until_opcode(OP_TEXT))
    assert event["data"] == "héllo world"
    assert event["source"] == "ws"
    assert client.get_json(f"/poll?since={event['id'] - 1}")["events"][0]["data"] == "héllo world"


def test_events_arrive_as_text_frames(ws, client):
    published = client.publish("pushed")
    event = json.loads(ws.read_until_opcode(OP_TEXT))
    assert event == {"id": published["id"], "t": published["t"], "data": "pushed", "source": "publish"}


def test_close_handshake_completes(ws, client):
    ws.send(OP_CLOSE, struct.pack("!H", 1000) + b"bye")
    reply = ws.read_until_opcode(OP_CLOSE)
    assert close_code(reply) == 1000
    assert ws.at_eof()                          # the server then closes TCP
    assert client.wait_open_connections(0)


def test_server_pings_when_idle(ws):
    # The test server's heartbeat is 0.5 s.
    assert ws.read_until_opcode(OP_PING) == b"heartbeat"
    ws.send(OP_PONG, b"heartbeat")


@pytest.mark.parametrize("frame, code", [
    (WsClient.frame(OP_TEXT, b"unmasked", mask=False), 1002),
    (WsClient.frame(OP_TEXT, b"rsv", rsv=0x40), 1002),
    (WsClient.frame(0x3, b"reserved opcode"), 1002),
    (WsClient.frame(OP_PING, b"x" * 126), 1002),
    (WsClient.frame(OP_CONT, b"orphan"), 1002),
    (WsClient.frame(OP_TEXT, b"\xff\xfe"), 1007),
    (WsClient.frame(OP_BINARY, b"\x00\x01"), 1003),
    (WsClient.frame(OP_CLOSE, struct.pack("!H", 999)), 1002),
])
def test_protocol_errors_close_the_connection(ws, client, frame, code):
    ws.sock.sendall(frame)
    assert close_code(ws.read_until_opcode(OP_CLOSE)) == code
    assert ws.at_eof()
    assert client.wait_open_connections(0)


def test_oversized_message_is_refused(client, server_factory):
    from conftest import Client
    small = Client(server_factory(ws_max_message=1000))
    ws = WsClient(small.host, small.port)
    try:
        ws.send(OP_TEXT, b"x" * 600, fin=False)
        ws.send(OP_CONT, b"y" * 600)
        assert close_code(ws.read_until_opcode(OP_CLOSE)) == 1009
    finally:
        ws.close()


@pytest.mark.parametrize("headers, status", [
    ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n", 400),   # no key
    ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: c2hvcnQ=\r\n"
     "Sec-WebSocket-Version: 13\r\n", 400),                                                 # key too short
    ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
     "Sec-WebSocket-Version: 8\r\n", 426),
    ("", 426),                                                                              # plain GET
])
def test_bad_handshakes_are_refused(client, headers, status):
    reply = client.raw_exchange(f"GET /ws HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
    assert status_of(reply) == status
    if status == 426 and "Version: 8" in headers:
        assert b"Sec-WebSocket-Version: 13" in reply


def test_peer_vanishing_mid_frame_frees_the_connection(client):
    ws = WsClient(client.host, client.port)
    ws.sock.sendall(WsClient.frame(OP_TEXT, b"x" * 100)[:20])   # half a frame
    ws.close()
    assert client.wait_open_connections(0)
    assert client.get("/stats")[0] == 200


def test_server_shutdown_sends_going_away(server_factory):
    from conftest import Client
    server = server_factory()
    c = Client(server)
    ws = WsClient(c.host, c.port)
    try:
        assert c.wait_open_connections(1)
        server.close(grace=2.0)
        assert close_code(ws.read_until_opcode(OP_CLOSE)) == 1001
    finally:
        ws.close()
