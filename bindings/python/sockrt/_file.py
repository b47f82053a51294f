"""SocketIO and makefile(): file objects over a socket, as the standard module has.

The semantics are the standard module's (its documentation and tests are the
spec): a raw RawIOBase over the socket, wrapped in a BufferedReader, a
BufferedWriter or a BufferedRWPair, and a TextIOWrapper for text modes. A
read that times out raises ``socket.timeout`` and the file refuses further
reads (it cannot know how much of a buffered read was lost); on a
non-blocking socket a read with nothing to read returns None and a write that
cannot proceed returns None. Closing the file drops one reference to the
socket, which really closes once ``close()`` was called on it and no file is
left open.
"""

from __future__ import annotations

import errno
import io
from typing import Any, Optional

_BLOCKING_ERRNOS = {errno.EAGAIN, errno.EWOULDBLOCK}


class SocketIO(io.RawIOBase):
    """A raw I/O object over a socket; mode "r", "w" or "rw" (plus "b")."""

    def __init__(self, sock: Any, mode: str) -> None:
        if mode not in ("r", "w", "rw", "rb", "wb", "rwb"):
            raise ValueError(f"invalid mode: {mode!r}")
        io.RawIOBase.__init__(self)
        self._sock = sock
        if "b" not in mode:
            mode += "b"
        self._mode = mode
        self._reading = "r" in mode
        self._writing = "w" in mode
        self._timed_out = False

    def readinto(self, b: Any) -> Optional[int]:  # type: ignore[override]
        """Receives into b: the count, 0 at end of stream, None if a
        non-blocking socket has nothing yet."""
        self._checkClosed()  # type: ignore[attr-defined]
        self._checkReadable()  # type: ignore[attr-defined]
        if self._timed_out:
            raise OSError("cannot read from timed out object")
        try:
            return self._sock.recv_into(b)
        except TimeoutError:
            self._timed_out = True
            raise
        except OSError as exc:
            if exc.errno in _BLOCKING_ERRNOS:
                return None
            raise

    def write(self, b: Any) -> Optional[int]:  # type: ignore[override]
        """Sends what the socket takes at once: the count, or None if a
        non-blocking socket cannot take any."""
        self._checkClosed()  # type: ignore[attr-defined]
        self._checkWritable()  # type: ignore[attr-defined]
        try:
            return self._sock.send(b)
        except OSError as exc:
            if exc.errno in _BLOCKING_ERRNOS:
                return None
            raise

    def readable(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed socket.")
        return self._reading

    def writable(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed socket.")
        return self._writing

    def seekable(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed socket.")
        return super().seekable()

    def fileno(self) -> int:
        self._checkClosed()  # type: ignore[attr-defined]
        return self._sock.fileno()

    @property
    def name(self) -> int:
        return self.fileno() if not self.closed else -1

    @property
    def mode(self) -> str:
        return self._mode

    def close(self) -> None:
        """Closes the file; the socket closes too if it was closed already."""
        if self.closed:
            return
        io.RawIOBase.close(self)
        self._sock._decref_socketios()
        self._sock = None


def makefile(
    sock: Any,
    mode: str = "r",
    buffering: Optional[int] = None,
    *,
    encoding: Optional[str] = None,
    errors: Optional[str] = None,
    newline: Optional[str] = None,
) -> Any:
    """socket.makefile(): a file object over sock (see the module docstring)."""
    if not set(mode) <= {"r", "w", "b"}:
        raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
    writing = "w" in mode
    reading = "r" in mode or not writing
    assert reading or writing
    binary = "b" in mode
    rawmode = ""
    if reading:
        rawmode += "r"
    if writing:
        rawmode += "w"
    raw = SocketIO(sock, rawmode)
    sock._io_refs += 1
    if buffering is None:
        buffering = -1
    if buffering < 0:
        buffering = io.DEFAULT_BUFFER_SIZE
    if buffering == 0:
        if not binary:
            raise ValueError("unbuffered streams must be binary")
        return raw
    if reading and writing:
        buffer: Any = io.BufferedRWPair(raw, raw, buffering)
    elif reading:
        buffer = io.BufferedReader(raw, buffering)
    else:
        buffer = io.BufferedWriter(raw, buffering)
    if binary:
        return buffer
    encoding = io.text_encoding(encoding) if hasattr(io, "text_encoding") else encoding
    text = io.TextIOWrapper(buffer, encoding, errors, newline)
    text.mode = mode  # type: ignore[misc]
    return text
