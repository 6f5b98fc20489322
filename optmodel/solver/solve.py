"""Solve one built model: the entry point callers use.

There is one solve path: the model's term tables are assembled into one sparse
matrix and handed to highspy (:mod:`optmodel.solver.highs`).  This module says
how one run is solved on it: a MIP by the LP tree first and HiGHS's MIP solver when
the tree gives up, cold or from a neighbouring run's warm start (:func:`_solve_mip`),
or proved from its two neighbours in a one-parameter sweep (:func:`prove_between`);
the shadow prices from the LP with the integer columns fixed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from optmodel.errors import InfeasibleError, SolverError
from optmodel.model.build import STRENGTHENING_FAMILIES, BuiltModel
from optmodel.solver.highs import (
    Basis,
    MatrixModel,
    MatrixSolution,
    assemble,
    concat,
    integers_fixed,
    names,
    outcome,
    relative_gap,
    solve_matrix,
    structure_digest,
    write_model,
)
from optmodel.solver.options import (
    LP_RETRY,
    KeyedValues,
    LinePoint,
    SolveOptions,
    SolveOutcome,
    WarmStart,
    key_list,
)
from optmodel.solver.tree import gap_allowance, search_tree

log = logging.getLogger(__name__)


def solve(bm: BuiltModel, opts: SolveOptions,
          write_model_to: Path | str | None = None) -> SolveOutcome:
    """Solve the MILP of ``bm``; then, for duals, the LP with builds/openings fixed.

    With ``write_model_to`` the matrix handed to HiGHS is first written there
    (.mps or .lp, with readable names).
    """
    return solve_direct(bm, opts, write_model_to)


def write_model_file(bm: BuiltModel, path: Path | str) -> None:
    """Write the built model as .mps or .lp: the matrix HiGHS solves, readable names."""
    write_model(names(bm, assemble(bm)), path)


def _strengthening_rows(bm: BuiltModel, mm: MatrixModel) -> np.ndarray:
    """The rows of the strengthening families (left out of the duals' LP)."""
    parts = [np.arange(mm.row_offset[n], mm.row_offset[n] + len(bm.cons[n]))
             for n in STRENGTHENING_FAMILIES if n in bm.cons]
    return concat(parts, np.int64)


def solve_direct(bm: BuiltModel, opts: SolveOptions,
                 write_model_to: Path | str | None = None) -> SolveOutcome:
    """Solve ``bm`` with HiGHS (duals per ``opts.duals``); first write the model file
    ``write_model_to`` (.mps or .lp) if given — the same matrix that is solved.

    A MIP is solved by :func:`_solve_mip`: the LP tree first, HiGHS's MIP solver when
    the tree gives up.  With ``opts.start`` (a :class:`WarmStart`, possibly empty) the
    solve starts from it and the outcome carries the start for a neighbouring run.  With
    ``opts.bracket`` (two solved runs of a one-parameter sweep) the optimum is first
    sought by :func:`prove_between`; ``opts.line_point`` returns this run as a
    :class:`LinePoint` for its own neighbours.  The outcome's ``method`` says how the
    optimum was found (the Run sheet's ``solve_method``)."""
    t = time.perf_counter()
    mm = assemble(bm)
    assembly = time.perf_counter() - t
    written = None
    if write_model_to is not None:
        t = time.perf_counter()
        write_model(names(bm, mm), write_model_to)
        written = time.perf_counter() - t
    free = _strengthening_rows(bm, mm)
    how, basis, res, by_tree, by_neighbours = "", None, None, False, False
    # the digest of the matrix, for the proof from sweep neighbours and for this run's point
    digest = structure_digest(mm) if (
        opts.bracket is not None or opts.line_point is not None) else None
    if opts.bracket is not None and mm.integer.any():
        res = prove_between(mm, opts, free, digest, None if opts.start is None
                            else _basis_from(mm, bm, opts.start))
        if res is not None:
            how = "proved by convexity between " + " and ".join(p.name for p in opts.bracket)
            by_neighbours = True
    if res is None and mm.integer.any():
        res, how, basis, by_tree = _solve_mip(bm, mm, opts, free)
    elif res is None:
        res = solve_matrix(mm, opts, duals=opts.duals, free_rows=free)
    res.times["handoff"] = res.times.get("handoff", 0.0) + assembly
    if written is not None:
        res.times["write_model"] = written
    out = outcome(bm, mm, res)
    out.method = how or "LP"
    if opts.start is not None:
        out.warm = out.method
        out.start = warm_start_of(bm, mm, out.values, *(basis or (None, None)))
        out.start.tree_leaves, out.start.tree_keys = res.leaves, res.leaf_keys
        out.start.tree_lp = res.tree_lp
        # count the runs since the LP tree last proved the optimum (an LP has none to miss)
        proved = by_tree or not mm.integer.any()
        tried = not by_neighbours  # a run proved by convexity tried no tree
        out.start.lp_misses = 0 if proved else opts.start.lp_misses + tried
    elif by_neighbours:
        out.warm = how
    if opts.line_point is not None:
        out.point = LinePoint(opts.line_point, digest, mm.col_cost.copy(),
                              float(mm.offset), res.bound, np.round(res.x[mm.integer]),
                              by_tree=by_tree)
    return out


# ------------------------------------------------- one-parameter sweeps: convexity


def _position(left: LinePoint, right: LinePoint, cost: np.ndarray, offset: float
              ) -> float | None:
    """t in [0, 1] with cost = (1 − t)·left.cost + t·right.cost (and the same for the
    offsets), to a relative 1e-12; None when this objective is not between the two."""
    a = np.append(left.cost, left.offset)
    d = np.append(right.cost, right.offset) - a
    c = np.append(cost, offset)
    if len(a) != len(c):
        return None
    k = int(np.argmax(np.abs(d)))
    t = float((c[k] - a[k]) / d[k]) if d[k] != 0 else 0.0
    if not -1e-12 <= t <= 1 + 1e-12:
        return None
    scale = 1e-12 * np.maximum(1.0, np.maximum(np.abs(a), np.abs(a + d)))
    if np.any(np.abs(a + t * d - c) > scale):
        return None
    return min(max(t, 0.0), 1.0)


def prove_between(mm: MatrixModel, opts: SolveOptions, free: np.ndarray | None = None,
                  digest: str | None = None, basis: Basis | None = None
                  ) -> MatrixSolution | None:
    """The optimum of ``mm`` proved from the two solved runs of ``opts.bracket``, or None.

    Conditions (each checked here): both runs and ``mm`` have the same structure (every
    number but the objective), both runs' integer plans are the same plan y, and ``mm``'s
    objective c lies on the segment between theirs, c = (1 − t)·c_L + t·c_R.  The
    optimum V(c) = max over the feasible set of c·x is convex in c (a maximum of linear
    functions), so V(c) ≤ (1 − t)·V(c_L) + t·V(c_R) ≤ (1 − t)·B_L + t·B_R =: B, the runs'
    solver bounds.  The LP with the integer columns fixed at y gives a feasible plan of
    value z ≤ V(c).  When B − z is within the MIP gap (:func:`gap_allowance`: the
    relative or the absolute gap, as HiGHS's rule), that plan is optimal to the same
    tolerance as a MIP solve, with B as its bound; otherwise None and the run is solved
    as a MIP.  The LP is the one whose duals are the shadow prices (strengthening rows
    ``free`` left out: they never cut off a plan with integer columns, so z is the
    same).  ``digest``: ``mm``'s :func:`structure_digest`, when the caller has it
    already; ``basis``: a starting basis for the LP (the previous run's, from its warm
    start)."""
    left, right = opts.bracket
    digest = structure_digest(mm) if digest is None else digest
    if not mm.maximize or not (left.structure == right.structure == digest):
        return None
    if not np.array_equal(left.integers, right.integers):
        return None
    t = _position(left, right, mm.col_cost, mm.offset)
    if t is None or not (np.isfinite(left.bound) and np.isfinite(right.bound)):
        return None
    bound = (1.0 - t) * left.bound + t * right.bound
    try:
        lp = solve_matrix(integers_fixed(mm, left.integers, free),
                          replace(opts, time_limit=None, start=None, bracket=None, presolve=False),
                          duals=opts.duals, basis=basis)
    except (InfeasibleError, SolverError):  # cannot happen for a plan feasible at both ends
        log.warning("the sweep neighbours' plan is not feasible here; solving the MIP")
        return None
    z = lp.objective
    if bound - z > gap_allowance(opts, z):
        return None
    bound = max(bound, z)
    lp.status, lp.termination, lp.bound = "optimal", "optimal", bound
    lp.gap = relative_gap(bound, z)
    return lp


# ------------------------------------------------------------------ warm starts


def _key_columns(fam) -> tuple[np.ndarray, ...]:
    """A variable or constraint family's key columns, in its row order."""
    return tuple(fam.index[k].to_numpy() for k in fam.keys)


def _by_keys(families: dict, arrays: dict[str, np.ndarray]) -> dict[str, KeyedValues]:
    """family → its values by key, from arrays in each family's index order."""
    return {name: KeyedValues(_key_columns(fam), np.array(arrays[name]))
            for name, fam in families.items() if name in arrays and len(fam)}


def _from_keys(families: dict, given: dict[str, KeyedValues | dict], default: float
               ) -> np.ndarray:
    """The values ``given`` by key, family after family, ``default`` where missing."""
    out = []
    for name, fam in families.items():
        d = given.get(name)
        if not d:
            out.append(np.full(len(fam), float(default)))
            continue
        columns = _key_columns(fam)
        if isinstance(d, KeyedValues) and d.same_keys(columns):  # same keys, same order
            out.append(np.asarray(d.values, dtype=float))
        else:
            out.append(np.array([d.get(k, default) for k in key_list(columns)], dtype=float))
    return concat(out, float)


def warm_start_of(bm: BuiltModel, mm: MatrixModel, values: dict[str, np.ndarray],
                  col_status: np.ndarray | None = None,
                  row_status: np.ndarray | None = None) -> WarmStart:
    """The :class:`WarmStart` a neighbouring run takes from this one's solution and the
    basis of its LP relaxation (statuses per column and row of ``mm``)."""
    ws = WarmStart(values=_by_keys(bm.vars, values))
    if col_status is not None and row_status is not None:
        ws.col_status = _by_keys(bm.vars, mm.family_values(col_status, bm))
        ws.row_status = _by_keys(bm.cons, mm.family_rows(row_status, bm))
    return ws


def start_columns(mm: MatrixModel, bm: BuiltModel, values: dict[str, dict]) -> np.ndarray:
    """A value per column from ``values`` (by key; 0 where missing), integer columns
    rounded, every value within its column's bounds."""
    x = _from_keys(bm.vars, values, 0.0)
    x = np.where(mm.integer, np.round(x), x)
    return np.clip(x, mm.col_lower, mm.col_upper)


def _basis_from(mm: MatrixModel, bm: BuiltModel, ws: WarmStart) -> Basis | None:
    """The basis of ``ws`` matched by keys (missing columns non-basic at their lower
    bound, missing rows basic), by position in ``mm``; None when it cannot be a basis of
    this model."""
    import highspy

    if not ws.col_status or not ws.row_status:
        return None
    cols = _from_keys(bm.vars, ws.col_status, 0).astype(np.int64)
    rows = _from_keys(bm.cons, ws.row_status, 1).astype(np.int64)
    basic = int(highspy.HighsBasisStatus.kBasic)
    if int((cols == basic).sum() + (rows == basic).sum()) != mm.num_row:
        return None
    return cols, rows


def _misjudged(mm: MatrixModel, res: MatrixSolution) -> bool:
    """Whether a warm-started solve returned a plan that its objective does not match or
    that breaks a row (HiGHS 1.16 can misjudge a MIP start in its presolved space): such
    a result is solved again without the start."""
    plan = float(mm.col_cost @ res.x) + mm.offset
    if abs(plan - res.objective) > 1e-6 * max(1.0, abs(plan)):
        return True
    ax = np.asarray(mm.a.dot(np.asarray(res.x, dtype=float))).ravel()
    scale = 1e-5 * np.maximum(1.0, np.abs(ax))
    return bool(((ax < mm.row_lower - scale) | (ax > mm.row_upper + scale)).any())


def _solve_mip(bm: BuiltModel, mm: MatrixModel, opts: SolveOptions, free: np.ndarray
               ) -> tuple[MatrixSolution, str, Basis | None, bool]:
    """A MIP: first the LP tree (:mod:`optmodel.solver.tree`), whose root LP starts from
    ``opts.start``'s basis and whose branches follow its plan; when the tree gives up,
    HiGHS's MIP solver with the best plan the tree found (or the start's) as MIP start.

    In a chain of warm-started runs where the tree gave up (``lp_misses`` not a multiple
    of :data:`LP_RETRY`), the next runs go to HiGHS's MIP solver at once, and every
    :data:`LP_RETRY`-th tries the tree again.  Returns the solution, how it was found
    (the Run sheet's ``solve_method``), the root LP's basis (for the next run's start) and
    whether the tree proved it.
    """
    ws = opts.start
    guide = start_columns(mm, bm, ws.values) if ws is not None and ws.values else None
    skip = opts.tree_nodes <= 0 or not mm.maximize or (
        ws is not None and ws.lp_misses % LP_RETRY)
    if skip:
        res, how = _mip_from_start(mm, opts, free, guide)
        return res, how, None, False
    groups, group_keys = _year_groups(bm, mm)
    keys = _integer_keys(bm, mm) + group_keys if ws is not None else None
    leaves = ws.tree_leaves if ws is not None and ws.tree_keys == keys else None
    t = time.perf_counter()
    structure = structure_digest(mm) if ws is not None else None
    reuse = ws.tree_lp if ws is not None else None
    # a run that takes over its neighbour's HiGHS needs no basis by keys (the instance
    # has its own), and passes none on: the next run of such a chain takes it over too
    same = reuse is not None and reuse.structure == structure
    basis = _basis_from(mm, bm, ws) if ws is not None and not same else None
    tree = search_tree(mm, opts, free, basis=basis, guide=guide, duals=opts.duals,
                       keep_basis=ws is not None, leaves=leaves, groups=groups,
                       reuse=reuse, structure=structure)
    spent = time.perf_counter() - t
    if tree.leaves is not None:
        tree.solution.leaves, tree.solution.leaf_keys = tree.leaves, keys
    if tree.solution is not None:
        tree.solution.tree_lp = tree.lp
    based = ", on the neighbour's LP" if tree.reused else (
        ", from the basis" if basis is not None else "")
    if tree.solution is not None:
        found = "LP relaxation integral" if tree.nodes == 1 else f"LP tree of {tree.nodes} nodes"
        if tree.from_leaves:
            found += f" (on from {tree.from_leaves} leaves)"
        return tree.solution, found + based, tree.root_basis, True
    left = replace(opts, time_limit=None if opts.time_limit is None
                   else max(opts.time_limit - spent, 0.0))
    res, how = _mip_from_start(mm, left, free, tree.plan if tree.plan is not None else guide)
    res.times["tree"] = spent
    return res, f"{how} (LP tree gave up: {tree.why})", tree.root_basis, False


def _integer_keys(bm: BuiltModel, mm: MatrixModel) -> list[tuple]:
    """(family, key) of every integer column of ``mm``, in column order."""
    out = []
    for name, fam in bm.vars.items():
        off = mm.col_offset[name]
        whole = np.flatnonzero(mm.integer[off:off + len(fam)])
        if len(whole):
            keys = key_list(_key_columns(fam))
            out += [(name, keys[i]) for i in whole]
    return out


def _year_groups(bm: BuiltModel, mm: MatrixModel) -> tuple[list[np.ndarray], list[tuple]]:
    """The LP tree's branching groups: in each variable family keyed by year, the integer
    columns that share every other key (a build option's units over the years), where
    there are two or more; and each group's key, (family, other keys)."""
    groups, keys = [], []
    for name, fam in bm.vars.items():
        off = mm.col_offset[name]
        whole = np.flatnonzero(mm.integer[off:off + len(fam)])
        if "year" not in fam.keys or len(whole) < 2:
            continue
        others = [k for k in fam.keys if k != "year"]
        if not others:  # keyed by year alone: all its integer columns are one group
            groups.append(off + whole)
            keys.append((name, ()))
            continue
        index = fam.index.iloc[whole]
        for key, rows in index.groupby(others, sort=True).indices.items():
            if len(rows) > 1:
                groups.append(off + whole[rows])
                keys.append((name, key))
    return groups, keys


def _mip_from_start(mm: MatrixModel, opts: SolveOptions, free: np.ndarray,
                    start: np.ndarray | None) -> tuple[MatrixSolution, str]:
    """HiGHS's MIP solver with ``start`` (a value per column, or None) as MIP start
    (HiGHS ignores an infeasible one); a result that does not match its own plan is
    solved again without the start."""
    res = solve_matrix(mm, opts, duals=opts.duals, start=start, free_rows=free)
    how = "HiGHS MIP, from a MIP start" if start is not None else "HiGHS MIP"
    if start is not None and res.status == "optimal" and _misjudged(mm, res):
        log.warning("the MIP start gave an inconsistent result; solving again without it")
        res = solve_matrix(mm, opts, duals=opts.duals, free_rows=free)
        how = "HiGHS MIP, MIP start rejected"
    return res, how
