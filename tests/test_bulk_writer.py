"""The bulk sheet writer gives the same xlsx file, byte for byte, as cell-by-cell writing.

optmodel.io.write writes each sheet's data block column-wise
(``_BulkWorksheet``) instead of one xlsxwriter ``write_*`` call per cell. The
file must not change: the same shared-string table (order and counts), row
spans, cell references, style indices and number text.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from optmodel.io.write import SheetSpec, write_workbook


def _awkward_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    x = rng.normal(size=n) * 1e3
    x[::7] = np.nan
    x[3] = np.inf
    text = np.array([f"node{i % 13}" for i in range(n)], dtype=object)
    text[::5] = None
    mixed = np.array([i if i % 3 == 0 else (f"s{i}" if i % 3 == 1 else None)
                      for i in range(n)], dtype=object)
    mixed[1] = True
    mixed[2] = dt.date(2026, 1, 2)
    return pd.DataFrame({
        "float": x, "int": np.arange(n, dtype=np.int64) * 10**12,
        "bool": np.arange(n) % 2 == 0, "text": text, "mixed": mixed,
        "escape": ["=a & <b> \"c\"" if i % 4 == 0 else " lead" for i in range(n)],
        "blank": [None] * n, "tiny": np.full(n, 0.1 + 0.2),
        "ctrl": ["tab\there\x01" if i == 5 else "ok" for i in range(n)],
        "nullable_int": pd.array([i if i % 4 else None for i in range(n)], dtype="Int64"),
        "nullable_float": pd.array([i / 3 if i % 5 else None for i in range(n)],
                                   dtype="Float64"),
        "string_dtype": pd.array([f"v{i}" if i % 6 else None for i in range(n)],
                                 dtype="string"),
    })


def test_bulk_and_cell_by_cell_files_are_identical(tmp_path: Path) -> None:
    # Conditions: three sheets (40 rows with NaN, inf, None, bools, big ints, a
    # date, escapes, control characters, an all-blank column; an empty frame; 70
    # rows sharing strings with the first sheet), number formats and a wrapped
    # column. Expected: identical bytes from bulk=True and bulk=False.
    big = _awkward_frame(70)
    sheets = [
        SheetSpec("First", _awkward_frame(40), number_formats={"float": "#,##0.00"},
                  comments={"float": "a comment"}),
        SheetSpec("Empty", pd.DataFrame({"a": pd.Series(dtype=float), "b": []})),
        SheetSpec("Second", big, wrap_columns=("text",), widths={"mixed": 30}),
    ]
    slow, fast = tmp_path / "slow.xlsx", tmp_path / "fast.xlsx"
    write_workbook(slow, sheets, bulk=False)
    write_workbook(fast, sheets, bulk=True)
    assert slow.read_bytes() == fast.read_bytes()


def test_blocks_of_rows_give_the_same_file(tmp_path: Path, monkeypatch) -> None:
    # The bulk writer turns a sheet into XML a block of rows at a time (_BULK_ROWS,
    # 10,000 in use).  With blocks of 7 rows and of 1 row (boundaries inside row-span
    # groups of 16, a wrapped column with row heights, blank rows) the file must be the
    # same bytes as cell-by-cell writing.
    import optmodel.io.write as write

    big = _awkward_frame(70).astype(object)
    big.iloc[20:23] = None  # whole blank rows across a block boundary
    sheets = [SheetSpec("First", _awkward_frame(40), number_formats={"float": "#,##0.00"}),
              SheetSpec("Second", big, wrap_columns=("text",), widths={"mixed": 30})]
    slow = tmp_path / "slow.xlsx"
    write_workbook(slow, sheets, bulk=False)
    for rows in (7, 1):
        monkeypatch.setattr(write, "_BULK_ROWS", rows)
        fast = tmp_path / f"fast{rows}.xlsx"
        write_workbook(fast, sheets, bulk=True)
        assert slow.read_bytes() == fast.read_bytes(), rows


def test_from_memory_or_through_files_the_sheets_are_the_same(tmp_path: Path,
                                                               monkeypatch) -> None:
    # Small workbooks are zipped from memory, large ones through a temporary file per
    # sheet (_IN_MEMORY_CELLS).  Either way every part of the package holds the same bytes
    # (only the zip's own records may differ).
    import zipfile

    import optmodel.io.write as write

    sheets = [SheetSpec("First", _awkward_frame(40), number_formats={"float": "#,##0.00"}),
              SheetSpec("Second", _awkward_frame(30), wrap_columns=("text",))]
    parts = {}
    for cells in (0, 10 ** 9):
        monkeypatch.setattr(write, "_IN_MEMORY_CELLS", cells)
        path = tmp_path / f"book{cells}.xlsx"
        write_workbook(path, sheets)
        with zipfile.ZipFile(path) as z:
            parts[cells] = {name: z.read(name) for name in z.namelist()}
    assert parts[0] == parts[10 ** 9]
