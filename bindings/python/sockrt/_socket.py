"""The socket class and the connection helpers: the standard module's shape.

Hot paths (send, sendall, recv, recv_into, sendto, recvfrom) are written for
per-call cost: the ctypes functions are module globals bound once, bytes are
passed to C without a copy, recv() receives into a reusable scratch buffer
whose address was computed once, and writable user buffers pay for one
``c_char.from_buffer``, whose export is held until the call returns (so the
buffer cannot be resized or freed while the library writes into it without
the GIL; another thread trying gets BufferError, as with ``socket``).

Failures leave the hot path for ``socket._again``, which follows PEP 475: a
call that a signal interrupted runs the Python signal handlers, raises what
a handler raised, and otherwise is made again with the time it has left.
"""

from __future__ import annotations

import builtins
import contextlib
import errno as _errno
import math
import operator
import os
import socket as _std
import struct
import sys
import threading
import warnings
import weakref
from array import array as _array
from ctypes import (
    addressof,
    byref,
    c_char,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
    create_string_buffer,
)
from time import monotonic as _monotonic
from typing import Any, Dict, Iterable, List, Optional, Tuple, Type, TypeVar, Union

from . import _constants as C
from . import _ffi
from ._errors import Timeout, closed_error, error_for, last_progress
from ._file import makefile as _makefile

# The standard class, as it was when sockrt was imported (before any patch):
# sockets of a family or type the library does not have are made with it.
_StdSocket = _std.socket

AF_INET = _std.AF_INET
AF_INET6 = _std.AF_INET6
AF_UNIX = _std.AF_UNIX
SOCK_STREAM = _std.SOCK_STREAM
SOCK_DGRAM = _std.SOCK_DGRAM
SHUT_RD = _std.SHUT_RD
SHUT_WR = _std.SHUT_WR
SHUT_RDWR = _std.SHUT_RDWR
_SOCK_NONBLOCK = getattr(_std, "SOCK_NONBLOCK", 0)
_SOCK_CLOEXEC = getattr(_std, "SOCK_CLOEXEC", 0)
_TYPE_FLAGS = _SOCK_NONBLOCK | _SOCK_CLOEXEC

_FAMILY_TO_C: Dict[int, int] = {
    AF_INET: C.SOCKRT_INET,
    AF_INET6: C.SOCKRT_INET6,
    AF_UNIX: C.SOCKRT_UNIX,
}
_TYPE_TO_C: Dict[int, int] = {SOCK_STREAM: C.SOCKRT_STREAM, SOCK_DGRAM: C.SOCKRT_DGRAM}
_SHUT_TO_C: Dict[int, int] = {
    SHUT_RD: C.SOCKRT_SHUT_READ,
    SHUT_WR: C.SOCKRT_SHUT_WRITE,
    SHUT_RDWR: C.SOCKRT_SHUT_BOTH,
}

# MSG_* flags the library takes; MSG_NOSIGNAL is what it always does.
_FLAG_TO_C: Dict[int, int] = {
    _std.MSG_PEEK: C.SOCKRT_MSG_PEEK,
    _std.MSG_DONTWAIT: C.SOCKRT_MSG_DONTWAIT,
    _std.MSG_WAITALL: C.SOCKRT_MSG_WAITALL,
}
_IGNORED_FLAGS = getattr(_std, "MSG_NOSIGNAL", 0)
# Descriptors the library receives are close-on-exec already.
_RECVMSG_IGNORED_FLAGS = _IGNORED_FLAGS | getattr(_std, "MSG_CMSG_CLOEXEC", 0)

# Standard (level, optname) pairs that setsockopt/getsockopt route through
# the library's own options, because the library keeps state for them.
_SET_OPTIONS = {
    (_std.IPPROTO_TCP, _std.TCP_NODELAY): C.SOCKRT_OPT_NODELAY,
    (_std.SOL_SOCKET, _std.SO_KEEPALIVE): C.SOCKRT_OPT_KEEPALIVE,
    (_std.SOL_SOCKET, _std.SO_REUSEADDR): C.SOCKRT_OPT_REUSEADDR,
    (_std.SOL_SOCKET, _std.SO_BROADCAST): C.SOCKRT_OPT_BROADCAST,
}
if hasattr(_std, "SO_REUSEPORT"):
    _SET_OPTIONS[(_std.SOL_SOCKET, _std.SO_REUSEPORT)] = C.SOCKRT_OPT_REUSEPORT
# Reading SO_ERROR through the library finishes a non-blocking connect.
_GET_OPTIONS = {(_std.SOL_SOCKET, _std.SO_ERROR): C.SOCKRT_OPT_ERROR}
# The library owns the timeouts (it sets them on the descriptor as it needs).
_REFUSED_OPTIONS = {
    (_std.SOL_SOCKET, getattr(_std, "SO_RCVTIMEO", -1)),
    (_std.SOL_SOCKET, getattr(_std, "SO_SNDTIMEO", -1)),
}

Address = Tuple[Any, ...]
ReadableBuffer = Union[bytes, bytearray, memoryview]
WritableBuffer = Union[bytearray, memoryview]

_INT32_MAX = 2**31 - 1
_NO_HANDLE = c_uint64(0)
_E_INTERRUPTED = C.SOCKRT_E_INTERRUPTED
_E_TIMEOUT = C.SOCKRT_E_TIMEOUT
_READ = C.SOCKRT_OPT_READ_TIMEOUT_MS
_WRITE = C.SOCKRT_OPT_WRITE_TIMEOUT_MS

# The C functions, bound once.
_send = _ffi.send
_recv = _ffi.recv
_send_all = _ffi.send_all
_recv_exact = _ffi.recv_exact
_exchange = _ffi.exchange
_send_to = _ffi.send_to
_recv_from = _ffi.recv_from
_recv_flags = _ffi.recv_flags
_send_flags = _ffi.send_flags
_recv_from_flags = _ffi.recv_from_flags
_send_to_flags = _ffi.send_to_flags
_set_option = _ffi.set_option
_check_signals = _ffi.check_signals
_from_buffer = c_char.from_buffer
_HAS_ADOPT = _ffi.has("sockrt_adopt_fd")


# --- signals (PEP 475) -------------------------------------------------------

# Python runs signal handlers in the main thread only, so that is the thread
# whose blocking calls must come back when a signal arrives: there the
# library reports EINTR as SOCKRT_E_INTERRUPTED and _again() runs the
# handlers. Other threads keep the library's default (retry inside), which
# is what the standard module does for them too (their handlers cannot run).
_MAIN_IDENT = threading.main_thread().ident
_interruptible = False


def _make_main_thread_interruptible() -> None:
    global _interruptible
    if _interruptible or threading.get_ident() != _MAIN_IDENT:
        return
    if _ffi.has("sockrt_set_interruptible"):
        _ffi.set_interruptible(1)
        _interruptible = True


_make_main_thread_interruptible()


# --- scratch buffers ---------------------------------------------------------

_SCRATCH_DATA = 65536
_SCRATCH_HOST = _SCRATCH_DATA
# Room for any address text: an IP address (SOCKRT_ADDR_MAX) or a Unix path
# or "@name" (SOCKRT_UNIX_PATH_MAX), rounded up so the port stays aligned.
_HOST_CAP = (max(C.SOCKRT_ADDR_MAX, C.SOCKRT_UNIX_PATH_MAX) + 7) & ~7
_SCRATCH_PORT = _SCRATCH_HOST + _HOST_CAP
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

    def raw_host(self) -> bytes:
        end = self.data.find(0, _SCRATCH_HOST, _SCRATCH_PORT)
        return bytes(self.data[_SCRATCH_HOST:end])


# Free scratch buffers shared by every socket; list.pop/append are atomic
# under the GIL, so two threads never get the same one.
_scratch_free: List[_Scratch] = []
_take_scratch = _scratch_free.pop
_give_scratch = _scratch_free.append


def _get_scratch() -> _Scratch:
    try:
        return _take_scratch()
    except IndexError:
        return _Scratch()


# --- argument helpers ----------------------------------------------------------

# (host, family) -> C string, for numeric hosts only (names are resolved on
# every use, as the standard module does).
_host_cache: dict = {}


def _host_bytes(host: Any, family: int) -> bytes:
    """The C string for a host: a numeric literal as it is, a name resolved
    here with the standard getaddrinfo (so a failure is the standard
    module's gaierror with its EAI_* errno), and the special names "" and
    "<broadcast>"."""
    cached = _host_cache.get((host, family))
    if cached is not None:
        return cached
    if isinstance(host, bytes):
        text = host.decode("ascii")
    elif isinstance(host, str):
        text = host
    else:
        raise TypeError(f"str, bytes or bytearray expected, not {type(host).__name__}")
    if "\0" in text:
        raise ValueError("host name must not contain null character")
    if family == AF_UNIX:
        raise TypeError("a bytes-like object is required, not 'tuple'")
    if text == "":
        text = "::" if family == AF_INET6 else "0.0.0.0"
    elif text == "<broadcast>":
        text = "255.255.255.255"
    numeric = True
    try:
        _std.inet_pton(family, text)
    except OSError:
        numeric = False
    if not numeric:
        infos = _std.getaddrinfo(text, None, family)
        return infos[0][4][0].encode("ascii")
    encoded = text.encode("ascii")
    if len(_host_cache) > 256:
        _host_cache.clear()
    _host_cache[(host, family)] = encoded
    return encoded


def _plain_host(host: Any) -> bytes:
    """A host as the library takes it (literal or name, resolved by the library)."""
    if isinstance(host, bytes):
        host = host.decode("ascii")
    if not isinstance(host, str):
        raise TypeError(f"host must be str, not {type(host).__name__}")
    if not host or "\0" in host:
        raise ValueError("host must be a non-empty string without NUL characters")
    return host.encode("idna") if not host.isascii() else host.encode("ascii")


def _port(port: Any) -> int:
    if port.__class__ is not int:
        try:
            port = operator.index(port)
        except TypeError:
            raise TypeError(
                f"'{type(port).__name__}' object cannot be interpreted as an integer"
            ) from None
    if not 0 <= port <= 65535:
        raise OverflowError("port must be 0-65535.")
    return port


def _address(address: Any, family: int) -> Tuple[bytes, int]:
    """A standard address tuple -> (C host string, port): (host, port) for
    AF_INET, (host, port[, flowinfo[, scope_id]]) for AF_INET6."""
    if address.__class__ is not tuple:
        if family == AF_UNIX:
            return _unix_path(address), 0
        raise TypeError(
            f"{_family_name(family)} address must be tuple, not {type(address).__name__}"
        )
    n = len(address)
    if n != 2 and not (family == AF_INET6 and 2 <= n <= 4):
        raise TypeError(
            f"{_family_name(family)} address must be a pair (host, port)"
            if family != AF_INET6
            else "AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])"
        )
    return _host_bytes(address[0], family), _port(address[1])


# sun_path's size: a path keeps a NUL in it, an abstract name does not.
_SUN_PATH = 108


def _unix_path(address: Any) -> bytes:
    """A standard AF_UNIX address (str or bytes-like: a path, or a leading
    NUL for Linux's abstract namespace, or empty to let the kernel pick an
    abstract name) -> the library's form: the path, or "@name"."""
    if isinstance(address, str):
        raw = os.fsencode(address)
    elif isinstance(address, (bytes, bytearray, memoryview)):
        raw = bytes(address)
    else:
        raise TypeError(f"a bytes-like object is required, not '{type(address).__name__}'")
    if not raw:
        return b"@"  # autobind, as bind("") does
    if raw[0] == 0:
        if len(raw) > _SUN_PATH:
            raise OSError("AF_UNIX path too long")
        if 0 in raw[1:]:
            raise ValueError("sockrt: an abstract name with a NUL byte after the first")
        return b"@" + raw[1:]
    if len(raw) >= _SUN_PATH:
        raise OSError("AF_UNIX path too long")
    if 0 in raw:
        raise ValueError("embedded null byte")
    if raw[0] == 0x40:  # a relative path that starts with '@', not an abstract name
        return b"./" + raw
    return raw


def _unix_out(raw: bytes) -> Any:
    """The library's Unix address -> what the standard module returns: the
    path as str, an abstract name as bytes with a leading NUL, '' unnamed."""
    if not raw:
        return ""
    if raw[0] == 0x40:
        return b"\0" + raw[1:]
    return os.fsdecode(raw)


def _family_name(family: int) -> str:
    return getattr(family, "name", str(family))


def _address_out(host: str, port: int, family: int) -> Address:
    """The tuple the standard module returns: (host, port) or, for IPv6,
    (host, port, flowinfo, scope_id)."""
    if family != AF_INET6:
        return host, port
    scope = 0
    if "%" in host:
        host, _, name = host.partition("%")
        try:
            scope = int(name)
        except ValueError:
            try:
                scope = _std.if_nametoindex(name)
            except OSError:
                scope = 0
    return host, port, 0, scope


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
    if math.isnan(seconds):
        raise ValueError("Invalid value NaN (not a number)")
    if seconds < 0:
        raise ValueError("Timeout value out of range")
    ms = math.ceil(seconds * 1000)
    if ms > _INT32_MAX:
        raise OverflowError("timeout doesn't fit into C timeval")
    return ms


def _c_flags(flags: Any) -> int:
    """Standard MSG_* flags -> the library's; others are refused."""
    flags = _int_arg(flags, "flags") & ~_IGNORED_FLAGS
    out = 0
    for std_flag, c_flag in _FLAG_TO_C.items():
        if flags & std_flag:
            out |= c_flag
            flags &= ~std_flag
    if flags:
        raise OSError(_errno.EOPNOTSUPP, f"flags {flags:#x} are not supported by sockrt")
    return out


class _BorrowedBuffer:
    """A buffer's address, borrowed without a copy; the export holds (the
    object cannot be resized or freed) until release()."""

    __slots__ = ("view", "held")

    def __init__(self, obj: Any, writable: bool = False) -> None:
        self.view = _ffi.PyBuffer()
        self.held = False
        _ffi.get_buffer(obj, byref(self.view), 1 if writable else _ffi.PYBUF_SIMPLE)
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            _ffi.release_buffer(byref(self.view))


def _writable(buffer: Any, nbytes: int, what: str = "recv_into") -> Tuple[Any, int, int]:
    """(export, address, length) of the first `nbytes` (0 = all) of a
    writable buffer; keep `export` alive until the C call returns."""
    if buffer.__class__ is bytearray:
        size = len(buffer)
    elif buffer.__class__ is memoryview:
        size = buffer.nbytes
    else:
        size = memoryview(buffer).nbytes  # TypeError if not a buffer
    if nbytes.__class__ is not int:
        nbytes = operator.index(nbytes)
    if nbytes < 0:
        raise ValueError(f"negative buffersize in {what}")
    if nbytes > size:
        raise ValueError("buffer too small for requested bytes")
    if size == 0:
        if isinstance(buffer, memoryview) and buffer.readonly:
            raise TypeError("underlying buffer is not writable")
        return None, 0, 0
    pin = _from_buffer(buffer)  # TypeError if read-only
    return pin, addressof(pin), nbytes or size


# A bytearray or memoryview request up to this size is copied to bytes by
# exchange(): the copy costs less than a second c_char.from_buffer.
_EXCHANGE_COPY_MAX = 4096


_S = TypeVar("_S", bound="socket")


# --- the socket ------------------------------------------------------------------


class socket:
    """A TCP, UDP or Unix socket, shaped like ``socket.socket`` (alias ``Socket``).

    ``socket(family=AF_INET, type=SOCK_STREAM, proto=0, fileno=None)``: with
    ``fileno`` the socket takes over that open descriptor. AF_UNIX sockets
    (stream and datagram) take the standard module's addresses: a path as
    str or bytes, an abstract name with a leading NUL byte; a path socket
    file the socket bound is removed when it closes (the standard module
    leaves it). A family or type the library does not have (SOCK_SEQPACKET,
    SOCK_RAW, AF_PACKET, ...) gets a standard ``socket.socket`` instead, so
    code that makes one keeps working.

    Blocking by default (or the ``setdefaulttimeout`` value). Timeouts bound
    each call as in the standard module and raise ``TimeoutError``; a
    timeout of 0 makes calls that cannot proceed at once raise
    ``BlockingIOError``. ``close()`` from any thread wakes every call blocked
    on the socket; they raise ``OSError`` with errno EBADF. A socket
    garbage-collected without ``close()`` warns (ResourceWarning) and is
    closed.
    """

    __slots__ = (
        "_h",
        "_hc",
        "_family",
        "_type",
        "_proto",
        "_timeout",
        "_timeout_ms",
        "_io_refs",
        "_closed",
        "__weakref__",
    )

    _h: int
    # The handle again as a c_uint64, which ctypes passes without calling
    # c_uint64.from_param: hot paths use it.
    _hc: c_uint64

    def __new__(cls, family: int = -1, type: int = -1, proto: int = -1, fileno: Any = None):
        if cls is not socket:
            # A subclass's constructor may take other arguments: it is a
            # sockrt socket, whatever its __init__ makes of them.
            return object.__new__(cls)
        if fileno is None:
            fam = AF_INET if family == -1 else family
            kind = SOCK_STREAM if type == -1 else type
            if fam in _FAMILY_TO_C and (_int_arg(kind, "type") & ~_TYPE_FLAGS) in _TYPE_TO_C:
                return object.__new__(cls)
        elif _HAS_ADOPT:
            fam, kind, _ = _probe(fileno)
            if (family if family != -1 else fam) in _FAMILY_TO_C and kind in _TYPE_TO_C:
                return object.__new__(cls)
        return _StdSocket(family, type, proto, fileno)

    def __init__(
        self, family: int = -1, type: int = -1, proto: int = -1, fileno: Any = None
    ) -> None:
        self._h = 0
        self._hc = _NO_HANDLE
        out = c_uint64()
        if fileno is None:
            family = AF_INET if family == -1 else family
            type = SOCK_STREAM if type == -1 else _int_arg(type, "type")
            proto = 0 if proto == -1 else _int_arg(proto, "proto")
            kind = type & ~_TYPE_FLAGS
            rc = _ffi.socket(_FAMILY_TO_C[family], _TYPE_TO_C[kind], byref(out))
            if rc:
                raise error_for(rc)
        else:
            fd = _fd_arg(fileno)
            dfam, dkind, dproto = _probe(fd)
            family = dfam if family == -1 else family
            type = dkind if type == -1 else _int_arg(type, "type")
            proto = dproto if proto == -1 else _int_arg(proto, "proto")
            kind = type & ~_TYPE_FLAGS
            rc = _ffi.adopt_fd(fd, byref(out))
            if rc:
                raise error_for(rc)
        self._setup(out.value, family, kind, proto)
        if type & _SOCK_NONBLOCK:
            self.settimeout(0.0)
        else:
            default = _std.getdefaulttimeout()
            if default is not None:
                self.settimeout(default)

    def _setup(self, handle: int, family: int, kind: int, proto: int) -> None:
        self._h = handle
        self._hc = c_uint64(handle)
        self._family = (
            AF_INET6 if family == AF_INET6 else AF_UNIX if family == AF_UNIX else AF_INET
        )
        self._type = SOCK_DGRAM if kind == SOCK_DGRAM else SOCK_STREAM
        self._proto = proto
        self._timeout: Optional[float] = None
        self._timeout_ms = -1
        self._io_refs = 0
        self._closed = False
        if not _interruptible:
            _make_main_thread_interruptible()

    @classmethod
    def _from_handle(cls: Type[_S], handle: int, family: int, type: int, proto: int = 0) -> _S:
        sock = object.__new__(cls)
        sock._setup(handle, family, type, proto)
        return sock

    def _error(self, code: int) -> OSError:
        if not self._h:
            return closed_error()
        return error_for(code, self._timeout_ms == 0)

    def _raise_closed(self) -> Any:
        raise closed_error()

    def _again(self, code: int, t0: float, which: int, func: Any, *args: Any) -> int:
        """The slow path of a failed call `func(*args)` that returned `code`:
        after a signal (PEP 475) run the handlers, raise what one raised, else
        call again with the time left; any other failure raises."""
        while code == _E_INTERRUPTED:
            _check_signals()  # raises KeyboardInterrupt & co.
            if not self._h:
                raise closed_error()
            ms = self._timeout_ms
            if ms > 0 and which:
                left = ms - int((_monotonic() - t0) * 1000)
                if left <= 0:
                    raise Timeout(_E_TIMEOUT, "timed out")
                _set_option(self._h, which, left)
                try:
                    code = func(*args)
                finally:
                    if self._h:
                        _set_option(self._h, which, ms)
            else:
                code = func(*args)
        if code >= 0:
            return code
        raise self._error(code)

    def _again_all(
        self, code: int, t0: float, which: int, func: Any, buf: Any, size: int
    ) -> None:
        """_again for sockrt_send_all / sockrt_recv_exact on (buf, size),
        where buf is an address or bytes: an interrupted call may have
        moved some bytes already (the library says how many), so the call
        is made again for the rest only."""
        while code == _E_INTERRUPTED:
            done = last_progress(code)[0]
            _check_signals()  # raises KeyboardInterrupt & co.
            if not self._h:
                raise closed_error()
            if done >= size:
                return
            buf = buf[done:] if isinstance(buf, bytes) else buf + done
            size -= done
            ms = self._timeout_ms
            if ms > 0:
                left = ms - int((_monotonic() - t0) * 1000)
                if left <= 0:
                    raise Timeout(_E_TIMEOUT, "timed out")
                _set_option(self._h, which, left)
                try:
                    code = func(self._hc, buf, size)
                finally:
                    if self._h:
                        _set_option(self._h, which, ms)
            else:
                code = func(self._hc, buf, size)
        if code:
            raise self._error(code)

    # -- lifetime --

    def close(self) -> None:
        """Closes the socket (once no makefile() object is open); calls
        blocked on it in other threads wake up and raise. Idempotent."""
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def _real_close(self) -> None:
        h = self._h
        if h:
            self._forget_handle()
            _ffi.close(h)

    def _decref_socketios(self) -> None:
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed:
            self.close()

    def _forget_handle(self) -> None:
        self._h = 0
        self._hc = _NO_HANDLE

    def detach(self) -> int:
        """Ends the socket object without closing the descriptor, and
        returns it: it is now the caller's (e.g. for ssl or the standard
        module's socket(fileno=...)). -1 if already closed."""
        h = self._h
        if not h:
            return -1
        fd = c_int32(-1)
        rc = _ffi.detach(h, byref(fd))
        if rc:
            raise self._error(rc)
        self._forget_handle()
        self._closed = True
        return fd.value

    def dup(self) -> "socket":
        """A new socket object on a duplicate of the descriptor."""
        out = c_uint64()
        rc = _ffi.dup(self._h, byref(out))
        if rc:
            raise self._error(rc)
        sock = socket._from_handle(out.value, self._family, self._type, self._proto)
        sock.settimeout(self._timeout)
        return sock

    @property
    def closed(self) -> bool:
        """True once the socket is really closed."""
        return not self._h

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        # Collected without close(): warn and close, as the standard module
        # does. At interpreter exit nothing is closed: the process ends, and
        # daemon threads may still be inside the library.
        h = getattr(self, "_h", 0)
        if h and not sys.is_finalizing():
            warnings.warn(f"unclosed {self!r}", ResourceWarning, source=self, stacklevel=1)
            self._forget_handle()
            _ffi.close(h)

    def __getstate__(self) -> Any:
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    def __repr__(self) -> str:
        closed = not self._h
        text = (
            f"<sockrt.{type(self).__name__}{' [closed]' if closed else ''} "
            f"fd={self.fileno()}, family={self._family!s}, type={self._type!s}, "
            f"proto={self._proto}"
        )
        if not closed:
            with contextlib.suppress(OSError):
                text += f", laddr={self.getsockname()}"
            with contextlib.suppress(OSError):
                text += f", raddr={self.getpeername()}"
        return text + ">"

    @property
    def family(self) -> _std.AddressFamily:
        """AF_INET, AF_INET6 or AF_UNIX."""
        return self._family

    @property
    def type(self) -> _std.SocketKind:
        """SOCK_STREAM or SOCK_DGRAM."""
        return self._type

    @property
    def proto(self) -> int:
        """The protocol number given (0 unless one was)."""
        return self._proto

    @property
    def timeout(self) -> Optional[float]:
        """The timeout in seconds, None for blocking (as gettimeout())."""
        return self._timeout

    @property
    def handle(self) -> int:
        """The library handle (0 once closed)."""
        return self._h

    def fileno(self) -> int:
        """The descriptor, for select/poll/selectors (-1 once closed).

        It is borrowed: wait on it, then call recv/accept, but never read,
        write or close it directly (detach() hands it over for good)."""
        fd = _ffi.fileno(self._h)
        return fd if fd >= 0 else -1

    def get_inheritable(self) -> bool:
        return os.get_inheritable(self._fd())

    def set_inheritable(self, inheritable: bool) -> None:
        os.set_inheritable(self._fd(), inheritable)

    def _fd(self) -> int:
        fd = self.fileno()
        if fd < 0:
            raise closed_error()
        return fd

    def makefile(
        self,
        mode: str = "r",
        buffering: Optional[int] = None,
        *,
        encoding: Optional[str] = None,
        errors: Optional[str] = None,
        newline: Optional[str] = None,
    ) -> Any:
        """A file object over the socket, as socket.makefile() (see sockrt._file)."""
        return _makefile(
            self, mode, buffering, encoding=encoding, errors=errors, newline=newline
        )

    # -- the classic flow --

    def bind(self, address: Address) -> None:
        """Binds to (host, port); "" means every interface, port 0 a free port."""
        host, port = _address(address, self._family)
        rc = _ffi.bind(self._h, host, port)
        if rc:
            raise self._error(rc)

    def listen(self, backlog: Optional[int] = None) -> None:
        """Starts listening, or changes the backlog of a listening socket;
        backlog None uses the system default."""
        backlog = 0 if backlog is None else operator.index(backlog)
        backlog = max(0, min(backlog, _INT32_MAX))
        rc = _ffi.listen(self._h, backlog)
        if rc == C.SOCKRT_E_INVALID_STATE and self._is_listening():
            rc = _ffi.set_option(self._h, C.SOCKRT_OPT_BACKLOG, backlog)
        if rc:
            raise self._error(rc)

    def _is_listening(self) -> bool:
        raw = c_int(0)
        size = c_size_t(4)
        rc = _ffi.getsockopt(
            self._h, _std.SOL_SOCKET, _std.SO_ACCEPTCONN, byref(raw), byref(size)
        )
        return rc == 0 and raw.value != 0

    def accept(self) -> Tuple["socket", Address]:
        """Waits (up to the timeout) for a connection: (new socket, peer address).
        The new socket has the default timeout (setdefaulttimeout)."""
        t0 = _monotonic() if self._timeout_ms > 0 else 0.0
        out = c_uint64()
        rc = _ffi.accept(self._h, byref(out))
        if rc:
            self._again(rc, t0, _READ, _ffi.accept, self._hc, byref(out))
        conn = socket._from_handle(out.value, self._family, SOCK_STREAM, self._proto)
        default = _std.getdefaulttimeout()
        if default is not None:
            conn.settimeout(default)
        try:
            peer = conn.getpeername()
        except OSError:
            # Reset before we looked: the standard module would hand it out
            # anyway, so report the address as unknown rather than fail.
            if self._family is AF_UNIX:
                peer = ""
            else:
                peer = _address_out(
                    "::" if self._family == AF_INET6 else "0.0.0.0", 0, self._family
                )
        return conn, peer

    def connect(self, address: Address) -> None:
        """Connects within the socket's timeout. On a non-blocking socket
        (timeout 0) it raises BlockingIOError (EINPROGRESS) and the connection
        goes on: wait until fileno() is writable, then getsockopt(SO_ERROR)."""
        host, port = _address(address, self._family)
        ms = self._timeout_ms
        t0 = _monotonic() if ms > 0 else 0.0
        rc = _ffi.connect(self._h, host, port, ms)
        while rc == _E_INTERRUPTED:
            _check_signals()
            left = ms
            if ms > 0:
                left = ms - int((_monotonic() - t0) * 1000)
                if left <= 0:
                    raise Timeout(_E_TIMEOUT, "timed out")
            rc = _ffi.connect(self._h, host, port, left)
        if rc:
            raise self._error(rc)

    def connect_ex(self, address: Address) -> int:
        """connect() that returns an errno (0 on success; EINPROGRESS for a
        non-blocking connect under way) instead of raising."""
        try:
            self.connect(address)
        except _std.gaierror:
            raise
        except TimeoutError as exc:
            return exc.errno or _errno.EAGAIN
        except OSError as exc:
            if exc.errno is None:
                raise
            return exc.errno
        return 0

    def shutdown(self, how: int) -> None:
        """Shuts down SHUT_RD, SHUT_WR or SHUT_RDWR (the standard values)."""
        c_how = _SHUT_TO_C.get(_int_arg(how, "how"))
        if c_how is None:
            raise OSError(_errno.EINVAL, "Invalid argument")
        rc = _ffi.shutdown(self._h, c_how)
        if rc:
            raise self._error(rc)

    # -- data --

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        """Sends some of data; returns how many bytes went."""
        t0 = _monotonic() if self._timeout_ms > 0 else 0.0
        if flags:
            return self._call_buffer(t0, _WRITE, _send_flags, data, _c_flags(flags))
        if data.__class__ is bytes:
            n = _send(self._hc, data, len(data))
            if n >= 0:
                return n
            return self._again(n, t0, _WRITE, _send, self._hc, data, len(data))
        if data.__class__ is bytearray and data:
            pin = _from_buffer(data)  # held until the call returns
            size = len(data)
            n = _send(self._hc, addressof(pin), size)
            if n >= 0:
                return n
            return self._again(n, t0, _WRITE, _send, self._hc, addressof(pin), size)
        return self._call_buffer(t0, _WRITE, _send, data)

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        """Sends all of data (the timeout bounds the whole call)."""
        if flags:
            self._sendall_flags(data, _c_flags(flags))
            return
        t0 = _monotonic() if self._timeout_ms > 0 else 0.0
        cls = data.__class__
        if cls is bytes:
            rc = _send_all(self._hc, data, len(data))
            if rc:
                self._again_all(rc, t0, _WRITE, _send_all, data, len(data))
        elif (cls is bytearray or (cls is memoryview and not data.readonly)) and data:
            pin = _from_buffer(data)  # held until the call returns
            size = len(data) if cls is bytearray else data.nbytes
            rc = _send_all(self._hc, addressof(pin), size)
            if rc:
                self._again_all(rc, t0, _WRITE, _send_all, addressof(pin), size)
        else:
            borrowed = _BorrowedBuffer(data)  # TypeError if not bytes-like
            try:
                addr, size = borrowed.view.buf, borrowed.view.len
                rc = _send_all(self._hc, addr, size)
                if rc:
                    self._again_all(rc, t0, _WRITE, _send_all, addr or 0, size)
            finally:
                borrowed.release()

    def _call_buffer(self, t0: float, which: int, func: Any, data: Any, *extra: Any) -> int:
        """func(handle, address, length, *extra) on any bytes-like object,
        without a copy, holding its export across the call."""
        cls = data.__class__
        if cls is bytes:
            n = func(self._hc, data, len(data), *extra)
            if n < 0:
                n = self._again(n, t0, which, func, self._hc, data, len(data), *extra)
            return n
        if (cls is bytearray or (cls is memoryview and not data.readonly)) and data:
            pin = _from_buffer(data)  # held until the call returns
            args = (self._hc, addressof(pin), data.nbytes if cls is memoryview else len(data))
            n = func(*args, *extra)
            if n < 0:
                n = self._again(n, t0, which, func, *args, *extra)
            return n
        borrowed = _BorrowedBuffer(data)  # TypeError if not bytes-like
        try:
            args = (self._hc, borrowed.view.buf, borrowed.view.len) + extra
            n = func(*args)
            if n < 0:
                n = self._again(n, t0, which, func, *args)
            return n
        finally:
            borrowed.release()

    def _sendall_flags(self, data: Any, c_flags: int) -> None:
        borrowed = _BorrowedBuffer(data)
        try:
            base, total = borrowed.view.buf or 0, borrowed.view.len
            sent = 0
            ms = self._timeout_ms
            t0 = _monotonic()
            while sent < total:
                n = _send_flags(self._hc, base + sent, total - sent, c_flags)
                if n < 0:
                    n = self._again(n, t0, _WRITE, _send_flags, self._hc, base + sent,
                                    total - sent, c_flags)
                sent += n
                if sent < total and ms > 0 and (_monotonic() - t0) * 1000 >= ms:
                    raise Timeout(_E_TIMEOUT, "timed out")
        finally:
            borrowed.release()

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receives up to bufsize bytes; b"" means the peer closed the stream."""
        if bufsize.__class__ is not int:
            bufsize = operator.index(bufsize)
        if bufsize > _SCRATCH_DATA or flags:
            return self._recv_slow(bufsize, flags)
        if bufsize <= 0:
            if bufsize < 0:
                raise ValueError("negative buffersize in recv")
            # As the standard module: no call, so nothing blocks or is consumed.
            return b"" if self._h else self._raise_closed()
        try:
            scratch = _take_scratch()
        except IndexError:
            scratch = _Scratch()
        t0 = _monotonic() if self._timeout_ms > 0 else 0.0
        n = _recv(self._hc, scratch.addr_c, bufsize)
        if n < 0:
            try:
                n = self._again(n, t0, _READ, _recv, self._hc, scratch.addr_c, bufsize)
            except BaseException:
                _give_scratch(scratch)
                raise
        data = scratch.view[:n].tobytes()
        _give_scratch(scratch)
        return data

    def _recv_slow(self, bufsize: int, flags: int) -> bytes:
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        buf = bytearray(bufsize)
        n = self.recv_into(buf, bufsize, flags)
        return bytes(memoryview(buf)[:n])

    def recv_into(self, buffer: WritableBuffer, nbytes: int = 0, flags: int = 0) -> int:
        """Receives up to nbytes (0: the buffer's size) into buffer; returns
        how many arrived. No copy: the library writes into buffer itself."""
        t0 = _monotonic() if self._timeout_ms > 0 else 0.0
        if not nbytes and not flags:
            # The common cases, kept to one from_buffer and one C call; `pin`
            # keeps the buffer exported until the call returns.
            cls = buffer.__class__
            if cls is bytearray:
                size = len(buffer)
            elif cls is memoryview:
                size = buffer.nbytes
            else:
                size = 0
            if size:
                pin = _from_buffer(buffer)  # TypeError if read-only
                n = _recv(self._hc, addressof(pin), size)
                if n < 0:
                    n = self._again(n, t0, _READ, _recv, self._hc, addressof(pin), size)
                return n
        pin, addr, size = _writable(buffer, nbytes)
        if not size:
            return 0 if self._h else self._raise_closed()
        if flags:
            c_flags = _c_flags(flags)
            n = _recv_flags(self._hc, addr, size, c_flags)
            if n < 0:
                n = self._again(n, t0, _READ, _recv_flags, self._hc, addr, size, c_flags)
            return n
        n = _recv(self._hc, addr, size)
        if n < 0:
            n = self._again(n, t0, _READ, _recv, self._hc, addr, size)
        del pin
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
        pin, addr, size = _writable(buffer, nbytes, "recv_exact_into")
        t0 = _monotonic() if self._timeout_ms > 0 else 0.0
        rc = _recv_exact(self._hc, addr or None, size)
        if rc:
            self._again_all(rc, t0, _READ, _recv_exact, addr or 0, size)
        del pin
        return size

    def exchange(self, data: ReadableBuffer, into: WritableBuffer) -> None:
        """One request/response round trip in a single library call: sends
        all of data, then fills all of into (raises sockrt.Eof, an
        EOFError, if the peer closes first; the contents of into are then
        unspecified). The timeout bounds the send and the receive each.
        For fixed-size replies; data and into may be the same buffer."""
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
            size = memoryview(into).nbytes
        borrowed = None
        if size:
            pin: Any = _from_buffer(into)  # TypeError if read-only; held across the call
            reply: Optional[int] = addressof(pin)
        else:
            if memoryview(into).readonly:
                raise TypeError("underlying buffer is not writable")
            pin, reply = None, None
        try:
            if req is None:
                borrowed = _BorrowedBuffer(data)  # TypeError if not bytes-like
                args: Tuple[Any, ...] = (self._hc, borrowed.view.buf, borrowed.view.len)
            else:
                args = (self._hc, req, len(req))
            t0 = _monotonic() if self._timeout_ms > 0 else 0.0
            rc = _exchange(*args, reply, size)
            if rc == _E_INTERRUPTED:
                # Go on from where the call was: the rest of the request,
                # then the reply, or the rest of the reply.
                if last_progress(rc)[1] == "sent":
                    self._again_all(rc, t0, _WRITE, _send_all, args[1], args[2])
                    rc = _recv_exact(self._hc, reply, size)
                    if rc:
                        self._again_all(rc, t0, _READ, _recv_exact, reply or 0, size)
                else:
                    self._again_all(rc, t0, _READ, _recv_exact, reply or 0, size)
                rc = 0
            if rc:
                raise self._error(rc)
        finally:
            if borrowed is not None:
                borrowed.release()
        del pin

    def sendto(self, data: ReadableBuffer, flags_or_address: Any, address: Any = None) -> int:
        """Sends one datagram: sendto(data[, flags], address); returns its length."""
        if address is None:
            flags, address = 0, flags_or_address
        else:
            flags = flags_or_address
        host, port = _address(address, self._family)
        t0 = _monotonic() if self._timeout_ms > 0 else 0.0
        if flags:
            return self._call_buffer(
                t0, _WRITE, _send_to_flags, data, _c_flags(flags), host, port
            )
        if data.__class__ is bytes:
            n = _send_to(self._hc, data, len(data), host, port)
            if n < 0:
                n = self._again(n, t0, _WRITE, _send_to, self._hc, data, len(data), host, port)
            return n
        return self._call_buffer(t0, _WRITE, _send_to, data, host, port)

    def recvfrom(self, bufsize: int, flags: int = 0) -> Tuple[bytes, Address]:
        """Receives one datagram (truncated to bufsize): (data, address)."""
        bufsize = _size(bufsize, "buffersize in recvfrom")
        if bufsize > _SCRATCH_DATA or flags:
            buf = bytearray(bufsize)
            n, address = self.recvfrom_into(buf, bufsize, flags)
            return bytes(memoryview(buf)[:n]), address
        scratch = _get_scratch()
        try:
            t0 = _monotonic() if self._timeout_ms > 0 else 0.0
            args = (self._hc, scratch.addr, bufsize, scratch.host_addr, _HOST_CAP,
                    scratch.port_addr)
            n = _recv_from(*args)
            if n < 0:
                n = self._again(n, t0, _READ, _recv_from, *args)
            return scratch.view[:n].tobytes(), self._from_scratch(scratch)
        finally:
            _give_scratch(scratch)

    def _from_scratch(self, scratch: _Scratch) -> Any:
        family = self._family
        if family is AF_INET:
            return scratch.host(), scratch.port.value
        if family is AF_UNIX:
            # An unnamed sender: None, as the standard module's recvfrom.
            return _unix_out(scratch.raw_host()) or None
        return _address_out(scratch.host(), scratch.port.value, AF_INET6)

    def recvfrom_into(
        self, buffer: WritableBuffer, nbytes: int = 0, flags: int = 0
    ) -> Tuple[int, Address]:
        """recvfrom into buffer: (bytes received, address)."""
        pin, addr, size = _writable(buffer, nbytes, "recvfrom_into")
        scratch = _get_scratch()
        try:
            t0 = _monotonic() if self._timeout_ms > 0 else 0.0
            if flags:
                args: Tuple[Any, ...] = (self._hc, addr or None, size, _c_flags(flags),
                                         scratch.host_addr, _HOST_CAP, scratch.port_addr)
                func = _recv_from_flags
            else:
                args = (self._hc, addr or None, size, scratch.host_addr, _HOST_CAP,
                        scratch.port_addr)
                func = _recv_from
            n = func(*args)
            if n < 0:
                n = self._again(n, t0, _READ, func, *args)
            return n, self._from_scratch(scratch)
        finally:
            _give_scratch(scratch)
            del pin

    def sendmsg(
        self, buffers: Iterable[Any], ancdata: Iterable[Any] = (), flags: int = 0,
        address: Any = None,
    ) -> int:
        """Sends the buffers as one message (or what the socket takes of it
        at once) and returns the bytes sent. The one ancillary data item
        supported is (SOL_SOCKET, SCM_RIGHTS, descriptors as array("i")
        bytes) on a connected Unix socket: the peer receives duplicates of
        them (sockrt_send_fds); any other item is OSError EOPNOTSUPP."""
        items = list(ancdata)
        data = b"".join(memoryview(b).cast("B") if not isinstance(b, bytes) else b
                        for b in buffers)
        if items:
            return self._sendmsg_fds(data, _fds_of(items), flags, address)
        if address is not None:
            return self.sendto(data, flags, address)
        return self.send(data, flags)

    def _sendmsg_fds(self, data: bytes, fds: List[int], flags: int, address: Any) -> int:
        if self._family is not AF_UNIX:
            raise OSError(_errno.EOPNOTSUPP, "sockrt: SCM_RIGHTS on a Unix socket only")
        if address is not None or _int_arg(flags, "flags") & ~_IGNORED_FLAGS:
            raise OSError(
                _errno.EOPNOTSUPP, "sockrt: descriptors go without flags or an address"
            )
        c_fds = (c_int32 * max(len(fds), 1))(*fds)
        t0 = _monotonic() if self._timeout_ms > 0 else 0.0
        return self._call_buffer(t0, _WRITE, _ffi.send_fds, data, c_fds, len(fds))

    def recvmsg(self, bufsize: int, ancbufsize: int = 0, flags: int = 0) -> Tuple[Any, ...]:
        """(data, ancdata, msg_flags, address). On a Unix socket with room
        for ancillary data (ancbufsize, e.g. CMSG_LEN(n * 4)), descriptors
        the peer passed come as one (SOL_SOCKET, SCM_RIGHTS, bytes) item,
        close-on-exec; those that did not fit are closed and msg_flags has
        MSG_CTRUNC. Otherwise ancdata is [] and msg_flags 0."""
        ancbufsize = _size(ancbufsize, "ancbufsize")
        if ancbufsize and self._family is AF_UNIX:
            return self._recvmsg_fds(bufsize, ancbufsize, flags)
        if self._type == SOCK_DGRAM:
            data, address = self.recvfrom(bufsize, flags)
        else:
            data, address = self.recv(bufsize, flags), None
            if self._family is AF_UNIX:
                address = self._stream_sender()
        return data, [], 0, address

    def _stream_sender(self) -> Any:
        # The standard module's recvmsg on a Unix stream reports the
        # sending socket's name (the peer's), None when it has none.
        try:
            return self.getpeername() or None
        except OSError:
            return None

    def _recvmsg_fds(self, bufsize: int, ancbufsize: int, flags: int) -> Tuple[Any, ...]:
        bufsize = _size(bufsize, "buffersize in recvmsg")
        if _int_arg(flags, "flags") & ~_RECVMSG_IGNORED_FLAGS:
            raise OSError(_errno.EOPNOTSUPP, "sockrt: flags with descriptors are not supported")
        cap = max(0, (ancbufsize - _CMSG_HEADER) // _FD_SIZE)
        fds = (c_int32 * max(cap, 1))()
        nfds = c_size_t(0)
        buf = bytearray(bufsize)
        pin, addr, size = _writable(buf, 0, "recvmsg")
        t0 = _monotonic() if self._timeout_ms > 0 else 0.0
        args = (self._hc, addr or None, size, fds, cap, byref(nfds))
        n = _ffi.recv_fds(*args)
        if n < 0:
            n = self._again(n, t0, _READ, _ffi.recv_fds, *args)
        del pin
        got = min(nfds.value, cap)
        ancdata = []
        if got:
            ancdata.append((_std.SOL_SOCKET, _std.SCM_RIGHTS, _array("i", fds[:got]).tobytes()))
        msg_flags = _std.MSG_CTRUNC if nfds.value > cap else 0
        address = None if self._type == SOCK_DGRAM else self._stream_sender()
        return bytes(memoryview(buf)[:n]), ancdata, msg_flags, address

    def recvmsg_into(
        self, buffers: Iterable[Any], ancbufsize: int = 0, flags: int = 0
    ) -> Tuple[Any, ...]:
        """recvmsg into the buffers in turn: (nbytes, ancdata, msg_flags, address)."""
        _size(ancbufsize, "ancbufsize")
        views = [memoryview(b).cast("B") for b in buffers]
        total = sum(len(v) for v in views)
        data, ancdata, msg_flags, address = self.recvmsg(total, ancbufsize, flags)
        pos = 0
        for v in views:
            part = data[pos:pos + len(v)]
            v[: len(part)] = part
            pos += len(part)
            if pos >= len(data):
                break
        return len(data), ancdata, msg_flags, address

    def sendfile(self, file: Any, offset: int = 0, count: Optional[int] = None) -> int:
        """Sends a binary file's contents (from offset, count bytes or to the
        end) with sendall; returns the bytes sent and leaves the file's
        position after the last byte sent, as socket.sendfile()."""
        if "b" not in getattr(file, "mode", "b"):
            raise ValueError("file should be opened in binary mode")
        if self._type != SOCK_STREAM:
            raise ValueError("only SOCK_STREAM type sockets are supported")
        if self._timeout == 0.0:
            raise ValueError("non-blocking sockets are not supported")
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be a non-negative integer (got {offset!r})")
        if count is not None:
            if not isinstance(count, int):
                raise TypeError(f"count must be a positive integer (got {count!r})")
            if count <= 0:
                raise ValueError(f"count must be a positive integer (got {count!r})")
        if offset:
            file.seek(offset)
        chunk = bytearray(min(count, 65536) if count else 65536)
        view = memoryview(chunk)
        sent = 0
        try:
            while count is None or sent < count:
                want = len(chunk) if count is None else min(len(chunk), count - sent)
                got = file.readinto(view[:want])
                if not got:
                    break
                self.sendall(view[:got])
                sent += got
            return sent
        finally:
            view.release()
            if sent > 0 and hasattr(file, "seek"):
                file.seek(offset + sent)

    # -- addresses --

    def getsockname(self) -> Address:
        """The local address."""
        return self._addr(_ffi.local_addr)

    def getpeername(self) -> Address:
        """The peer's address; OSError ENOTCONN if not connected."""
        return self._addr(_ffi.peer_addr)

    def _addr(self, func: Any) -> Address:
        scratch = _get_scratch()
        try:
            port = c_uint16()
            rc = func(self._h, scratch.host_addr, _HOST_CAP, byref(port))
            if rc:
                raise self._error(rc)
            if self._family is AF_UNIX:
                return _unix_out(scratch.raw_host())
            return _address_out(scratch.host(), port.value, self._family)
        finally:
            _give_scratch(scratch)

    # -- timeouts and options --

    def settimeout(self, value: Optional[float]) -> None:
        """None: block forever; 0: never wait (BlockingIOError); seconds > 0:
        each call waits at most that long (TimeoutError), rounded up to ms."""
        ms = _timeout_ms(value)
        if ms != self._timeout_ms:
            self.set_option(_READ, ms)
            self.set_option(_WRITE, ms)
        elif not self._h:
            self._raise_closed()
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

    def setsockopt(self, level: int, optname: int, value: Any, optlen: Any = None) -> None:
        """The standard call: an int (or bool) value, a bytes-like value
        (the raw option), or (None, optlen). TCP_NODELAY, SO_KEEPALIVE,
        SO_REUSEADDR, SO_REUSEPORT and SO_BROADCAST go through the library's
        options; SO_RCVTIMEO/SO_SNDTIMEO are refused (use settimeout)."""
        level = _int_arg(level, "level")
        optname = _int_arg(optname, "optname")
        key = (level, optname)
        if key in _REFUSED_OPTIONS:
            raise OSError(_errno.ENOPROTOOPT, "sockrt owns the timeouts: use settimeout()")
        if optlen is not None:
            if value is not None:
                raise TypeError("setsockopt() takes 3 arguments, or 4 with None as the value")
            rc = _ffi.setsockopt(self._h, level, optname, None, _size(optlen, "optlen"))
        elif isinstance(value, int):
            option = _SET_OPTIONS.get(key)
            if option is not None:
                self.set_option(option, int(value))
                return
            raw = c_int(value)
            rc = _ffi.setsockopt(self._h, level, optname, byref(raw), 4)
        else:
            borrowed = _BorrowedBuffer(value)  # TypeError if not bytes-like
            try:
                rc = _ffi.setsockopt(
                    self._h, level, optname, borrowed.view.buf, borrowed.view.len
                )
            finally:
                borrowed.release()
        if rc:
            raise self._error(rc)

    def getsockopt(self, level: int, optname: int, buflen: Optional[int] = None) -> Any:
        """The standard call: an int, or with buflen the raw bytes (at most
        buflen of them). SO_ERROR goes through the library (it finishes a
        non-blocking connect); so does SO_PEERCRED on a connected Unix
        socket (struct ucred: pid, uid, gid, as ``struct.calcsize('3i')``
        bytes)."""
        level = _int_arg(level, "level")
        optname = _int_arg(optname, "optname")
        if optname == _SO_PEERCRED and level == _std.SOL_SOCKET and self._family is AF_UNIX:
            raw = self._peer_cred()
            if raw is not None:
                if buflen is None:
                    return struct.unpack_from("i", raw)[0]
                buflen = _int_arg(buflen, "buflen")
                if not 0 < buflen <= 1024:
                    raise OSError(_errno.EINVAL, "getsockopt buflen out of range")
                return raw[:buflen]
        if buflen is None:
            option = _GET_OPTIONS.get((level, optname))
            if option is not None:
                return self.get_option(option)
            raw = c_int(0)
            size = c_size_t(4)
            rc = _ffi.getsockopt(self._h, level, optname, byref(raw), byref(size))
            if rc:
                raise self._error(rc)
            return raw.value
        buflen = _int_arg(buflen, "buflen")
        if not 0 < buflen <= 1024:
            raise OSError(_errno.EINVAL, "getsockopt buflen out of range")
        buf = create_string_buffer(buflen)
        size = c_size_t(buflen)
        rc = _ffi.getsockopt(self._h, level, optname, buf, byref(size))
        if rc:
            raise self._error(rc)
        return buf.raw[: size.value]

    def _peer_cred(self) -> Optional[bytes]:
        """The peer's struct ucred from sockrt_peer_cred, or None where the
        library has none (not connected, a listener: the kernel's own answer
        is then read as the standard module does)."""
        pid, uid, gid = c_int32(), c_uint32(), c_uint32()
        rc = _ffi.peer_cred(self._h, byref(pid), byref(uid), byref(gid))
        if rc in (C.SOCKRT_E_NOT_CONNECTED, C.SOCKRT_E_INVALID_STATE) and self._h:
            return None
        if rc:
            raise self._error(rc)
        return _UCRED.pack(pid.value, uid.value, gid.value)

    def set_nodelay(self, on: bool = True) -> None:
        """TCP_NODELAY on or off (stream sockets)."""
        self.set_option(C.SOCKRT_OPT_NODELAY, 1 if on else 0)

    def set_keepalive(self, on: bool = True) -> None:
        """SO_KEEPALIVE on or off."""
        self.set_option(C.SOCKRT_OPT_KEEPALIVE, 1 if on else 0)

    def set_busy_poll(self, microseconds: int) -> None:
        """Latency mode: spin up to this long before a receive blocks (0: off)."""
        self.set_option(C.SOCKRT_OPT_BUSY_POLL_US, _size(microseconds, "busy poll time"))


Socket = socket
SocketType = socket

_SO_PEERCRED = getattr(_std, "SO_PEERCRED", -1)
_UCRED = struct.Struct("iII")  # struct ucred: pid_t, uid_t, gid_t
_FD_SIZE = 4
_CMSG_HEADER = _std.CMSG_LEN(0)


def _fds_of(ancdata: List[Any]) -> List[int]:
    """The descriptors of sendmsg's (SOL_SOCKET, SCM_RIGHTS, data) items."""
    fds: List[int] = []
    for item in ancdata:
        level, kind, payload = item
        if (level, kind) != (_std.SOL_SOCKET, _std.SCM_RIGHTS):
            raise OSError(
                _errno.EOPNOTSUPP, "sockrt: the only ancillary data sent is SCM_RIGHTS"
            )
        raw = memoryview(payload).cast("B").tobytes()
        whole = len(raw) - len(raw) % _FD_SIZE
        fds.extend(_array("i", raw[:whole]))
    return fds


def _int_arg(value: Any, what: str) -> int:
    if isinstance(value, int):
        return value
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None


def _fd_arg(fileno: Any) -> int:
    if isinstance(fileno, float):
        raise TypeError("'float' object cannot be interpreted as an integer")
    fd = _int_arg(fileno, "fileno")
    if fd < 0:
        raise ValueError("negative file descriptor")
    return fd


def _probe(fileno: Any) -> Tuple[int, int, int]:
    """(family, type, proto) of an open socket descriptor, as the standard
    module detects them; OSError if it is not a socket."""
    probe = _StdSocket(fileno=_fd_arg(fileno))
    try:
        return probe.family, probe.type, probe.proto
    finally:
        probe.detach()


def _close_handle(handle: int) -> None:
    _ffi.close(handle)


def _finalizer_for(owner: object, handle: int) -> weakref.finalize:
    fin = weakref.finalize(owner, _close_handle, handle)
    # At interpreter exit the process ends anyway; closing then could race
    # daemon threads still inside the library, so leave it to the OS.
    fin.atexit = False
    return fin


# --- module functions ---------------------------------------------------------------

_GLOBAL_DEFAULT_TIMEOUT = _std._GLOBAL_DEFAULT_TIMEOUT  # type: ignore[attr-defined]
getdefaulttimeout = _std.getdefaulttimeout
setdefaulttimeout = _std.setdefaulttimeout


def create_connection(
    address: Tuple[Any, int],
    timeout: Any = _GLOBAL_DEFAULT_TIMEOUT,
    source_address: Optional[Tuple[Any, int]] = None,
    *,
    all_errors: bool = False,
) -> socket:
    """Connects a TCP socket to (host, port), as socket.create_connection:
    each address getaddrinfo gives is tried in turn within `timeout` (the
    default: getdefaulttimeout()), which then stays the socket's timeout;
    source_address=(host, port) binds first. The last error is raised, or
    with all_errors=True an ExceptionGroup of all of them."""
    host, port = address
    errors: List[BaseException] = []
    for family, kind, proto, _canon, sockaddr in _std.getaddrinfo(host, port, 0, SOCK_STREAM):
        sock = None
        try:
            sock = socket(family, kind, proto)
            if timeout is not _GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            errors.clear()
            return sock
        except OSError as exc:
            if not all_errors:
                errors.clear()
            errors.append(exc)
            if sock is not None:
                sock.close()
    if errors:
        try:
            if not all_errors:
                raise errors[0]
            raise _ExceptionGroup("create_connection failed", errors)
        finally:
            errors = []
    raise OSError("getaddrinfo returns an empty list")


def _ExceptionGroup(message: str, errors: List[BaseException]) -> BaseException:
    group = getattr(builtins, "ExceptionGroup", None)
    if group is None:  # before Python 3.11: the last error
        return errors[-1]
    return group(message, errors)


def has_dualstack_ipv6() -> bool:
    """As socket.has_dualstack_ipv6(): IPv6 sockets can also take IPv4."""
    return _std.has_dualstack_ipv6()


def create_server(
    address: Tuple[Any, int],
    *,
    family: int = AF_INET,
    backlog: Optional[int] = None,
    reuse_port: bool = False,
    dualstack_ipv6: bool = False,
) -> socket:
    """A listening TCP socket, as socket.create_server: SO_REUSEADDR on
    (POSIX), SO_REUSEPORT with reuse_port, and an IPv6 socket that also
    takes IPv4 with dualstack_ipv6 (family must be AF_INET6). With
    family=AF_UNIX the address is a path (or abstract name), as in the
    standard module."""
    if reuse_port and not hasattr(_std, "SO_REUSEPORT"):
        raise ValueError("SO_REUSEPORT not supported on this platform")
    if dualstack_ipv6:
        if not has_dualstack_ipv6():
            raise ValueError("dualstack_ipv6 not supported on this platform")
        if family != AF_INET6:
            raise ValueError("dualstack_ipv6 requires AF_INET6 family")
    sock = socket(family, SOCK_STREAM)
    try:
        if family == AF_UNIX:
            # The standard module tries SO_REUSEADDR and ignores a failure.
            with contextlib.suppress(OSError):
                sock.set_option(C.SOCKRT_OPT_REUSEADDR, 1)
        else:
            sock.set_option(C.SOCKRT_OPT_REUSEADDR, 1)
        if reuse_port:
            sock.set_option(C.SOCKRT_OPT_REUSEPORT, 1)
        if family == AF_INET6 and _std.has_ipv6:
            sock.setsockopt(_std.IPPROTO_IPV6, _std.IPV6_V6ONLY, 0 if dualstack_ipv6 else 1)
        try:
            sock.bind(address)
        except OSError as exc:
            raise OSError(
                exc.errno, f"{exc.strerror} (while attempting to bind on address {address!r})"
            ) from None
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def socketpair(
    family: Any = None, type: int = SOCK_STREAM, proto: int = 0
) -> Tuple[Any, Any]:
    """Two connected sockets, as socket.socketpair(): AF_UNIX by default,
    stream or datagram (sockrt_socketpair; unnamed, close-on-exec). AF_INET
    and AF_INET6 give a stream pair over loopback TCP (the standard module's
    fallback where AF_UNIX is missing). Other Unix types (SOCK_SEQPACKET)
    or a protocol number get the standard module's pair, as the
    constructor does for what the library lacks."""
    if family is None:
        family = AF_UNIX
    if family == AF_UNIX:
        flags = _int_arg(type, "type")
        kind = flags & ~_TYPE_FLAGS
        c_kind = _TYPE_TO_C.get(kind)
        if c_kind is None or proto != 0:
            return _std.socketpair(family, type, proto)
        out = (c_uint64 * 2)()
        rc = _ffi.socketpair(c_kind, out)
        if rc:
            raise error_for(rc)
        pair = tuple(socket._from_handle(h, AF_UNIX, kind, proto) for h in out)
        default = 0.0 if flags & _SOCK_NONBLOCK else _std.getdefaulttimeout()
        if default is not None:
            for s in pair:
                s.settimeout(default)
        return pair
    if family not in (AF_INET, AF_INET6):
        raise ValueError("Only AF_INET and AF_INET6 socket address families are supported")
    if type != SOCK_STREAM:
        raise ValueError("Only SOCK_STREAM socket type is supported")
    if proto != 0:
        raise ValueError("Only protocol zero is supported")
    host = "::1" if family == AF_INET6 else "127.0.0.1"
    listener = socket(family, SOCK_STREAM)
    try:
        listener.bind((host, 0))
        listener.listen()
        addr = listener.getsockname()
        a = socket(family, SOCK_STREAM)
        try:
            a.connect(addr[:2])
            b, _ = listener.accept()
            # Only our own connection: the peer must be the socket we made.
            if b.getpeername()[:2] != a.getsockname()[:2]:
                b.close()
                raise ConnectionError("socketpair: unexpected peer")
        except BaseException:
            a.close()
            raise
    finally:
        listener.close()
    return a, b


def send_fds(
    sock: Any, buffers: Iterable[Any], fds: Iterable[int], flags: int = 0, address: Any = None
) -> int:
    """socket.send_fds: sends the buffers with the descriptors attached
    (SCM_RIGHTS) through sock.sendmsg; returns the bytes sent."""
    return sock.sendmsg(
        buffers, [(_std.SOL_SOCKET, _std.SCM_RIGHTS, _array("i", fds))], flags, address
    )


def recv_fds(sock: Any, bufsize: int, maxfds: int, flags: int = 0) -> Tuple[Any, ...]:
    """socket.recv_fds: (data, list of descriptors, msg_flags, address),
    receiving up to maxfds descriptors through sock.recvmsg."""
    fds = _array("i")
    data, ancdata, msg_flags, address = sock.recvmsg(
        bufsize, _std.CMSG_LEN(maxfds * fds.itemsize), flags
    )
    for level, kind, payload in ancdata:
        if level == _std.SOL_SOCKET and kind == _std.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    return data, list(fds), msg_flags, address


def fromfd(fd: int, family: int, type: int, proto: int = 0) -> socket:
    """A socket on a duplicate of descriptor fd (the caller keeps fd)."""
    return socket(family, type, proto, os.dup(_fd_arg(fd)))


def poll(
    entries: Iterable[Tuple[socket, int]], timeout: Optional[float] = None
) -> List[Tuple[socket, int]]:
    """Waits until some of the (socket, POLL_IN|POLL_OUT) entries are ready,
    or `timeout` seconds pass (None: no limit). Returns the ready ones as
    (socket, events) with POLL_IN/OUT/ERR/HUP/CLOSED bits; [] on timeout.
    Closing one of the sockets in another thread ends the wait."""
    entries = list(entries)
    n = len(entries)
    handles = (c_uint64 * max(n, 1))()
    events = (c_uint32 * max(n, 1))()
    for i, (sock, wanted) in enumerate(entries):
        if not isinstance(sock, socket):
            raise TypeError(f"poll entries must be (Socket, events), not {type(sock).__name__}")
        if sock.closed:
            raise closed_error()
        handles[i] = sock._h
        events[i] = _int_arg(wanted, "events")
    ms = _timeout_ms(timeout)
    t0 = _monotonic()
    while True:
        rc = _ffi.poll(handles, events, n, ms)
        if rc != _E_INTERRUPTED:
            break
        _check_signals()
        if ms > 0:
            ms = max(0, ms - int((_monotonic() - t0) * 1000))
            t0 = _monotonic()
    if rc < 0:
        raise error_for(rc)
    return [(entries[i][0], events[i]) for i in range(n) if events[i]]
