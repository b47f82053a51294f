"""The examples' command-line contract: echo_server, echo_client, pool_client."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
from conftest import EXAMPLES

RESULT = re.compile(r"^RESULT messages=(\d+) bytes=(\d+) mean_rtt_us=(\d+(?:\.\d+)?)$")


def expected_bytes(count: int) -> int:
    sys.path.insert(0, str(EXAMPLES))
    try:
        from echo_client import message
    finally:
        sys.path.remove(str(EXAMPLES))
    return sum(len(message(i)) for i in range(count))


@pytest.fixture
def echo_server():
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "echo_server.py"), "127.0.0.1", "0", "20"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(r"LISTENING (\S+) (\d+)\n", line)
        assert match, f"unexpected first line {line!r}; stderr: {proc.stderr.read()}"
        yield proc, match.group(1), int(match.group(2))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def run_example(name: str, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *map(str, args)],
        capture_output=True, text=True, timeout=60, env=dict(os.environ),
    )


def check_result(proc: subprocess.CompletedProcess, count: int) -> list:
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    match = RESULT.match(lines[-1])
    assert match, lines
    assert int(match.group(1)) == count
    assert int(match.group(2)) == expected_bytes(count)
    assert float(match.group(3)) > 0
    return lines


def test_echo_client_against_echo_server(echo_server):
    _, host, port = echo_server
    check_result(run_example("echo_client.py", host, port, 300), 300)


def test_echo_client_default_count(echo_server):
    _, host, port = echo_server
    check_result(run_example("echo_client.py", host, port), 100)


def test_pool_client_prints_stats_then_result(echo_server):
    _, host, port = echo_server
    lines = check_result(run_example("pool_client.py", host, port, 200), 200)
    stats = lines[-2]
    assert stats.startswith("STATS created=")
    fields = dict(item.split("=") for item in stats.split()[1:])
    assert int(fields["created"]) + int(fields["reused"]) == 200
    assert 1 <= int(fields["created"]) <= 4


def test_echo_server_exits_zero_on_sigterm(echo_server):
    proc, host, port = echo_server
    check_result(run_example("echo_client.py", host, port, 5), 5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_echo_server_exits_zero_after_its_seconds():
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "echo_server.py"), "127.0.0.1", "0", "0.3"],
        capture_output=True, text=True, timeout=30, env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"LISTENING 127\.0\.0\.1 \d+\n", proc.stdout)


def test_echo_client_fails_without_a_server():
    from sockrt import create_server

    free = create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    proc = run_example("echo_client.py", "127.0.0.1", port, 3)
    assert proc.returncode == 1
    assert proc.stdout.strip().splitlines()[-1].startswith("RESULT messages=0 bytes=0")


def test_http_fetch_runs_urllib_on_sockrt(tmp_path):
    import functools
    import http.server
    import threading

    (tmp_path / "page.txt").write_bytes(b"x" * 1234)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/page.txt"
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / "http_fetch.py"), url, url],
            capture_output=True, text=True, timeout=60, env=dict(os.environ),
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert done.returncode == 0, done.stderr
    expected = f"GET {url} 200 1234 bytes via sockrt._socket.socket"
    assert done.stdout.splitlines() == [expected, expected]
