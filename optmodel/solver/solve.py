"""Solve a built model: the entry point callers use (HiGHS via :mod:`optmodel.solver.highs`).

There is one solve path: the model's term tables are assembled into one sparse
matrix and handed to highspy (:func:`optmodel.solver.highs.solve_direct`).
"""

from __future__ import annotations

from pathlib import Path

from optmodel.model.build import BuiltModel
from optmodel.solver.highs import assemble, names, solve_direct, write_model
from optmodel.solver.options import SolveOptions, SolveOutcome


def solve(bm: BuiltModel, opts: SolveOptions,
          write_model_to: Path | str | None = None) -> SolveOutcome:
    """Solve the MILP of ``bm``; then, for duals, the LP with builds/openings fixed.

    With ``write_model_to`` the matrix handed to HiGHS is first written there
    (.mps or .lp, with readable names).
    """
    return solve_direct(bm, opts, write_model_to)


def write_model_file(bm: BuiltModel, path: Path | str) -> None:
    """Write the built model as .mps or .lp: the matrix HiGHS solves, readable names."""
    write_model(names(bm, assemble(bm)), path)
