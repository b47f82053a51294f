"""Socket, create_connection, create_server and poll: the standard module's shape.

Hot paths (send, sendall, recv, recv_into, sendto, recvfrom) are written for
per-call cost: the ctypes functions are module globals bound once, bytes are
passed to C without a copy, recv() receives into a reusable scratch buffer
whose address was computed once, and only writable user buffers pay for a
``c_char.from_buffer``.
"""

from __future__ import annotations

import math
import operator
import socket as _std
import weakref
from ctypes import addressof, byref, c_char, c_int64, c_uint16, c_uint32, c_uint64, c_void_p
from typing import Any, Dict, Iterable, List, Optional, Tuple, Type, TypeVar, Union

from . import _constants as C
from . import _ffi
from ._errors import closed_error, error_for

# The standard module's values, so code written for `socket` keeps working
# (sockrt.SHUT_WR == socket.SHUT_WR); translated to the library's own values
# at the C boundary.
AF_INET = _std.AF_INET
AF_INET6 = _std.AF_INET6
SOCK_STREAM = _std.SOCK_STREAM
SOCK_DGRAM = _std.SOCK_DGRAM
SHUT_RD = _std.SHUT_RD
SHUT_WR = _std.SHUT_WR
SHUT_RDWR = _std.SHUT_RDWR

_FAMILY_TO_C: Dict[int, int] = {AF_INET: C.SOCKRT_INET, AF_INET6: C.SOCKRT_INET6}
_TYPE_TO_C: Dict[int, int] = {SOCK_STREAM: C.SOCKRT_STREAM, SOCK_DGRAM: C.SOCKRT_DGRAM}
_SHUT_TO_C: Dict[int, int] = {
    SHUT_RD: C.SOCKRT_SHUT_READ,
    SHUT_WR: C.SOCKRT_SHUT_WRITE,
    SHUT_RDWR: C.SOCKRT_SHUT_BOTH,
}

# Standard (level, optname) pairs that setsockopt/getsockopt understand.
_STD_OPTIONS = {
    (_std.IPPROTO_TCP, _std.TCP_NODELAY): C.SOCKRT_OPT_NODELAY,
    (_std.SOL_SOCKET, _std.SO_KEEPALIVE): C.SOCKRT_OPT_KEEPALIVE,
    (_std.SOL_SOCKET, _std.SO_REUSEADDR): C.SOCKRT_OPT_REUSEADDR,
    (_std.SOL_SOCKET, _std.SO_RCVBUF): C.SOCKRT_OPT_RECV_BUFFER,
    (_std.SOL_SOCKET, _std.SO_SNDBUF): C.SOCKRT_OPT_SEND_BUFFER,
    (_std.SOL_SOCKET, _std.SO_BROADCAST): C.SOCKRT_OPT_BROADCAST,
}

Address = Tuple[str, int]
ReadableBuffer = Union[bytes, bytearray, memoryview]
WritableBuffer = Union[bytearray, memoryview]

_INT32_MAX = 2**31 - 1
_NO_HANDLE = c_uint64(0)

# The C functions, bound once.
_send = _ffi.send
_recv = _ffi.recv
_send_all = _ffi.send_all
_recv_exact = _ffi.recv_exact
_exchange = _ffi.exchange
_send_to = _ffi.send_to
_recv_from = _ffi.recv_from
_from_buffer = c_char.from_buffer


# --- scratch buffers ---------------------------------------------------------

_SCRATCH_DATA = 65536
_SCRATCH_HOST = _SCRATCH_DATA
_SCRATCH_PORT = _SCRATCH_HOST + C.SOCKRT_ADDR_MAX
_SCRATCH_SIZE = _SCRATCH_PORT + 8


class _Scratch:
    """A receive buffer with its address computed once, plus room for the
    sender's address of a datagram."""

    __slots__ = ("data", "view", "addr", "addr_c", "host_addr", "port", "port_addr", "_pin")

    def __init__(self) -> None:
        self.data = bytearray(_SCRATCH_SIZE)
        self.view = memoryview(self.data)
        # The ctypes object pins the bytearray (it can never be resized), so
        # the address stays valid for the scratch's lifetime.
        self._pin = _from_buffer(self.data)
        self.addr = addressof(self._pin)
        # Typed once: ctypes passes a c_void_p as is, without a conversion.
        self.addr_c = c_void_p(self.addr)
        self.host_addr = self.addr + _SCRATCH_HOST
        self.port = c_uint16.from_buffer(self.data, _SCRATCH_PORT)
        self.port_addr = self.addr + _SCRATCH_PORT

    def host(self) -> str:
        end = self.data.find(0, _SCRATCH_HOST, _SCRATCH_PORT)
        return self.data[_SCRATCH_HOST:end].decode("ascii")


# Free scratch buffers shared by every socket; list.pop/append are atomic
# under the GIL, so two threads never get the same one. The list never holds
# more buffers than there were calls using one at the same time.
_scratch_free: List[_Scratch] = []
_take_scratch = _scratch_free.pop
_give_scratch = _scratch_free.append


def _get_scratch() -> _Scratch:
    try:
        return _take_scratch()
    except IndexError:
        return _Scratch()


def _put_scratch(scratch: _Scratch) -> None:
    _give_scratch(scratch)


# --- argument helpers ----------------------------------------------------------

_host_cache: dict = {}


def _host_bytes(host: Any, family: int) -> bytes:
    """The C string for a host, with the standard module's special names."""
    cached = _host_cache.get((host, family))
    if cached is not None:
        return cached
    if isinstance(host, bytes):
        text = host.decode("ascii")
    elif isinstance(host, str):
        text = host
    else:
        raise TypeError(f"host must be str, not {type(host).__name__}")
    if text == "":
        text = "::" if family == AF_INET6 else "0.0.0.0"
    elif text == "<broadcast>":
        text = "255.255.255.255"
    if "\0" in text:
        raise ValueError("host must not contain a NUL character")
    encoded = text.encode("idna") if not text.isascii() else text.encode("ascii")
    if len(_host_cache) > 256:
        _host_cache.clear()
    _host_cache[(host, family)] = encoded
    return encoded


def _port(port: Any) -> int:
    port = operator.index(port)
    if not 0 <= port <= 65535:
        raise OverflowError("port must be 0-65535.")
    return port


def _address(address: Any, family: int = AF_INET) -> Tuple[bytes, int]:
    """(host, port) -> (C host string, port); longer IPv6 tuples are allowed."""
    if not isinstance(address, tuple) or len(address) < 2:
        raise TypeError(
            f"address must be a (host, port) tuple, not {type(address).__name__}"
        )
    return _host_bytes(address[0], family), _port(address[1])


def _size(value: Any, what: str) -> int:
    value = operator.index(value)
    if value < 0:
        raise ValueError(f"negative {what}")
    return value


def _timeout_ms(value: Optional[float]) -> int:
    """Seconds (None = forever) -> the library's milliseconds, rounded up."""
    if value is None:
        return -1
    if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
        raise TypeError(
            f"timeout must be a number of seconds or None, not {type(value).__name__}"
        )
    seconds = float(value)
    if math.isnan(seconds) or seconds < 0:
        raise ValueError("Timeout value out of range")
    ms = math.ceil(seconds * 1000)
    if ms > _INT32_MAX:
        raise OverflowError("timeout is too large")
    return ms


class _BorrowedBuffer:
    """The address of a read-only buffer, borrowed without a copy."""

    __slots__ = ("view",)

    def __init__(self, obj: Any) -> None:
        self.view = _ffi.PyBuffer()
        _ffi.get_buffer(obj, byref(self.view), _ffi.PYBUF_SIMPLE)

    def release(self) -> None:
        _ffi.release_buffer(byref(self.view))


def _call_with_buffer(func: Any, h: int, data: Any) -> int:
    """Calls func(h, address, length) on any bytes-like object, no copy."""
    if data.__class__ is bytes:
        return func(h, data, len(data))
    if data.__class__ is bytearray:
        size = len(data)
        if size == 0:
            return func(h, None, 0)
        return func(h, addressof(_from_buffer(data)), size)
    borrowed = _BorrowedBuffer(data)  # TypeError if not bytes-like
    try:
        return func(h, borrowed.view.buf, borrowed.view.len)
    finally:
        borrowed.release()


def _writable(buffer: Any, nbytes: int) -> Tuple[int, int]:
    """(address, length) of the first `nbytes` (0 = all) of a writable buffer."""
    if buffer.__class__ is bytearray:
        size = len(buffer)
    elif buffer.__class__ is memoryview:
        size = buffer.nbytes
    else:
        size = memoryview(buffer).nbytes  # TypeError if not a buffer
    if nbytes.__class__ is not int:
        nbytes = operator.index(nbytes)
    if nbytes < 0:
        raise ValueError("negative buffersize in recv_into")
    if nbytes > size:
        raise ValueError("buffer too small for requested bytes")
    if size == 0:
        if isinstance(buffer, memoryview) and buffer.readonly:
            raise TypeError("underlying buffer is not writable")
        return 0, 0
    return addressof(_from_buffer(buffer)), nbytes or size


# A bytearray or memoryview request up to this size is copied to bytes by
# exchange(): the copy costs less than a second c_char.from_buffer.
_EXCHANGE_COPY_MAX = 4096


def _exchange_buffers(h: int, data: Any, into: Any) -> int:
    """sockrt_exchange for any bytes-like request and writable reply buffer.

    Both buffers are resolved before the call, so a wrong type raises
    TypeError with nothing sent. The reply buffer stays exported (its
    ctypes view is held) until the call returns: it cannot be resized or
    freed by another thread while the library, without the GIL, writes
    into it."""
    size = into.nbytes if into.__class__ is memoryview else memoryview(into).nbytes
    if size:
        pin: Any = _from_buffer(into)  # TypeError if read-only
        reply: Optional[int] = addressof(pin)
    else:
        if memoryview(into).readonly:
            raise TypeError("underlying buffer is not writable")
        reply = None
    if data.__class__ is bytes:
        return _exchange(h, data, len(data), reply, size)
    borrowed = _BorrowedBuffer(data)  # TypeError if not bytes-like
    try:
        return _exchange(h, borrowed.view.buf, borrowed.view.len, reply, size)
    finally:
        borrowed.release()


def _is_v6(host: bytes) -> bool:
    return b":" in host


_S = TypeVar("_S", bound="Socket")


# --- the Socket ------------------------------------------------------------------


class Socket:
    """A TCP or UDP socket, shaped like ``socket.socket``.

    Blocking by default. Timeouts (``settimeout``) bound each call as in the
    standard module and raise ``TimeoutError``; a timeout of 0 makes calls
    that cannot proceed at once raise ``BlockingIOError`` (the exception is
    both). ``close()`` from any thread wakes every call blocked on the
    socket; they raise ``OSError`` with errno EBADF. A socket that is
    garbage-collected without ``close()`` is closed by a finaliser.

    Addresses are ``(host, port)`` tuples for both families; ``getsockname``
    and friends return 2-tuples for IPv6 too. Hosts may be names.
    """

    __slots__ = (
        "_h",
        "_hc",
        "_family",
        "_type",
        "_timeout",
        "_timeout_ms",
        "_finalizer",
        "__weakref__",
    )

    _h: int
    # The handle again as a c_uint64, which ctypes passes without calling
    # c_uint64.from_param: hot paths use it.
    _hc: c_uint64

    def __init__(self, family: int = AF_INET, type: int = SOCK_STREAM) -> None:
        c_family = _FAMILY_TO_C.get(_int_arg(family, "family"))
        c_type = _TYPE_TO_C.get(_int_arg(type, "type"))
        if c_family is None:
            raise ValueError(f"unsupported address family {family!r}")
        if c_type is None:
            raise ValueError(f"unsupported socket type {type!r}")
        out = c_uint64()
        rc = _ffi.socket(c_family, c_type, byref(out))
        if rc:
            raise error_for(rc)
        self._adopt(out.value, family, type)

    def _adopt(self, handle: int, family: int, type: int) -> None:
        self._h = handle
        self._hc = c_uint64(handle)
        self._family = AF_INET6 if family == AF_INET6 else AF_INET
        self._type = SOCK_DGRAM if type == SOCK_DGRAM else SOCK_STREAM
        self._timeout: Optional[float] = None
        self._timeout_ms = -1
        self._finalizer = _finalizer_for(self, handle)

    @classmethod
    def _from_handle(cls: Type[_S], handle: int, family: int, type: int) -> _S:
        sock = cls.__new__(cls)
        sock._adopt(handle, family, type)
        return sock

    def _error(self, code: int) -> OSError:
        if not self._h:
            return closed_error()
        return error_for(code, self._timeout_ms == 0)

    def _raise_closed(self) -> Any:
        raise closed_error()

    # -- lifetime --

    def close(self) -> None:
        """Closes the socket; calls blocked on it in other threads wake up
        and raise. Calling it again does nothing."""
        if self._h:
            self._forget_handle()
            self._finalizer()

    def _forget_handle(self) -> None:
        self._h = 0
        self._hc = _NO_HANDLE

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return not self._h

    def __enter__(self) -> "Socket":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if not self._h else f"handle={self._h:#x}"
        family = getattr(self._family, "name", self._family)
        kind = getattr(self._type, "name", self._type)
        return f"<sockrt.{type(self).__name__} {state}, family={family}, type={kind}>"

    @property
    def family(self) -> int:
        """AF_INET or AF_INET6."""
        return self._family

    @property
    def type(self) -> int:
        """SOCK_STREAM or SOCK_DGRAM."""
        return self._type

    @property
    def proto(self) -> int:
        """Always 0, as for sockets made without a protocol number."""
        return 0

    @property
    def handle(self) -> int:
        """The library handle (0 once closed)."""
        return self._h

    def fileno(self) -> int:
        """The descriptor, for select/poll/selectors (-1 once closed).

        It is borrowed and non-blocking: wait on it, then call recv/accept,
        but never read, write or close it directly."""
        fd = _ffi.fileno(self._h)
        return fd if fd >= 0 else -1

    # -- the classic flow --

    def bind(self, address: Address) -> None:
        """Binds to (host, port); "" means every interface, port 0 a free port."""
        host, port = _address(address, self._family)
        rc = _ffi.bind(self._h, host, port)
        if rc:
            raise self._error(rc)

    def listen(self, backlog: Optional[int] = None) -> None:
        """Starts listening; backlog None (or <= 0) uses the system default."""
        backlog = 0 if backlog is None else operator.index(backlog)
        rc = _ffi.listen(self._h, max(0, min(backlog, _INT32_MAX)))
        if rc:
            raise self._error(rc)

    def accept(self) -> Tuple["Socket", Address]:
        """Waits (up to the timeout) for a connection: (new socket, peer address)."""
        out = c_uint64()
        rc = _ffi.accept(self._h, byref(out))
        if rc:
            raise self._error(rc)
        conn = Socket._from_handle(out.value, self._family, SOCK_STREAM)
        try:
            peer = conn.getpeername()
        except OSError:
            # Reset before we looked: the standard module would hand it out
            # anyway, so report the address as unknown rather than fail.
            peer = ("", 0)
        return conn, peer

    def connect(self, address: Address) -> None:
        """Connects to (host, port) within the socket's timeout."""
        host, port = _address(address, self._family)
        rc = _ffi.connect(self._h, host, port, self._timeout_ms)
        if rc:
            raise self._error(rc)

    def connect_ex(self, address: Address) -> int:
        """connect() that returns an errno (0 on success) instead of raising."""
        try:
            self.connect(address)
        except OSError as exc:
            return exc.errno or 1
        return 0

    def shutdown(self, how: int) -> None:
        """Shuts down SHUT_RD, SHUT_WR or SHUT_RDWR (the standard values)."""
        c_how = _SHUT_TO_C.get(_int_arg(how, "how"))
        if c_how is None:
            raise ValueError(f"how must be SHUT_RD, SHUT_WR or SHUT_RDWR, not {how!r}")
        rc = _ffi.shutdown(self._h, c_how)
        if rc:
            raise self._error(rc)

    # -- data --

    def send(self, data: ReadableBuffer) -> int:
        """Sends some of data; returns how many bytes went."""
        if data.__class__ is bytes:
            n = _send(self._hc, data, len(data))
        else:
            n = _call_with_buffer(_send, self._h, data)
        if n < 0:
            raise self._error(n)
        return n

    def sendall(self, data: ReadableBuffer) -> None:
        """Sends all of data (the timeout bounds the whole call)."""
        if data.__class__ is bytes:
            rc = _send_all(self._hc, data, len(data))
        else:
            rc = _call_with_buffer(_send_all, self._h, data)
        if rc:
            raise self._error(rc)

    def recv(self, bufsize: int) -> bytes:
        """Receives up to bufsize bytes; b"" means the peer closed the stream."""
        if bufsize.__class__ is not int:
            bufsize = operator.index(bufsize)
        if bufsize > _SCRATCH_DATA:
            return self._recv_large(bufsize)
        if bufsize <= 0:
            if bufsize < 0:
                raise ValueError("negative buffersize in recv")
            # As the standard module: no call, so nothing blocks or is consumed.
            return b"" if self._h else self._raise_closed()
        try:
            scratch = _take_scratch()
        except IndexError:
            scratch = _Scratch()
        n = _recv(self._hc, scratch.addr_c, bufsize)
        if n < 0:
            _put_scratch(scratch)
            raise self._error(n)
        data = scratch.view[:n].tobytes()
        _give_scratch(scratch)
        return data

    def _recv_large(self, bufsize: int) -> bytes:
        buf = bytearray(bufsize)
        n = _recv(self._h, addressof(_from_buffer(buf)), bufsize)
        if n < 0:
            raise self._error(n)
        return bytes(memoryview(buf)[:n])

    def recv_into(self, buffer: WritableBuffer, nbytes: int = 0) -> int:
        """Receives up to nbytes (0: the buffer's size) into buffer; returns
        how many arrived. No copy: the library writes into buffer itself."""
        if not nbytes and buffer.__class__ is bytearray and buffer:
            # The common case, kept to one from_buffer and one C call.
            n = _recv(self._hc, addressof(_from_buffer(buffer)), len(buffer))
        else:
            addr, size = _writable(buffer, nbytes)
            if not size:
                return 0 if self._h else self._raise_closed()
            n = _recv(self._h, addr, size)
        if n < 0:
            raise self._error(n)
        return n

    def recv_exact(self, nbytes: int) -> bytes:
        """Receives exactly nbytes; raises sockrt.Eof (an EOFError) if the
        peer closes first. The timeout bounds the whole call."""
        nbytes = _size(nbytes, "buffersize in recv_exact")
        buf = bytearray(nbytes)
        self.recv_exact_into(buf)
        return bytes(buf)

    def recv_exact_into(self, buffer: WritableBuffer, nbytes: int = 0) -> int:
        """Fills the first nbytes (0: all) of buffer, or raises; returns nbytes."""
        addr, size = _writable(buffer, nbytes)
        rc = _recv_exact(self._h, addr or None, size)
        if rc:
            raise self._error(rc)
        return size

    def exchange(self, data: ReadableBuffer, into: WritableBuffer) -> None:
        """One request/response round trip in a single library call: sends
        all of data, then fills all of into (raises sockrt.Eof, an
        EOFError, if the peer closes first; the contents of into are then
        unspecified). The timeout bounds the send and the receive each.
        For fixed-size replies; data and into may be the same buffer."""
        # The request: bytes go as they are; a small bytearray or memoryview
        # is copied to bytes, which costs less than a second from_buffer.
        if data.__class__ is bytes:
            req: Any = data
        elif data.__class__ is bytearray and len(data) <= _EXCHANGE_COPY_MAX:
            req = bytes(data)
        elif data.__class__ is memoryview and data.nbytes <= _EXCHANGE_COPY_MAX:
            req = data.tobytes()
        else:
            req = None
        if into.__class__ is bytearray:
            size = len(into)
        elif into.__class__ is memoryview:
            size = into.nbytes
        else:
            size = 0
        if req is not None and size:
            # `pin` keeps into exported (it cannot be resized or freed)
            # while the library writes into it without the GIL.
            pin = _from_buffer(into)  # TypeError if read-only
            rc = _exchange(self._hc, req, len(req), addressof(pin), size)
        else:
            rc = _exchange_buffers(self._h, data, into)
        if rc:
            raise self._error(rc)

    def sendto(self, data: ReadableBuffer, address: Address) -> int:
        """Sends one datagram to (host, port); returns its length."""
        host, port = _address(address, self._family)
        if data.__class__ is bytes:
            n = _send_to(self._hc, data, len(data), host, port)
        else:
            n = _call_with_buffer(
                lambda h, p, size: _send_to(h, p, size, host, port), self._h, data
            )
        if n < 0:
            raise self._error(n)
        return n

    def recvfrom(self, bufsize: int) -> Tuple[bytes, Address]:
        """Receives one datagram (truncated to bufsize): (data, (host, port))."""
        bufsize = _size(bufsize, "buffersize in recvfrom")
        if bufsize > _SCRATCH_DATA:
            buf = bytearray(bufsize)
            n, address = self.recvfrom_into(buf)
            return bytes(memoryview(buf)[:n]), address
        scratch = _get_scratch()
        n = _recv_from(
            self._h, scratch.addr, bufsize, scratch.host_addr, C.SOCKRT_ADDR_MAX, scratch.port_addr
        )
        if n < 0:
            _put_scratch(scratch)
            raise self._error(n)
        result = (scratch.view[:n].tobytes(), (scratch.host(), scratch.port.value))
        _put_scratch(scratch)
        return result

    def recvfrom_into(self, buffer: WritableBuffer, nbytes: int = 0) -> Tuple[int, Address]:
        """recvfrom into buffer: (bytes received, (host, port))."""
        addr, size = _writable(buffer, nbytes)
        scratch = _get_scratch()
        n = _recv_from(
            self._h, addr or None, size, scratch.host_addr, C.SOCKRT_ADDR_MAX, scratch.port_addr
        )
        if n < 0:
            _put_scratch(scratch)
            raise self._error(n)
        result = (n, (scratch.host(), scratch.port.value))
        _put_scratch(scratch)
        return result

    # -- addresses --

    def getsockname(self) -> Address:
        """The local (host, port)."""
        return self._addr(_ffi.local_addr)

    def getpeername(self) -> Address:
        """The peer's (host, port); OSError ENOTCONN if not connected."""
        return self._addr(_ffi.peer_addr)

    def _addr(self, func: Any) -> Address:
        scratch = _get_scratch()
        try:
            port = c_uint16()
            rc = func(self._h, scratch.host_addr, C.SOCKRT_ADDR_MAX, byref(port))
            if rc:
                raise self._error(rc)
            return scratch.host(), port.value
        finally:
            _put_scratch(scratch)

    # -- timeouts and options --

    def settimeout(self, value: Optional[float]) -> None:
        """None: block forever; 0: never wait (BlockingIOError); seconds > 0:
        each call waits at most that long (TimeoutError), rounded up to ms."""
        ms = _timeout_ms(value)
        self.set_option(C.SOCKRT_OPT_READ_TIMEOUT_MS, ms)
        self.set_option(C.SOCKRT_OPT_WRITE_TIMEOUT_MS, ms)
        self._timeout = None if value is None else float(value)
        self._timeout_ms = ms

    def gettimeout(self) -> Optional[float]:
        """The timeout in seconds, or None (blocking)."""
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        """setblocking(True) is settimeout(None); False is settimeout(0)."""
        self.settimeout(None if flag else 0.0)

    def getblocking(self) -> bool:
        """False only for a timeout of 0."""
        return self._timeout != 0.0

    def set_option(self, option: int, value: int) -> None:
        """Sets a library option (sockrt.OPT_*; timeouts in ms, flags 0/1)."""
        rc = _ffi.set_option(self._h, _int_arg(option, "option"), _int_arg(value, "value"))
        if rc:
            raise self._error(rc)

    def get_option(self, option: int) -> int:
        """Reads a library option (sockrt.OPT_*)."""
        out = c_int64()
        rc = _ffi.get_option(self._h, _int_arg(option, "option"), byref(out))
        if rc:
            raise self._error(rc)
        return out.value

    def setsockopt(self, level: int, optname: int, value: Union[int, bool]) -> None:
        """The standard call for the options the library knows: TCP_NODELAY,
        SO_KEEPALIVE, SO_REUSEADDR, SO_RCVBUF, SO_SNDBUF, SO_BROADCAST (with
        the standard module's level and name constants)."""
        self.set_option(_std_option(level, optname), int(value))

    def getsockopt(self, level: int, optname: int) -> int:
        """The standard call, for the options setsockopt accepts."""
        return self.get_option(_std_option(level, optname))

    def set_nodelay(self, on: bool = True) -> None:
        """TCP_NODELAY on or off (stream sockets)."""
        self.set_option(C.SOCKRT_OPT_NODELAY, 1 if on else 0)

    def set_keepalive(self, on: bool = True) -> None:
        """SO_KEEPALIVE on or off."""
        self.set_option(C.SOCKRT_OPT_KEEPALIVE, 1 if on else 0)

    def set_busy_poll(self, microseconds: int) -> None:
        """Latency mode: spin up to this long before a receive blocks (0: off)."""
        self.set_option(C.SOCKRT_OPT_BUSY_POLL_US, _size(microseconds, "busy poll time"))


def _int_arg(value: Any, what: str) -> int:
    if isinstance(value, int):
        return value
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None


def _std_option(level: int, optname: int) -> int:
    option = _STD_OPTIONS.get((_int_arg(level, "level"), _int_arg(optname, "optname")))
    if option is None:
        import errno

        raise OSError(errno.ENOPROTOOPT, f"option ({level}, {optname}) is not supported")
    return option


def _close_handle(handle: int) -> None:
    _ffi.close(handle)


def _finalizer_for(owner: object, handle: int) -> weakref.finalize:
    fin = weakref.finalize(owner, _close_handle, handle)
    # At interpreter exit the process ends anyway; closing then could race
    # daemon threads still inside the library, so leave it to the OS.
    fin.atexit = False
    return fin


# --- module functions ---------------------------------------------------------------


def create_connection(
    address: Address,
    timeout: Optional[float] = None,
    source_address: Optional[Address] = None,
) -> Socket:
    """Connects a TCP socket to (host, port), trying each address the host
    resolves to within `timeout` seconds (None: no limit), which then stays
    the socket's timeout. source_address=(host, port) binds first."""
    ms = _timeout_ms(timeout)
    host, port = _address(address)
    if source_address is not None:
        src_host, _ = _address(source_address)
        family = AF_INET6 if _is_v6(src_host) else AF_INET
        sock = Socket(family, SOCK_STREAM)
        try:
            sock.bind(source_address)
            sock.settimeout(timeout)
            sock.connect(address)
        except BaseException:
            sock.close()
            raise
        return sock
    out = c_uint64()
    rc = _ffi.tcp_connect(host, port, ms, byref(out))
    if rc:
        raise error_for(rc)
    sock = Socket._from_handle(out.value, AF_INET, SOCK_STREAM)
    try:
        if _is_v6(sock.getsockname()[0].encode()):
            sock._family = AF_INET6
        if timeout is not None:
            sock.settimeout(timeout)
    except BaseException:
        sock.close()
        raise
    return sock


def create_server(
    address: Address,
    *,
    family: int = AF_INET,
    backlog: Optional[int] = None,
    reuse_port: bool = False,
    dualstack_ipv6: bool = False,
) -> Socket:
    """A listening TCP socket on (host, port) with SO_REUSEADDR on; port 0
    picks a free port (see getsockname()). reuse_port and dualstack_ipv6
    are not supported (ValueError)."""
    if reuse_port:
        raise ValueError("SO_REUSEPORT is not supported by sockrt")
    if dualstack_ipv6:
        raise ValueError("dualstack_ipv6 is not supported by sockrt")
    sock = Socket(family, SOCK_STREAM)
    try:
        sock.set_option(C.SOCKRT_OPT_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def poll(
    entries: Iterable[Tuple[Socket, int]], timeout: Optional[float] = None
) -> List[Tuple[Socket, int]]:
    """Waits until some of the (socket, POLL_IN|POLL_OUT) entries are ready,
    or `timeout` seconds pass (None: no limit). Returns the ready ones as
    (socket, events) with POLL_IN/OUT/ERR/HUP/CLOSED bits; [] on timeout.
    Closing one of the sockets in another thread ends the wait."""
    entries = list(entries)
    n = len(entries)
    handles = (c_uint64 * max(n, 1))()
    events = (c_uint32 * max(n, 1))()
    for i, (sock, wanted) in enumerate(entries):
        if not isinstance(sock, Socket):
            raise TypeError(f"poll entries must be (Socket, events), not {type(sock).__name__}")
        if sock.closed:
            raise closed_error()
        handles[i] = sock._h
        events[i] = _int_arg(wanted, "events")
    rc = _ffi.poll(handles, events, n, _timeout_ms(timeout))
    if rc < 0:
        raise error_for(rc)
    return [(entries[i][0], events[i]) for i in range(n) if events[i]]
