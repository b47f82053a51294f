"""Shared fixtures: loopback listeners and connected pairs, all closed after
each test, every wait bounded."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Tuple

import pytest

import sockrt

REPO = Path(__file__).resolve().parents[3]
HEADER = REPO / "include" / "sockrt.h"
EXAMPLES = REPO / "examples" / "python"

# Longest any test waits for something that should happen at once.
WAIT = 5.0


@pytest.fixture
def listener() -> Iterator[sockrt.Socket]:
    server = sockrt.create_server(("127.0.0.1", 0))
    server.settimeout(WAIT)
    yield server
    server.close()


@pytest.fixture
def pair(listener: sockrt.Socket) -> Iterator[Tuple[sockrt.Socket, sockrt.Socket]]:
    """(client, server side) of one TCP connection, both with a timeout."""
    client = sockrt.create_connection(listener.getsockname(), timeout=WAIT)
    served, _ = listener.accept()
    served.settimeout(WAIT)
    yield client, served
    client.close()
    served.close()


def thread_state(tid: int) -> str:
    """The kernel's state letter for thread tid of this process."""
    with open(f"/proc/self/task/{tid}/stat") as f:
        # "tid (comm) S ...": comm may hold spaces, so split after the ")".
        return f.read().rsplit(")", 1)[1].split()[0]


def wait_thread_sleeping(tid: int, timeout: float = WAIT) -> None:
    """Waits until thread tid is blocked in a system call (state S, three
    readings in a row, so a thread merely between calls is not taken for
    blocked); fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    streak = 0
    while time.monotonic() < deadline:
        streak = streak + 1 if thread_state(tid) == "S" else 0
        if streak >= 3:
            return
        time.sleep(0.002)
    pytest.fail(f"thread {tid} never blocked within {timeout} s")


def run_in_thread(target: Callable[[], object]) -> Tuple[threading.Thread, dict]:
    """Starts target in a daemon thread; the dict gets "result" or "error"."""
    outcome: dict = {}

    def body() -> None:
        try:
            outcome["result"] = target()
        except BaseException as exc:  # reported to the test through outcome
            outcome["error"] = exc

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, outcome
