"""sockrt: libsockrt's blocking TCP/UDP sockets and connection pool, shaped
like the standard ``socket`` module.

    import sockrt
    with sockrt.create_connection(("127.0.0.1", 7000), timeout=5) as s:
        s.sendall(b"ping")
        reply = s.recv(4)

Constants AF_*, SOCK_* and SHUT_* have the standard module's values.
Library options (``Socket.set_option``) are ``OPT_*``; readiness bits for
``poll`` are ``POLL_*``; status codes are ``E_*`` (``Error.code``).
"""

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
    InternalError,
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
from ._ffi import library_version
from ._ffi import open_handles as _open_handles
from ._pool import Pool, PooledConnection, PoolStats
from ._socket import (
    AF_INET,
    AF_INET6,
    SHUT_RD,
    SHUT_RDWR,
    SHUT_WR,
    SOCK_DGRAM,
    SOCK_STREAM,
    Address,
    Socket,
    create_connection,
    create_server,
    poll,
)

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

POLL_IN: int = _C.SOCKRT_POLL_IN
POLL_OUT: int = _C.SOCKRT_POLL_OUT
POLL_ERR: int = _C.SOCKRT_POLL_ERR
POLL_HUP: int = _C.SOCKRT_POLL_HUP
POLL_CLOSED: int = _C.SOCKRT_POLL_CLOSED

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
    "AF_INET",
    "AF_INET6",
    "SOCK_STREAM",
    "SOCK_DGRAM",
    "SHUT_RD",
    "SHUT_WR",
    "SHUT_RDWR",
    "Address",
    "Socket",
    "PooledConnection",
    "Pool",
    "PoolStats",
    "create_connection",
    "create_server",
    "poll",
    "open_handles",
    "library_version",
    "Error",
    "InvalidArgument",
    "BadHandle",
    "WrongKind",
    "InvalidState",
    "NotConnected",
    "Timeout",
    "WouldBlock",
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
] + [name for name in dir() if name.startswith(("OPT_", "POLL_", "E_"))]
