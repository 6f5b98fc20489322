"""One-parameter sweeps: a run between two runs with the same integer plan is proved by one
LP (optmodel.solver.solve.prove_between), never by assuming.

The route-fed plant of tests/test_strengthening.py: ore reaches plant B by a route of
120 t/yr, B is built in units of 100 t/yr at 2000 USD each (max 2), metal sells at B for
p USD/t, which enters only the objective.  Integer plans: none (0), one unit at 100 t
(100p − 2000), two units at 120 t (120p − 4000).  So 0 units below p = 20, one unit for
20 … 100, two above 100 (both tie at 100).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_strengthening import route_fed_plant
from workbooks import write_input_workbook

from optmodel.model.build import build_model
from optmodel.model.data import build_model_data
from optmodel.pipeline import load_tables
from optmodel.solver.options import LinePoint, SolveOptions
from optmodel.solver.solve import solve_direct

EXACT = SolveOptions(mip_gap=0.0, mip_abs_gap=1e-6)


def _best(p: float) -> float:
    return max(0.0, 100 * p - 2000, 120 * p - 4000)


def _model(folder: Path, price: float, route_cap: float = 120.0, strengthen: bool = False):
    path = write_input_workbook(folder / f"p{price}_{route_cap}.xlsx",
                                route_fed_plant(route_cap=route_cap, price=price))
    return build_model(build_model_data(load_tables(path)), strengthen=strengthen)


def _solve(folder: Path, price: float, bracket=None, **kw):
    opts = dataclasses.replace(EXACT, line_point=f"p{price:g}", bracket=bracket)
    return solve_direct(_model(folder, price, **kw), opts)


def test_same_plan_at_both_ends_is_proved_by_one_lp(tmp_path: Path) -> None:
    # p = 30 and p = 90 both build one unit; p = 60 lies between: one unit, 100·60 − 2000
    # = 4000, proved (no MIP) with a bound of 4000 (the ends' bounds are exact: the
    # interpolation of 1000 and 7000 at t = 1/2 is 4000), so the gap is 0.
    left, right = _solve(tmp_path, 30.0), _solve(tmp_path, 90.0)
    assert left.point.integers.tolist() == right.point.integers.tolist() == [1.0]
    mid = _solve(tmp_path, 60.0, bracket=(left.point, right.point))
    assert mid.warm == "proved by convexity between p30 and p90"
    assert mid.objective_usd == pytest.approx(4000.0, abs=1e-6)
    assert mid.bound_usd == pytest.approx(4000.0, abs=1e-6) and mid.gap <= 1e-9
    assert mid.values["build"].sum() == pytest.approx(1.0)
    assert mid.duals  # the LP with the plan fixed gives the shadow prices


def test_different_plans_at_the_ends_solve_the_mip(tmp_path: Path) -> None:
    # p = 30 builds one unit, p = 150 two: no proof, the MIP runs and finds the optimum in
    # between (one unit at 60: 4000; two units at 120: 10400 > 10000).
    left, right = _solve(tmp_path, 30.0), _solve(tmp_path, 150.0)
    for p in (60.0, 120.0):
        mid = _solve(tmp_path, p, bracket=(left.point, right.point))
        assert not mid.warm.startswith("proved"), mid.warm
        assert mid.objective_usd == pytest.approx(_best(p), abs=1e-6)


def test_outside_the_segment_or_another_structure_is_not_proved(tmp_path: Path) -> None:
    # p = 200 is not between 30 and 90; a route of 150 t/yr changes a bound, not only
    # the objective: neither may use the ends' bounds.  Both are solved as MIPs.
    left, right = _solve(tmp_path, 30.0), _solve(tmp_path, 90.0)
    out = _solve(tmp_path, 200.0, bracket=(left.point, right.point))
    assert not out.warm.startswith("proved")
    assert out.objective_usd == pytest.approx(_best(200.0), abs=1e-6)
    other = _solve(tmp_path, 60.0, bracket=(left.point, right.point), route_cap=150.0)
    assert not other.warm.startswith("proved")
    assert other.objective_usd == pytest.approx(max(100 * 60 - 2000, 150 * 60 - 4000),
                                                abs=1e-6)


@pytest.mark.slow
@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(min_value=5, max_value=200), min_size=3, max_size=3, unique=True),
       st.booleans())
def test_a_proved_run_is_always_the_optimum(prices: list[int], strengthen: bool) -> None:
    # Property (any three prices, with or without the strengthening rows): the run between
    # the other two is the optimum, whether it was proved or solved.  A proof that
    # claimed a plan that is not optimal in the middle would fail here.
    import tempfile

    lo, mid, hi = sorted(float(p) for p in prices)
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        left = _solve(folder, lo, strengthen=strengthen)
        right = _solve(folder, hi, strengthen=strengthen)
        out = _solve(folder, mid, bracket=(left.point, right.point), strengthen=strengthen)
    assert out.objective_usd == pytest.approx(_best(mid), abs=1e-6)
    assert out.bound_usd >= _best(mid) - 1e-6


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20])
def test_line_order_solves_each_run_once_after_its_neighbours(n: int) -> None:
    # Simulate the engine: finish runs in the order given; every run is handed out exactly
    # once, the ends first, and each middle run only once both its neighbours are done
    # (the bracket holds their points, here their indices).
    from optmodel.batch.engine import LineOrder

    order = LineOrder(n)
    queue = [(i, None) for i in order.first()]
    seen = []
    while queue:
        i, bracket = queue.pop(0)
        if bracket is not None:
            a, b = bracket
            assert a in seen and b in seen and a < i < b
        seen.append(i)
        queue += order.finished(i, i)
    assert sorted(seen) == list(range(n))
    assert seen[:2] == sorted({0, n - 1})


def _without_the_tree(monkeypatch) -> None:
    """Batch runs in this process solve their MIPs with HiGHS's MIP solver alone (as when
    the LP tree gives up), so that a line is bisected and proved (LineOrder)."""
    import optmodel.pipeline as pipeline

    real = pipeline.solve_options
    monkeypatch.setattr(pipeline, "solve_options",
                        lambda *a, **k: dataclasses.replace(real(*a, **k), tree_nodes=0))


def test_line_order_hands_out_the_rest_when_the_tree_proved_both_ends() -> None:
    # Both ends proved by the LP tree (LinePoint.by_tree): every other run at once, in
    # order, without a bracket; one end not by the tree: bisection as before.
    from optmodel.batch.engine import LineOrder

    tree = LinePoint("x", "s", np.zeros(1), 0.0, 1.0, np.zeros(0), by_tree=True)
    mip = dataclasses.replace(tree, by_tree=False)
    order = LineOrder(6)
    assert order.first() == [0, 5]
    assert order.finished(0, tree) == []
    assert order.finished(5, tree) == [(m, None) for m in (1, 2, 3, 4)]
    assert all(order.finished(m, tree) == [] for m in (1, 2, 3, 4))
    order = LineOrder(6)
    order.first()
    order.finished(0, tree)
    assert order.finished(5, mip) == [(2, (tree, mip))]


@pytest.mark.parametrize("tree", [True, False])
def test_a_price_sweep_is_chained_or_proved(tree: bool, tmp_path: Path, monkeypatch) -> None:
    # The sweep engine on the route-fed plant, p = 30 … 90 in 5 runs (30, 45, 60, 75, 90):
    # one unit everywhere (100p − 2000), and every run's NPV is the hand optimum.
    # With the LP tree (the default) it proves both ends, so the middle runs are solved in
    # order, each from the previous one, none by convexity.  With the MIPs solved by
    # HiGHS (the tree off, as where it gives up), after both ends each middle run is
    # proved by one LP, and its Run sheet says so.
    import pandas as pd

    from optmodel.batch.engine import run_sweep

    if not tree:
        _without_the_tree(monkeypatch)
    path = write_input_workbook(tmp_path / "plant.xlsx", route_fed_plant(price=60.0))
    out = run_sweep(path, ["Markets|B_metal|*|*|*|*:price_usd_per_t=30:90:5"],
                    out_dir=tmp_path / "out", workers=1, page=False)
    assert out.exit_code == 0
    book = pd.read_excel(tmp_path / "out" / "batch.xlsx", sheet_name=None, engine="calamine")
    npv = book["Runs"]["npv_musd"].to_numpy()
    assert npv == pytest.approx([_best(p) / 1e6 for p in (30, 45, 60, 75, 90)], abs=1e-9)
    meta = book["Batch"].set_index("key")["value"]
    assert int(meta["runs_proved_by_neighbours"]) == (0 if tree else 3)
    run = pd.read_excel(tmp_path / "out" / "sweep_003.xlsx", sheet_name="Run",
                        engine="calamine").set_index("key")["value"]
    assert (run["warm_start"] == "proved by convexity between sweep_001 and sweep_005") \
        is not tree, run["warm_start"]


def test_sensitivity_samples_are_proved_between_equal_plans(tmp_path: Path, monkeypatch
                                                            ) -> None:
    # sensitivity's first round: the metal price 30 … 90 at 5 samples is a line; one unit
    # at every sample (100p − 2000), so after both ends the 3 middle samples are proved by
    # one LP each (the MIPs by HiGHS: the tree off); no flip is found and the NPVs are the
    # hand optimum.
    import optmodel.batch.engine as engine
    from optmodel.batch.sensitivity import run_sensitivity

    _without_the_tree(monkeypatch)

    real, how = engine.solve_run, {}

    def recording(job, run, bracket=None):
        res = real(job, run, bracket)
        how[run.name] = res[0].warm
        return res

    monkeypatch.setattr(engine, "solve_run", recording)
    path = write_input_workbook(tmp_path / "plant.xlsx", route_fed_plant(price=60.0))
    res = run_sensitivity(path, ["Markets|B_metal|*|*|*|*:price_usd_per_t=30:90"],
                          points=5, output=tmp_path / "sens.xlsx", workers=1)
    assert sum(h.startswith("proved") for h in how.values()) == 3, how
    pts = sorted((p for p in res.screening.points if p.param == 0), key=lambda p: p.value)
    assert [p.npv_musd for p in pts] == pytest.approx(
        [_best(p.value) / 1e6 for p in pts], abs=1e-9)
    assert not res.screening.brackets
