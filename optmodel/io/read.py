"""Read an input workbook's raw cells, safely and fast (python-calamine).

Only reads: the input file is opened read-only and never written to. Files
that are not xlsx, too large (more than 200,000 rows in a sheet or 200 MB
uncompressed) or unreadable end in one clear :class:`InputError` sentence.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optmodel.errors import InputError

MAX_ROWS = 200_000
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]+\d+:?[A-Z]*(\d*)"')
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[ >]")
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*)\bt="e"')
_CELL_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_CHUNK = 1 << 20


@dataclass
class RawSheet:
    """The cells of one sheet: header (Excel row 1) and data rows (row i → Excel row i + 2)."""

    name: str
    header: list[Any]
    rows: list[list[Any]]
    error_cells: list[tuple[int, str]] = field(default_factory=list)  # (Excel row, column)
    merged: list[str] = field(default_factory=list)  # merged ranges, A1 notation


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


def _check_package(path: Path) -> dict[str, list[tuple[int, str]]]:
    """Refuse oversized packages before parsing; return error-value cells per sheet name."""
    errors: dict[str, list[tuple[int, str]]] = {}
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
            parts = _sheet_parts(zf)
            for info in infos:
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    cells = _scan_sheet(zf, info, path.name)
                    if cells:
                        errors[parts.get(info.filename, info.filename)] = cells
    except (zipfile.BadZipFile, zlib.error) as exc:  # zlib: a damaged compressed member
        raise InputError(f"{path.name} is not a valid .xlsx workbook (damaged zip).") from exc
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError) as exc:
        raise InputError(f"{path.name} cannot be read as an .xlsx workbook: {exc}.") from exc
    return errors


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Zip member of each worksheet → its sheet name (from workbook.xml and its rels)."""
    from defusedxml import ElementTree

    try:
        wb = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except Exception:  # a damaged part: calamine will say so; names are only for messages
        return {}
    targets = {}
    for rel in rels.iter():
        if rel.tag.endswith("Relationship"):
            t = rel.get("Target", "").lstrip("/")
            targets[rel.get("Id")] = t if t.startswith("xl/") else "xl/" + t
    out = {}
    for sh in wb.iter():
        if sh.tag.endswith("}sheet") or sh.tag == "sheet":
            rid = next((v for k, v in sh.attrib.items() if k.endswith("}id")), None)
            if rid in targets:
                out[targets[rid]] = str(sh.get("name", "")).strip()
    return out


def _scan_sheet(zf: zipfile.ZipFile, info: zipfile.ZipInfo, fname: str) -> list[tuple[int, str]]:
    """Stream one sheet's XML: enforce the row limit, collect cells holding error values."""
    cells: list[tuple[int, str]] = []
    rows = 0
    limit_known = False
    tail = b""
    with zf.open(info) as fh:
        first = True
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                break
            data = tail + chunk
            if first:
                m = _DIMENSION.search(data[:4096])
                if m and m.group(1):
                    limit_known = True
                    if int(m.group(1)) > MAX_ROWS + 1:
                        raise InputError(
                            f"{fname} has a sheet with {int(m.group(1)) - 1:,} rows, above the "
                            f"{MAX_ROWS:,}-row limit: refused before parsing.")
                first = False
            cut = max(0, len(data) - 256)  # matches starting after cut are found next time
            if not limit_known:
                rows += sum(1 for m in _ROW_TAG.finditer(data) if m.start() < cut)
                if rows > MAX_ROWS + 1:
                    raise _too_many_rows(fname)
            if b'"e"' in data:
                cells += _error_refs(data, cut)
            tail = data[cut:]
        if tail:
            if not limit_known:
                rows += len(_ROW_TAG.findall(tail))
            cells += _error_refs(tail, len(tail))
    if not limit_known and rows > MAX_ROWS + 1:
        raise _too_many_rows(fname)
    return cells


def read_raw(path: str | Path) -> dict[str, RawSheet]:
    """Return every sheet's raw cells, in workbook order."""
    from python_calamine import CalamineWorkbook

    path = Path(path)
    _check_file(path)
    error_cells = _check_package(path)
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
            merged = [f"{column_letters(c0)}{r0 + 1}:{column_letters(c1)}{r1 + 1}"
                      for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or [])]
            sheets[name.strip()] = RawSheet(name.strip(), header, [list(r) for r in cells[1:]],
                                            sorted(error_cells.get(name, [])), merged)
    except InputError:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged content
        raise InputError(f"{path.name} cannot be read as an .xlsx workbook: {exc}.") from exc
    return sheets


def _too_many_rows(fname: str) -> InputError:
    return InputError(f"{fname} has a sheet with more than {MAX_ROWS:,} rows, above the "
                      f"{MAX_ROWS:,}-row limit: refused before parsing.")


def _error_refs(data: bytes, cut: int) -> list[tuple[int, str]]:
    out = []
    for m in _ERROR_CELL.finditer(data):
        if m.start() >= cut:
            break
        ref = _CELL_REF.search(m.group(1))
        if ref:
            out.append((int(ref.group(2)), ref.group(1).decode()))
    return out


def column_letters(j: int) -> str:
    """0-based column index → Excel column letters."""
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s
