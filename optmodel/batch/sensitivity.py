"""``sensitivity``: which numbers decide the strategy (docs/model.md §13, docs/scenarios.md).

A *parameter* is one ``--set "SHEET|KEY:column=lo:hi"``: every row the selector
matches takes the same value.  Without ``--set`` the parameters are every
Markets row's ``price_usd_per_t`` and every BuildOptions row's ``capex_musd`` as
written, each from base × (1 − range) to base × (1 + range); rows whose base is
0 are skipped.  One parameter moves at a time; the others stay at base.

For each parameter:

1. its range is sampled at ``points`` evenly spaced values (ends included);
2. wherever two neighbouring samples give different plans, the interval is
   bisected: the midpoint is solved and the half whose ends still differ is kept
   (both halves when the midpoint's plan differs from both ends), until the
   bracket is narrower than tol × |hi − lo|;
3. each final bracket is one Flips row; the two ends of the range make the
   parameter's Tornado row.

A plan changes and changes back between two samples unseen: only brackets
whose ends differ are searched.  A *plan* is :class:`~optmodel.strategy.robust.Plan`
written as text (:func:`plan_text`); a run that does not solve counts as the
plan ``(its status)``, so the search also finds where a run stops solving.

All runs of a round go to the batch engine together
(:func:`~optmodel.batch.engine.plan_session`): first every parameter × point
(and the base), then each bisection round as the midpoints of every open
bracket, so the worker pool stays busy.  No per-run workbooks are written.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optmodel import __version__
from optmodel import schema as S
from optmodel.batch.sweep import parse_each, parse_set
from optmodel.errors import EXIT_OK, InputError, Issue
from optmodel.input.scenarios import Override, apply_overrides, matched_values, row_selectors
from optmodel.io.read import RawSheet, read_raw
from optmodel.io.write import SheetSpec, check_writable, write_workbook
from optmodel.model.extra_file import ExtraFile

log = logging.getLogger(__name__)

SYNTAX = 'SHEET|KEY:column=lo:hi, e.g. "Markets|*|NdPr_oxide|sell|export|*:' \
         'price_usd_per_t=40000:80000"'
DEFAULT_COLUMNS = (("Markets", "price_usd_per_t"), ("BuildOptions", "capex_musd"))
MISSED_NOTE = ("A plan that changes and changes back between two neighbouring samples is "
               "missed: only intervals whose two ends give different plans are bisected. "
               "More --points narrow the sampling.")
FLIPS_COLUMNS = ["parameter", "below", "above", "plan_below", "plan_above", "npv_below_musd",
                 "npv_above_musd"]
TORNADO_COLUMNS = ["parameter", "base", "lo", "hi", "npv_lo_musd", "npv_hi_musd", "swing_musd",
                   "plan_changes", "status"]


# ------------------------------------------------------------------ parameters


@dataclass(frozen=True)
class Parameter:
    """One moved cell range: rows of ``sheet`` matching ``selector``, column ``column``."""

    label: str  # SHEET|KEY:column, as given (or as a Scenarios selector writes the row)
    sheet: str
    selector: str
    column: str
    lo: float
    hi: float
    base: float | None = None  # the cells' value in the workbook (blank when they differ)
    integer: bool = False  # whole-number column: values rounded

    def value(self, x: float) -> float | int:
        """The cell value written for ``x``."""
        return int(round(x)) if self.integer else float(x)

    def override(self, x: float) -> Override:
        return Override(self.sheet, self.selector, self.column, value=self.value(x))

    def samples(self, points: int) -> list[float]:
        """``points`` evenly spaced values from the low to the high end, ascending."""
        a, b = sorted((self.lo, self.hi))
        values = [float(v) for v in np.linspace(a, b, points)]
        if self.integer:
            values = list(dict.fromkeys(float(round(v)) for v in values))
        return values


def _error(text: str, message: str) -> InputError:
    return InputError([Issue("--set", None, None, text, message)])


def parse_parameter(text: str) -> Parameter:
    """One ``--set "SHEET|KEY:column=lo:hi"``: split at the first ``:``, then the first ``=``.

    The sheet, key and column are checked by the sweep grammar
    (:func:`optmodel.batch.sweep.parse_set`); the label is ``SHEET|KEY:column`` as given
    (spaces around the parts trimmed).
    """
    raw = str(text).strip()
    target, colon, rest = raw.partition(":")
    column, equals, rng = rest.partition("=")
    if not colon or not equals:
        raise _error(raw, f"expected {SYNTAX}")
    pieces = rng.split(":")
    if len(pieces) != 2:
        raise _error(raw, f"the range {rng.strip()!r} must be lo:hi, two numbers ({SYNTAX})")
    p = parse_set(raw)  # sheet, key positions, column and the two numbers
    if p.start == p.stop:
        raise _error(raw, f"lo and hi are equal ({p.start:g}); a range needs two values")
    if p.start > p.stop:
        raise _error(raw, f"lo {p.start:g} is above hi {p.stop:g}; write lo:hi")
    return Parameter(f"{target.strip()}:{column.strip()}", p.sheet, p.selector, p.column,
                     p.start, p.stop, integer=p.integer)


def _sheet(raw: dict[str, RawSheet], name: str) -> RawSheet | None:
    return next((v for k, v in raw.items() if k.strip().lower() == name.lower()), None)


def _number(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        x = float(str(v).strip()) if isinstance(v, str) else float(v)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def default_parameters(raw: dict[str, RawSheet], rng: float = 0.3) -> list[Parameter]:
    """Every Markets price and BuildOptions capex as written, base × (1 ± rng); base 0 skipped.

    Labels are ``Markets|market|product|direction|scope|year:price_usd_per_t`` and
    ``BuildOptions|option:capex_musd``, the row's identifying columns as a Scenarios
    selector writes them (a blank year is an empty last position).
    """
    out = []
    for sheet_name, column in DEFAULT_COLUMNS:
        sheet = _sheet(raw, sheet_name)
        if sheet is None:
            continue
        spec = S.SHEETS[sheet_name]
        header = [str(h).strip().lower() if h is not None else "" for h in sheet.header]
        if column not in header:
            continue
        j = header.index(column)
        for _row, selector, row in row_selectors(sheet, spec):
            base = _number(row[j] if j < len(row) else None)
            if base is None or base == 0:
                continue
            out.append(Parameter(f"{spec.name}|{selector}:{column}", spec.name, selector,
                                 column, base * (1 - rng), base * (1 + rng), base))
    return out


def with_base(raw: dict[str, RawSheet], p: Parameter) -> Parameter:
    """``p`` with its base: the matched cells' value when they all hold the same number."""
    values = {_number(v) for v in matched_values(raw, p.sheet, p.selector, p.column)}
    base = values.pop() if len(values) == 1 else None
    return Parameter(p.label, p.sheet, p.selector, p.column, p.lo, p.hi, base, p.integer)


def parameters_for(raw: dict[str, RawSheet], sets: Sequence[str], rng: float
                   ) -> list[Parameter]:
    """The parameters of a run: every ``--set`` (all problems at once), else the defaults."""
    if not 0 < rng < 1:
        raise InputError([Issue("--range", None, None, rng, "--range must be between 0 and 1 "
                                "(exclusive), e.g. 0.3 for ±30 %")])
    if not sets:
        return default_parameters(raw, rng)
    params = parse_each(sets, parse_parameter)
    keys = [(p.sheet, p.selector, p.column) for p in params]
    dup = sorted({p.label for p, k in zip(params, keys, strict=True) if keys.count(k) > 1})
    if dup:
        raise _error(", ".join(dup), "the same cells are given twice")
    issues: list[Issue] = []
    for p in params:  # every selector must match a row (all problems reported together)
        try:
            apply_overrides(raw, [p.override(p.lo)], "--set")
        except InputError as exc:
            issues += [Issue(i.sheet, i.row, i.column, p.label, i.message) for i in exc.issues]
    if issues:
        raise InputError(issues)
    return [with_base(raw, p) for p in params]


# ------------------------------------------------------------------ plans


def plan_text(plan) -> str:
    """A :class:`~optmodel.strategy.robust.Plan` as text, sorted by name.

    Each option with builds: its units and start years (``Magnet_Tomsk 1@2027 1@2031``;
    integer options rounded to whole units, a divisible option only ``built@year``);
    each opened node: ``Tomsk opened``.  Entries are joined by ``; ``; nothing built
    and nothing opened is ``nothing built``.
    """
    entries: dict[str, list[str]] = {}
    b = plan.builds.sort_values(["option", "year"], kind="stable")
    for o, y, u in b[["option", "year", "units"]].itertuples(index=False):
        if o in plan.divisible:
            what = "built"
        else:
            n = int(round(float(u)))
            if n == 0:
                continue
            what = str(n)
        entries.setdefault(str(o), []).append(f"{what}@{int(y)}")
    parts = [f"{o} {' '.join(v)}" for o, v in entries.items()]
    parts += [f"{n} opened" for n in plan.opened["node"].astype(str)]
    return "; ".join(sorted(parts)) or "nothing built"


# ------------------------------------------------------------------ the search


@dataclass
class Point:
    """One solve: a parameter at one value."""

    param: int  # index into the parameter list (-1: the base run)
    value: float
    status: str = ""
    exit_code: int = EXIT_OK
    npv_musd: float | None = None
    plan: str = ""  # plan text, or "(status)" when the run did not solve
    message: str = ""
    round: int = 0  # 0 = the samples, k = the k-th bisection round


@dataclass
class Bracket:
    """Two values of one parameter whose plans differ, nothing known in between."""

    below: Point
    above: Point

    @property
    def width(self) -> float:
        return self.above.value - self.below.value


Solver = Callable[[list[Point]], None]  # fills status, exit_code, npv_musd, plan, message


@dataclass
class Screening:
    """Everything a screening found."""

    params: list[Parameter]
    points: list[Point] = field(default_factory=list)  # every solve, in the order made
    brackets: list[Bracket] = field(default_factory=list)  # the final ones
    base: Point | None = None
    rounds: int = 0


def _midpoint(p: Parameter, br: Bracket) -> float | None:
    """The value to solve next inside ``br`` (None: the bracket cannot be narrowed)."""
    mid = (br.below.value + br.above.value) / 2
    if p.integer:
        mid = float(round(mid))
    if not br.below.value < mid < br.above.value:
        return None
    return mid


def screen(params: list[Parameter], solve: Solver, points: int = 5, tol: float = 0.01,
           base: bool = True) -> Screening:
    """Sample every parameter, then bisect every bracket of differing plans (module doc).

    ``solve`` gets a list of points (one round) and fills in their results.
    A bracket is final once it is narrower than ``tol`` × |hi − lo| (for a
    whole-number column: once its ends are neighbouring integers).
    """
    if points < 2:
        raise InputError([Issue("--points", None, None, points,
                                "--points must be at least 2 (the two ends)")])
    if not 0 < tol < 1:
        raise InputError([Issue("--tol", None, None, tol,
                                "--tol must be between 0 and 1 (exclusive)")])
    res = Screening(params)
    first = [Point(i, x) for i, p in enumerate(params) for x in p.samples(points)]
    if base:
        res.base = Point(-1, math.nan)
        first.append(res.base)
    solve(first)
    res.points += first
    open_: list[Bracket] = []
    for i, _p in enumerate(params):
        mine = [pt for pt in first if pt.param == i]
        open_ += [Bracket(a, b) for a, b in zip(mine, mine[1:], strict=False)
                  if a.plan != b.plan]
    limit = [tol * abs(p.hi - p.lo) for p in params]
    while True:
        todo: list[tuple[Bracket, Point]] = []
        for br in open_:
            mid = None if br.width < limit[br.below.param] else _midpoint(
                params[br.below.param], br)
            if mid is None:
                res.brackets.append(br)
            else:
                todo.append((br, Point(br.below.param, mid, round=res.rounds + 1)))
        if not todo:
            break
        res.rounds += 1
        solve([m for _, m in todo])
        res.points += [m for _, m in todo]
        open_ = []
        for br, m in todo:
            if m.plan == br.below.plan:
                open_.append(Bracket(m, br.above))
            elif m.plan == br.above.plan:
                open_.append(Bracket(br.below, m))
            else:  # a third plan: a flip on each side
                open_ += [Bracket(br.below, m), Bracket(m, br.above)]
    res.brackets.sort(key=lambda br: (params[br.below.param].label, br.below.value))
    return res


# ------------------------------------------------------------------ tables


def flips_table(res: Screening) -> pd.DataFrame:
    """One row per final bracket, by parameter then value."""
    rows = [(res.params[br.below.param].label, res.params[br.below.param].value(br.below.value),
             res.params[br.below.param].value(br.above.value), br.below.plan, br.above.plan,
             br.below.npv_musd, br.above.npv_musd) for br in res.brackets]
    return pd.DataFrame(rows, columns=FLIPS_COLUMNS)


def _status(lo: Point, hi: Point) -> str:
    return lo.status if lo.status == hi.status else f"lo {lo.status}; hi {hi.status}"


def tornado_table(res: Screening) -> pd.DataFrame:
    """One row per parameter: NPV at both ends, the swing, whether the plan changes; by
    swing (largest first; blank last), then parameter."""
    flipped = {br.below.param for br in res.brackets}
    rows = []
    for i, p in enumerate(res.params):
        mine = {pt.value: pt for pt in res.points if pt.param == i and pt.round == 0}
        lo_pt, hi_pt = mine[float(p.value(p.lo))], mine[float(p.value(p.hi))]
        swing = (abs(hi_pt.npv_musd - lo_pt.npv_musd) if lo_pt.npv_musd is not None
                 and hi_pt.npv_musd is not None else None)
        rows.append((p.label, p.base, p.value(p.lo), p.value(p.hi), lo_pt.npv_musd,
                     hi_pt.npv_musd, swing, "yes" if i in flipped else "no",
                     _status(lo_pt, hi_pt)))
    rows.sort(key=lambda r: (r[6] is None, -(r[6] or 0.0), r[0]))
    return pd.DataFrame(rows, columns=TORNADO_COLUMNS)


def samples_table(res: Screening) -> pd.DataFrame:
    """Every solve: parameter, value, round, status, exit code, NPV, plan, message."""
    rows = []
    for pt in res.points:
        label = "(base)" if pt.param < 0 else res.params[pt.param].label
        value = None if pt.param < 0 else res.params[pt.param].value(pt.value)
        rows.append((label, value, pt.round, pt.status, pt.exit_code, pt.npv_musd, pt.plan,
                     pt.message))
    t = pd.DataFrame(rows, columns=["parameter", "value", "round", "status", "exit_code",
                                    "npv_musd", "plan", "message"])
    return t.sort_values(["parameter", "value"], kind="stable", na_position="first"
                         ).reset_index(drop=True)


# ------------------------------------------------------------------ running


def default_output(input_path: Path) -> Path:
    """outputs/<input stem>_sensitivity.xlsx when outputs/ exists, else beside the input."""
    folder = Path("outputs") if Path("outputs").is_dir() else input_path.parent
    return folder / f"{input_path.stem}_sensitivity.xlsx"


@dataclass
class SensitivityOutcome:
    """A finished screening: what it found, where it was written, the worst exit code."""

    screening: Screening
    flips: pd.DataFrame
    tornado: pd.DataFrame
    meta: dict[str, Any]  # the Run sheet: settings, counts, base NPV and plan, the note
    path: Path
    exit_code: int
    solves: int
    wall_s: float


def batch_solver(params: list[Parameter], solve_runs) -> Solver:
    """A :data:`Solver` that sends each round to ``solve_runs`` (engine.plan_session)."""
    from optmodel.batch.engine import RunSpec

    counter = 0

    def solve(points: list[Point]) -> None:
        nonlocal counter
        runs = []
        for pt in points:
            counter += 1
            ovs = [] if pt.param < 0 else [params[pt.param].override(pt.value)]
            # a parameter's samples (ascending) are a line: its ends first, and a middle
            # sample between two with the same plan proved by one LP (engine.LineOrder)
            line = f"parameter {pt.param}" if pt.param >= 0 and pt.round == 0 else None
            runs.append(RunSpec(f"run{counter:06d}", ovs, line=line))
        for pt, r in zip(points, solve_runs(runs), strict=True):
            pt.status, pt.exit_code, pt.message = r.status, r.exit_code, r.message
            npv = r.kpis.get("npv_musd") if r.exit_code == EXIT_OK else None
            pt.npv_musd = None if npv is None or pd.isna(npv) else float(npv)
            pt.plan = (plan_text(r.plan) if r.exit_code == EXIT_OK and r.plan is not None
                       else f"({r.status or 'failed'})")

    return solve


def run_sensitivity(input_path: Path | str, sets: Sequence[str] = (), *, rng: float = 0.3,
                    points: int = 5, tol: float = 0.01, output: Path | str | None = None,
                    workers: int | None = None, scheduler: str | None = None,
                    extra: Path | str | ExtraFile | None = None, console=None,
                    command_line: str | None = None) -> SensitivityOutcome:
    """``sensitivity``: screen the parameters, write the workbook (Flips, Tornado, …).

    The HTML tornado chart is drawn from the outcome by the caller
    (:func:`optmodel.report.tornado_page.write_tornado_page`).

    Solves use the workbook's Settings (mip_gap, time limit, threads).  Raises
    InputError before solving anything for a bad ``--set``, ``--range``, ``--points``
    or ``--tol``, an invalid base workbook, or a selector that matches no row; the
    workbook is written whatever the runs give.  ``extra``: a user's extra-constraints
    file (``--extra FILE.py``, a path or an :class:`~optmodel.model.extra.ExtraFile`),
    part of every run's model; the Run sheet records its name and SHA-256.
    """
    from optmodel.batch.engine import default_workers, plan_session
    from optmodel.pipeline import file_sha256, load_tables

    if extra is not None and not isinstance(extra, ExtraFile):
        extra = ExtraFile.read(extra)
    t0 = time.perf_counter()
    start = _dt.datetime.now(_dt.UTC)
    input_path = Path(input_path)
    out = Path(output) if output is not None else default_output(input_path)
    tables = load_tables(input_path)  # an invalid base workbook ends here (exit 2)
    raw = read_raw(input_path)
    params = parameters_for(raw, list(sets), rng)
    if points < 2 or not 0 < tol < 1:
        screen(params, lambda _pts: None, points, tol)  # raises the InputError
    if not params:
        raise InputError("No parameter to move: the workbook has no non-zero Markets price "
                         "or BuildOptions capex, and no --set was given.")
    check_writable(out, [input_path])
    n_first = sum(len(p.samples(points)) for p in params) + 1
    workers = default_workers(n_first) if workers is None else max(1, int(workers))
    with plan_session(input_path, workers=workers, scheduler=scheduler,
                      console=console, description="Sensitivity runs",
                      extra=extra) as solve_runs:
        res = screen(params, batch_solver(params, solve_runs), points, tol)
    wall = time.perf_counter() - t0
    code = max((pt.exit_code for pt in res.points), default=EXIT_OK)
    flips, tornado = flips_table(res), tornado_table(res)
    settings = tables.settings
    meta = {
        "input_file": input_path.name, "input_sha256": file_sha256(input_path),
        "parameters": len(params),
        "parameter_source": "--set" if sets else
        f"defaults: every Markets price and BuildOptions capex × (1 ± {rng:g})",
        "range": rng if not sets else "from --set", "points": points, "tol": tol,
        "mip_gap": settings.get("mip_gap", 1e-4),
        "time_limit_s": settings.get("time_limit_s") if settings.get(
            "time_limit_s") is not None else "none",
        "solves": len(res.points), "bisection_rounds": res.rounds,
        "failed_solves": sum(pt.exit_code != EXIT_OK for pt in res.points),
        "worst_exit_code": code,
        "base_npv_musd": res.base.npv_musd if res.base else None,
        "base_plan": res.base.plan if res.base else None,
        "note": MISSED_NOTE,
        "workers": workers if scheduler is None else "cluster",
        "scheduler": scheduler or ("embedded LocalCluster" if workers > 1 else "this process"),
        "package_version": __version__,
        "start_time_utc": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_time_s": round(wall, 3),
        **({"extra_file": extra.name, "extra_sha256": extra.sha256} if extra else {}),
        "command_line": command_line if command_line is not None else " ".join(
            [Path(sys.argv[0]).name] + sys.argv[1:]),
    }
    write_sensitivity(out, flips, tornado, samples_table(res), meta)
    return SensitivityOutcome(res, flips, tornado, meta, out, code, len(res.points), wall)


def write_sensitivity(path: Path, flips: pd.DataFrame, tornado: pd.DataFrame,
                      samples: pd.DataFrame, meta: dict[str, Any]) -> None:
    """The workbook: Flips, Tornado, Samples (every solve) and Run (settings, the note)."""
    money = "#,##0.000"
    value = "#,##0.######"
    gap = meta.get("mip_gap")
    comment = f"Solved at the workbook's mip_gap = {gap}. {MISSED_NOTE}"
    sheets = [
        SheetSpec("Flips", flips, number_formats={"below": value, "above": value,
                                                  "npv_below_musd": money,
                                                  "npv_above_musd": money},
                  widths={"parameter": 48, "plan_below": 60, "plan_above": 60},
                  comments={"parameter": comment}),
        SheetSpec("Tornado", tornado, number_formats={
            "base": value, "lo": value, "hi": value, "npv_lo_musd": money,
            "npv_hi_musd": money, "swing_musd": money},
            widths={"parameter": 48, "status": 24}, comments={"parameter": comment}),
        SheetSpec("Samples", samples, number_formats={"value": value, "npv_musd": money},
                  widths={"parameter": 48, "plan": 60, "message": 40}),
        SheetSpec("Run", pd.DataFrame(list(meta.items()), columns=["key", "value"]),
                  widths={"key": 20, "value": 80}, wrap_columns=("value",)),
    ]
    write_workbook(path, sheets, title="optmodel sensitivity")
