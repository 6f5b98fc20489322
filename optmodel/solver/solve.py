"""Solve a built model with HiGHS through Pyomo's persistent APPSI interface.

APPSI's HiGHS interface hands the model to highspy in memory (no LP/MPS file),
keeps it loaded for the second, continuous solve that gives shadow prices
(builds and openings fixed at their optimum), and lets scenario batches re-solve
with changed data.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np

from optmodel.errors import InfeasibleError, SolverError
from optmodel.model.build import BuiltModel
from optmodel.solver.options import (
    SolveOptions,
    SolveOutcome,
    highs_version,
    run_interruptible,
)

if TYPE_CHECKING:
    from pyomo.contrib.appsi.solvers import Highs
# Pyomo's environment and APPSI are imported where the APPSI path runs: the direct
# path (optmodel.solver.highs) needs neither, and they take a fair part of start-up.

log = logging.getLogger(__name__)


def _solver(opts: SolveOptions, s: Highs | None = None) -> Highs:
    from pyomo.contrib.appsi.solvers import Highs

    s = Highs() if s is None else s
    if not s.available():
        raise SolverError("HiGHS (highspy) is not available: pip install highspy.")
    s.config.mip_gap = opts.mip_gap
    s.config.time_limit = opts.time_limit
    s.config.load_solution = False
    s.config.stream_solver = opts.tee
    s.config.warmstart = opts.warmstart
    s.highs_options = {"threads": int(opts.threads), "random_seed": 0,
                       "mip_abs_gap": 1e-6 if opts.mip_gap > 0 else 0.0}
    return s


def _cancel(s: Highs) -> None:
    """Ask APPSI's highspy object to stop (APPSI enables highspy's user interrupts)."""
    h = getattr(s, "_solver_model", None)
    if h is not None:
        h.cancelSolve()


def _is_integer(bm: BuiltModel) -> bool:
    return any(not v.is_continuous() for name in ("build", "open") for v in bm.vars[name].objs)


def solve(bm: BuiltModel, opts: SolveOptions, solver: Highs | None = None) -> SolveOutcome:
    """Solve the MILP; then, for duals, the LP with builds/openings fixed.

    ``solver`` (batch re-use) is a persistent APPSI Highs that already holds
    ``bm.model`` from an earlier solve: only the changes since then reach HiGHS.
    Without one, ``opts.backend`` chooses between the direct hand-off of the
    term tables to highspy and APPSI (see :class:`SolveOptions`); both give the
    same optimum and duals (tests/test_highs_direct.py).
    """
    direct = opts.backend == "direct" or (opts.backend == "auto" and bm.model is None)
    if solver is None and direct:
        from optmodel.solver.highs import solve_direct

        try:
            return solve_direct(bm, opts)
        except (AttributeError, TypeError) as exc:  # e.g. a highspy without the array API
            log.warning("direct HiGHS hand-off failed (%s); solving through Pyomo/APPSI", exc)
    if bm.model is None:  # tables only: make the Pyomo model of record for APPSI
        from dataclasses import replace

        from optmodel.model.pyomo_export import export

        full = export(bm)  # the same tables (a user's --extra families too)
        out = solve(full, replace(opts, backend="appsi"), solver)
        return out
    from pyomo.contrib.appsi.base import TerminationCondition as TC

    s = _solver(opts, solver)
    log.info("HiGHS solve started: %d variables, %d constraints (time limit %s s)",
             sum(len(f) for f in bm.vars.values()), sum(len(f) for f in bm.cons.values()),
             opts.time_limit if opts.time_limit is not None else "none")
    t = time.perf_counter()
    res = run_interruptible(lambda: s.solve(bm.model), lambda: _cancel(s))
    solve_time = time.perf_counter() - t
    tc = res.termination_condition
    has_sol = res.best_feasible_objective is not None
    if tc in (TC.infeasible, TC.infeasibleOrUnbounded):
        raise InfeasibleError("The model is infeasible: no plan satisfies every constraint.")
    if tc == TC.unbounded:
        raise InfeasibleError("The model is unbounded: check prices, capacities and limits.")
    if not has_sol:
        if tc == TC.maxTimeLimit:
            raise SolverError("Time limit reached before any feasible plan was found.")
        raise SolverError(f"The solver stopped without a solution ({tc.name}).")
    res.solution_loader.load_vars()
    status = "optimal" if tc == TC.optimal else (
        "time_limit" if tc == TC.maxTimeLimit else tc.name)
    obj = float(res.best_feasible_objective)
    bound = float(res.best_objective_bound) if res.best_objective_bound is not None else obj
    gap = abs(bound - obj) / max(1e-10, abs(obj)) if np.isfinite(bound) else float("nan")
    values = {name: np.array([v.value if v.value is not None else 0.0 for v in fam.objs],
                             dtype=float) for name, fam in bm.vars.items()}
    outcome = SolveOutcome(status, tc.name, obj, bound, gap, values,
                           times={"solve": solve_time}, solver_version=highs_version())
    if opts.duals:
        t = time.perf_counter()
        outcome.duals = _lp_duals(bm, s, values)
        outcome.times["duals"] = time.perf_counter() - t
    return outcome


def _lp_duals(bm: BuiltModel, s: Highs, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Duals of the LP with integer builds and openings fixed at their optimum."""
    import pyomo.environ as pyo
    from pyomo.contrib.appsi.base import TerminationCondition as TC

    fixed = []
    if _is_integer(bm):
        for name in ("build", "open"):
            for v, x in zip(bm.vars[name].objs, values[name], strict=True):
                if not v.is_continuous():
                    fixed.append((v, v.domain))
                    v.domain = pyo.NonNegativeReals
                    v.fix(round(x))
    try:
        # the MIP's time limit stays set inside highspy unless replaced: lift it here
        s.config.time_limit = float("inf")
        res = run_interruptible(lambda: s.solve(bm.model), lambda: _cancel(s))
        if res.termination_condition != TC.optimal:
            log.warning("LP for shadow prices ended %s; duals left blank",
                        res.termination_condition.name)
            return {}
        duals = s.get_duals()
    finally:
        for v, dom in fixed:
            v.unfix()
            v.domain = dom
    return {name: np.array([duals.get(c, 0.0) for c in fam.component.values()], dtype=float)
            for name, fam in bm.cons.items() if fam.component is not None}


def write_model_file(bm: BuiltModel, path: str) -> None:
    """Write the built model as .mps or .lp with readable, deterministic names."""
    import pyomo.environ  # noqa: F401  (registers the file writers)

    fmt = "mps" if str(path).lower().endswith(".mps") else "lp"
    bm.model.write(str(path), format=fmt, io_options={"symbolic_solver_labels": True})


def value_of(expr) -> float:
    import pyomo.environ as pyo

    return float(pyo.value(expr))
