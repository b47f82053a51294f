"""Pool: reuse, release/discard, exhaustion, stats, close."""

from __future__ import annotations

import errno
import threading
import time

import pytest
from conftest import WAIT, run_in_thread

import sockrt


class EchoServer:
    """A sockrt echo server in daemon threads, for pool tests."""

    def __init__(self) -> None:
        self.server = sockrt.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        self.conns: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: sockrt.Socket) -> None:
        buf = bytearray(4096)
        try:
            while True:
                n = conn.recv_into(buf)
                if not n:
                    return
                conn.sendall(memoryview(buf)[:n])
        except OSError:
            return
        finally:
            conn.close()

    def close(self) -> None:
        self.server.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.close()


def echo_once(conn: sockrt.Socket, payload: bytes) -> bytes:
    conn.settimeout(WAIT)
    conn.sendall(payload)
    return conn.recv_exact(len(payload))


def test_pool_reuses_released_connections(echo):
    with sockrt.Pool("127.0.0.1", echo.port) as pool:
        for i in range(5):
            with pool.acquire() as conn:
                assert isinstance(conn, sockrt.Socket)
                assert conn.was_reused == (i > 0)
                assert echo_once(conn, b"hello %d" % i) == b"hello %d" % i
            assert conn.closed  # the lease ended
        stats = pool.stats()
        assert isinstance(stats, sockrt.PoolStats)
        assert stats.created == 1 and stats.reused == 4
        assert stats.idle == 1 and stats.in_use == 0
        assert "created=1" in stats.format()
    assert echo.accepted == 1


def test_acquire_discards_on_exception(echo):
    with sockrt.Pool("127.0.0.1", echo.port) as pool:
        with pytest.raises(RuntimeError), pool.acquire() as conn:
            echo_once(conn, b"x")
            raise RuntimeError("request failed")
        assert conn.closed
        stats = pool.stats()
        assert stats.closed_broken == 1 and stats.idle == 0 and stats.in_use == 0
        with pool.acquire() as conn:
            assert not conn.was_reused
        assert pool.stats().created == 2


def test_explicit_release_and_discard(echo):
    start = sockrt.open_handles()
    with sockrt.Pool("127.0.0.1", echo.port, max_idle=2) as pool:
        a = pool.acquire()
        b = pool.acquire()
        assert pool.stats().in_use == 2
        echo_once(a, b"a")
        a.release()
        a.release()  # idempotent
        b.discard()
        b.discard()
        with pytest.raises(OSError) as info:
            a.recv(1)
        assert info.value.errno == errno.EBADF
        stats = pool.stats()
        assert (stats.idle, stats.in_use, stats.closed_broken) == (1, 0, 1)
        c = pool.acquire()
        c.close()  # close of a pooled connection discards it
        assert pool.stats().in_use == 0
    # The echo server closes its side of each connection once it sees EOF.
    deadline = time.monotonic() + WAIT
    while sockrt.open_handles() != start and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sockrt.open_handles() == start


def test_pool_exhausted_is_a_timeout(echo):
    pool = sockrt.Pool("127.0.0.1", echo.port, max_total=1, acquire_timeout=0.1)
    with pool, pool.acquire():
        start = time.monotonic()
        with pytest.raises(TimeoutError) as info:
            pool.acquire()
        assert time.monotonic() - start < 2.0
        assert isinstance(info.value, sockrt.PoolExhausted)
        assert info.value.code == sockrt.E_POOL_EXHAUSTED
        assert pool.stats().timeouts == 1


def test_waiting_acquire_gets_the_released_connection(echo):
    with sockrt.Pool("127.0.0.1", echo.port, max_total=1, acquire_timeout=WAIT) as pool:
        first = pool.acquire()
        thread, outcome = run_in_thread(pool.acquire)
        time.sleep(0.1)
        first.release()
        thread.join(WAIT)
        conn = outcome["result"]
        assert conn.was_reused
        conn.release()
        assert pool.stats().waits == 1


def test_close_wakes_queued_acquire_with_pool_closed(echo):
    pool = sockrt.Pool("127.0.0.1", echo.port, max_total=1, acquire_timeout=None)
    leased = pool.acquire()
    thread, outcome = run_in_thread(pool.acquire)
    time.sleep(0.15)
    pool.close()
    thread.join(WAIT)
    assert isinstance(outcome.get("error"), sockrt.PoolClosed)
    # A leased connection outlives its pool and still ends cleanly.
    assert echo_once(leased, b"still") == b"still"
    leased.release()
    assert leased.closed
    with pytest.raises(sockrt.PoolClosed):
        pool.acquire()
    pool.close()  # idempotent


def test_refused_connection_surfaces_from_acquire():
    free = sockrt.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    with sockrt.Pool("127.0.0.1", port, connect_timeout=1.0) as pool, pytest.raises(
        ConnectionRefusedError
    ):
        pool.acquire()


def test_stale_connection_is_not_handed_out(echo):
    with sockrt.Pool("127.0.0.1", echo.port) as pool:
        with pool.acquire() as conn:
            echo_once(conn, b"x")
        for server_side in echo.conns:
            server_side.close()  # the server hangs up on the idle connection
        time.sleep(0.1)
        with pool.acquire() as conn:
            assert not conn.was_reused
            assert echo_once(conn, b"y") == b"y"
        assert pool.stats().closed_stale == 1


def test_pool_argument_checks():
    with pytest.raises(TypeError):
        sockrt.Pool("127.0.0.1", 80, max_idle="8")
    with pytest.raises(ValueError):
        sockrt.Pool("127.0.0.1", 80, max_total=-1)
    with pytest.raises(ValueError):
        sockrt.Pool("127.0.0.1", 80, connect_timeout=-1)
    with pytest.raises(TypeError):
        sockrt.Pool(None, 80)
    with pytest.raises(sockrt.Error):
        sockrt.Pool("127.0.0.1", 0)  # the library refuses port 0


def test_pool_from_threads(echo):
    errors = []

    def work(tag: int) -> None:
        for i in range(25):
            msg = b"%d-%d" % (tag, i)
            try:
                with pool.acquire() as conn:
                    if echo_once(conn, msg) != msg:
                        errors.append(msg)
            except OSError as exc:
                errors.append(exc)

    with sockrt.Pool("127.0.0.1", echo.port, max_total=3) as pool:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT * 2)
        stats = pool.stats()
    assert errors == []
    assert stats.created <= 3 and stats.created + stats.reused == 100


def test_gc_of_a_leased_connection_frees_its_slot(echo):
    import gc

    with sockrt.Pool("127.0.0.1", echo.port, max_total=1, acquire_timeout=0.5) as pool:
        pool.acquire()  # dropped at once
        gc.collect()
        with pool.acquire() as conn:
            assert echo_once(conn, b"z") == b"z"


def test_fresh_acquire_never_hands_out_a_reused_connection(echo):
    with sockrt.Pool("127.0.0.1", echo.port, max_total=2) as pool:
        with pool.acquire() as conn:
            assert echo_once(conn, b"one") == b"one"
        with pool.acquire() as conn:
            assert conn.was_reused  # the idle one
        with pool.acquire(fresh=True) as conn:
            assert not conn.was_reused
            assert echo_once(conn, b"two") == b"two"
        assert pool.stats().created == 2
