"""Runs the README's quick starts exactly as written.

The README is the source of truth. Two kinds of marked blocks:

``<!-- example: examples/readme/NAME -->`` before a code block: the block must
equal that file (the quick starts then build and run the file).

``<!-- quickstart: NAME; from: DIR[; home: scratch] -->`` before a ``console``
block: a quick start. Its ``$ `` lines are commands; the lines after a command
are what that command prints on stdout. The commands run in order, literally,
in one bash (so ``export``, ``cd`` and ``%1`` work as typed), starting in DIR
(relative to the repository's top), in a clean environment: only PATH, HOME,
USER, LANG, TMPDIR and the Rust toolchain's CARGO_HOME/RUSTUP_HOME pass
through, nothing else (no LD_LIBRARY_PATH, no PKG_CONFIG_PATH, no SOCKRT_*, no
VIRTUAL_ENV, no MAKEFLAGS). ``home: scratch`` gives the block a fresh, empty
HOME (CARGO_HOME and RUSTUP_HOME stay where the toolchain is).

Rules for comparing output:
- a command whose block shows no output lines may print anything; otherwise
  its stdout must have exactly the lines shown;
- ``...`` in a shown line matches any text;
- ``127.0.0.1:PORT`` in a shown line matches any port (the system picks them);
- the README's example port 7000 is replaced, in commands and output alike,
  by a port that is free on this machine when the check runs (and below the
  ephemeral range), so that runs in parallel do not collide;
- a command ending in ``&`` runs in the background; the next command starts
  once it has printed its first line (bounded wait), and the lines shown after
  it are its first lines. When the block ends, every background command still
  running gets SIGTERM (SIGKILL 10 s later); each must then exit with status 0
  and print no stack trace.

Every command must exit 0. Usage: check_readme.py [--list] [NAME...]
"""

from __future__ import annotations

import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```", re.DOTALL)
QUICKSTART = re.compile(r"<!-- quickstart: ([^;>]+);([^>]*)-->\n```console\n(.*?)```", re.DOTALL)
REQUIRED = ("c-tree", "c-pool", "c-installed", "python", "java", "java-echodemo")
EXAMPLE_PORT = "7000"
BLOCK_TIMEOUT_S = 600
FIRST_LINE_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10
STACK_TRACE = re.compile(r"^(Exception in thread|Traceback \(most recent call last\)|\tat )",
                         re.MULTILINE)


class Command:
    def __init__(self, text: str):
        self.text = text
        self.background = text.endswith("&")
        self.expected: list[str] = []


class Block:
    def __init__(self, name: str, options: str, body: str):
        self.name = name.strip()
        opts = dict(part.split(":", 1) for part in options.split(";") if ":" in part)
        opts = {k.strip(): v.strip() for k, v in opts.items()}
        self.cwd = TOP / opts.get("from", ".")
        self.scratch_home = opts.get("home") == "scratch"
        self.commands: list[Command] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                self.commands.append(Command(line[2:].strip()))
            elif self.commands:
                self.commands[-1].expected.append(line)
            elif line.strip():
                sys.exit(f"README.md: quickstart {self.name}: output before any command: {line!r}")


def check_examples(readme: str) -> None:
    found = EXAMPLE.findall(readme)
    if len(found) < 4:
        sys.exit(f"README.md: expected 4 marked examples, found {len(found)}")
    for path, block in found:
        if (TOP / path).read_text() != block:
            sys.exit(f"README.md: the block marked {path} differs from the file")
    print(f"README: {len(found)} example blocks match their files")


def free_port() -> str:
    """A port free now, below the kernel's ephemeral range: a port that
    another test got from bind(0) and closed again is never taken here."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(100):
        port = rng.randrange(10000, max(low, 10001))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return str(port)
    sys.exit("README check: found no free port below the ephemeral range")


def line_matches(expected: str, actual: str) -> bool:
    pattern = ""
    for i, piece in enumerate(expected.split("...")):
        if i:
            pattern += ".*"
        pattern += re.sub(r"127\\\.0\\\.0\\\.1:\d+", r"127\\.0\\.0\\.1:\\d+", re.escape(piece))
    return re.fullmatch(pattern, actual) is not None


def clean_env(scratch_home: Path | None) -> dict[str, str]:
    home = os.environ.get("HOME", str(Path.home()))
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": home,
        "USER": os.environ.get("USER", "user"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "CARGO_HOME": os.environ.get("CARGO_HOME", os.path.join(home, ".cargo")),
        "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", os.path.join(home, ".rustup")),
    }
    if scratch_home is not None:
        env["HOME"] = str(scratch_home)
    return env


def script_for(block: Block, work: Path, port: str) -> str:
    """One bash script: each command as typed, its output kept per command."""
    def q(i: int, kind: str) -> str:
        return shlex.quote(str(work / f"{i}.{kind}"))

    # On any exit: stop what still runs in the background (SIGTERM, then
    # SIGKILL after STOP_TIMEOUT_S) and collect each background command's status.
    tries = STOP_TIMEOUT_S * 20
    stop = [f"if [ -f {q(i, 'pid')} ]; then p=$(cat {q(i, 'pid')}); kill -TERM $p 2>/dev/null; "
            f"n=0; while kill -0 $p 2>/dev/null && [ $n -lt {tries} ]; do n=$((n+1)); sleep 0.05; "
            f"done; kill -KILL $p 2>/dev/null; wait $p; echo $? >{q(i, 'rc')}; fi"
            for i, cmd in enumerate(block.commands) if cmd.background]
    lines = ["set -u", "stop_background() {", *(stop or [":"]), "}",
             "trap stop_background EXIT", f"cd {shlex.quote(str(block.cwd))}"]
    for i, cmd in enumerate(block.commands):
        text = cmd.text.replace(EXAMPLE_PORT, port)
        if cmd.background:
            # A simple command as typed, so $! is the program itself.
            lines.append(f"{text[:-1].rstrip()} >{q(i, 'out')} 2>{q(i, 'err')} &")
            lines.append(f"echo $! >{q(i, 'pid')}")
            tries = FIRST_LINE_TIMEOUT_S * 20
            lines.append(f"n=0; until grep -q . {q(i, 'out')}; do n=$((n+1)); "
                         f"if [ $n -gt {tries} ] || ! kill -0 $! 2>/dev/null; then "
                         f"echo 'no first line from command {i + 1}' >&2; exit 90; fi; "
                         "sleep 0.05; done")
        else:
            lines.append(f"{text} >{q(i, 'out')} 2>{q(i, 'err')}; echo $? >{q(i, 'rc')}")
            lines.append(f"[ \"$(cat {q(i, 'rc')})\" = 0 ] || exit 91")
    return "\n".join(lines) + "\n"


def read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def stop_orphan(pid: int, program: str) -> None:
    """SIGKILL a background command left running, if that PID is still it."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if cmdline and os.path.basename(cmdline[0].decode()) == os.path.basename(program):
            os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass


def run_block(block: Block) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"readme-{block.name}-"))
    home = None
    if block.scratch_home:
        home = work / "home"
        home.mkdir()
    port = free_port()
    script = script_for(block, work, port)
    (work / "script.sh").write_text(script)
    print(f"== quickstart {block.name} (from {block.cwd.relative_to(TOP) or '.'}"
          f"{', scratch HOME' if home else ''})")
    for cmd in block.commands:
        print(f"   $ {cmd.text}")
    try:
        proc = subprocess.run(["bash", str(work / "script.sh")], env=clean_env(home),
                              stdin=subprocess.DEVNULL, timeout=BLOCK_TIMEOUT_S,
                              capture_output=True, text=True, check=False)
        status = proc.returncode
        tail = proc.stderr
    except subprocess.TimeoutExpired:
        status, tail = "timeout", ""
        # bash was killed before it could stop its background commands.
        for i, cmd in enumerate(block.commands):
            if cmd.background and (work / f"{i}.pid").exists():
                stop_orphan(int(read(work / f"{i}.pid")), cmd.text.split()[0])

    failures = []
    for i, cmd in enumerate(block.commands):
        out, err = read(work / f"{i}.out"), read(work / f"{i}.err")
        rc = read(work / f"{i}.rc").strip()
        shown = cmd.text.replace(EXAMPLE_PORT, port)
        if rc == "":
            failures.append(f"$ {shown}\n   did not finish (script status {status})\n{out}{err}{tail}")
            break
        if rc != "0":
            failures.append(f"$ {shown}\n   exited {rc}\n{out}{err}")
            break
        if cmd.background and STACK_TRACE.search(err):
            failures.append(f"$ {shown}\n   printed a stack trace on SIGTERM:\n{err}")
        want = [line.replace(EXAMPLE_PORT, port) for line in cmd.expected]
        if not want:
            continue
        got = out.splitlines()
        if cmd.background:
            got = got[:len(want)]
        if len(got) != len(want) or not all(map(line_matches, want, got)):
            failures.append(f"$ {shown}\n   expected:\n" + "".join(f"     {w}\n" for w in want)
                            + "   got:\n" + "".join(f"     {g}\n" for g in got) + err)
    if failures:
        sys.exit(f"README.md: quickstart {block.name} failed:\n" + "\n".join(failures))
    shutil.rmtree(work, ignore_errors=True)
    print(f"ok: quickstart {block.name}: {len(block.commands)} commands, output as shown")


def main() -> None:
    readme = (TOP / "README.md").read_text()
    blocks = [Block(*m) for m in QUICKSTART.findall(readme)]
    names = [b.name for b in blocks]
    if "--list" in sys.argv[1:]:
        for b in blocks:
            print(f"{b.name} (from {b.cwd.relative_to(TOP)}):")
            for cmd in b.commands:
                print(f"  $ {cmd.text}")
        return
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        sys.exit(f"README.md: no quickstart block named {', '.join(missing)}")
    check_examples(readme)
    wanted = [a for a in sys.argv[1:] if not a.startswith("-")]
    for block in blocks:
        if not wanted or block.name in wanted:
            run_block(block)


if __name__ == "__main__":
    main()
