"""compare_results and read_results on hand-made results workbooks (tests/results_fixtures.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
from results_fixtures import results_tables, write_results_workbook

from optmodel import OUTPUT_SCHEMA_VERSION
from optmodel.compare import compare_results, differs, fmt_delta
from optmodel.errors import InputError, OutputError
from optmodel.io.results_read import RESULT_COLUMNS, read_results, summary_values
from optmodel.model.objective import PV_TERM_LINES

DIFF_SHEETS = ("Builds", "Flows", "Trade", "Activity", "Prices")


def _sheet_names(path: Path) -> list[str]:
    return list(pd.read_excel(path, sheet_name=None, engine="calamine"))


def _set_summary(tables: dict[str, pd.DataFrame], metric: str, value) -> None:
    s = tables["Summary"]
    s.loc[s["metric"] == metric, "value"] = value


def _get_summary(tables: dict[str, pd.DataFrame], metric: str) -> float:
    s = tables["Summary"]
    return float(s.loc[s["metric"] == metric, "value"].iloc[0])


@pytest.fixture(scope="module")
def base_path(tmp_path_factory) -> Path:
    return write_results_workbook(tmp_path_factory.mktemp("base") / "base_results.xlsx")


# --------------------------------------------------------------------------- reading


def test_read_results_round_trip(base_path):
    tables = read_results(base_path)
    for sheet, cols in RESULT_COLUMNS.items():
        assert sheet in tables
        assert list(tables[sheet].columns)[: len(cols)] == list(cols)
    assert len(tables["Builds"]) == 2
    assert tables["Builds"]["year"].dtype.name == "Int64"
    assert summary_values(tables)["status"] == "optimal"
    # pv_* lines add up to npv_musd in the fixture, as §4 requires
    s = summary_values(tables)
    pv = sum(v for k, v in s.items() if k in PV_TERM_LINES)
    assert pv == pytest.approx(s["npv_musd"])


def test_missing_sheet_is_empty_table(tmp_path):
    tables = results_tables()
    del tables["Prices"], tables["Binding"]
    tables = read_results(write_results_workbook(tmp_path / "r.xlsx", tables))
    assert tables["Prices"].empty
    assert list(tables["Prices"].columns) == list(RESULT_COLUMNS["Prices"])


def test_not_xlsx_is_input_error(tmp_path):
    p = tmp_path / "notes.xlsx"
    p.write_text("metric,value\nnpv_musd,1\n")
    with pytest.raises(InputError, match="not an xlsx workbook"):
        read_results(p)


def test_zip_that_is_not_xlsx_is_input_error(tmp_path):
    p = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(InputError, match="not an xlsx workbook"):
        read_results(p)


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_results(tmp_path / "nope.xlsx")


def test_input_workbook_is_not_results(tmp_path):
    tables = results_tables()
    p = write_results_workbook(
        tmp_path / "input.xlsx", {"Nodes": tables["Nodes"], "Products": tables["Products"]}
    )
    with pytest.raises(InputError, match="not an optmodel results workbook: it has no Summary"):
        read_results(p)


def test_run_sheet_without_version(tmp_path):
    tables = results_tables()
    tables["Run"] = tables["Run"][tables["Run"]["key"] != "output_schema_version"]
    p = write_results_workbook(tmp_path / "r.xlsx", tables)
    with pytest.raises(InputError, match="no output_schema_version"):
        read_results(p)


def test_major_version_2_is_refused(tmp_path):
    p = write_results_workbook(tmp_path / "v2.xlsx", results_tables(version="2.0"))
    with pytest.raises(InputError) as err:
        read_results(p)
    msg = str(err.value)
    assert "2.0" in msg and OUTPUT_SCHEMA_VERSION in msg
    assert "\n" not in msg  # one sentence


def test_minor_version_and_numeric_cell_are_accepted(tmp_path):
    read_results(write_results_workbook(tmp_path / "v13.xlsx", results_tables(version="1.3")))
    tables = results_tables()
    run = tables["Run"].astype(object)
    run.loc[run["key"] == "output_schema_version", "value"] = 1.0  # stored as a number
    tables["Run"] = run
    read_results(write_results_workbook(tmp_path / "num.xlsx", tables))


# --------------------------------------------------------------------------- comparing


def test_workbook_vs_itself_has_no_differences(base_path, tmp_path):
    out = tmp_path / "diff.xlsx"
    html = tmp_path / "diff.html"
    res = compare_results([base_path, base_path], out, html)
    assert res.identical and res.n_differences == 0
    assert not res.provenance_differs
    assert res.labels == ["base_results", "base_results #2"]
    for sheet in DIFF_SHEETS:
        assert res.tables[sheet].empty, sheet
    assert (res.tables["KPIs"]["changed"] == "").all()
    assert res.tables["RunDifferences"].empty
    assert res.narrative == ["No differences beyond the tolerance."]
    names = _sheet_names(out)
    assert names == [
        "KPIs",
        "Builds",
        "Flows",
        "Trade",
        "Activity",
        "Prices",
        "Narrative",
        "RunDifferences",
    ]
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_one_build_removed_reports_exactly_that(base_path, tmp_path):
    tables = results_tables()
    builds = tables["Builds"]
    tables["Builds"] = builds[builds["option"] != "novosib_sep"].reset_index(drop=True)
    npv = _get_summary(tables, "npv_musd")
    _set_summary(tables, "npv_musd", npv - 312.0)
    other = write_results_workbook(tmp_path / "no_sep.xlsx", tables)

    res = compare_results([base_path, other], tmp_path / "d.xlsx", None)
    b = res.tables["Builds"]
    assert len(b) == 1
    row = b.iloc[0]
    assert (row["option"], row["node"], row["process"], row["change"]) == (
        "novosib_sep",
        "Novosibirsk",
        "separation",
        "removed",
    )
    assert row["units_base"] == 1 and row["units_new"] == 0
    assert row["capex_change_musd"] == pytest.approx(-60.0)
    kpis = res.tables["KPIs"]
    changed = kpis[kpis["changed"] == "yes"]
    assert list(changed["metric"]) == ["npv_musd"]
    assert changed["change: no_sep"].iloc[0] == pytest.approx(-312.0)
    assert changed["rel change: no_sep"].iloc[0] == pytest.approx(-312.0 / abs(npv))
    for sheet in ("Flows", "Trade", "Activity", "Prices"):
        assert res.tables[sheet].empty, sheet
    assert res.n_differences == 2
    assert res.narrative == ["NPV −312 MUSD: Novosibirsk separation no longer built"]
    # the written workbook holds the same
    written = pd.read_excel(tmp_path / "d.xlsx", sheet_name=None, engine="calamine")
    assert len(written["Builds"]) == 1 and written["Builds"]["change"].iloc[0] == "removed"
    assert written["Narrative"]["line"].tolist() == res.narrative


def test_strategy_change_tables_and_narrative(base_path, tmp_path):
    other = write_results_workbook(tmp_path / "no_sep.xlsx", results_tables(False))
    res = compare_results([base_path, other], None, None)
    npv_line = res.narrative[0]
    assert npv_line.startswith("NPV −")
    assert "Novosibirsk separation no longer built" in npv_line
    assert "mixed_compounds exported to China instead" in npv_line
    trade = res.tables["Trade"]
    impact = trade["value_impact_musd"].abs().tolist()
    assert impact == sorted(impact, reverse=True)
    assert set(trade["status"]) == {"new", "gone"}
    gone = trade[trade["status"] == "gone"]
    assert set(gone["market"]) == {"Japan", "Russia_domestic"}
    act = res.tables["Activity"]
    assert set(zip(act["node"], act["process"], act["status"], strict=True)) == {
        ("Novosibirsk", "separation", "gone")
    }
    # value impact: lost opex is a gain, lost subsidy a loss
    r = act.iloc[0]
    assert r["value_impact_musd"] == pytest.approx(
        -r["opex_musd_change"] + r["subsidy_musd_change"]
    )
    prices = res.tables["Prices"]
    assert len(prices) == 6 and (prices["shadow_price_usd_per_t_change"] < 0).all()
    metrics = {line.split(" ", 1)[0] for line in res.narrative}
    assert "capex" in metrics and "revenue" in metrics


def test_tolerance_hides_round_off(base_path, tmp_path):
    tables = results_tables()
    tables["Flows"]["tonnes"] = tables["Flows"]["tonnes"] * (1 + 1e-9)
    tables["Trade"]["value_musd"] = tables["Trade"]["value_musd"] + 1e-9
    p = write_results_workbook(tmp_path / "noise.xlsx", tables)
    assert compare_results([base_path, p]).identical
    res = compare_results([base_path, p], tol=0.0)
    assert not res.identical and len(res.tables["Flows"]) == len(tables["Flows"])


def test_builds_resized_and_moved(base_path, tmp_path):
    tables = results_tables()
    b = tables["Builds"]
    b.loc[b["option"] == "tomtor_mine", "units"] = 2
    b.loc[b["option"] == "novosib_sep", ["year", "online_year"]] = [2027, 2028]
    p = write_results_workbook(tmp_path / "b.xlsx", tables)
    res = compare_results([base_path, p])
    got = dict(zip(res.tables["Builds"]["option"], res.tables["Builds"]["change"], strict=True))
    assert got == {"tomtor_mine": "resized", "novosib_sep": "moved"}
    assert res.n_differences == 2
    assert res.narrative == [
        "No KPI changed beyond the tolerance, but: Tomtor mining_tomtor resized 1→2 units; "
        "Novosibirsk separation moved 2026 → 2027"
    ]


def test_different_input_lists_run_differences_first(base_path, tmp_path):
    p = write_results_workbook(
        tmp_path / "other.xlsx", results_tables(scenario="duty30", input_sha256="cd" * 32)
    )
    out = tmp_path / "d.xlsx"
    res = compare_results([base_path, p], out)
    assert res.provenance_differs
    assert _sheet_names(out)[0] == "RunDifferences"
    rd = res.tables["RunDifferences"]
    assert dict(zip(rd["key"], rd["kind"], strict=True)) == {
        "input_sha256": "provenance",
        "scenario": "setting",
    }
    assert res.narrative[0].startswith("Runs come from different inputs or versions")
    assert res.n_differences == 2


def test_three_runs_compare_against_first(base_path, tmp_path):
    p2 = write_results_workbook(tmp_path / "b.xlsx", results_tables(False))
    res = compare_results([base_path, base_path, p2])
    kpis = res.tables["KPIs"]
    assert {"change: base_results #2", "change: b"} <= set(kpis.columns)
    assert set(res.tables["Builds"]["run"]) == {"b"}
    assert all(line for line in res.narrative)


def test_output_over_input_is_output_error(base_path):
    with pytest.raises(OutputError):
        compare_results([base_path, base_path], base_path, None)


def test_output_in_missing_folder_is_output_error(base_path, tmp_path):
    with pytest.raises(OutputError):
        compare_results([base_path, base_path], tmp_path / "no" / "d.xlsx", None)


def test_one_path_is_input_error(base_path):
    with pytest.raises(InputError):
        compare_results([base_path])


def test_bad_file_in_compare_is_input_error(base_path, tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"\x00\x01 not a workbook")
    with pytest.raises(InputError):
        compare_results([base_path, bad])


def test_helpers():
    assert fmt_delta(-312.4, "MUSD") == "−312 MUSD"
    assert fmt_delta(0.25) == "+0.25"
    assert not differs(1.0, 1.0 + 1e-9, 1e-6)
    assert differs(1.0, None, 1e-6)
    assert not differs(None, float("nan"), 1e-6)
    assert differs("optimal", "feasible", 1e-6)


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> dict[str, Path]:
    """The tiny input workbook solved for real: base and the duty50 scenario."""
    pipeline = pytest.importorskip("optmodel.pipeline")
    from tinycase import tiny_sheets, write_input

    d = tmp_path_factory.mktemp("solved")
    inp = write_input(d / "tiny.xlsx", tiny_sheets())
    base = d / "tiny_base.xlsx"
    duty = d / "tiny_duty50.xlsx"
    again = d / "tiny_again.xlsx"
    pipeline.solve_workbook(inp, base, mip_gap=0.0)
    pipeline.solve_workbook(inp, again, mip_gap=0.0)
    pipeline.solve_workbook(inp, duty, scenario="duty50", mip_gap=0.0)
    return {"input": inp, "base": base, "again": again, "duty": duty, "dir": d}


def _rewrite(src: Path, dst: Path, edit) -> Path:
    """Copy a results workbook sheet by sheet through write_workbook, editing the tables."""
    from optmodel.io.write import SheetSpec, write_workbook

    book = pd.read_excel(src, sheet_name=None, engine="calamine")
    edit(book)
    write_workbook(dst, [SheetSpec(name, frame) for name, frame in book.items()])
    return dst


def test_real_results_vs_itself(solved, tmp_path):
    res = compare_results([solved["base"], solved["base"]], tmp_path / "d.xlsx", None)
    assert res.identical, res.narrative


def test_two_solves_of_the_same_input_do_not_differ(solved):
    """Run-sheet times (start_time_utc, time_*_s) are not differences."""
    res = compare_results([solved["base"], solved["again"]])
    assert res.identical, (res.narrative, res.tables["RunDifferences"])


def test_real_results_one_build_removed(solved, tmp_path):
    base = read_results(solved["base"])
    assert len(base["Builds"]) >= 1
    option = base["Builds"]["option"].iloc[0]

    def drop_build(book):
        b = book["Builds"]
        book["Builds"] = b[b["option"] != option]

    edited = _rewrite(solved["base"], tmp_path / "edited.xlsx", drop_build)
    res = compare_results([solved["base"], edited])
    b = res.tables["Builds"]
    assert list(zip(b["option"], b["change"], strict=True)) == [(option, "removed")]
    assert res.n_differences == 1
    for sheet in ("KPIs", "Flows", "Trade", "Activity", "Prices"):
        if sheet == "KPIs":
            assert (res.tables[sheet]["changed"] == "").all()
        else:
            assert res.tables[sheet].empty, sheet
    node, process = b["node"].iloc[0], b["process"].iloc[0]
    assert res.narrative == [
        f"No KPI changed beyond the tolerance, but: {node} {process} no longer built"
    ]


def test_real_scenarios_compare(solved, tmp_path):
    res = compare_results(
        [solved["base"], solved["duty"]], tmp_path / "d.xlsx", tmp_path / "d.html"
    )
    assert not res.provenance_differs  # same input file, same versions
    rd = res.tables["RunDifferences"]
    assert "scenario" in set(rd["key"]) and set(rd["kind"]) == {"setting"}
    assert not any(k.startswith("time_") and k != "time_limit_s" for k in rd["key"])
    a = summary_values(read_results(solved["base"]))
    b = summary_values(read_results(solved["duty"]))
    kpis = res.tables["KPIs"].set_index("metric")
    assert kpis.loc["npv_musd", "change: tiny_duty50"] == pytest.approx(
        b["npv_musd"] - a["npv_musd"]
    )
    if abs(b["npv_musd"] - a["npv_musd"]) > 1e-6:
        assert res.narrative[0].startswith("NPV ")
        assert "MUSD" in res.narrative[0] and "(" not in res.narrative[0].split(":")[0]
    assert _sheet_names(tmp_path / "d.xlsx")[0] == "KPIs"
    assert (tmp_path / "d.html").stat().st_size > 1_000_000  # plotly.js inlined
