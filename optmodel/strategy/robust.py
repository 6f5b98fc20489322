"""Robust siting: one shared build/open plan for several scenarios (two-stage).

Solved as the extensive form below, or by Benders decomposition
(:mod:`optmodel.strategy.benders`, the default from :data:`BENDERS_FROM` scenarios on).

First stage: ``build[o,τ]`` and ``open[n]``, decided once, before the scenario is
known.  Second stage: each scenario's operations (activity, flows, trade, …),
chosen after.  The *extensive form* is one sparse matrix assembled from every
scenario's own model (:func:`scenario_structure`, then
:func:`~optmodel.solver.highs.assemble`): each scenario's second-stage columns
get a block of their own, and its build/open columns are mapped onto one shared
set of first-stage columns (so non-anticipativity holds by construction, without
copies or linking rows)::

         first stage   scenario 1   scenario 2  …
    s1 [   A_1^F         A_1^S                  ]
    s2 [   A_2^F                      A_2^S     ]

With NPV_s(x) = c_s·x (USD) the objective is one of (weights w_s ≥ 0, Σ w_s = 1):

    expected:  max Σ_s w_s · NPV_s(x)
    worst:     max z,   z − NPV_s(x) ≤ 0  ∀s
    regret:    min z,   NPV_s(x) + z ≥ NPV*_s  ∀s   (NPV*_s = scenario s solved alone)

For ``regret`` the MIP stops at an absolute gap of ``mip_gap`` × max_s |NPV*_s|:
the NPV*_s are themselves only known to that tolerance, so a tighter regret
would be spurious precision; the best of the scenarios' own plans (evaluated in
every scenario) is handed to HiGHS as a starting plan.

Every number reported for a plan comes from *evaluating* it: build/open fixed
at the plan, the scenario's operations re-optimised (an LP).  From those
evaluations: the value of the stochastic solution VSS = E[NPV(robust plan)] −
E[NPV(base-case plan)], and the expected value of perfect information EVPI =
Σ w_s NPV*_s − E[NPV(robust plan)].

The helpers :class:`Plan`, :func:`plan_from_values`, :class:`Evaluator` and
:func:`evaluate_plan` are shared with :mod:`optmodel.strategy.alternatives` and
:mod:`optmodel.strategy.frontier`.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optmodel.errors import InfeasibleError, InputError, Issue, SolverError
from optmodel.input.scenarios import BASE
from optmodel.input.tables import Tables
from optmodel.io.write import SheetSpec, check_writable, write_workbook
from optmodel.model.build import BuiltModel, build_model
from optmodel.model.data import USD_PER_MUSD, ModelData, build_model_data
from optmodel.model.extra_file import ExtraFile
from optmodel.model.pyomo_export import export
from optmodel.pipeline import load_tables, run_structure, run_table, solve_options
from optmodel.results.tables import NUMBER_FORMATS, extract_tables, summary_table
from optmodel.solver.highs import (
    Basis,
    Csc,
    MatrixModel,
    assemble,
    integer_columns,
    outcome,
    relative_gap,
    solve_matrix,
)
from optmodel.solver.options import (
    SolveOptions,
    SolveOutcome,
    WarmStart,
    highs_version,
    release_memory,
)
from optmodel.solver.solve import solve_direct
from optmodel.strategy.benders import (
    BendersResult,
    Future,
    operations_error,
    solve_benders,
)

log = logging.getLogger(__name__)

CRITERIA = ("expected", "worst", "regret")
FIRST_STAGE = {"build": ["option", "year"], "open": ["node"]}
DETAIL_SHEETS = ("Activity", "Flows", "Trade", "Disposal", "Extraction", "Depth", "Prices",
                 "Binding")
Progress = Callable[[str], None]


def _noop(_msg: str) -> None:
    return None


def scenario_structure(data: ModelData, opts: SolveOptions | None = None) -> BuiltModel:
    """The model of one scenario as tables (variables, constraint families, objective).

    The one place where strategy tools build a scenario's model: robust siting,
    plan evaluations, alternatives and frontiers all start here, so that the
    variables and constraints a user adds (``opts.extra``, docs/model.md §13) join every
    scenario's model (:func:`optmodel.pipeline.run_structure`).
    """
    return build_model(data) if opts is None else run_structure(data, opts)


# ============================================================ shared helpers: plans


@dataclass(frozen=True)
class Plan:
    """First-stage decisions: units started per (option, year) and the nodes opened.

    Only non-zero entries are kept; ``key`` identifies a plan exactly (units
    rounded to 1e-6), ``build_key`` as a planner would: which builds, and how
    many units of the integer ones (a divisible option counts as built or not,
    whatever its size).
    """

    builds: pd.DataFrame  # option, year, units
    opened: pd.DataFrame  # node, open
    label: str = ""
    divisible: frozenset = frozenset()  # options whose units are continuous

    @property
    def key(self) -> tuple:
        b = tuple((o, int(y), round(float(u), 6)) for o, y, u in
                  self.builds[["option", "year", "units"]].itertuples(index=False))
        n = tuple(sorted(self.opened["node"].tolist()))
        return (tuple(sorted(b)), n)

    @property
    def build_key(self) -> tuple:
        """The builds alone (what 'a different plan' means for alternatives)."""
        return tuple(sorted((o, int(y), "divisible" if o in self.divisible else
                             round(float(u), 6)) for o, y, u in
                            self.builds[["option", "year", "units"]].itertuples(index=False)))

    def describe(self) -> str:
        """``option ×units (start year)``, joined by '; ' ('none' when nothing is built)."""
        return "; ".join(f"{o} ×{u:.4g} ({y})" for o, y, u in
                         self.builds[["option", "year", "units"]].itertuples(index=False)
                         ) or "none"

    def with_label(self, label: str) -> Plan:
        return Plan(self.builds, self.opened, label, self.divisible)


def _plan(build_index: pd.DataFrame, open_index: pd.DataFrame, xb: np.ndarray,
          xo: np.ndarray, integer: np.ndarray, label: str) -> Plan:
    x = np.asarray(xb, dtype=float)
    x = np.where(integer, np.round(x), x)
    x = np.where(np.abs(x) < 1e-5, 0.0, x)  # solver noise on divisible builds
    nz = x > 0
    builds = pd.DataFrame({"option": build_index["option"].to_numpy()[nz],
                           "year": build_index["year"].to_numpy(dtype=np.int64)[nz],
                           "units": x[nz]})
    y = np.round(np.asarray(xo, dtype=float)) if len(open_index) else np.zeros(0)
    opened = pd.DataFrame({"node": open_index["node"].to_numpy()[y > 0.5], "open": 1})
    divisible = frozenset(build_index["option"].to_numpy()[~integer].tolist())
    return Plan(builds.reset_index(drop=True), opened.reset_index(drop=True), label, divisible)


def plan_from_values(bm: BuiltModel, values: dict[str, np.ndarray], label: str = "") -> Plan:
    """The plan in a solution (integer variables rounded)."""
    return _plan(bm.vars["build"].index, bm.vars["open"].index, values["build"],
                 values["open"], integer_columns(bm, "build"), label)


def _plan_vector(bm: BuiltModel, plan: Plan) -> dict[str, np.ndarray]:
    return _first_stage_vector({fam: bm.vars[fam].index for fam in FIRST_STAGE}, plan)


def _first_stage_vector(index: dict[str, pd.DataFrame], plan: Plan) -> dict[str, np.ndarray]:
    """``plan`` as values of the first-stage decisions keyed by ``index`` (family → keys)."""
    b = index["build"][["option", "year"]].merge(
        plan.builds, on=["option", "year"], how="left")
    x = b["units"].fillna(0.0).to_numpy(dtype=float)
    if len(plan.builds) and len(index["build"].merge(
            plan.builds, on=["option", "year"])) != len(plan.builds):
        raise InputError("The plan names a build (option, start year) that this scenario does "
                         "not offer; scenarios must share the same build options.")
    o = index["open"][["node"]].merge(plan.opened, on="node", how="left")
    y = o["open"].fillna(0.0).to_numpy(dtype=float) if len(o) else np.zeros(0)
    return {"build": x, "open": y}


def fix_plan(bm: BuiltModel, mm: MatrixModel, plan: Plan) -> MatrixModel:
    """``mm`` (assembled from ``bm``) with build/open fixed at ``plan``: an LP."""
    vec = _plan_vector(bm, plan)
    cols = np.concatenate([mm.col_offset[f] + np.arange(len(bm.vars[f])) for f in vec])
    return mm.with_fixed(cols.astype(np.int64), np.concatenate(list(vec.values())))


@dataclass
class Evaluation:
    """A plan evaluated in one scenario (operations re-optimised)."""

    scenario: str
    plan: Plan
    npv_usd: float | None  # None when the plan is infeasible in the scenario
    status: str
    sol: SolveOutcome | None = None
    tables: dict[str, pd.DataFrame] | None = None

    @property
    def npv_musd(self) -> float | None:
        return None if self.npv_usd is None else self.npv_usd / USD_PER_MUSD


class Evaluator:
    """Evaluates plans in a scenario, reusing one assembled model; caches results by plan.

    Each evaluation's LP starts from the previous one's optimal basis (the same rows and
    columns; only the fixed plan's bounds differ), a warm start by position."""

    def __init__(self, name: str, data: ModelData, opts: SolveOptions,
                 bm: BuiltModel | None = None):
        self.name, self.data, self.opts = name, data, opts
        self._bm = bm
        self._mm: MatrixModel | None = None
        self._basis: Basis | None = None
        self._cache: dict[tuple, Evaluation] = {}

    @property
    def bm(self) -> BuiltModel:
        if self._bm is None:
            self._bm = scenario_structure(self.data, self.opts)
        return self._bm

    @property
    def mm(self) -> MatrixModel:
        if self._mm is None:
            self._mm = assemble(self.bm)
        return self._mm

    def release(self) -> None:
        """Drop the model (made again when next needed); the evaluations stay cached."""
        self._bm = self._mm = self._basis = None

    def evaluate(self, plan: Plan, tables: bool = False) -> Evaluation:
        hit = self._cache.get(plan.key)
        if hit is not None and (hit.tables is not None or not tables or hit.npv_usd is None):
            return hit
        bm = self.bm
        mm = fix_plan(bm, self.mm, plan)
        opts = replace(self.opts, time_limit=None, tee=False, duals=tables, start=None)
        try:
            res = solve_matrix(mm, opts, duals=tables, basis=self._basis, keep_basis=True)
            self._basis = res.basis or self._basis
            sol = outcome(bm, mm, res)
        except InfeasibleError:
            ev = Evaluation(self.name, plan, None, "infeasible")
        else:
            ev = Evaluation(self.name, plan, sol.objective_usd, sol.status, sol)
            if tables:
                res = extract_tables(bm, sol)
                res["Summary"] = summary_table(bm, sol, res)
                ev.tables = res
        self._cache[plan.key] = ev
        return ev


def evaluate_plan(data: ModelData, plan: Plan, opts: SolveOptions, tables: bool = False,
                  scenario: str = BASE) -> Evaluation:
    """NPV of ``plan`` in the scenario of ``data``: build/open fixed, operations optimised."""
    return Evaluator(scenario, data, opts).evaluate(plan, tables)


def solve_optimum(data: ModelData, opts: SolveOptions, label: str = "",
                  start: WarmStart | None = None) -> tuple[BuiltModel, SolveOutcome, Plan]:
    """The deterministic optimum of one scenario (no duals).  With ``start`` (e.g. the
    previous scenario's ``sol.start``; an empty WarmStart() gives none but asks for one)
    HiGHS starts from that solution, matched by keys (docs/scenarios.md)."""
    bm = scenario_structure(data, opts)
    sol = solve_direct(bm, replace(opts, duals=False, start=start))
    return bm, sol, plan_from_values(bm, sol.values, label)


def check_first_stage(datas: dict[str, ModelData]) -> None:
    """Every scenario must offer the same build (option, start year) and open (node) choices."""
    names = list(datas)
    ref = names[0]
    issues: list[Issue] = []
    for name in names[1:]:
        for fam, keys in (("builds", ["option", "year"]), ("opening", ["node"])):
            a = set(map(tuple, getattr(datas[ref], fam)[keys].itertuples(index=False)))
            b = set(map(tuple, getattr(datas[name], fam)[keys].itertuples(index=False)))
            if a == b:
                continue
            extra = sorted(b - a)[:5]
            missing = sorted(a - b)[:5]
            what = ("build choices (option, start year)" if fam == "builds"
                    else "nodes with an opening cost")
            detail = "; ".join(x for x in (
                f"adds {', '.join('|'.join(map(str, t)) for t in extra)}" if extra else "",
                f"drops {', '.join('|'.join(map(str, t)) for t in missing)}" if missing else "")
                if x)
            issues.append(Issue(
                "Scenarios", None, "scenario", name,
                f"scenario {name} changes the {what} relative to {ref} ({detail}). A robust "
                "plan is shared by every scenario, so all scenarios must offer the same build "
                "options, start years (earliest_year, lead_time_years, the horizon) and "
                "opening-cost nodes; change those in the base data, not in a scenario."))
    if issues:
        raise InputError(issues)


# ============================================================ extensive form


def first_stage_index(bm: BuiltModel) -> dict[str, pd.DataFrame]:
    """The keys of ``bm``'s first-stage decisions, family by family (the order every
    robust model puts them in)."""
    return {fam: bm.vars[fam].index[keys].reset_index(drop=True)
            for fam, keys in FIRST_STAGE.items()}


def first_stage_columns(bm: BuiltModel, mm: MatrixModel, first_index: dict[str, pd.DataFrame]
                        ) -> np.ndarray:
    """For each first-stage decision of ``first_index`` (in its order), its column in
    ``mm`` (assembled from ``bm``), matched by keys."""
    parts = []
    for fam, keys in FIRST_STAGE.items():
        own = bm.vars[fam].index[keys].reset_index(drop=True).assign(
            _own=np.arange(len(bm.vars[fam])))
        pos = first_index[fam].merge(own, on=keys, how="left")
        if len(own) != len(first_index[fam]) or pos["_own"].isna().any():
            raise ValueError(f"the scenarios' {fam} decisions differ (check_first_stage)")
        parts.append(mm.col_offset[fam] + pos["_own"].to_numpy(dtype=np.int64))
    return np.concatenate(parts)


@dataclass
class ExtensiveForm:
    """The two-stage model as one matrix: shared first stage, a block per scenario.

    Columns: the first-stage families (``build``, ``open``; keys in
    ``first_index``), then each scenario's second-stage columns
    (``scenario_cols[s]`` maps every column of scenario s's own model to its
    column here), then ``z`` for the worst and regret criteria.
    """

    mm: MatrixModel
    first_index: dict[str, pd.DataFrame]
    scenario_cols: dict[str, np.ndarray]
    criterion: str
    weights: dict[str, float]
    optimum_usd: dict[str, float] | None = None


def build_extensive_form(datas: dict[str, ModelData], weights: dict[str, float],
                         criterion: str = "expected",
                         optimum_usd: dict[str, float] | None = None,
                         progress: Progress = _noop,
                         opts: SolveOptions | None = None) -> ExtensiveForm:
    """Assemble the extensive form (see the module docstring for the math).

    One scenario's model is made at a time and only its matrix pieces are kept,
    so memory grows with the matrix, not with Python objects per variable.
    """
    if criterion not in CRITERIA:
        raise InputError(f"Unknown criterion {criterion!r}; use one of {', '.join(CRITERIA)}.")
    if criterion == "regret" and optimum_usd is None:
        raise ValueError("the regret criterion needs each scenario's optimum (optimum_usd)")
    check_first_stage(datas)
    names = list(datas)
    first_index: dict[str, pd.DataFrame] = {}
    n_first = 0
    f_lo = f_hi = f_int = None
    rows, cols, vals, rlo, rhi, c_lo, c_hi, c_int = [], [], [], [], [], [], [], []
    costs: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # scenario -> (columns, NPV coefs)
    scenario_cols: dict[str, np.ndarray] = {}
    n_cols = m = 0
    for i, name in enumerate(names):
        progress(f"Building scenario block {i + 1}/{len(names)} ({name})")
        bm = scenario_structure(datas[name], opts)
        mm = assemble(bm)
        if not first_index:  # the first stage's columns come first, in scenario 1's order
            first_index.update(first_stage_index(bm))
            n_first = sum(len(x) for x in first_index.values())
            f_lo, f_hi = np.zeros(n_first), np.full(n_first, np.inf)
            f_int = np.zeros(n_first, dtype=bool)
            n_cols = n_first
        to_ef = np.full(mm.num_col, -1, dtype=np.int64)
        to_ef[first_stage_columns(bm, mm, first_index)] = np.arange(n_first)
        first = to_ef >= 0
        second = np.flatnonzero(~first)
        to_ef[second] = n_cols + np.arange(len(second))
        n_cols += len(second)
        # the shared columns hold what every scenario allows: the tightest bounds
        fc = to_ef[first]
        f_lo[fc] = np.maximum(f_lo[fc], mm.col_lower[first])
        f_hi[fc] = np.minimum(f_hi[fc], mm.col_upper[first])
        f_int[fc] |= mm.integer[first]
        c_lo.append(mm.col_lower[second])
        c_hi.append(mm.col_upper[second])
        c_int.append(mm.integer[second])
        r, c, v = mm.a.coo()
        rows.append(r + m)
        cols.append(to_ef[c])
        vals.append(v)
        rlo.append(mm.row_lower)
        rhi.append(mm.row_upper)
        m += mm.num_row
        nz = np.flatnonzero(mm.col_cost)
        costs[name] = (to_ef[nz], mm.col_cost[nz])
        scenario_cols[name] = to_ef
        del bm, mm, r, c, v
    col_lower = np.concatenate([f_lo, *c_lo])
    col_upper = np.concatenate([f_hi, *c_hi])
    integer = np.concatenate([f_int, *c_int])
    cost = np.zeros(n_cols)
    if criterion == "expected":
        for name in names:
            c_cols, c_vals = costs[name]
            np.add.at(cost, c_cols, weights[name] * c_vals)
    else:  # one more column, z, and one row per scenario linking z to its NPV
        z = n_cols
        n_cols += 1
        col_lower = np.append(col_lower, -np.inf)
        col_upper = np.append(col_upper, np.inf)
        integer = np.append(integer, False)
        cost = np.append(cost, 1.0)
        for name in names:
            c_cols, c_vals = costs[name]
            sign = -1.0 if criterion == "worst" else 1.0
            rows.append(np.full(len(c_cols) + 1, m, dtype=np.int64))
            cols.append(np.append(c_cols, z))
            vals.append(np.append(sign * c_vals, 1.0))
            if criterion == "worst":  # z − NPV_s(x) ≤ 0
                rlo.append(np.array([-np.inf]))
                rhi.append(np.array([0.0]))
            else:  # NPV_s(x) + z ≥ NPV*_s
                rlo.append(np.array([float(optimum_usd[name])]))
                rhi.append(np.array([np.inf]))
            m += 1
    a = Csc.from_coo(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), m,
                     n_cols)
    col_offset = {"build": 0, "open": len(first_index["build"])}
    mm = MatrixModel(col_offset, {}, cost, col_lower, col_upper, integer,
                     np.concatenate(rlo), np.concatenate(rhi), a,
                     maximize=criterion != "regret")
    return ExtensiveForm(mm, first_index, scenario_cols, criterion, weights, optimum_usd)


def _first_stage_values(ef: ExtensiveForm, x: np.ndarray) -> dict[str, np.ndarray]:
    return {fam: x[ef.mm.col_offset[fam]:ef.mm.col_offset[fam] + len(idx)]
            for fam, idx in ef.first_index.items()}


def start_vector(ef: ExtensiveForm, plan: Plan, evaluations: dict[str, Evaluation]
                 ) -> np.ndarray | None:
    """A full column vector of ``ef`` for ``plan``: its builds and openings, each
    scenario's operations from the plan's evaluation there, and z (the plan's worst NPV
    or largest regret).  None if the plan is infeasible in some scenario."""
    if any(evaluations[s].sol is None for s in ef.scenario_cols):
        return None
    x = np.zeros(ef.mm.num_col)
    for name, to_ef in ef.scenario_cols.items():
        values = evaluations[name].sol.values
        x[to_ef] = np.concatenate([np.asarray(v, dtype=float) for v in values.values()])
    npv = {s: evaluations[s].npv_usd for s in ef.scenario_cols}
    if ef.criterion == "worst":
        x[-1] = min(npv.values())
    elif ef.criterion == "regret":
        x[-1] = max(ef.optimum_usd[s] - v for s, v in npv.items())
    return x


def solve_extensive_form(ef: ExtensiveForm, opts: SolveOptions,
                         start: np.ndarray | None = None) -> tuple[SolveOutcome, Plan]:
    """Solve the extensive form; return the outcome and the shared plan."""
    # no sub-MIP heuristics: each nested sub-MIP copies the whole extensive form (10
    # futures of the base case: 730 → 205 MB, and less time); the best of the scenarios'
    # own plans comes as a starting plan instead (robust_solve)
    o = replace(opts, duals=False, sub_mip_heuristics=False)
    if ef.criterion == "regret" and ef.optimum_usd:
        # the NPV*_s are known to mip_gap·|NPV*_s| only: ask no more of the regret
        scale = max(abs(v) for v in ef.optimum_usd.values())
        o = replace(o, mip_abs_gap=max(opts.mip_gap * scale, 1e-6))
    release_memory()
    try:
        res = solve_matrix(ef.mm, o, start=start)
    except InfeasibleError as exc:
        raise InfeasibleError(
            "No single plan is feasible in every scenario: " + str(exc) + " Solve the "
            "scenarios one by one (solve --scenario NAME) to find the one that is "
            "infeasible on its own, or the pair whose requirements conflict.") from None
    values = _first_stage_values(ef, res.x)
    sol = SolveOutcome(res.status, res.termination, res.objective, res.bound, res.gap,
                       values, times=dict(res.times), solver_version=highs_version())
    b0 = ef.mm.col_offset["build"]
    integer = ef.mm.integer[b0:b0 + len(ef.first_index["build"])]
    return sol, _plan(ef.first_index["build"], ef.first_index["open"], values["build"],
                      values["open"], integer, "robust")


# ============================================================ Benders decomposition


# --engine auto takes Benders from this many scenarios on.  The extensive form's memory
# grows with every future: on the base case 10 futures take 423 MB with it and 248 MB
# with Benders, 5 futures under `regret` 312 MB and 25 s with it, 195 MB and 11 s with
# Benders (docs/performance.md); with 2 it is one small MILP
BENDERS_FROM = 3
_TERMINATIONS = {"optimal": "optimal", "time_limit": "maxTimeLimit",
                 "iteration_limit": "maxIterations"}


def benders_futures(datas: dict[str, ModelData], opts: SolveOptions,
                    progress: Progress = _noop) -> tuple[list[Future], dict[str, pd.DataFrame]]:
    """Every scenario's model as a matrix with its first-stage columns located (in the
    first scenario's order), one scenario's tables at a time."""
    futures: list[Future] = []
    first_index: dict[str, pd.DataFrame] = {}
    for i, (name, data) in enumerate(datas.items()):
        progress(f"Building scenario model {i + 1}/{len(datas)} ({name})")
        bm = scenario_structure(data, opts)
        mm = assemble(bm)
        if not first_index:
            first_index = first_stage_index(bm)
        futures.append(Future(name, mm, first_stage_columns(bm, mm, first_index)))
        del bm
    return futures, first_index


def solve_by_benders(futures: list[Future], first_index: dict[str, pd.DataFrame],
                     weights: dict[str, float], criterion: str,
                     optimum_usd: dict[str, float], opts: SolveOptions,
                     starts: Sequence[Plan] = (), progress: Progress = _noop
                     ) -> tuple[SolveOutcome, Plan, BendersResult]:
    """The robust plan by Benders decomposition (:mod:`optmodel.strategy.benders`)."""
    names = [f.name for f in futures]
    x0 = [np.concatenate(list(_first_stage_vector(first_index, p).values())) for p in starts]
    res = solve_benders(futures, [weights[s] for s in names], criterion, opts,
                        [optimum_usd[s] for s in names], x0, progress)
    k, values = 0, {}
    for fam, idx in first_index.items():
        values[fam] = res.x[k:k + len(idx)]
        k += len(idx)
    sol = SolveOutcome(res.status, _TERMINATIONS[res.status], res.objective, res.bound,
                       res.gap, values, times=dict(res.times), solver_version=highs_version())
    nb = len(first_index["build"])  # integer where any scenario's model has it integer
    integer = np.any([f.mm.integer[f.first[:nb]] for f in futures], axis=0)
    return sol, _plan(first_index["build"], first_index["open"], values["build"],
                      values["open"], integer, "robust"), res


# ============================================================ progressive hedging


ENGINES = ("auto", "ef", "benders", "ph")


def solve_progressive_hedging(datas: dict[str, ModelData], weights: dict[str, float],
                              opts: SolveOptions, progress: Progress = _noop,
                              rho_factor: float = 0.5, max_iterations: int = 100,
                              convthresh: float = 1e-4) -> tuple[SolveOutcome, Plan] | None:
    """The expected-NPV plan by progressive hedging (mpi-sppy), scenario by scenario.

    Each scenario is its own Pyomo model (:func:`scenario_structure` exported by
    :func:`~optmodel.model.pyomo_export.export`, with its NPV objective);
    build/open are the root-node (non-anticipative) variables; ρ_i =
    ``rho_factor`` × |objective coefficient of x_i| (USD), the usual cost-
    proportional choice; proximal terms are linearised (HiGHS takes no
    quadratic MIP objective).  For MILPs PH is a heuristic: the consensus x̄ is
    rounded to a plan, which the caller evaluates in every scenario.  The bound
    reported is PH's iteration-0 (wait-and-see) bound.  Run under ``mpiexec -n
    K`` (with mpi4py) the scenarios are shared among K ranks; ranks other than 0
    return None.
    """
    import contextlib
    import io

    import pyomo.environ as pyo

    chatter = io.StringIO()  # mpi-sppy prints to stdout; keep stdout for results
    try:
        with contextlib.redirect_stdout(chatter):
            import mpisppy.utils.sputils as sputils
            from mpisppy import MPI
            from mpisppy.opt.ph import PH
    except ImportError:
        raise SolverError("--engine ph needs mpi-sppy: pip install mpi-sppy (and, for "
                          "parallel runs, mpi4py and an MPI library); see "
                          "docs/strategy.md.") from None
    from optmodel.model.objective import objective_coefficients

    built: dict[int, BuiltModel] = {}

    def creator(name: str, **_kw):
        bm = export(scenario_structure(datas[name], opts))
        m = bm.model
        m._mpisppy_probability = weights[name]
        sputils.attach_root_node(m, m.npv, [c for c in (m.build, m.open) if len(c)])
        built[id(m)] = bm
        return m

    def rho_setter(m):
        bm = built[id(m)]
        coef = objective_coefficients(bm)
        return [(id(v), rho_factor * max(abs(c), 1.0)) for fam in FIRST_STAGE
                for v, c in zip(bm.vars[fam].objs, coef[fam], strict=True)]

    options = {
        "solver_name": "appsi_highs", "PHIterLimit": max_iterations, "defaultPHrho": 1.0,
        "convthresh": convthresh, "verbose": False, "display_progress": False,
        "display_timing": False, "linearize_proximal_terms": True,
        "linearize_binary_proximal_terms": True, "proximal_linearization_tolerance": 0.1,
        "time_limit": opts.time_limit,
        "iter0_solver_options": {"mip_rel_gap": opts.mip_gap},
        "iterk_solver_options": {"mip_rel_gap": opts.mip_gap},
    }
    names = list(datas)
    progress(f"Progressive hedging over {len(names)} scenarios (mpi-sppy, up to "
             f"{max_iterations} iterations)")
    t = time.perf_counter()
    import warnings as _warnings

    with contextlib.redirect_stdout(chatter), _warnings.catch_warnings():
        _warnings.simplefilter("ignore", DeprecationWarning)
        ph = PH(options, names, creator, rho_setter=rho_setter)
        conv, eobj, bound = ph.ph_main()
    log.info("mpi-sppy output:\n%s", chatter.getvalue())
    elapsed = time.perf_counter() - t
    if MPI.COMM_WORLD.Get_rank() != 0:
        return None
    scen = next(iter(ph.local_scenarios.values()))
    xbar = {id(scen._mpisppy_data.nonant_indices[k]): float(pyo.value(v))
            for k, v in scen._mpisppy_model.xbars.items()}
    bm = built[id(scen)]
    values = {fam: np.array([xbar.get(id(v), 0.0) for v in bm.vars[fam].objs], dtype=float)
              for fam in FIRST_STAGE}
    converged = conv is not None and conv < convthresh
    status = "ph_converged" if converged else "ph_iteration_limit"
    if not converged:
        log.warning("progressive hedging stopped before convergence (metric %s); the rounded "
                    "consensus plan is evaluated as it is", conv)
    bound_usd = float(bound) if bound is not None else float("nan")
    sol = SolveOutcome(status, f"{status} (metric {conv:.3g})" if conv is not None else status,
                       float(eobj), bound_usd, float("nan"), values, times={"solve": elapsed},
                       solver_version="mpi-sppy PH + HiGHS")
    return sol, plan_from_values(bm, values, "robust")


# ============================================================ the robust run


@dataclass
class RobustResult:
    """Everything a robust run produced (tables for the workbook via :func:`robust_tables`)."""

    scenarios: list[str]
    weights: dict[str, float]
    criterion: str
    plan: Plan
    sol: SolveOutcome
    opts: SolveOptions
    optimum: dict[str, Evaluation]  # scenario -> its own optimal plan evaluated in itself
    robust: dict[str, Evaluation]  # scenario -> robust plan (with result tables)
    base_plan: Plan
    base: dict[str, Evaluation]  # scenario -> base-case plan
    plans: dict[str, Plan]  # scenario -> its own optimal plan
    cross: dict[tuple[str, str], Evaluation]  # (scenario of the plan, scenario) -> evaluation
    datas: dict[str, ModelData]
    base_tables: Tables
    times: dict[str, float] = field(default_factory=dict)
    warnings: list[Issue] = field(default_factory=list)
    engine: str = "extensive form"  # how the robust plan was found (the Run sheet)

    def expected(self, evals: dict[str, Evaluation]) -> float | None:
        """Σ w_s NPV_s in MUSD (None if the plan is infeasible in some scenario)."""
        vals = [evals[s].npv_musd for s in self.scenarios]
        if any(v is None for v in vals):
            return None
        return float(sum(self.weights[s] * v for s, v in zip(self.scenarios, vals,
                                                               strict=True)))

    def worst(self, evals: dict[str, Evaluation]) -> float | None:
        vals = [evals[s].npv_musd for s in self.scenarios]
        return None if any(v is None for v in vals) else float(min(vals))

    def max_regret(self, evals: dict[str, Evaluation]) -> float | None:
        vals = [evals[s].npv_musd for s in self.scenarios]
        if any(v is None for v in vals):
            return None
        return float(max(self.optimum[s].npv_musd - v for s, v in zip(self.scenarios, vals,
                                                                        strict=True)))

    @property
    def vss_musd(self) -> float | None:
        a, b = self.expected(self.robust), self.expected(self.base)
        return None if a is None or b is None else a - b

    @property
    def evpi_musd(self) -> float | None:
        a = self.expected(self.robust)
        return None if a is None else self.expected(self.optimum) - a


def parse_scenarios(text: str | Sequence[str]) -> list[str]:
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text)]
    names = [s for s in names if s]
    if not names:
        raise InputError("--scenarios needs at least one scenario name (comma-separated).")
    dup = sorted({s for s in names if names.count(s) > 1})
    if dup:
        raise InputError(f"Scenario named more than once: {', '.join(dup)}.")
    return names


def parse_weights(text: str | Sequence[float] | None, names: Sequence[str]) -> dict[str, float]:
    """Weights per scenario, normalised to sum 1 (equal when not given)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return {s: 1.0 / len(names) for s in names}
    try:
        w = [float(x) for x in (text.split(",") if isinstance(text, str) else text)]
    except ValueError:
        raise InputError(f"--weights must be comma-separated numbers (got {text!r}).") from None
    if len(w) != len(names):
        raise InputError(f"--weights has {len(w)} numbers for {len(names)} scenarios; give one "
                         "weight per scenario, in the order of --scenarios.")
    if any(not math.isfinite(x) or x < 0 for x in w) or sum(w) <= 0:
        raise InputError("--weights must be non-negative numbers with a positive sum.")
    total = sum(w)
    if abs(total - 1.0) > 1e-9:
        log.info("weights sum to %g; normalised to 1", total)
    return {s: x / total for s, x in zip(names, w, strict=True)}


def load_scenario_data(path: Path, names: Sequence[str], progress: Progress = _noop
                       ) -> tuple[Tables, dict[str, ModelData], list[Issue]]:
    """Base tables plus validated model data per scenario (all input errors together)."""
    base_tables = load_tables(path)
    datas: dict[str, ModelData] = {}
    issues: list[Issue] = []
    warnings = list(base_tables.warnings)
    for name in names:
        progress(f"Reading scenario {name}")
        try:
            t = base_tables if name == BASE else load_tables(path, name)
        except InputError as exc:
            issues.extend(exc.issues)
            continue
        warnings += [w for w in t.warnings if w not in warnings]
        datas[name] = build_model_data(t)
    if issues:
        raise InputError(issues)
    return base_tables, datas, warnings


def _best_own_plan(names: list[str], w: dict[str, float], criterion: str,
                   optimum: dict[str, Evaluation],
                   cross: dict[tuple[str, str], Evaluation]) -> str | None:
    """The scenario whose own plan scores best under ``criterion`` in every scenario
    (None without cross evaluations, or when every such plan fails somewhere)."""
    best, best_score = None, -np.inf
    for p in names:
        evs = [cross.get((p, s)) for s in names]
        if any(e is None or e.npv_usd is None or e.sol is None for e in evs):
            continue
        npv = [e.npv_usd for e in evs]
        if criterion == "expected":
            score = sum(w[s] * v for s, v in zip(names, npv, strict=True))
        elif criterion == "worst":
            score = min(npv)
        else:
            score = -max(optimum[s].npv_usd - v for s, v in zip(names, npv, strict=True))
        if score > best_score:
            best, best_score = p, score
    return best


def robust_solve(path: Path | str, scenarios: str | Sequence[str], weights=None,
                 criterion: str = "expected", *, mip_gap: float | None = None,
                 time_limit: float | None = None, threads: int | None = None,
                 tee: bool = False, cross: bool | None = None, engine: str = "auto",
                 progress: Progress = _noop, extra: ExtraFile | None = None
                 ) -> RobustResult | None:
    """Solve the robust problem; evaluate the robust, per-scenario and base-case plans.

    ``engine``: ``ef`` the extensive form, one MILP; ``benders`` Benders decomposition
    (:mod:`optmodel.strategy.benders`: one scenario's LP at a time, far less memory);
    ``auto`` (default) Benders from :data:`BENDERS_FROM` scenarios on, the extensive form
    below that or when a user's --extra file makes operating variables integer; ``ph``
    progressive hedging.  ``time_limit`` bounds each MILP solve (every scenario alone,
    then the extensive form; with ``engine="benders"`` or ``"ph"`` the whole
    decomposition);
    plan evaluations are LPs.  ``cross`` evaluates every scenario's optimal plan
    in every other scenario (default: up to 10 scenarios).  Under ``mpiexec``
    with ``engine="ph"`` every rank takes part in progressive hedging and only
    rank 0 goes on to evaluate and returns a result (the others return None).
    ``extra``: a user's extra-constraints file, part of every scenario's model (it
    travels in ``opts.extra``; the Run sheet records its name and SHA-256).
    """
    path = Path(path)
    times: dict[str, float] = {}
    t = time.perf_counter()
    names = parse_scenarios(scenarios)
    if criterion not in CRITERIA:
        raise InputError(f"Unknown criterion {criterion!r}; use one of {', '.join(CRITERIA)}.")
    if engine not in ENGINES:
        raise InputError(f"Unknown engine {engine!r}; use one of {', '.join(ENGINES)}.")
    if engine == "ph" and criterion != "expected":
        raise InputError("--engine ph solves the expected-NPV problem only; use --engine ef "
                         f"for --criterion {criterion}.")
    w = parse_weights(weights, names)
    base_tables, datas, warnings = load_scenario_data(path, names, progress)
    check_first_stage(datas)
    opts = solve_options(base_tables.settings, mip_gap, time_limit, threads, tee, extra)
    times["read_validate"] = time.perf_counter() - t
    ph_result: tuple[SolveOutcome, Plan] | None = None
    if engine == "ph":
        t = time.perf_counter()
        ph_result = solve_progressive_hedging(datas, w, opts, progress)
        times["progressive_hedging"] = time.perf_counter() - t
        if ph_result is None:  # an MPI rank other than 0
            return None

    # each scenario alone: NPV*_s and its own plan.  A scenario's model is kept for the
    # cross evaluations when there are any; otherwise it is dropped at once, and every
    # phase below drops a scenario's model when done with it, so that memory holds one
    # scenario's model tables at a time, not all of them (30 shipped futures: 484 MB
    # before, docs/performance.md)
    do_cross = cross if cross is not None else len(names) <= 10
    t = time.perf_counter()
    evaluators: dict[str, Evaluator] = {}
    plans: dict[str, Plan] = {}
    optimum: dict[str, Evaluation] = {}
    warm = WarmStart()  # each scenario starts from the previous one's optimum
    for i, s in enumerate(names):
        progress(f"Solving scenario {i + 1}/{len(names)} alone ({s})")
        try:
            bm_s, sol_s, plan = solve_optimum(datas[s], opts, f"optimum_{s}", warm)
        except InfeasibleError as exc:
            raise InfeasibleError(f"Scenario {s} on its own: {exc}") from None
        except SolverError as exc:
            raise SolverError(f"Scenario {s} on its own: {exc}") from None
        warm = sol_s.start
        plans[s] = plan
        evaluators[s] = Evaluator(s, datas[s], opts, bm=bm_s)
        ev = evaluators[s].evaluate(plan)
        if ev.npv_usd is None or ev.npv_usd < sol_s.objective_usd:
            ev = Evaluation(s, plan, sol_s.objective_usd, sol_s.status, sol_s)
        optimum[s] = ev
        if not do_cross:
            evaluators[s].release()
        del bm_s, sol_s
    times["scenario_optima"] = time.perf_counter() - t

    # base-case plan (the deterministic plan a planner would take without scenarios)
    t = time.perf_counter()
    if BASE in plans:
        base_plan = plans[BASE].with_label("base_plan")
    else:
        progress("Solving the base case alone")
        _, _, base_plan = solve_optimum(build_model_data(base_tables), opts, "base_plan")
    times["base_plan"] = time.perf_counter() - t

    # every scenario's own plan in every other scenario: reported, and the best of them
    # is the extensive form's starting plan
    t = time.perf_counter()
    cross_ev: dict[tuple[str, str], Evaluation] = {}
    if do_cross:
        for i, s in enumerate(names):
            progress(f"Cross-evaluating plans in scenario {i + 1}/{len(names)} ({s})")
            for p in names:
                cross_ev[(p, s)] = (optimum[s] if p == s
                                                 else evaluators[s].evaluate(plans[p]))
            evaluators[s].release()
    times["cross_evaluate"] = time.perf_counter() - t

    # the extensive form, Benders, or the plan progressive hedging agreed on
    used, benders = "extensive form", None
    if ph_result is not None:
        sol, plan = ph_result
        used = "progressive hedging (mpi-sppy)"
    else:  # every scenario's model is released by now: one model at a time, not two
        best = _best_own_plan(names, w, criterion, optimum, cross_ev)
        if engine in ("auto", "benders") and (engine == "benders"
                                              or len(names) >= BENDERS_FROM):
            t = time.perf_counter()
            futures, first_index = benders_futures(datas, opts, progress)
            times["build_scenario_models"] = time.perf_counter() - t
            refusal = operations_error(futures)
            if refusal is None:
                t = time.perf_counter()
                sol, plan, benders = solve_by_benders(
                    futures, first_index, w, criterion, {s: optimum[s].npv_usd for s in names},
                    opts, [plans[best] if best is not None else base_plan], progress)
                times["benders"] = time.perf_counter() - t
                used = (f"Benders decomposition ({benders.iterations} iterations, "
                        f"{benders.cuts} cuts)")
            elif engine == "benders":
                raise refusal
            else:
                log.info("%s: extensive form", refusal)
            del futures
    if ph_result is None and benders is None:
        t = time.perf_counter()
        ef = build_extensive_form(datas, w, criterion,
                                  {s: optimum[s].npv_usd for s in names}, progress, opts)
        times["build_extensive_form"] = time.perf_counter() - t
        start = None
        if best is not None:
            start = start_vector(ef, plans[best], {s: cross_ev[(best, s)] for s in names})
        progress(f"Solving the extensive form ({len(names)} scenarios, criterion {criterion})")
        sol, plan = solve_extensive_form(ef, opts, start)
        times["solve_extensive_form"] = sol.times.get("solve", 0.0)
        del ef

    # evaluations
    t = time.perf_counter()
    robust: dict[str, Evaluation] = {}
    base: dict[str, Evaluation] = {}
    for i, s in enumerate(names):
        progress(f"Evaluating the plans in scenario {i + 1}/{len(names)} ({s})")
        robust[s] = evaluators[s].evaluate(plan, tables=True)
        base[s] = evaluators[s].evaluate(base_plan)
        evaluators[s].release()
    times["evaluate"] = time.perf_counter() - t
    if ph_result is not None:  # report the rounded plan's evaluated expected NPV
        vals = [robust[s].npv_usd for s in names]
        if all(v is not None for v in vals):
            sol.objective_usd = float(sum(w[s] * v for s, v in zip(names, vals, strict=True)))
            sol.gap = relative_gap(sol.bound_usd, sol.objective_usd)
    return RobustResult(names, w, criterion, plan, sol, opts, optimum, robust, base_plan, base,
                        plans, cross_ev, datas, base_tables, times, warnings, used)


# ============================================================ tables and workbook


def _builds_table(plan: Plan, data: ModelData) -> pd.DataFrame:
    opts = data.builds[["option", "node", "process", "year", "unit_capacity",
                        "lead_time_years"]]
    b = plan.builds.merge(opts, on=["option", "year"], how="left")
    return pd.DataFrame({
        "option": b["option"], "node": b["node"], "process": b["process"], "year": b["year"],
        "units": b["units"], "capacity_added": b["units"] * b["unit_capacity"],
        "online_year": b["year"] + b["lead_time_years"],
    }).sort_values(["year", "option"], kind="stable").reset_index(drop=True)


def plans_side_by_side(plans: Sequence[Plan], data: ModelData) -> pd.DataFrame:
    """option, node, process, year, then units per plan (0 where a plan does not build)."""
    rows = pd.concat([p.builds.assign(plan=p.label) for p in plans], ignore_index=True)
    cols = ["option", "node", "process", "year"]
    if not len(rows):
        return pd.DataFrame(columns=cols + [p.label for p in plans])
    wide = rows.pivot_table(index=["option", "year"], columns="plan", values="units",
                            aggfunc="sum", fill_value=0.0).reset_index()
    wide = wide.merge(data.builds[["option", "year", "node", "process"]], on=["option", "year"],
                      how="left")
    for p in plans:
        if p.label not in wide:
            wide[p.label] = 0.0
    wide = wide.sort_values(["year", "option"], kind="stable").reset_index(drop=True)
    out = wide[cols + [p.label for p in plans]].copy()
    out.columns.name = None
    opened = pd.concat([p.opened.assign(plan=p.label) for p in plans], ignore_index=True)
    if len(opened):
        extra = opened.pivot_table(index="node", columns="plan", values="open",
                                   aggfunc="sum", fill_value=0).reset_index()
        extra = extra.assign(option="(open node)", process="", year=None)
        for p in plans:
            if p.label not in extra:
                extra[p.label] = 0
        out = pd.concat([out, extra[cols + [p.label for p in plans]]], ignore_index=True)
    return out


def _musd(x: float | None) -> float | None:
    return None if x is None else float(np.round(x, 6)) + 0.0


def robust_tables(res: RobustResult) -> dict[str, pd.DataFrame]:
    """The sheets of the robust workbook (Run added by :func:`write_robust`)."""
    names, w = res.scenarios, res.weights
    ref = res.datas[names[0]]
    out: dict[str, pd.DataFrame] = {}
    exp_r, exp_b = res.expected(res.robust), res.expected(res.base)
    exp_star = res.expected(res.optimum)
    obj = res.sol.objective_usd / USD_PER_MUSD
    bound = res.sol.bound_usd / USD_PER_MUSD
    infeasible_base = [s for s in names if res.base[s].npv_usd is None]
    summary = [
        ("criterion", res.criterion, "expected | worst | regret"),
        ("scenarios", ", ".join(names), ""),
        ("status", res.sol.status, "extensive form, or ph_converged / ph_iteration_limit"),
        ("mip_gap", res.sol.gap, "fraction (objective vs bound)"),
        ("objective_musd", obj, {"expected": "expected NPV", "worst": "worst-case NPV",
                                 "regret": "maximum regret"}[res.criterion] + " (MUSD)"),
        ("objective_bound_musd", bound, "MUSD"),
        ("expected_npv_robust_plan_musd", exp_r, "Σ w_s NPV_s(robust plan), MUSD"),
        ("expected_npv_base_plan_musd", exp_b,
         "Σ w_s NPV_s(base-case plan), MUSD" + (
             f"; infeasible in {', '.join(infeasible_base)}" if infeasible_base else "")),
        ("expected_npv_perfect_information_musd", exp_star, "Σ w_s NPV*_s (each scenario's "
         "own optimum), MUSD"),
        ("vss_musd", res.vss_musd, "value of the stochastic solution = expected NPV of the "
         "robust plan − of the base-case plan, MUSD" + (
             " (blank: the base-case plan is infeasible in some scenario)"
             if infeasible_base else "")),
        ("evpi_musd", res.evpi_musd, "expected value of perfect information = Σ w_s NPV*_s − "
         "expected NPV of the robust plan, MUSD"),
        ("worst_npv_robust_plan_musd", res.worst(res.robust), "MUSD"),
        ("worst_npv_base_plan_musd", res.worst(res.base), "MUSD"),
        ("max_regret_robust_plan_musd", res.max_regret(res.robust), "MUSD"),
        ("max_regret_base_plan_musd", res.max_regret(res.base), "MUSD"),
        ("builds_in_robust_plan", len(res.plan.builds), "(option, start year) pairs"),
    ]
    out["Summary"] = pd.DataFrame(summary, columns=["metric", "value", "unit"])
    out["Builds"] = _builds_table(res.plan, ref)
    if len(res.plan.opened):
        out["Openings"] = res.plan.opened.merge(ref.opening, on="node", how="left")[
            ["node", "opening_cost_musd"]]

    rows = []
    for s in names:
        r, b, o = res.robust[s].npv_musd, res.base[s].npv_musd, res.optimum[s].npv_musd
        rows.append((s, w[s], _musd(r), _musd(o), _musd(b),
                     _musd(None if r is None else o - r), _musd(None if b is None else o - b),
                     res.optimum[s].status if res.optimum[s].status != "optimal" else ""))
    rows.append(("expected (weighted)", 1.0, _musd(exp_r), _musd(exp_star), _musd(exp_b),
                 _musd(None if exp_r is None else exp_star - exp_r),
                 _musd(None if exp_b is None else exp_star - exp_b),
                 f"EVPI = {_fmt(res.evpi_musd)}; VSS = {_fmt(res.vss_musd)}"))
    out["Scenarios"] = pd.DataFrame(rows, columns=[
        "scenario", "weight", "npv_robust_plan_musd", "npv_own_optimum_musd",
        "npv_base_plan_musd", "regret_robust_plan_musd", "regret_base_plan_musd", "note"])

    # KPIs: one row per Summary metric, one column per scenario (robust plan)
    kp = None
    for s in names:
        tab = res.robust[s].tables
        if tab is None:
            continue
        col = tab["Summary"][["metric", "unit", "value"]].rename(columns={"value": s})
        kp = col if kp is None else kp.merge(col.drop(columns="unit"), on="metric", how="outer",
                                             sort=False)
    if kp is not None:
        order = {m: i for i, m in enumerate(next(
            res.robust[s].tables for s in names if res.robust[s].tables is not None)[
            "Summary"]["metric"])}
        kp = kp.sort_values("metric", key=lambda c: c.map(order), kind="stable")
        out["KPIs"] = kp[["metric", "unit"] + [s for s in names if s in kp]].reset_index(
            drop=True)

    # every plan in every scenario
    if res.cross:
        plan_rows = [("robust", res.robust), ("base_plan", res.base)]
        for p in names:
            plan_rows.append((res.plans[p].label, {s: res.cross[(p, s)] for s in names}))
        rows = []
        for label, ev in plan_rows:
            rows.append([label] + [_musd(ev[s].npv_musd) for s in names] +
                        [_musd(res.expected(ev)), _musd(res.worst(ev)),
                         _musd(res.max_regret(ev))])
        out["Plans"] = pd.DataFrame(rows, columns=["plan"] + [f"npv_{s}_musd" for s in names] +
                                    ["expected_npv_musd", "worst_npv_musd",
                                     "max_regret_musd"])
    plans = [res.plan, res.base_plan] + [res.plans[s] for s in names]
    uniq: dict[str, Plan] = {}
    for p in plans:
        uniq.setdefault(p.label, p)
    out["PlanBuilds"] = plans_side_by_side(list(uniq.values()), ref)

    # per-scenario detail (robust plan), long format with a scenario column
    for sheet in DETAIL_SHEETS:
        parts = [res.robust[s].tables[sheet].assign(scenario=s) for s in names
                 if res.robust[s].tables is not None]
        if parts:
            df = pd.concat(parts, ignore_index=True)
            out[sheet] = df[["scenario"] + [c for c in df.columns if c != "scenario"]]
    out["Warnings"] = pd.DataFrame(
        [(x.sheet, x.row, x.message + ("" if x.value is None else f" ({x.value})"))
         for x in res.warnings], columns=["sheet", "row", "message"])
    return out


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.3f} MUSD"


SHEET_ORDER = ("Summary", "Scenarios", "Builds", "Openings", "Plans", "PlanBuilds", "KPIs",
               "Activity", "Flows", "Trade", "Disposal", "Extraction", "Depth", "Prices",
               "Binding", "Warnings", "Run")


def write_sheets(path: Path, tables: dict[str, pd.DataFrame], order: Sequence[str],
                 title: str) -> None:
    """Write ``tables`` in ``order`` (then any others) with the results' number formats."""
    names = [n for n in order if n in tables] + [n for n in tables if n not in order]
    specs = []
    for name in names:
        df = tables[name]  # Warnings too when empty: a header says there is nothing to say
        fmts = {k: f for k, f in NUMBER_FORMATS.items() if k in df.columns}
        fmts.update({c: "#,##0.000" for c in df.columns
                     if isinstance(c, str) and c.endswith("_musd")})
        specs.append(SheetSpec(name[:31], df, number_formats=fmts,
                               widths={"value": 22, "unit": 40} if "metric" in df else {},
                               wrap_columns=("message",) if name == "Warnings" else ()))
    write_workbook(path, specs, title=title)


def extra_run_rows(rows: Sequence[tuple[str, Any]], run: pd.DataFrame) -> pd.DataFrame:
    """Append rows to a Run table (before its command_line row)."""
    add = pd.DataFrame(list(rows), columns=["key", "value"])
    i = int(np.flatnonzero(run["key"].to_numpy() == "command_line")[0]) if (
        run["key"] == "command_line").any() else len(run)
    return pd.concat([run.iloc[:i], add, run.iloc[i:]], ignore_index=True)


def write_robust(path: Path, res: RobustResult, input_path: Path, start: _dt.datetime,
                 command_line: str | None = None) -> dict[str, pd.DataFrame]:
    tables = robust_tables(res)
    run = run_table(input_path, ",".join(res.scenarios), res.opts, res.sol, res.times, start,
                    res.base_tables, command_line)
    tables["Run"] = extra_run_rows([
        ("command", "robust"), ("criterion", res.criterion),
        ("engine", res.engine),
        ("weights", ", ".join(f"{s}={res.weights[s]:.6g}" for s in res.scenarios))], run)
    write_sheets(path, tables, SHEET_ORDER, "optmodel robust plan")
    return tables


def robust_workbook(input_path: Path | str, output_path: Path | str,
                    scenarios: str | Sequence[str], weights=None, criterion: str = "expected",
                    *, mip_gap: float | None = None, time_limit: float | None = None,
                    threads: int | None = None, tee: bool = False, cross: bool | None = None,
                    engine: str = "auto", command_line: str | None = None,
                    progress: Progress = _noop, extra: ExtraFile | None = None
                    ) -> tuple[RobustResult | None, dict[str, pd.DataFrame] | None]:
    """Robust solve of ``input_path`` written to ``output_path`` (checked writable first).

    Returns (None, None) on MPI ranks other than 0 (``engine="ph"`` under mpiexec)."""
    start = _dt.datetime.now(_dt.UTC)
    input_path, output_path = Path(input_path), Path(output_path)
    check_writable(output_path, [input_path])
    t = time.perf_counter()
    res = robust_solve(input_path, scenarios, weights, criterion, mip_gap=mip_gap,
                       time_limit=time_limit, threads=threads, tee=tee, cross=cross,
                       engine=engine, progress=progress, extra=extra)
    if res is None:
        return None, None
    res.times["total"] = time.perf_counter() - t
    progress(f"Writing {output_path.name}")
    tables = write_robust(output_path, res, input_path, start, command_line)
    return res, tables
