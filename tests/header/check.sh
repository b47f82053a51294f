#!/bin/sh
# Compares the committed include/sockrt.h with the header cbindgen generates
# from the sources (build.rs writes it to OUT_DIR; nothing else writes it).
#
#   check.sh [--update] [CARGO ARGS...]     (run from the crate's top directory)
#
# Without --update: exit 0 if they are equal, 1 with a diff if not.
# With --update: copy the generated header over include/sockrt.h (`make header`).
# CARGO ARGS default to `build --release`: the build that produces the library,
# so the check costs nothing when the library is up to date.
set -eu
update=0
if [ "${1:-}" = "--update" ]; then
    update=1
    shift
fi
[ $# -gt 0 ] || set -- build --release
cargo=${CARGO:-cargo}

# cargo reports every build script's OUT_DIR, also when nothing was rebuilt.
out_dir=$("$cargo" "$@" --message-format=json-render-diagnostics |
    sed -n 's|.*"out_dir":"\([^"]*/build/sockrt-[0-9a-f]*/out\)".*|\1|p' | tail -n 1)
if [ -z "$out_dir" ] || [ ! -f "$out_dir/sockrt.h" ]; then
    echo "check-header: cargo $* did not report the generated header" >&2
    exit 2
fi
generated=$out_dir/sockrt.h

if [ $update -eq 1 ]; then
    if cmp -s "$generated" include/sockrt.h; then
        echo "include/sockrt.h is up to date"
    else
        cp "$generated" include/sockrt.h
        echo "include/sockrt.h regenerated from src/ffi: commit it"
    fi
    exit 0
fi

if ! cmp -s "$generated" include/sockrt.h; then
    diff -u include/sockrt.h "$generated" | head -n 40 >&2 || true
    echo "check-header: include/sockrt.h is out of date with src/ffi: run \`make header\` and commit it" >&2
    exit 1
fi
echo "check-header: include/sockrt.h matches what cbindgen generates from src/ffi"
