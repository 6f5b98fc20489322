"""Strategy commands: ``robust``, ``alternatives`` and ``frontier`` (MODEL.md §5).

Registered by :func:`optmodel.cli._register_extensions`; errors end in exit
codes through the CLI's guard, progress goes to stderr (rich), results tables
to stdout.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table


def _consoles():
    from .cli import err, out

    return err, out


@contextmanager
def _progress(first: str):
    """A spinner on stderr whose text follows the run; yields the update function."""
    err, _ = _consoles()
    with err.status(first, spinner="dots") as status:
        def update(msg: str) -> None:
            status.update(msg)

        yield update


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def _status_note(status: str) -> str:
    return "  (time limit: feasible, not proven optimal)" if status == "time_limit" else ""


def _print_robust(res, tables, output: Path) -> None:
    _, out = _consoles()
    s = dict(zip(tables["Summary"]["metric"], tables["Summary"]["value"], strict=True))
    t = Table(title=f"Robust plan ({res.criterion}): {output}", show_header=False)
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row("status", str(s["status"]) + _status_note(str(s["status"])))
    for k in ("objective_musd", "expected_npv_robust_plan_musd", "expected_npv_base_plan_musd",
              "expected_npv_perfect_information_musd", "vss_musd", "evpi_musd",
              "worst_npv_robust_plan_musd", "max_regret_robust_plan_musd"):
        t.add_row(k, _fmt(s.get(k), 2))
    b = tables["Builds"]
    t.add_row("shared builds", "; ".join(f"{r.option} ×{r.units:g} ({r.year})"
                                         for r in b.itertuples()) or "none")
    out.print(t)
    sc = tables["Scenarios"]
    t2 = Table(title="NPV by scenario (MUSD)")
    for c in ("scenario", "weight", "robust plan", "own optimum", "base-case plan"):
        t2.add_column(c, justify="left" if c == "scenario" else "right")
    for r in sc.itertuples():
        t2.add_row(str(r.scenario), _fmt(r.weight, 3), _fmt(r.npv_robust_plan_musd, 2),
                   _fmt(r.npv_own_optimum_musd, 2), _fmt(r.npv_base_plan_musd, 2))
    out.print(t2)


def register(app: typer.Typer, guard: Callable) -> None:
    """Add the strategy commands to ``app``; ``guard`` maps errors to exit codes."""

    @app.command("robust")
    def robust_cmd(
        input_path: Annotated[Path, typer.Argument(help="Input workbook (.xlsx).")],
        scenarios: Annotated[str, typer.Option(
            help="Comma-separated scenario names from the Scenarios sheet ('base' = no "
                 "change).")],
        weights: Annotated[str | None, typer.Option(
            help="Comma-separated weights, one per scenario (normalised to sum 1) "
                 "[equal].")] = None,
        criterion: Annotated[str, typer.Option(
            help="expected (max Σ w·NPV), worst (max min NPV) or regret (min max regret).")
        ] = "expected",
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="Results workbook [outputs/<input>_robust.xlsx].")] = None,
        time_limit: Annotated[float | None, typer.Option(
            help="Time limit (s) for each MILP solve.")] = None,
        mip_gap: Annotated[float | None, typer.Option(help="Relative MIP gap.")] = None,
        threads: Annotated[int | None, typer.Option(help="Solver threads.")] = None,
        cross: Annotated[bool | None, typer.Option(
            "--cross/--no-cross", help="Evaluate every scenario's optimal plan in every "
                                       "scenario [on for up to 10 scenarios].")] = None,
        log_solver: Annotated[bool, typer.Option("--log-solver",
                                                 help="Show the HiGHS log.")] = False,
    ) -> None:
        """Robust siting: one build/open plan for several scenarios (two-stage extensive
        form), with each scenario's NPV under the robust, own-optimal and base-case plans,
        VSS and EVPI."""

        def body():
            from .cli import _command_line, _default_output
            from .robust import robust_workbook

            out_path = output or _default_output(input_path, "_robust")
            with _progress(f"Robust solve of {input_path.name} …") as progress:
                res, tables = robust_workbook(
                    input_path, out_path, scenarios, weights, criterion.strip().lower(),
                    mip_gap=mip_gap, time_limit=time_limit, threads=threads, tee=log_solver,
                    cross=cross, command_line=_command_line(), progress=progress)
            _print_robust(res, tables, out_path)

        guard(body)
