"""The shipped base case (inputs/base_case.xlsx), pinned: its NPV and the model's size.

These numbers are not derived by hand; they are what the model gave when they were
pinned, so that any change to the data, the formulation or the index sets that moves
them is noticed. ANY CHANGE OF THESE NUMBERS MUST COME WITH A COMMENT HERE SAYING WHY
(which commit, which data or model change, and why the new value is right), appended
to the history below. Do not just overwrite them with whatever the code now prints.

History (newest last):
- 2026-11-29: pinned on main at 0ed9cf6 (base case as of 473504f, "cap NdPr and Dy/Tb
  import rows"). NPV at mip_gap 0: 241 136 744.281731 USD. Size of the structure handed
  to the solver: 7 107 columns (act 235, build 215, open 0, flow 5 352, trade 720,
  unmet 0, dispose 585), 2 896 rows (product_balance 1 971, process_capacity 235,
  build_limit 18, deposit_reserve 2, deposit_annual 26, route_capacity 44,
  market_max 585, min_domestic_processing 15), 163 integer columns (build columns of
  options that are not divisible; no node has an opening cost).
- 2026-11-29, branch mip (issue 16): rows 2 896 → 2 941, the 45 rows of
  process_capacity_cut (valid inequalities of the strengthened formulation, see
  optmodel/model/build.py and tests/test_strengthening.py): tomtor_cracking at
  Krasnoyarsk, Solikamsk and Tomsk 2030–2040 (ore arrives over the 100 000 t/yr winter
  road, units are 80 000 t/yr) and sep_loparite at Solikamsk 2029–2040 (about 815 t/yr
  more carbonate than the existing plant takes, units are 2 600 t/yr).  Columns,
  integer columns and the NPV are unchanged (the cut never moves the optimum).
- 2026-11-29, branch data (issue 14) with its demand side on (issue 13): the honest 2026
  default case replaces the first data set (Glazov, 2024 magnet and Nb2O5 bases, the
  2025-26 price deck with ex-China markets, Lovozero at its recent output, Tomtor in
  40 kt stages with divisible cracking and separation, price-response markets, the
  wind-generator chain). NPV 429 858 122.970973 USD (the optimum HiGHS also finds with
  sub-MIP heuristics on). 15 352 columns (act 276, build 251, open 0, flow 8 141,
  trade 885, unmet 0, dispose 1 359, seg 4 440: 555 price-response row-years × 8
  segments), 4 125 rows (product_balance 2 859, process_capacity 276, build_limit 21,
  deposit_reserve 2, deposit_annual 26, route_capacity 44, market_max 315,
  min_domestic_processing 15, price_response_link 555, process_capacity_cut 12),
  94 integer columns (Tomtor's cracking and separation became divisible).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from optmodel.model.build import build_model
from optmodel.model.data import build_model_data
from optmodel.pipeline import load_tables, solve_options, solve_tables

BASE_CASE = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"

# pinned 2026-11-29 (see the history above; update both together)
BASE_NPV_USD = 429_858_122.970973
BASE_COLUMNS = 15_352
BASE_ROWS = 4_125
BASE_INTEGER_COLUMNS = 94


@pytest.fixture(scope="module")
def base_tables():
    return load_tables(BASE_CASE)


def test_base_case_model_size(base_tables) -> None:
    # The structure the solver receives (build_model): one column per
    # variable, one row per constraint. Integer columns (docs/model.md §3–5): build[o,τ] of
    # options that are not divisible, and open[n].
    bm = build_model(build_model_data(base_tables))
    columns = sum(len(f) for f in bm.vars.values())
    rows = sum(len(f) for f in bm.cons.values())
    builds = bm.vars["build"].index
    integer = int((~builds["divisible"].astype(bool)).sum()) + len(bm.vars["open"])
    sizes = {"columns": columns, "rows": rows, "integer": integer}
    assert sizes == {"columns": BASE_COLUMNS, "rows": BASE_ROWS,
                     "integer": BASE_INTEGER_COLUMNS}, (
        f"base case model size changed: {sizes} (by family: "
        f"{ {k: len(f) for k, f in bm.vars.items()} }, "
        f"{ {k: len(f) for k, f in bm.cons.items()} }); update the pin with a comment")


def test_base_case_npv(base_tables) -> None:
    # Solved to optimality (mip_gap 0) so that the pinned value does not depend on where
    # the branch and bound stops; 1e-6 relative.
    _, _, sol, _ = solve_tables(base_tables, solve_options(base_tables.settings, mip_gap=0.0))
    assert sol.status == "optimal"
    assert sol.objective_usd == pytest.approx(BASE_NPV_USD, rel=1e-6)
