"""A deliberately plain WebSocket client for the tests, written from
RFC 6455 independently of the server's code: it masks its frames, can send
them fragmented or broken on purpose, and reads the server's frames."""

import base64
import hashlib
import os
import socket
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WsClient:
    def __init__(self, host, port, path="/ws", timeout=5.0, key=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.key = key or base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                   f"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: {self.key}\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        self.buffer = b""
        head = self._read_until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1])
        self.headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()

    def expected_accept(self):
        return base64.b64encode(hashlib.sha1(self.key.encode() + GUID).digest()).decode()

    def _read_until(self, marker):
        while marker not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def _read_exact(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("server closed the connection")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    @staticmethod
    def frame(opcode, payload=b"", fin=True, mask=True, rsv=0):
        first = (0x80 if fin else 0) | rsv | opcode
        length = len(payload)
        mask_bit = 0x80 if mask else 0
        if length < 126:
            header = struct.pack("!BB", first, mask_bit | length)
        elif length < 65536:
            header = struct.pack("!BBH", first, mask_bit | 126, length)
        else:
            header = struct.pack("!BBQ", first, mask_bit | 127, length)
        if not mask:
            return header + payload
        key = os.urandom(4)
        return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

    def send(self, opcode, payload=b"", **kwargs):
        self.sock.sendall(self.frame(opcode, payload, **kwargs))

    def read_frame(self):
        """(fin, opcode, payload); asserts the server did not mask."""
        first, second = self._read_exact(2)
        assert not second & 0x80, "server frames must not be masked"
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exact(8))
        return bool(first & 0x80), first & 0x0F, self._read_exact(length)

    def read_until_opcode(self, wanted, limit=200):
        """Skips other frames (events, heartbeat pings) until `wanted`."""
        for _ in range(limit):
            fin, opcode, payload = self.read_frame()
            if opcode == wanted:
                return payload
        raise AssertionError(f"no frame with opcode {wanted} in {limit} frames")

    def at_eof(self):
        """True if the server closed the TCP connection (after any buffered frames)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()
