"""Strategy under uncertainty: robust siting, near-optimal alternatives, trade-off frontiers.

All on the tiny three-stage workbook (tests/tinycase.py) with a few scenarios:
``duty50`` (50 % duty on concentrate exports), ``oxhigh`` / ``oxlow`` (oxide
price ×1.5 / ×0.3), and a second separation site (sep2 at the port, no opening
cost, smaller).  Separation pays off in the base case and when the oxide price
is high, not when it is low, so the scenarios disagree on the plan — which is
what makes robust planning matter.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tinycase import tiny_sheets, write_input
from typer.testing import CliRunner

from optmodel.errors import InputError
from optmodel.pipeline import solve_workbook
from optmodel.strategy.robust import robust_solve

SCEN = "base,duty50,oxhigh,oxlow"
WEIGHTS = "0.3,0.2,0.2,0.3"


def _sheets() -> dict[str, list[dict]]:
    sh = tiny_sheets()
    sh["BuildOptions"][0]["earliest_year"] = 2026
    # a second site for the separation plant: no opening cost, dearer unit
    sh["BuildOptions"].append(dict(option="sep2", node="Port", process="sep",
                                   unit_capacity=60, capex_musd=1.4, max_units=1,
                                   earliest_year=2026))
    sh["Scenarios"] = sh["Scenarios"] + [
        dict(scenario="oxhigh", sheet="Markets", key="JapanOx|oxide|sell|export|",
             column="price_usd_per_t", factor=1.5),
        dict(scenario="oxlow", sheet="Markets", key="JapanOx|oxide|sell|export|",
             column="price_usd_per_t", factor=0.3),
        dict(scenario="late_plant", sheet="BuildOptions", key="sep1",
             column="earliest_year", value=2027),
    ]
    return sh


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> Path:
    return write_input(tmp_path_factory.mktemp("strategy") / "tiny_scen.xlsx", _sheets())


@pytest.fixture(scope="module")
def robust4(workbook):
    return robust_solve(workbook, SCEN, WEIGHTS, "expected", mip_gap=0.0, cross=True)


# ------------------------------------------------------------------ robust


def test_robust_with_one_scenario_is_the_deterministic_optimum(workbook):
    det = solve_workbook(workbook, mip_gap=0.0)
    res = robust_solve(workbook, "base", mip_gap=0.0, cross=False)
    assert res.sol.objective_usd / 1e6 == pytest.approx(det.summary["npv_musd"], rel=1e-9)
    assert res.robust["base"].npv_musd == pytest.approx(det.summary["npv_musd"], rel=1e-9)
    assert res.vss_musd == pytest.approx(0.0, abs=1e-9)
    assert res.evpi_musd == pytest.approx(0.0, abs=1e-9)
    built = {(r.option, r.year): r.units for r in det.tables["Builds"].itertuples()}
    assert built == {(o, y): u for o, y, u in res.plan.builds.itertuples(index=False)}


def test_warm_started_optima_and_evaluations_equal_cold_solves(workbook, robust4):
    # Each scenario alone starts from the previous scenario's optimum (a MIP start by
    # keys), and each plan evaluation from the previous evaluation's basis in that
    # scenario.  Property (exact solves, mip_gap 0): every NPV*_s equals the scenario
    # solved cold on its own, and every cross evaluation equals a fresh evaluation.
    from optmodel.pipeline import load_data
    from optmodel.solver.options import WarmStart
    from optmodel.strategy.robust import evaluate_plan, solve_optimum

    names = SCEN.split(",")
    warm = WarmStart()
    for i, s in enumerate(names):
        data = load_data(workbook, None if s == "base" else s)
        _, sol, _ = solve_optimum(data, robust4.opts, s, warm)
        started = any(w in sol.warm for w in ("from the basis", "on the neighbour's LP",
                                              "from a MIP start"))
        assert started == (i > 0), sol.warm  # the first has no neighbour to start from
        warm = sol.start
        cold = solve_workbook(workbook, scenario=None if s == "base" else s, mip_gap=0.0)
        assert sol.objective_usd / 1e6 == pytest.approx(cold.summary["npv_musd"], rel=1e-9,
                                                        abs=1e-9)
        assert robust4.optimum[s].npv_musd == pytest.approx(cold.summary["npv_musd"],
                                                            rel=1e-9, abs=1e-9)
        for p in names:
            fresh = evaluate_plan(data, robust4.plans[p], robust4.opts, scenario=s)
            assert robust4.cross[(p, s)].npv_usd == pytest.approx(fresh.npv_usd, rel=1e-9,
                                                                  abs=1e-3)


def test_four_scenarios_take_benders_by_default(robust4):
    # --engine auto: Benders from three scenarios on, the extensive form below
    # (tests/test_benders.py compares the two)
    assert robust4.engine.startswith("Benders decomposition")


def test_robust_plan_beats_every_single_scenario_plan_in_expectation(robust4):
    res = robust4
    exp_robust = res.expected(res.robust)
    assert res.sol.objective_usd / 1e6 == pytest.approx(exp_robust, rel=1e-7)
    for p in res.scenarios:
        ev = {s: res.cross[(p, s)] for s in res.scenarios}
        other = res.expected(ev)
        assert other is None or exp_robust >= other - 1e-7, p
    # bounded above by the wait-and-see value Σ w_s NPV*_s
    assert exp_robust <= res.expected(res.optimum) + 1e-7
    assert res.evpi_musd >= -1e-7 and res.vss_musd >= -1e-7
    # the scenarios disagree here, so information has value
    assert res.evpi_musd > 1e-3
    assert sum(res.weights.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("criterion", ["worst", "regret"])
def test_worst_and_regret_criteria_dominate_single_scenario_plans(workbook, criterion):
    res = robust_solve(workbook, SCEN, criterion=criterion, mip_gap=0.0, cross=True)
    measure = res.worst if criterion == "worst" else res.max_regret
    mine = measure(res.robust)
    assert res.sol.objective_usd / 1e6 == pytest.approx(mine, rel=1e-7, abs=1e-9)
    for p in res.scenarios:
        other = measure({s: res.cross[(p, s)] for s in res.scenarios})
        if criterion == "worst":
            assert mine >= other - 1e-7
        else:
            assert mine <= other + 1e-7


def test_scenario_that_changes_the_build_choices_is_an_input_error(workbook):
    with pytest.raises(InputError, match="late_plant changes the build choices"):
        robust_solve(workbook, "base,late_plant", mip_gap=0.0)


@pytest.mark.parametrize("weights,msg", [("1,2", "one weight per scenario"),
                                         ("1,-1,1,1", "non-negative")])
def test_bad_weights_are_input_errors(workbook, weights, msg):
    with pytest.raises(InputError, match=msg):
        robust_solve(workbook, SCEN, weights)


def test_robust_cli_writes_the_workbook(workbook, tmp_path, robust4):
    from optmodel.cli.main import app

    out = tmp_path / "robust.xlsx"
    r = CliRunner().invoke(app, ["robust", str(workbook), "--scenarios", SCEN, "--weights",
                                 WEIGHTS, "--mip-gap", "0", "-o", str(out)])
    assert r.exit_code == 0, r.output
    book = pd.read_excel(out, sheet_name=None, engine="calamine")
    for sheet in ("Summary", "Scenarios", "Builds", "Plans", "PlanBuilds", "KPIs", "Trade",
                  "Run"):
        assert sheet in book, sheet
    summ = dict(zip(book["Summary"]["metric"], book["Summary"]["value"], strict=True))
    assert float(summ["vss_musd"]) == pytest.approx(robust4.vss_musd, abs=1e-6)
    assert float(summ["evpi_musd"]) == pytest.approx(robust4.evpi_musd, abs=1e-6)
    sc = book["Scenarios"].set_index("scenario")
    assert list(sc.index[:4]) == SCEN.split(",")
    assert set(book["Trade"]["scenario"]) <= set(SCEN.split(","))
    bad = CliRunner().invoke(app, ["robust", str(workbook), "--scenarios", "base,nope",
                                   "-o", str(tmp_path / "x.xlsx")])
    assert bad.exit_code == 2


# ------------------------------------------------------------------ alternatives


@pytest.fixture(scope="module")
def alternatives(workbook):
    from optmodel.model.data import build_model_data
    from optmodel.pipeline import load_tables, solve_options
    from optmodel.strategy.alternatives import generate_alternatives

    tables = load_tables(workbook)
    return generate_alternatives(build_model_data(tables),
                                 solve_options(tables.settings, mip_gap=0.0),
                                 slack=SLACK, count=3)


SLACK = 0.3


def test_alternatives_are_within_the_slack_and_distinct(alternatives):
    res = alternatives
    star = res.npv_star_usd
    assert res.floor_usd == pytest.approx(star - SLACK * abs(star))
    assert len(res.alternatives) >= 3, res.stopped  # the optimum and at least two more
    assert res.alternatives[0].evaluation.npv_usd == pytest.approx(star, rel=1e-9)
    keys = [a.plan.build_key for a in res.alternatives]
    assert len(set(keys)) == len(keys)  # each differs from the others in at least one build
    for a in res.alternatives:
        assert a.evaluation.npv_usd >= res.floor_usd - 1e-6 * max(1.0, abs(star)), a.label
        assert a.evaluation.npv_usd <= star + 1e-6 * max(1.0, abs(star)), a.label


def test_npv_floor_handles_negative_optima():
    from optmodel.strategy.alternatives import npv_floor_usd

    assert npv_floor_usd(100.0, 0.02) == pytest.approx(98.0)
    assert npv_floor_usd(-100.0, 0.02) == pytest.approx(-102.0)
    assert npv_floor_usd(0.0, 0.02) == 0.0


def test_alternatives_cli_writes_one_sheet_per_alternative(workbook, tmp_path):
    from optmodel.cli.main import app

    out = tmp_path / "alt.xlsx"
    r = CliRunner().invoke(app, ["alternatives", str(workbook), "--slack", str(SLACK),
                                 "--count", "2", "--mip-gap", "0", "-o", str(out)])
    assert r.exit_code == 0, r.output
    book = pd.read_excel(out, sheet_name=None, engine="calamine")
    assert {"About", "Summary", "Builds", "Optimum", "Alt1", "Alt2", "Run"} <= set(book)
    summ = book["Summary"].set_index("metric")
    assert list(summ.columns) == ["unit", "optimum", "alt1", "alt2"]
    assert (summ.loc["npv_below_optimum_share", ["alt1", "alt2"]].astype(float)
            <= SLACK + 1e-9).all()


# ------------------------------------------------------------------ frontier


@pytest.mark.parametrize("measure", ["processing_depth_index", "domestic_value_added_musd",
                                     "raw_export_share", "national_npv_musd"])
def test_frontier_is_monotone(workbook, measure):
    from optmodel.model.data import build_model_data
    from optmodel.pipeline import load_tables, solve_options
    from optmodel.strategy.frontier import MEASURES, is_monotone, trace_frontier

    tables = load_tables(workbook)
    res = trace_frontier(build_model_data(tables), measure, points=4,
                         opts=solve_options(tables.settings, mip_gap=0.0))
    npv = [p.npv_usd for p in res.points]
    assert is_monotone(npv)
    sense = MEASURES[measure]
    for p in res.points:  # every point meets its ε
        assert sense * (p.achieved - p.epsilon) >= -1e-6 * max(1.0, abs(p.epsilon))
    det = solve_workbook(workbook, mip_gap=0.0).summary
    assert res.optimum_measure == pytest.approx(det[measure], rel=1e-6)
    assert npv[0] / 1e6 == pytest.approx(det["npv_musd"], rel=1e-9)
    if len(res.points) > 1:
        assert sense * (res.extreme - res.optimum_measure) > 0
        assert res.points[-1].achieved == pytest.approx(res.extreme, rel=1e-5, abs=1e-6)


def test_frontier_cli_writes_workbook_and_offline_chart(workbook, tmp_path):
    from optmodel.cli.main import app

    out = tmp_path / "front.xlsx"
    r = CliRunner().invoke(app, ["frontier", str(workbook), "--against",
                                 "processing_depth_index", "--points", "3", "-o", str(out)])
    assert r.exit_code == 0, r.output
    book = pd.read_excel(out, sheet_name=None, engine="calamine")
    assert {"About", "Frontier", "Builds", "Run"} <= set(book)
    npv = book["Frontier"]["npv_musd"].tolist()
    assert all(b <= a + 1e-9 for a, b in zip(npv, npv[1:], strict=False))
    html = out.with_suffix(".html").read_text(encoding="utf-8")
    assert "plotly" in html.lower() and '<script src="http' not in html
    bad = CliRunner().invoke(app, ["frontier", str(workbook), "--against", "nonsense",
                                   "-o", str(tmp_path / "x.xlsx")])
    assert bad.exit_code == 2


def test_alternatives_by_option_avoid_earlier_options(workbook):
    from optmodel.model.data import build_model_data
    from optmodel.pipeline import load_tables, solve_options
    from optmodel.strategy.alternatives import generate_alternatives

    tables = load_tables(workbook)
    res = generate_alternatives(build_model_data(tables),
                                solve_options(tables.settings, mip_gap=0.0),
                                slack=SLACK, count=2, overlap="option")
    keys = [a.plan.build_key for a in res.alternatives]
    assert len(set(keys)) == len(keys)
    first = set(res.alternatives[0].plan.builds["option"])
    assert first and not first & set(res.alternatives[1].plan.builds["option"])


# ------------------------------------------------------------------ progressive hedging


def test_progressive_hedging_matches_the_extensive_form(workbook, robust4):
    pytest.importorskip("mpisppy")
    res = robust_solve(workbook, SCEN, WEIGHTS, "expected", mip_gap=0.0, cross=False,
                       engine="ph")
    assert res.sol.status == "ph_converged"
    assert res.plan.build_key == robust4.plan.build_key
    assert res.expected(res.robust) == pytest.approx(robust4.expected(robust4.robust),
                                                     rel=1e-9)


def test_progressive_hedging_takes_the_expected_criterion_only(workbook):
    with pytest.raises(InputError, match="expected-NPV problem only"):
        robust_solve(workbook, SCEN, criterion="worst", engine="ph")


def test_progressive_hedging_without_mpisppy_says_how_to_install(workbook, monkeypatch):
    import sys

    from optmodel.errors import SolverError

    for mod in ("mpisppy", "mpisppy.opt.ph", "mpisppy.utils.sputils"):
        monkeypatch.setitem(sys.modules, mod, None)  # import fails as if not installed
    with pytest.raises(SolverError, match="pip install mpi-sppy"):
        robust_solve(workbook, "base,duty50", engine="ph")
