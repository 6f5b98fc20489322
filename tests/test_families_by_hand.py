"""One tiny workbook per constraint family and policy instrument, optimum derived by hand.

Each test writes a workbook of a few rows (docs/model.md §11), solves it in process
(load_tables → solve_tables, mip_gap 0) and checks the hand-derived optimum
worked out in the comment above it: the NPV (to 1e-9 relative or 1e-6 USD
absolute, whichever is looser), the quantities that decide it (tonnes, units
built, start years) and, where the family is a constraint, that the row the
derivation says is tight is listed in the Binding sheet.

Shared skeleton (:func:`base`): one plant node ``S`` (kind plant), one product
``goods`` (stage 1, 1 t REO per t), one process ``make`` with no inputs that
outputs 1 t of goods per activity. Unless a test says otherwise: discount rate
0, salvage off, one year (2025), all costs 0. Money is USD; the model reports
MUSD, so capex_musd 0.001 is 1 000 USD.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from workbooks import settings_rows, write_input_workbook

from optmodel.pipeline import load_tables, solve_options, solve_tables

Y = 2025


# ----------------------------------------------------------------------------- helpers


def base(first: int = Y, last: int = Y, rate: float = 0.0, **settings: Any
         ) -> dict[str, list[dict[str, Any]]]:
    """The skeleton sheets; tests add NodeProcesses, BuildOptions, Markets … to it."""
    return {
        "Settings": settings_rows(first, last, rate, **settings),
        "Nodes": [{"node": "S", "kind": "plant", "country": "Russia"},
                  {"node": "Z", "kind": "hub", "country": "Russia"}],
        "Products": [{"product": "goods", "stage": 1, "reo_content": 1.0}],
        "Processes": [{"process": "make", "stage_from": 1, "stage_to": 1}],
        "Recipes": [{"process": "make", "product": "goods", "direction": "out",
                     "qty_per_activity": 1}],
        # a route to a node with no use for anything: pruned from the model, it changes
        # nothing, but a workbook with no route at all fails (see
        # test_a_workbook_without_routes_solves); tests that need routes replace the list
        "Routes": [{"origin": "S", "destination": "Z", "mode": "road"}],
    }


def sell(market: str, price: float, node: str = "S", product: str = "goods",
         scope: str = "domestic", **extra: Any) -> dict[str, Any]:
    return {"market": market, "node": node, "product": product, "direction": "sell",
            "scope": scope, "price_usd_per_t": price, **extra}


def buy(market: str, price: float, product: str, node: str = "S", scope: str = "domestic",
        **extra: Any) -> dict[str, Any]:
    return {"market": market, "node": node, "product": product, "direction": "buy",
            "scope": scope, "price_usd_per_t": price, **extra}


def option(name: str, capacity: float, capex_musd: float, node: str = "S",
           process: str = "make", **extra: Any) -> dict[str, Any]:
    return {"option": name, "node": node, "process": process, "unit_capacity": capacity,
            "capex_musd": capex_musd, **extra}


@dataclass
class Solved:
    """A solved case: the NPV in USD as the solver reports it, and the result tables."""

    npv_usd: float
    tables: dict[str, pd.DataFrame]

    @property
    def summary(self) -> dict[str, Any]:
        s = self.tables["Summary"]
        return dict(zip(s["metric"], s["value"], strict=True))

    def total(self, sheet: str, column: str, **where: Any) -> float:
        """Σ sheet[column] over the rows matching ``where``."""
        df = self.tables[sheet]
        mask = pd.Series(True, index=df.index)
        for k, v in where.items():
            mask &= df[k] == v
        return float(df.loc[mask, column].sum())

    def tonnes(self, market: str, year: int | None = None) -> float:
        """Tonnes traded on a market row (all years unless ``year``)."""
        where = {"market": market} if year is None else {"market": market, "year": year}
        return self.total("Trade", "tonnes", **where)

    def unmet(self, market: str, year: int = Y) -> float:
        return self.total("Trade", "unmet_t", market=market, year=year)

    def activity(self, process: str = "make", year: int = Y, node: str = "S") -> float:
        return self.total("Activity", "activity", node=node, process=process, year=year)

    def capacity(self, process: str = "make", year: int = Y, node: str = "S") -> float:
        return self.total("Activity", "capacity", node=node, process=process, year=year)

    def flow(self, origin: str, destination: str, year: int) -> float:
        return self.total("Flows", "tonnes", origin=origin, destination=destination, year=year)

    def builds(self, opt: str) -> dict[int, float]:
        """Start year → units of one option (only years with a build)."""
        b = self.tables["Builds"]
        b = b[b["option"] == opt]
        return {int(y): float(u) for y, u in zip(b["year"], b["units"], strict=True)}

    def binding(self) -> set[tuple[str, str]]:
        b = self.tables["Binding"]
        return set(zip(b["constraint"], b["index"].astype(str), strict=True))


def solve(tmp_path: Path, sheets: dict[str, list[dict[str, Any]]], name: str = "case"
          ) -> Solved:
    """Write the sheets, load them as the CLI would and solve to optimality (mip_gap 0)."""
    path = write_input_workbook(tmp_path / f"{name}.xlsx", sheets)
    tables = load_tables(path)
    _, _, sol, res = solve_tables(tables, solve_options(tables.settings, mip_gap=0.0))
    assert sol.status == "optimal", sol.status
    return Solved(sol.objective_usd, res)


def assert_npv(got_usd: float, expected_usd: float) -> None:
    assert got_usd == pytest.approx(expected_usd, rel=1e-9, abs=1e-6)


def close(x: float, expected: float) -> bool:
    return x == pytest.approx(expected, rel=1e-9, abs=1e-6)


# ----------------------------------------------------------------- 1. product_balance


def test_product_balance_recipe_using_and_making_the_same_product(tmp_path: Path) -> None:
    # Separation at S uses 1 t reagent per activity and gives 0.6 t of it back (a recipe
    # with an in and an out row for the same product), with 2 t ore → 1 t oxide.
    # Mining: no inputs, 1 t ore, existing 100 /yr; separation existing 50 /yr.
    # Reagent is bought at 10 USD/t, oxide sold at 1 000 USD/t.
    # Per activity: net reagent 1 − 0.6 = 0.4 t = 4 USD; oxide 1 000 → run at the
    # separation capacity 50 (ore 100 = exactly enough). Reagent bought = 50 × 0.4 = 20 t.
    # NPV = 50 × 1 000 − 20 × 10 = 49 800 USD. (Were the balance to ignore the out row,
    # 50 t would be bought: 49 500.)
    sheets = base()
    sheets["Products"] = [{"product": "ore", "stage": 0, "reo_content": 0.5},
                          {"product": "reagent", "stage": 0, "reo_content": 0.0},
                          {"product": "oxide", "stage": 3, "reo_content": 1.0}]
    sheets["Processes"] = [{"process": "mining"}, {"process": "sep"}]
    sheets["Recipes"] = [
        {"process": "mining", "product": "ore", "direction": "out", "qty_per_activity": 1},
        {"process": "sep", "product": "ore", "direction": "in", "qty_per_activity": 2},
        {"process": "sep", "product": "reagent", "direction": "in", "qty_per_activity": 1},
        {"process": "sep", "product": "reagent", "direction": "out", "qty_per_activity": 0.6},
        {"process": "sep", "product": "oxide", "direction": "out", "qty_per_activity": 1},
    ]
    sheets["NodeProcesses"] = [{"node": "S", "process": "mining", "existing_capacity": 100},
                               {"node": "S", "process": "sep", "existing_capacity": 50}]
    sheets["Markets"] = [buy("reagent_in", 10, "reagent"), sell("oxide_out", 1000,
                                                                  product="oxide")]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 49_800)
    assert close(r.activity("sep"), 50)
    assert close(r.tonnes("reagent_in"), 20)
    assert close(r.tonnes("oxide_out"), 50)
    assert ("process_capacity", f"S|sep|{Y}") in r.binding()


# ---------------------------------------------------------------- 2. process_capacity


def test_process_capacity_existing_retired_by_a_year_row_of_zero(tmp_path: Path) -> None:
    # Years 2025–2027, rate 0. make at S: existing 10 /yr (blank-year row) and a 2027 row
    # with existing 0 (retired). Sold at 100 USD/t, unlimited.
    # 2025, 2026: 10 t each at capacity; 2027: no capacity, nothing.
    # NPV = 2 × 10 × 100 = 2 000 USD.
    sheets = base(Y, Y + 2)
    sheets["NodeProcesses"] = [
        {"node": "S", "process": "make", "existing_capacity": 10},
        {"node": "S", "process": "make", "year": Y + 2, "existing_capacity": 0},
    ]
    sheets["Markets"] = [sell("home", 100)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 2_000)
    assert close(r.tonnes("home", Y), 10) and close(r.tonnes("home", Y + 1), 10)
    assert close(r.tonnes("home", Y + 2), 0)
    assert close(r.capacity(year=Y + 2), 0)
    assert {("process_capacity", f"S|make|{y}") for y in (Y, Y + 1)} <= r.binding()


def test_process_capacity_existing_plus_built_units(tmp_path: Path) -> None:
    # make at S: existing 10 /yr; option u adds 10 /yr for capex 500 USD (binary). Goods
    # sell at 100 USD/t, at most 20 t. The unit adds 10 t = 1 000 for 500: built.
    # Capacity 10 + 10 = 20, all used. NPV = 2 000 − 500 = 1 500 USD.
    sheets = base()
    sheets["NodeProcesses"] = [{"node": "S", "process": "make", "existing_capacity": 10}]
    sheets["BuildOptions"] = [option("u", 10, 0.0005)]
    sheets["Markets"] = [sell("home", 100, max_t=20)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 1_500)
    assert r.builds("u") == {Y: 1.0}
    assert close(r.capacity(), 20) and close(r.activity(), 20)
    assert ("process_capacity", f"S|make|{Y}") in r.binding()


# ---------------------------------------------------------------- 3. process_min_load


def test_process_min_load_on_existing_capacity(tmp_path: Path) -> None:
    # make at S: existing 10, min_load 0.6, opex 50 USD/t; goods sell at 30 USD/t: every
    # tonne loses 20, so the plant runs at its minimum 0.6 × 10 = 6 t.
    # NPV = 6 × (30 − 50) = −120 USD.
    sheets = base()
    sheets["NodeProcesses"] = [{"node": "S", "process": "make", "existing_capacity": 10,
                                "opex_usd_per_activity": 50, "min_load": 0.6}]
    sheets["Markets"] = [sell("home", 30)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, -120)
    assert close(r.activity(), 6)
    assert ("process_min_load", f"S|make|{Y}") in r.binding()


def test_process_min_load_on_built_capacity(tmp_path: Path) -> None:
    # Years 2025–2026, rate 0. No existing capacity; option u (10 /yr, capex 1 000 USD,
    # max 1 unit, lead 0). make: opex 100 USD/t, min_load 0.5. Price 300 in 2025 and 50
    # in 2026 (year rows).
    # Build in 2025: 2025 runs 10 t at +200 = 2 000; in 2026 the unit must run at
    # 0.5 × 10 = 5 t at −50 = −250; capex 1 000 → 750. A start in 2026 only loses;
    # no build is 0. NPV = 750 USD, activity 2026 = 5.
    sheets = base(Y, Y + 1)
    sheets["NodeProcesses"] = [{"node": "S", "process": "make", "opex_usd_per_activity": 100,
                                "min_load": 0.5}]
    sheets["BuildOptions"] = [option("u", 10, 0.001)]
    sheets["Markets"] = [sell("home", 300, year=Y), sell("home", 50, year=Y + 1)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 750)
    assert r.builds("u") == {Y: 1.0}
    assert close(r.activity(year=Y), 10) and close(r.activity(year=Y + 1), 5)
    assert ("process_min_load", f"S|make|{Y + 1}") in r.binding()


# --------------------------------------------------------------------- 4. build_limit


def test_build_limit_caps_integer_units_over_the_horizon(tmp_path: Path) -> None:
    # Years 2025–2026, rate 0. Option u: 10 /yr, capex 400 USD, max_units 2, lead 0.
    # Goods sell at 100 USD/t, at most 35 t a year. A unit started in 2025 earns
    # 2 × 1 000 − 400 = 1 600; a third unit (5 t more a year in the market) would still
    # add 2 × 500 − 400 = 600, but max_units counts units started over the horizon: 2.
    # NPV = 2 × 1 600 = 3 200 USD, both units in 2025.
    sheets = base(Y, Y + 1)
    sheets["BuildOptions"] = [option("u", 10, 0.0004, max_units=2)]
    sheets["Markets"] = [sell("home", 100, max_t=35)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 3_200)
    assert r.builds("u") == {Y: 2.0}
    assert close(r.tonnes("home", Y), 20) and close(r.tonnes("home", Y + 1), 20)
    assert ("build_limit", "u") in r.binding()


# ------------------------------------------------------------------ 5. node_open_link


def test_node_open_link_opening_cost_paid_once_undiscounted(tmp_path: Path) -> None:
    # Years 2025–2026, rate 10 %. Node S has an opening cost of 500 USD. Option u at S:
    # 10 /yr, capex 0, max_units 2, earliest_year 2026 (lead 0). Price 110 USD/t: a unit
    # in 2026 earns 1 100 / 1.1 = 1 000 in present value.
    # Two units (both in 2026), S opened once: 2 × 1 000 − 500 = 1 500 USD.
    # (Opening cost discounted to 2026: 1 545.45; charged per unit: 1 000.)
    sheets = base(Y, Y + 1, 0.10)
    sheets["Nodes"][0]["opening_cost_musd"] = 0.0005
    sheets["BuildOptions"] = [option("u", 10, 0.0, max_units=2, earliest_year=Y + 1)]
    sheets["Markets"] = [sell("home", 110)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 1_500)
    assert r.builds("u") == {Y + 1: 2.0}
    assert close(float(r.summary["opening_cost_musd"]), 0.0005)
    assert close(float(r.summary["pv_opening_cost_musd"]), -0.0005)
    assert ("node_open_link", f"u|{Y + 1}") in r.binding()


def test_node_opening_cost_can_stop_a_build(tmp_path: Path) -> None:
    # As above with an opening cost of 2 500 USD > the 2 000 the two units earn: S stays
    # closed and nothing is built. NPV = 0.
    sheets = base(Y, Y + 1, 0.10)
    sheets["Nodes"][0]["opening_cost_musd"] = 0.0025
    sheets["BuildOptions"] = [option("u", 10, 0.0, max_units=2, earliest_year=Y + 1)]
    sheets["Markets"] = [sell("home", 110)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 0)
    assert r.builds("u") == {}


# ------------------------------------------------------- 6. deposit_reserve, deposit_annual


def test_deposit_reserve_and_annual_limit(tmp_path: Path) -> None:
    # Years 2025–2027, rate 0. Mine S: make (the mining process) existing 100 /yr;
    # deposit D (goods at S): reserve 150 t, at most 60 t a year, extraction tax 2 USD/t.
    # Price 10, 12, 14 USD/t in 2025, 2026, 2027 (year rows), unlimited.
    # The reserve (150 < 3 × 60) goes to the dearest years first: 60 t in 2027, 60 t in
    # 2026 (annual limit binds), the last 30 t in 2025.
    # NPV = 30 × 8 + 60 × 10 + 60 × 12 = 1 560 USD; extraction tax 150 × 2 = 300 USD.
    sheets = base(Y, Y + 2)
    sheets["Nodes"][0]["kind"] = "mine"
    sheets["NodeProcesses"] = [{"node": "S", "process": "make", "existing_capacity": 100}]
    sheets["Deposits"] = [{"deposit": "D", "node": "S", "product": "goods", "reserve_t": 150,
                           "max_per_year_t": 60, "extraction_tax_usd_per_t": 2}]
    sheets["Markets"] = [sell("home", 10 + 2 * k, year=Y + k) for k in range(3)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 1_560)
    assert [round(r.tonnes("home", Y + k), 9) for k in range(3)] == [30, 60, 60]
    assert close(float(r.summary["extraction_tax_musd"]), 0.0003)
    assert {("deposit_reserve", "D"), ("deposit_annual", f"D|{Y + 1}"),
            ("deposit_annual", f"D|{Y + 2}")} <= r.binding()
    assert ("deposit_annual", f"D|{Y}") not in r.binding()


# ------------------------------------------------------------------ 7. route_capacity


def test_route_capacity_and_a_route_open_only_some_years(tmp_path: Path) -> None:
    # Years 2025–2026, rate 0. S makes up to 100 t/yr (existing). Markets: X pays 50 USD/t,
    # Y pays 40, both unlimited, goods can only reach them by route:
    #   S→X rail, 5 USD/t, capacity 30 t/yr (net 45 per tonne);
    #   S→Y road, free, open in 2026 only (first_year = last_year = 2026).
    # 2025: 30 t to X = 1 350. 2026: 30 t to X = 1 350 and 70 t to Y = 2 800.
    # NPV = 5 500 USD.
    sheets = base(Y, Y + 1)
    sheets["Nodes"] += [{"node": "X", "kind": "market"}, {"node": "Y", "kind": "market"}]
    sheets["NodeProcesses"] = [{"node": "S", "process": "make", "existing_capacity": 100}]
    sheets["Routes"] = [
        {"origin": "S", "destination": "X", "mode": "rail", "cost_usd_per_t": 5,
         "capacity_t_per_year": 30},
        {"origin": "S", "destination": "Y", "mode": "road", "first_year": Y + 1,
         "last_year": Y + 1},
    ]
    sheets["Markets"] = [sell("mx", 50, node="X"), sell("my", 40, node="Y")]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 5_500)
    assert close(r.flow("S", "X", Y), 30) and close(r.flow("S", "X", Y + 1), 30)
    assert close(r.flow("S", "Y", Y), 0) and close(r.flow("S", "Y", Y + 1), 70)
    assert {("route_capacity", f"S|X|rail|{y}") for y in (Y, Y + 1)} <= r.binding()


# ------------------------------------------------------------- 8. market_max, market_min


def test_market_max_and_hard_market_min(tmp_path: Path) -> None:
    # make at S: existing 100, opex 20 USD/t. Market A pays 50, max 30 t; market B pays 10
    # with a hard minimum of 20 t (no penalty in Settings).
    # A: 30 t at +30 = 900 (max binds); B: exactly 20 t at −10 = −200.
    # NPV = 700 USD.
    sheets = base()
    sheets["NodeProcesses"] = [{"node": "S", "process": "make", "existing_capacity": 100,
                                "opex_usd_per_activity": 20}]
    sheets["Markets"] = [sell("A", 50, max_t=30), sell("B", 10, min_t=20)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 700)
    assert close(r.tonnes("A"), 30) and close(r.tonnes("B"), 20)
    assert close(r.unmet("B"), 0)
    assert {("market_max", f"A|goods|sell|domestic|{Y}"),
            ("market_min", f"B|goods|sell|domestic|{Y}")} <= r.binding()


@pytest.mark.parametrize(("penalty", "unmet", "npv"), [
    # Capacity 40 t, opex 20. A: 50 USD/t, max 30 (+30 a tonne); B: 10 USD/t, min 20.
    # Penalty 5 < the 10 a tonne supplied to B loses: B gets nothing, 20 t unmet.
    #   NPV = 900 − 20 × 5 = 800.
    (5.0, 20.0, 800.0),
    # Penalty 15 > 10: supplying B beats paying, but A earns more per tonne of the
    # shared capacity: A 30 t, B 10 t, 10 t unmet.
    #   NPV = 900 − 10 × 10 − 10 × 15 = 650.
    (15.0, 10.0, 650.0),
])
def test_soft_market_min_with_unmet_penalty(tmp_path: Path, penalty: float, unmet: float,
                                            npv: float) -> None:
    sheets = base(unmet_penalty_usd_per_t=penalty)
    sheets["NodeProcesses"] = [{"node": "S", "process": "make", "existing_capacity": 40,
                                "opex_usd_per_activity": 20}]
    sheets["Markets"] = [sell("A", 50, max_t=30), sell("B", 10, min_t=20)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, npv)
    assert close(r.tonnes("A"), 30)
    assert close(r.unmet("B"), unmet) and close(r.tonnes("B"), 20 - unmet)
    assert close(float(r.summary["unmet_demand_t"]), unmet)
    assert close(float(r.summary["unmet_penalty_musd"]), unmet * penalty / 1e6)
    assert ("market_min", f"B|goods|sell|domestic|{Y}") in r.binding()


def test_market_min_on_a_buy_row_with_disposal(tmp_path: Path) -> None:
    # A take-or-pay purchase: make at S turns 1 t reagent into 1 t goods (existing 10 /yr),
    # goods sell at 50 USD/t. Reagent is bought at 10 USD/t with min_t 15 (buy rows:
    # trade ≥ min_t, always hard); what is not used is disposed of at 2 USD/t.
    # Buy 15, use 10, dispose 5: NPV = 10 × 50 − 15 × 10 − 5 × 2 = 340 USD.
    sheets = base()
    sheets["Products"].append({"product": "reagent", "stage": 0, "reo_content": 0.0,
                               "disposal_cost_usd_per_t": 2})
    sheets["Recipes"].append({"process": "make", "product": "reagent", "direction": "in",
                              "qty_per_activity": 1})
    sheets["NodeProcesses"] = [{"node": "S", "process": "make", "existing_capacity": 10}]
    sheets["Markets"] = [sell("home", 50), buy("R", 10, "reagent", min_t=15)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 340)
    assert close(r.tonnes("R"), 15) and close(r.tonnes("home"), 10)
    assert close(r.total("Disposal", "tonnes", product="reagent"), 5)
    assert ("market_min", f"R|reagent|buy|domestic|{Y}") in r.binding()


# -------------------------------------------------------------------- 9. export_quota


def _conc_oxide(sep_capacity: float, oxide_price: float, oxide_scope: str = "export"
                ) -> dict[str, list[dict[str, Any]]]:
    """S makes conc (stage 1, REO 0.5) up to 100 t; sep turns 2 t conc into 1 t oxide
    (stage 3, REO 1). Conc exports at 100 USD/t; oxide sells at ``oxide_price``."""
    sheets = base()
    sheets["Products"] = [{"product": "conc", "stage": 1, "reo_content": 0.5},
                          {"product": "oxide", "stage": 3, "reo_content": 1.0}]
    sheets["Processes"] = [{"process": "mkconc"}, {"process": "sep"}]
    sheets["Recipes"] = [
        {"process": "mkconc", "product": "conc", "direction": "out", "qty_per_activity": 1},
        {"process": "sep", "product": "conc", "direction": "in", "qty_per_activity": 2},
        {"process": "sep", "product": "oxide", "direction": "out", "qty_per_activity": 1},
    ]
    sheets["NodeProcesses"] = [
        {"node": "S", "process": "mkconc", "existing_capacity": 100},
        {"node": "S", "process": "sep", "existing_capacity": sep_capacity},
    ]
    sheets["Markets"] = [sell("conc_x", 100, product="conc", scope="export"),
                         sell("oxide_m", oxide_price, product="oxide", scope=oxide_scope)]
    return sheets


def test_export_quota_on_a_product(tmp_path: Path) -> None:
    # _conc_oxide with sep capacity 20, oxide exported at 150 USD/t, plus a domestic conc
    # market at 60. Without a quota all 100 t conc go abroad (10 000).
    # Quota conc ≤ 40 t (exports only): 40 t conc abroad = 4 000; the other 60 t: sep pays
    # 150 / 2 = 75 a tonne of conc > 60 domestic, so sep runs at 20 (40 t conc → 20 t
    # oxide = 3 000) and 20 t go to the domestic market = 1 200.
    # NPV = 8 200 USD.
    sheets = _conc_oxide(20, 150)
    sheets["Markets"].append(sell("conc_home", 60, product="conc"))
    sheets["Policy"] = [{"instrument": "export_quota_t", "target": "conc", "value": 40}]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 8_200)
    assert close(r.tonnes("conc_x"), 40)
    assert close(r.tonnes("oxide_m"), 20) and close(r.tonnes("conc_home"), 20)
    assert ("export_quota", f"conc|{Y}") in r.binding()


def test_export_quota_on_a_stage_target(tmp_path: Path) -> None:
    # As above, oxide at 250 USD/t, and the quota "Stage <= 3" ≤ 50 t counts conc and
    # oxide exports. With x t conc and y t oxide exported, the rest z = 100 − x − 2y of
    # conc sold at home: NPV = 100x + 250y + 60z = 6 000 + 40x + 130y with x + y ≤ 50,
    # y ≤ 20 (sep capacity): y = 20, x = 30, z = 30.
    # NPV = 3 000 + 5 000 + 1 800 = 9 800 USD.
    sheets = _conc_oxide(20, 250)
    sheets["Markets"].append(sell("conc_home", 60, product="conc"))
    sheets["Policy"] = [{"instrument": "export_quota_t", "target": "Stage <= 3", "value": 50}]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 9_800)
    assert close(r.tonnes("conc_x"), 30) and close(r.tonnes("oxide_m"), 20)
    assert close(r.tonnes("conc_home"), 30)
    assert ("export_quota", f"stage<=3|{Y}") in r.binding()


# ---------------------------------------------------- 10. min_domestic_processing_share


def test_min_domestic_processing_share(tmp_path: Path) -> None:
    # _conc_oxide with sep capacity 100 and oxide exported at 150 USD/t (75 per tonne of
    # conc, less than the 100 conc earns abroad): without policy 100 t conc go abroad.
    # Share 0.5 for stage 3: REO exported below stage 3 ≤ (1 − 0.5) × REO sold:
    #   0.5x ≤ 0.5 (0.5x + y)  ⇔  x ≤ 2y, with x + 2y ≤ 100 conc.
    # Max 100x + 150y: the share binds, x = 2y, 4y = 100: y = 25, x = 50.
    # NPV = 5 000 + 3 750 = 8 750 USD (oxide, stage 3, is not "below 3" though exported).
    sheets = _conc_oxide(100, 150)
    sheets["Policy"] = [{"instrument": "min_domestic_processing_share", "target": 3,
                         "value": 0.5}]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 8_750)
    assert close(r.tonnes("conc_x"), 50) and close(r.tonnes("oxide_m"), 25)
    assert ("min_domestic_processing", f"3|{Y}") in r.binding()


# ----------------------------------------------------------------- 11. investment_budget


@pytest.mark.parametrize(("rows", "units", "npv", "tight"), [
    # Years 2025–2026, rate 0. Option u: 10 /yr, capex 1 000 USD, max_units 3, lead 0.
    # Price 120 USD/t, unlimited: a unit started in 2025 earns 2 400 − 1 000 = 1 400, one
    # started in 2026 earns 1 200 − 1 000 = 200. Unconstrained: 3 units in 2025 = 4 200.
    #
    # A 2025 row of 2 000 USD: 2 units in 2025, the third in 2026: 2 800 + 200 = 3 000.
    ([{"year": Y, "value": 0.002}], {Y: 2.0, Y + 1: 1.0}, 3_000, ["2025"]),
    # A blank-year row of 2 000 USD caps all starts together: 2 units in 2025 = 2 800.
    ([{"value": 0.002}], {Y: 2.0}, 2_800, ["all"]),
    # Both: 2025 ≤ 1 000 and the horizon ≤ 3 000: 1 unit in 2025, 2 in 2026:
    # 1 400 + 2 × 200 = 1 800.
    ([{"year": Y, "value": 0.001}, {"value": 0.003}], {Y: 1.0, Y + 1: 2.0}, 1_800,
     ["2025", "all"]),
])
def test_investment_budget_year_and_whole_horizon(tmp_path: Path, rows, units, npv,
                                                  tight) -> None:
    sheets = base(Y, Y + 1)
    sheets["BuildOptions"] = [option("u", 10, 0.001, max_units=3)]
    sheets["Markets"] = [sell("home", 120)]
    sheets["Policy"] = [{"instrument": "investment_budget_musd", **row} for row in rows]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, npv)
    assert r.builds("u") == units
    assert {("investment_budget", t) for t in tight} <= r.binding()


# ----------------------------------------------------------------- 12. capex_relief_rate


def test_capex_relief_node_and_kind_highest_rate_wins(tmp_path: Path) -> None:
    # Two nodes, each with one binary option (10 /yr, capex 1 000 USD) and its own market
    # at 120 USD/t (a unit earns 1 200). Relief rows (the highest rate in force wins):
    #   S (a plant): node "S" 0.3, kind "plant" 0.5 → 0.5, capex 500;
    #   T (a technopark): node "T" 0.4, kind "technopark" 0.2 → 0.4, capex 600.
    # A whole-horizon budget of 1 100 USD = 500 + 600 admits both builds only because the
    # budget counts capex after relief (any lower rate at either node breaks it).
    # NPV = (1 200 − 500) + (1 200 − 600) = 1 300 USD.
    sheets = base()
    sheets["Nodes"].append({"node": "T", "kind": "technopark", "country": "Russia"})
    sheets["BuildOptions"] = [option("us", 10, 0.001), option("ut", 10, 0.001, node="T")]
    sheets["Markets"] = [sell("ms", 120), sell("mt", 120, node="T")]
    sheets["Policy"] = [
        {"instrument": "capex_relief_rate", "target": "S", "value": 0.3},
        {"instrument": "capex_relief_rate", "target": "plant", "value": 0.5},
        {"instrument": "capex_relief_rate", "target": "T", "value": 0.4},
        {"instrument": "capex_relief_rate", "target": "technopark", "value": 0.2},
        {"instrument": "investment_budget_musd", "value": 0.0011},
    ]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 1_300)
    assert r.builds("us") == {Y: 1.0} and r.builds("ut") == {Y: 1.0}
    b = r.tables["Builds"].set_index("option")["capex_musd"]
    assert close(float(b["us"]), 0.0005) and close(float(b["ut"]), 0.0006)
    assert ("investment_budget", "all") in r.binding()


# ------------------------------------------------ 13. processing_subsidy_usd_per_activity


def test_processing_subsidies_for_one_process_add_up(tmp_path: Path) -> None:
    # make at S: existing 10, opex 100 USD/t; goods at 80 USD/t lose 20 a tonne. Subsidy
    # rows: blank target (every process) 15 and "make" 10 → 25 a unit of activity, so each
    # tonne gains 5 (with only the larger row, 15, it would still lose 5 and stay idle).
    # NPV = 10 × 5 = 50 USD; subsidies 250 USD.
    sheets = base()
    sheets["NodeProcesses"] = [{"node": "S", "process": "make", "existing_capacity": 10,
                                "opex_usd_per_activity": 100}]
    sheets["Markets"] = [sell("home", 80)]
    sheets["Policy"] = [
        {"instrument": "processing_subsidy_usd_per_activity", "value": 15},
        {"instrument": "processing_subsidy_usd_per_activity", "target": "make", "value": 10},
    ]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 50)
    assert close(r.activity(), 10)
    assert close(float(r.summary["subsidies_musd"]), 0.00025)


# ------------------------------------------------- 14. export_duty_rate, import_duty_rate


def test_export_and_import_duties_highest_rate_wins(tmp_path: Path) -> None:
    # S makes conc (stage 1) up to 10 t and exports it at 100 USD/t. Export duty rows
    # matching conc: blank target 0.05, "conc" 0.1, "stage<=1" 0.25 → 0.25:
    #   10 × 100 × 0.75 = 750.
    # S also turns 1 t reagent (stage 0) into 1 t goods (up to 10 t), goods sold at home at
    # 50 USD/t. Reagent: a domestic buy row at 13 USD/t for at most 4 t, and an import row
    # at 10 USD/t. Import duty rows for reagent: "reagent" 0.2, "stage<=2" 0.4 → 0.4, an
    # imported tonne costs 14 > 13: 4 t domestic, 6 t imported:
    #   10 × 50 − 4 × 13 − 6 × 14 = 364.
    # NPV = 750 + 364 = 1 114 USD; duties: export 250, import 6 × 4 = 24.
    sheets = base()
    sheets["Products"] = [{"product": "goods", "stage": 4, "reo_content": 1.0},
                          {"product": "conc", "stage": 1, "reo_content": 0.5},
                          {"product": "reagent", "stage": 0, "reo_content": 0.0}]
    sheets["Processes"] = [{"process": "mkconc"}, {"process": "make"}]
    sheets["Recipes"] = [
        {"process": "mkconc", "product": "conc", "direction": "out", "qty_per_activity": 1},
        {"process": "make", "product": "reagent", "direction": "in", "qty_per_activity": 1},
        {"process": "make", "product": "goods", "direction": "out", "qty_per_activity": 1},
    ]
    sheets["NodeProcesses"] = [{"node": "S", "process": "mkconc", "existing_capacity": 10},
                               {"node": "S", "process": "make", "existing_capacity": 10}]
    sheets["Markets"] = [
        sell("conc_x", 100, product="conc", scope="export"),
        sell("home", 50),
        buy("reagent_home", 13, "reagent", max_t=4),
        buy("reagent_imp", 10, "reagent", scope="import"),
    ]
    sheets["Policy"] = [
        {"instrument": "export_duty_rate", "value": 0.05},
        {"instrument": "export_duty_rate", "target": "conc", "value": 0.1},
        {"instrument": "export_duty_rate", "target": "stage<=1", "value": 0.25},
        {"instrument": "import_duty_rate", "target": "reagent", "value": 0.2},
        {"instrument": "import_duty_rate", "target": "stage<=2", "value": 0.4},
    ]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 1_114)
    assert close(r.tonnes("conc_x"), 10)
    assert close(r.tonnes("reagent_home"), 4) and close(r.tonnes("reagent_imp"), 6)
    assert close(float(r.summary["export_duties_musd"]), 0.00025)
    assert close(float(r.summary["import_duties_musd"]), 0.000024)


# ----------------------------------------------------------------------- 15. salvage


def test_salvage_remaining_life_valued_at_the_last_year(tmp_path: Path) -> None:
    # Years 2025–2027 (L = 2027), rate 10 % (d = 1, 1/1.1, 1/1.21), salvage on.
    # Option u: 10 /yr, capex 1 210 USD, lead 1, lifetime 4, max 1 unit; price 121 USD/t
    # (a year's output is 1 210 USD).
    # Start 2025: alive 2026–2029; R = min(4, max(0, 2025 + 1 + 4 − 1 − 2027)) = 2;
    #   revenue 1 210/1.1 + 1 210/1.21 = 2 100, capex 1 210,
    #   salvage 1 210 × 2/4 × 1/1.21 = 500 → 1 390.
    # Start 2026: alive 2027–2030; R = 3; revenue 1 000, capex 1 100, salvage
    #   1 210 × 3/4 /1.21 = 750 → 650. So: start 2025, NPV = 1 390 USD
    #   (890 without salvage); salvage_musd = 605 USD undiscounted.
    sheets = base(Y, Y + 2, 0.10, salvage="on")
    sheets["BuildOptions"] = [option("u", 10, 0.00121, lead_time_years=1, lifetime_years=4)]
    sheets["Markets"] = [sell("home", 121)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 1_390)
    assert r.builds("u") == {Y: 1.0}
    assert close(float(r.summary["salvage_musd"]), 0.000605)
    assert close(float(r.summary["pv_salvage_musd"]), 0.0005)


# ---------------------------------------------------- 16. a unit retiring inside the horizon


def test_unit_retires_inside_the_horizon(tmp_path: Path) -> None:
    # Years 2025–2028, rate 0, salvage on (a unit retired before L has R = 0).
    # Option u: 10 /yr, capex 500 USD, lifetime 2, lead 0, max_units 2. Goods at
    # 100 USD/t, at most 10 t a year (one unit's output).
    # A unit started in τ works τ and τ + 1 only (τ + lead + lifetime − 1 = τ + 1). The
    # two units must not overlap to cover all four years: 2025 and 2027.
    # NPV = 4 × 1 000 − 2 × 500 = 3 000 USD (overlapping starts give at most 2 000; salvage:
    # the 2027 unit ends in 2028 = L, R = 0).
    sheets = base(Y, Y + 3, salvage="on")
    sheets["BuildOptions"] = [option("u", 10, 0.0005, lifetime_years=2, max_units=2)]
    sheets["Markets"] = [sell("home", 100, max_t=10)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 3_000)
    assert r.builds("u") == {Y: 1.0, Y + 2: 1.0}
    for k in range(4):
        assert close(r.capacity(year=Y + k), 10), Y + k  # never 20: the first unit retired
    assert close(float(r.summary["salvage_musd"]), 0.0)


def test_single_unit_capacity_gone_after_its_lifetime(tmp_path: Path) -> None:
    # Years 2025–2028, rate 0, one unit (max_units 1), lead 1, lifetime 2, capex 500,
    # price 100 (unlimited) in 2026–2027 and 10 in 2028 (year row): starting in 2025 it
    # works 2026–2027 (2 000 − 500 = 1 500); starting in 2026, 2027–2028 (1 100 − 500).
    # NPV = 1 500 USD, start 2025, and no capacity left in 2028.
    sheets = base(Y, Y + 3)
    sheets["BuildOptions"] = [option("u", 10, 0.0005, lifetime_years=2, lead_time_years=1)]
    sheets["Markets"] = [sell("home", 100), sell("home", 10, year=Y + 3)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 1_500)
    assert r.builds("u") == {Y: 1.0}
    assert close(r.capacity(year=Y + 1), 10) and close(r.capacity(year=Y + 2), 10)
    assert close(r.capacity(year=Y + 3), 0) and close(r.activity(year=Y + 3), 0)


# ----------------------------------------------------------- 17. divisible build options


@pytest.mark.parametrize(("divisible", "units", "npv"), [
    # One year; option u: 10 /yr, capex 600 USD, max_units 3; goods 100 USD/t, max 25 t.
    # Divisible: 2.5 units exactly fill the market: 2 500 − 1 500 = 1 000 USD.
    ("yes", 2.5, 1_000),
    # Whole units: 2 → 2 000 − 1 200 = 800; 3 → 2 500 − 1 800 = 700. So 2 units, 800.
    ("no", 2.0, 800),
])
def test_divisible_build_option(tmp_path: Path, divisible: str, units: float,
                                npv: float) -> None:
    sheets = base()
    sheets["BuildOptions"] = [option("u", 10, 0.0006, max_units=3, divisible=divisible)]
    sheets["Markets"] = [sell("home", 100, max_t=25)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, npv)
    assert r.builds("u") == {Y: units}


# ----------------------------------------------------------------------- 18. lead time


def test_lead_time_capacity_online_from_start_plus_lead(tmp_path: Path) -> None:
    # Years 2025–2027, rate 0. Option u: 10 /yr, capex 500 USD, lead 2: the only start
    # year is 2025 (≤ L − lead), online in 2027 only. Goods 100 USD/t.
    # NPV = 1 000 − 500 = 500 USD; nothing made in 2025–2026.
    sheets = base(Y, Y + 2)
    sheets["BuildOptions"] = [option("u", 10, 0.0005, lead_time_years=2)]
    sheets["Markets"] = [sell("home", 100)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 500)
    assert r.builds("u") == {Y: 1.0}
    assert int(r.tables["Builds"]["online_year"].iloc[0]) == Y + 2
    assert close(r.capacity(year=Y), 0) and close(r.capacity(year=Y + 1), 0)
    assert close(r.activity(year=Y + 2), 10)


# ----------------------------------------------------------------------- 19. discounting


def test_discounting_from_the_first_year(tmp_path: Path) -> None:
    # Years 2025–2027, rate 25 %: d = 1, 0.8, 0.64 (t0 = 2025). Existing capacity 10 /yr;
    # a binary option u (10 /yr, capex 1 000 USD, fixed O&M 100 USD/yr, earliest 2026).
    # Goods 100 USD/t, unlimited.
    # Existing: 1 000 × (1 + 0.8 + 0.64) = 2 440.
    # u in 2026: (1 000 − 100) × (0.8 + 0.64) − 1 000 × 0.8 = 1 296 − 800 = 496 > 0.
    # NPV = 2 936 USD.
    sheets = base(Y, Y + 2, 0.25)
    sheets["NodeProcesses"] = [{"node": "S", "process": "make", "existing_capacity": 10}]
    sheets["BuildOptions"] = [option("u", 10, 0.001, fixed_om_musd_per_year=0.0001,
                                     earliest_year=Y + 1)]
    sheets["Markets"] = [sell("home", 100)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 2_936)
    assert r.builds("u") == {Y + 1: 1.0}
    assert close(float(r.summary["pv_capex_musd"]), -0.0008)
    assert close(float(r.summary["pv_fixed_om_musd"]), -0.000144)


# ------------------------------------------------------------- once a bug, now fixed


def test_a_workbook_without_routes_solves(tmp_path: Path) -> None:
    # docs/model.md §11.1: only Settings, Nodes, Products, Processes and Recipes must exist; a
    # missing sheet is an empty table. make at S: existing 10, goods sold at S at
    # 100 USD/t: NPV = 1 000 USD.
    sheets = base()
    del sheets["Routes"]
    sheets["NodeProcesses"] = [{"node": "S", "process": "make", "existing_capacity": 10}]
    sheets["Markets"] = [sell("home", 100)]
    r = solve(tmp_path, sheets)
    assert_npv(r.npv_usd, 1_000)
