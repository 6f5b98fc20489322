"""The LP tree (optmodel.solver.tree): a small branch and bound over LP relaxations that
proves a single run's optimum before HiGHS's MIP solver is asked.

Correctness first: a hand-derived optimum that needs branching, the node limit handing
the model to HiGHS, and a property against HiGHS's MIP solver on random small MIPs.
The known-answer workbooks (OR-Library, RELOG, the per-family cases) go through the tree
in their own tests, since it is on by default; test_mip_parity_over_known_workbooks
solves them with the tree switched off as well.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optmodel.solver.highs import Csc, MatrixModel, solve_matrix
from optmodel.solver.options import SolveOptions
from optmodel.solver.tree import gap_allowance, search_tree

EXACT = SolveOptions(mip_gap=0.0, duals=False)


def _model(cost, rows, lower, upper, col_upper, integer) -> MatrixModel:
    a = np.asarray(rows, dtype=float)
    m, n = a.shape
    r, c = np.nonzero(a)
    return MatrixModel(
        col_offset={"x": 0}, row_offset={"r": 0},
        col_cost=np.asarray(cost, dtype=float), col_lower=np.zeros(n),
        col_upper=np.asarray(col_upper, dtype=float), integer=np.asarray(integer, dtype=bool),
        row_lower=np.asarray(lower, dtype=float), row_upper=np.asarray(upper, dtype=float),
        a=Csc.from_coo(r, c, a[r, c], m, n))


def _knapsack() -> MatrixModel:
    # max 5a + 4b + 3c  s.t.  2a + 3b + c ≤ 5,  4a + b + 2c ≤ 11,  3a + 4b + 2c ≤ 8,
    # a + c ≤ 2.5, a, b, c whole numbers in 0..10.  By hand, a + c ≤ 2:
    #   a = 2, c = 0: 3b ≤ 1 → b = 0, value 10;   a = 1, c = 1: 3b ≤ 2 → b = 0, value 8;
    #   a = 0, c = 2: 3b ≤ 3, 4b ≤ 4 → b = 1, 10;  a = 1, c = 0: 3b ≤ 3 → b = 1, 9;
    #   a = 0, c = 1: 3b ≤ 4 → b = 1, 7;          a = 0, c = 0: b = 1, 4;
    #   a ≥ 3 breaks 2a ≤ 5.
    # The optimum is 10 (two plans; the test checks the value); _brute agrees, and the LP
    # relaxation is above it (checked), so the tree must branch.
    return _model([5, 4, 3], [[2, 3, 1], [4, 1, 2], [3, 4, 2], [1, 0, 1]],
                  [-np.inf] * 4, [5, 11, 8, 2.5], [10, 10, 10], [True] * 3)


def _brute(mm: MatrixModel) -> float:
    best = -np.inf
    dense = np.zeros(mm.a.shape)
    r, c, v = mm.a.coo()
    dense[r, c] = v
    grids = np.meshgrid(*[np.arange(int(u) + 1) for u in mm.col_upper], indexing="ij")
    points = np.stack([g.ravel() for g in grids], axis=1).astype(float)
    ax = points @ dense.T
    ok = np.all((ax >= mm.row_lower - 1e-9) & (ax <= mm.row_upper + 1e-9), axis=1)
    if ok.any():
        best = float((points[ok] @ mm.col_cost).max())
    return best


def test_knapsack_needs_branching_and_gets_the_enumerated_optimum() -> None:
    mm = _knapsack()
    assert _brute(mm) == 10.0
    relax = solve_matrix(dataclasses.replace(mm, integer=np.zeros(3, dtype=bool)), EXACT)
    assert relax.objective > 10.0 + 1e-6  # the root is fractional: branching is needed
    tree = search_tree(mm, EXACT)
    assert tree.solution is not None and tree.nodes > 1
    assert tree.solution.objective == pytest.approx(10.0, abs=1e-9)
    assert np.allclose(tree.solution.x, np.round(tree.solution.x))
    # the bound: every node closed had an LP value ≤ 10 (gap 0): the bound is the optimum
    assert tree.solution.bound == pytest.approx(10.0, abs=1e-9)


def test_a_group_branch_closes_what_takes_columns_several_levels() -> None:
    # max 10(a + b + c) − 11·u  s.t.  a + b + c ≤ 3u (a unit u serves three years' output),
    # 2a + 2b + 2c ≤ 3 (the market), a, b, c, u ∈ {0, 1}.  By hand: u = 0 forces
    # a = b = c = 0, value 0; u = 1 allows a + b + c ≤ 1 (2·2 > 3), value 10 − 11 = −1.
    # Optimum 0: build nothing.  The relaxation (HiGHS: b = 0.5, c = 1, u = 0.5, value 9.5)
    # spreads 1.5 units over the years; branching year by year takes 17 nodes, branching
    # on the sum a + b + c first (≤ 1 or ≥ 2) takes 5 (counted when this was written; the
    # test asserts fewer, not the counts).
    mm = _model([10, 10, 10, -11], [[1, 1, 1, -3], [2, 2, 2, 0]], [-np.inf, -np.inf],
                [0, 3], [1, 1, 1, 1], [True] * 4)
    assert _brute(mm) == 0.0
    plain = search_tree(mm, EXACT)
    grouped = search_tree(mm, EXACT, groups=[np.array([0, 1, 2])])
    assert plain.solution.objective == grouped.solution.objective == pytest.approx(0.0)
    assert grouped.nodes < plain.nodes, (grouped.nodes, plain.nodes)


def test_the_node_limit_hands_over_with_the_best_plan_found() -> None:
    mm = _knapsack()
    tree = search_tree(mm, dataclasses.replace(EXACT, tree_nodes=1))
    assert tree.solution is None and tree.nodes == 1 and tree.why == "node limit 1"
    assert tree.plan is None  # the root alone found no whole-number plan


def test_the_tree_keeps_to_half_the_time_limit() -> None:
    # With a time limit the tree gets half of it (HiGHS's MIP solver the rest): a limit
    # far below one LP's time leaves it no node to solve, and it says why.
    tree = search_tree(_knapsack(), dataclasses.replace(EXACT, time_limit=1e-9))
    assert tree.solution is None and tree.nodes == 0
    assert tree.why == "half the time limit spent"


def test_infeasible_model_is_left_to_the_mip_solver() -> None:
    # x + y ≥ 3 with x, y ≤ 1: the relaxation is infeasible; the tree proves nothing
    mm = _model([1, 1], [[1, 1]], [3], [np.inf], [1, 1], [True, True])
    tree = search_tree(mm, EXACT)
    assert tree.solution is None and tree.why == "the LP relaxation is infeasible"


def test_no_whole_number_point_is_left_to_the_mip_solver() -> None:
    # 2x = 1 has the LP solution x = 0.5 and no whole-number one: both children are
    # infeasible, no plan is found, and the tree says so instead of an answer
    mm = _model([1], [[2]], [1], [1], [5], [True])
    tree = search_tree(mm, EXACT)
    assert tree.solution is None and tree.why == "no plan found" and tree.nodes == 3


def test_gap_allowance_is_highs_rule() -> None:
    # HiGHS stops when bound − best ≤ max(mip_abs_gap, mip_rel_gap·|best|); with the
    # default absolute gap (1e-6 when the relative gap is positive, 0 when it is 0)
    assert gap_allowance(SolveOptions(mip_gap=1e-4), 1e6) == pytest.approx(100.0)
    assert gap_allowance(SolveOptions(mip_gap=1e-4), -1e6) == pytest.approx(100.0)
    assert gap_allowance(SolveOptions(mip_gap=1e-4), 0.0) == pytest.approx(1e-6)
    assert gap_allowance(SolveOptions(mip_gap=0.0, mip_abs_gap=2.0), 5.0) == 2.0
    # with a gap of 0, ties within the LPs' rounding (1e-9 relative, at least 1e-9) close
    assert gap_allowance(SolveOptions(mip_gap=0.0), 5.0) == pytest.approx(5e-9)
    assert gap_allowance(SolveOptions(mip_gap=0.0), 0.1) == pytest.approx(1e-9)


@st.composite
def _small_mips(draw) -> MatrixModel:
    n = draw(st.integers(2, 4))
    m = draw(st.integers(1, 4))
    coef = st.integers(-3, 6)
    rows = [[draw(coef) for _ in range(n)] for _ in range(m)]
    upper = [draw(st.integers(1, 12)) + draw(st.sampled_from([0.0, 0.5])) for _ in range(m)]
    cost = [draw(st.integers(-5, 9)) for _ in range(n)]
    col_upper = [draw(st.integers(1, 4)) for _ in range(n)]
    return _model(cost, rows, [-np.inf] * m, upper, col_upper, [True] * n)


_GROUPS = st.lists(st.lists(st.integers(0, 3), min_size=2, max_size=4, unique=True),
                   max_size=2)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mm=_small_mips(), gap=st.sampled_from([0.0, 1e-4, 0.05]), groups=_GROUPS)
def test_tree_matches_enumeration_within_its_gap(mm: MatrixModel, gap: float,
                                                 groups: list) -> None:
    # Property: over every whole-number point (brute force), when the tree proves an
    # optimum its plan is feasible, its value v is within the gap of the true optimum V
    # (V − v ≤ max(abs gap, gap·|v|)) and its bound is ≥ V; when no whole-number point
    # exists, the tree never claims one.  With or without branching groups (any set of
    # integer columns has a whole-number sum in every plan).
    opts = dataclasses.replace(EXACT, mip_gap=gap)
    best = _brute(mm)
    groups = [np.array([j for j in g if j < mm.num_col]) for g in groups]
    tree = search_tree(mm, opts, groups=[g for g in groups if len(g) > 1])
    if not np.isfinite(best):
        assert tree.solution is None
        return
    if tree.solution is None:  # gave up (node limit): allowed, HiGHS then solves it
        assert tree.why.startswith("node limit"), tree.why
        return
    x = tree.solution.x
    assert np.allclose(x, np.round(x)) and np.all(x >= -1e-9) and np.all(x <= mm.col_upper + 1e-9)
    ax = mm.a.dot(x)
    assert np.all(ax <= mm.row_upper + 1e-7)
    v = tree.solution.objective
    assert v == pytest.approx(float(mm.col_cost @ x), abs=1e-7)
    assert v <= best + 1e-7
    assert best - v <= gap_allowance(opts, v) + 1e-7
    assert tree.solution.bound >= best - 1e-7


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mm=_small_mips(), other=st.lists(st.integers(-5, 9), min_size=4, max_size=4),
       bounds=st.lists(st.integers(0, 4), min_size=4, max_size=4), groups=_GROUPS)
def test_search_from_a_neighbours_leaves_matches_enumeration(mm: MatrixModel, other: list,
                                                             bounds: list,
                                                             groups: list) -> None:
    # Property: the leaves of a tree proved for one objective cover every plan, so a search
    # that starts from them finds the optimum of any other objective, and with other
    # column bounds (here the upper bounds changed as well, which a partition by decisions
    # must survive): its value equals the enumerated optimum (gap 0).  Decisions on group
    # sums as well as on columns.
    groups = [g for g in ([j for j in g if j < mm.num_col] for g in groups) if len(g) > 1]
    groups = [np.array(g) for g in groups]
    first = search_tree(mm, EXACT, groups=groups)
    if first.solution is None:
        return
    assert first.leaves and first.leaves[0] is not None
    n = mm.num_col
    moved = dataclasses.replace(mm, col_cost=np.asarray(other[:n], dtype=float),
                                col_upper=np.asarray(bounds[:n], dtype=float))
    best = _brute(moved)
    again = search_tree(moved, EXACT, leaves=first.leaves, groups=groups)
    if not np.isfinite(best):
        assert again.solution is None
        return
    if again.solution is None:
        assert again.why.startswith("node limit"), again.why
        return
    assert again.solution.objective == pytest.approx(best, abs=1e-7)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mm=_small_mips(), costs=st.lists(st.lists(st.integers(-5, 9), min_size=4, max_size=4),
                                        min_size=1, max_size=3),
       groups=_GROUPS, duals=st.booleans())
def test_a_chain_on_one_highs_instance_matches_enumeration(mm: MatrixModel, costs: list,
                                                           groups: list, duals: bool) -> None:
    # Property: runs that differ only in their objective, each taking over the previous
    # run's HiGHS instance (TreeLP: its bounds put back, the new costs set) and going on
    # from its leaves (no root LP then), each find the enumerated optimum of their own
    # objective (gap 0), and say they took it over.
    groups = [g for g in ([j for j in g if j < mm.num_col] for g in groups) if len(g) > 1]
    groups = [np.array(g) for g in groups]
    opts = dataclasses.replace(EXACT, duals=duals)
    tree = search_tree(mm, opts, groups=groups, keep_basis=True, structure="same")
    lp = tree.lp if tree.solution is not None else None
    leaves = tree.leaves
    for c in costs:
        moved = dataclasses.replace(mm, col_cost=np.asarray(c[:mm.num_col], dtype=float))
        best = _brute(moved)
        tree = search_tree(moved, opts, groups=groups, keep_basis=True, structure="same",
                           reuse=lp, leaves=leaves)
        if tree.solution is None:  # no plan, or the node limit: HiGHS would take over
            assert not np.isfinite(best) or tree.why.startswith("node limit"), tree.why
            lp, leaves = None, None
            continue
        assert tree.reused == (lp is not None)
        assert tree.solution.objective == pytest.approx(best, abs=1e-7)
        lp, leaves = tree.lp, tree.leaves


def test_another_structure_does_not_take_over_the_instance() -> None:
    # The knapsack's instance is not taken over by a model whose digest differs (here a
    # bound), nor by the same model with other groups: each gets a HiGHS of its own.
    mm = _knapsack()
    first = search_tree(mm, EXACT, keep_basis=True, structure="a")
    other = dataclasses.replace(mm, col_upper=np.array([1.0, 10.0, 10.0]))
    assert not search_tree(other, EXACT, structure="b", reuse=first.lp).reused
    assert not search_tree(mm, EXACT, structure="a", reuse=first.lp,
                           groups=[np.array([0, 2])]).reused
    again = search_tree(mm, EXACT, structure="a", reuse=first.lp)
    assert again.reused and again.solution.objective == pytest.approx(10.0)


def test_a_warm_chain_searches_on_from_the_leaves(tmp_path: Path) -> None:
    # The plain knapsack, then the same with other profits: the second search starts from
    # the first one's leaves (and says so) and still finds the enumerated optimum.
    mm = _knapsack()
    first = search_tree(mm, EXACT)
    assert first.solution is not None and len(first.leaves) > 1
    moved = dataclasses.replace(mm, col_cost=np.array([5.0, 5.0, 3.0]))
    again = search_tree(moved, EXACT, leaves=first.leaves)
    assert again.solution.objective == pytest.approx(_brute(moved), abs=1e-9)
    assert again.from_leaves == len(first.leaves)
    # on the first search's own HiGHS instance: from the leaves without a root LP, and
    # the same optimum
    kept = search_tree(mm, EXACT, keep_basis=True, structure="k")
    on = search_tree(moved, EXACT, leaves=kept.leaves, reuse=kept.lp, structure="k")
    assert on.reused and on.from_leaves == len(kept.leaves)
    assert on.solution.objective == pytest.approx(_brute(moved), abs=1e-9)


def test_solve_direct_records_how_and_hands_over(tmp_path: Path) -> None:
    # The same workbook solved three ways gives one optimum: by the tree (Run sheet
    # solve_method "LP tree of N nodes" or "LP relaxation integral"), by HiGHS's MIP
    # solver alone (tree_nodes 0: "HiGHS MIP"), and by a tree stopped at its root
    # ("HiGHS MIP (LP tree gave up: node limit 1)").
    from test_strengthening import route_fed_plant
    from workbooks import write_input_workbook

    from optmodel.model.build import build_model
    from optmodel.model.data import build_model_data
    from optmodel.pipeline import load_tables
    from optmodel.solver.solve import solve_direct

    path = write_input_workbook(tmp_path / "p.xlsx", route_fed_plant(price=150.0))
    bm = build_model(build_model_data(load_tables(path)), strengthen=False)
    tree = solve_direct(bm, EXACT)
    mip = solve_direct(bm, dataclasses.replace(EXACT, tree_nodes=0))
    cut = solve_direct(bm, dataclasses.replace(EXACT, tree_nodes=1))
    # 2 units at p = 150 earn 14000 (tests/test_warm_start.py derives it); the plain
    # relaxation builds 1.2 units, so the tree branches
    for sol in (tree, mip, cut):
        assert sol.objective_usd == pytest.approx(14000.0, rel=1e-9)
        assert sol.status == "optimal"
    assert tree.method.startswith("LP tree of "), tree.method
    assert mip.method == "HiGHS MIP"
    assert cut.method == "HiGHS MIP (LP tree gave up: node limit 1)"


# ------------------------------------------------- known answers: the tree against HiGHS


def _tree_and_mip(path: Path) -> tuple:
    """The workbook solved exactly with the tree (the default) and by HiGHS's MIP solver
    alone (tree_nodes 0): both outcomes."""
    from optmodel.model.build import build_model
    from optmodel.model.data import build_model_data
    from optmodel.pipeline import load_tables
    from optmodel.solver.solve import solve_direct

    bm = build_model(build_model_data(load_tables(path)))
    tree = solve_direct(bm, EXACT)
    mip = solve_direct(bm, dataclasses.replace(EXACT, tree_nodes=0))
    assert mip.method == "HiGHS MIP"
    assert tree.objective_usd == pytest.approx(mip.objective_usd, rel=1e-9, abs=1e-6)
    return tree, mip


def test_mip_parity_chain_and_facility_location(tmp_path: Path) -> None:
    # The paper-derived chain and eight small facility-location problems (their optima
    # checked by enumeration in test_known_optima): the tree's optimum is HiGHS's.  Not
    # vacuous: some of them are proved by the tree with branching.
    from test_chain_by_hand import chain_sheets
    from test_known_optima import _random_problem
    from workbooks import facility_location_sheets, write_input_workbook

    methods = [_tree_and_mip(write_input_workbook(tmp_path / "chain.xlsx",
                                                  chain_sheets()))[0].method]
    for seed in range(1, 9):
        path = write_input_workbook(tmp_path / f"fl_{seed}.xlsx",
                                    facility_location_sheets(_random_problem(seed)))
        methods.append(_tree_and_mip(path)[0].method)
    assert any(m.startswith("LP tree of ") for m in methods), methods


@pytest.mark.slow
def test_mip_parity_orlib_cap_and_relog(tmp_path: Path) -> None:
    # OR-Library capacitated facility location (published optima) and RELOG s1: the
    # tree (or HiGHS after it, where it gives up) reaches the published optimum.
    from test_known_optima import CAP_INSTANCES, OPTIMA
    from workbooks import (
        ORLIB_CAP,
        RELOG_S1,
        cap_instance_workbook,
        relog_s1_sheets,
        write_input_workbook,
    )

    for instance in CAP_INSTANCES[:6]:
        tree, _ = _tree_and_mip(cap_instance_workbook(tmp_path / f"{instance}.xlsx",
                                                      ORLIB_CAP / instance))
        assert -tree.objective_usd == pytest.approx(OPTIMA[instance], rel=1e-7, abs=1e-3)
    _tree_and_mip(write_input_workbook(tmp_path / "relog.xlsx", relog_s1_sheets(RELOG_S1)))
