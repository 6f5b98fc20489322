"""Validation rules of docs/model.md §11.5, one bad workbook per rule.

Each case starts from ``tiny_sheets()`` (a valid workbook), makes one change
and checks that validation reports it where a planner would look: the sheet,
the Excel row number (header = row 1, first data row = row 2), the column and
the offending value, with a message saying what was expected.  Every case also
checks that the input file's bytes are unchanged afterwards.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from tinycase import ROOT, tiny_sheets, write_input

from optmodel.errors import InputError, Issue
from optmodel.pipeline import load_tables

Sheets = dict[str, list[dict[str, Any]]]
Mutation = Callable[[Sheets], object]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def errors_of(tmp_path: Path, mutate: Mutation, name: str = "bad.xlsx") -> list[Issue]:
    """Write tiny_sheets() changed by ``mutate``; return the validation errors."""
    sheets = tiny_sheets()
    mutate(sheets)
    path = write_input(tmp_path / name, sheets)
    before = _sha(path)
    with pytest.raises(InputError) as info:
        load_tables(path)
    assert _sha(path) == before, "validation must never write to the input file"
    return [i for i in info.value.issues if i.severity == "error"]


def find(issues: list[Issue], sheet: str, row: int | None, column: str | None,
         value: Any = None, text: str = "") -> Issue:
    """The issue at (sheet, row, column); its printed form names all of them."""
    hits = [i for i in issues if i.sheet == sheet and i.row == row and i.column == column]
    assert hits, f"no issue at {sheet} row {row} column {column}; got:\n" + "\n".join(
        map(str, issues))
    issue = hits[0]
    printed = str(issue)
    assert sheet in printed
    if row is not None:
        assert f"row {row}" in printed
    if column is not None:
        assert f"column {column}" in printed
    if value is not None:
        assert issue.value == value, printed
        assert repr(value) in printed
    assert text in issue.message, printed
    return issue


def cell(sheet_: str, i: int, /, **changes: Any) -> Mutation:
    """Change cells of row ``i`` (0-based data row; Excel row i + 2) of ``sheet_``."""
    return lambda s: s[sheet_][i].update(changes)


def append(sheet_: str, /, **row: Any) -> Mutation:
    return lambda s: s[sheet_].append(row)


def alone(mutate: Mutation) -> Mutation:
    """``mutate`` without the Scenarios sheet, whose selector names the changed Policy row
    (a changed key would rightly add "selector matches no row")."""
    return lambda s: (mutate(s), s.pop("Scenarios"))


# (id, mutation, sheet, Excel row, column, value, message fragment)
CASES: list[tuple[str, Mutation, str, int | None, str | None, Any, str]] = [
    # unknown sheet / header
    ("unknown_sheet", lambda s: s.__setitem__("Plants", [{"a": 1}]), "Plants", None, None,
     None, "unknown sheet"),
    ("unknown_header", cell("Nodes", 0, colour="red"), "Nodes", 1, "D", "colour",
     "unknown column"),
    # missing required column / value
    ("missing_column", lambda s: [r.pop("kind") for r in s["Nodes"]], "Nodes", 1, "kind",
     None, "required column is missing"),
    ("missing_value", cell("Nodes", 1, kind=None), "Nodes", 3, "kind", None,
     "a value is required"),
    ("missing_setting", lambda s: s["Settings"].pop(2), "Settings", None, "key",
     "discount_rate", "required setting is missing"),
    ("missing_setting_value", cell("Settings", 0, value=None), "Settings", 2, "value", None,
     "first_year: a value is required"),
    # wrong types
    ("text_in_number", cell("Routes", 0, distance_km="far"), "Routes", 2, "distance_km",
     "far", "expected a number"),
    ("date_in_number", cell("Routes", 0, distance_km="2020-01-01"), "Routes", 2,
     "distance_km", "2020-01-01", "expected a number"),
    ("text_nan", cell("Routes", 0, cost_usd_per_t="nan"), "Routes", 2, "cost_usd_per_t",
     "nan", "expected a number"),
    ("text_inf", cell("Markets", 0, max_t="inf"), "Markets", 2, "max_t", "inf",
     "expected a number"),
    ("fractional_year", cell("Markets", 0, year=2026.5), "Markets", 2, "year", 2026.5,
     "whole number (a year)"),
    ("fractional_stage", cell("Products", 0, stage=1.5), "Products", 2, "stage", 1.5,
     "whole number between 0 and 6"),
    ("fractional_lead_time", cell("BuildOptions", 0, lead_time_years=1.5), "BuildOptions", 2,
     "lead_time_years", 1.5, "whole number"),
    ("fractional_lifetime", cell("BuildOptions", 0, lifetime_years=20.5), "BuildOptions", 2,
     "lifetime_years", 20.5, "whole number"),
    ("fractional_units", cell("BuildOptions", 0, max_units=1.5), "BuildOptions", 2,
     "max_units", 1.5, "whole number of units"),
    ("fractional_route_year", cell("Routes", 0, first_year=2026.5), "Routes", 2, "first_year",
     2026.5, "whole number (a year)"),
    ("text_setting_year", cell("Settings", 0, value="soon"), "Settings", 2, "value", "soon",
     "first_year: expected a whole number"),
    ("bad_bool", cell("BuildOptions", 0, divisible="maybe"), "BuildOptions", 2, "divisible",
     "maybe", "yes or no"),
    # values outside their range
    ("negative_cost", cell("Routes", 0, cost_usd_per_t=-1), "Routes", 2, "cost_usd_per_t", -1,
     "≥ 0"),
    ("negative_capex", cell("BuildOptions", 0, capex_musd=-0.5), "BuildOptions", 2,
     "capex_musd", -0.5, "≥ 0"),
    ("negative_capacity", cell("NodeProcesses", 0, existing_capacity=-5), "NodeProcesses", 2,
     "existing_capacity", -5, "≥ 0"),
    ("negative_route_capacity", cell("Routes", 1, capacity_t_per_year=-10), "Routes", 3,
     "capacity_t_per_year", -10, "≥ 0"),
    ("negative_price", cell("Markets", 0, price_usd_per_t=-2000), "Markets", 2,
     "price_usd_per_t", -2000, "≥ 0"),
    ("rate_above_one", cell("Policy", 0, value=1.5), "Policy", 2, "value", 1.5,
     "fraction between 0 and 1"),
    ("share_above_one", append("Policy", instrument="min_domestic_processing_share", target="3",
                               value=2), "Policy", 3, "value", 2, "fraction between 0 and 1"),
    ("min_load_above_one", cell("NodeProcesses", 0, min_load=2), "NodeProcesses", 2,
     "min_load", 2, "between 0 and 1"),
    ("discount_rate_above_one", cell("Settings", 2, value=1.5), "Settings", 4, "value", "1.5",
     "discount_rate: expected a number between 0 and 1"),
    ("min_above_max", cell("Markets", 1, min_t=100), "Markets", 3, "min_t", 100,
     "min_t must be ≤ max_t (50)"),
    ("first_after_last", cell("Settings", 0, value=2030), "Settings", 3, "value", 2027,
     "last_year must be ≥ first_year (2030)"),
    ("stage_from_after_to", cell("Processes", 0, stage_from=3, stage_to=1), "Processes", 2,
     "stage_to", 1, "stage_to must be ≥ stage_from (3)"),
    ("route_years_reversed", cell("Routes", 0, first_year=2027, last_year=2026), "Routes", 2,
     "last_year", 2026, "last_year must be ≥ first_year (2027)"),
    ("latitude", cell("Nodes", 0, lat=100), "Nodes", 2, "lat", 100, "between -90 and 90"),
    # unknown enumerated values
    ("unknown_kind", cell("Nodes", 0, kind="castle"), "Nodes", 2, "kind", "castle",
     "expected one of: mine, plant"),
    ("unknown_mode", cell("Routes", 0, mode="teleport"), "Routes", 2, "mode", "teleport",
     "expected one of: rail"),
    ("unknown_direction", cell("Recipes", 1, direction="sideways"), "Recipes", 3, "direction",
     "sideways", "expected one of: in, out"),
    ("unknown_instrument", alone(cell("Policy", 0, instrument="bribe")), "Policy", 2, "instrument",
     "bribe", "expected one of: export_duty_rate"),
    ("unknown_setting", append("Settings", key="colour", value="red"), "Settings", 5, "key",
     "colour", "expected one of: first_year"),
    ("scope_for_direction", cell("Markets", 0, scope="import"), "Markets", 2, "scope",
     "import", "domestic, export for a sell row"),
    # unknown references
    ("unknown_node", cell("Routes", 0, origin="Nowhere"), "Routes", 2, "origin", "Nowhere",
     "unknown node"),
    ("unknown_market_node", cell("Markets", 0, node="Atlantis"), "Markets", 2, "node",
     "Atlantis", "unknown node"),
    ("unknown_product", cell("Recipes", 4, product="unobtainium"), "Recipes", 6, "product",
     "unobtainium", "unknown product"),
    ("unknown_route_product", cell("Routes", 1, products="conc, gold"), "Routes", 3,
     "products", "gold", "unknown product"),
    ("unknown_process", cell("NodeProcesses", 2, process="magic"), "NodeProcesses", 4,
     "process", "magic", "unknown process:"),
    ("unknown_source", cell("Nodes", 0, source="USGS2024"), "Nodes", 2, "source", "USGS2024",
     "unknown source"),
    # duplicate keys
    ("duplicate_node", append("Nodes", node="Mine", kind="mine"), "Nodes", 5, "node", "Mine",
     "duplicate key (also on row 2)"),
    ("duplicate_route", append("Routes", origin="Mine", destination="Plant", mode="rail"),
     "Routes", 5, "origin|destination|mode", "Mine|Plant|rail", "duplicate key (also on row 2)"),
    ("duplicate_market", append("Markets", market="ChinaC", node="Port", product="conc",
                                direction="sell", scope="export", price_usd_per_t=1),
     "Markets", 4, "market|product|direction|scope|year", "ChinaC|conc|sell|export|",
     "duplicate key (also on row 2)"),
    ("duplicate_setting", append("Settings", key="first_year", value=2026), "Settings", 5,
     "key", "first_year", "duplicate key (also on row 2)"),
    # structural rules
    ("route_to_itself", cell("Routes", 0, destination="Mine"), "Routes", 2, "destination",
     "Mine", "from a node to itself"),
    ("process_without_output", lambda s: s["Recipes"].pop(2), "Processes", 3, "process", "flot",
     "process has no output"),
    ("deposit_product_not_made", cell("Deposits", 0, product="oxide"), "Deposits", 2,
     "product", "oxide", "no process at node Mine outputs this product"),
    ("node_named_like_kind", append("Nodes", node="hub", kind="hub"), "Nodes", 5, "node",
     "hub", "named like a node kind"),
    ("names_differ_only_in_case", append("Products", product="Conc", stage=1,
                                         reo_content=0.5), "Products", 5,
     "product", "Conc", "differs only in case from 'conc'"),
    # Policy targets of the wrong form
    ("duty_target", alone(cell("Policy", 0, target="stage<1")), "Policy", 2, "target", "stage<1",
     "expected a product name, stage<=N, stage>=N (N 0–6) or blank"),
    ("share_target", append("Policy", instrument="min_domestic_processing_share",
                            target="oxide", value=0.5), "Policy", 3, "target", "oxide",
     "expected an integer stage N"),
    ("subsidy_target", append("Policy", instrument="processing_subsidy_usd_per_activity",
                              target="oxide", value=5), "Policy", 3, "target", "oxide",
     "expected a process name"),
    ("relief_target", append("Policy", instrument="capex_relief_rate", target="Moon",
                             value=0.5), "Policy", 3, "target", "moon",  # as normalised
     "expected a node name, a node kind"),
    ("budget_target", append("Policy", instrument="investment_budget_musd", target="Plant",
                             value=5), "Policy", 3, "target", "plant",
     "expected a blank target"),  # targets are shown as normalised
    # bad identifiers (§3.2)
    *[(f"identifier_{label}", cell("BuildOptions", 0, option=name), "BuildOptions", 2, "option",
       name, "a name without the characters | , : *")
      for label, name in (("pipe", "sep|1"), ("comma", "sep,1"), ("colon", "sep:1"),
                          ("star", "sep*"), ("equals", "=sep1"), ("plus", "+sep1"),
                          ("minus", "-sep1"), ("at", "@sep1"))],
    ("scenario_name_not_a_file_stem", cell("Scenarios", 0, scenario="a/b"), "Scenarios", 2,
     "scenario", "a/b", "usable as a file name"),
    # years outside the horizon
    ("market_year_outside", cell("Markets", 0, year=2040), "Markets", 2, "year", 2040,
     "outside the horizon 2026–2027"),
    ("nodeprocess_year_outside", cell("NodeProcesses", 0, year=2020), "NodeProcesses", 2,
     "year", 2020, "outside the horizon"),
    ("policy_year_outside", alone(cell("Policy", 0, year=2031)), "Policy", 2, "year", 2031,
     "outside the horizon"),
    ("earliest_year_outside", cell("BuildOptions", 0, earliest_year=2030), "BuildOptions", 2,
     "earliest_year", 2030, "outside the horizon"),
    ("route_year_outside", cell("Routes", 2, last_year=2050), "Routes", 4, "last_year", 2050,
     "outside the horizon"),
    # scenarios
    ("scenario_matches_no_row", cell("Scenarios", 0, key="export_duty_rate|stage<=2|"),
     "Scenarios", 2, "key", "export_duty_rate|stage<=2|", "selector matches no row"),
    ("scenario_value_and_factor", cell("Scenarios", 0, factor=2), "Scenarios", 2, "value",
     "0.5", "exactly one of value and factor"),
    ("scenario_unknown_sheet", cell("Scenarios", 0, sheet="Polcy"), "Scenarios", 2, "sheet",
     "Polcy", "expected a data sheet name"),
    ("scenario_key_column", cell("Scenarios", 0, column="target"), "Scenarios", 2, "column",
     "target", "may not change a key column"),
]

@pytest.mark.parametrize(("mutate", "sheet", "row", "column", "value", "text"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(tmp_path: Path, mutate, sheet, row, column, value, text) -> None:
    errors = errors_of(tmp_path, mutate)
    find(errors, sheet, row, column, value, text)
    # one change, one error: no cascade of follow-on messages about rows that are fine
    assert len(errors) == 1, "\n".join(map(str, errors))


def test_fractional_units_allowed_when_divisible(tmp_path: Path) -> None:
    sheets = tiny_sheets()
    sheets["BuildOptions"][0].update(max_units=1.5, divisible="yes")
    tables = load_tables(write_input(tmp_path / "ok.xlsx", sheets))
    assert tables["BuildOptions"]["max_units"].iloc[0] == 1.5


def test_missing_required_sheet(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, lambda s: s.pop("Recipes"))
    find(errors, "Recipes", None, None, None, "required sheet is missing")


def test_a_missing_optional_sheet_is_an_empty_table(tmp_path: Path) -> None:
    sheets = tiny_sheets()
    del sheets["Scenarios"], sheets["Policy"]
    tables = load_tables(write_input(tmp_path / "ok.xlsx", sheets))
    assert len(tables["Policy"]) == 0 and len(tables["Scenarios"]) == 0


def test_three_mistakes_give_three_issues(tmp_path: Path) -> None:
    def three(s: Sheets) -> None:
        s["Settings"][2]["value"] = -1  # discount rate out of range
        s["Routes"][0]["distance_km"] = "far"  # text in a number column
        s["Markets"][1]["min_t"] = 100  # min_t > max_t (a cross-row rule)

    errors = errors_of(tmp_path, three)
    assert len(errors) == 3, "\n".join(map(str, errors))
    find(errors, "Settings", 4, "value", "-1", "discount_rate")
    find(errors, "Routes", 2, "distance_km", "far", "expected a number")
    find(errors, "Markets", 3, "min_t", 100, "min_t must be ≤ max_t")


def test_problems_across_sheets_reported_together(tmp_path: Path) -> None:
    def many(s: Sheets) -> None:
        s["Nodes"][0]["kind"] = "castle"
        s["Products"][1]["reo_content"] = -0.5
        s["Routes"].append(dict(origin="Port", destination="Port", mode="sea"))
        s["Policy"][0]["target"] = "stage 1"  # and the scenario's selector no longer matches

    errors = errors_of(tmp_path, many)
    assert {(i.sheet, i.row, i.column) for i in errors} == {
        ("Nodes", 2, "kind"), ("Products", 3, "reo_content"), ("Routes", 5, "destination"),
        ("Policy", 2, "target"), ("Scenarios", 2, "key")}


def test_headers_are_case_insensitive_and_trimmed(tmp_path: Path) -> None:
    sheets = tiny_sheets()
    sheets["Nodes"] = [{" NODE ": r["node"], "Kind": r["kind"]} for r in sheets["Nodes"]]
    tables = load_tables(write_input(tmp_path / "ok.xlsx", sheets))
    assert list(tables["Nodes"]["node"]) == ["Mine", "Plant", "Port"]


def test_warning_does_not_block(tmp_path: Path) -> None:
    sheets = tiny_sheets()
    sheets["Products"].append(dict(product="slag", stage=0, reo_content=0))
    sheets["Recipes"].append(dict(process="flot", product="slag", direction="out",
                                  qty_per_activity=4))
    tables = load_tables(write_input(tmp_path / "warn.xlsx", sheets))
    assert any(w.sheet == "Products" and w.row == 5 and "slag" in str(w)
               for w in tables.warnings)


# ------------------------------------------------------------------ formulas


def _write_with_formulas(path: Path, formulas: dict[tuple[str, int, str], tuple[str, Any]]
                         ) -> Path:
    """tiny_sheets() written with xlsxwriter; ``formulas[(sheet, i, column)] = (formula,
    cached value)`` replaces data row ``i``'s cell by a formula with that cached value."""
    sheets = tiny_sheets()
    book = xlsxwriter.Workbook(path)
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        cols = list(dict.fromkeys(k for r in rows for k in r))
        for j, c in enumerate(cols):
            ws.write_string(0, j, c)
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                if (name, i, c) in formulas:
                    formula, cached = formulas[(name, i, c)]
                    ws.write_formula(i + 1, j, formula, None, cached)
                elif r.get(c) is not None:
                    ws.write(i + 1, j, r[c])
    book.close()
    return path


def test_formula_cells_are_read_as_cached_values(tmp_path: Path) -> None:
    """A formula counts as its cached (last computed) value."""
    path = _write_with_formulas(tmp_path / "formulas.xlsx", {
        ("Routes", 0, "distance_km"): ("=50*2", 100),
        ("Markets", 1, "max_t"): ("=10*5", 50),
        ("Nodes", 2, "node"): ('="Po"&"rt"', "Port"),
    })
    before = _sha(path)
    tables = load_tables(path)
    assert _sha(path) == before
    assert tables["Routes"]["distance_km"].iloc[0] == 100
    assert tables["Markets"]["max_t"].iloc[1] == 50
    assert tables["Nodes"]["node"].iloc[2] == "Port"
    ws = openpyxl.load_workbook(path)["Routes"]  # the file really holds a formula there
    assert ws["D2"].data_type == "f" and ws["D2"].value == "=50*2"


def test_formula_with_text_cached_value_is_reported(tmp_path: Path) -> None:
    path = _write_with_formulas(tmp_path / "formula_text.xlsx",
                                {("Routes", 0, "distance_km"): ('="far"', "far")})
    with pytest.raises(InputError) as info:
        load_tables(path)
    find(info.value.issues, "Routes", 2, "distance_km", "far", "expected a number")


# ------------------------------------------------------------------ real dates


def test_date_cell_in_number_column(tmp_path: Path) -> None:
    """A real Excel date (not text) where a number belongs is reported with the date."""
    path = write_input(tmp_path / "d.xlsx", tiny_sheets())
    wb = openpyxl.load_workbook(path)
    ws = wb["Routes"]
    col = [c.value for c in ws[1]].index("distance_km") + 1
    ws.cell(2, col).value = _dt.datetime(2020, 1, 1)
    wb.save(path)
    before = _sha(path)
    with pytest.raises(InputError) as info:
        load_tables(path)
    assert _sha(path) == before
    issue = find(info.value.issues, "Routes", 2, "distance_km", None, "expected a number")
    assert "2020-01-01" in str(issue.value)


# ------------------------------------------------------------------ command line


def test_cli_validate_exit_2_lists_every_problem(tmp_path: Path) -> None:
    sheets = tiny_sheets()
    sheets["Nodes"][0]["kind"] = "castle"
    sheets["Routes"][0]["distance_km"] = "far"
    sheets["Markets"][1]["min_t"] = 100
    path = write_input(tmp_path / "bad.xlsx", sheets)
    before = _sha(path)
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", str(path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    text = r.stdout + r.stderr
    assert "Traceback" not in text
    for fragment in ("Nodes, row 2, column kind", "castle", "Routes, row 2, column distance_km",
                     "far", "Markets, row 3, column min_t"):
        assert fragment in " ".join(text.split()), text
    assert _sha(path) == before


def test_cli_validate_ok(tmp_path: Path) -> None:
    path = write_input(tmp_path / "ok.xlsx", tiny_sheets())
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", str(path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout
