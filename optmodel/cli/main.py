"""Command line (typer + rich): the same commands from ``run.py`` and ``optmodel``.

Typed errors end here in exit codes (docs/model.md §13); people get sentences, not
tracebacks.  Progress goes to stderr; results tables to stdout.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from optmodel.cli.common import (
    DEFAULT_INPUT,
    DEFAULT_OUTPUT_DIR,
    EXTRA_HELP,
    app,
    command_line,
    default_output,
    err,
    guard,
    loading_libraries,
    out,
    read_extra,
    silence_closed_pipes,
)
from optmodel.errors import EXIT_INPUT, EXIT_INTERRUPTED, InputError


@app.callback()
def main_callback(ctx: typer.Context,
                  verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                                        help="Log details to stderr.")] = False,
                  no_report: Annotated[bool, typer.Option(
                      "--no-report", help="With no command: do not write the HTML report.")
                  ] = False) -> None:
    """With no command: solve inputs/base_case.xlsx into outputs/base_case_results.xlsx."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if ctx.invoked_subcommand is None:
        ctx.invoke(solve_cmd, input_path=DEFAULT_INPUT,
                   output=DEFAULT_OUTPUT_DIR / "base_case_results.xlsx", no_report=no_report)


@app.command("solve")
def solve_cmd(
    input_path: Annotated[Path, typer.Argument(help="Input workbook (.xlsx).")] = DEFAULT_INPUT,
    output: Annotated[Path | None, typer.Option("-o", "--output",
                                                help="Results workbook [outputs/<input>_results"
                                                ".xlsx].")] = None,
    scenario: Annotated[str | None, typer.Option(help="Scenario name from the Scenarios sheet, "
                                                      "or 'all'.")] = None,
    time_limit: Annotated[float | None, typer.Option(help="Solver time limit (s).")] = None,
    mip_gap: Annotated[float | None, typer.Option(help="Relative MIP gap.")] = None,
    threads: Annotated[int | None, typer.Option(help="Solver threads.")] = None,
    write_model: Annotated[Path | None, typer.Option(help="Also write the model as .mps or "
                                                          ".lp.")] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write the HTML "
                                                                "report.")] = False,
    log_solver: Annotated[bool, typer.Option("--log-solver", help="Show the HiGHS log.")] = False,
    extra: Annotated[Path | None, typer.Option("--extra", help=EXTRA_HELP)] = None,
) -> None:
    """Solve a workbook and write the results workbook (and HTML report)."""

    def body():
        with loading_libraries():
            from optmodel.pipeline import solve_workbook

        extra_file = read_extra(extra)

        out_path = output or default_output(input_path)
        if scenario == "all":
            from optmodel.batch.engine import solve_all_scenarios

            code = solve_all_scenarios(input_path, out_path, mip_gap=mip_gap,
                                       time_limit=time_limit, threads=threads,
                                       report=not no_report, console=err,
                                       extra=extra_file)
            raise typer.Exit(code)
        with err.status(f"Solving {input_path.name}"
                        f"{' (scenario ' + scenario + ')' if scenario else ''} …",
                        spinner="dots"):
            res = solve_workbook(input_path, out_path, scenario=scenario, mip_gap=mip_gap,
                                 time_limit=time_limit, threads=threads,
                                 write_model=write_model, report=not no_report,
                                 tee=log_solver, command_line=command_line(),
                                 extra=extra_file)
        _print_headline(res)

    guard(body)


def _fmt(v, digits=3):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def _print_headline(res) -> None:
    s = res.summary
    t = Table(title=f"Results: {escape(str(res.output_path))}", show_header=False)
    t.add_column("metric")
    t.add_column("value", justify="right")
    status = s.get("status")
    t.add_row("status", str(status) + ("  (time limit: feasible, not proven optimal)"
                                       if status == "time_limit" else ""))
    for k, d in (("npv_musd", 1), ("mip_gap", 6), ("processing_depth_index", 2),
                 ("raw_export_share", 3), ("domestic_value_added_musd", 1),
                 ("revenue_musd", 1), ("capex_musd", 1), ("unmet_demand_t", 1)):
        t.add_row(k, _fmt(s.get(k), d))
    b = res.tables["Builds"]
    if len(b):
        builds = "; ".join(f"{r.option} ×{r.units:g} (online {r.online_year})"
                           for r in b.itertuples())
        t.add_row("builds", escape(builds))
    else:
        t.add_row("builds", "none")
    out.print(t)
    for w in res.warnings[:10]:
        err.print(f"[yellow]warning[/] {escape(str(w))}", highlight=False)


@app.command("validate")
def validate_cmd(input_path: Annotated[Path, typer.Argument(help="Input workbook.")]) -> None:
    """Check a workbook and list every problem (exit 2 if there are errors)."""

    def body():
        from optmodel.pipeline import load_tables

        tables = load_tables(input_path)
        from optmodel.model.data import build_model_data
        from optmodel.solver.diagnose import sanity_warnings

        tables.warnings += sanity_warnings(build_model_data(tables))
        for w in tables.warnings:
            err.print(f"[yellow]warning[/] {escape(str(w))}", highlight=False)
        n = {k: len(v) for k, v in tables.frames.items() if len(v)}
        out.print(f"[green]{escape(input_path.name)} is valid[/]: " +
                  ", ".join(f"{k} {v}" for k, v in n.items()))

    guard(body)


@app.command("template")
def template_cmd(output: Annotated[Path, typer.Argument(help="Workbook to write.")],
                 blank: Annotated[bool, typer.Option("--blank", help="Headers only, no example "
                                                                     "rows.")] = False) -> None:
    """Write a template workbook: every sheet, README, drop-downs, example rows."""

    def body():
        from optmodel.input.template import write_template
        from optmodel.io.write import check_writable

        check_writable(output)
        write_template(output, example=not blank)
        out.print(f"Template written to {output}")

    guard(body)


@app.command("compare")
def compare_cmd(
    workbooks: Annotated[list[Path], typer.Argument(help="Two or more results workbooks.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Diff workbook.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Diff HTML report.")] = None,
    tol: Annotated[float, typer.Option(
        help="Ignore changes with |b − a| ≤ tol · max(1, |a|, |b|).")] = 1e-6,
) -> None:
    """Compare results workbooks: KPIs, builds, flows, trade, prices, narrative."""

    def body():
        from optmodel.compare import compare_results

        if len(workbooks) < 2:
            raise InputError("compare needs at least two results workbooks.")
        from optmodel.io.write import check_writable

        for p in (output, html):
            if p is not None:
                check_writable(p, workbooks)
        res = compare_results(list(workbooks), output, html, tol)
        for line in getattr(res, "narrative", []) or []:
            out.print(line, highlight=False)
        if output:
            out.print(f"Diff workbook: {output}")
        if html:
            out.print(f"Diff report: {html}")

    guard(body)


@app.command("report")
def report_cmd(results: Annotated[Path, typer.Argument(help="Results workbook.")],
               output: Annotated[Path | None, typer.Option("-o", "--output",
                                                           help="HTML file.")] = None) -> None:
    """Write a self-contained HTML report with charts of one results workbook."""

    def body():
        from optmodel.io.write import check_writable
        from optmodel.report import write_report

        target = output or results.with_suffix(".html")
        check_writable(target, [results])
        write_report(results, target)
        out.print(f"Report written to {target}")

    guard(body)


def register_extensions() -> None:
    """Commands defined in their own modules (batch runs, strategy tools) add themselves."""
    import importlib

    for mod in ("optmodel.cli.batch", "optmodel.cli.strategy"):
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
            continue
        module.register(app, guard)


register_extensions()


def _exits_fast() -> bool:
    """True for ``run.py`` with no command, ``solve``, ``sweep`` and ``sensitivity``.

    These commands have written and closed every file when they end, and a batch has
    closed its Dask cluster (its worker processes have ended) before it returns.
    """
    args = sys.argv[1:]
    command = next((a for a in args if not a.startswith("-")), None)
    return command in (None, "solve", "sweep", "sensitivity")


def _exit_now(code) -> None:
    """End the process at once: flush output and logs, skip the interpreter's teardown.

    After a large solve, freeing every module, frame and cached table at exit took
    0.3–0.8 s (docs/performance.md) and buys nothing: the results workbooks are written
    and closed, and no worker process or service is left running.
    """
    import os

    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def main() -> None:
    """Console-script entry point."""
    try:
        app(standalone_mode=True)
    except BrokenPipeError:  # output piped into a reader that stopped early (head)
        silence_closed_pipes()
        sys.exit(0)
    except KeyboardInterrupt:
        err.print("[bold red]Interrupted: nothing was written.[/]")
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit as exc:
        if _exits_fast():
            _exit_now(exc.code)
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            silence_closed_pipes()
        raise


__all__ = ["app", "main", "EXIT_INPUT"]
