#!/bin/sh
# Proves that the header check can fail: in a scratch copy of the crate, the
# check passes as copied, fails once a doc comment in src/ffi is edited (the
# committed header no longer matches), and passes again after `check.sh
# --update` (what `make header` runs) rewrote the copy's header.
#
#   proof.sh SCRATCH_DIR      (run from the crate's top directory)
#
# The scratch copy builds with `cargo check` in SCRATCH_DIR/target, which
# stays warm between runs; the library in target/ is never touched.
set -eu
scratch=${1:?usage: proof.sh SCRATCH_DIR}
mkdir -p "$scratch"
scratch=$(cd "$scratch" && pwd)
top=$(pwd)
check="$top/tests/header/check.sh"
tree=$scratch/tree
target=$scratch/target
args="check --release --lib --locked --target-dir $target"

rm -rf "$tree"
mkdir -p "$tree"
# A plain copy: every file gets a new mtime, so cargo sees this copy's
# contents, never a fingerprint left by the previous run's edit.
cp -R Cargo.toml Cargo.lock build.rs cbindgen.toml src include "$tree"/

cd "$tree"
echo "header proof: the unedited copy passes"
"$check" $args >/dev/null 2>"$scratch/clean.log" || {
    cat "$scratch/clean.log" >&2
    echo "header proof: FAIL: the check rejects an unedited copy" >&2
    exit 1
}

# The first doc comment in src/ffi whose text the header carries.
marker="doc comment edited by the header proof"
edited=""
for f in src/ffi/*.rs; do
    line=$(sed -n 's|^[[:space:]]*/// \(..*\)$|\1|p' "$f" | while IFS= read -r text; do
        if grep -qF -- "$text" include/sockrt.h; then printf '%s\n' "$text"; break; fi
    done)
    if [ -n "$line" ]; then
        edited=$f
        # Append the marker to the first line carrying that text.
        awk -v text="/// $line" -v marker="$marker" '
            !done && index($0, text) { sub(/[[:space:]]*$/, " (" marker ")"); done = 1 }
            { print }' "$f" >"$f.new"
        mv "$f.new" "$f"
        break
    fi
done
[ -n "$edited" ] && grep -qF "$marker" "$edited" || {
    echo "header proof: FAIL: found no doc comment in src/ffi that the header carries" >&2
    exit 1
}
echo "header proof: edited a doc comment in $edited"

status=0
"$check" $args >/dev/null 2>"$scratch/edited.log" || status=$?
if [ $status -ne 1 ] || ! grep -qF "$marker" "$scratch/edited.log" ||
    ! grep -q "out of date" "$scratch/edited.log"; then
    cat "$scratch/edited.log" >&2
    echo "header proof: FAIL: the check exited $status on a stale header (expected 1, naming the edit)" >&2
    exit 1
fi
echo "header proof: the check fails on the stale header (exit 1, the diff shows the edit)"

"$check" --update $args >/dev/null 2>&1
grep -qF "$marker" include/sockrt.h || {
    echo "header proof: FAIL: --update did not bring the edit into include/sockrt.h" >&2
    exit 1
}
"$check" $args >/dev/null 2>"$scratch/updated.log" || {
    cat "$scratch/updated.log" >&2
    echo "header proof: FAIL: the check still fails after --update" >&2
    exit 1
}
echo "header proof: after the update the check passes again"
