"""Timeouts, close-that-wakes, and the GIL."""

from __future__ import annotations

import errno
import threading
import time

import pytest
from conftest import WAIT, run_in_thread, wait_thread_sleeping

import sockrt


def test_recv_timeout_raises_timeout_error_in_time(pair):
    _, served = pair
    served.settimeout(0.2)
    assert served.gettimeout() == 0.2
    start = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        served.recv(10)
    elapsed = time.monotonic() - start
    assert 0.15 <= elapsed < 2.0
    assert isinstance(info.value, sockrt.Timeout) and info.value.code == sockrt.E_TIMEOUT
    import socket

    assert isinstance(info.value, socket.timeout)


def test_accept_timeout(listener):
    listener.settimeout(0.1)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        listener.accept()
    assert 0.05 <= time.monotonic() - start < 2.0


def test_recv_exact_timeout_bounds_the_whole_call(pair):
    client, served = pair
    served.settimeout(0.3)
    client.sendall(b"part")
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        served.recv_exact(100)
    assert 0.2 <= time.monotonic() - start < 2.0


def test_timeout_is_rounded_up_to_milliseconds(pair):
    client, _ = pair
    client.settimeout(0.0001)
    assert client.get_option(sockrt.OPT_READ_TIMEOUT_MS) == 1
    assert client.get_option(sockrt.OPT_WRITE_TIMEOUT_MS) == 1
    client.settimeout(2)
    assert client.get_option(sockrt.OPT_READ_TIMEOUT_MS) == 2000
    client.settimeout(None)
    assert client.get_option(sockrt.OPT_READ_TIMEOUT_MS) == -1
    assert client.gettimeout() is None


def test_nonblocking_mode_raises_blocking_io_error(pair):
    client, served = pair
    served.setblocking(False)
    assert served.gettimeout() == 0.0 and not served.getblocking()
    with pytest.raises(BlockingIOError) as info:
        served.recv(10)
    # As the standard module: only a BlockingIOError, never a timeout.
    assert not isinstance(info.value, TimeoutError)
    assert info.value.errno == errno.EAGAIN
    client.sendall(b"now")
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            assert served.recv(10) == b"now"
            break
        except BlockingIOError:
            time.sleep(0.001)
    else:
        pytest.fail("data never arrived")
    served.setblocking(True)
    assert served.gettimeout() is None and served.getblocking()


def wait_blocked(thread: threading.Thread) -> None:
    """Returns once the thread sleeps in the kernel (state S in
    /proc/self/task/<tid>/stat) three times in a row, bounded by WAIT."""
    wait_thread_sleeping(thread.native_id)
    assert thread.is_alive()


def test_close_from_another_thread_wakes_blocked_recv(pair):
    _, served = pair
    served.settimeout(None)
    thread, outcome = run_in_thread(lambda: served.recv(10))
    wait_blocked(thread)
    start = time.monotonic()
    served.close()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert time.monotonic() - start < 2.0
    err = outcome.get("error")
    assert isinstance(err, OSError) and err.errno == errno.EBADF


def test_close_from_another_thread_wakes_blocked_accept(listener):
    listener.settimeout(None)
    thread, outcome = run_in_thread(listener.accept)
    wait_blocked(thread)
    listener.close()
    thread.join(WAIT)
    assert not thread.is_alive()
    err = outcome.get("error")
    assert isinstance(err, OSError) and err.errno == errno.EBADF


def test_blocked_recv_lets_other_python_threads_run(pair):
    client, served = pair
    thread, outcome = run_in_thread(lambda: served.recv(10))
    wait_blocked(thread)
    # This thread holds the GIL only if the blocked one released it.
    counter = 0
    end = time.monotonic() + 0.2
    while time.monotonic() < end:
        counter += 1
    assert thread.is_alive() and counter > 1000
    client.sendall(b"done")
    thread.join(WAIT)
    assert outcome.get("result") == b"done"


def test_concurrent_sendall_from_threads_does_not_interleave(pair):
    client, served = pair
    chunk = 200_000
    threads = [run_in_thread(lambda b=b: client.sendall(bytes([b]) * chunk))[0] for b in b"ab"]
    data = served.recv_exact(2 * chunk)
    for t in threads:
        t.join(WAIT)
    assert sorted({data[:chunk], data[chunk:]}) == [b"a" * chunk, b"b" * chunk]
