"""Tests of the demo driver itself, with stand-in programs (fake_peer.py):
it must pass only when every cell verified, report what is missing or lying,
and stop every server it started, even one that ignores SIGTERM.

    python3 -m unittest examples/demo/test_demo.py     (or: make test-demo-driver)
"""

import os
import shlex
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "demo.py")
FAKE = os.path.join(HERE, "fake_peer.py")
ROLES = ("SERVER", "CLIENT", "POOL")
LANGS = ("C", "PYTHON", "JAVA")


def fake(mode: str) -> str:
    return f"{shlex.quote(sys.executable)} {shlex.quote(FAKE)} {mode}"


def all_good() -> dict:
    """Every command set to a stand-in that follows the contract."""
    env = {
        f"DEMO_{lang}_{role}": fake(role.lower()) for lang in LANGS for role in ROLES
    }
    # udp_echo takes its role first (`udp_echo server|client HOST PORT N`),
    # so the bare stand-in plays it: the driver only reads the lines.
    env["DEMO_C_UDP"] = f"{shlex.quote(sys.executable)} {shlex.quote(FAKE)}"
    return env


class DemoDriverTest(unittest.TestCase):
    def setUp(self):
        self.pid_dir = tempfile.mkdtemp()

    def run_driver(self, commands: dict) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
        env.update(commands)
        env.update(
            FAKE_PID_DIR=self.pid_dir,
            DEMO_COUNT="5",
            DEMO_START_TIMEOUT_S="2",
            DEMO_STOP_GRACE_S="0.5",
            DEMO_CLIENT_TIMEOUT_S="10",
        )
        return subprocess.run(
            [sys.executable, DRIVER],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def assert_servers_gone(self):
        pids = [int(name) for name in os.listdir(self.pid_dir)]
        self.assertTrue(pids, "no server was started")
        deadline = time.monotonic() + 2
        for pid in pids:
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.02)
            self.assertFalse(_alive(pid), f"server {pid} still running")

    def test_passes_when_every_cell_verifies(self):
        result = self.run_driver(all_good())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("PASS: 22/22 cells verified", result.stdout)
        self.assertIn("Unix stream socket", result.stdout)
        self.assert_servers_gone()

    def test_missing_programs_fail_and_are_named(self):
        commands = all_good()
        del commands["DEMO_JAVA_CLIENT"]
        commands["DEMO_JAVA_SERVER"] = ""
        result = self.run_driver(commands)
        self.assertEqual(result.returncode, 1)
        self.assertIn("MISSING echo: C server / Java client", result.stdout)
        self.assertIn("MISSING unix: C server / Java client", result.stdout)
        self.assertIn("server command DEMO_JAVA_SERVER is empty", result.stdout)
        self.assertIn("FAIL: 12/22 cells verified", result.stdout)

    def test_a_client_that_claims_too_little_fails(self):
        commands = all_good()
        commands["DEMO_PYTHON_CLIENT"] = fake("liar-client")
        commands["DEMO_JAVA_POOL"] = fake("crash-client")
        result = self.run_driver(commands)
        self.assertEqual(result.returncode, 1)
        self.assertIn("reported 4 messages", result.stdout)
        self.assertIn("something went wrong", result.stdout)
        self.assertIn("FAIL: 15/22 cells verified", result.stdout)
        self.assert_servers_gone()

    def test_a_server_ignoring_sigterm_is_killed_and_reported(self):
        commands = all_good()
        commands["DEMO_PYTHON_SERVER"] = fake("deaf-server")
        result = self.run_driver(commands)
        self.assertEqual(result.returncode, 1)
        self.assertIn("Python echo: exit status -9", result.stdout)
        self.assertIn("Python unix: exit status -9", result.stdout)
        self.assertIn("22/22 cells verified; 2 server(s) did not exit 0", result.stdout)
        self.assert_servers_gone()

    def test_a_server_that_never_listens_fails_its_row(self):
        commands = all_good()
        commands["DEMO_JAVA_SERVER"] = fake("silent-server")
        result = self.run_driver(commands)
        self.assertEqual(result.returncode, 1)
        self.assertIn("no LISTENING line within 2s", result.stdout)
        self.assertIn("FAIL: 16/22 cells verified", result.stdout)
        self.assert_servers_gone()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose; its parent (the driver) has exited.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except OSError:
        return False
    return True


if __name__ == "__main__":
    unittest.main()
