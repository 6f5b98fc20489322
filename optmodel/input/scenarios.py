"""Named scenarios: data overrides applied to the input rows, then validated again.

A Scenarios row names a sheet, a selector over that sheet's identifying columns
joined by ``|`` (``*`` = any value, an empty position = a blank cell), a column
and either a new ``value`` or a ``factor`` (docs/model.md §11.4).  Overrides act on
the rows as written (before year expansion), in sheet order (later wins).
Scenarios never add or delete rows.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from optmodel import schema as S
from optmodel.errors import InputError, Issue
from optmodel.input.tables import ROW, Tables, clean_cell
from optmodel.io.read import RawSheet

BASE = "base"


@dataclass(frozen=True)
class Override:
    """One change: rows of ``sheet`` matching ``selector`` get ``column`` = value / × factor."""

    sheet: str
    selector: str
    column: str
    value: Any = None
    factor: float | None = None
    row: int | None = None  # Scenarios-sheet row (for messages); None for sweeps


def scenario_names(tables: Tables) -> list[str]:
    """Scenario names in sheet order (``base`` first, implied)."""
    names = [BASE]
    for n in tables["Scenarios"]["scenario"]:
        if n is not None and n not in names:
            names.append(n)
    return names


def overrides_for(tables: Tables, name: str) -> list[Override]:
    """The overrides of scenario ``name`` (none for ``base``)."""
    if name == BASE:
        return []
    sc = tables["Scenarios"]
    rows = sc[sc["scenario"] == name]
    if not len(rows):
        known = ", ".join(scenario_names(tables))
        raise InputError(f"Unknown scenario {name!r}; the workbook has: {known}.")
    return [Override(r["sheet"], r["key"], r["column"], r["value"], r["factor"], r[ROW])
            for r in rows.to_dict("records")]


def _canon_sheet(name: str) -> S.Sheet | None:
    return next((s for s in S.SHEETS.values() if s.name.lower() == str(name).strip().lower()),
                None)


def _key_text(value: Any, col: S.Column) -> str:
    v = clean_cell(value, col)
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _selector_matches(parts: list[str], keys: list[str]) -> bool:
    for want, have in zip(parts, keys, strict=True):
        want = want.strip()
        if want == "*":
            continue
        if want != have and not _same_number(want, have):
            return False
    return True


def _same_number(a: str, b: str) -> bool:
    try:
        return a != "" and b != "" and float(a) == float(b)
    except ValueError:
        return False


def _normalised(spec: S.Sheet, parts: list[str]) -> list[str]:
    """Selector positions with Policy targets through the one normaliser (§3.4)."""
    return [p if p.strip() == "*" or spec.column(name).kind != "target"
            else _key_text(p, spec.column(name)) for p, name in zip(parts, spec.key, strict=True)]


def _header(sheet: RawSheet) -> list[str]:
    return [str(h).strip().lower() if h is not None else "" for h in sheet.header]


def _row_keys(spec: S.Sheet, header: list[str], row: list) -> list[str]:
    kidx = [header.index(k) if k in header else None for k in spec.key]
    return [_key_text(row[k] if k is not None and k < len(row) else None, spec.column(name))
            for k, name in zip(kidx, spec.key, strict=True)]


def row_selectors(sheet: RawSheet, spec: S.Sheet) -> list[tuple[int, str, list]]:
    """(Excel row, selector naming exactly that row, the row) for every non-blank data row.

    The selector is the row's identifying columns as written, joined by ``|`` (a blank
    cell is an empty position, whole numbers without decimals), as a Scenarios row
    writes it.
    """
    header = _header(sheet)
    out = []
    for i, row in enumerate(sheet.rows):
        if all(v is None or str(v).strip() == "" for v in row):
            continue
        out.append((i + 2, "|".join(_row_keys(spec, header, row)), row))
    return out


def matched_values(raw: dict[str, RawSheet], sheet: str, selector: str, column: str
                   ) -> list[Any]:
    """The ``column`` cells (as written) of the rows of ``sheet`` that ``selector`` matches."""
    spec = _canon_sheet(sheet)
    name = next((k for k in raw if spec and k.lower() == spec.name.lower()), None)
    if spec is None or name is None:
        return []
    header = _header(raw[name])
    parts = str(selector).split("|")
    col = str(column).strip().lower()
    j = header.index(col) if col in header else None
    if len(parts) != len(spec.key):
        return []
    parts = _normalised(spec, parts)
    return [row[j] if j is not None and j < len(row) else None
            for _, _, row in row_selectors(raw[name], spec)
            if _selector_matches(parts, _row_keys(spec, header, row))]


def apply_overrides(raw: dict[str, RawSheet], overrides: Iterable[Override],
                    scenario: str = "") -> dict[str, RawSheet]:
    """Return a copy of ``raw`` with the overrides applied; all problems reported at once."""
    return _apply(raw, overrides, scenario, _RowKeys(raw))


def scenario_problems(raw: dict[str, RawSheet], scenarios: dict[str, list[Override]]
                      ) -> list[Issue]:
    """Dry-run each scenario on ``raw`` (``raw`` is left as it is): the problems of all of
    them, scenario by scenario, as :func:`apply_overrides` reports them one at a time.
    The rows' identifying columns are read once for all the scenarios."""
    keys = _RowKeys(raw)
    issues: list[Issue] = []
    for name, overrides in scenarios.items():
        try:
            _apply(raw, overrides, name, keys)
        except InputError as exc:
            issues.extend(exc.issues)
    return issues


class _RowKeys:
    """The identifying-column texts of every row of the raw sheets, as selectors compare
    them (:func:`_key_text`), read per sheet at first use.  An override never changes a key
    column, so these hold for the rows of every scenario applied to the same raw sheets."""

    def __init__(self, raw: dict[str, RawSheet]) -> None:
        self._raw = raw
        self._keys: dict[str, list[list[str]]] = {}

    def of(self, sheet_name: str, spec: S.Sheet) -> list[list[str]]:
        if sheet_name not in self._keys:
            sheet = self._raw[sheet_name]
            header = _header(sheet)
            kidx = [header.index(k) if k in header else None for k in spec.key]
            cols = [spec.column(name) for name in spec.key]
            self._keys[sheet_name] = [
                [_key_text(row[k] if k is not None and k < len(row) else None, c)
                 for k, c in zip(kidx, cols, strict=True)]
                for row in sheet.rows]
        return self._keys[sheet_name]


def _apply(raw: dict[str, RawSheet], overrides: Iterable[Override], scenario: str,
           row_keys: _RowKeys) -> dict[str, RawSheet]:
    """:func:`apply_overrides`, the rows' keys read from ``row_keys`` (made from ``raw``)."""
    raw = {k: copy.copy(v) for k, v in raw.items()}
    copied: set[str] = set()
    issues: list[Issue] = []
    label = f"scenario {scenario}: " if scenario else ""
    for ov in overrides:
        where = ("Scenarios", ov.row) if ov.row is not None else ("--set", None)
        spec = _canon_sheet(ov.sheet)
        sheet_name = next((k for k in raw if spec and k.lower() == spec.name.lower()), None)
        if spec is None or sheet_name is None:
            issues.append(Issue(where[0], where[1], "sheet", ov.sheet,
                                f"{label}sheet not found in the workbook"))
            continue
        if sheet_name not in copied:
            old = raw[sheet_name]
            raw[sheet_name] = RawSheet(old.name, list(old.header), [list(r) for r in old.rows])
            copied.add(sheet_name)
        sheet = raw[sheet_name]
        header = [str(h).strip().lower() if h is not None else "" for h in sheet.header]
        col = str(ov.column).strip().lower()
        if col not in header or col not in spec.column_names:
            issues.append(Issue(where[0], where[1], "column", ov.column,
                                f"{label}no column {ov.column!r} in sheet {spec.name}"))
            continue
        if col in spec.key:
            issues.append(Issue(where[0], where[1], "column", ov.column,
                                f"{label}a scenario may not change a key column"))
            continue
        parts = str(ov.selector if ov.selector is not None else "").split("|")
        if len(parts) != len(spec.key):
            issues.append(Issue(where[0], where[1], "key", ov.selector,
                                f"{label}expected {len(spec.key)} positions "
                                f"({'|'.join(spec.key)})"))
            continue
        parts = _normalised(spec, parts)
        j = header.index(col)
        hits = 0
        for i, (row, keys) in enumerate(zip(sheet.rows, row_keys.of(sheet_name, spec),
                                            strict=True)):
            if all(k == "" for k in keys) and all(
                    v is None or str(v).strip() == "" for v in row):
                continue
            if not _selector_matches(parts, keys):
                continue
            hits += 1
            if len(row) <= j:
                row.extend([None] * (j + 1 - len(row)))
            if ov.factor is not None:
                cur = row[j]
                num = _as_number(cur)
                if num is None:
                    issues.append(Issue(spec.name, i + 2, col, cur,
                                        f"{label}a factor needs a number in this cell"))
                    continue
                row[j] = num * float(ov.factor)
            else:
                row[j] = ov.value
        if hits == 0:
            issues.append(Issue(where[0], where[1], "key", ov.selector,
                                f"{label}selector matches no row of sheet {spec.name}"))
    if issues:
        raise InputError(issues)
    return raw


def _as_number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return None if isinstance(v, float) and math.isnan(v) else float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        return None
