"""The results workbook has exactly the sheets and columns declared in schema.OUTPUT_SHEETS
(the one declaration that writing, number formats and reading back all use)."""

from __future__ import annotations

from tinycase import tiny_sheets, write_input

from optmodel import schema as S
from optmodel.io.results_read import read_results
from optmodel.pipeline import solve_workbook
from optmodel.results.tables import NUMBER_FORMATS, RESULT_SHEETS


def test_written_sheets_and_columns_are_the_declared_ones(tmp_path):
    path = write_input(tmp_path / "tiny.xlsx", tiny_sheets())
    out = tmp_path / "out.xlsx"
    solve_workbook(path, out)
    tables = read_results(out)
    assert list(RESULT_SHEETS) == list(S.OUTPUT_SHEETS)
    for name, sheet in S.OUTPUT_SHEETS.items():
        assert name in tables, name
        assert list(tables[name].columns) == list(sheet.column_names), name
    # a column's declared number format is the one written for it
    assert NUMBER_FORMATS["capex_musd"] == "#,##0.000"
    assert NUMBER_FORMATS["utilisation"] == "0.0%"
    # kinds drive reading back: years as whole numbers, text as text
    assert tables["Builds"]["year"].dtype.name == "Int64"
    assert tables["Trade"]["tonnes"].dtype.kind == "f"
