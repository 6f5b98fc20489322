"""A three-stage chain whose optimum is derived on paper, and Summary bookkeeping.

The chain (years 2025–2026, t0 = 2025, discount rate 10 %: d_2025 = 1,
d_2026 = 1/1.1; salvage off):

    mine M ──(ore)── beneficiation at M ──(conc)── rail M→P ── separation at P
       │                                   │                       │ (oxide)
       │                                   └─ export conc at M     └─ sea P→X, export at X

- mining at M: no inputs, 1 t ore per activity, existing capacity 100 t/yr,
  opex 10 USD/t; deposit "Tomtor" (ore, reserve 1000 t, not binding) with
  extraction tax 5 USD/t;
- beneficiation at M: 4 t ore → 1 t conc, existing capacity 25 /yr, opex 20;
- rail M→P: 1000 km, 30 USD/t + 0.05 USD/t-km = 80 USD/t conc;
- separation at P: 1 t conc → 0.5 t oxide, opex 100 per activity, no existing
  capacity; one build option: 20 /yr, capex 0.2 MUSD, fixed O&M 0.1 MUSD/yr,
  lead time 1 (so only a start in 2025 is allowed, alive in 2026 only);
- sea P→X: 20 USD/t oxide;
- sells (scope export): oxide at X 50 000 USD/t (max 100 t), conc at M 400 USD/t;
- export duties: oxide 10 %, stage<=1 (conc) 25 %.

Per tonne of conc made (ore 4 t): mining 40 + extraction tax 20 + beneficiation
20 = 80 USD. Exporting conc nets 400 − 100 (duty) = 300 → margin 220. Sending it
to separation nets 0.5 × (50 000 − 5 000 duty − 20 sea) − 80 rail − 100 opex =
22 310 → separation runs at capacity (20), conc capacity is 25 (mining 100/4 =
beneficiation 25), the other 5 t are exported.

2025 (no separation yet): 25 t conc exported: revenue 10 000, duty 2 500, opex
1 000 + 500, extraction tax 500 → net 5 500.
2026: oxide 10 t + conc 5 t sold: revenue 500 000 + 2 000 = 502 000; duties
50 000 + 500 = 50 500; opex 1 000 + 500 + 2 000 = 3 500; extraction tax 500;
transport 20 × 80 + 10 × 20 = 1 800; fixed O&M 100 000 → net 345 700.
Capex 200 000 in 2025 (d = 1).
NPV = 5 500 + 345 700 / 1.1 − 200 000 = 119 772.727272… USD.
Not building: 5 500 + 5 500 / 1.1 = 10 500 < 119 772.73, so the build is optimal.

Derived results (reo_content: ore 0.15, conc 0.6, oxide 0.99; stages 0, 1, 3):
sold REO = conc 30 t × 0.6 = 18 (stage 1) + oxide 10 t × 0.99 = 9.9 (stage 3);
processing_depth_index = (18 + 29.7) / 27.9; raw_export_share = 18 / (200 t ore ×
0.15) = 0.6; domestic_value_added = 512 000 USD (all nodes in Russia, no buys).
"""

from __future__ import annotations

import pytest
from workbooks import (
    assert_balances_close,
    col_sum,
    num,
    read_result_workbook,
    settings_rows,
    summary_of,
    summary_vs_details,
    write_input_workbook,
)

from optmodel.pipeline import solve_workbook

D2026 = 1 / 1.1
NPV_USD = 5_500 + 345_700 * D2026 - 200_000

RECIPES = [
    {"process": "mining", "product": "ore", "direction": "out", "qty_per_activity": 1},
    {"process": "beneficiation", "product": "ore", "direction": "in", "qty_per_activity": 4},
    {"process": "beneficiation", "product": "conc", "direction": "out", "qty_per_activity": 1},
    {"process": "separation", "product": "conc", "direction": "in", "qty_per_activity": 1},
    {"process": "separation", "product": "oxide", "direction": "out", "qty_per_activity": 0.5},
]


def chain_sheets() -> dict[str, list[dict]]:
    """The input sheets of the chain described in the module docstring."""
    return {
        "Settings": settings_rows(2025, 2026, 0.10),
        "Nodes": [
            {"node": "M", "kind": "mine", "country": "Russia"},
            {"node": "P", "kind": "plant", "country": "Russia"},
            {"node": "X", "kind": "port", "country": "Russia"},
        ],
        "Products": [
            {"product": "ore", "stage": 0, "reo_content": 0.15},
            {"product": "conc", "stage": 1, "reo_content": 0.6},
            {"product": "oxide", "stage": 3, "reo_content": 0.99},
        ],
        "Processes": [
            {"process": "mining", "stage_from": 0, "stage_to": 0},
            {"process": "beneficiation", "stage_from": 0, "stage_to": 1},
            {"process": "separation", "stage_from": 1, "stage_to": 3},
        ],
        "Recipes": RECIPES,
        "NodeProcesses": [
            {"node": "M", "process": "mining", "existing_capacity": 100,
             "opex_usd_per_activity": 10},
            {"node": "M", "process": "beneficiation", "existing_capacity": 25,
             "opex_usd_per_activity": 20},
            {"node": "P", "process": "separation", "existing_capacity": 0,
             "opex_usd_per_activity": 100},
        ],
        "BuildOptions": [
            {"option": "sep_P", "node": "P", "process": "separation", "unit_capacity": 20,
             "capex_musd": 0.2, "fixed_om_musd_per_year": 0.1, "lead_time_years": 1,
             "earliest_year": 2025, "max_units": 1, "lifetime_years": 30},
        ],
        "Deposits": [
            {"deposit": "Tomtor", "node": "M", "product": "ore", "reserve_t": 1000,
             "extraction_tax_usd_per_t": 5},
        ],
        "Routes": [
            {"origin": "M", "destination": "P", "mode": "rail", "distance_km": 1000,
             "cost_usd_per_t": 30, "cost_usd_per_tkm": 0.05, "products": "conc"},
            {"origin": "P", "destination": "X", "mode": "sea", "cost_usd_per_t": 20,
             "products": "oxide"},
        ],
        "Markets": [
            {"market": "Japan", "node": "X", "product": "oxide", "direction": "sell",
             "scope": "export", "price_usd_per_t": 50_000, "max_t": 100},
            {"market": "China", "node": "M", "product": "conc", "direction": "sell",
             "scope": "export", "price_usd_per_t": 400},
        ],
        "Policy": [
            {"instrument": "export_duty_rate", "target": "oxide", "value": 0.10},
            {"instrument": "export_duty_rate", "target": "stage<=1", "value": 0.25},
        ],
    }


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chain")
    inp = write_input_workbook(tmp / "chain.xlsx", chain_sheets())
    out = tmp / "chain_results.xlsx"
    outcome = solve_workbook(inp, out, mip_gap=0.0, report=False)
    return outcome, read_result_workbook(out)


def test_npv_matches_paper(chain) -> None:
    # Conditions: the chain of the module docstring at mip_gap 0.
    # Expected: NPV = 5 500 + 345 700/1.1 − 200 000 USD, to 1e-6 relative,
    # both in the returned summary and in the written Summary sheet.
    outcome, tables = chain
    assert outcome.exit_code == 0
    assert float(outcome.summary["npv_musd"]) == pytest.approx(NPV_USD / 1e6, rel=1e-6)
    assert num(summary_of(tables)["npv_musd"]) == pytest.approx(NPV_USD / 1e6, rel=1e-6)


def test_summary_terms_match_paper(chain) -> None:
    # Conditions: as above. Expected: each undiscounted Summary total equals the
    # hand figure (MUSD), and the derived indicators equal the hand values.
    _, tables = chain
    s = summary_of(tables)
    expected_musd = {
        "revenue_musd": 0.512,            # 10 000 + 502 000
        "export_duties_musd": 0.053,      # 2 500 + 50 500
        "opex_musd": 0.005,               # 1 500 + 3 500
        "extraction_tax_musd": 0.001,     # 500 + 500
        "transport_musd": 0.0018,         # 2026 only
        "fixed_om_musd": 0.1,             # one unit alive in 2026
        "capex_musd": 0.2,
        "purchases_musd": 0.0,
        "import_duties_musd": 0.0,
        "subsidies_musd": 0.0,
        "disposal_musd": 0.0,
        "unmet_penalty_musd": 0.0,
        "opening_cost_musd": 0.0,
        "salvage_musd": 0.0,
        "domestic_value_added_musd": 0.512,
    }
    for metric, value in expected_musd.items():
        assert num(s[metric]) == pytest.approx(value, rel=1e-6, abs=1e-9), metric
    assert num(s["processing_depth_index"]) == pytest.approx(47.7 / 27.9, rel=1e-6)
    assert num(s["raw_export_share"]) == pytest.approx(0.6, rel=1e-6)
    assert num(s["unmet_demand_t"]) == pytest.approx(0.0, abs=1e-9)


def test_present_values_match_paper_and_add_up(chain) -> None:
    # Conditions: as above. Expected: |pv_<term>_musd| equals the discounted hand
    # figure for every non-zero term, and the pv_*_musd lines (signed as the
    # workbook writes them) add up to npv_musd (docs/model.md §12).
    _, tables = chain
    s = summary_of(tables)
    # pv_fiscal_net_musd is the state's view (docs/model.md §6–8), not an objective term:
    # duties 2 500 + 50 500·d + extraction tax 500 + 500·d (no subsidy, support, relief)
    assert num(s["pv_fiscal_net_musd"]) == pytest.approx(
        (3_000 + 51_000 * D2026) / 1e6, rel=1e-6)
    assert num(s["national_npv_musd"]) == pytest.approx(
        (NPV_USD + 3_000 + 51_000 * D2026) / 1e6, rel=1e-6)
    pv_lines = {k: num(v) for k, v in s.items()
                if str(k).startswith("pv_") and str(k).endswith("_musd")
                and k != "pv_fiscal_net_musd"}
    expected_abs_usd = {
        "pv_revenue_musd": 10_000 + 502_000 * D2026,
        "pv_export_duties_musd": 2_500 + 50_500 * D2026,
        "pv_opex_musd": 1_500 + 3_500 * D2026,
        "pv_extraction_tax_musd": 500 + 500 * D2026,
        "pv_transport_musd": 1_800 * D2026,
        "pv_fixed_om_musd": 100_000 * D2026,
        "pv_capex_musd": 200_000,
    }
    for metric, usd in expected_abs_usd.items():
        assert metric in pv_lines, f"{metric} missing from Summary"
        assert abs(pv_lines[metric]) == pytest.approx(usd / 1e6, rel=1e-6), metric
    others = set(pv_lines) - set(expected_abs_usd)
    for metric in others:
        assert pv_lines[metric] == pytest.approx(0.0, abs=1e-9), metric
    # Each line is written to 9 decimals (1e-9 MUSD), so the sum may be off by
    # half a unit per line.
    assert sum(pv_lines.values()) == pytest.approx(num(s["npv_musd"]),
                                                   abs=0.5e-9 * (len(pv_lines) + 1))


def test_summary_totals_equal_detail_rows(chain) -> None:
    # Conditions: as above. Expected (docs/model.md §12: money columns and *_musd
    # Summary lines are undiscounted sums equal to the sums of their detail rows).
    _, tables = chain
    for metric, (total, detail) in summary_vs_details(tables).items():
        # Summary lines are written to 9 decimals (1e-9 MUSD = 0.001 USD).
        assert total == pytest.approx(detail, rel=1e-9, abs=1e-9), metric
    trade, flows, builds = tables["Trade"], tables["Flows"], tables["Builds"]
    # The detail rows themselves carry the hand figures.
    assert col_sum(trade, "tonnes", market="Japan", year=2026) == pytest.approx(10.0)
    assert col_sum(trade, "tonnes", market="China", year=2025) == pytest.approx(25.0)
    assert col_sum(trade, "tonnes", market="China", year=2026) == pytest.approx(5.0)
    assert col_sum(flows, "tonnes", origin="M", year=2026) == pytest.approx(20.0)
    assert col_sum(flows, "tonnes", origin="M", year=2025) == pytest.approx(0.0, abs=1e-9)
    assert col_sum(builds, "units", option="sep_P", year=2025) == pytest.approx(1.0)
    assert col_sum(builds, "online_year", option="sep_P") == 2026
    assert col_sum(tables["Extraction"], "tonnes", deposit="Tomtor") == pytest.approx(200.0)


def test_balances_close(chain) -> None:
    # Conditions: as above. Expected: every product balance rebuilt from
    # Activity × Recipes, Flows, Trade and Disposal closes to 1e-6.
    _, tables = chain
    assert assert_balances_close(RECIPES, tables) >= 6


def _price(prices, node: str, product: str, year: int) -> float:
    row = prices[(prices["node"] == node) & (prices["product"] == product)
                 & (prices["year"] == year)]
    assert len(row) == 1, (node, product, year)
    return float(row["shadow_price_usd_per_t"].iloc[0])


def test_shadow_prices_and_duals_match_paper(chain) -> None:
    # Conditions: as above; prices in year-t USD (divided by d_t).
    # Expected, where the dual is unique:
    # - oxide at X: sold at 50 000 less 10 % duty, market not full → 45 000 (both years);
    # - oxide at P: 45 000 − 20 sea → 44 980 (both years);
    # - conc at M: exported at 400 less 25 % duty, no cap → 300 (both years);
    # - conc at P in 2026: it displaces a tonne railed from M, which is exported
    #   instead → 300 + 80 = 380;
    # - separation capacity at P in 2026: 0.5 × 44 980 − 100 opex − 380 conc =
    #   22 010 per activity unit.
    # Ore at M is degenerate (mining 100 t = beneficiation 25 × 4 t, both full):
    # one more tonne saves mining (10 opex + 5 tax = 15), one less costs
    # beneficiation (300 − 20)/4 = 70, so any shadow price in [15, 70] is a dual;
    # every dual has shadow(ore) − dual(mining capacity) = 15 and
    # 4 × dual(mining) + dual(beneficiation) = 280 − 4 × 15 = 220.
    _, tables = chain
    prices, binding = tables["Prices"], tables["Binding"]
    for year in (2025, 2026):
        assert _price(prices, "X", "oxide", year) == pytest.approx(45_000, rel=1e-6)
        assert _price(prices, "P", "oxide", year) == pytest.approx(44_980, rel=1e-6)
        assert _price(prices, "M", "conc", year) == pytest.approx(300, rel=1e-6)
    assert _price(prices, "P", "conc", 2026) == pytest.approx(380, rel=1e-6)

    def dual(node: str, process: str, year: int) -> float:
        key = {node, process, str(year)}
        rows = [float(d) for c, i, d in zip(binding["constraint"], binding["index"],
                                            binding["dual"], strict=True)
                if c == "process_capacity" and set(str(i).split("|")) == key]
        assert len(rows) == 1, (node, process, year, binding)
        return rows[0]

    assert dual("P", "separation", 2026) == pytest.approx(22_010, rel=1e-6)
    for year in (2025, 2026):
        ore = _price(prices, "M", "ore", year)
        assert 15 - 1e-6 <= ore <= 70 + 1e-6
        assert ore - dual("M", "mining", year) == pytest.approx(15, rel=1e-6)
        assert 4 * dual("M", "mining", year) + dual("M", "beneficiation", year) == (
            pytest.approx(220, rel=1e-6))


def test_depth_table_matches_paper(chain) -> None:
    # Conditions: as above. Expected REO tonnes exported by year and stage:
    # 2025 stage 1: 25 t × 0.6 = 15; 2026 stage 1: 5 × 0.6 = 3; 2026 stage 3:
    # 10 × 0.99 = 9.9; nothing sold domestically.
    _, tables = chain
    depth = tables["Depth"]
    got = {(int(y), int(s)): float(e) for y, s, e in
           zip(depth["year"], depth["stage"], depth["reo_t_exported"], strict=True)
           if float(e) != 0}
    assert got == pytest.approx({(2025, 1): 15.0, (2026, 1): 3.0, (2026, 3): 9.9})
    assert col_sum(depth, "reo_t_sold_domestic") == pytest.approx(0.0, abs=1e-12)
