"""The library's Unix socket calls through the binding's declarations,
against the standard module doing the same job (the socket class on top of
them: test_unix.py)."""

from __future__ import annotations

import os
import socket
import struct
from ctypes import byref, c_int32, c_size_t, c_uint32, create_string_buffer

from sockrt import _constants as C
from sockrt import _ffi


def _pair():
    out = (_ffi.sockrt_handle * 2)()
    assert _ffi.socketpair(C.SOCKRT_STREAM, out) == C.SOCKRT_OK
    return out[0], out[1]


def test_socketpair_credentials_match_the_standard_module():
    a, b = _pair()
    try:
        pid, uid, gid = c_int32(), c_uint32(), c_uint32()
        assert _ffi.peer_cred(a, byref(pid), byref(uid), byref(gid)) == C.SOCKRT_OK
        std_a, std_b = socket.socketpair()
        with std_a, std_b:
            raw = std_a.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            assert (pid.value, uid.value, gid.value) == struct.unpack("iII", raw)
        assert pid.value == os.getpid()
    finally:
        _ffi.close(a)
        _ffi.close(b)


def test_a_descriptor_passed_by_the_library_reaches_a_standard_socket():
    a, b = _pair()
    std_mine, std_theirs = socket.socketpair()
    try:
        fd = c_int32(std_theirs.fileno())
        assert _ffi.send_fds(a, b"F", 1, byref(fd), 1) == 1
        std_theirs.close()
        buf = create_string_buffer(8)
        got, n = c_int32(-1), c_size_t(0)
        assert _ffi.recv_fds(b, buf, 8, byref(got), 1, byref(n)) == 1
        assert (buf.raw[:1], n.value) == (b"F", 1)
        with socket.socket(fileno=got.value) as passed:
            assert passed.family == socket.AF_UNIX
            passed.sendall(b"through")
            std_mine.settimeout(5)
            assert std_mine.recv(16) == b"through"
    finally:
        std_mine.close()
        _ffi.close(a)
        _ffi.close(b)


def test_unix_connect_to_a_standard_listener(tmp_path):
    path = str(tmp_path / "std.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.settimeout(5)
        server.bind(path)
        server.listen(1)
        h = _ffi.sockrt_handle()
        assert _ffi.unix_connect(path.encode(), 5000, byref(h)) == C.SOCKRT_OK
        try:
            conn, _ = server.accept()
            with conn:
                assert _ffi.send_all(h, b"hi", 2) == C.SOCKRT_OK
                conn.settimeout(5)
                assert conn.recv(2) == b"hi"
        finally:
            _ffi.close(h)
        missing = str(tmp_path / "none.sock").encode()
        assert _ffi.unix_connect(missing, 1000, byref(h)) == C.SOCKRT_E_CONNECTION_REFUSED
    lsn = _ffi.sockrt_handle()
    assert _ffi.unix_listen(path.encode(), 0, byref(lsn)) == C.SOCKRT_OK  # the stale file goes
    _ffi.close(lsn)
    assert not os.path.exists(path)
