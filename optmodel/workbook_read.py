"""Read an input workbook's raw cells, safely and fast (python-calamine).

Only reads: the input file is opened read-only and never written to. Files
that are not xlsx, too large (more than 200,000 rows in a sheet or 200 MB
uncompressed) or unreadable end in one clear :class:`InputError` sentence.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError

MAX_ROWS = 200_000
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]+\d+:?[A-Z]*(\d*)"')


@dataclass
class RawSheet:
    """The cells of one sheet: header (Excel row 1) and data rows (row i → Excel row i + 2)."""

    name: str
    header: list[Any]
    rows: list[list[Any]]


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"File not found: {path}.")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not an Excel workbook.")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except PermissionError as exc:
        raise InputError(f"Cannot open {path}: permission denied or the file is locked.") from exc
    except OSError as exc:
        raise InputError(f"Cannot open {path}: {exc.strerror or exc}.") from exc
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            f"{path.name} is an old-format .xls (or encrypted) workbook: save it as .xlsx."
        )
    if not head.startswith(b"PK"):
        raise InputError(f"{path.name} is not an Excel .xlsx workbook (it is not a zip package).")


def _check_package(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                raise InputError(f"{path.name} is a zip file but not an Excel .xlsx workbook.")
            total = sum(i.file_size for i in infos)
            if total > MAX_UNCOMPRESSED_BYTES:
                raise InputError(
                    f"{path.name} unpacks to {total / 2**20:,.0f} MB, above the 200 MB limit: "
                    "refused before parsing."
                )
            for info in infos:
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    with zf.open(info) as fh:
                        head = fh.read(4096)
                    m = _DIMENSION.search(head)
                    if m and m.group(1) and int(m.group(1)) > MAX_ROWS + 1:
                        raise InputError(
                            f"{path.name} has a sheet with {int(m.group(1)) - 1:,} rows, above the "
                            f"{MAX_ROWS:,}-row limit: refused before parsing."
                        )
    except zipfile.BadZipFile as exc:
        raise InputError(f"{path.name} is not a valid .xlsx workbook (damaged zip).") from exc
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError) as exc:
        raise InputError(f"{path.name} cannot be read as an .xlsx workbook: {exc}.") from exc


def read_raw(path: str | Path) -> dict[str, RawSheet]:
    """Return every sheet's raw cells, in workbook order."""
    from python_calamine import CalamineWorkbook

    path = Path(path)
    _check_file(path)
    _check_package(path)
    sheets: dict[str, RawSheet] = {}
    try:
        wb = CalamineWorkbook.from_path(str(path))
        for name in wb.sheet_names:
            sheet = wb.get_sheet_by_name(name)
            if sheet.height > MAX_ROWS + 1:
                raise InputError(
                    f"Sheet {name} has {sheet.height - 1:,} rows, above the {MAX_ROWS:,}-row limit."
                )
            cells = sheet.to_python(skip_empty_area=False)
            header = list(cells[0]) if cells else []
            sheets[name.strip()] = RawSheet(name.strip(), header, [list(r) for r in cells[1:]])
    except InputError:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged content
        raise InputError(f"{path.name} cannot be read as an .xlsx workbook: {exc}.") from exc
    return sheets
