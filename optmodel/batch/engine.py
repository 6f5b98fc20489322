"""Batches of runs — every named scenario, or a parameter sweep — solved in parallel.

A batch is a list of runs; each run is a scenario: a name and a list of
:class:`~optmodel.input.scenarios.Override` applied to the input rows, validated
again, then solved.  Runs are cut into chunks; each chunk is one task that
solves its runs one after another the way a single ``solve`` does
(:func:`optmodel.pipeline.solve_tables`); a worker reads the input once and
shares the validated sheets and plant data that a run leaves unchanged.  Tasks run

- in this process when one worker is asked for (no cluster is started);
- on an embedded Dask ``LocalCluster`` (``n_workers`` processes, one thread
  each) by default;
- on an existing Dask cluster given as ``tcp://host:port``: the input workbook
  travels with the tasks and the results come back here to be written.

Every run writes its own results workbook (or fails alone: an input error,
an infeasible model, a solver failure); the batch workbook (one row per run,
and for sweeps a Response sheet per parameter) is always written, and the
batch ends with the worst exit code of its runs (docs/model.md §11.4, §13).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import gc
import logging
import os
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optmodel import __version__
from optmodel.batch.cache import CoreCache, SheetCache
from optmodel.errors import (
    EXIT_INFEASIBLE,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_NO_SOLUTION,
    EXIT_OK,
    EXIT_OUTPUT,
    InfeasibleError,
    InputError,
    Interrupted,
    Issue,
    OptmodelError,
    OutputError,
    SolverError,
)
from optmodel.input.scenarios import Override, apply_overrides, overrides_for, scenario_names
from optmodel.input.tables import Tables
from optmodel.input.validate import validate_raw
from optmodel.io.read import RawSheet, read_raw
from optmodel.io.write import SheetSpec, check_writable, write_workbook
from optmodel.model.extra_file import ExtraFile, load_function
from optmodel.solver.options import WarmStart

log = logging.getLogger(__name__)

KPIS = ("npv_musd", "processing_depth_index", "raw_export_share", "domestic_value_added_musd",
        "national_npv_musd", "fiscal_net_musd", "pv_fiscal_net_musd")
BASE_RUN = "base"  # the run every other is measured against (Against base sheet)
# the policy comparison of each run against the base run: column → (Runs KPI, definition)
AGAINST_BASE = {
    "d_chain_npv_musd": ("npv_musd", "Δ chain NPV: the run's npv_musd − the base run's (MUSD, "
                         "discounted)."),
    "d_national_npv_musd": ("national_npv_musd", "Δ national NPV: the run's national_npv_musd "
                            "− the base run's (MUSD, discounted; the plan valued with every "
                            "transfer to or from the budget taken out)."),
    "d_fiscal_balance_musd": ("pv_fiscal_net_musd", "Δ fiscal balance: the run's "
                              "pv_fiscal_net_musd − the base run's (MUSD, discounted; + = the "
                              "budget gains). Δ chain NPV + Δ fiscal balance = Δ national NPV."),
    "d_processing_depth": ("processing_depth_index", "Δ processing depth: the run's "
                           "processing_depth_index − the base run's (stages)."),
    "d_domestic_value_added_musd": ("domestic_value_added_musd", "Δ domestic value added: the "
                                    "run's domestic_value_added_musd − the base run's (MUSD, "
                                    "undiscounted)."),
}
FISCAL_COST_NOTE = (
    "Fiscal cost per unit of depth gained = −Δ fiscal balance ÷ Δ processing depth (MUSD of "
    "present-value budget cost per stage of REO-weighted processing depth); blank when the "
    "depth does not change (|Δ| ≤ 1e-9) or a figure is missing. Negative when the budget "
    "gains while depth rises, or loses while depth falls.")
_STATUS = {EXIT_INFEASIBLE: "infeasible", EXIT_INPUT: "input error",
           EXIT_NO_SOLUTION: "no solution", EXIT_OUTPUT: "not written"}


# ------------------------------------------------------------------- records


@dataclass
class RunSpec:
    """One run of a batch: a scenario name, its overrides, where its results go."""

    name: str
    overrides: list[Override] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    output: str | None = None
    # runs with the same ``line`` lie along one parameter, in this order: they are solved
    # in the order of LineOrder, each middle run proved from its neighbours where it can be
    line: str | None = None


@dataclass
class RunResult:
    """What one run gave (its result tables only when they must travel back)."""

    name: str
    params: dict[str, Any]
    exit_code: int
    status: str
    message: str = ""
    kpis: dict[str, Any] = field(default_factory=dict)
    builds: str = ""
    time_s: float = 0.0
    model: str = ""  # COLD or STRUCTURE: whether the plant data came from the batch memo
    output: str | None = None
    written: bool = False
    tables: dict[str, pd.DataFrame] | None = None
    diagnosis: Any = None  # an infeasible run's Diagnosis, when it must travel back
    plan: Any = None  # the solution's build/open Plan (optmodel.strategy.robust), BatchJob.plans
    point: Any = None  # the run as a LinePoint for its sweep neighbours (kept on the worker)
    warm: str = ""  # how the solve used its neighbours (SolveOutcome.warm)


@dataclass(frozen=True)
class BatchJob:
    """Everything a worker needs besides its runs (sent once to every worker)."""

    input_path: str
    input_name: str
    input_sha256: str
    input_bytes: bytes | None = None  # for workers that do not share this file system
    mip_gap: float | None = None
    time_limit: float | None = None
    threads: int | None = None
    report: bool = False
    write: bool = True  # workers write the results workbooks themselves
    command_line: str = ""
    extra: ExtraFile | None = None  # a user's --extra file (its text travels to workers)
    plans: bool = False  # each run also returns its build/open Plan (RunResult.plan)


@dataclass
class BatchOutcome:
    """A finished batch: its runs in order, the batch workbook and the exit code."""

    results: list[RunResult]
    batch_path: Path
    exit_code: int
    wall_s: float


# ------------------------------------------------------------ worker side

COLD = "built"
STRUCTURE = "structure re-used"  # plant core and its families shared with an earlier run

_STATE: dict[tuple[str, str], tuple[Path, dict[str, RawSheet], SheetCache, CoreCache]] = {}
# the last solved run's solution by keys (per input), the warm start of the worker's next run
_STARTS: dict[str, WarmStart] = {}


def _worker_state(job: BatchJob) -> tuple[Path, dict[str, RawSheet], SheetCache, CoreCache]:
    """The input (read once per worker process), and the caches of validated sheets and
    plant cores by content (:mod:`optmodel.batch.cache`)."""
    key = (job.input_path, job.input_sha256)
    if key not in _STATE:
        from optmodel.pipeline import file_sha256

        path = Path(job.input_path)
        if job.input_bytes is not None and not (path.is_file()
                                                and file_sha256(path) == job.input_sha256):
            folder = Path(tempfile.gettempdir()) / f"optmodel-batch-{job.input_sha256[:16]}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / job.input_name
            if not path.is_file():
                path.write_bytes(job.input_bytes)
        # a run is itself a scenario: the base run validated the Scenarios sheet, and dry-
        # running every scenario again for each run would cost more than the run's checks
        raw = {k: v for k, v in read_raw(path).items() if k.strip().lower() != "scenarios"}
        _STATE.clear()  # one input at a time per process
        _STATE[key] = (path, raw, SheetCache(), CoreCache())
    return _STATE[key]


def _validated(raw: dict[str, RawSheet], run: RunSpec, cache: SheetCache | None = None
               ) -> tuple[Tables, dict[str, RawSheet]]:
    """The run's validated tables, and its sheets with the overrides applied."""
    if run.overrides:
        raw = apply_overrides(raw, run.overrides, run.name)
    tables, issues = validate_raw(raw, cache=cache)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        prefix = f"after applying scenario {run.name}: " if run.overrides else ""
        raise InputError([Issue(i.sheet, i.row, i.column, i.value, prefix + i.message)
                          for i in errors])
    tables.warnings = [i for i in issues if i.severity != "error"]
    return tables, raw


def _builds_text(builds: pd.DataFrame) -> str:
    if not len(builds):
        return "none"
    return "; ".join(f"{r.option} ×{r.units:g} ({r.year})" for r in builds.itertuples())


def _override_text(o: Override) -> str:
    change = f"×{o.factor:g}" if o.factor is not None else f"={o.value}"
    return f"{o.sheet}|{o.selector}:{o.column}{change}"


def _write_outputs(path: Path, tables: dict[str, pd.DataFrame], report: bool,
                   inputs: Iterable[Path], diagnosis=None) -> None:
    """A run's results workbook (and report) — or, given ``diagnosis``, the diagnosis
    workbook of an infeasible run (its Run and Warnings sheets from ``tables``)."""
    from optmodel.pipeline import _write_report
    from optmodel.results.tables import write_results

    check_writable(path, inputs)
    if diagnosis is not None:
        from optmodel.solver.diagnose import write_diagnosis_workbook

        write_diagnosis_workbook(path, diagnosis, tables["Run"], tables.get("Warnings"))
        return
    write_results(path, tables)
    if report:
        _write_report(path, shared_plotly=True)  # one plotly.min.js for the batch's pages


def _solve_one(job: BatchJob, path: Path, raw: dict[str, RawSheet], run: RunSpec,
               sheets: SheetCache | None = None, cores: CoreCache | None = None,
               bracket: tuple | None = None) -> RunResult:
    from optmodel.pipeline import add_context_sheets, run_table, solve_options, solve_tables

    start = _dt.datetime.now(_dt.UTC)
    t0 = time.perf_counter()
    times: dict[str, float] = {}
    res = RunResult(run.name, dict(run.params), EXIT_OK, "", output=run.output)
    try:
        t = time.perf_counter()
        tables, run_raw = _validated(raw, run, sheets)
        times["validate"] = time.perf_counter() - t
        opts = solve_options(tables.settings, job.mip_gap, job.time_limit, job.threads,
                             extra=job.extra)
        if job.plans:  # a plan needs no shadow prices (the LP re-solve for duals)
            opts = dataclasses.replace(opts, duals=False)
        prepared, shared = None, False
        if cores is not None:  # the single-solve path, the plant core shared by content
            t = time.perf_counter()
            data, bm, shared = cores.model(run_raw, tables)
            times["prepare"] = time.perf_counter() - t
            prepared = (data, bm)
        # warm start: this worker's previous run (matched by keys; see solver.solve)
        opts = dataclasses.replace(opts, start=_STARTS.get(job.input_sha256, WarmStart()))
        if run.line is not None:  # along one parameter (LineOrder): proof by neighbours
            opts = dataclasses.replace(opts, bracket=bracket, line_point=run.name)
        data, _bm, sol, result = solve_tables(tables, opts, times, prepared=prepared)
        res.point, res.warm = sol.point, sol.warm
        if sol.start is not None:
            _STARTS.clear()  # one input at a time per process, as _STATE
            _STARTS[job.input_sha256] = sol.start
        res.model = STRUCTURE if shared else COLD
        add_context_sheets(result, data, tables)  # as pipeline.solve_workbook does
        summary = dict(zip(result["Summary"]["metric"], result["Summary"]["value"], strict=True))
        res.status = str(summary.get("status"))
        res.kpis = {k: summary.get(k) for k in KPIS}
        res.builds = _builds_text(result["Builds"])
        if job.plans:
            from optmodel.strategy.robust import plan_from_values

            res.plan = plan_from_values(_bm, sol.values)
        if res.status == "time_limit":
            res.message = "time limit: feasible, not proven optimal"
        times["total"] = time.perf_counter() - t0
        run_sheet = run_table(path, run.name, opts, sol, times, start, tables, job.command_line)
        extra = [("model", res.model)] + ([("warm_start", sol.warm)] if sol.warm else []) + [
            ("override", _override_text(o)) for o in run.overrides]
        result["Run"] = pd.concat([run_sheet, pd.DataFrame(extra, columns=["key", "value"])],
                                  ignore_index=True)
        if run.output is not None:
            if job.write:
                _write_outputs(Path(run.output), result, job.report, [path])
                res.written = True
            else:
                res.tables = result
    except InfeasibleError as exc:
        res.exit_code, res.status, res.message = exc.exit_code, "infeasible", _message(exc)
        diag = getattr(exc, "diagnosis", None)
        if diag is not None and run.output is not None:
            _diagnosis_files(job, path, run, res, diag, opts, times, start, tables)
    except OptmodelError as exc:
        res.exit_code = exc.exit_code
        res.status = res.status if exc.exit_code == EXIT_OUTPUT and res.status else _STATUS.get(
            exc.exit_code, "failed")
        res.message = _message(exc)
    except Exception as exc:  # one run's surprise never stops the batch
        log.debug("run %s failed", run.name, exc_info=True)
        res.exit_code, res.status = EXIT_NO_SOLUTION, "failed"
        res.message = f"unexpected error ({type(exc).__name__}): {exc}"
    res.time_s = round(time.perf_counter() - t0, 3)
    return res


def _diagnosis_files(job: BatchJob, path: Path, run: RunSpec, res: RunResult, diag,
                     opts, times: dict[str, float], start, tables: Tables) -> None:
    """Write (or send back) the diagnosis workbook of an infeasible run, as ``solve`` does."""
    from optmodel.pipeline import diagnosis_sheets

    sheets = diagnosis_sheets(path, run.name, opts, times, start, tables, job.command_line)
    if not job.write:
        res.tables, res.diagnosis = sheets, diag
        return
    try:
        _write_outputs(Path(run.output), sheets, False, [path], diagnosis=diag)
        res.written = True
        res.message += f" Diagnosis written to {Path(run.output).name}."
    except OptmodelError as exc:
        res.message += f" (diagnosis not written: {exc})"


def _message(exc: OptmodelError) -> str:
    if isinstance(exc, InputError):
        errs = [i for i in exc.issues if i.severity == "error"]
        text = "; ".join(str(i) for i in errs[:5])
        return text + (f"; … {len(errs) - 5} more" if len(errs) > 5 else "")
    return str(exc)


def solve_chunk(job: BatchJob, runs: list[RunSpec]) -> list[RunResult]:
    """Solve ``runs`` one after another (one Dask task)."""
    path, raw, sheets, cores = _worker_state(job)
    return [_solve_one(job, path, raw, run, sheets, cores) for run in runs]


def solve_run(job: BatchJob, run: RunSpec, bracket: tuple | None = None
              ) -> list[RunResult]:
    """Solve one run of a one-parameter sweep (one Dask task); ``bracket``: its two solved
    neighbours' :class:`~optmodel.solver.options.LinePoint`, from which it may be proved
    (:func:`optmodel.solver.solve.prove_between`).  The result carries the run's own
    point (``RunResult.point``) for the runs between it and its neighbours."""
    path, raw, sheets, cores = _worker_state(job)
    return [_solve_one(job, path, raw, run, sheets, cores, bracket)]


class LineOrder:
    """The order in which the runs of a one-parameter sweep are solved: both ends first,
    then the middle run of each stretch between two solved runs (bisection), so that every
    middle run has two solved neighbours, one each side, to be proved from.  Where the
    two have the same integer plan and the run differs from them only in its objective,
    lying between theirs, that plan is proved optimal by one LP (the optimum is convex in
    the objective); otherwise the run is solved as a MIP.

    When the LP tree proved both ends (``LinePoint.by_tree``), every other run is handed
    out at once, in order, without neighbours to be proved from: each then costs a few
    LPs on its worker's previous run (optmodel.solver.tree), and bisection would only
    leave workers waiting for the runs it depends on (docs/scenarios.md)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.points: dict[int, Any] = {}
        self.waiting = [(0, n - 1)] if n > 2 else []
        self.given: set[int] = set()

    def first(self) -> list[int]:
        """The runs to solve first: the two ends."""
        ends = sorted({0, self.n - 1}) if self.n else []
        self.given.update(ends)
        return ends

    def finished(self, i: int, point: Any) -> list[tuple[int, tuple | None]]:
        """Record run ``i`` (its LinePoint, or None when it failed); return the runs that
        can now be solved, each with its bracket (None unless both neighbours have a
        point)."""
        self.points[i] = point
        ends = [self.points.get(k) for k in (0, self.n - 1)]
        if self.waiting and all(getattr(p, "by_tree", False) for p in ends):
            rest = [m for m in range(self.n) if m not in self.given]
            self.waiting = []
            self.given.update(rest)
            return [(m, None) for m in rest]
        ready, waiting = [], []
        for a, b in self.waiting:
            if a in self.points and b in self.points:
                m = (a + b) // 2
                ends = (self.points[a], self.points[b])
                ready.append((m, ends if None not in ends else None))
                waiting += [(x, y) for x, y in ((a, m), (m, b)) if y - x >= 2]
            else:
                waiting.append((a, b))
        self.waiting = waiting
        self.given.update(m for m, _ in ready)
        return ready


# ------------------------------------------------------------ client side


def default_workers(n_runs: int) -> int:
    """Processes for a batch: one (no cluster) for a handful of runs, else one per CPU."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    return 1 if n_runs < 4 else max(1, min(cpus, n_runs))


def _failed(run: RunSpec, exc: BaseException) -> RunResult:
    return RunResult(run.name, dict(run.params), EXIT_NO_SOLUTION, "failed",
                     f"worker failed ({type(exc).__name__}): {exc}", output=run.output)


# modules every run needs: imported before the worker processes are forked, so they
# start with them loaded instead of each importing them again
_WORKER_MODULES = ("highspy", "optmodel.pipeline", "optmodel.results.tables", "optmodel.model.data",
                   "optmodel.model.build", "optmodel.solver.highs", "optmodel.solver.diagnose",
                   "optmodel.io.write")


def worker_start_method() -> str:
    """How the embedded LocalCluster starts its worker processes.

    ``OPTMODEL_WORKER_START`` (spawn, fork or forkserver) decides when set; else a
    method configured for Dask (``distributed.worker.multiprocessing-method``)
    other than its default ``spawn``; else ``fork`` on Linux — a forked worker
    starts in about 0.05 s with the solver modules already imported, a spawned one
    imports them again (about 1 s each) — and ``spawn`` elsewhere (macOS and
    Windows cannot fork safely) or once this process has run a solve.
    """
    import dask

    env = os.environ.get("OPTMODEL_WORKER_START", "").strip().lower()
    if env in ("spawn", "fork", "forkserver"):
        return env
    configured = dask.config.get("distributed.worker.multiprocessing-method", "spawn")
    if configured != "spawn":
        return configured
    from optmodel.solver.options import solver_has_run

    if solver_has_run():  # HiGHS's threads would not survive a fork (Python API use)
        return "spawn"
    return "fork" if sys.platform.startswith("linux") else "spawn"


@contextlib.contextmanager
def _workers_ignore_ctrl_c():
    """Processes started inside ignore SIGINT: Ctrl-C in a terminal reaches the whole
    process group, and only this process should act on it (it records what finished,
    writes the batch workbook and closes the cluster) — workers would print tracebacks."""
    import signal

    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals are not ours to change
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _dask_client(workers: int, scheduler: str | None, warm: Callable[[], Any] | None = None):
    """A Dask client and its worker count: the cluster at ``scheduler`` or a LocalCluster.

    Yields (None, 1) when the work should stay in this process: one worker asked
    for, or worker processes that cannot start.  ``warm`` runs here before the
    workers are forked (when they are): what it caches, they inherit.
    """
    if scheduler is None and workers <= 1:
        yield None, 1
        return
    import importlib

    import dask
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise SolverError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    else:
        method = worker_start_method()
        if method == "fork":
            for name in _WORKER_MODULES:
                importlib.import_module(name)
            from optmodel.solver.options import new_highs

            new_highs()  # HiGHS's banner, once here rather than once per forked worker
            if warm is not None:
                warm()  # state the forked workers inherit instead of making it again
            # objects made so far are never collected by the workers' garbage collector:
            # its first full pass would otherwise walk (and copy) the whole inherited heap
            gc.freeze()
        if not log.isEnabledFor(logging.INFO):  # Dask's own log lines only with --verbose
            logging.getLogger("distributed").setLevel(logging.ERROR)
        try:  # a random free port for the status page: other clusters may hold 8787
            with dask.config.set({"distributed.worker.multiprocessing-method": method}), \
                    _workers_ignore_ctrl_c():
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=True, dashboard_address=":0",
                                       silence_logs=logging.CRITICAL)
        except Exception as exc:  # e.g. a script without `if __name__ == "__main__":`
            log.warning("could not start %d Dask worker processes (%s); solving in this "
                        "process", workers, exc)
            gc.unfreeze()
            yield None, 1
            return
        client = Client(cluster)
        n_workers = workers
    try:
        yield client, n_workers
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        gc.unfreeze()


def _execute(job: BatchJob, runs: list[RunSpec], client,
             done: Callable[[list[RunResult]], None], results: dict[str, RunResult]
             ) -> list[RunResult]:
    """Solve every run in this process (``client`` None) or on Dask; call ``done`` as
    results arrive and keep them in ``results`` (what is finished when Ctrl-C comes).

    The runs of each line (``RunSpec.line``: runs along one parameter) go in the order of
    :class:`LineOrder`, each with its two solved neighbours; other runs at once."""
    lines: dict[str, list[RunSpec]] = {}
    for r in runs:
        if r.line is not None:
            lines.setdefault(r.line, []).append(r)
    orders = {key: LineOrder(len(rs)) for key, rs in lines.items()}
    pos = {r.name: (key, i) for key, rs in lines.items() for i, r in enumerate(rs)}
    first = [(r, None) for r in runs if r.name not in pos] + [
        (lines[key][i], None) for key, order in orders.items() for i in order.first()]

    def follow(res: list[RunResult]) -> list[tuple[RunSpec, tuple | None]]:
        """Record ``res`` and return the runs they let start (the points stay here)."""
        ready = []
        for r in res:
            point, r.point = r.point, None
            results[r.name] = r
            if r.name in pos:
                key, i = pos[r.name]
                ready += [(lines[key][m], b) for m, b in orders[key].finished(i, point)]
        return ready

    def task(run: RunSpec, bracket: tuple | None) -> tuple[Callable, tuple]:
        """The worker function for ``run`` and its arguments after the job."""
        return (solve_run, (run, bracket)) if run.name in pos else (solve_chunk, ([run],))

    if client is None:
        queue = deque(first)
        while queue:
            run, bracket = queue.popleft()
            try:
                fn, args = task(run, bracket)
                res = fn(job, *args)
            except Exception as exc:  # the input cannot be read again: fail the run, go on
                res = [_failed(run, exc)]
            queue.extend(follow(res))
            done(res)
        return [results[r.name] for r in runs]

    from dask.distributed import as_completed

    # a key of its own (hash=False): a session's next round must not share the key of the
    # previous round's copy, which Dask may still be releasing ("lost dependencies")
    job_f = client.scatter(job, broadcast=True, hash=False)
    # one task per run: a worker keeps its input, validated sheets and models between
    # tasks, so this costs Dask's few milliseconds per task; the workers stay evenly busy
    # to the end, and every finished run is recorded as soon as it is done (Ctrl-C)
    futures: dict = {}
    pending = as_completed()
    # at most two runs per worker in flight, the rest kept here in order: the workers stay
    # busy, a worker's next run is the next in line (a chain of warm starts), and Ctrl-C
    # has a handful of tasks to cancel rather than hundreds (whose cancellation made the
    # scheduler print tracebacks at shutdown)
    waiting = deque(first)
    limit = 2 * max(1, len(client.scheduler_info().get("workers", {})))

    def submit_ready() -> None:
        while waiting and pending.count() < limit:
            run, bracket = waiting.popleft()
            fn, args = task(run, bracket)
            fut = client.submit(fn, job_f, *args, pure=False)
            futures[fut] = [run]
            pending.add(fut)

    submit_ready()
    try:
        for fut in pending:
            try:
                res = fut.result()
            except Exception as exc:  # a lost worker fails its run, not the batch
                res = [_failed(run, exc) for run in futures[fut]]
            for r in res:
                if r.tables is not None and r.output is not None:
                    try:
                        _write_outputs(Path(r.output), r.tables, job.report,
                                       [Path(job.input_path)], r.diagnosis)
                        r.written = True
                    except OptmodelError as exc:
                        if r.diagnosis is None:
                            r.exit_code, r.message = exc.exit_code, _message(exc)
                    r.tables = r.diagnosis = None
            waiting.extend(follow(res))
            submit_ready()
            done(res)
    except KeyboardInterrupt:  # queued runs are dropped; running ones may still finish
        client.cancel(list(futures))
        raise
    return [results[r.name] for r in runs]


@contextlib.contextmanager
def plan_session(input_path: Path | str, *, workers: int = 1, scheduler: str | None = None,
                 mip_gap: float | None = None, time_limit: float | None = None,
                 threads: int | None = None, console=None,
                 description: str = "Solving", extra: ExtraFile | None = None):
    """Worker processes kept for several rounds of runs that return plans, not files.

    Yields ``solve(runs) -> list[RunResult]`` (in the order of ``runs``), which can be
    called again and again while the pool stays up: each result carries its status,
    exit code, KPIs (``npv_musd`` …) and build/open ``plan``; no workbook is written.
    Run names must be unique over the whole session.  Progress goes to ``console``
    (stderr by default), its total growing with each round.  Ctrl-C propagates.
    ``extra``: a user's extra-constraints file, part of every run's model.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from optmodel.pipeline import file_sha256

    input_path = Path(input_path)
    if extra is not None:
        load_function(extra)  # a broken file stops the session before any run (exit 2)
    job = BatchJob(str(input_path.resolve()), input_path.name, file_sha256(input_path),
                   input_path.read_bytes() if scheduler else None, mip_gap, time_limit,
                   threads, False, write=False, plans=True, extra=extra)
    console = console if console is not None else Console(stderr=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[failed]}"), TimeElapsedColumn())
    finished: dict[str, RunResult] = {}
    with _dask_client(max(1, int(workers)), scheduler, lambda: _worker_state(job)) as (
            client, n_workers), Progress(*columns, console=console, transient=False) as progress:
        where = scheduler or (f"{n_workers} local processes" if client else "this process")
        task = progress.add_task(f"{description} on {where}", total=0, failed="")
        failed = total = 0

        def done(res: list[RunResult]) -> None:
            nonlocal failed
            failed += sum(r.exit_code != EXIT_OK for r in res)
            progress.update(task, advance=len(res),
                            failed=f"[red]{failed} failed[/]" if failed else "")

        def solve(runs: list[RunSpec]) -> list[RunResult]:
            nonlocal total
            total += len(runs)
            progress.update(task, total=total)
            return _execute(job, runs, client, done, finished)

        yield solve


def run_batch(input_path: Path | str, runs: list[RunSpec], batch_path: Path | str, *,
              params: list | None = None, workers: int | None = None,
              scheduler: str | None = None, mip_gap: float | None = None,
              time_limit: float | None = None, threads: int | None = None,
              report: bool = False, console=None,
              command_line: str | None = None, info: dict[str, Any] | None = None,
              page: bool = False, grid: bool = True,
              extra: ExtraFile | None = None) -> BatchOutcome:
    """Solve ``runs`` of ``input_path`` and write every workbook; never stops at a failed run.

    ``params`` are the swept :class:`~optmodel.batch.sweep.SweepParam` (their labels are
    keys of each run's ``params``); ``workers`` local processes (1 = this
    process) unless ``scheduler`` names a Dask cluster; every run is solved as a single
    ``solve`` does.  ``extra``: a user's extra-constraints file, part of every run's model
    (its text travels with the job to the workers).
    ``page`` also writes the batch page (``batch_path`` with .html: KPI response per
    parameter, or KPIs by scenario; ``grid`` False draws samples as clouds).
    Returns the runs' results and the worst
    exit code; raises only for a batch workbook that cannot be written.
    """
    from optmodel.pipeline import file_sha256

    t0 = time.perf_counter()
    start = _dt.datetime.now(_dt.UTC)
    input_path, batch_path = Path(input_path), Path(batch_path)
    check_writable(batch_path, [input_path])
    workers = default_workers(len(runs)) if workers is None else max(1, int(workers))
    sha = file_sha256(input_path)
    if extra is not None:
        load_function(extra)  # a broken file stops the batch before any run (exit 2)
    job = BatchJob(str(input_path.resolve()), input_path.name, sha,
                   input_path.read_bytes() if scheduler else None, mip_gap, time_limit,
                   threads, report, write=scheduler is None,
                   command_line=command_line if command_line is not None else " ".join(
                       [Path(sys.argv[0]).name] + sys.argv[1:]), extra=extra)
    finished: dict[str, RunResult] = {}
    interrupted = False
    try:
        _with_progress(job, runs, workers, scheduler, console, finished)
    except KeyboardInterrupt:  # keep what is done: its files and a batch workbook
        interrupted = True
    results = [finished.get(r.name) or RunResult(
        r.name, dict(r.params), EXIT_INTERRUPTED, "interrupted",
        "not solved: the batch was interrupted", output=r.output) for r in runs]
    wall = time.perf_counter() - t0
    code = max([r.exit_code for r in results], default=EXIT_OK)
    meta = {"input_file": input_path.name, "input_sha256": sha, "runs": len(results),
            "solved": sum(r.exit_code == EXIT_OK for r in results),
            "failed": sum(r.exit_code != EXIT_OK for r in results),
            "worst_exit_code": code,
            "model_reuse": (
                "structure: unchanged sheets, plant data and plant constraint families "
                "shared; each run's model handed to HiGHS afresh"),
            **({"sweep_order": "both ends, then each middle run between two solved ones; "
                                "proved by one LP where both have the same plan"}
               if any(r.line is not None for r in runs) else {}),
            "runs_proved_by_neighbours": sum(r.warm.startswith("proved") for r in results),
            "models_built": sum(r.model == COLD for r in results),
            "structures_re_used": sum(r.model == STRUCTURE for r in results),
            "workers": workers if scheduler is None else "cluster",
            "scheduler": scheduler or ("embedded LocalCluster" if workers > 1
                                       else "this process"),
            "mip_gap": mip_gap if mip_gap is not None else "from Settings",
            "time_limit_s": time_limit if time_limit is not None else "from Settings",
            "package_version": __version__,
            "start_time_utc": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "wall_time_s": round(wall, 3), **(info or {}),
            **({"extra_file": extra.name, "extra_sha256": extra.sha256} if extra else {}),
            "command_line": job.command_line}
    if interrupted:
        meta["interrupted"] = f"yes, after {len(finished)} of {len(runs)} runs (Ctrl-C)"
    changes = {r.name: "; ".join(_override_text(o) for o in r.overrides)
               for r in runs} if not params else None
    table = write_batch(batch_path, results, params or [], meta, changes=changes)
    if page:
        from optmodel.report.batch_page import write_batch_page

        html_path = batch_path.with_suffix(".html")
        try:
            check_writable(html_path, [input_path])
            labels = [p.label for p in params or []]
            write_batch_page(html_path, table, labels, meta, grid,
                             against_base(table, labels), against_base_notes())
        except OptmodelError as exc:  # the workbooks are written: say so and go on
            log.warning("batch page not written: %s", exc)
    outcome = BatchOutcome(results, batch_path, code, wall)
    if interrupted:
        raise Interrupted(f"Interrupted after {len(finished)} of {len(runs)} runs: their "
                          f"files and {batch_path} (the other runs marked interrupted) "
                          "were written; a run that was solving when Ctrl-C came may "
                          "have written its workbook too.")
    if console is not None:
        print_batch(outcome, console)
    return outcome


def _with_progress(job: BatchJob, runs: list[RunSpec], workers: int, scheduler: str | None,
                   console, results: dict[str, RunResult]) -> list[RunResult]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = console if console is not None else Console(stderr=True)
    # the cluster starts before the progress bar: no refresh thread runs while forking
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[failed]}"), TimeElapsedColumn(), TimeRemainingColumn())
    with _dask_client(workers, scheduler, lambda: _worker_state(job)) as (
            client, n_workers), Progress(
            *columns, console=console, transient=False) as progress:
        where = scheduler or (f"{n_workers} local processes" if client else "this process")
        task = progress.add_task(f"Solving {len(runs)} runs on {where}", total=len(runs),
                                 failed="")
        failed = 0

        def done(res: list[RunResult]) -> None:
            nonlocal failed
            failed += sum(r.exit_code != EXIT_OK for r in res)
            progress.update(task, advance=len(res),
                            failed=f"[red]{failed} failed[/]" if failed else "")

        return _execute(job, runs, client, done, results)


# ------------------------------------------------------------ batch workbook


def runs_table(results: list[RunResult], labels: list[str],
               changes: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per run: scenario, parameters, status, exit code, message, KPIs, builds, time."""
    rows = []
    for r in results:
        row: dict[str, Any] = {"scenario": r.name}
        row.update({k: r.params.get(k) for k in labels})
        if changes is not None:
            row["changes"] = changes.get(r.name, "")
        row.update(status=r.status, exit_code=r.exit_code, message=r.message)
        row.update({k: r.kpis.get(k) for k in KPIS})
        row.update(builds=r.builds, time_s=r.time_s, model=r.model,
                   output=Path(r.output).name if r.output and r.written else "")
        rows.append(row)
    cols = (["scenario", *labels] + (["changes"] if changes is not None else [])
            + ["status", "exit_code", "message", *KPIS, "builds", "time_s", "model", "output"])
    return pd.DataFrame(rows, columns=cols)


def response_table(runs: pd.DataFrame, label: str) -> pd.DataFrame:
    """Parameter value → KPIs over the solved runs (mean, min and max when a value repeats)."""
    solved = runs[runs["exit_code"] == EXIT_OK]
    count = runs.groupby(label, sort=True).size().rename("runs")
    ok = solved.groupby(label, sort=True).size().rename("solved")
    head = pd.concat([count, ok], axis=1).fillna({"solved": 0}).astype({"solved": int})
    kp = solved[[label, *KPIS]].apply(
        lambda c: pd.to_numeric(c, errors="coerce") if c.name != label else c)
    if int(count.max() if len(count) else 1) <= 1:
        body = kp.set_index(label)
    else:
        g = kp.groupby(label, sort=True)
        body = pd.concat({f"{k}_{s}": getattr(g[k], s)() for k in KPIS
                          for s in ("mean", "min", "max")}, axis=1)
    return head.join(body, how="left").reset_index().rename(columns={"index": label})


def against_base_notes() -> dict[str, str]:
    """Column → definition of the Against base columns (header comments, page notes)."""
    return {**{c: d for c, (_, d) in AGAINST_BASE.items()},
            "fiscal_cost_per_depth_musd": FISCAL_COST_NOTE}


def against_base(runs: pd.DataFrame, labels: list[str]) -> pd.DataFrame | None:
    """Each solved run against the solved run named ``base``: the Δ columns of
    :data:`AGAINST_BASE` and the fiscal cost per unit of depth gained
    (:data:`FISCAL_COST_NOTE`).  None when there is no solved base run."""
    ok = runs[runs["exit_code"] == EXIT_OK]
    base = ok[ok["scenario"] == BASE_RUN]
    if base.empty:
        return None
    b = base.iloc[0]
    out = ok[["scenario", *labels]].copy().reset_index(drop=True)
    for col, (kpi, _) in AGAINST_BASE.items():
        out[col] = (pd.to_numeric(ok[kpi], errors="coerce").to_numpy()
                    - pd.to_numeric(pd.Series([b[kpi]]), errors="coerce").iloc[0])
    depth = out["d_processing_depth"]
    moved = depth.abs() > 1e-9
    out["fiscal_cost_per_depth_musd"] = (-out["d_fiscal_balance_musd"]
                                         / depth.where(moved)).where(moved)
    return out


def write_batch(path: Path, results: list[RunResult], params: list, meta: dict[str, Any],
                changes: dict[str, str] | None = None) -> pd.DataFrame:
    """The batch workbook: Runs, one Response sheet per swept parameter, Parameters, Batch.

    Returns the Runs table (the batch page is drawn from it)."""
    labels = [p.label for p in params]
    runs = runs_table(results, labels, changes)
    fmt = {k: "#,##0.000" for k in KPIS if k.endswith("_musd")}
    fmt.update(processing_depth_index="0.000", raw_export_share="0.0%", time_s="0.00")
    sheets = [SheetSpec("Runs", runs, number_formats=fmt, wrap_columns=("message",),
                        widths={"scenario": 14, "message": 40, "builds": 40,
                                "changes": 40, **{k: 18 for k in labels}})]
    if params:
        rows = []
        for i, p in enumerate(params, 1):
            name = f"Response {i}" if len(params) > 1 else "Response"
            resp = response_table(runs, p.label)
            sheets.append(SheetSpec(name, resp, number_formats={
                c: fmt.get(c.rsplit("_", 1)[0] if c.endswith(("_mean", "_min", "_max")) else c,
                           "#,##0.000") for c in resp.columns[3:]}, widths={p.label: 24}))
            rows.append((p.label, p.sheet, p.selector, p.column, p.start, p.stop, p.count, name))
        sheets.append(SheetSpec("Parameters", pd.DataFrame(rows, columns=[
            "parameter", "sheet", "key", "column", "start", "stop", "count", "response_sheet"])))
    versus = against_base(runs, labels)
    if versus is not None:
        sheets.insert(1, SheetSpec("Against base", versus, number_formats={
            c: "#,##0.000" for c in versus.columns[1 + len(labels):]},
            comments=against_base_notes(),
            widths={"scenario": 16, **{c: 16 for c in versus.columns[1 + len(labels):]}}))
        meta = {**meta, "against_base": "sheet Against base: each run against the run named "
                "base. " + FISCAL_COST_NOTE}
    sheets.append(SheetSpec("Batch", pd.DataFrame(list(meta.items()), columns=["key", "value"]),
                            widths={"key": 20, "value": 60}))
    write_workbook(path, sheets, title="optmodel batch")
    return runs


def print_batch(outcome: BatchOutcome, console, limit: int = 25) -> None:
    """A short table of the runs and one line of totals."""
    from rich.markup import escape
    from rich.table import Table

    res = outcome.results
    swept = any(r.params for r in res)  # a sweep: each run is listed with its values
    t = Table(title=f"Batch: {outcome.batch_path}")
    for col, just in (("run", "left"), *([("swept values", "left")] if swept else []),
                      ("status", "left"), ("exit", "right"), ("npv_musd", "right"),
                      ("depth", "right"), ("time_s", "right")):
        t.add_column(col, justify=just, overflow="fold", min_width=len(col))
    for r in res[:limit]:
        npv, depth = r.kpis.get("npv_musd"), r.kpis.get("processing_depth_index")
        values = [escape(_swept_values(r.params))] if swept else []
        t.add_row(r.name, *values,
                  r.status if r.exit_code == EXIT_OK else f"[red]{r.status}[/]",
                  str(r.exit_code), "–" if npv is None else f"{npv:,.1f}",
                  "–" if depth is None else f"{depth:.2f}", f"{r.time_s:.2f}")
    console.print(t)
    if len(res) > limit:
        console.print(f"… and {len(res) - limit} more runs in {outcome.batch_path.name}")
    for r in [r for r in res if r.exit_code != EXIT_OK][:10]:
        console.print(f"[red]{r.name}[/]: {r.message}", highlight=False, soft_wrap=True)
    bad = sum(r.exit_code != EXIT_OK for r in res)
    console.print(f"{len(res)} runs, {len(res) - bad} solved, {bad} failed in "
                  f"{outcome.wall_s:.1f} s; exit code {outcome.exit_code}.", highlight=False)


def _swept_values(params: dict[str, Any]) -> str:
    """``{"Policy|export_duty_rate|stage<=1|:value": 0.25}`` →
    ``export_duty_rate|stage<=1|:value=0.25`` (each swept parameter without its sheet)."""
    parts = []
    for label, v in params.items():
        name = str(label).split("|", 1)[-1]
        parts.append(f"{name}={v:,.6g}" if isinstance(v, int | float) else f"{name}={v}")
    return "; ".join(parts)


# ------------------------------------------------------------ entry points


def scenario_output(out_path: Path, name: str) -> Path:
    """OUT.xlsx → OUT_<name>.xlsx (docs/model.md §13)."""
    return out_path.with_name(f"{out_path.stem}_{name}{out_path.suffix or '.xlsx'}")


def solve_all_scenarios(input_path: Path | str, out_path: Path | str, *,
                        mip_gap: float | None = None, time_limit: float | None = None,
                        threads: int | None = None, report: bool = False, console=None,
                        workers: int | None = None, scheduler: str | None = None,
                        extra: ExtraFile | None = None) -> int:
    """``solve --scenario all``: base and every named scenario → OUT_<scenario>.xlsx, plus
    OUT_batch.xlsx; returns the worst exit code."""
    from optmodel.pipeline import load_tables

    input_path, out_path = Path(input_path), Path(out_path)
    tables = load_tables(input_path)  # an invalid base workbook ends here (exit 2)
    runs = [RunSpec(n, overrides_for(tables, n), output=str(scenario_output(out_path, n)))
            for n in scenario_names(tables)]
    for r in runs:
        check_writable(Path(r.output), [input_path])
    outcome = run_batch(input_path, runs, scenario_output(out_path, "batch"), workers=workers,
                        scheduler=scheduler, mip_gap=mip_gap, time_limit=time_limit,
                        threads=threads, report=report, console=console,
                        info={"batch": "all scenarios"}, page=report, extra=extra)
    return outcome.exit_code


def default_sweep_dir(input_path: Path) -> Path:
    """outputs/<input>_sweep when outputs/ exists, else next to the input."""
    folder = Path("outputs") if Path("outputs").is_dir() else input_path.parent
    return folder / f"{input_path.stem}_sweep"


def run_sweep(input_path: Path | str, sets: list[str], *, samples: int | None = None,
              seed: int | None = None, out_dir: Path | str | None = None,
              workers: int | None = None, scheduler: str | None = None,
              mip_gap: float | None = None, time_limit: float | None = None,
              threads: int | None = None, console=None,
              command_line: str | None = None, page: bool = True,
              extra: ExtraFile | None = None) -> BatchOutcome:
    """``sweep``: one run per grid point (or sample) → OUTDIR/sweep_NNN.xlsx + batch.xlsx
    (+ batch.html, the KPI response per parameter, unless ``page`` is False).

    Raises InputError before solving anything for a bad ``--set``, an invalid
    base workbook, or a selector that matches no row.
    """
    from optmodel.batch.sweep import sweep_runs
    from optmodel.pipeline import load_tables

    input_path = Path(input_path)
    params, sweep = sweep_runs(sets, samples, seed)
    load_tables(input_path)  # the base must be valid
    apply_overrides(read_raw(input_path), sweep[0].overrides, "--set")  # selectors match
    out = Path(out_dir) if out_dir is not None else default_sweep_dir(input_path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Cannot create {out}: {exc.strerror or exc}.") from exc
    # a grid of one parameter is a line: ends first, then bisection, proofs by neighbours
    line = "sweep" if not samples and len(params) == 1 else None
    runs = [RunSpec(r.name, r.overrides, r.params, str(out / f"{r.name}.xlsx"), line)
            for r in sweep]
    if any(p.sheet == "Policy" for p in params):  # a policy sweep is read against the base
        runs.insert(0, RunSpec(BASE_RUN, [], {}, str(out / f"{BASE_RUN}.xlsx")))
    mode = f"samples {samples}, seed {0 if seed is None else seed}" if samples else "grid"
    return run_batch(input_path, runs, out / "batch.xlsx", params=params, workers=workers,
                     scheduler=scheduler, mip_gap=mip_gap, time_limit=time_limit,
                     threads=threads, console=console,
                     command_line=command_line, page=page, grid=not samples, extra=extra,
                     info={"batch": f"sweep ({mode})",
                           "sets": " ".join(f'--set "{p.text}"' for p in params)})
