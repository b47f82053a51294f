"""Build step of the sockrt wheel: puts libsockrt.so inside the package.

pyproject.toml holds the metadata; this file only adds the library. When the
package is built from the source tree (``pip install ./bindings/python``,
``make wheel``) the library is built with ``cargo build --release`` (a no-op
when it is up to date) and copied into the wheel as ``sockrt/libsockrt.so``;
the wheel is then tagged for this platform (``py3-none-<platform>``: the
package is pure ctypes, so any Python 3 of the platform can use it). A source
tree without cargo uses an existing ``target/release/libsockrt.so``; a copy
already beside the package (``sockrt/libsockrt.so``) is used as it is.
Editable installs copy nothing: they find the library in the build tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LIB = "libsockrt.so"

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1: the wheel package has it
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]


def _library() -> Path:
    """The libsockrt.so to ship, built first when the source tree allows."""
    beside = HERE / "sockrt" / LIB
    if beside.is_file():
        return beside
    built = REPO / "target" / "release" / LIB
    if (REPO / "Cargo.toml").is_file() and shutil.which("cargo"):
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    if built.is_file():
        return built
    raise SystemExit(
        f"sockrt: no {LIB} to put in the wheel: looked for {beside} and {built}; "
        "build the library (make build at the repository root) or install cargo"
    )


class BuildPyWithLibrary(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "sockrt" / LIB
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_library(), target)
        os.chmod(target, 0o755)
        # The build tree's library carries debug info; the wheel need not.
        if shutil.which("strip"):
            subprocess.run(["strip", "--strip-debug", str(target)], check=True)


class PlatformWheel(bdist_wheel):
    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


class BinaryDistribution(Distribution):
    def has_ext_modules(self) -> bool:
        return True


setup(
    cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel},
    distclass=BinaryDistribution,
)
