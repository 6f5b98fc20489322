"""Time and peak memory of the robust extensive form with 3, 10 and 30 scenarios.

Scenarios are generated as price and duty perturbations of the base case with
the same Override selectors the Scenarios sheet uses (docs/model.md §11.4), drawn
with a fixed seed: NdPr oxide and metal prices × U(0.7, 1.5), the magnet price
moving with its NdPr content (× 1 + 0.37·(f − 1)), Dy/Tb oxide × U(0.8, 2.0),
and a raw-export duty (stage ≤ 2) from {0, 0.07, 0.3}.

Each size runs in a fresh process (peak resident memory is per process;
``cpu s`` is the solve's CPU time, a fairer figure than wall time on a busy machine):
reading, validation and data for every scenario, building the extensive form,
and solving it (criterion expected).  Per-scenario optima and plan
evaluations — the rest of a ``robust`` run — are not included.

    python benchmarks/robust_benchmark.py [--input inputs/base_case.xlsx]
        [--sizes 3,10,30] [--time-limit 600] [--mip-gap 1e-4] [--seed 1] [--engine ef|benders|ph]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def perturbations(n: int, seed: int):
    """``n`` named Override lists (the first is the unchanged base case)."""
    import numpy as np

    from optmodel.input.scenarios import Override

    rng = np.random.default_rng(seed)
    out = {"base": []}
    for k in range(1, n):
        f = float(rng.uniform(0.7, 1.5))
        g = float(rng.uniform(0.8, 2.0))
        duty = float(rng.choice([0.0, 0.07, 0.3]))
        out[f"p{k:02d}"] = [
            Override("Markets", "*|NdPr_oxide|*|*|*", "price_usd_per_t", factor=f),
            Override("Markets", "*|NdPr_metal|*|*|*", "price_usd_per_t", factor=f),
            Override("Markets", "*|NdFeB_magnet|*|*|*", "price_usd_per_t",
                     factor=1 + 0.37 * (f - 1)),
            Override("Markets", "*|DyTb_oxide|*|*|*", "price_usd_per_t", factor=g),
            Override("Policy", "export_duty_rate|stage<=2|", "value", value=duty),
        ]
    return out


def _run(n: int, path: str, time_limit: float, mip_gap: float, seed: int, engine: str,
         q) -> None:
    sys.path.insert(0, str(ROOT))  # a spawned process: the checkout, installed or not
    from optmodel.errors import InputError
    from optmodel.input.scenarios import apply_overrides
    from optmodel.input.validate import validate_raw
    from optmodel.io.read import read_raw
    from optmodel.model.data import build_model_data
    from optmodel.pipeline import solve_options
    from optmodel.strategy.robust import (
        benders_futures,
        build_extensive_form,
        solve_by_benders,
        solve_extensive_form,
        solve_progressive_hedging,
    )

    t0 = time.perf_counter()
    raw = read_raw(Path(path))
    base_tables, issues = validate_raw(raw)
    if any(i.severity == "error" for i in issues):
        raise InputError(issues)
    datas = {}
    for name, ovs in perturbations(n, seed).items():
        tables = base_tables
        if ovs:
            tables, issues = validate_raw(apply_overrides(raw, ovs, name))
            if any(i.severity == "error" for i in issues):
                raise InputError(issues)
        datas[name] = build_model_data(tables)
    t_data = time.perf_counter() - t0
    weights = {s: 1.0 / n for s in datas}
    opts = solve_options(base_tables.settings, mip_gap=mip_gap, time_limit=time_limit)
    if engine == "ph":  # builds the scenario models itself: build time is in the solve
        t_build, nvars = 0.0, 0
        t, c = time.perf_counter(), time.process_time()
        sol, plan = solve_progressive_hedging(datas, weights, opts)
        t_solve, cpu_solve = time.perf_counter() - t, time.process_time() - c
    elif engine == "benders":  # no starting plan: the decomposition from its own cuts
        t = time.perf_counter()
        futures, first_index = benders_futures(datas, opts)
        t_build = time.perf_counter() - t
        nvars = sum(f.mm.num_col for f in futures)
        t, c = time.perf_counter(), time.process_time()
        sol, plan, _ = solve_by_benders(futures, first_index, weights, "expected",
                                        dict.fromkeys(datas, 0.0), opts)
        t_solve, cpu_solve = time.perf_counter() - t, time.process_time() - c
    else:
        t = time.perf_counter()
        ef = build_extensive_form(datas, weights, "expected")
        t_build = time.perf_counter() - t
        nvars = ef.mm.num_col
        t, c = time.perf_counter(), time.process_time()
        sol, plan = solve_extensive_form(ef, opts)
        t_solve, cpu_solve = time.perf_counter() - t, time.process_time() - c
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    q.put(dict(scenarios=n, variables=nvars, data_s=t_data, build_s=t_build, solve_s=t_solve,
               solve_cpu_s=cpu_solve,
               total_s=time.perf_counter() - t0, peak_mb=peak_mb, status=sol.status,
               gap=sol.gap, expected_npv_musd=sol.objective_usd / 1e6,
               builds=len(plan.builds)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default=str(ROOT / "inputs" / "base_case.xlsx"))
    ap.add_argument("--sizes", default="3,10,30")
    ap.add_argument("--time-limit", type=float, default=600.0,
                    help="time limit (s) of each extensive-form solve")
    ap.add_argument("--mip-gap", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--engine", choices=("ef", "benders", "ph"), default="ef",
                    help="extensive form, Benders decomposition (vars: the futures' "
                         "columns together), or progressive hedging (needs mpi-sppy; the "
                         "E[NPV] column is then PH's own estimate, before rounding)")
    a = ap.parse_args(argv)
    sizes = [int(x) for x in a.sizes.split(",") if x.strip()]
    ctx = mp.get_context("spawn")
    print(f"{'scen':>4} {'vars':>8} {'data s':>8} {'build s':>8} {'solve s':>8} {'cpu s':>8} "
          f"{'total s':>8} "
          f"{'peak MB':>8} {'status':>11} {'gap':>9} {'E[NPV] MUSD':>12} {'builds':>6}",
          flush=True)
    for n in sizes:
        q = ctx.Queue()
        p = ctx.Process(target=_run, args=(n, a.input, a.time_limit, a.mip_gap, a.seed,
                                                a.engine, q))
        p.start()
        p.join()
        if p.exitcode != 0 or q.empty():
            print(f"{n:>4} failed (exit code {p.exitcode})", flush=True)
            continue
        r = q.get()
        print(f"{r['scenarios']:>4} {r['variables']:>8} {r['data_s']:>8.1f} {r['build_s']:>8.1f} "
              f"{r['solve_s']:>8.1f} {r['solve_cpu_s']:>8.1f} {r['total_s']:>8.1f} "
              f"{r['peak_mb']:>8.0f} "
              f"{r['status']:>11} {r['gap']:>9.2e} {r['expected_npv_musd']:>12.2f} "
              f"{r['builds']:>6}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
