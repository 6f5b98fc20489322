"""The Inputs sheet of a results workbook: the input the run used (docs/model.md §12).

One line per non-blank cell outside the key columns and ``note`` of every row
of every data sheet except README, Sources and Scenarios, after scenario
overrides and before year expansion.  ``key`` is the row's identifying columns
joined with ``|`` exactly as a Scenarios selector writes them, so a line of
this sheet can be pasted into a Scenarios row or a ``--set`` selector.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from optmodel import schema as S
from optmodel.input.tables import ROW, Tables
from optmodel.input.targets import normalise_target

INPUTS_COLUMNS = ("sheet", "key", "column", "value")
# data sheets in §3.1 order; README, Sources and Scenarios are not inputs of the model
INPUT_SHEETS = tuple(s for s in S.SHEET_ORDER if s not in ("Scenarios", "Sources"))
_NUMBER_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def key_text(sheet: str, column: str, value: Any) -> str:
    """One key position as a selector writes it: blank → "", years and whole numbers as
    integers, enumerations in lower case, Policy targets normalised."""
    if _blank(value):
        return ""
    if sheet == "Policy" and column == "target":
        return normalise_target(value) or ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    col = S.SHEETS[sheet].column(column)
    text = str(value).strip()
    return text.lower() if col.kind == "enum" else text


def typed_value(sheet: str, column: str, value: Any) -> Any:
    """A cell as the Inputs sheet stores it: numbers as numbers (whole numbers as int),
    yes/no for flags, enumerations in lower case, other text trimmed."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    text = str(value).strip()
    if sheet == "Settings" and column == "value" and _NUMBER_TEXT.match(text):
        x = float(text)  # Settings values are read as text; numbers are numbers here
        return int(x) if x.is_integer() and abs(x) < 2**53 else x
    col = S.SHEETS[sheet].column(column)
    if col.kind in ("enum", "bool"):
        return text.lower()
    return text


def inputs_table(tables: Tables) -> pd.DataFrame:
    """The Inputs sheet of ``tables`` (the validated, scenario-applied input)."""
    rows: list[tuple[str, str, str | None, Any]] = []
    for sheet in INPUT_SHEETS:
        frame = tables.frames.get(sheet)
        if frame is None or not len(frame):
            continue
        spec = S.SHEETS[sheet]
        value_cols = [c for c in spec.column_names if c not in spec.key and c != "note"]
        order = frame.sort_values(ROW, kind="stable") if ROW in frame.columns else frame
        for rec in order.to_dict("records"):
            key = "|".join(key_text(sheet, k, rec.get(k)) for k in spec.key)
            n = 0
            for c in value_cols:
                v = rec.get(c)
                if _blank(v):
                    continue
                rows.append((sheet, key, c, typed_value(sheet, c, v)))
                n += 1
            if n == 0:
                rows.append((sheet, key, None, None))
    return pd.DataFrame(rows, columns=list(INPUTS_COLUMNS))


def _blank(v: Any) -> bool:
    if v is None or v is pd.NA:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip() == ""
