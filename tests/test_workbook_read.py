"""Reader hardening: error values, merged cells, row limit without a dimension tag."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest
import xlsxwriter
from tinycase import tiny_sheets, write_input

from optmodel.errors import InputError
from optmodel.input.validate import load_workbook
from optmodel.io.read import MAX_ROWS, read_raw


def _issues(path):
    with pytest.raises(InputError) as exc:
        load_workbook(path)
    return exc.value.issues


def test_error_value_is_reported_with_its_cell(tmp_path):
    # a formula whose cached value is #DIV/0! would read as blank and take the default
    p = write_input(tmp_path / "e.xlsx", tiny_sheets())
    path = tmp_path / "err.xlsx"
    book = xlsxwriter.Workbook(path)
    src = openpyxl.load_workbook(p)
    for ws in src.worksheets:
        out = book.add_worksheet(ws.title)
        for i, row in enumerate(ws.iter_rows(values_only=True)):
            for j, v in enumerate(row):
                if v is not None:
                    out.write(i, j, v)
        if ws.title == "NodeProcesses":
            out.write_formula(1, 2, "=1/0", None, "#DIV/0!")  # C2 = existing_capacity
    book.close()
    found = [i for i in _issues(path) if "error value" in i.message]
    assert [(i.sheet, i.row, i.column) for i in found] == [("NodeProcesses", 2,
                                                             "existing_capacity")]


def test_merged_cells_are_reported(tmp_path):
    p = write_input(tmp_path / "m.xlsx", tiny_sheets())
    wb = openpyxl.load_workbook(p)
    wb["Nodes"].merge_cells("D2:D3")
    wb.save(p)
    found = [i for i in _issues(p) if "merged" in i.message]
    assert [(i.sheet, i.row, i.value) for i in found] == [("Nodes", 2, "D2:D3")]


def test_row_limit_without_dimension_tag_refused_before_parsing(tmp_path):
    # a sheet XML with no <dimension>: rows are counted while streaming
    p = tmp_path / "big.xlsx"
    write_input(p, tiny_sheets())
    big = tmp_path / "big2.xlsx"
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>1</v></c></row>'
                   for i in range(1, MAX_ROWS + 3))
    with zipfile.ZipFile(p) as src, zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org'
                        f'/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>'
                        ).encode()
            dst.writestr(info, data)
    with pytest.raises(InputError, match="row limit"):
        read_raw(big)
