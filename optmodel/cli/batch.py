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
