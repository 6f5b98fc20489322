"""Results carry their inputs; compare diffs them and attributes each KPI to its own rows.

A small chain (tests/tinycase.py: mine → concentrate → oxide, a port with a concentrate
export row ChinaC and an oxide export row JapanOx) plus an oxide import row ImportOx at
the port.  Each test sets one known input change and checks what compare says about it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from results_fixtures import results_tables, write_results_workbook
from tinycase import tiny_sheets, write_input

from optmodel.compare import compare_results
from optmodel.input.scenarios import Override, apply_overrides
from optmodel.input.targets import normalise_target
from optmodel.io.read import read_raw
from optmodel.io.results_read import read_results
from optmodel.pipeline import solve_workbook
from optmodel.results.inputs_sheet import INPUT_SHEETS


def _sheets() -> dict[str, list[dict]]:
    s = tiny_sheets()
    # neutral duty row on stage <= 2 (the lever the scenario moves), an import row
    s["Policy"] = [dict(instrument="export_duty_rate", target="stage<=2", value=0)]
    s["Markets"].append(dict(market="ImportOx", node="Port", product="oxide", direction="buy",
                             scope="import", price_usd_per_t=12000, max_t=30))
    # a year row: its key ends in the year, written as an integer
    s["NodeProcesses"].append(dict(node="Mine", process="mining", year=2027,
                                   existing_capacity=900, opex_usd_per_activity=10))
    s["Scenarios"] = [
        dict(scenario="duty30", sheet="Policy", key="export_duty_rate|stage<=2|",
             column="value", value=0.3),
        dict(scenario="dearimport", sheet="Markets", key="ImportOx|oxide|buy|import|",
             column="price_usd_per_t", value=25000),
    ]
    return s


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inputs")
    src = write_input(d / "chain.xlsx", _sheets())
    out = {"input": src}
    for sc in ("base", "duty30", "dearimport"):
        out[sc] = d / f"chain_{sc}.xlsx"
        solve_workbook(src, out[sc], scenario=sc, report=False)
    return out


def _line(narrative: list[str], head: str) -> str:
    hits = [x for x in narrative if x.startswith(head)]
    assert len(hits) == 1, (head, narrative)
    return hits[0]


def _named(line: str) -> list[str]:
    """``"export duties +0.18 MUSD: A conc 2026: +0.12 MUSD; …"`` → ``["A conc 2026", …]``."""
    causes = line.split(": ", 1)[1].split("; ")
    return [c.rsplit(": ", 1)[0] for c in causes]


def test_duty_line_names_exactly_the_rows_that_paid_duty(runs, tmp_path):
    res = compare_results([runs["base"], runs["duty30"]], tmp_path / "d.xlsx")
    ch = res.tables["InputChanges"]
    assert ch.to_dict("records") == [{"sheet": "Policy", "key": "export_duty_rate|stage<=2|",
                                      "column": "value", "value_a": 0, "value_b": 0.3}]
    assert res.narrative[0] == (
        "Inputs: 1 change: Policy export_duty_rate|stage<=2| value: 0 → 0.3.")
    trade = read_results(runs["duty30"])["Trade"]
    paid = trade[trade["duty_musd"] > 0]
    # the duty is 30 % of the concentrate exports' value (stage 1 ≤ 2); oxide (stage 3)
    # pays none, so it must not be named
    assert set(paid["product"]) == {"conc"}
    assert paid["duty_musd"].to_numpy() == pytest.approx(0.3 * paid["value_musd"].to_numpy())
    line = _line(res.narrative, "export duties ")
    expected = [f"{m} {p} {y}" for m, p, y in zip(paid["market"], paid["product"],
                                                  paid["year"], strict=True)]
    assert sorted(_named(line)) == sorted(expected)
    assert "JapanOx" not in line and "oxide" not in line
    # the written workbook: InputChanges first, the same row
    written = pd.read_excel(tmp_path / "d.xlsx", sheet_name=None, engine="calamine")
    assert list(written)[0] == "InputChanges"
    assert written["InputChanges"].shape[0] == 1


def test_compare_page_lists_the_input_changes(runs, tmp_path):
    page = tmp_path / "d.html"
    compare_results([runs["base"], runs["duty30"]], None, page)
    text = page.read_text(encoding="utf-8")
    assert "<h2>Input changes (1)</h2>" in text
    assert text.index("Input changes (1)") < text.index("What changed")
    assert "export_duty_rate|stage&lt;=2|" in text


def test_revenue_names_sell_rows_only(runs):
    res = compare_results([runs["base"], runs["dearimport"]])
    ch = res.tables["InputChanges"]
    assert ch[["sheet", "key", "column"]].values.tolist() == [
        ["Markets", "ImportOx|oxide|buy|import|", "price_usd_per_t"]]
    assert (ch["value_a"].iloc[0], ch["value_b"].iloc[0]) == (12000, 25000)
    a, b = read_results(runs["base"])["Trade"], read_results(runs["dearimport"])["Trade"]
    # the dearer import stops the re-export: both the import and the oxide sales go
    assert (a["market"] == "ImportOx").any() and not (b["market"] == "ImportOx").any()
    revenue = _line(res.narrative, "revenue ")
    assert _named(revenue) and all(n.startswith("JapanOx ") for n in _named(revenue))
    assert "ImportOx" not in revenue
    purchases = _line(res.narrative, "purchases ")
    assert _named(purchases) and all(n.startswith("ImportOx ") for n in _named(purchases))
    # amounts are the rows' own changes: JapanOx 2026 lost its whole value
    lost = a[(a["market"] == "JapanOx") & (a["year"] == 2026)]["value_musd"].iloc[0]
    assert f"JapanOx oxide 2026: −{lost:.2g} MUSD" in revenue


def test_at_most_three_causes_largest_first():
    from optmodel.compare import attribution

    def trade(values):
        return {"Trade": pd.DataFrame({
            "market": [f"M{i}" for i in range(len(values))], "product": "p",
            "direction": "sell", "scope": "export", "year": 2030, "value_musd": values,
            "duty_musd": 0.0})}

    got = attribution("revenue_musd", trade([1.0, 1.0, 1.0, 1.0, 1.0]),
                      trade([1.0, 3.0, 0.5, 11.0, 1.2]))
    # changes: M1 +2, M2 −0.5, M3 +10, M4 +0.2 → the three largest by size
    assert got == ["M3 p 2030: +10.0 MUSD", "M1 p 2030: +2.00 MUSD", "M2 p 2030: −0.5 MUSD"]


def test_inputs_sheet_round_trip(runs):
    inputs = read_results(runs["base"])["Inputs"]
    assert list(inputs.columns[:4]) == ["sheet", "key", "column", "value"]
    # sheets in §3.1 order, rows in workbook order
    order = [INPUT_SHEETS.index(s) for s in inputs["sheet"]]
    assert order == sorted(order)
    assert not set(inputs["sheet"]) & {"Scenarios", "Sources", "README"}
    lines = {(s, k, c): v for s, k, c, v in inputs[["sheet", "key", "column", "value"]]
             .itertuples(index=False)}
    # typed values: numbers as numbers, Settings values too
    assert lines[("Settings", "first_year", "value")] == 2026
    assert lines[("Settings", "discount_rate", "value")] == pytest.approx(0.1)
    assert lines[("Markets", "ImportOx|oxide|buy|import|", "price_usd_per_t")] == 12000
    assert lines[("NodeProcesses", "Mine|mining|2027", "existing_capacity")] == 900
    assert lines[("Policy", "export_duty_rate|stage<=2|", "value")] == 0
    # a row without a non-blank value cell gives one line with blank column and value
    proc = inputs[inputs["sheet"] == "Processes"]
    assert proc["key"].tolist() == ["mining", "flot", "sep"]
    assert proc["column"].isna().all() and proc["value"].isna().all()
    # no key column and no note among the columns
    assert not ((inputs["sheet"] == "Markets") & inputs["column"].isin(
        ["market", "product", "direction", "scope", "year", "note"])).any()
    # every key is a selector that matches exactly its own row (as a Scenarios row would)
    raw = read_raw(runs["input"])
    for (sheet, key, col) in lines:
        if pd.isna(col) or sheet == "Settings":
            continue
        changed = apply_overrides(raw, [Override(sheet, key, col, value="MARK")])
        header = [str(h).strip().lower() for h in changed[sheet].header]
        j = header.index(col)
        marked = [r for r in changed[sheet].rows if len(r) > j and r[j] == "MARK"]
        assert len(marked) == 1, (sheet, key, col)


def test_inputs_follow_the_scenario(runs):
    inputs = read_results(runs["duty30"])["Inputs"]
    row = inputs[(inputs["sheet"] == "Policy") & (inputs["column"] == "value")]
    assert row["value"].tolist() == [0.3]


def test_policy_targets_are_normalised():
    assert normalise_target("Stage <= 2") == "stage<=2"
    assert normalise_target(" STAGE>=05 ") == "stage>=5"
    assert normalise_target(" NdPr_Oxide ") == "ndpr_oxide"
    assert normalise_target(None) is None  # a blank target


def test_without_inputs_sheet_input_changes_says_so(tmp_path):
    t = results_tables()
    del t["Inputs"]
    old = write_results_workbook(tmp_path / "old.xlsx", t)
    new = write_results_workbook(tmp_path / "new.xlsx")
    res = compare_results([old, new])
    ch = res.tables["InputChanges"]
    assert len(ch) == 1 and "old.xlsx has no Inputs sheet" in ch["key"].iloc[0]
    assert res.narrative[0].startswith("Inputs: old.xlsx has no Inputs sheet")


def test_warnings_sheet_always_present(runs):
    book = pd.read_excel(runs["dearimport"], sheet_name=None, engine="calamine")
    assert "Warnings" in book and list(book["Warnings"].columns) == ["sheet", "row", "message"]
    assert book["Warnings"].empty  # no input or plan warning in this run


def test_import_and_reexport_is_a_plan_warning(runs):
    w = pd.read_excel(runs["base"], sheet_name="Warnings", engine="calamine")
    # ImportOx buys 30 t of oxide a year and JapanOx sells it: one warning per year
    hits = w[w["message"].str.contains("bought on an import row and sold on an export row")]
    assert hits["sheet"].tolist() == ["Trade", "Trade"]
    assert hits["row"].isna().all()
    assert [("2026" in m, "2027" in m) for m in hits["message"]] == [(True, False),
                                                                      (False, True)]
    assert all("ImportOx" in m and "JapanOx" in m for m in hits["message"])


def test_binding_says_the_unit_of_each_dual(runs):
    b = pd.read_excel(runs["base"], sheet_name="Binding", engine="calamine")
    assert len(b) and b["dual_unit"].notna().all()
    units = dict(zip(b["constraint"], b["dual_unit"], strict=False))
    # a yearly constraint's dual is in that year's USD; the reserve (whole horizon) in PV
    assert units.get("deposit_reserve", "USD (present value) per t of reserve") == (
        "USD (present value) per t of reserve")
    yearly = b[b["index"].astype(str).str.contains(r"\|20\d\d$")]
    assert yearly["dual_unit"].str.startswith("USD of that year per ").all()


def test_no_row_is_named_when_the_rows_do_not_make_up_the_kpi(tmp_path):
    # revenue moves by 10 MUSD while no Trade row changes: naming rows would mislead
    base = write_results_workbook(tmp_path / "a.xlsx")
    t = results_tables()
    s = t["Summary"]
    s.loc[s["metric"] == "revenue_musd", "value"] = s.loc[
        s["metric"] == "revenue_musd", "value"].astype(float) + 10.0
    other = write_results_workbook(tmp_path / "b.xlsx", t)
    line = _line(compare_results([base, other]).narrative, "revenue ")
    assert line.startswith("revenue +10.0 MUSD: its detail rows (Trade) change by")
    assert "no row is named" in line
