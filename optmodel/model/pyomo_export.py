"""The Pyomo exporter: the model's tables (:func:`~optmodel.model.build.build_model`) as a
Pyomo ``ConcreteModel``.

This is the public, modelling view of the model (docs/model.md §13, README "Use from
Python"): one ``Var`` per variable family, indexed by the tuples of its key
columns (a single key as a plain value, years as ``int``)::

    act[node, process, year]          build[option, year]        open[node]
    flow[origin, destination, mode, product, year]
    trade[market, product, direction, scope, year]      unmet[same as trade]
    dispose[node, product, year]

bounds and domains as in the tables, one ``Constraint`` per constraint family
(named as the family, indexed by its key columns) and the objective ``npv``
(USD, maximise).  The solve itself does not go through Pyomo: it hands the
same tables to HiGHS (:mod:`optmodel.solver.highs`); tests/test_exporter_parity.py
checks that both exporters give the same model (objective, plan, duals).
Nothing here is called unless a Pyomo model is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pyomo.core as pyo  # not pyomo.environ: its solver/writer plugins load on use
from pyomo.core.expr.numeric_expr import LinearExpression

from optmodel.model.build import BuiltModel, build_model
from optmodel.model.data import ModelData
from optmodel.model.linear import ConFamily, VarFamily, con_family, key_tuples, var_family
from optmodel.model.objective import objective_coefficients

# the attributes of an exported ConcreteModel that hold its structure (a BuiltModel whose
# families carry the Pyomo components) and the state of its components when exported
# (Snapshot); optmodel.model.extra reads both to find what a user added or changed
STRUCTURE_ATTR = "_optmodel_structure"
SNAPSHOT_ATTR = "_optmodel_snapshot"


@dataclass
class Snapshot:
    """What the exported components held: each variable's bounds and integrality, and each
    constraint's expression object (a user's change shows as a different object)."""

    var_state: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    con_exprs: dict[str, list]
    objective_expr: object


def var_state(objs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper bound (NaN = none; a fixed variable's value for both) and integrality
    of Pyomo variables, as the solver would see them."""
    fixed = [v.fixed for v in objs]
    lb = np.array([v.value if f else v.lb for v, f in zip(objs, fixed, strict=True)],
                  dtype=float)
    ub = np.array([v.value if f else v.ub for v, f in zip(objs, fixed, strict=True)],
                  dtype=float)
    integer = np.array([v.is_integer() for v in objs], dtype=bool)
    return lb, ub, integer


def to_pyomo(bm: BuiltModel, model: pyo.ConcreteModel | None = None) -> pyo.ConcreteModel:
    """The Pyomo model of ``bm`` (variables, constraints, objective ``npv`` in USD), made
    in ``model`` when given (an empty ConcreteModel, possibly of a subclass).

    The model keeps its structure as ``model._optmodel_structure`` (the tables with
    their Pyomo components), so that :func:`optmodel.solve` and ``--extra`` can turn
    components added later back into tables.
    """
    pbm = export(bm, model)
    setattr(pbm.model, STRUCTURE_ATTR, pbm)
    setattr(pbm.model, SNAPSHOT_ATTR, Snapshot(
        {name: var_state(fam.objs) for name, fam in pbm.vars.items()},
        {name: [c.expr for c in fam.component.values()] for name, fam in pbm.cons.items()},
        pbm.model.npv.expr))
    return pbm.model


def export(bm: BuiltModel, block: pyo.Block | None = None, objective: bool = True
           ) -> BuiltModel:
    """A copy of ``bm`` whose families carry their Pyomo components.

    The components go into ``block`` (e.g. one sub-block per scenario of a
    two-stage model) or a new ``ConcreteModel``; ``objective=False`` leaves the
    NPV expression (USD) in ``npv_expr`` without declaring the Objective.  The
    tables themselves are shared with ``bm``, not copied.
    """
    m = block if block is not None else pyo.ConcreteModel(name="optmodel")
    out = BuiltModel(m, bm.data, {name: pyomo_var(m, fam) for name, fam in bm.vars.items()})
    for fam in bm.cons.values():
        out.add(pyomo_constraint(m, fam, out.vars))
    out.npv_expr = npv_expression(out)
    if objective:
        m.npv = pyo.Objective(expr=out.npv_expr, sense=pyo.maximize)
    return out


def build_pyomo(data: ModelData, block: pyo.Block | None = None, objective: bool = True
                ) -> BuiltModel:
    """``export(build_model(data), block, objective)``: the structure with its Pyomo model."""
    return export(build_model(data), block, objective)


def _component_name(name: str) -> str:
    return name.replace(".", "_")  # a user's family from a sub-block, e.g. "blk.cap"


# the tables' domain labels (optmodel.model.linear.DOMAINS) as Pyomo sets
_PYOMO_DOMAIN = {"nonnegative_real": pyo.NonNegativeReals, "real": pyo.Reals,
                 "binary": pyo.Binary, "nonnegative_integer": pyo.NonNegativeIntegers,
                 "integer": pyo.Integers}


def pyomo_var(block: pyo.Block, fam: VarFamily) -> VarFamily:
    """Add ``fam`` to ``block`` as one Var; return the family with its component."""
    within = pyo.Reals if fam.lower is not None else pyo.NonNegativeReals
    if fam.meta.get("scalar"):
        comp = pyo.Var(within=within)
    else:
        comp = pyo.Var(key_tuples(fam.index, fam.keys), within=within, dense=True)
    block.add_component(_component_name(fam.name), comp)
    objs = np.empty(len(fam), dtype=object)
    objs[:] = list(comp.values())
    if fam.domains is not None:
        for v, dom in zip(objs, fam.domains, strict=True):
            if dom is not None:
                v.domain = _PYOMO_DOMAIN[dom]
    if fam.lower is not None:
        for v, lb in zip(objs, np.asarray(fam.lower, dtype=float), strict=True):
            if lb == lb and lb != -np.inf:  # not NaN
                v.setlb(float(lb))
    if fam.upper is not None:
        for v, ub in zip(objs, np.asarray(fam.upper, dtype=float), strict=True):
            if ub == ub and ub != np.inf:
                v.setub(float(ub))
    return replace(fam, component=comp, objs=objs)


def _relation(body, lb: float, ub: float):
    has_lb, has_ub = lb == lb, ub == ub
    if has_lb and has_ub and lb == ub:
        return body == float(lb)
    if has_lb and has_ub:
        return (float(lb), body, float(ub))
    if has_ub:
        return body <= float(ub)
    if has_lb:
        return body >= float(lb)
    return pyo.Constraint.Skip  # no bound: not a constraint


def pyomo_constraint(block: pyo.Block, fam: ConFamily, varfams: dict[str, VarFamily]
                     ) -> ConFamily:
    """Add ``fam`` to ``block`` as one Constraint over the exported ``varfams``."""
    t = fam.terms
    codes = t["con"].to_numpy(dtype=np.int64)
    fams = t["fam"].to_numpy()
    vids = t["vid"].to_numpy(dtype=np.int64)
    vars_ = np.empty(len(t), dtype=object)
    for f in pd.unique(fams) if len(t) else ():
        mask = fams == f
        vars_[mask] = varfams[f].objs[vids[mask]]
    order = np.argsort(codes, kind="stable")
    coefs = t["coef"].to_numpy(dtype=float)[order]
    starts = np.searchsorted(codes[order], np.arange(len(fam) + 1))
    vars_ = vars_[order]
    exprs = []
    for i, (lb, ub) in enumerate(zip(fam.lower, fam.upper, strict=True)):
        sel = slice(starts[i], starts[i + 1])
        body = LinearExpression(constant=0.0, linear_coefs=coefs[sel].tolist(),
                                linear_vars=vars_[sel].tolist())
        exprs.append(_relation(body, lb, ub))
    if fam.meta.get("scalar"):
        comp = pyo.Constraint(expr=exprs[0])
    else:
        tuples = key_tuples(fam.index, fam.keys)
        by_key = dict(zip(tuples, exprs, strict=True))
        comp = pyo.Constraint(tuples, rule=lambda m, *k: by_key[k[0] if len(k) == 1 else k])
    block.add_component(_component_name(fam.name), comp)
    return replace(fam, component=comp)


def npv_expression(pbm: BuiltModel) -> LinearExpression:
    """NPV (USD) = Σ_fam Σ_i coef_i · x_i over an exported structure's variables."""
    coefs, objs = [], []
    for name, c in objective_coefficients(pbm).items():
        nz = np.flatnonzero(c)
        coefs.append(c[nz])
        objs.append(pbm.vars[name].objs[nz])
    c = np.concatenate(coefs) if coefs else np.array([])
    x = np.concatenate(objs) if objs else np.array([], dtype=object)
    return LinearExpression(constant=0.0, linear_coefs=c.tolist(), linear_vars=x.tolist())


# ------------------------------------------------------- families made on a Pyomo block


def add_var_family(block: pyo.Block, name: str, index: pd.DataFrame, keys: list[str],
                   upper: np.ndarray | None = None,
                   domains: np.ndarray | None = None) -> VarFamily:
    """A variable family made and exported to ``block`` at once (e.g. robust's first stage)."""
    return pyomo_var(block, var_family(name, index, keys, upper, domains))


def add_con_family(block: pyo.Block, name: str, terms: pd.DataFrame, keys: list[str],
                   varfams: dict[str, VarFamily], bounds: pd.DataFrame | None = None,
                   lower: float | None = None, upper: float | None = None) -> ConFamily | None:
    """A constraint family made and exported to ``block`` at once over exported ``varfams``."""
    fam = con_family(name, terms, keys, varfams, bounds, lower, upper)
    return None if fam is None else pyomo_constraint(block, fam, varfams)
