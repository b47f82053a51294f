"""sockrt.patch() and python -m sockrt.run: the standard module hands out
sockrt sockets process-wide, and puts its own back on unpatch()."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import sockrt

ORIGINAL = {name: getattr(socket, name) for name in sockrt._patch._NAMES}


def test_patch_replaces_and_unpatch_restores():
    assert not sockrt.is_patched()
    sockrt.patch()
    try:
        sockrt.patch()  # idempotent
        assert socket.socket is sockrt.socket
        assert socket.create_connection is sockrt.create_connection
        assert socket.create_server is sockrt.create_server
        with socket.socket() as s:
            assert isinstance(s, sockrt.socket)
        with socket.socket(socket.AF_UNIX) as u:
            assert isinstance(u, sockrt.socket)
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as q:  # a type it lacks
            assert type(q) is ORIGINAL["socket"]
        a, b = socket.socketpair()  # stays standard: asyncio's wake-up pair needs that
        with a, b:
            assert type(a) is ORIGINAL["socket"] and a.family == socket.AF_UNIX
            a.sendall(b"x")
            assert b.recv(1) == b"x"
            a.setblocking(False)
            old = signal.set_wakeup_fd(a.fileno())
            signal.set_wakeup_fd(old)
        import ssl

        assert issubclass(ssl.SSLSocket, ORIGINAL["socket"])
    finally:
        sockrt.unpatch()
    assert {name: getattr(socket, name) for name in ORIGINAL} == ORIGINAL
    assert not sockrt.is_patched()


def test_patched_context_manager():
    with sockrt.patched():
        assert socket.socket is sockrt.socket
    assert socket.socket is ORIGINAL["socket"]


SCRIPT = """
import socket, sys
s = socket.create_server(("127.0.0.1", 0))
c = socket.create_connection(s.getsockname())
print(type(s).__module__, type(c).__module__, sys.argv[1:])
c.close(); s.close()
"""


def test_run_a_script_unmodified(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(SCRIPT)
    out = subprocess.run(
        [sys.executable, "-m", "sockrt.run", str(script), "one", "two"],
        capture_output=True, text=True, timeout=60, env=os.environ, check=True,
    ).stdout
    assert out.split() == ["sockrt._socket", "sockrt._socket", "['one',", "'two']"]


def test_run_a_module_unmodified(tmp_path):
    (tmp_path / "progmod.py").write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-m", "sockrt.run", "-m", "progmod", "x"],
        capture_output=True, text=True, timeout=60, env=env, check=True,
    ).stdout
    assert out.split() == ["sockrt._socket", "sockrt._socket", "['x']"]


def test_python_dash_m_sockrt_names_the_library():
    out = subprocess.run(
        [sys.executable, "-m", "sockrt"], capture_output=True, text=True, timeout=60,
        env=os.environ, check=True,
    ).stdout
    assert sockrt.__version__ in out and sockrt.library_path in out
