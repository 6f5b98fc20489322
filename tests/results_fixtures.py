"""Small, coherent results workbooks (docs/model.md §12 + Nodes + Products) for the
compare and report tests.

Until optmodel/results.py writes real ones, :func:`results_tables` makes the
tables of a tiny 3-year rare-earth chain by hand:

- Lovozero (mine) → Solikamsk (plant: cracking) → Novosibirsk (technopark:
  separation, a build) → Moscow (domestic) and Vladivostok → Japan (export);
- Tomtor (mine, a build) → Vladivostok → China (concentrate export).

With ``novosibirsk_separation=False`` the separation plant is not built and
Solikamsk's mixed compounds go to China instead, so NPV, builds, flows,
trade and activity all change. Summary money lines equal the sums of their
detail rows and the pv_* lines (costs negative) add up to npv_musd.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optmodel.io.write import SheetSpec, write_workbook

YEARS = (2026, 2027, 2028)
RATE = 0.08

NODES = [
    ("Lovozero", "mine", "Murmansk oblast", "Russia", 67.85, 34.75),
    ("Tomtor", "mine", "Sakha (Yakutia)", "Russia", 71.07, 116.48),
    ("Solikamsk", "plant", "Perm krai", "Russia", 59.64, 56.77),
    ("Novosibirsk", "technopark", "Novosibirsk oblast", "Russia", 55.03, 82.92),
    ("Vladivostok", "port", "Primorsky krai", "Russia", 43.12, 131.89),
    ("Moscow", "market", "Moscow", "Russia", 55.75, 37.62),
    ("Shanghai", "market", "Shanghai", "China", 31.23, 121.47),
    ("Yokohama", "market", "Kanagawa", "Japan", 35.44, 139.64),
]
PRODUCTS = [
    ("loparite_conc", 1, 0.30),
    ("tomtor_conc", 1, 0.40),
    ("mixed_compounds", 2, 0.45),
    ("separated_oxides", 3, 0.99),
]
PRICE = {
    "loparite_conc": 2500.0,
    "tomtor_conc": 3500.0,
    "mixed_compounds": 9000.0,
    "separated_oxides": 45000.0,
}


def _d(year: int) -> float:
    return (1 + RATE) ** -(year - YEARS[0])


def results_tables(
    novosibirsk_separation: bool = True,
    scenario: str = "base",
    input_sha256: str = "ab" * 32,
    version: str = "1.0",
) -> dict[str, pd.DataFrame]:
    """The tables of one results workbook (see the module docstring)."""
    sep = novosibirsk_separation
    builds = [
        ("tomtor_mine", "Tomtor", "mining_tomtor", 2026, 1, 20000.0, 2027, 120.0, 4.0),
    ]
    if sep:
        builds.append(
            ("novosib_sep", "Novosibirsk", "separation", 2026, 1, 3000.0, 2027, 60.0, 2.0)
        )
    activity, flows, trade, extraction, prices = [], [], [], [], []
    for y in YEARS:
        on = y >= 2027
        lov_conc = 10000.0
        mixed = lov_conc * 0.30 / 0.45 * 0.95  # t of mixed compounds from cracking
        activity.append(
            (
                "Lovozero",
                "mining_lovozero",
                y,
                lov_conc,
                12000.0,
                lov_conc / 12000,
                lov_conc * 300 / 1e6,
                0.0,
            )
        )
        activity.append(
            (
                "Solikamsk",
                "cracking",
                y,
                lov_conc,
                15000.0,
                lov_conc / 15000,
                lov_conc * 400 / 1e6,
                0.0,
            )
        )
        extraction.append(
            (
                "lovozero_dep",
                "Lovozero",
                "loparite_conc",
                y,
                lov_conc,
                lov_conc * 50 / 1e6,
                1e6 - lov_conc * (y - 2025),
            )
        )
        flows.append(
            ("Lovozero", "Solikamsk", "rail", "loparite_conc", y, lov_conc, lov_conc * 40 / 1e6)
        )
        if sep and on:
            oxides = mixed * 0.45 / 0.99 * 0.97
            activity.append(
                (
                    "Novosibirsk",
                    "separation",
                    y,
                    mixed,
                    3000.0,
                    mixed / 3000,
                    mixed * 2000 / 1e6,
                    mixed * 500 / 1e6,
                )
            )
            flows.append(
                ("Solikamsk", "Novosibirsk", "rail", "mixed_compounds", y, mixed, mixed * 60 / 1e6)
            )
            dom = 400.0
            flows.append(
                ("Novosibirsk", "Moscow", "rail", "separated_oxides", y, dom, dom * 80 / 1e6)
            )
            flows.append(
                (
                    "Novosibirsk",
                    "Vladivostok",
                    "rail",
                    "separated_oxides",
                    y,
                    oxides - dom,
                    (oxides - dom) * 90 / 1e6,
                )
            )
            trade.append(
                ("Russia_domestic", "Moscow", "separated_oxides", "sell", "domestic", y, dom)
            )
            trade.append(
                ("Japan", "Vladivostok", "separated_oxides", "sell", "export", y, oxides - dom)
            )
        else:
            flows.append(
                ("Solikamsk", "Vladivostok", "rail", "mixed_compounds", y, mixed, mixed * 90 / 1e6)
            )
            trade.append(("China", "Vladivostok", "mixed_compounds", "sell", "export", y, mixed))
        if on:
            tom = 15000.0
            activity.append(
                ("Tomtor", "mining_tomtor", y, tom, 20000.0, tom / 20000, tom * 250 / 1e6, 0.0)
            )
            extraction.append(
                (
                    "tomtor_dep",
                    "Tomtor",
                    "tomtor_conc",
                    y,
                    tom,
                    tom * 60 / 1e6,
                    5e5 - tom * (y - 2026),
                )
            )
            flows.append(
                ("Tomtor", "Vladivostok", "winter_road", "tomtor_conc", y, tom, tom * 150 / 1e6)
            )
            trade.append(("China", "Vladivostok", "tomtor_conc", "sell", "export", y, tom))
        for node, product in (("Solikamsk", "mixed_compounds"), ("Vladivostok", "tomtor_conc")):
            base = PRICE[product] * (0.6 if sep else 0.55)
            prices.append((node, product, y, base + 10 * (y - 2026)))
    trade_rows = []
    for market, node, product, direction, scope, y, t in trade:
        value = PRICE[product] * t / 1e6
        duty = 0.1 * value if scope == "export" and product == "tomtor_conc" else 0.0
        trade_rows.append(
            (market, node, product, direction, scope, y, t, PRICE[product], PRICE[product],
             PRICE[product], value, duty, 0.0, 0.0)
        )
    T = {
        "Builds": pd.DataFrame(
            builds,
            columns=[
                "option",
                "node",
                "process",
                "year",
                "units",
                "capacity_added",
                "online_year",
                "capex_musd",
                "fixed_om_musd",
            ],
        ),
        "Activity": pd.DataFrame(
            activity,
            columns=[
                "node",
                "process",
                "year",
                "activity",
                "capacity",
                "utilisation",
                "opex_musd",
                "subsidy_musd",
            ],
        ),
        "Flows": pd.DataFrame(
            flows,
            columns=["origin", "destination", "mode", "product", "year", "tonnes", "cost_musd"],
        ),
        "Trade": pd.DataFrame(
            trade_rows,
            columns=[
                "market",
                "node",
                "product",
                "direction",
                "scope",
                "year",
                "tonnes",
                "price_usd_per_t",
                "realised_price_usd_per_t",
                "market_price_usd_per_t",
                "value_musd",
                "duty_musd",
                "support_musd",
                "unmet_t",
            ],
        ),
        "Disposal": pd.DataFrame(columns=["node", "product", "year", "tonnes", "cost_musd"]),
        "Extraction": pd.DataFrame(
            extraction,
            columns=["deposit", "node", "product", "year", "tonnes", "tax_musd", "reserve_left_t"],
        ),
        "Prices": pd.DataFrame(
            prices, columns=["node", "product", "year", "shadow_price_usd_per_t"]
        ),
        "Binding": pd.DataFrame(
            [("process_capacity", "Novosibirsk|separation|2028", 0.0, 12.5)] if sep else [],
            columns=["constraint", "index", "slack", "dual"],
        ),
        "Warnings": pd.DataFrame(columns=["sheet", "row", "message"]),
        "Nodes": pd.DataFrame(NODES, columns=["node", "kind", "region", "country", "lat", "lon"]),
        "Products": pd.DataFrame(PRODUCTS, columns=["product", "stage", "reo_content"]),
    }
    T["Depth"] = _depth(T["Trade"])
    T["Summary"] = _summary(T)
    T["Run"] = pd.DataFrame(
        [
            ("output_schema_version", version),
            ("scenario", scenario),
            ("input_file", "base_case.xlsx"),
            ("input_sha256", input_sha256),
            ("solver", "highs"),
            ("solver_version", "1.7.2"),
            ("pyomo_version", "6.7.3"),
            ("package_version", "0.1.0"),
            ("start_time_utc", "2025-01-01T00:00:00Z"),
            ("wall_time_solve_s", 1.25),
            ("termination_condition", "optimal"),
            ("mip_gap", 0.0),
            ("threads", 1),
            ("command_line", "optmodel solve inputs/base_case.xlsx"),
        ],
        columns=["key", "value"],
    )
    # the input the run used (docs/model.md §12 Inputs), a few lines of it
    T["Inputs"] = pd.DataFrame(
        [
            ("Settings", "first_year", "value", 2026),
            ("Settings", "discount_rate", "value", 0.08),
            ("Policy", "export_duty_rate|stage<=2|", "value", 0.0),
        ],
        columns=["sheet", "key", "column", "value"],
    )
    order = [
        "Summary",
        "Builds",
        "Activity",
        "Flows",
        "Trade",
        "Disposal",
        "Extraction",
        "Depth",
        "Prices",
        "Binding",
        "Warnings",
        "Inputs",
        "Run",
        "Nodes",
        "Products",
    ]
    return {k: T[k] for k in order}


def _depth(trade: pd.DataFrame) -> pd.DataFrame:
    stage = {p: s for p, s, _ in PRODUCTS}
    reo = {p: r for p, _, r in PRODUCTS}
    rows = []
    sells = trade[trade["direction"] == "sell"]
    for y in YEARS:
        for s in sorted(set(stage.values())):
            sel = sells[(sells["year"] == y) & (sells["product"].map(stage) == s)]
            r = sel["tonnes"] * sel["product"].map(reo)
            dom = float(r[sel["scope"] == "domestic"].sum())
            exp = float(r[sel["scope"] == "export"].sum())
            rows.append((y, s, dom, exp))
    return pd.DataFrame(rows, columns=["year", "stage", "reo_t_sold_domestic", "reo_t_exported"])


def _summary(T: dict[str, pd.DataFrame]) -> pd.DataFrame:
    def by_year(frame: pd.DataFrame, col: str, year_col: str = "year") -> dict[int, float]:
        return frame.groupby(year_col)[col].sum().to_dict() if not frame.empty else {}

    sells = T["Trade"][T["Trade"]["direction"] == "sell"]
    alive = {y: 0.0 for y in YEARS}
    for r in T["Builds"].itertuples():
        for y in YEARS:
            if y >= r.online_year:
                alive[y] += r.fixed_om_musd
    terms = {  # term -> (per-year dict, sign)
        "revenue": (by_year(sells, "value_musd"), 1),
        "purchases": ({}, -1),
        "export_duties": (by_year(sells, "duty_musd"), -1),
        "import_duties": ({}, -1),
        "opex": (by_year(T["Activity"], "opex_musd"), -1),
        "subsidies": (by_year(T["Activity"], "subsidy_musd"), 1),
        "support": (by_year(sells, "support_musd"), 1),
        "fixed_om": (alive, -1),
        "transport": (by_year(T["Flows"], "cost_musd"), -1),
        "extraction_tax": (by_year(T["Extraction"], "tax_musd"), -1),
        "disposal": ({}, -1),
        "unmet_penalty": ({}, -1),
        "capex": (by_year(T["Builds"], "capex_musd"), -1),
        "opening_cost": ({}, -1),
        "salvage": ({}, 1),
    }
    rows, pv = [], []
    npv = 0.0
    totals, presents = {}, {}
    for term, (per_year, sign) in terms.items():
        total = float(sum(per_year.values()))
        present = sign * float(sum(v * _d(y) for y, v in per_year.items()))
        npv += present
        totals[term], presents[term] = total, present
        rows.append((f"{term}_musd", total, "MUSD"))
        pv.append((f"pv_{term}_musd", present, "MUSD"))
    # the state's view (docs/model.md §6–8): no relief in the fixture
    fiscal_terms = (("export_duties", 1), ("import_duties", 1), ("extraction_tax", 1),
                    ("subsidies", -1), ("support", -1))
    fiscal = sum(s * totals[t] for t, s in fiscal_terms)
    pv_fiscal = sum(s * abs(presents[t]) for t, s in fiscal_terms)
    stage = {p: s for p, s, _ in PRODUCTS}
    reo = {p: r for p, _, r in PRODUCTS}
    reo_t = sells["tonnes"] * sells["product"].map(reo)
    depth = float((reo_t * sells["product"].map(stage)).sum() / reo_t.sum())
    raw = float(reo_t[(sells["scope"] == "export") & (sells["product"].map(stage) <= 2)].sum())
    mined = float((T["Extraction"]["tonnes"] * T["Extraction"]["product"].map(reo)).sum())
    head = [
        ("status", "optimal", ""),
        ("npv_musd", npv, "MUSD"),
        ("objective_bound_musd", npv, "MUSD"),
        ("mip_gap", 0.0, ""),
    ]
    tail = [
        ("processing_depth_index", depth, "stage"),
        ("raw_export_share", raw / mined, "share"),
        ("domestic_value_added_musd", float(sells["value_musd"].sum()), "MUSD"),
        ("unmet_demand_t", 0.0, "t"),
        ("relief_given_musd", 0.0, "MUSD"),
        ("fiscal_net_musd", fiscal, "MUSD"),
        ("pv_fiscal_net_musd", pv_fiscal, "MUSD"),
        ("national_npv_musd", npv + pv_fiscal, "MUSD"),
    ]
    return pd.DataFrame(head + rows + tail + pv, columns=["metric", "value", "unit"])


def write_results_workbook(path: Path, tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write ``tables`` (default: :func:`results_tables`) as a results workbook at ``path``."""
    tables = results_tables() if tables is None else tables
    write_workbook(
        Path(path),
        [SheetSpec(name, frame) for name, frame in tables.items()],
        title="optmodel results (test fixture)",
    )
    return Path(path)
