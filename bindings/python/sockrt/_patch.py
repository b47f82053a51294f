"""sockrt.patch(): sockrt in place of the standard socket module, process-wide.

It replaces, on the standard ``socket`` module itself, the names that make
sockets: ``socket`` (the class), ``create_connection``, ``create_server`` and
``fromfd``. Code that looks these up on the module when it runs (http.client,
urllib3, requests, smtplib, ftplib, socketserver, http.server, asyncio, ...)
then makes sockrt sockets, AF_UNIX ones included. Families and types the
library does not have (SOCK_SEQPACKET, AF_PACKET, ...) still get standard
sockets. ``socket.socketpair()`` stays standard while patched: asyncio's
event loop makes its wake-up pair with it and hands one end to
``signal.set_wakeup_fd``, which needs a non-blocking descriptor (a sockrt
descriptor stays blocking); ``sockrt.socketpair()`` gives sockrt sockets.

Not covered: names bound before the patch (``from socket import socket``
run earlier keeps the standard class), sockets made by C code (``_socket``
directly), and ``ssl``: ssl.SSLSocket stays a standard socket (patch()
imports ssl first so that it does); ``SSLContext.wrap_socket(sock)`` takes
a sockrt socket over through ``detach()``, after which TLS runs on the
standard socket, not on sockrt.
"""

from __future__ import annotations

import contextlib
import socket as _std
from typing import Any, Dict, Iterator

_NAMES = ("socket", "create_connection", "create_server", "fromfd", "socketpair")
_saved: Dict[str, Any] = {}
_StdSocket = _std.socket


def _standard_socketpair(family: Any = None, type: int = _std.SOCK_STREAM, proto: int = 0):
    """The standard socketpair() with standard sockets, whatever the
    module's ``socket`` name is meanwhile."""
    import _socket

    if family is None:
        family = _std.AF_UNIX
    a, b = _socket.socketpair(family, type, proto)
    return (_StdSocket(family, type, proto, a.detach()),
            _StdSocket(family, type, proto, b.detach()))


def patch() -> None:
    """Makes the standard module hand out sockrt sockets (idempotent)."""
    if _saved:
        return
    with contextlib.suppress(ImportError):  # ssl binds the standard class now
        import ssl  # noqa: F401
    from . import _socket

    for name in _NAMES:
        _saved[name] = getattr(_std, name)
        ours = _standard_socketpair if name == "socketpair" else getattr(_socket, name)
        setattr(_std, name, ours)


def unpatch() -> None:
    """Puts the standard module's own names back."""
    while _saved:
        name, value = _saved.popitem()
        setattr(_std, name, value)


def is_patched() -> bool:
    return bool(_saved)


@contextlib.contextmanager
def patched() -> Iterator[None]:
    """``with sockrt.patched(): ...`` patches for the block, then restores."""
    was = bool(_saved)
    patch()
    try:
        yield
    finally:
        if not was:
            unpatch()
