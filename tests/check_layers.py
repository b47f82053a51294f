#!/usr/bin/env python3
"""Fails if a module of src/ uses a module that comes later in the layering.

The runtime is layered one way: each module may use only those before it in
LAYERS (a directory module counts as one: src/socket/*.rs is `socket`).
Usage: check_layers.py [SRC_DIR]
"""

import os
import re
import sys

LAYERS = ["error", "sync", "addr", "sys", "deadline", "handle", "socket", "poll", "stream",
          "pool", "tls", "poller", "registry", "ffi"]
# `crate::name` anywhere in code (use lines and paths alike), comments dropped.
USE = re.compile(r"\bcrate::([a-z_]+)")


def module_of(src, path):
    rel = os.path.relpath(path, src)
    top = rel.split(os.sep)[0]
    return top.removesuffix(".rs")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src")
    problems = []
    for root, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            module = module_of(src, path)
            if module == "lib":
                continue
            if module not in LAYERS:
                problems.append(f"{path}: module {module} is not in the layering")
                continue
            rank = LAYERS.index(module)
            with open(path, encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    code = line.split("//", 1)[0]
                    for used in USE.findall(code):
                        if used in LAYERS and LAYERS.index(used) > rank:
                            problems.append(
                                f"{path}:{lineno}: {module} uses {used}, which comes after it")
    for p in problems:
        print("layers: " + p, file=sys.stderr)
    if problems:
        print("layers: order is " + " -> ".join(LAYERS), file=sys.stderr)
        return 1
    order = " -> ".join(LAYERS)
    print(f"layers: every module uses only those before it ({order})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
