#!/bin/sh
# Fails unless every function declared in the C header is called by at least
# one C test program. Usage: check_api_coverage.sh HEADER TEST_SOURCES...
set -eu
header=$1
shift

# Prototypes only: drop comment lines, then take every name followed by "(".
names=$(grep -vE '^[[:space:]]*(/?\*|//)' "$header" |
        grep -oE '\bsockrt_[a-z0-9_]+[[:space:]]*\(' |
        sed 's/[[:space:]]*($//' | sort -u)
total=$(printf '%s\n' "$names" | grep -c . || true)
if [ "$total" -eq 0 ]; then
    echo "api coverage: no sockrt_* prototypes found in $header" >&2
    exit 1
fi

missing=0
for name in $names; do
    if ! grep -qE "\\b$name[[:space:]]*\\(" "$@"; then
        echo "api coverage: $name is declared in $header but no C test calls it" >&2
        missing=$((missing + 1))
    fi
done
if [ "$missing" -ne 0 ]; then
    echo "api coverage: $missing of $total functions untested" >&2
    exit 1
fi
echo "api coverage: all $total functions of $header are called by the C tests"
