#!/usr/bin/env python3
"""Cross-language demo of libsockrt: C, Python and Java echo programs talk to
each other through the one runtime.

Runs a 3x3 matrix (an echo server in each language, a client in each language
against it) over loopback TCP, the same 3x3 matrix over one Unix socket path,
then a pooled run from each language against the C server and the C UDP
example, and prints one table. Exits 0 only if every cell verified its
bytes and every server it started shut down cleanly.

The commands come from the environment (the `demo` rule in examples/examples.mk
sets them), so this script knows no paths:

    DEMO_<LANG>_<ROLE>   LANG in C, PYTHON, JAVA; ROLE in SERVER, CLIENT, POOL;
                         plus DEMO_C_UDP. A command prefix (shell words; leading
                         NAME=value words become environment variables) to which
                         the script appends HOST PORT [COUNT|SECONDS]. Empty or
                         unset: that program is missing and its cells fail.
                         For the Unix rows HOST is a socket path (it contains a
                         '/') and PORT is 0; a server prints "LISTENING <path> 0".
    DEMO_HOST            loopback address to use (default 127.0.0.1)
    DEMO_COUNT           messages per cell (default 100)
    DEMO_START_TIMEOUT_S, DEMO_CLIENT_TIMEOUT_S, DEMO_STOP_GRACE_S
                         time limits (defaults 30, 30, 5 seconds)

Only the standard library is used.
"""

import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

LANGUAGES = ("C", "Python", "Java")


def _seconds(name: str, default: float) -> float:
    """A time limit from the environment (the driver's own tests shorten them)."""
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


# A cold JVM can take a few seconds to print its LISTENING line.
SERVER_START_TIMEOUT_S = _seconds("DEMO_START_TIMEOUT_S", 30.0)
CLIENT_TIMEOUT_S = _seconds("DEMO_CLIENT_TIMEOUT_S", 30.0)
STOP_GRACE_S = _seconds("DEMO_STOP_GRACE_S", 5.0)  # after SIGTERM, before SIGKILL
SERVER_LIFETIME_S = 120  # servers also stop on their own if the driver dies

RESULT_RE = re.compile(
    r"^RESULT messages=(\d+) bytes=(\d+) mean_rtt_us=(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*$"
)
LISTENING_RE = re.compile(r"^LISTENING (\S+) (\d+)\s*$")


class DemoStopped(Exception):
    """Raised by the SIGTERM handler so every `finally` still stops servers."""


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str]


def variable_for(lang: str, role: str) -> str:
    return f"DEMO_{lang.upper()}_{role.upper()}"


def command_for_variable(name: str) -> Command | None:
    """The command prefix held by one variable, or None when it is empty."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    words = shlex.split(text)
    env = dict(os.environ)
    # Leading NAME=value words set the environment, as in a shell.
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    return Command(words, env) if words else None


@dataclass
class Cell:
    """One run of a client: what it printed and whether it verified."""

    server: str
    client: str
    kind: str = "echo"  # echo, pool or UDP
    status: str = ""  # ok, FAIL, MISSING; empty until run
    messages: int = 0
    bytes: int = 0
    mean_rtt_us: float = 0.0
    stats: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    command: str = ""  # the client command line, shown when the cell fails

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def stop_process_group(proc: subprocess.Popen) -> None:
    """SIGKILL whatever is left of the group we started (wrappers, children)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def tail(text: str, lines: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class Server:
    """An echo server process started on port 0; stopped by PID on exit."""

    def __init__(self, label: str, cmd: Command, host: str, extra: list[str]):
        self.label = label
        self.cmd = cmd
        self.host = host
        self.extra = extra
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.exit_status: int | None = None
        # Kept open for the server's lifetime; stop() closes it.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        self._lines: queue.Queue[str | None] = queue.Queue()

    def start(self) -> None:
        """Starts the server and waits for its LISTENING line; raises
        RuntimeError if it does not come (the caller still calls stop)."""
        argv = self.cmd.argv + self.extra + [self.host, "0", str(SERVER_LIFETIME_S)]
        # Its own session, so a wrapper script and its children can be
        # killed together as a last resort.
        try:
            self.proc = subprocess.Popen(
                argv,
                env=self.cmd.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:
            raise RuntimeError(f"cannot start {argv[0]}: {exc}") from exc
        threading.Thread(target=self._drain_stdout, daemon=True).start()
        self.port = self._await_listening()

    def _drain_stdout(self) -> None:
        # Keeps reading so a chatty server never blocks on a full pipe.
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _await_listening(self) -> int:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(
                    f"no LISTENING line within {SERVER_START_TIMEOUT_S:.0f}s"
                )
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"exited before listening: {self.stderr_tail()}")
            match = LISTENING_RE.match(line)
            if match:
                return int(match.group(2))

    def stderr_tail(self) -> str:
        self._stderr.seek(0)
        return tail(self._stderr.read()) or "(no stderr)"

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL after the grace period; records the
        exit status (0 is the clean shutdown the contract asks for)."""
        proc = self.proc
        if proc is None or self.exit_status is not None:
            self._stderr.close()
            return
        try:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                self.exit_status = proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                self.exit_status = proc.wait()
        finally:
            stop_process_group(proc)
            self._stderr.close()


def run_client(
    cell: Cell, cmd: Command, host: str, port: int, count: int, extra: list[str]
) -> Cell:
    """Runs one client to completion and fills in the cell from its RESULT."""
    argv = cmd.argv + extra + [host, str(port), str(count)]
    cell.command = shlex.join(argv)
    try:
        proc = subprocess.Popen(
            argv,
            env=cmd.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except OSError as exc:
        cell.status, cell.detail = "FAIL", f"cannot start {argv[0]}: {exc}"
        return cell
    try:
        out, err = proc.communicate(timeout=CLIENT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        cell.status, cell.detail = "FAIL", f"timed out after {CLIENT_TIMEOUT_S:.0f}s"
        return cell
    finally:
        stop_process_group(proc)
    found = parse_client_output(cell, out)
    if proc.returncode != 0:
        problem = f"exit status {proc.returncode}: " + (
            tail(err) or tail(out) or "no output"
        )
    elif not found:
        problem = "no RESULT line"
    elif cell.messages != count or cell.bytes < count:  # each message is >= 1 byte
        problem = f"reported {cell.messages} messages, {cell.bytes} bytes for {count} messages"
    else:
        problem = ""
    cell.status, cell.detail = ("FAIL", problem) if problem else ("ok", "")
    return cell


def parse_client_output(cell: Cell, out: str) -> bool:
    """Fills the cell from the STATS and RESULT lines; False if no RESULT."""
    found = False
    for line in out.splitlines():
        if line.startswith("STATS "):
            cell.stats = dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
        match = RESULT_RE.match(line)
        if match:  # the last RESULT line wins
            cell.messages = int(match.group(1))
            cell.bytes = int(match.group(2))
            cell.mean_rtt_us = float(match.group(3))
            found = True
    return found


@dataclass
class Shutdown:
    server: str
    status: int | None

    @property
    def ok(self) -> bool:
        return self.status == 0


class Demo:
    def __init__(self, host: str, count: int):
        self.host = host
        self.count = count
        self.matrix: list[Cell] = []
        self.pooled: list[Cell] = []
        self.udp: list[Cell] = []
        self.unix: list[Cell] = []
        self.unix_path = ""
        self.shutdowns: list[Shutdown] = []

    def run_with_server(
        self,
        label: str,
        server_var: str,
        clients: list[Cell],
        client_vars: list[str],
        server_extra: tuple[str, ...] = (),
        client_extra: tuple[str, ...] = (),
        host: str | None = None,
    ) -> None:
        """Starts one server, runs each client against it, stops the server.
        Programs are named by the variable holding their command; `host`
        (a Unix socket path, say) replaces the demo's loopback address."""
        host = host or self.host
        server_cmd = command_for_variable(server_var)
        if server_cmd is None:
            for cell in clients:
                cell.status, cell.detail = (
                    "MISSING",
                    f"server command {server_var} is empty",
                )
            return
        server = Server(label, server_cmd, host, list(server_extra))
        try:
            server.start()
            for cell, var in zip(clients, client_vars):
                cmd = command_for_variable(var)
                if cmd is None:
                    cell.status, cell.detail = (
                        "MISSING",
                        f"client command {var} is empty",
                    )
                    continue
                run_client(cell, cmd, host, server.port, self.count, list(client_extra))
        except RuntimeError as exc:
            for cell in clients:
                if not cell.status:
                    cell.status, cell.detail = "FAIL", f"{label} server: {exc}"
        finally:
            server.stop()
            if server.proc is not None:
                self.shutdowns.append(Shutdown(label, server.exit_status))

    def run(self) -> None:
        for server_lang in LANGUAGES:
            cells = [Cell(server_lang, c) for c in LANGUAGES]
            self.matrix += cells
            self.run_with_server(
                f"{server_lang} echo",
                variable_for(server_lang, "server"),
                cells,
                [variable_for(c, "client") for c in LANGUAGES],
            )
        self.run_unix()
        self.pooled = [Cell("C", c, "pool") for c in LANGUAGES]
        self.run_with_server(
            "C echo (pool run)",
            variable_for("C", "server"),
            self.pooled,
            [variable_for(c, "pool") for c in LANGUAGES],
        )
        self.udp = [Cell("C", "C", "UDP")]
        udp = variable_for("C", "udp")
        self.run_with_server(
            "C UDP",
            udp,
            self.udp,
            [udp],
            server_extra=["server"],
            client_extra=["client"],
        )

    def run_unix(self) -> None:
        """The 3x3 matrix again over one Unix stream socket path, which each
        server in turn binds (and removes when it closes)."""
        work = tempfile.mkdtemp(prefix="sockrt-demo-")
        self.unix_path = os.path.join(work, "echo.sock")
        try:
            for server_lang in LANGUAGES:
                cells = [Cell(server_lang, c, "unix") for c in LANGUAGES]
                self.unix += cells
                self.run_with_server(
                    f"{server_lang} unix",
                    variable_for(server_lang, "server"),
                    cells,
                    [variable_for(c, "client") for c in LANGUAGES],
                    host=self.unix_path,
                )
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def cells(self) -> list[Cell]:
        return self.matrix + self.unix + self.pooled + self.udp

    def passed(self) -> bool:
        return all(c.ok for c in self.cells()) and all(s.ok for s in self.shutdowns)


def format_row(columns, widths) -> str:
    return "  ".join(
        str(c).ljust(w) if i < 2 else str(c).rjust(w)
        for i, (c, w) in enumerate(zip(columns, widths))
    ).rstrip()


def numbers(cell: Cell):
    if not cell.ok and cell.messages == 0:
        return ["-", "-", "-"]
    return [cell.messages, f"{cell.bytes:,}", f"{cell.mean_rtt_us:.1f}"]


def print_report(demo: Demo, elapsed: float) -> None:
    widths = [10, 8, 8, 14, 12, 8]
    header = ["server", "client", "messages", "bytes verified", "mean rtt us", "status"]
    print(f"\nlibsockrt demo: {demo.count} echo round trips per cell on {demo.host}\n")
    print(format_row(header, widths))
    print(format_row(["-" * w for w in widths], widths))
    for cell in demo.matrix:
        print(
            format_row([cell.server, cell.client, *numbers(cell), cell.status], widths)
        )
    print(f"\nUnix stream socket (every server in turn on {demo.unix_path})")
    for cell in demo.unix:
        print(
            format_row([cell.server, cell.client, *numbers(cell), cell.status], widths)
        )
    print("\npooled (4 threads through one pool, against the C server)")
    for cell in demo.pooled:
        stats = (
            (
                f"created={cell.stats.get('created', '?')} "
                f"reused={cell.stats.get('reused', '?')}"
            )
            if cell.stats
            else ""
        )
        print(
            format_row([cell.server, cell.client, *numbers(cell), cell.status], widths)
            + ("  " + stats if stats else "")
        )
    print("\nUDP (datagrams)")
    for cell in demo.udp:
        print(
            format_row([cell.server, cell.client, *numbers(cell), cell.status], widths)
        )
    print(
        "\nserver shutdown on SIGTERM: "
        + ", ".join(
            f"{s.server}: {'exit 0' if s.ok else f'exit status {s.status}'}"
            for s in demo.shutdowns
        )
    )
    problems = [c for c in demo.cells() if not c.ok]
    for cell in problems:
        print(
            f"  {cell.status or 'NOT RUN'} {cell.kind}: {cell.server} server /"
            f" {cell.client} {'pool ' if cell.kind == 'pool' else ''}client:"
            f" {cell.detail}"
        )
        if cell.command:
            print(f"      command: {cell.command}")
    verified = sum(c.ok for c in demo.cells())
    verdict = "PASS" if demo.passed() else "FAIL"
    unclean = [s for s in demo.shutdowns if not s.ok]
    servers = (
        f"; {len(unclean)} server(s) did not exit 0 on SIGTERM"
        + " (the contract: close the listener, join, exit 0)"
        if unclean
        else ""
    )
    print(
        f"\n{verdict}: {verified}/{len(demo.cells())} cells verified{servers}"
        f" in {elapsed:.1f}s"
    )


def on_sigterm(signum, frame):
    raise DemoStopped(f"signal {signum}")


def main() -> int:
    signal.signal(signal.SIGTERM, on_sigterm)
    host = os.environ.get("DEMO_HOST", "127.0.0.1")
    try:
        count = int(os.environ.get("DEMO_COUNT", "100"))
    except ValueError:
        print("demo: DEMO_COUNT must be a number", file=sys.stderr)
        return 2
    demo = Demo(host, count)
    start = time.monotonic()
    try:
        demo.run()
    except (DemoStopped, KeyboardInterrupt) as exc:
        print(
            f"demo: interrupted ({exc or 'SIGINT'}); servers stopped", file=sys.stderr
        )
        return 1
    print_report(demo, time.monotonic() - start)
    return 0 if demo.passed() else 1


if __name__ == "__main__":
    sys.exit(main())
