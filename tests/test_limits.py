"""Time limits and Ctrl-C on a MIP too hard to finish quickly.

The instance is an OR-Library-style capacitated facility-location problem
(Beasley's ``cap`` format, /work/shared/benchmarks/orlib-cap) generated here
at 60 sites × 200 customers with seeded random coordinates, capacities 2–5×
the average load and fixed costs 1,500–3,000: HiGHS needs about 25 s to prove
it optimal at mip_gap 0 (one thread), and finds a first plan after ≈0.5 s.
It is written in the known-optimum form of docs/model.md §3–5 (one year, discount 0,
hard demand rows, one build option per site on a process with no inputs).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from tinycase import ROOT, write_input

from optmodel.errors import SolverError
from optmodel.pipeline import solve_workbook


def hard_facility_sheets(m: int = 60, n: int = 200, seed: int = 1) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    sites = [(rng.random(), rng.random()) for _ in range(m)]
    customers = [(rng.random(), rng.random()) for _ in range(n)]
    demand = [rng.randint(5, 35) for _ in range(n)]
    avg = sum(demand) / m
    nodes, builds, markets, routes = [], [], [], []
    for i in range(m):
        nodes.append({"node": f"W{i:03d}", "kind": "plant"})
        builds.append({"option": f"open_W{i:03d}", "node": f"W{i:03d}", "process": "supply",
                       "unit_capacity": rng.randint(int(avg * 2), int(avg * 5)),
                       "capex_musd": rng.randint(1500, 3000) / 1e6, "max_units": 1})
    for j, (x, y) in enumerate(customers):
        nodes.append({"node": f"C{j:04d}", "kind": "market"})
        markets.append({"market": f"demand_C{j:04d}", "node": f"C{j:04d}", "product": "goods",
                        "direction": "sell", "scope": "domestic", "price_usd_per_t": 0,
                        "min_t": demand[j], "max_t": demand[j]})
        for i, (sx, sy) in enumerate(sites):
            routes.append({"origin": f"W{i:03d}", "destination": f"C{j:04d}", "mode": "road",
                           "cost_usd_per_t": round(((sx - x) ** 2 + (sy - y) ** 2) ** 0.5 * 100,
                                                   2)})
    return {
        "Settings": [{"key": "first_year", "value": 2025}, {"key": "last_year", "value": 2025},
                     {"key": "discount_rate", "value": 0}, {"key": "threads", "value": 1}],
        "Nodes": nodes,
        "Products": [{"product": "goods", "stage": 1, "reo_content": 1}],
        "Processes": [{"process": "supply"}],
        "Recipes": [{"process": "supply", "product": "goods", "direction": "out",
                     "qty_per_activity": 1}],
        "BuildOptions": builds,
        "Routes": routes,
        "Markets": markets,
    }


@pytest.fixture(scope="module")
def hard_workbook(tmp_path_factory) -> Path:
    return write_input(tmp_path_factory.mktemp("hard") / "hard_cflp.xlsx",
                       hard_facility_sheets())


def _run_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, timeout=kw.pop("timeout", 180), **kw)


def test_time_limit_gives_a_feasible_plan_quickly(hard_workbook: Path, tmp_path: Path) -> None:
    out = tmp_path / "limited.xlsx"
    res = solve_workbook(hard_workbook, out, mip_gap=0.0, time_limit=1.5)
    # the MIP stops at the limit (HiGHS checks it often; allow 2 s of slack)
    assert res.times["solve"] < 1.5 + 2.0, res.times
    assert res.summary["status"] == "time_limit"
    assert res.summary["mip_gap"] > 0  # not proven optimal, and the gap says by how much
    run = pd.read_excel(out, sheet_name="Run", engine="calamine")
    kv = dict(zip(run["key"], run["value"], strict=True))
    assert kv["termination_condition"] == "maxTimeLimit"
    assert float(kv["time_limit_s"]) == 1.5
    assert float(kv["mip_gap"]) > 0
    summary = pd.read_excel(out, sheet_name="Summary", engine="calamine")
    s = dict(zip(summary["metric"], summary["value"], strict=True))
    assert s["status"] == "time_limit" and float(s["mip_gap"]) > 0


@pytest.mark.slow
def test_time_limit_cli_exit_0_and_says_so(hard_workbook: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.xlsx"
    t = time.perf_counter()
    r = _run_cli("solve", str(hard_workbook), "-o", str(out), "--no-report", "--time-limit", "1",
                 "--mip-gap", "0")
    wall = time.perf_counter() - t
    assert r.returncode == 0, r.stderr
    said = " ".join(r.stdout.replace("│", " ").split())  # the table wraps long cells
    assert "time_limit (time limit: feasible, not proven optimal)" in said, r.stdout
    # python start-up and reading 12,000 routes take a few seconds; the solve takes 1
    assert wall < 40, wall
    assert out.exists()


def test_no_incumbent_at_the_limit_is_exit_3(hard_workbook: Path, tmp_path: Path) -> None:
    out = tmp_path / "none.xlsx"
    with pytest.raises(SolverError, match="Time limit reached before any feasible plan"):
        solve_workbook(hard_workbook, out, mip_gap=0.0, time_limit=0.001)
    assert not out.exists()
    r = _run_cli("solve", str(hard_workbook), "-o", str(out), "--no-report", "--time-limit",
                 "0.001")
    assert r.returncode == 3, r.stderr
    assert "Time limit reached before any feasible plan" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert not out.exists()


@pytest.mark.slow
def test_ctrl_c_during_solve_exits_130_and_writes_nothing(hard_workbook: Path,
                                                           tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "interrupted.xlsx"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "--verbose", "solve", str(hard_workbook), "-o",
         str(out), "--no-report", "--mip-gap", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    started = threading.Event()
    lines: list[str] = []

    def watch() -> None:  # stderr carries the log: wait for the solve to start
        for line in proc.stderr:
            lines.append(line)
            if "HiGHS solve started" in line:
                started.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        assert started.wait(120), "the solve never started:\n" + "".join(lines[-20:])
        time.sleep(1.0)  # well inside branch and bound (the solve needs ~25 s)
        assert proc.poll() is None, "the solve ended before it could be interrupted"
        t = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        stopped_after = time.perf_counter() - t
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(0.2)  # let the reader thread take the last lines
    stderr = "".join(lines)
    assert proc.returncode == 130, stderr
    assert stopped_after < 15, stopped_after
    assert "Interrupted: nothing was written" in stderr
    assert "Traceback" not in stderr + proc.stdout.read()
    assert list(out_dir.iterdir()) == []  # no results, no temporary file
