"""python -m sockrt.run script.py [args...]  |  python -m sockrt.run -m module [args...]

Runs an unmodified program with sockrt in place of the standard socket
module (see sockrt.patch()).
"""

from __future__ import annotations

import os
import runpy
import sys

from ._patch import patch


def main(argv: list) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    patch()
    if argv[0] == "-m":
        if len(argv) < 2:
            print("sockrt.run: -m needs a module name", file=sys.stderr)
            return 2
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
        runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
