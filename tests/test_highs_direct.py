"""The one exporter to HiGHS (optmodel.solver.highs): matrix, optimum, duals, model file.

Nothing here compares with another solve path: the checks are the known optima
of published instances, the LP optimality conditions that the returned duals
must satisfy, and a model file that HiGHS reads back to the same optimum.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import highspy
import numpy as np
import pytest
from test_chain_by_hand import chain_sheets
from test_known_optima import OPTIMA
from test_properties import random_network
from tinycase import tiny_sheets, write_input
from workbooks import (
    ORLIB_CAP,
    REPO,
    cap_instance_workbook,
    relog_s1_sheets,
    write_input_workbook,
)

from optmodel.model.build import build_model
from optmodel.model.data import build_model_data
from optmodel.pipeline import load_tables
from optmodel.solver.highs import assemble, names, write_model
from optmodel.solver.options import SolveOptions, highs_options, run_interruptible
from optmodel.solver.solve import solve_direct

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


def _tables_model(path: Path):
    return build_model(build_model_data(load_tables(path)))


def test_direct_objective_is_the_published_optimum(tmp_path: Path) -> None:
    # Conditions: OR-Library cap41 in the known-optimum form (tests/test_known_optima.py)
    # and RELOG s1, tables handed to HiGHS directly, mip_gap 0.
    # Expected: −NPV = the published optimal cost (cap41), 1,871,178.9617 USD (RELOG s1).
    bm = _tables_model(cap_instance_workbook(tmp_path / "cap41.xlsx", ORLIB_CAP / "cap41"))
    out = solve_direct(bm, SolveOptions(mip_gap=0.0))
    assert out.status == "optimal"
    assert -out.objective_usd == pytest.approx(OPTIMA["cap41"], rel=1e-7, abs=1e-3)
    bm = _tables_model(write_input_workbook(tmp_path / "relog.xlsx", relog_s1_sheets()))
    out = solve_direct(bm, SolveOptions(mip_gap=0.0))
    assert -out.objective_usd == pytest.approx(1_871_178.9617, rel=1e-7, abs=1e-3)


@pytest.mark.parametrize("name", ["tiny", "chain", "random_network", "gen_lp", "gen_mip",
                                  "base_case"])
def test_duals_certify_the_lp_with_integers_fixed(name: str, tmp_path: Path) -> None:
    # Conditions: each workbook solved at mip_gap 0 with duals. The duals belong to the
    # LP  max c·x  s.t. L ≤ Ax ≤ U, l ≤ x ≤ u  with the integer columns fixed at the
    # rounded optimum. Expected (LP optimality, y = ∂objective/∂bound):
    # - primal: x within its bounds and Ax within the row bounds;
    # - dual signs and complementary slackness: y_i ≥ 0 only at the upper bound, ≤ 0 only
    #   at the lower bound, 0 strictly between; reduced cost r = c − Aᵀy ≤ 0 at a column's
    #   lower bound, ≥ 0 at its upper bound, 0 strictly between;
    # - no duality gap: c·x = Σ_i y_i·(bound of row i) + Σ_j r_j·x_j.
    bm = _tables_model(_case(name, tmp_path))
    out = solve_direct(bm, SolveOptions(mip_gap=0.0))
    assert out.status == "optimal" and set(out.duals) == set(bm.cons)
    mm = assemble(bm)
    x = np.concatenate([out.values[f] for f in bm.vars])
    y = np.concatenate([out.duals[f] for f in bm.cons])
    lo, hi = mm.col_lower.copy(), mm.col_upper.copy()
    lo[mm.integer] = hi[mm.integer] = np.round(x[mm.integer])
    ax = mm.a.dot(x)
    r_, _, v_ = mm.a.coo()
    row_max = np.zeros(mm.num_row)
    np.maximum.at(row_max, r_, np.abs(v_))
    scale = 1.0 + row_max * np.maximum(1.0, np.abs(x).max())
    tol_row = 1e-7 * scale
    assert (ax >= mm.row_lower - tol_row).all() and (ax <= mm.row_upper + tol_row).all()
    assert (x >= lo - 1e-7).all() and (x <= hi + 1e-7).all()
    at_lo = np.abs(ax - mm.row_lower) <= tol_row
    at_hi = np.abs(ax - mm.row_upper) <= tol_row
    ytol = 1e-6 * max(1.0, np.abs(y).max())
    assert (y[~at_hi] <= ytol).all() and (y[~at_lo] >= -ytol).all()
    r = mm.col_cost - mm.a.tdot(y)
    rtol = 1e-6 * max(1.0, np.abs(mm.col_cost).max())
    # a column is at a bound within HiGHS's MIP feasibility tolerance (1e-6): the plan is
    # the MIP's, whose columns may sit that close to a bound they should be at
    c_lo = np.abs(x - lo) <= 1e-6 * (1 + np.abs(lo))
    c_hi = np.isfinite(hi) & (np.abs(x - hi) <= 1e-6 * (1 + np.abs(hi)))
    assert (r[~c_hi] <= rtol).all() and (r[~c_lo] >= -rtol).all()
    bound = np.where(y > 0, mm.row_upper, np.where(y < 0, mm.row_lower, 0.0))
    assert mm.col_cost @ x == pytest.approx(y @ bound + r @ x, rel=1e-7,
                                            abs=1e-6 * max(1.0, abs(out.objective_usd)))


def test_matrix_is_in_natural_order_with_merged_terms_and_bounds(tmp_path: Path) -> None:
    # Conditions: the tiny workbook (one integer build with max_units 2, a binary
    # opening). Expected: one column per variable, families in model order, one row per
    # constraint, no duplicate (row, column) entries, integer columns exactly the build
    # and open variables, the build's upper bound max_units and the open column's 1.
    bm = _tables_model(_case("tiny", tmp_path))
    mm = assemble(bm)
    assert mm.num_col == sum(len(f) for f in bm.vars.values())
    assert mm.num_row == sum(len(f) for f in bm.cons.values())
    sizes = np.cumsum([0] + [len(f) for f in bm.vars.values()])[:-1]
    assert list(mm.col_offset.values()) == sizes.tolist()
    assert list(mm.col_offset) == list(bm.vars) and list(mm.row_offset) == list(bm.cons)
    for j in range(mm.num_col):
        rows = mm.a.index[mm.a.start[j]:mm.a.start[j + 1]]
        assert len(set(rows.tolist())) == len(rows)
    b0, o0 = mm.col_offset["build"], mm.col_offset["open"]
    build_cols = np.arange(b0, b0 + len(bm.vars["build"]))
    open_cols = np.arange(o0, o0 + len(bm.vars["open"]))
    assert set(np.flatnonzero(mm.integer)) == set(build_cols) | set(open_cols)
    assert (mm.col_upper[build_cols] == 2).all() and (mm.col_upper[open_cols] == 1).all()


@pytest.mark.parametrize("suffix", ["mps", "lp"])
def test_model_file_is_the_solved_matrix(suffix: str, tmp_path: Path) -> None:
    # Conditions: the chain workbook written as MPS and LP. Expected: HiGHS reads the
    # file back with the same numbers of columns, rows and non-zeros, names such as
    # act(Mine,...) without spaces, and reaches the same optimum as the solve.
    bm = _tables_model(_case("chain", tmp_path))
    mm = names(bm, assemble(bm))
    assert all(" " not in s for s in mm.col_names + mm.row_names)
    assert len(set(mm.col_names)) == mm.num_col and len(set(mm.row_names)) == mm.num_row
    path = tmp_path / f"model.{suffix}"
    write_model(mm, path)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    assert h.readModel(str(path)) != highspy.HighsStatus.kError
    lp = h.getLp()
    assert (lp.num_col_, lp.num_row_, len(lp.a_matrix_.value_)) == (mm.num_col, mm.num_row,
                                                                      mm.num_nz)
    assert any(s.startswith("act(") for s in h.getLp().col_names_)
    # run as optmodel runs HiGHS (in a worker thread): highspy 1.16's run() in the main
    # thread leaves class-wide state that made a later Pyomo/APPSI solve in this process
    # report "no feasible solution" (tests/test_exporter_parity.py, run after this file)
    run_interruptible(h.run, h.cancelSolve)
    direct = solve_direct(bm, SolveOptions(mip_gap=0.0, duals=False))
    assert h.getInfo().objective_function_value == pytest.approx(direct.objective_usd,
                                                                  rel=1e-9, abs=1e-6)


def test_names_are_sanitised_and_unique() -> None:
    # Conditions: keys with spaces, a hyphen and Cyrillic letters, two of which become the
    # same after sanitising. Expected: only letters, digits and _(),. remain; the second
    # of the two alike gets _2.
    import pandas as pd

    from optmodel.solver.highs import _family_names, _safe_unique

    idx = pd.DataFrame({"node": ["Port A", "Port-A", "Томтор"], "year": [2026, 2026, 2027]})
    got = _safe_unique(_family_names("act", idx, ["node", "year"]))
    assert got == ["act(Port_A,2026)", "act(Port_A,2026)_2", "act(______,2027)"]


def test_solver_options_in_one_place() -> None:
    # Conditions: every SolveOptions field that reaches HiGHS. Expected: each maps to its
    # HiGHS option; no time limit is HiGHS's infinity; an exact solve (gap 0) has no
    # absolute gap either.
    o = highs_options(SolveOptions(mip_gap=0.01, time_limit=5, threads=2, random_seed=7,
                                   tee=True, sub_mip_heuristics=True, mip_restart=True))
    assert o == {"output_flag": True, "log_to_console": True, "threads": 2,
                 "random_seed": 7, "mip_rel_gap": 0.01, "mip_abs_gap": 1e-6,
                 "time_limit": 5.0}
    exact = highs_options(SolveOptions(mip_gap=0.0))
    assert exact["mip_abs_gap"] == 0.0 and exact["time_limit"] == float("inf")
    # sub-MIP heuristics are off unless asked for (SolveOptions' default)
    assert not exact["mip_heuristic_run_rins"] and not exact["mip_heuristic_run_rens"]
    # and so is the root restart
    assert exact["mip_allow_restart"] is False


def test_time_limit_without_solution_is_a_solver_error(tmp_path: Path) -> None:
    # Conditions: the generated MIP with a time limit of one microsecond.
    # Expected: a typed SolverError (exit 3), or a feasible plan flagged time_limit if
    # HiGHS found one at once.
    from optmodel.errors import SolverError

    bm = _tables_model(_case("gen_mip", tmp_path))
    try:
        out = solve_direct(bm, SolveOptions(time_limit=1e-6))
    except SolverError as exc:
        assert "Time limit" in str(exc)
    else:
        assert out.status in ("time_limit", "optimal")
