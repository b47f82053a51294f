"""Finding, proving and declaring the library."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HEADER, REPO

import sockrt
from sockrt import _ffi

PACKAGE = Path(sockrt.__file__).resolve().parent
PROTOTYPE = re.compile(r"^\S.*?\b(sockrt_\w+)\(", re.M)


def run_python(code: str, cwd: Path, env_changes: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCKRT_LIB", "PYTHONPATH")}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=30,
    )


def test_version_is_what_the_library_reports():
    assert re.fullmatch(r"\d+\.\d+\.\d+", sockrt.__version__)
    assert sockrt.library_version() == sockrt.__version__
    cargo = (REPO / "Cargo.toml").read_text()
    assert f'version = "{sockrt.__version__}"' in cargo


def test_every_header_function_is_declared():
    names = set(PROTOTYPE.findall(HEADER.read_text()))
    assert "sockrt_send_all" in names and "sockrt_pool_close" in names
    # Every header function is declared; optional ones (for functions still
    # landing) are declared when the library has them.
    assert set(_ffi._PROTOTYPES) <= names <= set(_ffi._PROTOTYPES) | set(_ffi._OPTIONAL)
    for name, (restype, argtypes) in list(_ffi._PROTOTYPES.items()) + [
        (n, p) for n, p in _ffi._OPTIONAL.items() if n in names
    ]:
        func = getattr(_ffi.lib, name)
        assert func.restype is restype, name
        assert func.argtypes == tuple(argtypes) or func.argtypes == argtypes, name


def test_sockrt_lib_that_does_not_exist_is_a_clear_import_error(tmp_path):
    missing = tmp_path / "nope" / "libsockrt.so"
    proc = run_python("import sockrt", REPO, {"SOCKRT_LIB": str(missing)})
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert "SOCKRT_LIB" in proc.stderr and str(missing) in proc.stderr


def test_a_library_that_is_not_sockrt_is_refused(tmp_path):
    libc = "libc.so.6"
    proc = run_python("import sockrt", REPO, {"SOCKRT_LIB": libc})
    assert proc.returncode != 0
    assert "sockrt_version" in proc.stderr


def test_source_tree_falls_back_to_the_build_tree():
    code = "import sockrt._ffi as f; print(f.lib_path)"
    proc = run_python(code, PACKAGE.parent, {"PYTHONPATH": str(PACKAGE.parent)})
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == REPO / "target" / "release" / "libsockrt.so"


def copy_package(tmp_path: Path) -> Path:
    target = tmp_path / "site" / "sockrt"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    return target


def test_a_copy_beside_the_package_is_used(tmp_path):
    target = copy_package(tmp_path)
    shutil.copy(_ffi.lib_path, target / "libsockrt.so")
    code = "import sockrt, sockrt._ffi as f; print(f.lib_path); print(sockrt.__version__)"
    proc = run_python(code, tmp_path, {"PYTHONPATH": str(target.parent)})
    assert proc.returncode == 0, proc.stderr
    path, version = proc.stdout.split()
    assert Path(path) == target / "libsockrt.so"
    assert version == sockrt.__version__


def test_no_library_anywhere_lists_where_it_looked(tmp_path):
    target = copy_package(tmp_path)
    proc = run_python("import sockrt", tmp_path, {"PYTHONPATH": str(target.parent)})
    if proc.returncode == 0:
        pytest.skip("a libsockrt is installed in the system library path")
    assert "ImportError" in proc.stderr
    assert "SOCKRT_LIB: not set" in proc.stderr
    assert str(target / "libsockrt.so") in proc.stderr
    assert "make build" in proc.stderr
