"""``sensitivity``: parameters, the sampling-and-bisection search, the Flips and Tornado sheets.

The known-answer workbook (:func:`one_option_sheets`): one year (2026), discount
rate 0, mip_gap 0; option B at Plant makes 100 t of oxide (capex C MUSD, no
opex), sold at Plant for p USD/t.  Building earns 100 · p − C · 1e6 USD, not
building earns 0, so the plan flips at p* = 10,000 USD/t for C = 1, and at
C* = 1.2 MUSD for p = 12,000.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from tinycase import ROOT, tiny_sheets, write_input

from optmodel.batch.sensitivity import (
    FLIPS_COLUMNS,
    TORNADO_COLUMNS,
    Parameter,
    Point,
    default_parameters,
    parameters_for,
    parse_parameter,
    run_sensitivity,
    screen,
    tornado_table,
)
from optmodel.errors import InputError
from optmodel.io.read import read_raw

PRICE = "Markets|M|oxide|sell|domestic|:price_usd_per_t"
CAPEX = "BuildOptions|B:capex_musd"
BUILT, NONE = "B 1@2026", "nothing built"


def one_option_sheets(price: float = 12000.0, capex: float = 1.0) -> dict[str, list[dict]]:
    return {
        "Settings": [dict(key="first_year", value=2026), dict(key="last_year", value=2026),
                     dict(key="discount_rate", value=0), dict(key="mip_gap", value=0)],
        "Nodes": [dict(node="Plant", kind="plant"), dict(node="Port", kind="port")],
        "Products": [dict(product="oxide", stage=3, reo_content=1.0)],
        "Processes": [dict(process="make")],
        "Recipes": [dict(process="make", product="oxide", direction="out", qty_per_activity=1)],
        "BuildOptions": [dict(option="B", node="Plant", process="make", unit_capacity=100,
                              capex_musd=capex)],
        "Routes": [dict(origin="Plant", destination="Port", mode="rail", cost_usd_per_t=5)],
        "Markets": [dict(market="M", node="Plant", product="oxide", direction="sell",
                         scope="domestic", price_usd_per_t=price)],
    }


@pytest.fixture
def one_option(tmp_path):
    return write_input(tmp_path / "one.xlsx", one_option_sheets())


def _book(path):
    return pd.read_excel(path, sheet_name=None, engine="calamine")


# ------------------------------------------------------------------ known answers


def test_flip_points_of_one_build_option_are_bracketed(one_option, tmp_path):
    out = tmp_path / "sens.xlsx"
    res = run_sensitivity(one_option, [f"{PRICE}=6000:15000", f" {CAPEX} = 0.5 : 1.5 "],
                          output=out, workers=1)
    assert res.exit_code == 0
    book = _book(out)
    flips, tornado = book["Flips"], book["Tornado"]
    assert list(flips.columns) == FLIPS_COLUMNS and list(tornado.columns) == TORNADO_COLUMNS
    # by parameter, then value: BuildOptions before Markets
    assert flips["parameter"].tolist() == [CAPEX, PRICE]
    cap, pri = flips.iloc[0], flips.iloc[1]
    # p* = 10,000 inside a bracket narrower than 0.01 × (15,000 − 6,000) = 90
    assert pri["below"] < 10000 < pri["above"] and pri["above"] - pri["below"] < 90
    assert (pri["plan_below"], pri["plan_above"]) == (NONE, BUILT)
    assert pri["npv_below_musd"] == pytest.approx(0, abs=1e-9)
    assert pri["npv_above_musd"] == pytest.approx((100 * pri["above"] - 1e6) / 1e6, abs=1e-9)
    # C* = 1.2 inside a bracket narrower than 0.01 × (1.5 − 0.5)
    assert cap["below"] < 1.2 < cap["above"] and cap["above"] - cap["below"] < 0.01
    assert (cap["plan_below"], cap["plan_above"]) == (BUILT, NONE)
    # ends: price 6000 → 0, 15000 → 0.5; capex 0.5 → 1.2 − 0.5 = 0.7, 1.5 → 0
    t = tornado.set_index("parameter")
    assert t.index.tolist() == [CAPEX, PRICE]  # swing 0.7 before 0.5
    assert t.loc[CAPEX, ["npv_lo_musd", "npv_hi_musd", "swing_musd"]].tolist() == \
        pytest.approx([0.7, 0, 0.7], abs=1e-9)
    assert t.loc[PRICE, ["npv_lo_musd", "npv_hi_musd", "swing_musd"]].tolist() == \
        pytest.approx([0, 0.5, 0.5], abs=1e-9)
    assert t.loc[PRICE, ["base", "lo", "hi"]].tolist() == [12000, 6000, 15000]
    assert t.loc[CAPEX, "base"] == 1.0
    assert set(t["plan_changes"]) == {"yes"} and set(t["status"]) == {"optimal"}
    # 5 samples each and the base, then one midpoint per round: 2250 → 70.3 takes 5
    # halvings for the price, 0.25 → 0.0078 takes 5 for the capex
    assert res.solves == 2 * 5 + 1 + 2 * 5
    run = dict(zip(book["Run"]["key"], book["Run"]["value"], strict=True))
    assert float(run["mip_gap"]) == 0 and "missed" in run["note"]
    assert run["base_plan"] == BUILT and float(run["base_npv_musd"]) == pytest.approx(0.2)


def test_parameter_without_flips(one_option, tmp_path):
    # p ≥ 12,000 > p*: B is built everywhere; NPV 100 · p − 1e6
    res = run_sensitivity(one_option, [f"{PRICE}=12000:20000"], points=3,
                          output=tmp_path / "s.xlsx", workers=1)
    assert res.flips.empty and res.solves == 3 + 1
    row = res.tornado.iloc[0]
    assert row["plan_changes"] == "no"
    assert (row["npv_lo_musd"], row["npv_hi_musd"], row["swing_musd"]) == pytest.approx(
        (0.2, 1.0, 0.8))


def test_failed_end_gives_blank_npv_and_its_status(one_option, tmp_path):
    # a hard minimum above the 100 t capacity is infeasible: min_t 200 at the high end
    sheets = one_option_sheets()
    sheets["Markets"][0]["min_t"] = 0
    book, out = write_input(tmp_path / "min.xlsx", sheets), tmp_path / "s.xlsx"
    res = run_sensitivity(book, ["Markets|M|oxide|sell|domestic|:min_t=0:200"],
                          output=out, workers=1)
    assert res.exit_code == 1  # the worst of its runs; the workbook is still written
    t = _book(out)["Tornado"].iloc[0]
    assert t["npv_lo_musd"] == pytest.approx(0.2) and pd.isna(t["npv_hi_musd"])
    assert pd.isna(t["swing_musd"]) and t["status"] == "lo optimal; hi infeasible"
    flip = res.flips.iloc[0]  # where the runs stop solving: just above 100 t
    assert flip["below"] <= 100 < flip["above"] and flip["plan_above"] == "(infeasible)"
    assert pd.isna(flip["npv_above_musd"])


# ------------------------------------------------------------------ the search alone


def _fake(plan_of, npv_of=lambda i, x: x):
    """A solver: plan_of(param, value) → plan text (None = infeasible)."""
    calls: list[int] = []

    def solve(points: list[Point]) -> None:
        calls.append(len(points))
        for pt in points:
            plan = plan_of(pt.param, pt.value) if pt.param >= 0 else "base"
            pt.status = "optimal" if plan is not None else "infeasible"
            pt.exit_code = 0 if plan is not None else 1
            pt.plan = plan if plan is not None else "(infeasible)"
            pt.npv_musd = npv_of(pt.param, pt.value) if plan is not None else None

    return solve, calls


def _param(label: str, lo: float, hi: float, integer: bool = False) -> Parameter:
    return Parameter(label, "Markets", "*|*|*|*|*", "price_usd_per_t", lo, hi, None, integer)


def test_bisection_brackets_every_flip_and_rounds_are_batched():
    # param 0 flips at 0.37 (A→B) and at 0.412 (B→C): one sample interval [0.25, 0.5]
    # holds both, so the midpoint's third plan splits it; param 1 never flips
    def plan(i, x):
        return "A" if i == 1 or x < 0.37 else ("B" if x < 0.412 else "C")

    solve, calls = _fake(plan)
    res = screen([_param("p", 0, 1), _param("q", 0, 1)], solve, points=5, tol=0.01)
    got = [(br.below.value, br.above.value, br.below.plan, br.above.plan)
           for br in res.brackets]
    assert [g[2:] for g in got] == [("A", "B"), ("B", "C")]
    for (lo, hi, _, _), flip in zip(got, (0.37, 0.412), strict=True):
        assert lo < flip < hi and hi - lo < 0.01
    # every parameter × point and the base in one round; then the open brackets' midpoints:
    # [.25, .5] → .375 is B (split) → two brackets, halved until narrower than 0.01
    assert calls == [2 * 5 + 1, 1, 2, 2, 2, 2]


def test_change_and_back_between_samples_is_missed():
    solve, _ = _fake(lambda i, x: "B" if 0.3 < x < 0.4 else "A")
    res = screen([_param("p", 0, 1)], solve, points=5, tol=0.01, base=False)
    assert res.brackets == []  # samples 0, .25, .5, .75, 1 all give A (documented)


def test_whole_number_parameter_stops_at_neighbouring_integers():
    solve, _ = _fake(lambda i, x: "A" if x <= 3 else "B")
    res = screen([_param("lead", 0, 10, integer=True)], solve, points=3, tol=0.001, base=False)
    [br] = res.brackets
    assert (br.below.value, br.above.value) == (3, 4)


def test_tornado_sorted_by_swing_then_parameter_blank_last():
    npv = {0: lambda x: 5 * x, 1: lambda x: 2 * x, 2: lambda x: 2 * x, 3: lambda x: x}
    solve, _ = _fake(lambda i, x: None if i == 3 and x == 1 else "A",
                     lambda i, x: npv[i](x))
    params = [_param("b", 0, 1), _param("z", 0, 1), _param("a", 0, 1), _param("c", 0, 1)]
    t = tornado_table(screen(params, solve, points=2, base=False))
    assert t["parameter"].tolist() == ["b", "a", "z", "c"]  # 5, 2 (a before z), 2, blank
    assert t["swing_musd"].tolist()[:3] == [5, 2, 2] and pd.isna(t["swing_musd"].iloc[3])
    assert t["status"].tolist()[-1] == "lo optimal; hi infeasible"


def test_search_options_are_checked():
    solve, _ = _fake(lambda i, x: "A")
    for kw, words in ((dict(points=1), "--points"), (dict(tol=0), "--tol"),
                      (dict(tol=1.5), "--tol")):
        with pytest.raises(InputError, match=words):
            screen([_param("p", 0, 1)], solve, **kw)


# ------------------------------------------------------------------ parameters


@pytest.mark.parametrize("text, label, selector, column, lo, hi", [
    (f"{PRICE}=6000:15000", PRICE, "M|oxide|sell|domestic|", "price_usd_per_t", 6000, 15000),
    # a key with '=' before the first ':' (Policy targets): split at ':' first, then '='
    ("Policy|export_duty_rate|stage<=1|:value=0:0.5", "Policy|export_duty_rate|stage<=1|:value",
     "export_duty_rate|stage<=1|", "value", 0, 0.5),
    # spaces around the parts trimmed; the label keeps the sheet and column as typed
    (" markets|*|oxide|sell|*|* : Price_usd_per_t = -1e3 : 2_000 ",
     "markets|*|oxide|sell|*|*:Price_usd_per_t", "*|oxide|sell|*|*", "price_usd_per_t",
     -1000, 2000),
])
def test_parse_parameter(text, label, selector, column, lo, hi):
    p = parse_parameter(text)
    assert (p.label, p.selector, p.column, p.lo, p.hi) == (label, selector, column, lo, hi)


@pytest.mark.parametrize("text, words", [
    (f"{PRICE}", "expected SHEET|KEY:column=lo:hi"),
    (f"{PRICE}=5000", "must be lo:hi"),
    (f"{PRICE}=1:2:3", "must be lo:hi"),
    (f"{PRICE}=2:1", "above hi"),
    (f"{PRICE}=2:2", "equal"),
    ("Markets|M|oxide:price_usd_per_t=1:2", "has 5 position(s)"),
    ("Markets|M|oxide|sell|domestic|:price=1:2", "no column 'price'"),
])
def test_bad_parameters_say_what_is_wrong(text, words):
    with pytest.raises(InputError) as e:
        parse_parameter(text)
    assert words in str(e.value)


def test_selector_matching_no_row_and_base_of_set(one_option):
    raw = read_raw(one_option)
    with pytest.raises(InputError, match="matches no row"):
        parameters_for(raw, ["Markets|X|oxide|sell|domestic|:price_usd_per_t=1:2"], 0.3)
    [p] = parameters_for(raw, ["Markets|*|*|*|*|*:price_usd_per_t=1:2"], 0.3)
    assert p.base == 12000
    with pytest.raises(InputError, match="--range"):
        parameters_for(raw, [], 1.0)


def test_base_of_a_policy_target_selector_is_normalised(tiny_workbook):
    # the tiny workbook's duty row is written "stage<=1" with value 0.1
    [p] = parameters_for(read_raw(tiny_workbook),
                         ["Policy|export_duty_rate|Stage <= 1|:value=0:0.5"], 0.3)
    assert (p.label, p.base) == ("Policy|export_duty_rate|Stage <= 1|:value", 0.1)


def test_default_parameters_every_price_and_capex_zero_skipped(tmp_path):
    sheets = tiny_sheets()
    sheets["Markets"][1]["year"] = 2027
    sheets["Markets"].append(dict(market="Free", node="Port", product="oxide",
                                  direction="sell", scope="domestic", price_usd_per_t=0))
    sheets["BuildOptions"].append(dict(option="sep2", node="Plant", process="sep",
                                       unit_capacity=10, capex_musd=0))
    params = default_parameters(read_raw(write_input(tmp_path / "d.xlsx", sheets)), 0.25)
    got = [(p.label, p.base, p.lo, p.hi) for p in params]
    assert got == [
        ("Markets|ChinaC|conc|sell|export|:price_usd_per_t", 2000, 1500, 2500),
        ("Markets|JapanOx|oxide|sell|export|2027:price_usd_per_t", 20000, 15000, 25000),
        ("BuildOptions|sep1:capex_musd", 0.5, 0.375, 0.625),
    ]


# ------------------------------------------------------------------ command line


@pytest.mark.slow
def test_cli_writes_workbook_and_offline_page(one_option, tmp_path):
    out = tmp_path / "o" / "s.xlsx"
    out.parent.mkdir()
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), "sensitivity", str(one_option),
                        "--points", "3", "--tol", "0.05", "-o", str(out), "--workers", "1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    book = _book(out)
    assert list(book) == ["Flips", "Tornado", "Samples", "Run"]
    # defaults: the price (12,000 ± 30 %) and the capex (1 ± 30 %)
    assert sorted(book["Tornado"]["parameter"]) == [CAPEX, PRICE]
    page = out.with_suffix(".html").read_text(encoding="utf-8")
    assert "Plotly.newPlot" in page and "<script src" not in page and PRICE in page
    assert "Sensitivity runs" in r.stderr  # progress on stderr
    bad = subprocess.run([sys.executable, str(ROOT / "run.py"), "sensitivity", str(one_option),
                          "--set", f"{PRICE}=1:2:3"], capture_output=True, text=True)
    assert bad.returncode == 2 and "lo:hi" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_two_workers_and_a_scheduler_find_the_same_flips(one_option, tmp_path, monkeypatch):
    from dask.distributed import LocalCluster

    sets, kw = [f"{PRICE}=6000:15000"], dict(points=3, tol=0.05)
    one = run_sensitivity(one_option, sets, output=tmp_path / "a.xlsx", workers=1, **kw)
    two = run_sensitivity(one_option, sets, output=tmp_path / "b.xlsx", workers=2, **kw)
    pd.testing.assert_frame_equal(one.flips, two.flips)
    monkeypatch.setenv("OPTMODEL_WORKER_START", "spawn")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        far = run_sensitivity(one_option, sets, output=tmp_path / "c.xlsx",
                              scheduler=cluster.scheduler_address, **kw)
    pd.testing.assert_frame_equal(one.flips, far.flips)
    assert len(one.flips) == 1 and far.meta["scheduler"] == cluster.scheduler_address
