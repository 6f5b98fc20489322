"""Warm starts (SolveOptions.start, optmodel.solver.solve): same optimum, matched by keys.

The route-fed plant of tests/test_strengthening.py: ore reaches plant B by a route of
120 t/yr, B is built in units of 100 t/yr at 2000 USD each (max 2), metal sells at
B for p USD/t.  Integer plans: none (0), one unit at 100 t (100p − 2000), two units
at 120 t (120p − 4000); the optimum is the largest of the three.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from test_strengthening import route_fed_plant
from tinycase import tiny_sheets, write_input
from workbooks import read_result_workbook, write_input_workbook

from optmodel.model.build import build_model
from optmodel.model.data import build_model_data
from optmodel.pipeline import load_tables
from optmodel.solver.highs import assemble, integers_fixed, solve_matrix
from optmodel.solver.options import SolveOptions, WarmStart
from optmodel.solver.solve import _strengthening_rows, solve_direct, start_columns

EXACT = SolveOptions(mip_gap=0.0)


def _model(path: Path, strengthen: bool = True):
    return build_model(build_model_data(load_tables(path)),
                       strengthen=strengthen)


def _best(p: float) -> float:
    return max(0.0, 100 * p - 2000, 120 * p - 4000)


@pytest.mark.parametrize("strengthen", [True, False])
def test_price_sweep_warm_equals_hand_optimum(strengthen: bool, tmp_path: Path) -> None:
    # Prices up and down again: 0 units at 10, 1 unit at 30 (1000), 2 units at 150
    # (14000 > 13000).  Each solve starts from the previous one; each must be optimal,
    # and its shadow prices those of the LP with its builds fixed (where that LP has
    # several dual solutions a cold solve may report another one).
    start = WarmStart()
    hows = []
    for i, p in enumerate((10.0, 30.0, 150.0, 30.0, 10.0, 150.0)):
        path = write_input_workbook(tmp_path / f"p{i}.xlsx", route_fed_plant(price=p))
        bm = _model(path, strengthen)
        sol = solve_direct(bm, dataclasses.replace(EXACT, start=start))
        assert sol.objective_usd == pytest.approx(_best(p), rel=1e-7, abs=1e-6), p
        assert sol.status == "optimal" and sol.start is not None
        cold = solve_direct(bm, EXACT)
        assert cold.objective_usd == pytest.approx(sol.objective_usd, rel=1e-9, abs=1e-9)
        mm = assemble(bm)
        x = np.concatenate([sol.values[f] for f in bm.vars])
        # the LP with the builds fixed, solved afresh as every shadow-price LP (no presolve)
        fixed = integers_fixed(mm, np.round(x[mm.integer]), _strengthening_rows(bm, mm))
        y = solve_matrix(fixed, dataclasses.replace(EXACT, presolve=False), duals=True).row_dual
        for name, yy in mm.family_rows(y, bm).items():
            np.testing.assert_allclose(sol.duals[name], yy, rtol=1e-7, atol=1e-6)
        hows.append(sol.warm)
        start = sol.start
    # with the cut the relaxation is exact here (test_strengthening): every run is an LP
    if strengthen:
        assert all(h.startswith("LP relaxation integral") for h in hows), hows
        # the next run takes over the neighbour's LP (only the objective differs)
        assert all("on the neighbour's LP" in h for h in hows[1:]), hows
    else:  # the plain relaxation builds 1.2 units at 150: the LP tree branches, and the
        # next fractional run (150 again after 30 and 10) searches on from leaves
        assert any(h.startswith("LP tree of ") for h in hows), hows
        assert any("(on from 2 leaves)" in h for h in hows), hows


def test_trees_that_give_up_are_skipped_until_the_retry(tmp_path: Path) -> None:
    # The plain model (no cut), whose relaxation builds 1.2 units at p = 150 (fractional)
    # and nothing at p = 10 (integral), with a tree of one node (the root alone: it
    # proves an integral relaxation and gives up on a fractional one).  A chain of
    # warm-started runs: the first tries the tree and it gives up; the next LP_RETRY − 1 go
    # straight to HiGHS's MIP solver (no tree tried); the LP_RETRY-th tries it again (at
    # p = 10: integral, so the count starts over and the next run tries it too).  Every
    # run is optimal.
    from optmodel.solver.options import LP_RETRY

    prices = [150.0] * LP_RETRY + [10.0, 10.0]
    start, hows, misses = WarmStart(), [], []
    for i, p in enumerate(prices):
        path = write_input_workbook(tmp_path / f"p{i}.xlsx", route_fed_plant(price=p))
        sol = solve_direct(_model(path, strengthen=False),
                           dataclasses.replace(EXACT, start=start, tree_nodes=1))
        assert sol.status == "optimal"
        assert sol.objective_usd == pytest.approx(_best(p), rel=1e-7, abs=1e-6), p
        hows.append(sol.warm)
        misses.append(sol.start.lp_misses)
        start = sol.start
    assert hows[0] == "HiGHS MIP (LP tree gave up: node limit 1)", hows
    assert hows[1:LP_RETRY] == ["HiGHS MIP, from a MIP start"] * (LP_RETRY - 1), hows
    assert hows[LP_RETRY].startswith("LP relaxation integral"), hows
    assert hows[LP_RETRY + 1].startswith("LP relaxation integral"), hows
    assert misses == list(range(1, LP_RETRY + 1)) + [0, 0], misses


def test_a_start_with_other_bounds_starts_from_the_basis(tmp_path: Path) -> None:
    # Two models that differ in a bound (the route's capacity: 120 then 150 t/yr), not
    # only in their objective: the second cannot take over the first one's LP, and starts
    # its root LP from the first one's basis matched by keys.  Hand optimum of the second
    # (plain model, price 150): 150 t through the route fill 1.5 units; 2 units cost
    # 2·2000 = 4000 and earn 150·150 = 22500 → 18500; 1 unit earns 100·150 − 2000 =
    # 13000; so 2 units, 18500.
    first = solve_direct(_model(write_input_workbook(
        tmp_path / "a.xlsx", route_fed_plant(price=150.0)), strengthen=False),
        dataclasses.replace(EXACT, start=WarmStart()))
    second = solve_direct(_model(write_input_workbook(
        tmp_path / "b.xlsx", route_fed_plant(route_cap=150.0, price=150.0)), strengthen=False),
        dataclasses.replace(EXACT, start=first.start))
    assert second.objective_usd == pytest.approx(18500.0, rel=1e-9)
    assert "from the basis" in second.warm and "neighbour's LP" not in second.warm, second.warm


def test_start_matched_by_keys_not_position(tmp_path: Path) -> None:
    # A second model with an extra build option named so that it sorts first: every
    # column of "smelter" moves, and the start must still land on it.
    a = _model(write_input_workbook(tmp_path / "a.xlsx", route_fed_plant(price=150.0)))
    sol = solve_direct(a, dataclasses.replace(EXACT, start=WarmStart()))
    sheets = route_fed_plant(price=150.0)
    sheets["BuildOptions"].insert(0, dict(sheets["BuildOptions"][0], option="a_small",
                                          unit_capacity=10))
    b = _model(write_input_workbook(tmp_path / "b.xlsx", sheets))
    mm = assemble(b)
    x = start_columns(mm, b, sol.start.values)
    builds = mm.family_values(x, b)["build"]
    by_option = dict(zip(b.vars["build"].index["option"], builds, strict=True))
    assert by_option == {"a_small": 0.0, "smelter": 2.0}
    # the two-unit plan is a feasible start for b, and b's optimum is still found
    got = solve_direct(b, dataclasses.replace(EXACT, start=sol.start))
    assert got.objective_usd == pytest.approx(14000.0, rel=1e-7)


def test_an_infeasible_start_is_ignored(tmp_path: Path) -> None:
    # A start that breaks rows (3 units where 2 are allowed, 500 t through a 120 t
    # route) on the plain model, handed to HiGHS's MIP solver (the tree switched off) and
    # to the tree (which takes it as a guide only): the answer is the optimum all the same.
    bm = _model(write_input_workbook(tmp_path / "p.xlsx", route_fed_plant(price=150.0)),
                strengthen=False)
    bad = WarmStart(values={"build": {("smelter", 2030): 3.0},
                            "act": {("A", "mine", 2030): 500.0, ("B", "smelt", 2030): 500.0}})
    for nodes in (0, 64):
        sol = solve_direct(bm, dataclasses.replace(EXACT, start=bad, tree_nodes=nodes))
        assert sol.objective_usd == pytest.approx(14000.0, rel=1e-7)
        assert sol.values["build"].tolist() == pytest.approx([2.0])
        assert sol.method.startswith("HiGHS MIP, " if nodes == 0 else "LP tree"), sol.method


def test_batch_runs_warm_start_from_the_previous_run(tmp_path: Path) -> None:
    # A sweep in this process: the second run's Run sheet says how its warm start was
    # used, and its NPV is that of a single solve of the same change.
    from optmodel.batch.engine import run_sweep
    from optmodel.pipeline import solve_workbook

    sheets = tiny_sheets()
    sheets["Scenarios"] = []
    path = write_input(tmp_path / "tiny.xlsx", sheets)
    out = run_sweep(path, ["Settings|discount_rate:value=0.05:0.08:2"], out_dir=tmp_path,
                    workers=1, mip_gap=0.0, page=False)
    assert out.exit_code == 0
    run = read_result_workbook(tmp_path / "sweep_002.xlsx")["Run"]
    kv = dict(zip(run["key"], run["value"], strict=True))
    warm = str(kv.get("warm_start", ""))
    assert any(w in warm for w in ("on the neighbour's LP", "from the basis",
                                   "from a MIP start")), kv
    assert kv["solve_method"] == warm
    for row in sheets["Settings"]:
        if row["key"] == "discount_rate":
            row["value"] = 0.08  # the second sweep point (the base has 0.1)
    single = solve_workbook(write_input(tmp_path / "by_hand.xlsx", sheets),
                            tmp_path / "by_hand_results.xlsx", mip_gap=0.0)
    assert out.results[1].kpis["npv_musd"] == pytest.approx(single.summary["npv_musd"],
                                                            rel=1e-9, abs=1e-9)
