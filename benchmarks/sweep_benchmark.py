"""Sweep benchmark: one ``run.py sweep`` (shared structure, Dask workers) vs cold solves.

    python benchmarks/sweep_benchmark.py [--runs 20] [--workers 2] [--input IN.xlsx]

Sweeps the export price of NdPr oxide over ``--runs`` values from 50,000 to
120,000 USD/t (around the 2026 price of about 74,000; the plan changes above about
83,000, where Tomtor is developed) on inputs/base_case.xlsx (or, when that file does
not exist, on the template's example workbook) and times

A. one ``python run.py sweep IN --set … --workers N --no-report`` process: every
   run's results workbook plus batch.xlsx, no batch.html (see docs/scenarios.md);
B. the same runs as ``--runs`` separate ``python run.py solve INi --no-report``
   processes, one after another, each on a copy of the input with the price
   typed in (the copies are written before the clock starts).

Both are whole command-line invocations (Python start-up included), as a user
would run them.  The script checks that both give the same NPV for every run
(within the MIP gap) and prints both times and the speed-up.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from optmodel.batch.sweep import sweep_runs  # noqa: E402
from optmodel.input.scenarios import apply_overrides  # noqa: E402
from optmodel.io.read import read_raw  # noqa: E402
from optmodel.io.write import SheetSpec, write_workbook  # noqa: E402

# above the unlimited RU_imports buy price (62000) the base case is unbounded (import → export)
BASE_SET = "Markets|*|NdPr_oxide|sell|export|*:price_usd_per_t=50000:120000:{n}"
TEMPLATE_SET = "Markets|*|oxide|sell|export|*:price_usd_per_t=10000:40000:{n}"


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, cwd=ROOT)


def _write_variant(raw, overrides, path: Path) -> None:
    """A copy of the input with the overrides typed in (README and empty sheets dropped)."""
    changed = apply_overrides(raw, overrides)
    specs = []
    for name, sheet in changed.items():
        if name.lower() == "readme":
            continue
        header = [str(h) if h is not None else f"unnamed_{j}" for j, h in
                  enumerate(sheet.header)]
        rows = [list(r) + [None] * (len(header) - len(r)) for r in sheet.rows]
        specs.append(SheetSpec(name, pd.DataFrame([r[:len(header)] for r in rows],
                                                  columns=header)))
    write_workbook(path, specs)


def _cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _npv(path: Path) -> float:
    s = pd.read_excel(path, sheet_name="Summary", engine="calamine")
    return float(s.loc[s["metric"] == "npv_musd", "value"].iloc[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--input", type=Path, default=None)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="optmodel-bench-"))
    src = args.input or ROOT / "inputs" / "base_case.xlsx"
    if src.exists():
        set_text = (BASE_SET if args.input is None else TEMPLATE_SET).format(n=args.runs)
    else:
        src = work / "template_example.xlsx"
        r = _run(["template", str(src)])
        if r.returncode:
            print(r.stderr)
            return 1
        set_text = TEMPLATE_SET.format(n=args.runs)
    print(f"input: {src}\nsweep: --set \"{set_text}\"  ({args.runs} runs)")

    # B's inputs, written before any clock starts
    raw = read_raw(src)
    _, runs = sweep_runs([set_text])
    inputs = []
    for run in runs:
        p = work / "cold" / f"{run.name}.xlsx"
        p.parent.mkdir(exist_ok=True)
        _write_variant(raw, run.overrides, p)
        inputs.append(p)

    # A: one sweep command, shared structure, Dask LocalCluster of --workers processes
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    c, t = _cpu(), time.perf_counter()
    a = _run(["sweep", str(src), "--set", set_text, "-o", str(work / "sweep"),
              "--workers", str(args.workers), "--no-report"])
    t_sweep, c_sweep = time.perf_counter() - t, _cpu() - c
    if a.returncode:
        print(a.stderr[-3000:])
        return a.returncode
    batch = pd.read_excel(work / "sweep" / "batch.xlsx", sheet_name="Runs", engine="calamine")
    meta = pd.read_excel(work / "sweep" / "batch.xlsx", sheet_name="Batch", engine="calamine")
    mode = dict(zip(meta["key"], meta["value"], strict=True)).get("model_reuse", "?")

    # B: one cold `run.py solve` process per run
    c, t = _cpu(), time.perf_counter()
    for p in inputs:
        b = _run(["solve", str(p), "-o", str(p.with_name(p.stem + "_res.xlsx")), "--no-report"])
        if b.returncode:
            print(f"{p.name}: exit {b.returncode}\n{b.stderr[-2000:]}")
            return b.returncode
    t_cold, c_cold = time.perf_counter() - t, _cpu() - c

    worst = 0.0
    for p, npv in zip(inputs, batch["npv_musd"], strict=True):
        cold = _npv(p.with_name(p.stem + "_res.xlsx"))
        worst = max(worst, abs(cold - npv) / max(1.0, abs(cold)))
    reused = int((batch["model"] == "structure re-used").sum())
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} before the runs")
    print(f"A  one sweep, {args.workers} workers      : {t_sweep:7.1f} s wall, {c_sweep:7.1f} s CPU"
          f"\n   model re-use: {mode}; {reused}/{len(batch)} runs re-used the structure")
    print(f"B  {len(inputs)} cold `run.py solve` calls  : {t_cold:7.1f} s wall, "
          f"{c_cold:7.1f} s CPU")
    print(f"speed-up: {t_cold / t_sweep:.1f}x wall, {c_cold / c_sweep:.1f}x CPU   "
          f"(largest NPV difference: {worst:.2e} relative)")
    print(f"files in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
