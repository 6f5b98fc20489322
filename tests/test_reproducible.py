"""Reproducible runs (docs/model.md §12): the same input, settings, threads and package
versions give identical cell values in every results sheet except the Run sheet's
times and start time; the Run sheet says what is needed to repeat the run.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from tinycase import ROOT, tiny_sheets, write_input

from optmodel.pipeline import solve_workbook

VOLATILE_RUN_KEYS = re.compile(r"^(time_.*_s|start_time_utc)$")


def _cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def _run(cells: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in cells["Run"][1:]:
        out.setdefault(key, value)
    return out


def _solve_twice(inp: Path, tmp_path: Path, **kw) -> tuple[Path, Path]:
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    ra = solve_workbook(inp, a, command_line="optmodel solve (test)", **kw)
    rb = solve_workbook(inp, b, command_line="optmodel solve (test)", **kw)
    assert ra.summary["status"] == rb.summary["status"] == "optimal"
    return a, b


def _assert_same(a: Path, b: Path) -> None:
    ca, cb = _cells(a), _cells(b)
    assert list(ca) == list(cb), "same sheets in the same order"
    for sheet in ca:
        rows_a, rows_b = ca[sheet], cb[sheet]
        if sheet == "Run":
            rows_a = [r for r in rows_a if not VOLATILE_RUN_KEYS.match(str(r[0]))]
            rows_b = [r for r in rows_b if not VOLATILE_RUN_KEYS.match(str(r[0]))]
        assert len(rows_a) == len(rows_b), sheet
        for i, (ra, rb) in enumerate(zip(rows_a, rows_b, strict=True), start=1):
            assert ra == rb, f"{sheet} row {i}: {ra} != {rb}"
    # and, below the values, the sheet files themselves (all but Run and the shared
    # strings that hold its start time) and the document properties are byte-identical
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        names = za.namelist()
        assert names == zb.namelist()
        run_xml = _sheet_xml_of(za, "Run")
        for name in names:
            if name in (run_xml, "xl/sharedStrings.xml"):
                continue
            assert za.read(name) == zb.read(name), name


def _sheet_xml_of(z: zipfile.ZipFile, title: str) -> str:
    wb = z.read("xl/workbook.xml").decode()
    titles = re.findall(r'<sheet name="([^"]+)"', wb)
    return f"xl/worksheets/sheet{titles.index(title) + 1}.xml"


def test_tiny_twice_identical(tmp_path: Path) -> None:
    inp = write_input(tmp_path / "tiny.xlsx", tiny_sheets())
    a, b = _solve_twice(inp, tmp_path, mip_gap=0.0)
    _assert_same(a, b)


def test_base_case_twice_identical(tmp_path: Path) -> None:
    base = ROOT / "inputs" / "base_case.xlsx"
    if not base.exists():
        pytest.skip("inputs/base_case.xlsx not present")
    a, b = _solve_twice(base, tmp_path)
    _assert_same(a, b)


def test_scenario_twice_identical_and_recorded(tmp_path: Path) -> None:
    inp = write_input(tmp_path / "tiny.xlsx", tiny_sheets())
    a, b = _solve_twice(inp, tmp_path, scenario="duty50")
    _assert_same(a, b)
    assert _run(_cells(a))["scenario"] == "duty50"


def test_run_sheet_records_what_reproduces_the_run(tmp_path: Path) -> None:
    import highspy
    import pyomo.version

    import optmodel
    from optmodel.solver.options import SolveOptions

    inp = write_input(tmp_path / "tiny.xlsx", tiny_sheets())
    out = tmp_path / "r.xlsx"
    solve_workbook(inp, out, mip_gap=0.001, time_limit=30, threads=1,
                   command_line="optmodel solve tiny.xlsx")
    run = _run(_cells(out))
    assert run["input_file"] == "tiny.xlsx"
    assert run["input_sha256"] == hashlib.sha256(inp.read_bytes()).hexdigest()
    assert run["scenario"] == "base"
    assert run["package_version"] == optmodel.__version__
    assert run["output_schema_version"] == optmodel.OUTPUT_SCHEMA_VERSION
    assert run["pyomo_version"] == pyomo.version.version
    assert str(highspy.Highs().version()) in run["solver"]
    assert run["python_version"]
    # solver options and seed
    assert float(run["mip_gap_setting"]) == 0.001
    assert float(run["time_limit_s"]) == 30
    assert int(run["threads"]) == 1
    assert int(run["random_seed"]) == SolveOptions().random_seed == 1
    assert run["termination_condition"] == "optimal"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", run["start_time_utc"])
    assert run["command_line"] == "optmodel solve tiny.xlsx"
    assert any(VOLATILE_RUN_KEYS.match(k) for k in run)


def test_input_change_changes_the_recorded_hash(tmp_path: Path) -> None:
    s = tiny_sheets()
    a = write_input(tmp_path / "a.xlsx", s)
    s["Markets"][0]["price_usd_per_t"] = 2001
    b = write_input(tmp_path / "b.xlsx", s)
    solve_workbook(a, tmp_path / "ra.xlsx")
    solve_workbook(b, tmp_path / "rb.xlsx")
    ha = _run(_cells(tmp_path / "ra.xlsx"))["input_sha256"]
    hb = _run(_cells(tmp_path / "rb.xlsx"))["input_sha256"]
    assert ha != hb
