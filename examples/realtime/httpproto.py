"""Just enough HTTP/1.1 for the demo server: reading one request with
bounded sizes and a deadline, and writing well-formed responses.

The reader never trusts the client: the request line and the header block
have size limits (414, 431), the whole head must arrive before a deadline
(408; this is what stops a slow-loris client from holding a thread), and
anything that does not parse is a 400.
"""

import re
import time
import urllib.parse

REASONS = {
    101: "Switching Protocols", 200: "OK", 204: "No Content",
    400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 411: "Length Required", 413: "Content Too Large",
    414: "URI Too Long", 417: "Expectation Failed", 426: "Upgrade Required",
    431: "Request Header Fields Too Large", 501: "Not Implemented",
    503: "Service Unavailable", 505: "HTTP Version Not Supported",
}

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VERSION = re.compile(rb"^HTTP/(\d)\.(\d)$")
_RECV_CHUNK = 4096


class HttpError(Exception):
    """A request the server answers with an error status, then closes."""

    def __init__(self, status, detail, headers=None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


class ClientGone(Exception):
    """The peer closed, reset, or stayed idle between requests: close quietly."""


class Limits:
    def __init__(self, max_request_line=8192, max_header_bytes=16384,
                 max_headers=100, max_body=16384, request_timeout=10.0):
        self.max_request_line = max_request_line
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.max_body = max_body
        self.request_timeout = request_timeout


class Request:
    def __init__(self, method, target, version, headers):
        self.method = method
        self.target = target
        self.version = version  # (major, minor)
        self.headers = headers  # lower-case name -> value (str)
        split = urllib.parse.urlsplit(target)
        self.path = split.path
        self.query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        self.body = b""

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def header_tokens(self, name):
        """A comma-separated header as a set of lower-case tokens."""
        return {t.strip().lower() for t in self.headers.get(name, "").split(",") if t.strip()}

    def wants_keep_alive(self):
        tokens = self.header_tokens("connection")
        if self.version >= (1, 1):
            return "close" not in tokens
        return "keep-alive" in tokens

    def query_int(self, name, default=None, minimum=None, maximum=None):
        values = self.query.get(name)
        if not values:
            return default
        try:
            value = int(values[0], 10)
        except ValueError:
            raise HttpError(400, f"query parameter {name!r} must be an integer") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise HttpError(400, f"query parameter {name!r} out of range")
        return value


class Connection:
    """A server-side connection: the sockrt socket plus its unread bytes."""

    def __init__(self, sock, limits):
        self.sock = sock
        self.limits = limits
        self.buffer = bytearray()

    def _recv_before(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request deadline passed")
        self.sock.settimeout(remaining)
        data = self.sock.recv(_RECV_CHUNK)
        if not data:
            raise ClientGone("peer closed")
        self.buffer += data

    def read_request(self):
        """Reads and parses one request head (and its body, if any).

        Raises ClientGone if the peer leaves or stays silent before sending
        anything, HttpError for a request that must be refused."""
        deadline = time.monotonic() + self.limits.request_timeout
        try:
            head = self._read_head(deadline)
        except TimeoutError:
            if not self.buffer:
                raise ClientGone("idle connection timed out") from None
            raise HttpError(408, "request not received in time") from None
        except OSError as exc:
            raise ClientGone(str(exc)) from None
        request = parse_head(head, self.limits)
        self._read_body(request, deadline)
        return request

    def _read_head(self, deadline):
        limits = self.limits
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0 and len(self.buffer) > limits.max_request_line:
                raise HttpError(414, "request line too long")
            if line_end > limits.max_request_line:
                raise HttpError(414, "request line too long")
            if end >= 0:
                if end - line_end > limits.max_header_bytes:
                    raise HttpError(431, "header block too large")
                head = bytes(self.buffer[:end])
                del self.buffer[:end + 4]
                return head
            if line_end >= 0 and len(self.buffer) - line_end > limits.max_header_bytes:
                raise HttpError(431, "header block too large")
            self._recv_before(deadline)

    def _read_body(self, request, deadline):
        if "transfer-encoding" in request.headers:
            raise HttpError(501, "transfer codings are not supported; send Content-Length")
        length_text = request.header("content-length")
        if length_text is None:
            if request.method == "POST":
                raise HttpError(411, "POST needs a Content-Length")
            return
        if not length_text.isdigit():
            raise HttpError(400, "bad Content-Length")
        length = int(length_text)
        if length > self.limits.max_body:
            raise HttpError(413, f"body larger than {self.limits.max_body} bytes")
        try:
            self._answer_expect(request, length)
            while len(self.buffer) < length:
                self._recv_before(deadline)
        except TimeoutError:
            raise HttpError(408, "request body not received in time") from None
        except OSError as exc:
            raise ClientGone(str(exc)) from None
        request.body = bytes(self.buffer[:length])
        del self.buffer[:length]


    def _answer_expect(self, request, length):
        """Clients that send `Expect: 100-continue` (curl does, for bodies
        over 1 KiB) wait for a go-ahead before the body."""
        expect = request.header("expect")
        if expect is None:
            return
        if expect.lower() != "100-continue":
            raise HttpError(417, "only 100-continue can be expected")
        if length > len(self.buffer):
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")


def parse_head(head, limits):
    lines = head.split(b"\r\n")
    request_line = lines[0]
    parts = request_line.split(b" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not parts[1]:
        raise HttpError(400, "malformed request line")
    method, target, version_text = parts
    match = _VERSION.match(version_text)
    if not match:
        raise HttpError(400, "malformed HTTP version")
    version = (int(match.group(1)), int(match.group(2)))
    if version[0] != 1:
        raise HttpError(505, "only HTTP/1.x is served")
    if not target.startswith(b"/"):
        raise HttpError(400, "request target must be a path")
    headers = parse_headers(lines[1:], limits)
    if version >= (1, 1) and "host" not in headers:
        raise HttpError(400, "HTTP/1.1 request without Host")
    try:
        target_text = target.decode("ascii")
    except UnicodeDecodeError:
        raise HttpError(400, "request target must be ASCII") from None
    return Request(method.decode("ascii"), target_text, version, headers)


def parse_headers(lines, limits):
    if len(lines) > limits.max_headers:
        raise HttpError(431, "too many header fields")
    headers = {}
    for line in lines:
        name, sep, value = line.partition(b":")
        # No whitespace before the colon and no obsolete line folding (RFC 9112).
        if not sep or not _TOKEN.match(name):
            raise HttpError(400, "malformed header field")
        key = name.decode("ascii").lower()
        text = value.strip(b" \t").decode("latin-1")
        if any(c in text for c in "\r\n\0"):
            raise HttpError(400, "malformed header value")
        if key in headers:
            if key in ("content-length", "host"):
                if headers[key] != text:
                    raise HttpError(400, f"conflicting {key} headers")
                continue
            headers[key] = headers[key] + ", " + text
        else:
            headers[key] = text
    return headers


def response_head(status, headers=None, keep_alive=False, length=None):
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if status != 101:
        lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send_response(sock, status, body=b"", content_type="text/plain; charset=utf-8",
                  headers=None, keep_alive=False):
    all_headers = {"Content-Type": content_type, "Cache-Control": "no-store"}
    all_headers.update(headers or {})
    sock.sendall(response_head(status, all_headers, keep_alive, len(body)) + body)


def send_error(sock, error):
    body = f"{error.status} {REASONS.get(error.status, 'Error')}: {error.detail}\n".encode()
    send_response(sock, error.status, body, headers=error.headers, keep_alive=False)


def parse_buffered(buffer, limits):
    """The non-blocking reader: one request head (and body) from the bytes
    received so far, checked against the same limits as Connection.

    Returns None while more bytes are needed; otherwise removes the request
    from `buffer` and returns it. Raises HttpError for a request that must be
    refused. A request whose body has not arrived yet is returned with
    `request.body_missing` > 0 and left in the buffer, so that the caller can
    answer `Expect: 100-continue`; call again when more bytes came."""
    end = buffer.find(b"\r\n\r\n")
    line_end = buffer.find(b"\r\n")
    if line_end < 0 and len(buffer) > limits.max_request_line:
        raise HttpError(414, "request line too long")
    if line_end > limits.max_request_line:
        raise HttpError(414, "request line too long")
    if end < 0:
        if line_end >= 0 and len(buffer) - line_end > limits.max_header_bytes:
            raise HttpError(431, "header block too large")
        return None
    if end - line_end > limits.max_header_bytes:
        raise HttpError(431, "header block too large")
    request = parse_head(bytes(buffer[:end]), limits)
    length = body_length(request, limits)
    have = len(buffer) - end - 4
    if have < length:
        request.body_missing = length - have
        return request
    request.body_missing = 0
    request.body = bytes(buffer[end + 4:end + 4 + length])
    del buffer[:end + 4 + length]
    return request


def body_length(request, limits):
    """The Content-Length a request announces (0 without one), checked."""
    if "transfer-encoding" in request.headers:
        raise HttpError(501, "transfer codings are not supported; send Content-Length")
    length_text = request.header("content-length")
    if length_text is None:
        if request.method == "POST":
            raise HttpError(411, "POST needs a Content-Length")
        return 0
    if not length_text.isdigit():
        raise HttpError(400, "bad Content-Length")
    length = int(length_text)
    if length > limits.max_body:
        raise HttpError(413, f"body larger than {limits.max_body} bytes")
    expect = request.header("expect")
    if expect is not None and expect.lower() != "100-continue":
        raise HttpError(417, "only 100-continue can be expected")
    return length


def response_bytes(status, body=b"", content_type="text/plain; charset=utf-8",
                   headers=None, keep_alive=False):
    """A whole response, as send_response sends it."""
    all_headers = {"Content-Type": content_type, "Cache-Control": "no-store"}
    all_headers.update(headers or {})
    return response_head(status, all_headers, keep_alive, len(body)) + body


def error_bytes(error):
    """The response send_error sends for `error`."""
    body = f"{error.status} {REASONS.get(error.status, 'Error')}: {error.detail}\n".encode()
    return response_bytes(error.status, body, headers=error.headers, keep_alive=False)
