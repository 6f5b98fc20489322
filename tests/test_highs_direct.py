"""The direct highspy hand-off gives what the APPSI path gives: objective, values, duals, sheets.

For each workbook the model is solved twice from the same ModelData:

- APPSI: ``build_pyomo(data)`` (Pyomo components) + ``optmodel.solver.solve.solve``
  through ``pyomo.contrib.appsi.solvers.Highs`` (the path of record before the
  direct hand-off, still used for --write-model, batches and robust runs);
- direct: ``build_model(data)`` (tables only) +
  :func:`optmodel.solver.highs.solve_direct`.

Expected: the same status, the objective to 1e-9 relative, the same variable
values and the same duals (the direct path hands HiGHS the columns in APPSI's
order and fixes the builds for the dual LP with APPSI's calls, so even the
degenerate duals of the base case agree), and identical result tables.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_chain_by_hand import chain_sheets
from test_properties import random_network
from tinycase import tiny_sheets, write_input
from workbooks import REPO, write_input_workbook

from optmodel.model.build import build_model
from optmodel.model.data import build_model_data
from optmodel.model.pyomo_export import build_pyomo
from optmodel.pipeline import load_tables
from optmodel.results.tables import extract_tables, summary_table
from optmodel.solver.highs import assemble, solve_direct
from optmodel.solver.options import SolveOptions
from optmodel.solver.solve import solve

sys.path.insert(0, str(REPO / "benchmarks"))
from generate import generate, write  # noqa: E402


def _case(name: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{name}.xlsx"
    if name == "tiny":
        return write_input(path, tiny_sheets())
    if name == "chain":
        return write_input_workbook(path, chain_sheets())
    if name == "random_network":
        return write_input_workbook(path, random_network(random.Random(5)))
    if name == "base_case":
        return REPO / "inputs" / "base_case.xlsx"
    family = name.split("_")[1]
    return write(generate(0.5, family, seed=3, years=6), path)


def _both(path: Path, opts: SolveOptions):
    data = build_model_data(load_tables(path))
    full = build_pyomo(data)
    a = solve(full, opts)
    tables_only = build_model(data)
    b = solve_direct(tables_only, opts)
    return full, a, tables_only, b


@pytest.mark.parametrize("name", ["tiny", "chain", "random_network", "base_case",
                                  "gen_lp", "gen_mip"])
def test_direct_path_matches_appsi(name: str, tmp_path: Path) -> None:
    opts = SolveOptions(mip_gap=0.0)
    full, a, tables_only, b = _both(_case(name, tmp_path), opts)
    assert a.status == b.status == "optimal"
    assert b.objective_usd == pytest.approx(a.objective_usd, rel=1e-9, abs=1e-6)
    for fam in a.values:
        np.testing.assert_allclose(b.values[fam], a.values[fam], rtol=1e-9, atol=1e-7)
    assert set(a.duals) == set(b.duals)
    for fam in a.duals:
        np.testing.assert_allclose(b.duals[fam], a.duals[fam], rtol=1e-9, atol=1e-7,
                                   err_msg=fam)
    ta, tb = extract_tables(full, a), extract_tables(tables_only, b)
    ta["Summary"], tb["Summary"] = summary_table(full, a, ta), summary_table(tables_only, b, tb)
    for sheet in ta:
        pd.testing.assert_frame_equal(tb[sheet], ta[sheet], check_exact=False, rtol=1e-9,
                                      atol=1e-7, obj=sheet)


def test_matrix_merges_duplicate_terms_and_keeps_bounds(tmp_path: Path) -> None:
    # Conditions: the tiny workbook (one integer build with max_units 2, a binary
    # opening). Expected: one column per variable, one row per constraint, no
    # duplicate (row, column) entries, integer columns exactly the build and open
    # variables, the build's upper bound max_units and the open column's 1.
    data = build_model_data(load_tables(_case("tiny", tmp_path)))
    bm = build_model(data)
    mm = assemble(bm)
    assert mm.num_col == sum(len(f) for f in bm.vars.values())
    assert mm.num_row == sum(len(f) for f in bm.cons.values())
    for j in range(mm.num_col):
        rows = mm.a_index[mm.a_start[j]:mm.a_start[j + 1]]
        assert len(set(rows.tolist())) == len(rows)
    pos = mm.col_position
    b0, o0 = mm.col_offset["build"], mm.col_offset["open"]
    build_cols = pos[b0:b0 + len(bm.vars["build"])]
    open_cols = pos[o0:o0 + len(bm.vars["open"])]
    assert set(np.flatnonzero(mm.integer)) == set(build_cols) | set(open_cols)
    assert (mm.col_upper[build_cols] == 2).all() and (mm.col_upper[open_cols] == 1).all()


def test_time_limit_without_solution_is_a_solver_error(tmp_path: Path) -> None:
    # Conditions: the generated MIP with a time limit of one microsecond.
    # Expected: the same typed error as the APPSI path (SolverError, exit 3), or a
    # feasible plan flagged time_limit if HiGHS found one at once.
    from optmodel.errors import SolverError

    data = build_model_data(load_tables(_case("gen_mip", tmp_path)))
    bm = build_model(data)
    try:
        out = solve_direct(bm, SolveOptions(time_limit=1e-6))
    except SolverError as exc:
        assert "Time limit" in str(exc)
    else:
        assert out.status in ("time_limit", "optimal")
