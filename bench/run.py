#!/usr/bin/env python3
"""Runs the libsockrt benchmark matrix and writes the results.

Every client runs every workload in two CPU placements, pinned with taskset:
  same   client and server on CPU 0 (exposes per-call costs; most repeatable)
  split  server on CPU 0, client on CPU 1 (what a multi-core deployment sees)
Within one comparison group the clients alternate (A B C, B C A, ...) for
several repetitions; the table shows medians and the ratio of each figure to
raw C and to the language's own standard socket, from the same run.

Outputs (in --out-dir): results.json, results.md, results.svg.
Standard library only. Every server this script starts is stopped by PID.
"""

import argparse
import json
import os
import platform
import select
import shlex
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# Iteration counts per mode; "full" is what the benchmark issue specifies.
MODES = {
    "full": dict(rtt=50000, rtt_warmup=2000, bulk=1 << 30, req=5000,
                 pool=1000000, call=5000000, reps=3, lifetime=1500, pool64=320000),
    "quick": dict(rtt=5000, rtt_warmup=500, bulk=128 << 20, req=500,
                  pool=100000, call=500000, reps=2, lifetime=600, pool64=64000),
    "smoke": dict(rtt=200, rtt_warmup=20, bulk=4 << 20, req=50,
                  pool=2000, call=10000, reps=1, lifetime=120, pool64=1280),
}

# (server CPU, client CPU)
PLACEMENTS = {"same": ("0", "0"), "split": ("0", "1")}

BUSY_US = 50  # latency-mode budget used by the *-busy rows

SERVERS = {
    "raw": ("peer_server", []),
    "sockrt": ("sockrt_server", []),
    "sockrt-busy": ("sockrt_server", ["--busy-us", str(BUSY_US)]),
}
SERVER_LABELS = {"raw": "raw C", "sockrt": "libsockrt",
                 "sockrt-busy": "libsockrt busy"}


class Client:
    """A client program: how to start it and what it can run."""

    def __init__(self, name, label, lang, argv, workloads, peer=None, suffix=()):
        self.name, self.label, self.lang = name, label, lang
        self.argv, self.workloads, self.peer = argv, set(workloads), peer
        self.suffix = list(suffix)  # arguments after the workload's own
        self.failure = None  # why it cannot run, if it cannot

    def available(self):
        return self.argv is not None and self.failure is None


class Row:
    """One line of the table: a client running a workload against a server."""

    def __init__(self, group, client, workload, server="raw", base=None, peer=None):
        self.group, self.client, self.workload, self.server = group, client, workload, server
        self.base, self.peer = base, peer  # keys of the rows to divide by
        self.runs = {p: [] for p in PLACEMENTS}  # JSON lines per placement
        self.errors = {p: [] for p in PLACEMENTS}
        self.syscalls = {p: None for p in PLACEMENTS}  # per operation, C rows

    @property
    def key(self):
        return (self.client.name, self.workload, self.server)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------- clients ---

def java_command(java_run, classes):
    """JAVA_RUN with our classes appended to its class path."""
    argv = ["env"] + shlex.split(java_run)
    for i, tok in enumerate(argv):
        if tok in ("-cp", "-classpath", "--class-path") and i + 1 < len(argv):
            argv[i + 1] += os.pathsep + classes
            return argv
    return argv + ["-cp", classes]


def java_classpath(java_run):
    argv = shlex.split(java_run)
    for i, tok in enumerate(argv):
        if tok in ("-cp", "-classpath", "--class-path") and i + 1 < len(argv):
            return argv[i + 1]
    return ""


def compile_java(args, out_dir):
    """Compiles bench/java/*.java against the binding's jar; returns the dir."""
    classes = os.path.join(out_dir, "java-classes")
    os.makedirs(classes, exist_ok=True)
    src_dir = os.path.join(HERE, "java")
    sources = [os.path.join(src_dir, f) for f in sorted(os.listdir(src_dir))
               if f.endswith(".java")]
    cmd = shlex.split(args.javac) + ["-d", classes, "-cp",
                                     java_classpath(args.java_run)] + sources
    subprocess.run(cmd, check=True, timeout=300)
    return classes


C_WORKLOADS = {"rtt64", "bulk", "connect", "udp64"}
LIB_WORKLOADS = C_WORKLOADS | {"pooled", "rtt64-busy"}
# The clients that do each round trip with one sockrt_exchange call.
EXCHANGE_WORKLOADS = {"rtt64", "pooled"}
# rtt64 and bulk over a Unix stream socket (the peer's abstract names): C only.
UNIX_WORKLOADS = {"unix-rtt64", "unix-bulk"}


def make_clients(args, mode):
    bins = args.bin_dir
    raw = Client("c-raw", "C raw POSIX", "C",
                 [os.path.join(bins, "raw_client")], C_WORKLOADS | UNIX_WORKLOADS)
    lib = Client("c-sockrt", "C libsockrt", "C", [os.path.join(bins, "sockrt_client")],
                 LIB_WORKLOADS | UNIX_WORKLOADS | {"pool_ops-check-1t", "pool_ops-nocheck-1t",
                                  "pool_ops-check-2t", "pool_ops-nocheck-2t", "call"},
                 peer="c-raw")
    lib_x = Client("c-sockrt-exchange", "C libsockrt exchange", "C",
                   [os.path.join(bins, "sockrt_client"), "--exchange"], EXCHANGE_WORKLOADS,
                   peer="c-raw")
    lib_t = Client("c-sockrt-timeout", "C libsockrt, read timeout set", "C",
                   [os.path.join(bins, "sockrt_client")], {"rtt64"}, peer="c-raw",
                   suffix=["--timeout-ms", "5000"])
    # The contended pool: 64 threads through 8 connections (bench/pool_contended.c).
    trivial_pool = Client("c-trivial-pool", "C trivial pool (mutex+condvar, raw fds)", "C",
                          [os.path.join(bins, "pool_contended"), "trivial"], {"pool64x8"})
    lib_pool = Client("c-sockrt-pool", "C libsockrt pool", "C",
                      [os.path.join(bins, "pool_contended"), "sockrt"], {"pool64x8"},
                      peer="c-trivial-pool")
    clients = [raw, lib, lib_x, lib_t, trivial_pool, lib_pool]
    if mode == "smoke":
        return clients

    # `env` lets a command prefix start with VAR=value assignments.
    py = ["env"] + shlex.split(args.python_run) if args.python_run.strip() else None
    py_script = os.path.join(HERE, "py_client.py")
    py_sock = Client("py-socket", "Python socket", "Python",
                     py and py + [py_script, "socket"], C_WORKLOADS | {"pool64x8"})
    py_lib = Client("py-sockrt", "Python sockrt", "Python",
                    py and py + [py_script, "sockrt"], LIB_WORKLOADS | {"pool64x8"},
                    peer="py-socket")
    py_x = Client("py-sockrt-exchange", "Python sockrt exchange", "Python",
                  py and py + [py_script, "sockrt-exchange"], EXCHANGE_WORKLOADS,
                  peer="py-socket")
    if py is None:
        py_sock.failure = py_lib.failure = py_x.failure = \
            "missing: the Python binding (PYTHON_RUN) is not available"
    clients += [py_sock, py_lib, py_x]

    java = None
    java_failure = None
    if args.java_run.strip():
        try:
            java = java_command(args.java_run, compile_java(args, args.out_dir))
        except (OSError, subprocess.SubprocessError) as e:
            java_failure = "missing: bench/java did not compile against the Java binding (%s)" % e
    else:
        java_failure = "missing: the Java binding (JAVA_RUN) is not available"
    main = java and java + ["SockBench"]
    jnet = Client("java-net", "Java java.net", "Java", main and main + ["net"],
                  C_WORKLOADS | {"pool64x8"})
    jfac = Client("java-net-sockrt", "Java java.net.Socket from SockrtSocketFactory", "Java",
                  main and main + ["net-sockrt"], C_WORKLOADS, peer="java-net")
    jarr = Client("java-sockrt", "Java sockrt byte[]", "Java",
                  main and main + ["sockrt"], LIB_WORKLOADS | {"pool64x8"}, peer="java-net")
    jdir = Client("java-sockrt-direct", "Java sockrt ByteBuffer", "Java",
                  main and main + ["sockrt-direct"], LIB_WORKLOADS,
                  peer="java-net")
    jarr_x = Client("java-sockrt-exchange", "Java sockrt exchange (byte[])", "Java",
                    main and main + ["sockrt-exchange"], EXCHANGE_WORKLOADS, peer="java-net")
    jdir_x = Client("java-sockrt-direct-exchange", "Java sockrt exchange (ByteBuffer)", "Java",
                    main and main + ["sockrt-direct-exchange"], EXCHANGE_WORKLOADS,
                    peer="java-net")
    java_clients = [jnet, jfac, jarr, jdir, jarr_x, jdir_x]
    for c in java_clients:
        c.failure = java_failure
    return clients + java_clients


def workload_args(workload, counts, ports):
    """Command-line arguments common to every client for one workload."""
    if workload in UNIX_WORKLOADS:
        tcp = workload_args(workload[len("unix-"):], counts, ports)
        return [workload] + tcp[1:] + ["--unix-echo", ports["unix_echo"],
                                       "--unix-sink", ports["unix_sink"]]
    a = ["--host", "127.0.0.1", "--echo", str(ports["echo"]),
         "--sink", str(ports["sink"]), "--udp", str(ports["udp"])]
    if workload in ("rtt64", "rtt64-busy", "udp64"):
        a += ["--count", str(counts["rtt"]), "--warmup", str(counts["rtt_warmup"])]
    if workload == "rtt64-busy":
        a += ["--busy-us", str(BUSY_US)]
    if workload == "bulk":
        a += ["--bytes", str(counts["bulk"])]
    if workload in ("connect", "pooled"):
        a += ["--count", str(counts["req"])]
    if workload.startswith("pool_ops-"):
        _, check, threads = workload.split("-")
        a += ["--count", str(counts["pool"]), "--threads", threads.rstrip("t"),
              "--check", "1" if check == "check" else "0"]
        return ["pool_ops"] + a
    if workload == "call":
        a += ["--count", str(counts["call"])]
    if workload == "pool64x8":
        a += ["--count", str(counts["pool64"]), "--threads", "64", "--conns", "8"]
    return [workload] + a


# ---------------------------------------------------------------- matrix ---

def make_rows(clients):
    """The comparison groups, in the order they run and print."""
    by = {c.name: c for c in clients}
    rows = []

    def add(group, name, workload, server="raw", base=None, peer=None):
        if name in by and workload in by[name].workloads:
            rows.append(Row(group, by[name], workload, server, base, peer))

    for w in ("rtt64", "udp64", "bulk", "connect"):
        base = ("c-raw", w, "raw")
        for c in clients:
            peer = by[c.peer] if c.peer in by else None
            add(w, c.name, w, base=base if c.name != "c-raw" else None,
                peer=peer and (peer.name, w, "raw"))
            if w == "connect":
                # pooled against the same language's standard-socket connect
                std = {"C": "c-raw", "Python": "py-socket", "Java": "java-net"}[c.lang]
                add(w, c.name, "pooled", base=base, peer=(std, "connect", "raw"))
    for w in ("rtt64", "udp64", "bulk", "connect"):
        add("server " + w, "c-raw", w, "raw")
        add("server " + w, "c-raw", w, "sockrt", base=("c-raw", w, "raw"))
    busy_base = ("c-raw", "rtt64", "raw")
    add("rtt64-busy", "c-raw", "rtt64", "raw")
    add("rtt64-busy", "c-raw", "rtt64", "sockrt-busy", base=busy_base)
    for name in ("c-sockrt", "py-sockrt", "java-sockrt", "java-sockrt-direct"):
        add("rtt64-busy", name, "rtt64-busy", "raw", base=busy_base)
    add("rtt64-busy", "c-sockrt", "rtt64-busy", "sockrt-busy", base=busy_base)
    # Unix stream rows: "× raw C" divides by raw C over Unix, "× peer" by
    # libsockrt's own loopback TCP figure of the same group and run.
    for w in ("rtt64", "bulk"):
        group, uw = "unix " + w, "unix-" + w
        add(group, "c-raw", uw)
        add(group, "c-sockrt", w, base=("c-raw", w, "raw"))
        add(group, "c-sockrt", uw, base=("c-raw", uw, "raw"), peer=("c-sockrt", w, "raw"))
    # req/s: higher is better; the ratio is to the trivial C pool of the same run.
    add("pool64x8", "c-trivial-pool", "pool64x8")
    add("pool64x8", "c-sockrt-pool", "pool64x8", base=("c-trivial-pool", "pool64x8", "raw"))
    # Python: a sockrt Pool against a queue.Queue of 8 standard sockets.
    add("pool64x8", "py-socket", "pool64x8", base=("c-trivial-pool", "pool64x8", "raw"))
    add("pool64x8", "py-sockrt", "pool64x8", base=("c-trivial-pool", "pool64x8", "raw"),
        peer=("py-socket", "pool64x8", "raw"))
    for w in ("call", "pool_ops-nocheck-1t", "pool_ops-check-1t",
              "pool_ops-nocheck-2t", "pool_ops-check-2t"):
        add("library costs", "c-sockrt", w)
    # The contended pool in Java: SockrtPool against an ArrayBlockingQueue of
    # java.net sockets (64 threads, 8 connections; req/s, higher is better).
    add("pool64x8", "java-net", "pool64x8")
    add("pool64x8", "java-sockrt", "pool64x8", peer=("java-net", "pool64x8", "raw"))
    return rows


class Servers:
    """The peer servers of one placement; stopped by PID, whatever happens."""

    def __init__(self, bin_dir, cpu, lifetime, needed):
        self.procs = {}
        self.ports = {}
        try:
            for name in needed:
                prog, extra = SERVERS[name]
                cmd = ["taskset", "-c", cpu, os.path.join(bin_dir, prog),
                       "--lifetime", str(lifetime)] + extra
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
                self.procs[name] = proc
                self.ports[name] = self._read_ports(proc, name)
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _read_ports(proc, name):
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        line = proc.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError("server %s did not start" % name)
        return json.loads(line)

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            if proc.stdout:
                proc.stdout.close()
        self.procs.clear()


def run_one(row, placement, ports, counts, timeout):
    client = row.client
    cpu = PLACEMENTS[placement][1]
    cmd = (["taskset", "-c", cpu] + client.argv + workload_args(row.workload, counts, ports)
           + client.suffix)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timed out after %ss" % timeout
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return None, "exit %s: %s" % (proc.returncode, tail[:200])
    try:
        result = json.loads(lines[-1])
    except ValueError as e:
        return None, "bad JSON line: %s" % e
    if not (isinstance(result.get("value"), (int, float)) and result["value"] > 0):
        return None, "no positive value in %s" % lines[-1][:200]
    return result, None


def run_matrix(args, rows, counts):
    groups = []
    for r in rows:
        if r.group not in groups:
            groups.append(r.group)
    needed = sorted({r.server for r in rows})
    timeout = 300 if not args.smoke else 60
    for placement, (server_cpu, _) in PLACEMENTS.items():
        log("== placement %s" % placement)
        servers = Servers(args.bin_dir, server_cpu, counts["lifetime"], needed)
        try:
            for group in groups:
                members = [r for r in rows if r.group == group]
                for rep in range(counts["reps"]):
                    k = rep % len(members)
                    for row in members[k:] + members[:k]:
                        if not row.client.available():
                            continue
                        res, err = run_one(row, placement, servers.ports[row.server],
                                           counts, timeout)
                        tag = "%s %s %s/%s" % (placement, row.client.name, row.workload,
                                               row.server)
                        if err:
                            log("   FAIL %s: %s" % (tag, err))
                            row.errors[placement].append(err)
                            if row.client.lang != "C":
                                # A binding that fails once is reported, not retried.
                                row.client.failure = "failed: " + err
                        else:
                            row.runs[placement].append(res)
                            log("   %-40s %10.3f %s" % (tag, res["value"], res["unit"]))
            for row in rows:
                if row.group in SYSCALL_GROUPS and row.client.lang == "C":
                    row.syscalls[placement] = count_syscalls(
                        row, placement, servers.ports[row.server], counts, timeout)
        finally:
            servers.stop()


# Groups whose C rows also get a system-call count per operation.
SYSCALL_GROUPS = ("rtt64", "udp64", "unix rtt64")


def perf_syscalls(cmd, timeout):
    """System calls a command makes, from perf's raw_syscalls:sys_enter."""
    perf = ["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "--"]
    try:
        proc = subprocess.run(perf + cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in proc.stderr.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2] == "raw_syscalls:sys_enter" and fields[0].isdigit():
            return int(fields[0]) if proc.returncode == 0 else None
    return None


def count_syscalls(row, placement, ports, counts, timeout):
    """System calls per operation: two runs of N and 2N round trips, so the
    set-up (connect, socket, ...) cancels out of the difference."""
    cpu = PLACEMENTS[placement][1]
    n = counts["rtt"]
    totals = []
    for count in (n, 2 * n):
        c = dict(counts, rtt=count, rtt_warmup=0)
        cmd = (["taskset", "-c", cpu] + row.client.argv
               + workload_args(row.workload, c, ports) + row.client.suffix)
        total = perf_syscalls(cmd, timeout)
        if total is None:
            return None
        totals.append(total)
    per_op = (totals[1] - totals[0]) / n
    log("   %s %s %s: %.2f system calls per round trip"
        % (placement, row.client.name, row.workload, per_op))
    return per_op


# --------------------------------------------------------------- results ---

def median(row, placement, field="value"):
    vals = [r[field] for r in row.runs[placement] if field in r]
    return statistics.median(vals) if vals else None


def summarize(rows):
    # Ratios compare rows of one group: they ran alternately, in one run.
    index = {(r.group,) + r.key: r for r in rows}
    out = []
    for r in rows:
        entry = {"group": r.group, "client": r.client.name, "label": r.client.label,
                 "lang": r.client.lang, "workload": r.workload, "server": r.server,
                 "unit": r.runs["same"][0]["unit"] if r.runs["same"] else
                 (r.runs["split"][0]["unit"] if r.runs["split"] else None),
                 "status": "ok", "placements": {}}
        if not r.client.available() and not any(r.runs.values()):
            entry["status"] = r.client.failure or "missing"
        for p in PLACEMENTS:
            value = median(r, p)
            cell = {"median": value, "samples": [x["value"] for x in r.runs[p]],
                    "p99_us": median(r, p, "p99_us"),
                    "cpu_us_per_op": median(r, p, "cpu_us_per_op"),
                    "syscalls_per_op": r.syscalls[p],
                    "errors": r.errors[p]}
            for name, ref_key in (("ratio_raw_c", r.base), ("ratio_peer", r.peer)):
                ref = index.get((r.group,) + ref_key) if ref_key else None
                ref_value = median(ref, p) if ref else None
                cell[name] = value / ref_value if value and ref_value else None
            entry["placements"][p] = cell
            if r.errors[p] and entry["status"] == "ok":
                entry["status"] = "errors: " + r.errors[p][0]
        out.append(entry)
    return out


def machine_info():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"cpu": model, "cpus": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version()}
    try:
        v = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
        info["java"] = (v.stderr.splitlines() or [""])[0]
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def fmt(v, unit):
    if v is None:
        return "—"
    if unit == "GB/s":
        return "%.2f" % v
    return "%.1f" % v if v >= 100 else "%.2f" % v


def fmt_ratio(v):
    return "—" if v is None else "%.2f×" % v


def server_label(entry):
    return SERVER_LABELS[entry["server"]]


def workload_label(entry):
    if entry["workload"] == "rtt64-busy":
        return "rtt64-busy (%d µs)" % BUSY_US
    return entry["workload"]


def markdown(entries, meta):
    lines = [
        "Machine: %s, %s CPUs, Linux %s. Mode: %s, %d repetitions (medians)."
        % (meta["machine"]["cpu"] or "unknown CPU", meta["machine"]["cpus"],
           meta["machine"]["kernel"], meta["mode"], meta["counts"]["reps"]),
        "",
        "Placement `same`: client and server pinned to CPU 0; `split`: server on CPU 0, "
        "client on CPU 1. µs and ns: lower is better; GB/s and req/s: higher is better "
        "(`pool64x8`: 64 threads through a pool of 8 connections; its `× raw C` is the "
        "trivial C pool's figure). "
        "`× raw C` and `× peer` divide the figure by raw C's and by the language's "
        "standard socket's (for `pooled`: its standard `connect`; for the `unix` groups: "
        "libsockrt's own loopback TCP figure) in the same placement.",
        "",
        "| Group | Workload | Client | Server | Unit | same | × raw C | × peer | p99 | "
        "split | × raw C | × peer | p99 | CPU µs/op same / split | syscalls/op same / split |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in entries:
        if e["status"].startswith(("missing", "failed")) and not any(
                e["placements"][p]["samples"] for p in PLACEMENTS):
            lines.append("| %s | %s | %s | %s | | %s | | | | | | | | | |" % (
                e["group"], workload_label(e), e["label"], server_label(e), e["status"]))
            continue
        cells = []
        for p in PLACEMENTS:
            c = e["placements"][p]
            cells += [fmt(c["median"], e["unit"]), fmt_ratio(c["ratio_raw_c"]),
                      fmt_ratio(c["ratio_peer"]),
                      fmt(c["p99_us"], "us") if c["p99_us"] is not None else ""]
        cpu = " / ".join(fmt(e["placements"][p]["cpu_us_per_op"], "us") for p in PLACEMENTS)
        calls = [e["placements"][p]["syscalls_per_op"] for p in PLACEMENTS]
        calls = "" if calls == [None, None] else " / ".join(
            "—" if v is None else "%.2f" % v for v in calls)
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            e["group"], workload_label(e), e["label"], server_label(e), e["unit"] or "",
            " | ".join(cells), cpu, calls))
    return "\n".join(lines) + "\n"


def svg_chart(entries):
    """Horizontal bars: each figure relative to raw C, per placement."""
    bars = [e for e in entries if e["group"] in ("rtt64", "udp64", "bulk", "connect",
                                                 "rtt64-busy")
            and any(e["placements"][p]["ratio_raw_c"] for p in PLACEMENTS)]
    row_h, left, width = 34, 330, 420
    height = 60 + row_h * len(bars)
    top = max([2.0] + [e["placements"][p]["ratio_raw_c"] or 0
                       for e in bars for p in PLACEMENTS])
    scale = width / top
    colors = {"same": "#3b6ea8", "split": "#e0892b"}
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (left + width + 80, height),
           '<text x="10" y="20" font-size="14">Figure relative to raw C (1.00 = raw C; '
           'µs: lower is better, GB/s: higher is better)</text>']
    for p, (x, color) in zip(PLACEMENTS, ((left, colors["same"]), (left + 120, colors["split"]))):
        out.append('<rect x="%d" y="30" width="12" height="12" fill="%s"/>'
                   '<text x="%d" y="41">%s</text>' % (x, color, x + 16, p))
    x1 = left + scale
    out.append('<line x1="%.1f" y1="48" x2="%.1f" y2="%d" stroke="#888" '
               'stroke-dasharray="4"/>' % (x1, x1, height - 5))
    for i, e in enumerate(bars):
        y = 52 + i * row_h
        out.append('<text x="10" y="%d">%s · %s (%s server)</text>' % (
            y + 18, workload_label(e), e["label"], server_label(e)))
        for j, p in enumerate(PLACEMENTS):
            r = e["placements"][p]["ratio_raw_c"]
            if r is None:
                continue
            out.append('<rect x="%d" y="%d" width="%.1f" height="13" fill="%s"/>'
                       '<text x="%.1f" y="%d" font-size="10">%.2f</text>' % (
                           left, y + 3 + j * 14, r * scale, colors[p],
                           left + r * scale + 4, y + 14 + j * 14, r))
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ main ---

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--smoke", action="store_true",
                    help="C clients only, tiny counts; fails if any run fails")
    ap.add_argument("--python-run", default="")
    ap.add_argument("--java-run", default="")
    ap.add_argument("--javac", default="javac")
    ap.add_argument("--reps", type=int, default=0, help="override the repetitions")
    ap.add_argument("--only", default="", help="comma-separated groups to run")
    args = ap.parse_args()

    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    counts = dict(MODES[mode])
    if args.reps > 0:
        counts["reps"] = args.reps
    if len(os.sched_getaffinity(0)) < 2 or not {0, 1} <= os.sched_getaffinity(0):
        sys.exit("bench: needs CPUs 0 and 1 for the same/split placements")
    os.makedirs(args.out_dir, exist_ok=True)

    # A terminated run still stops its servers (the finally clauses).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = time.time()
    clients = make_clients(args, mode)
    rows = make_rows(clients)
    if args.only:
        wanted = set(args.only.split(","))
        rows = [r for r in rows if r.group in wanted]
    run_matrix(args, rows, counts)

    entries = summarize(rows)
    meta = {"mode": mode, "counts": counts, "busy_us": BUSY_US,
            "placements": {p: {"server_cpu": s, "client_cpu": c}
                           for p, (s, c) in PLACEMENTS.items()},
            "machine": machine_info(), "seconds": round(time.time() - started, 1)}
    with open(os.path.join(args.out_dir, "results.json"), "w") as f:
        json.dump({"meta": meta, "rows": entries}, f, indent=1)
    table = markdown(entries, meta)
    with open(os.path.join(args.out_dir, "results.md"), "w") as f:
        f.write(table)
    with open(os.path.join(args.out_dir, "results.svg"), "w") as f:
        f.write(svg_chart(entries))
    print(table)
    print("results: %s (%.0f s)" % (os.path.join(args.out_dir, "results.{json,md,svg}"),
                                    meta["seconds"]))

    ran = [e for e in entries if not e["status"].startswith(("missing", "failed"))
           or any(e["placements"][p]["samples"] for p in PLACEMENTS)]
    failed = [e for e in entries if e["status"] != "ok"]
    if args.smoke:
        total = len(entries) * len(PLACEMENTS)
        bad = sum(1 for e in entries for p in PLACEMENTS
                  if not e["placements"][p]["samples"] or e["placements"][p]["errors"])
        print("bench smoke: %d passed, %d failed" % (total - bad, bad))
        return 1 if bad or not entries else 0
    for e in failed:
        log("not measured: %s %s (%s server): %s"
            % (e["label"], e["workload"], e["server"], e["status"]))
    # C must always work; a missing binding is reported in the table.
    c_failed = [e for e in failed if e["lang"] == "C"]
    return 1 if c_failed or not ran else 0


if __name__ == "__main__":
    sys.exit(main())
