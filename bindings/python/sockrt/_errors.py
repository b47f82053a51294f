"""Status codes to exceptions, in one table.

Every exception is a :class:`sockrt.Error`, itself an :class:`OSError`, and
where Python has a matching built-in the class derives from it too, so
``except TimeoutError:`` or ``except ConnectionRefusedError:`` work exactly
as with the standard ``socket`` module.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import socket as _stdsocket
from typing import Optional

from . import _constants as C
from . import _ffi


class Error(OSError):
    """A libsockrt failure.

    Attributes: ``code`` (the negative SOCKRT_E_* status), ``name`` (its C
    name, e.g. ``"SOCKRT_E_TIMEOUT"``), ``message`` (the library's message
    naming the operation and the cause), ``errno`` (the OS errno when the OS
    gave one, else the closest errno for the code, or None) and ``strerror``
    (the message again, as OSError shows it).
    """

    code: int
    name: str
    message: str

    def __init__(self, code: int, message: str, os_errno: Optional[int] = None) -> None:
        if os_errno:
            super().__init__(os_errno, message)
        else:
            super().__init__(message)
        self.code = code
        self.name = _error_name(code)
        self.message = message

    def __reduce__(self):  # type: ignore[override]
        return (type(self), (self.code, self.message, self.errno))


class InvalidArgument(Error):
    """SOCKRT_E_INVALID_ARGUMENT: the library refused an argument."""


class BadHandle(Error):
    """SOCKRT_E_BAD_HANDLE: the object was closed (errno EBADF)."""


class WrongKind(Error):
    """SOCKRT_E_WRONG_KIND: the call does not apply to this kind of socket."""


class InvalidState(Error):
    """SOCKRT_E_INVALID_STATE: e.g. accept on a socket that is not listening."""


class NotConnected(Error):
    """SOCKRT_E_NOT_CONNECTED (errno ENOTCONN)."""


# socket.timeout is TimeoutError from Python 3.10; before, a class of its own.
_TIMEOUT_BASES = (
    (Error, TimeoutError)
    if _stdsocket.timeout is TimeoutError
    else (Error, _stdsocket.timeout, TimeoutError)
)


class Timeout(*_TIMEOUT_BASES):  # type: ignore[misc]
    """SOCKRT_E_TIMEOUT: also a TimeoutError (``socket.timeout``)."""


class WouldBlock(Error, BlockingIOError):
    """A non-blocking call (timeout 0, or MSG_DONTWAIT) had nothing to do at
    once: a BlockingIOError with errno EAGAIN, as the standard module raises,
    and not a TimeoutError (``except socket.timeout`` does not catch it)."""


class InProgress(Error, BlockingIOError):
    """SOCKRT_E_IN_PROGRESS: a non-blocking connect is under way (errno
    EINPROGRESS); wait until the socket is writable, then read SO_ERROR."""


class Interrupted(Error, InterruptedError):
    """SOCKRT_E_INTERRUPTED: a signal interrupted the call. The binding
    handles it (PEP 475) and never raises it from socket calls."""


class Closed(Error):
    """SOCKRT_E_CLOSED: another thread closed the socket during the call (errno EBADF)."""


class Eof(Error, EOFError):
    """SOCKRT_E_EOF: the peer closed before recv_exact got its bytes.

    Also an EOFError: the stream ended early, nothing was reset.
    """


class ConnectionRefused(Error, ConnectionRefusedError):
    """SOCKRT_E_CONNECTION_REFUSED: nothing listens at the address."""


class ConnectionReset(Error, ConnectionResetError):
    """SOCKRT_E_CONNECTION_RESET: the peer reset the connection."""


class BrokenPipe(ConnectionReset, BrokenPipeError):
    """SOCKRT_E_CONNECTION_RESET with errno EPIPE: the peer is gone."""


class AddressInUse(Error):
    """SOCKRT_E_ADDRESS_IN_USE (errno EADDRINUSE)."""


class AddressNotAvailable(Error):
    """SOCKRT_E_ADDRESS_NOT_AVAILABLE (errno EADDRNOTAVAIL)."""


class ResolveError(Error, _stdsocket.gaierror):
    """SOCKRT_E_RESOLVE: also a ``socket.gaierror``."""


class Unreachable(Error):
    """SOCKRT_E_UNREACHABLE: network or host unreachable."""


class NoSuchPath(ConnectionRefused, FileNotFoundError):
    """SOCKRT_E_CONNECTION_REFUSED with errno ENOENT: no socket file at a
    Unix path. Also a FileNotFoundError, as the standard module raises."""


class NoSuchDirectory(AddressNotAvailable, FileNotFoundError):
    """SOCKRT_E_ADDRESS_NOT_AVAILABLE with errno ENOENT: a Unix path's
    directory does not exist (bind). Also a FileNotFoundError."""


class PoolExhausted(Error, TimeoutError):
    """SOCKRT_E_POOL_EXHAUSTED: no connection freed up within the acquire timeout.

    Also a TimeoutError, since that is what it is.
    """


class PoolClosed(Error):
    """SOCKRT_E_POOL_CLOSED: the pool was closed."""


class LimitError(Error):
    """SOCKRT_E_LIMIT: out of handles, descriptors or memory."""


class InternalError(Error):
    """SOCKRT_E_PANIC: a bug inside the library (please report it)."""


class IOFailure(Error):
    """SOCKRT_E_IO: any other OS error; see ``errno``."""


class PermissionDenied(IOFailure, PermissionError):
    """SOCKRT_E_IO with errno EACCES or EPERM (e.g. a Unix socket file or
    directory without permission): also a PermissionError."""


# (class, OS errno) -> the class that also is the standard module's built-in.
_REFINED: dict[tuple[type[Error], int], type[Error]] = {
    (ConnectionRefused, _errno.ENOENT): NoSuchPath,
    (AddressNotAvailable, _errno.ENOENT): NoSuchDirectory,
    (IOFailure, _errno.EACCES): PermissionDenied,
    (IOFailure, _errno.EPERM): PermissionDenied,
}


# code -> (class, errno to report when the OS gave none)
ERRORS: dict[int, tuple[type[Error], Optional[int]]] = {
    C.SOCKRT_E_INVALID_ARGUMENT: (InvalidArgument, _errno.EINVAL),
    C.SOCKRT_E_BAD_HANDLE: (BadHandle, _errno.EBADF),
    C.SOCKRT_E_WRONG_KIND: (WrongKind, _errno.EOPNOTSUPP),
    C.SOCKRT_E_INVALID_STATE: (InvalidState, _errno.EINVAL),
    C.SOCKRT_E_NOT_CONNECTED: (NotConnected, _errno.ENOTCONN),
    C.SOCKRT_E_TIMEOUT: (Timeout, None),
    C.SOCKRT_E_CLOSED: (Closed, _errno.EBADF),
    C.SOCKRT_E_EOF: (Eof, None),
    C.SOCKRT_E_CONNECTION_REFUSED: (ConnectionRefused, _errno.ECONNREFUSED),
    C.SOCKRT_E_CONNECTION_RESET: (ConnectionReset, _errno.ECONNRESET),
    C.SOCKRT_E_ADDRESS_IN_USE: (AddressInUse, _errno.EADDRINUSE),
    C.SOCKRT_E_ADDRESS_NOT_AVAILABLE: (AddressNotAvailable, _errno.EADDRNOTAVAIL),
    C.SOCKRT_E_RESOLVE: (ResolveError, None),
    C.SOCKRT_E_UNREACHABLE: (Unreachable, _errno.ENETUNREACH),
    C.SOCKRT_E_POOL_EXHAUSTED: (PoolExhausted, None),
    C.SOCKRT_E_POOL_CLOSED: (PoolClosed, None),
    C.SOCKRT_E_LIMIT: (LimitError, None),
    C.SOCKRT_E_PANIC: (InternalError, None),
    C.SOCKRT_E_IO: (IOFailure, None),
    C.SOCKRT_E_INTERRUPTED: (Interrupted, _errno.EINTR),
    C.SOCKRT_E_WOULD_BLOCK: (WouldBlock, _errno.EAGAIN),
    C.SOCKRT_E_IN_PROGRESS: (InProgress, _errno.EINPROGRESS),
}


def _error_name(code: int) -> str:
    raw = _ffi.error_name(code)
    return raw.decode("ascii", "replace") if raw else "SOCKRT_E_UNKNOWN"


def _last_message(code: int) -> str:
    """This thread's last error message, if it belongs to `code`."""
    if _ffi.last_error() != code:
        raw = _ffi.strerror(code)
        return raw.decode("utf-8", "replace") if raw else f"error {code}"
    size = _ffi.last_error_message(None, 0) + 1
    buf = ctypes.create_string_buffer(size)
    _ffi.last_error_message(buf, size)
    return buf.value.decode("utf-8", "replace")


def last_progress(code: int) -> tuple[int, str]:
    """(bytes moved, "sent" or "received") of this thread's last failed
    send_all/recv_exact/exchange: the count from the library
    (sockrt_last_error_transferred), the phase from its message."""
    phase = "sent" if "bytes sent)" in _last_message(code) else "received"
    return int(_ffi.last_error_transferred()), phase


def error_for(code: int, nonblocking: bool = False) -> Error:
    """The exception for a failed call's `code`; call it at once, on the
    thread that made the call, since the library keeps the details per thread.
    `nonblocking` turns a timeout into WouldBlock (socket timeout 0)."""
    cls, default_errno = ERRORS.get(code, (Error, None))
    message = _last_message(code)
    os_errno = _ffi.last_os_error() if _ffi.last_error() == code else 0
    if cls is ConnectionReset and os_errno == _errno.EPIPE:
        cls = BrokenPipe
    elif cls is Timeout and nonblocking:
        cls = WouldBlock
        os_errno = _errno.EAGAIN
    elif cls is Timeout:
        # As the standard module: errno None, so that code testing errno
        # for EAGAIN never mistakes a timeout for a non-blocking miss.
        return cls(code, message)
    elif os_errno:
        cls = _REFINED.get((cls, os_errno), cls)
    return cls(code, message, os_errno or default_errno)


def closed_error() -> OSError:
    """What the standard module raises for an operation on a closed socket."""
    return BadHandle(C.SOCKRT_E_BAD_HANDLE, "Bad file descriptor", _errno.EBADF)
