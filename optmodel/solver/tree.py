"""A small branch and bound over LP relaxations, tried before HiGHS's MIP solver.

On the shipped models HiGHS's MIP solver spends 0.3–0.6 s per run before its root
node closes (presolve, the root LP, cutting planes, heuristics), although the gap it
closes comes from one or two part-built units.  The LP relaxation and the LPs of a
few nodes below it, each re-solved by the dual simplex from the basis of the node
before, prove the same optimum in 0.05–0.35 s (docs/performance.md, "The LP tree").
So a single run (:func:`optmodel.solver.solve.solve_direct`) first searches such a
small tree, and hands the model to HiGHS's MIP solver only when the tree grows past
its node limit (``SolveOptions.tree_nodes``; 0 switches the tree off).

The search is depth first.  A node is the LP relaxation with some bounds tightened.
It is closed when its LP is infeasible, when its LP value is within the gap of the
best plan found so far (nothing below it can do better), or when its solution is
integral (a plan: the best so far if its value is higher).  Otherwise it is split in
two on the most fractional sum of a branching group (a build option's units over the
years), else on its most fractional integer column: Σ ≤ ⌊v⌋ and Σ ≥ ⌈v⌉ (x_j ≤ ⌊v⌋
and x_j ≥ ⌈v⌉), the half nearer v first (or nearer the ``guide``, a neighbouring
run's plan).  When no node is left, the best plan is optimal with the bound

    B = max(best, the largest LP value of a node closed by the gap),

and the rule is HiGHS's own: B − best ≤ max(absolute gap, mip_gap·|best|).  The
plan's integer columns are then fixed at their rounded values and the LP solved once
more, which gives the plan exactly (no column a hair away from a whole number) and the
shadow prices (the strengthening rows left out, as for a MIP solve).

A neighbouring run of a batch starts from this one: from its leaves (which cover every
plan), and, when its model differs only in the objective, on its HiGHS instance
(:class:`TreeLP`).

The tree gives up — and says why — on anything it cannot prove: more nodes than
allowed, half the time limit spent, an LP that ends other than optimal or infeasible,
no plan at all.  The MIP solver then solves the model from the start, with the best
plan found as its MIP start.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from optmodel.solver.highs import (
    Basis,
    MatrixModel,
    MatrixSolution,
    basis_of,
    integers_fixed,
    lift_row_limits,
    pass_basis,
    relative_gap,
    termination_of,
    to_highs,
)
from optmodel.solver.options import SolveOptions, apply_options, run_interruptible

log = logging.getLogger(__name__)

INTEGRALITY = 1e-6  # a column within this of a whole number is whole (HiGHS's default)
EXACT = 1e-9  # relative: two LP values this close are equal (the simplex's rounding)


@dataclass
class TreeResult:
    """What the tree found: ``solution`` (the proved optimum, or None: left to the MIP
    solver, ``why``), the nodes it solved, the best plan found (every column; a MIP
    start), and the root LP's optimal basis (for a neighbouring run's start)."""

    solution: MatrixSolution | None
    nodes: int
    plan: np.ndarray | None = None
    root_basis: Basis | None = None
    why: str = ""
    # a proved tree's leaves (decision tuples, the best plan's leaf first): they cover every
    # plan, and a neighbouring run's search may start from them (search_tree's ``leaves``)
    leaves: list[tuple] | None = None
    from_leaves: int = 0  # how many of a neighbour's leaves the search went on from
    lp: TreeLP | None = None  # this tree's HiGHS instance, for the next run (keep_basis)
    reused: bool = False  # the search took over the neighbour's HiGHS instance (``reuse``)


@dataclass(eq=False)
class TreeLP:
    """A finished tree's HiGHS instance, which the next run of a chain takes over when
    its model differs only in the objective: ``structure``, the model's
    :func:`~optmodel.solver.highs.structure_digest` (every number but the objective), and
    ``groups``, its branching groups (as bytes).  Only the process that made it uses it
    (a batch worker's warm start, ``robust``'s chain of own optima)."""

    highs: Any
    structure: str
    groups: tuple


def gap_allowance(opts: SolveOptions, value: float) -> float:
    """How far above ``value`` a bound may lie for ``value`` to count as optimal: HiGHS's
    rule with the same settings (:func:`optmodel.solver.options.highs_options`), and at
    least the LPs' own rounding (:data:`EXACT`·max(1, |value|)), so that with a gap of 0 a
    node whose LP value ties with the best plan's closes instead of branching on ties."""
    return max(opts.absolute_gap, opts.mip_gap * abs(value), EXACT * max(1.0, abs(value)))


def search_tree(mm: MatrixModel, opts: SolveOptions, free: np.ndarray | None = None,
                basis: Basis | None = None, guide: np.ndarray | None = None,
                duals: bool = False, keep_basis: bool = False,
                leaves: list[tuple] | None = None,
                groups: list[np.ndarray] | None = None,
                reuse: TreeLP | None = None, structure: str | None = None) -> TreeResult:
    """Prove the optimum of the maximising MIP ``mm`` by a depth-first tree of LPs.

    ``basis``: a starting basis for the root LP (by position, of a model with the same
    rows and columns); ``guide``: a value per column whose integer columns say which child
    to search first; ``free``: the strengthening rows, left out of the final LP (for
    ``duals``: its row duals are the shadow prices); ``keep_basis``: return the root
    LP's optimal basis (for a neighbouring run's start; not when the search took over a
    neighbour's instance, whose next run takes it over in turn).

    ``groups``: sets of integer columns (coefficient 1 each) whose sum is a whole number
    in every plan, branched on before single columns: Σ x ≤ ⌊s⌋ or Σ x ≥ ⌈s⌉ for a
    fractional sum s.  A build option's units over the years are such a set: where the
    relaxation builds a fraction of a unit spread over several years, one branch on the
    total closes what takes three levels of branching on the years one by one (the base
    case: 3 nodes instead of 15).  Each group is a row added to the LP, without limits but
    those of its branches.

    ``leaves``: the leaves of a neighbouring run's proved tree (:attr:`TreeResult.leaves`,
    each a tuple of branching decisions (k, up, value): x ≥ value when ``up``, else
    x ≤ value, on the k-th integer column, or on the sum of group k − (number of integer
    columns)).  The decisions of a finished tree split every
    node in two halves that leave no whole number out, so its leaves cover every plan of
    any model with the same integer columns, whatever their bounds.  When the root LP here
    is fractional, the search goes on from those leaves instead of the root: where the
    neighbour's plan stays optimal most of them close at once, in fewer LPs than the
    tree from the root (docs/performance.md, "The LP tree").  On a neighbour's own
    instance (``reuse``) the root LP is skipped: its basis is not needed, and the leaves
    alone cover every plan.

    ``reuse``: the neighbour's :class:`TreeLP`; when ``structure`` (this model's
    :func:`~optmodel.solver.highs.structure_digest`) and the groups are its own, the
    search takes over its HiGHS instance and basis, with this model's objective, instead
    of handing HiGHS the model again (``basis`` is then not needed).  With
    ``keep_basis`` the result carries its own :class:`TreeLP` for the next run."""
    if not mm.maximize:
        raise ValueError("search_tree takes a maximising model")
    if leaves is not None and () in leaves:  # the neighbour's root was its only leaf
        leaves = None
    limit = int(opts.tree_nodes)
    budget = opts.time_limit / 2 if opts.time_limit is not None else np.inf
    t0 = time.perf_counter()
    ints = np.flatnonzero(mm.integer)
    groups = [np.asarray(g, dtype=np.int64) for g in groups or ()]
    signature = tuple(g.tobytes() for g in groups)  # the groups, to compare with a TreeLP's
    group_rows = np.arange(mm.num_row, mm.num_row + len(groups))
    n_int, n_row = len(ints), mm.num_row
    opts = replace(opts, presolve=False)  # the LPs are re-solved from a basis (docstring)
    h = _reused(reuse, mm, opts, structure, signature, group_rows, ints, free)
    reused = h is not None
    if h is None:
        h = to_highs(replace(mm, integer=np.zeros(mm.num_col, dtype=bool)), opts)
        if basis is not None:
            pass_basis(h, *basis)  # a basis HiGHS refuses leaves it to start from scratch
        for g in groups:  # added after the basis: HiGHS makes the new rows basic
            h.addRow(-np.inf, np.inf, len(g), g.astype(np.int32), np.ones(len(g)))
    # the bounds of the branched quantities: integer columns, then group sums
    root_lo = np.concatenate([mm.col_lower[ints], np.full(len(groups), -np.inf)])
    root_hi = np.concatenate([mm.col_upper[ints], np.full(len(groups), np.inf)])
    lo, hi = root_lo.copy(), root_hi.copy()  # as they are in ``h`` now

    def move_to(path: tuple) -> bool:
        """Set the bounds of the node ``path``; False when they leave no value."""
        nonlocal lo, hi
        new_lo, new_hi = root_lo.copy(), root_hi.copy()
        for k, up, value in path:
            if up:
                new_lo[k] = max(new_lo[k], value)
            else:
                new_hi[k] = min(new_hi[k], value)
        if (new_lo > new_hi).any():
            return False
        changed = np.flatnonzero((new_lo != lo) | (new_hi != hi))
        cols, rows = changed[changed < n_int], changed[changed >= n_int]
        if len(cols):
            h.changeColsBounds(len(cols), ints[cols].astype(np.int32), new_lo[cols],
                               new_hi[cols])
        if len(rows):
            h.changeRowsBounds(len(rows), (rows - n_int + n_row).astype(np.int32),
                               new_lo[rows], new_hi[rows])
        lo, hi = new_lo, new_hi
        return True

    best, best_x, best_leaf, closed = -np.inf, None, (), -np.inf
    root_basis: Basis | None = None
    stack: list[tuple[tuple, float]] = [((), np.inf)]  # (decisions, parent's LP value)
    done: list[tuple] = []  # the closed nodes: the leaves of the tree
    nodes = from_leaves = 0
    if reused and leaves:  # on the neighbour's own LP: straight to its leaves, no root
        stack, from_leaves = [(leaf, np.inf) for leaf in reversed(leaves)], len(leaves)

    def closes(value: float) -> bool:  # a node of this LP value cannot beat the best plan
        return best > -np.inf and value - best <= gap_allowance(opts, best)

    def give_up(why: str) -> TreeResult:
        log.info("LP tree gave up after %d nodes (%s); HiGHS's MIP solver takes over",
                 nodes, why)
        return TreeResult(None, nodes, best_x, root_basis, why)

    while stack:
        path, parent = stack.pop()
        if closes(parent):  # closed before its LP is solved
            closed = max(closed, parent)
            done.append(path)
            continue
        if nodes >= limit:
            return give_up(f"node limit {limit}")
        if time.perf_counter() - t0 > budget:
            return give_up("half the time limit spent")
        if not move_to(path):  # no whole number between the bounds
            done.append(path)
            continue
        if np.isfinite(budget):  # no LP runs past the tree's half of the time limit
            h.setOptionValue("time_limit", max(budget - (time.perf_counter() - t0), 1e-3))
        run_interruptible(h.run, h.cancelSolve)
        nodes += 1
        status = termination_of(h)
        if status == "infeasible":
            if not path:
                return give_up("the LP relaxation is infeasible")
            done.append(path)
            continue
        if status != "optimal":
            return give_up(f"a node's LP ended {status}")
        if not path and keep_basis and not reused:
            b = basis_of(h)
            root_basis = None if b is None else (b[0], b[1][:n_row])  # no group rows
        z = float(h.getInfo().objective_function_value)
        if closes(z):
            closed = max(closed, z)
            done.append(path)
            continue
        sol = h.getSolution()
        x = np.asarray(sol.col_value, dtype=float)
        frac = np.abs(x[ints] - np.round(x[ints]))
        if not len(ints) or frac.max() <= INTEGRALITY:
            best, best_x, best_leaf = z, x, path
            done.append(path)
            continue
        if not path and leaves:  # go on from the neighbour's leaves, its best plan's first
            stack += [(leaf, z) for leaf in reversed(leaves)]
            from_leaves = len(leaves)
            continue
        sums = np.asarray(sol.row_value)[n_row:] if groups else None
        k, v, aim = _branch(x, ints, frac, groups, sums, guide)
        down, up = (k, False, float(np.floor(v))), (k, True, float(np.ceil(v)))
        first, second = (up, down) if aim > v else (down, up)
        stack += [(path + (second,), z), (path + (first,), z)]  # first is searched first
    if best_x is None:
        return give_up("no plan found")
    bound = max(best, closed)
    if bound - best > gap_allowance(opts, best):  # a negative best moved towards 0
        return give_up("bound outside the gap")
    lift_row_limits(h, group_rows)  # the group rows leave the final LP
    out = _polish(h, mm, opts, ints, best_x, best, bound, free, duals, nodes, root_basis, t0)
    out.from_leaves, out.reused = from_leaves, reused
    if out.solution is None:  # the rounded plan failed: nothing to pass on
        return out
    if keep_basis and structure is not None:
        out.lp = TreeLP(h, structure, signature)
    if not from_leaves or len(done) <= from_leaves:
        out.leaves = [best_leaf] + [leaf for leaf in done if leaf != best_leaf]
    # else the neighbour's leaves had to be split further (the plan moved): the next run
    # searches from its root again, and makes fewer leaves than these
    return out


def _reused(reuse: TreeLP | None, mm: MatrixModel, opts: SolveOptions, structure: str | None,
            signature: tuple, group_rows: np.ndarray, ints: np.ndarray,
            free: np.ndarray | None):
    """``reuse``'s HiGHS instance set up for ``mm`` — this objective, the bounds of ``mm``
    on every column and row a tree or its final LP changes, no limit on the group rows
    ``group_rows`` — or None when ``mm`` is not the same model but for its objective (or
    its groups, ``signature``, differ)."""
    if reuse is None or structure is None or reuse.structure != structure or \
            reuse.groups != signature:
        return None
    h = reuse.highs
    apply_options(h, opts)
    cols = np.arange(mm.num_col, dtype=np.int32)
    h.changeColsCost(mm.num_col, cols, mm.col_cost)
    h.changeObjectiveOffset(float(mm.offset))
    idx = ints.astype(np.int32)
    h.changeColsBounds(len(idx), idx, mm.col_lower[ints], mm.col_upper[ints])
    if free is not None and len(free):
        rows = np.asarray(free, dtype=np.int32)
        h.changeRowsBounds(len(rows), rows, mm.row_lower[free], mm.row_upper[free])
    lift_row_limits(h, group_rows)
    return h


def _branch(x: np.ndarray, ints: np.ndarray, frac: np.ndarray, groups: list[np.ndarray],
            sums: np.ndarray | None, guide: np.ndarray | None) -> tuple[int, float, float]:
    """What to branch on: the most fractional group sum if any is fractional, else the
    most fractional integer column; its index in the branched quantities (columns, then
    groups), its value, and the value to aim at (the guide's, else the nearest whole)."""
    if len(groups):
        off = np.abs(sums - np.round(sums))
        if off.max() > INTEGRALITY:
            g = int(np.argmax(off))
            aim = float(guide[groups[g]].sum()) if guide is not None else round(sums[g])
            return len(ints) + g, float(sums[g]), aim
    k = int(np.argmax(frac))
    v = float(x[ints[k]])
    return k, v, float(guide[ints[k]]) if guide is not None else round(v)


def _polish(h, mm: MatrixModel, opts: SolveOptions, ints: np.ndarray, x: np.ndarray,
            best: float, bound: float, free: np.ndarray | None, duals: bool, nodes: int,
            root_basis: Basis | None, t0: float) -> TreeResult:
    """The best plan with its integer columns fixed at their rounded values (strengthening
    rows ``free`` without limits): the LP once more, whose solution is the plan exactly.
    Without ``duals``, a plan ``x`` whose integer columns are whole already is optimal
    for that LP as it is (the strengthening rows cut off no plan, so they do not bind
    once the integer columns are fixed) and needs no LP.

    For ``duals`` it is solved afresh, so that the shadow prices (its row duals, where
    several exist) are those a MIP solve or any other route to the same plan gives;
    otherwise on the tree's HiGHS, from the last node's basis."""
    whole = np.round(x[ints])
    if not duals and np.array_equal(x[ints], whole):  # the leaf's LP optimum is the plan's
        bound = max(bound, best)
        res = MatrixSolution("optimal", "optimal", best, bound, relative_gap(bound, best), x,
                             times={"solve": time.perf_counter() - t0})
        return TreeResult(res, nodes, x, root_basis)
    if duals:
        h = to_highs(integers_fixed(mm, whole, free), replace(opts, time_limit=None))
    else:
        h.changeColsBounds(len(ints), ints.astype(np.int32), whole, whole)
        lift_row_limits(h, free)
        h.setOptionValue("time_limit", float("inf"))
    run_interruptible(h.run, h.cancelSolve)
    if termination_of(h) != "optimal":  # a plan within 1e-6 of whole numbers, not at them
        log.info("the LP tree's plan, rounded, ended %s; HiGHS's MIP solver takes over",
                 termination_of(h))
        return TreeResult(None, nodes, x, root_basis, "rounded plan not optimal")
    sol = h.getSolution()
    z = float(h.getInfo().objective_function_value)
    bound = max(bound, z)
    res = MatrixSolution("optimal", "optimal", z, bound, relative_gap(bound, z),
                         np.asarray(sol.col_value, dtype=float),
                         times={"solve": time.perf_counter() - t0})
    if duals and sol.dual_valid:
        res.row_dual = np.asarray(sol.row_dual, dtype=float)
    elif duals:
        log.warning("HiGHS gave no valid duals; shadow prices left blank")
    log.info("LP tree: optimum proved in %d nodes (bound %.6g, plan %.6g)", nodes, bound, z)
    return TreeResult(res, nodes, res.x, root_basis)
