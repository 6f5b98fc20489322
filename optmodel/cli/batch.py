"""The ``sweep`` command (``solve --scenario all`` lives in cli/main.py, runs in batch/engine)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from optmodel.cli.common import EXTRA_HELP

SET_HELP = (
    'A swept cell range: "SHEET|KEY:column=start:stop:count". KEY is the sheet\'s '
    "identifying columns joined by | as in the Scenarios sheet (* = any value, an empty "
    "position = a blank cell); everything before the first ':' that is followed by "
    "column= is SHEET|KEY. COUNT evenly spaced values from START to STOP (ends included); "
    "a single value is allowed; with --samples, start:stop is enough. Repeat --set for a "
    'grid. Example: --set "Markets|*|NdPr_oxide|sell|export|*:price_usd_per_t='
    '30000:60000:11". Details: docs/scenarios.md.'
)


def register(app: typer.Typer, guard) -> None:
    """Add the batch commands to ``app``; ``guard`` maps errors to exit codes."""

    @app.command("sweep", help=(
        "Solve a grid (or random samples) of parameter values: one results workbook per run "
        "and batch.xlsx (one row per run, a Response sheet per parameter) in OUTDIR. Each "
        "worker keeps the validated input and the parts of the model a run leaves alone; "
        "runs go in parallel on a "
        "Dask LocalCluster (--workers) or an existing cluster (--scheduler). Exits with the "
        "worst exit code of its runs.\n\nGrammar of --set: " + SET_HELP))
    def sweep_cmd(
        input_path: Annotated[Path, typer.Argument(help="Input workbook (.xlsx).")],
        set_: Annotated[list[str], typer.Option("--set", help=SET_HELP)],
        samples: Annotated[int | None, typer.Option(
            help="Draw N runs, every range uniformly and independently, instead of the "
                 "grid.")] = None,
        seed: Annotated[int | None, typer.Option(
            help="Random seed for --samples (default 0).")] = None,
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="Output folder (default: outputs/<input>_sweep).")] = None,
        workers: Annotated[int | None, typer.Option(
            help="Local worker processes; 1 = solve in this process (default: one per CPU, "
                 "1 for fewer than 4 runs).")] = None,
        scheduler: Annotated[str | None, typer.Option(
            help="Address of a running Dask scheduler, tcp://host:port (its workers need "
                 "optmodel installed).")] = None,
        time_limit: Annotated[float | None, typer.Option(help="Solver time limit per run "
                                                              "(s).")] = None,
        mip_gap: Annotated[float | None, typer.Option(help="Relative MIP gap.")] = None,
        threads: Annotated[int | None, typer.Option(help="Solver threads per run.")] = None,
        no_report: Annotated[bool, typer.Option(
            "--no-report", help="Do not write batch.html (the KPIs against each swept "
            "parameter).")] = False,
        extra: Annotated[Path | None, typer.Option("--extra", help=EXTRA_HELP)] = None,
    ) -> None:
        def body():
            from optmodel.batch.engine import run_sweep
            from optmodel.cli.common import err, read_extra

            if workers is not None and workers < 1:
                from optmodel.errors import InputError

                raise InputError("--workers must be ≥ 1.")
            outcome = run_sweep(
                input_path, list(set_), samples=samples, seed=seed, out_dir=output,
                workers=workers, scheduler=scheduler, mip_gap=mip_gap, time_limit=time_limit,
                threads=threads, console=err, page=not no_report,
                extra=read_extra(extra),
                command_line=" ".join(shlex.quote(a) for a in
                                      [Path(sys.argv[0]).name, *sys.argv[1:]]))
            raise typer.Exit(outcome.exit_code)

        guard(body)

    register_sensitivity(app, guard)


SENS_SET_HELP = (
    'A parameter: "SHEET|KEY:column=lo:hi" (split at the first \':\', then the first '
    "'='); every row the selector matches takes the same value. KEY as in the Scenarios "
    "sheet (* = any value, an empty position = a blank cell). Repeat for more parameters; "
    "they move one at a time. Without --set: every Markets price_usd_per_t and every "
    "BuildOptions capex_musd, base × (1 ± --range). Example: --set "
    '"Markets|*|NdPr_oxide|sell|export|*:price_usd_per_t=40000:80000".'
)


def register_sensitivity(app: typer.Typer, guard) -> None:
    """Add ``sensitivity`` to ``app`` (called by :func:`register`)."""

    @app.command("sensitivity", help=(
        "Which numbers decide the strategy: for each parameter, solve at --points evenly "
        "spaced values and bisect wherever the plan (builds and opened nodes) changes, to a "
        "bracket narrower than --tol × (hi − lo). Writes the Flips and Tornado sheets "
        "(outputs/<input>_sensitivity.xlsx) and a tornado chart (.html beside it); no "
        "per-run workbooks. Solves use the workbook's mip_gap; runs go in parallel "
        "(--workers, --scheduler). Exits with the worst exit code of its runs. A plan that "
        "changes and changes back between two samples is missed. Details: "
        "docs/scenarios.md."))
    def sensitivity_cmd(
        input_path: Annotated[Path, typer.Argument(help="Input workbook (.xlsx).")],
        set_: Annotated[list[str] | None, typer.Option("--set", help=SENS_SET_HELP)] = None,
        range_: Annotated[float, typer.Option(
            "--range", help="Default parameters move from base × (1 − range) to base × "
            "(1 + range); 0 < range < 1.")] = 0.3,
        points: Annotated[int, typer.Option(
            help="Evenly spaced samples per parameter, ends included (≥ 2).")] = 5,
        tol: Annotated[float, typer.Option(
            help="Bisect until a flip's bracket is narrower than tol × (hi − lo).")] = 0.01,
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="Output workbook (default: "
            "outputs/<input>_sensitivity.xlsx); the chart goes beside it as .html.")] = None,
        workers: Annotated[int | None, typer.Option(
            help="Local worker processes; 1 = solve in this process (default: one per "
                 "CPU).")] = None,
        scheduler: Annotated[str | None, typer.Option(
            help="Address of a running Dask scheduler, tcp://host:port (its workers need "
                 "optmodel installed).")] = None,
        extra: Annotated[Path | None, typer.Option("--extra", help=EXTRA_HELP)] = None,
    ) -> None:
        def body():
            from optmodel.batch.sensitivity import default_output, run_sensitivity
            from optmodel.cli.common import command_line, err, out, read_extra
            from optmodel.errors import InputError, OptmodelError
            from optmodel.io.write import check_writable
            from optmodel.report.tornado_page import write_tornado_page

            if workers is not None and workers < 1:
                raise InputError("--workers must be ≥ 1.")
            target = output if output is not None else default_output(input_path)
            html_path = target.with_suffix(".html")
            check_writable(html_path, [input_path])
            outcome = run_sensitivity(
                input_path, list(set_ or []), rng=range_, points=points, tol=tol,
                output=target, workers=workers, scheduler=scheduler, console=err,
                extra=read_extra(extra), command_line=command_line())
            try:
                write_tornado_page(html_path, outcome.flips, outcome.tornado, outcome.meta)
                page = f" and {html_path}"
            except OptmodelError as exc:  # the workbook is written: say so and go on
                err.print(f"[yellow]Tornado page not written: {exc}[/]")
                page = ""
            flips = outcome.flips
            out.print(f"{len(outcome.tornado)} parameters, {outcome.solves} solves in "
                      f"{outcome.wall_s:.1f} s; {flips['parameter'].nunique()} parameters "
                      f"change the plan ({len(flips)} flips). Written: {outcome.path}{page}. "
                      f"Exit code {outcome.exit_code}.", highlight=False, soft_wrap=True)
            raise typer.Exit(outcome.exit_code)

        guard(body)
