"""Holds Cargo.toml's rust-version to the truth.

1. No locked crate that this host builds (the library, its build and dev
   dependencies, and loom's graph under `--cfg loom`) declares a rust-version
   newer than ours; the newest one must equal ours, so the figure is not a
   guess either way.
2. The stated toolchain builds the crate: when the toolchain in use is that
   version, the build `make test` runs is the proof; otherwise
   `cargo +VERSION check --all-targets --locked` runs with that toolchain
   (installed through rustup when missing). Without rustup and with another
   version in use this part cannot be verified, and says so.

Run from the crate's top directory: python3 tests/msrv/check.py TARGET_DIR
"""

import json
import os
import re
import shutil
import subprocess
import sys

CARGO = os.environ.get("CARGO", "cargo")


def version_tuple(text: str) -> tuple[int, ...]:
    """ "1.95" -> (1, 95); "1.97.0-nightly" -> (1, 97, 0)."""
    return tuple(int(part) for part in text.split("-")[0].split("."))


def host_triple() -> str:
    out = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    return re.search(r"^host: (\S+)$", out, re.MULTILINE).group(1)


def built_packages(host: str, rustflags: str) -> tuple[dict[str, str], str]:
    """name@version -> rust-version for every package reachable from ours, and ours."""
    env = dict(os.environ, RUSTFLAGS=rustflags)
    out = subprocess.run([CARGO, "metadata", "--format-version", "1", "--locked",
                          "--filter-platform", host],
                         capture_output=True, text=True, check=True, env=env).stdout
    meta = json.loads(out)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(dep["pkg"] for dep in nodes[node]["deps"])
    seen.discard(root)
    return {f"{packages[i]['name']}@{packages[i]['version']}": packages[i]["rust_version"] or "1.0"
            for i in seen}, packages[root]["rust_version"]


def main() -> None:
    target_dir = sys.argv[1]
    host = host_triple()
    needs, ours = built_packages(host, "")
    loom_needs, _ = built_packages(host, "--cfg loom")
    needs.update(loom_needs)
    if not ours:
        sys.exit("check-msrv: Cargo.toml has no rust-version")
    newest = max(version_tuple(v) for v in needs.values())
    newest_text = ".".join(map(str, newest))
    too_new = sorted(name for name, v in needs.items() if version_tuple(v) > version_tuple(ours))
    if too_new:
        sys.exit(f"check-msrv: rust-version is {ours}, but these locked crates need newer: "
                 + ", ".join(f"{n} ({needs[n]})" for n in too_new))
    if version_tuple(ours) != newest:
        sys.exit(f"check-msrv: rust-version is {ours}; the locked crates need {newest_text} "
                 "(set rust-version to that, unless our own code needs newer: then say why)")
    at_newest = sorted(n for n, v in needs.items() if version_tuple(v) == newest)
    print(f"check-msrv: rust-version {ours} = the newest a locked crate needs "
          f"({', '.join(at_newest)}); {len(needs)} crates checked")

    active = subprocess.run(["rustc", "--version"], capture_output=True, text=True,
                            check=True).stdout.split()[1]
    if version_tuple(active)[:len(version_tuple(ours))] == version_tuple(ours):
        print(f"check-msrv: the toolchain in use is rustc {active}: the builds of make test "
              "are the proof that it builds")
        return
    if shutil.which("rustup") is None:
        print(f"check-msrv: NOT VERIFIED: rustc {active} is in use and there is no rustup to "
              f"fetch {ours}; build with rustc {ours} to check")
        return
    listed = subprocess.run(["rustup", "toolchain", "list"], capture_output=True, text=True,
                            check=True).stdout
    installed = re.search(rf"^({re.escape(ours)}(\.0)?-\S+)", listed, re.MULTILINE)
    toolchain = installed.group(1) if installed else ours
    if not installed:
        subprocess.run(["rustup", "toolchain", "install", ours, "--profile", "minimal"],
                       check=True)
    print(f"check-msrv: rustc {active} is in use; checking the crate with {toolchain}")
    result = subprocess.run([CARGO, f"+{toolchain}", "check", "--all-targets", "--locked",
                             "--target-dir", target_dir], check=False)
    if result.returncode != 0:
        sys.exit(f"check-msrv: the crate does not build with Rust {ours}, its rust-version")
    print(f"check-msrv: builds with Rust {ours}")


if __name__ == "__main__":
    main()
