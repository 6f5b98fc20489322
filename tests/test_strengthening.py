"""The strengthened formulation (process_capacity_cut, optmodel.model.bounds) is valid.

1. :func:`max_flow` and :func:`activity_bounds` on hand-derived cases.
2. A hand-derived cut: a route of 120 t/yr feeds a plant built in units of 100;
   U = 120, so the cut reads act ≤ 20·u + 80 and the LP relaxation may no longer
   build 1.2 units.
3. Same optimum (mip_gap 0) with and without the strengthening on every
   known-answer workbook: OR-Library cap instances, RELOG s1, the paper chain,
   the small facility-location problems, and on random small networks
   (hypothesis); and the untightened optimum itself meets every cut row.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_chain_by_hand import chain_sheets
from test_known_optima import CAP_INSTANCES, OPTIMA, _random_problem
from test_properties import random_network
from workbooks import (
    ORLIB_CAP,
    RELOG_S1,
    cap_instance_workbook,
    facility_location_sheets,
    relog_s1_sheets,
    settings_rows,
    write_input_workbook,
)

from optmodel.model.bounds import activity_bounds, max_flow
from optmodel.model.build import STRENGTHENING_FAMILIES, build_model
from optmodel.model.data import build_model_data
from optmodel.pipeline import load_tables
from optmodel.solver.highs import assemble, solve_matrix
from optmodel.solver.options import SolveOptions
from optmodel.solver.solve import solve_direct

EXACT = SolveOptions(mip_gap=0.0, duals=False)


def _data(path: Path):
    return build_model_data(load_tables(path))


def _both(path: Path):
    """(optimum plain, optimum strengthened, plain outcome, strengthened model)."""
    data = _data(path)
    plain = build_model(data, strengthen=False)
    strong = build_model(data, strengthen=True)
    a, b = solve_direct(plain, EXACT), solve_direct(strong, EXACT)
    return a.objective_usd, b.objective_usd, a, strong


def _cut_slack(strong, values: dict[str, np.ndarray]) -> np.ndarray:
    """upper − body of every strengthening row at the given plan (≥ 0: the plan meets it)."""
    out = [np.zeros(0)]
    for name in STRENGTHENING_FAMILIES:
        fam = strong.cons.get(name)
        if fam is None:
            continue
        t = fam.terms
        x = np.array([values[f][v] for f, v in zip(t["fam"], t["vid"], strict=True)])
        body = np.bincount(t["con"].to_numpy(), weights=t["coef"].to_numpy() * x,
                           minlength=len(fam))
        out.append(fam.upper - body)
    return np.concatenate(out)


def _assert_same_optimum(path: Path) -> int:
    plain, strong, outcome, bm = _both(path)
    assert strong == pytest.approx(plain, rel=1e-8, abs=1e-4)
    slack = _cut_slack(bm, outcome.values)
    assert (slack >= -1e-6 * np.maximum(1.0, np.abs(slack))).all(), slack.min()
    return len(slack)


def _lp_relaxation(bm) -> float:
    mm = assemble(bm)
    lp = dataclasses.replace(mm, integer=np.zeros(mm.num_col, dtype=bool))
    res = solve_matrix(lp, EXACT)
    assert res.status == "optimal"
    return res.objective


# ----------------------------------------------------------------- hand-derived


def test_max_flow_hand_case() -> None:
    # 0 → 1 (cap 5), 0 → 2 (cap 3), 1 → 3 (cap 4), 2 → 3 (unlimited), 1 → 2 (cap 1).
    # Source 10 at node 0, sink node 3: min cut {0→1 after 1→3 (4) + 1→2 (1)} vs
    # {0→1, 0→2} = 8 → flow = min(4 + min(1 + 3, ...)) = 4 + 3 + 1 = 8, capped by
    # the cut {0→1, 0→2} = 8.
    edges = [(0, 1, 5.0), (0, 2, 3.0), (1, 3, 4.0), (2, 3, math.inf), (1, 2, 1.0)]
    assert max_flow(edges, {0: 10.0}, {3: math.inf}, 4) == pytest.approx(8.0)
    assert max_flow(edges, {0: 6.0}, {3: math.inf}, 4) == pytest.approx(6.0)
    # an unlimited source on an unlimited path: no bound
    assert max_flow([(0, 1, math.inf)], {0: math.inf}, {1: math.inf}, 2) == math.inf
    assert max_flow([], {0: 5.0}, {1: 5.0}, 2) == 0.0


def route_fed_plant(route_cap: float = 120.0, price: float = 100.0) -> dict:
    """Ore mined at A (existing 500 t/yr) reaches plant B only by a route of ``route_cap``
    t/yr; B processes 1 t ore → 1 t metal in units of 100 t/yr (capex 0.002 MUSD,
    max 2 units); metal sells at B for ``price`` (no limit).  One year, discount 0."""
    return {
        "Settings": settings_rows(2030, 2030, 0.0),
        "Nodes": [{"node": "A", "kind": "mine"}, {"node": "B", "kind": "plant"}],
        "Products": [{"product": "ore", "stage": 0, "reo_content": 0.1},
                     {"product": "metal", "stage": 4, "reo_content": 1.0}],
        "Processes": [{"process": "mine"}, {"process": "smelt"}],
        "Recipes": [
            {"process": "mine", "product": "ore", "direction": "out", "qty_per_activity": 1},
            {"process": "smelt", "product": "ore", "direction": "in", "qty_per_activity": 1},
            {"process": "smelt", "product": "metal", "direction": "out",
             "qty_per_activity": 1},
        ],
        "NodeProcesses": [{"node": "A", "process": "mine", "existing_capacity": 500},
                          {"node": "B", "process": "smelt", "existing_capacity": 0}],
        "BuildOptions": [{"option": "smelter", "node": "B", "process": "smelt",
                          "unit_capacity": 100, "capex_musd": 0.002, "max_units": 2,
                          "lead_time_years": 0, "lifetime_years": 10}],
        "Routes": [{"origin": "A", "destination": "B", "mode": "rail", "cost_usd_per_t": 0,
                    "capacity_t_per_year": route_cap}],
        "Markets": [{"market": "B_metal", "node": "B", "product": "metal",
                     "direction": "sell", "scope": "domestic", "price_usd_per_t": price}],
    }


def test_route_bound_and_cut_by_hand(tmp_path: Path) -> None:
    # U(B, smelt) = route capacity 120 (less than 2 units × 100); U(A, mine) = 120 as
    # well: ore cannot be sold or disposed of, so all of it must leave by the route.
    # Cut (q = ⌊120/100⌋ = 1, r = 20): act − 20·u ≤ 0 + 1·(100 − 20) = 80.
    # NPV: each tonne earns 100, a unit costs 2000. Integer optimum: 1 unit, 100 t
    # (10000 − 2000 = 8000) vs 2 units, 120 t (12000 − 4000 = 8000): 8000.
    # Plain LP relaxation: 1.2 units, 120 t: 12000 − 2400 = 9600.  With the cut, the
    # LP at u ∈ [1, 2] gets act = 80 + 20u: NPV = 100(80 + 20u) − 2000u = 8000 for every
    # u in [1, 2], and below 1 unit act ≤ 100u gives 8000u: the relaxation is exact.
    path = write_input_workbook(tmp_path / "route.xlsx", route_fed_plant())
    data = _data(path)
    u = activity_bounds(data)
    got = dict(zip(data.act["node"], u, strict=True))
    assert got["B"] == pytest.approx(120.0, rel=1e-6)
    assert got["A"] == pytest.approx(120.0, rel=1e-6)
    strong = build_model(data)
    cut = strong.cons["process_capacity_cut"]
    assert len(cut) == 1 and cut.upper[0] == pytest.approx(80.0, rel=1e-6)
    assert sorted(cut.terms["coef"].round(4)) == pytest.approx(
        [-20.0, 1.0], rel=1e-6)
    plain = build_model(data, strengthen=False)
    assert "process_capacity_cut" not in plain.cons
    assert _lp_relaxation(plain) == pytest.approx(9600.0, rel=1e-6)
    assert _lp_relaxation(strong) == pytest.approx(8000.0, rel=1e-5)
    assert solve_direct(strong, EXACT).objective_usd == pytest.approx(8000.0, rel=1e-9)
    assert solve_direct(plain, EXACT).objective_usd == pytest.approx(8000.0, rel=1e-9)


def test_no_cut_where_units_divide_the_bound(tmp_path: Path) -> None:
    # route 200 = exactly 2 units: r = 0, nothing to add; route 1000: U ≥ 2 units' worth
    # (q ≥ max_units), the capacity rows say it all.
    for cap in (200.0, 1000.0):
        path = write_input_workbook(tmp_path / f"r{cap:g}.xlsx", route_fed_plant(cap))
        assert "process_capacity_cut" not in build_model(_data(path)).cons


def test_duals_and_binding_sheet_ignore_the_cut(tmp_path: Path) -> None:
    # The shadow-price LP (builds fixed) is solved without the cut rows: the duals of
    # the model's own rows are those of the plain model, and the Binding sheet does
    # not list the cut.
    from optmodel.results.tables import extract_tables

    path = write_input_workbook(tmp_path / "route.xlsx", route_fed_plant(price=150.0))
    data = _data(path)
    opts = SolveOptions(mip_gap=0.0)
    a = solve_direct(build_model(data, strengthen=False), opts)
    bm = build_model(data)
    b = solve_direct(bm, opts)
    for name, y in a.duals.items():
        np.testing.assert_allclose(b.duals[name], y, rtol=1e-9, atol=1e-9)
    binding = extract_tables(bm, b)["Binding"]
    assert "process_capacity_cut" not in set(binding["constraint"])


# ----------------------------------------------------------------- known answers


def test_same_optimum_chain(tmp_path: Path) -> None:
    _assert_same_optimum(write_input_workbook(tmp_path / "chain.xlsx", chain_sheets()))


@pytest.mark.parametrize("seed", range(1, 9))
def test_same_optimum_small_facility_location(seed: int, tmp_path: Path) -> None:
    p = _random_problem(seed)
    _assert_same_optimum(write_input_workbook(tmp_path / f"fl_{seed}.xlsx",
                                              facility_location_sheets(p)))


@pytest.mark.slow
@pytest.mark.parametrize("instance", CAP_INSTANCES[:13])
def test_same_optimum_orlib_cap(instance: str, tmp_path: Path) -> None:
    # Expected: both = −(published optimal cost), as in test_known_optima.
    inp = cap_instance_workbook(tmp_path / f"{instance}.xlsx", ORLIB_CAP / instance)
    plain, strong, _, bm = _both(inp)
    assert -plain == pytest.approx(OPTIMA[instance], rel=1e-7, abs=1e-3)
    assert -strong == pytest.approx(OPTIMA[instance], rel=1e-7, abs=1e-3)
    assert _assert_same_optimum(inp) >= 0


@pytest.mark.slow
def test_same_optimum_relog_s1(tmp_path: Path) -> None:
    _assert_same_optimum(write_input_workbook(tmp_path / "relog.xlsx",
                                              relog_s1_sheets(RELOG_S1)))


# ----------------------------------------------------------------- random networks


def _randomised(seed: int) -> dict:
    """random_network with capped routes and markets and more units, so that bounds
    from inputs, outputs and routes all meet build options."""
    rng = random.Random(seed)
    sheets = copy.deepcopy(random_network(rng, years=2, min_load=rng.choice([0.0, 0.3])))
    for r in sheets["Routes"]:
        if rng.random() < 0.5:
            r["capacity_t_per_year"] = round(rng.uniform(2, 60), 2)
    for o in sheets["BuildOptions"]:
        o["max_units"] = rng.randint(1, 4)
        o["lead_time_years"] = 0
    return sheets


@pytest.mark.slow
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10 ** 6))
def test_same_optimum_random_networks(seed: int, tmp_path: Path) -> None:
    from optmodel.errors import InfeasibleError

    path = write_input_workbook(tmp_path / f"net_{seed}.xlsx", _randomised(seed))
    try:
        _assert_same_optimum(path)
    except InfeasibleError:  # min_load may force more than can be sold: both agree
        with pytest.raises(InfeasibleError):
            solve_direct(build_model(_data(path)), EXACT)


def test_random_networks_get_cuts(tmp_path: Path) -> None:
    # the generator is not vacuous: some seeds give cut rows
    counts = []
    for seed in range(6):
        path = write_input_workbook(tmp_path / f"n{seed}.xlsx", _randomised(seed))
        bm = build_model(_data(path))
        counts.append(len(bm.cons.get("process_capacity_cut", ())))
    assert sum(counts) > 0, counts
