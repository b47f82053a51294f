"""Context managers, finalisers and handle accounting."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap

from conftest import WAIT

import sockrt


def test_context_manager_closes():
    start = sockrt.open_handles()
    with sockrt.Socket() as sock:
        assert sockrt.open_handles() == start + 1
        assert not sock.closed
    assert sock.closed
    assert sockrt.open_handles() == start


def test_garbage_collected_socket_frees_its_handle(listener):
    gc.collect()
    start = sockrt.open_handles()
    client = sockrt.create_connection(listener.getsockname(), timeout=WAIT)
    served, _ = listener.accept()
    unbound = sockrt.Socket(sockrt.AF_INET, sockrt.SOCK_DGRAM)
    assert sockrt.open_handles() == start + 3
    del client, served, unbound
    gc.collect()
    assert sockrt.open_handles() == start


def test_socket_in_a_reference_cycle_is_freed():
    gc.collect()
    start = sockrt.open_handles()

    class Holder:
        pass

    holder = Holder()
    holder.sock = sockrt.Socket()
    holder.me = holder
    del holder
    gc.collect()
    assert sockrt.open_handles() == start


def test_close_then_gc_does_not_close_twice():
    sock = sockrt.Socket()
    other = sockrt.Socket()
    sock.close()
    start = sockrt.open_handles()
    del sock
    gc.collect()
    assert sockrt.open_handles() == start  # `other` untouched
    other.close()


def test_unclosed_sockets_at_interpreter_exit_are_harmless():
    code = textwrap.dedent(
        """
        import threading, sockrt
        server = sockrt.create_server(("127.0.0.1", 0))
        client = sockrt.create_connection(server.getsockname())
        conn, _ = server.accept()
        # A daemon thread still blocked in the library at exit.
        threading.Thread(target=conn.recv, args=(10,), daemon=True).start()
        pool = sockrt.Pool("127.0.0.1", server.getsockname()[1])
        leased = pool.acquire()
        print("ok")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
    assert proc.stderr == ""
