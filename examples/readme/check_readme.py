"""Keeps the README's examples honest.

Every fenced code block in README.md that follows a line
``<!-- example: examples/readme/NAME -->`` must equal that file, and each
example file is then built and run here, its output checked for what the
README shows. Commands come from the Makefile through the environment.
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```", re.S)


def check_blocks() -> None:
    readme = (TOP / "README.md").read_text()
    found = MARKER.findall(readme)
    if len(found) < 4:
        sys.exit(f"README.md: expected 4 marked examples, found {len(found)}")
    for path, block in found:
        if (TOP / path).read_text() != block:
            sys.exit(f"README.md: the block marked {path} differs from the file")
    print(f"README: {len(found)} example blocks match their files")


def run(cmd: list[str], expect: str, timeout: float = 60) -> None:
    env = dict(os.environ)
    while cmd and "=" in cmd[0] and not cmd[0].startswith("/"):
        key, value = cmd.pop(0).split("=", 1)
        env[key] = value
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if out.returncode != 0 or expect not in out.stdout:
        sys.exit(f"{shlex.join(cmd)} exited {out.returncode}:\n{out.stdout}{out.stderr}")
    print(f"ok: {Path(cmd[-1]).name}: {expect!r}")


def main() -> None:
    check_blocks()
    cc = shlex.split(os.environ["README_CC"])
    work = Path(tempfile.mkdtemp(prefix="readme-"))
    for name in ("hello", "pool", "unix"):
        subprocess.run([*cc[:1], *cc[1:], "-o", str(work / name), str(TOP / f"examples/readme/{name}.c"),
                        *shlex.split(os.environ["README_LDFLAGS"])], check=True)
    run([str(work / "hello")], 'server got "hello"')
    run([str(work / "unix")], "socket file left behind: no")

    server = subprocess.Popen([os.environ["README_ECHO_SERVER"], "127.0.0.1", "0", "30"],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = server.stdout.readline().split()[2]
        run([str(work / "pool"), "127.0.0.1", port], "created=1 reused=2")
    finally:
        server.terminate()
        server.wait(timeout=10)

    python = shlex.split(os.environ.get("README_PYTHON", ""))
    if python:
        run([*python, str(TOP / "examples/readme/hello.py")], "echoed: b'hello'")
    java = shlex.split(os.environ.get("README_JAVA", ""))
    if java:
        jar = os.environ["README_JAVA_JAR"]
        subprocess.run(["javac", "-Xlint:all", "-Werror", "-cp", jar, "-d", str(work),
                        str(TOP / "examples/readme/Hello.java")], check=True)
        run([*java, "-cp", f"{jar}:{work}", "Hello"], "server got hello")


if __name__ == "__main__":
    main()
