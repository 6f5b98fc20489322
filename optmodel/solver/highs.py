"""The one exporter to HiGHS: the model's term tables as one sparse matrix.

Every constraint family of :class:`~optmodel.model.build.BuiltModel` holds its
coefficients as a term table (constraint row, variable family, variable id,
coefficient) and every variable family its bounds and domains.
:func:`assemble` turns these tables into the arrays HiGHS takes — column costs,
bounds and integrality, row bounds and the constraint matrix — with numpy
only (no scipy: importing it would pull in Pyomo's eager scipy.stats import,
about 60 MB and a noticeable start-up time).  The layout is the natural one:
columns are the variable families in ``bm.vars`` order, each in its index
order; rows are the constraint families in ``bm.cons`` order, each in its index
order (:class:`MatrixModel` keeps the offsets).

Every solve hands HiGHS a :class:`MatrixModel` (:func:`to_highs`): a single
solve (:mod:`optmodel.solver.solve`: the LP tree of :mod:`optmodel.solver.tree`,
then :func:`solve_matrix` when the tree gives up), batch runs, the robust extensive
form (one block matrix made of the scenarios' matrices) and its Benders
decomposition (each scenario's matrix with the plan fixed, and a small master),
alternatives and frontiers (extra rows and another objective,
:meth:`MatrixModel.add_rows`, :meth:`MatrixModel.with_objective`) and the
diagnosis's elastic copy.  :func:`write_model` writes the very matrix HiGHS solves
as MPS or LP, with readable names (:func:`names`).

Shadow prices: for a MIP, the integer columns are fixed at their rounded
optimum (bounds changed, integrality dropped; rows untouched) and the LP is
solved once more on the same HiGHS instance.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optmodel.errors import InfeasibleError, SolverError
from optmodel.model.build import BuiltModel
from optmodel.model.linear import DOMAINS
from optmodel.model.objective import objective_coefficients
from optmodel.solver.options import (
    SolveOptions,
    SolveOutcome,
    apply_options,
    highs_version,
    new_highs,
    run_interruptible,
)

log = logging.getLogger(__name__)

# HighsModelStatus name → the termination name written to the Run sheet
_TERMINATION = {
    "kOptimal": "optimal", "kInfeasible": "infeasible",
    "kUnboundedOrInfeasible": "infeasibleOrUnbounded", "kUnbounded": "unbounded",
    "kTimeLimit": "maxTimeLimit", "kIterationLimit": "maxIterations",
    "kSolutionLimit": "maxIterations", "kObjectiveBound": "objectiveLimit",
    "kObjectiveTarget": "objectiveLimit", "kModelEmpty": "unknown", "kNotset": "unknown",
    "kUnknown": "unknown", "kInterrupt": "interrupted",
}
_STOPPED_WITH_SOLUTION = {"objectiveLimit", "maxIterations", "maxTimeLimit", "interrupted"}


@dataclass(frozen=True)
class Csc:
    """A sparse matrix in compressed columns: column j's entries are ``index[start[j]:
    start[j+1]]`` (rows, ascending) and ``value[...]``; no duplicate or zero entries."""

    start: np.ndarray  # int64, length n + 1
    index: np.ndarray  # int64 row of each entry
    value: np.ndarray  # float
    shape: tuple[int, int]

    @property
    def nnz(self) -> int:
        return len(self.value)

    @classmethod
    def from_coo(cls, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, m: int, n: int
                 ) -> Csc:
        """From (row, column, value) triplets; a pair given twice — e.g. a recipe using
        and making the same product — is one entry, the sum; zero entries are dropped."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        vals = np.asarray(vals, dtype=float)
        key = cols * max(m, 1) + rows
        order = np.argsort(key, kind="stable")
        key, vals = key[order], vals[order]
        first = np.ones(len(key), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(first)
        vals = np.add.reduceat(vals, starts) if len(starts) else vals
        key = key[starts]
        keep = vals != 0
        key, vals = key[keep], vals[keep]
        col = key // max(m, 1)
        start = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(col, minlength=n), out=start[1:])
        return cls(start, key - col * max(m, 1), vals, (m, n))

    def coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, value) of every entry, column by column."""
        cols = np.repeat(np.arange(self.shape[1], dtype=np.int64), np.diff(self.start))
        return self.index, cols, self.value

    def dot(self, x: np.ndarray) -> np.ndarray:
        """A·x."""
        r, c, v = self.coo()
        return np.bincount(r, weights=v * np.asarray(x, dtype=float)[c],
                           minlength=self.shape[0])

    def tdot(self, y: np.ndarray) -> np.ndarray:
        """Aᵀ·y."""
        r, c, v = self.coo()
        return np.bincount(c, weights=v * np.asarray(y, dtype=float)[r],
                           minlength=self.shape[1])


@dataclass
class MatrixModel:
    """A linear model as HiGHS takes it, with the family offsets to map results back.

    ``a`` is the constraint matrix (rows × columns, compressed columns, no
    duplicate or zero entries).  ``col_offset``/``row_offset`` give each family's
    first column/row; families are contiguous, in the order of the dicts.
    """

    col_offset: dict[str, int]
    row_offset: dict[str, int]
    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray  # bool per column
    row_lower: np.ndarray
    row_upper: np.ndarray
    a: Csc
    maximize: bool = True
    offset: float = 0.0  # constant added to the objective
    col_names: list[str] | None = None
    row_names: list[str] | None = None

    @property
    def num_col(self) -> int:
        return len(self.col_cost)

    @property
    def num_row(self) -> int:
        return len(self.row_lower)

    @property
    def num_nz(self) -> int:
        return self.a.nnz

    def family_values(self, x: np.ndarray, bm: BuiltModel) -> dict[str, np.ndarray]:
        """Column values by variable family of ``bm`` (in each family's index order)."""
        return {name: x[k:k + len(fam)] for name, fam in bm.vars.items()
                for k in (self.col_offset[name],)}

    def family_rows(self, y: np.ndarray, bm: BuiltModel) -> dict[str, np.ndarray]:
        """Row values (e.g. duals) by constraint family of ``bm``."""
        return {name: y[k:k + len(fam)].copy() for name, fam in bm.cons.items()
                for k in (self.row_offset[name],)}

    def add_rows(self, name: str, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray,
                 lower: np.ndarray, upper: np.ndarray) -> MatrixModel:
        """A copy with a family of rows appended: entry k is ``vals[k]`` in row
        ``rows[k]`` (0 … len(lower)−1 of the new family) and column ``cols[k]``."""
        lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        r, c, v = self.a.coo()
        a = Csc.from_coo(np.concatenate([r, self.num_row + np.asarray(rows, dtype=np.int64)]),
                         np.concatenate([c, np.asarray(cols, dtype=np.int64)]),
                         np.concatenate([v, np.asarray(vals, dtype=float)]),
                         self.num_row + len(lower), self.num_col)
        offsets = dict(self.row_offset)
        offsets[name] = self.num_row
        names = None if self.row_names is None else self.row_names + [
            f"{name}({i})" for i in range(len(lower))]
        return replace(self, row_offset=offsets, a=a,
                       row_lower=np.concatenate([self.row_lower, lower]),
                       row_upper=np.concatenate([self.row_upper, upper]), row_names=names)

    def with_objective(self, cost: np.ndarray, maximize: bool, offset: float = 0.0
                       ) -> MatrixModel:
        """A copy with another objective (the rows and columns shared, not copied)."""
        return replace(self, col_cost=np.asarray(cost, dtype=float), maximize=maximize,
                       offset=offset)

    def with_fixed(self, cols: np.ndarray, values: np.ndarray) -> MatrixModel:
        """A copy with ``cols`` fixed at ``values`` and continuous (an LP if all integer
        columns are among them)."""
        lo, hi, integer = self.col_lower.copy(), self.col_upper.copy(), self.integer.copy()
        lo[cols] = values
        hi[cols] = values
        integer[cols] = False
        return replace(self, col_lower=lo, col_upper=hi, integer=integer)


def column_bounds(fam) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower bound, upper bound and integrality of each variable of a family."""
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
        info = [DOMAINS["nonnegative_real" if d is None else d] for d in domains]
        lo_d, hi_d, int_d = (np.array(x) for x in zip(*info, strict=True))
        lower = np.maximum(lower, lo_d.astype(float))
        upper = np.minimum(upper, hi_d.astype(float))
        integer = int_d.astype(bool)
    return lower, upper, integer


def row_bounds(fam) -> tuple[np.ndarray, np.ndarray]:
    """A constraint family's row bounds, a missing bound (NaN) as ∓inf."""
    return (np.where(np.isnan(fam.lower), -np.inf, fam.lower),
            np.where(np.isnan(fam.upper), np.inf, fam.upper))


def concat(parts: list[np.ndarray], dtype) -> np.ndarray:
    """The parts end to end as ``dtype`` (an empty array of it when there are none)."""
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def assemble(bm: BuiltModel) -> MatrixModel:
    """Columns, rows and matrix of ``bm`` from its tables (no Pyomo components read)."""
    col_offset: dict[str, int] = {}
    lows, ups, ints = [], [], []
    n = 0
    for name, fam in bm.vars.items():
        col_offset[name] = n
        lo, hi, integer = column_bounds(fam)
        lows.append(lo)
        ups.append(hi)
        ints.append(integer)
        n += len(fam)
    cost = np.zeros(n)
    for name, c in objective_coefficients(bm).items():
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
        fams = t["fam"].to_numpy()
        vid = t["vid"].to_numpy(dtype=np.int64)
        col = np.empty(len(t), dtype=np.int64)
        for f in pd.unique(fams) if len(fams) else ():  # hashing: no sort of strings
            mask = fams == f
            col[mask] = vid[mask] + col_offset[f]
        rows.append(t["con"].to_numpy(dtype=np.int64) + m)
        cols.append(col)
        vals.append(t["coef"].to_numpy(dtype=float))
        m += len(fam)
    a = Csc.from_coo(concat(rows, np.int64), concat(cols, np.int64), concat(vals, float), m, n)
    return MatrixModel(col_offset, row_offset, cost, concat(lows, float), concat(ups, float),
                       concat(ints, bool), concat(rlo, float), concat(rhi, float), a)


# ------------------------------------------------------------------ names

_UNSAFE = re.compile(r"[^A-Za-z0-9_(),.]")


def _family_names(name: str, index: pd.DataFrame, keys: list[str]) -> list[str]:
    """``name(k1,k2,…)`` per row of ``index``, e.g. ``act(Tomtor,Mine,2026)``."""
    if not len(index):
        return []
    if not keys:
        return [f"{name}({i})" for i in range(len(index))]
    joined = index[keys[0]].astype(str)
    for k in keys[1:]:
        joined = joined + "," + index[k].astype(str)
    return (name + "(" + joined + ")").tolist()


def _safe_unique(raw: list[str]) -> list[str]:
    """Names usable in MPS and LP files (letters, digits, ``_(),.``; others become ``_``),
    made unique by a ``_2``, ``_3``, … suffix where sanitising made two alike."""
    out, seen = [], set()
    for s in raw:
        s = _UNSAFE.sub("_", s)
        if s in seen:
            k = 2
            while f"{s}_{k}" in seen:
                k += 1
            s = f"{s}_{k}"
        seen.add(s)
        out.append(s)
    return out


def names(bm: BuiltModel, mm: MatrixModel) -> MatrixModel:
    """``mm`` with column and row names from ``bm``'s key tables (for model files)."""
    cols = [s for name, fam in bm.vars.items()
            for s in _family_names(name, fam.index, fam.keys)]
    rows = [s for name, fam in bm.cons.items()
            for s in _family_names(name, fam.index, fam.keys)]
    return replace(mm, col_names=_safe_unique(cols), row_names=_safe_unique(rows))


# ------------------------------------------------------------------ HiGHS


def to_highs(mm: MatrixModel, opts: SolveOptions):
    """A ``highspy.Highs`` holding ``mm`` (and its names, if any), with ``opts`` set."""
    import highspy

    h = new_highs()
    apply_options(h, opts)
    a = mm.a
    status = h.passModel(
        mm.num_col, mm.num_row, mm.num_nz, int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMaximize if mm.maximize else highspy.ObjSense.kMinimize),
        float(mm.offset), mm.col_cost, mm.col_lower, mm.col_upper, mm.row_lower,
        mm.row_upper, a.start.astype(np.int32), a.index.astype(np.int32),
        a.value.astype(float), mm.integer.astype(np.int32))
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS refused the model (passModel error).")
    if mm.col_names is not None:
        for j, s in enumerate(mm.col_names):
            h.passColName(j, s)
    if mm.row_names is not None:
        for i, s in enumerate(mm.row_names):
            h.passRowName(i, s)
    return h


def write_model(mm: MatrixModel, path: Path | str) -> None:
    """Write ``mm`` as .mps or .lp (by the file's suffix), as HiGHS gets it to solve."""
    h = to_highs(mm, SolveOptions())
    status = h.writeModel(str(path))
    import highspy

    if status == highspy.HighsStatus.kError:
        raise SolverError(f"HiGHS could not write the model file {path}.")


def termination_of(h) -> str:
    status = h.getModelStatus()
    name = getattr(status, "name", str(status).split(".")[-1])
    return _TERMINATION.get(name, "error")


@dataclass
class MatrixSolution:
    """What HiGHS gave for a :class:`MatrixModel`."""

    status: str  # optimal | time_limit | …
    termination: str
    objective: float
    bound: float
    gap: float
    x: np.ndarray
    row_dual: np.ndarray | None = None  # of the LP with integer columns fixed (if asked)
    col_dual: np.ndarray | None = None  # reduced costs of that LP (if asked)
    times: dict[str, float] = field(default_factory=dict)
    basis: Basis | None = None  # the LP's optimal basis (if asked, for an LP)
    leaves: list[tuple] | None = None  # the LP tree's leaves (optmodel.solver.tree)
    leaf_keys: list[tuple] | None = None  # (family, key) of the columns they refer to
    tree_lp: Any = None  # the LP tree's HiGHS instance (optmodel.solver.tree.TreeLP)


Basis = tuple[np.ndarray, np.ndarray]  # HiGHS basis status per column and per row


def pass_basis(h, cols: np.ndarray, rows: np.ndarray) -> bool:
    """Hand ``h`` a basis by position; False when HiGHS refuses it."""
    import highspy

    basis = highspy.HighsBasis()
    status = [highspy.HighsBasisStatus(v) for v in range(5)]
    basis.col_status = [status[v] for v in cols.tolist()]
    basis.row_status = [status[v] for v in rows.tolist()]
    basis.valid = True
    return h.setBasis(basis) == highspy.HighsStatus.kOk


def basis_of(h) -> Basis | None:
    """``h``'s current basis by position (None when HiGHS has no valid one)."""
    b = h.getBasis()
    if not b.valid:
        return None
    return (np.array([s.value for s in b.col_status], dtype=np.int64),
            np.array([s.value for s in b.row_status], dtype=np.int64))


def solve_matrix(mm: MatrixModel, opts: SolveOptions, duals: bool = False,
                 start: np.ndarray | None = None, col_duals: bool = False,
                 free_rows: np.ndarray | None = None, basis: Basis | None = None,
                 keep_basis: bool = False) -> MatrixSolution:
    """Solve ``mm``; with ``duals`` also the row duals (integer columns fixed, an LP),
    with ``col_duals`` also the reduced costs.

    ``start`` (a value per column) is handed to HiGHS as a MIP start; ``free_rows`` are
    left out of the duals' LP (valid inequalities, no limits: see
    :data:`optmodel.model.build.STRENGTHENING_FAMILIES`).  For an LP, ``basis`` (of a
    model with the same rows and columns) is the simplex's starting basis, and
    ``keep_basis`` returns the optimal one.  Raises InfeasibleError (infeasible or
    unbounded), SolverError (no solution found), KeyboardInterrupt (Ctrl-C).
    """
    t = time.perf_counter()
    h = to_highs(mm, opts)
    if basis is not None and not mm.integer.any():
        pass_basis(h, *basis)  # a basis HiGHS refuses leaves it to start from scratch
    if start is not None:
        import highspy

        s = highspy.HighsSolution()
        s.col_value = np.asarray(start, dtype=float).tolist()
        s.value_valid = True
        h.setSolution(s)
    handoff = time.perf_counter() - t
    log.info("HiGHS solve started: %d columns, %d rows, %d non-zeros, %d integer",
             mm.num_col, mm.num_row, mm.num_nz, int(mm.integer.sum()))
    t = time.perf_counter()
    run_interruptible(h.run, h.cancelSolve)
    solve_time = time.perf_counter() - t
    tc = termination_of(h)
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
    gap = relative_gap(bound, obj) if np.isfinite(bound) else float("nan")
    x = np.asarray(sol.col_value, dtype=float)
    status = "optimal" if tc == "optimal" else ("time_limit" if tc == "maxTimeLimit" else tc)
    out = MatrixSolution(status, tc, obj, bound, gap, x,
                         times={"handoff": handoff, "solve": solve_time})
    if keep_basis and not is_mip:
        out.basis = basis_of(h)
    if duals:
        t = time.perf_counter()
        lp = _lp_duals(h, mm, x, is_mip, sol, free_rows)
        if lp is not None:
            out.row_dual = np.asarray(lp.row_dual, dtype=float)
            if col_duals:
                out.col_dual = np.asarray(lp.col_dual, dtype=float)
        out.times["duals"] = time.perf_counter() - t
    return out


def _lp_duals(h, mm: MatrixModel, x: np.ndarray, is_mip: bool, sol,
              free_rows: np.ndarray | None = None):
    """The solution (with duals) of the LP with the integer columns fixed at their
    rounded optimum; None when HiGHS gives no valid duals.

    For an LP these are the duals of the solve just made.  For a MIP the integer
    columns' bounds become the rounded values and their integrality continuous;
    the rows stay as they are (same indices), and the LP is solved again on the
    same HiGHS instance without a time limit.
    """
    import highspy

    if is_mip:
        idx = np.flatnonzero(mm.integer).astype(np.int32)
        fixed = np.round(x[idx])
        h.changeColsBounds(len(idx), idx, fixed, fixed)
        h.changeColsIntegrality(len(idx), idx, np.full(
            len(idx), int(highspy.HighsVarType.kContinuous), dtype=np.uint8))
        lift_row_limits(h, free_rows)
        h.setOptionValue("time_limit", float("inf"))
        h.setOptionValue("presolve", "off")  # as every shadow-price LP (SolveOptions.presolve)
        run_interruptible(h.run, h.cancelSolve)
        tc = termination_of(h)
        if tc != "optimal":
            log.warning("LP for shadow prices ended %s; duals left blank", tc)
            return None
        sol = h.getSolution()
    if not sol.dual_valid:
        log.warning("HiGHS gave no valid duals; shadow prices left blank")
        return None
    return sol


def outcome(bm: BuiltModel, mm: MatrixModel, res: MatrixSolution) -> SolveOutcome:
    """The solution of ``mm`` (assembled from ``bm``) by ``bm``'s families."""
    out = SolveOutcome(res.status, res.termination, res.objective, res.bound, res.gap,
                       mm.family_values(res.x, bm), times=dict(res.times),
                       solver_version=highs_version())
    if res.row_dual is not None:
        out.duals = mm.family_rows(res.row_dual, bm)
    return out


def structure_digest(mm: MatrixModel) -> str:
    """A digest of everything in ``mm`` but its objective: two models with the same digest
    have the same columns, bounds, integrality, rows and matrix."""
    h = hashlib.sha256()
    for arr in (mm.a.start, mm.a.index, mm.a.value, mm.col_lower, mm.col_upper, mm.integer,
                mm.row_lower, mm.row_upper):
        a = np.ascontiguousarray(arr)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    h.update(b"max" if mm.maximize else b"min")
    return h.hexdigest()


def integers_fixed(mm: MatrixModel, integers: np.ndarray, free: np.ndarray | None = None
                   ) -> MatrixModel:
    """The LP of ``mm`` with its integer columns fixed at ``integers`` (in column order) and
    the strengthening rows ``free`` left out (without limits): the LP of the shadow prices."""
    fixed = mm.with_fixed(np.flatnonzero(mm.integer), integers)
    if free is None or not len(free):
        return fixed
    lo, hi = fixed.row_lower.copy(), fixed.row_upper.copy()
    lo[free], hi[free] = -np.inf, np.inf
    return replace(fixed, row_lower=lo, row_upper=hi)


def lift_row_limits(h, rows: np.ndarray | None) -> None:
    """Take every limit off the rows ``rows`` of the ``highspy.Highs`` ``h`` (the
    strengthening rows of the shadow prices' LP, the LP tree's branching rows)."""
    if rows is not None and len(rows):
        idx = np.asarray(rows, dtype=np.int32)
        h.changeRowsBounds(len(idx), idx, np.full(len(idx), -np.inf),
                           np.full(len(idx), np.inf))


def relative_gap(bound: float, value: float) -> float:
    """|bound − value| / |value| (|value| at least 1e-10): the gap written to the sheets."""
    return abs(bound - value) / max(1e-10, abs(value))


def integer_columns(bm: BuiltModel, family: str) -> np.ndarray:
    """Whether each variable of ``family`` is integer (from the tables)."""
    return column_bounds(bm.vars[family])[2]
