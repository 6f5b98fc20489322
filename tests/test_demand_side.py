"""Price response, domestic demand support and the state's view (docs/model.md §6–8).

The hand case: one year (2025), discount 0, salvage off.  One plant node P makes a
stage-6 product ``motor`` (process ``make``, no inputs, 1 t per activity, existing
capacity 1 000 t, opex 500 USD/t) and sells it on one price-response row at P:
price 1 000 USD/t at q = 0, elasticity ε = −1, market_size_t S = 400, so

    P(q) = 1 000 × (1 − q/400),  max_t = −ε·S/2 = 200 (the default),

and curve_segments K = 4: segments of 50 t with breakpoints Q = 50, 100, 150, 200
and per-tonne revenues r_j = 1 000 × (1 + (Q_{j−1} + Q_j)/(ε·S)):

    r_1 = 1 000 × (1 − 50/400)  = 875
    r_2 = 1 000 × (1 − 150/400) = 625
    r_3 = 1 000 × (1 − 250/400) = 375
    r_4 = 1 000 × (1 − 350/400) = 125

A segment is sold while its net income per tonne beats the opex of 500, so the
optimum lies on a breakpoint in every case below (derived next to each test).
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tinycase import tiny_sheets
from workbooks import num, read_result_workbook, settings_rows, summary_of, write_input_workbook

from optmodel.errors import InputError
from optmodel.input.validate import load_workbook
from optmodel.model.build import build_model
from optmodel.model.data import build_model_data
from optmodel.model.objective import PV_TERM_LINES, objective_coefficients
from optmodel.model.pyomo_export import export
from optmodel.pipeline import load_tables, solve_options, solve_tables, solve_workbook

Sheets = dict[str, list[dict[str, Any]]]


def motor_sheets(scope: str = "domestic", policy: list[dict] | None = None,
                 capacity: float = 1000.0, **market: Any) -> Sheets:
    """The hand case of the module docstring (one plant, one price-response row)."""
    row = {"market": "Motors", "node": "P", "product": "motor", "direction": "sell",
           "scope": scope, "price_usd_per_t": 1000, "elasticity": -1, "market_size_t": 400}
    row.update(market)
    return {
        "Settings": settings_rows(2025, 2025, 0.0, curve_segments=4),
        "Nodes": [{"node": "P", "kind": "plant", "country": "Russia"}],
        "Products": [{"product": "motor", "stage": 6, "reo_content": 0.3}],
        "Processes": [{"process": "make", "stage_from": 6, "stage_to": 6}],
        "Recipes": [{"process": "make", "product": "motor", "direction": "out",
                     "qty_per_activity": 1}],
        "NodeProcesses": [{"node": "P", "process": "make", "existing_capacity": capacity,
                           "opex_usd_per_activity": 500}],
        "Markets": [row],
        "Policy": policy or [{"instrument": "export_duty_rate", "target": "stage<=1",
                              "value": 0}],
    }


def _solve(tmp_path: Path, sheets: Sheets, name: str = "in") -> tuple[dict, dict]:
    src = write_input_workbook(tmp_path / f"{name}.xlsx", sheets)
    out = tmp_path / f"{name}_out.xlsx"
    solve_workbook(src, out)
    tables = read_result_workbook(out)
    return summary_of(tables), tables


def _trade(tables: dict) -> dict[str, float]:
    t = tables["Trade"]
    assert len(t) == 1
    return t.iloc[0].to_dict()


def test_price_response_optimum_on_breakpoint(tmp_path):
    # No policy. Net per tonne r_j − 500: +375, +125, −125, −375 → sell segments 1–2:
    # q = 100 (a breakpoint). R̃ = 875·50 + 625·50 = 75 000 = q·P(q) = 100 × 750.
    # NPV = 75 000 − 500 × 100 = 25 000 USD; realised = market price = P(100) = 750.
    # No transfers: fiscal balance 0, national NPV = NPV.
    s, tables = _solve(tmp_path, motor_sheets())
    tr = _trade(tables)
    assert tr["tonnes"] == pytest.approx(100.0, abs=1e-6)
    assert tr["value_musd"] == pytest.approx(0.075, rel=1e-9)
    assert tr["realised_price_usd_per_t"] == pytest.approx(750.0, rel=1e-9)
    assert tr["market_price_usd_per_t"] == pytest.approx(750.0, rel=1e-9)
    assert tr["price_usd_per_t"] == pytest.approx(1000.0)
    assert num(s["npv_musd"]) == pytest.approx(0.025, rel=1e-9)
    assert num(s["revenue_musd"]) == pytest.approx(0.075, rel=1e-9)
    assert num(s["fiscal_net_musd"]) == pytest.approx(0.0, abs=1e-12)
    assert num(s["national_npv_musd"]) == pytest.approx(0.025, rel=1e-9)
    # domestic value added = every sale − every purchase = 75 000 USD
    assert num(s["domestic_value_added_musd"]) == pytest.approx(0.075, rel=1e-9)
    # no market_max row on a price-response row; segment bounds are variable bounds
    assert not (tables["Binding"]["constraint"] == "market_max").any()


def test_demand_support_sells_further_down_the_curve(tmp_path):
    # Support 300 USD/t on domestic sales of stage>=6 products: net per tonne
    # r_j + 300 − 500 = +675, +425, +175, −75 → q = 150 (a breakpoint).
    # R̃ = (875 + 625 + 375) × 50 = 93 750 = 150 × P(150) = 150 × 625.
    # support = 300 × 150 = 45 000; opex = 75 000 → NPV = 93 750 + 45 000 − 75 000 = 63 750.
    # The state pays the support: fiscal_net = −45 000; national NPV = 63 750 − 45 000
    # = 18 750 = the plan's value with the transfer removed (93 750 − 75 000), less than
    # the 25 000 the country had without support: the support moves money, and the
    # extra 50 t are sold below their cost (375 < 500).
    policy = [{"instrument": "domestic_demand_support_usd_per_t", "target": "Stage >= 6",
               "value": 300}]
    s, tables = _solve(tmp_path, motor_sheets(policy=policy))
    tr = _trade(tables)
    assert tr["tonnes"] == pytest.approx(150.0, abs=1e-6)
    assert tr["realised_price_usd_per_t"] == pytest.approx(625.0, rel=1e-9)
    assert tr["market_price_usd_per_t"] == pytest.approx(625.0, rel=1e-9)
    assert tr["support_musd"] == pytest.approx(0.045, rel=1e-9)
    assert num(s["support_musd"]) == pytest.approx(0.045, rel=1e-9)
    assert num(s["pv_support_musd"]) == pytest.approx(0.045, rel=1e-9)
    assert num(s["npv_musd"]) == pytest.approx(0.06375, rel=1e-9)
    assert num(s["fiscal_net_musd"]) == pytest.approx(-0.045, rel=1e-9)
    assert num(s["pv_fiscal_net_musd"]) == pytest.approx(-0.045, rel=1e-9)
    assert num(s["national_npv_musd"]) == pytest.approx(0.01875, rel=1e-9)


def test_export_duty_on_realised_revenue(tmp_path):
    # The row is an export row with a 30 % export duty on stage>=6 products (the new
    # target form): net per tonne 0.7·r_j − 500 = +112.5, −62.5, … → q = 50.
    # R̃ = 875 × 50 = 43 750; duty = 0.3 × R̃ = 13 125; opex 25 000
    # → NPV = 43 750 − 13 125 − 25 000 = 5 625; fiscal_net = +13 125;
    # national NPV = 5 625 + 13 125 = 18 750 (= 43 750 − 25 000, the plan without duty).
    # realised = market = P(50) = 875.
    policy = [{"instrument": "export_duty_rate", "target": "stage>=6", "value": 0.3}]
    s, tables = _solve(tmp_path, motor_sheets(scope="export", policy=policy))
    tr = _trade(tables)
    assert tr["tonnes"] == pytest.approx(50.0, abs=1e-6)
    assert tr["duty_musd"] == pytest.approx(0.013125, rel=1e-9)
    assert tr["realised_price_usd_per_t"] == pytest.approx(875.0, rel=1e-9)
    assert tr["market_price_usd_per_t"] == pytest.approx(875.0, rel=1e-9)
    assert num(s["export_duties_musd"]) == pytest.approx(0.013125, rel=1e-9)
    assert num(s["npv_musd"]) == pytest.approx(0.005625, rel=1e-9)
    assert num(s["fiscal_net_musd"]) == pytest.approx(0.013125, rel=1e-9)
    assert num(s["national_npv_musd"]) == pytest.approx(0.01875, rel=1e-9)
    # support is for domestic rows only: on this export row it pays nothing
    policy.append({"instrument": "domestic_demand_support_usd_per_t", "target": "motor",
                   "value": 300})
    s2, _ = _solve(tmp_path, motor_sheets(scope="export", policy=policy), "support")
    assert num(s2["support_musd"]) == pytest.approx(0.0, abs=1e-12)
    assert num(s2["npv_musd"]) == pytest.approx(0.005625, rel=1e-9)


def test_between_breakpoints_realised_below_market(tmp_path):
    # Capacity 75 t stops the row between breakpoints 50 and 100:
    # R̃ = 875 × 50 + 625 × 25 = 59 375 → realised = 791.666…;
    # market price P(75) = 1 000 × (1 − 75/400) = 812.5 ≥ realised.
    # NPV = 59 375 − 500 × 75 = 21 875.
    s, tables = _solve(tmp_path, motor_sheets(capacity=75))
    tr = _trade(tables)
    assert tr["tonnes"] == pytest.approx(75.0, abs=1e-6)
    assert tr["realised_price_usd_per_t"] == pytest.approx(59_375 / 75, rel=1e-9)
    assert tr["market_price_usd_per_t"] == pytest.approx(812.5, rel=1e-9)
    assert num(s["npv_musd"]) == pytest.approx(0.021875, rel=1e-9)


def test_explicit_max_and_one_segment(tmp_path):
    # max_t = 100 and one segment: r_1 = 1 000 × (1 − 100/400) = 750 > 500 → q = 100,
    # NPV = 100 × (750 − 500) = 25 000 (the exact curve value at its only breakpoint).
    sheets = motor_sheets(max_t=100)
    sheets["Settings"] = settings_rows(2025, 2025, 0.0, curve_segments=1)
    s, tables = _solve(tmp_path, sheets)
    assert _trade(tables)["tonnes"] == pytest.approx(100.0, abs=1e-6)
    assert num(s["npv_musd"]) == pytest.approx(0.025, rel=1e-9)


def test_fixed_price_rows_report_price_as_realised_and_market(tmp_path):
    # Elasticity blank: a fixed price of 1 000 > opex 500 with max_t 120 → q = 120;
    # realised = market = price; NPV = 120 × 500 = 60 000.
    sheets = motor_sheets(elasticity=None, market_size_t=None, max_t=120)
    s, tables = _solve(tmp_path, sheets)
    tr = _trade(tables)
    assert tr["tonnes"] == pytest.approx(120.0)
    assert tr["realised_price_usd_per_t"] == tr["market_price_usd_per_t"] == 1000.0
    assert num(s["npv_musd"]) == pytest.approx(0.06, rel=1e-9)


def test_price_response_through_pyomo_path(tmp_path):
    # The Pyomo model (the exporter's copy of the tables) holds the same segments and link:
    # its objective at the direct solve's plan equals that solve's NPV (25 000 USD).
    src = write_input_workbook(tmp_path / "in.xlsx", motor_sheets())
    tables = load_tables(src)
    _, bm, sol, _ = solve_tables(tables, solve_options(tables.settings, mip_gap=0))
    full = export(build_model(build_model_data(tables)))
    assert len(full.model.seg) == 4 and len(full.model.price_response_link) == 1
    for name, fam in full.vars.items():
        for var, value in zip(fam.objs, sol.values[name], strict=True):
            var.set_value(float(value))
    import pyomo.core as pyo
    assert pyo.value(full.npv_expr) == pytest.approx(25_000, rel=1e-9)
    assert sol.objective_usd == pytest.approx(25_000, rel=1e-9)


# --------------------------------------------------------------------- validation


def _issues(tmp_path: Path, sheets: Sheets) -> list:
    src = write_input_workbook(tmp_path / "bad.xlsx", sheets)
    try:
        tables = load_workbook(src)
    except InputError as exc:
        return exc.issues
    return tables.warnings


def _one(issues, column: str, text: str, severity: str = "error"):
    hits = [i for i in issues if i.column == column and text in i.message
            and i.severity == severity]
    assert hits, [f"{i.column}: {i.message} ({i.severity})" for i in issues]
    return hits[0]


@pytest.mark.parametrize("market, column, text", [
    ({"direction": "buy", "scope": "domestic"}, "elasticity", "sell rows only"),
    ({"market_size_t": None}, "market_size_t", "needs market_size_t > 0"),
    ({"market_size_t": 0}, "market_size_t", "needs market_size_t > 0"),
    ({"elasticity": 0}, "elasticity", "expected a number < 0"),
    ({"elasticity": 0.5}, "elasticity", "expected a number < 0"),
    ({"max_t": 401}, "max_t", "max_t ≤ −elasticity × market_size_t = 400"),
    ({"min_t": 250}, "min_t", "min_t must be ≤ max_t (200"),
])
def test_price_response_rules(tmp_path, market, column, text):
    # the Markets row is on Excel row 2 and the message names the value given
    issue = _one(_issues(tmp_path, motor_sheets(**market)), column, text)
    assert issue.sheet == "Markets" and issue.row == 2


def test_max_t_at_the_limit_is_valid(tmp_path):
    # max_t = −ε·S = 400 exactly: the price reaches 0 at the last tonne, allowed
    assert not [i for i in _issues(tmp_path, motor_sheets(max_t=400))
                if i.severity == "error"]


def test_market_size_without_elasticity_warns(tmp_path):
    issue = _one(_issues(tmp_path, motor_sheets(elasticity=None)), "market_size_t",
                 "ignored", "warning")
    assert issue.row == 2 and issue.value == 400


@pytest.mark.parametrize("value", [0, 51, 2.5, "many"])
def test_curve_segments_range(tmp_path, value):
    sheets = motor_sheets()
    sheets["Settings"] = settings_rows(2025, 2025, 0.0, curve_segments=value)
    issue = _one(_issues(tmp_path, sheets), "value", "curve_segments")
    assert issue.sheet == "Settings"


@pytest.mark.parametrize("target, ok", [("stage>=6", True), ("Stage >= 0", True),
                                        ("stage>=7", False), ("stage=>6", False)])
def test_stage_target_forms(tmp_path, target, ok):
    policy = [{"instrument": "domestic_demand_support_usd_per_t", "target": target,
               "value": 10}]
    errors = [i for i in _issues(tmp_path, motor_sheets(policy=policy))
              if i.severity == "error"]
    assert (not errors) if ok else [i for i in errors if i.column == "target"]


# ----------------------------------------------------------------- national NPV property

TRANSFERS = ("export_duty_rate", "import_duty_rate", "processing_subsidy_usd_per_activity",
             "domestic_demand_support_usd_per_t", "capex_relief_rate")


def _property_sheets(rng: random.Random) -> tuple[Sheets, Sheets]:
    """tiny_sheets plus a price-response domestic oxide row, with random transfers; and
    the same workbook with every transfer (policy rows above, extraction tax) removed."""
    sheets = tiny_sheets()
    sheets["Settings"] = settings_rows(2026, 2027, round(rng.uniform(0, 0.15), 3),
                                       salvage=rng.choice(["on", "off"]), curve_segments=5)
    sheets["Markets"].append(dict(
        market="RuOx", node="Plant", product="oxide", direction="sell", scope="domestic",
        price_usd_per_t=round(rng.uniform(15_000, 30_000)), elasticity=-0.5,
        market_size_t=round(rng.uniform(60, 200))))
    sheets["Deposits"][0]["extraction_tax_usd_per_t"] = round(rng.uniform(0, 30), 2)
    policy = [
        dict(instrument="export_duty_rate", target=rng.choice(["stage<=1", "oxide", ""]),
             value=round(rng.uniform(0, 0.5), 3)),
        dict(instrument="processing_subsidy_usd_per_activity", target="sep",
             value=round(rng.uniform(0, 800), 2)),
        dict(instrument="domestic_demand_support_usd_per_t",
             target=rng.choice(["stage>=3", "oxide", ""]),
             value=round(rng.uniform(0, 8000), 2)),
        dict(instrument="domestic_demand_support_usd_per_t", target="stage>=0", year=2027,
             value=round(rng.uniform(0, 500), 2)),
        dict(instrument="capex_relief_rate", target=rng.choice(["plant", "Plant", ""]),
             value=round(rng.uniform(0, 0.8), 3)),
    ]
    sheets["Policy"] = policy
    sheets.pop("Scenarios")
    zero = {k: [dict(r) for r in v] for k, v in sheets.items()}
    zero["Policy"] = [r for r in zero["Policy"] if r["instrument"] not in TRANSFERS]
    zero["Deposits"][0]["extraction_tax_usd_per_t"] = 0
    return sheets, zero


@pytest.mark.slow
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000))
def test_national_npv_is_npv_without_transfers(tmp_path, seed):
    # Conditions: the tiny chain (build option with an opening cost, a deposit with
    # extraction tax, export rows and a price-response domestic row), random discount
    # rate and salvage, random duties, subsidy, demand support (two rows that add up
    # in 2027) and capex relief.  Property (docs/model.md §6–8): national_npv_musd equals
    # the chain NPV of the *same plan* re-evaluated with every transfer set to zero,
    # and npv_musd + pv_fiscal_net_musd = national_npv_musd; pv term lines add to npv.
    rng = random.Random(seed)
    sheets, zero = _property_sheets(rng)
    src = write_input_workbook(tmp_path / f"p{seed}.xlsx", sheets)
    tables = load_tables(src)
    _, bm, sol, result = solve_tables(tables, solve_options(tables.settings, mip_gap=0))
    s = dict(zip(result["Summary"]["metric"], result["Summary"]["value"], strict=True))
    zsrc = write_input_workbook(tmp_path / f"z{seed}.xlsx", zero)
    zbm = build_model(build_model_data(load_tables(zsrc)))
    for name, fam in bm.vars.items():  # same variables, so the plan carries over
        assert fam.index[fam.keys].equals(zbm.vars[name].index[fam.keys]), name
    coefs = objective_coefficients(zbm)
    plan_usd = sum(float(np.dot(c, sol.values[f])) for f, c in coefs.items())
    assert s["national_npv_musd"] == pytest.approx(plan_usd / 1e6, rel=1e-7, abs=1e-8)
    assert s["npv_musd"] + s["pv_fiscal_net_musd"] == pytest.approx(
        s["national_npv_musd"], abs=1e-8)
    pv = sum(v for k, v in s.items() if k in PV_TERM_LINES)
    assert pv == pytest.approx(s["npv_musd"], rel=1e-8, abs=1e-7)
    assert not math.isnan(s["fiscal_net_musd"])


# ------------------------------------------------------------------- batch against base


def test_against_base_table_by_hand():
    # Three solved runs and one failed: "sub" raises chain NPV by 10 and depth by 0.5 at a
    # fiscal cost of 12 (Δ fiscal balance −12) → national Δ −2, fiscal cost per depth
    # −(−12)/0.5 = 24 MUSD per stage; "duty" leaves depth alone → its cost is blank.
    import pandas as pd

    from optmodel.batch.engine import against_base

    runs = pd.DataFrame({
        "scenario": ["base", "sub", "duty", "broken"],
        "exit_code": [0, 0, 0, 1],
        "npv_musd": [100.0, 110.0, 95.0, None],
        "national_npv_musd": [120.0, 118.0, 120.0, None],
        "pv_fiscal_net_musd": [20.0, 8.0, 25.0, None],
        "processing_depth_index": [3.0, 3.5, 3.0, None],
        "domestic_value_added_musd": [500.0, 530.0, 480.0, None],
    })
    v = against_base(runs, []).set_index("scenario")
    assert list(v.index) == ["base", "sub", "duty"]
    assert v.loc["sub", "d_chain_npv_musd"] == pytest.approx(10.0)
    assert v.loc["sub", "d_national_npv_musd"] == pytest.approx(-2.0)
    assert v.loc["sub", "d_fiscal_balance_musd"] == pytest.approx(-12.0)
    assert v.loc["sub", "d_processing_depth"] == pytest.approx(0.5)
    assert v.loc["sub", "d_domestic_value_added_musd"] == pytest.approx(30.0)
    assert v.loc["sub", "fiscal_cost_per_depth_musd"] == pytest.approx(24.0)
    assert math.isnan(v.loc["duty", "fiscal_cost_per_depth_musd"])
    assert math.isnan(v.loc["base", "fiscal_cost_per_depth_musd"])
    assert against_base(runs[runs["scenario"] != "base"], []) is None


def test_scenario_all_writes_against_base(tiny_workbook, tmp_path):
    # The tiny case's duty50 scenario raises the concentrate export duty from 10 % to 50 %:
    # in every run Δ chain NPV + Δ fiscal balance = Δ national NPV (docs/model.md §6–8).
    import pandas as pd

    from optmodel.batch.engine import solve_all_scenarios

    assert solve_all_scenarios(tiny_workbook, tmp_path / "all.xlsx", report=True) == 0
    book = pd.read_excel(tmp_path / "all_batch.xlsx", sheet_name=None, engine="calamine")
    v = book["Against base"].set_index("scenario")
    assert list(v.index) == ["base", "duty50"]
    d = v.loc["duty50"]
    assert d["d_chain_npv_musd"] + d["d_fiscal_balance_musd"] == pytest.approx(
        d["d_national_npv_musd"], abs=1e-8)
    runs = book["Runs"].set_index("scenario")
    assert d["d_chain_npv_musd"] == pytest.approx(
        runs.loc["duty50", "npv_musd"] - runs.loc["base", "npv_musd"], abs=1e-9)
    page = (tmp_path / "all_batch.html").read_text(encoding="utf-8")
    assert "Against base" in page and "fiscal cost per unit of depth" in page.lower()


def test_policy_sweep_is_read_against_base(tiny_workbook, tmp_path):
    # A sweep of a Policy row adds the unchanged workbook as run "base"; the Response
    # sheet still has one row per swept value, and a duty of 0.1 (the base's own value)
    # reproduces the base: all its Δ are 0.
    import pandas as pd

    from optmodel.batch.engine import run_sweep

    out = run_sweep(tiny_workbook, ["Policy|export_duty_rate|stage<=1|:value=0.1:0.5:2"],
                    out_dir=tmp_path, workers=1, page=False)
    assert out.exit_code == 0
    book = pd.read_excel(tmp_path / "batch.xlsx", sheet_name=None, engine="calamine")
    assert book["Runs"]["scenario"].tolist() == ["base", "sweep_001", "sweep_002"]
    assert len(book["Response"]) == 2
    v = book["Against base"].set_index("scenario")
    for col in ("d_chain_npv_musd", "d_national_npv_musd", "d_fiscal_balance_musd"):
        assert v.loc["sweep_001", col] == pytest.approx(0.0, abs=1e-9)


def test_compare_and_report_show_the_state_view(tmp_path):
    # The hand case without and with support 300 USD/t (the derivations above): compare's
    # KPIs carry the new Summary lines — national NPV 25 000 → 18 750 USD (−0.00625 MUSD),
    # fiscal balance 0 → −45 000 USD — with a narrative line for each; the single report
    # shows chain NPV, national NPV and fiscal balance side by side.
    from optmodel.compare import compare_tables
    from optmodel.io.results_read import read_results
    from optmodel.report.single import report_html, state_view

    _solve(tmp_path, motor_sheets(), "a")
    policy = [{"instrument": "domestic_demand_support_usd_per_t", "target": "stage>=6",
               "value": 300}]
    _solve(tmp_path, motor_sheets(policy=policy), "b")
    a, b = read_results(tmp_path / "a_out.xlsx"), read_results(tmp_path / "b_out.xlsx")
    sheets, narrative, _, _ = compare_tables([a, b], ["a", "b"])
    k = sheets["KPIs"].set_index("metric")
    assert k.loc["national_npv_musd", "change: b"] == pytest.approx(-0.00625, rel=1e-9)
    assert k.loc["fiscal_net_musd", "change: b"] == pytest.approx(-0.045, rel=1e-9)
    assert k.loc["support_musd", "changed"] == "yes"
    text = " ".join(str(line) for line in narrative)
    assert "national NPV" in text and "fiscal balance" in text
    view = state_view(b)
    assert list(view.columns[:3]) == ["chain NPV (MUSD)", "national NPV (MUSD)",
                                      "fiscal balance, present value (MUSD)"]
    assert view.iloc[0].tolist()[:3] == pytest.approx([0.06375, 0.01875, -0.045], rel=1e-9)
    assert "The chain and the state" in report_html(b, "b")


def test_relief_given_net_of_the_salvage_it_removed(tmp_path):
    # Years 2025–2026, discount 0, salvage on; no existing capacity: a line (1 000 t/yr,
    # capex 10 000 USD, lifetime 4, lead 0) with 40 % capex relief on plants; a fixed-price
    # row (1 000 USD/t, max 100 t/yr), opex 500 → margin 50 000 USD a year.
    # Built in 2025 (alive 2025–2028): capex after relief 6 000, salvage R = 2025 + 4 − 1
    # − 2026 = 2 years → 6 000 × 2/4 = 3 000; NPV = 100 000 − 6 000 + 3 000 = 97 000
    # (a 2026 start gives 50 000 − 6 000 + 4 500 = 48 500).  relief_given = 10 000 × 0.4 ×
    # (1 − 2/4) = 2 000; fiscal_net = −2 000; national NPV = 95 000 = 100 000 − 10 000 +
    # 5 000, the plan valued without relief.
    sheets = motor_sheets(elasticity=None, market_size_t=None, max_t=100, capacity=0,
                          policy=[{"instrument": "capex_relief_rate", "target": "plant",
                                   "value": 0.4}])
    sheets["Settings"] = settings_rows(2025, 2026, 0.0, salvage="on")
    sheets["BuildOptions"] = [{"option": "line", "node": "P", "process": "make",
                               "unit_capacity": 1000, "capex_musd": 0.01, "lifetime_years": 4}]
    s, _ = _solve(tmp_path, sheets)
    assert num(s["npv_musd"]) == pytest.approx(0.097, rel=1e-9)
    assert num(s["relief_given_musd"]) == pytest.approx(0.002, rel=1e-9)
    assert num(s["fiscal_net_musd"]) == pytest.approx(-0.002, rel=1e-9)
    assert num(s["pv_fiscal_net_musd"]) == pytest.approx(-0.002, rel=1e-9)
    assert num(s["national_npv_musd"]) == pytest.approx(0.095, rel=1e-9)
