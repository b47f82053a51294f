"""The server side of RFC 6455: the opening handshake and the framing.

Only what a server needs: it accepts masked client frames (and refuses
unmasked ones), reassembles fragmented messages, answers pings, and writes
unmasked frames of its own.
"""

import base64
import hashlib
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
CONTROL_OPCODES = {OP_CLOSE, OP_PING, OP_PONG}
DATA_OPCODES = {OP_CONTINUATION, OP_TEXT, OP_BINARY}

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_TOO_BIG = 1009


class ProtocolError(Exception):
    """The peer broke the protocol: close with `code`, then drop the connection."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code
        self.reason = reason


class PeerGone(Exception):
    """The stream ended (EOF) in the middle of, or instead of, a frame."""


def accept_key(client_key):
    digest = hashlib.sha1((client_key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def handshake_problem(request):
    """Why an upgrade request is not a valid RFC 6455 opening handshake, or
    None. Returns (status, detail, extra headers)."""
    if request.method != "GET":
        return 405, "WebSocket upgrade needs GET", {"Allow": "GET"}
    if "websocket" not in request.header_tokens("upgrade"):
        return 426, "this endpoint speaks WebSocket only", {"Upgrade": "websocket"}
    if "upgrade" not in request.header_tokens("connection"):
        return 400, "Connection header lacks 'upgrade'", {}
    if request.header("sec-websocket-version") != "13":
        return 426, "unsupported WebSocket version", {"Sec-WebSocket-Version": "13"}
    key = request.header("sec-websocket-key", "")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        return 400, "Sec-WebSocket-Key must be 16 bytes in base64", {}
    return None


def encode_frame(opcode, payload=b"", fin=True):
    """A server frame: never masked (RFC 6455 section 5.1)."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, 126, length)
    else:
        header = struct.pack("!BBQ", first, 127, length)
    return header + payload


def close_payload(code, reason=""):
    return struct.pack("!H", code) + reason.encode("utf-8")[:123]


def _unmask(payload, mask):
    # XOR with the 4-byte key repeated: one big-integer operation, not a byte loop.
    repeated = (mask * (len(payload) // 4 + 1))[:len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")


class FrameReader:
    """Reads client frames from a sockrt socket through a small buffer."""

    def __init__(self, sock, initial=b"", max_message=65536):
        self.sock = sock
        self.buffer = bytearray(initial)
        self.max_message = max_message

    def _take(self, n):
        while len(self.buffer) < n:
            data = self.sock.recv(max(4096, n - len(self.buffer)))
            if not data:
                raise PeerGone("peer closed the stream")
            self.buffer += data
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def read_frame(self):
        """One frame as (fin, opcode, payload), unmasked and checked."""
        first, second = self._take(2)
        fin, rsv, opcode = bool(first & 0x80), first & 0x70, first & 0x0F
        masked, length = bool(second & 0x80), second & 0x7F
        if rsv:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "reserved bits set without an extension")
        if opcode not in CONTROL_OPCODES and opcode not in DATA_OPCODES:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, f"unknown opcode {opcode:#x}")
        if not masked:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "client frames must be masked")
        if length == 126:
            (length,) = struct.unpack("!H", self._take(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._take(8))
        if opcode in CONTROL_OPCODES and (length > 125 or not fin):
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "control frames are short and unfragmented")
        if length > self.max_message:
            raise ProtocolError(CLOSE_TOO_BIG, "message too big")
        mask = self._take(4)
        return fin, opcode, _unmask(self._take(length), mask)

    def read_message(self, on_control):
        """The next complete data message as (opcode, payload). Control
        frames met on the way (even between fragments) go to on_control;
        if it returns True (a close), read_message returns (OP_CLOSE, payload)."""
        opcode, parts, size = None, [], 0
        while True:
            fin, frame_op, payload = self.read_frame()
            if frame_op in CONTROL_OPCODES:
                if on_control(frame_op, payload):
                    return OP_CLOSE, payload
                continue
            if opcode is None:
                if frame_op == OP_CONTINUATION:
                    raise ProtocolError(CLOSE_PROTOCOL_ERROR, "continuation without a message")
                opcode = frame_op
            elif frame_op != OP_CONTINUATION:
                raise ProtocolError(CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one")
            size += len(payload)
            if size > self.max_message:
                raise ProtocolError(CLOSE_TOO_BIG, "message too big")
            parts.append(payload)
            if fin:
                return opcode, b"".join(parts)


def parse_close(payload):
    """(code, reason) from a close frame's payload; ProtocolError if invalid."""
    if not payload:
        return None, ""
    if len(payload) == 1:
        raise ProtocolError(CLOSE_PROTOCOL_ERROR, "one-byte close payload")
    (code,) = struct.unpack("!H", payload[:2])
    valid = (1000 <= code <= 1011 and code not in (1004, 1005, 1006)) or 3000 <= code <= 4999
    if not valid:
        raise ProtocolError(CLOSE_PROTOCOL_ERROR, f"invalid close code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(CLOSE_INVALID_PAYLOAD, "close reason is not UTF-8") from None
    return code, reason


class FrameParser:
    """The non-blocking reader: feed it received bytes, take complete
    messages out. Same checks as FrameReader."""

    def __init__(self, initial=b"", max_message=65536):
        self.buffer = bytearray(initial)
        self.max_message = max_message
        self._opcode = None
        self._parts = []
        self._size = 0

    def feed(self, data):
        self.buffer += data

    def _frame(self):
        """(fin, opcode, payload) of the next whole frame, or None."""
        buf = self.buffer
        if len(buf) < 2:
            return None
        first, second = buf[0], buf[1]
        fin, rsv, opcode = bool(first & 0x80), first & 0x70, first & 0x0F
        masked, length = bool(second & 0x80), second & 0x7F
        if rsv:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "reserved bits set without an extension")
        if opcode not in CONTROL_OPCODES and opcode not in DATA_OPCODES:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, f"unknown opcode {opcode:#x}")
        if not masked:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "client frames must be masked")
        pos = 2
        if length == 126:
            if len(buf) < 4:
                return None
            (length,) = struct.unpack_from("!H", buf, 2)
            pos = 4
        elif length == 127:
            if len(buf) < 10:
                return None
            (length,) = struct.unpack_from("!Q", buf, 2)
            pos = 10
        if opcode in CONTROL_OPCODES and (length > 125 or not fin):
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "control frames are short and unfragmented")
        if length > self.max_message:
            raise ProtocolError(CLOSE_TOO_BIG, "message too big")
        if len(buf) < pos + 4 + length:
            return None
        mask = bytes(buf[pos:pos + 4])
        payload = _unmask(bytes(buf[pos + 4:pos + 4 + length]), mask)
        del buf[:pos + 4 + length]
        return fin, opcode, payload

    def next(self):
        """The next complete item, or None: ("control", opcode, payload) for
        a control frame (even between fragments), ("message", opcode,
        payload) for a whole data message."""
        while True:
            frame = self._frame()
            if frame is None:
                return None
            fin, frame_op, payload = frame
            if frame_op in CONTROL_OPCODES:
                return "control", frame_op, payload
            if self._opcode is None:
                if frame_op == OP_CONTINUATION:
                    raise ProtocolError(CLOSE_PROTOCOL_ERROR, "continuation without a message")
                self._opcode = frame_op
            elif frame_op != OP_CONTINUATION:
                raise ProtocolError(CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one")
            self._size += len(payload)
            if self._size > self.max_message:
                raise ProtocolError(CLOSE_TOO_BIG, "message too big")
            self._parts.append(payload)
            if fin:
                opcode, parts = self._opcode, self._parts
                self._opcode, self._parts, self._size = None, [], 0
                return "message", opcode, b"".join(parts)
