"""MIP strength benchmark: LP-relaxation gap and HiGHS time per scenario, and warm starts.

    python benchmarks/mip_strength.py [--input inputs/base_case.xlsx] [--scenarios a,b]
                                      [--sweep-points 20] [--no-scenarios] [--no-sweep]

A. For every scenario of the input (base and each named one), with the plain
   formulation (``build_model(strengthen=False)``, "before") and the strengthened
   one ("after"): the MIP optimum at mip_gap 0, the LP-relaxation gap
   (LP relaxation − MIP optimum) / |MIP optimum|, and HiGHS's own time on 1 thread
   (the model handed over in memory, as ``--write-model`` then ``readModel`` would,
   timed around ``run()`` only), its branch-and-bound nodes and LP iterations
   (these two do not depend on how busy the machine is).
B. A 20-point sweep of the NdPr oxide export price (50,000 … 120,000 USD/t, as
   benchmarks/sweep_benchmark.py: around the 2026 price of about 74,000, and through
   the prices above about 83,000 at which the plan changes and Tomtor is developed),
   each point solved at the default gap (1e-4) once cold and once warm-started from
   the previous point (``SolveOptions.start``, the batch engine's warm start), and in
   the order ``run.py sweep`` uses for a one-parameter sweep (both ends, then
   bisection; a middle run whose two solved neighbours have the same plan proved by one
   LP): total HiGHS time of each.

Numbers are printed as Markdown tables (docs/performance.md quotes them).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from optmodel.batch.engine import LineOrder  # noqa: E402
from optmodel.batch.sweep import sweep_runs  # noqa: E402
from optmodel.input.scenarios import apply_overrides, scenario_names  # noqa: E402
from optmodel.input.validate import validate_raw  # noqa: E402
from optmodel.io.read import read_raw  # noqa: E402
from optmodel.model.build import build_model  # noqa: E402
from optmodel.model.data import build_model_data  # noqa: E402
from optmodel.pipeline import load_tables  # noqa: E402
from optmodel.solver.highs import assemble, to_highs  # noqa: E402
from optmodel.solver.options import SolveOptions, WarmStart  # noqa: E402
from optmodel.solver.solve import solve_direct  # noqa: E402

SWEEP_SET = "Markets|*|NdPr_oxide|sell|export|*:price_usd_per_t={lo}:{hi}:{n}"


def _highs_alone(bm) -> dict[str, float]:
    """MIP at gap 0 and its LP relaxation, HiGHS on 1 thread, default options."""
    mm = assemble(bm)
    h = to_highs(mm, SolveOptions(mip_gap=0.0, threads=1))
    t = time.perf_counter()
    h.run()
    secs = time.perf_counter() - t
    info = h.getInfo()
    mip = float(info.objective_function_value)
    nodes, iters = int(info.mip_node_count), int(info.simplex_iteration_count)
    x_mip = np.asarray(h.getSolution().col_value, dtype=float)
    h.clearSolver()
    h.setOptionValue("solve_relaxation", True)
    h.run()
    lp = float(h.getInfo().objective_function_value)
    x_lp = np.asarray(h.getSolution().col_value, dtype=float)
    return {"mip": mip, "lp": lp, "gap": (lp - mip) / max(1e-9, abs(mip)), "time": secs,
            "nodes": nodes, "iters": iters, "where": _fractional(bm, mm, x_lp, x_mip)}


def _fractional(bm, mm, x_lp, x_mip) -> str:
    """The whole-unit decisions the LP relaxation takes apart from the optimum: each
    integer column whose relaxed value is fractional, as option@start (or node) relaxed
    value (optimum value); where the gap of a scenario comes from."""
    out = []
    for fam, label in (("build", lambda r: f"{r.option}@{r.year}"),
                       ("open", lambda r: f"open {r.node}")):
        if fam not in bm.vars or not len(bm.vars[fam]):
            continue
        k = mm.col_offset[fam]
        idx = bm.vars[fam].index.reset_index(drop=True)
        for i, row in enumerate(idx.itertuples(index=False)):
            j = k + i
            if mm.integer[j] and abs(x_lp[j] - round(x_lp[j])) > 1e-6:
                out.append(f"{label(row)} {x_lp[j]:.2f} ({round(x_mip[j]) + 0:d})")
    return "; ".join(out) or "none"


def scenarios_table(path: Path, names: list[str] | None) -> None:
    base = load_tables(path)
    names = names or list(scenario_names(base))
    print("| scenario | MIP optimum (MUSD) | LP gap before | LP gap after | HiGHS s before | "
          "HiGHS s after | nodes before → after | LP iterations before → after | "
          "fractional in the relaxation (optimum) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    trees = []
    for name in names:
        data = build_model_data(load_tables(path, name))
        before = _highs_alone(build_model(data, strengthen=False))
        strong = build_model(data, strengthen=True)
        after = _highs_alone(strong)
        if abs(before["mip"] - after["mip"]) > 1e-6 * max(1.0, abs(before["mip"])):
            print(f"!! {name}: optima differ: {before['mip']} vs {after['mip']}")
        trees.append((name, after, _lp_tree(strong)))
        print(f"| {name} | {after['mip'] / 1e6:,.3f} | {before['gap']:.2%} | "
              f"{after['gap']:.2%} | {before['time']:.2f} | {after['time']:.2f} | "
              f"{before['nodes']} → {after['nodes']} | {before['iters']} → {after['iters']} | "
              f"{after['where']} |", flush=True)
    print()
    print("| scenario | HiGHS's MIP solver (s) | LP tree (s) | how | NPV difference |")
    print("|---|---:|---:|---|---:|")
    for name, mip, (secs, how, npv) in trees:
        diff = abs(npv - mip["mip"]) / max(1.0, abs(mip["mip"]))
        print(f"| {name} | {mip['time']:.2f} | {secs:.2f} | {how} | {diff:.1e} |")
    total_mip = sum(m["time"] for _, m, _ in trees)
    total_tree = sum(t[0] for _, _, t in trees)
    print(f"| all {len(trees)} | {total_mip:.2f} | {total_tree:.2f} | | |")


def _lp_tree(bm) -> tuple[float, str, float]:
    """The single run's solve (the LP tree first, HiGHS's MIP solver if it gives up), 1
    thread, gap 0 as the column beside it: seconds, how, NPV."""
    sol = solve_direct(bm, SolveOptions(mip_gap=0.0, threads=1, duals=False))
    return sum(sol.times.get(k, 0.0) for k in ("solve", "tree")), sol.method, sol.objective_usd


def sweep_table(path: Path, points: int, lo: float = 50000, hi: float = 120000) -> None:
    _, runs = sweep_runs([SWEEP_SET.format(lo=lo, hi=hi, n=points)], None, None)
    raw = {k: v for k, v in read_raw(path).items() if k.strip().lower() != "scenarios"}
    models = []
    for r in runs:
        tables, issues = validate_raw(apply_overrides(raw, r.overrides, r.name))
        assert not [i for i in issues if i.severity == "error"], r.name
        models.append(build_model(build_model_data(tables)))
    opts = SolveOptions(mip_gap=1e-4, threads=1, duals=False)
    totals, npvs, hows, calls = {}, {}, [], {}
    for mode in ("mip", "cold", "warm"):
        secs, start, objs, wall = 0.0, WarmStart(), [], 0.0
        for bm in models:
            t = time.perf_counter()
            sol = solve_direct(bm, dataclasses.replace(
                opts, start=start if mode == "warm" else None,
                tree_nodes=0 if mode == "mip" else opts.tree_nodes))
            wall += time.perf_counter() - t
            secs += sol.times["solve"] + sol.times.get("tree", 0.0)
            objs.append(sol.objective_usd)
            start = sol.start
            if mode == "warm":
                hows.append(sol.warm)
        totals[mode], npvs[mode], calls[mode] = secs, np.array(objs), wall
    # as `run.py sweep` solves a one-parameter sweep (LineOrder): both ends, then
    # bisection, each run warm-started from the previous one and each middle run proved
    # from its two solved neighbours where they have the same plan (one LP)
    order, secs, start = LineOrder(len(models)), 0.0, WarmStart()
    objs, line_hows = [0.0] * len(models), []
    queue = [(i, None) for i in order.first()]
    while queue:
        i, bracket = queue.pop(0)
        sol = solve_direct(models[i], dataclasses.replace(
            opts, start=start, bracket=bracket, line_point=f"run {i + 1}"))
        secs += sol.times["solve"] + sol.times.get("tree", 0.0)
        objs[i], start = sol.objective_usd, sol.start
        line_hows.append("proved" if sol.warm.startswith("proved") else "MIP")
        queue += order.finished(i, sol.point)
    totals["line"], npvs["line"] = secs, np.array(objs)
    worst = max(float(np.max(np.abs(npvs[m] - npvs["cold"]) / np.abs(npvs["cold"])))
                for m in ("mip", "warm", "line"))
    print("| sweep | HiGHS's MIP solver, cold | LP tree, cold | warm (previous run) | "
          "speed-up over the cold tree (over HiGHS's MIP) | sweep order (bisection, proofs) "
          "| speed-up | NPV difference |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {points}-point NdPr oxide export price {lo:,.0f}–{hi:,.0f} | "
          f"{totals['mip']:.2f} s | {totals['cold']:.2f} s | {totals['warm']:.2f} s | "
          f"{totals['cold'] / totals['warm']:.1f}× ({totals['mip'] / totals['warm']:.1f}×) | "
          f"{totals['line']:.2f} s | {totals['cold'] / totals['line']:.1f}× | "
          f"{worst:.1e} relative |")
    print(f"whole solve_direct calls (matrix, keys and starts included): HiGHS's MIP solver "
          f"{calls['mip']:.2f} s, LP tree cold {calls['cold']:.2f} s, warm "
          f"{calls['warm']:.2f} s ({calls['cold'] / calls['warm']:.1f}×)")
    counts = {h: hows.count(h) for h in dict.fromkeys(hows)}
    print("warm runs: " + "; ".join(f"{n} × {h}" for h, n in counts.items()))
    print(f"sweep order: {line_hows.count('proved')} runs proved by their neighbours, "
          f"{line_hows.count('MIP')} MIPs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default=str(ROOT / "inputs" / "base_case.xlsx"))
    ap.add_argument("--scenarios", default=None, help="comma-separated (default: all)")
    ap.add_argument("--sweep-points", type=int, default=20)
    ap.add_argument("--sweep-range", default="50000:120000",
                    help="LOW:HIGH of the swept NdPr oxide export price (USD/t)")
    ap.add_argument("--no-scenarios", action="store_true")
    ap.add_argument("--no-sweep", action="store_true")
    a = ap.parse_args()
    path = Path(a.input)
    if not a.no_scenarios:
        scenarios_table(path, a.scenarios.split(",") if a.scenarios else None)
    if not a.no_sweep:
        lo, hi = (float(x) for x in a.sweep_range.split(":"))
        sweep_table(path, a.sweep_points, lo, hi)


if __name__ == "__main__":
    main()
