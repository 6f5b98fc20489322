"""Strategy commands: ``robust``, ``alternatives`` and ``frontier`` (docs/model.md §13).

Registered by :func:`optmodel.cli.main.register_extensions`; errors end in exit
codes through the CLI's guard, progress goes to stderr (rich), results tables
to stdout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from optmodel.cli.common import EXTRA_HELP


def _consoles():
    from optmodel.cli.common import err, out

    return err, out


@contextmanager
def _progress(first: str):
    """Progress on stderr: a spinner on a terminal, timed lines otherwise (logs, CI)."""
    err, _ = _consoles()
    t0 = time.perf_counter()
    if not err.is_terminal:
        def line(msg: str) -> None:
            err.print(f"[{time.perf_counter() - t0:7.1f} s] {msg}", highlight=False,
                      markup=False)

        line(first)
        yield line
        return
    with err.status(first, spinner="dots") as status:
        def update(msg: str) -> None:
            status.update(f"{msg}  [{time.perf_counter() - t0:.0f} s]")

        yield update


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def _status_note(status: str) -> str:
    return {"time_limit": "  (time limit: feasible, not proven optimal)",
            "iteration_limit": "  (Benders stopped at its iteration limit: feasible, not "
                               "proven optimal)",
            "ph_iteration_limit": "  (progressive hedging did not converge: the rounded "
                                  "consensus plan is reported)",
            "ph_converged": "  (progressive hedging: a heuristic for MILPs, gap vs the "
                            "wait-and-see bound)"}.get(status, "")


def _print_robust(res, tables, output: Path) -> None:
    _, out = _consoles()
    s = dict(zip(tables["Summary"]["metric"], tables["Summary"]["value"], strict=True))
    t = Table(title=f"Robust plan ({res.criterion}): {output}", show_header=False)
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row("status", str(s["status"]) + _status_note(str(s["status"])))
    gap = s.get("mip_gap")  # at a time limit: how far the plan may be from the optimum
    t.add_row("mip_gap", "–" if gap is None else f"{float(gap):.4%}" if isinstance(
        gap, int | float) else str(gap))
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
        engine: Annotated[str, typer.Option(
            help="auto: benders from 3 scenarios on, ef below; ef: extensive form, one "
                 "MILP (exact); benders: Benders decomposition, one scenario's LP at a time "
                 "(exact to the MIP gap, far less memory); ph: progressive hedging with "
                 "mpi-sppy (expected criterion, a heuristic; pip install mpi-sppy).")
        ] = "auto",
        log_solver: Annotated[bool, typer.Option("--log-solver",
                                                 help="Show the HiGHS log.")] = False,
        extra: Annotated[Path | None, typer.Option("--extra", help=EXTRA_HELP)] = None,
    ) -> None:
        """Robust siting: one build/open plan for several scenarios (two-stage; Benders
        decomposition or the extensive form), with each scenario's NPV under the robust,
        own-optimal and base-case plans, VSS and EVPI."""

        def body():
            from optmodel.cli.common import command_line, default_output, read_extra
            from optmodel.strategy.robust import robust_workbook

            extra_file = read_extra(extra)
            out_path = output or default_output(input_path, "_robust")
            with _progress(f"Robust solve of {input_path.name} …") as progress:
                res, tables = robust_workbook(
                    input_path, out_path, scenarios, weights, criterion.strip().lower(),
                    mip_gap=mip_gap, time_limit=time_limit, threads=threads, tee=log_solver,
                    cross=cross, engine=engine.strip().lower(),
                    command_line=command_line(), progress=progress, extra=extra_file)
            if res is not None:  # None on MPI ranks other than 0
                _print_robust(res, tables, out_path)

        guard(body)

    @app.command("alternatives")
    def alternatives_cmd(
        input_path: Annotated[Path, typer.Argument(help="Input workbook (.xlsx).")],
        slack: Annotated[float, typer.Option(
            help="Allowed NPV loss as a fraction of |NPV*|.")] = 0.02,
        count: Annotated[int, typer.Option(help="Alternatives to find besides the "
                                                "optimum.")] = 5,
        overlap: Annotated[str, typer.Option(
            help="variable: avoid the (option, start year) choices made before; option: "
                 "avoid the options (any start year) and nodes used before.")] = "variable",
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="Results workbook [outputs/<input>_alternatives.xlsx]."
        )] = None,
        scenario: Annotated[str | None, typer.Option(help="Scenario to use.")] = None,
        time_limit: Annotated[float | None, typer.Option(
            help="Time limit (s) for each MILP solve.")] = None,
        mip_gap: Annotated[float | None, typer.Option(help="Relative MIP gap.")] = None,
        threads: Annotated[int | None, typer.Option(help="Solver threads.")] = None,
    ) -> None:
        """Near-optimal alternatives (MGA, Hop-Skip-Jump): distinct build plans whose NPV is
        within the slack of the optimum."""

        def body():
            from optmodel.cli.common import command_line, default_output
            from optmodel.strategy.alternatives import alternatives_workbook

            out_path = output or default_output(input_path, "_alternatives")
            with _progress(f"Alternatives for {input_path.name} …") as progress:
                res, tables = alternatives_workbook(
                    input_path, out_path, slack=slack, count=count,
                    overlap=overlap.strip().lower(), scenario=scenario,
                    mip_gap=mip_gap, time_limit=time_limit, threads=threads,
                    command_line=command_line(), progress=progress)
            _print_alternatives(res, tables, out_path)

        guard(body)

    @app.command("frontier")
    def frontier_cmd(
        input_path: Annotated[Path, typer.Argument(help="Input workbook (.xlsx).")],
        against: Annotated[str, typer.Option(
            help="processing_depth_index | domestic_value_added_musd | raw_export_share | "
                 "national_npv_musd.")],
        points: Annotated[int, typer.Option(help="Points on the frontier.")] = 7,
        output: Annotated[Path | None, typer.Option(
            "-o", "--output", help="Results workbook [outputs/<input>_frontier_<measure>"
                                   ".xlsx]; the chart goes next to it (.html).")] = None,
        scenario: Annotated[str | None, typer.Option(help="Scenario to use.")] = None,
        time_limit: Annotated[float | None, typer.Option(
            help="Time limit (s) for each MILP solve.")] = None,
        mip_gap: Annotated[float | None, typer.Option(help="Relative MIP gap.")] = None,
        threads: Annotated[int | None, typer.Option(help="Solver threads.")] = None,
    ) -> None:
        """Trade-off frontier: the NPV cost of pushing a second measure (epsilon-constraint),
        as a workbook and a self-contained HTML chart."""

        def body():
            from optmodel.cli.common import command_line, default_output
            from optmodel.strategy.frontier import frontier_workbook

            measure = against.strip()
            out_path = output or default_output(input_path, f"_frontier_{measure}")
            with _progress(f"Frontier of {input_path.name} against {measure} …") as progress:
                res, tables, html = frontier_workbook(
                    input_path, out_path, measure, points=points, scenario=scenario,
                    mip_gap=mip_gap, time_limit=time_limit, threads=threads,
                    command_line=command_line(), progress=progress)
            _print_frontier(res, tables, out_path, html)

        guard(body)


def _print_alternatives(res, tables, output: Path) -> None:
    err, out = _consoles()
    s = tables["Summary"].set_index("metric")
    labels = [c for c in s.columns if c != "unit"]
    t = Table(title=f"Near-optimal alternatives (slack {res.slack:g}): {output}")
    t.add_column("metric")
    for lbl in labels:
        t.add_column(lbl, justify="right")
    for metric in ("npv_musd", "npv_below_optimum_share", "capex_musd",
                   "processing_depth_index", "builds"):
        t.add_row(metric, *[_fmt(s.loc[metric, lbl], 3) for lbl in labels])
    out.print(t)
    for a in res.alternatives:
        builds = a.plan.describe()
        out.print(f"[bold]{a.label}[/]: {builds}", highlight=False)
    if res.stopped:
        err.print(f"[yellow]note[/] {res.stopped}", highlight=False)


def _print_frontier(res, tables, output: Path, html) -> None:
    err, out = _consoles()
    f = tables["Frontier"]
    t = Table(title=f"Frontier: NPV against {res.measure}: {output}")
    for c in ("point", "epsilon", res.measure, "npv_musd", "npv_cost_musd", "capex_musd"):
        t.add_column(c, justify="right")
    for r in f.to_dict("records"):
        t.add_row(str(r["point"]), _fmt(r["epsilon"], 4), _fmt(r[res.measure], 4),
                  _fmt(r["npv_musd"], 2), _fmt(r["npv_cost_musd"], 2), _fmt(r["capex_musd"], 1))
    out.print(t)
    last = None
    for r in f.to_dict("records"):  # builds, where they change along the frontier
        if r["builds"] != last:
            out.print(f"[bold]point {r['point']}[/]: {r['builds']}", highlight=False)
            last = r["builds"]
    if html is not None:
        out.print(f"Chart: {html}")
    if res.note:
        err.print(f"[yellow]note[/] {res.note}", highlight=False)
