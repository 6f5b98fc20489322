"""Styled, atomic, formula-safe xlsx writing (xlsxwriter).

Every workbook the tool writes goes through :func:`write_workbook`: a
temporary file in the target folder, renamed over the target only when
complete; text is always written as text (a cell beginning with ``=``, ``+``,
``-`` or ``@`` never becomes a formula); document properties are fixed so that
the same tables give the same file contents.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

from .errors import OutputError

FIXED_DATE = _dt.datetime(2000, 1, 1)
HEADER_FORMAT = {
    "bold": True,
    "bg_color": "#1F4E78",
    "font_color": "#FFFFFF",
    "border": 1,
    "text_wrap": True,
    "valign": "top",
}
REQUIRED_HEADER_FORMAT = {**HEADER_FORMAT, "bg_color": "#C00000"}


@dataclass
class SheetSpec:
    """A table to write and how to present it."""

    name: str
    frame: pd.DataFrame
    number_formats: Mapping[str, str] = field(default_factory=dict)
    widths: Mapping[str, float] = field(default_factory=dict)
    required_columns: Iterable[str] = ()
    comments: Mapping[str, str] = field(default_factory=dict)
    # column -> list of allowed values or a formula source like "=Nodes!$A$2:$A$500"
    validations: Mapping[str, list[str] | str] = field(default_factory=dict)
    validation_rows: int = 500
    autofilter: bool = True
    freeze: bool = True
    wrap_columns: Iterable[str] = ()


def check_writable(path: Path, inputs: Iterable[Path] = ()) -> None:
    """Refuse to write over an input file or into a missing/readonly folder."""
    path = Path(path)
    for src in inputs:
        try:
            if Path(src).resolve() == path.resolve() or (
                path.exists() and os.path.samefile(src, path)
            ):
                raise OutputError(
                    f"Refusing to write {path}: it is an input file. Choose another output name."
                )
        except FileNotFoundError:
            continue
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"Cannot write {path}: folder {parent} does not exist.")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"Cannot write {path}: the file is read-only or locked.")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"Cannot write {path}: no permission to write in {parent}.")
    lock = parent / f".~lock.{path.name}#"
    if lock.exists():
        raise OutputError(
            f"Cannot write {path}: it is open in LibreOffice/Excel ({lock.name} exists). "
            "Close it and run again."
        )


def atomic_write_bytes(path: Path, data: bytes | str) -> None:
    """Write a file atomically (temporary file then rename)."""
    path = Path(path)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
            fh.write(data)
        _publish(tmp, path)
    except OSError as exc:
        _cleanup(tmp)
        raise OutputError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    except BaseException:
        _cleanup(tmp)
        raise


def _publish(tmp: str, path: Path) -> None:
    """Give the finished temporary file normal permissions and rename it over ``path``."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def _cleanup(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
    return value


def write_workbook(path: Path, sheets: list[SheetSpec], title: str = "optmodel") -> None:
    """Write styled sheets atomically to ``path``."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".xlsx", dir=parent)
    except OSError as exc:
        raise OutputError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    os.close(fd)
    try:
        wb = xlsxwriter.Workbook(
            tmp,
            {
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "nan_inf_to_errors": False,
            },
        )
        wb.set_properties({"title": title, "author": "optmodel", "created": FIXED_DATE})
        header = wb.add_format(HEADER_FORMAT)
        required = wb.add_format(REQUIRED_HEADER_FORMAT)
        formats: dict[str, Any] = {}
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        for spec in sheets:
            _write_sheet(wb, spec, header, required, formats, wrap)
        wb.close()
        _publish(tmp, path)
    except OSError as exc:
        _cleanup(tmp)
        raise OutputError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    except BaseException:
        _cleanup(tmp)
        raise


def _write_sheet(wb, spec: SheetSpec, header, required, formats, wrap) -> None:
    ws = wb.add_worksheet(spec.name[:31])
    df = spec.frame
    cols = list(df.columns)
    req = set(spec.required_columns)
    wrap_cols = set(spec.wrap_columns)
    for j, col in enumerate(cols):
        ws.write_string(0, j, str(col), required if col in req else header)
        if col in spec.comments:
            ws.write_comment(0, j, spec.comments[col], {"x_scale": 2, "y_scale": 1.5})
        fmt_str = spec.number_formats.get(col)
        fmt = None
        if fmt_str:
            fmt = formats.get(fmt_str)
            if fmt is None:
                fmt = formats[fmt_str] = wb.add_format({"num_format": fmt_str})
        if col in wrap_cols:
            fmt = wrap
        width = spec.widths.get(col)
        if width is None:
            sample = [len(str(col))] + [
                len(str(v)) for v in df[col].head(200).tolist() if v is not None
            ]
            width = min(max(sample) + 2, 60)
            width = max(width, 8)
        ws.set_column(j, j, width, fmt)
    values = df.to_numpy(dtype=object) if len(df) else []
    for i, row in enumerate(values, start=1):
        for j, v in enumerate(row):
            v = _cell(v)
            if v is None:
                continue
            if isinstance(v, str):
                ws.write_string(i, j, v)
            elif isinstance(v, bool):
                ws.write_boolean(i, j, v)
            elif isinstance(v, int | float):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, str(v))
    if spec.freeze:
        ws.freeze_panes(1, 0)
    if spec.autofilter and cols:
        ws.autofilter(0, 0, max(len(df), 1), len(cols) - 1)
    last = max(spec.validation_rows, len(df) + 50)
    for col, allowed in spec.validations.items():
        if col not in cols:
            continue
        j = cols.index(col)
        if isinstance(allowed, str):
            source = allowed
        else:
            source = list(allowed)
            if len(",".join(source)) > 250:
                continue
        ws.data_validation(
            1,
            j,
            last,
            j,
            {
                "validate": "list",
                "source": source,
                "ignore_blank": True,
                "error_type": "warning",
                "error_title": "Unknown value",
                "error_message": f"{col}: choose a value from the list.",
            },
        )
