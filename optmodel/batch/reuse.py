"""Re-use one built model across the runs of a batch: change numbers, not structure.

A batch (scenarios, sweeps) solves many variants of one workbook.  Most differ
only in numbers — prices, costs, capacities, rates — so the variable and
constraint families have the same index tables and only coefficients, bounds
and right-hand sides change.  :class:`ModelCache` builds the Pyomo model and
loads it into a persistent APPSI HiGHS instance once; for every later run it

1. builds the run's :class:`~optmodel.model.data.ModelData` and its *structure*
   (``build_model(data)``: index, bound and term tables of
   every family, no Pyomo components);
2. compares the structure with the built model's (:func:`structure_difference`):
   the same families, the same index keys, the same (constraint, variable)
   pairs in every term table;
3. if equal, copies the new numbers into the built model
   (:func:`update_in_place`): variable bounds and domains, the bodies and
   bounds of exactly the constraints whose numbers changed, the objective —
   and re-solves with the same HiGHS instance, the previous solution handed
   over as a MIP start; otherwise builds the run's model from scratch (cold).

The re-use path gives the same optimum as a cold build (tested run by run);
with a positive MIP gap the two may stop at different plans inside the gap.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.core as pyo  # not pyomo.environ: its solver/writer plugins load on use
from pyomo.core.expr.numeric_expr import LinearExpression

from optmodel.errors import InfeasibleError, OptmodelError
from optmodel.input.tables import Tables
from optmodel.model.build import BuiltModel, build_model, objective_coefficients
from optmodel.model.data import ModelData, build_model_data
from optmodel.model.linear import ConFamily, VarFamily
from optmodel.model.pyomo_export import build_pyomo, npv_expression
from optmodel.results.tables import extract_tables, summary_table
from optmodel.solver.options import SolveOptions, SolveOutcome
from optmodel.solver.solve import solve

log = logging.getLogger(__name__)

COLD = "built"
REUSED = "re-used"
STRUCTURE = "structure re-used"  # plant data and families from the batch memo, new numbers


# --------------------------------------------------------------- comparison


def _same_keys(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> bool:
    if len(a) != len(b):
        return False
    return all(a[k].tolist() == b[k].tolist() for k in keys)


def structure_difference(live: BuiltModel, new: BuiltModel) -> str | None:
    """Why ``new`` cannot be solved by updating ``live`` in place (None: it can).

    Equal structure means: the same variable and constraint families, the same
    index keys in the same order, and the same (constraint, family, variable)
    triples in every constraint's term table.  Coefficients, bounds, domains and
    the objective may all differ.
    """
    if list(live.vars) != list(new.vars):
        return "variable families differ"
    for name, fam in new.vars.items():
        old = live.vars[name]
        if fam.keys != old.keys or not _same_keys(old.index, fam.index, fam.keys):
            return f"index of variable {name} differs"
    if list(live.cons) != list(new.cons):
        return "constraint families differ"
    for name, cf in new.cons.items():
        old = live.cons[name]
        if cf.keys != old.keys or not _same_keys(old.index, cf.index, cf.keys):
            return f"index of constraint {name} differs"
        a, b = old.terms, cf.terms
        if len(a) != len(b) or not all(
                np.array_equal(a[c].to_numpy(), b[c].to_numpy()) for c in ("con", "fam", "vid")):
            return f"terms of constraint {name} differ"
    return None


def _differs(a: np.ndarray | None, b: np.ndarray | None, n: int) -> np.ndarray:
    """Element-wise 'not equal' of two float arrays (NaN equals NaN; None = all NaN)."""
    a = np.full(n, np.nan) if a is None else np.asarray(a, dtype=float)
    b = np.full(n, np.nan) if b is None else np.asarray(b, dtype=float)
    return ~((a == b) | (np.isnan(a) & np.isnan(b)))


# ------------------------------------------------------------------ updating


def _bound(x: float) -> float | None:
    return None if x != x or x == np.inf else float(x)


def _update_vars(old: VarFamily, fam: VarFamily) -> int:
    n = len(old)
    changed = 0
    for i in np.flatnonzero(_differs(old.upper, fam.upper, n)):
        old.objs[i].setub(_bound(float(fam.upper[i])) if fam.upper is not None else None)
        changed += 1
    if old.domains is not None or fam.domains is not None:
        before = old.domains if old.domains is not None else np.full(n, None, dtype=object)
        after = fam.domains if fam.domains is not None else np.full(n, None, dtype=object)
        for i in range(n):
            if before[i] is not after[i]:
                old.objs[i].domain = after[i] if after[i] is not None else pyo.NonNegativeReals
                changed += 1
    old.index, old.upper, old.domains = fam.index, fam.upper, fam.domains
    return changed


def _con_expr(body: LinearExpression, lb: float, ub: float):
    """The same form as :func:`optmodel.model.linear.add_con_family` gives."""
    has_lb, has_ub = lb == lb, ub == ub
    if has_lb and has_ub and lb == ub:
        return body == float(lb)
    if has_lb and has_ub:
        return (float(lb), body, float(ub))
    if has_ub:
        return body <= float(ub)
    return body >= float(lb)


def _update_cons(live: BuiltModel, old: ConFamily, fam: ConFamily, cons: np.ndarray) -> int:
    n = len(old)
    coef_old = old.terms["coef"].to_numpy(dtype=float)
    coef_new = fam.terms["coef"].to_numpy(dtype=float)
    con = fam.terms["con"].to_numpy()
    rows = np.zeros(n, dtype=bool)
    rows[con[coef_old != coef_new]] = True
    rows |= _differs(old.lower, fam.lower, n) | _differs(old.upper, fam.upper, n)
    changed = np.flatnonzero(rows)
    if len(changed):
        order = np.argsort(con, kind="stable")  # terms of one constraint in build order
        starts = np.searchsorted(con[order], np.arange(n + 1))
        fams = fam.terms["fam"].to_numpy()
        vids = fam.terms["vid"].to_numpy(dtype=np.int64)
        for i in changed:
            sel = order[starts[i]:starts[i + 1]]
            body = LinearExpression(
                constant=0.0, linear_coefs=coef_new[sel].tolist(),
                linear_vars=[live.vars[f].objs[v] for f, v in zip(fams[sel], vids[sel],
                                                                  strict=True)])
            cons[i].set_value(_con_expr(body, fam.lower[i], fam.upper[i]))
    old.lower, old.upper, old.terms = fam.lower, fam.upper, fam.terms
    return len(changed)


@dataclass
class UpdateStats:
    """What one in-place update changed (for logs and tests)."""

    bounds: int = 0
    constraints: int = 0
    objective: bool = False


def update_in_place(live: BuiltModel, new: BuiltModel, con_objs: dict[str, np.ndarray],
                    obj_coefs: dict[str, np.ndarray]) -> UpdateStats:
    """Copy the numbers of ``new`` (same structure) into the built model ``live``.

    ``con_objs`` holds each family's ConstraintData objects in index order and
    ``obj_coefs`` the objective coefficients now in the model (updated here).
    """
    stats = UpdateStats()
    for name, fam in new.vars.items():
        stats.bounds += _update_vars(live.vars[name], fam)
    for name, fam in new.cons.items():
        stats.constraints += _update_cons(live, live.cons[name], fam, con_objs[name])
    live.data = new.data
    coefs = objective_coefficients(live)
    if any(not np.array_equal(coefs[k], obj_coefs[k]) for k in coefs):
        live.npv_expr = npv_expression(live)
        live.model.npv.set_value(live.npv_expr)
        obj_coefs.clear()
        obj_coefs.update(coefs)
        stats.objective = True
    return stats


# -------------------------------------------------------------------- cache


def reuse_pays() -> bool:
    """Whether re-using built models beats building each run afresh.

    Re-use saves the Pyomo build and the APPSI hand-off of every run.  When the
    single-solve path hands the term tables straight to HiGHS instead
    (``SolveOptions.backend`` of :mod:`optmodel.solver.highs`), a "build" is the
    structure tables that re-use needs anyway (~0.01 s more on the base case)
    and the APPSI bookkeeping of a cached model costs more than it saves, so
    batches then solve every run the single-solve way.
    """
    return getattr(SolveOptions(), "backend", "appsi") == "appsi"


@dataclass
class _Slot:
    """One built model, its HiGHS instance and what they currently hold."""

    bm: BuiltModel
    solver: object
    con_objs: dict[str, np.ndarray]
    obj_coefs: dict[str, np.ndarray]


@dataclass
class ModelCache:
    """Built models and their persistent HiGHS instances, re-used while a structure holds.

    Up to ``size`` structures are kept (most recently used first), so runs that
    alternate between shapes — a minimum of 0 and > 0 adds ``market_min`` rows —
    still find theirs.  ``reuse=False`` solves every run exactly as a single
    ``solve`` does (:func:`optmodel.pipeline.solve_tables`, the cold path).
    """

    reuse: bool = True
    size: int = 3
    slots: list[_Slot] = field(default_factory=list)
    builds: int = 0
    reuses: int = 0
    warm_start_failures: int = 0

    def clear(self) -> None:
        self.slots = []

    def _build(self, data: ModelData) -> _Slot:
        from pyomo.contrib.appsi.solvers import Highs

        bm = build_pyomo(data)
        solver = Highs()
        # fixing builds for the shadow-price LP then only changes column bounds; the
        # default re-writes every constraint and the objective twice per run
        solver.update_config.treat_fixed_vars_as_params = False
        slot = _Slot(bm, solver, {name: np.array(list(f.component.values()), dtype=object)
                                  for name, f in bm.cons.items()},
                     objective_coefficients(bm))
        self.slots = [slot, *self.slots][:self.size] if self.reuse else [slot]
        self.builds += 1
        return slot

    def prepare(self, data: ModelData, times: dict[str, float]) -> tuple[_Slot, str]:
        """The model for ``data``: a cached one updated in place, or a new build."""
        t = time.perf_counter()
        if self.reuse and self.slots:
            new = build_model(data)
            reasons = []
            for slot in self.slots:
                why = structure_difference(slot.bm, new)
                if why is not None:
                    reasons.append(why)
                    continue
                self.slots.remove(slot)  # a failed update leaves it out of the cache
                stats = update_in_place(slot.bm, new, slot.con_objs, slot.obj_coefs)
                self.slots.insert(0, slot)
                times["update"] = time.perf_counter() - t
                self.reuses += 1
                log.info("model re-used: %d bounds, %d constraints changed%s", stats.bounds,
                         stats.constraints, ", new objective" if stats.objective else "")
                return slot, REUSED
            log.info("model built: %s", "; ".join(reasons))
        slot = self._build(data)
        times["build"] = time.perf_counter() - t
        return slot, COLD

    def _solve(self, slot: _Slot, opts: SolveOptions) -> SolveOutcome:
        """Solve; a warm-started solve must report the objective of the plan it returns.

        HiGHS 1.16 can misjudge a MIP start in its presolved space (seen: "MIP start
        solution is feasible in the reduced space: objective value is 29541816" for a
        start worth −195487665) and stop there claiming optimality.  Such a result
        is recognised by its objective and solved again without the start.
        """
        bm = slot.bm
        sol = solve(bm, opts, solver=slot.solver)
        if opts.warmstart:
            plan = float(pyo.value(bm.npv_expr))
            if abs(plan - sol.objective_usd) > 1e-6 * max(1.0, abs(plan)):
                log.warning("warm start gave an inconsistent objective (%.6g vs %.6g); "
                            "solving again without it", sol.objective_usd, plan)
                self.warm_start_failures += 1
                sol = solve(bm, dataclasses.replace(opts, warmstart=False), solver=slot.solver)
        return sol

    def solve_tables(self, tables: Tables, opts: SolveOptions,
                     times: dict[str, float] | None = None
                     ) -> tuple[ModelData, BuiltModel, SolveOutcome, dict[str, pd.DataFrame], str]:
        """Like :func:`optmodel.pipeline.solve_tables`, re-using a model when it can.

        Returns the model data, built model, solve outcome, result tables and
        how the model was obtained (``"built"`` or ``"re-used"``).
        """
        times = {} if times is None else times
        if not self.reuse:  # exactly the single-solve path (optmodel.pipeline.solve_tables)
            from optmodel.pipeline import solve_tables

            data, bm, sol, result = solve_tables(tables, opts, times)
            self.builds += 1
            return data, bm, sol, result, STRUCTURE if data.plant_from_memo else COLD
        t = time.perf_counter()
        data = build_model_data(tables)
        times["prepare"] = time.perf_counter() - t
        slot, mode = self.prepare(data, times)
        try:
            sol = self._solve(slot, dataclasses.replace(opts, warmstart=mode == REUSED))
        except InfeasibleError as exc:  # explained in input terms, as a single solve does
            from optmodel.pipeline import diagnosed

            raise diagnosed(slot.bm, exc, opts, times) from None
        except BaseException as exc:
            if not isinstance(exc, OptmodelError) and slot in self.slots:
                self.slots.remove(slot)  # solver state unknown
            raise
        times.update(sol.times)
        t = time.perf_counter()
        result = extract_tables(slot.bm, sol)
        result["Summary"] = summary_table(slot.bm, sol, result)
        times["extract"] = time.perf_counter() - t
        return data, slot.bm, sol, result, mode
