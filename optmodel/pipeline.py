"""One solve, end to end: workbook → validation → (scenario) → model → HiGHS → results.

Used by the command line and by batch runs; raises the typed errors of
:mod:`optmodel.errors` and never writes partial files.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optmodel import OUTPUT_SCHEMA_VERSION, __version__
from optmodel.errors import EXIT_OK, InfeasibleError, InputError, Issue
from optmodel.input.scenarios import BASE, apply_overrides, overrides_for
from optmodel.input.tables import Tables
from optmodel.input.validate import validate_raw
from optmodel.io.read import read_raw
from optmodel.io.write import check_writable
from optmodel.model.build import BuiltModel, build_model
from optmodel.model.data import ModelData, build_model_data
from optmodel.model.extra_file import ExtraFile
from optmodel.results.inputs_sheet import inputs_table
from optmodel.results.plan_checks import reexport_warnings
from optmodel.results.tables import (
    extract_tables,
    summary_table,
    with_meanings,
    write_results,
)
from optmodel.solver.diagnose import (
    diagnosis,
    diagnosis_text,
    sanity_warnings,
    write_diagnosis_workbook,
)
from optmodel.solver.options import SolveOptions, SolveOutcome, highs_version
from optmodel.solver.solve import solve

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    """What one solve produced."""

    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    exit_code: int = EXIT_OK
    output_path: Path | None = None
    times: dict[str, float] = field(default_factory=dict)
    scenario: str = BASE
    warnings: list[Issue] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_tables(path: Path, scenario: str | None = None,
                times: dict[str, float] | None = None) -> Tables:
    """Read, validate and (optionally) apply a named scenario; raise InputError on problems."""
    times = {} if times is None else times
    t = time.perf_counter()
    raw = read_raw(path)
    times["read"] = time.perf_counter() - t
    t = time.perf_counter()
    tables, issues = validate_raw(raw)
    _raise_errors(issues)
    if scenario and scenario != BASE:
        raw = apply_overrides(raw, overrides_for(tables, scenario), scenario)
        tables, issues = validate_raw(raw)
        _raise_errors(issues, f"after applying scenario {scenario}: ")
    tables.warnings = [i for i in issues if i.severity != "error"]
    times["validate"] = time.perf_counter() - t
    return tables


def _raise_errors(issues: list[Issue], prefix: str = "") -> None:
    """InputError with every error, then the warnings (printed with them by ``validate``)."""
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        if prefix:
            errors = [Issue(i.sheet, i.row, i.column, i.value, prefix + i.message) for i in errors]
        raise InputError(errors + [i for i in issues if i.severity != "error"])


def solve_options(settings: dict[str, Any], mip_gap: float | None = None,
                  time_limit: float | None = None, threads: int | None = None,
                  tee: bool = False, extra: ExtraFile | None = None) -> SolveOptions:
    """CLI flags override Settings, which override defaults; ``extra``: a user's
    extra-constraints file (``--extra``, docs/model.md §13), part of every model solved."""
    return SolveOptions(
        mip_gap=float(mip_gap if mip_gap is not None else settings.get("mip_gap", 1e-4)),
        time_limit=time_limit if time_limit is not None else settings.get("time_limit_s"),
        threads=int(threads if threads is not None else settings.get("threads", 1)),
        tee=tee, extra=extra,
    )


def run_structure(data: ModelData, opts: SolveOptions, bm: BuiltModel | None = None
                  ) -> BuiltModel:
    """The structure one run solves: ``bm`` (``data``'s structure already made, e.g. by a
    batch worker's :class:`~optmodel.batch.cache.CoreCache`) or ``build_model(data)``,
    with the variables and constraints of the user's ``opts.extra`` appended as families
    (:func:`~optmodel.model.extra.apply_extra`; a new structure, ``bm`` and the families
    it shares with other runs are not changed).  Every solve of a workbook's data —
    single, batch run, robust scenario — gets its structure here."""
    bm = build_model(data) if bm is None else bm
    if opts.extra is None:  # no user file: no Pyomo is imported
        return bm
    from optmodel.model.extra import apply_extra

    return apply_extra(bm, data, opts.extra)


def solve_tables(tables: Tables, opts: SolveOptions, times: dict[str, float] | None = None,
                 write_model: Path | None = None,
                 prepared: tuple[ModelData, BuiltModel] | None = None
                 ) -> tuple[ModelData, BuiltModel, SolveOutcome, dict[str, pd.DataFrame]]:
    """Build, solve and extract result tables (no files except ``write_model``).

    ``prepared``: the model data and structure already made from ``tables`` (a batch
    run that shares part of them with earlier runs, :mod:`optmodel.batch.cache`).
    The user's ``opts.extra`` joins either structure (:func:`run_structure`) before
    anything is written or solved.
    """
    times = {} if times is None else times
    t = time.perf_counter()
    data = build_model_data(tables) if prepared is None else prepared[0]
    tables.warnings = tables.warnings + [w for w in sanity_warnings(data)
                                         if w not in tables.warnings]
    times["prepare"] = times.get("prepare", 0.0) + time.perf_counter() - t
    t = time.perf_counter()
    # the model's tables (no Pyomo components): the solve hands them straight to HiGHS
    # (optmodel.solver.highs, README "Design choices"); --write-model writes that matrix
    bm = run_structure(data, opts, None if prepared is None else prepared[1])
    times["build"] = time.perf_counter() - t
    try:
        sol = solve(bm, opts, write_model)
    except InfeasibleError as exc:  # explain it in input terms (optmodel.solver.diagnose)
        raise diagnosed(bm, exc, opts, times) from None
    times.update({k: v for k, v in sol.times.items()})
    t = time.perf_counter()
    result = extract_tables(bm, sol)
    result["Summary"] = summary_table(bm, sol, result)
    times["extract"] = time.perf_counter() - t
    return data, bm, sol, result


def diagnosed(bm: BuiltModel, exc: InfeasibleError, opts: SolveOptions,
              times: dict[str, float]) -> InfeasibleError:
    """``exc`` explained in input terms: the error to raise, its ``diagnosis`` attached."""
    t = time.perf_counter()
    diag = diagnosis(bm, time_limit=max(30.0, opts.time_limit or 0.0))
    times["diagnose"] = time.perf_counter() - t
    err = InfeasibleError(f"{diag.headline or exc}\nWhy:\n{diagnosis_text(diag)}")
    err.diagnosis = diag
    return err


def solve_workbook(input_path: Path | str, output_path: Path | str | None = None, *,
                   scenario: str | None = None, mip_gap: float | None = None,
                   time_limit: float | None = None, threads: int | None = None,
                   write_model: Path | str | None = None, report: bool = False,
                   tee: bool = False, command_line: str | None = None,
                   extra: ExtraFile | None = None) -> RunOutcome:
    """Solve ``input_path`` (optionally one scenario) and write the results workbook;
    ``extra``: a user's extra-constraints file (docs/model.md §13 ``--extra``)."""
    start = _dt.datetime.now(_dt.UTC)
    t_all = time.perf_counter()
    input_path = Path(input_path)
    out = Path(output_path) if output_path is not None else None
    if out is not None:
        check_writable(out, [input_path])
    if write_model is not None:
        check_writable(Path(write_model), [input_path])
    times: dict[str, float] = {}
    tables = load_tables(input_path, scenario, times)
    opts = solve_options(tables.settings, mip_gap, time_limit, threads, tee, extra)
    try:
        data, bm, sol, result = solve_tables(tables, opts, times,
                                             Path(write_model) if write_model else None)
    except InfeasibleError as exc:
        diag = getattr(exc, "diagnosis", None)
        if out is None or diag is None:
            raise
        times["total"] = time.perf_counter() - t_all
        sheets = diagnosis_sheets(input_path, scenario or BASE, opts, times, start, tables,
                                  command_line)
        write_diagnosis_workbook(out, diag, sheets["Run"], sheets["Warnings"])
        err = InfeasibleError(f"{exc}\nDiagnosis written to {out}.")
        err.diagnosis = diag
        raise err from None
    add_context_sheets(result, data, tables)
    summary = dict(zip(result["Summary"]["metric"], result["Summary"]["value"], strict=True))
    outcome = RunOutcome(summary, result, times=times, scenario=scenario or BASE,
                         warnings=tables.warnings, output_path=out)
    if out is not None:
        t = time.perf_counter()
        times["total"] = time.perf_counter() - t_all
        result["Run"] = run_table(input_path, scenario or BASE, opts, sol, times, start,
                                  tables, command_line)
        write_results(out, result)
        times["write"] = time.perf_counter() - t
        if report:
            _write_report(out)
    else:
        result["Run"] = run_table(input_path, scenario or BASE, opts, sol, times, start, tables,
                                  command_line)
    return outcome


def add_context_sheets(result: dict[str, pd.DataFrame], data: ModelData,
                       tables: Tables) -> None:
    """The sheets a results workbook carries besides the solution: Warnings (input and
    plan warnings; the plan warnings are added to ``tables.warnings``), Inputs, Nodes,
    Products (the last two for the report's map and depth charts)."""
    tables.warnings = tables.warnings + [w for w in reexport_warnings(result.get("Trade"))
                                         if w not in tables.warnings]
    result["Warnings"] = _warnings_frame(tables.warnings)
    result["Inputs"] = inputs_table(tables)
    result["Summary"] = with_meanings(result["Summary"])
    result["Nodes"] = data.nodes[["node", "kind", "region", "country", "lat", "lon"]].copy()
    result["Products"] = data.products[["product", "stage", "reo_content"]].copy()


def diagnosis_sheets(input_path: Path, scenario: str, opts: SolveOptions,
                     times: dict[str, float], start: _dt.datetime, tables: Tables,
                     command_line: str | None) -> dict[str, pd.DataFrame]:
    """Run and Warnings sheets of an infeasible run's diagnosis workbook."""
    stub = SolveOutcome("infeasible", "infeasible", float("nan"), float("nan"), float("nan"),
                        {}, solver_version=highs_version())
    return {"Run": run_table(input_path, scenario, opts, stub, times, start, tables,
                             command_line),
            "Warnings": _warnings_frame(tables.warnings)}


def _warnings_frame(warnings: list[Issue]) -> pd.DataFrame:
    return pd.DataFrame(
        [(w.sheet, w.row, w.message + ("" if w.value is None else f" ({w.value})"))
         for w in warnings], columns=["sheet", "row", "message"])


def _write_report(results_path: Path, shared_plotly: bool = False) -> None:
    try:
        from optmodel.report import write_report
    except ImportError:  # report package not available
        log.warning("report module not available; no HTML report written")
        return
    try:
        write_report(results_path, results_path.with_suffix(".html"), shared_plotly)
    except Exception as exc:  # the results workbook is written; a report failure loses nothing
        log.warning("HTML report not written: %s", exc)


def run_table(input_path: Path, scenario: str, opts: SolveOptions, sol: SolveOutcome,
              times: dict[str, float], start: _dt.datetime, tables: Tables,
              command_line: str | None) -> pd.DataFrame:
    """Run sheet: everything needed to reproduce the run (with ``opts.extra``, the user's
    extra-constraints file: its name and SHA-256)."""
    from importlib.metadata import version as package_version  # no Pyomo import

    rows: list[tuple[str, Any]] = [
        ("output_schema_version", OUTPUT_SCHEMA_VERSION),
        ("package_version", __version__),
        ("scenario", scenario),
        ("input_file", input_path.name),
        ("input_sha256", file_sha256(input_path)),
        *([("extra_file", opts.extra.name), ("extra_sha256", opts.extra.sha256)]
          if opts.extra is not None else []),
        ("solver", sol.solver_version),
        *([("solve_method", sol.method)] if sol.method else []),
        ("pyomo_version", package_version("pyomo")),
        ("python_version", platform.python_version()),
        ("termination_condition", sol.termination),
        ("status", sol.status),
        ("mip_gap", sol.gap),
        ("mip_gap_setting", opts.mip_gap),
        ("time_limit_s", opts.time_limit if opts.time_limit is not None else "none"),
        ("threads", opts.threads),
        ("random_seed", opts.random_seed),
        ("first_year", tables.settings.get("first_year")),
        ("last_year", tables.settings.get("last_year")),
        ("discount_rate", tables.settings.get("discount_rate")),
        ("start_time_utc", start.strftime("%Y-%m-%dT%H:%M:%SZ")),
    ]
    rows += [(f"time_{k}_s", round(v, 3)) for k, v in times.items()]
    rows.append(("command_line", command_line if command_line is not None else " ".join(
        [Path(sys.argv[0]).name] + sys.argv[1:])))
    rows += [("warning", str(w)) for w in tables.warnings]
    return pd.DataFrame(rows, columns=["key", "value"])


# ------------------------------------------------ the Python API (optmodel.load/build/solve)

_SETTINGS = ("mip_gap", "time_limit", "threads", "tee")


def load_data(path: Path | str, scenario: str | None = None) -> ModelData:
    """``optmodel.load``: the workbook read, validated (InputError on problems), the scenario
    applied, and the model data derived from it (treat it as read-only)."""
    return build_model_data(load_tables(Path(path), scenario))


def solve_python(source: Any, scenario: str | None = None, extra: Any = None,
                 **settings: Any) -> dict[str, pd.DataFrame]:
    """``optmodel.solve``: the result tables (docs/model.md §12 sheet names) of

    - a workbook path (``scenario`` as on the command line; ``extra`` a file path),
    - model data from ``optmodel.load`` (``extra`` a file path), or
    - a Pyomo model from ``optmodel.build``, with whatever was added to it (the same
      conversion ``--extra`` uses: new variables and linear constraints become families).

    ``settings``: ``mip_gap``, ``time_limit`` (s), ``threads``, ``tee``; they override
    the workbook's Settings.  Raises the typed errors of :mod:`optmodel.errors`.
    """
    import pyomo.core as pyo

    from optmodel.model.extra import absorb

    unknown = sorted(set(settings) - set(_SETTINGS))
    if unknown:
        raise TypeError(f"unknown setting(s) {', '.join(unknown)}; use {', '.join(_SETTINGS)}")
    ext = None if extra is None else (extra if isinstance(extra, ExtraFile)
                                      else ExtraFile.read(extra))
    if isinstance(source, str | Path):
        return solve_workbook(source, scenario=scenario, extra=ext, **settings).tables
    if isinstance(source, pyo.Block):
        if scenario is not None or ext is not None:
            raise TypeError("scenario and extra apply to a workbook or its data, not to a "
                            "built model (add constraints to the model instead)")
        bm = absorb(source)
        opts = solve_options(bm.data.settings, **settings)
    elif isinstance(source, ModelData):
        if scenario is not None:
            raise TypeError("scenario applies to a workbook: optmodel.load(path, scenario)")
        opts = solve_options(source.settings, **settings, extra=ext)
        bm = run_structure(source, opts)
    else:
        raise TypeError(f"cannot solve a {type(source).__name__}: give a workbook path, "
                        "optmodel.load(...) data or an optmodel.build(...) model")
    data = bm.data
    times: dict[str, float] = {}
    try:
        sol = solve(bm, opts)
    except InfeasibleError as exc:
        raise diagnosed(bm, exc, opts, times) from None
    result = extract_tables(bm, sol)
    result["Summary"] = summary_table(bm, sol, result)
    if data.tables is not None:
        add_context_sheets(result, data, data.tables)
    return result
