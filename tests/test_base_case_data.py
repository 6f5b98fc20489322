"""The shipped base case: sourced rows, the 2026 corrections, and a reproducible build."""

from __future__ import annotations

import importlib.util
import re
import types
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from optmodel.schema import SHEETS

ROOT = Path(__file__).resolve().parent.parent
WORKBOOK = ROOT / "inputs" / "base_case.xlsx"
SCRIPT = ROOT / "inputs" / "build_base_case.py"
DOCS = ROOT / "docs" / "base_case.md"
NOT_DATA = ("README", "Sources")


def _values(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)]
                for ws in wb.worksheets}
    finally:
        wb.close()


def _records(rows: list[tuple]) -> list[dict]:
    header = [str(h).strip().lower() if h is not None else "" for h in rows[0]]
    return [dict(zip(header, r, strict=False)) for r in rows[1:]
            if any(v is not None for v in r)]


def _module(demand_side: bool | None = None) -> types.ModuleType:
    """The build script as a module; ``demand_side`` rewrites its switch before running it."""
    src = SCRIPT.read_text(encoding="utf-8")
    if demand_side is not None:
        src, n = re.subn(r"^DEMAND_SIDE = (True|False)$", f"DEMAND_SIDE = {demand_side}", src,
                         flags=re.M)
        assert n == 1, "the switch line must be exactly 'DEMAND_SIDE = True|False'"
    mod = types.ModuleType("build_base_case_test")
    mod.__file__ = str(SCRIPT)
    exec(compile(src, str(SCRIPT), "exec"), mod.__dict__)
    return mod


@pytest.fixture(scope="module")
def book() -> dict[str, list[tuple]]:
    return _values(WORKBOOK)


@pytest.fixture(scope="module")
def recs(book) -> dict[str, list[dict]]:
    return {name: _records(rows) for name, rows in book.items() if name != "README"}


def test_sheets_and_headers_match_the_schema(book):
    assert set(book) == set(SHEETS) | {"README"}
    for name, rows in book.items():
        if name == "README":
            continue
        header = [str(h).strip().lower() for h in rows[0]]
        assert len(header) == len(set(header)), name
        assert set(header) <= set(SHEETS[name].column_names), name
        required = {c.name for c in SHEETS[name].columns if c.required}
        assert required <= set(header), name


def test_every_data_row_names_a_source_or_a_reasoned_assumption(recs):
    sources = {r["source"].strip() for r in recs["Sources"]}
    assert sources, "the Sources sheet is empty"
    for r in recs["Sources"]:
        assert r["reference"] and r["year"], r["source"]
        assert not any(ch in r["source"] for ch in "|,:*") and r["source"][0] not in "=+-@"
    problems = []
    for sheet, rows in recs.items():
        if sheet == "Sources":
            continue
        assert rows, f"{sheet} has no rows"
        for i, rec in enumerate(rows, start=2):
            src = rec.get("source")
            if src is None or not str(src).strip():
                problems.append(f"{sheet} row {i}: blank source")
                continue
            if str(src).strip() == "assumption":
                if not rec.get("note") or len(str(rec["note"])) < 15:
                    problems.append(f"{sheet} row {i}: assumption without its reasoning")
                continue
            for part in str(src).split(","):
                if part.strip() not in sources:
                    problems.append(f"{sheet} row {i}: unknown source {part.strip()!r}")
    assert not problems, "\n".join(problems)


def test_at_least_half_of_the_data_rows_name_a_public_source(recs):
    data = [r for s, rows in recs.items() if s != "Sources" for r in rows]
    sourced = [r for r in data if str(r["source"]).strip() != "assumption"]
    assert len(sourced) / len(data) >= 0.5, (len(sourced), len(data))
    # a public source has an address or a document title with its date
    for r in recs["Sources"]:
        assert re.search(r"https?://|[a-z0-9-]\.[a-z]{2,4}\b|\b(19|20)\d\d\b",
                         r["reference"]), r["source"]


def test_the_decisive_rows_are_sourced(recs):
    """Prices of what is sold, capexes of what is or nearly is built, existing capacities and
    deposit limits never rest on 'assumption' (ree-facts-3.md §4.4)."""
    decisive = []
    for r in recs["Markets"]:
        if r["product"] in ("NdPr_oxide", "NdPr_metal", "NdFeB_magnet", "Nb2O5",
                            "carbonate_loparite", "carbonate_tomtor", "Ta2O5") and \
                r["market"] in ("China", "RU_domestic", "RU_FeNb", "China_FeNb", "EU_Silmet"):
            decisive.append(("Markets", r["market"], r["product"], r["source"]))
    for r in recs["BuildOptions"]:
        if r["option"].startswith(("Tomtor_mine", "Magnet_", "SepLoparite_", "SepTomtor_",
                                   "Crack_")):
            decisive.append(("BuildOptions", r["option"], "", r["source"]))
    for r in recs["NodeProcesses"]:
        if (r["existing_capacity"] or 0) > 0:
            decisive.append(("NodeProcesses", r["node"], r["process"], r["source"]))
    for r in recs["Deposits"]:
        decisive.append(("Deposits", r["deposit"], "", r["source"]))
    assert len(decisive) >= 30
    bad = [d for d in decisive if str(d[3]).strip() == "assumption"]
    assert not bad, bad


def test_every_source_is_used(book):
    text = " ".join(str(v) for sheet, rows in book.items() if sheet not in NOT_DATA
                    for r in rows[1:] for v in r if v is not None)
    unused = [r["source"] for r in _records(book["Sources"]) if r["source"] not in text]
    assert not unused, unused


def test_glazov_is_a_node_with_its_committed_line_and_the_smz_link(recs):
    assert any(r["node"] == "Glazov" and r["kind"] == "plant" for r in recs["Nodes"])
    rows = {r["year"]: r for r in recs["NodeProcesses"]
            if r["node"] == "Glazov" and r["process"] == "magnet_making"}
    assert rows[None]["existing_capacity"] == 1000  # SPIC 2024: 1,000 t/yr
    # year rows from the commissioning year: nothing before 2028
    assert {y for y, r in rows.items() if y and r["existing_capacity"] == 0} == {2026, 2027}
    assert any(r["origin"] == "Solikamsk" and r["destination"] == "Glazov"
               for r in recs["Routes"])
    magnet = next(r for r in recs["BuildOptions"] if r["option"] == "Magnet_Novosibirsk")
    assert magnet["capex_musd"] == 40  # 3.6 bn RUB / 90 per 1,000 t/yr


def test_the_2026_corrections(recs):
    mk = {(r["market"], r["product"], r["direction"], r["year"]): r for r in recs["Markets"]}
    # magnets on China's 2024 export value (49.2 USD/kg), domestic at x1.1 parity
    assert mk[("EU", "NdFeB_magnet", "sell", None)]["price_usd_per_t"] == 49000
    assert mk[("RU_domestic", "NdFeB_magnet", "sell", None)]["price_usd_per_t"] == 54000
    # a Korean magnet market; ex-China NdPr markets, closed in the base case
    assert mk[("Korea", "NdFeB_magnet", "sell", None)]["max_t"] > 0
    for m in ("Japan_exChina", "Korea_exChina", "EU_exChina"):
        row = mk[(m, "NdPr_oxide", "sell", None)]
        assert row["max_t"] == 0
        assert row["price_usd_per_t"] > 1.5 * mk[("China", "NdPr_oxide", "sell", None)][
            "price_usd_per_t"]
    # lanthanum at most half the first data set's 2,000 / 2,200 USD/t
    assert all(r["price_usd_per_t"] <= 1000 for r in recs["Markets"]
               if r["product"] == "La_oxide" and r["direction"] == "sell")
    # Japan sized on 16,039 t: La cap = 10 % x 16,039 x 25 %
    assert mk[("Japan", "La_oxide", "sell", None)]["max_t"] == 400
    # Lovozero at the 2021 output, with the 12 kt programme as a scenario
    lov = [r for r in recs["NodeProcesses"] if r["node"] == "Lovozero"]
    assert {r["existing_capacity"] for r in lov} == {7700}
    scen = {r["scenario"] for r in recs["Scenarios"]}
    assert {"lovozero_programme_12kt", "magnet_price_old", "ex_china_premium",
            "china_style_subsidy", "sanctions_eu_us_closed", "tomtor_rosneft",
            "concentrate_export_ban"} <= scen
    # tantalum credited at Solikamsk; Sc and Th/U from the GKZ protocol
    rec = {(r["process"], r["product"], r["direction"]): r["qty_per_activity"]
           for r in recs["Recipes"]}
    assert rec[("loparite_cracking", "Ta2O5", "out")] > 0
    assert rec[("tomtor_cracking", "Sc2O3", "out")] == pytest.approx(0.00051 * 0.5, rel=0.01)
    assert rec[("tomtor_cracking", "ThU_residue", "out")] == pytest.approx(0.00145, rel=0.01)
    prod = {r["product"]: r for r in recs["Products"]}
    assert prod["ThU_residue"]["disposal_cost_usd_per_t"] > 0
    # Tomtor Y from the protocol: SEGY out of sep_tomtor = (rest + 4.7 % Y) x 0.96
    segy = rec[("sep_tomtor", "SEGY_oxide", "out")]
    assert 0.096 < segy < 0.11  # was 0.118 with Y at 6 %
    # the "China-style" subsidy at the paper's scale (≈70-210 USD/t), the large one relabelled
    cs = [r["value"] for r in recs["Scenarios"] if r["scenario"] == "china_style_subsidy"]
    assert cs and max(cs) <= 250


def test_scenario_names_are_file_stems(recs):
    for r in recs["Scenarios"]:
        assert re.fullmatch(r"[A-Za-z0-9_]+", r["scenario"]), r["scenario"]


def test_counts_in_the_docs_are_the_build_scripts(recs):
    """docs/base_case.md carries the counts the build script computes, not typed ones."""
    mod = _module()
    text = DOCS.read_text(encoding="utf-8")
    assert mod.COUNTS_START in text
    assert mod.counts_markdown(mod.tables()) in text


def test_build_script_regenerates_the_same_values(tmp_path, book):
    spec = importlib.util.spec_from_file_location("build_base_case", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.DEMAND_SIDE is False or "elasticity" in SHEETS["Markets"].column_names
    out = mod.build(tmp_path / "base_case.xlsx")
    assert _values(out) == book


def test_demand_side_rows_are_ready_for_the_switch():
    """With DEMAND_SIDE on, the rows of docs/model.md §6–8 are there and consistent (checked on the
    row dicts: this branch's validator does not know the new columns yet)."""
    mod = _module(demand_side=True)
    markets = pd.DataFrame(mod.markets())
    pr = markets[markets["elasticity"].notna()]
    assert {"China"} <= set(pr["market"]) and len(pr) >= 15
    assert (pr["elasticity"] < 0).all() and (pr["market_size_t"] > 0).all()
    assert (pr["direction"] == "sell").all()
    capped = pr[pr["max_t"].notna()]
    assert (capped["max_t"] <= -capped["elasticity"] * capped["market_size_t"]).all()
    prods = {r["product"]: r for r in mod.products()}
    assert prods["wind_generator_MW"]["stage"] == 6
    assert any(r["process"] == "generator_assembly" for r in mod.processes())
    assert any(r["process"] == "generator_assembly" for r in mod.build_options())
    assert any(r["product"] == "wind_generator_MW" and r["scope"] == "domestic"
               for r in mod.markets())
    policy = {(r["instrument"], r["target"]): r for r in mod.policy()}
    assert policy[("domestic_demand_support_usd_per_t", "NdFeB_magnet")]["value"] == 0
    stim = [r for r in mod.scenarios() if r["scenario"] == "demand_stimulation"]
    assert stim and all(r["key"].split("|")[0] == "domestic_demand_support_usd_per_t"
                        for r in stim)
    assert any(r["key"] == "curve_segments" for r in mod.settings())
    # every source the demand side cites is on its Sources sheet, and each is cited
    tabs = {name: pd.DataFrame(rows) for name, rows in (
        ("Nodes", mod.nodes()), ("Products", mod.products()), ("Processes", mod.processes()),
        ("Recipes", mod.recipes()), ("NodeProcesses", mod.node_processes()),
        ("BuildOptions", mod.build_options()), ("Routes", mod.routes()),
        ("Markets", mod.markets()), ("Policy", mod.policy()),
        ("Scenarios", mod.scenarios()), ("Settings", mod.settings()),
        ("Deposits", mod.deposits()))}
    mod.check_sources(tabs)


# The 23 parameters whose ±30 % changes the plan in the default screening
# (`python run.py sensitivity inputs/base_case.xlsx`, range 0.3, points 5, tol 0.01; the
# Flips sheet, 2026-11-29; docs/base_case.md § Sensitivity). Issue 14 item 4: each names a
# public source, except the NdPr metal-line capexes, for which no public figure exists (the
# fact sheets record it as searched and not found); those only decide the line's site.
FLIPPING_MARKETS = [("China_FeNb", "Nb2O5"), ("China", "NdPr_metal"), ("China", "NdPr_oxide"),
                    ("China", "carbonate_tomtor"), ("EU", "NdPr_metal"), ("Japan", "NdPr_metal"),
                    ("Japan", "NdPr_oxide"), ("RU_FeNb", "Nb2O5"), ("RU_imports", "NdPr_oxide"),
                    ("USA", "Nb2O5")]
FLIPPING_OPTIONS = ["Crack_Krasnoyarsk", "Crack_Solikamsk", "Crack_Tomsk", "SepTomtor_Krasnoyarsk",
                    "SepTomtor_Novosibirsk", "SepTomtor_Solikamsk", "SepTomtor_Tomsk",
                    "Tomtor_mine"]
UNSOURCEABLE_FLIPPING = ["Metal_Glazov", "Metal_Krasnoyarsk", "Metal_Novosibirsk",
                         "Metal_Solikamsk", "Metal_Tomsk"]


def test_the_parameters_that_flip_the_plan_are_sourced(recs):
    markets = {(r["market"], r["product"]): r for r in recs["Markets"]}
    options = {r["option"]: r for r in recs["BuildOptions"]}
    rows = [markets[k] for k in FLIPPING_MARKETS] + [options[o] for o in FLIPPING_OPTIONS]
    bad = [r for r in rows if str(r["source"]).strip() in ("", "assumption")]
    assert not bad, bad
    for o in UNSOURCEABLE_FLIPPING:  # the stated exception: an assumption that says so
        assert options[o]["source"] == "assumption"
        assert "no published figure" in options[o]["note"]
