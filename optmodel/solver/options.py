"""Solver options, the solver's outcome, and running HiGHS so that Ctrl-C reaches Python.

:func:`highs_options` is the one place where :class:`SolveOptions` become HiGHS
options; every solve (:mod:`optmodel.solver.highs`, the diagnosis's elastic
re-solve) goes through it.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the type only: the solver never reads the file
    from optmodel.model.extra_file import ExtraFile

log = logging.getLogger(__name__)


@dataclass
class SolveOptions:
    """How to solve: the MIP gap, limits and threads the user chose, and what to return."""

    mip_gap: float = 1e-4  # relative MIP gap at which HiGHS stops
    time_limit: float | None = None  # seconds per MIP solve (None: no limit)
    threads: int = 1
    # HiGHS's seed: fixed, so that runs repeat exactly.  1 rather than HiGHS's own 0: on the
    # 31 shipped scenarios seeds 1, 2 and 5 close ndpr_price_high at the root node (0.6 s)
    # where 0, 3 and 4 branch 14 nodes (1.4–1.5 s); 1 had the lowest total (11.4 s
    # against 12.7 s for 0), the same optima (docs/performance.md)
    random_seed: int = 1
    tee: bool = False  # show HiGHS's log
    duals: bool = True  # shadow prices from the LP with the integer decisions fixed
    mip_abs_gap: float | None = None  # absolute gap (objective units); None: 1e-6, 0 if exact
    # HiGHS's sub-MIP heuristics (RINS, RENS, root reduced cost): off by default.  On the
    # shipped scenarios HiGHS finds the optimum at the root by rounding and then spends
    # 90 % of its time in nested sub-MIPs (base case 6.6 → 0.6 s CPU, ndpr_price_high
    # 13.4 → 1.5 s, same optima); in the robust extensive form each nested sub-MIP also
    # copies the whole model (docs/performance.md)
    sub_mip_heuristics: bool = False
    # HiGHS's root restart (re-presolve once reduced-cost fixing has fixed many integer
    # columns): off by default.  On the shipped scenarios the restart repeats presolve and
    # the root LP for no gain in bound (base case 0.57 → 0.35 s, the 31 scenarios 18.5 →
    # 12.0 s in all, same optima; docs/performance.md)
    mip_restart: bool = False
    # a single run's node limit for the small branch and bound over LP relaxations tried
    # before HiGHS's MIP solver (optmodel.solver.tree); 0: HiGHS's MIP solver at once.  A
    # node costs about 6 ms on the base case, so 64 nodes take about as long as HiGHS's MIP
    # solver (0.3-0.6 s); the 31 shipped scenarios close in 1-55 nodes, 30 of them within
    # 21 (docs/performance.md, "The LP tree")
    tree_nodes: int = 64
    # HiGHS's presolve; off for the LPs of the LP tree and of the shadow prices (the
    # integer columns fixed): on the base case they take half the time without it (0.06
    # against 0.12 s and 0.03 against 0.07 s), and every route to a plan then gives the
    # same shadow prices (the same LP, solved the same way)
    presolve: bool = True
    # a user's --extra file of variables and constraints (docs/model.md §13): its name, text and
    # SHA-256; applied to the structure before the solve (optmodel.pipeline.run_structure),
    # recorded in the Run sheet; the text travels with the options to batch workers
    extra: ExtraFile | None = None
    # warm start (optmodel.solver.solve.solve_direct): a neighbouring run's solution by
    # variable and constraint keys, e.g. the previous run of a batch; an empty WarmStart()
    # asks for one in SolveOutcome.start without giving any
    start: WarmStart | None = None
    # a one-parameter sweep (optmodel.batch.engine.LineOrder): two solved runs of the same
    # structure whose objectives this run's lies between; when both have the same integer
    # plan, that plan may be proved optimal here by one LP (solver.solve.prove_between)
    bracket: tuple[LinePoint, LinePoint] | None = None
    line_point: str | None = None  # also return the solved run as a LinePoint of this name

    @property
    def absolute_gap(self) -> float:
        """The absolute MIP gap HiGHS is given: ``mip_abs_gap``, else 1e-6 (0 for an exact
        solve, ``mip_gap`` 0)."""
        if self.mip_abs_gap is not None:
            return float(self.mip_abs_gap)
        return 1e-6 if self.mip_gap > 0 else 0.0


@dataclass(frozen=True, eq=False)
class LinePoint:
    """A solved run as its neighbours in a one-parameter sweep need it: ``structure``,
    the digest of everything in its matrix but the objective; its objective (``cost``
    per column and the constant ``offset``); ``bound``, the solver's bound on its
    optimum (from above: the models maximise); ``integers``, its integer columns'
    values (rounded); ``name``, the run's name (for the Run sheet); ``by_tree``, whether
    the LP tree proved it (no MIP solve was needed)."""

    name: str
    structure: str
    cost: np.ndarray
    offset: float
    bound: float
    integers: np.ndarray
    by_tree: bool = False


@dataclass(frozen=True, eq=False)
class KeyedValues:
    """One family's values by key, as a solved run holds them: the family's key columns
    (one array per key column, in the family's row order) and a value per row.

    ``get`` looks a key up as a dict would (a key is the value of a one-column key, else
    the tuple of the columns' values).  Between the runs of a batch a family usually has
    the same keys in the same order: :meth:`same_keys` sees that, and the values are then
    taken as they are, without a lookup per key."""

    columns: tuple[np.ndarray, ...]
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    def same_keys(self, columns: tuple[np.ndarray, ...]) -> bool:
        """Whether ``columns`` are these key columns, row by row."""
        return len(columns) == len(self.columns) and all(
            len(a) == len(b) and bool(np.array_equal(a, b))
            for a, b in zip(self.columns, columns, strict=True))

    @functools.cached_property
    def _lookup(self) -> dict:
        return dict(zip(key_list(self.columns), self.values.tolist(), strict=True))

    def get(self, key: Any, default: Any = None) -> Any:
        return self._lookup.get(key, default)


def key_list(columns: tuple[np.ndarray, ...]) -> list:
    """The keys of a family's rows from its key columns: values of a one-column key,
    tuples otherwise (the form :class:`KeyedValues` and :class:`WarmStart` look up)."""
    lists = [np.asarray(c).tolist() for c in columns]
    return lists[0] if len(lists) == 1 else list(zip(*lists, strict=True))


@dataclass
class WarmStart:
    """A solution by keys, to start a neighbouring model from (matched by the variable and
    constraint keys, never by position; keys the model lacks are skipped).

    ``values``: family → {variable key: value} (the MIP start); ``col_status`` and
    ``row_status``: family → {key: HiGHS basis status} of the LP relaxation's optimal
    basis, from which the next LP relaxation is re-solved.  A solved run gives them as
    :class:`KeyedValues`; a dict by key does as well."""

    values: dict[str, KeyedValues | dict[Any, float]] = field(default_factory=dict)
    col_status: dict[str, KeyedValues | dict[Any, int]] = field(default_factory=dict)
    row_status: dict[str, KeyedValues | dict[Any, int]] = field(default_factory=dict)
    # runs since the LP tree last proved a run (0: it did, or no run yet).  The tree is
    # tried first only when this is a multiple of LP_RETRY: where it gives up, it only
    # costs its LPs before HiGHS's MIP solver
    lp_misses: int = 0
    # the leaves of the LP tree that proved this run (optmodel.solver.tree.TreeResult.leaves)
    # and the keys, (family, key), of the integer columns their decisions refer to, in
    # order: a next run with the same integer columns searches on from those leaves
    tree_leaves: list[tuple] | None = None
    tree_keys: list[tuple] | None = None
    # that tree's HiGHS instance (optmodel.solver.tree.TreeLP), taken over by a next run
    # whose model differs only in its objective; it never leaves the process
    tree_lp: Any = None


LP_RETRY = 4  # a warm-started run whose neighbours' trees gave up tries the tree again


def highs_options(opts: SolveOptions) -> dict[str, Any]:
    """The HiGHS options for ``opts`` (the only place they are translated)."""
    out: dict[str, Any] = {
        "output_flag": bool(opts.tee),
        "log_to_console": bool(opts.tee),
        "threads": int(opts.threads),
        "random_seed": int(opts.random_seed),
        "mip_rel_gap": float(opts.mip_gap),
        "mip_abs_gap": opts.absolute_gap,
        "time_limit": float(opts.time_limit) if opts.time_limit is not None else float("inf"),
    }
    if not opts.sub_mip_heuristics:
        out.update(mip_heuristic_run_rins=False, mip_heuristic_run_rens=False,
                   mip_heuristic_run_root_reduced_cost=False)
    if not opts.mip_restart:
        out["mip_allow_restart"] = False
    if not opts.presolve:
        out["presolve"] = "off"
    return out


def apply_options(h, opts: SolveOptions) -> None:
    """Set :func:`highs_options` on the ``highspy.Highs`` ``h``."""
    for key, value in highs_options(opts).items():
        h.setOptionValue(key, value)


@dataclass
class SolveOutcome:
    """What the solver said, and the solution values by variable family."""

    status: str  # optimal | time_limit | ...
    termination: str
    objective_usd: float
    bound_usd: float
    gap: float
    values: dict[str, np.ndarray]
    duals: dict[str, np.ndarray] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)
    solver_version: str = ""
    start: WarmStart | None = None  # for a neighbouring run (when SolveOptions.start was set)
    warm: str = ""  # how a warm-started run was solved (``method``, for batch Run sheets)
    # how the optimum was found (Run sheet solve_method): "LP tree of 15 nodes", "HiGHS
    # MIP", "proved by convexity between …", "LP" (no integer columns)
    method: str = ""
    point: LinePoint | None = None  # this run for its sweep neighbours (SolveOptions.line_point)


def highs_version() -> str:
    try:
        import highspy

        v = (highspy.HIGHS_VERSION_MAJOR, highspy.HIGHS_VERSION_MINOR,
             highspy.HIGHS_VERSION_PATCH)
        return "HiGHS " + ".".join(str(x) for x in v)
    except Exception:  # pragma: no cover - version string only
        return "HiGHS"


def new_highs():
    """A highspy.Highs whose start-up banner goes to stderr (logs never mix with results)."""
    import os
    import sys

    import highspy

    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (e.g. captured): nothing to protect
        return highspy.Highs()
    try:
        os.dup2(2, 1)
        return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def release_memory() -> None:
    """Collect garbage and hand freed heap memory back to the system (glibc only).

    Called before a large solve (the robust extensive form): HiGHS then starts from
    the memory really in use, not from what earlier solves left in the heap.
    """
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to hand back this way
        pass


_SOLVER_HAS_RUN = False  # a solve ran in this process (batch workers then are not forked)


def solver_has_run() -> bool:
    """Whether HiGHS has solved anything in this process.

    HiGHS may then hold a pool of threads, which a forked process would inherit
    in a broken state (threads do not survive fork); batches then spawn workers.
    """
    return _SOLVER_HAS_RUN


def run_interruptible(run: Callable[[], Any], cancel: Callable[[], None]) -> Any:
    """Run a blocking solver call in a worker thread so that Ctrl-C reaches Python.

    HiGHS keeps the main thread inside C++ during a solve, and a SIGINT there
    ended as a solver "error" (exit 3) instead of an interruption.  Here the
    main thread only waits; on KeyboardInterrupt it asks the solver to stop
    (``cancel``), waits for the worker to return and re-raises the
    KeyboardInterrupt, so that no half-finished result is used or written.
    """
    global _SOLVER_HAS_RUN
    _SOLVER_HAS_RUN = True
    # highspy only acts on cancelSolve() with its user-interrupt callbacks on.  Those
    # callbacks are bound methods of the Highs object held in its own callback lists: a
    # reference cycle, so a Highs with them on is freed only by Python's cyclic garbage
    # collector, which runs rarely here (few Python objects are made per solve).  Each
    # such Highs kept its whole model (about 10 MB for the base case) until then: 100
    # evaluations grew a robust run by hundreds of MB.  They are switched off again
    # after the run, which breaks the cycle (tests/test_solver_memory.py).
    owner = getattr(cancel, "__self__", None)
    switched = owner is not None and getattr(owner, "HandleUserInterrupt", True) is False
    if switched:
        owner.HandleUserInterrupt = True
    try:
        return _run_in_thread(run, cancel)
    finally:
        if switched:
            owner.HandleUserInterrupt = False


def _run_in_thread(run: Callable[[], Any], cancel: Callable[[], None]) -> Any:
    if threading.current_thread() is not threading.main_thread():
        return run()
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["result"] = run()
        except BaseException as exc:  # handed back to the calling thread
            box["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=work, name="optmodel-solve", daemon=True)
    worker.start()
    # Wait on an Event, not Thread.join: a KeyboardInterrupt inside join() makes
    # CPython (bpo-45274 handling) mark a still-running thread as stopped.
    try:
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        deadline = time.monotonic() + 30.0
        while not done.is_set() and time.monotonic() < deadline:
            try:
                cancel()
            except Exception:  # best effort: the solver may not have started yet
                log.debug("cancel failed", exc_info=True)
            done.wait(0.2)
        raise
    if "error" in box:
        raise box["error"]
    return box.get("result")
