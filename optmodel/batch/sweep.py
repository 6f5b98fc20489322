"""Parameter sweeps: ``--set "SHEET|KEY:column=start:stop:count"`` → a list of runs.

Grammar (docs/model.md §11.4, docs/scenarios.md)::

    SET    := SHEET "|" KEY ":" COLUMN "=" RANGE
    KEY    := the sheet's identifying columns joined by "|" (as in the Scenarios
              sheet: "*" = any value, an empty position = a blank cell)
    RANGE  := START ":" STOP ":" COUNT     (COUNT evenly spaced values, ends included)
            | START ":" STOP               (only with --samples)
            | VALUE                        (one value)

The target ends at the first ``:`` followed by ``column=`` (names and keys never
contain ``:``).  Several ``--set`` give the Cartesian grid of their values, the
first ``--set`` varying slowest; ``--samples N --seed S`` instead draws every
range uniformly and independently, N runs.  Whole-number columns (years,
integer counts) take rounded values.  Each run is a scenario — a list of
:class:`~optmodel.input.scenarios.Override` with ``value=`` — named ``sweep_001`` …
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

import numpy as np

from optmodel import schema as S
from optmodel.errors import InputError, Issue
from optmodel.input.scenarios import Override

_SET = re.compile(r"^(?P<target>[^:]*?)\s*:\s*(?P<column>[A-Za-z_][A-Za-z0-9_]*)\s*=(?P<range>.*)$",
                  re.S)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
SYNTAX = 'SHEET|KEY:column=start:stop:count, e.g. "Markets|*|NdPr oxide|sell|export|*:' \
         'price_usd_per_t=40000:140000:11"'


@dataclass(frozen=True)
class SweepParam:
    """One swept cell range: rows of ``sheet`` matching ``selector``, column ``column``."""

    text: str  # as given on the command line
    sheet: str
    selector: str
    column: str
    start: float
    stop: float
    count: int | None  # None: a range for --samples only
    integer: bool = False  # whole-number column (years, stages, lead times): values rounded

    @property
    def label(self) -> str:
        """Column heading in the batch workbook: ``SHEET|KEY:column``."""
        return f"{self.sheet}|{self.selector}:{self.column}"

    def grid(self) -> list[float]:
        """The evenly spaced values (rounded and de-duplicated for whole-number columns)."""
        if self.count is None:
            raise _error(self.text, f"a grid needs start:stop:count ({SYNTAX}); "
                                               "start:stop alone is only for --samples")
        values = [float(v) for v in np.linspace(self.start, self.stop, self.count)]
        if self.integer:
            values = list(dict.fromkeys(float(round(v)) for v in values))
        return values

    def value(self, x: float) -> float | int:
        """The cell value written for ``x`` (an int for whole-number columns)."""
        return int(round(x)) if self.integer else float(x)


@dataclass
class SweepRun:
    """One run of a sweep: its name, parameter values and the overrides that make it."""

    name: str
    params: dict[str, float | int]
    overrides: list[Override] = field(default_factory=list)


def _issue(text: str, message: str) -> Issue:
    return Issue("--set", None, None, text, message)


def _error(text: str, message: str) -> InputError:
    return InputError([_issue(text, message)])


def _number(text: str, part: str, what: str) -> float:
    t = part.strip().replace("_", "")
    if not _NUMBER.match(t):
        raise _error(text, f"{what} {part.strip()!r} is not a number ({SYNTAX})")
    x = float(t)
    if not math.isfinite(x):
        raise _error(text, f"{what} must be finite")
    return x


def parse_set(text: str) -> SweepParam:
    """Parse one ``--set`` string; raise InputError saying what is wrong and how to write it."""
    raw = str(text).strip()
    m = _SET.match(raw)
    if not m:
        raise _error(raw, f"expected {SYNTAX}")
    target, column, rng = m.group("target").strip(), m.group("column").lower(), m.group("range")
    if "|" not in target:
        raise _error(raw, f"the target {target!r} needs a sheet and a key: "
                                     f"SHEET|KEY ({SYNTAX})")
    sheet_text, selector = target.split("|", 1)
    spec = next((s for s in S.SHEETS.values()
                 if s.name.lower() == sheet_text.strip().lower()), None)
    if spec is not None and spec.name == "Scenarios":
        raise _error(raw, "a sweep cannot change the Scenarios sheet")
    if spec is None or not spec.key:
        names = ", ".join(s.name for s in S.SHEETS.values() if s.key and s.name != "Scenarios")
        raise _error(raw, f"unknown sheet {sheet_text.strip()!r}; sheets: {names}")
    parts = selector.split("|")
    if len(parts) != len(spec.key):
        raise _error(raw, f"the key of sheet {spec.name} has {len(spec.key)} "
                                     f"position(s) ({'|'.join(spec.key)}), not {len(parts)}; "
                                     "use * for any value")
    if column in spec.key:
        raise _error(raw, f"{column!r} is a key column of sheet {spec.name}; "
                                     "a sweep changes other columns")
    if column not in spec.column_names:
        cols = ", ".join(c for c in spec.column_names if c not in spec.key
                         and c not in ("note", "source"))
        raise _error(raw, f"sheet {spec.name} has no column {column!r}; "
                                     f"columns: {cols}")
    col = spec.column(column)
    if spec.name != "Settings" and col.kind not in ("number", "integer", "year"):
        raise _error(raw, f"column {spec.name}.{column} holds {col.expected()}; "
                                     "a sweep needs a numeric column")
    pieces = rng.split(":")
    if len(pieces) == 1:
        start = stop = _number(raw, pieces[0], "the value")
        count: int | None = 1
    elif len(pieces) in (2, 3):
        start = _number(raw, pieces[0], "start")
        stop = _number(raw, pieces[1], "stop")
        count = None
        if len(pieces) == 3:
            c = pieces[2].strip()
            if not re.fullmatch(r"\d+", c) or int(c) < 1:
                raise _error(raw, f"count {c!r} must be a whole number ≥ 1")
            count = int(c)
    else:
        raise _error(raw, f"the range {rng.strip()!r} has {len(pieces)} parts; "
                                     f"expected start:stop:count ({SYNTAX})")
    integer = col.kind in ("integer", "year") or (spec.name == "Settings" and parts[0].strip()
                                                  in ("first_year", "last_year", "threads"))
    return SweepParam(raw, spec.name, "|".join(p.strip() for p in parts), column, start, stop,
                      count, integer)


def _overrides(params: list[SweepParam], values: tuple[float, ...]) -> list[Override]:
    return [Override(p.sheet, p.selector, p.column, value=p.value(x))
            for p, x in zip(params, values, strict=True)]


def _named(rows: list[tuple[float, ...]], params: list[SweepParam]) -> list[SweepRun]:
    width = max(3, len(str(len(rows))))
    return [SweepRun(f"sweep_{i + 1:0{width}d}",
                     {p.label: p.value(x) for p, x in zip(params, row, strict=True)},
                     _overrides(params, row)) for i, row in enumerate(rows)]


def grid_runs(params: list[SweepParam]) -> list[SweepRun]:
    """The Cartesian grid of every parameter's values (the first varies slowest)."""
    return _named(list(itertools.product(*(p.grid() for p in params))), params)


def sample_runs(params: list[SweepParam], samples: int, seed: int = 0) -> list[SweepRun]:
    """``samples`` runs, each parameter drawn uniformly and independently from its range."""
    if samples < 1:
        raise _error(f"--samples {samples}", "--samples must be ≥ 1")
    rng = np.random.default_rng(seed)
    lo = np.array([min(p.start, p.stop) for p in params])
    hi = np.array([max(p.start, p.stop) for p in params])
    draws = rng.uniform(lo, hi, size=(samples, len(params)))
    return _named([tuple(float(x) for x in row) for row in draws], params)


def parse_each(texts: list[str], parse) -> list:
    """``parse`` of every text, all problems reported together (one InputError)."""
    out, issues = [], []
    for text in texts:
        try:
            out.append(parse(text))
        except InputError as exc:
            issues += exc.issues
    if issues:
        raise InputError(issues)
    return out


def sweep_runs(sets: list[str], samples: int | None = None,
               seed: int | None = None) -> tuple[list[SweepParam], list[SweepRun]]:
    """Parse every ``--set`` (all problems reported together) and make the runs."""
    if not sets:
        raise _error("", f"a sweep needs at least one --set {SYNTAX}")
    if seed is not None and samples is None:
        raise _error(f"--seed {seed}", "--seed needs --samples N")
    params = parse_each(sets, parse_set)
    labels = [p.label for p in params]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise _error(", ".join(dup), "the same cells are swept twice")
    if samples is not None:
        return params, sample_runs(params, samples, 0 if seed is None else seed)
    return params, grid_runs(params)
