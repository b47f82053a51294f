"""sockrt: libsockrt's blocking TCP/UDP sockets and connection pool, with the
standard ``socket`` module's names, so that socket code runs on it unchanged:

    import sockrt as socket
    with socket.create_connection(("127.0.0.1", 7000), timeout=5) as s:
        s.sendall(b"ping")
        reply = s.recv(4)

Every name of the standard module is here: ``socket`` (alias ``Socket``) and
the connection helpers are sockrt's own; the constants (same values), the
exception classes (``error``, ``timeout``, ``gaierror``, ``herror``) and the
helpers that involve no socket object (``getaddrinfo``, ``inet_pton``, ...)
are the standard module's own objects. ``sockrt.patch()`` puts sockrt in
place of the standard module for the whole process.

Library options (``socket.set_option``) are ``OPT_*``; readiness bits for
``poll`` are ``POLL_*``; status codes are ``E_*`` (``Error.code``).
"""

import socket as _std

from . import _constants as _C
from ._errors import (
    AddressInUse,
    AddressNotAvailable,
    BadHandle,
    BrokenPipe,
    Closed,
    ConnectionRefused,
    ConnectionReset,
    Eof,
    Error,
    InProgress,
    InternalError,
    Interrupted,
    InvalidArgument,
    InvalidState,
    IOFailure,
    LimitError,
    NotConnected,
    PoolClosed,
    PoolExhausted,
    ResolveError,
    Timeout,
    Unreachable,
    WouldBlock,
    WrongKind,
)
from ._ffi import lib_path as library_path
from ._ffi import library_version
from ._ffi import open_handles as _open_handles
from ._patch import is_patched, patch, patched, unpatch
from ._pool import Pool, PooledConnection, PoolStats
from ._socket import (
    _GLOBAL_DEFAULT_TIMEOUT,
    AF_INET,
    AF_INET6,
    AF_UNIX,
    SHUT_RD,
    SHUT_RDWR,
    SHUT_WR,
    SOCK_DGRAM,
    SOCK_STREAM,
    Address,
    Socket,
    SocketType,
    create_connection,
    create_server,
    fromfd,
    getdefaulttimeout,
    has_dualstack_ipv6,
    poll,
    recv_fds,
    send_fds,
    setdefaulttimeout,
    socket,
    socketpair,
)

# The rest of the standard module's public names, taken from it (not
# copied), so the values are the platform's: constants, enums, exception
# classes and the helpers that work on names, numbers and descriptors.
_OURS = set(globals())
STANDARD_NAMES = tuple(
    name
    for name in list(getattr(_std, "__all__", ()))
    + ["AddressInfo", "MsgFlag"]
    + [n for n in dir(_std) if n.isupper() and isinstance(getattr(_std, n), int)]
    if hasattr(_std, name)
)
for _name in STANDARD_NAMES:
    if _name not in _OURS:
        globals()[_name] = getattr(_std, _name)
del _name
error = _std.error
timeout = _std.timeout
gaierror = _std.gaierror
herror = _std.herror

__version__: str = library_version()

OPT_READ_TIMEOUT_MS: int = _C.SOCKRT_OPT_READ_TIMEOUT_MS
OPT_WRITE_TIMEOUT_MS: int = _C.SOCKRT_OPT_WRITE_TIMEOUT_MS
OPT_NODELAY: int = _C.SOCKRT_OPT_NODELAY
OPT_KEEPALIVE: int = _C.SOCKRT_OPT_KEEPALIVE
OPT_REUSEADDR: int = _C.SOCKRT_OPT_REUSEADDR
OPT_RECV_BUFFER: int = _C.SOCKRT_OPT_RECV_BUFFER
OPT_SEND_BUFFER: int = _C.SOCKRT_OPT_SEND_BUFFER
OPT_BROADCAST: int = _C.SOCKRT_OPT_BROADCAST
OPT_BUSY_POLL_US: int = _C.SOCKRT_OPT_BUSY_POLL_US
OPT_LINGER: int = _C.SOCKRT_OPT_LINGER
OPT_REUSEPORT: int = _C.SOCKRT_OPT_REUSEPORT
OPT_ERROR: int = _C.SOCKRT_OPT_ERROR
OPT_NREAD: int = _C.SOCKRT_OPT_NREAD
OPT_BACKLOG: int = _C.SOCKRT_OPT_BACKLOG
OPT_UNLINK_STALE: int = _C.SOCKRT_OPT_UNLINK_STALE

POLL_IN: int = _C.SOCKRT_POLL_IN
POLL_OUT: int = _C.SOCKRT_POLL_OUT
POLL_ERR: int = _C.SOCKRT_POLL_ERR
POLL_HUP: int = _C.SOCKRT_POLL_HUP
POLL_CLOSED: int = _C.SOCKRT_POLL_CLOSED
POLL_EDGE: int = _C.SOCKRT_POLL_EDGE

E_INVALID_ARGUMENT: int = _C.SOCKRT_E_INVALID_ARGUMENT
E_BAD_HANDLE: int = _C.SOCKRT_E_BAD_HANDLE
E_WRONG_KIND: int = _C.SOCKRT_E_WRONG_KIND
E_INVALID_STATE: int = _C.SOCKRT_E_INVALID_STATE
E_NOT_CONNECTED: int = _C.SOCKRT_E_NOT_CONNECTED
E_TIMEOUT: int = _C.SOCKRT_E_TIMEOUT
E_CLOSED: int = _C.SOCKRT_E_CLOSED
E_EOF: int = _C.SOCKRT_E_EOF
E_CONNECTION_REFUSED: int = _C.SOCKRT_E_CONNECTION_REFUSED
E_CONNECTION_RESET: int = _C.SOCKRT_E_CONNECTION_RESET
E_ADDRESS_IN_USE: int = _C.SOCKRT_E_ADDRESS_IN_USE
E_ADDRESS_NOT_AVAILABLE: int = _C.SOCKRT_E_ADDRESS_NOT_AVAILABLE
E_RESOLVE: int = _C.SOCKRT_E_RESOLVE
E_UNREACHABLE: int = _C.SOCKRT_E_UNREACHABLE
E_POOL_EXHAUSTED: int = _C.SOCKRT_E_POOL_EXHAUSTED
E_POOL_CLOSED: int = _C.SOCKRT_E_POOL_CLOSED
E_LIMIT: int = _C.SOCKRT_E_LIMIT
E_PANIC: int = _C.SOCKRT_E_PANIC
E_IO: int = _C.SOCKRT_E_IO
E_INTERRUPTED: int = _C.SOCKRT_E_INTERRUPTED
E_WOULD_BLOCK: int = _C.SOCKRT_E_WOULD_BLOCK
E_IN_PROGRESS: int = _C.SOCKRT_E_IN_PROGRESS
E_TLS_HANDSHAKE: int = _C.SOCKRT_E_TLS_HANDSHAKE
E_TLS_CERTIFICATE: int = _C.SOCKRT_E_TLS_CERTIFICATE
E_TLS_TRUNCATED: int = _C.SOCKRT_E_TLS_TRUNCATED
E_TLS_PROTOCOL: int = _C.SOCKRT_E_TLS_PROTOCOL

# TLS (sockrt.tls) registers its exceptions in the error table on import.
from . import tls  # noqa: E402, F401


def open_handles() -> int:
    """How many library handles (sockets, pools, pooled connections) are
    open in this process; back to its starting value once all are closed."""
    return int(_open_handles())


__all__ = [
    "_GLOBAL_DEFAULT_TIMEOUT",
    "AF_INET",
    "AF_INET6",
    "AF_UNIX",
    "SOCK_STREAM",
    "SOCK_DGRAM",
    "SHUT_RD",
    "SHUT_WR",
    "SHUT_RDWR",
    "Address",
    "socket",
    "Socket",
    "SocketType",
    "create_connection",
    "create_server",
    "fromfd",
    "getdefaulttimeout",
    "setdefaulttimeout",
    "has_dualstack_ipv6",
    "socketpair",
    "send_fds",
    "recv_fds",
    "error",
    "timeout",
    "gaierror",
    "herror",
    "PooledConnection",
    "Pool",
    "PoolStats",
    "poll",
    "patch",
    "unpatch",
    "patched",
    "is_patched",
    "open_handles",
    "library_version",
    "library_path",
    "Error",
    "InvalidArgument",
    "BadHandle",
    "WrongKind",
    "InvalidState",
    "NotConnected",
    "Timeout",
    "WouldBlock",
    "InProgress",
    "Interrupted",
    "Closed",
    "Eof",
    "ConnectionRefused",
    "ConnectionReset",
    "BrokenPipe",
    "AddressInUse",
    "AddressNotAvailable",
    "ResolveError",
    "Unreachable",
    "PoolExhausted",
    "PoolClosed",
    "LimitError",
    "InternalError",
    "IOFailure",
]
__all__.extend(
    sorted(
        {name for name in STANDARD_NAMES if name not in __all__}
        | {name for name in dir() if name.startswith(("OPT_", "POLL_", "E_"))}
    )
)
