"""Read a results workbook (docs/model.md §12) back into tidy tables.

The reader is the entry point of ``compare`` and ``report``: it checks that
the file is an optmodel results workbook of a compatible output schema
version and returns one :class:`pandas.DataFrame` per sheet, with the §4
columns always present (a missing sheet is an empty table with the right
columns) and numbers as floats.

>>> tables = read_results(Path("outputs/base_case_results.xlsx"))  # doctest: +SKIP
>>> summary_value(tables, "npv_musd")  # doctest: +SKIP
1234.5
"""

from __future__ import annotations

import logging
import math
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from optmodel import OUTPUT_SCHEMA_VERSION
from optmodel import schema as S
from optmodel.errors import InputError

log = logging.getLogger(__name__)

# Columns of every §4 sheet and their kinds, from the one declaration (schema.OUTPUT_SHEETS).
RESULT_COLUMNS: dict[str, tuple[str, ...]] = {
    name: sheet.column_names for name, sheet in S.OUTPUT_SHEETS.items()}
_KINDS: dict[str, dict[str, str]] = {
    name: {c.name: c.kind for c in sheet.columns} for name, sheet in S.OUTPUT_SHEETS.items()}

# A results workbook decompressing to more than this is refused (zip-bomb guard).
MAX_UNCOMPRESSED_BYTES = 500 * 1024 * 1024


def major_version(version: str) -> int | None:
    """Major part of a ``major.minor`` version string, or None if it has none."""
    head = str(version).strip().split(".", 1)[0]
    try:
        return int(head)
    except ValueError:
        return None


def _version_text(value: Any) -> str:
    """The Run sheet's version cell as text, whether it was stored as text or number."""
    if isinstance(value, float) and not math.isnan(value):
        return f"{value:.1f}" if value.is_integer() else repr(value)
    return str(value).strip()


def _open_checks(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file.")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a results workbook (.xlsx).")
    if not zipfile.is_zipfile(path):
        raise InputError(
            f"{path} is not an xlsx workbook; give a results workbook written by optmodel solve."
        )
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path} is not a readable xlsx workbook ({exc}).") from exc
    if "xl/workbook.xml" not in names:
        raise InputError(
            f"{path} is not an xlsx workbook; give a results workbook written by optmodel solve."
        )
    if total > MAX_UNCOMPRESSED_BYTES:
        raise InputError(
            f"{path} decompresses to {total / 1e6:.0f} MB, above the "
            f"{MAX_UNCOMPRESSED_BYTES / 1e6:.0f} MB limit for a results workbook."
        )


def _normalise(sheet: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Trim headers, add missing §4 columns, and give each column its type."""
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.loc[:, [not c.startswith("Unnamed:") for c in frame.columns]]
    expected = RESULT_COLUMNS.get(sheet, ())
    missing = [c for c in expected if c not in frame.columns]
    if missing and len(frame.columns):
        log.warning("sheet %s lacks column(s) %s; treated as blank", sheet, ", ".join(missing))
    for col in missing:
        frame[col] = pd.NA
    frame = frame.dropna(how="all").reset_index(drop=True)
    kinds = _KINDS.get(sheet, {})
    for col in frame.columns:
        kind = kinds.get(col)
        if kind == "text":
            frame[col] = frame[col].map(_text).astype(object)
        elif kind in ("integer", "year"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").round().astype("Int64")
        elif kind == "number":
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


def _text(value: Any) -> Any:
    """Cell → trimmed text; blanks stay None; integral floats lose their '.0'."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    text = str(value).strip()
    return text or None


def read_results(path: Path) -> dict[str, pd.DataFrame]:
    """Read a results workbook into ``{sheet: DataFrame}``.

    Every §4 sheet plus ``Nodes`` and ``Products`` is present in the answer
    (empty with the §4 columns when the workbook lacks it); sheets the
    reader does not know are returned as read.

    Raises :class:`~optmodel.errors.InputError` (one sentence) when the file
    is missing, not an xlsx workbook, not an optmodel results workbook (no
    Summary sheet, no Run sheet with ``output_schema_version``), or of a
    different major output schema version than this package writes.
    """
    path = Path(path)
    _open_checks(path)
    try:
        raw: dict[str, pd.DataFrame] = pd.read_excel(
            path, sheet_name=None, engine="calamine", header=0
        )
    except Exception as exc:  # calamine raises its own types for damaged files
        raise InputError(f"{path} is not a readable xlsx workbook ({exc}).") from exc
    by_name = {str(name).strip(): frame for name, frame in raw.items()}
    missing = [s for s in ("Summary", "Run") if s not in by_name]
    if missing:
        raise InputError(
            f"{path} is not an optmodel results workbook: it has no {' or '.join(missing)} sheet."
        )
    run = _normalise("Run", by_name["Run"])
    version = None
    if {"key", "value"} <= set(run.columns):
        hit = run.loc[run["key"] == "output_schema_version", "value"]
        if len(hit) and not pd.isna(hit.iloc[0]):
            version = _version_text(hit.iloc[0])
    if version is None:
        raise InputError(
            f"{path} is not an optmodel results workbook: its Run sheet has no "
            "output_schema_version."
        )
    ours = major_version(OUTPUT_SCHEMA_VERSION)
    theirs = major_version(version)
    if theirs is None or theirs != ours:
        raise InputError(
            f"{path} has output schema version {version}, but this optmodel reads major "
            f"version {ours} ({OUTPUT_SCHEMA_VERSION}); compare or report it with a "
            "matching optmodel version."
        )
    tables: dict[str, pd.DataFrame] = {}
    for sheet, columns in RESULT_COLUMNS.items():
        frame = by_name.get(sheet)
        if frame is None:
            if S.OUTPUT_SHEETS[sheet].optional:
                continue  # a workbook of an older version: said so where it matters
            frame = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        tables[sheet] = _normalise(sheet, frame)
    for sheet, frame in by_name.items():
        if sheet not in tables:
            tables[sheet] = frame
    log.debug("read %s: %s", path, {k: len(v) for k, v in tables.items()})
    return tables


def summary_values(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Summary sheet as ``{metric: value}`` (numbers as float, text as text)."""
    out: dict[str, Any] = {}
    summary = tables.get("Summary")
    if summary is None or summary.empty:
        return out
    for metric, value in zip(summary["metric"], summary["value"], strict=True):
        if metric is None:
            continue
        out[metric] = _number_or_text(value)
    return out


def summary_units(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Summary sheet as ``{metric: unit}`` (blank units are empty strings)."""
    summary = tables.get("Summary")
    if summary is None or summary.empty:
        return {}
    return {
        m: (u or "")
        for m, u in zip(summary["metric"], summary["unit"], strict=True)
        if m is not None
    }


def summary_value(tables: dict[str, pd.DataFrame], metric: str) -> Any:
    """One Summary value, or None when the metric is absent or blank."""
    return summary_values(tables).get(metric)


def run_values(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Run sheet as ``{key: value as text}``."""
    run = tables.get("Run")
    if run is None or run.empty:
        return {}
    out = {}
    for key, value in zip(run["key"], run["value"], strict=True):
        if key is None:
            continue
        out[key] = (
            ""
            if value is None or (isinstance(value, float) and math.isnan(value))
            else (_version_text(value) if key == "output_schema_version" else _text(value) or "")
        )
    return out


def _number_or_text(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        f = float(value)
        return None if math.isnan(f) else f
    text = str(value).strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text
