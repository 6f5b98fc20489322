"""Direct hand-off to HiGHS: the model's term tables as one sparse matrix, no Pyomo walk.

Every constraint family of :class:`~optmodel.model.build.BuiltModel` already
holds its coefficients as a term table (constraint row, variable family,
variable id, coefficient) and every variable family its bounds and domains.
:func:`assemble` turns these tables into the arrays HiGHS takes — column
costs, bounds and integrality, row bounds and the constraint matrix in
compressed-column form — with numpy only, and :func:`solve_direct` passes
them to ``highspy.Highs.passModel``, solves, and maps the solution and the
row duals back to the families.  It gives the same model as Pyomo's APPSI
interface hands over (same objective in USD, same bounds, same rows), so the
same optimum and, for the LP with builds fixed, the same duals; it is checked
against the APPSI path in tests/test_highs_direct.py.

Columns are the variable families in ``bm.vars`` order and rows the constraint
families in ``bm.cons`` order; :class:`MatrixModel` keeps the offsets.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optmodel.errors import InfeasibleError, SolverError
from optmodel.model.build import BuiltModel, objective_coefficients
from optmodel.solver.options import (
    SolveOptions,
    SolveOutcome,
    highs_version,
    new_highs,
    run_interruptible,
)

log = logging.getLogger(__name__)

# HighsModelStatus name → the termination names of Pyomo's APPSI interface, so that
# the Run sheet says the same whichever path solved the model.
_TERMINATION = {
    "kOptimal": "optimal", "kInfeasible": "infeasible",
    "kUnboundedOrInfeasible": "infeasibleOrUnbounded", "kUnbounded": "unbounded",
    "kTimeLimit": "maxTimeLimit", "kIterationLimit": "maxIterations",
    "kSolutionLimit": "maxIterations", "kObjectiveBound": "objectiveLimit",
    "kObjectiveTarget": "objectiveLimit", "kModelEmpty": "unknown", "kNotset": "unknown",
    "kUnknown": "unknown", "kInterrupt": "interrupted",
}
_STOPPED_WITH_SOLUTION = {"objectiveLimit", "maxIterations", "maxTimeLimit", "interrupted"}


@dataclass
class MatrixModel:
    """The model as HiGHS arrays, with the family offsets to map results back."""

    col_offset: dict[str, int]  # first column of each family in the family layout
    row_offset: dict[str, int]
    col_position: np.ndarray  # family-layout column → HiGHS column
    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray  # bool per column
    row_lower: np.ndarray
    row_upper: np.ndarray
    a_start: np.ndarray  # compressed columns (int32)
    a_index: np.ndarray
    a_value: np.ndarray

    @property
    def num_col(self) -> int:
        return len(self.col_cost)

    @property
    def num_row(self) -> int:
        return len(self.row_lower)

    @property
    def num_nz(self) -> int:
        return len(self.a_value)

    def family_values(self, x: np.ndarray, bm: BuiltModel) -> dict[str, np.ndarray]:
        """Column values by variable family (in each family's index order)."""
        return {name: x[self.col_position[k:k + len(fam)]] for name, fam in bm.vars.items()
                for k in (self.col_offset[name],)}


def _domain_info(domain) -> tuple[float, float, bool]:
    """(lower, upper, integer) of a Pyomo domain set; None is the non-negative reals."""
    if domain is None:
        return 0.0, np.inf, False
    if not hasattr(domain, "get_interval"):  # a list of allowed values, e.g. [0, 1]
        vals = [float(v) for v in np.ravel(domain)]
        return min(vals), max(vals), all(v.is_integer() for v in vals)
    lo, hi, step = domain.get_interval()
    return (-np.inf if lo is None else float(lo), np.inf if hi is None else float(hi),
            step == 1)


def _column_bounds(fam) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(fam)
    lower = np.zeros(n)
    upper = np.full(n, np.inf)
    integer = np.zeros(n, dtype=bool)
    if getattr(fam, "lower", None) is not None:  # e.g. a user's variable (--extra)
        lb = np.asarray(fam.lower, dtype=float)
        lower = np.where(np.isnan(lb), -np.inf, lb)
    if getattr(fam, "upper", None) is not None:
        ub = np.asarray(fam.upper, dtype=float)
        upper = np.where(np.isnan(ub), np.inf, ub)
    domains = getattr(fam, "domains", None)
    if domains is not None and n:
        cache: dict[int, tuple[float, float, bool]] = {}
        info = [cache[id(d)] if id(d) in cache else cache.setdefault(id(d), _domain_info(d))
                for d in domains]
        lo_d, hi_d, int_d = (np.array(x) for x in zip(*info, strict=True))
        lower = np.maximum(lower, lo_d.astype(float))
        upper = np.minimum(upper, hi_d.astype(float))
        integer = int_d.astype(bool)
    return lower, upper, integer


def column_layout(bm: BuiltModel
                  ) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """Each variable family's first column, and every column's lower and upper bound and
    integrality, families in model order (from the tables; no Pyomo components read)."""
    col_offset: dict[str, int] = {}
    lows, ups, ints = [], [], []
    n = 0
    for name, fam in bm.vars.items():
        col_offset[name] = n
        lo, hi, integer = _column_bounds(fam)
        lows.append(lo)
        ups.append(hi)
        ints.append(integer)
        n += len(fam)
    return col_offset, concat(lows, float), concat(ups, float), concat(ints, bool)


def row_bounds(fam) -> tuple[np.ndarray, np.ndarray]:
    """A constraint family's row bounds, a missing bound (NaN) as ∓inf."""
    return (np.where(np.isnan(fam.lower), -np.inf, fam.lower),
            np.where(np.isnan(fam.upper), np.inf, fam.upper))


def concat(parts: list[np.ndarray], dtype) -> np.ndarray:
    """The parts end to end as ``dtype`` (an empty array of it when there are none)."""
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def assemble(bm: BuiltModel) -> MatrixModel:
    """Columns, rows and matrix of ``bm`` from its tables (no Pyomo components read)."""
    col_offset, lower, upper, integer = column_layout(bm)
    n = len(lower)
    cost = np.zeros(n)
    objective = objective_coefficients(bm)
    for name, c in objective.items():
        k = col_offset[name]
        cost[k:k + len(c)] = c

    row_offset: dict[str, int] = {}
    rlo, rhi, rows, cols, vals = [], [], [], [], []
    m = 0
    for name, fam in bm.cons.items():
        row_offset[name] = m
        lo, hi = row_bounds(fam)
        rlo.append(lo)
        rhi.append(hi)
        t = fam.terms
        con = t["con"].to_numpy(dtype=np.int64)
        order = np.argsort(con, kind="stable")  # the term order of each row's expression
        fams = t["fam"].to_numpy()[order]
        vid = t["vid"].to_numpy(dtype=np.int64)[order]
        col = np.empty(len(t), dtype=np.int64)
        for f in pd.unique(fams) if len(fams) else ():  # hashing: no sort of strings
            mask = fams == f
            col[mask] = vid[mask] + col_offset[f]
        rows.append(con[order] + m)
        cols.append(col)
        vals.append(t["coef"].to_numpy(dtype=float)[order])
        m += len(fam)

    row, col, val = concat(rows, np.int64), concat(cols, np.int64), concat(vals, float)
    # Column order as Pyomo's APPSI interface makes it: variables in order of first
    # appearance, row by row, then those only in the objective, in objective order.
    # The same order gives HiGHS the same pivoting choices, hence the same optimum and
    # the same duals where the LP has several (degenerate) dual solutions.
    perm = _appsi_column_order(col, cost, col_offset, bm, n, list(objective))
    pos = np.empty(n, dtype=np.int64)
    pos[perm] = np.arange(n, dtype=np.int64)
    col = pos[col]
    # compressed columns; a variable twice in one row (e.g. a recipe using and making
    # the same product) is one coefficient, the sum, as Pyomo's linear walker makes it
    key = col * max(m, 1) + row
    order = np.argsort(key, kind="stable")
    key, val = key[order], val[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    val = np.add.reduceat(val, starts) if len(starts) else val
    key = key[starts]
    keep = val != 0
    key, val = key[keep], val[keep]
    col_of = key // max(m, 1)
    a_index = (key - col_of * max(m, 1)).astype(np.int32)
    a_start = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(col_of, minlength=n), out=a_start[1:])
    return MatrixModel(col_offset, row_offset, pos, cost[perm], lower[perm], upper[perm],
                       integer[perm], concat(rlo, float), concat(rhi, float), a_start, a_index, val)


def _appsi_column_order(col: np.ndarray, cost: np.ndarray, col_offset: dict[str, int],
                        bm: BuiltModel, n: int, objective_order: list[str]) -> np.ndarray:
    """Family-layout column ids in the order APPSI adds the variables to HiGHS."""
    uniq, first = np.unique(col, return_index=True)
    seen = np.zeros(n, dtype=bool)
    seen[uniq] = True
    parts = [uniq[np.argsort(first, kind="stable")]]
    for name in objective_order + [f for f in bm.vars if f not in objective_order]:
        if name not in col_offset:
            continue
        k = col_offset[name]
        ids = np.arange(k, k + len(bm.vars[name]), dtype=np.int64)
        ids = ids[(cost[ids] != 0) & ~seen[ids]]
        seen[ids] = True
        parts.append(ids)
    parts.append(np.flatnonzero(~seen))  # in no row and not in the objective
    return np.concatenate(parts)


def to_highs(mm: MatrixModel, opts: SolveOptions):
    """A ``highspy.Highs`` holding the model, with the solve options set."""
    import highspy

    h = new_highs()
    h.setOptionValue("output_flag", bool(opts.tee))
    h.setOptionValue("log_to_console", bool(opts.tee))
    h.setOptionValue("threads", int(opts.threads))
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", float(opts.mip_gap))
    h.setOptionValue("mip_abs_gap", 1e-6 if opts.mip_gap > 0 else 0.0)
    if opts.time_limit is not None:
        h.setOptionValue("time_limit", float(opts.time_limit))
    integrality = mm.integer.astype(np.int32)
    status = h.passModel(
        mm.num_col, mm.num_row, mm.num_nz, int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMaximize), 0.0, mm.col_cost, mm.col_lower, mm.col_upper,
        mm.row_lower, mm.row_upper, mm.a_start, mm.a_index, mm.a_value, integrality)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS refused the model (passModel error).")
    return h


def _run(h) -> None:
    run_interruptible(h.run, h.cancelSolve)


def _termination(h) -> str:
    status = h.getModelStatus()
    name = getattr(status, "name", str(status).split(".")[-1])
    return _TERMINATION.get(name, "error")


def solve_direct(bm: BuiltModel, opts: SolveOptions) -> SolveOutcome:
    """Solve ``bm`` through highspy directly (same contract as the Pyomo path)."""
    t = time.perf_counter()
    mm = assemble(bm)
    h = to_highs(mm, opts)
    handoff = time.perf_counter() - t
    log.info("HiGHS solve started (direct): %d columns, %d rows, %d non-zeros, %d integer",
             mm.num_col, mm.num_row, mm.num_nz, int(mm.integer.sum()))
    t = time.perf_counter()
    _run(h)
    solve_time = time.perf_counter() - t
    tc = _termination(h)
    sol = h.getSolution()
    has_sol = tc == "optimal" or (tc in _STOPPED_WITH_SOLUTION and sol.value_valid)
    if tc in ("infeasible", "infeasibleOrUnbounded"):
        raise InfeasibleError("The model is infeasible: no plan satisfies every constraint.")
    if tc == "unbounded":
        raise InfeasibleError("The model is unbounded: check prices, capacities and limits.")
    if tc == "interrupted":
        raise KeyboardInterrupt
    if not has_sol:
        if tc == "maxTimeLimit":
            raise SolverError("Time limit reached before any feasible plan was found.")
        raise SolverError(f"The solver stopped without a solution ({tc}).")
    info = h.getInfo()
    obj = float(info.objective_function_value)
    is_mip = bool(mm.integer.any())
    bound = float(info.mip_dual_bound) if is_mip and info.mip_node_count != -1 else obj
    gap = abs(bound - obj) / max(1e-10, abs(obj)) if np.isfinite(bound) else float("nan")
    x = np.asarray(sol.col_value, dtype=float)
    values = mm.family_values(x, bm)
    status = "optimal" if tc == "optimal" else ("time_limit" if tc == "maxTimeLimit" else tc)
    outcome = SolveOutcome(status, tc, obj, bound, gap, values,
                           times={"handoff": handoff, "solve": solve_time},
                           solver_version=highs_version())
    if opts.duals:
        t = time.perf_counter()
        outcome.duals = _lp_duals(h, mm, bm, x, is_mip, sol)
        outcome.times["duals"] = time.perf_counter() - t
    return outcome


def _lp_duals(h, mm: MatrixModel, bm: BuiltModel, x: np.ndarray, is_mip: bool, sol
              ) -> dict[str, np.ndarray]:
    """Row duals of the LP with integer columns fixed at their (rounded) optimum.

    For an LP these are the duals of the solve just made.  For a MIP the integer
    columns are fixed and the LP solved once more (no time limit), with the very
    calls Pyomo's APPSI interface makes when variables are fixed (see
    :func:`_fix_integers`), so that both paths give the same duals even where the
    LP has several dual solutions.
    """
    row_position = np.arange(mm.num_row)
    if is_mip:
        row_position = _fix_integers(h, mm, x)
        h.setOptionValue("time_limit", float("inf"))
        _run(h)
        tc = _termination(h)
        if tc != "optimal":
            log.warning("LP for shadow prices ended %s; duals left blank", tc)
            return {}
        sol = h.getSolution()
    if not sol.dual_valid:
        log.warning("HiGHS gave no valid duals; shadow prices left blank")
        return {}
    y = np.asarray(sol.row_dual, dtype=float)[row_position]
    return {name: y[mm.row_offset[name]:mm.row_offset[name] + len(fam)].copy()
            for name, fam in bm.cons.items()}


def _fix_integers(h, mm: MatrixModel, x: np.ndarray) -> np.ndarray:
    """Fix the integer columns at round(x) as APPSI does; return each row's new position.

    APPSI (fixed variables treated as parameters) changes the columns' bounds and
    integrality, deletes every row that references a fixed column, appends those
    rows again without the fixed columns (their terms move into the row bounds),
    in the order the fixed columns first reference them, and sets the objective
    again with the fixed columns' costs as a constant.
    """
    import highspy

    idx = np.flatnonzero(mm.integer)
    fixed = np.round(x[idx])
    n = mm.num_col
    h.changeColsBounds(len(idx), idx.astype(np.int32), fixed, fixed)
    h.changeColsIntegrality(len(idx), idx.astype(np.int32), np.full(
        len(idx), int(highspy.HighsVarType.kContinuous), dtype=np.uint8))
    # rows referencing a fixed column, in order of first reference (column by column)
    counts = np.diff(mm.a_start)
    seq_rows = np.concatenate([mm.a_index[mm.a_start[j]:mm.a_start[j + 1]] for j in idx]) \
        if len(idx) else np.zeros(0, np.int32)
    uniq, first = np.unique(seq_rows, return_index=True)
    moved = uniq[np.argsort(first, kind="stable")].astype(np.int64)
    row_position = np.arange(mm.num_row, dtype=np.int64)
    if len(moved):
        # the rows' entries (row-wise), split into free and fixed columns
        col_of = np.repeat(np.arange(n, dtype=np.int64), counts)
        is_fixed = np.zeros(n, dtype=bool)
        is_fixed[idx] = True
        value = np.zeros(n)
        value[idx] = fixed
        in_moved = np.zeros(mm.num_row, dtype=bool)
        in_moved[moved] = True
        sel = in_moved[mm.a_index]
        r, c, v = mm.a_index[sel].astype(np.int64), col_of[sel], mm.a_value[sel]
        rank = np.empty(mm.num_row, dtype=np.int64)
        rank[moved] = np.arange(len(moved))
        order = np.lexsort((c, rank[r]))
        r, c, v = r[order], c[order], v[order]
        const = np.bincount(rank[r], weights=np.where(is_fixed[c], v * value[c], 0.0),
                            minlength=len(moved))
        keep = ~is_fixed[c]
        r, c, v = r[keep], c[keep], v[keep]
        lo = mm.row_lower[moved] - const
        hi = mm.row_upper[moved] - const
        starts = np.searchsorted(rank[r], np.arange(len(moved)))
        h.deleteRows(len(moved), np.sort(moved).astype(np.int32))
        h.addRows(len(moved), lo, hi, len(v), starts.astype(np.int32), c.astype(np.int32),
                  v.astype(float))
        stay = np.flatnonzero(~in_moved)
        row_position[stay] = np.arange(len(stay))
        row_position[moved] = len(stay) + np.arange(len(moved))
    cost = mm.col_cost.copy()
    offset = float(np.sum(cost[idx] * fixed))
    cost[idx] = 0.0
    h.changeObjectiveOffset(offset)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
    return row_position
