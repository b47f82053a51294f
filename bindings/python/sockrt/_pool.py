"""Pool: keep-alive TCP connections to one endpoint."""

from __future__ import annotations

import threading
from ctypes import byref, c_uint64
from time import monotonic as _monotonic
from typing import Any, NamedTuple, Optional, Tuple

from . import _constants as C
from . import _ffi
from ._errors import PoolClosed, error_for
from ._socket import (
    AF_INET,
    AF_INET6,
    SOCK_STREAM,
    Socket,
    _check_signals,
    _finalizer_for,
    _plain_host,
    _port,
    _timeout_ms,
)

_UINT32_MAX = 2**32 - 1
# The main thread waits for a slot in slices this long, running the Python
# signal handlers between slices (Ctrl-C reaches a waiting acquire).
_SLICE_MS = 50
_MAIN_IDENT = threading.main_thread().ident


_HAS_EX = _ffi.has("sockrt_pool_acquire_ex")
_lease_lock = threading.Lock()
_ACQUIRE_FRESH = C.SOCKRT_ACQUIRE_FRESH


class PoolStats(NamedTuple):
    """The pool's counters (struct sockrt_pool_stats): ``idle`` and
    ``in_use`` are current, the rest count events since the pool opened."""

    idle: int
    in_use: int
    created: int
    reused: int
    closed_stale: int
    closed_expired: int
    closed_broken: int
    waits: int
    timeouts: int

    def format(self) -> str:
        """"idle=0 in_use=1 created=..." in field order."""
        return " ".join(f"{name}={value}" for name, value in zip(self._fields, self))


class PooledConnection(Socket):
    """A leased connection: an ordinary stream Socket plus ``release()``
    (back to the pool) and ``discard()`` (close it, free its slot).

    As a context manager it releases on a normal exit and discards when an
    exception escapes. ``close()`` discards. After any of them the object is
    closed, like a closed Socket.
    """

    __slots__ = ("_pool",)

    _pool: "Pool"

    @property
    def pool(self) -> "Pool":
        """The pool this connection came from."""
        return self._pool

    @property
    def was_reused(self) -> bool:
        """True if this connection served an earlier acquire (a request that
        fails on a reused connection before any reply may be retried once on
        a fresh one)."""
        rc = _ffi.pool_was_reused(self._h)
        if rc < 0:
            raise self._error(rc)
        return rc == 1

    def _end_lease(self, func: Any) -> None:
        with _lease_lock:  # one of concurrent release/discard/close ends it
            h = self._h
            if not h:
                return  # already released, discarded or closed
            self._forget_handle()
        rc = func(self._pool._h, h)
        if rc:
            # The pool was closed meanwhile: the lease ends by closing.
            _ffi.close(h)
            if rc != C.SOCKRT_E_BAD_HANDLE:
                raise error_for(rc)

    def release(self) -> None:
        """Returns the connection to the pool (it is closed instead if a call
        on it failed, it was shut down or has unread bytes). Idempotent."""
        self._end_lease(_ffi.pool_release)

    def discard(self) -> None:
        """Closes the connection and frees its pool slot. Idempotent."""
        self._end_lease(_ffi.pool_discard)

    def __enter__(self) -> "PooledConnection":
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is None:
            self.release()
        else:
            self.discard()


def _count(value: Optional[int], what: str) -> int:
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value <= _UINT32_MAX:
        raise ValueError(f"{what} must be between 0 and {_UINT32_MAX}")
    return value


class Pool:
    """Keep-alive TCP connections to host:port, opened lazily; with
    ``tls=`` (a ``sockrt.tls`` client context) verified TLS connections
    whose certificate must match ``server_hostname`` (default: host).

    Timeouts are in seconds; None means no limit (connect), wait forever
    (acquire) or never (idle_timeout, max_lifetime). ``max_total`` 0 or None
    is unlimited. ``acquire()`` returns a PooledConnection, best used as a
    context manager::

        with pool.acquire() as conn:
            conn.sendall(request)
            reply = conn.recv_exact(n)
    """

    __slots__ = (
        "_h",
        "_host",
        "_port",
        "_family",
        "_acquire_ms",
        "_extra_slices",
        "_finalizer",
        "__weakref__",
    )

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_idle: int = 8,
        max_total: Optional[int] = 32,
        connect_timeout: Optional[float] = 5.0,
        acquire_timeout: Optional[float] = 5.0,
        idle_timeout: Optional[float] = 60.0,
        max_lifetime: Optional[float] = None,
        check_on_acquire: bool = True,
        nodelay: bool = True,
        tls: Any = None,
        server_hostname: Optional[str] = None,
    ) -> None:
        host_c = _plain_host(host)
        port = _port(port)
        cfg = _ffi.PoolConfig()
        _ffi.pool_config_init(byref(cfg))
        cfg.max_idle = _count(max_idle, "max_idle")
        cfg.max_total = _count(max_total, "max_total")
        cfg.connect_timeout_ms = _timeout_ms(connect_timeout)
        cfg.acquire_timeout_ms = _timeout_ms(acquire_timeout)
        cfg.idle_timeout_ms = _timeout_ms(idle_timeout)
        cfg.max_lifetime_ms = _timeout_ms(max_lifetime)
        cfg.check_on_acquire = bool(check_on_acquire)
        cfg.nodelay = bool(nodelay)
        if tls is not None:
            # A sockrt.tls client context: leases are verified TLS streams,
            # and new connections resume the context's sessions.
            cfg.tls_config = tls.handle
            if server_hostname is not None:
                cfg.tls_server_name = server_hostname.encode("idna")
        elif server_hostname is not None:
            raise ValueError("server_hostname needs tls=")
        out = c_uint64()
        rc = _ffi.pool_open(host_c, port, byref(cfg), byref(out))
        if rc:
            raise error_for(rc)
        self._h = out.value
        self._acquire_ms = cfg.acquire_timeout_ms
        # Slices after the first of a sliced wait: the library counts each
        # as a wait and a timeout; stats() takes them out again.
        self._extra_slices = 0
        self._host = host
        self._port = port
        # Pooled connections are named by their host; a literal tells the family.
        self._family = AF_INET6 if b":" in host_c else AF_INET
        self._finalizer = _finalizer_for(self, out.value)

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def closed(self) -> bool:
        return not self._h

    def acquire(self, *, fresh: bool = False) -> PooledConnection:
        """Leases a connection: an idle one that passes the liveness check,
        a new one, or (at max_total) the next one released within
        acquire_timeout. ``fresh=True`` asks for a connection that never
        served a lease (for the one retry of an idempotent request that
        failed on a reused one); it may open a new connection even when idle
        ones exist. Raises PoolExhausted (a TimeoutError), PoolClosed, or
        the connect error (ConnectionRefusedError, ...)."""
        h = self._h
        if not h:
            raise PoolClosed(C.SOCKRT_E_POOL_CLOSED, "acquire: the pool is closed")
        out = c_uint64()
        if fresh or (_HAS_EX and threading.get_ident() == _MAIN_IDENT):
            rc = self._acquire_sliced(h, _ACQUIRE_FRESH if fresh else 0, out)
        else:
            rc = _ffi.pool_acquire(h, byref(out))
        if rc:
            if not self._h:
                raise PoolClosed(C.SOCKRT_E_POOL_CLOSED, "acquire: the pool was closed")
            raise error_for(rc)
        conn = PooledConnection._from_handle(out.value, self._family, SOCK_STREAM)
        conn._pool = self
        return conn

    def _acquire_sliced(self, h: int, flags: int, out: c_uint64) -> int:
        """sockrt_pool_acquire_ex in slices of at most _SLICE_MS, running the
        signal handlers between slices (they may raise), within the pool's
        acquire timeout."""
        total = self._acquire_ms
        if total == 0 or threading.get_ident() != _MAIN_IDENT:
            return _ffi.pool_acquire_ex(h, flags, total, byref(out))
        t0 = _monotonic()
        while True:
            left = total if total < 0 else total - int((_monotonic() - t0) * 1000)
            slice_ms = _SLICE_MS if left < 0 else max(0, min(_SLICE_MS, left))
            rc = _ffi.pool_acquire_ex(h, flags, slice_ms, byref(out))
            if rc not in (C.SOCKRT_E_POOL_EXHAUSTED, C.SOCKRT_E_INTERRUPTED):
                return rc
            if rc == C.SOCKRT_E_POOL_EXHAUSTED and 0 <= left <= slice_ms:
                return rc
            _check_signals()  # raises what a handler raised
            if not self._h:
                return C.SOCKRT_E_POOL_CLOSED
            if rc == C.SOCKRT_E_POOL_EXHAUSTED:
                self._extra_slices += 1

    def tls_handshakes(self) -> Tuple[int, int]:
        """(full, resumed): the TLS handshakes of the pool's connections."""
        full, resumed = c_uint64(), c_uint64()
        rc = _ffi.pool_tls_handshakes(self._h, byref(full), byref(resumed))
        if rc:
            raise error_for(rc)
        return full.value, resumed.value

    def stats(self) -> PoolStats:
        """A snapshot of the pool's counters."""
        raw = _ffi.PoolStats()
        rc = _ffi.pool_get_stats(self._h, byref(raw))
        if rc:
            if not self._h:
                raise PoolClosed(C.SOCKRT_E_POOL_CLOSED, "stats: the pool is closed")
            raise error_for(rc)
        stats = PoolStats(*(getattr(raw, name) for name in PoolStats._fields))
        extra = self._extra_slices
        if extra:
            # One sliced wait is one wait (and at most one timeout) to the caller.
            stats = stats._replace(
                waits=max(0, stats.waits - extra), timeouts=max(0, stats.timeouts - extra)
            )
        return stats

    def close(self) -> None:
        """Closes idle connections now and wakes queued acquirers (PoolClosed);
        leased connections stay usable until released. Idempotent."""
        if self._h:
            self._h = 0
            self._finalizer()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if not self._h else f"handle={self._h:#x}"
        return f"<sockrt.Pool {self._host}:{self._port} {state}>"

