"""Signals during blocking calls (PEP 475), in child processes so that the
signals never reach the test runner: Ctrl-C (SIGINT) ends a call blocked
with no timeout by raising KeyboardInterrupt at once; a handler that returns
lets the call go on, and a call with a timeout still times out on time.
The standard module does the same where it has the call."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import WAIT

import sockrt
from sockrt import _ffi

pytestmark = pytest.mark.skipif(
    not _ffi.has("sockrt_set_interruptible"), reason="library has no sockrt_set_interruptible()"
)

CHILD = r"""
import json, signal, sys, time
MOD, OP, TIMEOUT = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if MOD == "sockrt":
    import sockrt as mod
else:
    import socket as mod
handled = []
signal.signal(signal.SIGALRM, lambda *a: handled.append(time.monotonic()))

listener = mod.create_server(("127.0.0.1", 0))
peer = mod.create_connection(listener.getsockname())
conn, _ = listener.accept()
target = conn
if OP == "accept":
    target = listener
if OP == "acquire":
    pool = mod.Pool("127.0.0.1", listener.getsockname()[1], max_total=1,
                    acquire_timeout=TIMEOUT)
    lease = pool.acquire()
else:
    target.settimeout(TIMEOUT)
calls = {
    "recv": lambda: conn.recv(10),
    "recv_into": lambda: conn.recv_into(bytearray(10)),
    "recv_exact": lambda: conn.recv_exact(10),
    "accept": lambda: listener.accept(),
    "acquire": lambda: pool.acquire(),
}
if TIMEOUT is not None:
    signal.setitimer(signal.ITIMER_REAL, 0.3)
print("ready", flush=True)
start = time.monotonic()
try:
    calls[OP]()
    outcome = "returned"
except KeyboardInterrupt:
    outcome = "KeyboardInterrupt"
except TimeoutError:
    outcome = "timeout"
end = time.monotonic()
print(json.dumps({"outcome": outcome, "start": start, "end": end, "handled": handled}),
      flush=True)
"""


def wait_sleeping(pid: int) -> None:
    """Until the child's main thread sleeps in the kernel (three readings)."""
    deadline = time.monotonic() + WAIT
    streak = 0
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/task/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        streak = streak + 1 if state == "S" else 0
        if streak >= 3:
            return
        time.sleep(0.002)
    pytest.fail("the child never blocked")


def start_child(mod: str, op: str, timeout) -> subprocess.Popen:  # noqa: ANN001
    env = dict(os.environ)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, mod, op, json.dumps(timeout)],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "ready", line
    return child


def finish(child: subprocess.Popen) -> dict:
    try:
        out, _ = child.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        pytest.fail("the child did not finish")
    return json.loads(out.strip().splitlines()[-1])


CASES = [("socket", "recv"), ("socket", "recv_into"), ("socket", "accept"),
         ("sockrt", "recv"), ("sockrt", "recv_into"), ("sockrt", "accept"),
         ("sockrt", "recv_exact"),
         ("sockrt", "acquire")]


@pytest.mark.parametrize("mod,op", CASES)
def test_sigint_interrupts_a_call_blocked_without_timeout(mod, op):
    child = start_child(mod, op, None)
    wait_sleeping(child.pid)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    result = finish(child)
    assert result["outcome"] == "KeyboardInterrupt"
    assert result["end"] - sent < 0.1


@pytest.mark.parametrize("mod,op", CASES)
def test_a_handler_that_returns_lets_the_timeout_run_its_course(mod, op):
    child = start_child(mod, op, 1.0)
    result = finish(child)
    assert result["outcome"] == "timeout"
    # The handler ran during the call, when the timer fired, not at its end...
    assert len(result["handled"]) == 1
    assert result["handled"][0] - result["start"] < 0.6
    # ...and the call still timed out after about its 1 s.
    assert 0.9 <= result["end"] - result["start"] < 1.5


def test_set_interruptible_is_per_thread():
    import threading

    previous = {}

    def other() -> None:
        previous["other"] = _ffi.set_interruptible(0)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(WAIT)
    assert previous["other"] == 0  # a new thread keeps the library's default
    if threading.current_thread() is threading.main_thread() and sockrt._socket._interruptible:
        assert _ffi.set_interruptible(1) == 1  # the main thread asked for it


PROGRESS_CHILD = r"""
import json, signal, sys, threading, time
if sys.argv[2] == "sockrt":
    import sockrt as mod
else:
    import socket as mod
OP = sys.argv[1]
alarmed = threading.Event()
signal.signal(signal.SIGALRM, lambda *a: alarmed.set())
listener = mod.create_server(("127.0.0.1", 0))
a = mod.create_connection(listener.getsockname())
b, _ = listener.accept()
payload = bytes(range(256)) * (256 * 1024)  # 64 MiB: more than the socket buffers
got = {}

def peer():
    if OP != "sendall":
        b.sendall(payload[:5])           # part of what the receiver waits for
        alarmed.wait(10)
        b.sendall(payload[5:10])
    else:
        alarmed.wait(3)                  # the sender is blocked mid-way meanwhile
        got["alarm_seen"] = alarmed.is_set()
        view = bytearray(len(payload))
        n = 0
        while n < len(payload):
            n += b.recv_into(memoryview(view)[n:])
        got["data"] = bytes(view)

t = threading.Thread(target=peer)
t.start()
signal.setitimer(signal.ITIMER_REAL, 0.3)
if OP == "recv_exact":
    data = a.recv_exact(10)
    ok = data == payload[:10]

else:
    a.sendall(payload)
    t.join(10)
    # The handler must have run while sendall was blocked, not after it.
    ok = got.get("data") == payload and got.get("alarm_seen")
t.join(10)
print(json.dumps({"ok": bool(ok), "alarmed": alarmed.is_set()}), flush=True)
"""


@pytest.mark.parametrize("op,mod", [
    ("recv_exact", "sockrt"),
    ("sendall", "socket"),
    ("sendall", "sockrt"),
])
def test_an_interrupted_call_goes_on_from_the_bytes_already_moved(op, mod):
    done = subprocess.run(
        [sys.executable, "-c", PROGRESS_CHILD, op, mod], capture_output=True, text=True,
        timeout=60, env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"ok": True, "alarmed": True}
