"""Solver options, the solver's outcome, and running HiGHS so that Ctrl-C reaches Python.

Shared by every solve path (:mod:`optmodel.solver.highs`, :mod:`optmodel.solver.solve`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class SolveOptions:
    mip_gap: float = 1e-4
    time_limit: float | None = None
    threads: int = 1
    tee: bool = False
    duals: bool = True
    warmstart: bool = False  # hand HiGHS the variables' current values as a MIP start
    # "direct": the term tables straight to highspy (optmodel.solver.highs); "appsi": the
    # Pyomo model through APPSI; "auto": direct when the model has no Pyomo components
    # (build_model's tables, not an exported copy) and no persistent solver is given, else APPSI
    backend: str = "auto"


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
    # highspy only acts on cancelSolve() with its user-interrupt callbacks on
    owner = getattr(cancel, "__self__", None)
    if owner is not None and getattr(owner, "HandleUserInterrupt", True) is False:
        owner.HandleUserInterrupt = True
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
