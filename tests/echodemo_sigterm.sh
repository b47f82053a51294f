#!/bin/bash
# EchoDemo's server stops quietly on SIGTERM: exit status 0 and nothing on
# stderr (no "Exception in thread main" from the accept the stop woke up).
# Three rounds, each SIGTERM sent as soon as the server has printed its
# LISTENING line, while its main thread waits in accept.
#
#   echodemo_sigterm.sh JAVA ARGS...    (the command that runs a Java class)
set -u
[ $# -gt 0 ] || { echo "usage: echodemo_sigterm.sh JAVA ARGS..." >&2; exit 2; }
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work"' EXIT
for round in 1 2 3; do
    : >"$work/out"
    : >"$work/err"
    "$@" EchoDemo server 127.0.0.1 0 30 >"$work/out" 2>"$work/err" &
    pid=$!
    for _ in $(seq 600); do
        grep -q '^LISTENING ' "$work/out" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if ! grep -q '^LISTENING ' "$work/out"; then
        state=$(grep '^State:' "/proc/$pid/status" 2>/dev/null || echo "exited")
        echo "echodemo-sigterm: round $round: no LISTENING line within 30 s (server $state); its output:"
        cat "$work/out" "$work/err"
        exit 1
    fi
    kill -TERM "$pid"
    status=0
    for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    wait "$pid" || status=$?
    pid=""
    if [ "$status" -ne 0 ] || [ -s "$work/err" ]; then
        echo "echodemo-sigterm: round $round: exit status $status (expected 0), stderr:"
        cat "$work/err"
        exit 1
    fi
done
echo "echodemo-sigterm: 3 of 3 servers stopped on SIGTERM with status 0 and nothing on stderr"
