"""sockrt.selectors against the standard library: every scenario runs on
selectors.DefaultSelector and on SockrtSelector, with standard and sockrt
sockets, so a difference in behaviour shows as a failure."""

from __future__ import annotations

import asyncio
import os
import selectors
import socket as stdsocket
import threading
import time

import pytest

import sockrt
from sockrt.selectors import E_WOULD_BLOCK, Poller, SockrtSelector, send_many

WAIT = 5.0
SELECTORS = [selectors.DefaultSelector, SockrtSelector]
R, W = selectors.EVENT_READ, selectors.EVENT_WRITE


def ready_of(sel, timeout=0.0):
    return sorted((key.fd, mask) for key, mask in sel.select(timeout))


def wait_ready(sel, fd, mask):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        got = dict(ready_of(sel, 0.1))
        if got.get(fd, 0) & mask == mask:
            return got
    raise AssertionError(f"fd {fd} never became ready for {mask}")


@pytest.mark.parametrize("make", SELECTORS, ids=lambda c: c.__name__)
def test_register_select_modify_unregister_like_the_standard_one(make):
    a, b = stdsocket.socketpair()
    with a, b, make() as sel:
        key = sel.register(a, R, data="a")
        assert key.fd == a.fileno() and key.data == "a" and key.events == R
        assert sel.get_key(a) == key and len(sel.get_map()) == 1
        assert ready_of(sel) == []
        b.send(b"x")
        assert wait_ready(sel, a.fileno(), R) == {a.fileno(): R}
        assert ready_of(sel) == [(a.fileno(), R)], "level-triggered"
        key = sel.modify(a, R | W, data="both")
        assert key.data == "both"
        assert ready_of(sel) == [(a.fileno(), R | W)]
        assert sel.modify(a, W).events == W
        assert ready_of(sel) == [(a.fileno(), W)]
        with pytest.raises(KeyError):
            sel.register(a, R)
        with pytest.raises(ValueError):
            sel.register(b, 0)
        with pytest.raises(KeyError):
            sel.unregister(b)
        assert sel.unregister(a).data is None, "modify without data clears it"
        assert ready_of(sel) == [] and len(sel.get_map()) == 0
        with pytest.raises(KeyError):
            sel.get_key(a)
        start = time.monotonic()
        assert sel.select(0.05) == []
        assert time.monotonic() - start >= 0.04, "a timeout is honoured"


@pytest.mark.parametrize("make", SELECTORS, ids=lambda c: c.__name__)
def test_peer_hang_up_is_readable(make):
    a, b = stdsocket.socketpair()
    with a, make() as sel:
        sel.register(a, R)
        b.close()
        assert wait_ready(sel, a.fileno(), R)[a.fileno()] & R
        assert a.recv(1) == b""


def test_sockrt_socket_readiness_matches_the_default_selector(pair):
    client, served = pair
    with SockrtSelector() as ours, selectors.DefaultSelector() as theirs:
        ours.register(served, R)          # by handle
        theirs.register(served.fileno(), R)
        assert ready_of(ours) == ready_of(theirs) == []
        client.sendall(b"hello")
        wait_ready(theirs, served.fileno(), R)
        assert ready_of(ours, 1.0) == ready_of(theirs) == [(served.fileno(), R)]
        assert served.recv(16) == b"hello"
        assert ready_of(ours) == ready_of(theirs) == []


def test_closing_a_registered_sockrt_socket_reports_it_once(listener):
    client = sockrt.create_connection(listener.getsockname(), timeout=WAIT)
    served, _ = listener.accept()
    with client, SockrtSelector() as sel:
        fd = served.fileno()
        sel.register(served, R, data="s")
        done = []
        waiter = threading.Thread(target=lambda: done.append(sel.select(WAIT)))
        waiter.start()
        time.sleep(0.05)
        assert waiter.is_alive()
        served.close()
        waiter.join(WAIT)
        assert not waiter.is_alive(), "the close woke the select"
        [(key, mask)] = done[0]
        assert key.fd == fd and key.data == "s" and mask == R
        assert sel.select(0) == [], "reported once"
        sel.unregister(served)           # a closed socket is found by identity
        assert len(sel.get_map()) == 0


def test_closed_selector_refuses_and_releases_its_handle():
    before = sockrt._open_handles()
    sel = SockrtSelector()
    assert sockrt._open_handles() == before + 1
    sel.close()
    sel.close()
    assert sockrt._open_handles() == before
    with pytest.raises(RuntimeError):
        sel.select(0)


def echo_server_loop(sel, listener, stop_after):
    """The selectors module's own echo example, bounded."""
    listener.setblocking(False)
    sel.register(listener, R, data=None)
    served = 0
    deadline = time.monotonic() + WAIT
    while served < stop_after and time.monotonic() < deadline:
        for key, _ in sel.select(0.2):
            if key.data is None:
                conn, _ = key.fileobj.accept()
                conn.setblocking(False)
                sel.register(conn, R, data=b"")
            else:
                conn = key.fileobj
                data = conn.recv(4096)
                if data:
                    conn.sendall(data.upper())
                else:
                    sel.unregister(conn)
                    conn.close()
                    served += 1
    for key in list(sel.get_map().values()):
        sel.unregister(key.fileobj)
        key.fileobj.close()


@pytest.mark.parametrize("make", SELECTORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("module", [stdsocket, sockrt], ids=["stdlib-sockets", "sockrt-sockets"])
def test_selectors_echo_server_serves_standard_clients(make, module):
    listener = module.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    with make() as sel:
        thread = threading.Thread(target=echo_server_loop, args=(sel, listener, 5))
        thread.start()
        replies = []
        for i in range(5):
            with stdsocket.create_connection(("127.0.0.1", port), timeout=WAIT) as c:
                c.sendall(f"hello {i}".encode())
                replies.append(c.recv(100))
        thread.join(WAIT)
        assert not thread.is_alive()
    assert replies == [f"HELLO {i}".encode() for i in range(5)]


async def _asyncio_echo_round_trips(n):
    async def handle(reader, writer):
        while data := await reader.read(4096):
            writer.write(data[::-1])
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    out = []
    async with server:
        clients = [await asyncio.open_connection("127.0.0.1", port) for _ in range(n)]
        for i, (_reader, writer) in enumerate(clients):
            writer.write(f"abc{i}".encode())
        for reader, writer in clients:
            await writer.drain()
            out.append(await asyncio.wait_for(reader.read(100), WAIT))
            writer.close()
            await writer.wait_closed()
        await asyncio.sleep(0.01)
        out.append(await asyncio.wait_for(asyncio.sleep(0.05, "timer"), WAIT))
    return out


@pytest.mark.parametrize("make", SELECTORS, ids=lambda c: c.__name__)
def test_asyncio_selector_event_loop_runs_on_it(make):
    loop = asyncio.SelectorEventLoop(selector=make())
    try:
        got = loop.run_until_complete(asyncio.wait_for(_asyncio_echo_round_trips(20), 20))
    finally:
        loop.close()
    assert got == [f"abc{i}".encode()[::-1] for i in range(20)] + ["timer"]


def test_asyncio_call_soon_threadsafe_wakes_the_loop():
    loop = asyncio.SelectorEventLoop(selector=SockrtSelector())
    try:
        fut = loop.create_future()
        threading.Timer(0.05, loop.call_soon_threadsafe, (fut.set_result, 42)).start()
        start = time.monotonic()
        assert loop.run_until_complete(asyncio.wait_for(fut, WAIT)) == 42
        assert time.monotonic() - start < WAIT
    finally:
        loop.close()


def test_send_many_gives_each_stream_what_sendall_would(listener):
    clients, served = [], []
    for _ in range(10):
        c = stdsocket.create_connection(listener.getsockname(), timeout=WAIT)
        s, _ = listener.accept()
        clients.append(c)
        served.append(s)
    try:
        msg = b"event: 1\n\n" * 10
        results = send_many(served, msg)
        assert results == [len(msg)] * 10
        for c in clients:
            got = b""
            while len(got) < len(msg):
                got += c.recv(4096)
            assert got == msg
        # A peer that never reads: its buffer fills, the others carry on.
        served[0].setsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_SNDBUF, 4096)
        for _ in range(10000):
            results = send_many([served[0], served[1].handle], msg)
            clients[1].recv(65536)
            if results[0] == E_WOULD_BLOCK:
                break
        assert results[0] == E_WOULD_BLOCK and results[1] == len(msg)
        closed = served.pop()
        closed.close()
        assert send_many([closed.handle], msg) == [sockrt.E_BAD_HANDLE]
        assert send_many([], msg) == []
    finally:
        for s in clients + served:
            s.close()


def test_poller_wake_ends_a_wait_in_another_thread():
    with Poller() as p:
        got = []
        t = threading.Thread(target=lambda: got.append(p.wait(10_000)))
        t.start()
        time.sleep(0.05)
        p.wake()
        t.join(WAIT)
        assert got == [[]]


def test_a_signal_runs_its_handler_and_the_select_goes_on():
    import signal

    fired = []
    previous = signal.signal(signal.SIGUSR1, lambda *_: fired.append(1))
    try:
        with SockrtSelector() as sel:
            a, b = stdsocket.socketpair()
            with a, b:
                sel.register(a, R)
                threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGUSR1)).start()
                start = time.monotonic()
                assert sel.select(0.6) == []
                took = time.monotonic() - start
        assert fired == [1]
        assert 0.55 <= took < 3.0, took
    finally:
        signal.signal(signal.SIGUSR1, previous)
