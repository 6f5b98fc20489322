"""Robust siting by Benders decomposition: one future's LP at a time, never the extensive form.

The two-stage problem of :mod:`optmodel.strategy.robust` (docs/strategy.md §1) with
first-stage decisions x (``build``, ``open``) shared by every future s, and each
future's operations y_s chosen after::

    NPV_s(x) = max_y { c_s·(x, y) + const_s :  row_lo ≤ A_s (x, y) ≤ row_hi,  y bounds }

NPV_s is concave in x (the optimum of an LP as a function of the fixed columns'
values).  Solving future s's LP with x fixed at x̂ gives NPV_s(x̂) and, as the
reduced costs d of the fixed columns, a supergradient:

    NPV_s(x) ≤ NPV_s(x̂) + d·(x − x̂)    for every x                  (optimality cut)

(the LP's optimal duals stay feasible for any x, and the dual objective is linear in
x).  The strengthening rows (:data:`optmodel.model.build.STRENGTHENING_FAMILIES`;
docs/performance.md, "MIP strength") are valid for every plan with whole
units, so at such a plan each future's LP has the same optimum with or without them:
the cuts bound NPV_s at every plan the master may choose.  Where x̂ leaves future s
infeasible, the elastic LP (every row may be violated at a cost of 1 per unit) gives
W_s(x̂) < 0 and a supergradient g, and every plan feasible in s satisfies

    W_s(x̂) + g·(x − x̂) ≥ 0                                          (feasibility cut)

The *master* holds x (with its integrality and the tightest bounds of all futures),
the rows of the futures' models that involve x alone (e.g. investment budgets), one
column θ_s per future bounded by its cuts, and the criterion:

    expected:  max Σ_s w_s θ_s
    worst:     max z,  z ≤ θ_s
    regret:    min z,  z ≥ NPV*_s − θ_s

Each iteration solves the master (a small MIP; its bound is a bound on the robust
optimum, as the cuts only over-estimate NPV_s), evaluates its plan in every future
(one LP each, from that future's last basis) and adds the cuts the plan violates.  The
best plan so far, scored by its evaluated NPVs, is the incumbent.  The loop stops when
incumbent and bound meet within the MIP gap (for ``regret`` the absolute gap
``mip_gap`` × max_s |NPV*_s|, as for the extensive form), at the time limit, or when
the master's plan violates no cut (the bound then is the master's own).

Memory: one future's LP is in HiGHS at a time, next to the master; the futures are
kept as matrices (about 1 MB each for the base case), not as model tables.  The
extensive form of 10 futures of the base case, by contrast, makes HiGHS alone peak
above 300 MB (docs/performance.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from optmodel.errors import InfeasibleError, InputError, SolverError
from optmodel.solver.highs import Basis, Csc, MatrixModel, relative_gap, solve_matrix
from optmodel.solver.options import SolveOptions, release_memory

log = logging.getLogger(__name__)

# a cut is added where θ_s exceeds NPV_s(x̂) by more than this × max(1, |NPV_s|): above
# HiGHS's primal feasibility tolerance (1e-7), within which the master may keep θ_s
CUT_TOLERANCE = 1e-6
MAX_ITERATIONS = 500  # a safety stop; convergence on the shipped futures takes 15–40
# The master holds θ and z divided by a scale (_Master.scale): the largest of the
# futures' LP relaxations / SCALE_TO, at least 1.  Unscaled (USD), a cut's θ coefficient
# (1) sat beside reduced costs of up to 1.5e9 USD per unit, and HiGHS's bound on the
# master went wrong (above the best plan's regret, on 6 shipped futures under `regret`).
SCALE_TO = 1e3


@dataclass
class Future:
    """One future's whole model as a matrix, and where its first-stage columns are.

    ``first[k]`` is the column of ``mm`` holding the master's first-stage decision k
    (the same key in every future: :func:`optmodel.strategy.robust.benders_futures`)."""

    name: str
    mm: MatrixModel
    first: np.ndarray
    basis: Basis | None = None  # the last evaluation's optimal basis, to start the next


@dataclass
class BendersResult:
    """The best plan found (first-stage values in the master's order) and how sure it is."""

    status: str  # optimal | time_limit | iteration_limit
    x: np.ndarray
    objective: float  # the criterion's value of x, from its evaluated NPVs (USD)
    bound: float  # the master's bound on the robust optimum (USD)
    gap: float  # relative, |bound − objective| / |objective|
    iterations: int
    cuts: int
    npv: dict[str, float]  # future → NPV_s(x) (USD)
    times: dict[str, float] = field(default_factory=dict)


@dataclass
class _Cut:
    future: int
    grad: np.ndarray  # d (optimality) or g (feasibility), one entry per first-stage column
    rhs: float  # optimality: θ_s − d·x ≤ rhs;  feasibility: g·x ≥ rhs
    feasibility: bool = False
    in_master: bool = False  # added to the master already


class _Subproblems:
    """Evaluates first-stage plans in each future: NPV and supergradient, or a
    feasibility cut.

    With ``opts.threads`` above 1, that many futures' LPs are solved at once, each on one
    thread (HiGHS releases Python's lock while it solves; the dual simplex of one LP
    gains little from more threads).  Each future keeps its own basis, so the results do
    not depend on the order in which they finish."""

    def __init__(self, futures: Sequence[Future], opts: SolveOptions):
        self.futures = list(futures)
        self.workers = max(1, min(int(opts.threads), len(self.futures)))
        self.opts = replace(opts, time_limit=None, tee=False, start=None, duals=True,
                            threads=1 if self.workers > 1 else opts.threads)
        self.seconds = 0.0

    def evaluate_all(self, x: np.ndarray) -> list[tuple[float | None, _Cut]]:
        """:meth:`evaluate` in every future, in the futures' order."""
        t = time.perf_counter()
        try:
            if self.workers == 1:
                return [self.evaluate(k, x) for k in range(len(self.futures))]
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                return list(pool.map(lambda k: self.evaluate(k, x),
                                     range(len(self.futures))))
        finally:
            self.seconds += time.perf_counter() - t

    def evaluate(self, k: int, x: np.ndarray) -> tuple[float | None, _Cut]:
        """(NPV_k(x), optimality cut) or (None, feasibility cut) when x is infeasible in k."""
        f = self.futures[k]
        lp = f.mm.with_fixed(f.first, x)
        try:
            res = solve_matrix(lp, self.opts, duals=True, col_duals=True, basis=f.basis,
                               keep_basis=True)
        except InfeasibleError:
            return None, self._feasibility_cut(k, x, lp)
        if res.col_dual is None:
            raise SolverError(f"Benders: HiGHS gave no reduced costs for future {f.name}; "
                              "use --engine ef.")
        f.basis = res.basis
        d = res.col_dual[f.first]
        return res.objective, _Cut(k, d, res.objective - float(d @ x))

    def _feasibility_cut(self, k: int, x: np.ndarray, lp: MatrixModel) -> _Cut:
        """The elastic LP of future k at x (``lp``: its model with x fixed): max −Σ(e⁺ + e⁻),
        row_lo ≤ A·v + e⁺ − e⁻ ≤ row_hi."""
        f = self.futures[k]
        n, m = lp.num_col, lp.num_row
        r, c, v = lp.a.coo()
        ar = np.arange(m, dtype=np.int64)
        a = Csc.from_coo(np.concatenate([r, ar, ar]),
                         np.concatenate([c, n + ar, n + m + ar]),
                         np.concatenate([v, np.ones(m), -np.ones(m)]), m, n + 2 * m)
        elastic = MatrixModel(
            {"v": 0}, {"r": 0}, np.concatenate([np.zeros(n), -np.ones(2 * m)]),
            np.concatenate([lp.col_lower, np.zeros(2 * m)]),
            np.concatenate([lp.col_upper, np.full(2 * m, np.inf)]), np.zeros(n + 2 * m, bool),
            lp.row_lower, lp.row_upper, a, maximize=True)
        res = solve_matrix(elastic, self.opts, duals=True, col_duals=True)
        if res.col_dual is None or res.objective >= 0:
            raise SolverError(f"Benders: future {f.name} is infeasible at a plan, but its "
                              "elastic LP found no violation to cut off; use --engine ef.")
        g = res.col_dual[f.first]
        return _Cut(k, g, float(g @ x) - res.objective, feasibility=True)


class _Master:
    """The master MIP: first-stage columns, θ per future, z for worst/regret, and cuts."""

    def __init__(self, futures: Sequence[Future], weights: Sequence[float], criterion: str,
                 optimum: Sequence[float] | None):
        ref = futures[0]
        self.n = len(ref.first)
        self.S = len(futures)
        self.criterion = criterion
        self.weights = np.asarray(weights, dtype=float)
        self.optimum = None if optimum is None else np.asarray(optimum, dtype=float)
        # the first stage holds what every future allows: the tightest bounds
        self.lower = np.max([f.mm.col_lower[f.first] for f in futures], axis=0)
        self.upper = np.min([f.mm.col_upper[f.first] for f in futures], axis=0)
        self.integer = np.any([f.mm.integer[f.first] for f in futures], axis=0)
        if np.any(self.lower > self.upper):
            raise InfeasibleError("No single plan is feasible in every scenario: the "
                                  "scenarios' bounds on the build decisions do not overlap.")
        self.rows = self._first_stage_rows(futures)
        self.cuts: list[_Cut] = []  # in the master (add them with add())
        self.scale = 1.0  # θ and z in units of this (see SCALE_TO)

    def _first_stage_rows(self, futures: Sequence[Future]
                          ) -> tuple[list[np.ndarray], list[np.ndarray], list[float], list[float]]:
        """The rows of every future's model whose terms are all first-stage (once each)."""
        cols_l, vals_l, lo_l, hi_l = [], [], [], []
        seen: set = set()
        for f in futures:
            where = np.full(f.mm.num_col, -1, dtype=np.int64)
            where[f.first] = np.arange(self.n)
            r, c, v = f.mm.a.coo()
            other = np.zeros(f.mm.num_row, dtype=bool)
            other[r[where[c] < 0]] = True
            own = np.zeros(f.mm.num_row, dtype=bool)
            own[r] = True
            keep = np.flatnonzero(own & ~other)
            if not len(keep):
                continue
            sel = np.isin(r, keep)
            r, c, v = r[sel], where[c[sel]], v[sel]
            order = np.argsort(r, kind="stable")
            r, c, v = r[order], c[order], v[order]
            bounds = np.searchsorted(r, keep)
            ends = np.append(bounds[1:], len(r))
            for i, a, b in zip(keep, bounds, ends, strict=True):
                key = (c[a:b].tobytes(), v[a:b].tobytes(), float(f.mm.row_lower[i]),
                       float(f.mm.row_upper[i]))
                if key in seen:
                    continue
                seen.add(key)
                cols_l.append(c[a:b])
                vals_l.append(v[a:b])
                lo_l.append(float(f.mm.row_lower[i]))
                hi_l.append(float(f.mm.row_upper[i]))
        return cols_l, vals_l, lo_l, hi_l

    def add(self, cut: _Cut) -> bool:
        """Add ``cut`` to the master; False if it is there already."""
        if cut.in_master:
            return False
        cut.in_master = True
        self.cuts.append(cut)
        return True

    def model(self) -> MatrixModel:
        n, S = self.n, self.S
        z = n + S  # z's column (worst and regret)
        rows, cols, vals, lo, hi = [], [], [], [], []

        def row(c: np.ndarray, v: np.ndarray, lower: float, upper: float) -> None:
            rows.append(np.full(len(c), len(lo), dtype=np.int64))
            cols.append(np.asarray(c, dtype=np.int64))
            vals.append(np.asarray(v, dtype=float))
            lo.append(lower)
            hi.append(upper)

        for c, v, a, b in zip(*self.rows, strict=True):
            row(c, v, a, b)
        for cut in self.cuts:
            nz = np.flatnonzero(cut.grad)
            if cut.feasibility:  # g·x ≥ rhs, scaled to a largest coefficient of 1
                top = float(np.abs(cut.grad).max()) or 1.0
                row(nz, cut.grad[nz] / top, cut.rhs / top, np.inf)
            else:  # θ_s − d·x ≤ rhs, scaled
                row(np.append(nz, n + cut.future), np.append(-cut.grad[nz] / self.scale, 1.0),
                    -np.inf, cut.rhs / self.scale)
        ncol = n + S
        cost = np.zeros(ncol)
        if self.criterion == "expected":
            cost[n:] = self.weights
        else:
            ncol += 1
            cost = np.append(cost, 1.0)
            for s in range(S):
                if self.criterion == "worst":  # z − θ_s ≤ 0
                    row(np.array([z, n + s]), np.array([1.0, -1.0]), -np.inf, 0.0)
                else:  # z + θ_s ≥ NPV*_s
                    row(np.array([z, n + s]), np.array([1.0, 1.0]),
                        float(self.optimum[s]) / self.scale, np.inf)
        lower = np.concatenate([self.lower, np.full(ncol - n, -np.inf)])
        upper = np.concatenate([self.upper, np.full(ncol - n, np.inf)])
        integer = np.concatenate([self.integer, np.zeros(ncol - n, dtype=bool)])
        m = len(lo)
        a = Csc.from_coo(np.concatenate(rows) if rows else np.zeros(0, np.int64),
                         np.concatenate(cols) if cols else np.zeros(0, np.int64),
                         np.concatenate(vals) if vals else np.zeros(0), m, ncol)
        return MatrixModel({"x": 0, "theta": n}, {"rows": 0}, cost, lower, upper, integer,
                           np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), a,
                           maximize=self.criterion != "regret")

    def score(self, npv: np.ndarray) -> float:
        """The criterion's value of a plan with these NPVs (what the master maximises, or
        for regret minimises)."""
        if self.criterion == "expected":
            return float(self.weights @ npv)
        if self.criterion == "worst":
            return float(npv.min())
        return float((self.optimum - npv).max())

    def plan(self, x: np.ndarray) -> np.ndarray:
        """x with its integer decisions rounded and every value within the bounds."""
        x = np.where(self.integer, np.round(x), x)
        return np.clip(x, self.lower, self.upper)


def solve_benders(futures: Sequence[Future], weights: Sequence[float], criterion: str,
                  opts: SolveOptions, optimum: Sequence[float] | None = None,
                  starts: Sequence[np.ndarray] = (),
                  progress: Callable[[str], None] = lambda _m: None) -> BendersResult:
    """The robust plan by Benders decomposition (module docstring).

    ``weights`` and ``optimum`` (NPV*_s, for ``regret``) follow ``futures``' order;
    ``starts`` are first-stage plans to begin from (e.g. the scenarios' own optima):
    each is evaluated in every future, and the best is the first incumbent.  Every
    future's own LP relaxation adds a first cut for it, so that the master is bounded
    from the first iteration.  ``opts.time_limit`` bounds the whole loop.
    """
    if criterion == "regret" and optimum is None:
        raise ValueError("the regret criterion needs each scenario's optimum")
    refusal = operations_error(futures)
    if refusal is not None:
        raise refusal
    t0 = time.perf_counter()
    times = {"master": 0.0}
    master = _Master(futures, weights, criterion, optimum)
    sub = _Subproblems(futures, opts)
    maximize = criterion != "regret"
    better = (lambda a, b: a > b) if maximize else (lambda a, b: a < b)
    if criterion == "regret":
        tol_abs = max(opts.mip_gap * float(np.max(np.abs(optimum))), 1e-6)
    else:
        tol_abs = 1e-6 if opts.mip_gap > 0 else 0.0
    master_opts = replace(opts, duals=False, start=None, tee=False,
                          mip_gap=opts.mip_gap / 4)

    # first cuts: each future's LP relaxation (its reduced costs at the relaxation's
    # optimum are a supergradient there, and bound θ_s from the start)
    release_memory()
    relaxed = np.empty(len(futures))  # each future's LP relaxation: NPV_s(x) ≤ relaxed[s]
    for k, f in enumerate(futures):
        progress(f"Benders: relaxation of scenario {k + 1}/{len(futures)} ({f.name})")
        relax = replace(f.mm, integer=np.zeros(f.mm.num_col, dtype=bool))
        try:
            res = solve_matrix(relax, sub.opts, duals=True, col_duals=True, keep_basis=True)
        except InfeasibleError:
            raise InfeasibleError(
                f"No single plan is feasible in every scenario: scenario {f.name} is "
                "infeasible on its own, whatever is built (solve --scenario "
                f"{f.name} says why).") from None
        if res.col_dual is None:
            raise SolverError(f"Benders: HiGHS gave no reduced costs for the relaxation of "
                              f"scenario {f.name}; use --engine ef.")
        f.basis = res.basis
        relaxed[k] = res.objective
        d = res.col_dual[f.first]
        xr = res.x[f.first]
        master.add(_Cut(k, d, res.objective - float(d @ xr)))

    master.scale = max(1.0, float(np.abs(relaxed).max()) / SCALE_TO)
    master_opts = replace(master_opts, mip_abs_gap=tol_abs / 4 / master.scale)
    best_x, best_score, best_npv = None, None, None

    evaluated: dict[bytes, list[_Cut]] = {}  # plan → its cuts in every future

    def consider(x: np.ndarray) -> list[_Cut]:
        """Plan x's cuts in every future (evaluated once per plan); keep x if it is the
        best plan so far."""
        nonlocal best_x, best_score, best_npv
        key = x.tobytes()
        if key in evaluated:
            return evaluated[key]
        npv = np.empty(len(futures))
        cuts, feasible = [], True
        for k, (value, cut) in enumerate(sub.evaluate_all(x)):
            cuts.append(cut)
            if value is None:
                feasible = False
            else:
                npv[k] = value
        if feasible:
            score = master.score(npv)
            if best_score is None or better(score, best_score):
                best_x, best_score, best_npv = x.copy(), score, npv
        evaluated[key] = cuts
        return cuts

    def cut_slack() -> float:
        """How far the master's θ may exceed the NPVs without a cut being added."""
        return 2 * CUT_TOLERANCE * max(1.0, float(np.abs(best_npv).max()))

    for x in starts:
        for cut in consider(master.plan(np.asarray(x, dtype=float))):
            master.add(cut)

    # the first bound, until the master gives one: the criterion of the relaxations' NPVs
    # (each NPV_s(x) is at most its relaxation's, so for regret NPV*_s − relaxed[s] is
    # at most the regret in s)
    status, bound, it = "iteration_limit", master.score(relaxed), 0
    for it in range(1, MAX_ITERATIONS + 1):
        left = None
        if opts.time_limit is not None:
            left = opts.time_limit - (time.perf_counter() - t0)
            if left <= 0:
                status = "time_limit"
                break
        t = time.perf_counter()
        try:
            res = solve_matrix(master.model(), replace(master_opts, time_limit=left))
        except InfeasibleError:
            raise InfeasibleError(
                "No single plan is feasible in every scenario (Benders: the feasibility cuts "
                "leave no plan). Solve the scenarios one by one (solve --scenario NAME) to "
                "find the one that is infeasible on its own, or the pair whose requirements "
                "conflict.") from None
        except SolverError:
            if left is None or best_score is None or time.perf_counter() - t < left:
                raise
            status = "time_limit"  # the master found no plan before the time ran out
            break
        finally:
            times["master"] += time.perf_counter() - t
        bound = res.bound * master.scale
        if best_score is not None and better(best_score, bound) and not _closed(
                bound, best_score, 1e-6, max(tol_abs, cut_slack())):
            raise SolverError(
                f"Benders: the master's bound ({_musd(bound)}) is worse than a plan already "
                f"evaluated ({_musd(best_score)}): numerical trouble in the master. Use "
                "--engine ef.")
        if res.status == "time_limit":
            status = "time_limit"
            break
        x = master.plan(res.x[:master.n])
        theta = res.x[master.n:master.n + master.S] * master.scale
        # add the cuts of x that the master's solution violates: θ_s above NPV_s(x), or x
        # infeasible in s (a plan met again brings back the cuts left out before)
        new = 0
        for cut in consider(x):
            if cut.feasibility:
                violated = True  # x is infeasible in that future
            else:
                value = cut.rhs + float(cut.grad @ x)  # NPV_s(x)
                violated = theta[cut.future] - value > CUT_TOLERANCE * max(1.0, abs(value))
            if violated and master.add(cut):
                new += 1
        gap = _gap(bound, best_score)
        progress(f"Benders iteration {it}: best plan {_musd(best_score)}, bound "
                 f"{_musd(bound)}, gap {gap:.3%}" if np.isfinite(gap) else
                 f"Benders iteration {it}: bound {_musd(bound)}, no plan feasible yet")
        log.info("Benders iteration %d: incumbent %s, bound %s, %d new cuts", it, best_score,
                 bound, new)
        if best_score is not None and _closed(bound, best_score, opts.mip_gap, tol_abs):
            status = "optimal"
            break
        if new == 0:  # the master's θ are exact at its plan, to the cut tolerance: the
            # bound is within the master's own gap of that plan, plus that tolerance
            status = "optimal" if best_score is not None and _closed(
                bound, best_score, opts.mip_gap, max(tol_abs, cut_slack())) else "stalled"
            break
    if best_score is None:
        raise SolverError("Benders found no plan feasible in every scenario before it "
                          f"stopped ({status}); use --engine ef or a longer --time-limit.")
    if status == "stalled":
        raise SolverError(
            f"Benders stalled at a gap of {_gap(bound, best_score):.3%} (no cut separates "
            "the master's plan); use --engine ef.")
    times["subproblems"] = sub.seconds
    times["total"] = time.perf_counter() - t0
    return BendersResult(status, best_x, best_score, bound, _gap(bound, best_score), it,
                         len(master.cuts),
                         {f.name: float(v) for f, v in zip(futures, best_npv, strict=True)},
                         times)


def operations_error(futures: Sequence[Future]) -> InputError | None:
    """Why Benders cannot solve these futures, or None: a future whose model has integer
    columns outside the first stage (a user's --extra file can add them), which Benders'
    LP subproblems would relax."""
    for f in futures:
        second = np.ones(f.mm.num_col, dtype=bool)
        second[f.first] = False
        if f.mm.integer[second].any():
            return InputError(
                f"--engine benders needs every integer decision in the first stage (build, "
                f"open), but scenario {f.name}'s model has integer operating variables (from "
                "the --extra file). Use --engine ef.")
    return None


def _gap(bound: float, score: float | None) -> float:
    if score is None or not np.isfinite(bound):
        return float("nan")
    return relative_gap(bound, score)


def _closed(bound: float, score: float, rel: float, abs_tol: float) -> bool:
    """Whether bound and incumbent meet: within the relative gap, the absolute gap, or
    (for an exact solve, gap 0) the solver's own precision, 1e-9 × max(1, |score|)."""
    return abs(bound - score) <= max(rel * abs(score), abs_tol, 1e-9 * max(1.0, abs(score)))


def _musd(x: float | None) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x / 1e6:,.2f} MUSD"
