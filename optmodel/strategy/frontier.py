"""Trade-off frontiers: the NPV cost of pushing a second measure (epsilon-constraint).

Measures (docs/model.md §3–5 derived results, whole horizon, undiscounted) as N(x)/D(x),
both linear in the trade and activity variables:

- ``processing_depth_index`` (push up): N = Σ_sell reo·stage·trade, D = Σ_sell reo·trade;
- ``domestic_value_added_musd`` (push up): N = revenue − purchases of every sell and buy
  row (USD; R̃ on a price-response row), D = 10⁶;
- ``national_npv_musd`` (push up): N = the NPV with every transfer set to zero (USD,
  :func:`optmodel.model.objective.national_coefficients`), D = 10⁶;
- ``raw_export_share`` (push down): N = Σ_export sell, stage≤2 reo·trade, D = REO of the
  deposit products output at deposit nodes.

The ratio constraint is linear once multiplied out::

    push up:    N(x) − ε·D(x) ≥ 0          push down:  N(x) − ε·D(x) ≤ 0

ε runs in ``points`` equal steps from the measure at the NPV optimum to its
extreme.  The extreme of a ratio comes from Dinkelbach's method (maximise or
minimise N − λ·D with D ≥ δ, λ ← N/D until it stops moving); of DVA from one
solve (as of national NPV).  Each point maximises NPV under its ε.  A point's solution is feasible
for every earlier (looser) point, so where a MIP gap lets a later point beat an
earlier one, the earlier point takes the later solution: NPV never rises as the
measure is pushed.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from optmodel.errors import InfeasibleError, InputError, SolverError
from optmodel.input.scenarios import BASE
from optmodel.input.tables import Tables
from optmodel.io.write import atomic_write_bytes, check_writable
from optmodel.model.build import BuiltModel
from optmodel.model.data import USD_PER_MUSD, ModelData, build_model_data
from optmodel.model.objective import national_coefficients, value_added_coefficients
from optmodel.pipeline import load_tables, run_table, solve_options
from optmodel.results.tables import extract_tables, summary_table
from optmodel.solver.highs import MatrixModel, assemble, outcome, solve_matrix
from optmodel.solver.options import SolveOptions, SolveOutcome
from optmodel.strategy.robust import (
    Plan,
    extra_run_rows,
    plan_from_values,
    plans_side_by_side,
    scenario_structure,
    write_sheets,
)

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
MEASURES = {  # name -> +1 push up, -1 push down
    "processing_depth_index": 1,
    "domestic_value_added_musd": 1,
    "raw_export_share": -1,
    "national_npv_musd": 1,
}
KPIS = ("processing_depth_index", "raw_export_share", "domestic_value_added_musd",
        "national_npv_musd", "fiscal_net_musd", "capex_musd", "revenue_musd",
        "export_duties_musd", "unmet_demand_t")


def _noop(_msg: str) -> None:
    return None


@dataclass
class Ratio:
    """N(x)/D(x) with N, D linear: coefficients over columns of the assembled model."""

    n_coef: np.ndarray
    n_cols: np.ndarray
    d_coef: np.ndarray
    d_cols: np.ndarray
    d_const: float = 0.0  # D = d_const + Σ d_coef·x (10⁶ for DVA, else 0)

    def value(self, x: np.ndarray) -> tuple[float, float]:
        """(N, D) at the column values ``x``."""
        n = float(np.dot(self.n_coef, x[self.n_cols]))
        d = self.d_const + float(np.dot(self.d_coef, x[self.d_cols]))
        return n, d

    def row(self, lam: float) -> tuple[np.ndarray, np.ndarray, float]:
        """N − λ·D as (columns, coefficients, constant)."""
        return (np.concatenate([self.n_cols, self.d_cols]),
                np.concatenate([self.n_coef, -lam * self.d_coef]), -lam * self.d_const)


def measure_ratio(bm: BuiltModel, measure: str, mm: MatrixModel | None = None) -> Ratio:
    """The measure of docs/model.md §3–5 as a ratio of linear expressions in the columns of
    ``mm`` (``bm`` assembled, :func:`~optmodel.solver.highs.assemble`)."""
    mm = assemble(bm) if mm is None else mm
    tr = bm.vars["trade"]
    idx = tr.index
    cols = mm.col_offset["trade"] + np.arange(len(idx), dtype=np.int64)
    sell = (idx["direction"] == "sell").to_numpy()
    reo = idx["reo_content"].to_numpy(dtype=float)
    empty = np.zeros(0)
    if measure == "processing_depth_index":
        stage = idx["stage"].to_numpy(dtype=float)
        return Ratio((reo * stage)[sell], cols[sell], reo[sell], cols[sell])
    if measure in ("domestic_value_added_musd", "national_npv_musd"):
        coefs = (value_added_coefficients(bm) if measure == "domestic_value_added_musd"
                 else national_coefficients(bm))
        parts = [(np.broadcast_to(np.asarray(c, dtype=float), len(bm.vars[f])),
                  mm.col_offset[f] + np.arange(len(bm.vars[f]), dtype=np.int64))
                 for f, c in coefs.items() if len(bm.vars[f])]
        coef = np.concatenate([c for c, _ in parts]) if parts else empty
        at = np.concatenate([j for _, j in parts]) if parts else np.zeros(0, dtype=np.int64)
        keep = coef != 0
        return Ratio(coef[keep], at[keep], empty, np.zeros(0, dtype=np.int64), USD_PER_MUSD)
    if measure == "raw_export_share":
        raw = sell & (idx["scope"] == "export").to_numpy() & (
            idx["stage"].to_numpy(dtype=float) <= 2)
        d = bm.data
        out = d.recipes[d.recipes["direction"] == "out"]
        dep = d.deposits[["node", "product"]].merge(out, on="product").merge(
            d.products[["product", "reo_content"]], on="product")
        a = bm.vars["act"].index[["node", "process", "vid"]].merge(dep, on=["node", "process"])
        coef = (a["qty_per_activity"] * a["reo_content"]).to_numpy(dtype=float)
        return Ratio(reo[raw], cols[raw], coef,
                     mm.col_offset["act"] + a["vid"].to_numpy(dtype=np.int64))
    raise InputError(f"Unknown measure {measure!r}; use one of {', '.join(MEASURES)}.")


@dataclass
class FrontierPoint:
    point: int
    epsilon: float
    achieved: float | None
    npv_usd: float
    status: str
    gap: float
    plan: Plan
    tables: dict[str, pd.DataFrame]
    from_point: int  # the point whose solution is reported (itself unless a later one won)


@dataclass
class FrontierResult:
    measure: str
    sense: int
    optimum_measure: float
    extreme: float
    points: list[FrontierPoint]
    sol: SolveOutcome
    opts: SolveOptions
    data: ModelData
    tables: Tables | None
    note: str = ""
    times: dict[str, float] = field(default_factory=dict)


def _x(mm: MatrixModel, sol: SolveOutcome) -> np.ndarray:
    """The column vector of ``mm`` from a solution's values by family."""
    return np.concatenate([sol.values[name] for name in mm.col_offset])


def _opts(opts: SolveOptions) -> SolveOptions:
    return replace(opts, duals=False)


def _with_ratio_row(mm: MatrixModel, name: str, ratio: Ratio, lam: float, lower: float,
                    upper: float) -> MatrixModel:
    """``mm`` with the row  lower ≤ N − λ·D ≤ upper."""
    cols, coef, const = ratio.row(lam)
    return mm.add_rows(name, np.zeros(len(cols), dtype=np.int64), cols, coef,
                       [lower - const], [upper - const])


def _extreme(bm: BuiltModel, mm: MatrixModel, ratio: Ratio, sense: int, start: float,
             d_floor: float, opts: SolveOptions, progress: Progress) -> float:
    """Max (sense +1) or min (−1) of N/D over the feasible set (Dinkelbach), D ≥ d_floor."""
    def best(model: MatrixModel, lam: float) -> tuple[float, float]:
        cols, coef, const = ratio.row(lam)
        cost = np.zeros(model.num_col)
        np.add.at(cost, cols, coef)
        res = solve_matrix(model.with_objective(cost, maximize=sense > 0, offset=const),
                           _opts(opts))
        return ratio.value(res.x)

    if not len(ratio.d_cols):  # D constant: one solve
        progress("Finding the measure's extreme")
        n, d = best(mm, 0.0)
        return n / d
    floor = mm.add_rows("frontier_d_floor", np.zeros(len(ratio.d_cols), dtype=np.int64),
                        ratio.d_cols, ratio.d_coef, [d_floor - ratio.d_const], [np.inf])
    lam = start
    for it in range(1, 31):
        progress(f"Finding the measure's extreme (Dinkelbach step {it}, λ = {lam:.6g})")
        n, d = best(floor, lam)
        new = n / d if d > 0 else lam
        if sense * (new - lam) <= 1e-9 * max(1.0, abs(lam)):
            return max(new, lam) if sense > 0 else min(new, lam)
        lam = new
    return lam


def trace_frontier(data: ModelData, measure: str, points: int = 7, opts: SolveOptions | None = None,
                   progress: Progress = _noop, tables: Tables | None = None) -> FrontierResult:
    """Solve the NPV optimum, the measure's extreme and ``points`` ε-constrained optima
    (each ε a row added to the assembled model)."""
    if measure not in MEASURES:
        raise InputError(f"Unknown measure {measure!r} for --against; use one of "
                         f"{', '.join(MEASURES)}.")
    if points < 2:
        raise InputError(f"--points must be at least 2 (got {points}).")
    opts = opts or SolveOptions()
    sense = MEASURES[measure]
    times: dict[str, float] = {}
    t = time.perf_counter()
    progress("Solving the NPV optimum")
    bm = scenario_structure(data, opts)
    mm = assemble(bm)
    sol0 = outcome(bm, mm, solve_matrix(mm, _opts(opts)))
    ratio = measure_ratio(bm, measure, mm)
    n0, d0 = ratio.value(_x(mm, sol0))
    if d0 <= 0:
        what = "nothing is sold" if measure == "processing_depth_index" else "nothing is mined"
        raise InfeasibleError(f"{measure} is blank at the NPV optimum ({what}), so there is no "
                              "frontier to trace.")
    m0 = n0 / d0
    times["optimum"] = time.perf_counter() - t
    t = time.perf_counter()
    ext = _extreme(bm, mm, ratio, sense, m0, 1e-3 * d0, opts, progress)
    times["extreme"] = time.perf_counter() - t
    note = ""
    if sense * (ext - m0) <= 1e-9 * max(1.0, abs(m0)):
        note = f"{measure} is already at its {'maximum' if sense > 0 else 'minimum'} at the " \
               "NPV optimum: the frontier is a single point."
        eps = [m0]
    else:
        back = 1e-7 * max(1.0, abs(ext))
        eps = [m0 + (ext - m0) * k / (points - 1) for k in range(points)]
        eps[-1] = ext - sense * back
    t = time.perf_counter()
    pts: list[FrontierPoint] = []
    for k, e in enumerate(eps):
        if k == 0:
            sol = sol0
        else:
            progress(f"Frontier point {k + 1}/{len(eps)}: {measure} "
                     f"{'≥' if sense > 0 else '≤'} {e:.6g}")
            # push up: N − ε·D ≥ 0;  push down: N − ε·D ≤ 0
            lo, hi = (0.0, np.inf) if sense > 0 else (-np.inf, 0.0)
            point = _with_ratio_row(mm, "frontier_epsilon", ratio, e, lo, hi)
            try:
                sol = outcome(bm, point, solve_matrix(point, _opts(opts)))
            except InfeasibleError:
                note = (f"ε = {e:.6g} is infeasible (numerical limit of the extreme); the "
                        "frontier stops at the previous point.")
                break
            except SolverError as exc:
                note = f"point {k}: {exc}"
                break
        res = extract_tables(bm, sol)
        res["Summary"] = summary_table(bm, sol, res)
        n, d = ratio.value(_x(mm, sol))
        pts.append(FrontierPoint(k, e, n / d if d > 0 else None, sol.objective_usd, sol.status,
                                 sol.gap, plan_from_values(bm, sol.values, f"p{k}"), res, k))
    times["points"] = time.perf_counter() - t
    _make_monotone(pts)
    return FrontierResult(measure, sense, m0, ext, pts, sol0, opts, data, tables, note, times)


def _make_monotone(pts: list[FrontierPoint]) -> None:
    """Backward pass: a later point's solution is feasible for an earlier one."""
    for k in range(len(pts) - 2, -1, -1):
        later, cur = pts[k + 1], pts[k]
        if later.npv_usd > cur.npv_usd:
            pts[k] = FrontierPoint(cur.point, cur.epsilon, later.achieved, later.npv_usd,
                                   later.status, later.gap, later.plan.with_label(f"p{k}"),
                                   later.tables, later.from_point)


# ============================================================ tables, chart, workbook


def _summary(p: FrontierPoint) -> dict:
    s = p.tables["Summary"]
    return dict(zip(s["metric"], s["value"], strict=True))


def frontier_tables(res: FrontierResult) -> dict[str, pd.DataFrame]:
    star = res.points[0].npv_usd / USD_PER_MUSD
    rows = []
    for p in res.points:
        s = _summary(p)
        npv = p.npv_usd / USD_PER_MUSD
        builds = p.plan.describe()
        rows.append({"point": p.point, "epsilon": p.epsilon, f"{res.measure}": p.achieved,
                     "npv_musd": npv, "npv_cost_musd": star - npv,
                     "npv_cost_share": (star - npv) / abs(star) if star else None,
                     **{k: s.get(k) for k in KPIS if k != res.measure},
                     "builds": builds, "status": p.status, "mip_gap": p.gap,
                     "solution_of_point": p.from_point})
    out = {"Frontier": pd.DataFrame(rows)}
    out["Builds"] = plans_side_by_side([p.plan for p in res.points], res.data)
    about = [("measure", res.measure, ""),
             ("direction", "pushed up" if res.sense > 0 else "pushed down", ""),
             ("measure_at_npv_optimum", res.optimum_measure, ""),
             ("measure_extreme", res.extreme, "max" if res.sense > 0 else "min"),
             ("npv_optimum_musd", star, "MUSD"),
             ("points", len(res.points), ""),
             ("note", res.note, "")]
    out["About"] = pd.DataFrame(about, columns=["metric", "value", "unit"])
    if res.tables is not None and res.tables.warnings:
        out["Warnings"] = pd.DataFrame([(x.sheet, x.row, x.message) for x in res.tables.warnings],
                                       columns=["sheet", "row", "message"])
    return out


def frontier_figure(res: FrontierResult):
    """NPV against the measure, one marker per point (hover: builds)."""
    import plotly.graph_objects as go

    df = frontier_tables(res)["Frontier"]
    fig = go.Figure(go.Scatter(
        x=df[res.measure], y=df["npv_musd"], mode="lines+markers",
        text=[f"point {p}<br>ε = {e:.4g}<br>NPV cost {c:,.1f} MUSD<br>{b}" for p, e, c, b in
              zip(df["point"], df["epsilon"], df["npv_cost_musd"], df["builds"], strict=True)],
        hoverinfo="text+x+y", marker={"size": 9}))
    fig.update_layout(
        title=f"NPV cost of pushing {res.measure} "
              f"({'up' if res.sense > 0 else 'down'})",
        xaxis_title=res.measure, yaxis_title="NPV (MUSD)", template="plotly_white")
    return fig


SHEET_ORDER = ("About", "Frontier", "Builds")
# the page loads nothing from anywhere: every script and style is inline
_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:; connect-src 'none'")
_CSS = ("body{font-family:Arial,Helvetica,sans-serif;margin:18px 24px;color:#222;max-width:"
        "1200px}h1{font-size:22px}h2{font-size:17px;border-bottom:1px solid #ccc}"
        "p,li{font-size:14px;line-height:1.5}table{border-collapse:collapse;font-size:12.5px}"
        "td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}"
        "th{background:#1f4e78;color:#fff;font-weight:normal}td.t{text-align:left}")


def _money(v: float) -> str:
    return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.4g}"


def frontier_html(res: FrontierResult) -> str:
    """The frontier page: what the chart shows and how to read it, the chart, and the
    points with their plans (offline: plotly.js inside, nothing fetched)."""
    import html as _html

    from optmodel.schema import summary_meaning

    esc = _html.escape
    df = frontier_tables(res)["Frontier"]
    m = res.measure
    up = res.sense > 0
    star = res.points[0].npv_usd / USD_PER_MUSD
    last = df.iloc[-1]
    first = df["point"].iloc[0]
    meaning = summary_meaning(m)
    rows = []
    prev = None
    for r in df.to_dict("records"):
        plan = r["builds"] if r["builds"] != prev else "(same plan as above)"
        prev = r["builds"]
        rows.append(f"<tr><td>{r['point']}</td><td>{r['epsilon']:.4g}</td><td>{r[m]:.4g}</td>"
                    f"<td>{_money(r['npv_musd'])}</td><td>{_money(r['npv_cost_musd'])}</td>"
                    f'<td class="t">{esc(str(plan))}</td></tr>')
    chart = frontier_figure(res).to_html(include_plotlyjs=True, full_html=False,
                                         config={"displaylogo": False})
    goal = "at least" if up else "at most"
    text = f"""
<h1>Trade-off frontier: NPV against {esc(m)}</h1>
<h2>What this page shows</h2>
<p><b>{esc(m)}</b>: {esc(meaning)}</p>
<p>Each point is the best plan the model can find (the highest NPV) when {esc(m)} must be
{goal} a target value ε. Point {first} has no target: it is the ordinary optimum, with {esc(m)} =
{res.optimum_measure:.4g} and NPV = {_money(star)} MUSD. The following points push {esc(m)}
{'up' if up else 'down'} in equal steps, to {res.extreme:.4g}, the most that can be reached
({'maximum' if up else 'minimum'}) whatever it costs.</p>
<h2>How to read it</h2>
<ul>
<li>The <b>NPV cost</b> of a point is the NPV given up against point {first} (MUSD, discounted to
first_year): what reaching that value of {esc(m)} costs the chain. At the last point it is
{_money(last['npv_cost_musd'])} MUSD.</li>
<li>A flat stretch means the goal is cheap there; a steep one that each further step costs
much more. Where the plan (the builds) changes, the table below says so.</li>
<li>The frontier is a menu, not a recommendation: a policy that asks for a value of {esc(m)}
should be judged against its NPV cost (and, for a policy with transfers, against
national_npv_musd in the workbook's Frontier sheet).</li>
</ul>
<h2>Chart</h2>
{chart}
<h2>Points and plans</h2>
<table><tr><th>point</th><th>target ε</th><th>{esc(m)}</th><th>NPV (MUSD)</th>
<th>NPV cost (MUSD)</th><th>builds</th></tr>{''.join(rows)}</table>
<h2>Method</h2>
<p>Epsilon-constraint: each point maximises NPV with {esc(m)} {goal} ε, written as a linear
constraint on the trade and activity variables. The extreme value comes from
Dinkelbach's method. A point's plan is also feasible for every earlier (looser) point, so where
the MIP gap lets a later point beat an earlier one, the earlier point takes the later plan: NPV
never rises along the frontier. Solved with the workbook's mip_gap; details in the workbook
(sheets About, Frontier, Builds) and in docs/strategy.md.</p>
{f'<p><b>Note:</b> {esc(res.note)}</p>' if res.note else ''}
"""
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
            f"<title>optmodel frontier: {esc(m)}</title>\n<style>{_CSS}</style>\n</head>\n"
            f"<body>{text}</body>\n</html>\n")


def frontier_workbook(input_path: Path | str, output_path: Path | str, measure: str, *,
                      points: int = 7, scenario: str | None = None,
                      mip_gap: float | None = None, time_limit: float | None = None,
                      threads: int | None = None, tee: bool = False, html: bool = True,
                      command_line: str | None = None, progress: Progress = _noop
                      ) -> tuple[FrontierResult, dict[str, pd.DataFrame], Path | None]:
    """Trace the frontier for ``input_path``; write the workbook and the chart next to it."""
    start = _dt.datetime.now(_dt.UTC)
    input_path, output_path = Path(input_path), Path(output_path)
    check_writable(output_path, [input_path])
    html_path = output_path.with_suffix(".html") if html else None
    if html_path is not None:
        check_writable(html_path, [input_path])
    if measure not in MEASURES:
        raise InputError(f"Unknown measure {measure!r} for --against; use one of "
                         f"{', '.join(MEASURES)}.")
    t = time.perf_counter()
    progress(f"Reading {input_path.name}")
    tables = load_tables(input_path, scenario)
    opts = solve_options(tables.settings, mip_gap, time_limit, threads, tee)
    res = trace_frontier(build_model_data(tables), measure, points, opts, progress, tables)
    res.times["total"] = time.perf_counter() - t
    out = frontier_tables(res)
    run = run_table(input_path, scenario or BASE, opts, res.sol, res.times, start, tables,
                    command_line)
    out["Run"] = extra_run_rows([("command", "frontier"), ("against", measure),
                                 ("points", points)], run)
    progress(f"Writing {output_path.name}")
    write_sheets(output_path, out, SHEET_ORDER, "optmodel trade-off frontier")
    if html_path is not None:
        atomic_write_bytes(html_path, frontier_html(res).encode("utf-8"))
    return res, out, html_path


def is_monotone(npv: list[float], tol: float = 1e-6) -> bool:
    """NPV non-increasing along the frontier (relative tolerance)."""
    return all(b <= a + tol * max(1.0, abs(a)) for a, b in zip(npv, npv[1:], strict=False))


__all__ = ["MEASURES", "trace_frontier", "frontier_workbook", "frontier_tables",
           "frontier_figure", "frontier_html", "measure_ratio", "is_monotone"]
