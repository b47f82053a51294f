"""sockrt.patch(): sockrt in place of the standard socket module, process-wide.

It replaces, on the standard ``socket`` module itself, the names that make
sockets: ``socket`` (the class), ``create_connection``, ``create_server`` and
``fromfd``. Code that looks these up on the module when it runs (http.client,
urllib3, requests, smtplib, ftplib, socketserver, http.server, asyncio, ...)
then makes sockrt sockets. Families the library does not have (AF_UNIX, ...)
still get standard sockets, so ``socketpair()`` and Unix sockets keep working.

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

_NAMES = ("socket", "create_connection", "create_server", "fromfd")
_saved: Dict[str, Any] = {}


def patch() -> None:
    """Makes the standard module hand out sockrt sockets (idempotent)."""
    if _saved:
        return
    with contextlib.suppress(ImportError):  # ssl binds the standard class now
        import ssl  # noqa: F401
    from . import _socket

    for name in _NAMES:
        _saved[name] = getattr(_std, name)
        setattr(_std, name, getattr(_socket, name))


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
