"""Installs a built sockrt wheel into a fresh virtualenv outside the source
tree and checks, with no environment variables set, that ``import sockrt``
loads the library shipped in the wheel, that ``python -m sockrt`` names it,
that sockets work, and that SOCKRT_LIB still overrides.

usage: python check_wheel.py WHEEL LIBSOCKRT_SO   (run by make test-python-wheel)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = """
import json, sockrt
a, b = sockrt.socketpair()
a.sendall(b"wheel")
assert b.recv(5) == b"wheel"
a.close(); b.close()
print(json.dumps([sockrt.__version__, sockrt.library_path, sockrt.__file__]))
"""


def run(cmd: list, cwd: Path, env: dict) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        sys.exit(f"check_wheel: {' '.join(map(str, cmd))} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def main() -> None:
    wheel, lib = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    if wheel.name.endswith("-none-any.whl") or "linux" not in wheel.name:
        sys.exit(f"check_wheel: {wheel.name} is not a platform wheel")
    work = Path(tempfile.mkdtemp(prefix="sockrt-wheel-"))
    try:
        venv = work / "venv"
        clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        run([sys.executable, "-m", "venv", str(venv)], work, clean)
        py = str(venv / "bin" / "python")
        run([py, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", str(wheel)],
            work, clean)
        outside = work / "elsewhere"
        outside.mkdir()
        version, loaded, package = json.loads(run([py, "-c", PROBE], outside, clean))
        site = venv / "lib"
        if not (Path(package).is_relative_to(site) and Path(loaded).is_relative_to(site)):
            sys.exit(f"check_wheel: imported {package} with {loaded}, not from {site}")
        if Path(loaded).name != "libsockrt.so" or Path(loaded).parent != Path(package).parent:
            sys.exit(f"check_wheel: library {loaded} is not the one shipped beside the package")
        shown = run([py, "-m", "sockrt"], outside, clean)
        if version not in shown or loaded not in shown:
            sys.exit(f"check_wheel: python -m sockrt printed {shown!r}")
        _, overridden, _ = json.loads(
            run([py, "-c", PROBE], outside, dict(clean, SOCKRT_LIB=str(lib)))
        )
        if overridden != str(lib):
            sys.exit(f"check_wheel: SOCKRT_LIB={lib} loaded {overridden} instead")
        print(f"check_wheel: ok: {wheel.name} imports outside the tree with {loaded}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
