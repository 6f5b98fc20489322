"""The validated input: one typed table per sheet, and how a raw cell is cleaned."""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from optmodel import schema as S
from optmodel.errors import Issue
from optmodel.input.targets import normalise_target

ROW = "_row"  # column holding the Excel row number of each record


@dataclass
class Tables:
    """Validated input: one typed DataFrame per sheet plus parsed settings."""

    frames: dict[str, pd.DataFrame]
    settings: dict[str, Any]
    warnings: list[Issue] = field(default_factory=list)

    def __getitem__(self, sheet: str) -> pd.DataFrame:
        return self.frames[sheet]


_TEXT = S.Column("text", "text")


def clean_cell(value: Any, col: S.Column) -> Any:
    """Normalise a raw cell: blanks → None, strings trimmed, numbers as text where text;
    a Policy target through :func:`~optmodel.input.targets.normalise_target`."""
    if value is None:
        return None
    if col.kind == "target":
        return normalise_target(clean_cell(value, _TEXT))
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
        if col.kind == "enum":
            return value.lower()
        if col.kind == "bool":
            return value.lower()
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    if col.kind in ("text", "name", "ref", "names", "enum"):
        if isinstance(value, bool):
            return str(value).upper()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, _dt.datetime | _dt.date):
            return value.isoformat()
        return str(value)
    if col.kind in ("number", "integer", "year") and isinstance(value, bool):
        return f"{value}"  # rejected as not a number
    if isinstance(value, _dt.datetime | _dt.date | _dt.time | _dt.timedelta):
        return f"date {value}"  # rejected with the date visible in the message
    return value
