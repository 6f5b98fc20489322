"""Near-optimal alternatives: modelling to generate alternatives (MGA) on builds and openings.

1. Solve the NPV optimum: NPV*, plan x⁰.
2. Keep every later plan near-optimal:

       npv_floor:  NPV(x) ≥ NPV* − slack·|NPV*|        (USD; right for negative NPV too)

3. Hop-Skip-Jump: for k = 1 … count, minimise the overlap with the plans so far,

       min Σ_{i ∈ W_k} x_i / ub_i,    W_k = {first-stage variables non-zero in x⁰ … x^{k−1}}

   over the build[o,τ] and open[n] variables (ub_i their upper bound, so that a
   multi-unit option counts as much as a binary one).  With ``overlap="option"``
   W_k takes every start year of an option used before, so alternatives move
   to other sites and technologies rather than shifting a start year.
4. If the new plan's builds repeat an earlier plan, cut that plan off and solve
   again (no-good cut over the integer first-stage variables at a bound)::

       Σ_{i: x̂_i = 0} x_i + Σ_{i: x̂_i = ub_i} (ub_i − x_i) ≥ 1

   When no distinct plan is left within the slack, the list ends early (said so).

Each alternative is then *evaluated*: builds and openings fixed, operations
re-optimised for NPV (an LP), so that its reported NPV and KPIs are the best the
plan can do — never below the floor.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from optmodel.errors import InfeasibleError, InputError, SolverError
from optmodel.input.scenarios import BASE
from optmodel.input.tables import Tables
from optmodel.io.write import check_writable
from optmodel.model.build import BuiltModel
from optmodel.model.data import USD_PER_MUSD, ModelData, build_model_data
from optmodel.model.pyomo_export import build_pyomo
from optmodel.pipeline import load_tables, run_table, solve_options
from optmodel.solver.options import SolveOptions, SolveOutcome
from optmodel.solver.solve import solve
from optmodel.strategy.robust import (
    Evaluation,
    Evaluator,
    Plan,
    extra_run_rows,
    plan_from_values,
    plans_side_by_side,
    write_sheets,
)

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
KPI_ROWS = ("npv_musd", "capex_musd", "opening_cost_musd", "revenue_musd", "opex_musd",
            "transport_musd", "export_duties_musd", "processing_depth_index",
            "raw_export_share", "domestic_value_added_musd", "unmet_demand_t")


def _noop(_msg: str) -> None:
    return None


def npv_floor_usd(npv_star_usd: float, slack: float) -> float:
    """NPV* − slack·|NPV*|: a fraction ``slack`` below the optimum whatever its sign."""
    return npv_star_usd - slack * abs(npv_star_usd)


@dataclass
class Alternative:
    label: str
    plan: Plan
    evaluation: Evaluation
    mga_objective: float | None  # overlap with earlier plans (None for the optimum)
    repeats_cut: int = 0  # no-good cuts added before this plan came out distinct


@dataclass
class AlternativesResult:
    npv_star_usd: float
    floor_usd: float
    slack: float
    alternatives: list[Alternative]
    sol: SolveOutcome  # of the optimum
    opts: SolveOptions
    data: ModelData
    tables: Tables
    stopped: str = ""  # why fewer alternatives than asked, if so
    times: dict[str, float] = field(default_factory=dict)


class _FirstStage:
    """The first-stage variables of one model as flat arrays (build then open)."""

    def __init__(self, bm: BuiltModel):
        self.objs = np.concatenate([bm.vars["build"].objs, bm.vars["open"].objs])
        self.ub = np.array([v.ub if v.ub is not None else 1.0 for v in self.objs], dtype=float)
        self.ub = np.where(self.ub > 0, self.ub, 1.0)
        self.integer = np.array([not v.is_continuous() for v in self.objs], dtype=bool)
        self.nb = len(bm.vars["build"])
        self.group = np.concatenate([
            ("build:" + bm.vars["build"].index["option"].astype(str)).to_numpy(dtype=object),
            ("open:" + bm.vars["open"].index["node"].astype(str)).to_numpy(dtype=object)])

    def widen(self, used: np.ndarray) -> np.ndarray:
        """Every variable of an option (all start years) or node that is used."""
        return np.isin(self.group, self.group[used])

    def values(self, sol: SolveOutcome) -> np.ndarray:
        x = np.concatenate([sol.values["build"], sol.values["open"]])
        return np.where(self.integer, np.round(x), x)


OVERLAPS = ("variable", "option")


def generate_alternatives(data: ModelData, opts: SolveOptions, slack: float = 0.02,
                          count: int = 5, progress: Progress = _noop,
                          tables: Tables | None = None,
                          overlap: str = "variable") -> AlternativesResult:
    """The optimum plus up to ``count`` distinct near-optimal plans (module docstring)."""
    if not (0 <= slack < 1) or not math.isfinite(slack):
        raise InputError(f"--slack must be in [0, 1) (got {slack}).")
    if overlap not in OVERLAPS:
        raise InputError(f"--overlap must be one of {', '.join(OVERLAPS)} (got {overlap!r}).")
    if count < 1:
        raise InputError(f"--count must be at least 1 (got {count}).")
    times: dict[str, float] = {}
    t = time.perf_counter()
    progress("Solving the NPV optimum")
    bm = build_pyomo(data)
    sol = solve(bm, replace(opts, duals=False))
    times["optimum"] = time.perf_counter() - t
    npv_star = sol.objective_usd
    floor = npv_floor_usd(npv_star, slack)
    evaluator = Evaluator(BASE, data, opts)
    plan0 = plan_from_values(bm, sol.values, "optimum")
    alts = [Alternative("optimum", plan0, evaluator.evaluate(plan0, tables=True), None)]

    fs = _FirstStage(bm)
    m = bm.model
    m.npv.deactivate()
    m.mga_npv_floor = pyo.Constraint(expr=bm.npv_expr >= floor)
    m.mga_no_good = pyo.ConstraintList()
    seen = {plan0.build_key}
    used = fs.values(sol) > 1e-9
    stopped = ""
    mga_opts = replace(opts, duals=False)
    t = time.perf_counter()
    if not len(fs.objs):
        stopped = "the model has no build or open decisions"
        count = 0
    for k in range(1, count + 1):
        cuts = 0
        while True:
            progress(f"Alternative {k}/{count}: minimising overlap with {len(alts)} plan(s)"
                     + (f" ({cuts} repeat(s) cut off)" if cuts else ""))
            w = np.where(used if overlap == "variable" else fs.widen(used), 1.0 / fs.ub, 0.0)
            nz = np.flatnonzero(w)
            if hasattr(m, "mga_overlap"):
                m.del_component(m.mga_overlap)
            m.mga_overlap = pyo.Objective(expr=LinearExpression(
                constant=0.0, linear_coefs=w[nz].tolist(), linear_vars=fs.objs[nz].tolist()),
                sense=pyo.minimize)
            try:
                s = solve(bm, mga_opts)
            except InfeasibleError:
                s = None
                stopped = (f"no further distinct plan has an NPV within {slack:.4g} of the "
                           f"optimum ({len(alts) - 1} alternative(s) found)")
            except SolverError as exc:  # e.g. time limit without a plan: keep what we have
                s = None
                stopped = f"alternative {k}: {exc} ({len(alts) - 1} alternative(s) found)"
            if s is None:
                break
            plan = plan_from_values(bm, s.values, f"alt{k}")
            if plan.build_key not in seen:
                break
            cuts += 1
            _add_no_good(m.mga_no_good, fs, fs.values(s))
        if s is None:
            break
        seen.add(plan.build_key)
        used |= fs.values(s) > 1e-9
        ev = evaluator.evaluate(plan, tables=True)
        alts.append(Alternative(plan.label, plan, ev, s.objective_usd, cuts))
    times["alternatives"] = time.perf_counter() - t
    if stopped:
        log.info("alternatives: %s", stopped)
    return AlternativesResult(npv_star, floor, slack, alts, sol, opts, data, tables,
                              stopped, times)


def _add_no_good(cl: pyo.ConstraintList, fs: _FirstStage, x: np.ndarray) -> None:
    """Cut off ``x``: some integer first-stage variable at a bound must move by ≥ 1."""
    coefs, objs, const = [], [], 0.0
    for v, xi, ub, integer in zip(fs.objs, x, fs.ub, fs.integer, strict=True):
        if not integer:
            continue
        if xi <= 0.5:
            coefs.append(1.0)
            objs.append(v)
        elif xi >= ub - 0.5:
            coefs.append(-1.0)
            objs.append(v)
            const += ub
    if not objs:
        raise InfeasibleError("Cannot cut off a repeated plan: it has no integer build at a "
                              "bound.")
    cl.add(LinearExpression(constant=const, linear_coefs=coefs, linear_vars=objs) >= 1.0)


# ============================================================ tables and workbook


def _kpis(ev: Evaluation) -> dict[str, object]:
    if ev.tables is None:
        return {"npv_musd": ev.npv_musd}
    s = ev.tables["Summary"]
    return dict(zip(s["metric"], s["value"], strict=True))


def alternatives_tables(res: AlternativesResult) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    labels = [a.label for a in res.alternatives]
    kp = {a.label: _kpis(a.evaluation) for a in res.alternatives}
    units = {}
    if res.alternatives[0].evaluation.tables is not None:
        summ = res.alternatives[0].evaluation.tables["Summary"]
        units = dict(zip(summ["metric"], summ["unit"], strict=True))
    star = res.npv_star_usd / USD_PER_MUSD
    rows = []
    for metric in KPI_ROWS:
        rows.append([metric, units.get(metric, "")] + [kp[lbl].get(metric) for lbl in labels])
    rows.append(["npv_below_optimum_musd", "MUSD"] + [
        None if kp[lbl].get("npv_musd") is None else _r(star - kp[lbl]["npv_musd"])
        for lbl in labels])
    rows.append(["npv_below_optimum_share", "fraction of |NPV*| (≤ slack)"] + [
        None if kp[lbl].get("npv_musd") is None or star == 0 else
        _r((star - kp[lbl]["npv_musd"]) / abs(star)) for lbl in labels])
    rows.append(["builds", "(option, start year) pairs"] + [len(a.plan.builds)
                                                            for a in res.alternatives])
    rows.append(["overlap_objective", "Σ x/ub over earlier plans' choices"] + [
        a.mga_objective for a in res.alternatives])
    out["Summary"] = pd.DataFrame(rows, columns=["metric", "unit"] + labels)
    out["Builds"] = plans_side_by_side([a.plan for a in res.alternatives], res.data)
    for i, a in enumerate(res.alternatives):
        name = "Optimum" if i == 0 else f"Alt{i}"
        out[name] = _alternative_sheet(a, res.data)
    info = [("npv_optimum_musd", star, "MUSD"),
            ("slack", res.slack, "fraction of |NPV*|"),
            ("npv_floor_musd", res.floor_usd / USD_PER_MUSD, "MUSD: NPV* − slack·|NPV*|"),
            ("alternatives_found", len(res.alternatives) - 1, "besides the optimum"),
            ("stopped_early", res.stopped, ""),
            ("status_optimum", res.sol.status, ""),
            ("mip_gap_optimum", res.sol.gap, "fraction")]
    out["About"] = pd.DataFrame(info, columns=["metric", "value", "unit"])
    if res.tables is not None and res.tables.warnings:
        out["Warnings"] = pd.DataFrame(
            [(x.sheet, x.row, x.message) for x in res.tables.warnings],
            columns=["sheet", "row", "message"])
    return out


def _r(x: float) -> float:
    return float(np.round(x, 9)) + 0.0


def _alternative_sheet(a: Alternative, data: ModelData) -> pd.DataFrame:
    """Builds on the left, KPIs on the right (one sheet per alternative)."""
    if a.evaluation.tables is not None:
        b = a.evaluation.tables["Builds"].copy()
        s = a.evaluation.tables["Summary"][["metric", "value", "unit"]]
        if len(a.plan.opened):
            op = a.plan.opened.merge(data.opening, on="node", how="left")
            b = pd.concat([b, pd.DataFrame({"option": "(open node)", "node": op["node"],
                                            "capex_musd": op["opening_cost_musd"]})],
                          ignore_index=True)
    else:
        b = a.plan.builds.copy()
        s = pd.DataFrame({"metric": ["npv_musd"], "value": [a.evaluation.npv_musd],
                          "unit": ["MUSD"]})
    n = max(len(b), len(s))
    left = b.reindex(range(n))
    right = s.reset_index(drop=True).reindex(range(n))
    return pd.concat([left, pd.DataFrame({"": [None] * n}), right], axis=1)


SHEET_ORDER = ("About", "Summary", "Builds", "Optimum")


def alternatives_workbook(input_path: Path | str, output_path: Path | str, *,
                          slack: float = 0.02, count: int = 5, overlap: str = "variable",
                          scenario: str | None = None,
                          mip_gap: float | None = None, time_limit: float | None = None,
                          threads: int | None = None, tee: bool = False,
                          command_line: str | None = None, progress: Progress = _noop
                          ) -> tuple[AlternativesResult, dict[str, pd.DataFrame]]:
    """Generate alternatives for ``input_path`` (optionally a scenario) and write them."""
    start = _dt.datetime.now(_dt.UTC)
    input_path, output_path = Path(input_path), Path(output_path)
    check_writable(output_path, [input_path])
    t = time.perf_counter()
    progress(f"Reading {input_path.name}")
    tables = load_tables(input_path, scenario)
    opts = solve_options(tables.settings, mip_gap, time_limit, threads, tee)
    data = build_model_data(tables)
    res = generate_alternatives(data, opts, slack, count, progress, tables, overlap)
    res.times["total"] = time.perf_counter() - t
    out = alternatives_tables(res)
    run = run_table(input_path, scenario or BASE, opts, res.sol, res.times, start, tables,
                    command_line)
    out["Run"] = extra_run_rows([("command", "alternatives"), ("slack", slack),
                                 ("count", count), ("overlap", overlap)], run)
    progress(f"Writing {output_path.name}")
    write_sheets(output_path, out, SHEET_ORDER, "optmodel near-optimal alternatives")
    return res, out

