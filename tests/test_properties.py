"""Properties of the model on seeded random instances, through the public path.

1. More capacity (existing_capacity up, or max_units + 1) never lowers NPV
   (mip_gap 0, min_load 0 everywhere, so extra capacity is never forced into use).
2. A mine choosing only between exporting concentrate and processing it (no
   fixed costs, an LP): a higher concentrate export duty never lowers
   processing_depth_index.
3. Every product balance rebuilt from the result tables (Activity × Recipes,
   Flows in/out, Trade, Disposal) closes to 1e-6 at every node, product, year,
   with min_load > 0 forcing disposals and import rows in play.
4. Shadow prices (an LP: existing capacity only): forcing an extra δ tonnes of
   p at n in year t (a buy row at price 0 with min_t = max_t = δ) or taking δ
   away (a sell row at price 0, min_t = max_t = δ) changes NPV by the secants
   S+ = ΔNPV+/(δ·d_t) and S− = −ΔNPV−/(δ·d_t). NPV is concave in the extra
   supply, so S+ ≤ shadow_price ≤ S− must hold whatever δ; where the two
   secants agree (no basis change, the usual case) the shadow price must equal
   them.
"""

from __future__ import annotations

import copy
import math
import random
from pathlib import Path
from typing import Any

import pytest
from workbooks import (
    assert_balances_close,
    num,
    read_result_workbook,
    settings_rows,
    summary_vs_details,
    write_input_workbook,
)

from optmodel.errors import InfeasibleError
from optmodel.pipeline import solve_workbook

Sheets = dict[str, list[dict[str, Any]]]


def _r(rng: random.Random, lo: float, hi: float) -> float:
    return round(rng.uniform(lo, hi), 2)


def random_network(rng: random.Random, *, years: int = 2, min_load: float = 0.0,
                   builds: bool = True) -> Sheets:
    """Two mines, two separation plants, an export port X and a domestic market D.

    ore (stage 0) → beneficiation → conc (stage 1) → separation → oxide (stage 3);
    conc can be exported at X or imported at P1; ore and conc may be disposed of
    (at a cost); a deposit with extraction tax limits M1; duties on conc
    exports and imports. ``min_load`` applies to beneficiation at M2 and
    separation at P1. With ``builds`` there are build options (beneficiation at
    M2, separation at P2, integer up to 1–2 units) and P2 has no existing
    capacity; without, P2 has some and the model is an LP.
    """
    y0 = 2030
    a = _r(rng, 5, 12)  # t ore per t conc
    b = _r(rng, 1.6, 2.4)  # t conc per t oxide
    mine_cap = {m: _r(rng, 300, 700) for m in ("M1", "M2")}
    node_processes = [
        {"node": m, "process": "mine", "existing_capacity": mine_cap[m],
         "opex_usd_per_activity": _r(rng, 2, 8)} for m in ("M1", "M2")
    ] + [
        {"node": "M1", "process": "benef", "existing_capacity": _r(rng, 20, 60),
         "opex_usd_per_activity": _r(rng, 10, 40)},
        {"node": "M2", "process": "benef", "existing_capacity": _r(rng, 10, 30),
         "opex_usd_per_activity": _r(rng, 10, 40), "min_load": min_load},
        {"node": "P1", "process": "sep", "existing_capacity": _r(rng, 3, 15),
         "opex_usd_per_activity": _r(rng, 100, 400), "min_load": min_load},
        {"node": "P2", "process": "sep",
         "existing_capacity": 0.0 if builds else _r(rng, 3, 15),
         "opex_usd_per_activity": _r(rng, 100, 400)},
    ]
    build_options = []
    if builds:
        build_options = [
            {"option": "sep_P2", "node": "P2", "process": "sep",
             "unit_capacity": _r(rng, 5, 20), "capex_musd": _r(rng, 0.05, 0.5),
             "fixed_om_musd_per_year": _r(rng, 0.0, 0.02), "max_units": rng.randint(1, 2)},
            {"option": "benef_M2", "node": "M2", "process": "benef",
             "unit_capacity": _r(rng, 10, 30), "capex_musd": _r(rng, 0.01, 0.1),
             "max_units": 1},
        ]
    routes = []
    for m in ("M1", "M2"):
        for p in ("P1", "P2"):
            routes.append({"origin": m, "destination": p, "mode": "rail",
                           "cost_usd_per_t": _r(rng, 5, 40), "products": "conc"})
        routes.append({"origin": m, "destination": "X", "mode": "rail",
                       "distance_km": _r(rng, 500, 3000), "cost_usd_per_tkm": 0.01,
                       "products": "conc"})
    for p in ("P1", "P2"):
        routes.append({"origin": p, "destination": "X", "mode": "sea",
                       "cost_usd_per_t": _r(rng, 10, 50), "products": "oxide"})
        routes.append({"origin": p, "destination": "D", "mode": "rail",
                       "cost_usd_per_t": _r(rng, 10, 50), "products": "oxide"})
    return {
        "Settings": settings_rows(y0, y0 + years - 1, _r(rng, 0.0, 0.12)),
        "Nodes": [
            {"node": "M1", "kind": "mine"}, {"node": "M2", "kind": "mine"},
            {"node": "P1", "kind": "plant"}, {"node": "P2", "kind": "plant"},
            {"node": "X", "kind": "port"}, {"node": "D", "kind": "market"},
        ],
        "Products": [
            {"product": "ore", "stage": 0, "reo_content": 0.05, "disposal_cost_usd_per_t": 2},
            {"product": "conc", "stage": 1, "reo_content": 0.5, "disposal_cost_usd_per_t": 8},
            {"product": "oxide", "stage": 3, "reo_content": 0.95},
        ],
        "Processes": [{"process": "mine"}, {"process": "benef"}, {"process": "sep"}],
        "Recipes": [
            {"process": "mine", "product": "ore", "direction": "out", "qty_per_activity": 1},
            {"process": "benef", "product": "ore", "direction": "in", "qty_per_activity": a},
            {"process": "benef", "product": "conc", "direction": "out", "qty_per_activity": 1},
            {"process": "sep", "product": "conc", "direction": "in", "qty_per_activity": b},
            {"process": "sep", "product": "oxide", "direction": "out", "qty_per_activity": 1},
        ],
        "NodeProcesses": node_processes,
        "BuildOptions": build_options,
        "Deposits": [
            {"deposit": "M1_ore", "node": "M1", "product": "ore",
             "reserve_t": round(mine_cap["M1"] * years * rng.uniform(0.6, 1.2), 2),
             "extraction_tax_usd_per_t": _r(rng, 0, 5)},
        ],
        "Routes": routes,
        "Markets": [
            {"market": "X_oxide", "node": "X", "product": "oxide", "direction": "sell",
             "scope": "export", "price_usd_per_t": _r(rng, 20000, 40000),
             "max_t": _r(rng, 5, 30)},
            {"market": "D_oxide", "node": "D", "product": "oxide", "direction": "sell",
             "scope": "domestic", "price_usd_per_t": _r(rng, 15000, 35000),
             "max_t": _r(rng, 3, 20)},
            {"market": "X_conc", "node": "X", "product": "conc", "direction": "sell",
             "scope": "export", "price_usd_per_t": _r(rng, 200, 800)},
            {"market": "P1_conc", "node": "P1", "product": "conc", "direction": "buy",
             "scope": "import", "price_usd_per_t": _r(rng, 300, 1500),
             "max_t": _r(rng, 5, 20)},
        ],
        "Policy": [
            {"instrument": "export_duty_rate", "target": "stage<=1", "value": _r(rng, 0, 0.3)},
            {"instrument": "import_duty_rate", "target": "conc", "value": _r(rng, 0, 0.1)},
        ],
    }


def _solve(sheets: Sheets, tmp_path: Path, name: str):
    inp = write_input_workbook(tmp_path / f"{name}.xlsx", sheets)
    out = tmp_path / f"{name}_results.xlsx"
    outcome = solve_workbook(inp, out, mip_gap=0.0, report=False)
    assert outcome.exit_code == 0, outcome.summary.get("status")
    return outcome, out


def _npv(sheets: Sheets, tmp_path: Path, name: str) -> float:
    outcome, _ = _solve(sheets, tmp_path, name)
    return float(outcome.summary["npv_musd"])


# --------------------------------------------------------------------------- 1. capacity


@pytest.mark.parametrize("seed", range(4))
def test_more_capacity_never_lowers_npv(seed: int, tmp_path: Path) -> None:
    # Conditions: random_network with builds, min_load 0, mip_gap 0. Variants:
    # one NodeProcesses row's existing_capacity raised (×1.1–2, + up to 10), and
    # every build option's max_units + 1. Expected: NPV(variant) ≥ NPV(base),
    # up to 1e-9 relative (the base solution stays feasible in each variant).
    rng = random.Random(1000 + seed)
    base = random_network(rng)
    npv_base = _npv(base, tmp_path, "base")

    more_existing = copy.deepcopy(base)
    row = rng.choice(more_existing["NodeProcesses"])
    row["existing_capacity"] = round(row["existing_capacity"] * rng.uniform(1.1, 2.0)
                                     + rng.uniform(0, 10), 2)
    npv_existing = _npv(more_existing, tmp_path, "more_existing")

    more_units = copy.deepcopy(base)
    for opt in more_units["BuildOptions"]:
        opt["max_units"] += 1
    npv_units = _npv(more_units, tmp_path, "more_units")

    tol = 1e-9 * max(1.0, abs(npv_base))
    assert npv_existing >= npv_base - tol, (row, npv_base, npv_existing)
    assert npv_units >= npv_base - tol, (npv_base, npv_units)


# --------------------------------------------------------------------------- 2. duty → depth


def export_or_process(rng: random.Random) -> Sheets:
    """Mine M makes conc; it is exported at X or separated at P into oxide.

    No build options and no fixed costs (an LP). Separation capacity is limited,
    oxide sells at X (capped) and more cheaply at P; the oxide margin beats the
    conc cost so something of stage 3 is always sold and the depth index is
    defined.
    """
    b = _r(rng, 1.6, 2.4)
    conc_cost = _r(rng, 50, 150)
    return {
        "Settings": settings_rows(2030, 2030, 0.05),
        "Nodes": [{"node": "M", "kind": "mine"}, {"node": "P", "kind": "plant"},
                  {"node": "X", "kind": "port"}],
        "Products": [{"product": "conc", "stage": 1, "reo_content": 0.5},
                     {"product": "oxide", "stage": 3, "reo_content": 0.9}],
        "Processes": [{"process": "mine"}, {"process": "sep"}],
        "Recipes": [
            {"process": "mine", "product": "conc", "direction": "out", "qty_per_activity": 1},
            {"process": "sep", "product": "conc", "direction": "in", "qty_per_activity": b},
            {"process": "sep", "product": "oxide", "direction": "out", "qty_per_activity": 1},
        ],
        "NodeProcesses": [
            {"node": "M", "process": "mine", "existing_capacity": _r(rng, 50, 150),
             "opex_usd_per_activity": conc_cost},
            {"node": "P", "process": "sep", "existing_capacity": _r(rng, 10, 40),
             "opex_usd_per_activity": _r(rng, 50, 300)},
        ],
        "Routes": [
            {"origin": "M", "destination": "P", "mode": "rail",
             "cost_usd_per_t": _r(rng, 5, 40), "products": "conc"},
            {"origin": "M", "destination": "X", "mode": "rail",
             "cost_usd_per_t": _r(rng, 5, 40), "products": "conc"},
            {"origin": "P", "destination": "X", "mode": "sea",
             "cost_usd_per_t": _r(rng, 5, 40), "products": "oxide"},
        ],
        "Markets": [
            {"market": "X_conc", "node": "X", "product": "conc", "direction": "sell",
             "scope": "export", "price_usd_per_t": _r(rng, 300, 900)},
            {"market": "X_oxide", "node": "X", "product": "oxide", "direction": "sell",
             "scope": "export", "price_usd_per_t": _r(rng, 1500, 2500),
             "max_t": _r(rng, 5, 20)},
            {"market": "P_oxide", "node": "P", "product": "oxide", "direction": "sell",
             "scope": "domestic", "price_usd_per_t": _r(rng, 1000, 1800)},
        ],
        "Policy": [{"instrument": "export_duty_rate", "target": "conc", "value": 0.0}],
    }


@pytest.mark.parametrize("seed", range(2))
def test_higher_conc_export_duty_never_lowers_depth(seed: int, tmp_path: Path) -> None:
    # Conditions: export_or_process (LP, no fixed costs, mip_gap 0); the conc
    # export duty takes 0, three random values and 1 in increasing order.
    # Expected: processing_depth_index is non-decreasing (to 1e-9), and it
    # moves over the range (the instance really has the choice).
    rng = random.Random(2000 + seed)
    sheets = export_or_process(rng)
    duties = [0.0] + sorted(_r(rng, 0.01, 0.99) for _ in range(3)) + [1.0]
    depths = []
    for k, duty in enumerate(duties):
        sheets["Policy"][0]["value"] = duty
        outcome, _ = _solve(sheets, tmp_path, f"duty_{k}")
        depth = num(outcome.summary["processing_depth_index"])
        assert math.isfinite(depth), (duty, outcome.summary["processing_depth_index"])
        depths.append(depth)
    for lo, hi in zip(depths, depths[1:], strict=False):
        assert hi >= lo - 1e-9, list(zip(duties, depths, strict=True))
    assert depths[-1] > depths[0] + 1e-6, list(zip(duties, depths, strict=True))


# --------------------------------------------------------------------------- 3. balances


@pytest.mark.parametrize("seed", range(3))
def test_product_balances_close(seed: int, tmp_path: Path) -> None:
    # Conditions: random_network with builds, two years, min_load 0.25 on
    # beneficiation at M2 and separation at P1, plus min_load 0.9 on mining at M2
    # (more ore than M2 can treat: ore must be disposed of) and a forced conc
    # import of 1 t/yr at P1 (buy row min_t 1). Expected: produced + inflows +
    # purchases − consumed − outflows − sales − disposed = 0 to 1e-6 ×
    # max(1, Σ|terms|) at every (node, product, year), rebuilt from the written
    # results workbook, with Disposal rows and purchases present; Summary totals
    # equal the sums of their detail rows.
    rng = random.Random(3000 + seed)
    sheets = random_network(rng, min_load=0.25)
    for row in sheets["NodeProcesses"]:
        if (row["node"], row["process"]) == ("M2", "mine"):
            row["min_load"] = 0.9
    for row in sheets["Markets"]:
        if row["direction"] == "buy":
            row["min_t"] = 1.0
    _, out = _solve(sheets, tmp_path, "balances")
    tables = read_result_workbook(out)
    assert (tables["Disposal"]["tonnes"].astype(float) > 0).any()
    buys = tables["Trade"][tables["Trade"]["direction"] == "buy"]
    assert (buys["tonnes"].astype(float) >= 1.0 - 1e-9).all() and len(buys) == 2
    assert assert_balances_close(sheets["Recipes"], tables) >= 6
    # The Summary totals are the sums of these detail rows (docs/model.md §12), here
    # with purchases, import duties and disposal costs non-zero.
    totals = summary_vs_details(tables)
    for metric, (total, detail) in totals.items():
        # Summary lines are written to 9 decimals (1e-9 MUSD = 0.001 USD).
        assert total == pytest.approx(detail, rel=1e-9, abs=1e-9), metric
    assert min(totals[m][0] for m in ("purchases_musd", "import_duties_musd",
                                      "disposal_musd")) > 0


# --------------------------------------------------------------------------- 4. shadow prices


def _with_probe(sheets: Sheets, node: str, product: str, year: int, delta: float,
                direction: str) -> Sheets:
    probed = copy.deepcopy(sheets)
    probed["Markets"].append({
        "market": "probe", "node": node, "product": product, "direction": direction,
        "scope": "domestic", "year": year, "price_usd_per_t": 0.0,
        "min_t": delta, "max_t": delta,
    })
    return probed


@pytest.mark.parametrize("seed", range(2))
def test_shadow_prices_match_finite_differences(seed: int, tmp_path: Path) -> None:
    # Conditions: random_network without builds (an LP), two years, discount rate
    # r > 0 drawn at random, mip_gap 0; probes at two (node, product) rows of
    # Prices in each year (non-zero prices first), δ = 0.5 t (well inside the
    # flows, tens of tonnes). Expected: S+ − tol ≤ shadow ≤ S− + tol, and where
    # |S− − S+| ≤ tol, shadow = S+ to tol; at least one tight probe per year.
    # tol = 1e-6 relative + the resolution of the secants: npv_musd is written
    # to 1e-9 MUSD = 1e-3 USD, so each secant is known to 2e-3 / (δ·d_t) USD/t.
    rng = random.Random(4000 + seed)
    sheets = random_network(rng, builds=False)
    settings = {row["key"]: row["value"] for row in sheets["Settings"]}
    rate, y0 = float(settings["discount_rate"]), int(settings["first_year"])
    assert rate > 0
    outcome, out = _solve(sheets, tmp_path, "lp")
    npv0 = float(outcome.summary["npv_musd"])
    prices = read_result_workbook(out)["Prices"]
    rows = list(prices.itertuples(index=False))
    rng.shuffle(rows)
    rows.sort(key=lambda r: abs(float(r.shadow_price_usd_per_t)) < 1e-9)
    probes = [r for y in (y0, y0 + 1) for r in [r for r in rows if int(r.year) == y][:2]]
    assert len(probes) == 4
    delta = 0.5
    tight: dict[int, int] = {y0: 0, y0 + 1: 0}
    for k, r in enumerate(probes):
        node, product, year = str(r.node), str(r.product), int(r.year)
        shadow = float(r.shadow_price_usd_per_t)
        d_t = (1 + rate) ** -(year - y0)
        plus = _npv(_with_probe(sheets, node, product, year, delta, "buy"), tmp_path,
                    f"plus_{k}")
        s_plus = (plus - npv0) * 1e6 / (delta * d_t)
        try:
            minus = _npv(_with_probe(sheets, node, product, year, delta, "sell"), tmp_path,
                         f"minus_{k}")
            s_minus = (npv0 - minus) * 1e6 / (delta * d_t)
        except InfeasibleError:
            s_minus = math.inf  # nothing there to take away: only the lower bound holds
        tol = 1e-6 * abs(shadow) + 2e-3 / (delta * d_t)
        where = (node, product, year, shadow, s_plus, s_minus)
        assert s_plus - tol <= shadow <= s_minus + tol, where
        if s_minus - s_plus <= tol:
            tight[year] += 1
            assert shadow == pytest.approx(s_plus, rel=0, abs=tol), where
    assert min(tight.values()) >= 1, tight
