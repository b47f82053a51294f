#!/bin/sh
# Runs the loom models (tests/loom.rs) in their own target directory, and
# skips the run when this very model binary already passed: loom explores
# the interleavings deterministically, so the same binary under the same
# LOOM_* settings gives the same result. Any change to the crate, the models,
# the locked crates or the flags makes a new binary, which runs.
# LOOM_FORCE=1 runs it regardless.
#
#   run_loom.sh TARGET_DIR      (run from the crate's top directory)
set -eu
target=${1:?usage: run_loom.sh TARGET_DIR}
cargo=${CARGO:-cargo}
stamp=$target/loom-passed
export RUSTFLAGS="--cfg loom"

bin=$("$cargo" test --release --test loom --target-dir "$target" --no-run \
        --message-format=json-render-diagnostics |
    sed -n 's|.*"executable":"\([^"]*\)".*|\1|p' | tail -n 1)
[ -n "$bin" ] && [ -x "$bin" ] || { echo "test-loom: cargo did not report the model binary" >&2; exit 2; }
key="$(sha256sum "$bin" | cut -d' ' -f1) $(env | grep '^LOOM_' | grep -v '^LOOM_FORCE=' | sort | tr '\n' ' ')"

if [ -z "${LOOM_FORCE:-}" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
    echo "test-loom: this model binary (sha256 ${key%% *}) passed on $(date -r "$stamp" '+%F %T'); not rerun (LOOM_FORCE=1 reruns it)"
    exit 0
fi
rm -f "$stamp"
"$cargo" test --release --test loom --target-dir "$target"
printf '%s' "$key" >"$stamp"
