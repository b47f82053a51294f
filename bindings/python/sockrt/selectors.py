"""Readiness on libsockrt's poller, for selectors- and asyncio-based code.

:class:`SockrtSelector` is a :class:`selectors.BaseSelector` over one
sockrt poller (an epoll set): ``register``/``unregister``/``modify``/
``select``/``close``/``get_map``/``get_key`` behave as the standard
module's selectors do, so code written for ``selectors.DefaultSelector``
runs on it, and so does asyncio::

    import asyncio
    from sockrt.selectors import SockrtSelector
    loop = asyncio.SelectorEventLoop(selector=SockrtSelector())

A :class:`sockrt.socket` is registered by its handle: the poller holds it,
so its descriptor number cannot be reused while registered, and if the
socket is closed while registered, the next ``select`` reports it once
(with the events it was registered for, so the caller's next I/O sees the
closed socket) and the registration is gone from the poller. Anything else
with a ``fileno()`` (standard sockets, pipes, an event loop's self-pipe) is
registered by descriptor number, as the standard selectors do.

:class:`Poller` is the thin layer underneath (tokens and event bits as in
the C ABI), and :func:`send_many` the one-call fan-out (sockrt_send_many):
one buffer to many stream sockets, never blocking, per-socket results.

A wait with no timeout is made in slices of at most a quarter second, so
the interpreter runs its signal handlers (Ctrl-C) while a selector waits.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import selectors as _selectors
import struct
import threading
import time
from collections.abc import Mapping
from selectors import EVENT_READ, EVENT_WRITE, SelectorKey
from typing import Any, Iterator, Optional, Sequence

from . import _constants as _C
from . import _ffi
from ._errors import error_for
from ._socket import Socket as _SockrtSocket

__all__ = [
    "SockrtSelector",
    "Poller",
    "send_many",
    "POLL_IN",
    "POLL_OUT",
    "POLL_ERR",
    "POLL_HUP",
    "POLL_CLOSED",
    "POLL_EDGE",
    "E_WOULD_BLOCK",
]

# The C ABI's values (SOCKRT_POLL_*, SOCKRT_E_WOULD_BLOCK).
POLL_IN = _C.SOCKRT_POLL_IN
POLL_OUT = _C.SOCKRT_POLL_OUT
POLL_ERR = _C.SOCKRT_POLL_ERR
POLL_HUP = _C.SOCKRT_POLL_HUP
POLL_CLOSED = _C.SOCKRT_POLL_CLOSED
POLL_EDGE = _C.SOCKRT_POLL_EDGE
E_WOULD_BLOCK = getattr(_C, "SOCKRT_E_WOULD_BLOCK", -21)
MAX_EVENTS = _C.SOCKRT_POLLER_MAX_EVENTS
_E_INTERRUPTED = getattr(_C, "SOCKRT_E_INTERRUPTED", -20)

_SLICE_MS = 250
_EVENT = struct.Struct("=QII")
assert _EVENT.size == ctypes.sizeof(_ffi.PollEvent)


def _check(rc: int) -> int:
    if rc < 0:
        raise error_for(rc)
    return rc


class Poller:
    """One sockrt poller: registrations with integer tokens, and waits that
    return ``(token, events)`` pairs (events: the ``POLL_*`` bits)."""

    def __init__(self) -> None:
        h = ctypes.c_uint64()
        _check(_ffi.poller_open(ctypes.byref(h)))
        self._h = h.value
        self._cap = 0
        self._buf: Any = None
        self._grow(64)

    @property
    def handle(self) -> int:
        """The library handle (0 once closed)."""
        return self._h

    @property
    def closed(self) -> bool:
        return not self._h

    def _grow(self, n: int) -> None:
        if n > self._cap:
            self._cap = min(max(n, 2 * self._cap), MAX_EVENTS)
            self._buf = (_ffi.PollEvent * self._cap)()

    def _handle(self) -> int:
        if not self._h:
            raise ValueError("poller is closed")
        return self._h

    def add(self, target: Any, events: int, token: int) -> None:
        """Registers a sockrt socket (by handle) or a descriptor number."""
        if isinstance(target, _SockrtSocket):
            _check(_ffi.poller_add(self._handle(), target.handle, events, token))
        else:
            _check(_ffi.poller_add_fd(self._handle(), int(target), events, token))

    def modify(self, target: Any, events: int, token: int) -> None:
        if isinstance(target, _SockrtSocket):
            _check(_ffi.poller_modify(self._handle(), target.handle, events, token))
        else:
            _check(_ffi.poller_modify_fd(self._handle(), int(target), events, token))

    def remove(self, target: Any) -> None:
        if isinstance(target, _SockrtSocket):
            _check(_ffi.poller_remove(self._handle(), target.handle))
        else:
            _check(_ffi.poller_remove_fd(self._handle(), int(target)))

    def wait(self, timeout_ms: int = -1, max_events: int = 64) -> list[tuple[int, int]]:
        """Up to `max_events` ready ``(token, events)`` pairs, waiting up to
        `timeout_ms` (negative: no limit). [] on timeout or after wake()."""
        h = self._handle()
        self._grow(max(1, min(max_events, MAX_EVENTS)))
        n = _ffi.poller_wait(h, self._buf, min(max_events, self._cap), timeout_ms)
        if n <= 0:
            if n == _E_INTERRUPTED:
                # A signal, on a thread that asked to hear of them: the
                # interpreter runs its handlers when this returns (PEP 475).
                return []
            _check(n)
            return []
        raw = memoryview(self._buf).cast("B")[: n * _EVENT.size]
        return [(token, events) for token, events, _ in _EVENT.iter_unpack(raw)]

    def wake(self) -> None:
        """Makes a wait blocked in another thread return now."""
        _check(_ffi.poller_wake(self._handle()))

    def close(self) -> None:
        """Closes the poller (a waiting thread returns). Safe to call twice."""
        h, self._h = self._h, 0
        if h:
            _ffi.close(h)

    def __enter__(self) -> "Poller":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: the library may be gone
            self.close()


def send_many(targets: Sequence[Any], data: bytes) -> list[int]:
    """Sends `data` once to each stream socket in `targets` (sockrt sockets
    or their handles) in one library call that never blocks. Returns, per
    target, the bytes it took (fewer than ``len(data)`` when its send buffer
    filled) or a negative SOCKRT_E_* code for it alone (``E_WOULD_BLOCK``:
    buffer full, nothing sent)."""
    n = len(targets)
    if n == 0:
        return []
    handles = (ctypes.c_uint64 * n)(
        *[t.handle if isinstance(t, _SockrtSocket) else t for t in targets]
    )
    results = (ctypes.c_int64 * n)()
    buf = bytes(data)
    rc = _ffi.send_many(handles, n, buf, len(buf), results)
    _check(rc)
    return memoryview(results).cast("B").cast("q").tolist()


def _fileobj_to_fd(fileobj: Any) -> int:
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


class _KeyMapping(Mapping):
    def __init__(self, selector: "SockrtSelector") -> None:
        self._selector = selector

    def __len__(self) -> int:
        return len(self._selector._fd_to_key)

    def __getitem__(self, fileobj: Any) -> SelectorKey:
        fd = self._selector._fileobj_lookup(fileobj)
        try:
            return self._selector._fd_to_key[fd]
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None

    def __iter__(self) -> Iterator[int]:
        return iter(self._selector._fd_to_key)


class SockrtSelector(_selectors.BaseSelector):
    """A selectors.BaseSelector on a sockrt poller (see the module docs)."""

    def __init__(self) -> None:
        self._poller: Optional[Poller] = Poller()
        self._fd_to_key: dict[int, SelectorKey] = {}
        self._map: Optional[_KeyMapping] = _KeyMapping(self)
        self._lock = threading.Lock()   # registrations may come from several threads

    def _fileobj_lookup(self, fileobj: Any) -> int:
        try:
            return _fileobj_to_fd(fileobj)
        except ValueError:
            # A closed socket has no descriptor any more: find it by identity.
            for key in self._fd_to_key.values():
                if key.fileobj is fileobj:
                    return key.fd
            raise

    def _live_poller(self) -> Poller:
        if self._poller is None:
            raise RuntimeError("selector is closed")
        return self._poller

    @staticmethod
    def _target(fileobj: Any, fd: int) -> Any:
        return fileobj if isinstance(fileobj, _SockrtSocket) else fd

    def register(self, fileobj: Any, events: int, data: Any = None) -> SelectorKey:
        if not events or events & ~(EVENT_READ | EVENT_WRITE):
            raise ValueError(f"Invalid events: {events!r}")
        poller = self._live_poller()
        fd = self._fileobj_lookup(fileobj)
        with self._lock:
            if fd in self._fd_to_key:
                raise KeyError(f"{fileobj!r} (FD {fd}) is already registered")
            key = SelectorKey(fileobj, fd, events, data)
            poller.add(self._target(fileobj, fd), events, fd)
            self._fd_to_key[fd] = key
        return key

    def unregister(self, fileobj: Any) -> SelectorKey:
        poller = self._live_poller()
        fd = self._fileobj_lookup(fileobj)
        with self._lock:
            try:
                key = self._fd_to_key.pop(fd)
            except KeyError:
                raise KeyError(f"{fileobj!r} is not registered") from None
            # Closed already (its registration ended with it): ignored, as the
            # standard EpollSelector ignores a descriptor closed first.
            with contextlib.suppress(OSError):
                poller.remove(self._target(key.fileobj, fd))
        return key

    def modify(self, fileobj: Any, events: int, data: Any = None) -> SelectorKey:
        if not events or events & ~(EVENT_READ | EVENT_WRITE):
            raise ValueError(f"Invalid events: {events!r}")
        poller = self._live_poller()
        fd = self._fileobj_lookup(fileobj)
        with self._lock:
            try:
                key = self._fd_to_key[fd]
            except KeyError:
                raise KeyError(f"{fileobj!r} is not registered") from None
            if events != key.events:
                poller.modify(self._target(key.fileobj, fd), events, fd)
            key = key._replace(events=events, data=data)
            self._fd_to_key[fd] = key
        return key

    def select(self, timeout: Optional[float] = None) -> list[tuple[SelectorKey, int]]:
        poller = self._live_poller()
        if timeout is None:
            deadline = None
        elif timeout <= 0:
            deadline = 0.0
        else:
            deadline = time.monotonic() + math.ceil(timeout * 1e3) / 1e3
        max_events = max(1, min(len(self._fd_to_key), MAX_EVENTS))
        while True:
            if deadline is None:
                slice_ms = _SLICE_MS
            elif deadline == 0.0:
                slice_ms = 0
            else:
                slice_ms = min(_SLICE_MS, max(0, math.ceil((deadline - time.monotonic()) * 1e3)))
            events = poller.wait(slice_ms, max_events)
            if events or slice_ms == 0:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
        ready = []
        fd_to_key = self._fd_to_key
        for token, bits in events:
            key = fd_to_key.get(token)
            if key is None:
                continue
            if bits & POLL_CLOSED:
                mask = key.events
            else:
                mask = 0
                if bits & ~POLL_OUT:
                    mask |= EVENT_READ
                if bits & ~POLL_IN:
                    mask |= EVENT_WRITE
                mask &= key.events
            if mask:
                ready.append((key, mask))
        return ready

    def close(self) -> None:
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.close()
        self._fd_to_key.clear()
        self._map = None

    def get_map(self) -> Mapping:
        return self._map  # type: ignore[return-value]
