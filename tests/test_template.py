"""The template workbook (``python run.py template FILE.xlsx``): optmodel.input.template."""

from __future__ import annotations

import importlib
import inspect
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from optmodel import schema
from optmodel.errors import OutputError
from optmodel.input.template import write_template

SHEETS = schema.SHEETS


def _headers(sheet: schema.Sheet) -> list[str]:
    # each header once, in schema order (robust to a column listed both in a sheet and common)
    return list(dict.fromkeys(sheet.column_names))


@pytest.fixture(scope="module")
def example_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.xlsx"
    write_template(path)
    return path


@pytest.fixture(scope="module")
def blank_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("blank") / "blank.xlsx"
    write_template(path, example=False)
    return path


@pytest.fixture(scope="module")
def example_wb(example_path):
    return openpyxl.load_workbook(example_path)


def _rows(ws) -> list[dict]:
    header = [c.value for c in ws[1]]
    return [
        dict(zip(header, r, strict=True))
        for r in ws.iter_rows(min_row=2, values_only=True)
        if any(v is not None for v in r)
    ]


def _values(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


# ------------------------------------------------------------------ structure


@pytest.mark.parametrize("which", ["example", "blank"])
def test_every_schema_sheet_with_exact_headers(which, example_path, blank_path):
    wb = openpyxl.load_workbook(example_path if which == "example" else blank_path)
    assert wb.sheetnames == ["README", *SHEETS]
    for name, sheet in SHEETS.items():
        ws = wb[name]
        assert [c.value for c in ws[1]] == _headers(sheet), name


def test_required_headers_are_red_and_others_not(example_wb):
    for name, sheet in SHEETS.items():
        ws = example_wb[name]
        for cell in ws[1]:
            col = sheet.column(cell.value)
            red = cell.fill.fgColor.rgb.endswith("C00000")
            assert red == col.required, (name, col.name)
            assert cell.font.b


def test_header_comments_give_meaning_unit_and_default(example_wb):
    for name, sheet in SHEETS.items():
        ws = example_wb[name]
        for cell in ws[1]:
            col = sheet.column(cell.value)
            assert cell.comment is not None, (name, col.name)
            text = cell.comment.text
            assert col.description in text
            if col.unit:
                assert f"Unit: {col.unit}" in text
            if col.required:
                assert "REQUIRED" in text
            else:
                assert "Default:" in text
            if isinstance(col.default, int | float) and not isinstance(col.default, bool):
                assert f"Default: {col.default:g}" in text, (name, col.name)
            elif isinstance(col.default, str):
                assert f"Default: {col.default}" in text, (name, col.name)
            for choice in col.choices:
                assert choice in text


def test_frozen_header_row_widths_and_autofilter(example_wb):
    for ws in example_wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), ws.title
        for j in range(1, ws.max_column + 1):
            letter = openpyxl.utils.get_column_letter(j)
            width = ws.column_dimensions[letter].width
            header = ws.cell(1, j).value
            assert width >= min(len(header) + 2, 60) or width >= 8, (ws.title, header)


def _validations(ws) -> list[tuple[set[str], str]]:
    """(cells at row 2 covered, formula1) for every list validation of a sheet."""
    out = []
    for dv in ws.data_validations.dataValidation:
        assert dv.type == "list"
        cells = {
            f"{openpyxl.utils.get_column_letter(c)}2"
            for rng in dv.sqref.ranges
            for c in range(rng.min_col, rng.max_col + 1)
            if rng.min_row <= 2 <= rng.max_row
        }
        assert all(rng.max_row >= 500 for rng in dv.sqref.ranges)
        out.append((cells, dv.formula1))
    return out


def _rule_for(ws, j: int) -> str | None:
    cell = f"{openpyxl.utils.get_column_letter(j + 1)}2"
    found = [f for cells, f in _validations(ws) if cell in cells]
    assert len(found) <= 1
    return found[0] if found else None


def test_enum_columns_have_drop_down_lists(example_wb):
    checked = 0
    for name, sheet in SHEETS.items():
        ws = example_wb[name]
        for j, header in enumerate(_headers(sheet)):
            col = sheet.column(header)
            rule = _rule_for(ws, j)
            if col.kind == "enum":
                assert rule is not None, (name, header)
                assert rule.strip('"').split(",") == list(col.choices), (name, header)
                checked += 1
            elif col.kind == "bool":
                assert rule == '"yes,no"', (name, header)
                checked += 1
    # Settings key, Nodes kind, Recipes direction, BuildOptions divisible, Routes mode,
    # Markets direction and scope, Policy instrument
    assert checked == 8


def test_reference_columns_list_the_referenced_names(example_wb):
    refs = 0
    for name, sheet in SHEETS.items():
        ws = example_wb[name]
        for j, header in enumerate(_headers(sheet)):
            col = sheet.column(header)
            if col.kind != "ref":
                continue
            rule = _rule_for(ws, j)
            assert rule is not None, (name, header)
            target, rng = rule.lstrip("=").split("!")
            assert target == col.ref
            first, last = rng.replace("$", "").split(":")
            assert first[-1] == "2" and first[:-1] == last.rstrip("0123456789")
            # the list column is the referenced sheet's name column
            target_ws = example_wb[target]
            assert target_ws[first[:-1] + "1"].value == SHEETS[target].key[0]
            refs += 1
    assert refs >= 10


def test_scenarios_sheet_column_lists_sheet_names(example_wb):
    ws = example_wb["Scenarios"]
    rule = _rule_for(ws, _headers(SHEETS["Scenarios"]).index("sheet"))
    assert rule is not None
    assert set(rule.strip('"').split(",")) <= set(SHEETS)


# --------------------------------------------------------------------- README


def test_readme_documents_every_sheet_column_setting_and_instrument(example_wb):
    ws = example_wb["README"]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["sheet", "column"]
    rows = [r for r in ws.iter_rows(min_row=2, values_only=True)]
    documented = {(r[0], r[1]) for r in rows}
    text = "\n".join(str(v) for r in rows for v in r if v is not None)
    for name, sheet in SHEETS.items():
        assert (name, "(sheet)") in documented
        for col in map(sheet.column, _headers(sheet)):
            assert (name, col.name) in documented, (name, col.name)
            row = next(r for r in rows if (r[0], r[1]) == (name, col.name))
            record = dict(zip(header, row, strict=True))
            assert record["required"] == ("yes" if col.required else "no")
            assert record["allowed values"] == col.expected()
            assert record["meaning"] == col.description
            assert (record["unit"] or "") == col.unit
            if not col.required:
                assert record["default"], (name, col.name)
    for key in schema.SETTINGS_KEYS:
        assert ("Settings", f"key = {key}") in documented
        assert schema.SETTING_HELP[key] in text
    for instrument in schema.INSTRUMENTS:
        assert ("Policy", f"instrument = {instrument}") in documented
    assert "README" in text and "ignored by the loader" in text


# -------------------------------------------------------------------- example


def test_example_is_small_consistent_and_sourced(example_wb):
    tables = {name: _rows(example_wb[name]) for name in SHEETS}
    kinds = sorted(r["kind"] for r in tables["Nodes"])
    assert kinds == ["market", "mine", "plant", "port"]
    assert {r["stage"] for r in tables["Products"]} == {0, 1, 3}
    settings = {r["key"]: r["value"] for r in tables["Settings"]}
    assert set(schema.REQUIRED_SETTINGS) <= set(settings)
    assert settings["first_year"] <= settings["last_year"]
    assert len(tables["BuildOptions"]) == 1 and tables["Routes"]
    assert any(r["scope"] == "export" for r in tables["Markets"])
    names = {
        "Nodes": {r["node"] for r in tables["Nodes"]},
        "Products": {r["product"] for r in tables["Products"]},
        "Processes": {r["process"] for r in tables["Processes"]},
    }
    for name, sheet in SHEETS.items():
        for row in tables[name]:
            assert row["source"] == "assumption", (name, row)
            for col in sheet.columns:
                if col.kind == "ref" and row.get(col.name) is not None:
                    assert row[col.name] in names[col.ref], (name, col.name)
                if col.kind == "enum" and row.get(col.name) is not None:
                    assert row[col.name] in col.choices
                if col.required and name != "Sources":
                    assert row.get(col.name) is not None, (name, col.name)
    for route in tables["Routes"]:
        assert route["origin"] in names["Nodes"] and route["destination"] in names["Nodes"]
        for p in (route["products"] or "").split(","):
            assert not p or p.strip() in names["Products"]


def test_blank_template_has_headers_and_settings_keys_only(blank_path):
    wb = openpyxl.load_workbook(blank_path)
    for name in SHEETS:
        rows = _rows(wb[name])
        if name == "Settings":
            assert [r["key"] for r in rows] == list(schema.SETTINGS_KEYS)
            assert all(r["value"] is None and r["source"] is None for r in rows)
        else:
            assert rows == [], name
    # the drop-down lists are there even without rows
    assert wb["Nodes"].data_validations.dataValidation


# ------------------------------------------------------- determinism, atomicity


def test_writing_twice_gives_identical_cells(tmp_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_template(a)
    write_template(b)
    assert _values(a) == _values(b)
    write_template(a)  # rewriting in place changes nothing either
    assert _values(a) == _values(b)


def test_existing_target_is_replaced_whole_and_no_temp_file_is_left(tmp_path):
    target = tmp_path / "template.xlsx"
    target.write_bytes(b"not a workbook " * 10_000)
    write_template(target, example=False)
    assert os.listdir(tmp_path) == ["template.xlsx"]
    assert zipfile.is_zipfile(target)
    assert b"not a workbook" not in target.read_bytes()
    write_template(target)
    assert os.listdir(tmp_path) == ["template.xlsx"]
    assert openpyxl.load_workbook(target).sheetnames[0] == "README"


def test_failed_write_leaves_target_untouched_and_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "template.xlsx"
    target.write_bytes(b"previous contents")

    def boom(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(xlsxwriter.Workbook, "close", boom)
    with pytest.raises(RuntimeError):
        write_template(target)
    assert target.read_bytes() == b"previous contents"
    assert os.listdir(tmp_path) == ["template.xlsx"]


def test_missing_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError):
        write_template(tmp_path / "no" / "such" / "folder" / "t.xlsx")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------ validate and solve it


def test_example_template_validates_without_errors(example_path):
    from optmodel.input.validate import load_workbook
    tables = load_workbook(example_path)  # raises InputError listing any error
    assert tables is not None


def test_blank_template_is_reported_invalid_only_for_missing_settings(blank_path):
    from optmodel.errors import InputError
    from optmodel.input.validate import load_workbook

    with pytest.raises(InputError) as info:
        load_workbook(blank_path)
    errors = [i for i in info.value.issues if i.severity == "error"]
    assert errors and all(i.sheet == "Settings" for i in errors), errors
    for key in schema.REQUIRED_SETTINGS:
        assert any(key in str(i) for i in errors), key


def _summary(outcome, out: Path) -> dict:
    summary = getattr(outcome, "summary", None)
    if isinstance(summary, dict) and summary:
        return summary
    wb = openpyxl.load_workbook(out, read_only=True)
    assert "Summary" in wb.sheetnames
    return {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=2, values_only=True)}


def test_example_template_solves(example_path, tmp_path):
    from optmodel.pipeline import solve_workbook
    out = tmp_path / "results.xlsx"
    summary = _summary(solve_workbook(example_path, out), out)
    assert out.exists()
    assert "optimal" in str(summary.get("status", "")).lower(), summary
    assert summary["npv_musd"] > 0  # the example is built to be worth doing
    assert summary["capex_musd"] > 0  # ... and to build something


def test_example_scenario_solves(example_path, tmp_path):
    from optmodel.pipeline import solve_workbook
    if "scenario" not in inspect.signature(solve_workbook).parameters:
        pytest.skip("solve_workbook takes no scenario option yet")
    names = {r["scenario"] for r in _rows(openpyxl.load_workbook(example_path)["Scenarios"])}
    assert names == {"concentrate_duty", "demand_support"}
    for name in sorted(names):
        out = tmp_path / f"results_{name}.xlsx"
        summary = _summary(solve_workbook(example_path, out, scenario=name), out)
        assert "optimal" in str(summary.get("status", "")).lower(), summary


# ----------------------------------------------------------------- LibreOffice


def _soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        pytest.skip("LibreOffice (soffice/libreoffice) is not on PATH; it is not installed in CI")
    return exe


def _convert(exe: str, src: Path, fmt: str, outdir: Path, profile: Path) -> Path:
    outdir.mkdir(exist_ok=True)
    proc = subprocess.run(
        [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", fmt, "--outdir", str(outdir), str(src)],
        capture_output=True, text=True, timeout=180,
    )
    result = outdir / f"{src.stem}.{fmt.split(':')[0]}"
    assert proc.returncode == 0, proc.stderr
    assert result.exists() and result.stat().st_size > 0, proc.stdout + proc.stderr
    return result


@pytest.mark.slow
def test_libreoffice_opens_and_converts_the_template(example_path, tmp_path):
    exe = _soffice()
    profile = tmp_path / "lo-profile"
    pdf = _convert(exe, example_path, "pdf", tmp_path / "pdf", profile)
    assert pdf.read_bytes().startswith(b"%PDF")
    # saved again by LibreOffice Calc (what a planner does), every cell survives
    resaved = _convert(exe, example_path, "xlsx", tmp_path / "xlsx", profile)
    before, after = _values(example_path), _values(resaved)
    assert list(after) == list(before)
    for name in SHEETS:
        kept = [r for r in after[name] if any(v is not None for v in r)]
        assert kept == before[name], name
    try:
        load_workbook = importlib.import_module("optmodel.input.validate").load_workbook
    except (ImportError, AttributeError):
        return
    load_workbook(resaved)
