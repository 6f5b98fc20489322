"""The cell checks of validation, made straight from pydantic-core schemas, against the
pydantic model of a row that they replace.

``optmodel.input.validate`` builds each sheet's row validator from core schemas (a float
with its range, an int, a bool, a literal, a string with the name pattern; nullable
unless required), which takes 1 ms for all sheets instead of 25 ms through pydantic's
schema generation.  Validation messages are written from pydantic's error locations and
types, and the typed frames from its converted values, so both must be those of a
pydantic model of the row declared from the same schema: these tests compare them on
random rows (every error's location and type; every converted value with its type).
"""

from __future__ import annotations

import random
from typing import Annotated, Any, Literal

import pytest
from pydantic import Field, StringConstraints, TypeAdapter, ValidationError, create_model
from tinycase import ROOT

from optmodel import schema as S
from optmodel.input.tables import clean_cell
from optmodel.input.validate import NAME_PATTERN, _row_validator
from optmodel.io.read import read_raw

# cells as a workbook may hold them (before and after clean_cell): numbers, whole and
# fractional, out of range, text that reads as a number or a yes/no, names with
# forbidden characters, blanks, infinities
CELLS: list[Any] = [
    None, "", "abc", "a|b", "=x", "-x", "x*", "1", "1.5", "1e3", "yes", "no", "on", "off",
    "true", "TRUE", "0", 0, 1, -1, 2, 0.5, 1.0, -0.5, 2020, 2020.0, 2020.5, 1e20, -1e20, 999,
    10000, float("nan"), float("inf"), True, False, "2020", "sell", "Sell", "mine", "rail",
    "export", "in", "out", "x,y", "stage<=2", 10**30, "1,5", "nan", "inf", " 3.0", ".5",
    "1_000", 0.0, -0.0, "+5", "Mine ",
]


def _model_type(col: S.Column) -> tuple[Any, Any]:
    """The pydantic field a row model would declare for ``col`` (the reference)."""
    if col.kind == "number":
        t: Any = Annotated[float, Field(ge=col.minimum, le=col.maximum, allow_inf_nan=False)]
    elif col.kind in ("integer", "year"):
        lo = col.minimum if col.kind == "integer" else 1000
        hi = col.maximum if col.kind == "integer" else 9999
        t = Annotated[int, Field(ge=lo, le=hi)]
    elif col.kind == "bool":
        t = bool
    elif col.kind == "enum":
        t = Literal[col.choices]
    elif col.kind in ("name", "ref"):
        t = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
    else:
        t = str
    return (t, ...) if col.required else (t | None, None)


def _outcome(validate, rows: list[dict[str, Any]]) -> tuple[str, list]:
    """("ok", converted values with their types) or ("errors", (location, type) each)."""
    try:
        out = validate([dict(r) for r in rows])
    except ValidationError as exc:
        return "errors", [(e["loc"], e["type"]) for e in exc.errors(include_url=False)]
    return "ok", [[(k, type(v).__name__, repr(v))
                   for k, v in (r.model_dump() if hasattr(r, "model_dump") else r).items()]
                  for r in out]


@pytest.mark.parametrize("sheet", list(S.SHEETS))
def test_row_validator_agrees_with_a_pydantic_row_model(sheet: str) -> None:
    spec = S.SHEETS[sheet]
    model = create_model(f"{sheet}Row", **{c.name: _model_type(c) for c in spec.all_columns})
    reference = TypeAdapter(list[model]).validate_python
    ours = _row_validator(sheet).validate_python
    rng = random.Random(sheet)
    # rows of random cells (mostly invalid) ...
    for _ in range(150):
        rows = [{c.name: clean_cell(rng.choice(CELLS), c) for c in spec.all_columns}
                for _ in range(rng.randint(1, 3))]
        assert _outcome(ours, rows) == _outcome(reference, rows), rows
    # ... and the base case's rows (valid) with one or two cells changed
    raw = read_raw(ROOT / "inputs" / "base_case.xlsx")[sheet]
    by_name = {c.name: c for c in spec.all_columns}
    cols = {j: by_name[str(h).strip().lower()] for j, h in enumerate(raw.header)
            if h is not None and str(h).strip().lower() in by_name}
    base = [{c.name: None for c in spec.all_columns} for _ in raw.rows]
    for rec, row in zip(base, raw.rows, strict=True):
        for j, col in cols.items():
            rec[col.name] = clean_cell(row[j] if j < len(row) else None, col)
    kinds = set()
    for trial in range(60):
        rows = [dict(r) for r in base]
        for _ in range(rng.randint(0, 2) if trial else 0):
            col = rng.choice(spec.all_columns)
            rows[rng.randrange(len(rows))][col.name] = clean_cell(rng.choice(CELLS), col)
        got = _outcome(ours, rows)
        kinds.add(got[0])
        assert got == _outcome(reference, rows)
    assert "ok" in kinds  # the unchanged base case converts without errors
