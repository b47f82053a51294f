"""`make realtime-bench` in miniature: the C load client and the driver
against both servers (sockrt and the asyncio peer) with a few subscribers,
so that the benchmark keeps working between full runs."""

import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(os.path.dirname(HERE), "bench")


@pytest.mark.timeout(120)
def test_bench_delivers_everything_on_both_servers(tmp_path):
    cc = shutil.which(os.environ.get("CC", "cc"))
    assert cc, "a C compiler is needed for the load client"
    client = tmp_path / "loadclient"
    subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-O2",
                    "-o", str(client), os.path.join(BENCH, "loadclient.c")], check=True)
    out = tmp_path / "out"
    subprocess.run([sys.executable, os.path.join(BENCH, "realtime_bench.py"), "--loadclient",
                    str(client), "--out", str(out), "--sizes", "40", "--events", "4", "--rate", "20",
                    "--no-faults"], check=True, timeout=110, cwd=os.path.dirname(HERE),
                   stdout=subprocess.DEVNULL)
    results = json.loads((out / "bench.json").read_text())["results"]
    assert {(r["server"], r["mode"]) for r in results} == {
        ("sockrt", "sse"), ("sockrt", "ws"), ("asyncio", "sse"), ("asyncio", "ws")}
    for r in results:
        assert r["accepted"] == 40, r
        assert r["delivered"] == r["expected"] == 160 and r["lost"] == 0 and r["extra"] == 0, r
        assert 0 < r["p50_ms"] <= r["p99_ms"], r
    assert (out / "bench.md").read_text().count("| sockrt |") == 2
    assert (out / "bench.svg").read_text().startswith("<svg")
