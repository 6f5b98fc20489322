"""Parity of the two exporters of one structure: the Pyomo model and the tables HiGHS gets.

``build_model(data)`` makes the model as tables; ``to_pyomo`` makes the public Pyomo
model from them, and every solve hands the same tables to HiGHS (``solve``).  The
two must be the same optimisation problem.  Column and row order are *not*
compared (each exporter may order as it likes), so:

- **objective**: the MILP optimum of both agrees to 1e-9 relative;
- **plan**: optimal plans need not be unique (ties between sites are common in
  facility location), so each exporter's solution is checked to be feasible and
  optimal in the *other* model: plugged into it, it satisfies every constraint
  and bound and gives the same objective (1e-9 relative);
- **duals**: with build/open fixed at the plan, the LP's duals are unique only
  where the LP is not degenerate.  What is unique is the dual *optimum*: each
  exporter's dual vector y, read in the other model, is dual feasible and its
  dual objective equals the LP optimum — the Lagrangian bound
  g(y) = Σ_rows (y>0 ? y·U : y·L) + Σ_cols max over the column's bounds of
  (c − Aᵀy)·x equals z* (g(y) ≥ z* for every y by weak duality, = z* iff y is an
  optimal dual).  Where both dual vectors happen to coincide they are also
  compared directly (1e-9 relative).

The Pyomo model is solved with Pyomo's own APPSI HiGHS interface, and read back
with Pyomo's ``generate_standard_repn``: nothing of optmodel's solve path is used
on that side.  Workbooks: the known-answer builders of tests/test_known_optima.py
and tests/test_chain_by_hand.py, the tiny case, and random small networks drawn by
hypothesis (tests/test_properties.py's generator).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyomo.contrib.appsi.solvers import Highs
from pyomo.repn import generate_standard_repn
from test_chain_by_hand import chain_sheets
from test_known_optima import _random_problem
from test_properties import random_network
from tinycase import tiny_sheets
from workbooks import RELOG_S1, facility_location_sheets, relog_s1_sheets, write_input_workbook

import optmodel
from optmodel.model.build import build_model
from optmodel.model.objective import objective_coefficients
from optmodel.model.pyomo_export import _PYOMO_DOMAIN, to_pyomo
from optmodel.solver.options import SolveOptions
from optmodel.solver.solve import solve

REL = 1e-9


# ------------------------------------------------------------------ an LP in matrix form


class LP:
    """max c·x s.t. L ≤ A x ≤ U, l ≤ x ≤ u (integrality in ``integer``)."""

    def __init__(self, c, a, row_lo, row_hi, col_lo, col_hi, integer):
        self.c, self.a = np.asarray(c, float), sp.csr_matrix(a)
        self.row_lo, self.row_hi = np.asarray(row_lo, float), np.asarray(row_hi, float)
        self.col_lo, self.col_hi = np.asarray(col_lo, float), np.asarray(col_hi, float)
        self.integer = np.asarray(integer, bool)

    def objective(self, x: np.ndarray) -> float:
        return float(self.c @ x)

    def violation(self, x: np.ndarray) -> float:
        """Largest bound or row violation of ``x``, relative to max(1, |bound|)."""
        ax = self.a @ x
        with np.errstate(invalid="ignore"):  # inf − inf on free rows and columns
            parts = [(self.row_lo - ax) / np.maximum(1, np.abs(self.row_lo)),
                     (ax - self.row_hi) / np.maximum(1, np.abs(self.row_hi)),
                     (self.col_lo - x) / np.maximum(1, np.abs(self.col_lo)),
                     (x - self.col_hi) / np.maximum(1, np.abs(self.col_hi))]
        return max(float(np.nanmax(np.where(np.isfinite(p), p, 0.0), initial=0.0))
                   for p in parts)

    def fixed_at(self, x: np.ndarray) -> LP:
        """The LP with the integer columns fixed at round(x)."""
        lo, hi = self.col_lo.copy(), self.col_hi.copy()
        lo[self.integer] = hi[self.integer] = np.round(x[self.integer])
        return LP(self.c, self.a, self.row_lo, self.row_hi, lo, hi, np.zeros_like(self.integer))

    def dual_bound(self, y: np.ndarray) -> tuple[float, float]:
        """The Lagrangian bound g(y) (see the module docstring) and the scale of its terms.

        y follows the convention ∂z*/∂(row bound): ≥ 0 on a binding upper bound, ≤ 0 on
        a binding lower bound.  A multiplier or reduced cost below the solver's dual
        tolerance (1e-7 of the largest cost) counts as zero; a non-zero one against an
        infinite bound makes g infinite (y not dual feasible)."""
        tol = 1e-7 * max(1.0, float(np.abs(self.c).max(initial=0.0)))
        y = np.where(np.abs(y) <= tol, 0.0, y)
        d = self.c - self.a.T @ y
        d = np.where(np.abs(d) <= tol, 0.0, d)
        with np.errstate(invalid="ignore"):
            rows = np.where(y > 0, y * self.row_hi, np.where(y < 0, y * self.row_lo, 0.0))
            cols = np.where(d > 0, d * self.col_hi, np.where(d < 0, d * self.col_lo, 0.0))
        terms = np.concatenate([rows, cols])
        if not np.isfinite(terms).all():
            return np.inf, np.inf
        return float(terms.sum()), float(np.abs(terms).sum())


def _inf(x: np.ndarray, sign: float) -> np.ndarray:
    return np.where(np.isnan(x), sign * np.inf, x)


def tables_lp(bm) -> tuple[LP, dict[str, int], dict[str, int]]:
    """The LP the tables describe (read here from the tables, not from the HiGHS exporter);
    each family's first column and row."""
    col_off, row_off = {}, {}
    lo, hi, integer = [], [], []
    n = 0
    for name, fam in bm.vars.items():
        col_off[name] = n
        n += len(fam)
        f_lo = np.zeros(len(fam)) if fam.lower is None else _inf(fam.lower, -1.0)
        f_hi = np.full(len(fam), np.inf) if fam.upper is None else _inf(fam.upper, 1.0)
        f_int = np.zeros(len(fam), bool)
        if fam.domains is not None:
            for i, dom in enumerate(fam.domains):
                if dom is not None:  # a label of DOMAINS, read as Pyomo's set would be
                    d_lo, d_hi, step = _PYOMO_DOMAIN[dom].get_interval()
                    f_lo[i] = max(f_lo[i], -np.inf if d_lo is None else d_lo)
                    f_hi[i] = min(f_hi[i], np.inf if d_hi is None else d_hi)
                    f_int[i] = step == 1
        lo.append(f_lo)
        hi.append(f_hi)
        integer.append(f_int)
    c = np.zeros(n)
    for name, coef in objective_coefficients(bm).items():
        c[col_off[name]:col_off[name] + len(coef)] = coef
    rows, cols, vals, r_lo, r_hi = [], [], [], [], []
    m = 0
    for name, fam in bm.cons.items():
        row_off[name] = m
        t = fam.terms
        rows.append(t["con"].to_numpy() + m)
        cols.append(t["vid"].to_numpy() + t["fam"].map(col_off).to_numpy())
        vals.append(t["coef"].to_numpy(float))
        r_lo.append(_inf(fam.lower, -1.0))
        r_hi.append(_inf(fam.upper, 1.0))
        m += len(fam)
    a = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(m, n))  # duplicate entries add up
    return (LP(c, a, np.concatenate(r_lo), np.concatenate(r_hi), np.concatenate(lo),
               np.concatenate(hi), np.concatenate(integer)), col_off, row_off)


def pyomo_lp(model) -> tuple[LP, list, list]:
    """The LP of a Pyomo model as Pyomo itself reads it: its variables and constraints."""
    variables = list(model.component_data_objects(pyo.Var, descend_into=True))
    cons = list(model.component_data_objects(pyo.Constraint, active=True, descend_into=True))
    col = {id(v): j for j, v in enumerate(variables)}
    rows, cols, vals, r_lo, r_hi = [], [], [], [], []
    for i, c in enumerate(cons):
        repn = generate_standard_repn(c.body, compute_values=True)
        assert repn.is_linear()
        for v, a in zip(repn.linear_vars, repn.linear_coefs, strict=True):
            rows.append(i)
            cols.append(col[id(v)])
            vals.append(a)
        r_lo.append(-np.inf if c.lb is None else c.lb - repn.constant)
        r_hi.append(np.inf if c.ub is None else c.ub - repn.constant)
    obj = generate_standard_repn(model.npv.expr)
    c = np.zeros(len(variables))
    for v, a in zip(obj.linear_vars, obj.linear_coefs, strict=True):
        c[col[id(v)]] += a
    a = sp.coo_matrix((vals, (rows, cols)), shape=(len(cons), len(variables)))
    return (LP(c, a, r_lo, r_hi, [-np.inf if v.lb is None else v.lb for v in variables],
               [np.inf if v.ub is None else v.ub for v in variables],
               [v.is_integer() for v in variables]), variables, cons)


# ------------------------------------------------------------------------ the two solves


def _appsi(model, duals: bool):
    s = Highs()
    s.config.mip_gap = 0.0
    s.config.load_solution = True
    s.highs_options = {"threads": 1, "random_seed": 0, "mip_abs_gap": 0.0}
    res = s.solve(model)
    assert res.termination_condition.name == "optimal"
    return float(res.best_feasible_objective), (s.get_duals() if duals else None)


def check_parity(path: Path) -> None:
    data = optmodel.load(path)
    bm = build_model(data)
    opts = SolveOptions(mip_gap=0.0)

    # exporter A: the tables handed to HiGHS; exporter B: the Pyomo model
    sol = solve(bm, opts)
    assert sol.status == "optimal"
    model = to_pyomo(bm)
    z_b, _ = _appsi(model, duals=False)
    assert sol.objective_usd == pytest.approx(z_b, rel=REL, abs=1e-6)

    lp_a, col_off, row_off = tables_lp(bm)
    lp_b, variables, cons = pyomo_lp(model)
    assert lp_a.a.shape == lp_b.a.shape  # same numbers of variables and constraints
    # A's solution in B's column order and back, through the exported components
    where = {}  # id(VarData) -> column of the tables
    for name in bm.vars:
        comp = model.component(name)
        for i, v in enumerate(comp.values()):
            where[id(v)] = col_off[name] + i
    perm = np.array([where[id(v)] for v in variables])
    x_a = np.concatenate([sol.values[name] for name in bm.vars])
    x_b = np.array([v.value for v in variables], dtype=float)
    x_b_in_a = np.empty_like(x_b)
    x_b_in_a[perm] = x_b

    # plan: each solution feasible and optimal in the other model
    for lp, x, z in ((lp_b, x_a[perm], sol.objective_usd), (lp_a, x_b_in_a, z_b)):
        assert lp.violation(x) <= 1e-7
        assert lp.objective(x) == pytest.approx(z, rel=REL, abs=1e-6)

    # duals: the LP with build/open fixed at A's plan, in both models
    plan = lp_a.integer
    fixed = []
    for v, x in zip(variables, x_a[perm], strict=True):
        if v.is_integer():  # continuous and fixed: APPSI keeps integer columns even if fixed
            fixed.append((v, v.domain))
            v.domain = pyo.Reals
            v.fix(round(float(x)))
    z_lp_b, duals_b = _appsi(model, duals=True)
    for v, domain in fixed:
        v.unfix()
        v.domain = domain
    lp_a_fixed, lp_b_fixed = lp_a.fixed_at(x_a), lp_b.fixed_at(x_a[perm])
    z_lp_a = lp_a.objective(x_a)  # A's LP solve with the plan fixed has this optimum
    assert z_lp_b == pytest.approx(z_lp_a, rel=REL, abs=1e-6)
    if plan.any():  # optmodel's duals come from its LP with the plan fixed
        assert set(sol.duals) == set(bm.cons)
    y_a = np.concatenate([sol.duals[name] for name in bm.cons]) if bm.cons else np.zeros(0)
    # B's duals by row of the tables (through the exported constraint components)
    row_of = {}
    for name in bm.cons:
        for i, c in enumerate(model.component(name).values()):
            row_of[id(c)] = row_off[name] + i
    rperm = np.array([row_of[id(c)] for c in cons], dtype=np.int64)
    y_b = np.array([duals_b[c] for c in cons], dtype=float)
    y_b_in_a = np.zeros(len(y_a))
    y_b_in_a[rperm] = y_b
    for lp, y, z in ((lp_a_fixed, y_b_in_a, z_lp_a), (lp_b_fixed, y_a[rperm], z_lp_a),
                     (lp_a_fixed, y_a, z_lp_a)):
        g, scale = lp.dual_bound(y)
        assert g == pytest.approx(z, rel=1e-9, abs=1e-9 * max(1.0, scale) + 1e-6)
    # control: the check can fail — no duals at all (y = 0) bound the LP only loosely
    if np.abs(y_a).max(initial=0.0) > 1e-6:
        g0, _ = lp_a_fixed.dual_bound(np.zeros_like(y_a))
        assert g0 > z_lp_a + 1e-6 * max(1.0, abs(z_lp_a))
    if np.allclose(y_a, y_b_in_a, rtol=1e-6, atol=1e-6):  # the same vertex: compare closely
        np.testing.assert_allclose(y_b_in_a, y_a, rtol=REL, atol=1e-7)


# ------------------------------------------------------------------------------ the cases


@pytest.mark.parametrize("case", ["tiny", "chain"])
def test_parity_hand_derived_cases(case: str, tmp_path: Path) -> None:
    # Conditions: the tiny three-stage case (a build option, an opening cost, a deposit,
    # a duty) and the hand-derived chain of tests/test_chain_by_hand.py.
    # Expected: the two exporters give the same optimum, plan and duals (module docstring).
    sheets = tiny_sheets() if case == "tiny" else chain_sheets()
    check_parity(write_input_workbook(tmp_path / f"{case}.xlsx", sheets))


@pytest.mark.parametrize("seed", [1, 2])
def test_parity_facility_location(seed: int, tmp_path: Path) -> None:
    # Conditions: the brute-force facility-location problems of test_known_optima
    # (odd seed pure cost, even seed with prices, existing capacity and opening costs).
    check_parity(write_input_workbook(tmp_path / f"fl{seed}.xlsx",
                                      facility_location_sheets(_random_problem(seed))))


@pytest.mark.skipif(not RELOG_S1.is_dir(), reason="RELOG s1 instance files not present")
def test_parity_relog_s1(tmp_path: Path) -> None:
    # Conditions: RELOG s1 (two periods, divisible expansions, opening costs, min_load 1).
    check_parity(write_input_workbook(tmp_path / "relog.xlsx", relog_s1_sheets(RELOG_S1)))


@pytest.mark.slow
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), min_load=st.sampled_from([0.0, 0.3]))
def test_parity_random_networks(seed: int, min_load: float, tmp_path: Path) -> None:
    # Conditions: random small networks (two years, random capacities, prices, builds,
    # routes; min_load 0 or 0.3), drawn by hypothesis from the generator of
    # tests/test_properties.py. Expected: exporter parity as in the module docstring.
    sheets = random_network(random.Random(seed), min_load=min_load)
    check_parity(write_input_workbook(tmp_path / f"net{seed}_{min_load}.xlsx", sheets))
